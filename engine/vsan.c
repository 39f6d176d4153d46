/*
 * vsan.c - vsan-health's copy of vpxd-extension. See vsan.h.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "appliance.h"
#include "cert.h"
#include "fileio.h"
#include "inventory.h"
#include "vsan.h"


int
vsan_present(const char *root)
{
	return app_exists(root, APP_VSAN_CERT) &&
	    app_exists(root, APP_VSAN_KEY);
}

/* The whole of ROOT/rel into out; 0, or -1 with err naming it. */
static int
read_rel(const char *root, const char *rel, struct buf *out,
    struct buf *err)
{
	char	*path = app_path(root, rel);
	int	 ret;

	if (path == NULL) {
		buf_printf(err, "out of memory");
		return -1;
	}
	ret = file_read(path, out, err);
	free(path);
	return ret;
}

void
vsan_read(struct inventory *inv, const char *root)
{
	struct buf cert = BUF_INIT, key = BUF_INIT;
	STACK_OF(X509) *sk = NULL;
	EVP_PKEY *pk = NULL;
	const char *why;

	inv->vsan_key_match = -1;
	if (!(inv->vsan_present = vsan_present(root)))
		return;
	if (read_rel(root, APP_VSAN_CERT, &cert, &inv->vsan_error) == -1)
		goto out;
	inventory_digest_bytes(cert.data, cert.len, inv->vsan_digest);
	if (cert_parse_pem_chain(buf_str(&cert), cert.len, &sk, &why) == -1) {
		buf_printf(&inv->vsan_error, "%s: %s", VSAN_CERT_FILE, why);
		goto out;
	}
	inv->vsan_cert = sk_X509_shift(sk);
	if (read_rel(root, APP_VSAN_KEY, &key, &inv->vsan_error) == -1)
		goto out;
	if (cert_parse_key((const unsigned char *)key.data, key.len, &pk,
	    &why) == -1) {
		buf_printf(&inv->vsan_error, "%s: not a private key",
		    VSAN_KEY_FILE);
		goto out;
	}
	inv->vsan_key_match = cert_key_matches(inv->vsan_cert, pk);
out:
	EVP_PKEY_free(pk);
	sk_X509_pop_free(sk, X509_free);
	buf_free(&cert);
	buf_free_secret(&key);
}

int
vsan_write_file(const char *root, const char *rel, const void *data,
    size_t len, struct buf *err)
{
	struct stat st;
	char	*path = app_path(root, rel);
	mode_t	 mode = strcmp(rel, APP_VSAN_KEY) == 0 ? 0600 : 0644;
	uid_t	 uid = (uid_t)-1;
	gid_t	 gid = (gid_t)-1;
	int	 ret;

	if (path == NULL) {
		buf_printf(err, "out of memory");
		return -1;
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISREG(st.st_mode)) {
			buf_printf(err, "%s: not a regular file: left alone",
			    path);
			free(path);
			return -1;
		}
		mode = st.st_mode & 07777;
		uid = st.st_uid;
		gid = st.st_gid;
	} else if (errno != ENOENT) {
		buf_printf(err, "%s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	ret = file_write_atomic_owned(path, data, len, mode, uid, gid, err);
	free(path);
	return ret;
}

int
vsan_write(const char *root, const struct buf *cert, const struct buf *key,
    struct buf *err)
{
	if (vsan_write_file(root, APP_VSAN_KEY, key->data, key->len,
	    err) == -1 ||
	    vsan_write_file(root, APP_VSAN_CERT, cert->data, cert->len,
	    err) == -1)
		return -1;
	return 0;
}
