/*
 * labdir.h - the lab programs' way into their vmdir (the lab's slapd): a
 * connection bound as the appliance's machine account, as vmafdd and the
 * other services of a real appliance bind (appliance.md 2, 5).
 *
 * Conventions: 0 on success; -1 with a one-line reason in msg. Nothing here
 * prints.
 */
#ifndef LABDIR_H
#define LABDIR_H

#include <stddef.h>

#include <ldap.h>

/*
 * Binds to ldap://<ldap_host>:<ldap_port>/ of lab.conf (ldap_host: a
 * domain's node's directory; 127.0.0.1 when missing) as dn with password
 * (LDAPv3, no referrals, 2 s to connect, 10 s per operation). *rc, when not
 * NULL, gets the LDAP result code (LDAP_SERVER_DOWN when no connection was
 * made). The caller unbinds *out with ldap_unbind_ext_s.
 */
int lab_dir_bind(const char *root, const char *dn, const char *password,
    LDAP **out, int *rc, char *msg, size_t len);
/* The same as the machine account: the registry's dcAccountDN and
 * dcAccountPassword. */
int lab_dir_open(const char *root, LDAP **out, char *msg, size_t len);
/* The lab's domain DN, from the registry's DomainName, malloc'd. */
char *lab_dir_ddn(const char *root);

/* RFC 4514 escaping of one attribute value, malloc'd. */
char *lab_dn_escape(const char *v);

/* "vsphere.local" -> "dc=vsphere,dc=local" (RFC 4514 escaped), malloc'd. */
char *lab_domain_dn(const char *domain);

#endif
