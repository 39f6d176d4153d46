/*
 * fileio.h - writing files the way vcrotate must: atomically for whatever
 * a reader may look at any time (a temporary name, fsync, rename, fsync of
 * the directory), and staged in a private directory for key material on its
 * way to another program. Every file vcrotate creates is created here:
 * O_CREAT|O_EXCL|O_NOFOLLOW in its final directory, with its final mode,
 * never through a symlink (docs/security.md, "Files vcrotate creates").
 */
#ifndef VCR_FILEIO_H
#define VCR_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"

/*
 * Reads the whole of path into out (appended, NUL-terminated). Through
 * read(2) into a buf, not stdio: the file may be a key or a password, and
 * out is the only copy, which the caller wipes with buf_free_secret. 0, or
 * -1 with err naming the file.
 */
int   file_read(const char *path, struct buf *out, struct buf *err);

/*
 * Replaces path with data, atomically; mode applies to the new file. The
 * temporary file is PATH.tmp.PID, or PATH.tmp.PID.RANDOM when that name is
 * taken (it is left alone, with a warning). Refused, err saying why: a
 * directory its group or others can write unless it is sticky, and in a
 * sticky one a path that exists and is not ours.
 */
int   file_write_atomic(const char *path, const void *data, size_t len,
    mode_t mode, struct buf *err);

/* The same, the new file given owner uid and group gid before it takes
 * path's place ((uid_t)-1, (gid_t)-1: the writer's, as above). */
int   file_write_atomic_owned(const char *path, const void *data,
    size_t len, mode_t mode, uid_t uid, gid_t gid, struct buf *err);

/* Removes the temporary files a killed file_write_atomic of path left. */
void  file_sweep_tmp(const char *path);

/*
 * Writes data to dir/name (mode 0600, replacing a leftover of the same
 * name) and returns the path (malloc'd); dir must be ours and mode 0700
 * (private_dir's), else NULL with err saying so. file_unstage removes and
 * frees it.
 */
char *file_stage(const char *dir, const char *name, const void *data,
    size_t len, struct buf *err);
void  file_unstage(char *path);

#endif
