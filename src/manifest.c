/* manifest.c - generation_manifest.json; see manifest.h.  Layout:
 *   {"version": 1, "generator": "dmbuild VERSION", "files": {PATH: {
 *     "atoms": [{"declared": "FILE:LINE:COL", "element": SPECPATH|null,
 *                "stratum": "TEMPLATE", "template": NAME, "pattern": ID|null,
 *                "model": null, "checks": [...], "slots": [...]}],
 *     "inputs": HEX (action key), "output": HEX (digest of the bytes),
 *     "reads": {"spec": N, "files": N}}}}
 * Paths are sorted bytewise. */
#include <stdlib.h>
#include <string.h>

#include "dmfile.h"
#include "fsio.h"
#include "json.h"
#include "key.h"
#include "manifest.h"
#include "project.h"
#include "value.h"

struct entry {
	const struct atom *a;
	const struct record *r;
};

static int
by_out(const void *x, const void *y)
{
	return strcmp(((const struct entry *)x)->a->out, ((const struct entry *)y)->a->out);
}

static void
put_cstr(struct buf *b, const char *s)
{
	if (s)
		json_put_str(b, s, strlen(s));
	else
		buf_adds(b, "null");
}

static void
put_declared(struct buf *b, const struct dm_decl *d)
{
	char *o = xasprintf("%s:%d:%d", d->pos.file, d->pos.line, d->pos.col);

	put_cstr(b, o);
	free(o);
}

static void
put_checks(struct buf *b, const struct dm_decl *d)
{
	size_t i;
	int first = 1;

	buf_addc(b, '[');
	for (i = 0; i < d->nprops; i++) {
		if (strcmp(d->props[i].key, "check") != 0)
			continue;
		if (!first)
			buf_addc(b, ',');
		first = 0;
		put_cstr(b, d->props[i].value);
	}
	buf_addc(b, ']');
}

static void
put_count(struct buf *b, size_t n)
{
	char t[24];
	int k = sizeof(t);

	do {
		t[--k] = (char)('0' + n % 10);
		n /= 10;
	} while (n);
	buf_add(b, t + k, sizeof(t) - (size_t)k);
}

static void
put_hex(struct buf *b, struct digest d)
{
	char hex[DIGEST_HEX_LEN + 1];

	digest_hex(d, hex);
	buf_addc(b, '"');
	buf_add(b, hex, DIGEST_HEX_LEN);
	buf_addc(b, '"');
}

/* put_atom: one entry; declared and checks are the declaration's JSON,
 * computed once for all its atoms. */
static void
put_atom(struct buf *b, const struct atom *a, const struct record *r, const char *declared,
	const char *checks)
{
	const struct dm_prop *pat = dm_get(a->decl, "pattern");
	size_t i;

	buf_adds(b, "{\"atoms\":[{\"declared\":");
	buf_adds(b, declared);
	buf_adds(b, ",\"element\":");
	put_cstr(b, a->elem ? a->elem->path : NULL);
	buf_adds(b, ",\"stratum\":\"");
	buf_adds(b, stratum_name(a->stratum)); /* a fixed word, no escapes */
	buf_adds(b, "\",\"template\":");
	put_cstr(b, a->tmpl);
	buf_adds(b, ",\"pattern\":");
	put_cstr(b, pat ? pat->value : NULL);
	buf_adds(b, ",\"model\":null,\"checks\":");
	buf_adds(b, checks);
	buf_adds(b, ",\"slots\":[");
	for (i = 0; i < a->nslots; i++) {
		if (i)
			buf_addc(b, ',');
		put_cstr(b, a->slots[i].name);
	}
	buf_adds(b, "]}],\"inputs\":");
	put_hex(b, r->key);
	buf_adds(b, ",\"output\":");
	put_hex(b, r->out);
	buf_adds(b, ",\"reads\":{\"spec\":");
	put_count(b, r->nspec_reads);
	buf_adds(b, ",\"files\":");
	put_count(b, r->nfile_reads);
	buf_adds(b, "}}");
}

int
manifest_write(const struct project *p, struct record *const *recs, const char *path)
{
	struct entry *e = xmalloc((p->natoms ? p->natoms : 1) * sizeof(*e));
	size_t nd = p->df->ndecls ? p->df->ndecls : 1;
	char **declared = xcalloc(nd, sizeof(*declared)), **checks = xcalloc(nd, sizeof(*checks));
	struct buf b = {0};
	char *old = NULL;
	size_t i, n = 0, oldlen;
	int r = 0;

	for (i = 0; i < p->natoms; i++)
		if (recs[i]) {
			e[n].a = &p->atoms[i];
			e[n++].r = recs[i];
		}
	qsort(e, n, sizeof(*e), by_out);
	buf_printf(&b, "{\"version\":1,\"generator\":\"dmbuild %s\",\"files\":{", DM_VERSION);
	for (i = 0; i < p->df->ndecls; i++) {
		struct buf x = {0};

		put_declared(&x, &p->df->decls[i]);
		declared[i] = buf_release(&x);
		put_checks(&x, &p->df->decls[i]);
		checks[i] = buf_release(&x);
	}
	for (i = 0; i < n; i++) {
		/* Atoms come from the top-level declarations (project.c). */
		size_t di = (size_t)(e[i].a->decl - p->df->decls);

		buf_adds(&b, i ? ",\n" : "\n");
		put_cstr(&b, e[i].a->out);
		buf_addc(&b, ':');
		put_atom(&b, e[i].a, e[i].r, declared[di], checks[di]);
	}
	for (i = 0; i < p->df->ndecls; i++) {
		free(declared[i]);
		free(checks[i]);
	}
	free(declared);
	free(checks);
	buf_adds(&b, "\n}}\n");
	if (file_read(path, &old, &oldlen) != 0 || oldlen != b.len ||
		memcmp(old, b.data, b.len) != 0)
		r = fs_write_atomic(path, b.data, b.len);
	free(old);
	free(e);
	buf_free(&b);
	return r;
}
