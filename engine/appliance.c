/*
 * appliance.c - identity discovery through the appliance's own tools.
 * See appliance.h.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "appliance.h"
#include "pool.h"
#include "proc.h"
#include "vmdir.h"

char *
app_path(const char *root, const char *rel)
{
	size_t	 rl = strlen(root);
	char	*p = NULL;

	while (rl > 0 && root[rl - 1] == '/')
		rl--;
	if (asprintf(&p, "%.*s/%s", (int)rl, root, rel) == -1)
		return NULL;
	return p;
}

int
app_exists(const char *root, const char *rel)
{
	char	*path = app_path(root, rel);
	int	 there;

	there = path != NULL && access(path, F_OK) == 0;
	free(path);
	return there;
}

void
free_secret(char *s)
{
	if (s != NULL) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

int
app_run(const char *root, const char *rel, const char *const *args,
    const char *input, struct proc_result *res, struct buf *err)
{
	const char *argv[16];
	char	*tool;
	size_t	 i;
	int	 ret = 0;

	if ((tool = app_path(root, rel)) == NULL) {
		buf_printf(err, "out of memory");
		return -1;
	}
	argv[0] = tool;
	for (i = 0; args[i] != NULL && i + 2 < sizeof(argv) / sizeof(argv[0]);
	    i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	if (proc_run(argv, input, APP_TOOL_TIMEOUT_MS, res) == -1) {
		buf_printf(err, "cannot run %s: %s", tool, strerror(errno));
		ret = -1;
	}
	free(tool);
	return ret;
}

/* Runs `vmafd-cli CMD --server-name localhost' and returns its one line. */
static char *
vmafd_get(const char *root, const char *cmd, struct buf *err)
{
	struct proc_result res;
	const char *args[] = { cmd, "--server-name", "localhost", NULL };
	char	*val = NULL;
	size_t	 len;

	if (app_run(root, APP_VMAFD_CLI, args, NULL, &res, err) == -1)
		return NULL;
	len = res.out.len;
	while (len > 0 && (res.out.data[len - 1] == '\n' ||
	    res.out.data[len - 1] == '\r'))
		len--;
	if (res.status != 0 || len == 0 ||
	    memchr(res.out.data, '\n', len) != NULL) {
		const char *e = buf_str(&res.err);

		buf_printf(err, "vmafd-cli %s failed (exit %d)%s%.*s", cmd,
		    res.status, *e ? ": " : "",
		    (int)strcspn(e, "\n"), e);
	} else
		val = strndup(res.out.data, len);
	proc_result_free(&res);
	return val;
}

static int
dns_name_ok(const char *s, int wildcard)
{
	size_t	 len = strlen(s), label = 0, i;
	int	 digits = 1;

	if (wildcard && strncmp(s, "*.", 2) == 0) {
		s += 2;
		len -= 2;
	}
	if (len == 0 || len > 253)
		return 0;
	for (i = 0; i <= len; i++) {
		if (s[i] == '.' || s[i] == '\0') {
			if (label == 0 || label > 63 || s[i - 1] == '-')
				return 0;
			if (s[i] == '\0')
				break;
			label = 0;
			digits = 1;
			continue;
		}
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return 0;
		if (label == 0 && s[i] == '-')
			return 0;
		if (!isdigit((unsigned char)s[i]))
			digits = 0;
		label++;
	}
	/* 192.0.2.300 is no address, and no name either. */
	return !digits;
}

int
app_name_kind(const char *s, int wildcard)
{
	unsigned char	 a[16];

	if (inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1)
		return APP_NAME_IP;
	return dns_name_ok(s, wildcard) ? APP_NAME_DNS : 0;
}

char *
app_san_entry(const char *s, int wildcard)
{
	char	*e = NULL;

	switch (app_name_kind(s, wildcard)) {
	case APP_NAME_DNS:
		if (asprintf(&e, "DNS:%s", s) == -1)
			e = NULL;
		break;
	case APP_NAME_IP:
		if (asprintf(&e, "IP:%s", s) == -1)
			e = NULL;
		break;
	}
	return e;
}

/* local@domain: printable ASCII without spaces, commas or quotes before
 * the one '@', a DNS name after it (RFC 5280's rfc822Name, as used). */
static int
email_ok(const char *s)
{
	const char *at = strchr(s, '@'), *p;

	if (at == NULL || at == s || strchr(at + 1, '@') != NULL ||
	    at - s > 64)
		return 0;
	for (p = s; p < at; p++)
		if (*p <= 0x20 || *p >= 0x7f || *p == ',' || *p == '"' ||
		    *p == '\\')
			return 0;
	return dns_name_ok(at + 1, 0);
}

int
app_san_entry_ok(const char *entry)
{
	if (strncmp(entry, "DNS:", 4) == 0)
		return app_name_kind(entry + 4, 1) == APP_NAME_DNS;
	if (strncmp(entry, "IP:", 3) == 0)
		return app_name_kind(entry + 3, 0) == APP_NAME_IP;
	if (strncmp(entry, "email:", 6) == 0)
		return email_ok(entry + 6);
	return 0;
}

char *
app_san_parse(const char *s)
{
	unsigned char	 a[16];
	char		 text[INET6_ADDRSTRLEN], *e = NULL;
	int		 af = 0;

	if (strncasecmp(s, "DNS:", 4) == 0) {
		if (dns_name_ok(s + 4, 1) && asprintf(&e, "DNS:%s", s + 4) == -1)
			e = NULL;
		return e;
	}
	if (strncasecmp(s, "email:", 6) == 0) {
		if (email_ok(s + 6) && asprintf(&e, "email:%s", s + 6) == -1)
			e = NULL;
		return e;
	}
	if (strncasecmp(s, "IP:", 3) == 0)
		s += 3;
	else if (app_name_kind(s, 1) == APP_NAME_DNS)
		return app_san_entry(s, 1);
	/* An address in one form: 2001:DB8::0:1 is 2001:db8::1. */
	if (inet_pton(AF_INET, s, a) == 1)
		af = AF_INET;
	else if (inet_pton(AF_INET6, s, a) == 1)
		af = AF_INET6;
	if (af == 0 || inet_ntop(af, a, text, sizeof(text)) == NULL ||
	    asprintf(&e, "IP:%s", text) == -1)
		return NULL;
	return e;
}

static void
query_run(void *arg)
{
	struct app_query *q = arg;

	q->val = vmafd_get(q->root, q->cmd, &q->err);
}

void
appliance_identify_start(struct app_ident *id, const char *root,
    struct pool *p, struct pool_group *g)
{
	static const char *const cmds[APP_NQUERIES] = { "get-pnid",
	    "get-machine-id", "get-domain-name", "get-site-name" };
	size_t	 i;

	memset(id, 0, sizeof(*id));
	for (i = 0; i < APP_NQUERIES; i++) {
		id->q[i].root = root;
		id->q[i].cmd = cmds[i];
	}
	for (i = 0; i < APP_NQUERIES; i++) {
		pool_add(p, g, query_run, &id->q[i]);
		/* On the spot, a failed tool ends the queries, as it did. */
		if (p == NULL && id->q[i].val == NULL)
			break;
	}
}

int
appliance_identify_finish(struct app_ident *id, struct appliance *app,
    const char *root, struct buf *err)
{
	char	*path = NULL, *nt = NULL;
	char	**field[APP_NQUERIES] = { &app->pnid, &app->machine_id,
	    &app->domain, &app->site };
	size_t	 i;
	int	 ret = 0;

	memset(app, 0, sizeof(*app));
	if ((app->root = strdup(root)) == NULL)
		ret = -1;
	/* The first that failed names the error; what came after it is
	 * dropped, as when the tools ran one after another. */
	for (i = 0; i < APP_NQUERIES; i++) {
		if (ret == 0 && id->q[i].val == NULL) {
			buf_puts(err, buf_str(&id->q[i].err));
			ret = -1;
		}
		if (ret == 0)
			*field[i] = id->q[i].val;
		else
			free(id->q[i].val);
		id->q[i].val = NULL;
		buf_free(&id->q[i].err);
	}
	if (app->root == NULL)
		return -1;
	/* The PNID goes into the CN and SAN of new certificates and into
	 * LDAP filters: a name or an address, nothing else. */
	if (ret == 0 && app_name_kind(app->pnid, 0) == 0) {
		buf_printf(err, "the PNID \"%s\" (vmafd-cli get-pnid) is not a "
		    "DNS name or an IP address", app->pnid);
		ret = -1;
	}
	if (app->domain != NULL &&
	    (app->domain_dn = vmdir_domain_dn(app->domain)) == NULL)
		ret = -1;
	/* The node type is informative; an absent file is not an error. */
	if ((path = app_path(root, APP_NODE_TYPE)) != NULL) {
		FILE	*f = fopen(path, "re");
		char	 line[64];

		if (f != NULL && fgets(line, sizeof(line), f) != NULL) {
			line[strcspn(line, "\r\n")] = '\0';
			nt = strdup(line);
		}
		if (f != NULL)
			fclose(f);
	}
	app->node_type = nt;
	free(path);
	/* The PSC a management node leans on (vmafd's DCName). */
	if (ret == 0 && app_is_management(app)) {
		struct buf derr = BUF_INIT;

		app->dc_name = vmafd_get(root, "get-dc-name", &derr);
		if (app->dc_name != NULL && app_name_kind(app->dc_name, 0) == 0) {
			free(app->dc_name);
			app->dc_name = NULL;
		}
		buf_free(&derr);
	}
	return ret;
}

int
app_is_management(const struct appliance *app)
{
	return app->node_type != NULL &&
	    strcmp(app->node_type, "management") == 0;
}

int
appliance_identify(struct appliance *app, const char *root, struct buf *err)
{
	struct app_ident id;

	appliance_identify_start(&id, root, NULL, NULL);
	return appliance_identify_finish(&id, app, root, err);
}

void
appliance_free(struct appliance *app)
{
	free(app->root);
	free(app->pnid);
	free(app->machine_id);
	free(app->domain);
	free(app->domain_dn);
	free(app->site);
	free(app->node_type);
	free(app->dc_name);
	memset(app, 0, sizeof(*app));
}

/* Reads a "quoted" token with \" and \\ escapes; returns the end or NULL. */
static const char *
quoted(const char *p, char **out)
{
	struct buf b = BUF_INIT;

	if (*p != '"')
		return NULL;
	for (p++; *p != '"'; p++) {
		if (*p == '\0' || *p == '\n')
			goto fail;
		if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
			p++;
		if (buf_putc(&b, *p) == -1)
			goto fail;
	}
	*out = buf_detach(&b);
	return *out != NULL ? p + 1 : NULL;
fail:
	buf_free_secret(&b);
	return NULL;
}

int
lwreg_parse_line(const char *line, char **name, char **value)
{
	const char *p = line;

	*name = *value = NULL;
	p += strspn(p, "+ \t");
	if ((p = quoted(p, name)) == NULL)
		return -1;
	p += strspn(p, " \t");
	p += strcspn(p, " \t");		/* the type: REG_SZ */
	p += strspn(p, " \t");
	if (quoted(p, value) == NULL) {
		free(*name);
		*name = NULL;
		return -1;
	}
	return 0;
}

int
appliance_machine_account(const char *root, char **dn, char **password,
    struct buf *err)
{
	struct proc_result res;
	const char *args[] = { "list_values", APP_VMDIR_KEY, NULL };
	char	*line, *next, *name, *value;
	int	 ret = -1;

	*dn = *password = NULL;
	if (app_run(root, APP_LWREGSHELL, args, NULL, &res, err) == -1)
		return -1;
	if (res.status != 0) {
		buf_printf(err, "lwregshell list_values %s failed (exit %d)",
		    APP_VMDIR_KEY, res.status);
		goto out;
	}
	for (line = res.out.data; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (lwreg_parse_line(line, &name, &value) == -1)
			continue;
		if (strcasecmp(name, "dcAccountDN") == 0 && *dn == NULL)
			*dn = value;
		else if (strcasecmp(name, "dcAccountPassword") == 0 &&
		    *password == NULL)
			*password = value;
		else
			free_secret(value);
		free(name);
	}
	if (*dn == NULL || *password == NULL) {
		buf_printf(err, "lwregshell shows no %s under %s",
		    *dn == NULL ? "dcAccountDN" : "dcAccountPassword",
		    APP_VMDIR_KEY);
		free(*dn);
		free_secret(*password);
		*dn = *password = NULL;
		goto out;
	}
	ret = 0;
out:
	/* The output holds the machine account's password. */
	buf_free_secret(&res.out);
	buf_free(&res.err);
	return ret;
}

int
appliance_lock(const char *root, const char *who, int *fd, struct buf *err)
{
	char	*dir = app_path(root, APP_VCROTATE_TMP), *path = NULL;
	char	 holder[128];
	struct stat st;
	ssize_t	 n;
	int	 ret = -1, busy = 0;

	*fd = -1;
	if (dir == NULL || asprintf(&path, "%s/lock", dir) == -1) {
		path = NULL;
		goto out;
	}
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		buf_printf(err, "%s: %s", dir, strerror(errno));
		goto out;
	}
	/* Never through a symlink, never a link to another file: the lock
	 * is truncated and written. */
	if ((*fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600)) == -1) {
		if (errno == ELOOP)
			buf_printf(err, "%s: a symlink: refusing to follow "
			    "it", path);
		else
			buf_printf(err, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(*fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_nlink != 1 || st.st_uid != geteuid()) {
		buf_printf(err, "%s: not a lock file of ours (a regular file "
		    "with one link, owned by uid %ld): refusing to use it",
		    path, (long)geteuid());
		close(*fd);
		*fd = -1;
		goto out;
	}
	if (flock(*fd, LOCK_EX | LOCK_NB) == -1) {
		n = pread(*fd, holder, sizeof(holder) - 1, 0);
		holder[n > 0 ? n : 0] = '\0';
		holder[strcspn(holder, "\n")] = '\0';
		buf_printf(err, "another transaction holds the lock %s (%s)",
		    path, n > 0 ? holder : "holder unknown");
		close(*fd);
		*fd = -1;
		busy = 1;
		goto out;
	}
	if (ftruncate(*fd, 0) == 0)
		dprintf(*fd, "pid %ld, %s\n", (long)getpid(), who);
	ret = 0;
out:
	free(dir);
	free(path);
	if (busy)
		errno = EWOULDBLOCK;
	return ret;
}
