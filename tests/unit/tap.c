/* tap.c - see tap.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tap.h"

static int ntests, nfailed;

static int
report(int cond, const char *fmt, va_list ap)
{
	ntests++;
	if (!cond)
		nfailed++;
	printf("%sok %d - ", cond ? "" : "not ", ntests);
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
	return cond;
}

int
ok(int cond, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = report(cond, fmt, ap);
	va_end(ap);
	return r;
}

int
is_str(const char *got, const char *want, const char *fmt, ...)
{
	va_list ap;
	int r, cond;

	cond = (!got && !want) || (got && want && strcmp(got, want) == 0);
	va_start(ap, fmt);
	r = report(cond, fmt, ap);
	va_end(ap);
	if (!cond) {
		printf("#      got: '%s'\n", got ? got : "(null)");
		printf("# expected: '%s'\n", want ? want : "(null)");
	}
	return r;
}

int
is_int(long long got, long long want, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = report(got == want, fmt, ap);
	va_end(ap);
	if (got != want)
		printf("#      got: %lld\n# expected: %lld\n", got, want);
	return r;
}

void
note(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

int
done_testing(void)
{
	printf("1..%d\n", ntests);
	return nfailed ? 1 : 0;
}
