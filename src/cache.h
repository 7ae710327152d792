/* cache.h - the local store: one LMDB environment under .dmbuild/cache
 * (the only module that includes lmdb.h).
 *
 * Tables (LMDB named databases):
 *  CACHE_CAS    digest (16 bytes) -> bytes          content-addressed store
 *  CACHE_AC     action key (16 bytes) -> record     what an action produced
 *  CACHE_ATOMS  output path -> record               last state of each output
 *  CACHE_META   name -> value                       schema version, stamps
 *  CACHE_FILLS  request key (16 bytes) -> answer    LLM answers, stored the
 *                                                   moment they arrive
 *  CACHE_STAMPS output path -> stamp                the file's stat once
 *                                                   written (kept apart from
 *                                                   the record, which is
 *                                                   committed before the write)
 * Records are opaque byte strings here; their layout belongs to callers.
 * Every value handed out is a malloc'd copy (LMDB's own pointers die with
 * the transaction).  The environment is opened with MDB_NOSYNC for speed;
 * each commit is still atomic against a crash of the process, and
 * cache_sync() flushes to disk at the end of a build.  Write transactions
 * from several threads are serialised by LMDB itself; other processes may
 * open the same directory at the same time (a child of fork() opens its
 * own handle, never uses its parent's).  The map of the file grows by
 * itself when full; that waits until no transaction of the process is
 * open, so keep batches short.
 */
#ifndef DM_CACHE_H
#define DM_CACHE_H

#include <stddef.h>

#include "hash.h"
#include "util.h"

enum cache_table {
	CACHE_CAS,
	CACHE_AC,
	CACHE_ATOMS,
	CACHE_META,
	CACHE_FILLS,
	CACHE_STAMPS,
	CACHE_NTABLES
};

#define CACHE_SCHEMA_VERSION 1

struct cache;     /* an open environment */
struct cache_txn; /* a write transaction */

/* cache_open: open (creating dir and the environment if needed).  An
 * environment of another schema version is an error naming both. */
int cache_open(const char *dir, struct cache **out, struct diag *d);
/* cache_open_size: cache_open with an initial map size in bytes (0: the
 * default); the map grows by doubling when full, so this matters only to
 * tests of that growth. */
int cache_open_size(const char *dir, size_t mapsize, struct cache **out, struct diag *d);
void cache_close(struct cache *c);
/* cache_sync: flush committed transactions to disk. */
int cache_sync(struct cache *c);

/* cache_errmsg: the message of the last DM_ECACHE returned to this thread
 * (kept per thread; "" when there was none). */
const char *cache_errmsg(struct cache *c);

/* Keys are 1 to 511 bytes (LMDB's limit); a longer key is DM_ECACHE. */
/* cache_get: a copy of the value (caller frees; a NUL follows the vlen
 * bytes), DM_ENOTFOUND if absent. */
int cache_get(struct cache *c, enum cache_table t, const void *key, size_t klen, char **val,
	size_t *vlen);
/* cache_put / cache_del: each in its own committed transaction.  Deleting
 * an absent key succeeds. */
int cache_put(struct cache *c, enum cache_table t, const void *key, size_t klen, const void *val,
	size_t vlen);
int cache_del(struct cache *c, enum cache_table t, const void *key, size_t klen);

/* Several changes committed at once (all or nothing).  A thread holds at
 * most one cache_txn and makes no other writes while it is open; after a
 * failed cache_txn_put the batch is dead and cache_commit fails. */
int cache_begin(struct cache *c, struct cache_txn **out);
/* cache_begin_borrowing: a batch that does not copy the values put into
 * it: each must stay valid and unchanged until cache_commit or
 * cache_abort returns (keys are copied). */
int cache_begin_borrowing(struct cache *c, struct cache_txn **out);
int cache_txn_put(struct cache_txn *x, enum cache_table t, const void *key, size_t klen,
	const void *val, size_t vlen);
int cache_txn_del(struct cache_txn *x, enum cache_table t, const void *key, size_t klen);
int cache_commit(struct cache_txn *x); /* frees x, also on failure */
void cache_abort(struct cache_txn *x);

/* cache_each: call fn for every record of table t in key order, inside one
 * read transaction; the pointers are valid only during the call.  fn
 * returns 0 to go on, non-zero to stop (cache_each returns that value).
 * fn may read the cache but must not write to it. */
int cache_each(struct cache *c, enum cache_table t,
	int (*fn)(void *ud, const void *key, size_t klen, const void *val, size_t vlen), void *ud);
/* cache_each_range: cache_each over the keys k with from <= k < to in the
 * table's order (bytewise); from NULL: the first key, to NULL: the end.
 * Ranges of one table may be scanned by several threads at once. */
int cache_each_range(struct cache *c, enum cache_table t, const void *from, size_t fromlen,
	const void *to, size_t tolen,
	int (*fn)(void *ud, const void *key, size_t klen, const void *val, size_t vlen), void *ud);

/* CAS helpers: the key is the digest of the bytes (16 bytes, hi then lo,
 * big-endian).  cache_cas_put stores nothing when the digest is present;
 * cache_cas_get checks the bytes against the digest (DM_ECACHE if not). */
int cache_cas_put(struct cache_txn *x, const void *p, size_t n, struct digest *d);
int cache_cas_get(struct cache *c, struct digest d, char **p, size_t *n);
/* cache_digest_key: the 16-byte key form of a digest (as in CACHE_CAS;
 * also meant for CACHE_AC keys), so that key order is digest order. */
void cache_digest_key(struct digest d, unsigned char key[16]);
/* cache_key_digest: the digest whose key form is key (the inverse). */
struct digest cache_key_digest(const unsigned char key[16]);

/* cache_check: read every table through once and check each CAS entry
 * against its digest; 0 if all is well (for crash-consistency tests). */
int cache_check(struct cache *c, struct diag *d);

#endif
