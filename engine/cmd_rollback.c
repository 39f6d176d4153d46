/*
 * cmd_rollback.c - vcrotate rollback TXN: the before state of a transaction
 * whose new state was left in place, put back as a transaction of its own
 * (txn.h): a before snapshot of now, a journal whose applied state is ready
 * from the start (TXN's before snapshot), the restore, one restart. The
 * transactions to roll back are found in the backup (history.h).
 *
 * Refused: a transaction that is not in the backup, one claimed by a
 * snapshot that does not authenticate, one that left nothing in place, and
 * one whose entries a later transaction changed (unless --force, which
 * names them in the reason: "rollback of T1, undoing T2"). Exit codes as
 * apply's (docs/apply.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "lock.h"
#include "session.h"
#include "history.h"
#include "repo.h"
#include "txn.h"

/*
 * Whether the appliance still holds what transaction x left: the entries x
 * changed must be as x left them in the state just snapshotted (t->before).
 * If a later transaction changed some, rolling x back would undo it too:
 * refused, naming them and the transactions since, unless force, which
 * names them in the rollback's reason ("undoing T2 T3") for history.
 */
static int
later_changes(struct txn *t, const struct hist *h, const struct hist_txn *x,
    int force)
{
	struct buf names = BUF_INIT, since = BUF_INIT;
	char	*reason = NULL;
	size_t	 k;
	int	 n, ret = -1;

	if ((n = backup_session_overlap(t->bk, x->before, x->outcome,
	    t->before, &names, &t->err)) == -1)
		goto out;
	if (n == 0) {
		ret = 0;
		goto out;
	}
	/* History is newest first: what stands before x came after it. */
	for (k = 0; k < (size_t)(x - h->v); k++)
		if (h->v[k].result != NULL &&
		    (strncmp(h->v[k].result, "success", 7) == 0 ||
		    strcmp(h->v[k].result, "failed, kept") == 0))
			buf_printf(&since, " %s", h->v[k].txn);
	if (!force) {
		buf_printf(&t->err, "the appliance no longer holds what %s "
		    "left: %d entr%s changed since (%s)%s%s; rolling %s back "
		    "would undo %s too. --force does it anyway", x->txn, n,
		    n == 1 ? "y" : "ies", buf_str(&names), since.len > 0 ?
		    ", by" : "", buf_str(&since), x->txn, since.len > 0 ?
		    "those" : "that");
		goto out;
	}
	if (since.len > 0) {
		if (asprintf(&reason, "%s, undoing%s", t->reason,
		    buf_str(&since)) == -1)
			goto out;
		free(t->reason);
		t->reason = reason;
	}
	txn_say(t, "warning: %d entr%s changed since %s (%s) go back too", n,
	    n == 1 ? "y" : "ies", x->txn, buf_str(&names));
	ret = 0;
out:
	buf_free(&names);
	buf_free(&since);
	return ret;
}

/*
 * What the rollback would put back, an expired or expiring certificate
 * named (backup_session_preview), then the question at a terminal.
 */
static int
rollback_confirm(struct txn *t, const char *want, const char *before)
{
	char	 id[41];
	long	 n;

	if ((n = backup_session_preview(t->bk, before, id, &t->err)) < 0)
		return -1;
	return txn_confirm(t, "Roll back %s: %ld change%s to %s, restarting "
	    "every service? [y/N] ", want, n, n == 1 ? "" : "s", t->app.pnid);
}

/* The operator's --reason after what the rollback is ("rollback of T1,
 * undoing T2: REASON"). */
static int
reason_add(struct txn *t, const char *why)
{
	char	*r;

	if (why == NULL)
		return 0;
	if (asprintf(&r, "%s: %s", t->reason, why) == -1)
		return -1;
	free(t->reason);
	t->reason = r;
	return 0;
}

/* The transaction want in the history, if it can be rolled back. */
static const struct hist_txn *
find_txn(struct txn *t, const struct hist *h, const char *want)
{
	const struct hist_txn *x = NULL;
	size_t	 k;

	for (k = 0; k < h->n && x == NULL; k++)
		if (strcmp(h->v[k].txn, want) == 0)
			x = &h->v[k];
	for (k = 0; x == NULL && k < h->nbad; k++)
		if (h->bad[k].txn != NULL && strcmp(h->bad[k].txn, want) == 0) {
			buf_printf(&t->err, "transaction %s is claimed by a "
			    "snapshot that does not authenticate: %s", want,
			    h->bad[k].why);
			return NULL;
		}
	if (x == NULL || x->before[0] == '\0') {
		buf_printf(&t->err, "no transaction %s in the backup", want);
		return NULL;
	}
	/* Only a transaction whose new state was left in place. */
	if (x->result == NULL || (strncmp(x->result, "success", 7) != 0 &&
	    strcmp(x->result, "failed, kept") != 0)) {
		buf_printf(&t->err, "transaction %s ended \"%s\": its before "
		    "state is already what it left", want, x->result != NULL ?
		    x->result : "?");
		return NULL;
	}
	return x;
}

/* The change: the state to put back is ready from the start (applied). */
static int
restore(struct txn *t, void *arg)
{
	(void)arg;
	if (txn_change(t) == -1 ||
	    backup_session_restore(t->bk, t->applied, NULL, &t->err) == -1)
		return -1;
	/* Past the restore nothing is undone: a signal waits. */
	t->hold_signals = 1;
	return 0;
}

/* The services come back as they were before the transaction rolled back:
 * they may not have run then either. */
static int
restart(struct txn *t, void *want)
{
	if (txn_restart(t) == -1)
		txn_say(t, "the services are as they were before %s: %s",
		    (const char *)want, buf_str(&t->err));
	buf_reset(&t->err);
	return 0;
}

int
cmd_rollback(const struct cmdline *cl, struct config *cfg)
{
	static const struct txn_ops ops = { restore, restart, 0 };
	struct txn t;
	struct hist h = { NULL, 0, NULL, 0 };
	const struct hist_txn *x;
	const char *want = cl->operand[0], *result = "refused";
	char	 before[41], *reason = NULL;
	int	 r, ret = TXN_EXIT_REFUSED;

	cfg->warn_days = cfg->crit_days = -1;
	if (asprintf(&reason, "rollback of %s", want) == -1 ||
	    txn_init(&t, cfg, "rollback", reason) == -1) {
		free(reason);
		fprintf(stderr, "vcrotate rollback: out of memory\n");
		return 1;
	}
	free(reason);
	txn_audit_options(&t, cl);
	txn_catch_signals();
	if (config_load(cfg, &t.err) == -1)
		goto refused;
	/* The lock and a pending journal before anything that needs the
	 * services (see apply). */
	if ((r = txn_open(&t, 0, 1)) > 0) {
		ret = txn_refused(&t, r);
		goto out;
	}
	if (r == -1 ||
	    backup_session_list(t.bk, hist_add, &h, &t.err) == -1 ||
	    (x = find_txn(&t, &h, want)) == NULL)
		goto refused;
	snprintf(before, sizeof(before), "%s", x->before);
	if (cmdline_get(cl, "--yes") == NULL &&
	    rollback_confirm(&t, want, before) == -1)
		goto refused;
	/* The state now is this transaction's before; the state to put back
	 * is ready from the start: recover can go either way. What runs now
	 * is for recover --forward's check (see apply). */
	if (txn_services_now(&t) == -1 || txn_before(&t, NULL, 0) == -1 ||
	    later_changes(&t, &h, x, cmdline_get(cl, "--force") != NULL) ==
	    -1 || reason_add(&t, cmdline_get(cl, "--reason")) == -1 ||
	    txn_begin(&t, before, NULL, NULL, "rollback of", want) == -1)
		goto refused;
	txn_say(&t, "transaction %s: putting back the before state of %s "
	    "(snapshot %.12s)", t.id, want, before);
	if ((ret = txn_run(&t, &ops, (void *)want, &result)) == TXN_EXIT_OK)
		txn_say(&t, "done");
	goto out;
refused:
	ret = txn_refused(&t, 0);
out:
	txn_log_outcome(&t, result, ret);
	hist_free(&h);
	txn_free(&t);
	return ret;
}
