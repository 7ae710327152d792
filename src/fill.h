/* fill.h - where each slot's fill comes from (SPEC §7):
 *   safe      the lock, when its entry's key matches; nothing else, and no
 *             network connection is ever made;
 *   hybrid    the lock; else an answer already in the cache; else the
 *             provider chain.  Fills of an output that passed its checks go
 *             to the lock.
 *   research  the provider chain, every time; never the lock.
 * An answer is stored in CACHE_FILLS the moment it arrives, under its
 * request key (slot key, attempt, the exact user text, temperature), so a
 * build killed mid-way never pays again for what it already received.
 *
 * A job covers the slots of one atom.  Its requests run on the LLM engine;
 * while they do the atom waits without holding a worker, and wake(ud) is
 * called (on the engine thread) when the last one is answered.  Up to
 * SLOT_MAX_ATTEMPTS attempts: when the output fails its checks, the slots
 * answered by the model are asked again with the failed answer and the
 * errors, at temperatures 0.7, 0.5, 0.3.  When every provider fails, the
 * slot keeps its fallback body and the job is degraded.
 */
#ifndef DM_FILL_H
#define DM_FILL_H

#include <stddef.h>

#include "hash.h"
#include "llm.h"
#include "slot.h"
#include "util.h"

struct cache;
struct lock;

enum fill_mode {
	FILL_SAFE,
	FILL_HYBRID,
	FILL_RESEARCH /* always ask: neither the lock nor earlier answers */
};

enum fill_state {
	FILL_READY, /* every slot has its fill (or its fallback, degraded) */
	FILL_WAIT,  /* requests in flight; wake will be called */
	FILL_ERROR  /* see fill_job_error */
};

struct filler;
struct fill_job;

struct filler_opts {
	enum fill_mode mode;
	struct lock *lock;
	const struct llm_opts *llm; /* chain and limits (hybrid) */
	const char *chain_text;     /* the chain as written, for keys */
	double temperature[SLOT_MAX_ATTEMPTS]; /* per attempt */
	int max_tokens;
};

/* Totals over a build. */
struct fill_stats {
	size_t calls, answered, failed, repaired, from_lock, from_cache;
	unsigned long tokens_in, tokens_out;
	double cost_usd;
};

int filler_new(struct cache *c, const struct filler_opts *o, struct filler **out, struct diag *d);
/* filler_free: waits for requests still in flight. */
void filler_free(struct filler *f);
void filler_stats(struct filler *f, struct fill_stats *st);
/* filler_cancel: start no new request (Ctrl-C, failures). */
void filler_cancel(struct filler *f);

/* fill_job_new: a job for the atom writing out; system is the shared
 * request part (slot_system), skeleton the output with every slot marked;
 * slot names[i] has the rendered prompts[i] and the spec values it read,
 * values[i] ("PATH = JSON" lines). */
struct fill_job *fill_job_new(struct filler *f, const char *out, const char *system,
	const char *skeleton, size_t n, const char *const *names, const char *const *prompts,
	const char *const *values);
void fill_job_free(struct fill_job *j);
/* fill_job_run: find or ask for every fill. */
enum fill_state fill_job_run(struct fill_job *j, void (*wake)(void *ud), void *ud);
/* fill_job_retry: the output failed its checks (errors): ask again the
 * slots with ask[i] set (ask NULL: every slot the model filled). */
enum fill_state fill_job_retry(struct fill_job *j, const char *errors, const int *ask,
	void (*wake)(void *ud), void *ud);
/* fill_job_fill: slot i's fill, or NULL for its fallback body. */
const char *fill_job_fill(const struct fill_job *j, size_t i);
/* fill_job_accept: the output passed: hybrid fills go to the lock. */
void fill_job_accept(struct fill_job *j);
int fill_job_degraded(const struct fill_job *j);
/* fill_job_error: why FILL_ERROR (or the degradation), for users. */
const char *fill_job_error(const struct fill_job *j);
/* fill_job_unresolved: safe mode: slot i had no accepted fill. */
int fill_job_unresolved(const struct fill_job *j, size_t i);
/* fill_job_estimate: without asking anything, how this job's slots would
 * be filled: from the lock, from the cache, or by calls whose input is
 * about *tokens_in tokens (4 bytes a token). */
void fill_job_estimate(struct fill_job *j, size_t *from_lock, size_t *from_cache, size_t *calls,
	unsigned long *tokens_in);
/* fill_job_summary: "provider model, N tok, $C" of what this job asked. */
char *fill_job_summary(const struct fill_job *j);

#endif
