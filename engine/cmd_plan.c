/*
 * cmd_plan.c - vcrotate plan: an ordered replacement plan, from the check
 * findings, that a person reviews and `apply' carries out exactly; and
 * vcrotate plan show FILE, which checks a plan file and renders it.
 *
 * With --import, the plan installs certificates another CA issued
 * (plans/import.c, docs/company-ca.md): each is read with its chain and
 * judged before anything is made, its key found on the backup's csr-keys
 * branch by its public key, or given as a file and sealed there.
 *
 * Exit: 0 a plan was made (or shown), 2 nothing to do, 1 the appliance could
 * not be read completely or the plan file is refused, 64 bad usage or an
 * import refused (nothing sealed, no plan).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <unistd.h>

#include <openssl/evp.h>

#include "cert.h"
#include "commands.h"
#include "fileio.h"
#include "findings.h"
#include "issue.h"
#include "lock.h"
#include "plan.h"
#include "report.h"
#include "safetext.h"
#include "session.h"
#include "vcdb.h"

#define PLAN_NOTHING 2
#define PLAN_FAILED  1

/* Refuses an inventory with a part missing: a plan must see everything. */
static int
complete(const struct inventory *inv)
{
	const struct {
		const char	 *what;
		const struct buf *b;
	} src[] = {
		{ "the appliance identity", &inv->identity_error },
		{ "VECS", &inv->vecs_error },
		{ "vmdir", &inv->vmdir_error },
		{ "the VMCA root", &inv->vmca_error },
		{ "VCDB", &inv->vcdb_error },
	};
	size_t	 i;
	int	 ok = 1;

	for (i = 0; i < sizeof(src) / sizeof(src[0]); i++)
		if (src[i].b->len > 0) {
			fprintf(stderr, "vcrotate plan: cannot read %s: %s\n",
			    src[i].what, buf_str(src[i].b));
			ok = 0;
		}
	if (!ok)
		fprintf(stderr, "vcrotate plan: no plan made: a plan must "
		    "see the whole appliance (see vcrotate check)\n");
	return ok;
}

static int
cmd_plan_show(const struct cmdline *cl, struct config *cfg)
{
	struct appliance app;
	struct buf err = BUF_INIT;
	struct plan *plan = NULL;
	const char *file = cl->operand[0];
	int	 ret = PLAN_FAILED;

	memset(&app, 0, sizeof(app));
	/* The reason may quote a place of the plan: any bytes. */
	if (plan_load(&plan, file, &err) == -1) {
		text_printf_safe(stderr, "vcrotate plan show: %s\n",
		    buf_str(&err));
		goto out;
	}
	if (cfg->root == NULL && (cfg->root = strdup("/")) == NULL)
		goto out;
	if (appliance_identify(&app, cfg->root, &err) == -1 ||
	    plan_check_appliance(plan, &app, &err) == -1) {
		text_printf_safe(stderr, "vcrotate plan show: %s: %s\n", file,
		    buf_str(&err));
		goto out;
	}
	if (plan_render(stdout, plan->doc) == 0)
		ret = 0;
out:
	appliance_free(&app);
	plan_free(plan);
	buf_free(&err);
	return ret;
}

/*
 * Why there is no plan: nothing is due, or what is found is nothing a
 * plan can change (each finding then says what to do by hand).
 */
static void
nothing_to_do(FILE *out, const struct inventory *inv,
    const struct plan_policy *pol, json_t *held)
{
	struct policy fp = { pol->at, pol->renew_within, pol->renew_within };
	struct findings f;
	json_t	*v;
	size_t	 i, shown = 0, n[SEV__MAX] = { 0 };

	/* What is due but another CA issued: said first, with what to do. */
	json_array_foreach(held, i, v)
		text_printf_safe(out, "kept: %s\n", json_string_value(v));
	memset(&f, 0, sizeof(f));
	if (findings_evaluate(inv, &fp, &f) == 0)
		report_count(&f, n);
	if (n[SEV_CRITICAL] + n[SEV_WARNING] > 0) {
		fprintf(out, "nothing to do: no step a plan can take (scope "
		    "%s); what check still finds is left to you:\n",
		    plan_scope_name(pol->scope));
		/* INFO findings (expired backup copies) ask for nothing. */
		for (i = 0; i < f.n && shown < 20; i++)
			if (f.v[i].sev >= SEV_WARNING) {
				text_printf_safe(out, "  %s %s: %s\n",
				    f.v[i].code, f.v[i].place, f.v[i].message);
				shown++;
			}
		if (n[SEV_CRITICAL] + n[SEV_WARNING] > shown)
			fprintf(out, "  ... and %zu more (vcrotate check lists "
			    "them)\n", n[SEV_CRITICAL] + n[SEV_WARNING] - shown);
	} else
		fprintf(out, "nothing to do: no certificate expires within "
		    "%d days and nothing is inconsistent\n", pol->renew_within);
	findings_free(&f);
}

/*
 * The values of plan's options, into pol; -1 when one is not acceptable
 * (named on stderr).
 */
/*
 * The --san and --drop-san names as entries (DNS:, IP:, email:), into
 * san[] and drop[] (malloc'd strings, NULL-ended, the caller's). -1 when
 * one is not a name (named on stderr).
 */
static int
san_options(const struct cmdline *cl, struct plan_policy *pol, char **san,
    char **drop)
{
	const char *opt, *v;
	char	*e;
	size_t	 k, *n;

	for (k = 0; k < cl->ngiven; k++) {
		opt = cl->given[k].opt->name;
		if (strcmp(opt, "--san") != 0 && strcmp(opt, "--drop-san") != 0)
			continue;
		v = cl->given[k].val;
		if ((e = app_san_parse(v)) == NULL) {
			text_printf_safe(stderr, "vcrotate plan: %s %s: not a "
			    "DNS name, an IP address or an email address (a "
			    "prefix DNS:, IP: or email: may say which)\n", opt,
			    v);
			return -1;
		}
		n = opt[2] == 's' ? &pol->nsan : &pol->ndrop_san;
		(opt[2] == 's' ? san : drop)[(*n)++] = e;
	}
	return 0;
}

static int
plan_options(const struct cmdline *cl, struct plan_policy *pol,
    char **san, char **drop)
{
	static const char *const num[] = { "--renew-within",
	    "--validity-days", "--key-bits" };
	const char *v;
	size_t	 k;
	int	 d;

	pol->reset_all = cmdline_get(cl, "--reset-all") != NULL;
	pol->prune_expired_roots =
	    cmdline_get(cl, "--prune-expired-roots") != NULL;
	if (san_options(cl, pol, san, drop) == -1)
		return -1;
	if ((v = cmdline_get(cl, "--issuer")) != NULL) {
		if (strcmp(v, "vmca") != 0) {
			text_printf_safe(stderr, "vcrotate plan: --issuer %s: "
			    "only vmca (a company CA's certificates come by "
			    "csr and --import)\n", v);
			return -1;
		}
		pol->issuer_vmca = 1;
	}
	if ((v = cmdline_get(cl, "--scope")) != NULL) {
		if ((d = plan_scope_parse(v)) < 0) {
			fprintf(stderr, "vcrotate plan: unknown scope '%s' (all, "
			    "root, sts, solution-users, machine-ssl)\n", v);
			return -1;
		}
		pol->scope = (enum plan_scope)d;
	}
	for (k = 0; k < sizeof(num) / sizeof(num[0]); k++) {
		const char *a = num[k];

		if ((v = cmdline_get(cl, a)) == NULL)
			continue;
		d = parse_days(v);
		if (d < 0 || (a[2] == 'k' && d != 2048 && d != 3072 &&
		    d != 4096) || (a[2] == 'v' && (d < 1 || d > 3650))) {
			fprintf(stderr, "vcrotate plan: %s %s: %s\n", a, v,
			    a[2] == 'k' ? "2048, 3072 or 4096" : a[2] == 'v' ?
			    "a number of days from 1 to 3650" :
			    "a number of days");
			return -1;
		}
		if (a[2] == 'r')
			pol->renew_within = d;
		else if (a[2] == 'v')
			pol->validity_days = d;
		else
			pol->key_bits = d;
	}
	if ((v = cmdline_get(cl, "--at")) != NULL &&
	    parse_time(v, &pol->at) == -1) {
		fprintf(stderr, "vcrotate plan: --at: cannot read '%s' as a "
		    "date\n", v);
		return -1;
	}
	return 0;
}

/* --import makes a plan of its own: no option of a renewal with it, and
 * --chain only with it. -1 when one is (said on stderr). */
static int
import_options(const struct cmdline *cl)
{
	static const char *const renewal[] = { "--renew-within", "--scope",
	    "--reset-all", "--san", "--drop-san", "--issuer", "--key-bits",
	    "--validity-days", "--prune-expired-roots", NULL };
	size_t	 i;

	if (cmdline_get(cl, "--import") == NULL) {
		if (cmdline_get(cl, "--chain") == NULL)
			return 0;
		fprintf(stderr, "vcrotate plan: --chain goes with --import\n");
		return -1;
	}
	for (i = 0; renewal[i] != NULL; i++)
		if (cmdline_get(cl, renewal[i]) != NULL) {
			fprintf(stderr, "vcrotate plan: %s: --import makes a "
			    "plan of its own (renewals in another plan)\n",
			    renewal[i]);
			return -1;
		}
	return 0;
}

/*
 * Each --drop-san names a SAN of the Machine SSL certificate now, and none
 * the PNID (every certificate of the appliance names it); else it is said
 * on stderr and -1 returned.
 */
static int
drops_ok(const struct inventory *inv, const struct plan_policy *pol)
{
	const struct inv_vecs_entry *e = inventory_vecs(inv,
	    "MACHINE_SSL_CERT", "__MACHINE_CERT");
	X509	*x = e != NULL && e->chain != NULL ?
	    sk_X509_value(e->chain, 0) : NULL;
	char	*pnid = app_san_entry(inv->app.pnid, 0);
	size_t	 i;
	int	 ret = 0;

	for (i = 0; ret == 0 && i < pol->ndrop_san; i++) {
		const char *d = pol->drop_san[i];

		if (pnid != NULL && strcasecmp(d, pnid) == 0) {
			text_printf_safe(stderr, "vcrotate plan: --drop-san %s: "
			    "the PNID stays in every certificate\n", d);
			ret = -1;
		} else if (x == NULL || !cert_san_has(x, d)) {
			text_printf_safe(stderr, "vcrotate plan: --drop-san %s: "
			    "not a SAN of the Machine SSL certificate now\n", d);
			ret = -1;
		}
	}
	free(pnid);
	return ret;
}

/* ---- --import ---- */

/* One --import WHAT=CERT[,KEY]: what it is, read and judged. */
struct import {
	const char	*arg;		/* as given, for messages */
	char		*what, *certfile, *keyfile;	/* keyfile may be NULL */
	STACK_OF(X509)	*pool;		/* the file's certificates and --chain's */
	EVP_PKEY	*key;
	struct plan_import_req req;
};

struct imports {
	struct import	*v;
	size_t		 n;
	STACK_OF(X509)	*chain;		/* every --chain certificate */
	struct bk_session s;
	int		 lockfd;
};

static void
imports_free(struct imports *im)
{
	size_t	 i;

	for (i = 0; i < im->n; i++) {
		free(im->v[i].what);
		free(im->v[i].certfile);
		free(im->v[i].keyfile);
		sk_X509_pop_free(im->v[i].pool, X509_free);
		sk_X509_pop_free(im->v[i].req.chain, X509_free);
		EVP_PKEY_free(im->v[i].key);
	}
	free(im->v);
	sk_X509_pop_free(im->chain, X509_free);
	backup_session_clear(&im->s);
	if (im->lockfd != -1)
		close(im->lockfd);
}

/* The certificates of a file: 0, or -1 with err naming it. */
static int
read_certs(const char *path, STACK_OF(X509) **out, struct buf *err)
{
	struct buf b = BUF_INIT;
	int	 ret;

	if (file_read(path, &b, err) == -1)
		return -1;
	ret = plan_import_pem(b.data, b.len, out, path, err);
	buf_free(&b);
	return ret;
}

/* WHAT=CERT[,KEY] into im; what: machine-ssl or a solution user of the
 * appliance. -1 when it is not one (err). */
static int
import_parse(struct import *im, const char *arg, const struct inventory *inv,
    struct buf *err)
{
	const char *eq = strchr(arg, '='), *comma;

	im->arg = arg;
	if (eq == NULL || eq == arg || eq[1] == '\0' || eq[1] == ',') {
		buf_printf(err, "not WHAT=CERT.pem[,KEY.pem]");
		return -1;
	}
	comma = strchr(eq + 1, ',');
	if ((im->what = strndup(arg, (size_t)(eq - arg))) == NULL ||
	    (im->certfile = strndup(eq + 1, comma != NULL ? (size_t)(comma -
	    eq - 1) : strlen(eq + 1))) == NULL ||
	    (comma != NULL && (im->keyfile = strdup(comma + 1)) == NULL)) {
		buf_printf(err, "out of memory");
		return -1;
	}
	im->req.what = im->what;
	if (strcmp(im->what, "machine-ssl") == 0) {
		im->req.kind = STEP_MACHINE_SSL;
		return 0;
	}
	if (strcmp(im->what, "vmca-root") == 0) {
		im->req.kind = STEP_VMCA_ROOT;
		if (im->keyfile != NULL)
			return 0;
		buf_printf(err, "VMCA's signing key is needed: --import "
		    "vmca-root=CERT.pem,KEY.pem");
		return -1;
	}
	im->req.kind = STEP_SOLUTION_USER;
	if (inventory_vecs(inv, im->what, im->what) == NULL) {
		buf_printf(err, "%s: neither machine-ssl nor a solution user of "
		    "this appliance", im->what);
		return -1;
	}
	return 0;
}

/* The key im's certificate needs: the file's, or the one vcrotate csr
 * sealed under the certificate's public key. -1 when there is none or it
 * does not match (err). */
static int
import_key(struct imports *all, struct import *im, struct buf *err)
{
	struct buf b = BUF_INIT;
	const char *why = NULL;
	int	 r;

	if (im->keyfile != NULL) {
		if (file_read(im->keyfile, &b, err) == -1)
			return -1;
		r = cert_parse_key((unsigned char *)b.data, b.len, &im->key,
		    &why);
		buf_free_secret(&b);
		if (r == -1) {
			buf_printf(err, "%s: not a private key (%s)",
			    im->keyfile, why);
			return -1;
		}
	} else {
		if (all->s.repo == NULL &&
		    backup_session_repo(&all->s, 0, err) == -1)
			return -1;
		if ((r = bk_repo_get_csr_key(all->s.repo, all->s.key,
		    im->req.key_id, &b, err)) == -1)
			return -1;
		if (r == 0) {
			buf_printf(err, "no key for this certificate: its public "
			    "key (%.16s...) is not that of a request vcrotate "
			    "csr made; give its key: --import %s=%s,KEY.pem",
			    im->req.key_id, im->what, im->certfile);
			return -1;
		}
		r = cert_parse_key((unsigned char *)b.data, b.len, &im->key,
		    &why);
		buf_free_secret(&b);
		if (r == -1) {
			buf_printf(err, "the sealed key %.16s... cannot be read "
			    "(%s)", im->req.key_id, why);
			return -1;
		}
	}
	if (EVP_PKEY_eq(X509_get0_pubkey(im->req.cert), im->key) != 1) {
		buf_printf(err, "the key%s%s does not match the certificate",
		    im->keyfile != NULL ? " in " : "", im->keyfile != NULL ?
		    im->keyfile : "");
		return -1;
	}
	return 0;
}

/* One import read, its chain ordered, judged, its key found. */
static int
import_one(struct imports *all, struct import *im, const struct inventory *inv,
    time_t at, struct buf *err)
{
	char	*pnid = app_san_entry(inv->app.pnid, 0);
	X509	*x;
	int	 i, ret = -1;

	if (pnid == NULL || read_certs(im->certfile, &im->pool, err) == -1)
		goto out;
	im->req.cert = sk_X509_value(im->pool, 0);
	for (i = 0; i < sk_X509_num(all->chain); i++) {
		x = sk_X509_value(all->chain, i);
		if (!X509_up_ref(x) || !sk_X509_push(im->pool, x)) {
			buf_printf(err, "out of memory");
			goto out;
		}
	}
	if (plan_import_chain(im->req.cert, im->pool, &im->req.chain,
	    err) == -1 || plan_import_judge(im->req.cert, im->req.chain,
	    im->req.kind, pnid, at, err) == -1)
		goto out;
	if (plan_pubkey_id(X509_get0_pubkey(im->req.cert),
	    im->req.key_id) == -1) {
		buf_printf(err, "cannot read the certificate's public key");
		goto out;
	}
	ret = import_key(all, im, err);
out:
	free(pnid);
	return ret;
}

/* Keys given as files are sealed on csr-keys (under the lock), as vcrotate
 * csr seals its own: the plan names them by id only. */
static int
import_seal(struct imports *all, struct config *cfg, struct buf *err)
{
	struct buf der = BUF_INIT;
	size_t	 i;
	int	 k, ret = -1;

	for (i = 0; i < all->n && all->v[i].keyfile == NULL; i++)
		;
	if (i == all->n)
		return 0;
	if ((k = writer_begin(cfg, "plan --import", 0, &all->lockfd,
	    err)) != 0)
		return -1;
	if (all->s.repo == NULL && backup_session_repo(&all->s, 1, err) == -1)
		return -1;
	for (i = 0; i < all->n; i++) {
		if (all->v[i].keyfile == NULL)
			continue;
		if (der_of_key(all->v[i].key, &der) == -1 ||
		    bk_repo_put_csr(all->s.repo, all->s.key,
		    all->v[i].req.key_id, NULL, (unsigned char *)der.data,
		    der.len, err) == -1)
			goto out;
		buf_free_secret(&der);
	}
	ret = 0;
out:
	buf_free_secret(&der);
	return ret;
}

/* --chain's certificates and each --import, read and judged: 0, or -1
 * with the reason on stderr (the import named). */
static int
imports_read(const struct cmdline *cl, struct imports *all,
    const struct inventory *inv, time_t at)
{
	struct buf err = BUF_INIT;
	STACK_OF(X509) *more;
	const char *opt;
	size_t	 k, i;
	int	 ret = -1;

	if ((all->v = calloc(cl->ngiven, sizeof(*all->v))) == NULL ||
	    (all->chain = sk_X509_new_null()) == NULL)
		goto out;
	for (k = 0; k < cl->ngiven; k++) {
		if (strcmp(cl->given[k].opt->name, "--chain") != 0)
			continue;
		if (read_certs(cl->given[k].val, &more, &err) == -1) {
			text_printf_safe(stderr, "vcrotate plan: --chain %s\n",
			    buf_str(&err));
			goto out;
		}
		while (sk_X509_num(more) > 0)
			sk_X509_push(all->chain, sk_X509_shift(more));
		sk_X509_free(more);
	}
	for (k = 0; k < cl->ngiven; k++) {
		opt = cl->given[k].opt->name;
		if (strcmp(opt, "--import") != 0)
			continue;
		struct import *im = &all->v[all->n++];

		if (import_parse(im, cl->given[k].val, inv, &err) == -1 ||
		    import_one(all, im, inv, at, &err) == -1) {
			text_printf_safe(stderr, "vcrotate plan: --import %s: "
			    "%s\n", cl->given[k].val, buf_str(&err));
			goto out;
		}
		for (i = 0; i + 1 < all->n; i++)
			if (strcmp(all->v[i].what, im->what) == 0) {
				text_printf_safe(stderr, "vcrotate plan: --import "
				    "%s: %s imported twice\n", im->arg,
				    im->what);
				goto out;
			}
	}
	ret = 0;
out:
	buf_free(&err);
	return ret;
}

/*
 * plan --import: the plan that installs the imported certificates and
 * nothing else; *plan the sealed plan. 0, or an exit code (said).
 */
static int
plan_imports(const struct cmdline *cl, struct config *cfg,
    const struct inventory *inv, struct plan_policy *pol, json_t **plan)
{
	struct plan_import_req *req = NULL;
	struct imports all;
	struct buf err = BUF_INIT;
	size_t	 i, n = 0;
	int	 ssl = 0, sol = 0, vmca = 0, ret = EXIT_USAGE;

	memset(&all, 0, sizeof(all));
	all.s.cfg = cfg;
	all.lockfd = -1;
	bk_init();
	for (i = 0; i < cl->ngiven; i++)
		if (strcmp(cl->given[i].opt->name, "--import") == 0) {
			vmca |= strncmp(cl->given[i].val, "vmca-root=", 10) == 0;
			n++;
		}
	if (vmca && n > 1) {
		fprintf(stderr, "vcrotate plan: --import vmca-root makes a plan "
		    "of its own: VMCA then reissues what it signs\n");
		goto out;
	}
	if (vmca && app_is_management(&inv->app)) {
		fprintf(stderr, "vcrotate plan: --import vmca-root: a management "
		    "node has no VMCA; its PSC %s keeps it: run this plan "
		    "there\n", inv->app.dc_name != NULL ? inv->app.dc_name :
		    "(vmafd-cli get-dc-name did not say which)");
		goto out;
	}
	if (imports_read(cl, &all, inv, pol->at) == -1)
		goto out;
	ret = PLAN_FAILED;
	if (import_seal(&all, cfg, &err) == -1) {
		fprintf(stderr, "vcrotate plan: cannot seal the key: %s\n",
		    buf_str(&err));
		goto out;
	}
	if ((req = calloc(all.n, sizeof(*req))) == NULL)
		goto out;
	for (i = 0; i < all.n; i++) {
		req[i] = all.v[i].req;
		ssl |= req[i].kind == STEP_MACHINE_SSL;
		sol |= req[i].kind == STEP_SOLUTION_USER;
	}
	/* The check after apply looks where the plan changed things. */
	pol->scope = ssl && sol ? SCOPE_ALL : ssl ? SCOPE_MACHINE_SSL :
	    SCOPE_SOLUTION_USERS;
	if ((*plan = vmca ? plan_subordinate_build(inv, pol, &req[0]) :
	    plan_import_build(inv, pol, req, all.n)) == NULL)
		fprintf(stderr, "vcrotate plan: out of memory\n");
	else
		ret = 0;
out:
	free(req);
	imports_free(&all);
	bk_shutdown();
	buf_free(&err);
	return ret;
}

static void
names_free(char **v)
{
	size_t	 i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

int
cmd_plan(const struct cmdline *cl, struct config *cfg)
{
	struct plan_policy pol;
	struct inventory inv;
	struct vmdir_login login = { 0 };
	struct buf err = BUF_INIT, login_err = BUF_INIT;
	char	**san = NULL, **drop = NULL;
	const char *out_file;
	json_t	*plan = NULL, *held = NULL;
	int	 json, nothing = 0, have_inv = 0;
	int	 ret = PLAN_FAILED;

	if (strcmp(cl->syn->name, "plan show") == 0)
		return cmd_plan_show(cl, cfg);
	json = cmdline_get(cl, "--json") != NULL;
	out_file = cmdline_get(cl, "-o");
	/* The window comes from the configuration (below) unless given. */
	plan_policy_default(&pol, time(NULL), -1);
	if ((san = calloc(cl->ngiven + 1, sizeof(*san))) == NULL ||
	    (drop = calloc(cl->ngiven + 1, sizeof(*drop))) == NULL)
		goto out;
	if (plan_options(cl, &pol, san, drop) == -1 ||
	    import_options(cl) == -1) {
		ret = EXIT_USAGE;
		goto out;
	}
	pol.san = (const char *const *)san;
	pol.drop_san = (const char *const *)drop;
	cfg->warn_days = cfg->crit_days = -1;
	if (config_load(cfg, &err) == -1) {
		fprintf(stderr, "vcrotate plan: %s\n", buf_str(&err));
		goto out;
	}
	/* What check warns about is what plan renews (docs/plans.md). */
	if (pol.renew_within < 0)
		pol.renew_within = cfg->warn_days;
	if (config_login(cfg, &login, &login_err) == -1) {
		fprintf(stderr, "vcrotate plan: %s\n", buf_str(&login_err));
		goto out;
	}
	if (vcdb_ensure(cfg->root, &err) == 1)
		fprintf(stderr, "vcrotate plan: VCDB did not answer: started "
		    "vmware-vpostgres to read it (service-control --start "
		    "vmware-vpostgres)\n");
	buf_reset(&err);
	if (inventory_read(&inv, cfg->root, &login, NULL, 0) == -1) {
		fprintf(stderr, "vcrotate plan: out of memory\n");
		goto out;
	}
	have_inv = 1;
	if (!complete(&inv))
		goto out;
	if (drops_ok(&inv, &pol) == -1) {
		ret = EXIT_USAGE;
		goto out;
	}
	if (cmdline_get(cl, "--import") != NULL) {
		if ((ret = plan_imports(cl, cfg, &inv, &pol, &plan)) != 0)
			goto out;
	} else if ((plan = plan_build(&inv, &pol, &nothing, &held)) == NULL) {
		if (nothing) {
			/* On stderr with --json: stdout stays a document. */
			nothing_to_do(json ? stderr : stdout, &inv, &pol, held);
			ret = PLAN_NOTHING;
		} else
			fprintf(stderr, "vcrotate plan: out of memory\n");
		goto out;
	}
	if (out_file != NULL && plan_write(out_file, plan, &err) == -1) {
		fprintf(stderr, "vcrotate plan: cannot write the plan: %s\n",
		    buf_str(&err));
		goto out;
	}
	if (json) {
		if (json_dumpf(plan, stdout, JSON_INDENT(2) |
		    JSON_PRESERVE_ORDER) == -1)
			goto out;
		putchar('\n');
	} else {
		if (plan_render(stdout, plan) == -1)
			goto out;
		if (out_file != NULL)
			printf("Plan written to %s. Review it with: vcrotate "
			    "plan show %s\n", out_file, out_file);
	}
	ret = fflush(stdout) == 0 ? 0 : PLAN_FAILED;
out:
	json_decref(plan);
	json_decref(held);
	if (have_inv)
		inventory_free(&inv);
	vmdir_login_free(&login);
	buf_free(&err);
	buf_free(&login_err);
	names_free(san);
	names_free(drop);
	return ret;
}
