/* t-spec.c - the YAML spec loader: core schema, tags, anchors and aliases,
 * merge keys, errors with their positions, limits, multi-file merging, and
 * the memory of a loaded tree (one arena, no spare room). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "spec.h"
#include "tap.h"

static struct diag d;

/* parse: spec_parse of text as "t.yaml"; on failure *err is the first
 * diagnostic as "LINE:COL: message" (caller frees). */
static struct val *
parse(const char *text, char **err)
{
	struct val *v = NULL;
	int rc;

	diag_free(&d);
	rc = spec_parse("t.yaml", text, strlen(text), &v, &d);
	if (err)
		*err = rc && d.n ? xasprintf("%d:%d: %s", d.items[0].line, d.items[0].col,
						 d.items[0].msg)
				 : NULL;
	return v;
}

static void
is_err(const char *text, const char *want, const char *what)
{
	char *err;
	struct val *v = parse(text, &err);

	ok(v == NULL, "%s: fails", what);
	is_str(err, want, "%s: message", what);
	free(err);
	val_free(v);
}

static char *
text_of(const struct val *v)
{
	struct buf b = {0};

	val_format(v, &b);
	return buf_release(&b);
}

/* one_line: s with newlines shown as \n, for test names (caller frees). */
static char *
one_line(const char *s)
{
	struct buf b = {0};

	for (; *s; s++)
		if (*s == '\n')
			buf_adds(&b, "\\n");
		else
			buf_addc(&b, *s);
	return buf_release(&b);
}

/* is_scalar: "v: TEXT" gives kind and formatted value. */
static void
is_scalar(const char *yaml_text, enum val_kind kind, const char *want)
{
	char *src = xasprintf("v: %s\n", yaml_text), *err, *got;
	char *yaml_value = one_line(yaml_text), *want_shown = one_line(want);
	struct val *root = parse(src, &err);
	const struct val *v = root ? val_map_get(root, "v", 1) : NULL;

	if (!v) {
		ok(0, "%s parses (%s)", yaml_value, err ? err : "no value");
	} else {
		got = text_of(v);
		ok(v->kind == kind && !strcmp(got, want), "%-24s -> %s %s", yaml_value,
			val_kind_name(kind), want_shown);
		if (v->kind != kind || strcmp(got, want))
			note("got %s %s", val_kind_name(v->kind), got);
		free(got);
	}
	free(yaml_value);
	free(want_shown);
	free(err);
	free(src);
	val_free(root);
}

static void
test_core_schema(void)
{
	is_scalar("", VAL_NULL, "");
	is_scalar("~", VAL_NULL, "");
	is_scalar("null", VAL_NULL, "");
	is_scalar("Null", VAL_NULL, "");
	is_scalar("NULL", VAL_NULL, "");
	is_scalar("nULL", VAL_STR, "nULL");
	is_scalar("true", VAL_BOOL, "true");
	is_scalar("True", VAL_BOOL, "true");
	is_scalar("TRUE", VAL_BOOL, "true");
	is_scalar("false", VAL_BOOL, "false");
	is_scalar("False", VAL_BOOL, "false");
	is_scalar("FALSE", VAL_BOOL, "false");
	is_scalar("tRUE", VAL_STR, "tRUE");
	is_scalar("yes", VAL_STR, "yes");
	is_scalar("off", VAL_STR, "off");
	is_scalar("0", VAL_INT, "0");
	is_scalar("-12", VAL_INT, "-12");
	is_scalar("+12", VAL_INT, "12");
	is_scalar("007", VAL_INT, "7");
	is_scalar("0o17", VAL_INT, "15");
	is_scalar("0o18", VAL_STR, "0o18");
	is_scalar("0o", VAL_STR, "0o");
	is_scalar("0x1F", VAL_INT, "31");
	is_scalar("0xff", VAL_INT, "255");
	is_scalar("0X1F", VAL_STR, "0X1F");
	is_scalar("0xg", VAL_STR, "0xg");
	is_scalar("-0x1", VAL_STR, "-0x1");
	is_scalar("9223372036854775807", VAL_INT, "9223372036854775807");
	is_scalar("-9223372036854775808", VAL_INT, "-9223372036854775808");
	is_scalar("9223372036854775808", VAL_FLOAT, "9223372036854776000");
	is_scalar("0xFFFFFFFFFFFFFFFF", VAL_FLOAT, "18446744073709552000");
	is_scalar("1_000", VAL_STR, "1_000");
	is_scalar("1.5", VAL_FLOAT, "1.5");
	is_scalar("1.21", VAL_FLOAT, "1.21");
	is_scalar(".5", VAL_FLOAT, "0.5");
	is_scalar("-.5", VAL_FLOAT, "-0.5");
	is_scalar("1.", VAL_FLOAT, "1");
	is_scalar("3.0", VAL_FLOAT, "3");
	is_scalar("1e3", VAL_FLOAT, "1000");
	is_scalar("1E-2", VAL_FLOAT, "0.01");
	is_scalar("-1.5e+300", VAL_FLOAT, "-1.5e+300");
	is_scalar("1e", VAL_STR, "1e");
	is_scalar(".", VAL_STR, ".");
	is_scalar("1.2.3", VAL_STR, "1.2.3");
	is_scalar(".inf", VAL_FLOAT, "inf");
	is_scalar("-.Inf", VAL_FLOAT, "-inf");
	is_scalar("+.INF", VAL_FLOAT, "inf");
	is_scalar(".nan", VAL_FLOAT, "nan");
	is_scalar(".NaN", VAL_FLOAT, "nan");
	is_scalar(".NAN", VAL_FLOAT, "nan");
	is_scalar("-.nan", VAL_STR, "-.nan");
	is_scalar("nan", VAL_STR, "nan");
	is_scalar("inf", VAL_STR, "inf");
	is_scalar("0x1p3", VAL_STR, "0x1p3");
	is_scalar("12:30", VAL_STR, "12:30");
	is_scalar("hello world", VAL_STR, "hello world");
}

static void
test_quoted_and_tags(void)
{
	char *err;
	struct val *v;

	is_scalar("'1'", VAL_STR, "1");
	is_scalar("\"true\"", VAL_STR, "true");
	is_scalar("\"~\"", VAL_STR, "~");
	is_scalar("''", VAL_STR, "");
	is_scalar("'null'", VAL_STR, "null");
	is_scalar("\"a\\tb\"", VAL_STR, "a\tb");
	is_scalar("|\n  12\n", VAL_STR, "12\n");
	is_scalar(">-\n  true\n", VAL_STR, "true");
	is_scalar("!!str 12", VAL_STR, "12");
	is_scalar("!!str true", VAL_STR, "true");
	is_scalar("!!str", VAL_STR, "");
	is_scalar("! 12", VAL_STR, "12");
	is_scalar("!!int \"12\"", VAL_INT, "12");
	is_scalar("!!int 0x10", VAL_INT, "16");
	is_scalar("!!float 1", VAL_FLOAT, "1");
	is_scalar("!!float '.inf'", VAL_FLOAT, "inf");
	is_scalar("!!bool 'TRUE'", VAL_BOOL, "true");
	is_scalar("!!null ''", VAL_NULL, "");
	is_scalar("!<tag:yaml.org,2002:str> 5", VAL_STR, "5");
	is_err("v: !!int abc\n", "1:4: !!int expects an integer, found \"abc\"", "!!int mismatch");
	is_err("v: !!int 99999999999999999999\n",
		"1:4: !!int value \"99999999999999999999\" is out of range", "!!int overflow");
	is_err("v: !!bool yes\n", "1:4: !!bool expects true or false, found \"yes\"", "!!bool");
	is_err("v: !!float x\n", "1:4: !!float expects a number, found \"x\"", "!!float");
	is_err("v: !!null 0\n", "1:4: !!null expects null, found \"0\"", "!!null");
	is_err("a: 1\nv: !foo 1\n",
		"2:4: unsupported tag !foo (expected !!str, !!int, !!float, !!bool or !!null)",
		"local tag");
	is_err("v: !!map [1]\n", "1:4: unsupported tag !!map on a list", "!!map on a list");
	v = parse("v: !!seq [1]\nw: !!map {}\n", &err);
	ok(v && v->n == 2, "!!seq and !!map where they belong");
	val_free(v);
	free(err);

	v = parse("v: !!int x\nw: !!bool 1\n", NULL);
	is_int((long long)d.n, 2, "several tag errors are reported at once");
	val_free(v);
}

static void
test_anchors(void)
{
	char *err;
	struct val *root;
	const struct val *a, *b;
	clock_t t0;

	root = parse("base: &b\n  k: [1, 2]\n  s: x\nuse: *b\nother: &b 5\nlater: *b\n", &err);
	ok(root != NULL, "anchors parse (%s)", err ? err : "ok");
	a = val_map_get(root, "base", 4);
	b = val_map_get(root, "use", 3);
	ok(a && b && a != b && b->kind == VAL_MAP && b->n == 2, "alias is a copy of the anchor");
	ok(b && b->items[0] != a->items[0], "the copy is deep");
	is_int(b->items[0]->pos.line, 2, "copied nodes keep the anchored positions");
	is_int(val_map_get(root, "later", 5)->i, 5, "a redefined anchor: the latest wins");
	val_free(root);
	free(err);

	root = parse("s: &s plain\n? &k key\n: *s\nk2: *k\nl: [&x 1, *x, *x]\n", &err);
	ok(root != NULL, "anchors on scalars and keys (%s)", err ? err : "ok");
	if (root) {
		is_str(val_map_get(root, "key", 3)->s, "plain", "alias to a scalar");
		is_str(val_map_get(root, "k2", 2)->s, "key", "alias to an anchored key");
		is_int((long long)val_map_get(root, "l", 1)->n, 3, "aliases in a flow list");
		is_int(val_map_get(root, "l", 1)->items[2]->i, 1, "aliased int");
	}
	val_free(root);
	free(err);

	root = parse("k: &k name\n*k : v\n", &err);
	ok(root && val_map_get(root, "name", 4), "an alias to a scalar can be a key");
	val_free(root);
	free(err);

	is_err("a: *nope\n", "1:4: alias *nope has no anchor &nope before it", "undefined alias");
	is_err("a: &x [1, *x]\n", "1:11: alias *x refers to a node that contains it",
		"recursive alias");
	is_err("a: &m {x: 1}\n*m : 2\n", "2:1: map keys must be scalars, found an alias to a map",
		"alias to a map as a key");

	{
		struct buf bomb = {0};
		char c;

		buf_adds(&bomb, "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
		for (c = 'b'; c <= 'k'; c++) {
			int i;

			buf_printf(&bomb, "%c: &%c [", c, c);
			for (i = 0; i < 9; i++)
				buf_printf(&bomb, "%s*%c", i ? ", " : "", c - 1);
			buf_adds(&bomb, "]\n");
		}
		t0 = clock();
		root = parse(bomb.data, &err);
		ok(root == NULL, "billion laughs is rejected");
		is_str(err, "7:8: alias expansion too large (more than 1000000 nodes)",
			"alias bomb message");
		ok((double)(clock() - t0) / CLOCKS_PER_SEC < 10, "and quickly (%.2fs)",
			(double)(clock() - t0) / CLOCKS_PER_SEC);
		free(err);
		buf_free(&bomb);
	}
}

static void
test_merge_keys(void)
{
	char *err;
	struct val *root;
	const struct val *c;

	root = parse("a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\n"
		     "c:\n  <<: [*a, *b]\n  x: 0\n"
		     "d:\n  w: 9\n  <<: *b\n",
		&err);
	ok(root != NULL, "merge keys parse (%s)", err ? err : "ok");
	c = val_map_get(root, "c", 1);
	ok(c && c->n == 3, "merged map has 3 keys");
	is_int(val_resolve(root, "c.x")->i, 0, "explicit key wins even after <<");
	is_int(val_resolve(root, "c.y")->i, 1, "earlier merge source wins");
	is_int(val_resolve(root, "c.z")->i, 2, "later source fills the rest");
	is_str(c->keys[0], "x", "explicit keys first, merged keys after");
	ok(val_resolve(root, "d.w") && val_resolve(root, "d.z"), "single-map merge");
	ok(!val_map_get(c, "<<", 2), "no literal << key");
	val_free(root);
	free(err);

	root = parse("c:\n  \"<<\": 1\n", &err);
	ok(root && val_resolve(root, "c[\"<<\"]"), "quoted << is an ordinary key");
	val_free(root);
	free(err);

	is_err("c:\n  <<: 1\n", "2:3: merge key << expects a map or a list of maps, found an int",
		"merge of a scalar");
	is_err("c:\n  <<: [{a: 1}, 2, {b: 2}]\n",
		"2:3: merge key << expects a map or a list of maps, "
		"found a list holding something else",
		"merge of a list with a scalar in it");
	is_err("c:\n  <<: []\n", "2:3: merge key << expects a map or a list of maps, found a list",
		"merge of an empty list");
	root = parse("a: &a {x: {deep: [1]}}\nb: &b\n  <<: *a\n  y: 1\nc: *b\n", &err);
	ok(root && val_resolve(root, "c.x.deep[0]") && val_resolve(root, "c.y"),
		"an anchored map with a merge key is complete when aliased");
	ok(root && val_resolve(root, "b.x") != val_resolve(root, "a.x"), "merged values are copies");
	val_free(root);
	free(err);
	is_err("a: &a {x: 1}\nc:\n  <<: *a\n  <<: *a\n",
		"4:3: duplicate key \"<<\" (first defined at line 3)", "two << keys");
}

static void
test_errors(void)
{
	char *err;
	struct val *v;

	is_err("a: 1\nb:\n  x: 1\n  y: 2\n  x: 3\n",
		"5:3: duplicate key \"x\" (first defined at line 3)", "duplicate key");
	v = parse("a: 1\na: 2\nb: {c: 1, c: 2}\n", &err);
	ok(!v, "duplicates fail");
	is_int((long long)d.n, 2, "every duplicate is reported");
	if (d.n == 2) {
		is_str(d.items[1].msg, "duplicate key \"c\" (first defined at line 3)",
			"second duplicate");
		is_int(d.items[1].col, 11, "second duplicate column");
		is_str(d.items[1].file, "t.yaml", "diagnostic file");
	}
	free(err);

	is_err("a: 1\nb: [1, 2\nc: 3\n",
		"3:2: did not find expected ',' or ']' while parsing a flow sequence "
		"(started at line 2)",
		"unclosed flow sequence");
	is_err("a: 1\n b: 2\n", "2:3: mapping values are not allowed in this context",
		"bad indentation");
	is_err("a: 'x\n", "2:1: found unexpected end of stream while scanning a quoted scalar "
			  "(started at line 1)",
		"unterminated quote");
	is_err("- 1\n- 2\n", "1:1: spec root must be a map, found a list", "root list");
	is_err("hello\n", "1:1: spec root must be a map, found a string", "root string");
	is_err("\n\n  42\n", "3:3: spec root must be a map, found an int", "root int");
	is_err("[a]: 1\n", "1:1: map keys must be scalars, found a list", "list as key");
	is_err("x: {{a: 1}: 2}\n", "1:5: map keys must be scalars, found a map", "map as key");
	is_err("a: \xff\n", "1:4: invalid input: invalid leading UTF-8 octet", "invalid UTF-8");
	is_err("a: 1\nb: caf\xc3\n", "2:8: invalid input: invalid trailing UTF-8 octet",
		"bad UTF-8 continuation");
	is_err("a: 1\nb: caf\xc3", "2:7: invalid input: incomplete UTF-8 octet sequence",
		"UTF-8 cut at the end");
	{
		struct val *r = NULL;

		diag_free(&d);
		ok(spec_parse("t.yaml", "a: b\0c\n", 7, &r, &d) == DM_EINPUT && !r,
			"a NUL byte is rejected");
		ok(d.n == 1 && d.items[0].line == 1 && d.items[0].col == 5,
			"NUL byte position %d:%d", d.n ? d.items[0].line : 0,
			d.n ? d.items[0].col : 0);
	}
}

static void
test_empty_and_documents(void)
{
	char *err;
	struct val *v;
	const char *empties[] = {"", "# only a comment\n", "---\n", "--- ~\n", "\n\n"};
	size_t i;

	for (i = 0; i < sizeof(empties) / sizeof(empties[0]); i++) {
		v = parse(empties[i], &err);
		ok(v && v->kind == VAL_MAP && v->n == 0, "empty document %zu is an empty map", i);
		val_free(v);
		free(err);
	}
	v = parse("a: 1\n---\nb: 2\n---\n- bad: [\n", &err);
	ok(v && v->n == 1 && val_map_get(v, "a", 1), "only the first document is read");
	val_free(v);
	free(err);
	v = parse("%YAML 1.2\n---\na: 1\n...\n", &err);
	ok(v && v->n == 1, "directives and explicit end (%s)", err ? err : "ok");
	val_free(v);
	free(err);
}

static void
test_depth(void)
{
	struct buf b = {0};
	char *err;
	struct val *v;
	int i;

	buf_adds(&b, "a: ");
	for (i = 0; i < 100000; i++)
		buf_addc(&b, '[');
	for (i = 0; i < 100000; i++)
		buf_addc(&b, ']');
	v = parse(b.data, &err);
	ok(!v, "100,000 nested flow lists are rejected");
	is_str(err, "1:1003: nesting deeper than 1000 levels", "depth message");
	free(err);

	buf_clear(&b);
	for (i = 0; i < 100000; i++)
		buf_adds(&b, "- ");
	buf_adds(&b, "x\n");
	v = parse(b.data, &err);
	ok(!v, "100,000 nested block lists are rejected");
	is_str(err, "1:2001: nesting deeper than 1000 levels", "block depth message");
	free(err);

	buf_clear(&b);
	buf_adds(&b, "a: ");
	for (i = 0; i < 999; i++)
		buf_addc(&b, '[');
	for (i = 0; i < 999; i++)
		buf_addc(&b, ']');
	v = parse(b.data, &err);
	ok(v != NULL, "1,000 levels (root map + 999 lists) are fine");
	val_free(v);
	free(err);

	buf_clear(&b);
	buf_adds(&b, "a: &a ");
	for (i = 0; i < 600; i++)
		buf_addc(&b, '[');
	for (i = 0; i < 600; i++)
		buf_addc(&b, ']');
	buf_adds(&b, "\nb: [[[[[[*a]]]]]]\nc: [");
	for (i = 0; i < 600; i++)
		buf_adds(&b, "[");
	buf_adds(&b, "*a");
	v = parse(b.data, &err);
	ok(!v, "an alias cannot nest the tree deeper than the limit");
	is_str(err, "3:605: nesting deeper than 1000 levels", "alias depth message");
	free(err);
	buf_free(&b);
}

static void
test_positions(void)
{
	char *err;
	struct val *v = parse("# head\nname: shop\nlist:\n  - one\n  -   {k: 'v'}\n", &err);
	const struct val *x;
	struct val *w;

	ok(v != NULL, "positions sample parses");
	if (!v)
		return;
	x = val_map_get(v, "name", 4);
	ok(x->pos.line == 2 && x->pos.col == 7, "scalar at 2:7 (%d:%d)", x->pos.line, x->pos.col);
	is_str(x->pos.file, "t.yaml", "file name recorded");
	x = val_map_get(v, "list", 4);
	ok(x->pos.line == 4 && x->pos.col == 3, "block list at 4:3 (%d:%d)", x->pos.line,
		x->pos.col);
	x = val_resolve(v, "list[1]");
	ok(x->pos.line == 5 && x->pos.col == 7, "flow map at 5:7 (%d:%d)", x->pos.line, x->pos.col);
	x = val_resolve(v, "list[1].k");
	ok(x->pos.line == 5 && x->pos.col == 11, "quoted scalar at 5:11 (%d:%d)", x->pos.line,
		x->pos.col);
	ok(v->pos.line == 2 && v->pos.col == 1, "root map at 2:1 (%d:%d)", v->pos.line, v->pos.col);
	w = parse("é: ü\n", &err);
	ok(w && w->items[0]->pos.col == 4, "columns count characters, not bytes");
	ok(w && w->items[0]->pos.file == v->pos.file, "file names are interned");
	val_free(w);
	val_free(v);
	free(err);
}

static int
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

/* in_one_arena: every node of v is in arena a, and no list or map has
 * spare room. */
static int
in_one_arena(const struct val *v, const struct val_arena *a)
{
	size_t i;

	if (v->arena != a || v->cap != v->n)
		return 0;
	for (i = 0; i < v->n; i++)
		if (!in_one_arena(v->items[i], a))
			return 0;
	return 1;
}

static void
test_memory(void)
{
	char *err;
	struct val *root, *other;
	const struct val *c;
	size_t used, held;
	struct buf big = {0};
	int i;

	root = parse("a: &a {x: [1, 2, 3, 4, 5], y: {z: null}}\nb: *a\n"
		     "c:\n  <<: *a\n  w: 1\nd: [{k: 1}, {k: 2}]\n",
		&err);
	ok(root && root->arena, "a parsed spec lives in an arena");
	ok(root && in_one_arena(root, root->arena),
		"aliases and merges are copied into it; every collection trimmed");
	val_arena_usage(root, &used, &held);
	ok(used > 0 && held >= used, "usage %zu of %zu bytes", used, held);
	val_free((struct val *)val_map_get(root, "b", 1));
	is_int(val_resolve(root, "b.x[4]")->i, 5, "freeing an inner node does nothing");
	other = parse("c: {w: 2, v: 3}\ne: true\n", NULL);
	val_merge(root, other);
	is_int(val_resolve(root, "c.w")->i, 2, "two parsed specs merge");
	is_int(val_resolve(root, "c.x[0]")->i, 1, "merged map keeps its keys");
	ok(val_resolve(root, "e")->b, "and gains new ones");
	val_freeze(root, "");
	c = val_resolve(root, "c.v");
	is_str(c ? c->path : NULL, "c.v", "the merged tree freezes");
	val_free(root);
	free(err);

	for (i = 0; i < 3000; i++)
		buf_printf(&big, "k%d: {name: n%d, list: [a, b, %d]}\n", i, i, i);
	root = parse(big.data, &err);
	ok(root && root->n == 3000 && root->idx, "3,000 keys (%s)", err ? err : "ok");
	ok(root && in_one_arena(root, root->arena), "a large map is trimmed too");
	val_arena_usage(root, &used, &held);
	ok(used <= held && used - 3000 * 7 * sizeof(struct val) < 3000 * 150,
		"little beyond the nodes: %zu bytes for %d nodes", used, 3000 * 7 + 1);
	val_free(root);
	free(err);
	buf_free(&big);
}

static void
test_load(void)
{
	char dir[] = "/tmp/t-spec.XXXXXX", p1[64], p2[64], p3[64], missing[64];
	const char *paths[3];
	struct val *v;
	int rc;

	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	snprintf(p1, sizeof(p1), "%s/one.yaml", dir);
	snprintf(p2, sizeof(p2), "%s/two.yaml", dir);
	snprintf(p3, sizeof(p3), "%s/bad.yaml", dir);
	snprintf(missing, sizeof(missing), "%s/missing.yaml", dir);
	write_file(p1, "name: shop\nentities:\n  Order: {table: orders, pk: id}\nlist: [1, 2]\n");
	write_file(p2, "entities:\n  Order: {table: order_t}\n  User: {}\n"
		       "list: [3]\nextra: true\n");
	write_file(p3, "a: 1\na: 2\n");

	paths[0] = p1;
	paths[1] = p2;
	diag_free(&d);
	rc = spec_load(paths, 2, &v, &d);
	is_int(rc, 0, "two files load");
	if (!rc) {
		is_str(val_resolve(v, "entities.Order.table")->s, "order_t", "later file wins");
		is_str(val_resolve(v, "entities.Order.pk")->s, "id", "maps merge key by key");
		is_str(val_resolve(v, "entities.User")->path, "entities.User", "frozen with paths");
		is_int((long long)val_resolve(v, "list")->n, 1, "lists are replaced, not appended");
		is_str(val_resolve(v, "list[0]")->pos.file, p2,
			"replaced node comes from the later file");
		is_str(val_resolve(v, "name")->pos.file, p1, "kept node comes from the first file");
		is_str(v->keys[3], "extra", "new keys appended in order");
		ok(!digest_is_zero(v->digest), "root digest computed");
		ok(in_one_arena(v, v->arena), "all files in one arena, trimmed");
	}
	val_free(v);

	paths[0] = p2;
	paths[1] = p1;
	diag_free(&d);
	rc = spec_load(paths, 2, &v, &d);
	ok(!rc && !strcmp(val_resolve(v, "entities.Order.table")->s, "orders"),
		"order of files matters");
	val_free(v);

	paths[0] = p1;
	paths[1] = missing;
	paths[2] = p3;
	diag_free(&d);
	rc = spec_load(paths, 3, &v, &d);
	is_int(rc, DM_ENOTFOUND, "a missing file");
	ok(!v, "no tree on error");
	is_int((long long)d.n, 2, "errors from every file are reported");
	if (d.n == 2) {
		is_str(d.items[0].file, missing, "missing file named");
		is_str(d.items[1].file, p3, "bad file named");
		is_int(d.items[1].line, 2, "bad file's error line");
	}

	diag_free(&d);
	rc = spec_load(NULL, 0, &v, &d);
	ok(!rc && v && v->kind == VAL_MAP && v->n == 0 && v->path && !*v->path,
		"no files: an empty frozen map");
	val_free(v);

	unlink(p1);
	unlink(p2);
	unlink(p3);
	rmdir(dir);
}

int
main(void)
{
	test_core_schema();
	test_quoted_and_tags();
	test_anchors();
	test_merge_keys();
	test_errors();
	test_empty_and_documents();
	test_depth();
	test_positions();
	test_load();
	test_memory();
	diag_free(&d);
	return done_testing();
}
