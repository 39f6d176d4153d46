/*
 * fuzz_cert_pem.c - the PEM side of engine/cert.c: cert_parse_pem_chain
 * (VECS entries, the VMCA root, snapshot items) and cert_is_pem_crl
 * (TRUSTED_ROOT_CRLS), on the same bytes, as a store entry may hold
 * either. Keys are fuzz_cert_key's.
 *
 * Every certificate that parses goes through all the accessors the engine
 * uses (certcheck.h); its DER parses back to the same certificate. A chain
 * that parses is never empty. Nothing is left on OpenSSL's error queue.
 *
 * Both read PEM in the appliance's strict form themselves, and CRLs with a
 * grammar of their own (cert.c): each answer is compared with OpenSSL's
 * own readers (PEM_read_bio_X509 block after block, PEM_read_bio_X509_CRL),
 * as cert.c used them before: the same verdict, the same certificates.
 */
#include <limits.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "cert.h"
#include "certcheck.h"
#include "fuzz.h"

static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* The chain as OpenSSL's PEM reader gives it: NULL when it refuses it. */
static STACK_OF(X509) *
openssl_chain(const uint8_t *data, size_t size)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	BIO	*bio = BIO_new_mem_buf(data, (int)size);
	X509	*x;
	unsigned long e;

	FUZZ_CHECK(sk != NULL && bio != NULL);
	while ((x = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL)) != NULL)
		FUZZ_CHECK(sk_X509_push(sk, x));
	e = ERR_peek_last_error();
	if ((e != 0 && ERR_GET_REASON(e) != PEM_R_NO_START_LINE) ||
	    sk_X509_num(sk) == 0) {
		sk_X509_pop_free(sk, X509_free);
		sk = NULL;
	}
	ERR_clear_error();
	BIO_free(bio);
	return sk;
}

static int
openssl_crl(const uint8_t *data, size_t size)
{
	BIO	*bio = BIO_new_mem_buf(data, (int)size);
	X509_CRL *crl;

	FUZZ_CHECK(bio != NULL);
	crl = PEM_read_bio_X509_CRL(bio, NULL, no_passphrase, NULL);
	ERR_clear_error();
	BIO_free(bio);
	X509_CRL_free(crl);
	return crl != NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	STACK_OF(X509) *sk = NULL, *ref;
	const char *why = NULL;
	int	 i;

	if (size > INT_MAX)
		return 0;
	ref = openssl_chain(data, size);
	if (cert_parse_pem_chain((const char *)data, size, &sk, &why) == 0) {
		FUZZ_CHECK(sk != NULL && sk_X509_num(sk) > 0);
		FUZZ_CHECK(ref != NULL && sk_X509_num(ref) == sk_X509_num(sk));
		for (i = 0; i < sk_X509_num(sk); i++) {
			FUZZ_CHECK(cert_equal(sk_X509_value(sk, i),
			    sk_X509_value(ref, i)));
			fuzz_use_cert(sk_X509_value(sk, i), sk);
		}
	} else
		FUZZ_CHECK(sk == NULL && why != NULL && ref == NULL);
	FUZZ_CHECK(cert_is_pem_crl((const char *)data, size) ==
	    openssl_crl(data, size));
	sk_X509_pop_free(ref, X509_free);
	sk_X509_pop_free(sk, X509_free);
	/* Nothing may be left on OpenSSL's error queue for the next one. */
	FUZZ_CHECK(ERR_peek_error() == 0);
	return 0;
}
