/* tap.h - a small TAP producer for the unit tests (read by prove). */
#ifndef DM_TAP_H
#define DM_TAP_H

#include <stddef.h>

/* ok: one test point; prints "ok N - name" or "not ok N - name". */
int ok(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* is_str: compares two strings (NULL allowed) and shows both on failure. */
int is_str(const char *got, const char *want, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* is_int: compares two integers and shows both on failure. */
int is_int(long long got, long long want, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* diag_note: a "# " comment line. */
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* done_testing: prints the plan "1..N"; returns the exit status (0 when
 * every test passed). */
int done_testing(void);

#endif
