/*
 * pack.c - a snapshot's new objects as one pack. See pack.h.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>
#include <git2/sys/odb_backend.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "pack.h"

/* Bytes gathered before they go to the indexer. */
#define PACK_CHUNK	(1 << 20)

struct packer {
	git_odb_writepack *wp;
	git_indexer_progress stats;
	EVP_MD_CTX	*sha1;		/* the pack's trailing checksum */
	struct buf	 out;
	struct buf	*err;
};

/* Hands what was gathered to the indexer. */
static int
flush(struct packer *p)
{
	if (p->out.len == 0)
		return 0;
	if (p->wp->append(p->wp, p->out.data, p->out.len, &p->stats) != 0) {
		const git_error *e = git_error_last();

		buf_printf(p->err, "writing a pack: %s", e != NULL ?
		    e->message : "the indexer refused it");
		return -1;
	}
	buf_reset(&p->out);
	return 0;
}

/* Adds bytes to the pack (and to its checksum). */
static int
put(struct packer *p, const void *data, size_t len)
{
	if (!EVP_DigestUpdate(p->sha1, data, len) ||
	    buf_add(&p->out, data, len) == -1) {
		buf_printf(p->err, "out of memory");
		return -1;
	}
	return p->out.len >= PACK_CHUNK ? flush(p) : 0;
}

/* An object's header: its type and size, seven bits a byte after the
 * first four (git's pack format). */
static size_t
obj_header(unsigned char *h, git_object_t type, size_t size)
{
	unsigned char c = (unsigned char)(((unsigned)type << 4) | (size & 0x0f));
	size_t	 n = 0;

	for (size >>= 4; size != 0; size >>= 7) {
		h[n++] = c | 0x80;
		c = size & 0x7f;
	}
	h[n++] = c;
	return n;
}

static int
put_object(struct packer *p, git_odb *src, const git_oid *id)
{
	git_odb_object *obj = NULL;
	unsigned char h[16], *z = NULL;
	uLongf	 zlen;
	size_t	 len;
	int	 ret = -1;

	if (git_odb_read(&obj, src, id) != 0) {
		buf_printf(p->err, "object %s: cannot be read",
		    git_oid_tostr_s(id));
		return -1;
	}
	len = git_odb_object_size(obj);
	zlen = compressBound((uLong)len);
	if ((z = malloc(zlen)) == NULL) {
		buf_printf(p->err, "out of memory");
		goto out;
	}
	if (compress2(z, &zlen, git_odb_object_data(obj), (uLong)len,
	    Z_BEST_SPEED) != Z_OK) {
		buf_printf(p->err, "object %s: cannot be compressed",
		    git_oid_tostr_s(id));
		goto out;
	}
	if (put(p, h, obj_header(h, git_odb_object_type(obj), len)) == -1 ||
	    put(p, z, zlen) == -1)
		goto out;
	ret = 0;
out:
	free(z);
	git_odb_object_free(obj);
	return ret;
}

int
bk_pack_write(git_odb *dst, git_odb *src, const git_oid *ids, size_t n,
    struct buf *err)
{
	struct packer p;
	unsigned char head[12] = { 'P', 'A', 'C', 'K', 0, 0, 0, 2 };
	unsigned char sum[EVP_MAX_MD_SIZE];
	unsigned int sumlen = 0;
	size_t	 i;
	int	 ret = -1;

	memset(&p, 0, sizeof(p));
	p.err = err;
	if (n > UINT32_MAX) {
		buf_printf(err, "too many objects for one pack");
		return -1;
	}
	head[8] = (unsigned char)(n >> 24);
	head[9] = (unsigned char)(n >> 16);
	head[10] = (unsigned char)(n >> 8);
	head[11] = (unsigned char)n;
	if ((p.sha1 = EVP_MD_CTX_new()) == NULL ||
	    !EVP_DigestInit_ex(p.sha1, EVP_sha1(), NULL)) {
		buf_printf(err, "out of memory");
		goto out;
	}
	if (git_odb_write_pack(&p.wp, dst, NULL, NULL) != 0) {
		buf_printf(err, "writing a pack: %s", git_error_last() != NULL ?
		    git_error_last()->message : "cannot start one");
		goto out;
	}
	if (put(&p, head, sizeof(head)) == -1)
		goto out;
	for (i = 0; i < n; i++)
		if (put_object(&p, src, &ids[i]) == -1)
			goto out;
	if (!EVP_DigestFinal_ex(p.sha1, sum, &sumlen) ||
	    buf_add(&p.out, sum, sumlen) == -1 || flush(&p) == -1)
		goto out;
	if (p.wp->commit(p.wp, &p.stats) != 0) {
		buf_printf(err, "writing a pack: %s", git_error_last() != NULL ?
		    git_error_last()->message : "the indexer refused it");
		goto out;
	}
	ret = 0;
out:
	if (p.wp != NULL)
		p.wp->free(p.wp);
	EVP_MD_CTX_free(p.sha1);
	buf_free(&p.out);
	return ret;
}
