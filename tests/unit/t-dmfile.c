/* t-dmfile.c - the DMfile reader: structure, lexical rules, every error
 * with its position, canonical text, includes. */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 /* realpath */
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dmfile.h"
#include "tap.h"

static int inconsistent;

static char *
diag_text(const struct diag *d)
{
	struct buf b = {0};
	size_t i;

	for (i = 0; i < d->n; i++)
		buf_printf(&b, "%s:%d:%d: %s\n", d->items[i].file ? d->items[i].file : "",
			d->items[i].line, d->items[i].col, d->items[i].msg);
	return buf_release(&b);
}

/* check_result: the result contract, for every call: errors <=> DM_EINPUT
 * and no dmfile. */
static void
check_result(int rc, const struct dmfile *f, const struct diag *d)
{
	if (d->nerrors > 0 ? rc != DM_EINPUT || f : rc != 0 || !f)
		inconsistent++;
}

/* parse: text read without a project; NULL (and a note) on errors. */
static struct dmfile *
parse(const char *text, size_t len)
{
	struct diag d = {0};
	struct dmfile *f;
	int rc = dmfile_parse("DMfile", text, len, NULL, NULL, &f, &d);

	check_result(rc, f, &d);
	if (d.n) {
		char *s = diag_text(&d);

		note("unexpected diagnostics:\n%s", s);
		free(s);
	}
	diag_free(&d);
	return f;
}

/* errs: the diagnostics for text, one "FILE:LINE:COL: msg" a line. */
static char *
errs_len(const char *text, size_t len)
{
	struct diag d = {0};
	struct dmfile *f;
	int rc = dmfile_parse("DMfile", text, len, NULL, NULL, &f, &d);
	char *s = diag_text(&d);

	check_result(rc, f, &d);
	dmfile_free(f);
	diag_free(&d);
	return s;
}

static void
err_is(const char *text, const char *want, const char *name)
{
	char *got = errs_len(text, strlen(text));

	is_str(got, want, "error: %s", name);
	free(got);
}

static const char *
canon_of(const char *text, size_t i)
{
	static char last[4096];
	struct dmfile *f = parse(text, strlen(text));

	last[0] = '\0';
	if (f && i < f->ndecls)
		snprintf(last, sizeof(last), "%s", f->decls[i].canon);
	dmfile_free(f);
	return last;
}

static void
wfile(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	if (!fp || fputs(text, fp) < 0 || fclose(fp) != 0) {
		perror(path);
		exit(1);
	}
}

static const char spec_example[] =
	"spec = shop.yaml                      # one or more spec files, merged in order\n"
	"mode = hybrid                         # safe | hybrid | research (default hybrid)\n"
	"llm  = anthropic claude-sonnet-4-5    # provider model [, fallback provider model ...]\n"
	"include std/python-fastapi/pack.dm    # a DMfile fragment; relative paths resolve from the "
	"including file\n"
	"\n"
	"atom app/models/{{name.snake}}.py     # output path, Mustache-rendered per element\n"
	"    foreach  = entities               # one atom per element of a spec list or map\n"
	"    template = std/python-fastapi/model.py.mustache\n"
	"    check    = syntax\n"
	"\n"
	"atom app/models/__init__.py\n"
	"    template = templates/models_init.py.mustache      # iterates {{#entities}} itself\n"
	"\n"
	"atom app/services/order_flow.py\n"
	"    template = skeletons/order_flow.py.mustache\n"
	"    with     = order=entities.Order flow=flows.create_order\n"
	"    after    = app/models/order.py    # ordering; its output may be read\n"
	"    slot create_order\n"
	"        pattern = flow.create_order\n"
	"        prompt  = Implement {{flow.name}} for {{order.name}}: check stock for every line "
	"...\n"
	"        check   = syntax\n";

static const char pack_dm[] =
	"# the python-fastapi pack\n"
	"contract models_have_classes\n"
	"  foreach = entities\n"
	"  file = app/models/{{name.snake}}.py\n"
	"  query = (class_definition name: (identifier) @n (#eq? @n \"{{name.pascal}}\"))\n";

static void
test_spec_example(void)
{
	struct diag d = {0};
	struct dmfile *f = NULL;
	const struct dm_decl *a, *s, *c;
	int rc;

	wfile("proj/DMfile", spec_example);
	rc = dmfile_load("proj/DMfile", "proj", "stdlib", &f, &d);
	check_result(rc, f, &d);
	is_int(rc, 0, "spec example: loads");
	if (!f) {
		char *t = diag_text(&d);

		note("%s", t);
		free(t);
		diag_free(&d);
		return;
	}
	is_int((long long)f->nvars, 3, "spec example: 3 variables");
	is_str(f->vars[0].key, "spec", "var 1 key");
	is_str(f->vars[0].value, "shop.yaml", "var 1 value, comment dropped");
	is_str(dm_var(f, "mode")->value, "hybrid", "mode");
	is_str(dm_var(f, "llm")->value, "anthropic claude-sonnet-4-5", "llm kept as text");
	is_int(f->vars[2].vpos.line * 100 + f->vars[2].vpos.col, 308, "llm value at 3:8");
	ok(dm_var(f, "stdlib") == NULL, "no stdlib variable");
	is_int((long long)f->nfiles, 2, "two files read");
	is_str(f->files[0], "proj/DMfile", "top file as given");
	is_str(f->files[1], "stdlib/python-fastapi/pack.dm", "std/ include resolved into the stdlib");
	is_int((long long)f->ndecls, 4, "contract from the pack + 3 atoms");

	c = &f->decls[0];
	is_str(c->kind, "contract", "included contract comes first (textual include)");
	is_str(c->arg, "models_have_classes", "contract name");
	ok(c->pos.file == f->files[1], "contract position points into files[1]");
	is_int(c->pos.line, 2, "contract at line 2 of the pack");
	is_str(dm_get(c, "query")->value,
		"(class_definition name: (identifier) @n (#eq? @n \"{{name.pascal}}\"))",
		"'(#' is not a comment");

	a = &f->decls[1];
	is_str(a->kind, "atom", "atom 1 kind");
	is_str(a->arg, "app/models/{{name.snake}}.py", "atom 1 path, comment dropped");
	ok(a->pos.file == f->files[0], "atom position points into files[0]");
	is_int(a->pos.line * 100 + a->pos.col, 601, "atom 1 at 6:1");
	is_int(a->argpos.line * 100 + a->argpos.col, 606, "atom 1 arg at 6:6");
	is_int((long long)a->nprops, 3, "atom 1 has 3 properties");
	is_str(a->props[0].key, "foreach", "prop order 1");
	is_str(a->props[0].value, "entities", "foreach value");
	is_str(a->props[1].key, "template", "prop order 2");
	is_str(a->props[1].value, "std/python-fastapi/model.py.mustache", "template value");
	is_str(a->props[2].key, "check", "prop order 3");
	is_int(a->props[1].pos.line * 100 + a->props[1].pos.col, 805, "template key at 8:5");
	is_int(a->props[1].vpos.line * 100 + a->props[1].vpos.col, 816, "template value at 8:16");
	is_int((long long)a->nchildren, 0, "atom 1 has no slots");

	a = &f->decls[2];
	is_str(a->arg, "app/models/__init__.py", "atom 2 path");
	is_str(dm_get(a, "template")->value, "templates/models_init.py.mustache",
		"comment with {{#entities}} dropped after spaces");

	a = &f->decls[3];
	is_str(a->arg, "app/services/order_flow.py", "atom 3 path");
	is_str(dm_get(a, "with")->value, "order=entities.Order flow=flows.create_order",
		"with keeps its inner '='");
	is_str(dm_get(a, "after")->value, "app/models/order.py", "after");
	ok(dm_get(a, "pattern") == NULL, "dm_get of an absent key");
	is_int((long long)a->nchildren, 1, "atom 3 has one slot");
	if (a->nchildren == 1) {
		s = &a->children[0];
		is_str(s->kind, "slot", "slot kind");
		is_str(s->arg, "create_order", "slot name");
		is_int(s->argpos.line * 100 + s->argpos.col, 1810, "slot name at 18:10");
		is_int((long long)s->nprops, 3, "slot has 3 properties");
		is_str(dm_get(s, "pattern")->value, "flow.create_order", "slot pattern");
		is_str(dm_get(s, "prompt")->value,
			"Implement {{flow.name}} for {{order.name}}: check stock for every line ...",
			"slot prompt");
		is_str(dm_get(s, "check")->value, "syntax", "slot check");
		is_str(s->canon,
			"slot create_order\n\tpattern=flow.create_order\n"
			"\tprompt=Implement {{flow.name}} for {{order.name}}: check stock for every "
			"line ...\n\tcheck=syntax\n",
			"slot canon");
	}
	is_str(a->canon,
		"atom app/services/order_flow.py\n"
		"\ttemplate=skeletons/order_flow.py.mustache\n"
		"\twith=order=entities.Order flow=flows.create_order\n"
		"\tafter=app/models/order.py\n"
		"\tslot create_order\n"
		"\t\tpattern=flow.create_order\n"
		"\t\tprompt=Implement {{flow.name}} for {{order.name}}: check stock for every line ...\n"
		"\t\tcheck=syntax\n",
		"atom canon includes its slots");
	dmfile_free(f);
	diag_free(&d);
}

static void
test_variables(void)
{
	static const char t[] = "spec = a.yaml\nspec=b.yaml c.yaml\nmode=safe\n";
	struct dmfile *f = parse(t, strlen(t));

	ok(f != NULL, "repeated spec is fine");
	if (f) {
		is_int((long long)f->nvars, 3, "three variable lines");
		is_str(dm_var(f, "spec")->value, "b.yaml c.yaml", "dm_var gives the last spec");
		is_str(f->vars[0].value, "a.yaml", "first spec kept");
		is_str(dm_var(f, "mode")->value, "safe", "mode=safe without spaces");
	}
	dmfile_free(f);
	err_is("spec = a\nstdlib = /usr/share\n",
		"DMfile:2:1: unknown variable 'stdlib'; expected spec, mode or llm\n",
		"stdlib is not a variable");
	err_is("color = red\n", "DMfile:1:1: unknown variable 'color'; expected spec, mode or llm\n",
		"unknown variable");
	err_is("mode = fast\n", "DMfile:1:8: expected safe, hybrid or research, found 'fast'\n",
		"bad mode");
	err_is("mode = Safe\n", "DMfile:1:8: expected safe, hybrid or research, found 'Safe'\n",
		"mode is case-sensitive");
	err_is("mode = safe\nllm = a b\n  \nmode = hybrid\n",
		"DMfile:4:1: variable 'mode' set twice (first at DMfile:1:1)\n", "mode set twice");
	err_is("llm = a b\nllm = c d\n", "DMfile:2:1: variable 'llm' set twice (first at DMfile:1:1)\n",
		"llm set twice");
	err_is("spec =\n", "DMfile:1:7: expected a value after '='\n", "empty value");
	err_is("spec =   # nothing\n", "DMfile:1:7: expected a value after '='\n",
		"value that is only a comment");
	err_is("mode\n", "DMfile:1:5: expected '=' after 'mode', found the end of the line\n",
		"variable without '='");
	err_is("mode: safe\n", "DMfile:1:5: expected '=' after 'mode', found ': safe'\n",
		"YAML habit");
}

static void
test_errors(void)
{
	err_is("atm app/x.py\n    template = t\n    bogus = 1\natom y\n    template = t\n",
		"DMfile:1:1: unknown keyword 'atm'; expected include, atom or contract, or 'NAME = "
		"VALUE'\n",
		"unknown keyword; its indented lines are skipped");
	err_is("= x\n", "DMfile:1:1: expected a variable, include or a declaration, found '= x'\n",
		"line without a name");
	err_is("atom\n",
		"DMfile:1:5: expected an output path after 'atom'\n"
		"DMfile:1:1: atom has no template; expected a line 'template = ...' under it\n",
		"atom without its path");
	err_is("atom   # only a comment\n    template = t\n",
		"DMfile:1:5: expected an output path after 'atom'\n", "atom whose path is a comment");
	err_is("atom/x.py\n", "DMfile:1:5: expected a space after 'atom', found '/x.py'\n",
		"atom glued to its path");
	err_is("atom = x\n", "DMfile:1:6: expected 'atom PATH', found '='\n", "atom as a variable");
	err_is("atom a.py\n    foreach = x\n",
		"DMfile:1:1: atom 'a.py' has no template; expected a line 'template = ...' under it\n",
		"atom without template");
	err_is("atom a.py\n    template = t\n    slot body\n        check = syntax\n",
		"DMfile:3:5: slot 'body' has no prompt; expected a line 'prompt = ...' under it\n",
		"slot without prompt");
	err_is("contract c\n    foreach = entities\n",
		"DMfile:1:1: contract 'c' has no file; expected a line 'file = ...' under it\n"
		"DMfile:1:1: contract 'c' has no query; expected a line 'query = ...' under it\n",
		"contract without file and query");
	err_is("contract\n    file = f\n    query = q\n",
		"DMfile:1:9: expected a contract name after 'contract'\n", "contract without name");
	err_is("contract c\n  file = f\n  query = q\ncontract c\n  file = g\n  query = q\n",
		"DMfile:4:10: contract 'c' declared twice (first at DMfile:1:10)\n",
		"contract declared twice");
	err_is("atom a\n  template = t\n  slot\n    prompt = p\n",
		"DMfile:3:7: expected a slot name after 'slot'\n", "slot without name");
	err_is("atom a\n  template = t\n  slot 2fast\n    prompt = p\n  slot my-slot\n    prompt = p\n",
		"DMfile:3:8: expected a slot name (letters, digits and '_', not starting with a digit), "
		"found '2fast'\n"
		"DMfile:5:8: expected a slot name (letters, digits and '_', not starting with a digit), "
		"found 'my-slot'\n",
		"slot names must be identifiers");
	err_is("atom a\n  template = t\n  slot s\n    prompt = p\n  slot s\n    prompt = q\n",
		"DMfile:5:8: slot 's' declared twice (first at DMfile:3:8)\n", "duplicate slot");
	err_is("atom a\n  template = t\n  slot s\n    prompt = p\natom b\n  template = t\n  slot s\n"
	       "    prompt = p\n",
		"", "the same slot name in two atoms is fine");
	err_is("atom a\n    template = t\n    temp late = x\n",
		"DMfile:3:5: unknown property 'temp' in atom; expected foreach, template, with, "
		"after, check, pattern, suite, timeout or slot\n",
		"unknown word in atom");
	err_is("atom a\n    template = t\n    stdlib = x\n",
		"DMfile:3:5: unknown property 'stdlib' in atom; expected foreach, template, with, "
		"after, check, pattern, suite or timeout\n",
		"unknown property in atom");
	err_is("atom a\n  template = t\n  slot s\n    prompt = p\n    foreach = x\n",
		"DMfile:5:5: unknown property 'foreach' in slot; expected pattern, prompt or check\n",
		"unknown property in slot");
	err_is("contract c\n  file = f\n  query = q\n  template = t\n",
		"DMfile:4:3: unknown property 'template' in contract; expected foreach, file, query "
		"or optional\n",
		"unknown property in contract");
	err_is("atom a\n  template = t\n  atom b\n",
		"DMfile:3:3: unknown property 'atom' in atom; expected foreach, template, with, "
		"after, check, pattern, suite, timeout or slot\n",
		"atom nested in atom");
	err_is("atom a\n  template = t\n  include x.dm\n",
		"DMfile:3:3: unknown property 'include' in atom; expected foreach, template, with, "
		"after, check, pattern, suite, timeout or slot\n",
		"include inside a declaration");
	err_is("atom a\n    template x.mustache\n",
		"DMfile:2:14: expected '=' after 'template', found 'x.mustache'\n"
		"DMfile:1:1: atom 'a' has no template; expected a line 'template = ...' under it\n",
		"property without '='");
	err_is("atom a\n    template =\n",
		"DMfile:2:15: expected a value after '='\n", "property with empty value");
	err_is("atom a\n    template=# not a comment\n", "", "'#' right after '=' is text");
	err_is("atom a\n    template = t\n    template = u\n",
		"DMfile:3:5: property 'template' set twice in this atom (first at DMfile:2:5)\n",
		"template twice");
	err_is("atom a\n    template = t\n    pattern = p\n    pattern = q\n    slot s\n"
	       "        prompt = p\n        prompt = q\n",
		"DMfile:4:5: property 'pattern' set twice in this atom (first at DMfile:3:5)\n"
		"DMfile:7:9: property 'prompt' set twice in this slot (first at DMfile:6:9)\n",
		"single properties set twice in atom and slot");
	err_is("atom a\n  template = t\n  after = x\n  after = y\n  check = syntax\n  check = "
	       "no-markers\n",
		"", "after and check may repeat");
	err_is("contract c\n  file = f\n  query = q1\n  query = q2\n  optional = o1\n  optional = "
	       "o2\n",
		"", "query and optional may repeat");
	err_is("atom a\n  slot s\n    prompt = p\n  template = t\n", "",
		"an atom property after a slot");
	err_is("atom a\n  template = t\n  slot s\n    prompt = p\n  slot t\n    prompt = q\n", "",
		"two slots");
}

static void
test_indentation(void)
{
	err_is("  spec = a\n", "DMfile:1:3: unexpected indentation: no atom or contract above this "
				   "line\n",
		"indented variable at top level");
	err_is("spec = a\n    template = t\n    check = x\natom a\n  template = t\n",
		"DMfile:2:5: unexpected indentation: no atom or contract above this line\n",
		"property at top level reported once");
	err_is("atom a\n    template = t\n  check = syntax\n    pattern = p\n",
		"DMfile:3:3: bad indentation: expected 4 spaces (as on line 2), found 2\n",
		"shallower property; the atom stays open");
	err_is("atom a\n    template = t\n        check = syntax\n",
		"DMfile:3:9: bad indentation: expected 4 spaces (as on line 2), found 8\n",
		"deeper property without a slot");
	err_is("atom a\n  template = t\n  slot s\n      prompt = p\n    check = syntax\n",
		"DMfile:5:5: bad indentation: expected 6 spaces (as on line 4), found 4\n",
		"slot property between levels");
	err_is("atom a\n  template = t\n  slot s\n  prompt = p\n",
		"DMfile:3:3: slot 's' has no prompt; expected a line 'prompt = ...' under it\n"
		"DMfile:4:3: unknown property 'prompt' in atom; expected foreach, template, with, "
		"after, check, pattern, suite or timeout\n",
		"slot property not indented under the slot");
	err_is("atom a\n\ttemplate = t\n",
		"DMfile:2:1: tab in indentation; expected spaces\n"
		"DMfile:1:1: atom 'a' has no template; expected a line 'template = ...' under it\n",
		"tab at 2:1");
	err_is("atom a\n  template = t\n  \t check = x\n",
		"DMfile:3:3: tab in indentation; expected spaces\n", "tab after spaces, at its column");
	err_is("atom a\n  template = t\t# tab before a comment\n\t\n  \t  # indented comment\n", "",
		"tabs elsewhere, on blank or comment lines are fine");
	err_is("atom a\n    template = t\n  # a comment at another indentation\n"
	       "        # and another\n    check = syntax\n",
		"", "comment lines do not take part in indentation");
}

static void
test_bytes(void)
{
	static const char nul[] = "spec = a\nmode = sa\0fe\n";
	static const char two[] = "spec = \xff\nllm = x\xc3\n";
	char *got;

	err_is("spec = caf\xc3\xa9\n", "", "valid UTF-8 is fine");
	err_is("spec = a\xff" "b\n", "DMfile:1:9: invalid UTF-8 byte 0xFF; expected UTF-8 text\n",
		"bad byte");
	err_is("spec = \xc0\x80\n", "DMfile:1:8: invalid UTF-8 byte 0xC0; expected UTF-8 text\n",
		"overlong NUL");
	err_is("spec = \xed\xa0\x80\n",
		"DMfile:1:8: invalid UTF-8 byte 0xED; expected UTF-8 text\n", "surrogate");
	err_is("spec = \xf4\x90\x80\x80\n",
		"DMfile:1:8: invalid UTF-8 byte 0xF4; expected UTF-8 text\n", "above U+10FFFF");
	err_is("spec = ab\xe2\x82\n", "DMfile:1:10: invalid UTF-8 byte 0xE2; expected UTF-8 text\n",
		"truncated at the end of the line");
	got = errs_len(nul, sizeof(nul) - 1);
	is_str(got,
		"DMfile:2:10: NUL byte in the file; expected text\n"
		"DMfile:2:8: expected safe, hybrid or research, found 'sa?fe'\n",
		"NUL byte with its position; parsing goes on");
	free(got);
	got = errs_len(two, sizeof(two) - 1);
	is_str(got,
		"DMfile:1:8: invalid UTF-8 byte 0xFF; expected UTF-8 text\n"
		"DMfile:2:8: invalid UTF-8 byte 0xC3; expected UTF-8 text\n",
		"one error per bad line");
	free(got);
}

static void
test_comments(void)
{
	static const char t[] =
		"# a comment line\n"
		"   # an indented comment line\n"
		"spec = a.yaml # trailing\n"
		"llm = x#y\n"
		"atom out/\\#1.py\n"
		"    template = t.mustache\t# after a tab\n"
		"    check = cmd:grep \\# {{out}}\n"
		"    pattern = a\\\\#b\n"
		"    slot s\n"
		"        prompt = {{#items}}{{name}}{{/items}} C:\\dir\\x\n"
		"#\n";
	struct dmfile *f = parse(t, strlen(t));

	ok(f != NULL, "comments: parses");
	if (!f)
		return;
	is_str(dm_var(f, "spec")->value, "a.yaml", "trailing comment dropped");
	is_str(dm_var(f, "llm")->value, "x#y", "'#' inside a word is text");
	is_str(f->decls[0].arg, "out/#1.py", "\\# in an argument");
	is_str(dm_get(&f->decls[0], "template")->value, "t.mustache", "comment after a tab");
	is_str(dm_get(&f->decls[0], "check")->value, "cmd:grep # {{out}}", "\\# after a space");
	is_str(dm_get(&f->decls[0], "pattern")->value, "a\\#b", "\\\\# is a backslash and \\#");
	is_str(dm_get(&f->decls[0].children[0], "prompt")->value,
		"{{#items}}{{name}}{{/items}} C:\\dir\\x", "Mustache sections and other backslashes");
	is_int(dm_get(&f->decls[0], "check")->vpos.col, 13, "value column unchanged by \\#");
	dmfile_free(f);
}

static void
test_continuation(void)
{
	static const char t[] =
		"llm = anthropic claude-sonnet-4-5 \\\n"
		"      openai gpt-4o\n"
		"atom a.py\n"
		"    template = t\n"
		"    slot s\n"
		"        prompt = Implement \\\n"
		"                 the order flow,\\\n"
		"\t\t  step by step   \\   \n"
		"                 carefully\n"
		"    check = syntax \\  # a comment after the backslash\n"
		"            more\n"
		"    pattern = p # a comment ends the line here \\\n"
		"spec = last \\";
	static const char crlf[] = "spec = a\r\natom x\r\n  template = t \\\r\n    u\r\n";
	struct dmfile *f = parse(t, strlen(t));

	ok(f != NULL, "continuation: parses");
	if (f) {
		const struct dm_decl *a = &f->decls[0];

		is_str(dm_var(f, "llm")->value, "anthropic claude-sonnet-4-5 openai gpt-4o",
			"two lines joined by one space");
		is_str(dm_get(&a->children[0], "prompt")->value,
			"Implement the order flow, step by step carefully",
			"four lines; tabs in continuation indentation are fine");
		is_str(dm_get(a, "check")->value, "syntax more", "backslash before a comment");
		is_str(dm_get(a, "pattern")->value, "p", "backslash inside a comment is a comment");
		is_str(dm_var(f, "spec")->value, "last", "continuation at the end of the input");
		is_int((long long)f->nvars, 2, "the pattern line did not swallow the spec line");
	}
	dmfile_free(f);
	f = parse(crlf, strlen(crlf));
	ok(f && strcmp(dm_get(&f->decls[0], "template")->value, "t u") == 0, "CRLF line endings");
	dmfile_free(f);
	err_is("mode = \\\n    fast\n", "DMfile:2:5: expected safe, hybrid or research, found "
					   "'fast'\n",
		"error position on a continuation line");
	err_is("atom a\n    template = t \\\n  more\n    check = x\n", "",
		"continuation indentation does not count");
	err_is("atom a\n    template = t\n    check = syntax \\\n\n    pattern = p\n", "",
		"continuation into a blank line ends there");
}

static void
test_canon(void)
{
	static const char base[] =
		"atom app/{{name.snake}}.py\n"
		"    foreach = entities\n"
		"    template = t.mustache\n"
		"    check = syntax\n"
		"    slot body\n"
		"        prompt = Write {{name}} well\n";
	static const char same[] =
		"# a different file, the same meaning\n"
		"atom    app/{{name.snake}}.py    # where it goes\n"
		"  foreach=entities\n"
		"\n"
		"  template   =   t.mustache\n"
		"  check = \\\n"
		"      syntax\n"
		"  slot   body\n"
		"          prompt = Write {{name}} \\\n"
		"                   well  # really\n";
	static const char *differ[][2] = {
		{"key", "atom app/{{name.snake}}.py\n    foreach = entities\n    template = t.mustache\n"
			"    pattern = syntax\n    slot body\n        prompt = Write {{name}} well\n"},
		{"value", "atom app/{{name.snake}}.py\n    foreach = entities\n    template = "
			  "u.mustache\n    check = syntax\n    slot body\n        prompt = Write "
			  "{{name}} well\n"},
		{"arg", "atom app/{{name.kebab}}.py\n    foreach = entities\n    template = t.mustache\n"
			"    check = syntax\n    slot body\n        prompt = Write {{name}} well\n"},
		{"order", "atom app/{{name.snake}}.py\n    template = t.mustache\n    foreach = "
			  "entities\n    check = syntax\n    slot body\n        prompt = Write "
			  "{{name}} well\n"},
		{"slot name", "atom app/{{name.snake}}.py\n    foreach = entities\n    template = "
			      "t.mustache\n    check = syntax\n    slot main\n        prompt = "
			      "Write {{name}} well\n"},
		{"slot prompt", "atom app/{{name.snake}}.py\n    foreach = entities\n    template = "
				"t.mustache\n    check = syntax\n    slot body\n        prompt = "
				"Write {{name}}  well\n"},
		{"extra property", "atom app/{{name.snake}}.py\n    foreach = entities\n    template = "
				   "t.mustache\n    check = syntax\n    check = no-markers\n    "
				   "slot body\n        prompt = Write {{name}} well\n"},
		{"value vs split", "atom app/{{name.snake}}.py\n    foreach = entities\n    template = "
				   "t.mustache\n    check = syntax\n    slot body\n        "
				   "prompt = Write {{name}} well\n        check = x\n"},
	};
	char want[4096];
	size_t i;

	snprintf(want, sizeof(want), "%s", canon_of(base, 0));
	is_str(want,
		"atom app/{{name.snake}}.py\n\tforeach=entities\n\ttemplate=t.mustache\n"
		"\tcheck=syntax\n\tslot body\n\t\tprompt=Write {{name}} well\n",
		"canon text");
	is_str(canon_of(same, 0), want, "canon ignores comments, spacing, continuations");
	for (i = 0; i < sizeof(differ) / sizeof(differ[0]); i++)
		ok(strcmp(canon_of(differ[i][1], 0), want) != 0, "canon differs: %s", differ[i][0]);
	snprintf(want, sizeof(want), "%s", canon_of("contract c\n  file = f\n  query = a b\n", 0));
	ok(strcmp(canon_of("contract c\n  file = f\n  query = a\n  query = b\n", 0), want) != 0,
		"canon: one query 'a b' differs from queries 'a' and 'b'");
	snprintf(want, sizeof(want), "%s", canon_of("contract c\n  file = f\n  query = q\n", 0));
	ok(strcmp(canon_of("contract c\n  query = q\n  file = f\n", 0), want) != 0,
		"canon: contract property order matters");
	ok(strcmp(canon_of("contract c\n  query = q\n  file = f\n", 0), want) != 0 &&
			strlen(want) > 0,
		"canon: (the comparison above is not between two empty strings)");
}

static void
test_includes(void)
{
	struct diag d = {0};
	struct dmfile *f = NULL;
	char *got, *top;
	int rc;

	mkdir("proj/sub", 0777);
	mkdir("proj/sub/deep", 0777);
	mkdir("stdlib/pack", 0777);
	wfile("outside.dm", "atom evil\n  template = t\n");
	wfile("proj/sub/a.dm", "mode = safe\ninclude deep/b.dm\n");
	wfile("proj/sub/deep/b.dm", "atom b.py\n  template = b.mustache\ninclude ../c.dm\n");
	wfile("proj/sub/c.dm", "atom c.py\n  template = c.mustache\n");
	wfile("stdlib/pack/pack.dm", "include model.dm\n");
	wfile("stdlib/pack/model.dm", "atom m.py\n  template = std/pack/m.mustache\n");
	wfile("proj/DMfile", "spec = s.yaml\ninclude sub/a.dm\ninclude std/pack/pack.dm\n"
			     "atom top.py\n  template = top.mustache\n");
	rc = dmfile_load("proj/DMfile", "proj", "stdlib", &f, &d);
	check_result(rc, f, &d);
	is_int(rc, 0, "includes: relative, nested, ../ inside the project, std/, std-relative");
	if (f) {
		is_int((long long)f->nfiles, 6, "six files read");
		is_str(f->files[1], "proj/sub/a.dm", "include relative to the including file");
		is_str(f->files[2], "proj/sub/deep/b.dm", "nested include");
		is_str(f->files[3], "proj/sub/c.dm", "'..' that stays inside the project");
		is_str(f->files[4], "stdlib/pack/pack.dm", "std/ include");
		is_str(f->files[5], "stdlib/pack/model.dm", "relative include inside the stdlib");
		is_int((long long)f->ndecls, 4, "declarations from all files");
		is_str(f->decls[0].arg, "b.py", "textual order 1");
		is_str(f->decls[1].arg, "c.py", "textual order 2");
		is_str(f->decls[2].arg, "m.py", "textual order 3");
		is_str(f->decls[3].arg, "top.py", "textual order 4");
		ok(f->decls[1].pos.file == f->files[3], "position of an included declaration");
		is_str(dm_var(f, "mode")->value, "safe", "variable from an include");
	}
	dmfile_free(f);
	f = NULL;
	diag_free(&d);

	wfile("proj/DMfile", "mode = hybrid\ninclude sub/a.dm\n");
	rc = dmfile_load("proj/DMfile", "proj", "stdlib", &f, &d);
	got = diag_text(&d);
	is_str(got, "proj/sub/a.dm:1:1: variable 'mode' set twice (first at proj/DMfile:1:1)\n",
		"variable set in the file and in an include");
	is_int(rc, DM_EINPUT, "... is DM_EINPUT");
	ok(f == NULL, "... with no result");
	free(got);
	diag_free(&d);

	wfile("proj/loop1.dm", "include loop2.dm\n");
	wfile("proj/loop2.dm", "atom x\n  template = t\n\ninclude sub/../loop1.dm\n");
	wfile("proj/DMfile", "include loop1.dm\n");
	rc = dmfile_load("proj/DMfile", "proj", "stdlib", &f, &d);
	check_result(rc, f, &d);
	got = diag_text(&d);
	is_str(got, "proj/loop2.dm:4:9: include cycle: proj/DMfile -> proj/loop1.dm -> "
		    "proj/loop2.dm -> proj/loop1.dm\n",
		"include cycle names the chain");
	free(got);
	diag_free(&d);

	wfile("proj/DMfile", "spec = s\ninclude DMfile\n");
	rc = dmfile_load("proj/DMfile", "proj", "stdlib", &f, &d);
	check_result(rc, f, &d);
	got = diag_text(&d);
	is_str(got, "proj/DMfile:2:9: include cycle: proj/DMfile -> proj/DMfile\n",
		"a file including itself");
	free(got);
	diag_free(&d);

	top = realpath("proj", NULL);
	wfile("proj/DMfile", "spec = s\ninclude   sub/nope.dm  # gone\n");
	rc = dmfile_load("proj/DMfile", "proj", "stdlib", &f, &d);
	check_result(rc, f, &d);
	got = diag_text(&d);
	{
		char *want = xasprintf("proj/DMfile:2:11: include file 'sub/nope.dm' not found "
				       "(looked for '%s/sub/nope.dm')\n", top);

		is_str(got, want, "missing include at the PATH column");
		free(want);
	}
	free(got);
	diag_free(&d);

	symlink("../outside.dm", "proj/link.dm");
	symlink("..", "proj/up");
	symlink("sub/c.dm", "proj/alias.dm");
	mkdir("proj/dir.dm", 0777);
	wfile("proj/DMfile",
		"include ../outside.dm\n"
		"include sub/../../outside.dm\n"
		"include link.dm\n"
		"include up/outside.dm\n"
		"include /etc/passwd\n"
		"include std/../outside.dm\n"
		"include dir.dm\n"
		"include\n"
		"include alias.dm\n"
		"include sub/deep/../../../proj/sub/c.dm\n");
	rc = dmfile_load("proj/DMfile", "proj", "stdlib", &f, &d);
	check_result(rc, f, &d);
	got = diag_text(&d);
	{
		char *out = realpath("outside.dm", NULL);
		char *want = xasprintf(
			"proj/DMfile:1:9: include path '../outside.dm' leaves the project directory "
			"through '..'\n"
			"proj/DMfile:2:9: include path 'sub/../../outside.dm' leaves the project "
			"directory through '..'\n"
			"proj/DMfile:3:9: include path 'link.dm' resolves to '%s', outside the project "
			"directory and the stdlib\n"
			"proj/DMfile:4:9: include path 'up/outside.dm' resolves to '%s', outside the "
			"project directory and the stdlib\n"
			"proj/DMfile:5:9: include path must be relative, found '/etc/passwd'\n"
			"proj/DMfile:6:9: include path 'std/../outside.dm' leaves the stdlib directory "
			"through '..'\n"
			"proj/DMfile:7:9: include path 'dir.dm' is not a regular file\n"
			"proj/DMfile:8:8: expected a path after 'include'\n"
			"proj/DMfile:10:9: include path 'sub/deep/../../../proj/sub/c.dm' leaves the "
			"project directory through '..'\n",
			out, out);

		is_str(got, want, "escapes: '..', symlinks, absolute, std/.., directory, empty; "
				  "a symlink inside the project is fine");
		free(want);
		free(out);
	}
	free(got);
	diag_free(&d);

	wfile("stdlib/pack/bad.dm", "include ../../proj/sub/c.dm\n");
	wfile("proj/DMfile", "include std/pack/bad.dm\n");
	rc = dmfile_load("proj/DMfile", "proj", "stdlib", &f, &d);
	check_result(rc, f, &d);
	got = diag_text(&d);
	is_str(got, "stdlib/pack/bad.dm:1:9: include path '../../proj/sub/c.dm' leaves the stdlib "
		    "directory through '..'\n",
		"a stdlib file may not climb out of the stdlib");
	free(got);
	diag_free(&d);

	wfile("proj/sub/err.dm", "atom e\n  templat = x\n");
	wfile("proj/DMfile", "include sub/err.dm\nmode = x\n");
	rc = dmfile_load("proj/DMfile", "proj", NULL, &f, &d);
	check_result(rc, f, &d);
	got = diag_text(&d);
	is_str(got,
		"proj/sub/err.dm:2:3: unknown property 'templat' in atom; expected foreach, "
		"template, with, after, check, pattern, suite or timeout\n"
		"proj/sub/err.dm:1:1: atom 'e' has no template; expected a line 'template = ...' "
		"under it\n"
		"proj/DMfile:2:8: expected safe, hybrid or research, found 'x'\n",
		"errors in an include and after it, all at once");
	free(got);
	diag_free(&d);

	wfile("proj/DMfile", "include std/pack/pack.dm\n");
	rc = dmfile_load("proj/DMfile", "proj", NULL, &f, &d);
	check_result(rc, f, &d);
	got = diag_text(&d);
	is_str(got, "proj/DMfile:1:9: include 'std/pack/pack.dm' names the stdlib, but no stdlib "
		    "directory was given\n",
		"std/ without a stdlib");
	free(got);
	diag_free(&d);

	err_is("include x.dm\n", "DMfile:1:9: include is not allowed here: no project directory "
				 "was given\n",
		"dmfile_parse without a project allows no include");
	{
		static const char t[] = "include sub/c.dm\n";

		rc = dmfile_parse("proj/DMfile", t, strlen(t), "proj", NULL, &f, &d);
		check_result(rc, f, &d);
		ok(rc == 0 && f && f->ndecls == 1 && strcmp(f->files[1], "proj/sub/c.dm") == 0,
			"dmfile_parse with a project resolves from the name's directory");
		dmfile_free(f);
		diag_free(&d);
	}

	rc = dmfile_load("proj/none", "proj", NULL, &f, &d);
	is_int(rc, DM_ENOTFOUND, "missing DMfile: DM_ENOTFOUND");
	ok(f == NULL && d.n == 1 && strcmp(d.items[0].file, "proj/none") == 0,
		"missing DMfile: one diagnostic naming it");
	diag_free(&d);
	free(top);
}

static void
test_many_errors(void)
{
	err_is("spec = a\n"
	       "mode = turbo\n"
	       "atom a.py\n"
	       "    template = a.mustache\n"
	       "    colour = blue\n"
	       "  check = syntax\n"
	       "    slot 9\n"
	       "        prompt = p\n"
	       "contract\n"
	       "    file = f\n"
	       "\tquery = q\n"
	       "mode = safe\n",
		"DMfile:2:8: expected safe, hybrid or research, found 'turbo'\n"
		"DMfile:5:5: unknown property 'colour' in atom; expected foreach, template, with, "
		"after, check, pattern, suite or timeout\n"
		"DMfile:6:3: bad indentation: expected 4 spaces (as on line 4), found 2\n"
		"DMfile:7:10: expected a slot name (letters, digits and '_', not starting with a "
		"digit), found '9'\n"
		"DMfile:9:9: expected a contract name after 'contract'\n"
		"DMfile:11:1: tab in indentation; expected spaces\n"
		"DMfile:9:1: contract has no query; expected a line 'query = ...' under it\n"
		"DMfile:12:1: variable 'mode' set twice (first at DMfile:2:1)\n",
		"eight errors in one pass, in order");
}

/* Hostile input: quoted text is cut and escaped, and a flood of errors
 * keeps DIAG_MAX_KEPT of them while nerrors counts all. */
static void
test_quoting_and_floods(void)
{
	struct buf t = {0}, big = {0};
	struct diag d = {0};
	struct dmfile *f;
	size_t i, longest = 0;
	char *got;
	int rc;

	err_is("mode = \x1b[2J\x7f\n",
		"DMfile:1:8: expected safe, hybrid or research, found '\\x1B[2J\\x7F'\n",
		"control characters in a quote are escaped");
	err_is("mode = a\xff\n",
		"DMfile:1:9: invalid UTF-8 byte 0xFF; expected UTF-8 text\n"
		"DMfile:1:8: expected safe, hybrid or research, found 'a\\xFF'\n",
		"a byte that is not UTF-8 is escaped in the quote");
	err_is("mode = 0123456789012345678901234567890123456789012345678901234567890123\n",
		"DMfile:1:8: expected safe, hybrid or research, found "
		"'012345678901234567890123456789012345678901234567...'\n",
		"a long value is cut to 48 bytes and '...'");

	/* One 100 KB identifier, quoted by three messages. */
	while (big.len < 100 * 1024)
		buf_adds(&big, "abcdefghij");
	buf_printf(&t, "%s = x\n%s\natom a\n    template = t\n    %s\n", big.data, big.data,
		big.data);
	rc = dmfile_parse("DMfile", t.data, t.len, NULL, NULL, &f, &d);
	check_result(rc, f, &d);
	is_int((long long)d.nerrors, 3, "three errors for three long words");
	for (i = 0; i < d.n; i++)
		if (strlen(d.items[i].msg) > longest)
			longest = strlen(d.items[i].msg);
	ok(d.n == 3 && longest < 200, "each message stays short (longest %zu bytes)", longest);
	ok(d.n == 3 && strstr(d.items[0].msg, "unknown variable 'abcdefghij") &&
		strstr(d.items[0].msg, "...'"), "the word is quoted cut: %s",
		d.n ? d.items[0].msg : "");
	diag_free(&d);

	/* 300 bad lines: 300 errors counted, 50 kept, in order. */
	buf_clear(&t);
	for (i = 0; i < 300; i++)
		buf_adds(&t, "\x01\x02 garbage\n");
	rc = dmfile_parse("DMfile", t.data, t.len, NULL, NULL, &f, &d);
	check_result(rc, f, &d);
	is_int(rc, DM_EINPUT, "300 bad lines: DM_EINPUT");
	is_int((long long)d.nerrors, 300, "nerrors counts all 300");
	is_int((long long)d.n, DIAG_MAX_KEPT, "50 kept");
	got = diag_text(&d);
	{
		static const char first[] = "DMfile:1:1: expected a variable, include or a "
			"declaration, found '\\x01\\x02 garbage'\n";

		ok(strncmp(got, first, strlen(first)) == 0, "the first error is line 1, escaped");
	}
	ok(strstr(got, "DMfile:50:1: ") && !strstr(got, "DMfile:51:1: "),
		"the last kept is line 50");
	free(got);
	{
		struct buf m = {0};
		int more = diag_more(&d, &m);

		ok(more && strcmp(m.data, "DMfile: 250 more errors not shown") == 0,
			"the count line: %s", m.data ? m.data : "(none)");
		buf_free(&m);
	}
	diag_free(&d);
	buf_free(&t);
	buf_free(&big);
}

int
main(void)
{
	char tmpl[] = "/tmp/t-dmfile.XXXXXX", *dir;

	dir = mkdtemp(tmpl);
	if (!dir || chdir(dir) != 0 || mkdir("proj", 0777) != 0 || mkdir("stdlib", 0777) != 0 ||
		mkdir("stdlib/python-fastapi", 0777) != 0) {
		perror("setup");
		return 1;
	}
	wfile("stdlib/python-fastapi/pack.dm", pack_dm);
	test_spec_example();
	test_variables();
	test_errors();
	test_indentation();
	test_bytes();
	test_comments();
	test_continuation();
	test_canon();
	test_includes();
	test_many_errors();
	test_quoting_and_floods();
	is_int(inconsistent, 0, "every call: errors <=> DM_EINPUT and *out == NULL");
	{
		char *cmd = xasprintf("rm -rf '%s'", dir);

		if (chdir("/") != 0 || system(cmd) != 0)
			note("could not remove %s", dir);
		free(cmd);
	}
	return done_testing();
}
