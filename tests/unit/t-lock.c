/* t-lock: dmbuild.lock reads, writes byte for byte, and refuses bad text. */
#include <stdlib.h>
#include <string.h>

#include "lock.h"
#include "tap.h"

static const char *good =
	"# dmbuild.lock: accepted LLM slot fills.  Written by dmbuild; commit it.\n"
	"\n"
	"slot app/a.py first\n"
	"key      00112233445566778899aabbccddeeff\n"
	"provider anthropic\n"
	"model    claude-sonnet-4-5\n"
	"fill\n"
	"|    return 1\n"
	"|\n"
	"|    # end|\n"
	"end\n"
	"\n"
	"slot app/b.py x\n"
	"key      ffeeddccbbaa99887766554433221100\n"
	"provider openai\n"
	"model    gpt-4o\n"
	"fill\n"
	"|pass\n"
	"end\n";

static void
err(const char *text, const char *want, const char *what)
{
	struct lock l;
	struct diag d = {0};
	int r = lock_parse("L", text, strlen(text), &l, &d);

	ok(r == DM_EINPUT, "%s: refused", what);
	if (d.n) {
		char *m = xasprintf("%d:%d: %s", d.items[0].line, d.items[0].col, d.items[0].msg);

		is_str(m, want, "%s: message", what);
		free(m);
	} else {
		ok(0, "%s: a message", what);
	}
	diag_free(&d);
}

int
main(void)
{
	struct lock l;
	struct diag d = {0};
	struct lock_entry *e;
	struct digest k;
	char *text, *want;
	size_t len;
	const char *e10 = "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9" /* ten e-acute */
			  "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9";

	ok(lock_parse("L", good, strlen(good), &l, &d) == 0, "a lock parses");
	is_int((long long)l.n, 2, "two entries");
	e = lock_find(&l, "app/a.py", "first");
	ok(e != NULL, "found by output and slot");
	is_str(e ? e->fill : NULL, "    return 1\n\n    # end|\n", "the fill, bytes exact");
	is_str(e ? e->model : NULL, "claude-sonnet-4-5", "the model");
	text = lock_text(&l, &len);
	is_str(text, good, "writing what was read gives the same text");
	free(text);
	ok(!l.changed, "nothing changed");
	digest_parse("00112233445566778899aabbccddeeff", &k);
	lock_set(&l, "app/a.py", "first", k, "anthropic", "claude-sonnet-4-5", "    return 1\n\n    # end|\n");
	ok(!l.changed, "setting the same fill changes nothing");
	lock_set(&l, "app/0.py", "z", k, "command", "./fake", "x\n");
	ok(l.changed, "a new entry is a change");
	text = lock_text(&l, &len);
	ok(strstr(text, "slot app/0.py z") && strstr(text, "slot app/0.py z") < strstr(text, "slot app/a.py first"),
		"entries are sorted by output path");
	free(text);
	l.v[0].used = l.v[1].used = 0;
	for (len = 0; len < l.n; len++)
		if (!strcmp(l.v[len].out, "app/0.py"))
			l.v[len].used = 1;
	lock_drop_unused(&l);
	is_int((long long)l.n, 1, "unused entries are dropped");
	lock_free(&l);

	ok(lock_parse("L", "", 0, &l, &d) == 0 && l.n == 0, "an empty lock");
	lock_free(&l);
	err("slot a.py s\nkey 123\n", "2:5: expected 32 hex digits, found '123'",
		"a short key, at its column");
	err("slot a.py s\nkey      123\n", "2:10: expected 32 hex digits, found '123'",
		"a short key after the usual spacing");
	err("slot a.py s\nkey\t\t12\x01\n", "2:6: expected 32 hex digits, found '12\\x01'",
		"a key with a control byte, after tabs");
	err("slot a.py s\nkey      00112233445566778899aabbccddeeff\nmodel x\n",
		"3:1: expected 'provider VALUE', found 'model x'", "a missing provider");
	err("slot a.py s\nkey      00112233445566778899aabbccddeeff\nprovider a\nmodel m\nfill\n|x\n",
		"7:1: expected 'end' before the end of the file", "an unterminated fill");
	err("slot a.py s\nkey      00112233445566778899aabbccddeeff\nprovider a\nmodel m\nfill\nx\nend\n",
		"6:1: expected a fill line starting with '|' or 'end'", "a fill line without |");
	err("bogus\n", "1:1: expected 'slot OUTPUT NAME', found 'bogus'", "junk");
	err("slot a.py s\nkey      00112233445566778899aabbccddeeff\nprovider a\nmodel m\nfill\nend\n"
	    "slot a.py s\nkey      00112233445566778899aabbccddeeff\nprovider a\nmodel m\nfill\nend\n",
		"7:1: a second entry for slot a.py s", "a duplicate entry, at its slot line");

	/* quotes: cut to 48 bytes at a character boundary, bytes escaped;
	 * "model  " and 23 two-byte characters: byte 48 is inside one */
	text = xasprintf("slot a.py s\nkey      00112233445566778899aabbccddeeff\nmodel  %s%s%.6s\n",
		e10, e10, e10);
	want = xasprintf("3:1: expected 'provider VALUE', found 'model  %s%s...'", e10, e10);
	err(text, want, "a long line is cut between characters, not inside one");
	free(text);
	free(want);
	err("bogus\r\n", "1:1: expected 'slot OUTPUT NAME', found 'bogus\\x0D'",
		"a carriage return is shown escaped");
	err("\xff\xfe junk\n", "1:1: expected 'slot OUTPUT NAME', found '\\xFF\\xFE junk'",
		"bytes that are not UTF-8 are escaped");
	err("slot a.py s\nkey      0011223344556677889900112233445566778899001122334455\n",
		"2:10: expected 32 hex digits, found '001122334455667788990011223344556677889900112233...'",
		"a long key is cut");
	return done_testing();
}
