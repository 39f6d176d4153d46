/*
 * services.h - the appliance's services, through its own service-control:
 * stop and start them, which run, and which certificate the TLS endpoint
 * serves. apply, rollback and recover use it; it knows nothing of a
 * transaction.
 *
 * Every function takes the appliance's root (its tools are found under it,
 * appliance.h) and appends why it failed to err. Lists of services are
 * strings of names, each after one blank (" vmafdd vmdird"), owned by the
 * caller's struct buf. Each stop and start is a side effect and passes
 * through fault_point ("service-control --stop", "service-control --start",
 * the names the fault sweeps match on); reads do not.
 */
#ifndef VCR_SERVICES_H
#define VCR_SERVICES_H

#include <stddef.h>

#include <openssl/x509.h>

#include "buf.h"

/* service-control can be run: its file exists and is executable. */
int  services_check(const char *root, struct buf *err);

/* service-control --stop WHAT, --start WHAT: "--all" or one service's name.
 * On failure err gets service-control's own words (which service, why). */
int  services_stop(const char *root, const char *what, struct buf *err);
int  services_start(const char *root, const char *what, struct buf *err);
/*
 * vmafdd, then vmdird, each on its own: vecs-cli needs the one, LDAP the
 * other, after a stop --all (or a start --all that stopped short) left them
 * down; and vmware-vpostgres where the appliance has VCDB (vcdb.h), whose
 * rows a snapshot holds. All are tried; -1 when any failed.
 */
int  services_start_vmafd_vmdir(const char *root, struct buf *err);

/* The services service-control --status --all lists as stopped, in names
 * (reset first). */
int  services_stopped(const char *root, struct buf *names, struct buf *err);
/*
 * Parses the output of `service-control --status --all' ("Stopped:\n <svc>
 * <svc>...\nRunning:\n <svc> ...", appliance.md 6) into names (appended):
 * the services under "Stopped:". Exposed for tests. -1 out of memory.
 */
int  services_parse_stopped(const char *text, size_t len, struct buf *names);
/* The names of now that are not in before, and that are (appended to
 * out). -1 out of memory. */
int  services_missing(const char *now, const char *before, struct buf *out);
int  services_also(const char *now, const char *before, struct buf *out);
/*
 * The names (" a b") that the failure of a `--start --all' names, appended
 * to out: vmon lists every service of profile ALL it failed to start, by
 * short name, in one line ("RC=4, stderr=Failed to start vpxd, eam
 * services."); a manual service it never tried is not among them. Every
 * name when the line is not in that form or names none of them. -1 out
 * of memory.
 */
int  services_failed_to_start(const char *names, const char *failure,
    struct buf *out);
/*
 * After a restart: every service that ran when before was read (before:
 * the services stopped then) runs. --start --all starts the automatic
 * ones; one started by hand before is started again by name. A service
 * stopped before may stay so.
 */
int  services_as_before(const char *root, const char *before,
    struct buf *err);

/*
 * The certificate served on 127.0.0.1:port to a client that asks for host
 * (SNI), not verified (which one is live is the question, not whether it is
 * trusted). The caller X509_free's it; NULL when there is none.
 */
X509 *services_served_cert(int port, const char *host);
/*
 * The same from host:port (a name or an address; any of its addresses),
 * asking for sni; NULL with err (may be NULL) saying why: the name does not
 * resolve, nothing answers within 5 seconds, no TLS certificate.
 */
X509 *services_served_cert_at(const char *host, int port, const char *sni,
    struct buf *err);

#endif
