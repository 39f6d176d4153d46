/*
 * test_backup.c - unit tests of the backup's building blocks: the sealing
 * of secrets (crypt.c), the key id and the snapshot MAC's key (crypt.c),
 * the backup key file, the escaping of names into tree entries
 * (names.c), the pairing of two states' units (units.c) and the entries a
 * snapshot records as absent (state.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "appliance.h"
#include "buf.h"
#include "crypt.h"
#include "names.h"
#include "state.h"
#include "units.h"

static const unsigned char key1[BK_KEY_LEN] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
	0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};
static const unsigned char key2[BK_KEY_LEN] = { 0x01 };

static const char secret[] =
    "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n"
    "-----END PRIVATE KEY-----\n";
static const char kpath[] = "vecs/MACHINE_SSL_CERT/__MACHINE_CERT/key";

static void
seal(const unsigned char *key, const char *path, const char *pt, size_t len,
    struct buf *out)
{
	assert_int_equal(bk_seal(key, path, (const unsigned char *)pt, len,
	    out), 0);
}

static int
try_open(const unsigned char *key, const char *path, const struct buf *blob,
    size_t len, struct buf *err)
{
	struct buf pt = BUF_INIT;
	int	 rc;

	buf_reset(err);
	rc = bk_open(key, path, (const unsigned char *)blob->data, len, &pt,
	    err);
	if (rc == -1)
		assert_int_equal(pt.len, 0);
	buf_free_secret(&pt);
	return rc;
}

static void
test_seal_round_trip(void **state)
{
	struct buf blob = BUF_INIT, pt = BUF_INIT, err = BUF_INIT;

	(void)state;
	seal(key1, kpath, secret, strlen(secret), &blob);
	assert_int_equal(blob.len, BK_OVERHEAD + strlen(secret));
	assert_memory_equal(blob.data, "VCRBK1\n", 7);
	/* The plaintext does not show in the blob. */
	assert_null(memmem(blob.data, blob.len, "PRIVATE", 7));
	assert_int_equal(bk_open(key1, kpath, (unsigned char *)blob.data,
	    blob.len, &pt, &err), 0);
	assert_int_equal(pt.len, strlen(secret));
	assert_memory_equal(pt.data, secret, pt.len);
	assert_int_equal(err.len, 0);
	buf_free_secret(&pt);
	buf_free(&blob);
	buf_free(&err);
}

static void
test_seal_known_answer(void **state)
{
	/* Computed from the description in crypt.h with Python's
	 * hmac/hashlib and cryptography's AESGCM, not with this code: the
	 * format of blobs already in repositories must never drift. */
	static const char want[] =
	    "VCRBK1\n"
	    "\xff\x33\xc2\x00\xbd\x12\xcc\x59\x59\x08\x13\xc0"
	    "\x53\x24\xf5\x32\xa3\x38\x24\x25\xa7\xac\x65\xbb"
	    "\x80\x12\x82\x1c"
	    "\x2f\x7d\xdb\x69\x35\x85\x03\x17\x70\x20\x58\xea\x24"
	    "\x1c";
	struct buf blob = BUF_INIT;

	(void)state;
	seal(key1, "vmca/privatekey.pem", "hello, backup\n", 14, &blob);
	assert_int_equal(blob.len, sizeof(want) - 1);
	assert_memory_equal(blob.data, want, blob.len);
	buf_free(&blob);
}

static void
test_seal_is_deterministic(void **state)
{
	struct buf a = BUF_INIT, b = BUF_INIT, c = BUF_INIT, d = BUF_INIT;
	struct buf e = BUF_INIT;

	(void)state;
	seal(key1, kpath, secret, strlen(secret), &a);
	seal(key1, kpath, secret, strlen(secret), &b);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);

	/* Another path: another nonce, so nothing in common but the magic. */
	seal(key1, "vecs/MACHINE_SSL_CERT/other/key", secret, strlen(secret),
	    &c);
	assert_int_equal(a.len, c.len);
	assert_memory_not_equal(a.data + BK_MAGIC_LEN,
	    c.data + BK_MAGIC_LEN, BK_NONCE_LEN);
	assert_memory_not_equal(a.data + BK_OVERHEAD, c.data + BK_OVERHEAD,
	    a.len - BK_OVERHEAD);

	/* One byte of plaintext changed: another nonce too. */
	seal(key1, kpath, secret, strlen(secret) - 1, &d);
	seal(key1, kpath, "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0"
	    "BAQEFAASD\n-----END PRIVATE KEY-----\n", strlen(secret), &e);
	assert_int_equal(a.len, e.len);
	assert_memory_not_equal(a.data + BK_MAGIC_LEN,
	    e.data + BK_MAGIC_LEN, BK_NONCE_LEN);
	assert_memory_not_equal(a.data + BK_OVERHEAD, e.data + BK_OVERHEAD,
	    a.len - BK_OVERHEAD);
	assert_memory_not_equal(a.data + BK_MAGIC_LEN,
	    d.data + BK_MAGIC_LEN, BK_NONCE_LEN);

	/* Another key: another blob. */
	buf_reset(&b);
	seal(key2, kpath, secret, strlen(secret), &b);
	assert_memory_not_equal(a.data + BK_MAGIC_LEN, b.data + BK_MAGIC_LEN,
	    a.len - BK_MAGIC_LEN);
	buf_free(&a);
	buf_free(&b);
	buf_free(&c);
	buf_free(&d);
	buf_free(&e);
}

static void
test_seal_appends(void **state)
{
	struct buf out = BUF_INIT, blob = BUF_INIT, pt = BUF_INIT;
	struct buf err = BUF_INIT;

	(void)state;
	buf_puts(&out, "head");
	seal(key1, kpath, secret, strlen(secret), &out);
	seal(key1, kpath, secret, strlen(secret), &blob);
	assert_int_equal(out.len, 4 + blob.len);
	assert_memory_equal(out.data + 4, blob.data, blob.len);
	buf_puts(&pt, "x");
	assert_int_equal(bk_open(key1, kpath, (unsigned char *)blob.data,
	    blob.len, &pt, &err), 0);
	assert_int_equal(pt.len, 1 + strlen(secret));
	assert_string_equal(pt.data + 1, secret);
	/* A failure leaves out as it was. */
	assert_int_equal(bk_open(key2, kpath, (unsigned char *)blob.data,
	    blob.len, &pt, &err), -1);
	assert_int_equal(pt.len, 1 + strlen(secret));
	assert_string_equal(pt.data + 1, secret);
	buf_free(&out);
	buf_free(&blob);
	buf_free_secret(&pt);
	buf_free(&err);
}

static void
test_open_under_another_path_fails(void **state)
{
	struct buf blob = BUF_INIT, err = BUF_INIT;

	(void)state;
	seal(key1, kpath, secret, strlen(secret), &blob);
	assert_int_equal(try_open(key1, "vecs/MACHINE_SSL_CERT/other/key",
	    &blob, blob.len, &err), -1);
	assert_string_equal(err.data, "cannot decrypt "
	    "vecs/MACHINE_SSL_CERT/other/key: wrong backup key, or the item "
	    "was altered or moved");
	assert_int_equal(try_open(key1, "", &blob, blob.len, &err), -1);
	assert_int_equal(try_open(key1, kpath, &blob, blob.len, &err), 0);
	buf_free(&blob);
	buf_free(&err);
}

static void
test_flipped_byte_fails(void **state)
{
	struct buf blob = BUF_INIT, err = BUF_INIT;
	size_t	 i;
	int	 bit;

	(void)state;
	seal(key1, kpath, secret, strlen(secret), &blob);
	for (i = 0; i < blob.len; i++) {
		for (bit = 0; bit < 8; bit++) {
			blob.data[i] ^= (char)(1 << bit);
			assert_int_equal(try_open(key1, kpath, &blob,
			    blob.len, &err), -1);
			assert_non_null(strstr(err.data, i < BK_MAGIC_LEN ?
			    "not an encrypted backup item" :
			    "wrong backup key, or the item was altered"));
			blob.data[i] ^= (char)(1 << bit);
		}
	}
	assert_int_equal(try_open(key1, kpath, &blob, blob.len, &err), 0);
	buf_free(&blob);
	buf_free(&err);
}

static void
test_wrong_key_fails(void **state)
{
	struct buf blob = BUF_INIT, err = BUF_INIT;
	unsigned char k[BK_KEY_LEN];

	(void)state;
	seal(key1, kpath, secret, strlen(secret), &blob);
	assert_int_equal(try_open(key2, kpath, &blob, blob.len, &err), -1);
	assert_non_null(strstr(err.data, "wrong backup key"));
	/* One bit off is as wrong as any other key. */
	memcpy(k, key1, sizeof(k));
	k[31] ^= 0x80;
	assert_int_equal(try_open(k, kpath, &blob, blob.len, &err), -1);
	buf_free(&blob);
	buf_free(&err);
}

static void
test_truncated_or_extended_blob_fails(void **state)
{
	struct buf blob = BUF_INIT, err = BUF_INIT;
	size_t	 n;

	(void)state;
	seal(key1, kpath, secret, strlen(secret), &blob);
	for (n = 0; n < blob.len; n++) {
		assert_int_equal(try_open(key1, kpath, &blob, n, &err), -1);
		assert_non_null(strstr(err.data, n < BK_OVERHEAD ?
		    "not an encrypted backup item" : "wrong backup key"));
	}
	buf_putc(&blob, '\0');
	assert_int_equal(try_open(key1, kpath, &blob, blob.len, &err), -1);
	/* Not a blob at all: a plaintext key committed by mistake. */
	buf_reset(&blob);
	buf_puts(&blob, secret);
	assert_int_equal(try_open(key1, kpath, &blob, blob.len, &err), -1);
	assert_string_equal(err.data, "vecs/MACHINE_SSL_CERT/__MACHINE_CERT/"
	    "key: not an encrypted backup item");
	buf_free(&blob);
	buf_free(&err);
}

static void
test_empty_plaintext(void **state)
{
	struct buf blob = BUF_INIT, blob2 = BUF_INIT, pt = BUF_INIT;
	struct buf err = BUF_INIT;

	(void)state;
	assert_int_equal(bk_seal(key1, kpath, NULL, 0, &blob), 0);
	assert_int_equal(blob.len, BK_OVERHEAD);
	seal(key1, kpath, "", 0, &blob2);
	assert_memory_equal(blob.data, blob2.data, blob.len);
	assert_int_equal(bk_open(key1, kpath, (unsigned char *)blob.data,
	    blob.len, &pt, &err), 0);
	assert_int_equal(pt.len, 0);
	assert_string_equal(buf_str(&pt), "");
	/* The tag still covers the path and the key. */
	assert_int_equal(try_open(key2, kpath, &blob, blob.len, &err), -1);
	assert_int_equal(try_open(key1, "x", &blob, blob.len, &err), -1);
	/* An empty plaintext at an empty path, for completeness. */
	buf_reset(&blob);
	assert_int_equal(bk_seal(key1, "", NULL, 0, &blob), 0);
	assert_int_equal(try_open(key1, "", &blob, blob.len, &err), 0);
	buf_free_secret(&pt);
	buf_free(&blob);
	buf_free(&blob2);
	buf_free(&err);
}

/* A scratch folder for key files, removed by rm_dir. */
static char *
mk_dir(void)
{
	char	*d = strdup("/tmp/test_backup.XXXXXX");

	assert_non_null(d);
	assert_non_null(mkdtemp(d));
	return d;
}

static void
rm_dir(char *d)
{
	char	 cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	assert_int_equal(system(cmd), 0);
	free(d);
}

static char *
in_dir(const char *d, const char *name)
{
	char	*p = NULL;

	assert_true(asprintf(&p, "%s/%s", d, name) != -1);
	return p;
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	int	 fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd != -1);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(close(fd), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static size_t
count_entries(const char *d)
{
	char	 cmd[256], line[32];
	FILE	*f;

	snprintf(cmd, sizeof(cmd), "ls -A '%s' | wc -l", d);
	assert_non_null(f = popen(cmd, "r"));
	assert_non_null(fgets(line, sizeof(line), f));
	assert_int_equal(pclose(f), 0);
	return (size_t)strtoul(line, NULL, 10);
}

static void
test_key_created(void **state)
{
	unsigned char k[BK_KEY_LEN], k2[BK_KEY_LEN], zero[BK_KEY_LEN] = { 0 };
	char	*d = mk_dir(), *path = in_dir(d, "backup.key");
	char	 text[80];
	struct buf err = BUF_INIT;
	struct stat st;
	ssize_t	 n;
	size_t	 i;
	int	 fd;

	(void)state;
	assert_int_equal(bk_key_load(path, k, 1, &err), 0);
	assert_int_equal(err.len, 0);
	assert_memory_not_equal(k, zero, sizeof(k));
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	/* No temporary file left behind. */
	assert_int_equal(count_entries(d), 1);

	assert_true((fd = open(path, O_RDONLY)) != -1);
	n = read(fd, text, sizeof(text));
	close(fd);
	assert_int_equal(n, 65);
	assert_int_equal(text[64], '\n');
	for (i = 0; i < 64; i++)
		assert_non_null(strchr("0123456789abcdef", text[i]));
	for (i = 0; i < BK_KEY_LEN; i++) {
		char	 hx[3];

		snprintf(hx, sizeof(hx), "%02x", k[i]);
		assert_memory_equal(text + 2 * i, hx, 2);
	}

	/* Loaded again, with or without create: the same key. */
	assert_int_equal(bk_key_load(path, k2, 0, &err), 0);
	assert_memory_equal(k, k2, sizeof(k));
	assert_int_equal(bk_key_load(path, k2, 1, &err), 0);
	assert_memory_equal(k, k2, sizeof(k));

	/* A second key elsewhere is another key. */
	free(path);
	path = in_dir(d, "other.key");
	assert_int_equal(bk_key_load(path, k2, 1, &err), 0);
	assert_memory_not_equal(k, k2, sizeof(k));

	free(path);
	buf_free(&err);
	rm_dir(d);
}

static void
test_key_missing(void **state)
{
	unsigned char k[BK_KEY_LEN];
	char	*d = mk_dir(), *path = in_dir(d, "backup.key");
	char	*msg = NULL;
	struct buf err = BUF_INIT;

	(void)state;
	assert_int_equal(bk_key_load(path, k, 0, &err), -1);
	assert_true(asprintf(&msg, "backup key %s is missing", path) != -1);
	assert_string_equal(err.data, msg);
	/* Nothing was created. */
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(count_entries(d), 0);
	free(msg);
	free(path);
	buf_free(&err);
	rm_dir(d);
}

static void
test_key_refused(void **state)
{
	static const char good[] =
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
	static const char *const bad[] = {
		"",
		"\n",
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e\n",
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f0\n",
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n\n",
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g\n",
		" 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\r\n",
	};
	unsigned char k[BK_KEY_LEN];
	char	*d = mk_dir(), *path = in_dir(d, "backup.key");
	char	*msg = NULL;
	struct buf err = BUF_INIT;
	struct stat st;
	size_t	 i;

	(void)state;
	write_file(path, good, 0600);
	assert_int_equal(bk_key_load(path, k, 0, &err), 0);
	assert_memory_equal(k, key1, sizeof(k));
	/* Upper case and a missing newline are accepted. */
	write_file(path, "000102030405060708090A0B0C0D0E0F10111213141516171819"
	    "1A1B1C1D1E1F", 0600);
	assert_int_equal(bk_key_load(path, k, 0, &err), 0);
	assert_memory_equal(k, key1, sizeof(k));

	/* Readable by others: refused, even with create, and kept. */
	write_file(path, good, 0644);
	buf_reset(&err);
	assert_int_equal(bk_key_load(path, k, 1, &err), -1);
	assert_true(asprintf(&msg, "backup key %s has mode 0644: group or "
	    "others may read or write it (chmod 600 %s)", path, path) != -1);
	assert_string_equal(err.data, msg);
	free(msg);
	for (i = 0; i < sizeof(k); i++)
		assert_int_equal(k[i], 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(st.st_size, 65);
	write_file(path, good, 0640);
	buf_reset(&err);
	assert_int_equal(bk_key_load(path, k, 0, &err), -1);
	assert_non_null(strstr(err.data, "mode 0640"));
	write_file(path, good, 0602);
	buf_reset(&err);
	assert_int_equal(bk_key_load(path, k, 0, &err), -1);
	assert_non_null(strstr(err.data, "mode 0602"));
	write_file(path, good, 0400);
	assert_int_equal(bk_key_load(path, k, 0, &err), 0);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(path, bad[i], 0600);
		buf_reset(&err);
		assert_int_equal(bk_key_load(path, k, 1, &err), -1);
		assert_true(asprintf(&msg, "backup key %s: not 64 hex digits",
		    path) != -1);
		assert_string_equal(err.data, msg);
		free(msg);
	}

	/* Not a regular file. */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	buf_reset(&err);
	assert_int_equal(bk_key_load(path, k, 1, &err), -1);
	assert_non_null(strstr(err.data, "is not a regular file"));
	assert_non_null(strstr(err.data, path));
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(mkfifo(path, 0600), 0);
	buf_reset(&err);
	assert_int_equal(bk_key_load(path, k, 1, &err), -1);
	assert_non_null(strstr(err.data, "is not a regular file"));

	free(path);
	buf_free(&err);
	rm_dir(d);
}

/* Escapes, checks the shape of the result, unescapes, and compares. */
static char *
round_trip(const char *raw, size_t len)
{
	char	*e, *back = NULL, *again;
	size_t	 blen;

	assert_non_null(e = bk_name_escape(raw, len));
	assert_true(e[0] != '\0');
	assert_true(e[0] != '.');
	assert_null(strchr(e, '/'));
	assert_int_equal(bk_name_unescape(e, &back, &blen), 0);
	assert_int_equal(blen, len);
	if (len > 0)
		assert_memory_equal(back, raw, len);
	assert_int_equal(back[blen], '\0');
	assert_non_null(again = bk_name_escape(back, blen));
	assert_string_equal(again, e);
	free(again);
	free(back);
	return e;
}

static void
expect_escape(const char *raw, const char *want)
{
	char	*e = round_trip(raw, strlen(raw));

	assert_string_equal(e, want);
	free(e);
}

static void
test_escape_round_trips(void **state)
{
	char	 all[256], *big, *e;
	size_t	 i;

	(void)state;
	expect_escape("", "%%");
	expect_escape(".", "%2E");
	expect_escape("..", "%2E.");
	expect_escape(".git", "%2Egit");
	expect_escape("a/b", "a%2Fb");
	expect_escape("../../etc/passwd", "%2E.%2F..%2Fetc%2Fpasswd");
	expect_escape("__MACHINE_CERT", "__MACHINE_CERT");
	expect_escape("cn=TenantCredential-1,cn=vsphere.local",
	    "cn%3DTenantCredential-1%2Ccn%3Dvsphere.local");
	expect_escape("@alias", "%40alias");
	expect_escape("100%", "100%25");
	expect_escape("with spaces", "with%20spaces");
	expect_escape("\xc3\xa9t\xc3\xa9", "%C3%A9t%C3%A9");
	expect_escape("a.", "a.");
	expect_escape("GIT~1", "GIT%7E1");

	e = round_trip("\0", 1);
	assert_string_equal(e, "%00");
	free(e);

	for (i = 0; i < sizeof(all); i++)
		all[i] = (char)i;
	free(round_trip(all, sizeof(all)));
	/* Every byte alone, first and second. */
	for (i = 0; i < sizeof(all); i++) {
		char	 two[2] = { 'x', (char)i };

		free(round_trip(all + i, 1));
		free(round_trip(two, 2));
	}

	/* A long alias: longer than any file name, fine in a tree. */
	assert_non_null(big = malloc(4096));
	for (i = 0; i < 4096; i++)
		big[i] = (char)(i % 3 == 0 ? '/' : 'a' + i % 26);
	e = round_trip(big, 4096);
	assert_true(strlen(e) > 4096);
	free(e);
	free(big);
}

static void
test_unescape_rejects(void **state)
{
	static const char *const bad[] = {
		"%2f", "%", "%G0", "a/b", ".hidden", "%41", "", "%2", "a%",
		"%2E%2E", "a%2E", "%%x", "x%%", "%%%%", "%5F", "%2D", "%7a",
		"a b", "a\xff", "%0g", ".", "..", ".git", "a@b", "%e9",
	};
	char	*raw = (char *)"sentinel";
	size_t	 i, len = 7;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		raw = (char *)"sentinel";
		assert_int_equal(bk_name_unescape(bad[i], &raw, &len), -1);
		assert_null(raw);
	}
	/* What escaping produces is accepted. */
	assert_int_equal(bk_name_unescape("%2E.", &raw, &len), 0);
	assert_int_equal(len, 2);
	assert_string_equal(raw, "..");
	free(raw);
	assert_int_equal(bk_name_unescape("%%", &raw, &len), 0);
	assert_int_equal(len, 0);
	assert_string_equal(raw, "");
	free(raw);
}

/*
 * The key id and the MAC key are derived as docs/backup.md says: known
 * answers computed with openssl mac (HMAC under the 00..1f key), so that
 * neither can drift from what repositories already hold.
 */
static void
test_key_id_and_mac(void **state)
{
	static const unsigned char want[BK_MAC_LEN] = {
		0xfd, 0xb8, 0x2d, 0x14, 0x7d, 0x4f, 0xda, 0xdc,
		0xe1, 0x22, 0xfa, 0x80, 0x33, 0xf3, 0xa6, 0xf7,
		0x82, 0x3c, 0x3a, 0xcd, 0x0d, 0x67, 0xad, 0x3c,
		0x4a, 0x2d, 0xda, 0x20, 0x4b, 0xc1, 0x06, 0x6d,
	};
	unsigned char got[BK_MAC_LEN];
	char	 id[BK_KEY_ID_LEN + 1], id2[BK_KEY_ID_LEN + 1];
	struct bk_mac *m;

	(void)state;
	bk_key_id(key1, id);
	assert_string_equal(id, "9b59eeefc4492c10");
	bk_key_id(key2, id2);
	assert_string_not_equal(id, id2);
	/* HMAC-SHA256(k_mac, "abc"), in two updates. */
	assert_non_null(m = bk_mac_new(key1));
	bk_mac_update(m, "a", 1);
	bk_mac_update(m, "bc", 2);
	assert_int_equal(bk_mac_final(m, got), 0);
	assert_memory_equal(got, want, sizeof(want));
	/* Another key, another MAC. */
	assert_non_null(m = bk_mac_new(key2));
	bk_mac_update(m, "abc", 3);
	assert_int_equal(bk_mac_final(m, got), 0);
	assert_memory_not_equal(got, want, sizeof(want));
	assert_int_equal(bk_mac_final(NULL, got), -1);
}

/* st holds one TRUSTED_ROOTS entry per alias (escaped), its @alias and
 * type items, in path order. */
static void
roots(struct bk_state *st, const char *const *aliases)
{
	char	 path[256], *e;
	size_t	 i;

	memset(st, 0, sizeof(*st));
	for (i = 0; aliases[i] != NULL; i++) {
		assert_non_null(e = bk_name_escape(aliases[i],
		    strlen(aliases[i])));
		snprintf(path, sizeof(path), "vecs/TRUSTED_ROOTS/%s/@alias", e);
		assert_int_equal(bk_state_add(st, path, aliases[i],
		    strlen(aliases[i]), 0), 0);
		snprintf(path, sizeof(path), "vecs/TRUSTED_ROOTS/%s/type", e);
		assert_int_equal(bk_state_add(st, path, "Trusted Cert", 12, 0),
		    0);
		free(e);
	}
	assert_int_equal(bk_state_sort(st), 0);
}

/* How many units a merge walk of a and b finds in one only. */
static size_t
walk(const struct unit *a, size_t na, const struct unit *b, size_t nb)
{
	size_t	 i = 0, j = 0, n = 0;

	while (i < na || j < nb) {
		int	 c = i >= na ? 1 : j >= nb ? -1 :
		    unit_cmp(&a[i], &b[j]);

		n += c != 0;
		i += c <= 0;
		j += c >= 0;
	}
	return n;
}

/* Aliases that extend one another ("-", "." and an escaped byte after a
 * common prefix sort before "/" in item paths) pair one for one. */
static void
test_units_pair_exactly(void **state)
{
	static const char *const a[] = { "corp-root", "corp-root-2",
	    "corp-root.old", "corp-root 3", "corp.root", NULL };
	static const char *const b[] = { "corp-root", "corp-root-2",
	    "corp-root.zz", "corp-root 3", "corp.root", NULL };
	struct bk_state sa, sb;
	struct unit *ua, *ub;
	const struct unit *f;
	char	*name;
	size_t	 na, nb, i;

	(void)state;
	roots(&sa, a);
	roots(&sb, b);
	assert_non_null(ua = units_of(&sa, &na));
	assert_non_null(ub = units_of(&sb, &nb));
	assert_int_equal(na, 5);
	assert_int_equal(nb, 5);
	for (i = 1; i < na; i++)
		assert_true(unit_cmp(&ua[i - 1], &ua[i]) < 0);
	for (i = 0; i < na; i++) {
		assert_int_equal(ua[i].n, 2);
		f = unit_find(ub, nb, &ua[i]);
		assert_non_null(name = unit_name(&ua[i]));
		if (strcmp(name, "TRUSTED_ROOTS/corp-root.old") == 0)
			assert_null(f);
		else {
			assert_non_null(f);
			assert_int_equal(f->plen, ua[i].plen);
			assert_memory_equal(f->prefix, ua[i].prefix, f->plen);
			assert_true(unit_equal(f, &ua[i]));
		}
		free(name);
	}
	/* corp-root.old only in a, corp-root.zz only in b. */
	assert_int_equal(walk(ua, na, ub, nb), 2);
	assert_int_equal(walk(ua, na, ua, na), 0);
	free(ua);
	free(ub);
	bk_state_free(&sa);
	bk_state_free(&sb);
}

#define DDN	"dc=vsphere,dc=local"
#define SP	"cn=ServicePrincipals," DDN
#define TENANT	"cn=vsphere.local,cn=Tenants,cn=IdentityManager," \
		"cn=Services," DDN

/* The entries a plan adds are recorded absent in the group that would read
 * them, once; entries that exist, or that no group reads, are not. */
static void
test_state_add_absent(void **state)
{
	struct appliance app = { .domain = "vsphere.local", .domain_dn = DDN };
	const char *dns[] = {
		"cn=vpxd-M," SP,
		"cn=vpxd-M," SP,				/* twice */
		"cn=machine-M," SP,				/* exists */
		"cn=TrustedCertChain-1,cn=TrustedCertificateChains," TENANT,
		"cn=a,cn=b," SP,				/* too deep */
		"cn=x\\,cn=y," SP,				/* escaped , */
		"cn=(key id),cn=Certificate-Authorities,cn=Configuration",
	};
	struct bk_state st;
	struct buf err = BUF_INIT;
	struct unit *u;
	const struct bk_item *it;
	char	*esc, path[512];
	size_t	 n, i, absent = 0;

	(void)state;
	memset(&st, 0, sizeof(st));
	assert_non_null(esc = bk_name_escape(dns[2], strlen(dns[2])));
	snprintf(path, sizeof(path), "vmdir/principals/%s/@dn", esc);
	free(esc);
	assert_int_equal(bk_state_add(&st, path, dns[2], strlen(dns[2]), 0), 0);
	assert_int_equal(bk_state_sort(&st), 0);
	assert_int_equal(bk_state_add_absent(&st, &app, dns,
	    sizeof(dns) / sizeof(dns[0]), &err), 0);
	assert_int_equal(st.n, 4);
	for (i = 1; i < st.n; i++)
		assert_true(strcmp(st.items[i - 1].path, st.items[i].path) < 0);
	assert_non_null(esc = bk_name_escape(dns[0], strlen(dns[0])));
	snprintf(path, sizeof(path), "vmdir/principals/%s/@absent", esc);
	free(esc);
	assert_non_null(it = bk_state_get(&st, path));
	assert_int_equal(it->len, strlen(dns[0]));
	assert_memory_equal(it->data, dns[0], it->len);
	assert_non_null(esc = bk_name_escape(dns[3], strlen(dns[3])));
	snprintf(path, sizeof(path), "vmdir/sts/%s/@absent", esc);
	free(esc);
	assert_non_null(bk_state_get(&st, path));
	/* As units: recorded absent, named by the DN, no entry to compare. */
	assert_non_null(u = units_of(&st, &n));
	assert_int_equal(n, 4);
	for (i = 0; i < n; i++) {
		char	*name = unit_name(&u[i]);

		assert_non_null(name);
		if (unit_absent(&u[i])) {
			absent++;
			assert_null(unit_present(&u[i]));
			assert_true(strcmp(name, dns[0]) == 0 ||
			    strcmp(name, dns[3]) == 0 ||
			    strcmp(name, dns[5]) == 0);
			assert_false(unit_differs(u, n, NULL, 0, &u[i]));
		} else {
			assert_string_equal(name, dns[2]);
			assert_true(unit_differs(u, n, NULL, 0, &u[i]));
		}
		free(name);
	}
	assert_int_equal(absent, 3);
	free(u);
	bk_state_free(&st);
	buf_free(&err);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seal_round_trip),
		cmocka_unit_test(test_seal_known_answer),
		cmocka_unit_test(test_seal_is_deterministic),
		cmocka_unit_test(test_seal_appends),
		cmocka_unit_test(test_open_under_another_path_fails),
		cmocka_unit_test(test_flipped_byte_fails),
		cmocka_unit_test(test_wrong_key_fails),
		cmocka_unit_test(test_truncated_or_extended_blob_fails),
		cmocka_unit_test(test_empty_plaintext),
		cmocka_unit_test(test_key_created),
		cmocka_unit_test(test_key_missing),
		cmocka_unit_test(test_key_refused),
		cmocka_unit_test(test_escape_round_trips),
		cmocka_unit_test(test_unescape_rejects),
		cmocka_unit_test(test_key_id_and_mac),
		cmocka_unit_test(test_units_pair_exactly),
		cmocka_unit_test(test_state_add_absent),
	};

	return cmocka_run_group_tests_name("backup", tests, NULL, NULL);
}
