/* util.h - allocation, growable buffers, diagnostics and error codes.
 *
 * Two error regimes (STYLE.md): the front end may call fatal(); modules
 * return 0 or a negative DM_E* code and never exit.  Out of memory is the
 * one exception everywhere: the x* allocators call fatal().
 *
 * Input errors are collected in a struct diag, so a parser can report
 * several at once; each is printed as "dmbuild: FILE:LINE:COL: message".
 */
#ifndef DM_UTIL_H
#define DM_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum {
	DM_OK = 0,
	DM_EINPUT = -1,   /* bad user input; details are in a struct diag */
	DM_EIO = -2,      /* a system call failed; errno-based message in diag */
	DM_ECACHE = -3,   /* the LMDB environment reported an error */
	DM_ENOTFOUND = -4,
	DM_EBUILD = -5,   /* an atom failed to build */
	DM_EINTR = -6,    /* interrupted by a signal */
	DM_ECONFLICT = -7 /* an output was edited by hand and kept */
};

/* dm_strerror: static text for a DM_E* code. */
const char *dm_strerror(int code);

/* fatal: print "dmbuild: message" to stderr and exit 2.  Front end only. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* warn: print "dmbuild: warning: message" to stderr. */
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
/* xreallocarray: realloc with an overflow check on n * size. */
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* xasprintf: a malloc'd formatted string; the caller frees it. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Growable byte buffer.  data is always NUL-terminated when non-NULL. */
struct buf {
	char *data;
	size_t len, cap;
};

void buf_reserve(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *p, size_t n);
void buf_adds(struct buf *b, const char *s);
void buf_addc(struct buf *b, int c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* buf_release: hand the malloc'd string to the caller and reset b. */
char *buf_release(struct buf *b);
void buf_clear(struct buf *b);
void buf_free(struct buf *b);

/* A position in an input file; file points at a string owned elsewhere
 * (the loader that read the file keeps it alive). */
struct srcpos {
	const char *file;
	int line, col;
};

/* Diagnostics: errors in user input, with their position.  A diag keeps
 * at most DIAG_MAX_KEPT errors and DIAG_MAX_KEPT warnings; later ones are
 * only counted (nerrors still counts every error), and diag_print ends
 * with a line saying how many were not shown.  A message longer than
 * DIAG_MAX_MSG bytes is cut at a character boundary and ends with "...";
 * control characters other than newline and tab, and bytes that are not
 * UTF-8, become '?'. */
#define DIAG_MAX_KEPT 50
#define DIAG_MAX_MSG 400

struct diag_item {
	char *file; /* may be NULL: no position */
	int line, col;
	char *msg;
	int warning;
};

struct diag {
	struct diag_item *items;
	size_t n, cap;
	size_t nerrors;
	size_t ndropped, nwdropped; /* errors and warnings counted, not kept */
	char *dropped_file;         /* the file of every dropped item, or NULL */
};

void diag_add(struct diag *d, const char *file, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void diag_vadd(struct diag *d, const char *file, int line, int col, const char *fmt, va_list ap);
void diag_warn(struct diag *d, const char *file, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* diag_print: every item as "dmbuild: FILE:LINE:COL: message" on f, then
 * "dmbuild: FILE: N more errors not shown" when some were dropped. */
void diag_print(const struct diag *d, FILE *f);
/* diag_more: that last line without "dmbuild: " and the newline, appended
 * to b; 0 if nothing was dropped (b untouched), else 1. */
int diag_more(const struct diag *d, struct buf *b);
void diag_free(struct diag *d);

/* Files. */
/* file_read: whole file into a malloc'd NUL-terminated buffer.  0, or
 * DM_ENOTFOUND when it does not exist, or DM_EIO (errno kept).  A regular
 * file is read into one buffer of the size fstat gives (still correct if
 * it changes meanwhile); anything else in growing chunks. */
int file_read(const char *path, char **data, size_t *len);

/* fnv1a: the 64-bit FNV-1a hash of p[0..n) (in-memory tables only: it is
 * fast, not strong). */
uint64_t fnv1a(const void *p, size_t n);

/* strmap: string -> pointer hash map (open addressing).  Keys are copied;
 * values are the caller's. Not thread-safe. */
struct strmap;
struct strmap *strmap_new(void);
/* strmap_new_borrowed: a map that keeps the caller's keys instead of
 * copies: each must stay alive and unchanged while the map lives. */
struct strmap *strmap_new_borrowed(void);
/* strmap_reserve: room for n entries without growing again. */
void strmap_reserve(struct strmap *m, size_t n);
void strmap_free(struct strmap *m);
/* strmap_get: the value, or NULL. */
void *strmap_get(const struct strmap *m, const char *key, size_t klen);
/* strmap_put: set key to val; returns the old value or NULL. */
void *strmap_put(struct strmap *m, const char *key, size_t klen, void *val);
/* strmap_slot: where the value of key is kept, for reading and setting it
 * with one lookup; an absent key is inserted first, with a NULL value
 * (which the caller then sets: strmap_get cannot tell it from absent).
 * The pointer is good until the next insertion. */
void **strmap_slot(struct strmap *m, const char *key, size_t klen);
size_t strmap_count(const struct strmap *m);
/* strmap_each: call fn for every entry (any order) until it returns
 * non-zero; returns that value or 0. */
int strmap_each(const struct strmap *m, int (*fn)(void *ud, const char *key, void *val), void *ud);

/* Pool: a bump allocator for many small pieces that are freed together
 * by pool_free.  A zeroed struct pool is an empty pool.  pool_alloc's
 * memory is aligned for any type; pool_strndup copies s[0..n) and a NUL.
 * Nothing of a pool may be passed to free() or realloc(). */
struct pool_chunk;
struct pool {
	struct pool_chunk *chunks;
	char *cur;        /* free room of the current chunk */
	size_t left;
	size_t next;      /* size of the next chunk */
	size_t held;      /* bytes malloc'd for chunks */
};

/* pool_take: n bytes aligned to align (a power of two no larger than
 * max_align_t's alignment). */
void *pool_take(struct pool *p, size_t n, size_t align);
void *pool_alloc(struct pool *p, size_t n);
char *pool_strndup(struct pool *p, const char *s, size_t n);
void pool_free(struct pool *p);

/* Little-endian encoding into a buf, and a bounds-checked reader; a read
 * past the end sets bad and yields zeros / NULL. */
void buf_put_u32(struct buf *b, unsigned long v);
void buf_put_u64(struct buf *b, unsigned long long v);
void buf_put_str(struct buf *b, const char *s); /* u32 length + bytes */

/* le64_put: v as 8 little-endian bytes at p; returns p + 8.  le64_get: the
 * value of such bytes.  For encoders that fill a block themselves. */
static inline unsigned char *
le64_put(unsigned char *p, uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	__builtin_memcpy(p, &v, 8);
#else
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
#endif
	return p + 8;
}

static inline uint64_t
le64_get(const unsigned char *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t v;

	__builtin_memcpy(&v, p, 8);
	return v;
#else
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	       (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
	       (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
#endif
}

struct cursor {
	const unsigned char *p;
	size_t n, off;
	int bad;
};

/* cur_take: the next n bytes, or NULL (bad set); inline, as decoders of
 * large records call it a million times. */
static inline const unsigned char *
cur_take(struct cursor *c, size_t n)
{
	const unsigned char *p;

	if (c->bad || c->n - c->off < n) {
		c->bad = 1;
		return NULL;
	}
	p = c->p + c->off;
	c->off += n;
	return p;
}

/* cur_u32, cur_u64: little-endian numbers (0 when bad). */
static inline unsigned long
cur_u32(struct cursor *c)
{
	const unsigned char *p = cur_take(c, 4);

	return p ? (unsigned long)p[0] | (unsigned long)p[1] << 8 | (unsigned long)p[2] << 16 |
			(unsigned long)p[3] << 24
		 : 0;
}

static inline unsigned long long
cur_u64(struct cursor *c)
{
	const unsigned char *p = cur_take(c, 8);

	return p ? le64_get(p) : 0;
}

char *cur_str(struct cursor *c); /* malloc'd, or NULL when bad */

/* utf8_char_len: the length (1 to 4) of the well-formed UTF-8 character
 * at s[0..n), n >= 1 (no overlong forms, surrogates or code points past
 * U+10FFFF), or 0 if it is not one. */
size_t utf8_char_len(const unsigned char *s, size_t n);
/* text_check: 0 if s[0..n) is UTF-8 without NUL bytes, else -1 with the
 * 1-based line and column (in bytes) of the first offending byte and a
 * static description in *why. */
int text_check(const char *s, size_t n, int *line, int *col, const char **why);

/* text_snip: s[0..n) made fit to quote in a message, into dst (size >=
 * 8 bytes, NUL-terminated): tab, newline and other control characters,
 * DEL and bytes that are not UTF-8 become \xNN, and text that does not
 * fit is cut at a character boundary and ends with "...".  Returns dst. */
const char *text_snip(char *dst, size_t size, const char *s, size_t n);

/* clock_ms: a monotonic clock in milliseconds (for durations). */
double clock_ms(void);

/* Phase statistics (dmbuild -d stats): when stats_enabled is set,
 * stats_phase prints to stderr the milliseconds since the previous phase
 * and since the first, and the process's resident and peak memory. */
extern int stats_enabled;
void stats_phase(const char *phase);

#endif
