/*
 * repo.c - the backup repository over libgit2. See repo.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>
#include <git2/sys/mempack.h>
#include <git2/sys/odb_backend.h>
#include <openssl/crypto.h>

#include "crypt.h"
#include "fault.h"
#include "pack.h"
#include "repo.h"
#include "state.h"

struct bk_repo {
	git_repository	*repo;
	char		*path;
	/* The first authenticated snapshot (legacy()), once looked for. */
	int		 first_known;
	int		 has_first;
	int		 first_ok;	/* its MAC: 1 verifies, -1 not, 0 unknown */
	git_oid		 first;
};

void
bk_init(void)
{
	git_libgit2_init();
	/* No fsync per object (libgit2's GIT_OPT_ENABLE_FSYNC_GITDIR costs
	 * one per file and directory, hundreds per snapshot): objects are
	 * flushed together with one syncfs before the ref names them, and the
	 * ref with another after (durable()). */
	git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 0);
}

/*
 * Flushes the file system that holds the repository: everything written so
 * far is on disk when it returns. A backup that a power cut can take is no
 * backup.
 */
static int
durable(struct bk_repo *r, struct buf *err)
{
	int	 fd, rc;

	if ((fd = open(r->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		buf_printf(err, "%s: %s", r->path, strerror(errno));
		return -1;
	}
	rc = syncfs(fd);
	close(fd);
	if (rc == -1) {
		buf_printf(err, "%s: cannot flush to disk: %s", r->path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

void
bk_shutdown(void)
{
	git_libgit2_shutdown();
}

static void
lg_error(struct buf *err, const char *what)
{
	const git_error *e = git_error_last();

	buf_printf(err, "%s: %s", what, e != NULL && e->message != NULL ?
	    e->message : "libgit2 error");
}

static int
mkdirs(const char *path, mode_t mode)
{
	char	*p = strdup(path), *s;
	int	 rc = -1;

	if (p == NULL)
		return -1;
	for (s = p + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) == -1 && errno != EEXIST)
			goto out;
		*s = '/';
	}
	rc = 0;
out:
	free(p);
	return rc;
}

int
bk_repo_open(struct bk_repo **out, const char *path, int create,
    int *created, struct buf *err)
{
	git_repository_init_options opts;
	struct bk_repo *r = NULL;
	git_config *cfg = NULL;
	struct stat st;
	int	 ret = -1;

	*out = NULL;
	if (created != NULL)
		*created = 0;
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->path = strdup(path)) == NULL) {
		buf_printf(err, "out of memory");
		goto out;
	}
	if (stat(path, &st) == -1) {
		if (errno != ENOENT || !create) {
			buf_printf(err, "backup repository %s: %s", path,
			    strerror(errno));
			goto out;
		}
		if (mkdirs(path, 0700) == -1 || mkdir(path, 0700) == -1) {
			buf_printf(err, "cannot create %s: %s", path,
			    strerror(errno));
			goto out;
		}
		git_repository_init_options_init(&opts,
		    GIT_REPOSITORY_INIT_OPTIONS_VERSION);
		opts.flags = GIT_REPOSITORY_INIT_BARE |
		    GIT_REPOSITORY_INIT_MKPATH;
		opts.initial_head = "snapshots";
		if (git_repository_init_ext(&r->repo, path, &opts) != 0) {
			lg_error(err, path);
			goto out;
		}
		/* A bare repository keeps no reflog unless told to. */
		if (git_repository_config(&cfg, r->repo) != 0 ||
		    git_config_set_string(cfg, "core.logAllRefUpdates",
		    "always") != 0 ||
		    git_config_set_string(cfg, "core.fsync", "all") != 0) {
			lg_error(err, path);
			goto out;
		}
		if (created != NULL)
			*created = 1;
	} else {
		if (!S_ISDIR(st.st_mode)) {
			buf_printf(err, "backup repository %s is not a "
			    "directory", path);
			goto out;
		}
		if ((st.st_mode & 077) != 0) {
			buf_printf(err, "backup repository %s is open to "
			    "group or others (mode %04o): it holds the "
			    "appliance's keys; chmod 700 it", path,
			    (unsigned)(st.st_mode & 07777));
			goto out;
		}
		if (git_repository_open_bare(&r->repo, path) != 0) {
			lg_error(err, path);
			goto out;
		}
	}
	*out = r;
	r = NULL;
	ret = 0;
out:
	git_config_free(cfg);
	bk_repo_close(r);
	return ret;
}

void
bk_repo_close(struct bk_repo *r)
{
	if (r == NULL)
		return;
	git_repository_free(r->repo);
	free(r->path);
	free(r);
}

int
bk_repo_wrap(struct bk_repo **out, git_repository *repo, const char *label)
{
	struct bk_repo *r;

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return -1;
	if ((r->path = strdup(label)) == NULL) {
		free(r);
		return -1;
	}
	r->repo = repo;
	*out = r;
	return 0;
}

/*
 * Where a snapshot's objects are written first: a second handle on the
 * repository whose object database has an in-memory backend in front
 * (libgit2's mempack), so that nothing reaches the disk object by object.
 * The objects the repository lacks are collected in ids, then written
 * loose when they are few, as one pack when they are many (pack.h).
 */
struct staging {
	git_repository	*repo;
	git_odb		*odb;
	git_odb_backend	*mem;		/* owned by odb once added */
	git_oid		*ids;		/* the new objects */
	size_t		 n, cap;
};

static int
stage_open(struct staging *sg, struct bk_repo *r, struct buf *err)
{
	git_odb_backend *mem = NULL;

	memset(sg, 0, sizeof(*sg));
	if (git_repository_open_bare(&sg->repo, r->path) != 0 ||
	    git_repository_odb(&sg->odb, sg->repo) != 0 ||
	    git_mempack_new(&mem) != 0) {
		lg_error(err, r->path);
		return -1;
	}
	if (git_odb_add_backend(sg->odb, mem, 1000) != 0) {
		mem->free(mem);
		lg_error(err, r->path);
		return -1;
	}
	sg->mem = mem;
	return 0;
}

static void
stage_close(struct staging *sg)
{
	git_odb_free(sg->odb);
	git_repository_free(sg->repo);
	free(sg->ids);
	memset(sg, 0, sizeof(*sg));
}

static int
stage_note(struct staging *sg, const git_oid *id)
{
	git_oid	*nv;

	if (sg->n == sg->cap) {
		if ((nv = reallocarray(sg->ids, sg->cap ? sg->cap * 2 : 256,
		    sizeof(*nv))) == NULL)
			return -1;
		sg->ids = nv;
		sg->cap = sg->cap ? sg->cap * 2 : 256;
	}
	git_oid_cpy(&sg->ids[sg->n++], id);
	return 0;
}

/*
 * A blob of the snapshot, as git_blob_create_from_buffer would make it:
 * its id computed here, and written (to memory) only when the repository
 * has no such object yet. The handle was opened for this snapshot and
 * vcrotate is the repository's only writer (the appliance lock): no need
 * to look for packs made since (GIT_ODB_LOOKUP_NO_REFRESH).
 */
static int
stage_blob(struct staging *sg, const char *path, const void *data,
    size_t len, git_oid *id, struct buf *err)
{
	if (git_odb_hash(id, data, len, GIT_OBJECT_BLOB) != 0) {
		lg_error(err, path);
		return -1;
	}
	if (git_odb_exists_ext(sg->odb, id, GIT_ODB_LOOKUP_NO_REFRESH))
		return 0;
	if (sg->mem->write(sg->mem, id, data, len, GIT_OBJECT_BLOB) != 0) {
		lg_error(err, path);
		return -1;
	}
	if (stage_note(sg, id) == -1) {
		buf_printf(err, "out of memory");
		return -1;
	}
	return 0;
}

static int
index_add(struct staging *sg, git_index *idx, const char *path,
    const void *data, size_t len, struct buf *err)
{
	git_index_entry e;
	git_oid	 oid;

	if (stage_blob(sg, path, data, len, &oid, err) == -1)
		return -1;
	memset(&e, 0, sizeof(e));
	e.mode = GIT_FILEMODE_BLOB;
	e.path = path;
	e.id = oid;
	if (git_index_add(idx, &e) != 0) {
		lg_error(err, path);
		return -1;
	}
	return 0;
}

/* git_tree_walk: the trees made for this snapshot (in memory); an older
 * tree is skipped with all it holds, which is older too. */
static int
stage_walk(const char *root, const git_tree_entry *entry, void *payload)
{
	struct staging *sg = payload;
	const git_oid *id = git_tree_entry_id(entry);

	(void)root;
	if (git_tree_entry_type(entry) != GIT_OBJECT_TREE)
		return 0;
	if (!sg->mem->exists(sg->mem, id))
		return 1;
	return stage_note(sg, id) == -1 ? -1 : 0;
}

static int
oid_cmp(const void *a, const void *b)
{
	return git_oid_cmp(a, b);
}

/*
 * The snapshot's tree, from the index: the trees written to memory (every
 * entry is a blob staged or found above, so libgit2's check that each
 * exists, one object read per entry, is left out), noted, then every new
 * object written to the repository: loose when few, one pack when many.
 */
static int
stage_tree(struct staging *sg, struct bk_repo *r, git_index *idx,
    git_oid *tree_id, struct buf *err)
{
	git_tree *tree = NULL;
	git_odb	*odb = NULL;
	git_odb_object *obj = NULL;
	git_oid	 id;
	size_t	 i, k;
	int	 rc, ret = -1;

	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_OBJECT_CREATION, 0);
	rc = git_index_write_tree_to(tree_id, idx, sg->repo);
	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_OBJECT_CREATION, 1);
	if (rc != 0 || git_tree_lookup(&tree, sg->repo, tree_id) != 0) {
		lg_error(err, "writing the snapshot tree");
		goto out;
	}
	if ((sg->mem->exists(sg->mem, tree_id) &&
	    stage_note(sg, tree_id) == -1) ||
	    git_tree_walk(tree, GIT_TREEWALK_PRE, stage_walk, sg) < 0) {
		buf_printf(err, "out of memory");
		goto out;
	}
	/* The same subtree may be in two places: each object once. */
	if (sg->n > 0)	/* ids is NULL when every object exists already */
		qsort(sg->ids, sg->n, sizeof(*sg->ids), oid_cmp);
	for (i = k = 0; i < sg->n; i++)
		if (k == 0 || git_oid_cmp(&sg->ids[k - 1], &sg->ids[i]) != 0)
			sg->ids[k++] = sg->ids[i];
	sg->n = k;
	if (git_repository_odb(&odb, r->repo) != 0) {
		lg_error(err, r->path);
		goto out;
	}
	if (sg->n >= BK_PACK_MIN) {
		if (bk_pack_write(odb, sg->odb, sg->ids, sg->n, err) == -1)
			goto out;
	} else
		for (i = 0; i < sg->n; i++) {
			if (git_odb_read(&obj, sg->odb, &sg->ids[i]) != 0 ||
			    git_odb_write(&id, odb, git_odb_object_data(obj),
			    git_odb_object_size(obj),
			    git_odb_object_type(obj)) != 0) {
				lg_error(err, "writing the snapshot's objects");
				goto out;
			}
			git_odb_object_free(obj);
			obj = NULL;
		}
	ret = 0;
out:
	git_odb_object_free(obj);
	git_odb_free(odb);
	git_tree_free(tree);
	return ret;
}

static void
trailer(struct buf *m, const char *name, const char *value)
{
	const char *p;

	if (value == NULL || *value == '\0')
		return;
	/* One line each: a newline would forge another trailer. */
	buf_printf(m, "%s: ", name);
	for (p = value; *p != '\0'; p++)
		buf_putc(m, *p == '\n' || *p == '\r' ? ' ' : *p);
	buf_putc(m, '\n');
}

/* ---- authentication of a whole snapshot ---- */

/*
 * What a snapshot's MAC covers beyond its commit: the manifest's bytes,
 * the `created' file's, and per item of the tree its path, whether the
 * manifest says it is sealed, and the SHA-256 of its blob.
 */
struct snap_item {
	const char	*path;		/* borrowed */
	int		 sealed;
	char		 digest[DIGEST_LEN];
};

struct snap {
	const char	*manifest;	/* borrowed */
	size_t		 mlen;
	const char	*created;	/* borrowed, NULL when there is none */
	size_t		 clen;
	struct snap_item *items;	/* owned */
	size_t		 n;
};

static int
snap_item_cmp(const void *a, const void *b)
{
	return strcmp(((const struct snap_item *)a)->path,
	    ((const struct snap_item *)b)->path);
}

static void
mac_str(struct bk_mac *m, const char *s)
{
	bk_mac_update(m, s, strlen(s));
}

/* A length, then the bytes: no two inputs encode alike. */
static void
mac_field(struct bk_mac *m, const char *name, const void *data, size_t len)
{
	char	 line[64];

	snprintf(line, sizeof(line), "%s %zu\n", name, len);
	mac_str(m, line);
	bk_mac_update(m, data, len);
}

/*
 * The MAC of a snapshot commit (docs/backup.md, "Authentication"), over
 * this canonical encoding:
 *
 *   "vcrotate-backup snapshot v1\n"
 *   "parents " N "\n" (HEX-ID "\n")*        the commit's parents, in order
 *   "message " LEN "\n" BODY                 the message before the MAC line
 *   "manifest " LEN "\n" MANIFEST            manifest.json as stored
 *   "created " LEN "\n" CREATED | "created -\n"
 *   "items " N "\n"
 *   (LEN " " PATH " " SEALED " " DIGEST "\n")*   sorted by path (bytes)
 *
 * The parents and the message are covered so that an authentic MAC cannot
 * be moved to another commit: not onto another tree, not under another
 * Transaction or Result, not to another place in the history. The items
 * are sorted in place.
 */
static int
snap_mac(const unsigned char key[BK_KEY_LEN], const git_oid *parents,
    size_t nparents, const char *body, size_t blen, struct snap *s,
    unsigned char out[BK_MAC_LEN])
{
	struct bk_mac *m = bk_mac_new(key);
	char	 line[64], hex[GIT_OID_HEXSZ + 1];
	size_t	 i;

	if (s->n > 0)
		qsort(s->items, s->n, sizeof(*s->items), snap_item_cmp);
	mac_str(m, "vcrotate-backup snapshot v1\n");
	snprintf(line, sizeof(line), "parents %zu\n", nparents);
	mac_str(m, line);
	for (i = 0; i < nparents; i++) {
		git_oid_tostr(hex, sizeof(hex), &parents[i]);
		mac_str(m, hex);
		mac_str(m, "\n");
	}
	mac_field(m, "message", body, blen);
	mac_field(m, "manifest", s->manifest, s->mlen);
	if (s->created != NULL)
		mac_field(m, "created", s->created, s->clen);
	else
		mac_str(m, "created -\n");
	snprintf(line, sizeof(line), "items %zu\n", s->n);
	mac_str(m, line);
	for (i = 0; i < s->n; i++) {
		snprintf(line, sizeof(line), "%zu ", strlen(s->items[i].path));
		mac_str(m, line);
		mac_str(m, s->items[i].path);
		snprintf(line, sizeof(line), " %d ", s->items[i].sealed ? 1 : 0);
		mac_str(m, line);
		mac_str(m, s->items[i].digest);
		mac_str(m, "\n");
	}
	return bk_mac_final(m, out);
}

/* Whether line (not NUL-ended at the line's end) starts with "name: ". */
static int
is_trailer(const char *line, const char *name)
{
	size_t	 n = strlen(name);

	return strncmp(line, name, n) == 0 && line[n] == ':' &&
	    line[n + 1] == ' ';
}

char *
bk_trailer(const char *msg, const char *name)
{
	const char *p, *v;

	for (p = msg; (p = strchr(p, '\n')) != NULL; ) {
		p++;
		if (is_trailer(p, name)) {
			v = p + strlen(name) + 2;
			return strndup(v, strcspn(v, "\n"));
		}
	}
	return NULL;
}

/* The start of the first line of msg that is trailer name, or NULL. */
static const char *
find_trailer(const char *msg, const char *name)
{
	const char *p;

	for (p = msg; p != NULL && *p != '\0'; ) {
		if (is_trailer(p, name))
			return p;
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return NULL;
}

static int
hex_to_bytes(const char *hex, size_t n, unsigned char *out)
{
	size_t	 i;
	int	 hi, lo;

	for (i = 0; i < n; i++) {
		hi = hex[2 * i];
		lo = hex[2 * i + 1];
		hi = hi >= '0' && hi <= '9' ? hi - '0' : hi >= 'a' && hi <= 'f' ?
		    hi - 'a' + 10 : -1;
		lo = lo >= '0' && lo <= '9' ? lo - '0' : lo >= 'a' && lo <= 'f' ?
		    lo - 'a' + 10 : -1;
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/*
 * The MAC trailer of a commit message. 0: none at all; 1: the message ends
 * with "Vcrotate-MAC: " and 64 lower-case hex digits and a newline, *blen
 * is the length of what comes before (what the MAC covers); -1: a MAC
 * trailer that is not that (damaged or forged).
 */
static int
msg_mac(const char *msg, size_t *blen, unsigned char mac[BK_MAC_LEN])
{
	const char *t = find_trailer(msg, BK_TRAILER_MAC), *v;

	*blen = 0;
	if (t == NULL)
		return 0;
	v = t + strlen(BK_TRAILER_MAC) + 2;
	if (strlen(v) != 2 * BK_MAC_LEN + 1 || v[2 * BK_MAC_LEN] != '\n' ||
	    hex_to_bytes(v, BK_MAC_LEN, mac) == -1)
		return -1;
	*blen = (size_t)(t - msg);
	return 1;
}

/* The key id a commit message records (16 hex digits), or "". */
static void
msg_key_id(const char *msg, char id[BK_KEY_ID_LEN + 1])
{
	const char *t = find_trailer(msg, BK_TRAILER_KEY_ID), *v;
	size_t	 i;

	id[0] = '\0';
	if (t == NULL)
		return;
	v = t + strlen(BK_TRAILER_KEY_ID) + 2;
	for (i = 0; i < BK_KEY_ID_LEN; i++)
		if (!((v[i] >= '0' && v[i] <= '9') ||
		    (v[i] >= 'a' && v[i] <= 'f')))
			return;
	if (v[BK_KEY_ID_LEN] != '\n')
		return;
	memcpy(id, v, BK_KEY_ID_LEN);
	id[BK_KEY_ID_LEN] = '\0';
}

static void
key_mismatch(struct buf *err, const unsigned char key[BK_KEY_LEN],
    const char *theirs)
{
	char	 ours[BK_KEY_ID_LEN + 1];

	bk_key_id(key, ours);
	buf_printf(err, "backup.key is not the key this repository was made "
	    "with (key id %s, repository %s): restore the key from where "
	    "docs/backup.md says to keep a copy", ours, theirs);
}

/*
 * Commits tree on BK_REF with the message of meta, the key id and the MAC
 * of the snapshot s: the one git ref update of a snapshot, and so one side
 * effect (fault.h).
 */
static int
commit_tree(struct bk_repo *r, git_tree *tree, struct snap *s,
    const unsigned char key[BK_KEY_LEN], const char *pnid,
    const struct bk_meta *meta, char out_id[41], struct buf *err)
{
	git_commit *parent = NULL;
	git_signature *sig = NULL;
	git_reference *ref = NULL;
	git_oid	 commit_id, parent_id = { { 0 } };
	struct buf msg = BUF_INIT;
	unsigned char mac[BK_MAC_LEN];
	char	 kid[BK_KEY_ID_LEN + 1];
	const char *p;
	size_t	 i;
	int	 ret = -1;

	if (git_reference_lookup(&ref, r->repo, BK_REF) == 0 &&
	    git_commit_lookup(&parent, r->repo, git_reference_target(ref)) !=
	    0) {
		lg_error(err, BK_REF);
		goto out;
	}
	/* One line: a newline in the reason would forge trailers. */
	for (p = meta->reason != NULL ? meta->reason : "snapshot"; *p != '\0';
	    p++)
		buf_putc(&msg, *p == '\n' || *p == '\r' ? ' ' : *p);
	buf_printf(&msg, ": snapshot of %s\n\n", pnid);
	trailer(&msg, "Operator", meta->operator);
	trailer(&msg, "Ticket", meta->ticket);
	trailer(&msg, "Reason", meta->reason);
	trailer(&msg, "Transaction", meta->transaction);
	trailer(&msg, "Result", meta->result);
	trailer(&msg, "Plan", meta->plan);
	trailer(&msg, "Elapsed", meta->elapsed);
	trailer(&msg, "Steps", meta->steps);
	trailer(&msg, "Timings", meta->timings);
	bk_key_id(key, kid);
	trailer(&msg, BK_TRAILER_KEY_ID, kid);
	if (parent != NULL)
		git_oid_cpy(&parent_id, git_commit_id(parent));
	if (snap_mac(key, &parent_id, parent != NULL ? 1 : 0, buf_str(&msg),
	    msg.len, s, mac) == -1) {
		buf_printf(err, "cannot compute the snapshot's MAC");
		goto out;
	}
	buf_printf(&msg, "%s: ", BK_TRAILER_MAC);
	for (i = 0; i < BK_MAC_LEN; i++)
		buf_printf(&msg, "%02x", mac[i]);
	buf_putc(&msg, '\n');
	/* The operator is in the message: git_signature_default would need
	 * a configured user.name. */
	if (git_signature_now(&sig, "vcrotate", "vcrotate@localhost") != 0) {
		lg_error(err, "signature");
		goto out;
	}
	/* The tree's objects durable before a ref names them. */
	if (durable(r, err) == -1 || fault_point("git ref update", err) == -1)
		goto out;
	if (git_commit_create(&commit_id, r->repo, BK_REF, sig, sig, NULL,
	    buf_str(&msg), tree, parent != NULL ? 1 : 0,
	    (const git_commit **)&parent) != 0) {
		lg_error(err, "committing the snapshot");
		goto out;
	}
	r->first_known = 0;
	if (durable(r, err) == -1)
		goto out;
	fault_done();
	git_oid_tostr(out_id, 41, &commit_id);
	ret = 0;
out:
	buf_free(&msg);
	git_signature_free(sig);
	git_commit_free(parent);
	git_reference_free(ref);
	return ret;
}

/*
 * A snapshot commit as stored: its manifest, its items with their blobs
 * (sealed ones still sealed) and what its MAC covers. Nothing in it is
 * trusted before authenticate() says so.
 */
struct loaded {
	git_commit	*commit;
	git_tree	*tree;
	git_blob	*mblob;
	git_blob	*cblob;
	json_t		*man;
	struct bk_state	 st;		/* raw blobs; secret: sealed */
	struct snap	 snap;		/* items: one per st item */
	char		 id[41];
};

static void
loaded_free(struct loaded *l)
{
	bk_state_free(&l->st);
	free(l->snap.items);
	json_decref(l->man);
	git_blob_free(l->mblob);
	git_blob_free(l->cblob);
	git_tree_free(l->tree);
	git_commit_free(l->commit);
	memset(l, 0, sizeof(*l));
}

struct walk {
	git_repository	*repo;
	json_t		*items;		/* manifest items */
	struct bk_state	*st;
	struct snap	*snap;
	const char	*id;
	struct buf	*err;
};

static int
walk_cb(const char *root, const git_tree_entry *entry, void *payload)
{
	struct walk *w = payload;
	struct snap_item *si;
	git_blob *blob = NULL;
	json_t	*it;
	char	*path = NULL, digest[DIGEST_LEN];
	const void *data;
	size_t	 len;
	int	 sealed, ret = -1;

	if (git_tree_entry_type(entry) != GIT_OBJECT_BLOB)
		return 0;
	if (asprintf(&path, "%s%s", root, git_tree_entry_name(entry)) == -1)
		return -1;
	if (strcmp(path, BK_MANIFEST) == 0 || strcmp(path, BK_CREATED) == 0) {
		free(path);
		return 0;
	}
	if (git_blob_lookup(&blob, w->repo, git_tree_entry_id(entry)) != 0) {
		lg_error(w->err, path);
		goto out;
	}
	data = git_blob_rawcontent(blob);
	len = (size_t)git_blob_rawsize(blob);
	if ((it = json_object_get(w->items, path)) == NULL) {
		buf_printf(w->err, "%s is not in the manifest", path);
		goto out;
	}
	inventory_digest_bytes(data, len, digest);
	if (strcmp(digest, json_string_value(json_object_get(it, "digest"))
	    != NULL ? json_string_value(json_object_get(it, "digest")) : "")
	    != 0) {
		buf_printf(w->err, "%s does not match its manifest digest",
		    path);
		goto out;
	}
	sealed = json_is_true(json_object_get(it, "sealed"));
	if ((si = reallocarray(w->snap->items, w->snap->n + 1,
	    sizeof(*si))) == NULL) {
		buf_printf(w->err, "out of memory");
		goto out;
	}
	w->snap->items = si;
	if (bk_state_add(w->st, path, data, len, sealed) == -1) {
		buf_printf(w->err, "out of memory");
		goto out;
	}
	si = &w->snap->items[w->snap->n++];
	si->path = w->st->items[w->st->n - 1].path;
	si->sealed = sealed;
	memcpy(si->digest, digest, sizeof(digest));
	ret = 0;
out:
	git_blob_free(blob);
	free(path);
	return ret;
}

/* Reads the commit at rev and its tree into l, checked against its
 * manifest, and opens nothing. */
static int
load(struct bk_repo *r, const char *rev, struct loaded *l, struct buf *err)
{
	git_object *obj = NULL;
	git_tree_entry *me = NULL, *ce = NULL;
	json_error_t jerr;
	json_t	*schema;
	struct walk w;
	size_t	 i;
	int	 ret = -1;

	memset(l, 0, sizeof(*l));
	if (git_revparse_single(&obj, r->repo, rev) != 0 ||
	    git_object_peel((git_object **)&l->commit, obj,
	    GIT_OBJECT_COMMIT) != 0) {
		buf_printf(err, "no snapshot %s in %s", rev, r->path);
		goto out;
	}
	git_oid_tostr(l->id, sizeof(l->id), git_commit_id(l->commit));
	if (git_commit_tree(&l->tree, l->commit) != 0 ||
	    git_tree_entry_bypath(&me, l->tree, BK_MANIFEST) != 0 ||
	    git_blob_lookup(&l->mblob, r->repo, git_tree_entry_id(me)) != 0) {
		buf_printf(err, "snapshot %s has no manifest", rev);
		goto out;
	}
	l->snap.manifest = git_blob_rawcontent(l->mblob);
	l->snap.mlen = (size_t)git_blob_rawsize(l->mblob);
	l->man = json_loadb(l->snap.manifest, l->snap.mlen, 0, &jerr);
	schema = l->man != NULL ? json_object_get(l->man, "schema") : NULL;
	if (schema == NULL || !json_is_string(schema) ||
	    strcmp(json_string_value(schema), BK_SCHEMA) != 0 ||
	    !json_is_object(json_object_get(l->man, "items"))) {
		buf_printf(err, "snapshot %s: the manifest is not a %s manifest",
		    rev, BK_SCHEMA);
		goto out;
	}
	if (git_tree_entry_bypath(&ce, l->tree, BK_CREATED) == 0 &&
	    git_blob_lookup(&l->cblob, r->repo, git_tree_entry_id(ce)) == 0) {
		l->snap.created = git_blob_rawcontent(l->cblob);
		l->snap.clen = (size_t)git_blob_rawsize(l->cblob);
	}
	memset(&w, 0, sizeof(w));
	w.repo = r->repo;
	w.items = json_object_get(l->man, "items");
	w.st = &l->st;
	w.snap = &l->snap;
	w.id = l->id;
	w.err = err;
	if (git_tree_walk(l->tree, GIT_TREEWALK_PRE, walk_cb, &w) != 0) {
		if (err->len == 0)
			lg_error(err, "reading the snapshot");
		goto out;
	}
	if (l->st.n != json_object_size(w.items)) {
		buf_printf(err, "snapshot %s: the manifest lists %zu items, "
		    "the tree holds %zu", rev, json_object_size(w.items),
		    l->st.n);
		goto out;
	}
	/* The state's array moved as it grew: point at the paths again. */
	for (i = 0; i < l->st.n; i++)
		l->snap.items[i].path = l->st.items[i].path;
	ret = 0;
out:
	git_tree_entry_free(me);
	git_tree_entry_free(ce);
	git_object_free(obj);
	if (ret == -1)
		loaded_free(l);
	return ret;
}

/* Whether the commit's message carries a MAC trailer (right or wrong). */
static int
has_mac(const git_commit *c)
{
	return find_trailer(git_commit_message_raw(c), BK_TRAILER_MAC) != NULL;
}

static int authenticate(struct bk_repo *, struct loaded *,
    const unsigned char *, int *, struct buf *);

/*
 * A key is sealed in every snapshot vcrotate makes: one kept in clear was
 * not put there by vcrotate (checked after the MAC, whose failure is the
 * better reason; it matters for snapshots made before MACs).
 */
static int
keys_sealed(const struct loaded *l, struct buf *err)
{
	size_t	 i;

	for (i = 0; i < l->snap.n; i++)
		if (!l->snap.items[i].sealed &&
		    bk_path_secret(l->snap.items[i].path)) {
			buf_printf(err, "snapshot %.12s: FORGED or damaged: %s "
			    "is a key, and the manifest says it is not sealed",
			    l->id, l->snap.items[i].path);
			return -1;
		}
	return 0;
}

/*
 * The oldest commit on BK_REF's first-parent line that carries a MAC
 * trailer, found once per repository handle: the first authenticated
 * snapshot, which vouches for the older ones through its parent's id.
 */
/* *c becomes its first parent: 1, or 0 at the first commit (*c kept); -1
 * on failure (*c freed). */
static int
older(git_commit **c, struct buf *err)
{
	git_commit *p = NULL;

	if (git_commit_parentcount(*c) == 0)
		return 0;
	if (git_commit_parent(&p, *c, 0) != 0) {
		lg_error(err, "walking the snapshots");
		git_commit_free(*c);
		*c = NULL;
		return -1;
	}
	git_commit_free(*c);
	*c = p;
	return 1;
}

static int
first_authenticated(struct bk_repo *r, struct buf *err)
{
	git_commit *c = NULL;
	git_oid	 oid;
	int	 rc;

	if (r->first_known)
		return 0;
	r->has_first = 0;
	r->first_ok = 0;
	if ((rc = git_reference_name_to_id(&oid, r->repo, BK_REF)) != 0) {
		if (rc != GIT_ENOTFOUND) {
			lg_error(err, BK_REF);
			return -1;
		}
		r->first_known = 1;
		return 0;
	}
	if (git_commit_lookup(&c, r->repo, &oid) != 0) {
		lg_error(err, BK_REF);
		return -1;
	}
	do {
		if (has_mac(c)) {
			git_oid_cpy(&r->first, git_commit_id(c));
			r->has_first = 1;
		}
	} while ((rc = older(&c, err)) == 1);
	if (rc == -1)
		return -1;
	git_commit_free(c);
	r->first_known = 1;
	return 0;
}

/*
 * A commit without a MAC: made before snapshots were authenticated (1),
 * or refused (-1). It is accepted only when it is older than the first
 * authenticated snapshot (an ancestor of it, whose MAC covers its parent's
 * id and so, through git's hashes, everything older) and that one's MAC
 * verifies; or when the repository holds no authenticated snapshot at all,
 * neither on its snapshots line nor before this commit (a repository this
 * version has not written to yet). A forger can strip a MAC, so a commit
 * without one anywhere else is refused.
 */
static int
legacy(struct bk_repo *r, struct loaded *l, const unsigned char *key,
    struct buf *err)
{
	struct loaded fl;
	struct buf ferr = BUF_INIT;
	git_commit *c = NULL;
	char	 fid[41];
	int	 rc, dummy, n;

	if (first_authenticated(r, err) == -1)
		return -1;
	if (!r->has_first) {
		rc = 0;
		if (git_commit_parentcount(l->commit) > 0 &&
		    git_commit_parent(&c, l->commit, 0) != 0) {
			lg_error(err, "walking the snapshots");
			return -1;
		}
		while (c != NULL && !(rc = has_mac(c))) {
			if ((n = older(&c, err)) == -1)
				return -1;
			if (n == 0)
				break;
		}
		if (rc) {
			buf_printf(err, "snapshot %.12s: FORGED or damaged: "
			    "it has no MAC, and follows snapshot %.12s, which "
			    "has one (a MAC stripped, or a commit made outside "
			    "vcrotate)", l->id, git_oid_tostr_s(
			    git_commit_id(c)));
			git_commit_free(c);
			return -1;
		}
		git_commit_free(c);
		return 1;
	}
	git_oid_tostr(fid, sizeof(fid), &r->first);
	if (git_graph_descendant_of(r->repo, &r->first,
	    git_commit_id(l->commit)) != 1) {
		buf_printf(err, "snapshot %.12s: FORGED or damaged: it has no "
		    "MAC, and is not older than %.12s, the first authenticated "
		    "snapshot (a MAC stripped, or a commit made outside "
		    "vcrotate)", l->id, fid);
		return -1;
	}
	if (r->first_ok == 0) {
		r->first_ok = -1;
		if (load(r, fid, &fl, &ferr) == 0) {
			if (authenticate(r, &fl, key, &dummy, &ferr) == 0)
				r->first_ok = 1;
			loaded_free(&fl);
		}
		buf_free(&ferr);
	}
	if (r->first_ok != 1) {
		buf_printf(err, "snapshot %.12s has no MAC, and %.12s, the "
		    "authenticated snapshot that vouches for it, does not "
		    "verify: FORGED or damaged", l->id, fid);
		return -1;
	}
	return 1;
}

/*
 * Whether the snapshot l is what vcrotate committed under this key: 0 its
 * MAC verifies; 0 with *old set, made before snapshots were authenticated
 * and accepted (legacy()); -1 refused, err naming the commit and why.
 */
static int
authenticate(struct bk_repo *r, struct loaded *l, const unsigned char *key,
    int *old, struct buf *err)
{
	const char *msg = git_commit_message_raw(l->commit);
	unsigned char want[BK_MAC_LEN], got[BK_MAC_LEN];
	char	 kid[BK_KEY_ID_LEN + 1], ours[BK_KEY_ID_LEN + 1];
	git_oid	*parents = NULL;
	size_t	 blen, i, np = git_commit_parentcount(l->commit);
	int	 rc, ret = -1;

	*old = 0;
	if (msg == NULL)
		msg = "";
	if ((rc = msg_mac(msg, &blen, want)) == 0) {
		if (legacy(r, l, key, err) == -1 || keys_sealed(l, err) == -1)
			return -1;
		*old = 1;
		return 0;
	}
	if (rc == -1) {
		buf_printf(err, "snapshot %.12s: FORGED or damaged: MAC does "
		    "not verify (its %s trailer is not the message's last "
		    "line, or not 64 hex digits)", l->id, BK_TRAILER_MAC);
		return -1;
	}
	msg_key_id(msg, kid);
	bk_key_id(key, ours);
	if (kid[0] != '\0' && strcmp(kid, ours) != 0) {
		buf_printf(err, "snapshot %.12s: ", l->id);
		key_mismatch(err, key, kid);
		return -1;
	}
	if (np > 0 && (parents = calloc(np, sizeof(*parents))) == NULL) {
		buf_printf(err, "out of memory");
		return -1;
	}
	for (i = 0; i < np; i++)
		git_oid_cpy(&parents[i], git_commit_parent_id(l->commit,
		    (unsigned int)i));
	if (snap_mac(key, parents, np, msg, blen, &l->snap, got) == -1) {
		buf_printf(err, "snapshot %.12s: cannot compute its MAC",
		    l->id);
		goto out;
	}
	/* A key id is part of what vcrotate writes: without one the MAC
	 * cannot be vcrotate's either. */
	if (kid[0] == '\0' || CRYPTO_memcmp(want, got, BK_MAC_LEN) != 0) {
		buf_printf(err, "snapshot %.12s: FORGED or damaged: MAC does "
		    "not verify", l->id);
		goto out;
	}
	ret = keys_sealed(l, err);
out:
	OPENSSL_cleanse(got, sizeof(got));
	free(parents);
	return ret;
}

int
bk_repo_check(struct bk_repo *r, const char *rev,
    const unsigned char key[32], struct buf *err)
{
	struct loaded l;
	int	 old = 0, ret = -1;

	if (load(r, rev, &l, err) == -1)
		return -1;
	if (authenticate(r, &l, key, &old, err) == 0)
		ret = old ? 1 : 0;
	loaded_free(&l);
	return ret;
}

int
bk_repo_mark(struct bk_repo *r, const char *rev,
    const unsigned char key[32], const char *pnid,
    const struct bk_meta *meta, char out_id[41], struct buf *err)
{
	struct loaded l;
	int	 old, ret = -1;

	/* A new MAC is never put on a tree that is not authentic. */
	if (load(r, rev, &l, err) == -1)
		return -1;
	if (authenticate(r, &l, key, &old, err) == 0)
		ret = commit_tree(r, l.tree, &l.snap, key, pnid, meta, out_id,
		    err);
	loaded_free(&l);
	return ret;
}

/*
 * libgit2 takes a ref by creating NAME.lock next to it. A process killed in
 * between leaves the file behind and every later update fails; with the
 * appliance lock held, nobody else can be updating.
 */
void
bk_repo_clear_stale_locks(const char *path)
{
	static const char *const names[] = { "HEAD.lock", "config.lock",
	    "packed-refs.lock", "refs/heads/snapshots.lock",
	    "logs/HEAD.lock", "logs/refs/heads/snapshots.lock" };
	char	*f;
	size_t	 i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (asprintf(&f, "%s/%s", path, names[i]) == -1)
			return;
		if (unlink(f) == 0)
			fprintf(stderr, "vcrotate: removed %s, left by an "
			    "interrupted run\n", f);
		free(f);
	}
}

int
bk_repo_snapshot(struct bk_repo *r, const struct bk_state *st,
    const unsigned char key[32], const char *pnid, const char *machine_id,
    const struct bk_meta *meta, char out_id[41], struct buf *err)
{
	git_index *idx = NULL;
	git_tree *tree = NULL;
	git_oid	 tree_id;
	json_t	*man = NULL, *items = NULL;
	struct buf blob = BUF_INIT;
	struct staging sg;
	struct snap s;
	char	*text = NULL, when[32];
	time_t	 now = time(NULL);
	size_t	 i;
	int	 ret = -1;

	memset(&s, 0, sizeof(s));
	if (stage_open(&sg, r, err) == -1)
		goto out;
	if (git_index_new(&idx) != 0) {
		lg_error(err, "in-memory index");
		goto out;
	}
	if ((items = json_object()) == NULL ||
	    (st->n > 0 && (s.items = calloc(st->n, sizeof(*s.items))) ==
	    NULL))
		goto oom;
	for (i = 0; i < st->n; i++) {
		const struct bk_item *it = &st->items[i];
		struct snap_item *si = &s.items[s.n++];
		const void *data = it->data;
		size_t	 len = it->len;
		json_t	*o;

		buf_free_secret(&blob);
		if (it->secret) {
			if (bk_seal(key, it->path, it->data, it->len, &blob) ==
			    -1) {
				buf_printf(err, "cannot seal %s", it->path);
				goto out;
			}
			data = blob.data;
			len = blob.len;
		}
		if (index_add(&sg, idx, it->path, data, len, err) == -1)
			goto out;
		si->path = it->path;
		si->sealed = it->secret != 0;
		inventory_digest_bytes(data, len, si->digest);
		o = json_pack("{s:s,s:b}", "digest", si->digest, "sealed",
		    it->secret);
		if (o == NULL || json_object_set_new(items, it->path, o) != 0)
			goto oom;
	}
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	/* The time goes in a file of its own: an unchanged appliance then
	 * gives the same manifest and the same blobs, and a snapshot of it
	 * costs a commit, two trees and a date. */
	man = json_pack("{s:s,s:s,s:{s:s,s:s},s:o}", "schema", BK_SCHEMA,
	    "vcrotate_version", VCROTATE_VERSION,
	    "appliance", "pnid", pnid, "machine_id", machine_id,
	    "items", items);
	items = NULL;
	if (man == NULL || (text = json_dumps(man, JSON_INDENT(2) |
	    JSON_SORT_KEYS)) == NULL)
		goto oom;
	if (index_add(&sg, idx, BK_MANIFEST, text, strlen(text), err) == -1 ||
	    index_add(&sg, idx, BK_CREATED, when, strlen(when), err) == -1 ||
	    stage_tree(&sg, r, idx, &tree_id, err) == -1)
		goto out;
	stage_close(&sg);
	if (git_tree_lookup(&tree, r->repo, &tree_id) != 0) {
		lg_error(err, "writing the snapshot tree");
		goto out;
	}
	s.manifest = text;
	s.mlen = strlen(text);
	s.created = when;
	s.clen = strlen(when);
	if (commit_tree(r, tree, &s, key, pnid, meta, out_id, err) == -1)
		goto out;
	ret = 0;
	goto out;
oom:
	buf_printf(err, "out of memory");
out:
	buf_free_secret(&blob);
	free(s.items);
	free(text);
	json_decref(items);
	json_decref(man);
	git_tree_free(tree);
	git_index_free(idx);
	stage_close(&sg);
	return ret;
}

int
bk_repo_read(struct bk_repo *r, const char *rev, const unsigned char key[32],
    struct bk_state *st, json_t **manifest, char out_id[41], struct buf *err)
{
	struct loaded l;
	struct buf plain = BUF_INIT;
	unsigned char *copy;
	size_t	 i;
	int	 old = 0, ret = -1;

	memset(st, 0, sizeof(*st));
	*manifest = NULL;
	if (load(r, rev, &l, err) == -1)
		return -1;
	memcpy(out_id, l.id, 41);
	/* Authenticated as a whole before anything in it is used. */
	if (authenticate(r, &l, key, &old, err) == -1)
		goto out;
	for (i = 0; i < l.st.n; i++) {
		struct bk_item *it = &l.st.items[i];

		if (!it->secret)
			continue;
		buf_free_secret(&plain);
		if (bk_open(key, it->path, it->data, it->len, &plain,
		    err) == -1)
			goto out;
		if ((copy = malloc(plain.len > 0 ? plain.len : 1)) == NULL) {
			buf_printf(err, "out of memory");
			goto out;
		}
		if (plain.len > 0)
			memcpy(copy, plain.data, plain.len);
		free(it->data);
		it->data = copy;
		it->len = plain.len;
	}
	if (bk_state_sort(&l.st) == -1) {
		buf_printf(err, "snapshot %s: duplicate items", rev);
		goto out;
	}
	if (l.snap.created != NULL)
		json_object_set_new(l.man, "created", json_stringn(
		    l.snap.created, l.snap.clen));
	json_object_set_new(l.man, "authenticated", json_boolean(!old));
	*st = l.st;
	memset(&l.st, 0, sizeof(l.st));
	*manifest = l.man;
	l.man = NULL;
	ret = 0;
out:
	buf_free_secret(&plain);
	loaded_free(&l);
	return ret;
}

int
bk_repo_key_check(struct bk_repo *r, const unsigned char key[32],
    struct buf *err)
{
	git_commit *c = NULL, *p = NULL;
	struct loaded l;
	struct buf plain = BUF_INIT, why = BUF_INIT;
	git_oid	 oid;
	char	 kid[BK_KEY_ID_LEN + 1], ours[BK_KEY_ID_LEN + 1];
	size_t	 i;
	int	 rc, ret = -1;

	if ((rc = git_reference_name_to_id(&oid, r->repo, BK_REF)) != 0) {
		if (rc == GIT_ENOTFOUND)
			return 0;	/* no snapshot yet */
		lg_error(err, BK_REF);
		return -1;
	}
	if (git_commit_lookup(&c, r->repo, &oid) != 0) {
		lg_error(err, BK_REF);
		return -1;
	}
	bk_key_id(key, ours);
	/* The newest key id recorded. */
	for (;;) {
		msg_key_id(git_commit_message_raw(c), kid);
		if (kid[0] != '\0')
			break;
		if (git_commit_parentcount(c) == 0)
			break;
		if (git_commit_parent(&p, c, 0) != 0) {
			lg_error(err, "walking the snapshots");
			goto out;
		}
		git_commit_free(c);
		c = p;
		p = NULL;
	}
	if (kid[0] != '\0') {
		if (strcmp(kid, ours) != 0) {
			key_mismatch(err, key, kid);
			goto out;
		}
		ret = 0;
		goto out;
	}
	/* Made before key ids were recorded: does a sealed item of the
	 * newest snapshot open? */
	ret = 0;
	if (load(r, BK_REF, &l, &why) == -1) {
		buf_free(&why);
		goto out;	/* reading it will say what is wrong */
	}
	for (i = 0; i < l.st.n; i++) {
		if (!l.st.items[i].secret)
			continue;
		if (bk_open(key, l.st.items[i].path, l.st.items[i].data,
		    l.st.items[i].len, &plain, &why) == -1) {
			buf_printf(err, "backup.key is not the key this "
			    "repository was made with (key id %s; the "
			    "repository's snapshots, made before key ids were "
			    "recorded, do not open with it): restore the key "
			    "from where docs/backup.md says to keep a copy",
			    ours);
			ret = -1;
		}
		break;
	}
	buf_free_secret(&plain);
	buf_free(&why);
	loaded_free(&l);
out:
	git_commit_free(c);
	return ret;
}

int
bk_repo_list(struct bk_repo *r, bk_list_fn fn, void *arg, struct buf *err)
{
	git_revwalk *walk = NULL;
	git_commit *c = NULL;
	git_oid	 oid;
	char	 id[41];
	int	 rc, ret = -1;

	if (git_revwalk_new(&walk, r->repo) != 0) {
		lg_error(err, "revwalk");
		goto out;
	}
	/* Newest first: the history is one line of commits, and the unsorted
	 * walk follows it (parents inserted by date). Not GIT_SORT_TIME:
	 * libgit2 (1.5) leaks a list node when a sorted walk meets a missing
	 * commit (limit_list's error path), as in a damaged history. */
	git_revwalk_sorting(walk, GIT_SORT_NONE);
	if ((rc = git_revwalk_push_ref(walk, BK_REF)) != 0) {
		if (rc == GIT_ENOTFOUND) {
			ret = 0;	/* no snapshot yet */
			goto out;
		}
		lg_error(err, BK_REF);
		goto out;
	}
	while ((rc = git_revwalk_next(&oid, walk)) == 0) {
		if (git_commit_lookup(&c, r->repo, &oid) != 0) {
			lg_error(err, "reading a snapshot commit");
			goto out;
		}
		git_oid_tostr(id, sizeof(id), &oid);
		rc = fn(id, (long long)git_commit_time(c), git_commit_message(c),
		    arg);
		git_commit_free(c);
		c = NULL;
		if (rc != 0)
			break;
	}
	/* The end of the walk is GIT_ITEROVER; anything else is a damaged
	 * history, not an empty one. */
	if (rc < 0 && rc != GIT_ITEROVER) {
		lg_error(err, "walking the snapshots");
		goto out;
	}
	ret = 0;
out:
	git_revwalk_free(walk);
	return ret;
}

struct verify {
	struct bk_repo	*r;
	const unsigned char *key;
	struct bk_verify *v;
	struct buf	*err;
};

/* Every snapshot is read; each one that fails is named, and the walk goes
 * on. */
static int
verify_one(const char *id, long long when, const char *message, void *arg)
{
	struct verify *v = arg;
	struct bk_state st;
	struct buf why = BUF_INIT;
	json_t	*man = NULL;
	char	 got[41];

	(void)when;
	(void)message;
	v->v->n++;
	if (bk_repo_read(v->r, id, v->key, &st, &man, got, &why) == -1) {
		v->v->bad++;
		/* Messages that do not name the commit are given its id. */
		if (strncmp(buf_str(&why), "snapshot ", 9) == 0)
			buf_printf(v->err, "%s\n", buf_str(&why));
		else
			buf_printf(v->err, "snapshot %.12s: %s\n", id,
			    buf_str(&why));
		buf_free(&why);
		return 0;
	}
	if (!json_is_true(json_object_get(man, "authenticated")))
		v->v->legacy++;
	buf_free(&why);
	bk_state_free(&st);
	json_decref(man);
	return 0;
}

int
bk_repo_verify(struct bk_repo *r, const unsigned char key[32],
    struct bk_verify *out, struct buf *err)
{
	struct verify v = { r, key, out, err };

	memset(out, 0, sizeof(*out));
	if (bk_repo_list(r, verify_one, &v, err) == -1)
		return -1;
	return out->bad == 0 ? 0 : -1;
}

/* A snapshot read without a MAC (repo.h, bk_repo_read) is said so. */
void
bk_repo_warn_unauthenticated(const json_t *man, const char *id)
{
	if (!json_is_true(json_object_get(man, "authenticated")))
		fprintf(stderr, "vcrotate: warning: snapshot %.12s was made "
		    "before snapshots were authenticated (no MAC): it is "
		    "trusted because the first authenticated snapshot "
		    "vouches for it, or none exists yet\n", id);
}

/* One blob into the tree being built: sealed (secret) or as it is. */
static int
tb_put(git_repository *repo, git_treebuilder *tb, const unsigned char *key,
    const char *path, const unsigned char *data, size_t len, struct buf *err)
{
	struct buf sealed = BUF_INIT;
	git_oid	 oid;
	int	 rc;

	if (key != NULL && bk_seal(key, path, data, len, &sealed) == -1) {
		buf_printf(err, "cannot seal %s", path);
		return -1;
	}
	rc = git_blob_create_from_buffer(&oid, repo, key != NULL ?
	    (const void *)sealed.data : (const void *)data, key != NULL ?
	    sealed.len : len);
	buf_free(&sealed);
	if (rc != 0 || git_treebuilder_insert(NULL, tb, path, &oid,
	    GIT_FILEMODE_BLOB) != 0) {
		lg_error(err, path);
		return -1;
	}
	return 0;
}

int
bk_repo_put_csr(struct bk_repo *r, const unsigned char key[BK_KEY_LEN],
    const char *id, const char *csr, const unsigned char *pkey,
    size_t pkeylen, struct buf *err)
{
	git_reference *ref = NULL;
	git_commit *parent = NULL;
	git_tree *ptree = NULL, *tree = NULL;
	git_treebuilder *tb = NULL;
	git_signature *sig = NULL;
	git_oid	 toid, coid;
	char	*kpath = NULL, *cpath = NULL, *msg = NULL;
	int	 ret = -1;

	if (asprintf(&kpath, "%s.key", id) == -1 ||
	    asprintf(&cpath, "%s.csr", id) == -1 ||
	    asprintf(&msg, csr != NULL ? "csr %s: its key sealed\n" :
	    "key %s: given to an import, sealed\n", id) == -1) {
		buf_printf(err, "out of memory");
		goto out;
	}
	if (git_reference_lookup(&ref, r->repo, BK_CSR_REF) == 0 &&
	    (git_commit_lookup(&parent, r->repo, git_reference_target(ref)) !=
	    0 || git_commit_tree(&ptree, parent) != 0)) {
		lg_error(err, BK_CSR_REF);
		goto out;
	}
	if (git_treebuilder_new(&tb, r->repo, ptree) != 0) {
		lg_error(err, "tree");
		goto out;
	}
	if (tb_put(r->repo, tb, key, kpath, pkey, pkeylen, err) == -1 ||
	    (csr != NULL && tb_put(r->repo, tb, NULL, cpath,
	    (const unsigned char *)csr, strlen(csr), err) == -1))
		goto out;
	if (git_treebuilder_write(&toid, tb) != 0 ||
	    git_tree_lookup(&tree, r->repo, &toid) != 0 ||
	    git_signature_now(&sig, "vcrotate", "vcrotate@localhost") != 0) {
		lg_error(err, "tree");
		goto out;
	}
	if (durable(r, err) == -1 ||
	    fault_point("git ref update", err) == -1)
		goto out;
	if (git_commit_create(&coid, r->repo, BK_CSR_REF, sig, sig, NULL, msg,
	    tree, parent != NULL ? 1 : 0, (const git_commit **)&parent) != 0) {
		lg_error(err, "committing the CSR's key");
		goto out;
	}
	if (durable(r, err) == -1)
		goto out;
	fault_done();
	ret = 0;
out:
	free(kpath);
	free(cpath);
	free(msg);
	git_signature_free(sig);
	git_tree_free(tree);
	git_tree_free(ptree);
	git_treebuilder_free(tb);
	git_commit_free(parent);
	git_reference_free(ref);
	return ret;
}

int
bk_repo_get_csr_key(struct bk_repo *r, const unsigned char key[BK_KEY_LEN],
    const char *id, struct buf *out, struct buf *err)
{
	git_reference *ref = NULL;
	git_commit *c = NULL;
	git_tree *tree = NULL;
	git_tree_entry *e = NULL;
	git_blob *blob = NULL;
	char	*path = NULL;
	int	 ret = -1;

	if (asprintf(&path, "%s.key", id) == -1) {
		buf_printf(err, "out of memory");
		return -1;
	}
	if (git_reference_lookup(&ref, r->repo, BK_CSR_REF) != 0) {
		ret = 0;	/* no key was ever sealed */
		goto out;
	}
	if (git_commit_lookup(&c, r->repo, git_reference_target(ref)) != 0 ||
	    git_commit_tree(&tree, c) != 0) {
		lg_error(err, BK_CSR_REF);
		goto out;
	}
	if (git_tree_entry_bypath(&e, tree, path) != 0) {
		ret = 0;
		goto out;
	}
	if (git_blob_lookup(&blob, r->repo, git_tree_entry_id(e)) != 0) {
		lg_error(err, path);
		goto out;
	}
	if (bk_open(key, path, git_blob_rawcontent(blob),
	    (size_t)git_blob_rawsize(blob), out, err) == -1)
		goto out;
	ret = 1;
out:
	free(path);
	git_blob_free(blob);
	git_tree_entry_free(e);
	git_tree_free(tree);
	git_commit_free(c);
	git_reference_free(ref);
	return ret;
}
