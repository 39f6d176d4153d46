/*
 * issue.h - making keys and certificates as VMCA does: the profiles of a
 * plan's steps (struct cert_profile, decoded and checked by plan_load)
 * turned into X.509 certificates signed by the VMCA root (or self-signed,
 * for a new root). The profile is the caller's; what comes back is the
 * caller's too (X509_free, EVP_PKEY_free).
 */
#ifndef VCR_ISSUE_H
#define VCR_ISSUE_H

#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "buf.h"
#include "plan.h"

/*
 * Issues a certificate for a plan profile (subject, san, key_usage,
 * ext_key_usage, ca, key_bits, validity_days) with the key made beforehand
 * (ownership passes to *key on success), or a new RSA key when made is
 * NULL, valid from a few minutes before `now' (clock skew) for
 * validity_days and never past the issuer's notAfter. issuer and
 * issuer_key NULL: self-signed (a root).
 */
int issue_with_key(const struct cert_profile *profile, X509 *issuer,
    EVP_PKEY *issuer_key, time_t now, EVP_PKEY *made, X509 **cert,
    EVP_PKEY **key, struct buf *err);

/*
 * Key generation is most of the time of a transaction, so it runs beside
 * the rest: issue_keys_start begins making n RSA keys of the sizes in bits
 * (0: no key for that index) on as many threads as the machine has cores,
 * and returns at once (-1: out of memory). issue_keys_finish helps with what
 * is left, waits, and hands over the keys: 0 with keys[i] owned by the
 * caller, or -1 with every key freed (some could not be made).
 * issue_keys_abandon stops and frees instead. Either ends the keygen.
 */
struct keygen;
int issue_keys_start(struct keygen **out, const int *bits, size_t n);
int issue_keys_finish(struct keygen *kg, EVP_PKEY **keys);
void issue_keys_abandon(struct keygen *kg);

/*
 * A PKCS#10 request for profile's subject, SANs and usages (asked for as
 * extensions, with CA:FALSE), signed with key (the caller's). *out is the
 * caller's (X509_REQ_free).
 */
int issue_csr(const struct cert_profile *profile, EVP_PKEY *key,
    X509_REQ **out, struct buf *err);

/* DER and PEM encodings (caller frees with free / buf_free_secret). */
int der_of_cert(X509 *x, unsigned char **der, size_t *len);
int pem_of_cert(X509 *x, struct buf *out);
int pem_of_key(EVP_PKEY *k, struct buf *out);	/* PKCS#8, unencrypted */
int der_of_key(EVP_PKEY *k, struct buf *out);	/* PKCS#8 DER */

#endif
