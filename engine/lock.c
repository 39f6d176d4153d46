/*
 * lock.c - the writers' protocol: the appliance lock, a pending journal,
 * what killed runs left behind. See lock.h.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "appliance.h"
#include "fileio.h"
#include "journal.h"
#include "lock.h"
#include "repo.h"

/*
 * A directory under ROOT/var/lib/vcrotate that only root can enter, for key
 * material on its way to vecs-cli (malloc'd path; the caller removes it).
 */
/*
 * ROOT/var/lib/vcrotate as it must be to hold private directories: a
 * directory (not a link to one) of ours that nobody else can write; one
 * that was there already is checked, never taken on trust.
 */
static int
base_private(const char *base, struct buf *err)
{
	struct stat st;

	if (lstat(base, &st) == -1) {
		buf_printf(err, "%s: %s", base, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		buf_printf(err, "refusing to put key material under %s: it "
		    "must be a directory of uid %ld that only it can write "
		    "(it is %s, uid %ld, mode %04o)", base, (long)geteuid(),
		    S_ISLNK(st.st_mode) ? "a symbolic link" : S_ISDIR(
		    st.st_mode) ? "a directory" : "not a directory",
		    (long)st.st_uid, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

char *
private_dir(const char *root, const char *what, struct buf *err)
{
	char	*base = NULL, *dir = NULL;

	if ((base = app_path(root, APP_VCROTATE_TMP)) == NULL ||
	    asprintf(&dir, "%s/%s.XXXXXX", base, what) == -1) {
		free(base);
		return NULL;
	}
	if (mkdir(base, 0700) == -1 && errno != EEXIST) {
		buf_printf(err, "%s: %s", base, strerror(errno));
		free(dir);
		dir = NULL;
	} else if (base_private(base, err) == -1) {
		free(dir);
		dir = NULL;
	} else if (mkdtemp(dir) == NULL) {
		buf_printf(err, "%s: %s", dir, strerror(errno));
		free(dir);
		dir = NULL;
	}
	free(base);
	return dir;
}

/* Removes ROOT/var/lib/vcrotate/<what>.XXXXXX directories a killed run
 * left, with any key file still in them. */
static void
private_dir_sweep(const char *root)
{
	char	*base = app_path(root, APP_VCROTATE_TMP), *d = NULL, *f = NULL;
	DIR	*dir, *sub;
	struct dirent *e, *fe;

	if (base == NULL || (dir = opendir(base)) == NULL) {
		free(base);
		return;
	}
	while ((e = readdir(dir)) != NULL) {
		if ((strncmp(e->d_name, "apply.", 6) != 0 &&
		    strncmp(e->d_name, "restore.", 8) != 0) ||
		    asprintf(&d, "%s/%s", base, e->d_name) == -1)
			continue;
		if ((sub = opendir(d)) != NULL) {
			while ((fe = readdir(sub)) != NULL) {
				if (strcmp(fe->d_name, ".") == 0 ||
				    strcmp(fe->d_name, "..") == 0 ||
				    asprintf(&f, "%s/%s", d, fe->d_name) == -1)
					continue;
				unlink(f);
				free(f);
			}
			closedir(sub);
		}
		if (rmdir(d) == 0)
			fprintf(stderr, "vcrotate: removed %s, left by an "
			    "interrupted run\n", d);
		free(d);
	}
	closedir(dir);
	free(base);
}

/*
 * Removes what a killed run left: the ROOT/var/lib/vcrotate/<what>.XXXXXX
 * directories with any key file still in them, and the temporary files of
 * an atomic write of the VMCA files (a copy of a new key, for one).
 */
static void
stale_files_sweep(const char *root)
{
	static const char *const vmca[] = { APP_VMCA_KEY, APP_VMCA_ROOT };
	size_t	 i;

	char	*path;

	private_dir_sweep(root);
	for (i = 0; i < sizeof(vmca) / sizeof(vmca[0]); i++)
		if ((path = app_path(root, vmca[i])) != NULL) {
			file_sweep_tmp(path);
			free(path);
		}
}

int
journal_pending(const char *root, struct buf *err)
{
	struct journal j;
	int	 r;

	if ((r = journal_load(&j, root, err)) == 1)
		buf_printf(err, "transaction %s was interrupted (its journal "
		    "is %s); nothing else may change the appliance until it "
		    "is finished: run vcrotate recover (back to the before "
		    "state) or vcrotate recover --forward", journal_value(&j,
		    "transaction") != NULL ? journal_value(&j, "transaction") :
		    "?", j.path);
	journal_free(&j);
	return r == 1 ? EXIT_PENDING : r == -1 ? 1 : 0;
}

int
writer_begin(struct config *cfg, const char *who, int recovering,
    int *lockfd, struct buf *err)
{
	int	 r;

	if (appliance_lock(cfg->root, who, lockfd, err) == -1)
		return errno == EWOULDBLOCK ? EXIT_BUSY : 1;
	/* Nobody else runs now: whatever a killed run left is stale, and
	 * recovery never needs it (it stages again from the snapshots). A
	 * command refused below for a pending journal removes it too. */
	stale_files_sweep(cfg->root);
	if (!recovering && (r = journal_pending(cfg->root, err)) != 0) {
		close(*lockfd);
		*lockfd = -1;
		return r;
	}
	if (cfg->backup_repo != NULL)
		bk_repo_clear_stale_locks(cfg->backup_repo);
	return 0;
}
