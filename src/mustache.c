/* mustache.c - parse Mustache templates once, render them many times.
 *
 * Parsing runs in three passes over a private copy of the source:
 *  1. tokenize: text runs and tags, following {{=| |=}} delimiter changes;
 *  2. standalone lines: a section, inverted, end, comment, delimiter,
 *     partial, parent or block tag alone on its line (blanks around it)
 *     removes the line.  So do these adjacent pairs on one line:
 *     {{<p}}{{/p}}, {{<p}}{{$b}}, {{/b}}{{/p}} and {{$b}}{{/b}} (the last
 *     keeps its newline);
 *  3. build the tree.  Text is cut at line ends; a node that begins a
 *     source line (TEXT with bol set, empty when the line starts with a
 *     tag) is where indentation goes, and no node begins a removed line.
 *
 * Indentation at render time: every source line start emits the current
 * prefix and drops up to `strip` of its leading blanks (blank lines get no
 * prefix).  A standalone partial or parent adds the blanks before its tag
 * to the prefix.  A block whose opening tag is standalone has an
 * indentation: the common leading blanks of its body, or if there are none
 * the blanks before the tag.  When a block is expanded (its default body,
 * an override from a child template, or a fill from the block hook), the
 * text is dedented by its own common indentation and indented with the
 * block's ("Block indentation is removed at the site of definition and
 * added at the site of expansion").
 *
 * Inheritance: each parent tag being rendered pushes a frame holding its
 * direct {{$block}} children.  A block takes the override of the
 * outermost frame that has one; that override's body is rendered with the
 * frames that were active where it was written, so a block never finds
 * itself again.  Blocks that come from the outermost template (rendered
 * directly or passed into a parent) first ask hooks->block; an accepted
 * fill is inserted as text, never parsed: dedented, indented like the block
 * when the block is standalone, and given a final newline when the block's
 * body ends at a line end.
 *
 * A struct mst never changes after mst_parse.  All render state (context
 * stack, frames, counters) lives in the mst_render call, so any number of
 * threads may render one tree at once.  Limits: partial/parent nesting
 * MST_MAX_DEPTH, render nesting MST_MAX_NEST, work MST_MAX_STEPS (node
 * visits plus context frames searched) and MST_MAX_OUTPUT bytes per
 * render; exceeding one is DM_EINPUT and leaves the output buffer as it
 * was.  The cancel flag of the hooks is read at every node visit, so an
 * interrupted render stops at the next node (DM_EINTR, no message, the
 * output buffer restored), long before the step budget would run out.
 *
 * Positions: every node, text included, carries the file line and column
 * (bytes, 1-based) where it starts, offset by where the template starts
 * in its file (mst_parse_at).  A render error is placed at the node being
 * visited when it is a tag, else at the innermost tag being expanded
 * (rstate.tag, in the template rstate.tag_t), so a budget that runs out
 * inside a loop's text points at the loop.  User text quoted in a message
 * (names, delimiters) goes through text_snip, cut to MST_SNIP bytes.
 *
 * Strings made by case helpers ({{name.snake}}) are temporary values owned
 * by the render; they are never reported to the probe and use hooks.  No
 * allocation per helper: a value interpolated at once is made in the
 * render's scratch (its buffers reused by every lookup), a section's in
 * the section's own, which lives while its body renders.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "inflect.h"
#include "mustache.h"

#define MST_MAX_DEPTH 100
#define MST_MAX_NEST 1000
#define MST_MAX_STEPS (1UL << 23)
#define MST_MAX_OUTPUT ((size_t)256 << 20)
#define MST_SNIP 52 /* a name quoted in a message: <= 48 bytes, "..." and NUL */

enum node_kind { N_TEXT, N_VAR, N_RAW, N_SECTION, N_INVERTED, N_PARTIAL, N_PARENT, N_BLOCK };

struct part {
	const char *s;
	size_t n;
};

/* A dotted name: parts, after the top frame when dot is set ("." or
 * ".snake"). */
struct name {
	struct part *parts;
	size_t nparts;
	int dot;
};

struct node {
	enum node_kind kind;
	int line, col;
	const char *s; /* TEXT: bytes; tags: the name (after '*' if dynamic) */
	size_t n;
	size_t ws;     /* TEXT with bol: leading blanks */
	unsigned bol : 1, blank : 1, standalone : 1, dynamic : 1, body_eol : 1;
	struct name nm; /* VAR, RAW, SECTION, INVERTED; dynamic PARTIAL, PARENT */
	const char *ind; /* PARTIAL, PARENT, BLOCK when standalone */
	size_t indlen;
	size_t dedent;  /* BLOCK: common indentation of the body */
	struct node *kids;
	size_t nkids, cap;
};

struct mst {
	char *name;
	char *src;
	size_t len;
	struct node root;
};

/* ---- parsing ---- */

enum tok_kind {
	T_TEXT, T_VAR, T_RAW, T_SECTION, T_INVERTED, T_CLOSE, T_PARTIAL, T_PARENT, T_BLOCK,
	T_COMMENT, T_DELIM
};

struct tok {
	enum tok_kind kind;
	size_t start, end;   /* the whole token */
	size_t nstart, nlen; /* the name, trimmed, after '*' when dynamic */
	int line, col;
	enum tok_kind closes; /* T_CLOSE: the kind it closes, T_TEXT if none */
	unsigned dynamic : 1;
	unsigned cut_pre : 1;  /* remove the blanks before it on its line */
	unsigned cut_post : 1; /* remove the blanks after it and the newline */
	unsigned cut_keepnl : 1; /* remove the blanks after it, keep the newline */
	unsigned tag_sa : 1;   /* partial, parent: indent by the blanks before */
	unsigned block_sa : 1; /* block: its body starts on its own line */
};

struct parser {
	const char *name;
	const char *src;
	size_t len;
	int line0, col0; /* where src[0] is in the file */
	struct diag *d;
	int nerr;
	struct tok *toks;
	size_t ntoks, cap;
	size_t *lines; /* offset of each line's start, ascending */
	size_t nlines;
};

static void
perr(struct parser *p, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void
perr(struct parser *p, int line, int col, const char *fmt, ...)
{
	va_list ap;

	p->nerr++;
	if (!p->d)
		return;
	va_start(ap, fmt);
	diag_vadd(p->d, p->name, line, col, fmt, ap);
	va_end(ap);
}

/* line_index: the index in p->lines of the line holding pos (a binary
 * search: one very long line must not make every tag on it cost its
 * length). */
static size_t
line_index(const struct parser *p, size_t pos)
{
	size_t lo = 0, hi = p->nlines;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->lines[mid] <= pos)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* position: the file's line and column of src[pos]. */
static void
position(const struct parser *p, size_t pos, int *line, int *col)
{
	size_t k = line_index(p, pos);

	*line = p->line0 + (int)k;
	*col = (int)(pos - p->lines[k]) + 1 + (k == 0 ? p->col0 - 1 : 0);
}

static int
is_blank(int c)
{
	return c == ' ' || c == '\t';
}

static int
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static const char *
find(const char *s, size_t from, size_t len, const char *pat, size_t plen)
{
	size_t i;

	if (plen == 0 || len < plen)
		return NULL;
	for (i = from; i + plen <= len; i++)
		if (s[i] == pat[0] && memcmp(s + i, pat, plen) == 0)
			return s + i;
	return NULL;
}

static struct tok *
tok_add(struct parser *p, enum tok_kind kind, size_t start, size_t end)
{
	struct tok *t;

	if (p->ntoks == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 64;
		p->toks = xreallocarray(p->toks, p->cap, sizeof *p->toks);
	}
	t = &p->toks[p->ntoks++];
	memset(t, 0, sizeof *t);
	t->kind = kind;
	t->start = start;
	t->end = end;
	t->closes = T_TEXT;
	return t;
}

static void
trim(const char *s, size_t *a, size_t *b)
{
	while (*a < *b && is_space((unsigned char)s[*a]))
		(*a)++;
	while (*b > *a && is_space((unsigned char)s[*b - 1]))
		(*b)--;
}

static const char *
sigil_text(enum tok_kind k)
{
	switch (k) {
	case T_SECTION: return "#";
	case T_INVERTED: return "^";
	case T_CLOSE: return "/";
	case T_PARTIAL: return ">";
	case T_PARENT: return "<";
	case T_BLOCK: return "$";
	case T_RAW: return "&";
	default: return "";
	}
}

/* check_name: a tag name must be one word. */
static void
check_name(struct parser *p, struct tok *t)
{
	size_t i;

	if (t->nlen == 0) {
		perr(p, t->line, t->col, "empty tag name: expected a name after '{{%s'",
			sigil_text(t->kind));
		return;
	}
	for (i = 0; i < t->nlen; i++) {
		if (is_space((unsigned char)p->src[t->nstart + i])) {
			char q[MST_SNIP];

			perr(p, t->line, t->col, "expected one name in the tag, found '%s'",
				text_snip(q, sizeof q, p->src + t->nstart, t->nlen));
			return;
		}
	}
}

/* set_delims: parse "OPEN CLOSE" of a {{=OPEN CLOSE=}} tag. */
static int
set_delims(struct parser *p, struct tok *t, size_t a, size_t b, char *open, char *close)
{
	size_t i, j, k;

	trim(p->src, &a, &b);
	for (i = a; i < b && !is_space((unsigned char)p->src[i]); i++)
		;
	for (j = i; j < b && is_space((unsigned char)p->src[j]); j++)
		;
	for (k = j; k < b && !is_space((unsigned char)p->src[k]); k++)
		;
	if (i == a || j == i || k == j || k != b || i - a > 31 || k - j > 31 ||
	    memchr(p->src + a, '=', i - a) || memchr(p->src + j, '=', k - j)) {
		char q[MST_SNIP];

		perr(p, t->line, t->col,
			"bad delimiter change: expected {{=OPEN CLOSE=}} with two words "
			"without '=', found '%s'", text_snip(q, sizeof q, p->src + a, b - a));
		return -1;
	}
	memcpy(open, p->src + a, i - a);
	open[i - a] = '\0';
	memcpy(close, p->src + j, k - j);
	close[k - j] = '\0';
	return 0;
}

static int
tokenize(struct parser *p)
{
	char open[32] = "{{", close[32] = "}}", pat[40];
	size_t pos = 0, olen, q, a, b;
	const char *hit;
	struct tok *t;
	int line, col;

	while (pos < p->len) {
		olen = strlen(open);
		hit = find(p->src, pos, p->len, open, olen);
		if (!hit) {
			tok_add(p, T_TEXT, pos, p->len);
			break;
		}
		if ((size_t)(hit - p->src) > pos)
			tok_add(p, T_TEXT, pos, (size_t)(hit - p->src));
		a = (size_t)(hit - p->src);
		position(p, a, &line, &col);
		q = a + olen;
		while (q < p->len && is_space((unsigned char)p->src[q]))
			q++;
		t = tok_add(p, T_VAR, a, a);
		t->line = line;
		t->col = col;
		switch (q < p->len ? p->src[q] : '\0') {
		case '!': t->kind = T_COMMENT; q++; break;
		case '=': t->kind = T_DELIM; q++; break;
		case '{': t->kind = T_RAW; q++; break;
		case '&': t->kind = T_RAW; q++; break;
		case '#': t->kind = T_SECTION; q++; break;
		case '^': t->kind = T_INVERTED; q++; break;
		case '/': t->kind = T_CLOSE; q++; break;
		case '>': t->kind = T_PARTIAL; q++; break;
		case '<': t->kind = T_PARENT; q++; break;
		case '$': t->kind = T_BLOCK; q++; break;
		default: break;
		}
		pat[0] = '\0';
		if (t->kind == T_DELIM)
			strcpy(pat, "=");
		else if (t->kind == T_RAW && p->src[q - 1] == '{')
			strcpy(pat, "}");
		strcat(pat, close);
		hit = find(p->src, q, p->len, pat, strlen(pat));
		if (!hit) {
			char sn[MST_SNIP];

			perr(p, line, col, "unclosed tag: expected '%s' before the end of the file",
				text_snip(sn, sizeof sn, pat, strlen(pat)));
			return -1;
		}
		b = (size_t)(hit - p->src);
		t->end = b + strlen(pat);
		if (t->kind == T_DELIM) {
			if (set_delims(p, t, q, b, open, close) < 0)
				return -1;
		} else if (t->kind != T_COMMENT) {
			trim(p->src, &q, &b);
			if ((t->kind == T_PARTIAL || t->kind == T_PARENT || t->kind == T_CLOSE) &&
			    q < b && p->src[q] == '*') {
				t->dynamic = 1;
				q++;
				trim(p->src, &q, &b);
			}
			t->nstart = q;
			t->nlen = b - q;
			check_name(p, t);
		}
		pos = t->end;
	}
	return 0;
}

/* line_start: where the line holding pos starts. */
static size_t
line_start(const struct parser *p, size_t pos)
{
	return p->lines[line_index(p, pos)];
}

static int
blank_before(const struct parser *p, size_t pos)
{
	size_t i;

	for (i = pos; i > 0 && p->src[i - 1] != '\n'; i--)
		if (!is_blank((unsigned char)p->src[i - 1]))
			return 0;
	return 1;
}

/* blank_after: 1 if only blanks follow pos up to a line end or the end of
 * the file; *nl is where the line end starts, *eol just after it. */
static int
blank_after(const struct parser *p, size_t pos, size_t *nl, size_t *eol)
{
	size_t i = pos;

	while (i < p->len && is_blank((unsigned char)p->src[i]))
		i++;
	if (nl)
		*nl = i;
	if (i == p->len) {
		if (eol)
			*eol = i;
		return 1;
	}
	if (p->src[i] == '\n') {
		if (eol)
			*eol = i + 1;
		return 1;
	}
	if (p->src[i] == '\r' && i + 1 < p->len && p->src[i + 1] == '\n') {
		if (eol)
			*eol = i + 2;
		return 1;
	}
	return 0;
}

static int
can_stand(enum tok_kind k)
{
	return k != T_TEXT && k != T_VAR && k != T_RAW;
}

static void
mark_standalone(struct parser *p)
{
	size_t i, sp = 0, cap = 0;
	enum tok_kind *stack = NULL;
	struct tok *a, *b;

	/* what each end tag closes, for the pair rules */
	for (i = 0; i < p->ntoks; i++) {
		a = &p->toks[i];
		if (a->kind == T_SECTION || a->kind == T_INVERTED || a->kind == T_PARENT ||
		    a->kind == T_BLOCK) {
			if (sp == cap) {
				cap = cap ? 2 * cap : 16;
				stack = xreallocarray(stack, cap, sizeof *stack);
			}
			stack[sp++] = a->kind;
		} else if (a->kind == T_CLOSE && sp > 0) {
			a->closes = stack[--sp];
		}
	}
	free(stack);

	for (i = 0; i < p->ntoks; i++) {
		a = &p->toks[i];
		if (can_stand(a->kind) && blank_before(p, a->start) &&
		    blank_after(p, a->end, NULL, NULL)) {
			a->cut_pre = a->cut_post = 1;
			a->tag_sa = a->kind == T_PARTIAL || a->kind == T_PARENT;
			a->block_sa = a->kind == T_BLOCK;
		}
	}
	for (i = 0; i + 1 < p->ntoks; i++) {
		a = &p->toks[i];
		b = &p->toks[i + 1];
		if (a->kind == T_TEXT || b->kind == T_TEXT || a->end != b->start ||
		    !blank_before(p, a->start) || !blank_after(p, b->end, NULL, NULL))
			continue;
		if (a->kind == T_PARENT && b->kind == T_CLOSE && b->closes == T_PARENT) {
			a->cut_pre = b->cut_post = 1;
			a->tag_sa = 1;
		} else if (a->kind == T_PARENT && b->kind == T_BLOCK) {
			a->cut_pre = b->cut_post = 1;
			a->tag_sa = b->block_sa = 1;
		} else if (a->kind == T_CLOSE && a->closes == T_BLOCK && b->kind == T_CLOSE &&
			   b->closes == T_PARENT) {
			a->cut_pre = b->cut_post = 1;
		} else if (a->kind == T_BLOCK && b->kind == T_CLOSE && b->closes == T_BLOCK) {
			a->cut_pre = b->cut_keepnl = 1;
			a->block_sa = 1;
		}
	}
}

static struct node *
node_add(struct node *parent, enum node_kind kind)
{
	struct node *n;

	if (parent->nkids == parent->cap) {
		parent->cap = parent->cap ? 2 * parent->cap : 8;
		parent->kids = xreallocarray(parent->kids, parent->cap, sizeof *parent->kids);
	}
	n = &parent->kids[parent->nkids++];
	memset(n, 0, sizeof *n);
	n->kind = kind;
	return n;
}

static void
name_split(struct name *nm, const char *s, size_t n)
{
	size_t i, start, k = 1;

	nm->dot = 0;
	if (n == 1 && s[0] == '.') {
		nm->dot = 1;
		nm->nparts = 0;
		nm->parts = NULL;
		return;
	}
	if (n > 1 && s[0] == '.') {
		nm->dot = 1;
		s++;
		n--;
	}
	for (i = 0; i < n; i++)
		if (s[i] == '.')
			k++;
	nm->parts = xreallocarray(NULL, k, sizeof *nm->parts);
	nm->nparts = 0;
	for (start = 0, i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		nm->parts[nm->nparts].s = s + start;
		nm->parts[nm->nparts].n = i - start;
		nm->nparts++;
		start = i + 1;
	}
}

/* add_text: src[a, b) as TEXT nodes, one per source line. */
static void
add_text(const struct parser *p, struct node *parent, size_t a, size_t b)
{
	size_t e, i;
	struct node *n;

	while (a < b) {
		for (e = a; e < b && p->src[e] != '\n'; e++)
			;
		if (e < b)
			e++;
		n = node_add(parent, N_TEXT);
		n->s = p->src + a;
		n->n = e - a;
		position(p, a, &n->line, &n->col);
		if (a == 0 || p->src[a - 1] == '\n') {
			n->bol = 1;
			for (i = a; i < e && is_blank((unsigned char)p->src[i]); i++)
				;
			n->ws = i - a;
			if ((i == e && e == p->len) || (i < e && p->src[i] == '\n') ||
			    (i + 1 < e && p->src[i] == '\r' && p->src[i + 1] == '\n'))
				n->blank = 1;
		}
		a = e;
	}
}

/* block_layout: dedent and indentation of a block's body src[a, b). */
static void
block_layout(const struct parser *p, struct node *n, const struct tok *open, size_t a,
	size_t b)
{
	size_t i, ws, common = 0, ref = 0;
	int have = 0;

	n->body_eol = b > a && p->src[b - 1] == '\n';
	if (!open->block_sa)
		return;
	n->standalone = 1;
	for (i = a; i < b;) {
		size_t s = i;

		while (i < b && is_blank((unsigned char)p->src[i]))
			i++;
		ws = i - s;
		if (i < b && p->src[i] != '\n' && p->src[i] != '\r') {
			if (!have) {
				ref = s;
				common = ws;
				have = 1;
			} else {
				size_t k = 0;

				while (k < common && k < ws && p->src[s + k] == p->src[ref + k])
					k++;
				common = k;
			}
		}
		while (i < b && p->src[i] != '\n')
			i++;
		if (i < b)
			i++;
	}
	n->dedent = common;
	if (common > 0) {
		n->ind = p->src + ref;
		n->indlen = common;
	} else if (open->cut_pre) {
		n->ind = p->src + line_start(p, open->start);
		n->indlen = (size_t)(p->src + open->start - n->ind);
	}
}

struct open_tag {
	struct node *node;
	size_t tok;
};

/* tok_name: the name of tag k, quotable in a message, in dst. */
static const char *
tok_name(const struct parser *p, const struct tok *k, char *dst, size_t size)
{
	return text_snip(dst, size, p->src + k->nstart, k->nlen);
}

static int
build(struct parser *p, struct mst *t)
{
	struct open_tag *stack = NULL;
	size_t sp = 0, cap = 0, i, a, b;
	struct node *cur = &t->root, *n;
	struct tok *k, *o;
	char q1[MST_SNIP], q2[MST_SNIP];
	int rc = 0;

	for (i = 0; i < p->ntoks; i++) {
		k = &p->toks[i];
		if (k->kind == T_TEXT) {
			a = k->start;
			b = k->end;
			if (i > 0 && p->toks[i - 1].cut_post)
				blank_after(p, a, NULL, &a);
			else if (i > 0 && p->toks[i - 1].cut_keepnl)
				blank_after(p, a, &a, NULL);
			if (i + 1 < p->ntoks && p->toks[i + 1].cut_pre) {
				size_t ls = line_start(p, b);

				if (ls > a)
					b = ls;
				else if (b > a)
					b = a;
			}
			add_text(p, cur, a, b);
			continue;
		}
		if (!k->cut_pre && (k->start == 0 || p->src[k->start - 1] == '\n')) {
			n = node_add(cur, N_TEXT);
			n->s = p->src + k->start;
			n->bol = 1;
			n->line = k->line;
			n->col = k->col;
		}
		switch (k->kind) {
		case T_COMMENT:
		case T_DELIM:
		case T_TEXT:
			break;
		case T_VAR:
		case T_RAW:
			n = node_add(cur, k->kind == T_VAR ? N_VAR : N_RAW);
			goto named;
		case T_PARTIAL:
		case T_PARENT:
			n = node_add(cur, k->kind == T_PARTIAL ? N_PARTIAL : N_PARENT);
			n->dynamic = k->dynamic;
			n->standalone = k->tag_sa;
			if (k->tag_sa) {
				n->ind = p->src + line_start(p, k->start);
				n->indlen = (size_t)(p->src + k->start - n->ind);
			}
			goto named;
		case T_SECTION:
		case T_INVERTED:
		case T_BLOCK:
			n = node_add(cur, k->kind == T_SECTION ? N_SECTION :
				k->kind == T_INVERTED ? N_INVERTED : N_BLOCK);
		named:
			n->line = k->line;
			n->col = k->col;
			n->s = p->src + k->nstart;
			n->n = k->nlen;
			if (n->kind != N_BLOCK && (n->kind != N_PARTIAL || n->dynamic) &&
			    (n->kind != N_PARENT || n->dynamic))
				name_split(&n->nm, n->s, n->n);
			if (n->kind == N_SECTION || n->kind == N_INVERTED || n->kind == N_PARENT ||
			    n->kind == N_BLOCK) {
				if (sp >= MST_MAX_NEST) {
					perr(p, k->line, k->col,
						"sections nested deeper than %d", MST_MAX_NEST);
					rc = -1;
					goto out;
				}
				if (sp == cap) {
					cap = cap ? 2 * cap : 16;
					stack = xreallocarray(stack, cap, sizeof *stack);
				}
				stack[sp].node = n;
				stack[sp].tok = i;
				sp++;
				cur = n;
			}
			break;
		case T_CLOSE:
			if (sp == 0) {
				perr(p, k->line, k->col, "unexpected {{/%s%s}}: no section is open",
					k->dynamic ? "*" : "", tok_name(p, k, q1, sizeof q1));
				rc = -1;
				goto out;
			}
			o = &p->toks[stack[sp - 1].tok];
			if (o->nlen != k->nlen || o->dynamic != k->dynamic ||
			    memcmp(p->src + o->nstart, p->src + k->nstart, k->nlen) != 0) {
				tok_name(p, o, q1, sizeof q1);
				perr(p, k->line, k->col,
					"expected {{/%s%s}}, found {{/%s%s}} ({{%s%s%s}} is at %d:%d)",
					o->dynamic ? "*" : "", q1, k->dynamic ? "*" : "",
					tok_name(p, k, q2, sizeof q2), sigil_text(o->kind),
					o->dynamic ? "*" : "", q1, o->line, o->col);
				rc = -1;
				goto out;
			}
			n = stack[sp - 1].node;
			if (n->kind == N_BLOCK) {
				a = o->end;
				if (o->cut_post)
					blank_after(p, a, NULL, &a);
				b = k->cut_pre ? line_start(p, k->start) : k->start;
				if (b < a)
					b = a;
				block_layout(p, n, o, a, b);
			}
			sp--;
			cur = sp ? stack[sp - 1].node : &t->root;
			break;
		}
	}
	if (sp > 0) {
		o = &p->toks[stack[sp - 1].tok];
		tok_name(p, o, q1, sizeof q1);
		perr(p, o->line, o->col,
			"unclosed section {{%s%s%s}}: expected {{/%s%s}} before the end of the file",
			sigil_text(o->kind), o->dynamic ? "*" : "", q1, o->dynamic ? "*" : "", q1);
		rc = -1;
	}
out:
	free(stack);
	return rc;
}

static void
node_free(struct node *n)
{
	size_t i;

	for (i = 0; i < n->nkids; i++)
		node_free(&n->kids[i]);
	free(n->kids);
	free(n->nm.parts);
}

int
mst_parse(const char *name, const char *src, size_t len, struct mst **out, struct diag *d)
{
	struct srcpos at;

	at.file = name;
	at.line = 1;
	at.col = 1;
	return mst_parse_at(&at, src, len, out, d);
}

int
mst_parse_at(const struct srcpos *at, const char *src, size_t len, struct mst **out,
	struct diag *d)
{
	struct parser p;
	struct mst *t;
	int rc;

	*out = NULL;
	t = xcalloc(1, sizeof *t);
	t->name = xstrdup(at->file ? at->file : "<template>");
	t->src = xmalloc(len + 1);
	if (len)
		memcpy(t->src, src, len);
	t->src[len] = '\0';
	t->len = len;

	memset(&p, 0, sizeof p);
	p.name = t->name;
	p.src = t->src;
	p.len = len;
	p.d = d;
	p.line0 = at->line > 0 ? at->line : 1;
	p.col0 = at->col > 0 ? at->col : 1;
	{
		size_t i, cap = 64;

		p.lines = xmalloc(cap * sizeof(*p.lines));
		p.lines[p.nlines++] = 0;
		for (i = 0; i < len; i++) {
			if (t->src[i] != '\n')
				continue;
			if (p.nlines == cap) {
				cap *= 2;
				p.lines = xreallocarray(p.lines, cap, sizeof(*p.lines));
			}
			p.lines[p.nlines++] = i + 1;
		}
	}

	rc = tokenize(&p);
	if (rc == 0 && p.nerr == 0) {
		mark_standalone(&p);
		rc = build(&p, t);
	}
	free(p.toks);
	free(p.lines);
	if (rc < 0 || p.nerr > 0) {
		mst_free(t);
		return DM_EINPUT;
	}
	*out = t;
	return 0;
}

void
mst_free(struct mst *t)
{
	if (!t)
		return;
	node_free(&t->root);
	free(t->src);
	free(t->name);
	free(t);
}

const char *
mst_name(const struct mst *t)
{
	return t->name;
}

static int
has_block(const struct node *n, const char *name, size_t len)
{
	size_t i;

	if (n->kind == N_BLOCK && n->n == len && memcmp(n->s, name, len) == 0)
		return 1;
	for (i = 0; i < n->nkids; i++)
		if (has_block(&n->kids[i], name, len))
			return 1;
	return 0;
}

int
mst_has_block(const struct mst *t, const char *name, size_t len)
{
	return has_block(&t->root, name, len);
}

/* ---- rendering ---- */

/* The override scope of one parent tag being rendered, and the render
 * state where the tag was written (its overrides render in that state). */
struct frame {
	const struct node *parent;
	const struct frame *outer;
	const struct mst *t;
	const char *prefix;
	size_t plen, strip;
	int root;
};

struct rstate {
	const struct mst *t;     /* the template the nodes come from */
	const char *prefix;      /* emitted at each source line start */
	size_t plen;
	size_t strip;            /* leading blanks dropped at line starts */
	const struct frame *frames;
	int root;                /* nodes of the outermost template */
	int depth;               /* partial/parent nesting */
	int nest;                /* render recursion */
	const struct node *tag;  /* the innermost tag being expanded, or NULL */
	const struct mst *tag_t; /* the template it is written in */
};

/* A helper's result: a string value outside the tree (is_temp), its text
 * in one of two buffers (each helper of a chain writes from the other),
 * kept from one lookup to the next. */
struct temp {
	int live; /* 0: nothing below is set yet */
	int cur;
	struct val v;
	struct buf b[2];
};

struct render {
	struct temp scratch; /* for values used at once (interpolation, names) */
	const struct mst_hooks *h;
	struct buf *out;
	size_t out0;
	struct diag *d;
	const struct val **stack;
	size_t n, cap;
	unsigned long steps;
	const volatile sig_atomic_t *cancel;
};

static const char temp_tag[] = "<case helper>";

static int
is_temp(const struct val *v)
{
	return v->pos.file == temp_tag;
}

/* temp_use: t ready to hold a result (made on its first use only). */
static void
temp_use(struct temp *t)
{
	if (t->live)
		return;
	memset(t, 0, sizeof(*t));
	t->live = 1;
	t->v.kind = VAL_STR;
	t->v.pos.file = temp_tag;
}

static void
temp_free(struct temp *t)
{
	if (t->live) {
		buf_free(&t->b[0]);
		buf_free(&t->b[1]);
	}
}

/* out_add: buf_add, without the calls when there is room. */
static void
out_add(struct buf *out, const char *s, size_t n)
{
	if (out->cap - out->len > n) {
		memcpy(out->data + out->len, s, n);
		out->len += n;
		out->data[out->len] = '\0';
	} else {
		buf_add(out, s, n);
	}
}

static void
hook_probe(struct render *r, const struct val *c, const char *key, size_t klen,
	const struct val *found)
{
	if (r->h && r->h->probe && !is_temp(c))
		r->h->probe(r->h->ud, c, key, klen, found);
}

static void
hook_use(struct render *r, const struct val *v, enum val_use how)
{
	if (r->h && r->h->use && !is_temp(v))
		r->h->use(r->h->ud, v, how);
}

static void
push(struct render *r, const struct val *v)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 16;
		r->stack = xreallocarray(r->stack, r->cap, sizeof *r->stack);
	}
	r->stack[r->n++] = v;
}

/* lookup: the value of a dotted name, or NULL.  A helper's result is
 * written into t and lives there until t's next lookup. */
static const struct val *
lookup(struct render *r, const struct name *nm, struct temp *t)
{
	const struct val *v = NULL, *f, *next;
	size_t i = 0, k;

	if (nm->dot) {
		if (r->n == 0)
			return NULL;
		v = r->stack[r->n - 1];
	} else {
		for (k = r->n; k-- > 0;) {
			f = r->stack[k];
			r->steps++;
			next = val_map_get(f, nm->parts[0].s, nm->parts[0].n);
			hook_probe(r, f, nm->parts[0].s, nm->parts[0].n, next);
			if (next) {
				v = next;
				break;
			}
		}
		if (!v)
			return NULL;
		i = 1;
	}
	for (; i < nm->nparts; i++) {
		const struct part *pt = &nm->parts[i];

		if (v->kind == VAL_STR && inflect_is_helper(pt->s, pt->n)) {
			int b = v == &t->v ? !t->cur : 0;

			temp_use(t);
			hook_use(r, v, VAL_USE_VALUE);
			buf_clear(&t->b[b]);
			inflect_apply(pt->s, pt->n, v->s, v->slen, &t->b[b]);
			if (!t->b[b].data)
				buf_add(&t->b[b], "", 0);
			t->cur = b;
			t->v.s = t->b[b].data;
			t->v.slen = t->b[b].len;
			v = &t->v;
			continue;
		}
		next = val_map_get(v, pt->s, pt->n);
		hook_probe(r, v, pt->s, pt->n, next);
		if (!next)
			return NULL;
		v = next;
	}
	return v;
}

static int
fail(struct render *r, const struct rstate *st, const struct node *n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* fail: an error at node n, or when n is text, at the tag whose expansion
 * is rendering it (the text itself when there is none). */
static int
fail(struct render *r, const struct rstate *st, const struct node *n, const char *fmt, ...)
{
	const struct mst *t = st->t;
	va_list ap;

	if (n->kind == N_TEXT && st->tag) {
		n = st->tag;
		t = st->tag_t;
	}
	if (r->d) {
		va_start(ap, fmt);
		diag_vadd(r->d, t->name, n->line, n->col, fmt, ap);
		va_end(ap);
	}
	return DM_EINPUT;
}

/* add_escaped: s[0..n) with & " < > as entities; the runs between them
 * are found with a table and copied whole. */
static void
add_escaped(struct buf *out, const char *s, size_t n)
{
	static const unsigned char special[256] = {['&'] = 1, ['"'] = 1, ['<'] = 1, ['>'] = 1};
	size_t i = 0, from = 0;

	for (;;) {
		while (i < n && !special[(unsigned char)s[i]])
			i++;
		out_add(out, s + from, i - from);
		if (i == n)
			return;
		switch (s[i]) {
		case '&': out_add(out, "&amp;", 5); break;
		case '"': out_add(out, "&quot;", 6); break;
		case '<': out_add(out, "&lt;", 4); break;
		default: out_add(out, "&gt;", 4); break;
		}
		from = ++i;
	}
}

/* prefix_new: the prefix for nested content indented by ind (of which the
 * first st->strip blanks are dropped).  The caller frees it. */
static char *
prefix_new(const struct rstate *st, const char *ind, size_t indlen, size_t *len)
{
	size_t skip = st->strip < indlen ? st->strip : indlen;
	char *s = xmalloc(st->plen + indlen - skip + 1);

	memcpy(s, st->prefix, st->plen);
	memcpy(s + st->plen, ind + skip, indlen - skip);
	*len = st->plen + indlen - skip;
	s[*len] = '\0';
	return s;
}

static int render_nodes(struct render *r, const struct rstate *st, const struct node *k,
	size_t n);

/* name_of: the name of a partial or parent tag, resolved when dynamic. */
static int
name_of(struct render *r, const struct node *n, struct buf *nb, const char **name, size_t *len)
{
	const struct val *v;

	if (!n->dynamic) {
		*name = n->s;
		*len = n->n;
		return *len > 0;
	}
	v = lookup(r, &n->nm, &r->scratch);
	if (!v)
		return 0;
	hook_use(r, v, VAL_USE_VALUE);
	val_format(v, nb);
	*name = nb->data;
	*len = nb->len;
	return nb->len > 0;
}

static int
render_partial(struct render *r, const struct rstate *st, const struct node *n)
{
	struct buf nb = {0};
	const char *name;
	size_t len;
	const struct mst *pt = NULL;
	struct rstate ns;
	struct frame fr;
	char *pre = NULL, q[MST_SNIP];
	int rc = 0;

	if (!name_of(r, n, &nb, &name, &len))
		goto out;
	if (st->depth >= MST_MAX_DEPTH) {
		rc = fail(r, st, n, "partial recursion deeper than %d at {{%s%s}}",
			MST_MAX_DEPTH, n->kind == N_PARENT ? "<" : ">",
			text_snip(q, sizeof q, name, len));
		goto out;
	}
	if (!r->h || !r->h->partial)
		goto out;
	rc = r->h->partial(r->h->ud, name, len, &pt);
	if (rc == DM_ENOTFOUND || (rc == 0 && !pt)) {
		rc = 0;
		goto out;
	}
	if (rc < 0) {
		if (r->d)
			diag_add(r->d, st->t->name, n->line, n->col, "cannot load partial '%s': %s",
				text_snip(q, sizeof q, name, len), dm_strerror(rc));
		goto out;
	}
	ns = *st;
	ns.t = pt;
	ns.tag = n;
	ns.tag_t = st->t;
	ns.prefix = "";
	ns.plen = 0;
	ns.strip = 0;
	ns.root = 0;
	ns.depth = st->depth + 1;
	if (n->standalone) {
		pre = prefix_new(st, n->ind, n->indlen, &ns.plen);
		ns.prefix = pre;
	}
	if (n->kind == N_PARENT) {
		fr.parent = n;
		fr.outer = st->frames;
		fr.t = st->t;
		fr.prefix = st->prefix;
		fr.plen = st->plen;
		fr.strip = st->strip;
		fr.root = st->root;
		ns.frames = &fr;
	}
	rc = render_nodes(r, &ns, pt->root.kids, pt->root.nkids);
out:
	free(pre);
	buf_free(&nb);
	return rc;
}

/* add_fill: a block hook's text at block b: verbatim when b is inline,
 * else dedented and indented like the block. */
static void
add_fill(struct render *r, const struct rstate *st, const struct node *b, const char *s,
	size_t n)
{
	size_t i, e, ws, common = 0, ref = 0, plen;
	int have = 0;
	char *pre;

	if (!b->standalone) {
		buf_add(r->out, s, n);
		return;
	}
	for (i = 0; i < n; i = e) {
		for (ws = i; ws < n && is_blank((unsigned char)s[ws]); ws++)
			;
		for (e = ws; e < n && s[e] != '\n'; e++)
			;
		if (e < n)
			e++;
		if (ws < n && s[ws] != '\n' && s[ws] != '\r') {
			if (!have) {
				ref = i;
				common = ws - i;
				have = 1;
			} else {
				size_t k = 0;

				while (k < common && k < ws - i && s[i + k] == s[ref + k])
					k++;
				common = k;
			}
		}
	}
	pre = prefix_new(st, b->ind, b->indlen, &plen);
	for (i = 0; i < n; i = e) {
		for (ws = i; ws < n && is_blank((unsigned char)s[ws]); ws++)
			;
		for (e = ws; e < n && s[e] != '\n'; e++)
			;
		if (e < n)
			e++;
		if (ws < n && s[ws] != '\n' && s[ws] != '\r') {
			buf_add(r->out, pre, plen);
			buf_add(r->out, s + i + common, e - i - common);
		} else {
			buf_add(r->out, s + ws, e - ws);
		}
	}
	if (b->body_eol && n > 0 && s[n - 1] != '\n')
		buf_addc(r->out, '\n');
	free(pre);
}

/* starts_line: 1 if the body of o needs no prefix before it: empty,
 * beginning a source line of its own, or beginning with a blank line. */
static int
starts_line(const struct node *o)
{
	const struct node *k = o->kids;
	size_t i;

	if (o->nkids == 0 || (k->kind == N_TEXT && k->bol))
		return 1;
	if (k->kind != N_TEXT)
		return 0;
	for (i = 0; i < k->n && is_blank((unsigned char)k->s[i]); i++)
		;
	return i < k->n && (k->s[i] == '\n' || k->s[i] == '\r');
}

static int
render_block(struct render *r, const struct rstate *st, const struct node *b)
{
	const struct frame *f, *of = NULL;
	const struct node *o = NULL, *k;
	const char *text;
	size_t tlen, i;
	struct rstate ns;
	char *pre = NULL;
	int rc, root;

	for (f = st->frames; f; f = f->outer) {
		for (i = 0; i < f->parent->nkids; i++) {
			k = &f->parent->kids[i];
			if (k->kind == N_BLOCK && k->n == b->n && memcmp(k->s, b->s, b->n) == 0) {
				o = k;
				of = f;
				break;
			}
		}
	}
	root = o ? of->root : st->root;
	if (root && r->h && r->h->block &&
	    r->h->block(r->h->ud, b->s, b->n, &text, &tlen) == 1) {
		add_fill(r, st, b, text, tlen);
		return 0;
	}
	ns = *st;
	ns.nest = st->nest + 1;
	ns.tag = o ? o : b;
	ns.tag_t = o ? of->t : st->t;
	if (!o) {
		if (b->standalone) {
			pre = prefix_new(st, b->ind, b->indlen, &ns.plen);
			ns.prefix = pre;
			ns.strip = b->dedent;
		}
		rc = render_nodes(r, &ns, b->kids, b->nkids);
		free(pre);
		return rc;
	}
	ns.t = of->t;
	ns.frames = of->outer;
	ns.root = of->root;
	if (b->standalone) {
		pre = prefix_new(st, b->ind, b->indlen, &ns.plen);
		ns.prefix = pre;
		ns.strip = o->standalone ? o->dedent : of->strip;
		if (!o->standalone && !starts_line(o))
			buf_add(r->out, ns.prefix, ns.plen);
	} else if (o->standalone) {
		ns.prefix = "";
		ns.plen = 0;
		ns.strip = o->dedent;
	} else {
		ns.prefix = of->prefix;
		ns.plen = of->plen;
		ns.strip = of->strip;
	}
	rc = render_nodes(r, &ns, o->kids, o->nkids);
	free(pre);
	return rc;
}

static int
render_section(struct render *r, const struct rstate *st, const struct node *n)
{
	const struct val *v;
	struct temp tmp; /* the section's own: its value is pushed */
	struct rstate ns = *st;
	size_t i;
	int rc = 0, truthy;

	ns.nest = st->nest + 1;
	ns.tag = n;
	ns.tag_t = st->t;
	tmp.live = 0;
	v = lookup(r, &n->nm, &tmp);
	if (v)
		hook_use(r, v, VAL_USE_SHAPE);
	truthy = v && val_truthy(v);
	if (n->kind == N_INVERTED) {
		if (!truthy)
			rc = render_nodes(r, &ns, n->kids, n->nkids);
	} else if (truthy && v->kind == VAL_LIST) {
		for (i = 0; i < v->n && rc == 0; i++) {
			push(r, v->items[i]);
			rc = render_nodes(r, &ns, n->kids, n->nkids);
			r->n--;
		}
	} else if (truthy) {
		push(r, v);
		rc = render_nodes(r, &ns, n->kids, n->nkids);
		r->n--;
	}
	temp_free(&tmp);
	return rc;
}

static int
render_node(struct render *r, const struct rstate *st, const struct node *n)
{
	const struct val *v;
	size_t skip;

	if (r->cancel && *r->cancel)
		return DM_EINTR;
	if (++r->steps > MST_MAX_STEPS)
		return fail(r, st, n, "template expansion takes more than %lu steps",
			MST_MAX_STEPS);
	if (r->out->len - r->out0 > MST_MAX_OUTPUT)
		return fail(r, st, n, "rendered output is larger than %zu MiB",
			MST_MAX_OUTPUT >> 20);
	if (st->nest > MST_MAX_NEST)
		return fail(r, st, n, "template nesting deeper than %d", MST_MAX_NEST);
	switch (n->kind) {
	case N_TEXT:
		if (!n->bol) {
			out_add(r->out, n->s, n->n);
			break;
		}
		skip = st->strip < n->ws ? st->strip : n->ws;
		if (!n->blank)
			out_add(r->out, st->prefix, st->plen);
		out_add(r->out, n->s + skip, n->n - skip);
		break;
	case N_VAR:
	case N_RAW:
		v = lookup(r, &n->nm, &r->scratch);
		if (!v)
			break;
		hook_use(r, v, VAL_USE_VALUE);
		if (v->kind == VAL_STR && n->kind == N_VAR)
			add_escaped(r->out, v->s, v->slen);
		else if (v->kind == VAL_STR)
			out_add(r->out, v->s, v->slen);
		else
			val_format(v, r->out);
		break;
	case N_SECTION:
	case N_INVERTED:
		return render_section(r, st, n);
	case N_PARTIAL:
	case N_PARENT:
		return render_partial(r, st, n);
	case N_BLOCK:
		return render_block(r, st, n);
	}
	return 0;
}

static int
render_nodes(struct render *r, const struct rstate *st, const struct node *k, size_t n)
{
	size_t i;
	int rc;

	for (i = 0; i < n; i++)
		if ((rc = render_node(r, st, &k[i])) != 0)
			return rc;
	return 0;
}

int
mst_render(const struct mst *t, const struct val *const *stack, size_t depth,
	const struct mst_hooks *hooks, struct buf *out, struct diag *d)
{
	struct render r;
	struct rstate st;
	size_t i;
	int rc;

	memset(&r, 0, sizeof r);
	r.h = hooks;
	r.cancel = hooks ? hooks->cancel : NULL;
	r.out = out;
	r.out0 = out->len;
	r.d = d;
	for (i = 0; i < depth; i++)
		if (stack[i])
			push(&r, stack[i]);

	memset(&st, 0, sizeof st);
	st.t = t;
	st.prefix = "";
	st.root = 1;
	buf_reserve(out, t->len + 1);
	rc = render_nodes(&r, &st, t->root.kids, t->root.nkids);
	if (rc != 0) {
		out->len = r.out0;
		out->data[out->len] = '\0';
	}
	free(r.stack);
	temp_free(&r.scratch);
	return rc;
}
