/* lock.h - dmbuild.lock: the accepted LLM slot fills, committed by users
 * (SPEC §3, §7).  Text, one entry per slot, sorted by output path then
 * slot name, so diffs are small and readable:
 *
 *   # dmbuild.lock: accepted LLM slot fills.  Written by dmbuild; commit it.
 *
 *   slot app/services/order_flow.py create_order
 *   key      3f2a...(32 hex digits)
 *   provider anthropic
 *   model    claude-sonnet-4-5
 *   fill
 *   |    if not lines:
 *   |        raise ValueError("an order needs a line")
 *   end
 *
 * Every line of the fill is written after "|" exactly as it is (the fill
 * ends with a newline, which is not written).  Blank lines and "#"
 * comments between entries are ignored.  The same text always gives the
 * same file: writing what was read reproduces it byte for byte.
 */
#ifndef DM_LOCK_H
#define DM_LOCK_H

#include <stddef.h>

#include "hash.h"
#include "util.h"

struct lock_entry {
	char *out;   /* output path */
	char *slot;  /* slot name */
	struct digest key;
	char *provider, *model;
	char *fill;  /* ends with '\n' */
	int used;    /* set by the build: still declared */
};

struct lock {
	struct lock_entry *v;
	size_t n, cap;
	int changed;
};

/* lock_read: parse path (a missing file is an empty lock).  Errors at
 * FILE:LINE:COL in d give DM_EINPUT. */
int lock_read(const char *path, struct lock *l, struct diag *d);
int lock_parse(const char *name, const char *text, size_t len, struct lock *l, struct diag *d);
/* lock_find: the entry for (out, slot), or NULL. */
struct lock_entry *lock_find(struct lock *l, const char *out, const char *slot);
/* lock_set: add or replace the entry for (out, slot); marks it used. */
void lock_set(struct lock *l, const char *out, const char *slot, struct digest key,
	const char *provider, const char *model, const char *fill);
/* lock_drop_unused: remove entries no build step marked used. */
void lock_drop_unused(struct lock *l);
/* lock_text: the file's text (sorted). */
char *lock_text(struct lock *l, size_t *len);
/* lock_write: write path atomically if its text changed. */
int lock_write(const char *path, struct lock *l);
void lock_free(struct lock *l);

#endif
