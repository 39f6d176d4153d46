/*
 * state.h - the certificate state of an appliance as a flat set of files:
 * what a snapshot stores, what restore compares and writes back.
 *
 * Every item is a path in the snapshot tree and its plaintext bytes:
 *
 *   vecs/@stores                   store names in vecs-cli's order (escaped, one a line)
 *   vecs/<S>/@store                the store's raw name
 *   vecs/<S>/<A>/@alias            the entry's raw alias
 *   vecs/<S>/<A>/type              "Private Key", "Trusted Cert", ...
 *   vecs/<S>/<A>/cert.pem          the certificate text as vecs-cli lists it (CRLs too)
 *   vecs/<S>/<A>/key               the key as vecs-cli getkey gives it (secret)
 *   vmdir/<group>/<DN>/@dn         the raw DN; group: sts, principals, endpoints, cas
 *   vmdir/<group>/<DN>/<attr>.<i>.pem | .txt | .key
 *                                  each value: certificate-like values as PEM of
 *                                  their bytes, vmwSTSPrivateKey as .key (secret),
 *                                  anything else verbatim
 *   vmdir/<group>/<DN>/@absent     the raw DN of an entry that did not exist:
 *                                  the only item of its unit (bk_state_add_absent)
 *   vmca/root.cer, vmca/privatekey.pem (secret)
 *   vcdb/vpx_ext/<E>/@ext_id       a row of VCDB's vpx_ext: its raw ext_id
 *   vcdb/vpx_ext/<E>/thumbprint    ... and the thumbprint it holds ("" for
 *                                  NULL); no vcdb items on an appliance
 *                                  without VCDB (vcdb.h)
 *   vsan-health/vpxd-extension.cert, vsan-health/vpxd-extension.key (secret)
 *                                  vsan-health's copy of vpxd-extension, as
 *                                  the files hold it; none on an appliance
 *                                  without the copy (vsan.h)
 *   autodeploy/vc_servers/<rowid>/@row        a row of Auto Deploy's
 *                                  vc_servers: its place, AutoDeploy/vc_servers/<rowid>
 *   autodeploy/vc_servers/<rowid>/thumbprint  ... and the thumbprint it holds;
 *                                  none where rbd is not AUTOMATIC (rbd.h)
 *
 * <S>, <A>, <DN> and <E> are escaped with bk_name_escape (names.h). Items marked
 * secret are encrypted when stored (crypt.h) and never printed.
 *
 * A live state never holds @absent items. A transaction's before snapshot
 * adds one for each entry its plan creates, so that putting the snapshot
 * back (rollback, recover, backup restore) deletes that entry where it
 * exists and does nothing where it does not; an entry neither in a snapshot
 * nor recorded absent there is one restore does not delete.
 */
#ifndef VCR_BK_STATE_H
#define VCR_BK_STATE_H

#include <stddef.h>

#include "buf.h"

#define BK_VSAN_CERT	"vsan-health/vpxd-extension.cert"
#define BK_VSAN_KEY	"vsan-health/vpxd-extension.key"
#include "inventory.h"

struct bk_item {
	char		*path;
	unsigned char	*data;
	size_t		 len;
	int		 secret;
};

struct bk_state {
	struct bk_item	*items;		/* sorted by path once complete */
	size_t		 n;
	size_t		 cap;
};

/* Adds a copy of data at path. 0 or -1 (out of memory). */
int  bk_state_add(struct bk_state *st, const char *path, const void *data,
    size_t len, int secret);
/* Sorts by path; two items at one path is an error (-1). */
int  bk_state_sort(struct bk_state *st);
/*
 * Whether the item at path is a key by what it is (vecs/<S>/<A>/key, a
 * vmdir value kept as .key, vmca/privatekey.pem): sealed in a snapshot,
 * written 0600 when restored, whatever a manifest says.
 */
int  bk_path_secret(const char *path);
const struct bk_item *bk_state_get(const struct bk_state *st,
    const char *path);
void bk_state_free(struct bk_state *st);

/* PEM of arbitrary bytes under a label (lossless: the bytes need not be
 * DER), appended to out. */
int  bk_pem_of(const char *label, const unsigned char *data, size_t len,
    struct buf *out);

/*
 * Reads the live state of the appliance under root: every VECS store and
 * entry with its key, the STS credentials and chains (all attributes), the
 * principals of this machine and the Lookup Service endpoints of this PNID
 * (the attributes a replacement touches), the CA entries (all attributes),
 * the VMCA files, VCDB's vpx_ext rows. Anything that cannot be read fails
 * the whole read (-1,
 * err says what): a partial state is never returned.
 */
int  bk_state_read(struct bk_state *st, const char *root,
    const struct appliance *app, const struct vmdir_login *login,
    struct buf *err);

/*
 * Records the vmdir entries dns[0..n-1] (raw DNs) as absent: for each DN
 * that st holds no entry of, the item vmdir/<group>/<DN>/@absent holding
 * the DN, in the group whose search (bk_state_read) would find it. A DN
 * that no group's search reaches is not part of a snapshot and is left
 * out. st is sorted again. 0, or -1 (err says why).
 */
int  bk_state_add_absent(struct bk_state *st, const struct appliance *app,
    const char *const *dns, size_t n, struct buf *err);

#endif
