/* hash.h - XXH3-128 digests; the only module that includes xxhash.h.
 *
 * A digest is 16 bytes, printed as 32 lowercase hex digits (high half
 * first).  The zero digest is never produced for real data in practice and
 * is used to mean "absent".
 */
#ifndef DM_HASH_H
#define DM_HASH_H

#include <stddef.h>
#include <stdint.h>

struct digest {
	uint64_t hi, lo;
};

#define DIGEST_HEX_LEN 32

struct hasher; /* streaming state, opaque */

/* hash_bytes: the XXH3-128 digest of p[0..n). */
struct digest hash_bytes(const void *p, size_t n);
/* hash_strings: the digest of n strings, each framed as hasher_add_str
 * frames it (a key from named parts: "ab","c" differs from "a","bc"). */
struct digest hash_strings(size_t n, const char *const *s);
/* hash_file: the digest of a file's bytes; 0, or file_read's DM_E* code. */
int hash_file(const char *path, struct digest *d);
/* hasher_new / hasher_free: a streaming hasher; add pieces, then final. */
struct hasher *hasher_new(void);
void hasher_free(struct hasher *h);
void hasher_reset(struct hasher *h);
void hasher_add(struct hasher *h, const void *p, size_t n);
/* hasher_add_str: adds the length and then the bytes, so that pieces
 * cannot run into each other ("ab"+"c" differs from "a"+"bc"). */
void hasher_add_str(struct hasher *h, const char *s, size_t n);
void hasher_add_u64(struct hasher *h, uint64_t v);
void hasher_add_digest(struct hasher *h, struct digest d);
struct digest hasher_final(struct hasher *h);

int digest_eq(struct digest a, struct digest b);
int digest_is_zero(struct digest d);
/* digest_hex: writes 32 hex digits and a NUL into out[33]. */
void digest_hex(struct digest d, char out[DIGEST_HEX_LEN + 1]);
/* digest_parse: 0 on success, -1 if s is not 32 hex digits. */
int digest_parse(const char *s, struct digest *d);

#endif
