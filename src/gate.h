/* gate.h - the quality gate (SPEC §8): hold the last build's report to a
 * per-environment policy.
 *
 * Rules (YAML): a map from environment name to a list of clauses
 *   - {metric: NAME, min: X}        the metric must be >= X
 *   - {metric: NAME, max: X}        ... <= X
 *   - {metric: NAME, equals: V}     ... equal to V ("pass", 1.0, ...)
 * with optional "warn: true" (a failing clause is reported but does not
 * fail the gate) and, for critical_failures, "runs: N" (sum over the last
 * N builds; default 10).  Metrics: semantic_compliance,
 * ir_compliance_relaxed, infra_health, regressions (how many),
 * tests.SUITE, degraded_atoms, critical_failures.
 */
#ifndef DM_GATE_H
#define DM_GATE_H

struct cache;

/* gate_run: check environment env against rules (a file path); prints
 * each clause with its measured value.  Returns the exit status: 0 the
 * policy holds, 1 it does not, 2 bad rules or no report (messages as
 * FILE:LINE:COL). */
int gate_run(struct cache *c, const char *env, const char *rules);

#endif
