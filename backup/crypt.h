/*
 * crypt.h - encryption of the secret items of a backup (private keys,
 * secret keys, the STS signing key) before they go into a git repository.
 *
 * The encryption is deterministic: one key, one path and one plaintext
 * always give the same blob. A secret that did not change between two
 * snapshots is then the same git blob, so the history only grows when
 * something changed, and "what changed" can be read from the trees without
 * the key. What this leaks is exactly that: whether the secret at a path is
 * the same as before. Equal secrets at two different paths give unrelated
 * blobs.
 *
 * Blob format (all of it, nothing around it):
 *
 *   "VCRBK1\n"   7 bytes of magic
 *   nonce        12 bytes
 *   tag          16 bytes, the AES-256-GCM tag
 *   ciphertext   as long as the plaintext
 *
 * with k_enc = HMAC-SHA256(key, "vcrotate-backup enc v1"),
 *      k_iv  = HMAC-SHA256(key, "vcrotate-backup iv v1"),
 *      nonce = HMAC-SHA256(k_iv, path || 0x00 || plaintext)[0..11],
 * AES-256-GCM under k_enc with that nonce and the path as additional
 * authenticated data: a blob copied to another path does not open.
 *
 * The key is 32 bytes kept in a file of its own, outside the repository.
 */
#ifndef VCR_BK_CRYPT_H
#define VCR_BK_CRYPT_H

#include <stddef.h>

#include "buf.h"

#define BK_KEY_LEN	32
#define BK_MAGIC	"VCRBK1\n"
#define BK_MAGIC_LEN	7
#define BK_NONCE_LEN	12
#define BK_TAG_LEN	16
#define BK_OVERHEAD	(BK_MAGIC_LEN + BK_NONCE_LEN + BK_TAG_LEN)
#define BK_KEY_ID_LEN	16	/* hex digits */
#define BK_MAC_LEN	32

/*
 * Reads the backup key at path: 64 hex digits and a newline (a missing
 * newline and upper-case digits are accepted). The file must be a regular
 * file that neither group nor others may read or write.
 *
 * When the file does not exist: with create != 0 a new random key is
 * written there (mode 0600; written under a temporary name, synced, then
 * linked into place so an existing key is never replaced); with create == 0
 * it is an error. Callers pass 0 when a repository already exists, so that
 * its key is never silently replaced by a new one.
 *
 * 0, or -1 with err saying why (key is then wiped).
 */
int bk_key_load(const char *path, unsigned char key[BK_KEY_LEN], int create,
    struct buf *err);

/*
 * Encrypts plaintext pt (ptlen bytes, pt may be NULL when ptlen is 0) to
 * be stored at path, and appends the blob to out. 0, or -1 (out of memory,
 * an OpenSSL failure, an input over INT_MAX bytes) with out as it was.
 */
int bk_seal(const unsigned char key[BK_KEY_LEN], const char *path,
    const unsigned char *pt, size_t ptlen, struct buf *out);

/*
 * Checks and decrypts a blob read at path, and appends the plaintext to out
 * (a secret: free it with buf_free_secret). 0, or -1 with err saying why and
 * out as it was: "not an encrypted backup item" when the blob is not in the
 * format above, "cannot decrypt PATH: ..." when the key is wrong or the blob
 * was altered or moved from another path.
 */
int bk_open(const unsigned char key[BK_KEY_LEN], const char *path,
    const unsigned char *blob, size_t len, struct buf *out, struct buf *err);

/*
 * The key's id: the first 16 hex digits of HMAC-SHA256(key, "vcrotate-backup
 * key id"), recorded in every snapshot commit so that a replaced key is
 * named as such. It says which key, and nothing of the key.
 */
void bk_key_id(const unsigned char key[BK_KEY_LEN],
    char id[BK_KEY_ID_LEN + 1]);

/*
 * The MAC of a whole snapshot (repo.c says over what): HMAC-SHA256 under
 * k_mac = HMAC-SHA256(key, "vcrotate-backup mac v1"), a key of its own,
 * apart from the sealing keys. bk_mac_new returns NULL when OpenSSL fails;
 * bk_mac_update may be given a NULL context (it then does nothing) and
 * bk_mac_final fails for it (-1), so a caller checks once, at the end.
 * bk_mac_final frees the context, whatever it returns.
 */
struct bk_mac;
struct bk_mac *bk_mac_new(const unsigned char key[BK_KEY_LEN]);
void bk_mac_update(struct bk_mac *m, const void *data, size_t len);
int  bk_mac_final(struct bk_mac *m, unsigned char out[BK_MAC_LEN]);

#endif
