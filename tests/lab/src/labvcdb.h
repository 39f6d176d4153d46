/*
 * labvcdb.h - the lab's vPostgres: a real PostgreSQL server (Debian's)
 * holding VCDB, run from the lab's files as the appliance runs its own
 * (docs/lab.md, "VCDB"). service-control starts and stops it as the service
 * vmware-vpostgres, and the services that log in to vCenter read their
 * extension's row of vpx_ext through it.
 *
 * The server refuses to run as root, and a lab belongs to root when the
 * tests run as root: every PostgreSQL program then runs in a user namespace
 * of its own where the lab's owner is the database owner (lab.conf pg_user,
 * "postgres"), so the files stay the lab owner's and no directory above the
 * lab needs to open up. Run by anyone else, the programs run as that user.
 *
 * lab.conf: pg_bindir (Debian's /usr/lib/postgresql/N/bin), pg_user. A lab
 * without pg_bindir has no VCDB (labctl create --no-vcdb): vmware-vpostgres
 * is then not one of its services.
 *
 * Conventions: 0 on success, -1 with a one-line reason in msg. Nothing here
 * prints.
 */
#ifndef LABVCDB_H
#define LABVCDB_H

#include <stddef.h>

/* The appliance's paths, relative to the lab root. */
#define VCDB_DATA	"storage/db/vpostgres"
#define VCDB_PID	VCDB_DATA "/postmaster.pid"
#define VCDB_SOCKDIR	"var/run/vpostgres"
#define VCDB_LOG	"var/log/vmware-lab/vpostgres.log"

/* Whether the lab of lab.conf conf has a VCDB. */
int  vcdb_present(const char *conf);

/*
 * The server started as pg_ctl start -w would (op "start": it returns once
 * the server accepts connections) or stopped as pg_ctl -m fast would (op
 * "stop": once it is gone), watched every 10 ms instead of pg_ctl's tenth
 * of a second; the server's output is appended to VCDB_LOG.
 */
int  vcdb_ctl(const char *root, const char *conf, const char *op, char *msg,
    size_t len);

/*
 * One value: the first column of the first row of sql run in VCDB as the
 * appliance's tools run it (psql -d VCDB -U postgres), malloc'd in *out
 * without its newline; NULL when there is no row.
 */
int  vcdb_query_one(const char *root, const char *conf, const char *sql,
    char **out, char *msg, size_t len);

#endif
