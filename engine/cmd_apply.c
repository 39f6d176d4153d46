/*
 * cmd_apply.c - vcrotate apply PLAN: the plan as one transaction.
 *
 *   1. preflight (read-only): one transaction at a time (a lock), the plan's
 *      appliance, every target as the plan saw it (plan_check_live), the
 *      VMCA key, the backup repository, service-control;
 *   2. prepare: every new key and certificate made and checked before
 *      anything changes;
 *   3. snapshot the before state, then the journal (txn_before, txn_begin);
 *   4. the steps in plan order, with the services running (vecs-cli needs
 *      vmafdd, LDAP needs vmdird), then one restart of every service;
 *   5. verify: every service up, the TLS endpoint serving the new Machine
 *      SSL certificate, and a fresh plan with nothing left to do;
 *   6. on a failure after the first change: put the before snapshot back.
 *
 * The transaction, its journal and its states are txn.c's (txn.h); the
 * steps, the verify and phases 2 to 6 (apply_run, which renew shares) are
 * apply.c's. This file holds the command line, reading the plan file and
 * the output. A dry run goes through the same
 * preflight, prepare and steps, which print what they would do.
 *
 * Exit: 0 done; 1 failed and rolled back (or, with --keep-on-failure, left
 * as it was at the failure); 3 the rollback could not finish (the journal
 * stays: vcrotate recover); 4 refused before any change; 5 another vcrotate
 * holds the lock; 6 an interrupted transaction waits for vcrotate recover;
 * 128+N interrupted by signal N and rolled back; 64 bad usage.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "apply.h"
#include "commands.h"
#include "safetext.h"
#include "txn.h"

/* What the command line asked, beyond the transaction's own fields. */
struct apply_args {
	const char	*file;
	const char	*expect;
	int		 keep;
	int		 yes;
	int		 json;
};

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
plan_is_expected(const struct plan *plan, const char *file,
    const char *expect, struct buf *err)
{
	if (expect == NULL)
		return 0;
	if (strcasecmp(plan->sha256, expect) != 0) {
		buf_printf(err, "%s is not the approved plan: its SHA-256 is "
		    "%s, --expect says %s", file, plan->sha256, expect);
		return -1;
	}
	return 0;
}

/* The options; 0, or the exit code (said). */
static int
parse_args(const struct cmdline *cl, struct txn *t, struct apply *a,
    struct apply_args *args)
{
	const char *v;

	args->file = cl->operand[0];
	args->expect = cmdline_get(cl, "--expect");
	args->keep = cmdline_get(cl, "--keep-on-failure") != NULL;
	args->yes = cmdline_get(cl, "--yes") != NULL;
	args->json = cmdline_get(cl, "--json") != NULL;
	a->dry = cmdline_get(cl, "--dry-run") != NULL;
	txn_audit_options(t, cl);
	if ((v = cmdline_get(cl, "--reason")) != NULL) {
		free(t->reason);
		if ((t->reason = strdup(v)) == NULL) {
			fprintf(stderr, "vcrotate apply: out of memory\n");
			return 1;
		}
	}
	if ((v = cmdline_get(cl, "--rollback-on")) != NULL) {
		if (strcmp(v, "any-failure") == 0)
			a->any_failure = 1;
		else if (strcmp(v, "regression") != 0) {
			text_printf_safe(stderr, "vcrotate apply: --rollback-on "
			    "must be regression or any-failure, not '%s'\n", v);
			return EXIT_USAGE;
		}
	}
	if ((v = cmdline_get(cl, "--replication-wait")) != NULL &&
	    (a->replication_wait = parse_days(v)) < 0) {
		text_printf_safe(stderr, "vcrotate apply: --replication-wait "
		    "must be a number of seconds (0 to 100000), not '%s'\n", v);
		return EXIT_USAGE;
	}
	if ((v = cmdline_get(cl, "--restart")) != NULL) {
		if (strcmp(v, "per-step") == 0)
			a->per_step = 1;
		else if (strcmp(v, "once") != 0) {
			text_printf_safe(stderr, "vcrotate apply: --restart "
			    "must be once or per-step, not '%s'\n", v);
			return EXIT_USAGE;
		}
	}
	if (args->expect != NULL && !is_sha256_hex(args->expect)) {
		text_printf_safe(stderr, "vcrotate apply: --expect %s: not a "
		    "SHA-256 (64 hexadecimal digits, as plan prints it)\n",
		    args->expect);
		return EXIT_USAGE;
	}
	return 0;
}

/*
 * Phase 1, read-only: the plan, the lock, the appliance as the plan saw
 * it, the VMCA key, service-control, what runs now. The lock and a pending
 * journal first: after a crash with the services stopped nothing else
 * answers, and "run vcrotate recover" is what the operator must hear. 0,
 * -1 (refused), or an exit code of txn_lock.
 */
static int
preflight(struct txn *t, struct apply *a, const struct apply_args *args,
    struct inventory *inv)
{
	int	 r;

	if (config_load(t->cfg, &t->err) == -1 ||
	    plan_load(&a->plan, args->file, &t->err) == -1 ||
	    plan_is_expected(a->plan, args->file, args->expect, &t->err) == -1)
		return -1;
	t->plan_sha256 = a->plan->sha256;
	a->nsteps = a->plan->nsteps;
	/* A dry run takes no lock, but says the same of a pending journal:
	 * what it would show of a half-changed appliance is no plan's. */
	if ((r = txn_lock(t, 0, a->dry)) != 0)
		return r == 1 ? TXN_EXIT_REFUSED : r;
	if (txn_identify(t) == -1 ||
	    plan_check_appliance(a->plan, &t->app, &t->err) == -1 ||
	    apply_start_keys(a) == -1 || apply_read(a, inv) == -1 ||
	    apply_preflight(a) == -1)
		return -1;
	return 0;
}

/* The result document of --json, on the saved standard output. */
static void
result_json(struct txn *t, const struct apply *a, const char *result,
    int ret, int saved_stdout)
{
	json_t	*doc;

	fflush(stdout);
	dup2(saved_stdout, STDOUT_FILENO);
	close(saved_stdout);
	/* The error may quote a tool's bytes: json_string_lossy. */
	doc = json_pack("{s:s,s:s,s:s,s:i,s:s?,s:s?,s:s?,s:i,s:I,s:o,s:s?}",
	    "schema", "vcrotate.apply/1", "transaction", t->id,
	    "result", result, "exit_code", ret,
	    "before", t->before[0] ? t->before : NULL,
	    "after", t->after[0] ? t->after : ret == TXN_EXIT_OK ||
	    ret == APPLY_EXIT_KEPT_DOWN ? t->applied : NULL,
	    "plan_sha256", a->plan != NULL ? a->plan->sha256 : NULL,
	    "steps", (int)a->nsteps,
	    "elapsed_seconds", (json_int_t)(time(NULL) - t->started),
	    "error", json_string_lossy(t->err.len > 0 ? buf_str(&t->err) :
	    NULL), "still_down", ret == APPLY_EXIT_KEPT_DOWN ?
	    buf_str(&a->still_down) + 1 : NULL);
	if (doc != NULL) {
		json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
	}
	json_decref(doc);
}

int
cmd_apply(const struct cmdline *cl, struct config *cfg)
{
	struct txn t;
	struct apply a;
	struct apply_args args;
	struct inventory inv;
	const char *result = "refused";
	int	 r, ret, saved_stdout = -1;

	memset(&a, 0, sizeof(a));
	a.replication_wait = APPLY_REPLICATION_WAIT;
	memset(&inv, 0, sizeof(inv));
	if (txn_init(&t, cfg, "apply", "apply") == -1) {
		fprintf(stderr, "vcrotate apply: out of memory\n");
		return 1;
	}
	a.t = &t;
	if ((ret = parse_args(cl, &t, &a, &args)) != 0)
		goto out;
	cfg->warn_days = cfg->crit_days = -1;
	txn_catch_signals();
	/* With --json, stdout carries the result document alone: progress
	 * (ours, and restore's) goes to stderr meanwhile. */
	if (args.json && ((saved_stdout = dup(STDOUT_FILENO)) == -1 ||
	    dup2(STDERR_FILENO, STDOUT_FILENO) == -1)) {
		text_printf_safe(stderr, "vcrotate apply: %s\n",
		    strerror(errno));
		if (saved_stdout != -1)
			close(saved_stdout);
		ret = 1;
		goto out;
	}
	if ((r = preflight(&t, &a, &args, &inv)) != 0)
		ret = txn_refused(&t, r == -1 ? 0 : r);
	else {
		struct apply_opts o = { args.keep, args.yes || args.json,
		    args.file };

		ret = apply_run(&a, &o, &result);
	}
	txn_log_outcome(&t, result, ret);
	if (saved_stdout != -1)
		result_json(&t, &a, result, ret, saved_stdout);
out:
	if (a.inv != NULL)
		inventory_free(&inv);
	apply_free(&a);
	txn_free(&t);
	return ret;
}
