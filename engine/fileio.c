/*
 * fileio.c - atomic and staged file writes. See fileio.h.
 *
 * Every file vcrotate creates is created here, with O_CREAT|O_EXCL|
 * O_NOFOLLOW in its final directory and its final mode: a name that is
 * already taken (a leftover, a planted file or symlink) is never opened,
 * so nothing is ever written through a link to somewhere else. Directories
 * another user can write, own, or could rename away (one above them is
 * theirs or writable by them) are refused first (dir_safe).
 */
#include <sys/random.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fault.h"
#include "fileio.h"

/* file_write_atomic's temporary name: PATH.tmp.PID, or PATH.tmp.PID.RANDOM
 * when that one is taken. */
#define TMP_INFIX	".tmp."
#define TMP_TRIES	20

/* A directory opened for the *at() calls, and how to name what is in it. */
struct dir {
	int	 fd;
	char	*name;		/* for messages: "DIR" */
	char	*prefix;	/* "DIR/", or "" for a bare file name */
	const char *base;	/* the last component of the path */
};

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

static void
dir_close(struct dir *d)
{
	if (d->fd != -1)
		close(d->fd);
	free(d->name);
	free(d->prefix);
	d->fd = -1;
	d->name = d->prefix = NULL;
}

/* Opens the directory path is in; d->base is path's last component. */
static int
dir_open(struct dir *d, const char *path, struct buf *err)
{
	const char *slash = strrchr(path, '/');

	d->fd = -1;
	d->name = d->prefix = NULL;
	d->base = slash != NULL ? slash + 1 : path;
	if (*d->base == '\0' || strcmp(d->base, ".") == 0 ||
	    strcmp(d->base, "..") == 0) {
		buf_printf(err, "%s: not a file name", path);
		return -1;
	}
	if (slash == NULL)
		d->name = strdup(".");
	else if (slash == path)
		d->name = strdup("/");
	else
		d->name = strndup(path, (size_t)(slash - path));
	d->prefix = strndup(path, (size_t)(d->base - path));
	if (d->name == NULL || d->prefix == NULL) {
		buf_printf(err, "%s: out of memory", path);
		dir_close(d);
		return -1;
	}
	if ((d->fd = open(d->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1) {
		buf_printf(err, "%s: %s", d->name, strerror(errno));
		dir_close(d);
		return -1;
	}
	return 0;
}

static const char *
who_can_write(mode_t m)
{
	if ((m & S_IWGRP) && (m & S_IWOTH))
		return "its group and every user";
	return (m & S_IWOTH) ? "every user" : "its group";
}

/*
 * Whether the directory and each above it, up to /, is beyond other users'
 * reach: owned by us or by root, and not writable by others unless sticky
 * (like /tmp). Whoever owns a directory, or can write a non-sticky one above
 * it, can rename it away and put one of theirs in its place between our
 * checks and our rename. Walked with "..", from the descriptor: no path is
 * resolved again. st: the directory's own.
 */
static int
dir_chain_safe(const struct dir *d, const struct stat *st, struct buf *err)
{
	struct stat cur = *st, up;
	int	 fd = -1, next, depth, ret = -1;
	uid_t	 me = geteuid();

	for (depth = 0; depth < 256; depth++) {
		if (cur.st_uid != me && cur.st_uid != 0) {
			buf_printf(err, "refusing to write %s%s: %s%s belongs "
			    "to uid %ld, who could replace what is written "
			    "there; write it to a directory of root's or "
			    "ours", d->prefix, d->base, depth == 0 ? "the "
			    "directory " : "a directory above ", d->name,
			    (long)cur.st_uid);
			goto out;
		}
		if (depth > 0 && (cur.st_mode & (S_IWGRP | S_IWOTH)) != 0 &&
		    (cur.st_mode & S_ISVTX) == 0) {
			buf_printf(err, "refusing to write %s%s: a directory "
			    "above %s is writable by %s (mode %04o) and not "
			    "sticky, so another user could replace %s", d->prefix,
			    d->base, d->name, who_can_write(cur.st_mode),
			    (unsigned)(cur.st_mode & 07777), d->name);
			goto out;
		}
		if ((next = openat(fd != -1 ? fd : d->fd, "..", O_RDONLY |
		    O_DIRECTORY | O_CLOEXEC)) == -1 || fstat(next, &up) == -1) {
			buf_printf(err, "%s/..: %s", d->name, strerror(errno));
			if (next != -1)
				close(next);
			goto out;
		}
		if (fd != -1)
			close(fd);
		fd = next;
		if (up.st_dev == cur.st_dev && up.st_ino == cur.st_ino) {
			ret = 0;	/* / is its own parent */
			goto out;
		}
		cur = up;
	}
	buf_printf(err, "%s: too deep", d->name);
out:
	if (fd != -1)
		close(fd);
	return ret;
}

/*
 * Whether d->base may be created or replaced in d. In a directory that
 * others can write they could rename, replace or delete what we put there
 * (a plan, metrics), so it is refused, unless it is sticky like /tmp: then
 * nobody else can touch our files, and only a name of ours is replaced
 * (root may replace anyone's file there; it must not).
 */
static int
dir_safe(const struct dir *d, struct buf *err)
{
	struct stat st, fst;

	if (fstat(d->fd, &st) == -1) {
		buf_printf(err, "%s: %s", d->name, strerror(errno));
		return -1;
	}
	if (dir_chain_safe(d, &st, err) == -1)
		return -1;
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) == 0)
		return 0;
	if ((st.st_mode & S_ISVTX) == 0) {
		buf_printf(err, "refusing to write %s%s: the directory %s is "
		    "writable by %s (mode %04o) and not sticky, so another "
		    "user could replace what is written there; write it to "
		    "a directory only its owner can write", d->prefix,
		    d->base, d->name, who_can_write(st.st_mode),
		    (unsigned)(st.st_mode & 07777));
		return -1;
	}
	if (fstatat(d->fd, d->base, &fst, AT_SYMLINK_NOFOLLOW) == 0) {
		if (fst.st_uid != geteuid()) {
			buf_printf(err, "refusing to replace %s%s: it belongs "
			    "to uid %ld, not to us (uid %ld), in %s, a "
			    "directory others can write (mode %04o)",
			    d->prefix, d->base, (long)fst.st_uid,
			    (long)geteuid(), d->name,
			    (unsigned)(st.st_mode & 07777));
			return -1;
		}
	} else if (errno != ENOENT) {
		buf_printf(err, "%s%s: %s", d->prefix, d->base,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * The umask may have taken bits off mode: put them back, on the descriptor
 * (never a path). The file was never more open than mode.
 */
static int
fd_mode(int fd, mode_t mode)
{
	struct stat st;

	if (fstat(fd, &st) == -1)
		return -1;
	if ((st.st_mode & 07777) == mode)
		return 0;
	return fchmod(fd, mode);
}

/*
 * Creates the temporary file of d->base, mode mode: PATH.tmp.PID, or when
 * that name is taken (left by an earlier run of the same PID, or planted),
 * PATH.tmp.PID.RANDOM. A taken name is left as it is: it is never opened.
 */
static int
tmp_create(const struct dir *d, mode_t mode, char **name, struct buf *err)
{
	unsigned char r[6];
	int	 fd, i, n;

	*name = NULL;
	for (i = 0; i < TMP_TRIES; i++) {
		if (i == 0)
			n = asprintf(name, "%s" TMP_INFIX "%ld", d->base,
			    (long)getpid());
		else if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
			buf_printf(err, "%s%s: no random bytes for a "
			    "temporary name: %s", d->prefix, d->base,
			    strerror(errno));
			return -1;
		} else
			n = asprintf(name, "%s" TMP_INFIX "%ld.%02x%02x%02x"
			    "%02x%02x%02x", d->base, (long)getpid(), r[0],
			    r[1], r[2], r[3], r[4], r[5]);
		if (n == -1) {
			*name = NULL;
			buf_printf(err, "%s%s: out of memory", d->prefix,
			    d->base);
			return -1;
		}
		if ((fd = openat(d->fd, *name, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, mode)) != -1)
			return fd;
		if (errno != EEXIST) {
			buf_printf(err, "%s%s: %s", d->prefix, *name,
			    strerror(errno));
			free(*name);
			*name = NULL;
			return -1;
		}
		if (i == 0)
			fprintf(stderr, "vcrotate: %s%s exists (left by "
			    "another run, or put there): left alone, not "
			    "written through\n", d->prefix, *name);
		free(*name);
		*name = NULL;
	}
	buf_printf(err, "%s%s" TMP_INFIX "%ld: that temporary name and %d "
	    "others are taken", d->prefix, d->base, (long)getpid(),
	    TMP_TRIES - 1);
	return -1;
}

int
file_write_atomic(const char *path, const void *data, size_t len,
    mode_t mode, struct buf *err)
{
	return file_write_atomic_owned(path, data, len, mode, (uid_t)-1,
	    (gid_t)-1, err);
}

int
file_write_atomic_owned(const char *path, const void *data, size_t len,
    mode_t mode, uid_t uid, gid_t gid, struct buf *err)
{
	struct dir d;
	char	*tmp = NULL;
	int	 fd = -1, ret = -1;

	if (fault_point("write file", err) == -1)
		return -1;
	if (dir_open(&d, path, err) == -1)
		return -1;
	if (dir_safe(&d, err) == -1 ||
	    (fd = tmp_create(&d, mode, &tmp, err)) == -1)
		goto out;
	if (fd_mode(fd, mode) == -1 || ((uid != (uid_t)-1 ||
	    gid != (gid_t)-1) && fchown(fd, uid, gid) == -1) ||
	    write_all(fd, data, len) == -1 || fsync(fd) == -1) {
		buf_printf(err, "%s%s: %s", d.prefix, tmp, strerror(errno));
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		buf_printf(err, "%s%s: %s", d.prefix, tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	/* Again, as late as can be: the destination may have come since.
	 * rename(2) replaces a symlink itself, never what it points to. */
	if (dir_safe(&d, err) == -1)
		goto out;
	if (renameat(d.fd, tmp, d.fd, d.base) == -1) {
		buf_printf(err, "%s: %s", path, strerror(errno));
		goto out;
	}
	/* The rename itself must survive a power cut. */
	fsync(d.fd);
	fault_done();
	ret = 0;
out:
	if (fd != -1)
		close(fd);
	if (ret == -1 && tmp != NULL)
		unlinkat(d.fd, tmp, 0);
	free(tmp);
	dir_close(&d);
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
			/* unlink(2) removes a symlink, not its target. */
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
	struct dir d;
	struct stat st;
	char	*path = NULL;
	int	 fd = -1;

	if (fault_point("stage file", err) == -1)
		return NULL;
	if (asprintf(&path, "%s/%s", dir, name) == -1) {
		buf_printf(err, "%s/%s: out of memory", dir, name);
		return NULL;
	}
	if (dir_open(&d, path, err) == -1)
		goto fail;
	/* Key material: only a directory that is ours and closed to
	 * everyone else (private_dir's), where a leftover can only be ours. */
	if (fstat(d.fd, &st) == -1) {
		buf_printf(err, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
		buf_printf(err, "refusing to put key material in %s: it is "
		    "not a private directory (uid %ld, mode %04o; must be "
		    "ours, mode 0700)", dir, (long)st.st_uid,
		    (unsigned)(st.st_mode & 07777));
		goto fail;
	}
	/* And no one else could rename it away from above. */
	if (dir_chain_safe(&d, &st, err) == -1)
		goto fail;
	unlinkat(d.fd, name, 0);
	if ((fd = openat(d.fd, name, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1) {
		buf_printf(err, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (fd_mode(fd, 0600) == -1 || write_all(fd, data, len) == -1) {
		buf_printf(err, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (close(fd) == -1) {
		buf_printf(err, "%s: %s", path, strerror(errno));
		unlinkat(d.fd, name, 0);
		fd = -1;
		goto fail;
	}
	dir_close(&d);
	fault_done();
	return path;
fail:
	/* Never leave part of a key behind. */
	if (fd != -1) {
		close(fd);
		unlinkat(d.fd, name, 0);
	}
	dir_close(&d);
	free(path);
	return NULL;
}

void
file_unstage(char *path)
{
	if (path != NULL) {
		unlink(path);
		free(path);
	}
}
