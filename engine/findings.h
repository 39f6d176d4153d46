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

enum severity { SEV_OK = 0, SEV_WARNING = 1, SEV_CRITICAL = 2 };

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
const char *severity_name(enum severity s);		/* "OK", "WARNING" ... */

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

/* Backup copies serve nothing: their findings are at most a warning. */
#define BACKUP_STORE "BACKUP_STORE"

#endif
