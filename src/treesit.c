/* treesit.c - tree-sitter: grammars, syntax checks, queries.  See treesit.h.
 *
 * The grammars are compiled into dmbuild from the npm tarballs pinned in
 * grammars/PINS (see grammars/fetch.sh and configure); each exports
 * tree_sitter_NAME().  Debian 12's libtree-sitter 0.20.7 loads grammar ABI
 * 13..14 only; the pinned grammars are 14, and every parser this file makes
 * checks ts_language_version first, so a grammar of another ABI is an error
 * with a message rather than a refused language.
 *
 * Invariants:
 *  - This is the only file that includes tree_sitter/api.h.
 *  - langs[] is constant; a TSLanguage is read-only and shared by all
 *    threads.  A TSParser, TSTree and TSQueryCursor live for one call.
 *  - Every parse is bounded: inputs over TREESIT_MAX_INPUT are refused and
 *    the parser gives up after TREESIT_TIMEOUT_US.
 *  - A treesit_query is never modified after treesit_query_new: its
 *    predicates are parsed, checked and their regular expressions compiled
 *    there.  String arguments point into the TSQuery's own string table.
 *    TSQuery is read-only during matching, and regexec() does not modify
 *    its regex_t, so matching from several threads needs no lock.
 *  - Positions: tree-sitter rows and columns are 0-based, columns in
 *    bytes; diagnostics are 1-based, columns in bytes.  A query's errors
 *    are placed in the file that holds it: its byte 0 is at the line and
 *    column given to treesit_query_new_at, its later lines start at
 *    column 1.
 *  - Query text quoted in a message (predicate names, regular
 *    expressions) goes through text_snip, at most SNIP_MAX bytes.
 */
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <tree_sitter/api.h>

#include "treesit.h"
#include "util.h"

/* Longest stretch of a source line quoted in a diagnostic, and of a token. */
#define EXCERPT_MAX 120
#define TOKEN_MAX 32
#define SNIP_MAX 52 /* a quote: <= 48 bytes, "..." and NUL */

const TSLanguage *tree_sitter_python(void);
const TSLanguage *tree_sitter_javascript(void);
const TSLanguage *tree_sitter_typescript(void);
const TSLanguage *tree_sitter_tsx(void);
const TSLanguage *tree_sitter_c(void);
const TSLanguage *tree_sitter_json(void);
const TSLanguage *tree_sitter_yaml(void);

struct treesit_lang {
	const char *name;
	const TSLanguage *(*get)(void);
};

static const struct treesit_lang langs[] = {
	{"python", tree_sitter_python}, {"javascript", tree_sitter_javascript},
	{"typescript", tree_sitter_typescript}, {"tsx", tree_sitter_tsx},
	{"c", tree_sitter_c}, {"json", tree_sitter_json}, {"yaml", tree_sitter_yaml},
};

static const struct {
	const char *ext;
	const struct treesit_lang *lang;
} exts[] = {
	{"py", &langs[0]}, {"js", &langs[1]}, {"mjs", &langs[1]}, {"cjs", &langs[1]},
	{"jsx", &langs[1]}, {"ts", &langs[2]}, {"mts", &langs[2]}, {"cts", &langs[2]},
	{"tsx", &langs[3]}, {"c", &langs[4]}, {"h", &langs[4]}, {"json", &langs[5]},
	{"yaml", &langs[6]}, {"yml", &langs[6]},
};

enum pred_op { PRED_EQ, PRED_NOT_EQ, PRED_MATCH, PRED_NOT_MATCH, PRED_ANY_OF };

/* One text predicate of a pattern.  For PRED_EQ/NOT_EQ either other_cap
 * (>= 0) or str is set; PRED_ANY_OF has strs[0..nstrs). */
struct pred {
	enum pred_op op;
	uint32_t cap;
	long other_cap;
	const char *str;
	uint32_t slen;
	const char **strs;
	uint32_t *slens;
	uint32_t nstrs;
	regex_t re;
	int has_re;
};

struct treesit_query {
	const struct treesit_lang *lang;
	TSQuery *q;
	uint32_t npatterns;
	struct pred **preds; /* per pattern */
	uint32_t *npreds;
};

const struct treesit_lang *
treesit_lang_for_path(const char *path)
{
	const char *base = strrchr(path, '/'), *dot;
	size_t i;

	base = base ? base + 1 : path;
	dot = strrchr(base, '.');
	if (!dot || dot == base)
		return NULL;
	for (i = 0; i < sizeof exts / sizeof exts[0]; i++)
		if (strcmp(dot + 1, exts[i].ext) == 0)
			return exts[i].lang;
	return NULL;
}

const struct treesit_lang *
treesit_lang_by_name(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof langs / sizeof langs[0]; i++)
		if (strcmp(name, langs[i].name) == 0)
			return &langs[i];
	return NULL;
}

const char *
treesit_lang_name(const struct treesit_lang *l)
{
	return l->name;
}

/* lang_load: l's TSLanguage if the linked library accepts its ABI; else an
 * error in d (at name) and NULL. */
static const TSLanguage *
lang_load(const struct treesit_lang *l, const char *name, struct diag *d)
{
	const TSLanguage *tl = l->get();
	uint32_t v = ts_language_version(tl);

	if (v < TREE_SITTER_MIN_COMPATIBLE_LANGUAGE_VERSION || v > TREE_SITTER_LANGUAGE_VERSION) {
		diag_add(d, name, 0, 0,
			"the %s grammar is ABI %u but libtree-sitter loads ABI %d..%d; "
			"build dmbuild with the grammars pinned in grammars/PINS",
			l->name, (unsigned)v, TREE_SITTER_MIN_COMPATIBLE_LANGUAGE_VERSION,
			TREE_SITTER_LANGUAGE_VERSION);
		return NULL;
	}
	return tl;
}

/* parse: a tree of src in l, or NULL with the reason in d (when d is not
 * NULL). */
static TSTree *
parse(const struct treesit_lang *l, const char *name, const char *src, size_t len, struct diag *d)
{
	struct diag scratch = {0};
	const TSLanguage *tl;
	TSParser *p;
	TSTree *t = NULL;

	if (!d)
		d = &scratch;
	if (len > TREESIT_MAX_INPUT) {
		diag_add(d, name, 0, 0, "%zu bytes is too large to parse (the limit is %zu MiB)",
			len, TREESIT_MAX_INPUT >> 20);
		goto out;
	}
	if (!(tl = lang_load(l, name, d)))
		goto out;
	p = ts_parser_new();
	if (!ts_parser_set_language(p, tl)) {
		diag_add(d, name, 0, 0, "libtree-sitter refused the %s grammar (ABI %u)", l->name,
			(unsigned)ts_language_version(tl));
	} else {
		ts_parser_set_timeout_micros(p, TREESIT_TIMEOUT_US);
		t = ts_parser_parse_string(p, NULL, len ? src : "", (uint32_t)len);
		if (!t)
			diag_add(d, name, 0, 0, "parsing as %s took longer than %llu s; gave up",
				l->name, TREESIT_TIMEOUT_US / 1000000);
	}
	ts_parser_delete(p);
out:
	diag_free(&scratch);
	return t;
}

static void
add_printable(struct buf *b, unsigned char c)
{
	buf_addc(b, (c < 0x20 && c != '\t') || c == 0x7f ? '?' : c);
}

/* add_excerpt: "\n  LINE\n  ^" for the line of src holding byte at, with
 * the caret under it (tabs kept, UTF-8 sequences one column wide); a long
 * line is cut to a window around at. */
static void
add_excerpt(struct buf *b, const char *src, size_t len, size_t at)
{
	size_t bol, eol, from, to, i;

	if (at > len)
		at = len;
	bol = eol = at;
	while (bol > 0 && src[bol - 1] != '\n')
		bol--;
	while (eol < len && src[eol] != '\n')
		eol++;
	if (eol > bol && src[eol - 1] == '\r')
		eol--;
	from = bol;
	to = eol;
	if (to - from > EXCERPT_MAX) {
		if (at > bol + EXCERPT_MAX / 2)
			from = at - EXCERPT_MAX / 2;
		while (from > bol && ((unsigned char)src[from] & 0xc0) == 0x80)
			from--;
		to = eol - from > EXCERPT_MAX ? from + EXCERPT_MAX : eol;
		while (to < eol && ((unsigned char)src[to] & 0xc0) == 0x80)
			to++;
	}
	buf_adds(b, "\n  ");
	if (from > bol)
		buf_adds(b, "...");
	for (i = from; i < to; i++)
		add_printable(b, (unsigned char)src[i]);
	if (to < eol)
		buf_adds(b, "...");
	buf_adds(b, "\n  ");
	if (from > bol)
		buf_adds(b, "   ");
	for (i = from; i < at && i < to; i++) {
		unsigned char c = (unsigned char)src[i];
		if (c == '\t')
			buf_addc(b, '\t');
		else if ((c & 0xc0) != 0x80)
			buf_addc(b, ' ');
	}
	buf_addc(b, '^');
}

/* add_token: src[start, end) quoted, cut at the end of its first line and
 * at about TOKEN_MAX bytes.  An empty range quotes the word at start, or
 * says "end of input". */
static void
add_token(struct buf *b, const char *src, size_t len, size_t start, size_t end)
{
	size_t i, stop;

	if (end > len)
		end = len;
	if (start >= end) {
		for (end = start; end < len && end - start < TOKEN_MAX; end++)
			if (src[end] == ' ' || src[end] == '\t' || src[end] == '\n' || src[end] == '\r')
				break;
		if (start >= end) {
			buf_adds(b, start >= len ? "end of input" : "white space");
			return;
		}
	}
	stop = start;
	while (stop < end && src[stop] != '\n' && src[stop] != '\r' && stop - start < TOKEN_MAX)
		stop++;
	while (stop < end && stop > start && ((unsigned char)src[stop] & 0xc0) == 0x80)
		stop++;
	buf_addc(b, '\'');
	for (i = start; i < stop; i++)
		add_printable(b, (unsigned char)src[i]);
	buf_adds(b, stop < end ? "...'" : "'");
}

static void
report_node(struct diag *d, const char *name, const char *src, size_t len, TSNode n, int missing)
{
	struct buf msg = {0};
	TSPoint pt = ts_node_start_point(n);
	uint32_t start = ts_node_start_byte(n);

	if (missing) {
		const char *type = ts_node_type(n);
		if (ts_node_is_named(n))
			buf_printf(&msg, "syntax error: missing %s", type);
		else
			buf_printf(&msg, "syntax error: missing '%s'", type);
	} else {
		buf_adds(&msg, "syntax error: unexpected ");
		add_token(&msg, src, len, start, ts_node_end_byte(n));
	}
	add_excerpt(&msg, src, len, start);
	diag_add(d, name, (int)pt.row + 1, (int)pt.column + 1, "%s", msg.data);
	buf_free(&msg);
}

int
treesit_check_syntax(const struct treesit_lang *l, const char *name, const char *src, size_t len,
	struct diag *d)
{
	TSTree *t;
	TSTreeCursor c;
	size_t nerr = 0;

	if (!(t = parse(l, name, src, len, d)))
		return DM_EINPUT;
	c = ts_tree_cursor_new(ts_tree_root_node(t));
	for (;;) {
		TSNode n = ts_tree_cursor_current_node(&c);
		int error = 0, descend = 0;

		if (ts_node_is_missing(n) || (error = strcmp(ts_node_type(n), "ERROR") == 0)) {
			if (nerr == TREESIT_MAX_ERRORS) {
				TSPoint pt = ts_node_start_point(n);
				diag_add(d, name, (int)pt.row + 1, (int)pt.column + 1,
					"more syntax errors; only the first %d are reported",
					TREESIT_MAX_ERRORS);
				nerr++;
				break;
			}
			report_node(d, name, src, len, n, !error);
			nerr++;
		} else {
			descend = ts_node_has_error(n);
		}
		if (descend && ts_tree_cursor_goto_first_child(&c))
			continue;
		while (!ts_tree_cursor_goto_next_sibling(&c))
			if (!ts_tree_cursor_goto_parent(&c))
				goto done;
	}
done:
	ts_tree_cursor_delete(&c);
	/* an error the walk did not reach (none is known) must not pass */
	if (nerr == 0 && ts_node_has_error(ts_tree_root_node(t))) {
		diag_add(d, name, 1, 1, "syntax error (no position known)");
		nerr++;
	}
	ts_tree_delete(t);
	return nerr ? DM_EINPUT : 0;
}

/* Queries. */

/* query_pos: the file's line and column of byte off of a query whose
 * byte 0 is at at. */
static void
query_pos(const char *src, size_t len, size_t off, const struct srcpos *at, int *line, int *col)
{
	size_t i, bol = 0;

	*line = at->line;
	if (off > len)
		off = len;
	for (i = 0; i < off; i++)
		if (src[i] == '\n') {
			(*line)++;
			bol = i + 1;
		}
	*col = (int)(off - bol) + 1 + (bol == 0 ? at->col - 1 : 0);
}

static void
query_error(struct diag *d, const struct srcpos *at, const char *src, size_t len, size_t off,
	const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void
query_error(struct diag *d, const struct srcpos *at, const char *src, size_t len, size_t off,
	const char *fmt, ...)
{
	struct buf msg = {0};
	va_list ap;
	int line, col;

	va_start(ap, fmt);
	buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	add_excerpt(&msg, src, len, off);
	query_pos(src, len, off, at, &line, &col);
	diag_add(d, at->file, line, col, "%s", msg.data);
	buf_free(&msg);
}

/* word_at: the length of the name (node type, field, capture) at src[off]. */
static size_t
word_at(const char *src, size_t len, size_t off)
{
	size_t i = off;

	while (i < len && i - off < TOKEN_MAX &&
		(src[i] == '_' || src[i] == '-' || src[i] == '.' || src[i] == '?' || src[i] == '!' ||
			(src[i] >= '0' && src[i] <= '9') || (src[i] >= 'a' && src[i] <= 'z') ||
			(src[i] >= 'A' && src[i] <= 'Z')))
		i++;
	return i - off;
}

/* pred_find: move *off to where "#NAME" next appears in src, for error
 * positions; 0 (and *off unchanged) when it does not. */
static int
pred_find(const char *src, size_t len, size_t *off, const char *pname)
{
	size_t i, n = strlen(pname);

	for (i = *off; i + n < len; i++)
		if (src[i] == '#' && memcmp(src + i + 1, pname, n) == 0) {
			*off = i;
			return 1;
		}
	return 0;
}

static void
pred_free(struct pred *p)
{
	if (p->has_re)
		regfree(&p->re);
	free(p->strs);
	free(p->slens);
}

void
treesit_query_free(struct treesit_query *q)
{
	uint32_t i, j;

	if (!q)
		return;
	for (i = 0; i < q->npatterns; i++) {
		for (j = 0; j < q->npreds[i]; j++)
			pred_free(&q->preds[i][j]);
		free(q->preds[i]);
	}
	free(q->preds);
	free(q->npreds);
	ts_query_delete(q->q);
	free(q);
}

/* Context for parsing the predicates of one query. */
struct qctx {
	struct treesit_query *tq;
	const struct srcpos *at;
	const char *src;
	size_t len;
	struct diag *d;
};

/* parse_pred: one predicate, steps s[0..n) (the name, then its
 * arguments, without the Done step) of pattern pat, into p.  *from is
 * where to look for its text in the query; it moves past it. */
static int
parse_pred(struct qctx *x, uint32_t pat, const TSQueryPredicateStep *s, uint32_t n, struct pred *p,
	size_t *from)
{
	const TSQuery *q = x->tq->q;
	uint32_t l, i;
	const char *pname;
	size_t off;
	char errbuf[256], q1[SNIP_MAX], q2[SNIP_MAX];
	int rc;

	memset(p, 0, sizeof *p);
	p->other_cap = -1;
	if (s[0].type != TSQueryPredicateStepTypeString) {
		query_error(x->d, x->at, x->src, x->len,
			ts_query_start_byte_for_pattern(q, pat),
			"query: a predicate must start with its name (#eq?, #match?, ...)");
		return DM_EINPUT;
	}
	pname = ts_query_string_value_for_id(q, s[0].value_id, &l);
	off = *from;
	if (pred_find(x->src, x->len, &off, pname))
		*from = off + 1;
	if (strcmp(pname, "eq?") == 0)
		p->op = PRED_EQ;
	else if (strcmp(pname, "not-eq?") == 0)
		p->op = PRED_NOT_EQ;
	else if (strcmp(pname, "match?") == 0)
		p->op = PRED_MATCH;
	else if (strcmp(pname, "not-match?") == 0)
		p->op = PRED_NOT_MATCH;
	else if (strcmp(pname, "any-of?") == 0)
		p->op = PRED_ANY_OF;
	else {
		query_error(x->d, x->at, x->src, x->len, off,
			"query: unknown predicate #%s: expected #eq?, #not-eq?, #match?, #not-match? or #any-of?",
			text_snip(q1, sizeof q1, pname, l));
		return DM_EINPUT;
	}

	if (n < 2 || s[1].type != TSQueryPredicateStepTypeCapture) {
		query_error(x->d, x->at, x->src, x->len, off,
			"query: #%s needs a @capture as its first argument", pname);
		return DM_EINPUT;
	}
	p->cap = s[1].value_id;
	switch (p->op) {
	case PRED_EQ:
	case PRED_NOT_EQ:
		if (n != 3) {
			query_error(x->d, x->at, x->src, x->len, off,
				"query: #%s takes 2 arguments (@capture, then a string or @capture), not %u",
				pname, (unsigned)(n - 1));
			return DM_EINPUT;
		}
		if (s[2].type == TSQueryPredicateStepTypeCapture)
			p->other_cap = s[2].value_id;
		else
			p->str = ts_query_string_value_for_id(q, s[2].value_id, &p->slen);
		return 0;
	case PRED_MATCH:
	case PRED_NOT_MATCH:
		if (n != 3 || s[2].type != TSQueryPredicateStepTypeString) {
			query_error(x->d, x->at, x->src, x->len, off,
				"query: #%s takes 2 arguments: @capture and a \"regular expression\"", pname);
			return DM_EINPUT;
		}
		p->str = ts_query_string_value_for_id(q, s[2].value_id, &p->slen);
		if ((rc = regcomp(&p->re, p->str, REG_EXTENDED | REG_NOSUB)) != 0) {
			regerror(rc, &p->re, errbuf, sizeof errbuf);
			query_error(x->d, x->at, x->src, x->len, off,
				"query: #%s: bad regular expression \"%s\": %s", pname,
				text_snip(q2, sizeof q2, p->str, p->slen), errbuf);
			return DM_EINPUT;
		}
		p->has_re = 1;
		return 0;
	case PRED_ANY_OF:
		if (n < 3) {
			query_error(x->d, x->at, x->src, x->len, off,
				"query: #any-of? needs @capture and at least one string");
			return DM_EINPUT;
		}
		p->nstrs = n - 2;
		p->strs = xreallocarray(NULL, p->nstrs, sizeof *p->strs);
		p->slens = xreallocarray(NULL, p->nstrs, sizeof *p->slens);
		for (i = 0; i < p->nstrs; i++) {
			if (s[i + 2].type != TSQueryPredicateStepTypeString) {
				query_error(x->d, x->at, x->src, x->len, off,
					"query: #any-of?: argument %u must be a string, not a @capture",
					(unsigned)(i + 2));
				return DM_EINPUT;
			}
			p->strs[i] = ts_query_string_value_for_id(q, s[i + 2].value_id, &p->slens[i]);
		}
		return 0;
	}
	return 0;
}

static int
parse_preds(struct qctx *x, uint32_t pat)
{
	struct treesit_query *tq = x->tq;
	const TSQueryPredicateStep *s;
	uint32_t n, i, start, cap = 0;
	size_t from = ts_query_start_byte_for_pattern(tq->q, pat);
	int rc = 0;

	s = ts_query_predicates_for_pattern(tq->q, pat, &n);
	for (i = start = 0; i < n; i++) {
		if (s[i].type != TSQueryPredicateStepTypeDone)
			continue;
		if (i > start) {
			struct pred *p;
			if (tq->npreds[pat] == cap) {
				cap = cap ? 2 * cap : 4;
				tq->preds[pat] = xreallocarray(tq->preds[pat], cap, sizeof *p);
			}
			p = &tq->preds[pat][tq->npreds[pat]++];
			if (parse_pred(x, pat, s + start, i - start, p, &from) < 0)
				rc = DM_EINPUT;
		}
		start = i + 1;
	}
	return rc;
}

static const char *
query_error_text(TSQueryError e)
{
	switch (e) {
	case TSQueryErrorSyntax: return "syntax error";
	case TSQueryErrorNodeType: return "unknown node type";
	case TSQueryErrorField: return "unknown field";
	case TSQueryErrorCapture: return "unknown capture";
	case TSQueryErrorStructure: return "impossible pattern";
	case TSQueryErrorLanguage: return "unsupported language";
	default: return "error";
	}
}

int
treesit_query_new(const struct treesit_lang *l, const char *name, int line, const char *src,
	size_t len, struct treesit_query **out, struct diag *d)
{
	struct srcpos at;

	at.file = name;
	at.line = line;
	at.col = 1;
	return treesit_query_new_at(l, &at, src, len, out, d);
}

int
treesit_query_new_at(const struct treesit_lang *l, const struct srcpos *at, const char *src,
	size_t len, struct treesit_query **out, struct diag *d)
{
	struct treesit_query *tq = NULL;
	struct qctx x;
	const TSLanguage *tl;
	TSQueryError err = TSQueryErrorNone;
	uint32_t off = 0, i;
	size_t w;
	int rc = 0;

	*out = NULL;
	if (!(tl = lang_load(l, at->file, d)))
		return DM_EINPUT;
	if (len > UINT32_MAX) {
		diag_add(d, at->file, at->line, at->col, "the query is too large");
		return DM_EINPUT;
	}
	tq = xcalloc(1, sizeof *tq);
	tq->lang = l;
	tq->q = ts_query_new(tl, src, (uint32_t)len, &off, &err);
	if (!tq->q) {
		w = word_at(src, len, off);
		if (err == TSQueryErrorNodeType || err == TSQueryErrorField)
			query_error(d, at, src, len, off, "query: %s '%.*s' in the %s grammar",
				query_error_text(err), (int)w, src + off, l->name);
		else if (err == TSQueryErrorCapture)
			query_error(d, at, src, len, off, "query: %s '@%.*s'",
				query_error_text(err), (int)w, src + off);
		else if (err == TSQueryErrorStructure)
			query_error(d, at, src, len, off,
				"query: impossible pattern: no %s tree has this node here", l->name);
		else
			query_error(d, at, src, len, off, "query: %s", query_error_text(err));
		rc = DM_EINPUT;
		goto out;
	}
	tq->npatterns = ts_query_pattern_count(tq->q);
	if (tq->npatterns == 0) {
		query_error(d, at, src, len, len, "query: expected a pattern, found none");
		rc = DM_EINPUT;
		goto out;
	}
	tq->preds = xcalloc(tq->npatterns, sizeof *tq->preds);
	tq->npreds = xcalloc(tq->npatterns, sizeof *tq->npreds);
	x = (struct qctx){tq, at, src, len, d};
	for (i = 0; i < tq->npatterns; i++)
		if (parse_preds(&x, i) < 0)
			rc = DM_EINPUT;
out:
	if (rc < 0)
		treesit_query_free(tq);
	else
		*out = tq;
	return rc;
}

/* fold: the next byte of s[*i..n) for a comparison, or -1 at the end;
 * relaxed skips '_' and lowercases ASCII. */
static int
fold(const char *s, size_t n, size_t *i, int relaxed)
{
	unsigned char c;

	if (relaxed)
		while (*i < n && s[*i] == '_')
			(*i)++;
	if (*i >= n)
		return -1;
	c = (unsigned char)s[(*i)++];
	if (relaxed && c >= 'A' && c <= 'Z')
		c = (unsigned char)(c - 'A' + 'a');
	return c;
}

static int
text_eq(const char *a, size_t an, const char *b, size_t bn, int relaxed)
{
	size_t i = 0, j = 0;
	int ca, cb;

	if (!relaxed)
		return an == bn && memcmp(a, b, an) == 0;
	do {
		ca = fold(a, an, &i, 1);
		cb = fold(b, bn, &j, 1);
		if (ca != cb)
			return 0;
	} while (ca != -1);
	return 1;
}

/* Matching state for one call. */
struct mctx {
	const char *src;
	size_t len;
	int relaxed;
	struct buf tmp;
};

static const char *
node_text(const struct mctx *m, TSNode n, size_t *len)
{
	uint32_t a = ts_node_start_byte(n), b = ts_node_end_byte(n);

	if (b > m->len)
		b = (uint32_t)m->len;
	if (a > b)
		a = b;
	*len = b - a;
	return m->src + a;
}

/* pred_holds_on: p for one node n of its first capture. */
static int
pred_holds_on(struct mctx *m, const struct pred *p, TSNode n)
{
	size_t len, i;
	const char *t = node_text(m, n, &len);
	int hit;

	switch (p->op) {
	case PRED_EQ:
	case PRED_NOT_EQ:
		hit = text_eq(t, len, p->str, p->slen, m->relaxed);
		return p->op == PRED_EQ ? hit : !hit;
	case PRED_MATCH:
	case PRED_NOT_MATCH:
		buf_clear(&m->tmp);
		buf_add(&m->tmp, t, len);
		hit = regexec(&p->re, m->tmp.data ? m->tmp.data : "", 0, NULL, 0) == 0;
		return p->op == PRED_MATCH ? hit : !hit;
	case PRED_ANY_OF:
		for (i = 0; i < p->nstrs; i++)
			if (text_eq(t, len, p->strs[i], p->slens[i], m->relaxed))
				return 1;
		return 0;
	}
	return 0;
}

/* pred_holds: p on match mt.  Against a string: every node of the capture
 * must satisfy it.  Capture against capture: the nodes are compared in
 * pairs, in order. */
static int
pred_holds(struct mctx *m, const struct pred *p, const TSQueryMatch *mt)
{
	uint16_t i, j = 0;

	if (p->other_cap < 0) {
		for (i = 0; i < mt->capture_count; i++)
			if (mt->captures[i].index == p->cap && !pred_holds_on(m, p, mt->captures[i].node))
				return 0;
		return 1;
	}
	for (i = 0; i < mt->capture_count; i++) {
		size_t al, bl;
		const char *a, *b;

		if (mt->captures[i].index != p->cap)
			continue;
		while (j < mt->capture_count && mt->captures[j].index != (uint32_t)p->other_cap)
			j++;
		if (j == mt->capture_count)
			break;
		a = node_text(m, mt->captures[i].node, &al);
		b = node_text(m, mt->captures[j].node, &bl);
		if (text_eq(a, al, b, bl, m->relaxed) != (p->op == PRED_EQ))
			return 0;
		j++;
	}
	return 1;
}

int
treesit_query_match(const struct treesit_query *q, const char *src, size_t len, int relaxed,
	int *matched)
{
	struct mctx m = {src, len, relaxed, {0}};
	TSTree *t;
	TSQueryCursor *c;
	TSQueryMatch mt;
	uint32_t i;

	*matched = 0;
	if (!(t = parse(q->lang, NULL, src, len, NULL)))
		return DM_EINPUT;
	c = ts_query_cursor_new();
	ts_query_cursor_exec(c, q->q, ts_tree_root_node(t));
	while (!*matched && ts_query_cursor_next_match(c, &mt)) {
		int ok = 1;
		for (i = 0; ok && i < q->npreds[mt.pattern_index]; i++)
			ok = pred_holds(&m, &q->preds[mt.pattern_index][i], &mt);
		*matched = ok;
	}
	ts_query_cursor_delete(c);
	ts_tree_delete(t);
	buf_free(&m.tmp);
	return 0;
}
