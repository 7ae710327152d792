/* spec.c - the application spec, read with libyaml's event API.  See
 * spec.h.
 *
 * Invariants and choices:
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
 *    warm (libyaml still allocates each event's text).
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
	struct buf key;      /* the key waiting for its value */
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
};

static struct srcpos
mark_pos(const struct parser *p, yaml_mark_t m)
{
	struct srcpos pos = {p->file, (int)m.line + 1, (int)m.column + 1};

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
scalar_value(struct parser *p, const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t n = ev->data.scalar.length;
	const char *tag = (const char *)ev->data.scalar.tag;
	struct val_arena *a = p->arena;
	struct val *v = NULL;
	const char *want = NULL;
	char tn[64];
	int b;

	if (!tag) {
		if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
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
			perr(p, mark_pos(p, ev->start_mark), "!!int value \"%s\" is out of range",
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
		perr(p, mark_pos(p, ev->start_mark),
			"unsupported tag %s (expected !!str, !!int, !!float, !!bool or !!null)",
			tag_name(tag, tn, sizeof(tn)));
		return NULL;
	}
	if (!v) {
		perr(p, mark_pos(p, ev->start_mark), "%s expects %s, found \"%s\"",
			tag_name(tag, tn, sizeof(tn)), want, s);
		return NULL;
	}
	v->pos = mark_pos(p, ev->start_mark);
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
		val_map_set(f->v, f->key.data, f->key.len, v);
		kpos_add(f, f->keypos);
	}
}

/* map_key: take the next key of the open map f; a duplicate is reported
 * and its value will be discarded. */
static void
map_key(struct parser *p, struct frame *f, const char *key, size_t klen, struct srcpos pos,
	int merge)
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
	buf_clear(&f->key);
	buf_add(&f->key, key, klen);
}

static void
push_frame(struct parser *p, enum val_kind kind, const char *anchor, struct srcpos pos)
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
check_collection_tag(struct parser *p, const char *tag, const char *want, yaml_mark_t m)
{
	char tn[64];

	if (!tag || !strcmp(tag, "!") || !strcmp(tag, want))
		return 0;
	perr(p, mark_pos(p, m), "unsupported tag %s on a %s", tag_name(tag, tn, sizeof(tn)),
		!strcmp(want, YAML_TAG_PREFIX "map") ? "map" : "list");
	return -1;
}

static void
on_alias(struct parser *p, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	struct srcpos pos = mark_pos(p, ev->start_mark);
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
		map_key(p, f, key.data ? key.data : "", key.len, pos, 0);
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
on_scalar(struct parser *p, const yaml_event_t *ev)
{
	struct frame *f = top(p);
	const char *anchor = (const char *)ev->data.scalar.anchor;
	struct val *v;

	if (f && f->v->kind == VAL_MAP && !f->have_key) {
		const char *s = (const char *)ev->data.scalar.value;
		int merge = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
			!ev->data.scalar.tag && !strcmp(s, "<<");

		if (anchor || ev->data.scalar.tag) {
			v = scalar_value(p, ev);
			if (v && anchor)
				anchor_add(p, anchor, v, 1, 0);
		}
		map_key(p, f, s, ev->data.scalar.length, mark_pos(p, ev->start_mark), merge);
		return;
	}
	v = scalar_value(p, ev);
	if (!v) {
		/* keep the structure going so that later errors are found */
		v = val_new_in(p->arena, VAL_NULL);
		v->pos = mark_pos(p, ev->start_mark);
	}
	if (anchor)
		anchor_add(p, anchor, v, 1, 0);
	attach(p, v, 1, 0);
}

static void
on_start(struct parser *p, const yaml_event_t *ev, enum val_kind kind)
{
	struct frame *f = top(p);
	struct srcpos pos = mark_pos(p, ev->start_mark);
	const char *tag, *anchor;

	if (kind == VAL_MAP) {
		tag = (const char *)ev->data.mapping_start.tag;
		anchor = (const char *)ev->data.mapping_start.anchor;
	} else {
		tag = (const char *)ev->data.sequence_start.tag;
		anchor = (const char *)ev->data.sequence_start.anchor;
	}
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
	check_collection_tag(p, tag,
		kind == VAL_MAP ? YAML_TAG_PREFIX "map" : YAML_TAG_PREFIX "seq", ev->start_mark);
	push_frame(p, kind, anchor, pos);
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

/* parse: one document of text into nodes of arena a; on success *out is
 * its root map (not yet owning a). */
static int
parse(struct val_arena *a, const char *name, const char *text, size_t len, struct val **out,
	struct diag *d)
{
	struct parser p;
	yaml_parser_t yp;
	yaml_event_t ev;
	int done = 0;

	*out = NULL;
	memset(&p, 0, sizeof(p));
	p.file = name_intern(name ? name : "<input>");
	p.text = text;
	p.len = len;
	p.d = d;
	p.arena = a;
	if (!yaml_parser_initialize(&yp))
		fatal("out of memory");
	yaml_parser_set_encoding(&yp, YAML_UTF8_ENCODING);
	yaml_parser_set_input_string(&yp, (const unsigned char *)text, len);
	while (!done && !p.stop) {
		if (!yaml_parser_parse(&yp, &ev)) {
			yaml_error(&p, &yp);
			break;
		}
		switch (ev.type) {
		case YAML_SCALAR_EVENT:
			on_scalar(&p, &ev);
			break;
		case YAML_ALIAS_EVENT:
			on_alias(&p, &ev);
			break;
		case YAML_SEQUENCE_START_EVENT:
			on_start(&p, &ev, VAL_LIST);
			break;
		case YAML_MAPPING_START_EVENT:
			on_start(&p, &ev, VAL_MAP);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			pop_frame(&p);
			break;
		case YAML_DOCUMENT_END_EVENT:
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&yp);
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
spec_parse(const char *name, const char *text, size_t len, struct val **out, struct diag *d)
{
	struct val_arena *a = val_arena_new();
	int rc = parse(a, name, text, len, out, d);

	if (rc)
		val_arena_free(a);
	else
		val_arena_set_root(a, *out);
	return rc;
}

int
spec_load(const char *const *paths, size_t n, struct val **out, struct diag *d)
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
		r = parse(a, paths[i], text, len, &v, d);
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
