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

#include "crypt.h"
#include "fault.h"
#include "repo.h"
#include "state.h"

struct bk_repo {
	git_repository	*repo;
	char		*path;
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

static int
index_add(git_repository *repo, git_index *idx, const char *path,
    const void *data, size_t len, struct buf *err)
{
	git_index_entry e;
	git_oid	 oid;

	if (git_blob_create_from_buffer(&oid, repo, data, len) != 0) {
		lg_error(err, path);
		return -1;
	}
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

/*
 * Commits tree on BK_REF with the message of meta: the one git ref update
 * of a snapshot, and so one side effect (fault.h).
 */
static int
commit_tree(struct bk_repo *r, git_tree *tree, const char *pnid,
    const struct bk_meta *meta, char out_id[41], struct buf *err)
{
	git_commit *parent = NULL;
	git_signature *sig = NULL;
	git_reference *ref = NULL;
	git_oid	 commit_id;
	struct buf msg = BUF_INIT;
	const char *p;
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

int
bk_repo_mark(struct bk_repo *r, const char *rev, const char *pnid,
    const struct bk_meta *meta, char out_id[41], struct buf *err)
{
	git_object *obj = NULL;
	git_tree *tree = NULL;
	int	 ret = -1;

	if (git_revparse_single(&obj, r->repo, rev) != 0 ||
	    git_object_peel((git_object **)&tree, obj, GIT_OBJECT_TREE) != 0) {
		lg_error(err, rev);
		goto out;
	}
	ret = commit_tree(r, tree, pnid, meta, out_id, err);
out:
	git_tree_free(tree);
	git_object_free(obj);
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
	char	*text = NULL, digest[DIGEST_LEN], when[32];
	time_t	 now = time(NULL);
	size_t	 i;
	int	 ret = -1;

	if (git_index_new(&idx) != 0) {
		lg_error(err, "in-memory index");
		goto out;
	}
	if ((items = json_object()) == NULL)
		goto oom;
	for (i = 0; i < st->n; i++) {
		const struct bk_item *it = &st->items[i];
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
		if (index_add(r->repo, idx, it->path, data, len, err) == -1)
			goto out;
		inventory_digest_bytes(data, len, digest);
		o = json_pack("{s:s,s:b}", "digest", digest, "sealed",
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
	if (index_add(r->repo, idx, BK_MANIFEST, text, strlen(text), err) == -1 ||
	    index_add(r->repo, idx, BK_CREATED, when, strlen(when), err) == -1)
		goto out;
	if (git_index_write_tree_to(&tree_id, idx, r->repo) != 0 ||
	    git_tree_lookup(&tree, r->repo, &tree_id) != 0) {
		lg_error(err, "writing the snapshot tree");
		goto out;
	}
	if (commit_tree(r, tree, pnid, meta, out_id, err) == -1)
		goto out;
	ret = 0;
	goto out;
oom:
	buf_printf(err, "out of memory");
out:
	buf_free_secret(&blob);
	free(text);
	json_decref(items);
	json_decref(man);
	git_tree_free(tree);
	git_index_free(idx);
	return ret;
}

struct walk {
	git_repository	*repo;
	const unsigned char *key;
	json_t		*items;		/* manifest items */
	struct bk_state	*st;
	struct buf	*err;
	size_t		 seen;
};

static int
walk_cb(const char *root, const git_tree_entry *entry, void *payload)
{
	struct walk *w = payload;
	git_blob *blob = NULL;
	struct buf plain = BUF_INIT;
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
	if (sealed) {
		if (bk_open(w->key, path, data, len, &plain, w->err) == -1)
			goto out;
		data = plain.data != NULL ? plain.data : "";
		len = plain.len;
	}
	if (bk_state_add(w->st, path, data, len, sealed) == -1) {
		buf_printf(w->err, "out of memory");
		goto out;
	}
	w->seen++;
	ret = 0;
out:
	buf_free_secret(&plain);
	git_blob_free(blob);
	free(path);
	return ret;
}

int
bk_repo_read(struct bk_repo *r, const char *rev, const unsigned char key[32],
    struct bk_state *st, json_t **manifest, char out_id[41], struct buf *err)
{
	git_object *obj = NULL;
	git_commit *commit = NULL;
	git_tree *tree = NULL;
	git_tree_entry *me = NULL, *ce = NULL;
	git_blob *mblob = NULL, *cblob = NULL;
	json_error_t jerr;
	json_t	*man = NULL, *schema;
	struct walk w;
	int	 ret = -1;

	memset(st, 0, sizeof(*st));
	*manifest = NULL;
	if (git_revparse_single(&obj, r->repo, rev) != 0 ||
	    git_object_peel((git_object **)&commit, obj, GIT_OBJECT_COMMIT) !=
	    0) {
		buf_printf(err, "no snapshot %s in %s", rev, r->path);
		goto out;
	}
	git_oid_tostr(out_id, 41, git_commit_id(commit));
	if (git_commit_tree(&tree, commit) != 0 ||
	    git_tree_entry_bypath(&me, tree, BK_MANIFEST) != 0 ||
	    git_blob_lookup(&mblob, r->repo, git_tree_entry_id(me)) != 0) {
		buf_printf(err, "snapshot %s has no manifest", rev);
		goto out;
	}
	man = json_loadb(git_blob_rawcontent(mblob),
	    (size_t)git_blob_rawsize(mblob), 0, &jerr);
	schema = man != NULL ? json_object_get(man, "schema") : NULL;
	if (schema == NULL || !json_is_string(schema) ||
	    strcmp(json_string_value(schema), BK_SCHEMA) != 0 ||
	    !json_is_object(json_object_get(man, "items"))) {
		buf_printf(err, "snapshot %s: the manifest is not a %s manifest",
		    rev, BK_SCHEMA);
		goto out;
	}
	if (git_tree_entry_bypath(&ce, tree, BK_CREATED) == 0 &&
	    git_blob_lookup(&cblob, r->repo, git_tree_entry_id(ce)) == 0)
		json_object_set_new(man, "created", json_stringn(
		    git_blob_rawcontent(cblob),
		    (size_t)git_blob_rawsize(cblob)));
	memset(&w, 0, sizeof(w));
	w.repo = r->repo;
	w.key = key;
	w.items = json_object_get(man, "items");
	w.st = st;
	w.err = err;
	if (git_tree_walk(tree, GIT_TREEWALK_PRE, walk_cb, &w) != 0) {
		if (err->len == 0)
			lg_error(err, "reading the snapshot");
		goto out;
	}
	if (w.seen != json_object_size(w.items)) {
		buf_printf(err, "snapshot %s: the manifest lists %zu items, "
		    "the tree holds %zu", rev, json_object_size(w.items),
		    w.seen);
		goto out;
	}
	if (bk_state_sort(st) == -1) {
		buf_printf(err, "snapshot %s: duplicate items", rev);
		goto out;
	}
	*manifest = man;
	man = NULL;
	ret = 0;
out:
	if (ret == -1)
		bk_state_free(st);
	json_decref(man);
	git_blob_free(mblob);
	git_blob_free(cblob);
	git_tree_entry_free(me);
	git_tree_entry_free(ce);
	git_tree_free(tree);
	git_commit_free(commit);
	git_object_free(obj);
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
	size_t		 n;
	struct buf	*err;
};

static int
verify_one(const char *id, long long when, const char *message, void *arg)
{
	struct verify *v = arg;
	struct bk_state st;
	json_t	*man = NULL;
	char	 got[41];

	(void)when;
	(void)message;
	if (bk_repo_read(v->r, id, v->key, &st, &man, got, v->err) == -1)
		return -1;
	bk_state_free(&st);
	json_decref(man);
	v->n++;
	return 0;
}

int
bk_repo_verify(struct bk_repo *r, const unsigned char key[32],
    size_t *nsnapshots, struct buf *err)
{
	struct verify v = { r, key, 0, err };
	int	 rc;

	*nsnapshots = 0;
	rc = bk_repo_list(r, verify_one, &v, err);
	*nsnapshots = v.n;
	return rc == 0 && err->len == 0 ? 0 : -1;
}
