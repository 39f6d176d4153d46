/*
 * fuzz_config.c - config_load (engine/config.c), the parser of
 * vcrotate.conf (`key = value' lines, `#' comments), and config_login's
 * turning of a bind_dn into a DN (a UPN user@domain.tld becomes
 * cn=user,cn=users,dc=domain,dc=tld through vmdir_domain_dn).
 *
 * The input is the configuration file. Invariants of an accepted file:
 * every setting has a value, days and port are in range; when it names a
 * bind_dn, config_login (with the password from the environment, never a
 * file the input names) gives a DN that is the bind_dn itself when it has
 * no '@' or has a '=', and a cn=...,cn=users,dc=... otherwise.
 */
#include <string.h>

#include "buf.h"
#include "config.h"
#include "fuzz.h"
#include "vmdir.h"

static void
check_login(const struct config *cfg)
{
	struct config c = *cfg;
	struct vmdir_login login;
	struct buf err = BUF_INIT;
	const char *at;

	/* A password file could be anything (/dev/zero): the environment
	 * gives the password instead. */
	c.password_file = NULL;
	c.env_password = (char *)"fuzz";
	/* A URI that would carry the password in clear to another host,
	 * or none at all, is refused with a reason; any other logs in. */
	if (vmdir_uri_plain_remote(c.ldap_uri, c.starttls == 1) != 0) {
		FUZZ_CHECK(config_login(&c, &login, &err) == -1 &&
		    err.len > 0);
		buf_free(&err);
		return;
	}
	FUZZ_CHECK(config_login(&c, &login, &err) == 0);
	FUZZ_CHECK(login.bind_dn != NULL && login.password != NULL &&
	    strcmp(login.password, "fuzz") == 0);
	FUZZ_CHECK(strcmp(login.uri, cfg->ldap_uri) == 0);
	at = strchr(cfg->bind_dn, '@');
	if (at == NULL || strchr(cfg->bind_dn, '=') != NULL)
		FUZZ_CHECK(strcmp(login.bind_dn, cfg->bind_dn) == 0);
	else {
		FUZZ_CHECK(strncmp(login.bind_dn, "cn=", 3) == 0);
		FUZZ_CHECK(strncmp(login.bind_dn + 3, cfg->bind_dn,
		    (size_t)(at - cfg->bind_dn)) == 0);
		FUZZ_CHECK(strncmp(login.bind_dn + 3 + (at - cfg->bind_dn),
		    ",cn=users,dc=", 13) == 0);
	}
	vmdir_login_free(&login);
	buf_free(&err);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	struct buf err = BUF_INIT;
	const char *path;

	if ((path = fuzz_memfile(0, data, size)) == NULL)
		return 0;
	memset(&cfg, 0, sizeof(cfg));
	cfg.warn_days = cfg.crit_days = -1;	/* as main.c starts */
	if ((cfg.config_file = strdup(path)) == NULL)
		return 0;
	if (config_load(&cfg, &err) == 0) {
		FUZZ_CHECK(cfg.root != NULL && cfg.ldap_uri != NULL &&
		    cfg.backup_repo != NULL);
		FUZZ_CHECK(cfg.warn_days >= 0 && cfg.warn_days <= 100000);
		FUZZ_CHECK(cfg.crit_days >= 0 && cfg.crit_days <= 100000);
		FUZZ_CHECK(cfg.https_port >= 1 && cfg.https_port <= 65535);
		if (cfg.bind_dn != NULL)
			check_login(&cfg);
	} else
		FUZZ_CHECK(err.len > 0);
	config_free(&cfg);
	buf_free(&err);
	return 0;
}
