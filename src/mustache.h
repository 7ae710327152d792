/* mustache.h - Mustache spec v1.4: the core (comments, set delimiters,
 * interpolation with HTML escaping, sections, inverted sections, partials
 * with standalone lines and indentation) and the optional inheritance
 * ({{<parent}} {{$block}}) and dynamic names ({{>*name}}) modules.  No
 * lambdas.
 *
 * A parsed template is immutable: many threads may render it at once.
 * Lookups go through the hooks so the caller can record exactly what a
 * template read (SPEC §5): every key probed on a map (found or not), every
 * value used whole, every value used only for its shape.  Dotted names
 * apply the case helpers of inflect.h to strings ({{name.snake}}).
 */
#ifndef DM_MUSTACHE_H
#define DM_MUSTACHE_H

#include <signal.h>
#include <stddef.h>

#include "util.h"
#include "value.h"

struct mst; /* a parsed template */

struct mst_hooks {
	/* partial: the parsed template for partial or parent NAME; 0 with *out
	 * set (it must stay alive until the render returns), DM_ENOTFOUND to
	 * render nothing (as the spec says), another DM_E* code to fail the
	 * render.  NULL hook: every partial is missing. */
	int (*partial)(void *ud, const char *name, size_t len, const struct mst **out);
	/* probe: the lookup of KEY in CONTAINER found FOUND (NULL: missing).
	 * Called for every context frame tried and every dotted step. */
	void (*probe)(void *ud, const struct val *container, const char *key, size_t klen,
		const struct val *found);
	/* use: v was interpolated (VAL_USE_VALUE) or tested by a section
	 * (VAL_USE_SHAPE); the items a section iterates are then pushed. */
	void (*use)(void *ud, const struct val *v, enum val_use how);
	/* block: an override for block NAME of the outermost template,
	 * inserted as literal text (not rendered).  1 with *text set to use
	 * it, 0 to render the block's own body.  NULL hook: no overrides. */
	int (*block)(void *ud, const char *name, size_t len, const char **text, size_t *tlen);
	void *ud;
	/* cancel: when not NULL, read at every node the render visits; once
	 * it is non-zero (a signal handler sets it) the render stops with
	 * DM_EINTR.  The build passes &build_interrupted. */
	const volatile sig_atomic_t *cancel;
};

/* mst_parse: parse src; name is used in error messages (FILE:LINE:COL).
 * On error returns DM_EINPUT with the messages in d. */
int mst_parse(const char *name, const char *src, size_t len, struct mst **out, struct diag *d);
/* mst_parse_at: mst_parse for a template that starts inside a file (a
 * DMfile value): src[0] is at at->file:at->line:at->col, and its later
 * lines start at column 1.  Parse and render errors are placed there. */
int mst_parse_at(const struct srcpos *at, const char *src, size_t len, struct mst **out,
	struct diag *d);
void mst_free(struct mst *t);
/* mst_name: the name given to mst_parse. */
const char *mst_name(const struct mst *t);
/* mst_has_block: 1 if the template has a {{$name}} block (at any depth
 * of its own text, not in partials). */
int mst_has_block(const struct mst *t, const char *name, size_t len);

/* mst_render: render t against a context stack (stack[0] is the bottom,
 * stack[depth-1] the top), appending to out.  hooks may be NULL.
 * Returns 0, or a DM_E* code from a hook, or DM_EINPUT for a runaway
 * recursion of partials or a render over its limits (with a message in
 * d at FILE:LINE:COL of the tag being expanded when the limit was hit:
 * the tag itself, or for text the innermost section, partial, parent or
 * block whose expansion it is part of), or DM_EINTR when *hooks->cancel
 * became non-zero (no message: it is not an input error).  On error out
 * is left as it was. */
int mst_render(const struct mst *t, const struct val *const *stack, size_t depth,
	const struct mst_hooks *hooks, struct buf *out, struct diag *d);

#endif
