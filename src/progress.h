/* progress.h - what the user sees on stderr during a build: "[n/N]
 * STRATUM path" per atom built (one updating line on a terminal, plain
 * lines otherwise; color only on a terminal without NO_COLOR), messages
 * that must not be overwritten, and the per-stratum table at the end.
 * All calls are thread-safe. */
#ifndef DM_PROGRESS_H
#define DM_PROGRESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "project.h"

struct stratum_stats {
	size_t atoms;
	double ms;
	size_t errors, repaired;
	uint64_t tokens_in, tokens_out;
	double cost;
};

struct progress;

/* progress_new: for total atoms to build; f is stderr in real use. */
struct progress *progress_new(FILE *f, size_t total);
void progress_free(struct progress *pr);
/* progress_atom: the next atom started building. */
void progress_atom(struct progress *pr, enum stratum s, const char *path);
/* progress_line: print a whole line (a warning, an error) above the
 * status line. */
void progress_line(struct progress *pr, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* progress_done: end the status line. */
void progress_done(struct progress *pr);
/* progress_table: the per-stratum summary (SPEC §2). */
void progress_table(FILE *f, const struct stratum_stats st[STRATUM_COUNT]);

#endif
