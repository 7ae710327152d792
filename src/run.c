/* run.c - see run.h.  fork + execvp, pipes drained with poll, the time
 * limit enforced by poll timeouts and SIGKILL to the child's process
 * group.  No shell is involved at any point. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run.h"

/* Pipes are created and marked close-on-exec under this lock, and the
 * fork happens under it too, so a child started by another thread never
 * inherits our pipe ends (which would hold off end-of-file). */
static pthread_mutex_t spawn_lock = PTHREAD_MUTEX_INITIALIZER;

static int
cloexec_pipe(int p[2])
{
	if (pipe(p) != 0)
		return -1;
	fcntl(p[0], F_SETFD, FD_CLOEXEC);
	fcntl(p[1], F_SETFD, FD_CLOEXEC);
	return 0;
}


static void
close_pipe(int p[2])
{
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	p[0] = p[1] = -1;
}

/* child: never returns.  Only async-signal-safe calls after fork. */
static void
child(char *const argv[], const char *dir, int in, int out, int err, int report)
{
	int e;

	setpgid(0, 0);
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
		goto fail;
	if (dir && chdir(dir) != 0)
		goto fail;
	{
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
	}
	signal(SIGPIPE, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	execvp(argv[0], argv);
fail:
	e = errno;
	if (write(report, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

int
run_argv(char *const argv[], const char *dir, const char *in, size_t inlen, int timeout_ms,
	size_t max_out, struct run_result *res)
{
	int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1}, prep[2] = {-1, -1};
	double start = clock_ms();
	size_t inoff = 0;
	pid_t pid;
	int status = 0, devnull = -1, e, n;

	memset(res, 0, sizeof(*res));
	pthread_mutex_lock(&spawn_lock);
	if (cloexec_pipe(pout) || cloexec_pipe(perr) || cloexec_pipe(prep) ||
		(in && cloexec_pipe(pin))) {
		pthread_mutex_unlock(&spawn_lock);
		goto fail;
	}
	if (!in && (devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
		pthread_mutex_unlock(&spawn_lock);
		goto fail;
	}
	pid = fork();
	if (pid == 0)
		child(argv, dir, in ? pin[0] : devnull, pout[1], perr[1], prep[1]);
	pthread_mutex_unlock(&spawn_lock);
	if (pid < 0)
		goto fail;
	setpgid(pid, pid);
	close(pout[1]);
	close(perr[1]);
	close(prep[1]);
	pout[1] = perr[1] = prep[1] = -1;
	if (in) {
		close(pin[0]);
		pin[0] = -1;
		fcntl(pin[1], F_SETFL, O_NONBLOCK);
		if (inlen == 0)
			close_pipe(pin);
	}
	if (devnull >= 0)
		close(devnull);
	devnull = -1;
	n = (int)read(prep[0], &e, sizeof(e));
	close(prep[0]);
	prep[0] = -1;
	if (n == (int)sizeof(e)) {
		res->exec_failed = 1;
		buf_printf(&res->err, "cannot run %s: %s", argv[0], strerror(e));
	}
	for (;;) {
		struct pollfd fds[3];
		int nf = 0, wait_ms = -1, r, k;

		if (pout[0] >= 0)
			fds[nf].fd = pout[0], fds[nf++].events = POLLIN;
		if (perr[0] >= 0)
			fds[nf].fd = perr[0], fds[nf++].events = POLLIN;
		if (pin[1] >= 0)
			fds[nf].fd = pin[1], fds[nf++].events = POLLOUT;
		if (!nf)
			break;
		if (timeout_ms > 0) {
			double left = timeout_ms - (clock_ms() - start);

			if (left <= 0) {
				res->timed_out = 1;
				kill(-pid, SIGKILL);
				break;
			}
			wait_ms = (int)left + 1;
		}
		r = poll(fds, (nfds_t)nf, wait_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		for (k = 0; k < nf; k++) {
			char tmp[65536];
			ssize_t got;

			if (!fds[k].revents)
				continue;
			if (fds[k].fd == pin[1]) {
				ssize_t w = write(pin[1], in + inoff, inlen - inoff);

				if (w > 0)
					inoff += (size_t)w;
				if ((w < 0 && errno != EAGAIN && errno != EINTR) || inoff == inlen)
					close_pipe(pin);
				continue;
			}
			got = read(fds[k].fd, tmp, sizeof(tmp));
			if (got > 0) {
				struct buf *b = fds[k].fd == pout[0] ? &res->out : &res->err;
				size_t keep = b->len < max_out ? max_out - b->len : 0;

				buf_add(b, tmp, (size_t)got < keep ? (size_t)got : keep);
			} else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
				if (fds[k].fd == pout[0]) {
					close(pout[0]);
					pout[0] = -1;
				} else {
					close(perr[0]);
					perr[0] = -1;
				}
			}
		}
	}
	close_pipe(pin);
	close_pipe(pout);
	close_pipe(perr);
	if (res->timed_out)
		kill(-pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!res->timed_out && timeout_ms > 0 && clock_ms() - start > timeout_ms)
		res->timed_out = 1;
	res->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	res->ms = clock_ms() - start;
	return 0;
fail:
	e = errno;
	close_pipe(pin);
	close_pipe(pout);
	close_pipe(perr);
	close_pipe(prep);
	if (devnull >= 0)
		close(devnull);
	buf_printf(&res->err, "cannot start a process: %s", strerror(e));
	return DM_EIO;
}

void
run_result_free(struct run_result *res)
{
	buf_free(&res->out);
	buf_free(&res->err);
}

char **
run_split(const char *line, const char **why)
{
	char **v = NULL;
	size_t n = 0;
	const char *p = line;

	*why = NULL;
	for (;;) {
		struct buf w = {0};
		int have = 0;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		while (*p && *p != ' ' && *p != '\t') {
			have = 1;
			if (*p == '\'') {
				const char *q = strchr(p + 1, '\'');

				if (!q) {
					*why = "unterminated ' quote";
					buf_free(&w);
					goto fail;
				}
				buf_add(&w, p + 1, (size_t)(q - p - 1));
				p = q + 1;
			} else if (*p == '"') {
				p++;
				while (*p && *p != '"') {
					if (*p == '\\' && p[1])
						p++;
					buf_addc(&w, *p++);
				}
				if (*p != '"') {
					*why = "unterminated \" quote";
					buf_free(&w);
					goto fail;
				}
				p++;
			} else if (*p == '\\' && p[1]) {
				buf_addc(&w, p[1]);
				p += 2;
			} else {
				buf_addc(&w, *p++);
			}
		}
		if (have) {
			v = xreallocarray(v, n + 2, sizeof(*v));
			v[n++] = buf_release(&w);
			v[n] = NULL;
		}
	}
	if (!v)
		v = xcalloc(1, sizeof(*v));
	return v;
fail:
	run_argv_free(v);
	return NULL;
}

void
run_argv_free(char **argv)
{
	size_t i;

	if (!argv)
		return;
	for (i = 0; argv[i]; i++)
		free(argv[i]);
	free(argv);
}
