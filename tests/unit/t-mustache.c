/* t-mustache.c - the Mustache engine: spec cases that matter most, the
 * dependency hooks, block overrides, errors with positions, limits,
 * concurrent rendering of one parsed tree and cancellation. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "mustache.h"
#include "tap.h"

#define MAXP 8

/* A set of named partials, parsed once, found by name. */
struct partials {
	const char *names[MAXP];
	struct mst *t[MAXP];
	size_t n;
	int self;             /* unknown names resolve to self_t */
	const struct mst *self_t;
	int fail;             /* every lookup fails with this code */
};

static int
find_partial(void *ud, const char *name, size_t len, const struct mst **out)
{
	struct partials *p = ud;
	size_t i;

	if (p->fail)
		return p->fail;
	for (i = 0; i < p->n; i++) {
		if (strlen(p->names[i]) == len && memcmp(p->names[i], name, len) == 0) {
			*out = p->t[i];
			return 0;
		}
	}
	if (p->self) {
		*out = p->self_t;
		return 0;
	}
	return DM_ENOTFOUND;
}

static void
partials_load(struct partials *p, const char *const *defs)
{
	struct diag d = {0};

	memset(p, 0, sizeof *p);
	for (; defs && defs[0]; defs += 2) {
		p->names[p->n] = defs[0];
		if (mst_parse(defs[0], defs[1], strlen(defs[1]), &p->t[p->n], &d) != 0) {
			diag_print(&d, stdout);
			abort();
		}
		p->n++;
	}
	diag_free(&d);
}

static void
partials_free(struct partials *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		mst_free(p->t[i]);
}

static struct val *
data(const char *json)
{
	struct val *v = NULL;
	struct diag d = {0};

	if (json_parse("data", json, strlen(json), &v, &d) != 0) {
		diag_print(&d, stdout);
		abort();
	}
	diag_free(&d);
	val_freeze(v, "");
	return v;
}

/* render: template + partials + JSON data -> a malloc'd string, or NULL
 * on an error (its first message in *err when err is given). */
static char *
render(const char *tmpl, const char *const *defs, const char *json, struct mst_hooks *h,
	char **err)
{
	struct partials p;
	struct mst_hooks local = {0};
	struct mst *t;
	struct diag d = {0};
	struct buf out = {0};
	struct val *v = data(json);
	const struct val *stack[1] = {v};
	char *res = NULL;

	partials_load(&p, defs);
	if (!h)
		h = &local;
	if (!h->partial) {
		h->partial = find_partial;
		h->ud = h->ud ? h->ud : &p;
	}
	if (mst_parse("t.mustache", tmpl, strlen(tmpl), &t, &d) == 0) {
		if (mst_render(t, stack, 1, h, &out, &d) == 0)
			res = buf_release(&out);
		mst_free(t);
	}
	if (err)
		*err = d.n ? xstrdup(d.items[0].msg) : NULL;
	if (!res && !err && d.n)
		note("error: %s", d.items[0].msg);
	if (h->ud == &p) {
		h->partial = NULL;
		h->ud = NULL;
	}
	buf_free(&out);
	diag_free(&d);
	partials_free(&p);
	val_free(v);
	return res;
}

static void
check(const char *label, const char *tmpl, const char *const *defs, const char *json,
	const char *want)
{
	char *got = render(tmpl, defs, json, NULL, NULL);

	is_str(got, want, "%s", label);
	free(got);
}

static void
test_core(void)
{
	check("interpolation escapes & \" < > but not '", "{{x}}|{{{x}}}|{{&x}}", NULL,
		"{\"x\": \"& \\\" < > '\"}", "&amp; &quot; &lt; &gt; '|& \" < > '|& \" < > '");
	check("numbers and null", "{{i}} {{f}} {{n}}|{{t}}", NULL,
		"{\"i\": 85, \"f\": 1.21, \"n\": null, \"t\": true}", "85 1.21 |true");
	check("context misses render nothing", "[{{missing}}{{{m.x}}}]", NULL, "{}", "[]");
	check("dotted names", "{{a.b.c}}", NULL, "{\"a\": {\"b\": {\"c\": \"deep\"}}}", "deep");
	check("broken chain does not fall back to outer frames", "{{#a}}[{{b.c}}]{{/a}}", NULL,
		"{\"a\": {\"b\": {}}, \"b\": {\"c\": \"ERROR\"}}", "[]");
	check("dotted names are never single keys", "[{{a.b}}]", NULL, "{\"a.b\": \"c\"}", "[]");
	check("implicit iterator over a list of scalars", "{{#l}}({{.}}){{/l}}", NULL,
		"{\"l\": [1, \"&\", 2.5]}", "(1)(&amp;)(2.5)");
	check("nested lists through {{#.}}", "{{#l}}[{{#.}}{{.}}{{/.}}]{{/l}}", NULL,
		"{\"l\": [[1, 2], [3]]}", "[12][3]");
	check("case helpers on names, chained and on the implicit iterator",
		"{{n.snake}} {{n.camel}} {{n.plural.kebab}} {{#l}}{{.pascal}},{{/l}}", NULL,
		"{\"n\": \"OrderLine\", \"l\": [\"http_server\", \"v2 api\"]}",
		"order_line orderLine order-lines HttpServer,V2Api,");
	check("helpers apply to strings only; map keys win", "[{{m.snake}}|{{n.snake}}|{{s.nope}}]",
		NULL, "{\"m\": {\"snake\": \"key\"}, \"n\": 5, \"s\": \"x\"}", "[key||]");
	check("a helper result can open a section", "{{#e.plural}}<{{.}}>{{/e.plural}}", NULL,
		"{\"e\": \"Box\"}", "<Boxes>");
	{
		static const char *const defs[] = {"order_line", "[{{n.kebab}}|{{n.upper}}]", NULL};

		check("a helper result names a dynamic partial, which uses helpers too",
			"{{>*n.snake}}{{>*n.pascal}}{{n.camel}}", defs, "{\"n\": \"OrderLine\"}",
			"[order-line|ORDERLINE]orderLine");
	}
	check("helper results nest: a section's value outlives the lookups inside it",
		"{{#a.upper}}{{#b.lower}}{{.}}{{a.snake}}{{.upper}}{{/b.lower}}{{.}}{{/a.upper}}",
		NULL, "{\"a\": \"AbCd\", \"b\": \"XyZ\"}", "xyzab_cdXYZABCD");
	check("a map section pushes the map", "{{#m}}{{x}}-{{y}}{{/m}}", NULL,
		"{\"m\": {\"x\": 1}, \"y\": 2}", "1-2");
	check("falsey sections: false, null, empty list, empty string",
		"{{#a}}A{{/a}}{{#b}}B{{/b}}{{#c}}C{{/c}}{{#d}}D{{/d}}{{^a}}!{{/a}}", NULL,
		"{\"a\": false, \"b\": null, \"c\": [], \"d\": \"\"}", "!");
	check("inverted section on a miss and a truthy value", "{{^x}}miss{{/x}}{{^y}}no{{/y}}",
		NULL, "{\"y\": 1}", "miss");
	check("standalone lines are removed", "| A\n  {{#b}}\n| B\n  {{/b}}\n| C\n", NULL,
		"{\"b\": true}", "| A\n| B\n| C\n");
	check("standalone lines with CRLF", "|\r\n{{#b}}\r\n{{/b}}\r\n|", NULL, "{\"b\": true}",
		"|\r\n|");
	check("inline sections keep their whitespace", " {{#b}}YES{{/b}}\n", NULL,
		"{\"b\": true}", " YES\n");
	check("comments, standalone and inline", "a\n  {{! gone }}\nb{{! x }}c\n", NULL, "{}",
		"a\nbc\n");
	check("set delimiters", "{{=<% %>=}}<%x%> {{x}} <%={{ }}=%>{{x}}", NULL,
		"{\"x\": 1}", "1 {{x}} 1");
	check("triple mustache with custom delimiters", "{{=[ ]=}}[{x}][&x]", NULL,
		"{\"x\": \"<\"}", "<<");
	check("padding inside tags", "{{ x }}{{# b }}y{{/ b }}{{> p }}",
		(const char *const[]){"p", "P", NULL}, "{\"x\": 1, \"b\": true}", "1yP");
	check("partial with standalone indentation of every line",
		"\\\n {{>p}}\n/\n", (const char *const[]){"p", "|\n{{{c}}}\n|\n", NULL},
		"{\"c\": \"<\\n->\"}", "\\\n |\n <\n->\n |\n/\n");
	check("blank partial lines get no indentation", "  {{>p}}\n",
		(const char *const[]){"p", "a\n\nb\n", NULL}, "{}", "  a\n\n  b\n");
	check("nested partials accumulate indentation", "  {{>p}}\n",
		(const char *const[]){"p", "a\n  {{>q}}\n", "q", "x\ny\n", NULL}, "{}",
		"  a\n    x\n    y\n");
	check("missing partial renders nothing", "[{{>nope}}]", NULL, "{}", "[]");
	check("recursive partial over data", "{{>node}}",
		(const char *const[]){"node", "{{c}}<{{#k}}{{>node}}{{/k}}>", NULL},
		"{\"c\": \"X\", \"k\": [{\"c\": \"Y\", \"k\": []}]}", "X<Y<>>");
	check("dynamic partial name", "{{>*which}}|{{>*nope}}",
		(const char *const[]){"a", "A{{x}}", NULL}, "{\"which\": \"a\", \"x\": 1}", "A1|");
	check("dynamic names resolve fully before dereferencing", "[{{>*foo.bar}}]",
		(const char *const[]){"p", "P", NULL},
		"{\"foo\": \"t\", \"t\": {\"bar\": \"p\"}}", "[]");
}

static void
test_inheritance(void)
{
	check("block default", "{{$t}}Default{{/t}}", NULL, "{}", "Default");
	check("override", "{{<super}}{{$t}}child{{/t}}{{/super}}",
		(const char *const[]){"super", "...{{$t}}Default{{/t}}...", NULL}, "{}",
		"...child...");
	check("text and tags inside a parent are ignored",
		"{{<p}} junk {{x}} {{$a}}A{{/a}} more {{/p}}",
		(const char *const[]){"p", "[{{$a}}d{{/a}}{{$b}}B{{/b}}]", NULL},
		"{\"x\": 1}", "[AB]");
	check("multi-level: outermost override wins", "{{<p}}{{$a}}c{{/a}}{{/p}}",
		(const char *const[]){"p", "{{<o}}{{$a}}p{{/a}}{{/o}}", "o",
			"{{<g}}{{$a}}o{{/a}}{{/g}}", "g", "{{$a}}g{{/a}}", NULL}, "{}", "c");
	check("recursion through parents terminates",
		"{{<parent}}{{$foo}}override{{/foo}}{{/parent}}",
		(const char *const[]){"parent",
			"{{$foo}}default content{{/foo}} {{$bar}}{{<parent2}}{{/parent2}}{{/bar}}",
			"parent2",
			"{{$foo}}parent2 default content{{/foo}} {{<parent}}{{$bar}}don't recurse"
			"{{/bar}}{{/parent}}", NULL},
		"{}", "override override override don't recurse");
	check("a block nested in its own override does not loop",
		"{{<p}}{{$a}}<{{$a}}inner{{/a}}>{{/a}}{{/p}}",
		(const char *const[]){"p", "[{{$a}}d{{/a}}]", NULL}, "{}", "[<inner>]");
	check("block scope is the parent's context",
		"{{<p}}{{$b}}I say {{fruit}}.{{/b}}{{/p}}",
		(const char *const[]){"p", "{{#nested}}{{$b}}You say {{fruit}}.{{/b}}{{/nested}}",
			NULL},
		"{\"fruit\": \"apples\", \"nested\": {\"fruit\": \"bananas\"}}", "I say bananas.");
	check("block reindentation", "{{<p}}{{$b}}\n    one\n    two\n{{/b}}{{/p}}\n",
		(const char *const[]){"p", "Hi,\n  {{$b}}\n  {{/b}}\n", NULL}, "{}",
		"Hi,\n  one\n  two\n");
	check("intrinsic indentation from the default body",
		"{{<p}}{{$b}}\none\ntwo\n{{/b}}{{/p}}\n",
		(const char *const[]){"p", "Hi,\n{{$b}}\n  default\n{{/b}}\n", NULL}, "{}",
		"Hi,\n  one\n  two\n");
	check("standalone pair {{$b}}{{/b}} keeps its newline",
		"{{<p}}{{$b}}\none\ntwo{{/b}}\n{{/p}}\n",
		(const char *const[]){"p", "Hi,\n  {{$b}}{{/b}}\n", NULL}, "{}",
		"Hi,\n  one\n  two\n");
	check("nested block reindentation", "{{<p}}{{$n}}\nthree\n{{/n}}{{/p}}\n",
		(const char *const[]){"p",
			"{{<g}}{{$b}}\n  one\n  {{$n}}\n    two\n  {{/n}}\n{{/b}}{{/g}}\n",
			"g", "{{$b}}default{{/b}}", NULL},
		"{}", "one\n  three\n");
	check("standalone parent indents the parent", "Hi,\n  {{<p}}{{/p}}\n",
		(const char *const[]){"p", "one\ntwo\n", NULL}, "{}", "Hi,\n  one\n  two\n");
	check("inline override into a standalone block starts on the block's line",
		"{{<p}}{{$b}}{{x}}\nnext\n{{/b}}{{/p}}",
		(const char *const[]){"p", "<\n  {{$b}}\n  {{/b}}\n>", NULL}, "{\"x\": 1}",
		"<\n  1\n  next\n>");
	check("inline override beginning with a newline gets no indented blank line",
		"{{<p}}{{$t}}T{{/t}}{{$b}}\none\n{{/b}}{{/p}}",
		(const char *const[]){"p", "<\n  {{$b}}\n  {{/b}}\n>", NULL}, "{}",
		"<\n\n  one\n>");
	check("dynamic parent", "{{<*which}}{{$a}}X{{/a}}{{/*which}}",
		(const char *const[]){"p", "({{$a}}d{{/a}})", NULL}, "{\"which\": \"p\"}", "(X)");
}

/* ---- hooks ---- */

struct log {
	struct buf b;
	const char *fill_name; /* the block hook accepts this name */
	const char *fill;
	struct buf asked;      /* names the block hook was asked about */
	struct partials *p;
};

static const char *
path_of(const struct val *v)
{
	if (!v)
		return "-";
	return v->path ? (v->path[0] ? v->path : "$") : "?";
}

static void
log_probe(void *ud, const struct val *c, const char *key, size_t klen, const struct val *found)
{
	struct log *l = ud;

	buf_printf(&l->b, "P %s %.*s %s\n", path_of(c), (int)klen, key, found ? path_of(found) : "miss");
}

static void
log_use(void *ud, const struct val *v, enum val_use how)
{
	struct log *l = ud;

	buf_printf(&l->b, "U %s %s\n", path_of(v), how == VAL_USE_VALUE ? "value" : "shape");
}

static int
log_block(void *ud, const char *name, size_t len, const char **text, size_t *tlen)
{
	struct log *l = ud;

	buf_printf(&l->asked, "%.*s;", (int)len, name);
	if (l->fill_name && strlen(l->fill_name) == len && memcmp(l->fill_name, name, len) == 0) {
		*text = l->fill;
		*tlen = strlen(l->fill);
		return 1;
	}
	return 0;
}

static void
check_hooks(const char *label, const char *tmpl, const char *json, const char *want_out,
	const char *want_log)
{
	struct log l;
	struct mst_hooks h = {0};
	char *got;

	memset(&l, 0, sizeof l);
	h.probe = log_probe;
	h.use = log_use;
	h.ud = &l;
	got = render(tmpl, NULL, json, &h, NULL);
	is_str(got, want_out, "%s: output", label);
	is_str(l.b.data ? l.b.data : "", want_log, "%s: probes and uses", label);
	free(got);
	buf_free(&l.b);
}

static void
test_hooks(void)
{
	check_hooks("dotted lookup with misses on inner frames",
		"{{#a}}{{b.c}}{{/a}}",
		"{\"a\": {\"x\": 1}, \"b\": {\"c\": \"z\"}}",
		"z",
		"P $ a a\n"
		"U a shape\n"
		"P a b miss\n"
		"P $ b b\n"
		"P b c b.c\n"
		"U b.c value\n");
	check_hooks("broken dotted chain probes the failing step",
		"[{{a.x.y}}]",
		"{\"a\": {\"q\": 1}}",
		"[]",
		"P $ a a\n"
		"P a x miss\n");
	check_hooks("section over a list: non-map frames miss, items are pushed",
		"{{#items}}{{name}},{{/items}}",
		"{\"items\": [\"s\", {\"name\": \"n\"}], \"name\": \"root\"}",
		"root,n,",
		"P $ items items\n"
		"U items shape\n"
		"P items[0] name miss\n"
		"P $ name name\n"
		"U name value\n"
		"P items[1] name items[1].name\n"
		"U items[1].name value\n");
	check_hooks("case helpers report the original string once",
		"{{name.plural.snake}} {{#name.upper}}{{.}}{{/name.upper}}",
		"{\"name\": \"OrderLine\"}",
		"order_lines ORDERLINE",
		"P $ name name\n"
		"U name value\n"
		"P $ name name\n"
		"U name value\n");
	check_hooks("implicit iterator and inverted section",
		"{{#l}}{{.}}{{/l}}{{^e}}E{{/e}}",
		"{\"l\": [1], \"e\": []}",
		"1E",
		"P $ l l\n"
		"U l shape\n"
		"U l[0] value\n"
		"P $ e e\n"
		"U e shape\n");
	check_hooks("a miss on every frame",
		"{{#m}}{{zz}}{{/m}}",
		"{\"m\": {}}",
		"",
		"P $ m m\n"
		"U m shape\n"
		"P m zz miss\n"
		"P $ zz miss\n");
	check_hooks("helpers everywhere: chained, escaped, in sections, on long strings",
		"{{e.name.snake}}|{{{e.name.pascal}}}|{{e.name.snake.upper}}|{{e.amp.upper}}|"
		"{{{e.amp.kebab}}}|{{e.name.snake.x}}|{{e.name.x.snake}}|{{e.n.snake}}|"
		"{{#e}}{{name.camel}}:{{#name.upper}}[{{.}}{{.lower}}{{e.name.kebab}}"
		"{{#.plural}}({{.snake}}){{/.plural}}]{{/name.upper}}{{/e}}|"
		"{{#l}}{{.snake}},{{/l}}|{{^e.nope.snake}}no{{/e.nope.snake}}|"
		"{{#e.empty.snake}}E{{/e.empty.snake}}|{{long.snake}}|{{long.kebab.upper}}",
		"{\"e\": {\"name\": \"OrderLine\", \"amp\": \"a&b<c\", \"n\": 5, "
		"\"empty\": \"\"}, \"l\": [\"HTTPServer\", \"v2Api\"], "
		"\"long\": \"AaaaaaaaaaBbbbbbbbbbCccccccccc"
		"DdddddddddEeeeeeeeeeFfffffffffGgggggggggHhhhhhhhhhIiiiiiiiiiJjjjjjjjjj"
		"KkkkkkkkkkLlllllllllMmmmmmmmmmNnnnnnnnnnOoooooooooPpppppppppQqqqqqqqqq"
		"RrrrrrrrrrSsssssssssTtttttttttUuuuuuuuuuVvvvvvvvvvWwwwwwwwwwXxxxxxxxxx"
		"YyyyyyyyyyZzzzzzzzzzAaaaaaaaaaBbbbbbbbbbCcccccccccDddddddddd\"}",
		"order_line|OrderLine|ORDER_LINE|A&amp;B&lt;C|a&b<c||||orderLine:[ORDER"
		"LINEorderlineorder-line(orderlines)]|http_server,v2_api,|no||aaaaaaaaa"
		"a_bbbbbbbbbb_cccccccccc_dddddddddd_eeeeeeeeee_ffffffffff_gggggggggg_hh"
		"hhhhhhhh_iiiiiiiiii_jjjjjjjjjj_kkkkkkkkkk_llllllllll_mmmmmmmmmm_nnnnnn"
		"nnnn_oooooooooo_pppppppppp_qqqqqqqqqq_rrrrrrrrrr_ssssssssss_tttttttttt"
		"_uuuuuuuuuu_vvvvvvvvvv_wwwwwwwwww_xxxxxxxxxx_yyyyyyyyyy_zzzzzzzzzz_aaa"
		"aaaaaaa_bbbbbbbbbb_cccccccccc_dddddddddd|AAAAAAAAAA-BBBBBBBBBB-CCCCCCC"
		"CCC-DDDDDDDDDD-EEEEEEEEEE-FFFFFFFFFF-GGGGGGGGGG-HHHHHHHHHH-IIIIIIIIII-"
		"JJJJJJJJJJ-KKKKKKKKKK-LLLLLLLLLL-MMMMMMMMMM-NNNNNNNNNN-OOOOOOOOOO-PPPP"
		"PPPPPP-QQQQQQQQQQ-RRRRRRRRRR-SSSSSSSSSS-TTTTTTTTTT-UUUUUUUUUU-VVVVVVVV"
		"VV-WWWWWWWWWW-XXXXXXXXXX-YYYYYYYYYY-ZZZZZZZZZZ-AAAAAAAAAA-BBBBBBBBBB-C"
		"CCCCCCCCC-DDDDDDDDDD",
		"P $ e e\n"
		"P e name e.name\n"
		"U e.name value\n"
		"P $ e e\n"
		"P e name e.name\n"
		"U e.name value\n"
		"P $ e e\n"
		"P e name e.name\n"
		"U e.name value\n"
		"P $ e e\n"
		"P e amp e.amp\n"
		"U e.amp value\n"
		"P $ e e\n"
		"P e amp e.amp\n"
		"U e.amp value\n"
		"P $ e e\n"
		"P e name e.name\n"
		"U e.name value\n"
		"P $ e e\n"
		"P e name e.name\n"
		"P e.name x miss\n"
		"P $ e e\n"
		"P e n e.n\n"
		"P e.n snake miss\n"
		"P $ e e\n"
		"U e shape\n"
		"P e name e.name\n"
		"U e.name value\n"
		"P e name e.name\n"
		"U e.name value\n"
		"P e e miss\n"
		"P $ e e\n"
		"P e name e.name\n"
		"U e.name value\n"
		"P $ l l\n"
		"U l shape\n"
		"U l[0] value\n"
		"U l[1] value\n"
		"P $ e e\n"
		"P e nope miss\n"
		"P $ e e\n"
		"P e empty e.empty\n"
		"U e.empty value\n"
		"P $ long long\n"
		"U long value\n"
		"P $ long long\n"
		"U long value\n");
}

static void
test_stack_and_null_hooks(void)
{
	struct val *bottom = data("{\"x\": \"bottom\", \"y\": \"Y\"}");
	struct val *top = data("{\"x\": \"top\"}");
	const struct val *stack[2] = {bottom, top};
	struct mst *t;
	struct diag d = {0};
	struct buf out = {0};
	struct mst_hooks empty = {0};
	const char *src = "{{x}}{{y}}{{>p}}{{$b}}B{{/b}}";

	ok(mst_parse("s", src, strlen(src), &t, &d) == 0, "parse for the stack test");
	buf_adds(&out, "pre:");
	is_int(mst_render(t, stack, 2, NULL, &out, &d), 0, "render with NULL hooks");
	is_str(out.data, "pre:topYB", "the top frame wins; output is appended");
	buf_clear(&out);
	is_int(mst_render(t, stack, 2, &empty, &out, &d), 0, "render with all hook fields NULL");
	is_str(out.data, "topYB", "NULL hook fields behave like no hooks");
	buf_clear(&out);
	is_int(mst_render(t, NULL, 0, NULL, &out, &d), 0, "render with an empty stack");
	is_str(out.data, "B", "an empty stack misses everything");
	is_str(mst_name(t), "s", "mst_name");
	mst_free(t);
	buf_free(&out);
	diag_free(&d);
	val_free(bottom);
	val_free(top);
}

static int
log_partial(void *ud, const char *name, size_t len, const struct mst **out)
{
	struct log *l = ud;

	return find_partial(l->p, name, len, out);
}

static void
check_fill(const char *label, const char *tmpl, const char *const *defs, const char *fill_name,
	const char *fill, const char *want, const char *want_asked)
{
	struct log l;
	struct partials p;
	struct mst_hooks h = {0};
	struct mst *t;
	struct diag d = {0};
	struct buf out = {0};
	struct val *v = data("{\"x\": \"X\"}");
	const struct val *stack[1] = {v};
	char *got = NULL;

	memset(&l, 0, sizeof l);
	partials_load(&p, defs);
	l.fill_name = fill_name;
	l.fill = fill;
	l.p = &p;
	h.block = log_block;
	h.partial = log_partial;
	h.ud = &l;
	if (mst_parse("t", tmpl, strlen(tmpl), &t, &d) == 0) {
		if (mst_render(t, stack, 1, &h, &out, &d) == 0)
			got = buf_release(&out);
		mst_free(t);
	}
	is_str(got, want, "%s", label);
	is_str(l.asked.data ? l.asked.data : "", want_asked, "%s: blocks asked", label);
	free(got);
	buf_free(&out);
	buf_free(&l.asked);
	diag_free(&d);
	partials_free(&p);
	val_free(v);
}

static void
test_block_hook(void)
{
	check_fill("fill replaces a top-level block, not rendered",
		"a {{$s}}default {{x}}{{/s}} b", NULL, "s", "{{x}} & <raw>",
		"a {{x}} & <raw> b", "s;");
	check_fill("hook declining renders the default", "a {{$s}}d{{x}}{{/s}} b", NULL,
		NULL, NULL, "a dX b", "s;");
	check_fill("standalone block: fill dedented and indented, newline added",
		"def f():\n    {{$body}}\n    pass\n    {{/body}}\nend\n", NULL, "body",
		"  x = 1\n  if x:\n      y()\n\n  return x",
		"def f():\n    x = 1\n    if x:\n        y()\n\n    return x\nend\n", "body;");
	check_fill("fill passed into a parent lands at the parent's block",
		"{{<skel}}{{$slot}}\nchild default\n{{/slot}}{{/skel}}",
		(const char *const[]){"skel",
			"class A:\n    def m(self):\n        {{$slot}}\n        pass\n        {{/slot}}\n"
			"{{$other}}o{{/other}}\n", NULL},
		"slot", "return 1\n",
		"class A:\n    def m(self):\n        return 1\no\n", "slot;");
	check_fill("blocks of partials and parents are not asked",
		"{{>p}}{{<q}}{{/q}}{{$mine}}M{{/mine}}",
		(const char *const[]){"p", "{{$inp}}P{{/inp}}", "q", "{{$inq}}Q{{/inq}}", NULL},
		"inp", "NO", "PQM", "mine;");
	check_fill("a block nested in the root's override is asked too",
		"{{<p}}{{$a}}[{{$b}}B{{/b}}]{{/a}}{{/p}}",
		(const char *const[]){"p", "{{$a}}A{{/a}}", NULL}, "b", "fill",
		"[fill]", "a;b;");
}

/* ---- errors ---- */

static void
check_error(const char *label, const char *tmpl, int line, int col, const char *msg)
{
	struct mst *t = (struct mst *)1;
	struct diag d = {0};
	int rc = mst_parse("e.mustache", tmpl, strlen(tmpl), &t, &d);

	is_int(rc, DM_EINPUT, "%s: DM_EINPUT", label);
	ok(t == NULL, "%s: no tree", label);
	if (d.n > 0) {
		is_str(d.items[0].file, "e.mustache", "%s: file", label);
		is_int(d.items[0].line, line, "%s: line", label);
		is_int(d.items[0].col, col, "%s: col", label);
		ok(strstr(d.items[0].msg, msg) != NULL, "%s: message '%s' contains '%s'", label,
			d.items[0].msg, msg);
	} else {
		ok(0, "%s: a diagnostic", label);
	}
	diag_free(&d);
}

static void
test_errors(void)
{
	struct diag d = {0};
	struct mst *t;
	char *deep;
	size_t i;

	check_error("unclosed tag", "ok\n  {{name", 2, 3, "unclosed tag: expected '}}'");
	check_error("unclosed triple", "{{{name}}", 1, 1, "expected '}}}'");
	check_error("unclosed section", "a\n{{#sec}}\nb", 2, 1,
		"unclosed section {{#sec}}: expected {{/sec}}");
	check_error("mismatched end", "{{#a}}\n  x {{/b}}", 2, 5, "expected {{/a}}, found {{/b}}");
	check_error("end without section", "x{{/a}}", 1, 2, "unexpected {{/a}}");
	check_error("bad delimiter change", "\n\n {{=<% =}}", 3, 2, "bad delimiter change");
	check_error("delimiter with =", "{{=a= b=}}", 1, 1, "bad delimiter change");
	check_error("empty tag name", "x {{}}", 1, 3, "empty tag name");
	check_error("empty section name", "{{# }}{{/}}", 1, 1, "empty tag name");
	check_error("two words in a tag", "{{a b}}", 1, 1, "expected one name");
	check_error("unclosed tag after a delimiter change", "{{=[ ]=}}\n[x", 2, 1, "expected ']'");
	check_error("unclosed parent", "{{<p}}{{$a}}{{/a}}", 1, 1, "unclosed section {{<p}}");

	ok(mst_parse("m", "{{}} {{ }}\n{{a b}}", 18, &t, &d) == DM_EINPUT && d.n == 3,
		"several name errors are reported at once (%zu)", d.n);
	diag_free(&d);

	deep = xmalloc(1002 * 6 + 1);
	deep[0] = '\0';
	for (i = 0; i < 1002; i++)
		strcat(deep, "{{#a}}");
	ok(mst_parse("deep", deep, strlen(deep), &t, &d) == DM_EINPUT && d.n == 1 &&
		strstr(d.items[0].msg, "nested deeper than"),
		"section nesting is limited");
	diag_free(&d);
	free(deep);
}

static void
test_recursion_limit(void)
{
	struct partials p;
	struct mst_hooks h = {0};
	struct mst *t;
	struct diag d = {0};
	struct buf out = {0};
	const char *src = "x\n  {{>self}}";
	int rc;

	memset(&p, 0, sizeof p);
	ok(mst_parse("self.mustache", src, strlen(src), &t, &d) == 0, "parse a self-including template");
	p.self = 1;
	p.self_t = t;
	h.partial = find_partial;
	h.ud = &p;
	buf_adds(&out, "keep");
	rc = mst_render(t, NULL, 0, &h, &out, &d);
	is_int(rc, DM_EINPUT, "runaway partial recursion is DM_EINPUT");
	ok(d.n == 1 && strstr(d.items[0].msg, "partial recursion deeper than 100"),
		"the message names the limit: %s", d.n ? d.items[0].msg : "");
	ok(d.n == 1 && d.items[0].line == 2 && d.items[0].col == 3 &&
		strcmp(d.items[0].file, "self.mustache") == 0, "the error is at NAME:2:3");
	is_str(out.data, "keep", "a failed render leaves the buffer as it was");
	diag_free(&d);

	p.self = 0;
	p.fail = DM_EIO;
	buf_clear(&out);
	rc = mst_render(t, NULL, 0, &h, &out, &d);
	is_int(rc, DM_EIO, "a partial hook's error code fails the render");
	ok(d.n == 1 && strstr(d.items[0].msg, "cannot load partial 'self'"),
		"the failing partial is named");
	diag_free(&d);

	src = "{{<self}}{{/self}}";
	mst_free(t);
	ok(mst_parse("self.mustache", src, strlen(src), &t, &d) == 0, "parse a self-inheriting template");
	p.fail = 0;
	p.self = 1;
	p.self_t = t;
	rc = mst_render(t, NULL, 0, &h, &out, &d);
	ok(rc == DM_EINPUT && d.n == 1 && strstr(d.items[0].msg, "deeper than 100"),
		"runaway parent recursion is stopped too");
	diag_free(&d);
	buf_free(&out);
	mst_free(t);
}

static void
test_has_block(void)
{
	struct mst *t;
	struct diag d = {0};
	const char *src = "{{$top}}{{/top}}{{#s}}{{$insec}}{{/insec}}{{/s}}"
		"{{<p}}{{$over}}{{$nested}}{{/nested}}{{/over}}{{/p}}{{>part}}";

	ok(mst_parse("hb", src, strlen(src), &t, &d) == 0, "parse for mst_has_block");
	ok(mst_has_block(t, "top", 3), "a top-level block");
	ok(mst_has_block(t, "insec", 5), "a block inside a section");
	ok(mst_has_block(t, "over", 4), "a block override inside a parent");
	ok(mst_has_block(t, "nested", 6), "a block nested in an override");
	ok(!mst_has_block(t, "p", 1), "a parent is not a block");
	ok(!mst_has_block(t, "s", 1), "a section is not a block");
	ok(!mst_has_block(t, "to", 2), "a prefix is not a block");
	ok(!mst_has_block(t, "part", 4), "partials are not searched");
	mst_free(t);
	diag_free(&d);
}

/* ---- threads ---- */

struct job {
	const struct mst *t;
	const struct val *v;
	struct partials *p;
	char *want;
	int bad;
};

static void *
job_run(void *arg)
{
	struct job *j = arg;
	struct mst_hooks h = {0};
	struct buf out = {0};
	struct diag d = {0};
	int i;

	h.partial = find_partial;
	h.ud = j->p;
	for (i = 0; i < 300; i++) {
		buf_clear(&out);
		if (mst_render(j->t, &j->v, 1, &h, &out, &d) != 0 || strcmp(out.data, j->want) != 0)
			j->bad++;
	}
	buf_free(&out);
	diag_free(&d);
	return NULL;
}

static void
test_threads(void)
{
	static const char *const defs[] = {
		"row", "  - {{name.snake}}: {{#tags}}{{.}} {{/tags}}{{^tags}}none{{/tags}}\n",
		"layout", "<{{$title}}T{{/title}}>\n  {{$body}}\n  {{/body}}\n", NULL
	};
	const char *src = "{{<layout}}\n{{$title}}{{name.plural}}{{/title}}\n{{$body}}\n"
		"{{#items}}\n{{>row}}\n{{/items}}\n{{/body}}\n{{/layout}}\n";
	struct partials p;
	struct val *v = data("{\"name\": \"Category\", \"items\": ["
		"{\"name\": \"OrderLine\", \"tags\": [\"a\", \"b\"]},"
		"{\"name\": \"HTTPServer\", \"tags\": []}]}");
	struct mst *t;
	struct diag d = {0};
	struct buf out = {0};
	struct mst_hooks h = {0};
	pthread_t th[4];
	struct job jobs[4];
	int i, bad = 0;

	partials_load(&p, defs);
	ok(mst_parse("threads", src, strlen(src), &t, &d) == 0, "parse for the thread test");
	h.partial = find_partial;
	h.ud = &p;
	is_int(mst_render(t, (const struct val *const[]){v}, 1, &h, &out, &d), 0, "reference render");
	is_str(out.data, "<Categories>\n    - order_line: a b \n    - http_server: none\n",
		"reference output");
	for (i = 0; i < 4; i++) {
		jobs[i].t = t;
		jobs[i].v = v;
		jobs[i].p = &p;
		jobs[i].want = out.data;
		jobs[i].bad = 0;
		pthread_create(&th[i], NULL, job_run, &jobs[i]);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		bad += jobs[i].bad;
	}
	is_int(bad, 0, "4 threads x 300 renders of one tree all match the reference");
	buf_free(&out);
	diag_free(&d);
	mst_free(t);
	partials_free(&p);
	val_free(v);
}

/* Cancellation: a use hook that counts calls and, at call `at`, sets the
 * flag (directly, or by raising a signal whose handler sets it). */
static volatile sig_atomic_t cancel_flag;

struct canceller {
	unsigned long calls, at, after;
	int by_signal;
	struct partials *p;
};

static void
on_usr1(int sig)
{
	(void)sig;
	cancel_flag = 1;
}

static void
cancel_use(void *ud, const struct val *v, enum val_use how)
{
	struct canceller *c = ud;

	(void)v;
	(void)how;
	if (cancel_flag)
		c->after++;
	if (++c->calls == c->at) {
		if (c->by_signal)
			raise(SIGUSR1);
		else
			cancel_flag = 1;
	}
}

static int
cancel_partial(void *ud, const char *name, size_t len, const struct mst **out)
{
	return find_partial(((struct canceller *)ud)->p, name, len, out);
}

/* run_cancel: render src (partials p1 = "p") over a 64-item list with
 * the cancel flag set at use call `at` (0: never). */
static int
run_cancel(const char *src, const char *p1, unsigned long at, int by_signal,
	struct canceller *c, struct buf *out, struct diag *d)
{
	struct partials p;
	const char *defs[] = {"p", p1, NULL};
	struct mst_hooks h = {0};
	struct buf list = {0};
	struct mst *t;
	struct val *v;
	const struct val *stack[1];
	int i, rc;

	buf_adds(&list, "{\"a\": [");
	for (i = 0; i < 64; i++)
		buf_printf(&list, "%s%d", i ? "," : "", i);
	buf_adds(&list, "]}");
	v = data(list.data);
	stack[0] = v;
	partials_load(&p, p1 ? defs : NULL);
	memset(c, 0, sizeof *c);
	c->at = at;
	c->by_signal = by_signal;
	cancel_flag = 0;
	c->p = &p;
	h.partial = cancel_partial;
	h.use = cancel_use;
	h.ud = c;
	h.cancel = &cancel_flag;
	if (mst_parse("c.mustache", src, strlen(src), &t, d) != 0)
		abort();
	rc = mst_render(t, stack, 1, &h, out, d);
	mst_free(t);
	partials_free(&p);
	val_free(v);
	buf_free(&list);
	return rc;
}

static void
test_cancel(void)
{
	/* 64^4 = 16.8M iterations: past the work budget if it ran on. */
	static const char deep[] = "{{#a}}{{#a}}{{#a}}{{#a}}x{{.}}{{/a}}{{/a}}{{/a}}{{/a}}";
	struct sigaction sa;
	struct canceller c;
	struct diag d = {0};
	struct buf out = {0}, want = {0};
	int i, rc;

	for (i = 0; i < 64; i++)
		buf_printf(&want, "%d,", i);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);

	rc = run_cancel("{{#a}}{{.}},{{/a}}", NULL, 0, 0, &c, &out, &d);
	is_int(rc, 0, "cancel flag given but never set: the render completes");
	is_str(out.data, want.data, "... with all its output");
	buf_clear(&out);
	buf_free(&want);

	buf_adds(&out, "keep");
	rc = run_cancel(deep, NULL, 100000, 0, &c, &out, &d);
	is_int(rc, DM_EINTR, "flag set mid-way through a runaway render: DM_EINTR");
	ok(c.after < 100, "it stops within a few steps (%lu uses after the flag)", c.after);
	ok(c.calls < 100100, "... long before the work budget (%lu uses in all)", c.calls);
	is_int((long long)d.n, 0, "an interruption is not an input error: no message");
	is_str(out.data, "keep", "the output buffer is as it was");

	rc = run_cancel(deep, NULL, 5000, 1, &c, &out, &d);
	is_int(rc, DM_EINTR, "set by a signal handler: DM_EINTR");
	ok(cancel_flag == 1 && c.after < 100, "it stops within a few steps (%lu after)", c.after);

	rc = run_cancel("{{#a}}{{>p}}{{/a}}",
		"{{<q}}{{/q}}{{#a}}{{$b}}{{#a}}{{#a}}y{{/a}}{{/a}}{{/b}}{{/a}}", 3000, 0, &c, &out, &d);
	is_int(rc, DM_EINTR, "inside a partial, a parent and a block: DM_EINTR comes out");
	ok(c.after < 100 && d.n == 0, "promptly, without a message (%lu after)", c.after);
	is_str(out.data, "keep", "the output buffer is still as it was");

	cancel_flag = 1;
	{
		struct mst *t;
		struct mst_hooks h = {0};

		h.cancel = &cancel_flag;
		ok(mst_parse("n.mustache", "text", 4, &t, &d) == 0, "parse");
		rc = mst_render(t, NULL, 0, &h, &out, &d);
		is_int(rc, DM_EINTR, "flag already set: even plain text is not rendered");
		is_str(out.data, "keep", "nothing appended");
		mst_free(t);
	}
	cancel_flag = 0;
	signal(SIGUSR1, SIG_DFL);
	buf_free(&out);
	diag_free(&d);
}

/* ---- where render errors are placed ---- */

/* first_error: "FILE:LINE:COL: MESSAGE" of d's first item (malloc'd). */
static char *
first_error(const struct diag *d)
{
	if (d->n == 0)
		return xstrdup("(no message)");
	return xasprintf("%s:%d:%d: %s", d->items[0].file ? d->items[0].file : "(null)",
		d->items[0].line, d->items[0].col, d->items[0].msg);
}

/* budget_case: render tmpl (named t.mustache, partials defs) over a list
 * a of 3000 items; the step budget must run out with the error want. */
static void
budget_case(const char *label, const char *tmpl, const char *const *defs, const char *want)
{
	struct partials p;
	struct mst_hooks h = {0};
	struct diag d = {0};
	struct buf list = {0}, out = {0};
	struct mst *t;
	struct val *v;
	const struct val *stack[1];
	char *got;
	int i, rc;

	buf_adds(&list, "{\"a\": [");
	for (i = 0; i < 3000; i++)
		buf_printf(&list, "%s%d", i ? "," : "", i);
	buf_adds(&list, "]}");
	v = data(list.data);
	stack[0] = v;
	partials_load(&p, defs);
	h.partial = find_partial;
	h.ud = &p;
	if (mst_parse("t.mustache", tmpl, strlen(tmpl), &t, &d) != 0)
		abort();
	buf_adds(&out, "keep");
	rc = mst_render(t, stack, 1, &h, &out, &d);
	is_int(rc, DM_EINPUT, "%s: the step budget stops the render", label);
	got = first_error(&d);
	is_str(got, want, "%s: the error names the tag being expanded", label);
	is_int((long long)d.n, 1, "%s: one message", label);
	is_str(out.data, "keep", "%s: the output buffer is as it was", label);
	free(got);
	mst_free(t);
	partials_free(&p);
	val_free(v);
	buf_free(&list);
	buf_free(&out);
	diag_free(&d);
}

/* lines: head, then n lines "x", then tail (malloc'd). */
static char *
lines(const char *head, int n, const char *tail)
{
	struct buf b = {0};
	int i;

	buf_adds(&b, head);
	for (i = 0; i < n; i++)
		buf_adds(&b, "x\n");
	buf_adds(&b, tail);
	return buf_release(&b);
}

static void
test_budget_position(void)
{
	char *tmpl, *part;
	const char *defs[] = {"p", NULL, NULL};

	/* 3000 x 3000 text lines: the budget runs out on a text node, which
	 * has no tag of its own; the section repeating it is to blame. */
	tmpl = lines("{{#a}}\n", 3000, "{{/a}}\n");
	budget_case("text in a section", tmpl, NULL,
		"t.mustache:1:1: template expansion takes more than 8388608 steps");
	free(tmpl);

	tmpl = lines("intro\n  {{#a}}\n", 3000, "  {{/a}}\n");
	budget_case("a section that does not start its line", tmpl, NULL,
		"t.mustache:2:3: template expansion takes more than 8388608 steps");
	free(tmpl);

	/* the text is in a partial: the partial tag in the caller */
	part = lines("", 3000, "");
	defs[1] = part;
	budget_case("text of a partial", "{{#a}}\n  {{>p}}\n{{/a}}\n", defs,
		"t.mustache:2:3: template expansion takes more than 8388608 steps");

	/* the text is a block override: the override, where it is written */
	tmpl = lines("{{<p}}\n{{$b}}\n", 3000, "{{/b}}\n{{/p}}\n");
	defs[1] = "{{#a}}\n{{$b}}{{/b}}\n{{/a}}\n";
	budget_case("text of a block override", tmpl, defs,
		"t.mustache:2:1: template expansion takes more than 8388608 steps");
	free(tmpl);

	/* the default body of a block in a partial */
	defs[1] = "{{#a}}\n{{$b}}\ny\n{{/b}}\n{{/a}}\n";
	tmpl = lines("{{#a}}\n{{>p}}\n", 0, "{{/a}}\n");
	budget_case("a block's own body, in a partial, in a section", tmpl, defs,
		"p:2:1: template expansion takes more than 8388608 steps");
	free(tmpl);

	/* tags run out the budget themselves: each is its own position */
	budget_case("variables in nested sections", "{{#a}}{{#a}}{{.}}{{/a}}{{/a}}", NULL,
		"t.mustache:1:13: template expansion takes more than 8388608 steps");
	free(part);
}

/* parse_at_case: mst_parse_at at DMfile:12:15; the first error. */
static void
parse_at_case(const char *label, const char *src, const char *want)
{
	struct srcpos at = {"DMfile", 12, 15};
	struct mst *t = NULL;
	struct diag d = {0};
	char *got;

	is_int(mst_parse_at(&at, src, strlen(src), &t, &d), DM_EINPUT, "%s: DM_EINPUT", label);
	got = first_error(&d);
	is_str(got, want, "%s: placed in the file", label);
	free(got);
	mst_free(t);
	diag_free(&d);
}

static void
test_parse_at(void)
{
	struct srcpos at = {"DMfile", 5, 10};
	struct partials p;
	struct mst_hooks h = {0};
	struct mst *t;
	struct diag d = {0};
	struct buf out = {0};
	char *got;

	parse_at_case("an error on the first line", "Implement {{#x}} now",
		"DMfile:12:25: unclosed section {{#x}}: expected {{/x}} before the end of the file");
	parse_at_case("an error on a later line", "a\n {{b c}}",
		"DMfile:13:2: expected one name in the tag, found 'b c'");
	parse_at_case("a mismatched end quoting its opening tag", "{{#x}}\n{{/y}}",
		"DMfile:13:1: expected {{/x}}, found {{/y}} ({{#x}} is at 12:15)");

	ok(mst_parse_at(&at, "x {{>self}}", 11, &t, &d) == 0, "a self-including value parses");
	memset(&p, 0, sizeof p);
	p.self = 1;
	p.self_t = t;
	h.partial = find_partial;
	h.ud = &p;
	is_int(mst_render(t, NULL, 0, &h, &out, &d), DM_EINPUT, "its render fails");
	got = first_error(&d);
	is_str(got, "DMfile:5:12: partial recursion deeper than 100 at {{>self}}",
		"a render error is placed in the file too");
	is_str(mst_name(t), "DMfile", "the template's name is the file");
	free(got);
	buf_free(&out);
	diag_free(&d);
	mst_free(t);
}

/* Names quoted in messages are cut and escaped (text_snip). */
static void
test_quoting(void)
{
	struct buf long_name = {0}, src = {0}, want = {0};
	struct mst *t;
	struct diag d = {0};
	char *got;
	int i;

	check_error("a control byte in a name", "{{a\x01 b}}", 1, 1,
		"found 'a\\x01 b'");
	check_error("a tab in a name", "{{a\tb}}", 1, 1, "found 'a\\x09b'");
	check_error("bytes that are not UTF-8", "{{#\xff}}{{/\xfe}}", 1, 7,
		"expected {{/\\xFF}}, found {{/\\xFE}} ({{#\\xFF}} is at 1:1)");

	/* "a" and 30 two-byte characters: 48 bytes would split one */
	buf_addc(&long_name, 'a');
	for (i = 0; i < 30; i++)
		buf_adds(&long_name, "\xc3\xa9");
	buf_printf(&src, "{{#%s}}", long_name.data);
	buf_adds(&want, "e.mustache:1:1: unclosed section {{#");
	buf_add(&want, long_name.data, 47);
	buf_adds(&want, "...}}: expected {{/");
	buf_add(&want, long_name.data, 47);
	buf_adds(&want, "...}} before the end of the file");
	ok(mst_parse("e.mustache", src.data, src.len, &t, &d) == DM_EINPUT, "a long name: refused");
	got = first_error(&d);
	is_str(got, want.data, "a long name is cut at a character boundary, with ...");
	free(got);
	diag_free(&d);

	buf_clear(&src);
	buf_printf(&src, "{{%s x}}", long_name.data);
	ok(mst_parse("e.mustache", src.data, src.len, &t, &d) == DM_EINPUT, "two long words: refused");
	got = first_error(&d);
	buf_clear(&want);
	buf_adds(&want, "e.mustache:1:1: expected one name in the tag, found '");
	buf_add(&want, long_name.data, 47);
	buf_adds(&want, "...'");
	is_str(got, want.data, "two long words: the quote is cut");
	free(got);
	diag_free(&d);

	check_error("a long delimiter change",
		"{{=<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<< >>=}}", 1, 1,
		"found '<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<...'");
	buf_free(&long_name);
	buf_free(&src);
	buf_free(&want);
}

int
main(void)
{
	test_core();
	test_inheritance();
	test_hooks();
	test_stack_and_null_hooks();
	test_block_hook();
	test_errors();
	test_recursion_limit();
	test_has_block();
	test_threads();
	test_cancel();
	test_budget_position();
	test_parse_at();
	test_quoting();
	return done_testing();
}
