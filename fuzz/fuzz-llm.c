/* fuzz-llm.c - libFuzzer target for the LLM reply parsers:
 * llm_parse_anthropic and llm_parse_openai on arbitrary bytes.  The first
 * byte picks the HTTP status (from a list of the ones providers send, or
 * another value in 100..599), the rest is the body; both parsers read it.
 *
 * The result contract checked on every input:
 *  - the return value is 0 or -1;
 *  - LLM_OK <=> a non-empty text and no message, and then the return is 0;
 *  - any other error <=> a message and no text; -1 implies an error;
 *  - a status outside 2xx is never LLM_OK;
 *  - the error is one of the enum's values.
 * Build (needs the libraries configure found, curl among them):
 *   clang -std=c11 -D_POSIX_C_SOURCE=200809L -D_XOPEN_SOURCE=700 -pthread \
 *     -DDM_VERSION='"fuzz"' -Isrc -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -o fuzz/bin/fuzz-llm fuzz/fuzz-llm.c src/llm.c src/json.c src/spec.c \
 *     src/value.c src/util.c src/hash.c src/run.c $(DEP_LIBS)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int rc, const struct llm_response *r, long status)
{
	if (rc != 0 && rc != -1)
		abort();
	if (r->error < LLM_OK || r->error > LLM_E_NOKEY)
		abort();
	if (r->error == LLM_OK) {
		if (rc != 0 || !r->text || !*r->text || r->message)
			abort();
		if (status < 200 || status > 299)
			abort();
	} else {
		if (!r->message || r->text)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = {200, 201, 400, 401, 402, 403, 404, 408, 409, 429, 500,
		502, 503, 529};
	struct llm_response r;
	const char *body;
	long status;
	int rc;

	if (size < 1)
		return 0;
	if (data[0] < sizeof(statuses) / sizeof(statuses[0]) * 16)
		status = statuses[data[0] % (sizeof(statuses) / sizeof(statuses[0]))];
	else
		status = 100 + ((long)data[0] * 7) % 500;
	body = (const char *)data + 1;

	memset(&r, 0, sizeof(r));
	rc = llm_parse_anthropic(body, size - 1, status, &r);
	check(rc, &r, status);
	free(r.text);
	free(r.message);

	memset(&r, 0, sizeof(r));
	rc = llm_parse_openai(body, size - 1, status, &r);
	check(rc, &r, status);
	free(r.text);
	free(r.message);
	return 0;
}
