/* dmfile.c - the DMfile reader (SPEC §4, doc/dmfile.5).  See dmfile.h.
 *
 * Invariants:
 * - Input is consumed in logical lines.  A logical line is one physical
 *   line, or several joined by a trailing '\' (the backslash, the spaces
 *   around it, the newline and the next line's indentation become one
 *   space).  Comments are cut per physical line before joining, "\#" is
 *   unescaped, and trailing blanks are trimmed.  Every byte of a logical
 *   line remembers the physical line and byte column it came from, so an
 *   error anywhere points into the file.
 * - Bytes are checked per physical line: the first NUL or malformed UTF-8
 *   sequence on a line is an error.  A NUL is kept as '?' so the rest of
 *   the reader works on C strings.
 * - What may appear where is the grammar table below and nothing else.  A
 *   row names its scope (NULL: top level, else the kind of the enclosing
 *   declaration), so a new variable, property or nested declaration is
 *   one row.
 * - Nesting is a stack of levels: level 0 is the top level (indentation
 *   0); a declaration opened at level k opens level k+1, whose
 *   indentation is fixed by its first line.  A line belongs to the deepest
 *   level with exactly its indentation; opening or matching a shallower
 *   level closes the deeper ones (and checks their required properties).
 *   A line that matches no level is an error and changes nothing.
 * - After an unreadable keyword line, lines indented deeper than it are
 *   skipped, so one typo does not report each of its properties.
 * - include is textual: the included file's variables and declarations
 *   land where the include line is.  Every included file's real path must
 *   lie inside the project or the stdlib directory (realpath), and "..",
 *   read lexically, may not climb above the directory that holds the
 *   including file (project or stdlib).  The chain of open includes is a
 *   stack of real paths; meeting one again is a cycle.
 * - Input text quoted in a message goes through text_snip (util.h): cut
 *   to SNIP (paths SNIP_PATH) bytes, control bytes and non-UTF-8 escaped.
 * - The result is handed out only when no error was found; otherwise
 *   everything is freed and *out is NULL.  srcpos.file always points into
 *   f->files, which lives as long as f.
 * - canon: "KIND ARG\n", then "\tKEY=VALUE\n" per property in order, then
 *   each child's canon with one more leading tab.  Keys and kinds are
 *   identifiers and values never hold '\n', so the text is unambiguous.
 */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 /* realpath, for builds outside the Makefile */
#endif
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dmfile.h"

enum { G_VAR, G_INCLUDE, G_DECL, G_PROP };
enum { G_REPEAT = 1, G_REQUIRED = 2, G_IDENT = 4, G_UNIQUE = 8 };

struct rule {
	const char *scope;   /* NULL: top level; else the enclosing kind */
	const char *name;    /* variable, keyword or property name */
	int what;            /* G_VAR, G_INCLUDE, G_DECL, G_PROP */
	int flags;           /* variables, properties: G_REPEAT (may be set more
	                      * than once), G_REQUIRED; declarations: G_IDENT
	                      * (the argument is an identifier), G_UNIQUE (no
	                      * two siblings share kind and argument) */
	const char *choices; /* allowed values, space-separated, or NULL */
	const char *arg;     /* G_DECL, G_INCLUDE: the argument, as in usage */
	const char *argdesc; /* ... and in words */
};

static const struct rule grammar[] = {
	{NULL, "spec", G_VAR, G_REPEAT, NULL, NULL, NULL},
	{NULL, "mode", G_VAR, 0, "safe hybrid research", NULL, NULL},
	{NULL, "llm", G_VAR, 0, NULL, NULL, NULL},
	{NULL, "include", G_INCLUDE, 0, NULL, "PATH", "a path"},
	{NULL, "atom", G_DECL, 0, NULL, "PATH", "an output path"},
	{"atom", "foreach", G_PROP, 0, NULL, NULL, NULL},
	{"atom", "template", G_PROP, G_REQUIRED, NULL, NULL, NULL},
	{"atom", "with", G_PROP, 0, NULL, NULL, NULL},
	{"atom", "after", G_PROP, G_REPEAT, NULL, NULL, NULL},
	{"atom", "check", G_PROP, G_REPEAT, NULL, NULL, NULL},
	{"atom", "pattern", G_PROP, 0, NULL, NULL, NULL},
	{"atom", "suite", G_PROP, 0, NULL, NULL, NULL},
	{"atom", "timeout", G_PROP, 0, NULL, NULL, NULL},
	{"atom", "slot", G_DECL, G_IDENT | G_UNIQUE, NULL, "NAME", "a slot name"},
	{"slot", "pattern", G_PROP, 0, NULL, NULL, NULL},
	{"slot", "prompt", G_PROP, G_REQUIRED, NULL, NULL, NULL},
	{"slot", "check", G_PROP, G_REPEAT, NULL, NULL, NULL},
	{NULL, "contract", G_DECL, G_UNIQUE, NULL, "NAME", "a contract name"},
	{"contract", "foreach", G_PROP, 0, NULL, NULL, NULL},
	{"contract", "file", G_PROP, G_REQUIRED, NULL, NULL, NULL},
	{"contract", "query", G_PROP, G_REPEAT | G_REQUIRED, NULL, NULL, NULL},
	{"contract", "optional", G_PROP, G_REPEAT, NULL, NULL, NULL},
};

#define NRULES (sizeof(grammar) / sizeof(grammar[0]))
#define MAXLEVEL 8
#define SNIP 52       /* a quote in a message: <= 48 bytes, "..." and NUL */
#define SNIP_PATH 160 /* a quoted path */

/* A logical line: text without indentation, and per byte its origin. */
struct lline {
	struct buf text;
	int *lines, *cols;
	size_t cap;
	int line;   /* physical line of the first byte of the line */
	int indent; /* blanks before the text on that line */
	int tabcol; /* column of the first tab among them, or 0 */
};

struct reader {
	const char *s;
	size_t len, off;
	int line;
};

struct level {
	struct dm_decl *decl; /* NULL at level 0 */
	const char *scope;    /* NULL at level 0, else decl->kind */
	int indent;           /* -1 until the body's first line is seen */
	int line;             /* where the indentation was set */
	struct srcpos first[NRULES]; /* first use of each property */
};

struct frame {
	char *real; /* NULL when the file has no real path (in-memory text) */
	const char *disp;
};

struct loader {
	struct dmfile *f;
	struct diag *d;
	int have_project;
	const char *stdlib;
	char *rproject, *rstdlib, *rcwd;
	struct srcpos varfirst[NRULES];
	struct frame *stack;
	size_t nstack;
	size_t nincludes; /* includes read in all */
};

/* Includes nest at most this deep (the reader recurses per file) and are
 * read at most this many times in all (a file may include another twice,
 * so a short chain could otherwise mean 2^N reads). */
#define MAX_INCLUDE_DEPTH 64
#define MAX_INCLUDES 10000

struct pstate {
	struct loader *L;
	const char *file; /* display name, in L->f->files */
	const char *real; /* real path or NULL */
	char *realdir;    /* directory relative includes start from, lazily */
	struct level lv[MAXLEVEL];
	int nlv;
	int skip; /* skip lines indented deeper than this; -1: none */
};

static void parse_text(struct loader *L, const char *file, const char *real, const char *text,
	size_t len);

/* grow: make room for element n of an array whose capacity is the next
 * power of two at or above its length. */
static void *
grow(void *p, size_t n, size_t size)
{
	if (n == 0 || (n & (n - 1)) == 0)
		return xreallocarray(p, n ? n * 2 : 1, size);
	return p;
}

static int
is_blank(int c)
{
	return c == ' ' || c == '\t';
}

static int
is_ident_start(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static int
is_ident_char(int c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9');
}

static size_t
ident_len(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || !is_ident_start((unsigned char)s[0]))
		return 0;
	for (i = 1; i < n && is_ident_char((unsigned char)s[i]); i++)
		;
	return i;
}

static const struct rule *
rule_find(const char *scope, const char *name)
{
	size_t i;

	for (i = 0; i < NRULES; i++) {
		const struct rule *r = &grammar[i];

		if (((!r->scope && !scope) || (r->scope && scope && strcmp(r->scope, scope) == 0)) &&
			strcmp(r->name, name) == 0)
			return r;
	}
	return NULL;
}

/* rule_list: "a, b or c" of the names allowed in scope whose kind is in
 * mask (a bit per G_*). */
static void
rule_list(struct buf *b, const char *scope, unsigned mask)
{
	const struct rule *hit[NRULES];
	size_t i, n = 0;

	for (i = 0; i < NRULES; i++) {
		const struct rule *r = &grammar[i];

		if (((!r->scope && !scope) || (r->scope && scope && strcmp(r->scope, scope) == 0)) &&
			(mask & (1u << r->what)))
			hit[n++] = r;
	}
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_adds(b, i + 1 == n ? " or " : ", ");
		buf_adds(b, hit[i]->name);
	}
}

/* Logical lines. */

static void
lline_add(struct lline *ll, char c, int line, int col)
{
	if (ll->text.len + 1 > ll->cap) {
		ll->cap = ll->cap ? ll->cap * 2 : 128;
		ll->lines = xreallocarray(ll->lines, ll->cap, sizeof(*ll->lines));
		ll->cols = xreallocarray(ll->cols, ll->cap, sizeof(*ll->cols));
	}
	ll->lines[ll->text.len] = line;
	ll->cols[ll->text.len] = col;
	buf_addc(&ll->text, c);
}

static void
lline_rtrim(struct lline *ll)
{
	while (ll->text.len > 0 && is_blank(ll->text.data[ll->text.len - 1]))
		ll->text.data[--ll->text.len] = '\0';
}

static void
lline_free(struct lline *ll)
{
	buf_free(&ll->text);
	free(ll->lines);
	free(ll->cols);
}

/* lpos: where byte i of the line came from; i == len means just after the
 * last byte. */
static struct srcpos
lpos(const struct pstate *ps, const struct lline *ll, size_t i)
{
	struct srcpos p;
	size_t n = ll->text.len;

	p.file = ps->file;
	if (n == 0) {
		p.line = ll->line;
		p.col = ll->indent + 1;
	} else if (i >= n) {
		p.line = ll->lines[n - 1];
		p.col = ll->cols[n - 1] + 1;
	} else {
		p.line = ll->lines[i];
		p.col = ll->cols[i];
	}
	return p;
}

static void
lerr(struct pstate *ps, const struct lline *ll, size_t i, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void
lerr(struct pstate *ps, const struct lline *ll, size_t i, const char *fmt, ...)
{
	struct srcpos p = lpos(ps, ll, i);
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(ps->L->d, p.file, p.line, p.col, fmt, ap);
	va_end(ap);
}

/* utf8_bad: the offset of the first NUL or malformed UTF-8 byte in s[0..n),
 * or n. */
static size_t
utf8_bad(const unsigned char *s, size_t n)
{
	size_t i = 0, adv;

	while (i < n) {
		if (s[i] == 0 || !(adv = utf8_char_len(s + i, n - i)))
			return i;
		i += adv;
	}
	return n;
}

/* read_line: the next logical line into ll; 0 at the end of the input. */
static int
read_line(struct pstate *ps, struct reader *r, struct lline *ll)
{
	int first = 1, any = 0;

	buf_clear(&ll->text);
	while (r->off < r->len) {
		const char *s = r->s;
		const char *nl = memchr(s + r->off, '\n', r->len - r->off);
		size_t start = r->off, end = nl ? (size_t)(nl - s) : r->len, i, bad;

		r->off = nl ? end + 1 : r->len;
		r->line++;
		any = 1;
		if (end > start && s[end - 1] == '\r')
			end--;
		bad = utf8_bad((const unsigned char *)s + start, end - start);
		if (bad < end - start) {
			unsigned char c = (unsigned char)s[start + bad];

			if (c == 0)
				diag_add(ps->L->d, ps->file, r->line, (int)bad + 1,
					"NUL byte in the file; expected text");
			else
				diag_add(ps->L->d, ps->file, r->line, (int)bad + 1,
					"invalid UTF-8 byte 0x%02X; expected UTF-8 text", c);
		}
		i = start;
		if (first) {
			ll->line = r->line;
			ll->tabcol = 0;
			for (; i < end && is_blank(s[i]); i++)
				if (s[i] == '\t' && !ll->tabcol)
					ll->tabcol = (int)(i - start) + 1;
			ll->indent = (int)(i - start);
		} else {
			while (i < end && is_blank(s[i]))
				i++;
		}
		for (; i < end; i++) {
			int col = (int)(i - start) + 1;

			if (s[i] == '#' && (i == start || is_blank(s[i - 1])))
				break;
			if (s[i] == '\\' && i + 1 < end && s[i + 1] == '#') {
				lline_add(ll, '#', r->line, col);
				i++;
				continue;
			}
			lline_add(ll, s[i] ? s[i] : '?', r->line, col);
		}
		lline_rtrim(ll);
		if (ll->text.len > 0 && ll->text.data[ll->text.len - 1] == '\\') {
			size_t last = ll->text.len - 1;
			int bl = ll->lines[last], bc = ll->cols[last];

			ll->text.data[--ll->text.len] = '\0';
			lline_rtrim(ll);
			if (ll->text.len > 0)
				lline_add(ll, ' ', bl, bc);
			first = 0;
			continue;
		}
		break;
	}
	lline_rtrim(ll);
	return any;
}

/* Paths. */

static char *
path_dir(const char *p)
{
	const char *slash = strrchr(p, '/');

	if (!slash)
		return xstrdup(".");
	if (slash == p)
		return xstrdup("/");
	return xstrndup(p, (size_t)(slash - p));
}

/* path_depth: how many components dir lies below root, or -1 when it is
 * not inside root (both real paths). */
static int
path_depth(const char *dir, const char *root)
{
	size_t n;
	int depth = 0;
	const char *p;

	if (!root)
		return -1;
	n = strlen(root);
	if (strcmp(root, "/") == 0)
		n = 0;
	else if (strncmp(dir, root, n) != 0 || (dir[n] != '\0' && dir[n] != '/'))
		return -1;
	for (p = dir + n; *p; p++)
		if (*p == '/' && p[1] != '\0' && p[1] != '/')
			depth++;
	return depth;
}

static int
path_inside(const char *p, const char *root)
{
	return path_depth(p, root) >= 0;
}

/* path_climbs: whether rel, read lexically from a directory depth levels
 * below its root, goes above the root. */
static int
path_climbs(const char *rel, int depth)
{
	const char *p = rel;

	while (*p) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (--depth < 0)
				return 1;
		} else if (n > 0 && !(n == 1 && p[0] == '.')) {
			depth++;
		}
		p += n;
		if (*p == '/')
			p++;
	}
	return 0;
}

/* add_file: name kept in f->files (once); the stored pointer. */
static const char *
add_file(struct dmfile *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->nfiles; i++)
		if (strcmp(f->files[i], name) == 0)
			return f->files[i];
	f->files = grow(f->files, f->nfiles, sizeof(*f->files));
	f->files[f->nfiles] = xstrdup(name);
	return f->files[f->nfiles++];
}

/* display_path: a real path as shown to users: relative to the current
 * directory when inside it. */
static char *
display_path(const struct loader *L, const char *real)
{
	size_t n;

	if (L->rcwd && path_inside(real, L->rcwd)) {
		n = strcmp(L->rcwd, "/") == 0 ? 0 : strlen(L->rcwd);
		if (real[n] == '/')
			return xstrdup(real + n + 1);
	}
	return xstrdup(real);
}

static void
do_include(struct pstate *ps, const struct lline *ll, size_t at)
{
	struct loader *L = ps->L;
	const char *path = ll->text.data + at;
	const char *base, *rel, *rootname;
	char *cand = NULL, *real = NULL, *data = NULL, *disp = NULL;
	struct buf chain = {0};
	struct stat st;
	char q[SNIP_PATH];
	size_t i, len;
	int depth;

	if (!*path) {
		lerr(ps, ll, at, "expected a path after 'include'");
		return;
	}
	text_snip(q, sizeof q, path, strlen(path));
	if (!L->have_project) {
		lerr(ps, ll, at, "include is not allowed here: no project directory was given");
		return;
	}
	if (path[0] == '/') {
		lerr(ps, ll, at, "include path must be relative, found '%s'", q);
		return;
	}
	if (strncmp(path, "std/", 4) == 0) {
		if (!L->stdlib || !L->rstdlib) {
			lerr(ps, ll, at, "include '%s' names the stdlib, but %s", q,
				L->stdlib ? "the stdlib directory does not exist" :
					"no stdlib directory was given");
			return;
		}
		base = L->rstdlib;
		rel = path + 4;
		depth = 0;
		rootname = "stdlib directory";
	} else {
		int dp, ds;

		if (!ps->realdir) {
			char *dir = path_dir(ps->real ? ps->real : ps->file);

			ps->realdir = ps->real ? dir : realpath(dir, NULL);
			if (!ps->real)
				free(dir);
		}
		if (!ps->realdir) {
			lerr(ps, ll, at, "cannot resolve include '%s': the directory of '%s' is not found",
				q, ps->file);
			return;
		}
		base = ps->realdir;
		rel = path;
		dp = path_depth(base, L->rproject);
		ds = path_depth(base, L->rstdlib);
		depth = dp > ds ? dp : ds;
		rootname = dp >= ds ? "project directory" : "stdlib directory";
	}
	if (depth >= 0 && path_climbs(rel, depth)) {
		lerr(ps, ll, at, "include path '%s' leaves the %s through '..'", q, rootname);
		return;
	}
	cand = strcmp(base, "/") == 0 ? xasprintf("/%s", rel) : xasprintf("%s/%s", base, rel);
	real = realpath(cand, NULL);
	if (!real) {
		if (errno == ENOENT || errno == ENOTDIR)
			lerr(ps, ll, at, "include file '%s' not found (looked for '%s')", q, cand);
		else
			lerr(ps, ll, at, "cannot resolve include '%s': %s", q, strerror(errno));
		goto out;
	}
	if (!path_inside(real, L->rproject) && !path_inside(real, L->rstdlib)) {
		lerr(ps, ll, at,
			"include path '%s' resolves to '%s', outside the project directory and the stdlib",
			q, real);
		goto out;
	}
	if (stat(real, &st) != 0 || !S_ISREG(st.st_mode)) {
		lerr(ps, ll, at, "include path '%s' is not a regular file", q);
		goto out;
	}
	disp = display_path(L, real);
	for (i = 0; i < L->nstack; i++)
		if (L->stack[i].real && strcmp(L->stack[i].real, real) == 0)
			break;
	if (i < L->nstack) {
		for (i = 0; i < L->nstack; i++)
			buf_printf(&chain, "%s -> ", L->stack[i].disp);
		buf_adds(&chain, disp);
		lerr(ps, ll, at, "include cycle: %s", chain.data);
		goto out;
	}
	if (L->nstack >= MAX_INCLUDE_DEPTH) {
		lerr(ps, ll, at, "include '%s': includes nested deeper than %d files", q,
			MAX_INCLUDE_DEPTH);
		goto out;
	}
	if (++L->nincludes > MAX_INCLUDES) {
		if (L->nincludes == MAX_INCLUDES + 1)
			lerr(ps, ll, at, "include '%s': more than %d includes in all", q,
				MAX_INCLUDES);
		goto out;
	}
	if (file_read(real, &data, &len) != 0) {
		lerr(ps, ll, at, "cannot read include '%s': %s", q, strerror(errno));
		goto out;
	}
	L->stack = grow(L->stack, L->nstack, sizeof(*L->stack));
	L->stack[L->nstack].real = real;
	L->stack[L->nstack].disp = add_file(L->f, disp);
	L->nstack++;
	parse_text(L, L->stack[L->nstack - 1].disp, real, data, len);
	L->nstack--;
out:
	buf_free(&chain);
	free(cand);
	free(real);
	free(data);
	free(disp);
}

/* Declarations and properties. */

static void
close_level(struct pstate *ps)
{
	struct level *lv = &ps->lv[--ps->nlv];
	struct dm_decl *dc = lv->decl;
	char s[SNIP_PATH];
	size_t i;

	for (i = 0; i < NRULES; i++) {
		const struct rule *r = &grammar[i];

		if (r->what != G_PROP || !(r->flags & G_REQUIRED) || strcmp(r->scope, lv->scope) != 0 ||
			lv->first[i].file)
			continue;
		if (*dc->arg)
			diag_add(ps->L->d, dc->pos.file, dc->pos.line, dc->pos.col,
				"%s '%s' has no %s; expected a line '%s = ...' under it", dc->kind,
				text_snip(s, sizeof s, dc->arg, strlen(dc->arg)), r->name, r->name);
		else
			diag_add(ps->L->d, dc->pos.file, dc->pos.line, dc->pos.col,
				"%s has no %s; expected a line '%s = ...' under it", dc->kind, r->name,
				r->name);
	}
}

static void
open_decl(struct pstate *ps, int k, const struct lline *ll, const struct rule *r, size_t at)
{
	struct dmfile *f = ps->L->f;
	struct dm_decl *parent = ps->lv[k].decl, *dc, *sib;
	size_t i, nsib;
	const char *arg = ll->text.data + at;
	char s[SNIP];

	if (k + 1 >= MAXLEVEL) {
		lerr(ps, ll, 0, "declarations nested too deeply");
		return;
	}
	if (parent) {
		parent->children = grow(parent->children, parent->nchildren, sizeof(*dc));
		dc = &parent->children[parent->nchildren++];
		sib = parent->children;
		nsib = parent->nchildren - 1;
	} else {
		f->decls = grow(f->decls, f->ndecls, sizeof(*dc));
		dc = &f->decls[f->ndecls++];
		sib = f->decls;
		nsib = f->ndecls - 1;
	}
	memset(dc, 0, sizeof(*dc));
	dc->kind = xstrdup(r->name);
	dc->arg = xstrdup(arg);
	dc->pos = lpos(ps, ll, 0);
	dc->argpos = lpos(ps, ll, at);
	if (!*arg)
		lerr(ps, ll, at, "expected %s after '%s'", r->argdesc, r->name);
	else if ((r->flags & G_IDENT) && ident_len(arg, strlen(arg)) != strlen(arg))
		lerr(ps, ll, at,
			"expected %s (letters, digits and '_', not starting with a digit), found '%s'",
			r->argdesc, text_snip(s, sizeof s, arg, strlen(arg)));
	else if (r->flags & G_UNIQUE)
		for (i = 0; i < nsib; i++)
			if (strcmp(sib[i].kind, dc->kind) == 0 && strcmp(sib[i].arg, arg) == 0) {
				lerr(ps, ll, at, "%s '%s' declared twice (first at %s:%d:%d)", r->name,
					text_snip(s, sizeof s, arg, strlen(arg)), sib[i].argpos.file,
					sib[i].argpos.line, sib[i].argpos.col);
				break;
			}
	memset(&ps->lv[k + 1], 0, sizeof(ps->lv[k + 1]));
	ps->lv[k + 1].decl = dc;
	ps->lv[k + 1].scope = dc->kind;
	ps->lv[k + 1].indent = -1;
	ps->nlv = k + 2;
}

static void
assign(struct pstate *ps, int k, const struct lline *ll, const struct rule *r, size_t w, size_t eq)
{
	const char *c = ll->text.data, *scope = ps->lv[k].scope;
	size_t v = eq + 1, n = ll->text.len;
	struct srcpos *first, kpos = lpos(ps, ll, 0);
	struct dm_prop *p;
	struct buf m = {0};
	char s[SNIP];

	while (v < n && is_blank(c[v]))
		v++;
	if (r && (r->what == G_DECL || r->what == G_INCLUDE)) {
		lerr(ps, ll, eq, "expected '%s %s', found '='", r->name, r->arg);
		return;
	}
	if (!r) {
		rule_list(&m, scope, 1u << (k == 0 ? G_VAR : G_PROP));
		text_snip(s, sizeof s, c, w);
		if (k == 0)
			lerr(ps, ll, 0, "unknown variable '%s'; expected %s", s, m.data);
		else
			lerr(ps, ll, 0, "unknown property '%s' in %s; expected %s", s, scope, m.data);
		buf_free(&m);
		return;
	}
	first = k == 0 ? &ps->L->varfirst[r - grammar] : &ps->lv[k].first[r - grammar];
	if (first->file && !(r->flags & G_REPEAT)) {
		if (k == 0)
			lerr(ps, ll, 0, "variable '%s' set twice (first at %s:%d:%d)", r->name,
				first->file, first->line, first->col);
		else
			lerr(ps, ll, 0, "property '%s' set twice in this %s (first at %s:%d:%d)", r->name,
				scope, first->file, first->line, first->col);
		return;
	}
	if (!first->file)
		*first = kpos;
	if (v == n) {
		lerr(ps, ll, eq + 1, "expected a value after '='");
		return;
	}
	if (r->choices) {
		const char *ch = r->choices, *e;
		size_t vl = n - v;

		for (; *ch; ch = *e ? e + 1 : e) {
			e = strchr(ch, ' ');
			if (!e)
				e = ch + strlen(ch);
			if ((size_t)(e - ch) == vl && memcmp(ch, c + v, vl) == 0)
				break;
		}
		if (!*ch) {
			for (ch = r->choices; *ch; ch = *e ? e + 1 : e) {
				e = strchr(ch, ' ');
				if (!e)
					e = ch + strlen(ch);
				if (ch != r->choices)
					buf_adds(&m, *e ? ", " : " or ");
				buf_add(&m, ch, (size_t)(e - ch));
			}
			lerr(ps, ll, v, "expected %s, found '%s'", m.data,
				text_snip(s, sizeof s, c + v, vl));
			buf_free(&m);
			return;
		}
	}
	if (k == 0) {
		struct dmfile *f = ps->L->f;

		f->vars = grow(f->vars, f->nvars, sizeof(*p));
		p = &f->vars[f->nvars++];
	} else {
		struct dm_decl *dc = ps->lv[k].decl;

		dc->props = grow(dc->props, dc->nprops, sizeof(*p));
		p = &dc->props[dc->nprops++];
	}
	p->key = xstrdup(r->name);
	p->value = xstrndup(c + v, n - v);
	p->pos = kpos;
	p->vpos = lpos(ps, ll, v);
}

/* scope_line: one logical line that belongs to level k. */
static void
scope_line(struct pstate *ps, int k, const struct lline *ll)
{
	const char *c = ll->text.data, *scope = ps->lv[k].scope;
	size_t n = ll->text.len, w = ident_len(c, n), p = w;
	const struct rule *r;
	struct buf m = {0};
	char *word, s[SNIP], ws[SNIP];

	if (w == 0) {
		if (k == 0)
			lerr(ps, ll, 0, "expected a variable, include or a declaration, found '%s'",
				text_snip(s, sizeof s, c, n));
		else
			lerr(ps, ll, 0, "expected a property name in %s, found '%s'", scope,
				text_snip(s, sizeof s, c, n));
		ps->skip = ll->indent;
		return;
	}
	while (p < n && is_blank(c[p]))
		p++;
	word = xstrndup(c, w);
	r = rule_find(scope, word);
	if (p < n && c[p] == '=') {
		assign(ps, k, ll, r, w, p);
	} else if (!r) {
		rule_list(&m, scope, 1u << G_INCLUDE | 1u << G_DECL | 1u << G_PROP);
		text_snip(ws, sizeof ws, c, w);
		if (k == 0)
			lerr(ps, ll, 0, "unknown keyword '%s'; expected %s, or 'NAME = VALUE'", ws,
				m.data);
		else
			lerr(ps, ll, 0, "unknown property '%s' in %s; expected %s", ws, scope, m.data);
		ps->skip = ll->indent;
	} else if (r->what == G_VAR || r->what == G_PROP) {
		if (p == n)
			lerr(ps, ll, p, "expected '=' after '%s', found the end of the line", word);
		else
			lerr(ps, ll, p, "expected '=' after '%s', found '%s'", word,
				text_snip(s, sizeof s, c + p, n - p));
	} else if (p == w && p < n) {
		lerr(ps, ll, p, "expected a space after '%s', found '%s'", word,
			text_snip(s, sizeof s, c + p, n - p));
		ps->skip = ll->indent;
	} else if (r->what == G_INCLUDE) {
		do_include(ps, ll, p);
	} else {
		open_decl(ps, k, ll, r, p);
	}
	free(word);
	buf_free(&m);
}

/* match_level: the level a line with this indentation belongs to, or -1
 * after reporting why it belongs to none. */
static int
match_level(struct pstate *ps, const struct lline *ll)
{
	int k, n = ll->indent;
	const struct level *lv;

	for (k = ps->nlv - 1; k >= 0; k--) {
		lv = &ps->lv[k];
		if (lv->indent < 0) {
			if (n > ps->lv[k - 1].indent)
				return k;
			continue;
		}
		if (n == lv->indent)
			return k;
		if (n > lv->indent)
			break;
	}
	if (k == 0 && ps->nlv == 1) {
		lerr(ps, ll, 0, "unexpected indentation: no atom or contract above this line");
		ps->skip = 0;
		return -1;
	}
	lv = k + 1 < ps->nlv && ps->lv[k + 1].indent >= 0 ? &ps->lv[k + 1] : &ps->lv[k];
	lerr(ps, ll, 0, "bad indentation: expected %d spaces (as on line %d), found %d", lv->indent,
		lv->line, n);
	return -1;
}

static void
handle_line(struct pstate *ps, const struct lline *ll)
{
	int k;

	if (ps->skip >= 0) {
		if (ll->indent > ps->skip)
			return;
		ps->skip = -1;
	}
	if (ll->tabcol) {
		diag_add(ps->L->d, ps->file, ll->line, ll->tabcol,
			"tab in indentation; expected spaces");
		return;
	}
	k = match_level(ps, ll);
	if (k < 0)
		return;
	while (ps->nlv - 1 > k)
		close_level(ps);
	if (ps->lv[k].indent < 0) {
		ps->lv[k].indent = ll->indent;
		ps->lv[k].line = ll->line;
	}
	scope_line(ps, k, ll);
}

static void
parse_text(struct loader *L, const char *file, const char *real, const char *text, size_t len)
{
	struct pstate ps;
	struct reader r;
	struct lline ll;

	memset(&ps, 0, sizeof(ps));
	memset(&ll, 0, sizeof(ll));
	ps.L = L;
	ps.file = file;
	ps.real = real;
	ps.nlv = 1;
	ps.skip = -1;
	r.s = text;
	r.len = len;
	r.off = 0;
	r.line = 0;
	while (read_line(&ps, &r, &ll))
		if (ll.text.len > 0)
			handle_line(&ps, &ll);
	while (ps.nlv > 1)
		close_level(&ps);
	lline_free(&ll);
	free(ps.realdir);
}

/* Canonical text. */

static void
canon_build(struct buf *b, const struct dm_decl *dc, int depth)
{
	size_t i;
	int t;

	for (t = 0; t < depth; t++)
		buf_addc(b, '\t');
	buf_printf(b, "%s %s\n", dc->kind, dc->arg);
	for (i = 0; i < dc->nprops; i++) {
		for (t = 0; t <= depth; t++)
			buf_addc(b, '\t');
		buf_printf(b, "%s=%s\n", dc->props[i].key, dc->props[i].value);
	}
	for (i = 0; i < dc->nchildren; i++)
		canon_build(b, &dc->children[i], depth + 1);
}

static void
canon_set(struct dm_decl *dc)
{
	struct buf b = {0};
	size_t i;

	for (i = 0; i < dc->nchildren; i++)
		canon_set(&dc->children[i]);
	canon_build(&b, dc, 0);
	dc->canon = buf_release(&b);
}

/* Entry points. */

static int
load(const char *name, const char *text, size_t len, const char *project, const char *stdlib,
	struct dmfile **out, struct diag *d)
{
	struct loader L;
	size_t i, nerr = d->nerrors;
	const char *file;

	memset(&L, 0, sizeof(L));
	L.f = xcalloc(1, sizeof(*L.f));
	L.d = d;
	L.stdlib = stdlib;
	if (project) {
		L.have_project = 1;
		L.rproject = realpath(project, NULL);
		L.rstdlib = stdlib ? realpath(stdlib, NULL) : NULL;
		L.rcwd = realpath(".", NULL);
	}
	file = add_file(L.f, name ? name : "-");
	L.stack = grow(L.stack, 0, sizeof(*L.stack));
	L.stack[0].real = project && name ? realpath(name, NULL) : NULL;
	L.stack[0].disp = file;
	L.nstack = 1;
	parse_text(&L, file, L.stack[0].real, text, len);
	free(L.stack[0].real);
	free(L.stack);
	free(L.rproject);
	free(L.rstdlib);
	free(L.rcwd);
	if (d->nerrors > nerr) {
		dmfile_free(L.f);
		*out = NULL;
		return DM_EINPUT;
	}
	for (i = 0; i < L.f->ndecls; i++)
		canon_set(&L.f->decls[i]);
	*out = L.f;
	return 0;
}

int
dmfile_parse(const char *name, const char *text, size_t len, const char *project,
	const char *stdlib, struct dmfile **out, struct diag *d)
{
	return load(name, text, len, project, stdlib, out, d);
}

int
dmfile_load(const char *path, const char *project, const char *stdlib, struct dmfile **out,
	struct diag *d)
{
	char *data, *dir = NULL;
	size_t len;
	int rc;

	*out = NULL;
	rc = file_read(path, &data, &len);
	if (rc != 0) {
		if (rc == DM_ENOTFOUND)
			diag_add(d, path, 0, 0, "no such file; expected a DMfile here");
		else
			diag_add(d, path, 0, 0, "cannot read: %s", strerror(errno));
		return rc;
	}
	if (!project)
		project = dir = path_dir(path);
	rc = load(path, data, len, project, stdlib, out, d);
	free(dir);
	free(data);
	return rc;
}

static void
decl_free(struct dm_decl *dc)
{
	size_t i;

	for (i = 0; i < dc->nprops; i++) {
		free(dc->props[i].key);
		free(dc->props[i].value);
	}
	for (i = 0; i < dc->nchildren; i++)
		decl_free(&dc->children[i]);
	free(dc->props);
	free(dc->children);
	free(dc->kind);
	free(dc->arg);
	free(dc->canon);
}

void
dmfile_free(struct dmfile *f)
{
	size_t i;

	if (!f)
		return;
	for (i = 0; i < f->nvars; i++) {
		free(f->vars[i].key);
		free(f->vars[i].value);
	}
	for (i = 0; i < f->ndecls; i++)
		decl_free(&f->decls[i]);
	for (i = 0; i < f->nfiles; i++)
		free(f->files[i]);
	free(f->vars);
	free(f->decls);
	free(f->files);
	free(f);
}

const struct dm_prop *
dm_get(const struct dm_decl *d, const char *key)
{
	size_t i;

	for (i = 0; i < d->nprops; i++)
		if (strcmp(d->props[i].key, key) == 0)
			return &d->props[i];
	return NULL;
}

const struct dm_prop *
dm_var(const struct dmfile *f, const char *name)
{
	size_t i;

	for (i = f->nvars; i > 0; i--)
		if (strcmp(f->vars[i - 1].key, name) == 0)
			return &f->vars[i - 1];
	return NULL;
}
