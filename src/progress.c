/* progress.c - see progress.h.  Smart mode (stderr is a terminal and TERM
 * is not "dumb") rewrites one status line with \r and ESC[K; a line
 * printed in between clears the status first and redraws it after. */
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "progress.h"

struct progress {
	FILE *f;
	size_t total, n;
	int smart, color;
	int shown; /* a status line is on screen */
	char *last;
	pthread_mutex_t lock;
};

struct progress *
progress_new(FILE *f, size_t total)
{
	struct progress *pr = xcalloc(1, sizeof(*pr));
	const char *term = getenv("TERM");

	pr->f = f;
	pr->total = total;
	pr->smart = isatty(fileno(f)) && term && strcmp(term, "dumb") != 0;
	pr->color = pr->smart && !getenv("NO_COLOR");
	pthread_mutex_init(&pr->lock, NULL);
	return pr;
}

void
progress_free(struct progress *pr)
{
	if (!pr)
		return;
	pthread_mutex_destroy(&pr->lock);
	free(pr->last);
	free(pr);
}

static const char *
stratum_color(enum stratum s)
{
	switch (s) {
	case STRATUM_TEMPLATE: return "\033[32m";
	case STRATUM_AST: return "\033[36m";
	case STRATUM_LLM: return "\033[35m";
	default: return "\033[33m";
	}
}

void
progress_atom(struct progress *pr, enum stratum s, const char *path)
{
	int w = 1;
	size_t t;

	pthread_mutex_lock(&pr->lock);
	pr->n++;
	for (t = pr->total; t >= 10; t /= 10)
		w++;
	if (pr->smart) {
		fprintf(pr->f, "\r[%*zu/%zu] %s%-8s%s %s\033[K", w, pr->n, pr->total,
			pr->color ? stratum_color(s) : "", stratum_name(s), pr->color ? "\033[0m" : "",
			path);
		pr->shown = 1;
	} else {
		fprintf(pr->f, "[%*zu/%zu] %-8s %s\n", w, pr->n, pr->total, stratum_name(s), path);
	}
	fflush(pr->f);
	pthread_mutex_unlock(&pr->lock);
}

void
progress_line(struct progress *pr, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&pr->lock);
	if (pr->shown) {
		fputs("\r\033[K", pr->f);
		pr->shown = 0;
	}
	va_start(ap, fmt);
	vfprintf(pr->f, fmt, ap);
	va_end(ap);
	fputc('\n', pr->f);
	fflush(pr->f);
	pthread_mutex_unlock(&pr->lock);
}

void
progress_done(struct progress *pr)
{
	pthread_mutex_lock(&pr->lock);
	if (pr->shown)
		fputc('\n', pr->f);
	pr->shown = 0;
	fflush(pr->f);
	pthread_mutex_unlock(&pr->lock);
}

static void
tokens(char *out, size_t n, uint64_t v)
{
	if (v >= 1000)
		snprintf(out, n, "%.1fk", (double)v / 1000.0);
	else
		snprintf(out, n, "%llu", (unsigned long long)v);
}

void
progress_table(FILE *f, const struct stratum_stats st[STRATUM_COUNT])
{
	int s;

	fprintf(f, "%-9s %6s %7s %7s %9s  %-14s %s\n", "stratum", "atoms", "time", "errors",
		"repaired", "tokens in/out", "cost");
	for (s = 0; s < STRATUM_COUNT; s++) {
		char ti[32], to[32], tok[72], cost[32];

		tokens(ti, sizeof(ti), st[s].tokens_in);
		tokens(to, sizeof(to), st[s].tokens_out);
		if (s == STRATUM_QA) {
			snprintf(tok, sizeof(tok), "-");
			snprintf(cost, sizeof(cost), "-");
		} else {
			snprintf(tok, sizeof(tok), "%s/%s", ti, to);
			if (st[s].cost > 0)
				snprintf(cost, sizeof(cost), "$%.2f", st[s].cost);
			else
				snprintf(cost, sizeof(cost), "$0");
		}
		fprintf(f, "%-9s %6zu %6.2fs %7zu %9zu  %-14s %s\n", stratum_name((enum stratum)s),
			st[s].atoms, st[s].ms / 1000.0, st[s].errors, st[s].repaired, tok, cost);
	}
}
