/*
 * domain.c - the other nodes of the SSO domain, asked over the network:
 * their directories (has replication brought them this node's STS
 * entries?) and their endpoints (do they serve what their registrations
 * trust?).
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "appliance.h"
#include "cert.h"
#include "domain.h"
#include "services.h"

/* An STS entry: its DN (borrowed) and the digest of its certificates. */
struct sts_digest {
	const char	*dn;
	char		 digest[DIGEST_LEN];
};

/* How asking a node's directory ended. */
enum ask {
	ASK_OOM = -1,
	ASK_DIFFERS = 0,
	ASK_SAME = 1,
	ASK_AGAIN,		/* no answer now: may come (down, busy) */
	ASK_NEVER,		/* will not change by waiting: its name does
				 * not resolve, its certificate is refused,
				 * the credentials are */
};

/*
 * Whether dir may hold a file another user could swap before libldap
 * reads it: writable by group or others and not sticky.
 */
static int
dir_unsafe(const char *dir)
{
	struct stat st;

	return stat(dir, &st) == -1 || !S_ISDIR(st.st_mode) ||
	    ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX));
}

/*
 * This node's trusted roots as a PEM file for libldap, in TMPDIR (or
 * /tmp), 0600: they are public certificates, but whoever could replace the
 * file would choose whom the password goes to, so a directory others may
 * write without the sticky bit is refused. NULL with err (empty: out of
 * memory).
 */
static char *
roots_file(STACK_OF(X509) *trusted, struct buf *err)
{
	const char *tmp = getenv("TMPDIR");
	char	*path = NULL;
	FILE	*f = NULL;
	int	 fd, i, ok = 1;

	if (tmp == NULL || *tmp != '/')
		tmp = "/tmp";
	if (trusted == NULL || sk_X509_num(trusted) == 0) {
		buf_puts(err, "no trusted roots (TRUSTED_ROOTS) to verify the "
		    "other nodes' certificates with");
		return NULL;
	}
	if (dir_unsafe(tmp)) {
		buf_printf(err, "%s: not a directory only its owners can change "
		    "(group or others may write, no sticky bit): no file of "
		    "trusted roots there (TMPDIR)", tmp);
		return NULL;
	}
	if (asprintf(&path, "%s/vcrotate-roots.XXXXXX", tmp) == -1)
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
 * have, with the same certificates, and no other of those read_sts keeps.
 * ASK_SAME, or ASK_DIFFERS with *differs saying which entry first.
 */
static enum ask
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
			return asprintf(differs, "%s: only here",
			    want[i].dn) == -1 ? ASK_OOM : ASK_DIFFERS;
		inventory_digest_sts(&es->entries[j], d);
		if (strcmp(d, want[i].digest) != 0)
			return asprintf(differs, "%s: other certificates",
			    want[i].dn) == -1 ? ASK_OOM : ASK_DIFFERS;
	}
	for (j = 0; j < es->n; j++) {
		if (inventory_sts_entry(&es->entries[j], NULL) < 0)
			continue;
		for (i = 0; i < nwant; i++)
			if (strcasecmp(es->entries[j].dn, want[i].dn) == 0)
				break;
		if (i == nwant)
			return asprintf(differs, "%s: only there",
			    es->entries[j].dn) == -1 ? ASK_OOM : ASK_DIFFERS;
	}
	return ASK_SAME;
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
 * Node pnid's own directory, at ldaps://PNID:636, with login's credentials
 * and the CAs in roots: does it hold want? *error says why it could not be
 * asked (ASK_AGAIN, ASK_NEVER), *differs how it differs.
 *
 * The PNID comes from the directory (an account's cn): only a DNS name or
 * an address makes a URI, and the URI must be TLS, so the password never
 * goes out in clear. libldap bounds the connect and each result, not a TLS
 * handshake that a server which accepted the connection never answers: a
 * handshake of our own, within 5 seconds, goes first.
 */
static enum ask
ask_sts(const char *pnid, const struct vmdir_login *login, const char *roots,
    const char *tenant, const struct sts_digest *want, size_t nwant,
    char **error, char **differs)
{
	struct vmdir_login l;
	struct vmdir *vd = NULL;
	struct vmdir_entries es = { NULL, 0 };
	struct buf err = BUF_INIT;
	enum ask ret = ASK_OOM;
	X509	*x = NULL;
	int	 kind = app_name_kind(pnid, 0);

	memset(&l, 0, sizeof(l));
	if (kind == 0 || login->bind_dn == NULL || login->password == NULL) {
		ret = (*error = strdup(kind == 0 ? "its name is not a DNS name "
		    "or an address" : "no credentials to bind with")) == NULL ?
		    ASK_OOM : ASK_NEVER;
		goto out;
	}
	if (asprintf(&l.uri, strchr(pnid, ':') != NULL ? "ldaps://[%s]:%d" :
	    "ldaps://%s:%d", pnid, DOMAIN_LDAPS_PORT) == -1) {
		l.uri = NULL;
		goto out;
	}
	if (vmdir_uri_plain_remote(l.uri, 0) != 0) {
		ret = (*error = strdup("not an LDAPS URI")) == NULL ? ASK_OOM :
		    ASK_NEVER;
		goto out;
	}
	if ((x = services_served_cert_at(pnid, DOMAIN_LDAPS_PORT, pnid,
	    &err)) == NULL) {
		ret = strstr(buf_str(&err), "cannot resolve") != NULL ?
		    ASK_NEVER : ASK_AGAIN;
		if ((*error = strdup(buf_str(&err))) == NULL)
			ret = ASK_OOM;
		goto out;
	}
	if ((l.bind_dn = strdup(login->bind_dn)) == NULL ||
	    (l.password = strdup(login->password)) == NULL ||
	    vmdir_login_tls(&l, 0, roots) == -1)
		goto out;
	if (vmdir_open(&vd, &l, &err) == -1 ||
	    search_sts(vd, tenant, &es, &err) == -1) {
		/* A certificate refused, credentials refused: waiting will
		 * not change them. */
		ret = strstr(buf_str(&err), "TLS") != NULL ||
		    strstr(buf_str(&err), "Invalid credentials") != NULL ?
		    ASK_NEVER : ASK_AGAIN;
		if ((*error = strdup(buf_str(&err))) == NULL)
			ret = ASK_OOM;
	} else
		ret = compare_sts(want, nwant, &es, differs);
out:
	X509_free(x);
	vmdir_entries_free(&es);
	vmdir_close(vd);
	vmdir_login_free(&l);
	buf_free(&err);
	return ret;
}

/* This node's STS entries as inv read them (by their certificates as a
 * set: replication need not keep the order of an attribute's values). */
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

/* Whether node n is this appliance: its PNID, or the account we bind as. */
static int
is_self(const struct inv_node *n, const struct vmdir_login *login)
{
	return n->self || (login != NULL && login->bind_dn != NULL &&
	    strcasecmp(n->dn, login->bind_dn) == 0);
}

/* Whether an endpoint's URI is one a TLS handshake can answer. */
static int
tls_uri(const char *uri)
{
	return strncasecmp(uri, "https://", 8) == 0 ||
	    strncasecmp(uri, "wss://", 6) == 0;
}

/*
 * What endpoint k's host serves on its port: asked once per host and
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
	struct sts_digest *want = NULL;
	struct buf err = BUF_INIT;
	char	*roots = NULL, *tenant = NULL;
	size_t	 i;
	int	 ret = -1, dirs = 0;
	enum ask r;

	/* Nothing of ours to compare a directory with, or no one to ask. */
	for (i = 0; i < inv->nnodes; i++)
		if (!is_self(&inv->nodes[i], login) && inv->nodes[i].dc &&
		    (only == NULL || strcasecmp(only, inv->nodes[i].pnid) == 0))
			dirs = 1;
	if (login == NULL || !inv->vmdir_parts[VMDIR_PART_STS].read)
		dirs = 0;
	if (dirs) {
		if ((tenant = inventory_tenant_dn(inv)) == NULL ||
		    (want = inventory_sts_digests(inv)) == NULL)
			goto out;
		if ((roots = roots_file(inv->trusted, &err)) == NULL &&
		    err.len == 0)
			goto out;
	}
	for (i = 0; dirs && i < inv->nnodes; i++) {
		struct inv_node *n = &inv->nodes[i];

		if (is_self(n, login) || !n->dc ||
		    (only != NULL && strcasecmp(only, n->pnid) != 0))
			continue;
		n->probed = 1;
		if (roots == NULL) {
			/* A problem here, not there: said so. */
			if (asprintf(&n->error, "not asked, for a reason on "
			    "this node: %s", buf_str(&err)) == -1) {
				n->error = NULL;
				goto out;
			}
			continue;
		}
		r = ask_sts(n->pnid, login, roots, tenant, want, inv->nsts,
		    &n->error, &n->sts_differs);
		if (r == ASK_OOM)
			goto out;
		n->sts_same = r == ASK_SAME ? 1 : r == ASK_DIFFERS ? 0 : -1;
	}
	/* Only the TLS endpoints of the domain's nodes: a registration left
	 * by a node that has gone names no one to ask. Legacy (5.5-style)
	 * ones are left alone too: on 7.0 and later nothing serves their
	 * port 7444 any more, and their anchors are their node's own check
	 * (TRUST_ANCHOR_STALE). */
	for (i = 0; i < inv->npeer_endpoints; i++) {
		const struct inv_endpoint *ep = &inv->peer_endpoints[i];
		const struct inv_node *n = inventory_node(inv, ep->host);

		if (ep->legacy || n == NULL || is_self(n, login) ||
		    !tls_uri(ep->uri) ||
		    (only != NULL && strcasecmp(only, ep->host) != 0))
			continue;
		if (probe_endpoint(inv, i) == -1)
			goto out;
	}
	inv->domain_probed = 1;
	ret = 0;
out:
	roots_free(roots);
	free(want);
	free(tenant);
	buf_free(&err);
	return ret;
}

/* Seconds since t0. */
static long
since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (long)(t1.tv_sec - t0->tv_sec);
}

int
domain_wait_sts(const struct inventory *inv, const struct vmdir_login *login,
    struct vmdir *vd, const struct domain_wait *w, struct buf *errout)
{
	struct vmdir_entries now = { NULL, 0 };
	struct sts_digest *want = NULL;
	struct timespec t0, pause = { 1, 0 };
	struct buf late = BUF_INIT, why = BUF_INIT, err = BUF_INIT;
	char	*roots = NULL, *tenant = NULL, *e, *d;
	size_t	 i, others = 0, k;
	long	 said = -1;
	int	 ret = -1, never = 0;
	enum ask r;

	for (i = 0; i < inv->nnodes; i++)
		if (inv->nodes[i].dc && !is_self(&inv->nodes[i], login))
			others++;
	if (others == 0 || w->seconds == 0)
		return 0;
	if ((tenant = inventory_tenant_dn(inv)) == NULL)
		goto oom;
	if (search_sts(vd, tenant, &now, &err) == -1)
		goto out;
	if ((want = calloc(now.n + 1, sizeof(*want))) == NULL)
		goto oom;
	for (i = k = 0; i < now.n; i++) {
		if (inventory_sts_entry(&now.entries[i], NULL) < 0)
			continue;
		want[k].dn = now.entries[i].dn;
		inventory_digest_sts(&now.entries[i], want[k++].digest);
	}
	if ((roots = roots_file(inv->trusted, &err)) == NULL) {
		if (err.len == 0)
			goto oom;
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		buf_reset(&late);
		buf_reset(&why);
		for (i = 0; i < inv->nnodes; i++) {
			const struct inv_node *n = &inv->nodes[i];

			if (!n->dc || is_self(n, login))
				continue;
			if (w->stop != NULL && w->stop(w->arg)) {
				buf_puts(&err, "interrupted");
				goto out;
			}
			e = d = NULL;
			r = ask_sts(n->pnid, login, roots, tenant, want, k, &e,
			    &d);
			if (r == ASK_SAME)
				continue;
			if (r == ASK_NEVER)
				never = 1;
			if (r == ASK_OOM || buf_printf(&late, "%s%s", late.len ?
			    ", " : "", n->pnid) == -1 || buf_printf(&why,
			    "%s%s: %s", why.len ? "; " : "", n->pnid, e != NULL ?
			    e : d != NULL ? d : "?") == -1) {
				free(e);
				free(d);
				goto oom;
			}
			free(e);
			free(d);
			if (since(&t0) >= w->seconds)
				break;
		}
		if (late.len == 0) {
			ret = 0;
			break;
		}
		if (never) {
			buf_printf(&err, "cannot ask %s whether vmdir has "
			    "replicated the new STS credential there, and "
			    "waiting will not change it (%s): apply "
			    "--replication-wait 0 skips the wait",
			    buf_str(&late), buf_str(&why));
			break;
		}
		if (since(&t0) >= w->seconds) {
			buf_printf(&err, "vmdir has not replicated the new STS "
			    "credential to %s within %d s (%s): their services "
			    "would sign with another credential than this "
			    "node's (apply --replication-wait SECONDS waits "
			    "longer, 0 not at all)", buf_str(&late), w->seconds,
			    buf_str(&why));
			break;
		}
		if (w->say != NULL && since(&t0) / 5 != said) {
			char	*msg = NULL;

			said = since(&t0) / 5;
			if (asprintf(&msg, "waiting for vmdir to replicate the "
			    "new STS credential to %s (%ld s of at most %d)",
			    buf_str(&late), since(&t0), w->seconds) == -1)
				goto oom;
			w->say(w->arg, msg);
			free(msg);
		}
		if (w->stop != NULL && w->stop(w->arg)) {
			buf_puts(&err, "interrupted");
			break;
		}
		nanosleep(&pause, NULL);
	}
	goto out;
oom:
	buf_reset(&err);
	buf_puts(&err, "out of memory");
	ret = -1;
out:
	if (ret == -1)
		buf_puts(errout, buf_str(&err));
	roots_free(roots);
	vmdir_entries_free(&now);
	free(want);
	free(tenant);
	buf_free(&late);
	buf_free(&why);
	buf_free(&err);
	return ret;
}
