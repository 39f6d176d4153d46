/*
 * session.c - the backup repository and the appliance it is of, for the
 * commands. See session.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "appliance.h"
#include "restore.h"
#include "session.h"
#include "state.h"
#include "units.h"

/*
 * The repository and its key. A key is made only together with a new
 * repository: an existing repository without its key, or with a key that
 * is not the one its snapshots were made with, is refused, saying what to
 * do; a snapshot sealed with another key would be unreadable with the
 * repository's, and the other way round.
 */
int
backup_session_repo(struct bk_session *s, int create, struct buf *err)
{
	char	*keyfile = app_path(s->cfg->root, APP_BACKUP_KEY);
	struct stat st;
	int	 exists, created = 0, ret = -1;

	if (keyfile == NULL)
		return -1;
	exists = stat(s->cfg->backup_repo, &st) == 0;
	if (!exists && !create) {
		buf_printf(err, "no backup repository at %s (make one "
		    "with vcrotate backup snapshot)", s->cfg->backup_repo);
		goto out;
	}
	if (create && !exists) {
		char	*dir = strdup(keyfile), *slash;

		if (dir != NULL && (slash = strrchr(dir, '/')) != NULL) {
			*slash = '\0';
			if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
				buf_printf(err, "%s: %s", dir,
				    strerror(errno));
				free(dir);
				goto out;
			}
		}
		free(dir);
	}
	if (exists && stat(keyfile, &st) == -1 && errno == ENOENT) {
		buf_printf(err, "backup key %s is missing: the snapshots "
		    "in %s cannot be read or added to without the key they "
		    "were made with, and a new key is never made for an "
		    "existing repository; restore the key from where "
		    "docs/backup.md says to keep a copy", keyfile,
		    s->cfg->backup_repo);
		goto out;
	}
	if (bk_key_load(keyfile, s->key, create && !exists, err) == -1)
		goto out;
	if (bk_repo_open(&s->repo, s->cfg->backup_repo, create, &created,
	    err) == -1)
		goto out;
	if (!created && bk_repo_key_check(s->repo, s->key, err) == -1) {
		buf_printf(err, " (%s, repository %s)", keyfile,
		    s->cfg->backup_repo);
		goto out;
	}
	ret = 0;
out:
	free(keyfile);
	return ret;
}

/* Identity and vmdir login, for reading the live state. */
int
backup_session_live(struct bk_session *s, struct buf *err)
{
	if (appliance_identify(&s->own_app, s->cfg->root, err) == -1 ||
	    config_login(s->cfg, &s->own_login, err) == -1)
		return -1;
	s->app = &s->own_app;
	s->login = &s->own_login;
	return 0;
}

void
backup_session_clear(struct bk_session *s)
{
	OPENSSL_cleanse(s->key, sizeof(s->key));
	bk_repo_close(s->repo);
	appliance_free(&s->own_app);
	vmdir_login_free(&s->own_login);
}

int
backup_session_open(struct bk_session **out, struct config *cfg,
    const struct appliance *app, const struct vmdir_login *login,
    int create, struct buf *err)
{
	struct bk_session *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (s == NULL)
		return -1;
	s->cfg = cfg;
	bk_init();
	s->app = app;
	s->login = login;
	if (backup_session_repo(s, create, err) == -1) {
		backup_session_close(s);
		return -1;
	}
	*out = s;
	return 0;
}

int
backup_session_open_read(struct bk_session **out, struct config *cfg,
    struct buf *err)
{
	struct bk_session *s;
	struct stat st;

	*out = NULL;
	if (stat(cfg->backup_repo, &st) == -1 && errno == ENOENT)
		return 1;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		buf_printf(err, "out of memory");
		return -1;
	}
	s->cfg = cfg;
	bk_init();
	if (backup_session_repo(s, 0, err) == -1) {
		backup_session_close(s);
		return -1;
	}
	*out = s;
	return 0;
}

int
backup_session_snapshot(struct bk_session *s, const struct bk_meta *meta,
    const char *const *absent, size_t nabsent, char id[41], struct buf *err)
{
	struct bk_state st = { NULL, 0, 0 };
	int	 ret = -1;

	if (bk_state_read(&st, s->cfg->root, s->app, s->login, err) == 0 &&
	    (nabsent == 0 || bk_state_add_absent(&st, s->app, absent,
	    nabsent, err) == 0) && bk_repo_snapshot(s->repo, &st, s->key,
	    s->app->pnid, s->app->machine_id, meta, id, err) == 0)
		ret = 0;
	bk_state_free(&st);
	return ret;
}

int
backup_session_restore(struct bk_session *s, const char *rev, long *changes,
    struct buf *err)
{
	return bk_restore(s, rev, NULL, 0, changes, err);
}

int
backup_session_overlap(struct bk_session *s, const char *base,
    const char *changed, const char *now, struct buf *names, struct buf *err)
{
	struct bk_state st[3] = { { NULL, 0, 0 }, { NULL, 0, 0 },
	    { NULL, 0, 0 } };
	const char *rev[3] = { base, changed, now };
	struct unit *u[3] = { NULL, NULL, NULL };
	size_t	 n[3] = { 0, 0, 0 }, i, k;
	json_t	*man = NULL;
	char	 id[41], *name;
	int	 found = -1;

	for (k = 0; k < 3; k++) {
		json_decref(man);
		man = NULL;
		if (bk_repo_read(s->repo, rev[k], s->key, &st[k], &man, id,
		    err) == -1)
			goto out;
		if ((u[k] = units_of(&st[k], &n[k])) == NULL) {
			buf_printf(err, "out of memory");
			goto out;
		}
	}
	/* What base -> changed changed, and now holds otherwise. */
	found = 0;
	for (k = 0; k < 2; k++)
		for (i = 0; i < n[k]; i++) {
			const struct unit *key = &u[k][i];

			if (k == 1 && unit_find(u[0], n[0], key) != NULL)
				continue;	/* seen from base */
			if (!unit_differs(u[0], n[0], u[1], n[1], key) ||
			    !unit_differs(u[1], n[1], u[2], n[2], key))
				continue;
			if (found++ < 5 && (name = unit_name(key)) != NULL) {
				buf_printf(names, "%s%s", found > 1 ? ", " :
				    "", name);
				free(name);
			}
		}
	if (found > 5)
		buf_printf(names, " and %d more", found - 5);
out:
	json_decref(man);
	for (k = 0; k < 3; k++) {
		free(u[k]);
		bk_state_free(&st[k]);
	}
	return found;
}

long
backup_session_preview(struct bk_session *s, const char *rev, char id[41],
    struct buf *err)
{
	return bk_restore_preview(s, rev, NULL, id, err);
}

int
backup_session_mark(struct bk_session *s, const char *rev,
    const struct bk_meta *meta, char id[41], struct buf *err)
{
	return bk_repo_mark(s->repo, rev, s->key, s->app->pnid, meta, id,
	    err);
}

struct session_list {
	struct bk_session *s;
	bk_session_list_fn fn;
	void		*arg;
	struct buf	 why;
};

/* Each commit with whether it authenticates (bk_repo_check). */
static int
session_list_one(const char *id, long long when, const char *message,
    void *arg)
{
	struct session_list *l = arg;

	buf_reset(&l->why);
	if (bk_repo_check(l->s->repo, id, l->s->key, &l->why) != -1)
		return l->fn(id, when, message, NULL, l->arg);
	if (l->why.len == 0)
		buf_printf(&l->why, "snapshot %.12s does not read", id);
	return l->fn(id, when, message, buf_str(&l->why), l->arg);
}

int
backup_session_list(struct bk_session *s, bk_session_list_fn fn, void *arg,
    struct buf *err)
{
	struct session_list l = { s, fn, arg, BUF_INIT };
	int	 rc;

	rc = bk_repo_list(s->repo, session_list_one, &l, err);
	buf_free(&l.why);
	return rc;
}

void
backup_session_close(struct bk_session *s)
{
	if (s == NULL)
		return;
	backup_session_clear(s);
	bk_shutdown();
	free(s);
}
