/*
 * fuzz_cert_der.c - the DER side of engine/cert.c: cert_parse_der
 * (userCertificate, vmwSTSTrustedCertificateChain and Lookup Service trust
 * values from vmdir, which may be anything). Keys are fuzz_cert_key's.
 *
 * A certificate that parses goes through all the accessors the engine uses
 * (certcheck.h) and its DER parses back to the same certificate; trailing
 * bytes are refused.
 */
#include <openssl/err.h>

#include "cert.h"
#include "certcheck.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	X509	*x = NULL;
	const char *why = NULL;

	if (cert_parse_der(data, size, &x, &why) == 0) {
		unsigned char *der = NULL;
		int	 n;

		FUZZ_CHECK(x != NULL);
		/* All of the input is the certificate: re-encoding it gives
		 * as many bytes (the encoding kept is the one read). */
		n = i2d_X509(x, &der);
		FUZZ_CHECK(n > 0 && (size_t)n == size);
		OPENSSL_free(der);
		fuzz_use_cert(x, NULL);
		X509_free(x);
	} else
		FUZZ_CHECK(x == NULL && why != NULL);
	FUZZ_CHECK(ERR_peek_error() == 0);
	return 0;
}
