/*
 * apply.c - what apply changes, and how it checks the change: the VMCA key
 * loaded, every new key and certificate made and checked before anything
 * changes (prepare), the plan's steps executed in order through one table
 * (each write after txn_change, the applied snapshot and the one restart
 * at the restart step), and the verify. The transaction around them is
 * txn.c's; the command line and the output are cmd_apply.c's. See apply.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "apply.h"
#include "domain.h"
#include "cert.h"
#include "fileio.h"
#include "lock.h"
#include "issue.h"
#include "plan.h"
#include "safetext.h"
#include "services.h"
#include "session.h"
#include "txn.h"
#include "vcdb.h"
#include "vecs.h"
#include "vmdir.h"
#include "vsan.h"
#include "rbd.h"

/* The most issuers above a subordinate VMCA an STS credential carries. */
#define STS_CHAIN_MAX	8

/* Tries of an LDAP write when the server went away, and the first pause. */
#define LDAP_TRIES	4
#define LDAP_PAUSE_MS	500

/* ---- preflight ---- */

/*
 * The VMCA root and key that sign the new certificates, read with the
 * parsers check uses (no pass phrase prompt, the key only in a wiped buf).
 */
int
apply_load_vmca(struct apply *a)
{
	char	*cf = app_path(a->t->cfg->root, APP_VMCA_ROOT);
	char	*kf = app_path(a->t->cfg->root, APP_VMCA_KEY);
	struct buf cb = BUF_INIT, kb = BUF_INIT;
	STACK_OF(X509) *chain = NULL;
	const char *why = NULL;
	int	 ret = -1;

	if (cf == NULL || kf == NULL) {
		buf_printf(&a->t->err, "out of memory");
		goto out;
	}
	if (file_read(cf, &cb, &a->t->err) == -1)
		goto out;
	if (cert_parse_pem_chain(cb.data, cb.len, &chain, &why) == -1 ||
	    (a->root = cert_full(sk_X509_value(chain, 0))) == NULL) {
		buf_printf(&a->t->err, "%s: not a readable certificate (%s)", cf,
		    why != NULL ? why : "out of memory");
		goto out;
	}
	if (file_read(kf, &kb, &a->t->err) == -1)
		goto out;
	if (cert_parse_key((unsigned char *)kb.data, kb.len, &a->root_key,
	    &why) == -1) {
		buf_printf(&a->t->err, "%s: not a readable private key (%s)", kf,
		    why);
		goto out;
	}
	if (EVP_PKEY_eq(X509_get0_pubkey(a->root), a->root_key) != 1) {
		buf_printf(&a->t->err, "%s does not match %s", kf, cf);
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

/*
 * Starts making the keys of the plan's new certificates, on other threads,
 * while the preflight reads the appliance; prepare takes them.
 */
int
apply_start_keys(struct apply *a)
{
	int	*bits = NULL;
	size_t	 i;
	int	 ret;

	if ((bits = calloc(a->nsteps + 1, sizeof(*bits))) == NULL)
		return -1;
	for (i = 0; i < a->nsteps; i++)
		if (a->plan->steps[i].profile != NULL)
			bits[i] = a->plan->steps[i].profile->key_bits;
	ret = issue_keys_start(&a->kg, bits, a->nsteps);
	free(bits);
	if (ret == -1)
		buf_printf(&a->t->err, "out of memory");
	return ret;
}

/* Whether step i's new certificate is what apply will need: its key, a
 * chain to the root that signs it, every SAN asked for, not outliving it. */
static int
check_made(struct apply *a, size_t i, X509 *signer, STACK_OF(X509) *up)
{
	const struct cert_profile *p = a->plan->steps[i].profile;
	struct made *m = &a->made[i];
	STACK_OF(X509) *trusted = NULL, *mid = NULL;
	const char *why;
	size_t	 k;
	int	 ok, j, n = up != NULL ? sk_X509_num(up) : 0;

	/* The checks apply would otherwise learn from the services; a
	 * subordinate VMCA's up to the company root. */
	if ((trusted = sk_X509_new_null()) == NULL ||
	    (mid = sk_X509_new_null()) == NULL ||
	    !sk_X509_push(n > 0 ? mid : trusted, signer) ||
	    (n > 0 && !sk_X509_push(trusted, sk_X509_value(up, n - 1)))) {
		sk_X509_free(trusted);
		sk_X509_free(mid);
		buf_printf(&a->t->err, "out of memory");
		return -1;
	}
	for (j = 0; j + 1 < n; j++)
		sk_X509_push(mid, sk_X509_value(up, j));
	ok = cert_key_matches(m->cert, m->key) &&
	    cert_verify(m->cert, mid, trusted, time(NULL), &why);
	sk_X509_free(trusted);
	sk_X509_free(mid);
	if (!ok) {
		buf_printf(&a->t->err, "step %zu: the new certificate does not "
		    "verify against the VMCA root", i + 1);
		return -1;
	}
	for (k = 0; k < p->nsan; k++)
		if (!cert_san_has(m->cert, p->san[k].entry)) {
			buf_printf(&a->t->err, "step %zu: the new certificate "
			    "lacks %s", i + 1, p->san[k].entry);
			return -1;
		}
	if (cert_not_after(m->cert) > cert_not_after(signer)) {
		buf_printf(&a->t->err, "step %zu: the new certificate outlives its "
		    "root", i + 1);
		return -1;
	}
	return 0;
}

/*
 * Step i's imported certificate and its key (from the backup's csr-keys,
 * *s opened on first use), judged again as at now: what plan judged may
 * have expired since.
 */
static int
prepare_import(struct apply *a, size_t i, struct bk_session *s)
{
	const struct plan_step *st = &a->plan->steps[i];
	const struct plan_import *im = st->import;
	struct made *m = &a->made[i];
	struct buf key = BUF_INIT, why = BUF_INIT;
	const char *bad = NULL;
	char	*pnid = app_san_entry(a->t->app.pnid, 0);
	int	 r, ret = -1;

	if (pnid == NULL) {
		buf_printf(&a->t->err, "out of memory");
		goto out;
	}
	if (plan_import_judge(im->cert, im->chain, st->kind, pnid, time(NULL),
	    &why) == -1) {
		buf_printf(&a->t->err, "step %zu: the imported certificate: %s",
		    i + 1, buf_str(&why));
		goto out;
	}
	if (s->repo == NULL && backup_session_repo(s, 0, &a->t->err) == -1)
		goto out;
	if ((r = bk_repo_get_csr_key(s->repo, s->key, im->key_id, &key,
	    &a->t->err)) != 1) {
		if (r == 0)
			buf_printf(&a->t->err, "step %zu: its key %.16s... is not "
			    "on the backup's csr-keys branch", i + 1, im->key_id);
		goto out;
	}
	if (cert_parse_key((unsigned char *)key.data, key.len, &m->key,
	    &bad) == -1 || !cert_key_matches(im->cert, m->key)) {
		buf_printf(&a->t->err, "step %zu: its sealed key %.16s... %s",
		    i + 1, im->key_id, bad != NULL ? bad : "does not match the "
		    "certificate");
		goto out;
	}
	X509_up_ref(im->cert);
	m->cert = im->cert;
	ret = 0;
out:
	buf_free_secret(&key);
	buf_free(&why);
	free(pnid);
	return ret;
}

/* Every imported certificate with its key (prepare's). */
static int
prepare_imports(struct apply *a)
{
	struct bk_session s;
	size_t	 i;
	int	 ret = 0;

	memset(&s, 0, sizeof(s));
	s.cfg = a->t->cfg;
	bk_init();
	for (i = 0; ret == 0 && i < a->nsteps; i++)
		if (a->plan->steps[i].import != NULL &&
		    a->plan->steps[i].kind != STEP_CA_CHAIN)
			ret = prepare_import(a, i, &s);
	backup_session_clear(&s);
	bk_shutdown();
	return ret;
}

/* Makes and checks every new certificate before anything changes. */
int
apply_prepare(struct apply *a)
{
	X509	*signer = a->root;
	EVP_PKEY *signer_key = a->root_key, **keys = NULL;
	STACK_OF(X509) *up = NULL;
	size_t	 i;
	int	 ret = -1, r;

	if ((a->made = calloc(a->nsteps, sizeof(*a->made))) == NULL ||
	    (keys = calloc(a->nsteps + 1, sizeof(*keys))) == NULL) {
		buf_printf(&a->t->err, "out of memory");
		goto out;
	}
	r = issue_keys_finish(a->kg, keys);
	a->kg = NULL;
	if (r == -1) {
		buf_printf(&a->t->err, "cannot generate the new RSA keys");
		goto out;
	}
	if (prepare_imports(a) == -1)
		goto out;
	for (i = 0; i < a->nsteps; i++) {
		const struct plan_step *s = &a->plan->steps[i];
		struct made *m = &a->made[i];
		int	 root = s->kind == STEP_VMCA_ROOT;

		if (root && s->import != NULL) {
			/* The company's certificate signs what follows. */
			signer = m->cert;
			signer_key = m->key;
			up = s->import->chain;
			continue;
		}
		if (s->profile == NULL)
			continue;
		if (issue_with_key(s->profile, root ? NULL : signer, root ?
		    NULL : signer_key, time(NULL), keys[i], &m->cert, &m->key,
		    &a->t->err) == -1)
			goto out;
		keys[i] = NULL;		/* m->key owns it */
		if (root) {
			/* Everything after is signed by the new root. */
			signer = m->cert;
			signer_key = m->key;
			continue;
		}
		if (check_made(a, i, signer, up) == -1)
			goto out;
	}
	ret = 0;
out:
	for (i = 0; keys != NULL && i < a->nsteps; i++)
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

static int
vmdir_conn(struct apply *a)
{
	if (a->t->vd != NULL)
		return 0;
	return vmdir_open(&a->t->vd, &a->t->login, &a->t->err);
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
ldap_write(struct apply *a, const char *dn, enum target_action action,
    struct vmdir_attr *attrs, size_t n)
{
	struct timespec ts;
	long	 pause = LDAP_PAUSE_MS;
	int	 try, rc = -1;

	if (txn_change(a->t) == -1)
		return -1;
	for (try = 1; try <= LDAP_TRIES; try++) {
		if (try > 1) {
			txn_say(a->t, "the directory server went away (%s); trying "
			    "again in %ld ms (%d of %d)", buf_str(&a->t->err),
			    pause, try, LDAP_TRIES);
			buf_reset(&a->t->err);
			vmdir_close(a->t->vd);
			a->t->vd = NULL;
			ts.tv_sec = pause / 1000;
			ts.tv_nsec = pause % 1000 * 1000000L;
			nanosleep(&ts, NULL);
			pause *= 2;
		}
		if (vmdir_conn(a) == -1)
			continue;	/* still away */
		if (action == ACTION_ADD)
			rc = vmdir_add(a->t->vd, dn, attrs, n, &a->t->err);
		else if (action == ACTION_DELETE)
			rc = vmdir_delete(a->t->vd, dn, &a->t->err);
		else
			rc = vmdir_replace(a->t->vd, dn, attrs, n, NULL, &a->t->err);
		if (rc == 0 || !vmdir_lost(a->t->vd))
			return rc;
	}
	return -1;
}

/* ---- the writes: live, or printed by --dry-run ---- */

/*
 * What the steps write to the appliance goes through one of two tables:
 * live (vecs-cli, LDAP, the VMCA files, service-control; each write after
 * txn_change, the fault hook inside the tools' adapters), or printed (a
 * dry run: what would be written, one line per write, nothing changed).
 * The step code is one for both.
 */
struct writes {
	/* vecs-cli entry delete (replace, delete) then create (add,
	 * replace) of cert, with key unless NULL */
	int	(*vecs_put)(struct apply *, const char *store,
		    const char *alias, enum target_action,
		    const struct buf *cert, const struct buf *key);
	/* LDAP add or replace of n attributes, or delete */
	int	(*ldap)(struct apply *, const char *dn, enum target_action,
		    struct vmdir_attr *, size_t n);
	/* the VMCA key, then its root certificate */
	int	(*vmca_files)(struct apply *, const char *cpath,
		    const struct buf *cert, const char *kpath,
		    const struct buf *key);
	/* VCDB's vpx_ext rows, all in one SQL transaction */
	int	(*vcdb)(struct apply *, const struct vcdb_update *, size_t n);
	/* vsan-health's copy of vpxd-extension: the key, then the
	 * certificate (key NULL in a dry run: not read) */
	int	(*vsan)(struct apply *, const struct buf *cert,
		    const struct buf *key);
	/* Auto Deploy's vc_servers rows, all in one SQLite transaction */
	int	(*rbd)(struct apply *, const struct rbd_update *, size_t n);
	/* the restart step: the applied snapshot, then the one restart */
	int	(*restart)(struct apply *);
	/* after step i: its journal record (and, per step, a restart) */
	int	(*step_done)(struct apply *, size_t i);
};

/* Changed from the moment a write is attempted: vecs-cli may have deleted
 * the entry and still fail. */
static int
live_vecs_put(struct apply *a, const char *store, const char *alias,
    enum target_action action, const struct buf *cert, const struct buf *key)
{
	if (txn_change(a->t) == -1)
		return -1;
	if (action == ACTION_DELETE)
		return vecs_entry_delete(a->t->cfg->root, store, alias,
		    &a->t->err);
	return vecs_entry_put(a->t->cfg->root, a->tmpdir, store, alias,
	    action == ACTION_REPLACE, cert->data, cert->len,
	    key != NULL ? key->data : NULL, key != NULL ? key->len : 0,
	    &a->t->err);
}

/* Each file replaced atomically (the key first: a root.cer without its
 * key would stop VMCA, a key without its root.cer not yet). */
static int
live_vmca_files(struct apply *a, const char *cpath, const struct buf *cert,
    const char *kpath, const struct buf *key)
{
	if (txn_change(a->t) == -1 ||
	    file_write_atomic(kpath, key->data, key->len, 0600, &a->t->err) ==
	    -1 ||
	    file_write_atomic(cpath, cert->data, cert->len, 0644, &a->t->err) ==
	    -1)
		return -1;
	return 0;
}

/* One psql transaction: every row or none (the server rolls back). */
static int
live_vcdb(struct apply *a, const struct vcdb_update *u, size_t n)
{
	if (txn_change(a->t) == -1)
		return -1;
	return vcdb_update(a->t->cfg->root, u, n, &a->t->err);
}

/* Each file replaced atomically, as it is (mode, owner). */
static int
live_vsan(struct apply *a, const struct buf *cert, const struct buf *key)
{
	if (txn_change(a->t) == -1)
		return -1;
	return vsan_write(a->t->cfg->root, cert, key, &a->t->err);
}

/* One sqlite3 transaction: every row or none. */
static int
live_rbd(struct apply *a, const struct rbd_update *u, size_t n)
{
	if (txn_change(a->t) == -1)
		return -1;
	return rbd_update(a->t->cfg->root, u, n, &a->t->err);
}

static void
say_progress(void *arg, const char *msg)
{
	txn_say(arg, "%s", msg);
}

/* Whether the plan replaces the STS credential. */
static int
plan_has_sts(const struct apply *a)
{
	size_t	 i;

	for (i = 0; i < a->nsteps; i++)
		if (a->plan->steps[i].kind == STEP_STS)
			return 1;
	return 0;
}

/*
 * A new STS credential is the SSO domain's: before this node's services
 * restart with it, every other domain controller must hold it, or tokens
 * one node signs fail on another (docs/domain.md). -1 when the time is up.
 */
static int
stop_asked(void *arg)
{
	return txn_interrupted(arg);
}

static int
wait_replication(struct apply *a)
{
	struct domain_wait w = { a->replication_wait, say_progress,
	    stop_asked, a->t };

	if (!plan_has_sts(a))
		return 0;
	if (vmdir_conn(a) == -1 || domain_wait_sts(a->inv, &a->t->login,
	    a->t->vd, &w, &a->t->err) == -1)
		return -1;
	/* A signal during the last ask: no restart now. */
	return txn_interrupted(a->t) ? -1 : 0;
}

/* Every new item is in place: from here on, recover can go forward as well
 * as back. Then the one restart. */
static int
live_restart(struct apply *a)
{
	if (txn_applied(a->t) == -1)
		return -1;
	if (a->per_step) {
		txn_say(a->t, "already restarted after each step");
		return 0;
	}
	if (txn_interrupted(a->t) || wait_replication(a) == -1)
		return -1;
	/*
	 * Rollback on regression: a start --all that fails is judged by the
	 * verify, which rolls back when a service that ran before does not
	 * run now. Services that were down before (a production-down night,
	 * one of them down for another reason) may stay down. A stop that
	 * fails is a failure: the services run on what they had. With
	 * --rollback-on any-failure, a failed start is one too.
	 */
	return txn_restart_judged(a->t, a->any_failure ? NULL :
	    &a->start_failed) == -1 ? -1 : 0;
}

static int
live_step_done(struct apply *a, size_t i)
{
	char	 num[24];

	snprintf(num, sizeof(num), "%zu", i + 1);
	if (txn_record(a->t, "step", num, plan_kind_name(
	    a->plan->steps[i].kind)) == -1)
		return -1;
	if (a->per_step && a->plan->steps[i].kind != STEP_RESTART &&
	    (txn_interrupted(a->t) || (a->plan->steps[i].kind == STEP_STS &&
	    wait_replication(a) == -1) || txn_restart(a->t) == -1))
		return -1;
	return 0;
}

static const struct writes live_writes = {
	live_vecs_put, ldap_write, live_vmca_files, live_vcdb, live_vsan,
	live_rbd, live_restart, live_step_done,
};

static int
print_vecs_put(struct apply *a, const char *store, const char *alias,
    enum target_action action, const struct buf *cert, const struct buf *key)
{
	(void)a;
	(void)cert;
	if (action != ACTION_ADD)
		text_printf_safe(stdout, "    vecs-cli entry delete --store %s "
		    "--alias %s -y\n", store, alias);
	if (action != ACTION_DELETE)
		text_printf_safe(stdout, "    vecs-cli entry create --store %s "
		    "--alias %s --cert (new)%s\n", store, alias, key != NULL ?
		    " --key (new)" : "");
	return 0;
}

static int
print_ldap(struct apply *a, const char *dn, enum target_action action,
    struct vmdir_attr *attrs, size_t n)
{
	size_t	 i;

	(void)a;
	text_printf_safe(stdout, "    ldap %s %s%s", action == ACTION_ADD ?
	    "add" : action == ACTION_DELETE ? "delete" : "modify (replace)",
	    dn, n > 0 ? ":" : "");
	for (i = 0; i < n; i++)
		printf(" %s", attrs[i].name);
	putchar('\n');
	return 0;
}

static int
print_vmca_files(struct apply *a, const char *cpath, const struct buf *cert,
    const char *kpath, const struct buf *key)
{
	(void)a;
	(void)cert;
	(void)key;
	text_printf_safe(stdout, "    write %s, then %s (the new root's key, "
	    "then the root)\n", kpath, cpath);
	return 0;
}

static int
print_vcdb(struct apply *a, const struct vcdb_update *u, size_t n)
{
	size_t	 i;

	(void)a;
	printf("    psql -d VCDB -U postgres -1, one transaction: UPDATE vpx_ext "
	    "SET thumbprint = NEW WHERE ext_id = EXT AND thumbprint = OLD:\n");
	for (i = 0; i < n; i++)
		text_printf_safe(stdout, "      %s: %s -> %s\n", u[i].ext_id,
		    u[i].expect, u[i].thumbprint);
	return 0;
}

static int
print_vsan(struct apply *a, const struct buf *cert, const struct buf *key)
{
	(void)a;
	(void)cert;
	(void)key;
	printf("    write %s, then %s (vpxd-extension's key and certificate; "
	    "each keeps its mode and owner)\n", VSAN_KEY_FILE,
	    VSAN_CERT_FILE);
	return 0;
}

static int
print_rbd(struct apply *a, const struct rbd_update *u, size_t n)
{
	size_t	 i;

	(void)a;
	printf("    sqlite3 (Auto Deploy), one transaction: UPDATE vc_servers "
	    "SET thumbprint = NEW WHERE rowid = ID AND thumbprint = OLD:\n");
	for (i = 0; i < n; i++)
		text_printf_safe(stdout, "      row %ld: %s -> %s\n", u[i].id,
		    u[i].expect, u[i].thumbprint);
	return 0;
}

static int
print_restart(struct apply *a)
{
	size_t	 i;

	if (plan_has_sts(a) && a->replication_wait > 0)
		for (i = 0; i < a->inv->nnodes; i++)
			if (a->inv->nodes[i].dc && !a->inv->nodes[i].self)
				text_printf_safe(stdout, "    wait (at most %d "
				    "s) until %s holds the new STS credential "
				    "(vmdir replication)\n", a->replication_wait,
				    a->inv->nodes[i].pnid);
	printf("    service-control --stop --all; service-control --start "
	    "--all\n");
	return 0;
}

static int
print_step_done(struct apply *a, size_t i)
{
	(void)a;
	(void)i;
	return 0;
}

static const struct writes printed_writes = {
	print_vecs_put, print_ldap, print_vmca_files, print_vcdb, print_vsan,
	print_rbd, print_restart, print_step_done,
};

/* Replaces (or adds) a VECS entry with a new certificate and its key. */
static int
vecs_put(struct apply *a, const char *place, enum target_action action,
    X509 *leaf, X509 *root, int with_root, EVP_PKEY *key)
{
	struct buf cert = BUF_INIT, k = BUF_INIT;
	char	*store = NULL;
	const char *alias;
	int	 ret = -1;

	if (split_place(place, &store, &alias) == -1) {
		buf_printf(&a->t->err, "%s: not STORE/ALIAS", place);
		goto out;
	}
	if (chain_pem(leaf, root, with_root, &cert) == -1 ||
	    pem_of_key(key, &k) == -1) {
		buf_printf(&a->t->err, "%s: cannot encode the new certificate "
		    "or key", place);
		goto out;
	}
	ret = a->w->vecs_put(a, store, alias, action, &cert, &k);
out:
	buf_free(&cert);
	buf_free_secret(&k);
	free(store);
	return ret;
}

/* An add writes nattrs attributes, a replace the first nnew of them. */
static int
ldap_put(struct apply *a, const char *dn, enum target_action action,
    struct vmdir_attr *attrs, size_t nattrs, size_t nnew)
{
	return a->w->ldap(a, dn, action, attrs, action == ACTION_ADD ? nattrs :
	    nnew);
}

static int
ldap_del(struct apply *a, const char *dn)
{
	return a->w->ldap(a, dn, ACTION_DELETE, NULL, 0);
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
step_sts(struct apply *a, size_t n)
{
	const struct plan_step *s = &a->plan->steps[n];
	struct made *m = &a->made[n];
	struct vmdir_value certs[2 + STS_CHAIN_MAX], keyv, cnv, ocv[2];
	struct vmdir_attr attrs[3];
	struct buf keyder = BUF_INIT;
	unsigned char *leaf = NULL, *root = NULL, *up[STS_CHAIN_MAX] = { NULL };
	size_t	 ll, rl, i, nc = 2;
	int	 k, ret = -1;

	if (der_of_cert(m->cert, &leaf, &ll) == -1 ||
	    der_of_cert(a->root, &root, &rl) == -1 ||
	    der_of_key(m->key, &keyder) == -1) {
		buf_printf(&a->t->err, "cannot encode the new STS credential");
		goto out;
	}
	/* The leaf first, then the chain in the order of root.cer. */
	certs[0].data = leaf;
	certs[0].len = ll;
	certs[1].data = root;
	certs[1].len = rl;
	/* A subordinate VMCA's: then its issuers up to the company root. */
	for (k = 0; a->root_chain != NULL && k < sk_X509_num(a->root_chain) &&
	    k < STS_CHAIN_MAX; k++, nc++)
		if (der_of_cert(sk_X509_value(a->root_chain, k), &up[k],
		    &certs[nc].len) == -1) {
			buf_printf(&a->t->err, "cannot encode the VMCA chain");
			goto out;
		} else
			certs[nc].data = up[k];
	keyv.data = (unsigned char *)keyder.data;
	keyv.len = keyder.len;
	/* New entries first, deletions last: the domain is never left
	 * without a signing credential (VMware's script does it the other
	 * way round). */
	for (i = 0; i < s->ntargets; i++) {
		const char *dn = s->targets[i].place;
		enum target_action action = s->targets[i].action;
		int	 cred = strncasecmp(dn, "cn=TenantCredential-", 20) == 0;
		char	*cn;

		if (action == ACTION_DELETE)
			continue;
		attr_set(&attrs[0], "userCertificate", certs, nc);
		attr_set(&attrs[1], "vmwSTSPrivateKey", &keyv, 1);
		if ((cn = first_cn(dn)) == NULL) {
			buf_printf(&a->t->err, "%s: not a cn= DN", dn);
			goto out;
		}
		str_value(&cnv, cn);
		if (action == ACTION_ADD) {
			struct vmdir_attr all[4];

			classes(&all[0], ocv, cred ? "vmwSTSTenantCredential" :
			    "vmwSTSTenantTrustedCertificateChain");
			attr_set(&all[1], "cn", &cnv, 1);
			all[2] = attrs[0];
			all[3] = attrs[1];
			ret = ldap_put(a, dn, action, all, cred ? 4 : 3, 0);
		} else
			ret = ldap_put(a, dn, action, attrs, 2, cred ? 2 : 1);
		free(cn);
		if (ret == -1)
			goto out;
	}
	for (i = 0; i < s->ntargets; i++)
		if (s->targets[i].action == ACTION_DELETE &&
		    ldap_del(a, s->targets[i].place) == -1)
			goto out;
	ret = 0;
out:
	free(leaf);
	free(root);
	for (k = 0; k < STS_CHAIN_MAX; k++)
		free(up[k]);
	buf_free_secret(&keyder);
	return ret;
}

static int
step_solution_user(struct apply *a, size_t n)
{
	const struct plan_step *s = &a->plan->steps[n];
	struct made *m = &a->made[n];
	struct vmdir_value cv, sv;
	struct vmdir_attr attrs[2];
	unsigned char *der = NULL;
	char	*sdn = NULL;
	size_t	 dl, i;
	int	 ret = -1;

	if (der_of_cert(m->cert, &der, &dl) == -1 ||
	    (sdn = cert_subject_rfc2253(m->cert)) == NULL) {
		buf_printf(&a->t->err, "cannot encode the new solution-user "
		    "certificate");
		goto out;
	}
	cv.data = der;
	cv.len = dl;
	str_value(&sv, sdn);
	for (i = 0; i < s->ntargets; i++) {
		const char *place = s->targets[i].place;
		enum target_action action = s->targets[i].action;

		if (s->targets[i].type == TARGET_VECS) {
			if (vecs_put(a, place, action, m->cert, a->root, 0,
			    m->key) == -1)
				goto out;
			continue;
		}
		attr_set(&attrs[0], "userCertificate", &cv, 1);
		attr_set(&attrs[1], "vmwSTSSubjectDN", &sv, 1);
		if (action == ACTION_ADD) {
			/* A missing principal is registered anew. */
			struct vmdir_value oc[2], cn;
			struct vmdir_attr all[5];
			char	*c = first_cn(place);
			int	 rc;

			if (c == NULL) {
				buf_printf(&a->t->err, "%s: not a cn= DN", place);
				goto out;
			}
			str_value(&cn, c);
			classes(&all[0], oc, "vmwServicePrincipal");
			attr_set(&all[1], "cn", &cn, 1);
			attr_set(&all[2], "sAMAccountName", &cn, 1);
			all[3] = attrs[0];
			all[4] = attrs[1];
			rc = ldap_put(a, place, ACTION_ADD, all, 5, 0);
			free(c);
			if (rc == -1)
				goto out;
		} else if (ldap_put(a, place, ACTION_REPLACE, attrs, 2, 2) ==
		    -1)
			goto out;
	}
	ret = 0;
out:
	free(der);
	free(sdn);
	return ret;
}

/* Step n's new certificate into each of its VECS targets (with_root: its
 * chain too, as Machine SSL holds it). */
static int
vecs_put_all(struct apply *a, size_t n, int with_root)
{
	const struct plan_step *s = &a->plan->steps[n];
	size_t	 i;

	for (i = 0; i < s->ntargets; i++)
		if (vecs_put(a, s->targets[i].place, s->targets[i].action,
		    a->made[n].cert, a->root, with_root, a->made[n].key) == -1)
			return -1;
	return 0;
}

/* An imported Machine SSL certificate: the entry holds it and its chain
 * up to the root, as the VMCA one holds it and the VMCA root. */
static int
import_put_all(struct apply *a, size_t n)
{
	const struct plan_step *s = &a->plan->steps[n];
	struct buf cert = BUF_INIT, k = BUF_INIT;
	char	*store = NULL;
	const char *alias;
	size_t	 i;
	int	 j, ret = -1;

	if (pem_of_cert(a->made[n].cert, &cert) == -1 ||
	    pem_of_key(a->made[n].key, &k) == -1)
		goto enc;
	for (j = 0; j < sk_X509_num(s->import->chain); j++)
		if (pem_of_cert(sk_X509_value(s->import->chain, j), &cert) == -1)
			goto enc;
	for (i = 0; i < s->ntargets; i++) {
		if (split_place(s->targets[i].place, &store, &alias) == -1) {
			buf_printf(&a->t->err, "%s: not STORE/ALIAS",
			    s->targets[i].place);
			goto out;
		}
		if (a->w->vecs_put(a, store, alias, s->targets[i].action, &cert,
		    &k) == -1)
			goto out;
		free(store);
		store = NULL;
	}
	ret = 0;
	goto out;
enc:
	buf_printf(&a->t->err, "cannot encode the imported certificate or its "
	    "key");
out:
	free(store);
	buf_free(&cert);
	buf_free_secret(&k);
	return ret;
}

static int
step_machine_ssl(struct apply *a, size_t n)
{
	if (a->plan->steps[n].import != NULL)
		return import_put_all(a, n);
	return vecs_put_all(a, n, 1);
}

static int
step_data_encipherment(struct apply *a, size_t n)
{
	return vecs_put_all(a, n, 0);
}

/* The Machine SSL certificate the endpoints must trust: the new one if
 * the plan makes one, else the one in VECS now. */
static X509 *
machine_ssl(struct apply *a, const struct inventory *inv)
{
	const struct inv_vecs_entry *e;
	size_t	 i;

	for (i = 0; i < a->nsteps; i++)
		if (a->plan->steps[i].kind == STEP_MACHINE_SSL)
			return a->made[i].cert;
	e = inventory_vecs(inv, "MACHINE_SSL_CERT", "__MACHINE_CERT");
	return e != NULL && e->chain != NULL ? sk_X509_value(e->chain, 0) :
	    NULL;
}

static int
step_trust(struct apply *a, size_t n)
{
	const struct plan_step *s = &a->plan->steps[n];
	const struct inventory *inv = a->inv;
	X509	*live = machine_ssl(a, inv);
	unsigned char *der = NULL;
	char	*b64 = NULL;
	struct vmdir_value v;
	struct vmdir_attr attr;
	size_t	 dl, i, k;
	int	 ret = -1;

	if (live == NULL) {
		buf_printf(&a->t->err, "no Machine SSL certificate for the "
		    "endpoints to trust");
		goto out;
	}
	if (der_of_cert(live, &der, &dl) == -1 ||
	    (b64 = malloc(4 * ((dl + 2) / 3) + 1)) == NULL) {
		buf_printf(&a->t->err, "out of memory encoding the Machine SSL "
		    "certificate");
		goto out;
	}
	EVP_EncodeBlock((unsigned char *)b64, der, (int)dl);
	for (i = 0; i < s->ntargets; i++) {
		const char *dn = s->targets[i].place;
		int	 legacy = 0;

		for (k = 0; k < inv->nendpoints; k++)
			if (strcasecmp(inv->endpoints[k].dn, dn) == 0)
				legacy = inv->endpoints[k].legacy;
		/* Legacy endpoints hold DER; the others one line of base64. */
		if (legacy) {
			v.data = der;
			v.len = dl;
			attr_set(&attr, "vmwLKUPSslTrustAnchor", &v, 1);
		} else {
			v.data = (unsigned char *)b64;
			v.len = strlen(b64);
			attr_set(&attr, "vmwLKUPEndpointSslTrust", &v, 1);
		}
		if (ldap_put(a, dn, ACTION_REPLACE, &attr, 1, 1) == -1)
			goto out;
	}
	ret = 0;
out:
	free(der);
	free(b64);
	return ret;
}

static int
step_prune(struct apply *a, size_t n)
{
	const struct plan_step *s = &a->plan->steps[n];
	size_t	 i;

	for (i = 0; i < s->ntargets; i++) {
		const char *place = s->targets[i].place;
		char	*store = NULL;
		const char *alias;
		int	 rc;

		if (s->targets[i].type == TARGET_VMDIR) {
			if (ldap_del(a, place) == -1)
				return -1;
			continue;
		}
		if (split_place(place, &store, &alias) == -1)
			return -1;
		rc = a->w->vecs_put(a, store, alias, ACTION_DELETE, NULL, NULL);
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
step_root(struct apply *a, size_t n)
{
	struct made *m = &a->made[n];
	const struct plan_import *imp = a->plan->steps[n].import;
	struct buf pem = BUF_INIT, key = BUF_INIT, file = BUF_INIT;
	struct vmdir_value oc[8], v[3];	/* a model's first 8 classes */
	struct vmdir_attr attrs[CA_NATTRS];
	unsigned char *der = NULL;
	char	*alias = NULL, *ski = NULL, *subject = NULL, *dn = NULL;
	char	*cpath = app_path(a->t->cfg->root, APP_VMCA_ROOT);
	char	*kpath = app_path(a->t->cfg->root, APP_VMCA_KEY);
	size_t	 dl, nattrs;
	int	 k, ret = -1;

	if (cpath == NULL || kpath == NULL ||
	    (alias = cert_sha1_hex(m->cert)) == NULL ||
	    pem_of_cert(m->cert, &pem) == -1 ||
	    der_of_cert(m->cert, &der, &dl) == -1 ||
	    ca_entry_attrs(inventory_ca_model(a->inv), m->cert, &pem, der, dl, oc,
	    sizeof(oc) / sizeof(oc[0]), v, attrs, &ski, &subject,
	    &nattrs) == -1) {
		buf_printf(&a->t->err, "cannot encode the new VMCA root's CA "
		    "entry (no subject key id, or out of memory)");
		goto out;
	}
	if (asprintf(&dn, "cn=%s," VMDIR_RDN_CAS ",%s", ski,
	    a->t->app.domain_dn) == -1) {
		dn = NULL;
		goto out;
	}
	if (pem_of_key(m->key, &key) == -1 || pem_of_cert(m->cert, &file) == -1)
		goto out;
	/* A subordinate VMCA's root.cer holds its chain after it, as
	 * certificate-manager option 2 writes it. */
	for (k = 0; imp != NULL && k < sk_X509_num(imp->chain); k++)
		if (pem_of_cert(sk_X509_value(imp->chain, k), &file) == -1)
			goto out;
	/* Publish first, then switch the files: a root is trusted before
	 * anything it signs is installed. */
	if (a->w->vecs_put(a, "TRUSTED_ROOTS", alias, ACTION_ADD, &pem,
	    NULL) == -1 ||
	    ldap_put(a, dn, ACTION_ADD, attrs, nattrs, 0) == -1 ||
	    a->w->vmca_files(a, cpath, &file, kpath, &key) == -1)
		goto out;
	a->root_chain = imp != NULL ? imp->chain : NULL;
	/* Everything after is signed by, and chains to, the new root. */
	X509_free(a->root);
	EVP_PKEY_free(a->root_key);
	X509_up_ref(m->cert);
	EVP_PKEY_up_ref(m->key);
	a->root = m->cert;
	a->root_key = m->key;
	ret = 0;
out:
	buf_free(&pem);
	buf_free(&file);
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

/* The certificate of the step's import a target publishes: by the SHA-1
 * alias (TRUSTED_ROOTS) or the key id in the DN (vmdir), as plan named
 * it (load.c has checked that each target names one). */
static X509 *
ca_of(const struct plan_step *s, const struct plan_target *t)
{
	X509	*x, *found = NULL;
	char	*name;
	const char *want = t->type == TARGET_VECS ? strchr(t->place, '/') + 1 :
	    t->place + 3;
	int	 k;

	for (k = 0; found == NULL && k < sk_X509_num(s->import->chain); k++) {
		x = sk_X509_value(s->import->chain, k);
		name = t->type == TARGET_VECS ? cert_sha1_hex(x) :
		    cert_ski_hex(x, 0);
		if (name != NULL && strncasecmp(want, name, strlen(name)) == 0 &&
		    (t->type == TARGET_VECS ? want[strlen(name)] == '\0' :
		    want[strlen(name)] == ','))
			found = x;
		free(name);
	}
	return found;
}

/* One CA of a company chain into vmdir's Certificate-Authorities, in the
 * appliance's own entry form (as a new VMCA root goes there). */
static int
ca_entry_add(struct apply *a, const char *dn, X509 *x)
{
	struct buf pem = BUF_INIT;
	struct vmdir_value oc[8], v[3];	/* a model's first 8 classes */
	struct vmdir_attr attrs[CA_NATTRS];
	unsigned char *der = NULL;
	char	*ski = NULL, *subject = NULL;
	size_t	 dl, nattrs;
	int	 ret = -1;

	if (pem_of_cert(x, &pem) == -1 || der_of_cert(x, &der, &dl) == -1 ||
	    ca_entry_attrs(inventory_ca_model(a->inv), x, &pem, der, dl, oc,
	    sizeof(oc) / sizeof(oc[0]), v, attrs, &ski, &subject,
	    &nattrs) == -1) {
		buf_printf(&a->t->err, "%s: cannot encode the CA entry", dn);
		goto out;
	}
	ret = ldap_put(a, dn, ACTION_ADD, attrs, nattrs, 0);
out:
	buf_free(&pem);
	free(der);
	free(ski);
	free(subject);
	return ret;
}

/*
 * A company CA chain published before the certificates it issued are
 * installed: TRUSTED_ROOTS first, then vmdir (whose CA entries vmafdd
 * copies into TRUSTED_ROOTS under the same alias while it runs).
 */
static int
step_ca_chain(struct apply *a, size_t n)
{
	const struct plan_step *s = &a->plan->steps[n];
	struct buf pem = BUF_INIT;
	size_t	 i;
	int	 pass, ret = -1;
	X509	*x;

	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < s->ntargets; i++) {
			const struct plan_target *t = &s->targets[i];

			if ((t->type == TARGET_VECS) != (pass == 0))
				continue;
			if ((x = ca_of(s, t)) == NULL) {
				buf_printf(&a->t->err, "%s: no CA of the step "
				    "is named so", t->place);
				goto out;
			}
			buf_reset(&pem);
			if (pass == 0 && (pem_of_cert(x, &pem) == -1 ||
			    a->w->vecs_put(a, "TRUSTED_ROOTS", t->place + 14,
			    ACTION_ADD, &pem, NULL) == -1))
				goto out;
			if (pass == 1 && ca_entry_add(a, t->place, x) == -1)
				goto out;
		}
	ret = 0;
out:
	buf_free(&pem);
	return ret;
}

/*
 * The certificate a VCDB row follows (STORE/ALIAS) once the steps before
 * are done: the one a step of this plan made, else the one in VECS now.
 */
static X509 *
followed_cert(struct apply *a, const char *follows)
{
	const struct inv_vecs_entry *e;
	size_t	 i, l;

	for (i = 0; i < a->nsteps; i++) {
		const struct plan_step *s = &a->plan->steps[i];

		if (s->kind == STEP_MACHINE_SSL && strcmp(follows,
		    "MACHINE_SSL_CERT/__MACHINE_CERT") == 0)
			return a->made[i].cert;
		if (s->kind == STEP_SOLUTION_USER && s->solution != NULL &&
		    strncmp(follows, s->solution, l = strlen(s->solution)) ==
		    0 && follows[l] == '/')
			return a->made[i].cert;
	}
	for (i = 0; i < a->inv->nvecs; i++) {
		e = &a->inv->vecs[i];
		l = strlen(e->store);
		if (strncmp(follows, e->store, l) == 0 && follows[l] == '/' &&
		    strcmp(follows + l + 1, e->alias) == 0)
			return e->chain != NULL ? sk_X509_value(e->chain, 0) :
			    NULL;
	}
	return NULL;
}

/*
 * VCDB's rows: each gets the thumbprint of the certificate it follows, in
 * one SQL transaction, and only where it still holds what the plan saw.
 */
static int
step_vcdb(struct apply *a, size_t n)
{
	const struct plan_step *s = &a->plan->steps[n];
	struct vcdb_update *u = NULL;
	char	**tp = NULL;
	X509	*x;
	size_t	 i;
	int	 ret = -1;

	if ((u = calloc(s->ntargets, sizeof(*u))) == NULL ||
	    (tp = calloc(s->ntargets, sizeof(*tp))) == NULL) {
		buf_printf(&a->t->err, "out of memory");
		goto out;
	}
	for (i = 0; i < s->ntargets; i++) {
		const struct plan_target *t = &s->targets[i];

		if ((x = followed_cert(a, t->follows)) == NULL ||
		    (tp[i] = cert_sha1_colons(x)) == NULL) {
			buf_printf(&a->t->err, "%s: no certificate %s to take "
			    "the thumbprint of", t->place, t->follows);
			goto out;
		}
		u[i].ext_id = vcdb_place_ext(t->place);
		u[i].thumbprint = tp[i];
		u[i].expect = t->thumbprint;
	}
	ret = a->w->vcdb(a, u, s->ntargets);
out:
	for (i = 0; tp != NULL && i < s->ntargets; i++)
		free(tp[i]);
	free(tp);
	free(u);
	return ret;
}

/*
 * Auto Deploy's rows: each gets the thumbprint of the Machine SSL
 * certificate (this plan's, else VECS's), in one SQLite transaction, and
 * only where it still holds what the plan saw.
 */
static int
step_rbd(struct apply *a, size_t n)
{
	const struct plan_step *s = &a->plan->steps[n];
	struct rbd_update *u = NULL;
	char	*tp = NULL;
	X509	*x;
	size_t	 i;
	int	 ret = -1;

	if ((x = followed_cert(a, RBD_FOLLOWS)) == NULL ||
	    (tp = cert_sha1_colons(x)) == NULL) {
		buf_printf(&a->t->err, "Auto Deploy: no certificate %s to take "
		    "the thumbprint of", RBD_FOLLOWS);
		goto out;
	}
	if ((u = calloc(s->ntargets, sizeof(*u))) == NULL) {
		buf_printf(&a->t->err, "out of memory");
		goto out;
	}
	for (i = 0; i < s->ntargets; i++) {
		u[i].id = rbd_place_id(s->targets[i].place);
		u[i].thumbprint = tp;
		u[i].expect = s->targets[i].thumbprint;
	}
	ret = a->w->rbd(a, u, s->ntargets);
out:
	free(tp);
	free(u);
	return ret;
}

/*
 * vsan-health's copy: the vpxd-extension certificate (the leaf, as the
 * field tools copy certool's) and key this plan made, else the ones VECS
 * holds now (a stale copy), read with vecs-cli getkey.
 */
static int
step_vsan(struct apply *a, size_t n)
{
	struct buf cert = BUF_INIT, key = BUF_INIT;
	EVP_PKEY *made_key = NULL;
	X509	*x;
	size_t	 i;
	int	 ret = -1;

	(void)n;
	for (i = 0; i < a->nsteps; i++)
		if (a->plan->steps[i].kind == STEP_SOLUTION_USER &&
		    a->plan->steps[i].solution != NULL &&
		    strcmp(a->plan->steps[i].solution, "vpxd-extension") == 0)
			made_key = a->made[i].key;
	if ((x = followed_cert(a, VSAN_FOLLOWS)) == NULL) {
		buf_printf(&a->t->err, "%s: no certificate %s to copy",
		    VSAN_CERT_FILE, VSAN_FOLLOWS);
		goto out;
	}
	if (pem_of_cert(x, &cert) == -1 || (made_key != NULL &&
	    pem_of_key(made_key, &key) == -1)) {
		buf_printf(&a->t->err, "out of memory");
		goto out;
	}
	if (made_key == NULL && !a->dry && vecs_getkey(a->t->cfg->root,
	    "vpxd-extension", "vpxd-extension", &key, &a->t->err) == -1)
		goto out;
	ret = a->w->vsan(a, &cert, &key);
out:
	buf_free(&cert);
	buf_free_secret(&key);
	return ret;
}

/* Every new item is in place: from here on, recover can go forward as well
 * as back. Then the one restart. */
static int
step_restart(struct apply *a, size_t n)
{
	(void)n;
	return a->w->restart(a);
}

/* The executor of each kind of step: step n of the plan. */
static int (*const run[STEP__MAX])(struct apply *a, size_t n) = {
	[STEP_CA_CHAIN] = step_ca_chain,
	[STEP_VMCA_ROOT] = step_root,
	[STEP_STS] = step_sts,
	[STEP_SOLUTION_USER] = step_solution_user,
	[STEP_DATA_ENCIPHERMENT] = step_data_encipherment,
	[STEP_MACHINE_SSL] = step_machine_ssl,
	[STEP_TRUST_ANCHORS] = step_trust,
	[STEP_PRUNE_ROOTS] = step_prune,
	[STEP_EXTENSION_THUMBPRINTS] = step_vcdb,
	[STEP_VSAN_HEALTH] = step_vsan,
	[STEP_AUTODEPLOY] = step_rbd,
	[STEP_RESTART] = step_restart,
};

int
apply_steps(struct apply *a, const struct inventory *inv)
{
	size_t	 i;
	int	 rc = 0;

	a->inv = inv;
	a->w = a->dry ? &printed_writes : &live_writes;
	for (i = 0; i < a->nsteps; i++) {
		const struct plan_step *s = &a->plan->steps[i];
		const char *kind = plan_kind_name(s->kind);
		double	 t0 = txn_now();

		txn_say(a->t, "step %zu of %zu: %s", i + 1, a->nsteps, s->title);
		rc = run[s->kind](a, i);
		buf_printf(&a->t->steps_log, "%s%zu %s %s%.2fs", a->t->steps_log.len ?
		    ", " : "", i + 1, kind, rc == -1 ? "failed after " : "",
		    txn_now() - t0);
		if (rc == -1 || a->w->step_done(a, i) == -1)
			return -1;
	}
	return 0;
}

/* ---- verify ---- */

/*
 * The journal's "after" record: every item's digest as the appliance now
 * holds it, in the order of the item records (each item's before and after
 * digest, for the audit; recover goes by the snapshots). "-" where the
 * inventory keeps no digest (the VMCA key).
 */
int
apply_after_record(struct apply *a, const struct inventory *inv)
{
	const struct plan_step *s;
	const char **w = NULL, *d;
	size_t	 n = 1, i, k;
	int	 ret;

	for (i = 0; i < a->nsteps; i++)
		n += a->plan->steps[i].ntargets;
	if ((w = calloc(n, sizeof(*w))) == NULL) {
		buf_printf(&a->t->err, "out of memory");
		return -1;
	}
	n = 0;
	w[n++] = "after";
	for (i = 0; i < a->nsteps; i++)
		for (s = &a->plan->steps[i], k = 0; k < s->ntargets; k++) {
			if (s->targets[k].type == TARGET_SERVICES)
				continue;
			d = plan_live_digest(inv, s, &s->targets[k]);
			w[n++] = d != NULL ? d : "-";
		}
	ret = txn_record_words(a->t, w, n);
	free(w);
	return ret;
}

/*
 * Phase 5, the checks: services, the TLS endpoint, a fresh plan with
 * nothing to do. On success *after is the appliance as read for it (the
 * caller frees it).
 */
static int
checks(struct apply *a, struct inventory *after)
{
	struct plan_policy pol;
	json_t	*again, *held = NULL;
	size_t	 i;
	int	 nothing = 0, ret = -1;

	txn_say(a->t, "verifying");
	if (services_as_before(a->t->cfg->root, buf_str(&a->t->stopped_before),
	    &a->t->err) == -1)
		return -1;
	for (i = 0; i < a->nsteps; i++)
		if (a->plan->steps[i].kind == STEP_MACHINE_SSL &&
		    txn_serves(a->t, a->made[i].cert, "the new Machine SSL "
		    "certificate") == -1)
			return -1;
	/* A fresh plan under the same policy must find nothing to do, from a
	 * complete reading of the appliance. */
	if (inventory_read(after, a->t->cfg->root, &a->t->login, NULL,
	    0) == -1) {
		buf_printf(&a->t->err, "cannot read the appliance again: out of "
		    "memory");
		return -1;
	}
	if (after->vecs_error.len || after->vmdir_error.len ||
	    after->vmca_error.len || after->vcdb_error.len ||
	    after->rbd_error.len) {
		buf_printf(&a->t->err, "cannot read the appliance again: "
		    "%s%s%s%s%s", buf_str(&after->vecs_error),
		    buf_str(&after->vmdir_error), buf_str(&after->vmca_error),
		    buf_str(&after->vcdb_error), buf_str(&after->rbd_error));
		inventory_free(after);
		return -1;
	}
	memset(&pol, 0, sizeof(pol));
	pol.at = time(NULL);
	pol.renew_within = a->plan->policy.renew_within;
	pol.scope = a->plan->policy.scope;
	/* A window as long as the new certificates live (--renew-within
	 * 100000 renews everything) would call them due again: judge them
	 * on what they are, over less than their life. */
	for (i = 0; i < a->nsteps; i++)
		if (a->made != NULL && a->made[i].cert != NULL &&
		    cert_days_left(a->made[i].cert, pol.at) - 1 <
		    pol.renew_within)
			pol.renew_within = (int)cert_days_left(a->made[i].cert,
			    pol.at) - 1;
	if (pol.renew_within < 0)
		pol.renew_within = 0;
	pol.key_bits = a->plan->policy.key_bits;
	pol.validity_days = a->plan->policy.validity_days;
	if (pol.scope == SCOPE_ROOT)
		pol.scope = SCOPE_ALL;
	again = plan_build(after, &pol, &nothing, &held);
	json_decref(held);
	if (again != NULL) {
		buf_printf(&a->t->err, "after the change a new plan still has "
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

int
apply_verify(struct apply *a, struct inventory *after)
{
	if (checks(a, after) == -1) {
		if (a->start_failed.len > 0)
			buf_printf(&a->t->err, "\n(the restart before it: %s)",
			    buf_str(&a->start_failed));
		return -1;
	}
	/* The start failed, and nothing that ran before is down: what is
	 * down now and was before is named, and the outcome says so. */
	if (a->start_failed.len > 0) {
		struct buf	down = BUF_INIT;
		int		ret;

		/* A manual service down before is no part of the failure. */
		if ((ret = txn_still_down(a->t, &down)) == 0 &&
		    (ret = services_failed_to_start(buf_str(&down),
		    buf_str(&a->start_failed), &a->still_down)) == -1)
			buf_printf(&a->t->err, "out of memory");
		buf_free(&down);
		if (ret == -1) {
			inventory_free(after);
			return -1;
		}
		if (a->still_down.len > 0)
			a->t->success = "success, services down before still "
			    "down";
	}
	return 0;
}

void
apply_free(struct apply *a)
{
	size_t	 i;

	issue_keys_abandon(a->kg);
	for (i = 0; a->made != NULL && i < a->nsteps; i++) {
		X509_free(a->made[i].cert);
		EVP_PKEY_free(a->made[i].key);
	}
	free(a->made);
	X509_free(a->root);
	EVP_PKEY_free(a->root_key);
	if (a->tmpdir != NULL)
		rmdir(a->tmpdir);
	free(a->tmpdir);
	plan_free(a->plan);
	buf_free(&a->still_down);
	buf_free(&a->start_failed);
	memset(a, 0, sizeof(*a));
}

/* ---- the plan as one transaction: apply's and renew's ---- */

int
apply_read(struct apply *a, struct inventory *inv)
{
	struct txn *t = a->t;

	txn_vcdb(t);
	if (inventory_read(inv, t->cfg->root, &t->login, NULL, 0) == -1) {
		buf_printf(&t->err, "out of memory reading the appliance");
		return -1;
	}
	a->inv = inv;
	if (inv->vecs_error.len || inv->vmdir_error.len ||
	    inv->vmca_error.len || inv->vcdb_error.len || inv->rbd_error.len) {
		buf_printf(&t->err, "cannot read the appliance: %s%s%s%s%s",
		    buf_str(&inv->vecs_error), buf_str(&inv->vmdir_error),
		    buf_str(&inv->vmca_error), buf_str(&inv->vcdb_error),
		    buf_str(&inv->rbd_error));
		return -1;
	}
	return 0;
}

int
apply_preflight(struct apply *a)
{
	struct txn *t = a->t;

	/* What runs now must run after (verify); the journal keeps it for
	 * recover. */
	if (plan_check_live(a->plan, a->inv, &t->err) == -1 ||
	    apply_load_vmca(a) == -1 ||
	    services_check(t->cfg->root, &t->err) == -1 ||
	    txn_services_now(t) == -1)
		return -1;
	txn_phase(t, "preflight");
	return 0;
}

/* The DNs the plan's steps add to vmdir (*out, borrowed from the plan;
 * *n of them), which its before snapshot records as absent. */
static int
vmdir_adds(struct txn *t, const struct plan *p, const char ***out,
    size_t *nout)
{
	const char **dns = NULL, **nd;
	size_t	 i, k, n = 0;

	for (i = 0; i < p->nsteps; i++)
		for (k = 0; k < p->steps[i].ntargets; k++) {
			const struct plan_target *tg = &p->steps[i].targets[k];

			if (tg->type != TARGET_VMDIR || tg->action != ACTION_ADD)
				continue;
			if ((nd = reallocarray(dns, n + 1, sizeof(*nd))) ==
			    NULL) {
				free(dns);
				buf_printf(&t->err, "out of memory");
				return -1;
			}
			dns = nd;
			dns[n++] = tg->place;
		}
	*out = dns;
	*nout = n;
	return 0;
}

/* The journal's item records: every place the plan touches, with its
 * digest as the plan saw it. */
static int
journal_items(struct txn *t, void *arg)
{
	const struct plan *p = arg;
	const struct plan_target *tg;
	size_t	 i, k;

	for (i = 0; i < p->nsteps; i++)
		for (k = 0; k < p->steps[i].ntargets; k++) {
			tg = &p->steps[i].targets[k];
			if (tg->type != TARGET_SERVICES && txn_item(t,
			    plan_type_name(tg->type), tg->place, tg->digest) ==
			    -1)
				return -1;
		}
	return 0;
}

/* txn_ops.change: the steps, the applied snapshot and the restart. */
static int
run_change(struct txn *t, void *arg)
{
	struct apply *a = arg;

	if (apply_steps(a, a->inv) == -1)
		return -1;
	txn_phase(t, "steps");
	return 0;
}

/* txn_ops.verify: the checks, then the journal's after record. */
static int
run_verify(struct txn *t, void *arg)
{
	struct apply *a = arg;
	struct inventory after;
	int	 r;

	if (apply_verify(a, &after) == -1)
		return -1;
	txn_phase(t, "verify");
	r = apply_after_record(a, &after);
	inventory_free(&after);
	return r;
}

/* The backup session, the before snapshot (the plan's vmdir adds recorded
 * absent) and the journal: state BEGUN. */
static int
run_begin(struct apply *a)
{
	struct txn *t = a->t;
	const char **adds = NULL;
	size_t	 nadds = 0;
	int	 r = -1;

	if ((a->tmpdir = private_dir(t->cfg->root, "apply", &t->err)) ==
	    NULL || backup_session_open(&t->bk, t->cfg, &t->app, &t->login, 1,
	    &t->err) == -1 ||
	    vmdir_adds(t, a->plan, &adds, &nadds) == -1 ||
	    txn_before(t, adds, nadds) == -1 ||
	    txn_begin(t, NULL, journal_items, a->plan, "plan",
	    a->plan->sha256) == -1 || txn_interrupted(t))
		goto out;
	txn_phase(t, "snapshot and journal");
	r = 0;
out:
	free(adds);
	return r;
}

int
apply_run(struct apply *a, const struct apply_opts *o, const char **result)
{
	const struct txn_ops ops = { run_change, run_verify, o->keep };
	struct txn *t = a->t;
	int	 ret;

	txn_say(t, "transaction %s: %zu steps from %s", t->id, a->nsteps,
	    o->source);
	if (apply_prepare(a) == -1 || txn_interrupted(t))
		return txn_refused(t, 0);
	txn_phase(t, "prepare");
	if (!a->dry && !o->yes && txn_confirm(t, "Apply %zu steps to %s, "
	    "restarting every service? [y/N] ", a->nsteps, t->app.pnid) == -1)
		return txn_refused(t, 0);
	if (a->dry) {
		printf("dry run: these changes would be made (nothing is "
		    "changed, nothing is written to the backup):\n");
		if (apply_steps(a, a->inv) == -1)
			return txn_refused(t, 0);
		*result = "dry run";
		return TXN_EXIT_OK;
	}
	/* From the journal on, an interruption of any kind is finished by
	 * vcrotate recover. */
	if (run_begin(a) == -1)
		return txn_refused(t, 0);
	if ((ret = txn_run(t, &ops, a, result)) == TXN_EXIT_OK)
		txn_say(t, "done: transaction %s, snapshots %.12s (before) and "
		    "%.12s (after)", t->id, t->before, t->after[0] ? t->after :
		    t->applied);
	if (ret == TXN_EXIT_OK && a->still_down.len > 0) {
		/* Nothing that ran before stopped: kept, and said. */
		txn_say(t, "kept: every service that ran before runs, the new "
		    "certificates are in place and served; services that were "
		    "down before the change are still down:%s (%s)",
		    buf_str(&a->still_down), buf_str(&a->start_failed));
		*result = t->success;
		ret = APPLY_EXIT_KEPT_DOWN;
	}
	return ret;
}
