/* spec.c - the application spec, read with libyaml's event API or with a
 * fast reader of our own for the plain YAML that specs are written in.
 * See spec.h.
 *
 * Invariants and choices:
 *  - Two readers produce the same events (struct event: type, start mark,
 *    plain or not, text, tag, anchor), and one tree builder consumes them
 *    (on_event), so the reader cannot change a tree, a position or a
 *    message.  spec_parse tries the fast reader first; it reads the whole
 *    text into an array of events before anything is built, and gives up
 *    at the first thing outside its subset, and libyaml then reads the
 *    text as if the fast reader had not been there.  So every syntax
 *    error, and everything unusual, comes from libyaml.
 *  - The fast reader's subset: a block map at the root (after blank
 *    lines, comments and at most one "---" line); block maps and lists
 *    nested by indentation, a list's entry that is itself a list or a map
 *    starting on the line of its "- ", lists at their key's column
 *    (indentless); keys that are plain or quoted scalars on one line, of
 *    at most FAST_MAX_KEY bytes up to their ':'; empty values (null, at
 *    the column after the ':' or '-', as libyaml puts them); one-line
 *    plain scalars, single-quoted ones and double-quoted ones with the
 *    escapes libyaml knows; one-line flow maps and lists of those, nested,
 *    with no empty entry; comments after a space.  It refuses: anchors,
 *    aliases, tags, block scalars, multi-line scalars and flow
 *    collections, complex keys, directives, a second document or "...",
 *    tabs, CR, control characters, invalid UTF-8, a BOM, the characters
 *    libyaml reads as line breaks, indentation that does not match an
 *    open collection, nesting deeper than FAST_MAX_DEPTH, a plain scalar
 *    starting with an indicator (a '-' only before a blank), a ':' inside
 *    a flow scalar, and anything else it does not expect.  Its positions
 *    are libyaml's start marks: a block map's first key, a block list's
 *    first '-', a flow collection's bracket, a quoted scalar's quote.
 *    The fast reader also knows each collection's size, so those trees
 *    are built at their final size (trimmed only when duplicate keys were
 *    dropped, grown only by merge keys).
 *  - spec_parse_reader and spec_events choose a reader, for the tests and
 *    the differential fuzzer (fuzz/fuzz-spec-fast.c) that hold the two
 *    readers to the same events, trees and messages.
 *  - The tree is built iteratively from events on an explicit stack of
 *    open collections; more than SPEC_MAX_DEPTH open collections (or an
 *    alias that would make the tree that deep) is an error, so nothing
 *    downstream (val_copy, val_free, val_freeze) recurses deeper.
 *  - Scalar resolution (YAML 1.2 core schema) applies to untagged plain
 *    scalars only; quoted and block scalars are strings.  Explicit tags
 *    !!str, !!int, !!float, !!bool, !!null, !!seq, !!map and the
 *    non-specific "!" are honoured; any other tag is an error.  Integers
 *    that do not fit in a long long become floats, as in json_parse.
 *  - Every node, string and array of a parse lives in one arena (see
 *    value.h); the root owns it.  spec_load parses all its files into one
 *    arena, so merging them moves nodes within it.  Discarded nodes
 *    (duplicate keys, merge sources, a failed scalar) stay in the arena
 *    until the tree goes, so nodes that an anchor points at are never freed
 *    during the parse, and an error frees everything at once.
 *  - A collection is built in arrays that grow by doubling and is trimmed
 *    to its size when it ends (val_shrink), so the tree has no spare room;
 *    the arena reuses the trimmed arrays for the next collections.  The
 *    frames of open collections are reused by depth, with their key buffer
 *    and key-position array, so keys cost no malloc once the frames are
 *    warm (libyaml still allocates each event's text; the fast reader's
 *    texts stay put until the tree is built, so a key is not copied into
 *    the frame's key buffer: val_map_set copies it into the arena).
 *  - Anchors are registered when their node is complete; an alias is
 *    expanded by deep copy (positions stay those of the anchored text).
 *    At most SPEC_ALIAS_BUDGET nodes may be created by copying (aliases and
 *    merge keys) per document: "alias expansion too large".  Nodes written
 *    out in the text are bounded by its size, so only copies are counted;
 *    a million nodes is far beyond any real spec and keeps a bomb to a few
 *    hundred megabytes.
 *  - Merge keys: a plain, untagged "<<" takes a map or a list of maps;
 *    when the map ends, each of their keys that the map does not have is
 *    copied in (earlier sources win; explicit keys always win).
 *  - Map keys are scalars (an alias to a scalar is allowed, as its text);
 *    a second occurrence of a key is an error at its position, naming the
 *    line of the first.  Semantic errors (duplicates, bad tags) are all
 *    reported; syntax errors stop the parse.
 *  - Only the first document of a stream is read.  An empty document (or
 *    none, or a null root) is an empty map; any other root must be a map.
 *  - Columns count characters, as libyaml does; lines and columns are
 *    1-based.
 *  - srcpos.file of every node points at an interned copy of the file
 *    name, kept for the program's lifetime in a table guarded by a mutex
 *    and freed by spec_names_free() (registered with atexit).
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "hash.h"
#include "spec.h"

#define SPEC_MAX_DEPTH 1000
#define SPEC_MAX_BYTES (64 << 20) /* a spec file is read whole: bound it */
#define SPEC_ALIAS_BUDGET 1000000
#define YAML_TAG_PREFIX "tag:yaml.org,2002:"

/* Interned file names. */
static pthread_mutex_t names_lock = PTHREAD_MUTEX_INITIALIZER;
static char **names;
static size_t names_n, names_cap;
static int names_atexit;

void
spec_names_free(void)
{
	size_t i;

	pthread_mutex_lock(&names_lock);
	for (i = 0; i < names_n; i++)
		free(names[i]);
	free(names);
	names = NULL;
	names_n = names_cap = 0;
	pthread_mutex_unlock(&names_lock);
}

static const char *
name_intern(const char *name)
{
	const char *r = NULL;
	size_t i;

	pthread_mutex_lock(&names_lock);
	for (i = 0; i < names_n && !r; i++)
		if (!strcmp(names[i], name))
			r = names[i];
	if (!r) {
		if (!names_atexit) {
			names_atexit = 1;
			atexit(spec_names_free);
		}
		if (names_n == names_cap) {
			names_cap = names_cap ? names_cap * 2 : 8;
			names = xreallocarray(names, names_cap, sizeof(*names));
		}
		r = names[names_n++] = xstrdup(name);
	}
	pthread_mutex_unlock(&names_lock);
	return r;
}

/* An open collection.  key, kpos and kcap outlive the frame: the next
 * frame at the same depth reuses them. */
struct frame {
	struct val *v;
	char *anchor;        /* registered when the node ends */
	size_t count;        /* nodes in the subtree so far */
	size_t height;       /* collection levels in the subtree */
	/* maps only: */
	struct buf key;      /* a copy of the key waiting for its value */
	const char *kp;      /* that key: key.data, or the event's stable text */
	size_t kn;
	int have_key, merge_key, skip;
	struct srcpos keypos;
	struct srcpos *kpos; /* position of each key of v, in order */
	size_t kcap;
	struct val *merges;  /* the value of <<: a map or a list of maps */
	struct srcpos merge_pos;
};

struct anchor {
	const struct val *v;
	size_t count, height;
};

struct parser {
	const char *file;   /* interned */
	const char *text;
	size_t len;
	struct diag *d;
	struct val_arena *arena;
	struct frame *st;
	size_t depth, cap;   /* st[0..cap) are initialised */
	struct val *root;
	struct val *anames;  /* anchor name -> VAL_INT index into anchors */
	struct anchor *anchors;
	size_t nanchors, capanchors;
	size_t copied;
	int failed, stop;
	struct buf *dump;    /* spec_events: events are written here, not built */
};

/* An event, from libyaml or from the fast reader.  s is the scalar's
 * text or the alias's anchor name, NUL-terminated (a scalar may hold more
 * NULs: n counts them); tag and anchor are NULL when absent. */
enum ev_type {
	EV_NONE,      /* stream or document start: nothing to do */
	EV_SCALAR,
	EV_ALIAS,
	EV_SEQ_START,
	EV_MAP_START,
	EV_END,       /* of the innermost open collection */
	EV_DONE       /* end of the first document (or of the stream) */
};

struct event {
	enum ev_type type;
	int plain; /* a plain (unquoted, not block) scalar */
	const char *s;
	size_t n;
	const char *tag, *anchor;
	int line, col; /* the start mark, 1-based */
	size_t size;   /* a collection's entries if known (fast reader), or 0 */
	int stable;    /* s lives until the document is read (fast reader) */
};

static struct srcpos
mark_pos(const struct parser *p, const struct event *ev)
{
	struct srcpos pos = {p->file, ev->line, ev->col};

	return pos;
}

static void
perr(struct parser *p, struct srcpos pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
perr(struct parser *p, struct srcpos pos, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(p->d, p->file, pos.line, pos.col, fmt, ap);
	va_end(ap);
	p->failed = 1;
}

/* tag_name: a tag as the user probably wrote it (!!int, !foo), in out. */
static const char *
tag_name(const char *tag, char *out, size_t n)
{
	static const char prefix[] = YAML_TAG_PREFIX;

	if (!strncmp(tag, prefix, sizeof(prefix) - 1))
		snprintf(out, n, "!!%s", tag + sizeof(prefix) - 1);
	else
		snprintf(out, n, "%s", tag);
	return out;
}

/* a_kind: "a list", "an int". */
static const char *
a_kind(enum val_kind k)
{
	switch (k) {
	case VAL_NULL: return "a null";
	case VAL_BOOL: return "a bool";
	case VAL_INT: return "an int";
	case VAL_FLOAT: return "a float";
	case VAL_STR: return "a string";
	case VAL_LIST: return "a list";
	case VAL_MAP: return "a map";
	}
	return "a value";
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
match_null(const char *s, size_t n)
{
	return n == 0 || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
		!strcmp(s, "NULL");
}

static int
match_bool(const char *s, int *b)
{
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
		return *b = 1, 1;
	if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
		return *b = 0, 1;
	return 0;
}

static int
digit_in_base(int c, int base)
{
	int v;

	if (is_digit(c))
		v = c - '0';
	else if (c >= 'a' && c <= 'f')
		v = c - 'a' + 10;
	else if (c >= 'A' && c <= 'F')
		v = c - 'A' + 10;
	else
		return -1;
	return v < base ? v : -1;
}

/* match_int: [-+]?[0-9]+, 0o[0-7]+ or 0x[0-9a-fA-F]+; a value that does
 * not fit in a long long comes back as a float. */
static struct val *
match_int(struct val_arena *a, const char *s, size_t n)
{
	size_t i = 0;

	if (n > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'x')) {
		int base = s[1] == 'o' ? 8 : 16;
		unsigned long long u = 0;
		double f = 0;
		int over = 0;

		for (i = 2; i < n; i++) {
			int dv = digit_in_base((unsigned char)s[i], base);

			if (dv < 0)
				return NULL;
			if (u > ((unsigned long long)LLONG_MAX - (unsigned)dv) / (unsigned)base)
				over = 1;
			u = u * (unsigned)base + (unsigned)dv;
			f = f * base + dv;
		}
		return over ? val_new_float_in(a, f) : val_new_int_in(a, (long long)u);
	}
	if (i < n && (s[i] == '-' || s[i] == '+'))
		i++;
	if (i == n)
		return NULL;
	for (; i < n; i++)
		if (!is_digit((unsigned char)s[i]))
			return NULL;
	{
		long long v;

		errno = 0;
		v = strtoll(s, NULL, 10);
		if (errno == ERANGE)
			return val_new_float_in(a, strtod(s, NULL));
		return val_new_int_in(a, v);
	}
}

/* match_float: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?,
 * [-+]?.inf in three spellings, .nan in three spellings. */
static struct val *
match_float(struct val_arena *a, const char *s, size_t n)
{
	size_t i = 0;
	int neg = 0;

	if (!strcmp(s, ".nan") || !strcmp(s, ".NaN") || !strcmp(s, ".NAN"))
		return val_new_float_in(a, NAN);
	if (i < n && (s[i] == '-' || s[i] == '+'))
		neg = s[i++] == '-';
	if (!strcmp(s + i, ".inf") || !strcmp(s + i, ".Inf") || !strcmp(s + i, ".INF"))
		return val_new_float_in(a, neg ? -INFINITY : INFINITY);
	if (i < n && s[i] == '.') {
		i++;
		if (i == n || !is_digit((unsigned char)s[i]))
			return NULL;
		while (i < n && is_digit((unsigned char)s[i]))
			i++;
	} else if (i < n && is_digit((unsigned char)s[i])) {
		while (i < n && is_digit((unsigned char)s[i]))
			i++;
		if (i < n && s[i] == '.')
			for (i++; i < n && is_digit((unsigned char)s[i]); i++)
				;
	} else {
		return NULL;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '-' || s[i] == '+'))
			i++;
		if (i == n || !is_digit((unsigned char)s[i]))
			return NULL;
		while (i < n && is_digit((unsigned char)s[i]))
			i++;
	}
	if (i != n)
		return NULL;
	return val_new_float_in(a, strtod(s, NULL));
}

static struct val *
resolve_plain(struct val_arena *a, const char *s, size_t n)
{
	struct val *v;
	int b;

	/* only these can start a null, a bool or a number */
	if (n && !strchr("~nNtTfF0123456789+-.", s[0]))
		return val_new_str_in(a, s, n);
	if (match_null(s, n))
		return val_new_in(a, VAL_NULL);
	if (match_bool(s, &b))
		return val_new_bool_in(a, b);
	if ((v = match_int(a, s, n)) || (v = match_float(a, s, n)))
		return v;
	return val_new_str_in(a, s, n);
}

/* scalar_value: the value of a scalar event, or NULL after an error. */
static struct val *
scalar_value(struct parser *p, const struct event *ev)
{
	const char *s = ev->s;
	size_t n = ev->n;
	const char *tag = ev->tag;
	struct val_arena *a = p->arena;
	struct val *v = NULL;
	const char *want = NULL;
	char tn[64];
	int b;

	if (!tag) {
		if (ev->plain)
			v = resolve_plain(a, s, n);
		else
			v = val_new_str_in(a, s, n);
	} else if (!strcmp(tag, "!") || !strcmp(tag, YAML_TAG_PREFIX "str")) {
		v = val_new_str_in(a, s, n);
	} else if (!strcmp(tag, YAML_TAG_PREFIX "null")) {
		want = "null";
		if (match_null(s, n))
			v = val_new_in(a, VAL_NULL);
	} else if (!strcmp(tag, YAML_TAG_PREFIX "bool")) {
		want = "true or false";
		if (match_bool(s, &b))
			v = val_new_bool_in(a, b);
	} else if (!strcmp(tag, YAML_TAG_PREFIX "int")) {
		want = "an integer";
		v = match_int(a, s, n);
		if (v && v->kind != VAL_INT) {
			perr(p, mark_pos(p, ev), "!!int value \"%s\" is out of range",
				s);
			return NULL;
		}
	} else if (!strcmp(tag, YAML_TAG_PREFIX "float")) {
		want = "a number";
		if ((v = match_int(a, s, n)) && v->kind == VAL_INT) {
			double f = (double)v->i;

			v->kind = VAL_FLOAT;
			v->f = f;
		} else if (!v) {
			v = match_float(a, s, n);
		}
	} else {
		perr(p, mark_pos(p, ev),
			"unsupported tag %s (expected !!str, !!int, !!float, !!bool or !!null)",
			tag_name(tag, tn, sizeof(tn)));
		return NULL;
	}
	if (!v) {
		perr(p, mark_pos(p, ev), "%s expects %s, found \"%s\"",
			tag_name(tag, tn, sizeof(tn)), want, s);
		return NULL;
	}
	v->pos = mark_pos(p, ev);
	return v;
}

static void
anchor_add(struct parser *p, const char *name, const struct val *v, size_t count, size_t height)
{
	struct anchor *a;

	if (p->nanchors == p->capanchors) {
		p->capanchors = p->capanchors ? p->capanchors * 2 : 8;
		p->anchors = xreallocarray(p->anchors, p->capanchors, sizeof(*p->anchors));
	}
	a = &p->anchors[p->nanchors];
	a->v = v;
	a->count = count;
	a->height = height;
	if (!p->anames)
		p->anames = val_new(VAL_MAP);
	val_map_set(p->anames, name, strlen(name), val_new_int((long long)p->nanchors));
	p->nanchors++;
}

static const struct anchor *
anchor_find(const struct parser *p, const char *name)
{
	const struct val *ix = val_map_get(p->anames, name, strlen(name));

	return ix ? &p->anchors[ix->i] : NULL;
}

static size_t
val_count(const struct val *v)
{
	size_t i, c = 1;

	for (i = 0; i < v->n; i++)
		c += val_count(v->items[i]);
	return c;
}

static struct frame *
top(struct parser *p)
{
	return p->depth ? &p->st[p->depth - 1] : NULL;
}

static void
kpos_add(struct frame *f, struct srcpos pos)
{
	if (f->v->n > f->kcap) {
		f->kcap = f->kcap ? f->kcap * 2 : 8;
		if (f->kcap < f->v->n)
			f->kcap = f->v->n;
		f->kpos = xreallocarray(f->kpos, f->kcap, sizeof(*f->kpos));
	}
	f->kpos[f->v->n - 1] = pos;
}

/* attach: a complete node v goes into the open collection (or becomes the
 * root); count and height describe its subtree. */
static void
attach(struct parser *p, struct val *v, size_t count, size_t height)
{
	struct frame *f = top(p);
	size_t i;

	if (!f) {
		p->root = v;
		return;
	}
	f->count += count;
	if (height + 1 > f->height)
		f->height = height + 1;
	if (f->v->kind == VAL_LIST) {
		val_list_push(f->v, v);
		return;
	}
	f->have_key = 0;
	if (f->skip)
		return; /* a duplicate's value stays unused in the arena */
	if (f->merge_key) {
		int okay = v->kind == VAL_MAP || (v->kind == VAL_LIST && v->n > 0);

		for (i = 0; v->kind == VAL_LIST && i < v->n; i++)
			if (v->items[i]->kind != VAL_MAP)
				okay = 0;
		if (!okay) {
			perr(p, f->keypos, "merge key << expects a map or a list of maps, found %s",
				v->kind == VAL_LIST && v->n ? "a list holding something else"
							    : a_kind(v->kind));
		} else {
			f->merges = v;
		}
	} else {
		val_map_set(f->v, f->kp, f->kn, v);
		kpos_add(f, f->keypos);
	}
}

/* map_key: take the next key of the open map f; a duplicate is reported
 * and its value will be discarded. */
static void
map_key(struct parser *p, struct frame *f, const char *key, size_t klen, int stable,
	struct srcpos pos, int merge)
{
	const struct val *old;

	f->have_key = 1;
	f->skip = 0;
	f->merge_key = merge;
	f->keypos = pos;
	if (merge) {
		if (f->merge_pos.line) {
			perr(p, pos, "duplicate key \"<<\" (first defined at line %d)",
				f->merge_pos.line);
			f->skip = 1;
		}
		f->merge_pos = pos;
		return;
	}
	old = val_map_get(f->v, key, klen);
	if (old) {
		size_t at = 0;

		while (f->v->items[at] != old)
			at++;
		perr(p, pos, "duplicate key \"%s\" (first defined at line %d)", key,
			f->kpos[at].line);
		f->skip = 1;
		return;
	}
	if (stable) {
		f->kp = key;
		f->kn = klen;
		return;
	}
	buf_clear(&f->key);
	buf_add(&f->key, key, klen);
	f->kp = f->key.data;
	f->kn = f->key.len;
}

static void
push_frame(struct parser *p, enum val_kind kind, const char *anchor, struct srcpos pos,
	size_t size)
{
	struct frame *f;

	struct buf key;
	struct srcpos *kpos;
	size_t kcap;

	if (p->depth == p->cap) {
		size_t old = p->cap;

		p->cap = p->cap ? p->cap * 2 : 16;
		p->st = xreallocarray(p->st, p->cap, sizeof(*p->st));
		memset(p->st + old, 0, (p->cap - old) * sizeof(*p->st));
	}
	f = &p->st[p->depth++];
	key = f->key;
	kpos = f->kpos;
	kcap = f->kcap;
	memset(f, 0, sizeof(*f));
	f->key = key;
	f->kpos = kpos;
	f->kcap = kcap;
	f->v = val_new_in(p->arena, kind);
	f->v->pos = pos;
	if (size)
		val_reserve(f->v, size);
	f->anchor = anchor ? xstrdup(anchor) : NULL;
	f->count = 1;
	f->height = 1;
}

/* apply_merges: copy in the keys of the << sources that the map of f does
 * not have; earlier sources win. */
static void
apply_merges(struct parser *p, struct frame *f)
{
	const struct val *m = f->merges;
	size_t i, j, nsrc = m->kind == VAL_LIST ? m->n : 1;

	for (i = 0; i < nsrc; i++) {
		const struct val *src = m->kind == VAL_LIST ? m->items[i] : m;

		for (j = 0; j < src->n; j++) {
			size_t c;

			if (val_map_get(f->v, src->keys[j], src->keylens[j]))
				continue;
			c = val_count(src->items[j]);
			if (p->copied + c > SPEC_ALIAS_BUDGET) {
				perr(p, f->merge_pos,
					"alias expansion too large (more than %d nodes)",
					SPEC_ALIAS_BUDGET);
				p->stop = 1;
				return;
			}
			p->copied += c;
			f->count += c;
			val_map_set(f->v, src->keys[j], src->keylens[j],
				val_copy_in(p->arena, src->items[j]));
		}
	}
}

static void
pop_frame(struct parser *p)
{
	struct frame *f = top(p);
	struct frame done = *f;

	if (f->merges)
		apply_merges(p, f);
	val_shrink(done.v);
	p->depth--;
	if (done.anchor) {
		anchor_add(p, done.anchor, done.v, done.count, done.height);
		free(done.anchor);
	}
	attach(p, done.v, done.count, done.height);
}

static int
check_collection_tag(struct parser *p, const char *tag, const char *want, struct srcpos pos)
{
	char tn[64];

	if (!tag || !strcmp(tag, "!") || !strcmp(tag, want))
		return 0;
	perr(p, pos, "unsupported tag %s on a %s", tag_name(tag, tn, sizeof(tn)),
		!strcmp(want, YAML_TAG_PREFIX "map") ? "map" : "list");
	return -1;
}

static void
on_alias(struct parser *p, const struct event *ev)
{
	const char *name = ev->s;
	struct srcpos pos = mark_pos(p, ev);
	const struct anchor *a = anchor_find(p, name);
	struct frame *f = top(p);
	struct val *v;

	if (!a) {
		size_t i;

		for (i = 0; i < p->depth; i++)
			if (p->st[i].anchor && !strcmp(p->st[i].anchor, name))
				break;
		if (i < p->depth)
			perr(p, pos, "alias *%s refers to a node that contains it", name);
		else
			perr(p, pos, "alias *%s has no anchor &%s before it", name, name);
		p->stop = 1;
		return;
	}
	if (f && f->v->kind == VAL_MAP && !f->have_key) {
		struct buf key = {0};

		if (a->v->kind == VAL_LIST || a->v->kind == VAL_MAP) {
			perr(p, pos, "map keys must be scalars, found an alias to %s",
				a_kind(a->v->kind));
			p->stop = 1;
			return;
		}
		val_format(a->v, &key);
		map_key(p, f, key.data ? key.data : "", key.len, 0, pos, 0);
		buf_free(&key);
		return;
	}
	if (p->copied + a->count > SPEC_ALIAS_BUDGET) {
		perr(p, pos, "alias expansion too large (more than %d nodes)", SPEC_ALIAS_BUDGET);
		p->stop = 1;
		return;
	}
	if (p->depth + a->height > SPEC_MAX_DEPTH) {
		perr(p, pos, "nesting deeper than %d levels", SPEC_MAX_DEPTH);
		p->stop = 1;
		return;
	}
	p->copied += a->count;
	v = val_copy_in(p->arena, a->v);
	attach(p, v, a->count, a->height);
}

static void
on_scalar(struct parser *p, const struct event *ev)
{
	struct frame *f = top(p);
	const char *anchor = ev->anchor;
	struct val *v;

	if (f && f->v->kind == VAL_MAP && !f->have_key) {
		int merge = ev->plain && !ev->tag && !strcmp(ev->s, "<<");

		if (anchor || ev->tag) {
			v = scalar_value(p, ev);
			if (v && anchor)
				anchor_add(p, anchor, v, 1, 0);
		}
		map_key(p, f, ev->s, ev->n, ev->stable, mark_pos(p, ev), merge);
		return;
	}
	v = scalar_value(p, ev);
	if (!v) {
		/* keep the structure going so that later errors are found */
		v = val_new_in(p->arena, VAL_NULL);
		v->pos = mark_pos(p, ev);
	}
	if (anchor)
		anchor_add(p, anchor, v, 1, 0);
	attach(p, v, 1, 0);
}

static void
on_start(struct parser *p, const struct event *ev, enum val_kind kind)
{
	struct frame *f = top(p);
	struct srcpos pos = mark_pos(p, ev);

	if (f && f->v->kind == VAL_MAP && !f->have_key) {
		perr(p, pos, "map keys must be scalars, found %s", a_kind(kind));
		p->stop = 1;
		return;
	}
	if (p->depth >= SPEC_MAX_DEPTH) {
		perr(p, pos, "nesting deeper than %d levels", SPEC_MAX_DEPTH);
		p->stop = 1;
		return;
	}
	check_collection_tag(p, ev->tag,
		kind == VAL_MAP ? YAML_TAG_PREFIX "map" : YAML_TAG_PREFIX "seq", pos);
	push_frame(p, kind, ev->anchor, pos, ev->size);
}

/* event_dump: ev as a line of text (see spec_events); 1 at the end of
 * the document. */
static int
event_dump(struct buf *b, const struct event *ev)
{
	static const char type[] = "?SA[{]";

	if (ev->type == EV_DONE)
		return 1;
	if (ev->type == EV_NONE)
		return 0;
	buf_addc(b, type[ev->type]);
	if (ev->type != EV_END)
		buf_printf(b, " %d:%d", ev->line, ev->col);
	if (ev->tag)
		buf_printf(b, " !<%s>", ev->tag);
	if (ev->anchor)
		buf_printf(b, " &%s", ev->anchor);
	if (ev->type == EV_SCALAR)
		buf_adds(b, ev->plain ? " plain" : " quoted");
	if (ev->type == EV_SCALAR || ev->type == EV_ALIAS) {
		buf_printf(b, " %zu:", ev->n);
		buf_add(b, ev->s, ev->n);
	}
	buf_addc(b, '\n');
	return 0;
}

/* on_event: hand one event to the tree builder; 1 at the end of the
 * document. */
static int
on_event(struct parser *p, const struct event *ev)
{
	if (p->dump)
		return event_dump(p->dump, ev);
	switch (ev->type) {
	case EV_SCALAR:
		on_scalar(p, ev);
		break;
	case EV_ALIAS:
		on_alias(p, ev);
		break;
	case EV_SEQ_START:
		on_start(p, ev, VAL_LIST);
		break;
	case EV_MAP_START:
		on_start(p, ev, VAL_MAP);
		break;
	case EV_END:
		pop_frame(p);
		break;
	case EV_DONE:
		return 1;
	case EV_NONE:
		break;
	}
	return 0;
}

/* The fast reader.  It reads the subset of YAML that specs are written in
 * (see the top of the file) into an array of events, and gives up, before
 * anything is built, at the first thing outside it.  The text is copied
 * with a NUL after it; the character check comes first, so that NUL is
 * the only one and marks the end.  Block collections start at a column
 * that only spaces and "- " precede on their line, so for them byte
 * offsets are columns. */
#define FAST_MAX_DEPTH 100
#define FAST_MAX_KEY 1000 /* bytes from a key to its ':'; libyaml allows 1024 characters */

struct fev {
	char *s;            /* a scalar's text */
	uint32_t n;         /* its length, or a collection's number of entries */
	int line, col;
	unsigned char type; /* enum ev_type */
	unsigned char plain;
	unsigned char term; /* s is in the text copy: put a NUL at s[n] */
};

struct fast {
	char *text;          /* the copy */
	const char *bol;     /* start of the current line */
	const char *p;       /* after fast_next_line: the line's first non-space */
	int line;            /* of bol, 1-based */
	int ind;             /* after fast_next_line: p - bol, or -1 at the end */
	int ascii;           /* no byte >= 0x80: a column is an offset */
	const char *cbol;    /* else: the last column counted, on line cbol: */
	const char *cpos;    /* ... cpos is at column ccol (fast_col counts on */
	int ccol;            /* from there, so a long line costs its length) */
	int started;         /* past the place where "---" may be */
	int depth;
	struct fev *ev;
	size_t nev, cap;
	char *strs;          /* the texts of quoted scalars with escapes */
	size_t slen, scap;
	char empty[1];       /* the text of a null value */
	const char *why;     /* why it gave up, and where */
	const char *where;
};

/* A scalar read but not yet handed out as an event. */
struct ftok {
	const char *after; /* past the text (plain) or the closing quote */
	const char *colon; /* the ':' that makes it a key, or NULL */
	char *s;           /* the text: in the copy (term) or in strs */
	uint32_t n;
	int plain, term, line, col;
};

/* Character classes for plain scalars: FAST_BLOCK ends or interrupts a
 * run of ordinary characters in block context, FAST_FLOW in flow context;
 * FAST_NOSTART cannot start one (an indicator, a blank, the end). */
#define FAST_BLOCK 1
#define FAST_FLOW 2
#define FAST_NOSTART 4
#define FAST_ALL (FAST_BLOCK | FAST_FLOW | FAST_NOSTART)
#define FAST_FLOWS (FAST_FLOW | FAST_NOSTART)
static const unsigned char fast_class[256] = {
	[0] = FAST_ALL, ['\n'] = FAST_ALL, [' '] = FAST_ALL, [':'] = FAST_ALL,
	[','] = FAST_FLOWS, ['['] = FAST_FLOWS, [']'] = FAST_FLOWS, ['{'] = FAST_FLOWS,
	['}'] = FAST_FLOWS, ['?'] = FAST_FLOWS,
	['#'] = FAST_NOSTART, ['-'] = FAST_NOSTART, ['&'] = FAST_NOSTART, ['*'] = FAST_NOSTART,
	['!'] = FAST_NOSTART, ['|'] = FAST_NOSTART, ['>'] = FAST_NOSTART, ['\''] = FAST_NOSTART,
	['"'] = FAST_NOSTART, ['%'] = FAST_NOSTART, ['@'] = FAST_NOSTART, ['`'] = FAST_NOSTART,
};

static int
fast_fail(struct fast *f, const char *where, const char *why)
{
	f->why = why;
	f->where = where;
	return -1;
}

static int
fast_blankz(int c)
{
	return c == ' ' || c == '\n' || c == 0;
}

static int
fast_dash(const char *q)
{
	return q[0] == '-' && fast_blankz(q[1]);
}

/* fast_col: the 1-based column of q, on the current line. */
static int
fast_col(struct fast *f, const char *q)
{
	const char *s;
	int c = 1;

	if (f->ascii)
		return (int)(q - f->bol) + 1;
	s = f->bol;
	if (f->cbol == f->bol && f->cpos <= q) {
		s = f->cpos;
		c = f->ccol;
	}
	for (; s < q; s++)
		c += ((unsigned char)*s & 0xc0) != 0x80;
	f->cbol = f->bol;
	f->cpos = q;
	f->ccol = c;
	return c;
}

static void
fast_grow(struct fast *f)
{
	f->cap = f->cap ? f->cap * 2 : 1024;
	f->ev = xreallocarray(f->ev, f->cap, sizeof(*f->ev));
}

/* fast_emit: an event; for a scalar, its text s of n bytes (term: see
 * struct fev); for a collection start, n = 0 until its size is known. */
static inline void
fast_emit(struct fast *f, enum ev_type type, int line, int col, char *s, uint32_t n, int plain,
	int term)
{
	struct fev *e;

	if (f->nev == f->cap)
		fast_grow(f);
	e = &f->ev[f->nev++];
	e->s = s;
	e->n = n;
	e->line = line;
	e->col = col;
	e->type = (unsigned char)type;
	e->plain = (unsigned char)plain;
	e->term = (unsigned char)term;
}

static inline void
fast_emit_tok(struct fast *f, const struct ftok *t)
{
	fast_emit(f, EV_SCALAR, t->line, t->col, t->s, t->n, t->plain, t->term);
}

/* fast_check_text: only characters that libyaml reads as ordinary
 * printable ones: printable ASCII, newlines, and UTF-8 (shortest form) of
 * code points from U+00A0 up, less surrogates, U+2028, U+2029 (line
 * breaks to libyaml), U+FEFF (a byte order mark, which libyaml skips at
 * the start of a line), U+FFFE and U+FFFF. */
static int
fast_check_text(struct fast *f, size_t len)
{
	const unsigned char *s = (const unsigned char *)f->text, *e = s + len;
	const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;

	f->ascii = 1;
	while (s < e) {
		const unsigned char *stop = e;

		if (e - s >= 8) {
			uint64_t w;

			/* eight bytes in 0x20..0x7e: no borrow below 0x20, no carry
			 * into the high bit at 0x7f, no high bit */
			memcpy(&w, s, 8);
			if (!(((w - 0x20 * ones) | (w + ones) | w) & highs)) {
				s += 8;
				continue;
			}
			stop = s + 8;
		}
		while (s < stop) {
			unsigned c = *s, cp;
			int n, i;

			if ((c >= 0x20 && c < 0x7f) || c == '\n') {
				s++;
				continue;
			}
			if (c < 0x80)
				return fast_fail(f, (const char *)s,
					c == '\t' ? "a tab" : c == '\r' ? "a carriage return"
									: "a control character");
			f->ascii = 0;
			if (c >= 0xc2 && c <= 0xdf)
				n = 1, cp = c & 0x1f;
			else if (c >= 0xe0 && c <= 0xef)
				n = 2, cp = c & 0x0f;
			else if (c >= 0xf0 && c <= 0xf4)
				n = 3, cp = c & 0x07;
			else
				return fast_fail(f, (const char *)s, "invalid UTF-8");
			if (e - s <= n)
				return fast_fail(f, (const char *)s, "invalid UTF-8");
			for (i = 1; i <= n; i++) {
				if ((s[i] & 0xc0) != 0x80)
					return fast_fail(f, (const char *)s, "invalid UTF-8");
				cp = cp << 6 | (s[i] & 0x3f);
			}
			if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
				return fast_fail(f, (const char *)s, "invalid UTF-8");
			if (cp < 0xa0 || (cp >= 0xd800 && cp <= 0xdfff) || cp == 0x2028 ||
				cp == 0x2029 || cp == 0xfeff || cp == 0xfffe || cp == 0xffff)
				return fast_fail(f, (const char *)s, "a special character");
			s += n + 1;
		}
	}
	return 0;
}

/* fast_next_line: from q, the start of a line, skip blank and comment
 * lines (and the one "---" allowed before the content); set bol, p and
 * ind for the next line with content. */
static int
fast_next_line(struct fast *f, const char *q)
{
	for (;;) {
		const char *b = q;

		while (*q == ' ')
			q++;
		if (q == b && ((q[0] == '-' && q[1] == '-' && q[2] == '-') ||
				      (q[0] == '.' && q[1] == '.' && q[2] == '.')) &&
			fast_blankz(q[3])) {
			if (f->started || q[0] == '.')
				return fast_fail(f, q, "a document marker");
			f->started = 1;
			q += 3;
			while (*q == ' ')
				q++;
			if (*q != '\n' && *q != '#' && *q)
				return fast_fail(f, q, "content after \"---\"");
		}
		if (*q == '#')
			q += strcspn(q, "\n");
		if (*q == '\n') {
			q++;
			f->line++;
			continue;
		}
		f->bol = b;
		f->p = q;
		f->ind = *q ? (int)(q - b) : -1;
		f->started = 1;
		return 0;
	}
}

/* fast_end_line: after a value at q, only spaces and a comment may follow
 * on the line; go on to the next line with content. */
static int
fast_end_line(struct fast *f, const char *q)
{
	const char *s = q;

	while (*q == ' ')
		q++;
	if (*q == '#') {
		if (q == s)
			return fast_fail(f, q, "a '#' right after a value");
		q += strcspn(q, "\n");
	}
	if (*q == '\n') {
		f->line++;
		return fast_next_line(f, q + 1);
	}
	if (*q)
		return fast_fail(f, q, "more after a value");
	return fast_next_line(f, q);
}

/* fast_plain_start: a plain scalar may start at q (context FAST_BLOCK or
 * FAST_FLOW): not at an indicator, and at '-' only before something that
 * continues the scalar. */
static int
fast_plain_start(const char *q, int ctx)
{
	if (!(fast_class[(unsigned char)*q] & FAST_NOSTART))
		return 1;
	return *q == '-' && !(fast_class[(unsigned char)q[1]] & ctx);
}

/* fast_plain: a one-line plain scalar at q into t; returns where it
 * stopped (a ':' before a blank in block context, or before a space in
 * flow context; the space before a comment; the end of the line; in flow
 * context ',', ']' or '}'), or NULL after giving up. */
static const char *
fast_plain(struct fast *f, const char *q, struct ftok *t, int ctx)
{
	const char *s = q, *e;

	if (!fast_plain_start(q, ctx))
		return fast_fail(f, q, "an indicator or nothing where a scalar belongs"), NULL;
	for (;;) {
		while (!(fast_class[(unsigned char)*q] & ctx))
			q++;
		if (*q == ' ') {
			if (q[1] != '#') {
				q++;
				continue;
			}
			if (ctx == FAST_FLOW)
				return fast_fail(f, q, "a comment in a flow collection"), NULL;
			break;
		}
		if (*q == ':') {
			if (ctx == FAST_BLOCK ? fast_blankz(q[1]) : q[1] == ' ')
				break;
			if (ctx == FAST_FLOW)
				return fast_fail(f, q, "a ':' in a flow scalar"), NULL;
			q++;
			continue;
		}
		if (ctx == FAST_BLOCK || *q == ',' || *q == ']' || *q == '}')
			break; /* block: the end of the line */
		if (*q == '\n' || !*q)
			return fast_fail(f, q, "a flow collection that does not end on its line"),
			       NULL;
		return fast_fail(f, q, "an indicator inside a flow scalar"), NULL;
	}
	for (e = q; e > s && e[-1] == ' '; e--)
		;
	t->s = (char *)s;
	t->n = (uint32_t)(e - s);
	t->plain = 1;
	t->term = 1;
	t->after = q;
	return q;
}

static int
fast_hex(const char *q, int n, unsigned *v)
{
	int i, d;

	*v = 0;
	for (i = 0; i < n; i++) {
		if ((d = digit_in_base((unsigned char)q[i], 16)) < 0)
			return -1;
		*v = *v << 4 | (unsigned)d;
	}
	return 0;
}

static char *
fast_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		*o++ = (char)cp;
	} else if (cp < 0x800) {
		*o++ = (char)(0xc0 | cp >> 6);
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*o++ = (char)(0xe0 | cp >> 12);
		*o++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*o++ = (char)(0xf0 | cp >> 18);
		*o++ = (char)(0x80 | (cp >> 12 & 0x3f));
		*o++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	}
	return o;
}

/* fast_quoted: a one-line quoted scalar at q (at its quote) into t;
 * returns the end of the closing quote, or NULL after giving up. */
static const char *
fast_quoted(struct fast *f, const char *q, struct ftok *t)
{
	char quote = *q;
	const char *r = q + 1;
	char *o;
	int plain_text = 1;

	/* find the closing quote */
	for (;;) {
		if (*r == '\n' || !*r)
			return fast_fail(f, q, "a quoted scalar that does not end on its line"),
			       NULL;
		if (*r == quote && !(quote == '\'' && r[1] == '\''))
			break;
		if ((*r == '\\' && quote == '"' && r[1] && r[1] != '\n') ||
			(*r == '\'' && quote == '\'')) {
			plain_text = 0;
			r++;
		}
		r++;
	}
	t->plain = 0;
	t->after = r + 1;
	if (plain_text) {
		t->s = (char *)q + 1;
		t->n = (uint32_t)(r - q - 1);
		t->term = 1;
		return r + 1;
	}
	/* an escape of 2 bytes gives at most 3, a longer one fewer than it
	 * has: the text and its NUL take at most twice the quoted span,
	 * which fast_read reserved in strs */
	if (f->scap - f->slen < 2 * (size_t)(r - q + 1))
		return fast_fail(f, q, "no room for the text of a quoted scalar"), NULL;
	o = f->strs + f->slen;
	for (r = q + 1; *r != quote || (quote == '\'' && r[1] == '\''); r++) {
		unsigned cp;

		if (*r == '\'' && quote == '\'') {
			*o++ = *r++;
			continue;
		}
		if (*r != '\\' || quote == '\'') {
			*o++ = *r;
			continue;
		}
		switch (*++r) {
		case '0': *o++ = 0; break;
		case 'a': *o++ = '\a'; break;
		case 'b': *o++ = '\b'; break;
		case 't': *o++ = '\t'; break;
		case 'n': *o++ = '\n'; break;
		case 'v': *o++ = '\v'; break;
		case 'f': *o++ = '\f'; break;
		case 'r': *o++ = '\r'; break;
		case 'e': *o++ = '\x1b'; break;
		case ' ': *o++ = ' '; break;
		case '"': *o++ = '"'; break;
		case '/': *o++ = '/'; break;
		case '\\': *o++ = '\\'; break;
		case 'N': o = fast_utf8(o, 0x85); break;
		case '_': o = fast_utf8(o, 0xa0); break;
		case 'L': o = fast_utf8(o, 0x2028); break;
		case 'P': o = fast_utf8(o, 0x2029); break;
		case 'x':
		case 'u':
		case 'U': {
			int n = *r == 'x' ? 2 : *r == 'u' ? 4 : 8;

			if (fast_hex(r + 1, n, &cp) || (cp >= 0xd800 && cp <= 0xdfff) ||
				cp > 0x10ffff)
				return fast_fail(f, r - 1, "an escape the fast reader does not read"),
				       NULL;
			o = fast_utf8(o, cp);
			r += n;
			break;
		}
		default:
			return fast_fail(f, r - 1, "an escape the fast reader does not read"), NULL;
		}
	}
	t->s = f->strs + f->slen;
	t->n = (uint32_t)(o - t->s);
	t->term = 0;
	*o = 0;
	f->slen += t->n + 1;
	return r + 1;
}

/* fast_tok: a scalar at q, in block or flow context, into t; t->colon is
 * the ':' after it (and spaces) if that makes it a key. */
static int
fast_tok(struct fast *f, const char *q, struct ftok *t, int ctx)
{
	const char *r;

	t->line = f->line;
	t->col = fast_col(f, q);
	if (*q == '\'' || *q == '"')
		r = fast_quoted(f, q, t);
	else
		r = fast_plain(f, q, t, ctx);
	if (!r)
		return -1;
	while (*r == ' ')
		r++;
	t->colon = NULL;
	if (*r == ':') {
		if (ctx == FAST_BLOCK ? !fast_blankz(r[1]) : r[1] != ' ')
			return fast_fail(f, r, "a ':' not followed by a space");
		if (r - q > FAST_MAX_KEY)
			return fast_fail(f, q, "a long key");
		t->colon = r;
	}
	return 0;
}

static int fast_block(struct fast *f);
static int fast_seq(struct fast *f, int col);

/* fast_flow: a one-line flow collection at *qp; *qp moves past it. */
static int
fast_flow(struct fast *f, const char **qp)
{
	const char *r = *qp;
	int map = *r == '{';
	char close = map ? '}' : ']';
	struct ftok t;
	size_t at = f->nev;
	uint32_t size = 0;

	if (++f->depth > FAST_MAX_DEPTH)
		return fast_fail(f, r, "deep nesting");
	fast_emit(f, map ? EV_MAP_START : EV_SEQ_START, f->line, fast_col(f, r), NULL, 0, 0, 0);
	for (r++; *r == ' '; r++)
		;
	if (*r == close) {
		r++;
	} else {
		for (;; size++) {
			if (map) {
				if (fast_tok(f, r, &t, FAST_FLOW))
					return -1;
				if (!t.colon)
					return fast_fail(f, r, "a flow map entry without ': '");
				fast_emit_tok(f, &t);
				for (r = t.colon + 1; *r == ' '; r++)
					;
			}
			if (*r == '[' || *r == '{') {
				if (fast_flow(f, &r))
					return -1;
			} else {
				if (fast_tok(f, r, &t, FAST_FLOW))
					return -1;
				if (t.colon)
					return fast_fail(f, t.colon, "a ':' after a flow value");
				fast_emit_tok(f, &t);
				r = t.after;
			}
			while (*r == ' ')
				r++;
			if (*r == close) {
				r++;
				break;
			}
			if (*r != ',')
				return fast_fail(f, r, "no ',' or end after a flow entry");
			for (r++; *r == ' '; r++)
				;
			if (*r == close || *r == ',')
				return fast_fail(f, r, "an empty flow entry");
		}
		size++;
	}
	f->ev[at].n = size;
	fast_emit(f, EV_END, 0, 0, NULL, 0, 0, 0);
	f->depth--;
	*qp = r;
	return 0;
}

/* fast_value: a scalar or flow collection at q that ends its line. */
static int
fast_value(struct fast *f, const char *q)
{
	struct ftok t;

	if (*q == '[' || *q == '{') {
		if (fast_flow(f, &q))
			return -1;
		return fast_end_line(f, q);
	}
	if (fast_tok(f, q, &t, FAST_BLOCK))
		return -1;
	if (t.colon)
		return fast_fail(f, t.colon, "a ':' after a value");
	fast_emit_tok(f, &t);
	return fast_end_line(f, t.after);
}

/* fast_nested: after "key:" or "-" that ends its line, the value: a block
 * collection on the next lines, indented more than col, or null at line,
 * ncol (just after the ':' or '-').  indentless: a list at col may follow
 * (a map's key). */
static int
fast_nested(struct fast *f, const char *q, int col, int line, int ncol, int indentless)
{
	if (fast_end_line(f, q))
		return -1;
	if (f->ind > col)
		return fast_block(f);
	if (indentless && f->ind == col && fast_dash(f->p))
		return fast_seq(f, col);
	fast_emit(f, EV_SCALAR, line, ncol, f->empty, 0, 1, 0);
	return 0;
}

/* fast_map: a block map at column col whose first key t is read. */
static int
fast_map(struct fast *f, int col, struct ftok *t)
{
	size_t at = f->nev;
	uint32_t size = 0;

	if (++f->depth > FAST_MAX_DEPTH)
		return fast_fail(f, f->p, "deep nesting");
	fast_emit(f, EV_MAP_START, t->line, t->col, NULL, 0, 0, 0);
	for (;; size++) {
		const char *q = t->colon + 1;

		fast_emit_tok(f, t);
		while (*q == ' ')
			q++;
		if (*q == '\n' || *q == '#' || !*q) {
			if (fast_nested(f, t->colon + 1, col, t->line, fast_col(f, t->colon) + 1, 1))
				return -1;
		} else if (fast_value(f, q)) {
			return -1;
		}
		if (f->ind < col)
			break;
		if (f->ind > col)
			return fast_fail(f, f->p, "an indentation that closes nothing");
		if (fast_dash(f->p))
			return fast_fail(f, f->p, "a list item where a key belongs");
		if (fast_tok(f, f->p, t, FAST_BLOCK))
			return -1;
		if (!t->colon)
			return fast_fail(f, f->p, "a scalar where a key belongs");
	}
	f->ev[at].n = size + 1;
	fast_emit(f, EV_END, 0, 0, NULL, 0, 0, 0);
	f->depth--;
	return 0;
}

/* fast_seq: a block list at column col; f->p is at its first '-'. */
static int
fast_seq(struct fast *f, int col)
{
	size_t at = f->nev;
	uint32_t size = 0;

	if (++f->depth > FAST_MAX_DEPTH)
		return fast_fail(f, f->p, "deep nesting");
	fast_emit(f, EV_SEQ_START, f->line, col + 1, NULL, 0, 0, 0);
	for (;; size++) {
		const char *q = f->p + 1;
		struct ftok t;

		while (*q == ' ')
			q++;
		if (*q == '\n' || *q == '#' || !*q) {
			if (fast_nested(f, f->p + 1, col, f->line, col + 2, 0))
				return -1;
		} else if (fast_dash(q)) {
			f->p = q;
			if (fast_seq(f, (int)(q - f->bol)))
				return -1;
		} else if (*q == '[' || *q == '{') {
			if (fast_value(f, q))
				return -1;
		} else {
			if (fast_tok(f, q, &t, FAST_BLOCK))
				return -1;
			if (t.colon) {
				if (fast_map(f, (int)(q - f->bol), &t))
					return -1;
			} else {
				fast_emit_tok(f, &t);
				if (fast_end_line(f, t.after))
					return -1;
			}
		}
		if (f->ind > col)
			return fast_fail(f, f->p, "an indentation that closes nothing");
		if (f->ind < col || !fast_dash(f->p))
			break;
	}
	f->ev[at].n = size + 1;
	fast_emit(f, EV_END, 0, 0, NULL, 0, 0, 0);
	f->depth--;
	return 0;
}

/* fast_block: the block collection that starts at f->p. */
static int
fast_block(struct fast *f)
{
	struct ftok t;

	if (fast_dash(f->p))
		return fast_seq(f, f->ind);
	if (fast_tok(f, f->p, &t, FAST_BLOCK))
		return -1;
	if (!t.colon)
		return fast_fail(f, f->p, "a scalar on a line of its own");
	return fast_map(f, f->ind, &t);
}

static void
fast_free(struct fast *f)
{
	free(f->text);
	free(f->ev);
	free(f->strs);
}

/* fast_read: the events of text, or -1 with f->why and f->where when it
 * is outside the subset.  fast_free(f) in both cases. */
static int
fast_read(struct fast *f, const char *text, size_t len)
{
	memset(f, 0, sizeof(*f));
	if (len > SPEC_MAX_BYTES)
		return fast_fail(f, NULL, "a large text");
	f->text = xmalloc(len + 1);
	memcpy(f->text, text, len);
	f->text[len] = 0;
	f->scap = 2 * len + 1;
	f->strs = xmalloc(f->scap);
	f->line = 1;
	f->bol = f->text;
	if (fast_check_text(f, len) || fast_next_line(f, f->text))
		return -1;
	if (f->ind < 0)
		return fast_fail(f, f->p, "no content");
	if (fast_dash(f->p))
		return fast_fail(f, f->p, "a list at the root");
	if (fast_block(f))
		return -1;
	if (f->ind >= 0)
		return fast_fail(f, f->p, "more after the root map");
	return 0;
}

/* fast_feed: the events read by fast_read into the tree builder; a
 * scalar's text in f's copy gets its NUL here. */
static void
fast_feed(struct parser *p, struct fast *f)
{
	struct event ev = {0};
	size_t i;

	ev.stable = 1;
	for (i = 0; i < f->nev && !p->stop; i++) {
		const struct fev *e = &f->ev[i];

		ev.type = (enum ev_type)e->type;
		ev.plain = e->plain;
		if (e->term)
			e->s[e->n] = 0;
		ev.s = e->s;
		ev.n = e->type == EV_SCALAR ? e->n : 0;
		ev.size = e->type == EV_SCALAR ? 0 : e->n;
		ev.line = e->line;
		ev.col = e->col;
		on_event(p, &ev);
	}
}

/* fast_refusal: why the fast reader gave up, as a diagnostic at the place
 * (for SPEC_READER_FAST). */
static void
fast_refusal(struct parser *p, const struct fast *f)
{
	const char *s, *end = f->where ? f->where : f->text;
	int line = 1, col = 1;

	for (s = f->text; s && s < end; s++) {
		if (*s == '\n')
			line++, col = 1;
		else if (((unsigned char)*s & 0xc0) != 0x80)
			col++;
	}
	perr(p, (struct srcpos){p->file, line, col}, "fast reader refuses: %s", f->why);
}

/* event_from_yaml: a libyaml event as an event (pointing into it). */
static void
event_from_yaml(struct event *e, const yaml_event_t *y)
{
	memset(e, 0, sizeof(*e));
	e->line = (int)y->start_mark.line + 1;
	e->col = (int)y->start_mark.column + 1;
	switch (y->type) {
	case YAML_SCALAR_EVENT:
		e->type = EV_SCALAR;
		e->s = (const char *)y->data.scalar.value;
		e->n = y->data.scalar.length;
		e->plain = y->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		e->tag = (const char *)y->data.scalar.tag;
		e->anchor = (const char *)y->data.scalar.anchor;
		break;
	case YAML_ALIAS_EVENT:
		e->type = EV_ALIAS;
		e->s = (const char *)y->data.alias.anchor;
		e->n = strlen(e->s);
		break;
	case YAML_SEQUENCE_START_EVENT:
		e->type = EV_SEQ_START;
		e->tag = (const char *)y->data.sequence_start.tag;
		e->anchor = (const char *)y->data.sequence_start.anchor;
		break;
	case YAML_MAPPING_START_EVENT:
		e->type = EV_MAP_START;
		e->tag = (const char *)y->data.mapping_start.tag;
		e->anchor = (const char *)y->data.mapping_start.anchor;
		break;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		e->type = EV_END;
		break;
	case YAML_DOCUMENT_END_EVENT:
	case YAML_STREAM_END_EVENT:
		e->type = EV_DONE;
		break;
	default:
		e->type = EV_NONE;
		break;
	}
}

static void
yaml_error(struct parser *p, const yaml_parser_t *yp)
{
	const char *problem = yp->problem ? yp->problem : "syntax error";
	int line = 1, col = 1;

	if (yp->error == YAML_READER_ERROR) {
		size_t i;

		for (i = 0; i < yp->problem_offset && i < p->len; i++) {
			if (p->text[i] == '\n')
				line++, col = 1;
			else if (((unsigned char)p->text[i] & 0xc0) != 0x80)
				col++;
		}
		diag_add(p->d, p->file, line, col, "invalid input: %s", problem);
	} else if (yp->context) {
		diag_add(p->d, p->file, (int)yp->problem_mark.line + 1,
			(int)yp->problem_mark.column + 1, "%s %s (started at line %d)", problem,
			yp->context, (int)yp->context_mark.line + 1);
	} else {
		diag_add(p->d, p->file, (int)yp->problem_mark.line + 1,
			(int)yp->problem_mark.column + 1, "%s", problem);
	}
	p->failed = 1;
	p->stop = 1;
}

static void
parser_free(struct parser *p)
{
	size_t i;

	for (i = 0; i < p->depth; i++)
		free(p->st[i].anchor);
	for (i = 0; i < p->cap; i++) {
		buf_free(&p->st[i].key);
		free(p->st[i].kpos);
	}
	free(p->st);
	val_free(p->anames);
	free(p->anchors);
}

/* read_libyaml: the events of text from libyaml into the tree builder. */
static void
read_libyaml(struct parser *p, const char *text, size_t len)
{
	yaml_parser_t yp;
	yaml_event_t y;
	struct event ev;
	int done = 0;

	if (!yaml_parser_initialize(&yp))
		fatal("out of memory");
	yaml_parser_set_encoding(&yp, YAML_UTF8_ENCODING);
	yaml_parser_set_input_string(&yp, (const unsigned char *)text, len);
	while (!done && !p->stop) {
		if (!yaml_parser_parse(&yp, &y)) {
			yaml_error(p, &yp);
			break;
		}
		event_from_yaml(&ev, &y);
		done = on_event(p, &ev);
		yaml_event_delete(&y);
	}
	yaml_parser_delete(&yp);
}

/* read_text: the events of text, from the reader r asks for (the fast one
 * falling back to libyaml, unless r is SPEC_READER_FAST: then a refusal is
 * an error). */
static void
read_text(struct parser *p, const char *text, size_t len, enum spec_reader r)
{
	struct fast f;

	if (r == SPEC_READER_LIBYAML) {
		read_libyaml(p, text, len);
		return;
	}
	if (!fast_read(&f, text, len))
		fast_feed(p, &f);
	else if (r == SPEC_READER_FAST)
		fast_refusal(p, &f);
	else
		read_libyaml(p, text, len);
	fast_free(&f);
}

/* parse: one document of text into nodes of arena a, read as r says; on
 * success *out is its root map (not yet owning a). */
static int
parse(struct val_arena *a, const char *name, const char *text, size_t len,
	enum spec_reader r, struct val **out, struct diag *d)
{
	struct parser p;

	*out = NULL;
	memset(&p, 0, sizeof(p));
	p.file = name_intern(name ? name : "<input>");
	p.text = text;
	p.len = len;
	p.d = d;
	p.arena = a;
	read_text(&p, text, len, r);
	if (!p.failed && (!p.root || p.root->kind == VAL_NULL)) {
		struct srcpos pos = {p.file, 1, 1};

		if (p.root)
			pos = p.root->pos;
		p.root = val_new_in(a, VAL_MAP);
		p.root->pos = pos;
	} else if (!p.failed && p.root->kind != VAL_MAP) {
		perr(&p, p.root->pos, "spec root must be a map, found %s", a_kind(p.root->kind));
	}
	parser_free(&p);
	if (p.failed)
		return DM_EINPUT;
	*out = p.root;
	return 0;
}

int
spec_parse_reader(const char *name, const char *text, size_t len, enum spec_reader r,
	struct val **out, struct diag *d)
{
	struct val_arena *a = val_arena_new();
	int rc = parse(a, name, text, len, r, out, d);

	if (rc)
		val_arena_free(a);
	else
		val_arena_set_root(a, *out);
	return rc;
}

int
spec_parse(const char *name, const char *text, size_t len, struct val **out, struct diag *d)
{
	return spec_parse_reader(name, text, len, SPEC_READER_AUTO, out, d);
}

int
spec_events(const char *text, size_t len, enum spec_reader r, struct buf *out)
{
	struct parser p;
	struct diag d = {0};
	int rc;

	memset(&p, 0, sizeof(p));
	p.file = "<events>";
	p.text = text;
	p.len = len;
	p.d = &d;
	p.dump = out;
	read_text(&p, text, len, r);
	rc = p.failed ? DM_EINPUT : 0;
	diag_free(&d);
	return rc;
}

int
spec_load(const char *const *paths, size_t n, struct val **out, struct diag *d)
{
	return spec_load_digests(paths, n, NULL, out, d);
}

int
spec_load_digests(const char *const *paths, size_t n, struct digest *digests, struct val **out,
	struct diag *d)
{
	struct val_arena *a = val_arena_new();
	struct val *root = NULL;
	int rc = 0;
	size_t i;

	*out = NULL;
	for (i = 0; i < n; i++) {
		struct val *v;
		char *text;
		size_t len;
		int r = file_read(paths[i], &text, &len);

		if (digests) {
			struct digest zero = {0, 0};

			digests[i] = r ? zero : hash_bytes(text, len);
		}
		if (r) {
			diag_add(d, paths[i], 0, 0, "cannot read spec file: %s", strerror(errno));
			if (!rc)
				rc = r;
			continue;
		}
		if (len > SPEC_MAX_BYTES) {
			diag_add(d, paths[i], 0, 0,
				"spec file too large: %zu MiB; at most %d MiB are read",
				len >> 20, SPEC_MAX_BYTES >> 20);
			free(text);
			if (!rc)
				rc = DM_EINPUT;
			continue;
		}
		r = parse(a, paths[i], text, len, SPEC_READER_AUTO, &v, d);
		free(text);
		if (r) {
			if (!rc)
				rc = r;
			continue;
		}
		if (root)
			val_merge(root, v);
		else
			root = v;
	}
	if (rc) {
		val_arena_free(a);
		return rc;
	}
	if (!root)
		root = val_new_in(a, VAL_MAP);
	val_arena_set_root(a, root);
	val_freeze(root, "");
	*out = root;
	return 0;
}
