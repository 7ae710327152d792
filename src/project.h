/* project.h - a loaded project: the DMfile, the spec, and the atoms the
 * declarations expand to, validated (SPEC §4).
 *
 * Expansion: an atom declaration with foreach = PATH makes one atom per
 * element of the list or map at PATH; without foreach, one atom.  Each
 * atom's context stack is [spec root, element (if any), frame], where the
 * frame is a synthetic map holding @key, @index and the with-bindings
 * (which point at spec nodes).  The output path, template path and after
 * values are Mustache, rendered against that stack.
 *
 * Memory: the atoms' out and tmpl strings, their slots arrays (shared by
 * the atoms of a declaration) and their frames (with the @key and @index
 * nodes) live in the project's pool and go with project_free; none of
 * them may be freed, and a frame must not be changed (no val_map_set,
 * no val_free).
 *
 * Templates and partials are read through the project's file table
 * (project_template), which parses each file once and keeps its digest;
 * the table is safe to use from several threads.
 *
 * After project_load succeeds: outputs are unique, every after names an
 * atom, the graph (edges from after) is acyclic, every slot has its block
 * in the skeleton, and every path is inside the project (or the stdlib,
 * for reads).
 */
#ifndef DM_PROJECT_H
#define DM_PROJECT_H

#include <pthread.h>
#include <stddef.h>

#include "hash.h"
#include "util.h"

struct dmfile;
struct dm_decl;
struct val;
struct mst;
struct graph;
struct check;
struct qa;

/* Output paths are cache keys; LMDB keys hold at most 511 bytes. */
#define PROJECT_MAX_PATH 400

enum stratum {
	STRATUM_TEMPLATE,
	STRATUM_AST,
	STRATUM_LLM,
	STRATUM_QA,
	STRATUM_COUNT
};

struct slot {
	const struct dm_decl *decl;
	const char *name;
};

struct atom {
	char *out; /* project-relative output path */
	const struct dm_decl *decl;
	const struct val *elem; /* foreach element, or NULL */
	struct val *frame;      /* synthetic: @key, @index, with bindings */
	const struct val *key_val, *index_val; /* inside frame, or NULL */
	char *tmpl;            /* template name as written, rendered */
	struct pfile *tfile;   /* its entry in the file table */
	struct slot *slots;
	size_t nslots;
	enum stratum stratum;
	struct digest static_key; /* version, declaration, element identity */
	struct check *checks;     /* parsed "check" lines (qa.h) */
	size_t nchecks;
	int has_cmd;              /* some check is cmd: (runs after the write) */
};

/* A file read by templates: a template, a partial, or a miss. */
struct pfile {
	char *path;    /* logical name: project-relative, or "std/..." */
	int exists;
	struct digest digest; /* of the bytes; zero when missing */
	struct mst *tmpl;     /* parsed, or NULL if missing or unparsable */
	int atom;             /* index of the atom that writes path, or -1 */
};

/* An input read at load time (DMfile, includes, spec files). */
struct pinput {
	char *path;
	struct digest digest;
};

struct project {
	struct dmfile *df;
	struct val *spec;
	char *stdlib;  /* absolute */
	char *root;    /* absolute path of the project directory */
	char **spec_files;
	size_t nspec_files;
	struct pinput *inputs; /* DMfile files and spec files, as read */
	size_t ninputs;
	struct atom *atoms;
	size_t natoms;
	struct strmap *outs; /* output path -> atom index + 1 (keys borrowed) */
	struct graph *graph; /* edges from after */
	struct qa *qa;       /* contracts */
	pthread_mutex_t lock; /* guards files and filemap */
	struct strmap *filemap; /* path -> struct pfile */
	struct pfile **files;
	size_t nfiles, capfiles;
	struct pool pool; /* atoms' strings, slots and frames (see above) */
};

/* project_load: read dmfile (relative to the current directory, which is
 * the project root) and everything it names.  DM_EINPUT with every error
 * found in d. */
int project_load(const char *dmfile, const char *stdlib, struct project **out, struct diag *d);
void project_free(struct project *p);
/* project_find: the index of the atom writing path, or -1. */
long project_find(const struct project *p, const char *path);
/* project_file: the file-table entry for a logical name (read and parsed
 * on first use); thread-safe.  A name that project_resolve refuses, or a
 * file behind a symlink out of the project, counts as missing.  A parse
 * error leaves tmpl NULL and adds to d. */
struct pfile *project_file(struct project *p, const char *path, struct diag *d);
/* project_resolve: the path a template name means: "std/X" under the
 * stdlib, anything else relative to the project root.  NULL (with why set)
 * if the name leaves the project or the stdlib. */
char *project_resolve(const struct project *p, const char *name, const char **why);
/* project_stack: the context stack of atom a (3 frames at most); returns
 * the depth. */
size_t project_stack(const struct project *p, const struct atom *a, const struct val *stack[3]);
const char *stratum_name(enum stratum s);
/* project_render: a DMfile value rendered as Mustache against stack
 * (no recording); parse and render errors, and a NUL byte the spec put in
 * the result, are reported at pos, naming what.  NULL on error. */
char *project_render(const char *what, const char *text, const struct val *const *stack,
	size_t depth, const struct srcpos *pos, struct diag *d);

#endif
