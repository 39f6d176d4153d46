/*
 * labca.c - vmdir CA entries as Lightwave's certool/vmcad and dir-cli write
 * and read them. See labca.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "labca.h"
#include "labutil.h"

/* Upper-case hex, as VMCABytesToHexString(..., FALSE) and dir-cli print. */
static char *
hex_upper(const unsigned char *p, size_t n)
{
	static const char	 digits[] = "0123456789ABCDEF";
	char			*s;
	size_t			 i;

	if ((s = malloc(2 * n + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		s[2 * i] = digits[p[i] >> 4];
		s[2 * i + 1] = digits[p[i] & 0xf];
	}
	s[2 * n] = '\0';
	return s;
}

char *
labca_id(X509 *x)
{
	const ASN1_OCTET_STRING	*ski;
	unsigned char		 md[EVP_MAX_MD_SIZE], *der = NULL, *p;
	unsigned int		 mdlen = 0;
	char			*id = NULL;
	int			 n;

	if ((ski = X509_get0_subject_key_id(x)) != NULL &&
	    ASN1_STRING_length(ski) > 0)
		return hex_upper(ASN1_STRING_get0_data(ski),
		    (size_t)ASN1_STRING_length(ski));
	if ((n = i2d_PUBKEY(X509_get0_pubkey(x), NULL)) <= 0 ||
	    (der = malloc((size_t)n)) == NULL)
		return NULL;
	p = der;
	if (i2d_PUBKEY(X509_get0_pubkey(x), &p) == n &&
	    EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha1(), NULL) == 1)
		id = hex_upper(md, mdlen);
	free(der);
	return id;
}

/* The contents of a memory BIO as a new string. */
static char *
bio_string(BIO *b)
{
	char	*data = NULL, *s;
	long	 n;

	if ((n = BIO_get_mem_data(b, &data)) < 0 ||
	    (s = malloc((size_t)n + 1)) == NULL)
		return NULL;
	memcpy(s, data, (size_t)n);
	s[n] = '\0';
	return s;
}

char *
labca_subject(X509 *x)
{
	BIO	*b;
	char	*s = NULL;

	if ((b = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	if (X509_NAME_print_ex(b, X509_get_subject_name(x), 0,
	    XN_FLAG_COMPAT) >= 0)
		s = bio_string(b);
	BIO_free(b);
	return s;
}

char *
labca_cert_pem(X509 *x)
{
	BIO	*b;
	char	*s = NULL;

	if ((b = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	if (PEM_write_bio_X509(b, x) == 1)
		s = bio_string(b);
	BIO_free(b);
	return s;
}

char *
labca_crl_pem(X509_CRL *crl)
{
	BIO	*b;
	char	*s = NULL;

	if ((b = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	if (PEM_write_bio_X509_CRL(b, crl) == 1)
		s = bio_string(b);
	BIO_free(b);
	return s;
}

static int
is_pem(const struct berval *bv)
{
	static const char	begin[] = "-----BEGIN";

	return bv->bv_len >= sizeof(begin) - 1 &&
	    memmem(bv->bv_val, bv->bv_len, begin, sizeof(begin) - 1) != NULL;
}

X509 *
labca_value_cert(const struct berval *bv)
{
	const unsigned char	*p = (const unsigned char *)bv->bv_val;
	BIO			*b;
	X509			*x = NULL;

	if (bv->bv_len > INT32_MAX)
		return NULL;
	if (!is_pem(bv))
		x = d2i_X509(NULL, &p, (long)bv->bv_len);
	else if ((b = BIO_new_mem_buf(bv->bv_val, (int)bv->bv_len)) != NULL) {
		x = PEM_read_bio_X509(b, NULL, NULL, NULL);
		BIO_free(b);
	}
	ERR_clear_error();
	return x;
}

X509_CRL *
labca_value_crl(const struct berval *bv)
{
	const unsigned char	*p = (const unsigned char *)bv->bv_val;
	BIO			*b;
	X509_CRL		*crl = NULL;

	if (bv->bv_len > INT32_MAX)
		return NULL;
	if (!is_pem(bv))
		crl = d2i_X509_CRL(NULL, &p, (long)bv->bv_len);
	else if ((b = BIO_new_mem_buf(bv->bv_val, (int)bv->bv_len)) != NULL) {
		crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL);
		BIO_free(b);
	}
	ERR_clear_error();
	return crl;
}

/*
 * DirCliLdapFindObject: the DN of the entry at base (scope base), or of the
 * one child of base whose attr is value; NULL and LDAP_NO_SUCH_OBJECT when
 * there is none.
 */
static int
find_object(LDAP *ld, const char *base, int scope, const char *attr,
    const char *value, char **dn)
{
	LDAPMessage	*res = NULL, *e;
	char		*filter = NULL, *noattrs[] = { LDAP_NO_ATTRS, NULL };
	char		*d;
	int		 rc;

	*dn = NULL;
	if (attr != NULL) {
		char	*esc = NULL;
		struct berval bv = { strlen(value), (char *)value }, eb;

		if ((rc = ldap_bv2escaped_filter_value(&bv, &eb)) != 0)
			return LDAP_NO_MEMORY;
		esc = eb.bv_val;
		rc = asprintf(&filter, "(%s=%s)", attr, esc);
		ber_memfree(esc);
		if (rc == -1)
			return LDAP_NO_MEMORY;
	}
	rc = ldap_search_ext_s(ld, base, scope,
	    filter != NULL ? filter : "(objectClass=*)", noattrs, 0, NULL,
	    NULL, NULL, 0, &res);
	if (rc == LDAP_SUCCESS) {
		if ((e = ldap_first_entry(ld, res)) == NULL)
			rc = LDAP_NO_SUCH_OBJECT;
		else if ((d = ldap_get_dn(ld, e)) != NULL) {
			*dn = strdup(d);
			ldap_memfree(d);
			if (*dn == NULL)
				rc = LDAP_NO_MEMORY;
		}
	}
	ldap_msgfree(res);
	free(filter);
	return rc;
}

/* DirCliLdapUpdateAttribute: one value, added or replacing. */
static int
set_value(LDAP *ld, const char *dn, const char *attr, const char *value,
    int add)
{
	struct berval	 bv = { strlen(value), (char *)value };
	struct berval	*bvs[] = { &bv, NULL };
	LDAPMod		 mod = { 0 }, *mods[] = { &mod, NULL };

	mod.mod_op = (add ? LDAP_MOD_ADD : LDAP_MOD_REPLACE) | LDAP_MOD_BVALUES;
	mod.mod_type = (char *)attr;
	mod.mod_bvalues = bvs;
	return ldap_modify_ext_s(ld, dn, mods, NULL, NULL);
}

/*
 * DirCliLdapCheckAttribute: 0 when attr of dn holds exactly value, 1 when
 * it holds something else, 2 when it has none; -1 on error (*rc).
 */
static int
check_value(LDAP *ld, const char *dn, const char *attr, const char *value,
    int *rc)
{
	LDAPMessage	 *res = NULL, *e;
	struct berval	**vals = NULL;
	char		 *attrs[] = { (char *)attr, NULL };
	int		  st = -1;

	*rc = ldap_search_ext_s(ld, dn, LDAP_SCOPE_BASE, "(objectClass=*)",
	    attrs, 0, NULL, NULL, NULL, 0, &res);
	if (*rc != LDAP_SUCCESS)
		goto out;
	if ((e = ldap_first_entry(ld, res)) == NULL) {
		*rc = LDAP_NO_SUCH_OBJECT;
		goto out;
	}
	vals = ldap_get_values_len(ld, e, attr);
	if (vals == NULL || vals[0] == NULL)
		st = 2;
	else
		st = vals[0]->bv_len == strlen(value) &&
		    memcmp(vals[0]->bv_val, value, vals[0]->bv_len) == 0 ? 0 : 1;
out:
	ldap_value_free_len(vals);
	ldap_msgfree(res);
	return st;
}

/* Makes attr of dn hold value (check, then add or replace). */
static int
ensure_value(LDAP *ld, const char *dn, const char *attr, const char *value)
{
	int	rc, st;

	if ((st = check_value(ld, dn, attr, value, &rc)) == -1)
		return rc;
	if (st == 0)
		return LDAP_SUCCESS;
	return set_value(ld, dn, attr, value, st == 2);
}

int
labca_publish_cert(LDAP *ld, const char *ddn, X509 *x, int *created,
    char *msg, size_t len)
{
	char	*id = NULL, *subject = NULL, *pem = NULL, *dn = NULL;
	char	*found = NULL;
	char	*classes[] = { "vmwCertificationAuthority", "pkiCA", "top",
		    NULL };
	char	*cns[] = { NULL, NULL };
	LDAPMod	 moc = { 0 }, mcn = { 0 }, *mods[] = { &moc, &mcn, NULL };
	int	 rc = LDAP_NO_MEMORY;

	*created = 0;
	if ((id = labca_id(x)) == NULL || (subject = labca_subject(x)) == NULL ||
	    (pem = labca_cert_pem(x)) == NULL ||
	    asprintf(&dn, "cn=%s,%s,%s", id, LABCA_CONTAINER, ddn) == -1) {
		dn = NULL;
		snprintf(msg, len, "cannot encode the certificate");
		goto out;
	}
	rc = find_object(ld, dn, LDAP_SCOPE_BASE, NULL, NULL, &found);
	if (rc == LDAP_SUCCESS)
		goto out;	/* dir-cli goes on to the next certificate */
	if (rc != LDAP_NO_SUCH_OBJECT) {
		snprintf(msg, len, "%s: %s", dn, ldap_err2string(rc));
		goto out;
	}
	cns[0] = id;
	moc.mod_op = LDAP_MOD_ADD;
	moc.mod_type = "objectClass";
	moc.mod_values = classes;
	mcn.mod_op = LDAP_MOD_ADD;
	mcn.mod_type = "cn";
	mcn.mod_values = cns;
	if ((rc = ldap_add_ext_s(ld, dn, mods, NULL, NULL)) != LDAP_SUCCESS ||
	    (rc = ensure_value(ld, dn, "cACertificate", pem)) !=
	    LDAP_SUCCESS ||
	    (rc = ensure_value(ld, dn, "cACertificateDN", subject)) !=
	    LDAP_SUCCESS) {
		snprintf(msg, len, "%s: %s", dn, ldap_err2string(rc));
		goto out;
	}
	*created = 1;
out:
	free(id);
	free(subject);
	free(pem);
	free(dn);
	free(found);
	return rc;
}

int
labca_publish_crl(LDAP *ld, const char *ddn, X509_CRL *crl, char *msg,
    size_t len)
{
	AUTHORITY_KEYID	*akid = NULL;
	X509_NAME	*issuer;
	BIO		*b = NULL;
	char		*container = NULL, *dn = NULL, *found = NULL;
	char		*issuer_dn = NULL, *pem = NULL, *id = NULL;
	int		 rc = LDAP_NO_MEMORY;

	if (asprintf(&container, "%s,%s", LABCA_CONTAINER, ddn) == -1) {
		container = NULL;
		goto out;
	}
	akid = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, NULL,
	    NULL);
	if (akid != NULL && akid->keyid != NULL) {
		if ((id = hex_upper(ASN1_STRING_get0_data(akid->keyid),
		    (size_t)ASN1_STRING_length(akid->keyid))) == NULL ||
		    asprintf(&dn, "cn=%s,%s", id, container) == -1) {
			dn = NULL;
			goto out;
		}
		rc = find_object(ld, dn, LDAP_SCOPE_BASE, NULL, NULL, &found);
	} else {
		issuer = X509_CRL_get_issuer(crl);
		if ((b = BIO_new(BIO_s_mem())) == NULL ||
		    X509_NAME_print_ex(b, issuer, 0, XN_FLAG_COMPAT) < 0 ||
		    (issuer_dn = bio_string(b)) == NULL)
			goto out;
		rc = find_object(ld, container, LDAP_SCOPE_ONELEVEL,
		    "cACertificateDN", issuer_dn, &found);
	}
	if (rc != LDAP_SUCCESS) {
		snprintf(msg, len, "no CA entry for the CRL: %s",
		    ldap_err2string(rc));
		goto out;
	}
	if ((pem = labca_crl_pem(crl)) == NULL) {
		rc = LDAP_NO_MEMORY;
		goto out;
	}
	if ((rc = ensure_value(ld, found, "certificateRevocationList",
	    pem)) != LDAP_SUCCESS)
		snprintf(msg, len, "%s: %s", found, ldap_err2string(rc));
out:
	if (rc == LDAP_NO_MEMORY)
		snprintf(msg, len, "out of memory");
	AUTHORITY_KEYID_free(akid);
	BIO_free(b);
	free(container);
	free(dn);
	free(found);
	free(issuer_dn);
	free(pem);
	free(id);
	return rc;
}
