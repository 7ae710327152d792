/* report.c - see report.h. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "fsio.h"
#include "json.h"
#include "key.h"
#include "project.h"
#include "qa.h"
#include "report.h"
#include "value.h"

static void
put_num(struct buf *b, double x)
{
	struct val *v = val_new_float(x);

	json_put_val(b, v);
	val_free(v);
}

struct suite {
	char *name;
	int failed;
};

static int
by_name(const void *a, const void *b)
{
	return strcmp(((const struct suite *)a)->name, ((const struct suite *)b)->name);
}

static void
add_history(struct cache *c, size_t critical)
{
	char *old = NULL;
	size_t oldlen = 0, keep;
	struct buf b = {0};
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (cache_get(c, CACHE_META, "history", 7, &old, &oldlen) != 0)
		oldlen = 0;
	oldlen -= oldlen % 12;
	keep = oldlen / 12 >= REPORT_HISTORY ? (REPORT_HISTORY - 1) * 12 : oldlen;
	if (keep)
		buf_add(&b, old + (oldlen - keep), keep);
	buf_put_u64(&b, (unsigned long long)ts.tv_sec);
	buf_put_u32(&b, (unsigned long)critical);
	cache_put(c, CACHE_META, "history", 7, b.data, b.len);
	buf_free(&b);
	free(old);
}

int
report_history(struct cache *c, size_t n, size_t *critical, size_t *runs)
{
	char *h = NULL;
	size_t len = 0, k, have;

	*critical = 0;
	*runs = 0;
	if (cache_get(c, CACHE_META, "history", 7, &h, &len) != 0)
		return 0;
	have = len / 12;
	for (k = have > n ? have - n : 0; k < have; k++) {
		struct cursor cur = {(const unsigned char *)h + k * 12, 12, 0, 0};

		cur_u64(&cur);
		*critical += cur_u32(&cur);
		(*runs)++;
	}
	free(h);
	return 0;
}

int
report_write(const struct project *p, struct record *const *recs,
	const struct stratum_stats st[STRATUM_COUNT], size_t failures, struct cache *c,
	struct run_summary *sum)
{
	struct buf b = {0}, missing = {0};
	struct suite *suites = NULL;
	size_t nsuites = 0, i, k, critical = failures, checkfails = 0;
	int r, s;

	qa_contracts(p, &sum->semantic, &sum->relaxed, &missing);
	sum->missing = 0;
	for (i = 0; i < missing.len; i++)
		sum->missing += missing.data[i] == '\n';
	for (i = 0; i < p->natoms; i++) {
		struct check_outcomes oc = {0};

		if (!recs[i])
			continue;
		if (recs[i]->flags & RECORD_DEGRADED)
			critical++;
		check_outcomes_parse(recs[i]->checks, &oc);
		for (k = 0; k < oc.n; k++) {
			size_t j;

			if (!oc.v[k].passed)
				checkfails++;
			if (!oc.v[k].suite)
				continue;
			for (j = 0; j < nsuites && strcmp(suites[j].name, oc.v[k].suite); j++)
				;
			if (j == nsuites) {
				suites = xreallocarray(suites, nsuites + 1, sizeof(*suites));
				suites[nsuites].name = xstrdup(oc.v[k].suite);
				suites[nsuites++].failed = 0;
			}
			suites[j].failed |= !oc.v[k].passed;
		}
		check_outcomes_free(&oc);
	}
	if (nsuites > 1)
		qsort(suites, nsuites, sizeof(*suites), by_name);
	buf_adds(&b, "{\"semantic_compliance\": ");
	put_num(&b, sum->semantic);
	buf_adds(&b, ", \"ir_compliance_relaxed\": ");
	put_num(&b, sum->relaxed);
	buf_printf(&b, ",\n \"infra_health\": \"%s\", \"tests\": {",
		failures || checkfails ? "fail" : "pass");
	for (i = 0; i < nsuites; i++) {
		if (i)
			buf_adds(&b, ", ");
		json_put_str(&b, suites[i].name, strlen(suites[i].name));
		buf_printf(&b, ": \"%s\"", suites[i].failed ? "fail" : "pass");
		free(suites[i].name);
	}
	free(suites);
	buf_adds(&b, "},\n \"regressions\": [], \"strata\": {");
	for (s = 0; s < STRATUM_COUNT; s++) {
		buf_printf(&b, "%s\n  \"%s\": {\"atoms\": %zu, \"ms\": %.0f, \"errors\": %zu, "
			       "\"repaired\": %zu, \"tokens_in\": %llu, \"tokens_out\": %llu}",
			s ? "," : "", stratum_name((enum stratum)s), st[s].atoms, st[s].ms, st[s].errors,
			st[s].repaired, (unsigned long long)st[s].tokens_in,
			(unsigned long long)st[s].tokens_out);
	}
	buf_adds(&b, "}}\n");
	r = fs_write_atomic(REPORT_DIR "/quality.json", b.data, b.len);
	if (!r)
		r = fs_write_atomic(REPORT_DIR "/contracts.txt", missing.data ? missing.data : "",
			missing.len);
	add_history(c, critical + checkfails);
	buf_free(&b);
	buf_free(&missing);
	return r;
}
