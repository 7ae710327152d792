/* key.h - what an atom read, the record kept for each output, and the
 * decision whether an atom is stale (SPEC §5).
 *
 * While an atom renders, a recorder collects its reads:
 *   V PATH  a spec value used whole        digest: Merkle digest
 *   S PATH  a spec value used for its shape digest: kind, truth, length
 *   M PATH  a spec lookup that found nothing (zero digest)
 *   F PATH  a file read (template, partial) digest of its bytes
 *   N PATH  a file looked for and missing  (zero digest)
 *   I @index / K @key of a foreach element digest of the value, as for a
 *           spec value (a fixed digest when the atom's frame has no such
 *           key: a miss there is recorded too)
 *   L SLOT  the fill used for slot SLOT    digest of the fill (zero: the
 *           slot's fallback body); re-evaluated against dmbuild.lock
 * Spec paths under the atom's foreach element are stored relative to it
 * ("@.name" for ELEM.name), so an element that moves (a list item shifted
 * by an insertion) keeps its atom fresh, unless it read @index.  Reads are
 * unique by (kind, path) and kept in the order of their first use while
 * rendering (deterministic for the same template and data).
 *
 * The action key of a build is XXH3-128 over the static key (dmbuild
 * version, canonical declaration, output path, template name) and every
 * read with its digest.  An atom is stale iff it has no record, its static
 * key changed, or some read now evaluates to another digest.
 *
 * Record layout (CACHE_ATOMS value), little-endian, version byte first:
 *   u8 4 | digest static, key, out, prev, elem | stamp | i64 built_ns |
 *   u32 stratum | u32 flags | str version, tmpl, reason, origin, checks |
 *   var nreads | nreads * (u8 kind | var shared | var n | n bytes | digest)
 * where str = u32 length + bytes, digest = 2 * u64, stamp = i64 mtime_ns,
 * i64 size, u64 ino, u64 dev, u8 exists, var = LEB128.  A read's path is
 * the first `shared` bytes of the previous read's path followed by the n
 * bytes (front coding: reads in order of use share long prefixes such as
 * entities[12].fields[3].); M and N reads store no digest (always zero).
 * Versions 1 to 3 (u32 nreads, str path, a digest on every read) still
 * read.  out is the digest of the bytes
 * last committed for the output; prev the digest before that (a crash
 * between commit and rename leaves prev on disk, which is not an edit).
 */
#ifndef DM_KEY_H
#define DM_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "fsio.h"
#include "hash.h"
#include "util.h"
#include "value.h"

struct read {
	char kind;
	const char *path; /* in the readset's pool */
	struct digest d;
};

struct readrec; /* recording state, private to key.c */

/* A readset owns its paths: one pool holds them all, NUL-terminated.
 * While recording (rec != NULL) the reads are not yet in r; reads_finish
 * builds r, unique, in the order of first use. */
struct readset {
	struct read *r;
	size_t n, cap;
	char *pool;
	struct readrec *rec;
};

struct record {
	struct digest static_key, key, out, prev;
	/* The Merkle digest of the atom's foreach element when it was built
	 * (zero: no element).  While the element's digest is the same, every
	 * read under it ("@...") is too, and key_check skips them. */
	struct digest elem;
	struct fstamp st;
	int64_t built_ns;
	uint32_t stratum, flags;
	char *version, *tmpl, *reason, *origin;
	char *checks; /* check outcomes, qa.h's text form */
	struct readset reads;
	/* How many reads are of the spec, of files: set by record_decode and
	 * record_count_reads, kept when record_drop_reads frees the reads. */
	size_t nspec_reads, nfile_reads;
};

#define RECORD_DEGRADED 1u
#define RECORD_CHECKS_PENDING 2u /* cmd checks had not run when committed */
#define RECORD_CHECKS_FAILED 4u

/* Recording, for the Mustache hooks of one atom's render. */
struct recorder {
	struct readset *rs;
	const struct val *elem;                /* foreach element or NULL */
	const struct val *key_val, *index_val; /* the frame's @key, @index */
};

void key_record_use(struct recorder *rc, const struct val *v, enum val_use how);
void key_record_probe(struct recorder *rc, const struct val *container, const char *key,
	size_t klen, const struct val *found);
void key_record_file(struct recorder *rc, const char *path, int exists, struct digest d);
void key_record_fill(struct recorder *rc, const char *slot, const char *fill);
/* reads_expect: make room for about n reads about to be recorded into rs
 * (a hint, such as the read count of the atom's last record), so that a
 * large recording does not grow its table step by step.  Recording gives
 * the same reads with or without it. */
void reads_expect(struct readset *rs, size_t n);
/* reads_finish: build the reads (paths, order) from what was recorded. */
void reads_finish(struct readset *rs);
void reads_free(struct readset *rs);

/* What the reads see now. */
struct key_env {
	const struct val *root, *elem, *key_val, *index_val;
	const char *out; /* the atom's output path */
	/* file: 1 and *d if path exists, 0 if it does not. */
	int (*file)(void *ud, const char *path, struct digest *d);
	/* fill: 1 and *d if slot of atom out has an accepted fill now, 0 if
	 * not (NULL: L reads hold). */
	int (*fill)(void *ud, const char *out, const char *slot, struct digest *d);
	void *ud;
};

/* key_static: the static part of an atom's key. */
struct digest key_static(const char *canon, const char *out, const char *tmpl);
/* key_action: the action key of static + reads (with their recorded
 * digests). */
struct digest key_action(struct digest static_key, const struct readset *rs);
/* key_check: 0 if every read of r sees the same digest now, 1 if not
 * (why gets e.g. "spec entities.Order.fields[1].type changed"). */
int key_check(const struct record *r, const struct key_env *e, struct buf *why);
/* key_candidate: the action key r's reads would give now. */
struct digest key_candidate(const struct record *r, const struct key_env *e);

/* key_refresh: r's reads with the digests they evaluate to now (what a
 * build whose action key is key_candidate(r, e) read). */
void key_refresh(const struct record *r, const struct key_env *e, struct readset *out);

/* Output stamps (CACHE_STAMPS, path -> u8 1 | stamp | digest out): the
 * stat of an output once written, bound to the digest of the bytes
 * written.  A record is committed before its file is written, so its own
 * stamp never matches; the stamp stored after the write applies to the
 * record only while the record's out is the same digest. */
void stamp_encode(const struct fstamp *st, struct digest out, struct buf *b);
/* stamp_apply: set r->st from an encoded stamp if it belongs to r->out;
 * 1 if applied, 0 if not (another digest or not a stamp). */
int stamp_apply(const void *p, size_t n, struct record *r);

void record_encode(const struct record *r, struct buf *out);
/* record_decode: 0, or -1 if p is not a record (version 1 records, from
 * before check outcomes, read with empty outcomes; versions 1 and 2, from
 * before the element digest, with a zero one). */
int record_decode(const void *p, size_t n, struct record *r);
void record_free(struct record *r);
void record_count_reads(struct record *r);
/* record_drop_reads: free the reads (of a record already stored). */
void record_drop_reads(struct record *r);

#endif
