/*
 * cmd_check.c - vcrotate check: every certificate on the appliance, what is
 * wrong with it, for people (text) and for monitoring (JSON, a Prometheus
 * textfile, and exit codes as monitoring plugins use them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "findings.h"
#include "inventory.h"
#include "report.h"

static const char usage_text[] =
    "usage: vcrotate [--root DIR] [--config FILE] check [--json]\n"
    "                [--prometheus FILE] [--warn-days N] [--crit-days N]\n"
    "                [--at DATE] [--ldap-uri URI] [--bind-dn DN]\n"
    "                [--password-file FILE] [--starttls] [--ca-file FILE]\n";

int
parse_time(const char *s, time_t *out)
{
	static const char *const fmts[] = {
		"%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%MZ",
		"%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M",
		"%Y-%m-%d",
	};
	struct tm tm;
	const char *end;
	char	*e;
	size_t	 i;
	long long v;

	if (s[0] == '@') {
		v = strtoll(s + 1, &e, 10);
		if (s[1] == '\0' || *e != '\0')
			return -1;
		*out = (time_t)v;
		return 0;
	}
	for (i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, fmts[i], &tm);
		if (end != NULL && *end == '\0') {
			*out = timegm(&tm);
			return 0;
		}
	}
	return -1;
}

int
cmd_check(int argc, char *argv[], struct config *cfg)
{
	struct inventory inv;
	struct findings f = { NULL, 0 };
	struct vmdir_login login = { NULL, NULL, NULL };
	struct policy pol;
	struct report rep;
	struct buf err = BUF_INIT, login_err = BUF_INIT;
	const char *prom = NULL;
	int	 i, r, json = 0, have_login = 0, have_inv = 0, d;
	int	 ret = CHECK_UNKNOWN;
	int	 warn = -1, crit = -1;
	time_t	 at = time(NULL);

	for (i = 1; i < argc; i++) {
		if ((r = config_option(cfg, argc, argv, &i)) == -1)
			goto usage;
		if (r == 1)
			continue;
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "--prometheus") == 0 && i + 1 < argc)
			prom = argv[++i];
		else if ((strcmp(argv[i], "--warn-days") == 0 ||
		    strcmp(argv[i], "--crit-days") == 0) && i + 1 < argc) {
			if ((d = parse_days(argv[i + 1])) < 0) {
				fprintf(stderr, "vcrotate check: %s must be a "
				    "number of days, not '%s'\n", argv[i],
				    argv[i + 1]);
				return CHECK_UNKNOWN;
			}
			if (argv[i][2] == 'w')
				warn = d;
			else
				crit = d;
			i++;
		} else if (strcmp(argv[i], "--at") == 0 && i + 1 < argc) {
			if (parse_time(argv[++i], &at) == -1) {
				fprintf(stderr, "vcrotate check: --at: cannot "
				    "read '%s' as a date (YYYY-MM-DD[THH:MM:SS], "
				    "UTC, or @EPOCH)\n", argv[i]);
				return CHECK_UNKNOWN;
			}
		} else if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			fputs(usage_text, stdout);
			return CHECK_OK;
		} else
			goto usage;
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
	if (r == -1 || fflush(stdout) == EOF) {
		fprintf(stderr, "vcrotate check: cannot write the report\n");
		goto out;
	}
	if (prom != NULL && report_prometheus(prom, &rep) == -1) {
		fprintf(stderr, "vcrotate check: %s: cannot write the "
		    "Prometheus textfile: %m\n", prom);
		goto out;
	}
	ret = rep.status;
	goto out;
usage:
	fputs(usage_text, stderr);
	ret = CHECK_UNKNOWN;
out:
	findings_free(&f);
	if (have_inv)
		inventory_free(&inv);
	vmdir_login_free(&login);
	buf_free(&err);
	buf_free(&login_err);
	return ret;
}
