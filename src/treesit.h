/* treesit.h - tree-sitter for the QA stratum: the grammars compiled into
 * dmbuild, syntax checks, and queries with the text predicates that
 * tree-sitter leaves to its host.
 *
 * Only treesit.c includes tree_sitter/api.h; callers see two opaque
 * handles.  A struct treesit_lang is static and shared by every thread.
 * A struct treesit_query is immutable once made: several threads may
 * match it at once.  Every call parses with a parser of its own.
 *
 * The names carry the module prefix treesit_ because tree-sitter itself
 * owns ts_ (ts_query_new is one of its functions).
 */
#ifndef DM_TREESIT_H
#define DM_TREESIT_H

#include <stddef.h>

struct diag;
struct srcpos;
struct treesit_lang;
struct treesit_query;

/* Inputs larger than this are refused rather than parsed. */
#define TREESIT_MAX_INPUT ((size_t)64 << 20)
/* A parse that takes longer than this (microseconds) is abandoned. */
#define TREESIT_TIMEOUT_US 30000000ULL
/* treesit_check_syntax reports at most this many errors. */
#define TREESIT_MAX_ERRORS 20

/* treesit_lang_for_path: the language the file name's extension names
 * (.py; .js .mjs .cjs .jsx; .ts .mts .cts; .tsx; .c .h; .json; .yaml .yml),
 * or NULL. */
const struct treesit_lang *treesit_lang_for_path(const char *path);
/* treesit_lang_by_name: "python", "javascript", "typescript", "tsx", "c",
 * "json" or "yaml"; NULL for any other name. */
const struct treesit_lang *treesit_lang_by_name(const char *name);
/* treesit_lang_name: the language's name, as treesit_lang_by_name takes it. */
const char *treesit_lang_name(const struct treesit_lang *l);

/* treesit_check_syntax: parse src (len bytes, UTF-8) as l.  Every ERROR
 * node (not nested in another) and every MISSING node becomes an error in
 * d at name:LINE:COL (1-based, COL in bytes) whose message quotes the
 * offending source line; at most TREESIT_MAX_ERRORS, then one more saying
 * there are more.  0 when the parse is clean, DM_EINPUT when it is not
 * (or src is too large, the parse timed out, or the grammar's ABI is one
 * the linked libtree-sitter refuses: each said in d). */
int treesit_check_syntax(const struct treesit_lang *l, const char *name, const char *src,
	size_t len, struct diag *d);

/* treesit_query_new: compile a query (tree-sitter S-expressions) for l.
 * name and line say where the query's text starts, for errors: a syntax
 * error, an unknown node type, field, capture or predicate, a predicate
 * with the wrong arguments or a bad regular expression is put in d at
 * name:LINE:COL and gives DM_EINPUT.  Text predicates: #eq? and #not-eq?
 * (@capture, then "string" or @capture), #match? and #not-match?
 * (@capture "POSIX extended regex"), #any-of? (@capture "a" "b" ...).
 * On success *out is the caller's, freed with treesit_query_free. */
int treesit_query_new(const struct treesit_lang *l, const char *name, int line, const char *src,
	size_t len, struct treesit_query **out, struct diag *d);
/* treesit_query_new_at: treesit_query_new for a query that starts inside
 * a line (a DMfile value): src[0] is at at->file:at->line:at->col, and
 * its later lines start at column 1; errors are placed accordingly.
 * treesit_query_new is this with column 1. */
int treesit_query_new_at(const struct treesit_lang *l, const struct srcpos *at, const char *src,
	size_t len, struct treesit_query **out, struct diag *d);
void treesit_query_free(struct treesit_query *q);

/* treesit_query_match: parse src in q's language and set *matched to 1
 * when at least one match of any pattern of q satisfies all of its text
 * predicates, else 0.  A predicate on a capture that holds several nodes
 * must hold for each of them.  relaxed: #eq?, #not-eq? and #any-of? compare
 * strings ignoring ASCII case and underscores ("order_id" ~ "OrderId"
 * ~ "orderid"); regular expressions are unaffected.  0, or DM_EINPUT when
 * src is too large or the parse timed out.  Safe to call from several
 * threads on one query. */
int treesit_query_match(const struct treesit_query *q, const char *src, size_t len, int relaxed,
	int *matched);

#endif
