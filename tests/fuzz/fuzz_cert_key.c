/*
 * fuzz_cert_key.c - cert_parse_key (engine/cert.c) on what stores and the
 * directory hand over as a private key: vecs-cli getkey output and the VMCA
 * key (PEM, PKCS#8 or traditional, maybe encrypted: never a pass phrase
 * prompt), the vmwSTSPrivateKey value (DER PKCS#8), or anything else.
 *
 * Invariants: a key that parses can be written as PKCS#8 PEM and that
 * parses back to the same key; nothing is left on OpenSSL's error queue.
 */
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "cert.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	EVP_PKEY *key = NULL, *back = NULL;
	const char *why = NULL;
	BIO	*bio;
	char	*pem;
	long	 len;

	if (cert_parse_key(data, size, &key, &why) == -1) {
		FUZZ_CHECK(key == NULL && why != NULL);
		FUZZ_CHECK(ERR_peek_error() == 0);
		return 0;
	}
	FUZZ_CHECK(key != NULL);
	if ((bio = BIO_new(BIO_s_mem())) != NULL &&
	    PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) &&
	    (len = BIO_get_mem_data(bio, &pem)) > 0) {
		FUZZ_CHECK(cert_parse_key((const unsigned char *)pem,
		    (size_t)len, &back, &why) == 0);
		FUZZ_CHECK(EVP_PKEY_eq(key, back) == 1);
		EVP_PKEY_free(back);
	}
	BIO_free(bio);
	EVP_PKEY_free(key);
	ERR_clear_error();
	return 0;
}
