/* inflect.h - the case helpers of DMfile values and templates:
 * NAME.snake, .camel, .pascal, .kebab, .upper, .lower, .plural, .singular.
 * Words are split at _, -, spaces, lower-to-upper changes and the end of an
 * acronym ("HTTPServer" -> HTTP, Server).  plural/singular inflect the last
 * word in English (regular rules plus a table of irregular nouns) and keep
 * the rest of the string as it is.
 */
#ifndef DM_INFLECT_H
#define DM_INFLECT_H

#include <stddef.h>

#include "util.h"

/* inflect_is_helper: 1 if name[0..len) names a case helper. */
int inflect_is_helper(const char *name, size_t len);
/* inflect_apply: append helper(s) to out; 0, or -1 if not a helper. */
int inflect_apply(const char *helper, size_t hlen, const char *s, size_t n, struct buf *out);

#endif
