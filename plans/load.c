/*
 * load.c - reads a plan file back: the JSON, its fields and types, the
 * seal, and then, once, the plan decoded into struct plan and held to the
 * rules of docs/plans.md ("What a plan may do"): what plan_build itself
 * would make. The seal is a checksum anyone can compute again, so these
 * rules, not the seal, are what keeps an edited plan from deleting a user
 * or making the Machine SSL certificate a CA.
 *
 * The JSON document is the caller's until plan_decode takes a reference
 * for plan->doc; everything else in a struct plan is allocated here and
 * freed by plan_free.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cert.h"
#include "plan-int.h"
#include "vcdb.h"
#include "vsan.h"
#include "rbd.h"
#include "vmdir.h"

/* ---- the fields and their types ---- */

/* What a field must be. */
enum ftype { F_STR, F_STR_OR_NULL, F_INT, F_BOOL, F_OBJ, F_ARR, F_OBJ_OR_NULL };

struct field {
	const char	*name;
	enum ftype	 type;
	int		 optional;	/* may be missing (newer fields) */
};

static const struct field top_fields[] = {
	{ "schema", F_STR }, { "created", F_STR },
	{ "vcrotate_version", F_STR }, { "appliance", F_OBJ },
	{ "policy", F_OBJ }, { "steps", F_ARR }, { "left_alone", F_ARR },
	{ "sha256", F_STR }, { NULL, 0 },
};
static const struct field appliance_fields[] = {
	{ "pnid", F_STR }, { "machine_id", F_STR }, { "domain", F_STR },
	{ "site", F_STR }, { "node_type", F_STR_OR_NULL }, { NULL, 0 },
};
static const struct field policy_fields[] = {
	{ "renew_within_days", F_INT }, { "scope", F_STR },
	{ "reset_all", F_BOOL }, { "key_bits", F_INT },
	{ "validity_days", F_INT }, { "prune_expired_roots", F_BOOL },
	{ "san", F_ARR }, { "drop_san", F_ARR, 1 },
	{ "issuer", F_STR_OR_NULL, 1 }, { NULL, 0 },
};
static const struct field step_fields[] = {
	{ "n", F_INT }, { "kind", F_STR }, { "title", F_STR },
	{ "why", F_ARR }, { "profile", F_OBJ_OR_NULL }, { "targets", F_ARR },
	{ "import", F_OBJ, 1 }, { NULL, 0 },
};
static const struct field import_fields[] = {
	{ "certificate", F_STR_OR_NULL }, { "chain", F_ARR },
	{ "key_id", F_STR_OR_NULL }, { NULL, 0 },
};
static const struct field profile_fields[] = {
	{ "subject", F_STR }, { "san", F_ARR }, { "key_usage", F_ARR },
	{ "extended_key_usage", F_ARR }, { "ca", F_BOOL }, { "key", F_OBJ },
	{ "issuer", F_STR }, { "validity_days", F_INT },
	{ "not_after_max", F_STR }, { "san_before", F_ARR, 1 }, { NULL, 0 },
};
static const struct field key_fields[] = {
	{ "type", F_STR }, { "bits", F_INT }, { NULL, 0 },
};
static const struct field target_fields[] = {
	{ "type", F_STR }, { "place", F_STR }, { "action", F_STR },
	{ "digest", F_STR_OR_NULL }, { "thumbprint", F_STR, 1 },
	{ "follows", F_STR, 1 }, { "thumbprint_after", F_STR_OR_NULL, 1 },
	{ NULL, 0 },
};

static const char *
ftype_name(enum ftype t)
{
	static const char *const n[] = { "a string", "a string or null",
	    "an integer", "true or false", "an object", "an array",
	    "an object or null" };

	return n[t];
}

static int
type_ok(json_t *v, enum ftype t)
{
	switch (t) {
	case F_STR:		return json_is_string(v);
	case F_STR_OR_NULL:	return json_is_string(v) || json_is_null(v);
	case F_INT:		return json_is_integer(v);
	case F_BOOL:		return json_is_boolean(v);
	case F_OBJ:		return json_is_object(v);
	case F_ARR:		return json_is_array(v);
	case F_OBJ_OR_NULL:	return json_is_object(v) || json_is_null(v);
	}
	return 0;
}

/* Every field present with its type, and no other. */
static int
check_fields(json_t *obj, const struct field *spec, const char *path,
    struct buf *err)
{
	const char *key;
	json_t	*v;
	size_t	 i;
	int	 known;

	for (i = 0; spec[i].name != NULL; i++) {
		if ((v = json_object_get(obj, spec[i].name)) == NULL &&
		    spec[i].optional)
			continue;
		if (v == NULL) {
			buf_printf(err, "missing field %s%s", path,
			    spec[i].name);
			return -1;
		}
		if (!type_ok(v, spec[i].type)) {
			buf_printf(err, "field %s%s must be %s", path,
			    spec[i].name, ftype_name(spec[i].type));
			return -1;
		}
	}
	json_object_foreach(obj, key, v) {
		known = 0;
		for (i = 0; spec[i].name != NULL; i++)
			if (strcmp(key, spec[i].name) == 0)
				known = 1;
		if (!known) {
			buf_printf(err, "unknown field %s%s", path, key);
			return -1;
		}
	}
	return 0;
}

/* Every element of arr a string. */
static int
strings_ok(json_t *arr)
{
	json_t	*v;
	size_t	 i;

	json_array_foreach(arr, i, v)
		if (!json_is_string(v))
			return 0;
	return 1;
}

/* One step's fields, its profile's and its targets'. */
static int
check_step_fields(json_t *s, size_t i, struct buf *err)
{
	json_t	*p, *t;
	char	 path[64];
	size_t	 j;

	snprintf(path, sizeof(path), "steps[%zu].", i);
	if (!json_is_object(s)) {
		buf_printf(err, "field steps[%zu] must be an object", i);
		return -1;
	}
	if (check_fields(s, step_fields, path, err) == -1)
		return -1;
	if (json_is_object(p = json_object_get(s, "profile"))) {
		snprintf(path, sizeof(path), "steps[%zu].profile.", i);
		if (check_fields(p, profile_fields, path, err) == -1)
			return -1;
		snprintf(path, sizeof(path), "steps[%zu].profile.key.", i);
		if (check_fields(json_object_get(p, "key"), key_fields, path,
		    err) == -1)
			return -1;
	}
	if (json_is_object(p = json_object_get(s, "import"))) {
		snprintf(path, sizeof(path), "steps[%zu].import.", i);
		if (check_fields(p, import_fields, path, err) == -1)
			return -1;
		if (!strings_ok(json_object_get(p, "chain"))) {
			buf_printf(err, "field steps[%zu].import.chain must hold "
			    "strings", i);
			return -1;
		}
	}
	json_array_foreach(json_object_get(s, "targets"), j, t) {
		snprintf(path, sizeof(path), "steps[%zu].targets[%zu].", i, j);
		if (!json_is_object(t)) {
			buf_printf(err, "field %.*s must be an object",
			    (int)strlen(path) - 1, path);
			return -1;
		}
		if (check_fields(t, target_fields, path, err) == -1)
			return -1;
	}
	if (!strings_ok(json_object_get(s, "why"))) {
		buf_printf(err, "field steps[%zu].why must hold strings", i);
		return -1;
	}
	return 0;
}

/* The shape of the document: every field, of its type, and no other. */
static int
check_shape(json_t *plan, struct buf *err)
{
	json_t	*s;
	size_t	 i;

	if (check_fields(plan, top_fields, "", err) == -1 ||
	    check_fields(json_object_get(plan, "appliance"), appliance_fields,
	    "appliance.", err) == -1 ||
	    check_fields(json_object_get(plan, "policy"), policy_fields,
	    "policy.", err) == -1)
		return -1;
	json_array_foreach(json_object_get(plan, "steps"), i, s)
		if (check_step_fields(s, i, err) == -1)
			return -1;
	if (json_array_size(json_object_get(plan, "steps")) == 0) {
		buf_printf(err, "field steps is empty");
		return -1;
	}
	/* plan_render prints them. */
	if (!strings_ok(json_object_get(plan, "left_alone"))) {
		buf_printf(err, "field left_alone must hold strings");
		return -1;
	}
	return 0;
}

/* ---- places ---- */

static int
unhex(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ?
	    c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * Whether any string of v holds U+0000 where no mark may be: anywhere but
 * at the start of a "place" value (place, when v is one). 1 or 0.
 */
static int
nul_where(json_t *v, int place)
{
	const char *k;
	json_t	*c;
	size_t	 i, n;

	switch (json_typeof(v)) {
	case JSON_STRING:
		n = json_string_length(v);
		for (i = place ? 1 : 0; i < n; i++)
			if (json_string_value(v)[i] == '\0')
				return 1;
		return 0;
	case JSON_OBJECT:
		json_object_foreach(v, k, c)
			if (nul_where(c, strcmp(k, "place") == 0))
				return 1;
		return 0;
	case JSON_ARRAY:
		json_array_foreach(v, i, c)
			if (nul_where(c, 0))
				return 1;
		return 0;
	default:
		return 0;
	}
}

/*
 * The bytes of a place as the file holds it (plan.c place_json): as it is,
 * or, after the U+0000 mark, with each %XX turned back into its byte.
 * Malloc'd, with its length in *len; NULL and err for a bad escape (or an
 * escaped NUL: no alias holds one), NULL alone when out of memory.
 */
static char *
place_bytes(json_t *v, size_t *len, size_t i, size_t j, struct buf *err)
{
	const char *e = json_string_value(v);
	size_t	 n = json_string_length(v), k = 0;
	char	*raw;
	int	 hi, lo;

	if (n == 0 || *e != '\0') {
		*len = n;
		return strndup(e, n);
	}
	if ((raw = malloc(n)) == NULL)
		return NULL;
	for (e++, n--; n > 0; n--, e++) {
		if (*e != '%' && *e != '\0') {
			raw[k++] = *e;
			continue;
		}
		if (*e == '\0' || n < 3 || (hi = unhex(e[1])) < 0 ||
		    (lo = unhex(e[2])) < 0 || (hi | lo) == 0) {
			free(raw);
			buf_printf(err, "field steps[%zu].targets[%zu].place: a "
			    "bad %%XX escape", i, j);
			return NULL;
		}
		raw[k++] = (char)(hi << 4 | lo);
		e += 2;
		n -= 2;
	}
	raw[k] = '\0';
	*len = k;
	return raw;
}

/* The document's marked places back to their bytes, for plan_render. */
static int
places_decode(json_t *plan, struct buf *err)
{
	json_t	*s, *t, *v;
	size_t	 i, j, n;
	char	*raw;

	json_array_foreach(json_object_get(plan, "steps"), i, s)
		json_array_foreach(json_object_get(s, "targets"), j, t) {
			v = json_object_get(t, "place");
			if (json_string_length(v) == 0 ||
			    *json_string_value(v) != '\0')
				continue;
			if ((raw = place_bytes(v, &n, i, j, err)) == NULL)
				return -1;
			json_object_set_new(t, "place",
			    json_stringn_nocheck(raw, n));
			free(raw);
		}
	return 0;
}

/* ---- decoding into struct plan ---- */

static int
iso_time(const char *s, time_t *out)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm)) == NULL ||
	    *end != '\0')
		return -1;
	*out = timegm(&tm);
	return 0;
}

static int
key_bits_ok(json_int_t bits)
{
	return bits == 2048 || bits == 3072 || bits == 4096;
}

/* "sha256:" and 64 lower-case hexadecimal digits, as inventory.h makes. */
static int
digest_ok(const char *s)
{
	size_t	 i;

	if (strncmp(s, "sha256:", 7) != 0 || strlen(s) != 7 + 64)
		return 0;
	for (i = 7; s[i] != '\0'; i++)
		if (!isdigit((unsigned char)s[i]) && (s[i] < 'a' || s[i] > 'f'))
			return 0;
	return 1;
}

static char *
jstrdup(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s != NULL ? strdup(s) : NULL;
}

static int
decode_appliance(struct plan *p, json_t *a, struct buf *err)
{
	const char *c;

	if ((p->app.pnid = jstrdup(a, "pnid")) == NULL ||
	    (p->app.machine_id = jstrdup(a, "machine_id")) == NULL ||
	    (p->app.domain = jstrdup(a, "domain")) == NULL ||
	    (p->app.site = jstrdup(a, "site")) == NULL ||
	    (json_is_string(json_object_get(a, "node_type")) &&
	    (p->app.node_type = jstrdup(a, "node_type")) == NULL) ||
	    (p->app.domain_dn = vmdir_domain_dn(p->app.domain)) == NULL) {
		buf_printf(err, "out of memory");
		return -1;
	}
	/* They make DNs, subjects and SANs: names, nothing more. */
	if (app_name_kind(p->app.pnid, 0) == 0) {
		buf_printf(err, "field appliance.pnid: %s is not a DNS name or "
		    "an IP address", p->app.pnid);
		return -1;
	}
	if (app_name_kind(p->app.domain, 0) != APP_NAME_DNS) {
		buf_printf(err, "field appliance.domain: %s is not a domain "
		    "name", p->app.domain);
		return -1;
	}
	for (c = p->app.machine_id; *c != '\0'; c++)
		if (!isalnum((unsigned char)*c) && *c != '-')
			break;
	if (*c != '\0' || c == p->app.machine_id) {
		buf_printf(err, "field appliance.machine_id: not a machine id");
		return -1;
	}
	return 0;
}

/*
 * policy.san or policy.drop_san (arr, NULL when missing) into *out, a
 * NULL-ended array of entries ("DNS:a", "IP:b", "email:c"): an older plan's
 * bare names are typed as plan types them.
 */
static int
decode_names(char ***out, size_t *n, json_t *arr, const char *what,
    struct buf *err)
{
	json_t	*v;
	size_t	 i;

	if ((*out = calloc(json_array_size(arr) + 1, sizeof(**out))) ==
	    NULL) {
		buf_printf(err, "out of memory");
		return -1;
	}
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v) ||
		    ((*out)[i] = app_san_parse(json_string_value(v))) == NULL) {
			buf_printf(err, "field policy.%s[%zu]: not a DNS name, "
			    "an IP address or an email address", what, i);
			return -1;
		}
		*n = i + 1;
	}
	return 0;
}

static int
decode_policy(struct plan *p, json_t *doc, struct buf *err)
{
	json_t	*o = json_object_get(doc, "policy"), *v;
	struct plan_policy *pol = &p->policy;
	json_int_t n;
	int	 scope;

	if (iso_time(json_string_value(json_object_get(doc, "created")),
	    &pol->at) == -1) {
		buf_printf(err, "field created: not a time "
		    "(YYYY-MM-DDTHH:MM:SSZ)");
		return -1;
	}
	n = json_integer_value(json_object_get(o, "renew_within_days"));
	if (n < 0 || n > 100000) {
		buf_printf(err, "field policy.renew_within_days must be 0 to "
		    "100000");
		return -1;
	}
	pol->renew_within = (int)n;
	if ((scope = plan_scope_parse(json_string_value(json_object_get(o,
	    "scope")))) < 0) {
		buf_printf(err, "field policy.scope: unknown scope");
		return -1;
	}
	pol->scope = (enum plan_scope)scope;
	pol->reset_all = json_is_true(json_object_get(o, "reset_all"));
	pol->prune_expired_roots = json_is_true(json_object_get(o,
	    "prune_expired_roots"));
	n = json_integer_value(json_object_get(o, "key_bits"));
	if (!key_bits_ok(n)) {
		buf_printf(err, "field policy.key_bits must be 2048, 3072 or "
		    "4096");
		return -1;
	}
	pol->key_bits = (int)n;
	n = json_integer_value(json_object_get(o, "validity_days"));
	if (n < 1 || n > ROOT_VALIDITY_DAYS) {
		buf_printf(err, "field policy.validity_days must be 1 to %d",
		    ROOT_VALIDITY_DAYS);
		return -1;
	}
	pol->validity_days = (int)n;
	if (decode_names(&p->san, &pol->nsan, json_object_get(o, "san"),
	    "san", err) == -1 || decode_names(&p->drop_san, &pol->ndrop_san,
	    json_object_get(o, "drop_san"), "drop_san", err) == -1)
		return -1;
	pol->san = (const char *const *)p->san;
	pol->drop_san = (const char *const *)p->drop_san;
	v = json_object_get(o, "issuer");
	if (json_is_string(v) && strcmp(json_string_value(v), "vmca") != 0) {
		buf_printf(err, "field policy.issuer must be null or vmca");
		return -1;
	}
	pol->issuer_vmca = json_is_string(v);
	return 0;
}

/* A list of usage names as bits; -1 on one not a known name. */
static int
decode_usages(json_t *arr, int extended, unsigned *out, size_t i,
    struct buf *err)
{
	json_t	*v;
	size_t	 k;
	unsigned bit;

	*out = 0;
	json_array_foreach(arr, k, v) {
		if (!json_is_string(v)) {
			buf_printf(err, "field steps[%zu].profile: san, "
			    "key_usage and extended_key_usage must hold strings "
			    "(san: DNS:name, IP:address or email:address)", i);
			return -1;
		}
		if ((bit = plan_usage_parse(json_string_value(v),
		    extended)) == 0) {
			buf_printf(err, "field steps[%zu].profile.%s: unknown "
			    "usage %s", i, extended ? "extended_key_usage" :
			    "key_usage", json_string_value(v));
			return -1;
		}
		*out |= bit;
	}
	return 0;
}

static int
decode_sans(struct cert_profile *c, json_t *arr, size_t i, struct buf *err)
{
	json_t	*v;
	size_t	 k;

	if ((c->san = calloc(json_array_size(arr) + 1, sizeof(*c->san))) ==
	    NULL) {
		buf_printf(err, "out of memory");
		return -1;
	}
	json_array_foreach(arr, k, v) {
		if (!json_is_string(v) ||
		    !app_san_entry_ok(json_string_value(v))) {
			buf_printf(err, "field steps[%zu].profile: san, "
			    "key_usage and extended_key_usage must hold strings "
			    "(san: DNS:name, IP:address or email:address)", i);
			return -1;
		}
		if ((c->san[k].entry = strdup(json_string_value(v))) == NULL) {
			buf_printf(err, "out of memory");
			return -1;
		}
		c->san[k].type = strncmp(c->san[k].entry, "IP:", 3) == 0 ?
		    SAN_IP : strncmp(c->san[k].entry, "email:", 6) == 0 ?
		    SAN_EMAIL : SAN_DNS;
		c->nsan = k + 1;
	}
	return 0;
}

static int
decode_profile(struct cert_profile *c, json_t *p, size_t i, struct buf *err)
{
	json_t	*key = json_object_get(p, "key");
	json_int_t n;

	if ((c->subject = jstrdup(p, "subject")) == NULL ||
	    (c->issuer = jstrdup(p, "issuer")) == NULL)
		goto oom;
	n = json_integer_value(json_object_get(key, "bits"));
	if (strcmp(json_string_value(json_object_get(key, "type")), "RSA") !=
	    0 || !key_bits_ok(n)) {
		buf_printf(err, "field steps[%zu].profile.key must be RSA of "
		    "2048, 3072 or 4096 bits", i);
		return -1;
	}
	c->key_bits = (int)n;
	if (decode_usages(json_object_get(p, "key_usage"), 0, &c->key_usage, i,
	    err) == -1 || decode_usages(json_object_get(p,
	    "extended_key_usage"), 1, &c->ext_key_usage, i, err) == -1)
		return -1;
	if (decode_sans(c, json_object_get(p, "san"), i, err) == -1)
		return -1;
	c->ca = json_is_true(json_object_get(p, "ca"));
	n = json_integer_value(json_object_get(p, "validity_days"));
	if (n < 1 || n > ROOT_VALIDITY_DAYS) {
		buf_printf(err, "field steps[%zu].profile.validity_days must be "
		    "1 to %d", i, ROOT_VALIDITY_DAYS);
		return -1;
	}
	c->validity_days = (int)n;
	if (iso_time(json_string_value(json_object_get(p, "not_after_max")),
	    &c->not_after_max) == -1) {
		buf_printf(err, "field steps[%zu].profile.not_after_max: not a "
		    "time (YYYY-MM-DDTHH:MM:SSZ)", i);
		return -1;
	}
	return 0;
oom:
	buf_printf(err, "out of memory");
	return -1;
}

/*
 * A vcdb target's thumbprint (now), follows and thumbprint_after, all
 * three there; no other target has any of them. Their values are the
 * rules' (check_vcdb_target).
 */
static int
decode_vcdb_fields(struct plan_target *t, json_t *o, size_t i, size_t j,
    struct buf *err)
{
	json_t	*tp = json_object_get(o, "thumbprint");
	json_t	*fo = json_object_get(o, "follows");
	json_t	*af = json_object_get(o, "thumbprint_after");

	if (t->type != TARGET_VCDB && t->type != TARGET_AUTODEPLOY) {
		if (tp == NULL && fo == NULL && af == NULL)
			return 0;
		buf_printf(err, "field steps[%zu].targets[%zu]: thumbprint, "
		    "follows and thumbprint_after belong to vcdb and "
		    "autodeploy targets only", i, j);
		return -1;
	}
	if (tp == NULL || fo == NULL || af == NULL) {
		buf_printf(err, "field steps[%zu].targets[%zu]: a vcdb target "
		    "has thumbprint, follows and thumbprint_after", i, j);
		return -1;
	}
	if ((t->thumbprint = jstrdup(o, "thumbprint")) == NULL ||
	    (t->follows = jstrdup(o, "follows")) == NULL ||
	    (json_is_string(af) && (t->thumbprint_after = jstrdup(o,
	    "thumbprint_after")) == NULL)) {
		buf_printf(err, "out of memory");
		return -1;
	}
	return 0;
}

static int
decode_target(struct plan_target *t, json_t *o, size_t i, size_t j,
    struct buf *err)
{
	int	 type = plan_type_parse(json_string_value(json_object_get(o,
	    "type")));
	int	 action = plan_action_parse(json_string_value(json_object_get(o,
	    "action")));
	const char *d = json_string_value(json_object_get(o, "digest"));
	size_t	 len;

	if ((t->place = place_bytes(json_object_get(o, "place"), &len, i, j,
	    err)) == NULL) {
		if (err->len == 0)
			buf_printf(err, "out of memory");
		return -1;
	}
	if (type < 0 || action < 0 || strlen(t->place) != len ||
	    (type == TARGET_VECS && strchr(t->place, '/') == NULL)) {
		buf_printf(err, "field steps[%zu].targets[%zu]: unknown type or "
		    "action, or a VECS place without STORE/ALIAS", i, j);
		return -1;
	}
	t->type = (enum target_type)type;
	t->action = (enum target_action)action;
	if (decode_vcdb_fields(t, o, i, j, err) == -1)
		return -1;
	/* A bad one is refused by the rules, after what the place is. */
	snprintf(t->digest, sizeof(t->digest), "%s", d == NULL ? "" :
	    digest_ok(d) ? d : DIGEST_BAD);
	return 0;
}

/* One PEM certificate of an import, fully decoded. */
static X509 *
import_cert(json_t *v, size_t i, const char *field, struct buf *err)
{
	STACK_OF(X509) *xs = NULL;
	struct buf why = BUF_INIT;
	X509	*x = NULL;
	char	 what[80];

	snprintf(what, sizeof(what), "field steps[%zu].import.%s", i, field);
	if (plan_import_pem(json_string_value(v), json_string_length(v), &xs,
	    what, &why) == -1 || sk_X509_num(xs) != 1) {
		buf_printf(err, "%s", why.len > 0 ? buf_str(&why) : what);
		if (why.len == 0)
			buf_printf(err, " must be one PEM certificate");
	} else
		x = sk_X509_shift(xs);
	sk_X509_pop_free(xs, X509_free);
	buf_free(&why);
	return x;
}

/* A step's "import": its certificate (null for ca_chain), chain, key id. */
static int
decode_import(struct plan_step *s, json_t *o, size_t i, struct buf *err)
{
	json_t	*c = json_object_get(o, "certificate"), *v;
	const char *id = json_string_value(json_object_get(o, "key_id"));
	X509	*x;
	char	 what[32];
	size_t	 j;

	if ((s->import = calloc(1, sizeof(*s->import))) == NULL ||
	    (s->import->chain = sk_X509_new_null()) == NULL) {
		buf_printf(err, "out of memory");
		return -1;
	}
	if ((s->kind == STEP_CA_CHAIN) != json_is_null(c) ||
	    (s->kind == STEP_CA_CHAIN) != (id == NULL)) {
		buf_printf(err, "field steps[%zu].import: a %s step's import "
		    "%s a certificate and a key_id", i, plan_kind_name(s->kind),
		    s->kind == STEP_CA_CHAIN ? "has neither" : "has both");
		return -1;
	}
	if (id != NULL && (strlen(id) != 64 ||
	    strspn(id, "0123456789abcdef") != 64)) {
		buf_printf(err, "field steps[%zu].import.key_id must be 64 "
		    "lower-case hexadecimal digits", i);
		return -1;
	}
	snprintf(s->import->key_id, sizeof(s->import->key_id), "%s",
	    id != NULL ? id : "");
	if (!json_is_null(c) && (s->import->cert = import_cert(c, i,
	    "certificate", err)) == NULL)
		return -1;
	json_array_foreach(json_object_get(o, "chain"), j, v) {
		snprintf(what, sizeof(what), "chain[%zu]", j);
		if ((x = import_cert(v, i, what, err)) == NULL)
			return -1;
		if (!sk_X509_push(s->import->chain, x)) {
			X509_free(x);
			buf_printf(err, "out of memory");
			return -1;
		}
	}
	return 0;
}

/* Whether a step of kind k makes a new certificate from a profile. */
static int
makes_cert(enum step_kind k)
{
	return k >= STEP_VMCA_ROOT && k <= STEP_MACHINE_SSL;
}

static int
decode_step(struct plan_step *s, json_t *o, size_t i, struct buf *err)
{
	json_t	*p = json_object_get(o, "profile"), *ts, *t, *imp;
	const char *kind = json_string_value(json_object_get(o, "kind"));
	int	 k;
	size_t	 j;

	if ((k = plan_kind_parse(kind)) < 0) {
		buf_printf(err, "field steps[%zu].kind: unknown kind %s", i,
		    kind);
		return -1;
	}
	s->kind = (enum step_kind)k;
	s->n = (int)json_integer_value(json_object_get(o, "n"));
	if ((json_int_t)s->n != json_integer_value(json_object_get(o, "n")) ||
	    s->n != (int)i + 1) {
		buf_printf(err, "field steps[%zu].n must be %zu", i, i + 1);
		return -1;
	}
	if ((s->title = jstrdup(o, "title")) == NULL) {
		buf_printf(err, "out of memory");
		return -1;
	}
	/* A step makes a certificate when its kind does: vmca_root to
	 * machine_ssl, in the order of enum step_kind; a solution_user or
	 * machine_ssl step may install one from --import instead, and a
	 * ca_chain step publishes the CAs of that import. */
	imp = json_object_get(o, "import");
	if (imp != NULL && s->kind != STEP_CA_CHAIN &&
	    s->kind != STEP_VMCA_ROOT && s->kind != STEP_MACHINE_SSL &&
	    s->kind != STEP_SOLUTION_USER) {
		buf_printf(err, "field steps[%zu].import: a %s step imports "
		    "nothing", i, kind);
		return -1;
	}
	if ((s->kind == STEP_CA_CHAIN && imp == NULL) ||
	    (makes_cert(s->kind) && imp == NULL) != json_is_object(p)) {
		buf_printf(err, "field steps[%zu].%s for a %s step", i,
		    s->kind == STEP_CA_CHAIN ? "import must be an object" :
		    json_is_object(p) ? "profile must be null" :
		    s->kind == STEP_MACHINE_SSL || s->kind == STEP_SOLUTION_USER ?
		    "profile must be an object (or an import given)" :
		    makes_cert(s->kind) ? "profile must be an object" :
		    "profile must be null", kind);
		return -1;
	}
	if (imp != NULL && decode_import(s, imp, i, err) == -1)
		return -1;
	ts = json_object_get(o, "targets");
	if (json_array_size(ts) == 0) {
		buf_printf(err, "field steps[%zu].targets is empty", i);
		return -1;
	}
	/* The SANs now, for the reviewer: Machine SSL's only. */
	if (json_is_object(p) && json_object_get(p, "san_before") != NULL &&
	    (s->kind != STEP_MACHINE_SSL ||
	    !strings_ok(json_object_get(p, "san_before")))) {
		buf_printf(err, "field steps[%zu].profile.san_before: only a "
		    "machine_ssl step has one, of strings", i);
		return -1;
	}
	if (json_is_object(p) && ((s->profile = calloc(1,
	    sizeof(*s->profile))) == NULL || decode_profile(s->profile, p, i,
	    err) == -1)) {
		if (err->len == 0)
			buf_printf(err, "out of memory");
		return -1;
	}
	if ((s->targets = calloc(json_array_size(ts),
	    sizeof(*s->targets))) == NULL) {
		buf_printf(err, "out of memory");
		return -1;
	}
	json_array_foreach(ts, j, t) {
		s->ntargets = j + 1;
		if (decode_target(&s->targets[j], t, i, j, err) == -1)
			return -1;
	}
	return 0;
}

/* ---- the rules: what plan_build would make ---- */

/*
 * Per kind: the usages its certificate may ask for, and in words what its
 * targets may be (place_ok decides).
 */
static const struct kind_rule {
	unsigned	 ku;
	unsigned	 eku;
	const char	*touches;
} rules[STEP__MAX] = {
	[STEP_CA_CHAIN] = { 0, 0,
	    "a ca_chain step adds the CAs of its import to TRUSTED_ROOTS "
	    "(aliased by their SHA-1) and to vmdir's Certificate-Authorities "
	    "(named by their key id), nothing else" },
	[STEP_VMCA_ROOT] = { PLAN_KU_KEY_CERT_SIGN | PLAN_KU_CRL_SIGN, 0,
	    "a vmca_root step replaces the VMCA root files (root.cer with "
	    "its digest) and adds the new root to TRUSTED_ROOTS and vmdir, "
	    "nothing else" },
	[STEP_STS] = { PLAN_KU_DIGITAL_SIGNATURE, 0,
	    "an sts step changes only the STS tenant's TenantCredential-N and "
	    "TrustedCertChain-N entries (replaces or adds N=1, deletes the "
	    "others)" },
	[STEP_SOLUTION_USER] = { PLAN_KU_DIGITAL_SIGNATURE | PLAN_KU_KEY_ENCIPHERMENT |
	    PLAN_KU_DATA_ENCIPHERMENT, 0,
	    "a solution_user step changes only its own VECS entry (SOL/SOL) "
	    "and its own principal, cn=SOL-<machine id>,cn=ServicePrincipals "
	    "(replaced or added)" },
	[STEP_DATA_ENCIPHERMENT] = { PLAN_KU_DIGITAL_SIGNATURE |
	    PLAN_KU_KEY_ENCIPHERMENT | PLAN_KU_DATA_ENCIPHERMENT, 0,
	    "a data_encipherment step changes only "
	    "data-encipherment/data-encipherment" },
	[STEP_MACHINE_SSL] = { PLAN_KU_DIGITAL_SIGNATURE | PLAN_KU_KEY_ENCIPHERMENT,
	    PLAN_EKU_SERVER_AUTH,
	    "a machine_ssl step changes only MACHINE_SSL_CERT/__MACHINE_CERT "
	    "and STS_INTERNAL_SSL_CERT/__MACHINE_CERT (replaced or added)" },
	[STEP_TRUST_ANCHORS] = { 0, 0,
	    "a trust_anchors step replaces only Lookup Service endpoints, "
	    "under cn=Sites,cn=Configuration" },
	[STEP_PRUNE_ROOTS] = { 0, 0,
	    "a prune_roots step deletes only CA entries under "
	    "cn=Certificate-Authorities,cn=Configuration and TRUSTED_ROOTS or "
	    "TRUSTED_ROOT_CRLS entries" },
	[STEP_EXTENSION_THUMBPRINTS] = { 0, 0,
	    "an extension_thumbprints step replaces only rows of VCDB's "
	    "vpx_ext (VCDB/vpx_ext/<ext_id>) of the extensions vcrotate knows" },
	[STEP_VSAN_HEALTH] = { 0, 0,
	    "a vsan_health step replaces only " VSAN_CERT_FILE " (with its "
	    "digest) and " VSAN_KEY_FILE " (without: a secret)" },
	[STEP_AUTODEPLOY] = { 0, 0,
	    "an autodeploy_thumbprints step replaces only rows of Auto "
	    "Deploy's vc_servers (AutoDeploy/vc_servers/<rowid>)" },
	[STEP_RESTART] = { 0, 0,
	    "a restart step restarts service-control, nothing else" },
};

/* The plan's vmdir layout, from its domain. */
struct layout {
	char	*tenant;	/* cn=<domain>,cn=Tenants,...,<domain DN> */
	char	*chains;	/* cn=TrustedCertificateChains,<tenant> */
	char	*principals;	/* cn=ServicePrincipals,<domain DN> */
	char	*sites;		/* cn=Sites,cn=Configuration,<domain DN> */
	char	*cas;		/* cn=Certificate-Authorities,... */
	char	*pnid_san;	/* DNS:<pnid> or IP:<pnid> */
	int	 reset;		/* the plan has a vmca_root step */
};

static void
layout_free(struct layout *l)
{
	free(l->tenant);
	free(l->chains);
	free(l->principals);
	free(l->sites);
	free(l->cas);
	free(l->pnid_san);
}

static int
layout_of(struct layout *l, const struct plan *p)
{
	const char *ddn = p->app.domain_dn;
	size_t	 i;

	memset(l, 0, sizeof(*l));
	for (i = 0; i < p->nsteps; i++)
		if (p->steps[i].kind == STEP_VMCA_ROOT)
			l->reset = 1;
	if (asprintf(&l->tenant, VMDIR_RDN_TENANT ",%s", p->app.domain,
	    ddn) == -1)
		l->tenant = NULL;
	else if (asprintf(&l->chains, "cn=TrustedCertificateChains,%s",
	    l->tenant) == -1)
		l->chains = NULL;
	if (asprintf(&l->principals, VMDIR_RDN_PRINCIPALS ",%s", ddn) == -1)
		l->principals = NULL;
	if (asprintf(&l->sites, VMDIR_RDN_SITES ",%s", ddn) == -1)
		l->sites = NULL;
	if (asprintf(&l->cas, VMDIR_RDN_CAS ",%s", ddn) == -1)
		l->cas = NULL;
	l->pnid_san = app_san_entry(p->app.pnid, 0);
	return l->tenant != NULL && l->chains != NULL &&
	    l->principals != NULL && l->sites != NULL && l->cas != NULL &&
	    l->pnid_san != NULL ? 0 : -1;
}

/*
 * The length of the RDNs before ",base" at the end of dn (case does not
 * matter in a DN), or -1 when dn is not below base.
 */
static long
dn_head(const char *dn, const char *base)
{
	size_t	 dl = strlen(dn), bl = strlen(base);

	if (dl < bl + 2 || dn[dl - bl - 1] != ',' ||
	    strcasecmp(dn + dl - bl, base) != 0)
		return -1;
	return (long)(dl - bl - 1);
}

/*
 * Whether dn is "cn=<prefix><rest>,<base>": one RDN below base, rest one
 * or more characters (digits only, with digits; then *n is their value)
 * and nothing that would make it more than one plain RDN.
 */
static int
dn_child(const char *dn, const char *base, const char *prefix, int digits,
    long *n)
{
	long	 h = dn_head(dn, base);
	size_t	 pl = strlen(prefix), k;

	if (h < 0 || (size_t)h < 3 + pl + 1 || strncasecmp(dn, "cn=", 3) != 0 ||
	    strncasecmp(dn + 3, prefix, pl) != 0)
		return 0;
	for (k = 3 + pl; k < (size_t)h; k++)
		if (dn[k] == ',' || dn[k] == '+' || dn[k] == '\\' ||
		    dn[k] == '=' || (digits && !isdigit((unsigned char)dn[k])))
			return 0;
	if (digits && n != NULL)
		*n = (h - (long)(3 + pl)) > 9 ? -1 : strtol(dn + 3 + pl, NULL,
		    10);
	return 1;
}

/* Whether place is STORE/ALIAS of this store (any alias when alias NULL). */
static int
vecs_is(const char *place, const char *store, const char *alias)
{
	size_t	 sl = strlen(store);

	return strncmp(place, store, sl) == 0 && place[sl] == '/' &&
	    (alias != NULL ? strcmp(place + sl + 1, alias) == 0 :
	    place[sl + 1] != '\0');
}

/* The solution user whose store (VECS) or principal (vmdir) t is, or NULL. */
static const char *
solution_of(const struct plan *p, const struct layout *l,
    const struct plan_target *t)
{
	char	 want[128];
	size_t	 i;

	for (i = 0; solution_users[i] != NULL; i++) {
		snprintf(want, sizeof(want), "%s-%s", solution_users[i],
		    p->app.machine_id);
		if (t->type == TARGET_VECS ?
		    vecs_is(t->place, solution_users[i], solution_users[i]) :
		    t->type == TARGET_VMDIR &&
		    dn_head(t->place, l->principals) == (long)(3 +
		    strlen(want)) && strncasecmp(t->place, "cn=", 3) == 0 &&
		    strncasecmp(t->place + 3, want, strlen(want)) == 0)
			return solution_users[i];
	}
	return NULL;
}

static int
sts_ok(const struct layout *l, const struct plan_target *t)
{
	long	 n = -1;

	if (t->type != TARGET_VMDIR || (!dn_child(t->place, l->tenant,
	    "TenantCredential-", 1, &n) && !dn_child(t->place, l->chains,
	    "TrustedCertChain-", 1, &n)))
		return 0;
	/* The end state: exactly TenantCredential-1 and TrustedCertChain-1. */
	return t->action == ACTION_DELETE ? n != 1 :
	    (t->action == ACTION_REPLACE || t->action == ACTION_ADD) && n == 1;
}

/* Whether dn is the CA entry plan names for x (its key id, any case). */
static int
ca_dn_of(const struct layout *l, const char *dn, X509 *x)
{
	char	*want = dn_child(dn, l->cas, "", 0, NULL) ? plan_ca_dn(x, "",
	    0) : NULL;
	size_t	 wl = want != NULL ? strlen(want) - 1 : 0;	/* "cn=K,...," */
	int	 eq = want != NULL && strncasecmp(dn, want, wl) == 0 &&
	    dn[wl] == ',';

	free(want);
	return eq;
}

/* Whether place is TRUSTED_ROOTS/<SHA-1 of x>. */
static int
trusted_alias_of(const char *place, X509 *x)
{
	char	*sha1 = cert_sha1_hex(x);
	int	 eq = sha1 != NULL && strncmp(place, "TRUSTED_ROOTS/", 14) == 0 &&
	    strcmp(place + 14, sha1) == 0;

	free(sha1);
	return eq;
}

static int
root_target_ok(const struct layout *l, const struct plan_step *s,
    const struct plan_target *t)
{
	switch (t->type) {
	case TARGET_FILE:
		return t->action == ACTION_REPLACE && ((strcmp(t->place,
		    VMCA_ROOT_FILE) == 0 && t->digest[0] != '\0') ||
		    (strcmp(t->place, VMCA_KEY_FILE) == 0 &&
		    t->digest[0] == '\0'));
	case TARGET_VECS:
		return t->action == ACTION_ADD && (s->import != NULL ?
		    trusted_alias_of(t->place, s->import->cert) :
		    strcmp(t->place, NEW_ROOT_VECS) == 0);
	case TARGET_VMDIR:
		return t->action == ACTION_ADD && (s->import != NULL ?
		    ca_dn_of(l, t->place, s->import->cert) :
		    strcmp(t->place, NEW_ROOT_CA) == 0 || dn_child(t->place,
		    l->cas, "", 0, NULL));
	case TARGET_SERVICES:
	case TARGET_VCDB:
	case TARGET_AUTODEPLOY:
	case TARGET__MAX:
		break;
	}
	return 0;
}

/* Whether target t is of a class a step of its kind may touch. */
static int
place_ok(const struct plan *p, const struct layout *l,
    const struct plan_step *s, const struct plan_target *t)
{
	int	 put = t->action == ACTION_REPLACE || t->action == ACTION_ADD;
	const char *store, *alias;

	switch (s->kind) {
	case STEP_CA_CHAIN:
		return t->action == ACTION_ADD && (t->type == TARGET_VMDIR ?
		    dn_child(t->place, l->cas, "", 0, NULL) :
		    t->type == TARGET_VECS && vecs_is(t->place,
		    "TRUSTED_ROOTS", NULL));
	case STEP_VMCA_ROOT:
		return root_target_ok(l, s, t);
	case STEP_STS:
		return sts_ok(l, t);
	case STEP_SOLUTION_USER:
		return put && solution_of(p, l, t) != NULL;
	case STEP_DATA_ENCIPHERMENT:
		return put && t->type == TARGET_VECS && vecs_is(t->place,
		    "data-encipherment", "data-encipherment");
	case STEP_MACHINE_SSL:
		return put && t->type == TARGET_VECS && (vecs_is(t->place,
		    "MACHINE_SSL_CERT", "__MACHINE_CERT") || vecs_is(t->place,
		    "STS_INTERNAL_SSL_CERT", "__MACHINE_CERT"));
	case STEP_TRUST_ANCHORS:
		return t->action == ACTION_REPLACE && t->type == TARGET_VMDIR &&
		    dn_head(t->place, l->sites) > 3 &&
		    strncasecmp(t->place, "cn=", 3) == 0;
	case STEP_PRUNE_ROOTS:
		return t->action == ACTION_DELETE && (t->type == TARGET_VMDIR ?
		    dn_child(t->place, l->cas, "", 0, NULL) :
		    t->type == TARGET_VECS && (vecs_is(t->place,
		    "TRUSTED_ROOTS", NULL) || vecs_is(t->place,
		    "TRUSTED_ROOT_CRLS", NULL)));
	case STEP_EXTENSION_THUMBPRINTS:
		return t->action == ACTION_REPLACE && t->type == TARGET_VCDB &&
		    vcdb_place_ext(t->place) != NULL &&
		    vcdb_follows(vcdb_place_ext(t->place), &store, &alias) == 0;
	case STEP_VSAN_HEALTH:
		return t->action == ACTION_REPLACE && t->type == TARGET_FILE &&
		    ((strcmp(t->place, VSAN_CERT_FILE) == 0 &&
		    t->digest[0] != '\0') || (strcmp(t->place,
		    VSAN_KEY_FILE) == 0 && t->digest[0] == '\0'));
	case STEP_AUTODEPLOY:
		return t->action == ACTION_REPLACE &&
		    t->type == TARGET_AUTODEPLOY && rbd_place_id(t->place) >= 0;
	case STEP_RESTART:
		return t->type == TARGET_SERVICES &&
		    t->action == ACTION_RESTART &&
		    strcmp(t->place, "service-control") == 0;
	case STEP__MAX:
		break;
	}
	return 0;
}

/* "step 3 (machine_ssl), replace PLACE: " before a target's rule. */
static void
target_says(struct buf *err, const struct plan_step *s,
    const struct plan_target *t)
{
	buf_printf(err, "step %d (%s), %s %s: ", s->n, plan_kind_name(s->kind),
	    plan_action_name(t->action), t->place);
}

/* Whether t names the same item as u (a DN in any case). */
static int
same_place(const struct plan_target *t, const struct plan_target *u)
{
	return t->type == u->type && t->type != TARGET_SERVICES &&
	    (t->type == TARGET_VMDIR ? strcasecmp(t->place, u->place) :
	    strcmp(t->place, u->place)) == 0;
}

/* Whether a step before step i makes a new certificate for follows
 * (STORE/ALIAS): Machine SSL's, or the solution user's. */
static int
made_before(const struct plan *p, size_t i, const char *follows)
{
	size_t	 k;

	for (k = 0; k < i; k++)
		if ((p->steps[k].kind == STEP_MACHINE_SSL &&
		    strcmp(follows, "MACHINE_SSL_CERT/__MACHINE_CERT") == 0) ||
		    (p->steps[k].kind == STEP_SOLUTION_USER &&
		    p->steps[k].solution != NULL &&
		    strncmp(follows, p->steps[k].solution,
		    strlen(p->steps[k].solution)) == 0 &&
		    follows[strlen(p->steps[k].solution)] == '/'))
			return 1;
	return 0;
}

/*
 * A VCDB row: it follows the certificate its extension logs in with
 * (vcdb.h), its digest is that of the thumbprint it says the row holds,
 * and its thumbprint_after is null exactly when an earlier step makes that
 * certificate (else a thumbprint, plan_check_live holds it to the one now).
 */
static int
check_vcdb_target(const struct plan *p, size_t i, const struct plan_target *t,
    struct buf *err)
{
	const char *store, *alias;
	char	 d[DIGEST_LEN], want[256];
	int	 made;

	if (t->type == TARGET_AUTODEPLOY)
		snprintf(want, sizeof(want), "%s", RBD_FOLLOWS);
	else if (vcdb_follows(vcdb_place_ext(t->place), &store, &alias) == -1)
		return -1;	/* place_ok has refused it */
	else
		snprintf(want, sizeof(want), "%s/%s", store, alias);
	made = made_before(p, i, want);
	inventory_digest_bytes(t->thumbprint, strlen(t->thumbprint), d);
	if (strcmp(t->follows, want) == 0 && strcmp(d, t->digest) == 0 &&
	    made == (t->thumbprint_after == NULL) && (made ||
	    vcdb_thumbprint_ok(t->thumbprint_after)))
		return 0;
	target_says(err, &p->steps[i], t);
	if (strcmp(t->follows, want) != 0)
		buf_printf(err, "the %s follows %s, not %s",
		    t->type == TARGET_AUTODEPLOY ? "row" : "extension", want,
		    t->follows);
	else if (strcmp(d, t->digest) != 0)
		buf_printf(err, "its digest is not that of thumbprint %s",
		    t->thumbprint);
	else if (made != (t->thumbprint_after == NULL))
		buf_printf(err, "thumbprint_after must be %s", made ? "null "
		    "(the plan makes a new certificate)" : "the thumbprint of "
		    "the certificate now");
	else
		buf_printf(err, "thumbprint_after is not a SHA-1 thumbprint "
		    "(AB:CD:..., 20 pairs)");
	return -1;
}

/* Each target of step i: of its class, with a digest where there is
 * something, and not a target of an earlier one as well. */
static int
check_targets(struct plan *p, const struct layout *l, size_t i,
    struct buf *err)
{
	struct plan_step *s = &p->steps[i];
	const struct plan_target *t;
	size_t	 j, k, m;

	for (j = 0; j < s->ntargets; j++) {
		t = &s->targets[j];
		if (!place_ok(p, l, s, t)) {
			target_says(err, s, t);
			buf_printf(err, "%s", rules[s->kind].touches);
			return -1;
		}
		if (strcmp(t->digest, DIGEST_BAD) == 0) {
			target_says(err, s, t);
			buf_printf(err, "field steps[%zu].targets[%zu].digest "
			    "must be null or sha256: and 64 hexadecimal digits",
			    i, j);
			return -1;
		}
		if ((t->type == TARGET_VCDB || t->type == TARGET_AUTODEPLOY) &&
		    check_vcdb_target(p, i, t, err) == -1)
			return -1;
		if (t->action == ACTION_ADD && t->digest[0] != '\0') {
			target_says(err, s, t);
			buf_printf(err, "an add has no digest (nothing is there "
			    "yet)");
			return -1;
		}
		if ((t->action == ACTION_REPLACE || t->action ==
		    ACTION_DELETE) && t->type != TARGET_FILE &&
		    t->digest[0] == '\0') {
			target_says(err, s, t);
			buf_printf(err, "a %s carries the digest of what is "
			    "there now", plan_action_name(t->action));
			return -1;
		}
		if (s->kind == STEP_SOLUTION_USER) {
			const char *sol = solution_of(p, l, t);

			if (s->solution != NULL && s->solution != sol) {
				target_says(err, s, t);
				buf_printf(err, "not solution user %s's, as the "
				    "step's other targets are", s->solution);
				return -1;
			}
			s->solution = sol;
		}
		for (k = 0; k <= i; k++)
			for (m = 0; m < (k < i ? p->steps[k].ntargets : j); m++)
				if (same_place(t, &p->steps[k].targets[m])) {
					target_says(err, s, t);
					buf_printf(err, "step %d has it as a "
					    "target already", p->steps[k].n);
					return -1;
				}
	}
	return 0;
}

/* The SAN of step s's certificate: as plan_build makes it, but for the
 * Machine SSL names after the PNID, which plan_check_live judges. */
static int
check_sans(const struct plan *p, const struct plan_step *s,
    const struct layout *l, struct buf *err)
{
	const struct cert_profile *c = s->profile;
	const char *kind = plan_kind_name(s->kind);
	size_t	 i, k;
	int	 pnid_only = s->kind == STEP_STS ||
	    (s->kind == STEP_SOLUTION_USER && strcmp(s->solution, "wcp") != 0);

	if (s->kind == STEP_MACHINE_SSL) {
		if (c->nsan == 0 || strcasecmp(c->san[0].entry,
		    l->pnid_san) != 0) {
			buf_printf(err, "step %d (%s): the SAN must begin with "
			    "the PNID, %s", s->n, kind, l->pnid_san);
			return -1;
		}
		for (i = 1; i < c->nsan; i++)
			for (k = 0; k < p->policy.ndrop_san; k++)
				if (strcasecmp(c->san[i].entry,
				    p->policy.drop_san[k]) == 0) {
					buf_printf(err, "step %d (%s): SAN %s "
					    "is one the policy drops (drop_san)",
					    s->n, kind, c->san[i].entry);
					return -1;
				}
		for (i = 1; i < c->nsan; i++)
			for (k = 0; k < i; k++)
				if (strcasecmp(c->san[i].entry,
				    c->san[k].entry) == 0) {
					buf_printf(err, "step %d (%s): SAN %s "
					    "twice", s->n, kind,
					    c->san[i].entry);
					return -1;
				}
		return 0;
	}
	if (pnid_only ? c->nsan != 1 || strcasecmp(c->san[0].entry,
	    l->pnid_san) != 0 : c->nsan != 0) {
		buf_printf(err, "step %d (%s): %s", s->n, kind, pnid_only ?
		    "its certificate names the PNID alone as its SAN" :
		    "its certificate has no SAN");
		if (pnid_only)
			buf_printf(err, " (%s)", l->pnid_san);
		return -1;
	}
	return 0;
}

/* The usages of step s's certificate: only those its kind has. */
static int
check_usages(const struct plan_step *s, struct buf *err)
{
	const struct cert_profile *c = s->profile;
	const struct kind_rule *r = &rules[s->kind];
	unsigned extra = c->key_usage & ~r->ku;
	unsigned eextra = c->ext_key_usage & ~r->eku;
	char	*bad = NULL, *may = NULL;
	int	 ext = extra == 0;

	if (extra == 0 && eextra == 0)
		return 0;
	bad = plan_usage_names(ext ? eextra : extra, ext, ", ");
	may = plan_usage_names(ext ? r->eku : r->ku, ext, ", ");
	buf_printf(err, "step %d (%s): %s %s is not one a %s certificate has "
	    "(%s)", s->n, plan_kind_name(s->kind), ext ? "extended key usage" :
	    "key usage", bad != NULL ? bad : "?", plan_kind_name(s->kind),
	    may != NULL && *may != '\0' ? may : "none");
	free(bad);
	free(may);
	return -1;
}

/* Step s's profile: a CA only for the root, and the rest as plan makes. */
static int
check_profile(const struct plan *p, const struct layout *l,
    const struct plan_step *s, struct buf *err)
{
	const struct cert_profile *c = s->profile;
	const char *kind = plan_kind_name(s->kind);
	int	 root = s->kind == STEP_VMCA_ROOT;
	char	*subject;
	int	 ret = -1;

	if (c->ca != root) {
		buf_printf(err, "step %d (%s): %s", s->n, kind, root ?
		    "the VMCA root is a CA" : "a leaf certificate is never a "
		    "CA (only the vmca_root step makes one)");
		return -1;
	}
	if (check_usages(s, err) == -1 || check_sans(p, s, l, err) == -1)
		return -1;
	if ((subject = plan_subject(s->kind, &p->app, s->solution)) == NULL) {
		buf_printf(err, "out of memory");
		return -1;
	}
	if (strcmp(c->subject, subject) != 0)
		buf_printf(err, "step %d (%s): subject %s, where plan makes %s",
		    s->n, kind, c->subject, subject);
	else if (strcmp(c->issuer, root ? ISSUER_SELF : l->reset ?
	    ISSUER_NEW_ROOT : ISSUER_ROOT) != 0)
		buf_printf(err, "step %d (%s): issuer %s, where plan says %s",
		    s->n, kind, c->issuer, root ? ISSUER_SELF : l->reset ?
		    ISSUER_NEW_ROOT : ISSUER_ROOT);
	else if (c->key_bits != p->policy.key_bits)
		buf_printf(err, "step %d (%s): RSA %d, where the plan's policy "
		    "makes RSA %d", s->n, kind, c->key_bits,
		    p->policy.key_bits);
	else if (c->validity_days != plan_validity_days(s->kind, &p->policy))
		buf_printf(err, "step %d (%s): valid %d days, where plan makes "
		    "%d", s->n, kind, c->validity_days,
		    plan_validity_days(s->kind, &p->policy));
	else
		ret = 0;
	free(subject);
	return ret;
}

/* Where step i stands: in the order of the kinds, each once (a solution
 * user's and the pruning excepted), the restart last. */
static int
check_order(const struct plan *p, const struct layout *l, size_t i,
    struct buf *err)
{
	const struct plan_step *s = &p->steps[i], *prev = i > 0 ?
	    &p->steps[i - 1] : NULL;
	const char *kind = plan_kind_name(s->kind);

	if ((s->kind == STEP_RESTART) != (i + 1 == p->nsteps)) {
		buf_printf(err, "field steps[%zu].kind: %s", i, i + 1 ==
		    p->nsteps ? "the last step must be the restart" :
		    "a restart before the last step");
		return -1;
	}
	if (prev != NULL && s->kind < prev->kind) {
		buf_printf(err, "step %d (%s): out of order (a plan holds "
		    "ca_chain, vmca_root, sts, solution_user, data_encipherment, "
		    "machine_ssl, trust_anchors, prune_roots, "
		    "extension_thumbprints, vsan_health, autodeploy_thumbprints "
		    "and restart in that order)", s->n,
		    kind);
		return -1;
	}
	if (prev != NULL && s->kind == prev->kind &&
	    s->kind != STEP_SOLUTION_USER && s->kind != STEP_PRUNE_ROOTS) {
		buf_printf(err, "step %d (%s): a second %s step", s->n, kind,
		    kind);
		return -1;
	}
	if (s->kind == STEP_DATA_ENCIPHERMENT && !l->reset) {
		buf_printf(err, "step %d (%s): only a plan that replaces the "
		    "VMCA root reissues data-encipherment", s->n, kind);
		return -1;
	}
	return 0;
}

/* Whether x is a CA of the chain of a certificate step p imports. */
static int
imported_ca(const struct plan *p, X509 *x)
{
	const struct plan_step *s;
	size_t	 i;
	int	 k;

	for (i = 0; i < p->nsteps; i++)
		for (s = &p->steps[i], k = 0; s->kind != STEP_CA_CHAIN &&
		    s->import != NULL && k < sk_X509_num(s->import->chain); k++)
			if (cert_equal(sk_X509_value(s->import->chain, k), x))
				return 1;
	return 0;
}

/* The CA of s's import target t publishes: its SHA-1 alias or its key id
 * in the DN, as plan makes them; NULL when none. */
static X509 *
ca_of_target(const struct plan *p, const struct plan_step *s,
    const struct plan_target *t)
{
	X509	*x;
	char	*name;
	int	 k, eq;

	for (k = 0; k < sk_X509_num(s->import->chain); k++) {
		x = sk_X509_value(s->import->chain, k);
		if (t->type == TARGET_VECS) {
			name = cert_sha1_hex(x);
			eq = name != NULL && strcmp(t->place + 14, name) == 0;
		} else {
			name = plan_ca_dn(x, p->app.domain_dn, 0);
			eq = name != NULL && strcasecmp(t->place, name) == 0;
		}
		free(name);
		if (eq)
			return x;
	}
	return NULL;
}

/*
 * An import: a ca_chain step publishes only CAs of the plan's imported
 * chains, each target one of them; a certificate step's import is one
 * plan_import_judge accepts, as at the time the plan was made, its key id
 * that of its public key.
 */
static int
check_import(const struct plan *p, const struct layout *l,
    const struct plan_step *s, struct buf *err)
{
	const struct plan_import *im = s->import;
	struct buf why = BUF_INIT;
	char	 id[65];
	size_t	 j;
	int	 k;

	if (s->kind == STEP_CA_CHAIN) {
		for (k = 0; k < sk_X509_num(im->chain); k++)
			if (!imported_ca(p, sk_X509_value(im->chain, k)) ||
			    !cert_is_ca(sk_X509_value(im->chain, k))) {
				buf_printf(err, "step %d (ca_chain): chain[%d] "
				    "is not a CA of a certificate the plan "
				    "imports", s->n, k);
				return -1;
			}
		for (j = 0; j < s->ntargets; j++)
			if (ca_of_target(p, s, &s->targets[j]) == NULL) {
				target_says(err, s, &s->targets[j]);
				buf_printf(err, "not a CA of the step's import");
				return -1;
			}
		return 0;
	}
	if (plan_pubkey_id(X509_get0_pubkey(im->cert), id) == -1 ||
	    strcmp(id, im->key_id) != 0) {
		buf_printf(err, "step %d (%s): import.key_id is not the SHA-256 "
		    "of the certificate's public key", s->n,
		    plan_kind_name(s->kind));
		return -1;
	}
	if (plan_import_judge(im->cert, im->chain, s->kind, l->pnid_san,
	    p->policy.at, &why) == -1) {
		buf_printf(err, "step %d (%s): the imported certificate: %s",
		    s->n, plan_kind_name(s->kind), buf_str(&why));
		buf_free(&why);
		return -1;
	}
	return 0;
}

static int
check_rules(struct plan *p, struct buf *err)
{
	struct layout l;
	size_t	 i, k;
	int	 ret = -1;

	if (layout_of(&l, p) == -1) {
		buf_printf(err, "out of memory");
		goto out;
	}
	for (i = 0; i < p->nsteps; i++)
		if (check_order(p, &l, i, err) == -1)
			goto out;
	for (i = 0; i < p->nsteps; i++) {
		struct plan_step *s = &p->steps[i];

		if (check_targets(p, &l, i, err) == -1)
			goto out;
		for (k = 0; s->kind == STEP_SOLUTION_USER && k < i; k++)
			if (p->steps[k].solution == s->solution) {
				buf_printf(err, "step %d (solution_user): a "
				    "second step for solution user %s", s->n,
				    s->solution);
				goto out;
			}
		if (s->profile != NULL && check_profile(p, &l, s, err) == -1)
			goto out;
		if (s->import != NULL && check_import(p, &l, s, err) == -1)
			goto out;
	}
	ret = 0;
out:
	layout_free(&l);
	return ret;
}

/* ---- the interface ---- */

/* Puts the file's name before a field message: "PATH: MESSAGE". */
static void
prefix_path(struct buf *err, const char *path)
{
	struct buf m = BUF_INIT;

	buf_printf(&m, "%s: %s", path, buf_str(err));
	buf_reset(err);
	buf_puts(err, buf_str(&m));
	buf_free(&m);
}

int
plan_decode(struct plan **out, json_t *doc, struct buf *err)
{
	struct plan *p = NULL;
	json_t	*steps = json_object_get(doc, "steps"), *s;
	size_t	 i;

	*out = NULL;
	if (check_shape(doc, err) == -1)
		return -1;
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->steps = calloc(json_array_size(steps),
	    sizeof(*p->steps))) == NULL) {
		free(p);
		buf_printf(err, "out of memory");
		return -1;
	}
	p->doc = json_incref(doc);
	snprintf(p->sha256, sizeof(p->sha256), "%s",
	    json_string_value(json_object_get(doc, "sha256")));
	if (decode_appliance(p, json_object_get(doc, "appliance"), err) == -1 ||
	    decode_policy(p, doc, err) == -1)
		goto fail;
	json_array_foreach(steps, i, s) {
		p->nsteps = i + 1;
		if (decode_step(&p->steps[i], s, i, err) == -1)
			goto fail;
	}
	if (check_rules(p, err) == -1)
		goto fail;
	*out = p;
	return 0;
fail:
	plan_free(p);
	return -1;
}

int
plan_load(struct plan **out, const char *path, struct buf *err)
{
	json_error_t jerr;
	json_t	*doc = NULL, *schema;
	struct plan *p = NULL;
	char	 hex[65];

	*out = NULL;
	/* U+0000 only as the mark of a place (place_json), checked below. */
	if ((doc = json_load_file(path, JSON_REJECT_DUPLICATES |
	    JSON_ALLOW_NUL, &jerr)) == NULL) {
		if (jerr.line <= 0)
			buf_printf(err, "%s: %s", path, jerr.text);
		else
			buf_printf(err, "%s: not a JSON document (line %d, "
			    "column %d: %s)", path, jerr.line, jerr.column,
			    jerr.text);
		return -1;
	}
	if (!json_is_object(doc)) {
		buf_printf(err, "%s: not a plan (a JSON object is expected)",
		    path);
		goto fail;
	}
	if (nul_where(doc, 0) != 0) {
		buf_printf(err, "%s: a string holds U+0000 (only a place may "
		    "start with it)", path);
		goto fail;
	}
	schema = json_object_get(doc, "schema");
	if (schema == NULL) {
		buf_printf(err, "%s: missing field schema (not a vcrotate plan?)",
		    path);
		goto fail;
	}
	if (!json_is_string(schema) || strcmp(json_string_value(schema),
	    PLAN_SCHEMA) != 0) {
		buf_printf(err, "%s: unsupported plan schema %s (this vcrotate "
		    "reads %s)", path, json_is_string(schema) ?
		    json_string_value(schema) : "(not a string)", PLAN_SCHEMA);
		goto fail;
	}
	if (check_shape(doc, err) == -1) {
		prefix_path(err, path);
		goto fail;
	}
	if (plan_digest(doc, hex) == -1) {
		buf_printf(err, "%s: out of memory", path);
		goto fail;
	}
	if (strcmp(hex, json_string_value(json_object_get(doc, "sha256"))) !=
	    0) {
		buf_printf(err, "%s: the plan was changed after it was made "
		    "(its SHA-256 does not match its content); make a new one "
		    "with vcrotate plan", path);
		goto fail;
	}
	/* Sealed, perhaps again by whoever edited it: the rules say whether
	 * it is one plan would have made. */
	if (plan_decode(&p, doc, err) == -1) {
		prefix_path(err, path);
		goto fail;
	}
	if (places_decode(doc, err) == -1) {
		prefix_path(err, path);
		goto fail;
	}
	json_decref(doc);
	*out = p;
	return 0;
fail:
	plan_free(p);
	json_decref(doc);
	return -1;
}

static void
profile_free(struct cert_profile *c)
{
	size_t	 i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nsan; i++)
		free(c->san[i].entry);
	free(c->san);
	free(c->subject);
	free(c->issuer);
	free(c);
}

void
plan_free(struct plan *p)
{
	size_t	 i, j;

	if (p == NULL)
		return;
	for (i = 0; i < p->nsteps; i++) {
		struct plan_step *s = &p->steps[i];

		for (j = 0; j < s->ntargets; j++) {
			free(s->targets[j].place);
			free(s->targets[j].thumbprint);
			free(s->targets[j].follows);
			free(s->targets[j].thumbprint_after);
		}
		free(s->targets);
		free(s->title);
		profile_free(s->profile);
		if (s->import != NULL) {
			X509_free(s->import->cert);
			sk_X509_pop_free(s->import->chain, X509_free);
			free(s->import);
		}
	}
	free(p->steps);
	for (i = 0; p->san != NULL && p->san[i] != NULL; i++)
		free(p->san[i]);
	free(p->san);
	for (i = 0; p->drop_san != NULL && p->drop_san[i] != NULL; i++)
		free(p->drop_san[i]);
	free(p->drop_san);
	appliance_free(&p->app);
	json_decref(p->doc);
	free(p);
}

int
plan_check_appliance(const struct plan *p, const struct appliance *app,
    struct buf *err)
{
	if (app->pnid == NULL || app->machine_id == NULL) {
		buf_printf(err, "cannot tell which appliance this is");
		return -1;
	}
	if (strcasecmp(p->app.pnid, app->pnid) != 0 ||
	    strcmp(p->app.machine_id, app->machine_id) != 0 ||
	    (app->domain != NULL && strcasecmp(p->app.domain,
	    app->domain) != 0)) {
		buf_printf(err, "the plan was made on another appliance (%s, "
		    "machine id %s, domain %s); this one is %s, machine id %s, "
		    "domain %s", p->app.pnid, p->app.machine_id, p->app.domain,
		    app->pnid, app->machine_id, app->domain != NULL ?
		    app->domain : "unknown");
		return -1;
	}
	return 0;
}
