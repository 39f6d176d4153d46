/*
 * fault.h - the one layer every side effect of vcrotate passes through: each
 * vecs-cli write, each LDAP write, each service stop or start, each git ref
 * update, each journal and file write. Tests use it to make the Nth side
 * effect fail, or to kill the process just before or just after it.
 *
 * It is inactive unless the environment asks for it:
 *
 *   VCROTATE_FAULT=fail:N | crash-before:N | crash-after:N
 *   VCROTATE_FAULT_LOG=FILE    appends "N what" for every side effect
 *
 * A crash is SIGKILL sent to ourselves: no handler, no atexit, no flush, as
 * when the power goes or an operator types kill -9.
 *
 *	if (fault_point("vecs-cli entry create") == -1)
 *		return error ("injected fault", errno EIO);
 *	... the side effect ...
 *	fault_done();	(only when it succeeded)
 */
#ifndef VCR_FAULT_H
#define VCR_FAULT_H

#include "buf.h"

/* Before a side effect: -1 (errno EIO) when it is to fail, with err saying
 * so (err may be NULL); does not return when the process is to die. */
int  fault_point(const char *what, struct buf *err);
/* After the side effect succeeded. */
void fault_done(void);
/* Forgets the count and reads the environment again: for tests that
 * inject a fault at every N in one process (tests/unit/test_txn.c). */
void fault_reset(void);

#endif
