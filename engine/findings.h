/*
 * findings.h - what is wrong with the certificates of an appliance: the
 * evaluation of an inventory against a policy (thresholds, a point in time).
 *
 * Each finding has a stable code (docs/check.md), a severity and the exact
 * place: STORE/ALIAS for VECS, a DN for vmdir, a path for files. Codes are
 * an interface: monitoring and plans depend on them; never rename one.
 */
#ifndef VCR_FINDINGS_H
#define VCR_FINDINGS_H

#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#include "inventory.h"

/*
 * INFO is shown (text, JSON, nagios long output) but counts in no status,
 * exit code or alerting metric: what serves nothing (an expired
 * BACKUP_STORE copy).
 */
enum severity { SEV_OK = 0, SEV_INFO = 1, SEV_WARNING = 2, SEV_CRITICAL = 3 };
#define SEV__MAX 4

struct policy {
	time_t	 at;		/* evaluate as of this time */
	int	 warn_days;	/* EXPIRING warning below this many days */
	int	 crit_days;	/* EXPIRING critical below this many days */
};

struct finding {
	const char	*code;	/* "EXPIRED", ... (static) */
	enum severity	 sev;
	char		*place;
	char		*message;
};

struct findings {
	struct finding	*v;
	size_t		 n;
};

/* The date verdict on one certificate; also used for the listing. */
enum cert_status {
	CS_OK,
	CS_EXPIRING_WARN,
	CS_EXPIRING_CRIT,
	CS_EXPIRED,
	CS_NOT_YET_VALID,
};

enum cert_status cert_status(X509 *x, const struct policy *p);
const char *cert_status_name(enum cert_status s);	/* "OK", "EXPIRED" ... */
const char *severity_name(enum severity s);		/* "OK", "INFO", "WARNING" ... */

/* Evaluates; 0, or -1 when out of memory. Findings are sorted: critical
 * first, then in reading order. */
int  findings_evaluate(const struct inventory *inv, const struct policy *p,
    struct findings *out);
void findings_free(struct findings *f);
enum severity findings_worst(const struct findings *f);

/* "STORE/ALIAS" (malloc'd). */
char *vecs_place(const char *store, const char *alias);

/* The stores that hold solution users' certificates, alias = store name. */
int is_solution_user_store(const char *store);

/* Backup copies serve nothing: their findings are at most a warning, their
 * expiry an INFO. */
#define BACKUP_STORE "BACKUP_STORE"

/*
 * Which CA certificates of TRUSTED_ROOTS and of vmdir's Certificate-
 * Authorities are in use: they issued, directly or through other CA
 * certificates of those two, a certificate that serves (a VECS entry outside
 * TRUSTED_ROOTS and BACKUP_STORE, an STS credential or chain, a solution
 * user's principal, a Lookup Service endpoint's trust), or they are the VMCA
 * root. Issuer means X509_check_issued (name, key identifiers, key usage):
 * an expired root and its renewal of the same name are told apart by key.
 * check judges an expired root by it (ROOT_EXPIRED is a warning when it is
 * not in use), plan --prune-expired-roots deletes only roots not in use.
 */
struct root_use;
struct root_use *root_use_new(const struct inventory *inv);	/* NULL: OOM */
int  root_use_signs(const struct root_use *u, X509 *x);	/* 1 in use, 0 not */
void root_use_free(struct root_use *u);

/* The advice of a ROOT_EXPIRED that is a warning: what removes it. */
#define PRUNE_COMMAND "vcrotate plan --prune-expired-roots"

#endif
