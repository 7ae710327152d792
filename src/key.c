/* key.c - reads, action keys, records; see key.h for the layout and the
 * rules.  Nothing here touches the file system or the cache. */
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
 * order (and action key), and no sort is paid for.
 */
struct pending {
	char kind;
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

static uint64_t
pending_hash(char kind, const struct val *v, const char *t, size_t tlen)
{
	return mix((uint64_t)(uintptr_t)v ^ ((uint64_t)(unsigned char)kind << 56) ^
		   (has_text(kind) ? fnv1a(t, tlen) : 0));
}

static void
rec_grow(struct readrec *rr)
{
	size_t i, ns = rr->nslots ? rr->nslots * 2 : 64;

	free(rr->slots);
	rr->slots = xcalloc(ns, sizeof(*rr->slots));
	rr->nslots = ns;
	for (i = 0; i < rr->n; i++) {
		const struct pending *q = &rr->p[i];
		const char *t = rr->keys.data ? rr->keys.data + q->text : "";
		size_t at = pending_hash(q->kind, q->v, t, q->tlen) & (ns - 1);

		while (rr->slots[at])
			at = (at + 1) & (ns - 1);
		rr->slots[at] = (uint32_t)(i + 1);
	}
}

static void
reads_add(struct readset *rs, const struct recorder *rc, char kind, const struct val *v,
	const char *t, size_t tlen, struct digest d)
{
	struct readrec *rr = rs->rec;
	struct pending *q;
	size_t at;

	if (!rr) {
		rr = rs->rec = xcalloc(1, sizeof(*rr));
		rr->elem = rc ? rc->elem : NULL;
	}
	if (!has_text(kind))
		t = NULL, tlen = 0;
	if ((rr->n + 1) * 2 > rr->nslots)
		rec_grow(rr);
	at = pending_hash(kind, v, t, tlen) & (rr->nslots - 1);
	while (rr->slots[at]) {
		q = &rr->p[rr->slots[at] - 1];
		if (q->kind == kind && q->v == v && q->tlen == tlen &&
			(!tlen || memcmp(rr->keys.data + q->text, t, tlen) == 0))
			return;
		at = (at + 1) & (rr->nslots - 1);
	}
	if (rr->n == rr->cap) {
		rr->cap = rr->cap ? rr->cap * 2 : 16;
		rr->p = xreallocarray(rr->p, rr->cap, sizeof(*rr->p));
	}
	q = &rr->p[rr->n];
	q->kind = kind;
	q->v = v;
	q->text = rr->keys.len;
	q->tlen = tlen;
	q->d = d;
	buf_add(&rr->keys, t ? t : "", tlen);
	rr->slots[at] = (uint32_t)++rr->n;
}

/* relpath: the path of a spec node as stored: "@..." under the element. */
static void
relpath(const struct val *elem, const char *path, struct buf *out)
{
	if (elem && elem->path) {
		size_t n = strlen(elem->path);

		if (strncmp(path, elem->path, n) == 0 &&
			(path[n] == '\0' || path[n] == '.' || path[n] == '[' || n == 0)) {
			buf_addc(out, '@');
			if (n == 0 && path[0])
				buf_addc(out, '.');
			buf_adds(out, path + n);
			return;
		}
	}
	buf_adds(out, path);
}

void
key_record_use(struct recorder *rc, const struct val *v, enum val_use how)
{
	if (v == rc->index_val && v) {
		reads_add(rc->rs, rc, 'I', NULL, "@index", 6, v->digest);
		return;
	}
	if (v == rc->key_val && v) {
		reads_add(rc->rs, rc, 'K', NULL, "@key", 4, v->digest);
		return;
	}
	if (!v || !v->path)
		return;
	reads_add(rc->rs, rc, how == VAL_USE_VALUE ? 'V' : 'S', v, NULL, 0, val_use_digest(v, how));
}

void
key_record_probe(struct recorder *rc, const struct val *container, const char *key, size_t klen,
	const struct val *found)
{
	struct digest zero = {0, 0};

	if (found || !container || !container->path)
		return;
	reads_add(rc->rs, rc, 'M', container, key, klen, zero);
}

void
key_record_file(struct recorder *rc, const char *path, int exists, struct digest d)
{
	struct digest zero = {0, 0};

	reads_add(rc->rs, rc, exists ? 'F' : 'N', NULL, path, strlen(path), exists ? d : zero);
}

void
key_record_fill(struct recorder *rc, const char *slot, const char *fill)
{
	struct digest zero = {0, 0};

	reads_add(rc->rs, rc, 'L', NULL, slot, strlen(slot),
		fill ? hash_bytes(fill, strlen(fill)) : zero);
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
	size_t i, *off;
	int again = rs->n > 0;

	if (!rr)
		return;
	rs->rec = NULL;
	off = xmalloc((rr->n ? rr->n : 1) * sizeof(*off));
	for (i = 0; i < rr->n; i++) {
		const struct pending *q = &rr->p[i];
		const char *t = rr->keys.data ? rr->keys.data + q->text : "";

		off[i] = pool.len;
		if (q->kind == 'V' || q->kind == 'S') {
			relpath(rr->elem, q->v->path, &pool);
		} else if (q->kind == 'M') {
			char *child = val_child_path(q->v->path, t, q->tlen);

			relpath(rr->elem, child, &pool);
			free(child);
		} else {
			buf_add(&pool, t, q->tlen);
		}
		buf_addc(&pool, '\0');
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

struct digest
key_static(const char *canon, const char *out, const char *tmpl)
{
	const char *parts[] = {"dmbuild-template", DM_VERSION, canon, out, tmpl};

	return hash_strings(5, parts);
}

static void
put_digest(struct buf *b, struct digest d)
{
	buf_put_u64(b, d.hi);
	buf_put_u64(b, d.lo);
}

/* action: the action key.  The byte stream is the one a hasher would get
 * from hasher_add_digest(static), hasher_add_u64(n), then per read its
 * kind, hasher_add_str(path) and hasher_add_digest(digest), laid out in
 * one buffer and hashed at once. */
static struct digest
action(struct digest static_key, const struct read *r, size_t n, const struct digest *now)
{
	struct buf b = {0};
	struct digest d;
	size_t i, total = 24;

	for (i = 0; i < n; i++)
		total += 1 + 8 + strlen(r[i].path) + 16;
	buf_reserve(&b, total);
	put_digest(&b, static_key);
	buf_put_u64(&b, n);
	for (i = 0; i < n; i++) {
		size_t len = strlen(r[i].path);

		buf_addc(&b, r[i].kind);
		buf_put_u64(&b, len);
		buf_add(&b, r[i].path, len);
		put_digest(&b, now ? now[i] : r[i].d);
	}
	d = hash_bytes(b.data, b.len);
	buf_free(&b);
	return d;
}

struct digest
key_action(struct digest static_key, const struct readset *rs)
{
	return action(static_key, rs->r, rs->n, NULL);
}

/* eval: what read r evaluates to now; *present tells a missing path. */
static struct digest
eval(const struct read *r, const struct key_env *e, int *present)
{
	struct digest zero = {0, 0};
	const struct val *v;

	*present = 1;
	switch (r->kind) {
	case 'I':
		if (e->index_val)
			return e->index_val->digest;
		*present = 0;
		return zero;
	case 'K':
		if (e->key_val)
			return e->key_val->digest;
		*present = 0;
		return zero;
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
			v = val_resolve(e->elem, r->path + (r->path[1] == '.' ? 2 : 1));
	} else {
		v = val_resolve(e->root, r->path);
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
	size_t i;
	int same_elem = e->elem && !digest_is_zero(r->elem) && digest_eq(e->elem->digest, r->elem);

	for (i = 0; i < r->reads.n; i++) {
		const struct read *rd = &r->reads.r[i];
		int present, was;
		struct digest now;

		if (same_elem && rd->path[0] == '@' &&
			(rd->kind == 'V' || rd->kind == 'S' || rd->kind == 'M'))
			continue;
		now = eval(rd, e, &present);
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
		return 1;
	}
	return 0;
}

struct digest
key_candidate(const struct record *r, const struct key_env *e)
{
	struct digest *now = xcalloc(r->reads.n ? r->reads.n : 1, sizeof(*now));
	struct digest d;
	size_t i;
	int present;

	for (i = 0; i < r->reads.n; i++)
		now[i] = eval(&r->reads.r[i], e, &present);
	d = action(r->static_key, r->reads.r, r->reads.n, now);
	free(now);
	return d;
}

static struct digest
get_digest(struct cursor *c)
{
	struct digest d;

	d.hi = cur_u64(c);
	d.lo = cur_u64(c);
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

/* LEB128: 7 bits a byte, low first, the high bit set on all but the last. */
static void
put_varint(struct buf *b, uint64_t v)
{
	while (v >= 0x80) {
		buf_addc(b, (int)(v & 0x7f) | 0x80);
		v >>= 7;
	}
	buf_addc(b, (int)v);
}

static uint64_t
get_varint(struct cursor *c)
{
	uint64_t v = 0;
	int shift;

	for (shift = 0; shift < 64; shift += 7) {
		const unsigned char *b = cur_take(c, 1);

		if (!b)
			return 0;
		v |= (uint64_t)(*b & 0x7f) << shift;
		if (!(*b & 0x80))
			return v;
	}
	c->bad = 1;
	return 0;
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
	size_t i;

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

		if (i) {
			const char *prev = r->reads.r[i - 1].path;

			while (shared < len && prev[shared] == rd->path[shared])
				shared++;
		}
		buf_addc(out, rd->kind);
		put_varint(out, shared);
		put_varint(out, len - shared);
		buf_add(out, rd->path + shared, len - shared);
		if (!zero_digest_kind(rd->kind))
			put_digest(out, rd->d);
	}
}

/* decode_reads_v4: the front-coded reads (version 4) after c.  Two
 * passes: the first checks the bytes and sizes the pool (the expanded
 * paths are bounded: a record whose paths would expand beyond 64 times
 * its size, or any path beyond RECORD_MAX_PATH, is refused), the second
 * fills it.  0 or -1. */
#define RECORD_MAX_PATH ((size_t)1 << 20)

static int
decode_reads_v4(struct cursor *c, struct record *r)
{
	struct cursor start;
	uint64_t nreads, i, shared, len, prev = 0, total = 0;
	size_t limit = (c->n < ((size_t)1 << 24) ? c->n : ((size_t)1 << 24)) * 64 + 4096;
	size_t pl = 0;

	nreads = get_varint(c);
	if (c->bad || nreads > c->n - c->off)
		return -1;
	start = *c;
	for (i = 0; i < nreads; i++) {
		const unsigned char *k = cur_take(c, 1);

		shared = get_varint(c);
		len = get_varint(c);
		if (!k || c->bad || shared > prev || len > RECORD_MAX_PATH ||
			shared + len > RECORD_MAX_PATH || !cur_take(c, (size_t)len))
			return -1;
		if (!zero_digest_kind((char)*k))
			cur_take(c, 16);
		prev = shared + len;
		total += prev + 1;
		if (c->bad || total > limit)
			return -1;
	}
	*c = start;
	r->reads.r = xcalloc(nreads ? (size_t)nreads : 1, sizeof(*r->reads.r));
	r->reads.cap = (size_t)nreads;
	r->reads.pool = xmalloc(total ? (size_t)total : 1);
	for (i = 0; i < nreads; i++) {
		struct read *rd = &r->reads.r[i];
		const unsigned char *k = cur_take(c, 1), *bytes;

		shared = get_varint(c);
		len = get_varint(c);
		bytes = cur_take(c, (size_t)len);
		if (shared)
			memcpy(r->reads.pool + pl, r->reads.r[i - 1].path, (size_t)shared);
		memcpy(r->reads.pool + pl + shared, bytes, (size_t)len);
		r->reads.pool[pl + shared + len] = '\0';
		rd->kind = (char)*k;
		rd->path = r->reads.pool + pl;
		pl += (size_t)(shared + len + 1);
		if (!zero_digest_kind(rd->kind))
			rd->d = get_digest(c);
		r->reads.n++;
	}
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
	size_t i, len = 0, at = 0;
	int present;

	reads_free(out);
	for (i = 0; i < r->reads.n; i++)
		len += strlen(r->reads.r[i].path) + 1;
	out->r = xcalloc(r->reads.n ? r->reads.n : 1, sizeof(*out->r));
	out->cap = r->reads.n;
	out->pool = xmalloc(len ? len : 1);
	for (i = 0; i < r->reads.n; i++) {
		size_t n = strlen(r->reads.r[i].path) + 1;

		memcpy(out->pool + at, r->reads.r[i].path, n);
		out->r[i].kind = r->reads.r[i].kind;
		out->r[i].path = out->pool + at;
		out->r[i].d = eval(&r->reads.r[i], e, &present);
		at += n;
		out->n++;
	}
}
