/* lock.c - reading and writing dmbuild.lock; see lock.h for the format.
 *
 * The reader stops at the first error, at its line and column (bytes,
 * 1-based).  Lock text quoted in a message goes through text_snip: at
 * most LOCK_SNIP bytes, cut at a character boundary, control bytes and
 * bytes that are not UTF-8 escaped. */
#include <stdlib.h>
#include <string.h>

#include "fsio.h"
#include "lock.h"

#define LOCK_SNIP 52 /* a quote in a message: <= 48 bytes, "..." and NUL */

static void
entry_free(struct lock_entry *e)
{
	free(e->out);
	free(e->slot);
	free(e->provider);
	free(e->model);
	free(e->fill);
}

void
lock_free(struct lock *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		entry_free(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

struct lock_entry *
lock_find(struct lock *l, const char *out, const char *slot)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].out, out) && !strcmp(l->v[i].slot, slot))
			return &l->v[i];
	return NULL;
}

void
lock_set(struct lock *l, const char *out, const char *slot, struct digest key,
	const char *provider, const char *model, const char *fill)
{
	struct lock_entry *e = lock_find(l, out, slot);

	if (e && digest_eq(e->key, key) && !strcmp(e->provider, provider) &&
		!strcmp(e->model, model) && !strcmp(e->fill, fill)) {
		e->used = 1;
		return;
	}
	if (!e) {
		if (l->n == l->cap) {
			l->cap = l->cap ? l->cap * 2 : 8;
			l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
		}
		e = &l->v[l->n++];
		memset(e, 0, sizeof(*e));
		e->out = xstrdup(out);
		e->slot = xstrdup(slot);
	} else {
		free(e->provider);
		free(e->model);
		free(e->fill);
	}
	e->key = key;
	e->provider = xstrdup(provider);
	e->model = xstrdup(model);
	e->fill = xstrdup(fill);
	e->used = 1;
	l->changed = 1;
}

void
lock_drop_unused(struct lock *l)
{
	size_t i, k = 0;

	for (i = 0; i < l->n; i++) {
		if (l->v[i].used) {
			l->v[k++] = l->v[i];
		} else {
			entry_free(&l->v[i]);
			l->changed = 1;
		}
	}
	l->n = k;
}

static int
by_slot(const void *a, const void *b)
{
	const struct lock_entry *x = a, *y = b;
	int c = strcmp(x->out, y->out);

	return c ? c : strcmp(x->slot, y->slot);
}

char *
lock_text(struct lock *l, size_t *len)
{
	struct buf b = {0};
	size_t i;

	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), by_slot);
	buf_adds(&b, "# dmbuild.lock: accepted LLM slot fills.  Written by dmbuild; commit it.\n");
	for (i = 0; i < l->n; i++) {
		const struct lock_entry *e = &l->v[i];
		char hex[DIGEST_HEX_LEN + 1];
		const char *p = e->fill;

		digest_hex(e->key, hex);
		buf_printf(&b, "\nslot %s %s\nkey      %s\nprovider %s\nmodel    %s\nfill\n", e->out,
			e->slot, hex, e->provider, e->model);
		while (*p) {
			const char *nl = strchr(p, '\n');
			size_t n = nl ? (size_t)(nl - p) : strlen(p);

			buf_addc(&b, '|');
			buf_add(&b, p, n);
			buf_addc(&b, '\n');
			p += n + (nl ? 1 : 0);
		}
		buf_adds(&b, "end\n");
	}
	*len = b.len;
	return buf_release(&b);
}

int
lock_write(const char *path, struct lock *l)
{
	size_t len, oldlen;
	char *text = lock_text(l, &len), *old = NULL;
	int r = 0;

	if (file_read(path, &old, &oldlen) != 0 || oldlen != len || memcmp(old, text, len) != 0)
		r = fs_write_atomic(path, text, len);
	free(old);
	free(text);
	return r;
}

/* A line-at-a-time reader that knows where it is. */
struct lr {
	const char *name, *p, *end;
	int line;
	const char *s; /* the current line */
	size_t n;
};

static int
next_line(struct lr *r)
{
	const char *nl;

	if (r->p >= r->end)
		return 0;
	nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
	r->s = r->p;
	r->n = nl ? (size_t)(nl - r->p) : (size_t)(r->end - r->p);
	r->p += r->n + (nl ? 1 : 0);
	r->line++;
	return 1;
}

/* field: "WORD VALUE" with WORD = want; the value, trimmed (malloc'd),
 * and its column in *col. */
static char *
field(struct lr *r, const char *want, int *col, struct diag *d)
{
	size_t wl = strlen(want), i;
	char q[LOCK_SNIP];

	if (!next_line(r)) {
		diag_add(d, r->name, r->line + 1, 1, "expected '%s', found the end of the file", want);
		return NULL;
	}
	if (r->n <= wl || memcmp(r->s, want, wl) != 0 || (r->s[wl] != ' ' && r->s[wl] != '\t')) {
		diag_add(d, r->name, r->line, 1, "expected '%s VALUE', found '%s'", want,
			text_snip(q, sizeof q, r->s, r->n));
		return NULL;
	}
	for (i = wl; i < r->n && (r->s[i] == ' ' || r->s[i] == '\t'); i++)
		;
	if (i == r->n) {
		diag_add(d, r->name, r->line, (int)i + 1, "expected a value after '%s'", want);
		return NULL;
	}
	*col = (int)i + 1;
	return xstrndup(r->s + i, r->n - i);
}

int
lock_parse(const char *name, const char *text, size_t len, struct lock *l, struct diag *d)
{
	struct lr r = {name, text, text + len, 0, NULL, 0};
	size_t nerr = d->nerrors;

	memset(l, 0, sizeof(*l));
	if (memchr(text, '\0', len)) {
		diag_add(d, name, 1, 1, "a NUL byte in the lock file");
		return DM_EINPUT;
	}
	while (next_line(&r) && d->nerrors == nerr) {
		struct lock_entry e = {0};
		struct buf fill = {0};
		char *rest, *sp, *key = NULL, q[LOCK_SNIP], q2[LOCK_SNIP];
		int slot_line = r.line, kcol = 1;

		if (r.n == 0 || r.s[0] == '#')
			continue;
		if (r.n < 6 || memcmp(r.s, "slot ", 5) != 0) {
			diag_add(d, name, r.line, 1, "expected 'slot OUTPUT NAME', found '%s'",
				text_snip(q, sizeof q, r.s, r.n));
			break;
		}
		rest = xstrndup(r.s + 5, r.n - 5);
		sp = strrchr(rest, ' ');
		if (!sp || sp == rest || !sp[1]) {
			diag_add(d, name, r.line, 6, "expected 'slot OUTPUT NAME'");
			free(rest);
			break;
		}
		*sp = '\0';
		e.out = xstrdup(rest);
		e.slot = xstrdup(sp + 1);
		free(rest);
		if ((key = field(&r, "key", &kcol, d)) == NULL || digest_parse(key, &e.key) != 0) {
			if (key)
				diag_add(d, name, r.line, kcol, "expected 32 hex digits, found '%s'",
					text_snip(q, sizeof q, key, strlen(key)));
		} else if ((e.provider = field(&r, "provider", &kcol, d)) &&
			   (e.model = field(&r, "model", &kcol, d))) {
			if (!next_line(&r) || r.n != 4 || memcmp(r.s, "fill", 4) != 0) {
				diag_add(d, name, r.line, 1, "expected 'fill'");
			} else {
				int closed = 0;

				while (next_line(&r)) {
					if (r.n == 3 && !memcmp(r.s, "end", 3)) {
						closed = 1;
						break;
					}
					if (!r.n || r.s[0] != '|') {
						diag_add(d, name, r.line, 1,
							"expected a fill line starting with '|' or 'end'");
						break;
					}
					buf_add(&fill, r.s + 1, r.n - 1);
					buf_addc(&fill, '\n');
				}
				if (!closed && d->nerrors == nerr)
					diag_add(d, name, r.line + 1, 1,
						"expected 'end' before the end of the file");
			}
		}
		free(key);
		if (d->nerrors != nerr) {
			entry_free(&e);
			buf_free(&fill);
			break;
		}
		if (lock_find(l, e.out, e.slot)) {
			diag_add(d, name, slot_line, 1, "a second entry for slot %s %s",
				text_snip(q, sizeof q, e.out, strlen(e.out)),
				text_snip(q2, sizeof q2, e.slot, strlen(e.slot)));
			entry_free(&e);
			buf_free(&fill);
			break;
		}
		e.fill = buf_release(&fill);
		if (l->n == l->cap) {
			l->cap = l->cap ? l->cap * 2 : 8;
			l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
		}
		l->v[l->n++] = e;
	}
	if (d->nerrors != nerr) {
		lock_free(l);
		return DM_EINPUT;
	}
	return 0;
}

int
lock_read(const char *path, struct lock *l, struct diag *d)
{
	char *text;
	size_t len;
	int r = file_read(path, &text, &len);

	memset(l, 0, sizeof(*l));
	if (r == DM_ENOTFOUND)
		return 0;
	if (r) {
		diag_add(d, path, 0, 0, "cannot read the lock file");
		return DM_EIO;
	}
	r = lock_parse(path, text, len, l, d);
	free(text);
	return r;
}
