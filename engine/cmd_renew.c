/*
 * cmd_renew.c - vcrotate renew: unattended renewal, for a systemd timer or
 * cron. Under one appliance lock:
 *
 *   1. check: the appliance read once, whole (apply_read);
 *   2. plan with the configured policy (renew_within, renew_scope in the
 *      configuration file, else plan's defaults): nothing due ends here,
 *      quietly, exit 0, with one line in syslog;
 *   3. the pre hook: when it fails, nothing is changed (exit 4);
 *   4. apply that plan as apply does (apply_preflight, apply_run: snapshot,
 *      journal, steps, one restart, verify, commit or roll back);
 *   5. the post hook after a renewal that stands (exit 0 or 2), the
 *      failure hook after anything else; their own failures are said but
 *      change no exit code.
 *
 * The plan is held to plan_load's rules (plan_decode) before it is used,
 * as a plan file would be. Hooks learn the outcome from their environment
 * (hooks.h), never from a command line. syslog (facility daemon) gets a
 * line when renew starts, when nothing is due, and its outcome.
 *
 * Exit: as apply's (docs/apply.md): 0 renewed, or nothing due; 1 failed
 * and rolled back; 2 renewed and kept, services down before still fail;
 * 3 the rollback could not finish (vcrotate recover); 4 refused, nothing
 * changed (a pre hook failed, the appliance could not be read whole, the
 * configuration is wrong); 5 another vcrotate holds the lock; 6 an
 * interrupted transaction waits (vcrotate recover); 128+N signal N, rolled
 * back; 64 bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "apply.h"
#include "commands.h"
#include "hooks.h"
#include "plan.h"
#include "safetext.h"
#include "txn.h"

/* check_and_plan: nothing is due. */
#define RENEW_NOTHING	(-2)

/* Who renews, for the audit record, when --operator does not say: the
 * person at the terminal, else the timer. */
static const char *
default_operator(void)
{
	if (isatty(STDIN_FILENO))
		return config_operator();
	return "vcrotate renew (unattended)";
}

/* The policy: plan's defaults, then the configuration file's. */
static int
renew_policy(const struct config *cfg, struct plan_policy *pol,
    struct buf *err)
{
	int	 d;

	/* Unless renew_within says otherwise, what check warns about. */
	plan_policy_default(pol, time(NULL), cfg->renew.within >= 0 ?
	    cfg->renew.within : cfg->warn_days);
	if (cfg->renew.scope != NULL) {
		if ((d = plan_scope_parse(cfg->renew.scope)) < 0) {
			buf_printf(err, "renew_scope: unknown scope '%s' (all, "
			    "root, sts, solution-users, machine-ssl)",
			    cfg->renew.scope);
			return -1;
		}
		pol->scope = (enum plan_scope)d;
	}
	return 0;
}

/*
 * Phases 1 and 2 under the lock: 0 with a->plan made and checked,
 * RENEW_NOTHING, -1 (refused, err says why), or txn_lock's exit code.
 */
static int
check_and_plan(struct txn *t, struct apply *a, const struct plan_policy *pol,
    struct inventory *inv)
{
	json_t	*doc, *held = NULL, *v;
	size_t	 i;
	int	 nothing, r;

	/* A dry run takes no lock, as apply's. */
	if ((r = txn_lock(t, 0, a->dry)) != 0)
		return r == 1 ? TXN_EXIT_REFUSED : r;
	if (txn_identify(t) == -1 || apply_read(a, inv) == -1)
		return -1;
	txn_phase(t, "check");
	doc = plan_build(inv, pol, &nothing, &held);
	/* Due, but another CA's to renew: never quiet, whatever else. */
	json_array_foreach(held, i, v) {
		syslog(LOG_WARNING, "vcrotate: renew: kept: %s",
		    json_string_value(v));
		text_printf_safe(stderr, "vcrotate renew: kept: %s\n",
		    json_string_value(v));
	}
	json_decref(held);
	if (doc == NULL) {
		if (nothing)
			return RENEW_NOTHING;
		buf_printf(&t->err, "out of memory making the plan");
		return -1;
	}
	r = plan_decode(&a->plan, doc, &t->err);
	json_decref(doc);
	if (r == -1)
		return -1;
	t->plan_sha256 = a->plan->sha256;
	a->nsteps = a->plan->nsteps;
	txn_phase(t, "plan");
	return 0;
}

/* The plan's step titles, "; " between them (for the pre hook). */
static char *
step_titles(const struct plan *p)
{
	struct buf b = BUF_INIT;
	size_t	 i;
	char	*s;

	for (i = 0; i < p->nsteps; i++)
		buf_printf(&b, "%s%s", i > 0 ? "; " : "", p->steps[i].title);
	s = strdup(buf_str(&b));
	buf_free(&b);
	return s;
}

/* What every hook learns: the transaction, the appliance, the plan. */
static void
plan_env(struct hook_env *e, const struct txn *t, const struct apply *a)
{
	char	 n[24];
	char	*titles = a->plan != NULL ? step_titles(a->plan) : NULL;

	snprintf(n, sizeof(n), "%zu", a->nsteps);
	hook_env_set(e, "VCROTATE_TXN", t->id);
	hook_env_set(e, "VCROTATE_APPLIANCE", t->app.pnid);
	hook_env_set(e, "VCROTATE_OPERATOR", t->operator);
	hook_env_set(e, "VCROTATE_PLAN_STEPS", n);
	hook_env_set(e, "VCROTATE_PLAN_SHA256", a->plan != NULL ?
	    a->plan->sha256 : NULL);
	hook_env_set(e, "VCROTATE_PLAN_TITLES", titles);
	free(titles);
}

/* The pre hook; -1 (err says why) stops the renewal before any change. */
static int
pre_hook(struct txn *t, struct apply *a)
{
	struct hook_env e = { 0 };
	struct buf why = BUF_INIT;
	int	 r;

	plan_env(&e, t, a);
	r = hook_run(t->cfg, HOOK_PRE, &e, &why);
	if (r == -1)
		buf_printf(&t->err, "%s", buf_str(&why));
	hook_env_free(&e);
	buf_free(&why);
	return r;
}

/*
 * The post hook after a renewal that stands, the failure hook after
 * anything else, told the outcome. Their failure is said, and changes
 * nothing: the certificates are what the outcome says.
 */
static void
outcome_hook(struct txn *t, const struct apply *a, const char *result,
    int ret, const char *error)
{
	enum hook_when w = ret == TXN_EXIT_OK || ret == APPLY_EXIT_KEPT_DOWN ?
	    HOOK_POST : HOOK_FAILURE;
	struct hook_env e = { 0 };
	struct buf why = BUF_INIT;
	char	 n[16];

	snprintf(n, sizeof(n), "%d", ret);
	plan_env(&e, t, a);
	hook_env_set(&e, "VCROTATE_OUTCOME", result);
	hook_env_set(&e, "VCROTATE_EXIT", n);
	hook_env_set(&e, "VCROTATE_BEFORE", t->before);
	hook_env_set(&e, "VCROTATE_AFTER", t->after[0] ? t->after :
	    t->applied);
	hook_env_set(&e, "VCROTATE_STILL_DOWN", ret == APPLY_EXIT_KEPT_DOWN ?
	    buf_str(&a->still_down) + 1 : NULL);
	hook_env_set(&e, "VCROTATE_ERROR", error);
	if (hook_run(t->cfg, w, &e, &why) == -1) {
		text_printf_safe(stderr, "vcrotate renew: %s (the outcome "
		    "stands: %s, exit %d)\n", buf_str(&why), result, ret);
		syslog(LOG_WARNING, "vcrotate: renew: %s hook failed",
		    config_hook_name(w));
	}
	hook_env_free(&e);
	buf_free(&why);
}

/* In a dry run: the hooks that would run, said. */
static void
say_hooks(const struct config *cfg)
{
	char	*const *argv;
	int	 w, k;

	for (w = 0; w < HOOK__MAX; w++) {
		if ((argv = cfg->renew.hook[w]) == NULL)
			continue;
		printf("dry run: the %s hook would run:", config_hook_name(w));
		for (k = 0; argv[k] != NULL; k++)
			text_printf_safe(stdout, " %s", argv[k]);
		putchar('\n');
	}
}

/* Phases 3 and 4, once a plan is made: the exit code, *result set. */
static int
renew_plan(struct txn *t, struct apply *a, const char **result)
{
	const struct apply_opts o = { 0, 1, "renew" };
	size_t	 i;

	if (a->dry) {
		printf("dry run: due on %s, the plan renew would apply:\n",
		    t->app.pnid);
		if (plan_render(stdout, a->plan->doc) == -1)
			return txn_refused(t, 0);
		say_hooks(t->cfg);
	} else {
		text_printf_safe(stdout, "renew: %zu steps due on %s (plan "
		    "%.12s):\n", a->nsteps, t->app.pnid, a->plan->sha256);
		for (i = 0; i < a->plan->nsteps; i++)
			text_printf_safe(stdout, "  %d. %s\n",
			    a->plan->steps[i].n, a->plan->steps[i].title);
		if (pre_hook(t, a) == -1)
			return txn_refused(t, 0);
	}
	if (apply_start_keys(a) == -1 || apply_preflight(a) == -1 ||
	    txn_interrupted(t))
		return txn_refused(t, 0);
	return apply_run(a, &o, result);
}

/* Nothing due: one syslog line, and words only for a dry run. */
static void
nothing_due(const struct apply *a, const struct plan_policy *pol)
{
	syslog(LOG_INFO, "vcrotate: renew: nothing due (renew within %d days, "
	    "scope %s)", pol->renew_within, plan_scope_name(pol->scope));
	if (a->dry)
		printf("nothing due: no certificate expires within %d days and "
		    "nothing a plan of scope %s changes is inconsistent\n",
		    pol->renew_within, plan_scope_name(pol->scope));
}

/* --operator, --ticket, --reason, --dry-run; 0, or 1 out of memory. */
static int
parse_args(const struct cmdline *cl, struct txn *t, struct apply *a)
{
	const char *v;

	a->dry = cmdline_get(cl, "--dry-run") != NULL;
	t->operator = default_operator();
	txn_audit_options(t, cl);
	if ((v = cmdline_get(cl, "--reason")) != NULL) {
		free(t->reason);
		if ((t->reason = strdup(v)) == NULL)
			return 1;
	}
	return 0;
}

int
cmd_renew(const struct cmdline *cl, struct config *cfg)
{
	struct txn t;
	struct apply a;
	struct inventory inv;
	struct plan_policy pol;
	const char *result = "refused";
	char	*error = NULL;
	int	 r, ret;

	memset(&a, 0, sizeof(a));
	a.replication_wait = APPLY_REPLICATION_WAIT;
	memset(&inv, 0, sizeof(inv));
	if (txn_init(&t, cfg, "apply", "unattended renewal") == -1 ||
	    parse_args(cl, &t, &a) != 0) {
		fprintf(stderr, "vcrotate renew: out of memory\n");
		txn_free(&t);
		return 1;
	}
	t.name = "renew";
	a.t = &t;
	cfg->warn_days = cfg->crit_days = cfg->renew.within = -1;
	/* The daemon facility: renew runs as a system job; its lines hold
	 * no secret, and must reach the log monitoring reads (docs/renew.md). */
	openlog("vcrotate", LOG_PID, LOG_DAEMON);
	txn_catch_signals();
	if (config_load(cfg, &t.err) == -1 ||
	    renew_policy(cfg, &pol, &t.err) == -1) {
		/* No hook: the configuration that names them is wrong. */
		ret = txn_refused(&t, 0);
		syslog(LOG_ERR, "vcrotate: renew: refused (exit %d): the "
		    "configuration", ret);
		goto out;
	}
	syslog(LOG_INFO, "vcrotate: renew starts (renew within %d days, scope "
	    "%s%s)", pol.renew_within, plan_scope_name(pol.scope), a.dry ?
	    ", dry run" : "");
	if ((r = check_and_plan(&t, &a, &pol, &inv)) == RENEW_NOTHING) {
		nothing_due(&a, &pol);
		ret = TXN_EXIT_OK;
		goto out;
	}
	if (r == 0)
		ret = renew_plan(&t, &a, &result);
	else
		ret = txn_refused(&t, r == -1 ? 0 : r);
	/* txn_refused ended the transaction; the error stays in t.err. */
	if (t.err.len > 0)
		error = text_safe(buf_str(&t.err));
	txn_log_outcome(&t, result, ret);
	syslog(ret == TXN_EXIT_OK ? LOG_NOTICE : LOG_ERR, "vcrotate: renew: "
	    "%s (exit %d, transaction %s, %zu steps)", result, ret, t.id,
	    a.nsteps);
	if (!a.dry)
		outcome_hook(&t, &a, result, ret, error);
out:
	free(error);
	if (a.inv != NULL)
		inventory_free(&inv);
	apply_free(&a);
	txn_free(&t);
	closelog();
	return ret;
}
