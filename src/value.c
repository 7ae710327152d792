/* value.c - the value tree: construction, merging, freezing, paths,
 * digests and formatting.  See value.h.
 *
 * Invariants:
 *  - a VAL_STR always has s != NULL (possibly ""), NUL-terminated at slen.
 *  - a VAL_MAP keeps its keys in insertion order; keys are unique.  A map
 *    with more than VAL_INDEX_MIN keys always has an index (built by
 *    val_map_set as the map grows, and by val_freeze), so the index is
 *    never stale: every insertion goes through val_map_set or
 *    index_insert.  The index is an open-addressing table of positions + 1
 *    (0 = empty slot), at most half full.
 *  - val_freeze computes everything readers need (paths, digests,
 *    indexes); nothing is computed lazily afterwards, so frozen trees may be
 *    read by many threads.
 *  - Digests are stable across runs and machines: a kind tag byte, then
 *    the canonical content (lengths and integers little-endian, floats as
 *    their val_format text, which is unique per double except NaNs).
 *    SHAPE digests start with their own tag so they never collide with a
 *    VALUE digest by construction.
 *  - Paths: a key matching [A-Za-z0-9_-]+ is written bare (PARENT.KEY);
 *    any other key is written ["..."] with \" and \\ escaped and a NUL
 *    byte written as \0 (an extension, so that every key has a path).
 *    val_resolve() takes a path relative to the node it is given and
 *    accepts exactly this syntax.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "value.h"

#define VAL_INDEX_MIN 8

struct val_index {
	size_t cap;    /* a power of two */
	size_t *slots; /* position + 1, or 0 */
};

/* Kind tags fed to the hasher; fixed forever (digests live in caches). */
static const unsigned char kind_tag[] = {'n', 'b', 'i', 'f', 's', 'l', 'm'};
#define SHAPE_TAG 'S'

struct val *
val_new(enum val_kind kind)
{
	struct val *v = xcalloc(1, sizeof(*v));

	v->kind = kind;
	if (kind == VAL_STR)
		v->s = xstrdup("");
	return v;
}

struct val *
val_new_str(const char *s, size_t n)
{
	struct val *v = xcalloc(1, sizeof(*v));

	v->kind = VAL_STR;
	v->s = n ? xstrndup(s, n) : xstrdup("");
	v->slen = n;
	return v;
}

struct val *
val_new_int(long long i)
{
	struct val *v = val_new(VAL_INT);

	v->i = i;
	return v;
}

struct val *
val_new_float(double f)
{
	struct val *v = val_new(VAL_FLOAT);

	v->f = f;
	return v;
}

struct val *
val_new_bool(int b)
{
	struct val *v = val_new(VAL_BOOL);

	v->b = !!b;
	return v;
}

static void
index_free(struct val_index *ix)
{
	if (!ix)
		return;
	free(ix->slots);
	free(ix);
}

/* val_clear: free everything v owns, leaving v itself allocated. */
static void
val_clear(struct val *v)
{
	size_t i;

	free(v->s);
	for (i = 0; i < v->n; i++) {
		val_free(v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->keylens);
	index_free(v->idx);
	free(v->path);
}

void
val_free(struct val *v)
{
	if (!v)
		return;
	val_clear(v);
	free(v);
}

struct val *
val_copy(const struct val *v)
{
	struct val *c;
	size_t i;

	if (!v)
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->kind = v->kind;
	c->pos = v->pos;
	switch (v->kind) {
	case VAL_NULL:
		break;
	case VAL_BOOL:
		c->b = v->b;
		break;
	case VAL_INT:
		c->i = v->i;
		break;
	case VAL_FLOAT:
		c->f = v->f;
		break;
	case VAL_STR:
		c->s = xstrndup(v->s ? v->s : "", v->slen);
		c->slen = v->slen;
		break;
	case VAL_LIST:
		for (i = 0; i < v->n; i++)
			val_list_push(c, val_copy(v->items[i]));
		break;
	case VAL_MAP:
		for (i = 0; i < v->n; i++)
			val_map_set(c, v->keys[i], v->keylens[i], val_copy(v->items[i]));
		break;
	}
	return c;
}

static void
val_grow(struct val *v)
{
	if (v->n < v->cap)
		return;
	v->cap = v->cap ? v->cap * 2 : 4;
	v->items = xreallocarray(v->items, v->cap, sizeof(*v->items));
	if (v->kind == VAL_MAP) {
		v->keys = xreallocarray(v->keys, v->cap, sizeof(*v->keys));
		v->keylens = xreallocarray(v->keylens, v->cap, sizeof(*v->keylens));
	}
}

void
val_list_push(struct val *list, struct val *item)
{
	val_grow(list);
	list->items[list->n++] = item;
}

static size_t
key_hash(const char *key, size_t klen)
{
	return (size_t)hash_bytes(key, klen).lo;
}

static void
index_put(struct val_index *ix, const struct val *map, size_t pos)
{
	size_t mask = ix->cap - 1;
	size_t h = key_hash(map->keys[pos], map->keylens[pos]) & mask;

	while (ix->slots[h])
		h = (h + 1) & mask;
	ix->slots[h] = pos + 1;
}

/* index_build: (re)build the index of map sized for at least want keys. */
static void
index_build(struct val *map, size_t want)
{
	struct val_index *ix;
	size_t cap = 16, i;

	while (cap < want * 2)
		cap *= 2;
	index_free(map->idx);
	ix = xmalloc(sizeof(*ix));
	ix->cap = cap;
	ix->slots = xcalloc(cap, sizeof(*ix->slots));
	map->idx = ix;
	for (i = 0; i < map->n; i++)
		index_put(ix, map, i);
}

/* index_insert: account for the key just appended at position n - 1. */
static void
index_insert(struct val *map)
{
	if (map->n <= VAL_INDEX_MIN)
		return;
	if (!map->idx || map->n * 2 > map->idx->cap)
		index_build(map, map->n * 2);
	else
		index_put(map->idx, map, map->n - 1);
}

static long
map_find(const struct val *map, const char *key, size_t klen)
{
	size_t i;

	if (map->idx) {
		size_t mask = map->idx->cap - 1;
		size_t h = key_hash(key, klen) & mask;

		while ((i = map->idx->slots[h]) != 0) {
			i--;
			if (map->keylens[i] == klen && !memcmp(map->keys[i], key, klen))
				return (long)i;
			h = (h + 1) & mask;
		}
		return -1;
	}
	for (i = 0; i < map->n; i++)
		if (map->keylens[i] == klen && !memcmp(map->keys[i], key, klen))
			return (long)i;
	return -1;
}

void
val_map_set(struct val *map, const char *key, size_t klen, struct val *item)
{
	long at = map_find(map, key, klen);

	if (at >= 0) {
		val_free(map->items[at]);
		map->items[at] = item;
		return;
	}
	val_grow(map);
	map->keys[map->n] = xstrndup(key, klen);
	map->keylens[map->n] = klen;
	map->items[map->n] = item;
	map->n++;
	index_insert(map);
}

struct val *
val_map_get(const struct val *map, const char *key, size_t klen)
{
	long at;

	if (!map || map->kind != VAL_MAP)
		return NULL;
	at = map_find(map, key, klen);
	return at < 0 ? NULL : map->items[at];
}

void
val_merge(struct val *dst, struct val *src)
{
	size_t i;

	if (dst->kind == VAL_MAP && src->kind == VAL_MAP) {
		for (i = 0; i < src->n; i++) {
			struct val *old = val_map_get(dst, src->keys[i], src->keylens[i]);

			if (old && old->kind == VAL_MAP && src->items[i]->kind == VAL_MAP)
				val_merge(old, src->items[i]);
			else
				val_map_set(dst, src->keys[i], src->keylens[i], src->items[i]);
			free(src->keys[i]);
		}
		src->n = 0;
		val_free(src);
		return;
	}
	val_clear(dst);
	*dst = *src;
	dst->path = NULL;
	memset(&dst->digest, 0, sizeof(dst->digest));
	free(src->path);
	free(src);
}

static int
key_is_bare(const char *key, size_t klen)
{
	size_t i;

	if (!klen)
		return 0;
	for (i = 0; i < klen; i++) {
		unsigned char c = (unsigned char)key[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			    c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

char *
val_child_path(const char *parent, const char *key, size_t klen)
{
	struct buf b = {0};
	size_t i;

	if (!parent)
		parent = "";
	buf_adds(&b, parent);
	if (key_is_bare(key, klen)) {
		if (*parent)
			buf_addc(&b, '.');
		buf_add(&b, key, klen);
		return buf_release(&b);
	}
	buf_adds(&b, "[\"");
	for (i = 0; i < klen; i++) {
		if (key[i] == '"' || key[i] == '\\')
			buf_addc(&b, '\\');
		if (key[i] == '\0')
			buf_adds(&b, "\\0");
		else
			buf_addc(&b, key[i]);
	}
	buf_adds(&b, "\"]");
	return buf_release(&b);
}

static char *
item_path(const char *parent, size_t i)
{
	return xasprintf("%s[%zu]", parent, i);
}

static void
hash_format(struct hasher *h, const struct val *v)
{
	struct buf b = {0};

	val_format(v, &b);
	hasher_add_str(h, b.data ? b.data : "", b.len);
	buf_free(&b);
}

static void
freeze_node(struct val *v, char *path, struct hasher *h)
{
	size_t i;

	free(v->path);
	v->path = path;
	for (i = 0; i < v->n; i++) {
		char *cp = v->kind == VAL_MAP ? val_child_path(path, v->keys[i], v->keylens[i])
					      : item_path(path, i);

		freeze_node(v->items[i], cp, h);
	}
	if (v->kind == VAL_MAP && v->n > VAL_INDEX_MIN && !v->idx)
		index_build(v, v->n);

	hasher_reset(h);
	hasher_add(h, &kind_tag[v->kind], 1);
	switch (v->kind) {
	case VAL_NULL:
		break;
	case VAL_BOOL:
		hasher_add(h, v->b ? "1" : "0", 1);
		break;
	case VAL_INT:
	case VAL_FLOAT:
		hash_format(h, v);
		break;
	case VAL_STR:
		hasher_add_str(h, v->s, v->slen);
		break;
	case VAL_LIST:
		hasher_add_u64(h, v->n);
		for (i = 0; i < v->n; i++)
			hasher_add_digest(h, v->items[i]->digest);
		break;
	case VAL_MAP:
		hasher_add_u64(h, v->n);
		for (i = 0; i < v->n; i++) {
			hasher_add_str(h, v->keys[i], v->keylens[i]);
			hasher_add_digest(h, v->items[i]->digest);
		}
		break;
	}
	v->digest = hasher_final(h);
}

void
val_freeze(struct val *root, const char *root_path)
{
	struct hasher *h = hasher_new();

	freeze_node(root, xstrdup(root_path ? root_path : ""), h);
	hasher_free(h);
}

/* parse_quoted: p points after ["; decode the key into b, return the
 * position after "], or NULL on bad syntax. */
static const char *
parse_quoted(const char *p, struct buf *b)
{
	buf_clear(b);
	buf_add(b, "", 0);
	for (;;) {
		if (*p == '\0')
			return NULL;
		if (*p == '"')
			break;
		if (*p == '\\') {
			p++;
			if (*p == '"' || *p == '\\')
				buf_addc(b, *p);
			else if (*p == '0')
				buf_addc(b, '\0');
			else
				return NULL;
			p++;
			continue;
		}
		buf_addc(b, *p++);
	}
	if (p[1] != ']')
		return NULL;
	return p + 2;
}

const struct val *
val_resolve(const struct val *root, const char *path)
{
	const struct val *v = root;
	const char *p = path;
	struct buf key = {0};
	int first = 1;

	if (!v || !p)
		return NULL;
	while (v && *p) {
		if (*p == '[' && p[1] == '"') {
			p = parse_quoted(p + 2, &key);
			v = p ? val_map_get(v, key.data, key.len) : NULL;
		} else if (*p == '[') {
			size_t i = 0;

			p++;
			if (*p < '0' || *p > '9')
				v = NULL;
			while (v && *p >= '0' && *p <= '9') {
				size_t d = (size_t)(*p++ - '0');

				if (i > (SIZE_MAX - d) / 10)
					v = NULL;
				else
					i = i * 10 + d;
			}
			if (v && *p++ != ']')
				v = NULL;
			if (v)
				v = v->kind == VAL_LIST && i < v->n ? v->items[i] : NULL;
		} else {
			const char *k;
			size_t klen;

			if (!first && *p++ != '.')
				v = NULL;
			k = p;
			while (*p && *p != '.' && *p != '[')
				p++;
			klen = (size_t)(p - k);
			if (v)
				v = key_is_bare(k, klen) ? val_map_get(v, k, klen) : NULL;
		}
		first = 0;
	}
	buf_free(&key);
	return v;
}

struct digest
val_use_digest(const struct val *v, enum val_use use)
{
	unsigned char b[11];
	uint64_t n;
	int i;

	if (use == VAL_USE_VALUE)
		return v->digest;
	n = v->kind == VAL_LIST ? v->n : 0;
	b[0] = SHAPE_TAG;
	b[1] = kind_tag[v->kind];
	b[2] = (unsigned char)val_truthy(v);
	for (i = 0; i < 8; i++)
		b[3 + i] = (unsigned char)(n >> (8 * i));
	return hash_bytes(b, v->kind == VAL_LIST ? 11 : 3);
}

int
val_truthy(const struct val *v)
{
	if (!v)
		return 0;
	switch (v->kind) {
	case VAL_NULL:
		return 0;
	case VAL_BOOL:
		return v->b;
	case VAL_STR:
		return v->slen > 0;
	case VAL_LIST:
		return v->n > 0;
	case VAL_INT:
	case VAL_FLOAT:
	case VAL_MAP:
		return 1;
	}
	return 0;
}

/* format_float: the fewest significant digits that read back to the same
 * double, written like JavaScript does: plain decimals for exponents in
 * [-6, 21), else d.ddde+XX or d.ddde-XX. */
static void
format_float(double f, struct buf *out)
{
	char tmp[64], digits[32];
	int prec, exp, k = 0;
	const char *p;

	if (isnan(f)) {
		buf_adds(out, "nan");
		return;
	}
	if (isinf(f)) {
		buf_adds(out, f < 0 ? "-inf" : "inf");
		return;
	}
	for (prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, f);
		if (strtod(tmp, NULL) == f)
			break;
	}
	p = tmp;
	if (*p == '-') {
		buf_addc(out, '-');
		p++;
	}
	for (; *p && *p != 'e'; p++)
		if (*p != '.')
			digits[k++] = *p;
	exp = atoi(p + 1);
	while (k > 1 && digits[k - 1] == '0')
		k--;
	digits[k] = '\0';
	if (exp >= 21 || exp < -6) {
		buf_addc(out, digits[0]);
		if (k > 1) {
			buf_addc(out, '.');
			buf_adds(out, digits + 1);
		}
		buf_printf(out, "e%c%d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
	} else if (exp < 0) {
		buf_adds(out, "0.");
		for (; exp < -1; exp++)
			buf_addc(out, '0');
		buf_adds(out, digits);
	} else if (k <= exp + 1) {
		buf_adds(out, digits);
		for (; k < exp + 1; k++)
			buf_addc(out, '0');
	} else {
		buf_add(out, digits, (size_t)exp + 1);
		buf_addc(out, '.');
		buf_adds(out, digits + exp + 1);
	}
}

void
val_format(const struct val *v, struct buf *out)
{
	if (!v)
		return;
	switch (v->kind) {
	case VAL_NULL:
	case VAL_LIST:
	case VAL_MAP:
		break;
	case VAL_BOOL:
		buf_adds(out, v->b ? "true" : "false");
		break;
	case VAL_INT:
		buf_printf(out, "%lld", v->i);
		break;
	case VAL_FLOAT:
		format_float(v->f, out);
		break;
	case VAL_STR:
		buf_add(out, v->s, v->slen);
		break;
	}
}

const char *
val_kind_name(enum val_kind k)
{
	switch (k) {
	case VAL_NULL: return "null";
	case VAL_BOOL: return "bool";
	case VAL_INT: return "int";
	case VAL_FLOAT: return "float";
	case VAL_STR: return "string";
	case VAL_LIST: return "list";
	case VAL_MAP: return "map";
	}
	return "unknown";
}
