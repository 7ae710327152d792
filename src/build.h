/* build.h - decide what is stale and build it (SPEC §5, §6).
 *
 * Atom states after assessment: fresh, stale (with a reason), maybe (an
 * upstream atom is being rebuilt: assessed again once it is done), or kept
 * (the user edited the output; nothing to rebuild).  Execution is a
 * ready-queue scheduler on -j worker threads: an atom starts as soon as
 * everything it comes after is done.  For each stale atom: render (or find
 * its action key in the action cache), commit the result to LMDB, then
 * write the file atomically.  An output whose bytes on disk are not what
 * dmbuild last wrote is never overwritten without --force.
 *
 * A complete, clean build stores a stamp (CACHE_META "stamp"): the
 * identity and digest of every input file and the identity of every
 * output.  build_uptodate() checks it without loading the project: that is
 * the no-op path.
 */
#ifndef DM_BUILD_H
#define DM_BUILD_H

#include <signal.h>
#include <stddef.h>

struct project;
struct cache;

struct build_opts {
	int jobs;       /* worker threads */
	int keep_going; /* stop starting atoms after this many failures; 0: never */
	int dry_run;    /* -n: print the plan */
	int verbose;
	int force;      /* overwrite outputs edited by hand */
	const char *dmfile;
	const char *stdlib;
	const char *trace; /* --trace FILE, or NULL */
	const char *mode;  /* --mode, or NULL: the DMfile's, else hybrid */
	int llm_jobs;      /* --llm-jobs: requests in flight (default 32) */
	double max_cost;   /* --max-cost USD (0: no limit) */
	const char *pricing; /* rules/pricing.yaml */
	char **targets; /* outputs to build (with what they come after); none: all */
	size_t ntargets;
	/* The process exits right after build_run: its memory is left to
	 * exit() instead of being freed piece by piece. */
	int exit_after;
	/* From build_prefetch, or NULL: build_run takes it over. */
	struct prefetch *prefetch;
};

/* Set by the SIGINT handler: no new atom starts, finished work is kept. */
extern volatile sig_atomic_t build_interrupted;

/* build_uptodate: 1 if the stamp of the last complete build still holds
 * for every input and output, else 0. */
int build_uptodate(struct cache *c, const struct build_opts *o);
/* build_prefetch: start reading every output's stamp from the cache and
 * stat'ing the output, on a thread of its own while the caller loads the
 * project (with threads set; else it is done when build_run starts).  Put
 * the result in build_opts.prefetch; if no build_run follows, free it with
 * build_prefetch_free (which waits for the thread). */
struct prefetch *build_prefetch(struct cache *c, int threads);
void build_prefetch_free(struct prefetch *pf);
/* build_run: build (or plan, with dry_run) and report; returns the exit
 * status: 0, 1 (an atom failed, an edited output blocked a result, or an
 * interrupt) or 2 (a bad target name). */
int build_run(struct project *p, struct cache *c, const struct build_opts *o);

#endif
