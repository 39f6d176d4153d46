/*
 * import.c - certificates another CA issued, brought into a plan by
 * `vcrotate plan --import' (docs/company-ca.md): a certificate and its
 * chain read and judged as vCenter needs them, and the plan that installs
 * it: the chain's CAs published to TRUSTED_ROOTS and vmdir (ca_chain), the
 * certificate with its key (machine_ssl, solution_user; the key a
 * reference into the backup's csr-keys branch, never in the plan), the
 * Lookup Service trust (trust_anchors), the restart.
 *
 * plan_import_judge is the one judgement: cmd_plan.c calls it before it
 * makes a plan, load.c when it reads one back (sealed again or not), apply
 * before it writes.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "cert.h"
#include "plan-int.h"
#include "safetext.h"
#include "vmdir.h"

/* Chains longer than this are refused (a loop, or not a real chain). */
#define CHAIN_MAX 8

int
plan_import_pem(const char *pem, size_t len, STACK_OF(X509) **out,
    const char *what, struct buf *err)
{
	BIO	*bio = NULL;
	X509	*x;
	int	 ret = -1;

	*out = NULL;
	if (len > INT_MAX) {
		buf_printf(err, "%s: too large", what);
		return -1;
	}
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL ||
	    (*out = sk_X509_new_null()) == NULL) {
		buf_printf(err, "out of memory");
		goto out;
	}
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		if (!sk_X509_push(*out, x)) {
			X509_free(x);
			buf_printf(err, "out of memory");
			goto out;
		}
	/* The end of the text, or a block that is not a certificate. */
	if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE ||
	    sk_X509_num(*out) == 0) {
		buf_printf(err, "%s: %s", what, sk_X509_num(*out) == 0 ?
		    "no PEM certificate in it" : "a certificate in it cannot "
		    "be read");
		goto out;
	}
	ret = 0;
out:
	ERR_clear_error();
	BIO_free(bio);
	if (ret == -1) {
		sk_X509_pop_free(*out, X509_free);
		*out = NULL;
	}
	return ret;
}

int
plan_import_chain(X509 *leaf, STACK_OF(X509) *pool, STACK_OF(X509) **chain,
    struct buf *err)
{
	X509	*at = leaf, *up;
	char	*who, *by;
	int	 i, n;

	if ((*chain = sk_X509_new_null()) == NULL) {
		buf_printf(err, "out of memory");
		return -1;
	}
	for (n = 0; !cert_is_self_signed(at); n++) {
		for (up = NULL, i = 0; up == NULL && i < sk_X509_num(pool); i++)
			if (cert_issued_by(at, sk_X509_value(pool, i)) &&
			    !cert_equal(at, sk_X509_value(pool, i)))
				up = sk_X509_value(pool, i);
		if (up == NULL || n == CHAIN_MAX) {
			who = cert_subject(at);
			by = cert_issuer(at);
			if (who == NULL || by == NULL)
				buf_printf(err, "out of memory");
			else if (up == NULL)
				buf_printf(err, "the chain is incomplete: the CA "
				    "%s, which issued %s, is not in --chain (nor "
				    "in the certificate's file)", by, who);
			else
				buf_printf(err, "the chain above %s is longer "
				    "than %d certificates", who, CHAIN_MAX);
			free(who);
			free(by);
			goto fail;
		}
		if (!sk_X509_push(*chain, up)) {
			buf_printf(err, "out of memory");
			goto fail;
		}
		X509_up_ref(up);	/* the chain's own reference */
		at = up;
	}
	return 0;
fail:
	sk_X509_pop_free(*chain, X509_free);
	*chain = NULL;
	return -1;
}

/* Neither expired nor not yet valid at `at': -1 with which and when. */
static int
judge_dates(X509 *x, time_t at, struct buf *err)
{
	char	 when[64], *who;

	if (cert_not_after(x) >= at && cert_not_before(x) <= at)
		return 0;
	who = cert_subject(x);
	cert_time_str(cert_not_after(x) < at ? cert_not_after(x) :
	    cert_not_before(x), when, sizeof(when));
	buf_printf(err, "%s %s %s", who != NULL ? who : "a certificate",
	    cert_not_after(x) < at ? "expired on" : "is not valid before",
	    when);
	free(who);
	return -1;
}

/* The leaf's key and usages, as vCenter needs them. */
static int
judge_leaf(X509 *leaf, enum step_kind kind, const char *pnid_san,
    struct buf *err)
{
	EVP_PKEY *k = X509_get0_pubkey(leaf);
	uint32_t f = X509_get_extension_flags(leaf);
	uint32_t ku = X509_get_key_usage(leaf);
	uint32_t need = KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT;

	if (k == NULL || EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA) {
		buf_printf(err, "the certificate has %s key: vCenter (VECS) "
		    "takes RSA keys only", k == NULL ? "no readable" :
		    EVP_PKEY_get_base_id(k) == EVP_PKEY_EC ? "an EC" :
		    "a non-RSA");
		return -1;
	}
	if (EVP_PKEY_get_bits(k) < 2048) {
		buf_printf(err, "the certificate's key is RSA %d: vCenter needs "
		    "2048 bits or more", EVP_PKEY_get_bits(k));
		return -1;
	}
	if (f & EXFLAG_CA) {
		buf_printf(err, "the certificate is a CA (basicConstraints "
		    "CA:TRUE): a %s certificate is a leaf", kind ==
		    STEP_MACHINE_SSL ? "Machine SSL" : "solution-user");
		return -1;
	}
	if (!(f & EXFLAG_KUSAGE) || (ku & need) != need) {
		buf_printf(err, "the certificate's key usage lacks "
		    "digitalSignature or keyEncipherment, which vCenter needs");
		return -1;
	}
	if (kind == STEP_MACHINE_SSL && (f & EXFLAG_XKUSAGE) &&
	    !(X509_get_extended_key_usage(leaf) & XKU_SSL_SERVER)) {
		buf_printf(err, "the certificate's extended key usage lacks "
		    "serverAuth, which a Machine SSL certificate needs");
		return -1;
	}
	if (kind == STEP_MACHINE_SSL && !cert_san_has(leaf, pnid_san)) {
		buf_printf(err, "the certificate's SAN does not hold the PNID "
		    "(%s); clients reach vCenter by it", pnid_san);
		return -1;
	}
	return 0;
}

/* VMCA's signing certificate: an RSA CA that may sign certificates. */
static int
judge_signer(X509 *x, struct buf *err)
{
	EVP_PKEY *k = X509_get0_pubkey(x);
	uint32_t f = X509_get_extension_flags(x);

	if (k == NULL || EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA ||
	    EVP_PKEY_get_bits(k) < 2048) {
		buf_printf(err, "the certificate's key is not RSA of 2048 bits or "
		    "more, which VMCA needs");
		return -1;
	}
	if (!(f & EXFLAG_CA) || ((f & EXFLAG_KUSAGE) &&
	    !(X509_get_key_usage(x) & KU_KEY_CERT_SIGN))) {
		buf_printf(err, "the certificate is not a CA that may sign "
		    "certificates (basicConstraints CA:TRUE, keyCertSign): VMCA "
		    "signs with it");
		return -1;
	}
	return 0;
}

int
plan_import_judge(X509 *leaf, STACK_OF(X509) *chain, enum step_kind kind,
    const char *pnid_san, time_t at, struct buf *err)
{
	STACK_OF(X509) *mid = NULL, *root = NULL;
	X509	*x, *below = leaf;
	const char *why;
	char	*who;
	int	 i, n = chain != NULL ? sk_X509_num(chain) : 0, ok;

	if ((kind == STEP_VMCA_ROOT ? judge_signer(leaf, err) :
	    judge_leaf(leaf, kind, pnid_san, err)) == -1)
		return -1;
	if (n == 0 || !cert_is_self_signed(sk_X509_value(chain, n - 1))) {
		buf_printf(err, "the chain does not end at a self-signed root");
		return -1;
	}
	for (i = 0; i < n; i++) {
		x = sk_X509_value(chain, i);
		if (!cert_issued_by(below, x) || !(X509_get_extension_flags(x) &
		    EXFLAG_CA)) {
			who = cert_subject(x);
			buf_printf(err, "%s %s", who != NULL ? who : "a "
			    "certificate of the chain", !cert_issued_by(below,
			    x) ? "is out of order in the chain (it did not "
			    "issue the one before it)" : "is not a CA "
			    "(basicConstraints CA:TRUE)");
			free(who);
			return -1;
		}
		/* VMCA signs leaves below it: each CA above must allow that
		 * many CAs under it (pathlen). */
		if (kind == STEP_VMCA_ROOT && X509_get_pathlen(x) >= 0 &&
		    X509_get_pathlen(x) < i + 1) {
			who = cert_subject(x);
			buf_printf(err, "%s allows %ld CA(s) below it "
			    "(pathlen): VMCA under it could not sign", who !=
			    NULL ? who : "a CA of the chain",
			    (long)X509_get_pathlen(x));
			free(who);
			return -1;
		}
		below = x;
	}
	if (judge_dates(leaf, at, err) == -1)
		return -1;
	for (i = 0; i < n; i++)
		if (judge_dates(sk_X509_value(chain, i), at, err) == -1)
			return -1;
	if ((mid = sk_X509_new_null()) == NULL ||
	    (root = sk_X509_new_null()) == NULL ||
	    !sk_X509_push(root, sk_X509_value(chain, n - 1))) {
		sk_X509_free(mid);
		sk_X509_free(root);
		buf_printf(err, "out of memory");
		return -1;
	}
	for (i = 0; i < n - 1; i++)
		sk_X509_push(mid, sk_X509_value(chain, i));
	ok = cert_verify(leaf, mid, root, at, &why);
	sk_X509_free(mid);
	sk_X509_free(root);
	if (!ok) {
		buf_printf(err, "the certificate does not verify against its "
		    "chain: %s", why);
		return -1;
	}
	return 0;
}

int
plan_pubkey_id(EVP_PKEY *k, char out[65])
{
	unsigned char *der = NULL, d[32];
	unsigned int dl = 0;
	int	 n, i;

	if (k == NULL || (n = i2d_PUBKEY(k, &der)) <= 0)
		return -1;
	i = EVP_Digest(der, (size_t)n, d, &dl, EVP_sha256(), NULL);
	OPENSSL_free(der);
	if (!i || dl != 32)
		return -1;
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
	return 0;
}

char *
plan_ca_dn(X509 *x, const char *domain_dn, int upper)
{
	char	*ski, *dn;

	if ((ski = cert_ski_hex(x, upper)) == NULL)
		return NULL;
	if (asprintf(&dn, "cn=%s," VMDIR_RDN_CAS ",%s", ski, domain_dn) == -1)
		dn = NULL;
	free(ski);
	return dn;
}

/* ---- the plan ---- */

static json_t *
pem_json(X509 *x)
{
	BIO	*bio = BIO_new(BIO_s_mem());
	char	*data;
	long	 len;
	json_t	*j = NULL;

	if (bio != NULL && PEM_write_bio_X509(bio, x) &&
	    (len = BIO_get_mem_data(bio, &data)) > 0)
		j = json_stringn(data, (size_t)len);
	BIO_free(bio);
	return j;
}

/* The step's "import": the certificate (or null), the chain, the key id. */
static json_t *
import_json(X509 *cert, STACK_OF(X509) *chain, const char *key_id)
{
	json_t	*o = json_object(), *c = json_array();
	int	 i;

	if (o == NULL || c == NULL) {
		json_decref(o);
		json_decref(c);
		return NULL;
	}
	for (i = 0; i < sk_X509_num(chain); i++)
		json_array_append_new(c, pem_json(sk_X509_value(chain, i)));
	json_object_set_new(o, "certificate", cert != NULL ? pem_json(cert) :
	    json_null());
	json_object_set_new(o, "chain", c);
	json_object_set_new(o, "key_id", key_id != NULL ? json_string(key_id) :
	    json_null());
	return o;
}

static json_t *
step_json(size_t n, enum step_kind kind, const char *title, json_t *why,
    json_t *import, json_t *targets)
{
	json_t	*s = json_object();

	if (s == NULL || why == NULL || import == NULL || targets == NULL) {
		json_decref(s);
		json_decref(why);
		json_decref(import);
		json_decref(targets);
		return NULL;
	}
	json_object_set_new(s, "n", json_integer((json_int_t)n));
	json_object_set_new(s, "kind", json_string(plan_kind_name(kind)));
	json_object_set_new(s, "title", json_string_lossy(title));
	json_object_set_new(s, "why", why);
	json_object_set_new(s, "profile", json_null());
	json_object_set_new(s, "import", import);
	json_object_set_new(s, "targets", targets);
	return s;
}

/* Whether VECS store holds x (as its first certificate). */
static int
in_store(const struct inventory *inv, const char *store, X509 *x)
{
	size_t	 i;

	for (i = 0; i < inv->nvecs; i++)
		if (strcmp(inv->vecs[i].store, store) == 0 &&
		    inv->vecs[i].chain != NULL &&
		    cert_equal(sk_X509_value(inv->vecs[i].chain, 0), x))
			return 1;
	return 0;
}

static int
in_vmdir(const struct inventory *inv, X509 *x)
{
	size_t	 i;

	for (i = 0; i < inv->ncas; i++)
		if (inv->cas[i].cert != NULL && cert_equal(inv->cas[i].cert, x))
			return 1;
	return 0;
}

/* CA x's targets: added where it is not published yet (0 targets: it is). */
static int
ca_targets(const struct inventory *inv, X509 *x, json_t *t)
{
	const struct inv_ca *model = inventory_ca_model(inv);
	char	*sha1 = NULL, *place = NULL, *dn = NULL;
	int	 ret = -1;

	if (!in_store(inv, "TRUSTED_ROOTS", x)) {
		if ((sha1 = cert_sha1_hex(x)) == NULL ||
		    asprintf(&place, "TRUSTED_ROOTS/%s", sha1) == -1) {
			place = NULL;
			goto out;
		}
		json_array_append_new(t, plan_target_json(TARGET_VECS, place,
		    ACTION_ADD, NULL));
	}
	if (!in_vmdir(inv, x)) {
		if ((dn = plan_ca_dn(x, inv->app.domain_dn, model == NULL ||
		    model->upper)) == NULL)
			goto out;
		json_array_append_new(t, plan_target_json(TARGET_VMDIR, dn,
		    ACTION_ADD, NULL));
	}
	ret = 0;
out:
	free(sha1);
	free(place);
	free(dn);
	return ret;
}

/* The ca_chain step: every CA of the imports' chains not yet published
 * (each once), or no step. -1 out of memory. */
static int
step_ca_chain(const struct inventory *inv, const struct plan_import_req *req,
    size_t n, json_t *steps)
{
	STACK_OF(X509) *cas = sk_X509_new_null();
	json_t	*t = json_array(), *why = json_array(), *s;
	size_t	 r, before;
	int	 i, k, dup, ret = -1;
	char	*who;

	if (cas == NULL || t == NULL || why == NULL)
		goto out;
	for (r = 0; r < n; r++)
		for (i = 0; i < sk_X509_num(req[r].chain); i++) {
			X509	*x = sk_X509_value(req[r].chain, i);

			for (dup = 0, k = 0; k < sk_X509_num(cas); k++)
				dup |= cert_equal(sk_X509_value(cas, k), x);
			before = json_array_size(t);
			if (dup || ca_targets(inv, x, t) == -1)
				continue;
			if (json_array_size(t) == before)
				continue;	/* published already */
			if (!sk_X509_push(cas, x) ||
			    (who = cert_subject(x)) == NULL)
				goto out;
			json_array_append_new(why, json_string_lossy(who));
			free(who);
		}
	if (json_array_size(t) == 0) {
		ret = 0;
		goto out;
	}
	s = step_json(json_array_size(steps) + 1, STEP_CA_CHAIN, "publish the "
	    "company CA chain to TRUSTED_ROOTS and vmdir "
	    "(Certificate-Authorities)", why, import_json(NULL, cas, NULL), t);
	t = why = NULL;
	ret = s != NULL ? json_array_append_new(steps, s) : -1;
out:
	sk_X509_free(cas);
	json_decref(t);
	json_decref(why);
	return ret;
}

/* What the certificate is, for the reviewer. */
static json_t *
import_why(const struct plan_import_req *r)
{
	json_t	*why = json_array();
	char	*subj = cert_subject(r->cert), *iss = cert_issuer(r->cert), *s;
	char	 until[64];

	cert_time_str(cert_not_after(r->cert), until, sizeof(until));
	if (why != NULL && subj != NULL && iss != NULL &&
	    asprintf(&s, "--import %s: %s, issued by %s, valid until %s; its "
	    "key: csr-keys %.16s...", r->what, subj, iss, until,
	    r->key_id) != -1) {
		json_array_append_new(why, json_string_lossy(s));
		free(s);
	}
	free(subj);
	free(iss);
	return why;
}

static json_t *
import_targets(const struct inventory *inv, const struct plan_import_req *r)
{
	const struct inv_principal *p;
	json_t	*t = json_array();
	char	*dn;

	if (t == NULL)
		return NULL;
	if (r->kind == STEP_MACHINE_SSL) {
		json_array_append_new(t, plan_vecs_target(inv,
		    "MACHINE_SSL_CERT", "__MACHINE_CERT", ACTION_REPLACE));
		if (inventory_vecs(inv, "STS_INTERNAL_SSL_CERT",
		    "__MACHINE_CERT") != NULL)
			json_array_append_new(t, plan_vecs_target(inv,
			    "STS_INTERNAL_SSL_CERT", "__MACHINE_CERT",
			    ACTION_REPLACE));
		return t;
	}
	json_array_append_new(t, plan_vecs_target(inv, r->what, r->what,
	    ACTION_REPLACE));
	if ((p = inventory_principal(inv, r->what)) != NULL)
		json_array_append_new(t, plan_target_json(TARGET_VMDIR, p->dn,
		    ACTION_REPLACE, p->digest));
	else if (asprintf(&dn, "cn=%s-%s," VMDIR_RDN_PRINCIPALS ",%s", r->what,
	    inv->app.machine_id, inv->app.domain_dn) != -1) {
		json_array_append_new(t, plan_target_json(TARGET_VMDIR, dn,
		    ACTION_ADD, NULL));
		free(dn);
	}
	return t;
}

/* A step of no certificate (no profile, no why) appended to steps, with
 * its targets (taken). 0, or -1 out of memory. */
static int
append_step(json_t *steps, enum step_kind kind, const char *title,
    json_t *targets)
{
	json_t	*s;

	if ((s = json_object()) == NULL) {
		json_decref(targets);
		return -1;
	}
	json_object_set_new(s, "n", json_integer((json_int_t)
	    json_array_size(steps) + 1));
	json_object_set_new(s, "kind", json_string(plan_kind_name(kind)));
	json_object_set_new(s, "title", json_string(title));
	json_object_set_new(s, "why", json_array());
	json_object_set_new(s, "profile", json_null());
	json_object_set_new(s, "targets", targets);
	return json_array_append_new(steps, s);
}

/* Every Lookup Service endpoint of this node trusts the new certificate. */
static int
step_trust(const struct inventory *inv, json_t *steps)
{
	json_t	*t = json_array();
	size_t	 i;

	if (t == NULL)
		return -1;
	for (i = 0; i < inv->nendpoints; i++)
		json_array_append_new(t, plan_target_json(TARGET_VMDIR,
		    inv->endpoints[i].dn, ACTION_REPLACE,
		    inv->endpoints[i].digest));
	if (json_array_size(t) == 0) {
		json_decref(t);
		return 0;
	}
	return append_step(steps, STEP_TRUST_ANCHORS, "every Lookup Service "
	    "endpoint of this node trusts the new Machine SSL certificate", t);
}

/* The imports of a plan, for plan_vcdb_targets. */
struct imports {
	const struct plan_import_req	*req;
	size_t				 n;
};

/* Whether an import installs the certificate of VECS store. */
static int
imports_renew(void *arg, const char *store)
{
	const struct imports *im = arg;
	size_t	 r;

	for (r = 0; r < im->n; r++)
		if (im->req[r].kind == STEP_MACHINE_SSL ?
		    strcmp(store, "MACHINE_SSL_CERT") == 0 :
		    im->req[r].kind == STEP_SOLUTION_USER &&
		    strcmp(store, im->req[r].what) == 0)
			return 1;
	return 0;
}

/*
 * The VCDB rows that follow an imported certificate get its thumbprint:
 * an extension logging in with it is refused otherwise (vsan.health
 * follows Machine SSL; eam and the others vpxd-extension). Only those: an
 * import plan changes nothing else.
 */
static int
step_vcdb(const struct inventory *inv, const struct plan_policy *pol,
    const struct plan_import_req *req, size_t n, json_t *steps)
{
	struct imports im = { req, n };
	json_t	*t;

	if ((t = plan_vcdb_targets(inv, pol, imports_renew, &im, 0)) == NULL)
		return 0;
	return append_step(steps, STEP_EXTENSION_THUMBPRINTS, PLAN_VCDB_TITLE,
	    t);
}

/* vsan-health's copy follows an imported vpxd-extension certificate. */
static int
step_vsan(const struct inventory *inv, const struct plan_policy *pol,
    const struct plan_import_req *req, size_t n, json_t *steps)
{
	struct imports im = { req, n };
	json_t	*t;

	if ((t = plan_vsan_targets(inv, pol, imports_renew, &im, 0)) == NULL)
		return 0;
	return append_step(steps, STEP_VSAN_HEALTH, PLAN_VSAN_TITLE, t);
}

/* Auto Deploy's rows follow an imported Machine SSL certificate. */
static int
step_rbd(const struct inventory *inv, const struct plan_policy *pol,
    const struct plan_import_req *req, size_t n, json_t *steps)
{
	struct imports im = { req, n };
	json_t	*t;

	if ((t = plan_rbd_targets(inv, pol, imports_renew, &im, 0)) == NULL)
		return 0;
	return append_step(steps, STEP_AUTODEPLOY, PLAN_RBD_TITLE, t);
}

json_t *
plan_import_build(const struct inventory *inv, const struct plan_policy *pol,
    const struct plan_import_req *req, size_t n)
{
	json_t	*steps = json_array(), *s;
	size_t	 r;
	char	*title;
	int	 ssl = 0;

	if (steps == NULL || step_ca_chain(inv, req, n, steps) == -1)
		goto fail;
	/* In the order of the kinds: solution users, then Machine SSL. */
	for (r = 0; r < n; r++)
		if (req[r].kind == STEP_SOLUTION_USER) {
			if (asprintf(&title, "install solution user %s's "
			    "certificate from --import, in VECS and vmdir",
			    req[r].what) == -1)
				goto fail;
			s = step_json(json_array_size(steps) + 1,
			    STEP_SOLUTION_USER, title, import_why(&req[r]),
			    import_json(req[r].cert, req[r].chain,
			    req[r].key_id), import_targets(inv, &req[r]));
			free(title);
			if (s == NULL || json_array_append_new(steps, s) == -1)
				goto fail;
		}
	for (r = 0; r < n; r++)
		if (req[r].kind == STEP_MACHINE_SSL) {
			s = step_json(json_array_size(steps) + 1,
			    STEP_MACHINE_SSL, "install the Machine SSL "
			    "certificate from --import", import_why(&req[r]),
			    import_json(req[r].cert, req[r].chain,
			    req[r].key_id), import_targets(inv, &req[r]));
			if (s == NULL || json_array_append_new(steps, s) == -1)
				goto fail;
			ssl = 1;
		}
	if ((ssl && step_trust(inv, steps) == -1) ||
	    step_vcdb(inv, pol, req, n, steps) == -1 ||
	    step_vsan(inv, pol, req, n, steps) == -1 ||
	    step_rbd(inv, pol, req, n, steps) == -1 ||
	    json_array_append_new(steps, plan_restart_step(
	    json_array_size(steps) + 1)) == -1)
		goto fail;
	return plan_document(inv, pol, steps, json_array());
fail:
	json_decref(steps);
	return NULL;
}

/* ---- VMCA as a subordinate CA ---- */

/*
 * The reset's vmca_root step (steps[0]) made the import of r: no profile,
 * its certificate and chain, and the places known now that the
 * certificate is (its SHA-1 alias, its CA entry's DN).
 */
static int
subordinate_root(const struct inventory *inv, const struct plan_import_req *r,
    json_t *step)
{
	const struct inv_ca *model = inventory_ca_model(inv);
	json_t	*t, *w, *why = json_object_get(step, "why");
	char	*sha1 = cert_sha1_hex(r->cert), *alias = NULL, *dn = NULL;
	size_t	 i;
	int	 ret = -1;

	if (sha1 == NULL || asprintf(&alias, "TRUSTED_ROOTS/%s", sha1) == -1 ||
	    (dn = plan_ca_dn(r->cert, inv->app.domain_dn, model == NULL ||
	    model->upper)) == NULL) {
		alias = NULL;
		goto out;
	}
	json_array_foreach(json_object_get(step, "targets"), i, t) {
		const char *place = json_string_value(json_object_get(t,
		    "place"));

		if (place != NULL && strcmp(place, NEW_ROOT_VECS) == 0)
			json_object_set_new(t, "place", json_string(alias));
		else if (place != NULL && strcmp(place, NEW_ROOT_CA) == 0)
			json_object_set_new(t, "place", json_string(dn));
	}
	json_object_set_new(step, "title", json_string("VMCA signs with a "
	    "certificate the company CA issued (subordinate CA, from "
	    "--import): the VMCA files, TRUSTED_ROOTS and a vmdir CA entry"));
	json_object_set_new(step, "profile", json_null());
	json_object_set_new(step, "import", import_json(r->cert, r->chain,
	    r->key_id));
	if ((w = import_why(r)) != NULL) {
		json_array_extend(why, w);
		json_decref(w);
	}
	ret = 0;
out:
	free(sha1);
	free(alias);
	free(dn);
	return ret;
}

json_t *
plan_subordinate_build(const struct inventory *inv,
    const struct plan_policy *pol, const struct plan_import_req *r)
{
	struct plan_policy reset = *pol;
	json_t	*plan, *held = NULL, *steps, *all = json_array(), *s, *p;
	char	 max[32];
	size_t	 i;
	int	 nothing;

	reset.reset_all = 1;
	reset.scope = SCOPE_ALL;
	plan = plan_build(inv, &reset, &nothing, &held);
	json_decref(held);
	steps = json_object_get(plan, "steps");
	if (plan == NULL || all == NULL || strcmp(json_string_value(
	    json_object_get(json_array_get(steps, 0), "kind")),
	    plan_kind_name(STEP_VMCA_ROOT)) != 0 ||
	    subordinate_root(inv, r, json_array_get(steps, 0)) == -1 ||
	    step_ca_chain(inv, r, 1, all) == -1)
		goto fail;
	/* What VMCA signs now lasts no longer than its new certificate. */
	cert_time_iso(cert_not_after(r->cert), max, sizeof(max));
	json_array_foreach(steps, i, s) {
		p = json_object_get(s, "profile");
		if (i > 0 && json_is_object(p) && strcmp(json_string_value(
		    json_object_get(p, "not_after_max")), max) > 0)
			json_object_set_new(p, "not_after_max", json_string(max));
		json_array_append(all, s);
	}
	json_array_foreach(all, i, s)
		json_object_set_new(s, "n", json_integer((json_int_t)i + 1));
	json_object_set_new(plan, "steps", all);
	if (plan_seal(plan) == -1) {
		json_decref(plan);
		return NULL;
	}
	return plan;
fail:
	json_decref(all);
	json_decref(plan);
	return NULL;
}
