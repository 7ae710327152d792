/* dmfile.h - the DMfile language (SPEC §4, doc/dmfile.5): a line-oriented
 * reader that turns a DMfile and its includes into declarations.
 *
 * Lexical rules: '#' at the start of a line's text or after white space
 * starts a comment ("\#" is a literal '#'); indentation is spaces only (a
 * tab is an error); a line ending in '\' continues on the next line.
 * Top level: "NAME = VALUE" variables, "include PATH", and declarations
 * "KIND ARG" (atom, contract) whose properties ("key = value") are the
 * lines indented under them.  Inside an atom, "slot NAME" opens a nested
 * declaration whose properties are indented deeper.
 *
 * The grammar table (which kinds, which properties, which may repeat) is in
 * dmfile.c; unknown kinds and properties, a missing value, a repeated
 * single property, a bad indentation are errors at FILE:LINE:COL.  Values
 * are kept as written (trimmed); {{...}} in them is Mustache and is not
 * looked at here.
 *
 * include PATH resolves from the including file's directory, except that
 * "std/..." resolves into the stdlib directory.  An include cycle, a
 * missing file, or a path that leaves the project (or the stdlib) is an
 * error.
 */
#ifndef DM_DMFILE_H
#define DM_DMFILE_H

#include <stddef.h>

#include "util.h"

struct dm_prop {
	char *key;
	char *value;
	struct srcpos pos;  /* of the key */
	struct srcpos vpos; /* of the value's first character */
};

struct dm_decl {
	char *kind; /* "atom", "slot", "contract" */
	char *arg;  /* the rest of the declaration line, trimmed */
	struct srcpos pos, argpos;
	struct dm_prop *props; /* in the order written */
	size_t nprops;
	struct dm_decl *children; /* slots of an atom */
	size_t nchildren;
	/* canon: a canonical text of the declaration and its children: kind,
	 * arg, then each property "key=value" in order, comments and spacing
	 * dropped.  Equal canon <=> same declaration meaning. */
	char *canon;
};

struct dmfile {
	struct dm_prop *vars; /* top-level NAME = VALUE, in order */
	size_t nvars;
	struct dm_decl *decls; /* top-level declarations, in order */
	size_t ndecls;
	char **files; /* every file read (the DMfile first, then includes), as
	               * opened; srcpos.file points into these strings */
	size_t nfiles;
};

/* dmfile_load: read path and its includes.  stdlib is the directory that
 * "std/" names resolve into; project is the directory includes may not
 * leave (besides the stdlib).  On bad input returns DM_EINPUT, every error
 * found in d, and *out NULL. */
int dmfile_load(const char *path, const char *project, const char *stdlib, struct dmfile **out,
	struct diag *d);
/* dmfile_parse: the same for text already in memory (no includes allowed
 * unless a project directory is given); for tests and fuzzing. */
int dmfile_parse(const char *name, const char *text, size_t len, const char *project,
	const char *stdlib, struct dmfile **out, struct diag *d);
void dmfile_free(struct dmfile *f);

/* dm_get: the first property named key, or NULL. */
const struct dm_prop *dm_get(const struct dm_decl *d, const char *key);
/* dm_var: the last top-level variable named name, or NULL. */
const struct dm_prop *dm_var(const struct dmfile *f, const char *name);

#endif
