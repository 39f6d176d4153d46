/*
 * journal.c - the transaction journal. See journal.h.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "appliance.h"
#include "fault.h"
#include "fileio.h"
#include "journal.h"
#include "names.h"

#define SUM_LEN	8

char *
journal_path(const char *root)
{
	char	*dir = app_path(root, APP_VCROTATE_TMP), *p = NULL;

	if (dir != NULL && asprintf(&p, "%s/journal", dir) == -1)
		p = NULL;
	free(dir);
	return p;
}

/* The words of a record as one line, checksum and newline included. Each
 * word is escaped as a tree-entry name is (names.h): never empty, no space,
 * no control byte, one form only. */
static int
encode(const char *const *words, size_t n, struct buf *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	size_t	 i, start = out->len;
	char	*w;
	int	 rc;

	for (i = 0; i < n; i++) {
		if ((w = bk_name_escape(words[i], strlen(words[i]))) == NULL)
			return -1;
		rc = buf_printf(out, "%s%s", i > 0 ? " " : "", w);
		free(w);
		if (rc == -1)
			return -1;
	}
	if (!EVP_Digest(out->data + start, out->len - start, md, &mdlen,
	    EVP_sha256(), NULL))
		return -1;
	return buf_printf(out, "\t%02x%02x%02x%02x\n", md[0], md[1], md[2],
	    md[3]);
}

static void
record_free(struct journal_record *r)
{
	size_t	 i;

	for (i = 0; i < r->n; i++)
		free(r->words[i]);
	free(r->words);
	r->words = NULL;
	r->n = 0;
}

static int
push(struct journal *j, struct journal_record *r)
{
	struct journal_record *nr;

	if ((nr = reallocarray(j->recs, j->nrecs + 1, sizeof(*nr))) == NULL)
		return -1;
	j->recs = nr;
	j->recs[j->nrecs++] = *r;
	return 0;
}

int
journal_add(struct journal *j, const char *const *words, size_t n)
{
	struct journal_record r = { NULL, 0 };

	if ((r.words = calloc(n, sizeof(*r.words))) == NULL)
		return -1;
	for (r.n = 0; r.n < n; r.n++)
		if ((r.words[r.n] = strdup(words[r.n])) == NULL) {
			record_free(&r);
			return -1;
		}
	if (push(j, &r) == -1) {
		record_free(&r);
		return -1;
	}
	return 0;
}

/* One line (without its newline) into r; -1 when it is not a record. */
static int
decode(const char *line, size_t len, struct journal_record *r)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	const char *tab = memchr(line, '\t', len);
	char	 sum[SUM_LEN + 1], *text = NULL, *w, *save = NULL, *raw, **nw;
	size_t	 rawlen;

	r->words = NULL;
	r->n = 0;
	if (tab == NULL || tab == line ||
	    (size_t)(line + len - tab) != SUM_LEN + 1 ||
	    !EVP_Digest(line, (size_t)(tab - line), md, &mdlen, EVP_sha256(),
	    NULL))
		return -1;
	snprintf(sum, sizeof(sum), "%02x%02x%02x%02x", md[0], md[1], md[2],
	    md[3]);
	if (memcmp(sum, tab + 1, SUM_LEN) != 0 ||
	    (text = strndup(line, (size_t)(tab - line))) == NULL)
		return -1;
	/* Single spaces between words: an empty word is "%%", never "". */
	if (text[0] == ' ' || text[strlen(text) - 1] == ' ' ||
	    strstr(text, "  ") != NULL)
		goto fail;
	for (w = strtok_r(text, " ", &save); w != NULL;
	    w = strtok_r(NULL, " ", &save)) {
		if (bk_name_unescape(w, &raw, &rawlen) == -1)
			goto fail;
		if (rawlen != strlen(raw) || (nw = reallocarray(r->words,
		    r->n + 1, sizeof(*nw))) == NULL) {
			free(raw);
			goto fail;
		}
		r->words = nw;
		r->words[r->n++] = raw;
	}
	free(text);
	return 0;
fail:
	free(text);
	record_free(r);
	return -1;
}

static int
open_append(struct journal *j, struct buf *err)
{
	if ((j->fd = open(j->path, O_WRONLY | O_APPEND | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		buf_printf(err, "%s: %s", j->path, strerror(errno));
		return -1;
	}
	return 0;
}

int
journal_create(struct journal *j, const char *root, struct buf *err)
{
	struct buf text = BUF_INIT;
	struct stat st;
	size_t	 i;
	int	 ret = -1;

	j->fd = -1;
	if (j->path == NULL && (j->path = journal_path(root)) == NULL) {
		buf_printf(err, "out of memory");
		return -1;
	}
	if (lstat(j->path, &st) == 0) {
		buf_printf(err, "%s: a journal is already there", j->path);
		return -1;
	}
	for (i = 0; i < j->nrecs; i++)
		if (encode((const char *const *)j->recs[i].words,
		    j->recs[i].n, &text) == -1) {
			buf_printf(err, "out of memory");
			goto out;
		}
	/* Written whole, fsynced, renamed into place, directory fsynced:
	 * there is no moment with half a journal. */
	if (file_write_atomic(j->path, text.data, text.len, 0600, err) == -1 ||
	    open_append(j, err) == -1)
		goto out;
	j->good_len = text.len;
	ret = 0;
out:
	buf_free(&text);
	return ret;
}

int
journal_append(struct journal *j, const char *const *words, size_t n,
    struct buf *err)
{
	struct buf line = BUF_INIT;
	ssize_t	 w;
	int	 ret = -1;

	if (encode(words, n, &line) == -1 || journal_add(j, words, n) == -1) {
		buf_printf(err, "out of memory");
		goto out;
	}
	if (fault_point("journal append", err) == -1)
		goto out;
	/* A torn line left by a crash goes first: appended to, it would
	 * become a damaged line in the middle of the journal. */
	if (j->torn && (ftruncate(j->fd, (off_t)j->good_len) == -1 ||
	    fdatasync(j->fd) == -1)) {
		buf_printf(err, "%s: %s", j->path, strerror(errno));
		goto out;
	}
	j->torn = 0;
	/* One write(2) of one line to an O_APPEND file, then fdatasync: a
	 * crash leaves the line whole, absent, or torn (and then ignored). */
	if ((w = write(j->fd, line.data, line.len)) != (ssize_t)line.len ||
	    fdatasync(j->fd) == -1) {
		buf_printf(err, "%s: %s", j->path, w == -1 || w ==
		    (ssize_t)line.len ? strerror(errno) : "short write");
		/* Part of the line may be there (a full disk): the next
		 * record cuts it off first. */
		j->torn = 1;
		goto out;
	}
	j->good_len += line.len;
	fault_done();
	ret = 0;
out:
	buf_free(&line);
	return ret;
}

int
journal_load(struct journal *j, const char *root, struct buf *err)
{
	struct journal_record r;
	struct buf text = BUF_INIT;
	char	 chunk[4096];
	const char *p, *nl, *end;
	ssize_t	 n;
	size_t	 lineno = 0;
	int	 fd, ret = -1;

	memset(j, 0, sizeof(*j));
	j->fd = -1;
	if ((j->path = journal_path(root)) == NULL) {
		buf_printf(err, "out of memory");
		return -1;
	}
	if ((fd = open(j->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		if (errno == ENOENT)
			return 0;
		buf_printf(err, "%s: %s", j->path, strerror(errno));
		return -1;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		if (buf_add(&text, chunk, (size_t)n) == -1) {
			buf_printf(err, "out of memory");
			goto out;
		}
	if (n == -1) {
		buf_printf(err, "%s: %s", j->path, strerror(errno));
		goto out;
	}
	for (p = text.data, end = p + text.len; p != NULL && p < end;
	    p = nl != NULL ? nl + 1 : NULL) {
		nl = memchr(p, '\n', (size_t)(end - p));
		lineno++;
		if (nl == NULL || decode(p, (size_t)(nl - p), &r) == -1) {
			/* A torn last line was never written. */
			if (nl == NULL || nl + 1 == end) {
				j->torn = 1;
				j->good_len = (size_t)(p - text.data);
				break;
			}
			buf_printf(err, "%s: line %zu is damaged: the journal "
			    "cannot be trusted", j->path, lineno);
			goto out;
		}
		if (push(j, &r) == -1) {
			record_free(&r);
			buf_printf(err, "out of memory");
			goto out;
		}
	}
	if (j->nrecs == 0 || j->recs[0].n != 2 ||
	    strcmp(j->recs[0].words[0], JOURNAL_MAGIC) != 0) {
		buf_printf(err, "%s: not a vcrotate journal", j->path);
		goto out;
	}
	if (strcmp(j->recs[0].words[1], JOURNAL_VERSION) != 0) {
		buf_printf(err, "%s: journal version %s, this vcrotate reads "
		    "version %s", j->path, j->recs[0].words[1],
		    JOURNAL_VERSION);
		goto out;
	}
	if (open_append(j, err) == -1)
		goto out;
	if (!j->torn)
		j->good_len = text.len;
	ret = 1;
out:
	close(fd);
	buf_free(&text);
	return ret;
}

int
journal_remove(struct journal *j, struct buf *err)
{
	char	*dir, *slash;
	int	 dfd;

	if (fault_point("journal remove", err) == -1)
		return -1;
	if (unlink(j->path) == -1 && errno != ENOENT) {
		buf_printf(err, "%s: %s", j->path, strerror(errno));
		return -1;
	}
	if ((dir = strdup(j->path)) != NULL &&
	    (slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0';
		if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) !=
		    -1) {
			fsync(dfd);
			close(dfd);
		}
	}
	free(dir);
	fault_done();
	return 0;
}

const struct journal_record *
journal_find(const struct journal *j, const char *key)
{
	size_t	 i;

	for (i = 0; i < j->nrecs; i++)
		if (strcmp(j->recs[i].words[0], key) == 0)
			return &j->recs[i];
	return NULL;
}

const struct journal_record *
journal_find_last(const struct journal *j, const char *key)
{
	size_t	 i;

	for (i = j->nrecs; i > 0; i--)
		if (strcmp(j->recs[i - 1].words[0], key) == 0)
			return &j->recs[i - 1];
	return NULL;
}

const char *
journal_value(const struct journal *j, const char *key)
{
	const struct journal_record *r = journal_find(j, key);

	return r != NULL && r->n > 1 ? r->words[1] : NULL;
}

const char *
journal_last(const struct journal *j)
{
	return j->nrecs > 0 ? j->recs[j->nrecs - 1].words[0] : "";
}

void
journal_free(struct journal *j)
{
	size_t	 i;

	for (i = 0; i < j->nrecs; i++)
		record_free(&j->recs[i]);
	free(j->recs);
	if (j->fd != -1)
		close(j->fd);
	free(j->path);
	memset(j, 0, sizeof(*j));
	j->fd = -1;
}
