/* run.h - run a program without a shell: argv as given, in a directory,
 * with a time limit, standard input from a buffer (or /dev/null), standard
 * output and error captured.  The child gets its own process group, so a
 * timeout kills everything it started. */
#ifndef DM_RUN_H
#define DM_RUN_H

#include <stddef.h>

#include "util.h"

struct run_result {
	int status;     /* exit status, or 128 + signal */
	int timed_out;  /* killed after the time limit */
	int exec_failed; /* the program could not be started (errno in err) */
	struct buf out; /* standard output */
	struct buf err; /* standard error */
	double ms;      /* wall time */
};

/* run_argv: run argv[0] (looked up in PATH) with argv, in dir (NULL: the
 * current directory), feeding in[0..inlen) (in NULL: /dev/null), killing it
 * after timeout_ms (0: no limit).  Captured output is cut at max_out bytes
 * per stream.  0, or DM_EIO if the process could not be set up (fork,
 * pipe); a program that fails or cannot be executed is a result, not an
 * error.  Safe to call from several threads. */
int run_argv(char *const argv[], const char *dir, const char *in, size_t inlen, int timeout_ms,
	size_t max_out, struct run_result *res);
void run_result_free(struct run_result *res);

/* run_split: split a command line into words at blanks, honouring '...'
 * and "..." quoting and backslash escapes outside single quotes (no
 * expansion of any kind).  A malloc'd NULL-terminated vector, or NULL with
 * *why set on an unterminated quote. */
char **run_split(const char *line, const char **why);
void run_argv_free(char **argv);

#endif
