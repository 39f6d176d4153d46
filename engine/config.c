/*
 * config.c - options, configuration file and vmdir login. See config.h.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "appliance.h"
#include "config.h"
#include "fileio.h"
#include "vmdir.h"

#define DEFAULT_LDAP_URI "ldap://localhost:389"

const char *
config_operator(void)
{
	const char *who;

	if ((who = getenv("SUDO_USER")) != NULL && *who != '\0')
		return who;
	if ((who = getenv("USER")) != NULL && *who != '\0')
		return who;
	return "root";
}

int
parse_days(const char *s)
{
	char	*end;
	long	 v;

	if (s == NULL || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > 100000)
		return -1;
	return (int)v;
}

static int
set_str(char **field, const char *value)
{
	char	*v;

	if ((v = strdup(value)) == NULL)
		return -1;
	free(*field);
	*field = v;
	return 0;
}

/* --starttls with --ldap-uri ldaps://... is a usage error: -1, else 1. */
static int
usage_tls(const struct config *cfg)
{
	if (cfg->starttls != 1 || cfg->ldap_uri == NULL ||
	    !vmdir_uri_is_ldaps(cfg->ldap_uri))
		return 1;
	fprintf(stderr, "vcrotate: --starttls cannot be used with an "
	    "ldaps:// URI (%s): ldaps is TLS from the start; use one or the "
	    "other\n", cfg->ldap_uri);
	return -1;
}

int
config_option(struct config *cfg, int argc, char *argv[], int *i)
{
	static const struct {
		const char *name;
		size_t	    off;
	} opts[] = {
		{ "--root",		offsetof(struct config, root) },
		{ "--config",		offsetof(struct config, config_file) },
		{ "--ldap-uri",		offsetof(struct config, ldap_uri) },
		{ "--bind-dn",		offsetof(struct config, bind_dn) },
		{ "--password-file",	offsetof(struct config, password_file) },
		{ "--repo",		offsetof(struct config, backup_repo) },
		{ "--ca-file",		offsetof(struct config, ca_file) },
	};
	size_t	 k, n;
	const char *arg = argv[*i], *val;

	if (strcmp(arg, "--starttls") == 0) {
		cfg->starttls = 1;
		return usage_tls(cfg);
	}

	for (k = 0; k < sizeof(opts) / sizeof(opts[0]); k++) {
		n = strlen(opts[k].name);
		if (strncmp(arg, opts[k].name, n) != 0)
			continue;
		if (arg[n] == '=')
			val = arg + n + 1;
		else if (arg[n] == '\0') {
			if (*i + 1 >= argc) {
				fprintf(stderr, "vcrotate: %s needs an "
				    "argument\n", opts[k].name);
				return -1;
			}
			val = argv[++*i];
		} else
			continue;
		if (set_str((char **)((char *)cfg + opts[k].off), val) == -1)
			return -1;
		return usage_tls(cfg);
	}
	return 0;
}

static char *
trim(char *s)
{
	char	*e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/*
 * TLS to vmdir: StartTLS or not, and the CA file (default: the VMCA root,
 * which issues vmdir's certificate), handed to vmdir for its connections.
 */
static int
config_tls(struct config *cfg, int cli_uri, int cli_starttls, struct buf *err)
{
	int	 ldaps = vmdir_uri_is_ldaps(cfg->ldap_uri);

	if (cfg->starttls == 1 && ldaps) {
		if (cli_uri && !cli_starttls)
			/* The command line's ldaps:// wins over the file's
			 * starttls = yes (meant for its ldap:// URI). */
			cfg->starttls = -1;
		else {
			buf_printf(err, "%s cannot be used with an ldaps:// URI "
			    "(%s): ldaps is TLS from the start; use one or the "
			    "other", cli_starttls ? "--starttls" :
			    "starttls = yes", cfg->ldap_uri);
			return -1;
		}
	}
	if (cfg->ca_file == NULL &&
	    (cfg->ca_file = app_path(cfg->root, APP_VMCA_ROOT)) == NULL)
		return -1;
	return vmdir_tls_set(cfg->starttls == 1, cfg->ca_file);
}

int
config_load(struct config *cfg, struct buf *err)
{
	char	*path = NULL, *line = NULL, *key, *val, *eq;
	size_t	 cap = 0;
	FILE	*f = NULL;
	int	 lineno = 0, ret = -1, d;
	/* For TLS: which settings came from the command line. */
	int	 cli_uri = cfg->ldap_uri != NULL, cli_starttls = cfg->starttls != 0;

	if (cfg->root == NULL && set_str(&cfg->root, "/") == -1)
		return -1;
	if (cfg->config_file != NULL)
		path = strdup(cfg->config_file);
	else
		path = app_path(cfg->root, APP_CONFIG);
	if (path == NULL)
		return -1;
	if ((f = fopen(path, "r")) == NULL) {
		if (errno == ENOENT && cfg->config_file == NULL)
			goto defaults;
		buf_printf(err, "%s: %s", path, strerror(errno));
		goto out;
	}
	while (getline(&line, &cap, f) != -1) {
		lineno++;
		key = trim(line);
		if (*key == '\0' || *key == '#')
			continue;
		if ((eq = strchr(key, '=')) == NULL) {
			buf_printf(err, "%s:%d: expected key = value", path,
			    lineno);
			goto out;
		}
		*eq = '\0';
		key = trim(key);
		val = trim(eq + 1);
		if (strcmp(key, "ldap_uri") == 0) {
			if (cfg->ldap_uri == NULL && set_str(&cfg->ldap_uri,
			    val) == -1)
				goto out;
		} else if (strcmp(key, "bind_dn") == 0) {
			if (cfg->bind_dn == NULL && set_str(&cfg->bind_dn,
			    val) == -1)
				goto out;
		} else if (strcmp(key, "https_port") == 0) {
			if ((d = parse_days(val)) < 1 || d > 65535) {
				buf_printf(err, "%s:%d: https_port must be a "
				    "port number, not '%s'", path, lineno, val);
				goto out;
			}
			cfg->https_port = d;
		} else if (strcmp(key, "backup_repo") == 0) {
			if (cfg->backup_repo == NULL &&
			    set_str(&cfg->backup_repo, val) == -1)
				goto out;
		} else if (strcmp(key, "starttls") == 0) {
			if (strcmp(val, "yes") != 0 && strcmp(val, "no") != 0) {
				buf_printf(err, "%s:%d: starttls must be yes or "
				    "no, not '%s'", path, lineno, val);
				goto out;
			}
			if (cfg->starttls == 0)
				cfg->starttls = val[0] == 'y' ? 1 : -1;
		} else if (strcmp(key, "ca_file") == 0) {
			if (cfg->ca_file == NULL && set_str(&cfg->ca_file,
			    val) == -1)
				goto out;
		} else if (strcmp(key, "password_file") == 0) {
			if (cfg->password_file == NULL &&
			    set_str(&cfg->password_file, val) == -1)
				goto out;
		} else if (strcmp(key, "warn_days") == 0 ||
		    strcmp(key, "crit_days") == 0) {
			if ((d = parse_days(val)) < 0) {
				buf_printf(err, "%s:%d: %s must be a number of "
				    "days, not '%s'", path, lineno, key, val);
				goto out;
			}
			if (key[0] == 'w' && cfg->warn_days < 0)
				cfg->warn_days = d;
			else if (key[0] == 'c' && cfg->crit_days < 0)
				cfg->crit_days = d;
		} else {
			buf_printf(err, "%s:%d: unknown setting '%s'", path,
			    lineno, key);
			goto out;
		}
	}
defaults:
	if (cfg->ldap_uri == NULL && set_str(&cfg->ldap_uri,
	    DEFAULT_LDAP_URI) == -1)
		goto out;
	if (cfg->warn_days < 0)
		cfg->warn_days = 180;
	if (cfg->crit_days < 0)
		cfg->crit_days = 30;
	if (cfg->https_port <= 0)
		cfg->https_port = 443;
	if (cfg->backup_repo == NULL &&
	    (cfg->backup_repo = app_path(cfg->root, APP_BACKUP_REPO)) == NULL)
		goto out;
	if (config_tls(cfg, cli_uri, cli_starttls, err) == -1)
		goto out;
	ret = 0;
out:
	if (f != NULL)
		fclose(f);
	free(line);
	free(path);
	return ret;
}

void
config_free(struct config *cfg)
{
	free(cfg->root);
	free(cfg->config_file);
	free(cfg->ldap_uri);
	free(cfg->bind_dn);
	free(cfg->password_file);
	free(cfg->ca_file);
	free(cfg->backup_repo);
	free_secret(cfg->env_password);
	(void)vmdir_tls_set(0, NULL);
	memset(cfg, 0, sizeof(*cfg));
}

int
config_take_environment(struct config *cfg)
{
	char	*v = getenv("VCROTATE_LDAP_PASSWORD");

	if (v == NULL)
		return 0;
	if ((cfg->env_password = strdup(v)) == NULL)
		return -1;
	/* The bytes stay in the process's first environment block (and in
	 * /proc/PID/environ) after unsetenv: wipe them there. */
	OPENSSL_cleanse(v, strlen(v));
	unsetenv("VCROTATE_LDAP_PASSWORD");
	return 0;
}

/* The first line of a password file; the file stays as it is. */
static char *
read_password(const char *path, struct buf *err)
{
	struct buf b = BUF_INIT;
	char	*line = NULL;
	size_t	 n;

	if (file_read(path, &b, err) == -1)
		goto out;
	n = strcspn(buf_str(&b), "\r\n");
	if (n == 0) {
		buf_printf(err, "password file %s is empty", path);
		goto out;
	}
	if ((line = strndup(b.data, n)) == NULL)
		buf_printf(err, "out of memory");
out:
	buf_free_secret(&b);
	return line;
}

/* user@domain.tld -> cn=user,cn=users,dc=domain,dc=tld */
static char *
upn_to_dn(const char *upn)
{
	const char *at = strchr(upn, '@');
	char	*ddn = NULL, *dn = NULL;

	if (at == NULL || strchr(upn, '=') != NULL)
		return strdup(upn);
	if ((ddn = vmdir_domain_dn(at + 1)) == NULL)
		return NULL;
	if (asprintf(&dn, "cn=%.*s,cn=users,%s", (int)(at - upn), upn,
	    ddn) == -1)
		dn = NULL;
	free(ddn);
	return dn;
}

int
config_login(const struct config *cfg, struct vmdir_login *login,
    struct buf *err)
{
	memset(login, 0, sizeof(*login));
	/* A password bound over plain LDAP crosses the network in clear:
	 * only to this machine, as the appliance's own tools do. */
	switch (vmdir_uri_plain_remote(cfg->ldap_uri, cfg->starttls == 1)) {
	case 1:
		buf_printf(err, "%s is not this machine: the bind password "
		    "would cross the network in clear; use ldaps://HOST:636 "
		    "or --starttls (starttls = yes)", cfg->ldap_uri);
		return -1;
	case -1:
		buf_printf(err, "%s is not an LDAP URI", cfg->ldap_uri);
		return -1;
	}
	if ((login->uri = strdup(cfg->ldap_uri)) == NULL) {
		buf_printf(err, "out of memory");
		return -1;
	}
	if (cfg->bind_dn != NULL) {
		if ((login->bind_dn = upn_to_dn(cfg->bind_dn)) == NULL)
			goto fail;
		if (cfg->password_file != NULL)
			login->password = read_password(cfg->password_file,
			    err);
		else if (cfg->env_password != NULL &&
		    *cfg->env_password == '\0')
			/* An empty password is an anonymous bind. */
			buf_printf(err, "VCROTATE_LDAP_PASSWORD is empty");
		else if (cfg->env_password != NULL &&
		    (login->password = strdup(cfg->env_password)) == NULL)
			buf_printf(err, "out of memory");
		else
			buf_printf(err, "--bind-dn %s needs --password-file "
			    "or VCROTATE_LDAP_PASSWORD (a password is never "
			    "taken on the command line)", cfg->bind_dn);
		if (login->password == NULL)
			goto fail;
		return 0;
	}
	if (appliance_machine_account(cfg->root, &login->bind_dn,
	    &login->password, err) == -1)
		goto fail;
	return 0;
fail:
	vmdir_login_free(login);
	return -1;
}

void
vmdir_login_free(struct vmdir_login *login)
{
	free(login->uri);
	free(login->bind_dn);
	free_secret(login->password);
	memset(login, 0, sizeof(*login));
}
