/*
 * vmdir.c - LDAP access to vmdir with libldap's modern calls. See vmdir.h.
 */
#include <sys/time.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <lber.h>
#include <ldap.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "cert.h"
#include "fault.h"
#include "vmdir.h"

struct vmdir {
	LDAP	*ld;
	int	 last_rc;	/* of the last write */
};

/*
 * The CA file's first certificate as the login's first TLS connection read
 * it (DER): it stays trusted for the rest of the run, beside what the file
 * holds at each connection. An apply that writes a new VMCA root to root.cer
 * (the default CA file) must still reach vmdir, which serves a certificate
 * of the old root until the restart, and must be able to roll back.
 */
struct vmdir_pin {
	unsigned char	*der;
	int		 len;
};

/* Whether host (as libldap parsed it: no brackets) is this machine. */
static int
host_is_loopback(const char *h)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (*h == '\0' || strcasecmp(h, "localhost") == 0)
		return 1;	/* no host: libldap's default, localhost */
	if (inet_pton(AF_INET, h, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, h, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return 0;	/* a name: it may resolve anywhere */
}

int
vmdir_uri_plain_remote(const char *uri, int starttls)
{
	LDAPURLDesc *lud = NULL;
	char	*copy = strdup(uri), *tok, *save = NULL;
	int	 ret = 0;

	if (copy == NULL)
		return -1;
	/* ldap_initialize takes a list and tries each in turn: every one
	 * of them must keep the password off the wire. */
	for (tok = strtok_r(copy, " ,", &save); tok != NULL && ret == 0;
	    tok = strtok_r(NULL, " ,", &save)) {
		if (ldap_url_parse(tok, &lud) != LDAP_URL_SUCCESS) {
			ret = -1;
			break;
		}
		if (strcasecmp(lud->lud_scheme, "ldap") == 0 && !starttls &&
		    !host_is_loopback(lud->lud_host != NULL ? lud->lud_host :
		    ""))
			ret = 1;
		ldap_free_urldesc(lud);
		lud = NULL;
	}
	free(copy);
	return ret;
}

int
vmdir_uri_is_ldaps(const char *uri)
{
	const char *p;

	/* ldap_initialize takes a list: any ldaps:// in it counts. */
	for (p = uri; *p != '\0'; p++)
		if (strncasecmp(p, "ldaps://", 8) == 0 &&
		    (p == uri || p[-1] == ' ' || p[-1] == ','))
			return 1;
	return 0;
}

/*
 * libldap keeps the reason for a refused certificate out of
 * LDAP_OPT_DIAGNOSTIC_MESSAGE when it is built with GnuTLS (as Debian's
 * is): it says "(unknown error code)" there and logs "TLS: peer cert
 * untrusted or revoked (0x42)" to its debug log, at the trace level. While
 * a TLS connection is set up, that log goes to tls_log_print, which keeps
 * the lines about TLS (for the error message, if the connection fails) and
 * drops the rest: nothing is printed, as before.
 */
#define TLS_LOG_LEVEL	0x0001		/* LDAP_DEBUG_TRACE, of ldap_log.h */

static struct buf *tls_log;

static void
tls_log_print(const char *line)
{
	size_t	 n;

	/* GnuTLS's "TLS: peer cert untrusted or revoked (0x42)", "TLS:
	 * hostname (h) does not match ..."; OpenSSL's "TLS certificate
	 * verification: Error, unable to get local issuer certificate". */
	if (tls_log == NULL || tls_log->len > 512 ||
	    (strncmp(line, "TLS: ", 5) != 0 &&
	    strncmp(line, "TLS certificate verification: Error", 35) != 0) ||
	    strncmp(line, "TLS: can't connect", 18) == 0)
		return;
	n = strcspn(line, "\n");
	while (n > 0 && line[n - 1] == '.')
		n--;
	buf_printf(tls_log, "%s%.*s", tls_log->len ? "; " : "", (int)n,
	    line);
}

static void
tls_log_start(struct buf *log)
{
	int	 level = TLS_LOG_LEVEL;

	tls_log = log;
	(void)ber_set_option(NULL, LBER_OPT_LOG_PRINT_FN,
	    (const void *)tls_log_print);
	(void)ldap_set_option(NULL, LDAP_OPT_DEBUG_LEVEL, &level);
}

static void
tls_log_stop(void)
{
	int	 level = 0;

	(void)ldap_set_option(NULL, LDAP_OPT_DEBUG_LEVEL, &level);
	tls_log = NULL;
}

/* The CA file, read and parsed: "CA file F: why" in err when it is unusable. */
static int
tls_ca_check(const struct vmdir_login *login, struct buf *err)
{
	STACK_OF(X509) *certs = NULL;
	const char *why = NULL;
	char	*text = NULL;
	size_t	 cap = 0;
	FILE	*f;
	int	 ret = -1;

	if (login->ca_file == NULL || login->pin == NULL) {
		buf_printf(err, "TLS to %s: no CA file to check the server's "
		    "certificate with (--ca-file)", login->uri);
		return -1;
	}
	if ((f = fopen(login->ca_file, "r")) == NULL) {
		buf_printf(err, "TLS to %s: CA file %s: %s", login->uri,
		    login->ca_file, strerror(errno));
		return -1;
	}
	if (getdelim(&text, &cap, '\0', f) < 0)
		why = "cannot read it";
	else if (cert_parse_pem_chain(text, strlen(text), &certs, &why) == 0)
		ret = 0;
	fclose(f);
	if (ret == 0 && login->pin->der == NULL && (login->pin->len =
	    i2d_X509(sk_X509_value(certs, 0), &login->pin->der)) <= 0) {
		login->pin->der = NULL;
		why = "cannot encode its first certificate";
		ret = -1;
	}
	if (ret == -1)
		buf_printf(err, "TLS to %s: CA file %s: %s", login->uri,
		    login->ca_file, why != NULL ? why : "no PEM certificate");
	sk_X509_pop_free(certs, X509_free);
	free(text);
	return ret;
}

/*
 * Certificate checks on for this connection: the server's certificate must
 * chain to the CA file (and the pin, above), be valid now and name the URI's
 * host (libldap checks the name whenever a certificate is demanded); TLS 1.2
 * at least. LDAP_OPT_X_TLS_NEWCTX makes a TLS context of these settings for
 * this handle; without it, libldap would use the process-wide one.
 */
static int
tls_setup(LDAP *ld, const struct vmdir_login *login, struct buf *err)
{
	struct berval pin;
	int	 demand = LDAP_OPT_X_TLS_DEMAND, server = 0;
	int	 min = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2;

	if (tls_ca_check(login, err) == -1)
		return -1;
	pin.bv_val = (char *)login->pin->der;
	pin.bv_len = (ber_len_t)login->pin->len;
	if (ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand) !=
	    LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, login->ca_file) !=
	    LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTDIR, NULL) !=
	    LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_X_TLS_PROTOCOL_MIN, &min) !=
	    LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_X_TLS_CACERT, &pin) !=
	    LDAP_OPT_SUCCESS) {
		buf_printf(err, "cannot set the TLS options for %s",
		    login->uri);
		return -1;
	}
	if (ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &server) !=
	    LDAP_OPT_SUCCESS) {
		buf_printf(err, "TLS to %s: cannot use CA file %s", login->uri,
		    login->ca_file);
		return -1;
	}
	return 0;
}

/* Whether libldap left a diagnostic message on ld. */
static int
has_diag(LDAP *ld)
{
	char	*diag = NULL;
	int	 has;

	has = ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag) ==
	    LDAP_OPT_SUCCESS && diag != NULL && *diag != '\0';
	ldap_memfree(diag);
	return has;
}

/*
 * GnuTLS's verification status in "TLS: peer cert untrusted or revoked
 * (0x42)", in words (gnutls_certificate_status_t).
 */
static void
gnutls_status_words(const char *reason, struct buf *out)
{
	static const struct {
		unsigned long	 bit;
		const char	*what;
	} bits[] = {
		{ 1UL << 6, "its issuer is not in the CA file" },
		{ 1UL << 7, "its issuer is not a CA" },
		{ 1UL << 10, "it has expired" },
		{ 1UL << 9, "it is not valid yet" },
		{ 1UL << 5, "it is revoked" },
		{ 1UL << 11, "its signature does not verify" },
		{ 1UL << 8, "it uses an insecure algorithm" },
	};
	const char *p = strstr(reason, "untrusted or revoked (0x");
	unsigned long status;
	size_t	 i, n = 0;

	if (p == NULL)
		return;
	status = strtoul(p + 24, NULL, 16);
	for (i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		if (status & bits[i].bit)
			buf_printf(out, "%s%s", n++ ? ", " : ": ", bits[i].what);
}

/*
 * "TLS with the directory at URI failed: the server's certificate was
 * refused: REASON (checked against CA file F and the host name in the
 * URI)"; without "the server's certificate was refused" when the reason is
 * not about the certificate (a server that does not speak TLS there).
 */
static void
tls_error(LDAP *ld, int rc, const struct vmdir_login *login,
    const struct buf *log, struct buf *err)
{
	struct buf reason = BUF_INIT;
	char	*diag = NULL;
	const char *r;

	if (log->len > 0)
		buf_printf(&reason, "%s", buf_str(log));
	else if (ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag) ==
	    LDAP_OPT_SUCCESS && diag != NULL && *diag != '\0')
		buf_printf(&reason, "%s", diag);
	else
		buf_printf(&reason, "%s", ldap_err2string(rc));
	ldap_memfree(diag);
	gnutls_status_words(buf_str(&reason), &reason);
	r = buf_str(&reason);
	buf_printf(err, "TLS with the directory at %s failed: %s%s (checked "
	    "against CA file %s and the host name in the URI)", login->uri,
	    strcasestr(r, "cert") != NULL || strcasestr(r, "hostname") !=
	    NULL ? "the server's certificate was refused: " : "", r,
	    login->ca_file);
	buf_free(&reason);
}

static void
ldap_error(LDAP *ld, int rc, const char *what, struct buf *err)
{
	char	*diag = NULL;

	buf_printf(err, "%s: %s", what, ldap_err2string(rc));
	if (ld != NULL && ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE,
	    &diag) == LDAP_OPT_SUCCESS && diag != NULL && *diag != '\0')
		buf_printf(err, " (%s)", diag);
	ldap_memfree(diag);
}

int
vmdir_open(struct vmdir **out, const struct vmdir_login *login,
    struct buf *err)
{
	const char *uri = login->uri, *bind_dn = login->bind_dn;
	struct vmdir *vd = NULL;
	struct berval cred;
	struct timeval tv = { 10, 0 };
	struct buf tlslog = BUF_INIT;
	int	 version = LDAP_VERSION3, rc, ret = -1, ldaps, use_tls;

	*out = NULL;
	if ((vd = calloc(1, sizeof(*vd))) == NULL) {
		buf_printf(err, "out of memory");
		goto out;
	}
	if ((rc = ldap_initialize(&vd->ld, uri)) != LDAP_SUCCESS) {
		buf_printf(err, "invalid LDAP URI %s: %s", uri,
		    ldap_err2string(rc));
		goto out;
	}
	/* libldap speaks LDAPv2 until told otherwise; vmdir wants v3. */
	if (ldap_set_option(vd->ld, LDAP_OPT_PROTOCOL_VERSION, &version) !=
	    LDAP_OPT_SUCCESS ||
	    ldap_set_option(vd->ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) !=
	    LDAP_OPT_SUCCESS ||
	    ldap_set_option(vd->ld, LDAP_OPT_NETWORK_TIMEOUT, &tv) !=
	    LDAP_OPT_SUCCESS ||
	    ldap_set_option(vd->ld, LDAP_OPT_TIMEOUT, &tv) !=
	    LDAP_OPT_SUCCESS) {
		buf_printf(err, "cannot set LDAP options for %s", uri);
		goto out;
	}
	ldaps = vmdir_uri_is_ldaps(uri);
	use_tls = ldaps || login->starttls;
	if (ldaps && login->starttls) {
		buf_printf(err, "StartTLS cannot be used with an ldaps:// URI "
		    "(%s): ldaps is TLS from the start", uri);
		goto out;
	}
	if (use_tls && tls_setup(vd->ld, login, err) == -1)
		goto out;
	if (use_tls)
		tls_log_start(&tlslog);
	if (login->starttls &&
	    (rc = ldap_start_tls_s(vd->ld, NULL, NULL)) != LDAP_SUCCESS) {
		tls_log_stop();
		if ((rc == LDAP_SERVER_DOWN || rc == LDAP_TIMEOUT) &&
		    tlslog.len == 0) {
			buf_printf(err, "cannot reach the directory at %s: %s",
			    uri, ldap_err2string(rc));
			goto out;
		}
		tls_error(vd->ld, rc, login, &tlslog, err);
		goto out;
	}
	cred.bv_val = login->password;
	cred.bv_len = strlen(login->password);
	rc = ldap_sasl_bind_s(vd->ld, bind_dn, LDAP_SASL_SIMPLE, &cred, NULL,
	    NULL, NULL);
	if (use_tls)
		tls_log_stop();
	if (ldaps && (rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR) &&
	    (tlslog.len > 0 || has_diag(vd->ld))) {
		/* ldaps: the handshake is part of the first operation. */
		tls_error(vd->ld, rc, login, &tlslog, err);
		goto out;
	}
	if (rc != LDAP_SUCCESS) {
		struct buf what = BUF_INIT;

		if (rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR ||
		    rc == LDAP_TIMEOUT)
			buf_printf(&what, "cannot reach the directory at %s",
			    uri);
		else
			buf_printf(&what, "cannot bind to %s as %s", uri,
			    bind_dn);
		ldap_error(vd->ld, rc, buf_str(&what), err);
		buf_free(&what);
		goto out;
	}
	*out = vd;
	vd = NULL;
	ret = 0;
out:
	buf_free(&tlslog);
	vmdir_close(vd);
	return ret;
}

int
vmdir_login_tls(struct vmdir_login *login, int starttls, const char *ca_file)
{
	login->starttls = starttls;
	if ((ca_file != NULL && (login->ca_file = strdup(ca_file)) == NULL) ||
	    (login->pin = calloc(1, sizeof(*login->pin))) == NULL)
		return -1;
	return 0;
}

void
vmdir_login_free(struct vmdir_login *login)
{
	free(login->uri);
	free(login->bind_dn);
	if (login->password != NULL) {
		explicit_bzero(login->password, strlen(login->password));
		free(login->password);
	}
	free(login->ca_file);
	if (login->pin != NULL)
		OPENSSL_free(login->pin->der);
	free(login->pin);
	memset(login, 0, sizeof(*login));
}

void
vmdir_close(struct vmdir *vd)
{
	if (vd == NULL)
		return;
	if (vd->ld != NULL) {
		/* libldap 2.5 does not free a handle's CA certificate (the
		 * pin) when the handle goes: take it back first. */
		(void)ldap_set_option(vd->ld, LDAP_OPT_X_TLS_CACERT, NULL);
		ldap_unbind_ext_s(vd->ld, NULL, NULL);
	}
	free(vd);
}

static void
entry_free(struct vmdir_entry *e)
{
	size_t	 i, j;

	for (i = 0; i < e->nattrs; i++) {
		for (j = 0; j < e->attrs[i].nvalues; j++) {
			/* Values may be private keys (vmwSTSPrivateKey). */
			explicit_bzero(e->attrs[i].values[j].data,
			    e->attrs[i].values[j].len);
			free(e->attrs[i].values[j].data);
		}
		free(e->attrs[i].values);
		free(e->attrs[i].name);
	}
	free(e->attrs);
	free(e->dn);
}

void
vmdir_entries_free(struct vmdir_entries *e)
{
	size_t	 i;

	for (i = 0; i < e->n; i++)
		entry_free(&e->entries[i]);
	free(e->entries);
	e->entries = NULL;
	e->n = 0;
}

/* libldap's copies of values, wiped: one may be vmwSTSPrivateKey. */
static void
values_free(struct berval **vals)
{
	size_t	 i;

	for (i = 0; vals != NULL && vals[i] != NULL; i++)
		OPENSSL_cleanse(vals[i]->bv_val, vals[i]->bv_len);
	ldap_value_free_len(vals);
}

static int
copy_attr(LDAP *ld, LDAPMessage *msg, const char *name, struct vmdir_attr *a)
{
	struct berval **vals = NULL;
	size_t	 i, n;

	memset(a, 0, sizeof(*a));
	if ((a->name = strdup(name)) == NULL)
		return -1;
	vals = ldap_get_values_len(ld, msg, name);
	n = vals != NULL ? (size_t)ldap_count_values_len(vals) : 0;
	if (n > 0 && (a->values = calloc(n, sizeof(*a->values))) == NULL)
		goto fail;
	for (i = 0; i < n; i++) {
		/* One spare byte keeps text values NUL-terminated. */
		if ((a->values[i].data = malloc(vals[i]->bv_len + 1)) == NULL)
			goto fail;
		memcpy(a->values[i].data, vals[i]->bv_val, vals[i]->bv_len);
		a->values[i].data[vals[i]->bv_len] = '\0';
		a->values[i].len = vals[i]->bv_len;
		a->nvalues++;
	}
	values_free(vals);
	return 0;
fail:
	values_free(vals);
	return -1;
}

int
vmdir_search(struct vmdir *vd, const char *base, enum vmdir_scope scope,
    const char *filter, const char *const *attrs, struct vmdir_entries *out,
    struct buf *err)
{
	LDAPMessage *res = NULL, *msg;
	BerElement *ber = NULL;
	char	*name;
	int	 rc, ret = -1, lscope;
	size_t	 n;

	memset(out, 0, sizeof(*out));
	lscope = scope == VMDIR_BASE ? LDAP_SCOPE_BASE :
	    scope == VMDIR_ONE ? LDAP_SCOPE_ONELEVEL : LDAP_SCOPE_SUBTREE;
	rc = ldap_search_ext_s(vd->ld, base, lscope, filter, (char **)attrs,
	    0, NULL, NULL, NULL, LDAP_NO_LIMIT, &res);
	if (rc == LDAP_NO_SUCH_OBJECT) {
		ret = 0;
		goto out;
	}
	if (rc != LDAP_SUCCESS) {
		struct buf what = BUF_INIT;

		buf_printf(&what, "cannot search %s", base);
		ldap_error(vd->ld, rc, buf_str(&what), err);
		buf_free(&what);
		goto out;
	}
	n = (size_t)ldap_count_entries(vd->ld, res);
	if (n > 0 && (out->entries = calloc(n, sizeof(*out->entries))) ==
	    NULL)
		goto oom;
	for (msg = ldap_first_entry(vd->ld, res); msg != NULL;
	    msg = ldap_next_entry(vd->ld, msg)) {
		struct vmdir_entry *e = &out->entries[out->n];
		char	*dn = ldap_get_dn(vd->ld, msg);

		if (dn == NULL || (e->dn = strdup(dn)) == NULL) {
			ldap_memfree(dn);
			goto oom;
		}
		ldap_memfree(dn);
		out->n++;
		for (name = ldap_first_attribute(vd->ld, msg, &ber);
		    name != NULL;
		    name = ldap_next_attribute(vd->ld, msg, ber)) {
			struct vmdir_attr *na;

			na = reallocarray(e->attrs, e->nattrs + 1,
			    sizeof(*e->attrs));
			if (na == NULL) {
				ldap_memfree(name);
				goto oom;
			}
			e->attrs = na;
			if (copy_attr(vd->ld, msg, name,
			    &e->attrs[e->nattrs]) == -1) {
				e->nattrs++;
				ldap_memfree(name);
				goto oom;
			}
			e->nattrs++;
			ldap_memfree(name);
		}
		ber_free(ber, 0);
		ber = NULL;
	}
	ret = 0;
	goto out;
oom:
	buf_printf(err, "out of memory reading %s", base);
	vmdir_entries_free(out);
out:
	if (ber != NULL)
		ber_free(ber, 0);
	ldap_msgfree(res);
	return ret;
}

const struct vmdir_attr *
vmdir_entry_attr(const struct vmdir_entry *e, const char *name)
{
	size_t	 i;

	for (i = 0; i < e->nattrs; i++)
		if (strcasecmp(e->attrs[i].name, name) == 0)
			return &e->attrs[i];
	return NULL;
}

char *
vmdir_domain_dn(const char *domain)
{
	struct buf b = BUF_INIT;
	const char *p = domain, *dot;

	for (;;) {
		dot = strchr(p, '.');
		if (buf_printf(&b, "%sdc=%.*s", b.len ? "," : "",
		    (int)(dot != NULL ? (size_t)(dot - p) : strlen(p)), p) == -1) {
			buf_free(&b);
			return NULL;
		}
		if (dot == NULL)
			break;
		p = dot + 1;
	}
	return buf_detach(&b);
}

/* LDAPMod array for attrs (op for each), plus the drops; freed by mods_free. */
static LDAPMod **
mods_new(const struct vmdir_attr *attrs, size_t nattrs, int op,
    const char *const *drop)
{
	LDAPMod	**mods;
	size_t	 i, j, ndrop = 0, k = 0;

	while (drop != NULL && drop[ndrop] != NULL)
		ndrop++;
	if ((mods = calloc(nattrs + ndrop + 1, sizeof(*mods))) == NULL)
		return NULL;
	for (i = 0; i < nattrs; i++, k++) {
		if ((mods[k] = calloc(1, sizeof(**mods))) == NULL)
			goto fail;
		mods[k]->mod_op = op | LDAP_MOD_BVALUES;
		mods[k]->mod_type = attrs[i].name;
		mods[k]->mod_bvalues = calloc(attrs[i].nvalues + 1,
		    sizeof(struct berval *));
		if (mods[k]->mod_bvalues == NULL)
			goto fail;
		for (j = 0; j < attrs[i].nvalues; j++) {
			struct berval *bv = calloc(1, sizeof(*bv));

			if (bv == NULL)
				goto fail;
			bv->bv_val = (char *)attrs[i].values[j].data;
			bv->bv_len = attrs[i].values[j].len;
			mods[k]->mod_bvalues[j] = bv;
		}
	}
	for (i = 0; i < ndrop; i++, k++) {
		if ((mods[k] = calloc(1, sizeof(**mods))) == NULL)
			goto fail;
		mods[k]->mod_op = LDAP_MOD_DELETE;
		mods[k]->mod_type = (char *)drop[i];
	}
	return mods;
fail:
	for (k = 0; mods[k] != NULL; k++) {
		for (j = 0; mods[k]->mod_op != LDAP_MOD_DELETE &&
		    mods[k]->mod_bvalues != NULL &&
		    mods[k]->mod_bvalues[j] != NULL; j++)
			free(mods[k]->mod_bvalues[j]);
		free(mods[k]->mod_bvalues);
		free(mods[k]);
	}
	free(mods);
	return NULL;
}

static void
mods_free(LDAPMod **mods)
{
	size_t	 k, j;

	for (k = 0; mods != NULL && mods[k] != NULL; k++) {
		if ((mods[k]->mod_op & ~LDAP_MOD_BVALUES) != LDAP_MOD_DELETE) {
			for (j = 0; mods[k]->mod_bvalues[j] != NULL; j++)
				free(mods[k]->mod_bvalues[j]);
			free(mods[k]->mod_bvalues);
		}
		free(mods[k]);
	}
	free(mods);
}

static int
write_done(struct vmdir *vd, int rc, const char *what, const char *dn,
    struct buf *err)
{
	struct buf w = BUF_INIT;

	vd->last_rc = rc;
	if (rc == LDAP_SUCCESS) {
		fault_done();
		return 0;
	}
	buf_printf(&w, "cannot %s %s", what, dn);
	ldap_error(vd->ld, rc, buf_str(&w), err);
	buf_free(&w);
	return -1;
}

int
vmdir_add(struct vmdir *vd, const char *dn, const struct vmdir_attr *attrs,
    size_t nattrs, struct buf *err)
{
	LDAPMod	**mods;
	int	 rc;

	if (fault_point("ldap add", err) == -1)
		return -1;
	if ((mods = mods_new(attrs, nattrs, LDAP_MOD_ADD, NULL)) == NULL) {
		buf_printf(err, "out of memory");
		return -1;
	}
	rc = ldap_add_ext_s(vd->ld, dn, mods, NULL, NULL);
	mods_free(mods);
	return write_done(vd, rc, "add", dn, err);
}

int
vmdir_replace(struct vmdir *vd, const char *dn,
    const struct vmdir_attr *attrs, size_t nattrs, const char *const *drop,
    struct buf *err)
{
	LDAPMod	**mods;
	int	 rc;

	if (fault_point("ldap modify", err) == -1)
		return -1;
	if ((mods = mods_new(attrs, nattrs, LDAP_MOD_REPLACE, drop)) == NULL) {
		buf_printf(err, "out of memory");
		return -1;
	}
	rc = ldap_modify_ext_s(vd->ld, dn, mods, NULL, NULL);
	mods_free(mods);
	return write_done(vd, rc, "modify", dn, err);
}

int
vmdir_delete(struct vmdir *vd, const char *dn, struct buf *err)
{
	if (fault_point("ldap delete", err) == -1)
		return -1;
	return write_done(vd, ldap_delete_ext_s(vd->ld, dn, NULL, NULL),
	    "delete", dn, err);
}

int
vmdir_lost(const struct vmdir *vd)
{
	switch (vd->last_rc) {
	case LDAP_SERVER_DOWN:
	case LDAP_CONNECT_ERROR:
	case LDAP_TIMEOUT:
	case LDAP_UNAVAILABLE:
	case LDAP_BUSY:
		return 1;
	default:
		return 0;
	}
}
