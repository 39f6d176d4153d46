/*
 * labca.h - vmdir CA entries as Lightwave's tools write and read them, for
 * the lab's certool (--rootca, through vmcad's directory sync) and dir-cli
 * (trustedcert), which bind with labdir.h: the entry's name, the
 * entry itself (vmafd/tools/dir-cli/cli.c DirCliPublishCertA and
 * DirCliPublishCrlA, ldap.c DirCliLdapCreateCAObject and
 * DirCliLdapUpdateAttribute; vmca/common/ldap.c VMCAUpdatePkiCAAttribute),
 * and values that may be PEM (as Lightwave writes) or DER (other tools).
 *
 * Conventions: 0 on success; -1 with a one-line reason in msg, or a
 * malloc'd pointer / NULL. Nothing here prints.
 */
#ifndef LABCA_H
#define LABCA_H

#include <stddef.h>

#include <ldap.h>
#include <openssl/x509.h>

#define LABCA_CONTAINER	"cn=Certificate-Authorities,cn=Configuration"

/*
 * The cn of x's CA entry: its subject key id in upper-case hex, or, without
 * one, the upper-case hex SHA-1 of its SubjectPublicKeyInfo (dir-cli
 * DirCliGenerateCACNForLdap).
 */
char *labca_id(X509 *x);

/* The subject as cACertificateDN holds it (X509_NAME_print_ex, XN_FLAG_COMPAT). */
char *labca_subject(X509 *x);

/* One certificate or CRL as PEM text, malloc'd. */
char *labca_cert_pem(X509 *x);
char *labca_crl_pem(X509_CRL *crl);

/* A cACertificate or certificateRevocationList value, PEM or DER. */
X509	 *labca_value_cert(const struct berval *bv);
X509_CRL *labca_value_crl(const struct berval *bv);

/*
 * Publishes x as dir-cli trustedcert publish does: an existing entry of the
 * same cn is left alone (*created 0); else cn=<id> is added with objectClass
 * vmwCertificationAuthority, pkiCA, top, then cACertificate (PEM) and
 * cACertificateDN. Returns the LDAP result code.
 */
int labca_publish_cert(LDAP *ld, const char *ddn, X509 *x, int *created,
    char *msg, size_t len);

/*
 * Puts crl (PEM) into certificateRevocationList of the CA entry named by its
 * authority key id, else of the one whose cACertificateDN is its issuer
 * (DirCliPublishCrlA): added when the entry has none, replaced when it
 * differs. LDAP_NO_SUCH_OBJECT when no entry fits.
 */
int labca_publish_crl(LDAP *ld, const char *ddn, X509_CRL *crl, char *msg,
    size_t len);

#endif
