/*
 * inventory.c - reads every certificate on the appliance. See inventory.h.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "cert.h"
#include "inventory.h"
#include "pool.h"
#include "vcdb.h"
#include "vmdir.h"
#include "vsan.h"
#include "rbd.h"

const char *const solution_users[NSOLUTION_USERS + 1] = {
	"machine", "vsphere-webclient", "vpxd", "vpxd-extension", "hvc", "wcp",
	NULL
};

static const struct {
	const char	*name;
	const char	*title;
} vmdir_parts[VMDIR_NPARTS] = {
	[VMDIR_PART_STS] = { "sts", "STS credentials" },
	[VMDIR_PART_PRINCIPALS] = { "solution_users", "solution users" },
	[VMDIR_PART_ENDPOINTS] = { "endpoints", "Lookup Service endpoints" },
	[VMDIR_PART_CAS] = { "ca_entries", "CA entries" },
	[VMDIR_PART_NODES] = { "nodes", "the domain's nodes" },
};

const char *
vmdir_part_name(enum vmdir_part p)
{
	return vmdir_parts[p].name;
}

const char *
vmdir_part_title(enum vmdir_part p)
{
	return vmdir_parts[p].title;
}

static void
digest_hex(EVP_MD_CTX *ctx, char out[DIGEST_LEN])
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;
	char	*p = out;

	static const char hex[] = "0123456789abcdef";

	EVP_DigestFinal_ex(ctx, d, &n);
	memcpy(p, "sha256:", 7);
	p += 7;
	for (i = 0; i < n && i < 32; i++) {
		*p++ = hex[d[i] >> 4];
		*p++ = hex[d[i] & 0xf];
	}
	*p = '\0';
}

void
inventory_digest_bytes(const void *data, size_t len, char out[DIGEST_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	out[0] = '\0';
	if (ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
	    EVP_DigestUpdate(ctx, data, len))
		digest_hex(ctx, out);
	EVP_MD_CTX_free(ctx);
}

void
inventory_digest_vecs(const char *type_name, const char *pem, size_t len,
    char out[DIGEST_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	out[0] = '\0';
	if (ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
	    EVP_DigestUpdate(ctx, type_name, strlen(type_name) + 1) &&
	    EVP_DigestUpdate(ctx, pem, len))
		digest_hex(ctx, out);
	EVP_MD_CTX_free(ctx);
}

static void
digest_u64(EVP_MD_CTX *ctx, uint64_t v)
{
	unsigned char b[8];
	int	 i;

	for (i = 7; i >= 0; i--, v >>= 8)
		b[i] = (unsigned char)(v & 0xff);
	EVP_DigestUpdate(ctx, b, sizeof(b));
}

void
inventory_digest_entry(const struct vmdir_entry *e, const char *const *attrs,
    char out[DIGEST_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	const struct vmdir_attr *a;
	size_t	 i, j;

	out[0] = '\0';
	if (ctx == NULL || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
		goto out;
	/* Lengths make the encoding unambiguous; values keep their order,
	 * which matters for a certificate chain. */
	for (i = 0; attrs[i] != NULL; i++) {
		a = vmdir_entry_attr(e, attrs[i]);
		EVP_DigestUpdate(ctx, attrs[i], strlen(attrs[i]) + 1);
		digest_u64(ctx, a != NULL ? a->nvalues : 0);
		for (j = 0; a != NULL && j < a->nvalues; j++) {
			digest_u64(ctx, a->values[j].len);
			EVP_DigestUpdate(ctx, a->values[j].data, a->values[j].len);
		}
	}
	digest_hex(ctx, out);
out:
	EVP_MD_CTX_free(ctx);
}

static void
add_error(struct buf *b, const char *msg)
{
	if (b->len > 0)
		buf_puts(b, "; ");
	buf_puts(b, msg);
}

char *
uri_host(const char *uri)
{
	const char *p, *end;

	if ((p = strstr(uri, "://")) == NULL)
		return NULL;
	p += 3;
	if (*p == '[') {		/* [v6 address] */
		if ((end = strchr(p, ']')) == NULL)
			return NULL;
		return strndup(p + 1, (size_t)(end - p - 1));
	}
	end = p + strcspn(p, ":/?#");
	return end > p ? strndup(p, (size_t)(end - p)) : NULL;
}

int
uri_port(const char *uri)
{
	const char *p = strstr(uri, "://"), *q;
	char	*end;
	long	 port;

	if (p == NULL)
		return -1;
	q = p + 3;
	if (*q == '[' && (q = strchr(q, ']')) == NULL)
		return -1;
	q += strcspn(q, ":/?#");
	if (*q != ':')
		return strncasecmp(uri, "https:", 6) == 0 ? 443 : 80;
	errno = 0;
	port = strtol(q + 1, &end, 10);
	if (end == q + 1 || (*end != '\0' && strchr("/?#", *end) == NULL) ||
	    errno != 0 || port < 1 || port > 65535)
		return -1;
	return (int)port;
}

static void
vecs_entry_read_key(struct inv_vecs_entry *e, const char *root)
{
	struct buf key = BUF_INIT, err = BUF_INIT;
	EVP_PKEY *pk = NULL;
	const char *why;

	e->key_match = -1;
	if (e->chain == NULL)
		return;
	if (vecs_getkey(root, e->store, e->alias, &key, &err) == -1) {
		e->key_error = "vecs-cli entry getkey failed";
		e->key_unread = 1;
		goto out;
	}
	if (cert_parse_key((unsigned char *)key.data, key.len, &pk, &why) == -1) {
		e->key_error = "the entry's private key does not parse";
		goto out;
	}
	e->key_match = cert_key_matches(sk_X509_value(e->chain, 0), pk);
out:
	EVP_PKEY_free(pk);
	buf_free_secret(&key);
	buf_free(&err);
}

static void
vecs_entry_free(struct inv_vecs_entry *e)
{
	free(e->store);
	free(e->alias);
	free(e->type_name);
	free(e->pem);
	sk_X509_pop_free(e->chain, X509_free);
}

/* Decodes an entry as its type says (its certificates through cache), and
 * reads its key; its digest too when digest is set: -1 out of memory. */
static int
vecs_entry_parse(struct inv_vecs_entry *e, const char *root, const char *store,
    struct cert_cache *cache, int digest)
{
	const char *why;

	if ((e->store = strdup(store)) == NULL)
		return -1;
	if (digest)
		inventory_digest_vecs(e->type_name, e->pem, e->pem_len,
		    e->digest);
	switch (e->type) {
	case VECS_PRIVATE_KEY:
	case VECS_TRUSTED_CERT:
	case VECS_ENCRYPTED_PRIVATE_KEY:
		if (cert_cache_pem_chain(cache, e->pem, e->pem_len, &e->chain,
		    &why) == -1) {
			e->bad = why;
			break;
		}
		if (e->type == VECS_PRIVATE_KEY)
			vecs_entry_read_key(e, root);
		break;
	case VECS_CRL:
		if (!cert_is_pem_crl(e->pem, e->pem_len))
			e->bad = "not a PEM CRL";
		break;
	case VECS_SECRET_KEY:
		break;
	case VECS_UNKNOWN_TYPE:
		e->bad = "unknown entry type";
		break;
	}
	return 0;
}

/*
 * The read of the appliance while it runs on a pool (pool.h): VECS is
 * listed store by store, each listing's entries decoded in slices of
 * SLICE, every task writing only its own store's or slice's place; the
 * stores are put together in vecs-cli's order once all have finished.
 */
#define SLICE 128

struct inv_read;

struct slice {
	struct inv_read	*r;
	void		*of;		/* its store_read, or NULL: CA entries */
	size_t		 from, to;
};

struct store_read {
	struct inv_read	*r;
	const char	*store;
	struct inv_vecs_entry *e;
	size_t		 n;
	int		 listed;	/* 0: err says why not */
	struct buf	 err;
	struct slice	*slices;
};

struct inv_read {
	struct inventory *inv;
	const char	*root;
	struct pool	*pool;
	struct pool_group vecs;		/* the VECS tasks */
	struct pool_group cas;		/* the CA entries' slices */
	struct store_read *stores;	/* one per inv->stores */
	struct buf	 stores_err;	/* vecs-cli store list failed */
	const struct vmdir_entries *ca_es;
	struct cert_cache *cache;	/* every certificate decoded once */
	int		 digests;	/* the items' digests (not INV_NO_DIGESTS) */
	atomic_int	 oom;
};

static void
vecs_slice(void *arg)
{
	struct slice *sl = arg;
	struct store_read *sr = sl->of;
	size_t	 i;

	for (i = sl->from; i < sl->to; i++)
		if (vecs_entry_parse(&sr->e[i], sl->r->root, sr->store,
		    sl->r->cache, sl->r->digests) == -1)
			atomic_store(&sl->r->oom, 1);
}

/* Lists one store, takes its entries over and hands out their slices. */
static void
list_store(void *arg)
{
	struct store_read *sr = arg;
	struct vecs_list l;
	size_t	 i, ns;

	if (vecs_list(sr->r->root, sr->store, &l, &sr->err) == -1)
		return;
	sr->listed = 1;
	ns = (l.n + SLICE - 1) / SLICE;
	if (l.n > 0 && ((sr->e = calloc(l.n, sizeof(*sr->e))) == NULL ||
	    (sr->slices = calloc(ns, sizeof(*sr->slices))) == NULL)) {
		atomic_store(&sr->r->oom, 1);
		vecs_list_free(&l);
		return;
	}
	for (i = 0; i < l.n; i++) {
		struct inv_vecs_entry *e = &sr->e[i];

		e->key_match = -1;
		e->alias = l.items[i].alias;
		e->type = l.items[i].type;
		e->type_name = l.items[i].type_name;
		e->pem = l.items[i].pem;
		e->pem_len = l.items[i].pem_len;
		l.items[i].alias = l.items[i].type_name = l.items[i].pem = NULL;
	}
	sr->n = l.n;
	vecs_list_free(&l);
	for (i = 0; i < ns; i++) {
		sr->slices[i].r = sr->r;
		sr->slices[i].of = sr;
		sr->slices[i].from = i * SLICE;
		sr->slices[i].to = i + 1 < ns ? (i + 1) * SLICE : sr->n;
		pool_add(sr->r->pool, &sr->r->vecs, vecs_slice,
		    &sr->slices[i]);
	}
}

static void
list_stores(void *arg)
{
	struct inv_read *r = arg;
	struct inventory *inv = r->inv;
	size_t	 i;

	if (vecs_stores(r->root, &inv->stores, &inv->nstores,
	    &r->stores_err) == -1)
		return;
	if (inv->nstores > 0 &&
	    (r->stores = calloc(inv->nstores, sizeof(*r->stores))) == NULL) {
		atomic_store(&r->oom, 1);
		return;
	}
	for (i = 0; i < inv->nstores; i++) {
		r->stores[i].r = r;
		r->stores[i].store = inv->stores[i];
	}
	/* Ahead of any parsing, in vecs-cli's order. On the spot (no
	 * pool), in that order too. */
	for (i = 0; i < inv->nstores; i++) {
		size_t	 k = r->pool != NULL ? inv->nstores - 1 - i : i;

		pool_push(r->pool, &r->vecs, list_store, &r->stores[k]);
	}
}

/* Moves one store's entries to the inventory, in their order. */
static int
add_store(struct inventory *inv, struct store_read *sr)
{
	struct inv_vecs_entry *nv;
	size_t	 i;
	int	 is_roots = strcmp(sr->store, "TRUSTED_ROOTS") == 0;

	if (!sr->listed) {
		add_error(&inv->vecs_error, buf_str(&sr->err));
		return 0;
	}
	if (is_roots)
		inv->trusted_read = 1;
	if (sr->n == 0)
		return 0;
	if ((nv = reallocarray(inv->vecs, inv->nvecs + sr->n,
	    sizeof(*nv))) == NULL)
		return -1;
	inv->vecs = nv;
	for (i = 0; i < sr->n; i++) {
		struct inv_vecs_entry *e = &inv->vecs[inv->nvecs++];

		*e = sr->e[i];
		memset(&sr->e[i], 0, sizeof(sr->e[i]));
		if (is_roots && e->chain != NULL) {
			X509	*x = sk_X509_value(e->chain, 0);

			if (X509_up_ref(x) != 1 ||
			    !sk_X509_push(inv->trusted, x))
				return -1;
		}
	}
	return 0;
}

/* After every VECS task: the stores into the inventory, and the read's
 * own memory freed. -1 out of memory. */
static int
finish_vecs(struct inv_read *r)
{
	struct inventory *inv = r->inv;
	size_t	 i, j;
	int	 ret = atomic_load(&r->oom) ? -1 : 0;

	if (r->stores_err.len > 0)
		add_error(&inv->vecs_error, buf_str(&r->stores_err));
	for (i = 0; r->stores != NULL && i < inv->nstores; i++) {
		struct store_read *sr = &r->stores[i];

		if (ret == 0 && add_store(inv, sr) == -1)
			ret = -1;
		for (j = 0; j < sr->n; j++)
			vecs_entry_free(&sr->e[j]);
		free(sr->e);
		free(sr->slices);
		buf_free(&sr->err);
	}
	free(r->stores);
	r->stores = NULL;
	buf_free(&r->stores_err);
	return ret;
}

/* Decodes one line of base64 (vmwLKUPEndpointSslTrust) into DER. */
static unsigned char *
b64_decode(const unsigned char *in, size_t inlen, size_t *outlen)
{
	EVP_ENCODE_CTX *ctx = NULL;
	unsigned char *out = NULL;
	int	 n = 0, m = 0;

	if (inlen > (size_t)1 << 30 || (ctx = EVP_ENCODE_CTX_new()) == NULL)
		return NULL;
	if ((out = malloc(inlen / 4 * 3 + 3)) == NULL)
		goto fail;
	EVP_DecodeInit(ctx);
	if (EVP_DecodeUpdate(ctx, out, &n, in, (int)inlen) < 0 ||
	    EVP_DecodeFinal(ctx, out + n, &m) != 1)
		goto fail;
	EVP_ENCODE_CTX_free(ctx);
	*outlen = (size_t)(n + m);
	return out;
fail:
	EVP_ENCODE_CTX_free(ctx);
	free(out);
	return NULL;
}

/* N of "TenantCredential-N": -1 when the name is not of that form. */
static int
index_of(const char *cn, const char *prefix)
{
	size_t	 n = strlen(prefix);
	char	*end;
	long	 v;

	if (strncasecmp(cn, prefix, n) != 0 || cn[n] < '0' || cn[n] > '9')
		return -1;
	v = strtol(cn + n, &end, 10);
	if (*end != '\0' || v < 0 || v > 1000000)
		return -1;
	return (int)v;
}

static const char *
first_str(const struct vmdir_entry *e, const char *attr)
{
	const struct vmdir_attr *a = vmdir_entry_attr(e, attr);

	return a != NULL && a->nvalues > 0 ? (const char *)a->values[0].data :
	    NULL;
}

/*
 * The certificate in the first value of attr (one DER), or NULL with the
 * reason in *bad: `missing' when there is no value.
 */
static X509 *
first_der(struct inv_read *r, const struct vmdir_entry *e, const char *attr,
    const char *missing, const char **bad)
{
	const struct vmdir_attr *a = vmdir_entry_attr(e, attr);
	X509	*x = NULL;

	if (a == NULL || a->nvalues == 0)
		*bad = missing;
	else
		cert_cache_der(r->cache, a->values[0].data, a->values[0].len,
		    &x, bad);
	return x;
}

/*
 * Searches under `rdns,<domain DN>'. A failed search leaves es empty and the
 * reason in err; -1 only when out of memory.
 */
static int
search_under(const struct inventory *inv, struct vmdir *vd, const char *rdns,
    enum vmdir_scope scope, const char *filter, const char *const *attrs,
    struct vmdir_entries *es, struct buf *err)
{
	char	*base = NULL;

	memset(es, 0, sizeof(*es));
	if (asprintf(&base, "%s,%s", rdns, inv->app.domain_dn) == -1)
		return -1;
	(void)vmdir_search(vd, base, scope, filter, attrs, es, err);
	free(base);
	return 0;
}

static int
sts_cmp(const void *a, const void *b)
{
	const struct inv_sts *x = a, *y = b;

	if (x->is_credential != y->is_credential)
		return y->is_credential - x->is_credential;
	return (x->n > y->n) - (x->n < y->n);
}

/* The attributes whose values a digest covers, per kind of entry. */
static const char *const sts_digested[] = { "userCertificate", NULL };

static int
value_digest_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

enum ep_state
inventory_endpoint_state(const struct inv_endpoint *ep)
{
	if (ep->served == NULL && ep->served_error == NULL)
		return EP_NOT_ASKED;
	if (ep->trust == NULL)
		return EP_UNPARSEABLE;
	if (ep->served_error != NULL)
		return EP_UNREACHABLE;
	return cert_equal(ep->trust, ep->served) ? EP_TRUSTED : EP_STALE;
}

int
inventory_sts_entry(const struct vmdir_entry *e, int *is_credential)
{
	const char *cn = first_str(e, "cn");
	int	 n;

	if (cn == NULL)
		return -1;
	if ((n = index_of(cn, "TenantCredential-")) >= 0) {
		if (is_credential != NULL)
			*is_credential = 1;
		return n;
	}
	if (is_credential != NULL)
		*is_credential = 0;
	return index_of(cn, "TrustedCertChain-");
}

void
inventory_digest_sts(const struct vmdir_entry *e, char out[DIGEST_LEN])
{
	const struct vmdir_attr *a = vmdir_entry_attr(e, "userCertificate");
	unsigned char *d = NULL;
	EVP_MD_CTX *ctx = NULL;
	size_t	 i, n = a != NULL ? a->nvalues : 0;

	out[0] = '\0';
	if ((d = calloc(n + 1, 32)) == NULL || (ctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	for (i = 0; i < n; i++)
		if (!EVP_Digest(a->values[i].data, a->values[i].len, d + 32 * i,
		    NULL, EVP_sha256(), NULL))
			goto out;
	qsort(d, n, 32, value_digest_cmp);
	if (!EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
		goto out;
	digest_u64(ctx, n);
	EVP_DigestUpdate(ctx, d, 32 * n);
	digest_hex(ctx, out);
out:
	EVP_MD_CTX_free(ctx);
	free(d);
}
static const char *const principal_digested[] = { "userCertificate",
    "vmwSTSSubjectDN", NULL };
static const char *const endpoint_digested[] = { "vmwLKUPURI",
    "vmwLKUPEndpointSslTrust", "vmwLKUPSslTrustAnchor", NULL };
static const char *const ca_digested[] = { "cACertificate",
    "certificateRevocationList", NULL };

static int
read_sts(struct inv_read *r, struct vmdir *vd, struct buf *err)
{
	struct inventory *inv = r->inv;
	const char *attrs[] = { "cn", "userCertificate", "vmwSTSPrivateKey",
	    "objectClass", NULL };
	struct vmdir_entries es = { NULL, 0 };
	char	*tenant = NULL;
	size_t	 i, j;
	int	 ret = -1;

	if ((tenant = inventory_tenant_dn(inv)) == NULL)
		return -1;
	(void)vmdir_search(vd, tenant, VMDIR_SUB,
	    "(|(objectClass=vmwSTSTenantCredential)"
	    "(objectClass=vmwSTSTenantTrustedCertificateChain))",
	    attrs, &es, err);
	if (es.n > 0 && (inv->sts = calloc(es.n, sizeof(*inv->sts))) == NULL)
		goto out;
	for (i = 0; i < es.n; i++) {
		const struct vmdir_entry *e = &es.entries[i];
		const struct vmdir_attr *certs, *key;
		struct inv_sts *s = &inv->sts[inv->nsts];
		EVP_PKEY *pk = NULL;
		const char *why;
		int	 n;

		if ((n = inventory_sts_entry(e, &s->is_credential)) < 0)
			continue;
		inv->nsts++;
		s->n = n;
		if (r->digests)
			inventory_digest_entry(e, sts_digested, s->digest);
		inventory_digest_sts(e, s->set_digest);
		if ((s->dn = strdup(e->dn)) == NULL ||
		    (s->certs = sk_X509_new_null()) == NULL)
			goto out;
		certs = vmdir_entry_attr(e, "userCertificate");
		for (j = 0; certs != NULL && j < certs->nvalues; j++) {
			X509	*x = NULL;

			if (cert_cache_der(r->cache, certs->values[j].data,
			    certs->values[j].len, &x, &why) == -1) {
				s->bad_values++;
				continue;
			}
			if (!sk_X509_push(s->certs, x)) {
				X509_free(x);
				goto out;
			}
		}
		if (!s->is_credential)
			continue;
		key = vmdir_entry_attr(e, "vmwSTSPrivateKey");
		if (key == NULL || key->nvalues == 0 ||
		    cert_parse_key(key->values[0].data, key->values[0].len,
		    &pk, &why) == -1)
			continue;
		s->has_key = 1;
		/* The leaf is the value whose public key is the private key's:
		 * writers put it first, but position is not to be trusted. */
		for (j = 0; j < (size_t)sk_X509_num(s->certs); j++)
			if (cert_key_matches(sk_X509_value(s->certs, (int)j),
			    pk)) {
				s->leaf = sk_X509_value(s->certs, (int)j);
				break;
			}
		EVP_PKEY_free(pk);
	}
	qsort(inv->sts, inv->nsts, sizeof(*inv->sts), sts_cmp);
	ret = 0;
out:
	vmdir_entries_free(&es);
	free(tenant);
	return ret;
}

static int
read_principals(struct inv_read *r, struct vmdir *vd, struct buf *err)
{
	struct inventory *inv = r->inv;
	const char *attrs[] = { "cn", "userCertificate", "vmwSTSSubjectDN",
	    NULL };
	struct vmdir_entries es = { NULL, 0 };
	char	*want = NULL;
	size_t	 i, k, nsol = 0;
	int	 ret = -1;

	if (search_under(inv, vd, VMDIR_RDN_PRINCIPALS, VMDIR_ONE,
	    "(objectClass=*)", attrs, &es, err) == -1)
		return -1;
	while (solution_users[nsol] != NULL)
		nsol++;
	if ((inv->principals = calloc(nsol, sizeof(*inv->principals))) == NULL)
		goto out;
	for (k = 0; k < nsol; k++) {
		free(want);
		if (asprintf(&want, "%s-%s", solution_users[k],
		    inv->app.machine_id) == -1) {
			want = NULL;
			goto out;
		}
		for (i = 0; i < es.n; i++) {
			const struct vmdir_entry *e = &es.entries[i];
			const char *cn = first_str(e, "cn"), *sdn;
			struct inv_principal *p;

			if (cn == NULL || strcasecmp(cn, want) != 0)
				continue;
			p = &inv->principals[inv->nprincipals++];
			if ((p->solution = strdup(solution_users[k])) == NULL ||
			    (p->dn = strdup(e->dn)) == NULL)
				goto out;
			if ((sdn = first_str(e, "vmwSTSSubjectDN")) != NULL &&
			    (p->subject_dn = strdup(sdn)) == NULL)
				goto out;
			p->cert = first_der(r, e, "userCertificate",
			    "no userCertificate", &p->bad);
			if (r->digests)
				inventory_digest_entry(e, principal_digested,
				    p->digest);
			break;
		}
	}
	ret = 0;
out:
	free(want);
	vmdir_entries_free(&es);
	return ret;
}

/* Whether e has objectClass cls. */
static int
has_class(const struct vmdir_entry *e, const char *cls)
{
	const struct vmdir_attr *a = vmdir_entry_attr(e, "objectClass");
	size_t	 i;

	for (i = 0; a != NULL && i < a->nvalues; i++)
		if (strcasecmp((const char *)a->values[i].data, cls) == 0)
			return 1;
	return 0;
}

static int
read_endpoints(struct inv_read *r, struct vmdir *vd, struct buf *err)
{
	struct inventory *inv = r->inv;
	const char *attrs[] = { "objectClass", "vmwLKUPURI",
	    "vmwLKUPEndpointSslTrust", "vmwLKUPSslTrustAnchor", NULL };
	struct vmdir_entries es = { NULL, 0 };
	size_t	 i;
	int	 ret = -1;

	if (search_under(inv, vd, VMDIR_RDN_SITES, VMDIR_SUB,
	    VMDIR_ENDPOINT_FILTER, attrs, &es, err) == -1)
		return -1;
	if (es.n > 0 &&
	    ((inv->endpoints = calloc(es.n, sizeof(*inv->endpoints))) == NULL ||
	    (inv->peer_endpoints = calloc(es.n,
	    sizeof(*inv->peer_endpoints))) == NULL))
		goto out;
	for (i = 0; i < es.n; i++) {
		const struct vmdir_entry *e = &es.entries[i];
		const struct vmdir_attr *t;
		const char *uri = first_str(e, "vmwLKUPURI"), *why;
		struct inv_endpoint *ep;
		char	*host;
		unsigned char *der = NULL;
		size_t	 derlen = 0;
		int	 mine;

		if (uri == NULL || (host = uri_host(uri)) == NULL)
			continue;
		mine = strcasecmp(host, inv->app.pnid) == 0;
		if (mine) {
			free(host);
			ep = &inv->endpoints[inv->nendpoints++];
		} else {
			ep = &inv->peer_endpoints[inv->npeer_endpoints++];
			ep->host = host;
		}
		if ((ep->dn = strdup(e->dn)) == NULL ||
		    (ep->uri = strdup(uri)) == NULL)
			goto out;
		if (r->digests)
			inventory_digest_entry(e, endpoint_digested,
			    ep->digest);
		if (!has_class(e, VMDIR_LEGACY_ENDPOINT_CLASS) &&
		    (t = vmdir_entry_attr(e, "vmwLKUPEndpointSslTrust")) != NULL &&
		    t->nvalues > 0) {
			der = b64_decode(t->values[0].data, t->values[0].len,
			    &derlen);
			if (der == NULL)
				ep->bad = "vmwLKUPEndpointSslTrust is not base64";
			else if (cert_cache_der(r->cache, der, derlen, &ep->trust,
			    &why) == -1)
				ep->bad = why;
			free(der);
		} else {
			/* Legacy (5.5-style) endpoints: binary DER. */
			ep->legacy = has_class(e, VMDIR_LEGACY_ENDPOINT_CLASS) ||
			    vmdir_entry_attr(e, "vmwLKUPSslTrustAnchor") != NULL;
			ep->trust = first_der(r, e, "vmwLKUPSslTrustAnchor",
			    "no SSL trust", &ep->bad);
		}
	}
	ret = 0;
out:
	vmdir_entries_free(&es);
	return ret;
}

static int
node_cmp(const void *a, const void *b)
{
	const struct inv_node *x = a, *y = b;

	return strcasecmp(x->dn, y->dn);
}

/*
 * The domain's nodes: the domain controllers' accounts (one level below
 * ou=Domain Controllers) and the management nodes' (ou=Computers), as
 * vmdir's join writes them (docs/domain.md).
 */
static int
read_nodes(struct inv_read *r, struct vmdir *vd, struct buf *err)
{
	static const char *const ous[] = { VMDIR_RDN_DCS, VMDIR_RDN_COMPUTERS };
	struct inventory *inv = r->inv;
	const char *attrs[] = { "cn", NULL };
	struct vmdir_entries es[2] = { { NULL, 0 }, { NULL, 0 } };
	size_t	 i, k;
	int	 ret = -1;

	for (k = 0; k < 2; k++)
		if (search_under(inv, vd, ous[k], VMDIR_ONE,
		    "(objectClass=computer)", attrs, &es[k], err) == -1)
			goto out;
	if (es[0].n + es[1].n > 0 && (inv->nodes = calloc(es[0].n + es[1].n,
	    sizeof(*inv->nodes))) == NULL)
		goto out;
	for (k = 0; k < 2; k++)
		for (i = 0; i < es[k].n; i++) {
			const char *cn = first_str(&es[k].entries[i], "cn");
			struct inv_node *n;

			if (cn == NULL)
				continue;
			n = &inv->nodes[inv->nnodes++];
			n->dc = k == 0;
			n->sts_same = -1;
			n->self = inv->app.pnid != NULL &&
			    strcasecmp(cn, inv->app.pnid) == 0;
			if ((n->pnid = strdup(cn)) == NULL ||
			    (n->dn = strdup(es[k].entries[i].dn)) == NULL)
				goto out;
		}
	if (inv->nnodes > 1)
		qsort(inv->nodes, inv->nnodes, sizeof(*inv->nodes), node_cmp);
	ret = 0;
out:
	vmdir_entries_free(&es[0]);
	vmdir_entries_free(&es[1]);
	return ret;
}

const struct inv_node *
inventory_node(const struct inventory *inv, const char *pnid)
{
	size_t	 i;

	for (i = 0; i < inv->nnodes; i++)
		if (strcasecmp(inv->nodes[i].pnid, pnid) == 0)
			return &inv->nodes[i];
	return NULL;
}

static void
strv_free(char **v)
{
	char	**p;

	for (p = v; p != NULL && *p != NULL; p++)
		free(*p);
	free(v);
}

/* The objectClass values of e, NULL-terminated (malloc'd), or NULL. */
static char **
classes_of(const struct vmdir_entry *e)
{
	const struct vmdir_attr *a = vmdir_entry_attr(e, "objectClass");
	char	**v;
	size_t	 i, n = a != NULL ? a->nvalues : 0;

	if ((v = calloc(n + 1, sizeof(*v))) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if ((v[i] = strndup((const char *)a->values[i].data,
		    a->values[i].len)) == NULL) {
			strv_free(v);
			return NULL;
		}
	return v;
}

/* Decodes the certificates of CA entries from to to (the search's
 * entries are r->ca_es, in the order of inv->cas). */
static void
ca_slice(void *arg)
{
	struct slice *sl = arg;
	size_t	 i;

	for (i = sl->from; i < sl->to; i++) {
		struct inv_ca *c = &sl->r->inv->cas[i];
		const struct vmdir_attr *ca;

		if (c->bad != NULL)
			continue;	/* no cACertificate */
		ca = vmdir_entry_attr(&sl->r->ca_es->entries[i],
		    "cACertificate");
		(void)cert_cache_value(sl->r->cache, ca->values[0].data,
		    ca->values[0].len,
		    &c->cert, &c->bad);
	}
}

/* The CA entries' certificates decoded in slices on the pool. */
static void
parse_cas(struct inv_read *r, const struct vmdir_entries *es)
{
	struct slice *sl, whole = { r, NULL, 0, r->inv->ncas };
	size_t	 i, ns = (r->inv->ncas + SLICE - 1) / SLICE;

	r->ca_es = es;
	if (ns == 0)
		return;
	if ((sl = calloc(ns, sizeof(*sl))) == NULL) {
		ca_slice(&whole);
		return;
	}
	for (i = 0; i < ns; i++) {
		sl[i].r = r;
		sl[i].from = i * SLICE;
		sl[i].to = i + 1 < ns ? (i + 1) * SLICE : r->inv->ncas;
		pool_add(r->pool, &r->cas, ca_slice, &sl[i]);
	}
	pool_wait(r->pool, &r->cas);
	free(sl);
}

static int
read_cas(struct inv_read *r, struct vmdir *vd, struct buf *err)
{
	struct inventory *inv = r->inv;
	/* The CRLs only for the digest: without it (check) the thousands
	 * of a bloated directory are neither sent, decoded nor copied. */
	const char *attrs[] = { "cn", "objectClass", "cACertificate",
	    "cACertificateDN", r->digests ? "certificateRevocationList" :
	    NULL, NULL };
	struct vmdir_entries es = { NULL, 0 };
	size_t	 i;
	int	 ret = -1;

	if (search_under(inv, vd, VMDIR_RDN_CAS, VMDIR_ONE, "(objectClass=*)", attrs, &es, err) == -1)
		return -1;
	if (es.n > 0 && (inv->cas = calloc(es.n, sizeof(*inv->cas))) == NULL)
		goto out;
	for (i = 0; i < es.n; i++) {
		const struct vmdir_entry *e = &es.entries[i];
		const struct vmdir_attr *ca;
		struct inv_ca *c = &inv->cas[inv->ncas++];
		const char *cn = first_str(e, "cn"), *p;

		if ((c->dn = strdup(e->dn)) == NULL ||
		    (c->classes = classes_of(e)) == NULL)
			goto out;
		if (r->digests)
			inventory_digest_entry(e, ca_digested, c->digest);
		c->subject_dn = vmdir_entry_attr(e, "cACertificateDN") != NULL;
		c->upper = 1;
		for (p = cn; p != NULL && *p != '\0'; p++)
			if (*p >= 'a' && *p <= 'f')
				c->upper = 0;
		if ((ca = vmdir_entry_attr(e, "cACertificate")) == NULL ||
		    ca->nvalues == 0) {
			c->bad = "no cACertificate";
			continue;
		}
		c->pem = cert_value_is_pem(ca->values[0].data,
		    ca->values[0].len);
		c->pem_newline = c->pem &&
		    ca->values[0].data[ca->values[0].len - 1] == '\n';
	}
	parse_cas(r, &es);
	ret = 0;
out:
	vmdir_entries_free(&es);
	return ret;
}

/* Every part unread, for the one reason that none could be read. */
static void
vmdir_unread(struct inventory *inv, const char *why)
{
	int	 i;

	add_error(&inv->vmdir_error, why);
	for (i = 0; i < VMDIR_NPARTS; i++)
		add_error(&inv->vmdir_parts[i].error, why);
}

static int
read_vmdir(struct inv_read *r, const struct vmdir_login *login,
    const char *login_error)
{
	static int (*const readers[VMDIR_NPARTS])(struct inv_read *,
	    struct vmdir *, struct buf *) = {
		[VMDIR_PART_STS] = read_sts,
		[VMDIR_PART_PRINCIPALS] = read_principals,
		[VMDIR_PART_ENDPOINTS] = read_endpoints,
		[VMDIR_PART_CAS] = read_cas,
		[VMDIR_PART_NODES] = read_nodes,
	};
	struct inventory *inv = r->inv;
	struct vmdir *vd = NULL;
	struct buf err = BUF_INIT;
	int	 i, ret = -1;

	if (login == NULL) {
		vmdir_unread(inv, login_error != NULL ? login_error :
		    "no credentials for vmdir");
		return 0;
	}
	if (inv->app.domain_dn == NULL || inv->app.pnid == NULL ||
	    inv->app.machine_id == NULL) {
		vmdir_unread(inv,
		    "vmdir not read: the appliance identity is unknown");
		return 0;
	}
	if (vmdir_open(&vd, login, &err) == -1) {
		vmdir_unread(inv, buf_str(&err));
		ret = 0;
		goto out;
	}
	/* One failed search (an ACL, a referral, a server limit) costs its
	 * own part: the others are still read, and evaluated. */
	for (i = 0; i < VMDIR_NPARTS; i++) {
		struct inv_part *p = &inv->vmdir_parts[i];

		if (readers[i](r, vd, &p->error) == -1)
			goto out;
		if (p->error.len > 0)
			add_error(&inv->vmdir_error, buf_str(&p->error));
		else
			p->read = 1;
	}
	inv->vmdir_read = inv->vmdir_error.len == 0;
	ret = 0;
out:
	buf_free(&err);
	vmdir_close(vd);
	return ret;
}

static void
read_vmca(void *arg)
{
	struct inv_read *r = arg;
	struct inventory *inv = r->inv;
	char	*path = NULL, *buf = NULL;
	const char *why;
	EVP_PKEY *pk = NULL;
	FILE	*f;
	size_t	 len = 0;

	inv->vmca_key_match = -1;
	if ((path = app_path(r->root, APP_VMCA_ROOT)) == NULL)
		return;
	if ((f = fopen(path, "re")) == NULL) {
		/* A management node has no VMCA: its PSC's issues for it. */
		if (errno != ENOENT || !app_is_management(&inv->app))
			buf_printf(&inv->vmca_error, "%s: %s", path,
			    strerror(errno));
		goto out;
	}
	if (getdelim(&buf, &len, '\0', f) < 0) {
		buf_printf(&inv->vmca_error, "%s: cannot read", path);
		fclose(f);
		goto out;
	}
	fclose(f);
	inventory_digest_bytes(buf, strlen(buf), inv->vmca_digest);
	if (cert_cache_pem_chain(r->cache, buf, strlen(buf), &inv->vmca_root,
	    &why) == -1) {
		buf_printf(&inv->vmca_error, "%s: %s", path, why);
		goto out;
	}
	free(path);
	free(buf);
	buf = NULL;
	if ((path = app_path(r->root, APP_VMCA_KEY)) == NULL)
		goto out;
	if ((f = fopen(path, "re")) == NULL) {
		buf_printf(&inv->vmca_error, "%s: %s", path, strerror(errno));
		goto out;
	}
	len = 0;
	if (getdelim(&buf, &len, '\0', f) < 0 ||
	    cert_parse_key((unsigned char *)buf, strlen(buf), &pk, &why) == -1)
		buf_printf(&inv->vmca_error, "%s: not a private key", path);
	else
		inv->vmca_key_match = cert_key_matches(
		    sk_X509_value(inv->vmca_root, 0), pk);
	fclose(f);
out:
	EVP_PKEY_free(pk);
	if (buf != NULL)
		free_secret(buf);
	free(path);
}

/* VCDB's vpx_ext rows, through the appliance's psql (vcdb.h). */
static void
read_vcdb(void *arg)
{
	struct inv_read *r = arg;
	struct inventory *inv = r->inv;

	inv->vcdb_present = vcdb_read(r->root, &inv->vcdb, &inv->nvcdb,
	    &inv->vcdb_error) != 1;
}

/* Auto Deploy's vc_servers rows, through the appliance's sqlite3. */
static void
read_rbd(void *arg)
{
	struct inv_read *r = arg;
	struct inventory *inv = r->inv;

	inv->rbd_present = rbd_read(r->root, &inv->rbd, &inv->nrbd,
	    &inv->rbd_error) != 1;
}

/* vsan-health's copy of vpxd-extension (vsan.h). */
static void
read_vsan(void *arg)
{
	struct inv_read *r = arg;

	vsan_read(r->inv, r->root);
}

int
inventory_read(struct inventory *inv, const char *root,
    const struct vmdir_login *login, const char *login_error, unsigned flags)
{
	struct inv_read r;
	struct app_ident id;
	struct pool_group ident = { 0 };
	int	 ret = 0;

	memset(inv, 0, sizeof(*inv));
	memset(&r, 0, sizeof(r));
	r.inv = inv;
	r.root = root;
	r.digests = !(flags & INV_NO_DIGESTS);
	atomic_init(&r.oom, 0);
	if ((inv->trusted = sk_X509_new_null()) == NULL)
		return -1;
	/* NULL (out of memory) decodes every certificate, just more slowly. */
	r.cache = cert_cache_new();
	/* The identity tools and the VECS listings run at once; vmdir waits
	 * for the identity (its searches need the domain and the machine
	 * id), its CA entries decoded on the pool too. */
	r.pool = pool_start(pool_size());
	appliance_identify_start(&id, root, r.pool, &ident);
	pool_add(r.pool, &r.vecs, list_stores, &r);
	pool_wait(r.pool, &ident);
	if ((appliance_identify_finish(&id, &inv->app, root,
	    &inv->identity_error) == -1 && inv->app.root == NULL) ||
	    read_vmdir(&r, login, login_error) == -1)
		ret = -1;
	pool_add(r.pool, &r.vecs, read_vmca, &r);
	pool_add(r.pool, &r.vecs, read_vcdb, &r);
	pool_add(r.pool, &r.vecs, read_vsan, &r);
	pool_add(r.pool, &r.vecs, read_rbd, &r);
	pool_wait(r.pool, &r.vecs);
	pool_stop(r.pool);
	cert_cache_free(r.cache);
	if (finish_vecs(&r) == -1)
		ret = -1;
	if (ret == -1)
		/* Out of memory: nothing half-read is handed back. */
		inventory_free(inv);
	return ret;
}

void
inventory_free(struct inventory *inv)
{
	size_t	 i;

	for (i = 0; i < inv->nvecs; i++)
		vecs_entry_free(&inv->vecs[i]);
	free(inv->vecs);
	vecs_names_free(inv->stores, inv->nstores);
	for (i = 0; i < inv->nsts; i++) {
		free(inv->sts[i].dn);
		sk_X509_pop_free(inv->sts[i].certs, X509_free);
	}
	free(inv->sts);
	for (i = 0; i < inv->nprincipals; i++) {
		free(inv->principals[i].solution);
		free(inv->principals[i].dn);
		free(inv->principals[i].subject_dn);
		X509_free(inv->principals[i].cert);
	}
	free(inv->principals);
	for (i = 0; i < inv->nendpoints; i++) {
		free(inv->endpoints[i].dn);
		free(inv->endpoints[i].uri);
		X509_free(inv->endpoints[i].trust);
	}
	free(inv->endpoints);
	for (i = 0; i < inv->npeer_endpoints; i++) {
		free(inv->peer_endpoints[i].dn);
		free(inv->peer_endpoints[i].uri);
		free(inv->peer_endpoints[i].host);
		X509_free(inv->peer_endpoints[i].trust);
		X509_free(inv->peer_endpoints[i].served);
		free(inv->peer_endpoints[i].served_error);
	}
	free(inv->peer_endpoints);
	for (i = 0; i < inv->nnodes; i++) {
		free(inv->nodes[i].pnid);
		free(inv->nodes[i].dn);
		free(inv->nodes[i].error);
		free(inv->nodes[i].sts_differs);
	}
	free(inv->nodes);
	for (i = 0; i < inv->ncas; i++) {
		free(inv->cas[i].dn);
		X509_free(inv->cas[i].cert);
		strv_free(inv->cas[i].classes);
	}
	free(inv->cas);
	sk_X509_pop_free(inv->vmca_root, X509_free);
	sk_X509_pop_free(inv->trusted, X509_free);
	buf_free(&inv->identity_error);
	buf_free(&inv->vecs_error);
	buf_free(&inv->vmdir_error);
	for (i = 0; i < VMDIR_NPARTS; i++)
		buf_free(&inv->vmdir_parts[i].error);
	buf_free(&inv->vmca_error);
	vcdb_rows_free(inv->vcdb, inv->nvcdb);
	buf_free(&inv->vcdb_error);
	X509_free(inv->vsan_cert);
	buf_free(&inv->vsan_error);
	rbd_rows_free(inv->rbd, inv->nrbd);
	buf_free(&inv->rbd_error);
	appliance_free(&inv->app);
	memset(inv, 0, sizeof(*inv));
}

char *
inventory_tenant_dn(const struct inventory *inv)
{
	char	*dn = NULL;

	if (asprintf(&dn, VMDIR_RDN_TENANT ",%s", inv->app.domain,
	    inv->app.domain_dn) == -1)
		return NULL;
	return dn;
}

const struct inv_sts *
inventory_active_sts(const struct inventory *inv)
{
	const struct inv_sts *best = NULL;
	size_t	 i;

	for (i = 0; i < inv->nsts; i++)
		if (inv->sts[i].is_credential &&
		    (best == NULL || inv->sts[i].n > best->n))
			best = &inv->sts[i];
	return best;
}

const struct inv_principal *
inventory_principal(const struct inventory *inv, const char *sol)
{
	const struct inv_principal *p = NULL;
	size_t	 i;

	for (i = 0; i < inv->nprincipals; i++)
		if (strcmp(inv->principals[i].solution, sol) == 0)
			p = &inv->principals[i];
	return p;
}

const struct inv_ca *
inventory_ca_model(const struct inventory *inv)
{
	X509	*root = inv->vmca_root != NULL ? sk_X509_value(inv->vmca_root, 0) :
	    NULL;
	const struct inv_ca *first = NULL;
	size_t	 i;

	for (i = 0; i < inv->ncas; i++) {
		if (inv->cas[i].cert == NULL)
			continue;
		if (root != NULL && cert_equal(inv->cas[i].cert, root))
			return &inv->cas[i];
		if (first == NULL)
			first = &inv->cas[i];
	}
	return first;
}

int
inventory_has_store(const struct inventory *inv, const char *store)
{
	size_t	 i;

	for (i = 0; i < inv->nstores; i++)
		if (strcmp(inv->stores[i], store) == 0)
			return 1;
	return 0;
}

const struct inv_vecs_entry *
inventory_vecs(const struct inventory *inv, const char *store,
    const char *alias)
{
	size_t	 i;

	for (i = 0; i < inv->nvecs; i++)
		if (strcmp(inv->vecs[i].store, store) == 0 &&
		    strcmp(inv->vecs[i].alias, alias) == 0)
			return &inv->vecs[i];
	return NULL;
}
