/* fill.c - see fill.h.
 *
 * Slot states: NEED (a request is due, at attempt `attempt`, with the
 * feedback in `prev`/`errors`), PENDING (on the engine), DONE (fill set,
 * or fill NULL: the fallback body, degraded or unresolved).  Only
 * fill_job_run submits requests (on a worker); the engine's callback only
 * records the answer and wakes the atom when nothing is pending.  A job's
 * fields are guarded by its mutex; the lock and the statistics by the
 * filler's.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "fill.h"
#include "lock.h"
#include "slot.h"

enum { S_NEED, S_PENDING, S_DONE };
enum { SRC_NONE, SRC_LOCK, SRC_MODEL };

struct filler {
	struct cache *c;
	enum fill_mode mode;
	struct lock *lock;
	struct llm_opts lo;
	struct llm *engine; /* created on first use: safe mode never has one */
	char *chain_text;
	double temp[SLOT_MAX_ATTEMPTS];
	int max_tokens;
	int cancelled;
	struct fill_stats st;
	pthread_mutex_t mu;
};

struct fslot {
	char *name, *prompt, *values;
	struct digest key;
	int state, source, attempt, unresolved, degraded;
	char *fill;      /* accepted candidate */
	char *answer;    /* the raw last answer, for feedback */
	char *prev, *errors; /* feedback for the next attempt */
	char *provider, *model;
};

struct fill_job {
	struct filler *f;
	char *out, *system, *skeleton;
	struct fslot *s;
	size_t n, pending;
	void (*wake)(void *ud);
	void *ud;
	char *error;
	unsigned long tokens;
	double ms, cost;
	pthread_mutex_t mu;
};

struct req {
	struct fill_job *j;
	size_t i;
	struct digest rkey;
};

int
filler_new(struct cache *c, const struct filler_opts *o, struct filler **out, struct diag *d)
{
	struct filler *f = xcalloc(1, sizeof(*f));
	int k;

	(void)d;
	f->c = c;
	f->mode = o->mode;
	f->lock = o->lock;
	if (o->llm)
		f->lo = *o->llm;
	f->chain_text = xstrdup(o->chain_text ? o->chain_text : "");
	for (k = 0; k < SLOT_MAX_ATTEMPTS; k++)
		f->temp[k] = o->temperature[k];
	f->max_tokens = o->max_tokens > 0 ? o->max_tokens : 4096;
	pthread_mutex_init(&f->mu, NULL);
	*out = f;
	return 0;
}

void
filler_free(struct filler *f)
{
	if (!f)
		return;
	if (f->engine) {
		llm_drain(f->engine);
		llm_free(f->engine);
	}
	free(f->chain_text);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

void
filler_stats(struct filler *f, struct fill_stats *st)
{
	pthread_mutex_lock(&f->mu);
	*st = f->st;
	pthread_mutex_unlock(&f->mu);
}

void
filler_cancel(struct filler *f)
{
	pthread_mutex_lock(&f->mu);
	f->cancelled = 1;
	if (f->engine)
		llm_cancel(f->engine);
	pthread_mutex_unlock(&f->mu);
}

static char *
sampling(const struct filler *f)
{
	return xasprintf("t=%g,%g,%g max_tokens=%d", f->temp[0], f->temp[1], f->temp[2],
		f->max_tokens);
}

struct fill_job *
fill_job_new(struct filler *f, const char *out, const char *system, const char *skeleton,
	size_t n, const char *const *names, const char *const *prompts, const char *const *values)
{
	struct fill_job *j = xcalloc(1, sizeof(*j));
	char *samp = sampling(f);
	size_t i;

	j->f = f;
	j->out = xstrdup(out);
	j->system = xstrdup(system);
	j->skeleton = xstrdup(skeleton);
	j->n = n;
	j->s = xcalloc(n ? n : 1, sizeof(*j->s));
	pthread_mutex_init(&j->mu, NULL);
	for (i = 0; i < n; i++) {
		struct fslot *s = &j->s[i];
		char *user;

		s->name = xstrdup(names[i]);
		s->prompt = xstrdup(prompts[i]);
		s->values = xstrdup(values[i] ? values[i] : "");
		user = slot_user(s->name, s->prompt, s->values, NULL, NULL);
		s->key = slot_key(system, user, f->chain_text, samp);
		free(user);
		s->state = S_NEED;
	}
	free(samp);
	return j;
}

static void
slot_clear(struct fslot *s)
{
	free(s->name);
	free(s->prompt);
	free(s->values);
	free(s->fill);
	free(s->answer);
	free(s->prev);
	free(s->errors);
	free(s->provider);
	free(s->model);
}

void
fill_job_free(struct fill_job *j)
{
	size_t i;

	if (!j)
		return;
	for (i = 0; i < j->n; i++)
		slot_clear(&j->s[i]);
	free(j->s);
	free(j->out);
	free(j->system);
	free(j->skeleton);
	free(j->error);
	pthread_mutex_destroy(&j->mu);
	free(j);
}

static void
set_error(struct fill_job *j, const char *fmt, const char *a, const char *b)
{
	if (j->error)
		return;
	j->error = xasprintf(fmt, a, b);
}

/* request_key: what identifies one request's answer. */
static struct digest
request_key(const struct filler *f, const struct fslot *s, const char *user)
{
	struct hasher *h = hasher_new();
	struct digest d;

	hasher_add_str(h, "dmbuild-request-1", 17);
	hasher_add_digest(h, s->key);
	hasher_add_u64(h, (uint64_t)s->attempt);
	hasher_add_str(h, user, strlen(user));
	hasher_add_u64(h, (uint64_t)(f->temp[s->attempt] * 1000.0));
	d = hasher_final(h);
	hasher_free(h);
	return d;
}

/* take_answer: accept or refuse an answer for slot s (job locked). */
static void
take_answer(struct fill_job *j, struct fslot *s, const char *text, const char *provider,
	const char *model)
{
	const char *why;
	char *fill = slot_normalize(text, j->skeleton, s->name, &why);

	free(s->answer);
	s->answer = xstrdup(text);
	free(s->provider);
	free(s->model);
	s->provider = xstrdup(provider);
	s->model = xstrdup(model);
	if (fill) {
		free(s->fill);
		s->fill = fill;
		s->source = SRC_MODEL;
		s->state = S_DONE;
		return;
	}
	if (s->attempt + 1 < SLOT_MAX_ATTEMPTS) {
		s->attempt++;
		free(s->prev);
		free(s->errors);
		s->prev = xstrdup(text);
		s->errors = xasprintf("the answer was refused: %s", why);
		s->state = S_NEED;
		return;
	}
	s->state = S_DONE;
	s->degraded = 1;
	set_error(j, "slot %s: every answer was refused (%s); using its fallback body", s->name, why);
}

static void
encode_answer(struct buf *b, const struct llm_response *r)
{
	buf_put_str(b, r->provider);
	buf_put_str(b, r->model);
	buf_put_u64(b, r->tokens_in);
	buf_put_u64(b, r->tokens_out);
	buf_put_u64(b, (unsigned long long)(r->cost_usd * 1e6));
	buf_put_str(b, r->text);
}

static void
on_answer(void *ud, struct llm_response *r)
{
	struct req *q = ud;
	struct fill_job *j = q->j;
	struct filler *f = j->f;
	struct fslot *s = &j->s[q->i];
	void (*wake)(void *) = NULL;
	void *wud = NULL;

	if (r->error == LLM_OK) {
		unsigned char kb[16];
		struct buf b = {0};

		encode_answer(&b, r);
		cache_digest_key(q->rkey, kb);
		cache_put(f->c, CACHE_FILLS, kb, sizeof(kb), b.data, b.len);
		buf_free(&b);
	}
	pthread_mutex_lock(&f->mu);
	if (r->error == LLM_OK) {
		f->st.answered++;
		f->st.tokens_in += r->tokens_in;
		f->st.tokens_out += r->tokens_out;
		f->st.cost_usd += r->cost_usd;
	} else {
		f->st.failed++;
	}
	pthread_mutex_unlock(&f->mu);
	pthread_mutex_lock(&j->mu);
	j->ms += r->latency_ms;
	j->tokens += r->tokens_in + r->tokens_out;
	j->cost += r->cost_usd;
	if (r->error == LLM_OK) {
		take_answer(j, s, r->text, r->provider ? r->provider : "?", r->model ? r->model : "?");
	} else {
		s->state = S_DONE;
		s->degraded = 1;
		set_error(j, "slot %s: no provider answered (%s); using its fallback body", s->name,
			r->message ? r->message : "unknown error");
	}
	if (--j->pending == 0) {
		wake = j->wake;
		wud = j->ud;
	}
	pthread_mutex_unlock(&j->mu);
	llm_response_free(r);
	free(q);
	if (wake)
		wake(wud);
}

static int
from_cache(struct fill_job *j, struct fslot *s, struct digest rkey)
{
	unsigned char kb[16];
	char *v;
	size_t vl;
	struct cursor c;
	char *prov, *model, *text;

	cache_digest_key(rkey, kb);
	if (cache_get(j->f->c, CACHE_FILLS, kb, sizeof(kb), &v, &vl) != 0)
		return 0;
	c.p = (const unsigned char *)v;
	c.n = vl;
	c.off = 0;
	c.bad = 0;
	prov = cur_str(&c);
	model = cur_str(&c);
	cur_u64(&c);
	cur_u64(&c);
	cur_u64(&c);
	text = cur_str(&c);
	if (!c.bad && text)
		take_answer(j, s, text, prov, model);
	free(prov);
	free(model);
	free(text);
	free(v);
	return !c.bad;
}

static int
ensure_engine(struct filler *f, struct diag *d)
{
	int r = 0;

	pthread_mutex_lock(&f->mu);
	if (!f->engine)
		r = llm_new(&f->lo, &f->engine, d);
	pthread_mutex_unlock(&f->mu);
	return r;
}

enum fill_state
fill_job_run(struct fill_job *j, void (*wake)(void *ud), void *ud)
{
	struct filler *f = j->f;
	size_t i;
	int again = 1;

	pthread_mutex_lock(&j->mu);
	j->wake = wake;
	j->ud = ud;
	while (again) {
		again = 0;
		for (i = 0; i < j->n; i++) {
			struct fslot *s = &j->s[i];
			struct lock_entry *e;
			struct digest rkey;
			struct llm_request rq;
			struct req *q;
			struct diag d = {0};
			char *user;
			int cancelled;

			if (s->state != S_NEED)
				continue;
			if (s->attempt == 0 && !s->prev && f->mode != FILL_RESEARCH) {
				pthread_mutex_lock(&f->mu);
				e = f->lock ? lock_find(f->lock, j->out, s->name) : NULL;
				if (e && digest_eq(e->key, s->key)) {
					s->fill = xstrdup(e->fill);
					s->provider = xstrdup(e->provider);
					s->model = xstrdup(e->model);
					s->source = SRC_LOCK;
					s->state = S_DONE;
					f->st.from_lock++;
				}
				pthread_mutex_unlock(&f->mu);
				if (s->state == S_DONE)
					continue;
			}
			if (f->mode == FILL_SAFE) {
				s->unresolved = 1;
				s->state = S_DONE;
				continue;
			}
			user = slot_user(s->name, s->prompt, s->values, s->prev, s->errors);
			rkey = request_key(f, s, user);
			if (f->mode != FILL_RESEARCH && from_cache(j, s, rkey)) {
				pthread_mutex_lock(&f->mu);
				f->st.from_cache++;
				pthread_mutex_unlock(&f->mu);
				free(user);
				again = 1;
				continue;
			}
			pthread_mutex_lock(&f->mu);
			cancelled = f->cancelled;
			pthread_mutex_unlock(&f->mu);
			if (cancelled || ensure_engine(f, &d) != 0) {
				s->state = S_DONE;
				s->degraded = 1;
				set_error(j, "slot %s: %s; using its fallback body", s->name,
					cancelled ? "the build is stopping"
						  : d.n ? d.items[0].msg : "no LLM engine");
				diag_free(&d);
				free(user);
				continue;
			}
			rq.system = j->system;
			rq.prompt = user;
			rq.temperature = f->temp[s->attempt];
			rq.max_tokens = f->max_tokens;
			q = xcalloc(1, sizeof(*q));
			q->j = j;
			q->i = i;
			q->rkey = rkey;
			s->state = S_PENDING;
			j->pending++;
			pthread_mutex_lock(&f->mu);
			f->st.calls++;
			pthread_mutex_unlock(&f->mu);
			if (llm_submit(f->engine, &rq, on_answer, q) != 0) {
				j->pending--;
				free(q);
				s->state = S_DONE;
				s->degraded = 1;
				set_error(j, "slot %s: %s; using its fallback body", s->name,
					"the request could not be queued");
			}
			free(user);
		}
	}
	for (i = 0; i < j->n; i++) {
		if (j->s[i].unresolved) {
			set_error(j, "%s: safe mode and no accepted fill for slot %s in dmbuild.lock",
				j->out, j->s[i].name);
			pthread_mutex_unlock(&j->mu);
			return FILL_ERROR;
		}
	}
	i = j->pending;
	pthread_mutex_unlock(&j->mu);
	return i ? FILL_WAIT : FILL_READY;
}

enum fill_state
fill_job_retry(struct fill_job *j, const char *errors, const int *ask, void (*wake)(void *ud),
	void *ud)
{
	size_t i, asked = 0;

	pthread_mutex_lock(&j->mu);
	for (i = 0; i < j->n; i++) {
		struct fslot *s = &j->s[i];

		if (s->degraded || !s->fill || j->f->mode == FILL_SAFE || (ask && !ask[i]))
			continue;
		if (s->attempt + 1 >= SLOT_MAX_ATTEMPTS)
			continue;
		s->attempt++;
		free(s->prev);
		free(s->errors);
		s->prev = xstrdup(s->answer ? s->answer : s->fill);
		s->errors = xstrdup(errors);
		free(s->fill);
		s->fill = NULL;
		s->state = S_NEED;
		asked++;
	}
	if (!asked) {
		free(j->error);
		j->error = xasprintf("%s: the output still fails its checks after %d attempts",
			j->out, SLOT_MAX_ATTEMPTS);
		pthread_mutex_unlock(&j->mu);
		return FILL_ERROR;
	}
	pthread_mutex_unlock(&j->mu);
	return fill_job_run(j, wake, ud);
}

const char *
fill_job_fill(const struct fill_job *j, size_t i)
{
	return j->s[i].degraded || j->s[i].unresolved ? NULL : j->s[i].fill;
}

void
fill_job_accept(struct fill_job *j)
{
	struct filler *f = j->f;
	size_t i;

	pthread_mutex_lock(&f->mu);
	for (i = 0; i < j->n; i++) {
		struct fslot *s = &j->s[i];

		if (s->degraded || !s->fill)
			continue;
		if (s->attempt > 0 && s->source == SRC_MODEL)
			f->st.repaired++;
		if (f->lock && f->mode == FILL_HYBRID)
			lock_set(f->lock, j->out, s->name, s->key, s->provider ? s->provider : "?",
				s->model ? s->model : "?", s->fill);
		else if (f->lock && s->source == SRC_LOCK)
			lock_find(f->lock, j->out, s->name)->used = 1;
	}
	pthread_mutex_unlock(&f->mu);
}

int
fill_job_degraded(const struct fill_job *j)
{
	size_t i;

	for (i = 0; i < j->n; i++)
		if (j->s[i].degraded)
			return 1;
	return 0;
}

const char *
fill_job_error(const struct fill_job *j)
{
	return j->error;
}

int
fill_job_unresolved(const struct fill_job *j, size_t i)
{
	return j->s[i].unresolved;
}

char *
fill_job_summary(const struct fill_job *j)
{
	const char *model = NULL;
	size_t i, lock = 0;

	for (i = 0; i < j->n; i++) {
		if (j->s[i].source == SRC_LOCK)
			lock++;
		else if (j->s[i].model)
			model = j->s[i].model;
	}
	if (!model)
		return xasprintf(lock ? "from dmbuild.lock" : "fallback bodies");
	return xasprintf("%s, %.1fs, %.1fk tok%s", model, j->ms / 1000.0, (double)j->tokens / 1000.0,
		j->cost > 0 ? "" : "");
}

void
fill_job_estimate(struct fill_job *j, size_t *from_lock, size_t *from_cache, size_t *calls,
	unsigned long *tokens_in)
{
	struct filler *f = j->f;
	size_t i;

	for (i = 0; i < j->n; i++) {
		struct fslot *s = &j->s[i];
		struct lock_entry *e;
		unsigned char kb[16];
		char *user, *v;
		size_t vl;

		pthread_mutex_lock(&f->mu);
		e = f->lock ? lock_find(f->lock, j->out, s->name) : NULL;
		pthread_mutex_unlock(&f->mu);
		if (e && digest_eq(e->key, s->key)) {
			(*from_lock)++;
			continue;
		}
		user = slot_user(s->name, s->prompt, s->values, NULL, NULL);
		cache_digest_key(request_key(f, s, user), kb);
		if (cache_get(f->c, CACHE_FILLS, kb, sizeof(kb), &v, &vl) == 0) {
			free(v);
			(*from_cache)++;
		} else {
			(*calls)++;
			*tokens_in += (unsigned long)((strlen(j->system) + strlen(user)) / 4);
		}
		free(user);
	}
}
