/* slot.c - see slot.h. */
#include <stdlib.h>
#include <string.h>

#include "slot.h"

static const char instructions[] =
	"You fill one slot of a generated source file.  The file's skeleton is fixed;\n"
	"each slot is marked <<<SLOT NAME>>> where its body goes.  Answer with the body\n"
	"of the one slot you are asked for and nothing else: no Markdown fences, no\n"
	"explanation, not the rest of the file.  Keep the skeleton's language, style\n"
	"and indentation.\n";

char *
slot_marker(const char *name)
{
	return xasprintf("<<<SLOT %s>>>", name);
}

char *
slot_system(const struct slot_context *c)
{
	struct buf b = {0};
	size_t i, used = 0;

	buf_adds(&b, instructions);
	buf_printf(&b, "\nFile: %s\n-----\n%s", c->out, c->skeleton);
	if (!b.len || b.data[b.len - 1] != '\n')
		buf_addc(&b, '\n');
	buf_adds(&b, "-----\n");
	for (i = 0; i < c->nafter; i++) {
		size_t n = strlen(c->after_texts[i]), take = n;

		if (take > SLOT_AFTER_BUDGET)
			take = SLOT_AFTER_BUDGET;
		if (used + take > SLOT_CONTEXT_BUDGET)
			take = SLOT_CONTEXT_BUDGET - used;
		buf_printf(&b, "\nContext: %s%s\n-----\n", c->after_paths[i],
			take < n ? " (cut)" : "");
		buf_add(&b, c->after_texts[i], take);
		if (take && c->after_texts[i][take - 1] != '\n')
			buf_addc(&b, '\n');
		buf_adds(&b, "-----\n");
		used += take;
	}
	return buf_release(&b);
}

char *
slot_user(const char *name, const char *prompt, const char *values, const char *prev,
	const char *errors)
{
	struct buf b = {0};

	buf_printf(&b, "Fill <<<SLOT %s>>>.\n\n%s\n", name, prompt);
	if (values && *values)
		buf_printf(&b, "\nSpec values:\n%s", values);
	if (prev) {
		buf_printf(&b, "\nYour previous answer:\n-----\n%s", prev);
		if (*prev && prev[strlen(prev) - 1] != '\n')
			buf_addc(&b, '\n');
		buf_printf(&b, "-----\nThe checks found:\n%s\nAnswer again with a corrected body.\n",
			errors ? errors : "");
	}
	return buf_release(&b);
}

struct digest
slot_key(const char *system, const char *user, const char *chain, const char *sampling)
{
	const char *parts[] = {"dmbuild-slot-1", system, user, chain, sampling};

	return hash_strings(5, parts);
}

/* trim_line: s[0..n) without surrounding blanks. */
static void
trim(const char **s, size_t *n)
{
	while (*n && (**s == ' ' || **s == '\t' || **s == '\r')) {
		(*s)++;
		(*n)--;
	}
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' || (*s)[*n - 1] == '\r'))
		(*n)--;
}

/* around: the nearest non-blank lines before and after the marker in the
 * skeleton, trimmed (malloc'd, or NULL when there is none). */
static void
around(const char *skeleton, const char *marker, char **before, char **after)
{
	const char *m = strstr(skeleton, marker), *p, *e;

	*before = *after = NULL;
	if (!m)
		return;
	for (e = m; e > skeleton;) {
		const char *ls;
		size_t n;

		e--;
		while (e > skeleton && e[-1] != '\n' && *e != '\n')
			e--;
		ls = e;
		p = strchr(ls, '\n');
		n = p && p < m ? (size_t)(p - ls) : (size_t)(m - ls);
		trim(&ls, &n);
		if (n && ls < m) {
			*before = xstrndup(ls, n);
			break;
		}
	}
	for (p = strchr(m, '\n'); p && *p;) {
		const char *ls = p + 1, *nl = strchr(ls, '\n');
		size_t n = nl ? (size_t)(nl - ls) : strlen(ls);

		trim(&ls, &n);
		if (n) {
			*after = xstrndup(ls, n);
			break;
		}
		p = nl;
	}
}

/* line_at: the offset of the first line of s whose trimmed text is t. */
static const char *
find_line(const char *s, const char *t)
{
	size_t tl = strlen(t);

	while (s && *s) {
		const char *nl = strchr(s, '\n'), *ls = s;
		size_t n = nl ? (size_t)(nl - s) : strlen(s);

		trim(&ls, &n);
		if (n == tl && !memcmp(ls, t, tl))
			return s;
		s = nl ? nl + 1 : NULL;
	}
	return NULL;
}

char *
slot_normalize(const char *answer, const char *skeleton, const char *name, const char **why)
{
	char *marker = slot_marker(name), *before, *after, *text;
	const char *s = answer, *e, *f;
	struct buf out = {0};

	*why = NULL;
	f = strstr(answer, "```");
	if (f) {
		const char *body = strchr(f, '\n'), *close;

		close = body ? strstr(body + 1, "```") : NULL;
		if (!body || !close) {
			*why = "an unclosed Markdown code fence";
			free(marker);
			return NULL;
		}
		text = xstrndup(body + 1, (size_t)(close - body - 1));
	} else {
		text = xstrdup(answer);
	}
	if (strstr(text, "<<<SLOT")) {
		*why = "it contains a slot marker";
		goto fail;
	}
	around(skeleton, marker, &before, &after);
	{
		const char *b = before ? find_line(text, before) : NULL;
		const char *a = after ? find_line(b ? b : text, after) : NULL;

		if (b && a) {
			b = strchr(b, '\n');
			s = b ? b + 1 : a;
			e = a;
		} else if (b || a) {
			*why = "it repeats part of the file around the slot";
			free(before);
			free(after);
			goto fail;
		} else {
			s = text;
			e = text + strlen(text);
		}
	}
	free(before);
	free(after);
	/* drop blank lines at both ends */
	while (s < e) {
		const char *nl = memchr(s, '\n', (size_t)(e - s)), *ls = s;
		size_t n = nl ? (size_t)(nl - s) : (size_t)(e - s);

		trim(&ls, &n);
		if (n || !nl)
			break;
		s = nl + 1;
	}
	while (e > s && (e[-1] == '\n' || e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		e--;
	if (e <= s) {
		*why = "the answer is empty";
		goto fail;
	}
	buf_add(&out, s, (size_t)(e - s));
	buf_addc(&out, '\n');
	free(text);
	free(marker);
	return buf_release(&out);
fail:
	free(text);
	free(marker);
	buf_free(&out);
	return NULL;
}
