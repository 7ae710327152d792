/* tool.c - the subcommands render, explain, graph and clean.
 *
 * render reads everything on demand and caches parsed partials by name for
 * the one render; the others read the project and the cache but never
 * build anything. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "dmfile.h"
#include "fsio.h"
#include "graph.h"
#include "json.h"
#include "key.h"
#include "project.h"
#include "mustache.h"
#include "spec.h"
#include "tool.h"
#include "util.h"
#include "value.h"

struct render_ctx {
	char *dir; /* directory of the template, with a trailing '/' or "" */
	char **names;
	struct mst **tmpls; /* NULL: looked up and not found */
	size_t n;
	struct diag *d;
};

static int
render_partial(void *ud, const char *name, size_t len, const struct mst **out)
{
	struct render_ctx *rc = ud;
	const char *suffix[] = {".mustache", ""};
	struct mst *t = NULL;
	size_t i;
	int r;

	for (i = 0; i < rc->n; i++) {
		if (strlen(rc->names[i]) == len && memcmp(rc->names[i], name, len) == 0) {
			*out = rc->tmpls[i];
			return rc->tmpls[i] ? 0 : DM_ENOTFOUND;
		}
	}
	for (i = 0; i < 2 && !t; i++) {
		char *path = xasprintf("%s%.*s%s", rc->dir, (int)len, name, suffix[i]);
		char *text;
		size_t tlen;

		if (len && memchr(name, '\0', len) == NULL && file_read(path, &text, &tlen) == 0) {
			int line, col;
			const char *bad;

			if (text_check(text, tlen, &line, &col, &bad) != 0) {
				diag_add(rc->d, path, line, col, "%s in a template", bad);
				r = DM_EINPUT;
			} else {
				r = mst_parse(path, text, tlen, &t, rc->d);
			}
			free(text);
			if (r) {
				free(path);
				return r;
			}
		}
		free(path);
	}
	rc->names = xreallocarray(rc->names, rc->n + 1, sizeof(*rc->names));
	rc->tmpls = xreallocarray(rc->tmpls, rc->n + 1, sizeof(*rc->tmpls));
	rc->names[rc->n] = xstrndup(name, len);
	rc->tmpls[rc->n++] = t;
	*out = t;
	return t ? 0 : DM_ENOTFOUND;
}

static int
has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n >= m && strcmp(s + n - m, suf) == 0;
}

int
tool_render(const char *tmpl, const char *data)
{
	struct diag d = {0};
	struct render_ctx rc = {0};
	struct mst_hooks hooks = {0};
	struct buf out = {0};
	struct val *root = NULL;
	struct mst *t = NULL;
	const struct val *stack[1];
	char *text = NULL, *slash;
	size_t len, i;
	int r, status = 2;

	r = file_read(tmpl, &text, &len);
	if (r) {
		diag_add(&d, tmpl, 0, 0, "cannot read template: %s",
			r == DM_ENOTFOUND ? "no such file" : "read error");
		goto out;
	}
	{
		int line, col;
		const char *bad;

		if (text_check(text, len, &line, &col, &bad) != 0) {
			diag_add(&d, tmpl, line, col, "%s in a template", bad);
			goto out;
		}
	}
	if (mst_parse(tmpl, text, len, &t, &d))
		goto out;
	free(text);
	text = NULL;
	if (data) {
		r = file_read(data, &text, &len);
		if (r) {
			diag_add(&d, data, 0, 0, "cannot read data: %s",
				r == DM_ENOTFOUND ? "no such file" : "read error");
			goto out;
		}
		if (has_suffix(data, ".json"))
			r = json_parse(data, text, len, &root, &d);
		else
			r = spec_parse(data, text, len, &root, &d);
		if (r)
			goto out;
		val_freeze(root, "");
	} else {
		root = val_new(VAL_MAP);
		val_freeze(root, "");
	}
	slash = strrchr(tmpl, '/');
	rc.dir = slash ? xstrndup(tmpl, (size_t)(slash - tmpl) + 1) : xstrdup("");
	rc.d = &d;
	hooks.partial = render_partial;
	hooks.ud = &rc;
	stack[0] = root;
	if (mst_render(t, stack, 1, &hooks, &out, &d))
		goto out;
	if (out.len && fwrite(out.data, 1, out.len, stdout) != out.len) {
		diag_add(&d, NULL, 0, 0, "cannot write to standard output");
		goto out;
	}
	status = 0;
out:
	diag_print(&d, stderr);
	diag_free(&d);
	for (i = 0; i < rc.n; i++) {
		free(rc.names[i]);
		mst_free(rc.tmpls[i]);
	}
	free(rc.names);
	free(rc.tmpls);
	free(rc.dir);
	free(text);
	buf_free(&out);
	mst_free(t);
	val_free(root);
	return status;
}

static void
print_time(int64_t ns)
{
	char buf[64];
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;

	if (gmtime_r(&t, &tm) && strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm))
		fputs(buf, stdout);
	else
		fputs("?", stdout);
}

static const char *
read_kind(char k)
{
	switch (k) {
	case 'V': return "value";
	case 'S': return "shape";
	case 'M': return "missing";
	case 'F': return "file";
	case 'N': return "no file";
	case 'I': return "@index";
	case 'K': return "@key";
	}
	return "?";
}

static int
read_by_path(const void *a, const void *b)
{
	const struct read *x = *(const struct read *const *)a, *y = *(const struct read *const *)b;
	int c = strcmp(x->path, y->path);

	return c ? c : (x->kind > y->kind) - (x->kind < y->kind);
}

int
tool_explain(struct project *p, struct cache *c, const char *path)
{
	const struct read **shown_reads;
	struct record r;
	char *v, hex[DIGEST_HEX_LEN + 1];
	size_t vl, i;
	long ai = project_find(p, path);
	const struct atom *a = ai >= 0 ? &p->atoms[ai] : NULL;
	struct fstamp st;
	int have;

	have = cache_get(c, CACHE_ATOMS, path, strlen(path), &v, &vl) == 0;
	if (have) {
		have = record_decode(v, vl, &r) == 0;
		free(v);
	}
	if (!a && !have) {
		fprintf(stderr, "dmbuild: explain: no atom writes '%s'\n", path);
		return 2;
	}
	printf("%s\n", path);
	if (a) {
		const struct dm_prop *pat = dm_get(a->decl, "pattern");

		printf("  atom      %s %s (%s:%d:%d)\n", a->decl->kind, a->decl->arg, a->decl->pos.file,
			a->decl->pos.line, a->decl->pos.col);
		if (a->elem)
			printf("  element   %s\n", a->elem->path);
		printf("  stratum   %s\n", stratum_name(a->stratum));
		printf("  template  %s\n", a->tmpl);
		printf("  pattern   %s\n", pat ? pat->value : "-");
		printf("  model     -\n");
		for (i = 0; i < a->decl->nprops; i++)
			if (!strcmp(a->decl->props[i].key, "check"))
				printf("  check     %s\n", a->decl->props[i].value);
		for (i = 0; i < a->nslots; i++)
			printf("  slot      %s (fallback body until the LLM stratum fills it)\n",
				a->slots[i].name);
	} else {
		printf("  atom      (no longer declared; last written from %s)\n",
			r.origin ? r.origin : "?");
	}
	if (!have) {
		printf("  built     never\n");
		return 0;
	}
	printf("  built     ");
	print_time(r.built_ns);
	printf(" by dmbuild %s: %s\n", r.version ? r.version : "?",
		r.reason && *r.reason ? r.reason : "-");
	digest_hex(r.out, hex);
	fs_stamp(path, &st);
	printf("  output    %s", hex);
	if (!st.exists) {
		printf(" (the file is missing)\n");
	} else {
		struct digest now;

		if (hash_file(path, &now) == 0)
			printf(digest_eq(now, r.out) ? " (the file matches)\n"
						     : " (the file was edited by hand)\n");
		else
			printf(" (unreadable)\n");
	}
	digest_hex(r.key, hex);
	printf("  inputs    %s\n", hex);
	printf("  read:\n");
	/* Shown sorted by path (the record keeps the order of first use). */
	shown_reads = xmalloc((r.reads.n ? r.reads.n : 1) * sizeof(*shown_reads));
	for (i = 0; i < r.reads.n; i++)
		shown_reads[i] = &r.reads.r[i];
	qsort(shown_reads, r.reads.n, sizeof(*shown_reads), read_by_path);
	for (i = 0; i < r.reads.n; i++) {
		const struct read *rd = shown_reads[i];
		const char *shown = rd->path;
		char *full = NULL;

		if (rd->path[0] == '@' && rd->kind != 'I' && rd->kind != 'K' && a && a->elem &&
			a->elem->path) {
			full = xasprintf("%s%s", a->elem->path, rd->path + 1);
			shown = full;
		}
		printf("    %-8s %s\n", read_kind(rd->kind), shown);
		free(full);
	}
	free(shown_reads);
	record_free(&r);
	return 0;
}

static void
dot_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar(*s);
	}
	putchar('"');
}

int
tool_graph(struct project *p)
{
	size_t i, k, nd;

	printf("digraph dmbuild {\n\trankdir=LR;\n\tnode [shape=box];\n");
	for (i = 0; i < p->natoms; i++) {
		putchar('\t');
		dot_str(p->atoms[i].out);
		printf(" [label=");
		{
			char *l = xasprintf("%s\\n%s", p->atoms[i].out, stratum_name(p->atoms[i].stratum));

			printf("\"");
			for (k = 0; l[k]; k++) {
				if (l[k] == '"')
					putchar('\\');
				putchar(l[k]);
			}
			printf("\"");
			free(l);
		}
		printf("];\n");
	}
	for (i = 0; i < p->natoms; i++) {
		const size_t *deps = graph_deps(p->graph, i, &nd);

		for (k = 0; k < nd; k++) {
			putchar('\t');
			dot_str(p->atoms[deps[k]].out);
			printf(" -> ");
			dot_str(p->atoms[i].out);
			printf(";\n");
		}
	}
	printf("}\n");
	return 0;
}

struct clean_ctx {
	char **paths;
	struct record *recs;
	size_t n;
};

static int
clean_collect(void *ud, const void *key, size_t klen, const void *val, size_t vlen)
{
	struct clean_ctx *cc = ud;
	struct record r;

	if (record_decode(val, vlen, &r) != 0)
		memset(&r, 0, sizeof(r));
	cc->paths = xreallocarray(cc->paths, cc->n + 1, sizeof(*cc->paths));
	cc->recs = xreallocarray(cc->recs, cc->n + 1, sizeof(*cc->recs));
	cc->paths[cc->n] = xstrndup(key, klen);
	cc->recs[cc->n++] = r;
	return 0;
}

int
tool_clean(struct cache *c, int force)
{
	struct clean_ctx cc = {0};
	size_t i, removed = 0, kept = 0;
	int status = 0;

	cache_each(c, CACHE_ATOMS, clean_collect, &cc);
	for (i = 0; i < cc.n; i++) {
		struct record *r = &cc.recs[i];
		struct fstamp st;
		struct digest d;
		char *sv;
		size_t sn;
		int ours = 0;

		if (cache_get(c, CACHE_STAMPS, cc.paths[i], strlen(cc.paths[i]), &sv, &sn) == 0) {
			stamp_apply(sv, sn, r);
			free(sv);
		}
		fs_stamp(cc.paths[i], &st);
		if (st.exists) {
			if (fstamp_eq(&st, &r->st))
				ours = 1;
			else if (hash_file(cc.paths[i], &d) == 0)
				ours = digest_eq(d, r->out) || digest_eq(d, r->prev);
			if (ours || force) {
				if (fs_remove(cc.paths[i]) == 0) {
					removed++;
				} else {
					fprintf(stderr, "dmbuild: cannot remove %s\n", cc.paths[i]);
					status = 1;
					goto next;
				}
			} else {
				fprintf(stderr,
					"dmbuild: warning: %s was edited by hand; kept it (--force removes it)\n",
					cc.paths[i]);
				kept++;
				goto next;
			}
		}
		cache_del(c, CACHE_ATOMS, cc.paths[i], strlen(cc.paths[i]));
		cache_del(c, CACHE_STAMPS, cc.paths[i], strlen(cc.paths[i]));
next:
		free(cc.paths[i]);
		record_free(r);
	}
	free(cc.paths);
	free(cc.recs);
	if (remove("generation_manifest.json") != 0 && errno != ENOENT)
		status = 1;
	cache_del(c, CACHE_META, "stamp", 5);
	cache_sync(c);
	fprintf(stderr, "dmbuild: removed %zu output%s%s\n", removed, removed == 1 ? "" : "s",
		kept ? " (some kept: edited by hand)" : "");
	return status;
}
