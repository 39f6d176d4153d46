/*
 * history.c - the transactions in the backup's snapshot commits. See
 * history.h.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "history.h"
#include "repo.h"
#include "safetext.h"

int
hist_add(const char *id, long long when, const char *message,
    const char *bad, void *arg)
{
	struct hist *h = arg;
	struct hist_txn *x = NULL, *nv;
	struct hist_bad *b;
	char	*txn = bk_trailer(message, "Transaction");
	char	*res = bk_trailer(message, "Result");
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
		x->operator = bk_trailer(message, "Operator");
		x->ticket = bk_trailer(message, "Ticket");
		x->reason = bk_trailer(message, "Reason");
		x->plan = bk_trailer(message, "Plan");
		x->elapsed = bk_trailer(message, "Elapsed");
		x->steps = bk_trailer(message, "Steps");
		x->timings = bk_trailer(message, "Timings");
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

void
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
