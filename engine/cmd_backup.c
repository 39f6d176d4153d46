/*
 * cmd_backup.c - vcrotate backup snapshot|list|show|diff|restore|verify:
 * git-versioned snapshots of the whole certificate state (backup/), and
 * putting any of them back exactly.
 *
 * Exit: 0 done, 1 failed (nothing half-written: restore re-reads the live
 * state and says what differs), 64 bad usage; restore, a transaction
 * (txn.h), also 3 (the journal stays: vcrotate recover), 5 and 6
 * (lock.h), 128+N (signal N, put back).
 *
 * This file is the command line and the output; the work is in backup/:
 * units.c compares states, restore.c puts a snapshot back, session.c opens
 * the repository and the appliance; lock.c is the writers' protocol.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "lock.h"
#include "safetext.h"
#include "repo.h"
#include "restore.h"
#include "session.h"
#include "state.h"
#include "txn.h"
#include "units.h"
#include "vcdb.h"

/* A backup subcommand's session, and why it failed. */
struct ctx {
	struct bk_session s;
	struct buf	 err;
};

static int
fail(struct ctx *c, const char *what)
{
	text_printf_safe(stderr,
	    "vcrotate backup %s: %s\n", what, buf_str(&c->err));
	return 1;
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
	if ((k = writer_begin(c->s.cfg, "backup snapshot", 0, &lockfd,
	    &c->err)) != 0) {
		fail(c, "snapshot");
		return k;
	}
	/* Read first: a snapshot that cannot be complete is not begun. */
	if (vcdb_ensure(c->s.cfg->root, &c->err) == 1)
		fprintf(stderr, "vcrotate backup snapshot: VCDB did not answer: "
		    "started vmware-vpostgres to read it\n");
	buf_reset(&c->err);
	if (backup_session_live(&c->s, &c->err) == -1 || bk_state_read(&st,
	    c->s.cfg->root, c->s.app, c->s.login, &c->err) == -1) {
		text_printf_safe(stderr,
		    "vcrotate backup snapshot: no snapshot made: "
		    "%s\n", buf_str(&c->err));
		goto out;
	}
	if (backup_session_repo(&c->s, 1, &c->err) == -1 ||
	    bk_repo_snapshot(c->s.repo, &st, c->s.key, c->s.app->pnid,
	    c->s.app->machine_id, &meta, id, &c->err) == -1) {
		ret = fail(c, "snapshot");
		goto out;
	}
	for (i = 0; i < st.n; i++)
		sealed += st.items[i].secret;
	printf("snapshot %s of %s: %zu items (%zu sealed) in %s\n", id,
	    c->s.app->pnid, st.n, sealed, c->s.cfg->backup_repo);
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
	char	*v;
	size_t	 i;

	for (i = 0; names[i] != NULL; i++)
		if ((v = bk_trailer(message, names[i])) != NULL) {
			json_object_set_new(o, names[i], json_string(v));
			free(v);
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
	if (backup_session_repo(&c->s, 0, &c->err) == -1 ||
	    bk_repo_list(c->s.repo, list_one, arr, &c->err) == -1)
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
		unit_print(f, u);
		fclose(f);
	}
	if (entries != NULL) {
		json_t	*e = json_pack("{s:s,s:s%,s:s?}", "entry",
		    name != NULL ? name : "", "path", u->prefix, u->plen,
		    "certificate", sum);

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

	if (backup_session_repo(&c->s, 0, &c->err) == -1 ||
	    bk_repo_read(c->s.repo, cl->operand[0], c->s.key, &st, &man, id,
	    &c->err) == -1)
		return fail(c, "show");
	bk_repo_warn_unauthenticated(man, id);
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
	if (backup_session_repo(&c->s, 0, &c->err) == -1)
		return fail(c, "verify");
	if (bk_repo_verify(c->s.repo, c->s.key, &v, &c->err) == -1) {
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
	unit_print(stdout, a != NULL ? a : b);
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

	if (backup_session_repo(&c->s, 0, &c->err) == -1 ||
	    bk_repo_read(c->s.repo, cl->operand[0], c->s.key, &a, &ma, ida,
	    &c->err) == -1 || bk_repo_read(c->s.repo, cl->operand[1], c->s.key,
	    &b, &mb, idb, &c->err) == -1) {
		ret = fail(c, "diff");
		goto out;
	}
	bk_repo_warn_unauthenticated(ma, ida);
	bk_repo_warn_unauthenticated(mb, idb);
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

/*
 * backup restore writes as apply does, with an audit record: the state it
 * replaces is snapshotted first (Result: before), a terminal is asked
 * (--yes does not ask), and the restored state is recorded (Result:
 * success), each with the operator, ticket and reason.
 */
/* What a restore puts back: snapshot target (a commit), within only. */
struct restore_to {
	const char	*target;
	const char	*only;
};

/* txn_ops.change: the restore. The applied snapshot is taken after it
 * (with --only the new state is no snapshot of the backup). */
static int
restore_change(struct txn *t, void *arg)
{
	const struct restore_to *r = arg;
	long	 n;

	if (txn_change(t) == -1)
		return -1;
	return bk_restore(t->bk, r->target, r->only, 0, &n, &t->err);
}

/* txn_ops.verify: a restore does not restart the services (the operator
 * does, as after any restore: docs/backup.md); it stands as it is. */
static int
restore_verify(struct txn *t, void *arg)
{
	(void)t;
	(void)arg;
	return 0;
}

/*
 * vcrotate backup restore REV: as a transaction of its own (txn.h), as
 * rollback is: a before snapshot, a journal, the restore, the applied
 * snapshot; an interruption is finished by vcrotate recover, a failure
 * puts the before state back, and history lists it.
 */
static int
do_restore(struct ctx *c, const struct cmdline *cl)
{
	static const struct txn_ops ops = { restore_change, restore_verify, 0 };
	const char *rev = cl->operand[0], *only = cmdline_get(cl, "--only");
	const char *result = "refused", *v;
	struct restore_to to;
	struct txn t;
	char	*reason = NULL, target[41];
	long	 n;
	int	 r, ret;

	if (!bk_restore_scope_valid(only)) {
		text_printf_safe(stderr,
		    "vcrotate backup restore: --only %s: one of "
		    "vecs:STORE[/ALIAS], sts, solution-users, trust-anchors\n",
		    only);
		return EXIT_USAGE;
	}
	v = cmdline_get(cl, "--reason");
	if (asprintf(&reason, "backup restore of %s%s%s", rev, v != NULL ?
	    ": " : "", v != NULL ? v : "") == -1 ||
	    txn_init(&t, c->s.cfg, "restore", reason) == -1) {
		free(reason);
		return 1;
	}
	free(reason);
	t.name = "backup restore";
	txn_audit_options(&t, cl);
	txn_catch_signals();
	/* A restore writes: never at the same time as apply or another
	 * restore, nor over an interrupted transaction. It makes no
	 * repository: there is nothing to restore without one. */
	if ((r = txn_open(&t, cmdline_get(cl, "--dry-run") != NULL, 0)) > 0) {
		ret = txn_refused(&t, r);
		goto out;
	}
	if (r == -1)
		goto refused;
	if (cmdline_get(cl, "--dry-run") != NULL) {
		ret = bk_restore(t.bk, rev, only, 1, &n, &t.err) == -1 ?
		    txn_refused(&t, 1) : 0;
		goto out;
	}
	if ((n = bk_restore_preview(t.bk, rev, only, target, &t.err)) < 0 ||
	    (n > 0 && cmdline_get(cl, "--yes") == NULL && txn_confirm(&t,
	    "Restore snapshot %s: %ld change%s to %s? [y/N] ", rev, n, n == 1 ?
	    "" : "s", t.app.pnid) == -1))
		goto refused;
	if (n == 0) {
		/* Nothing to change: no transaction, and no write. */
		printf("restored snapshot %.12s: 0 changes; the appliance "
		    "already equals the snapshot%s%s\n", target, only != NULL ?
		    " for " : "", only != NULL ? only : "");
		ret = 0;
		result = "nothing to do";
		goto out;
	}
	if (txn_services_now(&t) == -1 || txn_before(&t, NULL, 0) == -1 ||
	    txn_begin(&t, NULL, NULL, NULL, "backup restore of", rev) == -1)
		goto refused;
	printf("snapshot %s: the state this restore replaces\n", t.before);
	to.target = target;
	to.only = only;
	/* backup's exit codes: refused or failed is 1, as before */
	if ((ret = txn_run(&t, &ops, &to, &result)) == TXN_EXIT_REFUSED)
		ret = 1;
	if (ret == 0)
		txn_say(&t, "restored: the appliance equals snapshot %.12s%s "
		    "(transaction %s); restart the services to serve it",
		    target, only != NULL ? " within --only" : "", t.id);
	goto out;
refused:
	ret = txn_refused(&t, 1);
out:
	txn_log_outcome(&t, result, ret);
	txn_free(&t);
	return ret;
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
	c.s.cfg = cfg;
	cfg->warn_days = cfg->crit_days = -1;
	if (config_load(cfg, &c.err) == -1) {
		ret = fail(&c, cl->syn->name + strlen("backup "));
		goto out;
	}
	bk_init();
	ret = subs[k].run(&c, cl);
	/* The repository closed while libgit2 is up: closing a pack (a
	 * snapshot may have written one) takes libgit2's global lock. */
	backup_session_clear(&c.s);
	bk_shutdown();
	buf_free(&c.err);
	return ret;
out:
	backup_session_clear(&c.s);
	buf_free(&c.err);
	return ret;
}
