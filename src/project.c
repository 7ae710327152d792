/* project.c - load a project: DMfile, spec, atoms (see project.h).
 *
 * Validation order: the DMfile and spec first (their errors stop the
 * load), then every declaration is expanded and checked, collecting all
 * errors; then after-names, and cycles last (a cycle is only meaningful
 * once every edge resolved).  Nothing is written anywhere.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dmfile.h"
#include "fsio.h"
#include "graph.h"
#include "key.h"
#include "mustache.h"
#include "project.h"
#include "qa.h"
#include "spec.h"
#include "value.h"

const char *
stratum_name(enum stratum s)
{
	static const char *names[] = {"TEMPLATE", "AST", "LLM", "QA"};

	return s < STRATUM_COUNT ? names[s] : "?";
}

long
project_find(const struct project *p, const char *path)
{
	void *v = strmap_get(p->outs, path, strlen(path));

	return v ? (long)((size_t)v - 1) : -1;
}

char *
project_resolve(const struct project *p, const char *name, const char **why)
{
	const char *rel = name;
	int std = strncmp(name, "std/", 4) == 0;

	if (std)
		rel = name + 4;
	if (fs_check_rel(rel, why))
		return NULL;
	if (std)
		return xasprintf("%s/%s", p->stdlib, rel);
	if (strcmp(rel, ".dmbuild") == 0 || strncmp(rel, ".dmbuild/", 9) == 0) {
		*why = "inside .dmbuild";
		return NULL;
	}
	return xstrdup(rel);
}

static int
inside_allowed(const struct project *p, const char *path)
{
	int r = fs_inside(path, p->root);

	if (r == 0 || r == DM_ENOTFOUND)
		return r;
	return fs_inside(path, p->stdlib);
}

struct pfile *
project_file(struct project *p, const char *path, struct diag *d)
{
	struct pfile *f;
	char *text, *real;
	size_t len;
	const char *why;

	pthread_mutex_lock(&p->lock);
	f = strmap_get(p->filemap, path, strlen(path));
	if (f) {
		pthread_mutex_unlock(&p->lock);
		return f;
	}
	f = xcalloc(1, sizeof(*f));
	f->path = xstrdup(path);
	f->atom = (int)project_find(p, path);
	real = project_resolve(p, path, &why);
	if (real && inside_allowed(p, real) == 0 && file_read(real, &text, &len) == 0) {
		int line, col;
		const char *bad;

		f->exists = 1;
		f->digest = hash_bytes(text, len);
		if (text_check(text, len, &line, &col, &bad) != 0)
			diag_add(d, f->path, line, col, "%s in a template", bad);
		else if (mst_parse(f->path, text, len, &f->tmpl, d))
			f->tmpl = NULL;
		free(text);
	}
	free(real);
	if (p->nfiles == p->capfiles) {
		p->capfiles = p->capfiles ? p->capfiles * 2 : 16;
		p->files = xreallocarray(p->files, p->capfiles, sizeof(*p->files));
	}
	p->files[p->nfiles++] = f;
	strmap_put(p->filemap, path, strlen(path), f);
	pthread_mutex_unlock(&p->lock);
	return f;
}

size_t
project_stack(const struct project *p, const struct atom *a, const struct val *stack[3])
{
	size_t n = 0;

	stack[n++] = p->spec;
	if (a->elem)
		stack[n++] = a->elem;
	stack[n++] = a->frame;
	return n;
}

/* frame_free: the frame owns its keys, @key and @index; the with-bound
 * values belong to the spec. */
static void
frame_free(struct atom *a)
{
	struct val *f = a->frame;
	size_t i;

	if (!f)
		return;
	for (i = 0; i < f->n; i++) {
		if (f->items[i] == a->key_val || f->items[i] == a->index_val)
			val_free(f->items[i]);
		free(f->keys[i]);
	}
	free(f->keys);
	free(f->keylens);
	free(f->items);
	free(f);
	a->frame = NULL;
}

/* bad_mustache: the error of parsing or rendering a DMfile value. */
static void
bad_mustache(const char *what, const struct srcpos *pos, struct diag *tmp, struct diag *d)
{
	diag_add(d, pos->file, pos->line, pos->col, "bad Mustache in %s: %s", what,
		tmp->n ? tmp->items[0].msg : "render error");
	diag_free(tmp);
}

/* render_text: the parsed value t rendered against stack, or NULL after
 * an error in d (a NUL byte from the spec is one). */
static char *
render_text(const char *what, const struct mst *t, const struct val *const *stack,
	size_t depth, const struct srcpos *pos, struct diag *d)
{
	struct diag tmp = {0};
	struct buf out = {0};

	if (mst_render(t, stack, depth, NULL, &out, &tmp)) {
		bad_mustache(what, pos, &tmp, d);
		buf_free(&out);
		return NULL;
	}
	if (memchr(out.data ? out.data : "", '\0', out.len)) {
		diag_add(d, pos->file, pos->line, pos->col,
			"%s: the spec puts a NUL byte into this value", what);
		buf_free(&out);
		return NULL;
	}
	return buf_release(&out);
}

char *
project_render(const char *what, const char *text, const struct val *const *stack, size_t depth,
	const struct srcpos *pos, struct diag *d)
{
	struct diag tmp = {0};
	struct mst *t = NULL;
	char *r;

	if (!strstr(text, "{{"))
		return xstrdup(text);
	if (mst_parse(pos->file, text, strlen(text), &t, &tmp)) {
		bad_mustache(what, pos, &tmp, d);
		return NULL;
	}
	r = render_text(what, t, stack, depth, pos, d);
	mst_free(t);
	return r;
}

struct pending_after {
	size_t atom;
	const struct dm_prop *prop;
	char *name;
};

struct loader {
	struct project *p;
	struct diag *d;
	struct pending_after *after;
	size_t nafter, capafter;
	struct strmap *dirs_ok; /* output directories checked for symlinks */
	size_t *origin_decl;    /* per atom: for duplicate messages */
	struct strmap *parsed;  /* DMfile value text -> its parsed Mustache */
};

/* render_value: project_render of a DMfile value for one element; a
 * declaration's values are parsed once for all its elements. */
static char *
render_value(struct loader *L, const struct dm_prop *pr, const char *text,
	const struct val *const *stack, size_t depth, struct diag *d)
{
	struct mst *t;
	struct diag tmp = {0};
	size_t n = strlen(text);

	if (!strstr(text, "{{"))
		return xstrdup(text);
	t = strmap_get(L->parsed, text, n);
	if (!t) {
		if (mst_parse(pr->vpos.file, text, n, &t, &tmp)) {
			bad_mustache(pr->key, &pr->vpos, &tmp, d);
			return NULL;
		}
		strmap_put(L->parsed, text, n, t);
	}
	return render_text(pr->key, t, stack, depth, &pr->vpos, d);
}

static int
free_parsed(void *ud, const char *key, void *val)
{
	(void)ud;
	(void)key;
	mst_free(val);
	return 0;
}

static int
check_out_dir(struct loader *L, const char *out)
{
	const char *slash = strrchr(out, '/');
	char *dir;
	int r = 0;

	if (!slash)
		return 0;
	dir = xstrndup(out, (size_t)(slash - out));
	if (!strmap_get(L->dirs_ok, dir, strlen(dir))) {
		/* The deepest existing ancestor must resolve inside the project. */
		char *probe = xstrdup(dir);

		for (;;) {
			int x = fs_inside(probe, L->p->root);
			char *s;

			if (x == 0)
				break;
			if (x != DM_ENOTFOUND) {
				r = -1;
				break;
			}
			s = strrchr(probe, '/');
			if (!s)
				break;
			*s = '\0';
		}
		free(probe);
		if (r == 0)
			strmap_put(L->dirs_ok, dir, strlen(dir), L);
	}
	free(dir);
	return r;
}

static int
is_input(const struct project *p, const char *out)
{
	size_t i;

	for (i = 0; i < p->df->nfiles; i++)
		if (strcmp(p->df->files[i], out) == 0)
			return 1;
	for (i = 0; i < p->nspec_files; i++)
		if (strcmp(p->spec_files[i], out) == 0)
			return 1;
	return 0;
}

static int
has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

static void
add_atom(struct loader *L, const struct dm_decl *decl, const struct val *elem, const char *key,
	long index)
{
	struct project *p = L->p;
	struct diag *d = L->d;
	const struct dm_prop *tp = dm_get(decl, "template");
	const struct val *stack[3];
	struct atom a = {0};
	size_t depth, i, nerr = d->nerrors;
	const char *why;
	char *tpath = NULL;
	struct pfile *tf;
	long other;

	a.decl = decl;
	a.elem = elem;
	a.frame = val_new(VAL_MAP);
	if (key) {
		struct val *k = val_new_str(key, strlen(key));

		val_map_set(a.frame, "@key", 4, k);
		a.key_val = k;
	}
	if (index >= 0) {
		struct val *ix = val_new_int(index);

		val_map_set(a.frame, "@index", 6, ix);
		a.index_val = ix;
	}
	for (i = 0; i < decl->nprops; i++) {
		const struct dm_prop *pr = &decl->props[i];
		char *w, *tok, *save = NULL;

		if (strcmp(pr->key, "with") != 0)
			continue;
		w = xstrdup(pr->value);
		for (tok = strtok_r(w, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
			char *eq = strchr(tok, '=');
			const struct val *bound;
			char *path;

			if (!eq || eq == tok || !eq[1]) {
				char q[52];

				diag_add(d, pr->vpos.file, pr->vpos.line, pr->vpos.col,
					"with: expected NAME=SPEC.PATH, found '%s'",
					text_snip(q, sizeof q, tok, strlen(tok)));
				continue;
			}
			*eq = '\0';
			depth = 0;
			stack[depth++] = p->spec;
			if (elem)
				stack[depth++] = elem;
			path = render_value(L, pr, eq + 1, stack, depth, d);
			if (!path)
				continue;
			bound = val_resolve(p->spec, path);
			if (!bound) {
				char q[52], q2[52];

				diag_add(d, pr->vpos.file, pr->vpos.line, pr->vpos.col,
					"with: no '%s' in the spec (for '%s')",
					text_snip(q, sizeof q, path, strlen(path)),
					text_snip(q2, sizeof q2, tok, strlen(tok)));
			} else
				val_map_set(a.frame, tok, strlen(tok), (struct val *)bound);
			free(path);
		}
		free(w);
	}
	depth = project_stack(p, &a, stack);
	{
		struct dm_prop argprop = {"atom", decl->arg, decl->pos, decl->argpos};

		a.out = render_value(L, &argprop, decl->arg, stack, depth, d);
	}
	if (a.out && strlen(a.out) > PROJECT_MAX_PATH) {
		diag_add(d, decl->argpos.file, decl->argpos.line, decl->argpos.col,
			"output path is %zu bytes long; at most %d are allowed", strlen(a.out),
			PROJECT_MAX_PATH);
	} else if (a.out && has_control(a.out)) {
		diag_add(d, decl->argpos.file, decl->argpos.line, decl->argpos.col,
			"output path '%s' holds a control character (from the spec?)", a.out);
	} else if (a.out && fs_check_rel(a.out, &why)) {
		diag_add(d, decl->argpos.file, decl->argpos.line, decl->argpos.col,
			"output path '%s' is not allowed: %s", a.out, why);
	} else if (a.out && (strcmp(a.out, ".dmbuild") == 0 || strncmp(a.out, ".dmbuild/", 9) == 0 ||
				    strcmp(a.out, "generation_manifest.json") == 0 ||
				    strcmp(a.out, "dmbuild.lock") == 0)) {
		diag_add(d, decl->argpos.file, decl->argpos.line, decl->argpos.col,
			"output path '%s' is reserved for dmbuild", a.out);
	} else if (a.out && is_input(p, a.out)) {
		diag_add(d, decl->argpos.file, decl->argpos.line, decl->argpos.col,
			"output path '%s' would overwrite an input of the build", a.out);
	} else if (a.out && check_out_dir(L, a.out)) {
		diag_add(d, decl->argpos.file, decl->argpos.line, decl->argpos.col,
			"output path '%s' leaves the project through a symbolic link", a.out);
	}
	if (tp) {
		a.tmpl = render_value(L, tp, tp->value, stack, depth, d);
		if (a.tmpl) {
			tpath = project_resolve(p, a.tmpl, &why);
			if (!tpath)
				diag_add(d, tp->vpos.file, tp->vpos.line, tp->vpos.col,
					"template '%s' is not allowed: %s", a.tmpl, why);
		}
	}
	if (tpath) {
		tf = project_file(p, a.tmpl, d);
		if (!tf->exists)
			diag_add(d, tp->vpos.file, tp->vpos.line, tp->vpos.col,
				"template '%s': no such file (looked for %s)", a.tmpl, tpath);
		else if (tf->atom >= 0)
			diag_add(d, tp->vpos.file, tp->vpos.line, tp->vpos.col,
				"template '%s' is an output of this build", a.tmpl);
		a.tfile = tf;
		free(tpath);
	}
	a.nslots = decl->nchildren;
	a.slots = xcalloc(a.nslots ? a.nslots : 1, sizeof(*a.slots));
	for (i = 0; i < decl->nchildren; i++) {
		const struct dm_decl *s = &decl->children[i];

		a.slots[i].decl = s;
		a.slots[i].name = s->arg;
		if (a.tfile && a.tfile->tmpl && !mst_has_block(a.tfile->tmpl, s->arg, strlen(s->arg)))
			diag_add(d, s->argpos.file, s->argpos.line, s->argpos.col,
				"slot '%s': the skeleton %s has no {{$%s}} block", s->arg, a.tmpl,
				s->arg);
	}
	if (d->nerrors != nerr || !a.out) {
		free(a.out);
		free(a.tmpl);
		free(a.slots);
		frame_free(&a);
		return;
	}
	other = project_find(p, a.out);
	if (other >= 0) {
		const struct dm_decl *od = p->atoms[other].decl;

		diag_add(d, decl->argpos.file, decl->argpos.line, decl->argpos.col,
			"output '%s' is also written by the atom declared at %s:%d:%d", a.out,
			od->pos.file, od->pos.line, od->pos.col);
		free(a.out);
		free(a.tmpl);
		free(a.slots);
		frame_free(&a);
		return;
	}
	a.stratum = decl->nchildren ? STRATUM_LLM : STRATUM_TEMPLATE;
	a.static_key = key_static(decl->canon, a.out, a.tmpl ? a.tmpl : "");
	/* Capacity doubles from 64 (a power of two count means full). */
	if (p->natoms == 0 || (p->natoms >= 64 && (p->natoms & (p->natoms - 1)) == 0))
		p->atoms = xreallocarray(p->atoms, p->natoms ? p->natoms * 2 : 64,
			sizeof(*p->atoms));
	p->atoms[p->natoms] = a;
	strmap_put(p->outs, a.out, strlen(a.out), (void *)(p->natoms + 1));
	for (i = 0; i < decl->nprops; i++) {
		const struct dm_prop *pr = &decl->props[i];
		char *v, *tok, *save = NULL;

		if (strcmp(pr->key, "after") != 0)
			continue;
		v = render_value(L, pr, pr->value, stack, depth, d);
		if (!v)
			continue;
		for (tok = strtok_r(v, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
			if (L->nafter == L->capafter) {
				L->capafter = L->capafter ? L->capafter * 2 : 16;
				L->after = xreallocarray(L->after, L->capafter, sizeof(*L->after));
			}
			L->after[L->nafter].atom = p->natoms;
			L->after[L->nafter].prop = pr;
			L->after[L->nafter++].name = xstrdup(tok);
		}
		free(v);
	}
	p->natoms++;
}

static void
expand(struct loader *L, const struct dm_decl *decl)
{
	const struct dm_prop *fe = dm_get(decl, "foreach");
	const struct val *coll;
	size_t i;

	if (!fe) {
		add_atom(L, decl, NULL, NULL, -1);
		return;
	}
	coll = val_resolve(L->p->spec, fe->value);
	if (!coll) {
		diag_add(L->d, fe->vpos.file, fe->vpos.line, fe->vpos.col,
			"foreach: no '%s' in the spec", fe->value);
		return;
	}
	if (coll->kind != VAL_LIST && coll->kind != VAL_MAP) {
		diag_add(L->d, fe->vpos.file, fe->vpos.line, fe->vpos.col,
			"foreach: expected a list or a map at '%s', found a %s", fe->value,
			val_kind_name(coll->kind));
		return;
	}
	for (i = 0; i < coll->n; i++)
		add_atom(L, decl, coll->items[i], coll->kind == VAL_MAP ? coll->keys[i] : NULL,
			(long)i);
}

static void
resolve_after(struct loader *L)
{
	struct project *p = L->p;
	size_t i, j, *order, *cycle, ncycle = 0;

	p->graph = graph_new(p->natoms);
	for (i = 0; i < L->nafter; i++) {
		struct pending_after *pa = &L->after[i];
		long dep = project_find(p, pa->name);

		if (dep < 0)
			diag_add(L->d, pa->prop->vpos.file, pa->prop->vpos.line, pa->prop->vpos.col,
				"after: no atom writes '%s'", pa->name);
		else if ((size_t)dep == pa->atom)
			diag_add(L->d, pa->prop->vpos.file, pa->prop->vpos.line, pa->prop->vpos.col,
				"after: '%s' names the atom itself", pa->name);
		else
			graph_add_edge(p->graph, (size_t)dep, pa->atom);
	}
	if (L->d->nerrors)
		return;
	order = xmalloc((p->natoms ? p->natoms : 1) * sizeof(*order));
	cycle = xmalloc((p->natoms ? p->natoms : 1) * sizeof(*cycle));
	if (graph_order(p->graph, order, cycle, &ncycle)) {
		struct buf m = {0};
		const struct dm_decl *first = p->atoms[cycle[0]].decl;

		for (j = 0; j < ncycle; j++)
			buf_printf(&m, "%s -> ", p->atoms[cycle[j]].out);
		buf_adds(&m, p->atoms[cycle[0]].out);
		diag_add(L->d, first->pos.file, first->pos.line, first->pos.col,
			"dependency cycle: %s", m.data);
		buf_free(&m);
	}
	free(order);
	free(cycle);
}

static void
load_spec_files(struct project *p, struct diag *d)
{
	size_t i;

	for (i = 0; i < p->df->nvars; i++) {
		const struct dm_prop *pr = &p->df->vars[i];
		char *v, *tok, *save = NULL;
		const char *why;

		if (strcmp(pr->key, "spec") != 0)
			continue;
		v = xstrdup(pr->value);
		for (tok = strtok_r(v, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
			if (fs_check_rel(tok, &why) || fs_inside(tok, p->root) == -1) {
				diag_add(d, pr->vpos.file, pr->vpos.line, pr->vpos.col,
					"spec file '%s' is not allowed: %s", tok,
					fs_check_rel(tok, &why) ? why : "it leaves the project");
				continue;
			}
			p->spec_files = xreallocarray(p->spec_files, p->nspec_files + 1,
				sizeof(*p->spec_files));
			p->spec_files[p->nspec_files++] = xstrdup(tok);
		}
		free(v);
	}
}

static void
add_input(struct project *p, const char *path)
{
	char *text;
	size_t len;
	struct digest dg = {0, 0};

	if (file_read(path, &text, &len) == 0) {
		dg = hash_bytes(text, len);
		free(text);
	}
	p->inputs = xreallocarray(p->inputs, p->ninputs + 1, sizeof(*p->inputs));
	p->inputs[p->ninputs].path = xstrdup(path);
	p->inputs[p->ninputs++].digest = dg;
}

static void
add_inputs(struct project *p)
{
	size_t i;

	for (i = 0; i < p->df->nfiles; i++)
		add_input(p, p->df->files[i]);
	for (i = 0; i < p->nspec_files; i++)
		add_input(p, p->spec_files[i]);
}

int
project_load(const char *dmfile, const char *stdlib, struct project **out, struct diag *d)
{
	struct project *p = xcalloc(1, sizeof(*p));
	struct loader L = {0};
	char buf[PATH_MAX];
	size_t i;

	*out = NULL;
	pthread_mutex_init(&p->lock, NULL);
	p->outs = strmap_new();
	p->filemap = strmap_new();
	p->root = xstrdup(getcwd(buf, sizeof(buf)) ? buf : ".");
	p->stdlib = xstrdup(realpath(stdlib, buf) ? buf : stdlib);
	if (dmfile_load(dmfile, ".", p->stdlib, &p->df, d))
		goto fail;
	load_spec_files(p, d);
	if (d->nerrors)
		goto fail;
	stats_phase("DMfile read");
	if (spec_load((const char *const *)p->spec_files, p->nspec_files, &p->spec, d))
		goto fail;
	stats_phase("spec loaded");
	add_inputs(p);
	L.p = p;
	L.d = d;
	L.dirs_ok = strmap_new();
	L.parsed = strmap_new();
	for (i = 0; i < p->df->ndecls; i++)
		if (strcmp(p->df->decls[i].kind, "atom") == 0)
			expand(&L, &p->df->decls[i]);
	if (!d->nerrors)
		resolve_after(&L);
	if (!d->nerrors)
		qa_load(p, &p->qa, d);
	/* Checks: the atoms of one declaration are contiguous; report a bad
	 * check once, for the first of them. */
	for (i = 0; i < p->natoms && !d->nerrors; i++) {
		struct atom *a = &p->atoms[i];
		struct diag quiet = {0};
		int first = i == 0 || p->atoms[i - 1].decl != a->decl;
		size_t k;

		if (qa_parse_checks(p, a, &a->checks, &a->nchecks, first ? d : &quiet) && !first)
			diag_add(d, NULL, 0, 0, "%s: bad check", a->out);
		diag_free(&quiet);
		for (k = 0; k < a->nchecks; k++)
			if (a->checks[k].kind == CHECK_CMD)
				a->has_cmd = 1;
	}
	for (i = 0; i < L.nafter; i++)
		free(L.after[i].name);
	free(L.after);
	strmap_free(L.dirs_ok);
	strmap_each(L.parsed, free_parsed, NULL);
	strmap_free(L.parsed);
	if (d->nerrors)
		goto fail;
	/* A file read before its atom was known (a template that is also an
	 * output was reported above); mark outputs in the file table. */
	for (i = 0; i < p->nfiles; i++)
		p->files[i]->atom = (int)project_find(p, p->files[i]->path);
	*out = p;
	return 0;
fail:
	project_free(p);
	return DM_EINPUT;
}

void
project_free(struct project *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->natoms; i++) {
		free(p->atoms[i].out);
		free(p->atoms[i].tmpl);
		free(p->atoms[i].slots);
		qa_checks_free(p->atoms[i].checks, p->atoms[i].nchecks);
		frame_free(&p->atoms[i]);
	}
	free(p->atoms);
	for (i = 0; i < p->nfiles; i++) {
		free(p->files[i]->path);
		mst_free(p->files[i]->tmpl);
		free(p->files[i]);
	}
	free(p->files);
	for (i = 0; i < p->nspec_files; i++)
		free(p->spec_files[i]);
	free(p->spec_files);
	for (i = 0; i < p->ninputs; i++)
		free(p->inputs[i].path);
	free(p->inputs);
	strmap_free(p->outs);
	strmap_free(p->filemap);
	graph_free(p->graph);
	qa_free(p->qa);
	val_free(p->spec);
	dmfile_free(p->df);
	free(p->root);
	free(p->stdlib);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
