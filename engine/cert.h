/*
 * cert.h - what vcrotate needs to know about X.509 certificates, CRLs and
 * keys, on top of OpenSSL 3.
 *
 * Parsers take bytes as found in stores and directories (which may be
 * garbage) and never crash on them; they return -1 and say what is wrong in
 * `why' (a static string).
 */
#ifndef VCR_CERT_H
#define VCR_CERT_H

#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/*
 * Every certificate in a PEM text, in order (a chain: leaf first, usually).
 * At least one is required and a damaged block is an error; text outside
 * PEM blocks and blocks of other types are skipped, as OpenSSL does.
 */
int cert_parse_pem_chain(const char *pem, size_t len, STACK_OF(X509) **out,
    const char **why);
/* One DER certificate (trailing bytes are an error). */
int cert_parse_der(const unsigned char *der, size_t len, X509 **out,
    const char **why);
/*
 * A directory value that holds one certificate, as DER or as PEM text:
 * Lightwave's VMCA and dir-cli write a CA entry's cACertificate as the PEM
 * string (vmca/common/ldap.c, VMCAUpdatePkiCAAttribute), other tools DER.
 * Of a PEM text, the first certificate.
 */
int cert_parse_value(const unsigned char *data, size_t len, X509 **out,
    const char **why);
/* Whether a value is PEM text ("-----BEGIN " first), not DER. */
int cert_value_is_pem(const unsigned char *data, size_t len);
/*
 * A cache of decoded certificates, for a read of the whole appliance where
 * the same certificate comes more than once (a root in TRUSTED_ROOTS and in
 * vmdir's CA entries, a certificate and its BACKUP_STORE copy): the same
 * bytes are decoded once and every place holds the same X509, its reference
 * count raised. The cert_cache_* parsers are the cert_parse_* ones above,
 * answer for answer, through cache c (NULL: none). Safe from several
 * threads. A cached certificate is shared: it must not be modified (none
 * read from the appliance is; vcrotate makes new ones). cert_cache_free
 * drops the cache's own references; the certificates live on with their
 * holders.
 */
struct cert_cache;
struct cert_cache *cert_cache_new(void);
void cert_cache_free(struct cert_cache *c);
int cert_cache_pem_chain(struct cert_cache *c, const char *pem, size_t len,
    STACK_OF(X509) **out, const char **why);
int cert_cache_der(struct cert_cache *c, const unsigned char *der,
    size_t len, X509 **out, const char **why);
int cert_cache_value(struct cert_cache *c, const unsigned char *data,
    size_t len, X509 **out, const char **why);
/* A private key from PEM (PKCS#8 or traditional) or DER (PKCS#8). */
int cert_parse_key(const unsigned char *data, size_t len, EVP_PKEY **out,
    const char **why);
/* Whether a PEM text is an X509 CRL that parses. */
int cert_is_pem_crl(const char *pem, size_t len);

/*
 * Parsed certificates carry no decoded public key (see cert.c): cert_pubkey
 * decodes it (caller frees), cert_full makes a fully decoded copy (caller
 * frees) for OpenSSL calls that need the key. cert_cleanup releases the
 * parsing context at exit.
 */
EVP_PKEY *cert_pubkey(X509 *x);
X509   *cert_full(X509 *x);
void    cert_cleanup(void);

time_t cert_not_before(const X509 *x);
time_t cert_not_after(const X509 *x);
/* Whole days from `at' to notAfter, rounded down (negative when past). */
long   cert_days_left(const X509 *x, time_t at);
/* Whether the public key of x is that of key. */
int    cert_key_matches(X509 *x, EVP_PKEY *key);
/* Whether the SAN of x holds DNS name `name' (case-insensitive). */
int    cert_san_has_dns(X509 *x, const char *name);
/* Whether the SAN of x holds entry, "DNS:name", "email:address" or
 * "IP:address" (an IPv4 or IPv6 address compared as bytes). */
int    cert_san_has(X509 *x, const char *entry);
/*
 * Every SAN of x, in order, as text: "DNS:name", "IP:address" (inet_ntop's
 * form), "email:address", "URI:uri", or a word for a type vcrotate does not
 * write ("DirName:(a name)", "othername:(a value)"). *out is NULL-ended, for
 * cert_san_entries_free; none is an empty list. 0, or -1 out of memory.
 */
int    cert_san_entries(X509 *x, char ***out, size_t *n);
void   cert_san_entries_free(char **v);
/* Whether a and b are the same certificate, byte for byte. */
int    cert_equal(X509 *a, X509 *b);
/* Whether x is self-signed: self-issued, key ids equal where present. */
int    cert_is_self_signed(X509 *x);
/* Whether x is a CA as OpenSSL judges one (X509_check_ca): basicConstraints
 * CA:TRUE, else a keyCertSign key usage or a v1 self-signed root; a key
 * usage without keyCertSign says no. */
int    cert_is_ca(X509 *x);
/* Whether issuer issued subject, by name, key identifiers (where both are
 * present) and key usage (keyCertSign, where there is one); the signature is
 * not checked (the key stays undecoded). */
int    cert_issued_by(X509 *subject, X509 *issuer);
/* Whether x carries an authority key identifier (checksts calls such a LEAF). */
int    cert_has_aki(X509 *x);

/* Text forms, malloc'd: subject as "CN=a, OU=b", SHA-1 "AA:BB:..", SHA-1
 * lowercase hex without colons, SHA-256 hex. */
char  *cert_subject(X509 *x);
char  *cert_issuer(X509 *x);
char  *cert_subject_rfc2253(X509 *x);
char  *cert_sha1_colons(X509 *x);
char  *cert_sha1_hex(X509 *x);
char  *cert_serial_hex(X509 *x);
/* The subject key identifier in hex (upper or lower case); NULL if none. */
char  *cert_ski_hex(X509 *x, int upper);
/* The subject as X509_NAME_print writes it (XN_FLAG_COMPAT: "DC=local,
 * DC=vsphere, C=US, ..., CN=CA", DER order), the form of a CA entry's
 * cACertificateDN (vmca/common/ldap.c, VMCAGetX509Name). */
char  *cert_subject_compat(X509 *x);

/*
 * Verifies leaf against trusted roots at time `at' (CERT_ANY_TIME: dates are
 * not checked, only the path), with untrusted intermediates (may be NULL).
 * 1 verified, 0 not (why: OpenSSL's reason).
 */
#define CERT_ANY_TIME ((time_t)-1)
int cert_verify(X509 *leaf, STACK_OF(X509) *untrusted,
    STACK_OF(X509) *trusted, time_t at, const char **why);

/* Formats a time as "2029-04-06 11:57:19 GMT" / "2029-04-06T11:57:19Z". */
void cert_time_str(time_t t, char *out, size_t outlen);
void cert_time_iso(time_t t, char *out, size_t outlen);

#endif
