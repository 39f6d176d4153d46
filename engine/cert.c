/*
 * cert.c - certificate helpers over OpenSSL 3. See cert.h.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "cert.h"

int
cert_parse_pem_chain(const char *pem, size_t len, STACK_OF(X509) **out,
    const char **why)
{
	STACK_OF(X509) *sk = NULL;
	BIO	*bio = NULL;
	X509	*x = NULL;
	int	 ret = -1;

	*out = NULL;
	if (len > INT_MAX) {
		*why = "too large";
		return -1;
	}
	if ((sk = sk_X509_new_null()) == NULL ||
	    (bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		*why = "out of memory";
		goto out;
	}
	for (;;) {
		if ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL)
			break;
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			*why = "out of memory";
			goto out;
		}
	}
	/* PEM_read stops at end of input with PEM_R_NO_START_LINE; any other
	 * error means a damaged block. */
	if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE &&
	    ERR_peek_last_error() != 0) {
		*why = "damaged PEM certificate";
		goto out;
	}
	if (sk_X509_num(sk) == 0) {
		*why = "no PEM certificate";
		goto out;
	}
	*out = sk;
	sk = NULL;
	ret = 0;
out:
	ERR_clear_error();
	BIO_free(bio);
	sk_X509_pop_free(sk, X509_free);
	return ret;
}

int
cert_parse_der(const unsigned char *der, size_t len, X509 **out,
    const char **why)
{
	const unsigned char *p = der;
	X509	*x;

	*out = NULL;
	if (len > LONG_MAX ||
	    (x = d2i_X509(NULL, &p, (long)len)) == NULL) {
		ERR_clear_error();
		*why = "not a DER certificate";
		return -1;
	}
	if (p != der + len) {
		X509_free(x);
		*why = "trailing bytes after a DER certificate";
		return -1;
	}
	*out = x;
	return 0;
}

int
cert_parse_key(const unsigned char *data, size_t len, EVP_PKEY **out,
    const char **why)
{
	const unsigned char *p = data;
	EVP_PKEY *k = NULL;
	BIO	*bio = NULL;

	*out = NULL;
	if (len > INT_MAX) {
		*why = "too large";
		return -1;
	}
	if (memmem(data, len, "-----BEGIN", 10) != NULL) {
		if ((bio = BIO_new_mem_buf(data, (int)len)) != NULL)
			k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
		BIO_free(bio);
	} else
		k = d2i_AutoPrivateKey(NULL, &p, (long)len);
	ERR_clear_error();
	if (k == NULL) {
		*why = "not a private key";
		return -1;
	}
	*out = k;
	return 0;
}

int
cert_is_pem_crl(const char *pem, size_t len)
{
	BIO	*bio;
	X509_CRL *crl = NULL;

	if (len > INT_MAX || (bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return 0;
	crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);
	BIO_free(bio);
	ERR_clear_error();
	X509_CRL_free(crl);
	return crl != NULL;
}

static time_t
asn1_to_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
		return (time_t)-1;
	return timegm(&tm);
}

time_t
cert_not_before(const X509 *x)
{
	return asn1_to_time(X509_get0_notBefore(x));
}

time_t
cert_not_after(const X509 *x)
{
	return asn1_to_time(X509_get0_notAfter(x));
}

long
cert_days_left(const X509 *x, time_t at)
{
	time_t	 na = cert_not_after(x);
	long long d = (long long)na - (long long)at;

	/* Floor division: one second past notAfter is day -1, not 0. */
	return (long)(d >= 0 ? d / 86400 : -((-d + 86399) / 86400));
}

int
cert_key_matches(X509 *x, EVP_PKEY *key)
{
	EVP_PKEY *pub = X509_get0_pubkey(x);

	return pub != NULL && key != NULL && EVP_PKEY_eq(pub, key) == 1;
}

int
cert_san_has_dns(X509 *x, const char *name)
{
	GENERAL_NAMES *gens;
	int	 i, found = 0;

	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const unsigned char *s;
		int	 n;

		if (g->type != GEN_DNS)
			continue;
		s = ASN1_STRING_get0_data(g->d.dNSName);
		n = ASN1_STRING_length(g->d.dNSName);
		if (n >= 0 && (size_t)n == strlen(name) &&
		    strncasecmp((const char *)s, name, (size_t)n) == 0)
			found = 1;
	}
	GENERAL_NAMES_free(gens);
	return found;
}

int
cert_is_self_signed(X509 *x)
{
	return (X509_get_extension_flags(x) & EXFLAG_SS) != 0;
}

int
cert_has_aki(X509 *x)
{
	return X509_get0_authority_key_id(x) != NULL;
}

static char *
name_str(const X509_NAME *n, unsigned long flags)
{
	BIO	*bio;
	char	*data, *s = NULL;
	long	 len;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	if (X509_NAME_print_ex(bio, n, 0, flags) >= 0) {
		len = BIO_get_mem_data(bio, &data);
		s = strndup(data, (size_t)len);
	}
	BIO_free(bio);
	return s;
}

char *
cert_subject(X509 *x)
{
	return name_str(X509_get_subject_name(x),
	    XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB & ~XN_FLAG_SPC_EQ);
}

char *
cert_issuer(X509 *x)
{
	return name_str(X509_get_issuer_name(x),
	    XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB & ~XN_FLAG_SPC_EQ);
}

char *
cert_subject_rfc2253(X509 *x)
{
	return name_str(X509_get_subject_name(x), XN_FLAG_RFC2253);
}

static char *
digest_hex(X509 *x, const char *md, int colons, int upper)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;
	char	*s, *p;
	const EVP_MD *type = EVP_get_digestbyname(md);

	if (type == NULL || !X509_digest(x, type, d, &n))
		return NULL;
	if ((s = malloc((size_t)n * 3 + 1)) == NULL)
		return NULL;
	for (p = s, i = 0; i < n; i++)
		p += sprintf(p, upper ? "%s%02X" : "%s%02x",
		    colons && i ? ":" : "", d[i]);
	return s;
}

char *
cert_sha1_colons(X509 *x)
{
	return digest_hex(x, "SHA1", 1, 1);
}

char *
cert_sha1_hex(X509 *x)
{
	return digest_hex(x, "SHA1", 0, 0);
}

char *
cert_serial_hex(X509 *x)
{
	BIGNUM	*bn;
	char	*hex, *s = NULL;

	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL)) == NULL)
		return NULL;
	if ((hex = BN_bn2hex(bn)) != NULL) {
		s = strdup(hex);
		OPENSSL_free(hex);
	}
	BN_free(bn);
	return s;
}

int
cert_verify(X509 *leaf, STACK_OF(X509) *untrusted, STACK_OF(X509) *trusted,
    time_t at, const char **why)
{
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	int	 ok = 0;

	*why = "out of memory";
	if ((store = X509_STORE_new()) == NULL ||
	    (ctx = X509_STORE_CTX_new()) == NULL)
		goto out;
	if (!X509_STORE_CTX_init(ctx, store, leaf, untrusted))
		goto out;
	/* The roots as a plain stack: adding thousands of them to a store
	 * one by one costs a sort per certificate (crl-bloat labs). */
	if (trusted != NULL)
		X509_STORE_CTX_set0_trusted_stack(ctx, trusted);
	if (at == CERT_ANY_TIME)
		X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_NO_CHECK_TIME);
	else
		X509_STORE_CTX_set_time(ctx, 0, at);
	if (X509_verify_cert(ctx) == 1) {
		ok = 1;
		*why = NULL;
	} else
		*why = X509_verify_cert_error_string(
		    X509_STORE_CTX_get_error(ctx));
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return ok;
}

void
cert_time_str(time_t t, char *out, size_t outlen)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, outlen, "%Y-%m-%d %H:%M:%S GMT", &tm);
}

void
cert_time_iso(time_t t, char *out, size_t outlen)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
