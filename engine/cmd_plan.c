/*
 * cmd_plan.c - vcrotate plan: an ordered replacement plan, from the check
 * findings, that a person reviews and `apply' carries out exactly; and
 * vcrotate plan show FILE, which checks a plan file and renders it.
 *
 * Exit: 0 a plan was made (or shown), 2 nothing to do, 1 the appliance could
 * not be read completely or the plan file is refused, 64 bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cert.h"
#include "commands.h"
#include "findings.h"
#include "plan.h"
#include "report.h"
#include "safetext.h"
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
	if (plan_options(cl, &pol, san, drop) == -1) {
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
	if (inventory_read(&inv, cfg->root, &login, NULL) == -1) {
		fprintf(stderr, "vcrotate plan: out of memory\n");
		goto out;
	}
	have_inv = 1;
	vcdb_start_retry(&inv, cfg->root);
	if (!complete(&inv))
		goto out;
	if (drops_ok(&inv, &pol) == -1) {
		ret = EXIT_USAGE;
		goto out;
	}
	if ((plan = plan_build(&inv, &pol, &nothing, &held)) == NULL) {
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
