/*
 * lock.h - the writers' protocol: one command at a time changes the
 * appliance or the backup. Every command that writes begins with
 * writer_begin: the appliance lock (appliance.h, appliance_lock), no
 * interrupted transaction waiting for recover (journal.h), and what a
 * killed run left behind removed; the lock is held until the command closes
 * *lockfd (or exits).
 *
 * Key material on its way to vecs-cli lives in private directories
 * (private_dir), ROOT/var/lib/vcrotate/<what>.XXXXXX, 0700; their maker
 * removes them, and writer_begin sweeps those a killed run left ("apply."
 * and "restore." ones).
 */
#ifndef VCR_LOCK_H
#define VCR_LOCK_H

#include "buf.h"
#include "config.h"

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
/*
 * A directory under ROOT/var/lib/vcrotate that only root can enter, for
 * key material on its way to vecs-cli (malloc'd path, NULL on failure; the
 * caller removes it). what: "apply" or "restore".
 */
char *private_dir(const char *root, const char *what, struct buf *err);

#endif
