/*
 * certool.c - the lab's /usr/lib/vmware-vmca/bin/certool: keys and
 * certificates from the lab's VMCA (var/lib/vmware/vmca/root.cer and
 * privatekey.pem), as Lightwave's vmca/certool (certool.cpp, Handler.cpp)
 * and vmcad (vmca/service/utils.c VMCASignedRequestPrivate) make them.
 *
 * Commands: --genkey --privkey=F --pubkey=F; --gencert --cert=F --privkey=F
 * [--config=F]; --genCIScert (as gencert, with OU=mID-<machine id>,
 * DC=<domain>, C=US by default, and the pair added to the VECS store named
 * by Name); --genselfcacert --outcert=F --outprivkey=F [--config=F]
 * [--predate=MIN]; --rootca --cert=F --privkey=F; --getrootca [--cert=F].
 * Options take "--opt=value" or "--opt value" (boost::program_options);
 * the certool.cfg keys (Country, Name, DomainComponent, Organization,
 * OrgUnit, State, Locality, IPAddress, Email, Hostname) are also options,
 * and the command line wins over the config file.
 *
 * What talks to vmcad (gencert, genCIScert, rootca, getrootca) works only
 * while the lab's vmcad runs (service-control's state), like the RPC client.
 * Every run ends with "Status : Success" or "Status : Failed", "Error Code :
 * N", "Error Message : ..." on stdout; the exit status is N & 0xff.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "labca.h"
#include "labdir.h"
#include "labutil.h"
#include "vecsdb.h"

#define LAB_CERTOOL	"usr/lib/vmware-vmca/bin/certool"

/* vmca_error.h */
#define VMCA_ROOT_CA_MISSING		70000
#define VMCA_INVALID_TIME_SPECIFIED	70002
#define VMCA_ARGUMENT_ERROR		70003
#define VMCA_KEY_IO_FAILURE		70009
#define VMCA_CERT_IO_FAILURE		70010
#define VMCA_NOT_CA_CERT		70011
#define VMCA_INVALID_CSR_FIELD		70012
#define VMCA_SSL_SET_START_TIME		70034
#define VMCA_CERT_PRIVATE_KEY_MISMATCH	70037
#define VMCA_UNKNOW_ERROR		70101
/* Win32 */
#define ERR_FILE_NOT_FOUND		2
/* The RPC status the lab's clients give when a service is down. */
#define ERR_RPC_CONNECT			382312694u

#define KEY_BITS		2048			/* CERTOOL_PRIVATE_KEY_LENGTH */
#define SECS_PER_YEAR		(365L * 24 * 3600)
#define CERT_VALIDITY		(10 * SECS_PER_YEAR)	/* VMCA_DEFAULT_CERT_VALIDITY */
#define CA_CERT_VALIDITY	(10 * SECS_PER_YEAR)	/* VMCA_DEFAULT_CA_CERT_VALIDITY */
#define CERT_START_LAG		(10 * 60)		/* VMCA_CERT_EXPIRY_START_LAG */
#define MAX_PREDATE		(7 * 24 * 60)		/* VMCA_MAX_PREDATE_PERMITED */

static const struct {
	unsigned	 code;
	const char	*name;
	const char	*desc;
} errors[] = {
	{ VMCA_ROOT_CA_MISSING, "VMCA_ROOT_CA_MISSING",
	    "The Root CA certificate is missing or failed to Initialize" },
	{ VMCA_INVALID_TIME_SPECIFIED, "VMCA_INVALID_TIME_SPECIFIED",
	    "Invalid time specified for the Certififcate" },
	{ VMCA_ARGUMENT_ERROR, "VMCA_ARGUMENT_ERROR",
	    "Invalid arguments found" },
	{ VMCA_KEY_IO_FAILURE, "VMCA_KEY_IO_FAILURE",
	    "Unable to read or write the private key" },
	{ VMCA_CERT_IO_FAILURE, "VMCA_CERT_IO_FAILURE",
	    "Unable to read or write the certificate" },
	{ VMCA_NOT_CA_CERT, "VMCA_NOT_CA_CERT",
	    "The certificate is not a CA certificate" },
	{ VMCA_INVALID_CSR_FIELD, "VMCA_INVALID_CSR_FIELD",
	    "Invalid field in the CSR" },
	{ VMCA_SSL_SET_START_TIME, "VMCA_SSL_SET_START_TIME",
	    "Unable to set the start time" },
	{ VMCA_CERT_PRIVATE_KEY_MISMATCH, "VMCA_CERT_PRIVATE_KEY_MISMATCH",
	    "The private key does not match the certificate" },
	{ VMCA_UNKNOW_ERROR, "VMCA_UNKNOW_ERROR", "Unknown error" },
};

/* The options; NULL when not given. */
enum {
	O_PRIVKEY, O_PUBKEY, O_CERT, O_CONFIG, O_OUTCERT, O_OUTPRIVKEY,
	O_PREDATE, O_SERVER, O_FQDN,
	/* certool.cfg keys */
	O_COUNTRY, O_NAME, O_DC, O_ORG, O_OU, O_STATE, O_LOCALITY, O_IP,
	O_EMAIL, O_HOSTNAME,
	O_NVALUED
};

static const char *const valued[O_NVALUED] = {
	"privkey", "pubkey", "cert", "config", "outcert", "outprivkey",
	"predate", "server", "FQDN",
	"Country", "Name", "DomainComponent", "Organization", "OrgUnit",
	"State", "Locality", "IPAddress", "Email", "Hostname",
};

enum { C_GENKEY, C_GENCERT, C_GENCIS, C_GENSELFCA, C_ROOTCA, C_GETROOTCA,
	C_HELP, C_NCMDS };
static const char *const flags[C_NCMDS] = {
	"genkey", "gencert", "genCIScert", "genselfcacert", "rootca",
	"getrootca", "help",
};

struct args {
	char	*opt[O_NVALUED];	/* command line, then config file */
	int	 given[O_NVALUED];	/* on the command line */
	int	 cmd[C_NCMDS];
	char	*cfgbuf;		/* the config file's text, owned */
};

struct ctx {
	char		*root;
	struct args	 a;
};

static unsigned
fail_msg(unsigned code, const char *fmt, const char *arg)
{
	printf(fmt, arg);
	return code;
}

/* certool's end of every run (certool.cpp DispatchCmd). */
static void
print_status(unsigned code)
{
	size_t	i;

	printf("Status : %s\n", code == 0 ? "Success" : "Failed");
	if (code == 0)
		return;
	printf("Error Code : %u\n", code);
	for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
		if (errors[i].code == code) {
			printf("Error Message : %s\n", errors[i].desc);
			return;
		}
	printf("Error Message : %s\n", code == ERR_RPC_CONNECT ?
	    "UNKNOWN" : strerror(code < 256 ? (int)code : EIO));
}

/* Parses argv the way boost::program_options does for certool's options. */
static int
parse_args(int argc, char **argv, struct args *a)
{
	int	 i;
	size_t	 j, n;

	for (i = 1; i < argc; i++) {
		const char	*arg = argv[i], *eq, *name;

		if (strncmp(arg, "--", 2) != 0) {
			printf("error: unrecognised option '%s'\n", arg);
			return -1;
		}
		name = arg + 2;
		eq = strchr(name, '=');
		n = eq != NULL ? (size_t)(eq - name) : strlen(name);
		for (j = 0; j < C_NCMDS; j++)
			if (strlen(flags[j]) == n &&
			    strncmp(flags[j], name, n) == 0)
				break;
		if (j < C_NCMDS) {
			a->cmd[j] = 1;
			continue;
		}
		for (j = 0; j < O_NVALUED; j++)
			if (strlen(valued[j]) == n &&
			    strncmp(valued[j], name, n) == 0)
				break;
		if (j == O_NVALUED) {
			printf("error: unrecognised option '%.*s'\n",
			    (int)(n + 2), arg);
			return -1;
		}
		if (a->given[j]) {
			printf("error: option '--%s' cannot be specified more "
			    "than once\n", valued[j]);
			return -1;
		}
		if (eq != NULL)
			a->opt[j] = (char *)eq + 1;
		else if (i + 1 < argc)
			a->opt[j] = argv[++i];
		else {
			printf("error: the required argument for option "
			    "'--%s' is missing\n", valued[j]);
			return -1;
		}
		a->given[j] = 1;
	}
	return 0;
}

static char *
trim(char *s)
{
	char	*e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
	    e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/*
 * certool.cpp ParserConfigFile: "Using config file : F", then "key = value"
 * lines (# comments) filling the certool.cfg options the command line did
 * not give. Default file: certool.cfg in the current directory.
 */
static unsigned
read_config(struct args *a)
{
	const char	*file = a->opt[O_CONFIG] ? a->opt[O_CONFIG] : "certool.cfg";
	char		*line, *next, *eq, *key;
	size_t		 j, len = 0;

	if (lab_read_file(file, &a->cfgbuf, &len) == -1) {
		printf("Failed to open config file: %s\nExiting ...", file);
		return errno == ENOENT ? ERR_FILE_NOT_FOUND : VMCA_ARGUMENT_ERROR;
	}
	printf("Using config file : %s\n", file);
	for (line = a->cfgbuf; line != NULL; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((eq = strchr(line, '#')) != NULL)
			*eq = '\0';
		key = trim(line);
		if (*key == '\0')
			continue;
		if ((eq = strchr(key, '=')) == NULL) {
			printf("error: the options configuration file contains "
			    "an invalid line '%s'\n", key);
			return VMCA_ARGUMENT_ERROR;
		}
		*eq = '\0';
		key = trim(key);
		for (j = O_COUNTRY; j < O_NVALUED; j++)
			if (strcmp(valued[j], key) == 0)
				break;
		if (j == O_NVALUED) {
			printf("error: unrecognised option '%s'\n", key);
			return VMCA_ARGUMENT_ERROR;
		}
		if (!a->given[j])
			a->opt[j] = trim(eq + 1);
	}
	return 0;
}

static int
nonempty(const char *s)
{
	return s != NULL && *s != '\0';
}

/* Writes text to path, mode 0600 for keys, else 0644 (certool's umask). */
static unsigned
write_text(const char *path, const char *text, mode_t mode, unsigned code)
{
	FILE	*f;
	int	 ok;

	if ((f = fopen(path, "w")) == NULL) {
		fprintf(stderr, "certool: %s: %s\n", path, strerror(errno));
		return code;
	}
	if (mode == 0600)
		fchmod(fileno(f), mode);
	ok = fputs(text, f) != EOF;
	if (fclose(f) == EOF || !ok) {
		fprintf(stderr, "certool: %s: %s\n", path, strerror(errno));
		return code;
	}
	return 0;
}

static char *
pkcs8_pem(EVP_PKEY *pkey)
{
	BIO	*b;
	char	*s = NULL, *data = NULL;
	long	 n;

	if ((b = BIO_new(BIO_s_secmem())) == NULL)
		return NULL;
	if (PEM_write_bio_PrivateKey(b, pkey, NULL, NULL, 0, NULL, NULL) == 1 &&
	    (n = BIO_get_mem_data(b, &data)) > 0 &&
	    (s = malloc((size_t)n + 1)) != NULL) {
		memcpy(s, data, (size_t)n);
		s[n] = '\0';
	}
	BIO_free(b);
	return s;
}

static unsigned
write_key(const char *path, EVP_PKEY *pkey)
{
	char		*pem;
	unsigned	 rc;

	if ((pem = pkcs8_pem(pkey)) == NULL)
		return VMCA_KEY_IO_FAILURE;
	rc = write_text(path, pem, 0600, VMCA_KEY_IO_FAILURE);
	lab_free_secret(pem, strlen(pem));
	return rc;
}

static EVP_PKEY *
read_key(const char *path)
{
	EVP_PKEY	*pkey = NULL;
	FILE		*f;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	pkey = PEM_read_PrivateKey(f, NULL, lab_no_password, NULL);
	fclose(f);
	ERR_clear_error();
	return pkey;
}

/* HandleGenKey: an RSA pair, the private key PKCS#8, the public PKCS#1. */
static unsigned
cmd_genkey(struct ctx *c)
{
	EVP_PKEY		*pkey = NULL;
	OSSL_ENCODER_CTX	*ectx = NULL;
	BIO			*b = NULL;
	char			*pub = NULL, *data = NULL;
	long			 n;
	unsigned		 rc = VMCA_KEY_IO_FAILURE;

	if (c->a.opt[O_PRIVKEY] == NULL || c->a.opt[O_PUBKEY] == NULL)
		return fail_msg(VMCA_ARGUMENT_ERROR, "%s", "Error : To generate "
		    "a key pair we need public and private key files names to "
		    "write to.Example : certool --genkey --privkey=<filename> "
		    "--pubkey=<filename>\n");
	if ((pkey = EVP_RSA_gen(KEY_BITS)) == NULL)
		goto out;
	if ((rc = write_key(c->a.opt[O_PRIVKEY], pkey)) != 0)
		goto out;
	rc = VMCA_KEY_IO_FAILURE;
	if ((b = BIO_new(BIO_s_mem())) == NULL ||
	    (ectx = OSSL_ENCODER_CTX_new_for_pkey(pkey,
	    OSSL_KEYMGMT_SELECT_PUBLIC_KEY, "PEM", "type-specific",
	    NULL)) == NULL || OSSL_ENCODER_to_bio(ectx, b) != 1 ||
	    (n = BIO_get_mem_data(b, &data)) <= 0 ||
	    (pub = strndup(data, (size_t)n)) == NULL)
		goto out;
	rc = write_text(c->a.opt[O_PUBKEY], pub, 0644, VMCA_KEY_IO_FAILURE);
out:
	ERR_clear_error();
	OSSL_ENCODER_CTX_free(ectx);
	BIO_free(b);
	free(pub);
	EVP_PKEY_free(pkey);
	return rc;
}

static int
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX	 v3;
	X509_EXTENSION	*ext;
	int		 ok;

	X509V3_set_ctx(&v3, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_nconf_nid(NULL, &v3, nid, value)) == NULL)
		return 0;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

/*
 * pkcs_openssl.c VMCACreateCertificateName: CN, DC (one per label), then C,
 * ST, L, O, OU, each a comma-separated list.
 */
static int
make_name(X509_NAME *n, const struct args *a)
{
	static const struct { int opt; const char *field; } order[] = {
		{ O_COUNTRY, "C" }, { O_STATE, "ST" }, { O_LOCALITY, "L" },
		{ O_ORG, "O" }, { O_OU, "OU" },
	};
	char	*copy = NULL, *tok, *save = NULL;
	size_t	 i;
	int	 ok = 0;

	if (nonempty(a->opt[O_NAME]) && !X509_NAME_add_entry_by_txt(n, "CN",
	    MBSTRING_UTF8, (unsigned char *)a->opt[O_NAME], -1, -1, 0))
		return 0;
	if (nonempty(a->opt[O_DC])) {
		if ((copy = strdup(a->opt[O_DC])) == NULL)
			return 0;
		for (tok = strtok_r(copy, ".", &save); tok != NULL;
		    tok = strtok_r(NULL, ".", &save))
			if (!X509_NAME_add_entry_by_txt(n, "DC", MBSTRING_UTF8,
			    (unsigned char *)tok, -1, -1, 0))
				goto out;
		free(copy);
		copy = NULL;
	}
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (!nonempty(a->opt[order[i].opt]))
			continue;
		if ((copy = strdup(a->opt[order[i].opt])) == NULL)
			goto out;
		for (tok = strtok_r(copy, ",", &save); tok != NULL;
		    tok = strtok_r(NULL, ",", &save))
			if (!X509_NAME_add_entry_by_txt(n, order[i].field,
			    MBSTRING_UTF8, (unsigned char *)tok, -1, -1, 0))
				goto out;
		free(copy);
		copy = NULL;
	}
	ok = 1;
out:
	free(copy);
	return ok;
}

/* VMCACreateExtensions' subjectAltName: email, IP, DNS. */
static int
add_san(X509 *x, const struct args *a)
{
	char	san[2048] = "";

	if (nonempty(a->opt[O_EMAIL]))
		snprintf(san + strlen(san), sizeof(san) - strlen(san),
		    "email:%s", a->opt[O_EMAIL]);
	if (nonempty(a->opt[O_IP]))
		snprintf(san + strlen(san), sizeof(san) - strlen(san),
		    "%sIP:%s", san[0] ? "," : "", a->opt[O_IP]);
	if (nonempty(a->opt[O_HOSTNAME]))
		snprintf(san + strlen(san), sizeof(san) - strlen(san),
		    "%sDNS:%s", san[0] ? "," : "", a->opt[O_HOSTNAME]);
	return san[0] == '\0' || add_ext(x, NULL, NID_subject_alt_name, san);
}

static int
random_serial(X509 *x)
{
	BIGNUM		*bn = NULL;
	ASN1_INTEGER	*ai = NULL;
	int		 ok = 0;

	if ((bn = BN_new()) != NULL && BN_rand(bn, 127, BN_RAND_TOP_ANY,
	    BN_RAND_BOTTOM_ANY) == 1 && (ai = BN_to_ASN1_INTEGER(bn,
	    NULL)) != NULL)
		ok = X509_set_serialNumber(x, ai);
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	return ok;
}

/* The lab's VMCA: the first certificate of root.cer and privatekey.pem. */
static unsigned
load_ca(const char *root, X509 **ca, EVP_PKEY **cakey)
{
	char	*cpath = lab_path(root, LAB_VMCA_ROOT);
	char	*kpath = lab_path(root, LAB_VMCA_KEY);
	FILE	*f = NULL;
	unsigned rc = VMCA_ROOT_CA_MISSING;

	*ca = NULL;
	*cakey = NULL;
	if (cpath == NULL || kpath == NULL || (f = fopen(cpath, "r")) == NULL)
		goto out;
	*ca = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (*ca == NULL || (*cakey = read_key(kpath)) == NULL)
		goto out;
	rc = 0;
out:
	ERR_clear_error();
	if (rc != 0) {
		X509_free(*ca);
		*ca = NULL;
	}
	free(cpath);
	free(kpath);
	return rc;
}

/*
 * Whether vmcad answers: the lab's service state, and --server naming this
 * node (localhost, 127.0.0.1 or the PNID).
 */
static unsigned
vmcad_reachable(const struct ctx *c)
{
	const char	*server = c->a.opt[O_SERVER];
	char		*pnid = NULL;
	int		 local;

	if (server == NULL || strcasecmp(server, "localhost") == 0 ||
	    strcmp(server, "127.0.0.1") == 0)
		local = 1;
	else {
		pnid = lab_reg_get(c->root, LAB_REG_VMAFD, "PNID");
		local = pnid != NULL && strcasecmp(pnid, server) == 0;
		free(pnid);
	}
	if (!local || lab_service_running(c->root, "vmcad") == 0)
		return ERR_RPC_CONNECT;
	return 0;
}

/*
 * HandleGenCert and vmcad's VMCASignedRequestPrivate in one: the request's
 * subject and extensions (key usage digitalSignature, nonRepudiation,
 * keyEncipherment; subjectAltName; subject key id), vmcad's authority key
 * id and authority information access, now - 10 min for 10 years cut at
 * the CA's notAfter, a random serial, SHA-256.
 */
static unsigned
sign_cert(struct ctx *c, EVP_PKEY *pkey, char **pem)
{
	X509		*ca = NULL, *x = NULL;
	EVP_PKEY	*cakey = NULL;
	char		*pnid = NULL, *aia = NULL;
	time_t		 now = time(NULL), start, end;
	unsigned	 rc;

	*pem = NULL;
	if ((rc = load_ca(c->root, &ca, &cakey)) != 0)
		goto out;
	rc = VMCA_INVALID_CSR_FIELD;
	start = now - CERT_START_LAG;
	end = start + CERT_VALIDITY;
	if ((x = X509_new()) == NULL || !X509_set_version(x, 2) ||
	    !random_serial(x) || !make_name(X509_get_subject_name(x), &c->a) ||
	    X509_NAME_entry_count(X509_get_subject_name(x)) == 0 ||
	    !X509_set_issuer_name(x, X509_get_subject_name(ca)) ||
	    !X509_set_pubkey(x, pkey))
		goto out;
	if (X509_cmp_time(X509_get0_notBefore(ca), &start) >= 0) {
		rc = VMCA_SSL_SET_START_TIME;
		goto out;
	}
	if (!X509_time_adj(X509_getm_notBefore(x), 0, &start))
		goto out;
	if (X509_cmp_time(X509_get0_notAfter(ca), &end) <= 0) {
		if (!X509_set1_notAfter(x, X509_get0_notAfter(ca)))
			goto out;
	} else if (!X509_time_adj(X509_getm_notAfter(x), 0, &end))
		goto out;
	pnid = lab_reg_get(c->root, LAB_REG_VMAFD, "PNID");
	if (asprintf(&aia, "caIssuers;URI:https://%s/afd/vecs/ssl",
	    pnid != NULL ? pnid : "localhost") == -1) {
		aia = NULL;
		goto out;
	}
	if (!add_ext(x, ca, NID_key_usage,
	    "digitalSignature, nonRepudiation, keyEncipherment") ||
	    !add_san(x, &c->a) ||
	    !add_ext(x, NULL, NID_subject_key_identifier, "hash") ||
	    !add_ext(x, ca, NID_authority_key_identifier, "keyid") ||
	    !add_ext(x, ca, NID_info_access, aia))
		goto out;
	if (X509_sign(x, cakey, EVP_sha256()) <= 0 ||
	    (*pem = labca_cert_pem(x)) == NULL) {
		rc = VMCA_CERT_IO_FAILURE;
		goto out;
	}
	rc = 0;
out:
	ERR_clear_error();
	free(pnid);
	free(aia);
	X509_free(x);
	X509_free(ca);
	EVP_PKEY_free(cakey);
	return rc;
}

/* Writes a chain as VMCAWriteCertificateChainToFile: the PEM, a newline. */
static unsigned
write_chain(const char *path, const char *pem)
{
	char		*text = NULL;
	unsigned	 rc;

	if (asprintf(&text, "%s\n", pem) == -1)
		return VMCA_CERT_IO_FAILURE;
	rc = write_text(path, text, 0644, VMCA_CERT_IO_FAILURE);
	free(text);
	return rc;
}

static unsigned
gencert(struct ctx *c)
{
	EVP_PKEY	*pkey = NULL;
	char		*pem = NULL;
	unsigned	 rc;

	if ((pkey = read_key(c->a.opt[O_PRIVKEY])) == NULL) {
		rc = VMCA_KEY_IO_FAILURE;
		goto out;
	}
	if ((rc = vmcad_reachable(c)) != 0 ||
	    (rc = sign_cert(c, pkey, &pem)) != 0)
		goto out;
	rc = write_chain(c->a.opt[O_CERT], pem);
out:
	free(pem);
	EVP_PKEY_free(pkey);
	return rc;
}

static unsigned
cmd_gencert(struct ctx *c)
{
	unsigned	rc;

	if (c->a.opt[O_PRIVKEY] == NULL || c->a.opt[O_CERT] == NULL)
		return fail_msg(VMCA_ARGUMENT_ERROR, "%s", "Error : To generate "
		    "a certificate we need access to a private key.Example : "
		    "certool --gencert --privkey=<filename> --cert=<filename>\n");
	if ((rc = read_config(&c->a)) != 0) {
		printf("Unable to read the config file");
		return VMCA_ARGUMENT_ERROR;
	}
	return gencert(c);
}

/*
 * HandleGenCISCert: gencert with OU=mID-<machine id>, DC=<domain>, C=US
 * unless given, and Hostname=--FQDN; then the pair goes to the VECS store
 * named Name, alias Name (a failure there is only a warning).
 */
static unsigned
cmd_gencis(struct ctx *c)
{
	struct vecs_store	*s = NULL;
	char			*mid = NULL, *domain = NULL, *ou = NULL;
	char			*cert = NULL, *key = NULL;
	size_t			 certlen = 0, keylen = 0;
	unsigned		 rc;
	int			 lockfd = -1;

	if (c->a.opt[O_PRIVKEY] == NULL || c->a.opt[O_CERT] == NULL)
		return fail_msg(VMCA_ARGUMENT_ERROR, "%s", "Error : To generate "
		    "a certificate we need access to a private key.Example : "
		    "certool --genCIScert --privkey=<filename> "
		    "--cert=<filename>\n");
	if (lab_service_running(c->root, "vmafdd") == 0) {
		rc = ERR_RPC_CONNECT;
		goto out;
	}
	if ((mid = lab_reg_get(c->root, LAB_REG_VMAFD, "MachineID")) == NULL ||
	    (domain = lab_reg_get(c->root, LAB_REG_VMAFD, "DomainName")) ==
	    NULL || asprintf(&ou, "mID-%s", mid) == -1) {
		ou = NULL;
		rc = VMCA_ARGUMENT_ERROR;
		goto out;
	}
	c->a.opt[O_OU] = ou;
	c->a.opt[O_DC] = domain;
	if (!nonempty(c->a.opt[O_COUNTRY]))
		c->a.opt[O_COUNTRY] = "US";
	if (c->a.opt[O_FQDN] != NULL)
		c->a.opt[O_HOSTNAME] = c->a.opt[O_FQDN];
	if ((rc = gencert(c)) != 0 || !nonempty(c->a.opt[O_NAME]))
		goto out;
	if (lab_read_file(c->a.opt[O_CERT], &cert, &certlen) == -1 ||
	    lab_read_file(c->a.opt[O_PRIVKEY], &key, &keylen) == -1) {
		rc = VMCA_CERT_IO_FAILURE;
		goto out;
	}
	if ((lockfd = vecsdb_lock(c->root)) == -1)
		goto warn;
	if (vecsdb_store_create(c->root, c->a.opt[O_NAME]) == -1 &&
	    errno != EEXIST)
		goto warn;
	if (vecsdb_store_load(c->root, c->a.opt[O_NAME], &s) == -1 ||
	    vecs_store_add(s, c->a.opt[O_NAME], VECS_ENTRY_PRIVATE_KEY, cert,
	    certlen - (certlen > 0 && cert[certlen - 1] == '\n'),
	    key, keylen) == -1 || vecsdb_store_save(c->root, s) == -1)
		goto warn;
	goto out;
warn:
	printf("Warning : %d, Adding cert to VECS Store Failed.",
	    errno == EEXIST ? 183 : 1359);
out:
	vecsdb_unlock(lockfd);
	vecs_store_free(s);
	free(mid);
	free(domain);
	free(ou);
	free(cert);
	lab_free_secret(key, keylen);
	return rc;
}

/*
 * HandleGenSelfCert: a new key and a self-signed CA certificate from the
 * config (key usage "critical, keyCertSign, cRLSign", basic constraints
 * critical CA:TRUE, subject key id), valid from now - predate minutes for
 * 10 years. Needs no vmcad.
 */
static unsigned
cmd_genselfca(struct ctx *c)
{
	EVP_PKEY	*pkey = NULL;
	X509		*x = NULL;
	char		*pem = NULL, *end = NULL;
	long		 predate = 0;
	time_t		 start;
	unsigned	 rc;

	if (c->a.opt[O_OUTPRIVKEY] == NULL)
		return fail_msg(VMCA_ARGUMENT_ERROR, "%s", "Error : No private "
		    "key file specified.\nExample : certool --genselfcacert "
		    "--outprivkey=<filename> --outcert=<filename>\n");
	if (c->a.opt[O_OUTCERT] == NULL)
		return fail_msg(VMCA_ARGUMENT_ERROR, "%s", "Error : No certficate "
		    "file specified.\nExample : certool --genselfcacert "
		    "--outprivkey=<filename> --outcert=<filename>\n");
	if ((rc = read_config(&c->a)) != 0) {
		printf("Unable to read the config file");
		return VMCA_ARGUMENT_ERROR;
	}
	if (c->a.opt[O_PREDATE] != NULL) {
		errno = 0;
		predate = strtol(c->a.opt[O_PREDATE], &end, 10);
		if (errno != 0 || *end != '\0' || predate < 0 ||
		    predate > MAX_PREDATE) {
			printf("Invalid start time predate specified it should "
			    "be between %d and 0 \n", MAX_PREDATE);
			return VMCA_ARGUMENT_ERROR;
		}
	}
	rc = VMCA_INVALID_CSR_FIELD;
	start = time(NULL) - predate * 60;
	if ((pkey = EVP_RSA_gen(KEY_BITS)) == NULL || (x = X509_new()) == NULL ||
	    !X509_set_version(x, 2) || !random_serial(x) ||
	    !make_name(X509_get_subject_name(x), &c->a) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(x)) ||
	    !X509_set_pubkey(x, pkey) ||
	    !X509_time_adj(X509_getm_notBefore(x), 0, &start) ||
	    !X509_time_adj(X509_getm_notAfter(x), CA_CERT_VALIDITY, &start) ||
	    !add_ext(x, NULL, NID_basic_constraints, "critical,CA:TRUE") ||
	    !add_ext(x, NULL, NID_key_usage, "critical, keyCertSign, cRLSign") ||
	    !add_san(x, &c->a) ||
	    !add_ext(x, NULL, NID_subject_key_identifier, "hash") ||
	    X509_sign(x, pkey, EVP_sha256()) <= 0 ||
	    (pem = labca_cert_pem(x)) == NULL)
		goto out;
	if ((rc = write_text(c->a.opt[O_OUTCERT], pem, 0644,
	    VMCA_CERT_IO_FAILURE)) != 0)
		goto out;
	rc = write_key(c->a.opt[O_OUTPRIVKEY], pkey);
out:
	ERR_clear_error();
	free(pem);
	X509_free(x);
	EVP_PKEY_free(pkey);
	return rc;
}

/*
 * A CRL of the new root with nothing revoked, as vmcad regenerates one
 * (VmcaSrvReGenCRL) and publishes it with the root.
 */
static X509_CRL *
empty_crl(X509 *ca, EVP_PKEY *key)
{
	X509_CRL	*crl = NULL;
	X509V3_CTX	 v3;
	X509_EXTENSION	*ext = NULL;
	ASN1_INTEGER	*num = NULL;
	ASN1_TIME	*last = NULL, *next = NULL;
	time_t		 now = time(NULL);
	int		 ok = 0;

	if ((crl = X509_CRL_new()) == NULL || !X509_CRL_set_version(crl, 1) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)))
		goto out;
	if ((last = ASN1_TIME_set(NULL, now)) == NULL ||
	    (next = ASN1_TIME_adj(NULL, now, 7, 0)) == NULL ||
	    !X509_CRL_set1_lastUpdate(crl, last) ||
	    !X509_CRL_set1_nextUpdate(crl, next))
		goto out;
	X509V3_set_ctx(&v3, ca, NULL, NULL, crl, 0);
	if ((ext = X509V3_EXT_nconf_nid(NULL, &v3, NID_authority_key_identifier,
	    "keyid")) == NULL || !X509_CRL_add_ext(crl, ext, -1) ||
	    (num = ASN1_INTEGER_new()) == NULL || !ASN1_INTEGER_set(num, 1) ||
	    !X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) ||
	    X509_CRL_sign(crl, key, EVP_sha256()) <= 0)
		goto out;
	ok = 1;
out:
	X509_EXTENSION_free(ext);
	ASN1_INTEGER_free(num);
	ASN1_TIME_free(last);
	ASN1_TIME_free(next);
	if (!ok) {
		X509_CRL_free(crl);
		crl = NULL;
	}
	return crl;
}

/*
 * vmcad's directory sync after a new root (dirsync.c VMCASrvUpdateRootCerts):
 * a CA entry for the root and its CRL, bound as the machine account.
 */
static unsigned
publish_root(struct ctx *c, X509 *x, EVP_PKEY *key)
{
	LDAP		*ld = NULL;
	X509_CRL	*crl = NULL;
	char		*ddn = NULL, msg[256] = "";
	unsigned	 rc = VMCA_UNKNOW_ERROR;
	int		 created;

	if ((ddn = lab_dir_ddn(c->root)) == NULL) {
		fprintf(stderr, "certool: the lab registry has no domain\n");
		goto out;
	}
	if (lab_dir_open(c->root, &ld, msg, sizeof(msg)) == -1 ||
	    labca_publish_cert(ld, ddn, x, &created, msg, sizeof(msg)) !=
	    LDAP_SUCCESS || (crl = empty_crl(x, key)) == NULL ||
	    labca_publish_crl(ld, ddn, crl, msg, sizeof(msg)) != LDAP_SUCCESS) {
		/* vmcad logs a failed sync and retries later; so does the lab */
		fprintf(stderr, "certool: vmcad's directory sync: %s\n", msg);
		rc = 0;
		goto out;
	}
	rc = 0;
out:
	if (ld != NULL)
		ldap_unbind_ext_s(ld, NULL, NULL);
	X509_CRL_free(crl);
	free(ddn);
	return rc;
}

/* Copies a file aside as vmcad's VMCABackupRootCAFiles keeps the old root. */
static int
backup(const char *path, time_t now)
{
	char	*bak = NULL, *buf = NULL;
	size_t	 len = 0;
	int	 rc = -1;

	if (lab_read_file(path, &buf, &len) == -1)
		return errno == ENOENT ? 0 : -1;
	if (asprintf(&bak, "%s.%lld", path, (long long)now) != -1)
		rc = lab_write_file_atomic(bak, buf, len, 0600);
	lab_free_secret(buf, len);
	free(bak);
	return rc;
}

/*
 * HandleRootCACertificate and vmcad's VMCAAddRootCertificate: the chain and
 * key must be a CA and its key; the old files are kept aside, the new ones
 * written (root.cer as the chain, privatekey.pem PKCS#8 0600) and published.
 */
static unsigned
cmd_rootca(struct ctx *c)
{
	X509		*x = NULL;
	EVP_PKEY	*pkey = NULL;
	FILE		*f = NULL;
	char		*chain = NULL, *cpath = NULL, *kpath = NULL, *pem = NULL;
	size_t		 chainlen = 0;
	unsigned	 rc;

	if (c->a.opt[O_PRIVKEY] == NULL || c->a.opt[O_CERT] == NULL)
		return fail_msg(VMCA_ARGUMENT_ERROR, "%s", "To upload a Root CA "
		    "Cert, we need both Cert and Private Key.\n\nExample: "
		    "certool --rootca --cert=root.cert "
		    "--privkey=privatekey.pem\n\n");
	rc = VMCA_CERT_IO_FAILURE;
	if (lab_read_file(c->a.opt[O_CERT], &chain, &chainlen) == -1 ||
	    (f = fopen(c->a.opt[O_CERT], "r")) == NULL ||
	    (x = PEM_read_X509(f, NULL, NULL, NULL)) == NULL)
		goto out;
	if ((pkey = read_key(c->a.opt[O_PRIVKEY])) == NULL) {
		rc = VMCA_KEY_IO_FAILURE;
		goto out;
	}
	if ((rc = vmcad_reachable(c)) != 0)
		goto out;
	if (X509_check_ca(x) == 0) {
		rc = VMCA_NOT_CA_CERT;
		goto out;
	}
	if (X509_check_private_key(x, pkey) != 1) {
		rc = VMCA_CERT_PRIVATE_KEY_MISMATCH;
		goto out;
	}
	rc = VMCA_CERT_IO_FAILURE;
	if ((cpath = lab_path(c->root, LAB_VMCA_ROOT)) == NULL ||
	    (kpath = lab_path(c->root, LAB_VMCA_KEY)) == NULL ||
	    backup(cpath, time(NULL)) == -1 || backup(kpath, time(NULL)) == -1 ||
	    (pem = pkcs8_pem(pkey)) == NULL)
		goto out;
	/* The chain as given, each certificate re-encoded, then a newline. */
	while (chainlen > 0 && (chain[chainlen - 1] == '\n' ||
	    chain[chainlen - 1] == '\r'))
		chain[--chainlen] = '\0';
	if (lab_write_file_atomic(kpath, pem, strlen(pem), 0600) == -1 ||
	    (rc = write_chain(cpath, chain)) != 0) {
		fprintf(stderr, "certool: %s: %s\n", cpath, strerror(errno));
		rc = VMCA_CERT_IO_FAILURE;
		goto out;
	}
	rc = publish_root(c, x, pkey);
out:
	ERR_clear_error();
	if (f != NULL)
		fclose(f);
	X509_free(x);
	EVP_PKEY_free(pkey);
	free(chain);
	free(cpath);
	free(kpath);
	if (pem != NULL)
		lab_free_secret(pem, strlen(pem));
	return rc;
}

/*
 * HandleGetRootCA: the root as text (VMCAGetCertificateAsStringA, i.e.
 * X509_print), written to --cert as well when given.
 */
static unsigned
cmd_getrootca(struct ctx *c)
{
	X509		*ca = NULL;
	EVP_PKEY	*cakey = NULL;
	BIO		*out = NULL;
	char		*pem = NULL;
	unsigned	 rc;

	if ((rc = vmcad_reachable(c)) != 0 ||
	    (rc = load_ca(c->root, &ca, &cakey)) != 0)
		goto out;
	if (nonempty(c->a.opt[O_CERT]) &&
	    ((pem = labca_cert_pem(ca)) == NULL ||
	    (rc = write_chain(c->a.opt[O_CERT], pem)) != 0)) {
		rc = VMCA_CERT_IO_FAILURE;
		goto out;
	}
	fflush(stdout);
	if ((out = BIO_new_fp(stdout, BIO_NOCLOSE)) == NULL) {
		rc = VMCA_UNKNOW_ERROR;
		goto out;
	}
	X509_print(out, ca);
	(void)BIO_flush(out);
	printf("\n");
	if (nonempty(c->a.opt[O_CERT]))
		printf("Certificate written to file : %s\n", c->a.opt[O_CERT]);
out:
	BIO_free(out);
	free(pem);
	X509_free(ca);
	EVP_PKEY_free(cakey);
	return rc;
}

static void
usage(void)
{
	printf("certool general command options:\n"
	    "  --help arg             help <command> for help with each command\n"
	    "  --server arg (=localhost) The name of the VMware Certficate Server.\n"
	    "  --version              print version string\n"
	    "  --viewerror arg (=0)   Prints out the Error String for the "
	    "specific error code.\n\n");
}

/* certool.cpp DispatchInitFunctions, then DispatchFunctions, in order. */
static unsigned
dispatch(struct ctx *c)
{
	static unsigned (*const run[])(struct ctx *) = {
		[C_ROOTCA] = cmd_rootca, [C_GENCERT] = cmd_gencert,
		[C_GENKEY] = cmd_genkey, [C_GETROOTCA] = cmd_getrootca,
		[C_GENCIS] = cmd_gencis, [C_GENSELFCA] = cmd_genselfca,
	};
	static const int order[] = { C_ROOTCA, C_GENCERT, C_GENKEY,
	    C_GETROOTCA, C_GENCIS, C_GENSELFCA };
	size_t		 i;
	unsigned	 rc;

	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (c->a.cmd[order[i]] && (rc = run[order[i]](c)) != 0)
			return rc;
	return 0;
}

int
main(int argc, char **argv)
{
	struct ctx	 c;
	unsigned	 rc;

	memset(&c, 0, sizeof(c));
	if (parse_args(argc, argv, &c.a) == -1) {
		rc = VMCA_UNKNOW_ERROR;
		goto out;
	}
	if (argc == 1 || c.a.cmd[C_HELP]) {
		usage();
		rc = 0;
		goto out;
	}
	if ((c.root = lab_root(LAB_CERTOOL)) == NULL) {
		fprintf(stderr, "certool: cannot find the lab root from "
		    "/proc/self/exe: %s\n", strerror(errno));
		rc = VMCA_UNKNOW_ERROR;
		goto out;
	}
	rc = dispatch(&c);
	print_status(rc);
out:
	fflush(stdout);
	free(c.root);
	free(c.a.cfgbuf);
	return (int)(rc & 0xff);
}
