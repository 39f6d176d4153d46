/*
 * fuzz_backup.c - the reader of backup snapshots (backup/repo.c
 * bk_repo_read): the manifest.json of a snapshot commit, the walk of its
 * tree against the manifest (every blob listed, its digest, the count),
 * the opening of sealed items (backup/crypt.c bk_open) and the state the
 * snapshot gives (backup/state.c: sorted, no duplicates). A backup
 * repository is outside input: it sits on disk for years, and a restore
 * trusts what it reads.
 *
 * The input is a snapshot tree in a text form (tests/fuzz/mkcorpus.sh
 * makes it from real snapshots):
 *
 *   MANIFEST-JSON ( "\n--- " PATH "\n" CONTENT )*
 *
 * The harness puts those blobs in a tree (paths git refuses, and paths with
 * an empty component, are left out),
 * commits it in an in-memory repository and reads the commit with
 * bk_repo_read under a fixed backup key (FUZZ_KEY; the corpus was sealed
 * with it). It then reads it a second time with the manifest's digests set
 * to those of the blobs, so that what lies behind the digest check (the
 * sealed items, the count, duplicates) is reached by mutated inputs too.
 *
 * Invariants of a snapshot that reads: one state item per manifest item,
 * sorted and found by bk_state_get; an unsealed item holds its blob's
 * bytes; a sealed item, sealed again at its path, gives its blob's bytes
 * (the encryption is deterministic; nothing but the key makes a blob that
 * opens).
 */
#include <string.h>

#include <git2.h>
#include <git2/sys/mempack.h>
#include <jansson.h>

#include "buf.h"
#include "crypt.h"
#include "fuzz.h"
#include "inventory.h"
#include "repo.h"
#include "state.h"

#define DELIM		"\n--- "
#define DELIM_LEN	5
/* The key of the corpus: 32 bytes, hex in tests/fuzz/backup.key. */
#define FUZZ_KEY	"vcrotate-fuzz-backup-key-0123456"

struct rec {
	char		*path;
	const char	*data;
	size_t		 len;
	int		 used;	/* in the tree (unless a later one replaced it) */
};

static git_odb_backend *mem;
static git_repository *grepo;
static struct bk_repo *repo;

static void
setup(void)
{
	git_odb	*odb = NULL;

	if (repo != NULL)
		return;
	git_libgit2_init();
	/* Objects of one input must not be served to the next from a
	 * cache once the object database is emptied. */
	git_libgit2_opts(GIT_OPT_ENABLE_CACHING, 0);
	if (git_odb_new(&odb) != 0 || git_mempack_new(&mem) != 0 ||
	    git_odb_add_backend(odb, mem, 1) != 0 ||
	    git_repository_wrap_odb(&grepo, odb) != 0 ||
	    bk_repo_wrap(&repo, grepo, "fuzz.git") != 0)
		abort();
	git_odb_free(odb);
}

/* Splits the input: the manifest, then the records. */
static size_t
split(const char *p, size_t size, size_t *mlen, struct rec *recs, size_t max)
{
	const char *end = p + size, *d, *nl;
	size_t	 n = 0;

	d = memmem(p, size, DELIM, DELIM_LEN);
	*mlen = d != NULL ? (size_t)(d - p) : size;
	while (d != NULL && n < max) {
		p = d + DELIM_LEN;
		d = memmem(p, (size_t)(end - p), DELIM, DELIM_LEN);
		nl = memchr(p, '\n', (size_t)((d != NULL ? d : end) - p));
		if (nl == NULL)
			continue;
		recs[n].path = strndup(p, (size_t)(nl - p));
		recs[n].data = nl + 1;
		recs[n].len = (size_t)((d != NULL ? d : end) - (nl + 1));
		if (recs[n].path != NULL)
			n++;
	}
	return n;
}

static int
add_blob(git_index *idx, const char *path, const void *data, size_t len)
{
	git_index_entry e;
	git_oid	 oid;

	/* No tree has an entry with an empty name. */
	if (*path == '\0' || *path == '/' || path[strlen(path) - 1] == '/' ||
	    strstr(path, "//") != NULL)
		return -1;
	if (git_blob_create_from_buffer(&oid, grepo, data, len) != 0)
		return -1;
	memset(&e, 0, sizeof(e));
	e.mode = GIT_FILEMODE_BLOB;
	e.path = path;
	e.id = oid;
	return git_index_add(idx, &e);
}

/* Whether a is a folder of b ("x" of "x/y"). */
static int
folder_of(const char *a, const char *b)
{
	size_t	 n = strlen(a);

	return strncmp(a, b, n) == 0 && b[n] == '/';
}

/*
 * Whether path is a file where an earlier record made a folder, or the
 * other way round: no tree holds both, and libgit2 1.5 leaks writing an
 * in-memory index that does.
 */
static int
clashes(struct rec *recs, size_t i)
{
	size_t	 j;

	if (folder_of(recs[i].path, BK_MANIFEST) ||
	    folder_of(BK_MANIFEST, recs[i].path))
		return 1;
	for (j = 0; j < i; j++)
		if (recs[j].used && (folder_of(recs[i].path, recs[j].path) ||
		    folder_of(recs[j].path, recs[i].path)))
			return 1;
	return 0;
}

/* The commit of a tree of the manifest and the records, hex in id. */
static int
commit(const char *man, size_t mlen, struct rec *recs, size_t n,
    char id[41])
{
	git_index *idx = NULL;
	git_tree *tree = NULL;
	git_signature *sig = NULL;
	git_oid	 tid, cid;
	size_t	 i;
	int	 ret = -1;

	if (git_index_new(&idx) != 0)
		return -1;
	if (add_blob(idx, BK_MANIFEST, man, mlen) != 0)
		goto out;
	for (i = 0; i < n; i++)
		recs[i].used = !clashes(recs, i) && add_blob(idx,
		    recs[i].path, recs[i].data, recs[i].len) == 0;
	if (git_index_write_tree_to(&tid, idx, grepo) != 0 ||
	    git_tree_lookup(&tree, grepo, &tid) != 0 ||
	    git_signature_new(&sig, "vcrotate", "vcrotate@localhost",
	    1700000000, 0) != 0 ||
	    git_commit_create(&cid, grepo, NULL, sig, sig, NULL, "fuzz\n",
	    tree, 0, NULL) != 0)
		goto out;
	git_oid_tostr(id, 41, &cid);
	ret = 0;
out:
	git_signature_free(sig);
	git_tree_free(tree);
	git_index_free(idx);
	return ret;
}

/* The last record in the tree at path (the one git keeps), or NULL. */
static const struct rec *
rec_at(const struct rec *recs, size_t n, const char *path)
{
	while (n-- > 0)
		if (recs[n].used && strcmp(recs[n].path, path) == 0)
			return &recs[n];
	return NULL;
}

static void
check_state(const struct bk_state *st, json_t *man, const struct rec *recs,
    size_t n)
{
	const unsigned char *key = (const unsigned char *)FUZZ_KEY;
	json_t	*items = json_object_get(man, "items"), *it;
	struct buf again = BUF_INIT;
	const struct rec *r;
	size_t	 i;

	FUZZ_CHECK(json_is_object(items));
	FUZZ_CHECK(st->n == json_object_size(items));
	for (i = 0; i < st->n; i++) {
		const struct bk_item *b = &st->items[i];

		FUZZ_CHECK(i == 0 || strcmp(st->items[i - 1].path,
		    b->path) < 0);
		FUZZ_CHECK(bk_state_get(st, b->path) == b);
		FUZZ_CHECK((it = json_object_get(items, b->path)) != NULL);
		FUZZ_CHECK(b->secret == json_is_true(json_object_get(it,
		    "sealed")));
		FUZZ_CHECK((r = rec_at(recs, n, b->path)) != NULL);
		if (!b->secret) {
			FUZZ_CHECK(b->len == r->len && (r->len == 0 ||
			    memcmp(b->data, r->data, r->len) == 0));
			continue;
		}
		buf_reset(&again);
		FUZZ_CHECK(bk_seal(key, b->path, b->data, b->len, &again) == 0);
		FUZZ_CHECK(again.len == r->len &&
		    memcmp(again.data, r->data, r->len) == 0);
	}
	buf_free_secret(&again);
}

/* Reads the snapshot; 0 when it read. */
static int
read_snapshot(const char *man, size_t mlen, struct rec *recs, size_t n)
{
	struct bk_state st;
	struct buf err = BUF_INIT;
	json_t	*manifest = NULL;
	char	 id[41], got[41];
	int	 rc = -1;

	if (commit(man, mlen, recs, n, id) == 0) {
		rc = bk_repo_read(repo, id, (const unsigned char *)FUZZ_KEY,
		    &st, &manifest, got, &err);
		if (rc == 0) {
			FUZZ_CHECK(strcmp(id, got) == 0);
			check_state(&st, manifest, recs, n);
			bk_state_free(&st);
			json_decref(manifest);
		} else {
			FUZZ_CHECK(err.len > 0);
			FUZZ_CHECK(manifest == NULL && st.n == 0 &&
			    st.items == NULL);
		}
	}
	buf_free(&err);
	git_mempack_reset(mem);
	return rc;
}

/* The manifest with each listed item's digest set to its blob's; NULL
 * when nothing changes. */
static char *
fix_digests(const char *man, size_t mlen, const struct rec *recs, size_t n)
{
	json_error_t jerr;
	json_t	*j, *items, *it;
	char	 digest[DIGEST_LEN], *text = NULL;
	const char *old;
	size_t	 i;
	int	 changed = 0;

	if ((j = json_loadb(man, mlen, 0, &jerr)) == NULL)
		return NULL;
	items = json_object_get(j, "items");
	for (i = 0; json_is_object(items) && i < n; i++) {
		if (!recs[i].used ||
		    (it = json_object_get(items, recs[i].path)) == NULL ||
		    !json_is_object(it))
			continue;
		inventory_digest_bytes(recs[i].data, recs[i].len, digest);
		old = json_string_value(json_object_get(it, "digest"));
		if (old != NULL && strcmp(old, digest) == 0)
			continue;
		json_object_set_new(it, "digest", json_string(digest));
		changed = 1;
	}
	if (changed)
		text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(j);
	return text;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rec recs[64] = { { NULL, NULL, 0, 0 } };
	size_t	 n, mlen, i;
	char	*fixed;

	setup();
	n = split((const char *)data, size, &mlen, recs,
	    sizeof(recs) / sizeof(recs[0]));
	if (read_snapshot((const char *)data, mlen, recs, n) == -1 &&
	    (fixed = fix_digests((const char *)data, mlen, recs, n)) != NULL) {
		(void)read_snapshot(fixed, strlen(fixed), recs, n);
		free(fixed);
	}
	for (i = 0; i < n; i++)
		free(recs[i].path);
	return 0;
}
