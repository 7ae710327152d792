/* t-run: running programs without a shell. */
#include <string.h>

#include "run.h"
#include "tap.h"

static void
test_basic(void)
{
	char *echo[] = {"printf", "%s|", "a b", "$HOME", ";rm", NULL};
	char *cat[] = {"cat", NULL};
	char *fail[] = {"sh", "-c", "echo oops >&2; exit 3", NULL};
	char *none[] = {"dmbuild-no-such-program", NULL};
	char *pwd[] = {"pwd", NULL};
	struct run_result r;

	ok(run_argv(echo, NULL, NULL, 0, 5000, 1 << 20, &r) == 0, "printf runs");
	is_str(r.out.data, "a b|$HOME|;rm|", "arguments reach the program untouched, no shell");
	is_int(r.status, 0, "exit status 0");
	run_result_free(&r);

	ok(run_argv(cat, NULL, "hello\n", 6, 5000, 1 << 20, &r) == 0, "cat runs");
	is_str(r.out.data, "hello\n", "standard input is fed");
	run_result_free(&r);

	run_argv(fail, NULL, NULL, 0, 5000, 1 << 20, &r);
	is_int(r.status, 3, "a failing status is reported");
	is_str(r.err.data, "oops\n", "standard error is captured");
	run_result_free(&r);

	run_argv(none, NULL, NULL, 0, 5000, 1 << 20, &r);
	ok(r.exec_failed && r.status == 127, "a missing program is a result, not an error");
	ok(r.err.data && strstr(r.err.data, "cannot run dmbuild-no-such-program"), "and says why");
	run_result_free(&r);

	run_argv(pwd, "/tmp", NULL, 0, 5000, 1 << 20, &r);
	is_str(r.out.data, "/tmp\n", "the working directory is set");
	run_result_free(&r);
}

static void
test_limits(void)
{
	char *slow[] = {"sh", "-c", "sleep 30 & sleep 30; echo never", NULL};
	char *big[] = {"head", "-c", "1000000", "/dev/zero", NULL};
	struct run_result r;

	run_argv(slow, NULL, NULL, 0, 300, 1 << 20, &r);
	ok(r.timed_out, "a slow program is killed at the time limit");
	ok(r.ms < 5000, "and the call returns promptly (%.0f ms), children killed too", r.ms);
	ok(!r.out.data || !strstr(r.out.data, "never"), "nothing after the kill");
	run_result_free(&r);

	run_argv(big, NULL, NULL, 0, 5000, 1000, &r);
	is_int((long long)r.out.len, 1000, "output is capped");
	is_int(r.status, 0, "and the program still finishes");
	run_result_free(&r);
}

static void
test_split(void)
{
	const char *why;
	char **v = run_split("python3 -m  py_compile 'a b' \"c \\\"d\\\"\" e\\ f", &why);

	ok(v != NULL, "a command line splits");
	ok(v && !strcmp(v[0], "python3") && !strcmp(v[1], "-m") && !strcmp(v[2], "py_compile"),
		"plain words");
	ok(v && !strcmp(v[3], "a b"), "single quotes");
	ok(v && !strcmp(v[4], "c \"d\""), "double quotes with escapes");
	ok(v && !strcmp(v[5], "e f") && v[6] == NULL, "backslash escape, and the end");
	run_argv_free(v);
	ok(run_split("a 'b", &why) == NULL && why, "an unterminated quote is refused");
	v = run_split("  ", &why);
	ok(v && v[0] == NULL, "blank gives no words");
	run_argv_free(v);
}

int
main(void)
{
	test_basic();
	test_limits();
	test_split();
	return done_testing();
}
