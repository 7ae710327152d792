/* t-manifest: generation_manifest.json written in one step and in two
 * (entries of atoms final before the build on a thread, the others after),
 * byte for byte the same, and rewritten only when its content changes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsio.h"
#include "key.h"
#include "manifest.h"
#include "project.h"
#include "tap.h"

#define NENT 40

static void
bail_out(const char *fmt, const char *arg)
{
	printf("Bail out! ");
	printf(fmt, arg);
	printf("\n");
	exit(1);
}

static char *
slurp(const char *path)
{
	char *s;
	size_t n;

	if (file_read(path, &s, &n) != 0)
		return NULL;
	return s;
}

static void
put(const char *path, const char *text)
{
	if (fs_write_atomic(path, text, strlen(text)) != 0)
		bail_out("cannot write %s", path);
}

static void
fake_record(struct record *r, size_t i)
{
	memset(r, 0, sizeof(*r));
	r->key.hi = 0x1111111111111111ull * (i % 15 + 1);
	r->key.lo = i;
	r->out.hi = i * 7919;
	r->out.lo = ~(uint64_t)i;
	r->nspec_reads = i * 3;
	r->nfile_reads = 1 + i % 2;
}

/* two_steps: manifest_begin with later[] marked on every k-th atom from
 * `from` on, then finish with every record. */
static int
two_steps(const struct project *p, struct record *recs, size_t k, size_t from, int thread,
	const char *path)
{
	struct record **now = calloc(p->natoms, sizeof(*now));
	unsigned char *later = calloc(p->natoms, 1);
	struct manifest *m;
	size_t i;
	int r;

	for (i = 0; i < p->natoms; i++) {
		later[i] = i >= from && (i - from) % k == 0;
		now[i] = later[i] ? NULL : &recs[i];
	}
	m = manifest_begin(p, now, later, path, thread);
	for (i = 0; i < p->natoms; i++)
		if (later[i])
			now[i] = &recs[i];
	r = manifest_finish(m, now);
	free(now);
	free(later);
	return r;
}

int
main(void)
{
	char tmpl[] = "/tmp/t-manifest.XXXXXX", *dir = mkdtemp(tmpl), *want, *got;
	struct record recs[NENT + 1], *all[NENT + 1], *some[NENT + 1];
	struct project *p;
	struct diag d = {0};
	struct buf spec = {0};
	struct stat st1, st2;
	size_t i;
	int thread;

	if (!dir || chdir(dir) != 0)
		bail_out("scratch dir: %s", strerror(errno));
	buf_adds(&spec, "items:\n");
	for (i = 0; i < NENT; i++)
		buf_printf(&spec, "  - name: item%02zu\n", (i * 17) % NENT);
	put("spec.yaml", spec.data);
	buf_free(&spec);
	put("t.mustache", "{{name}}\n");
	put("DMfile", "spec = spec.yaml\n\natom out/{{name}}.txt\n    foreach = items\n"
		      "    template = t.mustache\n    check = cmd: true\n\n"
		      "atom out/all \"q\".txt\n    template = t.mustache\n");
	if (project_load("DMfile", "", &p, &d) != 0) {
		diag_print(&d, stderr);
		bail_out("project_load failed%s", "");
	}
	is_int((long)p->natoms, NENT + 1, "the project has its atoms");
	for (i = 0; i < p->natoms; i++) {
		fake_record(&recs[i], i);
		all[i] = &recs[i];
		some[i] = i % 5 == 3 ? NULL : &recs[i];
	}

	ok(manifest_write(p, all, "ref.json") == 0, "one step writes");
	want = slurp("ref.json");
	ok(want && !strncmp(want, "{\"version\":1,\"generator\":\"dmbuild ", 34),
		"it starts with the header");
	ok(want && strstr(want, "\n\"out/all \\\"q\\\".txt\":{\"atoms\":[{\"declared\":\"DMfile:8:1\""),
		"an output path is escaped as JSON");
	ok(want && strstr(want, "\"checks\":[\"cmd: true\"]"), "checks are listed");
	ok(want && strlen(want) > 4 && !strcmp(want + strlen(want) - 4, "\n}}\n"),
		"and it ends the files map");
	for (thread = 0; thread < 2; thread++) {
		const char *how = thread ? "on a thread" : "inline";

		unlink("two.json");
		ok(two_steps(p, recs, 3, 1, thread, "two.json") == 0, "%s: two steps write", how);
		got = slurp("two.json");
		is_str(got, want, "%s: every 3rd atom later: the same text", how);
		free(got);
		unlink("two.json");
		two_steps(p, recs, 1, 0, thread, "two.json");
		got = slurp("two.json");
		is_str(got, want, "%s: every atom later: the same text", how);
		free(got);
		unlink("two.json");
		two_steps(p, recs, 1000, NENT, thread, "two.json"); /* the aggregate */
		got = slurp("two.json");
		is_str(got, want, "%s: only the first entry in the order later: the same", how);
		free(got);
	}
	free(want);

	ok(manifest_write(p, some, "ref2.json") == 0, "atoms without a record have no entry");
	want = slurp("ref2.json");
	unlink("two.json");
	/* the atoms without a record (i % 5 == 3) are all later, with others */
	{
		struct record **now = calloc(p->natoms, sizeof(*now));
		unsigned char *later = calloc(p->natoms, 1);
		struct manifest *m;

		for (i = 0; i < p->natoms; i++) {
			later[i] = i % 5 == 3 || i % 4 == 0;
			now[i] = later[i] ? NULL : some[i];
		}
		m = manifest_begin(p, now, later, "two.json", 1);
		for (i = 0; i < p->natoms; i++)
			if (later[i])
				now[i] = some[i];
		ok(manifest_finish(m, now) == 0, "later atoms that end with no record");
		free(now);
		free(later);
	}
	got = slurp("two.json");
	is_str(got, want, "leave no entry and no stray comma");
	free(got);
	free(want);

	/* nothing at all */
	{
		struct record **none = calloc(p->natoms, sizeof(*none));

		manifest_write(p, none, "empty.json");
		got = slurp("empty.json");
		ok(got && strstr(got, "\"files\":{\n}}\n"), "no records: an empty files map");
		free(got);
		free(none);
	}

	/* unchanged content is not rewritten (same inode); changed is */
	stat("ref.json", &st1);
	two_steps(p, recs, 3, 1, 1, "ref.json");
	stat("ref.json", &st2);
	ok(st1.st_ino == st2.st_ino, "the same text leaves the file alone");
	recs[7].out.lo ^= 1;
	two_steps(p, recs, 3, 1, 1, "ref.json");
	stat("ref.json", &st2);
	ok(st1.st_ino != st2.st_ino, "a changed entry rewrites it");
	recs[7].out.lo ^= 1;
	put("ref.json", "short");
	stat("ref.json", &st1);
	manifest_write(p, all, "ref.json");
	stat("ref.json", &st2);
	ok(st1.st_ino != st2.st_ino, "a file of another length is rewritten");

	/* fs_same_pieces across pieces and block boundaries */
	{
		size_t n = 200000;
		char *big = malloc(n);
		struct fs_piece pc[3];

		for (i = 0; i < n; i++)
			big[i] = (char)('a' + (i * 31) % 26);
		fs_write_atomic("big", big, n);
		pc[0].p = big;
		pc[0].n = 70000;
		pc[1].p = big + 70000;
		pc[1].n = 0;
		pc[2].p = big + 70000;
		pc[2].n = n - 70000;
		ok(fs_same_pieces("big", pc, 3), "fs_same_pieces: equal across pieces and blocks");
		pc[2].n--;
		ok(!fs_same_pieces("big", pc, 3), "a file longer than the pieces differs");
		pc[2].n++;
		big[n - 1] ^= 1;
		ok(!fs_same_pieces("big", pc, 3), "a last byte that differs");
		big[n - 1] ^= 1;
		big[65536] ^= 1;
		ok(!fs_same_pieces("big", pc, 3), "a byte just past the first block");
		big[65536] ^= 1;
		ok(!fs_same_pieces("nothing-here", pc, 3), "a missing file differs");
		ok(fs_write_pieces("sub/big2", pc, 3) == 0 && fs_same_pieces("sub/big2", pc, 3),
			"fs_write_pieces writes the concatenation (parent made)");
		free(big);
	}

	project_free(p);
	diag_free(&d);
	if (chdir("/") == 0) {
		char *cmd = xasprintf("rm -rf %s", dir);

		if (system(cmd) != 0)
			note("cannot remove %s", dir);
		free(cmd);
	}
	return done_testing();
}
