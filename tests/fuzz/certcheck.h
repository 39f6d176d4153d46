/*
 * certcheck.h - what the certificate harnesses (fuzz_cert_pem.c,
 * fuzz_cert_der.c) do with each certificate that parsed: every accessor
 * check, plan and backup call on certificates read from stores and the
 * directory, on the "lite" (null provider, key not decoded) form that the
 * parsers return; and the round trip through DER.
 */
#ifndef VCR_FUZZ_CERTCHECK_H
#define VCR_FUZZ_CERTCHECK_H

#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "cert.h"
#include "fuzz.h"

static inline void
fuzz_use_cert(X509 *x, STACK_OF(X509) *chain)
{
	unsigned char *der = NULL;
	char	*s, when[64];
	const char *why;
	X509	*back = NULL, *full;
	EVP_PKEY *pk;
	time_t	 t;
	int	 n;

	/* The DER of a parsed certificate parses back to the same one. */
	if ((n = i2d_X509(x, &der)) > 0) {
		FUZZ_CHECK(cert_parse_der(der, (size_t)n, &back, &why) == 0);
		FUZZ_CHECK(cert_equal(x, back));
		X509_free(back);
	}
	OPENSSL_free(der);
	free(cert_subject(x));
	free(cert_issuer(x));
	free(cert_subject_rfc2253(x));
	if ((s = cert_sha1_colons(x)) != NULL)
		FUZZ_CHECK(strlen(s) == 59);
	free(s);
	if ((s = cert_sha1_hex(x)) != NULL)
		FUZZ_CHECK(strlen(s) == 40);
	free(s);
	free(cert_serial_hex(x));
	t = cert_not_before(x);
	cert_time_str(t, when, sizeof(when));
	t = cert_not_after(x);
	cert_time_iso(t, when, sizeof(when));
	(void)cert_days_left(x, 0);
	(void)cert_days_left(x, (time_t)4102444800LL);
	(void)cert_is_self_signed(x);
	(void)cert_has_aki(x);
	(void)cert_san_has_dns(x, "vcsa1.example.com");
	FUZZ_CHECK(cert_equal(x, x));
	if ((pk = cert_pubkey(x)) != NULL) {
		(void)cert_key_matches(x, pk);
		EVP_PKEY_free(pk);
	}
	if ((full = cert_full(x)) != NULL) {
		FUZZ_CHECK(cert_equal(x, full));
		X509_free(full);
	}
	/* As check verifies chains: the leaf against the rest, any time. */
	(void)cert_verify(x, chain, chain, CERT_ANY_TIME, &why);
	ERR_clear_error();
}

#endif
