/* qa.c - checks and contracts; see qa.h.  Queries are compiled where they
 * are used (a TSQuery per item and call), so nothing here is shared
 * between threads but the project, which is read-only during a build.
 *
 * DMfile and spec text quoted in a message goes through text_snip: at
 * most QA_SNIP bytes (QA_SNIP_LONG for paths, commands and queries).  A
 * command's own output is quoted as it is, cut by the diag's cap.  An
 * error in a contract query is placed at its byte in the DMfile (see
 * query_compile). */
#include <stdlib.h>
#include <string.h>

#include "dmfile.h"
#include "mustache.h"
#include "project.h"
#include "qa.h"
#include "run.h"
#include "treesit.h"
#include "value.h"

#define QA_DEFAULT_TIMEOUT_S 60
#define QA_MAX_OUTPUT (64 * 1024)
#define QA_SNIP 52       /* a quote in a message: <= 48 bytes, "..." and NUL */
#define QA_SNIP_LONG 160 /* a quoted path, command or query */

/* snip: s made fit to quote in a message, in dst[size]. */
static const char *
snip(char *dst, size_t size, const char *s)
{
	return text_snip(dst, size, s, strlen(s));
}

static const struct dm_decl *
find_contract(const struct project *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->df->ndecls; i++)
		if (!strcmp(p->df->decls[i].kind, "contract") && !strcmp(p->df->decls[i].arg, name))
			return &p->df->decls[i];
	return NULL;
}

static int
qa_timeout_s(const struct dm_decl *decl, struct diag *d)
{
	const struct dm_prop *t = dm_get(decl, "timeout");
	char *end, q[QA_SNIP];
	long v;

	if (!t)
		return QA_DEFAULT_TIMEOUT_S;
	v = strtol(t->value, &end, 10);
	if (*end || v < 1 || v > 86400) {
		if (d)
			diag_add(d, t->vpos.file, t->vpos.line, t->vpos.col,
				"timeout: expected seconds from 1 to 86400, found '%s'",
				snip(q, sizeof q, t->value));
		return -1;
	}
	return (int)v;
}

int
qa_parse_checks(const struct project *p, const struct atom *a, struct check **out, size_t *n,
	struct diag *d)
{
	const struct dm_decl *decl = a->decl;
	size_t i, nerr = d->nerrors;

	*out = NULL;
	*n = 0;
	qa_timeout_s(decl, d);
	for (i = 0; i < decl->nprops; i++) {
		const struct dm_prop *pr = &decl->props[i];
		struct check c = {0};
		const char *v = pr->value, *why;
		char q[QA_SNIP_LONG];

		if (strcmp(pr->key, "check") != 0)
			continue;
		c.pos = pr->vpos;
		if (!strcmp(v, "syntax")) {
			c.kind = CHECK_SYNTAX;
			if (!treesit_lang_for_path(a->out)) {
				diag_add(d, pr->vpos.file, pr->vpos.line, pr->vpos.col,
					"check = syntax: no grammar for '%s' (known: .py .js .mjs .cjs .ts "
					".tsx .c .h .json .yaml .yml)",
					snip(q, sizeof q, a->out));
				continue;
			}
		} else if (!strcmp(v, "no-markers")) {
			c.kind = CHECK_NO_MARKERS;
		} else if (!strncmp(v, "contract:", 9)) {
			c.kind = CHECK_CONTRACT;
			if (!find_contract(p, v + 9)) {
				diag_add(d, pr->vpos.file, pr->vpos.line, pr->vpos.col,
					"check = contract:NAME: no contract named '%s'",
					snip(q, QA_SNIP, v + 9));
				continue;
			}
			c.arg = xstrdup(v + 9);
		} else if (!strncmp(v, "cmd:", 4)) {
			char **argv = run_split(v + 4, &why);

			c.kind = CHECK_CMD;
			if (!argv || !argv[0]) {
				diag_add(d, pr->vpos.file, pr->vpos.line, pr->vpos.col,
					"check = cmd: expected a command, found %s",
					argv ? "nothing" : why);
				run_argv_free(argv);
				continue;
			}
			run_argv_free(argv);
			c.arg = xstrdup(v + 4);
		} else {
			diag_add(d, pr->vpos.file, pr->vpos.line, pr->vpos.col,
				"unknown check '%s'; expected syntax, contract:NAME, cmd:COMMAND or "
				"no-markers",
				snip(q, QA_SNIP, v));
			continue;
		}
		*out = xreallocarray(*out, *n + 1, sizeof(**out));
		(*out)[(*n)++] = c;
	}
	if (d->nerrors != nerr) {
		qa_checks_free(*out, *n);
		*out = NULL;
		*n = 0;
		return DM_EINPUT;
	}
	return 0;
}

void
qa_checks_free(struct check *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(c[i].arg);
	free(c);
}

/* query_compile: compile query, the text of DMfile value pr as rendered
 * for one element, with errors placed at their byte in the DMfile.  The
 * rendered text and the value as written agree up to the first Mustache
 * tag and after the last one: an error there is placed exactly, one in
 * between at the first byte where they differ (the first tag).  (A value
 * continued with '\' over several lines is placed as if it were on its
 * first line: a dm_prop keeps only where its value starts.) */
static int
query_compile(const struct treesit_lang *lang, const struct dm_prop *pr, const char *query,
	struct treesit_query **out, struct diag *d)
{
	struct srcpos top = {pr->vpos.file, 1, 1};
	struct diag tmp = {0};
	const char *v = pr->value;
	size_t ql = strlen(query), vl = strlen(v), pre = 0, suf = 0, k, off;
	int rc, line;

	if (!strcmp(query, v))
		return treesit_query_new_at(lang, &pr->vpos, query, ql, out, d);
	while (pre < ql && pre < vl && query[pre] == v[pre])
		pre++;
	while (suf < ql - pre && suf < vl - pre && query[ql - 1 - suf] == v[vl - 1 - suf])
		suf++;
	rc = treesit_query_new_at(lang, &top, query, ql, out, &tmp);
	for (k = 0; k < tmp.n; k++) {
		const struct diag_item *it = &tmp.items[k];

		if (it->line <= 0) {
			diag_add(d, it->file, it->line, it->col, "%s", it->msg);
			continue;
		}
		for (off = 0, line = 1; off < ql && line < it->line; off++)
			if (query[off] == '\n')
				line++;
		off += (size_t)it->col - 1;
		if (off > ql)
			off = ql;
		if (off >= pre)
			off = off >= ql - suf ? vl - (ql - off) : pre;
		diag_add(d, pr->vpos.file, pr->vpos.line, pr->vpos.col + (int)off, "%s", it->msg);
	}
	diag_free(&tmp);
	return rc;
}

static void
add_items(struct project *p, struct qa *q, const struct dm_decl *c, const struct val *elem,
	int validate, struct diag *d)
{
	const struct dm_prop *fp = dm_get(c, "file");
	const struct val *stack[2];
	size_t depth = 0, i;
	char *file, q1[QA_SNIP], q2[QA_SNIP_LONG];
	const struct treesit_lang *lang;

	stack[depth++] = p->spec;
	if (elem)
		stack[depth++] = elem;
	file = project_render("file", fp->value, stack, depth, &fp->vpos, d);
	if (!file)
		return;
	lang = treesit_lang_for_path(file);
	if (!lang) {
		diag_add(d, fp->vpos.file, fp->vpos.line, fp->vpos.col,
			"contract %s: no grammar for '%s'", snip(q1, sizeof q1, c->arg),
			snip(q2, sizeof q2, file));
		free(file);
		return;
	}
	for (i = 0; i < c->nprops; i++) {
		const struct dm_prop *pr = &c->props[i];
		struct contract_item it = {0};
		char *query;

		if (strcmp(pr->key, "query") && strcmp(pr->key, "optional"))
			continue;
		query = project_render(pr->key, pr->value, stack, depth, &pr->vpos, d);
		if (!query)
			continue;
		if (validate) {
			struct treesit_query *tq;

			if (query_compile(lang, pr, query, &tq, d)) {
				free(query);
				continue;
			}
			treesit_query_free(tq);
		}
		it.contract = c->arg;
		it.element = elem && elem->path ? xstrdup(elem->path) : NULL;
		it.file = xstrdup(file);
		it.query = query;
		it.optional = !strcmp(pr->key, "optional");
		it.pos = pr->vpos;
		q->items = xreallocarray(q->items, q->nitems + 1, sizeof(*q->items));
		q->items[q->nitems++] = it;
	}
	free(file);
}

int
qa_load(struct project *p, struct qa **out, struct diag *d)
{
	struct qa *q = xcalloc(1, sizeof(*q));
	size_t i, k, nerr = d->nerrors;

	for (i = 0; i < p->df->ndecls; i++) {
		const struct dm_decl *c = &p->df->decls[i];
		const struct dm_prop *fe;
		const struct val *coll;
		char q1[QA_SNIP];

		if (strcmp(c->kind, "contract") != 0)
			continue;
		fe = dm_get(c, "foreach");
		if (!fe) {
			add_items(p, q, c, NULL, 1, d);
			continue;
		}
		coll = val_resolve(p->spec, fe->value);
		if (!coll) {
			diag_add(d, fe->vpos.file, fe->vpos.line, fe->vpos.col,
				"foreach: no '%s' in the spec", snip(q1, sizeof q1, fe->value));
			continue;
		}
		if (coll->kind != VAL_LIST && coll->kind != VAL_MAP) {
			diag_add(d, fe->vpos.file, fe->vpos.line, fe->vpos.col,
				"foreach: expected a list or a map at '%s', found a %s",
				snip(q1, sizeof q1, fe->value), val_kind_name(coll->kind));
			continue;
		}
		/* Queries are compiled once per declaration to report malformed
		 * ones at load; each item is compiled again where it is used. */
		for (k = 0; k < coll->n; k++)
			add_items(p, q, c, coll->items[k], k == 0, d);
	}
	if (d->nerrors != nerr) {
		qa_free(q);
		*out = NULL;
		return DM_EINPUT;
	}
	*out = q;
	return 0;
}

void
qa_free(struct qa *q)
{
	size_t i;

	if (!q)
		return;
	for (i = 0; i < q->nitems; i++) {
		free(q->items[i].element);
		free(q->items[i].file);
		free(q->items[i].query);
	}
	free(q->items);
	free(q);
}

static void
add_outcome(struct check_outcomes *oc, const char *name, const char *suite, int passed,
	const char *msg)
{
	struct check_outcome *o;

	oc->v = xreallocarray(oc->v, oc->n + 1, sizeof(*oc->v));
	o = &oc->v[oc->n++];
	o->name = xstrdup(name);
	o->suite = suite ? xstrdup(suite) : NULL;
	o->passed = passed;
	o->message = msg ? xstrdup(msg) : NULL;
}

/* match_item: 1 if item it matches bytes (exactly, or relaxed). */
static int
match_item(const struct contract_item *it, const char *bytes, size_t n, int relaxed)
{
	const struct treesit_lang *lang = treesit_lang_for_path(it->file);
	struct diag ignore = {0};
	struct treesit_query *q;
	int matched = 0;

	if (!lang || treesit_query_new_at(lang, &it->pos, it->query, strlen(it->query), &q,
			     &ignore)) {
		diag_free(&ignore);
		return 0;
	}
	if (treesit_query_match(q, bytes, n, relaxed, &matched) != 0)
		matched = 0;
	treesit_query_free(q);
	return matched;
}

static int
has_markers(const char *s, size_t n, size_t *line)
{
	static const char *marks[] = {"{{$", "{{#", "{{^", "{{/", "{{>", "DMBUILD:SLOT"};
	size_t i, k, l = 1;

	for (i = 0; i < n; i++) {
		if (s[i] == '\n')
			l++;
		for (k = 0; k < sizeof(marks) / sizeof(marks[0]); k++) {
			size_t ml = strlen(marks[k]);

			if (n - i >= ml && !memcmp(s + i, marks[k], ml)) {
				*line = l;
				return 1;
			}
		}
	}
	return 0;
}

int
qa_check_bytes(const struct project *p, const struct atom *a, const char *bytes, size_t n,
	struct check_outcomes *oc, struct diag *d)
{
	size_t i, k, line;
	int failed = 0;

	for (i = 0; i < a->nchecks; i++) {
		const struct check *c = &a->checks[i];

		switch (c->kind) {
		case CHECK_SYNTAX: {
			struct diag sd = {0};
			int bad = treesit_check_syntax(treesit_lang_for_path(a->out), a->out, bytes, n, &sd) != 0;

			for (k = 0; k < sd.n; k++)
				diag_add(d, sd.items[k].file, sd.items[k].line, sd.items[k].col, "%s",
					sd.items[k].msg);
			add_outcome(oc, "syntax", NULL, !bad,
				bad && sd.n ? sd.items[0].msg : NULL);
			diag_free(&sd);
			failed |= bad;
			break;
		}
		case CHECK_NO_MARKERS:
			if (has_markers(bytes, n, &line)) {
				diag_add(d, a->out, (int)line, 1,
					"no-markers: an unfilled slot or template marker is left");
				add_outcome(oc, "no-markers", NULL, 0, "marker left");
				failed = 1;
			} else {
				add_outcome(oc, "no-markers", NULL, 1, NULL);
			}
			break;
		case CHECK_CONTRACT: {
			char *name = xasprintf("contract:%s", c->arg);
			int bad = 0;

			for (k = 0; k < p->qa->nitems; k++) {
				const struct contract_item *it = &p->qa->items[k];

				if (strcmp(it->contract, c->arg) || strcmp(it->file, a->out) ||
					it->optional)
					continue;
				if (!match_item(it, bytes, n, 0)) {
					char q1[QA_SNIP], q2[QA_SNIP_LONG];

					diag_add(d, it->pos.file, it->pos.line, it->pos.col,
						"contract %s: %s does not match for %s: %s", c->arg,
						a->out, it->element ? snip(q1, sizeof q1, it->element) :
						"the spec", snip(q2, sizeof q2, it->query));
					bad = 1;
				}
			}
			add_outcome(oc, name, NULL, !bad, bad ? "contract item missing" : NULL);
			failed |= bad;
			free(name);
			break;
		}
		case CHECK_CMD:
			break;
		}
	}
	return failed ? DM_EBUILD : 0;
}

int
qa_check_cmds(const struct project *p, const struct atom *a, const char *path,
	struct check_outcomes *oc, struct diag *d)
{
	const struct dm_prop *sp = dm_get(a->decl, "suite");
	const char *suite = sp ? sp->value : "checks";
	int timeout = qa_timeout_s(a->decl, NULL), failed = 0;
	size_t i, k;

	for (i = 0; i < a->nchecks; i++) {
		const struct check *c = &a->checks[i];
		const struct val *stack[4];
		struct val *outframe;
		struct run_result res;
		char **argv;
		const char *why;
		size_t depth;
		char *name, qn[QA_SNIP_LONG];
		int bad;

		if (c->kind != CHECK_CMD)
			continue;
		argv = run_split(c->arg, &why);
		outframe = val_new(VAL_MAP);
		val_map_set(outframe, "out", 3, val_new_str(path, strlen(path)));
		depth = project_stack(p, a, stack);
		stack[depth++] = outframe;
		for (k = 0; argv && argv[k]; k++) {
			char *w = project_render("cmd", argv[k], stack, depth, &c->pos, d);

			free(argv[k]);
			argv[k] = w ? w : xstrdup("");
		}
		val_free(outframe);
		name = xasprintf("cmd:%s", c->arg);
		if (run_argv(argv, NULL, NULL, 0, timeout * 1000, QA_MAX_OUTPUT, &res) != 0) {
			bad = 1;
			diag_add(d, c->pos.file, c->pos.line, c->pos.col, "%s: %s",
				snip(qn, sizeof qn, name), res.err.data);
		} else {
			bad = res.status != 0 || res.timed_out;
			if (bad) {
				struct buf m = {0};

				if (res.timed_out)
					buf_printf(&m, "timed out after %d s", timeout);
				else
					buf_printf(&m, "exit status %d", res.status);
				if (res.err.len || res.out.len) {
					const struct buf *o = res.err.len ? &res.err : &res.out;

					buf_printf(&m, ": %.*s", (int)(o->len > 400 ? 400 : o->len),
						o->data);
				}
				diag_add(d, c->pos.file, c->pos.line, c->pos.col, "%s (for %s) failed: %s",
					snip(qn, sizeof qn, name), a->out, m.data);
				add_outcome(oc, name, suite, 0, m.data);
				buf_free(&m);
			}
		}
		if (!bad)
			add_outcome(oc, name, suite, 1, NULL);
		else if (!res.out.data && !res.err.data)
			add_outcome(oc, name, suite, 0, "could not run");
		failed |= bad;
		run_result_free(&res);
		run_argv_free(argv);
		free(name);
	}
	return failed ? DM_EBUILD : 0;
}

void
check_outcomes_free(struct check_outcomes *oc)
{
	size_t i;

	for (i = 0; i < oc->n; i++) {
		free(oc->v[i].name);
		free(oc->v[i].suite);
		free(oc->v[i].message);
	}
	free(oc->v);
	oc->v = NULL;
	oc->n = 0;
}

static void
put_field(struct buf *b, const char *s)
{
	for (; s && *s; s++)
		buf_addc(b, *s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s);
}

char *
check_outcomes_text(const struct check_outcomes *oc)
{
	struct buf b = {0};
	size_t i;

	for (i = 0; i < oc->n; i++) {
		put_field(&b, oc->v[i].name);
		buf_addc(&b, '\t');
		put_field(&b, oc->v[i].suite ? oc->v[i].suite : "");
		buf_addc(&b, '\t');
		buf_adds(&b, oc->v[i].passed ? "pass" : "fail");
		buf_addc(&b, '\t');
		put_field(&b, oc->v[i].message);
		buf_addc(&b, '\n');
	}
	return buf_release(&b);
}

void
check_outcomes_parse(const char *text, struct check_outcomes *oc)
{
	const char *p = text;

	while (p && *p) {
		const char *nl = strchr(p, '\n'), *f[4];
		size_t len = nl ? (size_t)(nl - p) : strlen(p), k = 0;
		char *line = xstrndup(p, len), *s = line;

		f[k++] = s;
		while (k < 4 && (s = strchr(s, '\t')) != NULL) {
			*s++ = '\0';
			f[k++] = s;
		}
		if (k == 4)
			add_outcome(oc, f[0], *f[1] ? f[1] : NULL, !strcmp(f[2], "pass"),
				*f[3] ? f[3] : NULL);
		free(line);
		p = nl ? nl + 1 : NULL;
	}
}

void
qa_contracts(const struct project *p, double *exact, double *relaxed, struct buf *missing)
{
	size_t i, nexact = 0, nrelaxed = 0, n = p->qa ? p->qa->nitems : 0;
	char *cur = NULL, *bytes = NULL;
	size_t blen = 0;
	int have = 0;

	for (i = 0; i < n; i++) {
		const struct contract_item *it = &p->qa->items[i];
		int ex = 0, rx = 0;

		if (!cur || strcmp(cur, it->file) != 0) {
			free(cur);
			free(bytes);
			bytes = NULL;
			cur = xstrdup(it->file);
			have = file_read(it->file, &bytes, &blen) == 0;
		}
		if (have) {
			ex = match_item(it, bytes, blen, 0);
			rx = ex || match_item(it, bytes, blen, 1);
		}
		nexact += ex;
		nrelaxed += rx || it->optional;
		if (!ex)
			buf_printf(missing, "contract %s%s: %s%s%s: %s\n", it->contract,
				it->optional ? " (optional)" : "", it->element ? it->element : "",
				it->element ? " in " : "", it->file, have ? it->query : "the file is missing");
	}
	free(cur);
	free(bytes);
	*exact = n ? (double)nexact / (double)n : 1.0;
	*relaxed = n ? (double)nrelaxed / (double)n : 1.0;
}
