/* fuzz-spec-fast.c - differential libFuzzer target for the spec readers.
 *
 * For every input the fast reader accepts, libyaml must read the same
 * events (spec_events: the type, position, style and text of each, so
 * every key's position too) through the end of the first document with
 * no syntax error; and spec_parse_reader must give the same result with
 * either reader: the same tree (kinds, values, key order, the position of
 * every node) or the same diagnostics.  An input the fast reader refuses
 * must fail under SPEC_READER_FAST with the one "fast reader refuses"
 * diagnostic and no tree.  Whatever the input, SPEC_READER_AUTO (what
 * spec_parse does) must agree with libyaml.  A difference prints both
 * sides and aborts.  Built by `make fuzz`, run by `make fuzz-run` (see
 * fuzz/run.sh).
 *
 * Raw inputs seldom stay inside the fast reader's subset, so each input is
 * also used as a string of choices for a writer of spec-like YAML (block
 * maps and lists at various indentations, indentless lists, flow
 * collections, plain and quoted scalars with escapes, comments, nulls,
 * non-ASCII text), which now and then slips in a troublesome byte or a
 * wrong indentation; that text is checked the same way.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec.h"
#include "../tests/unit/spec-diff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
differ(const char *what, const char *path)
{
	fprintf(stderr, "fuzz-spec-fast: readers differ: %s at \"%s\"\n", what, path);
	abort();
}

static void
same_diag(const struct diag *a, const struct diag *b)
{
	size_t i;

	if (a->n != b->n || a->nerrors != b->nerrors)
		differ("number of diagnostics", "");
	for (i = 0; i < a->n; i++) {
		const struct diag_item *x = &a->items[i], *y = &b->items[i];

		if (x->line != y->line || x->col != y->col || strcmp(x->msg, y->msg) ||
			(x->file == NULL) != (y->file == NULL) ||
			(x->file && strcmp(x->file, y->file))) {
			fprintf(stderr, "  %d:%d: %s\n  %d:%d: %s\n", x->line, x->col, x->msg,
				y->line, y->col, y->msg);
			differ("diagnostic", "");
		}
	}
}

struct result {
	int rc;
	struct val *v;
	struct diag d;
};

static void
read_with(const uint8_t *data, size_t size, enum spec_reader r, struct result *res)
{
	memset(res, 0, sizeof(*res));
	res->rc = spec_parse_reader("fuzz.yaml", (const char *)data, size, r, &res->v, &res->d);
	if (res->rc ? res->v != NULL || res->d.nerrors == 0 : res->v == NULL)
		differ("result without a tree or a tree with an error", "");
}

static void
same_result(const struct result *a, const struct result *b)
{
	char *d;

	if (a->rc != b->rc)
		differ("return code", "");
	same_diag(&a->d, &b->d);
	if (!a->rc && (d = tree_diff(a->v, b->v, "")) != NULL)
		differ("the trees", d);
}

static void
result_free(struct result *res)
{
	val_free(res->v);
	diag_free(&res->d);
}

/* check: the readers agree on data. */
static void
check(const uint8_t *data, size_t size)
{
	struct buf fe = {0}, le = {0};
	struct result fast, lib, aut;
	int accepted = spec_events((const char *)data, size, SPEC_READER_FAST, &fe) == 0;

	read_with(data, size, SPEC_READER_FAST, &fast);
	read_with(data, size, SPEC_READER_LIBYAML, &lib);
	read_with(data, size, SPEC_READER_AUTO, &aut);
	if (accepted) {
		if (spec_events((const char *)data, size, SPEC_READER_LIBYAML, &le))
			differ("libyaml fails on what the fast reader accepts", "");
		if (fe.len != le.len || memcmp(fe.data, le.data, fe.len)) {
			fprintf(stderr, "fast:\n%.*s\nlibyaml:\n%.*s\n", (int)fe.len, fe.data,
				(int)le.len, le.data);
			differ("events", "");
		}
		same_result(&fast, &lib);
	} else if (fast.rc != DM_EINPUT || fast.d.n != 1 ||
		   strncmp(fast.d.items[0].msg, "fast reader refuses: ", 21)) {
		differ("a refusal that is not one", "");
	}
	same_result(&aut, &lib);
	result_free(&fast);
	result_free(&lib);
	result_free(&aut);
	buf_free(&fe);
	buf_free(&le);
}

/* The writer of spec-like YAML: each choice takes a byte of the input (0
 * once they run out, which ends lists and nesting). */
struct gen {
	const uint8_t *p, *end;
	struct buf out;
};

#define GEN_MAX_DEPTH 5
#define GEN_MAX_OUT 65536

static unsigned
pick(struct gen *g, unsigned n)
{
	if (g->p == g->end || n <= 1 || g->out.len > GEN_MAX_OUT)
		return 0;
	return *g->p++ % n;
}

static const char *const gen_words[] = {
	"name", "id", "type", "int", "str", "optional", "true", "False", "~", "null",
	"-1", "+3", "0x1F", "0o17", "007", ".5", "-.inf", ".NaN", "1e3", "9223372036854775808",
	"12:30", "http://x/y?z=1", "C#", "a#b", "x]y", "a,b", "{z}", "caf\xc3\xa9", "\xe6\x97\xa5",
	"<<", "-x", "--", "a:b", "-", "?", ":", "#", "&a", "*a", "!!str", "|", ">", "%", "@",
	"---", "...", "'", "\"", "x'y", "k\"", "\\", "a b", "",
};

/* troublemakers, one of which now and then goes in */
static const char gen_odd[] = "\t\r\n #:-&*!|>'\"\\{}[],?%@`\xff\xc3\x85\xef\x01";

static void
gen_odd_byte(struct gen *g)
{
	if (pick(g, 24) == 0 && g->p != g->end)
		buf_addc(&g->out, gen_odd[pick(g, sizeof(gen_odd))]);
}

static void
gen_plain(struct gen *g)
{
	unsigned i, n = 1 + pick(g, 3);

	for (i = 0; i < n; i++) {
		if (i)
			buf_adds(&g->out, pick(g, 4) ? " " : "  ");
		buf_adds(&g->out, gen_words[pick(g, sizeof(gen_words) / sizeof(gen_words[0]))]);
		gen_odd_byte(g);
	}
}

static void
gen_quoted(struct gen *g)
{
	static const char *const esc[] = {
		"\\t", "\\\"", "\\\\", "\\/", "\\x41", "\\xe9", "\\u00e9", "\\U0001F600",
		"\\N", "\\_", "\\L", "\\P", "\\0", "\\ ", "\\e", "\\q", "\\uD800", "\\x4",
		"\\'", "''", "# x", ": y", " ",
	};
	int dq = pick(g, 2);
	unsigned i, n = pick(g, 4);

	buf_addc(&g->out, dq ? '"' : '\'');
	for (i = 0; i < n; i++) {
		if (pick(g, 2))
			buf_adds(&g->out, gen_words[pick(g, 20)]);
		else
			buf_adds(&g->out, esc[pick(g, sizeof(esc) / sizeof(esc[0]))]);
	}
	buf_addc(&g->out, dq ? '"' : '\'');
	gen_odd_byte(g);
}

static void
gen_scalar(struct gen *g)
{
	if (pick(g, 4) == 0)
		gen_quoted(g);
	else
		gen_plain(g);
}

static void
gen_flow(struct gen *g, int depth)
{
	int map = pick(g, 2);
	unsigned i, n = pick(g, 4);
	const char *sp = pick(g, 3) ? " " : pick(g, 2) ? "" : "  ";

	buf_addc(&g->out, map ? '{' : '[');
	for (i = 0; i < n; i++) {
		if (i) {
			buf_addc(&g->out, ',');
			buf_adds(&g->out, sp);
		}
		if (map) {
			gen_scalar(g);
			buf_adds(&g->out, pick(g, 8) ? ": " : " : ");
		}
		if (depth < GEN_MAX_DEPTH && pick(g, 5) == 0)
			gen_flow(g, depth + 1);
		else
			gen_scalar(g);
	}
	if (pick(g, 16) == 0)
		buf_adds(&g->out, pick(g, 2) ? "," : " ");
	buf_addc(&g->out, map ? '}' : ']');
}

/* gen_eol: the end of a line, maybe with a comment, and maybe blank and
 * comment lines after it. */
static void
gen_eol(struct gen *g)
{
	switch (pick(g, 8)) {
	case 1: buf_adds(&g->out, " # c"); break;
	case 2: buf_adds(&g->out, "   "); break;
	case 3: buf_adds(&g->out, "#c"); break;
	}
	buf_addc(&g->out, '\n');
	switch (pick(g, 10)) {
	case 1: buf_addc(&g->out, '\n'); break;
	case 2: buf_adds(&g->out, "# line\n"); break;
	case 3: buf_adds(&g->out, "     # indented\n"); break;
	}
}

static void
gen_indent(struct gen *g, int n)
{
	if (pick(g, 32) == 0)
		n += pick(g, 2) ? 1 : -1;
	while (n-- > 0)
		buf_addc(&g->out, ' ');
}

static void gen_map(struct gen *g, int ind, int depth, int inline_first);
static void gen_seq(struct gen *g, int ind, int depth, int inline_first);

/* gen_after: what follows "key:" (in_map) or "-": a value on the line, an
 * empty one, or a block collection on the next lines. */
static void
gen_after(struct gen *g, int ind, int depth, int in_map)
{
	switch (depth < GEN_MAX_DEPTH ? pick(g, 6) : pick(g, 3)) {
	case 0:
		buf_adds(&g->out, pick(g, 6) ? " " : "   ");
		gen_scalar(g);
		gen_eol(g);
		break;
	case 1:
		buf_addc(&g->out, ' ');
		gen_flow(g, 0);
		gen_eol(g);
		break;
	case 2:
		gen_eol(g);
		break;
	case 3:
		gen_eol(g);
		gen_map(g, ind + 1 + (int)pick(g, 4), depth + 1, 0);
		break;
	default:
		gen_eol(g);
		gen_seq(g, in_map && pick(g, 2) ? ind : ind + 1 + (int)pick(g, 4), depth + 1, 0);
		break;
	}
}

static void
gen_map(struct gen *g, int ind, int depth, int inline_first)
{
	unsigned i, n = 1 + pick(g, 4);

	for (i = 0; i < n; i++) {
		if (i || !inline_first)
			gen_indent(g, ind);
		gen_scalar(g);
		if (pick(g, 12) == 0)
			buf_addc(&g->out, ' ');
		buf_addc(&g->out, ':');
		gen_after(g, ind, depth, 1);
	}
}

static void
gen_seq(struct gen *g, int ind, int depth, int inline_first)
{
	unsigned i, n = 1 + pick(g, 4);

	for (i = 0; i < n; i++) {
		int gap = 1 + (pick(g, 6) == 0 ? (int)pick(g, 3) : 0);

		if (i || !inline_first)
			gen_indent(g, ind);
		buf_addc(&g->out, '-');
		switch (depth < GEN_MAX_DEPTH ? pick(g, 5) : 0) {
		case 1:
			buf_printf(&g->out, "%*s", gap, "");
			gen_map(g, ind + 1 + gap, depth + 1, 1);
			break;
		case 2:
			buf_printf(&g->out, "%*s", gap, "");
			gen_seq(g, ind + 1 + gap, depth + 1, 1);
			break;
		default:
			gen_after(g, ind, depth, 0);
			break;
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gen g = {data, data + size, {0}};

	check(data, size);
	switch (pick(&g, 6)) {
	case 1: buf_adds(&g.out, "---\n"); break;
	case 2: buf_adds(&g.out, "# head\n\n"); break;
	case 3: buf_adds(&g.out, "--- # c\n"); break;
	}
	gen_map(&g, pick(&g, 8) == 0 ? 2 : 0, 0, 0);
	if (g.out.len)
		check((const uint8_t *)g.out.data, g.out.len);
	buf_free(&g.out);
	return 0;
}
