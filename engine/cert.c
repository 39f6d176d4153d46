/*
 * cert.c - certificate helpers over OpenSSL 3. See cert.h.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/asn1t.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/x509v3.h>

#include "cert.h"

/*
 * Certificates are parsed in a library context with only the null provider.
 * OpenSSL 3.0 decodes every certificate's public key eagerly through its
 * provider decoders, which costs about 0.2 ms a certificate: seconds on an
 * appliance with thousands of trusted roots, and most certificates are only
 * read for their names and dates. With no decoder to find, the key stays
 * undecoded; the few certificates whose key matters (key matching, chain
 * verification) are decoded on demand in the default context (cert_full,
 * cert_pubkey). Created once, immutable afterwards: a cache, not state.
 */
static OSSL_LIB_CTX *lite_ctx;
static OSSL_PROVIDER *lite_null;

/* Certificates are parsed on pool.h's workers too: made under a lock. */
static pthread_mutex_t lite_mu = PTHREAD_MUTEX_INITIALIZER;

static OSSL_LIB_CTX *
lite(void)
{
	OSSL_LIB_CTX *ctx;

	pthread_mutex_lock(&lite_mu);
	if (lite_ctx == NULL && (lite_ctx = OSSL_LIB_CTX_new()) != NULL &&
	    (lite_null = OSSL_PROVIDER_load(lite_ctx, "null")) == NULL) {
		OSSL_LIB_CTX_free(lite_ctx);
		lite_ctx = NULL;
	}
	ctx = lite_ctx;
	pthread_mutex_unlock(&lite_mu);
	return ctx;		/* NULL: the default context, just slower */
}

void
cert_cleanup(void)
{
	pthread_mutex_lock(&lite_mu);
	if (lite_null != NULL)
		OSSL_PROVIDER_unload(lite_null);
	OSSL_LIB_CTX_free(lite_ctx);
	lite_null = NULL;
	lite_ctx = NULL;
	pthread_mutex_unlock(&lite_mu);
}

X509 *
cert_full(X509 *x)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	X509	*full = NULL;
	int	 n;

	if ((n = i2d_X509(x, &der)) <= 0)
		return NULL;
	p = der;
	full = d2i_X509(NULL, &p, n);
	OPENSSL_free(der);
	ERR_clear_error();
	return full;
}

EVP_PKEY *
cert_pubkey(X509 *x)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	EVP_PKEY *pk;
	int	 n;

	if ((n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der)) <= 0)
		return NULL;
	p = der;
	pk = d2i_PUBKEY(NULL, &p, n);
	OPENSSL_free(der);
	ERR_clear_error();
	return pk;
}

/*
 * The pass phrase callback of every PEM read: none. With a NULL callback
 * OpenSSL asks on the terminal for any block marked encrypted (an encrypted
 * key, or "Proc-Type: 4,ENCRYPTED" on a certificate), and a check run from
 * a shell would stop there; vcrotate knows no pass phrase, so such a block
 * is just unreadable.
 */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/*
 * The cache: an open-addressing table of the certificates decoded, keyed by
 * the bytes they were decoded from (a copy), under one lock. A certificate
 * enters it decoded and with its extensions cached (below), so that the
 * threads that share it only ever read it.
 */
struct cache_slot {
	uint64_t	 hash;
	unsigned char	*der;		/* NULL: an empty slot */
	size_t		 len;
	size_t		 used;		/* the bytes of len d2i took */
	X509		*x;		/* the cache's own reference */
};

struct cert_cache {
	pthread_mutex_t	 mu;
	struct cache_slot *slots;
	size_t		 cap;		/* a power of two */
	size_t		 n;
};

struct cert_cache *
cert_cache_new(void)
{
	struct cert_cache *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if (pthread_mutex_init(&c->mu, NULL) != 0) {
		free(c);
		return NULL;
	}
	return c;
}

void
cert_cache_free(struct cert_cache *c)
{
	size_t	 i;

	if (c == NULL)
		return;
	for (i = 0; i < c->cap; i++)
		if (c->slots[i].der != NULL) {
			free(c->slots[i].der);
			X509_free(c->slots[i].x);
		}
	free(c->slots);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

/* FNV-1a over the bytes: the table's hash, not a digest. */
static uint64_t
bytes_hash(const unsigned char *d, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t	 i;

	for (i = 0; i < len; i++)
		h = (h ^ d[i]) * 0x100000001b3ULL;
	return h;
}

/* The slot of these bytes, or the empty slot where they would go; c->mu
 * held, c->cap > 0. */
static struct cache_slot *
cache_find(struct cert_cache *c, uint64_t h, const unsigned char *der,
    size_t len)
{
	size_t	 i = (size_t)h & (c->cap - 1);

	for (;; i = (i + 1) & (c->cap - 1)) {
		struct cache_slot *s = &c->slots[i];

		if (s->der == NULL || (s->hash == h && s->len == len &&
		    memcmp(s->der, der, len) == 0))
			return s;
	}
}

/* Twice the slots (at most half of them in use); 0 out of memory. */
static int
cache_grow(struct cert_cache *c)
{
	struct cache_slot *old = c->slots;
	size_t	 i, ocap = c->cap, ncap = ocap ? ocap * 2 : 256;

	if ((c->slots = calloc(ncap, sizeof(*c->slots))) == NULL) {
		c->slots = old;
		return 0;
	}
	c->cap = ncap;
	for (i = 0; i < ocap; i++)
		if (old[i].der != NULL)
			*cache_find(c, old[i].hash, old[i].der, old[i].len) =
			    old[i];
	free(old);
	return 1;
}

/* The certificate decoded before from these bytes, with a reference for
 * the caller; NULL if none. */
static X509 *
cache_get(struct cert_cache *c, uint64_t h, const unsigned char *der,
    size_t len, size_t *used)
{
	struct cache_slot *s;
	X509	*x = NULL;

	pthread_mutex_lock(&c->mu);
	if (c->cap > 0 && (s = cache_find(c, h, der, len))->der != NULL &&
	    X509_up_ref(s->x) == 1) {
		x = s->x;
		*used = s->used;
	}
	pthread_mutex_unlock(&c->mu);
	return x;
}

/*
 * Remembers x, just decoded from these bytes. Another thread may have
 * put the same bytes first: its certificate is then the one to use, and
 * x is freed. Returns the certificate, with the caller's reference. Out
 * of memory, x is simply not remembered.
 */
static X509 *
cache_put(struct cert_cache *c, uint64_t h, const unsigned char *der,
    size_t len, size_t used, X509 *x)
{
	struct cache_slot *s;
	unsigned char *copy;

	pthread_mutex_lock(&c->mu);
	if ((c->n + 1) * 2 > c->cap && !cache_grow(c))
		goto out;
	s = cache_find(c, h, der, len);
	if (s->der != NULL) {
		if (X509_up_ref(s->x) == 1) {
			X509_free(x);
			x = s->x;
		}
		goto out;
	}
	if ((copy = malloc(len ? len : 1)) == NULL || X509_up_ref(x) != 1) {
		free(copy);
		goto out;
	}
	memcpy(copy, der, len);
	s->hash = h;
	s->der = copy;
	s->len = len;
	s->used = used;
	s->x = x;
	c->n++;
out:
	pthread_mutex_unlock(&c->mu);
	return x;
}

/*
 * One certificate from DER in the lite context, as d2i_X509 reads it (it
 * may take fewer bytes than len: *used), through the cache c (NULL: none).
 * A cached certificate has its extensions cached too, while only this
 * thread holds it; the error queue is left as it was. NULL when it does
 * not decode (OpenSSL's error queued, as d2i_X509 leaves it).
 */
static X509 *
decode_der(struct cert_cache *c, const unsigned char *der, size_t len,
    size_t *used)
{
	const unsigned char *p = der;
	uint64_t h = 0;
	X509	*x, *nx;

	if (c != NULL) {
		h = bytes_hash(der, len);
		if ((x = cache_get(c, h, der, len, used)) != NULL)
			return x;
	}
	if (len > LONG_MAX || (x = X509_new_ex(lite(), NULL)) == NULL)
		return NULL;
	if ((nx = d2i_X509(&x, &p, (long)len)) == NULL) {
		X509_free(x);
		return NULL;
	}
	*used = (size_t)(p - der);
	if (c == NULL)
		return nx;
	ERR_set_mark();
	(void)X509_get_extension_flags(nx);
	ERR_pop_to_mark();
	return cache_put(c, h, der, len, *used, nx);
}

/*
 * PEM in the form the appliance's tools write it, read without OpenSSL's
 * PEM reader (a BIO read line by line, then EVP_DecodeUpdate): about four
 * times faster, and decoding is most of the reading of 7,000 VECS entries.
 * The strict form: "-----BEGIN LABEL-----\n", lines of base64 each ended
 * by a newline (none empty, no space, no CR), the padding ('=', at most
 * two) only at the very end, "-----END LABEL-----", then a newline or the
 * end of the text. For such a block OpenSSL's reader returns the standard
 * base64 decoding of the lines (no header: base64 has no ':'; no line
 * rule applies without one; the bits after the last byte are ignored by
 * both), which is what pem_strict gives. Anything else is left to OpenSSL:
 * pem_strict answers 0 and its callers read the whole text with OpenSSL,
 * as before. tests/fuzz/fuzz_cert_pem.c compares both on every input (its
 * corpus, replayed by t0050, holds the edge cases).
 */
static unsigned char b64_value[256];	/* the value + 1; 0: not base64 */
static pthread_once_t b64_once = PTHREAD_ONCE_INIT;

static void
b64_init(void)
{
	static const char digits[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	int	 i;

	for (i = 0; i < 64; i++)
		b64_value[(unsigned char)digits[i]] = (unsigned char)(i + 1);
}

/* Whether p (before end) starts with "-----WORD LABEL-----". */
static int
pem_line(const char *p, const char *end, const char *word, const char *label)
{
	size_t	 wl = strlen(word), ll = strlen(label);

	return (size_t)(end - p) >= 5 + wl + 1 + ll + 5 &&
	    memcmp(p, "-----", 5) == 0 && memcmp(p + 5, word, wl) == 0 &&
	    p[5 + wl] == ' ' && memcmp(p + 6 + wl, label, ll) == 0 &&
	    memcmp(p + 6 + wl + ll, "-----", 5) == 0;
}

/*
 * The block labelled label at *pp (before end), in the strict form above:
 * 1, its DER (malloc'd) in *der, *pp past it; 0 when it is not in that
 * form (or out of memory: OpenSSL then decides, or fails alike).
 */
static int
pem_strict(const char **pp, const char *end, const char *label,
    unsigned char **der, size_t *derlen)
{
	const char *p = *pp, *q;
	unsigned char *out, *o;
	unsigned long acc = 0;
	int	 k = 0, pad = 0, lines = 0;

	pthread_once(&b64_once, b64_init);
	if (!pem_line(p, end, "BEGIN", label))
		return 0;
	p += 16 + strlen(label);
	if (p == end || *p++ != '\n' ||
	    (out = malloc((size_t)(end - p) / 4 * 3 + 3)) == NULL)
		return 0;
	for (o = out; p < end && *p != '-'; p = q + 1, lines++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl != NULL ? nl : end;

		/* Whole groups of four as long as nothing is pending: any
		 * character not base64 ('=' too) leaves them to the loop
		 * below, which judges it. */
		for (q = p; k == 0 && pad == 0 && le - q >= 4; q += 4) {
			unsigned a = b64_value[(unsigned char)q[0]],
			    b = b64_value[(unsigned char)q[1]],
			    c = b64_value[(unsigned char)q[2]],
			    d = b64_value[(unsigned char)q[3]];
			unsigned long g;

			if (a == 0 || b == 0 || c == 0 || d == 0)
				break;
			g = (unsigned long)(a - 1) << 18 |
			    (unsigned long)(b - 1) << 12 |
			    (unsigned long)(c - 1) << 6 | (unsigned long)(d - 1);
			*o++ = (unsigned char)(g >> 16);
			*o++ = (unsigned char)(g >> 8);
			*o++ = (unsigned char)g;
		}
		for (; q < le; q++) {
			if (*q == '=' && ++pad <= 2)
				continue;
			if (pad > 0 || b64_value[(unsigned char)*q] == 0)
				goto no;
			acc = acc << 6 | (unsigned long)(b64_value[(unsigned char)
			    *q] - 1);
			if (++k == 4) {
				*o++ = (unsigned char)(acc >> 16);
				*o++ = (unsigned char)(acc >> 8);
				*o++ = (unsigned char)acc;
				acc = 0;
				k = 0;
			}
		}
		if (q == p || q == end)
			goto no;	/* an empty line, or no newline */
	}
	if (lines == 0 || !pem_line(p, end, "END", label))
		goto no;
	p += 14 + strlen(label);
	if (p < end && *p++ != '\n')
		goto no;
	if (k == 2 && pad == 2)
		*o++ = (unsigned char)(acc >> 4);
	else if (k == 3 && pad == 1) {
		*o++ = (unsigned char)(acc >> 10);
		*o++ = (unsigned char)(acc >> 2);
	} else if (k != 0 || pad != 0)
		goto no;
	*pp = p;
	*der = out;
	*derlen = (size_t)(o - out);
	return 1;
no:
	free(out);
	return 0;
}

/*
 * Every certificate of a text made only of strict CERTIFICATE blocks,
 * through the cache: 1 (sk filled, or *why set when one does not decode,
 * as OpenSSL's reader would say), 0 when the text is not of that form.
 */
static int
pem_chain_strict(struct cert_cache *c, const char *pem, size_t len,
    STACK_OF(X509) *sk, const char **why)
{
	const char *p = pem, *end = pem + len;
	unsigned char *der;
	size_t	 dlen, used;
	X509	*x;

	while (p < end) {
		if (!pem_strict(&p, end, PEM_STRING_X509, &der, &dlen)) {
			while (sk_X509_num(sk) > 0)
				X509_free(sk_X509_pop(sk));
			return 0;
		}
		x = decode_der(c, der, dlen, &used);
		free(der);
		if (x == NULL) {
			*why = "damaged PEM certificate";
			return 1;
		}
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			*why = "out of memory";
			return 1;
		}
	}
	if (sk_X509_num(sk) == 0)
		return 0;
	*why = NULL;
	return 1;
}

int
cert_parse_pem_chain(const char *pem, size_t len, STACK_OF(X509) **out,
    const char **why)
{
	return cert_cache_pem_chain(NULL, pem, len, out, why);
}

/*
 * PEM_read_bio_X509 block after block, as OpenSSL 3's PEM_ASN1_read_bio
 * does it (PEM_bytes_read_bio, then d2i_X509 on the bytes, which may hold
 * more than the certificate), with the decoding through the cache.
 */
int
cert_cache_pem_chain(struct cert_cache *c, const char *pem, size_t len,
    STACK_OF(X509) **out, const char **why)
{
	STACK_OF(X509) *sk = NULL;
	BIO	*bio = NULL;
	unsigned char *data = NULL;
	long	 dlen;
	size_t	 used;
	X509	*x;
	int	 ret = -1;

	*out = NULL;
	if (len > INT_MAX) {
		*why = "too large";
		return -1;
	}
	if ((sk = sk_X509_new_null()) == NULL) {
		*why = "out of memory";
		goto out;
	}
	*why = NULL;
	if (pem_chain_strict(c, pem, len, sk, why)) {
		if (*why != NULL)
			goto out;
		*out = sk;
		sk = NULL;
		ret = 0;
		goto out;
	}
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		*why = "out of memory";
		goto out;
	}
	while (PEM_bytes_read_bio(&data, &dlen, NULL, PEM_STRING_X509, bio,
	    no_passphrase, NULL)) {
		x = decode_der(c, data, (size_t)dlen, &used);
		OPENSSL_free(data);
		data = NULL;
		if (x == NULL) {
			*why = "damaged PEM certificate";
			goto out;
		}
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			*why = "out of memory";
			goto out;
		}
	}
	/* PEM_bytes_read_bio stops at end of input with PEM_R_NO_START_LINE;
	 * any other error means a damaged block. */
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
	return cert_cache_der(NULL, der, len, out, why);
}

int
cert_cache_der(struct cert_cache *c, const unsigned char *der, size_t len,
    X509 **out, const char **why)
{
	X509	*x;
	size_t	 used = 0;

	*out = NULL;
	if ((x = decode_der(c, der, len, &used)) == NULL) {
		ERR_clear_error();
		*why = "not a DER certificate";
		return -1;
	}
	if (used != len) {
		X509_free(x);
		*why = "trailing bytes after a DER certificate";
		return -1;
	}
	*out = x;
	return 0;
}

int
cert_value_is_pem(const unsigned char *data, size_t len)
{
	static const char begin[] = "-----BEGIN ";

	return len >= sizeof(begin) - 1 &&
	    memcmp(data, begin, sizeof(begin) - 1) == 0;
}

int
cert_parse_value(const unsigned char *data, size_t len, X509 **out,
    const char **why)
{
	return cert_cache_value(NULL, data, len, out, why);
}

int
cert_cache_value(struct cert_cache *c, const unsigned char *data, size_t len,
    X509 **out, const char **why)
{
	STACK_OF(X509) *sk = NULL;

	if (!cert_value_is_pem(data, len))
		return cert_cache_der(c, data, len, out, why);
	*out = NULL;
	if (cert_cache_pem_chain(c, (const char *)data, len, &sk, why) == -1)
		return -1;
	*out = sk_X509_shift(sk);
	sk_X509_pop_free(sk, X509_free);
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
			k = PEM_read_bio_PrivateKey(bio, NULL,
			    no_passphrase, NULL);
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

/*
 * Whether DER is a CRL as d2i_X509_CRL judges one, without what it builds
 * besides. OpenSSL 3 declares X509_CRL (crypto/x509/x_crl.c) as this
 * grammar plus two callbacks: crl_inf_cb sets a sort function, crl_cb
 * hashes the whole CRL (SHA-1, after encoding it again) and decodes and
 * caches its extensions and those of every revoked entry, recording what
 * it finds malformed in flags; neither refuses a CRL but out of memory.
 * The same grammar without them accepts exactly the same bytes, at about
 * two thirds of the cost (5,000 CRLs: 27 ms to 19 ms); tests/fuzz's
 * fuzz_cert_pem and fuzz_crl_der compare both on every input. The common
 * CRL does not even get that far (crl_strict, below).
 */
typedef struct {
	ASN1_INTEGER	*version;
	X509_ALGOR	*sig_alg;
	X509_NAME	*issuer;
	ASN1_TIME	*last_update;
	ASN1_TIME	*next_update;
	STACK_OF(X509_REVOKED) *revoked;
	STACK_OF(X509_EXTENSION) *extensions;
} CRL_TBS;

typedef struct {
	CRL_TBS		*tbs;
	X509_ALGOR	*sig_alg;
	ASN1_BIT_STRING	*signature;
} CRL_SHAPE;

ASN1_SEQUENCE(CRL_TBS) = {
	ASN1_OPT(CRL_TBS, version, ASN1_INTEGER),
	ASN1_SIMPLE(CRL_TBS, sig_alg, X509_ALGOR),
	ASN1_SIMPLE(CRL_TBS, issuer, X509_NAME),
	ASN1_SIMPLE(CRL_TBS, last_update, ASN1_TIME),
	ASN1_OPT(CRL_TBS, next_update, ASN1_TIME),
	ASN1_SEQUENCE_OF_OPT(CRL_TBS, revoked, X509_REVOKED),
	ASN1_EXP_SEQUENCE_OF_OPT(CRL_TBS, extensions, X509_EXTENSION, 0)
} static_ASN1_SEQUENCE_END(CRL_TBS)

ASN1_SEQUENCE(CRL_SHAPE) = {
	ASN1_SIMPLE(CRL_SHAPE, tbs, CRL_TBS),
	ASN1_SIMPLE(CRL_SHAPE, sig_alg, X509_ALGOR),
	ASN1_SIMPLE(CRL_SHAPE, signature, ASN1_BIT_STRING)
} static_ASN1_SEQUENCE_END(CRL_SHAPE)

/*
 * The common CRL, read without OpenSSL: CRL_SHAPE's grammar in the strict
 * form CAs write it, where every choice is one OpenSSL's reader accepts
 * too, so that what is accepted here OpenSSL accepts; anything else (BER,
 * long or odd lengths, high tags, negative or padded integers, names with
 * other than ASCII PrintableString, IA5String or UTF8String values, an
 * algorithm's parameters other than NULL, bytes after the CRL...) is left
 * to OpenSSL, which decides (about 60,000 instructions for the lab's
 * CRL against a few thousand here). tests/fuzz's fuzz_crl_der compares
 * the verdicts on every input.
 */
struct der {
	const unsigned char *p, *end;
};

/* The next element of d if its tag is tag, in DER with a length of at
 * most two bytes: 1, its content in *in, d past it; else 0. */
static int
der_take(struct der *d, unsigned char tag, struct der *in)
{
	const unsigned char *q = d->p;
	size_t	 len, k;

	if (d->end - q < 2 || q[0] != tag)
		return 0;
	len = q[1];
	q += 2;
	if (len & 0x80) {
		k = len & 0x7f;
		if (k == 0 || k > 2 || (size_t)(d->end - q) < k || q[0] == 0)
			return 0;
		len = k == 1 ? q[0] : (size_t)q[0] << 8 | q[1];
		q += k;
		if (len < 0x80)
			return 0;
	}
	if ((size_t)(d->end - q) < len)
		return 0;
	in->p = q;
	in->end = q + len;
	d->p = q + len;
	return 1;
}

static int
der_empty(const struct der *d)
{
	return d->p == d->end;
}

/* Whether d's next element has the tag tag: an optional element whose
 * content must then be judged. */
static int
der_next_is(const struct der *d, unsigned char tag)
{
	return !der_empty(d) && d->p[0] == tag;
}

/* A non-negative INTEGER without padding (c2i_ASN1_INTEGER's rules). */
static int
der_uint(struct der *d)
{
	struct der c;

	return der_take(d, V_ASN1_INTEGER, &c) && !der_empty(&c) &&
	    c.p[0] < 0x80 && !(c.end - c.p > 1 && c.p[0] == 0 && c.p[1] < 0x80);
}

/* An OBJECT IDENTIFIER c2i_ASN1_OBJECT accepts. */
static int
der_oid(struct der *d)
{
	struct der c;
	const unsigned char *q;

	if (!der_take(d, V_ASN1_OBJECT, &c) || der_empty(&c) ||
	    (c.end[-1] & 0x80))
		return 0;
	for (q = c.p; q < c.end; q++)
		if (*q == 0x80 && (q == c.p || !(q[-1] & 0x80)))
			return 0;
	return 1;
}

static int
der_digits(const unsigned char *p, size_t n)
{
	while (n-- > 0)
		if (*p < '0' || *p++ > '9')
			return 0;
	return 1;
}

/* A Time: UTCTime YYMMDDHHMMSSZ or GeneralizedTime YYYYMMDDHHMMSSZ. */
static int
der_time(struct der *d)
{
	struct der c;
	size_t	 n;

	if (der_take(d, V_ASN1_UTCTIME, &c))
		n = 12;
	else if (der_take(d, V_ASN1_GENERALIZEDTIME, &c))
		n = 14;
	else
		return 0;
	return (size_t)(c.end - c.p) == n + 1 && der_digits(c.p, n) &&
	    c.p[n] == 'Z';
}

/* AlgorithmIdentifier with NULL or no parameters. */
static int
der_algor(struct der *d)
{
	struct der c, nul;

	if (!der_take(d, V_ASN1_SEQUENCE | V_ASN1_CONSTRUCTED, &c) ||
	    !der_oid(&c))
		return 0;
	if (der_empty(&c))
		return 1;
	return der_take(&c, V_ASN1_NULL, &nul) && der_empty(&nul) &&
	    der_empty(&c);
}

/* A Name of SETs of one or more attributes, each value an ASCII
 * PrintableString, IA5String or UTF8String (x509_name_canon converts any
 * of them). */
static int
der_name(struct der *d)
{
	struct der name, set, atv, v;
	const unsigned char *q;

	if (!der_take(d, V_ASN1_SEQUENCE | V_ASN1_CONSTRUCTED, &name))
		return 0;
	while (!der_empty(&name)) {
		if (!der_take(&name, V_ASN1_SET | V_ASN1_CONSTRUCTED, &set) ||
		    der_empty(&set))
			return 0;
		while (!der_empty(&set)) {
			if (!der_take(&set, V_ASN1_SEQUENCE |
			    V_ASN1_CONSTRUCTED, &atv) || !der_oid(&atv) ||
			    !(der_take(&atv, V_ASN1_PRINTABLESTRING, &v) ||
			    der_take(&atv, V_ASN1_IA5STRING, &v) ||
			    der_take(&atv, V_ASN1_UTF8STRING, &v)) ||
			    !der_empty(&atv))
				return 0;
			for (q = v.p; q < v.end; q++)
				if (*q >= 0x80)
					return 0;
		}
	}
	return 1;
}

/* Extensions: one or more of { OID, BOOLEAN critical OPTIONAL, OCTET
 * STRING }. */
static int
der_extensions(struct der *d)
{
	struct der all, ext, c;

	if (!der_take(d, V_ASN1_SEQUENCE | V_ASN1_CONSTRUCTED, &all) ||
	    der_empty(&all))
		return 0;
	while (!der_empty(&all)) {
		if (!der_take(&all, V_ASN1_SEQUENCE | V_ASN1_CONSTRUCTED,
		    &ext) || !der_oid(&ext))
			return 0;
		if (der_take(&ext, V_ASN1_BOOLEAN, &c) &&
		    (c.end - c.p != 1 || (c.p[0] != 0 && c.p[0] != 0xff)))
			return 0;
		if (!der_take(&ext, V_ASN1_OCTET_STRING, &c) ||
		    !der_empty(&ext))
			return 0;
	}
	return 1;
}

static int
crl_strict(const unsigned char *der, size_t len)
{
	struct der all = { der, der + len }, crl, tbs, list, rev, x, sig;

	if (!der_take(&all, V_ASN1_SEQUENCE | V_ASN1_CONSTRUCTED, &crl) ||
	    !der_empty(&all) ||
	    !der_take(&crl, V_ASN1_SEQUENCE | V_ASN1_CONSTRUCTED, &tbs))
		return 0;
	if (der_next_is(&tbs, V_ASN1_INTEGER) && !der_uint(&tbs))
		return 0;
	if (!der_algor(&tbs) || !der_name(&tbs) || !der_time(&tbs))
		return 0;
	if ((der_next_is(&tbs, V_ASN1_UTCTIME) ||
	    der_next_is(&tbs, V_ASN1_GENERALIZEDTIME)) && !der_time(&tbs))
		return 0;
	if (der_take(&tbs, V_ASN1_SEQUENCE | V_ASN1_CONSTRUCTED, &list)) {
		if (der_empty(&list))
			return 0;
		while (!der_empty(&list))
			if (!der_take(&list, V_ASN1_SEQUENCE |
			    V_ASN1_CONSTRUCTED, &rev) || !der_uint(&rev) ||
			    !der_time(&rev) || (!der_empty(&rev) &&
			    !der_extensions(&rev)) || !der_empty(&rev))
				return 0;
	}
	if (der_take(&tbs, V_ASN1_CONTEXT_SPECIFIC | V_ASN1_CONSTRUCTED | 0,
	    &x) && (!der_extensions(&x) || !der_empty(&x)))
		return 0;
	return der_empty(&tbs) && der_algor(&crl) &&
	    der_take(&crl, V_ASN1_BIT_STRING, &sig) && !der_empty(&sig) &&
	    sig.p[0] == 0 && der_empty(&crl);
}

static int
der_is_crl(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	ASN1_VALUE *crl;

	if (crl_strict(der, len))
		return 1;
	if (len > LONG_MAX || (crl = ASN1_item_d2i(NULL, &p, (long)len,
	    ASN1_ITEM_rptr(CRL_SHAPE))) == NULL)
		return 0;
	ASN1_item_free(crl, ASN1_ITEM_rptr(CRL_SHAPE));
	return 1;
}

/* PEM_read_bio_X509_CRL takes the first CRL block and reads nothing after
 * it: a text that starts with a strict one (pem_strict) is that block. */
int
cert_is_pem_crl(const char *pem, size_t len)
{
	const char *p = pem;
	unsigned char *der;
	size_t	 dlen;
	BIO	*bio;
	X509_CRL *crl = NULL;
	int	 ok = 0;

	if (len > INT_MAX)
		return 0;
	if (pem_strict(&p, pem + len, PEM_STRING_X509_CRL, &der, &dlen)) {
		ok = der_is_crl(der, dlen);
		free(der);
	} else if ((bio = BIO_new_mem_buf(pem, (int)len)) != NULL) {
		crl = PEM_read_bio_X509_CRL(bio, NULL, no_passphrase, NULL);
		ok = crl != NULL;
		BIO_free(bio);
		X509_CRL_free(crl);
	}
	ERR_clear_error();
	return ok;
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
	EVP_PKEY *pub = cert_pubkey(x);
	int	 eq;

	eq = pub != NULL && key != NULL && EVP_PKEY_eq(pub, key) == 1;
	EVP_PKEY_free(pub);
	return eq;
}

/* Whether x names v (case-insensitive) in a SAN of type (GEN_DNS or
 * GEN_EMAIL: both IA5Strings). */
static int
san_has(X509 *x, int type, const char *v)
{
	GENERAL_NAMES *gens;
	int	 i, found = 0;

	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const ASN1_IA5STRING *s = g->d.ia5;
		int	 n;

		if (g->type != type)
			continue;
		n = ASN1_STRING_length(s);
		if (n >= 0 && (size_t)n == strlen(v) && strncasecmp(
		    (const char *)ASN1_STRING_get0_data(s), v, (size_t)n) == 0)
			found = 1;
	}
	GENERAL_NAMES_free(gens);
	return found;
}

int
cert_san_has_dns(X509 *x, const char *name)
{
	return san_has(x, GEN_DNS, name);
}

/* "PREFIX:value" of an IA5String name; NULL when it holds a NUL byte. */
static char *
san_text(const char *prefix, const ASN1_STRING *s)
{
	const unsigned char *d = ASN1_STRING_get0_data(s);
	int	 n = ASN1_STRING_length(s);
	char	*e = NULL;

	if (n < 0 || memchr(d, '\0', (size_t)n) != NULL ||
	    asprintf(&e, "%s%.*s", prefix, n, (const char *)d) == -1)
		return NULL;
	return e;
}

/* One SAN as text: DNS:, IP: (inet_ntop's form), email:, URI:, or the
 * type's name alone for the rest. NULL when out of memory. */
static char *
san_entry(const GENERAL_NAME *g)
{
	char	 text[INET6_ADDRSTRLEN], *e = NULL;
	int	 n;

	switch (g->type) {
	case GEN_DNS:
		return san_text("DNS:", g->d.dNSName);
	case GEN_EMAIL:
		return san_text("email:", g->d.rfc822Name);
	case GEN_URI:
		return san_text("URI:", g->d.uniformResourceIdentifier);
	case GEN_IPADD:
		n = ASN1_STRING_length(g->d.iPAddress);
		if ((n != 4 && n != 16) || inet_ntop(n == 4 ? AF_INET :
		    AF_INET6, ASN1_STRING_get0_data(g->d.iPAddress), text,
		    sizeof(text)) == NULL)
			return strdup("IP:(not an address)");
		if (asprintf(&e, "IP:%s", text) == -1)
			return NULL;
		return e;
	case GEN_DIRNAME:
		return strdup("DirName:(a name)");
	case GEN_OTHERNAME:
		return strdup("othername:(a value)");
	default:
		return strdup("(another type of name)");
	}
}

int
cert_san_entries(X509 *x, char ***out, size_t *n)
{
	GENERAL_NAMES *gens;
	char	**v = NULL;
	int	 i, k;

	*out = NULL;
	*n = 0;
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	k = gens != NULL ? sk_GENERAL_NAME_num(gens) : 0;
	if ((v = calloc((size_t)k + 1, sizeof(*v))) == NULL)
		goto fail;
	for (i = 0; i < k; i++) {
		char	*e = san_entry(sk_GENERAL_NAME_value(gens, i));

		if (e == NULL)
			e = strdup("(a name that is not text)");
		if (e == NULL)
			goto fail;
		v[(*n)++] = e;
	}
	GENERAL_NAMES_free(gens);
	*out = v;
	return 0;
fail:
	GENERAL_NAMES_free(gens);
	cert_san_entries_free(v);
	*n = 0;
	return -1;
}

void
cert_san_entries_free(char **v)
{
	size_t	 i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

int
cert_san_has(X509 *x, const char *entry)
{
	GENERAL_NAMES *gens;
	unsigned char ip[16];
	int	 i, n = 0, found = 0;

	if (strncmp(entry, "DNS:", 4) == 0)
		return cert_san_has_dns(x, entry + 4);
	if (strncmp(entry, "email:", 6) == 0)
		return san_has(x, GEN_EMAIL, entry + 6);
	if (strncmp(entry, "IP:", 3) != 0)
		return 0;
	if (inet_pton(AF_INET, entry + 3, ip) == 1)
		n = 4;
	else if (inet_pton(AF_INET6, entry + 3, ip) == 1)
		n = 16;
	else
		return 0;
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		if (g->type == GEN_IPADD &&
		    ASN1_STRING_length(g->d.iPAddress) == n &&
		    memcmp(ASN1_STRING_get0_data(g->d.iPAddress), ip,
		    (size_t)n) == 0)
			found = 1;
	}
	GENERAL_NAMES_free(gens);
	return found;
}

int
cert_equal(X509 *a, X509 *b)
{
	unsigned char *da = NULL, *db = NULL;
	int	 la, lb, eq;

	la = i2d_X509(a, &da);
	lb = i2d_X509(b, &db);
	eq = la > 0 && la == lb && memcmp(da, db, (size_t)la) == 0;
	OPENSSL_free(da);
	OPENSSL_free(db);
	return eq;
}

int
cert_is_self_signed(X509 *x)
{
	const ASN1_OCTET_STRING *ski, *aki;

	/* Self-issued, and the key ids (where present) agree: what
	 * OpenSSL's EXFLAG_SS says, without decoding the key. */
	if (X509_NAME_cmp(X509_get_subject_name(x),
	    X509_get_issuer_name(x)) != 0)
		return 0;
	ski = X509_get0_subject_key_id(x);
	aki = X509_get0_authority_key_id(x);
	return ski == NULL || aki == NULL || ASN1_OCTET_STRING_cmp(ski, aki) == 0;
}

/*
 * The extension flags of x, cached. Certificates of the lite context have
 * no SHA-1 fingerprint (no digest in the null provider), and OpenSSL 3.0
 * fails the FIRST caching of such a certificate (EXFLAG_NO_FINGERPRINT):
 * X509_check_ca, X509_check_issued and X509_get_key_usage answer "no" the
 * first time and right afterwards. X509_get_extension_flags caches and
 * ignores that; the flags are read after it. X509_check_issued also wants
 * the issuer's decoded key (its signature algorithm check): not here.
 */
static uint32_t
ext_flags(X509 *x)
{
	return X509_get_extension_flags(x);
}

int
cert_is_ca(X509 *x)
{
	uint32_t f = ext_flags(x);

	if ((f & EXFLAG_KUSAGE) && !(X509_get_key_usage(x) & KU_KEY_CERT_SIGN))
		return 0;
	if (f & EXFLAG_BCONS)
		return (f & EXFLAG_CA) != 0;
	/* OpenSSL's rule without basicConstraints: a v1 self-signed root,
	 * or a keyCertSign key usage */
	return ((f & EXFLAG_V1) && cert_is_self_signed(x)) ||
	    (f & EXFLAG_KUSAGE);
}

int
cert_issued_by(X509 *subject, X509 *issuer)
{
	const ASN1_OCTET_STRING *aki, *ski;
	uint32_t f;

	if (X509_NAME_cmp(X509_get_subject_name(issuer),
	    X509_get_issuer_name(subject)) != 0)
		return 0;
	f = ext_flags(issuer);
	(void)ext_flags(subject);
	if ((f & EXFLAG_KUSAGE) &&
	    !(X509_get_key_usage(issuer) & KU_KEY_CERT_SIGN))
		return 0;
	aki = X509_get0_authority_key_id(subject);
	ski = X509_get0_subject_key_id(issuer);
	return aki == NULL || ski == NULL || ASN1_OCTET_STRING_cmp(aki, ski) == 0;
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

/* A digest of the DER encoding, in hex. Computed here rather than with
 * X509_digest, which fetches the digest in the certificate's (null
 * provider) library context. */
static char *
digest_hex(X509 *x, const char *md, int colons, int upper)
{
	unsigned char d[EVP_MAX_MD_SIZE], *der = NULL;
	unsigned int n = 0, i;
	char	*s = NULL, *p;
	int	 len;

	if ((len = i2d_X509(x, &der)) <= 0)
		return NULL;
	if (!EVP_Digest(der, (size_t)len, d, &n, EVP_get_digestbyname(md),
	    NULL))
		goto out;
	if ((s = malloc((size_t)n * 3 + 1)) == NULL)
		goto out;
	for (p = s, i = 0; i < n; i++)
		p += sprintf(p, upper ? "%s%02X" : "%s%02x",
		    colons && i ? ":" : "", d[i]);
out:
	OPENSSL_free(der);
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

char *
cert_ski_hex(X509 *x, int upper)
{
	const ASN1_OCTET_STRING *id = X509_get0_subject_key_id(x);
	const unsigned char *d;
	char	*s;
	int	 i, n;

	if (id == NULL || (n = ASN1_STRING_length(id)) <= 0 ||
	    (s = malloc((size_t)n * 2 + 1)) == NULL)
		return NULL;
	d = ASN1_STRING_get0_data(id);
	for (i = 0; i < n; i++)
		sprintf(s + 2 * i, upper ? "%02X" : "%02x", d[i]);
	return s;
}

char *
cert_subject_compat(X509 *x)
{
	return name_str(X509_get_subject_name(x), XN_FLAG_COMPAT);
}

/* Pushes a decoded copy of x onto sk. */
static int
push_full(STACK_OF(X509) *sk, X509 *x)
{
	X509	*f;

	if ((f = cert_full(x)) == NULL)
		return 0;
	if (!sk_X509_push(sk, f)) {
		X509_free(f);
		return 0;
	}
	return 1;
}

/* Whether some certificate of leaf (may be NULL) + chain names sub as its
 * issuer. */
static int
issues_any(X509 *root, X509 *leaf, STACK_OF(X509) *chain)
{
	const X509_NAME *sub = X509_get_subject_name(root);
	int	 i;

	if (leaf != NULL && X509_NAME_cmp(sub, X509_get_issuer_name(leaf)) == 0)
		return 1;
	for (i = 0; chain != NULL && i < sk_X509_num(chain); i++)
		if (X509_NAME_cmp(sub, X509_get_issuer_name(
		    sk_X509_value(chain, i))) == 0)
			return 1;
	return 0;
}

/*
 * Pushes onto t (decoded) every certificate of trusted that issued leaf or
 * one of chain, then those that issued one of t, and so on: an enterprise
 * CA publishes its root and its intermediates to TRUSTED_ROOTS, and OpenSSL
 * wants the path up to a self-signed one. 0 when out of memory.
 */
static int
select_trusted(STACK_OF(X509) *t, STACK_OF(X509) *trusted, X509 *leaf,
    STACK_OF(X509) *chain)
{
	unsigned char *taken;
	int	 i, n = trusted != NULL ? sk_X509_num(trusted) : 0, more = 1;

	if ((taken = calloc((size_t)n + 1, 1)) == NULL)
		return 0;
	for (i = 0; i < n; i++)
		if (issues_any(sk_X509_value(trusted, i), leaf, chain)) {
			if (!push_full(t, sk_X509_value(trusted, i)))
				goto oom;
			taken[i] = 1;
		}
	while (more) {
		more = 0;
		for (i = 0; i < n; i++)
			if (!taken[i] && issues_any(sk_X509_value(trusted, i),
			    NULL, t)) {
				if (!push_full(t, sk_X509_value(trusted, i)))
					goto oom;
				taken[i] = more = 1;
			}
	}
	free(taken);
	return 1;
oom:
	free(taken);
	return 0;
}

int
cert_verify(X509 *leaf, STACK_OF(X509) *untrusted, STACK_OF(X509) *trusted,
    time_t at, const char **why)
{
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	STACK_OF(X509) *u = NULL, *t = NULL;
	X509	*l = NULL;
	int	 i, ok = 0;

	*why = "out of memory";
	/* Signatures need decoded keys: decode the leaf, the chain, and
	 * only the roots that could have issued one of them. */
	if ((l = cert_full(leaf)) == NULL || (u = sk_X509_new_null()) == NULL ||
	    (t = sk_X509_new_null()) == NULL)
		goto out;
	for (i = 0; untrusted != NULL && i < sk_X509_num(untrusted); i++)
		if (!push_full(u, sk_X509_value(untrusted, i)))
			goto out;
	if (!select_trusted(t, trusted, leaf, untrusted))
		goto out;
	if ((store = X509_STORE_new()) == NULL ||
	    (ctx = X509_STORE_CTX_new()) == NULL ||
	    !X509_STORE_CTX_init(ctx, store, l, u))
		goto out;
	X509_STORE_CTX_set0_trusted_stack(ctx, t);
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
	sk_X509_pop_free(u, X509_free);
	sk_X509_pop_free(t, X509_free);
	X509_free(l);
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
