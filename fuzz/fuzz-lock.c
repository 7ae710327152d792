/* fuzz-lock.c - libFuzzer target for dmbuild.lock: lock_parse on arbitrary
 * bytes.  The contract: 0 <=> entries and no error; DM_EINPUT <=> no entry
 * and an error at line >= 1.  When it parses, the text written back must
 * parse to the same entries (fills byte for byte) and be a fixed point.
 * Built by `make fuzz`, run by `make fuzz-run` (see fuzz/run.sh).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lock l, back;
	struct diag d = {0};
	char *text, *again;
	size_t len, len2, i;
	int r = lock_parse("fuzz.lock", (const char *)data, size, &l, &d);

	if (r == 0 && d.nerrors)
		abort();
	if (r != 0) {
		if (r != DM_EINPUT || !d.nerrors || l.n || d.items[0].line < 1)
			abort();
		diag_free(&d);
		return 0;
	}
	text = lock_text(&l, &len);
	if (lock_parse("again.lock", text, len, &back, &d) != 0 || back.n != l.n)
		abort();
	for (i = 0; i < l.n; i++) {
		struct lock_entry *e = lock_find(&back, l.v[i].out, l.v[i].slot);

		if (!e || strcmp(e->fill, l.v[i].fill) || !digest_eq(e->key, l.v[i].key) ||
			strcmp(e->provider, l.v[i].provider) || strcmp(e->model, l.v[i].model))
			abort();
	}
	again = lock_text(&back, &len2);
	if (len2 != len || memcmp(again, text, len))
		abort();
	free(text);
	free(again);
	lock_free(&l);
	lock_free(&back);
	diag_free(&d);
	return 0;
}
