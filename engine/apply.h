/*
 * apply.h - the change an apply makes (apply.c): a plan (plan.h) carried
 * out as one transaction (txn.h). The caller (cmd_apply.c) opens the
 * transaction, reads the appliance once (inv), then:
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

/* A new certificate and key, made in the prepare phase. */
struct made {
	X509		*cert;
	EVP_PKEY	*key;
};

struct keygen;
struct writes;

struct apply {
	struct txn	*t;
	struct plan	*plan;		/* decoded and checked by plan_load */
	size_t		 nsteps;
	struct made	*made;		/* per step (empty for no profile) */
	const struct inventory *inv;	/* as preflight read it: the steps */
	struct keygen	*kg;		/* the new keys, in the making */
	X509		*root;		/* the VMCA root that signs */
	EVP_PKEY	*root_key;
	char		*tmpdir;	/* private_dir: keys on their way */
	int		 dry;		/* print, change nothing */
	const struct writes *w;		/* live, or printed (dry) */
	int		 per_step;	/* --restart per-step */
	int		 any_failure;	/* --rollback-on any-failure */
	struct buf	 start_failed;	/* service-control's words, when the
					 * one start failed (left to verify) */
	struct buf	 still_down;	/* then, after the verify: " a b", the
					 * services down before and now */
};

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
