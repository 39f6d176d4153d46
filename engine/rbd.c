/*
 * rbd.c - Auto Deploy's vc_servers through the appliance's sqlite3. See
 * rbd.h.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "appliance.h"
#include "fault.h"
#include "proc.h"
#include "rbd.h"

#define PLACE_PREFIX	"AutoDeploy/vc_servers/"
/* sqlite3 -ascii: fields end in US, rows in RS. */
#define US		'\x1f'
#define RS		'\x1e'

/* 8.0's place first, then 7.0's (vCert chooses by version). */
static const char *const dbs[] = { "etc/vmware-rbd/db/db",
    "var/lib/rbd/db" };


/* vmon-cli -s rbd's "Starttype: X" line: 1 when X is AUTOMATIC. */
static int
automatic(const char *out)
{
	const char *p = out, *v;

	for (; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p != NULL ?
	    p + 1 : NULL) {
		if (strncmp(p, "Starttype", 9) != 0 ||
		    (v = strchr(p, ':')) == NULL)
			continue;
		v += strspn(v + 1, " \t") + 1;
		return strncmp(v, "AUTOMATIC", 9) == 0 &&
		    strchr("\r\n", v[9]) != NULL;
	}
	return 0;
}

int
rbd_where(const char *root, const char **rel, struct buf *err)
{
	static const char *const args[] = { "-s", "rbd", NULL };
	struct proc_result res;
	size_t	 i;
	int	 yes;

	*rel = NULL;
	if (!app_exists(root, APP_VMON_CLI))
		return 0;
	if (app_run(root, APP_VMON_CLI, args, NULL, &res, err) == -1)
		return -1;
	if (res.status != 0) {
		buf_printf(err, "vmon-cli -s rbd failed (exit %d): %.*s",
		    res.status, (int)strcspn(buf_str(&res.err), "\n"),
		    buf_str(&res.err));
		proc_result_free(&res);
		return -1;
	}
	yes = automatic(buf_str(&res.out));
	proc_result_free(&res);
	if (!yes)
		return 0;
	for (i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++)
		if (app_exists(root, dbs[i])) {
			*rel = dbs[i];
			return 1;
		}
	return 0;
}

void
rbd_rows_free(struct rbd_row *rows, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(rows[i].thumbprint);
	free(rows);
}

const struct rbd_row *
rbd_row(const struct rbd_row *rows, size_t n, long id)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (rows[i].id == id)
			return &rows[i];
	return NULL;
}

/* A rowid as sqlite3 prints it: decimal digits, no sign. */
static long
parse_id(const char *s, size_t len)
{
	long	 v = 0;
	size_t	 i;

	if (len == 0 || len > 18)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int
rbd_parse(const char *out, size_t len, struct rbd_row **rows, size_t *n,
    const char **why)
{
	struct rbd_row *v = NULL, *nv;
	const char *p = out, *end = out + len, *us, *rs;
	size_t	 count = 0;

	*rows = NULL;
	*n = 0;
	while (p < end) {
		if ((rs = memchr(p, RS, (size_t)(end - p))) == NULL ||
		    (us = memchr(p, US, (size_t)(rs - p))) == NULL ||
		    memchr(us + 1, US, (size_t)(rs - us - 1)) != NULL) {
			*why = "sqlite3's output is not rows of rowid and "
			    "thumbprint";
			goto fail;
		}
		if ((nv = reallocarray(v, count + 1, sizeof(*v))) == NULL)
			goto oom;
		v = nv;
		memset(&v[count], 0, sizeof(v[count]));
		count++;
		if ((v[count - 1].id = parse_id(p, (size_t)(us - p))) < 0) {
			*why = "a row of vc_servers without a rowid";
			goto fail;
		}
		if ((v[count - 1].thumbprint = strndup(us + 1,
		    (size_t)(rs - us - 1))) == NULL)
			goto oom;
		inventory_digest_bytes(v[count - 1].thumbprint,
		    strlen(v[count - 1].thumbprint), v[count - 1].digest);
		p = rs + 1;
	}
	*rows = v;
	*n = count;
	return 0;
oom:
	*why = "out of memory";
fail:
	rbd_rows_free(v, count);
	return -1;
}

/* sqlite3 DB with more arguments, input on its stdin (may be NULL). */
static int
run_sqlite3(const char *root, const char *rel, const char *const *more,
    const char *input, struct proc_result *res, const char *what,
    struct buf *err)
{
	const char *args[15] = { "-batch", "-bail" };
	char	*db = app_path(root, rel);
	size_t	 n = 2, i;
	int	 ret = -1;

	if (db == NULL) {
		buf_printf(err, "out of memory");
		return -1;
	}
	for (i = 0; more[i] != NULL && n + 2 < sizeof(args) / sizeof(args[0]);
	    i++)
		args[n++] = more[i];
	args[n++] = db;
	args[n] = NULL;
	if (app_run(root, APP_SQLITE3, args, input, res, err) == -1)
		goto out;
	if (res->status != 0) {
		buf_printf(err, "sqlite3 /%s %s failed (exit %d): %.*s", rel,
		    what, res->status, (int)strcspn(buf_str(&res->err), "\n"),
		    buf_str(&res->err));
		proc_result_free(res);
		goto out;
	}
	ret = 0;
out:
	free(db);
	return ret;
}

int
rbd_read(const char *root, struct rbd_row **rows, size_t *n,
    struct buf *err)
{
	static const char *const args[] = { "-readonly", "-ascii", NULL };
	struct proc_result res;
	const char *rel, *why = NULL;
	int	 r;

	*rows = NULL;
	*n = 0;
	if ((r = rbd_where(root, &rel, err)) != 1)
		return r == 0 ? 1 : -1;
	if (run_sqlite3(root, rel, args, "SELECT rowid, coalesce(thumbprint, "
	    "'') FROM vc_servers ORDER BY rowid;\n", &res,
	    "SELECT rowid, thumbprint FROM vc_servers", err) == -1)
		return -1;
	if (rbd_parse(res.out.data != NULL ? res.out.data : "", res.out.len,
	    rows, n, &why) == -1) {
		buf_printf(err, "Auto Deploy /%s vc_servers: %s", rel, why);
		proc_result_free(&res);
		return -1;
	}
	proc_result_free(&res);
	return 0;
}

char *
rbd_place(long id)
{
	char	*s;

	if (asprintf(&s, PLACE_PREFIX "%ld", id) == -1)
		return NULL;
	return s;
}

long
rbd_place_id(const char *place)
{
	size_t	 l = strlen(PLACE_PREFIX);

	if (strncmp(place, PLACE_PREFIX, l) != 0)
		return -1;
	return parse_id(place + l, strlen(place + l));
}

#define THUMB_CHARS "0123456789ABCDEFabcdef:"

static int
thumb_ok(const char *s)
{
	return strspn(s, THUMB_CHARS) == strlen(s);
}

/*
 * The SQL of an update: every UPDATE must change its row, which the
 * CHECK of a temporary table enforces (SQLite has no RAISE outside
 * triggers): a row missing fails the INSERT after it, sqlite3 -bail stops
 * there and the transaction is never committed.
 */
static int
update_sql(const struct rbd_update *u, size_t n, struct buf *sql,
    struct buf *err)
{
	size_t	 i;

	buf_puts(sql, "CREATE TEMP TABLE vcrotate_changed (row INTEGER, "
	    "changed INTEGER, CHECK (changed = 1));\nBEGIN IMMEDIATE;\n");
	for (i = 0; i < n; i++) {
		if (!thumb_ok(u[i].thumbprint) || *u[i].thumbprint == '\0' ||
		    (u[i].expect != NULL && !thumb_ok(u[i].expect))) {
			buf_printf(err, "Auto Deploy vc_servers: refusing to "
			    "write row %ld: a thumbprint of other characters "
			    "than vcrotate writes", u[i].id);
			return -1;
		}
		buf_printf(sql, "UPDATE vc_servers SET thumbprint = '%s' WHERE "
		    "rowid = %ld", u[i].thumbprint, u[i].id);
		if (u[i].expect != NULL)
			buf_printf(sql, " AND coalesce(thumbprint, '') = '%s'",
			    u[i].expect);
		buf_printf(sql, ";\nINSERT INTO vcrotate_changed VALUES (%ld, "
		    "changes());\n", u[i].id);
	}
	buf_puts(sql, "COMMIT;\n");
	return 0;
}

int
rbd_update(const char *root, const struct rbd_update *u, size_t n,
    struct buf *err)
{
	static const char *const args[] = { NULL };
	struct proc_result res;
	struct buf sql = BUF_INIT;
	const char *rel;
	int	 ret = -1, r;

	if (n == 0)
		return 0;
	if ((r = rbd_where(root, &rel, err)) != 1) {
		if (r == 0)
			buf_printf(err, "Auto Deploy: no database to write "
			    "(rbd not AUTOMATIC, or no /etc/vmware-rbd/db/db "
			    "nor /var/lib/rbd/db)");
		return -1;
	}
	if (update_sql(u, n, &sql, err) == -1)
		goto out;
	if (sql.len == 0) {
		buf_printf(err, "out of memory");
		goto out;
	}
	if (fault_point("sqlite3 vc_servers update", err) == -1)
		goto out;
	if (run_sqlite3(root, rel, args, buf_str(&sql), &res,
	    "UPDATE vc_servers", err) == -1)
		goto out;
	proc_result_free(&res);
	fault_done();
	ret = 0;
out:
	buf_free(&sql);
	return ret;
}
