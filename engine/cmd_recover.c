/*
 * cmd_recover.c - vcrotate recover [--back | --forward]: finishes the
 * transaction whose journal is on disk (txn.h). Back (the default) puts its
 * before snapshot back; forward puts its applied snapshot back (only when
 * the journal has one) and commits, after the check apply would have made
 * of the services and the Machine SSL certificate served; past the commit
 * point, only forward is possible. Signals do not stop it: finishing is
 * what an interrupted operator wants. A second run finds no journal and
 * does nothing.
 *
 * The outcome is the transaction's: its operator, ticket and reason stay
 * on its record, with who finished it ("; recovered by NAME", and recover's
 * own --ticket and --reason).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "commands.h"
#include "lock.h"
#include "session.h"
#include "safetext.h"
#include "services.h"
#include "txn.h"

/* The transaction as its journal tells it (t->j loaded). */
static int
from_journal(struct txn *t, const struct cmdline *cl)
{
	const struct journal_record *stopped;
	const char *v, *who = cmdline_get(cl, "--operator");
	const char *tk = cmdline_get(cl, "--ticket");
	const char *why = cmdline_get(cl, "--reason");
	char	*r;
	size_t	 k;

	t->journaled = 1;
	snprintf(t->id, sizeof(t->id), "%s", (v = journal_value(&t->j,
	    "transaction")) != NULL ? v : "?");
	snprintf(t->before, sizeof(t->before), "%s", (v = journal_value(&t->j,
	    "before")) != NULL ? v : "");
	snprintf(t->applied, sizeof(t->applied), "%s",
	    (v = journal_value(&t->j, "applied")) != NULL ? v : "");
	if ((v = journal_value(&t->j, "kind")) != NULL && *v != '\0')
		t->kind = v;
	if ((v = journal_value(&t->j, "operator")) != NULL && *v != '\0')
		t->operator = v;
	if ((v = journal_value(&t->j, "ticket")) != NULL && *v != '\0')
		t->ticket = v;
	if (asprintf(&r, "%s; recovered by %s%s%s%s%s",
	    (v = journal_value(&t->j, "reason")) != NULL ? v : "apply",
	    who != NULL ? who : config_operator(), tk != NULL ? ", ticket " :
	    "", tk != NULL ? tk : "", why != NULL ? ": " : "", why != NULL ?
	    why : "") == -1) {
		buf_printf(&t->err, "out of memory");
		return -1;
	}
	free(t->reason);
	t->reason = r;
	if (t->before[0] == '\0') {
		buf_printf(&t->err, "%s names no before snapshot", t->j.path);
		return -1;
	}
	if ((stopped = journal_find(&t->j, "stopped")) != NULL)
		for (k = 1; k < stopped->n; k++)
			buf_printf(&t->stopped_before, "%s%s", k > 1 ? " " : "",
			    stopped->words[k]);
	if (journal_find(&t->j, "commit") != NULL)
		t->state = TXN_COMMITTED;
	else if (journal_find(&t->j, "rollback") != NULL)
		t->state = TXN_ROLLING_BACK;
	else if (t->applied[0] != '\0')
		t->state = TXN_APPLIED;
	else
		t->state = TXN_CHANGING;
	return 0;
}

/* Which way: 0 back, 1 forward, -1 not possible (said). */
static int
direction(struct txn *t, int forward, int back)
{
	const struct journal_record *last;

	/* No direction given: the one an interrupted recover had taken. */
	if (!forward && !back && (last = journal_find_last(&t->j,
	    "recover")) != NULL && last->n > 1)
		forward = strcmp(last->words[1], "forward") == 0;
	if (t->state == TXN_COMMITTED && back) {
		text_printf_safe(stderr, "vcrotate recover: transaction %s "
		    "passed its commit point: it can only be finished "
		    "(vcrotate recover), then undone (vcrotate rollback %s)\n",
		    t->id, t->id);
		return -1;
	}
	if (forward && t->applied[0] == '\0') {
		text_printf_safe(stderr, "vcrotate recover: transaction %s "
		    "stopped before every new item was in place: it can only "
		    "go back (vcrotate recover --back)\n", t->id);
		return -1;
	}
	/* An apply that began to roll back had found its new state failing;
	 * a rollback's or a restore's new state is a snapshot that was good,
	 * and going there is how one whose undoing failed is finished. */
	if (forward && t->state == TXN_ROLLING_BACK &&
	    strcmp(t->kind, "apply") == 0) {
		text_printf_safe(stderr, "vcrotate recover: transaction %s "
		    "failed and its rollback had begun: it can only go back "
		    "(vcrotate recover --back)\n", t->id);
		return -1;
	}
	return forward || t->state == TXN_COMMITTED;
}

/*
 * Before recover writes: what it would put back, every expired or
 * expiring certificate among it named (backup_session_preview), the
 * question at a terminal (not with --yes), then a snapshot of the state it
 * replaces, as every writer takes; best effort, as a half-changed
 * appliance may not read whole, and finishing matters more. 0, 1 not
 * confirmed, -1 when what it would do cannot be read.
 */
static int
recover_begins(struct txn *t, const char *target, const char *dir, int yes)
{
	char	 id[41];
	long	 n;

	if ((n = backup_session_preview(t->bk, target, id, &t->err)) < 0)
		return -1;
	if (!yes && txn_confirm(t, "Recover transaction %s: %s to snapshot "
	    "%.12s, %ld change%s, restarting every service? [y/N] ", t->id,
	    dir, target, n, n == 1 ? "" : "s") == -1)
		return 1;
	if (n > 0 && txn_snapshot(t, "before recover", id) == -1) {
		txn_say(t, "warning: no snapshot of the state recover replaces "
		    "(%s); going on", buf_str(&t->err));
		buf_reset(&t->err);
	} else if (n > 0)
		txn_say(t, "snapshot of the state recover replaces: %.12s", id);
	return 0;
}

/*
 * Puts target back and restarts: committed, the services were restarted
 * on the after state; else they may have been stopped, or started on a
 * mixed one. Going forward commits, on what apply itself would have
 * checked.
 */
static int
finish(struct txn *t, const char *target, int forward)
{
	int	 committed = t->state == TXN_COMMITTED;
	/* Only apply's new state is checked before it commits; a rollback's
	 * or a restore's is an older state, whose services may not have
	 * run either (rollback itself takes it as it comes). */
	int	 judged = strcmp(t->kind, "apply") == 0;
	long	 changes = 0;

	if (backup_session_restore(t->bk, target, &changes, &t->err) == -1)
		return -1;
	/* A restore restarts nothing, and nor does finishing one. Going
	 * forward, apply's rule: a failed start is left to the verify below
	 * (a service that ran before the transaction and does not now is a
	 * regression); a failed stop, or a journal that cannot say what ran
	 * before, is a failure. */
	if ((!committed || changes > 0) && txn_restarts(t)) {
		struct buf why = BUF_INIT;
		int	 r;

		if (forward && judged && !committed && journal_find(&t->j,
		    "stopped") != NULL)
			r = txn_restart_judged(t, &why);
		else
			r = txn_restart(t);
		buf_free(&why);
		if (r == -1 && forward && judged) {
			buf_printf(&t->err, "\nthe after state is in place, "
			    "but the services do not start; vcrotate recover "
			    "--back puts the before state back");
			return -1;
		}
		if (r == -1) {
			txn_say(t, "the services are as %s: %s", forward ?
			    "the state put back leaves them" : "they were "
			    "before the transaction", buf_str(&t->err));
			buf_reset(&t->err);
		}
	}
	if (forward && !committed && ((judged &&
	    txn_verify_served(t) == -1) ||
	    txn_record(t, "commit", NULL, NULL) == -1)) {
		buf_printf(&t->err, "\nthe new state is not committed; vcrotate "
		    "recover --back puts the before state back");
		return -1;
	}
	t->state = forward ? TXN_COMMITTED : TXN_ROLLING_BACK;
	txn_mark(t, target, forward ? "success (recovered)" :
	    "rolled back (recovered)");
	txn_end(t);
	return 0;
}

int
cmd_recover(const struct cmdline *cl, struct config *cfg)
{
	struct txn t;
	const char *target, *dir;
	char	 pid[24];
	int	 r, forward, ret = TXN_EXIT_STUCK;

	forward = cmdline_get(cl, "--forward") != NULL;
	if (forward && cmdline_get(cl, "--back") != NULL) {
		fprintf(stderr, "vcrotate recover: --back and --forward cannot "
		    "be used together\n");
		return EXIT_USAGE;
	}
	cfg->warn_days = cfg->crit_days = -1;
	if (txn_init(&t, cfg, "recover", "recover") == -1) {
		fprintf(stderr, "vcrotate recover: out of memory\n");
		return TXN_EXIT_STUCK;
	}
	txn_catch_signals();
	t.hold_signals = 1;
	if (config_load(cfg, &t.err) == -1)
		goto fail;
	if ((r = txn_lock(&t, 1, 0)) != 0) {
		text_printf_safe(stderr, "vcrotate recover: %s\n",
		    buf_str(&t.err));
		ret = r == 1 ? TXN_EXIT_STUCK : r;
		goto out;
	}
	if ((r = journal_load(&t.j, cfg->root, &t.err)) == 0) {
		printf("no interrupted transaction: nothing to recover\n");
		ret = TXN_EXIT_OK;
		goto out;
	}
	if (r == -1) {
		buf_printf(&t.err, "\nvcrotate history lists the snapshots; "
		    "vcrotate backup restore SNAPSHOT puts one back; then "
		    "remove the journal by hand");
		goto fail;
	}
	if (from_journal(&t, cl) == -1)
		goto fail;
	if ((r = direction(&t, forward, cmdline_get(cl, "--back") != NULL)) ==
	    -1) {
		ret = TXN_EXIT_REFUSED;
		goto out;
	}
	forward = r;
	target = forward ? t.applied : t.before;
	dir = forward ? "forward" : "back";
	txn_say(&t, "transaction %s (%s, last record \"%s\"%s): %s to snapshot "
	    "%.12s", t.id, t.kind, journal_last(&t.j), t.j.torn ? ", a torn "
	    "record after it" : "", dir, target);

	/* vmafd-cli and vecs-cli need vmafdd, LDAP vmdird: a run killed
	 * after service-control --stop --all left them stopped. */
	services_start_vmafd_vmdir(cfg->root, &t.err);
	buf_reset(&t.err);
	txn_vcdb(&t);
	if (txn_identify(&t) == -1 ||
	    backup_session_open(&t.bk, cfg, &t.app, &t.login, 1,
	    &t.err) == -1)
		goto fail;
	if ((r = recover_begins(&t, target, dir, cmdline_get(cl, "--yes") !=
	    NULL)) == -1)
		goto fail;
	if (r == 1) {
		text_printf_safe(stderr, "vcrotate recover: %s\nNothing was "
		    "restored; the journal %s stays.\n", buf_str(&t.err),
		    t.j.path);
		ret = TXN_EXIT_REFUSED;
		goto out;
	}
	/* The direction is recorded once confirmed: an interrupted recover
	 * is continued the same way. */
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	if (txn_record(&t, "recover", dir, pid) == -1)
		goto fail;
	if (finish(&t, target, forward) == -1)
		goto fail;
	txn_say(&t, "recovered: transaction %s is %s; the appliance equals "
	    "snapshot %.12s", t.id, forward ? "committed" : "rolled back",
	    target);
	syslog(LOG_NOTICE, "vcrotate: transaction %s recovered %s", t.id, dir);
	ret = TXN_EXIT_OK;
	goto out;
fail:
	text_printf_safe(stderr, "vcrotate recover: %s%s%s%s\n",
	    buf_str(&t.err), t.journaled ? "\nThe journal stays; run vcrotate "
	    "recover again once the cause is fixed: " : "", t.journaled ?
	    t.j.path : "", t.journaled && !forward && t.applied[0] != '\0' &&
	    strcmp(t.kind, "apply") != 0 ? "\nor finish it forward, to the "
	    "state it was putting back: vcrotate recover --forward" : "");
	ret = TXN_EXIT_STUCK;
out:
	txn_free(&t);
	return ret;
}
