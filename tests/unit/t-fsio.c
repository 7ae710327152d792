/* t-fsio.c - atomic writes (also under a concurrent reader), stamps,
 * mkdir -p, pruning removal, and the path checks.  Runs in a fresh
 * mkdtemp directory (the current directory while it runs), removed at the
 * end. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsio.h"
#include "tap.h"
#include "util.h"

static int
is_dir(const char *p)
{
	struct stat sb;

	return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int
exists(const char *p)
{
	struct stat sb;

	return lstat(p, &sb) == 0;
}

/* read_str: the file's content as a malloc'd string, or NULL. */
static char *
read_str(const char *path)
{
	char *data;
	size_t len;

	return file_read(path, &data, &len) == 0 ? data : NULL;
}

/* count_tmp: entries of dir whose name contains ".dmtmp."; *total gets
 * the number of all entries but "." and "..". */
static int
count_tmp(const char *dir, int *total)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	int n = 0;

	*total = 0;
	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		(*total)++;
		if (strstr(e->d_name, ".dmtmp."))
			n++;
	}
	closedir(d);
	return n;
}

static void
test_write_atomic(void)
{
	struct stat sb;
	char *s;
	int rc, total;

	rc = fs_write_atomic("a/b/c.txt", "hello\n", 6);
	is_int(rc, 0, "atomic write creates missing parents");
	ok(is_dir("a") && is_dir("a/b"), "parents a and a/b exist");
	s = read_str("a/b/c.txt");
	is_str(s, "hello\n", "content written");
	free(s);
	rc = stat("a/b/c.txt", &sb);
	ok(rc == 0 && (sb.st_mode & 0777) == 0644, "file mode is 0644 (got %o)",
		rc == 0 ? (unsigned)(sb.st_mode & 0777) : 0);

	is_int(fs_write_atomic("a/b/c.txt", "replaced", 8), 0, "rewrite over an existing file");
	s = read_str("a/b/c.txt");
	is_str(s, "replaced", "content replaced, old bytes gone");
	free(s);
	is_int(count_tmp("a/b", &total), 0, "no temporary file left in a/b");
	is_int(total, 1, "a/b holds only c.txt");

	is_int(fs_write_atomic("top.txt", "", 0), 0, "empty file in the current directory");
	ok(stat("top.txt", &sb) == 0 && sb.st_size == 0, "top.txt exists and is empty");
	is_int(count_tmp(".", &total), 0, "no temporary file left in .");

	is_int(fs_write_atomic("a/b/c.txt/x", "x", 1), DM_EIO, "parent is a file: DM_EIO");
	is_int(errno, ENOTDIR, "errno says ENOTDIR");
	s = read_str("a/b/c.txt");
	is_str(s, "replaced", "the file in the way is untouched");
	free(s);

	ok(mkdir("a/dir", 0755) == 0, "make a directory where a file is wanted");
	is_int(fs_write_atomic("a/dir", "x", 1), DM_EIO, "target is a directory: DM_EIO");
	is_int(errno, EISDIR, "errno says EISDIR");
	is_int(count_tmp("a", &total), 0, "failed write left no temporary file in a");
	is_int(total, 2, "a holds b and dir only");

	{
		char name[256];

		memset(name, 'n', 255);
		name[255] = '\0';
		is_int(fs_write_atomic(name, "long", 4), 0, "a 255-byte file name (temp name cut)");
		s = read_str(name);
		is_str(s, "long", "long-named file written");
		free(s);
		unlink(name);
	}

	ok(mkdir("ro", 0555) == 0, "make a read-only directory");
	if (geteuid() == 0) {
		ok(1, "# SKIP running as root: permissions not enforced");
	} else {
		is_int(fs_write_atomic("ro/f", "x", 1), DM_EIO, "unwritable directory: DM_EIO");
	}
	chmod("ro", 0755);
}

static void
test_stamp(void)
{
	struct fstamp a, b, none, none2;
	struct timespec ts[2];
	int fd;

	is_int(fs_stamp("no/such/file", &none), 0, "stamp of a missing file succeeds");
	is_int(none.exists, 0, "missing: exists = 0");
	is_int(fs_stamp("top.txt/below", &none2), 0, "stamp below a file succeeds (ENOTDIR)");
	ok(fstamp_eq(&none, &none2), "two missing files have equal stamps");

	fs_write_atomic("st.txt", "12345", 5);
	ts[0].tv_sec = ts[1].tv_sec = 1700000000;
	ts[0].tv_nsec = ts[1].tv_nsec = 123456789;
	fd = open("st.txt", O_RDONLY);
	ok(fd >= 0 && futimens(fd, ts) == 0, "set mtime with nanoseconds");
	close(fd);
	is_int(fs_stamp("st.txt", &a), 0, "stamp of st.txt");
	is_int(a.exists, 1, "exists = 1");
	is_int(a.size, 5, "size 5");
	is_int(a.mtime_ns, 1700000000123456789LL, "mtime keeps its nanoseconds");
	ok(a.ino != 0, "inode recorded");
	fs_stamp("st.txt", &b);
	ok(fstamp_eq(&a, &b), "unchanged file: equal stamps");
	ok(!fstamp_eq(&a, &none), "present vs missing differ");

	fd = open("st.txt", O_RDONLY);
	ts[0].tv_nsec = ts[1].tv_nsec = 123456790;
	futimens(fd, ts);
	close(fd);
	fs_stamp("st.txt", &b);
	ok(!fstamp_eq(&a, &b), "a 1 ns mtime change is seen");

	fs_write_atomic("st.txt", "12345", 5);
	fs_stamp("st.txt", &b);
	ok(b.ino != a.ino && !fstamp_eq(&a, &b), "atomic rewrite gives a new inode");
}

static void
test_mkdirs(void)
{
	is_int(fs_mkdirs("m1/m2/m3"), 0, "mkdir -p of three levels");
	ok(is_dir("m1/m2/m3"), "m1/m2/m3 is a directory");
	is_int(fs_mkdirs("m1/m2/m3"), 0, "existing directories are fine");
	is_int(fs_mkdirs("m1//m2/x/"), 0, "doubled and trailing slashes");
	ok(is_dir("m1/m2/x"), "m1/m2/x is a directory");
	is_int(fs_mkdirs(""), 0, "empty path: nothing to do");
	is_int(fs_mkdirs("top.txt/sub"), DM_EIO, "through a file: DM_EIO");
	is_int(errno, ENOTDIR, "errno says ENOTDIR");
	is_int(fs_mkdirs("top.txt"), DM_EIO, "an existing file is not a directory");
	is_int(errno, ENOTDIR, "errno says ENOTDIR");
}

#define RACERS 8

struct racer {
	int id, failures;
};

static void *
race_writer(void *arg)
{
	struct racer *r = arg;
	char path[64], body[64];
	int i;

	for (i = 0; i < 50; i++) {
		snprintf(path, sizeof(path), "race/p%d/q/t%d_%d", i % 3, r->id, i);
		snprintf(body, sizeof(body), "thread %d file %d", r->id, i);
		if (fs_write_atomic(path, body, strlen(body)))
			r->failures++;
	}
	if (fs_mkdirs("race2/a/b/c/d/e"))
		r->failures++;
	return NULL;
}

static void
test_threads_write(void)
{
	pthread_t th[RACERS];
	struct racer r[RACERS];
	char path[64], body[64], *s;
	int i, j, failures = 0, wrong = 0, total, tmp = 0;

	for (i = 0; i < RACERS; i++) {
		r[i].id = i;
		r[i].failures = 0;
		pthread_create(&th[i], NULL, race_writer, &r[i]);
	}
	for (i = 0; i < RACERS; i++) {
		pthread_join(th[i], NULL);
		failures += r[i].failures;
	}
	is_int(failures, 0, "%d threads writing into shared new directories: no failure", RACERS);
	for (i = 0; i < RACERS; i++)
		for (j = 0; j < 50; j++) {
			snprintf(path, sizeof(path), "race/p%d/q/t%d_%d", j % 3, i, j);
			snprintf(body, sizeof(body), "thread %d file %d", i, j);
			s = read_str(path);
			wrong += !s || strcmp(s, body) != 0;
			free(s);
		}
	is_int(wrong, 0, "every file has its own content");
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "race/p%d/q", i);
		tmp += count_tmp(path, &total);
	}
	is_int(tmp, 0, "no temporary files left");
	ok(is_dir("race2/a/b/c/d/e"), "racing fs_mkdirs of one path all succeeded");
}

#define BIG_A 65536
#define BIG_B 100000

static atomic_int writer_done;

struct reader {
	const char *a, *b;
	long reads, bad, missing;
};

static void *
reader_main(void *arg)
{
	struct reader *r = arg;
	char *data;
	size_t len;

	while (!atomic_load(&writer_done)) {
		int rc = file_read("torn/target", &data, &len);

		if (rc) {
			r->missing++;
			continue;
		}
		r->reads++;
		if (!((len == BIG_A && memcmp(data, r->a, len) == 0) ||
			    (len == BIG_B && memcmp(data, r->b, len) == 0)))
			r->bad++;
		free(data);
	}
	return NULL;
}

static void
test_no_torn_reads(void)
{
	struct reader r = {0};
	char *a = xmalloc(BIG_A), *b = xmalloc(BIG_B);
	pthread_t th;
	int i, fails = 0, total;

	for (i = 0; i < BIG_A; i++)
		a[i] = (char)('a' + i % 26);
	for (i = 0; i < BIG_B; i++)
		b[i] = (char)('A' + i % 17);
	r.a = a;
	r.b = b;
	fs_write_atomic("torn/target", a, BIG_A);
	atomic_store(&writer_done, 0);
	pthread_create(&th, NULL, reader_main, &r);
	for (i = 0; i < 1000; i++)
		fails += fs_write_atomic("torn/target", i % 2 ? a : b, i % 2 ? BIG_A : BIG_B) != 0;
	atomic_store(&writer_done, 1);
	pthread_join(th, NULL);
	is_int(fails, 0, "1000 rewrites succeed");
	note("reader saw %ld complete reads", r.reads);
	ok(r.reads > 0, "the reader read while the writer wrote");
	is_int(r.bad, 0, "the reader never saw a torn or mixed file");
	is_int(r.missing, 0, "the reader never found the file missing");
	is_int(count_tmp("torn", &total), 0, "no temporary files left in torn/");
	free(a);
	free(b);
}

static void
test_remove(void)
{
	fs_write_atomic("r/s/t/file", "x", 1);
	fs_write_atomic("r/keep", "x", 1);
	is_int(fs_remove("r/s/t/file"), 0, "remove r/s/t/file");
	ok(!exists("r/s/t/file"), "file is gone");
	ok(!exists("r/s"), "empty parents r/s/t and r/s pruned");
	ok(is_dir("r") && exists("r/keep"), "non-empty r kept with its file");
	is_int(fs_remove("r/keep"), 0, "remove r/keep");
	ok(!exists("r"), "r pruned once empty");
	ok(is_dir("."), "the project root stays");
	is_int(fs_remove("r/keep"), 0, "removing a missing file succeeds");
	fs_write_atomic("alone", "x", 1);
	is_int(fs_remove("alone"), 0, "remove a top-level file");
	ok(!exists("alone") && is_dir("."), "top-level file gone, . stays");
	fs_write_atomic("u/v/w", "x", 1);
	is_int(fs_remove("./u/v/w"), 0, "remove through ./");
	ok(!exists("u") && is_dir("."), "u/v and u pruned, . stays");
	ok(mkdir("dd", 0755) == 0, "make a directory");
	is_int(fs_remove("dd"), DM_EIO, "fs_remove of a directory is DM_EIO");
	ok(is_dir("dd"), "the directory is still there");
}

static void
test_check_rel(void)
{
	static const struct {
		const char *path, *why;
	} cases[] = {
		{"a", NULL},
		{"a/b/c.py", NULL},
		{".hidden/x", NULL},
		{"a/..b/c", NULL},
		{"...", NULL},
		{"a.", NULL},
		{"back\\slash", NULL},
		{"", "empty path"},
		{"/etc/passwd", "absolute path"},
		{"/", "absolute path"},
		{".", "'.' component"},
		{"./a", "'.' component"},
		{"a/./b", "'.' component"},
		{"a/.", "'.' component"},
		{"..", "'..' component"},
		{"../a", "'..' component"},
		{"a/../b", "'..' component"},
		{"a/..", "'..' component"},
		{"a//b", "empty component"},
		{"a/", "empty component"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *why = "unset";
		int rc = fs_check_rel(cases[i].path, &why);

		is_int(rc, cases[i].why ? -1 : 0, "fs_check_rel(\"%s\") result", cases[i].path);
		is_str(why, cases[i].why, "fs_check_rel(\"%s\") reason", cases[i].path);
	}
	is_int(fs_check_rel("../x", NULL), -1, "why may be NULL");
}

static void
test_inside(const char *top)
{
	char *abs_out;

	fs_write_atomic("proj/in.txt", "x", 1);
	fs_write_atomic("proj/sub/deep.txt", "x", 1);
	fs_write_atomic("outside.txt", "x", 1);
	fs_write_atomic("proj2/f", "x", 1);
	abs_out = xasprintf("%s/outside.txt", top);
	ok(symlink("../outside.txt", "proj/link_out") == 0, "symlink proj/link_out -> ../outside.txt");
	ok(symlink("in.txt", "proj/link_in") == 0, "symlink proj/link_in -> in.txt");
	ok(symlink(abs_out, "proj/sub/abs_out") == 0, "symlink to an absolute path outside");
	ok(symlink("..", "proj/sub/up") == 0, "symlink proj/sub/up -> ..");
	ok(symlink("../..", "proj/sub/upup") == 0, "symlink proj/sub/upup -> ../..");
	ok(symlink("missing", "proj/dangling") == 0, "dangling symlink");
	ok(symlink("proj", "projlink") == 0, "symlink projlink -> proj");

	is_int(fs_inside("proj/in.txt", "proj"), 0, "plain file inside");
	is_int(fs_inside("proj/sub/deep.txt", "proj"), 0, "file in a subdirectory inside");
	is_int(fs_inside("proj", "proj"), 0, "the directory itself is inside");
	is_int(fs_inside("proj/link_in", "proj"), 0, "symlink to a file inside");
	is_int(fs_inside("proj/sub/up/in.txt", "proj"), 0, "symlink up but still inside");
	is_int(fs_inside("proj/link_out", "proj"), -1, "symlink to a file outside leaves");
	is_int(fs_inside("proj/sub/abs_out", "proj"), -1, "absolute symlink outside leaves");
	is_int(fs_inside("proj/sub/upup/outside.txt", "proj"), -1, "symlinked .. .. leaves");
	is_int(fs_inside("proj/../outside.txt", "proj"), -1, "literal .. leaves");
	is_int(fs_inside("proj2/f", "proj"), -1, "a sibling sharing the name prefix is outside");
	is_int(fs_inside("proj/missing", "proj"), DM_ENOTFOUND, "missing path: DM_ENOTFOUND");
	is_int(fs_inside("proj/dangling", "proj"), DM_ENOTFOUND, "dangling symlink: DM_ENOTFOUND");
	is_int(fs_inside("projlink/in.txt", "proj"), 0, "path through a symlinked root");
	is_int(fs_inside("proj/in.txt", "projlink"), 0, "dir given as a symlink");
	is_int(fs_inside("proj/in.txt", "/"), 0, "everything is inside /");
	is_int(fs_inside(abs_out, top), 0, "absolute path inside absolute dir");
	free(abs_out);
}

int
main(void)
{
	char top[] = "/tmp/t-fsio.XXXXXX", cwd[4096], *cmd;

	if (!getcwd(cwd, sizeof(cwd)) || !mkdtemp(top) || chdir(top) < 0) {
		ok(0, "set up a scratch directory");
		return done_testing();
	}
	note("scratch directory %s", top);
	test_write_atomic();
	test_stamp();
	test_mkdirs();
	test_threads_write();
	test_no_torn_reads();
	test_remove();
	test_check_rel();
	test_inside(top);
	if (chdir(cwd) < 0)
		ok(0, "return to %s", cwd);
	cmd = xasprintf("rm -rf '%s'", top);
	ok(system(cmd) == 0 && !exists(top), "scratch directory removed");
	free(cmd);
	return done_testing();
}
