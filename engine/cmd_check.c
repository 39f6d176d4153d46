/*
 * cmd_check.c - vcrotate check: every certificate on the appliance, what is
 * wrong with it, for people (text) and for monitoring (JSON, a Prometheus
 * textfile, and exit codes as monitoring plugins use them).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "findings.h"
#include "inventory.h"
#include "report.h"

/* --warn-days or --crit-days N: N, or -1 (said why) when it is not days. */
static int
days_option(const struct cmdline *cl, const char *name, int *out)
{
	const char *v = cmdline_get(cl, name);

	if (v == NULL)
		return 0;
	if ((*out = parse_days(v)) < 0) {
		fprintf(stderr, "vcrotate check: %s must be a number of days, "
		    "not '%s'\n", name, v);
		return -1;
	}
	return 0;
}

int
cmd_check(const struct cmdline *cl, struct config *cfg)
{
	struct inventory inv;
	struct findings f = { NULL, 0 };
	struct vmdir_login login = { 0 };
	struct policy pol;
	struct report rep;
	struct buf err = BUF_INIT, login_err = BUF_INIT, perr = BUF_INIT;
	const char *prom = cmdline_get(cl, "--prometheus"), *v;
	int	 r, json = cmdline_get(cl, "--json") != NULL;
	int	 have_login = 0, have_inv = 0, ret = CHECK_UNKNOWN;
	int	 warn = -1, crit = -1;
	time_t	 at = time(NULL);

	if (days_option(cl, "--warn-days", &warn) == -1 ||
	    days_option(cl, "--crit-days", &crit) == -1)
		return CHECK_UNKNOWN;
	if ((v = cmdline_get(cl, "--at")) != NULL && parse_time(v, &at) == -1) {
		fprintf(stderr, "vcrotate check: --at: cannot read '%s' as a "
		    "date (YYYY-MM-DD[THH:MM:SS], UTC, or @EPOCH)\n", v);
		return CHECK_UNKNOWN;
	}
	cfg->warn_days = warn;
	cfg->crit_days = crit;
	if (config_load(cfg, &err) == -1) {
		fprintf(stderr, "vcrotate check: %s\n", err.len ? buf_str(&err) :
		    "out of memory");
		goto out;
	}
	if (cfg->crit_days > cfg->warn_days) {
		fprintf(stderr, "vcrotate check: the critical threshold (%d "
		    "days) is above the warning threshold (%d days)\n",
		    cfg->crit_days, cfg->warn_days);
		goto out;
	}
	pol.at = at;
	pol.warn_days = cfg->warn_days;
	pol.crit_days = cfg->crit_days;

	if (config_login(cfg, &login, &login_err) == 0)
		have_login = 1;
	if (inventory_read(&inv, cfg->root, have_login ? &login : NULL,
	    buf_str(&login_err)) == -1) {
		fprintf(stderr, "vcrotate check: out of memory\n");
		goto out;
	}
	have_inv = 1;
	if (findings_evaluate(&inv, &pol, &f) == -1) {
		fprintf(stderr, "vcrotate check: out of memory\n");
		goto out;
	}
	rep.inv = &inv;
	rep.policy = &pol;
	rep.findings = &f;
	rep.status = report_status(&inv, &f);
	if (json)
		r = report_json(stdout, &rep);
	else
		r = report_text(stdout, &rep, isatty(STDOUT_FILENO) &&
		    getenv("NO_COLOR") == NULL);
	/* A reader that stopped reading (check | head) chose to: the status
	 * is still the appliance's, as the monitoring plugins' rule is. */
	if ((r == -1 || fflush(stdout) == EOF) && errno != EPIPE) {
		fprintf(stderr, "vcrotate check: cannot write the report: "
		    "%s\n", strerror(errno));
		goto out;
	}
	if (prom != NULL && report_prometheus(prom, &rep, &perr) == -1) {
		if (perr.len == 0)
			buf_printf(&perr, "%s: out of memory", prom);
		fprintf(stderr, "vcrotate check: cannot write the Prometheus "
		    "textfile: %s\n", buf_str(&perr));
		goto out;
	}
	ret = rep.status;
out:
	findings_free(&f);
	if (have_inv)
		inventory_free(&inv);
	vmdir_login_free(&login);
	buf_free(&err);
	buf_free(&login_err);
	buf_free(&perr);
	return ret;
}
