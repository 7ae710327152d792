/* t-hash: a hasher fed in pieces gives the digest of the whole stream,
 * whatever the cut (its buffering must not show), and the helpers frame
 * what they add.  hash_strings is pinned to digests computed before it
 * stopped using a hasher (static keys of atoms are made with it, and they
 * live in caches). */
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

static void
hex_is(struct digest d, const char *want, const char *what)
{
	char hex[DIGEST_HEX_LEN + 1];

	digest_hex(d, hex);
	is_str(hex, want, "%s", what);
}

/* streamed: hash_strings's digest the long way, through a hasher. */
static struct digest
streamed(size_t n, const char *const *s)
{
	struct hasher *h = hasher_new();
	struct digest d;
	size_t i;

	for (i = 0; i < n; i++)
		hasher_add_str(h, s[i], strlen(s[i]));
	d = hasher_final(h);
	hasher_free(h);
	return d;
}

static void
test_hash_strings(void)
{
	/* The parts of a static key (key.c) at version 0.1.0. */
	const char *key[] = {"dmbuild-template", "0.1.0", "atom out/models/{{name.snake}}.py\n",
		"out/models/user.py", "templates/model.py.mustache"};
	const char *ten[] = {"a", "", "bc", "def", "", "ghij", "k", "lmnop", "q", "rstuvw"};
	const char *empty[] = {""};
	static char big[5000], b1[1017], b2[1018];
	const char *three[3], *one[1], *many[40];
	size_t i, k;
	int same = 1;

	hex_is(hash_strings(5, key), "9d356caaa434cb214e4db892f05103a8",
		"a static key's parts: the digest they always had");
	hex_is(hash_strings(0, NULL), "99aa06d3014798d86001c324468d497f", "no strings");
	hex_is(hash_strings(1, empty), "2c0a8a99dc147d5445c3b49d035665b2", "one empty string");
	hex_is(hash_strings(10, ten), "b90292af9de82d7be8495c60d9f1afa6",
		"ten strings (more than it keeps lengths of)");
	memset(b1, 'y', sizeof(b1) - 1);
	one[0] = b1;
	hex_is(hash_strings(1, one), "d1b61f4b1641949f4f39a536c1ed9062",
		"1,024 bytes framed: the most it lays out on the stack");
	memset(b2, 'z', sizeof(b2) - 1);
	one[0] = b2;
	hex_is(hash_strings(1, one), "242f3d70bb108262f1e1b26907b107ec", "1,025 bytes: on the heap");
	memset(big, 'x', sizeof(big) - 1);
	three[0] = "a";
	three[1] = big;
	three[2] = "z";
	hex_is(hash_strings(3, three), "ed43fd858194d3b3be577a95c3ccf182", "5,000 bytes in the middle");

	/* Any count and sizes: the hasher's framed stream. */
	for (k = 0; k < 40 && same; k++) {
		for (i = 0; i < k; i++)
			many[i] = big + sizeof(big) - 1 - (i * 37 + k * 11) % 700;
		same = digest_eq(hash_strings(k, many), streamed(k, many));
	}
	ok(same, "0 to 39 strings of up to 700 bytes: the hasher's digest (%zu)", k);
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
	test_hash_strings();
	return done_testing();
}
