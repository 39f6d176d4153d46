/*
 * plan.h - replacement plans: what `vcrotate plan' decides from the check
 * findings, the JSON file a person reviews, and exactly what `apply' will do.
 *
 * A plan is a jansson object (the file's own form, so nothing is lost
 * between review and apply). Its "sha256" field covers the canonical form
 * of everything else (keys sorted, compact), so a plan edited after it was
 * made is refused. docs/plans.md documents the rules and the format.
 *
 * Objects returned as json_t * belong to the caller (json_decref).
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
	const char *const *san;		/* extra Machine SSL DNS names */
	size_t		  nsan;
};

/* "all", "root", ... <-> enum; -1 when unknown. */
int         plan_scope_parse(const char *s);
const char *plan_scope_name(enum plan_scope s);

/* The kinds of step, in the order a plan holds them. */
enum step_kind {
	STEP_VMCA_ROOT,
	STEP_STS,
	STEP_SOLUTION_USER,
	STEP_DATA_ENCIPHERMENT,
	STEP_MACHINE_SSL,
	STEP_TRUST_ANCHORS,
	STEP_PRUNE_ROOTS,
	STEP_RESTART,
	STEP__MAX
};

enum target_type {
	TARGET_VECS,		/* place: STORE/ALIAS */
	TARGET_VMDIR,		/* place: a DN */
	TARGET_FILE,		/* place: an appliance path */
	TARGET_SERVICES,	/* place: service-control */
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

/*
 * Builds the plan for an inventory that was read completely (the caller
 * refuses partial inventories). Returns the sealed plan, or NULL when out
 * of memory. A plan with no step but the restart is never made: *nothing is
 * set to 1 and NULL returned.
 */
json_t *plan_build(const struct inventory *inv, const struct plan_policy *pol,
    int *nothing);

/* Sets "sha256" over the canonical form of the rest. 0 or -1. */
int plan_seal(json_t *plan);

/*
 * Reads and checks a plan file: JSON, the schema version, every field
 * present with its type (the message names a missing or mistyped field, and
 * any unknown one), and the SHA-256. NULL with the reason in err.
 */
json_t *plan_load(const char *path, struct buf *err);

/* Whether the plan was made on this appliance (PNID and machine id). */
int plan_check_appliance(json_t *plan, const struct appliance *app,
    struct buf *err);

/* The plan in plain words, for review. */
int plan_render(FILE *out, json_t *plan);

/* Writes the plan file atomically (0600: it names the appliance). */
int plan_write(const char *path, json_t *plan, struct buf *err);

#endif
