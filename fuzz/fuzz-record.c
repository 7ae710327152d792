/* fuzz-record.c - libFuzzer target for the atom records read back from
 * LMDB: record_decode on arbitrary bytes must refuse or decode without
 * reading out of bounds, and a decoded record must encode to bytes that
 * decode to the same record and encode again to the same bytes.
 * Built by `make fuzz`, run by `make fuzz-run` (see fuzz/run.sh).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "key.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct record r, back;
	struct buf a = {0}, b = {0};
	size_t i;

	if (record_decode(data, size, &r) != 0)
		return 0;
	record_encode(&r, &a);
	if (record_decode(a.data, a.len, &back) != 0 || back.reads.n != r.reads.n ||
		!digest_eq(back.key, r.key) || back.flags != r.flags)
		abort();
	for (i = 0; i < r.reads.n; i++)
		if (back.reads.r[i].kind != r.reads.r[i].kind ||
			strcmp(back.reads.r[i].path, r.reads.r[i].path))
			abort();
	record_encode(&back, &b);
	if (a.len != b.len || memcmp(a.data, b.data, a.len))
		abort();
	buf_free(&a);
	buf_free(&b);
	record_free(&r);
	record_free(&back);
	return 0;
}
