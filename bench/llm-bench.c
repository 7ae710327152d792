/* llm-bench.c - throughput of the LLM transport (src/llm.c) against the
 * loopback stub (tests/stub/llm_stub.py): N requests at K in flight, for
 * each K given, with the stub answering every request after a fixed
 * latency.  Prints, per K: wall time, requests per second, the ideal wall
 * time N/K * latency, efficiency = ideal / measured, and the CPU time this
 * process (the engine thread and the submitting thread; not the stub)
 * spent per request, from getrusage; at the end, the CPU the stub used
 * (a Python process: with one interpreter lock its CPU per request bounds
 * what it can serve, which shows at large K on a small machine).
 *
 * Built by `make bench/llm-bench` (and `make bench`, which runs it and
 * puts its table in doc/performance.md); run from the top of the tree:
 *   bench/llm-bench [-n N] [-k K,K,...] [-l LATENCY_MS] [-p anthropic|openai]
 * (defaults: -n 1000 -k 50,100,200 -l 250 -p openai).  Needs python3.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "llm.h"
#include "util.h"

struct tally {
	int ok, failed;
	char first_error[256];
};

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static double
cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000.0 +
		(double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000.0;
}

/* done: runs on the engine thread only, so the tally needs no lock. */
static void
done(void *ud, struct llm_response *r)
{
	struct tally *t = ud;

	if (r->error == LLM_OK) {
		t->ok++;
	} else {
		if (!t->failed++)
			snprintf(t->first_error, sizeof(t->first_error), "%s",
				r->message ? r->message : "?");
	}
	llm_response_free(r);
}

static pid_t
stub_start(const char *stub, int latency, char *dir, int *port)
{
	struct timespec tick = {0, 10000000L};
	char ppath[128], lat[32];
	double t0;
	pid_t pid;

	snprintf(ppath, sizeof(ppath), "%s/port", dir);
	snprintf(lat, sizeof(lat), "%d", latency);
	pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		dup2(devnull, 1);
		execlp("python3", "python3", "-S", stub, "--latency-ms", lat, "--port-file", ppath,
			"--fill", "def f():\n    return 42\n", (char *)NULL);
		_exit(127);
	}
	for (t0 = now_ms(); now_ms() - t0 < 15000; nanosleep(&tick, NULL)) {
		FILE *f = fopen(ppath, "r");

		if (f) {
			int ok = fscanf(f, "%d", port) == 1;

			fclose(f);
			if (ok && *port > 0) {
				unlink(ppath);
				return pid;
			}
		}
		if (waitpid(pid, NULL, WNOHANG) == pid)
			break;
	}
	kill(pid, SIGTERM);
	return -1;
}

static int
bench_one(const struct llm_target *chain, int n, int k, int latency)
{
	struct llm_opts o = {0};
	struct llm_request rq = {"You write Python. This shared context is the same for every slot.",
		"Fill the body of f.", 0.7, 256};
	struct tally t = {0};
	struct diag d = {0};
	struct llm *l;
	double w0, c0, wall, cpu, ideal;
	int i;

	o.chain = chain;
	o.nchain = 1;
	o.max_in_flight = k;
	o.timeout_ms = 60000;
	if (llm_new(&o, &l, &d) != 0) {
		diag_print(&d, stderr);
		diag_free(&d);
		return 1;
	}
	w0 = now_ms();
	c0 = cpu_ms();
	for (i = 0; i < n; i++)
		llm_submit(l, &rq, done, &t);
	llm_drain(l);
	wall = now_ms() - w0;
	cpu = cpu_ms() - c0;
	llm_free(l);
	ideal = (double)((n + k - 1) / k) * latency;
	printf("%6d %6d %10.0f %10.1f %10.0f %9.1f%% %12.1f %6d\n", n, k, wall,
		(double)n * 1000.0 / wall, ideal, 100.0 * ideal / wall, cpu * 1000.0 / n, t.failed);
	if (t.failed)
		fprintf(stderr, "llm-bench: %d failed, the first: %s\n", t.failed, t.first_error);
	return t.failed != 0;
}

int
main(int argc, char **argv)
{
	const char *ks = "50,100,200", *provider = "openai", *stub = "tests/stub/llm_stub.py";
	char dir[] = "/tmp/llm-bench.XXXXXX", base[64], *list, *tok, *save = NULL;
	struct llm_target chain[1];
	int n = 1000, latency = 250, port = 0, c, rc = 0, nk = 0;
	pid_t pid;

	while ((c = getopt(argc, argv, "n:k:l:p:s:")) != -1) {
		switch (c) {
		case 'n':
			n = atoi(optarg);
			break;
		case 'k':
			ks = optarg;
			break;
		case 'l':
			latency = atoi(optarg);
			break;
		case 'p':
			provider = optarg;
			break;
		case 's':
			stub = optarg;
			break;
		default:
			fprintf(stderr, "usage: llm-bench [-n N] [-k K,K...] [-l LATENCY_MS] "
					"[-p anthropic|openai] [-s STUB]\n");
			return 2;
		}
	}
	if (n < 1 || latency < 0 || (strcmp(provider, "openai") && strcmp(provider, "anthropic"))) {
		fprintf(stderr, "llm-bench: bad -n, -l or -p\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	setenv("NO_PROXY", "127.0.0.1,localhost", 1);
	setenv("no_proxy", "127.0.0.1,localhost", 1);
	if (!mkdtemp(dir)) {
		fprintf(stderr, "llm-bench: mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	pid = stub_start(stub, latency, dir, &port);
	if (pid < 0) {
		fprintf(stderr, "llm-bench: the stub (%s) did not start\n", stub);
		rmdir(dir);
		return 1;
	}
	snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
	setenv("OPENAI_BASE_URL", base, 1);
	setenv("ANTHROPIC_BASE_URL", base, 1);
	setenv("OPENAI_API_KEY", "bench-key", 1);
	setenv("ANTHROPIC_API_KEY", "bench-key", 1);
	chain[0].provider = provider;
	chain[0].model = provider[0] == 'o' ? "gpt-4o" : "claude-sonnet-4-5";

	printf("# %s, stub latency %d ms\n", provider, latency);
	printf("%6s %6s %10s %10s %10s %10s %12s %6s\n", "N", "K", "wall_ms", "req/s", "ideal_ms",
		"effic", "cpu_us/call", "failed");
	list = xstrdup(ks);
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int k = atoi(tok);

		if (k < 1) {
			fprintf(stderr, "llm-bench: bad K %s\n", tok);
			rc = 2;
			break;
		}
		rc |= bench_one(chain, n, k, latency);
		nk++;
	}
	free(list);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	{
		struct rusage ru;
		double ms;

		getrusage(RUSAGE_CHILDREN, &ru);
		ms = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000.0 +
			(double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000.0;
		printf("# the stub used %.0f ms of CPU: %.0f us a request (its ceiling, with one "
		       "interpreter lock: ~%.0f requests/s)\n",
			ms, ms * 1000.0 / ((double)n * nk), (double)n * nk * 1000.0 / ms);
	}
	rmdir(dir);
	return rc;
}
