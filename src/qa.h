/* qa.h - the QA stratum (SPEC §8): the checks of each output and the
 * contracts of the project.
 *
 * Checks, one per "check" line of an atom:
 *   syntax          the output parses in the language its extension names
 *                   (tree-sitter); any ERROR or MISSING node fails
 *   contract:NAME   the items of contract NAME whose file is this output
 *                   match exactly
 *   cmd:COMMAND     COMMAND (split into words, each Mustache-rendered with
 *                   {{out}} = the output path) runs without a shell in the
 *                   project directory and exits 0 within the atom's
 *                   timeout (default 60 s); it belongs to the atom's suite
 *                   (default "checks")
 *   no-markers      no unrendered Mustache block, section or partial tag
 *                   ({{$ {{# {{^ {{/ {{>) and no "DMBUILD:SLOT" marker
 * syntax, contract and no-markers look at the bytes before anything is
 * committed; cmd checks need the file in place and run after it is written.
 *
 * A contract expands like an atom: one item per foreach element and query
 * ("query" lines must match, "optional" lines count only towards the
 * relaxed score), with file and queries Mustache-rendered per element.
 * semantic_compliance = items matched exactly / items;
 * ir_compliance_relaxed = items matched with names compared without case
 * and underscores, or optional, / items.
 */
#ifndef DM_QA_H
#define DM_QA_H

#include <stddef.h>

#include "util.h"

struct project;
struct atom;
struct treesit_query;

enum check_kind {
	CHECK_SYNTAX,
	CHECK_CONTRACT,
	CHECK_CMD,
	CHECK_NO_MARKERS
};

struct check {
	enum check_kind kind;
	char *arg;       /* contract name, or the command line */
	struct srcpos pos; /* of the value */
};

struct contract_item {
	const char *contract; /* name, owned by the DMfile */
	char *element;        /* spec path of the element, or NULL */
	char *file;           /* the output it queries */
	char *query;          /* rendered */
	int optional;
	struct srcpos pos;    /* of the query line */
	struct treesit_query *q;
};

struct qa {
	struct contract_item *items;
	size_t nitems;
};

/* The outcome of one check, kept in the atom's record as text lines
 * "NAME\tSUITE\tpass|fail\tMESSAGE". */
struct check_outcome {
	char *name;  /* "syntax", "contract:model", "cmd:...", "no-markers" */
	char *suite; /* cmd checks: the suite; else NULL */
	int passed;
	char *message;
};

struct check_outcomes {
	struct check_outcome *v;
	size_t n;
};

/* qa_parse_checks: the checks of an atom declaration; contract names must
 * name a contract.  Errors at the value's position in d. */
int qa_parse_checks(const struct project *p, const struct atom *a, struct check **out, size_t *n,
	struct diag *d);
void qa_checks_free(struct check *c, size_t n);

/* qa_load: expand and compile every contract of the project. */
int qa_load(struct project *p, struct qa **out, struct diag *d);
void qa_free(struct qa *q);

/* qa_check_bytes: run the syntax, contract and no-markers checks of atom
 * a on its rendered bytes; append outcomes.  0 if all passed, DM_EBUILD if
 * one failed (messages in d, FILE:LINE:COL where there is one). */
int qa_check_bytes(const struct project *p, const struct atom *a, const char *bytes, size_t n,
	struct check_outcomes *oc, struct diag *d);
/* qa_check_cmds: run the cmd checks of atom a, whose file is in place at
 * path ({{out}}; a->out except in a research run). */
int qa_check_cmds(const struct project *p, const struct atom *a, const char *path,
	struct check_outcomes *oc, struct diag *d);

void check_outcomes_free(struct check_outcomes *oc);
/* check_outcomes_text: the record form; check_outcomes_parse reads it. */
char *check_outcomes_text(const struct check_outcomes *oc);
void check_outcomes_parse(const char *text, struct check_outcomes *oc);

/* qa_contracts: evaluate every contract item against the files as they
 * are; *exact and *relaxed get the two scores (1.0 when there is no
 * item); missing gets one line per item not matched exactly. */
void qa_contracts(const struct project *p, double *exact, double *relaxed, struct buf *missing);

#endif
