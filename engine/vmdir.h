/*
 * vmdir.h - the appliance's directory (vmdir) over LDAP: connect, bind,
 * search with binary values, and the DNs vcrotate reads.
 *
 * Entries returned by vmdir_search belong to the caller (vmdir_entries_free).
 * Values are copied byte for byte: vmdir's certificates are octet strings.
 */
#ifndef VCR_VMDIR_H
#define VCR_VMDIR_H

#include <stddef.h>

#include "buf.h"

struct vmdir;

struct vmdir_value {
	unsigned char	*data;
	size_t		 len;
};

struct vmdir_attr {
	char			*name;
	struct vmdir_value	*values;
	size_t			 nvalues;
};

struct vmdir_entry {
	char			*dn;
	struct vmdir_attr	*attrs;
	size_t			 nattrs;
};

struct vmdir_entries {
	struct vmdir_entry	*entries;
	size_t			 n;
};

enum vmdir_scope { VMDIR_BASE, VMDIR_ONE, VMDIR_SUB };

/*
 * How to reach vmdir: one per session (config_login makes it). password is
 * a secret. TLS: an ldaps:// URI, or an ldap:// one with starttls (StartTLS
 * before the bind), verifies the server's certificate against ca_file
 * alone (as it reads at each connection, plus its first certificate as the
 * login's first TLS connection read it: pin), and its name against the
 * URI's host; a certificate that fails is an error, never a fallback to
 * plain LDAP. starttls with an ldaps:// URI is an error; ca_file NULL makes
 * TLS connections fail ("no CA file").
 */
struct vmdir_pin;
struct vmdir_login {
	char		*uri;
	char		*bind_dn;
	char		*password;
	int		 starttls;
	char		*ca_file;
	struct vmdir_pin *pin;	/* set by the first TLS vmdir_open */
};

/* Sets the TLS part of a login (-1: out of memory). */
int  vmdir_login_tls(struct vmdir_login *login, int starttls,
    const char *ca_file);
/* Frees a login, the password wiped. */
void vmdir_login_free(struct vmdir_login *login);

/* Whether uri (or one URI of a list) is ldaps://. */
int  vmdir_uri_is_ldaps(const char *uri);
/*
 * Whether a server of uri (a list, as ldap_initialize takes) would get a
 * simple bind in clear across the network: ldap:// without StartTLS to a
 * host other than localhost, 127.0.0.0/8 or ::1 (ldaps:// and ldapi://
 * never). 1 yes, 0 no, -1 when uri does not parse.
 */
int  vmdir_uri_plain_remote(const char *uri, int starttls);

/*
 * Connects to login's URI and binds as its bind DN with its password (simple
 * bind, LDAPv3, no referrals, 10 s network timeout, TLS as login says; the
 * login keeps the pin, so it is the session's). On failure
 * returns -1 and writes what failed, in words, to err ("cannot bind as DN:
 * Invalid credentials", "TLS with the directory at URI failed: REASON").
 */
int  vmdir_open(struct vmdir **out, const struct vmdir_login *login,
    struct buf *err);
void vmdir_close(struct vmdir *vd);

/*
 * Searches; attrs is a NULL-terminated list (NULL: all). A base that does not
 * exist gives 0 entries, not an error.
 */
int  vmdir_search(struct vmdir *vd, const char *base, enum vmdir_scope scope,
    const char *filter, const char *const *attrs, struct vmdir_entries *out,
    struct buf *err);
void vmdir_entries_free(struct vmdir_entries *e);

/*
 * Writes. An entry given as attributes with values (vmdir_entry without
 * its dn, which is passed separately). vmdir_add creates the entry;
 * vmdir_replace sets each given attribute to exactly the given values and
 * deletes each attribute named in `drop' (NULL-terminated, may be NULL); one
 * modify, atomic for that entry. vmdir_delete removes a leaf entry.
 */
int  vmdir_add(struct vmdir *vd, const char *dn, const struct vmdir_attr *attrs,
    size_t nattrs, struct buf *err);
int  vmdir_replace(struct vmdir *vd, const char *dn,
    const struct vmdir_attr *attrs, size_t nattrs, const char *const *drop,
    struct buf *err);
int  vmdir_delete(struct vmdir *vd, const char *dn, struct buf *err);
/* Whether the last write failed because the server went away (down,
 * unreachable, busy): worth a new connection and another try. */
int  vmdir_lost(const struct vmdir *vd);

/* The attribute of an entry by name (case-insensitive), or NULL. */
const struct vmdir_attr *vmdir_entry_attr(const struct vmdir_entry *e,
    const char *name);

/*
 * The parts of vmdir vcrotate reads and writes, each below the domain DN
 * ("dc=vsphere,dc=local"), as Lightwave lays them out: the STS tenant (%s:
 * the domain name, "vsphere.local") with its credentials and chains, the
 * solution users' principals, the sites holding the Lookup Service
 * registrations, the CA entries. One place for every reader and writer
 * (inventory.c, backup/state.c, plans/, apply.c).
 */
#define VMDIR_RDN_TENANT	"cn=%s,cn=Tenants,cn=IdentityManager,cn=Services"
#define VMDIR_RDN_PRINCIPALS	"cn=ServicePrincipals"
#define VMDIR_RDN_SITES		"cn=Sites,cn=Configuration"
#define VMDIR_RDN_CAS		"cn=Certificate-Authorities,cn=Configuration"
#define VMDIR_RDN_DCS		"ou=Domain Controllers"
#define VMDIR_RDN_COMPUTERS	"ou=Computers"

/*
 * Lookup Service endpoints, of both classes vmdir has: endpoint
 * registrations (vmwLKUPEndpointSslTrust, one line of base64 DER) and the
 * legacy 5.5-style service endpoints 6.x left behind (vmwLKUPSslTrustAnchor,
 * binary DER), under cn=Sites,cn=Configuration.
 */
#define VMDIR_ENDPOINT_FILTER "(|(objectClass=vmwLKUPEndpointRegistration)" \
	"(objectClass=vmwLKUPServiceEndpoint))"
#define VMDIR_LEGACY_ENDPOINT_CLASS "vmwLKUPServiceEndpoint"

/* "vsphere.local" -> "dc=vsphere,dc=local" (malloc'd). */
char *vmdir_domain_dn(const char *domain);

#endif
