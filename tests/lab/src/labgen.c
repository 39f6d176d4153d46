/*
 * labgen.c - makes what labs are made of: the pool of RSA keys that labs draw
 * from, free loopback ports for their servers, and the contents of a new lab
 * folder for one scenario (the VMCA, the VECS stores, the vmdir seed LDIF,
 * the likewise registry and the lab's own state). tests/lab/labctl calls it;
 * docs/lab.md describes the layout and the scenarios, and
 * shared/reference/appliance.md the appliance facts behind them.
 *
 *	labgen keypool DIR N
 *	labgen freeport [ADDRESS]
 *	labgen corrupt DIR STORE ALIAS
 *	labgen create DIR --scenario NAME --keypool POOL [--version V]
 *	    [--pnid NAME] [--crls N] [--roots N] [--now EPOCH] [--vsan-health]
 *	    [--autodeploy]
 *	    [--address A --key-offset N --server-id N --node-type T
 *	     --dc-name NAME --repl-interval S [--vmca DIR]]	(a domain node)
 *	labgen domain OUT NODEDIR...	(merges the nodes' seeds: docs/lab.md)
 *
 * Exit status: 0 done, 1 failed, 64 usage error.
 */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <err.h>
#include <netdb.h>
#include <errno.h>
#include <ctype.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "labutil.h"
#include "rootsync.h"
#include "vecsdb.h"

#define HOUR		3600L
#define DAY		86400L

#define DOMAIN		"vsphere.local"
#define DOMAIN_UPPER	"VSPHERE.LOCAL"
/* groupType of the built-in groups: a guess (Active Directory's built-in
 * local security group, 0x80000005). */
#define GROUP_TYPE	"-2147483643"
#define DDN		"dc=vsphere,dc=local"
#define SITE		"default-site"
#define TENANT_DN	"cn=" DOMAIN ",cn=Tenants,cn=IdentityManager," \
			"cn=Services," DDN
#define CHAINS_DN	"cn=TrustedCertificateChains," TENANT_DN
#define CA_DN		"cn=Certificate-Authorities,cn=Configuration," DDN
#define LS_DN		"cn=ServiceRegistrations,cn=LookupService,cn=" SITE \
			",cn=Sites,cn=Configuration," DDN
#define DC_OU_DN	"ou=Domain Controllers," DDN
/* Where a client's computer account lives (vmdir/include/public/vmdir.h:99
 * VMDIR_COMPUTERS_RDN_VAL; vmdir/client/client.c 1113-1131). */
#define COMPUTERS_DN	"ou=Computers," DDN
#define SERVERS_DN	"cn=Servers,cn=" SITE ",cn=Sites,cn=Configuration," DDN
#define PSC2		"psc2.example.com"
#define DEFAULT_PNID	"vcsa1.example.com"

#define KEY_BITS	2048
#define POOL_MAX	1000
/* Pool keys the bulk extra roots of crl-bloat take turns with. */
#define BULK_KEYS	16
#define MAX_SOLUTIONS	6
/* certificate-manager backs up Machine SSL and the first four solutions. */
#define BACKUP_SOLUTIONS 4
#define ARTICLE_ROOTS	4
/* vpxd-extension: the solution user of solution-user-mismatch. */
#define MISMATCH_SOLUTION 3
#define VPXD_EXTENSION	3	/* solutions[] index */

/*
 * Every distinct certificate of a lab's core set has its own pool key, so
 * that a test can tell certificates apart by key; only the bulk extra roots
 * share keys.
 */
enum key_slot {
	K_ROOT,
	K_STS,
	K_STS_OLD,
	K_MSSL,
	K_MSSL_BKP,
	K_DE,
	K_SMS,
	K_PSC2,
	K_MISMATCH,
	K_SOLUTION,
	K_SOLUTION_BKP = K_SOLUTION + MAX_SOLUTIONS,
	K_ARTICLE_ROOT = K_SOLUTION_BKP + BACKUP_SOLUTIONS,
	K_VMDIR_TLS = K_ARTICLE_ROOT + ARTICLE_ROOTS,	/* slapd's TLS key */
	K_BULK,
	K_MAX = K_BULK + BULK_KEYS
};

enum scenario_id {
	SC_HEALTHY,
	SC_STS_EXPIRED,
	SC_ALL_EXPIRED,
	SC_STALE_STS_CHAIN,
	SC_ROOT_EXPIRED,
	SC_SOLUTION_USER_MISMATCH,
	SC_MACHINE_SSL_NO_PNID,
	SC_TRUST_ANCHOR_STALE,
	SC_CRL_BLOAT,
	SC_ARTICLE_VCSA1,
	SC_LEGACY_ENDPOINTS,
	SC_EXTENSION_THUMBPRINT_STALE
};

struct scenario {
	const char	*name;
	enum scenario_id id;
	long		 crls;		/* default --crls */
	long		 roots;		/* default --roots */
};

static const struct scenario scenarios[] = {
	{ "healthy",			SC_HEALTHY,			0,   0 },
	{ "sts-expired",		SC_STS_EXPIRED,			0,   0 },
	{ "all-expired",		SC_ALL_EXPIRED,			0,   0 },
	{ "stale-sts-chain",		SC_STALE_STS_CHAIN,		0,   0 },
	{ "root-expired",		SC_ROOT_EXPIRED,		0,   0 },
	{ "solution-user-mismatch",	SC_SOLUTION_USER_MISMATCH,	0,   0 },
	{ "machine-ssl-no-pnid",	SC_MACHINE_SSL_NO_PNID,		0,   0 },
	{ "trust-anchor-stale",		SC_TRUST_ANCHOR_STALE,		0,   0 },
	{ "crl-bloat",			SC_CRL_BLOAT,			150, 40 },
	{ "article-vcsa1",		SC_ARTICLE_VCSA1,		0,   0 },
	{ "legacy-endpoints",		SC_LEGACY_ENDPOINTS,		0,   0 },
	{ "extension-thumbprint-stale",	SC_EXTENSION_THUMBPRINT_STALE,	0,   0 },
};

static const char *const solutions[MAX_SOLUTIONS] = {
	"machine", "vsphere-webclient", "vpxd", "vpxd-extension", "hvc", "wcp"
};

static const char *const stores_67[] = {
	"MACHINE_SSL_CERT", "TRUSTED_ROOTS", "TRUSTED_ROOT_CRLS", "machine",
	"vsphere-webclient", "vpxd", "vpxd-extension", "APPLMGMT_PASSWORD",
	"data-encipherment", "SMS", "STS_INTERNAL_SSL_CERT", "BACKUP_STORE",
	NULL
};

static const char *const stores_70[] = {
	"MACHINE_SSL_CERT", "TRUSTED_ROOTS", "TRUSTED_ROOT_CRLS", "machine",
	"vsphere-webclient", "vpxd", "vpxd-extension", "hvc",
	"data-encipherment", "APPLMGMT_PASSWORD", "SMS", "wcp", "BACKUP_STORE",
	NULL
};

/* The first listing of the seed article: a 6.7 store set without
 * STS_INTERNAL_SSL_CERT. */
static const char *const stores_article[] = {
	"MACHINE_SSL_CERT", "TRUSTED_ROOTS", "TRUSTED_ROOT_CRLS", "machine",
	"vsphere-webclient", "vpxd", "vpxd-extension", "APPLMGMT_PASSWORD",
	"data-encipherment", "SMS", "BACKUP_STORE", NULL
};

struct version {
	const char		*name;
	const char *const	*stores;
	size_t			 nsolutions;
	long			 sts_days;	/* STS validity at install */
};

static const struct version versions[] = {
	{ "6.7", stores_67, 4, 730 },
	{ "7.0", stores_70, 6, 3650 },
	{ "8.0", stores_70, 6, 3650 },
};

/*
 * The seed article's vcsa1: fixed aliases and dates (GMT). The VMCA root and
 * every VMCA leaf end with the root; the aliases cannot be the SHA-1 of
 * certificates made today, so they are copied as printed.
 */
#define ARTICLE_ROOT_ALIAS	"c96d3301505316ccc1b295276ece31318ad79ec7"
#define ARTICLE_ROOT_CRL_ALIAS	"4504400e4bcbdab5a34a9bc2555abd55327369c1"
#define ARTICLE_VMCA_END	"2029-04-06 11:57:19"
#define ARTICLE_SMS_END		"2029-04-12 12:04:48"

struct fixed_root {
	const char	*alias;
	const char	*crl_alias;	/* NULL: the root publishes no CRL */
	const char	*cn;
	const char	*not_after;
};

static const struct fixed_root article_roots[ARTICLE_ROOTS] = {
	{ "8a11418d5ae2b87b7e8a5cb8646fbfae41503f9d",
	  "31b2b5a18d89d90dadff901400a60d45ca3356e9",
	  "Example Corp Issuing CA 2019", "2029-12-13 21:50:49" },
	{ "cb5a495d34f3f2f75d357b47aac3799346665258", NULL,
	  "Example Corp Root CA 2012", "2022-09-25 20:32:57" },
	{ "229a64a3dff7417d0b38fb011c692a55b7bee5c2",
	  "e7840a7cbbe7fcdd7a13d9159ff97443cc53fb5e",
	  "Example Corp Root CA 2020", "2030-05-16 20:21:12" },
	{ "2f0e8e4f1658e61bef5004cb5efd159b90396838",
	  "985d7e55183635f13e2c6469eee9c72f68334615",
	  "Example Corp Issuing CA 2020", "2030-05-16 20:45:07" },
};

/*
 * Lookup Service registrations of a node: cn=<machine id>_<service>
 * (vmwLKUPServiceRegistration: version, product, type, owner, deployment
 * node id), each with endpoints cn=Endpoint1.. (vmwLKUPEndpointRegistration:
 * type, protocol, URI, base64 trust). Legacy endpoints, left by 6.x (the
 * 5.5-style lookup service), are vmwLKUPServiceEndpoint entries with the
 * trust as binary vmwLKUPSslTrustAnchor (vmdirschema.ldif 20402-20413);
 * 6.7 labs carry the STS one on port 7444, legacy-endpoints labs (an 8.0
 * upgraded from 6.x) more. Types and protocols are those lstool prints;
 * see docs/lab.md for which values are guesses.
 */
enum legacy {
	EP_MODERN,		/* every lab */
	EP_LEGACY_67,		/* 6.7 and legacy-endpoints labs */
	EP_LEGACY_UPGRADED	/* legacy-endpoints labs only */
};

struct endpoint {
	const char	*uri;		/* after "https://<host>" */
	const char	*type;		/* vmwLKUPEndpointType */
	const char	*protocol;	/* vmwLKUPEndpointProtocol */
	enum legacy	 legacy;
};

struct registration {
	const char	*service;
	const char	*type;		/* vmwLKUPType */
	const char	*owner;		/* solution user of vmwLKUPOwnerId */
	struct endpoint	 ep[3];		/* uri NULL: no more endpoints */
};

static const struct registration node_registrations[] = {
	{ "com.vmware.cis.cs.identity.sso", "cs.identity", "machine", {
	    { ":443/sts/STSService/" DOMAIN,
	      "com.vmware.cis.cs.identity.sso", "wsTrust", EP_MODERN },
	    { ":443/sso-adminserver/sdk/" DOMAIN,
	      "com.vmware.cis.cs.identity.admin", "vmomi", EP_MODERN },
	    { ":7444/sso-adminserver/sdk/" DOMAIN, NULL, NULL,
	      EP_LEGACY_UPGRADED } } },
	{ "com.vmware.vcenterserver", "vcenterserver", "vpxd", {
	    { ":443/sdk", "com.vmware.vim", "vmomi", EP_MODERN },
	    { ":443/sdk", NULL, NULL, EP_LEGACY_UPGRADED },
	    { NULL, NULL, NULL, EP_MODERN } } },
	{ "com.vmware.cis.cs.identity.sts", "sso:sts", "machine", {
	    { ":443/sts/STSService", "com.vmware.cis.cs.identity.sso",
	      "wsTrust", EP_MODERN },
	    { ":7444/sts/STSService/" DOMAIN, NULL, NULL, EP_LEGACY_67 },
	    { NULL, NULL, NULL, EP_MODERN } } },
	{ "com.vmware.cis.lookupservice", "cs.lookup", "machine", {
	    { ":443/lookupservice/sdk", "com.vmware.cis.cs.lookup.sdk",
	      "vmomi", EP_MODERN },
	    { NULL, NULL, NULL, EP_MODERN },
	    { NULL, NULL, NULL, EP_MODERN } } },
};

static const struct registration psc2_registrations[] = {
	{ "com.vmware.cis.cs.identity.sso", "cs.identity", "machine", {
	    { ":443/sts/STSService/" DOMAIN,
	      "com.vmware.cis.cs.identity.sso", "wsTrust", EP_MODERN },
	    { NULL, NULL, NULL, EP_MODERN },
	    { NULL, NULL, NULL, EP_MODERN } } },
};

struct window {
	time_t	nb;	/* notBefore */
	time_t	na;	/* notAfter */
};

struct xroot {
	X509		*cert;
	EVP_PKEY	*key;		/* borrowed from the pool */
	const char	*alias;		/* fixed alias, or NULL: SHA-1 */
	long		 crl;		/* its CRL in lab->crls, or -1 */
};

struct crl {
	X509_CRL	*crl;
	const char	*alias;		/* fixed alias, or NULL: SHA-1 */
};

/* A domain node's role (etc/vmware/deployment.node.type). */
enum node_type {
	NT_EMBEDDED,		/* vmdir, VMCA, STS and vCenter's services */
	NT_INFRA,		/* 6.x external PSC: vmdir, VMCA, STS, lookup */
	NT_MGMT			/* vCenter's services, the PSC's directory */
};

static const char *const node_types[] = { "embedded", "infrastructure",
	"management" };

struct lab {
	/* What was asked for. */
	const char		*dir;
	const struct scenario	*sc;
	const struct version	*ver;
	const char *const	*stores;
	const char		*pnid;
	const char		*pool;
	long			 nbulk_crls;
	long			 nbulk_roots;
	time_t			 now;
	int			 ca_der;	/* --ca-entries der */
	int			 vsan_health;	/* --vsan-health */
	int			 autodeploy;	/* --autodeploy */

	/* A node of a domain (labctl create-domain); a single lab is
	 * server_id 0, 127.0.0.1, embedded. */
	const char		*address;	/* its loopback address */
	long			 key_offset;	/* its first pool key */
	long			 server_id;	/* vmdir serverId; 0: single */
	long			 repl_interval;	/* replInterval, seconds */
	enum node_type		 type;
	const char		*dc_name;	/* registry DCName */
	const char		*vmca_dir;	/* management: the PSC's VMCA */

	/* Who the appliance is. */
	char			 machine_id[37];
	char			 psc2_id[37];
	char			 machine_guid[37];	/* vmwMachineGuid */
	char			 ldu_guid[37];		/* vmwLDUGuid */
	char			 invocation_id[37];	/* of its vmdir */
	char			*short_name;
	char			*admin_pw;
	char			*dc_pw;

	EVP_PKEY		*keys[K_MAX];
	size_t			 nkeys;

	struct window		 w_root, w_cur, w_bkp, w_sts, w_sts_old;
	struct window		 w_de, w_sms, w_mismatch;

	X509			*root;
	X509			*sts;
	X509			*sts_old;	/* stale chain 1, or NULL */
	X509			*mssl;
	X509			*mssl_bkp;	/* NULL when no backup */
	X509			*psc2;
	X509			*su[MAX_SOLUTIONS];
	X509			*su_bkp[BACKUP_SOLUTIONS];
	X509			*su_mismatch;	/* vmdir's vpxd-extension */
	X509			*de;
	X509			*sms;
	X509			*vmdir_tls;	/* slapd's server certificate */
	struct xroot		*xroots;
	size_t			 nxroots;
	struct crl		*crls;		/* [0] is the VMCA root's */
	size_t			 ncrls;
};

static void	usage(void) __attribute__((noreturn));
static char	*str_printf(const char *, ...)
		    __attribute__((format(printf, 1, 2)));

static void
usage(void)
{
	fprintf(stderr,
	    "usage: labgen keypool DIR N\n"
	    "       labgen freeport [ADDRESS]\n"
	    "       labgen corrupt DIR STORE ALIAS\n"
	    "       labgen create DIR --scenario NAME --keypool POOL "
	    "[--version 6.7|7.0|8.0]\n"
	    "           [--pnid NAME] [--crls N] [--roots N] "
	    "[--now EPOCH]\n"
	    "           [--ca-entries pem|der] [--vsan-health] [--autodeploy]\n"
	    "           [--address A --key-offset N --server-id N "
	    "--node-type T --dc-name NAME\n"
	    "            --repl-interval S [--vmca DIR]]\n"
	    "       labgen domain OUT NODEDIR...\n");
	exit(EX_USAGE);
}

/* Reports what failed with the first OpenSSL error, then clears the queue. */
static void
sslwarnx(const char *fmt, ...)
{
	char		 msg[512], reason[256];
	unsigned long	 e;
	va_list		 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, reason, sizeof(reason));
		warnx("%s: %s", msg, reason);
	} else
		warnx("%s: failed", msg);
	ERR_clear_error();
}

static int
parse_long(const char *s, long min, long max, long *out)
{
	char	*end = NULL;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* A formatted string, malloc'd; NULL (errno set) on failure. */
static char *
str_printf(const char *fmt, ...)
{
	char	*s = NULL;
	va_list	 ap;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		s = NULL;
	va_end(ap);
	return s;
}

/* Base64 of in on one line, malloc'd. */
static char *
base64(const unsigned char *in, size_t len)
{
	char	*out = NULL;

	if (len > INT_MAX / 2 || (out = malloc(4 * ((len + 2) / 3) + 1)) == NULL)
		return NULL;
	EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	return out;
}

/* A uniformly random index below n (n <= 256), without modulo bias. */
static int
random_below(unsigned int n, unsigned int *out)
{
	unsigned char	b;
	unsigned int	limit = 256 - 256 % n;

	do {
		if (RAND_bytes(&b, 1) != 1) {
			sslwarnx("random bytes");
			return -1;
		}
	} while (b >= limit);
	*out = b % n;
	return 0;
}

/*
 * A random password of len characters from alphabet, holding each character
 * of required at some position, malloc'd; the caller cleanses it.
 */
static char *
random_password(size_t len, const char *alphabet, const char *required)
{
	char		*pw = NULL, *ret = NULL;
	unsigned char	 used[64];
	unsigned int	 r;
	size_t		 i, n = strlen(alphabet);

	if (len >= sizeof(used) || strlen(required) > len || n > 256)
		return NULL;
	if ((pw = calloc(1, len + 1)) == NULL)
		goto out;
	memset(used, 0, sizeof(used));
	for (i = 0; i < len; i++) {
		if (random_below((unsigned int)n, &r) == -1)
			goto out;
		pw[i] = alphabet[r];
	}
	for (; *required != '\0'; required++) {
		do {
			if (random_below((unsigned int)len, &r) == -1)
				goto out;
		} while (used[r]);
		used[r] = 1;
		pw[r] = *required;
	}
	ret = pw;
	pw = NULL;
out:
	lab_free_secret(pw, len);
	return ret;
}

static int
random_uuid(char out[37])
{
	unsigned char	b[16];

	if (RAND_bytes(b, sizeof(b)) != 1) {
		sslwarnx("random bytes");
		return -1;
	}
	b[6] = (b[6] & 0x0f) | 0x40;	/* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5],
	    b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
	return 0;
}

/* "YYYY-mm-dd HH:MM:SS" GMT, minus years; -1 when malformed. */
static time_t
gmt(const char *s, int minus_years)
{
	struct tm	tm;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%d-%d-%d %d:%d:%d", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return -1;
	tm.tm_year -= 1900 + minus_years;
	tm.tm_mon -= 1;
	return timegm(&tm);
}

/* The contents of a memory BIO as a NUL-terminated malloc'd string. */
static char *
bio_take(BIO *bio, size_t *len)
{
	char	*data = NULL, *out = NULL;
	long	 n;

	if ((n = BIO_get_mem_data(bio, &data)) < 0)
		return NULL;
	if ((out = malloc((size_t)n + 1)) == NULL)
		return NULL;
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	if (len != NULL)
		*len = (size_t)n;
	return out;
}

/*
 * The end of every encoding into a memory BIO: what was written, malloc'd,
 * when the BIO was made and the writing went well (ok), else a warning about
 * `what'. The BIO is freed either way; a memory BIO clears its buffer when
 * freed, so keys leave nothing behind there.
 */
static char *
bio_done(BIO *bio, int ok, const char *what, size_t *len)
{
	char	*out = NULL;

	if (bio == NULL || !ok)
		sslwarnx("%s", what);
	else
		out = bio_take(bio, len);
	BIO_free(bio);
	return out;
}

/* PEM of one or two certificates (leaf, then its issuer), malloc'd. */
static char *
pem_certs(X509 *leaf, X509 *chain, size_t *len)
{
	BIO	*bio = NULL;
	int	 ok;

	ok = (bio = BIO_new(BIO_s_mem())) != NULL &&
	    PEM_write_bio_X509(bio, leaf) &&
	    (chain == NULL || PEM_write_bio_X509(bio, chain));
	return bio_done(bio, ok, "PEM encoding of a certificate", len);
}

static char *
pem_crl(X509_CRL *crl, size_t *len)
{
	BIO	*bio = NULL;
	int	 ok;

	ok = (bio = BIO_new(BIO_s_mem())) != NULL &&
	    PEM_write_bio_X509_CRL(bio, crl);
	return bio_done(bio, ok, "PEM encoding of a CRL", len);
}

/* Unencrypted PKCS#8 PEM of key, malloc'd; the caller cleanses it. */
static char *
pem_key(EVP_PKEY *key, size_t *len)
{
	BIO	*bio = NULL;
	int	 ok;

	ok = (bio = BIO_new(BIO_s_mem())) != NULL &&
	    PEM_write_bio_PKCS8PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL);
	return bio_done(bio, ok, "PKCS#8 encoding of a key", len);
}

/* Unencrypted PKCS#8 DER of key, malloc'd; the caller cleanses it. */
static unsigned char *
der_key(EVP_PKEY *key, size_t *len)
{
	BIO	*bio = NULL;
	int	 ok;

	ok = (bio = BIO_new(BIO_s_mem())) != NULL &&
	    i2d_PKCS8PrivateKey_bio(bio, key, NULL, NULL, 0, NULL, NULL);
	return (unsigned char *)bio_done(bio, ok,
	    "PKCS#8 DER encoding of a key", len);
}

/*
 * Lowercase hex SHA-1 of the DER of x, or of crl when x is NULL: the alias
 * VECS gives trusted roots and CRLs.
 */
static int
der_sha1(X509 *x, X509_CRL *crl, char out[41])
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	unsigned int	n = 0;
	int		ok;

	if (x != NULL)
		ok = X509_digest(x, EVP_sha1(), md, &n);
	else
		ok = X509_CRL_digest(crl, EVP_sha1(), md, &n);
	if (!ok) {
		sslwarnx("SHA-1 of a %s", x != NULL ? "certificate" : "CRL");
		return -1;
	}
	lab_hex(md, n, out);
	return 0;
}

/* Lowercase hex of the subject key identifier: the vmdir CA entry's cn. */
static int
cert_ski_hex(X509 *x, char *out, size_t outsz)
{
	ASN1_OCTET_STRING	*ski = NULL;
	int			 rc = -1;

	if ((ski = X509_get_ext_d2i(x, NID_subject_key_identifier, NULL,
	    NULL)) == NULL) {
		warnx("a CA certificate has no subject key identifier");
		goto out;
	}
	if ((size_t)ASN1_STRING_length(ski) * 2 + 1 > outsz) {
		warnx("a subject key identifier is too long");
		goto out;
	}
	lab_hex(ASN1_STRING_get0_data(ski), (size_t)ASN1_STRING_length(ski),
	    out);
	rc = 0;
out:
	ASN1_OCTET_STRING_free(ski);
	return rc;
}

/* Subject as X509_NAME_print writes it (XN_FLAG_COMPAT), the form of
 * cACertificateDN (vmca/common/ldap.c:966, VMCAGetX509Name), malloc'd. */
static char *
subject_compat(X509 *x)
{
	BIO	*bio = NULL;
	int	 ok;

	ok = (bio = BIO_new(BIO_s_mem())) != NULL &&
	    X509_NAME_print_ex(bio, X509_get_subject_name(x), 0,
	    XN_FLAG_COMPAT) == 1;
	return bio_done(bio, ok, "printing a subject", NULL);
}

/* Subject in RFC 2253 form, as vmwSTSSubjectDN holds it, malloc'd. */
static char *
subject_rfc2253(X509 *x)
{
	BIO	*bio = NULL;
	int	 ok;

	ok = (bio = BIO_new(BIO_s_mem())) != NULL &&
	    X509_NAME_print_ex(bio, X509_get_subject_name(x), 0,
	    XN_FLAG_RFC2253) >= 0;
	return bio_done(bio, ok, "RFC 2253 form of a subject", NULL);
}

/* An X509_NAME from field/value pairs ending with NULL, in DER order. */
static X509_NAME *
name_new(const char *field, ...)
{
	X509_NAME	*name = NULL, *ret = NULL;
	const char	*value;
	va_list		 ap;

	va_start(ap, field);
	if ((name = X509_NAME_new()) == NULL)
		goto out;
	for (; field != NULL; field = va_arg(ap, const char *)) {
		value = va_arg(ap, const char *);
		if (!X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
		    (const unsigned char *)value, -1, -1, 0))
			goto out;
	}
	ret = name;
	name = NULL;
out:
	va_end(ap);
	if (ret == NULL)
		sslwarnx("certificate subject");
	X509_NAME_free(name);
	return ret;
}

struct certreq {
	X509_NAME	*subject;
	EVP_PKEY	*key;		/* the subject's */
	X509		*issuer;	/* NULL: self-signed */
	EVP_PKEY	*issuer_key;
	struct window	 w;
	int		 ca;
	const char	*ku;		/* keyUsage, X509V3 config syntax */
	const char	*eku;		/* extendedKeyUsage or NULL */
	const char	*san;		/* subjectAltName or NULL */
	const char	*ski;		/* hex key id, NULL: hash of the key */
	const char	*what;		/* for messages */
};

/* The fields every request sets; issuer, ca, eku and ski start empty. */
static void
certreq_init(struct certreq *r, X509_NAME *subject, EVP_PKEY *key,
    struct window w, const char *ku, const char *san, const char *what)
{
	memset(r, 0, sizeof(*r));
	r->subject = subject;
	r->key = key;
	r->w = w;
	r->ku = ku;
	r->san = san;
	r->what = what;
}

static int
cert_add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value,
    const char *what)
{
	X509_EXTENSION	*ext = NULL;
	int		 rc = -1;

	if ((ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value)) == NULL ||
	    !X509_add_ext(x, ext, -1)) {
		sslwarnx("%s: extension %s = %s", what, OBJ_nid2sn(nid), value);
		goto out;
	}
	rc = 0;
out:
	X509_EXTENSION_free(ext);
	return rc;
}

static int
set_random_serial(ASN1_INTEGER *serial)
{
	BIGNUM	*bn = NULL;
	int	 rc = -1;

	/* 127 bits: positive and without a leading zero octet to worry
	 * about, like the serials VMCA hands out. */
	if ((bn = BN_new()) == NULL ||
	    !BN_rand(bn, 127, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) ||
	    BN_to_ASN1_INTEGER(bn, serial) == NULL) {
		sslwarnx("random serial number");
		goto out;
	}
	rc = 0;
out:
	BN_free(bn);
	return rc;
}

static X509 *
cert_issue(const struct certreq *r)
{
	X509		*x = NULL, *ret = NULL;
	X509V3_CTX	 ctx;

	if ((x = X509_new()) == NULL ||
	    !X509_set_version(x, X509_VERSION_3) ||
	    !X509_set_subject_name(x, r->subject) ||
	    !X509_set_issuer_name(x, r->issuer != NULL ?
	    X509_get_subject_name(r->issuer) : r->subject) ||
	    ASN1_TIME_set(X509_getm_notBefore(x), r->w.nb) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), r->w.na) == NULL ||
	    !X509_set_pubkey(x, r->key)) {
		sslwarnx("%s: certificate fields", r->what);
		goto out;
	}
	if (set_random_serial(X509_get_serialNumber(x)) == -1)
		goto out;
	X509V3_set_ctx(&ctx, r->issuer != NULL ? r->issuer : x, x, NULL,
	    NULL, 0);
	/* The subject key id goes first: the authority key id of a
	 * certificate VMCA issues copies the root's. */
	if (cert_add_ext(x, &ctx, NID_basic_constraints,
	    r->ca ? "critical,CA:TRUE" : "CA:FALSE", r->what) == -1 ||
	    cert_add_ext(x, &ctx, NID_key_usage, r->ku, r->what) == -1 ||
	    (r->eku != NULL && cert_add_ext(x, &ctx, NID_ext_key_usage,
	    r->eku, r->what) == -1) ||
	    (r->san != NULL && cert_add_ext(x, &ctx, NID_subject_alt_name,
	    r->san, r->what) == -1) ||
	    cert_add_ext(x, &ctx, NID_subject_key_identifier,
	    r->ski != NULL ? r->ski : "hash", r->what) == -1)
		goto out;
	/* No authority key id on self-signed certificates: checksts.py
	 * calls a certificate with one a LEAF. */
	if (r->issuer != NULL && cert_add_ext(x, &ctx,
	    NID_authority_key_identifier, "keyid:always", r->what) == -1)
		goto out;
	if (X509_sign(x, r->issuer_key != NULL ? r->issuer_key : r->key,
	    EVP_sha256()) <= 0) {
		sslwarnx("%s: signature", r->what);
		goto out;
	}
	ret = x;
	x = NULL;
out:
	X509_free(x);
	return ret;
}

static X509_CRL *
crl_issue(X509 *issuer, EVP_PKEY *key, time_t last, time_t next, long number)
{
	X509_CRL	*crl = NULL, *ret = NULL;
	ASN1_TIME	*t = NULL;
	ASN1_INTEGER	*num = NULL;
	X509_EXTENSION	*ext = NULL;
	X509V3_CTX	 ctx;

	if ((crl = X509_CRL_new()) == NULL ||
	    !X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)) ||
	    (t = ASN1_TIME_set(NULL, last)) == NULL ||
	    !X509_CRL_set1_lastUpdate(crl, t) ||
	    ASN1_TIME_set(t, next) == NULL ||
	    !X509_CRL_set1_nextUpdate(crl, t) ||
	    (num = ASN1_INTEGER_new()) == NULL ||
	    !ASN1_INTEGER_set(num, number) ||
	    !X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0)) {
		sslwarnx("CRL fields");
		goto out;
	}
	X509V3_set_ctx(&ctx, issuer, NULL, NULL, crl, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx,
	    NID_authority_key_identifier, "keyid:always")) == NULL ||
	    !X509_CRL_add_ext(crl, ext, -1)) {
		sslwarnx("CRL authority key identifier");
		goto out;
	}
	if (X509_CRL_sign(crl, key, EVP_sha256()) <= 0) {
		sslwarnx("CRL signature");
		goto out;
	}
	ret = crl;
	crl = NULL;
out:
	X509_EXTENSION_free(ext);
	ASN1_INTEGER_free(num);
	ASN1_TIME_free(t);
	X509_CRL_free(crl);
	return ret;
}

/* ---- keypool ------------------------------------------------------- */

/* Where key i of a pool lives, for the keypool command and for create. */
static char *
pool_key_path(const char *pool, size_t i)
{
	char	*path = NULL;

	if ((path = str_printf("%s/key-%03zu.pem", pool, i)) == NULL)
		warn("keypool path");
	return path;
}

static int
keypool_make_one(const char *path)
{
	EVP_PKEY	*key = NULL;
	char		*pem = NULL;
	size_t		 len = 0;
	int		 rc = -1;

	if ((key = EVP_RSA_gen(KEY_BITS)) == NULL) {
		sslwarnx("%s: RSA key generation", path);
		goto out;
	}
	if ((pem = pem_key(key, &len)) == NULL)
		goto out;
	if (lab_write_file_atomic(path, pem, len, 0600) == -1) {
		warn("%s", path);
		goto out;
	}
	rc = 0;
out:
	lab_free_secret(pem, len);
	EVP_PKEY_free(key);
	return rc;
}

static int
cmd_keypool(int argc, char **argv)
{
	char	*path = NULL;
	long	 n, i;
	int	 rc = 1;

	if (argc != 3)
		usage();
	if (parse_long(argv[2], 1, POOL_MAX, &n) == -1) {
		warnx("keypool size %s: not a number from 1 to %d", argv[2],
		    POOL_MAX);
		return EX_USAGE;
	}
	if (lab_mkdirs(argv[1], 0700) == -1) {
		warn("keypool %s", argv[1]);
		goto out;
	}
	for (i = 0; i < n; i++) {
		free(path);
		if ((path = pool_key_path(argv[1], (size_t)i)) == NULL)
			goto out;
		/* Existing keys stay: a pool is made once per build tree. */
		if (access(path, F_OK) == 0)
			continue;
		if (keypool_make_one(path) == -1)
			goto out;
	}
	rc = 0;
out:
	free(path);
	return rc;
}

/* ---- corrupt ------------------------------------------------------- */

/*
 * Replaces the certificate of an existing VECS entry with a PEM block whose
 * content is not a certificate, keeping its type: what a damaged database or a
 * careless writer leaves behind, and what no vecs-cli command can create.
 */
static int
cmd_corrupt(int argc, char **argv)
{
	static const char garbage[] = "-----BEGIN CERTIFICATE-----\n"
	    "bm90IGEgY2VydGlmaWNhdGUsIGp1c3QgZ2FyYmFnZQ==\n"
	    "-----END CERTIFICATE-----\n";
	struct vecs_store *st = NULL;
	struct vecs_entry *e;
	char	*cert;
	int	 lockfd = -1, rc = 1;

	if (argc != 4)
		usage();
	if ((lockfd = vecsdb_lock(argv[1])) == -1) {
		warn("%s: cannot lock VECS", argv[1]);
		goto out;
	}
	if (vecsdb_store_load(argv[1], argv[2], &st) == -1) {
		warn("%s: store %s", argv[1], argv[2]);
		goto out;
	}
	if ((e = vecs_store_find(st, argv[3])) == NULL) {
		warnx("%s: no alias %s in store %s", argv[1], argv[3], argv[2]);
		goto out;
	}
	if ((cert = strdup(garbage)) == NULL) {
		warn("strdup");
		goto out;
	}
	free(e->cert);
	e->cert = cert;
	e->cert_len = strlen(garbage);
	if (vecsdb_store_save(argv[1], st) == -1) {
		warn("%s: store %s", argv[1], argv[2]);
		goto out;
	}
	rc = 0;
out:
	vecs_store_free(st);
	if (lockfd != -1)
		vecsdb_unlock(lockfd);
	return rc;
}

/* ---- freeport ------------------------------------------------------ */

/* Binds addr:port (0: any) and gives the port; -1 when taken. */
static int
port_bind(const char *addr, unsigned int port, int *fd)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);

	if ((*fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		warn("socket");
		return -1;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
		warnx("freeport: bad address %s", addr);
		return -1;
	}
	if (bind(*fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(*fd, (struct sockaddr *)&sin, &len) == -1)
		return -1;
	return ntohs(sin.sin_port);
}

/*
 * A port free on 127.0.0.1 and, for a domain's node, on its own address
 * too (its servers listen on both: localhost reaches the node itself).
 */
static int
cmd_freeport(int argc, char **argv)
{
	const char	*addr = argc == 2 ? argv[1] : "127.0.0.1";
	int		 fd = -1, fd2 = -1, port, tries, rc = 1;

	if (argc != 1 && argc != 2)
		usage();
	for (tries = 0; tries < 100; tries++) {
		if ((port = port_bind(addr, 0, &fd)) == -1) {
			warn("bind %s:0", addr);
			goto out;
		}
		if (strcmp(addr, "127.0.0.1") == 0 ||
		    port_bind("127.0.0.1", (unsigned int)port, &fd2) != -1) {
			printf("%d\n", port);
			rc = fflush(stdout) == 0 ? 0 : 1;
			goto out;
		}
		close(fd);
		if (fd2 != -1)
			close(fd2);
		fd = fd2 = -1;
	}
	warnx("no port free on both %s and 127.0.0.1", addr);
out:
	if (fd != -1)
		close(fd);
	if (fd2 != -1)
		close(fd2);
	return rc;
}

/* ---- create: keys and dates ---------------------------------------- */

static int
pool_load(struct lab *lab)
{
	struct stat	 st;
	EVP_PKEY	*key = NULL;
	BIO		*bio = NULL;
	char		*path = NULL, *buf = NULL;
	size_t		 len = 0, need, i;
	int		 rc = -1;

	need = lab->nbulk_roots > 0 ? K_BULK + 1 : K_BULK;
	if (stat(lab->pool, &st) == -1 || !S_ISDIR(st.st_mode)) {
		warnx("keypool %s: missing (make it with: labgen keypool %s 40)",
		    lab->pool, lab->pool);
		goto out;
	}
	for (i = 0; i < K_MAX; i++) {
		free(path);
		/* A domain's nodes draw disjoint slices of the pool: no two
		 * VMCA roots share a key (their CA entries are named by the
		 * key id). */
		if ((path = pool_key_path(lab->pool, (size_t)lab->key_offset +
		    i)) == NULL)
			goto out;
		if (lab_read_file(path, &buf, &len) == -1) {
			if (errno != ENOENT) {
				warn("%s", path);
				goto out;
			}
			if (i >= need)
				break;
			warnx("keypool %s: holds %zu keys, this lab needs %zu",
			    lab->pool, (size_t)lab->key_offset + i,
			    (size_t)lab->key_offset + need);
			goto out;
		}
		if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL ||
		    (key = PEM_read_bio_PrivateKey(bio, NULL, NULL,
		    NULL)) == NULL) {
			sslwarnx("%s: not a PEM private key", path);
			goto out;
		}
		lab->keys[i] = key;
		key = NULL;
		BIO_free(bio);
		bio = NULL;
		lab_free_secret(buf, len);
		buf = NULL;
	}
	lab->nkeys = i;
	rc = 0;
out:
	lab_free_secret(buf, len);
	BIO_free(bio);
	EVP_PKEY_free(key);
	free(path);
	return rc;
}

/*
 * A management node has no VMCA of its own: the PSC's (DIR's root.cer and
 * privatekey.pem) signs its certificates, as on a 6.x vCenter with an
 * external PSC, and takes the place of the pool's root key.
 */
static int
load_vmca(struct lab *lab)
{
	char		*path = NULL, *buf = NULL;
	size_t		 len = 0;
	BIO		*bio = NULL;
	EVP_PKEY	*key = NULL;
	int		 rc = -1;

	if ((path = str_printf("%s/%s", lab->vmca_dir, LAB_VMCA_ROOT)) ==
	    NULL)
		goto out;
	if (lab_read_file(path, &buf, &len) == -1) {
		warn("%s", path);
		goto out;
	}
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL ||
	    (lab->root = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
		sslwarnx("%s: no certificate", path);
		goto out;
	}
	BIO_free(bio);
	bio = NULL;
	free(buf);
	buf = NULL;
	free(path);
	if ((path = str_printf("%s/%s", lab->vmca_dir, LAB_VMCA_KEY)) ==
	    NULL)
		goto out;
	if (lab_read_file(path, &buf, &len) == -1) {
		warn("%s", path);
		goto out;
	}
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL ||
	    (key = PEM_read_bio_PrivateKey(bio, NULL, lab_no_password,
	    NULL)) == NULL) {
		sslwarnx("%s: no private key", path);
		goto out;
	}
	if (X509_check_private_key(lab->root, key) != 1) {
		sslwarnx("%s: not the key of the VMCA root", path);
		goto out;
	}
	EVP_PKEY_free(lab->keys[K_ROOT]);
	lab->keys[K_ROOT] = key;
	key = NULL;
	rc = 0;
out:
	EVP_PKEY_free(key);
	BIO_free(bio);
	if (buf != NULL)
		lab_free_secret(buf, len);
	free(path);
	return rc;
}

static struct window
window(time_t nb, time_t na)
{
	struct window	w = { nb, na };

	return w;
}

/* Certificates VMCA issues never outlive the VMCA root. */
static struct window
clamp(const struct lab *lab, struct window w)
{
	if (w.na > lab->w_root.na)
		w.na = lab->w_root.na;
	if (w.nb >= w.na)
		w.nb = w.na - DAY;
	return w;
}

static time_t
earliest(time_t a, time_t b)
{
	return a < b ? a : b;
}

/*
 * When each certificate was valid. The story of a lab: the VMCA root was
 * made at install; the leaves now in use were issued a year ago by a
 * certificate-manager run, whose one-slot BACKUP_STORE holds the
 * generation before them; data-encipherment is from install.
 */
static int
plan_dates(struct lab *lab)
{
	time_t	now = lab->now, first;
	long	sts_days = lab->ver->sts_days;

	lab->w_cur = window(now - 365 * DAY, now + 365 * DAY);
	lab->w_bkp = window(now - 399 * DAY, now + 331 * DAY);
	lab->w_sts = window(now - 365 * DAY, now - 365 * DAY + sts_days * DAY);
	lab->w_sts_old = lab->w_sts;
	lab->w_mismatch = window(now - 200 * DAY, now + 530 * DAY);
	/* Self-signed: VMCA's root does not bound it. */
	lab->w_sms = window(now - 360 * DAY, now + 3290 * DAY);

	switch (lab->sc->id) {
	case SC_STS_EXPIRED:
		/* A 6.5U2-era two-year STS, whatever the version now. */
		lab->w_sts = window(now - 740 * DAY, now - 10 * DAY);
		break;
	case SC_ALL_EXPIRED:
		lab->w_cur = window(now - 735 * DAY, now - 5 * DAY);
		lab->w_sts = lab->w_cur;
		/* The generation before the expired one expired first. */
		lab->w_bkp = window(now - 769 * DAY, now - 39 * DAY);
		break;
	case SC_STALE_STS_CHAIN:
		lab->w_sts_old = window(now - 740 * DAY, now - 10 * DAY);
		lab->w_sts = window(now - 9 * DAY,
		    now - 9 * DAY + sts_days * DAY);
		break;
	case SC_ARTICLE_VCSA1:
		lab->w_root = window(gmt(ARTICLE_VMCA_END, 10),
		    gmt(ARTICLE_VMCA_END, 0));
		lab->w_cur = lab->w_root;
		lab->w_de = lab->w_root;
		lab->w_sms = window(gmt(ARTICLE_SMS_END, 10),
		    gmt(ARTICLE_SMS_END, 0));
		if (lab->w_root.nb == -1 || lab->w_sms.nb == -1) {
			warnx("article-vcsa1: bad fixed date");
			return -1;
		}
		lab->w_sts = clamp(lab, lab->w_sts);
		return 0;
	default:
		break;
	}

	if (lab->root != NULL) {
		/* A management node: the PSC's VMCA signed its certificates. */
		struct tm	nb, na;

		if (!ASN1_TIME_to_tm(X509_get0_notBefore(lab->root), &nb) ||
		    !ASN1_TIME_to_tm(X509_get0_notAfter(lab->root), &na)) {
			warnx("%s: the VMCA root's dates do not parse",
			    lab->vmca_dir);
			return -1;
		}
		lab->w_root = window(timegm(&nb), timegm(&na));
		goto clamped;
	}
	/* The root predates everything it signed. */
	first = earliest(now - 400 * DAY, earliest(lab->w_cur.nb,
	    earliest(lab->w_bkp.nb, earliest(lab->w_sts.nb,
	    earliest(lab->w_sts_old.nb, lab->w_mismatch.nb)))) - DAY);
	lab->w_root = window(first, first + 3650 * DAY);
	if (lab->sc->id == SC_ROOT_EXPIRED)
		lab->w_root = window(now - 3 * DAY - 3650 * DAY, now - 3 * DAY);
clamped:
	lab->w_de = window(lab->w_root.nb + HOUR, lab->w_root.nb + HOUR +
	    3650 * DAY);

	lab->w_cur = clamp(lab, lab->w_cur);
	lab->w_bkp = clamp(lab, lab->w_bkp);
	lab->w_sts = clamp(lab, lab->w_sts);
	lab->w_sts_old = clamp(lab, lab->w_sts_old);
	lab->w_mismatch = clamp(lab, lab->w_mismatch);
	lab->w_de = clamp(lab, lab->w_de);
	return 0;
}

/* ---- create: certificates ------------------------------------------ */

#define KU_CA		"critical,keyCertSign,cRLSign"
#define KU_TLS		"critical,digitalSignature,keyEncipherment"
#define KU_WCP		"critical,digitalSignature,keyEncipherment," \
			"dataEncipherment"
#define KU_STS		"critical,digitalSignature"
#define KU_DE		"critical,dataEncipherment"
#define EKU_TLS		"serverAuth,clientAuth"

static X509 *
issue_vmca(const struct lab *lab, struct certreq *r)
{
	r->issuer = lab->root;
	r->issuer_key = lab->keys[K_ROOT];
	r->w = clamp(lab, r->w);
	return cert_issue(r);
}

static X509 *
issue_ca(X509_NAME *subject, EVP_PKEY *key, struct window w, const char *ski,
    const char *what)
{
	struct certreq	r;

	certreq_init(&r, subject, key, w, KU_CA, NULL, what);
	r.ca = 1;
	r.ski = ski;
	return cert_issue(&r);
}

static X509 *
issue_vmca_root(const struct lab *lab)
{
	X509_NAME	*name = NULL;
	X509		*x = NULL;

	if ((name = name_new("CN", "CA", "DC", "vsphere", "DC", "local",
	    "C", "US", "ST", "California", "O", lab->pnid,
	    "OU", "VMware Engineering", NULL)) == NULL)
		return NULL;
	x = issue_ca(name, lab->keys[K_ROOT], lab->w_root, NULL, "VMCA root");
	X509_NAME_free(name);
	return x;
}

/* A Machine SSL certificate of host (this node's or psc2's). */
static X509 *
issue_machine_ssl(const struct lab *lab, const char *host, const char *san,
    EVP_PKEY *key, struct window w)
{
	struct certreq	 r;
	X509_NAME	*name = NULL;
	X509		*x = NULL;
	char		*dns = NULL;

	if (san == NULL) {
		if ((dns = str_printf("DNS:%s", host)) == NULL) {
			warn("subjectAltName");
			return NULL;
		}
		san = dns;
	}
	if ((name = name_new("CN", host, NULL)) == NULL)
		goto out;
	certreq_init(&r, name, key, w, KU_TLS, san, "Machine SSL certificate");
	r.eku = EKU_TLS;
	x = issue_vmca(lab, &r);
out:
	X509_NAME_free(name);
	free(dns);
	return x;
}

static X509 *
issue_solution(const struct lab *lab, const char *solution, EVP_PKEY *key,
    struct window w)
{
	struct certreq	 r;
	X509_NAME	*name = NULL;
	X509		*x = NULL;
	char		*ou = NULL, *san = NULL;
	int		 wcp = strcmp(solution, "wcp") == 0;

	if ((ou = str_printf("mID-%s", lab->machine_id)) == NULL ||
	    (san = str_printf("DNS:%s", lab->pnid)) == NULL) {
		warn("solution user %s", solution);
		goto out;
	}
	if ((name = name_new("CN", solution, "OU", ou, "DC", "vsphere",
	    "DC", "local", NULL)) == NULL)
		goto out;
	/* wcp: no SAN, and it encrypts (appliance.md section 4). */
	certreq_init(&r, name, key, w, wcp ? KU_WCP : KU_TLS,
	    wcp ? NULL : san, solution);
	x = issue_vmca(lab, &r);
out:
	X509_NAME_free(name);
	free(ou);
	free(san);
	return x;
}

static X509 *
issue_sts(const struct lab *lab, EVP_PKEY *key, struct window w)
{
	struct certreq	 r;
	X509_NAME	*name = NULL;
	X509		*x = NULL;
	char		*san = NULL;

	if ((san = str_printf("DNS:%s", lab->pnid)) == NULL) {
		warn("STS subjectAltName");
		goto out;
	}
	if ((name = name_new("CN", "ssoserverSign", NULL)) == NULL)
		goto out;
	certreq_init(&r, name, key, w, KU_STS, san, "STS signing certificate");
	x = issue_vmca(lab, &r);
out:
	X509_NAME_free(name);
	free(san);
	return x;
}

static X509 *
issue_data_encipherment(const struct lab *lab)
{
	struct certreq	 r;
	X509_NAME	*name = NULL;
	X509		*x = NULL;

	if ((name = name_new("CN", "data-encipherment", NULL)) == NULL)
		return NULL;
	certreq_init(&r, name, lab->keys[K_DE], lab->w_de, KU_DE, NULL,
	    "data-encipherment");
	x = issue_vmca(lab, &r);
	X509_NAME_free(name);
	return x;
}

static X509 *
issue_sms(const struct lab *lab)
{
	struct certreq	 r;
	X509_NAME	*name = NULL;
	X509		*x = NULL;
	char		*san = NULL;

	if ((san = str_printf("DNS:%s", lab->pnid)) == NULL) {
		warn("SMS subjectAltName");
		goto out;
	}
	if ((name = name_new("CN", "SMS", "O", "VMware", "C", "US",
	    NULL)) == NULL)
		goto out;
	certreq_init(&r, name, lab->keys[K_SMS], lab->w_sms, KU_TLS, san,
	    "SMS self-signed certificate");
	r.eku = "serverAuth";
	x = cert_issue(&r);
out:
	X509_NAME_free(name);
	free(san);
	return x;
}

static int	valid_hostname(const char *);

/* Appends ", DNS:name" to *san unless it is there already or unusable. */
static int
san_add_dns(char **san, const char *name)
{
	char	*all = NULL, *item = NULL, *more = NULL;
	int	 rc = -1;

	if (name == NULL || !valid_hostname(name))
		return 0;
	/* Whole items only: "DNS:vm" is not in "DNS:vm2". */
	if ((all = str_printf(", %s,", *san)) == NULL ||
	    (item = str_printf(", DNS:%s,", name)) == NULL)
		goto out;
	if (strstr(all, item) == NULL) {
		if ((more = str_printf("%s, DNS:%s", *san, name)) == NULL)
			goto out;
		free(*san);
		*san = more;
	}
	rc = 0;
out:
	free(all);
	free(item);
	return rc;
}

/*
 * The directory's TLS server certificate (ldaps and StartTLS), issued by the
 * VMCA root for the names the tests connect to: 127.0.0.1 and localhost, the
 * PNID, and this machine's host name. libldap checks a server it reaches as
 * "localhost" against the local host name (its FQDN), not "localhost" (as
 * on an appliance, whose host name is the PNID). Valid from a day ago for
 * two years, clamped to the root, in every scenario: the lab's scenarios are
 * about the certificates vcrotate replaces, and it does not replace this one.
 */
static X509 *
issue_vmdir_tls(const struct lab *lab)
{
	struct certreq	 r;
	struct addrinfo	 hints, *ai = NULL;
	X509_NAME	*name = NULL;
	X509		*x = NULL;
	char		*san = NULL, host[256];

	if ((san = str_printf("DNS:localhost, IP:127.0.0.1, DNS:%s%s%s",
	    lab->pnid, strcmp(lab->address, "127.0.0.1") != 0 ? ", IP:" : "",
	    strcmp(lab->address, "127.0.0.1") != 0 ? lab->address : "")) ==
	    NULL) {
		warn("vmdir TLS subjectAltName");
		goto out;
	}
	if (gethostname(host, sizeof(host)) == 0) {
		host[sizeof(host) - 1] = '\0';
		memset(&hints, 0, sizeof(hints));
		hints.ai_flags = AI_CANONNAME;
		if (san_add_dns(&san, host) == -1 ||
		    (getaddrinfo(host, NULL, &hints, &ai) == 0 &&
		    ai != NULL && san_add_dns(&san, ai->ai_canonname) == -1)) {
			warn("vmdir TLS subjectAltName");
			goto out;
		}
	}
	if ((name = name_new("CN", "localhost", NULL)) == NULL)
		goto out;
	certreq_init(&r, name, lab->keys[K_VMDIR_TLS], window(lab->now - DAY,
	    lab->now + 730 * DAY), KU_TLS, san, "vmdir TLS certificate");
	r.eku = "serverAuth";
	x = issue_vmca(lab, &r);
out:
	if (ai != NULL)
		freeaddrinfo(ai);
	X509_NAME_free(name);
	free(san);
	return x;
}

/*
 * Extra trusted roots: the article's four, then crl-bloat's bulk ones, a mix
 * of valid and expired (one in four). Bulk roots share pool keys, so each
 * gets a random key id of its own to keep vmdir's cn=<key id> unique.
 */
static int
make_xroots(struct lab *lab)
{
	X509_NAME	*name = NULL;
	struct xroot	*xr;
	struct window	 w;
	unsigned char	 id[20];
	char		 cn[64], ski[3 * sizeof(id)];
	const char	*label = NULL, *keyid = NULL;
	size_t		 i, j, n;
	int		 rc = -1;
	int		 article = lab->sc->id == SC_ARTICLE_VCSA1;

	n = (article ? ARTICLE_ROOTS : 0) + (size_t)lab->nbulk_roots;
	if (n == 0)
		return 0;
	if ((lab->xroots = calloc(n, sizeof(*lab->xroots))) == NULL) {
		warn("extra roots");
		return -1;
	}
	for (i = 0; i < n; i++, lab->nxroots++) {
		xr = &lab->xroots[i];
		xr->crl = -1;
		if (article && i < ARTICLE_ROOTS) {
			const struct fixed_root *f = &article_roots[i];

			w = window(gmt(f->not_after, 10), gmt(f->not_after, 0));
			if (w.nb == -1 || w.na == -1) {
				warnx("article-vcsa1: bad fixed date %s",
				    f->not_after);
				goto out;
			}
			xr->key = lab->keys[K_ARTICLE_ROOT + i];
			xr->alias = f->alias;
			label = f->cn;
			keyid = NULL;
		} else {
			j = i - (article ? ARTICLE_ROOTS : 0);
			if (j % 4 == 3)
				w.na = lab->now - (time_t)(1 + j % 900) * DAY;
			else
				w.na = lab->now + (time_t)(30 + j % 3000) * DAY;
			w.nb = w.na - 3650 * DAY;
			if (RAND_bytes(id, sizeof(id)) != 1) {
				sslwarnx("random key id");
				goto out;
			}
			lab_hex(id, sizeof(id), ski);
			snprintf(cn, sizeof(cn), "Lab Extra Root %04zu", j + 1);
			xr->key = lab->keys[K_BULK + j % (lab->nkeys - K_BULK)];
			label = cn;
			keyid = ski;
		}
		if ((name = name_new("CN", label, "O", "Example Corp",
		    "C", "US", NULL)) == NULL ||
		    (xr->cert = issue_ca(name, xr->key, w, keyid,
		    label)) == NULL)
			goto out;
		X509_NAME_free(name);
		name = NULL;
	}
	rc = 0;
out:
	X509_NAME_free(name);
	return rc;
}

static time_t
cert_not_after(X509 *x)
{
	struct tm	tm;

	if (!ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm))
		return 0;
	return timegm(&tm);
}

static int
add_crl(struct lab *lab, X509 *issuer, EVP_PKEY *key, long age_days,
    const char *alias)
{
	X509_CRL	*crl;
	time_t		 last;

	/* Published while the issuer was valid, in force for a month. */
	last = earliest(lab->now, cert_not_after(issuer)) - age_days * DAY;
	if ((crl = crl_issue(issuer, key, last, last + 30 * DAY,
	    (long)lab->ncrls + 1)) == NULL)
		return -1;
	lab->crls[lab->ncrls].crl = crl;
	lab->crls[lab->ncrls].alias = alias;
	lab->ncrls++;
	return 0;
}

/*
 * CRLs in TRUSTED_ROOT_CRLS order: the VMCA root's, the article's, then
 * crl-bloat's, spread over the VMCA root and the extra roots. The first CRL
 * of each issuer is the one its vmdir CA entry publishes.
 */
static int
make_crls(struct lab *lab)
{
	struct xroot	*xr;
	size_t		 n, i, k, issuers;
	int		 article = lab->sc->id == SC_ARTICLE_VCSA1;

	n = 1 + (article ? ARTICLE_ROOTS : 0) + (size_t)lab->nbulk_crls;
	if ((lab->crls = calloc(n, sizeof(*lab->crls))) == NULL) {
		warn("CRLs");
		return -1;
	}
	if (add_crl(lab, lab->root, lab->keys[K_ROOT], 1,
	    article ? ARTICLE_ROOT_CRL_ALIAS : NULL) == -1)
		return -1;
	for (i = 0; article && i < ARTICLE_ROOTS; i++) {
		if (article_roots[i].crl_alias == NULL)
			continue;
		lab->xroots[i].crl = (long)lab->ncrls;
		if (add_crl(lab, lab->xroots[i].cert, lab->xroots[i].key, 1,
		    article_roots[i].crl_alias) == -1)
			return -1;
	}
	issuers = 1 + lab->nxroots;
	for (i = 0; i < (size_t)lab->nbulk_crls; i++) {
		k = i % issuers;
		if (k == 0) {
			if (add_crl(lab, lab->root, lab->keys[K_ROOT],
			    2 + (long)(i / issuers), NULL) == -1)
				return -1;
			continue;
		}
		xr = &lab->xroots[k - 1];
		if (xr->crl == -1)
			xr->crl = (long)lab->ncrls;
		if (add_crl(lab, xr->cert, xr->key, 2 + (long)(i / issuers),
		    NULL) == -1)
			return -1;
	}
	return 0;
}

static int
make_certs(struct lab *lab)
{
	char		*san = NULL;
	size_t		 i;
	int		 rc = -1;
	int		 article = lab->sc->id == SC_ARTICLE_VCSA1;

	if (lab->root == NULL && (lab->root = issue_vmca_root(lab)) == NULL)
		goto out;
	if ((lab->sts = issue_sts(lab, lab->keys[K_STS], lab->w_sts)) == NULL)
		goto out;
	if (lab->sc->id == SC_STALE_STS_CHAIN && (lab->sts_old = issue_sts(lab,
	    lab->keys[K_STS_OLD], lab->w_sts_old)) == NULL)
		goto out;

	if (lab->sc->id == SC_MACHINE_SSL_NO_PNID) {
		/* Names the host, but not by its PNID. */
		if ((san = str_printf("DNS:%s, IP:127.0.0.1",
		    strcmp(lab->short_name, lab->pnid) != 0 ?
		    lab->short_name : "localhost")) == NULL) {
			warn("Machine SSL subjectAltName");
			goto out;
		}
	}
	if ((lab->mssl = issue_machine_ssl(lab, lab->pnid, san,
	    lab->keys[K_MSSL], lab->w_cur)) == NULL)
		goto out;
	if (!article && (lab->mssl_bkp = issue_machine_ssl(lab, lab->pnid,
	    NULL, lab->keys[K_MSSL_BKP], lab->w_bkp)) == NULL)
		goto out;
	if ((lab->psc2 = issue_machine_ssl(lab, PSC2, NULL, lab->keys[K_PSC2],
	    lab->w_cur)) == NULL)
		goto out;

	for (i = 0; i < lab->ver->nsolutions; i++) {
		if ((lab->su[i] = issue_solution(lab, solutions[i],
		    lab->keys[K_SOLUTION + i], lab->w_cur)) == NULL)
			goto out;
		if (!article && i < BACKUP_SOLUTIONS &&
		    (lab->su_bkp[i] = issue_solution(lab, solutions[i],
		    lab->keys[K_SOLUTION_BKP + i], lab->w_bkp)) == NULL)
			goto out;
	}
	if (lab->sc->id == SC_SOLUTION_USER_MISMATCH &&
	    (lab->su_mismatch = issue_solution(lab,
	    solutions[MISMATCH_SOLUTION], lab->keys[K_MISMATCH],
	    lab->w_mismatch)) == NULL)
		goto out;

	if ((lab->de = issue_data_encipherment(lab)) == NULL ||
	    (lab->sms = issue_sms(lab)) == NULL ||
	    (lab->vmdir_tls = issue_vmdir_tls(lab)) == NULL)
		goto out;
	if (make_xroots(lab) == -1 || make_crls(lab) == -1)
		goto out;
	rc = 0;
out:
	free(san);
	return rc;
}

/* ---- create: VECS -------------------------------------------------- */

/* Adds a certificate entry: Private Key with key, Trusted Cert without. */
static int
vecs_put(struct vecs_store *s, const char *alias, X509 *leaf, X509 *chain,
    EVP_PKEY *key)
{
	char	*cert = NULL, *pem = NULL;
	size_t	 certlen = 0, pemlen = 0;
	int	 rc = -1;

	if ((cert = pem_certs(leaf, chain, &certlen)) == NULL)
		goto out;
	if (key != NULL && (pem = pem_key(key, &pemlen)) == NULL)
		goto out;
	if (vecs_store_add(s, alias, key != NULL ? VECS_ENTRY_PRIVATE_KEY :
	    VECS_ENTRY_TRUSTED_CERT, cert, certlen, pem, pemlen) == -1) {
		warn("VECS %s/%s", s->name, alias);
		goto out;
	}
	rc = 0;
out:
	lab_free_secret(pem, pemlen);
	free(cert);
	return rc;
}

static int
fill_machine_ssl(const struct lab *lab, struct vecs_store *s)
{
	/* The chain as certificate-manager leaves it: leaf, then root. */
	return vecs_put(s, "__MACHINE_CERT", lab->mssl, lab->root,
	    lab->keys[K_MSSL]);
}

static int
fill_trusted_roots(const struct lab *lab, struct vecs_store *s)
{
	char	sha1[41];
	size_t	i;
	X509	*x;

	if (lab->sc->id == SC_ARTICLE_VCSA1)
		strcpy(sha1, ARTICLE_ROOT_ALIAS);
	else if (der_sha1(lab->root, NULL, sha1) == -1)
		return -1;
	if (vecs_put(s, sha1, lab->root, NULL, NULL) == -1)
		return -1;
	for (i = 0; i < lab->nxroots; i++) {
		x = lab->xroots[i].cert;
		if (lab->xroots[i].alias != NULL)
			snprintf(sha1, sizeof(sha1), "%s", lab->xroots[i].alias);
		else if (der_sha1(x, NULL, sha1) == -1)
			return -1;
		if (vecs_put(s, sha1, x, NULL, NULL) == -1)
			return -1;
	}
	return 0;
}

static int
fill_crls(const struct lab *lab, struct vecs_store *s)
{
	char	sha1[41], *pem = NULL;
	size_t	i, len = 0;
	int	rc = -1;

	for (i = 0; i < lab->ncrls; i++) {
		if (lab->crls[i].alias != NULL)
			snprintf(sha1, sizeof(sha1), "%s", lab->crls[i].alias);
		else if (der_sha1(NULL, lab->crls[i].crl, sha1) == -1)
			goto out;
		if ((pem = pem_crl(lab->crls[i].crl, &len)) == NULL)
			goto out;
		/* As vmafdd keeps a CRL: VecsX509CRLToPEM drops the last
		 * newline (vmafd/common/ssl.c:1358-1361), as the lab's
		 * vecs-cli does on entry create. */
		if (len > 0 && pem[len - 1] == '\n')
			len--;
		if (vecs_store_add(s, sha1, VECS_ENTRY_CRL, pem, len, NULL,
		    0) == -1) {
			warn("VECS %s/%s", s->name, sha1);
			goto out;
		}
		free(pem);
		pem = NULL;
	}
	rc = 0;
out:
	free(pem);
	return rc;
}

static int
fill_applmgmt(const struct lab *lab, struct vecs_store *s)
{
	unsigned char	secret[32];
	char		hex[2 * sizeof(secret) + 1];
	int		rc = -1;

	if (lab->sc->id == SC_ARTICLE_VCSA1)
		return 0;	/* empty in the article's listing */
	if (RAND_bytes(secret, sizeof(secret)) != 1) {
		sslwarnx("APPLMGMT_PASSWORD secret");
		goto out;
	}
	lab_hex(secret, sizeof(secret), hex);
	if (vecs_store_add(s, "location_password_default",
	    VECS_ENTRY_SECRET_KEY, NULL, 0, hex, strlen(hex)) == -1) {
		warn("VECS %s/location_password_default", s->name);
		goto out;
	}
	rc = 0;
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(hex, sizeof(hex));
	return rc;
}

static int
fill_data_encipherment(const struct lab *lab, struct vecs_store *s)
{
	return vecs_put(s, "data-encipherment", lab->de, NULL,
	    lab->keys[K_DE]);
}

static int
fill_sms(const struct lab *lab, struct vecs_store *s)
{
	return vecs_put(s, "sms_self_signed", lab->sms, NULL, lab->keys[K_SMS]);
}

static int
fill_backup(const struct lab *lab, struct vecs_store *s)
{
	char	alias[64];
	size_t	i;

	if (lab->mssl_bkp == NULL)
		return 0;
	if (vecs_put(s, "bkp___MACHINE_CERT", lab->mssl_bkp, lab->root,
	    lab->keys[K_MSSL_BKP]) == -1)
		return -1;
	for (i = 0; i < BACKUP_SOLUTIONS; i++) {
		snprintf(alias, sizeof(alias), "bkp_%s", solutions[i]);
		if (vecs_put(s, alias, lab->su_bkp[i], NULL,
		    lab->keys[K_SOLUTION_BKP + i]) == -1)
			return -1;
	}
	return 0;
}

static const struct filler {
	const char	*store;
	int		(*fill)(const struct lab *, struct vecs_store *);
} fillers[] = {
	{ "MACHINE_SSL_CERT",		fill_machine_ssl },
	{ "STS_INTERNAL_SSL_CERT",	fill_machine_ssl },
	{ "TRUSTED_ROOTS",		fill_trusted_roots },
	{ "TRUSTED_ROOT_CRLS",		fill_crls },
	{ "APPLMGMT_PASSWORD",		fill_applmgmt },
	{ "data-encipherment",		fill_data_encipherment },
	{ "SMS",			fill_sms },
	{ "BACKUP_STORE",		fill_backup },
};

static int
fill_store(const struct lab *lab, struct vecs_store *s)
{
	size_t	i;

	for (i = 0; i < sizeof(fillers) / sizeof(fillers[0]); i++)
		if (strcmp(fillers[i].store, s->name) == 0)
			return fillers[i].fill(lab, s);
	/* A solution user's store: alias = store name. */
	for (i = 0; i < lab->ver->nsolutions; i++)
		if (strcmp(solutions[i], s->name) == 0)
			return vecs_put(s, solutions[i], lab->su[i], NULL,
			    lab->keys[K_SOLUTION + i]);
	warnx("VECS store %s: nothing to put in it", s->name);
	return -1;
}

/* Each store is created, filled in memory and saved once. */
static int
write_vecs(const struct lab *lab)
{
	struct vecs_store	*s = NULL;
	const char *const	*name;
	int			 lockfd, rc = -1;

	if ((lockfd = vecsdb_lock(lab->dir)) == -1) {
		warn("%s/%s: lock", lab->dir, LAB_VECS_DIR);
		return -1;
	}
	for (name = lab->stores; *name != NULL; name++) {
		if (vecsdb_store_create(lab->dir, *name) == -1 ||
		    vecsdb_store_load(lab->dir, *name, &s) == -1) {
			warn("VECS store %s", *name);
			goto out;
		}
		if (fill_store(lab, s) == -1)
			goto out;
		if (vecsdb_store_save(lab->dir, s) == -1) {
			warn("VECS store %s: save", *name);
			goto out;
		}
		vecs_store_free(s);
		s = NULL;
	}
	rc = 0;
out:
	vecs_store_free(s);
	vecsdb_unlock(lockfd);
	return rc;
}

/* ---- create: the vmdir seed LDIF ----------------------------------- */

/*
 * The LDIF is built in a memory BIO: it holds the STS private key, and a
 * memory BIO clears what it frees, as it grows and at the end.
 */
struct ldif {
	BIO	*bio;
	int	 failed;
};

static void
ldif_write(struct ldif *l, const void *buf, size_t len)
{
	if (!l->failed && len > 0 && BIO_write(l->bio, buf, (int)len) !=
	    (int)len)
		l->failed = 1;
}

static void
ldif_puts(struct ldif *l, const char *s)
{
	ldif_write(l, s, strlen(s));
}

/* RFC 2849 SAFE-STRING: otherwise the value goes base64. */
static int
ldif_safe(const unsigned char *v, size_t len)
{
	size_t	i;

	if (len == 0)
		return 1;
	if (v[0] == ' ' || v[0] == ':' || v[0] == '<' || v[len - 1] == ' ')
		return 0;
	for (i = 0; i < len; i++)
		if (v[i] == '\0' || v[i] == '\n' || v[i] == '\r' || v[i] > 0x7f)
			return 0;
	return 1;
}

static void
ldif_value(struct ldif *l, const char *attr, const void *v, size_t len,
    int secret)
{
	char	*b64 = NULL;

	ldif_puts(l, attr);
	if (ldif_safe(v, len)) {
		ldif_puts(l, ": ");
		ldif_write(l, v, len);
	} else if ((b64 = base64(v, len)) != NULL) {
		ldif_puts(l, ":: ");
		ldif_puts(l, b64);
	} else
		l->failed = 1;
	ldif_puts(l, "\n");
	if (b64 != NULL) {
		if (secret)
			OPENSSL_cleanse(b64, strlen(b64));
		free(b64);
	}
}

static void
ldif_str(struct ldif *l, const char *attr, const char *v)
{
	ldif_value(l, attr, v, strlen(v), 0);
}

/* Starts an entry: dn, objectClass top and the classes (NULL-terminated),
 * and its naming value. */
static void
ldif_entryv(struct ldif *l, const char *dn, const char *const *classes)
{
	char	 rdn[256];
	const char *eq, *comma;

	ldif_puts(l, "\n");
	ldif_str(l, "dn", dn);
	ldif_str(l, "objectClass", "top");
	for (; *classes != NULL; classes++)
		ldif_str(l, "objectClass", *classes);
	/* The naming attribute's value is the RDN's: cn=X or ou=X or dc=X,
	 * and no RDN of ours holds an escaped comma. */
	eq = strchr(dn, '=');
	comma = strchr(dn, ',');
	if (eq == NULL || (comma != NULL && comma < eq) ||
	    (size_t)(eq - dn) >= sizeof(rdn)) {
		l->failed = 1;
		return;
	}
	snprintf(rdn, sizeof(rdn), "%.*s", (int)(eq - dn), dn);
	if (comma == NULL)
		comma = dn + strlen(dn);
	ldif_value(l, rdn, eq + 1, (size_t)(comma - eq - 1), 0);
}

static void
ldif_entry(struct ldif *l, const char *dn, const char *class)
{
	const char *classes[] = { class, NULL };

	ldif_entryv(l, dn, classes);
}

static void
ldif_container(struct ldif *l, const char *dn)
{
	ldif_entry(l, dn, "vmwContainer");
}

/* An i2d_X509 or i2d_X509_CRL result as a value; len <= 0: it failed. */
static void
ldif_der(struct ldif *l, const char *attr, unsigned char *der, int len)
{
	if (len <= 0)
		l->failed = 1;
	else
		ldif_value(l, attr, der, (size_t)len, 0);
	OPENSSL_free(der);
}

static void
ldif_cert(struct ldif *l, const char *attr, X509 *x)
{
	unsigned char	*der = NULL;
	int		 len;

	len = i2d_X509(x, &der);
	ldif_der(l, attr, der, len);
}

static void
ldif_crl(struct ldif *l, const char *attr, X509_CRL *crl)
{
	unsigned char	*der = NULL;
	int		 len;

	len = i2d_X509_CRL(crl, &der);
	ldif_der(l, attr, der, len);
}

/* {SSHA}: base64 of SHA-1(password + salt) + salt, 4 bytes of salt. */
static char *
ssha(const char *pw)
{
	EVP_MD_CTX	*ctx = NULL;
	unsigned char	 buf[EVP_MAX_MD_SIZE + 4];
	unsigned int	 n = 0;
	char		*b64 = NULL, *out = NULL;

	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    RAND_bytes(buf + 20, 4) != 1 ||
	    !EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) ||
	    !EVP_DigestUpdate(ctx, pw, strlen(pw)) ||
	    !EVP_DigestUpdate(ctx, buf + 20, 4) ||
	    !EVP_DigestFinal_ex(ctx, buf, &n) || n != 20) {
		sslwarnx("SSHA password hash");
		goto out;
	}
	if ((b64 = base64(buf, 24)) == NULL ||
	    (out = str_printf("{SSHA}%s", b64)) == NULL)
		warn("SSHA password hash");
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	free(b64);
	EVP_MD_CTX_free(ctx);
	return out;
}

/*
 * An account as vmdir keeps it: users top, person, organizationalPerson,
 * user; a domain controller's machine account also computer, with its
 * vmwMachineGuid and vmwLDUGuid (vmdir/server/vmdir/promote/dcactmgmt.c
 * 121-163, vmdir/client/ldaputil.c 1262-1300).
 */
static int
ldif_user(const struct lab *lab, struct ldif *l, const char *dn,
    const char *name, const char *pw, int computer)
{
	static const char *const user[] = { "person", "organizationalPerson",
	    "user", NULL };
	static const char *const dc[] = { "person", "organizationalPerson",
	    "user", "computer", NULL };
	char	*hash = NULL, *upn = NULL;
	int	 rc = -1;

	if ((hash = ssha(pw)) == NULL ||
	    (upn = str_printf("%s@%s", name, DOMAIN_UPPER)) == NULL)
		goto out;
	ldif_entryv(l, dn, computer ? dc : user);
	ldif_str(l, "sAMAccountName", name);
	ldif_str(l, "userPrincipalName", upn);
	if (computer) {
		ldif_str(l, "vmwMachineGuid", lab->machine_guid);
		ldif_str(l, "vmwLDUGuid", lab->ldu_guid);
	}
	ldif_str(l, "userPassword", hash);
	rc = 0;
out:
	free(hash);
	free(upn);
	return rc;
}

/*
 * The built-in groups vmdir makes on the first node (vmdir/server/vmdir/
 * instance.c 1040-1110): DCAdmins (the domain controllers, added by
 * dcactmgmt.c 80-92), DCClients, and CAAdmins (the administrator and both
 * groups); and this node's directory server object under cn=Servers of its
 * site (vmdir/server/common/nodeidentity.c 26-40).
 */
static void
ldif_builtin(const struct lab *lab, struct ldif *l, const char *dc_dn)
{
	static const char *const group[] = { "group", NULL };
	char	dn[512], num[32];

	ldif_container(l, "cn=Builtin," DDN);
	ldif_entryv(l, "cn=DCAdmins,cn=Builtin," DDN, group);
	ldif_str(l, "groupType", GROUP_TYPE);
	if (lab->type != NT_MGMT)
		ldif_str(l, "member", dc_dn);
	/* A client's computer account joins DCClients (vmdir/client/
	 * client.c VmDirClientJoin 1070-1131, ldaputil.c 2231). */
	ldif_entryv(l, "cn=DCClients,cn=Builtin," DDN, group);
	ldif_str(l, "groupType", GROUP_TYPE);
	if (lab->type == NT_MGMT)
		ldif_str(l, "member", dc_dn);
	ldif_entryv(l, "cn=CAAdmins,cn=Builtin," DDN, group);
	ldif_str(l, "groupType", GROUP_TYPE);
	ldif_str(l, "member", "cn=Administrator,cn=Users," DDN);
	ldif_str(l, "member", "cn=DCAdmins,cn=Builtin," DDN);
	ldif_str(l, "member", "cn=DCClients,cn=Builtin," DDN);

	ldif_container(l, SERVERS_DN);
	if (lab->type == NT_MGMT)
		return;		/* no directory server of its own */
	snprintf(dn, sizeof(dn), "cn=%s," SERVERS_DN, lab->pnid);
	ldif_entry(l, dn, "vmwDirServer");
	snprintf(num, sizeof(num), "%ld", lab->server_id > 0 ?
	    lab->server_id : 1);
	ldif_str(l, "serverId", num);
	ldif_str(l, "invocationId", lab->invocation_id);
	snprintf(num, sizeof(num), "%ld", lab->repl_interval);
	ldif_str(l, "replInterval", num);
	ldif_str(l, "replPageSize", "1000");
}

static int
ldif_principals(const struct lab *lab, struct ldif *l)
{
	char	*dn = NULL, *cn = NULL, *subject = NULL;
	X509	*x;
	size_t	 i;
	int	 rc = -1;

	ldif_container(l, "cn=ServicePrincipals," DDN);
	for (i = 0; i < lab->ver->nsolutions; i++) {
		x = lab->su[i];
		if (i == MISMATCH_SOLUTION && lab->su_mismatch != NULL)
			x = lab->su_mismatch;
		if ((cn = str_printf("%s-%s", solutions[i],
		    lab->machine_id)) == NULL ||
		    (dn = str_printf("cn=%s,cn=ServicePrincipals," DDN,
		    cn)) == NULL) {
			warn("service principal %s", solutions[i]);
			goto out;
		}
		if ((subject = subject_rfc2253(x)) == NULL)
			goto out;
		ldif_entry(l, dn, "vmwServicePrincipal");
		ldif_str(l, "sAMAccountName", cn);
		ldif_cert(l, "userCertificate", x);
		ldif_str(l, "vmwSTSSubjectDN", subject);
		free(cn);
		free(dn);
		free(subject);
		cn = dn = subject = NULL;
	}
	rc = 0;
out:
	free(cn);
	free(dn);
	free(subject);
	return rc;
}

/* TenantCredential-n and TrustedCertChain-n for one STS certificate. */
static int
ldif_sts_chain(const struct lab *lab, struct ldif *l, int n, X509 *leaf,
    EVP_PKEY *key)
{
	unsigned char	*der = NULL;
	size_t		 len = 0;
	char		 dn[256];

	if ((der = der_key(key, &len)) == NULL)
		return -1;
	snprintf(dn, sizeof(dn), "cn=TenantCredential-%d," TENANT_DN, n);
	ldif_entry(l, dn, "vmwSTSTenantCredential");
	ldif_cert(l, "userCertificate", leaf);
	ldif_cert(l, "userCertificate", lab->root);
	ldif_value(l, "vmwSTSPrivateKey", der, len, 1);
	lab_free_secret(der, len);
	return 0;
}

static void
ldif_trusted_chain(const struct lab *lab, struct ldif *l, int n, X509 *leaf)
{
	char	dn[256];

	snprintf(dn, sizeof(dn), "cn=TrustedCertChain-%d," CHAINS_DN, n);
	ldif_entry(l, dn, "vmwSTSTenantTrustedCertificateChain");
	ldif_cert(l, "userCertificate", leaf);
	ldif_cert(l, "userCertificate", lab->root);
}

static int
ldif_tenant(const struct lab *lab, struct ldif *l)
{
	ldif_container(l, "cn=Services," DDN);
	ldif_container(l, "cn=IdentityManager,cn=Services," DDN);
	ldif_container(l, "cn=Tenants,cn=IdentityManager,cn=Services," DDN);
	ldif_entry(l, TENANT_DN, "vmwSTSTenant");
	/* The identity service signs with the highest N; a stale chain
	 * stays below it (appliance.md section 2). */
	if (lab->sts_old != NULL) {
		if (ldif_sts_chain(lab, l, 1, lab->sts_old,
		    lab->keys[K_STS_OLD]) == -1 ||
		    ldif_sts_chain(lab, l, 2, lab->sts, lab->keys[K_STS]) == -1)
			return -1;
	} else if (ldif_sts_chain(lab, l, 1, lab->sts, lab->keys[K_STS]) == -1)
		return -1;
	ldif_container(l, CHAINS_DN);
	if (lab->sts_old != NULL) {
		ldif_trusted_chain(lab, l, 1, lab->sts_old);
		ldif_trusted_chain(lab, l, 2, lab->sts);
	} else
		ldif_trusted_chain(lab, l, 1, lab->sts);
	return 0;
}

/*
 * A PEM text as Lightwave writes it into vmdir: VMCA's VMCACertToPEM and
 * VMCACRLToPEM, and vmafd's VecsX509CRLToPEM, copy all of OpenSSL's PEM but
 * its last newline (vmca/common/pkcs_openssl.c:311-314 and 372-375,
 * vmafd/common/ssl.c:1358-1361); dir-cli's VecsCertToPEM keeps it
 * (vmafd/common/ssl.c:1298-1306).
 */
static void
ldif_pem(struct ldif *l, const char *attr, const char *pem, size_t len,
    int newline)
{
	if (pem == NULL) {
		l->failed = 1;
		return;
	}
	if (!newline && len > 0 && pem[len - 1] == '\n')
		len--;
	ldif_value(l, attr, pem, len, 0);
}

/*
 * A CA entry under cn=Certificate-Authorities. As Lightwave's VMCA writes
 * its root (vmca/common/ldap.c: VMCAUpdatePkiCAAttribute 928-1046, the cn
 * from VMCAGenerateCACNForLdap 796-862 in upper-case hex, the classes of
 * VMCACreateCAObject 1193-1233, cACertificateDN in X509_NAME_print form
 * 966, the CRL of VMCAUpdateCrlCAAttribute 661-764; written by VMCA's
 * directory sync, vmca/service/dirsync.c 340-424) and dir-cli publishes
 * other roots (vmafd/tools/dir-cli/cli.c DirCliPublishCertA 995-1195): PEM
 * text values. With
 * --ca-entries der, the shape other tools leave: DER values, a lower-case
 * cn, no cACertificateDN (pkiCA stays: vmdir's schema allows cACertificate
 * through it only). vmca: written by VMCA (no final newline), else dir-cli.
 */
static int
ldif_ca(const struct lab *lab, struct ldif *l, X509 *x, X509_CRL *crl,
    int vmca)
{
	char	 ski[2 * EVP_MAX_MD_SIZE + 1], dn[256], *p, *pem, *subject;
	size_t	 len;

	if (cert_ski_hex(x, ski, sizeof(ski)) == -1)
		return -1;
	if (!lab->ca_der)
		for (p = ski; *p != '\0'; p++)
			*p = (char)toupper((unsigned char)*p);
	snprintf(dn, sizeof(dn), "cn=%s," CA_DN, ski);
	ldif_puts(l, "\n");
	ldif_str(l, "dn", dn);
	ldif_str(l, "objectClass", "vmwCertificationAuthority");
	ldif_str(l, "objectClass", "pkiCA");
	ldif_str(l, "objectClass", "top");
	ldif_str(l, "cn", ski);
	if (lab->ca_der) {
		ldif_cert(l, "cACertificate", x);
		if (crl != NULL)
			ldif_crl(l, "certificateRevocationList", crl);
		return 0;
	}
	if ((subject = subject_compat(x)) == NULL)
		return -1;
	ldif_str(l, "cACertificateDN", subject);
	free(subject);
	pem = pem_certs(x, NULL, &len);
	ldif_pem(l, "cACertificate", pem, len, !vmca);
	free(pem);
	if (crl != NULL) {
		pem = pem_crl(crl, &len);
		ldif_pem(l, "certificateRevocationList", pem, len, 0);
		free(pem);
	}
	return 0;
}

/* Whether an endpoint of this kind is in the lab. */
static int
endpoint_present(const struct lab *lab, enum legacy legacy)
{
	switch (legacy) {
	case EP_MODERN:
		return 1;
	case EP_LEGACY_67:
		return lab->sc->id == SC_LEGACY_ENDPOINTS ||
		    strcmp(lab->ver->name, "6.7") == 0;
	case EP_LEGACY_UPGRADED:
		return lab->sc->id == SC_LEGACY_ENDPOINTS;
	}
	return 0;
}

/*
 * The registrations of one node (host, machine id). Modern endpoints trust
 * `trust', legacy ones `legacy_trust' (they differ where a tool updated only
 * vmwLKUPEndpointSslTrust).
 */
static int
ldif_registrations(const struct lab *lab, struct ldif *l, const char *host,
    const char *id, const struct registration *regs, size_t nregs,
    X509 *trust, X509 *legacy_trust)
{
	unsigned char	*der = NULL, *lder = NULL;
	char		*b64 = NULL, *sid = NULL, *dn = NULL, *uri = NULL;
	char		*owner = NULL;
	size_t		 i, e, n;
	int		 len, llen, rc = -1;

	if ((len = i2d_X509(trust, &der)) <= 0 ||
	    (llen = i2d_X509(legacy_trust, &lder)) <= 0 ||
	    (b64 = base64(der, (size_t)len)) == NULL) {
		sslwarnx("Lookup Service trust");
		goto out;
	}
	for (i = 0; i < nregs; i++) {
		/* 6.x external PSC: the PSC registers SSO, STS and the
		 * lookup service, the vCenter (management node) itself. */
		if ((lab->type == NT_MGMT) != (strcmp(regs[i].service,
		    "com.vmware.vcenterserver") == 0) &&
		    lab->type != NT_EMBEDDED)
			continue;
		if ((sid = str_printf("%s_%s", id, regs[i].service)) == NULL ||
		    (dn = str_printf("cn=%s," LS_DN, sid)) == NULL ||
		    (owner = str_printf("%s-%s@" DOMAIN, regs[i].owner,
		    id)) == NULL) {
			warn("registration %s", regs[i].service);
			goto out;
		}
		ldif_entry(l, dn, "vmwLKUPServiceRegistration");
		ldif_str(l, "vmwLKUPVersion", "1.0");
		ldif_str(l, "vmwLKUPProduct", "com.vmware.cis");
		ldif_str(l, "vmwLKUPType", regs[i].type);
		ldif_str(l, "vmwLKUPOwnerId", owner);
		ldif_str(l, "vmwLKUPDeploymentNodeId", id);
		for (e = 0, n = 0; e < 3 && regs[i].ep[e].uri != NULL; e++) {
			const struct endpoint *ep = &regs[i].ep[e];

			if (!endpoint_present(lab, ep->legacy))
				continue;
			free(dn);
			if ((dn = str_printf("cn=Endpoint%zu,cn=%s," LS_DN,
			    ++n, sid)) == NULL ||
			    (uri = str_printf("https://%s%s", host,
			    ep->uri)) == NULL) {
				warn("endpoint of %s", regs[i].service);
				goto out;
			}
			if (ep->legacy != EP_MODERN) {
				ldif_entry(l, dn, "vmwLKUPServiceEndpoint");
				ldif_str(l, "vmwLKUPURI", uri);
				ldif_str(l, "vmwLKUPProtocol", "1");
				ldif_value(l, "vmwLKUPSslTrustAnchor", lder,
				    (size_t)llen, 0);
			} else {
				ldif_entry(l, dn, "vmwLKUPEndpointRegistration");
				ldif_str(l, "vmwLKUPEndpointType", ep->type);
				ldif_str(l, "vmwLKUPEndpointProtocol",
				    ep->protocol);
				ldif_str(l, "vmwLKUPURI", uri);
				ldif_str(l, "vmwLKUPEndpointSslTrust", b64);
			}
			free(uri);
			uri = NULL;
		}
		free(sid);
		free(dn);
		free(owner);
		sid = dn = owner = NULL;
	}
	rc = 0;
out:
	OPENSSL_free(der);
	OPENSSL_free(lder);
	free(b64);
	free(sid);
	free(dn);
	free(uri);
	free(owner);
	return rc;
}

static int
ldif_build(const struct lab *lab, struct ldif *l)
{
	char	 dn[512];
	size_t	 i;
	X509	*trust;

	ldif_puts(l, "# vmdir seed of a vcrotate lab; loaded with slapadd.\n");
	ldif_entry(l, DDN, "vmwDomain");

	ldif_container(l, "cn=Users," DDN);
	if (ldif_user(lab, l, "cn=Administrator,cn=Users," DDN,
	    "Administrator", lab->admin_pw, 0) == -1)
		return -1;
	ldif_entry(l, DC_OU_DN, "vmwOrganizationalUnit");
	if (lab->type == NT_MGMT)
		ldif_entry(l, COMPUTERS_DN, "vmwOrganizationalUnit");
	snprintf(dn, sizeof(dn), "cn=%s,%s", lab->pnid,
	    lab->type == NT_MGMT ? COMPUTERS_DN : DC_OU_DN);
	if (ldif_user(lab, l, dn, lab->pnid, lab->dc_pw, 1) == -1)
		return -1;

	if (ldif_principals(lab, l) == -1 || ldif_tenant(lab, l) == -1)
		return -1;

	ldif_container(l, "cn=Configuration," DDN);
	ldif_container(l, CA_DN);
	if (ldif_ca(lab, l, lab->root, lab->crls[0].crl, 1) == -1)
		return -1;
	for (i = 0; i < lab->nxroots; i++)
		if (ldif_ca(lab, l, lab->xroots[i].cert, lab->xroots[i].crl ==
		    -1 ? NULL : lab->crls[lab->xroots[i].crl].crl, 0) == -1)
			return -1;

	ldif_container(l, "cn=Sites,cn=Configuration," DDN);
	ldif_container(l, "cn=" SITE ",cn=Sites,cn=Configuration," DDN);
	snprintf(dn, sizeof(dn), "cn=%s,%s", lab->pnid,
	    lab->type == NT_MGMT ? COMPUTERS_DN : DC_OU_DN);
	ldif_builtin(lab, l, dn);
	ldif_container(l, "cn=LookupService,cn=" SITE
	    ",cn=Sites,cn=Configuration," DDN);
	ldif_container(l, LS_DN);
	/* trust-anchor-stale: every endpoint of the PNID trusts the backup
	 * Machine SSL; legacy-endpoints: only the legacy ones do, as a tool
	 * that updates vmwLKUPEndpointSslTrust alone leaves them. */
	trust = lab->sc->id == SC_TRUST_ANCHOR_STALE ? lab->mssl_bkp :
	    lab->mssl;
	if (ldif_registrations(lab, l, lab->pnid, lab->machine_id,
	    node_registrations, sizeof(node_registrations) /
	    sizeof(node_registrations[0]), trust,
	    lab->sc->id == SC_LEGACY_ENDPOINTS ? lab->mssl_bkp : trust) == -1)
		return -1;
	/* A domain's other nodes are real: no imitated psc2. */
	if (lab->server_id == 0 &&
	    ldif_registrations(lab, l, PSC2, lab->psc2_id, psc2_registrations,
	    sizeof(psc2_registrations) / sizeof(psc2_registrations[0]),
	    lab->psc2, lab->psc2) == -1)
		return -1;
	return 0;
}

static int
write_seed_ldif(const struct lab *lab)
{
	struct ldif	 l = { NULL, 0 };
	char		*dir = NULL, *path = NULL, *data = NULL;
	long		 len;
	int		 rc = -1;

	if ((dir = lab_path(lab->dir, LAB_VMDIR_DIR)) == NULL ||
	    (path = lab_path(dir, "seed.ldif")) == NULL) {
		warn("seed LDIF path");
		goto out;
	}
	if (lab_mkdirs(dir, 0700) == -1) {
		warn("%s", dir);
		goto out;
	}
	if ((l.bio = BIO_new(BIO_s_mem())) == NULL) {
		sslwarnx("seed LDIF buffer");
		goto out;
	}
	if (ldif_build(lab, &l) == -1)
		goto out;
	if (l.failed || (len = BIO_get_mem_data(l.bio, &data)) <= 0) {
		warnx("%s: cannot build the LDIF", path);
		goto out;
	}
	if (lab_write_file_atomic(path, data, (size_t)len, 0600) == -1) {
		warn("%s", path);
		goto out;
	}
	rc = 0;
out:
	BIO_free(l.bio);
	free(dir);
	free(path);
	return rc;
}

/* ---- create: files ------------------------------------------------- */

/* Writes ROOT/rel atomically, making its directory (mode dmode). */
static int
write_lab_file(const struct lab *lab, const char *rel, const void *buf,
    size_t len, mode_t mode, mode_t dmode)
{
	char	*path = NULL, *slash;
	int	 rc = -1;

	if ((path = lab_path(lab->dir, rel)) == NULL) {
		warn("%s", rel);
		goto out;
	}
	slash = strrchr(path, '/');
	*slash = '\0';
	if (lab_mkdirs(path, dmode) == -1) {
		warn("%s", path);
		goto out;
	}
	*slash = '/';
	if (lab_write_file_atomic(path, buf, len, mode) == -1) {
		warn("%s", path);
		goto out;
	}
	rc = 0;
out:
	free(path);
	return rc;
}

/* ---- create: VCDB ------------------------------------------------- */

/*
 * The vCenter extensions registered in VCDB's vpx_ext, each logging in with
 * a certificate whose SHA-1 thumbprint its row holds (docs/lab.md, "VCDB"):
 * vCert 4.9.0's VCENTER_EXTENSIONS and Broadcom's vCert table. rbd is gone
 * from 8.0 build 22385739 on (the lab's 8.0 is 24026615); vlcm.client
 * came with 8.0.
 */
struct extension {
	const char	*id;
	int		 machine_ssl;	/* follows Machine SSL, not vpxd-extension */
	int		 since, until;	/* major versions that have it */
};

static const struct extension extensions[] = {
	{ "com.vmware.vim.eam",		0, 6, 8 },
	{ "com.vmware.rbd",		0, 6, 7 },
	{ "com.vmware.imagebuilder",	0, 6, 8 },
	{ "com.vmware.vcIntegrity",	0, 6, 8 },
	{ "com.vmware.vlcm.client",	0, 8, 8 },
	{ "com.vmware.vsan.health",	1, 6, 8 },
};

/*
 * VCDB's rows for this appliance, as SQL labctl loads: each extension's
 * thumbprint is the certificate it logs in with, or, in
 * extension-thumbprint-stale, the one replaced by hand before (the copy
 * certificate-manager left in BACKUP_STORE), as after a replacement that
 * did not update vpx_ext.
 */
static int
write_vcdb_rows(const struct lab *lab)
{
	const struct extension	*e;
	X509			*x;
	char			*sql = NULL, *more, tp[60];
	int			 major = atoi(lab->ver->name), stale, rc = -1;
	size_t			 i;

	stale = lab->sc->id == SC_EXTENSION_THUMBPRINT_STALE;
	if ((sql = strdup("BEGIN;\n")) == NULL)
		goto oom;
	for (i = 0; i < sizeof(extensions) / sizeof(extensions[0]); i++) {
		e = &extensions[i];
		if (major < e->since || major > e->until)
			continue;
		if (e->machine_ssl)
			x = stale ? lab->mssl_bkp : lab->mssl;
		else
			x = stale ? lab->su_bkp[VPXD_EXTENSION] :
			    lab->su[VPXD_EXTENSION];
		if (x == NULL || lab_sha1_thumbprint(x, tp) == -1) {
			warnx("VCDB: no thumbprint for %s", e->id);
			goto out;
		}
		more = str_printf("%sINSERT INTO vpx_ext (ext_id, thumbprint) "
		    "VALUES ('%s', '%s');\n", sql, e->id, tp);
		free(sql);
		if ((sql = more) == NULL)
			goto oom;
	}
	if ((more = str_printf("%sCOMMIT;\n", sql)) == NULL)
		goto oom;
	free(sql);
	sql = more;
	rc = write_lab_file(lab, LAB_VCDB_ROWS, sql, strlen(sql), 0644, 0755);
	goto out;
oom:
	warn("VCDB rows");
out:
	free(sql);
	return rc;
}

/*
 * vsan-health's copy of the vpxd-extension certificate and key, where
 * Broadcom's vCert copies them after a new vpxd-extension certificate
 * (docs/lab.md, "vsan-health"): the certificate in use, or, in
 * extension-thumbprint-stale, the one replaced by hand before, as after a
 * replacement that left the copy alone. The leaf alone (certool's --cert
 * file), the key PKCS#8 PEM; 0644 and 0600 (the lab's choice: no listing).
 */
static int
write_vsan_health(const struct lab *lab)
{
	X509	*x;
	EVP_PKEY *k;
	char	*cert = NULL, *key = NULL;
	size_t	 certlen = 0, keylen = 0;
	int	 stale = lab->sc->id == SC_EXTENSION_THUMBPRINT_STALE, rc = -1;

	if (!lab->vsan_health)
		return 0;
	x = stale ? lab->su_bkp[VPXD_EXTENSION] : lab->su[VPXD_EXTENSION];
	k = lab->keys[(stale ? K_SOLUTION_BKP : K_SOLUTION) + VPXD_EXTENSION];
	if (x == NULL || (cert = pem_certs(x, NULL, &certlen)) == NULL ||
	    (key = pem_key(k, &keylen)) == NULL)
		goto out;
	if (write_lab_file(lab, LAB_VSAN_CERT, cert, certlen, 0644,
	    0755) == -1 ||
	    write_lab_file(lab, LAB_VSAN_KEY, key, keylen, 0600, 0755) == -1)
		goto out;
	rc = 0;
out:
	lab_free_secret(key, keylen);
	free(cert);
	return rc;
}

/*
 * Auto Deploy's database (docs/lab.md, "Auto Deploy"): vc_servers, one
 * row for this vCenter, whose thumbprint Broadcom's vCert sets to the
 * Machine SSL certificate's; in extension-thumbprint-stale, the one
 * replaced by hand before. SQL that labctl gives sqlite3; where the file
 * goes (by version) is labctl's.
 */
static int
write_rbd_rows(const struct lab *lab)
{
	X509	*x = lab->sc->id == SC_EXTENSION_THUMBPRINT_STALE ?
	    lab->mssl_bkp : lab->mssl;
	char	*sql = NULL, tp[60];
	int	 rc;

	if (!lab->autodeploy)
		return 0;
	if (x == NULL || lab_sha1_thumbprint(x, tp) == -1 ||
	    (sql = str_printf("CREATE TABLE vc_servers (id INTEGER PRIMARY "
	    "KEY, address TEXT, thumbprint TEXT);\nINSERT INTO vc_servers "
	    "(address, thumbprint) VALUES ('%s', '%s');\n", lab->pnid,
	    tp)) == NULL) {
		warnx("Auto Deploy rows");
		return -1;
	}
	rc = write_lab_file(lab, LAB_RBD_ROWS, sql, strlen(sql), 0644, 0755);
	free(sql);
	return rc;
}

static int
write_vmca(const struct lab *lab)
{
	char	*cert = NULL, *key = NULL;
	size_t	 certlen = 0, keylen = 0;
	int	 rc = -1;

	if ((cert = pem_certs(lab->root, NULL, &certlen)) == NULL ||
	    (key = pem_key(lab->keys[K_ROOT], &keylen)) == NULL)
		goto out;
	if (write_lab_file(lab, LAB_VMCA_ROOT, cert, certlen, 0644,
	    0755) == -1 ||
	    write_lab_file(lab, LAB_VMCA_KEY, key, keylen, 0600, 0755) == -1)
		goto out;
	rc = 0;
out:
	lab_free_secret(key, keylen);
	free(cert);
	return rc;
}

/* slapd's TLS certificate and key (slapd.conf names them). */
static int
write_vmdir_tls(const struct lab *lab)
{
	char	*cert = NULL, *key = NULL;
	size_t	 certlen = 0, keylen = 0;
	int	 rc = -1;

	if ((cert = pem_certs(lab->vmdir_tls, NULL, &certlen)) == NULL ||
	    (key = pem_key(lab->keys[K_VMDIR_TLS], &keylen)) == NULL)
		goto out;
	if (write_lab_file(lab, LAB_VMDIR_DIR "/slapd-tls.crt", cert, certlen,
	    0644, 0700) == -1 ||
	    write_lab_file(lab, LAB_VMDIR_DIR "/slapd-tls.key", key, keylen,
	    0600, 0700) == -1)
		goto out;
	rc = 0;
out:
	lab_free_secret(key, keylen);
	free(cert);
	return rc;
}

/* A registry value: `\' as `\\', newline as `\n' (labutil.h). */
static void
reg_value(BIO *bio, const char *name, const char *value)
{
	BIO_puts(bio, name);
	BIO_puts(bio, "=");
	for (; *value != '\0'; value++) {
		if (*value == '\\')
			BIO_puts(bio, "\\\\");
		else if (*value == '\n')
			BIO_puts(bio, "\\n");
		else
			BIO_write(bio, value, 1);
	}
	BIO_puts(bio, "\n");
}

static int
write_registry(const struct lab *lab)
{
	BIO	*bio = NULL;
	char	*dn = NULL, *ls = NULL, *data = NULL;
	long	 len;
	int	 rc = -1;

	if ((dn = str_printf("cn=%s,%s", lab->pnid, lab->type == NT_MGMT ?
	    COMPUTERS_DN : DC_OU_DN)) == NULL ||
	    (ls = str_printf("https://%s/lookupservice/sdk",
	    lab->dc_name != NULL ? lab->dc_name : lab->pnid)) == NULL) {
		warn("registry");
		goto out;
	}
	/* A memory BIO: the machine account's password passes through. */
	if ((bio = BIO_new(BIO_s_mem())) == NULL) {
		sslwarnx("registry buffer");
		goto out;
	}
	BIO_puts(bio, "[" LAB_REG_VMDIR "]\n");
	reg_value(bio, "dcAccount", lab->pnid);
	reg_value(bio, "dcAccountDN", dn);
	reg_value(bio, "dcAccountPassword", lab->dc_pw);
	BIO_puts(bio, "\n[" LAB_REG_VMAFD "]\n");
	reg_value(bio, "PNID", lab->pnid);
	reg_value(bio, "MachineID", lab->machine_id);
	reg_value(bio, "DomainName", DOMAIN);
	reg_value(bio, "SiteName", SITE);
	reg_value(bio, "LSLocation", ls);
	/* A management node's DC is its PSC (vmafd/server/vmafd/vmdir.c
	 * 557-561 sets DCName at join); DomainState 1 controller, 2 client
	 * (vmafd/include/public/vmafdtypes.h 197-202). */
	reg_value(bio, "DCName", lab->dc_name != NULL ? lab->dc_name :
	    lab->pnid);
	if (lab->server_id > 0)
		reg_value(bio, "DomainState", lab->type == NT_MGMT ? "2" :
		    "1");
	if ((len = BIO_get_mem_data(bio, &data)) <= 0) {
		warnx("registry: cannot build it");
		goto out;
	}
	if (write_lab_file(lab, LAB_REGISTRY, data, (size_t)len, 0600,
	    0755) == -1)
		goto out;
	rc = 0;
out:
	BIO_free(bio);
	free(dn);
	free(ls);
	return rc;
}

static int
write_state(const struct lab *lab)
{
	char	*conf = NULL, created[32], node_type[32], sid[32];
	int	 rc = -1;

	snprintf(node_type, sizeof(node_type), "%s\n",
	    node_types[lab->type]);
	if (write_lab_file(lab, LAB_NODE_TYPE, node_type,
	    strlen(node_type), 0644, 0755) == -1 ||
	    write_lab_file(lab, LAB_ADMIN_PASSWORD, lab->admin_pw,
	    strlen(lab->admin_pw), 0600, 0700) == -1)
		goto out;
	/* lab.conf last: a folder without it is no lab to labctl. */
	if ((conf = lab_path(lab->dir, LAB_CONF)) == NULL) {
		warn("%s", LAB_CONF);
		goto out;
	}
	snprintf(created, sizeof(created), "%lld", (long long)lab->now);
	snprintf(sid, sizeof(sid), "%ld", lab->server_id);
	if (lab_conf_set(conf, "scenario", lab->sc->name) == -1 ||
	    lab_conf_set(conf, "version", lab->ver->name) == -1 ||
	    lab_conf_set(conf, "pnid", lab->pnid) == -1 ||
	    lab_conf_set(conf, "domain", DOMAIN) == -1 ||
	    lab_conf_set(conf, "machine_id", lab->machine_id) == -1 ||
	    lab_conf_set(conf, "site", SITE) == -1 ||
	    lab_conf_set(conf, "ca_entries", lab->ca_der ? "der" : "pem") ==
	    -1 ||
	    lab_conf_set(conf, "created", created) == -1 ||
	    (lab->server_id > 0 && (lab_conf_set(conf, "address",
	    lab->address) == -1 || lab_conf_set(conf, "server_id",
	    sid) == -1)) ||

	    (lab->vsan_health && lab_conf_set(conf, "vsan_health", "1") ==
	    -1)) {
		warn("%s", conf);
		goto out;
	}
	rc = 0;
out:
	free(conf);
	return rc;
}

/* ---- create -------------------------------------------------------- */

static int
dir_is_empty(const char *path)
{
	DIR		*d = NULL;
	struct dirent	*de;
	int		 rc = -1;

	if ((d = opendir(path)) == NULL) {
		warn("lab folder %s", path);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		warnx("lab folder %s: not empty (holds %s)", path, de->d_name);
		goto out;
	}
	rc = 0;
out:
	closedir(d);
	return rc;
}

static int
valid_hostname(const char *s)
{
	const char	*p;

	if (*s == '\0' || *s == '.' || *s == '-' || strlen(s) > 253)
		return 0;
	for (p = s; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '.' || *p == '-'))
			return 0;
	return 1;
}

static void
lab_free(struct lab *lab)
{
	size_t	i;

	for (i = 0; i < K_MAX; i++)
		EVP_PKEY_free(lab->keys[i]);
	X509_free(lab->root);
	X509_free(lab->sts);
	X509_free(lab->sts_old);
	X509_free(lab->mssl);
	X509_free(lab->mssl_bkp);
	X509_free(lab->psc2);
	for (i = 0; i < MAX_SOLUTIONS; i++)
		X509_free(lab->su[i]);
	for (i = 0; i < BACKUP_SOLUTIONS; i++)
		X509_free(lab->su_bkp[i]);
	X509_free(lab->su_mismatch);
	X509_free(lab->de);
	X509_free(lab->vmdir_tls);
	X509_free(lab->sms);
	for (i = 0; i < lab->nxroots; i++)
		X509_free(lab->xroots[i].cert);
	free(lab->xroots);
	for (i = 0; i < lab->ncrls; i++)
		X509_CRL_free(lab->crls[i].crl);
	free(lab->crls);
	free(lab->short_name);
	if (lab->admin_pw != NULL)
		lab_free_secret(lab->admin_pw, strlen(lab->admin_pw));
	if (lab->dc_pw != NULL)
		lab_free_secret(lab->dc_pw, strlen(lab->dc_pw));
}

/* Who the appliance is: ids and passwords, all random. */
static int
make_identity(struct lab *lab)
{
	size_t	n;

	if (random_uuid(lab->machine_id) == -1 ||
	    random_uuid(lab->psc2_id) == -1 ||
	    random_uuid(lab->machine_guid) == -1 ||
	    random_uuid(lab->ldu_guid) == -1 ||
	    random_uuid(lab->invocation_id) == -1)
		return -1;
	n = strcspn(lab->pnid, ".");
	if ((lab->short_name = strndup(lab->pnid, n)) == NULL) {
		warn("short host name");
		return -1;
	}
	/* `"' and `\' on purpose: lwregshell must escape them. */
	if ((lab->dc_pw = random_password(24,
	    "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
	    "!#%+,-.:;=?@^_~", "\"\\")) == NULL ||
	    (lab->admin_pw = random_password(20,
	    "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789",
	    "!")) == NULL) {
		warnx("random passwords");
		return -1;
	}
	return 0;
}

static int
cmd_create(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "scenario",	required_argument, NULL, 's' },
		{ "version",	required_argument, NULL, 'v' },
		{ "pnid",	required_argument, NULL, 'p' },
		{ "keypool",	required_argument, NULL, 'k' },
		{ "crls",	required_argument, NULL, 'c' },
		{ "roots",	required_argument, NULL, 'r' },
		{ "now",	required_argument, NULL, 'n' },
		{ "ca-entries",	required_argument, NULL, 'a' },
		{ "address",	required_argument, NULL, 'A' },
		{ "key-offset",	required_argument, NULL, 'K' },
		{ "server-id",	required_argument, NULL, 'S' },
		{ "node-type",	required_argument, NULL, 'T' },
		{ "dc-name",	required_argument, NULL, 'D' },
		{ "repl-interval", required_argument, NULL, 'R' },
		{ "vmca",	required_argument, NULL, 'V' },
		{ "vsan-health", no_argument,	   NULL, 'h' },
		{ "autodeploy",	no_argument,	   NULL, 'd' },
		{ NULL,		0,		   NULL, 0 }
	};
	struct lab	 lab;
	const char	*scenario = NULL, *version = NULL;
	long		 crls = -1, roots = -1, now = -1;
	size_t		 i;
	int		 ch, rc = 1;

	memset(&lab, 0, sizeof(lab));
	lab.pnid = DEFAULT_PNID;
	lab.address = "127.0.0.1";
	lab.repl_interval = 60;
	lab.type = NT_EMBEDDED;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			scenario = optarg;
			break;
		case 'v':
			version = optarg;
			break;
		case 'p':
			lab.pnid = optarg;
			break;
		case 'k':
			lab.pool = optarg;
			break;
		case 'c':
			if (parse_long(optarg, 0, 1000000, &crls) == -1) {
				warnx("--crls %s: not a count", optarg);
				usage();
			}
			break;
		case 'r':
			if (parse_long(optarg, 0, 1000000, &roots) == -1) {
				warnx("--roots %s: not a count", optarg);
				usage();
			}
			break;
		case 'a':
			if (strcmp(optarg, "der") == 0)
				lab.ca_der = 1;
			else if (strcmp(optarg, "pem") != 0) {
				warnx("--ca-entries %s: pem or der", optarg);
				usage();
			}
			break;
		case 'A': {
			struct in_addr a;

			/* Linux routes all of 127/8 to lo. */
			if (inet_pton(AF_INET, optarg, &a) != 1 ||
			    (ntohl(a.s_addr) >> 24) != 127) {
				warnx("--address %s: not a 127.x.y.z address",
				    optarg);
				usage();
			}
			lab.address = optarg;
			break;
		}
		case 'K':
			if (parse_long(optarg, 0, POOL_MAX - K_MAX,
			    &lab.key_offset) == -1) {
				warnx("--key-offset %s: not a pool index",
				    optarg);
				usage();
			}
			break;
		case 'S':
			if (parse_long(optarg, 1, 4095, &lab.server_id) ==
			    -1) {
				warnx("--server-id %s: not 1..4095", optarg);
				usage();
			}
			break;
		case 'R':
			if (parse_long(optarg, 1, 86400, &lab.repl_interval) ==
			    -1) {
				warnx("--repl-interval %s: not seconds",
				    optarg);
				usage();
			}
			break;
		case 'T':
			for (i = 0; i < sizeof(node_types) /
			    sizeof(node_types[0]); i++)
				if (strcmp(optarg, node_types[i]) == 0)
					break;
			if (i == sizeof(node_types) / sizeof(node_types[0])) {
				warnx("--node-type %s: embedded, "
				    "infrastructure or management", optarg);
				usage();
			}
			lab.type = (enum node_type)i;
			break;
		case 'D':
			lab.dc_name = optarg;
			break;
		case 'V':
			lab.vmca_dir = optarg;
			break;
		case 'h':
			lab.vsan_health = 1;
			break;
		case 'd':
			lab.autodeploy = 1;
			break;
		case 'n':
			if (parse_long(optarg, 1, LONG_MAX, &now) == -1) {
				warnx("--now %s: not seconds since the epoch",
				    optarg);
				usage();
			}
			break;
		default:
			warnx("create: bad option %s", argv[optind - 1]);
			usage();
		}
	}
	if (argc - optind != 1 || scenario == NULL || lab.pool == NULL)
		usage();
	if ((lab.vmca_dir != NULL) != (lab.type == NT_MGMT)) {
		warnx("a management node, and only it, takes --vmca (its "
		    "PSC's lab folder)");
		usage();
	}
	if (lab.type != NT_EMBEDDED && lab.server_id == 0) {
		warnx("--node-type %s: a domain node (--server-id)",
		    node_types[lab.type]);
		usage();
	}
	lab.dir = argv[optind];

	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		if (strcmp(scenarios[i].name, scenario) == 0)
			lab.sc = &scenarios[i];
	if (lab.sc == NULL) {
		warnx("unknown scenario %s", scenario);
		fprintf(stderr, "scenarios:");
		for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
			fprintf(stderr, " %s", scenarios[i].name);
		fprintf(stderr, "\n");
		goto out;
	}
	if (version == NULL)
		version = lab.sc->id == SC_ARTICLE_VCSA1 ? "6.7" : "8.0";
	for (i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
		if (strcmp(versions[i].name, version) == 0)
			lab.ver = &versions[i];
	if (lab.ver == NULL) {
		warnx("unknown version %s (6.7, 7.0 or 8.0)", version);
		goto out;
	}
	if (lab.sc->id == SC_ARTICLE_VCSA1 && strcmp(version, "6.7") != 0) {
		warnx("scenario article-vcsa1 is a 6.7 appliance, not %s",
		    version);
		goto out;
	}
	lab.stores = lab.sc->id == SC_ARTICLE_VCSA1 ? stores_article :
	    lab.ver->stores;
	if (!valid_hostname(lab.pnid)) {
		warnx("invalid PNID %s", lab.pnid);
		goto out;
	}
	lab.nbulk_crls = crls >= 0 ? crls : lab.sc->crls;
	lab.nbulk_roots = roots >= 0 ? roots : lab.sc->roots;
	lab.now = now > 0 ? (time_t)now : time(NULL);

	if (dir_is_empty(lab.dir) == -1)
		goto out;
	if (pool_load(&lab) == -1 ||
	    (lab.vmca_dir != NULL && load_vmca(&lab) == -1) ||
	    make_identity(&lab) == -1 ||
	    plan_dates(&lab) == -1 || make_certs(&lab) == -1)
		goto out;
	/* A management node has neither VMCA nor vmdir of its own. */
	if ((lab.type != NT_MGMT && (write_vmca(&lab) == -1 ||
	    write_vmdir_tls(&lab) == -1)) || write_vecs(&lab) == -1 ||
	    write_seed_ldif(&lab) == -1 ||
	    write_registry(&lab) == -1 || write_vcdb_rows(&lab) == -1 ||
	    write_vsan_health(&lab) == -1 || write_rbd_rows(&lab) == -1 ||
	    write_state(&lab) == -1)
		goto out;
	rc = 0;
out:
	lab_free(&lab);
	return rc;
}

/* ---- domain -------------------------------------------------------- */

/*
 * labgen domain OUT NODEDIR...: the directory of a domain whose nodes were
 * made one by one (labgen create --server-id ...), as vmdir has it once
 * every node joined. The first node made the domain: its domain-wide
 * entries (the domain, users and groups, the STS tenant, its CA entry)
 * stand; every later node adds only what is its own (its account, its
 * solution users, its CA entry, its server object, its registrations) and
 * joins the built-in group of its kind. Each entry gets the entryUUID and
 * entryCSN it would have carried through replication: the CSN's replica id
 * is the server that wrote it (a management node writes on its PSC), so
 * the copy each node's slapd loads is the same database, as vmdir's join
 * copies its partner's (vmdir/server/replication2/firstreplcycle.c 55-100).
 * The full mesh of replication agreements between the directory servers is
 * added under their server objects (firstreplcycle.c 209-240). Then every
 * node's VECS gets what vmafdd's root sync would copy from the merged CA
 * entries (rootsync.h), as on a node that has run since its join.
 */
struct rec {
	char	 *dn;
	char	**line;		/* "attr: value" / "attr:: base64", no dn */
	size_t	  n, cap;
	long	  sid;		/* the server that wrote it */
};

struct recs {
	struct rec	*v;
	size_t		 n, cap;
};

static void
rec_free(struct rec *r)
{
	size_t	i;

	free(r->dn);
	for (i = 0; i < r->n; i++)
		free(r->line[i]);
	free(r->line);
}

static void
recs_free(struct recs *rs)
{
	size_t	i;

	for (i = 0; i < rs->n; i++)
		rec_free(&rs->v[i]);
	free(rs->v);
	memset(rs, 0, sizeof(*rs));
}

static int
rec_add_line(struct rec *r, const char *line, size_t len)
{
	char	**nl;

	if (r->n == r->cap) {
		if ((nl = reallocarray(r->line, r->cap ? 2 * r->cap : 16,
		    sizeof(*nl))) == NULL)
			return -1;
		r->line = nl;
		r->cap = r->cap ? 2 * r->cap : 16;
	}
	if ((r->line[r->n] = strndup(line, len)) == NULL)
		return -1;
	r->n++;
	return 0;
}

static struct rec *
recs_new(struct recs *rs)
{
	struct rec	*nv;

	if (rs->n == rs->cap) {
		if ((nv = reallocarray(rs->v, rs->cap ? 2 * rs->cap : 64,
		    sizeof(*nv))) == NULL)
			return NULL;
		rs->v = nv;
		rs->cap = rs->cap ? 2 * rs->cap : 64;
	}
	memset(&rs->v[rs->n], 0, sizeof(rs->v[rs->n]));
	return &rs->v[rs->n++];
}

static struct rec *
recs_find(const struct recs *rs, const char *dn)
{
	size_t	i;

	for (i = 0; i < rs->n; i++)
		if (strcasecmp(rs->v[i].dn, dn) == 0)
			return &rs->v[i];
	return NULL;
}

/*
 * Reads a seed LDIF as labgen writes it: records apart by an empty line,
 * "dn: " first, one line per value, no folding, # comments.
 */
static int
seed_read(const char *path, struct recs *rs, long sid)
{
	char		*buf = NULL, *p, *nl;
	struct rec	*r = NULL;
	size_t		 len = 0;
	int		 rc = -1;

	if (lab_read_file(path, &buf, &len) == -1) {
		warn("%s", path);
		return -1;
	}
	for (p = buf; p < buf + len; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(buf + len - p))) == NULL)
			nl = buf + len;
		if (nl == p) {
			r = NULL;
			continue;
		}
		if (*p == '#')
			continue;
		if (r == NULL) {
			if (strncmp(p, "dn: ", 4) != 0) {
				warnx("%s: a record does not start with dn: "
				    "(%.40s)", path, p);
				goto out;
			}
			if ((r = recs_new(rs)) == NULL ||
			    (r->dn = strndup(p + 4, (size_t)(nl - p - 4))) ==
			    NULL) {
				warn("%s", path);
				goto out;
			}
			r->sid = sid;
			continue;
		}
		if (rec_add_line(r, p, (size_t)(nl - p)) == -1) {
			warn("%s", path);
			goto out;
		}
	}
	rc = 0;
out:
	if (buf != NULL)
		lab_free_secret(buf, len);
	return rc;
}

static int
rec_has_line(const struct rec *r, const char *line)
{
	size_t	i;

	for (i = 0; i < r->n; i++)
		if (strcasecmp(r->line[i], line) == 0)
			return 1;
	return 0;
}

/* Adds a node's records to the domain's: see above. */
static int
domain_merge(struct recs *dom, struct recs *node)
{
	struct rec	*have, *r;
	size_t		 i, j;

	for (i = 0; i < node->n; i++) {
		r = &node->v[i];
		if ((have = recs_find(dom, r->dn)) == NULL) {
			struct rec *nr;

			if ((nr = recs_new(dom)) == NULL) {
				warn("domain seed");
				return -1;
			}
			*nr = *r;
			memset(r, 0, sizeof(*r));
			continue;
		}
		/* The built-in groups are the domain's; a joining server
		 * adds itself to DCAdmins, a client to DCClients. */
		if (strcasecmp(r->dn, "cn=DCAdmins,cn=Builtin," DDN) != 0 &&
		    strcasecmp(r->dn, "cn=DCClients,cn=Builtin," DDN) != 0)
			continue;
		for (j = 0; j < r->n; j++)
			if (strncasecmp(r->line[j], "member: ", 8) == 0 &&
			    !rec_has_line(have, r->line[j]) &&
			    rec_add_line(have, r->line[j],
			    strlen(r->line[j])) == -1) {
				warn("domain seed");
				return -1;
			}
	}
	return 0;
}

/* Who one node is, from its lab folder. */
struct node {
	const char	*dir;
	char		*pnid;
	long		 sid;		/* 0: a management node */
	long		 created;
};

static void
node_free(struct node *nd)
{
	free(nd->pnid);
}

static int
node_load(const char *dir, struct node *nd)
{
	char	*conf = NULL, *v = NULL, *type = NULL, *path = NULL;
	size_t	 len = 0;
	long	 n;
	int	 rc = -1;

	memset(nd, 0, sizeof(*nd));
	nd->dir = dir;
	if ((conf = lab_path(dir, LAB_CONF)) == NULL ||
	    (path = lab_path(dir, LAB_NODE_TYPE)) == NULL) {
		warn("%s", dir);
		goto out;
	}
	if ((nd->pnid = lab_conf_get(conf, "pnid")) == NULL ||
	    (v = lab_conf_get(conf, "server_id")) == NULL ||
	    parse_long(v, 1, 4095, &n) == -1) {
		warnx("%s: no pnid or server_id: not a domain node", conf);
		goto out;
	}
	free(v);
	if ((v = lab_conf_get(conf, "created")) == NULL ||
	    parse_long(v, 1, LONG_MAX, &nd->created) == -1) {
		warnx("%s: no created", conf);
		goto out;
	}
	if (lab_read_file(path, &type, &len) == -1) {
		warn("%s", path);
		goto out;
	}
	nd->sid = strncmp(type, "management", 10) == 0 ? 0 : n;
	rc = 0;
out:
	free(conf);
	free(v);
	free(type);
	free(path);
	return rc;
}

/* The replication agreements of server `from' with every other one. */
static int
domain_agreements(struct recs *dom, const struct node *nds, size_t n)
{
	struct rec	*r;
	char		*dn = NULL, *line = NULL;
	size_t		 i, j;

	for (i = 0; i < n; i++) {
		if (nds[i].sid == 0)
			continue;
		if ((dn = str_printf("cn=Replication Agreements,cn=%s,"
		    SERVERS_DN, nds[i].pnid)) == NULL ||
		    (r = recs_new(dom)) == NULL)
			goto fail;
		r->dn = dn;
		dn = NULL;
		r->sid = nds[i].sid;
		if (rec_add_line(r, "objectClass: top", 16) == -1 ||
		    rec_add_line(r, "objectClass: vmwContainer", 25) == -1 ||
		    rec_add_line(r, "cn: Replication Agreements", 26) == -1)
			goto fail;
		for (j = 0; j < n; j++) {
			if (j == i || nds[j].sid == 0)
				continue;
			if ((dn = str_printf("labeledURI=ldap://%s,"
			    "cn=Replication Agreements,cn=%s," SERVERS_DN,
			    nds[j].pnid, nds[i].pnid)) == NULL ||
			    (line = str_printf("labeledURI: ldap://%s",
			    nds[j].pnid)) == NULL ||
			    (r = recs_new(dom)) == NULL)
				goto fail;
			r->dn = dn;
			dn = NULL;
			r->sid = nds[i].sid;
			if (rec_add_line(r, "objectClass: top", 16) == -1 ||
			    rec_add_line(r, "objectClass: "
			    "vmwReplicationAgreement", 36) == -1 ||
			    rec_add_line(r, line, strlen(line)) == -1)
				goto fail;
			free(line);
			line = NULL;
		}
	}
	return 0;
fail:
	warn("replication agreements");
	free(dn);
	free(line);
	return -1;
}

/* The merged seed, each entry with its entryUUID and entryCSN. */
static int
domain_write(const char *out, const struct recs *dom, time_t when)
{
	BIO		*bio = NULL;
	struct tm	 tm;
	char		 uuid[37], stamp[32], *data = NULL;
	long		 len;
	size_t		 i, j;
	int		 rc = -1;

	if (gmtime_r(&when, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm) == 0) {
		warnx("domain seed: bad time");
		return -1;
	}
	if ((bio = BIO_new(BIO_s_mem())) == NULL) {
		sslwarnx("domain seed buffer");
		return -1;
	}
	BIO_puts(bio, "# vmdir seed of a vcrotate domain lab; every node's "
	    "slapd loads it (labgen domain).\n");
	for (i = 0; i < dom->n; i++) {
		if (random_uuid(uuid) == -1)
			goto out;
		BIO_printf(bio, "\ndn: %s\n", dom->v[i].dn);
		for (j = 0; j < dom->v[i].n; j++)
			BIO_printf(bio, "%s\n", dom->v[i].line[j]);
		/* CSN: time.microseconds#change#replica id#modifier. */
		BIO_printf(bio, "entryUUID: %s\nentryCSN: %s.%06zuZ#000000#"
		    "%03lx#000000\n", uuid, stamp, i, dom->v[i].sid);
	}
	if ((len = BIO_get_mem_data(bio, &data)) <= 0 ||
	    lab_write_file_atomic(out, data, (size_t)len, 0600) == -1) {
		warn("%s", out);
		goto out;
	}
	rc = 0;
out:
	BIO_free(bio);
	return rc;
}

/* A value of a record's line, decoded: "a: text" or "a:: base64". */
static int
rec_value(const struct rec *r, const char *attr, unsigned char **out,
    size_t *outlen)
{
	size_t	 i, alen = strlen(attr);
	const char *v;
	int	 n;

	*out = NULL;
	for (i = 0; i < r->n; i++) {
		if (strncasecmp(r->line[i], attr, alen) != 0 ||
		    r->line[i][alen] != ':')
			continue;
		v = r->line[i] + alen + 1;
		if (*v != ':') {
			v += *v == ' ';
			if ((*out = (unsigned char *)strdup(v)) == NULL)
				return -1;
			*outlen = strlen(v);
			return 0;
		}
		v += 1 + (v[1] == ' ');
		if ((*out = malloc(strlen(v))) == NULL)
			return -1;
		if ((n = EVP_DecodeBlock(*out, (const unsigned char *)v,
		    (int)strlen(v))) < 0) {
			free(*out);
			*out = NULL;
			errno = EINVAL;
			return -1;
		}
		/* EVP_DecodeBlock counts the padding as zero bytes. */
		*outlen = (size_t)n - (strlen(v) > 0 && v[strlen(v) - 1] ==
		    '=') - (strlen(v) > 1 && v[strlen(v) - 2] == '=');
		return 0;
	}
	return 1;
}

/* The root sync's first pass on every node, from the merged CA entries. */
static int
domain_rootsync(const struct recs *dom, const struct node *nds, size_t n)
{
	struct rootsync_ca	*cas = NULL;
	unsigned char		**bufs = NULL;
	size_t			 ncas = 0, nbufs = 0, i;
	unsigned		 code;
	char			 msg[512];
	int			 rc = -1, got;

	if ((cas = calloc(dom->n + 1, sizeof(*cas))) == NULL ||
	    (bufs = calloc(2 * dom->n + 1, sizeof(*bufs))) == NULL) {
		warn("root sync");
		goto out;
	}
	for (i = 0; i < dom->n; i++) {
		unsigned char	*v = NULL;
		size_t		 vlen = 0;

		if (!rec_has_line(&dom->v[i],
		    "objectClass: vmwCertificationAuthority"))
			continue;
		if ((got = rec_value(&dom->v[i], "cACertificate", &v,
		    &vlen)) != 0) {
			warnx("%s: %s", dom->v[i].dn, got == 1 ?
			    "no cACertificate" : "cannot read cACertificate");
			goto out;
		}
		bufs[nbufs++] = v;
		cas[ncas].cert = (const char *)v;
		cas[ncas].cert_len = vlen;
		if ((got = rec_value(&dom->v[i], "certificateRevocationList",
		    &v, &vlen)) == -1) {
			warnx("%s: cannot read its CRL", dom->v[i].dn);
			goto out;
		}
		if (got == 0) {
			bufs[nbufs++] = v;
			cas[ncas].crl = (const char *)v;
			cas[ncas].crl_len = vlen;
		}
		ncas++;
	}
	for (i = 0; i < n; i++)
		if ((code = lab_rootsync_values(nds[i].dir, cas, ncas, NULL,
		    msg, sizeof(msg))) != 0) {
			warnx("%s: root sync: %s (%u)", nds[i].dir, msg, code);
			goto out;
		}
	rc = 0;
out:
	for (i = 0; i < nbufs; i++)
		free(bufs[i]);
	free(bufs);
	free(cas);
	return rc;
}

static int
cmd_domain(int argc, char **argv)
{
	struct recs	 dom = { NULL, 0, 0 }, one = { NULL, 0, 0 };
	struct node	*nds = NULL;
	char		*seed = NULL;
	size_t		 n, i;
	int		 rc = 1;

	if (argc < 3)
		usage();
	n = (size_t)argc - 2;
	if ((nds = calloc(n, sizeof(*nds))) == NULL) {
		warn("domain");
		return 1;
	}
	for (i = 0; i < n; i++)
		if (node_load(argv[2 + i], &nds[i]) == -1)
			goto out;
	if (nds[0].sid == 0) {
		warnx("%s: the first node must hold the directory",
		    nds[0].dir);
		goto out;
	}
	for (i = 0; i < n; i++) {
		free(seed);
		if ((seed = str_printf("%s/" LAB_VMDIR_DIR "/seed.ldif",
		    nds[i].dir)) == NULL)
			goto out;
		/* A management node's entries are written on its PSC. */
		if (seed_read(seed, &one, nds[i].sid != 0 ? nds[i].sid :
		    nds[0].sid) == -1 || domain_merge(&dom, &one) == -1)
			goto out;
		recs_free(&one);
	}
	if (domain_agreements(&dom, nds, n) == -1 ||
	    domain_write(argv[1], &dom, (time_t)nds[0].created) == -1 ||
	    domain_rootsync(&dom, nds, n) == -1)
		goto out;
	rc = 0;
out:
	recs_free(&dom);
	recs_free(&one);
	for (i = 0; i < n; i++)
		node_free(&nds[i]);
	free(nds);
	free(seed);
	return rc;
}

int
main(int argc, char *argv[])
{
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "keypool") == 0)
		return cmd_keypool(argc - 1, argv + 1);
	if (strcmp(argv[1], "freeport") == 0)
		return cmd_freeport(argc - 1, argv + 1);
	if (strcmp(argv[1], "create") == 0)
		return cmd_create(argc - 1, argv + 1);
	if (strcmp(argv[1], "corrupt") == 0)
		return cmd_corrupt(argc - 1, argv + 1);
	if (strcmp(argv[1], "domain") == 0)
		return cmd_domain(argc - 1, argv + 1);
	usage();
}
