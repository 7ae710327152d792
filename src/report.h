/* report.h - what a build leaves for the quality gate:
 * .dmbuild/reports/quality.json (SPEC §8: semantic_compliance,
 * ir_compliance_relaxed, infra_health, tests, regressions, strata),
 * .dmbuild/reports/contracts.txt (one line per contract item not matched
 * exactly) and the run history in CACHE_META "history" (the last
 * REPORT_HISTORY runs: when, and how many critical failures). */
#ifndef DM_REPORT_H
#define DM_REPORT_H

#include <stddef.h>

#include "progress.h"

struct project;
struct record;
struct cache;

#define REPORT_HISTORY 100
#define REPORT_DIR ".dmbuild/reports"

struct run_summary {
	double semantic, relaxed;
	size_t missing; /* contract items not matched exactly */
};

/* report_write: recs[i] is atom i's current record (NULL: none);
 * failures counts atoms that failed in this run. */
int report_write(const struct project *p, struct record *const *recs,
	const struct stratum_stats st[STRATUM_COUNT], size_t failures, struct cache *c,
	struct run_summary *sum);
/* report_history: the critical failures of the last n runs, summed; *runs
 * gets how many runs the history holds (at most n). */
int report_history(struct cache *c, size_t n, size_t *critical, size_t *runs);

#endif
