/* t-cache.c - the LMDB store: round trips, batches, key order, the CAS and
 * its corruption check, schema versions, map growth, several threads,
 * a second process writing while this one reads, and a writer killed with
 * SIGKILL at a random moment.  Each test runs on a fresh mkdtemp
 * directory, removed at the end. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "hash.h"
#include "tap.h"
#include "util.h"

#define SMALL_MAP ((size_t)1 << 20)

static char *
scratch(void)
{
	char *dir = xstrdup("/tmp/t-cache.XXXXXX");

	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp: %s", strerror(errno));
		exit(1);
	}
	return dir;
}

static void
scratch_free(char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);
	struct stat sb;

	ok(system(cmd) == 0 && stat(dir, &sb) < 0, "scratch directory %s removed", dir);
	free(cmd);
	free(dir);
}

/* A record whose value proves it belongs to its key: the key's digest in
 * hex, ':', then the key repeated up to a length that depends on the key. */
static char *
make_value(const char *key, size_t *len)
{
	char hex[DIGEST_HEX_LEN + 1];
	struct digest d = hash_bytes(key, strlen(key));
	struct buf b = {0};
	size_t want = 100 + d.lo % 400;

	digest_hex(d, hex);
	buf_adds(&b, hex);
	buf_addc(&b, ':');
	while (b.len < want)
		buf_adds(&b, key);
	*len = b.len;
	return buf_release(&b);
}

static int
value_ok(const void *key, size_t klen, const void *val, size_t vlen)
{
	char *k = xstrndup(key, klen), *want;
	size_t wlen;
	int r;

	want = make_value(k, &wlen);
	r = wlen == vlen && memcmp(want, val, vlen) == 0;
	free(want);
	free(k);
	return r;
}

static int
put_record(struct cache *c, const char *key)
{
	size_t n;
	char *v = make_value(key, &n);
	int rc = cache_put(c, CACHE_ATOMS, key, strlen(key), v, n);

	free(v);
	return rc;
}

static int
txn_put_record(struct cache_txn *x, const char *key)
{
	size_t n;
	char *v = make_value(key, &n);
	int rc = cache_txn_put(x, CACHE_ATOMS, key, strlen(key), v, n);

	free(v);
	return rc;
}

/* get_record_ok: 1 if key is present with its proper value. */
static int
get_record_ok(struct cache *c, const char *key)
{
	char *v;
	size_t n;
	int r;

	if (cache_get(c, CACHE_ATOMS, key, strlen(key), &v, &n))
		return 0;
	r = value_ok(key, strlen(key), v, n);
	free(v);
	return r;
}

struct scan {
	long n, bad;
	struct buf keys; /* keys seen, joined by ',' */
	int stop_at;
};

static int
scan_fn(void *ud, const void *key, size_t klen, const void *val, size_t vlen)
{
	struct scan *s = ud;

	s->n++;
	if (!value_ok(key, klen, val, vlen))
		s->bad++;
	return 0;
}

static int
keys_fn(void *ud, const void *key, size_t klen, const void *val, size_t vlen)
{
	struct scan *s = ud;

	(void)val;
	(void)vlen;
	if (s->keys.len)
		buf_addc(&s->keys, ',');
	buf_add(&s->keys, key, klen);
	s->n++;
	return s->stop_at && s->n == s->stop_at ? 42 : 0;
}

static void
test_basics(void)
{
	char *top = scratch(), *dir = xasprintf("%s/x/y/cache/", top), *v, *path;
	char big[600];
	struct diag d = {0};
	struct cache *c;
	struct stat sb;
	size_t n;
	int rc;

	rc = cache_open(dir, &c, &d);
	is_int(rc, 0, "open creates the directory and the environment");
	is_int((long long)d.n, 0, "no diagnostics");
	ok(stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode) && (sb.st_mode & 0777) == 0755,
		"cache directory has mode 0755");
	path = xasprintf("%s/data.mdb", dir);
	ok(stat(path, &sb) == 0, "data.mdb exists");
	free(path);

	is_int(cache_get(c, CACHE_AC, "k", 1, &v, &n), DM_ENOTFOUND, "get of a missing key");
	ok(v == NULL && n == 0, "missing key: val NULL, len 0");
	is_int(cache_put(c, CACHE_AC, "k", 1, "value one", 9), 0, "put");
	is_int(cache_get(c, CACHE_AC, "k", 1, &v, &n), 0, "get");
	is_int((long long)n, 9, "length");
	is_str(v, "value one", "value (NUL-terminated copy)");
	free(v);
	is_int(cache_get(c, CACHE_ATOMS, "k", 1, &v, &n), DM_ENOTFOUND, "tables are separate");
	is_int(cache_put(c, CACHE_AC, "k", 1, "2", 1), 0, "overwrite");
	cache_get(c, CACHE_AC, "k", 1, &v, &n);
	is_str(v, "2", "overwritten value");
	free(v);
	is_int(cache_put(c, CACHE_META, "a\0b", 3, "", 0), 0, "binary key, empty value");
	is_int(cache_get(c, CACHE_META, "a\0b", 3, &v, &n), 0, "get binary key");
	ok(n == 0 && v && v[0] == '\0', "empty value comes back empty");
	free(v);
	is_int(cache_get(c, CACHE_META, "a", 1, &v, &n), DM_ENOTFOUND,
		"key prefix before NUL is another key");

	is_int(cache_del(c, CACHE_AC, "k", 1), 0, "del");
	is_int(cache_get(c, CACHE_AC, "k", 1, &v, &n), DM_ENOTFOUND, "deleted");
	is_int(cache_del(c, CACHE_AC, "k", 1), 0, "del of a missing key succeeds");

	memset(big, 'k', sizeof(big));
	is_int(cache_put(c, CACHE_ATOMS, big, 512, "x", 1), DM_ECACHE, "512-byte key refused");
	ok(strstr(cache_errmsg(c), "512 bytes") && strstr(cache_errmsg(c), "1 to 511"),
		"message names the sizes: %s", cache_errmsg(c));
	is_int(cache_put(c, CACHE_ATOMS, big, 511, "x", 1), 0, "511-byte key accepted");
	is_int(cache_put(c, CACHE_ATOMS, "", 0, "x", 1), DM_ECACHE, "empty key refused");
	is_int(cache_get(c, (enum cache_table)7, "k", 1, &v, &n), DM_ECACHE, "bad table refused");
	is_int(cache_sync(c), 0, "sync");
	cache_close(c);

	is_int(cache_open(dir, &c, &d), 0, "reopen");
	is_int(cache_get(c, CACHE_ATOMS, big, 511, &v, &n), 0, "data survives close and reopen");
	is_str(v, "x", "same value");
	free(v);
	is_int(cache_check(c, &d), 0, "cache_check passes");
	cache_close(c);
	diag_free(&d);
	free(dir);
	scratch_free(top);
}

static void
test_batches(void)
{
	char *dir = scratch(), *v, big[600];
	struct cache_txn *x;
	struct cache *c;
	struct scan s = {0};
	size_t n;

	cache_open(dir, &c, NULL);
	cache_put(c, CACHE_AC, "old", 3, "o", 1);
	is_int(cache_begin(c, &x), 0, "begin");
	is_int(cache_txn_put(x, CACHE_AC, "a", 1, "A", 1), 0, "txn put a");
	is_int(cache_txn_put(x, CACHE_AC, "b", 1, "B", 1), 0, "txn put b");
	is_int(cache_txn_del(x, CACHE_AC, "old", 3), 0, "txn del old");
	is_int(cache_txn_del(x, CACHE_AC, "never", 5), 0, "txn del of a missing key");
	is_int(cache_get(c, CACHE_AC, "a", 1, &v, &n), DM_ENOTFOUND,
		"uncommitted change invisible to a reader");
	is_int(cache_get(c, CACHE_AC, "old", 3, &v, &n), 0, "uncommitted delete invisible");
	free(v);
	is_int(cache_commit(x), 0, "commit");
	is_int(cache_get(c, CACHE_AC, "a", 1, &v, &n), 0, "a visible after commit");
	free(v);
	is_int(cache_get(c, CACHE_AC, "old", 3, &v, &n), DM_ENOTFOUND, "old deleted by commit");

	cache_begin(c, &x);
	cache_txn_put(x, CACHE_AC, "c", 1, "C", 1);
	cache_txn_del(x, CACHE_AC, "a", 1);
	cache_abort(x);
	is_int(cache_get(c, CACHE_AC, "c", 1, &v, &n), DM_ENOTFOUND, "aborted put not stored");
	is_int(cache_get(c, CACHE_AC, "a", 1, &v, &n), 0, "aborted delete not applied");
	free(v);

	memset(big, 'z', sizeof(big));
	cache_begin(c, &x);
	is_int(cache_txn_put(x, CACHE_AC, "d", 1, "D", 1), 0, "put d in a batch that will fail");
	is_int(cache_txn_put(x, CACHE_AC, big, 600, "x", 1), DM_ECACHE, "a bad put fails");
	is_int(cache_txn_put(x, CACHE_AC, "e", 1, "E", 1), DM_ECACHE, "the batch is dead after it");
	ok(strstr(cache_errmsg(c), "600 bytes") != NULL, "and says why: %s", cache_errmsg(c));
	is_int(cache_commit(x), DM_ECACHE, "commit of a failed batch fails");
	ok(strstr(cache_errmsg(c), "600 bytes") != NULL, "commit repeats the first error");
	is_int(cache_get(c, CACHE_AC, "d", 1, &v, &n), DM_ENOTFOUND, "all or nothing: d not stored");
	is_int(cache_put(c, CACHE_AC, "f", 1, "F", 1), 0, "writes work after a failed batch");

	cache_put(c, CACHE_ATOMS, "k3", 2, "", 0);
	cache_put(c, CACHE_ATOMS, "k10", 3, "", 0);
	cache_put(c, CACHE_ATOMS, "k1", 2, "", 0);
	cache_put(c, CACHE_ATOMS, "j", 1, "", 0);
	cache_put(c, CACHE_ATOMS, "k2", 2, "", 0);
	is_int(cache_each(c, CACHE_ATOMS, keys_fn, &s), 0, "cache_each over all");
	is_str(s.keys.data, "j,k1,k10,k2,k3", "keys come in byte order");
	buf_free(&s.keys);
	memset(&s, 0, sizeof(s));
	s.stop_at = 2;
	is_int(cache_each(c, CACHE_ATOMS, keys_fn, &s), 42, "fn's non-zero value stops and returns");
	is_str(s.keys.data, "j,k1", "stopped after two");
	buf_free(&s.keys);
	memset(&s, 0, sizeof(s));
	is_int(cache_each(c, CACHE_CAS, keys_fn, &s), 0, "cache_each of an empty table");
	is_int(s.n, 0, "no calls");
	cache_close(c);
	scratch_free(dir);
}

struct cas_scan {
	int n, in_order, keys_ok;
	unsigned char last[16];
};

static int
cas_fn(void *ud, const void *key, size_t klen, const void *val, size_t vlen)
{
	struct cas_scan *s = ud;
	unsigned char want[16];

	cache_digest_key(hash_bytes(val, vlen), want);
	if (klen != 16 || memcmp(key, want, 16) != 0)
		s->keys_ok = 0;
	if (s->n && memcmp(s->last, key, 16) >= 0)
		s->in_order = 0;
	memcpy(s->last, key, 16);
	s->n++;
	return 0;
}

static int
digest_cmp(const void *a, const void *b)
{
	const struct digest *x = a, *y = b;

	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static void
test_cas(void)
{
	char *dir = scratch(), *p;
	struct digest dg, dg2, ds[51];
	struct cas_scan s = {0, 1, 1, {0}};
	struct diag d = {0};
	struct cache_txn *x;
	struct cache *c;
	unsigned char key[16], next[16];
	char name[32];
	size_t n;
	int i, rc, digest_ordered = 1;

	cache_open(dir, &c, NULL);
	cache_begin(c, &x);
	is_int(cache_cas_put(x, "hello world", 11, &dg), 0, "cas put");
	ok(digest_eq(dg, hash_bytes("hello world", 11)), "cas put returns the digest of the bytes");
	is_int(cache_cas_put(x, "hello world", 11, &dg2), 0, "cas put of the same bytes again");
	ok(digest_eq(dg, dg2), "same digest");
	for (i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "blob %d", i);
		cache_cas_put(x, name, strlen(name), NULL);
	}
	is_int(cache_commit(x), 0, "commit");
	is_int(cache_cas_get(c, dg, &p, &n), 0, "cas get");
	ok(n == 11 && memcmp(p, "hello world", 11) == 0, "cas round trip");
	free(p);
	is_int(cache_cas_get(c, hash_bytes("absent", 6), &p, &n), DM_ENOTFOUND, "cas get missing");

	cache_digest_key(dg, key);
	ok(key[0] == (unsigned char)(dg.hi >> 56) && key[7] == (unsigned char)dg.hi &&
			key[8] == (unsigned char)(dg.lo >> 56) && key[15] == (unsigned char)dg.lo,
		"key is hi then lo, big-endian");
	cache_begin(c, &x);
	cache_cas_put(x, "hello world", 11, NULL);
	cache_commit(x);
	is_int(cache_each(c, CACHE_CAS, cas_fn, &s), 0, "walk the cas");
	is_int(s.n, 51, "51 distinct blobs stored once each");
	ok(s.keys_ok, "every cas key is the digest of its value");
	ok(s.in_order, "cas keys strictly ascending");
	/* Key order is digest order: sort the digests numerically (hi, then
	 * lo) and check that their keys come out in ascending byte order. */
	for (i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "blob %d", i);
		ds[i] = hash_bytes(name, strlen(name));
	}
	ds[50] = dg;
	qsort(ds, 51, sizeof(ds[0]), digest_cmp);
	for (i = 0; i < 51; i++) {
		cache_digest_key(ds[i], next);
		if (i && memcmp(key, next, 16) >= 0)
			digest_ordered = 0;
		memcpy(key, next, 16);
	}
	ok(digest_ordered, "byte order of keys equals numeric order of digests");

	/* Corruption: wrong bytes stored under a digest. */
	dg = hash_bytes("good bytes", 10);
	cache_digest_key(dg, key);
	is_int(cache_put(c, CACHE_CAS, key, 16, "evil bytes", 10), 0, "store wrong bytes under a digest");
	rc = cache_cas_get(c, dg, &p, &n);
	is_int(rc, DM_ECACHE, "cas get detects the corruption");
	ok(p == NULL && n == 0, "nothing handed out");
	ok(strstr(cache_errmsg(c), "corrupt") != NULL, "message: %s", cache_errmsg(c));
	rc = cache_check(c, &d);
	is_int(rc, DM_ECACHE, "cache_check finds the corrupt entry");
	is_int((long long)d.n, 1, "one diagnostic");
	if (d.n)
		ok(strstr(d.items[0].msg, "does not match its digest") != NULL, "diag: %s",
			d.items[0].msg);
	diag_free(&d);
	cache_del(c, CACHE_CAS, key, 16);
	is_int(cache_check(c, &d), 0, "clean again after deleting it");
	cache_close(c);
	scratch_free(dir);
}

static void
test_schema(void)
{
	char *dir = scratch(), *want;
	struct diag d = {0};
	struct cache *c;
	char *v;
	size_t n;

	is_int(cache_open(dir, &c, &d), 0, "open a new environment");
	is_int(cache_get(c, CACHE_META, "schema", 6, &v, &n), 0, "schema recorded in meta");
	is_str(v, "1", "schema version 1");
	free(v);
	cache_put(c, CACHE_META, "schema", 6, "0", 1);
	cache_close(c);
	c = (struct cache *)&d;
	is_int(cache_open(dir, &c, &d), DM_ECACHE, "another schema version is refused");
	ok(c == NULL, "no handle");
	is_int((long long)d.nerrors, 1, "one error");
	want = xasprintf("the cache has schema version 0 but this dmbuild uses version 1; "
			 "delete %s and build again",
		dir);
	is_str(d.n ? d.items[0].msg : NULL, want, "the error names both versions and what to do");
	is_str(d.n ? d.items[0].file : NULL, dir, "and the directory");
	free(want);
	diag_free(&d);
	is_int(cache_open(dir, &c, NULL), DM_ECACHE, "the same without a diag");
	ok(strstr(cache_errmsg(NULL), "schema version 0") != NULL, "cache_errmsg has it: %s",
		cache_errmsg(NULL));
	scratch_free(dir);
}

static void
test_open_errors(void)
{
	char *top = scratch(), *path;
	struct diag d = {0};
	struct cache *c;
	int rc;

	path = xasprintf("%s/file", top);
	fclose(fopen(path, "w"));
	free(path);
	path = xasprintf("%s/file/cache", top);
	rc = cache_open(path, &c, &d);
	is_int(rc, DM_EIO, "cache under a regular file: DM_EIO");
	is_str(d.n ? d.items[0].msg : NULL, "cannot create the cache directory: Not a directory",
		"message says why");
	free(path);
	diag_free(&d);

	path = xasprintf("%s/bad", top);
	mkdir(path, 0755);
	free(path);
	path = xasprintf("%s/bad/data.mdb", top);
	{
		FILE *f = fopen(path, "w");
		int i;

		for (i = 0; i < 1000; i++)
			fputs("this is not an LMDB file\n", f);
		fclose(f);
	}
	free(path);
	path = xasprintf("%s/bad", top);
	rc = cache_open(path, &c, &d);
	is_int(rc, DM_ECACHE, "garbage data.mdb: DM_ECACHE");
	ok(d.n && strstr(d.items[0].msg, "cannot open the cache: MDB_INVALID") != NULL,
		"message carries LMDB's text: %s", d.n ? d.items[0].msg : "(none)");
	free(path);
	diag_free(&d);
	scratch_free(top);
}

/* A process limited to 4 GiB of address space still opens the cache: the
 * map asks for less.  (Not under ASan, whose shadow memory needs more.) */
static void
test_small_address_space(void)
{
#ifdef __SANITIZE_ADDRESS__
	ok(1, "# SKIP address-space limit under AddressSanitizer");
#else
	char *dir = scratch();
	int status = -1;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct rlimit rl = {(rlim_t)4 << 30, (rlim_t)4 << 30};
		struct cache *c;
		char *v;
		size_t n;
		int rc;

		if (setrlimit(RLIMIT_AS, &rl) < 0 || cache_open(dir, &c, NULL))
			_exit(3);
		rc = cache_put(c, CACHE_AC, "k", 1, "v", 1) || cache_get(c, CACHE_AC, "k", 1, &v, &n);
		if (!rc)
			free(v);
		cache_close(c);
		free(dir);
		_exit(rc ? 4 : 0);
	}
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		"with 4 GiB of address space the cache opens and works (status %d)", status);
	scratch_free(dir);
#endif
}

static int
write_in_each(void *ud, const void *key, size_t klen, const void *val, size_t vlen)
{
	struct cache *c = ud;
	char *blob = xcalloc(1, 3 << 20);
	int rc;

	(void)val;
	(void)vlen;
	rc = cache_put(c, CACHE_AC, key, klen, blob, 3 << 20);
	free(blob);
	return rc == DM_ECACHE ? 1 : 2;
}

static void
test_growth(void)
{
	char *dir = scratch(), key[32], *v, *path, *blob;
	struct cache_txn *x;
	struct cache *c;
	struct digest dg;
	struct stat sb;
	size_t n;
	int i, fails = 0, bad = 0;

	is_int(cache_open_size(dir, SMALL_MAP, &c, NULL), 0, "open with a 1 MiB map");
	blob = xmalloc(20000);
	for (i = 0; i < 200; i++) {
		memset(blob, 'a' + i % 26, 20000);
		snprintf(key, sizeof(key), "single%03d", i);
		fails += cache_put(c, CACHE_AC, key, strlen(key), blob, 20000) != 0;
	}
	is_int(fails, 0, "200 puts of 20 kB each (4 MB) grow the map");
	cache_begin(c, &x);
	for (i = 0; i < 150; i++) {
		memset(blob, 'A' + i % 26, 20000);
		snprintf(key, sizeof(key), "batch%03d", i);
		fails += cache_txn_put(x, CACHE_AC, key, strlen(key), blob, 20000) != 0;
	}
	is_int(fails, 0, "a batch of 150 x 20 kB keeps going through growth");
	is_int(cache_commit(x), 0, "and commits");
	for (i = 0; i < 200; i++) {
		snprintf(key, sizeof(key), "single%03d", i);
		if (cache_get(c, CACHE_AC, key, strlen(key), &v, &n) || n != 20000 ||
			v[0] != 'a' + i % 26 || v[19999] != 'a' + i % 26)
			bad++;
		free(v);
	}
	for (i = 0; i < 150; i++) {
		snprintf(key, sizeof(key), "batch%03d", i);
		if (cache_get(c, CACHE_AC, key, strlen(key), &v, &n) || n != 20000 ||
			v[0] != 'A' + i % 26 || v[19999] != 'A' + i % 26)
			bad++;
		free(v);
	}
	is_int(bad, 0, "all 350 values read back, the batch's replayed ones too");
	{
		/* A borrowing batch through growth: the values are the caller's
		 * (here 150 distinct buffers) and are replayed from them. */
		char **vals = xcalloc(150, sizeof(*vals));

		cache_close(c);
		is_int(cache_open_size(dir, SMALL_MAP, &c, NULL), 0, "reopen with a 1 MiB map");
		is_int(cache_begin_borrowing(c, &x), 0, "a borrowing batch");
		for (i = 0; i < 150; i++) {
			vals[i] = xmalloc(20000);
			memset(vals[i], '0' + i % 10, 20000);
			snprintf(key, sizeof(key), "borrow%03d", i);
			fails += cache_txn_put(x, CACHE_AC, key, strlen(key), vals[i], 20000) != 0;
		}
		is_int(fails, 0, "150 x 20 kB borrowed, through growth");
		is_int(cache_commit(x), 0, "commits");
		for (i = 0; i < 150; i++) {
			snprintf(key, sizeof(key), "borrow%03d", i);
			if (cache_get(c, CACHE_AC, key, strlen(key), &v, &n) || n != 20000 ||
				v[0] != '0' + i % 10 || v[19999] != '0' + i % 10)
				bad++;
			free(v);
			free(vals[i]);
		}
		free(vals);
		is_int(bad, 0, "every borrowed value reads back");
	}
	path = xasprintf("%s/data.mdb", dir);
	ok(stat(path, &sb) == 0 && sb.st_size > (off_t)(6 << 20), "data.mdb holds more than 6 MB");
	free(path);
	free(blob);

	/* A batch whose commit runs out of room. */
	blob = xmalloc(12 << 20);
	memset(blob, 'q', 12 << 20);
	cache_begin(c, &x);
	cache_cas_put(x, blob, 12 << 20, &dg);
	is_int(cache_commit(x), 0, "a 12 MB blob in a batch");
	is_int(cache_cas_get(c, dg, &v, &n), 0, "reads back");
	ok(n == (12 << 20) && v[0] == 'q' && v[n - 1] == 'q', "intact");
	free(v);
	free(blob);
	cache_close(c);

	is_int(cache_open_size(dir, SMALL_MAP, &c, NULL), 0, "reopen asking for 1 MiB");
	is_int(cache_get(c, CACHE_AC, "batch149", 8, &v, &n), 0, "the map covers the data anyway");
	free(v);
	cache_close(c);
	scratch_free(dir);

	dir = scratch();
	cache_open_size(dir, SMALL_MAP, &c, NULL);
	cache_put(c, CACHE_ATOMS, "x", 1, "", 0);
	is_int(cache_each(c, CACHE_ATOMS, write_in_each, c), 1,
		"growing inside cache_each fails instead of deadlocking");
	ok(strstr(cache_errmsg(c), "transaction open") != NULL, "message: %s", cache_errmsg(c));
	is_int(cache_get(c, CACHE_AC, "x", 1, &v, &n), DM_ENOTFOUND, "nothing half-written");
	cache_close(c);
	scratch_free(dir);
}

#define NTHREADS 4
#define PER_THREAD 1000

struct worker {
	struct cache *c;
	int id, fails;
};

static atomic_int writers_left;

static void *
writer_main(void *arg)
{
	struct worker *w = arg;
	struct cache_txn *x = NULL;
	char key[32];
	int i;

	for (i = 0; i < PER_THREAD; i++) {
		snprintf(key, sizeof(key), "t%d-%04d", w->id, i);
		if (w->id % 2 == 0) {
			w->fails += put_record(w->c, key) != 0;
			continue;
		}
		/* odd threads: batches of 10 */
		if (i % 10 == 0 && cache_begin(w->c, &x))
			w->fails++;
		w->fails += txn_put_record(x, key) != 0;
		if (i % 10 == 9)
			w->fails += cache_commit(x) != 0;
	}
	atomic_fetch_sub(&writers_left, 1);
	return NULL;
}

struct reader {
	struct cache *c;
	long rounds, bad, errors;
};

static void *
reader_main(void *arg)
{
	struct reader *r = arg;

	while (atomic_load(&writers_left) > 0) {
		struct scan s = {0};
		size_t n;
		char *v;
		int rc;

		if (cache_each(r->c, CACHE_ATOMS, scan_fn, &s))
			r->errors++;
		r->bad += s.bad;
		rc = cache_get(r->c, CACHE_ATOMS, "t1-0005", 7, &v, &n);
		if (rc == 0 && !value_ok("t1-0005", 7, v, n))
			r->bad++;
		else if (rc && rc != DM_ENOTFOUND)
			r->errors++;
		free(v);
		r->rounds++;
	}
	return NULL;
}

static void
test_threads(void)
{
	char *dir = scratch(), key[32];
	pthread_t th[NTHREADS], rth;
	struct worker w[NTHREADS];
	struct reader r = {0};
	struct scan s = {0};
	struct diag d = {0};
	struct cache *c;
	int i, j, fails = 0, missing = 0;

	cache_open_size(dir, SMALL_MAP, &c, NULL);
	r.c = c;
	atomic_store(&writers_left, NTHREADS);
	for (i = 0; i < NTHREADS; i++) {
		w[i].c = c;
		w[i].id = i;
		w[i].fails = 0;
		pthread_create(&th[i], NULL, writer_main, &w[i]);
	}
	pthread_create(&rth, NULL, reader_main, &r);
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		fails += w[i].fails;
	}
	pthread_join(rth, NULL);
	is_int(fails, 0, "%d threads x %d records (puts and batches), map growing: no failure",
		NTHREADS, PER_THREAD);
	note("reader made %ld passes", r.rounds);
	is_int(r.errors, 0, "concurrent reader: no errors");
	is_int(r.bad, 0, "concurrent reader: every record it saw was whole");
	for (i = 0; i < NTHREADS; i++)
		for (j = 0; j < PER_THREAD; j++) {
			snprintf(key, sizeof(key), "t%d-%04d", i, j);
			missing += !get_record_ok(c, key);
		}
	is_int(missing, 0, "all %d records present and intact", NTHREADS * PER_THREAD);
	cache_each(c, CACHE_ATOMS, scan_fn, &s);
	is_int(s.n, NTHREADS * PER_THREAD, "and nothing else");
	is_int(cache_check(c, &d), 0, "cache_check passes");
	diag_free(&d);
	cache_close(c);
	scratch_free(dir);
}

#define CHILD_RECORDS 3000

static void
test_two_processes(void)
{
	char *dir = scratch(), key[32];
	struct cache *c;
	struct scan s;
	long rounds = 0, bad = 0, errors = 0, maxseen = 0;
	long partial = 0;
	int status = -1, done = 0, i, missing = 0, go[2];
	pid_t pid;

	if (pipe(go) < 0) {
		ok(0, "pipe");
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct cache_txn *x = NULL;
		int fails = 0;
		char b;

		close(go[1]);
		if (cache_open_size(dir, SMALL_MAP, &c, NULL))
			_exit(3);
		/* Start writing once the parent has the environment open. */
		if (read(go[0], &b, 1) != 1)
			_exit(5);
		for (i = 0; i < CHILD_RECORDS; i++) {
			snprintf(key, sizeof(key), "child-%05d", i);
			if (i % 20 == 0)
				fails += cache_begin(c, &x) != 0;
			fails += txn_put_record(x, key) != 0;
			if (i % 20 == 19)
				fails += cache_commit(x) != 0;
		}
		cache_close(c);
		free(dir);
		_exit(fails ? 4 : 0);
	}
	ok(pid > 0, "fork a writer process");
	close(go[0]);
	if (cache_open_size(dir, SMALL_MAP, &c, NULL)) {
		ok(0, "parent opens the same environment: %s", cache_errmsg(NULL));
		close(go[1]);
		waitpid(pid, &status, 0);
		scratch_free(dir);
		return;
	}
	if (write(go[1], "g", 1) != 1)
		ok(0, "start the child");
	close(go[1]);
	while (!done) {
		done = waitpid(pid, &status, WNOHANG) == pid;
		memset(&s, 0, sizeof(s));
		if (cache_each(c, CACHE_ATOMS, scan_fn, &s)) {
			errors++;
			note("reader error: %s", cache_errmsg(c));
		}
		bad += s.bad;
		if (s.n % 20)
			bad++; /* a batch seen half committed */
		if (s.n < maxseen)
			bad++;
		partial += s.n > 0 && s.n < CHILD_RECORDS;
		maxseen = s.n;
		rounds++;
	}
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child wrote %d records (status %d)",
		CHILD_RECORDS, status);
	note("parent read %ld times while the child wrote, %ld of them mid-way", rounds, partial);
	is_int(errors, 0, "parent reads failed never (map grown by the other process)");
	is_int(bad, 0, "parent saw only whole records, whole batches, never fewer than before");
	for (i = 0; i < CHILD_RECORDS; i++) {
		snprintf(key, sizeof(key), "child-%05d", i);
		missing += !get_record_ok(c, key);
	}
	is_int(missing, 0, "parent reads all of the child's records");
	is_int(cache_put(c, CACHE_AC, "parent", 6, "p", 1), 0, "parent writes after the child grew the map");
	cache_close(c);
	scratch_free(dir);
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* crash_child: write batches forever (each an ATOMS record and a CAS copy
 * of its value), reporting each committed index on fd. */
static void
crash_child(const char *dir, int round, int fd)
{
	struct cache_txn *x;
	struct cache *c;
	char key[32];
	int i;

	if (cache_open_size(dir, SMALL_MAP, &c, NULL))
		_exit(3);
	for (i = 0; i < 10000000; i++) {
		size_t n;
		char *v;

		snprintf(key, sizeof(key), "r%d-%07d", round, i);
		v = make_value(key, &n);
		if (cache_begin(c, &x) || cache_txn_put(x, CACHE_ATOMS, key, strlen(key), v, n) ||
			cache_cas_put(x, v, n, NULL) || cache_commit(x))
			_exit(4);
		free(v);
		if (write(fd, &i, sizeof(i)) != sizeof(i))
			_exit(5);
	}
	_exit(0);
}

static void
test_sigkill(void)
{
	char *dir = scratch(), key[32];
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	int round;

	note("SIGKILL test seed %u", seed);
	srand(seed);
	for (round = 0; round < 6; round++) {
		int fds[2], status, *done = NULL, x, killed;
		size_t ndone = 0, cap = 0, j;
		long long deadline;
		struct diag d = {0};
		struct cache *c;
		struct scan s = {0};
		long delay = 20 + rand() % 180, missing = 0;
		pid_t pid;

		if (pipe(fds) < 0) {
			ok(0, "pipe");
			break;
		}
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			close(fds[0]);
			crash_child(dir, round, fds[1]);
		}
		close(fds[1]);
		deadline = now_ms() + delay;
		/* Drain the reports until the deadline so the child never blocks. */
		for (;;) {
			long long left = deadline - now_ms();
			struct pollfd pfd = {fds[0], POLLIN, 0};

			if (left <= 0)
				break;
			if (poll(&pfd, 1, (int)left) > 0) {
				if (read(fds[0], &x, sizeof(x)) != sizeof(x))
					break;
				if (ndone == cap) {
					cap = cap ? cap * 2 : 1024;
					done = xreallocarray(done, cap, sizeof(*done));
				}
				done[ndone++] = x;
			}
		}
		killed = kill(pid, SIGKILL) == 0;
		waitpid(pid, &status, 0);
		while (read(fds[0], &x, sizeof(x)) == sizeof(x)) {
			if (ndone == cap) {
				cap = cap ? cap * 2 : 1024;
				done = xreallocarray(done, cap, sizeof(*done));
			}
			done[ndone++] = x;
		}
		close(fds[0]);
		ok(killed && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
			"round %d: writer killed after %ld ms, %zu commits reported", round, delay, ndone);
		if (cache_open_size(dir, SMALL_MAP, &c, &d)) {
			ok(0, "round %d: reopen after the crash", round);
			diag_print(&d, stdout);
			diag_free(&d);
			free(done);
			continue;
		}
		is_int(cache_check(c, &d), 0, "round %d: reopened; cache_check passes", round);
		diag_free(&d);
		is_int(cache_each(c, CACHE_ATOMS, scan_fn, &s), 0, "round %d: walk all records", round);
		is_int(s.bad, 0, "round %d: all %ld records intact", round, s.n);
		for (j = 0; j < ndone; j++) {
			snprintf(key, sizeof(key), "r%d-%07d", round, done[j]);
			missing += !get_record_ok(c, key);
		}
		is_int(missing, 0, "round %d: every reported commit is there", round);
		cache_close(c);
		free(done);
	}
	scratch_free(dir);
}

static void
test_key_form(void)
{
	struct digest d = hash_bytes("round trip", 10), back;
	unsigned char k[16];

	cache_digest_key(d, k);
	back = cache_key_digest(k);
	ok(digest_eq(back, d), "cache_key_digest inverts cache_digest_key");
	ok(k[0] == (unsigned char)(d.hi >> 56) && k[15] == (unsigned char)d.lo,
		"the key form is big-endian, high half first");
}

/* map_rss_kib: the resident size of the maps of DIR/data.mdb, from
 * /proc/self/smaps (the map alone: heap growth, or a sanitizer's
 * quarantine, does not count). */
static long
map_rss_kib(const char *dir)
{
	char line[4096], *want = xasprintf("%s/data.mdb", dir);
	long kib = 0;
	int in = 0;
	FILE *f = fopen("/proc/self/smaps", "r");

	while (f && fgets(line, sizeof(line), f)) {
		size_t n = strlen(line);
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
			/* a mapping header: ADDR-ADDR PERMS OFF DEV INODE [PATH] */
			while (n && (line[n - 1] == '\n' || line[n - 1] == ' '))
				line[--n] = '\0';
			in = n >= strlen(want) && strcmp(line + n - strlen(want), want) == 0;
		} else if (in && strncmp(line, "Rss:", 4) == 0) {
			kib += strtol(line + 4, NULL, 10);
		}
	}
	if (f)
		fclose(f);
	free(want);
	return kib;
}

static int
count_bytes(void *ud, const void *key, size_t klen, const void *val, size_t vlen)
{
	size_t *total = ud;
	const unsigned char *v = val;
	size_t i;

	(void)key;
	for (i = 0; i < vlen; i += 4096) /* touch every page of the value */
		*total += v[i] ? 1 : 0;
	*total += klen + vlen;
	return 0;
}

static int
collect_keys(void *ud, const void *key, size_t klen, const void *val, size_t vlen)
{
	(void)val;
	(void)vlen;
	buf_add(ud, key, klen);
	buf_addc(ud, ' ');
	return 0;
}

/* cache_each_range: [from, to) in key order, open at either end. */
static void
test_ranges(void)
{
	char *dir = scratch();
	struct cache *c = NULL;
	struct cache_txn *x;
	struct buf got = {0};
	int i;

	is_int(cache_open(dir, &c, NULL), 0, "open");
	cache_begin(c, &x);
	for (i = 0; i < 30; i++) {
		char key[8];

		snprintf(key, sizeof(key), "k%02d", i);
		cache_txn_put(x, CACHE_ATOMS, key, 3, "v", 1);
	}
	cache_commit(x);
	cache_each_range(c, CACHE_ATOMS, "k10", 3, "k14", 3, collect_keys, &got);
	is_str(got.data, "k10 k11 k12 k13 ", "[k10, k14)");
	buf_clear(&got);
	cache_each_range(c, CACHE_ATOMS, NULL, 0, "k03", 3, collect_keys, &got);
	is_str(got.data, "k00 k01 k02 ", "from the start to k03");
	buf_clear(&got);
	cache_each_range(c, CACHE_ATOMS, "k275", 4, NULL, 0, collect_keys, &got);
	is_str(got.data, "k28 k29 ", "from between two keys to the end");
	buf_clear(&got);
	is_int(cache_each_range(c, CACHE_ATOMS, "k40", 3, NULL, 0, collect_keys, &got), 0,
		"a range past the last key");
	ok(got.len == 0, "is empty");
	buf_free(&got);
	cache_close(c);
	scratch_free(dir);
}

/* Reading 48 MB through the map, or writing it in batches, does not leave
 * it resident in the process: the pages are given back as it goes. */
static void
test_map_released(void)
{
	char *dir = scratch();
	struct cache *c = NULL;
	struct cache_txn *x;
	char *val = xmalloc(6000);
	size_t i, b, total = 0;
	long before, after;

	memset(val, 'v', 6000);
	is_int(cache_open(dir, &c, NULL), 0, "open");
	for (b = 0; b < 8; b++) {
		cache_begin(c, &x);
		for (i = 0; i < 1000; i++) {
			char key[32];

			snprintf(key, sizeof(key), "k%05zu", b * 1000 + i);
			cache_txn_put(x, CACHE_ATOMS, key, strlen(key), val, 6000);
		}
		is_int(cache_commit(x), 0, "batch %zu of 1,000 values of 6,000 bytes", b);
	}
	cache_close(c);
	/* Rewriting every key in a scattered order reads each leaf page. */
	is_int(cache_open(dir, &c, NULL), 0, "reopen");
	before = map_rss_kib(dir);
	for (b = 0; b < 8; b++) {
		cache_begin(c, &x);
		for (i = 0; i < 1000; i++) {
			char key[32];

			snprintf(key, sizeof(key), "k%05zu", (i * 8 + b) * 7919 % 8000);
			val[0] = (char)('a' + b);
			cache_txn_put(x, CACHE_ATOMS, key, strlen(key), val, 5000);
		}
		cache_commit(x);
	}
	after = map_rss_kib(dir);
	ok(after - before < 16 * 1024,
		"rewriting 48 MB in 8 batches leaves less than 16 MB resident (%ld KiB more)",
		after - before);
	cache_close(c);
	is_int(cache_open(dir, &c, NULL), 0, "reopen");
	before = map_rss_kib(dir);
	is_int(cache_each(c, CACHE_ATOMS, count_bytes, &total), 0, "scan");
	after = map_rss_kib(dir);
	ok(total >= (size_t)8000 * 5000, "the scan saw all 40 MB");
	ok(after - before < 8 * 1024,
		"scanning 40 MB leaves less than 8 MB resident (%ld KiB more)", after - before);
	cache_close(c);
	free(val);
	scratch_free(dir);
}

int
main(void)
{
	test_key_form();
	test_basics();
	test_batches();
	test_cas();
	test_schema();
	test_open_errors();
	test_small_address_space();
	test_growth();
	test_map_released();
	test_ranges();
	test_threads();
	test_two_processes();
	test_sigkill();
	return done_testing();
}
