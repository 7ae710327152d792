/* t-util.c - diagnostics: the cap on kept errors and the count line, the
 * cap on one message's length and its cleaning; text_snip for quoting
 * input in messages; file_read on regular files (one exact buffer) and on
 * others (growing chunks); fnv1a's values; pools; strmap slots, borrowed
 * keys and reserve. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* write_file: path gets n bytes of a pattern; 0 or -1. */
static int
write_file(const char *path, size_t n)
{
	FILE *f = fopen(path, "wb");
	size_t i;

	if (!f)
		return -1;
	for (i = 0; i < n; i++)
		fputc((int)((i * 7 + i / 251) & 0xff), f);
	return fclose(f);
}

static int
is_pattern(const char *data, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)data[i] != ((i * 7 + i / 251) & 0xff))
			return 0;
	return data[n] == '\0';
}

static void
test_file_read(void)
{
	char dir[] = "/tmp/t-util.XXXXXX", path[64], fifo[64], *data;
	size_t len, sizes[] = {1, 100, 65535, 65536, 65537, 1000003}, i;
	pid_t pid;
	int st;

	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof path, "%s/f", dir);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		if (write_file(path, sizes[i]))
			abort();
		ok(file_read(path, &data, &len) == 0 && len == sizes[i] && is_pattern(data, len),
			"a regular file of %zu bytes, NUL-terminated", sizes[i]);
		free(data);
	}
	if (write_file(path, 0))
		abort();
	ok(file_read(path, &data, &len) == 0 && len == 0 && data && data[0] == '\0',
		"an empty file: an empty string");
	free(data);
	ok(file_read("/proc/self/status", &data, &len) == 0 && len > 0 &&
			strstr(data, "Name:") && strlen(data) == len,
		"a /proc file (its size says 0) is read to its end");
	free(data);
	ok(file_read("/nonexistent/x", &data, &len) == DM_ENOTFOUND && !data && len == 0,
		"missing: DM_ENOTFOUND, nothing returned");
	ok(file_read("/etc/passwd/x", &data, &len) == DM_ENOTFOUND, "under a file: DM_ENOTFOUND");
	errno = 0;
	ok(file_read(dir, &data, &len) == DM_EIO && errno == EISDIR && !data,
		"a directory: DM_EIO, errno kept");

	/* A FIFO has no size: 300,000 bytes come through in chunks. */
	snprintf(fifo, sizeof fifo, "%s/p", dir);
	if (mkfifo(fifo, 0600))
		abort();
	pid = fork();
	if (pid < 0)
		abort();
	if (pid == 0)
		_exit(write_file(fifo, 300000) ? 1 : 0);
	ok(file_read(fifo, &data, &len) == 0 && len == 300000 && is_pattern(data, len),
		"a FIFO of 300,000 bytes");
	free(data);
	waitpid(pid, &st, 0);
	unlink(fifo);
	unlink(path);
	rmdir(dir);
}

static void
test_fnv1a(void)
{
	unsigned char bytes[768];
	size_t i;

	for (i = 0; i < sizeof bytes; i++)
		bytes[i] = (unsigned char)i;
	ok(fnv1a("", 0) == 0xcbf29ce484222325ULL, "FNV-1a of nothing: the offset basis");
	ok(fnv1a("a", 1) == 0xaf63dc4c8601ec8cULL, "FNV-1a of a");
	ok(fnv1a("foobar", 6) == 0x85944171f73967e8ULL, "FNV-1a of foobar");
	ok(fnv1a(bytes, sizeof bytes) == 0x4f33c513c2e95c25ULL, "FNV-1a of 768 bytes");
	for (i = 0; i <= 17; i++) {
		uint64_t h = 14695981039346656037ULL;
		size_t k;

		for (k = 0; k < i; k++)
			h = (h ^ bytes[100 + k]) * 1099511628211ULL;
		if (fnv1a(bytes + 100, i) != h)
			break;
	}
	ok(i == 18, "FNV-1a of 0 to 17 bytes, byte by byte");
}

static void
test_pool(void)
{
	struct pool p = {0};
	char *s[2000], *big;
	size_t i;
	int good = 1;

	for (i = 0; i < 2000; i++) {
		char want[16];
		void *a = pool_alloc(&p, i % 50 + 1);

		snprintf(want, sizeof want, "s%zu", i);
		s[i] = pool_strndup(&p, want, strlen(want));
		memset(a, 0xee, i % 50 + 1);
		good &= (uintptr_t)a % _Alignof(max_align_t) == 0;
	}
	ok(good, "pool_alloc: aligned for any type");
	for (i = 0; i < 2000; i++) {
		char want[16];

		snprintf(want, sizeof want, "s%zu", i);
		if (strcmp(s[i], want))
			break;
	}
	ok(i == 2000, "2,000 strings over several chunks stay as written");
	big = pool_alloc(&p, 1000000);
	memset(big, 'b', 1000000);
	s[0] = pool_strndup(&p, "after", 5);
	ok(big[999999] == 'b' && strcmp(s[0], "after") == 0 && strcmp(s[1], "s1") == 0,
		"a piece bigger than a chunk gets its own; the others are untouched");
	ok(*pool_strndup(&p, "xyz", 0) == '\0', "pool_strndup of 0 bytes: empty string");
	pool_free(&p);
	ok(p.chunks == NULL && p.left == 0, "pool_free empties it");
	ok(strcmp(pool_strndup(&p, "again", 5), "again") == 0, "and it can be used again");
	pool_free(&p);
	/* Pieces between a small first chunk and the big-piece size, on a
	 * fresh pool and after a chunk is in use: each must get room of its
	 * own size (every byte written, then checked, under valgrind/ASan). */
	{
		static const size_t sizes[] = {5000, 4097, 9000, 16385, 20000, 32768, 3, 30000, 70000};
		char *piece[sizeof(sizes) / sizeof(sizes[0])];
		size_t k, j;

		good = 1;
		for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			piece[k] = pool_alloc(&p, sizes[k]);
			memset(piece[k], (int)('A' + k), sizes[k]);
		}
		for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
			for (j = 0; j < sizes[k]; j++)
				good &= piece[k][j] == (char)('A' + k);
		ok(good, "pieces of 4 KB to 70 KB on a young pool do not overlap");
		pool_free(&p);
	}
}

static int
count_key(void *ud, const char *key, void *val)
{
	const char *const *want = ud;

	(void)val;
	return key == *want;
}

static void
test_strmap(void)
{
	struct strmap *m = strmap_new(), *b = strmap_new_borrowed();
	char keys[600][8];
	void **slot;
	size_t i;
	const char *mine = keys[7];

	slot = strmap_slot(m, "abc", 3);
	ok(slot && *slot == NULL, "strmap_slot of a new key: a NULL value");
	*slot = (void *)1;
	ok(strmap_get(m, "abc", 3) == (void *)1, "set through the slot");
	ok(strmap_slot(m, "abc", 3) == slot && strmap_count(m) == 1,
		"the same slot again, nothing added");
	ok(strmap_put(m, "abc", 3, (void *)2) == (void *)1 && strmap_get(m, "abc", 3) == (void *)2,
		"strmap_put replaces and returns the old value");
	for (i = 0; i < 600; i++) {
		snprintf(keys[i], sizeof keys[i], "k%zu", i);
		*strmap_slot(m, keys[i], strlen(keys[i])) = (void *)(i + 10);
		*strmap_slot(b, keys[i], strlen(keys[i])) = (void *)(i + 10);
	}
	for (i = 0; i < 600; i++)
		if (strmap_get(m, keys[i], strlen(keys[i])) != (void *)(i + 10) ||
			strmap_get(b, keys[i], strlen(keys[i])) != (void *)(i + 10))
			break;
	ok(i == 600 && strmap_count(m) == 601 && strmap_count(b) == 600,
		"600 keys through growing tables");
	ok(strmap_each(b, count_key, &mine) == 1, "a borrowed map keeps the caller's key");
	ok(strmap_each(m, count_key, &mine) == 0, "a plain map keeps a copy");
	strmap_free(b); /* frees none of keys[] (valgrind would see it) */

	b = strmap_new_borrowed();
	strmap_reserve(b, 1000);
	slot = strmap_slot(b, keys[0], 2);
	for (i = 1; i < 600; i++)
		strmap_put(b, keys[i], strlen(keys[i]), (void *)i);
	ok(strmap_slot(b, keys[0], 2) == slot, "after strmap_reserve, inserts do not move slots");
	strmap_reserve(b, 10);
	ok(strmap_count(b) == 600 && strmap_get(b, "k599", 4) == (void *)599,
		"reserving less than is there changes nothing");
	strmap_free(b);
	strmap_free(m);
}

int
main(void)
{
	test_file_read();
	test_fnv1a();
	test_pool();
	test_strmap();
	test_error_cap();
	test_warning_cap();
	test_message_length();
	test_message_cleaning();
	test_snip();
	return done_testing();
}
