/* util.c - allocation that never returns NULL, growable buffers,
 * diagnostics.  See util.h.
 *
 * A struct diag holds at most DIAG_MAX_KEPT errors and as many warnings;
 * nerrors - ndropped of its items are errors.  Every kept message is at
 * most DIAG_MAX_MSG bytes of UTF-8 with no control characters but '\n'
 * and '\t', whatever the input quoted in it. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

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

int
file_read(const char *path, char **data, size_t *len)
{
	struct buf b = {0};
	char tmp[65536];
	size_t n;
	FILE *f;

	*data = NULL;
	*len = 0;
	f = fopen(path, "rb");
	if (!f)
		return errno == ENOENT || errno == ENOTDIR ? DM_ENOTFOUND : DM_EIO;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_add(&b, tmp, n);
	if (ferror(f)) {
		int e = errno;

		fclose(f);
		buf_free(&b);
		errno = e;
		return DM_EIO;
	}
	fclose(f);
	*len = b.len;
	*data = buf_release(&b);
	return 0;
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
};

uint64_t
fnv1a(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 14695981039346656037ULL;

	while (n--)
		h = (h ^ *s++) * 1099511628211ULL;
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

void
strmap_free(struct strmap *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->cap; i++)
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

void *
strmap_put(struct strmap *m, const char *key, size_t klen, void *val)
{
	size_t h = (size_t)fnv1a(key, klen), i;
	struct strmap_slot *s;
	void *old;

	if ((m->n + 1) * 4 > m->cap * 3) {
		struct strmap_slot *oldslots = m->slots;
		size_t oldcap = m->cap;

		m->cap *= 2;
		m->slots = xcalloc(m->cap, sizeof(*m->slots));
		for (i = 0; i < oldcap; i++)
			if (oldslots[i].key)
				*strmap_find(m, oldslots[i].key, oldslots[i].klen, oldslots[i].hash) =
					oldslots[i];
		free(oldslots);
	}
	s = strmap_find(m, key, klen, h);
	if (s->key) {
		old = s->val;
		s->val = val;
		return old;
	}
	s->key = xstrndup(key, klen);
	s->klen = klen;
	s->hash = h;
	s->val = val;
	m->n++;
	return NULL;
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

const unsigned char *
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

unsigned long
cur_u32(struct cursor *c)
{
	const unsigned char *p = cur_take(c, 4);

	return p ? (unsigned long)p[0] | (unsigned long)p[1] << 8 | (unsigned long)p[2] << 16 |
			(unsigned long)p[3] << 24
		 : 0;
}

unsigned long long
cur_u64(struct cursor *c)
{
	unsigned long long lo = cur_u32(c);

	return lo | (unsigned long long)cur_u32(c) << 32;
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
