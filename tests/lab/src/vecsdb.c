/*
 * vecsdb.c - the lab's VECS on disk (see vecsdb.h for the layout).
 *
 * Locking: nothing here but vecsdb_lock() takes the lock. A writer does its
 * whole read-modify-write (load, change, save; or create/delete) between
 * vecsdb_lock() and vecsdb_unlock(), so that two writers cannot lose each
 * other's changes. Readers need no lock: every file is replaced by an atomic
 * rename, so a reader sees either the old or the new file, never half of one.
 *
 * Store file format (all integers unsigned 32-bit big-endian):
 *
 *	magic     8 bytes "VECSLAB\0"
 *	version   u32 = 1
 *	namelen   u32, then namelen bytes of the store name (no NUL)
 *	nentries  u32
 *	nentries times:
 *		type      u32 (enum vecs_entry_type)
 *		flags     u32 (bit 0: has cert, bit 1: has key)
 *		aliaslen  u32, then the alias bytes (no NUL)
 *		certlen   u32, then the cert bytes (0 when no cert)
 *		keylen    u32, then the key bytes (0 when no key)
 *	digest    32 bytes, SHA-256 of everything before it
 *
 * The trailing digest makes a truncated or damaged file fail to load
 * (EBADMSG) instead of yielding a store with entries silently missing.
 */

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "labutil.h"
#include "vecsdb.h"

#define VECS_MAGIC		"VECSLAB"	/* 8 bytes with its NUL */
#define VECS_MAGIC_LEN		8
#define VECS_VERSION		1
#define VECS_DIGEST_LEN		32
#define VECS_HAS_CERT		0x1
#define VECS_HAS_KEY		0x2
/* Far above anything an appliance holds; they bound what a damaged file
 * can make us allocate. */
#define VECS_NAME_MAX		(64 * 1024)
#define VECS_BLOB_MAX		(16 * 1024 * 1024)
#define VECS_ENTRY_MIN		(5 * 4)
#define VECS_INDEX		"stores"
#define VECS_LOCK		".lock"

const char *
vecs_entry_type_name(enum vecs_entry_type type)
{
	switch (type) {
	case VECS_ENTRY_PRIVATE_KEY:
		return "Private Key";
	case VECS_ENTRY_SECRET_KEY:
		return "Secret Key";
	case VECS_ENTRY_TRUSTED_CERT:
		return "Trusted Cert";
	case VECS_ENTRY_CRL:
		return "Certification Revocation List";
	case VECS_ENTRY_ENCRYPTED_PRIVATE_KEY:
		return "Encrypted Private Key";
	}
	return "Unknown";
}

static int
valid_type(uint32_t type)
{
	return type >= VECS_ENTRY_PRIVATE_KEY &&
	    type <= VECS_ENTRY_ENCRYPTED_PRIVATE_KEY;
}

static char *
vecs_dir(const char *root)
{
	return lab_path(root, LAB_VECS_DIR);
}

static char *
vecs_file(const char *root, const char *file)
{
	char	*dir = NULL, *path = NULL;

	if ((dir = vecs_dir(root)) == NULL)
		goto out;
	path = lab_path(dir, file);
out:
	free(dir);
	return path;
}

/* The store's file: lowercase hex SHA-256 of its name. */
static char *
store_file(const char *root, const char *name)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0;
	char		 file[2 * EVP_MAX_MD_SIZE + 1];

	if (EVP_Digest(name, strlen(name), md, &mdlen, EVP_sha256(),
	    NULL) != 1) {
		errno = EIO;
		return NULL;
	}
	lab_hex(md, mdlen, file);
	return vecs_file(root, file);
}

static int
check_name(const char *name)
{
	size_t	len;

	if (name == NULL || (len = strlen(name)) == 0 || len > VECS_NAME_MAX) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/*
 * The VECS folder is private (keys live there) but the folders above it
 * belong to the rest of the lab, as on the appliance.
 */
static int
make_vecs_dir(const char *dir)
{
	char	*parent = NULL, *slash;
	int	 rc = -1;

	if ((parent = strdup(dir)) == NULL)
		return -1;
	if ((slash = strrchr(parent, '/')) != NULL && slash != parent) {
		*slash = '\0';
		if (lab_mkdirs(parent, 0755) == -1)
			goto out;
	}
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		goto out;
	rc = 0;
out:
	free(parent);
	return rc;
}

int
vecsdb_lock(const char *root)
{
	char	*dir = NULL, *path = NULL;
	int	 fd = -1;

	if ((dir = vecs_dir(root)) == NULL ||
	    (path = vecs_file(root, VECS_LOCK)) == NULL)
		goto out;
	if (make_vecs_dir(dir) == -1)
		goto out;
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1)
		goto out;
	while (flock(fd, LOCK_EX) == -1) {
		if (errno != EINTR) {
			int	 saved = errno;

			close(fd);
			fd = -1;
			errno = saved;
			goto out;
		}
	}
out:
	free(dir);
	free(path);
	return fd;
}

void
vecsdb_unlock(int lockfd)
{
	if (lockfd >= 0)
		close(lockfd);	/* closing drops the flock */
}

/*
 * The index writes control bytes, space, bytes from 0x7f up and '%' as %XX,
 * so that every name takes exactly one line whatever it holds.
 */
static int
index_escape(FILE *f, const char *name)
{
	const unsigned char	*p;

	for (p = (const unsigned char *)name; *p != '\0'; p++) {
		if (*p <= 0x20 || *p >= 0x7f || *p == '%') {
			if (fprintf(f, "%%%02X", *p) < 0)
				return -1;
		} else if (fputc(*p, f) == EOF)
			return -1;
	}
	return fputc('\n', f) == EOF ? -1 : 0;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Unescapes line[0..len) into a new string; NULL/EBADMSG when malformed. */
static char *
index_unescape(const char *line, size_t len)
{
	char	*name = NULL;
	size_t	 i, j = 0;
	int	 hi, lo;

	if (len == 0 || len > 3 * VECS_NAME_MAX) {
		errno = EBADMSG;
		return NULL;
	}
	if ((name = malloc(len + 1)) == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		if (line[i] != '%') {
			name[j++] = line[i];
			continue;
		}
		if (len - i < 3 || (hi = hexval(line[i + 1])) == -1 ||
		    (lo = hexval(line[i + 2])) == -1 || (hi == 0 && lo == 0)) {
			free(name);
			errno = EBADMSG;
			return NULL;
		}
		name[j++] = (char)(hi << 4 | lo);
		i += 2;
	}
	name[j] = '\0';
	return name;
}

void
vecsdb_names_free(char **names, size_t n)
{
	size_t	i;

	if (names == NULL)
		return;
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int
vecsdb_store_names(const char *root, char ***out, size_t *n)
{
	char	*path = NULL, *buf = NULL, **names = NULL, **tmp;
	char	*p, *end, *nl;
	size_t	 len = 0, count = 0, cap = 0;
	int	 rc = -1;

	*out = NULL;
	*n = 0;
	if ((path = vecs_file(root, VECS_INDEX)) == NULL)
		goto out;
	if (lab_read_file(path, &buf, &len) == -1) {
		if (errno == ENOENT)
			rc = 0;		/* no store created yet */
		goto out;
	}
	for (p = buf, end = buf + len; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', end - p)) == NULL) {
			errno = EBADMSG;	/* truncated last line */
			goto out;
		}
		if (count == cap) {
			cap = cap ? cap * 2 : 16;
			if ((tmp = reallocarray(names, cap,
			    sizeof(*names))) == NULL)
				goto out;
			names = tmp;
		}
		if ((names[count] = index_unescape(p, nl - p)) == NULL)
			goto out;
		count++;
	}
	*out = names;
	*n = count;
	names = NULL;
	rc = 0;
out:
	vecsdb_names_free(names, count);
	free(path);
	free(buf);
	return rc;
}

static int
write_index(const char *root, char **names, size_t n)
{
	FILE	*f = NULL;
	char	*path = NULL, *buf = NULL;
	size_t	 len = 0, i;
	int	 rc = -1;

	if ((path = vecs_file(root, VECS_INDEX)) == NULL)
		goto out;
	if ((f = open_memstream(&buf, &len)) == NULL)
		goto out;
	for (i = 0; i < n; i++)
		if (index_escape(f, names[i]) == -1)
			goto out;
	if (fclose(f) == EOF) {
		f = NULL;
		goto out;
	}
	f = NULL;
	rc = lab_write_file_atomic(path, buf, len, 0600);
out:
	if (f != NULL)
		fclose(f);
	free(buf);
	free(path);
	return rc;
}

static int
find_name(char **names, size_t n, const char *name)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return (int)i;
	return -1;
}

int
vecsdb_store_exists(const char *root, const char *name)
{
	char	**names = NULL;
	size_t	  n = 0;
	int	  rc;

	if (check_name(name) == -1)
		return -1;
	if (vecsdb_store_names(root, &names, &n) == -1)
		return -1;
	rc = find_name(names, n, name) >= 0;
	vecsdb_names_free(names, n);
	return rc;
}

/* Serialises a store into a new buffer (caller cleanses and frees). */
static int
serialise(const struct vecs_store *store, unsigned char **out, size_t *outlen)
{
	unsigned char	*buf = NULL, *p;
	size_t		 len, i, namelen;
	unsigned int	 mdlen = 0;

#define PUT32(v) do {							\
	uint32_t v_ = (uint32_t)(v);					\
	*p++ = v_ >> 24; *p++ = v_ >> 16; *p++ = v_ >> 8; *p++ = v_;	\
} while (0)
#define PUTBYTES(b, l) do {						\
	if ((l) > 0)							\
		memcpy(p, (b), (l));					\
	p += (l);							\
} while (0)

	*out = NULL;
	*outlen = 0;
	if (check_name(store->name) == -1)
		return -1;
	namelen = strlen(store->name);
	if (store->nentries > UINT32_MAX) {
		errno = EINVAL;
		return -1;
	}
	len = VECS_MAGIC_LEN + 4 + 4 + namelen + 4;
	for (i = 0; i < store->nentries; i++) {
		const struct vecs_entry *e = &store->entries[i];

		if (!valid_type(e->type) || check_name(e->alias) == -1 ||
		    (e->cert != NULL && e->cert_len > VECS_BLOB_MAX) ||
		    (e->key != NULL && e->key_len > VECS_BLOB_MAX)) {
			errno = EINVAL;
			return -1;
		}
		len += VECS_ENTRY_MIN + strlen(e->alias) +
		    (e->cert ? e->cert_len : 0) + (e->key ? e->key_len : 0);
	}
	len += VECS_DIGEST_LEN;
	if ((buf = malloc(len)) == NULL)
		return -1;
	p = buf;
	PUTBYTES(VECS_MAGIC, VECS_MAGIC_LEN);
	PUT32(VECS_VERSION);
	PUT32(namelen);
	PUTBYTES(store->name, namelen);
	PUT32(store->nentries);
	for (i = 0; i < store->nentries; i++) {
		const struct vecs_entry *e = &store->entries[i];
		size_t	aliaslen = strlen(e->alias);
		size_t	certlen = e->cert ? e->cert_len : 0;
		size_t	keylen = e->key ? e->key_len : 0;

		PUT32(e->type);
		PUT32((e->cert ? VECS_HAS_CERT : 0) | (e->key ? VECS_HAS_KEY : 0));
		PUT32(aliaslen);
		PUTBYTES(e->alias, aliaslen);
		PUT32(certlen);
		PUTBYTES(e->cert, certlen);
		PUT32(keylen);
		PUTBYTES(e->key, keylen);
	}
#undef PUT32
#undef PUTBYTES
	if (EVP_Digest(buf, p - buf, p, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != VECS_DIGEST_LEN) {
		lab_free_secret(buf, len);
		errno = EIO;
		return -1;
	}
	*out = buf;
	*outlen = len;
	return 0;
}

/* A bounded reader over the file's bytes. */
struct reader {
	const unsigned char	*p;
	size_t			 left;
};

static int
get32(struct reader *r, uint32_t *v)
{
	if (r->left < 4)
		return -1;
	*v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 |
	    (uint32_t)r->p[2] << 8 | r->p[3];
	r->p += 4;
	r->left -= 4;
	return 0;
}

/*
 * A length-prefixed byte string as a new NUL-terminated buffer. With
 * `text', embedded NULs are refused (names and aliases are C strings).
 */
static int
getbytes(struct reader *r, size_t max, int text, char **out, size_t *outlen)
{
	uint32_t	 len;
	char		*s = NULL;

	*out = NULL;
	if (get32(r, &len) == -1 || len > max || len > r->left)
		return -1;
	if (text && memchr(r->p, '\0', len) != NULL)
		return -1;
	if ((s = malloc((size_t)len + 1)) == NULL)
		return -1;
	memcpy(s, r->p, len);
	s[len] = '\0';
	r->p += len;
	r->left -= len;
	*out = s;
	if (outlen != NULL)
		*outlen = len;
	return 0;
}

static void
entry_clear(struct vecs_entry *e)
{
	free(e->alias);
	free(e->cert);
	lab_free_secret(e->key, e->key_len);
	memset(e, 0, sizeof(*e));
}

static int
parse(const unsigned char *buf, size_t len, const char *name,
    struct vecs_store **out)
{
	struct vecs_store	*s = NULL;
	struct reader		 r;
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0;
	uint32_t		 version, n, type, flags;
	size_t			 i;
	int			 rc = -1;

	*out = NULL;
	errno = 0;
	if (len < VECS_MAGIC_LEN + 4 + 4 + 4 + VECS_DIGEST_LEN ||
	    memcmp(buf, VECS_MAGIC, VECS_MAGIC_LEN) != 0)
		goto out;
	if (EVP_Digest(buf, len - VECS_DIGEST_LEN, md, &mdlen, EVP_sha256(),
	    NULL) != 1 || mdlen != VECS_DIGEST_LEN ||
	    memcmp(md, buf + len - VECS_DIGEST_LEN, VECS_DIGEST_LEN) != 0)
		goto out;
	r.p = buf + VECS_MAGIC_LEN;
	r.left = len - VECS_MAGIC_LEN - VECS_DIGEST_LEN;
	if (get32(&r, &version) == -1 || version != VECS_VERSION)
		goto out;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		goto out;
	if (getbytes(&r, VECS_NAME_MAX, 1, &s->name, NULL) == -1)
		goto out;
	/* A file under another store's name was copied or renamed here. */
	if (strcmp(s->name, name) != 0)
		goto out;
	if (get32(&r, &n) == -1 || n > r.left / VECS_ENTRY_MIN)
		goto out;
	if (n > 0 && (s->entries = calloc(n, sizeof(*s->entries))) == NULL)
		goto out;
	s->cap = n;
	for (i = 0; i < n; i++) {
		struct vecs_entry *e = &s->entries[i];

		if (get32(&r, &type) == -1 || !valid_type(type) ||
		    get32(&r, &flags) == -1 ||
		    (flags & ~(uint32_t)(VECS_HAS_CERT | VECS_HAS_KEY)) != 0)
			goto out;
		s->nentries = i + 1;	/* so that out: frees it */
		e->type = type;
		if (getbytes(&r, VECS_NAME_MAX, 1, &e->alias, NULL) == -1 ||
		    e->alias[0] == '\0' ||
		    getbytes(&r, VECS_BLOB_MAX, 0, &e->cert, &e->cert_len) == -1 ||
		    getbytes(&r, VECS_BLOB_MAX, 0, &e->key, &e->key_len) == -1)
			goto out;
		if (!(flags & VECS_HAS_CERT)) {
			if (e->cert_len != 0)
				goto out;
			free(e->cert);
			e->cert = NULL;
		}
		if (!(flags & VECS_HAS_KEY)) {
			if (e->key_len != 0)
				goto out;
			free(e->key);
			e->key = NULL;
		}
	}
	if (r.left != 0)
		goto out;
	*out = s;
	s = NULL;
	rc = 0;
out:
	vecs_store_free(s);
	/* Anything but a failed allocation means the file is damaged. */
	if (rc == -1 && errno != ENOMEM)
		errno = EBADMSG;
	return rc;
}

int
vecsdb_store_create(const char *root, const char *name)
{
	struct vecs_store	 s;
	char			**names = NULL, **tmp, *dir = NULL, *path = NULL;
	unsigned char		*buf = NULL;
	size_t			 n = 0, len = 0;
	int			 rc = -1;

	if (check_name(name) == -1)
		return -1;
	if (vecsdb_store_names(root, &names, &n) == -1)
		goto out;
	if (find_name(names, n, name) >= 0) {
		errno = EEXIST;
		goto out;
	}
	memset(&s, 0, sizeof(s));
	s.name = (char *)name;
	if (serialise(&s, &buf, &len) == -1)
		goto out;
	if ((dir = vecs_dir(root)) == NULL ||
	    (path = store_file(root, name)) == NULL)
		goto out;
	if (make_vecs_dir(dir) == -1)
		goto out;
	/*
	 * The store's file first, then the index: a crash in between leaves
	 * a file no index line names, which the next create overwrites.
	 */
	if (lab_write_file_atomic(path, buf, len, 0600) == -1)
		goto out;
	if ((tmp = reallocarray(names, n + 1, sizeof(*names))) == NULL)
		goto out;
	names = tmp;
	if ((names[n] = strdup(name)) == NULL)
		goto out;
	n++;
	rc = write_index(root, names, n);
out:
	vecsdb_names_free(names, n);
	free(buf);
	free(dir);
	free(path);
	return rc;
}

int
vecsdb_store_delete(const char *root, const char *name)
{
	char	**names = NULL, *path = NULL;
	size_t	  n = 0;
	int	  i, rc = -1;

	if (check_name(name) == -1)
		return -1;
	if (vecsdb_store_names(root, &names, &n) == -1)
		goto out;
	if ((i = find_name(names, n, name)) == -1) {
		errno = ENOENT;
		goto out;
	}
	if ((path = store_file(root, name)) == NULL)
		goto out;
	free(names[i]);
	memmove(&names[i], &names[i + 1], (n - i - 1) * sizeof(*names));
	n--;
	/* Index first: once the name is gone the store is gone, whatever
	 * happens to its file afterwards. */
	if (write_index(root, names, n) == -1)
		goto out;
	if (unlink(path) == -1 && errno != ENOENT)
		goto out;
	rc = 0;
out:
	vecsdb_names_free(names, n);
	free(path);
	return rc;
}

/* 0 when the index lists the store, else -1 (ENOENT when it does not). */
static int
store_must_exist(const char *root, const char *name)
{
	int	exists;

	if ((exists = vecsdb_store_exists(root, name)) == -1)
		return -1;
	if (!exists) {
		errno = ENOENT;
		return -1;
	}
	return 0;
}

int
vecsdb_store_load(const char *root, const char *name, struct vecs_store **out)
{
	char	*path = NULL, *buf = NULL;
	size_t	 len = 0;
	int	 rc = -1;

	*out = NULL;
	if (store_must_exist(root, name) == -1)
		goto out;
	if ((path = store_file(root, name)) == NULL)
		goto out;
	if (lab_read_file(path, &buf, &len) == -1) {
		/* Listed in the index but without a file: damaged. */
		if (errno == ENOENT)
			errno = EBADMSG;
		goto out;
	}
	rc = parse((unsigned char *)buf, len, name, out);
out:
	lab_free_secret(buf, len);
	free(path);
	return rc;
}

int
vecsdb_store_save(const char *root, const struct vecs_store *store)
{
	char		*path = NULL;
	unsigned char	*buf = NULL;
	size_t		 len = 0;
	int		 rc = -1;

	if (store == NULL) {
		errno = EINVAL;
		return -1;
	}
	/* Saving must not bring back a store deleted since it was loaded. */
	if (store_must_exist(root, store->name) == -1)
		goto out;
	if (serialise(store, &buf, &len) == -1)
		goto out;
	if ((path = store_file(root, store->name)) == NULL)
		goto out;
	rc = lab_write_file_atomic(path, buf, len, 0600);
out:
	lab_free_secret(buf, len);
	free(path);
	return rc;
}

struct vecs_entry *
vecs_store_find(const struct vecs_store *store, const char *alias)
{
	size_t	i;

	if (store == NULL || alias == NULL)
		return NULL;
	for (i = 0; i < store->nentries; i++)
		if (strcmp(store->entries[i].alias, alias) == 0)
			return &store->entries[i];
	return NULL;
}

static char *
blobdup(const char *b, size_t len)
{
	char	*p;

	if ((p = malloc(len + 1)) == NULL)
		return NULL;
	if (len > 0)
		memcpy(p, b, len);
	p[len] = '\0';
	return p;
}

int
vecs_store_add(struct vecs_store *store, const char *alias,
    enum vecs_entry_type type, const char *cert, size_t cert_len,
    const char *key, size_t key_len)
{
	struct vecs_entry	 e, *tmp;
	size_t			 cap;

	memset(&e, 0, sizeof(e));
	if (store == NULL || check_name(alias) == -1 || !valid_type(type) ||
	    (cert != NULL && cert_len > VECS_BLOB_MAX) ||
	    (key != NULL && key_len > VECS_BLOB_MAX)) {
		errno = EINVAL;
		return -1;
	}
	if (vecs_store_find(store, alias) != NULL) {
		errno = EEXIST;
		return -1;
	}
	if (store->nentries == store->cap) {
		cap = store->cap ? store->cap * 2 : 16;
		if ((tmp = reallocarray(store->entries, cap,
		    sizeof(*tmp))) == NULL)
			return -1;
		store->entries = tmp;
		store->cap = cap;
	}
	e.type = type;
	if ((e.alias = strdup(alias)) == NULL)
		goto out;
	if (cert != NULL) {
		if ((e.cert = blobdup(cert, cert_len)) == NULL)
			goto out;
		e.cert_len = cert_len;
	}
	if (key != NULL) {
		if ((e.key = blobdup(key, key_len)) == NULL)
			goto out;
		e.key_len = key_len;
	}
	store->entries[store->nentries++] = e;
	return 0;
out:
	entry_clear(&e);
	return -1;
}

int
vecs_store_remove(struct vecs_store *store, const char *alias)
{
	struct vecs_entry	*e;
	size_t			 i;

	if ((e = vecs_store_find(store, alias)) == NULL) {
		errno = ENOENT;
		return -1;
	}
	i = e - store->entries;
	entry_clear(e);
	memmove(&store->entries[i], &store->entries[i + 1],
	    (store->nentries - i - 1) * sizeof(*store->entries));
	store->nentries--;
	return 0;
}

void
vecs_store_free(struct vecs_store *store)
{
	size_t	i;

	if (store == NULL)
		return;
	for (i = 0; i < store->nentries; i++)
		entry_clear(&store->entries[i]);
	free(store->entries);
	free(store->name);
	free(store);
}
