/* fuzz-dmfile.c - libFuzzer target for the DMfile reader (dmfile_parse,
 * no project, so no file system access).  Built by `make fuzz`, run by
 * `make fuzz-run` (see fuzz/run.sh).
 *
 * Besides memory safety it checks the result contract: errors <=>
 * DM_EINPUT and no result; on success every position points into
 * f->files with line, col >= 1, and every declaration has its canon.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dmfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_pos(const struct dmfile *f, struct srcpos p)
{
	size_t i;

	for (i = 0; i < f->nfiles; i++)
		if (p.file == f->files[i])
			break;
	if (i == f->nfiles || p.line < 1 || p.col < 1)
		abort();
}

static void
check_decl(const struct dmfile *f, const struct dm_decl *dc)
{
	size_t i;

	check_pos(f, dc->pos);
	check_pos(f, dc->argpos);
	if (!dc->canon || !*dc->arg || strncmp(dc->canon, dc->kind, strlen(dc->kind)) != 0)
		abort();
	for (i = 0; i < dc->nprops; i++) {
		check_pos(f, dc->props[i].pos);
		check_pos(f, dc->props[i].vpos);
		if (!*dc->props[i].value || strchr(dc->props[i].value, '\n'))
			abort();
	}
	for (i = 0; i < dc->nchildren; i++)
		check_decl(f, &dc->children[i]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag d = {0};
	struct dmfile *f = NULL;
	size_t i;
	int rc;

	rc = dmfile_parse("fuzz", (const char *)data, size, NULL, NULL, &f, &d);
	if ((d.nerrors > 0) != (rc == DM_EINPUT) || (rc == 0) != (f != NULL))
		abort();
	for (i = 0; i < d.n; i++)
		if (d.items[i].line < 1 || d.items[i].col < 1)
			abort();
	if (f) {
		for (i = 0; i < f->nvars; i++)
			check_pos(f, f->vars[i].pos);
		for (i = 0; i < f->ndecls; i++)
			check_decl(f, &f->decls[i]);
	}
	dmfile_free(f);
	diag_free(&d);
	return 0;
}
