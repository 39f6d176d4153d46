/*
 * rootsync.h - vmafdd's root sync in the lab: every CA entry of vmdir
 * (cn=<id>,cn=Certificate-Authorities,cn=Configuration,DDN) copied into VECS
 * TRUSTED_ROOTS and TRUSTED_ROOT_CRLS, the way Lightwave's
 * vmafd/server/vmafd/rootfetch.c does it (VmAfdRootFetchTask,
 * VmAfdProcessCACerts):
 *
 *  - vmdir is searched under cn=Configuration,DDN for
 *    (objectClass=vmwCertificationAuthority); of each entry the first value
 *    of cACertificate (required: an entry without one fails the whole pass
 *    before anything changes) and of certificateRevocationList (optional),
 *    each copied as a C string (vmafd ldap.c VmAfdQueryCACerts,
 *    VmAfdCopyQueryResultAttributeString);
 *  - the value is read as PEM (ssl.c VecsPEMToX509 / VecsPEMToX509Crl); the
 *    alias is the lowercase hex SHA-1 of the (first) certificate or of the
 *    CRL (VecsComputeCertAliasA / VecsComputeCrlAliasA);
 *  - an alias not in the store is added, as vmafdd stores entries, and
 *    marked "auto refresh"; an alias already there is only marked;
 *  - after all CA entries, every entry of the store marked auto refresh that
 *    no CA entry named is deleted (VmAfdDeleteObsoleteCerts). Entries made
 *    by vecs-cli are not marked (vecs-cli cli.c passes AUTO_REFRESH 0) and
 *    are never deleted by the sync unless vmdir holds them too;
 *  - a value that is no PEM (DER, say) fails the pass at that entry:
 *    what was added before it stays, nothing is deleted, and the CRL store
 *    is not processed when the certificates failed. The lab-only setting
 *    root_sync_der=decode (lab.conf) reads a value that does not start
 *    with "-----BEGIN" as DER instead.
 *
 * The auto-refresh marks, a column of vmafdd's database, live in
 * ROOT/var/lib/vmware-lab/vecs-autorefresh ("STORE ALIAS" lines), written
 * under the VECS lock like the stores.
 *
 * Conventions: 0 on success, else a vmafd error code (what vecs-cli
 * force-refresh returns) with a one-line reason in msg. Nothing prints.
 */
#ifndef ROOTSYNC_H
#define ROOTSYNC_H

#include <stddef.h>

#define LAB_AUTOREFRESH		"var/lib/vmware-lab/vecs-autorefresh"

/* vmafd's codes for what can go wrong in a pass. */
#define ROOTSYNC_BAD_FORMAT	11	/* ERROR_BAD_FORMAT: not PEM */
#define ROOTSYNC_INVALID_DATA	13	/* ERROR_INVALID_DATA: no cACertificate */
#define ROOTSYNC_ALREADY_EXISTS	183	/* two CA entries, one alias */
#define ROOTSYNC_INTERNAL	1359	/* vmdir or the stores unreachable */

/* The default pass interval: CertificateSyncInterval, vmafd.reg.in. */
#define ROOTSYNC_DEFAULT_INTERVAL 60

struct rootsync_stats {
	unsigned	certs_added, certs_removed;
	unsigned	crls_added, crls_removed;
};

/* One pass, as VmAfdRootFetchTask; stats may be NULL. */
unsigned lab_rootsync(const char *root, struct rootsync_stats *stats,
    char *msg, size_t len);

/*
 * The same pass over CA entries the caller read elsewhere (labgen's domain
 * seeding: the first pass after a node joined, made before its vmafdd
 * runs); v[i].crl NULL: the entry has none.
 */
struct rootsync_ca {
	const char	*cert;
	size_t		 cert_len;
	const char	*crl;
	size_t		 crl_len;
};
unsigned lab_rootsync_values(const char *root, const struct rootsync_ca *v,
    size_t n, struct rootsync_stats *stats, char *msg, size_t len);

/*
 * Forgets the mark of STORE/ALIAS (alias NULL: of the whole store), as
 * deleting a row of vmafdd's database forgets its columns. The caller holds
 * the VECS lock (vecsdb_lock). 0 or -1 with errno.
 */
int lab_rootsync_forget(const char *root, const char *store,
    const char *alias);

/*
 * The pass interval in seconds from lab.conf's root_sync_interval: the
 * default when missing, 0 when "off" (no periodic pass), -1 when invalid.
 */
long lab_rootsync_interval(const char *root);

#endif
