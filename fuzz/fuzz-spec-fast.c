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
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
differ(const char *what, const char *path)
{
	fprintf(stderr, "fuzz-spec-fast: readers differ: %s at \"%s\"\n", what, path);
	abort();
}

static int
same_scalar(const struct val *a, const struct val *b)
{
	switch (a->kind) {
	case VAL_BOOL:
		return a->b == b->b;
	case VAL_INT:
		return a->i == b->i;
	case VAL_FLOAT:
		return (isnan(a->f) && isnan(b->f)) || !memcmp(&a->f, &b->f, sizeof(a->f));
	case VAL_STR:
		return a->slen == b->slen && !memcmp(a->s, b->s, a->slen);
	default:
		return 1;
	}
}

/* same_tree: a and b alike in kind, value, position, keys and their
 * order, recursively; path names the node for the message. */
static void
same_tree(const struct val *a, const struct val *b, const char *path)
{
	size_t i;

	if (a->kind != b->kind)
		differ("kind", path);
	if (a->pos.line != b->pos.line || a->pos.col != b->pos.col ||
		strcmp(a->pos.file, b->pos.file))
		differ("position", path);
	if (!same_scalar(a, b))
		differ("value", path);
	if (a->n != b->n)
		differ("size", path);
	for (i = 0; i < a->n; i++) {
		char *sub;

		if (a->kind == VAL_MAP && (a->keylens[i] != b->keylens[i] ||
						  memcmp(a->keys[i], b->keys[i], a->keylens[i])))
			differ("key", path);
		if (a->kind == VAL_MAP)
			sub = xasprintf("%s.%s", path, a->keys[i]);
		else
			sub = xasprintf("%s[%zu]", path, i);
		same_tree(a->items[i], b->items[i], sub);
		free(sub);
	}
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
	if (a->rc != b->rc)
		differ("return code", "");
	same_diag(&a->d, &b->d);
	if (!a->rc)
		same_tree(a->v, b->v, "");
}

static void
result_free(struct result *res)
{
	val_free(res->v);
	diag_free(&res->d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
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
	return 0;
}
