/* key.c - reads, action keys, records; see key.h for the layout and the
 * rules.  Nothing here touches the file system or the cache. */
#include <stdlib.h>
#include <string.h>

#include "key.h"

static void
reads_add(struct readset *rs, char kind, const char *path, size_t plen, struct digest d)
{
	struct buf k = {0};
	struct read *r;

	if (!rs->seen)
		rs->seen = strmap_new();
	buf_addc(&k, kind);
	buf_add(&k, path, plen);
	if (strmap_get(rs->seen, k.data, k.len)) {
		buf_free(&k);
		return;
	}
	strmap_put(rs->seen, k.data, k.len, rs);
	buf_free(&k);
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 16;
		rs->r = xreallocarray(rs->r, rs->cap, sizeof(*rs->r));
	}
	r = &rs->r[rs->n++];
	r->kind = kind;
	r->path = xstrndup(path, plen);
	r->d = d;
}

/* relpath: the path of a spec node as stored: "@..." under the element. */
static void
relpath(const struct recorder *rc, const char *path, struct buf *out)
{
	if (rc->elem && rc->elem->path) {
		size_t n = strlen(rc->elem->path);

		if (strncmp(path, rc->elem->path, n) == 0 &&
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
	struct buf p = {0};

	if (v == rc->index_val && v) {
		reads_add(rc->rs, 'I', "@index", 6, v->digest);
		return;
	}
	if (v == rc->key_val && v) {
		reads_add(rc->rs, 'K', "@key", 4, v->digest);
		return;
	}
	if (!v || !v->path)
		return;
	relpath(rc, v->path, &p);
	reads_add(rc->rs, how == VAL_USE_VALUE ? 'V' : 'S', p.data, p.len, val_use_digest(v, how));
	buf_free(&p);
}

void
key_record_probe(struct recorder *rc, const struct val *container, const char *key, size_t klen,
	const struct val *found)
{
	struct buf p = {0};
	char *child;
	struct digest zero = {0, 0};

	if (found || !container || !container->path)
		return;
	child = val_child_path(container->path, key, klen);
	relpath(rc, child, &p);
	reads_add(rc->rs, 'M', p.data, p.len, zero);
	buf_free(&p);
	free(child);
}

void
key_record_file(struct recorder *rc, const char *path, int exists, struct digest d)
{
	struct digest zero = {0, 0};

	reads_add(rc->rs, exists ? 'F' : 'N', path, strlen(path), exists ? d : zero);
}

void
key_record_fill(struct recorder *rc, const char *slot, const char *fill)
{
	struct digest zero = {0, 0};

	reads_add(rc->rs, 'L', slot, strlen(slot), fill ? hash_bytes(fill, strlen(fill)) : zero);
}

static int
read_cmp(const void *a, const void *b)
{
	const struct read *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	return c ? c : (x->kind > y->kind) - (x->kind < y->kind);
}

void
reads_finish(struct readset *rs)
{
	strmap_free(rs->seen);
	rs->seen = NULL;
	if (rs->n > 1)
		qsort(rs->r, rs->n, sizeof(*rs->r), read_cmp);
}

void
reads_free(struct readset *rs)
{
	size_t i;

	for (i = 0; i < rs->n; i++)
		free(rs->r[i].path);
	free(rs->r);
	strmap_free(rs->seen);
	memset(rs, 0, sizeof(*rs));
}

struct digest
key_static(const char *canon, const char *out, const char *tmpl)
{
	struct hasher *h = hasher_new();
	struct digest d;

	hasher_add_str(h, "dmbuild-template", 16);
	hasher_add_str(h, DM_VERSION, strlen(DM_VERSION));
	hasher_add_str(h, canon, strlen(canon));
	hasher_add_str(h, out, strlen(out));
	hasher_add_str(h, tmpl, strlen(tmpl));
	d = hasher_final(h);
	hasher_free(h);
	return d;
}

static struct digest
action(struct digest static_key, const struct read *r, size_t n, const struct digest *now)
{
	struct hasher *h = hasher_new();
	struct digest d;
	size_t i;

	hasher_add_digest(h, static_key);
	hasher_add_u64(h, n);
	for (i = 0; i < n; i++) {
		hasher_add(h, &r[i].kind, 1);
		hasher_add_str(h, r[i].path, strlen(r[i].path));
		hasher_add_digest(h, now ? now[i] : r[i].d);
	}
	d = hasher_final(h);
	hasher_free(h);
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

	for (i = 0; i < r->reads.n; i++) {
		const struct read *rd = &r->reads.r[i];
		int present;
		struct digest now = eval(rd, e, &present);
		int was = rd->kind != 'M' && rd->kind != 'N';

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

static void
put_digest(struct buf *b, struct digest d)
{
	buf_put_u64(b, d.hi);
	buf_put_u64(b, d.lo);
}

void
record_encode(const struct record *r, struct buf *out)
{
	size_t i;

	buf_addc(out, 2);
	put_digest(out, r->static_key);
	put_digest(out, r->key);
	put_digest(out, r->out);
	put_digest(out, r->prev);
	buf_put_u64(out, (uint64_t)r->st.mtime_ns);
	buf_put_u64(out, (uint64_t)r->st.size);
	buf_put_u64(out, r->st.ino);
	buf_put_u64(out, r->st.dev);
	buf_addc(out, r->st.exists ? 1 : 0);
	buf_put_u64(out, (uint64_t)r->built_ns);
	buf_put_u32(out, r->stratum);
	buf_put_u32(out, r->flags);
	buf_put_str(out, r->version);
	buf_put_str(out, r->tmpl);
	buf_put_str(out, r->reason);
	buf_put_str(out, r->origin);
	buf_put_str(out, r->checks);
	buf_put_u32(out, (uint32_t)r->reads.n);
	for (i = 0; i < r->reads.n; i++) {
		buf_addc(out, r->reads.r[i].kind);
		buf_put_str(out, r->reads.r[i].path);
		put_digest(out, r->reads.r[i].d);
	}
}

static struct digest
get_digest(struct cursor *c)
{
	struct digest d;

	d.hi = cur_u64(c);
	d.lo = cur_u64(c);
	return d;
}

int
record_decode(const void *p, size_t n, struct record *r)
{
	struct cursor c = {p, n, 0, 0};
	const unsigned char *v;
	uint32_t i, nreads;
	int ver;

	memset(r, 0, sizeof(*r));
	v = cur_take(&c, 1);
	if (!v || (*v != 1 && *v != 2)) /* 1: before check outcomes */
		return -1;
	ver = *v;
	r->static_key = get_digest(&c);
	r->key = get_digest(&c);
	r->out = get_digest(&c);
	r->prev = get_digest(&c);
	r->st.mtime_ns = (int64_t)cur_u64(&c);
	r->st.size = (int64_t)cur_u64(&c);
	r->st.ino = cur_u64(&c);
	r->st.dev = cur_u64(&c);
	v = cur_take(&c, 1);
	r->st.exists = v && *v;
	r->built_ns = (int64_t)cur_u64(&c);
	r->stratum = cur_u32(&c);
	r->flags = cur_u32(&c);
	r->version = cur_str(&c);
	r->tmpl = cur_str(&c);
	r->reason = cur_str(&c);
	r->origin = cur_str(&c);
	r->checks = ver >= 2 ? cur_str(&c) : xstrdup("");
	nreads = cur_u32(&c);
	if (c.bad || nreads > (c.n - c.off) / 21) {
		record_free(r);
		return -1;
	}
	r->reads.r = xcalloc(nreads ? nreads : 1, sizeof(*r->reads.r));
	r->reads.cap = nreads;
	for (i = 0; i < nreads && !c.bad; i++) {
		struct read *rd = &r->reads.r[i];

		v = cur_take(&c, 1);
		rd->kind = v ? (char)*v : 0;
		rd->path = cur_str(&c);
		rd->d = get_digest(&c);
		r->reads.n++;
	}
	if (c.bad || c.off != c.n) {
		record_free(r);
		return -1;
	}
	return 0;
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
	size_t i;
	int present;

	reads_free(out);
	out->r = xcalloc(r->reads.n ? r->reads.n : 1, sizeof(*out->r));
	out->cap = r->reads.n;
	for (i = 0; i < r->reads.n; i++) {
		out->r[i].kind = r->reads.r[i].kind;
		out->r[i].path = xstrdup(r->reads.r[i].path);
		out->r[i].d = eval(&r->reads.r[i], e, &present);
		out->n++;
	}
}
