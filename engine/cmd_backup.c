/*
 * cmd_backup.c - vcrotate backup snapshot|list|show|diff|restore|verify:
 * git-versioned snapshots of the whole certificate state (backup/), and
 * putting any of them back exactly.
 *
 * Exit: 0 done, 1 failed (nothing half-written: restore re-reads the live
 * state and says what differs), 64 bad usage.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "cert.h"
#include "commands.h"
#include "crypt.h"
#include "fileio.h"
#include "journal.h"
#include "names.h"
#include "report.h"
#include "repo.h"
#include "state.h"
#include "vecs.h"
#include "vmdir.h"

struct ctx {
	struct config	*cfg;
	unsigned char	 key[BK_KEY_LEN];
	struct bk_repo	*repo;
	struct appliance app;
	struct vmdir_login login;
	struct buf	 err;
	int		 refresh;	/* CRL entries for vmafdd to remake */
};

static int
fail(struct ctx *c, const char *what)
{
	text_printf_safe(stderr,
	    "vcrotate backup %s: %s\n", what, buf_str(&c->err));
	return 1;
}

/*
 * The repository and its key. A key is made only together with a new
 * repository: an existing repository without its key, or with a key that
 * is not the one its snapshots were made with, is refused, saying what to
 * do; a snapshot sealed with another key would be unreadable with the
 * repository's, and the other way round.
 */
static int
open_repo(struct ctx *c, int create)
{
	char	*keyfile = app_path(c->cfg->root, APP_BACKUP_KEY);
	struct stat st;
	int	 exists, created = 0, ret = -1;

	if (keyfile == NULL)
		return -1;
	exists = stat(c->cfg->backup_repo, &st) == 0;
	if (!exists && !create) {
		buf_printf(&c->err, "no backup repository at %s (make one "
		    "with vcrotate backup snapshot)", c->cfg->backup_repo);
		goto out;
	}
	if (create && !exists) {
		char	*dir = strdup(keyfile), *slash;

		if (dir != NULL && (slash = strrchr(dir, '/')) != NULL) {
			*slash = '\0';
			if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
				buf_printf(&c->err, "%s: %s", dir,
				    strerror(errno));
				free(dir);
				goto out;
			}
		}
		free(dir);
	}
	if (exists && stat(keyfile, &st) == -1 && errno == ENOENT) {
		buf_printf(&c->err, "backup key %s is missing: the snapshots "
		    "in %s cannot be read or added to without the key they "
		    "were made with, and a new key is never made for an "
		    "existing repository; restore the key from where "
		    "docs/backup.md says to keep a copy", keyfile,
		    c->cfg->backup_repo);
		goto out;
	}
	if (bk_key_load(keyfile, c->key, create && !exists, &c->err) == -1)
		goto out;
	if (bk_repo_open(&c->repo, c->cfg->backup_repo, create, &created,
	    &c->err) == -1)
		goto out;
	if (!created && bk_repo_key_check(c->repo, c->key, &c->err) == -1) {
		buf_printf(&c->err, " (%s, repository %s)", keyfile,
		    c->cfg->backup_repo);
		goto out;
	}
	ret = 0;
out:
	free(keyfile);
	return ret;
}

/* Identity and vmdir login, for reading the live state. */
static int
open_live(struct ctx *c)
{
	if (appliance_identify(&c->app, c->cfg->root, &c->err) == -1)
		return -1;
	return config_login(c->cfg, &c->login, &c->err);
}

static void
ctx_free(struct ctx *c)
{
	OPENSSL_cleanse(c->key, sizeof(c->key));
	bk_repo_close(c->repo);
	appliance_free(&c->app);
	vmdir_login_free(&c->login);
	buf_free(&c->err);
}

/* A snapshot read without a MAC (repo.h, bk_repo_read) is said so. */
static void
warn_unauthenticated(const json_t *man, const char *id)
{
	if (!json_is_true(json_object_get(man, "authenticated")))
		fprintf(stderr, "vcrotate: warning: snapshot %.12s was made "
		    "before snapshots were authenticated (no MAC): it is "
		    "trusted because the first authenticated snapshot "
		    "vouches for it, or none exists yet\n", id);
}

/* The unit an item belongs to: an entry, a store marker, a file. */
static size_t
unit_len(const char *path)
{
	const char *p = path;
	int	 depth, i;

	if (strncmp(path, "vecs/", 5) == 0)
		depth = strstr(path, "/@store") != NULL ||
		    strcmp(path, "vecs/@stores") == 0 ? 9 : 3;
	else if (strncmp(path, "vmdir/", 6) == 0)
		depth = 3;
	else
		depth = 9;
	for (i = 0; i < depth; i++) {
		p = strchr(p, '/');
		if (p == NULL)
			return strlen(path);
		if (i + 1 < depth)
			p++;
	}
	return (size_t)(p - path);
}

/* ---- units: comparing two states ---- */

/* Items of one unit, as a run in a sorted state. */
struct unit {
	const char	*prefix;	/* the unit path (not NUL-ended) */
	size_t		 plen;
	const struct bk_item *items;
	size_t		 n;
};

static int vecs_names(const struct unit *u, char **store, char **alias);

/* Store markers: vecs/<S>/@store, a unit of one item. */
static int
is_store_unit(const struct unit *u)
{
	return u->plen > 12 && strncmp(u->prefix, "vecs/", 5) == 0 &&
	    strncmp(u->prefix + u->plen - 7, "/@store", 7) == 0;
}

/* Whether u records an entry that did not exist (state.h, @absent). */
static int
unit_absent(const struct unit *u)
{
	return u != NULL && u->n == 1 &&
	    strcmp(u->items[0].path + u->plen, "/@absent") == 0;
}

/* u when it stands for something that exists; NULL for no unit and for
 * an entry recorded absent, which compares as no unit. */
static const struct unit *
unit_present(const struct unit *u)
{
	return unit_absent(u) ? NULL : u;
}

static int unit_cmp(const struct unit *a, const struct unit *b);

static int
unit_qcmp(const void *a, const void *b)
{
	return unit_cmp(a, b);
}

/*
 * The units of a state, sorted by unit_cmp: the order of unit_find and of
 * every merge walk. It is not the items' path order, in which an entry
 * sorts after the entries whose names extend its own ("corp-root/..." after
 * "corp-root-2/...", '-' < '/'), so the units are sorted again.
 */
static struct unit *
units_of(const struct bk_state *st, size_t *nunits)
{
	struct unit *u = NULL, *nu;
	size_t	 i, n = 0, ul;

	for (i = 0; i < st->n; i++) {
		ul = unit_len(st->items[i].path);
		if (n > 0 && u[n - 1].plen == ul &&
		    strncmp(u[n - 1].prefix, st->items[i].path, ul) == 0) {
			u[n - 1].n++;
			continue;
		}
		if ((nu = reallocarray(u, n + 1, sizeof(*u))) == NULL) {
			free(u);
			return NULL;
		}
		u = nu;
		u[n].prefix = st->items[i].path;
		u[n].plen = ul;
		u[n].items = &st->items[i];
		u[n].n = 1;
		n++;
	}
	*nunits = n;
	if (n > 1)
		qsort(u, n, sizeof(*u), unit_qcmp);
	return u != NULL ? u : calloc(1, sizeof(*u));
}

/* A total order of units, equal only for the same unit path. */
static int
unit_cmp(const struct unit *a, const struct unit *b)
{
	size_t	 n = a->plen < b->plen ? a->plen : b->plen;
	int	 c = strncmp(a->prefix, b->prefix, n);

	if (c != 0)
		return c;
	return (a->plen > b->plen) - (a->plen < b->plen);
}

static int
unit_equal(const struct unit *a, const struct unit *b)
{
	size_t	 i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->items[i].path, b->items[i].path) != 0 ||
		    a->items[i].len != b->items[i].len ||
		    memcmp(a->items[i].data, b->items[i].data,
		    a->items[i].len) != 0)
			return 0;
	return 1;
}

/* The item `name' of a unit (the part after the unit path), or NULL. */
static const struct bk_item *
unit_item(const struct unit *u, const char *name)
{
	size_t	 i;

	for (i = 0; u != NULL && i < u->n; i++)
		if (u->items[i].path[u->plen] == '/' &&
		    strcmp(u->items[i].path + u->plen + 1, name) == 0)
			return &u->items[i];
	return NULL;
}

/* Text of an item, NUL-terminated copy (caller frees). */
static char *
item_text(const struct bk_item *it)
{
	return it != NULL ? strndup((const char *)it->data, it->len) : NULL;
}

/* The certificate a unit holds (the first of its chain), or NULL (caller
 * frees). */
static X509 *
unit_cert(const struct unit *u)
{
	static const char *const names[] = { "cert.pem",
	    "userCertificate.0.pem", "cACertificate.0.pem",
	    "cACertificate.0.txt", "vmwLKUPSslTrustAnchor.0.pem", "root.cer",
	    NULL };
	const struct bk_item *it = NULL;
	STACK_OF(X509) *sk = NULL;
	const char *why;
	X509	*x;
	size_t	 i;

	for (i = 0; it == NULL && names[i] != NULL; i++)
		it = unit_item(u, names[i]);
	if (it == NULL && u != NULL && u->n == 1)
		it = &u->items[0];
	if (it == NULL || it->secret || cert_parse_pem_chain((const char *)
	    it->data, it->len, &sk, &why) == -1)
		return NULL;
	x = sk_X509_shift(sk);
	sk_X509_pop_free(sk, X509_free);
	return x;
}

/* A one-line description of the certificate a unit holds, if any. */
static char *
unit_cert_summary(const struct unit *u)
{
	X509	*x = unit_cert(u);
	char	*subj, *serial, *s = NULL, when[64];

	if (x == NULL)
		return NULL;
	subj = cert_subject(x);
	serial = cert_serial_hex(x);
	cert_time_str(cert_not_after(x), when, sizeof(when));
	if (asprintf(&s, "%s, serial %s, not after %s", subj != NULL ? subj :
	    "?", serial != NULL ? serial : "?", when) == -1)
		s = NULL;
	free(subj);
	free(serial);
	X509_free(x);
	return s;
}

/* The unit of sorted array u[n] at key's path, or NULL. */
static const struct unit *
unit_find(const struct unit *u, size_t n, const struct unit *key)
{
	size_t	 lo = 0, hi = n, mid;
	int	 c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = unit_cmp(&u[mid], key)) == 0)
			return &u[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* A unit as a person knows it: STORE/ALIAS, a DN, or its path (malloc'd,
 * raw: it may hold any byte). */
static char *
unit_name(const struct unit *u)
{
	char	*store = NULL, *alias = NULL, *name = NULL;
	char	*dn = item_text(unit_item(u, unit_absent(u) ? "@absent" :
	    "@dn"));
	char	*sname = is_store_unit(u) ? item_text(&u->items[0]) : NULL;

	if (dn != NULL)
		name = strdup(dn);
	else if (sname != NULL) {
		if (asprintf(&name, "store %s", sname) == -1)
			name = NULL;
	} else if (u->plen == 12 && strncmp(u->prefix, "vecs/@stores", 12) ==
	    0)
		name = strdup("the order of the VECS stores");
	else if (strncmp(u->prefix, "vecs/", 5) == 0 &&
	    vecs_names(u, &store, &alias) == 0) {
		if (asprintf(&name, "%s/%s", store, alias) == -1)
			name = NULL;
	} else
		name = strndup(u->prefix, u->plen);
	free(store);
	free(alias);
	free(sname);
	free(dn);
	return name;
}

/* Prints a unit's name, made safe for a terminal (it comes from the
 * appliance). */
static void
print_unit(FILE *f, const struct unit *u)
{
	char	*name = unit_name(u), *safe = text_safe(name);

	fputs(safe != NULL ? safe : "?", f);
	free(safe);
	free(name);
}

/* ---- snapshot ---- */

static int
do_snapshot(struct ctx *c, const struct cmdline *cl)
{
	struct bk_meta meta = { NULL, NULL, "manual snapshot", NULL, NULL, NULL,
	    NULL, NULL, NULL };
	struct bk_state st = { NULL, 0, 0 };
	char	 id[41];
	size_t	 i, sealed = 0;
	int	 k, ret = 1, lockfd = -1;

	meta.operator = config_operator();
	if (cmdline_get(cl, "--operator") != NULL)
		meta.operator = cmdline_get(cl, "--operator");
	meta.ticket = cmdline_get(cl, "--ticket");
	if (cmdline_get(cl, "--reason") != NULL)
		meta.reason = cmdline_get(cl, "--reason");
	/* One writer of the repository at a time. */
	if ((k = writer_begin(c->cfg, "backup snapshot", 0, &lockfd,
	    &c->err)) != 0) {
		fail(c, "snapshot");
		return k;
	}
	/* Read first: a snapshot that cannot be complete is not begun. */
	if (open_live(c) == -1 || bk_state_read(&st, c->cfg->root, &c->app,
	    &c->login, &c->err) == -1) {
		text_printf_safe(stderr,
		    "vcrotate backup snapshot: no snapshot made: "
		    "%s\n", buf_str(&c->err));
		goto out;
	}
	if (open_repo(c, 1) == -1 || bk_repo_snapshot(c->repo, &st, c->key,
	    c->app.pnid, c->app.machine_id, &meta, id, &c->err) == -1) {
		ret = fail(c, "snapshot");
		goto out;
	}
	for (i = 0; i < st.n; i++)
		sealed += st.items[i].secret;
	printf("snapshot %s of %s: %zu items (%zu sealed) in %s\n", id,
	    c->app.pnid, st.n, sealed, c->cfg->backup_repo);
	ret = 0;
out:
	if (lockfd != -1)
		close(lockfd);
	bk_state_free(&st);
	return ret;
}

/* ---- list, show, verify ---- */

/* "Name: value" trailers of a commit message, as a JSON object. */
static json_t *
trailers(const char *message)
{
	static const char *const names[] = { "Operator", "Ticket", "Reason",
	    "Transaction", "Result", "Plan", "Elapsed", NULL };
	json_t	*o = json_object();
	const char *line = message, *nl;
	size_t	 i, n;

	for (; line != NULL && *line != '\0'; line = nl != NULL ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		for (i = 0; names[i] != NULL; i++) {
			n = strlen(names[i]);
			if (strncmp(line, names[i], n) == 0 &&
			    strncmp(line + n, ": ", 2) == 0)
				json_object_set_new(o, names[i], json_stringn(
				    line + n + 2, nl != NULL ?
				    (size_t)(nl - line - n - 2) :
				    strlen(line + n + 2)));
		}
	}
	return o;
}

static int
list_one(const char *id, long long when, const char *message, void *arg)
{
	json_t	*arr = arg;
	char	 t[32];
	time_t	 tt = (time_t)when;

	strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", gmtime(&tt));
	if (arr != NULL)
		return json_array_append_new(arr, json_pack("{s:s,s:s,s:s%,s:o}",
		    "id", id, "time", t, "subject", message,
		    strcspn(message, "\n"), "trailers", trailers(message)));
	printf("%.12s  %s  %.*s\n", id, t, (int)strcspn(message, "\n"),
	    message);
	return 0;
}

static int
do_list(struct ctx *c, const struct cmdline *cl)
{
	json_t	*arr = NULL;
	int	 ret = 0;

	if (cmdline_get(cl, "--json") != NULL && (arr = json_array()) == NULL)
		return 1;
	if (open_repo(c, 0) == -1 ||
	    bk_repo_list(c->repo, list_one, arr, &c->err) == -1)
		ret = fail(c, "list");
	else if (arr != NULL) {
		json_dumpf(arr, stdout, JSON_INDENT(2));
		putchar('\n');
	}
	json_decref(arr);
	return ret;
}

/* One unit of backup show: its name, and its certificate or that it was
 * recorded absent; in entries with json. */
static void
show_unit(const struct unit *u, json_t *entries)
{
	char	*sum = unit_cert_summary(u), *name = NULL;
	const char *what = sum != NULL ? sum : unit_absent(u) ? "absent: "
	    "restoring this snapshot deletes it" : NULL;
	size_t	 len = 0;
	FILE	*f = open_memstream(&name, &len);

	if (f != NULL) {
		print_unit(f, u);
		fclose(f);
	}
	if (entries != NULL) {
		json_t	*e = json_pack("{s:s,s:s%,s:s?}", "entry", name != NULL ?
		    name : "", "path", u->prefix, u->plen, "certificate", sum);

		if (e != NULL && unit_absent(u))
			json_object_set_new(e, "absent", json_true());
		json_array_append_new(entries, e);
	} else
		printf("  %s%s%s\n", name != NULL ? name : "",
		    what != NULL ? "\n      " : "", what != NULL ? what : "");
	free(name);
	free(sum);
}

static int
do_show(struct ctx *c, const struct cmdline *cl)
{
	struct bk_state st = { NULL, 0, 0 };
	struct unit *u = NULL;
	json_t	*man = NULL, *app, *doc = NULL, *entries = NULL;
	char	 id[41];
	size_t	 i, nu = 0, sealed = 0;
	int	 json = cmdline_get(cl, "--json") != NULL;

	if (open_repo(c, 0) == -1 || bk_repo_read(c->repo, cl->operand[0], c->key,
	    &st, &man, id, &c->err) == -1)
		return fail(c, "show");
	warn_unauthenticated(man, id);
	app = json_object_get(man, "appliance");
	if (!json)
		printf("snapshot %s\nappliance %s (machine id %s)\nmade %s by "
		    "vcrotate %s\n\n", id,
		    json_string_value(json_object_get(app, "pnid")),
		    json_string_value(json_object_get(app, "machine_id")),
		    json_string_value(json_object_get(man, "created")),
		    json_string_value(json_object_get(man, "vcrotate_version")));
	entries = json_array();
	if ((u = units_of(&st, &nu)) != NULL)
		for (i = 0; i < nu; i++)
			show_unit(&u[i], json ? entries : NULL);
	for (i = 0; i < st.n; i++)
		sealed += st.items[i].secret;
	if (json) {
		doc = json_pack("{s:s,s:O,s:O,s:O,s:o,s:i,s:i}", "id", id,
		    "appliance", app, "created", json_object_get(man,
		    "created"), "vcrotate_version", json_object_get(man,
		    "vcrotate_version"), "entries", entries, "items",
		    (json_int_t)st.n, "sealed", (json_int_t)sealed);
		entries = NULL;
		json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
	} else
		printf("\n%zu entries, %zu items, %zu sealed (keys, never "
		    "shown)\n", nu, st.n, sealed);
	json_decref(entries);
	json_decref(doc);
	free(u);
	bk_state_free(&st);
	json_decref(man);
	return 0;
}

static int
do_verify(struct ctx *c, const struct cmdline *cl)
{
	struct bk_verify v;
	const char *line, *nl;

	(void)cl;
	if (open_repo(c, 0) == -1)
		return fail(c, "verify");
	if (bk_repo_verify(c->repo, c->key, &v, &c->err) == -1) {
		if (v.bad == 0)
			return fail(c, "verify");
		/* One line per snapshot refused, each naming its commit. */
		for (line = buf_str(&c->err); *line != '\0'; line = nl + 1) {
			if ((nl = strchr(line, '\n')) == NULL)
				nl = line + strlen(line) - 1;
			text_printf_safe(stderr, "vcrotate backup verify: "
			    "%.*s\n", (int)(nl - line), line);
		}
		fprintf(stderr, "vcrotate backup verify: %zu of %zu snapshot%s "
		    "failed\n", v.bad, v.n, v.n == 1 ? "" : "s");
		return 1;
	}
	printf("%zu snapshot%s verified: every MAC verifies, every object "
	    "read, every digest matches its manifest, every sealed item "
	    "opens\n", v.n, v.n == 1 ? "" : "s");
	if (v.legacy > 0)
		printf("of which %zu made before snapshots were authenticated "
		    "(no MAC), vouched for by the first authenticated one\n",
		    v.legacy);
	return 0;
}

/* ---- diff ---- */

/* One line of backup diff: unit a (before) became b (after); either may be
 * NULL, for an entry that did not exist. */
static void
diff_unit(const struct unit *a, const struct unit *b)
{
	char	*before = a != NULL ? unit_cert_summary(a) : NULL;
	char	*after = b != NULL ? unit_cert_summary(b) : NULL;

	fputs(a == NULL ? "added    " : b == NULL ? "removed  " : "changed  ",
	    stdout);
	print_unit(stdout, a != NULL ? a : b);
	putchar('\n');
	if (before != NULL)
		text_printf_safe(stdout, "         before: %s\n", before);
	if (after != NULL)
		text_printf_safe(stdout, "         after:  %s\n", after);
	free(before);
	free(after);
}

static int
do_diff(struct ctx *c, const struct cmdline *cl)
{
	struct bk_state a = { NULL, 0, 0 }, b = { NULL, 0, 0 };
	json_t	*ma = NULL, *mb = NULL;
	struct unit *ua = NULL, *ub = NULL;
	size_t	 na = 0, nb = 0, i = 0, j = 0, nchanged = 0;
	char	 ida[41], idb[41];
	int	 ret = 1;

	if (open_repo(c, 0) == -1 || bk_repo_read(c->repo, cl->operand[0],
	    c->key, &a, &ma, ida, &c->err) == -1 || bk_repo_read(c->repo,
	    cl->operand[1], c->key, &b, &mb, idb, &c->err) == -1) {
		ret = fail(c, "diff");
		goto out;
	}
	warn_unauthenticated(ma, ida);
	warn_unauthenticated(mb, idb);
	if ((ua = units_of(&a, &na)) == NULL || (ub = units_of(&b, &nb)) == NULL)
		goto out;
	printf("from %.12s to %.12s\n", ida, idb);
	while (i < na || j < nb) {
		int	 cmp = i >= na ? 1 : j >= nb ? -1 : unit_cmp(&ua[i], &ub[j]);
		/* An entry recorded absent compares as no entry. */
		const struct unit *x = cmp <= 0 ? unit_present(&ua[i]) : NULL;
		const struct unit *y = cmp >= 0 ? unit_present(&ub[j]) : NULL;

		if (cmp <= 0)
			i++;
		if (cmp >= 0)
			j++;
		if ((x == NULL && y == NULL) ||
		    (x != NULL && y != NULL && unit_equal(x, y)))
			continue;
		nchanged++;
		diff_unit(x, y);
	}
	printf("%zu entr%s differ\n", nchanged, nchanged == 1 ? "y" : "ies");
	ret = 0;
out:
	free(ua);
	free(ub);
	bk_state_free(&a);
	bk_state_free(&b);
	json_decref(ma);
	json_decref(mb);
	return ret;
}

/* ---- restore ---- */

/* Whether a unit is within the --only scope (NULL: everything). */
static int
in_scope(const struct unit *u, const char *only)
{
	char	*want = NULL, *s = NULL, *a = NULL;
	size_t	 k;
	int	 in = 0;

	/* The order of stores cannot be restored, only their existence. */
	if (u->plen == strlen("vecs/@stores") &&
	    strncmp(u->prefix, "vecs/@stores", u->plen) == 0)
		return 0;
	if (only == NULL)
		return 1;
	if (strcmp(only, "sts") == 0)
		return strncmp(u->prefix, "vmdir/sts/", 10) == 0;
	if (strcmp(only, "trust-anchors") == 0)
		return strncmp(u->prefix, "vmdir/endpoints/", 16) == 0;
	if (strcmp(only, "solution-users") == 0) {
		if (strncmp(u->prefix, "vmdir/principals/", 17) == 0)
			return 1;
		for (k = 0; solution_users[k] != NULL && !in; k++) {
			if (asprintf(&want, "vecs/%s/%s", solution_users[k],
			    solution_users[k]) == -1)
				return 0;
			in = u->plen == strlen(want) &&
			    strncmp(u->prefix, want, u->plen) == 0;
			free(want);
		}
		return in;
	}
	if (strncmp(only, "vecs:", 5) == 0) {
		const char *store = only + 5, *slash = strchr(store, '/');

		s = bk_name_escape(store, slash != NULL ?
		    (size_t)(slash - store) : strlen(store));
		if (slash != NULL)
			a = bk_name_escape(slash + 1, strlen(slash + 1));
		if (s == NULL || (slash != NULL && a == NULL))
			goto out;
		if (a != NULL) {
			if (asprintf(&want, "vecs/%s/%s", s, a) != -1) {
				in = u->plen == strlen(want) &&
				    strncmp(u->prefix, want, u->plen) == 0;
				free(want);
			}
		} else if (asprintf(&want, "vecs/%s/", s) != -1) {
			in = strncmp(u->prefix, want, strlen(want)) == 0;
			free(want);
		}
	}
out:
	free(s);
	free(a);
	return in;
}

static int
valid_only(const char *only)
{
	return only == NULL || strcmp(only, "sts") == 0 ||
	    strcmp(only, "trust-anchors") == 0 ||
	    strcmp(only, "solution-users") == 0 ||
	    (strncmp(only, "vecs:", 5) == 0 && only[5] != '\0' &&
	    only[5] != '/');
}

/* Writes an item to a file in the private directory; path malloc'd. */
static char *
stage(const char *dir, const char *name, const struct bk_item *it,
    struct buf *err)
{
	return file_stage(dir, name, it->data, it->len, err);
}

/* Creates the VECS entry of unit u (from the snapshot). */
static int
vecs_create_unit(struct ctx *c, const struct unit *u, const char *tmpdir)
{
	char	*store = NULL, *alias = NULL, *type = NULL;
	char	*certf = NULL, *keyf = NULL;
	const struct bk_item *cert = unit_item(u, "cert.pem");
	const struct bk_item *key = unit_item(u, "key");
	int	 ret = -1;

	if (vecs_names(u, &store, &alias) == -1 ||
	    (type = item_text(unit_item(u, "type"))) == NULL) {
		buf_printf(&c->err, "snapshot entry %.*s is incomplete",
		    (int)u->plen, u->prefix);
		goto out;
	}
	if (strcmp(type, "Encrypted Private Key") == 0) {
		buf_printf(&c->err, "%s/%s: encrypted private keys cannot be "
		    "recreated through vecs-cli", store, alias);
		goto out;
	}
	if (cert != NULL && (certf = stage(tmpdir, "cert.pem", cert,
	    &c->err)) == NULL)
		goto out;
	if (key != NULL && (keyf = stage(tmpdir, "key", key, &c->err)) == NULL)
		goto out;
	ret = vecs_entry_create(c->cfg->root, store, alias, certf, keyf,
	    &c->err);
out:
	file_unstage(certf);
	file_unstage(keyf);
	free(store);
	free(alias);
	free(type);
	return ret;
}

/* The raw store and alias of a VECS entry unit. */
static int
vecs_names(const struct unit *u, char **store, char **alias)
{
	const char *slash = memchr(u->prefix + 5, '/', u->plen - 5);
	char	*sdir;
	size_t	 len;
	int	 rc;

	*store = *alias = NULL;
	if (slash == NULL ||
	    (sdir = strndup(u->prefix + 5, (size_t)(slash - u->prefix - 5))) ==
	    NULL)
		return -1;
	rc = bk_name_unescape(sdir, store, &len);
	free(sdir);
	if (rc == -1 || (*alias = item_text(unit_item(u, "@alias"))) == NULL) {
		free(*store);
		*store = NULL;
		return -1;
	}
	return 0;
}

/* Attributes of a vmdir unit, decoded, in value order. */
struct attrs {
	struct vmdir_attr *v;
	size_t		   n;
};

static void
attrs_free(struct attrs *a)
{
	size_t	 i, j;

	for (i = 0; i < a->n; i++) {
		for (j = 0; j < a->v[i].nvalues; j++) {
			OPENSSL_cleanse(a->v[i].values[j].data,
			    a->v[i].values[j].len);
			free(a->v[i].values[j].data);
		}
		free(a->v[i].values);
		free(a->v[i].name);
	}
	free(a->v);
	memset(a, 0, sizeof(*a));
}

/* Decodes one value file: PEM back to its bytes, anything else as is. */
static int
value_of(const struct bk_item *it, const char *ext, struct vmdir_value *v)
{
	BIO	*bio = NULL;
	char	*name = NULL, *header = NULL;
	unsigned char *data = NULL;
	long	 len = 0;

	if (strcmp(ext, "pem") != 0) {
		if ((v->data = malloc(it->len + 1)) == NULL)
			return -1;
		memcpy(v->data, it->data, it->len);
		v->data[it->len] = '\0';
		v->len = it->len;
		return 0;
	}
	if ((bio = BIO_new_mem_buf(it->data, (int)it->len)) == NULL ||
	    !PEM_read_bio(bio, &name, &header, &data, &len)) {
		BIO_free(bio);
		return -1;
	}
	BIO_free(bio);
	OPENSSL_free(name);
	OPENSSL_free(header);
	v->data = malloc((size_t)len + 1);
	if (v->data != NULL) {
		memcpy(v->data, data, (size_t)len);
		v->len = (size_t)len;
	}
	OPENSSL_free(data);
	return v->data != NULL ? 0 : -1;
}

/* Value files are "<attr>.<index>.<ext>". */
static int
unit_attrs(const struct unit *u, struct attrs *out, struct buf *err)
{
	size_t	 i, k;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < u->n; i++) {
		const char *name = u->items[i].path + u->plen + 1;
		const char *d1 = strchr(name, '.'), *d2;
		char	*attr, *end;
		unsigned long idx;
		struct vmdir_attr *a = NULL;

		if (name[0] == '@')
			continue;
		if (d1 == NULL || (d2 = strchr(d1 + 1, '.')) == NULL)
			goto bad;
		idx = strtoul(d1 + 1, &end, 10);
		if (end != d2 || idx > 100000)
			goto bad;
		if ((attr = strndup(name, (size_t)(d1 - name))) == NULL)
			goto oom;
		for (k = 0; k < out->n; k++)
			if (strcmp(out->v[k].name, attr) == 0)
				a = &out->v[k];
		if (a == NULL) {
			struct vmdir_attr *nv = reallocarray(out->v, out->n + 1,
			    sizeof(*nv));

			if (nv == NULL) {
				free(attr);
				goto oom;
			}
			out->v = nv;
			a = &out->v[out->n++];
			memset(a, 0, sizeof(*a));
			a->name = attr;
		} else
			free(attr);
		if (idx >= a->nvalues) {
			struct vmdir_value *nv = reallocarray(a->values,
			    idx + 1, sizeof(*nv));

			if (nv == NULL)
				goto oom;
			memset(nv + a->nvalues, 0, (idx + 1 - a->nvalues) *
			    sizeof(*nv));
			a->values = nv;
			a->nvalues = idx + 1;
		}
		if (value_of(&u->items[i], d2 + 1, &a->values[idx]) == -1)
			goto bad;
	}
	/* Indexes must be dense: a hole is a damaged snapshot. */
	for (k = 0; k < out->n; k++)
		for (i = 0; i < out->v[k].nvalues; i++)
			if (out->v[k].values[i].data == NULL)
				goto bad;
	return 0;
bad:
	buf_printf(err, "snapshot entry %.*s has a damaged value",
	    (int)u->plen, u->prefix);
	attrs_free(out);
	return -1;
oom:
	buf_printf(err, "out of memory");
	attrs_free(out);
	return -1;
}

/* Attributes a restore rewrites: the RDN and the classes stay as they are. */
static int
kept_attr(const char *name)
{
	return strcasecmp(name, "cn") == 0 ||
	    strcasecmp(name, "objectClass") == 0;
}

/*
 * Makes the entry of live what want holds. want NULL: the snapshot has no
 * such entry; want recorded absent: the snapshot says it did not exist, so
 * it goes whatever its group. live NULL: it does not exist now.
 */
static int
vmdir_unit(struct ctx *c, struct vmdir *vd, const struct unit *want,
    const struct unit *live)
{
	struct attrs wa = { NULL, 0 }, la = { NULL, 0 };
	struct vmdir_attr *rep = NULL;
	const char **drop = NULL;
	int	 absent = unit_absent(want);
	char	*dn = item_text(unit_item(!absent && want != NULL ? want : live,
	    "@dn"));
	int	 deletable = absent || strncmp((want != NULL ? want :
	    live)->prefix, "vmdir/sts/", 10) == 0 || strncmp((want != NULL ?
	    want : live)->prefix, "vmdir/cas/", 10) == 0;
	size_t	 i, j, nw = 0, nd = 0;
	int	 ret = -1;

	if (absent)
		want = NULL;
	if (dn == NULL) {
		buf_printf(&c->err, "a vmdir entry without its DN");
		goto out;
	}
	if (want == NULL) {
		if (!deletable) {
			buf_printf(&c->err, "%s is not in the snapshot; vcrotate "
			    "does not delete such entries", dn);
			goto out;
		}
		ret = vmdir_delete(vd, dn, &c->err);
		goto out;
	}
	if (unit_attrs(want, &wa, &c->err) == -1)
		goto out;
	if (live == NULL) {
		if (!deletable) {
			buf_printf(&c->err, "%s no longer exists; vcrotate does "
			    "not recreate such entries", dn);
			goto out;
		}
		ret = vmdir_add(vd, dn, wa.v, wa.n, &c->err);
		goto out;
	}
	if (unit_attrs(live, &la, &c->err) == -1)
		goto out;
	/* Replace every attribute but the RDN and classes; drop those the
	 * live entry has and the snapshot lacks. rep borrows from wa. */
	if ((rep = calloc(wa.n + 1, sizeof(*rep))) == NULL ||
	    (drop = calloc(la.n + 1, sizeof(*drop))) == NULL)
		goto out;
	for (i = 0; i < wa.n; i++)
		if (!kept_attr(wa.v[i].name))
			rep[nw++] = wa.v[i];
	for (i = 0; i < la.n; i++) {
		int	 found = 0;

		for (j = 0; j < wa.n; j++)
			if (strcasecmp(la.v[i].name, wa.v[j].name) == 0)
				found = 1;
		if (!found && !kept_attr(la.v[i].name))
			drop[nd++] = la.v[i].name;
	}
	ret = vmdir_replace(vd, dn, rep, nw, drop, &c->err);
out:
	free(rep);
	free(drop);
	attrs_free(&wa);
	attrs_free(&la);
	free(dn);
	return ret;
}

/* Whether a VECS entry unit holds a CRL (TRUSTED_ROOT_CRLS). */
static int
is_crl_unit(const struct unit *u)
{
	const struct bk_item *t = unit_item(u, "type");

	return t != NULL && t->len == strlen(VECS_CRL_TYPE) &&
	    memcmp(t->data, VECS_CRL_TYPE, t->len) == 0;
}

/* Applies one unit's difference. want: the snapshot's, live: now. */
static int
apply_unit(struct ctx *c, struct vmdir **vd, const struct unit *want,
    const struct unit *live, const char *tmpdir)
{
	const struct unit *u;
	char	*store = NULL, *alias = NULL;
	int	 ret = -1;

	/* Only vmdir entries are recorded absent (state.h); any other such
	 * record stands for no entry. */
	if (unit_absent(want) && strncmp(want->prefix, "vmdir/", 6) != 0)
		want = NULL;
	u = unit_present(want) != NULL ? want : live;

	if (is_store_unit(u)) {
		char	*name = item_text(&u->items[0]);

		if (name == NULL)
			return -1;
		ret = want != NULL ? vecs_store_create(c->cfg->root, name,
		    &c->err) : vecs_store_delete(c->cfg->root, name, &c->err);
		free(name);
		return ret;
	}
	if (strncmp(u->prefix, "vecs/", 5) == 0) {
		/* Replacing is delete, then create: vecs-cli has no update. */
		if (live != NULL) {
			if (vecs_names(live, &store, &alias) == -1 ||
			    vecs_entry_delete(c->cfg->root, store, alias,
			    &c->err) == -1)
				goto out;
		}
		/* A CRL entry only vmafdd makes, from vmdir's CA entries:
		 * restore_pass asks for that once vmdir is put back. */
		if (want != NULL && is_crl_unit(want)) {
			c->refresh = 1;
			ret = 0;
		} else
			ret = want != NULL ? vecs_create_unit(c, want, tmpdir) :
			    0;
		goto out;
	}
	if (strncmp(u->prefix, "vmdir/", 6) == 0) {
		if (*vd == NULL && vmdir_open(vd, c->login.uri,
		    c->login.bind_dn, c->login.password, &c->err) == -1)
			goto out;
		ret = vmdir_unit(c, *vd, want, live);
		goto out;
	}
	if (strncmp(u->prefix, "vmca/", 5) == 0 && want != NULL) {
		const char *rel = u->plen == 13 &&
		    strncmp(u->prefix, "vmca/root.cer", 13) == 0 ? APP_VMCA_ROOT :
		    u->plen == 19 && strncmp(u->prefix, "vmca/privatekey.pem",
		    19) == 0 ? APP_VMCA_KEY : NULL;
		char	*path = rel != NULL ? app_path(c->cfg->root, rel) : NULL;

		if (rel == NULL)
			buf_printf(&c->err, "%.*s: not a VMCA file", (int)u->plen,
			    u->prefix);

		/* The mode is what the file is: the VMCA key is 0600, whatever
		 * a manifest said of it. */
		if (path != NULL)
			ret = file_write_atomic(path, want->items[0].data,
			    want->items[0].len, strcmp(rel, APP_VMCA_KEY) == 0 ||
			    bk_path_secret(want->items[0].path) ? 0600 : 0644,
			    &c->err);
		free(path);
		goto out;
	}
	buf_printf(&c->err, "%.*s: cannot be restored", (int)u->plen,
	    u->prefix);
out:
	free(store);
	free(alias);
	return ret;
}

/* The pass of restore_pass that makes unit u exist (want) or go. */
static int
restore_phase(const struct unit *u, int want)
{
	int	 vmdir = strncmp(u->prefix, "vmdir/", 6) == 0;

	if (is_store_unit(u))
		return want ? 0 : 4;	/* new stores first, old ones last */
	if (vmdir)
		return want ? 3 : 1;
	return 2;			/* VECS entries, VMCA files */
}

/* The differences between want and live within the scope; with apply,
 * carried out. Returns the number of differences, -1 on failure. */
static long
restore_pass(struct ctx *c, const struct bk_state *want_st,
    const struct bk_state *live_st, const char *only, int apply,
    const char *tmpdir, int verbose)
{
	struct unit *uw = NULL, *ul = NULL;
	struct vmdir *vd = NULL;
	size_t	 nw = 0, nl = 0, i = 0, j = 0;
	long	 n = 0;
	int	 pass;

	if ((uw = units_of(want_st, &nw)) == NULL ||
	    (ul = units_of(live_st, &nl)) == NULL) {
		n = -1;
		goto out;
	}
	/*
	 * Stores are created before their entries and deleted after. vmafdd
	 * copies vmdir's CA entries into TRUSTED_ROOTS and TRUSTED_ROOT_CRLS
	 * while it runs (Lightwave vmafd/server/vmafd/rootfetch.c), so vmdir
	 * entries go before VECS entries are removed (a root deleted from
	 * VECS first could come back), and are added after them (a root
	 * published first could reach VECS before its own create, which then
	 * fails).
	 */
	for (pass = 0; pass < 5 && n >= 0; pass++) {
		for (i = 0, j = 0; i < nw || j < nl;) {
			int	 cmp = i >= nw ? 1 : j >= nl ? -1 :
			    unit_cmp(&uw[i], &ul[j]);
			const struct unit *w = cmp <= 0 ? &uw[i] : NULL;
			const struct unit *l = cmp >= 0 ? &ul[j] : NULL;
			/* An entry recorded absent is to be no entry. */
			const struct unit *wp = unit_present(w);
			const struct unit *u = wp != NULL ? wp : l;

			if (cmp <= 0)
				i++;
			if (cmp >= 0)
				j++;
			if (u == NULL || !in_scope(u, only) || (wp != NULL &&
			    l != NULL && unit_equal(wp, l)))
				continue;
			if (pass != restore_phase(u, wp != NULL))
				continue;
			n++;
			if (verbose) {
				printf("%-8s ", wp == NULL ? "remove" :
				    l == NULL ? "recreate" : "put back");
				print_unit(stdout, u);
				putchar('\n');
			}
			if (apply && apply_unit(c, &vd, w, l, tmpdir) == -1) {
				n = -1;
				break;
			}
		}
		/* vmdir's CA entries are back: vmafdd remakes their CRLs. */
		if (pass == 3 && apply && c->refresh && n >= 0) {
			c->refresh = 0;
			if (verbose)
				printf("refresh  TRUSTED_ROOT_CRLS from vmdir "
				    "(vecs-cli force-refresh)\n");
			if (vecs_force_refresh(c->cfg->root, &c->err) == -1)
				n = -1;
		}
	}
out:
	vmdir_close(vd);
	free(uw);
	free(ul);
	return n;
}

/*
 * A directory under ROOT/var/lib/vcrotate that only root can enter, for key
 * material on its way to vecs-cli (malloc'd path; the caller removes it).
 */
char *
private_dir(const char *root, const char *what, struct buf *err)
{
	char	*base = NULL, *dir = NULL;

	if ((base = app_path(root, APP_VCROTATE_TMP)) == NULL ||
	    asprintf(&dir, "%s/%s.XXXXXX", base, what) == -1) {
		free(base);
		return NULL;
	}
	if (mkdir(base, 0700) == -1 && errno != EEXIST) {
		buf_printf(err, "%s: %s", base, strerror(errno));
		free(dir);
		dir = NULL;
	} else if (mkdtemp(dir) == NULL) {
		buf_printf(err, "%s: %s", dir, strerror(errno));
		free(dir);
		dir = NULL;
	}
	free(base);
	return dir;
}

/* Removes ROOT/var/lib/vcrotate/<what>.XXXXXX directories a killed run
 * left, with any key file still in them. */
static void
private_dir_sweep(const char *root)
{
	char	*base = app_path(root, APP_VCROTATE_TMP), *d = NULL, *f = NULL;
	DIR	*dir, *sub;
	struct dirent *e, *fe;

	if (base == NULL || (dir = opendir(base)) == NULL) {
		free(base);
		return;
	}
	while ((e = readdir(dir)) != NULL) {
		if ((strncmp(e->d_name, "apply.", 6) != 0 &&
		    strncmp(e->d_name, "restore.", 8) != 0) ||
		    asprintf(&d, "%s/%s", base, e->d_name) == -1)
			continue;
		if ((sub = opendir(d)) != NULL) {
			while ((fe = readdir(sub)) != NULL) {
				if (strcmp(fe->d_name, ".") == 0 ||
				    strcmp(fe->d_name, "..") == 0 ||
				    asprintf(&f, "%s/%s", d, fe->d_name) == -1)
					continue;
				unlink(f);
				free(f);
			}
			closedir(sub);
		}
		if (rmdir(d) == 0)
			fprintf(stderr, "vcrotate: removed %s, left by an "
			    "interrupted run\n", d);
		free(d);
	}
	closedir(dir);
	free(base);
}

/*
 * Removes what a killed run left: the ROOT/var/lib/vcrotate/<what>.XXXXXX
 * directories with any key file still in them, and the temporary files of
 * an atomic write of the VMCA files (a copy of a new key, for one).
 */
static void
stale_files_sweep(const char *root)
{
	static const char *const vmca[] = { APP_VMCA_KEY, APP_VMCA_ROOT };
	size_t	 i;

	char	*path;

	private_dir_sweep(root);
	for (i = 0; i < sizeof(vmca) / sizeof(vmca[0]); i++)
		if ((path = app_path(root, vmca[i])) != NULL) {
			file_sweep_tmp(path);
			free(path);
		}
}

int
journal_pending(const char *root, struct buf *err)
{
	struct journal j;
	int	 r;

	if ((r = journal_load(&j, root, err)) == 1)
		buf_printf(err, "transaction %s was interrupted (its journal "
		    "is %s); nothing else may change the appliance until it "
		    "is finished: run vcrotate recover (back to the before "
		    "state) or vcrotate recover --forward", journal_value(&j,
		    "transaction") != NULL ? journal_value(&j, "transaction") :
		    "?", j.path);
	journal_free(&j);
	return r == 1 ? EXIT_PENDING : r == -1 ? 1 : 0;
}

int
writer_begin(struct config *cfg, const char *who, int recovering,
    int *lockfd, struct buf *err)
{
	int	 r;

	if (appliance_lock(cfg->root, who, lockfd, err) == -1)
		return errno == EWOULDBLOCK ? EXIT_BUSY : 1;
	/* Nobody else runs now: whatever a killed run left is stale, and
	 * recovery never needs it (it stages again from the snapshots). A
	 * command refused below for a pending journal removes it too. */
	stale_files_sweep(cfg->root);
	if (!recovering && (r = journal_pending(cfg->root, err)) != 0) {
		close(*lockfd);
		*lockfd = -1;
		return r;
	}
	if (cfg->backup_repo != NULL)
		bk_repo_clear_stale_locks(cfg->backup_repo);
	return 0;
}

/*
 * Makes the appliance equal to snapshot rev within `only'; with dry, only
 * says what it would do. 0 when the appliance equals the snapshot after
 * (changes: how many entries were rewritten), -1 otherwise.
 */
static int
restore_core(struct ctx *c, const char *rev, const char *only, int dry,
    long *changes)
{
	struct bk_state want = { NULL, 0, 0 }, live = { NULL, 0, 0 };
	json_t	*man = NULL;
	char	 id[41], *tmpdir = NULL;
	long	 n = 0, left;
	int	 ret = -1;

	*changes = 0;
	if (bk_repo_read(c->repo, rev, c->key, &want, &man, id, &c->err) == -1)
		goto out;
	warn_unauthenticated(man, id);
	if (json_string_value(json_object_get(json_object_get(man,
	    "appliance"), "machine_id")) == NULL ||
	    strcmp(json_string_value(json_object_get(json_object_get(man,
	    "appliance"), "machine_id")), c->app.machine_id) != 0) {
		buf_printf(&c->err, "snapshot %.12s is of another appliance "
		    "(%s)", id, json_string_value(json_object_get(
		    json_object_get(man, "appliance"), "pnid")));
		goto out;
	}
	if (bk_state_read(&live, c->cfg->root, &c->app, &c->login,
	    &c->err) == -1)
		goto out;
	if (dry) {
		n = restore_pass(c, &want, &live, only, 0, NULL, 1);
		printf("%ld change%s would be made (dry run: nothing changed)\n",
		    n, n == 1 ? "" : "s");
		ret = n < 0 ? -1 : 0;
		goto out;
	}
	if ((tmpdir = private_dir(c->cfg->root, "restore", &c->err)) == NULL)
		goto out;
	n = restore_pass(c, &want, &live, only, 1, tmpdir, 1);
	if (n < 0)
		goto out;
	/* Read the appliance again: the restore is done when it equals the
	 * snapshot within the scope, not when the writes returned. */
	bk_state_free(&live);
	if (bk_state_read(&live, c->cfg->root, &c->app, &c->login,
	    &c->err) == -1)
		goto out;
	left = restore_pass(c, &want, &live, only, 0, NULL, 0);
	if (left != 0) {
		buf_printf(&c->err, "after %ld change%s, %ld entr%s still "
		    "differ%s from snapshot %.12s", n, n == 1 ? "" : "s",
		    left, left == 1 ? "y" : "ies", left == 1 ? "s" : "", id);
		restore_pass(c, &want, &live, only, 0, NULL, 1);
		goto out;
	}
	printf("restored snapshot %.12s: %ld change%s; the appliance now "
	    "equals the snapshot%s%s\n", id, n, n == 1 ? "" : "s",
	    only != NULL ? " for " : "", only != NULL ? only : "");
	ret = 0;
out:
	*changes = n;
	if (tmpdir != NULL)
		rmdir(tmpdir);
	free(tmpdir);
	bk_state_free(&want);
	bk_state_free(&live);
	json_decref(man);
	return ret;
}

/*
 * Before a restore: warns of every certificate it would put back that is
 * expired or expires within 30 days (putting an outage back is allowed, but
 * said), and returns how many entries it would change; -1 on failure. id
 * gets the commit rev names now ("HEAD" moves with the snapshot that
 * follows).
 */
static long
restore_preview(struct ctx *c, const char *rev, const char *only,
    char id[41])
{
	struct bk_state want = { NULL, 0, 0 }, live = { NULL, 0, 0 };
	struct unit *uw = NULL, *ul = NULL;
	json_t	*man = NULL;
	char	 when[64], *name;
	size_t	 nw = 0, nl = 0, i;
	long	 n = -1;
	X509	*x;

	if (bk_repo_read(c->repo, rev, c->key, &want, &man, id, &c->err) ==
	    -1 || bk_state_read(&live, c->cfg->root, &c->app, &c->login,
	    &c->err) == -1)
		goto out;
	if ((n = restore_pass(c, &want, &live, only, 0, NULL, 0)) < 0 ||
	    (uw = units_of(&want, &nw)) == NULL ||
	    (ul = units_of(&live, &nl)) == NULL)
		goto out;
	for (i = 0; i < nw; i++) {
		const struct unit *l = unit_find(ul, nl, &uw[i]);

		if (unit_absent(&uw[i]) || !in_scope(&uw[i], only) ||
		    (l != NULL && unit_equal(&uw[i], l)) ||
		    (x = unit_cert(&uw[i])) == NULL)
			continue;
		if (cert_days_left(x, time(NULL)) < 30 &&
		    (name = unit_name(&uw[i])) != NULL) {
			cert_time_str(cert_not_after(x), when, sizeof(when));
			text_printf_safe(stderr, "vcrotate backup restore: "
			    "warning: puts back %s, %s %s\n", name,
			    cert_not_after(x) < time(NULL) ? "expired on" :
			    "expiring on", when);
			free(name);
		}
		X509_free(x);
	}
out:
	free(uw);
	free(ul);
	json_decref(man);
	bk_state_free(&want);
	bk_state_free(&live);
	return n;
}

/*
 * backup restore writes as apply does, with an audit record: the state it
 * replaces is snapshotted first (Result: before), a terminal is asked
 * (--yes does not ask), and the restored state is recorded (Result:
 * success), each with the operator, ticket and reason.
 */
static int
do_restore(struct ctx *c, const struct cmdline *cl)
{
	const char *rev = cl->operand[0], *only = cmdline_get(cl, "--only");
	struct bk_meta meta = { NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    NULL };
	struct bk_state st = { NULL, 0, 0 };
	char	*reason = NULL, *q = NULL, id[41], target[41];
	long	 n;
	int	 k, dry = cmdline_get(cl, "--dry-run") != NULL, lockfd = -1;
	int	 ret = 1;

	if (!valid_only(only)) {
		text_printf_safe(stderr,
		    "vcrotate backup restore: --only %s: one of "
		    "vecs:STORE[/ALIAS], sts, solution-users, trust-anchors\n",
		    only);
		return EXIT_USAGE;
	}
	meta.operator = cmdline_get(cl, "--operator") != NULL ?
	    cmdline_get(cl, "--operator") : config_operator();
	meta.ticket = cmdline_get(cl, "--ticket");
	if (asprintf(&reason, "backup restore of %s%s%s", rev,
	    cmdline_get(cl, "--reason") != NULL ? ": " : "",
	    cmdline_get(cl, "--reason") != NULL ? cmdline_get(cl, "--reason") :
	    "") == -1)
		return 1;
	meta.reason = reason;
	/* A restore writes: never at the same time as apply or another
	 * restore, nor over an interrupted transaction. */
	if (!dry && (k = writer_begin(c->cfg, "backup restore", 0, &lockfd,
	    &c->err)) != 0) {
		fail(c, "restore");
		free(reason);
		return k;
	}
	if (open_repo(c, 0) == -1 || open_live(c) == -1)
		goto failed;
	if (dry) {
		ret = restore_core(c, rev, only, 1, &n) == -1 ? fail(c,
		    "restore") : 0;
		goto out;
	}
	if ((n = restore_preview(c, rev, only, target)) < 0)
		goto failed;
	if (n > 0 && cmdline_get(cl, "--yes") == NULL) {
		if (asprintf(&q, "Restore snapshot %s: %ld change%s to %s? "
		    "[y/N] ", rev, n, n == 1 ? "" : "s", c->app.pnid) == -1)
			goto failed;
		if (!ask_terminal(q)) {
			buf_printf(&c->err, "not confirmed (--yes does not "
			    "ask); nothing was changed");
			goto failed;
		}
	}
	meta.result = "before";
	if (n > 0 && (bk_state_read(&st, c->cfg->root, &c->app, &c->login,
	    &c->err) == -1 || bk_repo_snapshot(c->repo, &st, c->key,
	    c->app.pnid, c->app.machine_id, &meta, id, &c->err) == -1))
		goto failed;
	if (n > 0)
		printf("snapshot %s: the state this restore replaces\n", id);
	if (restore_core(c, target, only, 0, &n) == -1)
		goto failed;
	meta.result = "success";
	if (n > 0 && bk_repo_mark(c->repo, target, c->key, c->app.pnid, &meta,
	    id, &c->err) == -1)
		goto failed;
	ret = 0;
	goto out;
failed:
	ret = fail(c, "restore");
out:
	if (lockfd != -1)
		close(lockfd);
	bk_state_free(&st);
	free(reason);
	free(q);
	return ret;
}

/* ---- for apply: a backup session ---- */

struct bk_session {
	struct ctx c;
};

int
backup_session_open(struct bk_session **out, struct config *cfg,
    struct buf *err)
{
	struct bk_session *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (s == NULL)
		return -1;
	s->c.cfg = cfg;
	bk_init();
	if (open_live(&s->c) == -1 || open_repo(&s->c, 1) == -1) {
		buf_puts(err, buf_str(&s->c.err));
		backup_session_close(s);
		return -1;
	}
	*out = s;
	return 0;
}

int
backup_session_open_read(struct bk_session **out, struct config *cfg,
    struct buf *err)
{
	struct bk_session *s;
	struct stat st;

	*out = NULL;
	if (stat(cfg->backup_repo, &st) == -1 && errno == ENOENT)
		return 1;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		buf_printf(err, "out of memory");
		return -1;
	}
	s->c.cfg = cfg;
	bk_init();
	if (open_repo(&s->c, 0) == -1) {
		buf_puts(err, buf_str(&s->c.err));
		backup_session_close(s);
		return -1;
	}
	*out = s;
	return 0;
}

int
backup_session_snapshot(struct bk_session *s, const struct bk_meta *meta,
    const char *const *absent, size_t nabsent, char id[41], struct buf *err)
{
	struct bk_state st = { NULL, 0, 0 };
	int	 ret = -1;

	buf_reset(&s->c.err);
	if (bk_state_read(&st, s->c.cfg->root, &s->c.app, &s->c.login,
	    &s->c.err) == 0 && (nabsent == 0 || bk_state_add_absent(&st,
	    &s->c.app, absent, nabsent, &s->c.err) == 0) &&
	    bk_repo_snapshot(s->c.repo, &st, s->c.key,
	    s->c.app.pnid, s->c.app.machine_id, meta, id, &s->c.err) == 0)
		ret = 0;
	if (ret == -1)
		buf_puts(err, buf_str(&s->c.err));
	bk_state_free(&st);
	return ret;
}

int
backup_session_restore(struct bk_session *s, const char *rev, long *changes,
    struct buf *err)
{
	long	 n;

	buf_reset(&s->c.err);
	if (restore_core(&s->c, rev, NULL, 0, &n) == -1) {
		buf_puts(err, buf_str(&s->c.err));
		return -1;
	}
	if (changes != NULL)
		*changes = n;
	return 0;
}

/* Whether a unit differs between two states: present in one only, or not
 * equal. */
static int
unit_differs(const struct unit *a, size_t na, const struct unit *b,
    size_t nb, const struct unit *key)
{
	const struct unit *x = unit_present(unit_find(a, na, key));
	const struct unit *y = unit_present(unit_find(b, nb, key));

	return (x == NULL) != (y == NULL) ||
	    (x != NULL && y != NULL && !unit_equal(x, y));
}

int
backup_session_overlap(struct bk_session *s, const char *base,
    const char *changed, const char *now, struct buf *names, struct buf *err)
{
	struct bk_state st[3] = { { NULL, 0, 0 }, { NULL, 0, 0 },
	    { NULL, 0, 0 } };
	const char *rev[3] = { base, changed, now };
	struct unit *u[3] = { NULL, NULL, NULL };
	size_t	 n[3] = { 0, 0, 0 }, i, k;
	json_t	*man = NULL;
	char	 id[41], *name;
	int	 found = -1;

	for (k = 0; k < 3; k++) {
		json_decref(man);
		man = NULL;
		if (bk_repo_read(s->c.repo, rev[k], s->c.key, &st[k], &man, id,
		    err) == -1)
			goto out;
		if ((u[k] = units_of(&st[k], &n[k])) == NULL) {
			buf_printf(err, "out of memory");
			goto out;
		}
	}
	/* What base -> changed changed, and now holds otherwise. */
	found = 0;
	for (k = 0; k < 2; k++)
		for (i = 0; i < n[k]; i++) {
			const struct unit *key = &u[k][i];

			if (k == 1 && unit_find(u[0], n[0], key) != NULL)
				continue;	/* seen from base */
			if (!unit_differs(u[0], n[0], u[1], n[1], key) ||
			    !unit_differs(u[1], n[1], u[2], n[2], key))
				continue;
			if (found++ < 5 && (name = unit_name(key)) != NULL) {
				buf_printf(names, "%s%s", found > 1 ? ", " :
				    "", name);
				free(name);
			}
		}
	if (found > 5)
		buf_printf(names, " and %d more", found - 5);
out:
	json_decref(man);
	for (k = 0; k < 3; k++) {
		free(u[k]);
		bk_state_free(&st[k]);
	}
	return found;
}

long
backup_session_preview(struct bk_session *s, const char *rev, char id[41],
    struct buf *err)
{
	long	 n;

	buf_reset(&s->c.err);
	if ((n = restore_preview(&s->c, rev, NULL, id)) < 0)
		buf_puts(err, buf_str(&s->c.err));
	return n;
}

int
backup_session_mark(struct bk_session *s, const char *rev,
    const struct bk_meta *meta, char id[41], struct buf *err)
{
	return bk_repo_mark(s->c.repo, rev, s->c.key, s->c.app.pnid, meta, id,
	    err);
}

struct session_list {
	struct bk_session *s;
	bk_session_list_fn fn;
	void		*arg;
	struct buf	 why;
};

/* Each commit with whether it authenticates (bk_repo_check). */
static int
session_list_one(const char *id, long long when, const char *message,
    void *arg)
{
	struct session_list *l = arg;

	buf_reset(&l->why);
	if (bk_repo_check(l->s->c.repo, id, l->s->c.key, &l->why) != -1)
		return l->fn(id, when, message, NULL, l->arg);
	if (l->why.len == 0)
		buf_printf(&l->why, "snapshot %.12s does not read", id);
	return l->fn(id, when, message, buf_str(&l->why), l->arg);
}

int
backup_session_list(struct bk_session *s, bk_session_list_fn fn, void *arg,
    struct buf *err)
{
	struct session_list l = { s, fn, arg, BUF_INIT };
	int	 rc;

	rc = bk_repo_list(s->c.repo, session_list_one, &l, err);
	buf_free(&l.why);
	return rc;
}

void
backup_session_close(struct bk_session *s)
{
	if (s == NULL)
		return;
	ctx_free(&s->c);
	bk_shutdown();
	free(s);
}

int
cmd_backup(const struct cmdline *cl, struct config *cfg)
{
	static const struct {
		const char *name;
		int	  (*run)(struct ctx *, const struct cmdline *);
	} subs[] = {
		{ "backup snapshot", do_snapshot }, { "backup list", do_list },
		{ "backup show", do_show }, { "backup diff", do_diff },
		{ "backup restore", do_restore }, { "backup verify", do_verify },
	};
	struct ctx c;
	size_t	 k;
	int	 ret;

	for (k = 0; k < sizeof(subs) / sizeof(subs[0]); k++)
		if (strcmp(cl->syn->name, subs[k].name) == 0)
			break;
	if (k == sizeof(subs) / sizeof(subs[0])) {
		fprintf(stderr, "vcrotate: %s is not a backup command\n",
		    cl->syn->name);
		return EXIT_USAGE;
	}
	memset(&c, 0, sizeof(c));
	c.cfg = cfg;
	cfg->warn_days = cfg->crit_days = -1;
	if (config_load(cfg, &c.err) == -1) {
		ret = fail(&c, cl->syn->name + strlen("backup "));
		goto out;
	}
	bk_init();
	ret = subs[k].run(&c, cl);
	bk_shutdown();
out:
	ctx_free(&c);
	return ret;
}
