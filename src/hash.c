/* hash.c - XXH3-128 through libxxhash.  See hash.h.
 *
 * A hasher gathers small pieces (lengths, digests, short strings) in its
 * own buffer and hands XXH3 large runs: the digest of a stream does not
 * depend on how it is cut, and one update per piece cost more than the
 * hashing itself.  For the same reason hash_strings needs no hasher (its
 * malloc'd XXH3 state cost more than the hashing): it lays the framed
 * stream out in one buffer, on the stack when it is small, and hashes it
 * at once. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "hash.h"
#include "util.h"

#define HASHER_BUF 2048
/* hash_strings lays out up to this many bytes on the stack, and keeps
 * the lengths of this many strings. */
#define HASH_STRINGS_STACK 1024
#define HASH_STRINGS_LENS 8

struct hasher {
	XXH3_state_t *st;
	size_t n;
	unsigned char buf[HASHER_BUF];
};

static void
flush(struct hasher *h)
{
	if (h->n)
		XXH3_128bits_update(h->st, h->buf, h->n);
	h->n = 0;
}

struct digest
hash_bytes(const void *p, size_t n)
{
	XXH128_hash_t h = XXH3_128bits(p, n);
	struct digest d = {h.high64, h.low64};

	return d;
}

struct digest
hash_strings(size_t n, const char *const *s)
{
	unsigned char stack[HASH_STRINGS_STACK], *b = stack, *p;
	size_t lens[HASH_STRINGS_LENS], total = 0, i;
	struct digest d;

	/* The framed stream laid out in one buffer and hashed at once: the
	 * same digest as feeding a hasher, without one. */
	for (i = 0; i < n; i++) {
		size_t len = strlen(s[i]);

		if (i < HASH_STRINGS_LENS)
			lens[i] = len;
		if (len > SIZE_MAX - 8 - total)
			fatal("out of memory");
		total += 8 + len;
	}
	if (total > sizeof(stack))
		b = xmalloc(total);
	p = b;
	for (i = 0; i < n; i++) {
		size_t len = i < HASH_STRINGS_LENS ? lens[i] : strlen(s[i]);

		le64_put(p, len);
		memcpy(p + 8, s[i], len);
		p += 8 + len;
	}
	d = total ? hash_bytes(b, total) : hash_bytes("", 0);
	if (b != stack)
		free(b);
	return d;
}

int
hash_file(const char *path, struct digest *d)
{
	char *text;
	size_t len;
	int r = file_read(path, &text, &len);

	if (r)
		return r;
	*d = hash_bytes(text, len);
	free(text);
	return 0;
}

struct hasher *
hasher_new(void)
{
	struct hasher *h = xmalloc(sizeof(*h));

	h->st = XXH3_createState();
	if (!h->st)
		fatal("out of memory");
	XXH3_128bits_reset(h->st);
	h->n = 0;
	return h;
}

void
hasher_free(struct hasher *h)
{
	if (!h)
		return;
	XXH3_freeState(h->st);
	free(h);
}

void
hasher_reset(struct hasher *h)
{
	XXH3_128bits_reset(h->st);
	h->n = 0;
}

void
hasher_add(struct hasher *h, const void *p, size_t n)
{
	if (h->n + n > HASHER_BUF)
		flush(h);
	if (n >= HASHER_BUF) {
		XXH3_128bits_update(h->st, p, n);
		return;
	}
	memcpy(h->buf + h->n, p, n);
	h->n += n;
}

void
hasher_add_u64(struct hasher *h, uint64_t v)
{
	unsigned char b[8];

	le64_put(b, v);
	hasher_add(h, b, sizeof(b));
}

void
hasher_add_str(struct hasher *h, const char *s, size_t n)
{
	hasher_add_u64(h, n);
	hasher_add(h, s, n);
}

void
hasher_add_digest(struct hasher *h, struct digest d)
{
	hasher_add_u64(h, d.hi);
	hasher_add_u64(h, d.lo);
}

struct digest
hasher_final(struct hasher *h)
{
	XXH128_hash_t r;

	flush(h);
	r = XXH3_128bits_digest(h->st);
	struct digest d = {r.high64, r.low64};

	return d;
}

int
digest_eq(struct digest a, struct digest b)
{
	return a.hi == b.hi && a.lo == b.lo;
}

int
digest_is_zero(struct digest d)
{
	return !d.hi && !d.lo;
}

void
digest_hex(struct digest d, char out[DIGEST_HEX_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 16; i++)
		out[i] = hex[(d.hi >> (60 - 4 * i)) & 15];
	for (i = 0; i < 16; i++)
		out[16 + i] = hex[(d.lo >> (60 - 4 * i)) & 15];
	out[32] = '\0';
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
digest_parse(const char *s, struct digest *d)
{
	uint64_t v[2] = {0, 0};
	int i;

	if (strlen(s) != DIGEST_HEX_LEN)
		return -1;
	for (i = 0; i < DIGEST_HEX_LEN; i++) {
		int x = hexval((unsigned char)s[i]);

		if (x < 0)
			return -1;
		v[i / 16] = v[i / 16] << 4 | (uint64_t)x;
	}
	d->hi = v[0];
	d->lo = v[1];
	return 0;
}
