/*
 * fuzz_crl_der.c - the CRLs of TRUSTED_ROOT_CRLS (cert_is_pem_crl), at
 * the DER level: the input is a CRL's DER, wrapped in the strict PEM form
 * the appliance's tools write, so that mutations reach the DER grammar
 * (fuzz_cert_pem mutates the base64 text). cert.c reads the common CRL
 * with a grammar of its own and leaves the rest to OpenSSL: its verdict
 * must be d2i_X509_CRL's on every input. Nothing is left on OpenSSL's
 * error queue.
 */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cert.h"
#include "fuzz.h"

#define BEGIN	"-----BEGIN X509 CRL-----\n"
#define END	"-----END X509 CRL-----\n"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const unsigned char *p = data;
	X509_CRL *crl;
	char	*pem, *o;
	size_t	 i, n;
	int	 want;

	if (size > 1 << 16)
		return 0;
	crl = d2i_X509_CRL(NULL, &p, (long)size);
	want = crl != NULL;
	X509_CRL_free(crl);
	ERR_clear_error();

	/* 48 bytes (64 characters) a line, as PEM_write does. */
	n = sizeof(BEGIN) + (size + 47) / 48 * 66 + sizeof(END);
	if ((pem = malloc(n)) == NULL)
		return 0;
	o = pem + sprintf(pem, "%s", BEGIN);
	for (i = 0; i < size; i += 48) {
		size_t	 k = size - i < 48 ? size - i : 48;

		o += EVP_EncodeBlock((unsigned char *)o, data + i, (int)k);
		*o++ = '\n';
	}
	o += sprintf(o, "%s", END);
	FUZZ_CHECK(cert_is_pem_crl(pem, (size_t)(o - pem)) == want);
	free(pem);
	FUZZ_CHECK(ERR_peek_error() == 0);
	return 0;
}
