/* build.c - assessment, scheduling and execution of atoms; see build.h.
 *
 * Invariants:
 *  - a result is committed (CAS bytes, action-cache entry, atom record with
 *    prev = the digest that was on disk) before its file is renamed into
 *    place; the committed record carries an impossible file stamp, so the
 *    next run hashes the file and tells "new bytes", "old bytes (the write
 *    was interrupted)" and "someone else's bytes" apart;
 *  - the stamps of files written go to CACHE_STAMPS in one transaction at
 *    the end, each bound to the digest of its record's bytes; if that
 *    never happens, the next run hashes instead;
 *  - the stamps of outputs are read, and the outputs stat'ed, on a thread
 *    of their own while the project loads (build_prefetch);
 *  - records load on up to two threads, which take chunks of keys in turn;
 *    an atom with no dependencies and no output among its reads is checked
 *    and assessed there (prechecked), touching only its own astate, and
 *    (with two loading threads) if it is stale and has no slots it is
 *    produced (rendered, or found in the action cache) by that thread
 *    before the build starts: nothing the build writes can change what it
 *    reads.  Its result waits in its astate (up to EARLY_BUDGET bytes of
 *    such results in all); printing, checks, commit and write happen in
 *    the build as for any atom;
 *  - a declared atom's record lives in its astate; records of outputs no
 *    longer declared are kept apart (b->records) for remove_gone;
 *  - the scheduler's shared state (queue, counters, states of atoms not
 *    yet started) is guarded by one mutex; a running atom's own state is
 *    touched only by its worker.  While a batch commits, at most one more
 *    batch of rendered results waits (back-pressure); a batch borrows its
 *    values, which live until its commit returns;
 *  - the manifest's entries of atoms final before the build (neither stale
 *    nor maybe) are written on a thread while the others build; nothing
 *    changes those atoms' records until manifest_finish returns (stamps
 *    touch only their st, which the manifest does not show).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "build.h"
#include "cache.h"
#include "dmfile.h"
#include "fsio.h"
#include "fill.h"
#include "graph.h"
#include "json.h"
#include "key.h"
#include "lock.h"
#include "manifest.h"
#include "mustache.h"
#include "progress.h"
#include "project.h"
#include "qa.h"
#include "report.h"
#include "slot.h"
#include "trace.h"
#include "treesit.h"
#include "value.h"

volatile sig_atomic_t build_interrupted;

/* The worker a thread is, for trace events (0: the main thread). */
static _Thread_local int worker_id;

enum astate_kind {
	ST_UNNEEDED,
	ST_FRESH,
	ST_STALE,
	ST_MAYBE,
	ST_KEPT
};

enum outcome {
	OUT_PENDING,
	OUT_UPTODATE,
	OUT_BUILT,
	OUT_KEPT,
	OUT_CONFLICT,
	OUT_FAILED,
	OUT_DEPFAILED,
	OUT_WAITING /* an LLM atom parked until its fills arrive */
};

struct astate {
	enum astate_kind state;
	enum outcome outcome;
	char *why;
	struct record *rec;    /* from the cache, or NULL */
	struct record *newrec; /* written this run */
	struct fstamp cur;     /* the output as it is now, when known */
	int have_cur;          /* cur was read ahead (prefetch) */
	int restamp;           /* rec/newrec stamp must be stored */
	size_t pending;        /* needed dependencies not yet done */
	int depfailed;
	double t0;             /* when a worker took it (trace) */
	int tid;               /* which worker */
	struct fill_job *job;  /* LLM atoms: the fills of their slots */
	struct readset rs;     /* ... what the skeleton and prompts read */
	int degraded;
	/* The reads of rec, checked as the record was loaded (atoms nothing
	 * built this run can change): 1 unchanged, then rec's reads are
	 * dropped; -1 changed, why says how; 0 not checked. */
	int prechecked;
	/* Prechecked atoms are assessed as their records load: the state,
	 * and for a stale one the action key its reads give now (for the
	 * action cache). */
	enum astate_kind early_state;
	struct digest cand;
	/* A stale prechecked atom is produced (rendered or taken from the
	 * action cache) by the loading thread that assessed it, while other
	 * records still load; prepare takes the result from here. */
	struct early *early;
};

/* What produce gave for an atom before the build started. */
struct early {
	struct digest key;
	char *bytes;
	size_t n;
	struct readset rs;
	int cached;
	double ms;
};

struct wake {
	struct bctx *b;
	size_t i;
};

/* A rendered atom waiting for the group commit. */
struct result {
	size_t idx;
	char *bytes;
	size_t n;
	struct record *nr;
	int cached, need_write;
	double ms;
};

struct bctx {
	struct project *p;
	struct cache *c;
	const struct build_opts *o;
	struct astate *st;
	struct strmap *records; /* path -> struct record * of outputs no longer declared */
	struct progress *pr;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	size_t *ready;
	size_t nready, headready, capready;
	struct wake *wakes;     /* per atom, for the LLM engine's callbacks */
	struct filler *filler;  /* LLM atoms: where fills come from */
	struct lock dmlock;     /* dmbuild.lock as read: assessment only */
	struct lock dmlock_w;   /* the same, updated by accepted fills */
	struct llm_opts llm;    /* the provider chain and limits */
	struct llm_target *chain;
	char *chain_text;       /* the llm variable as written */
	enum fill_mode mode;
	size_t unresolved;      /* safe mode: slots without a fill */
	char *outroot;          /* research: .dmbuild/research/RUN, else NULL */
	char **outpath;         /* research: where each output goes */
	size_t remaining, running;
	struct strmap *stamps;   /* output -> struct pstamp, while loading */
	size_t failures, conflicts, kept, built;
	int stop;
	struct result *pending; /* rendered, not yet committed */
	size_t npending, cappending;
	int committing;         /* a worker is flushing a batch */
	size_t *checkq;         /* written outputs whose cmd checks are due */
	size_t ncheckq;
	struct trace *trace;    /* --trace, or NULL */
	struct stratum_stats stats[STRATUM_COUNT];
};

/* At most this many results go into one LMDB transaction. */
#define BUILD_MAX_BATCH 64
/* With this many atoms final before the build, their manifest entries are
 * written on a thread of their own while the others build. */
#define MANIFEST_THREAD_MIN 1000

/* ready_push: queue atom i (lock held).  An LLM atom is queued again
 * each time its fills arrive, so the queue grows. */
static void
ready_push(struct bctx *b, size_t i)
{
	if (b->nready == b->capready) {
		b->capready = b->capready ? b->capready * 2 : 64;
		b->ready = xreallocarray(b->ready, b->capready, sizeof(*b->ready));
	}
	b->ready[b->nready++] = i;
}

/* opath: where atom i's output is written: its path, or in a research
 * run the same path under the run's directory. */
static const char *
opath(const struct bctx *b, size_t i)
{
	return b->outpath ? b->outpath[i] : b->p->atoms[i].out;
}

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}




/* env_file: the digest of a file a template read: outputs are read from
 * disk each time (they change during the build), anything else through
 * the project's file table. */
static int
env_file(void *ud, const char *path, struct digest *d)
{
	struct bctx *b = ud;
	struct diag ignore = {0};
	struct pfile *f;

	if (project_find(b->p, path) >= 0)
		return hash_file(path, d) == 0;
	f = project_file(b->p, path, &ignore);
	diag_free(&ignore);
	*d = f->digest;
	return f->exists;
}

/* env_fill: the digest of the accepted fill of slot in atom out, from
 * dmbuild.lock (read-only during the build's assessment). */
static int
env_fill(void *ud, const char *out, const char *slot, struct digest *d)
{
	struct bctx *b = ud;
	struct lock_entry *le = lock_find(&b->dmlock, out, slot);

	if (!le)
		return 0;
	*d = hash_bytes(le->fill, strlen(le->fill));
	return 1;
}

static void
env_of(struct bctx *b, const struct atom *a, struct key_env *e)
{
	e->out = a->out;
	e->fill = a->nslots ? env_fill : NULL;
	e->root = b->p->spec;
	e->elem = a->elem;
	e->key_val = a->key_val;
	e->index_val = a->index_val;
	e->file = env_file;
	e->ud = b;
}

static void
set_why(struct astate *s, const char *why)
{
	free(s->why);
	s->why = xstrdup(why);
}

/* assess: fresh, stale, maybe or kept.  upstream: consider dependencies
 * still to be built (the plan); a worker assessing a ready atom passes 0. */
static enum astate_kind
assess(struct bctx *b, size_t i, int upstream)
{
	struct atom *a = &b->p->atoms[i];
	struct astate *s = &b->st[i];
	struct record *r = s->rec;
	struct key_env e;
	struct buf why = {0};
	struct digest ondisk;
	size_t nd, j;
	const size_t *deps;

	if (!r) {
		set_why(s, "new atom");
		return ST_STALE;
	}
	if (!r->version || strcmp(r->version, DM_VERSION) != 0) {
		set_why(s, "dmbuild version changed");
		return ST_STALE;
	}
	if (!digest_eq(r->static_key, a->static_key)) {
		set_why(s, "declaration changed");
		return ST_STALE;
	}
	if ((r->flags & RECORD_DEGRADED) && b->mode == FILL_HYBRID) {
		set_why(s, "degraded last time: its slots are asked for again");
		return ST_STALE;
	}
	if (r->flags & (RECORD_CHECKS_PENDING | RECORD_CHECKS_FAILED)) {
		set_why(s, r->flags & RECORD_CHECKS_FAILED ? "its checks failed last time"
							   : "its checks did not finish last time");
		return ST_STALE;
	}
	if (upstream) {
		deps = graph_deps(b->p->graph, i, &nd);
		for (j = 0; j < nd; j++) {
			enum astate_kind k = b->st[deps[j]].state;

			if (k == ST_STALE || k == ST_MAYBE) {
				char *m = xasprintf("after %s, which is rebuilt first",
					b->p->atoms[deps[j]].out);

				set_why(s, m);
				free(m);
				return ST_MAYBE;
			}
		}
	}
	if (s->prechecked < 0)
		return ST_STALE;
	env_of(b, a, &e);
	if (!s->prechecked && key_check(r, &e, &why)) {
		set_why(s, why.data);
		buf_free(&why);
		return ST_STALE;
	}
	buf_free(&why);
	/* The stat read ahead holds for the plan; a worker assessing the atom
	 * later (upstream done: its checks may have touched files) looks anew. */
	if (!upstream || !s->have_cur)
		fs_stamp(a->out, &s->cur);
	s->have_cur = 0;
	if (!s->cur.exists) {
		set_why(s, "output missing");
		return ST_STALE;
	}
	if (fstamp_eq(&s->cur, &r->st))
		return ST_FRESH;
	if (hash_file(a->out, &ondisk) != 0) {
		set_why(s, "output unreadable");
		return ST_STALE;
	}
	if (digest_eq(ondisk, r->out)) {
		s->restamp = 1;
		return ST_FRESH;
	}
	if (digest_eq(ondisk, r->prev)) {
		set_why(s, "an earlier write was interrupted");
		return ST_STALE;
	}
	if (b->o->force) {
		set_why(s, "output edited by hand (--force)");
		return ST_STALE;
	}
	set_why(s, "output edited by hand");
	return ST_KEPT;
}

/* Rendering one atom. */
struct job {
	struct bctx *b;
	size_t idx;
	struct recorder rc;
	struct diag d;
	struct mst **extra; /* outputs parsed as partials, freed after */
	size_t nextra;
	const char *const *blocks; /* per slot: text for its block, NULL: the body */
	struct buf *values;        /* prompts: "PATH = JSON" of each value used */
	struct strmap *seen;       /* ... once each */
	struct strmap *partials;   /* name -> struct partial_hit, this render */
};

/* What a partial name resolved to in this render (the same every time:
 * files do not change during a render, and its reads are recorded on the
 * first lookup). */
struct partial_hit {
	int r;
	const struct mst *t;
};

static void
job_probe(void *ud, const struct val *c, const char *key, size_t klen, const struct val *found)
{
	struct job *j = ud;

	key_record_probe(&j->rc, c, key, klen, found);
}

static void
job_use(void *ud, const struct val *v, enum val_use how)
{
	struct job *j = ud;

	key_record_use(&j->rc, v, how);
	if (j->values && how == VAL_USE_VALUE && v->path && *v->path &&
		!strmap_get(j->seen, v->path, strlen(v->path))) {
		strmap_put(j->seen, v->path, strlen(v->path), j);
		buf_printf(j->values, "%s = ", v->path);
		json_put_val(j->values, v);
		buf_addc(j->values, '\n');
	}
}

static int
job_block(void *ud, const char *name, size_t len, const char **text, size_t *tlen)
{
	struct job *j = ud;
	const struct atom *a = &j->b->p->atoms[j->idx];
	size_t k;

	for (k = 0; j->blocks && k < a->nslots; k++) {
		if (strlen(a->slots[k].name) == len && !memcmp(a->slots[k].name, name, len) &&
			j->blocks[k]) {
			*text = j->blocks[k];
			*tlen = strlen(j->blocks[k]);
			return 1;
		}
	}
	return 0;
}

/* upstream_of: 1 if atom dep is one atom i comes after (transitively). */
static int
upstream_of(const struct project *p, size_t i, size_t dep)
{
	unsigned char *seen = xcalloc(p->natoms, 1);
	size_t *stack = xmalloc(p->natoms * sizeof(*stack)), n = 0, k, nd;
	const size_t *deps;
	int found = 0;

	stack[n++] = i;
	while (n && !found) {
		size_t v = stack[--n];

		deps = graph_deps(p->graph, v, &nd);
		for (k = 0; k < nd; k++) {
			if (deps[k] == dep)
				found = 1;
			if (!seen[deps[k]]) {
				seen[deps[k]] = 1;
				stack[n++] = deps[k];
			}
		}
	}
	free(seen);
	free(stack);
	return found;
}

static int job_partial_find(void *ud, const char *name, size_t len, const struct mst **out);

static int
job_partial(void *ud, const char *name, size_t len, const struct mst **out)
{
	struct job *j = ud;
	struct partial_hit *hit;

	if (!j->partials)
		j->partials = strmap_new();
	hit = strmap_get(j->partials, name, len);
	if (!hit) {
		hit = xcalloc(1, sizeof(*hit));
		hit->r = job_partial_find(ud, name, len, &hit->t);
		strmap_put(j->partials, name, len, hit);
	}
	*out = hit->t;
	return hit->r;
}

static int
free_hit(void *ud, const char *key, void *val)
{
	(void)ud;
	(void)key;
	free(val);
	return 0;
}

/* job_partial_find: look a partial up: beside the template, then from the
 * project root (or std/); an output of an upstream atom is read from
 * disk. */
static int
job_partial_find(void *ud, const char *name, size_t len, const struct mst **out)
{
	struct job *j = ud;
	struct project *p = j->b->p;
	struct atom *a = &p->atoms[j->idx];
	char *nm = xstrndup(name, len), *cand[4] = {0};
	const char *why, *slash = strrchr(a->tmpl, '/');
	size_t nc = 0, k;
	int r = DM_ENOTFOUND;

	if (strncmp(nm, "std/", 4) != 0 && slash) {
		cand[nc++] = xasprintf("%.*s/%s.mustache", (int)(slash - a->tmpl), a->tmpl, nm);
		cand[nc++] = xasprintf("%.*s/%s", (int)(slash - a->tmpl), a->tmpl, nm);
	}
	cand[nc++] = xasprintf("%s.mustache", nm);
	cand[nc++] = xstrdup(nm);
	if (fs_check_rel(strncmp(nm, "std/", 4) == 0 ? nm + 4 : nm, &why)) {
		diag_add(&j->d, a->decl->pos.file, a->decl->pos.line, a->decl->pos.col,
			"%s: partial '%s' is not allowed: %s", a->out, nm, why);
		r = DM_EINPUT;
		goto out;
	}
	for (k = 0; k < nc; k++) {
		long owner = project_find(p, cand[k]);
		struct pfile *f;

		if (owner >= 0) {
			char *text;
			size_t tl;
			struct mst *t;

			if ((size_t)owner == j->idx || !upstream_of(p, j->idx, (size_t)owner)) {
				diag_add(&j->d, a->decl->pos.file, a->decl->pos.line, a->decl->pos.col,
					"%s reads '%s', the output of another atom, without 'after = %s'",
					a->out, cand[k], cand[k]);
				r = DM_EINPUT;
				goto out;
			}
			if (file_read(opath(j->b, (size_t)owner), &text, &tl) != 0) {
				key_record_file(&j->rc, cand[k], 0, hash_bytes("", 0));
				continue;
			}
			key_record_file(&j->rc, cand[k], 1, hash_bytes(text, tl));
			r = mst_parse(cand[k], text, tl, &t, &j->d);
			free(text);
			if (r)
				goto out;
			j->extra = xreallocarray(j->extra, j->nextra + 1, sizeof(*j->extra));
			j->extra[j->nextra++] = t;
			*out = t;
			r = 0;
			goto out;
		}
		f = project_file(p, cand[k], &j->d);
		key_record_file(&j->rc, cand[k], f->exists, f->digest);
		if (!f->exists)
			continue;
		if (!f->tmpl) {
			r = DM_EINPUT;
			goto out;
		}
		*out = f->tmpl;
		r = 0;
		goto out;
	}
out:
	for (k = 0; k < nc; k++)
		free(cand[k]);
	free(nm);
	return r;
}

/* render: the atom's bytes and what it read.  0, or DM_EINPUT with the
 * messages in d. */
/* render_with: render t for atom i with recording into rs (not finished:
 * the caller calls reads_finish); blocks (may be NULL) replace the slots'
 * bodies; values (may be NULL) collects the spec values used. */
static int
render_with(struct bctx *b, size_t i, const struct mst *t, const char *const *blocks,
	struct buf *values, struct buf *outb, struct readset *rs, struct diag *d)
{
	struct atom *a = &b->p->atoms[i];
	struct job j = {0};
	struct mst_hooks h = {0};
	const struct val *stack[3];
	size_t depth = project_stack(b->p, a, stack), k;
	int r;

	j.b = b;
	j.idx = i;
	j.rc.rs = rs;
	j.rc.elem = a->elem;
	j.rc.key_val = a->key_val;
	j.rc.index_val = a->index_val;
	j.blocks = blocks;
	j.values = values;
	j.seen = values ? strmap_new() : NULL;
	h.partial = job_partial;
	h.probe = job_probe;
	h.use = job_use;
	h.block = blocks ? job_block : NULL;
	h.ud = &j;
	h.cancel = &build_interrupted; /* Ctrl-C stops a long render at once */
	r = mst_render(t, stack, depth, &h, outb, &j.d);
	strmap_free(j.seen);
	if (j.partials) {
		strmap_each(j.partials, free_hit, NULL);
		strmap_free(j.partials);
	}
	for (k = 0; k < j.d.n; k++) {
		const struct diag_item *it = &j.d.items[k];

		diag_add(d, it->file, it->line, it->col, "%s", it->msg);
	}
	if (r && r != DM_EINTR && !j.d.nerrors)
		diag_add(d, a->decl->pos.file, a->decl->pos.line, a->decl->pos.col,
			"%s: rendering %s failed: %s", a->out, a->tmpl, dm_strerror(r));
	diag_free(&j.d);
	for (k = 0; k < j.nextra; k++)
		mst_free(j.extra[k]);
	free(j.extra);
	return r ? DM_EINPUT : 0;
}

/* render: atom i's template, recording what it read. */
static int
render(struct bctx *b, size_t i, struct buf *outb, struct readset *rs, struct diag *d)
{
	struct atom *a = &b->p->atoms[i];
	struct recorder rc = {rs, a->elem, a->key_val, a->index_val};
	const struct record *last = b->st[i].rec;
	int r;

	/* About as many reads as last time (dropped reads keep their count). */
	if (last)
		reads_expect(rs, last->nspec_reads + last->nfile_reads);
	key_record_file(&rc, a->tfile->path, 1, a->tfile->digest);
	r = render_with(b, i, a->tfile->tmpl, NULL, NULL, outb, rs, d);
	reads_finish(rs);
	return r;
}

static char *
origin_of(const struct atom *a)
{
	return xasprintf("%s:%d:%d", a->decl->pos.file, a->decl->pos.line, a->decl->pos.col);
}

/* from_action_cache: the bytes of an earlier build whose reads evaluate
 * exactly as the old record's reads do now. */
static int
from_action_cache(struct bctx *b, size_t i, struct digest *key, char **bytes, size_t *n,
	struct readset *rs)
{
	struct atom *a = &b->p->atoms[i];
	struct record *r = b->st[i].rec;
	struct key_env e;
	struct digest out;
	unsigned char kb[16];
	char *v;
	size_t vl;

	if (!r || !r->version || strcmp(r->version, DM_VERSION) != 0 ||
		!digest_eq(r->static_key, a->static_key))
		return -1;
	env_of(b, a, &e);
	*key = b->st[i].prechecked < 0 ? b->st[i].cand : key_candidate(r, &e);
	cache_digest_key(*key, kb);
	if (cache_get(b->c, CACHE_AC, kb, sizeof(kb), &v, &vl) != 0)
		return -1;
	if (vl != 16) {
		free(v);
		return -1;
	}
	out = cache_key_digest((const unsigned char *)v);
	free(v);
	if (cache_cas_get(b->c, out, bytes, n) != 0)
		return -1;
	key_refresh(r, &e, rs);
	return 0;
}

/* trace_checks: one event per check outcome from oc[from..], laid end to
 * end from t0 (the checks ran one after another). */
static void
trace_checks(struct bctx *b, const struct atom *a, const struct check_outcomes *oc, size_t from,
	double t0, double t1)
{
	size_t k, n = oc->n - from;
	double step = n ? (t1 - t0) / (double)n : 0;

	for (k = from; b->trace && k < oc->n; k++) {
		struct buf args = {0};
		char *name = xasprintf("%s %s", oc->v[k].name, a->out);

		buf_printf(&args, "\"outcome\": \"%s\", \"output\": ", oc->v[k].passed ? "pass" : "fail");
		json_put_str(&args, a->out, strlen(a->out));
		trace_span(b->trace, name, "QA", worker_id, t0 + step * (double)(k - from),
			t0 + step * (double)(k - from + 1), args.data);
		buf_free(&args);
		free(name);
	}
}

/* report_diag: print d's messages above the progress line, then clear d. */
static void
report_diag(struct bctx *b, struct diag *d)
{
	size_t k;

	struct buf more = {0};

	for (k = 0; k < d->n; k++) {
		const struct diag_item *it = &d->items[k];
		const char *w = it->warning ? "warning: " : "";

		if (it->file && it->line > 0)
			progress_line(b->pr, "dmbuild: %s:%d:%d: %s%s", it->file, it->line, it->col,
				w, it->msg);
		else if (it->file)
			progress_line(b->pr, "dmbuild: %s: %s%s", it->file, w, it->msg);
		else
			progress_line(b->pr, "dmbuild: %s%s", w, it->msg);
	}
	if (diag_more(d, &more))
		progress_line(b->pr, "dmbuild: %s", more.data);
	buf_free(&more);
	diag_free(d);
}

/* LLM atoms.  The first visit renders the skeleton with every slot
 * marked and each slot's prompt (recording what they read), and starts a
 * fill job; while its requests are answered the atom is parked
 * (OUT_WAITING) and woken onto the ready queue by the engine.  Once every
 * fill is there the output is rendered with them and checked; failures go
 * back to the model as feedback (fill_job_retry). */

static void
wake_atom(void *ud)
{
	struct wake *w = ud;
	struct bctx *b = w->b;

	pthread_mutex_lock(&b->lock);
	ready_push(b, w->i);
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

static void
ensure_filler(struct bctx *b)
{
	pthread_mutex_lock(&b->lock);
	if (!b->filler) {
		struct filler_opts fo = {0};
		struct diag d = {0};

		fo.mode = b->mode;
		fo.lock = &b->dmlock_w;
		fo.llm = &b->llm;
		fo.chain_text = b->chain_text;
		fo.temperature[0] = b->mode == FILL_RESEARCH ? 1.0 : 0.7;
		fo.temperature[1] = b->mode == FILL_RESEARCH ? 0.9 : 0.5;
		fo.temperature[2] = b->mode == FILL_RESEARCH ? 0.8 : 0.3;
		fo.max_tokens = 4096;
		filler_new(b->c, &fo, &b->filler, &d);
		diag_free(&d);
	}
	pthread_mutex_unlock(&b->lock);
}

/* start_fills: the skeleton, prompts and requests of LLM atom i. */
static int
start_fills(struct bctx *b, size_t i, struct diag *d)
{
	struct atom *a = &b->p->atoms[i];
	struct astate *s = &b->st[i];
	struct recorder rc = {&s->rs, a->elem, a->key_val, a->index_val};
	struct buf skel = {0};
	const char **markers = xcalloc(a->nslots, sizeof(*markers));
	const char **names = xcalloc(a->nslots, sizeof(*names));
	char **prompts = xcalloc(a->nslots, sizeof(*prompts));
	char **values = xcalloc(a->nslots, sizeof(*values));
	const char **apaths = NULL, **atexts = NULL;
	struct slot_context ctx = {0};
	size_t k, nd;
	const size_t *deps;
	char *system = NULL;
	int r;

	key_record_file(&rc, a->tfile->path, 1, a->tfile->digest);
	for (k = 0; k < a->nslots; k++) {
		markers[k] = slot_marker(a->slots[k].name);
		names[k] = a->slots[k].name;
	}
	r = render_with(b, i, a->tfile->tmpl, markers, NULL, &skel, &s->rs, d);
	for (k = 0; k < a->nslots && !r; k++) {
		const struct dm_prop *pp = dm_get(a->slots[k].decl, "prompt");
		struct mst *t = NULL;
		struct buf out = {0}, vals = {0};

		r = mst_parse_at(&pp->vpos, pp->value, strlen(pp->value), &t, d);
		if (!r)
			r = render_with(b, i, t, NULL, &vals, &out, &s->rs, d);
		mst_free(t);
		prompts[k] = buf_release(&out);
		values[k] = buf_release(&vals);
	}
	if (!r) {
		deps = graph_deps(b->p->graph, i, &nd);
		apaths = xcalloc(nd ? nd : 1, sizeof(*apaths));
		atexts = xcalloc(nd ? nd : 1, sizeof(*atexts));
		for (k = 0; k < nd; k++) {
			char *text;
			size_t len;

			apaths[ctx.nafter] = b->p->atoms[deps[k]].out;
			if (file_read(opath(b, deps[k]), &text, &len) == 0)
				atexts[ctx.nafter++] = text;
		}
		ctx.out = a->out;
		ctx.skeleton = skel.data ? skel.data : "";
		ctx.after_paths = apaths;
		ctx.after_texts = atexts;
		system = slot_system(&ctx);
		ensure_filler(b);
		s->job = fill_job_new(b->filler, a->out, system, ctx.skeleton, a->nslots, names,
			(const char *const *)prompts, (const char *const *)values);
	}
	for (k = 0; k < a->nslots; k++) {
		free((char *)markers[k]);
		free(prompts[k]);
		free(values[k]);
	}
	for (k = 0; k < ctx.nafter; k++)
		free((char *)atexts[k]);
	free(markers);
	free(names);
	free(prompts);
	free(values);
	free(apaths);
	free(atexts);
	free(system);
	buf_free(&skel);
	return r;
}

/* check_llm_output: the atom's checks, and a syntax check even when none
 * is declared (a fill is never taken unparsed).  0, or DM_EBUILD with the
 * errors in d. */
static int
check_llm_output(struct bctx *b, const struct atom *a, const char *bytes, size_t n,
	struct check_outcomes *oc, struct diag *d)
{
	const struct treesit_lang *l = treesit_lang_for_path(a->out);
	size_t k;
	int has_syntax = 0, r = 0;

	for (k = 0; k < a->nchecks; k++)
		if (a->checks[k].kind == CHECK_SYNTAX)
			has_syntax = 1;
	if (!has_syntax && l && treesit_check_syntax(l, a->out, bytes, n, d) != 0)
		r = DM_EBUILD;
	if (a->nchecks && qa_check_bytes(b->p, a, bytes, n, oc, d) != 0)
		r = DM_EBUILD;
	return r;
}

/* blame: which slots the check errors in cd point at.  The output is
 * rendered once more with each fill between sentinel lines, which gives
 * each slot's first line; an error belongs to the nearest slot starting
 * at or before its line (a broken fill often shows just after itself).
 * An error before every slot marks them all. */
static void
blame(struct bctx *b, size_t i, const char **fills, const struct diag *cd, int *ask)
{
	const struct atom *a = &b->p->atoms[i];
	char **wrapped = xcalloc(a->nslots, sizeof(*wrapped));
	int *first = xcalloc(a->nslots, sizeof(*first));
	struct buf out = {0};
	struct readset ignore = {0};
	struct diag d = {0};
	size_t k, e;
	int line = 1;
	const char *p;

	for (k = 0; k < a->nslots; k++) {
		wrapped[k] = xasprintf("\x1e%zu\n%s", k, fills[k] ? fills[k] : "");
		first[k] = -1;
	}
	if (render_with(b, i, a->tfile->tmpl, (const char *const *)wrapped, NULL, &out, &ignore,
		    &d) == 0) {
		for (p = out.data; p && *p;) {
			const char *nl = strchr(p, '\n'), *m = memchr(p, '\x1e', nl ? (size_t)(nl - p) : strlen(p));

			if (m) {
				k = (size_t)strtoul(m + 1, NULL, 10);
				if (k < a->nslots)
					first[k] = line;
			} else {
				line++;
			}
			p = nl ? nl + 1 : NULL;
		}
	}
	for (e = 0; e < cd->n; e++) {
		int best = -1;

		for (k = 0; k < a->nslots; k++)
			if (first[k] >= 0 && first[k] <= cd->items[e].line &&
				(best < 0 || first[k] > first[best]))
				best = (int)k;
		if (best < 0)
			for (k = 0; k < a->nslots; k++)
				ask[k] = 1;
		else
			ask[best] = 1;
	}
	for (k = 0; k < a->nslots; k++)
		free(wrapped[k]);
	free(wrapped);
	free(first);
	reads_free(&ignore);
	diag_free(&d);
	buf_free(&out);
}

/* prepare_llm: OUT_WAITING (parked), OUT_FAILED, or OUT_PENDING with the
 * output in *bytes and what it read in *rs. */
static enum outcome
prepare_llm(struct bctx *b, size_t i, char **bytes, size_t *n, struct readset *rs,
	struct check_outcomes *oc, struct diag *d)
{
	struct atom *a = &b->p->atoms[i];
	struct astate *s = &b->st[i];
	enum fill_state fs;
	size_t k;

	if (!s->job) {
		if (start_fills(b, i, d) != 0)
			return OUT_FAILED;
	}
	b->wakes[i].b = b;
	b->wakes[i].i = i;
	fs = fill_job_run(s->job, wake_atom, &b->wakes[i]);
	for (;;) {
		struct buf out = {0};
		struct readset ignore = {0};
		const char **fills;
		struct diag cd = {0};
		int bad;

		if (fs == FILL_WAIT)
			return OUT_WAITING;
		if (fs == FILL_ERROR) {
			diag_add(d, a->decl->pos.file, a->decl->pos.line, a->decl->pos.col, "%s",
				fill_job_error(s->job));
			pthread_mutex_lock(&b->lock);
			for (k = 0; k < a->nslots; k++)
				b->unresolved += fill_job_unresolved(s->job, k);
			b->stats[STRATUM_LLM].errors++;
			pthread_mutex_unlock(&b->lock);
			return OUT_FAILED;
		}
		fills = xcalloc(a->nslots, sizeof(*fills));
		for (k = 0; k < a->nslots; k++)
			fills[k] = fill_job_fill(s->job, k);
		if (render_with(b, i, a->tfile->tmpl, fills, NULL, &out, &ignore, d) != 0) {
			free(fills);
			reads_free(&ignore);
			buf_free(&out);
			return OUT_FAILED;
		}
		reads_free(&ignore);
		check_outcomes_free(oc);
		bad = check_llm_output(b, a, out.data ? out.data : "", out.len, oc, &cd) != 0;
		if (!bad) {
			struct recorder rc = {&s->rs, a->elem, a->key_val, a->index_val};

			for (k = 0; k < a->nslots; k++)
				key_record_fill(&rc, a->slots[k].name, fills[k]);
			free(fills);
			diag_free(&cd);
			fill_job_accept(s->job);
			s->degraded = fill_job_degraded(s->job);
			if (s->degraded)
				progress_line(b->pr, "dmbuild: warning: %s is degraded: %s", a->out,
					fill_job_error(s->job));
			else {
				char *sum = fill_job_summary(s->job);

				progress_line(b->pr, "dmbuild: %s: slots filled (%s)", a->out, sum);
				free(sum);
			}
			*rs = s->rs;
			memset(&s->rs, 0, sizeof(s->rs));
			reads_finish(rs);
			*n = out.len;
			*bytes = buf_release(&out);
			return OUT_PENDING;
		}
		buf_free(&out);
		{
			struct buf errs = {0};
			int *ask = xcalloc(a->nslots, sizeof(*ask));

			blame(b, i, fills, &cd, ask);
			free(fills);

			for (k = 0; k < cd.n; k++)
				buf_printf(&errs, "%s:%d:%d: %s\n", cd.items[k].file ? cd.items[k].file : "",
					cd.items[k].line, cd.items[k].col, cd.items[k].msg);
			if (b->mode == FILL_SAFE) {
				for (k = 0; k < cd.n; k++)
					diag_add(d, cd.items[k].file, cd.items[k].line, cd.items[k].col, "%s",
						cd.items[k].msg);
				diag_free(&cd);
				buf_free(&errs);
				free(ask);
				return OUT_FAILED;
			}
			pthread_mutex_lock(&b->lock);
			b->stats[STRATUM_QA].errors++;
			pthread_mutex_unlock(&b->lock);
			fs = fill_job_retry(s->job, errs.data ? errs.data : "", ask, wake_atom,
				&b->wakes[i]);
			free(ask);
			if (fs == FILL_ERROR)
				for (k = 0; k < cd.n; k++)
					diag_add(d, cd.items[k].file, cd.items[k].line, cd.items[k].col,
						"%s", cd.items[k].msg);
			diag_free(&cd);
			buf_free(&errs);
		}
	}
}

/* produce: atom i's bytes and what they read, from the action cache
 * (*cached = 1) or rendered.  0, or DM_EINPUT with the messages in d. */
static int
produce(struct bctx *b, size_t i, struct digest *key, char **bytes, size_t *n,
	struct readset *rs, int *cached, struct diag *d)
{
	struct record *r = b->st[i].rec;
	struct buf out = {0};

	*cached = from_action_cache(b, i, key, bytes, n, rs) == 0;
	if (*cached)
		return 0;
	if (r) /* no earlier build to reuse: its old reads are done with */
		record_drop_reads(r);
	reads_free(rs);
	if (render(b, i, &out, rs, d)) {
		reads_free(rs);
		buf_free(&out);
		return DM_EINPUT;
	}
	*key = key_action(b->p->atoms[i].static_key, rs);
	*n = out.len;
	*bytes = buf_release(&out);
	return 0;
}

/* prepare: render atom i (or find it in the action cache) and decide
 * what to write.  OUT_PENDING with *res filled when the result must be
 * committed; OUT_FAILED or OUT_CONFLICT otherwise. */
static enum outcome
prepare(struct bctx *b, size_t i, struct result *res)
{
	struct atom *a = &b->p->atoms[i];
	struct astate *s = &b->st[i];
	struct record *r = s->rec, *nr;
	struct readset rs = {0};
	struct diag d = {0};
	struct check_outcomes oc = {0};
	struct digest key, dg, ondisk = {0, 0}, zero = {0, 0};
	struct fstamp st;
	char *bytes = NULL;
	size_t n = 0;
	int ours, edited, cached = 0;
	double t0 = clock_ms();

	if (!s->job) {
		progress_atom(b->pr, a->stratum, a->out);
		if (b->o->verbose)
			progress_line(b->pr, "dmbuild: %s: %s", a->out, s->why ? s->why : "stale");
	}
	if (a->nslots) {
		enum outcome lo = prepare_llm(b, i, &bytes, &n, &rs, &oc, &d);

		report_diag(b, &d);
		if (lo != OUT_PENDING) {
			check_outcomes_free(&oc);
			if (lo == OUT_FAILED) {
				fill_job_free(s->job);
				s->job = NULL;
				reads_free(&s->rs);
			}
			return lo;
		}
		key = key_action(a->static_key, &rs);
		pthread_mutex_lock(&b->lock);
		b->stats[STRATUM_QA].atoms += a->nchecks ? 1 : 0;
		pthread_mutex_unlock(&b->lock);
	} else if (s->early) {
		key = s->early->key;
		bytes = s->early->bytes;
		n = s->early->n;
		rs = s->early->rs;
		cached = s->early->cached;
		t0 -= s->early->ms;
		free(s->early);
		s->early = NULL;
	} else if (produce(b, i, &key, &bytes, &n, &rs, &cached, &d)) {
		report_diag(b, &d);
		return OUT_FAILED;
	}
	res->ms = clock_ms() - t0;
	if (a->nchecks && !a->nslots) {
		double q0 = clock_ms();
		int bad = qa_check_bytes(b->p, a, bytes, n, &oc, &d) != 0;

		trace_checks(b, a, &oc, 0, q0, clock_ms());
		report_diag(b, &d);
		pthread_mutex_lock(&b->lock);
		b->stats[STRATUM_QA].atoms++;
		b->stats[STRATUM_QA].ms += clock_ms() - q0;
		b->stats[STRATUM_QA].errors += bad;
		pthread_mutex_unlock(&b->lock);
		if (bad) {
			check_outcomes_free(&oc);
			free(bytes);
			reads_free(&rs);
			return OUT_FAILED;
		}
	}
	dg = hash_bytes(bytes, n);
	fs_stamp(opath(b, i), &st);
	ours = 0;
	if (st.exists) {
		if (r && fstamp_eq(&st, &r->st))
			ondisk = r->out;
		else if (hash_file(opath(b, i), &ondisk) != 0)
			ondisk = zero;
		ours = r && (digest_eq(ondisk, r->out) || digest_eq(ondisk, r->prev));
	}
	edited = st.exists && !ours && !digest_eq(ondisk, dg);
	if (edited && !b->o->force) {
		progress_line(b->pr,
			"dmbuild: warning: %s was edited by hand (or not written by dmbuild); kept it, "
			"the new result is not written (--force overwrites)",
			a->out);
		free(bytes);
		reads_free(&rs);
		check_outcomes_free(&oc);
		return OUT_CONFLICT;
	}
	nr = xcalloc(1, sizeof(*nr));
	nr->static_key = a->static_key;
	nr->key = key;
	nr->out = dg;
	nr->prev = st.exists && (ours || b->o->force) ? ondisk : zero;
	nr->elem = a->elem ? a->elem->digest : zero;
	nr->st.mtime_ns = -1; /* never matches: the next run hashes the file */
	nr->built_ns = now_ns();
	nr->stratum = a->stratum;
	nr->version = xstrdup(DM_VERSION);
	nr->tmpl = xstrdup(a->tmpl);
	nr->reason = xstrdup(s->why ? s->why : "");
	nr->origin = origin_of(a);
	nr->reads = rs;
	record_count_reads(nr);
	nr->checks = check_outcomes_text(&oc);
	check_outcomes_free(&oc);
	if (a->has_cmd)
		nr->flags |= RECORD_CHECKS_PENDING;
	if (s->degraded)
		nr->flags |= RECORD_DEGRADED;
	if (s->job) {
		fill_job_free(s->job);
		s->job = NULL;
	}
	res->idx = i;
	res->bytes = bytes;
	res->n = n;
	res->nr = nr;
	res->cached = cached;
	res->need_write = !st.exists || !digest_eq(ondisk, dg);
	return OUT_PENDING;
}

static void
result_free(struct result *res)
{
	free(res->bytes);
	if (res->nr) {
		record_free(res->nr);
		free(res->nr);
	}
	memset(res, 0, sizeof(*res));
}

/* run_cmds: the cmd checks of a written output; their outcomes join the
 * record, whose flags say whether they passed (the record is stored again
 * with the stamps at the end of the build).  0 if they passed. */
static int
run_cmds(struct bctx *b, const struct atom *a, struct record *nr)
{
	struct check_outcomes oc = {0};
	struct diag d = {0};
	double q0 = clock_ms();
	char *more;
	size_t from;
	int bad;

	check_outcomes_parse(nr->checks, &oc);
	from = oc.n;
	bad = qa_check_cmds(b->p, a, opath(b, (size_t)(a - b->p->atoms)), &oc, &d) != 0;
	trace_checks(b, a, &oc, from, q0, clock_ms());
	report_diag(b, &d);
	more = check_outcomes_text(&oc);
	free(nr->checks);
	nr->checks = more;
	check_outcomes_free(&oc);
	nr->flags &= ~RECORD_CHECKS_PENDING;
	if (bad)
		nr->flags |= RECORD_CHECKS_FAILED;
	pthread_mutex_lock(&b->lock);
	b->stats[STRATUM_QA].ms += clock_ms() - q0;
	b->stats[STRATUM_QA].errors += bad;
	pthread_mutex_unlock(&b->lock);
	return bad;
}

/* flush: commit a batch of results in one transaction, then write their
 * files; oc[k] gets each one's outcome.  Runs outside the lock. */
static void
flush(struct bctx *b, struct result *batch, size_t nb, enum outcome *oc)
{
	struct cache_txn *x = NULL;
	unsigned char kb[16];
	size_t k;
	int r;
	/* The batch borrows the values put (outputs, encoded records, action
	 * cache entries): all live until after the commit. */
	struct buf *enc = xcalloc(nb ? nb : 1, sizeof(*enc));
	unsigned char (*vb)[16] = xcalloc(nb ? nb : 1, sizeof(*vb));

	r = b->outroot ? 0 : cache_begin_borrowing(b->c, &x);
	for (k = 0; k < nb && !r && !b->outroot; k++) {
		struct result *res = &batch[k];
		struct atom *a = &b->p->atoms[res->idx];
		struct digest dg;

		record_encode(res->nr, &enc[k]);
		cache_digest_key(res->nr->key, kb);
		cache_digest_key(res->nr->out, vb[k]);
		r = (!res->cached && cache_cas_put(x, res->bytes, res->n, &dg)) ||
		    cache_txn_put(x, CACHE_AC, kb, sizeof(kb), vb[k], sizeof(vb[k])) ||
		    cache_txn_put(x, CACHE_ATOMS, a->out, strlen(a->out), enc[k].data, enc[k].len);
	}
	if (!r && x) {
		r = cache_commit(x);
		x = NULL;
	}
	if (x)
		cache_abort(x);
	for (k = 0; k < nb; k++)
		buf_free(&enc[k]);
	free(enc);
	free(vb);
	for (k = 0; k < nb; k++) {
		struct result *res = &batch[k];
		struct atom *a = &b->p->atoms[res->idx];
		struct astate *s = &b->st[res->idx];
		double t0 = clock_ms();

		oc[k] = OUT_FAILED;
		if (r) {
			progress_line(b->pr, "dmbuild: %s: cannot commit the result to the cache: %s",
				a->out, cache_errmsg(b->c));
		} else if (res->need_write && fs_write_atomic(opath(b, res->idx), res->bytes, res->n)) {
			progress_line(b->pr, "dmbuild: %s: cannot write: %s", opath(b, res->idx),
				strerror(errno));
		} else {
			fs_stamp(opath(b, res->idx), &res->nr->st);
			s->cur = res->nr->st;
			s->restamp = 1;
			oc[k] = OUT_BUILT;
			/* Stored: the reads are not needed again this run. */
			record_drop_reads(res->nr);
			s->newrec = res->nr;
			res->nr = NULL;
		}
		pthread_mutex_lock(&b->lock);
		if (oc[k] == OUT_BUILT) {
			b->stats[a->stratum].atoms++;
			b->built++;
		} else {
			b->stats[a->stratum].errors++;
		}

		b->stats[a->stratum].ms += res->ms + (clock_ms() - t0);
		pthread_mutex_unlock(&b->lock);
		result_free(res);
	}
}

static enum outcome
run_atom(struct bctx *b, size_t i, struct result *res)
{
	struct astate *s = &b->st[i];

	if (s->state == ST_MAYBE)
		s->state = assess(b, i, 0);
	switch (s->state) {
	case ST_FRESH:
		return OUT_UPTODATE;
	case ST_KEPT:
		progress_line(b->pr, "dmbuild: warning: %s was edited by hand; kept it (--force overwrites)",
			b->p->atoms[i].out);
		return OUT_KEPT;
	default:
		return prepare(b, i, res);
	}
}

/* complete: record the outcome and release dependents.  Lock held. */
static void
complete(struct bctx *b, size_t i, enum outcome oc)
{
	size_t nr, k;
	const size_t *rd;

	b->st[i].outcome = oc;
	b->remaining--;
	if (b->trace && oc != OUT_DEPFAILED && oc != OUT_UPTODATE) {
		static const char *names[] = {"pending", "up to date", "built", "kept", "conflict",
			"failed", "dependency failed"};
		const struct atom *a = &b->p->atoms[i];
		struct buf args = {0};

		buf_printf(&args, "\"outcome\": \"%s\", \"why\": ", names[oc]);
		json_put_str(&args, b->st[i].why ? b->st[i].why : "", b->st[i].why ? strlen(b->st[i].why) : 0);
		trace_span(b->trace, a->out, stratum_name(a->stratum), b->st[i].tid, b->st[i].t0,
			clock_ms(), args.data);
		buf_free(&args);
	}
	if (oc == OUT_FAILED)
		b->failures++;
	else if (oc == OUT_CONFLICT)
		b->conflicts++;
	else if (oc == OUT_KEPT)
		b->kept++;
	if (b->o->keep_going > 0 && b->failures >= (size_t)b->o->keep_going)
		b->stop = 1;
	rd = graph_rdeps(b->p->graph, i, &nr);
	for (k = 0; k < nr; k++) {
		struct astate *t = &b->st[rd[k]];

		if (t->state == ST_UNNEEDED)
			continue;
		if (oc == OUT_FAILED || oc == OUT_DEPFAILED)
			t->depfailed = 1;
		if (--t->pending == 0) {
			if (t->depfailed)
				complete(b, rd[k], OUT_DEPFAILED);
			else
				ready_push(b, rd[k]);
		}
	}
}

/* group_commit: while results are pending and nobody is flushing them,
 * take them all (up to BUILD_MAX_BATCH) and flush.  Lock held on entry
 * and exit; released while flushing. */
static void
group_commit(struct bctx *b)
{
	while (b->npending && !b->committing) {
		size_t nb = b->npending < BUILD_MAX_BATCH ? b->npending : BUILD_MAX_BATCH, k;
		struct result *batch = xmalloc(nb * sizeof(*batch));
		enum outcome *oc = xmalloc(nb * sizeof(*oc));
		size_t *idx = xmalloc(nb * sizeof(*idx));

		memcpy(batch, b->pending + (b->npending - nb), nb * sizeof(*batch));
		b->npending -= nb;
		for (k = 0; k < nb; k++)
			idx[k] = batch[k].idx;
		b->committing = 1;
		pthread_mutex_unlock(&b->lock);
		flush(b, batch, nb, oc);
		pthread_mutex_lock(&b->lock);
		b->committing = 0;
		for (k = 0; k < nb; k++) {
			if (oc[k] == OUT_BUILT && b->p->atoms[idx[k]].has_cmd) {
				b->checkq[b->ncheckq++] = idx[k];
				continue;
			}
			b->running--;
			complete(b, idx[k], oc[k]);
		}
		pthread_cond_broadcast(&b->cond);
		free(batch);
		free(oc);
		free(idx);
	}
}

struct worker_arg {
	struct bctx *b;
	int id;
};

static void *
worker(void *arg)
{
	struct bctx *b = ((struct worker_arg *)arg)->b;
	sigset_t set;

	worker_id = ((struct worker_arg *)arg)->id;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_mutex_lock(&b->lock);
	for (;;) {
		struct result res = {0};
		size_t i;
		enum outcome oc;

		group_commit(b);
		if (build_interrupted)
			b->stop = 1;
		if (b->ncheckq) {
			/* Checks of written outputs first, even when stopping: the
			 * output is in place and its record must say how they went. */
			i = b->checkq[--b->ncheckq];
			pthread_mutex_unlock(&b->lock);
			oc = run_cmds(b, &b->p->atoms[i], b->st[i].newrec) ? OUT_FAILED : OUT_BUILT;
			pthread_mutex_lock(&b->lock);
			b->running--;
			complete(b, i, oc);
			pthread_cond_broadcast(&b->cond);
			continue;
		}
		if ((b->stop && !b->npending && !b->committing) || b->remaining == 0)
			break;
		/* Back-pressure: while a batch commits, at most a batch more
		 * waits rendered (each holds its output and its reads). */
		if (b->stop || b->headready == b->nready ||
			(b->committing && b->npending >= BUILD_MAX_BATCH)) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 100000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&b->cond, &b->lock, &ts);
			continue;
		}
		i = b->ready[b->headready++];
		b->running++;
		b->st[i].t0 = clock_ms();
		b->st[i].tid = worker_id;
		pthread_mutex_unlock(&b->lock);
		oc = run_atom(b, i, &res);
		pthread_mutex_lock(&b->lock);
		if (oc == OUT_WAITING) {
			b->running--;
		} else if (oc == OUT_PENDING) {
			if (b->npending == b->cappending) {
				b->cappending = b->cappending ? b->cappending * 2 : 64;
				b->pending = xreallocarray(b->pending, b->cappending, sizeof(*b->pending));
			}
			b->pending[b->npending++] = res;
		} else {
			b->running--;
			complete(b, i, oc);
		}
		pthread_cond_broadcast(&b->cond);
	}
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
	return NULL;
}

/* What the prefetch knows of one output: its stamp as stored, and the
 * file as it is. */
struct pstamp {
	struct fstamp cur;
	size_t n;
	unsigned char enc[]; /* the CACHE_STAMPS value */
};

struct prefetch {
	struct cache *c;
	struct strmap *stamps; /* output path -> struct pstamp */
	pthread_t th;
	int threaded;
};

static int
prefetch_one(void *ud, const void *key, size_t klen, const void *val, size_t vlen)
{
	struct prefetch *pf = ud;
	struct pstamp *ps = xmalloc(sizeof(*ps) + vlen);
	char *path = xstrndup(key, klen);

	fs_stamp(path, &ps->cur);
	ps->n = vlen;
	memcpy(ps->enc, val, vlen);
	free(strmap_put(pf->stamps, key, klen, ps));
	free(path);
	return 0;
}

static void
prefetch_run(struct prefetch *pf)
{
	cache_each(pf->c, CACHE_STAMPS, prefetch_one, pf);
}

/* prefetch_thread: prefetch_run with the signals left to the main thread. */
static void *
prefetch_thread(void *arg)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	prefetch_run(arg);
	return NULL;
}

struct prefetch *
build_prefetch(struct cache *c, int threads)
{
	struct prefetch *pf = xcalloc(1, sizeof(*pf));

	pf->c = c;
	pf->stamps = strmap_new();
	pf->threaded = threads && pthread_create(&pf->th, NULL, prefetch_thread, pf) == 0;
	return pf;
}

/* prefetch_join: the stamps, all read. */
static struct strmap *
prefetch_join(struct prefetch *pf)
{
	if (pf->threaded)
		pthread_join(pf->th, NULL);
	else
		prefetch_run(pf);
	pf->threaded = 0;
	return pf->stamps;
}

static int
free_pstamp(void *ud, const char *key, void *val)
{
	(void)ud;
	(void)key;
	free(val);
	return 0;
}

void
build_prefetch_free(struct prefetch *pf)
{
	if (!pf)
		return;
	if (pf->threaded)
		pthread_join(pf->th, NULL);
	strmap_each(pf->stamps, free_pstamp, NULL);
	strmap_free(pf->stamps);
	free(pf);
}

/* precheck: whether atom i's reads can be checked as its record loads:
 * nothing this build writes can change what it read (no dependencies, no
 * output read as a file). */
static int
precheck(struct bctx *b, size_t i, const struct record *r)
{
	size_t nd, k;

	graph_deps(b->p->graph, i, &nd);
	if (nd || b->outroot)
		return 0;
	for (k = 0; k < r->reads.n; k++)
		if ((r->reads.r[k].kind == 'F' || r->reads.r[k].kind == 'N') &&
			project_find(b->p, r->reads.r[k].path) >= 0)
			return 0;
	return 1;
}

/* Records load in LOAD_CHUNKS ranges of keys, which the loading threads
 * take in turn, so that a thread busy producing a large stale atom (see
 * early_produce) leaves the rest of the records to the other. */
#define LOAD_CHUNKS 16

/* Early results wait in memory until the build commits them; beyond about
 * this many bytes (outputs and reads, roughly counted) the rest are
 * produced in the build, under its back-pressure, as usual. */
#define EARLY_BUDGET (16u << 20)

struct loader {
	struct bctx *b;
	const char *const *bounds; /* chunk k is keys in [bounds[k], bounds[k + 1]) */
	size_t nchunks, next;      /* next: the next chunk to take (lock) */
	size_t held;               /* bytes held by early results (lock) */
	pthread_mutex_t lock;
	int early;                 /* stale prechecked atoms may be produced now */
};

/* One thread's part: its records, and the stale atoms of its current
 * chunk waiting to be produced. */
struct loadpart {
	struct loader *ld;
	struct strmap *records;
	size_t *stale;
	size_t nstale;
};

/* load_record: keep each record; check the reads of those that allow it
 * now, and drop the reads that turn out unchanged, so that the records of
 * a large project are not all held with their reads at once. */
static int
load_record(void *ud, const void *key, size_t klen, const void *val, size_t vlen)
{
	struct loadpart *lp = ud;
	struct bctx *b = lp->ld->b;
	struct record *r = xcalloc(1, sizeof(*r));
	void *at;

	if (record_decode(val, vlen, r) != 0) {
		free(r);
		return 0;
	}
	at = strmap_get(b->p->outs, key, klen);
	if (!at) /* an output no longer declared (remove_gone) */
		strmap_put(lp->records, key, klen, r);
	if (at) {
		size_t i = (size_t)at - 1;
		struct astate *s = &b->st[i];
		struct key_env e;
		struct buf why = {0};
		struct pstamp *ps = strmap_get(b->stamps, key, klen);

		s->rec = r;
		if (ps) {
			stamp_apply(ps->enc, ps->n, r);
			s->cur = ps->cur;
			s->have_cur = 1;
		}
		if (!precheck(b, i, r))
			return 0;
		env_of(b, &b->p->atoms[i], &e);
		if (key_check(r, &e, &why)) {
			set_why(s, why.data);
			s->prechecked = -1;
			s->cand = key_candidate(r, &e);
		} else {
			s->prechecked = 1;
			record_drop_reads(r);
		}
		buf_free(&why);
		/* Its whole assessment (the output's stat, maybe its digest)
		 * happens here too, on the loading threads. */
		s->early_state = assess(b, i, 1);
		if (s->early_state == ST_STALE && lp->ld->early && !b->p->atoms[i].nslots)
			lp->stale[lp->nstale++] = i;
	}
	return 0;
}

/* early_produce: produce a stale prechecked atom now.  Nothing built this
 * run can change what it reads (precheck), so the result is the one a
 * worker would get; on an error it is left for the worker, which reports
 * it. */
static void
early_produce(struct loader *ld, size_t i)
{
	struct bctx *b = ld->b;
	struct early *e;
	struct diag d = {0};
	double t0 = clock_ms();
	size_t bytes;

	pthread_mutex_lock(&ld->lock);
	bytes = ld->held;
	pthread_mutex_unlock(&ld->lock);
	if (bytes >= EARLY_BUDGET)
		return;
	e = xcalloc(1, sizeof(*e));
	if (produce(b, i, &e->key, &e->bytes, &e->n, &e->rs, &e->cached, &d) != 0) {
		free(e);
	} else {
		e->ms = clock_ms() - t0;
		b->st[i].early = e;
		pthread_mutex_lock(&ld->lock);
		ld->held += e->n + e->rs.n * (sizeof(*e->rs.r) + 32);
		pthread_mutex_unlock(&ld->lock);
	}
	diag_free(&d);
}

static void *
load_part(void *arg)
{
	struct loadpart *lp = arg;
	struct loader *ld = lp->ld;
	size_t k, j;

	for (;;) {
		pthread_mutex_lock(&ld->lock);
		k = ld->next++;
		pthread_mutex_unlock(&ld->lock);
		if (k >= ld->nchunks)
			break;
		lp->nstale = 0;
		cache_each_range(ld->b->c, CACHE_ATOMS, ld->bounds[k],
			ld->bounds[k] ? strlen(ld->bounds[k]) : 0, ld->bounds[k + 1],
			ld->bounds[k + 1] ? strlen(ld->bounds[k + 1]) : 0, load_record, lp);
		for (j = 0; j < lp->nstale && !build_interrupted; j++)
			early_produce(ld, lp->stale[j]);
	}
	return NULL;
}

static int
str_cmp(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static int
adopt_record(void *ud, const char *key, void *val)
{
	strmap_put(ud, key, strlen(key), val);
	return 0;
}

/* load_records: every record, with the reads checked where they can be
 * (load_record); a large project is read by two threads taking chunks of
 * keys in turn, and its stale prechecked atoms are produced as they are
 * found (unless this run builds only targets, or nothing). */
static void
load_records(struct bctx *b, int jobs)
{
	struct loader ld = {0};
	struct loadpart one = {0}, two = {0};
	const char **bounds;
	pthread_t th;
	size_t i, n = b->p->natoms;

	ld.b = b;
	ld.early = !b->o->dry_run && !b->o->ntargets && !b->outroot;
	pthread_mutex_init(&ld.lock, NULL);
	one.ld = two.ld = &ld;
	one.records = b->records;
	one.stale = xmalloc((n ? n : 1) * sizeof(*one.stale));
	if (jobs < 2 || n < 2000) {
		/* One loader: producing early would only take the atoms from the
		 * workers, which render them in parallel. */
		const char *all[2] = {NULL, NULL};

		ld.bounds = all;
		ld.nchunks = 1;
		ld.early = 0;
		load_part(&one);
		free(one.stale);
		pthread_mutex_destroy(&ld.lock);
		return;
	}
	bounds = xmalloc((n + 2) * sizeof(*bounds));
	for (i = 0; i < n; i++)
		bounds[i] = b->p->atoms[i].out;
	qsort(bounds, n, sizeof(*bounds), str_cmp);
	/* bounds[k] for k in 1..LOAD_CHUNKS-1 picked out of the sorted outputs;
	 * the first chunk starts at the first key, the last one runs to the
	 * end (records of outputs no longer declared included) */
	for (i = 1; i < LOAD_CHUNKS; i++)
		bounds[i] = bounds[i * n / LOAD_CHUNKS];
	bounds[0] = NULL;
	bounds[LOAD_CHUNKS] = NULL;
	ld.bounds = bounds;
	ld.nchunks = LOAD_CHUNKS;
	two.records = strmap_new();
	two.stale = xmalloc(n * sizeof(*two.stale));
	if (pthread_create(&th, NULL, load_part, &two) != 0) {
		load_part(&one);
	} else {
		load_part(&one);
		pthread_join(th, NULL);
	}
	strmap_each(two.records, adopt_record, b->records);
	strmap_free(two.records);
	free(one.stale);
	free(two.stale);
	free(bounds);
	pthread_mutex_destroy(&ld.lock);
}

static void
mark_needed(struct bctx *b, size_t i)
{
	size_t nd, k;
	const size_t *deps;

	if (b->st[i].state != ST_UNNEEDED)
		return;
	b->st[i].state = ST_FRESH;
	deps = graph_deps(b->p->graph, i, &nd);
	for (k = 0; k < nd; k++)
		mark_needed(b, deps[k]);
}

static void
print_plan(struct bctx *b, const size_t *order)
{
	struct project *p = b->p;
	size_t *wave = xcalloc(p->natoms ? p->natoms : 1, sizeof(*wave));
	size_t i, k, w, nwaves = 0, nwork = 0, nkept = 0, nllm = 0;

	for (i = 0; i < p->natoms; i++) {
		size_t v = order[i], nd;
		const size_t *deps = graph_deps(p->graph, v, &nd);
		enum astate_kind s = b->st[v].state;

		if (s == ST_KEPT)
			nkept++;
		if (s != ST_STALE && s != ST_MAYBE)
			continue;
		nwork++;
		nllm += p->atoms[v].nslots ? 1 : 0;
		wave[v] = 1;
		for (k = 0; k < nd; k++)
			if (wave[deps[k]] + 1 > wave[v])
				wave[v] = wave[deps[k]] + 1;
		if (wave[v] > nwaves)
			nwaves = wave[v];
	}
	if (!nwork)
		printf("dmbuild: no work to do (%zu atoms up to date)\n", p->natoms);
	else
		printf("dmbuild: %zu of %zu atoms to build, in %zu wave%s\n", nwork, p->natoms,
			nwaves, nwaves == 1 ? "" : "s");
	for (w = 1; w <= nwaves; w++) {
		printf("wave %zu:\n", w);
		for (i = 0; i < p->natoms; i++) {
			size_t v = order[i];
			enum astate_kind s = b->st[v].state;

			if ((s == ST_STALE || s == ST_MAYBE) && wave[v] == w)
				printf("  %-8s %s: %s%s\n", stratum_name(p->atoms[v].stratum),
					p->atoms[v].out, s == ST_MAYBE ? "maybe: " : "",
					b->st[v].why ? b->st[v].why : "");
		}
	}
	if (nllm) {
		size_t lk = 0, ch = 0, calls = 0;
		unsigned long tin = 0;

		for (i = 0; i < p->natoms; i++) {
			struct diag d = {0};
			enum astate_kind st = b->st[i].state;

			if (!p->atoms[i].nslots || (st != ST_STALE && st != ST_MAYBE))
				continue;
			if (start_fills(b, i, &d) == 0)
				fill_job_estimate(b->st[i].job, &lk, &ch, &calls, &tin);
			diag_free(&d);
			fill_job_free(b->st[i].job);
			b->st[i].job = NULL;
			reads_free(&b->st[i].rs);
		}
		printf("LLM: %zu slot%s: %zu from dmbuild.lock, %zu from the cache, %zu call%s",
			lk + ch + calls, lk + ch + calls == 1 ? "" : "s", lk, ch, calls,
			calls == 1 ? "" : "s");
		if (calls && b->mode == FILL_SAFE) {
			printf(" (safe mode makes none: those slots fail)");
		} else if (calls && b->llm.nchain) {
			/* Output: assume an answer of a quarter of the input, at most
			 * the request's 4096 tokens. */
			unsigned long tout = tin / 4 < calls * 4096 ? tin / 4 : calls * 4096;
			double pin = 0, pout = 0;
			struct diag pd = {0};

			if (b->o->pricing)
				llm_price(b->o->pricing, b->chain[0].model, &pin, &pout, &pd);
			diag_free(&pd);
			printf(" to %s (about %lu tokens in, %lu out, $%.4f)", b->chain[0].model, tin,
				tout, ((double)tin * pin + (double)tout * pout) / 1e6);
		}
		printf("\n");
	}
	if (nkept) {
		printf("kept (edited by hand; --force overwrites):\n");
		for (i = 0; i < p->natoms; i++)
			if (b->st[i].state == ST_KEPT)
				printf("  %s\n", p->atoms[i].out);
	}
	fflush(stdout);
	free(wave);
}

struct gone {
	char **paths;
	size_t n;
};

static int
collect_gone(void *ud, const char *key, void *val)
{
	struct gone *g = ud;

	(void)val;
	g->paths = xreallocarray(g->paths, g->n + 1, sizeof(*g->paths));
	g->paths[g->n++] = xstrdup(key);
	return 0;
}

/* remove_gone: outputs of atoms that no longer exist are deleted unless
 * the user edited them; their records go either way. */
static void
remove_gone(struct bctx *b)
{
	struct gone g = {0};
	size_t i;

	/* The records of outputs no longer declared were kept apart as they
	 * loaded. */
	strmap_each(b->records, collect_gone, &g);
	if (g.n > 1)
		qsort(g.paths, g.n, sizeof(*g.paths), str_cmp);
	for (i = 0; i < g.n; i++) {
		struct record *r = strmap_get(b->records, g.paths[i], strlen(g.paths[i]));
		struct fstamp st;
		struct digest dg;
		int ours;

		fs_stamp(g.paths[i], &st);
		if (st.exists && r) {
			ours = fstamp_eq(&st, &r->st) ||
			       (hash_file(g.paths[i], &dg) == 0 &&
				       (digest_eq(dg, r->out) || digest_eq(dg, r->prev)));
			if (ours || b->o->force) {
				if (fs_remove(g.paths[i]) == 0)
					progress_line(b->pr, "dmbuild: removed %s (no longer generated)",
						g.paths[i]);
			} else {
				progress_line(b->pr,
					"dmbuild: warning: %s is no longer generated but was edited by "
					"hand; kept it",
					g.paths[i]);
			}
		}
		cache_del(b->c, CACHE_ATOMS, g.paths[i], strlen(g.paths[i]));
		cache_del(b->c, CACHE_STAMPS, g.paths[i], strlen(g.paths[i]));
		free(g.paths[i]);
	}
	free(g.paths);
}

static void
stamp_entry(struct buf *b, char kind, const char *path, const struct fstamp *st, struct digest d)
{
	buf_addc(b, kind);
	buf_put_str(b, path);
	fstamp_put(b, st);
	buf_put_u64(b, d.hi);
	buf_put_u64(b, d.lo);
}

/* stamp_input: an input's entry, if it still holds what the build read
 * (expect); 0, or -1 when it changed under the build. */
static int
stamp_input(struct buf *b, const char *path, int exists, struct digest expect)
{
	struct fstamp st, st2;
	struct digest d = {0, 0};
	int r;

	fs_stamp(path, &st);
	if (st.exists != exists)
		return -1;
	if (exists) {
		r = hash_file(path, &d);
		fs_stamp(path, &st2);
		if (r || !fstamp_eq(&st, &st2) || !digest_eq(d, expect))
			return -1;
	}
	stamp_entry(b, 'I', path, &st, d);
	return 0;
}

static void
write_stamp(struct bctx *b)
{
	struct project *p = b->p;
	struct buf s = {0};
	size_t i, n = 0;
	int ok = 1;

	for (i = 0; i < p->ninputs && ok; i++)
		ok = stamp_input(&s, p->inputs[i].path, 1, p->inputs[i].digest) == 0, n++;
	for (i = 0; i < p->nfiles && ok; i++) {
		struct pfile *f = p->files[i];
		char *real;
		const char *why;

		if (f->atom >= 0)
			continue;
		real = project_resolve(p, f->path, &why);
		if (!real)
			continue;
		ok = stamp_input(&s, real, f->exists, f->digest) == 0;
		free(real);
		n++;
	}
	if (ok) {
		/* The lock as this build left it: editing a fill by hand is a change. */
		struct digest ld = {0, 0};
		int have = hash_file("dmbuild.lock", &ld) == 0;

		ok = stamp_input(&s, "dmbuild.lock", have, ld) == 0;
		n++;
	}
	for (i = 0; i < p->natoms && ok; i++) {
		struct digest zero = {0, 0};

		stamp_entry(&s, 'O', p->atoms[i].out, &b->st[i].cur, zero);
		n++;
	}
	if (ok) {
		struct buf all = {0};

		buf_addc(&all, 2);
		buf_put_str(&all, DM_VERSION);
		buf_put_str(&all, b->o->dmfile);
		buf_put_str(&all, b->o->stdlib);
		buf_put_str(&all, b->o->mode ? b->o->mode : "");
		buf_put_u32(&all, (unsigned long)n);
		buf_add(&all, s.data, s.len);
		cache_put(b->c, CACHE_META, "stamp", 5, all.data, all.len);
		buf_free(&all);
	}
	buf_free(&s);
}

int
build_uptodate(struct cache *c, const struct build_opts *o)
{
	struct cursor cur;
	char *v, *ver = NULL, *df = NULL, *sl = NULL, *md = NULL;
	size_t vl;
	unsigned long n, i;
	const unsigned char *one;
	int ok = 0;

	if (cache_get(c, CACHE_META, "stamp", 5, &v, &vl) != 0)
		return 0;
	cur.p = (const unsigned char *)v;
	cur.n = vl;
	cur.off = 0;
	cur.bad = 0;
	one = cur_take(&cur, 1);
	if (!one || *one != 2)
		goto out;
	ver = cur_str(&cur);
	df = cur_str(&cur);
	sl = cur_str(&cur);
	md = cur_str(&cur);
	if (!ver || strcmp(ver, DM_VERSION) || !df || strcmp(df, o->dmfile) || !sl ||
		strcmp(sl, o->stdlib) || !md || strcmp(md, o->mode ? o->mode : ""))
		goto out;
	n = cur_u32(&cur);
	for (i = 0; i < n && !cur.bad; i++) {
		const unsigned char *kind = cur_take(&cur, 1);
		char *path = cur_str(&cur);
		struct fstamp was, now;
		struct digest d, dd;

		fstamp_get(&cur, &was);
		d.hi = cur_u64(&cur);
		d.lo = cur_u64(&cur);
		if (cur.bad || !kind || !path) {
			free(path);
			goto out;
		}
		fs_stamp(path, &now);
		if (!fstamp_eq(&was, &now)) {
			if (*kind != 'I' || !now.exists || !was.exists || hash_file(path, &dd) != 0 ||
				!digest_eq(d, dd)) {
				free(path);
				goto out;
			}
		}
		free(path);
	}
	ok = !cur.bad && cur.off == cur.n;
out:
	free(ver);
	free(df);
	free(sl);
	free(md);
	free(v);
	return ok;
}

/* store_stamps: the stat of every output written or found unchanged, in
 * CACHE_STAMPS (small entries; the records stay as committed). */
static void
store_stamps(struct bctx *b)
{
	struct cache_txn *x;
	size_t i, n = 0;

	if (cache_begin(b->c, &x))
		return;
	for (i = 0; i < b->p->natoms; i++) {
		struct astate *s = &b->st[i];
		struct record *r = s->newrec ? s->newrec : s->rec;
		struct buf enc = {0};

		if (!s->restamp || !r)
			continue;
		r->st = s->cur;
		stamp_encode(&r->st, r->out, &enc);
		cache_txn_put(x, CACHE_STAMPS, b->p->atoms[i].out, strlen(b->p->atoms[i].out),
			enc.data, enc.len);
		buf_free(&enc);
		n++;
	}
	if (n)
		cache_commit(x);
	else
		cache_abort(x);
}

static int
free_record(void *ud, const char *key, void *val)
{
	(void)ud;
	(void)key;
	record_free(val);
	free(val);
	return 0;
}

/* sweep_temps: remove what killed builds left behind in the directories
 * of outputs (we hold the project lock: no other writer runs). */
static void
sweep_temps(struct bctx *b)
{
	struct strmap *dirs = strmap_new();
	size_t i;

	for (i = 0; i < b->p->natoms; i++) {
		const char *out = b->p->atoms[i].out, *slash = strrchr(out, '/');
		char *dir = slash ? xstrndup(out, (size_t)(slash - out)) : xstrdup(".");

		if (!strmap_get(dirs, dir, strlen(dir))) {
			strmap_put(dirs, dir, strlen(dir), b);
			fs_remove_temps(dir);
		}
		free(dir);
	}
	if (!strmap_get(dirs, ".", 1))
		fs_remove_temps(".");
	strmap_free(dirs);
}

/* llm_setup: mode, provider chain and dmbuild.lock.  0, or 2 (input
 * error, reported). */
static int
llm_setup(struct bctx *b)
{
	const struct dmfile *df = b->p->df;
	const struct dm_prop *mv = dm_var(df, "mode"), *lv = dm_var(df, "llm");
	const char *mode = b->o->mode ? b->o->mode : mv ? mv->value : "hybrid";
	struct diag d = {0};
	size_t i, nslots = 0;
	const struct atom *first = NULL;

	for (i = 0; i < b->p->natoms; i++)
		if (b->p->atoms[i].nslots && (nslots += b->p->atoms[i].nslots) && !first)
			first = &b->p->atoms[i];
	if (!strcmp(mode, "safe")) {
		b->mode = FILL_SAFE;
	} else if (!strcmp(mode, "hybrid")) {
		b->mode = FILL_HYBRID;
	} else {
		time_t now = time(NULL);
		struct tm tm;
		char stamp[32];

		b->mode = FILL_RESEARCH;
		gmtime_r(&now, &tm);
		strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
		b->outroot = xasprintf(".dmbuild/research/%s-%ld", stamp, (long)getpid());
		b->outpath = xcalloc(b->p->natoms ? b->p->natoms : 1, sizeof(*b->outpath));
		for (i = 0; i < b->p->natoms; i++)
			b->outpath[i] = xasprintf("%s/%s", b->outroot, b->p->atoms[i].out);
	}
	if (lock_read("dmbuild.lock", &b->dmlock, &d) || lock_read("dmbuild.lock", &b->dmlock_w, &d)) {
		diag_print(&d, stderr);
		diag_free(&d);
		return 2;
	}
	if (lv) {
		char *v = xstrdup(lv->value), *part, *save = NULL;

		b->chain_text = xstrdup(lv->value);
		for (part = strtok_r(v, ",", &save); part; part = strtok_r(NULL, ",", &save)) {
			char *w = part, *sp;

			while (*w == ' ')
				w++;
			sp = strchr(w, ' ');
			if (!*w || !sp || !sp[1]) {
				fprintf(stderr,
					"dmbuild: %s:%d:%d: llm: expected PROVIDER MODEL[, PROVIDER MODEL...], "
					"found '%s'\n",
					lv->vpos.file, lv->vpos.line, lv->vpos.col, w);
				free(v);
				return 2;
			}
			*sp = '\0';
			b->chain = xreallocarray(b->chain, b->llm.nchain + 1, sizeof(*b->chain));
			b->chain[b->llm.nchain].provider = xstrdup(w);
			while (*++sp == ' ')
				;
			b->chain[b->llm.nchain++].model = xstrdup(sp);
		}
		free(v);
	} else if (nslots && b->mode != FILL_SAFE) {
		fprintf(stderr,
			"dmbuild: %s:%d:%d: %s has slots but the DMfile has no 'llm = PROVIDER MODEL' "
			"line\n",
			first->decl->pos.file, first->decl->pos.line, first->decl->pos.col, first->out);
		return 2;
	}
	b->llm.chain = b->chain;
	b->llm.max_in_flight = b->o->llm_jobs > 0 ? b->o->llm_jobs : 32;
	b->llm.max_cost_usd = b->o->max_cost;
	b->llm.pricing = b->o->pricing;
	return 0;
}

/* llm_finish: wait for the engine, then write the lock (hybrid, whole
 * builds: entries of slots no longer declared go). */
static void
llm_finish(struct bctx *b)
{
	struct fill_stats fs;
	size_t i, k;

	if (b->filler) {
		filler_stats(b->filler, &fs);
		b->stats[STRATUM_LLM].tokens_in += fs.tokens_in;
		b->stats[STRATUM_LLM].tokens_out += fs.tokens_out;
		b->stats[STRATUM_LLM].cost += fs.cost_usd;
		b->stats[STRATUM_LLM].repaired += fs.repaired;
		filler_free(b->filler);
		b->filler = NULL;
	}
	if (b->mode != FILL_HYBRID || build_interrupted)
		return;
	if (!b->o->ntargets) {
		for (i = 0; i < b->p->natoms; i++) {
			const struct atom *a = &b->p->atoms[i];

			for (k = 0; k < a->nslots; k++) {
				struct lock_entry *e = lock_find(&b->dmlock_w, a->out, a->slots[k].name);

				if (e)
					e->used = 1;
			}
		}
		lock_drop_unused(&b->dmlock_w);
	}
	if (b->dmlock_w.changed && lock_write("dmbuild.lock", &b->dmlock_w) != 0)
		fprintf(stderr, "dmbuild: cannot write dmbuild.lock: %s\n", strerror(errno));
}

static void
start_workers(struct bctx *b, pthread_t *th, struct worker_arg *wa, int jobs)
{
	int k;

	for (k = 0; k < jobs; k++) {
		wa[k].b = b;
		wa[k].id = k + 1;
		if (pthread_create(&th[k], NULL, worker, &wa[k]) != 0)
			fatal("cannot start a worker thread");
	}
}

int
build_run(struct project *p, struct cache *c, const struct build_opts *o)
{
	struct bctx b = {0};
	size_t *order, i, k, nwork = 0, degraded = 0;
	struct worker_arg *wa;
	pthread_t *th;
	int jobs = o->jobs > 0 ? o->jobs : 1, status = 0;
	struct record **final;
	unsigned char *later;
	struct manifest *man;
	struct prefetch *pf;
	char *mpath;

	b.p = p;
	b.c = c;
	b.o = o;
	pf = o->prefetch;
	b.st = xcalloc(p->natoms ? p->natoms : 1, sizeof(*b.st));
	b.records = strmap_new();
	b.checkq = xmalloc((p->natoms ? p->natoms : 1) * sizeof(*b.checkq));
	pthread_mutex_init(&b.lock, NULL);
	pthread_cond_init(&b.cond, NULL);
	b.wakes = xcalloc(p->natoms ? p->natoms : 1, sizeof(*b.wakes));
	status = llm_setup(&b);
	if (status)
		goto out;
	if (!o->ntargets)
		for (i = 0; i < p->natoms; i++)
			b.st[i].state = ST_FRESH;
	if (!pf)
		pf = build_prefetch(c, 0);
	b.stamps = prefetch_join(pf);
	load_records(&b, jobs);
	build_prefetch_free(pf);
	pf = NULL;
	b.stamps = NULL;
	stats_phase("records loaded");
	if (o->ntargets) {
		for (k = 0; k < o->ntargets; k++) {
			long t = project_find(p, o->targets[k]);

			if (t < 0) {
				fprintf(stderr, "dmbuild: unknown target '%s' (no atom writes it)\n",
					o->targets[k]);
				status = 2;
			} else {
				mark_needed(&b, (size_t)t);
			}
		}
		if (status)
			goto out;
	}
	order = xmalloc((p->natoms ? p->natoms : 1) * sizeof(*order));
	graph_order(p->graph, order, NULL, NULL);
	for (i = 0; i < p->natoms; i++) {
		size_t v = order[i];

		if (b.st[v].state == ST_UNNEEDED)
			continue;
		if (b.outroot) {
			/* A research run builds everything anew, beside the project. */
			b.st[v].state = ST_STALE;
			set_why(&b.st[v], "research run");
			nwork++;
			continue;
		}
		b.st[v].state = b.st[v].prechecked ? b.st[v].early_state : assess(&b, v, 1);
		if (b.st[v].state == ST_STALE || b.st[v].state == ST_MAYBE)
			nwork++;
	}
	stats_phase("atoms assessed");
	if (o->dry_run) {
		print_plan(&b, order);
		free(order);
		goto out;
	}
	free(order);
	/* The manifest's entries of atoms already final are written while
	 * the others build. */
	final = xcalloc(p->natoms ? p->natoms : 1, sizeof(*final));
	later = xcalloc(p->natoms ? p->natoms : 1, 1);
	for (i = 0; i < p->natoms; i++) {
		final[i] = b.st[i].rec;
		later[i] = b.st[i].state == ST_STALE || b.st[i].state == ST_MAYBE;
	}
	mpath = b.outroot ? xasprintf("%s/generation_manifest.json", b.outroot)
			  : xstrdup("generation_manifest.json");
	man = manifest_begin(p, final, later, mpath,
		jobs >= 2 && p->natoms - nwork >= MANIFEST_THREAD_MIN);
	if (!b.outroot)
		sweep_temps(&b);
	if (o->trace)
		b.trace = trace_new();
	b.pr = progress_new(stderr, nwork);
	for (i = 0; i < p->natoms; i++) {
		size_t nd;
		const size_t *deps = graph_deps(p->graph, i, &nd);

		if (b.st[i].state == ST_UNNEEDED)
			continue;
		b.remaining++;
		for (k = 0; k < nd; k++)
			if (b.st[deps[k]].state != ST_UNNEEDED)
				b.st[i].pending++;
	}
	for (i = 0; i < p->natoms; i++)
		if (b.st[i].state != ST_UNNEEDED && b.st[i].pending == 0)
			ready_push(&b, i);
	if (jobs > 256)
		jobs = 256;
	th = xcalloc((size_t)jobs, sizeof(*th));
	wa = xcalloc((size_t)jobs, sizeof(*wa));
	start_workers(&b, th, wa, jobs);
	for (k = 0; k < (size_t)jobs; k++)
		pthread_join(th[k], NULL);
	free(th);
	free(wa);
	stats_phase("atoms built");
	if (b.filler && (build_interrupted || b.stop))
		filler_cancel(b.filler);
	llm_finish(&b);
	if (b.unresolved)
		fprintf(stderr,
			"dmbuild: safe mode: %zu slot%s without an accepted fill in dmbuild.lock "
			"(build in hybrid mode to fill them)\n",
			b.unresolved, b.unresolved == 1 ? "" : "s");
	progress_done(b.pr);
	if (!b.outroot)
		store_stamps(&b);
	if (!o->ntargets && !build_interrupted && !b.outroot)
		remove_gone(&b);
	for (i = 0; i < p->natoms; i++)
		if (later[i])
			final[i] = b.st[i].newrec ? b.st[i].newrec : b.st[i].rec;
	stats_phase("stamps, stale outputs");
	if (manifest_finish(man, final) != 0) {
		fprintf(stderr, "dmbuild: cannot write %s: %s\n", mpath, strerror(errno));
		b.failures++;
	}
	free(mpath);
	free(later);
	stats_phase("manifest written");
	if (b.outroot)
		fprintf(stderr, "dmbuild: research run written to %s (the project is untouched)\n",
			b.outroot);
	if (!o->ntargets && !build_interrupted && !b.outroot) {
		struct run_summary sum;

		if (report_write(p, final, b.stats, b.failures, c, &sum) != 0)
			fprintf(stderr, "dmbuild: cannot write %s/quality.json: %s\n", REPORT_DIR,
				strerror(errno));
		else if (sum.missing)
			fprintf(stderr,
				"dmbuild: %zu contract item%s not matched (semantic compliance %.2f, "
				"relaxed %.2f; see %s/contracts.txt)\n",
				sum.missing, sum.missing == 1 ? "" : "s", sum.semantic, sum.relaxed,
				REPORT_DIR);
	}
	free(final);
	cache_sync(c);
	stats_phase("report written");
	if (build_interrupted) {
		fprintf(stderr, "dmbuild: interrupted; %zu atoms built, finished work kept\n",
			b.built);
		status = 1;
	} else if (b.failures || b.remaining) {
		fprintf(stderr, "dmbuild: build failed: %zu atom%s failed\n", b.failures,
			b.failures == 1 ? "" : "s");
		status = 1;
	} else if (b.conflicts) {
		fprintf(stderr,
			"dmbuild: %zu output%s edited by hand blocked new results (--force overwrites)\n",
			b.conflicts, b.conflicts == 1 ? "" : "s");
		status = 1;
	}
	for (i = 0; i < p->natoms; i++)
		degraded += b.st[i].degraded;
	if (!status && !o->ntargets && !b.kept && !degraded && !b.outroot)
		write_stamp(&b);
	if (b.trace && trace_write(b.trace, o->trace) != 0) {
		fprintf(stderr, "dmbuild: cannot write the trace to %s: %s\n", o->trace,
			strerror(errno));
		status = status ? status : 1;
	}
	trace_free(b.trace);
	stats_phase("no-op stamp written");
	if (b.built || status)
		progress_table(stderr, b.stats);
	else
		fprintf(stderr, "dmbuild: no work to do.\n");
	progress_free(b.pr);
	cache_sync(c);
out:
	build_prefetch_free(pf); /* not taken over when the build stopped early */
	if (b.filler)
		llm_finish(&b);
	for (i = 0; i < b.llm.nchain; i++) {
		free((char *)b.chain[i].provider);
		free((char *)b.chain[i].model);
	}
	free(b.chain);
	free(b.chain_text);
	lock_free(&b.dmlock);
	lock_free(&b.dmlock_w);
	if (b.outpath)
		for (i = 0; i < p->natoms; i++)
			free(b.outpath[i]);
	free(b.outpath);
	free(b.outroot);
	free(b.wakes);
	if (o->exit_after) {
		stats_phase("build state left to exit");
		return status;
	}
	for (i = 0; i < p->natoms; i++) {
		if (b.st[i].early) { /* produced, never taken: the build stopped */
			free(b.st[i].early->bytes);
			reads_free(&b.st[i].early->rs);
			free(b.st[i].early);
		}
		if (b.st[i].rec) {
			record_free(b.st[i].rec);
			free(b.st[i].rec);
		}
		fill_job_free(b.st[i].job);
		reads_free(&b.st[i].rs);
		free(b.st[i].why);
		if (b.st[i].newrec) {
			record_free(b.st[i].newrec);
			free(b.st[i].newrec);
		}
	}
	strmap_each(b.records, free_record, NULL);
	strmap_free(b.records);
	free(b.pending);
	free(b.checkq);
	free(b.st);
	free(b.ready);
	pthread_mutex_destroy(&b.lock);
	pthread_cond_destroy(&b.cond);
	stats_phase("build state freed");
	return status;
}
