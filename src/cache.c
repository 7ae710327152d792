/* cache.c - the local store on LMDB.  See cache.h.
 *
 * On disk: one LMDB environment (data.mdb, lock.mdb) in the cache
 * directory, with the named databases "cas", "ac", "atoms", "meta" and
 * "fills".
 * meta["schema"] holds CACHE_SCHEMA_VERSION in decimal; an environment
 * with any other version is refused rather than misread.  CAS keys are the
 * 16 bytes of a digest, hi then lo, big-endian, so key order is digest
 * order.
 *
 * Invariants:
 *  - Every LMDB transaction of this process is begun and ended under a
 *    shared hold of c->lock; the map is resized (mdb_env_set_mapsize) only
 *    under the exclusive hold, which LMDB requires (no transaction open in
 *    the process).  A thread that already holds the lock shared (an open
 *    cache_txn, or inside a cache_each callback) never waits for the
 *    exclusive hold: it gets an error instead of a deadlock.  Shared holds
 *    nest, which relies on glibc's default reader-preferring rwlock.
 *  - The map starts at CACHE_DEFAULT_MAPSIZE of address space (less when
 *    mmap refuses, as under valgrind) and doubles whenever a write finds it
 *    full; the write then starts over in a new transaction.  A batch
 *    (cache_txn) keeps a copy of every change it made so it can be replayed
 *    after growing; it stays all or nothing.  Another process growing the
 *    map shows up as MDB_MAP_RESIZED, answered by adopting its size.
 *  - MDB_NOSYNC: a commit is atomic against a crash of the process (the
 *    pages are in the OS page cache) but reaches the disk only at
 *    cache_sync.  MDB_NOTLS: read transactions are not tied to threads.
 *  - Values handed out are malloc'd copies; LMDB's pointers never leave
 *    this file except through cache_each, for the length of the callback.
 *  - LMDB errors become DM_ECACHE with the text in a per-thread buffer
 *    (cache_errmsg), and also in the diag where the function has one.
 */
/* madvise(MADV_DONTNEED): glibc makes posix_madvise's DONTNEED a no-op. */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <lmdb.h>

#include "cache.h"
#include "fsio.h"
#include "util.h"

#define CACHE_DEFAULT_MAPSIZE ((size_t)16 << 30)
#define CACHE_MIN_MAPSIZE ((size_t)1 << 20)
#define CACHE_FALLBACK_FLOOR ((size_t)64 << 20)
#define CACHE_MAXREADERS 1022
#define CACHE_SCAN_RELEASE ((size_t)256 << 10) /* bytes read or put between map_release */

static const char *const table_names[CACHE_NTABLES] = {"cas", "ac", "atoms", "meta", "fills",
	"stamps"};

struct cache {
	MDB_env *env;
	MDB_dbi dbi[CACHE_NTABLES];
	pthread_rwlock_t lock;
	char *dir;
	unsigned long long ino; /* of data.mdb, to find its map */
	uintptr_t map_lo;       /* the map's address (0: unknown), found at */
	size_t map_len;         /* open and after each resize (exclusive lock) */
};

/* One change; in a batch, key and val point into mem (owned). */
struct op {
	enum cache_table t;
	int del;
	unsigned flags;
	const void *key, *val;
	size_t klen, vlen;
	char *mem;
};

struct cache_txn {
	struct cache *c;
	MDB_txn *txn; /* NULL once the batch has failed */
	struct op *ops;
	size_t nops, cap;
	char *why; /* the failure, repeated by cache_commit */
	size_t unreleased; /* bytes put since the map was last released */
	int borrow;        /* values are the caller's until commit/abort */
};

static _Thread_local char errmsg[512];
static _Thread_local int locks_held;

/* set_err: record a message (with LMDB's text for rc when rc != 0). */
static int set_err(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
set_err(int rc, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
	va_end(ap);
	if (rc) {
		n = strlen(errmsg);
		snprintf(errmsg + n, sizeof(errmsg) - n, ": %s", mdb_strerror(rc));
	}
	return DM_ECACHE;
}

const char *
cache_errmsg(struct cache *c)
{
	(void)c;
	return errmsg;
}

/* report: the last message as an error about dir, when there is a diag. */
static void
report(struct diag *d, const char *dir)
{
	if (d)
		diag_add(d, dir, 0, 0, "%s", errmsg);
}

static void
lock_shared(struct cache *c)
{
	pthread_rwlock_rdlock(&c->lock);
	locks_held++;
}

static void
unlock_shared(struct cache *c)
{
	locks_held--;
	pthread_rwlock_unlock(&c->lock);
}

static size_t
map_size(struct cache *c)
{
	MDB_envinfo info;

	mdb_env_info(c->env, &info);
	return info.me_mapsize;
}

/* map_release: give back the pages of the map this process has touched.
 * LMDB reads through a shared read-only map of data.mdb, and the kernel
 * maps the pages around each one read too, so scanning a table or
 * inserting into a large one leaves most of the file resident in this
 * process.  The pages stay in the kernel's page cache; dropping them from
 * the map only means the next access faults them in again (LMDB never
 * writes through the map: no MDB_WRITEMAP).  Called with the shared lock
 * held, so the map cannot move meanwhile.  The map's address comes from
 * /proc/self/maps (mdb_env_info gives it only for MDB_FIXEDMAP). */
static void
map_release(struct cache *c)
{
	MDB_envinfo info;
	MDB_stat st;
	size_t used;

	/* Only the pages in use can be mapped: walking the page tables of the
	 * whole reserved map (16 GB) would cost a millisecond each time. */
	if (!c->map_lo || mdb_env_info(c->env, &info) || mdb_env_stat(c->env, &st))
		return;
	used = ((size_t)info.me_last_pgno + 1) * st.ms_psize;
	madvise((void *)c->map_lo, used < c->map_len ? used : c->map_len, MADV_DONTNEED);
}

/* map_locate: find the map of data.mdb in /proc/self/maps (mdb_env_info
 * gives its address only for MDB_FIXEDMAP).  Called where the map cannot
 * move meanwhile: at open, and under the exclusive lock after a resize. */
static void
map_locate(struct cache *c)
{
	char line[512];
	FILE *f;

	c->map_lo = 0;
	c->map_len = 0;
	if (!c->ino || !(f = fopen("/proc/self/maps", "r")))
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi, ino;
		const char *name = strrchr(line, '/');

		if (!name || strcmp(name, "/data.mdb\n") != 0)
			continue;
		if (sscanf(line, "%llx-%llx %*s %*s %*s %llu", &lo, &hi, &ino) == 3 &&
			ino == c->ino && hi > lo && hi - lo > c->map_len) {
			c->map_lo = (uintptr_t)lo;
			c->map_len = (size_t)(hi - lo);
		}
	}
	fclose(f);
}

/* grow: double the map unless someone already grew it past seen. */
static int
grow(struct cache *c, size_t seen)
{
	int rc = 0;

	if (locks_held)
		return set_err(MDB_MAP_FULL,
			"cannot grow the map of %s while this thread has a transaction open", c->dir);
	pthread_rwlock_wrlock(&c->lock);
	if (map_size(c) <= seen)
		rc = mdb_env_set_mapsize(c->env, seen * 2);
	map_locate(c);
	pthread_rwlock_unlock(&c->lock);
	if (rc)
		return set_err(rc, "cannot grow the map of %s to %zu bytes", c->dir, seen * 2);
	return 0;
}

/* adopt_size: take the map size another process grew the file to. */
static int
adopt_size(struct cache *c)
{
	int rc;

	if (locks_held)
		return set_err(MDB_MAP_RESIZED,
			"cannot follow the map of %s while this thread has a transaction open", c->dir);
	pthread_rwlock_wrlock(&c->lock);
	rc = mdb_env_set_mapsize(c->env, 0);
	map_locate(c);
	pthread_rwlock_unlock(&c->lock);
	if (rc)
		return set_err(rc, "cannot follow the map size of %s", c->dir);
	return 0;
}

/* txn_start: begin a transaction, holding the lock shared until the
 * caller ends it and calls unlock_shared.  0 or DM_ECACHE. */
static int
txn_start(struct cache *c, unsigned flags, MDB_txn **t)
{
	int rc;

	for (;;) {
		lock_shared(c);
		rc = mdb_txn_begin(c->env, NULL, flags, t);
		if (rc == 0)
			return 0;
		unlock_shared(c);
		if (rc != MDB_MAP_RESIZED)
			return set_err(rc, "cannot begin a transaction on %s", c->dir);
		if (adopt_size(c))
			return DM_ECACHE;
	}
}

static int
check_key(struct cache *c, enum cache_table t, size_t klen)
{
	size_t max = (size_t)mdb_env_get_maxkeysize(c->env);

	if ((int)t < 0 || t >= CACHE_NTABLES)
		return set_err(0, "no cache table number %d", (int)t);
	if (klen == 0 || klen > max)
		return set_err(0, "a key of %zu bytes for table %s: keys are 1 to %zu bytes", klen,
			table_names[t], max);
	return 0;
}

/* apply: one change; an absent key to delete or a present one to add
 * without overwriting count as success.  An LMDB code. */
static int
apply(struct cache *c, MDB_txn *txn, const struct op *o)
{
	MDB_val k = {o->klen, (void *)o->key}, v = {o->vlen, (void *)o->val};
	int rc;

	if (o->del) {
		rc = mdb_del(txn, c->dbi[o->t], &k, NULL);
		return rc == MDB_NOTFOUND ? 0 : rc;
	}
	rc = mdb_put(txn, c->dbi[o->t], &k, &v, o->flags);
	return rc == MDB_KEYEXIST && (o->flags & MDB_NOOVERWRITE) ? 0 : rc;
}

/* run_ops: apply ops in a new write transaction, growing the map and
 * starting over while it is full.  With commit, commit it; otherwise leave
 * it open in *tp, the lock held.  0 or DM_ECACHE. */
static int
run_ops(struct cache *c, const struct op *ops, size_t n, int commit, MDB_txn **tp)
{
	for (;;) {
		MDB_txn *txn;
		size_t i, seen;
		int rc = 0;

		if (txn_start(c, 0, &txn))
			return DM_ECACHE;
		for (i = 0; i < n && !rc; i++)
			rc = apply(c, txn, &ops[i]);
		if (!rc && !commit) {
			*tp = txn;
			return 0;
		}
		if (!rc)
			rc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
		seen = rc == MDB_MAP_FULL ? map_size(c) : 0;
		unlock_shared(c);
		if (rc == 0)
			return 0;
		if (rc != MDB_MAP_FULL)
			return set_err(rc, "cannot write to %s", c->dir);
		if (grow(c, seen))
			return DM_ECACHE;
	}
}

/* mkdir_cache: the parents as mkdir -p does, the directory itself 0755. */
static int
mkdir_cache(const char *dir)
{
	char *p = xstrdup(dir), *slash;
	size_t n = strlen(p);
	int rc = 0, e;

	while (n > 1 && p[n - 1] == '/')
		p[--n] = '\0';
	slash = strrchr(p, '/');
	if (slash && slash != p) {
		*slash = '\0';
		rc = fs_mkdirs(p);
		*slash = '/';
	}
	if (!rc && mkdir(p, 0755) < 0 && errno != EEXIST)
		rc = DM_EIO;
	e = errno;
	free(p);
	errno = e;
	return rc;
}

/* open_tables: create or open the tables and check the schema version. */
static int
open_tables(struct cache *c, struct diag *d)
{
	MDB_val k = {6, "schema"}, v;
	char want[32];
	MDB_txn *txn;
	int i, rc = 0;

	snprintf(want, sizeof(want), "%d", CACHE_SCHEMA_VERSION);
	if (txn_start(c, 0, &txn)) {
		report(d, c->dir);
		return DM_ECACHE;
	}
	for (i = 0; i < CACHE_NTABLES && !rc; i++)
		rc = mdb_dbi_open(txn, table_names[i], MDB_CREATE, &c->dbi[i]);
	if (!rc)
		rc = mdb_get(txn, c->dbi[CACHE_META], &k, &v);
	if (rc == MDB_NOTFOUND) {
		v.mv_size = strlen(want);
		v.mv_data = want;
		rc = mdb_put(txn, c->dbi[CACHE_META], &k, &v, 0);
	} else if (!rc && (v.mv_size != strlen(want) || memcmp(v.mv_data, want, v.mv_size))) {
		int n = v.mv_size > 20 ? 20 : (int)v.mv_size;

		set_err(0, "the cache has schema version %.*s but this dmbuild uses version %s; "
			"delete %s and build again", n, (const char *)v.mv_data, want, c->dir);
		report(d, c->dir);
		mdb_txn_abort(txn);
		unlock_shared(c);
		return DM_ECACHE;
	}
	if (!rc)
		rc = mdb_txn_commit(txn);
	else
		mdb_txn_abort(txn);
	unlock_shared(c);
	if (rc) {
		set_err(rc, "cannot set up the cache tables");
		report(d, c->dir);
		return DM_ECACHE;
	}
	return 0;
}

int
cache_open_size(const char *dir, size_t mapsize, struct cache **out, struct diag *d)
{
	struct cache *c;
	int rc, dead;

	*out = NULL;
	if (mkdir_cache(dir)) {
		set_err(0, "cannot create the cache directory: %s", strerror(errno));
		report(d, dir);
		return DM_EIO;
	}
	if (!mapsize)
		mapsize = CACHE_DEFAULT_MAPSIZE;
	mapsize = (mapsize + CACHE_MIN_MAPSIZE - 1) / CACHE_MIN_MAPSIZE * CACHE_MIN_MAPSIZE;
	c = xcalloc(1, sizeof(*c));
	c->dir = xstrdup(dir);
	pthread_rwlock_init(&c->lock, NULL);
	/* Reserving address space can fail (ulimit -v, valgrind): ask for less;
	 * the map grows on demand anyway. */
	for (;;) {
		rc = mdb_env_create(&c->env);
		if (rc) {
			c->env = NULL;
			break;
		}
		mdb_env_set_maxdbs(c->env, CACHE_NTABLES);
		mdb_env_set_maxreaders(c->env, CACHE_MAXREADERS);
		mdb_env_set_mapsize(c->env, mapsize);
		rc = mdb_env_open(c->env, dir, MDB_NOSYNC | MDB_NOTLS, 0644);
		if (rc == 0)
			break;
		mdb_env_close(c->env);
		c->env = NULL;
		if (rc != ENOMEM || mapsize <= CACHE_FALLBACK_FLOOR)
			break;
		mapsize /= 2;
	}
	if (!rc)
		rc = mdb_reader_check(c->env, &dead);
	if (!rc) {
		char *data = xasprintf("%s/data.mdb", dir);
		struct stat st;

		if (stat(data, &st) == 0)
			c->ino = (unsigned long long)st.st_ino;
		free(data);
		map_locate(c);
	}
	if (rc) {
		set_err(rc, "cannot open the cache");
		report(d, dir);
		cache_close(c);
		return DM_ECACHE;
	}
	if (open_tables(c, d)) {
		cache_close(c);
		return DM_ECACHE;
	}
	*out = c;
	return 0;
}

int
cache_open(const char *dir, struct cache **out, struct diag *d)
{
	return cache_open_size(dir, 0, out, d);
}

void
cache_close(struct cache *c)
{
	if (!c)
		return;
	if (c->env)
		mdb_env_close(c->env);
	pthread_rwlock_destroy(&c->lock);
	free(c->dir);
	free(c);
}

int
cache_sync(struct cache *c)
{
	int rc;

	lock_shared(c);
	rc = mdb_env_sync(c->env, 1);
	unlock_shared(c);
	return rc ? set_err(rc, "cannot flush %s to disk", c->dir) : 0;
}

int
cache_get(struct cache *c, enum cache_table t, const void *key, size_t klen, char **val,
	size_t *vlen)
{
	MDB_val k = {klen, (void *)key}, v;
	MDB_txn *txn;
	int rc;

	*val = NULL;
	*vlen = 0;
	if (check_key(c, t, klen) || txn_start(c, MDB_RDONLY, &txn))
		return DM_ECACHE;
	rc = mdb_get(txn, c->dbi[t], &k, &v);
	if (rc == 0) {
		*val = xmalloc(v.mv_size + 1);
		memcpy(*val, v.mv_data, v.mv_size);
		(*val)[v.mv_size] = '\0';
		*vlen = v.mv_size;
	}
	mdb_txn_abort(txn);
	unlock_shared(c);
	if (rc == MDB_NOTFOUND)
		return DM_ENOTFOUND;
	return rc ? set_err(rc, "cannot read table %s of %s", table_names[t], c->dir) : 0;
}

int
cache_put(struct cache *c, enum cache_table t, const void *key, size_t klen, const void *val,
	size_t vlen)
{
	struct op o = {.t = t, .key = key, .klen = klen, .val = val, .vlen = vlen};

	if (check_key(c, t, klen))
		return DM_ECACHE;
	return run_ops(c, &o, 1, 1, NULL);
}

int
cache_del(struct cache *c, enum cache_table t, const void *key, size_t klen)
{
	struct op o = {.t = t, .del = 1, .key = key, .klen = klen};

	if (check_key(c, t, klen))
		return DM_ECACHE;
	return run_ops(c, &o, 1, 1, NULL);
}

int
cache_begin(struct cache *c, struct cache_txn **out)
{
	MDB_txn *txn;

	*out = NULL;
	if (txn_start(c, 0, &txn))
		return DM_ECACHE;
	*out = xcalloc(1, sizeof(**out));
	(*out)->c = c;
	(*out)->txn = txn;
	return 0;
}

int
cache_begin_borrowing(struct cache *c, struct cache_txn **out)
{
	int r = cache_begin(c, out);

	if (!r)
		(*out)->borrow = 1;
	return r;
}

/* batch_fail: end the batch's transaction and remember why. */
static int
batch_fail(struct cache_txn *x)
{
	if (x->txn) {
		mdb_txn_abort(x->txn);
		x->txn = NULL;
		unlock_shared(x->c);
	}
	if (!x->why)
		x->why = xstrdup(errmsg);
	return DM_ECACHE;
}

/* batch_add: log a copy of o, then apply it; when the map is full, grow
 * it and replay the whole log in a new transaction. */
static int
batch_add(struct cache_txn *x, const struct op *o)
{
	struct cache *c = x->c;
	struct op *p;
	size_t seen;
	int rc;

	if (!x->txn)
		return set_err(0, "%s", x->why);
	if (check_key(c, o->t, o->klen))
		return batch_fail(x);
	if (x->nops == x->cap) {
		x->cap = x->cap ? x->cap * 2 : 8;
		x->ops = xreallocarray(x->ops, x->cap, sizeof(*x->ops));
	}
	p = &x->ops[x->nops++];
	*p = *o;
	/* Kept for a replay after the map grows; a borrowing batch keeps only
	 * the key (values stay the caller's until the commit). */
	p->mem = xmalloc(o->klen + (x->borrow ? 0 : o->vlen) + 1);
	memcpy(p->mem, o->key, o->klen);
	if (o->vlen && !x->borrow)
		memcpy(p->mem + o->klen, o->val, o->vlen);
	p->key = p->mem;
	p->val = x->borrow ? o->val : p->mem + o->klen;
	rc = apply(c, x->txn, p);
	if (rc == 0) {
		x->unreleased += o->klen + o->vlen;
		if (x->unreleased > CACHE_SCAN_RELEASE) {
			map_release(c);
			x->unreleased = 0;
		}
		return 0;
	}
	seen = rc == MDB_MAP_FULL ? map_size(c) : 0;
	mdb_txn_abort(x->txn);
	x->txn = NULL;
	unlock_shared(c);
	if (rc != MDB_MAP_FULL) {
		set_err(rc, "cannot write to %s", c->dir);
		return batch_fail(x);
	}
	if (grow(c, seen) || run_ops(c, x->ops, x->nops, 0, &x->txn))
		return batch_fail(x);
	return 0;
}

static void
batch_free(struct cache_txn *x)
{
	size_t i;

	for (i = 0; i < x->nops; i++)
		free(x->ops[i].mem);
	free(x->ops);
	free(x->why);
	free(x);
}

int
cache_txn_put(struct cache_txn *x, enum cache_table t, const void *key, size_t klen,
	const void *val, size_t vlen)
{
	struct op o = {.t = t, .key = key, .klen = klen, .val = val, .vlen = vlen};

	return batch_add(x, &o);
}

int
cache_txn_del(struct cache_txn *x, enum cache_table t, const void *key, size_t klen)
{
	struct op o = {.t = t, .del = 1, .key = key, .klen = klen};

	return batch_add(x, &o);
}

int
cache_commit(struct cache_txn *x)
{
	struct cache *c = x->c;
	size_t seen;
	int rc;

	if (!x->txn) {
		set_err(0, "%s", x->why ? x->why : "the batch failed");
		batch_free(x);
		return DM_ECACHE;
	}
	rc = mdb_txn_commit(x->txn);
	x->txn = NULL;
	seen = rc == MDB_MAP_FULL ? map_size(c) : 0;
	if (!rc)
		map_release(c);
	unlock_shared(c);
	if (rc == MDB_MAP_FULL)
		rc = grow(c, seen) ? DM_ECACHE : run_ops(c, x->ops, x->nops, 1, NULL);
	else if (rc)
		rc = set_err(rc, "cannot commit to %s", c->dir);
	batch_free(x);
	return rc;
}

void
cache_abort(struct cache_txn *x)
{
	if (!x)
		return;
	if (x->txn) {
		mdb_txn_abort(x->txn);
		unlock_shared(x->c);
	}
	batch_free(x);
}

void
cache_digest_key(struct digest d, unsigned char key[16])
{
	int i;

	for (i = 0; i < 8; i++) {
		key[i] = (unsigned char)(d.hi >> (56 - 8 * i));
		key[8 + i] = (unsigned char)(d.lo >> (56 - 8 * i));
	}
}

int
cache_cas_put(struct cache_txn *x, const void *p, size_t n, struct digest *d)
{
	unsigned char key[16];
	struct digest dg = hash_bytes(p, n);
	struct op o = {.t = CACHE_CAS, .flags = MDB_NOOVERWRITE, .key = key, .klen = sizeof(key),
		.val = p, .vlen = n};

	cache_digest_key(dg, key);
	if (d)
		*d = dg;
	return batch_add(x, &o);
}

int
cache_cas_get(struct cache *c, struct digest d, char **p, size_t *n)
{
	unsigned char key[16];
	char hex[DIGEST_HEX_LEN + 1];
	int rc;

	cache_digest_key(d, key);
	rc = cache_get(c, CACHE_CAS, key, sizeof(key), p, n);
	if (rc)
		return rc;
	if (!digest_eq(hash_bytes(*p, *n), d)) {
		free(*p);
		*p = NULL;
		*n = 0;
		digest_hex(d, hex);
		return set_err(0, "the cache entry %s in %s is corrupt (its bytes hash differently)",
			hex, c->dir);
	}
	return 0;
}

int
cache_each(struct cache *c, enum cache_table t,
	int (*fn)(void *ud, const void *key, size_t klen, const void *val, size_t vlen), void *ud)
{
	return cache_each_range(c, t, NULL, 0, NULL, 0, fn, ud);
}

int
cache_each_range(struct cache *c, enum cache_table t, const void *from, size_t fromlen,
	const void *to, size_t tolen,
	int (*fn)(void *ud, const void *key, size_t klen, const void *val, size_t vlen), void *ud)
{
	MDB_cursor_op op = MDB_FIRST;
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_val k = {fromlen, (void *)from}, v, end = {tolen, (void *)to};
	int rc, ret = 0;

	if ((int)t < 0 || t >= CACHE_NTABLES)
		return set_err(0, "no cache table number %d", (int)t);
	if (txn_start(c, MDB_RDONLY, &txn))
		return DM_ECACHE;
	rc = mdb_cursor_open(txn, c->dbi[t], &cur);
	if (rc == 0) {
		size_t bytes = 0;

		if (from)
			op = MDB_SET_RANGE;
		while ((rc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
			op = MDB_NEXT;
			if (to && mdb_cmp(txn, c->dbi[t], &k, &end) >= 0) {
				rc = MDB_NOTFOUND;
				break;
			}
			ret = fn(ud, k.mv_data, k.mv_size, v.mv_data, v.mv_size);
			if (ret)
				break;
			bytes += k.mv_size + v.mv_size;
			if (bytes > CACHE_SCAN_RELEASE) {
				map_release(c);
				bytes = 0;
			}
		}
		mdb_cursor_close(cur);
	}
	if (rc == MDB_NOTFOUND || ret)
		map_release(c);
	mdb_txn_abort(txn);
	unlock_shared(c);
	if (ret)
		return ret;
	if (rc && rc != MDB_NOTFOUND)
		return set_err(rc, "cannot read table %s of %s", table_names[t], c->dir);
	return 0;
}

/* cas_entry_ok: a CAS key is the digest of its value. */
static int
cas_entry_ok(const MDB_val *k, const MDB_val *v)
{
	unsigned char key[16];

	cache_digest_key(hash_bytes(v->mv_data, v->mv_size), key);
	return k->mv_size == 16 && memcmp(key, k->mv_data, 16) == 0;
}

int
cache_check(struct cache *c, struct diag *d)
{
	char hex[2 * 16 + 1];
	MDB_cursor_op op;
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_val k, v;
	size_t i;
	int t, rc, bad = 0;

	if (txn_start(c, MDB_RDONLY, &txn)) {
		report(d, c->dir);
		return DM_ECACHE;
	}
	for (t = 0; t < CACHE_NTABLES; t++) {
		rc = mdb_cursor_open(txn, c->dbi[t], &cur);
		if (rc == 0) {
			op = MDB_FIRST;
			while ((rc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
				op = MDB_NEXT;
				if (t != CACHE_CAS || cas_entry_ok(&k, &v))
					continue;
				bad++;
				for (i = 0; i < k.mv_size && i < 16; i++)
					snprintf(hex + 2 * i, 3, "%02x", ((unsigned char *)k.mv_data)[i]);
				hex[2 * i] = '\0';
				set_err(0, "table cas: the entry %s does not match its digest", hex);
				report(d, c->dir);
			}
			mdb_cursor_close(cur);
		}
		if (rc != MDB_NOTFOUND) {
			bad++;
			set_err(rc, "cannot read table %s", table_names[t]);
			report(d, c->dir);
		}
	}
	mdb_txn_abort(txn);
	unlock_shared(c);
	return bad ? DM_ECACHE : 0;
}

struct digest
cache_key_digest(const unsigned char key[16])
{
	struct digest d = {0, 0};
	int i;

	for (i = 0; i < 8; i++) {
		d.hi = d.hi << 8 | key[i];
		d.lo = d.lo << 8 | key[8 + i];
	}
	return d;
}
