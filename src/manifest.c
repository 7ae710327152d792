/* manifest.c - generation_manifest.json; see manifest.h.  Layout:
 *   {"version": 1, "generator": "dmbuild VERSION", "files": {PATH: {
 *     "atoms": [{"declared": "FILE:LINE:COL", "element": SPECPATH|null,
 *                "stratum": "TEMPLATE", "template": NAME, "pattern": ID|null,
 *                "model": null, "checks": [...], "slots": [...]}],
 *     "inputs": HEX (action key), "output": HEX (digest of the bytes),
 *     "reads": {"spec": N, "files": N}}}}
 * Paths are sorted bytewise.  Each entry is the same text whether it is
 * written on manifest_begin's thread or by manifest_finish; the pieces are
 * written one after another, never joined in memory. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "dmfile.h"
#include "fsio.h"
#include "json.h"
#include "key.h"
#include "manifest.h"
#include "project.h"
#include "value.h"

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

/* A manifest being written: the entries of atoms final before the build
 * go into body (each as ",\n" KEY ":" ENTRY) while atoms build; each
 * later atom leaves a gap at its place in the order. */
struct entry {
	const char *out;
	size_t atom;
};

struct gap {
	size_t atom, at; /* atom index; offset in body where its entry goes */
};

struct manifest {
	const struct project *p;
	struct record *const *recs;
	const unsigned char *later;
	char *path;
	struct entry *order; /* sorted by output path */
	size_t n;
	struct buf body;
	struct gap *gaps;
	size_t ngaps;
	pthread_t th;
	int threaded;
};

static int
by_out(const void *x, const void *y)
{
	return strcmp(((const struct entry *)x)->out, ((const struct entry *)y)->out);
}

static void
put_entry(struct buf *b, const struct atom *a, const struct record *r, const char *declared,
	const char *checks)
{
	buf_adds(b, ",\n");
	put_cstr(b, a->out);
	buf_addc(b, ':');
	put_atom(b, a, r, declared, checks);
}

/* put_entries: every entry that is final now, in order, with a gap for
 * each later atom. */
static void *
put_entries(void *arg)
{
	struct manifest *m = arg;
	const struct project *p = m->p;
	size_t nd = p->df->ndecls ? p->df->ndecls : 1, i;
	char **declared = xcalloc(nd, sizeof(*declared)), **checks = xcalloc(nd, sizeof(*checks));

	for (i = 0; i < p->df->ndecls; i++) {
		struct buf x = {0};

		put_declared(&x, &p->df->decls[i]);
		declared[i] = buf_release(&x);
		put_checks(&x, &p->df->decls[i]);
		checks[i] = buf_release(&x);
	}
	for (i = 0; i < m->n; i++) {
		size_t ai = m->order[i].atom;
		const struct atom *a = &p->atoms[ai];

		if (m->later && m->later[ai]) {
			m->gaps[m->ngaps].atom = ai;
			m->gaps[m->ngaps++].at = m->body.len;
			continue;
		}
		/* Atoms come from the top-level declarations (project.c). */
		put_entry(&m->body, a, m->recs[ai], declared[a->decl - p->df->decls],
			checks[a->decl - p->df->decls]);
	}
	for (i = 0; i < p->df->ndecls; i++) {
		free(declared[i]);
		free(checks[i]);
	}
	free(declared);
	free(checks);
	return NULL;
}

struct manifest *
manifest_begin(const struct project *p, struct record *const *recs, const unsigned char *later,
	const char *path, int thread)
{
	struct manifest *m = xcalloc(1, sizeof(*m));
	size_t i;

	m->p = p;
	m->recs = recs;
	m->later = later;
	m->path = xstrdup(path);
	m->order = xmalloc((p->natoms ? p->natoms : 1) * sizeof(*m->order));
	for (i = 0; i < p->natoms; i++)
		if (recs[i] || (later && later[i])) {
			m->order[m->n].out = p->atoms[i].out;
			m->order[m->n++].atom = i;
		}
	m->gaps = xmalloc((m->n ? m->n : 1) * sizeof(*m->gaps));
	qsort(m->order, m->n, sizeof(*m->order), by_out);
	m->threaded = thread && pthread_create(&m->th, NULL, put_entries, m) == 0;
	return m;
}

int
manifest_finish(struct manifest *m, struct record *const *recs)
{
	const struct project *p = m->p;
	struct fs_piece *pc;
	struct buf head = {0}, *late;
	size_t k, npc = 0, from = 0;
	int r = 0, first = 1;

	if (m->threaded)
		pthread_join(m->th, NULL);
	else
		put_entries(m);
	/* head, then body pieces and later entries taking turns, then the end */
	pc = xmalloc((2 * m->ngaps + 3) * sizeof(*pc));
	late = xcalloc(m->ngaps ? m->ngaps : 1, sizeof(*late));
	buf_printf(&head, "{\"version\":1,\"generator\":\"dmbuild %s\",\"files\":{", DM_VERSION);
	pc[npc].p = head.data;
	pc[npc++].n = head.len;
	for (k = 0; k <= m->ngaps; k++) {
		size_t to = k < m->ngaps ? m->gaps[k].at : m->body.len;
		struct fs_piece piece = {m->body.data + from, to - from};

		if (piece.n) {
			if (first) /* the first entry starts with "\n", not ",\n" */
				piece.p = (const char *)piece.p + 1, piece.n--;
			first = 0;
			pc[npc++] = piece;
		}
		from = to;
		if (k < m->ngaps && recs[m->gaps[k].atom]) {
			const struct atom *a = &p->atoms[m->gaps[k].atom];
			struct buf dc = {0}, ck = {0};

			put_declared(&dc, a->decl);
			put_checks(&ck, a->decl);
			put_entry(&late[k], a, recs[m->gaps[k].atom], dc.data, ck.data);
			buf_free(&dc);
			buf_free(&ck);
			pc[npc].p = late[k].data + first;
			pc[npc++].n = late[k].len - (size_t)first;
			first = 0;
		}
	}
	pc[npc].p = "\n}}\n";
	pc[npc++].n = 4;
	if (!fs_same_pieces(m->path, pc, npc))
		r = fs_write_pieces(m->path, pc, npc);
	for (k = 0; k < m->ngaps; k++)
		buf_free(&late[k]);
	free(late);
	free(pc);
	buf_free(&head);
	buf_free(&m->body);
	free(m->gaps);
	free(m->order);
	free(m->path);
	free(m);
	return r;
}

int
manifest_write(const struct project *p, struct record *const *recs, const char *path)
{
	return manifest_finish(manifest_begin(p, recs, NULL, path, 0), recs);
}
