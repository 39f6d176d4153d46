/*
 * session.h - the backup as the commands use it: the repository (repo.h)
 * with its key (crypt.h), and the identity and vmdir login of the appliance
 * it is of, for reading the live state (state.h).
 *
 * apply, rollback, recover and history hold a session opened whole
 * (backup_session_open, _open_read) and closed with backup_session_close;
 * to them it is opaque. The backup command and the restore engine
 * (restore.h) open its parts one at a time into a zeroed struct
 * (backup_session_live, _repo) and free them with backup_session_clear.
 * cfg is borrowed; everything else the session holds is its own, the key
 * wiped when it goes.
 */
#ifndef VCR_BK_SESSION_H
#define VCR_BK_SESSION_H

#include "buf.h"
#include "config.h"
#include "crypt.h"
#include "repo.h"

struct bk_session {
	struct config	*cfg;
	unsigned char	 key[BK_KEY_LEN];
	struct bk_repo	*repo;		/* NULL until backup_session_repo */
	/* The appliance's identity and the vmdir login: the session's own
	 * (backup_session_live), or borrowed from the transaction that
	 * opened it, so that a run identifies the appliance once. NULL until
	 * one of the two. */
	const struct appliance *app;
	const struct vmdir_login *login;
	struct appliance own_app;
	struct vmdir_login own_login;
};

/*
 * The repository and its key. With create, both are made when the
 * repository does not exist; an existing repository without its key, or
 * with another key, is refused, saying what to do.
 */
int  backup_session_repo(struct bk_session *s, int create, struct buf *err);
/* The appliance's identity and the vmdir login. */
int  backup_session_live(struct bk_session *s, struct buf *err);
/* Frees what s holds (not s). */
void backup_session_clear(struct bk_session *s);

/* bad: NULL when the commit authenticates (or was made before snapshots
 * were, and is accepted), else why it is refused (naming it). */
typedef int (*bk_session_list_fn)(const char *id, long long when,
    const char *message, const char *bad, void *arg);
/*
 * A session on the appliance app, logged in to its vmdir as login (both
 * borrowed: they must outlive it), and its repository (with create, made
 * when missing; else a missing one is an error).
 */
int  backup_session_open(struct bk_session **out, struct config *cfg,
    const struct appliance *app, const struct vmdir_login *login,
    int create, struct buf *err);
/*
 * A session on the repository alone, to read it (history): no appliance
 * tool is run, nothing is made. 1 when there is no repository (*out NULL).
 */
int  backup_session_open_read(struct bk_session **out, struct config *cfg,
    struct buf *err);
/*
 * A snapshot of the appliance now, with the vmdir entries absent[0..
 * nabsent-1] (raw DNs: those a transaction will create) recorded as absent
 * where they do not exist (state.h, bk_state_add_absent), so that
 * restoring it deletes them.
 */
int  backup_session_snapshot(struct bk_session *s, const struct bk_meta *meta,
    const char *const *absent, size_t nabsent, char id[41], struct buf *err);
/* Makes the appliance equal to snapshot rev (changes: how many entries
 * were rewritten; may be NULL). */
int  backup_session_restore(struct bk_session *s, const char *rev,
    long *changes, struct buf *err);
/*
 * How many entries the change from snapshot base to snapshot changed also
 * differ between changed and now (a later change touched them): names gets
 * the first few. -1 on failure.
 */
int  backup_session_overlap(struct bk_session *s, const char *base,
    const char *changed, const char *now, struct buf *names,
    struct buf *err);
/*
 * What restoring snapshot rev would do: how many entries it would change
 * (-1 on failure), with a warning on stderr for every certificate it would
 * put back that is expired or expires within 30 days; id gets rev's commit.
 */
long backup_session_preview(struct bk_session *s, const char *rev,
    char id[41], struct buf *err);
/* Records an outcome on the state of snapshot rev (bk_repo_mark). */
int  backup_session_mark(struct bk_session *s, const char *rev,
    const struct bk_meta *meta, char id[41], struct buf *err);
int  backup_session_list(struct bk_session *s, bk_session_list_fn fn,
    void *arg, struct buf *err);
void backup_session_close(struct bk_session *s);

#endif
