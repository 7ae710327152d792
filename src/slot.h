/* slot.h - what is asked for one slot, its key, and what is accepted back
 * (SPEC §7).
 *
 * The request has two parts.  The system part is the same for every slot
 * of an atom, so the provider's prompt cache serves sibling slots:
 *   instructions | "File: OUT" | the skeleton rendered with each slot's
 *   place marked "<<<SLOT NAME>>>" | the outputs of the atoms named in
 *   after, each cut to SLOT_AFTER_BUDGET bytes (SLOT_CONTEXT_BUDGET in all)
 * The user part is this slot's:
 *   "Fill <<<SLOT NAME>>>." | the rendered prompt | the spec values the
 *   prompt read, one "PATH = JSON" line each | on a later attempt, the
 *   previous answer and the errors the checks found in it
 *
 * The slot key covers the system part, the first-attempt user part, the
 * provider chain and the sampling settings - not dmbuild's version.
 *
 * Accepting an answer (slot_normalize):
 *  - an answer wrapped in a Markdown code fence is replaced by the fence's
 *    content (the first fence, if there are several);
 *  - an answer that repeats the skeleton around the slot (the nearest
 *    non-blank lines before and after the marker) is cut down to what lies
 *    between them; one that repeats only one side, or contains a
 *    "<<<SLOT" marker, is rejected;
 *  - leading and trailing blank lines are dropped and the fill ends with
 *    one newline; an empty fill is rejected.
 * The skeleton's block then re-indents the fill (mustache.h).
 */
#ifndef DM_SLOT_H
#define DM_SLOT_H

#include <stddef.h>

#include "hash.h"
#include "util.h"

#define SLOT_AFTER_BUDGET (16 * 1024)
#define SLOT_CONTEXT_BUDGET (48 * 1024)
#define SLOT_MAX_ATTEMPTS 3

struct slot_context {
	const char *out;      /* the atom's output path */
	const char *skeleton; /* rendered with every slot marked */
	const char *const *after_paths; /* outputs of the after atoms */
	const char *const *after_texts;
	size_t nafter;
};

/* slot_marker: "<<<SLOT NAME>>>" (malloc'd). */
char *slot_marker(const char *name);
/* slot_system: the shared system part (malloc'd). */
char *slot_system(const struct slot_context *c);
/* slot_user: the user part; values is "PATH = JSON\n" lines (or NULL);
 * prev/errors are the previous attempt's answer and check errors (NULL
 * on the first attempt). */
char *slot_user(const char *name, const char *prompt, const char *values, const char *prev,
	const char *errors);
/* slot_key: the key of a slot's fill. */
struct digest slot_key(const char *system, const char *user, const char *chain,
	const char *sampling);
/* slot_normalize: the fill to use, or NULL with *why set (static). */
char *slot_normalize(const char *answer, const char *skeleton, const char *name,
	const char **why);

#endif
