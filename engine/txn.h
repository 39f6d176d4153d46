/*
 * txn.h - the transaction: what apply, rollback and recover have in common.
 *
 * A transaction changes the appliance from a before state B (a snapshot in
 * the backup) to a new state A, restarts the services once, and either
 * commits A or puts B back. A journal on disk (journal.h) makes every
 * interruption finishable by `vcrotate recover'. Its states, in the order
 * a transaction goes through them, are those of SQLite's pager: each has an
 * invariant, one function that enters it, and a journal that says enough to
 * finish from it.
 *
 *   TXN_OPEN         the lock is held, no journal waits, the appliance is
 *                    identified and its vmdir login made (txn_open).
 *                    Nothing written anywhere: a failure is "refused".
 *   TXN_BEGUN        the before snapshot B is in the backup, then the
 *                    journal is on disk: "before B", the participants,
 *                    every item the plan touches with its digest, the
 *                    services stopped (txn_begin). The appliance equals B.
 *                    A failure removes the journal and marks B "failed,
 *                    nothing changed" (txn_end).
 *   TXN_CHANGING     a first write to the appliance is under way or done
 *                    (txn_change, called before each). The appliance is
 *                    between B and A. A failure rolls back; a crash leaves
 *                    the journal for recover, which can only go back.
 *   TXN_APPLIED      every new item is in place and snapshotted as A, and
 *                    the journal says "applied A" (txn_applied). recover
 *                    may go back to B or forward to A (then verifies).
 *   TXN_ROLLING_BACK the journal says "rollback"; B is being put back
 *                    (txn_roll_back). A crash: recover goes back.
 *   TXN_COMMITTED    the journal says "commit": past the commit point A is
 *                    the outcome, and only forward remains (txn_commit,
 *                    recover --forward).
 *   TXN_DONE         the outcome is recorded on a snapshot's commit in the
 *                    backup and the journal is removed (txn_end).
 *
 * Signals (SIGINT, SIGTERM, SIGHUP) are held: a write or a wait is never cut
 * short. They are acted on at the next txn_change or txn_interrupted, as a
 * failure, in OPEN, BEGUN, CHANGING and APPLIED (a signal during the
 * restart rolls back); once rolling back, committed, past a rollback's
 * restore (hold_signals) or recovering, finishing is what an interrupted
 * operator wants.
 *
 * The steps that make A are the caller's (apply's steps, rollback's
 * restore); txn_run drives one transaction through the states with them,
 * so apply and rollback have one lifecycle, and recover finishes it with the
 * same txn_roll_back and txn_commit.
 */
#ifndef VCR_TXN_H
#define VCR_TXN_H

#include <stdarg.h>
#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#include "appliance.h"
#include "buf.h"
#include "config.h"
#include "journal.h"
#include "vmdir.h"

/* Exit codes of apply, rollback and recover (docs/apply.md); also
 * EXIT_BUSY, EXIT_PENDING (config.h) and 128+N for signal N. */
#define TXN_EXIT_OK		0
#define TXN_EXIT_FAILED		1	/* rolled back (or kept) */
#define TXN_EXIT_STUCK		3	/* the journal stays: recover */
#define TXN_EXIT_REFUSED	4	/* nothing was changed */

enum txn_state {
	TXN_IDLE,
	TXN_OPEN,
	TXN_BEGUN,
	TXN_CHANGING,
	TXN_APPLIED,
	TXN_ROLLING_BACK,
	TXN_COMMITTED,
	TXN_DONE,
};

struct bk_session;

struct txn {
	enum txn_state	 state;
	struct config	*cfg;
	const char	*kind;		/* "apply", "rollback", "restore" */
	const char	*name;		/* in messages: "apply", "backup
					 * restore" (default: kind) */
	char		 id[40];	/* transaction id */
	struct appliance app;
	struct vmdir_login login;
	struct vmdir	*vd;		/* the change's own connection */
	struct bk_session *bk;
	int		 lockfd;
	int		 hold_signals;	/* nothing is undone any more */
	char		 before[41];	/* snapshot ids */
	char		 applied[41];	/* every new item, before the restart */
	char		 after[41];	/* the outcome's own commit */
	struct journal	 j;
	int		 journaled;	/* j is on disk */
	const char	*plan_sha256;	/* NULL: the journal's */
	const char	*success;	/* the commit's outcome: "success" */
	struct buf	 err;
	struct buf	 stopped_before;/* services stopped at the start */
	struct buf	 steps_log;	/* the audit record: each step's time */
	struct buf	 phases_log;	/* and each phase's */
	double		 phase_mark;
	time_t		 started;
	const char	*operator;
	const char	*ticket;
	char		*reason;	/* owned */
};

/* The changes a transaction makes, and its check of them (txn_run). */
struct txn_ops {
	/*
	 * Makes the new state, each write after txn_change; may take the
	 * applied snapshot and restart itself (apply), else txn_run takes it.
	 */
	int	(*change)(struct txn *, void *);
	/* After the change: 0 when the new state stands (may restart). */
	int	(*verify)(struct txn *, void *);
	/* With --keep-on-failure: a failed change stays, not rolled back. */
	int	  keep_on_failure;
};

/* A transaction of kind, not begun (reason: a copy is kept). */
int  txn_init(struct txn *t, struct config *cfg, const char *kind,
    const char *reason);
void txn_free(struct txn *t);
/* SIGINT, SIGTERM, SIGHUP held from now on (txn.h's top). */
void txn_catch_signals(void);
/* Whether a signal asks the transaction to stop (err then says so). */
int  txn_interrupted(struct txn *t);

/*
 * TXN_OPEN: the appliance lock and no journal waiting (recovering: recover
 * itself; dry: a dry run takes no lock, but is refused the same when a
 * journal waits), then txn_identify: the appliance's identity and the
 * vmdir login. 0, or the exit code to leave with (err says why).
 */
int  txn_lock(struct txn *t, int recovering, int dry);
int  txn_identify(struct txn *t);
/*
 * txn_lock (dry: no lock, a waiting journal refused all the same),
 * txn_identify, then the backup session on the same identity and login
 * (create: its repository made when missing), then txn_vcdb. 0, -1 (err
 * says why), or txn_lock's exit code.
 */
int  txn_open(struct txn *t, int dry, int create);
/* VCDB's server started when it does not answer (vcdb_ensure), and said:
 * snapshots and restores read its rows. */
void txn_vcdb(struct txn *t);
/* --operator and --ticket of the command line, for the audit record. */
void txn_audit_options(struct txn *t, const struct cmdline *cl);

/* The services stopped now, for the verify and the journal. */
int  txn_services_now(struct txn *t);
/* A question at a terminal; -1 when not confirmed (--yes skips it). */
int  txn_confirm(struct txn *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * The before snapshot, room for it and for what follows checked first,
 * the vmdir entries absent[] the change will create (raw DNs) recorded as
 * absent in it, so that going back to it deletes them; then TXN_BEGUN: the journal (items: the caller's txn_item records;
 * target: a state ready from the start, rollback's). The opening is logged
 * (what, whatarg: "plan" SHA, "rollback of" TXN).
 */
int  txn_before(struct txn *t, const char *const *absent, size_t nabsent);
typedef int (*txn_items_fn)(struct txn *, void *);
int  txn_begin(struct txn *t, const char *target, txn_items_fn items,
    void *arg, const char *what, const char *whatarg);
int  txn_item(struct txn *t, const char *type, const char *place,
    const char *digest);
/* A journal record of up to three words (nothing before the journal), or
 * of n. */
int  txn_record(struct txn *t, const char *w0, const char *w1,
    const char *w2);
int  txn_record_words(struct txn *t, const char **w, size_t n);

/* TXN_CHANGING: before each write; -1 when interrupted. */
int  txn_change(struct txn *t);
/* TXN_APPLIED: the snapshot of every new item, and its record. */
int  txn_applied(struct txn *t);
/* --stop --all, --start --all, said. */
int  txn_restart(struct txn *t);
/* Whether undoing or finishing the transaction restarts the services: a
 * backup restore restarts nothing, nor does its undo or its recovery. */
int  txn_restarts(const struct txn *t);
/*
 * The same, for a verify to judge: a failed stop is a failure (-1: the
 * services still run on what they had), a failed start is 1, with
 * service-control's words moved from err to why (the verify decides
 * whether it made anything worse); 0 done. why NULL: txn_restart, where
 * a failed start is a failure too.
 */
int  txn_restart_judged(struct txn *t, struct buf *why);
/* The services stopped now that were stopped before the transaction too
 * (names, " a b"), after a start that failed. -1: cannot say. */
int  txn_still_down(struct txn *t, struct buf *names);
/* TXN_COMMITTED, then TXN_DONE: the commit record, the outcome on the
 * applied snapshot, no journal. */
int  txn_commit(struct txn *t);
/* TXN_ROLLING_BACK, then TXN_DONE: the before snapshot back, the services
 * restarted; -1 leaves the journal for recover (err says why). */
int  txn_roll_back(struct txn *t);
/* Whether the TLS endpoint serves want (named what in the error). */
int  txn_serves(struct txn *t, X509 *want, const char *what);
/* recover --forward's check: services as before, the Machine SSL served. */
int  txn_verify_served(struct txn *t);

/*
 * From TXN_BEGUN: ops->change, the applied snapshot, ops->verify, the
 * commit; on a failure: nothing changed, kept, or rolled back. The exit
 * code; *result the outcome in words (history's).
 */
int  txn_run(struct txn *t, const struct txn_ops *ops, void *arg,
    const char **result);
/* Refused before any change: said, recorded on the before snapshot when
 * one was taken. code: the exit code (0: TXN_EXIT_REFUSED). */
int  txn_refused(struct txn *t, int code);
/* The journal is done with (told when it cannot be removed). */
void txn_end(struct txn *t);
/* The outcome: a snapshot of now, or recorded on an existing one. */
int  txn_snapshot(struct txn *t, const char *result, char id[41]);
void txn_mark(struct txn *t, const char *rev, const char *result);
/* syslog's line for the outcome (when a before snapshot was taken). */
void txn_log_outcome(struct txn *t, const char *result, int ret);

/* Progress: "[ 12s] ..." (names made safe). */
void txn_say(struct txn *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The phase that just ended and how long it took, for the audit. */
void txn_phase(struct txn *t, const char *name);
double txn_now(void);

#endif
