/*
 * domain.h - the other nodes of this appliance's SSO domain, seen over the
 * network the way their services see them (docs/domain.md).
 *
 * The domain's nodes and every node's Lookup Service endpoints come from
 * this node's directory (inventory.h: nodes, peer_endpoints); vmdir
 * replicates them. What the directory cannot say is asked of the nodes
 * themselves: whether each domain controller's own vmdir holds this node's
 * STS signing entries yet (replication runs every few seconds to minutes),
 * and which certificate each node's endpoints serve, to compare with the
 * one their registrations trust.
 */
#ifndef VCR_DOMAIN_H
#define VCR_DOMAIN_H

#include "inventory.h"
#include "vmdir.h"

/* vmdir's LDAPS port. */
#define DOMAIN_LDAPS_PORT 636

/*
 * Asks every other node of inv's domain, or only the node named only
 * (NULL: all): a domain controller's vmdir over LDAPS (port 636, its
 * certificate verified against this node's TRUSTED_ROOTS and its PNID),
 * bound with login's credentials, for the STS entries; every endpoint of
 * another node over TLS, for the certificate its host serves (one
 * connection per host and port; not the legacy 5.5-style ones). Fills inv->nodes[].probed, error,
 * sts_same, sts_differs and inv->peer_endpoints[].served, served_error;
 * sets inv->domain_probed. A node that does not answer is recorded, not
 * an error. Each node costs at most about 5 s to connect and hand-shake,
 * then libldap's 10 s per result; one after another. -1 only when out of
 * memory.
 */
int domain_probe(struct inventory *inv, const struct vmdir_login *login,
    const char *only);

/* How domain_wait_sts waits. */
struct domain_wait {
	int	  seconds;			/* at most; 0: not at all */
	void	(*say)(void *, const char *);	/* progress, every 5 s */
	int	(*stop)(void *);		/* 1: stop now (a signal) */
	void	 *arg;				/* for say and stop */
};

/*
 * After a new STS credential is written to this node's directory (vd):
 * waits until every other domain controller of inv's domain holds the STS
 * entries vd holds now, asking each as domain_probe does, every second, at
 * most w->seconds, saying which nodes it waits for. 0 when all hold them;
 * -1 with errout naming the nodes that do not and why, at once when one
 * cannot be asked in a way waiting will not change (its name does not
 * resolve, its certificate or our credentials are refused), or when stop
 * says so.
 */
int domain_wait_sts(const struct inventory *inv,
    const struct vmdir_login *login, struct vmdir *vd,
    const struct domain_wait *w, struct buf *errout);

#endif
