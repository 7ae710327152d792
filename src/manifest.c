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
put_atom(struct buf *b, const struct atom *a, const struct record *r)
{
	const struct dm_decl *d = a->decl;
	const struct dm_prop *pat = dm_get(d, "pattern");
	char hex[DIGEST_HEX_LEN + 1];
	size_t i;
	int first = 1;

	buf_adds(b, "{\"atoms\":[{\"declared\":");
	{
		char *o = xasprintf("%s:%d:%d", d->pos.file, d->pos.line, d->pos.col);

		put_cstr(b, o);
		free(o);
	}
	buf_adds(b, ",\"element\":");
	put_cstr(b, a->elem ? a->elem->path : NULL);
	buf_adds(b, ",\"stratum\":");
	put_cstr(b, stratum_name(a->stratum));
	buf_adds(b, ",\"template\":");
	put_cstr(b, a->tmpl);
	buf_adds(b, ",\"pattern\":");
	put_cstr(b, pat ? pat->value : NULL);
	buf_adds(b, ",\"model\":null,\"checks\":[");
	for (i = 0; i < d->nprops; i++) {
		if (strcmp(d->props[i].key, "check") != 0)
			continue;
		if (!first)
			buf_addc(b, ',');
		first = 0;
		put_cstr(b, d->props[i].value);
	}
	buf_adds(b, "],\"slots\":[");
	for (i = 0; i < a->nslots; i++) {
		if (i)
			buf_addc(b, ',');
		put_cstr(b, a->slots[i].name);
	}
	buf_adds(b, "]}],\"inputs\":");
	digest_hex(r->key, hex);
	put_cstr(b, hex);
	buf_adds(b, ",\"output\":");
	digest_hex(r->out, hex);
	put_cstr(b, hex);
	buf_printf(b, ",\"reads\":{\"spec\":%zu,\"files\":%zu}}", r->nspec_reads,
		r->nfile_reads);
}

int
manifest_write(const struct project *p, struct record *const *recs, const char *path)
{
	struct entry *e = xmalloc((p->natoms ? p->natoms : 1) * sizeof(*e));
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
	for (i = 0; i < n; i++) {
		buf_adds(&b, i ? ",\n" : "\n");
		put_cstr(&b, e[i].a->out);
		buf_addc(&b, ':');
		put_atom(&b, e[i].a, e[i].r);
	}
	buf_adds(&b, "\n}}\n");
	if (file_read(path, &old, &oldlen) != 0 || oldlen != b.len ||
		memcmp(old, b.data, b.len) != 0)
		r = fs_write_atomic(path, b.data, b.len);
	free(old);
	free(e);
	buf_free(&b);
	return r;
}
