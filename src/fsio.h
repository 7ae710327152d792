/* fsio.h - the file system side of a build: atomic writes, file
 * identities for change detection, and keeping paths inside the project.
 *
 * Writes go to a temporary file in the destination directory, written
 * completely, then renamed over the target, so a reader sees the old or
 * the new file, never a torn one.
 */
#ifndef DM_FSIO_H
#define DM_FSIO_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* What stat says of a file, to tell cheaply whether it changed. */
struct fstamp {
	int64_t mtime_ns;
	int64_t size;
	uint64_t ino, dev;
	int exists;
};

/* fs_stamp: fill st (exists = 0 if there is no such file). */
int fs_stamp(const char *path, struct fstamp *st);
int fstamp_eq(const struct fstamp *a, const struct fstamp *b);
/* fstamp_put, fstamp_get: a stamp's 33-byte form in records and stamps
 * (mtime, size, ino, dev as little-endian u64, then a byte for exists). */
void fstamp_put(struct buf *b, const struct fstamp *st);
void fstamp_get(struct cursor *c, struct fstamp *st);

/* fs_write_atomic: write p[0..n) to path through a temporary file and
 * rename; creates missing parent directories; the file gets mode 0644.
 * No fsync.  0 or DM_EIO (errno kept). */
int fs_write_atomic(const char *path, const void *p, size_t n);
/* A piece of a file written with fs_write_pieces. */
struct fs_piece {
	const void *p;
	size_t n;
};
/* fs_write_pieces: fs_write_atomic of the concatenation of the n pieces,
 * without joining them in memory first. */
int fs_write_pieces(const char *path, const struct fs_piece *pc, size_t n);
/* fs_same_pieces: 1 if path holds exactly the concatenation of the n
 * pieces, 0 if not or unreadable; reads the file in small blocks. */
int fs_same_pieces(const char *path, const struct fs_piece *pc, size_t n);
/* fs_mkdirs: create dir and its parents (like mkdir -p). */
int fs_mkdirs(const char *dir);
/* fs_remove: unlink path, then remove directories above it that became
 * empty, up to (not including) the project root (".").  A missing path is
 * success; DM_EIO otherwise (errno kept). */
int fs_remove(const char *path);

/* fs_check_rel: a project-relative path is acceptable: not empty, not
 * absolute, no "." or ".." component, no empty component, no NUL.  0 or
 * -1 with a reason in *why (static string). */
int fs_check_rel(const char *path, const char **why);
/* fs_inside: 0 if the existing path, with symlinks resolved, lies inside
 * dir (also resolved); -1 if it leaves it; DM_ENOTFOUND if path does not
 * exist. */
int fs_inside(const char *path, const char *dir);

/* fs_remove_temps: delete the temporary files fs_write_atomic leaves in
 * dir when the process is killed between creating and renaming them
 * (".NAME.dmtmp.XXXXXX").  Call it only while no other writer runs (the
 * build holds the project lock).  Returns how many were removed. */
int fs_remove_temps(const char *dir);

#endif
