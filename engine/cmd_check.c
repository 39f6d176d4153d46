/*
 * cmd_check.c - vcrotate check: every certificate on the appliance, what is
 * wrong with it, for people (text) and for monitoring (JSON, a Nagios /
 * Icinga plugin's output, Prometheus metrics on stdout or as a textfile,
 * and exit codes as monitoring plugins use them).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cert.h"
#include "commands.h"
#include "domain.h"
#include "findings.h"
#include "inventory.h"
#include "plan.h"
#include "report.h"

enum format { F_TEXT, F_JSON, F_NAGIOS, F_PROMETHEUS };

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

/* --format NAME (or --json): the output; -1 (said why) when unknown. */
static int
format_option(const struct cmdline *cl, enum format *out)
{
	static const char *const names[] = { "text", "json", "nagios",
	    "prometheus", NULL };
	const char *v = cmdline_get(cl, "--format");
	int	 i;

	*out = cmdline_get(cl, "--json") != NULL ? F_JSON : F_TEXT;
	if (v == NULL)
		return 0;
	for (i = 0; names[i] != NULL; i++)
		if (strcmp(v, names[i]) == 0) {
			if (*out == F_JSON && i != F_JSON)
				break;
			*out = (enum format)i;
			return 0;
		}
	fprintf(stderr, "vcrotate check: --format %s: %s\n", v,
	    names[i] != NULL ? "--json asks for json" :
	    "text, json, nagios or prometheus");
	return -1;
}

/* The nodes of inv's domain, for an error message ("a, b, c"), or "none
 * listed"; static storage, cut at 512 bytes. */
static const char *
nodes_list(const struct inventory *inv)
{
	static char s[512];
	size_t	 i, len = 0;

	s[0] = '\0';
	for (i = 0; i < inv->nnodes && len < sizeof(s); i++)
		len += (size_t)snprintf(s + len, sizeof(s) - len, "%s%s",
		    i > 0 ? ", " : "", inv->nodes[i].pnid);
	return s[0] != '\0' ? s : "none listed";
}

/* The first other node whose endpoints serve other than they are
 * registered with (NODE_TRUST_ANCHOR_STALE), or NULL. */
static const char *
peers_stale(const struct inventory *inv)
{
	size_t	 i;

	for (i = 0; i < inv->npeer_endpoints; i++)
		if (inventory_endpoint_state(&inv->peer_endpoints[i]) ==
		    EP_STALE)
			return inv->peer_endpoints[i].host;
	return NULL;
}

/*
 * What to run next: the command that fixes what was found, never one that
 * would say "nothing to do". plan decides that itself: the plan it would
 * make, with the defaults and check's window, is built (and thrown away).
 * Into next; nothing when nothing needs doing. -1 out of memory.
 */
static int
next_step(struct buf *next, const struct inventory *inv,
    const struct findings *f, const struct policy *pol, int window_given)
{
	struct plan_policy pp;
	size_t	 i, n[SEV__MAX];
	json_t	*plan, *held = NULL;
	int	 nothing = 0, prune = 0, other_ca;

	report_count(f, n);
	/* Nothing found but VCDB unread: its server is down. */
	if (n[SEV_CRITICAL] + n[SEV_WARNING] == 0 && inv->vcdb_error.len > 0)
		return buf_puts(next, "service-control --start vmware-vpostgres, "
		    "then check again (VCDB is read through its server)");
	if (n[SEV_CRITICAL] + n[SEV_WARNING] == 0)
		return 0;
	if (!report_complete(inv))
		return buf_puts(next, "make the parts NOT READ above readable, "
		    "then check again (a plan needs the whole appliance)");
	for (i = 0; i < f->n; i++)
		if (f->v[i].sev == SEV_WARNING &&
		    strcmp(f->v[i].code, "ROOT_EXPIRED") == 0)
			prune = 1;
	/* An unused expired root (a ROOT_EXPIRED warning) is exactly what
	 * --prune-expired-roots deletes: that plan has a step. Otherwise the
	 * plan plan would make tells. */
	if (!prune) {
		plan_policy_default(&pp, pol->at, pol->warn_days);
		plan = plan_build(inv, &pp, &nothing, &held);
		other_ca = json_array_size(held) > 0;
		json_decref(held);
		if (plan == NULL && nothing && other_ca)
			return buf_puts(next, "vcrotate csr, then have the CA "
			    "that issued them sign what is due (docs/"
			    "company-ca.md; vcrotate plan names them)");
		if (plan == NULL && nothing && peers_stale(inv) != NULL)
			return buf_printf(next, "vcrotate plan on %s   (its "
			    "endpoints' registrations are its to fix)",
			    peers_stale(inv));
		if (plan == NULL)
			return nothing ? buf_puts(next, "no plan step fixes "
			    "what was found: do what each finding says, then "
			    "check again") : -1;
		json_decref(plan);
	}
	if (buf_puts(next, "vcrotate plan") == -1 ||
	    (prune && buf_puts(next, " --prune-expired-roots") == -1) ||
	    (window_given && buf_printf(next, " --renew-within %d",
	    pol->warn_days) == -1))
		return -1;
	return buf_printf(next, "   (%s; nothing is changed)", prune ?
	    "a plan to review that removes the expired roots signing nothing "
	    "in use, and replaces what is due" :
	    "an ordered replacement plan to review");
}

static int
write_report(const struct report *rep, enum format fmt)
{
	switch (fmt) {
	case F_JSON:
		return report_json(stdout, rep);
	case F_NAGIOS:
		return report_nagios(stdout, rep);
	case F_PROMETHEUS:
		return report_prometheus_out(stdout, rep);
	case F_TEXT:
		break;
	}
	return report_text(stdout, rep, isatty(STDOUT_FILENO) &&
	    getenv("NO_COLOR") == NULL);
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
	struct buf next = BUF_INIT;
	struct root_use *use = NULL;
	const char *prom = cmdline_get(cl, "--prometheus"), *v, *node;
	enum format fmt;
	int	 r, have_login = 0, have_inv = 0, ret = CHECK_UNKNOWN;
	int	 warn = -1, crit = -1;
	time_t	 at = time(NULL);

	if (format_option(cl, &fmt) == -1 ||
	    days_option(cl, "--warn-days", &warn) == -1 ||
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
	    buf_str(&login_err), INV_NO_DIGESTS) == -1) {
		fprintf(stderr, "vcrotate check: out of memory\n");
		goto out;
	}
	have_inv = 1;
	if ((node = cmdline_get(cl, "--node")) != NULL &&
	    inv.vmdir_parts[VMDIR_PART_NODES].read &&
	    inventory_node(&inv, node) == NULL) {
		fprintf(stderr, "vcrotate check: --node %s: no such node in the "
		    "SSO domain (%s)\n", node, nodes_list(&inv));
		goto out;
	}
	/* The other nodes, as their services see them. */
	if (domain_probe(&inv, have_login ? &login : NULL, node) == -1 ||
	    findings_evaluate(&inv, &pol, &f) == -1) {
		fprintf(stderr, "vcrotate check: out of memory\n");
		goto out;
	}
	/* Which roots serve: the metrics and the perfdata leave the others
	 * out of what alerts. */
	if ((prom != NULL || fmt == F_NAGIOS || fmt == F_PROMETHEUS) &&
	    (use = root_use_new(&inv)) == NULL) {
		fprintf(stderr, "vcrotate check: out of memory\n");
		goto out;
	}
	if (next_step(&next, &inv, &f, &pol, warn >= 0) == -1) {
		fprintf(stderr, "vcrotate check: out of memory\n");
		goto out;
	}
	rep.inv = &inv;
	rep.policy = &pol;
	rep.findings = &f;
	rep.status = report_status(&inv, &f);
	rep.next = next.len > 0 ? buf_str(&next) : NULL;
	rep.use = use;
	r = write_report(&rep, fmt);
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
	root_use_free(use);
	buf_free(&next);
	findings_free(&f);
	if (have_inv)
		inventory_free(&inv);
	vmdir_login_free(&login);
	buf_free(&err);
	buf_free(&login_err);
	buf_free(&perr);
	return ret;
}
