/*
 * txn.c - the transaction's states and the moves between them. See txn.h
 * for the states, their invariants and what the journal holds at each.
 */
#include <sys/statvfs.h>

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "cert.h"
#include "inventory.h"
#include "lock.h"
#include "repo.h"
#include "safetext.h"
#include "services.h"
#include "session.h"
#include "txn.h"
#include "vcdb.h"

/* Free space the backup and the journal need before a first change. */
#define MIN_FREE_BYTES	(1024L * 1024)

/* ---- signals: held until the change under way is done ---- */

static volatile sig_atomic_t caught;

static void
on_signal(int sig)
{
	if (caught == 0)
		caught = sig;
}

void
txn_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* Restarted calls: a signal never cuts a write or a wait short. The
	 * tools run in their own process group (proc.c): a Ctrl+C at the
	 * terminal reaches vcrotate only, never a vecs-cli half-way. */
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

int
txn_interrupted(struct txn *t)
{
	if (caught == 0 || t->hold_signals || t->state >= TXN_ROLLING_BACK)
		return 0;
	buf_printf(&t->err, "interrupted by %s", strsignal(caught));
	return 1;
}

/* The command, as messages name it. */
static const char *
txn_name(const struct txn *t)
{
	return t->name != NULL ? t->name : t->kind;
}

/* The exit code of a transaction a signal stopped, else code. */
static int
signal_or(int code)
{
	return caught ? 128 + caught : code;
}

/* ---- progress and the audit record ---- */

void
txn_say(struct txn *t, const char *fmt, ...)
{
	va_list	 ap;

	printf("[%3lds] ", (long)(time(NULL) - t->started));
	va_start(ap, fmt);
	if (text_vprintf_safe(stdout, fmt, ap) == -1)
		fputs("(out of memory)", stdout);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

double
txn_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
txn_phase(struct txn *t, const char *name)
{
	double	 now = txn_now();

	buf_printf(&t->phases_log, "%s%s %.2fs", t->phases_log.len ? ", " :
	    "", name, now - t->phase_mark);
	t->phase_mark = now;
}

/*
 * syslog's line for a transaction that begins. The operator, ticket and
 * what come from the command line: made safe, so that a newline in them
 * cannot forge a line of the log.
 */
static void
log_begins(struct txn *t, const char *what, const char *arg)
{
	char	*a = text_safe(arg), *op = text_safe(t->operator);
	char	*tk = text_safe(t->ticket != NULL ? t->ticket : "-");

	syslog(LOG_NOTICE, "vcrotate: transaction %s begins (%s %s, operator "
	    "%s, ticket %s)", t->id, what, a != NULL ? a : "?", op != NULL ?
	    op : "?", tk != NULL ? tk : "?");
	free(a);
	free(op);
	free(tk);
}

void
txn_log_outcome(struct txn *t, const char *result, int ret)
{
	if (t->before[0] != '\0')
		syslog(ret == TXN_EXIT_OK ? LOG_NOTICE : LOG_WARNING, "vcrotate: "
		    "transaction %s: %s (exit %d)", t->id, result, ret);
}

/* ---- TXN_IDLE and TXN_OPEN ---- */

static void
new_txn_id(char id[40])
{
	unsigned char r[3];
	time_t	 now = time(NULL);
	char	 ts[24];

	RAND_bytes(r, sizeof(r));
	strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", gmtime(&now));
	snprintf(id, 40, "%s-%02x%02x%02x", ts, r[0], r[1], r[2]);
}

int
txn_init(struct txn *t, struct config *cfg, const char *kind,
    const char *reason)
{
	memset(t, 0, sizeof(*t));
	t->state = TXN_IDLE;
	t->cfg = cfg;
	t->kind = kind;
	t->j.fd = -1;
	t->lockfd = -1;
	t->started = time(NULL);
	t->phase_mark = txn_now();
	t->operator = config_operator();
	new_txn_id(t->id);
	if ((t->reason = strdup(reason)) == NULL) {
		buf_printf(&t->err, "out of memory");
		return -1;
	}
	return 0;
}

void
txn_free(struct txn *t)
{
	vmdir_close(t->vd);
	backup_session_close(t->bk);
	appliance_free(&t->app);
	vmdir_login_free(&t->login);
	journal_free(&t->j);
	if (t->lockfd != -1)
		close(t->lockfd);
	free(t->reason);
	buf_free(&t->err);
	buf_free(&t->stopped_before);
	buf_free(&t->steps_log);
	buf_free(&t->phases_log);
	memset(t, 0, sizeof(*t));
	t->lockfd = -1;
}

int
txn_lock(struct txn *t, int recovering, int dry)
{
	char	 who[64];
	int	 r;

	if (dry)
		return journal_pending(t->cfg->root, &t->err);
	if (recovering)
		snprintf(who, sizeof(who), "vcrotate recover");
	else
		snprintf(who, sizeof(who), "transaction %s", t->id);
	if ((r = writer_begin(t->cfg, who, recovering, &t->lockfd,
	    &t->err)) == 0)
		t->state = TXN_OPEN;
	return r;
}

int
txn_identify(struct txn *t)
{
	if (appliance_identify(&t->app, t->cfg->root, &t->err) == -1 ||
	    config_login(t->cfg, &t->login, &t->err) == -1)
		return -1;
	return 0;
}

int
txn_open(struct txn *t, int dry, int create)
{
	int	 r;

	if ((r = txn_lock(t, 0, dry)) != 0)
		return r == 1 ? -1 : r;
	if (txn_identify(t) == -1 || backup_session_open(&t->bk, t->cfg,
	    &t->app, &t->login, create, &t->err) == -1)
		return -1;
	txn_vcdb(t);
	return 0;
}

void
txn_vcdb(struct txn *t)
{
	struct buf why = BUF_INIT;

	if (vcdb_ensure(t->cfg->root, &why) == 1)
		txn_say(t, "VCDB did not answer: started vmware-vpostgres to "
		    "read it");
	buf_free(&why);
}

void
txn_audit_options(struct txn *t, const struct cmdline *cl)
{
	const char *v;

	if ((v = cmdline_get(cl, "--operator")) != NULL)
		t->operator = v;
	t->ticket = cmdline_get(cl, "--ticket");
}

int
txn_services_now(struct txn *t)
{
	return services_stopped(t->cfg->root, &t->stopped_before, &t->err);
}

/*
 * At a terminal, the last word is the operator's: the plan was reviewed,
 * but apply and rollback restart every service of a production appliance.
 * Scripts (no terminal) and --yes are not asked.
 */
int
txn_confirm(struct txn *t, const char *fmt, ...)
{
	va_list	 ap;
	char	*q = NULL;
	int	 r, yes;

	va_start(ap, fmt);
	r = vasprintf(&q, fmt, ap);
	va_end(ap);
	if (r == -1)
		return -1;
	yes = ask_terminal(q);
	free(q);
	if (yes)
		return 0;
	buf_printf(&t->err, "not confirmed (--yes does not ask)");
	return -1;
}

/* ---- the backup: snapshots and outcomes ---- */

/* The transaction's audit record, for a snapshot's trailers. */
static void
txn_meta(struct txn *t, const char *result, struct bk_meta *meta,
    char elapsed[32])
{
	snprintf(elapsed, 32, "%lds", (long)(time(NULL) - t->started));
	memset(meta, 0, sizeof(*meta));
	meta->operator = t->operator;
	meta->ticket = t->ticket;
	meta->reason = t->reason;
	meta->transaction = t->id;
	meta->result = result;
	meta->plan = t->plan_sha256 != NULL ? t->plan_sha256 :
	    journal_value(&t->j, "plan");
	meta->elapsed = elapsed;
	meta->steps = t->steps_log.len ? buf_str(&t->steps_log) : NULL;
	meta->timings = t->phases_log.len ? buf_str(&t->phases_log) : NULL;
}

/* A snapshot of now, the entries absent[] recorded as absent. */
static int
snapshot(struct txn *t, const char *result, const char *const *absent,
    size_t nabsent, char id[41])
{
	struct bk_meta meta;
	char	 elapsed[32];

	txn_meta(t, result, &meta, elapsed);
	return backup_session_snapshot(t->bk, &meta, absent, nabsent, id,
	    &t->err);
}

int
txn_snapshot(struct txn *t, const char *result, char id[41])
{
	return snapshot(t, result, NULL, 0, id);
}

void
txn_mark(struct txn *t, const char *rev, const char *result)
{
	struct bk_meta meta;
	struct buf err = BUF_INIT;
	char	 elapsed[32];

	txn_meta(t, result, &meta, elapsed);
	if (backup_session_mark(t->bk, rev, &meta, t->after, &err) == -1)
		txn_say(t, "warning: the outcome \"%s\" is not in the backup: "
		    "%s", result, buf_str(&err));
	buf_free(&err);
}

/*
 * Room for the journal and the snapshots, checked before the first change:
 * a full disk half-way would leave a transaction without its record. need
 * bytes free where the journal and the backup go; *avail (may be NULL) gets
 * the least free of the two.
 */
static int
enough_space(struct txn *t, unsigned long long need,
    unsigned long long *avail)
{
	const char *paths[2];
	char	*dir = app_path(t->cfg->root, APP_VCROTATE_TMP);
	struct statvfs sv;
	unsigned long long least = ~0ULL, f;
	size_t	 i;
	int	 ret = 0;

	paths[0] = dir;
	paths[1] = t->cfg->backup_repo;
	for (i = 0; i < 2 && ret == 0; i++) {
		if (paths[i] == NULL || statvfs(paths[i], &sv) == -1) {
			buf_printf(&t->err, "%s: %s", paths[i] != NULL ?
			    paths[i] : "?", paths[i] != NULL ? strerror(errno) :
			    "out of memory");
			ret = -1;
			break;
		}
		f = (unsigned long long)sv.f_bavail * sv.f_frsize;
		if (f < least)
			least = f;
		if (f < need) {
			buf_printf(&t->err, "%s: only %llu KB free, the "
			    "journal and the snapshots need %llu KB: free some "
			    "space first", paths[i], f / 1024, need / 1024);
			ret = -1;
		}
	}
	if (avail != NULL)
		*avail = least;
	free(dir);
	return ret;
}

/*
 * The before snapshot, with room for it and for what follows. The applied
 * and after snapshots add at most what the before one took (git keeps an
 * unchanged item once): room for both, the journal and the staged keys,
 * or no change at all. The entries the change will create (absent) are
 * recorded as absent in it: a rollback or recover to it deletes them.
 */
int
txn_before(struct txn *t, const char *const *absent, size_t nabsent)
{
	unsigned long long free0 = 0, free1 = 0;

	if (enough_space(t, MIN_FREE_BYTES, &free0) == -1 ||
	    snapshot(t, "before", absent, nabsent, t->before) == -1)
		return -1;
	txn_say(t, "snapshot of the before state: %.12s", t->before);
	if (enough_space(t, 0, &free1) == -1 || enough_space(t,
	    2 * (free0 > free1 ? free0 - free1 : 0) + MIN_FREE_BYTES, NULL) ==
	    -1)
		return -1;
	return 0;
}

/* ---- the journal ---- */

int
txn_record(struct txn *t, const char *w0, const char *w1, const char *w2)
{
	const char *w[3] = { w0, w1, w2 };

	return txn_record_words(t, w, w1 == NULL ? 1 : w2 == NULL ? 2 : 3);
}

int
txn_record_words(struct txn *t, const char **w, size_t n)
{
	if (!t->journaled)
		return 0;
	return journal_append(&t->j, w, n, &t->err);
}

/* A record for the journal being written (journal_add: in memory). */
static int
jadd(struct txn *t, const char *w0, const char *w1, const char *w2,
    const char *w3)
{
	const char *w[4] = { w0, w1, w2, w3 };

	return journal_add(&t->j, w, w1 == NULL ? 1 : w2 == NULL ? 2 :
	    w3 == NULL ? 3 : 4);
}

int
txn_item(struct txn *t, const char *type, const char *place,
    const char *digest)
{
	return jadd(t, "item", type, place, digest != NULL ? digest : "");
}

/* A record of key and the space-separated words of list. */
static int
jadd_words(struct txn *t, const char *key, const char *list)
{
	const char **w = NULL;
	char	*copy = strdup(list), *tok, *save = NULL;
	size_t	 n = 0;
	int	 ret = -1;

	if (copy == NULL || (w = calloc(strlen(list) / 2 + 2,
	    sizeof(*w))) == NULL)
		goto out;
	w[n++] = key;
	for (tok = strtok_r(copy, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save))
		w[n++] = tok;
	ret = journal_add(&t->j, w, n);
out:
	free(w);
	free(copy);
	return ret;
}

/* The journal's opening: who, what, the before snapshot, the
 * participants, the services stopped. */
static int
journal_head(struct txn *t)
{
	char	 pid[24], when[32], *vecs = app_path(t->cfg->root,
	    APP_VECS_CLI), *sc = app_path(t->cfg->root, APP_SERVICE_CONTROL);
	char	*vmca = app_path(t->cfg->root, APP_VMCA_ROOT);
	time_t	 now = time(NULL);
	int	 ret = -1;

	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	if (vecs == NULL || sc == NULL || vmca == NULL ||
	    jadd(t, JOURNAL_MAGIC, JOURNAL_VERSION, NULL, NULL) == -1 ||
	    jadd(t, "transaction", t->id, NULL, NULL) == -1 ||
	    jadd(t, "kind", t->kind, NULL, NULL) == -1 ||
	    jadd(t, "pid", pid, NULL, NULL) == -1 ||
	    jadd(t, "started", when, NULL, NULL) == -1 ||
	    jadd(t, "operator", t->operator, NULL, NULL) == -1 ||
	    jadd(t, "ticket", t->ticket != NULL ? t->ticket : "", NULL,
	    NULL) == -1 ||
	    jadd(t, "reason", t->reason, NULL, NULL) == -1 ||
	    jadd(t, "plan", t->plan_sha256 != NULL ? t->plan_sha256 : "",
	    NULL, NULL) == -1 ||
	    jadd(t, "before", t->before, NULL, NULL) == -1 ||
	    jadd(t, "participant", "vecs", vecs, NULL) == -1 ||
	    jadd(t, "participant", "vmdir", t->login.uri, NULL) == -1 ||
	    jadd(t, "participant", "vmca", vmca, NULL) == -1 ||
	    jadd(t, "participant", "services", sc, NULL) == -1 ||
	    jadd(t, "participant", "backup", t->cfg->backup_repo, NULL) == -1 ||
	    jadd_words(t, "stopped", buf_str(&t->stopped_before)) == -1)
		goto out;
	ret = 0;
out:
	free(vecs);
	free(sc);
	free(vmca);
	return ret;
}

int
txn_begin(struct txn *t, const char *target, txn_items_fn items, void *arg,
    const char *what, const char *whatarg)
{
	if (t->before[0] == '\0') {
		buf_printf(&t->err, "no before snapshot: no journal");
		return -1;
	}
	if (journal_head(t) == -1 || (items != NULL && items(t, arg) == -1) ||
	    (target != NULL && jadd(t, "applied", target, NULL, NULL) ==
	    -1)) {
		buf_printf(&t->err, "out of memory writing the journal");
		return -1;
	}
	if (journal_create(&t->j, t->cfg->root, &t->err) == -1)
		return -1;
	t->journaled = 1;
	t->state = TXN_BEGUN;
	if (target != NULL)
		snprintf(t->applied, sizeof(t->applied), "%s", target);
	log_begins(t, what, whatarg);
	return 0;
}

void
txn_end(struct txn *t)
{
	struct buf err = BUF_INIT;

	if (t->journaled && journal_remove(&t->j, &err) == -1)
		fprintf(stderr, "vcrotate: warning: the journal stays (%s): "
		    "vcrotate recover removes it\n", buf_str(&err));
	t->journaled = 0;
	t->state = TXN_DONE;
	buf_free(&err);
}

/* ---- TXN_CHANGING, TXN_APPLIED ---- */

int
txn_change(struct txn *t)
{
	if (txn_interrupted(t))
		return -1;
	if (t->state < TXN_CHANGING)
		t->state = TXN_CHANGING;
	return 0;
}

int
txn_applied(struct txn *t)
{
	if (txn_snapshot(t, "applied", t->applied) == -1)
		return -1;
	txn_say(t, "snapshot of every new item: %.12s", t->applied);
	if (txn_record(t, "applied", t->applied, NULL) == -1)
		return -1;
	t->state = TXN_APPLIED;
	return 0;
}

int
txn_restarts(const struct txn *t)
{
	return strcmp(t->kind, "restore") != 0;
}

int
txn_restart(struct txn *t)
{
	return txn_restart_judged(t, NULL);
}

int
txn_restart_judged(struct txn *t, struct buf *why)
{
	txn_say(t, "restarting every service (service-control --stop --all, "
	    "--start --all)");
	if (services_stop(t->cfg->root, "--all", &t->err) == -1)
		return -1;
	if (services_start(t->cfg->root, "--all", &t->err) == 0)
		return 0;
	if (why == NULL)
		return -1;
	while (t->err.len > 0 && t->err.data[t->err.len - 1] == '\n')
		t->err.data[--t->err.len] = '\0';
	buf_reset(why);
	buf_puts(why, buf_str(&t->err));
	buf_reset(&t->err);
	txn_say(t, "the start failed (%s); the verify decides whether the "
	    "change made anything worse", buf_str(why));
	return 1;
}

int
txn_still_down(struct txn *t, struct buf *names)
{
	struct buf now = BUF_INIT;
	int	 ret = -1;

	buf_reset(names);
	if (services_stopped(t->cfg->root, &now, &t->err) == 0 &&
	    services_also(buf_str(&now), buf_str(&t->stopped_before),
	    names) == 0)
		ret = 0;
	buf_free(&now);
	return ret;
}

/* ---- TXN_COMMITTED, TXN_ROLLING_BACK ---- */

int
txn_commit(struct txn *t)
{
	/* Never a commit that recover could not finish forward. */
	if (t->applied[0] == '\0') {
		buf_printf(&t->err, "no snapshot of the new state was taken: "
		    "nothing to commit");
		return -1;
	}
	if (txn_interrupted(t))
		return -1;
	if (txn_record(t, "commit", NULL, NULL) == -1) {
		/* Past a rollback's restore nothing is undone: told. */
		if (!t->hold_signals)
			return -1;
		txn_say(t, "warning: %s", buf_str(&t->err));
		buf_reset(&t->err);
	}
	t->state = TXN_COMMITTED;	/* nothing to undo: signals wait */
	txn_mark(t, t->applied, t->success != NULL ? t->success : "success");
	txn_end(t);
	return 0;
}

/*
 * Puts the before snapshot back. vecs-cli needs vmafdd and LDAP needs
 * vmdird: they are started on their own first (a failed start --all may have
 * stopped short of them, or a stop --all taken them down). On success the
 * transaction is over; on failure the journal stays for recover. err keeps
 * why the transaction failed, and then why the rollback did.
 */
int
txn_roll_back(struct txn *t)
{
	struct buf why = BUF_INIT;
	int	 ret = -1;

	t->state = TXN_ROLLING_BACK;
	txn_say(t, "rolling back to snapshot %.12s", t->before);
	buf_puts(&why, buf_str(&t->err));
	buf_reset(&t->err);
	/* Best effort: a full disk must not stop the rollback itself. */
	if (txn_record(t, "rollback", NULL, NULL) == -1)
		buf_reset(&t->err);
	vmdir_close(t->vd);
	t->vd = NULL;
	services_start_vmafd_vmdir(t->cfg->root, &t->err);
	buf_reset(&t->err);
	txn_vcdb(t);
	if (backup_session_restore(t->bk, t->before, NULL, &t->err) == -1)
		goto out;
	/* The services come back as they were before: they may not have
	 * run then either (a production-down night). A restore restarts
	 * nothing, and neither does its rollback. */
	if (txn_restarts(t) && txn_restart(t) == -1)
		txn_say(t, "after the rollback the services are as before: %s",
		    buf_str(&t->err));
	ret = 0;
	txn_mark(t, t->before, "rolled back");
	txn_end(t);
out:
	if (ret == -1)
		buf_printf(&why, "\nand the rollback failed: %s",
		    buf_str(&t->err));
	buf_reset(&t->err);
	buf_puts(&t->err, buf_str(&why));
	buf_free(&why);
	return ret;
}

int
txn_serves(struct txn *t, X509 *want, const char *what)
{
	X509	*served = services_served_cert(t->cfg->https_port,
	    t->app.pnid);
	int	 ok = served != NULL && cert_equal(served, want);

	X509_free(served);
	if (!ok)
		buf_printf(&t->err, "the TLS endpoint on port %d does not "
		    "serve %s", t->cfg->https_port, what);
	return ok ? 0 : -1;
}

/*
 * recover --forward's check before it commits, without the plan: the
 * services that ran before run, and the TLS endpoint serves the Machine
 * SSL certificate that VECS now holds.
 */
int
txn_verify_served(struct txn *t)
{
	struct inventory inv;
	const struct inv_vecs_entry *m;
	int	 ret = -1;

	txn_say(t, "verifying");
	/* A journal without the record cannot say what ran before. */
	if (journal_find(&t->j, "stopped") != NULL &&
	    services_as_before(t->cfg->root, buf_str(&t->stopped_before),
	    &t->err) == -1)
		return -1;
	if (inventory_read(&inv, t->cfg->root, &t->login, NULL, 0) == -1) {
		buf_printf(&t->err, "cannot read the appliance: out of memory");
		return -1;
	}
	m = inventory_vecs(&inv, "MACHINE_SSL_CERT", "__MACHINE_CERT");
	if (m == NULL || m->chain == NULL)
		buf_printf(&t->err, "MACHINE_SSL_CERT/__MACHINE_CERT cannot be "
		    "read: %s", inv.vecs_error.len ? buf_str(&inv.vecs_error) :
		    "no certificate");
	else
		ret = txn_serves(t, sk_X509_value(m->chain, 0),
		    "MACHINE_SSL_CERT/__MACHINE_CERT");
	inventory_free(&inv);
	return ret;
}

/* ---- one lifecycle ---- */

/* A failure once the journal is on disk: nothing changed, kept, or rolled
 * back. */
static int
txn_failed(struct txn *t, int keep, const char **result)
{
	txn_phase(t, "until the failure");
	text_printf_safe(stderr, "vcrotate %s: transaction %s failed: %s\n",
	    txn_name(t), t->id, buf_str(&t->err));
	if (t->state < TXN_CHANGING) {
		text_printf_safe(stderr, "vcrotate %s: nothing was changed\n",
		    txn_name(t));
		txn_end(t);
		*result = "failed, nothing changed";
		txn_mark(t, t->before, *result);
		return signal_or(TXN_EXIT_REFUSED);
	}
	if (keep && !caught) {
		txn_say(t, "--keep-on-failure: the new certificates stay; the "
		    "before state is snapshot %.12s (vcrotate rollback %s puts "
		    "it back)", t->before, t->id);
		buf_reset(&t->err);
		txn_snapshot(t, "failed, kept", t->after);
		txn_end(t);
		*result = "failed, kept";
		return TXN_EXIT_FAILED;
	}
	if (txn_roll_back(t) == -1) {
		text_printf_safe(stderr, "vcrotate %s: the rollback could not "
		    "finish: %s\nThe before state is snapshot %s and the "
		    "journal %s stays. When vmdird and vmafdd (and "
		    "vmware-vpostgres, with VCDB) run, finish "
		    "with:\n  vcrotate recover\n", txn_name(t), buf_str(&t->err),
		    t->before, t->j.path);
		*result = "rollback incomplete";
		return TXN_EXIT_STUCK;
	}
	txn_say(t, "rolled back: the appliance equals snapshot %.12s",
	    t->before);
	*result = "rolled back";
	return signal_or(TXN_EXIT_FAILED);
}

int
txn_run(struct txn *t, const struct txn_ops *ops, void *arg,
    const char **result)
{
	int	 r;

	if ((r = ops->change(t, arg)) == 0 && t->state < TXN_APPLIED) {
		if (t->applied[0] != '\0')
			t->state = TXN_APPLIED;	/* ready from the start */
		else
			r = txn_applied(t);
	}
	if (r == 0)
		r = ops->verify(t, arg);
	if (r == 0)
		r = txn_commit(t);
	if (r == -1)
		return txn_failed(t, ops->keep_on_failure, result);
	buf_reset(&t->err);
	*result = "success";
	return TXN_EXIT_OK;
}

int
txn_refused(struct txn *t, int code)
{
	text_printf_safe(stderr, "vcrotate %s: refused, nothing was changed: "
	    "%s\n", txn_name(t), buf_str(&t->err));
	txn_end(t);
	if (t->before[0] != '\0')
		txn_mark(t, t->before, "refused");
	return code != 0 ? code : signal_or(TXN_EXIT_REFUSED);
}
