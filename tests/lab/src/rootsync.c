/*
 * rootsync.c - vmafdd's root sync (Lightwave vmafd rootfetch.c) over the
 * lab's vmdir and VECS: see rootsync.h. Shared by service-control's vmafdd
 * daemon (a pass every root_sync_interval seconds) and vecs-cli
 * force-refresh (one pass, its result the command's).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ldap.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "labdir.h"
#include "labutil.h"
#include "rootsync.h"
#include "vecsdb.h"

#define ROOTSYNC_INVALID_PARAMETER	87	/* an empty value */

/* One CA entry of vmdir: its values as vmafd copies them. */
struct ca {
	char	*dn;
	char	*cert;		/* NUL-terminated copy of the first value */
	size_t	 cert_len;	/* the value's length (DER may hold NULs) */
	char	*crl;		/* NULL: no certificateRevocationList */
	size_t	 crl_len;
};

struct cas {
	struct ca	*v;
	size_t		 n;
};

/* The auto-refresh marks: "STORE ALIAS" lines. */
struct marks {
	char	**line;
	size_t	  n, cap;
	int	  dirty;
};

static void
cas_free(struct cas *cs)
{
	size_t	i;

	for (i = 0; i < cs->n; i++) {
		ldap_memfree(cs->v[i].dn);
		free(cs->v[i].cert);
		free(cs->v[i].crl);
	}
	free(cs->v);
	cs->v = NULL;
	cs->n = 0;
}

/* The first value of attr as a C string plus its real length; 1: none. */
static int
first_value(LDAP *ld, LDAPMessage *e, const char *attr, char **out,
    size_t *outlen)
{
	struct berval	**vals = NULL;
	int		  ret = 1;

	*out = NULL;
	*outlen = 0;
	if ((vals = ldap_get_values_len(ld, e, attr)) == NULL ||
	    vals[0] == NULL)
		goto out;
	ret = -1;
	if ((*out = malloc(vals[0]->bv_len + 1)) == NULL)
		goto out;
	memcpy(*out, vals[0]->bv_val, vals[0]->bv_len);
	(*out)[vals[0]->bv_len] = '\0';
	*outlen = vals[0]->bv_len;
	ret = 0;
out:
	if (vals != NULL)
		ldap_value_free_len(vals);
	return ret;
}

/* VmAfdQueryCACerts: every CA entry, in the directory's order. */
static unsigned
query_cas(const char *root, struct cas *cs, char *msg, size_t len)
{
	LDAP		*ld = NULL;
	LDAPMessage	*res = NULL, *e = NULL;
	struct timeval	 tv = { 30, 0 };
	char		*domain = NULL, *ddn = NULL, *base = NULL;
	char		*attrs[] = { "cACertificate",
			    "certificateRevocationList", NULL };
	struct ca	*c = NULL;
	unsigned	 code = ROOTSYNC_INTERNAL;
	int		 rc, n;

	memset(cs, 0, sizeof(*cs));
	if ((domain = lab_reg_get(root, LAB_REG_VMAFD, "DomainName")) ==
	    NULL) {
		snprintf(msg, len, "registry [%s] has no DomainName",
		    LAB_REG_VMAFD);
		goto out;
	}
	if ((ddn = lab_domain_dn(domain)) == NULL ||
	    asprintf(&base, "cn=Configuration,%s", ddn) == -1) {
		base = NULL;
		snprintf(msg, len, "out of memory");
		goto out;
	}
	if (lab_dir_open(root, &ld, msg, len) == -1)
		goto out;
	rc = ldap_search_ext_s(ld, base, LDAP_SCOPE_SUBTREE,
	    "(objectClass=vmwCertificationAuthority)", attrs, 0, NULL, NULL,
	    &tv, LDAP_NO_LIMIT, &res);
	if (rc != LDAP_SUCCESS) {
		snprintf(msg, len, "cannot search %s: %s", base,
		    ldap_err2string(rc));
		goto out;
	}
	if ((n = ldap_count_entries(ld, res)) > 0 &&
	    (cs->v = calloc((size_t)n, sizeof(*cs->v))) == NULL) {
		snprintf(msg, len, "out of memory");
		goto out;
	}
	for (e = ldap_first_entry(ld, res); e != NULL && cs->n < (size_t)n;
	    e = ldap_next_entry(ld, e)) {
		c = &cs->v[cs->n++];
		c->dn = ldap_get_dn(ld, e);
		if ((rc = first_value(ld, e, "cACertificate", &c->cert,
		    &c->cert_len)) == 1) {
			code = ROOTSYNC_INVALID_DATA;
			snprintf(msg, len, "%s has no cACertificate",
			    c->dn != NULL ? c->dn : "a CA entry");
			goto out;
		}
		if (rc == -1 || first_value(ld, e,
		    "certificateRevocationList", &c->crl, &c->crl_len) == -1) {
			snprintf(msg, len, "out of memory");
			goto out;
		}
	}
	code = 0;
out:
	if (code != 0)
		cas_free(cs);
	ldap_msgfree(res);
	if (ld != NULL)
		ldap_unbind_ext_s(ld, NULL, NULL);
	free(domain);
	free(ddn);
	free(base);
	return code;
}

/* ------------------------------------------------------------------ */
/* Auto-refresh marks. */

static void
marks_free(struct marks *mk)
{
	size_t	i;

	for (i = 0; i < mk->n; i++)
		free(mk->line[i]);
	free(mk->line);
	memset(mk, 0, sizeof(*mk));
}

static int
marks_load(const char *root, struct marks *mk)
{
	char	*path = NULL, *buf = NULL, *p = NULL, *nl = NULL;
	int	 ret = -1;

	memset(mk, 0, sizeof(*mk));
	if ((path = lab_path(root, LAB_AUTOREFRESH)) == NULL)
		return -1;
	if (lab_read_file(path, &buf, NULL) == -1) {
		ret = errno == ENOENT ? 0 : -1;
		goto out;
	}
	for (p = buf; *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p) - 1;
		else
			*nl = '\0';
		if (*p == '\0')
			continue;
		if (mk->n == mk->cap) {
			size_t	 ncap = mk->cap ? 2 * mk->cap : 16;
			char	**nl_ = reallocarray(mk->line, ncap,
			    sizeof(*nl_));

			if (nl_ == NULL)
				goto out;
			mk->line = nl_;
			mk->cap = ncap;
		}
		if ((mk->line[mk->n] = strdup(p)) == NULL)
			goto out;
		mk->n++;
	}
	ret = 0;
out:
	if (ret == -1)
		marks_free(mk);
	free(path);
	free(buf);
	return ret;
}

static int
marks_save(const char *root, const struct marks *mk)
{
	char	*path = NULL, *buf = NULL;
	size_t	 i, size = 0, off = 0;
	int	 ret = -1;

	if (!mk->dirty)
		return 0;
	for (i = 0; i < mk->n; i++)
		size += strlen(mk->line[i]) + 1;
	if ((path = lab_path(root, LAB_AUTOREFRESH)) == NULL ||
	    (buf = malloc(size + 1)) == NULL)
		goto out;
	for (i = 0; i < mk->n; i++)
		off += (size_t)sprintf(buf + off, "%s\n", mk->line[i]);
	ret = lab_write_file_atomic(path, buf, off, 0644);
out:
	free(path);
	free(buf);
	return ret;
}

/* The index of STORE ALIAS, or -1. */
static long
marks_find(const struct marks *mk, const char *store, const char *alias)
{
	size_t	i, sl = strlen(store);

	for (i = 0; i < mk->n; i++)
		if (strncmp(mk->line[i], store, sl) == 0 &&
		    mk->line[i][sl] == ' ' &&
		    strcasecmp(mk->line[i] + sl + 1, alias) == 0)
			return (long)i;
	return -1;
}

static int
marks_set(struct marks *mk, const char *store, const char *alias)
{
	char	*line = NULL;

	if (marks_find(mk, store, alias) != -1)
		return 0;
	if (mk->n == mk->cap) {
		size_t	 ncap = mk->cap ? 2 * mk->cap : 16;
		char	**nl = reallocarray(mk->line, ncap, sizeof(*nl));

		if (nl == NULL)
			return -1;
		mk->line = nl;
		mk->cap = ncap;
	}
	if (asprintf(&line, "%s %s", store, alias) == -1)
		return -1;
	mk->line[mk->n++] = line;
	mk->dirty = 1;
	return 0;
}

static void
marks_drop(struct marks *mk, size_t i)
{
	free(mk->line[i]);
	memmove(&mk->line[i], &mk->line[i + 1],
	    (mk->n - i - 1) * sizeof(*mk->line));
	mk->n--;
	mk->dirty = 1;
}

int
lab_rootsync_forget(const char *root, const char *store, const char *alias)
{
	struct marks	 mk;
	size_t		 i, sl = strlen(store);
	long		 k;
	int		 ret;

	if (marks_load(root, &mk) == -1)
		return -1;
	if (alias != NULL) {
		if ((k = marks_find(&mk, store, alias)) != -1)
			marks_drop(&mk, (size_t)k);
	} else
		for (i = mk.n; i-- > 0;)
			if (strncmp(mk.line[i], store, sl) == 0 &&
			    mk.line[i][sl] == ' ')
				marks_drop(&mk, i);
	ret = marks_save(root, &mk);
	marks_free(&mk);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Values as vmafdd reads and stores them. */

static int
bio_take(BIO *bio, char **out, size_t *outlen)
{
	char	*data = NULL;
	long	 n;

	if ((n = BIO_get_mem_data(bio, &data)) <= 0 ||
	    (*out = malloc((size_t)n + 1)) == NULL)
		return -1;
	memcpy(*out, data, (size_t)n);
	(*out)[n] = '\0';
	*outlen = (size_t)n;
	return 0;
}

static int
is_pem(const char *v)
{
	while (isspace((unsigned char)*v))
		v++;
	return strncmp(v, "-----BEGIN", 10) == 0;
}

/*
 * A cACertificate value: the PEM vmafdd would store (every certificate of
 * the value re-encoded) and the alias (SHA-1 of the first). 0, or a code.
 */
static unsigned
cert_entry(const char *val, size_t vlen, int der_ok, char **pem,
    size_t *pemlen, char *alias)
{
	BIO			*in = NULL, *mem = NULL;
	X509			*x = NULL;
	const unsigned char	*p = NULL;
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0;
	unsigned		 code = ROOTSYNC_BAD_FORMAT;
	int			 n = 0;

	*pem = NULL;
	if (*val == '\0')
		return ROOTSYNC_INVALID_PARAMETER;
	if ((mem = BIO_new(BIO_s_mem())) == NULL)
		goto fail;
	if (der_ok && !is_pem(val)) {
		p = (const unsigned char *)val;
		if (vlen > LONG_MAX ||
		    (x = d2i_X509(NULL, &p, (long)vlen)) == NULL ||
		    PEM_write_bio_X509(mem, x) != 1 ||
		    X509_digest(x, EVP_sha1(), md, &mdlen) != 1)
			goto fail;
	} else {
		/* A C string, as vmafd copies it: up to the first NUL. */
		if ((in = BIO_new_mem_buf(val, -1)) == NULL)
			goto fail;
		while ((x = PEM_read_bio_X509(in, NULL, NULL, NULL)) != NULL) {
			if (PEM_write_bio_X509(mem, x) != 1 ||
			    (n++ == 0 && X509_digest(x, EVP_sha1(), md,
			    &mdlen) != 1))
				goto fail;
			X509_free(x);
			x = NULL;
		}
		if (n == 0)
			goto fail;
	}
	if (bio_take(mem, pem, pemlen) == -1) {
		code = ROOTSYNC_INTERNAL;
		goto fail;
	}
	lab_hex(md, mdlen, alias);
	code = 0;
fail:
	ERR_clear_error();
	X509_free(x);
	BIO_free(in);
	BIO_free(mem);
	return code;
}

/* A certificateRevocationList value: the PEM vmafdd stores, the alias. */
static unsigned
crl_entry(const char *val, size_t vlen, int der_ok, char **pem,
    size_t *pemlen, char *alias)
{
	BIO			*in = NULL, *mem = NULL;
	X509_CRL		*crl = NULL;
	const unsigned char	*p = NULL;
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0;
	unsigned		 code = ROOTSYNC_BAD_FORMAT;

	*pem = NULL;
	if (*val == '\0')
		return ROOTSYNC_INVALID_PARAMETER;
	if ((mem = BIO_new(BIO_s_mem())) == NULL)
		goto fail;
	if (der_ok && !is_pem(val)) {
		p = (const unsigned char *)val;
		if (vlen > LONG_MAX ||
		    (crl = d2i_X509_CRL(NULL, &p, (long)vlen)) == NULL)
			goto fail;
	} else if ((in = BIO_new_mem_buf(val, -1)) == NULL ||
	    (crl = PEM_read_bio_X509_CRL(in, NULL, NULL, NULL)) == NULL)
		goto fail;
	if (PEM_write_bio_X509_CRL(mem, crl) != 1 ||
	    X509_CRL_digest(crl, EVP_sha1(), md, &mdlen) != 1)
		goto fail;
	if (bio_take(mem, pem, pemlen) == -1) {
		code = ROOTSYNC_INTERNAL;
		goto fail;
	}
	/* vmafdd keeps a CRL without its last newline (VecsX509CRLToPEM,
	 * vmafd/common/ssl.c:1358-1361). */
	if (*pemlen > 0 && (*pem)[*pemlen - 1] == '\n')
		(*pem)[--*pemlen] = '\0';
	lab_hex(md, mdlen, alias);
	code = 0;
fail:
	ERR_clear_error();
	X509_CRL_free(crl);
	BIO_free(in);
	BIO_free(mem);
	return code;
}

/* ------------------------------------------------------------------ */
/* The pass. */

/*
 * VmAfdProcessCACerts over one store: adds and marks, then deletes the
 * marked entries no CA entry named. On a bad value it stops there: what was
 * added stays, nothing is deleted.
 */
static unsigned
process(const char *root, struct vecs_store *st, int crls,
    const struct cas *cs, struct marks *mk, int der_ok, unsigned *added,
    unsigned *removed, int *changed, char *msg, size_t len)
{
	enum vecs_entry_type	 type = crls ? VECS_ENTRY_CRL :
				    VECS_ENTRY_TRUSTED_CERT;
	const struct ca		*c = NULL;
	char			 alias[2 * EVP_MAX_MD_SIZE + 1];
	char			*pem = NULL, **gone = NULL;
	unsigned char		*seen = NULL;
	size_t			 n0 = st->nentries, i, j, pemlen = 0, ngone = 0;
	unsigned		 code = ROOTSYNC_INTERNAL;
	long			 k;

	(void)root;
	if ((seen = calloc(n0 + 1, 1)) == NULL ||
	    (gone = calloc(n0 + 1, sizeof(*gone))) == NULL) {
		snprintf(msg, len, "out of memory");
		goto out;
	}
	for (i = 0; i < cs->n; i++) {
		c = &cs->v[i];
		if (crls && c->crl == NULL)
			continue;
		code = crls ? crl_entry(c->crl, c->crl_len, der_ok, &pem,
		    &pemlen, alias) : cert_entry(c->cert, c->cert_len, der_ok,
		    &pem, &pemlen, alias);
		if (code != 0) {
			snprintf(msg, len, "%s of %s: %s", crls ?
			    "certificateRevocationList" : "cACertificate",
			    c->dn != NULL ? c->dn : "a CA entry",
			    code == ROOTSYNC_INTERNAL ? "out of memory" :
			    "not a PEM value");
			goto out;
		}
		/* Looked up among the entries from before the pass only. */
		for (j = 0; j < n0; j++)
			if (strcasecmp(st->entries[j].alias, alias) == 0)
				break;
		if (j == n0) {
			if (vecs_store_add(st, alias, type, pem, pemlen, NULL,
			    0) == -1) {
				code = errno == EEXIST ?
				    ROOTSYNC_ALREADY_EXISTS : ROOTSYNC_INTERNAL;
				snprintf(msg, len, "%s: cannot add [%s] to "
				    "store [%s]: %s", c->dn != NULL ? c->dn :
				    "a CA entry", alias, st->name,
				    strerror(errno));
				goto out;
			}
			(*added)++;
			*changed = 1;
		} else
			seen[j] = 1;
		if (marks_set(mk, st->name, alias) == -1) {
			code = ROOTSYNC_INTERNAL;
			snprintf(msg, len, "out of memory");
			goto out;
		}
		free(pem);
		pem = NULL;
	}
	/* VmAfdDeleteObsoleteCerts. */
	for (j = 0; j < n0; j++)
		if (!seen[j] && marks_find(mk, st->name,
		    st->entries[j].alias) != -1)
			gone[ngone++] = st->entries[j].alias;
	for (j = 0; j < ngone; j++) {
		if ((k = marks_find(mk, st->name, gone[j])) != -1)
			marks_drop(mk, (size_t)k);
		/* The alias string dies with the entry: forget it first. */
		if (vecs_store_remove(st, gone[j]) == 0) {
			(*removed)++;
			*changed = 1;
		}
	}
	code = 0;
out:
	free(pem);
	free(seen);
	free(gone);
	return code;
}

/* Loads a store for the pass; a missing one fails as VmAfdGetStore. */
static unsigned
load(const char *root, const char *name, struct vecs_store **st, char *msg,
    size_t len)
{
	if (vecsdb_store_load(root, name, st) == 0)
		return 0;
	snprintf(msg, len, "cannot open VECS store %s: %s", name,
	    strerror(errno));
	return ROOTSYNC_INTERNAL;
}

static unsigned
save(const char *root, const struct vecs_store *st, int changed, char *msg,
    size_t len)
{
	if (!changed || vecsdb_store_save(root, st) == 0)
		return 0;
	snprintf(msg, len, "cannot write VECS store %s: %s", st->name,
	    strerror(errno));
	return ROOTSYNC_INTERNAL;
}

/* The pass over CA entries read (or given): the stores' side. */
static unsigned
sync_cas(const char *root, const struct cas *csp, struct rootsync_stats *stats,
    char *msg, size_t len)
{
	struct rootsync_stats	 s = { 0, 0, 0, 0 };
	struct cas		 cs = *csp;
	struct marks		 mk = { NULL, 0, 0, 0 };
	struct vecs_store	*roots = NULL, *crls = NULL;
	char			*conf = NULL, *der = NULL, why[512] = "";
	unsigned		 code, code2;
	int			 lockfd = -1, der_ok = 0, ch1 = 0, ch2 = 0;

	if ((conf = lab_path(root, LAB_CONF)) != NULL &&
	    (der = lab_conf_get(conf, "root_sync_der")) != NULL)
		der_ok = strcmp(der, "decode") == 0;
	code = ROOTSYNC_INTERNAL;
	if ((lockfd = vecsdb_lock(root)) == -1) {
		snprintf(msg, len, "cannot lock VECS: %s", strerror(errno));
		goto out;
	}
	if (marks_load(root, &mk) == -1) {
		snprintf(msg, len, "%s: %s", LAB_AUTOREFRESH, strerror(errno));
		goto out;
	}
	if ((code = load(root, "TRUSTED_ROOTS", &roots, msg, len)) != 0 ||
	    (code = load(root, "TRUSTED_ROOT_CRLS", &crls, msg, len)) != 0)
		goto out;
	code = process(root, roots, 0, &cs, &mk, der_ok, &s.certs_added,
	    &s.certs_removed, &ch1, msg, len);
	if (code == 0)
		code = process(root, crls, 1, &cs, &mk, der_ok, &s.crls_added,
		    &s.crls_removed, &ch2, msg, len);
	/* Each add and delete of vmafdd commits on its own. */
	if ((code2 = save(root, roots, ch1, why, sizeof(why))) == 0)
		code2 = save(root, crls, ch2, why, sizeof(why));
	if (code2 == 0 && marks_save(root, &mk) == -1) {
		code2 = ROOTSYNC_INTERNAL;
		snprintf(why, sizeof(why), "%s: %s", LAB_AUTOREFRESH,
		    strerror(errno));
	}
	if (code == 0 && code2 != 0) {
		code = code2;
		snprintf(msg, len, "%s", why);
	}
out:
	if (stats != NULL)
		*stats = s;
	vecsdb_unlock(lockfd);
	vecs_store_free(roots);
	vecs_store_free(crls);
	marks_free(&mk);
	free(conf);
	free(der);
	return code;
}

unsigned
lab_rootsync(const char *root, struct rootsync_stats *stats, char *msg,
    size_t len)
{
	struct cas	cs = { NULL, 0 };
	unsigned	code;

	if ((code = query_cas(root, &cs, msg, len)) != 0) {
		if (stats != NULL)
			memset(stats, 0, sizeof(*stats));
		return code;
	}
	code = sync_cas(root, &cs, stats, msg, len);
	cas_free(&cs);
	return code;
}

unsigned
lab_rootsync_values(const char *root, const struct rootsync_ca *v, size_t n,
    struct rootsync_stats *stats, char *msg, size_t len)
{
	struct cas	cs = { NULL, 0 };
	struct ca	*c;
	unsigned	code = ROOTSYNC_INTERNAL;
	size_t		i;

	if (stats != NULL)
		memset(stats, 0, sizeof(*stats));
	if (n > 0 && (cs.v = calloc(n, sizeof(*cs.v))) == NULL) {
		snprintf(msg, len, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		c = &cs.v[cs.n++];
		/* NUL-terminated copies, as vmafd's C strings. */
		if ((c->cert = malloc(v[i].cert_len + 1)) == NULL ||
		    (v[i].crl != NULL &&
		    (c->crl = malloc(v[i].crl_len + 1)) == NULL)) {
			snprintf(msg, len, "out of memory");
			goto out;
		}
		memcpy(c->cert, v[i].cert, v[i].cert_len);
		c->cert[v[i].cert_len] = '\0';
		c->cert_len = v[i].cert_len;
		if (v[i].crl != NULL) {
			memcpy(c->crl, v[i].crl, v[i].crl_len);
			c->crl[v[i].crl_len] = '\0';
			c->crl_len = v[i].crl_len;
		}
	}
	code = sync_cas(root, &cs, stats, msg, len);
out:
	cas_free(&cs);
	return code;
}

long
lab_rootsync_interval(const char *root)
{
	char	*conf = NULL, *v = NULL, *end = NULL;
	long	 n = -1;

	if ((conf = lab_path(root, LAB_CONF)) == NULL)
		return -1;
	if ((v = lab_conf_get(conf, "root_sync_interval")) == NULL)
		n = ROOTSYNC_DEFAULT_INTERVAL;
	else if (strcmp(v, "off") == 0)
		n = 0;
	else {
		errno = 0;
		n = strtol(v, &end, 10);
		if (errno != 0 || end == v || *end != '\0' || n < 1 ||
		    n > 86400)
			n = -1;
	}
	free(conf);
	free(v);
	return n;
}
