/*
 * dir-cli.c - the lab's /usr/lib/vmware-vmafd/bin/dir-cli: the trusted CA
 * certificates and service principals of vmdir (the lab's slapd), as
 * Lightwave's vmafd/tools/dir-cli (main.c, cli.c, ldap.c) handles them.
 *
 *   trustedcert publish --cert F [--crl F] [--chain]
 *   trustedcert unpublish --cert F
 *   trustedcert list
 *   trustedcert get --id CN [--outcert F] [--outcrl F]
 *   service list
 *   service update --name N --cert F
 * each with [--login USER[@DOMAIN]] [--password P]. Without --password it
 * asks "Enter password for USER@DOMAIN: " and reads a line (at most 32
 * characters, echo off on a terminal) from stdin (cli.c DirCliReadPassword).
 * The login is bound as cn=USER,cn=users,<domain DN>.
 *
 * Errors end with "dir-cli failed. Error N: TEXT " on stderr and the exit
 * status N & 0xff (main.c). Like the real one it asks vmafdd for the domain
 * controller first, so it fails while vmafdd is stopped.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "labca.h"
#include "labdir.h"
#include "labutil.h"

#define LAB_DIR_CLI		"usr/lib/vmware-vmafd/bin/dir-cli"
#define LOGIN_DEFAULT		"administrator"	/* DIR_LOGIN_DEFAULT */
#define PASSWORD_MAX		32

#define ERR_INVALID_DATA	13
#define ERR_INVALID_PARAMETER	87
#define ERR_INVALID_NAME	123
#define ERR_NOT_FOUND		1168
#define ERR_INVALID_STATE	5023
#define ERR_RPC_CONNECT		382312694u

static const struct {
	unsigned	 code;
	const char	*text;
} errors[] = {
	{ ERR_INVALID_DATA, "ERROR_INVALID_DATA" },
	{ ERR_INVALID_PARAMETER, "ERROR_INVALID_PARAMETER" },
	{ ERR_INVALID_NAME, "ERROR_INVALID_NAME" },
	{ ERR_NOT_FOUND, "ERROR_NOT_FOUND" },
	{ ERR_INVALID_STATE, "ERROR_INVALID_STATE" },
	{ ERR_RPC_CONNECT, "UNKNOWN" },
	{ LDAP_INVALID_CREDENTIALS, "Invalid credentials" },
	{ LDAP_INSUFFICIENT_ACCESS, "Insufficient access" },
	{ LDAP_NO_SUCH_OBJECT, "No such object" },
	{ LDAP_ALREADY_EXISTS, "Already exists" },
	{ LDAP_UNAVAILABLE, "Server is unavailable" },
};

struct opts {
	const char	*cert, *crl, *id, *outcert, *outcrl, *name;
	const char	*login, *password;
	int		 chain;
};

struct session {
	char	*root;
	char	*ddn;		/* dc=vsphere,dc=local */
	LDAP	*ld;
};

static void
usage(void)
{
	fputs("Usage: dir-cli [command] {arguments}\n"
	    "For help: dir-cli [command] help\n"
	    "Commands: \n"
	    "    service list [--login <admin user id>] [--password <password>]\n"
	    "    service update --name <name> --cert <path> [--login ...] "
	    "[--password ...]\n"
	    "    trustedcert publish --cert <path> [--crl <path>] [--chain] "
	    "[--login ...] [--password ...]\n"
	    "    trustedcert unpublish --cert <path> [--login ...] "
	    "[--password ...]\n"
	    "    trustedcert list [--login ...] [--password ...]\n"
	    "    trustedcert get --id <cert id> [--outcert <path>] "
	    "[--outcrl <path>] [--login ...] [--password ...]\n", stdout);
}

static int
print_error(unsigned code)
{
	size_t	i;

	fflush(stdout);
	for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
		if (errors[i].code == code) {
			fprintf(stderr, "dir-cli failed. Error %u: %s \n", code,
			    errors[i].text);
			return (int)(code & 0xff);
		}
	fprintf(stderr, "dir-cli failed with error: %u\n", code);
	return (int)(code & 0xff);
}

/* DirCliReadPassword: a prompt on stdout, a line from stdin. */
static char *
read_password(const char *user, const char *domain)
{
	struct termios	 orig, noecho;
	char		 buf[PASSWORD_MAX + 1];
	size_t		 n = 0;
	ssize_t		 r;
	char		 ch;
	int		 tty = isatty(STDIN_FILENO);

	printf("Enter password for %s@%s: ", user, domain);
	fflush(stdout);
	if (tty && tcgetattr(STDIN_FILENO, &orig) == 0) {
		noecho = orig;
		noecho.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSANOW, &noecho);
	}
	while (n < PASSWORD_MAX && (r = read(STDIN_FILENO, &ch, 1)) == 1 &&
	    ch != '\n')
		buf[n++] = ch;
	buf[n] = '\0';
	if (tty)
		tcsetattr(STDIN_FILENO, TCSANOW, &orig);
	printf("\n");
	return strdup(buf);
}

/*
 * DirCliInitLdapConnection: the login's password, the domain controller
 * from vmafdd, a bind. Returns an error code.
 */
static unsigned
session_open(struct session *s, const struct opts *o)
{
	const char	*login = o->login != NULL ? o->login : LOGIN_DEFAULT;
	char		*user = NULL, *domain = NULL, *pw = NULL, *dn = NULL;
	char		*at, msg[256];
	unsigned	 rc = ERR_INVALID_PARAMETER;
	int		 lrc;

	if ((s->root = lab_root(LAB_DIR_CLI)) == NULL) {
		fprintf(stderr, "dir-cli: cannot find the lab root from "
		    "/proc/self/exe: %s\n", strerror(errno));
		return ERR_INVALID_STATE;
	}
	if (lab_service_running(s->root, "vmafdd") == 0)
		return ERR_RPC_CONNECT;
	if ((user = strdup(login)) == NULL)
		goto out;
	if ((at = strchr(user, '@')) != NULL) {
		*at = '\0';
		domain = strdup(at + 1);
	} else
		domain = lab_reg_get(s->root, LAB_REG_VMAFD, "DomainName");
	if (domain == NULL || *user == '\0')
		goto out;
	if (o->password != NULL)
		pw = strdup(o->password);
	else
		pw = read_password(user, domain);
	if (pw == NULL || (s->ddn = lab_dir_ddn(s->root)) == NULL ||
	    asprintf(&dn, "cn=%s,cn=users,%s", user, s->ddn) == -1) {
		dn = NULL;
		rc = ERR_INVALID_STATE;
		goto out;
	}
	if (lab_dir_bind(s->root, dn, pw, &s->ld, &lrc, msg,
	    sizeof(msg)) == -1) {
		rc = lrc == LDAP_SERVER_DOWN ? LDAP_UNAVAILABLE : (unsigned)lrc;
		goto out;
	}
	rc = 0;
out:
	free(user);
	free(domain);
	if (pw != NULL)
		lab_free_secret(pw, strlen(pw));
	free(dn);
	return rc;
}

static void
session_close(struct session *s)
{
	if (s->ld != NULL)
		ldap_unbind_ext_s(s->ld, NULL, NULL);
	free(s->root);
	free(s->ddn);
}

/* VecsPEMFiletoX509Stack: every certificate of a PEM file. */
static STACK_OF(X509) *
read_certs(const char *path)
{
	STACK_OF(X509)	*sk;
	X509		*x;
	FILE		*f;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	if ((sk = sk_X509_new_null()) != NULL)
		while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL)
			if (!sk_X509_push(sk, x)) {
				X509_free(x);
				break;
			}
	fclose(f);
	ERR_clear_error();
	return sk;
}

static unsigned
cmd_publish(struct session *s, const struct opts *o)
{
	STACK_OF(X509)	*sk = NULL;
	X509_CRL	*crl = NULL;
	FILE		*f = NULL;
	char		 msg[256];
	unsigned	 rc;
	int		 i, n, created, lrc;

	if (o->cert == NULL)
		return ERR_INVALID_PARAMETER;
	if ((rc = session_open(s, o)) != 0)
		goto out;
	if ((sk = read_certs(o->cert)) == NULL || (n = sk_X509_num(sk)) == 0) {
		fprintf(stderr, "The file [%s] contains no certificates\n",
		    o->cert);
		rc = ERR_INVALID_DATA;
		goto out;
	}
	if (n > 1 && !o->chain) {
		fprintf(stderr, "The file [%s] contains more than 1 certificate\n"
		    "If you want to publish a chain of certificates, use the "
		    "command \"trustedcert publish\" with the --chain flag.\n",
		    o->cert);
		rc = ERR_INVALID_DATA;
		goto out;
	}
	for (i = 0; i < n; i++)
		if ((lrc = labca_publish_cert(s->ld, s->ddn, sk_X509_value(sk, i),
		    &created, msg, sizeof(msg))) != LDAP_SUCCESS) {
			fprintf(stderr, "dir-cli: %s\n", msg);
			rc = (unsigned)lrc;
			goto out;
		}
	if (o->crl != NULL) {
		if ((f = fopen(o->crl, "r")) == NULL ||
		    (crl = PEM_read_X509_CRL(f, NULL, NULL, NULL)) == NULL) {
			rc = ERR_INVALID_PARAMETER;
			goto out;
		}
		if ((lrc = labca_publish_crl(s->ld, s->ddn, crl, msg,
		    sizeof(msg))) != LDAP_SUCCESS) {
			fprintf(stderr, "dir-cli: %s\n", msg);
			rc = lrc == LDAP_NO_SUCH_OBJECT ? ERR_NOT_FOUND :
			    (unsigned)lrc;
			goto out;
		}
	}
	printf("Certificate pubished successfully\n");
out:
	ERR_clear_error();
	if (f != NULL)
		fclose(f);
	X509_CRL_free(crl);
	sk_X509_pop_free(sk, X509_free);
	return rc;
}

static unsigned
cmd_unpublish(struct session *s, const struct opts *o)
{
	STACK_OF(X509)	*sk = NULL;
	char		*id = NULL, *dn = NULL;
	unsigned	 rc;
	int		 lrc;

	if (o->cert == NULL)
		return ERR_INVALID_PARAMETER;
	if ((rc = session_open(s, o)) != 0)
		goto out;
	if ((sk = read_certs(o->cert)) == NULL || sk_X509_num(sk) != 1) {
		fprintf(stderr, "The file [%s] contains more than 1 "
		    "certificate\n", o->cert);
		rc = ERR_INVALID_DATA;
		goto out;
	}
	if ((id = labca_id(sk_X509_value(sk, 0))) == NULL ||
	    asprintf(&dn, "cn=%s,%s,%s", id, LABCA_CONTAINER, s->ddn) == -1) {
		dn = NULL;
		rc = ERR_INVALID_PARAMETER;
		goto out;
	}
	if ((lrc = ldap_delete_ext_s(s->ld, dn, NULL, NULL)) != LDAP_SUCCESS) {
		rc = lrc == LDAP_NO_SUCH_OBJECT ? ERR_NOT_FOUND : (unsigned)lrc;
		goto out;
	}
	printf("Certificate unpubished successfully\n");
out:
	sk_X509_pop_free(sk, X509_free);
	free(id);
	free(dn);
	return rc;
}

/* The first value of attr as a string; 1 if present, 0 if not. */
static int
first_value(LDAP *ld, LDAPMessage *e, const char *attr, struct berval **out)
{
	struct berval	**v = ldap_get_values_len(ld, e, attr);

	*out = NULL;
	if (v == NULL || v[0] == NULL) {
		ldap_value_free_len(v);
		return 0;
	}
	*out = ber_bvdup(v[0]);
	ldap_value_free_len(v);
	return *out != NULL;
}

/*
 * DirCliQueryCACerts: the vmwCertificationAuthority entries under
 * cn=Configuration (those with cn=id only when id is given).
 */
static unsigned
query_cas(struct session *s, const char *id, LDAPMessage **res, int *n)
{
	char	*base = NULL, *filter = NULL;
	char	*attrs[] = { "cn", "cACertificateDN", "cACertificate",
		    "certificateRevocationList", NULL };
	int	 lrc;

	*res = NULL;
	if (asprintf(&base, "cn=Configuration,%s", s->ddn) == -1)
		return ERR_INVALID_STATE;
	if (id != NULL) {
		struct berval bv = { strlen(id), (char *)id }, esc;

		if (ldap_bv2escaped_filter_value(&bv, &esc) != 0 ||
		    asprintf(&filter, "(&(CN=%s)(objectClass="
		    "vmwCertificationAuthority))", esc.bv_val) == -1) {
			free(base);
			return ERR_INVALID_STATE;
		}
		ber_memfree(esc.bv_val);
	}
	lrc = ldap_search_ext_s(s->ld, base, LDAP_SCOPE_SUBTREE,
	    filter != NULL ? filter : "(objectClass=vmwCertificationAuthority)",
	    attrs, 0, NULL, NULL, NULL, 0, res);
	free(base);
	free(filter);
	if (lrc != LDAP_SUCCESS)
		return (unsigned)lrc;
	*n = ldap_count_entries(s->ld, *res);
	return 0;
}

/* The cn of an entry's DN (VmAfdExtractCNFromDN). */
static char *
dn_cn(LDAP *ld, LDAPMessage *e)
{
	char	*dn = ldap_get_dn(ld, e), *cn = NULL, *comma;

	if (dn == NULL)
		return NULL;
	if (strncasecmp(dn, "cn=", 3) == 0 &&
	    (cn = strdup(dn + 3)) != NULL && (comma = strchr(cn, ',')) != NULL)
		*comma = '\0';
	ldap_memfree(dn);
	return cn;
}

/* VmAfdPrintCACertificates; every entry needs cACertificate and its DN. */
static unsigned
cmd_list(struct session *s, const struct opts *o)
{
	LDAPMessage	*res = NULL, *e;
	struct berval	*subject = NULL, *cert = NULL, *crl = NULL;
	char		*cn = NULL;
	unsigned	 rc;
	int		 n = 0, i = 0;

	if ((rc = session_open(s, o)) != 0 ||
	    (rc = query_cas(s, NULL, &res, &n)) != 0 || n == 0)
		goto out;
	/* All of them are read before anything is printed. */
	for (e = ldap_first_entry(s->ld, res); e != NULL;
	    e = ldap_next_entry(s->ld, e)) {
		if (!first_value(s->ld, e, "cACertificateDN", &subject) ||
		    !first_value(s->ld, e, "cACertificate", &cert)) {
			rc = ERR_INVALID_DATA;
			goto out;
		}
		ber_bvfree(subject);
		ber_bvfree(cert);
		subject = cert = NULL;
	}
	printf("Number of certificates:\t%d\n", n);
	for (e = ldap_first_entry(s->ld, res); e != NULL;
	    e = ldap_next_entry(s->ld, e)) {
		if ((cn = dn_cn(s->ld, e)) == NULL ||
		    !first_value(s->ld, e, "cACertificateDN", &subject)) {
			rc = ERR_INVALID_DATA;
			goto out;
		}
		first_value(s->ld, e, "certificateRevocationList", &crl);
		printf("#%d:\nCN(id):\t\t%s\nSubject DN:\t%.*s\n"
		    "CRL present:\t%s\n", ++i, cn, (int)subject->bv_len,
		    subject->bv_val, crl != NULL ? "yes" : "no");
		free(cn);
		cn = NULL;
		ber_bvfree(subject);
		ber_bvfree(crl);
		subject = crl = NULL;
	}
out:
	free(cn);
	ber_bvfree(subject);
	ber_bvfree(cert);
	ber_bvfree(crl);
	ldap_msgfree(res);
	return rc;
}

/* VmAfdSaveStringToFile, with a DER value written as PEM. */
static unsigned
save_value(const char *path, const struct berval *bv, int is_crl)
{
	X509		*x = NULL;
	X509_CRL	*crl = NULL;
	char		*pem = NULL;
	unsigned	 rc = ERR_INVALID_DATA;

	if (is_crl)
		crl = labca_value_crl(bv);
	else
		x = labca_value_cert(bv);
	if (x == NULL && crl == NULL)
		goto out;
	if (memmem(bv->bv_val, bv->bv_len, "-----BEGIN", 10) != NULL) {
		if ((pem = strndup(bv->bv_val, bv->bv_len)) == NULL)
			goto out;
	} else if ((pem = is_crl ? labca_crl_pem(crl) : labca_cert_pem(x)) ==
	    NULL)
		goto out;
	if (lab_write_file_atomic(path, pem, strlen(pem), 0644) == -1) {
		fprintf(stderr, "dir-cli: %s: %s\n", path, strerror(errno));
		rc = ERR_INVALID_PARAMETER;
		goto out;
	}
	rc = 0;
out:
	X509_free(x);
	X509_CRL_free(crl);
	free(pem);
	return rc;
}

static unsigned
cmd_get(struct session *s, const struct opts *o)
{
	LDAPMessage	*res = NULL, *e;
	struct berval	*cert = NULL, *crl = NULL;
	unsigned	 rc;
	int		 n = 0;

	if (o->id == NULL || (o->outcert == NULL && o->outcrl == NULL))
		return ERR_INVALID_PARAMETER;
	if ((rc = session_open(s, o)) != 0 ||
	    (rc = query_cas(s, o->id, &res, &n)) != 0)
		goto out;
	if (n == 0) {
		rc = ERR_INVALID_NAME;
		goto out;
	}
	if (n > 1) {
		rc = ERR_INVALID_DATA;
		goto out;
	}
	e = ldap_first_entry(s->ld, res);
	if (!first_value(s->ld, e, "cACertificateDN", &cert)) {
		rc = ERR_INVALID_DATA;
		goto out;
	}
	ber_bvfree(cert);
	if (!first_value(s->ld, e, "cACertificate", &cert)) {
		rc = ERR_INVALID_DATA;
		goto out;
	}
	first_value(s->ld, e, "certificateRevocationList", &crl);
	if (o->outcert != NULL && (rc = save_value(o->outcert, cert, 0)) != 0)
		goto out;
	if (o->outcrl != NULL) {
		if (crl == NULL) {
			rc = ERR_NOT_FOUND;
			goto out;
		}
		if ((rc = save_value(o->outcrl, crl, 1)) != 0)
			goto out;
	}
	printf("Certificate retrieved successfully\n");
out:
	ber_bvfree(cert);
	ber_bvfree(crl);
	ldap_msgfree(res);
	return rc;
}

/* The service principals (cn=ServicePrincipals) with attrs: 0 or a code. */
static unsigned
search_principals(struct session *s, char **attrs, LDAPMessage **res)
{
	char	*base = NULL;
	int	 lrc;

	*res = NULL;
	if (asprintf(&base, "cn=ServicePrincipals,%s", s->ddn) == -1)
		return ERR_INVALID_STATE;
	lrc = ldap_search_ext_s(s->ld, base, LDAP_SCOPE_ONELEVEL,
	    "(objectClass=vmwServicePrincipal)", attrs, 0, NULL, NULL, NULL, 0,
	    res);
	free(base);
	return lrc == LDAP_SUCCESS ? 0 : (unsigned)lrc;
}

/* DirCliListServiceA: "N. <sAMAccountName>" per service principal. */
static unsigned
cmd_service_list(struct session *s, const struct opts *o)
{
	LDAPMessage	*res = NULL, *e;
	struct berval	*name = NULL;
	char		*attrs[] = { "sAMAccountName", NULL };
	unsigned	 rc;
	int		 i = 0;

	if ((rc = session_open(s, o)) != 0)
		goto out;
	if ((rc = search_principals(s, attrs, &res)) != 0)
		goto out;
	for (e = ldap_first_entry(s->ld, res); e != NULL;
	    e = ldap_next_entry(s->ld, e)) {
		if (!first_value(s->ld, e, "sAMAccountName", &name))
			continue;
		printf("%d. %.*s\n", ++i, (int)name->bv_len, name->bv_val);
		ber_bvfree(name);
		name = NULL;
	}
out:
	ldap_msgfree(res);
	return rc;
}

/* The subject in the form vmwSTSSubjectDN holds (RFC 2253). */
static char *
subject_2253(X509 *x)
{
	BIO	*b;
	char	*data = NULL, *s = NULL;
	long	 n;

	if ((b = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	if (X509_NAME_print_ex(b, X509_get_subject_name(x), 0,
	    XN_FLAG_RFC2253) >= 0 && (n = BIO_get_mem_data(b, &data)) >= 0)
		s = strndup(data, (size_t)n);
	BIO_free(b);
	return s;
}

/*
 * DirCliUpdateServiceA: refuses a certificate another service has, then
 * replaces userCertificate (DER) of cn=<name>, and vmwSTSSubjectDN when
 * the subject changed.
 */
static unsigned
cmd_service_update(struct session *s, const struct opts *o)
{
	STACK_OF(X509)	*sk = NULL;
	LDAPMessage	*res = NULL, *e;
	struct berval	*cur = NULL, *acct = NULL, der = { 0, NULL };
	struct berval	*ders[] = { &der, NULL };
	char		*dn = NULL, *subject = NULL;
	char		*attrs[] = { "sAMAccountName", "userCertificate",
		    "vmwSTSSubjectDN", NULL };
	char		*subj[] = { NULL, NULL };
	unsigned char	*p = NULL;
	LDAPMod		 mcert = { 0 }, msubj = { 0 };
	LDAPMod		*mods[] = { &mcert, NULL, NULL };
	unsigned	 rc;
	int		 len, lrc, found = 0;

	if (o->name == NULL || *o->name == '\0' || o->cert == NULL)
		return ERR_INVALID_PARAMETER;
	if ((rc = session_open(s, o)) != 0)
		goto out;
	rc = ERR_INVALID_PARAMETER;
	if ((sk = read_certs(o->cert)) == NULL || sk_X509_num(sk) < 1 ||
	    (len = i2d_X509(sk_X509_value(sk, 0), &p)) <= 0 ||
	    (subject = subject_2253(sk_X509_value(sk, 0))) == NULL)
		goto out;
	der.bv_len = (ber_len_t)len;
	der.bv_val = (char *)p;
	if ((rc = search_principals(s, attrs, &res)) != 0)
		goto out;
	for (e = ldap_first_entry(s->ld, res); e != NULL;
	    e = ldap_next_entry(s->ld, e)) {
		char	*cn = dn_cn(s->ld, e);
		int	 self = cn != NULL && strcasecmp(cn, o->name) == 0;

		if (self && dn == NULL) {
			dn = ldap_get_dn(s->ld, e);
			found = 1;
			first_value(s->ld, e, "vmwSTSSubjectDN", &cur);
		} else if (!self && first_value(s->ld, e, "userCertificate",
		    &acct)) {
			if (acct->bv_len == der.bv_len && memcmp(acct->bv_val,
			    der.bv_val, der.bv_len) == 0) {
				printf("Error: The same certificate cannot be "
				    "used by multiple services [%s].\n", cn);
				free(cn);
				rc = ERR_INVALID_DATA;
				goto out;
			}
			ber_bvfree(acct);
			acct = NULL;
		}
		free(cn);
	}
	if (!found) {
		rc = ERR_NOT_FOUND;
		goto out;
	}
	mcert.mod_op = LDAP_MOD_REPLACE | LDAP_MOD_BVALUES;
	mcert.mod_type = "userCertificate";
	mcert.mod_bvalues = ders;
	if (cur == NULL || cur->bv_len != strlen(subject) ||
	    strncmp(cur->bv_val, subject, cur->bv_len) != 0) {
		subj[0] = subject;
		msubj.mod_op = LDAP_MOD_REPLACE;
		msubj.mod_type = "vmwSTSSubjectDN";
		msubj.mod_values = subj;
		mods[0] = &msubj;
		mods[1] = &mcert;
	}
	if ((lrc = ldap_modify_ext_s(s->ld, dn, mods, NULL, NULL)) !=
	    LDAP_SUCCESS) {
		rc = (unsigned)lrc;
		goto out;
	}
	printf("Service [%s] updated successfully\n", o->name);
	rc = 0;
out:
	ERR_clear_error();
	OPENSSL_free(p);
	sk_X509_pop_free(sk, X509_free);
	ber_bvfree(cur);
	ber_bvfree(acct);
	ldap_memfree(dn);
	ldap_msgfree(res);
	free(subject);
	return rc;
}

static const struct {
	const char	*group, *verb;
	unsigned	(*run)(struct session *, const struct opts *);
} cmds[] = {
	{ "trustedcert", "publish", cmd_publish },
	{ "trustedcert", "unpublish", cmd_unpublish },
	{ "trustedcert", "list", cmd_list },
	{ "trustedcert", "get", cmd_get },
	{ "service", "list", cmd_service_list },
	{ "service", "update", cmd_service_update },
};

/* Options as dir-cli's parser takes them: case-insensitive, last wins. */
static int
parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct {
		const char	*flag;
		size_t		 off;
	} valued[] = {
		{ "--cert", offsetof(struct opts, cert) },
		{ "--crl", offsetof(struct opts, crl) },
		{ "--id", offsetof(struct opts, id) },
		{ "--outcert", offsetof(struct opts, outcert) },
		{ "--outcrl", offsetof(struct opts, outcrl) },
		{ "--name", offsetof(struct opts, name) },
		{ "--login", offsetof(struct opts, login) },
		{ "--password", offsetof(struct opts, password) },
	};
	size_t	j;
	int	i;

	for (i = 0; i < argc; i++) {
		if (strcasecmp(argv[i], "--chain") == 0) {
			o->chain = 1;
			continue;
		}
		for (j = 0; j < sizeof(valued) / sizeof(valued[0]); j++)
			if (strcasecmp(argv[i], valued[j].flag) == 0)
				break;
		if (j == sizeof(valued) / sizeof(valued[0]) || i + 1 >= argc)
			return -1;
		*(const char **)((char *)o + valued[j].off) = argv[++i];
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct session	 s = { NULL, NULL, NULL };
	struct opts	 o;
	size_t		 i;
	unsigned	 rc = ERR_INVALID_PARAMETER;

	memset(&o, 0, sizeof(o));
	if (argc < 3)
		goto usage;
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].group) == 0 &&
		    strcmp(argv[2], cmds[i].verb) == 0)
			break;
	if (i == sizeof(cmds) / sizeof(cmds[0]) ||
	    parse_opts(argc - 3, argv + 3, &o) == -1)
		goto usage;
	rc = cmds[i].run(&s, &o);
	session_close(&s);
	if (rc == ERR_INVALID_PARAMETER)
		goto usage;
	if (rc != 0)
		return print_error(rc);
	return 0;
usage:
	usage();
	return print_error(rc);
}
