/*
 * issue.h - making keys and certificates as VMCA does: the profiles of a
 * plan's steps turned into X.509 certificates signed by the VMCA root (or
 * self-signed, for a new root). The caller owns what comes back (X509_free,
 * EVP_PKEY_free).
 */
#ifndef VCR_ISSUE_H
#define VCR_ISSUE_H

#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "buf.h"

/*
 * Issues a certificate for a plan profile (plans/plan.h: subject, san,
 * key_usage, extended_key_usage, ca, key.bits, validity_days) with a new RSA
 * key, valid from a few minutes before `now' (clock skew) for validity_days
 * and never past the issuer's notAfter. issuer and issuer_key NULL: self-
 * signed (a root).
 */
int issue_from_profile(json_t *profile, X509 *issuer, EVP_PKEY *issuer_key,
    time_t now, X509 **cert, EVP_PKEY **key, struct buf *err);

/*
 * The same with a key made beforehand (ownership passes to *key on
 * success). issue_keys makes n RSA keys of the given sizes on as many
 * threads as the machine has cores: key generation is most of the time of
 * a transaction. 0, or -1 with every key freed.
 */
int issue_with_key(json_t *profile, X509 *issuer, EVP_PKEY *issuer_key,
    time_t now, EVP_PKEY *made, X509 **cert, EVP_PKEY **key, struct buf *err);
int issue_keys(const int *bits, EVP_PKEY **keys, size_t n);

/* DER and PEM encodings (caller frees with free / buf_free_secret). */
int der_of_cert(X509 *x, unsigned char **der, size_t *len);
int pem_of_cert(X509 *x, struct buf *out);
int pem_of_key(EVP_PKEY *k, struct buf *out);	/* PKCS#8, unencrypted */
int der_of_key(EVP_PKEY *k, struct buf *out);	/* PKCS#8 DER */

#endif
