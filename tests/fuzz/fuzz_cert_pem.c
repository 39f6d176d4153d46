/*
 * fuzz_cert_pem.c - the PEM side of engine/cert.c: cert_parse_pem_chain
 * (VECS entries, the VMCA root, snapshot items) and cert_is_pem_crl
 * (TRUSTED_ROOT_CRLS), on the same bytes, as a store entry may hold
 * either. Keys are fuzz_cert_key's.
 *
 * Every certificate that parses goes through all the accessors the engine
 * uses (certcheck.h); its DER parses back to the same certificate. A chain
 * that parses is never empty. Nothing is left on OpenSSL's error queue.
 */
#include <openssl/err.h>

#include "cert.h"
#include "certcheck.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	STACK_OF(X509) *sk = NULL;
	const char *why = NULL;
	int	 i;

	if (cert_parse_pem_chain((const char *)data, size, &sk, &why) == 0) {
		FUZZ_CHECK(sk != NULL && sk_X509_num(sk) > 0);
		for (i = 0; i < sk_X509_num(sk); i++)
			fuzz_use_cert(sk_X509_value(sk, i), sk);
	} else
		FUZZ_CHECK(sk == NULL && why != NULL);
	(void)cert_is_pem_crl((const char *)data, size);
	sk_X509_pop_free(sk, X509_free);
	/* Nothing may be left on OpenSSL's error queue for the next one. */
	FUZZ_CHECK(ERR_peek_error() == 0);
	return 0;
}
