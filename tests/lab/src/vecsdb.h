/*
 * vecsdb.h - the lab's VECS: certificate stores kept on disk under
 * ROOT/storage/db/vmware-vmafd/vecs, shared by the lab's vecs-cli, its
 * service-control and labgen (which fills new labs without forking vecs-cli
 * thousands of times).
 *
 * Layout: `stores' lists the store names in creation order (one per line,
 * percent-escaped); each store is one file named by the SHA-256 of its name
 * (so no store name or alias, whatever bytes it holds, reaches the file
 * system as a path). A store file keeps its entries in insertion order, as
 * vmafd's database lists them. Every change rewrites the file atomically
 * (temporary file, fsync, rename) under an exclusive flock of `.lock'.
 *
 * Errors: 0 / -1 with errno (ENOENT: no such store or alias; EEXIST: store or
 * alias exists; EINVAL: bad argument; EIO/EBADMSG: corrupt store file).
 */
#ifndef VECSDB_H
#define VECSDB_H

#include <stddef.h>

enum vecs_entry_type {
	VECS_ENTRY_PRIVATE_KEY = 1,
	VECS_ENTRY_SECRET_KEY = 2,
	VECS_ENTRY_TRUSTED_CERT = 3,
	VECS_ENTRY_CRL = 4,
	VECS_ENTRY_ENCRYPTED_PRIVATE_KEY = 5,
};

/* "Private Key", "Secret Key", "Trusted Cert", "Certification Revocation
 * List", "Encrypted Private Key". */
const char *vecs_entry_type_name(enum vecs_entry_type type);

struct vecs_entry {
	char                 *alias;   /* NUL-terminated, any bytes but NUL */
	enum vecs_entry_type  type;
	char                 *cert;    /* PEM as stored (cert chain or CRL), or NULL */
	size_t                cert_len;
	char                 *key;     /* PKCS#8 PEM, secret key bytes, or NULL */
	size_t                key_len;
};

struct vecs_store {
	char              *name;
	struct vecs_entry *entries;    /* insertion order */
	size_t             nentries;
	size_t             cap;
};

/* An exclusive lock over the whole VECS of a lab; -1 on failure. */
int  vecsdb_lock(const char *root);
void vecsdb_unlock(int lockfd);

/* Store names in creation order; free with vecsdb_names_free. */
int  vecsdb_store_names(const char *root, char ***out, size_t *n);
void vecsdb_names_free(char **names, size_t n);

int vecsdb_store_exists(const char *root, const char *name); /* 1, 0, -1 */
int vecsdb_store_create(const char *root, const char *name);
int vecsdb_store_delete(const char *root, const char *name);

/* Loads a store into memory (caller frees with vecs_store_free). */
int vecsdb_store_load(const char *root, const char *name,
    struct vecs_store **out);
/* Writes a loaded (and maybe changed) store back, atomically. */
int vecsdb_store_save(const char *root, const struct vecs_store *store);

/* In-memory operations on a loaded store. */
struct vecs_entry *vecs_store_find(const struct vecs_store *store,
    const char *alias);
/* Copies alias, cert and key. EEXIST when the alias exists. */
int  vecs_store_add(struct vecs_store *store, const char *alias,
    enum vecs_entry_type type, const char *cert, size_t cert_len,
    const char *key, size_t key_len);
int  vecs_store_remove(struct vecs_store *store, const char *alias);
void vecs_store_free(struct vecs_store *store);

#endif
