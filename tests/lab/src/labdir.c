/*
 * labdir.c - the lab's LDAP client of its own vmdir: see labdir.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldap.h>

#include "labdir.h"
#include "labutil.h"

int
lab_dir_bind(const char *root, const char *dn, const char *password,
    LDAP **out, int *rc, char *msg, size_t len)
{
	LDAP		*ld = NULL;
	char		*conf = NULL, *port = NULL, *uri = NULL, *host = NULL;
	struct berval	 cred;
	struct timeval	 net = { 2, 0 }, op = { 10, 0 };
	int		 version = LDAP_VERSION3, lrc = LDAP_SERVER_DOWN;
	int		 ret = -1;

	*out = NULL;
	if ((conf = lab_path(root, LAB_CONF)) == NULL) {
		snprintf(msg, len, "out of memory");
		goto out;
	}
	if ((port = lab_conf_get(conf, "ldap_port")) == NULL) {
		snprintf(msg, len, "%s: no ldap_port", conf);
		goto out;
	}
	/* A domain's node: where its directory is (a management node's is
	 * its PSC's); else this machine's. */
	if ((host = lab_conf_get(conf, "ldap_host")) == NULL &&
	    (host = strdup("127.0.0.1")) == NULL) {
		snprintf(msg, len, "out of memory");
		goto out;
	}
	if (asprintf(&uri, "ldap://%s:%s/", host, port) == -1) {
		uri = NULL;
		snprintf(msg, len, "out of memory");
		goto out;
	}
	if ((lrc = ldap_initialize(&ld, uri)) != LDAP_SUCCESS) {
		snprintf(msg, len, "%s: %s", uri, ldap_err2string(lrc));
		goto out;
	}
	if (ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version) !=
	    LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &net) !=
	    LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_TIMEOUT, &op) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) !=
	    LDAP_OPT_SUCCESS) {
		lrc = LDAP_OTHER;
		snprintf(msg, len, "%s: cannot set LDAP options", uri);
		goto out;
	}
	cred.bv_val = (char *)password;
	cred.bv_len = strlen(password);
	lrc = ldap_sasl_bind_s(ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL,
	    NULL);
	if (lrc != LDAP_SUCCESS) {
		snprintf(msg, len, "cannot bind to %s as %s: %s", uri, dn,
		    ldap_err2string(lrc));
		goto out;
	}
	*out = ld;
	ld = NULL;
	ret = 0;
out:
	if (rc != NULL)
		*rc = lrc;
	if (ld != NULL)
		ldap_unbind_ext_s(ld, NULL, NULL);
	free(conf);
	free(port);
	free(host);
	free(uri);
	return ret;
}

int
lab_dir_open(const char *root, LDAP **out, char *msg, size_t len)
{
	char	*dn = NULL, *pw = NULL;
	int	 ret = -1;

	*out = NULL;
	if ((dn = lab_reg_get(root, LAB_REG_VMDIR, "dcAccountDN")) == NULL ||
	    (pw = lab_reg_get(root, LAB_REG_VMDIR, "dcAccountPassword")) ==
	    NULL)
		snprintf(msg, len, "registry [%s] has no dcAccountDN or "
		    "dcAccountPassword", LAB_REG_VMDIR);
	else
		ret = lab_dir_bind(root, dn, pw, out, NULL, msg, len);
	if (pw != NULL)
		lab_free_secret(pw, strlen(pw));
	free(dn);
	return ret;
}

char *
lab_dir_ddn(const char *root)
{
	char	*domain, *ddn;

	if ((domain = lab_reg_get(root, LAB_REG_VMAFD, "DomainName")) == NULL)
		return NULL;
	ddn = lab_domain_dn(domain);
	free(domain);
	return ddn;
}

char *
lab_dn_escape(const char *v)
{
	size_t	 i, n = strlen(v);
	char	*out = NULL, *p = NULL;

	if ((out = malloc(2 * n + 1)) == NULL)
		return NULL;
	for (i = 0, p = out; i < n; i++) {
		if (strchr(",+\"\\<>;=", v[i]) != NULL ||
		    (i == 0 && (v[i] == '#' || v[i] == ' ')) ||
		    (i == n - 1 && v[i] == ' '))
			*p++ = '\\';
		*p++ = v[i];
	}
	*p = '\0';
	return out;
}

char *
lab_domain_dn(const char *domain)
{
	char	*copy = NULL, *label = NULL, *rest = NULL, *esc = NULL;
	char	*dn = NULL, *ndn = NULL;

	if ((copy = strdup(domain)) == NULL || (dn = strdup("")) == NULL)
		goto fail;
	for (rest = copy; (label = strsep(&rest, ".")) != NULL;) {
		if ((esc = lab_dn_escape(label)) == NULL)
			goto fail;
		ndn = NULL;
		if (asprintf(&ndn, "%s%sdc=%s", dn, *dn ? "," : "", esc) == -1)
			ndn = NULL;
		free(esc);
		free(dn);
		if ((dn = ndn) == NULL)
			goto fail;
	}
	free(copy);
	return dn;
fail:
	free(copy);
	free(dn);
	return NULL;
}
