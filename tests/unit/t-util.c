/* t-util.c - diagnostics: the cap on kept errors and the count line, the
 * cap on one message's length and its cleaning; text_snip for quoting
 * input in messages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "util.h"

/* printed: diag_print's output as a malloc'd string. */
static char *
printed(const struct diag *d)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);

	if (!f)
		abort();
	diag_print(d, f);
	fclose(f);
	return s;
}

static size_t
count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* last_line: the last line of s, without its newline, in a static buffer. */
static const char *
last_line(const char *s)
{
	static char line[512];
	size_t n = strlen(s);
	const char *p;

	if (n && s[n - 1] == '\n')
		n--;
	for (p = s + n; p > s && p[-1] != '\n'; p--)
		;
	snprintf(line, sizeof line, "%.*s", (int)(s + n - p), p);
	return line;
}

static int
valid_utf8(const char *s)
{
	int line, col;
	const char *why;

	return text_check(s, strlen(s), &line, &col, &why) == 0;
}

static void
test_error_cap(void)
{
	struct diag d = {0};
	struct buf b = {0};
	char *out;
	int i;

	for (i = 1; i <= 200; i++)
		diag_add(&d, "DMFILE", i, 1, "error %d", i);
	is_int((long long)d.nerrors, 200, "nerrors counts all 200 errors");
	is_int((long long)d.n, DIAG_MAX_KEPT, "only the first 50 are kept");
	is_int((long long)d.ndropped, 150, "150 are counted as dropped");
	is_str(d.items[0].msg, "error 1", "the first error is kept");
	is_str(d.items[49].msg, "error 50", "the 50th error is kept");
	out = printed(&d);
	is_int((long long)count_lines(out), 51, "diag_print prints 50 errors and one more line");
	is_str(last_line(out), "dmbuild: DMFILE: 150 more errors not shown",
		"the last line says how many were not shown");
	ok(strstr(out, "dmbuild: DMFILE:50:1: error 50\n") != NULL &&
		!strstr(out, "error 51"), "error 50 is printed, error 51 is not");
	free(out);
	ok(diag_more(&d, &b) == 1, "diag_more: 1 when some were dropped");
	is_str(b.data, "DMFILE: 150 more errors not shown", "diag_more text");
	buf_free(&b);
	diag_free(&d);
	ok(d.n == 0 && d.nerrors == 0 && d.ndropped == 0 && d.dropped_file == NULL,
		"diag_free resets the counts");

	for (i = 1; i <= 50; i++)
		diag_add(&d, "a", i, 1, "e");
	out = printed(&d);
	is_int((long long)count_lines(out), 50, "exactly 50 errors: no count line");
	free(out);
	ok(diag_more(&d, &b) == 0 && b.data == NULL, "diag_more: 0 and b untouched");
	diag_add(&d, "a", 51, 1, "e");
	out = printed(&d);
	is_str(last_line(out), "dmbuild: a: 1 more error not shown", "one more: singular");
	free(out);
	diag_add(&d, "b", 1, 1, "e");
	out = printed(&d);
	is_str(last_line(out), "dmbuild: 2 more errors not shown",
		"dropped errors from two files: no file named");
	free(out);
	is_int((long long)d.nerrors, 52, "nerrors 52");
	diag_free(&d);

	diag_add(&d, NULL, 0, 0, "e");
	for (i = 0; i < 60; i++)
		diag_add(&d, NULL, 0, 0, "e");
	out = printed(&d);
	is_str(last_line(out), "dmbuild: 11 more errors not shown", "dropped errors with no file");
	free(out);
	diag_free(&d);
}

static void
test_warning_cap(void)
{
	struct diag d = {0};
	char *out;
	int i;

	for (i = 0; i < 60; i++)
		diag_warn(&d, "W", i + 1, 1, "w%d", i);
	is_int((long long)d.nerrors, 0, "warnings are not errors");
	is_int((long long)d.n, DIAG_MAX_KEPT, "50 warnings kept");
	for (i = 0; i < 55; i++)
		diag_add(&d, "W", i + 1, 2, "e%d", i);
	is_int((long long)d.n, 2 * DIAG_MAX_KEPT, "errors have their own 50 after 50 warnings");
	is_int((long long)d.nerrors, 55, "nerrors 55");
	is_str(d.items[99].msg, "e49", "the 50th error is the last item");
	ok(!d.items[99].warning && d.items[49].warning, "kinds kept apart");
	out = printed(&d);
	is_str(last_line(out), "dmbuild: W: 5 more errors and 10 more warnings not shown",
		"the count line names both");
	free(out);
	diag_free(&d);
}

static void
test_message_length(void)
{
	static const char *const chars[] = {"a", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
	struct diag d = {0};
	struct buf big = {0};
	size_t c, pre, len;
	int bad = 0, all_cut = 1;
	char *out;

	for (c = 0; c < 4; c++) {
		buf_clear(&big);
		while (big.len < 100 * 1024)
			buf_adds(&big, chars[c]);
		for (pre = 0; pre < 4; pre++) {
			diag_add(&d, "f", 1, 1, "%.*sfound '%s'", (int)pre, "xxx", big.data);
			len = strlen(d.items[d.n - 1].msg);
			if (len > DIAG_MAX_MSG || len < DIAG_MAX_MSG - 6 ||
				!valid_utf8(d.items[d.n - 1].msg)) {
				note("char %zu, prefix %zu: %zu bytes", c, pre, len);
				bad++;
			}
			if (len < 3 || strcmp(d.items[d.n - 1].msg + len - 3, "...") != 0)
				all_cut = 0;
		}
	}
	is_int(bad, 0, "a 100 KB quote: message <= %d bytes, cut near it, valid UTF-8",
		DIAG_MAX_MSG);
	ok(all_cut, "... and it ends with '...'");
	ok(strncmp(d.items[1].msg, "xfound 'aaa", 11) == 0, "the start of the message is kept");
	out = printed(&d);
	ok(strlen(out) < 16 * (DIAG_MAX_MSG + 32), "the printed output is small (%zu bytes)",
		strlen(out));
	free(out);
	diag_free(&d);

	buf_clear(&big);
	while (big.len < DIAG_MAX_MSG)
		buf_addc(&big, 'm');
	diag_add(&d, NULL, 0, 0, "%s", big.data);
	is_str(d.items[0].msg, big.data, "exactly DIAG_MAX_MSG bytes: kept whole");
	buf_addc(&big, 'm');
	diag_add(&d, NULL, 0, 0, "%s", big.data);
	len = strlen(d.items[1].msg);
	ok(len == DIAG_MAX_MSG && strcmp(d.items[1].msg + len - 3, "...") == 0,
		"one byte more: cut to %d with '...'", DIAG_MAX_MSG);
	diag_free(&d);
	buf_free(&big);
}

static void
test_message_cleaning(void)
{
	struct diag d = {0};

	diag_add(&d, "f", 1, 1, "found '%s'", "a\x1b[31mred\x7f\xff\xc3z\n\tb\r");
	is_str(d.items[0].msg, "found 'a?[31mred???z\n\tb?'",
		"ESC, DEL, CR and bytes that are not UTF-8 become '?'; newline and tab stay");
	ok(valid_utf8(d.items[0].msg), "the result is valid UTF-8");
	diag_add(&d, "f", 1, 1, "caf\xc3\xa9 \xe2\x82\xac");
	is_str(d.items[1].msg, "caf\xc3\xa9 \xe2\x82\xac", "valid UTF-8 is untouched");
	diag_free(&d);
}

static void
test_snip(void)
{
	struct buf big = {0};
	char s[52], tiny[8];
	int i;

	is_str(text_snip(s, sizeof s, "mode", 4), "mode", "short text as it is");
	is_str(text_snip(s, sizeof s, "ab", 0), "", "empty");
	is_str(text_snip(s, sizeof s, "a\tb\x1b[0m\x7f", 8), "a\\x09b\\x1B[0m\\x7F",
		"control characters and DEL escaped");
	is_str(text_snip(s, sizeof s, "a\0b", 3), "a\\x00b", "NUL escaped");
	is_str(text_snip(s, sizeof s, "x\xff\xc3(\xe2\x82", 6), "x\\xFF\\xC3(\\xE2\\x82",
		"bytes that are not UTF-8 escaped one by one");
	is_str(text_snip(s, sizeof s, "caf\xc3\xa9", 5), "caf\xc3\xa9", "UTF-8 kept");

	for (i = 0; i < 51; i++)
		buf_addc(&big, 'a');
	is_str(text_snip(s, sizeof s, big.data, big.len), big.data, "51 bytes fit in 52");
	buf_addc(&big, 'a');
	is_int((long long)strlen(text_snip(s, sizeof s, big.data, big.len)), 51,
		"52 bytes: cut to 51");
	ok(strcmp(s + 48, "...") == 0 && strncmp(s, big.data, 48) == 0, "48 bytes and '...'");

	buf_clear(&big);
	while (big.len < 100 * 1024)
		buf_adds(&big, "\xe2\x82\xac");
	text_snip(s, sizeof s, big.data, big.len);
	ok(strlen(s) <= 51 && valid_utf8(s) && strcmp(s + strlen(s) - 3, "...") == 0,
		"100 KB of 3-byte characters: cut at a character, '...' (%zu bytes)", strlen(s));
	is_int((long long)strlen(s), 48 + 3, "16 characters of 3 bytes and '...'");

	buf_clear(&big);
	for (i = 0; i < 47; i++)
		buf_addc(&big, 'a');
	buf_adds(&big, "\x01zzzzzz");
	is_str(text_snip(s, sizeof s, big.data, big.len),
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...",
		"an escape that would pass the cut is not split");
	is_str(text_snip(tiny, sizeof tiny, "abcdefgh", 8), "abcd...", "size 8: 4 bytes and ...");
	is_str(text_snip(tiny, sizeof tiny, "abcdefg", 7), "abcdefg", "size 8, 7 bytes fit");
	buf_free(&big);
}

int
main(void)
{
	test_error_cap();
	test_warning_cap();
	test_message_length();
	test_message_cleaning();
	test_snip();
	return done_testing();
}
