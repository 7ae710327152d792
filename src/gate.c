/* gate.c - see gate.h.  The rules are read with the spec loader (so
 * errors carry FILE:LINE:COL), the report with the JSON reader, the
 * history and degraded atoms from the cache.  Text from the rules or the
 * command line quoted in a message goes through text_snip (GATE_SNIP). */
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "gate.h"
#include "json.h"
#include "key.h"
#include "report.h"
#include "spec.h"
#include "value.h"

#define GATE_SNIP 52 /* a quote in a message: <= 48 bytes, "..." and NUL */

/* snip: s made fit to quote in a message, in dst. */
static const char *
snip(char *dst, const char *s)
{
	return text_snip(dst, GATE_SNIP, s, strlen(s));
}

struct measured {
	int have_num, have_str;
	double num;
	char str[64];
};

static int
count_degraded(void *ud, const void *key, size_t klen, const void *val, size_t vlen)
{
	struct record r;

	(void)key;
	(void)klen;
	if (record_decode(val, vlen, &r) == 0) {
		if (r.flags & RECORD_DEGRADED)
			(*(size_t *)ud)++;
		record_free(&r);
	}
	return 0;
}

static double
num_of(const struct val *v)
{
	return v->kind == VAL_INT ? (double)v->i : v->f;
}

static int
is_num(const struct val *v)
{
	return v && (v->kind == VAL_INT || v->kind == VAL_FLOAT);
}

static void
measure(struct cache *c, const struct val *report, const char *metric, long runs,
	struct measured *m)
{
	const struct val *v;

	memset(m, 0, sizeof(*m));
	if (!strcmp(metric, "degraded_atoms")) {
		size_t n = 0;

		cache_each(c, CACHE_ATOMS, count_degraded, &n);
		m->have_num = 1;
		m->num = (double)n;
		return;
	}
	if (!strcmp(metric, "critical_failures")) {
		size_t crit, nruns;

		report_history(c, (size_t)runs, &crit, &nruns);
		m->have_num = 1;
		m->num = (double)crit;
		return;
	}
	if (!strncmp(metric, "tests.", 6)) {
		const struct val *t = val_map_get(report, "tests", 5);

		v = t ? val_map_get(t, metric + 6, strlen(metric + 6)) : NULL;
	} else {
		v = val_map_get(report, metric, strlen(metric));
	}
	if (!v)
		return;
	if (!strcmp(metric, "regressions") && v->kind == VAL_LIST) {
		m->have_num = 1;
		m->num = (double)v->n;
	} else if (is_num(v)) {
		m->have_num = 1;
		m->num = num_of(v);
	} else if (v->kind == VAL_STR) {
		m->have_str = 1;
		snprintf(m->str, sizeof(m->str), "%s", v->s);
	}
}

static int
known_metric(const char *m)
{
	static const char *names[] = {"semantic_compliance", "ir_compliance_relaxed",
		"infra_health", "regressions", "degraded_atoms", "critical_failures"};
	size_t i;

	if (!strncmp(m, "tests.", 6) && m[6])
		return 1;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(m, names[i]))
			return 1;
	return 0;
}

static void
describe(const struct val *v, char *out, size_t n)
{
	struct buf b = {0};

	val_format(v, &b);
	snprintf(out, n, "%s", b.data ? b.data : "");
	buf_free(&b);
}

/* clause: check one clause; 0 passed, 1 failed, -1 malformed (in d). */
static int
clause(struct cache *c, const struct val *report, const struct val *cl, const char *env,
	const char *path, int *warned, struct diag *d)
{
	const struct val *metric = val_map_get(cl, "metric", 6), *min = val_map_get(cl, "min", 3),
			 *max = val_map_get(cl, "max", 3), *eq = val_map_get(cl, "equals", 6),
			 *warn = val_map_get(cl, "warn", 4), *runs = val_map_get(cl, "runs", 4);
	struct measured m;
	char want[96], got[80], ev[64], q[GATE_SNIP], qe[GATE_SNIP];
	int bounds = !!min + !!max + !!eq, pass;
	size_t i;

	if (cl->kind != VAL_MAP) {
		diag_add(d, path, cl->pos.line, cl->pos.col,
			"%s: expected a clause {metric: ..., min|max|equals: ...}, found a %s",
			snip(qe, env), val_kind_name(cl->kind));
		return -1;
	}
	for (i = 0; i < cl->n; i++) {
		const char *k = cl->keys[i];

		if (strcmp(k, "metric") && strcmp(k, "min") && strcmp(k, "max") &&
			strcmp(k, "equals") && strcmp(k, "warn") && strcmp(k, "runs")) {
			diag_add(d, path, cl->items[i]->pos.line, cl->items[i]->pos.col,
				"unknown key '%s' in a clause; expected metric, min, max, equals, warn or "
				"runs",
				snip(q, k));
			return -1;
		}
	}
	if (!metric || metric->kind != VAL_STR || !known_metric(metric->s)) {
		if (!metric)
			snprintf(got, sizeof(got), "nothing");
		else if (metric->kind != VAL_STR)
			snprintf(got, sizeof(got), "a %s", val_kind_name(metric->kind));
		else
			snprintf(got, sizeof(got), "'%s'", snip(q, metric->s));
		diag_add(d, path, metric ? metric->pos.line : cl->pos.line,
			metric ? metric->pos.col : cl->pos.col,
			"expected a metric (semantic_compliance, ir_compliance_relaxed, infra_health, "
			"regressions, tests.SUITE, degraded_atoms or critical_failures), found %s", got);
		return -1;
	}
	if (bounds != 1 || (min && !is_num(min)) || (max && !is_num(max))) {
		diag_add(d, path, cl->pos.line, cl->pos.col,
			"clause for %s: expected exactly one of min: NUMBER, max: NUMBER or equals: "
			"VALUE",
			snip(q, metric->s));
		return -1;
	}
	if (warn && warn->kind != VAL_BOOL) {
		diag_add(d, path, warn->pos.line, warn->pos.col, "warn: expected true or false");
		return -1;
	}
	if (runs && (runs->kind != VAL_INT || runs->i < 1 || runs->i > REPORT_HISTORY)) {
		diag_add(d, path, runs->pos.line, runs->pos.col,
			"runs: expected a whole number from 1 to %d", REPORT_HISTORY);
		return -1;
	}
	measure(c, report, metric->s, runs ? (long)runs->i : 10, &m);
	if (m.have_num)
		snprintf(got, sizeof(got), "%g", m.num);
	else if (m.have_str)
		snprintf(got, sizeof(got), "%s", m.str);
	else
		snprintf(got, sizeof(got), "missing");
	if (min) {
		pass = m.have_num && m.num >= num_of(min);
		snprintf(want, sizeof(want), ">= %g", num_of(min));
	} else if (max) {
		pass = m.have_num && m.num <= num_of(max);
		snprintf(want, sizeof(want), "<= %g", num_of(max));
	} else {
		describe(eq, ev, sizeof(ev));
		pass = is_num(eq) ? m.have_num && m.num == num_of(eq)
				  : m.have_str && !strcmp(m.str, ev);
		snprintf(want, sizeof(want), "== %s", ev);
	}
	if (!strcmp(metric->s, "critical_failures")) {
		size_t len = strlen(want);

		snprintf(want + len, sizeof(want) - len, " over the last %ld runs",
			runs ? (long)runs->i : 10L);
	}
	printf("  %-4s %s = %s (needs %s)\n",
		pass ? "ok" : warn && warn->b ? "WARN" : "FAIL", metric->s, got, want);
	if (!pass && warn && warn->b) {
		(*warned)++;
		return 0;
	}
	return !pass;
}

int
gate_run(struct cache *c, const char *env, const char *rules)
{
	struct diag d = {0};
	struct val *rv = NULL, *report = NULL;
	const struct val *policy;
	char *text = NULL, q[GATE_SNIP], qe[GATE_SNIP];
	size_t len, i, failed = 0;
	int status = 2, warned = 0, r;

	if (file_read(rules, &text, &len) != 0) {
		diag_add(&d, rules, 0, 0, "cannot read the gate rules");
		goto out;
	}
	if (spec_parse(rules, text, len, &rv, &d))
		goto out;
	free(text);
	text = NULL;
	policy = val_map_get(rv, env, strlen(env));
	if (!policy) {
		struct buf envs = {0};

		for (i = 0; i < rv->n; i++)
			buf_printf(&envs, "%s%s", i ? ", " : "", snip(q, rv->keys[i]));
		diag_add(&d, rules, 0, 0, "no policy for environment '%s' (the rules have: %s)",
			snip(qe, env), envs.data ? envs.data : "none");
		buf_free(&envs);
		goto out;
	}
	if (policy->kind != VAL_LIST) {
		diag_add(&d, rules, policy->pos.line, policy->pos.col,
			"%s: expected a list of clauses, found a %s", snip(qe, env),
			val_kind_name(policy->kind));
		goto out;
	}
	if (file_read(REPORT_DIR "/quality.json", &text, &len) != 0) {
		diag_add(&d, REPORT_DIR "/quality.json", 0, 0,
			"no quality report: run dmbuild in this project first");
		goto out;
	}
	if (json_parse(REPORT_DIR "/quality.json", text, len, &report, &d))
		goto out;
	printf("gate %s (%s):\n", env, rules);
	for (i = 0; i < policy->n; i++) {
		r = clause(c, report, policy->items[i], env, rules, &warned, &d);
		if (r < 0)
			goto out;
		failed += (size_t)r;
	}
	if (failed)
		printf("gate %s: FAILED (%zu clause%s)\n", env, failed, failed == 1 ? "" : "s");
	else
		printf("gate %s: passed%s\n", env, warned ? " with warnings" : "");
	status = failed ? 1 : 0;
out:
	diag_print(&d, stderr);
	diag_free(&d);
	free(text);
	val_free(rv);
	val_free(report);
	return status;
}
