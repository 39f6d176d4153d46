/*
 * vecs.h - the VECS certificate stores, read through the appliance's own
 * vecs-cli (vmafdd owns the stores; vecs-cli is the supported way in).
 *
 * Lists belong to the caller (vecs_list_free). Key bytes fetched with
 * vecs_getkey are secrets: the caller frees them with buf_free_secret.
 */
#ifndef VCR_VECS_H
#define VCR_VECS_H

#include <stddef.h>

#include "buf.h"

/* How vecs-cli names a CRL entry's type. */
#define VECS_CRL_TYPE "Certification Revocation List"

enum vecs_type {
	VECS_PRIVATE_KEY,
	VECS_SECRET_KEY,
	VECS_TRUSTED_CERT,
	VECS_CRL,
	VECS_ENCRYPTED_PRIVATE_KEY,
	VECS_UNKNOWN_TYPE,
};

struct vecs_item {
	char		*alias;
	enum vecs_type	 type;
	char		*type_name;	/* as vecs-cli printed it */
	char		*pem;		/* the "Certificate :" text, maybe "" */
	size_t		 pem_len;
};

struct vecs_list {
	struct vecs_item *items;
	size_t		  n;
};

/* Store names, in vecs-cli's order. */
int  vecs_stores(const char *root, char ***names, size_t *n, struct buf *err);
/* Parses `vecs-cli store list' output (text, cut in place; may be NULL):
 * one name a line, blank lines skipped. 0, or -1 out of memory. */
int  vecs_parse_stores(char *text, char ***names, size_t *n);
void vecs_names_free(char **names, size_t n);

/* Every entry of a store with its certificate text. */
int  vecs_list(const char *root, const char *store, struct vecs_list *out,
    struct buf *err);
void vecs_list_free(struct vecs_list *l);

/*
 * Parses the output of `vecs-cli entry list --store S' (exposed for tests
 * and fuzzing). The entry count printed must match the entries found.
 */
int  vecs_parse_list(const char *text, size_t len, struct vecs_list *out,
    const char **why);

/* The private key of an entry, as vecs-cli entry getkey prints it. */
int  vecs_getkey(const char *root, const char *store, const char *alias,
    struct buf *key, struct buf *err);

/*
 * Writes through vecs-cli. entry create takes the certificate and key from
 * files (key files live in a private directory of the caller's, never in
 * argv); cert_file or key_file may be NULL. entry delete answers its prompt
 * with -y. 0, or -1 with vecs-cli's own message in err.
 */
int  vecs_entry_create(const char *root, const char *store, const char *alias,
    const char *cert_file, const char *key_file, struct buf *err);
int  vecs_entry_delete(const char *root, const char *store, const char *alias,
    struct buf *err);
/*
 * Puts an entry: with replace, the one there deleted first (vecs-cli has no
 * update), then created from cert (PEM text) and key (PEM; either NULL
 * when the entry has none), each
 * staged for vecs-cli as a 0600 file in dir (a private_dir) and removed
 * after. The one way vcrotate replaces an entry: apply's steps and restore.
 */
int  vecs_entry_put(const char *root, const char *dir, const char *store,
    const char *alias, int replace, const void *cert, size_t certlen,
    const void *key, size_t keylen, struct buf *err);
int  vecs_store_create(const char *root, const char *store, struct buf *err);
/* One pass of vmafdd's root sync now (vmdir's CA entries and their CRLs
 * into TRUSTED_ROOTS and TRUSTED_ROOT_CRLS): the only way a CRL entry is
 * made, as vmafdd refuses a CRL given to entry create. */
int  vecs_force_refresh(const char *root, struct buf *err);
int  vecs_store_delete(const char *root, const char *store, struct buf *err);

#endif
