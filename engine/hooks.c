/*
 * hooks.c - running renew's hooks. See hooks.h.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hooks.h"

/* The search path a hook gets: the system's, nothing of the caller's. */
#define HOOK_PATH	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:" \
			"/usr/bin:/sbin:/bin"
#define HOOK_POLL_MS	20

void
hook_env_set(struct hook_env *e, const char *name, const char *value)
{
	char	**nv, *s, *c;

	if (e->oom)
		return;
	/* Room for one more after the NULL: hook_run's PATH. */
	if ((nv = reallocarray(e->v, e->n + 3, sizeof(*nv))) == NULL) {
		e->oom = 1;
		return;
	}
	e->v = nv;
	if (asprintf(&s, "%s=%s", name, value != NULL ? value : "") == -1) {
		e->oom = 1;
		return;
	}
	/* One line of printable text: a tool's message may hold anything. */
	for (c = s; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = ' ';
	e->v[e->n++] = s;
	e->v[e->n] = NULL;
}

void
hook_env_free(struct hook_env *e)
{
	size_t	 i;

	for (i = 0; i < e->n; i++)
		free(e->v[i]);
	free(e->v);
	memset(e, 0, sizeof(*e));
}

/* What may run as root from an unattended timer: a regular executable
 * file that only its owner can change. */
static int
hook_file_ok(const char *path, const char *name, struct buf *err)
{
	struct stat st;

	if (stat(path, &st) == -1) {
		buf_printf(err, "%s hook %s: %s", name, path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 0111) == 0) {
		buf_printf(err, "%s hook %s: not an executable file", name,
		    path);
		return -1;
	}
	if ((st.st_mode & 022) != 0) {
		buf_printf(err, "%s hook %s: writable by its group or others "
		    "(mode %03o): refused", name, path,
		    (unsigned)(st.st_mode & 0777));
		return -1;
	}
	return 0;
}

/* In the child: /dev/null in, our stderr out, no other descriptor (the
 * appliance lock among them), then the program. Never returns. */
static void
hook_exec(char *const argv[], char *const envp[])
{
	int	 fd, max;

	if ((fd = open("/dev/null", O_RDONLY)) != -1 && fd != STDIN_FILENO) {
		dup2(fd, STDIN_FILENO);
		close(fd);
	}
	dup2(STDERR_FILENO, STDOUT_FILENO);
	max = (int)sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 65536)
		max = 65536;
	for (fd = 3; fd < max; fd++)
		close(fd);
	signal(SIGPIPE, SIG_DFL);
	execve(argv[0], argv, envp);
	fprintf(stderr, "vcrotate: cannot run %s: %s\n", argv[0],
	    strerror(errno));
	_exit(127);
}

/* Waits for pid at most secs seconds (then kills it): its wait status, or
 * -1 when killed for the time (*timed_out set). */
static int
hook_wait(pid_t pid, int secs, int *timed_out)
{
	struct timespec nap = { 0, HOOK_POLL_MS * 1000000L };
	long	 waited = 0;
	int	 st;
	pid_t	 r;

	*timed_out = 0;
	for (;;) {
		r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return st;
		if (r == -1 && errno != EINTR)
			return -1;
		if (waited >= (long)secs * 1000) {
			*timed_out = 1;
			kill(pid, SIGKILL);
			while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
				;
			return -1;
		}
		nanosleep(&nap, NULL);
		waited += HOOK_POLL_MS;
	}
}

int
hook_run(const struct config *cfg, enum hook_when w, struct hook_env *env,
    struct buf *err)
{
	char	*const *argv = cfg->renew.hook[w];
	const char *name = config_hook_name(w);
	pid_t	 pid;
	int	 st, timed_out;

	if (argv == NULL)
		return 0;
	hook_env_set(env, "VCROTATE_HOOK", name);
	if (env->oom) {
		buf_printf(err, "%s hook: out of memory", name);
		return -1;
	}
	/* PATH last, after the caller's: it cannot be set by them. */
	env->v[env->n] = HOOK_PATH;
	env->v[env->n + 1] = NULL;
	if (hook_file_ok(argv[0], name, err) == -1) {
		env->v[env->n] = NULL;
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1) {
		env->v[env->n] = NULL;
		buf_printf(err, "%s hook %s: %s", name, argv[0],
		    strerror(errno));
		return -1;
	}
	if (pid == 0)
		hook_exec(argv, env->v);
	env->v[env->n] = NULL;
	st = hook_wait(pid, cfg->renew.hook_timeout, &timed_out);
	if (timed_out)
		buf_printf(err, "%s hook %s: killed after %d seconds", name,
		    argv[0], cfg->renew.hook_timeout);
	else if (st == -1)
		buf_printf(err, "%s hook %s: %s", name, argv[0],
		    strerror(errno));
	else if (WIFSIGNALED(st))
		buf_printf(err, "%s hook %s: killed by signal %d", name,
		    argv[0], WTERMSIG(st));
	else if (WEXITSTATUS(st) != 0)
		buf_printf(err, "%s hook %s: exited %d", name, argv[0],
		    WEXITSTATUS(st));
	else
		return 0;
	return -1;
}
