/* project.c - load a project: DMfile, spec, atoms (see project.h).
 *
 * Validation order: the DMfile and spec first (their errors stop the
 * load), then every declaration is expanded and checked, collecting all
 * errors; then after-names, and cycles last (a cycle is only meaningful
 * once every edge resolved).  Nothing is written anywhere.
 *
 * Expansion works per declaration (struct plan): its values are parsed
 * once (through loader.parsed, keyed by text), its with value split into
 * tokens once, its slots array made once, and a literal template name
 * resolved once, at its first atom.  Every atom still gets every message
 * that concerns it, in the order it would get them if it did all that
 * work itself: a value that does not parse is parsed (and reported)
 * again for each atom, and a literal template's verdict is repeated.
 * Values are rendered into one reused buffer (loader.rb) and copied into
 * the project's pool only when kept; frames are built there by hand.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
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

/* A DMfile value as the loader renders it: literal text (no "{{"), or
 * Mustache parsed once (the parse is shared through loader.parsed). */
struct lval {
	const char *text;
	size_t len;
	int literal;
	struct mst *t; /* NULL until parsed, or when it does not parse */
};

/* One token of a with value: NAME=PATH, or bad (reported per atom). */
struct with_tok {
	const struct dm_prop *prop;
	const char *tok; /* as written, for messages */
	char *name;      /* in the project's pool: frames keep it */
	size_t nlen;
	struct lval path;
	int bad;
};

/* What the atoms of one declaration share, worked out once for all of
 * them (the template resolution lazily, at the first atom, so that every
 * message keeps its place in the order). */
struct plan {
	const struct dm_decl *decl;
	const struct dm_prop *tp; /* template, or NULL */
	struct dm_prop argprop;   /* the output path as a value */
	struct lval out, tmpl;
	struct with_tok *with;
	size_t nwith;
	const struct dm_prop **after;
	struct lval *aftv; /* their values */
	size_t nafter;
	struct slot *slots; /* in the project's pool, shared by the atoms */
	/* a literal template, resolved once */
	int tdone;
	char *tname;      /* in the project's pool */
	char *tpath;      /* malloc'd; NULL when not allowed */
	const char *why;
	struct pfile *tf;
};

struct loader {
	struct project *p;
	struct diag *d;
	struct pending_after *after;
	size_t nafter, capafter;
	struct strmap *dirs_ok; /* output directories checked for symlinks */
	struct buf lastdir;     /* the last of them that was looked up */
	struct strmap *parsed;  /* DMfile value text -> its parsed Mustache */
	struct buf rb;          /* the value being rendered */
	struct buf db;          /* scratch of the @key and @index digests */
	struct digest *dindex;  /* the digest of @index i, for i < nindex */
	size_t nindex, capindex;
	struct pool tmp;        /* plans: freed when the load ends */
	char *at_key, *at_index; /* frame keys, in the project's pool */
};

static void
lval_init(struct lval *v, const char *text, size_t len)
{
	v->text = text;
	v->len = len;
	v->literal = !strstr(text, "{{");
	v->t = NULL;
}

/* render_lval: project_render of a DMfile value v (of property pr) into
 * L->rb; its text, or NULL after an error in d. */
static const char *
render_lval(struct loader *L, const struct dm_prop *pr, struct lval *v,
	const struct val *const *stack, size_t depth, struct diag *d)
{
	struct diag tmp = {0};
	struct buf *b = &L->rb;

	buf_clear(b);
	if (v->literal) {
		buf_add(b, v->text, v->len);
		return b->data;
	}
	if (!v->t) {
		v->t = strmap_get(L->parsed, v->text, v->len);
		if (!v->t) {
			if (mst_parse(pr->vpos.file, v->text, v->len, &v->t, &tmp)) {
				v->t = NULL;
				bad_mustache(pr->key, &pr->vpos, &tmp, d);
				return NULL;
			}
			strmap_put(L->parsed, v->text, v->len, v->t);
		}
	}
	if (mst_render(v->t, stack, depth, NULL, b, &tmp)) {
		bad_mustache(pr->key, &pr->vpos, &tmp, d);
		return NULL;
	}
	if (memchr(b->data, '\0', b->len)) {
		diag_add(d, pr->vpos.file, pr->vpos.line, pr->vpos.col,
			"%s: the spec puts a NUL byte into this value", pr->key);
		return NULL;
	}
	return b->data;
}

static int
free_parsed(void *ud, const char *key, void *val)
{
	(void)ud;
	(void)key;
	mst_free(val);
	return 0;
}

/* check_out_dir: -1 if the directory of out leaves the project through
 * a symbolic link. */
static int
check_out_dir(struct loader *L, const char *out)
{
	const char *slash = strrchr(out, '/');
	size_t dlen;
	char *probe;
	int r = 0;

	if (!slash)
		return 0;
	dlen = (size_t)(slash - out);
	/* The atoms of a declaration mostly share their directory. */
	if (L->lastdir.data && L->lastdir.len == dlen && memcmp(L->lastdir.data, out, dlen) == 0)
		return 0;
	if (strmap_get(L->dirs_ok, out, dlen)) {
		buf_clear(&L->lastdir);
		buf_add(&L->lastdir, out, dlen);
		return 0;
	}
	/* The deepest existing ancestor must resolve inside the project. */
	probe = xstrndup(out, dlen);
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
	if (r == 0) {
		strmap_put(L->dirs_ok, out, dlen, L);
		buf_clear(&L->lastdir);
		buf_add(&L->lastdir, out, dlen);
	}
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

/* has_control: s[0..n) holds a control character or DEL.  Eight bytes at
 * a time: (w - 0x20 in each byte) & ~w has a high bit set exactly when
 * some byte of w is below 0x20 (borrows only run upwards from the lowest
 * such byte), and the same test with 0x01 on w ^ 0x7f.. finds a DEL. */
static int
has_control(const char *s, size_t n)
{
	const uint64_t ones = 0x0101010101010101ULL, highs = ones * 0x80;
	size_t i = 0;

	for (; n - i >= 8; i += 8) {
		uint64_t w, x;

		memcpy(&w, s + i, 8);
		x = w ^ (ones * 0x7f);
		if ((((w - ones * 0x20) & ~w) | ((x - ones) & ~x)) & highs)
			return 1;
	}
	for (; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 1;
	return 0;
}

/* reserved: out[0..n) is a name dmbuild keeps for itself. */
static int
reserved(const char *out, size_t n)
{
	return (n >= 8 && memcmp(out, ".dmbuild", 8) == 0 && (n == 8 || out[8] == '/')) ||
	       (n == 24 && memcmp(out, "generation_manifest.json", 24) == 0) ||
	       (n == 12 && memcmp(out, "dmbuild.lock", 12) == 0);
}

/* plan_init: the shared part of decl's atoms (the template's resolution
 * waits for the first atom). */
static void
plan_init(struct loader *L, struct plan *pl, const struct dm_decl *decl)
{
	struct pool *tmp = &L->tmp;
	size_t i, nwith = 0, nafter = 0;

	memset(pl, 0, sizeof(*pl));
	pl->decl = decl;
	pl->tp = dm_get(decl, "template");
	pl->argprop.key = "atom";
	pl->argprop.value = decl->arg;
	pl->argprop.pos = decl->pos;
	pl->argprop.vpos = decl->argpos;
	lval_init(&pl->out, decl->arg, strlen(decl->arg));
	if (pl->tp)
		lval_init(&pl->tmpl, pl->tp->value, strlen(pl->tp->value));
	for (i = 0; i < decl->nprops; i++) {
		const struct dm_prop *pr = &decl->props[i];
		const char *v = pr->value;

		if (strcmp(pr->key, "after") == 0) {
			nafter++;
			continue;
		}
		if (strcmp(pr->key, "with") != 0)
			continue;
		/* tokens are runs of non-spaces */
		for (; *v; v++)
			if (*v != ' ' && (v == pr->value || v[-1] == ' '))
				nwith++;
	}
	pl->with = pool_alloc(tmp, (nwith ? nwith : 1) * sizeof(*pl->with));
	pl->after = pool_alloc(tmp, (nafter ? nafter : 1) * sizeof(*pl->after));
	pl->aftv = pool_alloc(tmp, (nafter ? nafter : 1) * sizeof(*pl->aftv));
	for (i = 0; i < decl->nprops; i++) {
		const struct dm_prop *pr = &decl->props[i];
		char *w, *tok, *save = NULL;

		if (strcmp(pr->key, "after") == 0) {
			lval_init(&pl->aftv[pl->nafter], pr->value, strlen(pr->value));
			pl->after[pl->nafter++] = pr;
			continue;
		}
		if (strcmp(pr->key, "with") != 0)
			continue;
		w = pool_strndup(tmp, pr->value, strlen(pr->value));
		for (tok = strtok_r(w, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
			struct with_tok *t = &pl->with[pl->nwith++];
			char *eq = strchr(tok, '=');

			memset(t, 0, sizeof(*t));
			t->prop = pr;
			t->tok = tok;
			if (!eq || eq == tok || !eq[1]) {
				t->bad = 1;
				continue;
			}
			t->nlen = (size_t)(eq - tok);
			t->name = pool_strndup(&L->p->pool, tok, t->nlen);
			lval_init(&t->path, eq + 1, strlen(eq + 1));
		}
	}
	pl->slots = pool_alloc(&L->p->pool,
		(decl->nchildren ? decl->nchildren : 1) * sizeof(*pl->slots));
	for (i = 0; i < decl->nchildren; i++) {
		pl->slots[i].decl = &decl->children[i];
		pl->slots[i].name = decl->children[i].arg;
	}
}

/* frame_set: key -> item in a frame being built (room is there); a key
 * set again keeps its place, as val_map_set does. */
static void
frame_set(struct val *f, char *key, size_t klen, struct val *item)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (f->keylens[i] == klen && memcmp(f->keys[i], key, klen) == 0) {
			f->items[i] = item;
			return;
		}
	f->keys[f->n] = key;
	f->keylens[f->n] = klen;
	f->items[f->n++] = item;
}

/* index_digest: the digest of @index node v, worked out once for each
 * index (the declarations over one collection share them). */
static struct digest
index_digest(struct loader *L, const struct val *v)
{
	size_t i = (size_t)v->i;

	if (i >= L->nindex) {
		struct val at = {0};

		if (i >= L->capindex) {
			L->capindex = i + 1 > 2 * L->capindex ? i + 1 : 2 * L->capindex;
			L->dindex = xreallocarray(L->dindex, L->capindex, sizeof(*L->dindex));
		}
		at.kind = VAL_INT;
		for (; L->nindex <= i; L->nindex++) {
			at.i = (long long)L->nindex;
			L->dindex[L->nindex] = val_digest(&at, &L->db);
		}
	}
	return L->dindex[i];
}

/* frame_new: the frame of an atom, in the project's pool (one piece:
 * the map, its arrays, and the @key and @index nodes), holding @key and
 * @index as given; the with bindings come after.  @key and @index carry
 * the digest a spec value of theirs would have: atoms' reads of them
 * (I and K, key.h) are checked against it. */
static struct val *
frame_new(struct loader *L, const struct plan *pl, struct atom *a, const char *key, long index)
{
	struct frame_mem {
		struct val map, key, index;
	} *m;
	size_t room = pl->nwith + 2, klen = key ? strlen(key) : 0;
	char *arrays;

	m = pool_alloc(&L->p->pool, sizeof(*m) + room * (sizeof(struct val *) + sizeof(char *) +
		sizeof(size_t)));
	memset(m, 0, sizeof(*m));
	arrays = (char *)(m + 1);
	m->map.kind = VAL_MAP;
	m->map.items = (struct val **)arrays;
	m->map.keys = (char **)(arrays + room * sizeof(struct val *));
	m->map.keylens = (size_t *)(arrays + room * (sizeof(struct val *) + sizeof(char *)));
	if (key) {
		m->key.kind = VAL_STR;
		m->key.s = pool_strndup(&L->p->pool, key, klen);
		m->key.slen = klen;
		m->key.digest = val_digest(&m->key, &L->db);
		frame_set(&m->map, L->at_key, 4, &m->key);
		a->key_val = &m->key;
	}
	if (index >= 0) {
		m->index.kind = VAL_INT;
		m->index.i = index;
		m->index.digest = index_digest(L, &m->index);
		frame_set(&m->map, L->at_index, 6, &m->index);
		a->index_val = &m->index;
	}
	return &m->map;
}

/* bind_with: the with bindings of the atom into its frame. */
static void
bind_with(struct loader *L, struct plan *pl, struct atom *a)
{
	struct project *p = L->p;
	struct diag *d = L->d;
	const struct val *stack[2];
	size_t i, depth = 0;

	stack[depth++] = p->spec;
	if (a->elem)
		stack[depth++] = a->elem;
	for (i = 0; i < pl->nwith; i++) {
		struct with_tok *t = &pl->with[i];
		const struct dm_prop *pr = t->prop;
		const struct val *bound;
		const char *path;

		if (t->bad) {
			char q[52];

			diag_add(d, pr->vpos.file, pr->vpos.line, pr->vpos.col,
				"with: expected NAME=SPEC.PATH, found '%s'",
				text_snip(q, sizeof q, t->tok, strlen(t->tok)));
			continue;
		}
		path = render_lval(L, pr, &t->path, stack, depth, d);
		if (!path)
			continue;
		bound = val_resolve(p->spec, path);
		if (!bound) {
			char q[52], q2[52];

			diag_add(d, pr->vpos.file, pr->vpos.line, pr->vpos.col,
				"with: no '%s' in the spec (for '%s')",
				text_snip(q, sizeof q, path, L->rb.len),
				text_snip(q2, sizeof q2, t->name, t->nlen));
		} else
			frame_set(a->frame, t->name, t->nlen, (struct val *)bound);
	}
}

/* check_out: report what is wrong with the output path out[0..len). */
static void
check_out(struct loader *L, const struct dm_decl *decl, const char *out, size_t len)
{
	struct diag *d = L->d;
	const struct srcpos *at = &decl->argpos;
	const char *why;

	if (len > PROJECT_MAX_PATH) {
		diag_add(d, at->file, at->line, at->col,
			"output path is %zu bytes long; at most %d are allowed", len,
			PROJECT_MAX_PATH);
	} else if (has_control(out, len)) {
		diag_add(d, at->file, at->line, at->col,
			"output path '%s' holds a control character (from the spec?)", out);
	} else if (fs_check_rel(out, &why)) {
		diag_add(d, at->file, at->line, at->col, "output path '%s' is not allowed: %s", out,
			why);
	} else if (reserved(out, len)) {
		diag_add(d, at->file, at->line, at->col, "output path '%s' is reserved for dmbuild",
			out);
	} else if (is_input(L->p, out)) {
		diag_add(d, at->file, at->line, at->col,
			"output path '%s' would overwrite an input of the build", out);
	} else if (check_out_dir(L, out)) {
		diag_add(d, at->file, at->line, at->col,
			"output path '%s' leaves the project through a symbolic link", out);
	}
}

/* resolve_template: the atom's template name, path and file entry, with
 * the messages of each; a literal name is resolved once per declaration. */
static void
resolve_template(struct loader *L, struct plan *pl, struct atom *a,
	const struct val *const *stack, size_t depth)
{
	struct project *p = L->p;
	struct diag *d = L->d;
	const struct dm_prop *tp = pl->tp;
	char *tpath = NULL;
	const char *why = NULL;
	struct pfile *tf = NULL;

	if (pl->tmpl.literal && pl->tdone) {
		a->tmpl = pl->tname;
		tpath = pl->tpath;
		why = pl->why;
		tf = pl->tf;
	} else {
		const char *t = render_lval(L, tp, &pl->tmpl, stack, depth, d);

		if (!t)
			return;
		a->tmpl = pool_strndup(&p->pool, t, L->rb.len);
		tpath = project_resolve(p, a->tmpl, &why);
		if (tpath)
			tf = project_file(p, a->tmpl, d);
		if (pl->tmpl.literal) {
			pl->tdone = 1;
			pl->tname = a->tmpl;
			pl->tpath = tpath;
			pl->why = why;
			pl->tf = tf;
		}
	}
	if (!tpath) {
		diag_add(d, tp->vpos.file, tp->vpos.line, tp->vpos.col,
			"template '%s' is not allowed: %s", a->tmpl, why);
		return;
	}
	if (!tf->exists)
		diag_add(d, tp->vpos.file, tp->vpos.line, tp->vpos.col,
			"template '%s': no such file (looked for %s)", a->tmpl, tpath);
	else if (tf->atom >= 0)
		diag_add(d, tp->vpos.file, tp->vpos.line, tp->vpos.col,
			"template '%s' is an output of this build", a->tmpl);
	a->tfile = tf;
	if (!pl->tmpl.literal)
		free(tpath);
}

static void
add_after(struct loader *L, const struct dm_prop *pr, size_t atom, const char *name)
{
	if (L->nafter == L->capafter) {
		L->capafter = L->capafter ? L->capafter * 2 : 16;
		L->after = xreallocarray(L->after, L->capafter, sizeof(*L->after));
	}
	L->after[L->nafter].atom = atom;
	L->after[L->nafter].prop = pr;
	L->after[L->nafter++].name = xstrdup(name);
}

static void
add_atom(struct loader *L, struct plan *pl, const struct val *elem, const char *key, long index)
{
	struct project *p = L->p;
	struct diag *d = L->d;
	const struct dm_decl *decl = pl->decl;
	const struct val *stack[3];
	struct atom a = {0};
	size_t depth, i, nerr = d->nerrors, outlen = 0;
	const char *out;
	void **slot;

	a.decl = decl;
	a.elem = elem;
	a.frame = frame_new(L, pl, &a, key, index);
	bind_with(L, pl, &a);
	depth = project_stack(p, &a, stack);
	out = render_lval(L, &pl->argprop, &pl->out, stack, depth, d);
	if (out) {
		outlen = L->rb.len;
		a.out = pool_strndup(&p->pool, out, outlen);
		check_out(L, decl, a.out, outlen);
	}
	if (pl->tp)
		resolve_template(L, pl, &a, stack, depth);
	a.nslots = decl->nchildren;
	a.slots = pl->slots;
	for (i = 0; i < decl->nchildren; i++) {
		const struct dm_decl *s = &decl->children[i];

		if (a.tfile && a.tfile->tmpl && !mst_has_block(a.tfile->tmpl, s->arg, strlen(s->arg)))
			diag_add(d, s->argpos.file, s->argpos.line, s->argpos.col,
				"slot '%s': the skeleton %s has no {{$%s}} block", s->arg, a.tmpl,
				s->arg);
	}
	if (d->nerrors != nerr || !a.out)
		return; /* what it took from the pool stays there, unused */
	slot = strmap_slot(p->outs, a.out, outlen);
	if (*slot) {
		const struct dm_decl *od = p->atoms[(size_t)*slot - 1].decl;

		diag_add(d, decl->argpos.file, decl->argpos.line, decl->argpos.col,
			"output '%s' is also written by the atom declared at %s:%d:%d", a.out,
			od->pos.file, od->pos.line, od->pos.col);
		return;
	}
	*slot = (void *)(p->natoms + 1);
	a.stratum = decl->nchildren ? STRATUM_LLM : STRATUM_TEMPLATE;
	a.static_key = key_static(decl->canon, a.out, a.tmpl ? a.tmpl : "");
	/* Capacity doubles from 64 (a power of two count means full). */
	if (p->natoms == 0 || (p->natoms >= 64 && (p->natoms & (p->natoms - 1)) == 0))
		p->atoms = xreallocarray(p->atoms, p->natoms ? p->natoms * 2 : 64,
			sizeof(*p->atoms));
	p->atoms[p->natoms] = a;
	for (i = 0; i < pl->nafter; i++) {
		const struct dm_prop *pr = pl->after[i];
		char *tok, *save = NULL;

		if (!render_lval(L, pr, &pl->aftv[i], stack, depth, d))
			continue;
		for (tok = strtok_r(L->rb.data, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
			add_after(L, pr, p->natoms, tok);
	}
	p->natoms++;
}

static void
expand(struct loader *L, const struct dm_decl *decl)
{
	const struct dm_prop *fe = dm_get(decl, "foreach");
	const struct val *coll;
	struct plan pl;
	size_t i;

	if (!fe) {
		plan_init(L, &pl, decl);
		add_atom(L, &pl, NULL, NULL, -1);
		goto done;
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
	plan_init(L, &pl, decl);
	strmap_reserve(L->p->outs, L->p->natoms + coll->n);
	for (i = 0; i < coll->n; i++)
		add_atom(L, &pl, coll->items[i], coll->kind == VAL_MAP ? coll->keys[i] : NULL,
			(long)i);
done:
	if (pl.tmpl.literal)
		free(pl.tpath);
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
add_input(struct project *p, const char *path, struct digest dg)
{
	p->inputs = xreallocarray(p->inputs, p->ninputs + 1, sizeof(*p->inputs));
	p->inputs[p->ninputs].path = xstrdup(path);
	p->inputs[p->ninputs++].digest = dg;
}

/* add_inputs: the DMfile's files and the spec files, with the digests of
 * their bytes (the spec files' as spec_load parsed them; zero when
 * unreadable), for the no-op stamp. */
static void
add_inputs(struct project *p, const struct digest *spec_digests)
{
	size_t i;

	for (i = 0; i < p->df->nfiles; i++) {
		struct digest dg = {0, 0};

		if (hash_file(p->df->files[i], &dg) != 0)
			dg.hi = dg.lo = 0;
		add_input(p, p->df->files[i], dg);
	}
	for (i = 0; i < p->nspec_files; i++)
		add_input(p, p->spec_files[i], spec_digests[i]);
}

int
project_load(const char *dmfile, const char *stdlib, struct project **out, struct diag *d)
{
	struct project *p = xcalloc(1, sizeof(*p));
	struct loader L = {0};
	struct digest *spec_digests;
	char buf[PATH_MAX];
	size_t i;

	*out = NULL;
	pthread_mutex_init(&p->lock, NULL);
	p->outs = strmap_new_borrowed(); /* its keys are the atoms' outs */
	p->filemap = strmap_new();
	p->root = xstrdup(getcwd(buf, sizeof(buf)) ? buf : ".");
	p->stdlib = xstrdup(realpath(stdlib, buf) ? buf : stdlib);
	if (dmfile_load(dmfile, ".", p->stdlib, &p->df, d))
		goto fail;
	load_spec_files(p, d);
	if (d->nerrors)
		goto fail;
	stats_phase("DMfile read");
	spec_digests = xcalloc(p->nspec_files ? p->nspec_files : 1, sizeof(*spec_digests));
	if (spec_load_digests((const char *const *)p->spec_files, p->nspec_files, spec_digests,
		    &p->spec, d)) {
		free(spec_digests);
		goto fail;
	}
	stats_phase("spec loaded");
	add_inputs(p, spec_digests);
	free(spec_digests);
	L.p = p;
	L.d = d;
	L.dirs_ok = strmap_new();
	L.parsed = strmap_new();
	L.at_key = pool_strndup(&p->pool, "@key", 4);
	L.at_index = pool_strndup(&p->pool, "@index", 6);
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
	buf_free(&L.rb);
	buf_free(&L.db);
	free(L.dindex);
	buf_free(&L.lastdir);
	pool_free(&L.tmp);
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
	for (i = 0; i < p->natoms; i++)
		qa_checks_free(p->atoms[i].checks, p->atoms[i].nchecks);
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
	pool_free(&p->pool);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
