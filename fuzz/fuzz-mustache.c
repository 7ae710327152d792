/* fuzz-mustache.c - libFuzzer target for the Mustache engine: mst_parse on
 * arbitrary bytes; when it parses, render it twice against a small fixed
 * data tree (the outputs must agree) with every hook set: partial and
 * parent names resolve to the template itself (so recursion limits are
 * exercised) except "base", a fixed parent with blocks; the block hook
 * fills "slot".  Built by `make fuzz`, run by `make fuzz-run` (see
 * fuzz/run.sh).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mustache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct val *root;
static struct mst *base;

struct ctx {
	const struct mst *self;
	unsigned long probes, uses;
};

/* Every list with more than one item holds maps that shadow the list's
 * own key with an empty list, so nested sections cannot multiply work
 * without bound: a path enters each such list at most once. */
static struct val *
item(const char *name, int ntags)
{
	struct val *m = val_new(VAL_MAP), *tags = val_new(VAL_LIST), *tag;
	int i;

	val_map_set(m, "name", 4, val_new_str(name, strlen(name)));
	val_map_set(m, "items", 5, val_new(VAL_LIST));
	for (i = 0; i < ntags; i++) {
		tag = val_new(VAL_MAP);
		val_map_set(tag, "tag", 3, val_new_int(i));
		val_map_set(tag, "tags", 4, val_new(VAL_LIST));
		val_list_push(tags, tag);
	}
	val_map_set(m, "tags", 4, tags);
	val_map_set(m, "ok", 2, val_new_bool(ntags > 0));
	return m;
}

static void
setup(void)
{
	struct val *list = val_new(VAL_LIST), *nested = val_new(VAL_MAP);
	struct val *words = val_new(VAL_LIST);
	struct diag d = {0};
	const char *b = "<{{$slot}}default {{name}}{{/slot}}>\n  {{$body}}\n  b\n  {{/body}}\n";

	root = val_new(VAL_MAP);
	val_map_set(root, "name", 4, val_new_str("OrderLine", 9));
	val_map_set(root, "html", 4, val_new_str("<a & \"b\">", 9));
	val_map_set(root, "n", 1, val_new_int(42));
	val_map_set(root, "f", 1, val_new_float(1.5));
	val_map_set(root, "t", 1, val_new_bool(1));
	val_map_set(root, "no", 2, val_new_bool(0));
	val_map_set(root, "nil", 3, val_new(VAL_NULL));
	val_map_set(root, "empty", 5, val_new(VAL_LIST));
	val_map_set(root, "dyn", 3, val_new_str("base", 4));
	val_list_push(words, val_new_str("status", 6));
	val_map_set(root, "words", 5, words);
	val_list_push(list, item("Category", 2));
	val_list_push(list, item("HTTPServer", 0));
	val_map_set(root, "items", 5, list);
	val_map_set(nested, "a", 1, item("person", 1));
	val_map_set(root, "m", 1, nested);
	val_freeze(root, "");
	if (mst_parse("base", b, strlen(b), &base, &d) != 0)
		abort();
	diag_free(&d);
}

static int
partial(void *ud, const char *name, size_t len, const struct mst **out)
{
	struct ctx *c = ud;

	if (len == 4 && memcmp(name, "base", 4) == 0)
		*out = base;
	else if (len == 7 && memcmp(name, "missing", 7) == 0)
		return DM_ENOTFOUND;
	else
		*out = c->self;
	return 0;
}

static void
probe(void *ud, const struct val *container, const char *key, size_t klen,
	const struct val *found)
{
	struct ctx *c = ud;

	if (!container || !key || (found && container->kind != VAL_MAP) || memchr(key, '.', klen))
		abort();
	c->probes++;
}

static void
use(void *ud, const struct val *v, enum val_use how)
{
	struct ctx *c = ud;

	if (!v || (how != VAL_USE_VALUE && how != VAL_USE_SHAPE) || !v->path)
		abort();
	c->uses++;
}

static int
block(void *ud, const char *name, size_t len, const char **text, size_t *tlen)
{
	(void)ud;
	if (len == 4 && memcmp(name, "slot", 4) == 0) {
		*text = "  filled {{not rendered}}\n  twice\n";
		*tlen = strlen(*text);
		return 1;
	}
	return 0;
}

static int
render(const struct mst *t, struct buf *out, struct diag *d, struct ctx *c)
{
	struct mst_hooks h = {partial, probe, use, block, NULL};
	const struct val *stack[1];
	size_t before = out->len;
	int rc;

	h.ud = c;
	stack[0] = root;
	rc = mst_render(t, stack, 1, &h, out, d);
	if (rc != 0 && (rc != DM_EINPUT || d->n == 0 || out->len != before))
		abort();
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag d = {0};
	struct mst *t = NULL;
	struct buf a = {0}, b = {0};
	struct ctx c1 = {0}, c2 = {0};
	int r1, r2;

	if (!root)
		setup();
	if (size > 4096)
		return 0;
	if (mst_parse("fuzz", (const char *)data, size, &t, &d) != 0) {
		if (t || d.n == 0)
			abort();
		diag_free(&d);
		return 0;
	}
	(void)mst_has_block(t, "slot", 4);
	c1.self = c2.self = t;
	r1 = render(t, &a, &d, &c1);
	r2 = render(t, &b, &d, &c2);
	if (r1 != r2 || a.len != b.len || (a.len && memcmp(a.data, b.data, a.len) != 0) ||
	    c1.probes != c2.probes || c1.uses != c2.uses)
		abort();
	buf_free(&a);
	buf_free(&b);
	diag_free(&d);
	mst_free(t);
	return 0;
}
