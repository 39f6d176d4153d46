/*
 * labutil.c - paths, whole-file I/O, atomic writes, key=value files, the
 * registry and small helpers for the lab's programs. See labutil.h.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "labutil.h"

char *
lab_root(const char *suffix)
{
	char	 exe[PATH_MAX];
	const char *env;
	size_t	 elen, slen;
	ssize_t	 n;
	char	*root = NULL;

	if ((env = getenv("VCROTATE_LAB_ROOT")) != NULL && *env != '\0')
		return strdup(env);
	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) < 0)
		return NULL;
	exe[n] = '\0';
	elen = (size_t)n;
	slen = strlen(suffix);
	/* The program must sit at ROOT/suffix: "/" + suffix at the end. */
	if (elen < slen + 1 || exe[elen - slen - 1] != '/' ||
	    strcmp(exe + elen - slen, suffix) != 0) {
		errno = EINVAL;
		return NULL;
	}
	if (elen - slen - 1 == 0)
		return strdup("/");
	if ((root = strndup(exe, elen - slen - 1)) == NULL)
		return NULL;
	return root;
}

char *
lab_path(const char *root, const char *rel)
{
	char	*p = NULL;
	size_t	 rl = strlen(root);

	while (rl > 0 && root[rl - 1] == '/')
		rl--;
	if (asprintf(&p, "%.*s/%s", (int)rl, root, rel) == -1)
		return NULL;
	return p;
}

int
lab_read_file(const char *path, char **out, size_t *len)
{
	struct stat st;
	char	*buf = NULL, *nbuf;
	size_t	 cap, used = 0;
	ssize_t	 n;
	int	 fd, rc = -1, saved;

	*out = NULL;
	if (len != NULL)
		*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	cap = (fstat(fd, &st) == 0 && st.st_size > 0) ?
	    (size_t)st.st_size + 1 : 4096;
	if ((buf = malloc(cap)) == NULL)
		goto out;
	for (;;) {
		if (used + 1 >= cap) {
			if ((nbuf = realloc(buf, cap * 2)) == NULL)
				goto out;
			buf = nbuf;
			cap *= 2;
		}
		n = read(fd, buf + used, cap - used - 1);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	buf[used] = '\0';
	*out = buf;
	buf = NULL;
	if (len != NULL)
		*len = used;
	rc = 0;
out:
	saved = errno;
	free(buf);
	close(fd);
	errno = saved;
	return rc;
}

static int
fsync_dir_of(const char *path)
{
	char	*dir = NULL, *slash;
	int	 fd, rc = -1;

	if ((dir = strdup(path)) == NULL)
		return -1;
	if ((slash = strrchr(dir, '/')) == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		rc = fsync(fd);
		close(fd);
	}
	free(dir);
	return rc;
}

int
lab_write_file_atomic(const char *path, const void *buf, size_t len,
    mode_t mode)
{
	char	*tmp = NULL;
	const char *p = buf;
	ssize_t	 n;
	int	 fd = -1, rc = -1, saved;

	if (asprintf(&tmp, "%s.tmp.%ld", path, (long)getpid()) == -1)
		return -1;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    mode)) == -1)
		goto out;
	if (fchmod(fd, mode) == -1)
		goto out;
	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) == -1 || close(fd) == -1) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto out;
	if (fsync_dir_of(path) == -1)
		goto out;
	rc = 0;
out:
	saved = errno;
	if (fd != -1)
		close(fd);
	if (rc == -1 && tmp != NULL)
		unlink(tmp);
	free(tmp);
	errno = saved;
	return rc;
}

int
lab_mkdirs(const char *path, mode_t mode)
{
	char	*p = NULL, *s;
	int	 rc = -1;

	if ((p = strdup(path)) == NULL)
		return -1;
	for (s = p + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, mode) == -1 && errno != EEXIST)
			goto out;
		*s = c;
		if (c == '\0')
			break;
	}
	rc = 0;
out:
	free(p);
	return rc;
}

/* Finds `key=' at the start of a line; returns the start of the value. */
static const char *
conf_find(const char *buf, const char *key, size_t *vlen)
{
	size_t	 klen = strlen(key);
	const char *line = buf, *nl;

	while (*line != '\0') {
		nl = strchr(line, '\n');
		if (strncmp(line, key, klen) == 0 && line[klen] == '=') {
			const char *v = line + klen + 1;
			*vlen = nl != NULL ? (size_t)(nl - v) : strlen(v);
			return v;
		}
		if (nl == NULL)
			break;
		line = nl + 1;
	}
	return NULL;
}

char *
lab_conf_get(const char *file, const char *key)
{
	char	*buf = NULL, *val = NULL;
	const char *v;
	size_t	 vlen;

	if (lab_read_file(file, &buf, NULL) == -1)
		return NULL;
	if ((v = conf_find(buf, key, &vlen)) == NULL)
		errno = ENOENT;
	else
		val = strndup(v, vlen);
	free(buf);
	return val;
}

int
lab_conf_set(const char *file, const char *key, const char *value)
{
	char	*buf = NULL, *out = NULL;
	const char *v;
	size_t	 vlen, len = 0;
	int	 rc = -1, n;

	if (strchr(value, '\n') != NULL || strchr(key, '=') != NULL) {
		errno = EINVAL;
		return -1;
	}
	if (lab_read_file(file, &buf, &len) == -1) {
		if (errno != ENOENT)
			return -1;
		if ((buf = strdup("")) == NULL)
			return -1;
		len = 0;
	}
	if ((v = conf_find(buf, key, &vlen)) != NULL)
		n = asprintf(&out, "%.*s%s%s", (int)(v - buf), buf, value,
		    v + vlen);
	else
		n = asprintf(&out, "%s%s%s=%s\n", buf,
		    (len > 0 && buf[len - 1] != '\n') ? "\n" : "", key, value);
	if (n == -1) {
		out = NULL;
		goto out;
	}
	rc = lab_write_file_atomic(file, out, (size_t)n, 0644);
out:
	free(buf);
	free(out);
	return rc;
}

/* Unescapes a registry value in place: \\ -> \, \n -> newline. */
static void
reg_unescape(char *s)
{
	char	*d = s;

	for (; *s != '\0'; s++) {
		if (*s == '\\' && s[1] == 'n') {
			*d++ = '\n';
			s++;
		} else if (*s == '\\' && s[1] == '\\') {
			*d++ = '\\';
			s++;
		} else
			*d++ = *s;
	}
	*d = '\0';
}

int
lab_reg_list(const char *root, const char *key,
    void (*fn)(const char *name, const char *value, void *arg), void *arg)
{
	char	*path = NULL, *buf = NULL, *line, *next, *eq;
	size_t	 klen = strlen(key);
	int	 in = 0, found = 0, rc = -1;

	if ((path = lab_path(root, LAB_REGISTRY)) == NULL)
		return -1;
	if (lab_read_file(path, &buf, NULL) == -1)
		goto out;
	for (line = buf; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (line[0] == '[') {
			in = strlen(line) == klen + 2 && line[klen + 1] == ']' &&
			    strncasecmp(line + 1, key, klen) == 0;
			found |= in;
			continue;
		}
		if (!in || (eq = strchr(line, '=')) == NULL)
			continue;
		*eq = '\0';
		reg_unescape(eq + 1);
		fn(line, eq + 1, arg);
	}
	if (!found) {
		errno = ENOENT;
		goto out;
	}
	rc = 0;
out:
	free(path);
	/* The vmdir key holds the machine account's password. */
	if (buf != NULL)
		lab_free_secret(buf, strlen(buf));
	return rc;
}

struct reg_get {
	const char *name;
	char	   *value;
	int	    oom;
};

static void
reg_get_cb(const char *name, const char *value, void *arg)
{
	struct reg_get *g = arg;

	if (g->value == NULL && strcasecmp(name, g->name) == 0 &&
	    (g->value = strdup(value)) == NULL)
		g->oom = 1;
}

char *
lab_reg_get(const char *root, const char *key, const char *name)
{
	struct reg_get g = { name, NULL, 0 };

	if (lab_reg_list(root, key, reg_get_cb, &g) == -1)
		return NULL;
	if (g.value == NULL)
		errno = g.oom ? ENOMEM : ENOENT;
	return g.value;
}

void
lab_free_secret(void *buf, size_t len)
{
	if (buf == NULL)
		return;
	explicit_bzero(buf, len);
	free(buf);
}

void
lab_hex(const void *in, size_t len, char *out)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*p = in;
	size_t			 i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 0xf];
	}
	out[2 * len] = '\0';
}

int
lab_sha1_thumbprint(X509 *x, char out[60])
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	unsigned int	n, i;

	if (!X509_digest(x, EVP_sha1(), md, &n) || n != 20)
		return -1;
	for (i = 0; i < n; i++)
		snprintf(out + 3 * i, 4, "%02X%s", md[i], i + 1 < n ? ":" : "");
	return 0;
}

int
lab_no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

int
lab_service_running(const char *root, const char *svc)
{
	char	*dir = NULL, *file = NULL;
	struct stat st;
	int	 rc = -1;

	if ((dir = lab_path(root, LAB_SERVICES_DIR)) == NULL)
		return -1;
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode))
		goto out;
	if (asprintf(&file, "%s/%s", dir, svc) == -1) {
		file = NULL;
		goto out;
	}
	rc = access(file, F_OK) == 0;
out:
	free(dir);
	free(file);
	return rc;
}

void
lab_close_fds_but(int keep, int keep2)
{
	DIR		*d = NULL;
	struct dirent	*de = NULL;
	int		 fd;

	if ((d = opendir("/proc/self/fd")) == NULL) {
		/* No /proc (an empty root, tests/release/run.sh): every
		 * descriptor up to the limit, so that no lock is inherited. */
		long	 max = sysconf(_SC_OPEN_MAX);

		for (fd = 3; fd < (max > 0 && max < 65536 ? max : 1024); fd++)
			if (fd != keep && fd != keep2)
				close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		fd = atoi(de->d_name);
		if (de->d_name[0] < '0' || de->d_name[0] > '9' || fd <= 2 ||
		    fd == keep || fd == keep2 || fd == dirfd(d))
			continue;
		close(fd);
	}
	closedir(d);
}

int
lab_is_management(const char *root)
{
	char	*path = NULL, *buf = NULL;
	size_t	 len = 0;
	int	 ret = 0;

	if ((path = lab_path(root, LAB_NODE_TYPE)) != NULL &&
	    lab_read_file(path, &buf, &len) == 0)
		ret = strncmp(buf, "management", 10) == 0;
	free(path);
	free(buf);
	return ret;
}
