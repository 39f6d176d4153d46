/*
 * plan.c - builds, seals and renders replacement plans, and the names the
 * file gives kinds, types, actions and usages. Reading a plan back is
 * load.c's, holding it against the appliance live.c's. See plan.h and
 * docs/plans.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cert.h"
#include "fileio.h"
#include "findings.h"
#include "plan-int.h"
#include "safetext.h"
#include "vcdb.h"
#include "vsan.h"
#include "rbd.h"

static const char *const scope_names[] = {
	"all", "root", "sts", "solution-users", "machine-ssl", NULL
};

int
plan_scope_parse(const char *s)
{
	int	 i;

	for (i = 0; scope_names[i] != NULL; i++)
		if (strcmp(s, scope_names[i]) == 0)
			return i;
	return -1;
}

const char *
plan_scope_name(enum plan_scope s)
{
	return scope_names[s];
}

void
plan_policy_default(struct plan_policy *pol, time_t at, int renew_within)
{
	memset(pol, 0, sizeof(*pol));
	pol->at = at;
	pol->renew_within = renew_within;
	pol->scope = SCOPE_ALL;
	pol->key_bits = 2048;
	pol->validity_days = 730;
}

/* ---- names: one table each, for the builder, the loader and apply ---- */

static const char *const kind_names[STEP__MAX] = {
	[STEP_CA_CHAIN] = "ca_chain",
	[STEP_VMCA_ROOT] = "vmca_root",
	[STEP_STS] = "sts",
	[STEP_SOLUTION_USER] = "solution_user",
	[STEP_DATA_ENCIPHERMENT] = "data_encipherment",
	[STEP_MACHINE_SSL] = "machine_ssl",
	[STEP_TRUST_ANCHORS] = "trust_anchors",
	[STEP_PRUNE_ROOTS] = "prune_roots",
	[STEP_EXTENSION_THUMBPRINTS] = "extension_thumbprints",
	[STEP_VSAN_HEALTH] = "vsan_health",
	[STEP_AUTODEPLOY] = "autodeploy_thumbprints",
	[STEP_RESTART] = "restart",
};
static const char *const type_names[TARGET__MAX] = {
	[TARGET_VECS] = "vecs",
	[TARGET_VMDIR] = "vmdir",
	[TARGET_FILE] = "file",
	[TARGET_SERVICES] = "services",
	[TARGET_VCDB] = "vcdb",
	[TARGET_AUTODEPLOY] = "autodeploy",
};
static const char *const action_names[ACTION__MAX] = {
	[ACTION_REPLACE] = "replace",
	[ACTION_ADD] = "add",
	[ACTION_DELETE] = "delete",
	[ACTION_RESTART] = "restart",
};

struct usage {
	unsigned	 bit;
	const char	*name;
};

/* In the order the file lists them. */
static const struct usage ku_names[] = {
	{ PLAN_KU_DIGITAL_SIGNATURE, "digitalSignature" },
	{ PLAN_KU_KEY_ENCIPHERMENT, "keyEncipherment" },
	{ PLAN_KU_DATA_ENCIPHERMENT, "dataEncipherment" },
	{ PLAN_KU_KEY_CERT_SIGN, "keyCertSign" },
	{ PLAN_KU_CRL_SIGN, "cRLSign" },
	{ 0, NULL },
};
static const struct usage eku_names[] = {
	{ PLAN_EKU_SERVER_AUTH, "serverAuth" },
	{ PLAN_EKU_CLIENT_AUTH, "clientAuth" },
	{ 0, NULL },
};

static int
name_index(const char *s, const char *const *names, int n)
{
	int	 i;

	for (i = 0; s != NULL && i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

const char *
plan_kind_name(enum step_kind k)
{
	return kind_names[k];
}

const char *
plan_type_name(enum target_type t)
{
	return type_names[t];
}

const char *
plan_action_name(enum target_action a)
{
	return action_names[a];
}

int
plan_kind_parse(const char *s)
{
	return name_index(s, kind_names, STEP__MAX);
}

int
plan_type_parse(const char *s)
{
	return name_index(s, type_names, TARGET__MAX);
}

int
plan_action_parse(const char *s)
{
	return name_index(s, action_names, ACTION__MAX);
}

unsigned
plan_usage_parse(const char *s, int extended)
{
	const struct usage *u;

	for (u = extended ? eku_names : ku_names; u->name != NULL; u++)
		if (strcmp(s, u->name) == 0)
			return u->bit;
	return 0;
}

char *
plan_usage_names(unsigned bits, int extended, const char *sep)
{
	struct buf b = BUF_INIT;
	const struct usage *u;

	for (u = extended ? eku_names : ku_names; u->name != NULL; u++)
		if ((bits & u->bit) && buf_printf(&b, "%s%s", b.len ? sep : "",
		    u->name) == -1) {
			buf_free(&b);
			return NULL;
		}
	return buf_detach(&b);
}

/* ---- building ---- */

/* The groups a finding can belong to, in plan order. */
enum group {
	G_ROOT, G_STS, G_SOLUTION, G_MACHINE_SSL, G_TRUST, G_PRUNE, G_VCDB,
	G_VSAN, G_RBD, G_NONE,
};

struct build {
	const struct inventory	*inv;
	const struct plan_policy *pol;
	struct findings		 f;
	json_t			*steps;
	int			 oom;
	int			 reset;		/* VMCA root regenerated */
	time_t			 not_after_max;	/* of new leaves */
	int			 planned[G_NONE];	/* groups with a step */
	int			 planned_sol[NSOLUTION_USERS];	/* per solution_users[] */
	json_t			*held;		/* kept: another CA issued them */
	json_t			*vcdb_targets;	/* the extension_thumbprints
						 * step's (borrowed), or NULL */
};

int
plan_vmca_issued(const struct inventory *inv, X509 *x)
{
	X509	*root = inv->vmca_root != NULL ?
	    sk_X509_value(inv->vmca_root, 0) : NULL;

	return root == NULL || X509_NAME_cmp(X509_get_issuer_name(x),
	    X509_get_subject_name(root)) == 0;
}

/*
 * A management node (6.x, external PSC) has neither VMCA nor STS: its PSC
 * keeps both, and the directory. What only the PSC can do is held (1),
 * saying where: what is "sts", "root", or a VECS entry's store (alias
 * given) whose renewal needs a VMCA. 0 on any other node.
 */
static int
held_on_psc(struct build *b, const char *what, const char *alias)
{
	const struct inventory *inv = b->inv;
	const struct inv_vecs_entry *e;
	const char *psc = inv->app.dc_name != NULL ? inv->app.dc_name :
	    "its PSC (vmafd-cli get-dc-name did not say)";
	char	*s = NULL, *issuer = NULL;
	int	 n;

	if (!app_is_management(&inv->app))
		return 0;
	if (strcmp(what, "sts") == 0)
		n = asprintf(&s, "the STS signing credential is the SSO "
		    "domain's, kept in the directory of the PSC %s: a "
		    "management node does not replace it; run vcrotate plan "
		    "on %s", psc, psc);
	else if (strcmp(what, "root") == 0)
		n = asprintf(&s, "the VMCA root is the PSC %s's: a management "
		    "node has no VMCA; run vcrotate plan on %s", psc, psc);
	else {
		e = inventory_vecs(inv, what, alias);
		if (e != NULL && e->chain != NULL)
			issuer = cert_issuer(sk_X509_value(e->chain, 0));
		n = asprintf(&s, "%s/%s: issued by %s; a management node has "
		    "no VMCA to issue its replacement (the PSC %s's VMCA "
		    "issues there only): renew it from a company CA, vcrotate "
		    "csr --for %s then plan --import (docs/company-ca.md), or "
		    "with the PSC's tools", what, alias, issuer != NULL ?
		    issuer : "?", psc, strcmp(what, "MACHINE_SSL_CERT") == 0 ?
		    "machine-ssl" : what);
	}
	free(issuer);
	if (n == -1) {
		b->oom = 1;
		return 1;
	}
	if (json_array_append_new(b->held, json_string_lossy(s)) == -1)
		b->oom = 1;
	free(s);
	return 1;
}

/*
 * Whether the certificate of VECS store/alias is held back: another CA
 * than VMCA issued it and the policy does not say --issuer vmca. A VMCA
 * certificate in its place would silently change who vouches for it, so
 * the plan says so in b->held, with how to renew it (forwhat: csr --for).
 */
static int
held_back(struct build *b, const char *store, const char *alias,
    const char *forwhat)
{
	const struct inv_vecs_entry *e = inventory_vecs(b->inv, store, alias);
	X509	*x = e != NULL && e->chain != NULL ?
	    sk_X509_value(e->chain, 0) : NULL;
	char	*issuer, *s;

	if (x == NULL || b->pol->issuer_vmca || plan_vmca_issued(b->inv, x))
		return 0;
	if ((issuer = cert_issuer(x)) == NULL ||
	    asprintf(&s, "%s/%s: issued by %s, not by VMCA; vcrotate does not "
	    "replace it with a VMCA certificate. Renew it from that CA: "
	    "vcrotate csr --for %s, have the CSR signed, then vcrotate plan "
	    "--import %s=CERT.pem --chain CHAIN.pem (docs/company-ca.md); or "
	    "plan --issuer vmca to replace it with a VMCA certificate", store,
	    alias, issuer, forwhat, forwhat) == -1) {
		b->oom = 1;
		free(issuer);
		return 1;
	}
	json_array_append_new(b->held, json_string_lossy(s));
	free(s);
	free(issuer);
	return 1;
}

static int
is_sts_dn(const struct inventory *inv, const char *place)
{
	char	*tenant = inventory_tenant_dn(inv);
	size_t	 tl, pl = strlen(place);
	int	 in;

	if (tenant == NULL)
		return 0;
	tl = strlen(tenant);
	/* The tenant itself (STS_NO_CREDENTIAL) or an entry below it. */
	in = pl >= tl && strcasecmp(place + pl - tl, tenant) == 0;
	free(tenant);
	return in;
}

/* The solution user a place belongs to (VECS sol/sol or its principal). */
static const char *
solution_of(const struct inventory *inv, const char *place)
{
	size_t	 i, n;

	for (i = 0; solution_users[i] != NULL; i++) {
		n = strlen(solution_users[i]);
		if (strncmp(place, solution_users[i], n) == 0 &&
		    place[n] == '/' && strcmp(place + n + 1,
		    solution_users[i]) == 0)
			return solution_users[i];
	}
	for (i = 0; i < inv->nprincipals; i++)
		if (strcmp(place, inv->principals[i].dn) == 0)
			return inv->principals[i].solution;
	return NULL;
}

static enum group
group_of(const struct inventory *inv, const struct finding *f)
{
	if (strcmp(f->place, VMCA_ROOT_FILE) == 0)
		return G_ROOT;
	if (strcmp(f->code, "TRUST_ANCHOR_STALE") == 0)
		return G_TRUST;
	if (strcmp(f->code, "EXTENSION_THUMBPRINT_MISMATCH") == 0)
		return G_VCDB;
	if (strcmp(f->code, "VSAN_HEALTH_COPY_STALE") == 0)
		return G_VSAN;
	if (strcmp(f->code, "AUTODEPLOY_THUMBPRINT_MISMATCH") == 0)
		return G_RBD;
	if (strcmp(f->place, "MACHINE_SSL_CERT/__MACHINE_CERT") == 0 ||
	    strcmp(f->place, "STS_INTERNAL_SSL_CERT/__MACHINE_CERT") == 0)
		return G_MACHINE_SSL;
	if (is_sts_dn(inv, f->place))
		return G_STS;
	if (solution_of(inv, f->place) != NULL)
		return G_SOLUTION;
	if (strcmp(f->code, "ROOT_EXPIRED") == 0)
		return G_PRUNE;
	return G_NONE;
}

static int
in_scope(const struct plan_policy *pol, enum group g)
{
	switch (pol->scope) {
	case SCOPE_ALL:
	case SCOPE_ROOT:
		return 1;
	case SCOPE_STS:
		return g == G_STS;
	case SCOPE_SOLUTION_USERS:
		return g == G_SOLUTION;
	case SCOPE_MACHINE_SSL:
		return g == G_MACHINE_SSL || g == G_TRUST;
	}
	return 0;
}

/* "CODE place: message" for every finding of group g (and solution sol). */
static json_t *
why_of(struct build *b, enum group g, const char *sol)
{
	json_t	*why = json_array();
	size_t	 i;
	char	*s;

	for (i = 0; why != NULL && i < b->f.n; i++) {
		const struct finding *f = &b->f.v[i];

		if (group_of(b->inv, f) != g)
			continue;
		if (sol != NULL && strcmp(solution_of(b->inv, f->place),
		    sol) != 0)
			continue;
		if (asprintf(&s, "%s %s: %s", f->code, f->place,
		    f->message) == -1)
			continue;
		/* Text for the reviewer: an alias not UTF-8 shows escaped. */
		json_array_append_new(why, json_string_lossy(s));
		free(s);
	}
	return why;
}

/*
 * A place in the plan file. JSON holds UTF-8 only; a place that is not (an
 * alias of other bytes) is written as U+0000, then the place with every
 * byte outside printable ASCII, and '%', as %XX. A place read from the
 * appliance never holds U+0000, so the mark is unambiguous; plan_load turns
 * such a place back into its bytes after the seal is checked.
 */
static json_t *
place_json(const char *place)
{
	static const char hex[] = "0123456789ABCDEF";
	json_t	*j;
	char	*e, *q;
	const unsigned char *p;

	if ((j = json_string(place)) != NULL)
		return j;
	if ((e = malloc(3 * strlen(place) + 2)) == NULL)
		return NULL;
	q = e;
	*q++ = '\0';
	for (p = (const unsigned char *)place; *p != '\0'; p++)
		if (*p > 0x20 && *p < 0x7f && *p != '%')
			*q++ = (char)*p;
		else {
			*q++ = '%';
			*q++ = hex[*p >> 4];
			*q++ = hex[*p & 0xf];
		}
	j = json_stringn(e, (size_t)(q - e));
	free(e);
	return j;
}

static json_t *
target(enum target_type type, const char *place, enum target_action action,
    const char *digest)
{
	json_t	*t = json_object();

	json_object_set_new(t, "type", json_string(type_names[type]));
	json_object_set_new(t, "place", place_json(place));
	json_object_set_new(t, "action", json_string(action_names[action]));
	json_object_set_new(t, "digest", digest != NULL && *digest ?
	    json_string(digest) : json_null());
	return t;
}

static json_t *
vecs_target(const struct inventory *inv, const char *store, const char *alias,
    enum target_action action)
{
	const struct inv_vecs_entry *e = inventory_vecs(inv, store, alias);
	char	*place = vecs_place(store, alias);
	json_t	*t;

	t = target(TARGET_VECS, place, e != NULL ? action : ACTION_ADD,
	    e != NULL ? e->digest : NULL);
	free(place);
	return t;
}

/* The names of the usages in bits, as an array. */
static json_t *
usages(unsigned bits, int extended)
{
	const struct usage *u;
	json_t	*a = json_array();

	for (u = extended ? eku_names : ku_names; u->name != NULL; u++)
		if (bits & u->bit)
			json_array_append_new(a, json_string(u->name));
	return a;
}

/* DC=vsphere, DC=local */
static char *
domain_rdns(const char *domain)
{
	struct buf b = BUF_INIT;
	const char *p = domain, *dot;

	for (;;) {
		dot = strchr(p, '.');
		buf_printf(&b, "%sDC=%.*s", b.len ? ", " : "",
		    (int)(dot != NULL ? (size_t)(dot - p) : strlen(p)), p);
		if (dot == NULL)
			break;
		p = dot + 1;
	}
	return buf_detach(&b);
}

/*
 * The subject of a step's certificate (the loader holds a plan to the same):
 * the VMCA root and the solution users as VMCA names them, the rest by
 * purpose.
 */
char *
plan_subject(enum step_kind k, const struct appliance *app, const char *sol)
{
	char	*s = NULL, *dcs = NULL;

	switch (k) {
	case STEP_VMCA_ROOT:
		if (asprintf(&s, "CN=CA, DC=%s, C=US, ST=California, O=%s, "
		    "OU=VMware Engineering", app->domain, app->pnid) == -1)
			s = NULL;
		break;
	case STEP_STS:
		s = strdup("CN=ssoserverSign");
		break;
	case STEP_SOLUTION_USER:
		if ((dcs = domain_rdns(app->domain)) == NULL ||
		    asprintf(&s, "CN=%s, OU=mID-%s, %s", sol, app->machine_id,
		    dcs) == -1)
			s = NULL;
		free(dcs);
		break;
	case STEP_DATA_ENCIPHERMENT:
		s = strdup("CN=data-encipherment");
		break;
	case STEP_MACHINE_SSL:
		if (asprintf(&s, "CN=%s", app->pnid) == -1)
			s = NULL;
		break;
	case STEP_CA_CHAIN:
	case STEP_TRUST_ANCHORS:
	case STEP_PRUNE_ROOTS:
	case STEP_EXTENSION_THUMBPRINTS:
	case STEP_VSAN_HEALTH:
	case STEP_AUTODEPLOY:
	case STEP_RESTART:
	case STEP__MAX:
		break;
	}
	return s;
}

int
plan_validity_days(enum step_kind k, const struct plan_policy *pol)
{
	if (k == STEP_VMCA_ROOT)
		return ROOT_VALIDITY_DAYS;
	if (k == STEP_STS)
		return STS_VALIDITY_DAYS;
	return pol->validity_days;
}

char *
plan_leaf_subject(const struct appliance *app, const char *sol)
{
	return plan_subject(sol == NULL ? STEP_MACHINE_SSL : STEP_SOLUTION_USER,
	    app, sol);
}

/*
 * A step's profile. with_pnid: the PNID is the SAN (DNS:name or IP:address,
 * as it is: appliance.h); more (Machine SSL's): the SANs after it, and
 * before: the SANs of the certificate it replaces, for the reviewer (both
 * taken; NULL when none).
 */
static json_t *
profile(struct build *b, enum step_kind kind, const char *sol, int with_pnid,
    unsigned ku, unsigned eku, int ca, json_t *more, json_t *before)
{
	const struct plan_policy *pol = b->pol;
	json_t	*p = json_object(), *san = json_array();
	char	*dns, *subject = plan_subject(kind, &b->inv->app, sol);

	if (subject == NULL || p == NULL || san == NULL) {
		b->oom = 1;
		json_decref(san);
		json_decref(more);
		json_decref(before);
		return p;
	}
	json_object_set_new(p, "subject", json_string(subject));
	free(subject);
	if (with_pnid &&
	    (dns = app_san_entry(b->inv->app.pnid, 0)) != NULL) {
		json_array_append_new(san, json_string(dns));
		free(dns);
	}
	if (more != NULL)
		json_array_extend(san, more);
	json_decref(more);
	json_object_set_new(p, "san", san);
	if (before != NULL)
		json_object_set_new(p, "san_before", before);
	json_object_set_new(p, "key_usage", usages(ku, 0));
	json_object_set_new(p, "extended_key_usage", usages(eku, 1));
	json_object_set_new(p, "ca", json_boolean(ca));
	json_object_set_new(p, "key", json_pack("{s:s,s:i}", "type", "RSA",
	    "bits", pol->key_bits));
	json_object_set_new(p, "issuer", json_string(ca ? ISSUER_SELF :
	    b->reset ? ISSUER_NEW_ROOT : ISSUER_ROOT));
	json_object_set_new(p, "validity_days",
	    json_integer(plan_validity_days(kind, pol)));
	json_object_set_new(p, "not_after_max", json_time(ca ?
	    pol->at + (time_t)ROOT_VALIDITY_DAYS * 86400 : b->not_after_max));
	return p;
}

static void
add_step(struct build *b, enum step_kind kind, const char *title, json_t *why,
    json_t *prof, json_t *targets)
{
	json_t	*s = json_object();

	if (s == NULL || why == NULL || targets == NULL) {
		b->oom = 1;
		json_decref(s);
		json_decref(why);
		json_decref(prof);
		json_decref(targets);
		return;
	}
	json_object_set_new(s, "n", json_integer(
	    (json_int_t)json_array_size(b->steps) + 1));
	json_object_set_new(s, "kind", json_string(kind_names[kind]));
	json_object_set_new(s, "title", json_string(title));
	json_object_set_new(s, "why", why);
	json_object_set_new(s, "profile", prof != NULL ? prof : json_null());
	json_object_set_new(s, "targets", targets);
	json_array_append_new(b->steps, s);
}

static int
group_has(struct build *b, enum group g, const char *sol)
{
	size_t	 i;

	/* INFO (an expired backup copy, a company CA's certificate) asks
	 * for nothing. */
	for (i = 0; i < b->f.n; i++)
		if (b->f.v[i].sev != SEV_INFO &&
		    group_of(b->inv, &b->f.v[i]) == g && (sol == NULL ||
		    strcmp(solution_of(b->inv, b->f.v[i].place), sol) == 0))
			return 1;
	return 0;
}

static void
step_root(struct build *b)
{
	const struct inventory *inv = b->inv;
	json_t	*t = json_array();

	json_array_append_new(t, target(TARGET_FILE, VMCA_ROOT_FILE,
	    ACTION_REPLACE, inv->vmca_digest));
	json_array_append_new(t, target(TARGET_FILE, VMCA_KEY_FILE,
	    ACTION_REPLACE, NULL));
	json_array_append_new(t, target(TARGET_VECS, NEW_ROOT_VECS, ACTION_ADD,
	    NULL));
	json_array_append_new(t, target(TARGET_VMDIR, NEW_ROOT_CA, ACTION_ADD,
	    NULL));
	add_step(b, STEP_VMCA_ROOT, "regenerate the VMCA root, publish it to "
	    "TRUSTED_ROOTS and vmdir, and reissue everything it signs",
	    why_of(b, G_ROOT, NULL), profile(b, STEP_VMCA_ROOT, NULL, 0,
	    PLAN_KU_KEY_CERT_SIGN | PLAN_KU_CRL_SIGN, 0, 1, NULL, NULL), t);
}

static void
step_sts(struct build *b)
{
	const struct inventory *inv = b->inv;
	json_t	*t = json_array();
	char	*tenant = inventory_tenant_dn(inv), *dn = NULL;
	int	 have_cred = 0, have_chain = 0;
	size_t	 i;

	for (i = 0; i < inv->nsts; i++) {
		const struct inv_sts *s = &inv->sts[i];

		if (s->n == 1 && s->is_credential)
			have_cred = 1;
		if (s->n == 1 && !s->is_credential)
			have_chain = 1;
	}
	/* The end state: exactly TenantCredential-1 and TrustedCertChain-1. */
	if (asprintf(&dn, "cn=TenantCredential-1,%s", tenant) != -1) {
		const struct inv_sts *s = NULL;

		for (i = 0; i < inv->nsts; i++)
			if (inv->sts[i].n == 1 && inv->sts[i].is_credential)
				s = &inv->sts[i];
		json_array_append_new(t, target(TARGET_VMDIR, dn, have_cred ?
		    ACTION_REPLACE : ACTION_ADD, s != NULL ? s->digest : NULL));
		free(dn);
	}
	if (asprintf(&dn, "cn=TrustedCertChain-1,cn=TrustedCertificateChains,"
	    "%s", tenant) != -1) {
		const struct inv_sts *s = NULL;

		for (i = 0; i < inv->nsts; i++)
			if (inv->sts[i].n == 1 && !inv->sts[i].is_credential)
				s = &inv->sts[i];
		json_array_append_new(t, target(TARGET_VMDIR, dn, have_chain ?
		    ACTION_REPLACE : ACTION_ADD, s != NULL ? s->digest : NULL));
		free(dn);
	}
	for (i = 0; i < inv->nsts; i++)
		if (inv->sts[i].n != 1)
			json_array_append_new(t, target(TARGET_VMDIR,
			    inv->sts[i].dn, ACTION_DELETE, inv->sts[i].digest));
	add_step(b, STEP_STS, "a new STS signing credential; the stale ones "
	    "removed", why_of(b, G_STS, NULL), profile(b, STEP_STS, NULL, 1,
	    PLAN_KU_DIGITAL_SIGNATURE, 0, 0, NULL, NULL), t);
	free(tenant);
}

static void
step_solution_user(struct build *b, const char *sol)
{
	const struct inventory *inv = b->inv;
	const struct inv_principal *p = inventory_principal(inv, sol);
	json_t	*t = json_array();
	char	*title;
	int	 wcp = strcmp(sol, "wcp") == 0;

	json_array_append_new(t, vecs_target(inv, sol, sol, ACTION_REPLACE));
	if (p != NULL)
		json_array_append_new(t, target(TARGET_VMDIR, p->dn,
		    ACTION_REPLACE, p->digest));
	else {
		char	*dn = NULL;

		if (asprintf(&dn, "cn=%s-%s," VMDIR_RDN_PRINCIPALS ",%s", sol,
		    inv->app.machine_id, inv->app.domain_dn) != -1) {
			json_array_append_new(t, target(TARGET_VMDIR, dn,
			    ACTION_ADD, NULL));
			free(dn);
		}
	}
	if (asprintf(&title, "a new certificate for solution user %s, in "
	    "VECS and vmdir", sol) == -1)
		title = NULL;
	add_step(b, STEP_SOLUTION_USER, title != NULL ? title : sol,
	    why_of(b, G_SOLUTION, sol), profile(b, STEP_SOLUTION_USER, sol,
	    !wcp, PLAN_KU_DIGITAL_SIGNATURE | PLAN_KU_KEY_ENCIPHERMENT |
	    (wcp ? PLAN_KU_DATA_ENCIPHERMENT : 0), 0, 0, NULL, NULL), t);
	free(title);
}

/* Whether entry is one of list (case does not matter in these names). */
static int
san_in(json_t *list, const char *entry)
{
	json_t	*v;
	size_t	 i;

	json_array_foreach(list, i, v)
		if (strcasecmp(json_string_value(v), entry) == 0)
			return 1;
	return 0;
}

static int
san_dropped(const struct plan_policy *pol, const char *entry)
{
	size_t	 i;

	for (i = 0; i < pol->ndrop_san; i++)
		if (strcasecmp(pol->drop_san[i], entry) == 0)
			return 1;
	return 0;
}

/*
 * The Machine SSL SANs after the PNID (*more): every SAN of the
 * certificate now (x, or NULL) that vcrotate can write (DNS, IP, email)
 * but those --drop-san names, then each --san; and the SANs now (*before).
 * A SAN it cannot keep, or one dropped, is said in why.
 */
static void
machine_ssl_sans(struct build *b, X509 *x, json_t **more, json_t **before,
    json_t *why)
{
	const struct plan_policy *pol = b->pol;
	char	**now = NULL, *pnid = app_san_entry(b->inv->app.pnid, 0), *s;
	size_t	 n = 0, i;

	*more = json_array();
	*before = NULL;
	if (pnid == NULL || *more == NULL || (x != NULL &&
	    cert_san_entries(x, &now, &n) == -1)) {
		b->oom = 1;
		goto out;
	}
	if (x != NULL && (*before = json_array()) == NULL) {
		b->oom = 1;
		goto out;
	}
	for (i = 0; i < n; i++) {
		json_array_append_new(*before, json_string_lossy(now[i]));
		if (strcasecmp(now[i], pnid) == 0 || san_in(*more, now[i]))
			continue;
		s = NULL;
		if (san_dropped(pol, now[i])) {
			if (asprintf(&s, "--drop-san: %s is not kept", now[i]) == -1)
				s = NULL;
		} else if (!app_san_entry_ok(now[i])) {
			if (asprintf(&s, "SAN %s of the certificate now is not "
			    "kept: vcrotate writes DNS, IP and email names only",
			    now[i]) == -1)
				s = NULL;
		} else
			json_array_append_new(*more, json_string(now[i]));
		if (s != NULL) {
			json_array_append_new(why, json_string_lossy(s));
			free(s);
		}
	}
	for (i = 0; i < pol->nsan; i++)
		if (strcasecmp(pol->san[i], pnid) != 0 &&
		    !san_in(*more, pol->san[i]) &&
		    !san_dropped(pol, pol->san[i]))
			json_array_append_new(*more, json_string(pol->san[i]));
out:
	cert_san_entries_free(now);
	free(pnid);
}

static void
step_machine_ssl(struct build *b)
{
	const struct inventory *inv = b->inv;
	const struct inv_vecs_entry *e = inventory_vecs(inv,
	    "MACHINE_SSL_CERT", "__MACHINE_CERT");
	X509	*now = e != NULL && e->chain != NULL ?
	    sk_X509_value(e->chain, 0) : NULL;
	json_t	*t = json_array(), *why, *more, *before;
	char	*issuer, *s;

	json_array_append_new(t, vecs_target(inv, "MACHINE_SSL_CERT",
	    "__MACHINE_CERT", ACTION_REPLACE));
	if (inventory_vecs(inv, "STS_INTERNAL_SSL_CERT", "__MACHINE_CERT"))
		json_array_append_new(t, vecs_target(inv,
		    "STS_INTERNAL_SSL_CERT", "__MACHINE_CERT", ACTION_REPLACE));
	why = why_of(b, G_MACHINE_SSL, NULL);
	machine_ssl_sans(b, now, &more, &before, why);
	if (now != NULL && !plan_vmca_issued(inv, now) &&
	    (issuer = cert_issuer(now)) != NULL) {
		/* Only with --issuer vmca (plan_build holds it back else). */
		if (asprintf(&s, "--issuer vmca: it replaces a certificate "
		    "issued by %s, not by VMCA", issuer) != -1) {
			json_array_append_new(why, json_string_lossy(s));
			free(s);
		}
		free(issuer);
	}
	add_step(b, STEP_MACHINE_SSL, "a new Machine SSL certificate", why,
	    profile(b, STEP_MACHINE_SSL, NULL, 1, PLAN_KU_DIGITAL_SIGNATURE |
	    PLAN_KU_KEY_ENCIPHERMENT, PLAN_EKU_SERVER_AUTH, 0, more, before),
	    t);
}

/* On a reset, data-encipherment (signed by the old root too) is reissued. */
static void
step_data_encipherment(struct build *b)
{
	json_t	*t = json_array();

	json_array_append_new(t, vecs_target(b->inv, "data-encipherment",
	    "data-encipherment", ACTION_REPLACE));
	add_step(b, STEP_DATA_ENCIPHERMENT, "a new data-encipherment "
	    "certificate, signed by the new root", json_array(),
	    profile(b, STEP_DATA_ENCIPHERMENT, NULL, 0, PLAN_KU_DIGITAL_SIGNATURE |
	    PLAN_KU_KEY_ENCIPHERMENT | PLAN_KU_DATA_ENCIPHERMENT, 0, 0, NULL,
	    NULL), t);
}

/* Endpoints of this PNID: all when the Machine SSL certificate changes,
 * else the stale ones. */
static void
step_trust(struct build *b, int all)
{
	const struct inventory *inv = b->inv;
	json_t	*t = json_array();
	size_t	 i, k;

	for (i = 0; i < inv->nendpoints; i++) {
		int	 stale = 0;

		for (k = 0; k < b->f.n; k++)
			if (strcmp(b->f.v[k].code, "TRUST_ANCHOR_STALE") == 0 &&
			    strcmp(b->f.v[k].place, inv->endpoints[i].dn) == 0)
				stale = 1;
		if (all || stale)
			json_array_append_new(t, target(TARGET_VMDIR,
			    inv->endpoints[i].dn, ACTION_REPLACE,
			    inv->endpoints[i].digest));
	}
	if (json_array_size(t) == 0) {
		json_decref(t);
		return;
	}
	add_step(b, STEP_TRUST_ANCHORS, all ? "every Lookup Service endpoint of "
	    "this node trusts the new Machine SSL certificate" :
	    "the stale Lookup Service endpoints trust the Machine SSL "
	    "certificate", why_of(b, G_TRUST, NULL), NULL, t);
}

/*
 * Targets deleting root from vmdir's CA entries, then from TRUSTED_ROOTS:
 * in that order, as vmafdd copies every CA entry of vmdir back into VECS
 * while it runs (rootfetch.c).
 */
static void
root_targets(struct build *b, X509 *x, json_t *t)
{
	const struct inventory *inv = b->inv;
	size_t	 i;
	char	*place;

	for (i = 0; i < inv->ncas; i++)
		if (inv->cas[i].cert != NULL && X509_cmp(inv->cas[i].cert, x) == 0)
			json_array_append_new(t, target(TARGET_VMDIR,
			    inv->cas[i].dn, ACTION_DELETE, inv->cas[i].digest));
	for (i = 0; i < inv->nvecs; i++) {
		const struct inv_vecs_entry *e = &inv->vecs[i];

		if (strcmp(e->store, "TRUSTED_ROOTS") != 0 || e->chain == NULL ||
		    X509_cmp(sk_X509_value(e->chain, 0), x) != 0 ||
		    (place = vecs_place(e->store, e->alias)) == NULL)
			continue;
		json_array_append_new(t, target(TARGET_VECS, place,
		    ACTION_DELETE, e->digest));
		free(place);
	}
}

/* Whether x is one of the n roots already pruned (a root is in
 * TRUSTED_ROOTS under two aliases, and in vmdir). */
static int
pruned(X509 *const *done, size_t n, X509 *x)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (X509_cmp(done[i], x) == 0)
			return 1;
	return 0;
}

/* Whether x is a root to prune: expired, not the VMCA root, signing
 * nothing in use (findings.h, struct root_use: check's own rule). */
static int
prunable(struct build *b, const struct root_use *use, X509 *x)
{
	X509	*vmca = b->inv->vmca_root != NULL ?
	    sk_X509_value(b->inv->vmca_root, 0) : NULL;

	return cert_not_after(x) < b->pol->at &&
	    (vmca == NULL || X509_cmp(x, vmca) != 0) &&
	    !root_use_signs(use, x);
}

/* Targets deleting x everywhere, once. */
static void
prune_root(struct build *b, X509 **done, size_t *ndone, X509 *x, json_t *t)
{
	if (pruned(done, *ndone, x))
		return;
	done[(*ndone)++] = x;
	root_targets(b, x, t);
}

/*
 * Every expired root that signs nothing in use, from TRUSTED_ROOTS and from
 * vmdir's CA entries (also one only there: vmafdd would copy it back).
 */
static void
step_prune(struct build *b)
{
	const struct inventory *inv = b->inv;
	struct root_use *use;
	json_t	*t = json_array();
	X509	**done, *x;
	size_t	 i, ndone = 0;

	use = root_use_new(inv);
	done = calloc(inv->nvecs + inv->ncas + 1, sizeof(*done));
	if (use == NULL || done == NULL) {
		b->oom = 1;
		root_use_free(use);
		free(done);
		json_decref(t);
		return;
	}
	for (i = 0; i < inv->nvecs; i++) {
		const struct inv_vecs_entry *e = &inv->vecs[i];

		if (strcmp(e->store, "TRUSTED_ROOTS") != 0 || e->chain == NULL)
			continue;
		x = sk_X509_value(e->chain, 0);
		if (prunable(b, use, x))
			prune_root(b, done, &ndone, x, t);
	}
	for (i = 0; i < inv->ncas; i++)
		if ((x = inv->cas[i].cert) != NULL && prunable(b, use, x))
			prune_root(b, done, &ndone, x, t);
	free(done);
	root_use_free(use);
	if (json_array_size(t) == 0) {
		json_decref(t);
		return;
	}
	add_step(b, STEP_PRUNE_ROOTS, "remove expired trusted roots that sign "
	    "nothing in use", why_of(b, G_PRUNE, NULL), NULL, t);
}

/* After a reset, the expired old root signs nothing any more: it goes. */
static void
step_retire_root(struct build *b, X509 *old)
{
	json_t	*t = json_array();

	root_targets(b, old, t);
	if (json_array_size(t) == 0) {
		json_decref(t);
		return;
	}
	add_step(b, STEP_PRUNE_ROOTS, "remove the expired old VMCA root, which "
	    "signs nothing after the reset", json_array(), NULL, t);
}

/* Whether the plan so far (arg, the build) makes a new certificate for
 * VECS store: a solution user's, or Machine SSL (plan_vcdb_targets). */
static int
renews(void *arg, const char *store)
{
	const struct build *b = arg;
	size_t	 k;

	if (strcmp(store, "MACHINE_SSL_CERT") == 0)
		return b->planned[G_MACHINE_SSL];
	for (k = 0; solution_users[k] != NULL; k++)
		if (strcmp(solution_users[k], store) == 0)
			return b->planned_sol[k];
	return 0;
}

/* Whether a stale row of an extension following store is in the scope:
 * everything's, or its certificate's. */
static int
vcdb_in_scope(const struct plan_policy *pol, const char *store)
{
	if (pol->scope == SCOPE_ALL || pol->scope == SCOPE_ROOT)
		return 1;
	if (strcmp(store, "MACHINE_SSL_CERT") == 0)
		return pol->scope == SCOPE_MACHINE_SSL;
	return pol->scope == SCOPE_SOLUTION_USERS;
}

/* One row's target: its thumbprint now and the certificate it follows;
 * after, the thumbprint it gets, or NULL when the plan makes that
 * certificate. */
static json_t *
vcdb_target(const struct vcdb_row *r, const char *store, const char *alias,
    const char *after)
{
	json_t	*t;
	char	*place = vcdb_place(r->ext_id), *follows = vecs_place(store,
	    alias);

	t = target(TARGET_VCDB, place != NULL ? place : "", ACTION_REPLACE,
	    r->digest);
	json_object_set_new(t, "thumbprint", json_string_lossy(r->thumbprint));
	json_object_set_new(t, "follows", json_string(follows));
	json_object_set_new(t, "thumbprint_after", after != NULL ?
	    json_string(after) : json_null());
	free(place);
	free(follows);
	return t;
}

json_t *
plan_vcdb_targets(const struct inventory *inv, const struct plan_policy *pol,
    int (*made)(void *, const char *), void *arg, int stale_too)
{
	const char *store, *alias;
	json_t	*t = json_array();
	char	*now;
	size_t	 i;
	int	 renewed;

	for (i = 0; t != NULL && i < inv->nvcdb; i++) {
		const struct vcdb_row *r = &inv->vcdb[i];

		if (*r->thumbprint == '\0' ||
		    vcdb_follows(r->ext_id, &store, &alias) == -1)
			continue;
		renewed = made(arg, store);
		now = vcdb_expected(inv, r->ext_id);
		if (renewed || (stale_too && now != NULL &&
		    strcmp(now, r->thumbprint) != 0 &&
		    vcdb_in_scope(pol, store)))
			json_array_append_new(t, vcdb_target(r, store, alias,
			    renewed ? NULL : now));
		free(now);
	}
	if (json_array_size(t) == 0) {
		json_decref(t);
		return NULL;
	}
	return t;
}

/*
 * VCDB's vpx_ext rows after the certificates: every row following a
 * certificate the plan renews, and every stale one in the scope (an
 * earlier replacement by hand that left VCDB alone).
 */
static void
step_vcdb(struct build *b)
{
	json_t	*t;

	if ((t = plan_vcdb_targets(b->inv, b->pol, renews, b, 1)) ==
	    NULL)
		return;
	b->vcdb_targets = t;
	add_step(b, STEP_EXTENSION_THUMBPRINTS, PLAN_VCDB_TITLE,
	    why_of(b, G_VCDB, NULL), NULL, t);
}

json_t *
plan_vsan_targets(const struct inventory *inv, const struct plan_policy *pol,
    int (*made)(void *, const char *), void *arg, int stale)
{
	json_t	*t;

	/* A certificate file that cannot be read has no digest: no plan
	 * can say what it replaces (check reports it). */
	if (!inv->vsan_present || inv->vsan_digest[0] == '\0' ||
	    !(made(arg, "vpxd-extension") || (stale &&
	    vcdb_in_scope(pol, "vpxd-extension"))))
		return NULL;
	if ((t = json_array()) == NULL)
		return NULL;
	json_array_append_new(t, target(TARGET_FILE, VSAN_CERT_FILE,
	    ACTION_REPLACE, inv->vsan_digest));
	json_array_append_new(t, target(TARGET_FILE, VSAN_KEY_FILE,
	    ACTION_REPLACE, NULL));
	return t;
}

/*
 * vsan-health's copy of vpxd-extension, after VCDB's rows: when the plan
 * renews vpxd-extension, or the copy is stale and in the scope.
 */
static void
step_vsan(struct build *b)
{
	json_t	*t;

	if ((t = plan_vsan_targets(b->inv, b->pol, renews, b,
	    group_has(b, G_VSAN, NULL))) == NULL)
		return;
	b->planned[G_VSAN] = 1;
	add_step(b, STEP_VSAN_HEALTH, PLAN_VSAN_TITLE,
	    why_of(b, G_VSAN, NULL), NULL, t);
}

json_t *
plan_rbd_targets(const struct inventory *inv, const struct plan_policy *pol,
    int (*made)(void *, const char *), void *arg, int stale_too)
{
	const struct inv_vecs_entry *e;
	json_t	*t, *o;
	char	*now = NULL, *place;
	size_t	 i;
	int	 renewed = made(arg, "MACHINE_SSL_CERT");

	if (!inv->rbd_present || (t = json_array()) == NULL)
		return NULL;
	if ((e = inventory_vecs(inv, "MACHINE_SSL_CERT", "__MACHINE_CERT")) !=
	    NULL && e->chain != NULL)
		now = cert_sha1_colons(sk_X509_value(e->chain, 0));
	for (i = 0; i < inv->nrbd; i++) {
		const struct rbd_row *r = &inv->rbd[i];

		if (*r->thumbprint == '\0' || !(renewed || (stale_too &&
		    now != NULL && strcmp(now, r->thumbprint) != 0 &&
		    vcdb_in_scope(pol, "MACHINE_SSL_CERT"))))
			continue;
		place = rbd_place(r->id);
		o = target(TARGET_AUTODEPLOY, place != NULL ? place : "",
		    ACTION_REPLACE, r->digest);
		json_object_set_new(o, "thumbprint",
		    json_string_lossy(r->thumbprint));
		json_object_set_new(o, "follows", json_string(RBD_FOLLOWS));
		json_object_set_new(o, "thumbprint_after", renewed ? json_null() :
		    json_string(now));
		json_array_append_new(t, o);
		free(place);
	}
	free(now);
	if (json_array_size(t) == 0) {
		json_decref(t);
		return NULL;
	}
	return t;
}

/*
 * Auto Deploy's vc_servers rows after vsan-health's copy: every row when
 * the plan renews Machine SSL, and every stale one in the scope.
 */
static void
step_rbd(struct build *b)
{
	json_t	*t;

	if ((t = plan_rbd_targets(b->inv, b->pol, renews, b, 1)) == NULL)
		return;
	b->planned[G_RBD] = 1;
	add_step(b, STEP_AUTODEPLOY, PLAN_RBD_TITLE, why_of(b, G_RBD, NULL),
	    NULL, t);
}

/* Whether the extension_thumbprints step has place as a target. */
static int
vcdb_planned(const struct build *b, const char *place)
{
	json_t	*t;
	size_t	 i;

	json_array_foreach(b->vcdb_targets, i, t)
		if (strcmp(json_string_value(json_object_get(t, "place")),
		    place) == 0)
			return 1;
	return 0;
}

/* Findings the plan leaves alone, for the reviewer. */
static json_t *
left_alone(struct build *b)
{
	json_t	*a = json_copy(b->held);
	size_t	 i;
	char	*s;

	for (i = 0; i < b->f.n; i++) {
		const struct finding *f = &b->f.v[i];
		enum group g = group_of(b->inv, f);
		const char *sol = g == G_SOLUTION ?
		    solution_of(b->inv, f->place) : NULL;
		int	 k, done = 0;

		/* INFO (an expired backup copy) asks nothing of anyone. */
		if (f->sev == SEV_INFO)
			continue;
		if (b->reset && strcmp(f->place,
		    "data-encipherment/data-encipherment") == 0)
			done = 1;
		else if (g == G_VCDB)
			done = vcdb_planned(b, f->place);
		else if (g == G_SOLUTION) {
			for (k = 0; solution_users[k] != NULL; k++)
				if (strcmp(solution_users[k], sol) == 0)
					done = b->planned_sol[k];
		} else if (g != G_NONE)
			done = b->planned[g];
		if (done)
			continue;
		if (asprintf(&s, "%s %s: %s", f->code, f->place,
		    f->message) == -1)
			continue;
		json_array_append_new(a, json_string(s));
		free(s);
	}
	return a;
}

/* The plan's "appliance": who it was made for. */
static json_t *
appliance_json(const struct appliance *app)
{
	json_t	*o = json_object();

	json_object_set_new(o, "pnid", json_string(app->pnid));
	json_object_set_new(o, "machine_id", json_string(app->machine_id));
	json_object_set_new(o, "domain", json_string(app->domain));
	json_object_set_new(o, "site", json_string(app->site));
	json_object_set_new(o, "node_type", app->node_type != NULL ?
	    json_string(app->node_type) : json_null());
	return o;
}

/* The plan's "policy": the options it was made with. */
static json_t *
policy_json(const struct plan_policy *pol)
{
	json_t	*o = json_object(), *san = json_array();
	size_t	 i;

	for (i = 0; i < pol->nsan; i++)
		json_array_append_new(san, json_string(pol->san[i]));
	json_object_set_new(o, "renew_within_days",
	    json_integer(pol->renew_within));
	json_object_set_new(o, "scope", json_string(plan_scope_name(pol->scope)));
	json_object_set_new(o, "reset_all", json_boolean(pol->reset_all));
	json_object_set_new(o, "key_bits", json_integer(pol->key_bits));
	json_object_set_new(o, "validity_days", json_integer(pol->validity_days));
	json_object_set_new(o, "prune_expired_roots",
	    json_boolean(pol->prune_expired_roots));
	json_object_set_new(o, "san", san);
	if ((san = json_array()) != NULL)
		for (i = 0; i < pol->ndrop_san; i++)
			json_array_append_new(san,
			    json_string(pol->drop_san[i]));
	json_object_set_new(o, "drop_san", san);
	json_object_set_new(o, "issuer", pol->issuer_vmca ?
	    json_string("vmca") : json_null());
	return o;
}

json_t *
plan_document(const struct inventory *inv, const struct plan_policy *pol,
    json_t *steps, json_t *left)
{
	json_t	*plan;

	if ((plan = json_object()) == NULL || steps == NULL || left == NULL) {
		json_decref(plan);
		json_decref(steps);
		json_decref(left);
		return NULL;
	}
	json_object_set_new(plan, "schema", json_string(PLAN_SCHEMA));
	json_object_set_new(plan, "created", json_time(pol->at));
	json_object_set_new(plan, "vcrotate_version",
	    json_string(VCROTATE_VERSION));
	json_object_set_new(plan, "appliance", appliance_json(&inv->app));
	json_object_set_new(plan, "policy", policy_json(pol));
	json_object_set_new(plan, "steps", steps);
	json_object_set_new(plan, "left_alone", left);
	if (plan_seal(plan) == -1) {
		json_decref(plan);
		plan = NULL;
	}
	return plan;
}

json_t *
plan_restart_step(size_t n)
{
	json_t	*s = json_object();

	if (s == NULL)
		return NULL;
	json_object_set_new(s, "n", json_integer((json_int_t)n));
	json_object_set_new(s, "kind", json_string(kind_names[STEP_RESTART]));
	json_object_set_new(s, "title", json_string("restart every service "
	    "once, after all changes (service-control --stop --all, then "
	    "--start --all)"));
	json_object_set_new(s, "why", json_array());
	json_object_set_new(s, "profile", json_null());
	json_object_set_new(s, "targets", json_pack("[o]", target(
	    TARGET_SERVICES, "service-control", ACTION_RESTART, NULL)));
	return s;
}

json_t *
plan_target_json(enum target_type type, const char *place,
    enum target_action action, const char *digest)
{
	return target(type, place, action, digest);
}

json_t *
plan_vecs_target(const struct inventory *inv, const char *store,
    const char *alias, enum target_action action)
{
	return vecs_target(inv, store, alias, action);
}

/*
 * A new STS credential in an SSO domain of several nodes: the restart
 * step says that apply waits for the other domain controllers to hold it,
 * and that every other node must restart after (KB 318197), in order.
 */
static void
domain_restart_note(struct build *b)
{
	const struct inventory *inv = b->inv;
	struct buf dcs = BUF_INIT, all = BUF_INIT, why = BUF_INIT;
	json_t	*restart = json_array_get(b->steps,
	    json_array_size(b->steps) - 1);
	size_t	 i, k;

	/* Domain controllers (a PSC before its vCenters), then the
	 * management nodes. */
	for (k = 0; k < 2; k++)
		for (i = 0; i < inv->nnodes; i++) {
			const struct inv_node *n = &inv->nodes[i];

			if (n->self || n->dc != (k == 0))
				continue;
			if ((n->dc && buf_printf(&dcs, "%s%s", dcs.len ?
			    ", " : "", n->pnid) == -1) || buf_printf(&all,
			    "%s%s", all.len ? ", " : "", n->pnid) == -1)
				b->oom = 1;
		}
	if (all.len > 0 && !b->oom && (buf_printf(&why, "the STS signing "
	    "credential is the SSO domain's: %s%s%severy other node must then "
	    "restart its services, one at a time, in this order: %s (VMware "
	    "KB 318197; each with its own plan, made after this one is "
	    "applied, or service-control --stop --all, --start --all; "
	    "docs/domain.md)", dcs.len ? "before this restart apply waits "
	    "until vmdir has replicated it to " : "", buf_str(&dcs),
	    dcs.len ? "; " : "", buf_str(&all)) == -1 ||
	    json_array_append_new(json_object_get(restart, "why"),
	    json_string_lossy(buf_str(&why))) == -1))
		b->oom = 1;
	buf_free(&dcs);
	buf_free(&all);
	buf_free(&why);
}

json_t *
plan_build(const struct inventory *inv, const struct plan_policy *pol,
    int *nothing, json_t **held)
{
	struct build b;
	struct policy fp = { pol->at, pol->renew_within, pol->renew_within };
	json_t	*plan = NULL;
	X509	*root = inv->vmca_root != NULL ?
	    sk_X509_value(inv->vmca_root, 0) : NULL;
	size_t	 k;

	*nothing = 0;
	*held = NULL;
	memset(&b, 0, sizeof(b));
	b.inv = inv;
	b.pol = pol;
	if (findings_evaluate(inv, &fp, &b.f) == -1)
		return NULL;
	if ((b.steps = json_array()) == NULL || (b.held = json_array()) == NULL)
		goto out;

	/* A root that is bad, or would cut a new leaf short, is replaced,
	 * and with it everything it signs (certificate-manager's reset). */
	b.reset = pol->reset_all || pol->scope == SCOPE_ROOT ||
	    (pol->scope == SCOPE_ALL && (group_has(&b, G_ROOT, NULL) ||
	    (root != NULL && cert_not_after(root) < pol->at +
	    (time_t)pol->validity_days * 86400)));
	b.not_after_max = b.reset || root == NULL ?
	    pol->at + (time_t)ROOT_VALIDITY_DAYS * 86400 : cert_not_after(root);

	if (b.reset && held_on_psc(&b, "root", NULL))
		b.reset = 0;
	if (b.reset) {
		step_root(&b);
		b.planned[G_ROOT] = 1;
	}
	if ((b.reset || (in_scope(pol, G_STS) && group_has(&b, G_STS,
	    NULL))) && !held_on_psc(&b, "sts", NULL)) {
		step_sts(&b);
		b.planned[G_STS] = 1;
	}
	for (k = 0; solution_users[k] != NULL; k++) {
		const char *sol = solution_users[k];

		/* Neither in VECS nor in vmdir: one this version has not
		 * (hvc and wcp before 7.0). Only in vmdir: its entry is
		 * added, but vecs-cli makes none in a store that is not
		 * there (left alone: its finding says what to do). */
		if (inventory_vecs(inv, sol, sol) == NULL &&
		    (inventory_principal(inv, sol) == NULL ||
		    !inventory_has_store(inv, sol)))
			continue;
		if ((b.reset || (in_scope(pol, G_SOLUTION) &&
		    group_has(&b, G_SOLUTION, sol))) &&
		    !held_on_psc(&b, sol, sol) &&
		    !held_back(&b, sol, sol, sol)) {
			step_solution_user(&b, sol);
			b.planned_sol[k] = 1;
		}
	}
	if (b.reset && inventory_vecs(inv, "data-encipherment",
	    "data-encipherment") != NULL)
		step_data_encipherment(&b);
	if ((b.reset || (in_scope(pol, G_MACHINE_SSL) &&
	    group_has(&b, G_MACHINE_SSL, NULL))) &&
	    !held_on_psc(&b, "MACHINE_SSL_CERT", "__MACHINE_CERT") &&
	    !held_back(&b,
	    "MACHINE_SSL_CERT", "__MACHINE_CERT", "machine-ssl")) {
		step_machine_ssl(&b);
		b.planned[G_MACHINE_SSL] = 1;
		step_trust(&b, 1);
		b.planned[G_TRUST] = 1;
	} else if (in_scope(pol, G_TRUST) && group_has(&b, G_TRUST, NULL)) {
		step_trust(&b, 0);
		b.planned[G_TRUST] = 1;
	}
	if (b.reset && root != NULL && cert_not_after(root) < pol->at)
		step_retire_root(&b, root);
	if (pol->prune_expired_roots && pol->scope == SCOPE_ALL) {
		step_prune(&b);
		b.planned[G_PRUNE] = 1;
	}
	step_vcdb(&b);
	step_vsan(&b);
	step_rbd(&b);
	if (json_array_size(b.steps) == 0) {
		*nothing = 1;
		*held = b.oom ? NULL : json_incref(b.held);
		goto out;
	}
	if (json_array_append_new(b.steps, plan_restart_step(
	    json_array_size(b.steps) + 1)) == -1)
		b.oom = 1;
	if (b.planned[G_STS])
		domain_restart_note(&b);
	if (b.oom)
		goto out;

	plan = plan_document(inv, pol, b.steps, left_alone(&b));
	b.steps = NULL;
out:
	json_decref(b.steps);
	json_decref(b.held);
	findings_free(&b.f);
	return plan;
}

/* ---- sealing and loading ---- */

/* SHA-256 over the canonical form of everything but "sha256". */
int
plan_digest(json_t *plan, char out[65])
{
	json_t	*copy = NULL;
	char	*text = NULL;
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;
	int	 ret = -1;

	if ((copy = json_copy(plan)) == NULL)
		return -1;
	json_object_del(copy, "sha256");
	text = json_dumps(copy, JSON_SORT_KEYS | JSON_COMPACT |
	    JSON_ENSURE_ASCII);
	if (text == NULL || !EVP_Digest(text, strlen(text), d, &n,
	    EVP_sha256(), NULL))
		goto out;
	for (i = 0; i < n && i < 32; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
	out[64] = '\0';
	ret = 0;
out:
	free(text);
	json_decref(copy);
	return ret;
}

int
plan_seal(json_t *plan)
{
	char	 hex[65];

	if (plan_digest(plan, hex) == -1)
		return -1;
	return json_object_set_new(plan, "sha256", json_string(hex));
}

/* ---- rendering ---- */

static const char *
str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s != NULL ? s : "";
}

static void
render_list(FILE *out, json_t *arr, const char *sep)
{
	size_t	 i;
	json_t	*v;

	json_array_foreach(arr, i, v)
		fprintf(out, "%s%s", i ? sep : "", json_string_value(v));
}

/* A target: what, where, its digest now; a VCDB row's thumbprint, old
 * and new. */
static void
render_target(FILE *out, json_t *t)
{
	fprintf(out, "  %-8s %s%s%s\n", str(t, "action"), str(t, "place"),
	    json_is_string(json_object_get(t, "digest")) ?
	    "\n           now " : "", str(t, "digest"));
	if (!json_is_string(json_object_get(t, "follows")))
		return;
	if (json_is_string(json_object_get(t, "thumbprint_after")))
		fprintf(out, "           thumbprint %s -> %s (that of %s)\n",
		    str(t, "thumbprint"), str(t, "thumbprint_after"),
		    str(t, "follows"));
	else
		fprintf(out, "           thumbprint %s -> that of the new %s "
		    "certificate\n", str(t, "thumbprint"), str(t, "follows"));
}

static int
render(FILE *out, json_t *plan)
{
	json_t	*a = json_object_get(plan, "appliance");
	json_t	*pol = json_object_get(plan, "policy");
	json_t	*steps = json_object_get(plan, "steps"), *s, *t, *w, *p;
	json_t	*alone = json_object_get(plan, "left_alone");
	size_t	 i, j;

	fprintf(out, "Plan for %s (machine id %s, domain %s), made %s by "
	    "vcrotate %s\n", str(a, "pnid"), str(a, "machine_id"),
	    str(a, "domain"), str(plan, "created"),
	    str(plan, "vcrotate_version"));
	fprintf(out, "Policy: renew what expires within %lld days; scope %s%s;"
	    " new keys RSA %lld; leaves valid %lld days%s\n",
	    json_integer_value(json_object_get(pol, "renew_within_days")),
	    str(pol, "scope"), json_is_true(json_object_get(pol, "reset_all")) ?
	    " (reset all)" : "",
	    json_integer_value(json_object_get(pol, "key_bits")),
	    json_integer_value(json_object_get(pol, "validity_days")),
	    json_is_true(json_object_get(pol, "prune_expired_roots")) ?
	    "; expired unused roots pruned" : "");
	if (json_array_size(json_object_get(pol, "drop_san")) > 0) {
		fprintf(out, "Machine SSL names dropped: ");
		render_list(out, json_object_get(pol, "drop_san"), ", ");
		fprintf(out, "\n");
	}
	if (json_is_string(json_object_get(pol, "issuer")))
		fprintf(out, "Issuer: %s replaces certificates other CAs "
		    "issued (--issuer %s)\n", str(pol, "issuer"),
		    str(pol, "issuer"));
	fprintf(out, "SHA-256: %s\n", str(plan, "sha256"));
	json_array_foreach(steps, i, s) {
		fprintf(out, "\nStep %lld: %s\n",
		    json_integer_value(json_object_get(s, "n")),
		    str(s, "title"));
		json_array_foreach(json_object_get(s, "why"), j, w)
			fprintf(out, "  because %s\n", json_string_value(w));
		p = json_object_get(s, "profile");
		if (json_is_object(p)) {
			fprintf(out, "  new certificate: %s", str(p, "subject"));
			if (json_array_size(json_object_get(p, "san")) > 0) {
				fprintf(out, "; SAN ");
				render_list(out, json_object_get(p, "san"), ", ");
			}
			fprintf(out, "\n");
			if (json_is_array(json_object_get(p, "san_before"))) {
				fprintf(out, "    SAN now: ");
				render_list(out, json_object_get(p,
				    "san_before"), ", ");
				fprintf(out, "%s\n    SAN new: ", json_array_size(
				    json_object_get(p, "san_before")) ? "" :
				    "(none)");
				render_list(out, json_object_get(p, "san"),
				    ", ");
				fprintf(out, "\n");
			}
			fprintf(out, "    ");
			render_list(out, json_object_get(p, "key_usage"), ", ");
			if (json_array_size(json_object_get(p,
			    "extended_key_usage")) > 0) {
				fprintf(out, "; ");
				render_list(out, json_object_get(p,
				    "extended_key_usage"), ", ");
			}
			fprintf(out, "%s; RSA %lld; signed by %s; %lld days, "
			    "not after %s\n",
			    json_is_true(json_object_get(p, "ca")) ? "; CA" : "",
			    json_integer_value(json_object_get(json_object_get(p,
			    "key"), "bits")), str(p, "issuer"),
			    json_integer_value(json_object_get(p,
			    "validity_days")), str(p, "not_after_max"));
		}
		json_array_foreach(json_object_get(s, "targets"), j, t)
			render_target(out, t);
	}
	if (json_array_size(alone) > 0) {
		fprintf(out, "\nLeft alone by this plan:\n");
		json_array_foreach(alone, i, w)
			fprintf(out, "  %s\n", json_string_value(w));
	}
	fprintf(out, "\nNothing is changed until `vcrotate apply PLAN`; it "
	    "refuses to run if any target's content differs from the digest "
	    "above.\n");
	return ferror(out) ? -1 : 0;
}

int
plan_render(FILE *out, json_t *plan)
{
	char	*text = NULL;
	size_t	 len = 0;
	FILE	*m;
	int	 ret;

	if ((m = open_memstream(&text, &len)) == NULL)
		return -1;
	ret = render(m, plan);
	if (fclose(m) != 0)
		ret = -1;
	/*
	 * A plan travels through tickets and mail and anyone can seal one
	 * again: its names reach the terminal shown, never as escape
	 * sequences or control bytes it would act on.
	 */
	if (ret == 0)
		ret = text_put_safe(out, text);
	free(text);
	return ret == 0 && !ferror(out) ? 0 : -1;
}

int
plan_write(const char *path, json_t *plan, struct buf *err)
{
	struct buf b = BUF_INIT;
	char	*text;
	int	 ret = -1;

	if ((text = json_dumps(plan, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) ==
	    NULL || buf_printf(&b, "%s\n", text) == -1)
		buf_printf(err, "out of memory");
	else
		ret = file_write_atomic(path, b.data, b.len, 0600, err);
	free(text);
	buf_free(&b);
	return ret;
}
