/* t-value.c - the value tree: maps, merging, paths, resolve, digests,
 * truth and formatting; arenas and trees that mix arena and heap nodes
 * (run under valgrind or ASan, the frees are checked too). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "value.h"

static void
set(struct val *m, const char *k, struct val *v)
{
	val_map_set(m, k, strlen(k), v);
}

static const struct val *
get(const struct val *m, const char *k)
{
	return val_map_get(m, k, strlen(k));
}

static char *
fmt(const struct val *v)
{
	struct buf b = {0};

	val_format(v, &b);
	return buf_release(&b);
}

static void
is_fmt(struct val *v, const char *want, const char *what)
{
	char *s = fmt(v);

	is_str(s, want, "format %s", what);
	free(s);
	val_free(v);
}

/* {"name": "shop", "list": [1, {"x.y": true, "": null}, 2.5],
 *  "m": {"a": {"b": "c"}, "q\"\\": [[]]}} */
static struct val *
sample(void)
{
	struct val *root = val_new(VAL_MAP), *list = val_new(VAL_LIST);
	struct val *inner = val_new(VAL_MAP), *m = val_new(VAL_MAP), *a = val_new(VAL_MAP);
	struct val *ll = val_new(VAL_LIST);

	set(root, "name", val_new_str("shop", 4));
	val_list_push(list, val_new_int(1));
	set(inner, "x.y", val_new_bool(1));
	set(inner, "", val_new(VAL_NULL));
	val_list_push(list, inner);
	val_list_push(list, val_new_float(2.5));
	set(root, "list", list);
	set(a, "b", val_new_str("c", 1));
	set(m, "a", a);
	val_list_push(ll, val_new(VAL_LIST));
	set(m, "q\"\\", ll);
	set(root, "m", m);
	return root;
}

static void
collect(struct val *v, struct val ***all, size_t *n)
{
	size_t i;

	*all = realloc(*all, (*n + 1) * sizeof(**all));
	(*all)[(*n)++] = v;
	for (i = 0; i < v->n; i++)
		collect(v->items[i], all, n);
}

static void
test_maps(void)
{
	struct val *m = val_new(VAL_MAP);
	char k[32];
	int i, good = 1;

	set(m, "b", val_new_int(1));
	set(m, "a", val_new_int(2));
	set(m, "b", val_new_int(3));
	is_int((long long)m->n, 2, "replacing a key does not add one");
	is_str(m->keys[0], "b", "insertion order kept on replace");
	is_int(get(m, "b")->i, 3, "replaced value");
	ok(get(m, "c") == NULL, "missing key gives NULL");
	ok(val_map_get(m, "ab", 1) == get(m, "a"), "lookup uses klen");
	ok(m->idx == NULL, "small map has no index");
	val_map_set(m, "x\0y", 3, val_new_int(9));
	ok(val_map_get(m, "x\0y", 3) && !val_map_get(m, "x", 1), "keys may hold NUL bytes");
	val_free(m);

	m = val_new(VAL_MAP);
	for (i = 0; i < 1000; i++) {
		snprintf(k, sizeof(k), "key%d", i);
		set(m, k, val_new_int(i));
	}
	ok(m->idx != NULL, "a 1,000-key map has an index before freezing");
	for (i = 0; i < 1000; i++) {
		const struct val *v;

		snprintf(k, sizeof(k), "key%d", i);
		v = get(m, k);
		if (!v || v->i != i || strcmp(m->keys[i], k))
			good = 0;
	}
	ok(good, "all 1,000 keys found in order");
	ok(!get(m, "key1000") && !get(m, "key") && !get(m, ""), "absent keys not found");
	set(m, "key500", val_new_str("new", 3));
	is_int((long long)m->n, 1000, "replace in an indexed map keeps its size");
	is_str(get(m, "key500")->s, "new", "replace in an indexed map");
	set(m, "extra", val_new_int(-1));
	is_int(get(m, "extra")->i, -1, "insert after the index was built");
	is_int(get(m, "key999")->i, 999, "old keys still found after growth");
	val_freeze(m, "");
	ok(m->idx != NULL, "index kept by freeze");
	is_int(get(m, "key7")->i, 7, "lookup after freeze");
	is_str(get(m, "key7")->path, "key7", "path of a key in a large map");
	val_free(m);

	ok(val_map_get(NULL, "a", 1) == NULL, "get on NULL");
	m = val_new(VAL_LIST);
	ok(val_map_get(m, "a", 1) == NULL, "get on a list");
	val_free(m);
}

static void
test_merge(void)
{
	struct val *dst = val_new(VAL_MAP), *src = val_new(VAL_MAP);
	struct val *d1 = val_new(VAL_MAP), *s1 = val_new(VAL_MAP), *l = val_new(VAL_LIST);

	set(d1, "x", val_new_int(1));
	set(d1, "y", val_new_int(2));
	set(dst, "a", d1);
	set(dst, "s", val_new_str("old", 3));
	set(dst, "keep", val_new_bool(0));
	set(s1, "y", val_new_int(20));
	set(s1, "z", val_new_int(30));
	set(src, "a", s1);
	val_list_push(l, val_new_int(7));
	set(src, "s", l);
	set(src, "new", val_new(VAL_NULL));
	val_merge(dst, src);

	is_int((long long)dst->n, 4, "merged map has the union of keys");
	is_str(dst->keys[3], "new", "new keys are appended");
	is_int(val_resolve(dst, "a.x")->i, 1, "nested key kept");
	is_int(val_resolve(dst, "a.y")->i, 20, "nested key replaced");
	is_int(val_resolve(dst, "a.z")->i, 30, "nested key added");
	is_str(val_kind_name(get(dst, "s")->kind), "list", "scalar replaced by a list");
	is_int(val_resolve(dst, "s[0]")->i, 7, "replacing list content");
	ok(get(dst, "keep") && !get(dst, "keep")->b, "untouched key kept");

	src = val_new(VAL_MAP);
	set(src, "a", val_new_str("flat", 4));
	val_merge(dst, src);
	is_str(get(dst, "a")->s, "flat", "a map replaced by a scalar");
	val_free(dst);

	dst = val_new_int(1);
	val_merge(dst, val_new_str("two", 3));
	ok(dst->kind == VAL_STR && !strcmp(dst->s, "two"), "non-map root replaced");
	val_free(dst);
}

static void
test_paths(void)
{
	struct val *root = sample(), **all = NULL;
	size_t n = 0, i;
	int good = 1;
	char *p;

	val_freeze(root, "");
	is_str(root->path, "", "root path");
	is_str(get(root, "name")->path, "name", "top-level key");
	is_str(val_resolve(root, "list")->items[1]->path, "list[1]", "list item");
	is_str(val_resolve(root, "list[1]")->items[0]->path, "list[1][\"x.y\"]", "quoted key");
	is_str(val_resolve(root, "list[1]")->items[1]->path, "list[1][\"\"]", "empty key");
	is_str(val_resolve(root, "m.a.b")->path, "m.a.b", "nested keys");
	is_str(get(get(root, "m"), "q\"\\")->path, "m[\"q\\\"\\\\\"]",
		"quote and backslash escaped");
	is_str(get(get(root, "m"), "q\"\\")->items[0]->path, "m[\"q\\\"\\\\\"][0]",
		"item under a quoted key");

	collect(root, &all, &n);
	for (i = 0; i < n; i++) {
		if (val_resolve(root, all[i]->path) != all[i]) {
			note("path %s does not resolve to its node", all[i]->path);
			good = 0;
		}
	}
	ok(good && n == 13, "every node's path resolves back to it (%zu nodes)", n);
	free(all);

	ok(val_resolve(root, "a.") == NULL, "trailing dot");
	ok(val_resolve(root, ".name") == NULL, "leading dot");
	ok(val_resolve(root, "m..a") == NULL, "double dot");
	ok(val_resolve(root, "list[") == NULL, "open bracket");
	ok(val_resolve(root, "list[x]") == NULL, "non-numeric index");
	ok(val_resolve(root, "list[3]") == NULL, "index out of range");
	ok(val_resolve(root, "list[-1]") == NULL, "negative index");
	ok(val_resolve(root, "list[99999999999999999999999]") == NULL, "huge index");
	ok(val_resolve(root, "[0]") == NULL, "indexing a map");
	ok(val_resolve(root, "list.x") == NULL, "keying a list");
	ok(val_resolve(root, "name.x") == NULL, "keying a string");
	ok(val_resolve(root, "name[0]") == NULL, "indexing a string");
	ok(val_resolve(root, "[\"name\"]") == get(root, "name"), "a bare key may be quoted");
	ok(val_resolve(root, "[\"name") == NULL, "unterminated quoted key");
	ok(val_resolve(root, "[\"name\"") == NULL, "quoted key without ]");
	ok(val_resolve(root, "list[1][\"x\\y\"]") == NULL, "unknown escape");
	ok(val_resolve(root, "list[1]x.y") == NULL, "key without a dot after ]");
	ok(val_resolve(root, "nope") == NULL, "missing key");
	ok(val_resolve(root, "m.a.b.c") == NULL, "past a leaf");
	ok(val_resolve(root, "name.") == NULL, "dot at end");
	ok(val_resolve(root, "") == root, "empty path is the root");
	ok(val_resolve(root, "list[0001]") == val_resolve(root, "list[1]"),
		"leading zeros in an index");
	ok(val_resolve(root, "list[18446744073709551615]") == NULL &&
			val_resolve(root, "list[18446744073709551616]") == NULL,
		"SIZE_MAX and beyond");
	ok(val_resolve(root, "list[1].x.y") == NULL && val_resolve(root, "list[1][\"x.y\"]"),
		"a key that needs quoting only matches quoted");
	val_free(root);

	p = val_child_path("", "a", 1);
	is_str(p, "a", "child of root");
	free(p);
	p = val_child_path("x[2]", "b-c_D9", 6);
	is_str(p, "x[2].b-c_D9", "bare key charset");
	free(p);
	p = val_child_path("x", "a b", 3);
	is_str(p, "x[\"a b\"]", "space needs quoting");
	free(p);
	p = val_child_path("", "é", strlen("é"));
	is_str(p, "[\"é\"]", "non-ASCII key quoted");
	free(p);
	p = val_child_path(NULL, "a\0b", 3);
	is_str(p, "[\"a\\0b\"]", "NUL byte written as \\0");
	free(p);

	root = val_new(VAL_LIST);
	val_list_push(root, val_new(VAL_MAP));
	val_map_set(root->items[0], "k", 2, val_new_int(1));
	val_freeze(root, "");
	is_str(root->items[0]->path, "[0]", "item of a root list");
	is_str(root->items[0]->items[0]->path, "[0][\"k\\0\"]", "key with NUL");
	ok(val_resolve(root, "[0][\"k\\0\"]") == root->items[0]->items[0], "resolve \\0");
	val_free(root);

	root = sample();
	val_freeze(root, "spec");
	is_str(get(root, "name")->path, "spec.name", "non-empty root path");
	ok(val_resolve(root, "name") == get(root, "name"), "resolve is relative to its root");
	val_free(root);
}

/* digest_diff: the paths of the nodes of a (same shape as b) whose digest
 * differs from b's. */
static void
digest_diff(struct val *a, struct val *b, struct buf *out)
{
	size_t i;

	if (!digest_eq(a->digest, b->digest)) {
		buf_adds(out, a->path[0] ? a->path : "<root>");
		buf_addc(out, ' ');
	}
	for (i = 0; i < a->n && i < b->n; i++)
		digest_diff(a->items[i], b->items[i], out);
}

static void
test_digests(void)
{
	struct val *a = sample(), *b = sample(), *c;
	struct buf diff = {0};
	char hex[DIGEST_HEX_LEN + 1];

	val_freeze(a, "");
	val_freeze(b, "");
	digest_diff(a, b, &diff);
	is_str(diff.data ? diff.data : "", "", "equal trees, equal digests everywhere");
	ok(!digest_is_zero(a->digest), "root digest is set");

	buf_clear(&diff);
	c = (struct val *)val_resolve(b, "m.a.b");
	free(c->s);
	c->s = xstrdup("d");
	val_freeze(b, "");
	digest_diff(a, b, &diff);
	is_str(diff.data, "<root> m m.a m.a.b ", "a changed leaf changes exactly its ancestors");

	val_free(b);
	b = sample();
	((struct val *)val_resolve(b, "list[1][\"x.y\"]"))->b = 0;
	val_freeze(b, "");
	buf_clear(&diff);
	digest_diff(a, b, &diff);
	is_str(diff.data, "<root> list list[1] list[1][\"x.y\"] ", "bool leaf in a list");

	val_free(b);
	b = sample();
	val_list_push((struct val *)val_resolve(b, "m[\"q\\\"\\\\\"][0]"), val_new(VAL_NULL));
	val_freeze(b, "");
	buf_clear(&diff);
	digest_diff(a, b, &diff);
	is_str(diff.data, "<root> m m[\"q\\\"\\\\\"] m[\"q\\\"\\\\\"][0] ", "list length");

	val_free(b);
	b = sample();
	free(b->keys[0]);
	b->keys[0] = xstrdup("Name");
	val_freeze(b, "");
	ok(!digest_eq(a->digest, b->digest), "a renamed key changes the root");
	ok(digest_eq(a->items[0]->digest, b->items[0]->digest), "but not the value under it");

	val_free(b);
	b = sample();
	c = b->items[1];
	b->items[1] = b->items[2];
	b->items[2] = c;
	{
		char *k = b->keys[1];
		size_t kl = b->keylens[1];

		b->keys[1] = b->keys[2];
		b->keys[2] = k;
		b->keylens[1] = b->keylens[2];
		b->keylens[2] = kl;
	}
	val_freeze(b, "");
	ok(!digest_eq(a->digest, b->digest), "key order changes the root digest");
	val_free(b);

	digest_hex(a->digest, hex);
	is_str(hex, "d816b3d21a9c0a3de169a766e7aa5446",
		"digest format is stable (cache compatibility)");
	val_free(a);

	{
		struct val *vals[] = {val_new_int(1), val_new_str("1", 1), val_new_float(1.0),
			val_new_bool(1), val_new(VAL_NULL), val_new_str("", 0), val_new(VAL_LIST),
			val_new(VAL_MAP)};
		size_t i, j, n = sizeof(vals) / sizeof(vals[0]);
		int distinct = 1;

		for (i = 0; i < n; i++)
			val_freeze(vals[i], "");
		for (i = 0; i < n; i++)
			for (j = i + 1; j < n; j++)
				if (digest_eq(vals[i]->digest, vals[j]->digest))
					distinct = 0;
		ok(distinct, "1, \"1\", 1.0, true, null, \"\", [], {} all differ");
		for (i = 0; i < n; i++)
			val_free(vals[i]);
	}

	{
		struct val *s1 = val_new(VAL_MAP), *s2 = val_new(VAL_MAP);

		set(s1, "a", val_new_str("bc", 2));
		set(s2, "ab", val_new_str("c", 1));
		val_freeze(s1, "");
		val_freeze(s2, "");
		ok(!digest_eq(s1->digest, s2->digest), "key/value boundaries are hashed");
		val_free(s1);
		val_free(s2);
	}
	buf_free(&diff);
}

static struct val *
frozen_list(int n, int start)
{
	struct val *l = val_new(VAL_LIST);
	int i;

	for (i = 0; i < n; i++)
		val_list_push(l, val_new_int(start + i));
	val_freeze(l, "");
	return l;
}

static void
test_use_digest(void)
{
	struct val *l1 = frozen_list(2, 1), *l2 = frozen_list(2, 10), *l3 = frozen_list(3, 1);
	struct val *l0 = frozen_list(0, 0), *m1 = val_new(VAL_MAP), *m2 = val_new(VAL_MAP);
	struct val *e = val_new_str("", 0), *x = val_new_str("x", 1), *y = val_new_str("y", 1);

	set(m1, "a", val_new_int(1));
	set(m2, "b", val_new_int(1));
	val_freeze(m1, "");
	val_freeze(m2, "");
	val_freeze(e, "");
	val_freeze(x, "");
	val_freeze(y, "");
	ok(digest_eq(val_use_digest(l1, VAL_USE_VALUE), l1->digest), "VALUE is the Merkle digest");
	ok(digest_eq(val_use_digest(l1, VAL_USE_SHAPE), val_use_digest(l2, VAL_USE_SHAPE)),
		"lists of the same length have one shape");
	ok(!digest_eq(val_use_digest(l1, VAL_USE_VALUE), val_use_digest(l2, VAL_USE_VALUE)),
		"but different values");
	ok(!digest_eq(val_use_digest(l1, VAL_USE_SHAPE), val_use_digest(l3, VAL_USE_SHAPE)),
		"list length is part of the shape");
	ok(!digest_eq(val_use_digest(l0, VAL_USE_SHAPE), val_use_digest(l1, VAL_USE_SHAPE)),
		"empty list has its own shape");
	ok(digest_eq(val_use_digest(m1, VAL_USE_SHAPE), val_use_digest(m2, VAL_USE_SHAPE)),
		"all maps have one shape");
	ok(digest_eq(val_use_digest(x, VAL_USE_SHAPE), val_use_digest(y, VAL_USE_SHAPE)),
		"non-empty strings share a shape");
	ok(!digest_eq(val_use_digest(x, VAL_USE_SHAPE), val_use_digest(e, VAL_USE_SHAPE)),
		"truth is part of the shape");
	ok(!digest_eq(val_use_digest(x, VAL_USE_SHAPE), val_use_digest(m1, VAL_USE_SHAPE)),
		"kind is part of the shape");
	ok(!digest_eq(val_use_digest(x, VAL_USE_SHAPE), x->digest), "SHAPE differs from VALUE");
	val_free(l0);
	val_free(l1);
	val_free(l2);
	val_free(l3);
	val_free(m1);
	val_free(m2);
	val_free(e);
	val_free(x);
	val_free(y);
}

static void
test_truthy(void)
{
	struct val *l = val_new(VAL_LIST), *v;

	ok(!val_truthy(NULL), "NULL is false");
	v = val_new(VAL_NULL);
	ok(!val_truthy(v), "null is false");
	val_free(v);
	v = val_new_bool(0);
	ok(!val_truthy(v), "false is false");
	val_free(v);
	v = val_new_bool(1);
	ok(val_truthy(v), "true is true");
	val_free(v);
	v = val_new_str("", 0);
	ok(!val_truthy(v), "\"\" is false");
	val_free(v);
	v = val_new(VAL_STR);
	ok(!val_truthy(v) && v->s && !*v->s, "val_new(VAL_STR) is an empty string");
	val_free(v);
	v = val_new_str("0", 1);
	ok(val_truthy(v), "\"0\" is true");
	val_free(v);
	v = val_new_int(0);
	ok(val_truthy(v), "0 is true");
	val_free(v);
	v = val_new_float(0.0);
	ok(val_truthy(v), "0.0 is true");
	val_free(v);
	ok(!val_truthy(l), "[] is false");
	val_list_push(l, val_new(VAL_NULL));
	ok(val_truthy(l), "[null] is true");
	val_free(l);
	v = val_new(VAL_MAP);
	ok(val_truthy(v), "{} is true");
	val_free(v);
}

static void
test_format(void)
{
	is_fmt(val_new_float(1.21), "1.21", "1.21");
	is_fmt(val_new_float(0.1), "0.1", "0.1");
	is_fmt(val_new_float(1e300), "1e+300", "1e300");
	is_fmt(val_new_float(3.0), "3", "3.0");
	is_fmt(val_new_float(-0.0), "-0", "-0.0");
	is_fmt(val_new_float(123456789012.0), "123456789012", "123456789012.0");
	is_fmt(val_new_float(0.1 + 0.2), "0.30000000000000004", "0.1 + 0.2");
	is_fmt(val_new_float(1.0 / 3), "0.3333333333333333", "1/3");
	is_fmt(val_new_float(1e21), "1e+21", "1e21");
	is_fmt(val_new_float(1e20), "100000000000000000000", "1e20");
	is_fmt(val_new_float(0.000001), "0.000001", "1e-6");
	is_fmt(val_new_float(1.5e-7), "1.5e-7", "1.5e-7");
	is_fmt(val_new_float(5e-324), "5e-324", "smallest denormal");
	is_fmt(val_new_float(1.7976931348623157e308), "1.7976931348623157e+308", "largest double");
	is_fmt(val_new_float(-2.5), "-2.5", "-2.5");
	is_fmt(val_new_float(INFINITY), "inf", "inf");
	is_fmt(val_new_float(-INFINITY), "-inf", "-inf");
	is_fmt(val_new_float(NAN), "nan", "nan");
	is_fmt(val_new_int(123456789012), "123456789012", "int 123456789012");
	is_fmt(val_new_int(-42), "-42", "negative int");
	is_fmt(val_new_int(-9223372036854775807LL - 1), "-9223372036854775808", "LLONG_MIN");
	is_fmt(val_new_bool(1), "true", "true");
	is_fmt(val_new_bool(0), "false", "false");
	is_fmt(val_new(VAL_NULL), "", "null");
	is_fmt(val_new_str("a b", 3), "a b", "string");
	is_fmt(val_new(VAL_LIST), "", "list");
	is_fmt(val_new(VAL_MAP), "", "map");
	{
		struct val *v = val_new_str("a\0b", 3);
		struct buf b = {0};

		val_format(v, &b);
		ok(b.len == 3 && !memcmp(b.data, "a\0b", 3), "string with NUL keeps its length");
		buf_free(&b);
		val_free(v);
	}
	{
		double xs[] = {0.1, 1e-300, 2.2250738585072014e-308, 123.456e10, 9007199254740993.0,
			6.02214076e23, -1e-7};
		size_t i;
		int good = 1;

		for (i = 0; i < sizeof(xs) / sizeof(xs[0]); i++) {
			struct val *v = val_new_float(xs[i]);
			char *s = fmt(v);

			if (strtod(s, NULL) != xs[i])
				good = 0, note("%s does not read back", s);
			free(s);
			val_free(v);
		}
		ok(good, "formatted floats read back exactly");
	}
	is_str(val_kind_name(VAL_NULL), "null", "kind name null");
	is_str(val_kind_name(VAL_BOOL), "bool", "kind name bool");
	is_str(val_kind_name(VAL_INT), "int", "kind name int");
	is_str(val_kind_name(VAL_FLOAT), "float", "kind name float");
	is_str(val_kind_name(VAL_STR), "string", "kind name string");
	is_str(val_kind_name(VAL_LIST), "list", "kind name list");
	is_str(val_kind_name(VAL_MAP), "map", "kind name map");
}

/* ref_digest: the digest as the first implementation computed it, by
 * streaming the canonical bytes through a hasher: kind tag, then the
 * content (see value.c).  Cached keys depend on it never changing. */
static struct digest
ref_digest(const struct val *v)
{
	static const unsigned char tag[] = {'n', 'b', 'i', 'f', 's', 'l', 'm'};
	struct hasher *h = hasher_new();
	struct digest *kids = calloc(v->n + 1, sizeof(*kids)), d;
	struct buf b = {0};
	size_t i;

	for (i = 0; i < v->n; i++)
		kids[i] = ref_digest(v->items[i]);
	hasher_add(h, &tag[v->kind], 1);
	switch (v->kind) {
	case VAL_NULL:
		break;
	case VAL_BOOL:
		hasher_add(h, v->b ? "1" : "0", 1);
		break;
	case VAL_INT:
	case VAL_FLOAT:
		val_format(v, &b);
		hasher_add_str(h, b.data, b.len);
		break;
	case VAL_STR:
		hasher_add_str(h, v->s, v->slen);
		break;
	case VAL_LIST:
		hasher_add_u64(h, v->n);
		for (i = 0; i < v->n; i++)
			hasher_add_digest(h, kids[i]);
		break;
	case VAL_MAP:
		hasher_add_u64(h, v->n);
		for (i = 0; i < v->n; i++) {
			hasher_add_str(h, v->keys[i], v->keylens[i]);
			hasher_add_digest(h, kids[i]);
		}
		break;
	}
	d = hasher_final(h);
	hasher_free(h);
	buf_free(&b);
	free(kids);
	return d;
}

/* same_digests: every node of v has the reference digest. */
static int
same_digests(const struct val *v)
{
	size_t i;

	if (!digest_eq(v->digest, ref_digest(v))) {
		note("digest of %s differs from the reference", v->path);
		return 0;
	}
	for (i = 0; i < v->n; i++)
		if (!same_digests(v->items[i]))
			return 0;
	return 1;
}

/* all_trimmed: no list or map of v has spare room. */
static int
all_trimmed(const struct val *v)
{
	size_t i;

	if (v->cap != v->n)
		return 0;
	for (i = 0; i < v->n; i++)
		if (!all_trimmed(v->items[i]))
			return 0;
	return 1;
}

/* all_in: every node of v is in arena a. */
static int
all_in(const struct val *v, const struct val_arena *a)
{
	size_t i;

	if (v->arena != a)
		return 0;
	for (i = 0; i < v->n; i++)
		if (!all_in(v->items[i], a))
			return 0;
	return 1;
}

/* arena_sample: sample()'s tree built in a fresh arena, owned by its root. */
static struct val *
arena_sample(void)
{
	struct val *h = sample(), *v = val_copy_in(val_arena_new(), h);

	val_arena_set_root(v->arena, v);
	val_free(h);
	return v;
}

static void
test_digest_compat(void)
{
	struct val *v = sample(), *w = val_new(VAL_LIST), *m = val_new(VAL_MAP);
	char k[16];
	int i;

	val_list_push(w, val_new_int(-9223372036854775807LL - 1));
	val_list_push(w, val_new_int(0));
	val_list_push(w, val_new_float(-0.0));
	val_list_push(w, val_new_float(1e21));
	val_list_push(w, val_new_float(NAN));
	val_list_push(w, val_new_str("a\0b", 3));
	val_list_push(w, val_new_bool(0));
	val_list_push(w, val_new(VAL_MAP));
	for (i = 0; i < 40; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		set(m, k, val_new_int(i * 1000003LL));
	}
	val_list_push(w, m);
	set(v, "more", w);
	val_freeze(v, "");
	ok(same_digests(v), "digests equal the streamed reference for every kind");
	val_free(v);
}

static void
test_arena(void)
{
	struct val_arena *a = val_arena_new();
	struct val *root = val_new_in(a, VAL_MAP), *l = val_new_in(a, VAL_LIST), *s;
	size_t used, held, i;
	char k[16];
	int good = 1;

	val_arena_set_root(a, root);
	set(root, "list", l);
	for (i = 0; i < 1000; i++)
		val_list_push(l, val_new_int_in(a, (long long)i));
	for (i = 0; i < 100; i++) {
		snprintf(k, sizeof(k), "k%zu", i);
		set(root, k, val_new_str_in(a, k, strlen(k)));
	}
	s = val_new_in(a, VAL_STR);
	ok(s->s && !*s->s && s->arena == a, "val_new_in(VAL_STR) is an empty arena string");
	set(root, "k7", s);
	ok(get(root, "k7") == s && root->n == 101, "replacing in an arena map");
	ok(l->cap >= 1000 && root->idx, "an arena list grows, an arena map gets an index");
	for (i = 0; i < 1000; i++)
		if (l->items[i]->i != (long long)i)
			good = 0;
	ok(good, "1,000 items kept across growth");
	val_free(l);
	val_free(l->items[3]);
	ok(l->n == 1000 && l->items[3]->i == 3, "val_free of a non-root arena node does nothing");
	val_arena_usage(root, &used, &held);
	ok(used > 1000 * sizeof(struct val) && held >= used, "arena usage: %zu of %zu bytes",
		used, held);
	val_arena_usage(l, &used, &held);
	ok(used > 0, "usage from any node of the tree");
	val_freeze(root, "");
	ok(all_trimmed(root), "a frozen arena tree has no spare room");
	ok(all_in(root, a), "paths and copies stay in the arena");
	is_str(val_resolve(root, "list[999]")->path, "list[999]", "arena paths");
	ok(same_digests(root), "arena tree digests");
	val_free(root);

	root = arena_sample();
	{
		struct val *h = sample();

		val_freeze(root, "");
		val_freeze(h, "");
		ok(digest_eq(root->digest, h->digest), "arena and heap trees have one digest");
		is_str(val_resolve(root, "m.a.b")->path, val_resolve(h, "m.a.b")->path,
			"and the same paths");
		s = val_copy(root);
		ok(s->arena == NULL && s->items[0]->arena == NULL && s->path == NULL,
			"val_copy of an arena tree is a heap tree, not frozen");
		val_free(s);
		val_free(h);
	}
	val_free(root);

	l = val_new_in(NULL, VAL_LIST);
	val_reserve(l, 3);
	ok(l->arena == NULL && l->cap == 3, "val_new_in(NULL) is a heap node; reserve is exact");
	val_list_push(l, val_new_int(1));
	val_shrink(l);
	ok(l->cap == 1 && l->items[0]->i == 1, "shrink keeps the items");
	val_list_push(l, val_new_int(2));
	val_list_push(l, val_new_int(3));
	val_freeze(l, "");
	ok(l->cap == 3 && l->n == 3, "freeze trims a heap list");
	val_free(l);

	a = val_arena_new();
	root = val_new_in(a, VAL_LIST);
	val_list_push(root, val_new_str_in(a, "x", 1));
	val_arena_free(a);
	ok(1, "val_arena_free of a rootless arena");
}

static void
test_mixed(void)
{
	struct val *t = arena_sample(), *h, *u, *f, *m;

	h = val_new(VAL_MAP);
	set(h, "x", val_new_str("heap", 4));
	set(t, "h", h);
	set(t, "h2", val_new_int(5));
	set(t, "h2", val_new_int(6));
	is_int(get(t, "h2")->i, 6, "a heap value replaced in an arena map");
	val_list_push((struct val *)val_resolve(t, "list"), val_new_str("pushed", 6));
	u = arena_sample();
	set(t, "other", u);
	val_freeze(t, "");
	is_str(val_resolve(t, "h.x")->s, "heap", "a heap subtree in an arena tree");
	is_str(val_resolve(t, "other.m.a.b")->path, "other.m.a.b", "another arena's tree");
	is_str(val_resolve(t, "list[3]")->s, "pushed", "a heap item in an arena list");
	ok(u->arena != t->arena, "the adopted tree keeps its arena");
	val_free(u);
	is_str(val_resolve(t, "other.name")->s, "shop", "an adopted root is no longer a root");
	set(t, "other", val_new(VAL_NULL));
	set(t, "h", val_new(VAL_NULL));
	ok(get(t, "h")->kind == VAL_NULL, "heap subtree replaced (and freed)");
	val_free(t);

	t = arena_sample();
	f = val_new(VAL_MAP);
	set(f, "@key", val_new_str("k", 1));
	set(f, "bound", (struct val *)val_resolve(t, "m.a"));
	set(f, "again", (struct val *)val_resolve(t, "m.a"));
	set(f, "again", (struct val *)val_resolve(t, "list"));
	val_free(f);
	is_str(val_resolve(t, "m.a.b")->s, "c", "a heap frame borrows arena nodes");
	m = val_new(VAL_MAP);
	set(m, "tree", t);
	val_free(m);
	ok(1, "an arena root owned by a heap map is freed with it");

	t = arena_sample();
	h = val_new(VAL_MAP);
	set(h, "name", val_new_str("heap", 4));
	set(h, "m", val_new(VAL_MAP));
	set((struct val *)get(h, "m"), "z", val_new_int(26));
	val_merge(t, h);
	is_str(get(t, "name")->s, "heap", "heap src merged into an arena dst");
	is_int(val_resolve(t, "m.z")->i, 26, "maps merged key by key");
	is_str(val_resolve(t, "m.a.b")->s, "c", "keys not in src kept");
	ok(get(t, "name")->arena == t->arena, "merged nodes are copied into the arena");
	u = arena_sample();
	set((struct val *)val_resolve(u, "m.a"), "b", val_new_str_in(u->arena, "d", 1));
	val_merge(t, u);
	is_str(val_resolve(t, "m.a.b")->s, "d", "an arena root merged into another arena");
	val_merge((struct val *)get(t, "name"), arena_sample());
	is_str(val_resolve(t, "name.m.a.b")->s, "c", "a scalar replaced by an arena tree");
	val_merge((struct val *)get(t, "m"), val_new_str("flat", 4));
	is_str(get(t, "m")->s, "flat", "an arena map replaced by a heap scalar");
	val_freeze(t, "");
	ok(same_digests(t) && all_trimmed(t), "a mixed tree freezes");
	val_free(t);

	h = sample();
	val_merge(h, arena_sample());
	ok(h->arena == NULL && get(h, "m")->arena == NULL && h->n == 3,
		"an arena src merged into a heap dst is copied to the heap");
	val_merge((struct val *)get(h, "name"), arena_sample());
	is_str(val_resolve(h, "name.m.a.b")->s, "c", "heap scalar replaced by an arena tree");
	ok(get(h, "name")->items[0]->arena == NULL, "as heap nodes");
	val_free(h);

	t = arena_sample();
	u = val_new_in(t->arena, VAL_MAP);
	set(u, "name", val_new_str_in(t->arena, "same", 4));
	val_merge(t, u);
	is_str(get(t, "name")->s, "same", "merging within one arena");
	val_merge((struct val *)get(t, "list"), val_new_int_in(t->arena, 9));
	ok(get(t, "list")->kind == VAL_INT && get(t, "list")->i == 9,
		"a list replaced by a scalar of the same arena");
	val_free(t);
}

static void
test_copy(void)
{
	struct val *a = sample(), *c;

	a->items[0]->pos.line = 7;
	val_freeze(a, "");
	c = val_copy(a);
	ok(c->path == NULL && c->items[0]->path == NULL, "a copy is not frozen");
	is_int(c->items[0]->pos.line, 7, "a copy keeps positions");
	val_freeze(c, "");
	ok(digest_eq(a->digest, c->digest), "a copy has the same digest");
	free(c->items[0]->s);
	c->items[0]->s = xstrdup("other");
	is_str(a->items[0]->s, "shop", "a copy is deep");
	ok(val_copy(NULL) == NULL, "copy of NULL");
	val_free(a);
	val_free(c);
	val_free(NULL);
}

/* val_digest: a node built outside a frozen tree (project.c's @key and
 * @index) gets the digest the same value has in a frozen tree, with one
 * scratch buffer reused across values of every size. */
static void
test_val_digest(void)
{
	struct val *l = val_new(VAL_LIST), *bare[12], *m, *ml;
	struct buf scratch = {0};
	char *big = malloc(5000);
	size_t i, n = 0;
	int all = 1;

	memset(big, 'k', 5000);
	bare[n++] = val_new(VAL_NULL);
	bare[n++] = val_new_bool(1);
	bare[n++] = val_new_bool(0);
	bare[n++] = val_new_int(0);
	bare[n++] = val_new_int(7);
	bare[n++] = val_new_int(-1234567890123LL);
	bare[n++] = val_new_float(0.1);
	bare[n++] = val_new_str("", 0);
	bare[n++] = val_new_str(big, 5000);
	bare[n++] = val_new_str("7", 1);
	for (i = 0; i < n; i++)
		val_list_push(l, val_copy(bare[i]));
	val_freeze(l, "");
	for (i = 0; i < n; i++) {
		struct digest d = val_digest(bare[i], &scratch);

		if (!digest_eq(d, l->items[i]->digest) || !digest_eq(d, ref_digest(bare[i]))) {
			note("val_digest of item %zu differs from its frozen digest", i);
			all = 0;
		}
	}
	ok(all, "val_digest of each scalar is its frozen digest (a 5,000-byte string too)");
	ok(bare[4]->path == NULL && digest_is_zero(bare[4]->digest), "and changes nothing");
	ok(digest_eq(val_digest(l, &scratch), l->digest),
		"a list from its items' digests, as frozen");
	m = val_new(VAL_MAP);
	set(m, "@key", val_new_str("x", 1));
	ml = val_copy(m);
	val_freeze(ml, "");
	m->items[0]->digest = val_digest(m->items[0], &scratch);
	ok(digest_eq(val_digest(m, &scratch), ml->digest), "a map from its items' digests, as frozen");
	ok(!digest_eq(val_digest(bare[4], &scratch), val_digest(bare[9], &scratch)),
		"the int 7 and the string \"7\" differ (an @index never equals an @key)");
	for (i = 0; i < n; i++)
		val_free(bare[i]);
	val_free(l);
	val_free(m);
	val_free(ml);
	buf_free(&scratch);
	free(big);
}

int
main(void)
{
	test_maps();
	test_merge();
	test_paths();
	test_digests();
	test_use_digest();
	test_truthy();
	test_format();
	test_copy();
	test_digest_compat();
	test_arena();
	test_mixed();
	test_val_digest();
	return done_testing();
}
