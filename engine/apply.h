/*
 * apply.h - the change an apply makes (apply.c): a plan (plan.h) carried
 * out as one transaction (txn.h). apply and renew (cmd_apply.c,
 * cmd_renew.c) share it: each takes the lock and identifies the appliance
 * (txn_lock, txn_identify) and has a plan (a->plan, from a file or made
 * now), then:
 *
 *   apply_read                           the appliance, read once (inv)
 *   apply_preflight                      the plan against it, the VMCA key,
 *                                        service-control (read-only)
 *   apply_run                            the rest, as one transaction:
 *
 *   apply_start_keys, apply_load_vmca    preflight (read-only)
 *   apply_prepare                        every new certificate made, checked
 *   apply_steps                          the change (txn_ops.change); with
 *                                        dry, the same steps print what
 *                                        they would do and change nothing
 *   apply_verify, apply_after_record     the check (txn_ops.verify)
 *
 * Errors go to a->t->err, as everywhere in a transaction.
 */
#ifndef VCR_APPLY_H
#define VCR_APPLY_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "inventory.h"
#include "plan.h"
#include "txn.h"

/* Done and kept, though services that were down before still fail. */
#define APPLY_EXIT_KEPT_DOWN	2

/* A new certificate and key, made in the prepare phase. */
struct made {
	X509		*cert;
	EVP_PKEY	*key;
};

struct keygen;
struct writes;

/* How long apply waits, by default, for vmdir to replicate a new STS
 * credential to the other domain controllers (docs/domain.md). */
#define APPLY_REPLICATION_WAIT 120

struct apply {
	struct txn	*t;
	struct plan	*plan;		/* decoded and checked by plan_load */
	size_t		 nsteps;
	struct made	*made;		/* per step (empty for no profile) */
	const struct inventory *inv;	/* as preflight read it: the steps */
	struct keygen	*kg;		/* the new keys, in the making */
	X509		*root;		/* the VMCA root that signs */
	EVP_PKEY	*root_key;
	STACK_OF(X509)	*root_chain;	/* its issuers when VMCA is a
					 * subordinate CA (the plan's), or
					 * NULL */
	char		*tmpdir;	/* private_dir: keys on their way */
	int		 dry;		/* print, change nothing */
	const struct writes *w;		/* live, or printed (dry) */
	int		 per_step;	/* --restart per-step */
	int		 any_failure;	/* --rollback-on any-failure */
	int		 replication_wait;/* --replication-wait: seconds for
					 * the other domain controllers to
					 * hold a new STS credential before
					 * the restart (0: none) */
	struct buf	 start_failed;	/* service-control's words, when the
					 * one start failed (left to verify) */
	struct buf	 still_down;	/* then, after the verify: " a b", the
					 * services down before and now */
};

/* How apply_run goes: keep a failed change (--keep-on-failure); yes: do
 * not ask at a terminal; source: where the plan came from, said. */
struct apply_opts {
	int		 keep;
	int		 yes;
	const char	*source;
};

/*
 * The appliance read once for the plan (a->inv = inv; the caller frees
 * it with inventory_free once a->inv is set): -1 when a part of it cannot
 * be read (VECS, vmdir, the VMCA root), which a plan must see whole.
 */
int  apply_read(struct apply *a, struct inventory *inv);
/* The plan against the appliance as read (plan_check_live), the VMCA key,
 * service-control, the services stopped now. */
int  apply_preflight(struct apply *a);
/*
 * After preflight: prepare, the question at a terminal (unless yes), then
 * a dry run prints the steps and stops; else the backup session, the
 * before snapshot, the journal, txn_run (steps, restart, verify, commit or
 * roll back). The exit code (TXN_EXIT_*, APPLY_EXIT_KEPT_DOWN, 128+N);
 * *result the outcome in words.
 */
int  apply_run(struct apply *a, const struct apply_opts *o,
    const char **result);

/* The new keys, generated on worker threads while preflight goes on. */
int  apply_start_keys(struct apply *a);
/* The VMCA root and key that sign. */
int  apply_load_vmca(struct apply *a);
/* Every new certificate made and checked against its profile. */
int  apply_prepare(struct apply *a);
/* The plan's steps in order (inv: the appliance as preflight read it). */
int  apply_steps(struct apply *a, const struct inventory *inv);
/*
 * Services, the TLS endpoint, a fresh plan with nothing to do; *after is
 * the appliance as read for it (the caller frees it on success). After a
 * start that failed (start_failed), still_down names the services down
 * now that were down before too, and the outcome says so.
 */
int  apply_verify(struct apply *a, struct inventory *after);
/* The journal's "after" record: each item's digest now. */
int  apply_after_record(struct apply *a, const struct inventory *inv);
void apply_free(struct apply *a);

#endif
