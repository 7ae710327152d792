/* t-hash: a hasher fed in pieces gives the digest of the whole stream,
 * whatever the cut (its buffering must not show), and the helpers frame
 * what they add. */
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "tap.h"

static unsigned char data[20000];

/* pieces: hash data[0..n) cut into pieces of sizes from the pattern. */
static struct digest
pieces(size_t n, const size_t *sizes, size_t nsizes)
{
	struct hasher *h = hasher_new();
	struct digest d;
	size_t at = 0, k = 0;

	while (at < n) {
		size_t m = sizes[k++ % nsizes];

		if (m > n - at)
			m = n - at;
		hasher_add(h, data + at, m);
		at += m;
	}
	d = hasher_final(h);
	hasher_free(h);
	return d;
}

int
main(void)
{
	static const size_t cuts[][4] = {
		{1, 1, 1, 1}, {7, 8, 9, 1}, {2047, 1, 2, 3}, {2048, 2048, 1, 2049},
		{5000, 3, 100, 1}, {0, 16, 0, 4096}, {20000, 1, 1, 1},
	};
	size_t i, c;
	struct hasher *h;
	struct digest a, b;
	unsigned char le[8];

	for (i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 131 + (i >> 7));
	for (c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
		size_t sizes[4], ns = 0, k;

		for (k = 0; k < 4; k++)
			if (cuts[c][k])
				sizes[ns++] = cuts[c][k];
		for (i = 0; i <= sizeof(data); i += 2731) {
			a = pieces(i, sizes, ns);
			b = hash_bytes(data, i);
			if (!digest_eq(a, b))
				break;
		}
		ok(i > sizeof(data), "pieces of %zu, %zu, ... give the one-shot digest", sizes[0],
			ns > 1 ? sizes[1] : sizes[0]);
	}
	h = hasher_new();
	hasher_add(h, "abc", 3);
	a = hasher_final(h);
	hasher_add(h, "def", 3);
	b = hasher_final(h);
	ok(digest_eq(a, hash_bytes("abc", 3)) && digest_eq(b, hash_bytes("abcdef", 6)),
		"a digest mid-stream, then more: both are digests of the stream so far");
	hasher_reset(h);
	hasher_add_u64(h, 0x0102030405060708ULL);
	for (i = 0; i < 8; i++)
		le[i] = (unsigned char)(8 - i);
	ok(digest_eq(hasher_final(h), hash_bytes(le, 8)), "a u64 is its 8 bytes, little-endian");
	hasher_reset(h);
	hasher_add_str(h, "ab", 2);
	hasher_add_str(h, "c", 1);
	a = hasher_final(h);
	hasher_reset(h);
	hasher_add_str(h, "a", 1);
	hasher_add_str(h, "bc", 2);
	ok(!digest_eq(a, hasher_final(h)), "strings are framed: ab|c is not a|bc");
	{
		const char *abc[] = {"ab", "c"}, *a_bc[] = {"a", "bc"};

		ok(digest_eq(hash_strings(2, abc), a), "hash_strings is the hasher's framed stream");
		ok(!digest_eq(hash_strings(2, abc), hash_strings(2, a_bc)),
			"hash_strings frames its parts");
	}
	hasher_free(h);
	return done_testing();
}
