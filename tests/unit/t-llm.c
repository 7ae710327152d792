/* t-llm: the LLM transport against tests/stub/llm_stub.py, a loopback
 * server speaking the Anthropic and OpenAI wire formats (started per test
 * with its own script; every request it received is read back from its
 * log).  Skipped when python3 is missing. */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "llm.h"
#include "tap.h"
#include "value.h"

#define AKEY "sk-ant-api03-PLANTEDanthropicSECRET0123456789"
#define OKEY "sk-proj-PLANTEDopenaiSECRET9876543210"

static char stub_path[4096];
static char rules_pricing[4200];

/* ---- the stub ---------------------------------------------------------- */

struct stub {
	pid_t pid;
	int port;
	char dir[64];
	char log[128];
	char base[64]; /* http://127.0.0.1:PORT */
};

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		printf("Bail out! cannot write %s\n", path);
		exit(1);
	}
}

/* stub_start: a stub running script (JSON text); bails out if it does
 * not come up. */
static void
stub_start(struct stub *s, const char *script)
{
	char spath[128], ppath[128];
	double t0;

	memset(s, 0, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "/tmp/t-llm.XXXXXX");
	if (!mkdtemp(s->dir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		exit(1);
	}
	snprintf(spath, sizeof(spath), "%s/script.json", s->dir);
	snprintf(ppath, sizeof(ppath), "%s/port", s->dir);
	snprintf(s->log, sizeof(s->log), "%s/log.jsonl", s->dir);
	write_file(spath, script);
	fflush(stdout);
	s->pid = fork();
	if (s->pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		dup2(devnull, 1);
		execlp("python3", "python3", "-S", stub_path, "--script", spath, "--log", s->log,
			"--port-file", ppath, "--max-seconds", "300", (char *)NULL);
		_exit(127);
	}
	for (t0 = now_ms(); now_ms() - t0 < 15000;) {
		FILE *f = fopen(ppath, "r");

		if (f) {
			if (fscanf(f, "%d", &s->port) != 1)
				s->port = 0;
			fclose(f);
			if (s->port > 0)
				break;
		}
		if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
			printf("Bail out! the stub exited at start\n");
			exit(1);
		}
		sleep_ms(10);
	}
	if (s->port <= 0) {
		printf("Bail out! the stub did not start\n");
		exit(1);
	}
	snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%d", s->port);
	unlink(ppath);
	unlink(spath);
}

static void
stub_stop(struct stub *s)
{
	int st = 0;

	kill(s->pid, SIGTERM);
	waitpid(s->pid, &st, 0);
	unlink(s->log);
	rmdir(s->dir);
}

/* stub_log: every logged request, as a list of maps. */
static struct val *
stub_log(const struct stub *s)
{
	struct val *list = val_new(VAL_LIST);
	char *text = NULL, *line, *nl;
	size_t len;

	if (file_read(s->log, &text, &len) != 0)
		return list;
	for (line = text; *line; line = nl + 1) {
		struct diag d = {0};
		struct val *v = NULL;

		nl = strchr(line, '\n');
		if (!nl)
			break;
		if (json_parse("log", line, (size_t)(nl - line), &v, &d) == 0)
			val_list_push(list, v);
		diag_free(&d);
	}
	free(text);
	return list;
}

static size_t
stub_count(const struct stub *s)
{
	struct val *l = stub_log(s);
	size_t n = l->n;

	val_free(l);
	return n;
}

/* stub_count_marker: logged requests whose line holds marker. */
static size_t
stub_count_marker(const struct stub *s, const char *marker)
{
	char *text = NULL, *line, *nl;
	size_t len, n = 0;

	if (file_read(s->log, &text, &len) != 0)
		return 0;
	for (line = text; (nl = strchr(line, '\n')); line = nl + 1) {
		*nl = 0;
		n += strstr(line, marker) != NULL;
	}
	free(text);
	return n;
}

/* stub_connections: how many connections the logged requests came on. */
static size_t
stub_connections(const struct stub *s)
{
	struct val *l = stub_log(s);
	long long *ports = xcalloc(l->n + 1, sizeof(*ports));
	size_t i, j, n = 0;

	for (i = 0; i < l->n; i++) {
		const struct val *p = val_resolve(l->items[i], "client_port");

		for (j = 0; j < n && (!p || ports[j] != p->i); j++)
			;
		if (p && j == n)
			ports[n++] = p->i;
	}
	free(ports);
	val_free(l);
	return n;
}

static const char *
field(const struct val *root, const char *path)
{
	const struct val *v = val_resolve(root, path);

	return v && v->kind == VAL_STR ? v->s : NULL;
}

/* ---- the engine -------------------------------------------------------- */

struct results {
	pthread_mutex_t mu;
	struct llm_response **r;
	size_t n;
	int out_of_order;
};

struct slot {
	struct results *res;
	size_t i;
};

static void
collect(void *ud, struct llm_response *r)
{
	struct slot *s = ud;

	pthread_mutex_lock(&s->res->mu);
	s->res->r[s->i] = r;
	s->res->n++;
	pthread_mutex_unlock(&s->res->mu);
}

static void
env_for(const struct stub *a, const struct stub *o)
{
	setenv("ANTHROPIC_API_KEY", AKEY, 1);
	setenv("OPENAI_API_KEY", OKEY, 1);
	if (a)
		setenv("ANTHROPIC_BASE_URL", a->base, 1);
	if (o)
		setenv("OPENAI_BASE_URL", o->base, 1);
}

static struct llm_opts
fast_opts(const struct llm_target *chain, size_t n)
{
	struct llm_opts o = {0};

	o.chain = chain;
	o.nchain = n;
	o.max_in_flight = 8;
	o.timeout_ms = 5000;
	o.max_attempts = 3;
	o.backoff_base_ms = 5;
	o.backoff_cap_ms = 20;
	o.breaker_open_ms = 30000;
	return o;
}

/* run_one: one request through a fresh engine; the response, or NULL if
 * the engine could not be made. */
static struct llm_response *
run_one(const struct llm_opts *o, const char *system, const char *prompt)
{
	struct llm *l;
	struct diag d = {0};
	struct results res = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0};
	struct llm_response *r[1] = {NULL};
	struct slot s = {&res, 0};
	struct llm_request rq = {system, prompt, 0.7, 256};

	res.r = r;
	if (llm_new(o, &l, &d) != 0) {
		diag_print(&d, stdout);
		diag_free(&d);
		return NULL;
	}
	llm_submit(l, &rq, collect, &s);
	llm_drain(l);
	llm_free(l);
	diag_free(&d);
	return r[0];
}

static int
has(const char *s, const char *needle)
{
	return s && strstr(s, needle) != NULL;
}

/* ---- parsers ----------------------------------------------------------- */

static void
parse_case(int anthropic, long status, const char *body, int want_rc, enum llm_error want,
	const char *want_in_msg, const char *name)
{
	struct llm_response r;
	int rc;

	memset(&r, 0, sizeof(r));
	rc = anthropic ? llm_parse_anthropic(body, strlen(body), status, &r) :
			 llm_parse_openai(body, strlen(body), status, &r);
	ok(rc == want_rc && r.error == want && (!want_in_msg || has(r.message, want_in_msg)),
		"%s: rc %d error %s (%s)", name, rc, llm_error_name(r.error),
		r.message ? r.message : "no message");
	free(r.text);
	free(r.message);
}

static void
test_parsers(void)
{
	struct llm_response r;
	const char *a = "{\"id\":\"m\",\"type\":\"message\",\"content\":[{\"type\":\"text\","
			"\"text\":\"def f():\"},{\"type\":\"tool_use\",\"id\":\"x\"},{\"type\":"
			"\"text\",\"text\":\"\\n    return 1\"}],\"usage\":{\"input_tokens\":11,"
			"\"output_tokens\":7,\"cache_creation_input_tokens\":300,"
			"\"cache_read_input_tokens\":null}}";
	const char *o = "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
			"\"content\":\"x = 1\"}}],\"usage\":{\"prompt_tokens\":120,"
			"\"completion_tokens\":9,\"prompt_tokens_details\":{\"cached_tokens\":100}}}";

	memset(&r, 0, sizeof(r));
	is_int(llm_parse_anthropic(a, strlen(a), 200, &r), 0, "anthropic reply parses");
	is_str(r.text, "def f():\n    return 1", "text blocks are joined, other blocks skipped");
	ok(r.tokens_in == 11 && r.tokens_out == 7 && r.cache_write == 300 && r.cache_read == 0,
		"anthropic usage: in %lu out %lu write %lu read %lu", r.tokens_in, r.tokens_out,
		r.cache_write, r.cache_read);
	free(r.text);
	free(r.message);

	memset(&r, 0, sizeof(r));
	is_int(llm_parse_openai(o, strlen(o), 200, &r), 0, "openai reply parses");
	is_str(r.text, "x = 1", "choices[0].message.content");
	ok(r.tokens_in == 20 && r.cache_read == 100 && r.tokens_out == 9 && r.cache_write == 0,
		"openai usage: cached tokens are taken out of prompt_tokens (in %lu read %lu)",
		r.tokens_in, r.cache_read);
	free(r.text);
	free(r.message);

	parse_case(1, 401, "{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\","
			   "\"message\":\"invalid x-api-key\"}}",
		0, LLM_E_AUTH, "authentication refused; not retried (HTTP 401, authentication_error): "
			       "invalid x-api-key",
		"anthropic 401");
	parse_case(1, 403, "{\"type\":\"error\",\"error\":{\"type\":\"permission_error\","
			   "\"message\":\"no\"}}",
		0, LLM_E_AUTH, "HTTP 403", "anthropic 403 permission_error");
	parse_case(1, 429, "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\","
			   "\"message\":\"slow down\"}}",
		0, LLM_E_TRANSPORT, "rate limited (HTTP 429, rate_limit_error): slow down",
		"anthropic 429");
	parse_case(1, 529, "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
			   "\"message\":\"Overloaded\"}}",
		0, LLM_E_TRANSPORT, "overloaded (HTTP 529", "anthropic 529");
	parse_case(1, 500, "{\"type\":\"error\",\"error\":{\"type\":\"api_error\","
			   "\"message\":\"boom\"}}",
		0, LLM_E_TRANSPORT, "server error", "anthropic 500 api_error");
	parse_case(1, 400, "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\","
			   "\"message\":\"Your credit balance is too low to access the Anthropic "
			   "API.\"}}",
		0, LLM_E_QUOTA, "insufficient quota or spend limit reached; not retried",
		"anthropic credit balance is a quota error");
	parse_case(1, 400, "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\","
			   "\"message\":\"You have reached your specified API usage limits.\"}}",
		0, LLM_E_QUOTA, "usage limits", "anthropic spend limit is a quota error");
	parse_case(1, 402, "{\"type\":\"error\",\"error\":{\"type\":\"billing_error\","
			   "\"message\":\"pay\"}}",
		0, LLM_E_QUOTA, "billing_error", "anthropic billing_error");
	parse_case(1, 400, "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\","
			   "\"message\":\"messages: field required\"}}",
		0, LLM_E_TRANSPORT, "request rejected (HTTP 400", "anthropic 400");
	parse_case(1, 200, "{\"id\":\"m\",\"content\":[{\"type\":\"text\",\"te", -1,
		LLM_E_BADREPLY, "not valid JSON", "anthropic truncated 200");
	parse_case(1, 200, "<html>", -1, LLM_E_BADREPLY, "unreadable reply (HTTP 200, 6 bytes)",
		"anthropic HTML 200");
	parse_case(1, 200, "[1,2]", -1, LLM_E_BADREPLY, "not a JSON object", "anthropic array");
	parse_case(1, 200, "{\"type\":\"message\"}", -1, LLM_E_BADREPLY, "no content list",
		"anthropic without content");
	parse_case(1, 200, "{\"content\":[],\"stop_reason\":\"max_tokens\"}", 0, LLM_E_BADREPLY,
		"empty answer (stop_reason max_tokens)", "anthropic empty answer");
	parse_case(1, 502, "<html>bad gateway</html>", -1, LLM_E_TRANSPORT,
		"server error (HTTP 502; not valid JSON)", "anthropic 502 with HTML");

	parse_case(0, 429, "{\"error\":{\"message\":\"You exceeded your current quota, please "
			   "check your plan and billing details.\",\"type\":\"insufficient_quota\","
			   "\"param\":null,\"code\":\"insufficient_quota\"}}",
		0, LLM_E_QUOTA, "(HTTP 429, insufficient_quota): You exceeded your current quota",
		"openai insufficient_quota on a 429");
	parse_case(0, 429, "{\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\","
			   "\"code\":\"rate_limit_exceeded\"}}",
		0, LLM_E_TRANSPORT, "rate limited (HTTP 429, requests, rate_limit_exceeded)",
		"openai rate limit");
	parse_case(0, 401, "{\"error\":{\"message\":\"Incorrect API key provided\","
			   "\"type\":\"invalid_request_error\",\"code\":\"invalid_api_key\"}}",
		0, LLM_E_AUTH, "invalid_api_key", "openai 401");
	parse_case(0, 400, "{\"object\":\"error\",\"message\":\"model not found\","
			   "\"type\":\"NotFoundError\",\"code\":404}",
		0, LLM_E_TRANSPORT, "model not found", "vLLM's error format");
	parse_case(0, 500, "{\"error\":\"llama.cpp exploded\"}", 0, LLM_E_TRANSPORT,
		"llama.cpp exploded", "an error given as a string");
	parse_case(0, 200, "{\"choices\":[{\"message\":{\"content\":null,\"refusal\":\"no\"}}]}",
		0, LLM_E_BADREPLY, "the model refused: no", "openai refusal");
	parse_case(0, 200, "{\"choices\":[]}", -1, LLM_E_BADREPLY, "no choices[0].message",
		"openai without choices");
	parse_case(0, 200, "{\"choices\":[{\"message\":{\"content\":\"x\"", -1, LLM_E_BADREPLY,
		"not valid JSON", "openai truncated 200");
	parse_case(0, 200, "", -1, LLM_E_BADREPLY, "0 bytes", "an empty body");
	parse_case(0, 200, "{\"choices\":[{\"message\":{\"content\":\"a\\u0000b\"}}]}", 0,
		LLM_E_BADREPLY, "NUL byte", "openai: an answer with a NUL byte is refused");
	parse_case(1, 200, "{\"content\":[{\"type\":\"text\",\"text\":\"\\u0000\"}]}", 0,
		LLM_E_BADREPLY, "NUL byte", "anthropic: an answer with a NUL byte is refused");
	ok(!strcmp(llm_error_name(LLM_E_QUOTA), "quota") &&
			!strcmp(llm_error_name(LLM_E_NOKEY), "nokey"),
		"llm_error_name");
}

/* ---- loading libcurl --------------------------------------------------- */

/* curl_mapped: whether libcurl.so.4 is loaded in this process. */
static int
curl_mapped(void)
{
	void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_NOLOAD);

	if (h)
		dlclose(h);
	return h != NULL;
}

struct load_try {
	int rc1, rc2;     /* llm_new's return, first and second call */
	int engines;      /* engines it handed out */
	int mapped;       /* libcurl.so.4 loaded afterwards */
	char msg1[600], msg2[600];
};

/* load_with: llm_new twice in a child process with DMBUILD_LIBCURL=lib
 * (the loader runs once per process, so the parent stays unaffected). */
static int
load_with(const char *lib, struct load_try *t)
{
	int fd[2], st;
	pid_t pid;
	size_t got = 0;
	ssize_t n;

	memset(t, 0, sizeof(*t));
	fflush(stdout);
	if (pipe(fd) != 0 || (pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		struct llm_target chain[] = {{"command", "cat"}};
		struct llm_opts o = fast_opts(chain, 1);
		struct llm *l = NULL;
		struct diag d = {0};
		struct load_try r = {0};

		close(fd[0]);
		setenv("DMBUILD_LIBCURL", lib, 1);
		r.rc1 = llm_new(&o, &l, &d);
		r.engines += l != NULL;
		snprintf(r.msg1, sizeof(r.msg1), "%s", d.n ? d.items[0].msg : "");
		llm_free(l);
		diag_free(&d);
		l = NULL;
		r.rc2 = llm_new(&o, &l, &d);
		r.engines += l != NULL;
		snprintf(r.msg2, sizeof(r.msg2), "%s", d.n ? d.items[0].msg : "");
		llm_free(l);
		diag_free(&d);
		r.mapped = curl_mapped();
		_exit(write(fd[1], &r, sizeof(r)) == (ssize_t)sizeof(r) ? 0 : 1);
	}
	close(fd[1]);
	while (got < sizeof(*t) && (n = read(fd[0], (char *)t + got, sizeof(*t) - got)) > 0)
		got += (size_t)n;
	close(fd[0]);
	waitpid(pid, &st, 0);
	return got == sizeof(*t) && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static void
test_loading(void)
{
	static const char hint[] = " (install Debian's libcurl4)";
	struct load_try t;
	size_t n;

	ok(!curl_mapped(), "no libcurl before the first engine: it is not linked in");
	test_parsers();
	ok(!curl_mapped(), "parsing replies loads no libcurl");

	if (load_with("libdmbuild-no-such-curl.so.4", &t) != 0) {
		ok(0, "the child reports back");
		return;
	}
	is_int(t.rc1, DM_EIO, "a missing libcurl: llm_new fails with DM_EIO");
	is_int(t.engines, 0, "and hands out no engine");
	is_str(t.msg1,
		"cannot load libdmbuild-no-such-curl.so.4: libdmbuild-no-such-curl.so.4: cannot open "
		"shared object file: No such file or directory (install Debian's libcurl4)",
		"the message names the library, dlerror's reason and the package");
	is_int(t.rc2, DM_EIO, "a second llm_new fails the same way");
	is_str(t.msg2, t.msg1, "with the same message");
	ok(!t.mapped, "nothing of libcurl was loaded");

	if (load_with("libm.so.6", &t) != 0) {
		ok(0, "the child reports back");
		return;
	}
	n = strlen(t.msg1);
	is_int(t.rc1, DM_EIO, "a library without curl's functions: DM_EIO");
	ok(has(t.msg1, "cannot load libm.so.6: ") && has(t.msg1, "undefined symbol: curl_global_init") &&
			n > sizeof(hint) - 1 && !strcmp(t.msg1 + n - (sizeof(hint) - 1), hint),
		"it names the missing function: %s", t.msg1);
	is_int(t.engines, 0, "and hands out no engine");
}

/* ---- the engine against the stub ---------------------------------------- */

static void
test_anthropic(void)
{
	struct stub s;
	struct llm_target chain[] = {{"anthropic", "claude-sonnet-4-5-20250929"}};
	struct llm_opts o = fast_opts(chain, 1);
	struct llm_response *r;
	struct val *log;
	const struct val *e;

	stub_start(&s, "{\"sequence\":[{\"kind\":\"ok\",\"text\":\"return 42\",\"usage\":"
		       "{\"input\":1000,\"output\":2000,\"cache_read\":3000,\"cache_write\":4000}}],"
		       "\"fill\":\"again\"}");
	env_for(&s, NULL);
	o.pricing = rules_pricing;
	r = run_one(&o, "You write Python. \"Quotes\" and\nnewlines.", "Write f(). \\ \x01");
	ok(r && r->error == LLM_OK, "anthropic: success");
	if (r) {
		is_str(r->text, "return 42", "the answer text");
		ok(r->tokens_in == 1000 && r->tokens_out == 2000 && r->cache_read == 3000 &&
				r->cache_write == 4000,
			"usage reported");
		/* claude-sonnet-4-5 prices, found by the dated name's prefix */
		ok(fabs(r->cost_usd - (1000 * 3.0 + 2000 * 15.0 + 3000 * 0.30 + 4000 * 3.75) / 1e6) <
				1e-12,
			"cost from rules/pricing.yaml: %.6f", r->cost_usd);
		is_str(r->provider, "anthropic", "provider");
		is_str(r->model, "claude-sonnet-4-5-20250929", "model");
		is_int(r->attempts, 1, "one attempt");
		ok(!r->message, "no message on a clean success");
		ok(r->latency_ms > 0 && r->latency_ms < 5000, "latency %.1f ms", r->latency_ms);
	}
	llm_response_free(r);

	log = stub_log(&s);
	is_int((long long)log->n, 1, "one request reached the server");
	e = log->n ? log->items[0] : NULL;
	is_str(field(e, "path"), "/v1/messages", "POST /v1/messages");
	is_str(field(e, "x_api_key"), AKEY, "x-api-key carries the key");
	ok(e && val_resolve(e, "authorization")->kind == VAL_NULL, "no Authorization header");
	is_str(field(e, "headers.anthropic-version"), "2023-06-01", "anthropic-version");
	is_str(field(e, "headers.content-type"), "application/json", "content-type");
	ok(e && !val_resolve(e, "headers.expect"), "no Expect: 100-continue");
	is_str(field(e, "body.model"), "claude-sonnet-4-5-20250929", "body: model");
	ok(e && val_resolve(e, "body.max_tokens") && val_resolve(e, "body.max_tokens")->i == 256,
		"body: max_tokens");
	ok(e && val_resolve(e, "body.temperature") &&
			fabs(val_resolve(e, "body.temperature")->f - 0.7) < 1e-9,
		"body: temperature");
	is_str(field(e, "body.system[0].type"), "text", "body: system is a list of text blocks");
	is_str(field(e, "body.system[0].text"), "You write Python. \"Quotes\" and\nnewlines.",
		"body: the system text, escaped and read back intact");
	is_str(field(e, "body.system[0].cache_control.type"), "ephemeral",
		"body: the system block has cache_control ephemeral");
	is_str(field(e, "body.messages[0].role"), "user", "body: one user message");
	is_str(field(e, "body.messages[0].content"), "Write f(). \\ \x01", "body: the prompt");
	val_free(log);
	stub_stop(&s);
}

static void
test_anthropic_cache(void)
{
	struct stub s;
	struct llm_target chain[] = {{"anthropic", "claude-haiku-4-5"}};
	struct llm_opts o = fast_opts(chain, 1);
	struct llm_response *r1, *r2;

	stub_start(&s, "{\"fill\":\"one two three\"}");
	env_for(&s, NULL);
	o.pricing = rules_pricing;
	r1 = run_one(&o, "shared context of five words", "slot a");
	r2 = run_one(&o, "shared context of five words", "slot b");
	ok(r1 && r2 && r1->cache_write == 5 && r1->cache_read == 0 && r2->cache_read == 5 &&
			r2->cache_write == 0 && r2->tokens_in == 2 && r2->tokens_out == 3,
		"the shared system block is written to the cache once, then read");
	ok(r2 && fabs(r2->cost_usd - (2 * 1.0 + 3 * 5.0 + 5 * 0.10) / 1e6) < 1e-12,
		"cache reads cost the cache_read price");
	llm_response_free(r1);
	llm_response_free(r2);
	stub_stop(&s);
}

static void
test_openai(void)
{
	struct stub s;
	struct llm_target chain[] = {{"openai", "gpt-4o-mini"}};
	struct llm_opts o = fast_opts(chain, 1);
	struct llm_response *r;
	struct val *log;
	const struct val *e;

	stub_start(&s, "{\"default\":{\"kind\":\"ok\",\"text\":\"x = 1\",\"usage\":{\"input\":"
		       "1500,\"output\":100,\"cache_read\":1000}}}");
	env_for(NULL, &s);
	o.pricing = rules_pricing;
	r = run_one(&o, "context", "prompt");
	ok(r && r->error == LLM_OK, "openai: success");
	if (r) {
		is_str(r->text, "x = 1", "the answer text");
		ok(r->tokens_in == 500 && r->cache_read == 1000 && r->tokens_out == 100,
			"usage: 1500 prompt tokens of which 1000 cached -> in 500, cache_read 1000");
		ok(fabs(r->cost_usd - (500 * 0.15 + 100 * 0.60 + 1000 * 0.075) / 1e6) < 1e-12,
			"cost %.8f", r->cost_usd);
		is_str(r->provider, "openai", "provider");
	}
	llm_response_free(r);
	log = stub_log(&s);
	e = log->n ? log->items[0] : NULL;
	is_str(field(e, "path"), "/chat/completions", "POST $OPENAI_BASE_URL/chat/completions");
	is_str(field(e, "authorization"), "Bearer " OKEY, "Authorization: Bearer carries the key");
	ok(e && val_resolve(e, "x_api_key")->kind == VAL_NULL, "no x-api-key");
	is_str(field(e, "body.messages[0].role"), "system", "body: a system message first");
	is_str(field(e, "body.messages[0].content"), "context", "body: its content");
	is_str(field(e, "body.messages[1].role"), "user", "body: then the user message");
	is_str(field(e, "body.messages[1].content"), "prompt", "body: the prompt");
	ok(e && val_resolve(e, "body.max_tokens") && val_resolve(e, "body.max_tokens")->i == 256,
		"body: max_tokens");
	val_free(log);

	/* a local server: OPENAI_BASE_URL set and no key */
	unsetenv("OPENAI_API_KEY");
	r = run_one(&o, "", "local");
	ok(r && r->error == LLM_OK, "openai without a key is allowed when OPENAI_BASE_URL is set");
	llm_response_free(r);
	log = stub_log(&s);
	e = log->n == 2 ? log->items[1] : NULL;
	ok(e && val_resolve(e, "authorization")->kind == VAL_NULL,
		"and no Authorization header is sent");
	ok(e && !val_resolve(e, "body.messages[1]"), "an empty system text sends no system message");
	val_free(log);
	stub_stop(&s);
}

struct err_case {
	const char *provider, *kind;
	enum llm_error want;
	int requests;        /* that reach the server (max_attempts 3) */
	const char *in_msg;
};

/* error_script: a stub script where a prompt holding "case-KIND" gets
 * that kind of reply, n times. */
static char *
error_script(const char *const *kinds, size_t nk, int n, const char *extra)
{
	struct buf b = {0};
	size_t i;
	int j;

	buf_printf(&b, "{%s\"by_marker\":{", extra);
	for (i = 0; i < nk; i++) {
		buf_printf(&b, "%s\"case-%s\":[", i ? "," : "", kinds[i]);
		for (j = 0; j < n; j++)
			buf_printf(&b, "%s{\"kind\":\"%s\"%s}", j ? "," : "", kinds[i],
				strcmp(kinds[i], "error") ? "" :
							    ",\"status\":418,\"type\":\"teapot_error\","
							    "\"message\":\"odd\"");
		buf_adds(&b, "]");
	}
	buf_adds(&b, "}}");
	return buf_release(&b);
}

static void
test_errors(void)
{
	static const struct err_case cases[] = {
		{"anthropic", "auth", LLM_E_AUTH, 1, "authentication refused; not retried (HTTP 401, "
						     "authentication_error): invalid x-api-key; check "
						     "ANTHROPIC_API_KEY"},
		{"anthropic", "permission", LLM_E_AUTH, 1, "HTTP 403, permission_error"},
		{"anthropic", "quota", LLM_E_QUOTA, 1, "insufficient quota or spend limit reached; not "
						       "retried (HTTP 400, invalid_request_error): Your "
						       "credit balance is too low"},
		{"anthropic", "invalid_request", LLM_E_TRANSPORT, 1, "request rejected (HTTP 400"},
		{"anthropic", "server_error", LLM_E_TRANSPORT, 3, "server error (HTTP 500, api_error): "
								  "Internal server error (3 attempts)"},
		{"anthropic", "overloaded", LLM_E_TRANSPORT, 3, "overloaded (HTTP 529"},
		{"anthropic", "rate_limit", LLM_E_TRANSPORT, 3, "rate limited (HTTP 429"},
		{"anthropic", "truncated", LLM_E_BADREPLY, 3, "not valid JSON (3 attempts)"},
		{"anthropic", "invalid_json", LLM_E_BADREPLY, 3, "unreadable reply (HTTP 200"},
		{"anthropic", "empty", LLM_E_BADREPLY, 1, "empty answer"},
		{"anthropic", "cut", LLM_E_TRANSPORT, 3, "(3 attempts)"},
		{"anthropic", "close", LLM_E_TRANSPORT, 3, "(3 attempts)"},
		{"anthropic", "error", LLM_E_TRANSPORT, 1, "request rejected (HTTP 418, teapot_error): odd"},
		{"openai", "auth", LLM_E_AUTH, 1, "(HTTP 401, invalid_request_error, invalid_api_key): "
						  "Incorrect API key provided; check OPENAI_API_KEY"},
		{"openai", "permission", LLM_E_AUTH, 1, "HTTP 403"},
		{"openai", "quota", LLM_E_QUOTA, 1, "insufficient quota or spend limit reached; not "
						    "retried (HTTP 429, insufficient_quota): You "
						    "exceeded your current quota"},
		{"openai", "invalid_request", LLM_E_TRANSPORT, 1, "request rejected (HTTP 400"},
		{"openai", "server_error", LLM_E_TRANSPORT, 3, "server error (HTTP 500"},
		{"openai", "overloaded", LLM_E_TRANSPORT, 3, "overloaded"},
		{"openai", "rate_limit", LLM_E_TRANSPORT, 3, "rate limited (HTTP 429, requests, "
							     "rate_limit_exceeded)"},
		{"openai", "truncated", LLM_E_BADREPLY, 3, "not valid JSON"},
		{"openai", "invalid_json", LLM_E_BADREPLY, 3, "unreadable reply (HTTP 200"},
		{"openai", "empty", LLM_E_BADREPLY, 1, "empty answer"},
		{"openai", "cut", LLM_E_TRANSPORT, 3, "(3 attempts)"},
		{"openai", "close", LLM_E_TRANSPORT, 3, "(3 attempts)"},
		{"openai", "error", LLM_E_TRANSPORT, 1, "request rejected (HTTP 418, teapot_error): odd"},
	};
	const char *kinds[sizeof(cases) / sizeof(cases[0])];
	size_t i, nk = 0;
	struct stub s;
	char *script;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (!strcmp(cases[i].provider, "anthropic"))
			kinds[nk++] = cases[i].kind;
	script = error_script(kinds, nk, 3, "");
	stub_start(&s, script);
	free(script);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct err_case *c = &cases[i];
		struct llm_target chain[1];
		struct llm_opts o = fast_opts(chain, 1);
		struct llm_response *r;
		int anth = !strcmp(c->provider, "anthropic");
		char prompt[64];

		chain[0].provider = c->provider;
		chain[0].model = anth ? "claude-haiku-4-5" : "gpt-4o";
		snprintf(prompt, sizeof(prompt), "case-%s", c->kind);
		env_for(&s, &s);
		r = run_one(&o, "sys", prompt);
		ok(r && r->error == c->want && has(r->message, c->in_msg) && !r->text,
			"%s %s: %s, message: %s", c->provider, c->kind,
			r ? llm_error_name(r->error) : "-", r && r->message ? r->message : "(none)");
		is_int((long long)stub_count_marker(&s, prompt), c->requests,
			"%s %s: %d request(s) sent", c->provider, c->kind, c->requests);
		ok(r && r->attempts == c->requests, "%s %s: attempts %d", c->provider, c->kind,
			r ? r->attempts : -1);
		ok(r && r->message && has(r->message, anth ? "anthropic claude-haiku-4-5: " :
							     "openai gpt-4o: "),
			"%s %s: the message names the provider and model", c->provider, c->kind);
		llm_response_free(r);
		if (i + 1 < sizeof(cases) / sizeof(cases[0]) &&
			strcmp(cases[i + 1].provider, c->provider)) {
			/* the openai half: a fresh stub (markers are used up) */
			stub_stop(&s);
			for (nk = 0; nk < sizeof(cases) / sizeof(cases[0]) - i - 1; nk++)
				kinds[nk] = cases[i + 1 + nk].kind;
			script = error_script(kinds, nk, 3, "");
			stub_start(&s, script);
			free(script);
		}
	}
	stub_stop(&s);
}

static void
test_nokey(void)
{
	struct llm_target chain[] = {{"anthropic", "claude-haiku-4-5"}, {"openai", "gpt-4o"}};
	struct llm_opts o = fast_opts(chain, 2);
	struct llm_response *r;

	unsetenv("ANTHROPIC_API_KEY");
	unsetenv("OPENAI_API_KEY");
	setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9", 1);
	unsetenv("OPENAI_BASE_URL");
	r = run_one(&o, "s", "p");
	ok(r && r->error == LLM_E_NOKEY, "no keys: LLM_E_NOKEY");
	ok(r && has(r->message, "anthropic claude-haiku-4-5: ANTHROPIC_API_KEY is not set") &&
			has(r->message, "openai gpt-4o: OPENAI_API_KEY is not set"),
		"the message names each variable: %s", r && r->message ? r->message : "");
	ok(r && r->attempts == 0, "no attempt was made");
	llm_response_free(r);
	setenv("ANTHROPIC_API_KEY", "", 1);
	o.nchain = 1;
	r = run_one(&o, "s", "p");
	ok(r && r->error == LLM_E_NOKEY, "an empty key is no key");
	llm_response_free(r);
}

static void
test_retry_after(void)
{
	struct stub s;
	struct llm_target chain[] = {{"anthropic", "claude-haiku-4-5"}};
	struct llm_opts o = fast_opts(chain, 1);
	struct llm_response *r;
	struct val *log;
	double t0;

	stub_start(&s, "{\"sequence\":[{\"kind\":\"rate_limit\",\"retry_after_ms\":300},"
		       "{\"kind\":\"rate_limit\",\"retry_after\":\"1\"},{\"kind\":\"overloaded\"},"
		       "{\"kind\":\"ok\",\"text\":\"finally\"}]}");
	env_for(&s, NULL);
	o.max_attempts = 5;
	t0 = now_ms();
	r = run_one(&o, "s", "p");
	t0 = now_ms() - t0;
	ok(r && r->error == LLM_OK, "429, 429, 529 then success");
	ok(r && has(r->text, "finally"), "with the answer");
	ok(r && r->attempts == 4, "in 4 attempts");
	log = stub_log(&s);
	if (log->n == 4) {
		double d1 = (val_resolve(log->items[1], "t")->f - val_resolve(log->items[0], "t")->f) *
			1000;
		double d2 = (val_resolve(log->items[2], "t")->f - val_resolve(log->items[1], "t")->f) *
			1000;
		double d3 = (val_resolve(log->items[3], "t")->f - val_resolve(log->items[2], "t")->f) *
			1000;

		ok(d1 >= 295 && d1 < 1000, "retry-after-ms: 300 honoured (%.0f ms)", d1);
		ok(d2 >= 995 && d2 < 2000, "retry-after: 1 honoured (%.0f ms)", d2);
		ok(d3 < 200, "529 without retry-after: backoff (%.0f ms)", d3);
	} else {
		ok(0, "4 requests logged, found %zu", log->n);
	}
	ok(r && r->latency_ms >= 1300, "latency covers the retries (%.0f ms)",
		r ? r->latency_ms : 0);
	note("wall %.0f ms", t0);
	val_free(log);
	llm_response_free(r);
	stub_stop(&s);

	/* an HTTP date in the past means now; a huge value is capped (not
	 * tested for the full 60 s) */
	stub_start(&s, "{\"sequence\":[{\"kind\":\"rate_limit\",\"retry_after\":"
		       "\"Wed, 21 Oct 2015 07:28:00 GMT\"},{\"kind\":\"ok\"}]}");
	env_for(&s, NULL);
	t0 = now_ms();
	r = run_one(&o, "s", "p");
	ok(r && r->error == LLM_OK && now_ms() - t0 < 1000,
		"retry-after as an HTTP date in the past: retried at once");
	llm_response_free(r);
	stub_stop(&s);
}

static int
dead_port(void)
{
	struct sockaddr_in a;
	socklen_t n = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
		getsockname(fd, (struct sockaddr *)&a, &n) != 0)
		port = 9;
	else
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static void
test_refused(void)
{
	struct stub s;
	struct llm_target chain[] = {{"anthropic", "claude-haiku-4-5"}, {"openai", "gpt-4o"}};
	struct llm_opts o = fast_opts(chain, 2);
	struct llm_response *r;
	char url[64];

	stub_start(&s, "{\"fill\":\"from openai\"}");
	env_for(NULL, &s);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", dead_port());
	setenv("ANTHROPIC_BASE_URL", url, 1);
	o.max_attempts = 2;
	r = run_one(&o, "s", "p");
	ok(r && r->error == LLM_OK, "connection refused: the next provider answers");
	is_str(r ? r->text : NULL, "from openai", "with its answer");
	is_str(r ? r->provider : NULL, "openai", "response names who answered");
	ok(r && r->attempts == 3, "2 attempts at anthropic + 1 at openai (%d)",
		r ? r->attempts : -1);
	ok(r && has(r->message, "answered by openai after: anthropic claude-haiku-4-5: ") &&
			has(r->message, "(2 attempts)"),
		"the message tells what happened: %s", r && r->message ? r->message : "");
	llm_response_free(r);

	o.nchain = 1;
	r = run_one(&o, "s", "p");
	ok(r && r->error == LLM_E_TRANSPORT && r->attempts == 2,
		"connection refused with no fallback: LLM_E_TRANSPORT after 2 attempts");
	ok(r && has(r->message, "onnect"), "saying it could not connect: %s",
		r && r->message ? r->message : "");
	llm_response_free(r);
	stub_stop(&s);
}

static void
test_timeout(void)
{
	struct stub a, b;
	struct llm_target chain[] = {{"anthropic", "claude-haiku-4-5"}, {"openai", "gpt-4o"}};
	struct llm_opts o = fast_opts(chain, 2);
	struct llm_response *r;
	double t0;

	stub_start(&a, "{\"latency_ms\":3000}");
	stub_start(&b, "{\"fill\":\"quick\"}");
	env_for(&a, &b);
	o.timeout_ms = 200;
	o.max_attempts = 2;
	t0 = now_ms();
	r = run_one(&o, "s", "p");
	t0 = now_ms() - t0;
	ok(r && r->error == LLM_OK && r->text && !strcmp(r->text, "quick") && r->attempts == 3,
		"a slow provider times out twice, then the next one answers");
	ok(t0 < 1500, "each attempt is cut at timeout_ms (%.0f ms in all)", t0);
	ok(r && has(r->message, "anthropic claude-haiku-4-5: ") && has(r->message, "timed out") &&
			has(r->message, "(2 attempts)"),
		"the message says it timed out: %s", r && r->message ? r->message : "");
	llm_response_free(r);
	stub_stop(&a);
	stub_stop(&b);
}

static void
test_breaker(void)
{
	struct stub a, b;
	struct llm_target chain[] = {{"anthropic", "claude-haiku-4-5"}, {"openai", "gpt-4o"}};
	struct llm_opts o = fast_opts(chain, 2);
	struct llm *l;
	struct diag d = {0};
	struct llm_response *r[8] = {0};
	struct results res = {PTHREAD_MUTEX_INITIALIZER, r, 0, 0};
	struct slot sl[8];
	struct llm_request rq = {"s", "p", 0.5, 100};
	size_t i;
	int from_b = 0;

	stub_start(&a, "{\"sequence\":[{\"kind\":\"server_error\"},{\"kind\":\"server_error\"},"
		       "{\"kind\":\"server_error\"},{\"kind\":\"server_error\"},"
		       "{\"kind\":\"ok\",\"text\":\"A is back\"}],\"fill\":\"A\"}");
	stub_start(&b, "{\"fill\":\"B\"}");
	env_for(&a, &b);
	o.max_attempts = 1;
	o.breaker_open_ms = 400;
	if (llm_new(&o, &l, &d) != 0) {
		ok(0, "llm_new");
		return;
	}
	/* one at a time, so the failures are consecutive */
	for (i = 0; i < 5; i++) {
		sl[i].res = &res;
		sl[i].i = i;
		llm_submit(l, &rq, collect, &sl[i]);
		llm_drain(l);
	}
	for (i = 0; i < 5; i++)
		from_b += r[i] && r[i]->error == LLM_OK && !strcmp(r[i]->text, "B");
	is_int(from_b, 5, "every request answered by the second provider");
	is_int((long long)stub_count(&a), 3,
		"after 3 consecutive failures the breaker opened: requests 4 and 5 skipped A");
	ok(r[3] && has(r[3]->message, "circuit breaker open (3 consecutive failures), skipped"),
		"and the response says so: %s", r[3] && r[3]->message ? r[3]->message : "");
	ok(r[3] && r[3]->attempts == 1, "no attempt at an open provider");

	sleep_ms(450);
	sl[5].res = &res;
	sl[5].i = 5;
	llm_submit(l, &rq, collect, &sl[5]);
	llm_drain(l);
	is_int((long long)stub_count(&a), 4, "after the open time one probe goes to A");
	ok(r[5] && !strcmp(r[5]->text ? r[5]->text : "", "B"),
		"the probe failed (500): answered by B, breaker open again");
	sl[6].res = &res;
	sl[6].i = 6;
	llm_submit(l, &rq, collect, &sl[6]);
	llm_drain(l);
	is_int((long long)stub_count(&a), 4, "right after a failed probe A is skipped");

	sleep_ms(450);
	sl[7].res = &res;
	sl[7].i = 7;
	llm_submit(l, &rq, collect, &sl[7]);
	llm_drain(l);
	ok(r[7] && r[7]->error == LLM_OK && !strcmp(r[7]->text, "A is back") &&
			!strcmp(r[7]->provider, "anthropic"),
		"a successful probe closes the breaker: A answers");
	llm_free(l);
	for (i = 0; i < 8; i++)
		llm_response_free(r[i]);
	stub_stop(&a);
	stub_stop(&b);
	diag_free(&d);
}

static void
test_budget(void)
{
	struct stub s;
	struct llm_target chain[] = {{"anthropic", "priced"}};
	struct llm_opts o = fast_opts(chain, 1);
	struct llm *l;
	struct diag d = {0};
	struct llm_response *r[5] = {0};
	struct results res = {PTHREAD_MUTEX_INITIALIZER, r, 0, 0};
	struct slot sl[5];
	struct llm_request rq = {"s", "p", 0.5, 100};
	char pricing[128];
	size_t i;
	int nok = 0, nbudget = 0;

	stub_start(&s, "{\"default\":{\"kind\":\"ok\",\"usage\":{\"input\":10000,\"output\":0}}}");
	env_for(&s, NULL);
	snprintf(pricing, sizeof(pricing), "%s/pricing.yaml", s.dir);
	/* 10,000 input tokens at $1 per million: $0.01 a call */
	write_file(pricing, "models:\n  priced: {input: 1, output: 1, cache_read: 1, "
			    "cache_write: 1}\n");
	o.pricing = pricing;
	o.max_cost_usd = 0.025;
	if (llm_new(&o, &l, &d) != 0) {
		diag_print(&d, stdout);
		ok(0, "llm_new");
		return;
	}
	for (i = 0; i < 5; i++) {
		sl[i].res = &res;
		sl[i].i = i;
		llm_submit(l, &rq, collect, &sl[i]);
		llm_drain(l);
	}
	for (i = 0; i < 5; i++) {
		nok += r[i] && r[i]->error == LLM_OK;
		nbudget += r[i] && r[i]->error == LLM_E_BUDGET;
	}
	ok(nok == 3 && nbudget == 2, "max_cost 0.025 at 0.01 a call: 3 calls, then LLM_E_BUDGET "
				     "(%d ok, %d budget)",
		nok, nbudget);
	ok(fabs(llm_spent(l) - 0.03) < 1e-12, "llm_spent: %.4f", llm_spent(l));
	is_int((long long)stub_count(&s), 3, "no request was sent once the budget was spent");
	is_int((long long)stub_connections(&s), 1, "one after the other, they share a connection");
	ok(r[4] && has(r[4]->message, "budget: $0.0300 spent of the --max-cost $0.0250 limit"),
		"the message says why: %s", r[4] && r[4]->message ? r[4]->message : "");
	ok(r[4] && r[4]->attempts == 0 && !r[4]->provider, "no attempt, no provider");
	llm_free(l);
	for (i = 0; i < 5; i++)
		llm_response_free(r[i]);
	unlink(pricing);
	stub_stop(&s);
	diag_free(&d);
}

static void
test_throughput(void)
{
	enum { N = 200 };
	struct stub s;
	struct llm_target chain[] = {{"openai", "gpt-4o"}};
	struct llm_opts o = fast_opts(chain, 1);
	struct llm *l;
	struct diag d = {0};
	struct llm_response **r = xcalloc(N, sizeof(*r));
	struct results res = {PTHREAD_MUTEX_INITIALIZER, r, 0, 0};
	struct slot *sl = xcalloc(N, sizeof(*sl));
	size_t i;
	int good = 0;
	double t0, wall;
	char prompt[64];

	stub_start(&s, "{\"latency_ms\":250,\"echo\":\"<<(\\\\w+)>>\"}");
	env_for(NULL, &s);
	o.max_in_flight = 100;
	if (llm_new(&o, &l, &d) != 0) {
		ok(0, "llm_new");
		return;
	}
	t0 = now_ms();
	for (i = 0; i < N; i++) {
		struct llm_request rq = {"shared", prompt, 0.5, 100};

		snprintf(prompt, sizeof(prompt), "fill the slot <<slot%zu>> please", i);
		sl[i].res = &res;
		sl[i].i = i;
		llm_submit(l, &rq, collect, &sl[i]);
	}
	llm_drain(l);
	wall = now_ms() - t0;
	for (i = 0; i < N; i++) {
		char want[32];

		snprintf(want, sizeof(want), "slot%zu", i);
		good += r[i] && r[i]->error == LLM_OK && r[i]->text && !strcmp(r[i]->text, want);
	}
	is_int(good, N, "200 requests, each with its own answer");
	ok(wall < 3000, "200 requests at 100 in flight, 250 ms each: %.0f ms (ideal 500)", wall);
	is_int((long long)stub_count(&s), N, "exactly 200 requests sent");
	ok(stub_connections(&s) <= 100, "on at most 100 connections, kept alive (%zu)",
		stub_connections(&s));
	llm_free(l);
	for (i = 0; i < N; i++)
		llm_response_free(r[i]);
	free(r);
	free(sl);
	stub_stop(&s);
	diag_free(&d);
}

static void
test_command(void)
{
	struct llm_target cat[] = {{"command", "cat"}};
	struct llm_target fails[] = {{"command", "sh -c 'echo oops >&2; exit 3'"}};
	struct llm_target temp[] = {{"command", "sh -c 'echo busy >&2; exit 75'"}};
	struct llm_target slow[] = {{"command", "sleep 5"}};
	struct llm_target silent[] = {{"command", "true"}};
	struct llm_target chain[] = {{"command", "dmbuild-no-such-model"}, {"command", "cat"}};
	struct llm_target bad[] = {{"command", "sh -c 'unterminated"}};
	struct llm_opts o = fast_opts(cat, 1);
	struct llm_response *r;
	struct llm *l;
	struct diag d = {0};
	double t0;

	r = run_one(&o, "SYSTEM", "PROMPT");
	ok(r && r->error == LLM_OK, "command provider: cat");
	is_str(r ? r->text : NULL, "SYSTEM\n\nPROMPT", "the system text, a blank line, the prompt "
						      "on standard input; the answer from standard "
						      "output");
	ok(r && r->cost_usd == 0 && r->tokens_in == 0, "no usage, no cost");
	is_str(r ? r->provider : NULL, "command", "provider");
	is_str(r ? r->model : NULL, "cat", "model is the command line");
	llm_response_free(r);

	o.chain = fails;
	r = run_one(&o, "", "p");
	ok(r && r->error == LLM_E_TRANSPORT && r->attempts == 1 &&
			has(r->message, "command sh: exit status 3: oops"),
		"a failing command is not retried: %s", r && r->message ? r->message : "");
	llm_response_free(r);

	o.chain = temp;
	r = run_one(&o, "", "p");
	ok(r && r->error == LLM_E_TRANSPORT && r->attempts == 3 &&
			has(r->message, "exit status 75 (temporary failure): busy (3 attempts)"),
		"exit status 75 (EX_TEMPFAIL) is retried: %s", r && r->message ? r->message : "");
	llm_response_free(r);

	o.chain = slow;
	o.timeout_ms = 200;
	o.max_attempts = 1;
	t0 = now_ms();
	r = run_one(&o, "", "p");
	ok(r && r->error == LLM_E_TRANSPORT && has(r->message, "killed after the 200 ms time limit") &&
			now_ms() - t0 < 2000,
		"a command over the time limit is killed: %s", r && r->message ? r->message : "");
	llm_response_free(r);
	o.timeout_ms = 5000;
	o.max_attempts = 3;

	o.chain = silent;
	r = run_one(&o, "", "p");
	ok(r && r->error == LLM_E_BADREPLY && has(r->message, "no output"),
		"no output: LLM_E_BADREPLY");
	llm_response_free(r);

	o.chain = chain;
	o.nchain = 2;
	r = run_one(&o, "", "p");
	ok(r && r->error == LLM_OK && has(r->text, "p") && has(r->message, "cannot run it"),
		"a command that cannot run falls to the next provider: %s",
		r && r->message ? r->message : "");
	llm_response_free(r);

	o.chain = bad;
	o.nchain = 1;
	ok(llm_new(&o, &l, &d) == DM_EINPUT && d.n == 1 &&
			has(d.items[0].msg, "LLM provider command: expected a command line"),
		"an unterminated quote is refused by llm_new: %s", d.n ? d.items[0].msg : "");
	diag_free(&d);
}

static void
test_commands_parallel(void)
{
	enum { N = 16 };
	struct llm_target chain[] = {{"command", "sh -c 'sleep 0.2; cat'"}};
	struct llm_opts o = fast_opts(chain, 1);
	struct llm *l;
	struct diag d = {0};
	struct llm_response *r[N] = {0};
	struct results res = {PTHREAD_MUTEX_INITIALIZER, r, 0, 0};
	struct slot sl[N];
	char prompt[32];
	size_t i;
	int good = 0;
	double t0;

	o.max_in_flight = 8;
	if (llm_new(&o, &l, &d) != 0) {
		ok(0, "llm_new");
		return;
	}
	t0 = now_ms();
	for (i = 0; i < N; i++) {
		struct llm_request rq = {"", prompt, 0, 0};

		snprintf(prompt, sizeof(prompt), "answer %zu", i);
		sl[i].res = &res;
		sl[i].i = i;
		llm_submit(l, &rq, collect, &sl[i]);
	}
	llm_drain(l);
	t0 = now_ms() - t0;
	for (i = 0; i < N; i++) {
		snprintf(prompt, sizeof(prompt), "answer %zu", i);
		good += r[i] && r[i]->text && !strcmp(r[i]->text, prompt);
		llm_response_free(r[i]);
	}
	is_int(good, N, "16 command requests, each with its own answer");
	ok(t0 < 1500, "run 8 at a time: %.0f ms for 16 x 200 ms", t0);
	llm_free(l);
}

/* follow: a callback that submits a follow-up request from the engine
 * thread, as a slot retrying with the check errors does. */
struct follow {
	struct llm *l;
	int round;
	char *texts[2];
};

static void
follow_done(void *ud, struct llm_response *r)
{
	struct follow *f = ud;
	struct llm_request rq = {"s", "second", 0.3, 50};

	f->texts[f->round] = r->text ? xstrdup(r->text) : NULL;
	llm_response_free(r);
	if (f->round++ == 0) {
		llm_drain(f->l); /* must not deadlock on the engine thread */
		llm_submit(f->l, &rq, follow_done, f);
	}
}

static void
test_reentry_and_cancel(void)
{
	struct stub s;
	struct llm_target chain[] = {{"anthropic", "claude-haiku-4-5"}};
	struct llm_opts o = fast_opts(chain, 1);
	struct llm *l;
	struct diag d = {0};
	struct follow f = {0};
	struct llm_request rq = {"s", "first", 0.7, 50};
	struct llm_response *r[4] = {0};
	struct results res = {PTHREAD_MUTEX_INITIALIZER, r, 0, 0};
	struct slot sl[4];
	size_t i;
	int cancelled = 0;

	stub_start(&s, "{\"echo\":\"(first|second)\",\"latency_ms\":200}");
	env_for(&s, NULL);
	if (llm_new(&o, &l, &d) != 0) {
		ok(0, "llm_new");
		return;
	}
	f.l = l;
	llm_submit(l, &rq, follow_done, &f);
	llm_drain(l);
	ok(f.round == 2 && f.texts[0] && !strcmp(f.texts[0], "first") && f.texts[1] &&
			!strcmp(f.texts[1], "second"),
		"a callback may submit a follow-up; llm_drain waits for it too");
	free(f.texts[0]);
	free(f.texts[1]);
	llm_free(l);

	o.max_in_flight = 1;
	if (llm_new(&o, &l, &d) != 0) {
		ok(0, "llm_new");
		return;
	}
	for (i = 0; i < 4; i++) {
		sl[i].res = &res;
		sl[i].i = i;
		llm_submit(l, &rq, collect, &sl[i]);
	}
	sleep_ms(50);
	llm_cancel(l);
	llm_drain(l);
	for (i = 1; i < 4; i++)
		cancelled += r[i] && r[i]->error == LLM_E_TRANSPORT &&
			has(r[i]->message, "cancelled before a provider answered");
	ok(r[0] && r[0]->error == LLM_OK, "llm_cancel: the request in flight finishes");
	is_int(cancelled, 3, "the queued ones end as cancelled");
	is_int((long long)stub_count(&s), 3,
		"only the request in flight was sent (3 with the 2 of the follow-up test)");
	llm_free(l);
	for (i = 0; i < 4; i++)
		llm_response_free(r[i]);
	stub_stop(&s);
	diag_free(&d);
}

static void
test_secrets(void)
{
	static const char *kinds[] = {"auth", "permission", "quota", "invalid_request",
		"server_error", "rate_limit", "overloaded", "truncated", "invalid_json", "empty",
		"cut", "close", "error"};
	struct llm_target chains[2][1] = {{{"anthropic", "claude-haiku-4-5"}},
		{{"openai", "gpt-4o"}}};
	struct llm_response pr;
	const char *leak = "{\"error\":{\"message\":\"Incorrect API key provided: " OKEY "\","
			   "\"type\":\"invalid_request_error\",\"code\":\"invalid_api_key\"}}";
	struct diag d = {0};
	struct llm *l;
	size_t i, p, msgs = 0, leaks = 0;

	/* the stub's error messages quote the key it received, as some
	 * services do: the parser passes that on, the engine must not */
	memset(&pr, 0, sizeof(pr));
	llm_parse_openai(leak, strlen(leak), 401, &pr);
	ok(has(pr.message, OKEY), "a reply can quote the key (the parser keeps it)");
	free(pr.message);

	for (p = 0; p < 2; p++) {
		struct stub s;
		char *script = error_script(kinds, sizeof(kinds) / sizeof(kinds[0]), 2,
			"\"echo_key\":true,");

		stub_start(&s, script);
		free(script);
		env_for(&s, &s);
		for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
			struct llm_opts o = fast_opts(chains[p], 1);
			struct llm_response *r;
			char prompt[64];

			snprintf(prompt, sizeof(prompt), "case-%s", kinds[i]);
			o.max_attempts = 2;
			r = run_one(&o, "sys", prompt);
			if (r && r->message) {
				msgs++;
				if (has(r->message, AKEY) || has(r->message, OKEY) ||
					has(r->message, "PLANTED"))
					leaks++, note("leak: %s", r->message);
			}
			llm_response_free(r);
		}
		stub_stop(&s);
	}
	is_int((long long)msgs, 26, "every error path produced a message");
	is_int((long long)leaks, 0, "and none holds a key (or a part of one)");

	{
		struct llm_target t[] = {{"anthropic", "claude-haiku-4-5"}, {"bogus", "m"}};
		struct llm_opts o = fast_opts(t, 2);
		size_t k;

		setenv("ANTHROPIC_API_KEY", AKEY, 1);
		ok(llm_new(&o, &l, &d) == DM_EINPUT, "an unknown provider is refused");
		for (k = 0; k < d.n; k++)
			leaks += has(d.items[k].msg, "PLANTED");
		ok(d.n == 1 && has(d.items[0].msg, "unknown LLM provider \"bogus\": expected "
						   "anthropic, openai or command"),
			"with a message: %s", d.n ? d.items[0].msg : "");
		is_int((long long)leaks, 0, "llm_new's diagnostics hold no key");
		diag_free(&d);
	}
}

static void
test_pricing(void)
{
	char dir[] = "/tmp/t-llm-pricing.XXXXXX", path[128];
	struct llm_target chain[] = {{"command", "cat"}};
	struct llm_opts o = fast_opts(chain, 1);
	struct diag d = {0};
	struct llm *l = NULL;

	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/pricing.yaml", dir);
	o.pricing = path;
	write_file(path, "models:\n"
			 "  a: {input: 1, output: 2, cache_read: 0.1, cache_write: 1.25}\n"
			 "  b: {input: cheap, output: 2, cache_read: 0, cache_write: 0}\n"
			 "  c: {input: 1, output: -2, cache_read: 0, cache_write: 0, extra: 1}\n"
			 "  d: {input: 1, output: 2, cache_read: 0}\n"
			 "  e: 3\n");
	ok(llm_new(&o, &l, &d) == DM_EINPUT && !l, "a bad pricing file is refused");
	is_int((long long)d.nerrors, 5, "every error is reported");
	if (d.n == 5) {
		is_str(d.items[0].msg, "model b: expected a number of USD per million tokens for "
				       "input, found a string",
			"a string price");
		ok(d.items[0].line == 3 && d.items[0].col == 14, "at 3:14 (%d:%d)", d.items[0].line,
			d.items[0].col);
		is_str(d.items[1].msg, "model c: expected input, output, cache_read or cache_write, "
				       "found extra",
			"an unknown field");
		ok(d.items[1].line == 4 && d.items[1].col == 67, "at its value, 4:67 (%d:%d)", d.items[1].line,
			d.items[1].col);
		is_str(d.items[2].msg, "model c: expected a price >= 0 for output, found a negative "
				       "number",
			"a negative price");
		ok(d.items[2].line == 4 && d.items[2].col == 25, "at 4:25 (%d:%d)", d.items[2].line,
			d.items[2].col);
		is_str(d.items[3].msg, "model d: expected cache_write (USD per million tokens), "
				       "found nothing",
			"a missing price");
		is_str(d.items[4].msg, "model e: expected a map {input, output, cache_read, "
				       "cache_write}, found an integer",
			"not a map");
		ok(d.items[4].line == 6 && d.items[4].col == 6 && !strcmp(d.items[4].file, path),
			"at FILE:6:6");
	}
	diag_free(&d);

	write_file(path, "model:\n  a: {input: 1, output: 2, cache_read: 0.1, cache_write: 1}\n");
	ok(llm_new(&o, &l, &d) == DM_EINPUT && d.n >= 1 &&
			has(d.items[0].msg, "expected only the key models, found model") &&
			d.items[0].line == 2,
		"a misspelt models: key: %s", d.n ? d.items[0].msg : "");
	diag_free(&d);

	write_file(path, "models: [\n");
	ok(llm_new(&o, &l, &d) == DM_EINPUT && d.n >= 1 && d.items[0].line >= 1,
		"a YAML syntax error comes with its position");
	diag_free(&d);

	o.pricing = "/nonexistent/pricing.yaml";
	ok(llm_new(&o, &l, &d) == DM_EINPUT && d.n == 1 && has(d.items[0].msg, "no such file"),
		"a missing pricing file");
	diag_free(&d);

	o.pricing = rules_pricing;
	ok(llm_new(&o, &l, &d) == 0 && l && d.n == 0, "rules/pricing.yaml loads");
	llm_free(l);
	diag_free(&d);

	o.nchain = 0;
	ok(llm_new(&o, &l, &d) == DM_EINPUT && d.n == 1, "an empty chain is refused");
	diag_free(&d);
	unlink(path);
	rmdir(dir);
}

static int
find_python(void)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL, buf[4096];
	int found = 0;

	if (!path)
		return 0;
	copy = xstrdup(path);
	for (dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
		snprintf(buf, sizeof(buf), "%s/python3", *dir ? dir : ".");
		found = access(buf, X_OK) == 0;
	}
	free(copy);
	return found;
}

static int
find_stub(const char *argv0)
{
	const char *env = getenv("LLM_STUB");
	const char *slash = strrchr(argv0, '/');

	if (env && access(env, R_OK) == 0) {
		snprintf(stub_path, sizeof(stub_path), "%s", env);
		return 1;
	}
	snprintf(stub_path, sizeof(stub_path), "tests/stub/llm_stub.py");
	if (access(stub_path, R_OK) == 0)
		return 1;
	if (slash) {
		snprintf(stub_path, sizeof(stub_path), "%.*s/../stub/llm_stub.py",
			(int)(slash - argv0), argv0);
		if (access(stub_path, R_OK) == 0)
			return 1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	(void)argc;
	if (!find_python()) {
		printf("1..0 # SKIP python3 not found\n");
		return 0;
	}
	if (!find_stub(argv[0])) {
		printf("1..0 # SKIP tests/stub/llm_stub.py not found\n");
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	/* the stub is on the loopback: never through a proxy */
	setenv("NO_PROXY", "127.0.0.1,localhost", 1);
	setenv("no_proxy", "127.0.0.1,localhost", 1);
	{
		const char *slash = strrchr(stub_path, '/');

		snprintf(rules_pricing, sizeof(rules_pricing), "%.*s/../../rules/pricing.yaml",
			(int)(slash - stub_path), stub_path);
	}
	test_loading();
	test_pricing();
	ok(curl_mapped(), "the first engine loaded libcurl");
	test_anthropic();
	test_anthropic_cache();
	test_openai();
	test_errors();
	test_nokey();
	test_retry_after();
	test_refused();
	test_timeout();
	test_breaker();
	test_budget();
	test_throughput();
	test_command();
	test_commands_parallel();
	test_reentry_and_cancel();
	test_secrets();
	return done_testing();
}
