/*
 * history.h - the transactions the backup records: the audit trailers of
 * its snapshot commits (repo.h, bk_meta), gathered by transaction. history
 * lists them; rollback finds the transaction it undoes among them.
 *
 * A struct hist and everything it points to belong to it: hist_free
 * releases them. Its strings are as the trailers hold them (what operators
 * typed, in any encoding): callers make them safe before printing.
 */
#ifndef VCR_HISTORY_H
#define VCR_HISTORY_H

#include <jansson.h>

/*
 * The audit records, as the backup's snapshot commits carry them in their
 * trailers, gathered by transaction: bk_repo_list goes newest first, so the
 * first commit seen of a transaction holds its outcome.
 */
struct hist_txn {
	char		*txn;
	char		*result;
	char		*operator;
	char		*ticket;
	char		*reason;
	char		*plan;
	char		*elapsed;
	char		*steps;
	char		*timings;
	long long	 when;		/* of the outcome */
	char		 outcome[41];	/* the newest snapshot */
	char		 before[41];	/* the "before" snapshot */
	json_t		*snapshots;	/* newest first */
};

/* A commit that does not authenticate: never an outcome or a before. */
struct hist_bad {
	char		 id[41];
	long long	 when;
	char		*why;
	char		*txn;		/* what it claims, may be NULL */
	char		*result;
};

struct hist {
	struct hist_txn	*v;
	size_t		 n;
	struct hist_bad	*bad;
	size_t		 nbad;
};

/*
 * Adds one snapshot commit, given newest first (a bk_session_list_fn, arg
 * a struct hist, zeroed to begin with). A commit that does not
 * authenticate (bad not NULL) goes to h->bad only; one without a
 * Transaction trailer (a snapshot taken by hand) is passed over. -1 out
 * of memory.
 */
int  hist_add(const char *id, long long when, const char *message,
    const char *bad, void *arg);
void hist_free(struct hist *h);

#endif
