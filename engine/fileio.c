/*
 * fileio.c - atomic and staged file writes. See fileio.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fault.h"
#include "fileio.h"

/* file_write_atomic's temporary name: PATH.tmp.PID. */
#define TMP_INFIX	".tmp."

static int
write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	ssize_t	 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
file_read(const char *path, struct buf *out, struct buf *err)
{
	ssize_t	 n;
	int	 fd, ret = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		buf_printf(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (buf_grow(out, 65536) == -1) {
			buf_printf(err, "%s: out of memory", path);
			goto out;
		}
		if ((n = read(fd, out->data + out->len, out->cap - out->len -
		    1)) == -1) {
			if (errno == EINTR)
				continue;
			buf_printf(err, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
		out->data[out->len] = '\0';
	}
	ret = 0;
out:
	close(fd);
	return ret;
}

int
file_write_atomic(const char *path, const void *data, size_t len,
    mode_t mode, struct buf *err)
{
	char	*tmp = NULL, *dir = NULL, *slash;
	int	 fd = -1, dfd, ret = -1;

	if (fault_point("write file", err) == -1)
		return -1;
	if (asprintf(&tmp, "%s" TMP_INFIX "%ld", path, (long)getpid()) == -1) {
		tmp = NULL;
		buf_printf(err, "out of memory");
		goto out;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    mode)) == -1 || fchmod(fd, mode) == -1 ||
	    write_all(fd, data, len) == -1 || fsync(fd) == -1) {
		buf_printf(err, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		buf_printf(err, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) == -1) {
		buf_printf(err, "%s: %s", path, strerror(errno));
		goto out;
	}
	/* The rename itself must survive a power cut. */
	if ((dir = strdup(path)) != NULL && (slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0';
		if ((dfd = open(*dir != '\0' ? dir : "/", O_RDONLY |
		    O_DIRECTORY | O_CLOEXEC)) != -1) {
			fsync(dfd);
			close(dfd);
		}
	}
	fault_done();
	ret = 0;
out:
	if (fd != -1)
		close(fd);
	if (ret == -1 && tmp != NULL)
		unlink(tmp);
	free(tmp);
	free(dir);
	return ret;
}

void
file_sweep_tmp(const char *path)
{
	char	*dir = strdup(path), *slash, *f = NULL;
	const char *base;
	DIR	*d;
	struct dirent *e;
	size_t	 n;

	if (dir == NULL || (slash = strrchr(dir, '/')) == NULL) {
		free(dir);
		return;
	}
	*slash = '\0';
	base = slash + 1;
	n = strlen(base);
	if ((d = opendir(*dir != '\0' ? dir : "/")) != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strncmp(e->d_name, base, n) != 0 ||
			    strncmp(e->d_name + n, TMP_INFIX,
			    strlen(TMP_INFIX)) != 0 ||
			    asprintf(&f, "%s/%s", dir, e->d_name) == -1)
				continue;
			if (unlink(f) == 0)
				fprintf(stderr, "vcrotate: removed %s, left by "
				    "an interrupted run\n", f);
			free(f);
		}
		closedir(d);
	}
	free(dir);
}

char *
file_stage(const char *dir, const char *name, const void *data, size_t len,
    struct buf *err)
{
	char	*path = NULL;
	int	 fd;

	if (fault_point("stage file", err) == -1)
		return NULL;
	if (asprintf(&path, "%s/%s", dir, name) == -1)
		return NULL;
	unlink(path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) ==
	    -1) {
		buf_printf(err, "%s: %s", path, strerror(errno));
		free(path);
		return NULL;
	}
	if (write_all(fd, data, len) == -1 || close(fd) == -1) {
		/* Never leave part of a key behind. */
		buf_printf(err, "%s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		free(path);
		return NULL;
	}
	fault_done();
	return path;
}

void
file_unstage(char *path)
{
	if (path != NULL) {
		unlink(path);
		free(path);
	}
}
