/*
 * vmdir.c - LDAP access to vmdir with libldap's modern calls. See vmdir.h.
 */
#include <sys/time.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ldap.h>

#include "vmdir.h"

struct vmdir {
	LDAP	*ld;
};

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
vmdir_open(struct vmdir **out, const char *uri, const char *bind_dn,
    const char *password, struct buf *err)
{
	struct vmdir *vd = NULL;
	struct berval cred;
	struct timeval tv = { 10, 0 };
	int	 version = LDAP_VERSION3, rc, ret = -1;

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
	cred.bv_val = (char *)password;
	cred.bv_len = strlen(password);
	rc = ldap_sasl_bind_s(vd->ld, bind_dn, LDAP_SASL_SIMPLE, &cred, NULL,
	    NULL, NULL);
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
	vmdir_close(vd);
	return ret;
}

void
vmdir_close(struct vmdir *vd)
{
	if (vd == NULL)
		return;
	if (vd->ld != NULL)
		ldap_unbind_ext_s(vd->ld, NULL, NULL);
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
	ldap_value_free_len(vals);
	return 0;
fail:
	ldap_value_free_len(vals);
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

	if (rc == LDAP_SUCCESS)
		return 0;
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
	return write_done(vd, ldap_delete_ext_s(vd->ld, dn, NULL, NULL),
	    "delete", dn, err);
}
