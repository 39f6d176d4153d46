/*
 * commands.h - the vcrotate commands, one file each (cmd_<name>.c), listed
 * in main.c's table with their operands and options. Each gets its command
 * line parsed against that table (cl: its options and operands; cl->syn
 * names the command, "backup restore") and the options common to all
 * commands in cfg.
 */
#ifndef VCR_COMMANDS_H
#define VCR_COMMANDS_H

#include "config.h"

int cmd_check(const struct cmdline *cl, struct config *cfg);
int cmd_plan(const struct cmdline *cl, struct config *cfg);	/* and plan show */
int cmd_backup(const struct cmdline *cl, struct config *cfg);	/* every subcommand */
int cmd_apply(const struct cmdline *cl, struct config *cfg);
int cmd_history(const struct cmdline *cl, struct config *cfg);
int cmd_rollback(const struct cmdline *cl, struct config *cfg);
int cmd_recover(const struct cmdline *cl, struct config *cfg);

/*
 * The backup, for apply (cmd_backup.c): a session that has read the
 * appliance's identity and opened the repository (made when missing).
 */
struct bk_session;
struct bk_meta;
/* bad: NULL when the commit authenticates (or was made before snapshots
 * were, and is accepted), else why it is refused (naming it). */
typedef int (*bk_session_list_fn)(const char *id, long long when,
    const char *message, const char *bad, void *arg);
int  backup_session_open(struct bk_session **out, struct config *cfg,
    struct buf *err);
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
char *private_dir(const char *root, const char *what, struct buf *err);

/*
 * The start of every command that writes to the appliance or the backup:
 * the appliance lock (*lockfd), no interrupted transaction waiting for
 * recover (unless `recovering'), and what a crashed run left behind (key
 * files in private directories, git lock files) removed. 0, or the exit
 * code to leave with: EXIT_BUSY, EXIT_PENDING, or 1; err says why.
 */
int  writer_begin(struct config *cfg, const char *who, int recovering,
    int *lockfd, struct buf *err);
/* Whether an interrupted transaction waits for recover: 0 no, EXIT_PENDING
 * (err names it and what to run), 1 when its journal cannot be read. */
int  journal_pending(const char *root, struct buf *err);

#endif
