/* t-spec.c - the YAML spec loader: core schema, tags, anchors and aliases,
 * merge keys, errors with their positions, limits, multi-file merging, and
 * the memory of a loaded tree (one arena, no spare room).  Then the fast
 * reader against libyaml: for each construct it reads, the same events
 * (positions of nodes and keys), tree and diagnostics; for each reason it
 * gives up, a refusal at the place and libyaml's result from spec_parse;
 * every spec file of the source tree through both; and the spec that
 * bench/gen.py writes, which must stay on the fast path. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hash.h"
#include "spec.h"
#include "spec-diff.h"
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
	{
		struct digest dg[2], want;
		char *text;
		size_t len;

		rc = spec_load_digests(paths, 2, dg, &v, &d);
		ok(!rc && file_read(p2, &text, &len) == 0, "spec_load_digests loads");
		want = hash_bytes(text, len);
		free(text);
		ok(digest_eq(dg[0], want), "and gives the digest of each file's bytes");
		ok(hash_file(p1, &want) == 0 && digest_eq(dg[1], want), "in the order of the files");
		val_free(v);
	}

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

/* ---- the fast reader against libyaml ----------------------------------- */

/* A reading of a text with one reader. */
struct reading {
	int rc;
	struct val *v;
	struct diag d;
};

static void
reading_get(struct reading *r, const char *text, size_t len, enum spec_reader how)
{
	memset(r, 0, sizeof(*r));
	r->rc = spec_parse_reader("t.yaml", text, len, how, &r->v, &r->d);
}

static void
reading_free(struct reading *r)
{
	val_free(r->v);
	diag_free(&r->d);
}

/* reading_diff: how readings a and b differ (malloc'd), or NULL when they
 * have the same code, diagnostics and tree. */
static char *
reading_diff(const struct reading *a, const struct reading *b)
{
	size_t i;

	if (a->rc != b->rc)
		return xasprintf("code %d, %d", a->rc, b->rc);
	if (a->d.n != b->d.n || a->d.nerrors != b->d.nerrors)
		return xasprintf("%zu diagnostics, %zu", a->d.n, b->d.n);
	for (i = 0; i < a->d.n; i++) {
		const struct diag_item *x = &a->d.items[i], *y = &b->d.items[i];

		if (x->line != y->line || x->col != y->col || strcmp(x->msg, y->msg))
			return xasprintf("%d:%d: %s; %d:%d: %s", x->line, x->col, x->msg, y->line,
				y->col, y->msg);
	}
	if (a->rc)
		return NULL;
	if (!a->v || !b->v)
		return xstrdup("no tree");
	return tree_diff(a->v, b->v, "<root>");
}

/* fast_same: the fast reader reads text; libyaml reads the same events
 * from it (positions of keys included); both build the same tree or
 * report the same errors. */
static void
fast_same(const char *text, size_t len, const char *what)
{
	struct buf fe = {0}, le = {0};
	struct reading f, l;
	char *diff;
	int frc = spec_events(text, len, SPEC_READER_FAST, &fe);
	int lrc = spec_events(text, len, SPEC_READER_LIBYAML, &le);

	ok(frc == 0, "%s: the fast reader reads it", what);
	ok(lrc == 0 && fe.len == le.len && (!fe.len || !memcmp(fe.data, le.data, fe.len)),
		"%s: libyaml reads the same events", what);
	if (frc || lrc || fe.len != le.len || (fe.len && memcmp(fe.data, le.data, fe.len)))
		note("fast:\n%s\nlibyaml:\n%s", fe.data ? fe.data : "", le.data ? le.data : "");
	reading_get(&f, text, len, SPEC_READER_FAST);
	reading_get(&l, text, len, SPEC_READER_LIBYAML);
	diff = reading_diff(&f, &l);
	is_str(diff, NULL, "%s: the same tree or errors", what);
	free(diff);
	reading_free(&f);
	reading_free(&l);
	buf_free(&fe);
	buf_free(&le);
}

static void
test_fast_reads(void)
{
	static const struct {
		const char *what, *text;
	} cases[] = {
		{"block map", "a: 1\nb: two words\nc: 1.5\n"},
		{"nested maps", "a:\n  b:\n    c: 1\n  d: 2\ne: 3\n"},
		{"root map indented", "  a: 1\n  b: 2\n"},
		{"null values", "a:\nb: # comment\nc:   \nd:\n  # comment only\ne: 1\nf:"},
		{"null at the end", "a: 1\nb:\n"},
		{"block list", "l:\n  - 1\n  - two\n  -   three\n"},
		{"empty list entries", "l:\n  -\n  - # c\n  - x\n  -\n"},
		{"list of lists", "l:\n  - - a\n    - b\n  - - - c\n"},
		{"maps in a list", "l:\n  - k: v\n    j: w\n  -   x: 1\n      y:\n        z: 2\n"},
		{"list entry on the next lines", "l:\n  -\n    k: v\n  -\n    - x\n"},
		{"indentless list", "a:\n- x\n- k: v\n  j:\n-\nb: 1\n"},
		{"indentless list in a list's map", "l:\n- a:\n  - x\n  b: 1\n- c\n"},
		{"flow maps and lists", "f: {name: id, type: int, optional: true}\ng: [a, b]\n"},
		{"nested flow", "f: {a: [1, {b: [2, [3, {c: d}]]}], e: {f: g}}\n"},
		{"empty flow", "a: {}\nb: []\nc: { }\nd: [ ]\ne: [[], {}]\n"},
		{"flow spacing", "a: [x ,y,z  ]\nb: {k : v,j: w}\nc: {'q' : 1}\n"},
		{"flow scalars", "h: [-1, -.5, +3, 0x10, 0o7, 1e3, .inf, ~, null, TRUE, 'x', \"y\"]\n"},
		{"flow in a list", "l:\n  - {k: 'v'}\n  - [1, 2]  # c\n"},
		{"comments and blank lines",
			"# head\n\na: 1 # c\n\n  # indented comment\nb:\n\n  c: 2\n# tail\n"},
		{"document start", "---\na: 1\n"},
		{"document start with a comment", "# c\n--- # c\na: 1\n"},
		{"plain with indicators inside",
			"u: http://x/y?z=1\nt: 12:30\nc: a, b, c\nb: x]y{z}\nh: C#, f#g\nd: -x\n"},
		{"plain keys with spaces", "my key: 1\nk  : 2\na:b: 3\n-k: 4\n"},
		{"single quotes", "'a b': 'it''s'\nc: ''\n'': empty key\nd: '# not a comment'\n"},
		{"double quotes",
			"a: \"tab\\there \\\"q\\\" \\\\ \\/ \\x41 \\u00e9 \\U0001F600\"\n"
			"b: \"\\N\\_\\L\\P\\0\\a\\b\\e\\f\\r\\v\\ \"\n\"k\": \"\"\n"},
		{"quoted key then spaces", "'a'  : 1\n\"b\": 2\n"},
		{"core schema in plain scalars",
			"a: ~\nb: null\nc: True\nd: 0o17\ne: 0x1F\nf: -.Inf\ng: .NaN\nh: 007\n"
			"i: 9223372036854775808\nj: 1_000\nk: '1'\n"},
		{"columns in characters", "é: ü\nñ: {ö: [ä, 'ß', \"€\"]}\nl:\n  - 日本: 語\n"},
		{"no newline at the end", "a: [1, 2]"},
		{"trailing spaces", "a: 1   \nb: x y   \nc:   \n   \n"},
		{"merge key", "a:\n  <<: {x: 1, y: 2}\n  y: 3\n"},
		{"duplicate keys", "a: 1\na: 2\nb: {c: 1, c: 2}\n"},
		{"duplicate quoted keys", "'a': 1\n\"a\": 2\na: 3\n"},
		{"the bench's shape",
			"app:\n  name: bench-app\n  description: A synthetic service.\n\nentities:\n"
			"  - name: BillingLockRecord\n    description: Tracks one lock.\n"
			"    fields:\n      - {name: id, type: int}\n"
			"      - {name: region, type: Decimal, optional: true}\n"},
	};
	struct buf b = {0};
	size_t i;
	int k;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		fast_same(cases[i].text, strlen(cases[i].text), cases[i].what);

	for (k = 0; k < 1000; k++)
		buf_addc(&b, 'k');
	buf_adds(&b, ": long\n");
	fast_same(b.data, b.len, "a key of 1,000 bytes");

	buf_clear(&b);
	buf_adds(&b, "a: ");
	for (k = 0; k < 99; k++)
		buf_addc(&b, '[');
	for (k = 0; k < 99; k++)
		buf_addc(&b, ']');
	fast_same(b.data, b.len, "100 levels");
	buf_free(&b);
}

/* Longer texts go to the fast reader only (see the last refusal). */
#define FAST_ONLY_LEN ((size_t)64 << 20)

/* fast_refused: the fast reader refuses text with want ("LINE:COL: fast
 * reader refuses: WHY"), and spec_parse gives libyaml's result. */
static void
fast_refused(const char *text, size_t len, const char *want, const char *what)
{
	struct reading f, a, l;
	char *got, *diff;

	reading_get(&f, text, len, SPEC_READER_FAST);
	got = f.d.n ? xasprintf("%d:%d: %s", f.d.items[0].line, f.d.items[0].col,
			      f.d.items[0].msg)
		    : NULL;
	ok(f.rc == DM_EINPUT && !f.v && f.d.n == 1, "%s: refused", what);
	is_str(got, want, "%s: why", what);
	if (len <= FAST_ONLY_LEN) {
		reading_get(&a, text, len, SPEC_READER_AUTO);
		reading_get(&l, text, len, SPEC_READER_LIBYAML);
		diff = reading_diff(&a, &l);
		is_str(diff, NULL, "%s: spec_parse gives libyaml's result", what);
		free(diff);
		reading_free(&a);
		reading_free(&l);
	}
	free(got);
	reading_free(&f);
}

static void
test_fast_refuses(void)
{
	static const struct {
		const char *text, *want;
		size_t len; /* 0: strlen(text) */
	} cases[] = {
		{"a:\tb\n", "1:3: fast reader refuses: a tab", 0},
		{"a: 1\r\nb: 2\r\n", "1:5: fast reader refuses: a carriage return", 0},
		{"a: \x01\n", "1:4: fast reader refuses: a control character", 0},
		{"a: b\0c\n", "1:5: fast reader refuses: a control character", 7},
		{"a: \x7f\n", "1:4: fast reader refuses: a control character", 0},
		{"a: \xff\n", "1:4: fast reader refuses: invalid UTF-8", 0},
		{"a: \xc0\x80\n", "1:4: fast reader refuses: invalid UTF-8", 0},
		{"a: \xe0\x80\x80\n", "1:4: fast reader refuses: invalid UTF-8", 0},
		{"a: \xed\xa0\x80\n", "1:4: fast reader refuses: a special character", 0},
		{"a: caf\xc3", "1:7: fast reader refuses: invalid UTF-8", 0},
		{"a: caf\xc3(\n", "1:7: fast reader refuses: invalid UTF-8", 0},
		{"a: \xc2\x85\n", "1:4: fast reader refuses: a special character", 0},
		{"a: x\xe2\x80\xa8y\n", "1:5: fast reader refuses: a special character", 0},
		{"\xef\xbb\xbf" "a: 1\n", "1:1: fast reader refuses: a special character", 0},
		{"a: 1\n---\nb: 2\n", "2:1: fast reader refuses: a document marker", 0},
		{"a: 1\n...\n", "2:1: fast reader refuses: a document marker", 0},
		{"---\n---\na: 1\n", "2:1: fast reader refuses: a document marker", 0},
		{"--- a: 1\n", "1:5: fast reader refuses: content after \"---\"", 0},
		{"%YAML 1.2\n---\na: 1\n",
			"1:1: fast reader refuses: an indicator or nothing where a scalar belongs", 0},
		{"a: &x 1\nb: *x\n",
			"1:4: fast reader refuses: an indicator or nothing where a scalar belongs", 0},
		{"a: *x\n", "1:4: fast reader refuses: an indicator or nothing where a scalar belongs",
			0},
		{"a: !!str 1\n",
			"1:4: fast reader refuses: an indicator or nothing where a scalar belongs", 0},
		{"a: |\n  x\n",
			"1:4: fast reader refuses: an indicator or nothing where a scalar belongs", 0},
		{"a: >-\n  x\n",
			"1:4: fast reader refuses: an indicator or nothing where a scalar belongs", 0},
		{"? a\n: b\n", "1:1: fast reader refuses: an indicator or nothing where a scalar belongs",
			0},
		{"a: - b\n", "1:4: fast reader refuses: an indicator or nothing where a scalar belongs",
			0},
		{"a: -\n", "1:4: fast reader refuses: an indicator or nothing where a scalar belongs",
			0},
		{"a: @x\n", "1:4: fast reader refuses: an indicator or nothing where a scalar belongs",
			0},
		{"a: [b, &c d]\n",
			"1:8: fast reader refuses: an indicator or nothing where a scalar belongs", 0},
		{"a: {b: }\n", "1:8: fast reader refuses: an indicator or nothing where a scalar belongs",
			0},
		{"a: [b #c\n  ]\n", "1:6: fast reader refuses: a comment in a flow collection", 0},
		{"a: [b,\n  c]\n",
			"1:7: fast reader refuses: an indicator or nothing where a scalar belongs", 0},
		{"a: [b\n  , c]\n",
			"1:6: fast reader refuses: a flow collection that does not end on its line", 0},
		{"a: [b:c]\n", "1:6: fast reader refuses: a ':' in a flow scalar", 0},
		{"a: [b?c]\n", "1:6: fast reader refuses: an indicator inside a flow scalar", 0},
		{"a: {b[c]: d}\n", "1:6: fast reader refuses: an indicator inside a flow scalar", 0},
		{"a: [b: c]\n", "1:6: fast reader refuses: a ':' after a flow value", 0},
		{"a: {b}\n", "1:5: fast reader refuses: a flow map entry without ': '", 0},
		{"a: [[b] c]\n", "1:9: fast reader refuses: no ',' or end after a flow entry", 0},
		{"a: [b,]\n", "1:7: fast reader refuses: an empty flow entry", 0},
		{"a: [b,,c]\n", "1:7: fast reader refuses: an empty flow entry", 0},
		{"a: {'b':c}\n", "1:8: fast reader refuses: a ':' not followed by a space", 0},
		{"'a':b\n", "1:4: fast reader refuses: a ':' not followed by a space", 0},
		{"a: 'x\n  y'\n", "1:4: fast reader refuses: a quoted scalar that does not end on its line",
			0},
		{"a: \"x\\\n  y\"\n",
			"1:4: fast reader refuses: a quoted scalar that does not end on its line", 0},
		{"a: \"\\q\"\n", "1:5: fast reader refuses: an escape the fast reader does not read", 0},
		{"a: \"\\xZZ\"\n", "1:5: fast reader refuses: an escape the fast reader does not read",
			0},
		{"a: \"\\uD800\"\n", "1:5: fast reader refuses: an escape the fast reader does not read",
			0},
		{"a: 'x'#c\n", "1:7: fast reader refuses: a '#' right after a value", 0},
		{"a: 'x' y\n", "1:8: fast reader refuses: more after a value", 0},
		{"a: [1] 2\n", "1:8: fast reader refuses: more after a value", 0},
		{"a: b: c\n", "1:5: fast reader refuses: a ':' after a value", 0},
		{"a: b\n  c\n", "2:3: fast reader refuses: an indentation that closes nothing", 0},
		{"a:\n    b: 1\n  c: 2\n", "3:3: fast reader refuses: an indentation that closes nothing",
			0},
		{"l:\n  - a\n   - b\n", "3:4: fast reader refuses: an indentation that closes nothing",
			0},
		{"a: 1\n- b\n", "2:1: fast reader refuses: a list item where a key belongs", 0},
		{"- k: v\n  - x\n", "1:1: fast reader refuses: a list at the root", 0},
		{"a:\n  - k: v\n    - x\n", "3:5: fast reader refuses: a list item where a key belongs",
			0},
		{"a: 1\nb\n", "2:1: fast reader refuses: a scalar where a key belongs", 0},
		{"a:\n  b\n", "2:3: fast reader refuses: a scalar on a line of its own", 0},
		{"a:\n  [b]\n",
			"2:3: fast reader refuses: an indicator or nothing where a scalar belongs", 0},
		{"", "1:1: fast reader refuses: no content", 0},
		{"# c\n\n", "3:1: fast reader refuses: no content", 0},
		{"---\n", "2:1: fast reader refuses: no content", 0},
		{"- a\n", "1:1: fast reader refuses: a list at the root", 0},
		{"hello\n", "1:1: fast reader refuses: a scalar on a line of its own", 0},
		{"  a: 1\nb: 2\n", "2:1: fast reader refuses: more after the root map", 0},
	};
	struct buf b = {0};
	size_t i;
	int k;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *t = cases[i].text;
		char *what = one_line(t);

		fast_refused(t, cases[i].len ? cases[i].len : strlen(t), cases[i].want, what);
		free(what);
	}

	for (k = 0; k < 1001; k++)
		buf_addc(&b, 'k');
	buf_adds(&b, ": long\n");
	fast_refused(b.data, b.len, "1:1: fast reader refuses: a long key", "a key of 1,001 bytes");
	buf_clear(&b);
	for (k = 0; k < 1100; k++)
		buf_addc(&b, 'k');
	buf_adds(&b, ": long\n");
	fast_refused(b.data, b.len, "1:1: fast reader refuses: a long key",
		"a key of 1,100 bytes (a syntax error to libyaml)");

	buf_clear(&b);
	buf_adds(&b, "a: ");
	for (k = 0; k < 100; k++)
		buf_addc(&b, '[');
	for (k = 0; k < 100; k++)
		buf_addc(&b, ']');
	fast_refused(b.data, b.len, "1:103: fast reader refuses: deep nesting", "101 levels");
	buf_free(&b);

	{
		/* a real buffer of that size (calloc: its pages are not touched
		 * unless read) */
		size_t big = (size_t)64 * 1024 * 1024 + 1;
		char *t = calloc(big, 1);

		memcpy(t, "a: 1\n", 5);
		fast_refused(t, big, "1:1: fast reader refuses: a large text", "more than 64 MiB");
		free(t);
	}
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* yaml_files: the .yaml and .yml files under dir, recursively, appended
 * to *files. */
static void
yaml_files(const char *dir, char ***files, size_t *n)
{
	DIR *dp = opendir(dir);
	struct dirent *de;

	if (!dp)
		return;
	while ((de = readdir(dp))) {
		char *path;
		size_t len = strlen(de->d_name);
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			yaml_files(path, files, n);
			free(path);
		} else if ((len > 5 && !strcmp(de->d_name + len - 5, ".yaml")) ||
			   (len > 4 && !strcmp(de->d_name + len - 4, ".yml"))) {
			*files = xreallocarray(*files, *n + 1, sizeof(**files));
			(*files)[(*n)++] = path;
		} else {
			free(path);
		}
	}
	closedir(dp);
}

/* source_top: the top of the source tree: the current directory (make
 * check) or two levels above the test program (tests/valgrind.sh runs it
 * elsewhere); malloc'd, NULL if neither has src/spec.c. */
static char *
source_top(const char *argv0)
{
	const char *slash = strrchr(argv0, '/');
	char *top, *probe;

	if (access("src/spec.c", R_OK) == 0)
		return xstrdup(".");
	if (!slash)
		return NULL;
	top = xasprintf("%.*s/../..", (int)(slash - argv0), argv0);
	probe = xasprintf("%s/src/spec.c", top);
	if (access(probe, R_OK) != 0) {
		free(top);
		top = NULL;
	}
	free(probe);
	return top;
}

static void
test_fast_files(const char *argv0)
{
	static const char *const dirs[] = {"tests", "examples", "fuzz/corpus"};
	char *top = source_top(argv0), **files = NULL;
	size_t i, n = 0, nfast = 0;
	int task_api = 0;

	ok(top != NULL, "the source tree is found");
	if (!top)
		return;
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		char *dir = xasprintf("%s/%s", top, dirs[i]);

		yaml_files(dir, &files, &n);
		free(dir);
	}
	qsort(files, n, sizeof(*files), cmp_str);
	ok(n >= 10, "%zu spec files in the source tree", n);
	for (i = 0; i < n; i++) {
		const char *name = files[i] + strlen(top) + 1;
		char *text, *diff;
		size_t len;
		struct buf ev = {0};
		struct reading a, l;

		if (file_read(files[i], &text, &len)) {
			ok(0, "%s: read", name);
			continue;
		}
		if (spec_events(text, len, SPEC_READER_FAST, &ev) == 0) {
			fast_same(text, len, name);
			nfast++;
			if (!strcmp(name, "examples/task-api/app.yaml"))
				task_api = 1;
		}
		reading_get(&a, text, len, SPEC_READER_AUTO);
		reading_get(&l, text, len, SPEC_READER_LIBYAML);
		diff = reading_diff(&a, &l);
		is_str(diff, NULL, "%s: spec_parse gives libyaml's result", name);
		free(diff);
		reading_free(&a);
		reading_free(&l);
		buf_free(&ev);
		free(text);
	}
	ok(nfast >= 5, "the fast reader reads %zu of them", nfast);
	ok(task_api, "examples/task-api/app.yaml is on the fast path");
	for (i = 0; i < n; i++)
		free(files[i]);
	free(files);
	free(top);
}

/* test_fast_bench: the spec that bench/gen.py writes (the benchmark's,
 * smaller) is read by the fast reader, before and after an edit. */
static void
test_fast_bench(const char *argv0)
{
	char dir[] = "/tmp/t-spec-bench.XXXXXX";
	char *top = source_top(argv0), *cmd, *path;
	int step;

	if (!top || !mkdtemp(dir)) {
		ok(0, "a directory for bench/gen.py");
		free(top);
		return;
	}
	path = xasprintf("%s/p/spec.yaml", dir);
	for (step = 0; step < 2; step++) {
		char *text;
		size_t len;

		cmd = step ? xasprintf("python3 '%s/bench/gen.py' --edit '%s/p' --entity 7 >/dev/null",
				     top, dir)
			   : xasprintf("python3 '%s/bench/gen.py' '%s/p' --entities 40 >/dev/null 2>&1",
				     top, dir);
		ok(system(cmd) == 0, "bench/gen.py %s", step ? "--edit" : "writes a project");
		free(cmd);
		if (file_read(path, &text, &len)) {
			ok(0, "bench spec read");
			continue;
		}
		fast_same(text, len, step ? "the bench spec after an edit" : "the bench spec");
		free(text);
	}
	cmd = xasprintf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		note("could not remove %s", dir);
	free(cmd);
	free(path);
	free(top);
}

int
main(int argc, char **argv)
{
	(void)argc;
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
	test_fast_reads();
	test_fast_refuses();
	test_fast_files(argv[0]);
	test_fast_bench(argv[0]);
	diag_free(&d);
	return done_testing();
}
