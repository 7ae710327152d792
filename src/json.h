/* json.h - JSON in and out.  Reading goes through jansson (the only
 * module that includes jansson.h); writing is a few helpers on struct buf
 * that produce compact, deterministic JSON.
 */
#ifndef DM_JSON_H
#define DM_JSON_H

#include <stddef.h>

#include "util.h"
#include "value.h"

/* json_parse: a JSON text into a value tree (not frozen, in an arena that
 * its root owns: see value.h); integers that fit in long long become
 * VAL_INT, other numbers VAL_FLOAT.  Object key order is kept.  DM_EINPUT
 * with FILE:LINE:COL in d on bad input. */
int json_parse(const char *name, const char *text, size_t len, struct val **out, struct diag *d);

/* json_put_str: append s[0..n) as a quoted JSON string, escaping quotes,
 * backslashes and control characters (\u00XX); bytes >= 0x80 pass as they
 * are. */
void json_put_str(struct buf *b, const char *s, size_t n);
/* json_put_val: append v as JSON (maps in key order).  A float is written
 * with a '.' or an exponent (1.0, -0.0, 1e+21) so that it reads back as a
 * float; NaN and infinities as null. */
void json_put_val(struct buf *b, const struct val *v);

#endif
