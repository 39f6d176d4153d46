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
#include <unistd.h>

#include <openssl/pem.h>

#include "cert.h"
#include "domain.h"
#include "services.h"

/*
 * This node's trusted roots as a PEM file for libldap (they are public
 * certificates: a temporary file of our own is enough); NULL with err when
 * there are none or it cannot be written.
 */
static char *
roots_file(const struct inventory *inv, struct buf *err)
{
	const char *tmp = getenv("TMPDIR");
	char	*path = NULL;
	FILE	*f = NULL;
	int	 fd, i, ok = 1;

	if (inv->trusted == NULL || sk_X509_num(inv->trusted) == 0) {
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
	for (i = 0; i < sk_X509_num(inv->trusted) && ok; i++)
		ok = PEM_write_X509(f, sk_X509_value(inv->trusted, i)) == 1;
	if (fclose(f) != 0 || !ok) {
		buf_printf(err, "%s: cannot write", path);
		unlink(path);
		free(path);
		return NULL;
	}
	return path;
}

/*
 * Node n's STS entries against ours (inv->sts): every entry we have, with
 * the same certificates, and no other. Sets sts_same and, when they
 * differ, sts_differs. -1 out of memory.
 */
static int
compare_sts(const struct inventory *inv, struct inv_node *n,
    const struct vmdir_entries *es)
{
	char	 d[DIGEST_LEN];
	size_t	 i, j;

	n->sts_same = 1;
	for (i = 0; i < inv->nsts && n->sts_same; i++) {
		for (j = 0; j < es->n; j++)
			if (strcasecmp(es->entries[j].dn, inv->sts[i].dn) == 0)
				break;
		if (j == es->n) {
			n->sts_same = 0;
			if (asprintf(&n->sts_differs, "%s: not there",
			    inv->sts[i].dn) == -1)
				return -1;
			break;
		}
		inventory_digest_sts(&es->entries[j], d);
		if (strcmp(d, inv->sts[i].digest) != 0) {
			n->sts_same = 0;
			if (asprintf(&n->sts_differs, "%s: other certificates",
			    inv->sts[i].dn) == -1)
				return -1;
		}
	}
	if (n->sts_same && es->n != inv->nsts) {
		n->sts_same = 0;
		for (j = 0; j < es->n; j++) {
			for (i = 0; i < inv->nsts; i++)
				if (strcasecmp(es->entries[j].dn,
				    inv->sts[i].dn) == 0)
					break;
			if (i == inv->nsts)
				break;
		}
		if (asprintf(&n->sts_differs, "%s: not here",
		    j < es->n ? es->entries[j].dn : "an entry") == -1)
			return -1;
	}
	return 0;
}

/* Node n's directory: its STS entries, compared. -1 out of memory. */
static int
probe_directory(const struct inventory *inv, struct inv_node *n,
    const struct vmdir_login *login, const char *roots)
{
	const char *attrs[] = { "cn", "userCertificate", NULL };
	struct vmdir_login l;
	struct vmdir *vd = NULL;
	struct vmdir_entries es = { NULL, 0 };
	struct buf err = BUF_INIT;
	char	*tenant = NULL;
	int	 ret = -1;

	memset(&l, 0, sizeof(l));
	n->probed = 1;
	if (asprintf(&l.uri, "ldaps://%s:%d", n->pnid, DOMAIN_LDAPS_PORT) ==
	    -1) {
		l.uri = NULL;
		goto out;
	}
	if ((l.bind_dn = strdup(login->bind_dn)) == NULL ||
	    (l.password = strdup(login->password)) == NULL ||
	    vmdir_login_tls(&l, 0, roots) == -1 ||
	    (tenant = inventory_tenant_dn(inv)) == NULL)
		goto out;
	if (vmdir_open(&vd, &l, &err) == -1 ||
	    vmdir_search(vd, tenant, VMDIR_SUB,
	    "(|(objectClass=vmwSTSTenantCredential)"
	    "(objectClass=vmwSTSTenantTrustedCertificateChain))", attrs, &es,
	    &err) == -1) {
		if ((n->error = strdup(buf_str(&err))) == NULL)
			goto out;
	} else if (compare_sts(inv, n, &es) == -1)
		goto out;
	ret = 0;
out:
	vmdir_entries_free(&es);
	vmdir_close(vd);
	vmdir_login_free(&l);
	buf_free(&err);
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
	    (roots = roots_file(inv, &err)) == NULL && err.len == 0)
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
	if (roots != NULL) {
		unlink(roots);
		free(roots);
	}
	buf_free(&err);
	return ret;
}
