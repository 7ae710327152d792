/* fuzz-spec.c - libFuzzer target for the YAML spec loader: spec_parse on
 * arbitrary bytes, then (on success) freeze, resolve every node's path and
 * free.  Built by `make fuzz`, run by `make fuzz-run` (see fuzz/run.sh).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_paths(const struct val *root, const struct val *v)
{
	size_t i;

	if (val_resolve(root, v->path) != v)
		abort();
	for (i = 0; i < v->n; i++)
		check_paths(root, v->items[i]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag d = {0};
	struct val *v = NULL;

	if (spec_parse("fuzz.yaml", (const char *)data, size, &v, &d) == 0) {
		if (!v || v->kind != VAL_MAP)
			abort();
		val_freeze(v, "");
		check_paths(v, v);
		val_free(v);
	} else if (v || d.nerrors == 0) {
		abort();
	}
	diag_free(&d);
	return 0;
}
