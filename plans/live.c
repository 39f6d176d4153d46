/*
 * live.c - a loaded plan held against the appliance as apply finds it, for
 * what the file alone cannot tell (load.c has checked the rest): every item
 * a replace or delete names exists, in its step's class, with the digest
 * the plan saw; nothing an add names exists yet; the Machine SSL names are
 * the PNID, a --san, or names the certificate has now; the VMCA root goes
 * only with a plan that replaces it; a certificate another CA issued is
 * replaced only with --issuer vmca; and a rollback could write back every
 * VECS entry replaced or deleted.
 *
 * Everything here reads the plan and the inventory, both the caller's.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cert.h"
#include "plan-int.h"
#include "findings.h"
#include "vcdb.h"
#include "vsan.h"
#include "rbd.h"

/* The VECS entry a place names (STORE/ALIAS, as plan_build writes it). */
static const struct inv_vecs_entry *
vecs_at(const struct inventory *inv, const char *place)
{
	size_t	 i;

	for (i = 0; i < inv->nvecs; i++) {
		char	*p = vecs_place(inv->vecs[i].store, inv->vecs[i].alias);
		int	 eq = p != NULL && strcmp(p, place) == 0;

		free(p);
		if (eq)
			return &inv->vecs[i];
	}
	return NULL;
}

/* The vmdir entry a DN names, among the entries a step of s's kind may
 * change: 1 with its digest and certificate, or 0. */
static int
live_entry(const struct inventory *inv, const struct plan_step *s,
    const char *dn, const char **digest, X509 **cert)
{
	size_t	 i;

	switch (s->kind) {
	case STEP_STS:
		for (i = 0; i < inv->nsts; i++)
			if (strcasecmp(inv->sts[i].dn, dn) == 0) {
				*digest = inv->sts[i].digest;
				return 1;
			}
		return 0;
	case STEP_SOLUTION_USER:
		for (i = 0; i < inv->nprincipals; i++)
			if (strcasecmp(inv->principals[i].dn, dn) == 0 &&
			    strcmp(inv->principals[i].solution,
			    s->solution) == 0) {
				*digest = inv->principals[i].digest;
				return 1;
			}
		return 0;
	case STEP_TRUST_ANCHORS:
		/* The inventory holds this node's endpoints alone. */
		for (i = 0; i < inv->nendpoints; i++)
			if (strcasecmp(inv->endpoints[i].dn, dn) == 0) {
				*digest = inv->endpoints[i].digest;
				return 1;
			}
		return 0;
	case STEP_CA_CHAIN:
	case STEP_VMCA_ROOT:
	case STEP_PRUNE_ROOTS:
		for (i = 0; i < inv->ncas; i++)
			if (strcasecmp(inv->cas[i].dn, dn) == 0) {
				*digest = inv->cas[i].digest;
				*cert = inv->cas[i].cert;
				return 1;
			}
		return 0;
	case STEP_DATA_ENCIPHERMENT:
	case STEP_MACHINE_SSL:
	case STEP_EXTENSION_THUMBPRINTS:
	case STEP_VSAN_HEALTH:
	case STEP_AUTODEPLOY:
	case STEP_RESTART:
	case STEP__MAX:
		break;
	}
	return 0;
}

/*
 * The item target t of step s names now: 1 with its digest (NULL for the
 * VMCA key, never digested) and its certificate (or NULL), 0 when there is
 * none.
 */
static int
live_item(const struct inventory *inv, const struct plan_step *s,
    const struct plan_target *t, const char **digest, X509 **cert)
{
	const struct inv_vecs_entry *e;
	const struct vcdb_row *r;

	*digest = NULL;
	*cert = NULL;
	switch (t->type) {
	case TARGET_VECS:
		if ((e = vecs_at(inv, t->place)) == NULL)
			return 0;
		*digest = e->digest;
		*cert = e->chain != NULL ? sk_X509_value(e->chain, 0) : NULL;
		return 1;
	case TARGET_FILE:
		if (strcmp(t->place, VSAN_CERT_FILE) == 0) {
			*digest = inv->vsan_digest;
			return inv->vsan_present;
		}
		if (strcmp(t->place, VSAN_KEY_FILE) == 0)
			return inv->vsan_present;	/* a secret: no digest */
		if (strcmp(t->place, VMCA_ROOT_FILE) != 0)
			return 1;	/* the key: apply reads it */
		*digest = inv->vmca_digest;
		return inv->vmca_digest[0] != '\0';
	case TARGET_VMDIR:
		return live_entry(inv, s, t->place, digest, cert);
	case TARGET_AUTODEPLOY: {
		const struct rbd_row *ar;

		if ((ar = rbd_row(inv->rbd, inv->nrbd,
		    rbd_place_id(t->place))) == NULL)
			return 0;
		*digest = ar->digest;
		return 1;
	}
	case TARGET_VCDB:
		/* A row is the thumbprint it holds: its digest. */
		if ((r = vcdb_row(inv->vcdb, inv->nvcdb,
		    vcdb_place_ext(t->place))) == NULL)
			return 0;
		*digest = r->digest;
		return 1;
	case TARGET_SERVICES:
	case TARGET__MAX:
		break;
	}
	return 0;
}

const char *
plan_live_digest(const struct inventory *inv, const struct plan_step *s,
    const struct plan_target *t)
{
	const char *d;
	X509	*x;

	return live_item(inv, s, t, &d, &x) ? d : "";
}

/* Every target as the plan saw it; else name what changed. */
static int
check_items(const struct plan *p, const struct inventory *inv,
    struct buf *err)
{
	const char *now, *why;
	X509	*x;
	size_t	 i, j, bad = 0;
	int	 found;

	for (i = 0; i < p->nsteps; i++)
		for (j = 0; j < p->steps[i].ntargets; j++) {
			const struct plan_step *s = &p->steps[i];
			const struct plan_target *t = &s->targets[j];

			if (t->type == TARGET_SERVICES)
				continue;	/* not content */
			found = live_item(inv, s, t, &now, &x);
			/* A replace or delete names an item that is there,
			 * whatever digest an edited plan gives it. */
			if (t->action == ACTION_ADD ? !found : found &&
			    (now == NULL || strcmp(now, t->digest) == 0))
				continue;
			why = t->action == ACTION_ADD ? "now exists" :
			    found ? "content differs" :
			    s->kind == STEP_TRUST_ANCHORS ? "gone, or not an "
			    "endpoint of this node" : "gone";
			if (bad++ == 0)
				buf_printf(err, "the appliance changed since the "
				    "plan was made; make a new plan. Changed:");
			buf_printf(err, "\n  %s (%s)", t->place, why);
		}
	return bad == 0 ? 0 : -1;
}

/* The Machine SSL names after the PNID: a --san of the plan, or a name the
 * certificate has now. */
static int
check_sans(const struct plan *p, const struct inventory *inv,
    struct buf *err)
{
	const struct inv_vecs_entry *e = inventory_vecs(inv,
	    "MACHINE_SSL_CERT", "__MACHINE_CERT");
	X509	*now = e != NULL && e->chain != NULL ?
	    sk_X509_value(e->chain, 0) : NULL;
	size_t	 i, k, m;
	int	 ok;

	for (i = 0; i < p->nsteps; i++) {
		const struct plan_step *s = &p->steps[i];

		if (s->kind != STEP_MACHINE_SSL || s->profile == NULL)
			continue;	/* an import was judged when loaded */
		for (k = 1; k < s->profile->nsan; k++) {
			const char *entry = s->profile->san[k].entry;

			ok = now != NULL && cert_san_has(now, entry);
			for (m = 0; !ok && m < p->policy.nsan; m++)
				ok = strcasecmp(p->policy.san[m], entry) == 0;
			if (!ok) {
				buf_printf(err, "step %d (machine_ssl): SAN %s "
				    "is neither the PNID, nor a --san of the "
				    "plan, nor a name of the Machine SSL "
				    "certificate now", s->n, entry);
				return -1;
			}
		}
	}
	return 0;
}

/* The VMCA root in use goes only with a plan that replaces it. */
static int
check_root_kept(const struct plan *p, const struct inventory *inv,
    struct buf *err)
{
	X509	*root = inv->vmca_root != NULL ?
	    sk_X509_value(inv->vmca_root, 0) : NULL, *x;
	const char *d;
	size_t	 i, j;

	for (i = 0; i < p->nsteps; i++)
		if (p->steps[i].kind == STEP_VMCA_ROOT)
			return 0;
	if (root == NULL)
		return 0;
	for (i = 0; i < p->nsteps; i++)
		for (j = 0; j < p->steps[i].ntargets; j++) {
			const struct plan_step *s = &p->steps[i];
			const struct plan_target *t = &s->targets[j];

			if (t->action != ACTION_DELETE ||
			    !live_item(inv, s, t, &d, &x) || x == NULL ||
			    !cert_equal(x, root))
				continue;
			buf_printf(err, "step %d (%s), delete %s: it holds the "
			    "VMCA root in use, which only a plan that replaces "
			    "the root removes", s->n, plan_kind_name(s->kind),
			    t->place);
			return -1;
		}
	return 0;
}

/*
 * A VECS entry the plan replaces or deletes must be one vecs-cli can write
 * back, or a rollback could not put it back: vecs-cli refuses a damaged
 * certificate or key on create. The operator removes such an entry first
 * (its bytes are in the backup), and the plan then adds one.
 */
static int
check_restorable(const struct plan *p, const struct inventory *inv,
    struct buf *err)
{
	const struct inv_vecs_entry *e;
	struct buf damaged = BUF_INIT, unread = BUF_INIT;
	size_t	 i, j;
	int	 ret = 0;

	for (i = 0; i < p->nsteps; i++)
		for (j = 0; j < p->steps[i].ntargets; j++) {
			const struct plan_target *t = &p->steps[i].targets[j];

			if (t->type != TARGET_VECS || t->action == ACTION_ADD ||
			    (e = vecs_at(inv, t->place)) == NULL ||
			    (e->bad == NULL && e->key_error == NULL))
				continue;
			/* Not known to be damaged: only not read this time. */
			if (e->bad == NULL && e->key_unread)
				buf_printf(&unread, "\n  %s (%s)", t->place,
				    e->key_error);
			else
				buf_printf(&damaged, "\n  %s (%s)", t->place,
				    e->bad != NULL ? e->bad : e->key_error);
		}
	if (damaged.len > 0) {
		buf_printf(err, "a rollback could not put back what these "
		    "entries hold now, as vecs-cli will not write it; take a "
		    "snapshot (vcrotate backup snapshot), delete them "
		    "(vecs-cli entry delete --store S --alias A -y) and make a "
		    "new plan:%s", buf_str(&damaged));
		ret = -1;
	}
	if (unread.len > 0) {
		buf_printf(err, "%sthese entries' keys could not be read "
		    "now (try again):%s", ret == -1 ? "\n" : "",
		    buf_str(&unread));
		ret = -1;
	}
	buf_free(&damaged);
	buf_free(&unread);
	return ret;
}

/*
 * A certificate another CA issued is replaced by a VMCA one only by a plan
 * made with --issuer vmca (plan holds it back else).
 */
static int
check_issuers(const struct plan *p, const struct inventory *inv,
    struct buf *err)
{
	const struct inv_vecs_entry *e;
	X509	*x;
	char	*issuer;
	size_t	 i, j;

	if (p->policy.issuer_vmca)
		return 0;
	for (i = 0; i < p->nsteps; i++)
		for (j = 0; j < p->steps[i].ntargets; j++) {
			const struct plan_step *s = &p->steps[i];
			const struct plan_target *t = &s->targets[j];

			if ((s->kind != STEP_MACHINE_SSL &&
			    s->kind != STEP_SOLUTION_USER) || s->import != NULL ||
			    t->type != TARGET_VECS ||
			    (e = vecs_at(inv, t->place)) == NULL ||
			    e->chain == NULL ||
			    plan_vmca_issued(inv, x = sk_X509_value(e->chain,
			    0)))
				continue;
			issuer = cert_issuer(x);
			buf_printf(err, "step %d (%s), replace %s: it holds a "
			    "certificate issued by %s, not by VMCA, which only "
			    "a plan made with --issuer vmca replaces with a VMCA "
			    "one", s->n, plan_kind_name(s->kind), t->place,
			    issuer != NULL ? issuer : "another CA");
			free(issuer);
			return -1;
		}
	return 0;
}

/*
 * A VCDB row whose certificate the plan keeps gets that certificate's
 * thumbprint as the plan saw it: it is still the one in VECS.
 */
static int
check_vcdb_after(const struct plan *p, const struct inventory *inv,
    struct buf *err)
{
	const struct inv_vecs_entry *e;
	char	*now;
	size_t	 i, j;
	int	 ok;

	for (i = 0; i < p->nsteps; i++)
		for (j = 0; j < p->steps[i].ntargets; j++) {
			const struct plan_target *t = &p->steps[i].targets[j];

			if ((t->type != TARGET_VCDB &&
			    t->type != TARGET_AUTODEPLOY) ||
			    t->thumbprint_after == NULL)
				continue;
			e = vecs_at(inv, t->follows);
			now = e != NULL && e->chain != NULL ?
			    cert_sha1_colons(sk_X509_value(e->chain, 0)) : NULL;
			ok = now != NULL && strcmp(now, t->thumbprint_after) == 0;
			free(now);
			if (ok)
				continue;
			buf_printf(err, "the appliance changed since the plan was "
			    "made; make a new plan. Changed:\n  %s (no longer "
			    "the certificate of thumbprint %s, which %s was to "
			    "get)", t->follows, t->thumbprint_after, t->place);
			return -1;
		}
	return 0;
}

int
plan_check_live(const struct plan *p, const struct inventory *inv,
    struct buf *err)
{
	/* An item changed since the plan first: the rest judges the plan
	 * against what it saw. */
	if (check_sans(p, inv, err) == -1 ||
	    check_root_kept(p, inv, err) == -1 ||
	    check_items(p, inv, err) == -1 ||
	    check_vcdb_after(p, inv, err) == -1 ||
	    check_issuers(p, inv, err) == -1 ||
	    check_restorable(p, inv, err) == -1)
		return -1;
	return 0;
}
