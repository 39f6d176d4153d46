/*
 * vcdb.c - VCDB's vpx_ext through the appliance's psql. See vcdb.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "appliance.h"
#include "cert.h"
#include "fault.h"
#include "proc.h"
#include "services.h"
#include "vcdb.h"

/*
 * Which certificate each extension logs in with, as vCert 4.9.0
 * (checkVCExtensionThumbprints) and Broadcom's vCert compare them
 * (docs/lab.md, "VCDB"). Others (com.vmware.vmcam, ...) are left alone.
 */
static const struct {
	const char	*ext_id;
	const char	*store;
	const char	*alias;
} follows[] = {
	{ "com.vmware.vim.eam", "vpxd-extension", "vpxd-extension" },
	{ "com.vmware.rbd", "vpxd-extension", "vpxd-extension" },
	{ "com.vmware.imagebuilder", "vpxd-extension", "vpxd-extension" },
	{ "com.vmware.vcIntegrity", "vpxd-extension", "vpxd-extension" },
	{ "com.vmware.vlcm.client", "vpxd-extension", "vpxd-extension" },
	{ "com.vmware.vsan.health", "MACHINE_SSL_CERT", "__MACHINE_CERT" },
};

#define PLACE_PREFIX "VCDB/vpx_ext/"

int
vcdb_follows(const char *ext_id, const char **store, const char **alias)
{
	size_t	 i;

	for (i = 0; i < sizeof(follows) / sizeof(follows[0]); i++)
		if (strcmp(ext_id, follows[i].ext_id) == 0) {
			*store = follows[i].store;
			*alias = follows[i].alias;
			return 0;
		}
	return -1;
}

char *
vcdb_expected(const struct inventory *inv, const char *ext_id)
{
	const struct inv_vecs_entry *e;
	const char *store, *alias;

	if (vcdb_follows(ext_id, &store, &alias) == -1 ||
	    (e = inventory_vecs(inv, store, alias)) == NULL ||
	    e->chain == NULL)
		return NULL;
	return cert_sha1_colons(sk_X509_value(e->chain, 0));
}

int
vcdb_thumbprint_ok(const char *s)
{
	size_t	 i;

	if (strlen(s) != VCDB_THUMBPRINT_LEN)
		return 0;
	for (i = 0; i < VCDB_THUMBPRINT_LEN; i++)
		if (i % 3 == 2 ? s[i] != ':' : !((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	return 1;
}

char *
vcdb_place(const char *ext_id)
{
	char	*s;

	if (asprintf(&s, PLACE_PREFIX "%s", ext_id) == -1)
		return NULL;
	return s;
}

const char *
vcdb_place_ext(const char *place)
{
	size_t	 l = strlen(PLACE_PREFIX);

	return strncmp(place, PLACE_PREFIX, l) == 0 && place[l] != '\0' ?
	    place + l : NULL;
}

int
vcdb_present(const char *root)
{
	char	*psql = app_path(root, APP_PSQL);
	int	 there;

	there = psql != NULL && access(psql, F_OK) == 0;
	free(psql);
	return there;
}

void
vcdb_rows_free(struct vcdb_row *rows, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		free(rows[i].ext_id);
		free(rows[i].thumbprint);
	}
	free(rows);
}

const struct vcdb_row *
vcdb_row(const struct vcdb_row *rows, size_t n, const char *ext_id)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (strcmp(rows[i].ext_id, ext_id) == 0)
			return &rows[i];
	return NULL;
}

/*
 * psql -A -t -z -0: every field ends in a zero byte, the last of a row as
 * well (the record separator), so a value holding '|' or a newline cannot
 * cut a row wrongly. Two fields a row.
 */
int
vcdb_parse(const char *out, size_t len, struct vcdb_row **rows, size_t *n,
    const char **why)
{
	struct vcdb_row *v = NULL, *nv;
	const char *p = out, *end = out + len, *z1, *z2;
	size_t	 count = 0;

	*rows = NULL;
	*n = 0;
	while (p < end) {
		if ((z1 = memchr(p, '\0', (size_t)(end - p))) == NULL ||
		    (z2 = memchr(z1 + 1, '\0', (size_t)(end - z1 - 1))) ==
		    NULL) {
			*why = "psql's output is not rows of ext_id and "
			    "thumbprint";
			goto fail;
		}
		if (z1 == p) {
			*why = "a row of vpx_ext without its ext_id";
			goto fail;
		}
		if ((nv = reallocarray(v, count + 1, sizeof(*v))) == NULL)
			goto oom;
		v = nv;
		memset(&v[count], 0, sizeof(v[count]));
		count++;
		if ((v[count - 1].ext_id = strdup(p)) == NULL ||
		    (v[count - 1].thumbprint = strdup(z1 + 1)) == NULL)
			goto oom;
		inventory_digest_bytes(v[count - 1].thumbprint,
		    strlen(v[count - 1].thumbprint), v[count - 1].digest);
		p = z2 + 1;
	}
	*rows = v;
	*n = count;
	return 0;
oom:
	*why = "out of memory";
fail:
	vcdb_rows_free(v, count);
	return -1;
}

/* psql's verdict: the server's ERROR, else psql's own "error:" line
 * ("connection to server on socket ... failed"), else its last line. */
static void
psql_says(const struct proc_result *res, struct buf *err)
{
	const char *e = buf_str(&res->err), *line = e, *p, *err_line;

	for (p = e; *p != '\0'; p++)
		if (*p == '\n' && p[1] != '\0')
			line = p + 1;
	if ((err_line = strstr(e, "ERROR:")) != NULL ||
	    (err_line = strstr(e, "FATAL:")) != NULL ||
	    (err_line = strstr(e, "error:")) != NULL)
		line = err_line;
	buf_printf(err, " (exit %d)%s%.*s", res->status, *line ? ": " : "",
	    (int)strcspn(line, "\n"), line);
}

/* psql -X (no psqlrc) -q -d VCDB -U postgres, stopping at an error, with
 * more arguments; input on its stdin (may be NULL). */
static int
run_psql(const char *root, const char *const *more, const char *input,
    struct proc_result *res, const char *what, struct buf *err)
{
	const char *args[15] = { "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d",
	    "VCDB", "-U", "postgres" };
	size_t	 n = 8, i;

	for (i = 0; more[i] != NULL && n + 1 < sizeof(args) / sizeof(args[0]);
	    i++)
		args[n++] = more[i];
	args[n] = NULL;
	if (app_run(root, APP_PSQL, args, input, res, err) == -1)
		return -1;
	if (res->status != 0) {
		buf_printf(err, "psql -d VCDB %s failed", what);
		psql_says(res, err);
		proc_result_free(res);
		return -1;
	}
	return 0;
}

int
vcdb_read(const char *root, struct vcdb_row **rows, size_t *n,
    struct buf *err)
{
	static const char *const args[] = { "-A", "-t", "-z", "-0", "-c",
	    "SELECT ext_id, thumbprint FROM vpx_ext ORDER BY ext_id", NULL };
	struct proc_result res;
	const char *why = NULL;

	*rows = NULL;
	*n = 0;
	if (!vcdb_present(root))
		return 1;
	if (run_psql(root, args, NULL, &res, "SELECT ext_id, thumbprint FROM "
	    "vpx_ext", err) == -1)
		return -1;
	if (vcdb_parse(res.out.data != NULL ? res.out.data : "", res.out.len,
	    rows, n, &why) == -1) {
		buf_printf(err, "VCDB vpx_ext: %s", why);
		proc_result_free(&res);
		return -1;
	}
	proc_result_free(&res);
	return 0;
}

/* Whether every byte of s is one of ok's (and s is not empty). */
static int
only_of(const char *s, const char *ok)
{
	return *s != '\0' && strspn(s, ok) == strlen(s);
}

#define EXT_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
		  "0123456789._-"
#define THUMB_CHARS "0123456789ABCDEFabcdef:"

/*
 * The SQL of an update: one DO block (itself atomic, run by psql -1 in one
 * transaction) whose every UPDATE must find its row, or the block raises
 * and nothing is written. Values were checked against EXT_CHARS and
 * THUMB_CHARS: none can leave its string.
 */
static int
update_sql(const struct vcdb_update *u, size_t n, struct buf *sql,
    struct buf *err)
{
	size_t	 i;

	buf_puts(sql, "SET standard_conforming_strings = on;\n"
	    "DO $vcrotate$ BEGIN\n");
	for (i = 0; i < n; i++) {
		if (!only_of(u[i].ext_id, EXT_CHARS) ||
		    !only_of(u[i].thumbprint, THUMB_CHARS) ||
		    (u[i].expect != NULL && *u[i].expect != '\0' &&
		    !only_of(u[i].expect, THUMB_CHARS))) {
			buf_printf(err, "VCDB vpx_ext: refusing to write row "
			    "\"%s\": an ext_id or thumbprint of other "
			    "characters than vcrotate writes", u[i].ext_id);
			return -1;
		}
		buf_printf(sql, "UPDATE vpx_ext SET thumbprint = '%s' WHERE "
		    "ext_id = '%s'", u[i].thumbprint, u[i].ext_id);
		if (u[i].expect != NULL)
			buf_printf(sql, " AND coalesce(thumbprint, '') = '%s'",
			    u[i].expect);
		buf_printf(sql, ";\nIF NOT FOUND THEN RAISE EXCEPTION "
		    "'vpx_ext has no row %s%s%s'; END IF;\n", u[i].ext_id,
		    u[i].expect != NULL ? " holding " : "",
		    u[i].expect != NULL ? (*u[i].expect ? u[i].expect :
		    "no thumbprint") : "");
	}
	buf_puts(sql, "END $vcrotate$;\n");
	return 0;
}

int
vcdb_update(const char *root, const struct vcdb_update *u, size_t n,
    struct buf *err)
{
	static const char *const args[] = { "-1", "-f", "-", NULL };
	struct proc_result res;
	struct buf sql = BUF_INIT;
	int	 ret = -1;

	if (n == 0)
		return 0;
	if (update_sql(u, n, &sql, err) == -1)
		goto out;
	if (sql.len == 0 || buf_str(&sql)[0] == '\0') {
		buf_printf(err, "out of memory");
		goto out;
	}
	if (fault_point("psql vpx_ext update", err) == -1)
		goto out;
	if (run_psql(root, args, buf_str(&sql), &res, "UPDATE vpx_ext", err) ==
	    -1)
		goto out;
	proc_result_free(&res);
	fault_done();
	ret = 0;
out:
	buf_free(&sql);
	return ret;
}

int
vcdb_ensure(const char *root, struct buf *err)
{
	static const char *const args[] = { "-A", "-t", "-c", "SELECT 1",
	    NULL };
	struct proc_result res;
	struct buf why = BUF_INIT;

	if (!vcdb_present(root))
		return 0;
	if (run_psql(root, args, NULL, &res, "SELECT 1", &why) == 0) {
		proc_result_free(&res);
		buf_free(&why);
		return 0;
	}
	buf_free(&why);
	return services_start(root, "vmware-vpostgres", err) == -1 ? -1 : 1;
}
