/* spec-diff.h: where two spec trees differ, for the tests and the fuzz
 * target that hold the fast YAML reader to libyaml's (t-spec.c,
 * fuzz/fuzz-spec-fast.c).  Static functions: include it in one file of a
 * program. */
#ifndef DM_SPEC_DIFF_H
#define DM_SPEC_DIFF_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "value.h"

static int
same_value(const struct val *a, const struct val *b)
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

/* tree_diff: where trees a and b differ in a kind, a value, a position, a
 * key or the order of keys (malloc'd), or NULL when they are alike. */
static char *
tree_diff(const struct val *a, const struct val *b, const char *path)
{
	size_t i;

	if (a->kind != b->kind)
		return xasprintf("%s: %s, %s", path, val_kind_name(a->kind),
			val_kind_name(b->kind));
	if (a->pos.line != b->pos.line || a->pos.col != b->pos.col ||
		strcmp(a->pos.file, b->pos.file))
		return xasprintf("%s: at %d:%d, %d:%d", path, a->pos.line, a->pos.col, b->pos.line,
			b->pos.col);
	if (!same_value(a, b))
		return xasprintf("%s: values differ", path);
	if (a->n != b->n)
		return xasprintf("%s: %zu entries, %zu", path, a->n, b->n);
	for (i = 0; i < a->n; i++) {
		char *sub, *diff;

		if (a->kind == VAL_MAP && (a->keylens[i] != b->keylens[i] ||
						  memcmp(a->keys[i], b->keys[i], a->keylens[i])))
			return xasprintf("%s: key %zu is \"%s\", \"%s\"", path, i, a->keys[i],
				b->keys[i]);
		if (a->kind == VAL_MAP)
			sub = xasprintf("%s.%s", path, a->keys[i]);
		else
			sub = xasprintf("%s[%zu]", path, i);
		diff = tree_diff(a->items[i], b->items[i], sub);
		free(sub);
		if (diff)
			return diff;
	}
	return NULL;
}

#endif
