/* value.h - the data model shared by the spec loader, the JSON reader and
 * the Mustache engine: null, bool, int, float, string, list, map.
 *
 * Invariants once val_freeze() has run on a tree (and nothing may change
 * it afterwards; frozen trees are read by many threads at once):
 *  - every node has path: its stable address from the root.  The root is
 *    "", a map child is PARENT.KEY (just KEY under the root), a list item
 *    is PARENT[I].  A key that is not [A-Za-z0-9_-]+ is written ["..."]
 *    with \" and \\ escaped, e.g. a["x.y"][2].  val_resolve() parses the
 *    same syntax.
 *  - every node has digest, a Merkle digest: scalars hash their kind and
 *    canonical text; lists hash their kind, length and item digests; maps
 *    their kind, length and (key, value digest) pairs in order.
 *  - maps with many keys have a hash index, so val_map_get is O(1).
 *  - lists and maps have no spare capacity (cap == n).
 * Nodes built outside a spec (synthetic frames, render data) may have
 * path == NULL; dependency recording ignores them (but for a frame's @key
 * and @index, which carry the digest val_digest gives them).
 *
 * Memory.  A node is either on the heap (arena == NULL: val_new*, val_copy;
 * it owns its strings and arrays, which are malloc'd one by one) or in an
 * arena (arena != NULL: the trees made by spec_parse, spec_load and
 * json_parse, or by val_new_in and friends).  An arena holds the nodes,
 * strings, keys, paths and arrays of one tree in a few large blocks; the
 * tree's root owns it, so val_free(root) releases the whole tree at once,
 * and val_free() of any other node of an arena does nothing.  A heap
 * collection may hold arena nodes without owning them (val_free skips
 * them; an arena root, though, is freed with its holder), and an arena
 * tree may be given heap nodes or other arena roots (val_map_set,
 * val_list_push, val_merge): they are freed with it.  Never free() or
 * realloc() a string or array of an arena node.
 */
#ifndef DM_VALUE_H
#define DM_VALUE_H

#include <stddef.h>

#include "hash.h"
#include "util.h"

enum val_kind {
	VAL_NULL,
	VAL_BOOL,
	VAL_INT,
	VAL_FLOAT,
	VAL_STR,
	VAL_LIST,
	VAL_MAP
};

/* How a value was used by a template, for dependency recording. */
enum val_use {
	VAL_USE_VALUE, /* the whole value (interpolated, or rendered) */
	VAL_USE_SHAPE  /* only its kind, truth and, for a list, its length */
};

struct val_index; /* private hash index of a large map */
struct val_arena; /* private: the memory of a tree made in one piece */

struct val {
	enum val_kind kind;
	unsigned int cap; /* private: room in items (keys, keylens) */
	union {
		int b;       /* VAL_BOOL (read it only from a VAL_BOOL) */
		long long i; /* VAL_INT */
		double f;    /* VAL_FLOAT */
	};
	char *s;          /* VAL_STR: bytes, NUL-terminated */
	size_t slen;
	struct val **items; /* VAL_LIST items, VAL_MAP values */
	char **keys;        /* VAL_MAP keys, NUL-terminated, in order */
	size_t *keylens;
	size_t n;
	struct val_index *idx;
	char *path;       /* see above; NULL until frozen or if synthetic */
	struct srcpos pos; /* where the value was written, if known */
	struct digest digest;
	struct val_arena *arena; /* NULL: a heap node (see Memory above) */
};

struct val *val_new(enum val_kind kind);
struct val *val_new_str(const char *s, size_t n);
struct val *val_new_int(long long i);
struct val *val_new_float(double f);
struct val *val_new_bool(int b);
/* val_free: free a heap node and what it owns, or the whole tree of an
 * arena root; nothing for another node of an arena. */
void val_free(struct val *v);
/* val_copy: a deep copy on the heap (not frozen). */
struct val *val_copy(const struct val *v);

/* val_list_push: append item (ownership passes to list). */
void val_list_push(struct val *list, struct val *item);
/* val_map_set: set key to item, replacing (and freeing) an old value;
 * ownership of item passes to the map. */
void val_map_set(struct val *map, const char *key, size_t klen, struct val *item);
/* val_map_get: the value under key, or NULL. */
struct val *val_map_get(const struct val *map, const char *key, size_t klen);
/* val_merge: deep-merge src into dst; maps merge key by key, anything else
 * is replaced.  src is consumed. */
void val_merge(struct val *dst, struct val *src);
/* val_reserve: room for n items (or keys) in a list or map, so that
 * filling it up to n allocates nothing more. */
void val_reserve(struct val *v, size_t n);
/* val_shrink: give up the spare room of a list or map (cap = n). */
void val_shrink(struct val *v);

/* Arenas, for loaders.  val_arena_new makes an empty arena; the val_*_in
 * constructors make nodes in it (a NULL arena means the heap, like
 * val_new*).  val_arena_set_root hands the arena to root (a node of it):
 * from then on val_free(root) frees the arena.  val_arena_free frees an
 * arena that no root owns yet, with every node in it (for error paths). */
struct val_arena *val_arena_new(void);
void val_arena_set_root(struct val_arena *a, struct val *root);
void val_arena_free(struct val_arena *a);
struct val *val_new_in(struct val_arena *a, enum val_kind kind);
struct val *val_new_str_in(struct val_arena *a, const char *s, size_t n);
struct val *val_new_int_in(struct val_arena *a, long long i);
struct val *val_new_float_in(struct val_arena *a, double f);
struct val *val_new_bool_in(struct val_arena *a, int b);
/* val_copy_in: a deep copy in a (not frozen), exactly sized. */
struct val *val_copy_in(struct val_arena *a, const struct val *v);
/* val_arena_usage: bytes handed out by the arena(s) of root's tree, and
 * bytes they hold from malloc; both 0 for a heap node. */
void val_arena_usage(const struct val *root, size_t *used, size_t *held);

/* val_freeze: compute paths, digests and map indexes for the whole tree,
 * and drop spare room in lists and maps.  root_path is "" for a spec
 * root. */
void val_freeze(struct val *root, const char *root_path);
/* val_digest: the digest val_freeze gives v, from its content and (for a
 * list or map) its items' digests, which must be set; for a node built
 * outside a frozen tree, such as project.c's @key and @index nodes.  Its
 * bytes are laid out in scratch (kept for reuse; its contents are lost). */
struct digest val_digest(const struct val *v, struct buf *scratch);
/* val_resolve: the node at path (syntax above) under root, or NULL. */
const struct val *val_resolve(const struct val *root, const char *path);
/* val_step: one step of a path, as val_resolve reads them, from v at *pp
 * (not at the path's end); first: the step begins the path (a bare key has
 * no '.' before it).  The node reached, or NULL when there is none or the
 * step is not well formed; then *pp is not to be used.  *pp moves past the
 * step.  key is scratch (a quoted key is decoded into it).  For callers
 * that keep the nodes of earlier steps (key.c). */
const struct val *val_step(const struct val *v, const char **pp, int first, struct buf *key);

/* val_child_path: the path of KEY under a node whose path is parent
 * (malloc'd). */
char *val_child_path(const char *parent, const char *key, size_t klen);
/* val_use_digest: the digest of what a use of v depends on: the Merkle
 * digest for VAL_USE_VALUE; kind, truth and list length for SHAPE. */
struct digest val_use_digest(const struct val *v, enum val_use use);

/* val_truthy: Mustache truth: null, false, "" and [] are false. */
int val_truthy(const struct val *v);
/* val_format: append the text of a scalar: strings as they are, ints in
 * decimal, floats as the shortest text that reads back to the same double,
 * true/false, null as the empty string.  Lists and maps append nothing. */
void val_format(const struct val *v, struct buf *out);
const char *val_kind_name(enum val_kind k);

#endif
