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
	char **declared, **checks; /* per declaration, as JSON */
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
	size_t i;

	for (i = 0; i < m->n; i++) {
		size_t ai = m->order[i].atom;
		const struct atom *a = &p->atoms[ai];

		if (m->later && m->later[ai]) {
			m->gaps[m->ngaps].atom = ai;
			m->gaps[m->ngaps++].at = m->body.len;
			continue;
		}
		/* Atoms come from the top-level declarations (project.c). */
		put_entry(&m->body, a, m->recs[ai], m->declared[a->decl - p->df->decls],
			m->checks[a->decl - p->df->decls]);
	}
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
	m->declared = xcalloc(p->df->ndecls ? p->df->ndecls : 1, sizeof(*m->declared));
	m->checks = xcalloc(p->df->ndecls ? p->df->ndecls : 1, sizeof(*m->checks));
	for (i = 0; i < p->df->ndecls; i++) {
		struct buf x = {0};

		put_declared(&x, &p->df->decls[i]);
		m->declared[i] = buf_release(&x);
		put_checks(&x, &p->df->decls[i]);
		m->checks[i] = buf_release(&x);
	}
	qsort(m->order, m->n, sizeof(*m->order), by_out);
	m->threaded = thread && pthread_create(&m->th, NULL, put_entries, m) == 0;
	return m;
}

/* add_piece: n bytes at p after the pieces so far; joined to the last one
 * when they follow it in memory. */
static void
add_piece(struct fs_piece *pc, size_t *npc, const char *p, size_t n)
{
	if (!n)
		return;
	if (*npc && (const char *)pc[*npc - 1].p + pc[*npc - 1].n == p) {
		pc[*npc - 1].n += n;
		return;
	}
	pc[*npc].p = p;
	pc[(*npc)++].n = n;
}

int
manifest_finish(struct manifest *m, struct record *const *recs)
{
	const struct project *p = m->p;
	struct fs_piece *pc;
	struct buf head = {0}, late = {0};
	size_t k, npc = 0, from = 0, *lo;
	int r = 0, first = 1;

	if (m->threaded)
		pthread_join(m->th, NULL);
	else
		put_entries(m);
	/* the later atoms' entries, one after another in late */
	lo = xmalloc((m->ngaps + 1) * sizeof(*lo));
	for (k = 0; k < m->ngaps; k++) {
		const struct atom *a = &p->atoms[m->gaps[k].atom];
		size_t di = (size_t)(a->decl - p->df->decls);

		lo[k] = late.len;
		if (recs[m->gaps[k].atom])
			put_entry(&late, a, recs[m->gaps[k].atom], m->declared[di], m->checks[di]);
	}
	lo[m->ngaps] = late.len;
	/* head, then body pieces and later entries taking turns, then the end;
	 * the first entry starts with "\n", not ",\n" */
	pc = xmalloc((2 * m->ngaps + 3) * sizeof(*pc));
	buf_printf(&head, "{\"version\":1,\"generator\":\"dmbuild %s\",\"files\":{", DM_VERSION);
	add_piece(pc, &npc, head.data, head.len);
	for (k = 0; k <= m->ngaps; k++) {
		size_t to = k < m->ngaps ? m->gaps[k].at : m->body.len;

		if (to > from) {
			add_piece(pc, &npc, m->body.data + from + first, to - from - (size_t)first);
			first = 0;
		}
		from = to;
		if (k < m->ngaps && lo[k + 1] > lo[k]) {
			add_piece(pc, &npc, late.data + lo[k] + first, lo[k + 1] - lo[k] - (size_t)first);
			first = 0;
		}
	}
	add_piece(pc, &npc, "\n}}\n", 4);
	if (!fs_same_pieces(m->path, pc, npc))
		r = fs_write_pieces(m->path, pc, npc);
	buf_free(&late);
	free(lo);
	free(pc);
	buf_free(&head);
	buf_free(&m->body);
	for (k = 0; k < p->df->ndecls; k++) {
		free(m->declared[k]);
		free(m->checks[k]);
	}
	free(m->declared);
	free(m->checks);
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
