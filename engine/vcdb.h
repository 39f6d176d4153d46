/*
 * vcdb.h - vCenter's database, VCDB, where it pins certificates: the table
 * vpx_ext holds, per extension (com.vmware.vim.eam, ...), the SHA-1
 * thumbprint of the certificate the extension logs in with. After a new
 * vpxd-extension (or Machine SSL) certificate the rows must follow, or the
 * extensions cannot log in (docs/check.md, EXTENSION_THUMBPRINT_MISMATCH).
 *
 * VCDB is reached through the appliance's own psql
 * (/opt/vmware/vpostgres/current/bin/psql -d VCDB -U postgres, as vCert and
 * fixcerts do), never libpq: the release binary stays static and carries no
 * PostgreSQL client, and psql is the appliance's interface to its database
 * as vecs-cli is to VECS (docs/architecture.md). No shell is involved:
 * argv goes to execv, SQL to psql's stdin. An appliance without that psql
 * (an external PSC) has no VCDB: nothing to read, nothing to write.
 *
 * Rows belong to the caller (vcdb_rows_free).
 */
#ifndef VCR_VCDB_H
#define VCR_VCDB_H

#include <stddef.h>

#include "buf.h"
#include "inventory.h"

/* A thumbprint as openssl x509 -noout -fingerprint -sha1 prints it:
 * 20 upper-case hex pairs joined by colons. */
#define VCDB_THUMBPRINT_LEN 59

struct vcdb_row {
	char	*ext_id;
	char	*thumbprint;	/* "" for NULL */
	char	 digest[DIGEST_LEN];	/* of the thumbprint (inventory.h) */
};

/* 1 when the appliance has VCDB (its psql is there), 0 when not. */
int  vcdb_present(const char *root);

/*
 * The rows of vpx_ext, ordered by ext_id. 0 when read, 1 when the
 * appliance has no VCDB (*rows NULL, *n 0), -1 with the reason in err
 * (psql failed: the server is down, VCDB is missing, ...).
 */
int  vcdb_read(const char *root, struct vcdb_row **rows, size_t *n,
    struct buf *err);
/* Parses psql's unaligned output with zero bytes as field and record
 * separators (exposed for tests): 0, or -1 with why. */
int  vcdb_parse(const char *out, size_t len, struct vcdb_row **rows,
    size_t *n, const char **why);
void vcdb_rows_free(struct vcdb_row *rows, size_t n);
const struct vcdb_row *vcdb_row(const struct vcdb_row *rows, size_t n,
    const char *ext_id);

/*
 * The certificate an extension logs in with (vCert, fixcerts): VECS store
 * and alias; 0, or -1 for an extension vcrotate does not know (left
 * alone). com.vmware.vsan.health follows Machine SSL, the others
 * vpxd-extension.
 */
int  vcdb_follows(const char *ext_id, const char **store, const char **alias);
/*
 * The thumbprint the row of ext_id must hold now: that of the certificate
 * its extension logs in with, as VECS holds it, in the rows' form
 * (malloc'd). NULL when vcrotate does not know the extension, the
 * certificate is not in VECS, or out of memory.
 */
char *vcdb_expected(const struct inventory *inv, const char *ext_id);
/* Whether s has the form of VCDB_THUMBPRINT_LEN above. */
int  vcdb_thumbprint_ok(const char *s);
/* "VCDB/vpx_ext/<ext_id>", the place of a row in findings and plans
 * (malloc'd); the ext_id of such a place (borrowed) or NULL. */
char *vcdb_place(const char *ext_id);
const char *vcdb_place_ext(const char *place);

/* One row's update: thumbprint set where ext_id is, and, when expect is
 * not NULL, only where the row still holds expect. */
struct vcdb_update {
	const char	*ext_id;
	const char	*thumbprint;
	const char	*expect;
};

/*
 * Every update in ONE SQL transaction (psql -1, ON_ERROR_STOP): all rows
 * are written or none; a row missing (or not holding expect) fails it.
 * ext_ids and thumbprints are refused unless made of [A-Za-z0-9._-] and
 * [0-9A-Fa-f:] (nothing that could leave an SQL string). A side effect
 * (fault_point "psql vpx_ext update"). 0, or -1 with psql's words in err.
 */
int  vcdb_update(const char *root, const struct vcdb_update *u, size_t n,
    struct buf *err);

/*
 * Before a command reads VCDB: when it is there and does not answer, its
 * server, vmware-vpostgres, started with service-control, as vCert and
 * fixcerts do (service-control --start --all ends at the first core
 * service that fails, an expired STS, before vmon's profile starts it).
 * 0 (nothing to do), 1 (started: the caller says so), or -1 with
 * service-control's words. check never calls it: it only reads.
 */
int  vcdb_ensure(const char *root, struct buf *err);

#endif
