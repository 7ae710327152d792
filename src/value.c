/* value.c - the value tree: construction, arenas, merging, freezing,
 * paths, digests and formatting.  See value.h.
 *
 * Invariants:
 *  - a VAL_STR always has s != NULL (possibly ""), NUL-terminated at slen.
 *  - a VAL_MAP keeps its keys in insertion order; keys are unique.  A map
 *    with more than VAL_INDEX_MIN keys always has an index (built by
 *    val_map_set as the map grows, and by val_freeze), so the index is
 *    never stale: every insertion goes through val_map_set (project.c's
 *    hand-built frames are the exception, below).  The index is
 *    an open-addressing table of positions + 1 (0 = empty slot), at most
 *    half full, hashed with FNV-1a (it lives in memory only).
 *  - val_freeze computes everything readers need (paths, digests,
 *    indexes); nothing is computed lazily afterwards, so frozen trees may be
 *    read by many threads.  It also trims every list and map to cap == n.
 *  - Digests are stable across runs and machines: a kind tag byte, then
 *    the canonical content (lengths and integers little-endian, floats as
 *    their val_format text, which is unique per double except NaNs).  The
 *    bytes of a node are laid out in a buffer and hashed in one call, which
 *    gives the same XXH3-128 as streaming them through a hasher would.
 *    SHAPE digests start with their own tag so they never collide with a
 *    VALUE digest by construction.
 *  - Paths: a key matching [A-Za-z0-9_-]+ is written bare (PARENT.KEY);
 *    any other key is written ["..."] with \" and \\ escaped and a NUL
 *    byte written as \0 (an extension, so that every key has a path).
 *    val_resolve() takes a path relative to the node it is given and
 *    accepts exactly this syntax.
 *
 * Ownership (value.h, Memory):
 *  - A heap node (arena == NULL) is one malloc, and so are its string, its
 *    path, each key, the items, keys and keylens arrays and its index.
 *    val_free() frees it with everything it owns; children that are arena
 *    nodes are not owned (val_free does nothing for them) unless they are
 *    an arena's root.
 *  - project.c builds its atoms' frames by hand instead, in its own pool
 *    (arena == NULL, but keys, arrays and the @key and @index nodes in
 *    the pool): they are only read (val_map_get, Mustache lookups), never
 *    changed or passed to val_free, and a frame of more than
 *    VAL_INDEX_MIN keys has no index (map_find scans it).  The @key and
 *    @index nodes get their digests from val_digest, as if frozen.
 *  - An arena node (arena != NULL) lives in its arena, and so do its
 *    string, keys, path, arrays and index.  Nothing of it is ever freed on
 *    its own: the arena goes as a whole.  Every node knows its arena so
 *    that val_map_set and val_list_push can allocate there.  An arena has
 *    at most one root, the node recorded in it (arena->root == v is the
 *    "root flag"); val_free(root) frees the arena, val_free() of any
 *    other node of it is a no-op.
 *  - An arena may adopt another one (owner != NULL): a root of arena B
 *    put into a tree of arena A (val_map_set, val_list_push, val_merge)
 *    stops being a root, and B is freed when A is.  Arenas linked by
 *    owner form a family whose top is the one with owner == NULL.
 *  - A node that its holder must free ("owned": a heap node or an arena
 *    root of another family) may be put into an arena tree.  The top of the
 *    family counts those (foreign); when it is freed with foreign != 0 it
 *    walks its tree once and frees them.  A subtree of the family that is
 *    replaced or dropped (val_map_set, val_merge) is walked the same way.
 *    In the usual case (a tree loaded by spec.c or json.c) foreign stays
 *    0 and freeing costs one free() per chunk.
 *  - val_merge brings src into dst's family first: an arena root is
 *    adopted; anything else from elsewhere is copied into dst's arena (or,
 *    for a heap dst, onto the heap) and the original freed.
 *  - Arena memory comes from a util.h pool (chunks from malloc, growing;
 *    a big request gets a chunk of its own).  The arrays of a growing
 *    list or map are blocks whose size is a power of two; when they grow or are trimmed, the old block goes to a
 *    free list per size (blocks are filed under the largest power of two
 *    that fits in them, so a block taken from a list is never too small)
 *    and the next array of that size reuses it.  The spec loader trims
 *    every collection when it ends, so a loaded tree has no spare room and
 *    almost nothing is left on the free lists.  On the 1 MB benchmark spec
 *    (78k nodes) the arena hands out 13.1 MB (nodes, strings, indexes,
 *    free blocks) and holds 13.5 MB (chunk tails): a compaction pass would
 *    win under 5%, so there is none.
 *  - struct val is 120 bytes on LP64 (b, i and f share storage; cap is 32
 *    bits, filling the hole after kind).
 */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "value.h"

#define VAL_INDEX_MIN 8
#define ARENA_CLASSES (sizeof(size_t) * CHAR_BIT)

struct val_index {
	size_t cap;       /* a power of two */
	uint32_t slots[]; /* position + 1, or 0 */
};

struct val_arena {
	struct pool mem;          /* where nodes, strings and arrays come from */
	size_t used;              /* bytes handed out */
	struct val *root;         /* the node that owns the arena, or NULL */
	struct val_arena *owner;  /* the arena that adopted this one */
	struct val_arena *subs;   /* arenas adopted by this one ... */
	struct val_arena *sibling; /* ... linked through sibling */
	size_t foreign;           /* owned nodes put into the tree (top only) */
	void *blocks[ARENA_CLASSES]; /* free blocks of 2^k bytes */
};

/* Kind tags fed to the hasher; fixed forever (digests live in caches). */
static const unsigned char kind_tag[] = {'n', 'b', 'i', 'f', 's', 'l', 'm'};
#define SHAPE_TAG 'S'

/* Characters of a bare key: [A-Za-z0-9_-]. */
static const unsigned char bare_char[256] = {
	['-'] = 1, ['_'] = 1,
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1,
	['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1,
	['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1,
	['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1,
	['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1,
	['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1,
	['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1,
	['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

/* ---- arenas ------------------------------------------------------------ */

struct val_arena *
val_arena_new(void)
{
	return xcalloc(1, sizeof(struct val_arena));
}

/* arena_alloc: n bytes aligned to align (a power of two <= the alignment
 * of max_align_t). */
static void *
arena_alloc(struct val_arena *a, size_t n, size_t align)
{
	a->used += n;
	return pool_take(&a->mem, n, align);
}

static char *
arena_strndup(struct val_arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1, 1);

	if (n)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static unsigned
floor_log2(size_t n)
{
	unsigned k = 0;

	while (n >>= 1)
		k++;
	return k;
}

static int
is_pow2(size_t n)
{
	return n && !(n & (n - 1));
}

/* arr_alloc: room for an array of n bytes: a recycled or new block when n
 * is a power of two, else exactly n bytes. */
static void *
arr_alloc(struct val_arena *a, size_t n)
{
	if (is_pow2(n) && n >= sizeof(void *)) {
		unsigned k = floor_log2(n);
		void *p = a->blocks[k];

		if (p) {
			memcpy(&a->blocks[k], p, sizeof(void *));
			return p;
		}
	}
	return arena_alloc(a, n, sizeof(void *));
}

/* arr_release: p (n bytes) is no longer used; file it for reuse. */
static void
arr_release(struct val_arena *a, void *p, size_t n)
{
	unsigned k;

	if (!p || n < sizeof(void *))
		return;
	k = floor_log2(n);
	memcpy(p, &a->blocks[k], sizeof(void *));
	a->blocks[k] = p;
}

static struct val_arena *
top_of(struct val_arena *a)
{
	while (a->owner)
		a = a->owner;
	return a;
}

static void
arena_adopt(struct val_arena *a, struct val_arena *b)
{
	struct val_arena *t = top_of(a);

	b->root = NULL;
	b->owner = a;
	b->sibling = a->subs;
	a->subs = b;
	t->foreign += b->foreign;
	b->foreign = 0;
}

static void
arena_release(struct val_arena *a)
{
	pool_free(&a->mem);
	while (a->subs) {
		struct val_arena *s = a->subs;

		a->subs = s->sibling;
		arena_release(s);
	}
	free(a);
}

/* owned: v must be freed by whoever holds it. */
static int
owned(const struct val *v)
{
	return !v->arena || v->arena->root == v;
}

/* release_foreign: free the owned nodes held in the subtree of v, a node
 * of the family of top. */
static void
release_foreign(struct val_arena *top, struct val *v)
{
	size_t i;

	for (i = 0; i < v->n; i++) {
		struct val *c = v->items[i];

		if (owned(c))
			val_free(c);
		else if (top_of(c->arena) == top)
			release_foreign(top, c);
	}
}

void
val_arena_free(struct val_arena *a)
{
	if (!a)
		return;
	if (a->foreign && a->root)
		release_foreign(a, a->root);
	arena_release(a);
}

void
val_arena_set_root(struct val_arena *a, struct val *root)
{
	a->root = root;
}

static void
usage_of(const struct val_arena *a, size_t *used, size_t *held)
{
	const struct val_arena *s;

	*used += a->used;
	*held += a->mem.held;
	for (s = a->subs; s; s = s->sibling)
		usage_of(s, used, held);
}

void
val_arena_usage(const struct val *root, size_t *used, size_t *held)
{
	*used = *held = 0;
	if (root && root->arena)
		usage_of(top_of(root->arena), used, held);
}

/* take: item was just put into the collection c; make c's family
 * responsible for freeing it if it must be freed. */
static void
take(struct val *c, struct val *item)
{
	struct val_arena *a = c->arena;

	if (!a || !item || item->arena == a)
		return;
	if (!item->arena)
		top_of(a)->foreign++;
	else if (item->arena->root == item)
		arena_adopt(a, item->arena);
}

/* drop: old was just taken out of the collection c: free what it owns. */
static void
drop(const struct val *c, struct val *old)
{
	struct val_arena *t;

	if (!old)
		return;
	if (owned(old)) {
		val_free(old);
		return;
	}
	if (!c->arena || top_of(c->arena) != (t = top_of(old->arena)))
		return; /* borrowed */
	if (t->foreign)
		release_foreign(t, old);
}

/* ---- nodes ------------------------------------------------------------- */

struct val *
val_new_in(struct val_arena *a, enum val_kind kind)
{
	struct val *v;

	if (a) {
		v = arena_alloc(a, sizeof(*v), sizeof(void *));
		memset(v, 0, sizeof(*v));
		v->arena = a;
	} else {
		v = xcalloc(1, sizeof(*v));
	}
	v->kind = kind;
	if (kind == VAL_STR)
		v->s = a ? arena_strndup(a, "", 0) : xstrdup("");
	return v;
}

struct val *
val_new_str_in(struct val_arena *a, const char *s, size_t n)
{
	struct val *v = val_new_in(a, VAL_NULL);

	v->kind = VAL_STR;
	v->s = a ? arena_strndup(a, s, n) : n ? xstrndup(s, n) : xstrdup("");
	v->slen = n;
	return v;
}

struct val *
val_new_int_in(struct val_arena *a, long long i)
{
	struct val *v = val_new_in(a, VAL_INT);

	v->i = i;
	return v;
}

struct val *
val_new_float_in(struct val_arena *a, double f)
{
	struct val *v = val_new_in(a, VAL_FLOAT);

	v->f = f;
	return v;
}

struct val *
val_new_bool_in(struct val_arena *a, int b)
{
	struct val *v = val_new_in(a, VAL_BOOL);

	v->b = !!b;
	return v;
}

struct val *
val_new(enum val_kind kind)
{
	return val_new_in(NULL, kind);
}

struct val *
val_new_str(const char *s, size_t n)
{
	return val_new_str_in(NULL, s, n);
}

struct val *
val_new_int(long long i)
{
	return val_new_int_in(NULL, i);
}

struct val *
val_new_float(double f)
{
	return val_new_float_in(NULL, f);
}

struct val *
val_new_bool(int b)
{
	return val_new_bool_in(NULL, b);
}

static void
index_free(const struct val *v)
{
	if (!v->arena)
		free(v->idx);
}

/* heap_clear: free everything the heap node v owns, leaving v itself. */
static void
heap_clear(struct val *v)
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
	index_free(v);
	free(v->path);
}

void
val_free(struct val *v)
{
	if (!v)
		return;
	if (v->arena) {
		if (v->arena->root == v)
			val_arena_free(v->arena);
		return;
	}
	heap_clear(v);
	free(v);
}

/* ---- arrays ------------------------------------------------------------ */

/* set_cap: resize the arrays of the list or map v to hold cap entries
 * (cap >= v->n). */
static void
set_cap(struct val *v, size_t cap)
{
	struct val_arena *a = v->arena;
	int map = v->kind == VAL_MAP;

	if (cap > UINT_MAX)
		fatal("out of memory");
	if (!a) {
		if (!cap) {
			free(v->items);
			free(v->keys);
			free(v->keylens);
			v->items = NULL;
			v->keys = NULL;
			v->keylens = NULL;
		} else {
			v->items = xreallocarray(v->items, cap, sizeof(*v->items));
			if (map) {
				v->keys = xreallocarray(v->keys, cap, sizeof(*v->keys));
				v->keylens = xreallocarray(v->keylens, cap, sizeof(*v->keylens));
			}
		}
	} else {
		struct val **items = NULL;
		char **keys = NULL;
		size_t *keylens = NULL;

		if (cap > SIZE_MAX / sizeof(void *))
			fatal("out of memory");
		if (cap) {
			items = arr_alloc(a, cap * sizeof(*items));
			if (v->n)
				memcpy(items, v->items, v->n * sizeof(*items));
			if (map) {
				keys = arr_alloc(a, cap * sizeof(*keys));
				keylens = arr_alloc(a, cap * sizeof(*keylens));
				if (v->n) {
					memcpy(keys, v->keys, v->n * sizeof(*keys));
					memcpy(keylens, v->keylens, v->n * sizeof(*keylens));
				}
			}
		}
		arr_release(a, v->items, v->cap * sizeof(*items));
		arr_release(a, v->keys, v->cap * sizeof(*keys));
		arr_release(a, v->keylens, v->cap * sizeof(*keylens));
		v->items = items;
		v->keys = keys;
		v->keylens = keylens;
	}
	v->cap = (unsigned int)cap;
}

static void
val_grow(struct val *v)
{
	if (v->n < v->cap)
		return;
	set_cap(v, v->cap ? (size_t)v->cap * 2 : 4);
}

void
val_reserve(struct val *v, size_t n)
{
	if ((v->kind == VAL_LIST || v->kind == VAL_MAP) && n > v->cap)
		set_cap(v, n);
}

void
val_shrink(struct val *v)
{
	if ((v->kind == VAL_LIST || v->kind == VAL_MAP) && v->cap > v->n)
		set_cap(v, v->n);
}

/* ---- maps -------------------------------------------------------------- */

static size_t
key_hash(const char *key, size_t klen)
{
	uint64_t h = fnv1a(key, klen);

	return (size_t)(h ^ (h >> 29));
}

static void
index_put(struct val_index *ix, const struct val *map, size_t pos)
{
	size_t mask = ix->cap - 1;
	size_t h = key_hash(map->keys[pos], map->keylens[pos]) & mask;

	while (ix->slots[h])
		h = (h + 1) & mask;
	ix->slots[h] = (uint32_t)(pos + 1);
}

/* index_build: (re)build the index of map sized for at least want keys. */
static void
index_build(struct val *map, size_t want)
{
	struct val_index *ix;
	size_t cap = 16, i, size;

	while (cap < want * 2)
		cap *= 2;
	size = sizeof(*ix) + cap * sizeof(ix->slots[0]);
	if (map->arena) {
		if (map->idx)
			arr_release(map->arena, map->idx,
				sizeof(*ix) + map->idx->cap * sizeof(ix->slots[0]));
		ix = arena_alloc(map->arena, size, sizeof(void *));
		memset(ix, 0, size);
	} else {
		index_free(map);
		ix = xcalloc(1, size);
	}
	ix->cap = cap;
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

/* key_eq: a[0..n) == b[0..n); keys are short, so a loop beats a call. */
static inline int
key_eq(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (a[i] != b[i])
			return 0;
	return 1;
}

static long
map_find_indexed(const struct val *map, const char *key, size_t klen)
{
	size_t mask = map->idx->cap - 1;
	size_t h = key_hash(key, klen) & mask, i;

	while ((i = map->idx->slots[h]) != 0) {
		i--;
		if (map->keylens[i] == klen && key_eq(map->keys[i], key, klen))
			return (long)i;
		h = (h + 1) & mask;
	}
	return -1;
}

/* map_find: the position of key in map, or -1. */
static inline long
map_find(const struct val *map, const char *key, size_t klen)
{
	size_t i;

	if (map->idx)
		return map_find_indexed(map, key, klen);
	for (i = 0; i < map->n; i++)
		if (map->keylens[i] == klen && key_eq(map->keys[i], key, klen))
			return (long)i;
	return -1;
}

void
val_map_set(struct val *map, const char *key, size_t klen, struct val *item)
{
	long at = map_find(map, key, klen);

	if (at >= 0) {
		struct val *old = map->items[at];

		map->items[at] = item;
		take(map, item);
		if (old != item)
			drop(map, old);
		return;
	}
	val_grow(map);
	map->keys[map->n] = map->arena ? arena_strndup(map->arena, key, klen) : xstrndup(key, klen);
	map->keylens[map->n] = klen;
	map->items[map->n] = item;
	map->n++;
	index_insert(map);
	take(map, item);
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
val_list_push(struct val *list, struct val *item)
{
	val_grow(list);
	list->items[list->n++] = item;
	take(list, item);
}

/* ---- copies and merging ------------------------------------------------ */

struct val *
val_copy_in(struct val_arena *a, const struct val *v)
{
	struct val *c;
	size_t i;

	if (!v)
		return NULL;
	if (v->kind == VAL_STR) {
		c = val_new_str_in(a, v->s ? v->s : "", v->slen);
	} else {
		c = val_new_in(a, v->kind);
		if (v->kind == VAL_BOOL)
			c->b = v->b;
		else if (v->kind == VAL_INT)
			c->i = v->i;
		else if (v->kind == VAL_FLOAT)
			c->f = v->f;
	}
	c->pos = v->pos;
	if (v->kind == VAL_LIST) {
		val_reserve(c, v->n);
		for (i = 0; i < v->n; i++)
			val_list_push(c, val_copy_in(a, v->items[i]));
	} else if (v->kind == VAL_MAP) {
		val_reserve(c, v->n);
		for (i = 0; i < v->n; i++)
			val_map_set(c, v->keys[i], v->keylens[i], val_copy_in(a, v->items[i]));
	}
	return c;
}

struct val *
val_copy(const struct val *v)
{
	return val_copy_in(NULL, v);
}

/* bring: src, to be consumed by a merge into dst, as a node of dst's
 * family (or of the heap, for a heap dst). */
static struct val *
bring(const struct val *dst, struct val *src)
{
	struct val *c;

	if (!dst->arena && !src->arena)
		return src;
	if (dst->arena && src->arena) {
		if (top_of(dst->arena) == top_of(src->arena))
			return src;
		if (src->arena->root == src) {
			arena_adopt(dst->arena, src->arena);
			return src;
		}
	}
	c = val_copy_in(dst->arena, src);
	val_free(src);
	return c;
}

void
val_merge(struct val *dst, struct val *src)
{
	struct val_arena *a = dst->arena;
	size_t i;

	src = bring(dst, src);
	if (dst->kind == VAL_MAP && src->kind == VAL_MAP) {
		for (i = 0; i < src->n; i++) {
			struct val *old = val_map_get(dst, src->keys[i], src->keylens[i]);

			if (old && old->kind == VAL_MAP && src->items[i]->kind == VAL_MAP)
				val_merge(old, src->items[i]);
			else
				val_map_set(dst, src->keys[i], src->keylens[i], src->items[i]);
		}
		if (!src->arena) {
			for (i = 0; i < src->n; i++)
				free(src->keys[i]);
			src->n = 0;
			val_free(src);
		}
		return;
	}
	if (a) {
		for (i = 0; i < dst->n; i++)
			drop(dst, dst->items[i]);
	} else {
		heap_clear(dst);
	}
	*dst = *src;
	dst->arena = a;
	dst->path = NULL;
	memset(&dst->digest, 0, sizeof(dst->digest));
	if (!src->arena) {
		free(src->path);
		free(src);
	}
}

/* ---- paths ------------------------------------------------------------- */

static inline int
key_is_bare(const char *key, size_t klen)
{
	size_t i;

	if (!klen)
		return 0;
	for (i = 0; i < klen; i++)
		if (!bare_char[(unsigned char)key[i]])
			return 0;
	return 1;
}

/* child_path_len: the length of the path of key under a parent path of
 * length plen; *bare tells which form it takes. */
static inline size_t
child_path_len(size_t plen, const char *key, size_t klen, int *bare)
{
	size_t i, n;

	*bare = key_is_bare(key, klen);
	if (*bare)
		return plen + (plen ? 1 : 0) + klen;
	n = plen + 4 + klen;
	for (i = 0; i < klen; i++)
		if (key[i] == '"' || key[i] == '\\' || key[i] == '\0')
			n++;
	return n;
}

/* child_path_put: write that path (and a NUL) to out. */
static inline void
child_path_put(char *out, const char *parent, size_t plen, const char *key, size_t klen,
	int bare)
{
	size_t i;

	memcpy(out, parent, plen);
	out += plen;
	if (bare) {
		if (plen)
			*out++ = '.';
		memcpy(out, key, klen);
		out[klen] = '\0';
		return;
	}
	*out++ = '[';
	*out++ = '"';
	for (i = 0; i < klen; i++) {
		if (key[i] == '"' || key[i] == '\\') {
			*out++ = '\\';
			*out++ = key[i];
		} else if (key[i] == '\0') {
			*out++ = '\\';
			*out++ = '0';
		} else {
			*out++ = key[i];
		}
	}
	*out++ = '"';
	*out++ = ']';
	*out = '\0';
}

char *
val_child_path(const char *parent, const char *key, size_t klen)
{
	size_t plen = parent ? strlen(parent) : 0, len;
	int bare;
	char *p;

	len = child_path_len(plen, key, klen, &bare);
	p = xmalloc(len + 1);
	child_path_put(p, parent ? parent : "", plen, key, klen, bare);
	return p;
}

/* fmt_u64: the decimal digits of u, written backwards ending at end;
 * returns the first. */
static char *
fmt_u64(unsigned long long u, char *end)
{
	do
		*--end = (char)('0' + u % 10);
	while (u /= 10);
	return end;
}

/* fmt_ll: i in decimal into buf[24]; returns the start, *len its length. */
static char *
fmt_ll(long long i, char buf[24], size_t *len)
{
	unsigned long long u = i < 0 ? 0ULL - (unsigned long long)i : (unsigned long long)i;
	char *p = fmt_u64(u, buf + 24);

	if (i < 0)
		*--p = '-';
	*len = (size_t)(buf + 24 - p);
	return p;
}

/* ---- freezing ---------------------------------------------------------- */

struct freeze {
	struct buf hb; /* the bytes of one node's digest */
};

static void format_float(double f, struct buf *out);

/* node_digest: v's digest from its content and its children's digests,
 * its bytes laid out in b.  Inlined into freeze_node, which calls it for
 * every node of a spec (and into val_digest). */
static inline struct digest
node_digest(struct buf *b, const struct val *v)
{
	unsigned char *p;
	size_t i, need = 1 + 8;
	char num[24];
	const char *text = NULL;
	size_t tlen = 0;

	b->len = 0; /* (no NUL needed: the bytes are hashed, not read) */
	switch (v->kind) {
	case VAL_NULL:
	case VAL_BOOL:
		break;
	case VAL_INT:
		text = fmt_ll(v->i, num, &tlen);
		need += tlen;
		break;
	case VAL_FLOAT:
		buf_reserve(b, 1 + 8);
		b->len = 1 + 8;
		format_float(v->f, b);
		tlen = b->len - 9;
		break;
	case VAL_STR:
		need += v->slen;
		break;
	case VAL_LIST:
		need += v->n * 16;
		break;
	case VAL_MAP:
		for (i = 0; i < v->n; i++)
			need += 8 + v->keylens[i] + 16;
		break;
	}
	if (need >= b->cap)
		buf_reserve(b, need);
	p = (unsigned char *)b->data;
	*p++ = kind_tag[v->kind];
	switch (v->kind) {
	case VAL_NULL:
		break;
	case VAL_BOOL:
		*p++ = v->b ? '1' : '0';
		break;
	case VAL_INT:
		p = le64_put(p, tlen);
		memcpy(p, text, tlen);
		p += tlen;
		break;
	case VAL_FLOAT:
		p = le64_put(p, tlen) + tlen;
		break;
	case VAL_STR:
		p = le64_put(p, v->slen);
		if (v->slen)
			memcpy(p, v->s, v->slen);
		p += v->slen;
		break;
	case VAL_LIST:
		p = le64_put(p, v->n);
		for (i = 0; i < v->n; i++) {
			p = le64_put(p, v->items[i]->digest.hi);
			p = le64_put(p, v->items[i]->digest.lo);
		}
		break;
	case VAL_MAP:
		p = le64_put(p, v->n);
		for (i = 0; i < v->n; i++) {
			p = le64_put(p, v->keylens[i]);
			if (v->keylens[i])
				memcpy(p, v->keys[i], v->keylens[i]);
			p += v->keylens[i];
			p = le64_put(p, v->items[i]->digest.hi);
			p = le64_put(p, v->items[i]->digest.lo);
		}
		break;
	}
	return hash_bytes(b->data, (size_t)(p - (unsigned char *)b->data));
}

struct digest
val_digest(const struct val *v, struct buf *scratch)
{
	return node_digest(scratch, v);
}

/* path_room: memory for a path of len bytes for v, from v's owner. */
static char *
path_room(const struct val *v, size_t len)
{
	return v->arena ? arena_alloc(v->arena, len + 1, 1) : xmalloc(len + 1);
}

static void
set_path(struct val *v, char *path)
{
	char *old = v->path;

	v->path = path;
	if (!v->arena)
		free(old);
}

static void
freeze_node(struct freeze *fz, struct val *v, size_t plen)
{
	size_t i;

	val_shrink(v);
	for (i = 0; i < v->n; i++) {
		struct val *c = v->items[i];
		size_t len;
		char *cp;

		if (v->kind == VAL_MAP) {
			int bare;

			len = child_path_len(plen, v->keys[i], v->keylens[i], &bare);
			cp = path_room(c, len);
			child_path_put(cp, v->path, plen, v->keys[i], v->keylens[i], bare);
		} else {
			char num[24], *d = fmt_u64(i, num + sizeof(num));
			size_t dl = (size_t)(num + sizeof(num) - d);

			len = plen + dl + 2;
			cp = path_room(c, len);
			memcpy(cp, v->path, plen);
			cp[plen] = '[';
			memcpy(cp + plen + 1, d, dl);
			cp[plen + 1 + dl] = ']';
			cp[len] = '\0';
		}
		set_path(c, cp);
		freeze_node(fz, c, len);
	}
	if (v->kind == VAL_MAP && v->n > VAL_INDEX_MIN && !v->idx)
		index_build(v, v->n);
	v->digest = node_digest(&fz->hb, v);
}

void
val_freeze(struct val *root, const char *root_path)
{
	struct freeze fz = {{0}};
	size_t len;
	char *p;

	if (!root_path)
		root_path = "";
	len = strlen(root_path);
	p = path_room(root, len);
	memcpy(p, root_path, len + 1);
	set_path(root, p);
	freeze_node(&fz, root, len);
	buf_free(&fz.hb);
}

/* ---- resolving --------------------------------------------------------- */

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
val_step(const struct val *v, const char **pp, int first, struct buf *key)
{
	const char *p = *pp, *k;
	size_t i = 0;

	if (*p == '[' && p[1] == '"') {
		p = parse_quoted(p + 2, key);
		*pp = p;
		return p ? val_map_get(v, key->data, key->len) : NULL;
	}
	if (*p == '[') {
		p++;
		if (*p < '0' || *p > '9')
			return NULL;
		while (*p >= '0' && *p <= '9') {
			size_t d = (size_t)(*p++ - '0');

			if (i >= SIZE_MAX / 10 && i > (SIZE_MAX - d) / 10)
				return NULL;
			i = i * 10 + d;
		}
		if (*p++ != ']')
			return NULL;
		*pp = p;
		return v->kind == VAL_LIST && i < v->n ? v->items[i] : NULL;
	}
	if (!first && *p++ != '.')
		return NULL;
	k = p;
	while (bare_char[(unsigned char)*p])
		p++;
	if (p == k || (*p && *p != '.' && *p != '['))
		return NULL;
	*pp = p;
	if (v->kind != VAL_MAP || (i = (size_t)map_find(v, k, (size_t)(p - k))) == (size_t)-1)
		return NULL;
	return v->items[i];
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
		v = val_step(v, &p, first, &key);
		first = 0;
	}
	if (key.data)
		buf_free(&key);
	return v;
}

/* ---- reading ----------------------------------------------------------- */

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
	char num[24];
	const char *t;
	size_t len;

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
		t = fmt_ll(v->i, num, &len);
		buf_add(out, t, len);
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
