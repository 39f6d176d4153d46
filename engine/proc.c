/*
 * proc.c - fork/exec with captured output and a time limit. See proc.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "proc.h"

extern char **environ;

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
close_pipe(int p[2])
{
	if (p[0] != -1)
		close(p[0]);
	if (p[1] != -1)
		close(p[1]);
	p[0] = p[1] = -1;
}

/*
 * Starts argv[0] with its standard input, output and error on the pipes'
 * far ends (in[0], out[1], err[1]). posix_spawn rather than fork: no copy
 * of this process's page tables for every tool run, and an exec failure
 * comes back as an error rather than as an exit status 127. dup2 clears
 * O_CLOEXEC on the copies; every other descriptor closes on exec. The tool
 * runs in a process group of its own: a Ctrl+C at the terminal is for
 * vcrotate to handle between changes, not for a vecs-cli half-way through
 * one. 0, or an errno value.
 */
static int
spawn(const char *const argv[], const int in[2], const int out[2],
    const int err[2], pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t dfl;
	int	 rc;

	if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
		return rc;
	if ((rc = posix_spawnattr_init(&attr)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return rc;
	}
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	if ((rc = posix_spawn_file_actions_adddup2(&fa, in[0], 0)) == 0 &&
	    (rc = posix_spawn_file_actions_adddup2(&fa, out[1], 1)) == 0 &&
	    (rc = posix_spawn_file_actions_adddup2(&fa, err[1], 2)) == 0 &&
	    (rc = posix_spawnattr_setsigdefault(&attr, &dfl)) == 0 &&
	    (rc = posix_spawnattr_setpgroup(&attr, 0)) == 0 &&
	    (rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF |
	    POSIX_SPAWN_SETPGROUP)) == 0)
		rc = posix_spawn(pid, argv[0], &fa, &attr,
		    (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	return rc;
}

/*
 * Feeds input to in[1] and reads out[0] and err[0] into res until both
 * end, or the deadline (ms on now_ms's clock, 0: none) passes, when the
 * tool is killed. chunk: the read buffer (the caller wipes it). 1 killed,
 * 0 done, -1 failed (errno).
 */
static int
pump(pid_t pid, int in[2], int out[2], int err[2], const char *input,
    long long deadline, struct proc_result *res, char *chunk, size_t csize)
{
	struct pollfd pfd[3];
	size_t	 in_off = 0, in_len = input != NULL ? strlen(input) : 0;

	while (out[0] != -1 || err[0] != -1) {
		int	 n = 0, wait_ms = -1, i;

		if (deadline) {
			long long left = deadline - now_ms();
			if (left <= 0) {
				kill(pid, SIGKILL);
				return 1;
			}
			wait_ms = (int)left;
		}
		pfd[n].fd = out[0];  pfd[n++].events = POLLIN;
		pfd[n].fd = err[0];  pfd[n++].events = POLLIN;
		pfd[n].fd = in[1];   pfd[n++].events = POLLOUT;
		if (poll(pfd, (nfds_t)n, wait_ms) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (i = 0; i < 2; i++) {
			int	*fd = i == 0 ? &out[0] : &err[0];
			struct buf *b = i == 0 ? &res->out : &res->err;
			ssize_t	 r;

			if (*fd == -1 || !(pfd[i].revents & (POLLIN | POLLHUP |
			    POLLERR)))
				continue;
			r = read(*fd, chunk, csize);
			if (r > 0) {
				if (buf_add(b, chunk, (size_t)r) == -1)
					return -1;
			} else if (r == 0 || errno != EINTR) {
				close(*fd);
				*fd = -1;
			}
		}
		if (in[1] != -1 && (pfd[2].revents & (POLLOUT | POLLERR |
		    POLLHUP))) {
			ssize_t	 w = write(in[1], input + in_off, in_len - in_off);

			if (w > 0)
				in_off += (size_t)w;
			if (w < 0 || in_off == in_len) {
				close(in[1]);
				in[1] = -1;
			}
		}
	}
	return 0;
}

int
proc_run(const char *const argv[], const char *input, int timeout_ms,
    struct proc_result *res)
{
	int	 in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	long long deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
	char	 chunk[65536];
	pid_t	 pid = -1;
	int	 wstatus, killed, saved, rc;

	memset(res, 0, sizeof(*res));
	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(out, O_CLOEXEC) == -1 ||
	    pipe2(err, O_CLOEXEC) == -1)
		goto fail;
	if ((rc = spawn(argv, in, out, err, &pid)) != 0) {
		pid = -1;
		errno = rc;
		goto fail;
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
	in[0] = out[1] = err[1] = -1;
	if (input == NULL || *input == '\0') {
		close(in[1]);
		in[1] = -1;
	}
	if ((killed = pump(pid, in, out, err, input, deadline, res, chunk,
	    sizeof(chunk))) == -1)
		goto fail;
	close_pipe(in);
	close_pipe(out);
	close_pipe(err);
	while (waitpid(pid, &wstatus, 0) == -1)
		if (errno != EINTR) {
			pid = -1;
			goto fail;
		}
	if (killed)
		res->status = 128 + SIGKILL;
	else if (WIFEXITED(wstatus))
		res->status = WEXITSTATUS(wstatus);
	else
		res->status = 128 + WTERMSIG(wstatus);
	/* The last read may be a key (getkey) or a password (lwregshell). */
	OPENSSL_cleanse(chunk, sizeof(chunk));
	return 0;
fail:
	saved = errno;
	if (pid > 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
			;
	}
	OPENSSL_cleanse(chunk, sizeof(chunk));
	close_pipe(in);
	close_pipe(out);
	close_pipe(err);
	proc_result_free(res);
	errno = saved;
	return -1;
}

/* Wiped: the output may be a key (getkey) or a password (lwregshell). */
void
proc_result_free(struct proc_result *res)
{
	buf_free_secret(&res->out);
	buf_free_secret(&res->err);
}
