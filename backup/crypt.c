/*
 * crypt.c - deterministic authenticated encryption of backup secrets, and
 * the backup key file. See crypt.h.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "crypt.h"

#define KEY_HEX_LEN	(BK_KEY_LEN * 2)

static const char enc_label[] = "vcrotate-backup enc v1";
static const char iv_label[] = "vcrotate-backup iv v1";
static const char mac_label[] = "vcrotate-backup mac v1";
static const char id_label[] = "vcrotate-backup key id";

struct part {
	const void	*data;
	size_t		 len;
};

/* HMAC-SHA256 under key of the concatenation of n parts. */
static int
hmac(const unsigned char key[BK_KEY_LEN], const struct part *parts, size_t n,
    unsigned char out[32])
{
	char	 digest[] = "SHA256";
	OSSL_PARAM params[2];
	EVP_MAC	*mac = NULL;
	EVP_MAC_CTX *ctx = NULL;
	size_t	 i, outlen = 0;
	int	 ret = -1;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
	    (ctx = EVP_MAC_CTX_new(mac)) == NULL ||
	    !EVP_MAC_init(ctx, key, BK_KEY_LEN, params))
		goto out;
	for (i = 0; i < n; i++)
		if (parts[i].len > 0 &&
		    !EVP_MAC_update(ctx, parts[i].data, parts[i].len))
			goto out;
	if (!EVP_MAC_final(ctx, out, &outlen, 32) || outlen != 32)
		goto out;
	ret = 0;
out:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	ERR_clear_error();
	return ret;
}

/*
 * The two subkeys. Separate keys for the cipher and the nonce: the nonce
 * is a MAC of the plaintext, and it would be unwise to publish a MAC under
 * the encryption key.
 */
static int
subkeys(const unsigned char key[BK_KEY_LEN], unsigned char k_enc[32],
    unsigned char k_iv[32])
{
	struct part enc = { enc_label, sizeof(enc_label) - 1 };
	struct part iv = { iv_label, sizeof(iv_label) - 1 };

	if (hmac(key, &enc, 1, k_enc) == -1 || hmac(key, &iv, 1, k_iv) == -1) {
		OPENSSL_cleanse(k_enc, 32);
		OPENSSL_cleanse(k_iv, 32);
		return -1;
	}
	return 0;
}

int
bk_seal(const unsigned char key[BK_KEY_LEN], const char *path,
    const unsigned char *pt, size_t ptlen, struct buf *out)
{
	unsigned char k_enc[32], k_iv[32], mac[32];
	unsigned char *p;
	struct part parts[3];
	OSSL_PARAM params[2];
	EVP_CIPHER *cipher = NULL;
	EVP_CIPHER_CTX *ctx = NULL;
	size_t	 pathlen = strlen(path), start = out->len;
	int	 n, ret = -1;

	if (ptlen > INT_MAX || pathlen > INT_MAX) {
		errno = EFBIG;
		return -1;
	}
	if (buf_grow(out, BK_OVERHEAD + ptlen) == -1)
		return -1;
	if (subkeys(key, k_enc, k_iv) == -1)
		goto out;

	/*
	 * A synthetic nonce, as in SIV modes: a function of what is
	 * encrypted, so equal inputs give equal blobs, and two different
	 * plaintexts share a nonce only by a 96-bit collision. A path holds
	 * no NUL, so the 0x00 separates it from the plaintext unambiguously.
	 */
	parts[0].data = path;
	parts[0].len = pathlen;
	parts[1].data = "";
	parts[1].len = 1;
	parts[2].data = pt;
	parts[2].len = ptlen;
	if (hmac(k_iv, parts, 3, mac) == -1)
		goto out;

	p = (unsigned char *)out->data + start;
	memcpy(p, BK_MAGIC, BK_MAGIC_LEN);
	memcpy(p + BK_MAGIC_LEN, mac, BK_NONCE_LEN);
	if ((cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL)) == NULL ||
	    (ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    !EVP_EncryptInit_ex2(ctx, cipher, k_enc, mac, NULL) ||
	    (pathlen > 0 && !EVP_EncryptUpdate(ctx, NULL, &n,
	    (const unsigned char *)path, (int)pathlen)))
		goto out;
	if (ptlen > 0 && (!EVP_EncryptUpdate(ctx, p + BK_OVERHEAD, &n, pt,
	    (int)ptlen) || (size_t)n != ptlen))
		goto out;
	if (!EVP_EncryptFinal_ex(ctx, p + BK_OVERHEAD + ptlen, &n) || n != 0)
		goto out;
	params[0] = OSSL_PARAM_construct_octet_string(
	    OSSL_CIPHER_PARAM_AEAD_TAG, p + BK_MAGIC_LEN + BK_NONCE_LEN,
	    BK_TAG_LEN);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_CIPHER_CTX_get_params(ctx, params))
		goto out;
	out->len = start + BK_OVERHEAD + ptlen;
	out->data[out->len] = '\0';
	ret = 0;
out:
	if (ret == -1 && out->data != NULL)
		out->data[start] = '\0';
	OPENSSL_cleanse(k_enc, sizeof(k_enc));
	OPENSSL_cleanse(k_iv, sizeof(k_iv));
	OPENSSL_cleanse(mac, sizeof(mac));
	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(cipher);
	ERR_clear_error();
	return ret;
}

int
bk_open(const unsigned char key[BK_KEY_LEN], const char *path,
    const unsigned char *blob, size_t len, struct buf *out, struct buf *err)
{
	unsigned char k_enc[32], k_iv[32], tag[BK_TAG_LEN];
	unsigned char *p = NULL;
	OSSL_PARAM params[2];
	EVP_CIPHER *cipher = NULL;
	EVP_CIPHER_CTX *ctx = NULL;
	size_t	 pathlen = strlen(path), start = out->len, ctlen;
	int	 n, ret = -1;

	if (len < BK_OVERHEAD || memcmp(blob, BK_MAGIC, BK_MAGIC_LEN) != 0) {
		buf_printf(err, "%s: not an encrypted backup item", path);
		return -1;
	}
	ctlen = len - BK_OVERHEAD;
	if (ctlen > INT_MAX || pathlen > INT_MAX) {
		buf_printf(err, "cannot decrypt %s: too large", path);
		return -1;
	}
	if (buf_grow(out, ctlen) == -1) {
		buf_printf(err, "cannot decrypt %s: out of memory", path);
		return -1;
	}
	if (subkeys(key, k_enc, k_iv) == -1) {
		buf_printf(err, "cannot decrypt %s: OpenSSL failed", path);
		goto out;
	}
	/* The tag is set from a copy: the parameter wants a non-const
	 * pointer, and blob is the caller's. */
	memcpy(tag, blob + BK_MAGIC_LEN + BK_NONCE_LEN, BK_TAG_LEN);
	params[0] = OSSL_PARAM_construct_octet_string(
	    OSSL_CIPHER_PARAM_AEAD_TAG, tag, BK_TAG_LEN);
	params[1] = OSSL_PARAM_construct_end();
	p = (unsigned char *)out->data + start;
	if ((cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL)) == NULL ||
	    (ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    !EVP_DecryptInit_ex2(ctx, cipher, k_enc, blob + BK_MAGIC_LEN,
	    NULL) ||
	    (pathlen > 0 && !EVP_DecryptUpdate(ctx, NULL, &n,
	    (const unsigned char *)path, (int)pathlen)) ||
	    (ctlen > 0 && (!EVP_DecryptUpdate(ctx, p, &n, blob + BK_OVERHEAD,
	    (int)ctlen) || (size_t)n != ctlen)) ||
	    !EVP_CIPHER_CTX_set_params(ctx, params)) {
		buf_printf(err, "cannot decrypt %s: OpenSSL failed", path);
		goto out;
	}
	if (!EVP_DecryptFinal_ex(ctx, p + ctlen, &n) || n != 0) {
		buf_printf(err, "cannot decrypt %s: wrong backup key, or the "
		    "item was altered or moved", path);
		goto out;
	}
	out->len = start + ctlen;
	out->data[out->len] = '\0';
	ret = 0;
out:
	/* GCM hands out plaintext before the tag is checked: wipe it. */
	if (ret == -1 && p != NULL)
		OPENSSL_cleanse(p, ctlen + 1);
	if (ret == -1 && out->data != NULL)
		out->data[start] = '\0';
	OPENSSL_cleanse(k_enc, sizeof(k_enc));
	OPENSSL_cleanse(k_iv, sizeof(k_iv));
	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(cipher);
	ERR_clear_error();
	return ret;
}

void
bk_key_id(const unsigned char key[BK_KEY_LEN], char id[BK_KEY_ID_LEN + 1])
{
	static const char hexdig[] = "0123456789abcdef";
	struct part p = { id_label, sizeof(id_label) - 1 };
	unsigned char h[32];
	size_t	 i;

	if (hmac(key, &p, 1, h) == -1) {
		/* Never equal to a recorded id (those are hex). */
		snprintf(id, BK_KEY_ID_LEN + 1, "%s", "(unknown)");
		return;
	}
	for (i = 0; i < BK_KEY_ID_LEN / 2; i++) {
		id[2 * i] = hexdig[h[i] >> 4];
		id[2 * i + 1] = hexdig[h[i] & 0xf];
	}
	id[BK_KEY_ID_LEN] = '\0';
}

struct bk_mac {
	EVP_MAC		*mac;
	EVP_MAC_CTX	*ctx;
	int		 failed;
};

struct bk_mac *
bk_mac_new(const unsigned char key[BK_KEY_LEN])
{
	struct part p = { mac_label, sizeof(mac_label) - 1 };
	char	 digest[] = "SHA256";
	unsigned char k_mac[32];
	OSSL_PARAM params[2];
	struct bk_mac *m = NULL;

	if (hmac(key, &p, 1, k_mac) == -1 ||
	    (m = calloc(1, sizeof(*m))) == NULL)
		goto fail;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((m->mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
	    (m->ctx = EVP_MAC_CTX_new(m->mac)) == NULL ||
	    !EVP_MAC_init(m->ctx, k_mac, sizeof(k_mac), params))
		goto fail;
	OPENSSL_cleanse(k_mac, sizeof(k_mac));
	return m;
fail:
	OPENSSL_cleanse(k_mac, sizeof(k_mac));
	if (m != NULL) {
		EVP_MAC_CTX_free(m->ctx);
		EVP_MAC_free(m->mac);
		free(m);
	}
	ERR_clear_error();
	return NULL;
}

void
bk_mac_update(struct bk_mac *m, const void *data, size_t len)
{
	if (m == NULL || m->failed || len == 0)
		return;
	if (!EVP_MAC_update(m->ctx, data, len))
		m->failed = 1;
}

int
bk_mac_final(struct bk_mac *m, unsigned char out[BK_MAC_LEN])
{
	size_t	 outlen = 0;
	int	 ret = -1;

	if (m == NULL)
		return -1;
	if (!m->failed && EVP_MAC_final(m->ctx, out, &outlen, BK_MAC_LEN) &&
	    outlen == BK_MAC_LEN)
		ret = 0;
	/* The context holds the key: OpenSSL cleanses it on free. */
	EVP_MAC_CTX_free(m->ctx);
	EVP_MAC_free(m->mac);
	free(m);
	ERR_clear_error();
	if (ret == -1)
		OPENSSL_cleanse(out, BK_MAC_LEN);
	return ret;
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Checks the open key file fd and reads the key from it. */
static int
key_read(const char *path, int fd, unsigned char key[BK_KEY_LEN],
    struct buf *err)
{
	unsigned char text[KEY_HEX_LEN + 2];
	struct stat st;
	size_t	 got = 0, i;
	ssize_t	 r;
	int	 hi, lo, ret = -1;

	if (fstat(fd, &st) == -1) {
		buf_printf(err, "cannot stat backup key %s: %s", path,
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		buf_printf(err, "backup key %s is not a regular file (mode "
		    "%06o)", path, (unsigned)st.st_mode);
		goto out;
	}
	/* Checked before reading, so a key others could see is never used:
	 * better no backup than one whose secrets are readable anyway. */
	if (st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)) {
		buf_printf(err, "backup key %s has mode %04o: group or others "
		    "may read or write it (chmod 600 %s)", path,
		    (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	/* One byte more than a key and its newline, to see what follows. */
	while (got < sizeof(text)) {
		r = read(fd, text + got, sizeof(text) - got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			buf_printf(err, "cannot read backup key %s: %s", path,
			    strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	if (got == KEY_HEX_LEN + 1 && text[KEY_HEX_LEN] == '\n')
		got--;
	if (got != KEY_HEX_LEN)
		goto bad;
	for (i = 0; i < BK_KEY_LEN; i++) {
		if ((hi = hexval(text[2 * i])) == -1 ||
		    (lo = hexval(text[2 * i + 1])) == -1)
			goto bad;
		key[i] = (unsigned char)(hi << 4 | lo);
	}
	ret = 0;
	goto out;
bad:
	buf_printf(err, "backup key %s: not 64 hex digits", path);
out:
	OPENSSL_cleanse(text, sizeof(text));
	if (ret == -1)
		OPENSSL_cleanse(key, BK_KEY_LEN);
	return ret;
}

/* Syncs the folder holding path, so a new name in it survives a crash. */
static int
sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char	*dir = NULL;
	int	 fd = -1, ret = -1, saved;

	if (slash == NULL)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (dir == NULL)
		goto out;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fsync(fd) == -1)
		goto out;
	ret = 0;
out:
	saved = errno;
	if (fd != -1)
		close(fd);
	free(dir);
	errno = saved;
	return ret;
}

/*
 * Writes a new random key at path. 0: created; 1: a key file appeared at
 * path meanwhile (read that one); -1: error.
 */
static int
key_create(const char *path, unsigned char key[BK_KEY_LEN], struct buf *err)
{
	static const char hexdig[] = "0123456789abcdef";
	char	 text[KEY_HEX_LEN + 1];
	char	*tmp = NULL;
	size_t	 i;
	ssize_t	 w;
	int	 fd = -1, ret = -1;

	if (RAND_priv_bytes(key, BK_KEY_LEN) != 1) {
		ERR_clear_error();
		buf_printf(err, "cannot create backup key %s: no random "
		    "bytes", path);
		goto out;
	}
	for (i = 0; i < BK_KEY_LEN; i++) {
		text[2 * i] = hexdig[key[i] >> 4];
		text[2 * i + 1] = hexdig[key[i] & 0xf];
	}
	text[KEY_HEX_LEN] = '\n';
	if (asprintf(&tmp, "%s.XXXXXX", path) == -1) {
		tmp = NULL;
		buf_printf(err, "cannot create backup key %s: out of memory",
		    path);
		goto out;
	}
	/* mkostemp opens with O_EXCL; fchmod makes the mode 0600 whatever
	 * the umask. */
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		buf_printf(err, "cannot create %s: %s", tmp, strerror(errno));
		free(tmp);
		tmp = NULL;
		goto out;
	}
	if (fchmod(fd, S_IRUSR | S_IWUSR) == -1 ||
	    (w = write(fd, text, sizeof(text))) == -1 ||
	    (w != (ssize_t)sizeof(text) && (errno = ENOSPC) != 0) ||
	    fsync(fd) == -1) {
		buf_printf(err, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		buf_printf(err, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	/*
	 * link, not rename: rename would replace a key that another process
	 * created meanwhile, and whatever that one has sealed would be lost.
	 * link fails instead, and the caller reads the key that won.
	 */
	if (link(tmp, path) == -1) {
		if (errno == EEXIST)
			ret = 1;
		else
			buf_printf(err, "cannot create backup key %s: %s",
			    path, strerror(errno));
		goto out;
	}
	if (sync_dir(path) == -1) {
		buf_printf(err, "cannot sync the folder of backup key %s: %s",
		    path, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (fd != -1)
		close(fd);
	if (tmp != NULL)
		unlink(tmp);
	free(tmp);
	OPENSSL_cleanse(text, sizeof(text));
	if (ret != 0)
		OPENSSL_cleanse(key, BK_KEY_LEN);
	return ret;
}

int
bk_key_load(const char *path, unsigned char key[BK_KEY_LEN], int create,
    struct buf *err)
{
	int	 fd = -1, rc, ret = -1;

	/* O_NONBLOCK: a FIFO at path is refused, not waited on. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) == -1) {
		if (errno != ENOENT) {
			buf_printf(err, "cannot open backup key %s: %s", path,
			    strerror(errno));
			goto out;
		}
		if (!create) {
			buf_printf(err, "backup key %s is missing", path);
			goto out;
		}
		if ((rc = key_create(path, key, err)) != 1) {
			ret = rc;
			goto out;
		}
		if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
		    O_NONBLOCK)) == -1) {
			buf_printf(err, "cannot open backup key %s: %s", path,
			    strerror(errno));
			goto out;
		}
	}
	ret = key_read(path, fd, key, err);
out:
	if (fd != -1)
		close(fd);
	if (ret == -1)
		OPENSSL_cleanse(key, BK_KEY_LEN);
	return ret;
}
