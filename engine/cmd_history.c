/*
 * cmd_history.c - vcrotate history: the transactions the backup records
 * (history.h), newest first, as text or JSON, and the snapshot commits that
 * claim to be a transaction's but do not authenticate.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "commands.h"
#include "history.h"
#include "safetext.h"
#include "session.h"

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
	if (backup_session_list(bk, hist_add, h, err) == -1) {
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
