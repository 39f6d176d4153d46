/*
 * issue.c - keys and certificates from plan profiles (struct cert_profile).
 * See issue.h.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "cert.h"
#include "issue.h"

/* OpenSSL's reason for the last failure, for a message. */
static const char *
ossl_why(void)
{
	const char	*r = ERR_reason_error_string(ERR_peek_last_error());

	return r != NULL ? r : "OpenSSL error";
}

#define SKEW_SECONDS	300

/* "CN=a, OU=b, DC=c" -> X509_NAME, in that order. Values hold no comma. */
static X509_NAME *
parse_subject(const char *s)
{
	X509_NAME *n = X509_NAME_new();
	char	*copy = strdup(s), *tok, *save = NULL, *eq;

	if (n == NULL || copy == NULL)
		goto fail;
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		if ((eq = strchr(tok, '=')) == NULL)
			goto fail;
		*eq = '\0';
		if (!X509_NAME_add_entry_by_txt(n, tok, MBSTRING_UTF8,
		    (unsigned char *)eq + 1, -1, -1, 0))
			goto fail;
	}
	free(copy);
	return n;
fail:
	free(copy);
	X509_NAME_free(n);
	return NULL;
}

/* "DNS:a,IP:b", the SAN entries for OpenSSL's configuration; NULL when
 * there are none (or out of memory: *oom). */
static char *
san_list(const struct cert_profile *p, int *oom)
{
	struct buf b = BUF_INIT;
	size_t	 i;

	*oom = 0;
	for (i = 0; i < p->nsan; i++)
		if (buf_printf(&b, "%s%s", i ? "," : "", p->san[i].entry) ==
		    -1) {
			*oom = 1;
			buf_free(&b);
			return NULL;
		}
	return b.len > 0 ? buf_detach(&b) : NULL;
}

/* The extensions a profile asks for, as OpenSSL's config strings; NULL
 * where the profile has none. */
struct ext_text {
	char	*ku;	/* "critical,digitalSignature,..." */
	char	*eku;
	char	*san;
};

static void
ext_text_free(struct ext_text *t)
{
	free(t->ku);
	free(t->eku);
	free(t->san);
}

/* 0, or -1 out of memory. */
static int
ext_text_make(const struct cert_profile *p, struct ext_text *t)
{
	char	*ku = NULL;
	int	 oom = 0;

	memset(t, 0, sizeof(*t));
	if ((ku = plan_usage_names(p->key_usage, 0, ",")) == NULL ||
	    (t->eku = plan_usage_names(p->ext_key_usage, 1, ",")) == NULL ||
	    ((t->san = san_list(p, &oom)) == NULL && oom) ||
	    (*ku != '\0' && asprintf(&t->ku, "critical,%s", ku) == -1)) {
		t->ku = NULL;
		free(ku);
		ext_text_free(t);
		return -1;
	}
	free(ku);
	if (*t->eku == '\0') {
		free(t->eku);
		t->eku = NULL;
	}
	return 0;
}

static int
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int	 ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return 0;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

/*
 * Keys in the making: a queue of sizes that worker threads take from one at
 * a time (RSA generation times vary several-fold, so a fixed share per
 * thread would leave one core idle at the end), and the finisher joins in.
 */
struct keygen {
	pthread_mutex_t	 mu;
	int		*bits;
	EVP_PKEY	**keys;
	size_t		 n;
	size_t		 next;		/* the first key nobody took yet */
	atomic_int	 stop;		/* abandoned: stop, even mid-key */
	pthread_t	 th[8];
	size_t		 nth;
};

/* OpenSSL calls it as the key is made: 0 stops it. */
static int
keygen_cb(EVP_PKEY_CTX *ctx)
{
	struct keygen *kg = EVP_PKEY_CTX_get_app_data(ctx);

	return !atomic_load(&kg->stop);
}

/*
 * One RSA key; NULL when it could not be made or was abandoned: a 16384-bit
 * key takes minutes, and a refused apply or a Ctrl+C must not wait for it.
 */
static EVP_PKEY *
rsa_key(struct keygen *kg, int bits)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *k = NULL;

	if (ctx == NULL || EVP_PKEY_keygen_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, bits) <= 0)
		goto out;
	EVP_PKEY_CTX_set_app_data(ctx, kg);
	EVP_PKEY_CTX_set_cb(ctx, keygen_cb);
	if (EVP_PKEY_generate(ctx, &k) <= 0) {
		EVP_PKEY_free(k);
		k = NULL;
	}
out:
	EVP_PKEY_CTX_free(ctx);
	return k;
}

static void *
keygen_run(void *arg)
{
	struct keygen *kg = arg;
	size_t	 i;

	for (;;) {
		pthread_mutex_lock(&kg->mu);
		while (kg->next < kg->n && kg->bits[kg->next] <= 0)
			kg->next++;
		if (atomic_load(&kg->stop) || kg->next == kg->n) {
			pthread_mutex_unlock(&kg->mu);
			return NULL;
		}
		i = kg->next++;
		pthread_mutex_unlock(&kg->mu);
		/* keys[i] is this thread's alone until the join. */
		kg->keys[i] = rsa_key(kg, kg->bits[i]);
	}
}

static void
keygen_free(struct keygen *kg)
{
	size_t	 i;

	for (i = 0; i < kg->n; i++)
		EVP_PKEY_free(kg->keys[i]);
	pthread_mutex_destroy(&kg->mu);
	free(kg->keys);
	free(kg->bits);
	free(kg);
}

int
issue_keys_start(struct keygen **out, const int *bits, size_t n)
{
	struct keygen *kg = NULL;
	sigset_t all, old;
	long	 cores = sysconf(_SC_NPROCESSORS_ONLN);
	size_t	 want = 0, i;

	*out = NULL;
	if ((kg = calloc(1, sizeof(*kg))) == NULL)
		return -1;
	atomic_init(&kg->stop, 0);
	if ((kg->bits = calloc(n + 1, sizeof(*kg->bits))) == NULL ||
	    (kg->keys = calloc(n + 1, sizeof(*kg->keys))) == NULL ||
	    pthread_mutex_init(&kg->mu, NULL) != 0) {
		free(kg->bits);
		free(kg->keys);
		free(kg);
		return -1;
	}
	kg->n = n;
	for (i = 0; i < n; i++)
		if ((kg->bits[i] = bits[i]) > 0)
			want++;
	if (cores < 1)
		cores = 1;
	if (want > (size_t)cores)
		want = (size_t)cores;
	if (want > sizeof(kg->th) / sizeof(kg->th[0]))
		want = sizeof(kg->th) / sizeof(kg->th[0]);
	/* The workers take no signal: SIGINT and the like are the main
	 * thread's, which acts on them between changes. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (kg->nth = 0; kg->nth < want; kg->nth++)
		if (pthread_create(&kg->th[kg->nth], NULL, keygen_run,
		    kg) != 0)
			break;	/* issue_keys_finish makes the rest */
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	*out = kg;
	return 0;
}

int
issue_keys_finish(struct keygen *kg, EVP_PKEY **keys)
{
	size_t	 i;
	int	 ok = 1;

	keygen_run(kg);		/* what the workers have not taken yet */
	for (i = 0; i < kg->nth; i++)
		pthread_join(kg->th[i], NULL);
	for (i = 0; i < kg->n; i++)
		if (kg->bits[i] > 0 && kg->keys[i] == NULL)
			ok = 0;
	if (ok) {
		memcpy(keys, kg->keys, kg->n * sizeof(*keys));
		memset(kg->keys, 0, kg->n * sizeof(*kg->keys));
	} else
		memset(keys, 0, kg->n * sizeof(*keys));
	keygen_free(kg);
	return ok ? 0 : -1;
}

void
issue_keys_abandon(struct keygen *kg)
{
	size_t	 i;

	if (kg == NULL)
		return;
	atomic_store(&kg->stop, 1);
	for (i = 0; i < kg->nth; i++)
		pthread_join(kg->th[i], NULL);
	keygen_free(kg);
}

int
issue_with_key(const struct cert_profile *profile, X509 *issuer,
    EVP_PKEY *issuer_key, time_t now, EVP_PKEY *made, X509 **cert,
    EVP_PKEY **key, struct buf *err)
{
	X509	*x = NULL;
	EVP_PKEY *k = NULL;
	X509_NAME *subj = NULL;
	BIGNUM	*serial = NULL;
	unsigned char rnd[16];
	struct ext_text et = { NULL, NULL, NULL };
	int	 bits = profile->key_bits, days = profile->validity_days;
	int	 ca = profile->ca;
	time_t	 nb = now - SKEW_SECONDS, na = now + (time_t)days * 86400;
	int	 ret = -1;

	*cert = NULL;
	*key = NULL;
	if (bits < 2048 || bits > 16384 || days < 1) {
		buf_printf(err, "profile asks for RSA %d, %d days", bits, days);
		goto out;
	}
	if (issuer != NULL && cert_not_after(issuer) < na)
		na = cert_not_after(issuer);	/* never outlive the root */
	if (made != NULL)
		k = made;
	else if ((k = EVP_RSA_gen((unsigned int)bits)) == NULL) {
		buf_printf(err, "cannot generate an RSA %d key", bits);
		goto out;
	}
	if ((subj = parse_subject(profile->subject)) == NULL) {
		buf_printf(err, "cannot use subject %s", profile->subject);
		goto out;
	}
	if ((x = X509_new()) == NULL || !X509_set_version(x, 2) ||
	    RAND_bytes(rnd, sizeof(rnd)) != 1)
		goto ossl;
	rnd[0] &= 0x7f;		/* positive */
	if ((serial = BN_bin2bn(rnd, sizeof(rnd), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) == NULL ||
	    !X509_set_subject_name(x, subj) ||
	    !X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : subj) ||
	    X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &nb) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), 0, 0, &na) == NULL ||
	    !X509_set_pubkey(x, k))
		goto ossl;
	/* The subject key id first: the authority key id of a self-signed
	 * certificate is computed from it. */
	if (!add_ext(x, issuer, NID_basic_constraints, ca ?
	    "critical,CA:TRUE" : "critical,CA:FALSE") ||
	    !add_ext(x, issuer, NID_subject_key_identifier, "hash") ||
	    (issuer != NULL && !add_ext(x, issuer,
	    NID_authority_key_identifier, "keyid:always")))
		goto ossl;
	if (ext_text_make(profile, &et) == -1 ||
	    (et.ku != NULL && !add_ext(x, issuer, NID_key_usage, et.ku)) ||
	    (et.eku != NULL && !add_ext(x, issuer, NID_ext_key_usage, et.eku)) ||
	    (et.san != NULL && !add_ext(x, issuer, NID_subject_alt_name,
	    et.san)))
		goto ossl;
	if (!X509_sign(x, issuer_key != NULL ? issuer_key : k, EVP_sha256()))
		goto ossl;
	*cert = x;
	*key = k;
	x = NULL;
	k = NULL;
	ret = 0;
	goto out;
ossl:
	buf_printf(err, "cannot build the certificate %s: %s",
	    profile->subject, ossl_why());
out:
	ERR_clear_error();
	ext_text_free(&et);
	BN_free(serial);
	X509_NAME_free(subj);
	X509_free(x);
	/* A key made beforehand stays the caller's when this fails. */
	if (k != made)
		EVP_PKEY_free(k);
	return ret;
}

int
der_of_cert(X509 *x, unsigned char **der, size_t *len)
{
	unsigned char *p = NULL;
	int	 n;

	if ((n = i2d_X509(x, &p)) <= 0)
		return -1;
	*der = malloc((size_t)n);
	if (*der != NULL)
		memcpy(*der, p, (size_t)n);
	OPENSSL_free(p);
	*len = (size_t)n;
	return *der != NULL ? 0 : -1;
}

static int
bio_to_buf(BIO *bio, struct buf *out)
{
	char	*p;
	long	 n = BIO_get_mem_data(bio, &p);

	return n >= 0 ? buf_add(out, p, (size_t)n) : -1;
}

int
pem_of_cert(X509 *x, struct buf *out)
{
	BIO	*bio = BIO_new(BIO_s_mem());
	int	 ret = -1;

	if (bio != NULL && PEM_write_bio_X509(bio, x))
		ret = bio_to_buf(bio, out);
	BIO_free(bio);
	return ret;
}

int
pem_of_key(EVP_PKEY *k, struct buf *out)
{
	BIO	*bio = BIO_new(BIO_s_secmem());
	int	 ret = -1;

	if (bio != NULL && PEM_write_bio_PKCS8PrivateKey(bio, k, NULL, NULL,
	    0, NULL, NULL))
		ret = bio_to_buf(bio, out);
	BIO_free(bio);
	return ret;
}

int
der_of_key(EVP_PKEY *k, struct buf *out)
{
	BIO	*bio = BIO_new(BIO_s_secmem());
	int	 ret = -1;

	if (bio != NULL && i2d_PKCS8PrivateKey_bio(bio, k, NULL, NULL, 0,
	    NULL, NULL))
		ret = bio_to_buf(bio, out);
	BIO_free(bio);
	return ret;
}

/* One extension of a request, from its configuration text. */
static int
req_ext(STACK_OF(X509_EXTENSION) *exts, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, NULL, NULL, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return 0;
	if (!sk_X509_EXTENSION_push(exts, ext)) {
		X509_EXTENSION_free(ext);
		return 0;
	}
	return 1;
}

int
issue_csr(const struct cert_profile *profile, EVP_PKEY *key, X509_REQ **out,
    struct buf *err)
{
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	X509_REQ *req = X509_REQ_new();
	X509_NAME *subj = NULL;
	struct ext_text et = { NULL, NULL, NULL };
	int	 ret = -1;

	*out = NULL;
	if ((subj = parse_subject(profile->subject)) == NULL) {
		buf_printf(err, "cannot use subject %s", profile->subject);
		goto out;
	}
	if (exts == NULL || req == NULL || !X509_REQ_set_version(req, 0) ||
	    !X509_REQ_set_subject_name(req, subj) ||
	    !X509_REQ_set_pubkey(req, key) ||
	    ext_text_make(profile, &et) == -1)
		goto ossl;
	/* What vCenter needs of it, asked for: a CA signs what it is asked. */
	if (!req_ext(exts, NID_basic_constraints, "critical,CA:FALSE") ||
	    (et.ku != NULL && !req_ext(exts, NID_key_usage, et.ku)) ||
	    (et.eku != NULL && !req_ext(exts, NID_ext_key_usage, et.eku)) ||
	    (et.san != NULL && !req_ext(exts, NID_subject_alt_name, et.san)) ||
	    !X509_REQ_add_extensions(req, exts) ||
	    !X509_REQ_sign(req, key, EVP_sha256()))
		goto ossl;
	*out = req;
	req = NULL;
	ret = 0;
	goto out;
ossl:
	buf_printf(err, "cannot build the request %s: %s", profile->subject,
	    ossl_why());
out:
	ERR_clear_error();
	ext_text_free(&et);
	X509_NAME_free(subj);
	X509_REQ_free(req);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return ret;
}
