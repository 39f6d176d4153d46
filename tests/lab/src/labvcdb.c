/*
 * labvcdb.c - the lab's vPostgres (labvcdb.h).
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "labutil.h"
#include "labvcdb.h"

#define OUT_MAX		(64 * 1024)	/* more is no single value */
#define POLL_MS		10
#define START_WAIT_MS	30000	/* pg_ctl's default wait: 60 s */

int
vcdb_present(const char *conf)
{
	char	*v = lab_conf_get(conf, "pg_bindir");
	int	 yes = v != NULL && *v != '\0';

	free(v);
	return yes;
}

/* pg_bindir/prog, malloc'd, or NULL (errno ENOENT: no pg_bindir). */
static char *
vcdb_program(const char *conf, const char *prog)
{
	char	*dir, *path = NULL;

	if ((dir = lab_conf_get(conf, "pg_bindir")) == NULL)
		return NULL;
	if (asprintf(&path, "%s/%s", dir, prog) == -1)
		path = NULL;
	free(dir);
	return path;
}

static int
write_proc(const char *file, const char *text)
{
	int	fd, ok;

	if ((fd = open(file, O_WRONLY | O_CLOEXEC)) == -1)
		return -1;
	ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	close(fd);
	return ok ? 0 : -1;
}

/*
 * Root: a user namespace in which our uid and gid are the owner's, as
 * unshare(1) --map-user does: only our own ids are mapped, which needs no
 * privilege in the parent namespace. Anyone else stays who they are.
 */
static int
vcdb_become_owner(const char *conf)
{
	struct passwd	*pw;
	char		*user, map[64];
	uid_t		 uid = geteuid();
	gid_t		 gid = getegid();

	if (uid != 0)
		return 0;
	if ((user = lab_conf_get(conf, "pg_user")) == NULL)
		return -1;
	pw = getpwnam(user);
	free(user);
	if (pw == NULL) {
		errno = ENOENT;
		return -1;
	}
	if (unshare(CLONE_NEWUSER) == -1 ||
	    write_proc("/proc/self/setgroups", "deny") == -1)
		return -1;
	snprintf(map, sizeof(map), "%lu %lu 1\n", (unsigned long)pw->pw_uid,
	    (unsigned long)uid);
	if (write_proc("/proc/self/uid_map", map) == -1)
		return -1;
	snprintf(map, sizeof(map), "%lu %lu 1\n", (unsigned long)pw->pw_gid,
	    (unsigned long)gid);
	return write_proc("/proc/self/gid_map", map);
}

/* Waits for pid; its exit status, or -1 when it did not exit. */
static int
wait_exit(pid_t pid)
{
	int	status;

	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/*
 * In the child: stdin /dev/null, stdout and stderr to fd, nothing else
 * open. The server outlives service-control: a descriptor it inherited (a
 * caller's pipe, faketime's) would stay open as long as it runs.
 */
static void
child_output(int fd)
{
	int	nul;

	if ((nul = open("/dev/null", O_RDONLY)) != -1 && nul != 0) {
		dup2(nul, 0);
		close(nul);
	}
	dup2(fd, 1);
	dup2(fd, 2);
	lab_close_fds_but(-1, -1);
}

/* The postmaster's pid file: its pid, and whether its status line (the
 * eighth) says "ready". 0 when there is no such file (yet). */
static pid_t
postmaster(const char *pidfile, int *ready)
{
	char	*text = NULL, *line;
	size_t	 n = 0;
	int	 i;
	pid_t	 pid;

	*ready = 0;
	if (lab_read_file(pidfile, &text, &n) == -1)
		return 0;
	pid = (pid_t)atol(text);
	for (line = text, i = 1; line != NULL && i < 8; i++)
		if ((line = strchr(line, '\n')) != NULL)
			line++;
	*ready = line != NULL && strncmp(line, "ready", 5) == 0;
	free(text);
	return pid;
}

/*
 * The server as pg_ctl would start it (setsid, its output to the log), but
 * watched every POLL_MS rather than pg_ctl's tenth of a second: the lab
 * starts it at every restart. Waits until it is ready or gone.
 */
static int
vcdb_start(const char *root, const char *conf, char *msg, size_t len)
{
	struct timespec	 ts = { 0, POLL_MS * 1000000L };
	char	*bin = NULL, *data = NULL, *sock = NULL, *log = NULL,
		*pidfile = NULL;
	pid_t	 pid, w;
	int	 fd = -1, status, ready = 0, waited, ret = -1;

	if ((bin = vcdb_program(conf, "postgres")) == NULL ||
	    (data = lab_path(root, VCDB_DATA)) == NULL ||
	    (sock = lab_path(root, VCDB_SOCKDIR)) == NULL ||
	    (log = lab_path(root, VCDB_LOG)) == NULL ||
	    (pidfile = lab_path(root, VCDB_PID)) == NULL) {
		snprintf(msg, len, "no PostgreSQL in lab.conf (pg_bindir)");
		goto out;
	}
	if ((fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0644)) == -1) {
		snprintf(msg, len, "%s: %s", log, strerror(errno));
		goto out;
	}
	fflush(NULL);
	if ((pid = fork()) == -1) {
		snprintf(msg, len, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		(void)setsid();
		child_output(dup(fd));
		if (vcdb_become_owner(conf) == -1) {
			dprintf(2, "vpostgres: cannot become the database "
			    "owner: %s\n", strerror(errno));
			_exit(126);
		}
		/* The postmaster keeps the log as its stdout and stderr. */
		execl(bin, "postgres", "-D", data, "-c", "listen_addresses=",
		    "-k", sock, (char *)NULL);
		dprintf(2, "vpostgres: %s: %s\n", bin, strerror(errno));
		_exit(127);
	}
	for (waited = 0; waited < START_WAIT_MS; waited += POLL_MS) {
		if (postmaster(pidfile, &ready) == pid && ready)
			break;
		if ((w = waitpid(pid, &status, WNOHANG)) == pid) {
			snprintf(msg, len, "postgres %s %d (see %s)",
			    WIFEXITED(status) ? "exited with status" :
			    "died, wait status", WIFEXITED(status) ?
			    WEXITSTATUS(status) : status, VCDB_LOG);
			goto out;
		}
		nanosleep(&ts, NULL);
	}
	if (!ready) {
		snprintf(msg, len, "postgres not ready after %d s (see %s)",
		    START_WAIT_MS / 1000, VCDB_LOG);
		goto out;
	}
	ret = 0;
out:
	if (fd != -1)
		close(fd);
	free(bin);
	free(data);
	free(sock);
	free(log);
	free(pidfile);
	return ret;
}

/* A fast shutdown (SIGINT, pg_ctl -m fast), watched every POLL_MS. */
static int
vcdb_stop(const char *root, char *msg, size_t len)
{
	struct timespec	 ts = { 0, POLL_MS * 1000000L };
	char	*pidfile;
	pid_t	 pid;
	int	 ready, waited, ret = -1;

	if ((pidfile = lab_path(root, VCDB_PID)) == NULL) {
		snprintf(msg, len, "out of memory");
		return -1;
	}
	if ((pid = postmaster(pidfile, &ready)) <= 0 ||
	    (kill(pid, SIGINT) == -1 && errno == ESRCH)) {
		ret = 0;	/* not running */
		goto out;
	}
	/* Done when it removed its pid file, as pg_ctl waits (a process
	 * gone may stay a zombie a while where no init reaps it). */
	for (waited = 0; waited < START_WAIT_MS; waited += POLL_MS) {
		if (postmaster(pidfile, &ready) != pid ||
		    (kill(pid, 0) == -1 && errno == ESRCH)) {
			ret = 0;
			goto out;
		}
		nanosleep(&ts, NULL);
	}
	snprintf(msg, len, "postgres (pid %ld) still runs %d s after a fast "
	    "shutdown", (long)pid, START_WAIT_MS / 1000);
out:
	free(pidfile);
	return ret;
}

int
vcdb_ctl(const char *root, const char *conf, const char *op, char *msg,
    size_t len)
{
	return strcmp(op, "start") == 0 ? vcdb_start(root, conf, msg, len) :
	    vcdb_stop(root, msg, len);
}

/* Reads fd to its end into a NUL-terminated buffer, at most OUT_MAX. */
static char *
read_all(int fd, size_t *lenp)
{
	char	*buf, *nbuf;
	size_t	 len = 0, cap = 1024;
	ssize_t	 n;

	if ((buf = malloc(cap)) == NULL)
		return NULL;
	for (;;) {
		if (len + 1 == cap) {
			if (cap >= OUT_MAX || (nbuf = realloc(buf,
			    cap * 2)) == NULL) {
				free(buf);
				return NULL;
			}
			buf = nbuf;
			cap *= 2;
		}
		if ((n = read(fd, buf + len, cap - len - 1)) == -1) {
			if (errno == EINTR)
				continue;
			free(buf);
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

int
vcdb_query_one(const char *root, const char *conf, const char *sql,
    char **out, char *msg, size_t len)
{
	char	*psql = NULL, *sock = NULL, *text = NULL, *nl;
	size_t	 n = 0;
	pid_t	 pid = -1;
	int	 p[2] = { -1, -1 }, rc, ret = -1;

	*out = NULL;
	if ((psql = vcdb_program(conf, "psql")) == NULL ||
	    (sock = lab_path(root, VCDB_SOCKDIR)) == NULL) {
		snprintf(msg, len, "no PostgreSQL in lab.conf (pg_bindir)");
		goto out;
	}
	fflush(NULL);
	if (pipe2(p, O_CLOEXEC) == -1 || (pid = fork()) == -1) {
		snprintf(msg, len, "cannot run psql: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		close(p[0]);
		child_output(dup(p[1]));
		execl(psql, "psql", "-X", "-q", "-A", "-t", "-v",
		    "ON_ERROR_STOP=1", "-h", sock, "-U", "postgres", "-d",
		    "VCDB", "-c", sql, (char *)NULL);
		dprintf(2, "%s: %s\n", psql, strerror(errno));
		_exit(127);
	}
	close(p[1]);
	p[1] = -1;
	text = read_all(p[0], &n);
	rc = wait_exit(pid);
	if (text == NULL) {
		snprintf(msg, len, "psql: cannot read its output");
		goto out;
	}
	if ((nl = strchr(text, '\n')) != NULL)
		*nl = '\0';
	if (rc != 0) {
		snprintf(msg, len, "%s", *text != '\0' ? text :
		    "psql failed");
		goto out;
	}
	if (*text != '\0') {
		*out = text;
		text = NULL;
	}
	ret = 0;
out:
	if (p[0] != -1)
		close(p[0]);
	if (p[1] != -1)
		close(p[1]);
	free(psql);
	free(sock);
	free(text);
	return ret;
}
