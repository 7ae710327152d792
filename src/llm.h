/* llm.h - the LLM transport (SPEC §7): requests to a chain of providers
 * over libcurl's multi interface (the only module that includes curl.h),
 * on one engine thread.
 *
 * Providers: "anthropic" (POST $ANTHROPIC_BASE_URL/v1/messages, default
 * base https://api.anthropic.com, x-api-key: $ANTHROPIC_API_KEY,
 * anthropic-version: 2023-06-01, the shared context as a system block with
 * cache_control ephemeral), "openai" (POST $OPENAI_BASE_URL/chat/completions,
 * default base https://api.openai.com/v1, Authorization: Bearer
 * $OPENAI_API_KEY; vLLM, llama.cpp server and Ollama through the base URL)
 * and "command" (a program run without a shell, the prompt on standard
 * input, the answer on standard output, with a time limit).  Keys come
 * only from the environment and are never written anywhere, logs included.
 *
 * Each request tries the chain in order.  Per provider: transport retries
 * on 408, 409, 429, 5xx, 529 and connection errors with capped exponential
 * backoff and jitter, honouring retry-after / retry-after-ms up to 60 s;
 * never on authentication, insufficient_quota or spend-limit errors, which
 * fail fast with a message saying which.  A circuit breaker per provider:
 * 3 consecutive failed requests open it for 30 s, then one probe request
 * decides; while it is open requests go to the next provider.  Once the
 * money spent reaches max_cost_usd no new request starts (those fail with
 * LLM_E_BUDGET).  Responses carry the usage each provider reports and the
 * cost from the pricing table.
 */
#ifndef DM_LLM_H
#define DM_LLM_H

#include <stddef.h>

#include "util.h"

struct llm; /* an engine */

struct llm_target {
	const char *provider; /* "anthropic", "openai", "command" */
	const char *model;    /* the model name, or for "command" the command line */
};

struct llm_opts {
	const struct llm_target *chain; /* fallback order */
	size_t nchain;
	int max_in_flight;         /* concurrent requests (--llm-jobs), default 32 */
	double max_cost_usd;       /* 0: no limit (--max-cost) */
	const char *pricing;       /* path of rules/pricing.yaml, or NULL */
	int timeout_ms;            /* per attempt (default 120 s) */
	int max_attempts;          /* transport attempts per provider (default 5) */
	int backoff_base_ms;       /* first backoff (default 500) */
	int backoff_cap_ms;        /* longest backoff (default 30 s) */
	int breaker_open_ms;       /* default 30 s */
};

struct llm_request {
	const char *system;  /* shared context: the same for sibling slots */
	const char *prompt;  /* this slot's message */
	double temperature;
	int max_tokens;
};

enum llm_error {
	LLM_OK = 0,
	LLM_E_TRANSPORT = 1, /* retries exhausted on every provider */
	LLM_E_AUTH = 2,      /* authentication refused */
	LLM_E_QUOTA = 3,     /* insufficient_quota / spend limit */
	LLM_E_BUDGET = 4,    /* --max-cost reached before the request */
	LLM_E_BADREPLY = 5,  /* unparsable or empty answer */
	LLM_E_NOKEY = 6      /* the provider's API key is not set */
};

struct llm_response {
	enum llm_error error;
	char *text;          /* the answer (error == LLM_OK) */
	char *message;       /* what went wrong, for users (never holds a key) */
	const char *provider, *model; /* who answered (point into the chain) */
	unsigned long tokens_in, tokens_out, cache_read, cache_write;
	double cost_usd;
	double latency_ms;
	int attempts;        /* transport attempts, all providers */
};

/* llm_done: called once per request on the engine thread; the response
 * is the callee's (free with llm_response_free). */
typedef void (*llm_done)(void *ud, struct llm_response *r);

/* llm_new: an engine; errors (unknown provider, bad pricing file) in d. */
int llm_new(const struct llm_opts *o, struct llm **out, struct diag *d);
/* llm_submit: queue a request (thread-safe); fn runs when it is done. */
int llm_submit(struct llm *l, const struct llm_request *rq, llm_done fn, void *ud);
/* llm_drain: wait until every submitted request is done. */
void llm_drain(struct llm *l);
/* llm_cancel: stop starting requests; in-flight ones finish. */
void llm_cancel(struct llm *l);
/* llm_spent: dollars spent so far. */
double llm_spent(struct llm *l);
void llm_free(struct llm *l);
void llm_response_free(struct llm_response *r);
/* llm_price: the USD per million input and output tokens of model in the
 * pricing file (0 when it names no price); 0, or an error in d. */
int llm_price(const char *pricing, const char *model, double *in, double *out, struct diag *d);
/* llm_error_name: a short static name for e ("quota", "transport", ...). */
const char *llm_error_name(enum llm_error e);

/* llm_parse_anthropic / llm_parse_openai: a provider's response body into
 * r (text, usage, or error and message); 0, or -1 if it is not a valid
 * response.  Exposed for tests and fuzzing. */
int llm_parse_anthropic(const char *body, size_t len, long http_status, struct llm_response *r);
int llm_parse_openai(const char *body, size_t len, long http_status, struct llm_response *r);

#endif
