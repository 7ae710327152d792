/* fuzz-json.c - libFuzzer target for the JSON reader and writer: json_parse
 * on arbitrary bytes; when it parses, freeze the tree (as `dmbuild render
 * T DATA.json` does), resolve every node's path, and check the writer:
 * what json_put_val writes reads back as the same values, numbers of the
 * same kind (a float is always written as one, 1.0 not 1), and writing what
 * was read back is a fixed point.
 * Built by `make fuzz`, run by `make fuzz-run` (see fuzz/run.sh).
 *
 * The result contract: 0 <=> a tree and no error; DM_EINPUT <=> no tree
 * and at least one error, at line and column >= 1.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_paths(const struct val *root, const struct val *v)
{
	size_t i;

	if (!v->path || val_resolve(root, v->path) != v)
		abort();
	for (i = 0; i < v->n; i++)
		check_paths(root, v->items[i]);
}

static int
is_number(const struct val *v)
{
	return v->kind == VAL_INT || v->kind == VAL_FLOAT;
}

/* same: x and y hold the same values, numbers of the same kind. */
static int
same(const struct val *x, const struct val *y)
{
	size_t i;

	if (is_number(x) && is_number(y)) {
		if (x->kind != y->kind)
			return 0;
		return x->kind == VAL_INT ? x->i == y->i : x->f == y->f;
	}
	if (x->kind != y->kind || x->n != y->n)
		return 0;
	switch (x->kind) {
	case VAL_BOOL:
		return !x->b == !y->b;
	case VAL_STR:
		return x->slen == y->slen && memcmp(x->s, y->s, x->slen) == 0;
	case VAL_MAP:
		for (i = 0; i < x->n; i++)
			if (x->keylens[i] != y->keylens[i] ||
				memcmp(x->keys[i], y->keys[i], x->keylens[i]) != 0)
				return 0;
		/* fall through */
	case VAL_LIST:
		for (i = 0; i < x->n; i++)
			if (!same(x->items[i], y->items[i]))
				return 0;
		return 1;
	default:
		return 1;
	}
}

/* reparse: json_put_val(v) read back; it must parse. */
static struct val *
reparse(const struct val *v, struct buf *text)
{
	struct diag d = {0};
	struct val *w = NULL;

	json_put_val(text, v);
	if (json_parse("again.json", text->data, text->len, &w, &d) != 0 || !w || d.n)
		abort();
	return w;
}

static void
check_diag(const struct diag *d)
{
	size_t i;

	if (d->nerrors == 0)
		abort();
	for (i = 0; i < d->n; i++)
		if (!d->items[i].msg || d->items[i].line < 1 || d->items[i].col < 1)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag d = {0};
	struct val *v = NULL, *w, *x;
	struct buf a = {0}, b = {0}, c = {0};
	int rc;

	rc = json_parse("fuzz.json", (const char *)data, size, &v, &d);
	if (rc != 0) {
		if (rc != DM_EINPUT || v)
			abort();
		check_diag(&d);
		diag_free(&d);
		return 0;
	}
	if (!v || d.nerrors)
		abort();
	val_freeze(v, "");
	check_paths(v, v);
	w = reparse(v, &a);
	if (!same(v, w))
		abort();
	x = reparse(w, &b);
	json_put_val(&c, x);
	if (b.len != c.len || memcmp(b.data, c.data, b.len) != 0)
		abort();
	val_free(v);
	val_free(w);
	val_free(x);
	buf_free(&a);
	buf_free(&b);
	buf_free(&c);
	diag_free(&d);
	return 0;
}
