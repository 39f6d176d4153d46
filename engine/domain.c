/*
 * domain.c - the other nodes of the SSO domain, asked over the network:
 * their directories (has replication brought them this node's STS
 * entries?) and their endpoints (do they serve what their registrations
 * trust?).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "cert.h"
#include "domain.h"

/* An STS entry: its DN (borrowed) and the digest of its certificates. */
struct sts_digest {
	const char	*dn;
	char		 digest[DIGEST_LEN];
};
#include "services.h"

/*
 * This node's trusted roots as a PEM file for libldap (they are public
 * certificates: a temporary file of our own is enough); NULL with err when
 * there are none or it cannot be written.
 */
static char *
roots_file(STACK_OF(X509) *trusted, struct buf *err)
{
	const char *tmp = getenv("TMPDIR");
	char	*path = NULL;
	FILE	*f = NULL;
	int	 fd, i, ok = 1;

	if (trusted == NULL || sk_X509_num(trusted) == 0) {
		buf_puts(err, "no trusted roots (TRUSTED_ROOTS) to verify its "
		    "certificate with");
		return NULL;
	}
	if (asprintf(&path, "%s/vcrotate-roots.XXXXXX",
	    tmp != NULL && *tmp == '/' ? tmp : "/tmp") == -1)
		return NULL;
	if ((fd = mkstemp(path)) == -1 || (f = fdopen(fd, "w")) == NULL) {
		buf_printf(err, "%s: %s", path, strerror(errno));
		if (fd != -1) {
			close(fd);
			unlink(path);
		}
		free(path);
		return NULL;
	}
	for (i = 0; i < sk_X509_num(trusted) && ok; i++)
		ok = PEM_write_X509(f, sk_X509_value(trusted, i)) == 1;
	if (fclose(f) != 0 || !ok) {
		buf_printf(err, "%s: cannot write", path);
		unlink(path);
		free(path);
		return NULL;
	}
	return path;
}

/* Unlinks and frees a roots_file. */
static void
roots_free(char *roots)
{
	if (roots != NULL) {
		unlink(roots);
		free(roots);
	}
}

/*
 * The STS entries es (a node's) against want (this node's): every entry we
 * have, with the same certificates, and no other. 1 same, 0 not (*differs
 * says which entry first), -1 out of memory.
 */
static int
compare_sts(const struct sts_digest *want, size_t nwant,
    const struct vmdir_entries *es, char **differs)
{
	char	 d[DIGEST_LEN];
	size_t	 i, j;

	for (i = 0; i < nwant; i++) {
		for (j = 0; j < es->n; j++)
			if (strcasecmp(es->entries[j].dn, want[i].dn) == 0)
				break;
		if (j == es->n)
			return asprintf(differs, "%s: not there", want[i].dn) ==
			    -1 ? -1 : 0;
		inventory_digest_sts(&es->entries[j], d);
		if (strcmp(d, want[i].digest) != 0)
			return asprintf(differs, "%s: other certificates",
			    want[i].dn) == -1 ? -1 : 0;
	}
	for (j = 0; j < es->n; j++) {
		for (i = 0; i < nwant; i++)
			if (strcasecmp(es->entries[j].dn, want[i].dn) == 0)
				break;
		if (i == nwant)
			return asprintf(differs, "%s: not here",
			    es->entries[j].dn) == -1 ? -1 : 0;
	}
	return 1;
}

/* The STS entries under tenant, as vd holds them (err: why not). */
static int
search_sts(struct vmdir *vd, const char *tenant, struct vmdir_entries *es,
    struct buf *err)
{
	const char *attrs[] = { "cn", "userCertificate", NULL };

	return vmdir_search(vd, tenant, VMDIR_SUB,
	    "(|(objectClass=vmwSTSTenantCredential)"
	    "(objectClass=vmwSTSTenantTrustedCertificateChain))", attrs, es,
	    err);
}

/*
 * Node pnid's own directory, over LDAPS with login's credentials and the
 * CAs in roots: does it hold want? 1 yes, 0 no (*differs), 2 it could not
 * be asked (*error), -1 out of memory.
 */
static int
ask_sts(const char *pnid, const struct vmdir_login *login, const char *roots,
    const char *tenant, const struct sts_digest *want, size_t nwant,
    char **error, char **differs)
{
	struct vmdir_login l;
	struct vmdir *vd = NULL;
	struct vmdir_entries es = { NULL, 0 };
	struct buf err = BUF_INIT;
	int	 ret = -1;

	memset(&l, 0, sizeof(l));
	if (asprintf(&l.uri, "ldaps://%s:%d", pnid, DOMAIN_LDAPS_PORT) ==
	    -1) {
		l.uri = NULL;
		goto out;
	}
	if ((l.bind_dn = strdup(login->bind_dn)) == NULL ||
	    (l.password = strdup(login->password)) == NULL ||
	    vmdir_login_tls(&l, 0, roots) == -1)
		goto out;
	if (vmdir_open(&vd, &l, &err) == -1 ||
	    search_sts(vd, tenant, &es, &err) == -1)
		ret = (*error = strdup(buf_str(&err))) == NULL ? -1 : 2;
	else
		ret = compare_sts(want, nwant, &es, differs);
out:
	vmdir_entries_free(&es);
	vmdir_close(vd);
	vmdir_login_free(&l);
	buf_free(&err);
	return ret;
}

/* This node's STS entries as inv read them. */
static struct sts_digest *
inventory_sts_digests(const struct inventory *inv)
{
	struct sts_digest *w;
	size_t	 i;

	if ((w = calloc(inv->nsts + 1, sizeof(*w))) == NULL)
		return NULL;
	for (i = 0; i < inv->nsts; i++) {
		w[i].dn = inv->sts[i].dn;
		memcpy(w[i].digest, inv->sts[i].set_digest, DIGEST_LEN);
	}
	return w;
}

/* Node n's directory: its STS entries against ours. -1 out of memory. */
static int
probe_directory(const struct inventory *inv, struct inv_node *n,
    const struct vmdir_login *login, const char *roots)
{
	struct sts_digest *want = NULL;
	char	*tenant = NULL;
	int	 r, ret = -1;

	n->probed = 1;
	if ((tenant = inventory_tenant_dn(inv)) == NULL ||
	    (want = inventory_sts_digests(inv)) == NULL)
		goto out;
	r = ask_sts(n->pnid, login, roots, tenant, want, inv->nsts,
	    &n->error, &n->sts_differs);
	if (r == -1)
		goto out;
	n->sts_same = r == 1 ? 1 : r == 0 ? 0 : -1;
	ret = 0;
out:
	free(want);
	free(tenant);
	return ret;
}

/*
 * What endpoint ep's host serves on its port: asked once per host and
 * port (an earlier endpoint's answer is copied). -1 out of memory.
 */
static int
probe_endpoint(struct inventory *inv, size_t k)
{
	struct inv_endpoint *ep = &inv->peer_endpoints[k];
	struct buf err = BUF_INIT;
	int	 port = uri_port(ep->uri);
	size_t	 i;

	for (i = 0; i < k; i++) {
		const struct inv_endpoint *o = &inv->peer_endpoints[i];

		if ((o->served == NULL && o->served_error == NULL) ||
		    strcasecmp(o->host, ep->host) != 0 ||
		    uri_port(o->uri) != port)
			continue;
		if (o->served != NULL && X509_up_ref(o->served))
			ep->served = o->served;
		else if (o->served_error != NULL &&
		    (ep->served_error = strdup(o->served_error)) == NULL)
			return -1;
		return ep->served != NULL || ep->served_error != NULL ? 0 : -1;
	}
	if (port == -1)
		buf_printf(&err, "%s: not a port", ep->uri);
	else
		ep->served = services_served_cert_at(ep->host, port, ep->host,
		    &err);
	if (ep->served == NULL &&
	    (ep->served_error = strdup(buf_str(&err))) == NULL) {
		buf_free(&err);
		return -1;
	}
	buf_free(&err);
	return 0;
}

int
domain_probe(struct inventory *inv, const struct vmdir_login *login,
    const char *only)
{
	struct buf err = BUF_INIT;
	char	*roots = NULL;
	size_t	 i;
	int	 ret = -1, dirs = 0;

	for (i = 0; i < inv->nnodes; i++)
		if (!inv->nodes[i].self && inv->nodes[i].dc &&
		    (only == NULL || strcasecmp(only, inv->nodes[i].pnid) == 0))
			dirs = 1;
	if (dirs && login != NULL && inv->vmdir_parts[VMDIR_PART_STS].read &&
	    (roots = roots_file(inv->trusted, &err)) == NULL && err.len == 0)
		goto out;
	for (i = 0; i < inv->nnodes; i++) {
		struct inv_node *n = &inv->nodes[i];

		if (n->self || !n->dc ||
		    (only != NULL && strcasecmp(only, n->pnid) != 0))
			continue;
		if (login == NULL || !inv->vmdir_parts[VMDIR_PART_STS].read) {
			/* Nothing of ours to compare with. */
			continue;
		}
		if (roots == NULL) {
			n->probed = 1;
			if ((n->error = strdup(buf_str(&err))) == NULL)
				goto out;
			continue;
		}
		if (probe_directory(inv, n, login, roots) == -1)
			goto out;
	}
	/* Only the endpoints of the domain's nodes: a registration left by a
	 * node that has gone names no one to ask. Legacy (5.5-style) ones
	 * are left alone too: on 7.0 and later nothing serves their port
	 * 7444 any more, and their anchors are their node's own check
	 * (TRUST_ANCHOR_STALE). */
	for (i = 0; i < inv->npeer_endpoints; i++) {
		const struct inv_endpoint *ep = &inv->peer_endpoints[i];

		if (ep->legacy || inventory_node(inv, ep->host) == NULL ||
		    (only != NULL && strcasecmp(only, ep->host) != 0))
			continue;
		if (probe_endpoint(inv, i) == -1)
			goto out;
	}
	inv->domain_probed = 1;
	ret = 0;
out:
	roots_free(roots);
	buf_free(&err);
	return ret;
}


int
domain_wait_sts(const struct inventory *inv, const struct vmdir_login *login,
    struct vmdir *vd, int seconds, void (*say)(void *, const char *),
    void *arg, struct buf *err)
{
	struct vmdir_entries now = { NULL, 0 };
	struct sts_digest *want = NULL;
	struct timespec t0, t1, pause = { 0, 200 * 1000000L };
	struct buf late = BUF_INIT, why = BUF_INIT;
	char	*roots = NULL, *tenant = NULL, *e, *d;
	size_t	 i, others = 0;
	long	 waited = 0, said = -1;
	int	 r, ret = -1;

	for (i = 0; i < inv->nnodes; i++)
		if (inv->nodes[i].dc && !inv->nodes[i].self)
			others++;
	if (others == 0 || seconds == 0)
		return 0;
	if ((tenant = inventory_tenant_dn(inv)) == NULL)
		goto oom;
	if (search_sts(vd, tenant, &now, err) == -1)
		goto out;
	if ((want = calloc(now.n + 1, sizeof(*want))) == NULL)
		goto oom;
	for (i = 0; i < now.n; i++) {
		want[i].dn = now.entries[i].dn;
		inventory_digest_sts(&now.entries[i], want[i].digest);
	}
	if ((roots = roots_file(inv->trusted, err)) == NULL) {
		if (err->len == 0)
			goto oom;
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		buf_reset(&late);
		buf_reset(&why);
		for (i = 0; i < inv->nnodes; i++) {
			const struct inv_node *n = &inv->nodes[i];

			if (!n->dc || n->self)
				continue;
			e = d = NULL;
			r = ask_sts(n->pnid, login, roots, tenant, want, now.n,
			    &e, &d);
			if (r == 1)
				continue;
			if (r == -1 || buf_printf(&late, "%s%s", late.len ?
			    ", " : "", n->pnid) == -1 || (why.len == 0 &&
			    buf_printf(&why, "%s: %s", n->pnid, e != NULL ? e :
			    d) == -1)) {
				free(e);
				free(d);
				goto oom;
			}
			free(e);
			free(d);
		}
		if (late.len == 0) {
			ret = 0;
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		waited = (long)(t1.tv_sec - t0.tv_sec);
		if (waited >= seconds) {
			buf_printf(err, "vmdir has not replicated the new STS "
			    "credential to %s within %d s (%s): their services "
			    "would sign with another credential than this "
			    "node's (apply --replication-wait SECONDS waits "
			    "longer, 0 not at all)", buf_str(&late), seconds,
			    buf_str(&why));
			break;
		}
		if (say != NULL && waited / 5 != said) {
			char	*msg = NULL;

			said = waited / 5;
			if (asprintf(&msg, "waiting for vmdir to replicate the "
			    "new STS credential to %s (%ld s of at most %d)",
			    buf_str(&late), waited, seconds) == -1)
				goto oom;
			say(arg, msg);
			free(msg);
		}
		nanosleep(&pause, NULL);
	}
	goto out;
oom:
	buf_puts(err, "out of memory");
	ret = -1;
out:
	roots_free(roots);
	vmdir_entries_free(&now);
	free(want);
	free(tenant);
	buf_free(&late);
	buf_free(&why);
	return ret;
}
