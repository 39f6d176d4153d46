/*
 * findings.c - evaluates an inventory into findings. See findings.h and
 * docs/check.md for what each code means.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/x509v3.h>

#include "cert.h"
#include "findings.h"
#include "vcdb.h"
#include "vsan.h"
#include "rbd.h"

#define CRL_WARN	30
#define CRL_CRIT	100

struct ctx {
	const struct inventory	*inv;
	const struct policy	*p;
	struct findings		*out;
	int			 oom;
	struct root_use		*use;	/* made when a root first needs it */
};

const char *
severity_name(enum severity s)
{
	static const char *const names[SEV__MAX] = { "OK", "INFO", "WARNING",
	    "CRITICAL" };

	return names[s];
}

const char *
cert_status_name(enum cert_status s)
{
	switch (s) {
	case CS_OK:		return "OK";
	case CS_EXPIRING_WARN:	return "EXPIRING";
	case CS_EXPIRING_CRIT:	return "EXPIRING";
	case CS_EXPIRED:	return "EXPIRED";
	case CS_NOT_YET_VALID:	return "NOT_YET_VALID";
	}
	return "?";
}

enum cert_status
cert_status(X509 *x, const struct policy *p)
{
	long	 days;

	if (cert_not_before(x) > p->at)
		return CS_NOT_YET_VALID;
	if (cert_not_after(x) < p->at)
		return CS_EXPIRED;
	days = cert_days_left(x, p->at);
	if (days < p->crit_days)
		return CS_EXPIRING_CRIT;
	if (days < p->warn_days)
		return CS_EXPIRING_WARN;
	return CS_OK;
}

char *
vecs_place(const char *store, const char *alias)
{
	char	*s = NULL;

	if (asprintf(&s, "%s/%s", store, alias) == -1)
		return NULL;
	return s;
}

int
is_solution_user_store(const char *store)
{
	size_t	 i;

	for (i = 0; solution_users[i] != NULL; i++)
		if (strcmp(store, solution_users[i]) == 0)
			return 1;
	return 0;
}

/* Whether the SAN of x holds the PNID: a DNS name, or an IP address as an
 * IP entry (appliance.h). */
static int
san_has_pnid(X509 *x, const char *pnid)
{
	char	*entry = app_san_entry(pnid, 0);
	int	 has = entry != NULL && cert_san_has(x, entry);

	free(entry);
	return has;
}

static void
add(struct ctx *c, const char *code, enum severity sev, const char *place,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
add(struct ctx *c, const char *code, enum severity sev, const char *place,
    const char *fmt, ...)
{
	struct finding *nv, *f;
	va_list	 ap;
	int	 n;

	if (c->oom)
		return;
	if ((nv = reallocarray(c->out->v, c->out->n + 1, sizeof(*nv))) == NULL)
		goto oom;
	c->out->v = nv;
	f = &nv[c->out->n];
	f->code = code;
	f->sev = sev;
	f->message = NULL;
	if ((f->place = strdup(place)) == NULL)
		goto oom;
	va_start(ap, fmt);
	n = vasprintf(&f->message, fmt, ap);
	va_end(ap);
	if (n == -1) {
		free(f->place);
		goto oom;
	}
	c->out->n++;
	return;
oom:
	c->oom = 1;
}

/*
 * Date findings for one certificate. `what' names it for a person
 * ("Machine SSL certificate"); expired roots have their own code.
 */
static void
dates(struct ctx *c, X509 *x, const char *place, const char *what, int root,
    enum severity cap)
{
	char	 when[64];
	enum cert_status st = cert_status(x, c->p);
	enum severity crit = cap < SEV_CRITICAL ? cap : SEV_CRITICAL;

	switch (st) {
	case CS_OK:
		break;
	case CS_NOT_YET_VALID:
		cert_time_str(cert_not_before(x), when, sizeof(when));
		add(c, "NOT_YET_VALID", crit, place, "%s is not valid before %s",
		    what, when);
		break;
	case CS_EXPIRED:
		cert_time_str(cert_not_after(x), when, sizeof(when));
		add(c, root ? "ROOT_EXPIRED" : "EXPIRED", crit, place,
		    "%s expired on %s", what, when);
		break;
	case CS_EXPIRING_CRIT:
	case CS_EXPIRING_WARN:
		cert_time_str(cert_not_after(x), when, sizeof(when));
		add(c, "EXPIRING", st == CS_EXPIRING_CRIT ? crit : SEV_WARNING,
		    place, "%s will expire in %ld days, on %s", what,
		    cert_days_left(x, c->p->at), when);
		break;
	}
}

static int
root_in_use(struct ctx *c, X509 *x)
{
	if (c->use == NULL && (c->use = root_use_new(c->inv)) == NULL) {
		c->oom = 1;
		return 1;
	}
	return root_use_signs(c->use, x);
}

/*
 * Date findings for a CA certificate of TRUSTED_ROOTS or vmdir. An expired
 * one that signs no certificate of the appliance breaks nothing: a warning
 * that says how to remove it. Before it expires it is judged as any
 * certificate: it may sign what the appliance trusts elsewhere (ESXi hosts,
 * an LDAPS identity source), which its expiry would cut off.
 */
static void
root_dates(struct ctx *c, X509 *x, const char *place, const char *what)
{
	char	 when[64];

	if (cert_status(x, c->p) != CS_EXPIRED || root_in_use(c, x)) {
		dates(c, x, place, what, 1, SEV_CRITICAL);
		return;
	}
	cert_time_str(cert_not_after(x), when, sizeof(when));
	add(c, "ROOT_EXPIRED", SEV_WARNING, place, "%s expired on %s; it "
	    "signs no certificate of this appliance: remove it with "
	    PRUNE_COMMAND, what, when);
}

/* A backup copy serves nothing: its expiry is an INFO, never an alert. */
static void
backup_dates(struct ctx *c, X509 *x, const char *place)
{
	char	 when[64];

	if (cert_not_after(x) >= c->p->at)
		return;
	cert_time_str(cert_not_after(x), when, sizeof(when));
	add(c, "EXPIRED", SEV_INFO, place, "backup copy expired on %s (a copy "
	    "certificate-manager kept of a replaced certificate; it serves "
	    "nothing)", when);
}

/*
 * Chain trust regardless of dates: expiry has findings of its own. Without
 * TRUSTED_ROOTS (VECS not read) there is nothing to judge by: trusted.
 * leaf is one of chain; the others are the untrusted intermediates. Only
 * the leaf's own place is left out: a copy of it elsewhere in the chain
 * may be the very same X509 (the inventory decodes the same bytes once).
 */
static int
trusted(const struct inventory *inv, X509 *leaf, STACK_OF(X509) *chain,
    const char **why)
{
	STACK_OF(X509) *untrusted = NULL;
	int	 i, ok, skipped = 0;

	if (!inv->trusted_read)
		return 1;
	if (chain != NULL && sk_X509_num(chain) > 1) {
		if ((untrusted = sk_X509_new_null()) == NULL) {
			*why = "out of memory";
			return 0;
		}
		for (i = 0; i < sk_X509_num(chain); i++)
			if (skipped || sk_X509_value(chain, i) != leaf)
				sk_X509_push(untrusted, sk_X509_value(chain, i));
			else
				skipped = 1;
	}
	ok = cert_verify(leaf, untrusted, inv->trusted, CERT_ANY_TIME, why);
	sk_X509_free(untrusted);
	return ok;
}

/*
 * From leaf up, each issuer found in the entry's chain or TRUSTED_ROOTS:
 * NULL with *top the self-signed end (or the last found), or the issuer
 * DN (malloc'd) of the first certificate whose issuer is in neither.
 */
static char *
missing_ca(const struct inventory *inv, X509 *leaf, STACK_OF(X509) *chain,
    X509 **top)
{
	STACK_OF(X509) *const from[2] = { chain, inv->trusted };
	X509	*up;
	int	 n, k, i;

	for (*top = leaf, n = 0; n < 8 && !cert_is_self_signed(*top); n++) {
		for (up = NULL, k = 0; k < 2; k++)
			for (i = 0; up == NULL && from[k] != NULL &&
			    i < sk_X509_num(from[k]); i++)
				if (sk_X509_value(from[k], i) != *top &&
				    cert_issued_by(*top, sk_X509_value(from[k], i)))
					up = sk_X509_value(from[k], i);
		if (up == NULL)
			return cert_issuer(*top);
		*top = up;
	}
	return NULL;
}

/* A chain that does not verify: the missing CA named where one is. */
static void
untrusted(struct ctx *c, const struct inv_vecs_entry *e, const char *place,
    X509 *leaf, const char *what, const char *why)
{
	X509	*top;
	char	*missing = missing_ca(c->inv, leaf, e->chain, &top);
	char	*subj = missing != NULL ? cert_subject(top) : NULL;

	if (missing != NULL && subj != NULL)
		add(c, "CHAIN_UNTRUSTED", SEV_CRITICAL, place, "%s does not "
		    "chain to TRUSTED_ROOTS: the CA %s, which issued %s, is in "
		    "neither the entry nor TRUSTED_ROOTS (%s)", what, missing,
		    subj, why);
	else
		add(c, "CHAIN_UNTRUSTED", SEV_CRITICAL, place,
		    "%s does not chain to TRUSTED_ROOTS: %s", what, why);
	free(missing);
	free(subj);
}

/*
 * A Machine SSL or solution-user certificate another CA than VMCA issued
 * (a company CA): said, at INFO, with its issuer and how its chain stands.
 */
static void
other_ca(struct ctx *c, const struct inv_vecs_entry *e, const char *place,
    X509 *leaf, const char *what, int chain_ok)
{
	X509	*root = c->inv->vmca_root != NULL ?
	    sk_X509_value(c->inv->vmca_root, 0) : NULL, *top;
	char	*issuer, *missing, *end = NULL;

	/* The certificates vcrotate renews: Machine SSL, solution users. */
	if (root == NULL || (strcmp(e->store, "MACHINE_SSL_CERT") != 0 &&
	    !is_solution_user_store(e->store)) ||
	    X509_NAME_cmp(X509_get_issuer_name(leaf),
	    X509_get_subject_name(root)) == 0)
		return;
	issuer = cert_issuer(leaf);
	missing = missing_ca(c->inv, leaf, e->chain, &top);
	if (chain_ok && missing == NULL)
		end = cert_subject(top);
	add(c, "ISSUER_NOT_VMCA", SEV_INFO, place, "%s issued by %s, not by "
	    "VMCA; chain %s%s%s", what, issuer != NULL ? issuer : "?",
	    end != NULL ? "trusted, up to " : "not trusted (CHAIN_UNTRUSTED)",
	    end != NULL ? end : "", end != NULL ? " in TRUSTED_ROOTS" : "");
	free(issuer);
	free(missing);
	free(end);
}

static const char *
entry_what(const struct inv_vecs_entry *e)
{
	if (strcmp(e->store, "MACHINE_SSL_CERT") == 0)
		return "Machine SSL certificate";
	if (strcmp(e->store, "TRUSTED_ROOTS") == 0)
		return "trusted root";
	if (is_solution_user_store(e->store))
		return "solution user certificate";
	if (strcmp(e->store, BACKUP_STORE) == 0)
		return "backup copy";
	return "certificate";
}

static void
eval_vecs(struct ctx *c)
{
	const struct inventory *inv = c->inv;
	size_t	 i, ncrls = 0;

	for (i = 0; i < inv->nvecs && !c->oom; i++) {
		const struct inv_vecs_entry *e = &inv->vecs[i];
		enum severity cap = strcmp(e->store, BACKUP_STORE) == 0 ?
		    SEV_WARNING : SEV_CRITICAL;
		char	*place = vecs_place(e->store, e->alias);
		const char *why;
		X509	*leaf;
		int	 chain_ok = 1;

		if (place == NULL) {
			c->oom = 1;
			break;
		}
		if (e->type == VECS_CRL && strcmp(e->store,
		    "TRUSTED_ROOT_CRLS") == 0)
			ncrls++;
		if (e->bad != NULL) {
			add(c, "UNPARSEABLE", cap, place, "%s entry: %s",
			    e->type_name, e->bad);
			goto next;
		}
		if (e->chain == NULL)
			goto next;
		leaf = sk_X509_value(e->chain, 0);
		/* Backup copies are old by nature: their dates are listed,
		 * never alerted on (after a rotation they expire, harmlessly). */
		if (strcmp(e->store, BACKUP_STORE) == 0)
			backup_dates(c, leaf, place);
		else if (strcmp(e->store, "TRUSTED_ROOTS") == 0) {
			root_dates(c, leaf, place, entry_what(e));
			if (!cert_is_ca(leaf))
				add(c, "TRUSTED_ROOT_NOT_CA", SEV_WARNING, place,
				    "TRUSTED_ROOTS holds a certificate that is "
				    "not a CA (%s): every service trusts it as "
				    "a root; remove it with vecs-cli entry "
				    "delete --store TRUSTED_ROOTS --alias %s "
				    "(and from vmdir with dir-cli trustedcert "
				    "unpublish if it is there too)",
				    X509_get_extension_flags(leaf) & EXFLAG_BCONS ?
				    "basicConstraints CA:FALSE" :
				    "no basicConstraints", e->alias);
		} else
			dates(c, leaf, place, entry_what(e), 0, cap);
		if (e->type != VECS_PRIVATE_KEY)
			goto next;
		if (e->key_match == 0)
			add(c, "KEY_MISMATCH", cap, place,
			    "the private key does not match the certificate");
		else if (e->key_match < 0 && e->key_error != NULL)
			add(c, "UNPARSEABLE", cap, place, "%s", e->key_error);
		/* Self-signed leaves (SMS) vouch for themselves; backup
		 * copies may predate the current roots. */
		if (cap == SEV_CRITICAL && !cert_is_self_signed(leaf) &&
		    !(chain_ok = trusted(inv, leaf, e->chain, &why)))
			untrusted(c, e, place, leaf, entry_what(e), why);
		if (cap == SEV_CRITICAL && !cert_is_self_signed(leaf))
			other_ca(c, e, place, leaf, entry_what(e), chain_ok);
		if (inv->app.pnid != NULL &&
		    strcmp(e->alias, "__MACHINE_CERT") == 0 &&
		    (strcmp(e->store, "MACHINE_SSL_CERT") == 0 ||
		    strcmp(e->store, "STS_INTERNAL_SSL_CERT") == 0) &&
		    !san_has_pnid(leaf, inv->app.pnid))
			add(c, "PNID_NOT_IN_SAN", SEV_CRITICAL, place,
			    "the Subject Alternative Name does not hold the "
			    "PNID %s", inv->app.pnid);
next:
		free(place);
	}
	if (ncrls > CRL_WARN)
		add(c, "CRL_BLOAT", ncrls > CRL_CRIT ? SEV_CRITICAL :
		    SEV_WARNING, "TRUSTED_ROOT_CRLS",
		    "%zu CRLs (more than %d slow down vecs-cli and service "
		    "start)", ncrls, ncrls > CRL_CRIT ? CRL_CRIT : CRL_WARN);
}

/* The leaf of a chain without a key: the first certificate not self-signed. */
static X509 *
chain_leaf(const struct inv_sts *s)
{
	int	 i;

	if (s->leaf != NULL)
		return s->leaf;
	for (i = 0; i < sk_X509_num(s->certs); i++)
		if (!cert_is_self_signed(sk_X509_value(s->certs, i)))
			return sk_X509_value(s->certs, i);
	return sk_X509_num(s->certs) > 0 ? sk_X509_value(s->certs, 0) : NULL;
}

static void
eval_sts(struct ctx *c)
{
	const struct inventory *inv = c->inv;
	const struct inv_sts *active = inventory_active_sts(inv);
	char	 when[64], why_stale[64];
	const char *why;
	size_t	 i;
	int	 j;

	if (active == NULL) {
		char	*tenant;

		if ((tenant = inventory_tenant_dn(inv)) == NULL) {
			c->oom = 1;
			return;
		}
		add(c, "STS_NO_CREDENTIAL", SEV_CRITICAL, tenant,
		    "no TenantCredential: the identity service has no signing "
		    "certificate");
		free(tenant);
	} else if (!active->has_key)
		add(c, "UNPARSEABLE", SEV_CRITICAL, active->dn,
		    "vmwSTSPrivateKey is missing or is not a PKCS#8 key");
	else if (active->leaf == NULL)
		add(c, "KEY_MISMATCH", SEV_CRITICAL, active->dn,
		    "no userCertificate value matches vmwSTSPrivateKey");
	else {
		dates(c, active->leaf, active->dn, "STS signing certificate",
		    0, SEV_CRITICAL);
		if (!trusted(inv, active->leaf, active->certs, &why))
			add(c, "CHAIN_UNTRUSTED", SEV_CRITICAL, active->dn,
			    "STS signing certificate does not chain to "
			    "TRUSTED_ROOTS: %s", why);
	}
	for (i = 0; i < inv->nsts && !c->oom; i++) {
		const struct inv_sts *s = &inv->sts[i];
		X509	*leaf = chain_leaf(s);
		int	 expired = 0;

		if (s->bad_values > 0)
			add(c, "UNPARSEABLE", SEV_CRITICAL, s->dn,
			    "%zu userCertificate value(s) are not DER "
			    "certificates", s->bad_values);
		if (active != NULL && s->n == active->n)
			continue;
		for (j = 0; j < sk_X509_num(s->certs); j++)
			if (cert_not_after(sk_X509_value(s->certs, j)) < c->p->at)
				expired = 1;
		if (active != NULL)
			snprintf(why_stale, sizeof(why_stale), "the active "
			    "credential is TenantCredential-%d", active->n);
		else
			snprintf(why_stale, sizeof(why_stale), "there is no "
			    "credential to go with it");
		if (leaf != NULL && cert_not_after(leaf) < c->p->at) {
			cert_time_str(cert_not_after(leaf), when, sizeof(when));
			add(c, "STS_STALE_CHAIN", SEV_CRITICAL, s->dn,
			    "stale %s (%s): its LEAF expired on %s",
			    s->is_credential ? "credential" : "chain",
			    why_stale, when);
		} else
			add(c, "STS_STALE_CHAIN", expired ? SEV_CRITICAL :
			    SEV_WARNING, s->dn, "stale %s (%s): its LEAF is "
			    "valid%s", s->is_credential ? "credential" : "chain",
			    why_stale, expired ? ", another certificate in it "
			    "expired" : "");
	}
}

static void
eval_solution_users(struct ctx *c)
{
	const struct inventory *inv = c->inv;
	size_t	 k;

	for (k = 0; solution_users[k] != NULL && !c->oom; k++) {
		const char *sol = solution_users[k];
		const struct inv_vecs_entry *e = inventory_vecs(inv, sol, sol);
		const struct inv_principal *p = inventory_principal(inv, sol);
		char	*place;

		/* A damaged entry is UNPARSEABLE already (eval_vecs). */
		if (e != NULL && e->chain == NULL)
			continue;
		/* No entry and no principal: a solution user this version
		 * does not have (hvc and wcp before 7.0). No entry in a VECS
		 * that could not be read: nothing known. */
		if (e == NULL && (p == NULL || inv->vecs_error.len > 0))
			continue;
		if ((place = vecs_place(sol, sol)) == NULL) {
			c->oom = 1;
			return;
		}
		if (e == NULL && !inventory_has_store(inv, sol))
			add(c, "SOLUTION_USER_MISMATCH", SEV_CRITICAL, place,
			    "solution user %s has its principal %s in vmdir but "
			    "no store %s in VECS: create it (vecs-cli store "
			    "create --name %s), then plan again", sol, p->dn, sol,
			    sol);
		else if (e == NULL)
			add(c, "SOLUTION_USER_MISMATCH", SEV_CRITICAL, place,
			    "solution user %s has its principal %s in vmdir but "
			    "no entry %s in VECS", sol, p->dn, place);
		else if (p == NULL)
			add(c, "SOLUTION_USER_MISMATCH", SEV_CRITICAL, place,
			    "solution user %s has no principal "
			    "cn=%s-%s," VMDIR_RDN_PRINCIPALS ",%s in vmdir", sol,
			    sol, inv->app.machine_id, inv->app.domain_dn);
		else if (p->cert == NULL)
			add(c, "UNPARSEABLE", SEV_CRITICAL, p->dn,
			    "userCertificate of solution user %s: %s", sol,
			    p->bad);
		else if (!cert_equal(p->cert, sk_X509_value(e->chain, 0)))
			add(c, "SOLUTION_USER_MISMATCH", SEV_CRITICAL, p->dn,
			    "the certificate of solution user %s in vmdir "
			    "differs from the one in VECS %s", sol, place);
		free(place);
	}
}

static void
eval_endpoints(struct ctx *c)
{
	const struct inventory *inv = c->inv;
	const struct inv_vecs_entry *m;
	X509	*live = NULL;
	size_t	 i;

	m = inventory_vecs(inv, "MACHINE_SSL_CERT", "__MACHINE_CERT");
	if (m != NULL && m->chain != NULL)
		live = sk_X509_value(m->chain, 0);
	for (i = 0; i < inv->nendpoints && !c->oom; i++) {
		const struct inv_endpoint *ep = &inv->endpoints[i];

		if (ep->trust == NULL)
			add(c, "UNPARSEABLE", SEV_CRITICAL, ep->dn,
			    "endpoint %s: %s", ep->uri, ep->bad);
		else if (live != NULL && !cert_equal(ep->trust, live))
			add(c, "TRUST_ANCHOR_STALE", SEV_CRITICAL, ep->dn,
			    "endpoint %s trusts a certificate other than the "
			    "Machine SSL certificate", ep->uri);
	}
}

/* Whether peer endpoint k is the first unreachable one (of those that
 * are judged) on its host and port. */
static int
first_of_server(const struct inventory *inv, size_t k)
{
	const struct inv_endpoint *ep = &inv->peer_endpoints[k];
	size_t	 i;

	for (i = 0; i < k; i++)
		if (inventory_endpoint_state(&inv->peer_endpoints[i]) ==
		    EP_UNREACHABLE &&
		    strcasecmp(inv->peer_endpoints[i].host, ep->host) == 0 &&
		    uri_port(inv->peer_endpoints[i].uri) == uri_port(ep->uri))
			return 0;
	return 1;
}

/*
 * The other nodes, as domain_probe found them: a directory that does not
 * answer, one that does not hold our STS entries yet, an endpoint whose
 * host serves another certificate than its registration trusts (every
 * other node's services then fail to reach it), or does not answer.
 */
static void
eval_domain(struct ctx *c)
{
	const struct inventory *inv = c->inv;
	const struct inv_node *node;
	size_t	 i;

	for (i = 0; i < inv->nnodes && !c->oom; i++) {
		const struct inv_node *n = &inv->nodes[i];

		if (!n->probed)
			continue;
		if (n->error != NULL)
			add(c, "NODE_UNREACHABLE", SEV_WARNING, n->dn,
			    "node %s: its directory could not be read: %s",
			    n->pnid, n->error);
		else if (n->sts_same == 0)
			add(c, "STS_NOT_REPLICATED", SEV_WARNING, n->dn,
			    "node %s's STS signing entries differ from this "
			    "node's (%s): vmdir has not replicated the latest "
			    "change between them yet, and each node's STS signs "
			    "with what its own directory holds", n->pnid,
			    n->sts_differs);
	}
	for (i = 0; i < inv->npeer_endpoints && !c->oom; i++) {
		const struct inv_endpoint *ep = &inv->peer_endpoints[i];

		switch (inventory_endpoint_state(ep)) {
		case EP_NOT_ASKED:
		case EP_TRUSTED:
			break;
		case EP_UNPARSEABLE:
			add(c, "UNPARSEABLE", SEV_CRITICAL, ep->dn,
			    "endpoint %s: %s", ep->uri, ep->bad);
			break;
		case EP_UNREACHABLE:
			/* Once per host and port: one server behind them all. */
			if (!first_of_server(inv, i))
				break;
			node = inventory_node(inv, ep->host);
			add(c, "ENDPOINT_UNREACHABLE", SEV_WARNING,
			    node != NULL ? node->dn : ep->host,
			    "node %s: its endpoints (%s and any other on that "
			    "port) cannot be asked which certificate they "
			    "serve: %s", ep->host, ep->uri, ep->served_error);
			break;
		case EP_STALE:
			add(c, "NODE_TRUST_ANCHOR_STALE", SEV_CRITICAL, ep->dn,
			    "endpoint %s trusts a certificate other than the "
			    "one %s serves: the other nodes' services cannot "
			    "reach it; run vcrotate plan on %s", ep->uri,
			    ep->host, ep->host);
			break;
		}
	}
}

static void
eval_roots(struct ctx *c)
{
	const struct inventory *inv = c->inv;
	char	*place;
	size_t	 i;

	if (inv->vmca_root != NULL) {
		if ((place = app_path("/", APP_VMCA_ROOT)) == NULL) {
			c->oom = 1;
			return;
		}
		dates(c, sk_X509_value(inv->vmca_root, 0), place,
		    "VMCA root certificate", 1, SEV_CRITICAL);
		if (inv->vmca_key_match == 0)
			add(c, "KEY_MISMATCH", SEV_CRITICAL, place,
			    "privatekey.pem does not match root.cer");
		free(place);
	}
	for (i = 0; i < inv->ncas && !c->oom; i++) {
		if (inv->cas[i].cert == NULL)
			add(c, "UNPARSEABLE", SEV_CRITICAL, inv->cas[i].dn,
			    "cACertificate: %s", inv->cas[i].bad);
		else
			root_dates(c, inv->cas[i].cert, inv->cas[i].dn,
			    "CA certificate");
	}
}

/* Critical first, then warnings, then INFO, each in reading order (qsort is not
 * stable, so this is a partition by severity). */
static int
sort_by_severity(struct findings *f)
{
	struct finding *v;
	size_t	 i, n = 0;
	int	 sev;

	if (f->n == 0)
		return 0;
	if ((v = calloc(f->n, sizeof(*v))) == NULL)
		return -1;
	for (sev = SEV_CRITICAL; sev >= SEV_OK; sev--)
		for (i = 0; i < f->n; i++)
			if ((int)f->v[i].sev == sev)
				v[n++] = f->v[i];
	free(f->v);
	f->v = v;
	return 0;
}

/*
 * VCDB's vpx_ext: each extension vcrotate knows must hold the thumbprint
 * of the certificate it logs in with (vcdb.h), or it cannot log in (eam
 * loops on NotAuthenticated, KB 434349). An empty row, an unknown
 * extension, or a certificate that cannot be read is no finding here.
 */
static void
eval_vcdb(struct ctx *c)
{
	const struct inventory *inv = c->inv;
	const char *store, *alias;
	char	*want, *place;
	size_t	 i;

	for (i = 0; i < inv->nvcdb; i++) {
		const struct vcdb_row *r = &inv->vcdb[i];

		if (*r->thumbprint == '\0' ||
		    (want = vcdb_expected(inv, r->ext_id)) == NULL)
			continue;
		(void)vcdb_follows(r->ext_id, &store, &alias);
		if ((place = vcdb_place(r->ext_id)) == NULL)
			c->oom = 1;
		else if (strcmp(want, r->thumbprint) != 0)
			add(c, "EXTENSION_THUMBPRINT_MISMATCH", SEV_CRITICAL,
			    place, "extension %s is registered with thumbprint "
			    "%s, not that of %s/%s (%s), the certificate it "
			    "logs in with: it cannot log in to vCenter",
			    r->ext_id, r->thumbprint, store, alias, want);
		free(want);
		free(place);
	}
}

/*
 * vsan-health's copy of vpxd-extension (vsan.h): the certificate VECS's
 * vpxd-extension holds, and its key, or the field tools' replacement left
 * it behind. What vsan-health does with a stale copy is not documented
 * (docs/lab.md, "vsan-health"): a WARNING, not CRITICAL.
 */
static void
eval_vsan(struct ctx *c)
{
	const struct inventory *inv = c->inv;
	const struct inv_vecs_entry *e;
	char	*want = NULL, *held = NULL;

	if (!inv->vsan_present || (e = inventory_vecs(inv, "vpxd-extension",
	    "vpxd-extension")) == NULL || e->chain == NULL)
		return;
	if ((want = cert_sha1_colons(sk_X509_value(e->chain, 0))) == NULL) {
		c->oom = 1;
		return;
	}
	if (inv->vsan_cert == NULL)
		add(c, "VSAN_HEALTH_COPY_STALE", SEV_WARNING, VSAN_CERT_FILE,
		    "vsan-health's copy of vpxd-extension cannot be read (%s), "
		    "not that of " VSAN_FOLLOWS " (%s)",
		    buf_str(&inv->vsan_error), want);
	else if ((held = cert_sha1_colons(inv->vsan_cert)) == NULL)
		c->oom = 1;
	else if (strcmp(held, want) != 0)
		add(c, "VSAN_HEALTH_COPY_STALE", SEV_WARNING, VSAN_CERT_FILE,
		    "vsan-health's copy of vpxd-extension holds the "
		    "certificate with thumbprint %s, not that of "
		    VSAN_FOLLOWS " (%s), the certificate it should follow",
		    held, want);
	else if (inv->vsan_key_match != 1)
		add(c, "VSAN_HEALTH_COPY_STALE", SEV_WARNING, VSAN_CERT_FILE,
		    "vsan-health's copy of vpxd-extension holds its "
		    "certificate (%s), but " VSAN_KEY_FILE " is %s", held,
		    inv->vsan_key_match == 0 ? "not that certificate's key" :
		    buf_str(&inv->vsan_error));
	free(want);
	free(held);
}

/*
 * Auto Deploy's vc_servers rows (rbd.h): each must hold the Machine SSL
 * certificate's thumbprint, which vCert writes there. What Auto Deploy
 * does with a stale one is not documented (docs/lab.md, "Auto Deploy"):
 * a WARNING. A row without a thumbprint is no finding.
 */
static void
eval_rbd(struct ctx *c)
{
	const struct inventory *inv = c->inv;
	const struct inv_vecs_entry *e;
	char	*want, *place;
	size_t	 i;

	if ((e = inventory_vecs(inv, "MACHINE_SSL_CERT", "__MACHINE_CERT")) ==
	    NULL || e->chain == NULL)
		return;
	if ((want = cert_sha1_colons(sk_X509_value(e->chain, 0))) == NULL) {
		c->oom = 1;
		return;
	}
	for (i = 0; i < inv->nrbd; i++) {
		const struct rbd_row *r = &inv->rbd[i];

		if (*r->thumbprint == '\0' || strcmp(r->thumbprint, want) == 0)
			continue;
		if ((place = rbd_place(r->id)) == NULL) {
			c->oom = 1;
			break;
		}
		add(c, "AUTODEPLOY_THUMBPRINT_MISMATCH", SEV_WARNING, place,
		    "Auto Deploy's vc_servers row %ld holds thumbprint %s, not "
		    "that of " RBD_FOLLOWS " (%s), the certificate it should "
		    "follow", r->id, r->thumbprint, want);
		free(place);
	}
	free(want);
}

int
findings_evaluate(const struct inventory *inv, const struct policy *p,
    struct findings *out)
{
	struct ctx c = { inv, p, out, 0, NULL };

	memset(out, 0, sizeof(*out));
	eval_roots(&c);
	eval_vecs(&c);
	/* Only a part that was read can be judged: an unread one would look
	 * empty (no credential, no principal) and raise false findings. */
	if (inv->vmdir_parts[VMDIR_PART_STS].read)
		eval_sts(&c);
	if (inv->vmdir_parts[VMDIR_PART_PRINCIPALS].read)
		eval_solution_users(&c);
	if (inv->vmdir_parts[VMDIR_PART_ENDPOINTS].read)
		eval_endpoints(&c);
	if (inv->domain_probed)
		eval_domain(&c);
	eval_vcdb(&c);
	eval_vsan(&c);
	eval_rbd(&c);
	root_use_free(c.use);
	if (c.oom || sort_by_severity(out) == -1) {
		findings_free(out);
		return -1;
	}
	return 0;
}

void
findings_free(struct findings *f)
{
	size_t	 i;

	for (i = 0; i < f->n; i++) {
		free(f->v[i].place);
		free(f->v[i].message);
	}
	free(f->v);
	f->v = NULL;
	f->n = 0;
}

enum severity
findings_worst(const struct findings *f)
{
	enum severity w = SEV_OK;
	size_t	 i;

	for (i = 0; i < f->n; i++)
		if (f->v[i].sev > w)
			w = f->v[i].sev;
	return w;
}

/* ---- which roots are in use ---- */

struct root_use {
	X509		**ca;		/* TRUSTED_ROOTS, CA entries, root.cer */
	unsigned char	 *used;
	size_t		  n;
	int		  all;		/* not all was read: every root counts */
};

static int
use_add_ca(struct root_use *u, X509 *x)
{
	X509	**nv;

	if ((nv = reallocarray(u->ca, u->n + 1, sizeof(*nv))) == NULL)
		return -1;
	u->ca = nv;
	u->ca[u->n++] = x;
	return 0;
}

/*
 * Marks every CA certificate that issued x, then (a worklist: stack holds
 * the indexes marked and not yet followed) every one that issued those.
 */
static void
use_mark_issuers(struct root_use *u, X509 *x, size_t *stack)
{
	size_t	 i, top = 0;

	for (;;) {
		for (i = 0; i < u->n; i++)
			if (!u->used[i] && cert_issued_by(x, u->ca[i])) {
				u->used[i] = 1;
				stack[top++] = i;
			}
		if (top == 0)
			return;
		x = u->ca[stack[--top]];
	}
}

static void
use_mark_chain(struct root_use *u, STACK_OF(X509) *chain, size_t *stack)
{
	int	 j;

	for (j = 0; chain != NULL && j < sk_X509_num(chain); j++)
		use_mark_issuers(u, sk_X509_value(chain, j), stack);
}

static int
use_collect(struct root_use *u, const struct inventory *inv)
{
	size_t	 i;
	int	 j;

	for (i = 0; i < inv->nvecs; i++)
		if (inv->vecs[i].chain != NULL &&
		    strcmp(inv->vecs[i].store, "TRUSTED_ROOTS") == 0 &&
		    use_add_ca(u, sk_X509_value(inv->vecs[i].chain, 0)) == -1)
			return -1;
	for (i = 0; i < inv->ncas; i++)
		if (inv->cas[i].cert != NULL &&
		    use_add_ca(u, inv->cas[i].cert) == -1)
			return -1;
	for (j = 0; inv->vmca_root != NULL && j < sk_X509_num(inv->vmca_root);
	    j++)
		if (use_add_ca(u, sk_X509_value(inv->vmca_root, j)) == -1)
			return -1;
	return 0;
}

struct root_use *
root_use_new(const struct inventory *inv)
{
	struct root_use *u;
	size_t	 i, *stack = NULL;

	if ((u = calloc(1, sizeof(*u))) == NULL)
		return NULL;
	/* What was not read may be what a root signs. */
	u->all = inv->vecs_error.len > 0 ||
	    !inv->vmdir_parts[VMDIR_PART_STS].read ||
	    !inv->vmdir_parts[VMDIR_PART_PRINCIPALS].read ||
	    !inv->vmdir_parts[VMDIR_PART_ENDPOINTS].read;
	if (use_collect(u, inv) == -1 ||
	    (u->used = calloc(u->n + 1, 1)) == NULL ||
	    (stack = calloc(u->n + 1, sizeof(*stack))) == NULL) {
		root_use_free(u);
		return NULL;
	}
	for (i = 0; i < inv->nvecs; i++) {
		const struct inv_vecs_entry *e = &inv->vecs[i];

		if (strcmp(e->store, "TRUSTED_ROOTS") != 0 &&
		    strcmp(e->store, BACKUP_STORE) != 0)
			use_mark_chain(u, e->chain, stack);
	}
	for (i = 0; i < inv->nsts; i++)
		use_mark_chain(u, inv->sts[i].certs, stack);
	for (i = 0; i < inv->nprincipals; i++)
		if (inv->principals[i].cert != NULL)
			use_mark_issuers(u, inv->principals[i].cert, stack);
	for (i = 0; i < inv->nendpoints; i++)
		if (inv->endpoints[i].trust != NULL)
			use_mark_issuers(u, inv->endpoints[i].trust, stack);
	/* Another node's roots serve it: its endpoints show what it uses
	 * (a registration left by a node that has gone shows nothing). */
	for (i = 0; i < inv->npeer_endpoints; i++)
		if (inv->peer_endpoints[i].trust != NULL &&
		    inventory_node(inv, inv->peer_endpoints[i].host) != NULL)
			use_mark_issuers(u, inv->peer_endpoints[i].trust,
			    stack);
	/* The VMCA root signs what comes next, in use or not. */
	for (i = 0; i < u->n; i++)
		if (inv->vmca_root != NULL && X509_cmp(u->ca[i],
		    sk_X509_value(inv->vmca_root, 0)) == 0) {
			u->used[i] = 1;
			use_mark_issuers(u, u->ca[i], stack);
		}
	free(stack);
	return u;
}

int
root_use_signs(const struct root_use *u, X509 *x)
{
	size_t	 i;

	if (u->all)
		return 1;
	for (i = 0; i < u->n; i++)
		if (u->used[i] && X509_cmp(u->ca[i], x) == 0)
			return 1;
	return 0;
}

void
root_use_free(struct root_use *u)
{
	if (u == NULL)
		return;
	free(u->ca);
	free(u->used);
	free(u);
}
