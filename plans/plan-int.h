/*
 * plan-int.h - what the parts of plans/ share and nobody else needs: the
 * places and forms plan_build writes (plan.c) and plan_load holds a plan to
 * (load.c), so that the builder and the rules cannot drift apart; and the
 * canonical digest behind the seal.
 */
#ifndef VCR_PLAN_INT_H
#define VCR_PLAN_INT_H

#include "plan.h"

#define ROOT_VALIDITY_DAYS 3650
/*
 * The STS signing certificate lasts what vCenter itself gives it: ten
 * years of 365 days (Lightwave, vmidentity/idm/server/.../IdentityManager.java
 * generateAndSetDefaultTenantCredentials, line 7526: now + 10 *
 * VMCA_TIME_SECS_PER_YEAR), cut at the notAfter of the VMCA root that signs
 * it, as VMCA does (vmca/service/utils.c, lines 374-389).
 */
#define STS_VALIDITY_DAYS 3650
#define VMCA_ROOT_FILE	"/var/lib/vmware/vmca/root.cer"
#define VMCA_KEY_FILE	"/var/lib/vmware/vmca/privatekey.pem"
/* What a new root's entries will be called is only known when it is made. */
#define NEW_ROOT_VECS	"TRUSTED_ROOTS/(SHA-1 of the new root)"
#define NEW_ROOT_CA	"cn=(key id of the new root),cn=Certificate-Authorities," \
			"cn=Configuration"
/* In a plan_target while loading: the file's digest is not one. */
#define DIGEST_BAD	"!"
#define ISSUER_SELF	"self"
#define ISSUER_ROOT	"the VMCA root"
#define ISSUER_NEW_ROOT	"the new VMCA root"

/* The file's name <-> enum; -1 when unknown. */
int plan_kind_parse(const char *s);
int plan_type_parse(const char *s);
int plan_action_parse(const char *s);
/* A usage's bit (PLAN_KU_*, or PLAN_EKU_* when extended), 0 when unknown. */
unsigned plan_usage_parse(const char *s, int extended);

/*
 * The subject plan_build gives a step's certificate, from the appliance's
 * identity (sol: the solution user's name): malloc'd, NULL when out of
 * memory or for a kind that makes none.
 */
char *plan_subject(enum step_kind k, const struct appliance *app,
    const char *sol);

/* The validity a plan gives a step's certificate: the root's, the STS's
 * (above), else the policy's validity_days for a leaf. */
int plan_validity_days(enum step_kind k, const struct plan_policy *pol);

/* plan.c's JSON pieces, which import.c shares: a target (digest NULL or
 * "": none), a VECS target (an add when the entry is not there), the
 * "appliance" and "policy" objects, and a plan document around steps
 * (sealed; NULL when out of memory). */
json_t *plan_target_json(enum target_type type, const char *place,
    enum target_action action, const char *digest);
json_t *plan_vecs_target(const struct inventory *inv, const char *store,
    const char *alias, enum target_action action);
json_t *plan_document(const struct inventory *inv,
    const struct plan_policy *pol, json_t *steps, json_t *left_alone);
/* The restart step, numbered n. */
json_t *plan_restart_step(size_t n);

/*
 * The targets of an extension_thumbprints step: every VCDB row following
 * a certificate made(arg, store) says the plan makes, and with
 * stale_too every row in pol's scope that does not hold the thumbprint
 * of its certificate now. Rows without a thumbprint and extensions
 * vcrotate does not know are left alone. NULL when there is none.
 */
json_t *plan_vcdb_targets(const struct inventory *inv,
    const struct plan_policy *pol, int (*made)(void *, const char *),
    void *arg, int stale_too);
#define PLAN_VCDB_TITLE	"update the extensions' certificate thumbprints " \
	"in VCDB (vpx_ext), in one SQL transaction"

/*
 * The targets of a vsan_health step: vsan-health's copy of vpxd-extension
 * (vsan.h), its certificate with its digest and its key (none: a secret),
 * when the appliance has the copy and made(arg, "vpxd-extension") says the
 * plan makes that certificate, or stale (the copy is) and pol's scope
 * holds the solution users. NULL when none.
 */
json_t *plan_vsan_targets(const struct inventory *inv,
    const struct plan_policy *pol, int (*made)(void *, const char *),
    void *arg, int stale);
#define PLAN_VSAN_TITLE	"copy vpxd-extension's certificate and key to " \
	"vsan-health (/storage/vsan-health)"

/*
 * The targets of an autodeploy_thumbprints step: Auto Deploy's vc_servers
 * rows (rbd.h), all of them when made(arg, "MACHINE_SSL_CERT") says the
 * plan renews Machine SSL, else, with stale_too, those not holding its
 * thumbprint when pol's scope holds Machine SSL. Each with the thumbprint
 * it holds, RBD_FOLLOWS and thumbprint_after (null: the new one). NULL
 * when none.
 */
json_t *plan_rbd_targets(const struct inventory *inv,
    const struct plan_policy *pol, int (*made)(void *, const char *),
    void *arg, int stale_too);
#define PLAN_RBD_TITLE	"update Auto Deploy's vc_servers thumbprints " \
	"(sqlite3), in one SQLite transaction"

/* The SHA-1 (TRUSTED_ROOTS alias) and vmdir CA entry DN under which a
 * ca_chain step publishes CA x (upper: the key id in upper case, as the
 * appliance's entries have it), malloc'd; NULL when x has no subject key
 * identifier or out of memory. */
char *plan_ca_dn(X509 *x, const char *domain_dn, int upper);

/* SHA-256 (hex) of the canonical form of everything but "sha256". */
int plan_digest(json_t *plan, char out[65]);

#endif
