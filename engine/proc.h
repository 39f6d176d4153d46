/*
 * proc.h - running the appliance's own tools (vecs-cli, vmafd-cli,
 * lwregshell, service-control) without a shell.
 *
 * Arguments go to execv as they are: nothing is ever interpreted by a shell,
 * and callers must never put a secret in argv (it shows in ps). Secrets go
 * through files in a private directory or through stdin.
 */
#ifndef VCR_PROC_H
#define VCR_PROC_H

#include "buf.h"

struct proc_result {
	struct buf out;		/* everything the child wrote to stdout */
	struct buf err;		/* ... and to stderr */
	int	   status;	/* exit status, or 128 + signal number */
};

/*
 * Runs argv[0] (a path) with argv, feeding `input' (may be NULL) to its
 * stdin, and waits at most timeout_ms (0: no limit; the child is killed when
 * the time is up and status is 128 + SIGKILL). Returns 0 when the child ran
 * (whatever its status), -1 when it could not be started (errno set).
 * The caller frees res with proc_result_free. The process must ignore
 * SIGPIPE (main does), or a child that exits without reading its input
 * would kill it.
 */
int  proc_run(const char *const argv[], const char *input, int timeout_ms,
    struct proc_result *res);
void proc_result_free(struct proc_result *res);

#endif
