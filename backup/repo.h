/*
 * repo.h - the backup repository: a bare git repository (libgit2) with one
 * commit per snapshot on refs/heads/snapshots, which HEAD names, so that
 * `git log' and `git diff' work on it as they are.
 *
 * A snapshot commit's tree holds the state items (state.h), secrets sealed
 * with the backup key (crypt.h), manifest.json (the appliance, the vcrotate
 * version, and per item the SHA-256 of the stored blob and whether it is
 * sealed) and `created', the time of the snapshot (a file of its own so
 * that the manifest of an unchanged appliance is unchanged too).
 *
 * Each snapshot commit is authenticated as a whole: its message ends with
 * the trailers Vcrotate-Key-Id (the backup key's id) and Vcrotate-MAC, an
 * HMAC-SHA256 under a key derived from the backup key (crypt.h) of the
 * commit's parents, its message before the MAC, the manifest, `created'
 * and every item's path, sealed flag and blob digest (repo.c, snap_mac).
 * Every reader checks it before anything of the snapshot is used; a commit
 * without one is accepted only when it was made before snapshots were
 * authenticated (docs/backup.md, "Authentication").
 *
 * The repository is created 0700 with fsync and a reflog for every ref
 * update. Writers must hold the appliance lock (one writer at a time):
 * libgit2's ref update is compare-and-swap, not a lock.
 */
#ifndef VCR_BK_REPO_H
#define VCR_BK_REPO_H

#include <jansson.h>

#include "buf.h"
#include "state.h"

#define BK_REF		"refs/heads/snapshots"
#define BK_MANIFEST	"manifest.json"
#define BK_CREATED	"created"
#define BK_SCHEMA	"vcrotate.snapshot/1"
/* Trailers of a snapshot commit's message: the backup key's id (crypt.h)
 * and, as the message's last line, the snapshot's MAC (64 hex digits). */
#define BK_TRAILER_KEY_ID	"Vcrotate-Key-Id"
#define BK_TRAILER_MAC		"Vcrotate-MAC"

struct bk_repo;

/* What a snapshot commit says beyond its tree. */
struct bk_meta {
	const char	*operator;
	const char	*ticket;	/* may be NULL */
	const char	*reason;
	const char	*transaction;	/* may be NULL */
	const char	*result;	/* may be NULL */
	const char	*plan;		/* the plan's SHA-256, may be NULL */
	const char	*elapsed;	/* "12s", may be NULL */
	const char	*steps;		/* "1 sts 0.41s, 2 ...", may be NULL */
	const char	*timings;	/* "preflight 0.30s, ...", may be NULL */
};

/*
 * Opens the repository at path; with create, makes it when missing (mode
 * 0700, parents too). *created tells whether it was made now. Refuses a
 * repository readable or writable by group or others.
 */
int  bk_repo_open(struct bk_repo **out, const char *path, int create,
    int *created, struct buf *err);
void bk_repo_close(struct bk_repo *r);
/*
 * A bk_repo over a libgit2 repository already open (for tests and fuzzing:
 * an in-memory object database), which it then owns; label stands for the
 * path in messages. 0, or -1 when out of memory (repo is then not taken).
 */
struct git_repository;
int  bk_repo_wrap(struct bk_repo **out, struct git_repository *repo,
    const char *label);

/* Commits a snapshot of st; out_id gets the commit id (41 bytes). */
int  bk_repo_snapshot(struct bk_repo *r, const struct bk_state *st,
    const unsigned char key[32], const char *pnid, const char *machine_id,
    const struct bk_meta *meta, char out_id[41], struct buf *err);

/*
 * Commits the tree of the snapshot at rev again, with meta's message: a
 * transaction's outcome recorded on a state already stored, without reading
 * the appliance again. Refused when rev does not authenticate (a MAC is
 * never put on a tree that had none it could be trusted by).
 */
int  bk_repo_mark(struct bk_repo *r, const char *rev,
    const unsigned char key[32], const char *pnid,
    const struct bk_meta *meta, char out_id[41], struct buf *err);
/* Removes lock files an interrupted writer left in the repository at path.
 * Only with the appliance lock held. */
void bk_repo_clear_stale_locks(const char *path);
/*
 * Reads the snapshot at rev (a commit id, "snapshots~2", a tag...): its
 * items, unsealed, and its manifest (caller json_decref's), with "created"
 * and "authenticated" (false for a snapshot made before snapshots were
 * authenticated, which the caller warns of) added. The commit's MAC is
 * checked before any item is opened, every stored blob against the
 * manifest digest, and every sealed item must open: any mismatch fails the
 * read, with err naming the commit.
 */
int  bk_repo_read(struct bk_repo *r, const char *rev,
    const unsigned char key[32], struct bk_state *st, json_t **manifest,
    char out_id[41], struct buf *err);
/* The warning on stderr for a snapshot bk_repo_read found made before
 * snapshots were authenticated (its manifest's "authenticated" false). */
void bk_repo_warn_unauthenticated(const json_t *manifest, const char *id);

/*
 * The value of trailer name ("Name: value") in a snapshot commit's message,
 * after its subject line (which holds the operator's reason), malloc'd;
 * NULL when there is none, or out of memory. The first such line counts.
 */
char *bk_trailer(const char *msg, const char *name);

/* Calls fn for each snapshot, newest first. */
typedef int (*bk_list_fn)(const char *id, long long when, const char *message,
    void *arg);
int  bk_repo_list(struct bk_repo *r, bk_list_fn fn, void *arg,
    struct buf *err);

/*
 * Whether the snapshot at rev authenticates, without opening its sealed
 * items: 0 its MAC verifies, 1 made before snapshots were authenticated
 * and accepted, -1 refused (err names the commit and says why).
 */
int  bk_repo_check(struct bk_repo *r, const char *rev,
    const unsigned char key[32], struct buf *err);

/*
 * Whether key is the key of the repository: the newest key id its
 * snapshots record, or, in a repository made before key ids were recorded,
 * whether a sealed item of its newest snapshot opens. 0, or -1 with err
 * saying which key ids differ and what to do.
 */
int  bk_repo_key_check(struct bk_repo *r, const unsigned char key[32],
    struct buf *err);

/*
 * Reads every object of every snapshot (bk_repo_read of each), going on
 * after a snapshot that fails: err gets one line per such snapshot, naming
 * it. 0 when every one read, -1 otherwise.
 */
struct bk_verify {
	size_t		 n;		/* snapshots read */
	size_t		 legacy;	/* of which made before MACs */
	size_t		 bad;		/* refused */
};
int  bk_repo_verify(struct bk_repo *r, const unsigned char key[32],
    struct bk_verify *out, struct buf *err);

/*
 * Keys of certificate signing requests (vcrotate csr) are kept apart from
 * the snapshots, on BK_CSR_REF: each CSR commits ID.key (the private key,
 * PKCS#8 DER, sealed) and ID.csr (the request, PEM, as it is), ID being
 * the SHA-256 of the key's public half (hex), by which an import finds it.
 * Sealed before anything else is written: the key goes from memory to its
 * sealed blob, never on disk in clear.
 */
#define BK_CSR_REF	"refs/heads/csr-keys"
/* csr NULL: a key given to plan --import as a file, sealed alone. */
int  bk_repo_put_csr(struct bk_repo *r, const unsigned char key[32],
    const char *id, const char *csr, const unsigned char *pkey,
    size_t pkeylen, struct buf *err);
/*
 * The key ID.key of BK_CSR_REF, opened, appended to out (a secret: the
 * caller frees it with buf_free_secret): 1, or 0 when there is no such
 * key, or -1 with err saying why (unreadable, or not sealed by this key).
 */
int  bk_repo_get_csr_key(struct bk_repo *r, const unsigned char key[32],
    const char *id, struct buf *out, struct buf *err);

/* libgit2 set-up and tear-down, once per process. */
void bk_init(void);
void bk_shutdown(void);

#endif
