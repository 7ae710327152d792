/* fsio.c - atomic writes, file stamps, directory creation and removal, and
 * the checks that keep paths inside the project.  See fsio.h.
 *
 * Invariants:
 *  - fs_write_atomic never leaves a partial target: the bytes go to a
 *    temporary ".BASENAME.dmtmp.XXXXXX" (mkstemp; the name cut to stay
 *    under NAME_MAX) in the target's own directory, so the final rename(2)
 *    is atomic on one file system.  A symlink at the target is replaced,
 *    not written through.  On any failure the temporary is unlinked and
 *    errno describes the first error.
 *  - No fsync per file: rename alone covers a crash of the process; a
 *    build that must survive power loss calls sync once at the end.  A
 *    crash can leave a temporary behind, never a torn target.
 *  - Files are created 0644 (the umask is process-global and cannot be
 *    read safely from threads); directories 0777 less the umask, as with
 *    mkdir -p.
 *  - Every function is safe to call from several threads at once (for
 *    fs_write_atomic: on different paths); fs_mkdirs tolerates another
 *    thread or process creating the same directories at the same time.
 *  - Failures return DM_EIO with errno set by the failing system call.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsio.h"
#include "util.h"

int
fs_stamp(const char *path, struct fstamp *st)
{
	struct stat sb;

	memset(st, 0, sizeof(*st));
	if (stat(path, &sb) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return DM_EIO;
	}
	st->exists = 1;
	st->mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
	st->size = (int64_t)sb.st_size;
	st->ino = (uint64_t)sb.st_ino;
	st->dev = (uint64_t)sb.st_dev;
	return 0;
}

int
fstamp_eq(const struct fstamp *a, const struct fstamp *b)
{
	return a->exists == b->exists && a->mtime_ns == b->mtime_ns && a->size == b->size &&
		a->ino == b->ino && a->dev == b->dev;
}

void
fstamp_put(struct buf *b, const struct fstamp *st)
{
	buf_put_u64(b, (uint64_t)st->mtime_ns);
	buf_put_u64(b, (uint64_t)st->size);
	buf_put_u64(b, st->ino);
	buf_put_u64(b, st->dev);
	buf_addc(b, st->exists ? 1 : 0);
}

void
fstamp_get(struct cursor *c, struct fstamp *st)
{
	const unsigned char *e;

	st->mtime_ns = (int64_t)cur_u64(c);
	st->size = (int64_t)cur_u64(c);
	st->ino = cur_u64(c);
	st->dev = cur_u64(c);
	e = cur_take(c, 1);
	st->exists = e && *e;
}

/* mkdir one directory; an existing directory (made by anyone) is fine. */
static int
mkdir_one(const char *dir)
{
	struct stat sb;

	if (mkdir(dir, 0777) == 0)
		return 0;
	if (errno != EEXIST)
		return DM_EIO;
	if (stat(dir, &sb) < 0)
		return DM_EIO;
	if (!S_ISDIR(sb.st_mode)) {
		errno = ENOTDIR;
		return DM_EIO;
	}
	return 0;
}

int
fs_mkdirs(const char *dir)
{
	struct stat sb;
	char *p, *s;
	int rc = 0;

	if (!*dir)
		return 0;
	if (stat(dir, &sb) == 0) {
		if (S_ISDIR(sb.st_mode))
			return 0;
		errno = ENOTDIR;
		return DM_EIO;
	}
	p = xstrdup(dir);
	/* Each prefix ending before a '/', then the whole path. */
	for (s = p + 1; *s; s++) {
		if (*s != '/' || s[-1] == '/')
			continue;
		*s = '\0';
		rc = mkdir_one(p);
		*s = '/';
		if (rc)
			goto out;
	}
	rc = mkdir_one(p);
out:
	{
		int e = errno;

		free(p);
		errno = e;
	}
	return rc;
}

/* write_all: write n bytes, retrying short writes and EINTR. */
static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
fs_write_pieces(const char *path, const struct fs_piece *pc, size_t npc)
{
	const char *slash = strrchr(path, '/');
	struct buf tmp = {0};
	size_t i;
	int fd, e;

	if (slash) {
		char *dir = xstrndup(path, (size_t)(slash - path));

		e = slash == path ? 0 : fs_mkdirs(dir);
		if (e) {
			e = errno;
			free(dir);
			errno = e;
			return DM_EIO;
		}
		free(dir);
		buf_add(&tmp, path, (size_t)(slash - path) + 1);
		buf_printf(&tmp, ".%.200s.dmtmp.XXXXXX", slash + 1);
	} else {
		buf_printf(&tmp, ".%.200s.dmtmp.XXXXXX", path);
	}
	fd = mkstemp(tmp.data);
	if (fd < 0) {
		e = errno;
		buf_free(&tmp);
		errno = e;
		return DM_EIO;
	}
	for (i = 0; i < npc; i++)
		if (write_all(fd, pc[i].p, pc[i].n) < 0)
			goto fail;
	if (fchmod(fd, 0644) < 0)
		goto fail;
	e = close(fd);
	fd = -1;
	if (e < 0 || rename(tmp.data, path) < 0)
		goto fail;
	buf_free(&tmp);
	return 0;
fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp.data);
	buf_free(&tmp);
	errno = e;
	return DM_EIO;
}

int
fs_same_pieces(const char *path, const struct fs_piece *pc, size_t npc)
{
	char blk[65536];
	size_t i, total = 0, off = 0, have = 0;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), same = 0;

	if (fd < 0)
		return 0;
	for (i = 0; i < npc; i++)
		total += pc[i].n;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != total)
		goto out;
	/* blk holds file bytes [off, off + have) not yet compared */
	for (i = 0; i < npc; i++) {
		const char *p = pc[i].p;
		size_t n = pc[i].n;

		while (n) {
			size_t k;

			if (!have) {
				ssize_t r = read(fd, blk, sizeof(blk));

				if (r < 0 && errno == EINTR)
					continue;
				if (r <= 0)
					goto out;
				have = (size_t)r;
				off = 0;
			}
			k = n < have ? n : have;
			if (memcmp(blk + off, p, k) != 0)
				goto out;
			off += k;
			have -= k;
			p += k;
			n -= k;
		}
	}
	same = !have && read(fd, blk, 1) == 0;
out:
	close(fd);
	return same;
}

int
fs_write_atomic(const char *path, const void *p, size_t n)
{
	struct fs_piece one = {p, n};

	return fs_write_pieces(path, &one, 1);
}

int
fs_remove(const char *path)
{
	char *p, *s;

	if (unlink(path) < 0 && errno != ENOENT)
		return DM_EIO;
	/* Prune parents while rmdir succeeds; it fails on a non-empty one.
	 * An empty prefix is the project root (or "/"), which stays. */
	p = xstrdup(path);
	while ((s = strrchr(p, '/')) != NULL) {
		while (s > p && s[-1] == '/')
			s--;
		*s = '\0';
		if (!*p || strcmp(p, ".") == 0)
			break;
		if (rmdir(p) < 0)
			break;
	}
	free(p);
	return 0;
}

int
fs_check_rel(const char *path, const char **why)
{
	const char *s = path, *e;
	const char *msg = NULL;

	if (!*path)
		msg = "empty path";
	else if (*path == '/')
		msg = "absolute path";
	while (!msg) {
		size_t n;

		e = strchr(s, '/');
		n = e ? (size_t)(e - s) : strlen(s);
		if (n == 0)
			msg = "empty component";
		else if (n == 1 && s[0] == '.')
			msg = "'.' component";
		else if (n == 2 && s[0] == '.' && s[1] == '.')
			msg = "'..' component";
		if (!e)
			break;
		s = e + 1;
	}
	if (why)
		*why = msg;
	return msg ? -1 : 0;
}

int
fs_inside(const char *path, const char *dir)
{
	char *rp, *rd;
	size_t n;
	int rc;

	rp = realpath(path, NULL);
	if (!rp)
		return errno == ENOENT || errno == ENOTDIR ? DM_ENOTFOUND : DM_EIO;
	rd = realpath(dir, NULL);
	if (!rd) {
		int e = errno;

		free(rp);
		errno = e;
		return DM_EIO;
	}
	n = strlen(rd);
	if (n == 1 && rd[0] == '/')
		rc = 0;
	else
		rc = strncmp(rp, rd, n) == 0 && (rp[n] == '\0' || rp[n] == '/') ? 0 : -1;
	free(rp);
	free(rd);
	return rc;
}

static int
is_temp_name(const char *name)
{
	const char *t = strstr(name, ".dmtmp.");

	return name[0] == '.' && t && t > name && strlen(t + 7) == 6 && !strchr(t + 7, '.');
}

int
fs_remove_temps(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL) {
		char *path;

		if (!is_temp_name(e->d_name))
			continue;
		path = xasprintf("%s/%s", dir, e->d_name);
		if (unlink(path) == 0)
			n++;
		free(path);
	}
	closedir(d);
	return n;
}
