/* util.c - allocation that never returns NULL, growable buffers,
 * diagnostics, pools, files, string maps.  See util.h.
 *
 * file_read reads a regular file into one buffer of the size fstat gives
 * (one allocation, one copy: the 1 MB benchmark spec used to be copied
 * through stdio and a doubling buffer); a size that turns out wrong, or a
 * file without one, goes on through a growing buffer.
 *
 * A strmap is open addressing with linear probing, at most 3/4 full; a
 * slot's key is NULL when empty.  A borrowed map stores the caller's key
 * pointers and never frees them.
 *
 * A struct diag holds at most DIAG_MAX_KEPT errors and as many warnings;
 * nerrors - ndropped of its items are errors.  Every kept message is at
 * most DIAG_MAX_MSG bytes of UTF-8 with no control characters but '\n'
 * and '\t', whatever the input quoted in it. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

/* file_read: the read size for a file whose size fstat does not give. */
#define FILE_READ_CHUNK 65536
/* Pools: chunks grow from POOL_MIN_CHUNK to POOL_MAX_CHUNK bytes; a piece
 * over POOL_BIG bytes gets a chunk of its own. */
#define POOL_MIN_CHUNK 4096
#define POOL_MAX_CHUNK (256 * 1024)
#define POOL_BIG (POOL_MAX_CHUNK / 8)

const char *
dm_strerror(int code)
{
	switch (code) {
	case DM_OK: return "success";
	case DM_EINPUT: return "invalid input";
	case DM_EIO: return "input/output error";
	case DM_ECACHE: return "cache error";
	case DM_ENOTFOUND: return "not found";
	case DM_EBUILD: return "build failed";
	case DM_EINTR: return "interrupted";
	case DM_ECONFLICT: return "output edited by hand";
	}
	return "unknown error";
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	fputs("dmbuild: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

void
warn(const char *fmt, ...)
{
	va_list ap;

	fputs("dmbuild: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		fatal("out of memory");
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		fatal("out of memory");
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		fatal("out of memory");
	return p;
}

void *
xreallocarray(void *p, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		fatal("out of memory");
	return xrealloc(p, n * size);
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	struct buf b = {0};
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	return buf_release(&b);
}

void
buf_reserve(struct buf *b, size_t extra)
{
	size_t want;

	if (extra > SIZE_MAX - b->len - 1)
		fatal("out of memory");
	want = b->len + extra + 1;
	if (want <= b->cap)
		return;
	if (b->cap < 64)
		b->cap = 64;
	while (b->cap < want)
		b->cap = b->cap > SIZE_MAX / 2 ? want : b->cap * 2;
	b->data = xrealloc(b->data, b->cap);
}

void
buf_add(struct buf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_addc(struct buf *b, int c)
{
	buf_reserve(b, 1);
	b->data[b->len++] = (char)c;
	b->data[b->len] = '\0';
}

void
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		fatal("bad format string");
	buf_reserve(b, (size_t)n);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

char *
buf_release(struct buf *b)
{
	char *p;

	if (!b->data)
		buf_reserve(b, 0), b->data[0] = '\0';
	p = b->data;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

void
buf_clear(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

size_t
utf8_char_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0], lo = 0x80, hi = 0xBF;
	size_t need, k;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		need = 1;
	else if (c >= 0xE0 && c <= 0xEF)
		need = 2, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
	else if (c >= 0xF0 && c <= 0xF4)
		need = 3, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
	else
		return 0;
	for (k = 1; k <= need; k++)
		if (k >= n || s[k] < (k == 1 ? lo : 0x80) || s[k] > (k == 1 ? hi : 0xBF))
			return 0;
	return need + 1;
}

static int
is_ctl(unsigned c)
{
	return c < 0x20 || c == 0x7F;
}

const char *
text_snip(char *dst, size_t size, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, o = 0, cut = 0;
	char esc[5];

	/* cut: the longest output so far, at a character boundary, that
	 * leaves room for "..." and the NUL. */
	while (i < n) {
		size_t adv = utf8_char_len(u + i, n - i), plen = adv;
		const char *piece = s + i;

		if (adv == 0 || is_ctl(u[i])) {
			snprintf(esc, sizeof esc, "\\x%02X", u[i]);
			piece = esc;
			adv = 1;
			plen = 4;
		}
		if (o + plen > size - 1) {
			memcpy(dst + cut, "...", 4);
			return dst;
		}
		memcpy(dst + o, piece, plen);
		o += plen;
		i += adv;
		if (o <= size - 4)
			cut = o;
	}
	dst[o] = '\0';
	return dst;
}

/* diag_dropped: count an item that is not kept, and note its file. */
static void
diag_dropped(struct diag *d, const char *file, int warning)
{
	if (warning)
		d->nwdropped++;
	else
		d->ndropped++;
	if (d->ndropped + d->nwdropped == 1) {
		d->dropped_file = file ? xstrdup(file) : NULL;
	} else if (d->dropped_file && (!file || strcmp(d->dropped_file, file) != 0)) {
		free(d->dropped_file);
		d->dropped_file = NULL;
	}
}

/* diag_push: format the message into at most DIAG_MAX_MSG bytes without
 * building the whole text, then make it safe to print. */
static void
diag_push(struct diag *d, const char *file, int line, int col, int warning, const char *fmt,
	va_list ap)
{
	struct diag_item *it;
	char m[DIAG_MAX_MSG + 1];
	size_t kerr = d->nerrors - d->ndropped, len, i, k;
	int r;

	if (!warning)
		d->nerrors++;
	if ((warning ? d->n - kerr : kerr) >= DIAG_MAX_KEPT) {
		diag_dropped(d, file, warning);
		return;
	}
	r = vsnprintf(m, sizeof m, fmt, ap);
	if (r < 0) {
		snprintf(m, sizeof m, "(the message for this error could not be formatted)");
		len = strlen(m);
	} else if ((size_t)r > DIAG_MAX_MSG) {
		len = DIAG_MAX_MSG - 3;
		for (k = 0; k < 3 && len > 0 && ((unsigned char)m[len] & 0xC0) == 0x80; k++)
			len--;
		memcpy(m + len, "...", 4);
		len += 3;
	} else {
		len = (size_t)r;
	}
	for (i = 0; i < len; i += k) {
		k = utf8_char_len((const unsigned char *)m + i, len - i);
		if (k == 0 || (is_ctl((unsigned char)m[i]) && m[i] != '\n' && m[i] != '\t')) {
			m[i] = '?';
			k = 1;
		}
	}
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 8;
		d->items = xreallocarray(d->items, d->cap, sizeof(*d->items));
	}
	it = &d->items[d->n++];
	it->file = file ? xstrdup(file) : NULL;
	it->line = line;
	it->col = col;
	it->msg = xstrdup(m);
	it->warning = warning;
}

void
diag_vadd(struct diag *d, const char *file, int line, int col, const char *fmt, va_list ap)
{
	diag_push(d, file, line, col, 0, fmt, ap);
}

void
diag_add(struct diag *d, const char *file, int line, int col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_push(d, file, line, col, 0, fmt, ap);
	va_end(ap);
}

void
diag_warn(struct diag *d, const char *file, int line, int col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_push(d, file, line, col, 1, fmt, ap);
	va_end(ap);
}

void
diag_print(const struct diag *d, FILE *f)
{
	struct buf b = {0};
	size_t i;

	for (i = 0; i < d->n; i++) {
		const struct diag_item *it = &d->items[i];
		const char *w = it->warning ? "warning: " : "";

		if (it->file && it->line > 0)
			fprintf(f, "dmbuild: %s:%d:%d: %s%s\n", it->file, it->line, it->col, w, it->msg);
		else if (it->file)
			fprintf(f, "dmbuild: %s: %s%s\n", it->file, w, it->msg);
		else
			fprintf(f, "dmbuild: %s%s\n", w, it->msg);
	}
	if (diag_more(d, &b))
		fprintf(f, "dmbuild: %s\n", b.data);
	buf_free(&b);
}

int
diag_more(const struct diag *d, struct buf *b)
{
	if (!d->ndropped && !d->nwdropped)
		return 0;
	if (d->dropped_file)
		buf_printf(b, "%s: ", d->dropped_file);
	if (d->ndropped)
		buf_printf(b, "%zu more error%s", d->ndropped, d->ndropped == 1 ? "" : "s");
	if (d->ndropped && d->nwdropped)
		buf_adds(b, " and ");
	if (d->nwdropped)
		buf_printf(b, "%zu more warning%s", d->nwdropped, d->nwdropped == 1 ? "" : "s");
	buf_adds(b, " not shown");
	return 1;
}

void
diag_free(struct diag *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free(d->items[i].file);
		free(d->items[i].msg);
	}
	free(d->items);
	free(d->dropped_file);
	d->items = NULL;
	d->dropped_file = NULL;
	d->n = d->cap = d->nerrors = d->ndropped = d->nwdropped = 0;
}

/* read_rest: read fd to its end into b (growing it); 0, or -1 with errno. */
static int
read_rest(int fd, struct buf *b, size_t chunk)
{
	for (;;) {
		ssize_t n;

		buf_reserve(b, chunk);
		n = read(fd, b->data + b->len, b->cap - b->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		b->len += (size_t)n;
	}
}

int
file_read(const char *path, char **data, size_t *len)
{
	struct buf b = {0};
	struct stat st;
	int fd, r = 0;

	*data = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? DM_ENOTFOUND : DM_EIO;
	if (fstat(fd, &st) != 0)
		memset(&st, 0, sizeof(st)); /* read it in chunks, as a pipe */
	if (S_ISREG(st.st_mode) && st.st_size > 0 &&
		(uintmax_t)st.st_size < SIZE_MAX / 2) {
		/* One exact allocation; a file that grew meanwhile goes on
		 * growing the buffer below. */
		b.cap = (size_t)st.st_size + 1;
		b.data = xmalloc(b.cap);
		while (b.len < b.cap - 1) {
			ssize_t n = read(fd, b.data + b.len, b.cap - 1 - b.len);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				r = n < 0 ? -1 : 0;
				break;
			}
			b.len += (size_t)n;
		}
		if (r == 0 && b.len == b.cap - 1) {
			char probe;
			ssize_t n;

			while ((n = read(fd, &probe, 1)) < 0 && errno == EINTR)
				;
			if (n < 0)
				r = -1;
			else if (n == 1) {
				buf_add(&b, &probe, 1);
				r = read_rest(fd, &b, FILE_READ_CHUNK);
			}
		}
	} else {
		/* A pipe, a device, or a file that says it is empty (as /proc
		 * files do): read it in chunks. */
		r = read_rest(fd, &b, S_ISREG(st.st_mode) ? 4096 : FILE_READ_CHUNK);
	}
	if (r) {
		int e = errno;

		close(fd);
		buf_free(&b);
		errno = e;
		return DM_EIO;
	}
	close(fd);
	if (b.data)
		b.data[b.len] = '\0';
	*len = b.len;
	*data = buf_release(&b);
	return 0;
}

/* ---- pools ---- */

struct pool_chunk {
	struct pool_chunk *next;
	max_align_t data[];
};

void *
pool_take(struct pool *p, size_t n, size_t align)
{
	size_t pad = (size_t)(-(uintptr_t)p->cur & (align - 1));
	char *r;

	if (n > p->left || pad > p->left - n) {
		struct pool_chunk *c;
		size_t size;

		if (!p->next)
			p->next = POOL_MIN_CHUNK;
		/* a big piece gets a chunk of exactly its size; a smaller one
		 * that is still larger than the next chunk, a current chunk of
		 * its size */
		size = n > POOL_BIG || n > p->next ? n : p->next;
		if (size > SIZE_MAX - sizeof(*c))
			fatal("out of memory");
		c = xmalloc(sizeof(*c) + size);
		c->next = p->chunks;
		p->chunks = c;
		p->held += size;
		if (n > POOL_BIG)
			return c->data; /* its own chunk; the current one stays */
		p->cur = (char *)c->data;
		p->left = size;
		if (p->next < POOL_MAX_CHUNK)
			p->next *= 2;
		pad = 0;
	}
	r = p->cur + pad;
	p->cur = r + n;
	p->left -= pad + n;
	return r;
}

void *
pool_alloc(struct pool *p, size_t n)
{
	return pool_take(p, n ? n : 1, _Alignof(max_align_t));
}

char *
pool_strndup(struct pool *p, const char *s, size_t n)
{
	char *r;

	if (n == SIZE_MAX)
		fatal("out of memory");
	r = pool_take(p, n + 1, 1);
	if (n)
		memcpy(r, s, n);
	r[n] = '\0';
	return r;
}

void
pool_free(struct pool *p)
{
	while (p->chunks) {
		struct pool_chunk *c = p->chunks;

		p->chunks = c->next;
		free(c);
	}
	memset(p, 0, sizeof(*p));
}

struct strmap_slot {
	char *key;
	size_t klen;
	size_t hash;
	void *val;
};

struct strmap {
	struct strmap_slot *slots;
	size_t cap, n;
	int borrowed; /* keys are the caller's (strmap_new_borrowed) */
};

uint64_t
fnv1a(const void *p, size_t n)
{
	const unsigned char *s = p;
	const uint64_t prime = 1099511628211ULL;
	uint64_t h = 14695981039346656037ULL;

	/* Unrolled: the same byte-at-a-time hash with less loop overhead. */
	for (; n >= 8; n -= 8, s += 8) {
		h = (h ^ s[0]) * prime;
		h = (h ^ s[1]) * prime;
		h = (h ^ s[2]) * prime;
		h = (h ^ s[3]) * prime;
		h = (h ^ s[4]) * prime;
		h = (h ^ s[5]) * prime;
		h = (h ^ s[6]) * prime;
		h = (h ^ s[7]) * prime;
	}
	while (n--)
		h = (h ^ *s++) * prime;
	return h;
}

struct strmap *
strmap_new(void)
{
	struct strmap *m = xcalloc(1, sizeof(*m));

	m->cap = 16;
	m->slots = xcalloc(m->cap, sizeof(*m->slots));
	return m;
}

struct strmap *
strmap_new_borrowed(void)
{
	struct strmap *m = strmap_new();

	m->borrowed = 1;
	return m;
}

void
strmap_free(struct strmap *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->cap && !m->borrowed; i++)
		free(m->slots[i].key);
	free(m->slots);
	free(m);
}

static struct strmap_slot *
strmap_find(const struct strmap *m, const char *key, size_t klen, size_t h)
{
	size_t i = h & (m->cap - 1);

	for (;;) {
		struct strmap_slot *s = &m->slots[i];

		if (!s->key || (s->hash == h && s->klen == klen && memcmp(s->key, key, klen) == 0))
			return s;
		i = (i + 1) & (m->cap - 1);
	}
}

void *
strmap_get(const struct strmap *m, const char *key, size_t klen)
{
	struct strmap_slot *s = strmap_find(m, key, klen, (size_t)fnv1a(key, klen));

	return s->key ? s->val : NULL;
}

/* rehash: move every entry into a table of cap slots. */
static void
rehash(struct strmap *m, size_t cap)
{
	struct strmap_slot *old = m->slots;
	size_t oldcap = m->cap, i;

	m->cap = cap;
	m->slots = xcalloc(m->cap, sizeof(*m->slots));
	for (i = 0; i < oldcap; i++)
		if (old[i].key)
			*strmap_find(m, old[i].key, old[i].klen, old[i].hash) = old[i];
	free(old);
}

void
strmap_reserve(struct strmap *m, size_t n)
{
	size_t cap = m->cap;

	while (n * 4 > cap * 3) {
		if (cap > SIZE_MAX / 2 / sizeof(*m->slots))
			fatal("out of memory");
		cap *= 2;
	}
	if (cap != m->cap)
		rehash(m, cap);
}

/* insert: the slot for key (hash h), made if absent (value NULL). */
static struct strmap_slot *
insert(struct strmap *m, const char *key, size_t klen, size_t h)
{
	struct strmap_slot *s = strmap_find(m, key, klen, h);

	if (s->key)
		return s;
	if ((m->n + 1) * 4 > m->cap * 3) {
		strmap_reserve(m, m->n + 1);
		s = strmap_find(m, key, klen, h);
	}
	/* A borrowed key is the caller's: a const pointer kept as it is. */
	s->key = m->borrowed ? (char *)(uintptr_t)key : xstrndup(key, klen);
	s->klen = klen;
	s->hash = h;
	s->val = NULL;
	m->n++;
	return s;
}

void *
strmap_put(struct strmap *m, const char *key, size_t klen, void *val)
{
	struct strmap_slot *s = insert(m, key, klen, (size_t)fnv1a(key, klen));
	void *old = s->val;

	s->val = val;
	return old;
}

void **
strmap_slot(struct strmap *m, const char *key, size_t klen)
{
	return &insert(m, key, klen, (size_t)fnv1a(key, klen))->val;
}

size_t
strmap_count(const struct strmap *m)
{
	return m->n;
}

void
buf_put_u32(struct buf *b, unsigned long v)
{
	unsigned char x[4];
	int i;

	for (i = 0; i < 4; i++)
		x[i] = (unsigned char)(v >> (8 * i));
	buf_add(b, x, 4);
}

void
buf_put_u64(struct buf *b, unsigned long long v)
{
	buf_put_u32(b, (unsigned long)(v & 0xffffffffu));
	buf_put_u32(b, (unsigned long)(v >> 32));
}

void
buf_put_str(struct buf *b, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	buf_put_u32(b, (unsigned long)n);
	buf_add(b, s ? s : "", n);
}

char *
cur_str(struct cursor *c)
{
	unsigned long n = cur_u32(c);
	const unsigned char *p = cur_take(c, n);

	return p ? xstrndup((const char *)p, n) : NULL;
}

int
strmap_each(const struct strmap *m, int (*fn)(void *ud, const char *key, void *val), void *ud)
{
	size_t i;
	int r;

	for (i = 0; i < m->cap; i++)
		if (m->slots[i].key && (r = fn(ud, m->slots[i].key, m->slots[i].val)) != 0)
			return r;
	return 0;
}

int
text_check(const char *s, size_t n, int *line, int *col, const char **why)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, ls = 0, adv;
	int l = 1;

	while (i < n) {
		if (u[i] == 0 || !(adv = utf8_char_len(u + i, n - i)))
			goto bad;
		if (u[i] == '\n') {
			l++;
			ls = i + 1;
		}
		i += adv;
	}
	return 0;
bad:
	*line = l;
	*col = (int)(i - ls) + 1;
	*why = u[i] == 0 ? "NUL byte" : "invalid UTF-8";
	return -1;
}

double
clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

int stats_enabled;

/* status_kib: a "Vm...:" line of /proc/self/status in KiB, or -1. */
static long
status_kib(const char *text, const char *field)
{
	const char *p = strstr(text, field);

	return p ? strtol(p + strlen(field), NULL, 10) : -1;
}

void
stats_phase(const char *phase)
{
	static double first, last;
	char text[4096];
	double now = clock_ms();
	FILE *f;
	size_t n = 0;

	if (!stats_enabled)
		return;
	if (first == 0)
		first = last = now;
	f = fopen("/proc/self/status", "r");
	if (f) {
		n = fread(text, 1, sizeof(text) - 1, f);
		fclose(f);
	}
	text[n] = '\0';
	fprintf(stderr, "dmbuild: stats: %-22s %8.1f ms %9.1f ms  rss %6ld KiB  peak %6ld KiB\n",
		phase, now - last, now - first, status_kib(text, "VmRSS:"),
		status_kib(text, "VmHWM:"));
	last = now;
}
