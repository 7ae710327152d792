/* t-json.c - JSON reading (through jansson) and writing. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "tap.h"

static struct diag d;

static struct val *
parse(const char *text, char **err)
{
	struct val *v = NULL;
	int rc;

	diag_free(&d);
	rc = json_parse("t.json", text, strlen(text), &v, &d);
	if (err)
		*err = rc && d.n ? xasprintf("%s:%d:%d: %s", d.items[0].file, d.items[0].line,
						 d.items[0].col, d.items[0].msg)
				 : NULL;
	return v;
}

static char *
to_json(const struct val *v)
{
	struct buf b = {0};

	json_put_val(&b, v);
	return buf_release(&b);
}

static void
is_err(const char *text, const char *want, const char *what)
{
	char *err;
	struct val *v = parse(text, &err);

	ok(!v, "%s: fails", what);
	is_str(err, want, "%s: message", what);
	free(err);
	val_free(v);
}

/* is_roundtrip: parsing text and writing it back gives want. */
static void
is_roundtrip(const char *text, const char *want, const char *what)
{
	char *err, *out;
	struct val *v = parse(text, &err);

	out = v ? to_json(v) : NULL;
	is_str(out, want, "%s", what);
	if (err)
		note("%s", err);
	free(out);
	free(err);
	val_free(v);
}

static void
test_parse(void)
{
	char *err;
	struct val *v = parse("{\"z\": 1, \"a\": [true, false, null, -2.5, \"s\"], "
			      "\"m\": {\"y\": {}, \"b\": []}, \"big\": 12345678901234567890, "
			      "\"neg\": -9223372036854775808}",
		&err);
	const struct val *x;

	ok(v && v->kind == VAL_MAP, "an object parses (%s)", err ? err : "ok");
	if (!v)
		return;
	ok(v->n == 5 && !strcmp(v->keys[0], "z") && !strcmp(v->keys[1], "a") &&
			!strcmp(v->keys[2], "m") && !strcmp(v->keys[4], "neg"),
		"object key order is kept");
	x = val_map_get(v, "z", 1);
	ok(x->kind == VAL_INT && x->i == 1, "integer");
	x = val_map_get(v, "a", 1);
	ok(x->n == 5 && x->items[0]->kind == VAL_BOOL && x->items[0]->b &&
			x->items[1]->kind == VAL_BOOL && !x->items[1]->b &&
			x->items[2]->kind == VAL_NULL,
		"true, false, null");
	ok(x->items[3]->kind == VAL_FLOAT && x->items[3]->f == -2.5, "real");
	ok(x->items[4]->kind == VAL_STR && !strcmp(x->items[4]->s, "s"), "string");
	x = val_resolve(v, "m");
	ok(x && !strcmp(x->keys[0], "y") && !strcmp(x->keys[1], "b"), "nested key order");
	x = val_map_get(v, "big", 3);
	ok(x->kind == VAL_FLOAT && x->f == 12345678901234567890.0,
		"an integer beyond long long becomes a float");
	x = val_map_get(v, "neg", 3);
	ok(x->kind == VAL_INT && x->i == -9223372036854775807LL - 1, "LLONG_MIN stays an int");
	ok(v->path == NULL, "not frozen");
	val_free(v);
	free(err);

	v = parse("\"a\\u0000b\\u00e9\"", &err);
	ok(v && v->kind == VAL_STR && v->slen == 5 && !memcmp(v->s, "a\0b\xc3\xa9", 6),
		"a string with NUL and \\u escapes");
	val_free(v);
	free(err);

	v = parse("  42 ", &err);
	ok(v && v->kind == VAL_INT && v->i == 42, "a bare number at the top");
	val_free(v);
	free(err);

	v = parse("[\"x\", -99999999999999999999, 1.5, \"-99999999999999999999\", 7]", &err);
	ok(v && v->n == 5 && v->items[1]->kind == VAL_FLOAT && v->items[1]->f == -1e20,
		"a big negative integer in a list becomes a float");
	ok(v && v->items[3]->kind == VAL_STR && !strcmp(v->items[3]->s, "-99999999999999999999"),
		"digits inside strings are left alone");
	ok(v && v->items[4]->kind == VAL_INT && v->items[4]->i == 7, "later integers stay ints");
	val_free(v);
	free(err);

	{
		struct buf b = {0};
		int i;

		buf_adds(&b, "{");
		for (i = 0; i < 2000; i++)
			buf_printf(&b, "%s\"k%d\": %d", i ? ", " : "", 1999 - i, i);
		buf_adds(&b, "}");
		v = parse(b.data, &err);
		ok(v && v->n == 2000 && !strcmp(v->keys[0], "k1999") &&
				!strcmp(v->keys[1999], "k0") &&
				val_map_get(v, "k1000", 5)->i == 999,
			"2,000 keys in text order, all found");
		val_free(v);
		free(err);
		buf_free(&b);
	}
}

static void
test_errors(void)
{
	is_err("{\"a\": 1,\n \"b\": x}", "t.json:2:7: invalid JSON: invalid token near 'x'",
		"bad token");
	is_err("{\"a\": 1, \"a\": 2}",
		"t.json:1:12: invalid JSON: duplicate object key near '\"a\"'", "duplicate key");
	is_err("[1, 2", "t.json:1:5: invalid JSON: ']' expected near end of file", "unclosed list");
	is_err("", "t.json:1:1: invalid JSON: unexpected token near end of file", "empty text");
	is_err("[1] [2]", "t.json:1:5: invalid JSON: end of file expected near '['",
		"trailing data");
	is_err("[1e999]", "t.json:1:6: invalid JSON: real number overflow near '1e999'",
		"real overflow");
	is_err("[\"\xff\"]", "t.json:1:2: invalid JSON: unable to decode byte 0xff near '\"'",
		"invalid UTF-8");
	is_err("[1,\n99999999999999999999, x]", "t.json:2:23: invalid JSON: invalid token near 'x'",
		"an error after a widened integer");
	is_err("[1e30, 99999999999999999999, 2, -99999999999999999999, y]",
		"t.json:1:56: invalid JSON: invalid token near 'y'", "after two widened integers");
	is_err("[99999999999999999999,\n 2, 3 4]",
		"t.json:2:7: invalid JSON: ']' expected near '4'", "widened on an earlier line");
	{
		struct buf b = {0};
		int i;

		for (i = 0; i < 5000; i++)
			buf_addc(&b, '[');
		is_err(b.data,
			"t.json:1:2049: invalid JSON: maximum parsing depth reached near '['",
			"deep nesting is refused");
		buf_free(&b);
	}
}

static void
test_put_str(void)
{
	struct buf b = {0};

	json_put_str(&b, "plain", 5);
	is_str(b.data, "\"plain\"", "plain string");
	buf_clear(&b);
	json_put_str(&b, "q\"b\\s/", 6);
	is_str(b.data, "\"q\\\"b\\\\s/\"", "quote and backslash escaped, slash not");
	buf_clear(&b);
	json_put_str(&b, "\n\t\r\b\f", 5);
	is_str(b.data, "\"\\n\\t\\r\\b\\f\"", "short escapes");
	buf_clear(&b);
	json_put_str(&b, "\x01\x1f\x7f", 3);
	is_str(b.data, "\"\\u0001\\u001f\x7f\"", "other control characters as \\u00XX, DEL as is");
	buf_clear(&b);
	json_put_str(&b, "a\0b", 3);
	is_str(b.data, "\"a\\u0000b\"", "NUL byte");
	buf_clear(&b);
	json_put_str(&b, "\xc3\xa9\xff", 3);
	is_str(b.data, "\"\xc3\xa9\xff\"", "bytes >= 0x80 pass through");
	buf_clear(&b);
	json_put_str(&b, "", 0);
	is_str(b.data, "\"\"", "empty string");
	buf_free(&b);
}

static void
test_put_val(void)
{
	struct val *v = val_new(VAL_LIST);
	char *s;

	val_list_push(v, val_new_float(NAN));
	val_list_push(v, val_new_float(INFINITY));
	val_list_push(v, val_new_float(-INFINITY));
	val_list_push(v, val_new_float(1.21));
	val_list_push(v, val_new_float(1e300));
	val_list_push(v, val_new_float(-0.0));
	val_list_push(v, val_new_float(3.0));
	val_list_push(v, val_new_float(1.5e-7));
	val_list_push(v, val_new_int(-7));
	s = to_json(v);
	is_str(s, "[null,null,null,1.21,1e+300,-0.0,3.0,1.5e-7,-7]",
		"numbers; non-finite as null; integral floats keep a .0");
	free(s);
	val_free(v);
	s = to_json(NULL);
	is_str(s, "null", "NULL value");
	free(s);

	is_roundtrip("{ \"b\" : [1, 2.5, \"x\\ny\", null, true, false, {}, []], "
		     "\"a\": {\"\": \"\"} }",
		"{\"b\":[1,2.5,\"x\\ny\",null,true,false,{},[]],\"a\":{\"\":\"\"}}",
		"compact round trip, order kept");
	is_roundtrip("[0.1, 1e21, 123456789012, 5e-324, 1.7976931348623157e308]",
		"[0.1,1e+21,123456789012,5e-324,1.7976931348623157e+308]", "floats round trip");
	is_roundtrip("\"\\u0001\\\"\\\\\\/\\u00e9\"", "\"\\u0001\\\"\\\\/\xc3\xa9\"",
		"string escapes normalised");
	{
		char *err, *out, *out2;
		struct val *a = parse("{\"k\": [1, -0.5, \"\\u0000\", {\"x\": [[]]}]}", &err), *b;

		out = a ? to_json(a) : NULL;
		b = out ? parse(out, NULL) : NULL;
		out2 = b ? to_json(b) : NULL;
		is_str(out2, out, "writing is a fixed point of reading");
		val_freeze(a, "");
		val_freeze(b, "");
		ok(a && b && digest_eq(a->digest, b->digest),
			"the re-read tree has the same digest");
		free(out);
		free(out2);
		free(err);
		val_free(a);
		val_free(b);
	}
}

/* test_floats_read_back: every float written reads back as a float with
 * the same value (and sign), every int as an int. */
static void
test_floats_read_back(void)
{
	static const double xs[] = {-0.0, 0.0, 1.0, -1.0, 3.0, 1e20, 1e21, -1e21, 1e300,
		123456789012.0, 9007199254740993.0, 0.5, 1.5e-7, 5e-324, 1.7976931348623157e308};
	static const char *const want[] = {"-0.0", "0.0", "1.0", "-1.0", "3.0",
		"100000000000000000000.0", "1e+21", "-1e+21", "1e+300", "123456789012.0",
		"9007199254740992.0", "0.5", "1.5e-7", "5e-324", "1.7976931348623157e+308"};
	struct val *l = val_new(VAL_LIST), *back;
	size_t i, n = sizeof(xs) / sizeof(xs[0]);
	char *s, *again;
	int good = 1;

	for (i = 0; i < n; i++) {
		struct val *v = val_new_float(xs[i]);

		s = to_json(v);
		if (strcmp(s, want[i]))
			good = 0, note("%.17g written as %s, want %s", xs[i], s, want[i]);
		free(s);
		val_list_push(l, v);
	}
	ok(good, "integral floats are written with .0, others as val_format's text");
	val_list_push(l, val_new_int(-0));
	val_list_push(l, val_new_int(1));
	s = to_json(l);
	back = parse(s, NULL);
	good = back && back->n == n + 2;
	for (i = 0; good && i < n; i++) {
		const struct val *v = back->items[i];

		if (v->kind != VAL_FLOAT || v->f != xs[i] || !signbit(v->f) != !signbit(xs[i]))
			good = 0, note("item %zu read back as %s", i, val_kind_name(v->kind));
	}
	ok(good, "every float reads back as the same float (-0.0 keeps its sign)");
	ok(back && back->items[n]->kind == VAL_INT && back->items[n]->i == 0 &&
			back->items[n + 1]->kind == VAL_INT && back->items[n + 1]->i == 1,
		"ints stay ints");
	again = back ? to_json(back) : NULL;
	is_str(again, s, "writing what was read back gives the same text");
	free(s);
	free(again);
	val_free(back);
	val_free(l);
}

static void
test_arena(void)
{
	struct val *v = parse("{\"a\": [1, 2, 3], \"b\": {\"c\": \"d\", \"e\": []}}", NULL);
	const struct val *a = v ? val_map_get(v, "a", 1) : NULL;
	size_t used, held;

	ok(v && v->arena && a && a->arena == v->arena && a->items[2]->arena == v->arena,
		"a parsed tree lives in one arena");
	ok(v && v->cap == v->n && a && a->cap == 3 && val_resolve(v, "b.e")->cap == 0,
		"lists and maps are sized exactly");
	val_arena_usage(v, &used, &held);
	ok(used > 0 && used <= held, "usage %zu of %zu bytes", used, held);
	val_free(v);
}

int
main(void)
{
	test_parse();
	test_errors();
	test_put_str();
	test_put_val();
	test_floats_read_back();
	test_arena();
	diag_free(&d);
	return done_testing();
}
