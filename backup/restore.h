/*
 * restore.h - putting a snapshot back: the live appliance made equal to a
 * snapshot of it (repo.h, state.h), entry by entry (units.h), then read
 * again and compared.
 *
 * Only what differs is written: VECS entries with vecs-cli (delete, then
 * create: it has no update; keys reach it through files in a private
 * directory, lock.h), vmdir entries with one LDAP operation each, the VMCA
 * files atomically, VCDB's vpx_ext rows with UPDATEs in one SQL transaction
 * (a row is never inserted; one the snapshot lacks is left alone). STS credentials and CA entries are added and deleted as
 * the snapshot says; principals and endpoints are only modified, or deleted
 * where the snapshot records them absent (state.h, @absent); an entry the
 * snapshot neither holds nor records absent is refused, not deleted. The
 * order follows vmafdd's root sync (restore.c, restore_pass).
 *
 * Callers hold the appliance lock (lock.h, writer_begin). Output: each
 * change on stdout ("put back", "recreate", "remove"), warnings on stderr;
 * err says why a call failed.
 */
#ifndef VCR_BK_RESTORE_H
#define VCR_BK_RESTORE_H

#include "buf.h"
#include "session.h"

/*
 * Whether only is a scope restore knows: NULL (everything),
 * vecs:STORE[/ALIAS], sts, solution-users, trust-anchors.
 */
int  bk_restore_scope_valid(const char *only);

/*
 * Makes the appliance of session s (backup_session_live and
 * backup_session_repo done) equal to snapshot rev within scope only; with
 * dry, only prints what it would do. 0 when the appliance equals the
 * snapshot after (changes, when not NULL: how many entries were
 * rewritten), -1 otherwise. A snapshot of another appliance is refused.
 */
int  bk_restore(struct bk_session *s, const char *rev, const char *only,
    int dry, long *changes, struct buf *err);

/*
 * Before a restore: warns on stderr of every certificate it would put back
 * that is expired or expires within 30 days, and returns how many entries
 * it would change; -1 on failure. id gets the commit rev names now ("HEAD"
 * moves with the snapshot that follows).
 */
long bk_restore_preview(struct bk_session *s, const char *rev,
    const char *only, char id[41], struct buf *err);

#endif
