/*
 * plan.h - replacement plans: what `vcrotate plan' decides from the check
 * findings, the JSON file a person reviews, and exactly what `apply' will do.
 *
 * The file is JSON (docs/plans.md): nothing is lost between review and
 * apply. Its "sha256" field covers the canonical form of everything else
 * (keys sorted, compact), so a plan edited after it was made is refused.
 * The seal is a checksum, not a signature: anyone can seal an edited plan
 * again. So plan_load does not stop at the seal: it decodes the file ONCE
 * into the types below and holds it to what plan_build itself would make
 * (known kinds and actions only, each target's place of a class its kind
 * may touch, leaf profiles never a CA, the SANs, the key sizes); a plan
 * that fails is refused with the step and target named, sealed or not.
 * What can only be judged against the appliance as it is (every replace
 * and delete names an existing item of its class with the digest the plan
 * saw, the SANs a Machine SSL certificate had) is plan_check_live's.
 * apply works from struct plan only; the JSON stays for plan_render.
 *
 * Ownership: plan_build returns a json_t * the caller owns (json_decref).
 * plan_load returns a struct plan the caller owns (plan_free); everything
 * in it (strings, steps, targets, profiles, doc) belongs to it, nothing is
 * borrowed from the file or the caller. solution points to solution_users[].
 */
#ifndef VCR_PLAN_H
#define VCR_PLAN_H

#include <stdio.h>
#include <time.h>

#include <jansson.h>

#include "appliance.h"
#include "buf.h"
#include "inventory.h"

#define PLAN_SCHEMA "vcrotate.plan/1"

enum plan_scope {
	SCOPE_ALL,
	SCOPE_ROOT,
	SCOPE_STS,
	SCOPE_SOLUTION_USERS,
	SCOPE_MACHINE_SSL,
};

struct plan_policy {
	time_t		  at;		/* now, or --at */
	int		  renew_within;	/* days: renew what expires sooner */
	enum plan_scope	  scope;
	int		  reset_all;	/* regenerate the VMCA root and all */
	int		  key_bits;	/* 2048, 3072, 4096 */
	int		  validity_days;/* of new leaves, clamped to the root */
	int		  prune_expired_roots;
	const char *const *san;		/* extra Machine SSL names: entries
					 * ("DNS:a", "IP:b", "email:c") */
	size_t		  nsan;
	const char *const *drop_san;	/* Machine SSL names not kept */
	size_t		  ndrop_san;
	int		  issuer_vmca;	/* --issuer vmca: VMCA replaces a
					 * certificate another CA issued */
};

/*
 * plan's defaults: scope all, 2048-bit keys, 730 days, and a renewal
 * window of renew_within days, which is check's warning window (warn_days
 * of the configuration, 180 unless set): by default plan renews what check
 * flags.
 */
void plan_policy_default(struct plan_policy *pol, time_t at,
    int renew_within);

/* "all", "root", ... <-> enum; -1 when unknown. */
int         plan_scope_parse(const char *s);
const char *plan_scope_name(enum plan_scope s);

/* The kinds of step, in the order a plan holds them. */
enum step_kind {
	STEP_CA_CHAIN,		/* a company CA's chain published (--import) */
	STEP_VMCA_ROOT,
	STEP_STS,
	STEP_SOLUTION_USER,
	STEP_DATA_ENCIPHERMENT,
	STEP_MACHINE_SSL,
	STEP_TRUST_ANCHORS,
	STEP_PRUNE_ROOTS,
	STEP_EXTENSION_THUMBPRINTS,
	STEP_VSAN_HEALTH,
	STEP_AUTODEPLOY,
	STEP_RESTART,
	STEP__MAX
};

enum target_type {
	TARGET_VECS,		/* place: STORE/ALIAS */
	TARGET_VMDIR,		/* place: a DN */
	TARGET_FILE,		/* place: an appliance path */
	TARGET_SERVICES,	/* place: service-control */
	TARGET_VCDB,		/* place: VCDB/vpx_ext/<ext_id> (vcdb.h) */
	TARGET_AUTODEPLOY,	/* place: AutoDeploy/vc_servers/<rowid> (rbd.h) */
	TARGET__MAX
};

enum target_action {
	ACTION_REPLACE,
	ACTION_ADD,
	ACTION_DELETE,
	ACTION_RESTART,
	ACTION__MAX
};

/* The file's names ("vmca_root", "vecs", "replace"). */
const char *plan_kind_name(enum step_kind k);
const char *plan_type_name(enum target_type t);
const char *plan_action_name(enum target_action a);

/* Key usage and extended key usage, as bits of a profile. */
#define PLAN_KU_DIGITAL_SIGNATURE	0x01
#define PLAN_KU_KEY_ENCIPHERMENT	0x02
#define PLAN_KU_DATA_ENCIPHERMENT	0x04
#define PLAN_KU_KEY_CERT_SIGN	0x08
#define PLAN_KU_CRL_SIGN		0x10
#define PLAN_EKU_SERVER_AUTH		0x01
#define PLAN_EKU_CLIENT_AUTH		0x02

/*
 * The names of the usages set in bits (extended: PLAN_EKU_*, else
 * PLAN_KU_*), as the file and OpenSSL's configuration spell them, in a
 * fixed order, joined by sep: malloc'd, "" when none, NULL when out of
 * memory.
 */
char *plan_usage_names(unsigned bits, int extended, const char *sep);

enum san_type { SAN_DNS, SAN_IP, SAN_EMAIL };

struct plan_san {
	enum san_type	 type;
	char		*entry;		/* "DNS:name", "IP:address" or
					 * "email:address" */
};

/* A new certificate, as a step's "profile". */
struct cert_profile {
	char		*subject;	/* "CN=a, OU=b, DC=c" */
	struct plan_san	*san;
	size_t		 nsan;
	unsigned	 key_usage;	/* PLAN_KU_* */
	unsigned	 ext_key_usage;	/* PLAN_EKU_* */
	int		 ca;
	int		 key_bits;	/* RSA */
	int		 validity_days;
	time_t		 not_after_max;
	char		*issuer;	/* for the reviewer: "self", ... */
};

struct plan_target {
	enum target_type	 type;
	enum target_action	 action;
	char			*place;	/* the bytes (any alias), NUL-ended */
	char			 digest[DIGEST_LEN];	/* "": none (null) */
	/*
	 * A vcdb or autodeploy target's (NULL for the others): the
	 * thumbprint the row
	 * holds now (digest is over it), the certificate it follows
	 * (STORE/ALIAS), and the thumbprint it gets when that certificate
	 * stays (NULL: the plan makes a new one, known at apply).
	 */
	char			*thumbprint;
	char			*follows;
	char			*thumbprint_after;
};

/*
 * A certificate another CA issued, brought in by plan --import (the
 * step's "import"): for a machine_ssl or solution_user step the
 * certificate, its issuers up to a self-signed root, and key_id, the
 * SHA-256 of its public key, by which its key is found on the backup's
 * csr-keys branch (never in the plan); for a ca_chain step cert NULL,
 * key_id "", chain the CAs the step publishes.
 */
struct plan_import {
	X509		*cert;
	STACK_OF(X509)	*chain;
	char		 key_id[65];
};

struct plan_step {
	int			 n;		/* 1, 2, ... */
	enum step_kind		 kind;
	char			*title;
	struct cert_profile	*profile;	/* NULL: no new certificate */
	struct plan_import	*import;	/* NULL: not an import */
	const char		*solution;	/* STEP_SOLUTION_USER's user */
	struct plan_target	*targets;
	size_t			 ntargets;
};

struct plan {
	json_t			*doc;	/* the file (places decoded): render */
	char			 sha256[65];
	struct appliance	 app;	/* pnid, machine_id, domain (and its
					 * domain_dn), site, node_type */
	struct plan_policy	 policy;/* at: when it was made */
	char			**san;	/* owns policy.san */
	char			**drop_san;	/* owns policy.drop_san */
	struct plan_step	*steps;
	size_t			 nsteps;
};

/*
 * Builds the plan for an inventory that was read completely (the caller
 * refuses partial inventories). Returns the sealed plan, or NULL when out
 * of memory. A plan with no step but the restart is never made: *nothing is
 * set to 1 and NULL returned, with *held (the caller's, json_decref) the
 * lines about certificates kept because another CA than VMCA issued them
 * (the plan itself lists them first in its left_alone).
 */
json_t *plan_build(const struct inventory *inv, const struct plan_policy *pol,
    int *nothing, json_t **held);

/* The subject plan gives a Machine SSL (sol NULL) or solution user's
 * certificate: malloc'd, NULL when out of memory. */
char *plan_leaf_subject(const struct appliance *app, const char *sol);

/*
 * Whether VMCA issued x: its issuer is the VMCA root's subject (1 also when
 * the root is unknown: nothing to tell them apart by).
 */
int plan_vmca_issued(const struct inventory *inv, X509 *x);

/*
 * Imports (plan --import, plans/import.c). One certificate to install:
 * what (machine-ssl or a solution user), its kind (STEP_MACHINE_SSL or
 * STEP_SOLUTION_USER), the certificate and its chain as plan_import_chain
 * orders it, and the SHA-256 of its public key (the caller has found or
 * sealed its key under that id on the csr-keys branch). All borrowed.
 */
struct plan_import_req {
	const char	*what;
	enum step_kind	 kind;
	X509		*cert;
	STACK_OF(X509)	*chain;
	char		 key_id[65];
};

/* Every certificate of a PEM text, fully decoded: 0, or -1 (err says
 * what) when there is none or one cannot be read. */
int plan_import_pem(const char *pem, size_t len, STACK_OF(X509) **out,
    const char *what, struct buf *err);

/*
 * The issuers of leaf, taken from pool, in order up to a self-signed root
 * (*chain, the caller's: sk_X509_pop_free). -1 when one is missing, err
 * naming the issuer (DN) that is not in pool.
 */
int plan_import_chain(X509 *leaf, STACK_OF(X509) *pool,
    STACK_OF(X509) **chain, struct buf *err);

/*
 * Whether leaf, with its chain (issuer first, root last), is one vCenter
 * can use as a certificate of kind (STEP_VMCA_ROOT: VMCA's signing
 * certificate, an RSA CA with keyCertSign) (STEP_MACHINE_SSL: its SAN holds
 * pnid_san, serverAuth where it has extended key usages): each one issued
 * by the next and the last self-signed, their signatures verified, none
 * expired or not yet valid at `at', the chain's CAs CA:TRUE, the leaf not
 * a CA, RSA of 2048 bits or more, digitalSignature and keyEncipherment.
 * -1 with the first problem in err.
 */
int plan_import_judge(X509 *leaf, STACK_OF(X509) *chain, enum step_kind kind,
    const char *pnid_san, time_t at, struct buf *err);

/* SHA-256 (hex) of the DER public key of k: how an import finds its key. */
int plan_pubkey_id(EVP_PKEY *k, char out[65]);

/*
 * The plan that installs n imported certificates: the CAs of their chains
 * not yet in TRUSTED_ROOTS or vmdir published (ca_chain), each certificate
 * with its key (machine_ssl, solution_user), the Lookup Service endpoints
 * trusting a new Machine SSL certificate (trust_anchors), the restart.
 * Returns the sealed plan, NULL when out of memory.
 */
json_t *plan_import_build(const struct inventory *inv,
    const struct plan_policy *pol, const struct plan_import_req *req,
    size_t n);

/*
 * VMCA as a subordinate CA (certificate-manager option 2): r is
 * vmca-root, a CA certificate the company CA issued (kind STEP_VMCA_ROOT)
 * with the key sealed under its id. The plan of --reset-all, its vmca_root
 * step installing r instead of a new self-signed root, the company chain
 * published first (ca_chain), everything VMCA signs reissued under it and
 * lasting no longer. NULL when out of memory.
 */
json_t *plan_subordinate_build(const struct inventory *inv,
    const struct plan_policy *pol, const struct plan_import_req *r);

/* Sets "sha256" over the canonical form of the rest. 0 or -1. */
int plan_seal(json_t *plan);

/*
 * Reads and checks a plan file: JSON, the schema version, every field
 * present with its type (the message names a missing, mistyped or unknown
 * field), the rules of docs/plans.md ("What a plan may do"), and the
 * SHA-256. 0 with *out set, or -1 with the reason in err.
 */
int  plan_load(struct plan **out, const char *path, struct buf *err);

/*
 * The checks of plan_load but the seal, on a plan document (not changed;
 * *out holds a reference to it): for tests of the rules.
 */
int  plan_decode(struct plan **out, json_t *doc, struct buf *err);

void plan_free(struct plan *p);

/* Whether the plan was made on this appliance (PNID and machine id). */
int plan_check_appliance(const struct plan *p, const struct appliance *app,
    struct buf *err);

/*
 * The plan against the appliance as apply found it: every replace and
 * delete names an existing item of its step's class (this node's endpoints,
 * the step's own principal, ...) whose digest is the one in the plan, and
 * every add one that does not exist; the Machine SSL names are the PNID,
 * a --san of the plan, or in the certificate now; the VMCA root is removed
 * only by a plan that replaces it; a certificate another CA than VMCA
 * issued only by a plan made with --issuer vmca; and every VECS entry
 * replaced or deleted is one a rollback can write back. -1 with every
 * reason in err.
 */
int plan_check_live(const struct plan *p, const struct inventory *inv,
    struct buf *err);

/*
 * The digest of what a target names now, in its step's class: "" when
 * there is no such item, NULL when it has no digest (the VMCA key).
 */
const char *plan_live_digest(const struct inventory *inv,
    const struct plan_step *s, const struct plan_target *t);

/* The plan in plain words, for review. */
int plan_render(FILE *out, json_t *plan);

/* Writes the plan file atomically (0600: it names the appliance). */
int plan_write(const char *path, json_t *plan, struct buf *err);

#endif
