/*
 * rbd.h - Auto Deploy's SQLite database, where it pins vCenter's Machine
 * SSL certificate: table vc_servers, column thumbprint. Broadcom's vCert
 * (update_auto_deploy_db) sets every row's thumbprint to the Machine SSL
 * certificate's after replacing it, with the appliance's sqlite3, when
 * `vmon-cli -s rbd` says rbd starts AUTOMATIC; the database is
 * /var/lib/rbd/db on 7.0 and /etc/vmware-rbd/db/db on 8.0 (docs/lab.md,
 * "Auto Deploy"). vcrotate does the same through the appliance's
 * /usr/bin/sqlite3, never a linked SQLite (docs/check.md, "Auto Deploy"),
 * and takes whichever of the two files is there (8.0's first).
 *
 * Rows are found by rowid; they belong to the caller (rbd_rows_free).
 */
#ifndef VCR_RBD_H
#define VCR_RBD_H

#include <stddef.h>

#include "buf.h"
#include "inventory.h"

/* The certificate the rows follow (STORE/ALIAS). */
#define RBD_FOLLOWS	"MACHINE_SSL_CERT/__MACHINE_CERT"

struct rbd_row {
	long	 id;		/* rowid */
	char	*thumbprint;	/* "" for NULL */
	char	 digest[DIGEST_LEN];	/* of the thumbprint */
};

/*
 * Where Auto Deploy's database is: 1 with *rel (APP-relative, static)
 * when vmon-cli says rbd starts AUTOMATIC and the file is there; 0 when
 * the appliance has no vmon-cli, rbd is not AUTOMATIC, or there is no
 * database (nothing to do, as vCert); -1 with err when vmon-cli fails.
 */
int  rbd_where(const char *root, const char **rel, struct buf *err);

/* The rows of vc_servers by rowid: 0, 1 (no Auto Deploy to look at, as
 * rbd_where), or -1 with err (sqlite3 failed, output not understood). */
int  rbd_read(const char *root, struct rbd_row **rows, size_t *n,
    struct buf *err);
/* sqlite3 -ascii output (exposed for tests): 0, or -1 with why. */
int  rbd_parse(const char *out, size_t len, struct rbd_row **rows,
    size_t *n, const char **why);
void rbd_rows_free(struct rbd_row *rows, size_t n);
const struct rbd_row *rbd_row(const struct rbd_row *rows, size_t n,
    long id);

/* "AutoDeploy/vc_servers/<id>", a row's place (malloc'd); the id of such
 * a place, or -1. */
char *rbd_place(long id);
long  rbd_place_id(const char *place);

/* One row's update: thumbprint set where rowid is id and, when expect is
 * not NULL, the row still holds expect. */
struct rbd_update {
	long		 id;
	const char	*thumbprint;
	const char	*expect;
};

/*
 * Every update in ONE SQLite transaction (BEGIN IMMEDIATE ... COMMIT,
 * sqlite3 -bail): all rows or none; a row missing, or not holding
 * expect, fails it. Thumbprints of other characters than [0-9A-Fa-f:]
 * are refused. A side effect (fault_point "sqlite3 vc_servers update").
 * 0, or -1 with sqlite3's words in err.
 */
int  rbd_update(const char *root, const struct rbd_update *u, size_t n,
    struct buf *err);

#endif
