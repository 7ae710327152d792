/* key.c - reads, action keys, records; see key.h for the layout and the
 * rules.  Nothing here touches the file system or the cache.
 *
 * Costs that matter (an aggregate atom reads ~80,000 values, and every
 * record is decoded at each build): a repeated read costs one table probe
 * (its digest is computed on first use only); an action key streams its
 * bytes through a block on the stack, never a buffer of the whole
 * readset; a candidate key resolves each path from the nodes the previous
 * path reached (see "Resolving read paths"); record_decode checks a
 * record's bytes once, then copies them out unchecked. */
#include <stdlib.h>
#include <string.h>

#include "key.h"

/*
 * Recording.  A read arrives as (kind, node) for V and S, (kind,
 * container, key) for M, and (kind, text) for the others; a hash table
 * over exactly that drops repeats without building any path (a frozen
 * node has one path, so equal nodes mean equal paths).  reads_finish
 * builds the paths once per distinct read, into one pool, in the order of
 * first use: a render is deterministic, so the same inputs give the same
 * order (and action key), and no sort is paid for.  Each entry keeps its
 * hash, so the table grows without hashing anything again.
 */
struct pending {
	char kind;
	uint32_t h;           /* the hash of (kind, v, text), for the table */
	const struct val *v;  /* V, S: the node; M: the container */
	size_t text, tlen;    /* M: the key; F, N, L, I, K: the path (in keys) */
	struct digest d;
};

struct readrec {
	struct pending *p;
	size_t n, cap;
	struct buf keys;
	uint32_t *slots; /* open addressing: 1 + index into p, 0 empty */
	size_t nslots;
	const struct val *elem;
};

/* The digest of an I or K read of a frame that has no @index or @key (a
 * foreach over a list has no @key): no value's digest is this, so a key
 * that appears or goes away changes the read.  Records written before the
 * frames' @index and @key nodes had digests hold zero for every I and K
 * read, which now matches nothing: an atom that read them is stale once
 * (the next time its reads are checked, after some input changed) and is
 * rebuilt with the real digests; atoms that read neither are not
 * affected. */
static const struct digest frame_absent = {0, 1};

static uint64_t
mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

/* has_text: whether a read of this kind is told apart by its text. */
static int
has_text(char kind)
{
	return kind != 'V' && kind != 'S';
}

/* text_hash: t[0..n) a word at a time (keys and paths are short). */
static uint64_t
text_hash(const char *t, size_t n)
{
	uint64_t h = n * 0x9e3779b97f4a7c15ULL, w;

	for (; n >= 8; t += 8, n -= 8) {
		memcpy(&w, t, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 29;
	}
	if (n) {
		size_t i;

		for (w = 0, i = 0; i < n; i++)
			w |= (uint64_t)(unsigned char)t[i] << (8 * i);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
	}
	return h;
}

static uint32_t
pending_hash(char kind, const struct val *v, const char *t, size_t tlen)
{
	return (uint32_t)mix((uint64_t)(uintptr_t)v ^ ((uint64_t)(unsigned char)kind << 56) ^
			     (has_text(kind) ? text_hash(t, tlen) : 0));
}

/* rec_resize: ns slots (a power of two); the entries move by their kept
 * hash. */
static void
rec_resize(struct readrec *rr, size_t ns)
{
	size_t i;

	free(rr->slots);
	rr->slots = xcalloc(ns, sizeof(*rr->slots));
	rr->nslots = ns;
	for (i = 0; i < rr->n; i++) {
		size_t at = rr->p[i].h & (ns - 1);

		while (rr->slots[at])
			at = (at + 1) & (ns - 1);
		rr->slots[at] = (uint32_t)(i + 1);
	}
}

/* rec_grow: twice the slots (the table stays at most half full). */
static void
rec_grow(struct readrec *rr)
{
	rec_resize(rr, rr->nslots ? rr->nslots * 2 : 256);
}

/* The most reads a hint makes room for at once. */
#define REC_MAX_HINT ((size_t)1 << 20)

void
reads_expect(struct readset *rs, size_t n)
{
	struct readrec *rr = rs->rec;
	size_t ns = 256;

	if (n > REC_MAX_HINT)
		n = REC_MAX_HINT;
	if (!rr)
		rr = rs->rec = xcalloc(1, sizeof(*rr));
	if (n > rr->cap) {
		rr->p = xreallocarray(rr->p, n, sizeof(*rr->p));
		rr->cap = n;
	}
	while (ns < 2 * (n + 1))
		ns *= 2;
	if (ns > rr->nslots)
		rec_resize(rr, ns);
}

/* reads_add: the new read (its digest for the caller to set), or NULL
 * when it was recorded before. */
static struct pending *
reads_add(struct readset *rs, const struct recorder *rc, char kind, const struct val *v,
	const char *t, size_t tlen)
{
	struct readrec *rr = rs->rec;
	struct pending *q;
	uint32_t h;
	size_t at;

	if (!rr)
		rr = rs->rec = xcalloc(1, sizeof(*rr));
	if (!rr->n) /* the first read: paths are relative to its element */
		rr->elem = rc ? rc->elem : NULL;
	if (!has_text(kind))
		t = NULL, tlen = 0;
	if ((rr->n + 1) * 2 > rr->nslots)
		rec_grow(rr);
	h = pending_hash(kind, v, t, tlen);
	at = h & (rr->nslots - 1);
	while (rr->slots[at]) {
		q = &rr->p[rr->slots[at] - 1];
		if (q->h == h && q->kind == kind && q->v == v && q->tlen == tlen &&
			(!tlen || memcmp(rr->keys.data + q->text, t, tlen) == 0))
			return NULL;
		at = (at + 1) & (rr->nslots - 1);
	}
	if (rr->n == rr->cap) {
		rr->cap = rr->cap ? rr->cap * 2 : 64;
		rr->p = xreallocarray(rr->p, rr->cap, sizeof(*rr->p));
	}
	q = &rr->p[rr->n];
	q->kind = kind;
	q->h = h;
	q->v = v;
	q->text = rr->keys.len;
	q->tlen = tlen;
	q->d.hi = q->d.lo = 0;
	if (tlen)
		buf_add(&rr->keys, t, tlen);
	rr->slots[at] = (uint32_t)++rr->n;
	return q;
}

/* relpath: the path of a spec node as stored, "@..." under the element
 * (elem NULL: none; elen the length of its path), with its NUL. */
static void
relpath(const struct val *elem, size_t elen, const char *path, struct buf *out)
{
	size_t n = strlen(path);

	if (elem && elem->path && n >= elen && memcmp(path, elem->path, elen) == 0 &&
		(path[elen] == '\0' || path[elen] == '.' || path[elen] == '[' || elen == 0)) {
		buf_addc(out, '@');
		if (elen == 0 && path[0])
			buf_addc(out, '.');
		buf_add(out, path + elen, n - elen + 1);
		return;
	}
	buf_add(out, path, n + 1);
}

void
key_record_use(struct recorder *rc, const struct val *v, enum val_use how)
{
	struct pending *q;

	if (v == rc->index_val && v) {
		if ((q = reads_add(rc->rs, rc, 'I', NULL, "@index", 6)))
			q->d = v->digest;
		return;
	}
	if (v == rc->key_val && v) {
		if ((q = reads_add(rc->rs, rc, 'K', NULL, "@key", 4)))
			q->d = v->digest;
		return;
	}
	if (!v || !v->path)
		return;
	/* The digest is worked out for the first use only. */
	if ((q = reads_add(rc->rs, rc, how == VAL_USE_VALUE ? 'V' : 'S', v, NULL, 0)))
		q->d = val_use_digest(v, how);
}

/* probe_frame: a lookup of @KEY missed in a frame (or other synthetic
 * map): a frame without @key or @index.  Recorded only when the atom's
 * frame lacks it too, so that it never shadows the read of a present one. */
static void
probe_frame(struct recorder *rc, const char *key, size_t klen)
{
	struct pending *q = NULL;

	if (klen == 4 && memcmp(key, "@key", 4) == 0 && !rc->key_val)
		q = reads_add(rc->rs, rc, 'K', NULL, "@key", 4);
	else if (klen == 6 && memcmp(key, "@index", 6) == 0 && !rc->index_val)
		q = reads_add(rc->rs, rc, 'I', NULL, "@index", 6);
	if (q)
		q->d = frame_absent;
}

void
key_record_probe(struct recorder *rc, const struct val *container, const char *key, size_t klen,
	const struct val *found)
{
	if (found || !container)
		return;
	if (!container->path) {
		if (klen >= 4 && key[0] == '@')
			probe_frame(rc, key, klen);
		return;
	}
	reads_add(rc->rs, rc, 'M', container, key, klen);
}

void
key_record_file(struct recorder *rc, const char *path, int exists, struct digest d)
{
	struct pending *q = reads_add(rc->rs, rc, exists ? 'F' : 'N', NULL, path, strlen(path));

	if (q && exists)
		q->d = d;
}

void
key_record_fill(struct recorder *rc, const char *slot, const char *fill)
{
	struct pending *q = reads_add(rc->rs, rc, 'L', NULL, slot, strlen(slot));

	if (q && fill)
		q->d = hash_bytes(fill, strlen(fill));
}

static void
rec_free(struct readrec *rr)
{
	if (!rr)
		return;
	free(rr->p);
	free(rr->slots);
	buf_free(&rr->keys);
	free(rr);
}

void
reads_finish(struct readset *rs)
{
	struct readrec *rr = rs->rec;
	struct buf pool = {0};
	size_t i, *off, elen;
	int again = rs->n > 0;

	if (!rr)
		return;
	rs->rec = NULL;
	off = xmalloc((rr->n ? rr->n : 1) * sizeof(*off));
	elen = rr->elem && rr->elem->path ? strlen(rr->elem->path) : 0;
	for (i = 0; i < rr->n; i++) {
		const struct pending *q = &rr->p[i];
		const char *t = rr->keys.data ? rr->keys.data + q->text : "";

		off[i] = pool.len;
		if (q->kind == 'V' || q->kind == 'S') {
			relpath(rr->elem, elen, q->v->path, &pool);
		} else if (q->kind == 'M') {
			char *child = val_child_path(q->v->path, t, q->tlen);

			relpath(rr->elem, elen, child, &pool);
			free(child);
		} else {
			buf_add(&pool, t, q->tlen);
			buf_addc(&pool, '\0');
		}
	}
	rs->r = xreallocarray(rs->r, rs->n + rr->n ? rs->n + rr->n : 1, sizeof(*rs->r));
	rs->cap = rs->n + rr->n;
	if (rs->n) {
		/* More reads recorded onto finished ones: their paths move into
		 * the new pool too. */
		size_t k, *old = xmalloc(rs->n * sizeof(*old));

		for (k = 0; k < rs->n; k++) {
			old[k] = pool.len;
			buf_add(&pool, rs->r[k].path, strlen(rs->r[k].path) + 1);
		}
		for (k = 0; k < rs->n; k++)
			rs->r[k].path = pool.data + old[k];
		free(old);
	}
	for (i = 0; i < rr->n; i++) {
		struct read *r = &rs->r[rs->n + i];

		r->kind = rr->p[i].kind;
		r->d = rr->p[i].d;
		r->path = pool.data + off[i];
	}
	rs->n += rr->n;
	free(off);
	free(rs->pool);
	rs->pool = buf_release(&pool);
	rec_free(rr);
	if (again) {
		/* Reads recorded onto finished ones: drop those already there. */
		struct strmap *seen = strmap_new();
		struct buf k = {0};
		size_t j = 0;

		for (i = 0; i < rs->n; i++) {
			buf_clear(&k);
			buf_addc(&k, rs->r[i].kind);
			buf_adds(&k, rs->r[i].path);
			if (strmap_get(seen, k.data, k.len))
				continue;
			strmap_put(seen, k.data, k.len, rs);
			rs->r[j++] = rs->r[i];
		}
		rs->n = j;
		buf_free(&k);
		strmap_free(seen);
	}
}

void
reads_free(struct readset *rs)
{
	free(rs->r);
	free(rs->pool);
	rec_free(rs->rec);
	memset(rs, 0, sizeof(*rs));
}

/* key_static: hash_strings over the five parts, laid out in one buffer
 * (the same stream, so the same digest) and hashed at once. */
struct digest
key_static(const char *canon, const char *out, const char *tmpl)
{
	const char *parts[] = {"dmbuild-template", DM_VERSION, canon, out, tmpl};
	unsigned char small[1024], *b = small, *p;
	size_t len[5], total = 0, i;
	struct digest d;

	for (i = 0; i < 5; i++)
		total += 8 + (len[i] = strlen(parts[i]));
	if (total > sizeof(small))
		b = xmalloc(total);
	for (p = b, i = 0; i < 5; i++) {
		p = le64_put(p, len[i]);
		memcpy(p, parts[i], len[i]);
		p += len[i];
	}
	d = hash_bytes(b, total);
	if (b != small)
		free(b);
	return d;
}

static void
put_digest(struct buf *b, struct digest d)
{
	buf_put_u64(b, d.hi);
	buf_put_u64(b, d.lo);
}

/*
 * Resolving read paths.  The reads of a record come in the order of
 * their first use, so neighbours share long prefixes (entities[12].
 * fields[3].name, then ...fields[3].type).  A walk keeps the node each
 * step of the last path reached, and a path resolves from the deepest
 * kept step that ends inside the prefix it shares with the last one:
 * mostly a single step.  Steps are read exactly as val_resolve reads
 * them (value.h's syntax: KEY, .KEY, [I], ["QUOTED"]), so the node found
 * is the one val_resolve(base, path) finds.
 */
#define WALK_DEPTH 32

struct walk {
	const struct val *base;
	const char *path; /* the last path walked from base, or NULL */
	size_t n;         /* steps kept */
	size_t end[WALK_DEPTH];
	const struct val *node[WALK_DEPTH];
	struct buf key;   /* a quoted key, decoded */
};

/* walk_resolve: val_resolve(base, path), path of length len, from the
 * steps kept. */
static const struct val *
walk_resolve(struct walk *w, const struct val *base, const char *path, size_t len)
{
	const struct val *v;
	size_t pos;

	if (!base)
		return NULL;
	if (w->base != base || !w->path) {
		w->base = base;
		w->n = 0;
	}
	/* A kept step holds if path has the same bytes up to its end and the
	 * step ends there in path too. */
	while (w->n) {
		size_t e = w->end[w->n - 1];

		if (e <= len && (!path[e] || path[e] == '.' || path[e] == '[') &&
			memcmp(w->path, path, e) == 0)
			break;
		w->n--;
	}
	w->path = path;
	pos = w->n ? w->end[w->n - 1] : 0;
	v = w->n ? w->node[w->n - 1] : base;
	while (path[pos]) {
		const char *p = path + pos;

		v = val_step(v, &p, pos == 0, &w->key);
		if (!v)
			return NULL;
		pos = (size_t)(p - path);
		if (w->n < WALK_DEPTH) {
			w->end[w->n] = pos;
			w->node[w->n++] = v;
		}
	}
	return v;
}

/* A walk from the root and one from the element. */
struct walks {
	struct walk root, elem;
};

static void
walks_free(struct walks *ws)
{
	buf_free(&ws->root.key);
	buf_free(&ws->elem.key);
}

/* The action key's byte stream goes to the hasher in blocks of this size. */
#define ACTION_BLOCK 4096

static struct digest eval(const struct read *r, size_t len, const struct key_env *e,
	struct walks *ws, int *present);

/* action: the action key: the digest of the byte stream a hasher gets
 * from hasher_add_digest(static), hasher_add_u64(n), then per read its
 * kind, hasher_add_str(path) and hasher_add_digest(digest).  The digest
 * is the recorded one, or with e what the read evaluates to now.  The
 * stream is laid out in a block and handed over a block at a time. */
static struct digest
action(struct digest static_key, const struct read *r, size_t n, const struct key_env *e)
{
	unsigned char blk[ACTION_BLOCK], *p = blk, *end = blk + sizeof(blk);
	struct hasher *h = hasher_new();
	struct walks ws;
	struct digest d;
	size_t i;
	int present;

	memset(&ws, 0, sizeof(ws));
	p = le64_put(p, static_key.hi);
	p = le64_put(p, static_key.lo);
	p = le64_put(p, n);
	for (i = 0; i < n; i++) {
		size_t len = strlen(r[i].path);

		d = e ? eval(&r[i], len, e, &ws, &present) : r[i].d;
		if ((size_t)(end - p) < 1 + 8 + len + 16) {
			hasher_add(h, blk, (size_t)(p - blk));
			p = blk;
		}
		if ((size_t)(end - p) < 1 + 8 + len + 16) {
			/* a path longer than a block goes on its own */
			*p++ = (unsigned char)r[i].kind;
			p = le64_put(p, len);
			hasher_add(h, blk, (size_t)(p - blk));
			hasher_add(h, r[i].path, len);
			p = blk;
		} else {
			*p++ = (unsigned char)r[i].kind;
			p = le64_put(p, len);
			memcpy(p, r[i].path, len);
			p += len;
		}
		p = le64_put(p, d.hi);
		p = le64_put(p, d.lo);
	}
	hasher_add(h, blk, (size_t)(p - blk));
	d = hasher_final(h);
	hasher_free(h);
	walks_free(&ws);
	return d;
}

struct digest
key_action(struct digest static_key, const struct readset *rs)
{
	return action(static_key, rs->r, rs->n, NULL);
}

/* eval: what read r (its path of length len) evaluates to now; *present
 * tells a missing path. */
static struct digest
eval(const struct read *r, size_t len, const struct key_env *e, struct walks *ws, int *present)
{
	struct digest zero = {0, 0};
	const struct val *v;

	*present = 1;
	switch (r->kind) {
	case 'I':
		return e->index_val ? e->index_val->digest : frame_absent;
	case 'K':
		return e->key_val ? e->key_val->digest : frame_absent;
	case 'F':
	case 'N': {
		struct digest d = zero;

		*present = e->file(e->ud, r->path, &d);
		return *present ? d : zero;
	}
	case 'L': {
		struct digest d = zero;

		if (!e->fill)
			return r->d;
		return e->fill(e->ud, e->out, r->path, &d) ? d : zero;
	}
	}
	if (r->path[0] == '@') {
		/* relative to the element: "@" itself, "@.key...", "@[i]..." */
		if (!e->elem) {
			*present = 0;
			return zero;
		}
		if (!r->path[1])
			v = e->elem;
		else
			v = walk_resolve(&ws->elem, e->elem, r->path + (r->path[1] == '.' ? 2 : 1),
				len - (r->path[1] == '.' ? 2 : 1));
	} else {
		v = walk_resolve(&ws->root, e->root, r->path, len);
	}
	if (!v) {
		*present = 0;
		return zero;
	}
	if (r->kind == 'M') /* found now: any non-zero digest differs */
		return val_use_digest(v, VAL_USE_VALUE);
	return val_use_digest(v, r->kind == 'S' ? VAL_USE_SHAPE : VAL_USE_VALUE);
}

int
key_check(const struct record *r, const struct key_env *e, struct buf *why)
{
	struct walks ws;
	size_t i;
	int same_elem = e->elem && !digest_is_zero(r->elem) && digest_eq(e->elem->digest, r->elem);
	int stale = 0;

	memset(&ws, 0, sizeof(ws));
	for (i = 0; i < r->reads.n; i++) {
		const struct read *rd = &r->reads.r[i];
		int present, was;
		struct digest now;

		if (same_elem && rd->path[0] == '@' &&
			(rd->kind == 'V' || rd->kind == 'S' || rd->kind == 'M'))
			continue;
		now = eval(rd, strlen(rd->path), e, &ws, &present);
		was = rd->kind != 'M' && rd->kind != 'N';

		if (present == was && (!present || !was || digest_eq(now, rd->d)))
			continue;
		if (rd->kind == 'L')
			buf_printf(why, "the fill of slot %s changed", rd->path);
		else if (rd->kind == 'F' || rd->kind == 'N')
			buf_printf(why, "file %s %s", rd->path,
				!present ? "removed" : !was ? "added" : "changed");
		else if (rd->kind == 'I' || rd->kind == 'K')
			buf_printf(why, "%s changed", rd->path);
		else if (rd->path[0] == '@' && e->elem && e->elem->path)
			buf_printf(why, "spec %s%s %s", e->elem->path,
				rd->path + (e->elem->path[0] ? 1 : 2),
				!present ? "removed" : !was ? "added" : "changed");
		else
			buf_printf(why, "spec %s %s", rd->path,
				!present ? "removed" : !was ? "added" : "changed");
		stale = 1;
		break;
	}
	walks_free(&ws);
	return stale;
}

struct digest
key_candidate(const struct record *r, const struct key_env *e)
{
	return action(r->static_key, r->reads.r, r->reads.n, e);
}

/*
 * Reading records.  The bytes are read through a struct cursor as
 * util.h's cur_* read them (a read past the end sets bad, which sticks,
 * and yields zeros or NULL), with the fixed-size readers here so that
 * they inline (cur_take is inline in util.h): a record of 76,000 reads
 * takes a million of them.
 */
static struct digest
get_digest(struct cursor *c)
{
	const unsigned char *p = cur_take(c, 16);
	struct digest d = {0, 0};

	if (p) {
		d.hi = le64_get(p);
		d.lo = le64_get(p + 8);
	}
	return d;
}

void
stamp_encode(const struct fstamp *st, struct digest out, struct buf *b)
{
	buf_addc(b, 1);
	fstamp_put(b, st);
	put_digest(b, out);
}

int
stamp_apply(const void *p, size_t n, struct record *r)
{
	struct cursor c = {p, n, 0, 0};
	const unsigned char *v = cur_take(&c, 1);
	struct fstamp st;
	struct digest out;

	if (!v || *v != 1)
		return 0;
	fstamp_get(&c, &st);
	out = get_digest(&c);
	if (c.bad || c.off != c.n || !digest_eq(out, r->out))
		return 0;
	r->st = st;
	return 1;
}

/* varint_put: v as LEB128 (7 bits a byte, low first, the high bit set on
 * all but the last) at p; returns the end. */
static unsigned char *
varint_put(unsigned char *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (unsigned char)((v & 0x7f) | 0x80);
		v >>= 7;
	}
	*p++ = (unsigned char)v;
	return p;
}

static void
put_varint(struct buf *b, uint64_t v)
{
	unsigned char t[10];

	buf_add(b, t, (size_t)(varint_put(t, v) - t));
}

/* varint_in: the LEB128 number at *q (before end) into *v, moving *q
 * past it; -1 if it runs past end or beyond 64 bits. */
static inline int
varint_in(const unsigned char **q, const unsigned char *end, uint64_t *v)
{
	const unsigned char *p = *q;
	uint64_t x = 0;
	int shift;

	if (p < end && *p < 0x80) { /* the usual case: one byte */
		*v = *p;
		*q = p + 1;
		return 0;
	}
	for (shift = 0; shift < 64; shift += 7) {
		if (p == end)
			return -1;
		x |= (uint64_t)(*p & 0x7f) << shift;
		if (!(*p++ & 0x80)) {
			*q = p;
			*v = x;
			return 0;
		}
	}
	return -1;
}

static uint64_t
get_varint(struct cursor *c)
{
	const unsigned char *q = c->p + c->off;
	uint64_t v;

	if (c->bad || varint_in(&q, c->p + c->n, &v) != 0) {
		c->bad = 1;
		return 0;
	}
	c->off = (size_t)(q - c->p);
	return v;
}

/* varint_at: a LEB128 number at *q that varint_in has read before. */
static inline uint64_t
varint_at(const unsigned char **q)
{
	const unsigned char *p = *q;
	uint64_t v = 0;
	int shift = 0;

	if (*p < 0x80) {
		*q = p + 1;
		return *p;
	}
	while (*p & 0x80) {
		v |= (uint64_t)(*p++ & 0x7f) << shift;
		shift += 7;
	}
	*q = p + 1;
	return v | (uint64_t)*p << shift;
}

/* common_prefix: how many leading bytes a[0..an) and b[0..bn) share,
 * compared a word at a time. */
static size_t
common_prefix(const char *a, size_t an, const char *b, size_t bn)
{
	size_t n = an < bn ? an : bn, i = 0;

	while (i + 8 <= n) {
		uint64_t x, y;

		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		if (x != y)
			break;
		i += 8;
	}
	while (i < n && a[i] == b[i])
		i++;
	return i;
}

/* zero_digest_kind: reads whose digest is always zero (a miss, a missing
 * file) do not store it. */
static int
zero_digest_kind(char kind)
{
	return kind == 'M' || kind == 'N';
}

void
record_encode(const struct record *r, struct buf *out)
{
	size_t i, plen = 0;

	buf_addc(out, 4);
	put_digest(out, r->static_key);
	put_digest(out, r->key);
	put_digest(out, r->out);
	put_digest(out, r->prev);
	put_digest(out, r->elem);
	fstamp_put(out, &r->st);
	buf_put_u64(out, (uint64_t)r->built_ns);
	buf_put_u32(out, r->stratum);
	buf_put_u32(out, r->flags);
	buf_put_str(out, r->version);
	buf_put_str(out, r->tmpl);
	buf_put_str(out, r->reason);
	buf_put_str(out, r->origin);
	buf_put_str(out, r->checks);
	put_varint(out, r->reads.n);
	for (i = 0; i < r->reads.n; i++) {
		const struct read *rd = &r->reads.r[i];
		size_t len = strlen(rd->path), shared = 0;
		unsigned char *p;

		if (i)
			shared = common_prefix(r->reads.r[i - 1].path, plen, rd->path, len);
		/* kind, two varints of at most 10 bytes, the bytes, the digest */
		buf_reserve(out, 1 + 20 + (len - shared) + 16);
		p = (unsigned char *)out->data + out->len;
		*p++ = (unsigned char)rd->kind;
		p = varint_put(p, shared);
		p = varint_put(p, len - shared);
		memcpy(p, rd->path + shared, len - shared);
		p += len - shared;
		if (!zero_digest_kind(rd->kind)) {
			p = le64_put(p, rd->d.hi);
			p = le64_put(p, rd->d.lo);
		}
		out->len = (size_t)((char *)p - out->data);
		out->data[out->len] = '\0';
		plen = len;
	}
}

/* decode_reads_v4: the front-coded reads (version 4) after c.  Two
 * passes: the first checks the bytes and sizes the pool (the expanded
 * paths are bounded: a record whose paths would expand beyond 64 times
 * its size, or any path beyond RECORD_MAX_PATH, is refused), the second
 * fills it from the bytes the first has checked, without checking them
 * again.  0 or -1. */
#define RECORD_MAX_PATH ((size_t)1 << 20)

static int
decode_reads_v4(struct cursor *c, struct record *r)
{
	const unsigned char *q, *at, *end;
	uint64_t nreads, i, shared, len, prev = 0, total = 0;
	size_t limit = (c->n < ((size_t)1 << 24) ? c->n : ((size_t)1 << 24)) * 64 + 4096;
	size_t pl = 0, nfile = 0;
	char *pool, *last = NULL;

	nreads = get_varint(c);
	if (c->bad || nreads > c->n - c->off)
		return -1;
	q = at = c->p + c->off;
	end = c->p + c->n;
	for (i = 0; i < nreads; i++) {
		int zero;

		if (at == end)
			return -1;
		zero = zero_digest_kind((char)*at++);
		if (varint_in(&at, end, &shared) || varint_in(&at, end, &len) || shared > prev ||
			len > RECORD_MAX_PATH || shared + len > RECORD_MAX_PATH ||
			len + (zero ? 0 : 16) > (size_t)(end - at))
			return -1;
		at += len + (zero ? 0 : 16);
		prev = shared + len;
		total += prev + 1;
		if (total > limit)
			return -1;
	}
	c->off = (size_t)(at - c->p);
	r->reads.r = xreallocarray(NULL, nreads ? (size_t)nreads : 1, sizeof(*r->reads.r));
	r->reads.cap = (size_t)nreads;
	r->reads.pool = pool = xmalloc(total ? (size_t)total : 1);
	for (i = 0; i < nreads; i++) {
		struct read *rd = &r->reads.r[i];

		rd->kind = (char)*q++;
		shared = varint_at(&q);
		len = varint_at(&q);
		if (shared)
			memcpy(pool + pl, last, (size_t)shared);
		memcpy(pool + pl + shared, q, (size_t)len);
		q += len;
		pool[pl + shared + len] = '\0';
		rd->path = last = pool + pl;
		pl += (size_t)(shared + len + 1);
		if (zero_digest_kind(rd->kind)) {
			rd->d.hi = rd->d.lo = 0;
		} else {
			rd->d.hi = le64_get(q);
			rd->d.lo = le64_get(q + 8);
			q += 16;
		}
		nfile += rd->kind == 'F' || rd->kind == 'N';
	}
	r->reads.n = (size_t)nreads;
	r->nfile_reads = nfile;
	r->nspec_reads = (size_t)nreads - nfile;
	return 0;
}

/* decode_reads_v1: versions 1 to 3: u32 count, then kind, str path and
 * digest per read.  The paths' bytes are part of the record's, so n bytes
 * hold them all with their NULs (each had a 4-byte length instead). */
static int
decode_reads_v1(struct cursor *c, size_t n, struct record *r)
{
	uint32_t i, nreads = cur_u32(c);
	size_t pl = 0;

	if (c->bad || nreads > (c->n - c->off) / 21)
		return -1;
	r->reads.r = xcalloc(nreads ? nreads : 1, sizeof(*r->reads.r));
	r->reads.cap = nreads;
	r->reads.pool = xmalloc(n ? n : 1);
	for (i = 0; i < nreads && !c->bad; i++) {
		struct read *rd = &r->reads.r[i];
		const unsigned char *v = cur_take(c, 1), *bytes;
		unsigned long len;

		rd->kind = v ? (char)*v : 0;
		len = cur_u32(c);
		bytes = cur_take(c, len);
		if (!bytes)
			break;
		memcpy(r->reads.pool + pl, bytes, len);
		r->reads.pool[pl + len] = '\0';
		rd->path = r->reads.pool + pl;
		pl += len + 1;
		rd->d = get_digest(c);
		r->reads.n++;
	}
	return c->bad ? -1 : 0;
}

int
record_decode(const void *p, size_t n, struct record *r)
{
	struct cursor c = {p, n, 0, 0};
	const unsigned char *v;
	int ver;

	memset(r, 0, sizeof(*r));
	v = cur_take(&c, 1);
	/* 1: before check outcomes, 2: before elem, 3: paths not front-coded */
	if (!v || *v < 1 || *v > 4)
		return -1;
	ver = *v;
	r->static_key = get_digest(&c);
	r->key = get_digest(&c);
	r->out = get_digest(&c);
	r->prev = get_digest(&c);
	if (ver >= 3)
		r->elem = get_digest(&c);
	fstamp_get(&c, &r->st);
	r->built_ns = (int64_t)cur_u64(&c);
	r->stratum = cur_u32(&c);
	r->flags = cur_u32(&c);
	r->version = cur_str(&c);
	r->tmpl = cur_str(&c);
	r->reason = cur_str(&c);
	r->origin = cur_str(&c);
	r->checks = ver >= 2 ? cur_str(&c) : xstrdup("");
	if (c.bad || (ver >= 4 ? decode_reads_v4(&c, r) : decode_reads_v1(&c, n, r)) != 0 ||
		c.off != c.n) {
		record_free(r);
		return -1;
	}
	if (ver < 4) /* version 4 counted them as it read them */
		record_count_reads(r);
	return 0;
}

void
record_count_reads(struct record *r)
{
	size_t i;

	r->nspec_reads = r->nfile_reads = 0;
	for (i = 0; i < r->reads.n; i++) {
		if (r->reads.r[i].kind == 'F' || r->reads.r[i].kind == 'N')
			r->nfile_reads++;
		else
			r->nspec_reads++;
	}
}

void
record_drop_reads(struct record *r)
{
	/* record_decode and the builders of records have counted them;
	 * count here only reads nobody counted. */
	if (!r->nspec_reads && !r->nfile_reads)
		record_count_reads(r);
	reads_free(&r->reads);
}

void
record_free(struct record *r)
{
	free(r->version);
	free(r->tmpl);
	free(r->reason);
	free(r->origin);
	free(r->checks);
	reads_free(&r->reads);
	memset(r, 0, sizeof(*r));
}

void
key_refresh(const struct record *r, const struct key_env *e, struct readset *out)
{
	struct walks ws;
	size_t i, len = 0, at = 0;
	int present;

	reads_free(out);
	for (i = 0; i < r->reads.n; i++)
		len += strlen(r->reads.r[i].path) + 1;
	out->r = xcalloc(r->reads.n ? r->reads.n : 1, sizeof(*out->r));
	out->cap = r->reads.n;
	out->pool = xmalloc(len ? len : 1);
	memset(&ws, 0, sizeof(ws));
	for (i = 0; i < r->reads.n; i++) {
		size_t n = strlen(r->reads.r[i].path) + 1;

		memcpy(out->pool + at, r->reads.r[i].path, n);
		out->r[i].kind = r->reads.r[i].kind;
		out->r[i].path = out->pool + at;
		out->r[i].d = eval(&r->reads.r[i], n - 1, e, &ws, &present);
		at += n;
		out->n++;
	}
	walks_free(&ws);
}
