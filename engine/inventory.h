/*
 * inventory.h - everything certificate-shaped on the appliance, read once:
 * every VECS store and entry, the STS credentials and chains, the
 * solution-user principals, the Lookup Service endpoints of this node and
 * of the others of its SSO domain, the domain's nodes, the CA entries in
 * vmdir and the VMCA root files.
 *
 * Reading goes on past what cannot be read: each source records its own
 * error (vecs_error, vmdir_error, vmca_error, vcdb_error), each of vmdir's parts (one
 * search each) whether it was read, and each item that does not parse
 * carries a reason, so that `check' reports everything else.
 *
 * The inventory owns everything in it; inventory_free releases it all.
 */
#ifndef VCR_INVENTORY_H
#define VCR_INVENTORY_H

#include <time.h>

#include <openssl/x509.h>

#include "appliance.h"
#include "buf.h"
#include "vecs.h"
#include "vmdir.h"

/*
 * Each item carries a digest of its current content, "sha256:<hex>": for a
 * VECS entry over its type and certificate text as vecs-cli lists it, for a
 * vmdir entry over its certificate-bearing attributes (never a private key),
 * for the VMCA root over root.cer. A plan records them; apply refuses to run
 * when one has changed since (inventory_digest_*() compute them the same way).
 */
#define DIGEST_LEN 72

struct vcdb_row;
struct rbd_row;

struct inv_vecs_entry {
	char		*store;
	char		*alias;
	enum vecs_type	 type;
	char		*type_name;
	char		*pem;
	size_t		 pem_len;
	STACK_OF(X509)	*chain;		/* certificates, leaf first; or NULL */
	const char	*bad;		/* why the entry is not what its type says */
	int		 key_match;	/* Private Key: 1 yes, 0 no, -1 unknown */
	const char	*key_error;	/* when key_match is -1 */
	int		 key_unread;	/* key_error: getkey itself failed */
	char		 digest[DIGEST_LEN];
};

struct inv_sts {
	int		 n;		/* TenantCredential-N, TrustedCertChain-N */
	int		 is_credential;	/* 0: a TrustedCertChain */
	char		*dn;
	STACK_OF(X509)	*certs;		/* every userCertificate value that parsed */
	size_t		 bad_values;	/* values that are not DER certificates */
	X509		*leaf;		/* credential: the cert matching the key */
	int		 has_key;	/* the key parsed */
	char		 digest[DIGEST_LEN];
	/* Over the same values in any order (inventory_digest_sts): what
	 * another domain controller's copy is compared by, as replication
	 * need not keep the order of an attribute's values. */
	char		 set_digest[DIGEST_LEN];
};

struct inv_principal {
	char	*solution;		/* machine, vpxd, ... */
	char	*dn;
	X509	*cert;			/* NULL: absent or bad */
	const char *bad;
	char	*subject_dn;		/* vmwSTSSubjectDN */
	char	 digest[DIGEST_LEN];
};

struct inv_endpoint {
	char	*dn;
	char	*uri;
	X509	*trust;			/* NULL: absent or bad */
	const char *bad;
	int	 legacy;		/* vmwLKUPSslTrustAnchor */
	char	 digest[DIGEST_LEN];
	/* Another node's (peer_endpoints): its host, and what that host
	 * served when domain_probe asked (domain.h). */
	char	*host;
	X509	*served;
	char	*served_error;		/* no answer: why */
};

/* Another node's endpoint, as domain_probe left it: never asked; asked,
 * but its registered trust does not parse; no answer; it serves the
 * certificate it is registered with; it serves another. The one rule for
 * the findings, the report and check's next step. */
enum ep_state {
	EP_NOT_ASKED, EP_UNPARSEABLE, EP_UNREACHABLE, EP_TRUSTED, EP_STALE
};
enum ep_state inventory_endpoint_state(const struct inv_endpoint *ep);

/*
 * A node of the SSO domain as this node's directory lists it: a domain
 * controller (ou=Domain Controllers: an embedded vCenter or a PSC, each
 * with a vmdir of its own, replicating) or a management node's computer
 * account (ou=Computers: a 6.x vCenter that uses its PSC's vmdir). What
 * domain_probe found on it over the network is below the line.
 */
struct inv_node {
	char	*pnid;			/* the account's cn */
	char	*dn;
	int	 dc;			/* 0: a management node */
	int	 self;			/* this appliance */
	int	 probed;		/* domain_probe asked its directory */
	char	*error;			/* ... which could not be read: why */
	int	 sts_same;		/* 1 it holds our STS entries, 0 not,
					 * -1 unknown */
	char	*sts_differs;		/* the first entry that differs */
};

/*
 * A CA entry under cn=Certificate-Authorities, and the form it was written
 * in. Lightwave's VMCA and dir-cli name it by the upper-case hex subject key
 * id, give it objectClass top, pkiCA and vmwCertificationAuthority and a
 * cACertificateDN, and store the certificate and its CRL as PEM text; other
 * tools may have left DER and lower-case names. vcrotate reads both and
 * writes a new entry in the form of the appliance's own (inventory_ca_model).
 */
struct inv_ca {
	char	*dn;
	X509	*cert;
	const char *bad;
	int	 pem;			/* cACertificate is PEM text */
	int	 pem_newline;		/* ... ending in a newline (dir-cli's;
					 * VMCA's has none) */
	int	 upper;			/* the cn has no lower-case hex digit */
	int	 subject_dn;		/* it has a cACertificateDN */
	char	**classes;		/* objectClass values, NULL-terminated */
	char	 digest[DIGEST_LEN];
};

/*
 * vmdir is read in parts, one search each: a search that fails loses that
 * part only, and what the others hold is still evaluated.
 */
enum vmdir_part {
	VMDIR_PART_STS,		/* TenantCredential-N, TrustedCertChain-N */
	VMDIR_PART_PRINCIPALS,	/* solution-user principals */
	VMDIR_PART_ENDPOINTS,	/* Lookup Service endpoints */
	VMDIR_PART_CAS,		/* CA entries */
	VMDIR_PART_NODES,	/* the domain's nodes */
	VMDIR_NPARTS
};

struct inv_part {
	int		 read;		/* 1: its search succeeded */
	struct buf	 error;		/* why not, when read is 0 */
};

/* "sts", "solution_users", ... (the JSON names) and "STS credentials",
 * "solution users", ... (for people). */
const char *vmdir_part_name(enum vmdir_part p);
const char *vmdir_part_title(enum vmdir_part p);

struct inventory {
	struct appliance	 app;
	struct buf		 identity_error;

	struct inv_vecs_entry	*vecs;
	size_t			 nvecs;
	char			**stores;
	size_t			 nstores;
	struct buf		 vecs_error;	/* empty: VECS read fully */

	struct inv_sts		*sts;		/* sorted by kind, then N */
	size_t			 nsts;
	struct inv_principal	*principals;
	size_t			 nprincipals;
	struct inv_endpoint	*endpoints;	/* of this PNID only */
	size_t			 nendpoints;
	struct inv_endpoint	*peer_endpoints;/* of the other nodes */
	size_t			 npeer_endpoints;
	struct inv_node		*nodes;		/* the domain's, in DN order */
	size_t			 nnodes;
	int			 domain_probed;	/* domain_probe ran */
	struct inv_ca		*cas;
	size_t			 ncas;
	struct inv_part		 vmdir_parts[VMDIR_NPARTS];
	int			 vmdir_read;	/* 1: every part was read */
	/* Every failed part's error, or the one reason none was read. */
	struct buf		 vmdir_error;

	STACK_OF(X509)		*vmca_root;	/* root.cer, NULL if unreadable */
	int			 vmca_key_match;/* 1, 0, -1 unknown */
	char			 vmca_digest[DIGEST_LEN];
	struct buf		 vmca_error;

	STACK_OF(X509)		*trusted;	/* TRUSTED_ROOTS certificates */
	int			 trusted_read;	/* TRUSTED_ROOTS was listed */

	/* VCDB's vpx_ext rows (vcdb.h), by ext_id; vcdb_present 0: the
	 * appliance has no VCDB (its psql is not there: nothing read). */
	struct vcdb_row		*vcdb;
	size_t			 nvcdb;
	int			 vcdb_present;
	struct buf		 vcdb_error;	/* empty: read, or none */

	/* vsan-health's copy of vpxd-extension (vsan.h); vsan_present 0:
	 * the appliance has none (nothing read). vsan_error: a file of it
	 * that cannot be read or parsed (the finding says so). */
	int			 vsan_present;
	X509			*vsan_cert;	/* its certificate, or NULL */
	int			 vsan_key_match;/* 1, 0, -1 unknown */
	char			 vsan_digest[DIGEST_LEN];	/* of .cert */
	struct buf		 vsan_error;

	/* Auto Deploy's vc_servers rows (rbd.h), by rowid; rbd_present 0:
	 * rbd is not set to start automatically, or has no database. */
	struct rbd_row		*rbd;
	size_t			 nrbd;
	int			 rbd_present;
	struct buf		 rbd_error;	/* empty: read, or none */
};

/* The solution users vcrotate knows, NULL-terminated; those with a VECS
 * store are checked. */
#define NSOLUTION_USERS 6
extern const char *const solution_users[NSOLUTION_USERS + 1];

/*
 * Reads the appliance under root. login may be NULL (vmdir not read, for
 * instance when no credentials could be found: vmdir_error says why).
 * flags: INV_NO_DIGESTS leaves every VECS entry's and vmdir entry's digest
 * empty, and does not ask vmdir for the CA entries' CRLs, which only their
 * digest covers: for a reader that compares none (check, where hashing
 * 9,000 entries was a fifth of its instructions); plan and apply need
 * them. Returns 0 even when
 * parts could not be read; -1 only when out of memory (the inventory is
 * then already freed).
 */
#define INV_NO_DIGESTS	0x1
int  inventory_read(struct inventory *inv, const char *root,
    const struct vmdir_login *login, const char *login_error,
    unsigned flags);
void inventory_free(struct inventory *inv);

/* The STS tenant, cn=<domain>,cn=Tenants,cn=IdentityManager,cn=Services,DDN. */
char *inventory_tenant_dn(const struct inventory *inv);

/* The highest-N credential, the one the identity service uses, or NULL. */
const struct inv_sts *inventory_active_sts(const struct inventory *inv);

/* The VECS entry STORE/ALIAS, or NULL; whether `vecs-cli store list'
 * named the store. */
const struct inv_vecs_entry *inventory_vecs(const struct inventory *inv,
    const char *store, const char *alias);
int inventory_has_store(const struct inventory *inv, const char *store);
/* The principal of solution user sol in vmdir, or NULL. */
const struct inv_principal *inventory_principal(const struct inventory *inv,
    const char *sol);

/*
 * The CA entry whose form a new CA entry copies: the current VMCA root's,
 * else the first whose certificate parsed; NULL when there is none (a new
 * entry then takes Lightwave's form, see struct inv_ca).
 */
const struct inv_ca *inventory_ca_model(const struct inventory *inv);

/* Digests (see DIGEST_LEN): of bytes, and of the values of the named
 * attributes of an LDAP entry (each attribute: name, count, then each value
 * with its length). */
struct vmdir_entry;
void inventory_digest_bytes(const void *data, size_t len,
    char out[DIGEST_LEN]);
void inventory_digest_vecs(const char *type_name, const char *pem, size_t len,
    char out[DIGEST_LEN]);
void inventory_digest_entry(const struct vmdir_entry *e,
    const char *const *attrs, char out[DIGEST_LEN]);

/* "https://Host:443/x" -> host "Host" (malloc'd) or NULL. */
char *uri_host(const char *uri);
/* The port of an http(s) URI: the one it names, else 443 (https) or 80;
 * -1 when it names one that is not a port. */
int   uri_port(const char *uri);

/* The digest of an STS entry (TenantCredential-N, TrustedCertChain-N) as
 * inv_sts.set_digest has it: over its userCertificate values, whatever
 * their order. */
void inventory_digest_sts(const struct vmdir_entry *e, char out[DIGEST_LEN]);
/* N of an STS entry inventory keeps (its cn TenantCredential-N or
 * TrustedCertChain-N; *is_credential, when not NULL, says which), else
 * -1: the one rule for this node's entries and another node's. */
int  inventory_sts_entry(const struct vmdir_entry *e, int *is_credential);
/* The node of the domain named pnid (case-insensitive), or NULL. */
const struct inv_node *inventory_node(const struct inventory *inv,
    const char *pnid);

#endif
