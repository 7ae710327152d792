/* llm.c - see llm.h.  The only module that includes curl.h.
 *
 * Loading.  dmbuild does not link libcurl: curl.h gives the types and
 * constants, and the functions are called only through the table cu,
 * filled by dlopen("libcurl.so.4") and dlsym the first time llm_new runs,
 * once per process (pthread_once), before anything else touches curl.  So
 * a process that never creates an engine (render, safe mode, builds whose
 * fills all come from the lock or the cache) loads neither libcurl nor the
 * libraries it depends on.  The library stays loaded until exit.  If it
 * cannot be loaded, or lacks a function, or curl_global_init fails, cu
 * stays empty and every llm_new fails with DM_EIO and that message in its
 * diag: the caller degrades the slot as for any provider failure.  Test
 * hook: DMBUILD_LIBCURL, when set and not empty, names the library to load
 * instead (t-llm points it at a missing file and at a library without
 * curl's functions to check those messages).
 *
 * Threads.  One engine thread owns the curl multi handle, the provider
 * state (circuit breakers, dead providers), the ready and delayed lists and
 * every request between submission and completion; it calls the llm_done
 * callbacks.  Other threads touch only what l->mu guards: the submission
 * queue, the command job queues, pending, spent and the cancel/stop flags;
 * they wake the engine with curl_multi_wakeup.  "command" providers run on
 * a small pool of worker threads (run_argv blocks), which hand finished
 * jobs back through l->cmd_done.
 *
 * A request's life: submitted -> ready -> an attempt is in flight (a curl
 * transfer or a command job; at most max_in_flight at once) -> success
 * (done), or a retryable failure -> delayed until its backoff ends ->
 * ready, or its provider has failed it (retries used up, or a failure that
 * is never retried) -> ready again at the next provider in the chain, or
 * no provider is left -> done with the last provider's error and a message
 * listing what each provider said.
 *
 * Every attempt start checks, in order: the budget (spent >= max_cost_usd:
 * LLM_E_BUDGET), cancellation, the provider being dead (a missing key, an
 * authentication or quota failure: never tried again by this engine) and
 * its breaker (open: skip it; open past its time: this request becomes the
 * one probe, the others skip it until the probe has decided).
 *
 * Usage is normalised so that cost = (tokens_in * input + tokens_out *
 * output + cache_read * cache_read + cache_write * cache_write) / 1e6 with
 * the pricing table's USD per million tokens: tokens_in counts input
 * tokens that were neither read from nor written to the prompt cache
 * (Anthropic's input_tokens; OpenAI's prompt_tokens minus cached_tokens).
 *
 * Secrets: keys are read from the environment once, in llm_new, and live
 * only in struct provider (the header list sent to curl), wiped on free.
 * Every message handed out goes through redact(), which removes each key
 * and anything shaped like one ("sk-..." tokens, "Bearer ..." values).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "json.h"
#include "llm.h"
#include "run.h"
#include "spec.h"
#include "value.h"

#define LLM_MAX_REPLY (64u << 20)   /* bytes of reply kept; more is an error */
#define LLM_MAX_CMD_OUT (16u << 20)
#define LLM_RETRY_AFTER_MAX_MS 60000.0
#define LLM_BREAKER_FAILS 3
#define LLM_MAX_WORKERS 8
#define LLM_MSG_MAX 400             /* characters quoted from a provider */

enum pkind { PK_ANTHROPIC, PK_OPENAI, PK_COMMAND };

struct price {
	char *model;
	double in, out, cread, cwrite;
};

struct provider {
	const struct llm_target *t; /* the caller's */
	enum pkind kind;
	char *url;
	char *key;                  /* NULL: none */
	const char *key_env;        /* the variable's name, for messages */
	struct curl_slist *hdrs;
	char **argv;                /* PK_COMMAND */
	const struct price *price;  /* NULL: free */
	/* engine thread only */
	int dead;
	enum llm_error dead_error;
	char *dead_msg;
	int fails;                  /* consecutive failed requests */
	double open_until;          /* breaker: 0 closed, else open until then */
	int probing;                /* the probe request is out */
};

struct req {
	struct llm *l;
	struct req *next;
	char *system, *prompt;
	double temperature;
	int max_tokens;
	llm_done fn;
	void *ud;
	size_t pi;                  /* current provider */
	int attempt;                /* attempts at pv[pi] */
	int attempts;               /* attempts in all */
	int probe;                  /* the breaker probe of pv[pi] */
	int tried;                  /* some provider was tried */
	size_t last_pi;
	enum llm_error last;        /* why the last provider failed it */
	enum llm_error cur;         /* why the last attempt failed */
	double started, due;
	struct buf why;             /* what each failed provider said */
	char *lastmsg;              /* the last failed attempt's message */
	/* the attempt in flight */
	CURL *easy;
	char *body;
	struct buf in;
	int too_big;
	double ra_ms, ra_s;         /* retry-after-ms, retry-after; < 0: none */
	char errbuf[CURL_ERROR_SIZE];
	int run_rc;
	struct run_result run;
};

struct llm {
	struct provider *pv;
	size_t np;
	struct price *prices;
	size_t nprices;
	int max_in_flight, timeout_ms, max_attempts, backoff_base_ms, backoff_cap_ms;
	int breaker_open_ms;
	double max_cost;

	pthread_mutex_t mu;
	pthread_cond_t idle;        /* pending reached 0 */
	pthread_cond_t work;        /* a command job was queued, or stop */
	struct req *inq, *inq_tail; /* submitted */
	struct req *cmdq, *cmdq_tail;
	struct req *cmd_done;
	size_t pending;             /* submitted, callback not yet returned */
	int cancelled, stopping, workers_stop;
	double spent;

	pthread_t engine;
	pthread_t workers[LLM_MAX_WORKERS];
	int nworkers;
	CURLM *multi;

	/* engine thread only */
	struct req *ready, *ready_tail, *delayed;
	int active;
	CURL **easy_pool;
	size_t neasy, easy_cap;
	unsigned long long rng;
};

/* ---- libcurl, loaded on first use -------------------------------------- */

#define LLM_LIBCURL "libcurl.so.4"

/* Every libcurl function this module calls, as a member of cu typed from
 * curl.h's own declaration (typeof names no symbol, so nothing links). */
#define CURL_FUNCTIONS(X) \
	X(global_init) X(getdate) X(slist_append) X(slist_free_all) \
	X(easy_init) X(easy_reset) X(easy_setopt) X(easy_getinfo) X(easy_strerror) \
	X(easy_cleanup) X(multi_init) X(multi_setopt) X(multi_add_handle) \
	X(multi_remove_handle) X(multi_perform) X(multi_info_read) X(multi_poll) \
	X(multi_wakeup) X(multi_cleanup)

#define CURL_MEMBER(f) __typeof__(curl_##f) *f;
static struct {
	CURL_FUNCTIONS(CURL_MEMBER)
} cu;

#define CURL_SYMBOL(f) {"curl_" #f, &cu.f},
static const struct {
	const char *name;
	void *slot; /* the member of cu */
} curl_symbols[] = {CURL_FUNCTIONS(CURL_SYMBOL)};

_Static_assert(sizeof(cu.easy_init) == sizeof(void *), "dlsym returns functions as void *");

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static char curl_load_err[512]; /* empty once cu is ready */

/* curl_load: dlopen libcurl (or $DMBUILD_LIBCURL, the test hook), fill
 * cu, initialise it; on failure cu stays empty and curl_load_err says why. */
static void
curl_load(void)
{
	const char *name = getenv("DMBUILD_LIBCURL");
	const char *why;
	void *h, *sym;
	size_t i;
	CURLcode c;

	if (!name || !*name)
		name = LLM_LIBCURL;
	if (!(h = dlopen(name, RTLD_NOW | RTLD_LOCAL))) {
		why = dlerror();
		snprintf(curl_load_err, sizeof(curl_load_err),
			"cannot load %s: %s (install Debian's libcurl4)", name,
			why ? why : "dlopen failed");
		return;
	}
	for (i = 0; i < sizeof(curl_symbols) / sizeof(curl_symbols[0]); i++) {
		dlerror();
		if (!(sym = dlsym(h, curl_symbols[i].name))) {
			why = dlerror();
			snprintf(curl_load_err, sizeof(curl_load_err),
				"cannot load %s: %s (install Debian's libcurl4)", name,
				why ? why : curl_symbols[i].name);
			goto fail;
		}
		memcpy(curl_symbols[i].slot, &sym, sizeof(sym));
	}
	if ((c = cu.global_init(CURL_GLOBAL_DEFAULT)) != CURLE_OK) {
		snprintf(curl_load_err, sizeof(curl_load_err), "cannot initialise %s: %s", name,
			cu.easy_strerror(c));
		goto fail;
	}
	return;
fail:
	memset(&cu, 0, sizeof(cu));
	dlclose(h);
}


static void
wipe(char *s)
{
	volatile char *p = s;

	while (p && *p)
		*p++ = 0;
}

/* ---- messages ---------------------------------------------------------- */

const char *
llm_error_name(enum llm_error e)
{
	switch (e) {
	case LLM_OK:
		return "ok";
	case LLM_E_TRANSPORT:
		return "transport";
	case LLM_E_AUTH:
		return "auth";
	case LLM_E_QUOTA:
		return "quota";
	case LLM_E_BUDGET:
		return "budget";
	case LLM_E_BADREPLY:
		return "badreply";
	case LLM_E_NOKEY:
		return "nokey";
	}
	return "unknown";
}

static int
key_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		c == '-' || c == '_' || c == '.' || c == '*';
}

/* redact: a copy of s without the engine's keys or anything shaped like a
 * key; control characters become spaces. */
static char *
redact(const struct llm *l, const char *s)
{
	struct buf b = {0};
	size_t i, k;

	if (!s)
		return NULL;
	for (i = 0; s[i];) {
		int hit = 0;

		for (k = 0; l && k < l->np && !hit; k++) {
			const char *key = l->pv[k].key;
			size_t kl = key ? strlen(key) : 0;

			if (kl >= 4 && !strncmp(s + i, key, kl)) {
				buf_adds(&b, "[redacted]");
				i += kl;
				hit = 1;
			}
		}
		if (hit)
			continue;
		if (!strncmp(s + i, "sk-", 3) && (i == 0 || !key_char((unsigned char)s[i - 1]))) {
			size_t j = i + 3;

			while (key_char((unsigned char)s[j]))
				j++;
			if (j - i >= 8) {
				buf_adds(&b, "sk-[redacted]");
				i = j;
				continue;
			}
		}
		if (!strncasecmp(s + i, "bearer ", 7)) {
			size_t j = i + 7;

			while (key_char((unsigned char)s[j]))
				j++;
			if (j > i + 7) {
				buf_adds(&b, "Bearer [redacted]");
				i = j;
				continue;
			}
		}
		buf_addc(&b, (unsigned char)s[i] < 0x20 ? ' ' : s[i]);
		i++;
	}
	if (!b.data)
		buf_adds(&b, "");
	return buf_release(&b);
}

static int
contains_ci(const char *s, const char *needle)
{
	size_t n = strlen(needle);

	for (; s && *s; s++)
		if (!strncasecmp(s, needle, n))
			return 1;
	return 0;
}

/* ---- replies ----------------------------------------------------------- */

static const struct val *
get(const struct val *m, const char *key)
{
	return m && m->kind == VAL_MAP ? val_map_get(m, key, strlen(key)) : NULL;
}

static const char *
get_str(const struct val *m, const char *key)
{
	const struct val *v = get(m, key);

	return v && v->kind == VAL_STR ? v->s : NULL;
}

static unsigned long
get_count(const struct val *m, const char *key)
{
	const struct val *v = get(m, key);

	if (v && v->kind == VAL_INT && v->i > 0)
		return (unsigned long)v->i;
	if (v && v->kind == VAL_FLOAT && v->f > 0 && v->f < 1e18)
		return (unsigned long)v->f;
	return 0;
}

static int
retryable_status(long status)
{
	return status == 408 || status == 409 || status == 429 || status >= 500;
}

/* classify: an error reply's kind from its status and the provider's
 * error type, code and message. */
static enum llm_error
classify(long status, const char *type, const char *code, const char *msg)
{
	const char *quota[] = {"insufficient_quota", "billing_error", "billing_hard_limit_reached",
		"billing_not_active"};
	size_t i;

	for (i = 0; i < sizeof(quota) / sizeof(quota[0]); i++)
		if ((type && !strcmp(type, quota[i])) || (code && !strcmp(code, quota[i])))
			return LLM_E_QUOTA;
	if (status == 402 || contains_ci(msg, "credit balance") || contains_ci(msg, "spend limit") ||
		contains_ci(msg, "usage limit") || contains_ci(msg, "exceeded your current quota"))
		return LLM_E_QUOTA;
	if (status == 401 || status == 403 ||
		(type && (!strcmp(type, "authentication_error") || !strcmp(type, "permission_error"))) ||
		(code && !strcmp(code, "invalid_api_key")))
		return LLM_E_AUTH;
	return LLM_E_TRANSPORT;
}

static const char *
error_words(enum llm_error e, long status, const char *type)
{
	if (e == LLM_E_QUOTA)
		return "insufficient quota or spend limit reached; not retried";
	if (e == LLM_E_AUTH)
		return "authentication refused; not retried";
	if (status == 429 || (type && !strcmp(type, "rate_limit_error")))
		return "rate limited";
	if (status == 529 || (type && !strcmp(type, "overloaded_error")))
		return "overloaded";
	if (status >= 500)
		return "server error";
	if (status == 408)
		return "request timeout";
	if (status >= 400)
		return "request rejected";
	return "error reply";
}

/* error_reply: fill r for an error reply; *retry says whether another
 * attempt may help. */
static void
error_reply(long status, const char *type, const char *code, const char *msg,
	struct llm_response *r, int *retry)
{
	struct buf b = {0};
	enum llm_error e = classify(status, type, code, msg);

	r->error = e;
	buf_printf(&b, "%s (HTTP %ld", error_words(e, status, type), status);
	if (type)
		buf_printf(&b, ", %.60s", type);
	if (code && (!type || strcmp(code, type)))
		buf_printf(&b, ", %.60s", code);
	buf_adds(&b, ")");
	if (msg && *msg)
		buf_printf(&b, ": %.*s%s", LLM_MSG_MAX, msg, strlen(msg) > LLM_MSG_MAX ? "..." : "");
	r->message = buf_release(&b);
	if (retry)
		*retry = e == LLM_E_TRANSPORT &&
			(retryable_status(status) ||
				(type && (!strcmp(type, "rate_limit_error") ||
					 !strcmp(type, "overloaded_error") || !strcmp(type, "api_error"))));
}

static void
reset_reply(struct llm_response *r)
{
	r->error = LLM_OK;
	r->text = r->message = NULL;
	r->tokens_in = r->tokens_out = r->cache_read = r->cache_write = 0;
}

/* not_json: a reply that cannot be read at all. */
static int
not_json(long status, size_t len, const char *what, struct llm_response *r, int *retry)
{
	if (status >= 200 && status < 300) {
		r->error = LLM_E_BADREPLY;
		r->message = xasprintf("unreadable reply (HTTP %ld, %zu bytes): %s", status, len, what);
		if (retry)
			*retry = 1;
	} else {
		error_reply(status, NULL, NULL, NULL, r, retry);
		free(r->message);
		r->message = xasprintf("%s (HTTP %ld; %s)",
			error_words(r->error, status, NULL), status, what);
	}
	return -1;
}

/* reply_object: the common start of both parsers: reset r, parse body; 1
 * with *v the reply when it is a JSON object, else 0 with what not_json
 * makes of it in *rc. */
static int
reply_object(const char *body, size_t len, long status, struct llm_response *r, int *retry,
	struct val **v, int *rc)
{
	struct diag d = {0};
	int parsed;

	reset_reply(r);
	if (retry)
		*retry = 0;
	*v = NULL;
	parsed = json_parse("reply", body ? body : "", body ? len : 0, v, &d) == 0 && *v;
	diag_free(&d);
	if (parsed && (*v)->kind == VAL_MAP)
		return 1;
	*rc = not_json(status, len, parsed ? "not a JSON object" : "not valid JSON", r, retry);
	val_free(*v);
	*v = NULL;
	return 0;
}

static int
parse_anthropic(const char *body, size_t len, long status, struct llm_response *r, int *retry)
{
	struct val *v = NULL;
	const struct val *err, *content, *usage;
	struct buf text = {0};
	int rc = -1;
	size_t i;

	if (!reply_object(body, len, status, r, retry, &v, &rc))
		return rc;
	err = get(v, "error");
	if (status >= 300 || status < 200 || err) {
		const char *type = get_str(err, "type"), *msg = get_str(err, "message");

		if (!msg && err && err->kind == VAL_STR)
			msg = err->s;
		error_reply(status, type, NULL, msg, r, retry);
		if (retry && status >= 200 && status < 300 && !type)
			*retry = 1;
		rc = err ? 0 : -1;
		goto out;
	}
	content = get(v, "content");
	if (!content || content->kind != VAL_LIST) {
		rc = not_json(status, len, "no content list", r, retry);
		goto out;
	}
	for (i = 0; i < content->n; i++) {
		const struct val *blk = content->items[i];
		const char *type = get_str(blk, "type");
		const struct val *t = get(blk, "text");

		if (type && !strcmp(type, "text") && t && t->kind == VAL_STR)
			buf_add(&text, t->s, t->slen);
	}
	usage = get(v, "usage");
	r->tokens_in = get_count(usage, "input_tokens");
	r->tokens_out = get_count(usage, "output_tokens");
	r->cache_write = get_count(usage, "cache_creation_input_tokens");
	r->cache_read = get_count(usage, "cache_read_input_tokens");
	rc = 0;
	if (!text.len) {
		const char *stop = get_str(v, "stop_reason");

		r->error = LLM_E_BADREPLY;
		r->message = xasprintf("empty answer (stop_reason %.40s)", stop ? stop : "none");
		goto out;
	}
	if (memchr(text.data, 0, text.len)) {
		r->error = LLM_E_BADREPLY;
		r->message = xstrdup("the answer holds a NUL byte");
		goto out;
	}
	r->text = buf_release(&text);
out:
	buf_free(&text);
	val_free(v);
	return rc;
}

static int
parse_openai(const char *body, size_t len, long status, struct llm_response *r, int *retry)
{
	struct val *v = NULL;
	const struct val *err, *choices, *msg, *content, *usage;
	int rc = -1;

	if (!reply_object(body, len, status, r, retry, &v, &rc))
		return rc;
	err = get(v, "error");
	if (!err && get_str(v, "object") && !strcmp(get_str(v, "object"), "error"))
		err = v; /* vLLM: {"object": "error", "message", "type", "code"} */
	if (status >= 300 || status < 200 || err) {
		const char *type = get_str(err, "type"), *m = get_str(err, "message");
		const char *code = get_str(err, "code");

		if (!m && err && err->kind == VAL_STR)
			m = err->s;
		error_reply(status, type, code, m, r, retry);
		if (retry && status >= 200 && status < 300 && r->error == LLM_E_TRANSPORT)
			*retry = 1;
		rc = err ? 0 : -1;
		goto out;
	}
	choices = get(v, "choices");
	if (!choices || choices->kind != VAL_LIST || !choices->n ||
		!(msg = get(choices->items[0], "message"))) {
		rc = not_json(status, len, "no choices[0].message", r, retry);
		goto out;
	}
	usage = get(v, "usage");
	r->tokens_in = get_count(usage, "prompt_tokens");
	r->tokens_out = get_count(usage, "completion_tokens");
	r->cache_read = get_count(get(usage, "prompt_tokens_details"), "cached_tokens");
	if (r->cache_read > r->tokens_in)
		r->cache_read = r->tokens_in;
	r->tokens_in -= r->cache_read;
	rc = 0;
	content = get(msg, "content");
	if (!content || content->kind != VAL_STR || !content->slen) {
		const char *refusal = get_str(msg, "refusal");

		r->error = LLM_E_BADREPLY;
		if (refusal)
			r->message = xasprintf("the model refused: %.*s", LLM_MSG_MAX, refusal);
		else
			r->message = xstrdup("empty answer");
		goto out;
	}
	if (memchr(content->s, 0, content->slen)) {
		r->error = LLM_E_BADREPLY;
		r->message = xstrdup("the answer holds a NUL byte");
		goto out;
	}
	r->text = xstrndup(content->s, content->slen);
out:
	val_free(v);
	return rc;
}

int
llm_parse_anthropic(const char *body, size_t len, long http_status, struct llm_response *r)
{
	return parse_anthropic(body, len, http_status, r, NULL);
}

int
llm_parse_openai(const char *body, size_t len, long http_status, struct llm_response *r)
{
	return parse_openai(body, len, http_status, r, NULL);
}

/* ---- pricing ----------------------------------------------------------- */

static const char *
a_kind(enum val_kind k)
{
	switch (k) {
	case VAL_NULL:
		return "null";
	case VAL_BOOL:
		return "a boolean";
	case VAL_INT:
		return "an integer";
	case VAL_FLOAT:
		return "a number";
	case VAL_STR:
		return "a string";
	case VAL_LIST:
		return "a list";
	case VAL_MAP:
		return "a map";
	}
	return "something else";
}

static int
price_field(const struct val *entry, const char *name, double *out, const char *file,
	const char *model, struct diag *d)
{
	const struct val *v = get(entry, name);

	if (!v) {
		diag_add(d, file, entry->pos.line, entry->pos.col,
			"model %s: expected %s (USD per million tokens), found nothing", model, name);
		return -1;
	}
	if (v->kind != VAL_INT && v->kind != VAL_FLOAT) {
		diag_add(d, file, v->pos.line, v->pos.col,
			"model %s: expected a number of USD per million tokens for %s, found %s", model,
			name, a_kind(v->kind));
		return -1;
	}
	*out = v->kind == VAL_INT ? (double)v->i : v->f;
	if (!(*out >= 0) || isinf(*out)) {
		diag_add(d, file, v->pos.line, v->pos.col,
			"model %s: expected a price >= 0 for %s, found %s", model, name,
			v->kind == VAL_INT ? "a negative number" : "a negative or non-finite number");
		return -1;
	}
	return 0;
}

static int
pricing_load(struct llm *l, const char *path, struct diag *d)
{
	static const char *fields[] = {"input", "output", "cache_read", "cache_write"};
	char *text = NULL;
	size_t len, i, j, nerr = d->nerrors;
	struct val *root = NULL;
	const struct val *models;
	int rc;

	rc = file_read(path, &text, &len);
	if (rc) {
		diag_add(d, path, 0, 0, "cannot read the pricing file: %s",
			rc == DM_ENOTFOUND ? "no such file" : strerror(errno));
		return rc == DM_ENOTFOUND ? DM_EINPUT : DM_EIO;
	}
	rc = spec_parse(path, text, len, &root, d);
	free(text);
	if (rc)
		return rc;
	if (root->kind != VAL_MAP) {
		diag_add(d, path, root->pos.line ? root->pos.line : 1, root->pos.col ? root->pos.col : 1,
			"expected a map with a models: key, found %s", a_kind(root->kind));
		goto out;
	}
	for (i = 0; i < root->n; i++)
		if (strcmp(root->keys[i], "models"))
			diag_add(d, path, root->items[i]->pos.line, root->items[i]->pos.col,
				"expected only the key models, found %s", root->keys[i]);
	models = get(root, "models");
	if (!models || models->kind != VAL_MAP) {
		diag_add(d, path, models ? models->pos.line : 1, models ? models->pos.col : 1,
			"expected models: a map from model names to prices, found %s",
			models ? a_kind(models->kind) : "nothing");
		goto out;
	}
	l->prices = xcalloc(models->n ? models->n : 1, sizeof(*l->prices));
	for (i = 0; i < models->n; i++) {
		const struct val *e = models->items[i];
		struct price *p = &l->prices[l->nprices];
		double *slot[4];

		if (e->kind != VAL_MAP) {
			diag_add(d, path, e->pos.line, e->pos.col,
				"model %s: expected a map {input, output, cache_read, cache_write}, found %s",
				models->keys[i], a_kind(e->kind));
			continue;
		}
		for (j = 0; j < e->n; j++) {
			size_t f;

			for (f = 0; f < 4 && strcmp(e->keys[j], fields[f]); f++)
				;
			if (f == 4)
				diag_add(d, path, e->items[j]->pos.line, e->items[j]->pos.col,
					"model %s: expected input, output, cache_read or cache_write, found %s",
					models->keys[i], e->keys[j]);
		}
		slot[0] = &p->in;
		slot[1] = &p->out;
		slot[2] = &p->cread;
		slot[3] = &p->cwrite;
		rc = 0;
		for (j = 0; j < 4; j++)
			if (price_field(e, fields[j], slot[j], path, models->keys[i], d) != 0)
				rc = -1;
		if (rc == 0) {
			p->model = xstrdup(models->keys[i]);
			l->nprices++;
		}
	}
out:
	val_free(root);
	return d->nerrors > nerr ? DM_EINPUT : 0;
}

/* price_find: the entry for model: its own name, else the longest name
 * that is a prefix of it followed by '-' (a dated snapshot such as
 * claude-sonnet-4-5-20250929), else "default", else NULL (free). */
static const struct price *
price_find(const struct llm *l, const char *model)
{
	const struct price *best = NULL, *dflt = NULL;
	size_t i, bestlen = 0;

	for (i = 0; i < l->nprices; i++) {
		const char *name = l->prices[i].model;
		size_t n = strlen(name);

		if (!strcmp(name, model))
			return &l->prices[i];
		if (!strcmp(name, "default"))
			dflt = &l->prices[i];
		else if (!strncmp(model, name, n) && model[n] == '-' && n > bestlen) {
			best = &l->prices[i];
			bestlen = n;
		}
	}
	return best ? best : dflt;
}

int
llm_price(const char *pricing, const char *model, double *in, double *out, struct diag *d)
{
	struct llm *l = xcalloc(1, sizeof(*l));
	const struct price *p;
	size_t i;
	int rc = pricing_load(l, pricing, d);

	*in = *out = 0;
	if (!rc && (p = price_find(l, model)) != NULL) {
		*in = p->in;
		*out = p->out;
	}
	for (i = 0; i < l->nprices; i++)
		free(l->prices[i].model);
	free(l->prices);
	free(l);
	return rc;
}

static double
cost_of(const struct price *p, const struct llm_response *r)
{
	if (!p)
		return 0;
	return ((double)r->tokens_in * p->in + (double)r->tokens_out * p->out +
		       (double)r->cache_read * p->cread + (double)r->cache_write * p->cwrite) /
		1e6;
}

/* ---- providers --------------------------------------------------------- */

static char *
env_nonempty(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? xstrdup(v) : NULL;
}

static char *
endpoint(const char *base, const char *dflt, const char *path)
{
	const char *b = base ? base : dflt;
	size_t n = strlen(b);

	while (n && b[n - 1] == '/')
		n--;
	return xasprintf("%.*s%s", (int)n, b, path);
}

static struct curl_slist *
add_header(struct curl_slist *h, const char *line)
{
	struct curl_slist *n = cu.slist_append(h, line);

	if (!n)
		fatal("out of memory");
	return n;
}

static int
provider_init(struct provider *p, const struct llm_target *t, struct diag *d)
{
	char *line;

	p->t = t;
	if (!t->provider || !t->model || !*t->model) {
		diag_add(d, NULL, 0, 0, "LLM provider %s: expected a model name, found none",
			t->provider ? t->provider : "(none)");
		return -1;
	}
	if (!strcmp(t->provider, "command")) {
		const char *why = NULL;

		p->kind = PK_COMMAND;
		p->argv = run_split(t->model, &why);
		if (!p->argv || !p->argv[0]) {
			diag_add(d, NULL, 0, 0, "LLM provider command: expected a command line, found %s%s",
				why ? "an error: " : "nothing", why ? why : "");
			return -1;
		}
		return 0;
	}
	if (!strcmp(t->provider, "anthropic")) {
		p->kind = PK_ANTHROPIC;
		p->key_env = "ANTHROPIC_API_KEY";
		p->url = endpoint(getenv("ANTHROPIC_BASE_URL"), "https://api.anthropic.com",
			"/v1/messages");
		p->key = env_nonempty("ANTHROPIC_API_KEY");
		p->hdrs = add_header(NULL, "content-type: application/json");
		p->hdrs = add_header(p->hdrs, "anthropic-version: 2023-06-01");
		if (p->key) {
			line = xasprintf("x-api-key: %s", p->key);
			p->hdrs = add_header(p->hdrs, line);
			wipe(line);
			free(line);
		}
	} else if (!strcmp(t->provider, "openai")) {
		const char *base = getenv("OPENAI_BASE_URL");

		p->kind = PK_OPENAI;
		p->key_env = "OPENAI_API_KEY";
		p->url = endpoint(base && *base ? base : NULL, "https://api.openai.com/v1",
			"/chat/completions");
		p->key = env_nonempty("OPENAI_API_KEY");
		p->hdrs = add_header(NULL, "content-type: application/json");
		if (p->key) {
			line = xasprintf("authorization: Bearer %s", p->key);
			p->hdrs = add_header(p->hdrs, line);
			wipe(line);
			free(line);
		} else if (base && *base) {
			p->key_env = NULL; /* a local server: no key needed */
		}
	} else {
		diag_add(d, NULL, 0, 0,
			"unknown LLM provider \"%s\": expected anthropic, openai or command", t->provider);
		return -1;
	}
	p->hdrs = add_header(p->hdrs, "accept: application/json");
	p->hdrs = add_header(p->hdrs, "expect:");
	if (!p->key && p->key_env) {
		p->dead = 1;
		p->dead_error = LLM_E_NOKEY;
		p->dead_msg = xasprintf("%s is not set (keys are read only from the environment)",
			p->key_env);
	}
	return 0;
}

static void
provider_free(struct provider *p)
{
	struct curl_slist *h;

	for (h = p->hdrs; h; h = h->next)
		wipe(h->data);
	cu.slist_free_all(p->hdrs);
	wipe(p->key);
	free(p->key);
	free(p->url);
	free(p->dead_msg);
	if (p->argv)
		run_argv_free(p->argv);
}

/* ---- requests ---------------------------------------------------------- */

static void
put_number(struct buf *b, double x)
{
	if (!isfinite(x))
		x = 0;
	buf_printf(b, "%.6g", x);
}

static char *
body_anthropic(const struct provider *p, const struct req *r)
{
	struct buf b = {0};

	buf_adds(&b, "{\"model\":");
	json_put_str(&b, p->t->model, strlen(p->t->model));
	buf_printf(&b, ",\"max_tokens\":%d,\"temperature\":", r->max_tokens);
	put_number(&b, r->temperature);
	if (*r->system) {
		buf_adds(&b, ",\"system\":[{\"type\":\"text\",\"text\":");
		json_put_str(&b, r->system, strlen(r->system));
		buf_adds(&b, ",\"cache_control\":{\"type\":\"ephemeral\"}}]");
	}
	buf_adds(&b, ",\"messages\":[{\"role\":\"user\",\"content\":");
	json_put_str(&b, r->prompt, strlen(r->prompt));
	buf_adds(&b, "}]}");
	return buf_release(&b);
}

static char *
body_openai(const struct provider *p, const struct req *r)
{
	struct buf b = {0};

	buf_adds(&b, "{\"model\":");
	json_put_str(&b, p->t->model, strlen(p->t->model));
	buf_adds(&b, ",\"messages\":[");
	if (*r->system) {
		buf_adds(&b, "{\"role\":\"system\",\"content\":");
		json_put_str(&b, r->system, strlen(r->system));
		buf_adds(&b, "},");
	}
	buf_adds(&b, "{\"role\":\"user\",\"content\":");
	json_put_str(&b, r->prompt, strlen(r->prompt));
	buf_adds(&b, "}],\"temperature\":");
	put_number(&b, r->temperature);
	buf_printf(&b, ",\"max_tokens\":%d}", r->max_tokens);
	return buf_release(&b);
}

static void
req_free(struct req *r)
{
	free(r->system);
	free(r->prompt);
	free(r->body);
	free(r->lastmsg);
	buf_free(&r->why);
	buf_free(&r->in);
	run_result_free(&r->run);
	free(r);
}

static void
push(struct req **head, struct req **tail, struct req *r)
{
	r->next = NULL;
	if (*tail)
		(*tail)->next = r;
	else
		*head = r;
	*tail = r;
}

/* finish: hand the response to the callback and forget the request. */
static void
finish(struct llm *l, struct req *r, struct llm_response *resp)
{
	char *m;

	if (r->probe && r->pi < l->np)
		l->pv[r->pi].probing = 0;
	if (r->tried) {
		resp->provider = l->pv[r->last_pi].t->provider;
		resp->model = l->pv[r->last_pi].t->model;
	}
	resp->attempts = r->attempts;
	resp->latency_ms = r->started > 0 ? clock_ms() - r->started : 0;
	m = redact(l, resp->message);
	free(resp->message);
	resp->message = m;
	if (r->fn)
		r->fn(r->ud, resp);
	else
		llm_response_free(resp);
	req_free(r);
	pthread_mutex_lock(&l->mu);
	if (--l->pending == 0)
		pthread_cond_broadcast(&l->idle);
	pthread_mutex_unlock(&l->mu);
}

static void
fail(struct llm *l, struct req *r, enum llm_error e, const char *what)
{
	struct llm_response *resp = xcalloc(1, sizeof(*resp));

	resp->error = e;
	if (what && r->why.len)
		resp->message = xasprintf("%s; %s", r->why.data, what);
	else
		resp->message = xstrdup(what ? what : r->why.data ? r->why.data : "no provider answered");
	finish(l, r, resp);
}

/* note: record why provider p did not answer r. */
static void
note(struct req *r, const struct provider *p, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
note(struct req *r, const struct provider *p, const char *fmt, ...)
{
	va_list ap;

	if (r->why.len)
		buf_adds(&r->why, "; ");
	if (p->kind == PK_COMMAND)
		buf_printf(&r->why, "command %s: ", p->argv[0]);
	else
		buf_printf(&r->why, "%s %s: ", p->t->provider, p->t->model);
	va_start(ap, fmt);
	buf_vprintf(&r->why, fmt, ap);
	va_end(ap);
}

static double
backoff_ms(struct llm *l, int attempt)
{
	double d = (double)l->backoff_base_ms;
	unsigned long long x;
	int i;

	for (i = 1; i < attempt && d < l->backoff_cap_ms; i++)
		d *= 2;
	if (d > l->backoff_cap_ms)
		d = l->backoff_cap_ms;
	/* xorshift64*: jitter in [d/2, d] */
	l->rng ^= l->rng >> 12;
	l->rng ^= l->rng << 25;
	l->rng ^= l->rng >> 27;
	x = l->rng * 2685821657736338717ULL;
	return d / 2 + d / 2 * (double)(x >> 11) / 9007199254740992.0;
}

static size_t
on_body(char *p, size_t size, size_t n, void *ud)
{
	struct req *r = ud;

	n *= size;
	if (r->in.len + n > LLM_MAX_REPLY) {
		r->too_big = 1;
		return 0;
	}
	buf_add(&r->in, p, n);
	return n;
}

static size_t
on_header(char *p, size_t size, size_t n, void *ud)
{
	struct req *r = ud;
	char v[80];
	size_t vl, off;
	double *slot;

	n *= size;
	if (n >= 5 && !strncmp(p, "HTTP/", 5)) {
		r->ra_ms = r->ra_s = -1;
		return n;
	}
	if (n > 15 && !strncasecmp(p, "retry-after-ms:", 15)) {
		off = 15;
		slot = &r->ra_ms;
	} else if (n > 12 && !strncasecmp(p, "retry-after:", 12)) {
		off = 12;
		slot = &r->ra_s;
	} else {
		return n;
	}
	while (off < n && (p[off] == ' ' || p[off] == '\t'))
		off++;
	vl = n - off;
	while (vl && (p[off + vl - 1] == '\r' || p[off + vl - 1] == '\n' || p[off + vl - 1] == ' '))
		vl--;
	if (!vl || vl >= sizeof(v))
		return n;
	memcpy(v, p + off, vl);
	v[vl] = 0;
	{
		char *end;
		double x = strtod(v, &end);

		if (end != v && !*end && x >= 0 && isfinite(x)) {
			*slot = slot == &r->ra_s ? x * 1000 : x;
		} else if (slot == &r->ra_s) {
			time_t t = cu.getdate(v, NULL);

			if (t != (time_t)-1)
				*slot = t > time(NULL) ? (double)(t - time(NULL)) * 1000 : 0;
		}
	}
	return n;
}

static curl_socket_t
open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
	curl_socket_t s = socket(a->family, a->socktype, a->protocol);

	(void)ud;
	(void)purpose;
	if (s != CURL_SOCKET_BAD)
		fcntl(s, F_SETFD, FD_CLOEXEC);
	return s;
}

static CURL *
easy_get(struct llm *l)
{
	if (l->neasy)
		return l->easy_pool[--l->neasy];
	return cu.easy_init();
}

static void
easy_put(struct llm *l, CURL *e)
{
	cu.easy_reset(e);
	if (l->neasy == l->easy_cap) {
		l->easy_cap = l->easy_cap ? 2 * l->easy_cap : 16;
		l->easy_pool = xreallocarray(l->easy_pool, l->easy_cap, sizeof(*l->easy_pool));
	}
	l->easy_pool[l->neasy++] = e;
}

static void attempt_failed(struct llm *l, struct req *r, enum llm_error e, int retry, char *msg);

static void
launch_http(struct llm *l, struct req *r, struct provider *p)
{
	CURL *e = easy_get(l);

	free(r->body);
	r->body = p->kind == PK_ANTHROPIC ? body_anthropic(p, r) : body_openai(p, r);
	buf_clear(&r->in);
	r->too_big = 0;
	r->ra_ms = r->ra_s = -1;
	r->errbuf[0] = 0;
	if (!e) {
		attempt_failed(l, r, LLM_E_TRANSPORT, 1, xstrdup("cannot create a curl handle"));
		return;
	}
	cu.easy_setopt(e, CURLOPT_URL, p->url);
	cu.easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	cu.easy_setopt(e, CURLOPT_HTTPHEADER, p->hdrs);
	cu.easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
	cu.easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(r->body));
	cu.easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	cu.easy_setopt(e, CURLOPT_WRITEDATA, r);
	cu.easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	cu.easy_setopt(e, CURLOPT_HEADERDATA, r);
	cu.easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	cu.easy_setopt(e, CURLOPT_PRIVATE, r);
	cu.easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	cu.easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	cu.easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)l->timeout_ms);
	cu.easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
		(long)(l->timeout_ms < 30000 ? l->timeout_ms : 30000));
	cu.easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	cu.easy_setopt(e, CURLOPT_USERAGENT, "dmbuild/" DM_VERSION);
	cu.easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	r->easy = e;
	if (cu.multi_add_handle(l->multi, e) != CURLM_OK) {
		r->easy = NULL;
		easy_put(l, e);
		attempt_failed(l, r, LLM_E_TRANSPORT, 1, xstrdup("cannot start a transfer"));
		return;
	}
	l->active++;
}

static void
launch_command(struct llm *l, struct req *r)
{
	run_result_free(&r->run);
	memset(&r->run, 0, sizeof(r->run));
	l->active++;
	pthread_mutex_lock(&l->mu);
	push(&l->cmdq, &l->cmdq_tail, r);
	pthread_cond_signal(&l->work);
	pthread_mutex_unlock(&l->mu);
}

/* leave: r is done with its current provider. */
static void
leave(struct req *r)
{
	r->pi++;
	r->attempt = 0;
	r->probe = 0;
}

/* start: the next attempt of r, at the first provider that may take it;
 * or r is done. */
static void
start(struct llm *l, struct req *r, int cancelled)
{
	double now = clock_ms();

	for (;;) {
		struct provider *p;

		if (l->max_cost > 0 && l->spent >= l->max_cost) {
			char what[160];

			snprintf(what, sizeof(what),
				"budget: $%.4f spent of the --max-cost $%.4f limit; no new request starts",
				l->spent, l->max_cost);
			fail(l, r, LLM_E_BUDGET, what);
			return;
		}
		if (cancelled) {
			fail(l, r, LLM_E_TRANSPORT, "cancelled before a provider answered");
			return;
		}
		if (r->pi >= l->np) {
			fail(l, r, r->tried ? r->last : LLM_E_TRANSPORT, NULL);
			return;
		}
		p = &l->pv[r->pi];
		if (p->dead) {
			note(r, p, "%s", p->dead_msg);
			r->last = p->dead_error;
			r->last_pi = r->pi;
			r->tried = 1;
			leave(r);
			continue;
		}
		if (!r->probe && p->open_until > 0) {
			if (now < p->open_until || p->probing) {
				if (r->attempt)
					note(r, p, "%s; then the circuit breaker opened (%d attempts)",
						r->lastmsg ? r->lastmsg : "failed", r->attempt);
				else
					note(r, p, "circuit breaker open (%d consecutive failures), skipped",
						p->fails);
				if (!r->tried || r->attempt) {
					r->last = LLM_E_TRANSPORT;
					r->last_pi = r->pi;
					r->tried = 1;
				}
				leave(r);
				continue;
			}
			p->probing = 1;
			r->probe = 1;
		}
		if (!r->started)
			r->started = now;
		r->attempt++;
		r->attempts++;
		r->tried = 1;
		r->last_pi = r->pi;
		if (p->kind == PK_COMMAND)
			launch_command(l, r);
		else
			launch_http(l, r, p);
		return;
	}
}

static void
requeue(struct llm *l, struct req *r)
{
	push(&l->ready, &l->ready_tail, r);
}

/* provider_failed: r's current provider has failed it for good. */
static void
provider_failed(struct llm *l, struct req *r, enum llm_error e, const char *msg)
{
	struct provider *p = &l->pv[r->pi];
	double now = clock_ms();

	if (e == LLM_E_AUTH)
		note(r, p, "%s; check %s", msg, p->key_env ? p->key_env : "the server's settings");
	else if (r->attempt > 1)
		note(r, p, "%s (%d attempts)", msg, r->attempt);
	else
		note(r, p, "%s", msg);
	r->last = e;
	if ((e == LLM_E_AUTH || e == LLM_E_QUOTA) && !p->dead) {
		p->dead = 1;
		p->dead_error = e;
		p->dead_msg = xasprintf("%s (an earlier request)", msg);
	}
	p->fails++;
	if (r->probe) {
		p->probing = 0;
		p->open_until = now + l->breaker_open_ms;
	} else if (p->fails >= LLM_BREAKER_FAILS && p->open_until == 0) {
		p->open_until = now + l->breaker_open_ms;
	}
	leave(r);
	requeue(l, r);
}

/* attempt_failed: an attempt failed with e and msg (taken). */
static void
attempt_failed(struct llm *l, struct req *r, enum llm_error e, int retry, char *msg)
{
	free(r->lastmsg);
	r->lastmsg = msg;
	r->cur = e;
	if (retry && r->attempt < l->max_attempts) {
		double delay = r->ra_ms >= 0 ? r->ra_ms : r->ra_s >= 0 ? r->ra_s : -1;

		if (delay < 0)
			delay = backoff_ms(l, r->attempt);
		else if (delay > LLM_RETRY_AFTER_MAX_MS)
			delay = LLM_RETRY_AFTER_MAX_MS;
		r->due = clock_ms() + delay;
		r->next = l->delayed;
		l->delayed = r;
		return;
	}
	provider_failed(l, r, e, msg);
}

static void
succeeded(struct llm *l, struct req *r, struct llm_response *resp)
{
	struct provider *p = &l->pv[r->pi];

	resp->cost_usd = cost_of(p->price, resp);
	pthread_mutex_lock(&l->mu);
	l->spent += resp->cost_usd;
	pthread_mutex_unlock(&l->mu);
	p->fails = 0;
	p->open_until = 0;
	if (r->probe) {
		p->probing = 0;
		r->probe = 0;
	}
	if (r->why.len)
		resp->message = xasprintf("answered by %s after: %s", p->t->provider, r->why.data);
	finish(l, r, resp);
}

static int
curl_retryable(CURLcode c)
{
	switch (c) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_NOT_BUILT_IN:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_BAD_FUNCTION_ARGUMENT:
	case CURLE_WRITE_ERROR:
	case CURLE_FILESIZE_EXCEEDED:
	case CURLE_OUT_OF_MEMORY:
		return 0;
	default:
		return 1;
	}
}

static void
http_done(struct llm *l, struct req *r, CURLcode cc)
{
	struct provider *p = &l->pv[r->pi];
	struct llm_response *resp;
	long status = 0;
	int retry = 0;

	cu.easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	cu.multi_remove_handle(l->multi, r->easy);
	easy_put(l, r->easy);
	r->easy = NULL;
	l->active--;
	if (cc != CURLE_OK) {
		char *msg;

		if (r->too_big)
			msg = xasprintf("the reply is larger than %u MiB", LLM_MAX_REPLY >> 20);
		else
			msg = xasprintf("%s", r->errbuf[0] ? r->errbuf : cu.easy_strerror(cc));
		attempt_failed(l, r, LLM_E_TRANSPORT, !r->too_big && curl_retryable(cc), msg);
		return;
	}
	resp = xcalloc(1, sizeof(*resp));
	if (p->kind == PK_ANTHROPIC)
		parse_anthropic(r->in.data, r->in.len, status, resp, &retry);
	else
		parse_openai(r->in.data, r->in.len, status, resp, &retry);
	if (resp->error == LLM_OK) {
		succeeded(l, r, resp);
		return;
	}
	{
		enum llm_error e = resp->error;
		char *msg = resp->message;

		resp->message = NULL;
		llm_response_free(resp);
		attempt_failed(l, r, e, retry, msg);
	}
}

static char *
first_line(const struct buf *b)
{
	size_t n = 0;

	if (!b->data)
		return xstrdup("");
	while (n < b->len && n < LLM_MSG_MAX && b->data[n] != '\n')
		n++;
	return xstrndup(b->data, n);
}

static void
command_done(struct llm *l, struct req *r)
{
	struct run_result *res = &r->run;
	struct llm_response *resp;
	char *err;

	l->active--;
	if (r->run_rc != 0) {
		attempt_failed(l, r, LLM_E_TRANSPORT, 1, xstrdup("cannot start the command"));
		return;
	}
	err = first_line(&res->err);
	if (res->exec_failed) {
		attempt_failed(l, r, LLM_E_TRANSPORT, 0, xasprintf("cannot run it: %s", err));
	} else if (res->timed_out) {
		attempt_failed(l, r, LLM_E_TRANSPORT, 1,
			xasprintf("killed after the %d ms time limit", l->timeout_ms));
	} else if (res->status == 75) {
		attempt_failed(l, r, LLM_E_TRANSPORT, 1,
			xasprintf("exit status 75 (temporary failure)%s%s", *err ? ": " : "", err));
	} else if (res->status != 0) {
		attempt_failed(l, r, LLM_E_TRANSPORT, 0,
			xasprintf("exit status %d%s%s", res->status, *err ? ": " : "", err));
	} else if (!res->out.len) {
		attempt_failed(l, r, LLM_E_BADREPLY, 0, xstrdup("no output (empty answer)"));
	} else if (memchr(res->out.data, 0, res->out.len)) {
		attempt_failed(l, r, LLM_E_BADREPLY, 0, xstrdup("the output holds a NUL byte"));
	} else {
		resp = xcalloc(1, sizeof(*resp));
		resp->text = buf_release(&res->out);
		free(err);
		succeeded(l, r, resp);
		return;
	}
	free(err);
}

static void *
worker_main(void *arg)
{
	struct llm *l = arg;

	for (;;) {
		struct req *r;
		struct buf in = {0};

		pthread_mutex_lock(&l->mu);
		while (!l->cmdq && !l->workers_stop)
			pthread_cond_wait(&l->work, &l->mu);
		r = l->cmdq;
		if (!r) {
			pthread_mutex_unlock(&l->mu);
			return NULL;
		}
		l->cmdq = r->next;
		if (!l->cmdq)
			l->cmdq_tail = NULL;
		pthread_mutex_unlock(&l->mu);

		if (*r->system) {
			buf_adds(&in, r->system);
			buf_adds(&in, "\n\n");
		}
		buf_adds(&in, r->prompt);
		r->run_rc = run_argv(l->pv[r->pi].argv, NULL, in.data, in.len, l->timeout_ms,
			LLM_MAX_CMD_OUT, &r->run);
		buf_free(&in);

		pthread_mutex_lock(&l->mu);
		r->next = l->cmd_done;
		l->cmd_done = r;
		pthread_mutex_unlock(&l->mu);
		cu.multi_wakeup(l->multi);
	}
}

/* ---- the engine -------------------------------------------------------- */

static void
reverse(struct req **list)
{
	struct req *r = *list, *out = NULL, *next;

	for (; r; r = next) {
		next = r->next;
		r->next = out;
		out = r;
	}
	*list = out;
}

static void *
engine_main(void *arg)
{
	struct llm *l = arg;

	for (;;) {
		struct req *in, *done, *r, **pp;
		int cancelled, stopping, running, left;
		double now, wait = 1000;
		CURLMsg *m;
		char *priv;

		pthread_mutex_lock(&l->mu);
		in = l->inq;
		l->inq = l->inq_tail = NULL;
		done = l->cmd_done;
		l->cmd_done = NULL;
		cancelled = l->cancelled;
		stopping = l->stopping;
		pthread_mutex_unlock(&l->mu);

		for (; in; in = r) {
			r = in->next;
			requeue(l, in);
		}
		reverse(&done);
		for (; done; done = r) {
			r = done->next;
			command_done(l, done);
		}
		if (cancelled) {
			while ((r = l->delayed)) {
				l->delayed = r->next;
				if (r->probe)
					l->pv[r->pi].probing = 0;
				r->probe = 0;
				note(r, &l->pv[r->pi], "%s; cancelled while waiting to retry",
					r->lastmsg ? r->lastmsg : "failed");
				fail(l, r, r->cur ? r->cur : LLM_E_TRANSPORT, NULL);
			}
		}
		now = clock_ms();
		for (pp = &l->delayed; (r = *pp);) {
			if (r->due <= now) {
				*pp = r->next;
				requeue(l, r);
			} else {
				pp = &r->next;
			}
		}
		while (l->ready && (l->active < l->max_in_flight || cancelled)) {
			r = l->ready;
			l->ready = r->next;
			if (!l->ready)
				l->ready_tail = NULL;
			start(l, r, cancelled);
		}
		if (stopping && !l->active && !l->ready && !l->delayed) {
			int empty;

			pthread_mutex_lock(&l->mu);
			empty = !l->inq && !l->cmd_done;
			pthread_mutex_unlock(&l->mu);
			if (empty)
				break;
			continue;
		}
		cu.multi_perform(l->multi, &running);
		while ((m = cu.multi_info_read(l->multi, &left))) {
			if (m->msg != CURLMSG_DONE)
				continue;
			priv = NULL;
			cu.easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
			http_done(l, (struct req *)(void *)priv, m->data.result);
		}
		/* completions above may have delayed or requeued requests */
		now = clock_ms();
		for (r = l->delayed; r; r = r->next)
			if (r->due - now < wait)
				wait = r->due - now;
		if (l->ready && l->active < l->max_in_flight)
			wait = 0;
		cu.multi_poll(l->multi, NULL, 0, wait < 0 ? 0 : (int)wait, NULL);
	}
	return NULL;
}

/* ---- the interface ----------------------------------------------------- */

int
llm_new(const struct llm_opts *o, struct llm **out, struct diag *d)
{
	struct llm *l;
	size_t i;
	int ncmd = 0, rc = DM_EINPUT;

	*out = NULL;
	pthread_once(&curl_once, curl_load);
	if (curl_load_err[0]) {
		diag_add(d, NULL, 0, 0, "%s", curl_load_err);
		return DM_EIO;
	}
	if (!o || !o->chain || !o->nchain) {
		diag_add(d, NULL, 0, 0, "expected at least one LLM provider, found none");
		return DM_EINPUT;
	}
	l = xcalloc(1, sizeof(*l));
	l->max_in_flight = o->max_in_flight > 0 ? o->max_in_flight : 32;
	l->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 120000;
	l->max_attempts = o->max_attempts > 0 ? o->max_attempts : 5;
	l->backoff_base_ms = o->backoff_base_ms > 0 ? o->backoff_base_ms : 500;
	l->backoff_cap_ms = o->backoff_cap_ms > 0 ? o->backoff_cap_ms : 30000;
	if (l->backoff_cap_ms < l->backoff_base_ms)
		l->backoff_cap_ms = l->backoff_base_ms;
	l->breaker_open_ms = o->breaker_open_ms > 0 ? o->breaker_open_ms : 30000;
	l->max_cost = o->max_cost_usd > 0 ? o->max_cost_usd : 0;
	l->rng = ((unsigned long long)time(NULL) << 20) ^ (unsigned long long)getpid() ^
		(unsigned long long)(size_t)l;
	if (!l->rng)
		l->rng = 88172645463325252ULL;
	l->np = o->nchain;
	l->pv = xcalloc(l->np, sizeof(*l->pv));
	for (i = 0; i < l->np; i++) {
		if (provider_init(&l->pv[i], &o->chain[i], d) != 0)
			goto fail;
		ncmd += l->pv[i].kind == PK_COMMAND;
	}
	if (o->pricing && (rc = pricing_load(l, o->pricing, d)) != 0)
		goto fail;
	for (i = 0; i < l->np; i++)
		if (l->pv[i].kind != PK_COMMAND)
			l->pv[i].price = price_find(l, l->pv[i].t->model);
	rc = DM_EIO;
	if (!(l->multi = cu.multi_init())) {
		diag_add(d, NULL, 0, 0, "cannot create a curl multi handle");
		goto fail;
	}
	cu.multi_setopt(l->multi, CURLMOPT_MAXCONNECTS, (long)l->max_in_flight);
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->idle, NULL);
	pthread_cond_init(&l->work, NULL);
	if (pthread_create(&l->engine, NULL, engine_main, l) != 0) {
		diag_add(d, NULL, 0, 0, "cannot start the LLM engine thread: %s", strerror(errno));
		pthread_mutex_destroy(&l->mu);
		pthread_cond_destroy(&l->idle);
		pthread_cond_destroy(&l->work);
		goto fail;
	}
	if (ncmd) {
		int want = l->max_in_flight < LLM_MAX_WORKERS ? l->max_in_flight : LLM_MAX_WORKERS;

		while (l->nworkers < want &&
			pthread_create(&l->workers[l->nworkers], NULL, worker_main, l) == 0)
			l->nworkers++;
		if (!l->nworkers) {
			diag_add(d, NULL, 0, 0, "cannot start a thread for the command provider");
			l->nworkers = 0;
			llm_free(l);
			return DM_EIO;
		}
	}
	*out = l;
	return 0;
fail:
	for (i = 0; i < l->np; i++)
		provider_free(&l->pv[i]);
	for (i = 0; i < l->nprices; i++)
		free(l->prices[i].model);
	free(l->prices);
	free(l->pv);
	if (l->multi)
		cu.multi_cleanup(l->multi);
	free(l);
	return rc;
}

int
llm_submit(struct llm *l, const struct llm_request *rq, llm_done fn, void *ud)
{
	struct req *r = xcalloc(1, sizeof(*r));

	r->l = l;
	r->system = xstrdup(rq->system ? rq->system : "");
	r->prompt = xstrdup(rq->prompt ? rq->prompt : "");
	r->temperature = rq->temperature;
	r->max_tokens = rq->max_tokens > 0 ? rq->max_tokens : 4096;
	r->fn = fn;
	r->ud = ud;
	r->ra_ms = r->ra_s = -1;
	pthread_mutex_lock(&l->mu);
	push(&l->inq, &l->inq_tail, r);
	l->pending++;
	pthread_mutex_unlock(&l->mu);
	cu.multi_wakeup(l->multi);
	return 0;
}

void
llm_drain(struct llm *l)
{
	if (pthread_equal(pthread_self(), l->engine))
		return;
	pthread_mutex_lock(&l->mu);
	while (l->pending)
		pthread_cond_wait(&l->idle, &l->mu);
	pthread_mutex_unlock(&l->mu);
}

void
llm_cancel(struct llm *l)
{
	pthread_mutex_lock(&l->mu);
	l->cancelled = 1;
	pthread_mutex_unlock(&l->mu);
	cu.multi_wakeup(l->multi);
}

double
llm_spent(struct llm *l)
{
	double s;

	pthread_mutex_lock(&l->mu);
	s = l->spent;
	pthread_mutex_unlock(&l->mu);
	return s;
}

void
llm_free(struct llm *l)
{
	size_t i;
	int w;

	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	l->cancelled = 1;
	l->stopping = 1;
	pthread_mutex_unlock(&l->mu);
	cu.multi_wakeup(l->multi);
	pthread_join(l->engine, NULL);
	pthread_mutex_lock(&l->mu);
	l->workers_stop = 1;
	pthread_cond_broadcast(&l->work);
	pthread_mutex_unlock(&l->mu);
	for (w = 0; w < l->nworkers; w++)
		pthread_join(l->workers[w], NULL);
	for (i = 0; i < l->neasy; i++)
		cu.easy_cleanup(l->easy_pool[i]);
	free(l->easy_pool);
	cu.multi_cleanup(l->multi);
	for (i = 0; i < l->np; i++)
		provider_free(&l->pv[i]);
	free(l->pv);
	for (i = 0; i < l->nprices; i++)
		free(l->prices[i].model);
	free(l->prices);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->idle);
	pthread_cond_destroy(&l->work);
	free(l);
}

void
llm_response_free(struct llm_response *r)
{
	if (!r)
		return;
	free(r->text);
	free(r->message);
	free(r);
}
