/*
 * cmd_apply.c - vcrotate apply PLAN: the plan as one transaction.
 *
 *   1. preflight (read-only): one transaction at a time (a lock), the plan's
 *      appliance, every target's digest equal to the plan's, the VMCA key,
 *      the backup repository, service-control;
 *   2. prepare: every new key and certificate made and checked before
 *      anything changes;
 *   3. snapshot the before state;
 *   4. the steps in plan order, with the services running (vecs-cli needs
 *      vmafdd, LDAP needs vmdird), then one restart of every service;
 *   5. verify: every service up, the TLS endpoint serving the new Machine
 *      SSL certificate, and a fresh plan with nothing left to do;
 *   6. on a failure after the first change: put the before snapshot back.
 *
 * A journal (journal.h) is on disk from just before the first change until
 * the transaction is over; its `commit' record is the commit point. A run
 * that dies in between leaves it, and vcrotate recover finishes the
 * transaction: back to the before snapshot, or forward to the `applied'
 * snapshot (every new item, taken before the restart). SIGINT, SIGTERM and
 * SIGHUP are held until the change under way is done, then roll back.
 *
 * Also vcrotate history (the transactions in the backup), vcrotate
 * rollback TXN (the before state of a transaction, as a new transaction),
 * and vcrotate recover.
 *
 * Exit: 0 done; 1 failed and rolled back (or, with --keep-on-failure, left
 * as it was at the failure); 3 the rollback could not finish (the journal
 * stays: vcrotate recover); 4 refused before any change; 5 another vcrotate
 * holds the lock; 6 an interrupted transaction waits for vcrotate recover;
 * 128+N interrupted by signal N and rolled back; 64 bad usage.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "cert.h"
#include "commands.h"
#include "fault.h"
#include "fileio.h"
#include "findings.h"
#include "issue.h"
#include "journal.h"
#include "lock.h"
#include "plan.h"
#include "proc.h"
#include "repo.h"
#include "report.h"
#include "session.h"
#include "vecs.h"
#include "vmdir.h"

#define APPLY_OK	0
#define APPLY_FAILED	1
#define APPLY_STUCK	3
#define APPLY_REFUSED	4

/* Free space the backup and the journal need before a first change. */
#define MIN_FREE_BYTES	(1024L * 1024)
/* Tries of an LDAP write when the server went away, and the first pause. */
#define LDAP_TRIES	4
#define LDAP_PAUSE_MS	500

/* A new certificate and key, made in the prepare phase. */
struct made {
	X509		*cert;
	EVP_PKEY	*key;
};

struct txn {
	struct config	*cfg;
	json_t		*plan;
	size_t		 nsteps;
	struct made	*made;		/* per step (empty for no profile) */
	struct keygen	*kg;		/* the new keys, in the making */
	X509		*root;		/* the VMCA root that signs */
	EVP_PKEY	*root_key;
	struct appliance app;
	struct vmdir_login login;
	struct vmdir	*vd;
	struct bk_session *bk;
	char		 id[40];	/* transaction id */
	char		 before[41];	/* snapshot ids */
	char		 applied[41];	/* every new item, before the restart */
	char		 after[41];
	struct journal	 j;
	int		 journaled;	/* j is on disk */
	int		 rolling_back;	/* signals wait until it is done */
	char		*tmpdir;
	int		 dry;
	int		 per_step;
	int		 changed;	/* the first change was made */
	struct buf	 err;
	struct buf	 stopped_before; /* services stopped at the start */
	struct buf	 steps_log;	/* the audit record: each step's time */
	struct buf	 phases_log;	/* and each phase's */
	double		 phase_mark;	/* when the phase under way began */
	time_t		 started;
	const char	*operator;
	const char	*ticket;
	const char	*reason;
};

static void
say(struct txn *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- signals: held until the change under way is done ---- */

static volatile sig_atomic_t caught;

static void
on_signal(int sig)
{
	if (caught == 0)
		caught = sig;
}

static void
catch_signals(void)
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

/* Whether a signal asks the transaction to stop (and then err says so). */
static int
interrupted(struct txn *t)
{
	if (caught == 0 || t->rolling_back)
		return 0;
	buf_printf(&t->err, "interrupted by %s", strsignal(caught));
	return 1;
}

/* Before every change to the appliance: the last moment to stop. */
static int
change_begins(struct txn *t)
{
	if (interrupted(t))
		return -1;
	t->changed = 1;
	return 0;
}

/* Progress; the names in it are the appliance's or a plan's: made safe. */
static void
say(struct txn *t, const char *fmt, ...)
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

/* Seconds on the monotonic clock. */
static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The phase that just ended, and how long it took, for the audit record. */
static void
phase_done(struct txn *t, const char *name)
{
	double	 now = now_seconds();

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

/* And its end: every transaction that took a before snapshot. */
static void
log_outcome(struct txn *t, const char *result, int ret)
{
	if (t->before[0] != '\0')
		syslog(ret == APPLY_OK ? LOG_NOTICE : LOG_WARNING, "vcrotate: "
		    "transaction %s: %s (exit %d)", t->id, result, ret);
}

/* ---- service-control ---- */

/* Runs service-control with args; its stderr's last lines go to err. */
static int
services(struct txn *t, const char *a1, const char *a2)
{
	struct proc_result res;
	const char *argv[4];
	char	*tool = app_path(t->cfg->root, APP_SERVICE_CONTROL);
	int	 ret = -1;

	if (tool == NULL)
		return -1;
	argv[0] = tool;
	argv[1] = a1;
	argv[2] = a2;
	argv[3] = NULL;
	if (fault_point(strcmp(a1, "--stop") == 0 ? "service-control --stop" :
	    "service-control --start", &t->err) == -1) {
		free(tool);
		return -1;
	}
	if (proc_run(argv, NULL, 30 * 60 * 1000, &res) == -1) {
		buf_printf(&t->err, "cannot run %s: %s", tool, strerror(errno));
		free(tool);
		return -1;
	}
	if (res.status != 0)
		/* The appliance's own words: which service, its message. */
		buf_printf(&t->err, "service-control %s %s failed: %s", a1,
		    a2 != NULL ? a2 : "", buf_str(&res.err));
	else {
		fault_done();
		ret = 0;
	}
	proc_result_free(&res);
	free(tool);
	return ret;
}

/*
 * The services service-control --status --all lists as stopped, as
 * " name name ..." (appliance.md 6: "Stopped:\n <svc> <svc>...\nRunning:\n
 * <svc> ..."). A read: no fault point. -1 when it cannot be run or fails.
 */
static int
services_stopped(struct txn *t, struct buf *names)
{
	struct proc_result res;
	const char *argv[4], *p, *nl, *end;
	char	*tool = app_path(t->cfg->root, APP_SERVICE_CONTROL);
	int	 in_stopped = 0, ret = -1;

	buf_reset(names);
	if (tool == NULL) {
		buf_printf(&t->err, "out of memory");
		return -1;
	}
	argv[0] = tool;
	argv[1] = "--status";
	argv[2] = "--all";
	argv[3] = NULL;
	if (proc_run(argv, NULL, 5 * 60 * 1000, &res) == -1) {
		buf_printf(&t->err, "cannot run %s: %s", tool, strerror(errno));
		free(tool);
		return -1;
	}
	if (res.status != 0) {
		buf_printf(&t->err, "service-control --status --all failed: %s",
		    buf_str(&res.err));
		goto out;
	}
	for (p = buf_str(&res.out), end = p + res.out.len; p < end;
	    p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (p < nl && nl[-1] == ':' && *p != ' ')
			in_stopped = (size_t)(nl - p) == 8 &&
			    strncmp(p, "Stopped:", 8) == 0;
		else if (in_stopped && buf_printf(names, "%s%.*s",
		    *p == ' ' ? "" : " ", (int)(nl - p), p) == -1)
			goto out;
	}
	ret = 0;
out:
	proc_result_free(&res);
	free(tool);
	return ret;
}

/*
 * The services of now stopped that ran before the transaction (in lost, as
 * " name name ..."). -1 when service-control cannot say.
 */
static int
services_lost(struct txn *t, struct buf *lost)
{
	struct buf now = BUF_INIT;
	char	*copy = NULL, *w, *save = NULL, *pad = NULL, *key;
	int	 ret = -1;

	buf_reset(lost);
	if (services_stopped(t, &now) == -1)
		goto out;
	if ((copy = strdup(buf_str(&now))) == NULL ||
	    asprintf(&pad, " %s ", buf_str(&t->stopped_before)) == -1) {
		pad = NULL;
		buf_printf(&t->err, "out of memory");
		goto out;
	}
	for (w = strtok_r(copy, " ", &save); w != NULL;
	    w = strtok_r(NULL, " ", &save)) {
		if (asprintf(&key, " %s ", w) == -1) {
			buf_printf(&t->err, "out of memory");
			goto out;
		}
		if (strstr(pad, key) == NULL)
			buf_printf(lost, " %s", w);
		free(key);
	}
	ret = 0;
out:
	free(copy);
	free(pad);
	buf_free(&now);
	return ret;
}

/*
 * After the restart: every service that ran before the transaction runs.
 * --start --all starts the automatic ones (and fails when one of them does
 * not come up); one started by hand before is started again by name. A
 * service stopped before may stay so.
 */
static int
services_as_before(struct txn *t)
{
	struct buf lost = BUF_INIT;
	char	*copy = NULL, *w, *save = NULL;
	int	 ret = -1;

	if (services_lost(t, &lost) == -1)
		goto out;
	if (lost.len > 0) {
		if ((copy = strdup(buf_str(&lost))) == NULL) {
			buf_printf(&t->err, "out of memory");
			goto out;
		}
		for (w = strtok_r(copy, " ", &save); w != NULL;
		    w = strtok_r(NULL, " ", &save))
			if (services(t, "--start", w) == -1)
				goto out;
		if (services_lost(t, &lost) == -1)
			goto out;
	}
	if (lost.len > 0) {
		buf_printf(&t->err, "service-control --status: not running "
		    "after the restart, though they ran before:%s",
		    buf_str(&lost));
		goto out;
	}
	ret = 0;
out:
	free(copy);
	buf_free(&lost);
	return ret;
}

static int
restart_all(struct txn *t)
{
	say(t, "restarting every service (service-control --stop --all, "
	    "--start --all)");
	if (services(t, "--stop", "--all") == -1)
		return -1;
	return services(t, "--start", "--all");
}

/* ---- preflight ---- */

/* The VECS entry at a plan's STORE/ALIAS place (escaped as vecs_place
 * writes it), or NULL. */
static const struct inv_vecs_entry *
vecs_at(const struct inventory *inv, const char *place)
{
	size_t	 i;

	for (i = 0; i < inv->nvecs; i++) {
		char	*p = vecs_place(inv->vecs[i].store, inv->vecs[i].alias);
		int	 eq = p != NULL && strcmp(p, place) == 0;

		free(p);
		if (eq)
			return &inv->vecs[i];
	}
	return NULL;
}

/* The live digest of a plan target's place, "" when it does not exist. */
static const char *
live_digest(const struct inventory *inv, const char *type, const char *place)
{
	const struct inv_vecs_entry *e;
	size_t	 i;

	if (strcmp(type, "vecs") == 0)
		return (e = vecs_at(inv, place)) != NULL ? e->digest : "";
	if (strcmp(type, "file") == 0)
		return strcmp(place, "/" APP_VMCA_ROOT) == 0 ? inv->vmca_digest :
		    NULL;
	for (i = 0; i < inv->nsts; i++)
		if (strcasecmp(inv->sts[i].dn, place) == 0)
			return inv->sts[i].digest;
	for (i = 0; i < inv->nprincipals; i++)
		if (strcasecmp(inv->principals[i].dn, place) == 0)
			return inv->principals[i].digest;
	for (i = 0; i < inv->nendpoints; i++)
		if (strcasecmp(inv->endpoints[i].dn, place) == 0)
			return inv->endpoints[i].digest;
	for (i = 0; i < inv->ncas; i++)
		if (strcasecmp(inv->cas[i].dn, place) == 0)
			return inv->cas[i].digest;
	return "";
}

/* Every target as the plan saw it; else name what changed. */
static int
check_digests(struct txn *t, const struct inventory *inv)
{
	json_t	*s, *tg;
	size_t	 i, j, bad = 0;

	json_array_foreach(json_object_get(t->plan, "steps"), i, s)
	    json_array_foreach(json_object_get(s, "targets"), j, tg) {
		const char *type = json_string_value(json_object_get(tg,
		    "type"));
		const char *place = json_string_value(json_object_get(tg,
		    "place"));
		const char *want = json_string_value(json_object_get(tg,
		    "digest"));
		const char *action = json_string_value(json_object_get(tg,
		    "action"));
		const char *now;

		if (strcmp(type, "services") == 0)
			continue;	/* not content */
		if ((now = live_digest(inv, type, place)) == NULL)
			continue;	/* a key file: never digested */
		if (want == NULL && strcmp(action, "add") == 0 && *now == '\0')
			continue;
		if (want != NULL && strcmp(want, now) == 0)
			continue;
		if (bad++ == 0)
			buf_printf(&t->err, "the appliance changed since the "
			    "plan was made; make a new plan. Changed:");
		buf_printf(&t->err, "\n  %s (%s)", place, *now == '\0' ?
		    "gone" : want == NULL ? "now exists" : "content differs");
	}
	return bad == 0 ? 0 : -1;
}

/*
 * A VECS entry the plan replaces or deletes must be one vecs-cli can write
 * back, or a rollback could not put it back: vecs-cli refuses a damaged
 * certificate or key on create. The operator removes such an entry first
 * (its bytes are in the backup), and the plan then adds one.
 */
static int
check_restorable(struct txn *t, const struct inventory *inv)
{
	const struct inv_vecs_entry *e;
	struct buf damaged = BUF_INIT, unread = BUF_INIT;
	json_t	*s, *tg;
	size_t	 i, j;
	int	 ret = 0;

	json_array_foreach(json_object_get(t->plan, "steps"), i, s)
	    json_array_foreach(json_object_get(s, "targets"), j, tg) {
		const char *place = json_string_value(json_object_get(tg,
		    "place"));

		if (strcmp(json_string_value(json_object_get(tg, "type")),
		    "vecs") != 0 || strcmp(json_string_value(json_object_get(
		    tg, "action")), "add") == 0 ||
		    (e = vecs_at(inv, place)) == NULL ||
		    (e->bad == NULL && e->key_error == NULL))
			continue;
		/* Not known to be damaged: only not read this time. */
		if (e->bad == NULL && e->key_unread)
			buf_printf(&unread, "\n  %s (%s)", place, e->key_error);
		else
			buf_printf(&damaged, "\n  %s (%s)", place, e->bad != NULL ?
			    e->bad : e->key_error);
	}
	if (damaged.len > 0) {
		buf_printf(&t->err, "a rollback could not put back what these "
		    "entries hold now, as vecs-cli will not write it; take a "
		    "snapshot (vcrotate backup snapshot), delete them "
		    "(vecs-cli entry delete --store S --alias A -y) and make a "
		    "new plan:%s", buf_str(&damaged));
		ret = -1;
	}
	if (unread.len > 0) {
		buf_printf(&t->err, "%sthese entries' keys could not be read "
		    "now (try again):%s", ret == -1 ? "\n" : "",
		    buf_str(&unread));
		ret = -1;
	}
	buf_free(&damaged);
	buf_free(&unread);
	return ret;
}

/*
 * The VMCA root and key that sign the new certificates, read with the
 * parsers check uses (no pass phrase prompt, the key only in a wiped buf).
 */
static int
load_vmca(struct txn *t)
{
	char	*cf = app_path(t->cfg->root, APP_VMCA_ROOT);
	char	*kf = app_path(t->cfg->root, APP_VMCA_KEY);
	struct buf cb = BUF_INIT, kb = BUF_INIT;
	STACK_OF(X509) *chain = NULL;
	const char *why = NULL;
	int	 ret = -1;

	if (cf == NULL || kf == NULL) {
		buf_printf(&t->err, "out of memory");
		goto out;
	}
	if (file_read(cf, &cb, &t->err) == -1)
		goto out;
	if (cert_parse_pem_chain(cb.data, cb.len, &chain, &why) == -1 ||
	    (t->root = cert_full(sk_X509_value(chain, 0))) == NULL) {
		buf_printf(&t->err, "%s: not a readable certificate (%s)", cf,
		    why != NULL ? why : "out of memory");
		goto out;
	}
	if (file_read(kf, &kb, &t->err) == -1)
		goto out;
	if (cert_parse_key((unsigned char *)kb.data, kb.len, &t->root_key,
	    &why) == -1) {
		buf_printf(&t->err, "%s: not a readable private key (%s)", kf,
		    why);
		goto out;
	}
	if (EVP_PKEY_eq(X509_get0_pubkey(t->root), t->root_key) != 1) {
		buf_printf(&t->err, "%s does not match %s", kf, cf);
		goto out;
	}
	ret = 0;
out:
	sk_X509_pop_free(chain, X509_free);
	buf_free(&cb);
	buf_free_secret(&kb);
	free(cf);
	free(kf);
	return ret;
}

/* ---- prepare ---- */

static const char *
kind_of(json_t *step)
{
	return json_string_value(json_object_get(step, "kind"));
}

/*
 * Starts making the keys of the plan's new certificates, on other threads,
 * while the preflight reads the appliance; prepare takes them.
 */
static int
start_keys(struct txn *t)
{
	json_t	*s;
	int	*bits = NULL;
	size_t	 i;
	int	 ret;

	if ((bits = calloc(t->nsteps + 1, sizeof(*bits))) == NULL)
		return -1;
	json_array_foreach(json_object_get(t->plan, "steps"), i, s)
		bits[i] = (int)json_integer_value(json_object_get(
		    json_object_get(json_object_get(s, "profile"), "key"),
		    "bits"));
	ret = issue_keys_start(&t->kg, bits, t->nsteps);
	free(bits);
	if (ret == -1)
		buf_printf(&t->err, "out of memory");
	return ret;
}

/* Makes and checks every new certificate before anything changes. */
static int
prepare(struct txn *t)
{
	X509	*signer = t->root;
	EVP_PKEY *signer_key = t->root_key, **keys = NULL;
	json_t	*s;
	size_t	 i;
	int	 ret = -1, r;

	if ((t->made = calloc(t->nsteps, sizeof(*t->made))) == NULL ||
	    (keys = calloc(t->nsteps + 1, sizeof(*keys))) == NULL) {
		buf_printf(&t->err, "out of memory");
		goto out;
	}
	r = issue_keys_finish(t->kg, keys);
	t->kg = NULL;
	if (r == -1) {
		buf_printf(&t->err, "cannot generate the new RSA keys");
		goto out;
	}
	json_array_foreach(json_object_get(t->plan, "steps"), i, s) {
		json_t	*p = json_object_get(s, "profile");
		json_t	*san;
		struct made *m = &t->made[i];
		const char *why;
		STACK_OF(X509) *trusted = NULL;
		size_t	 k;
		int	 ok;

		if (!json_is_object(p))
			continue;
		if (issue_with_key(p, strcmp(kind_of(s), "vmca_root") == 0 ?
		    NULL : signer, strcmp(kind_of(s), "vmca_root") == 0 ?
		    NULL : signer_key, time(NULL), keys[i], &m->cert, &m->key,
		    &t->err) == -1)
			goto out;
		keys[i] = NULL;		/* m->key owns it */
		if (strcmp(kind_of(s), "vmca_root") == 0) {
			/* Everything after is signed by the new root. */
			signer = m->cert;
			signer_key = m->key;
			continue;
		}
		/* The checks apply would otherwise learn from the services. */
		if ((trusted = sk_X509_new_null()) == NULL ||
		    !sk_X509_push(trusted, signer)) {
			sk_X509_free(trusted);
			goto out;
		}
		ok = cert_key_matches(m->cert, m->key) &&
		    cert_verify(m->cert, NULL, trusted, time(NULL), &why);
		sk_X509_free(trusted);
		if (!ok) {
			buf_printf(&t->err, "step %zu: the new certificate does "
			    "not verify against the VMCA root", i + 1);
			goto out;
		}
		san = json_object_get(p, "san");
		for (k = 0; k < json_array_size(san); k++)
			if (!cert_san_has(m->cert, json_string_value(
			    json_array_get(san, k)))) {
				buf_printf(&t->err, "step %zu: the new "
				    "certificate lacks %s", i + 1,
				    json_string_value(json_array_get(san, k)));
				goto out;
			}
		if (cert_not_after(m->cert) > cert_not_after(signer)) {
			buf_printf(&t->err, "step %zu: the new certificate "
			    "outlives its root", i + 1);
			goto out;
		}
	}
	ret = 0;
out:
	for (i = 0; keys != NULL && i < t->nsteps; i++)
		EVP_PKEY_free(keys[i]);
	free(keys);
	return ret;
}

/* ---- the steps ---- */

/* The certificate (chain) text for VECS: the leaf, then its root. */
static int
chain_pem(X509 *leaf, X509 *root, int with_root, struct buf *out)
{
	if (pem_of_cert(leaf, out) == -1)
		return -1;
	return with_root ? pem_of_cert(root, out) : 0;
}

static char *
stage(struct txn *t, const char *name, const struct buf *b)
{
	return file_stage(t->tmpdir, name, b->data, b->len, &t->err);
}

/* STORE/ALIAS -> the two names (split at the first '/'). */
static int
split_place(const char *place, char **store, const char **alias)
{
	const char *slash = strchr(place, '/');

	if (slash == NULL || (*store = strndup(place, (size_t)(slash -
	    place))) == NULL)
		return -1;
	*alias = slash + 1;
	return 0;
}

/* Replaces (or adds) a VECS entry: delete, then create. */
static int
vecs_put(struct txn *t, const char *place, const char *action, X509 *leaf,
    X509 *root, int with_root, EVP_PKEY *key)
{
	struct buf cert = BUF_INIT, k = BUF_INIT;
	char	*store = NULL, *cf = NULL, *kf = NULL;
	const char *alias;
	int	 ret = -1;

	if (split_place(place, &store, &alias) == -1) {
		buf_printf(&t->err, "%s: not STORE/ALIAS", place);
		goto out;
	}
	if (t->dry) {
		text_printf_safe(stdout,
		    "    vecs-cli entry delete --store %s --alias %s -y\n"
		    "    vecs-cli entry create --store %s --alias %s --cert "
		    "(new) --key (new)\n", store, alias, store, alias);
		ret = 0;
		goto out;
	}
	if (chain_pem(leaf, root, with_root, &cert) == -1 ||
	    pem_of_key(key, &k) == -1) {
		buf_printf(&t->err, "%s: cannot encode the new certificate or "
		    "key", place);
		goto out;
	}
	if ((cf = stage(t, "cert.pem", &cert)) == NULL ||
	    (kf = stage(t, "key.pem", &k)) == NULL)
		goto out;
	/* Changed from the moment a write is attempted: vecs-cli may have
	 * deleted the entry and still fail. */
	if (change_begins(t) == -1)
		goto out;
	if (strcmp(action, "replace") == 0 &&
	    vecs_entry_delete(t->cfg->root, store, alias, &t->err) == -1)
		goto out;
	ret = vecs_entry_create(t->cfg->root, store, alias, cf, kf, &t->err);
out:
	file_unstage(cf);
	file_unstage(kf);
	buf_free(&cert);
	buf_free_secret(&k);
	free(store);
	return ret;
}

static int
vmdir_conn(struct txn *t)
{
	if (t->vd != NULL)
		return 0;
	return vmdir_open(&t->vd, t->login.uri, t->login.bind_dn,
	    t->login.password, &t->err);
}

/* A value borrowing a string. */
static void
str_value(struct vmdir_value *v, const char *s)
{
	v->data = (unsigned char *)s;
	v->len = strlen(s);
}

/* objectClass: top and one structural class (borrowed). */
static void
classes(struct vmdir_attr *a, struct vmdir_value oc[2], const char *cls)
{
	str_value(&oc[0], "top");
	str_value(&oc[1], cls);
	a->name = (char *)"objectClass";
	a->values = oc;
	a->nvalues = 2;
}

/* One attribute with the given values (borrowed). */
static void
attr_set(struct vmdir_attr *a, const char *name, struct vmdir_value *v,
    size_t n)
{
	a->name = (char *)name;
	a->values = v;
	a->nvalues = n;
}

/*
 * One LDAP write (add, replace or delete), tried again on a new connection
 * when the server went away: vmdird restarting under us is not a reason to
 * undo everything. After LDAP_TRIES the step fails.
 */
static int
ldap_write(struct txn *t, const char *dn, const char *action,
    struct vmdir_attr *attrs, size_t n)
{
	struct timespec ts;
	long	 pause = LDAP_PAUSE_MS;
	int	 try, rc = -1;

	if (change_begins(t) == -1)
		return -1;
	for (try = 1; try <= LDAP_TRIES; try++) {
		if (try > 1) {
			say(t, "the directory server went away (%s); trying "
			    "again in %ld ms (%d of %d)", buf_str(&t->err),
			    pause, try, LDAP_TRIES);
			buf_reset(&t->err);
			vmdir_close(t->vd);
			t->vd = NULL;
			ts.tv_sec = pause / 1000;
			ts.tv_nsec = pause % 1000 * 1000000L;
			nanosleep(&ts, NULL);
			pause *= 2;
		}
		if (vmdir_conn(t) == -1)
			continue;	/* still away */
		if (strcmp(action, "add") == 0)
			rc = vmdir_add(t->vd, dn, attrs, n, &t->err);
		else if (strcmp(action, "delete") == 0)
			rc = vmdir_delete(t->vd, dn, &t->err);
		else
			rc = vmdir_replace(t->vd, dn, attrs, n, NULL, &t->err);
		if (rc == 0 || !vmdir_lost(t->vd))
			return rc;
	}
	return -1;
}

static int
ldap_put(struct txn *t, const char *dn, const char *action,
    struct vmdir_attr *attrs, size_t nattrs, size_t nnew)
{
	size_t	 i;

	if (t->dry) {
		text_printf_safe(stdout,
		    "    ldap %s %s:", strcmp(action, "add") == 0 ? "add" :
		    "modify (replace)", dn);
		for (i = 0; i < (strcmp(action, "add") == 0 ? nattrs : nnew); i++)
			printf(" %s", attrs[i].name);
		putchar('\n');
		return 0;
	}
	return ldap_write(t, dn, action, attrs, strcmp(action, "add") == 0 ?
	    nattrs : nnew);
}

static int
ldap_del(struct txn *t, const char *dn)
{
	if (t->dry) {
		text_printf_safe(stdout, "    ldap delete %s\n", dn);
		return 0;
	}
	return ldap_write(t, dn, "delete", NULL, 0);
}

/* The leading "cn=X" of a DN as X (malloc'd). */
static char *
first_cn(const char *dn)
{
	const char *comma = strchr(dn, ',');

	if (strncasecmp(dn, "cn=", 3) != 0 || comma == NULL)
		return NULL;
	return strndup(dn + 3, (size_t)(comma - dn - 3));
}

static int
step_sts(struct txn *t, json_t *step, struct made *m)
{
	struct vmdir_value certs[2], keyv, cnv, ocv[2];
	struct vmdir_attr attrs[3];
	struct buf keyder = BUF_INIT;
	unsigned char *leaf = NULL, *root = NULL;
	size_t	 ll, rl, i;
	json_t	*tg;
	int	 ret = -1;

	if (der_of_cert(m->cert, &leaf, &ll) == -1 ||
	    der_of_cert(t->root, &root, &rl) == -1 ||
	    der_of_key(m->key, &keyder) == -1) {
		buf_printf(&t->err, "cannot encode the new STS credential");
		goto out;
	}
	/* The leaf first, then the chain in the order of root.cer. */
	certs[0].data = leaf;
	certs[0].len = ll;
	certs[1].data = root;
	certs[1].len = rl;
	keyv.data = (unsigned char *)keyder.data;
	keyv.len = keyder.len;
	/* New entries first, deletions last: the domain is never left
	 * without a signing credential (VMware's script does it the other
	 * way round). */
	json_array_foreach(json_object_get(step, "targets"), i, tg) {
		const char *dn = json_string_value(json_object_get(tg, "place"));
		const char *action = json_string_value(json_object_get(tg,
		    "action"));
		int	 cred = strncasecmp(dn, "cn=TenantCredential-", 20) == 0;
		char	*cn;

		if (strcmp(action, "delete") == 0)
			continue;
		attr_set(&attrs[0], "userCertificate", certs, 2);
		attr_set(&attrs[1], "vmwSTSPrivateKey", &keyv, 1);
		if ((cn = first_cn(dn)) == NULL) {
			buf_printf(&t->err, "%s: not a cn= DN", dn);
			goto out;
		}
		str_value(&cnv, cn);
		if (strcmp(action, "add") == 0) {
			struct vmdir_attr all[4];

			classes(&all[0], ocv, cred ? "vmwSTSTenantCredential" :
			    "vmwSTSTenantTrustedCertificateChain");
			attr_set(&all[1], "cn", &cnv, 1);
			all[2] = attrs[0];
			all[3] = attrs[1];
			ret = ldap_put(t, dn, action, all, cred ? 4 : 3, 0);
		} else
			ret = ldap_put(t, dn, action, attrs, 2, cred ? 2 : 1);
		free(cn);
		if (ret == -1)
			goto out;
	}
	json_array_foreach(json_object_get(step, "targets"), i, tg)
		if (strcmp(json_string_value(json_object_get(tg, "action")),
		    "delete") == 0 && ldap_del(t, json_string_value(
		    json_object_get(tg, "place"))) == -1)
			goto out;
	ret = 0;
out:
	free(leaf);
	free(root);
	buf_free_secret(&keyder);
	return ret;
}

static int
step_solution_user(struct txn *t, json_t *step, struct made *m)
{
	struct vmdir_value cv, sv;
	struct vmdir_attr attrs[2];
	unsigned char *der = NULL;
	char	*sdn = NULL;
	size_t	 dl, i;
	json_t	*tg;
	int	 ret = -1;

	if (der_of_cert(m->cert, &der, &dl) == -1 ||
	    (sdn = cert_subject_rfc2253(m->cert)) == NULL) {
		buf_printf(&t->err, "cannot encode the new solution-user "
		    "certificate");
		goto out;
	}
	cv.data = der;
	cv.len = dl;
	str_value(&sv, sdn);
	json_array_foreach(json_object_get(step, "targets"), i, tg) {
		const char *type = json_string_value(json_object_get(tg, "type"));
		const char *place = json_string_value(json_object_get(tg,
		    "place"));
		const char *action = json_string_value(json_object_get(tg,
		    "action"));

		if (strcmp(type, "vecs") == 0) {
			if (vecs_put(t, place, action, m->cert, t->root, 0,
			    m->key) == -1)
				goto out;
			continue;
		}
		attr_set(&attrs[0], "userCertificate", &cv, 1);
		attr_set(&attrs[1], "vmwSTSSubjectDN", &sv, 1);
		if (strcmp(action, "add") == 0) {
			/* A missing principal is registered anew. */
			struct vmdir_value oc[2], cn;
			struct vmdir_attr all[5];
			char	*c = first_cn(place);
			int	 rc;

			if (c == NULL) {
				buf_printf(&t->err, "%s: not a cn= DN", place);
				goto out;
			}
			str_value(&cn, c);
			classes(&all[0], oc, "vmwServicePrincipal");
			attr_set(&all[1], "cn", &cn, 1);
			attr_set(&all[2], "sAMAccountName", &cn, 1);
			all[3] = attrs[0];
			all[4] = attrs[1];
			rc = ldap_put(t, place, "add", all, 5, 0);
			free(c);
			if (rc == -1)
				goto out;
		} else if (ldap_put(t, place, "replace", attrs, 2, 2) == -1)
			goto out;
	}
	ret = 0;
out:
	free(der);
	free(sdn);
	return ret;
}

static int
step_machine_ssl(struct txn *t, json_t *step, struct made *m)
{
	json_t	*tg;
	size_t	 i;

	json_array_foreach(json_object_get(step, "targets"), i, tg)
		if (vecs_put(t, json_string_value(json_object_get(tg, "place")),
		    json_string_value(json_object_get(tg, "action")), m->cert,
		    t->root, 1, m->key) == -1)
			return -1;
	return 0;
}

/* The Machine SSL certificate the endpoints must trust: the new one if
 * the plan makes one, else the one in VECS now. */
static X509 *
machine_ssl(struct txn *t, const struct inventory *inv)
{
	const struct inv_vecs_entry *e;
	json_t	*s;
	size_t	 i;

	json_array_foreach(json_object_get(t->plan, "steps"), i, s)
		if (strcmp(kind_of(s), "machine_ssl") == 0)
			return t->made[i].cert;
	e = inventory_vecs(inv, "MACHINE_SSL_CERT", "__MACHINE_CERT");
	return e != NULL && e->chain != NULL ? sk_X509_value(e->chain, 0) :
	    NULL;
}

static int
step_trust(struct txn *t, json_t *step, const struct inventory *inv)
{
	X509	*live = machine_ssl(t, inv);
	unsigned char *der = NULL;
	char	*b64 = NULL;
	struct vmdir_value v;
	struct vmdir_attr a;
	size_t	 dl, i, k;
	json_t	*tg;
	int	 ret = -1;

	if (live == NULL) {
		buf_printf(&t->err, "no Machine SSL certificate for the "
		    "endpoints to trust");
		goto out;
	}
	if (der_of_cert(live, &der, &dl) == -1 ||
	    (b64 = malloc(4 * ((dl + 2) / 3) + 1)) == NULL) {
		buf_printf(&t->err, "out of memory encoding the Machine SSL "
		    "certificate");
		goto out;
	}
	EVP_EncodeBlock((unsigned char *)b64, der, (int)dl);
	json_array_foreach(json_object_get(step, "targets"), i, tg) {
		const char *dn = json_string_value(json_object_get(tg, "place"));
		int	 legacy = 0;

		for (k = 0; k < inv->nendpoints; k++)
			if (strcasecmp(inv->endpoints[k].dn, dn) == 0)
				legacy = inv->endpoints[k].legacy;
		/* Legacy endpoints hold DER; the others one line of base64. */
		if (legacy) {
			v.data = der;
			v.len = dl;
			attr_set(&a, "vmwLKUPSslTrustAnchor", &v, 1);
		} else {
			v.data = (unsigned char *)b64;
			v.len = strlen(b64);
			attr_set(&a, "vmwLKUPEndpointSslTrust", &v, 1);
		}
		if (ldap_put(t, dn, "replace", &a, 1, 1) == -1)
			goto out;
	}
	ret = 0;
out:
	free(der);
	free(b64);
	return ret;
}

static int
step_prune(struct txn *t, json_t *step)
{
	json_t	*tg;
	size_t	 i;

	json_array_foreach(json_object_get(step, "targets"), i, tg) {
		const char *place = json_string_value(json_object_get(tg,
		    "place"));
		char	*store = NULL;
		const char *alias;
		int	 rc;

		if (strcmp(json_string_value(json_object_get(tg, "type")),
		    "vmdir") == 0) {
			if (ldap_del(t, place) == -1)
				return -1;
			continue;
		}
		if (split_place(place, &store, &alias) == -1)
			return -1;
		if (t->dry) {
			text_printf_safe(stdout,
			    "    vecs-cli entry delete --store %s --alias %s "
			    "-y\n", store, alias);
			rc = 0;
		} else
			rc = change_begins(t) == -1 ? -1 : vecs_entry_delete(
			    t->cfg->root, store, alias, &t->err);
		free(store);
		if (rc == -1)
			return -1;
	}
	return 0;
}

/*
 * The attributes of a new CA entry for x, in the form of the appliance's own
 * entries (model), or Lightwave's when there are none: objectClass, cn (the
 * subject key id in the model's case), cACertificate (PEM text or DER) and,
 * where the model has one, cACertificateDN. Values point into pem, der and
 * the strings set in *ski and *subject (caller frees).
 */
#define CA_NATTRS 4
static const char *const lightwave_ca_classes[] = { "top", "pkiCA",
    "vmwCertificationAuthority", NULL };

static int
ca_entry_attrs(const struct inv_ca *model, X509 *x, const struct buf *pem,
    unsigned char *der, size_t dl, struct vmdir_value oc[], size_t noc,
    struct vmdir_value v[3], struct vmdir_attr attrs[CA_NATTRS], char **ski,
    char **subject, size_t *nattrs)
{
	const char *const *cls = model != NULL ?
	    (const char *const *)model->classes : lightwave_ca_classes;
	size_t	 n;

	*subject = NULL;
	if ((*ski = cert_ski_hex(x, model == NULL || model->upper)) == NULL)
		return -1;
	for (n = 0; cls[n] != NULL && n < noc; n++)
		str_value(&oc[n], cls[n]);
	attr_set(&attrs[0], "objectClass", oc, n);
	str_value(&v[0], *ski);
	attr_set(&attrs[1], "cn", &v[0], 1);
	if (model == NULL || model->pem) {
		/* VMCA's own form drops PEM's last newline (Lightwave
		 * vmca/common/pkcs_openssl.c VMCACertToPEM). */
		v[1].data = (unsigned char *)pem->data;
		v[1].len = pem->len;
		if ((model == NULL || !model->pem_newline) && v[1].len > 0 &&
		    pem->data[v[1].len - 1] == '\n')
			v[1].len--;
	} else {
		v[1].data = der;
		v[1].len = dl;
	}
	attr_set(&attrs[2], "cACertificate", &v[1], 1);
	*nattrs = 3;
	if (model == NULL || model->subject_dn) {
		if ((*subject = cert_subject_compat(x)) == NULL)
			return -1;
		str_value(&v[2], *subject);
		attr_set(&attrs[3], "cACertificateDN", &v[2], 1);
		*nattrs = 4;
	}
	return 0;
}

/* A new VMCA root: its files, TRUSTED_ROOTS and a CA entry in vmdir. */
static int
step_root(struct txn *t, struct made *m, const struct inventory *inv)
{
	struct buf pem = BUF_INIT, key = BUF_INIT;
	struct vmdir_value oc[8], v[3];	/* a model's first 8 classes */
	struct vmdir_attr attrs[CA_NATTRS];
	unsigned char *der = NULL;
	char	*cf = NULL, *alias = NULL, *ski = NULL, *subject = NULL;
	char	*dn = NULL;
	char	*cpath = app_path(t->cfg->root, APP_VMCA_ROOT);
	char	*kpath = app_path(t->cfg->root, APP_VMCA_KEY);
	size_t	 dl, nattrs;
	int	 ret = -1;

	if (cpath == NULL || kpath == NULL ||
	    (alias = cert_sha1_hex(m->cert)) == NULL ||
	    pem_of_cert(m->cert, &pem) == -1 ||
	    der_of_cert(m->cert, &der, &dl) == -1 ||
	    ca_entry_attrs(inventory_ca_model(inv), m->cert, &pem, der, dl, oc,
	    sizeof(oc) / sizeof(oc[0]), v, attrs, &ski, &subject,
	    &nattrs) == -1) {
		buf_printf(&t->err, "cannot encode the new VMCA root's CA "
		    "entry (no subject key id, or out of memory)");
		goto out;
	}
	if (asprintf(&dn, "cn=%s,cn=Certificate-Authorities,cn=Configuration,"
	    "%s", ski, t->app.domain_dn) == -1) {
		dn = NULL;
		goto out;
	}
	if (t->dry) {
		text_printf_safe(stdout,
		    "    write %s and %s (the new root and its key)\n"
		    "    vecs-cli entry create --store TRUSTED_ROOTS --alias %s "
		    "--cert (new root)\n    ldap add %s: cACertificate (%s)\n",
		    cpath, kpath, alias, dn, v[1].data == der ? "DER" : "PEM");
		ret = 0;
		goto out;
	}
	if (pem_of_key(m->key, &key) == -1)
		goto out;
	/* Publish first, then switch the files: a root is trusted before
	 * anything it signs is installed. */
	if ((cf = stage(t, "root.pem", &pem)) == NULL || change_begins(t) == -1)
		goto out;
	if (vecs_entry_create(t->cfg->root, "TRUSTED_ROOTS", alias, cf, NULL,
	    &t->err) == -1)
		goto out;
	if (ldap_put(t, dn, "add", attrs, nattrs, 0) == -1)
		goto out;
	/* Each file replaced atomically (the key first: a root.cer without
	 * its key would stop VMCA, a key without its root.cer not yet). */
	if (change_begins(t) == -1 ||
	    file_write_atomic(kpath, key.data, key.len, 0600, &t->err) == -1 ||
	    file_write_atomic(cpath, pem.data, pem.len, 0644, &t->err) == -1)
		goto out;
	/* Everything after is signed by, and chains to, the new root. */
	X509_free(t->root);
	EVP_PKEY_free(t->root_key);
	X509_up_ref(m->cert);
	EVP_PKEY_up_ref(m->key);
	t->root = m->cert;
	t->root_key = m->key;
	ret = 0;
out:
	file_unstage(cf);
	buf_free(&pem);
	buf_free_secret(&key);
	free(der);
	free(alias);
	free(ski);
	free(subject);
	free(dn);
	free(cpath);
	free(kpath);
	return ret;
}

static int txn_applied(struct txn *t);
static int txn_record(struct txn *t, const char *w0, const char *w1,
    const char *w2);

static int
run_steps(struct txn *t, const struct inventory *inv)
{
	json_t	*s;
	char	 num[24];
	size_t	 i;
	int	 rc = 0;

	json_array_foreach(json_object_get(t->plan, "steps"), i, s) {
		const char *kind = kind_of(s);
		double	 t0 = now_seconds();

		say(t, "step %zu of %zu: %s", i + 1, t->nsteps,
		    json_string_value(json_object_get(s, "title")));
		if (strcmp(kind, "vmca_root") == 0)
			rc = step_root(t, &t->made[i], inv);
		else if (strcmp(kind, "sts") == 0)
			rc = step_sts(t, s, &t->made[i]);
		else if (strcmp(kind, "solution_user") == 0)
			rc = step_solution_user(t, s, &t->made[i]);
		else if (strcmp(kind, "machine_ssl") == 0)
			rc = step_machine_ssl(t, s, &t->made[i]);
		else if (strcmp(kind, "data_encipherment") == 0)
			rc = vecs_put(t, json_string_value(json_object_get(
			    json_array_get(json_object_get(s, "targets"), 0),
			    "place")), "replace", t->made[i].cert, t->root, 0,
			    t->made[i].key);
		else if (strcmp(kind, "trust_anchors") == 0)
			rc = step_trust(t, s, inv);
		else if (strcmp(kind, "prune_roots") == 0)
			rc = step_prune(t, s);
		else if (strcmp(kind, "restart") == 0 && t->dry)
			rc = (text_printf_safe(stdout,
			    "    service-control --stop --all; "
			    "service-control --start --all\n"), 0);
		else if (strcmp(kind, "restart") == 0) {
			/* Every new item is in place: from here on, recover
			 * can go forward as well as back. */
			rc = txn_applied(t);
			if (rc == 0 && t->per_step)
				say(t, "already restarted after each step");
			else if (rc == 0 && !interrupted(t))
				rc = restart_all(t);
			else if (rc == 0)
				rc = -1;
		} else {
			buf_printf(&t->err, "unknown step kind %s", kind);
			rc = -1;
		}
		buf_printf(&t->steps_log, "%s%zu %s %s%.2fs", t->steps_log.len ?
		    ", " : "", i + 1, kind, rc == -1 ? "failed after " : "",
		    now_seconds() - t0);
		if (rc == -1)
			return -1;
		if (t->dry)
			continue;
		snprintf(num, sizeof(num), "%zu", i + 1);
		if (txn_record(t, "step", num, kind) == -1)
			return -1;
		if (t->per_step && strcmp(kind, "restart") != 0 &&
		    (interrupted(t) || restart_all(t) == -1))
			return -1;
	}
	return 0;
}

/* ---- verify ---- */

/* The certificate served on 127.0.0.1:https_port, or NULL. */
static X509 *
served_cert(struct txn *t)
{
	struct sockaddr_in sin;
	struct timeval tv = { 10, 0 };
	SSL_CTX	*ctx = NULL;
	SSL	*ssl = NULL;
	X509	*x = NULL;
	int	 fd = -1;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    (fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		goto out;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)t->cfg->https_port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		goto out;
	/* Which certificate is live is the question, not whether it is
	 * trusted: no verification here. */
	if ((ssl = SSL_new(ctx)) == NULL || !SSL_set_fd(ssl, fd) ||
	    !SSL_set_tlsext_host_name(ssl, t->app.pnid) || SSL_connect(ssl) != 1)
		goto out;
	x = SSL_get1_peer_certificate(ssl);
out:
	if (ssl != NULL)
		SSL_free(ssl);
	if (fd != -1)
		close(fd);
	SSL_CTX_free(ctx);
	return x;
}

/* Whether the TLS endpoint serves want (named what in the error). */
static int
serves(struct txn *t, X509 *want, const char *what)
{
	X509	*served = served_cert(t);
	int	 ok = served != NULL && cert_equal(served, want);

	X509_free(served);
	if (!ok)
		buf_printf(&t->err, "the TLS endpoint on port %d does not "
		    "serve %s", t->cfg->https_port, what);
	return ok ? 0 : -1;
}

/*
 * The journal's "after" record: every item's digest as the appliance now
 * holds it, in the order of the item records (each item's before and after
 * digest, for the audit; recover goes by the snapshots). "-" where the
 * inventory keeps no digest (the VMCA key).
 */
static int
after_record(struct txn *t, const struct inventory *inv)
{
	const char **w = NULL;
	json_t	*s, *tg;
	size_t	 n = 1, i, k;
	int	 ret;

	json_array_foreach(json_object_get(t->plan, "steps"), i, s)
		n += json_array_size(json_object_get(s, "targets"));
	if ((w = calloc(n, sizeof(*w))) == NULL) {
		buf_printf(&t->err, "out of memory");
		return -1;
	}
	n = 0;
	w[n++] = "after";
	json_array_foreach(json_object_get(t->plan, "steps"), i, s)
	    json_array_foreach(json_object_get(s, "targets"), k, tg) {
		const char *type = json_string_value(json_object_get(tg,
		    "type")), *d;

		if (strcmp(type, "services") == 0)
			continue;
		d = live_digest(inv, type, json_string_value(
		    json_object_get(tg, "place")));
		w[n++] = d != NULL ? d : "-";
	}
	ret = t->journaled ? journal_append(&t->j, w, n, &t->err) : 0;
	free(w);
	return ret;
}

/*
 * Phase 5, the checks: services, the TLS endpoint, a fresh plan with
 * nothing to do. On success *after is the appliance as read for it (the
 * caller frees it).
 */
static int
verify(struct txn *t, struct inventory *after)
{
	struct plan_policy pol;
	json_t	*again, *policy = json_object_get(t->plan, "policy"), *s;
	size_t	 i;
	int	 nothing = 0, ret = -1;

	say(t, "verifying");
	if (services_as_before(t) == -1)
		return -1;
	json_array_foreach(json_object_get(t->plan, "steps"), i, s)
		if (strcmp(kind_of(s), "machine_ssl") == 0 &&
		    serves(t, t->made[i].cert, "the new Machine SSL "
		    "certificate") == -1)
			return -1;
	/* A fresh plan under the same policy must find nothing to do, from a
	 * complete reading of the appliance. */
	if (inventory_read(after, t->cfg->root, &t->login, NULL) == -1) {
		buf_printf(&t->err, "cannot read the appliance again: out of "
		    "memory");
		return -1;
	}
	if (after->vecs_error.len || after->vmdir_error.len ||
	    after->vmca_error.len) {
		buf_printf(&t->err, "cannot read the appliance again: %s%s%s",
		    buf_str(&after->vecs_error), buf_str(&after->vmdir_error),
		    buf_str(&after->vmca_error));
		inventory_free(after);
		return -1;
	}
	memset(&pol, 0, sizeof(pol));
	pol.at = time(NULL);
	pol.renew_within = (int)json_integer_value(json_object_get(policy,
	    "renew_within_days"));
	pol.scope = (enum plan_scope)plan_scope_parse(json_string_value(
	    json_object_get(policy, "scope")));
	/* A window as long as the new certificates live (--renew-within
	 * 100000 renews everything) would call them due again: judge them
	 * on what they are, over less than their life. */
	for (i = 0; i < t->nsteps; i++)
		if (t->made != NULL && t->made[i].cert != NULL &&
		    cert_days_left(t->made[i].cert, pol.at) - 1 <
		    pol.renew_within)
			pol.renew_within = (int)cert_days_left(t->made[i].cert,
			    pol.at) - 1;
	if (pol.renew_within < 0)
		pol.renew_within = 0;
	pol.key_bits = (int)json_integer_value(json_object_get(policy,
	    "key_bits"));
	pol.validity_days = (int)json_integer_value(json_object_get(policy,
	    "validity_days"));
	if (pol.scope == SCOPE_ROOT)
		pol.scope = SCOPE_ALL;
	again = plan_build(after, &pol, &nothing);
	if (again != NULL) {
		buf_printf(&t->err, "after the change a new plan still has "
		    "%zu step(s): first \"%s\"",
		    json_array_size(json_object_get(again, "steps")) - 1,
		    json_string_value(json_object_get(json_array_get(
		    json_object_get(again, "steps"), 0), "title")));
		json_decref(again);
	} else if (nothing)
		ret = 0;
	/* What the appliance holds now, for the journal's after record. */
	if (ret == -1)
		inventory_free(after);
	return ret;
}

/*
 * recover --forward's check before it commits, without the plan: the
 * services that ran before run, and the TLS endpoint serves the Machine
 * SSL certificate that VECS now holds.
 */
static int
verify_forward(struct txn *t)
{
	struct inventory inv;
	const struct inv_vecs_entry *m;
	int	 ret = -1;

	say(t, "verifying");
	/* A journal without the record cannot say what ran before. */
	if (journal_find(&t->j, "stopped") != NULL &&
	    services_as_before(t) == -1)
		return -1;
	if (inventory_read(&inv, t->cfg->root, &t->login, NULL) == -1) {
		buf_printf(&t->err, "cannot read the appliance: out of memory");
		return -1;
	}
	m = inventory_vecs(&inv, "MACHINE_SSL_CERT", "__MACHINE_CERT");
	if (m == NULL || m->chain == NULL)
		buf_printf(&t->err, "MACHINE_SSL_CERT/__MACHINE_CERT cannot be "
		    "read: %s", inv.vecs_error.len ? buf_str(&inv.vecs_error) :
		    "no certificate");
	else
		ret = serves(t, sk_X509_value(m->chain, 0),
		    "MACHINE_SSL_CERT/__MACHINE_CERT");
	inventory_free(&inv);
	return ret;
}

/* ---- the journal ---- */

/* Appends a record of up to three words; nothing before the journal. */
static int
txn_record(struct txn *t, const char *w0, const char *w1, const char *w2)
{
	const char *w[3] = { w0, w1, w2 };

	if (!t->journaled)
		return 0;
	return journal_append(&t->j, w, w1 == NULL ? 1 : w2 == NULL ? 2 : 3,
	    &t->err);
}

static int
jadd(struct txn *t, const char *w0, const char *w1, const char *w2,
    const char *w3)
{
	const char *w[4] = { w0, w1, w2, w3 };

	return journal_add(&t->j, w, w1 == NULL ? 1 : w2 == NULL ? 2 :
	    w3 == NULL ? 3 : 4);
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

/*
 * Writes the journal: who, what, the before snapshot, the participants and
 * every item the plan touches with its digest as the plan saw it. target,
 * when not NULL, is a state that is ready from the start (rollback's).
 */
static int
txn_begin(struct txn *t, const char *kind, const char *target)
{
	char	 pid[24], when[32], *vecs = app_path(t->cfg->root,
	    APP_VECS_CLI), *sc = app_path(t->cfg->root, APP_SERVICE_CONTROL);
	char	*vmca = app_path(t->cfg->root, APP_VMCA_ROOT);
	time_t	 now = time(NULL);
	json_t	*s, *tg;
	size_t	 i, k;
	int	 ret = -1;

	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	if (vecs == NULL || sc == NULL || vmca == NULL ||
	    jadd(t, JOURNAL_MAGIC, JOURNAL_VERSION, NULL, NULL) == -1 ||
	    jadd(t, "transaction", t->id, NULL, NULL) == -1 ||
	    jadd(t, "kind", kind, NULL, NULL) == -1 ||
	    jadd(t, "pid", pid, NULL, NULL) == -1 ||
	    jadd(t, "started", when, NULL, NULL) == -1 ||
	    jadd(t, "operator", t->operator, NULL, NULL) == -1 ||
	    jadd(t, "ticket", t->ticket != NULL ? t->ticket : "", NULL,
	    NULL) == -1 ||
	    jadd(t, "reason", t->reason, NULL, NULL) == -1 ||
	    jadd(t, "plan", t->plan != NULL ? json_string_value(
	    json_object_get(t->plan, "sha256")) : "", NULL, NULL) == -1 ||
	    jadd(t, "before", t->before, NULL, NULL) == -1 ||
	    jadd(t, "participant", "vecs", vecs, NULL) == -1 ||
	    jadd(t, "participant", "vmdir", t->login.uri, NULL) == -1 ||
	    jadd(t, "participant", "vmca", vmca, NULL) == -1 ||
	    jadd(t, "participant", "services", sc, NULL) == -1 ||
	    jadd(t, "participant", "backup", t->cfg->backup_repo, NULL) == -1 ||
	    jadd_words(t, "stopped", buf_str(&t->stopped_before)) == -1)
		goto oom;
	json_array_foreach(json_object_get(t->plan, "steps"), i, s)
	    json_array_foreach(json_object_get(s, "targets"), k, tg) {
		const char *d = json_string_value(json_object_get(tg,
		    "digest"));

		if (strcmp(json_string_value(json_object_get(tg, "type")),
		    "services") != 0 && jadd(t, "item", json_string_value(
		    json_object_get(tg, "type")), json_string_value(
		    json_object_get(tg, "place")), d != NULL ? d : "") == -1)
			goto oom;
	}
	if (target != NULL && jadd(t, "applied", target, NULL, NULL) == -1)
		goto oom;
	if (journal_create(&t->j, t->cfg->root, &t->err) == -1)
		goto out;
	t->journaled = 1;
	ret = 0;
	goto out;
oom:
	buf_printf(&t->err, "out of memory writing the journal");
out:
	free(vecs);
	free(sc);
	free(vmca);
	return ret;
}

/* A snapshot carrying the transaction's audit record in its trailers. */
static void
txn_meta(struct txn *t, const char *result, struct bk_meta *meta,
    char elapsed[32])
{
	snprintf(elapsed, 32, "%lds", (long)(time(NULL) - t->started));
	meta->operator = t->operator;
	meta->ticket = t->ticket;
	meta->reason = t->reason;
	meta->transaction = t->id;
	meta->result = result;
	meta->plan = t->plan != NULL ? json_string_value(json_object_get(
	    t->plan, "sha256")) : journal_value(&t->j, "plan");
	meta->elapsed = elapsed;
	meta->steps = t->steps_log.len ? buf_str(&t->steps_log) : NULL;
	meta->timings = t->phases_log.len ? buf_str(&t->phases_log) : NULL;
}

/* A snapshot with the vmdir entries absent[] recorded as absent. */
static int
snapshot_absent(struct txn *t, const char *result,
    const char *const *absent, size_t nabsent, char id[41])
{
	struct bk_meta meta;
	char	 elapsed[32];

	txn_meta(t, result, &meta, elapsed);
	return backup_session_snapshot(t->bk, &meta, absent, nabsent, id,
	    &t->err);
}

static int
snapshot(struct txn *t, const char *result, char id[41])
{
	return snapshot_absent(t, result, NULL, 0, id);
}

/* The outcome recorded on a state already in the backup (no new read). */
static void
mark(struct txn *t, const char *rev, const char *result, char id[41])
{
	struct bk_meta meta;
	struct buf err = BUF_INIT;
	char	 elapsed[32];

	txn_meta(t, result, &meta, elapsed);
	if (backup_session_mark(t->bk, rev, &meta, id, &err) == -1)
		say(t, "warning: the outcome \"%s\" is not in the backup: %s",
		    result, buf_str(&err));
	buf_free(&err);
}

/* Every new item is in place: snapshot it, and say so in the journal. */
static int
txn_applied(struct txn *t)
{
	if (snapshot(t, "applied", t->applied) == -1)
		return -1;
	say(t, "snapshot of every new item: %.12s", t->applied);
	return txn_record(t, "applied", t->applied, NULL);
}

/* The journal is done with; a failure to remove it is told, not fatal:
 * the state is consistent, and recover finishes the bookkeeping. */
static void
txn_end(struct txn *t)
{
	struct buf err = BUF_INIT;

	if (t->journaled && journal_remove(&t->j, &err) == -1)
		fprintf(stderr, "vcrotate: warning: the journal stays (%s): "
		    "vcrotate recover removes it\n", buf_str(&err));
	t->journaled = 0;
	buf_free(&err);
}

/* ---- rollback ---- */

/*
 * Puts the before snapshot back. vecs-cli needs vmafdd and LDAP needs
 * vmdird: they are started on their own first (a failed start --all may have
 * stopped short of them, or a stop --all taken them down). On success the
 * transaction is over; on failure the journal stays for recover.
 */
static int
roll_back(struct txn *t)
{
	struct buf why = BUF_INIT;
	int	 ret = -1;

	t->rolling_back = 1;
	say(t, "rolling back to snapshot %.12s", t->before);
	buf_puts(&why, buf_str(&t->err));
	buf_reset(&t->err);
	/* Best effort: a full disk must not stop the rollback itself. */
	if (txn_record(t, "rollback", NULL, NULL) == -1)
		buf_reset(&t->err);
	vmdir_close(t->vd);
	t->vd = NULL;
	services(t, "--start", "vmafdd");
	services(t, "--start", "vmdird");
	buf_reset(&t->err);
	if (backup_session_restore(t->bk, t->before, NULL, &t->err) == -1)
		goto out;
	/* The services come back as they were before: they may not have
	 * run then either (a production-down night). */
	if (restart_all(t) == -1)
		say(t, "after the rollback the services are as before: %s",
		    buf_str(&t->err));
	ret = 0;
	mark(t, t->before, "rolled back", t->after);
	txn_end(t);
out:
	if (ret == -1) {
		buf_printf(&why, "\nand the rollback failed: %s",
		    buf_str(&t->err));
	}
	buf_reset(&t->err);
	buf_puts(&t->err, buf_str(&why));
	buf_free(&why);
	return ret;
}

/* The commit point, then the outcome in the backup, then no journal. */
static int
commit(struct txn *t)
{
	/* Never a commit that recover could not finish forward. */
	if (t->applied[0] == '\0') {
		buf_printf(&t->err, "no snapshot of the new state was taken: "
		    "nothing to commit");
		return -1;
	}
	if (interrupted(t) || txn_record(t, "commit", NULL, NULL) == -1)
		return -1;
	t->rolling_back = 1;	/* past the commit point: nothing to undo */
	mark(t, t->applied, "success", t->after);
	txn_end(t);
	return 0;
}

/* ---- the command ---- */

static void
txn_free(struct txn *t)
{
	size_t	 i;

	issue_keys_abandon(t->kg);
	for (i = 0; t->made != NULL && i < t->nsteps; i++) {
		X509_free(t->made[i].cert);
		EVP_PKEY_free(t->made[i].key);
	}
	free(t->made);
	X509_free(t->root);
	EVP_PKEY_free(t->root_key);
	vmdir_close(t->vd);
	backup_session_close(t->bk);
	appliance_free(&t->app);
	vmdir_login_free(&t->login);
	if (t->tmpdir != NULL)
		rmdir(t->tmpdir);
	free(t->tmpdir);
	json_decref(t->plan);
	journal_free(&t->j);
	buf_free(&t->err);
	buf_free(&t->stopped_before);
	buf_free(&t->steps_log);
	buf_free(&t->phases_log);
}

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

static void
txn_init(struct txn *t, struct config *cfg)
{
	memset(t, 0, sizeof(*t));
	t->cfg = cfg;
	t->j.fd = -1;
	t->started = time(NULL);
	t->phase_mark = now_seconds();
	t->operator = config_operator();
	new_txn_id(t->id);
}

/* The lock and no pending journal; the exit code to leave with, or 0. */
static int
txn_lock(struct txn *t, int *lockfd)
{
	char	 who[64];

	snprintf(who, sizeof(who), "transaction %s", t->id);
	return writer_begin(t->cfg, who, 0, lockfd, &t->err);
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
 * At a terminal, the last word is the operator's: the plan was reviewed,
 * but apply restarts every service of a production appliance. Scripts
 * (no terminal) and --yes are not asked.
 */
static int __attribute__((format(printf, 2, 3)))
confirm(struct txn *t, const char *fmt, ...)
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

/* The DNs the plan's steps add to vmdir (borrowed from the plan;
 * *out malloc'd). 0, or -1 out of memory. */
static int
plan_vmdir_adds(json_t *plan, const char ***out, size_t *n)
{
	const char **dns = NULL, **nd;
	json_t	*s, *tg;
	size_t	 i, j;

	*out = NULL;
	*n = 0;
	json_array_foreach(json_object_get(plan, "steps"), i, s)
	    json_array_foreach(json_object_get(s, "targets"), j, tg) {
		const char *type = json_string_value(json_object_get(tg,
		    "type"));
		const char *action = json_string_value(json_object_get(tg,
		    "action"));
		const char *place = json_string_value(json_object_get(tg,
		    "place"));

		if (type == NULL || action == NULL || place == NULL ||
		    strcmp(type, "vmdir") != 0 || strcmp(action, "add") != 0)
			continue;
		if ((nd = reallocarray(dns, *n + 1, sizeof(*nd))) == NULL) {
			free(dns);
			*n = 0;
			return -1;
		}
		dns = nd;
		dns[(*n)++] = place;
	}
	*out = dns;
	return 0;
}

/*
 * The before snapshot, with room for it and for what follows. The applied
 * and after snapshots add at most what the before one took (git keeps an
 * unchanged item once): room for both, the journal and the staged keys,
 * or no change at all. The entries the plan adds to vmdir are recorded as
 * absent in it: a rollback or recover to it deletes them.
 */
static int
snapshot_before(struct txn *t)
{
	unsigned long long free0 = 0, free1 = 0;
	const char **adds = NULL;
	size_t	 nadds = 0;
	int	 ret = -1;

	if (plan_vmdir_adds(t->plan, &adds, &nadds) == -1) {
		buf_printf(&t->err, "out of memory");
		return -1;
	}
	if (enough_space(t, MIN_FREE_BYTES, &free0) == -1 ||
	    snapshot_absent(t, "before", adds, nadds, t->before) == -1)
		goto out;
	if (enough_space(t, 0, &free1) == -1 || enough_space(t,
	    2 * (free0 > free1 ? free0 - free1 : 0) + MIN_FREE_BYTES, NULL) ==
	    -1)
		goto out;
	ret = 0;
out:
	free(adds);
	return ret;
}

/* Whether s is 64 hexadecimal digits. */
static int
is_sha256_hex(const char *s)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return i == 64;
}

/*
 * With --expect: the plan must be the one approved, the SHA-256 plan printed
 * when it was made (any case). A plan edited and sealed again has another.
 */
static int
plan_is_expected(json_t *plan, const char *file, const char *expect,
    struct buf *err)
{
	const char *sha = json_string_value(json_object_get(plan, "sha256"));

	if (expect == NULL)
		return 0;
	if (sha == NULL || strcasecmp(sha, expect) != 0) {
		buf_printf(err, "%s is not the approved plan: its SHA-256 is "
		    "%s, --expect says %s", file, sha != NULL ? sha : "missing",
		    expect);
		return -1;
	}
	return 0;
}

int
cmd_apply(const struct cmdline *cl, struct config *cfg)
{
	struct txn t;
	struct inventory inv;
	const char *file = cl->operand[0], *result = "refused", *v;
	const char *expect = cmdline_get(cl, "--expect");
	int	 r, have_inv = 0, lockfd = -1, keep, ret = APPLY_REFUSED;
	int	 json, saved_stdout = -1, yes;

	txn_init(&t, cfg);
	t.reason = "apply";
	t.dry = cmdline_get(cl, "--dry-run") != NULL;
	keep = cmdline_get(cl, "--keep-on-failure") != NULL;
	yes = cmdline_get(cl, "--yes") != NULL;
	json = cmdline_get(cl, "--json") != NULL;
	if ((v = cmdline_get(cl, "--operator")) != NULL)
		t.operator = v;
	if ((v = cmdline_get(cl, "--ticket")) != NULL)
		t.ticket = v;
	if ((v = cmdline_get(cl, "--reason")) != NULL)
		t.reason = v;
	if ((v = cmdline_get(cl, "--restart")) != NULL) {
		if (strcmp(v, "per-step") == 0)
			t.per_step = 1;
		else if (strcmp(v, "once") != 0) {
			fprintf(stderr, "vcrotate apply: --restart must be once "
			    "or per-step, not '%s'\n", v);
			ret = EXIT_USAGE;
			goto out;
		}
	}
	if (expect != NULL && !is_sha256_hex(expect)) {
		text_printf_safe(stderr, "vcrotate apply: --expect %s: not a "
		    "SHA-256 (64 hexadecimal digits, as plan prints it)\n",
		    expect);
		ret = EXIT_USAGE;
		goto out;
	}
	cfg->warn_days = cfg->crit_days = -1;
	catch_signals();
	/* With --json, stdout carries the result document alone: progress
	 * (ours, and restore's) goes to stderr meanwhile. */
	if (json && ((saved_stdout = dup(STDOUT_FILENO)) == -1 ||
	    dup2(STDERR_FILENO, STDOUT_FILENO) == -1)) {
		text_printf_safe(stderr,
		    "vcrotate apply: %s\n", strerror(errno));
		ret = 1;
		goto out;
	}

	/* 1. preflight: read-only. The lock and a pending journal first:
	 * after a crash with the services stopped nothing else answers, and
	 * "run vcrotate recover" is what the operator must hear. */
	if (config_load(cfg, &t.err) == -1 ||
	    (t.plan = plan_load(file, &t.err)) == NULL ||
	    plan_is_expected(t.plan, file, expect, &t.err) == -1)
		goto refused;
	/* A dry run takes no lock, but says the same of a pending journal:
	 * what it would show of a half-changed appliance is no plan's. */
	if ((r = t.dry ? journal_pending(cfg->root, &t.err) :
	    txn_lock(&t, &lockfd)) != 0) {
		text_printf_safe(stderr,
		    "vcrotate apply: refused, nothing was changed: "
		    "%s\n", buf_str(&t.err));
		ret = r == 1 ? APPLY_REFUSED : r;
		goto out;
	}
	if (appliance_identify(&t.app, cfg->root, &t.err) == -1 ||
	    plan_check_appliance(t.plan, &t.app, &t.err) == -1 ||
	    config_login(cfg, &t.login, &t.err) == -1)
		goto refused;
	t.nsteps = json_array_size(json_object_get(t.plan, "steps"));
	if (start_keys(&t) == -1)
		goto refused;
	if (inventory_read(&inv, cfg->root, &t.login, NULL) == -1) {
		buf_printf(&t.err, "out of memory reading the appliance");
		goto refused;
	}
	have_inv = 1;
	if (inv.vecs_error.len || inv.vmdir_error.len || inv.vmca_error.len) {
		buf_printf(&t.err, "cannot read the appliance: %s%s%s",
		    buf_str(&inv.vecs_error), buf_str(&inv.vmdir_error),
		    buf_str(&inv.vmca_error));
		goto refused;
	}
	if (check_digests(&t, &inv) == -1 || check_restorable(&t, &inv) ==
	    -1 || load_vmca(&t) == -1)
		goto refused;
	{
		char	*sc = app_path(cfg->root, APP_SERVICE_CONTROL);
		int	 ok = sc != NULL && access(sc, X_OK) == 0;

		if (!ok)
			buf_printf(&t.err, "%s: not found", sc);
		free(sc);
		if (!ok)
			goto refused;
	}
	/* What runs now must run after (verify); the journal keeps it for
	 * recover. */
	if (services_stopped(&t, &t.stopped_before) == -1)
		goto refused;
	phase_done(&t, "preflight");
	/* 2. prepare: every new certificate made and checked */
	say(&t, "transaction %s: %zu steps from %s", t.id, t.nsteps, file);
	if (prepare(&t) == -1 || interrupted(&t))
		goto refused;
	phase_done(&t, "prepare");
	if (!t.dry && !yes && !json && confirm(&t, "Apply %zu steps to %s, "
	    "restarting every service? [y/N] ", t.nsteps, t.app.pnid) == -1)
		goto refused;
	if (t.dry) {
		printf("dry run: these changes would be made (nothing is "
		    "changed, nothing is written to the backup):\n");
		if (run_steps(&t, &inv) == -1)
			goto refused;
		result = "dry run";
		ret = APPLY_OK;
		goto out;
	}
	if ((t.tmpdir = private_dir(cfg->root, "apply", &t.err)) == NULL ||
	    backup_session_open(&t.bk, cfg, &t.err) == -1)
		goto refused;
	/* 3. the before state, then the journal: from here on an
	 * interruption of any kind is finished by vcrotate recover */
	if (snapshot_before(&t) == -1)
		goto refused;
	say(&t, "snapshot of the before state: %.12s", t.before);
	if (txn_begin(&t, "apply", NULL) == -1 || interrupted(&t))
		goto refused;
	phase_done(&t, "snapshot and journal");
	log_begins(&t, "plan", json_string_value(json_object_get(t.plan,
	    "sha256")));

	/* 4, 5: the steps, one restart, verify, the commit point */
	if ((r = run_steps(&t, &inv)) == 0) {
		struct inventory after;

		phase_done(&t, "steps");
		if ((r = verify(&t, &after)) == 0) {
			phase_done(&t, "verify");
			r = after_record(&t, &after);
			inventory_free(&after);
		}
		if (r == 0)
			r = commit(&t);
	}
	if (r == -1) {
		phase_done(&t, "until the failure");
		text_printf_safe(stderr,
		    "vcrotate apply: transaction %s failed: %s\n",
		    t.id, buf_str(&t.err));
		if (!t.changed) {
			text_printf_safe(stderr,
			    "vcrotate apply: nothing was changed\n");
			txn_end(&t);
			result = "failed, nothing changed";
			mark(&t, t.before, result, t.after);
			ret = caught ? 128 + caught : APPLY_REFUSED;
			goto out;
		}
		if (keep && !caught) {
			say(&t, "--keep-on-failure: the new certificates stay; "
			    "the before state is snapshot %.12s (vcrotate "
			    "rollback %s puts it back)", t.before, t.id);
			buf_reset(&t.err);
			snapshot(&t, "failed, kept", t.after);
			txn_end(&t);
			result = "failed, kept";
			ret = APPLY_FAILED;
			goto out;
		}
		if (roll_back(&t) == -1) {
			text_printf_safe(stderr,
			    "vcrotate apply: the rollback could not "
			    "finish: %s\nThe before state is snapshot %s and "
			    "the journal %s stays. When vmdird and vmafdd run, "
			    "finish with:\n  vcrotate recover\n",
			    buf_str(&t.err), t.before, t.j.path);
			result = "rollback incomplete";
			ret = APPLY_STUCK;
			goto out;
		}
		say(&t, "rolled back: the appliance equals snapshot %.12s",
		    t.before);
		result = "rolled back";
		ret = caught ? 128 + caught : APPLY_FAILED;
		goto out;
	}
	/* 6. done: the after state is the applied snapshot */
	say(&t, "done: transaction %s, snapshots %.12s (before) and %.12s "
	    "(after)", t.id, t.before, t.after[0] ? t.after : t.applied);
	result = "success";
	buf_reset(&t.err);
	ret = APPLY_OK;
	goto out;
refused:
	text_printf_safe(stderr,
	    "vcrotate apply: refused, nothing was changed: %s\n",
	    buf_str(&t.err));
	txn_end(&t);
	if (t.before[0] != '\0')
		mark(&t, t.before, "refused", t.after);
	ret = caught ? 128 + caught : APPLY_REFUSED;
out:
	log_outcome(&t, result, ret);
	if (saved_stdout != -1) {
		json_t	*doc;

		fflush(stdout);
		dup2(saved_stdout, STDOUT_FILENO);
		close(saved_stdout);
		/* The error may quote a tool's bytes: json_string_lossy. */
		doc = json_pack("{s:s,s:s,s:s,s:i,s:s?,s:s?,s:s?,s:i,s:I,s:o}",
		    "schema", "vcrotate.apply/1", "transaction", t.id,
		    "result", result, "exit_code", ret,
		    "before", t.before[0] ? t.before : NULL,
		    "after", t.after[0] ? t.after : ret == APPLY_OK ?
		    t.applied : NULL,
		    "plan_sha256", t.plan != NULL ? json_string_value(
		    json_object_get(t.plan, "sha256")) : NULL,
		    "steps", (int)t.nsteps,
		    "elapsed_seconds", (json_int_t)(time(NULL) - t.started),
		    "error", json_string_lossy(t.err.len > 0 ? buf_str(&t.err) :
		    NULL));
		if (doc != NULL) {
			json_dumpf(doc, stdout, JSON_INDENT(2) |
			    JSON_PRESERVE_ORDER);
			putchar('\n');
		}
		json_decref(doc);
	}
	if (have_inv)
		inventory_free(&inv);
	if (lockfd != -1)
		close(lockfd);
	txn_free(&t);
	return ret;
}

/* ---- history and rollback ---- */

/*
 * The audit records, as the backup's snapshot commits carry them in their
 * trailers, gathered by transaction: bk_repo_list goes newest first, so the
 * first commit seen of a transaction holds its outcome.
 */
struct hist_txn {
	char		*txn;
	char		*result;
	char		*operator;
	char		*ticket;
	char		*reason;
	char		*plan;
	char		*elapsed;
	char		*steps;
	char		*timings;
	long long	 when;		/* of the outcome */
	char		 outcome[41];	/* the newest snapshot */
	char		 before[41];	/* the "before" snapshot */
	json_t		*snapshots;	/* newest first */
};

/* A commit that does not authenticate: never an outcome or a before. */
struct hist_bad {
	char		 id[41];
	long long	 when;
	char		*why;
	char		*txn;		/* what it claims, may be NULL */
	char		*result;
};

struct hist {
	struct hist_txn	*v;
	size_t		 n;
	struct hist_bad	*bad;
	size_t		 nbad;
};

/* The value of trailer name in a commit message (malloc'd), or NULL. */
static char *
trailer_of(const char *message, const char *name)
{
	size_t	 n = strlen(name);
	const char *p;

	for (p = message; (p = strchr(p, '\n')) != NULL; ) {
		p++;
		if (strncmp(p, name, n) == 0 && p[n] == ':' && p[n + 1] == ' ')
			return strndup(p + n + 2, strcspn(p + n + 2, "\n"));
	}
	return NULL;
}

static int
hist_one(const char *id, long long when, const char *message,
    const char *bad, void *arg)
{
	struct hist *h = arg;
	struct hist_txn *x = NULL, *nv;
	struct hist_bad *b;
	char	*txn = trailer_of(message, "Transaction");
	char	*res = trailer_of(message, "Result");
	size_t	 i;
	int	 ret = -1;

	/* Its trailers say what a forger wrote: kept apart, named. */
	if (bad != NULL) {
		if ((b = reallocarray(h->bad, h->nbad + 1,
		    sizeof(*b))) == NULL)
			goto out;
		h->bad = b;
		b = &h->bad[h->nbad++];
		memset(b, 0, sizeof(*b));
		snprintf(b->id, sizeof(b->id), "%s", id);
		b->when = when;
		b->why = strdup(bad);
		b->txn = txn;
		b->result = res;
		return b->why != NULL ? 0 : -1;
	}
	if (txn == NULL) {
		free(res);
		return 0;	/* a snapshot taken by hand */
	}
	for (i = 0; i < h->n && x == NULL; i++)
		if (strcmp(h->v[i].txn, txn) == 0)
			x = &h->v[i];
	if (x == NULL) {
		if ((nv = reallocarray(h->v, h->n + 1, sizeof(*nv))) == NULL)
			goto out;
		h->v = nv;
		x = &h->v[h->n++];
		memset(x, 0, sizeof(*x));
		x->txn = txn;
		txn = NULL;
		x->result = res != NULL ? strdup(res) : NULL;
		x->operator = trailer_of(message, "Operator");
		x->ticket = trailer_of(message, "Ticket");
		x->reason = trailer_of(message, "Reason");
		x->plan = trailer_of(message, "Plan");
		x->elapsed = trailer_of(message, "Elapsed");
		x->steps = trailer_of(message, "Steps");
		x->timings = trailer_of(message, "Timings");
		x->when = when;
		snprintf(x->outcome, sizeof(x->outcome), "%s", id);
		if ((x->snapshots = json_array()) == NULL)
			goto out;
	}
	if (res != NULL && strcmp(res, "before") == 0)
		snprintf(x->before, sizeof(x->before), "%s", id);
	if (json_array_append_new(x->snapshots, json_pack("{s:s,s:o,s:o}",
	    "commit", id, "result", json_string_lossy(res), "time",
	    json_time((time_t)when))) == -1)
		goto out;
	ret = 0;
out:
	free(txn);
	free(res);
	return ret;
}

static void
hist_free(struct hist *h)
{
	size_t	 i;

	for (i = 0; i < h->n; i++) {
		free(h->v[i].txn);
		free(h->v[i].result);
		free(h->v[i].operator);
		free(h->v[i].ticket);
		free(h->v[i].reason);
		free(h->v[i].plan);
		free(h->v[i].elapsed);
		free(h->v[i].steps);
		free(h->v[i].timings);
		json_decref(h->v[i].snapshots);
	}
	for (i = 0; i < h->nbad; i++) {
		free(h->bad[i].why);
		free(h->bad[i].txn);
		free(h->bad[i].result);
	}
	free(h->bad);
	free(h->v);
	memset(h, 0, sizeof(*h));
}

/*
 * Reads every transaction's record from the backup: the repository only,
 * so that history answers when the appliance's tools do not (after a crash
 * with the services stopped) and makes nothing when there is no backup.
 */
static int
hist_read(struct config *cfg, struct hist *h, struct buf *err)
{
	struct bk_session *bk = NULL;
	int	 r, ret = -1;

	memset(h, 0, sizeof(*h));
	if (config_load(cfg, err) == -1 ||
	    (r = backup_session_open_read(&bk, cfg, err)) == -1)
		goto out;
	if (r == 1) {
		ret = 0;	/* no backup: no transaction */
		goto out;
	}
	if (backup_session_list(bk, hist_one, h, err) == -1) {
		if (err->len == 0)
			buf_printf(err, "out of memory");
		goto out;
	}
	ret = 0;
out:
	backup_session_close(bk);
	return ret;
}

/* The rollback that undid x as a later transaction ("undoing ... x"), or
 * NULL. */
static const char *
undone_by(const struct hist *h, const struct hist_txn *x)
{
	const char *u, *e;
	size_t	 k, n = strlen(x->txn);

	for (k = 0; k < h->n; k++) {
		if (h->v[k].reason == NULL || strncmp(h->v[k].reason,
		    "rollback of ", 12) != 0 ||
		    (u = strstr(h->v[k].reason, ", undoing ")) == NULL)
			continue;
		e = u + 10 + strcspn(u + 10, ":");
		for (u += 10; u < e; u += strcspn(u, " :") + 1)
			if ((size_t)(e - u) >= n && strncmp(u, x->txn, n) == 0 &&
			    (u[n] == ' ' || u[n] == ':' || u[n] == '\0'))
				return h->v[k].txn;
	}
	return NULL;
}

static void
hist_text(const struct hist *h)
{
	const struct hist_txn *x;
	char	 t[32];
	time_t	 tt;
	size_t	 i;

	for (i = 0; i < h->n; i++) {
		x = &h->v[i];
		tt = (time_t)x->when;
		strftime(t, sizeof(t), "%Y-%m-%d %H:%M:%S", gmtime(&tt));
		/* Trailers hold whatever the operator typed, and a backup
		 * can come from anywhere: made safe. */
		text_printf_safe(stdout, "%s UTC  %s  %-12s operator %s, "
		    "ticket %s; before %.12s -> %.12s; %s%s%s\n", t, x->txn,
		    x->result != NULL ? x->result : "?", x->operator != NULL ?
		    x->operator : "?", x->ticket != NULL ? x->ticket : "-",
		    x->before[0] != '\0' ? x->before : "(none)", x->outcome,
		    x->reason != NULL ? x->reason : "", undone_by(h, x) !=
		    NULL ? "; rolled back by " : "", undone_by(h, x) != NULL ?
		    undone_by(h, x) : "");
	}
	if (h->n == 0)
		printf("no transaction yet\n");
	for (i = 0; i < h->nbad; i++) {
		tt = (time_t)h->bad[i].when;
		strftime(t, sizeof(t), "%Y-%m-%d %H:%M:%S", gmtime(&tt));
		text_printf_safe(stdout, "%s UTC  %.12s  FORGED or damaged: "
		    "not an outcome of any transaction (it claims transaction "
		    "%s, result %s): %s\n", t, h->bad[i].id, h->bad[i].txn !=
		    NULL ? h->bad[i].txn : "-", h->bad[i].result != NULL ?
		    h->bad[i].result : "-", h->bad[i].why);
	}
}

static int
hist_json(const struct hist *h, struct buf *err)
{
	const struct hist_txn *x;
	json_t	*doc, *list, *rejected = NULL;
	size_t	 i;
	int	 ret = -1;

	if ((list = json_array()) == NULL)
		return -1;
	for (i = 0; i < h->n; i++) {
		x = &h->v[i];
		/* Trailers hold what operators typed, in any encoding. */
		if (json_array_append_new(list, json_pack("{s:o,s:o,s:o,s:o,"
		    "s:o,s:o,s:o,s:o,s:o,s:o,s:s?,s:s,s:O,s:o}",
		    "transaction", json_string_lossy(x->txn),
		    "result", json_string_lossy(x->result),
		    "time", json_time((time_t)x->when),
		    "operator", json_string_lossy(x->operator),
		    "ticket", json_string_lossy(x->ticket),
		    "reason", json_string_lossy(x->reason),
		    "plan_sha256", json_string_lossy(x->plan),
		    "elapsed", json_string_lossy(x->elapsed),
		    "steps", json_string_lossy(x->steps),
		    "timings", json_string_lossy(x->timings),
		    "before", x->before[0] != '\0' ? x->before : NULL,
		    "outcome", x->outcome, "snapshots", x->snapshots,
		    "rolled_back_by", json_string_lossy(undone_by(h, x)))) ==
		    -1) {
			buf_printf(err, "cannot make the JSON document");
			goto out;
		}
	}
	if ((rejected = json_array()) == NULL)
		goto out;
	for (i = 0; i < h->nbad; i++)
		if (json_array_append_new(rejected, json_pack("{s:s,s:o,s:o,"
		    "s:o,s:o}", "commit", h->bad[i].id, "time",
		    json_time((time_t)h->bad[i].when), "why",
		    json_string_lossy(h->bad[i].why), "claims_transaction",
		    json_string_lossy(h->bad[i].txn), "claims_result",
		    json_string_lossy(h->bad[i].result))) == -1) {
			buf_printf(err, "cannot make the JSON document");
			goto out;
		}
	if ((doc = json_pack("{s:s,s:O,s:O}", "schema", "vcrotate.history/1",
	    "transactions", list, "forged_or_damaged", rejected)) == NULL)
		goto out;
	ret = json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(doc);
out:
	json_decref(rejected);
	json_decref(list);
	return ret;
}

int
cmd_history(const struct cmdline *cl, struct config *cfg)
{
	struct hist h;
	struct buf err = BUF_INIT;
	int	 json = cmdline_get(cl, "--json") != NULL, ret = 1;

	cfg->warn_days = cfg->crit_days = -1;
	if (hist_read(cfg, &h, &err) == -1)
		text_printf_safe(stderr,
		    "vcrotate history: %s\n", buf_str(&err));
	else if (json ? hist_json(&h, &err) == -1 : (hist_text(&h), 0))
		text_printf_safe(stderr, "vcrotate history: %s\n",
		    err.len ? buf_str(&err) : "out of memory");
	else if (h.nbad > 0)
		fprintf(stderr, "vcrotate history: %zu snapshot commit%s of the "
		    "backup do%s not authenticate (FORGED or damaged): see "
		    "vcrotate backup verify\n", h.nbad, h.nbad == 1 ? "" : "s",
		    h.nbad == 1 ? "es" : "");
	else
		ret = 0;
	hist_free(&h);
	buf_free(&err);
	return ret;
}

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
		free((char *)t->reason);
		t->reason = reason;
	}
	say(t, "warning: %d entr%s changed since %s (%s) go back too", n,
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
	return confirm(t, "Roll back %s: %ld change%s to %s, restarting every "
	    "service? [y/N] ", want, n, n == 1 ? "" : "s", t->app.pnid);
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
	free((char *)t->reason);
	t->reason = r;
	return 0;
}

int
cmd_rollback(const struct cmdline *cl, struct config *cfg)
{
	struct txn t;
	struct hist h = { NULL, 0, NULL, 0 };
	const struct hist_txn *x = NULL;
	const char *want = cl->operand[0], *result = "refused", *v, *why;
	char	 before[41] = "";
	size_t	 k;
	int	 r, lockfd = -1, ret = APPLY_REFUSED, force, yes;

	txn_init(&t, cfg);
	force = cmdline_get(cl, "--force") != NULL;
	yes = cmdline_get(cl, "--yes") != NULL;
	why = cmdline_get(cl, "--reason");
	if ((v = cmdline_get(cl, "--operator")) != NULL)
		t.operator = v;
	if ((v = cmdline_get(cl, "--ticket")) != NULL)
		t.ticket = v;
	cfg->warn_days = cfg->crit_days = -1;
	catch_signals();
	if (asprintf((char **)&t.reason, "rollback of %s", want) == -1) {
		t.reason = NULL;
		goto out;
	}
	if (config_load(cfg, &t.err) == -1)
		goto refused;
	/* The lock and a pending journal before anything that needs the
	 * services (see apply). */
	if ((r = txn_lock(&t, &lockfd)) != 0) {
		ret = r == 1 ? APPLY_REFUSED : r;
		goto refused_code;
	}
	if (appliance_identify(&t.app, cfg->root, &t.err) == -1 ||
	    config_login(cfg, &t.login, &t.err) == -1)
		goto refused;
	if (backup_session_open(&t.bk, cfg, &t.err) == -1 ||
	    backup_session_list(t.bk, hist_one, &h, &t.err) == -1)
		goto refused;
	for (k = 0; k < h.n && x == NULL; k++)
		if (strcmp(h.v[k].txn, want) == 0)
			x = &h.v[k];
	for (k = 0; x == NULL && k < h.nbad; k++)
		if (h.bad[k].txn != NULL && strcmp(h.bad[k].txn, want) == 0) {
			buf_printf(&t.err, "transaction %s is claimed by a "
			    "snapshot that does not authenticate: %s", want,
			    h.bad[k].why);
			goto refused;
		}
	if (x == NULL || x->before[0] == '\0') {
		buf_printf(&t.err, "no transaction %s in the backup", want);
		goto refused;
	}
	/* Only a transaction whose new state was left in place. */
	if (x->result == NULL || (strncmp(x->result, "success", 7) != 0 &&
	    strcmp(x->result, "failed, kept") != 0)) {
		buf_printf(&t.err, "transaction %s ended \"%s\": its before "
		    "state is already what it left", want, x->result != NULL ?
		    x->result : "?");
		goto refused;
	}
	snprintf(before, sizeof(before), "%s", x->before);
	if (!yes && rollback_confirm(&t, want, before) == -1)
		goto refused;
	/* The state now is this transaction's before; the state to put back
	 * is ready from the start: recover can go either way. */
	/* What runs now, for recover --forward's check (see apply). */
	if (services_stopped(&t, &t.stopped_before) == -1 ||
	    snapshot_before(&t) == -1 ||
	    later_changes(&t, &h, x, force) == -1 ||
	    reason_add(&t, why) == -1 ||
	    txn_begin(&t, "rollback", before) == -1)
		goto refused;
	snprintf(t.applied, sizeof(t.applied), "%s", before);
	say(&t, "transaction %s: putting back the before state of %s "
	    "(snapshot %.12s)", t.id, want, before);
	log_begins(&t, "rollback of", want);
	if (change_begins(&t) == -1) {
		/* A signal before the first change: nothing to undo. */
		ret = 128 + caught;
		goto refused_code;
	}
	if (backup_session_restore(t.bk, before, NULL, &t.err) == -1) {
		text_printf_safe(stderr,
		    "vcrotate rollback: %s\n", buf_str(&t.err));
		if (roll_back(&t) == -1) {
			text_printf_safe(stderr,
			    "vcrotate rollback: %s\nThe journal %s "
			    "stays: finish with vcrotate recover\n",
			    buf_str(&t.err), t.j.path);
			ret = APPLY_STUCK;
			result = "rollback incomplete";
		} else {
			ret = caught ? 128 + caught : APPLY_FAILED;
			result = "rolled back";
		}
		goto out;
	}
	if (restart_all(&t) == -1)
		say(&t, "the services are as they were before %s: %s", want,
		    buf_str(&t.err));
	buf_reset(&t.err);
	/* Past the restore nothing is undone: the signal waits. */
	t.rolling_back = 1;
	if (txn_record(&t, "commit", NULL, NULL) == -1)
		say(&t, "warning: %s", buf_str(&t.err));
	mark(&t, before, "success", t.after);
	txn_end(&t);
	say(&t, "done");
	ret = APPLY_OK;
	result = "success";
	goto out;
refused:
	ret = APPLY_REFUSED;
refused_code:
	text_printf_safe(stderr,
	    "vcrotate rollback: refused, nothing was changed: %s\n",
	    buf_str(&t.err));
	txn_end(&t);
	if (t.before[0] != '\0')
		mark(&t, t.before, "refused", t.after);
out:
	log_outcome(&t, result, ret);
	free((char *)t.reason);
	if (lockfd != -1)
		close(lockfd);
	hist_free(&h);
	txn_free(&t);
	return ret;
}

/* ---- recover ---- */

/*
 * vcrotate recover [--back | --forward]: finishes the transaction whose
 * journal is on disk. Back (the default) puts its before snapshot back;
 * forward puts its applied snapshot back (only when the journal has one)
 * and commits; past the commit point, only forward is possible. Signals do
 * not stop it: finishing is what an interrupted operator wants. A second
 * run finds no journal and does nothing.
 */
int
cmd_recover(const struct cmdline *cl, struct config *cfg)
{
	struct txn t;
	const char *target, *result, *dir = NULL, *v;
	char	 pid[24];
	long	 changes = 0;
	const struct journal_record *last, *stopped;
	int	 r, lockfd = -1, committed, rolled, forward = 0, back = 0;
	size_t	 k;
	int	 ret = APPLY_STUCK;

	txn_init(&t, cfg);
	forward = cmdline_get(cl, "--forward") != NULL;
	back = cmdline_get(cl, "--back") != NULL;
	if (forward && back) {
		fprintf(stderr, "vcrotate recover: --back and --forward cannot "
		    "be used together\n");
		return EXIT_USAGE;
	}
	cfg->warn_days = cfg->crit_days = -1;
	catch_signals();
	t.rolling_back = 1;
	if (config_load(cfg, &t.err) == -1)
		goto fail;
	if ((r = writer_begin(cfg, "vcrotate recover", 1, &lockfd,
	    &t.err)) != 0) {
		text_printf_safe(stderr,
		    "vcrotate recover: %s\n", buf_str(&t.err));
		ret = r == 1 ? APPLY_STUCK : r;
		goto out;
	}
	if ((r = journal_load(&t.j, cfg->root, &t.err)) == 0) {
		printf("no interrupted transaction: nothing to recover\n");
		ret = APPLY_OK;
		goto out;
	}
	if (r == -1) {
		buf_printf(&t.err, "\nvcrotate history lists the snapshots; "
		    "vcrotate backup restore SNAPSHOT puts one back; then "
		    "remove the journal by hand");
		goto fail;
	}
	t.journaled = 1;
	snprintf(t.id, sizeof(t.id), "%s", (v = journal_value(&t.j,
	    "transaction")) != NULL ? v : "?");
	snprintf(t.before, sizeof(t.before), "%s", (v = journal_value(&t.j,
	    "before")) != NULL ? v : "");
	snprintf(t.applied, sizeof(t.applied), "%s", (v = journal_value(&t.j,
	    "applied")) != NULL ? v : "");
	committed = journal_find(&t.j, "commit") != NULL;
	rolled = journal_find(&t.j, "rollback") != NULL;
	/* No direction given: the one an interrupted recover had taken. */
	if (!forward && !back && (last = journal_find_last(&t.j,
	    "recover")) != NULL && last->n > 1)
		forward = strcmp(last->words[1], "forward") == 0;
	/* The outcome is the transaction's: its operator, ticket and
	 * reason stay on its record, with who finished it. */
	if ((v = journal_value(&t.j, "operator")) != NULL && *v != '\0')
		t.operator = v;
	if ((v = journal_value(&t.j, "ticket")) != NULL && *v != '\0')
		t.ticket = v;
	if (asprintf((char **)&t.reason, "%s; recovered by %s",
	    (v = journal_value(&t.j, "reason")) != NULL ? v : "apply",
	    config_operator()) == -1) {
		t.reason = NULL;
		goto fail;
	}
	if (t.before[0] == '\0') {
		buf_printf(&t.err, "%s names no before snapshot", t.j.path);
		goto fail;
	}
	if ((stopped = journal_find(&t.j, "stopped")) != NULL)
		for (k = 1; k < stopped->n; k++)
			buf_printf(&t.stopped_before, "%s%s", k > 1 ? " " : "",
			    stopped->words[k]);
	if (committed && back) {
		text_printf_safe(stderr,
		    "vcrotate recover: transaction %s passed its "
		    "commit point: it can only be finished (vcrotate recover), "
		    "then undone (vcrotate rollback %s)\n", t.id, t.id);
		ret = APPLY_REFUSED;
		goto out;
	}
	if (forward && t.applied[0] == '\0') {
		text_printf_safe(stderr,
		    "vcrotate recover: transaction %s stopped "
		    "before every new item was in place: it can only go back "
		    "(vcrotate recover --back)\n", t.id);
		ret = APPLY_REFUSED;
		goto out;
	}
	if (forward && rolled && !committed) {
		text_printf_safe(stderr,
		    "vcrotate recover: transaction %s failed and "
		    "its rollback had begun: it can only go back (vcrotate "
		    "recover --back)\n", t.id);
		ret = APPLY_REFUSED;
		goto out;
	}
	forward = forward || committed;
	target = forward ? t.applied : t.before;
	dir = forward ? "forward" : "back";
	say(&t, "transaction %s (%s, last record \"%s\"%s): %s to snapshot "
	    "%.12s", t.id, (v = journal_value(&t.j, "kind")) != NULL ? v :
	    "?", journal_last(&t.j), t.j.torn ? ", a torn record after it" :
	    "", dir, target);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	if (txn_record(&t, "recover", dir, pid) == -1)
		goto fail;
	/* vmafd-cli and vecs-cli need vmafdd, LDAP vmdird: a run killed
	 * after service-control --stop --all left them stopped. */
	services(&t, "--start", "vmafdd");
	services(&t, "--start", "vmdird");
	buf_reset(&t.err);
	if (appliance_identify(&t.app, cfg->root, &t.err) == -1 ||
	    config_login(cfg, &t.login, &t.err) == -1 ||
	    backup_session_open(&t.bk, cfg, &t.err) == -1)
		goto fail;
	if (backup_session_restore(t.bk, target, &changes, &t.err) == -1)
		goto fail;
	/* Committed, the services were restarted on the after state; else
	 * they may have been stopped, or started on a mixed one. */
	if (!committed || changes > 0) {
		if (restart_all(&t) == -1) {
			if (forward) {
				buf_printf(&t.err, "\nthe after state is in "
				    "place, but the services do not start; "
				    "vcrotate recover --back puts the before "
				    "state back");
				goto fail;
			}
			say(&t, "the services are as they were before the "
			    "transaction: %s", buf_str(&t.err));
			buf_reset(&t.err);
		}
	}
	/* Going forward commits: on what apply itself would have checked. */
	if (forward && !committed && (verify_forward(&t) == -1 ||
	    txn_record(&t, "commit", NULL, NULL) == -1)) {
		buf_printf(&t.err, "\nthe new state is not committed; vcrotate "
		    "recover --back puts the before state back");
		goto fail;
	}
	result = forward ? "success (recovered)" : "rolled back (recovered)";
	mark(&t, target, result, t.after);
	txn_end(&t);
	say(&t, "recovered: transaction %s is %s; the appliance equals "
	    "snapshot %.12s", t.id, forward ? "committed" : "rolled back",
	    target);
	syslog(LOG_NOTICE, "vcrotate: transaction %s recovered %s", t.id, dir);
	ret = APPLY_OK;
	goto out;
fail:
	text_printf_safe(stderr, "vcrotate recover: %s%s%s\n", buf_str(&t.err),
	    t.journaled ? "\nThe journal stays; run vcrotate recover again "
	    "once the cause is fixed: " : "", t.journaled ? t.j.path : "");
	ret = APPLY_STUCK;
out:
	free((char *)t.reason);
	if (lockfd != -1)
		close(lockfd);
	txn_free(&t);
	return ret;
}
