/* json.c - JSON in (through jansson) and out (by hand).  See json.h.
 *
 * Invariants and choices:
 *  - Reading: jansson parses the whole text (any value at the top, NUL
 *    bytes allowed in strings, duplicate object keys rejected, at most
 *    JSON_PARSER_MAX_DEPTH levels), then the tree is converted.  Objects
 *    are iterated in insertion order, which jansson keeps, so key order is
 *    the text's order.  Nodes get no positions (jansson keeps none).
 *    The tree lives in an arena owned by its root (value.h), built with
 *    exactly sized lists and maps.
 *  - jansson refuses integers that do not fit in a json_int_t; for those
 *    the text is parsed a second time with such integers rewritten as
 *    reals (".0" appended), so they become VAL_FLOAT as json.h promises.
 *    The column of an error found in that second pass is corrected for the
 *    inserted text.
 *  - Writing is compact (no spaces) and deterministic: maps in key order,
 *    floats as val_format's text, and null for NaN and infinities, which
 *    JSON cannot express.  A float's text always has a '.' or an exponent
 *    (".0" is appended to an integral one: 1.0, -0.0, 1e+21 stays), so
 *    every float reads back as a float, every int as an int.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "json.h"

static struct val *
json_to_val(struct val_arena *a, json_t *j)
{
	struct val *v = NULL;
	size_t i;
	void *it;

	switch (json_typeof(j)) {
	case JSON_NULL:
		v = val_new_in(a, VAL_NULL);
		break;
	case JSON_TRUE:
		v = val_new_bool_in(a, 1);
		break;
	case JSON_FALSE:
		v = val_new_bool_in(a, 0);
		break;
	case JSON_INTEGER:
		v = val_new_int_in(a, (long long)json_integer_value(j));
		break;
	case JSON_REAL:
		v = val_new_float_in(a, json_real_value(j));
		break;
	case JSON_STRING:
		v = val_new_str_in(a, json_string_value(j), json_string_length(j));
		break;
	case JSON_ARRAY:
		v = val_new_in(a, VAL_LIST);
		val_reserve(v, json_array_size(j));
		for (i = 0; i < json_array_size(j); i++)
			val_list_push(v, json_to_val(a, json_array_get(j, i)));
		break;
	case JSON_OBJECT:
		v = val_new_in(a, VAL_MAP);
		val_reserve(v, json_object_size(j));
		for (it = json_object_iter(j); it; it = json_object_iter_next(j, it))
			val_map_set(v, json_object_iter_key(it), json_object_iter_key_len(it),
				json_to_val(a, json_object_iter_value(it)));
		break;
	}
	return v;
}

/* An integer literal made real by widen_ints: ".0" went in at offset at of
 * the new text. */
struct widened {
	size_t *at;
	size_t n, cap;
};

/* widen_ints: a copy of text in which every integer literal that does not
 * fit in a long long has ".0" appended, making it a real. */
static char *
widen_ints(const char *text, size_t len, size_t *outlen, struct widened *w)
{
	struct buf b = {0};
	size_t i = 0;

	while (i < len) {
		size_t start = i, digits;
		int neg = 0;

		if (text[i] == '"') {
			for (i++; i < len && text[i] != '"'; i++)
				if (text[i] == '\\' && i + 1 < len)
					i++;
			if (i < len)
				i++;
			buf_add(&b, text + start, i - start);
			continue;
		}
		if (text[i] != '-' && (text[i] < '0' || text[i] > '9')) {
			buf_addc(&b, text[i++]);
			continue;
		}
		if (text[i] == '-')
			neg = 1, i++;
		while (i < len && text[i] >= '0' && text[i] <= '9')
			i++;
		digits = i - start - (size_t)neg;
		buf_add(&b, text + start, i - start);
		if (digits && (i == len || (text[i] != '.' && text[i] != 'e' && text[i] != 'E'))) {
			char *num = xstrndup(text + start, i - start);

			errno = 0;
			(void)strtoll(num, NULL, 10);
			if (errno == ERANGE) {
				if (w->n == w->cap) {
					w->cap = w->cap ? w->cap * 2 : 8;
					w->at = xreallocarray(w->at, w->cap, sizeof(*w->at));
				}
				w->at[w->n++] = b.len;
				buf_adds(&b, ".0");
			}
			free(num);
		}
		while (i < len && text[i] && strchr("0123456789.eE+-", text[i]))
			buf_addc(&b, text[i++]);
	}
	*outlen = b.len;
	return buf_release(&b);
}

int
json_parse(const char *name, const char *text, size_t len, struct val **out, struct diag *d)
{
	size_t flags = JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES;
	struct val_arena *a;
	json_error_t err;
	json_t *j;
	int col;

	*out = NULL;
	j = json_loadb(text, len, flags, &err);
	col = err.column;
	if (!j && json_error_code(&err) == json_error_numeric_overflow &&
		strstr(err.text, "integer")) {
		struct widened w = {0};
		size_t wlen, k;
		char *wide = widen_ints(text, len, &wlen, &w);

		j = json_loadb(wide, wlen, flags, &err);
		col = err.column;
		for (k = 0; !j && k < w.n && err.position >= 0; k++)
			if (w.at[k] < (size_t)err.position &&
				!memchr(wide + w.at[k], '\n', (size_t)err.position - w.at[k]))
				col -= 2;
		free(w.at);
		free(wide);
	}
	if (!j) {
		diag_add(d, name ? name : "<input>", err.line > 0 ? err.line : 1, col > 0 ? col : 1,
			"invalid JSON: %s", err.text);
		return DM_EINPUT;
	}
	a = val_arena_new();
	*out = json_to_val(a, j);
	val_arena_set_root(a, *out);
	json_decref(j);
	return 0;
}

void
json_put_str(struct buf *b, const char *s, size_t n)
{
	size_t i, run = 0;

	if (!s)
		s = "";
	buf_addc(b, '"');
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = NULL;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		buf_add(b, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\n': esc = "\\n"; break;
		case '\t': esc = "\\t"; break;
		case '\r': esc = "\\r"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		}
		if (esc)
			buf_adds(b, esc);
		else
			buf_printf(b, "\\u%04x", c);
	}
	buf_add(b, s + run, n - run);
	buf_addc(b, '"');
}

void
json_put_val(struct buf *b, const struct val *v)
{
	size_t i;

	if (!v) {
		buf_adds(b, "null");
		return;
	}
	switch (v->kind) {
	case VAL_NULL:
		buf_adds(b, "null");
		break;
	case VAL_BOOL:
	case VAL_INT:
		val_format(v, b);
		break;
	case VAL_FLOAT:
		if (isfinite(v->f)) {
			size_t start = b->len;

			val_format(v, b);
			if (!strpbrk(b->data + start, ".e"))
				buf_adds(b, ".0");
		} else {
			buf_adds(b, "null");
		}
		break;
	case VAL_STR:
		json_put_str(b, v->s, v->slen);
		break;
	case VAL_LIST:
		buf_addc(b, '[');
		for (i = 0; i < v->n; i++) {
			if (i)
				buf_addc(b, ',');
			json_put_val(b, v->items[i]);
		}
		buf_addc(b, ']');
		break;
	case VAL_MAP:
		buf_addc(b, '{');
		for (i = 0; i < v->n; i++) {
			if (i)
				buf_addc(b, ',');
			json_put_str(b, v->keys[i], v->keylens[i]);
			buf_addc(b, ':');
			json_put_val(b, v->items[i]);
		}
		buf_addc(b, '}');
		break;
	}
}
