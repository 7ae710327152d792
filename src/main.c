/* main.c - the command line (SPEC §11).  The only place that exits:
 * usage and input errors exit 2, build failures 1.
 *
 * Order of a build: parse options, chdir (-C), take the project lock
 * (.dmbuild/lock, so two dmbuild processes never build one project at
 * once: the second waits), open the cache, try the no-op stamp, else load
 * the project and build. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build.h"
#include "cache.h"
#include "fsio.h"
#include "gate.h"
#include "project.h"
#include "tool.h"
#include "util.h"

static const char usage_text[] =
	"usage: dmbuild [-C DIR] [-f DMFILE] [-j N] [-k N] [-n] [-v] [-d stats] [--force]\n"
	"               [--mode=safe|hybrid|research] [--llm-jobs N] [--max-cost USD]\n"
	"               [--trace FILE] [TARGET...]\n"
	"       dmbuild explain PATH | clean [--force] | graph | render TEMPLATE [DATA]\n"
	"       dmbuild gate --env ENV [--rules FILE]\n"
	"       dmbuild --version | --help\n";

static const char help_text[] =
	"Build the atoms a DMfile declares, rebuilding only what changed.\n"
	"\n"
	"options:\n"
	"  -C DIR           change to DIR first (the project directory)\n"
	"  -f DMFILE        read DMFILE instead of ./DMfile\n"
	"  -j N             build N atoms at once (default: the number of CPUs)\n"
	"  -k N             keep going until N atoms failed (0: never stop; default 1)\n"
	"  -n               dry run: print the plan (waves, each stale atom and why)\n"
	"  -v               verbose: say why each atom is built\n"
	"  -d stats         print the time and memory of each phase of the build\n"
	"  --force          overwrite outputs that were edited by hand\n"
	"  --trace FILE     write a Chrome trace-event JSON of the build (Perfetto)\n"
	"  --mode=MODE      safe (no LLM: slot fills only from dmbuild.lock), hybrid\n"
	"                   (ask the model for slots without an accepted fill) or\n"
	"                   research (ask afresh at higher temperatures, write only\n"
	"                   under .dmbuild/research/RUN/); overrides the DMfile's mode\n"
	"  --llm-jobs N     LLM requests in flight (default 32)\n"
	"  --max-cost USD   start no LLM request once this much is spent\n"
	"  --version        print the version\n"
	"  --help           print this help\n"
	"\n"
	"commands:\n"
	"  explain PATH     which atom, template and spec values produced PATH, and why\n"
	"                   it was last rebuilt\n"
	"  clean            remove the outputs dmbuild wrote (edited ones are kept\n"
	"                   unless --force) and the manifest\n"
	"  graph            print the atom graph in Graphviz dot\n"
	"  gate --env ENV [--rules FILE]\n"
	"                   hold the last build's quality report to the policy for\n"
	"                   ENV (rules/gate.yaml of the project, else the installed one)\n"
	"  render TEMPLATE [DATA]\n"
	"                   render one Mustache template with YAML or JSON data;\n"
	"                   partials are looked up beside the template\n"
	"\n"
	"exit status: 0 success, 1 build or check failure, 2 usage or input error.\n"
	"See dmbuild(1) and dmfile(5).\n";

/* exit_frees: whether to free everything before exiting: for leak
 * checkers (valgrind with DMBUILD_FREE_AT_EXIT set, the sanitizer build);
 * otherwise a build's memory goes with the process, as in make or ninja,
 * which saves tens of milliseconds on large projects. */
static int
exit_frees(void)
{
#if defined(__SANITIZE_ADDRESS__)
	return 1;
#else
	const char *e = getenv("DMBUILD_FREE_AT_EXIT");

	return e && *e;
#endif
}

static void
usage(void)
{
	fputs(usage_text, stderr);
	exit(2);
}

static int
parse_count(const char *opt, const char *s, int min)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || !*s || *end || v < min || v > 100000)
		fatal("%s: expected a number >= %d, found '%s'", opt, min, s);
	return (int)v;
}

static double
parse_money(const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || !*s || *end || !(v > 0) || v > 1e9)
		fatal("--max-cost: expected an amount of US dollars above 0, found '%s'", s);
	return v;
}

/* datadir: where rules/ and stdlib-templates/ are: $DMBUILD_DATADIR, else
 * beside the executable when it runs from a build tree, else the
 * configured DATADIR. */
static char *
datadir(void)
{
	const char *env = getenv("DMBUILD_DATADIR");
	char exe[PATH_MAX], *slash, *cand;
	ssize_t n;
	struct stat st;

	if (env && *env)
		return xstrdup(env);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			cand = xasprintf("%s/stdlib-templates", exe);
			if (stat(cand, &st) == 0 && S_ISDIR(st.st_mode)) {
				free(cand);
				return xstrdup(exe);
			}
			free(cand);
		}
	}
	return xstrdup(DM_DATADIR);
}

static void
on_signal(int sig)
{
	(void)sig;
	if (build_interrupted) {
		/* A second Ctrl-C: the user wants out now. */
		signal(SIGINT, SIG_DFL);
		raise(SIGINT);
	}
	build_interrupted = 1;
}

/* lock_project: an fcntl lock on .dmbuild/lock, held until exit. */
static void
lock_project(void)
{
	struct flock fl = {0};
	int fd;

	if (fs_mkdirs(".dmbuild"))
		fatal("cannot create .dmbuild: %s", strerror(errno));
	fd = open(".dmbuild/lock", O_RDWR | O_CREAT, 0644);
	if (fd < 0)
		fatal("cannot open .dmbuild/lock: %s", strerror(errno));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_SETLK, &fl) == 0)
		return;
	if (errno != EACCES && errno != EAGAIN)
		fatal("cannot lock .dmbuild/lock: %s", strerror(errno));
	fcntl(fd, F_GETLK, &fl);
	fprintf(stderr, "dmbuild: waiting for another dmbuild (pid %ld) working in this project\n",
		(long)fl.l_pid);
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = 0;
	fl.l_len = 0;
	while (fcntl(fd, F_SETLKW, &fl) != 0)
		if (errno != EINTR || build_interrupted)
			fatal("cannot lock .dmbuild/lock: %s", strerror(errno));
}

static struct cache *
open_cache(void)
{
	struct diag d = {0};
	struct cache *c;

	if (cache_open(".dmbuild/cache", &c, &d)) {
		diag_print(&d, stderr);
		exit(2);
	}
	diag_free(&d);
	return c;
}

/* need_dmfile: the DMfile must be a regular file; checked before anything
 * is created (.dmbuild/ included). */
static void
need_dmfile(const char *dmfile)
{
	struct stat st;

	if (stat(dmfile, &st) != 0)
		fatal("%s: no such file (run dmbuild in a project directory, or use -C DIR / -f FILE)",
			dmfile);
	if (!S_ISREG(st.st_mode))
		fatal("%s: not a regular file", dmfile);
}

/* load: the project, or NULL after printing its input errors. */
static struct project *
load(const char *dmfile, const char *stdlib)
{
	struct diag d = {0};
	struct project *p;

	if (project_load(dmfile, stdlib, &p, &d)) {
		diag_print(&d, stderr);
		diag_free(&d);
		return NULL;
	}
	diag_print(&d, stderr); /* warnings */
	diag_free(&d);
	return p;
}

int
main(int argc, char **argv)
{
	struct build_opts o = {0};
	const char *dir = NULL, *cmd = NULL, *mode = NULL, *env = NULL, *rules = NULL;
	/* Static: fatal() may exit at any point below, and these must stay
	 * reachable then (they are freed on every normal return). */
	static char **args;
	static char *data, *stdlib, *pricing;
	size_t nargs = 0;
	const char *datadir_path;
	struct sigaction sa;
	int i, status, optend = 0;
	long cpus;

	/* Fixed malloc thresholds: by default glibc raises its mmap threshold
	 * after the first large free, so later large buffers (a big output,
	 * record or batch) come from the worker threads' arenas and stay
	 * there; fixed, they are mapped and given back when freed. */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	mallopt(M_TRIM_THRESHOLD, 128 * 1024);
	args = xcalloc((size_t)argc + 1, sizeof(*args));
	o.dmfile = "DMfile";
	o.keep_going = 1;
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	o.jobs = cpus > 0 ? (int)cpus : 1;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (optend || a[0] != '-' || !a[1]) {
			args[nargs++] = argv[i];
			continue;
		}
		if (!strcmp(a, "--")) {
			optend = 1;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage_text, stdout);
			fputs("\n", stdout);
			fputs(help_text, stdout);
			free(args);
			return 0;
		} else if (!strcmp(a, "--version")) {
			printf("dmbuild %s\n", DM_VERSION);
			free(args);
			return 0;
		} else if (!strcmp(a, "-n") || !strcmp(a, "--dry-run")) {
			o.dry_run = 1;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			o.verbose = 1;
		} else if (!strcmp(a, "-d")) {
			if (++i >= argc || strcmp(argv[i], "stats"))
				fatal("-d: expected 'stats'");
			stats_enabled = 1;
		} else if (!strcmp(a, "--force")) {
			o.force = 1;
		} else if (!strncmp(a, "--mode=", 7)) {
			mode = a + 7;
			if (strcmp(mode, "safe") && strcmp(mode, "hybrid") && strcmp(mode, "research"))
				fatal("--mode: expected safe, hybrid or research, found '%s'", mode);
		} else if (!strncmp(a, "--llm-jobs=", 11)) {
			o.llm_jobs = parse_count("--llm-jobs", a + 11, 1);
		} else if (!strncmp(a, "--max-cost=", 11)) {
			o.max_cost = parse_money(a + 11);
		} else if (!strcmp(a, "--llm-jobs") || !strcmp(a, "--max-cost")) {
			if (++i >= argc)
				fatal("%s needs a value", a);
			if (!strcmp(a, "--llm-jobs"))
				o.llm_jobs = parse_count("--llm-jobs", argv[i], 1);
			else
				o.max_cost = parse_money(argv[i]);
		} else if (!strncmp(a, "--trace=", 8)) {
			o.trace = a + 8;
		} else if (!strncmp(a, "--env=", 6)) {
			env = a + 6;
		} else if (!strncmp(a, "--rules=", 8)) {
			rules = a + 8;
		} else if (!strcmp(a, "--trace") || !strcmp(a, "--env") || !strcmp(a, "--rules")) {
			if (++i >= argc)
				fatal("%s needs a value", a);
			if (!strcmp(a, "--trace"))
				o.trace = argv[i];
			else if (!strcmp(a, "--env"))
				env = argv[i];
			else
				rules = argv[i];
		} else if (!strcmp(a, "--mode")) {
			if (++i >= argc)
				fatal("--mode needs a value");
			mode = argv[i];
			if (strcmp(mode, "safe") && strcmp(mode, "hybrid") && strcmp(mode, "research"))
				fatal("--mode: expected safe, hybrid or research, found '%s'", mode);
		} else if (a[1] == 'C' || a[1] == 'f' || a[1] == 'j' || a[1] == 'k') {
			const char *v = a[2] ? a + 2 : (++i < argc ? argv[i] : NULL);

			if (!v)
				fatal("-%c needs a value", a[1]);
			if (a[1] == 'C')
				dir = v;
			else if (a[1] == 'f')
				o.dmfile = v;
			else if (a[1] == 'j')
				o.jobs = parse_count("-j", v, 1);
			else
				o.keep_going = parse_count("-k", v, 0);
		} else {
			fprintf(stderr, "dmbuild: unknown option '%s'\n", a);
			usage();
		}
	}
	o.mode = mode;
	if (nargs && (!strcmp(args[0], "explain") || !strcmp(args[0], "clean") ||
			     !strcmp(args[0], "graph") || !strcmp(args[0], "render") ||
			     !strcmp(args[0], "gate")))
		cmd = args[0];
	if (cmd && !strcmp(cmd, "render")) {
		if (nargs < 2 || nargs > 3)
			usage();
		status = tool_render(args[1], nargs == 3 ? args[2] : NULL);
		free(args);
		return status;
	}
	if (dir && chdir(dir) != 0)
		fatal("-C %s: %s", dir, strerror(errno));
	data = datadir();
	stdlib = xasprintf("%s/stdlib-templates", data);
	datadir_path = data;
	pricing = xasprintf("%s/rules/pricing.yaml", data);
	o.pricing = pricing;
	o.stdlib = stdlib;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (cmd && !strcmp(cmd, "explain")) {
		struct cache *c;
		struct project *p;

		if (nargs != 2)
			usage();
		need_dmfile(o.dmfile);
		lock_project();
		c = open_cache();
		p = load(o.dmfile, stdlib);
		status = p ? tool_explain(p, c, args[1]) : 2;
		project_free(p);
		cache_close(c);
	} else if (cmd && !strcmp(cmd, "gate")) {
		struct cache *c;
		char *deflt = NULL;
		struct stat st;

		if (nargs != 1 || !env)
			fatal("usage: dmbuild gate --env ENV [--rules FILE]");
		if (!rules) {
			if (stat("rules/gate.yaml", &st) == 0)
				rules = "rules/gate.yaml";
			else
				rules = deflt = xasprintf("%s/rules/gate.yaml", datadir_path);
		}
		lock_project();
		c = open_cache();
		status = gate_run(c, env, rules);
		cache_close(c);
		free(deflt);
	} else if (cmd && !strcmp(cmd, "graph")) {
		struct project *p;

		if (nargs != 1)
			usage();
		need_dmfile(o.dmfile);
		p = load(o.dmfile, stdlib);
		status = p ? tool_graph(p) : 2;
		project_free(p);
	} else if (cmd && !strcmp(cmd, "clean")) {
		struct cache *c;

		if (nargs != 1)
			usage();
		lock_project();
		c = open_cache();
		status = tool_clean(c, o.force);
		cache_close(c);
	} else {
		struct cache *c;
		struct project *p;

		o.targets = args;
		o.ntargets = nargs;
		need_dmfile(o.dmfile);
		stats_phase("start");
		lock_project();
		c = open_cache();
		stats_phase("cache opened");
		if (!o.dry_run && !o.force && build_uptodate(c, &o)) {
			fprintf(stderr, "dmbuild: no work to do.\n");
			status = 0;
		} else {
			stats_phase("not up to date");
			/* The outputs' stamps are read while the project loads. */
			o.prefetch = build_prefetch(c, o.jobs >= 2);
			p = load(o.dmfile, stdlib);
			stats_phase("project loaded");
			o.exit_after = !exit_frees();
			if (!p)
				build_prefetch_free(o.prefetch);
			status = p ? build_run(p, c, &o) : 2;
			if (o.exit_after) {
				/* The cache is synced; the kernel releases the rest. */
				free(args);
				return status;
			}
			project_free(p);
			stats_phase("project freed");
		}
		cache_close(c);
		stats_phase("cache closed");
	}
	free(stdlib);
	free(pricing);
	free(data);
	free(args);
	return status;
}
