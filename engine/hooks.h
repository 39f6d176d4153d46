/*
 * hooks.h - renew's hooks (pre, post, failure): programs the configuration
 * file names (config.h, struct renew_config), run with execve: never a
 * shell, never a command line built from appliance data. What they learn
 * comes in their environment, which is built here and holds nothing else:
 * no secret, no variable of vcrotate's own environment but none.
 */
#ifndef VCR_HOOKS_H
#define VCR_HOOKS_H

#include "buf.h"
#include "config.h"

/* A hook's environment: "NAME=value" strings, NULL-ended, owned. */
struct hook_env {
	char	**v;
	size_t	  n;
	int	  oom;
};

/* Sets NAME to value (made printable: no control character; NULL: "").
 * Out of memory is remembered and refused by hook_run. */
void hook_env_set(struct hook_env *e, const char *name, const char *value);
void hook_env_free(struct hook_env *e);

/*
 * Runs hook w of cfg, if one is set, with env (plus PATH and
 * VCROTATE_HOOK=pre|post|failure), stdin /dev/null and its output on
 * vcrotate's stderr, killed after cfg->renew.hook_timeout seconds. The
 * program must be a regular, executable file that neither its group nor
 * others can write. 0: none set, or it exited 0; -1: it could not run,
 * exited non-zero or was killed (err says which).
 */
int  hook_run(const struct config *cfg, enum hook_when w,
    struct hook_env *env, struct buf *err);

#endif
