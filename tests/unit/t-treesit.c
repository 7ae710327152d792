/* t-treesit.c - the tree-sitter module: languages by extension, syntax
 * errors with their positions and source lines for every grammar, queries
 * with text predicates (exact and relaxed), query errors at their
 * positions, and concurrent use from several threads. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "treesit.h"
#include "util.h"

static const struct treesit_lang *
lang(const char *name)
{
	const struct treesit_lang *l = treesit_lang_by_name(name);

	if (!l) {
		note("no language %s", name);
		abort();
	}
	return l;
}

/* check: run the syntax check; rc, and the diagnostics in d. */
static int
check(const char *lname, const char *src, struct diag *d)
{
	return treesit_check_syntax(lang(lname), "out.x", src, strlen(src), d);
}

static void
test_lang_for_path(void)
{
	static const struct {
		const char *path, *want;
	} cases[] = {
		{"app/models/order.py", "python"}, {"a.js", "javascript"}, {"a.mjs", "javascript"},
		{"a.cjs", "javascript"}, {"a.ts", "typescript"}, {"types.d.ts", "typescript"},
		{"a.tsx", "tsx"}, {"src/x.c", "c"}, {"inc/x.h", "c"}, {"package.json", "json"},
		{"ci.yaml", "yaml"}, {".github/ci.yml", "yaml"},
		{"Makefile", NULL}, {"a.rb", NULL}, {"x.py.bak", NULL}, {"dir.py/README", NULL},
		{".py", NULL}, {"a.PY", NULL}, {"a.", NULL}, {"", NULL},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct treesit_lang *l = treesit_lang_for_path(cases[i].path);
		is_str(l ? treesit_lang_name(l) : NULL, cases[i].want, "language of '%s'",
			cases[i].path);
	}
	ok(treesit_lang_by_name("python") == treesit_lang_for_path("x.py"),
		"by name and by path give the same handle");
	ok(treesit_lang_by_name("cobol") == NULL, "unknown language name: NULL");
}

/* One language: a valid snippet passes with no diagnostic, a broken one
 * fails with exactly one error at line:col whose message is msg. */
static void
syntax_case(const char *lname, const char *good, const char *bad, int line, int col, const char *msg)
{
	struct diag d = {0};
	int rc;

	rc = check(lname, good, &d);
	is_int(rc, 0, "%s: valid snippet passes", lname);
	is_int((long long)d.n, 0, "%s: no diagnostic for the valid snippet", lname);
	diag_free(&d);

	memset(&d, 0, sizeof d);
	rc = check(lname, bad, &d);
	is_int(rc, DM_EINPUT, "%s: broken snippet fails", lname);
	is_int((long long)d.n, 1, "%s: one error", lname);
	if (d.n >= 1) {
		is_str(d.items[0].file, "out.x", "%s: error names the file", lname);
		is_int(d.items[0].line, line, "%s: error line", lname);
		is_int(d.items[0].col, col, "%s: error column", lname);
		is_str(d.items[0].msg, msg, "%s: message with the offending line", lname);
	}
	diag_free(&d);
}

static void
test_syntax(void)
{
	syntax_case("python",
		"class Order:\n    id: int\n    total: float\n\n\ndef f(x):\n    return x + 1\n",
		"x = 1\ny = = 2\n", 2, 5,
		"syntax error: unexpected '='\n  y = = 2\n      ^");
	syntax_case("javascript",
		"import x from 'y';\nexport function f(a) { return a?.b ?? `t${a}`; }\n",
		"const a = 1;\nlet x = [1, 2;\n", 2, 14,
		"syntax error: missing ']'\n  let x = [1, 2;\n               ^");
	syntax_case("typescript",
		"interface A { x: number }\nconst y: A = { x: 1 } as A;\n",
		"interface A { x: number }\nlet y: A = { x: 1 } as ;\n", 2, 21,
		"syntax error: unexpected 'as'\n  let y: A = { x: 1 } as ;\n                      ^");
	syntax_case("tsx",
		"const a = <div className=\"x\">{n as number}</div>;\n",
		"let x: number = ;\n", 1, 15,
		"syntax error: unexpected '='\n  let x: number = ;\n                ^");
	syntax_case("c",
		"#include <stdio.h>\nint main(void)\n{\n\treturn printf(\"hi\\n\") < 0;\n}\n",
		"int f(int a) { return a + ); }\n", 1, 25,
		"syntax error: unexpected '+ )'\n  int f(int a) { return a + ); }\n                          ^");
	syntax_case("json",
		"{\"a\": [1, 2, {\"b\": null}], \"c\": \"\\u00e9\"}\n",
		"{\"a\": 1,\n \"b\": [1 2]}\n", 2, 8,
		"syntax error: unexpected '1'\n   \"b\": [1 2]}\n         ^");
	syntax_case("yaml",
		"a: 1\nb: [1, 2]\nc:\n  - x\n  - {k: v}\n",
		"a: 1\nb: [1, 2\nc: 3\n", 2, 4,
		"syntax error: unexpected '[1, 2'\n  b: [1, 2\n     ^");
}

static void
test_missing(void)
{
	struct diag d = {0};
	int rc;

	/* a C statement without ';': a MISSING node right after "x" */
	rc = check("c", "int main(void)\n{\n\tint x = 1;\n\treturn x\n}\n", &d);
	is_int(rc, DM_EINPUT, "C: missing ';' fails");
	is_int((long long)d.n, 1, "C: one error");
	if (d.n == 1) {
		is_int(d.items[0].line, 4, "C: missing ';' line");
		is_int(d.items[0].col, 10, "C: missing ';' column (bytes, the tab counts 1)");
		is_str(d.items[0].msg, "syntax error: missing ';'\n  \treturn x\n  \t        ^",
			"C: message; the caret line keeps the tab");
	}
	diag_free(&d);

	/* a missing named node */
	memset(&d, 0, sizeof d);
	rc = check("c", "int x = ;\n", &d);
	is_int(rc, DM_EINPUT, "C: missing initializer fails");
	if (d.n == 1) {
		is_int(d.items[0].col, 8, "C: a MISSING node sits at the end of the token before");
		is_str(d.items[0].msg, "syntax error: missing identifier\n  int x = ;\n         ^",
			"C: a missing named node is named without quotes");
	} else {
		ok(0, "C: one error for a missing initializer (got %zu)", d.n);
	}
	diag_free(&d);
}

static void
test_syntax_details(void)
{
	struct diag d = {0};
	struct buf src = {0};
	char *big;
	int rc, i;

	/* several errors are all reported, in order */
	rc = check("c", "int a = 1\nint b = 2;\nint c = 3\n", &d);
	is_int(rc, DM_EINPUT, "two missing ';': fails");
	is_int((long long)d.n, 2, "two missing ';': two errors");
	if (d.n == 2) {
		is_int(d.items[0].line, 1, "first error on line 1");
		is_int(d.items[0].col, 10, "first error at column 10");
		is_int(d.items[1].line, 3, "second error on line 3");
		is_int(d.items[1].col, 10, "second error at column 10");
	}
	diag_free(&d);

	/* CRLF: the column is right and the excerpt has no '\r' */
	memset(&d, 0, sizeof d);
	rc = check("python", "x = 1\r\ny = = 2\r\n", &d);
	is_int(rc, DM_EINPUT, "CRLF source: fails");
	if (d.n == 1) {
		is_int(d.items[0].line, 2, "CRLF: line");
		is_int(d.items[0].col, 5, "CRLF: column");
		is_str(d.items[0].msg, "syntax error: unexpected '='\n  y = = 2\n      ^",
			"CRLF: excerpt without the carriage return");
	} else {
		ok(0, "CRLF: one error (got %zu)", d.n);
	}
	diag_free(&d);

	/* UTF-8 before the error: the column counts bytes, the caret
	 * characters */
	memset(&d, 0, sizeof d);
	rc = check("json", "{\"\xc3\xa9t\xc3\xa9\": 1,}", &d);
	is_int(rc, DM_EINPUT, "UTF-8 source: fails");
	if (d.n == 1) {
		is_int(d.items[0].col, 12, "UTF-8: column in bytes");
		is_str(d.items[0].msg,
			"syntax error: unexpected ','\n  {\"\xc3\xa9t\xc3\xa9\": 1,}\n           ^",
			"UTF-8: caret under the comma");
	} else {
		ok(0, "UTF-8: one error (got %zu)", d.n);
	}
	diag_free(&d);

	/* control characters in the quoted line are not echoed raw */
	memset(&d, 0, sizeof d);
	rc = check("json", "{\"a\x1b[2J\": 1,}", &d);
	ok(rc == DM_EINPUT && d.n == 1 && !strchr(d.items[0].msg, '\x1b'),
		"an escape character in the source is not copied into the message");
	diag_free(&d);

	/* a very long line is cut to a window around the error */
	memset(&d, 0, sizeof d);
	buf_adds(&src, "[");
	for (i = 0; i < 200; i++)
		buf_adds(&src, "1,");
	buf_adds(&src, ",]");
	rc = check("json", src.data, &d);
	is_int(rc, DM_EINPUT, "long line: fails");
	if (d.n == 1) {
		struct buf want = {0};

		/* the ERROR node starts at the last "1,"'s comma (byte 400) */
		is_int(d.items[0].col, 401, "long line: column");
		buf_adds(&want, "syntax error: unexpected ',,'\n  ...");
		for (i = 0; i < 30; i++)
			buf_adds(&want, ",1");
		buf_printf(&want, ",,]\n  %63s^", "");
		is_str(d.items[0].msg, want.data,
			"long line: cut to 60 bytes before the error, the cut marked, caret aligned");
		buf_free(&want);
	} else {
		ok(0, "long line: one error (got %zu)", d.n);
	}
	diag_free(&d);
	buf_clear(&src);

	/* errors are capped */
	memset(&d, 0, sizeof d);
	for (i = 0; i < 30; i++)
		buf_adds(&src, "int a = 1\n");
	rc = check("c", src.data, &d);
	is_int(rc, DM_EINPUT, "30 errors: fails");
	is_int((long long)d.n, TREESIT_MAX_ERRORS + 1, "30 errors: capped, plus one note");
	if (d.n == TREESIT_MAX_ERRORS + 1) {
		is_int(d.items[TREESIT_MAX_ERRORS].line, TREESIT_MAX_ERRORS + 1,
			"the note is at the first error not reported");
		is_str(d.items[TREESIT_MAX_ERRORS].msg,
			"more syntax errors; only the first 20 are reported", "the note says so");
	}
	diag_free(&d);
	buf_free(&src);

	/* empty input is valid where the grammar allows it */
	memset(&d, 0, sizeof d);
	is_int(check("python", "", &d), 0, "empty Python file is valid");
	is_int(check("c", "", &d), 0, "empty C file is valid");
	is_int((long long)d.n, 0, "no diagnostics for empty files");

	/* an unterminated construct at the end of input */
	rc = check("python", "def f(:\n    pass\n", &d);
	is_int(rc, DM_EINPUT, "Python: bad parameter list fails");
	if (d.n == 1) {
		is_int(d.items[0].line, 1, "Python: missing ')' line");
		is_int(d.items[0].col, 7, "Python: missing ')' column");
		is_str(d.items[0].msg, "syntax error: missing ')'\n  def f(:\n        ^",
			"Python: missing ')' message");
	} else {
		ok(0, "Python: one error (got %zu)", d.n);
	}
	diag_free(&d);

	/* too large: refused without parsing */
	memset(&d, 0, sizeof d);
	big = calloc(TREESIT_MAX_INPUT + 1, 1);
	if (big) {
		memset(big, ' ', 16);
		rc = treesit_check_syntax(lang("json"), "huge.json", big, TREESIT_MAX_INPUT + 1, &d);
		is_int(rc, DM_EINPUT, "an input over 64 MiB is refused");
		ok(d.n == 1 && strstr(d.items[0].msg, "too large") != NULL,
			"and the message says it is too large");
		free(big);
	}
	diag_free(&d);
}

/* Queries. */

static struct treesit_query *
query(const char *lname, const char *src)
{
	struct treesit_query *q = NULL;
	struct diag d = {0};

	if (treesit_query_new(lang(lname), "c.dm", 1, src, strlen(src), &q, &d) < 0) {
		diag_print(&d, stderr);
		q = NULL;
	}
	diag_free(&d);
	return q;
}

/* matches: 1 or 0, or -1 when matching failed. */
static int
matches(const struct treesit_query *q, const char *src, int relaxed)
{
	int m = -1;

	if (!q || treesit_query_match(q, src, strlen(src), relaxed, &m) < 0)
		return -1;
	return m;
}

static const char order_contract[] =
	"(class_definition\n"
	"  name: (identifier) @class\n"
	"  body: (block\n"
	"    (expression_statement (assignment left: (identifier) @f1))\n"
	"    (expression_statement (assignment left: (identifier) @f2)))\n"
	"  (#eq? @class \"Order\")\n"
	"  (#eq? @f1 \"id\")\n"
	"  (#eq? @f2 \"total\"))\n";

static const char order_py[] =
	"from dataclasses import dataclass\n\n"
	"@dataclass\nclass Customer:\n    id: int\n    total: float\n\n"
	"@dataclass\nclass Order:\n    \"\"\"An order.\"\"\"\n    id: int\n    customer: int\n"
	"    total: float = 0.0\n    notes: str = ''\n";

static void
test_query_contract(void)
{
	struct treesit_query *q = query("python", order_contract);

	ok(q != NULL, "the Order contract compiles");
	is_int(matches(q, order_py, 0), 1, "Order with id and total (other fields between) matches");
	is_int(matches(q, "class Order:\n    id: int\n    customer: int\n", 0), 0,
		"Order without total fails");
	is_int(matches(q, "class Customer:\n    id: int\n    total: float\n", 0), 0,
		"id and total in another class fail");
	is_int(matches(q, "class Order:\n    total: float\n    id: int\n", 0), 0,
		"sibling patterns match in order: total before id fails");
	is_int(matches(q, "", 0), 0, "an empty file fails");
	is_int(matches(q, "class Order(\n    id: int\n    total: float\n", 0), 0,
		"a broken file fails without error");
	treesit_query_free(q);
}

static void
test_query_predicates(void)
{
	struct treesit_query *q;

	q = query("python", "((class_definition name: (identifier) @c) (#eq? @c \"order_item\"))");
	is_int(matches(q, "class OrderItem:\n    pass\n", 0), 0, "#eq? exact: OrderItem != order_item");
	is_int(matches(q, "class OrderItem:\n    pass\n", 1), 1, "#eq? relaxed: OrderItem ~ order_item");
	is_int(matches(q, "class ORDER__ITEM_:\n    pass\n", 1), 1, "#eq? relaxed: ORDER__ITEM_ ~ order_item");
	is_int(matches(q, "class order_item:\n    pass\n", 0), 1, "#eq? exact: order_item");
	is_int(matches(q, "class OrderItems:\n    pass\n", 1), 0, "#eq? relaxed: OrderItems is not order_item");
	is_int(matches(q, "class Order:\n    pass\n", 1), 0, "#eq? relaxed: a prefix is not equal");
	treesit_query_free(q);

	q = query("python", "((class_definition name: (identifier) @c) (#not-eq? @c \"order_id\"))");
	is_int(matches(q, "class OrderId: pass\n", 0), 1, "#not-eq? exact: OrderId differs");
	is_int(matches(q, "class OrderId: pass\n", 1), 0, "#not-eq? relaxed: OrderId is order_id");
	treesit_query_free(q);

	q = query("python",
		"((function_definition name: (identifier) @f) (#match? @f \"^get_[a-z]+$\"))");
	is_int(matches(q, "def get_order(i):\n    return i\n", 0), 1, "#match?: get_order");
	is_int(matches(q, "def getOrder(i):\n    return i\n", 0), 0, "#match?: getOrder does not");
	is_int(matches(q, "def getOrder(i):\n    return i\n", 1), 0, "#match? ignores relaxed");
	is_int(matches(q, "def x():\n    pass\ndef get_all():\n    pass\n", 0), 1,
		"#match?: any function of the file");
	treesit_query_free(q);

	q = query("python", "((function_definition name: (identifier) @f) (#not-match? @f \"^_\"))");
	is_int(matches(q, "def _private():\n    pass\n", 0), 0, "#not-match?: _private");
	is_int(matches(q, "def public():\n    pass\n", 0), 1, "#not-match?: public");
	treesit_query_free(q);

	q = query("python",
		"((class_definition name: (identifier) @c) (#any-of? @c \"Customer\" \"order_line\"))");
	is_int(matches(q, "class Customer: pass\n", 0), 1, "#any-of?: first value");
	is_int(matches(q, "class order_line: pass\n", 0), 1, "#any-of?: second value");
	is_int(matches(q, "class OrderLine: pass\n", 0), 0, "#any-of? exact: OrderLine");
	is_int(matches(q, "class OrderLine: pass\n", 1), 1, "#any-of? relaxed: OrderLine");
	is_int(matches(q, "class Product: pass\n", 1), 0, "#any-of?: none of them");
	treesit_query_free(q);

	q = query("python", "((assignment left: (identifier) @a right: (identifier) @b) (#eq? @a @b))");
	is_int(matches(q, "x = x\n", 0), 1, "#eq? capture to capture: equal");
	is_int(matches(q, "x = y\n", 0), 0, "#eq? capture to capture: different");
	is_int(matches(q, "order_id = OrderId\n", 1), 1, "#eq? capture to capture: relaxed");
	treesit_query_free(q);

	/* a capture holding several nodes: the predicate holds for each */
	q = query("python",
		"((dotted_name . (identifier) @n . \".\" . (identifier) @n .) (#match? @n \"^[a-z]+$\"))");
	is_int(matches(q, "import os.path\n", 0), 1, "two nodes in one capture: both match");
	is_int(matches(q, "import os.Path\n", 0), 0, "two nodes in one capture: the second fails");
	is_int(matches(q, "import Os.path\n", 0), 0, "two nodes in one capture: the first fails");
	treesit_query_free(q);

	/* several patterns: one matching is enough */
	q = query("javascript",
		"((function_declaration name: (identifier) @f) (#eq? @f \"createOrder\"))\n"
		"((variable_declarator name: (identifier) @v) (#eq? @v \"createOrder\"))\n");
	is_int(matches(q, "const createOrder = () => 1;\n", 0), 1, "second pattern matches");
	is_int(matches(q, "function createOrder() {}\n", 0), 1, "first pattern matches");
	is_int(matches(q, "function create_order() {}\n", 0), 0, "neither matches exactly");
	is_int(matches(q, "function create_order() {}\n", 1), 1, "relaxed: create_order ~ createOrder");
	treesit_query_free(q);

	/* a pattern without predicates */
	q = query("typescript", "(interface_declaration name: (type_identifier) @i)");
	is_int(matches(q, "interface Order { id: number }\n", 0), 1, "no predicate: the pattern matches");
	is_int(matches(q, "type Order = { id: number };\n", 0), 0, "no predicate: no node, no match");
	treesit_query_free(q);
}

/* A malformed query: one error at c.dm:line:col with message msg. */
static void
query_error_case(const char *what, const char *lname, int line0, const char *src, int line, int col,
	const char *msg)
{
	struct treesit_query *q = (struct treesit_query *)1;
	struct diag d = {0};
	int rc = treesit_query_new(lang(lname), "c.dm", line0, src, strlen(src), &q, &d);

	is_int(rc, DM_EINPUT, "%s: an error", what);
	ok(q == NULL, "%s: no query", what);
	if (d.n == 1) {
		is_str(d.items[0].file, "c.dm", "%s: the file", what);
		is_int(d.items[0].line, line, "%s: line", what);
		is_int(d.items[0].col, col, "%s: column", what);
		is_str(d.items[0].msg, msg, "%s: message", what);
	} else {
		ok(0, "%s: one diagnostic (got %zu)", what, d.n);
		diag_print(&d, stderr);
	}
	diag_free(&d);
}

static void
test_query_errors(void)
{
	query_error_case("unknown node type", "python", 10,
		"(class_definition\n  name: (identifer) @c)", 11, 10,
		"query: unknown node type 'identifer' in the python grammar\n"
		"    name: (identifer) @c)\n           ^");
	query_error_case("unknown field", "python", 3, "(class_definition nme: (identifier))", 3, 19,
		"query: unknown field 'nme' in the python grammar\n"
		"  (class_definition nme: (identifier))\n                    ^");
	query_error_case("unknown capture", "python", 1, "((identifier) @x (#eq? @y \"a\"))", 1, 25,
		"query: unknown capture '@y'\n  ((identifier) @x (#eq? @y \"a\"))\n                          ^");
	query_error_case("syntax error", "c", 5, "(function_definition\n  (identifier @x", 6, 15,
		"query: syntax error\n    (identifier @x\n                ^");
	query_error_case("impossible pattern", "python", 1, "(block (identifier))", 1, 8,
		"query: impossible pattern: no python tree has this node here\n"
		"  (block (identifier))\n         ^");
	query_error_case("unknown predicate", "python", 2, "(\n  (identifier) @x\n  (#set! @x \"a\"))", 4, 4,
		"query: unknown predicate #set!: expected #eq?, #not-eq?, #match?, #not-match? or #any-of?"
		"\n    (#set! @x \"a\"))\n     ^");
	query_error_case("bad regex", "python", 1, "((identifier) @x (#match? @x \"a(\"))", 1, 19,
		"query: #match?: bad regular expression \"a(\": Unmatched ( or \\(\n"
		"  ((identifier) @x (#match? @x \"a(\"))\n                    ^");
	query_error_case("the second of two #match?", "python", 1,
		"((identifier) @x (#match? @x \"a\") (#match? @x \"b(\"))", 1, 36,
		"query: #match?: bad regular expression \"b(\": Unmatched ( or \\(\n"
		"  ((identifier) @x (#match? @x \"a\") (#match? @x \"b(\"))\n"
		"                                     ^");
	query_error_case("#eq? arity", "python", 1, "((identifier) @x (#eq? @x))", 1, 19,
		"query: #eq? takes 2 arguments (@capture, then a string or @capture), not 1\n"
		"  ((identifier) @x (#eq? @x))\n                    ^");
	query_error_case("#eq? without a capture", "python", 1, "((identifier) @x (#eq? \"a\" @x))", 1, 19,
		"query: #eq? needs a @capture as its first argument\n"
		"  ((identifier) @x (#eq? \"a\" @x))\n                    ^");
	query_error_case("#any-of? with a capture", "python", 1,
		"((identifier) @x (#any-of? @x \"a\" @x))", 1, 19,
		"query: #any-of?: argument 3 must be a string, not a @capture\n"
		"  ((identifier) @x (#any-of? @x \"a\" @x))\n                    ^");
	query_error_case("empty query", "python", 7, "  ; only a comment\n", 8, 1,
		"query: expected a pattern, found none\n  \n  ^");
}

/* A query that starts inside a line: its errors at that line's columns. */
static void
query_at_case(const char *what, int line0, int col0, const char *src, int line, int col,
	const char *msg)
{
	struct srcpos at = {"DMfile", line0, col0};
	struct treesit_query *q = (struct treesit_query *)1;
	struct diag d = {0};
	int rc = treesit_query_new_at(lang("python"), &at, src, strlen(src), &q, &d);

	is_int(rc, DM_EINPUT, "%s: an error", what);
	ok(q == NULL, "%s: no query", what);
	if (d.n == 1) {
		char *got = xasprintf("%s:%d:%d: %s", d.items[0].file, d.items[0].line,
			d.items[0].col, d.items[0].msg);
		char *want = xasprintf("DMfile:%d:%d: %s", line, col, msg);

		is_str(got, want, "%s: placed in the file", what);
		free(got);
		free(want);
	} else {
		ok(0, "%s: one diagnostic (got %zu)", what, d.n);
		diag_print(&d, stderr);
	}
	diag_free(&d);
}

static void
test_query_at(void)
{
	struct srcpos at = {"DMfile", 4, 13};
	struct treesit_query *q = NULL;
	struct diag d = {0};
	const char *good = "((class_definition name: (identifier) @c) (#eq? @c \"Order\"))";
	struct buf long_pred = {0}, long_re = {0}, want = {0};
	int i;

	/* "    query = (class_definition ..." : the value starts at column 13 */
	query_at_case("unknown node type, first line", 4, 13,
		"(class_definition name: (identifer) @c)", 4, 38,
		"query: unknown node type 'identifer' in the python grammar\n"
		"  (class_definition name: (identifer) @c)\n                           ^");
	query_at_case("error at the very start", 9, 21, "(nonsense)", 9, 22,
		"query: unknown node type 'nonsense' in the python grammar\n"
		"  (nonsense)\n   ^");
	query_at_case("syntax error at the end", 2, 13, "(class_definition name: (identifier) @c",
		2, 52, "query: syntax error\n  (class_definition name: (identifier) @c\n"
		"                                         ^");
	query_at_case("a later line starts at column 1", 4, 13,
		"(class_definition\n  name: (identifer) @c)", 5, 10,
		"query: unknown node type 'identifer' in the python grammar\n"
		"    name: (identifer) @c)\n           ^");
	query_at_case("a predicate error", 7, 11, "((identifier) @x (#eq? @x))", 7, 29,
		"query: #eq? takes 2 arguments (@capture, then a string or @capture), not 1\n"
		"  ((identifier) @x (#eq? @x))\n                    ^");

	ok(treesit_query_new_at(lang("python"), &at, good, strlen(good), &q, &d) == 0 && q &&
		d.n == 0, "a good query compiles at a position too");
	is_int(matches(q, "class Order:\n    pass\n", 0), 1, "and matches");
	treesit_query_free(q);

	/* quoted query text is cut and escaped */
	buf_adds(&long_pred, "((identifier) @x (#");
	for (i = 0; i < 60; i++)
		buf_addc(&long_pred, 'p');
	buf_adds(&long_pred, "! @x))");
	buf_adds(&want, "query: unknown predicate #");
	for (i = 0; i < 48; i++)
		buf_addc(&want, 'p');
	buf_adds(&want, "...: expected #eq?, #not-eq?, #match?, #not-match? or #any-of?");
	ok(treesit_query_new_at(lang("python"), &at, long_pred.data, long_pred.len, &q, &d) ==
		DM_EINPUT && d.n == 1, "a long predicate name: an error");
	ok(d.n == 1 && strncmp(d.items[0].msg, want.data, want.len) == 0 &&
		d.items[0].msg[want.len] == '\n', "the predicate name is cut");
	diag_free(&d);

	buf_adds(&long_re, "((identifier) @x (#match? @x \"(\\t");
	for (i = 0; i < 60; i++)
		buf_addc(&long_re, 'r');
	buf_adds(&long_re, "\"))");
	ok(treesit_query_new_at(lang("python"), &at, long_re.data, long_re.len, &q, &d) ==
		DM_EINPUT && d.n == 1, "a long bad regular expression: an error");
	ok(d.n == 1 && strstr(d.items[0].msg, "bad regular expression \"(\\x09rrrrrrrrrr") &&
		strstr(d.items[0].msg, "rrr...\": "), "it is escaped and cut");
	diag_free(&d);
	buf_free(&long_pred);
	buf_free(&long_re);
	buf_free(&want);
}

/* Threads: each checks and matches repeatedly; failures are counted. */
struct job {
	const struct treesit_query *q;
	int id, failures;
};

static void *
worker(void *p)
{
	struct job *j = p;
	static const char *const lnames[] = {"python", "c", "json", "yaml"};
	static const char *const good[] = {"x = 1\n", "int x;\n", "[1]\n", "a: 1\n"};
	static const char *const bad[] = {"x = = 1\n", "int x = 1\n", "[1,]\n", "a: [1\n"};
	const char *ln = lnames[j->id % 4];
	int i;

	for (i = 0; i < 50; i++) {
		struct diag d = {0};
		int m = -1;

		if (check(ln, good[j->id % 4], &d) != 0 || d.n != 0)
			j->failures++;
		diag_free(&d);
		memset(&d, 0, sizeof d);
		if (check(ln, bad[j->id % 4], &d) != DM_EINPUT || d.n != 1 || d.items[0].line != 1)
			j->failures++;
		diag_free(&d);
		if (treesit_query_match(j->q, order_py, strlen(order_py), i % 2, &m) != 0 || m != 1)
			j->failures++;
		if (treesit_query_match(j->q, "class Order:\n    id: int\n", 25, i % 2, &m) != 0 || m != 0)
			j->failures++;
	}
	return NULL;
}

static void
test_threads(void)
{
	struct treesit_query *q = query("python", order_contract);
	pthread_t t[4];
	struct job jobs[4];
	int i, started = 0, failures = 0;

	for (i = 0; i < 4; i++) {
		jobs[i] = (struct job){q, i, 0};
		if (pthread_create(&t[i], NULL, worker, &jobs[i]) == 0)
			started++;
	}
	is_int(started, 4, "4 threads started");
	for (i = 0; i < started; i++) {
		pthread_join(t[i], NULL);
		failures += jobs[i].failures;
	}
	is_int(failures, 0, "4 threads checking and matching one query concurrently: no wrong answer");
	treesit_query_free(q);
}

int
main(void)
{
	test_lang_for_path();
	test_syntax();
	test_missing();
	test_syntax_details();
	test_query_contract();
	test_query_predicates();
	test_query_errors();
	test_query_at();
	test_threads();
	return done_testing();
}
