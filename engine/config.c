/*
 * config.c - options, configuration file and vmdir login. See config.h.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "appliance.h"
#include "config.h"
#include "fileio.h"
#include "vmdir.h"

#define DEFAULT_LDAP_URI "ldap://localhost:389"

int
ask_terminal(const char *question)
{
	char	 line[16];

	if (!isatty(STDIN_FILENO) || !isatty(STDERR_FILENO))
		return 1;
	fputs(question, stderr);
	return fgets(line, sizeof(line), stdin) != NULL &&
	    (strcasecmp(line, "y\n") == 0 || strcasecmp(line, "yes\n") == 0);
}

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

int
parse_time(const char *s, time_t *out)
{
	static const char *const fmts[] = {
		"%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%MZ",
		"%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M",
		"%Y-%m-%d",
	};
	struct tm tm;
	const char *end;
	char	*e;
	size_t	 i;
	long long v;

	if (s[0] == '@') {
		v = strtoll(s + 1, &e, 10);
		if (s[1] == '\0' || *e != '\0')
			return -1;
		*out = (time_t)v;
		return 0;
	}
	for (i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, fmts[i], &tm);
		if (end != NULL && *end == '\0') {
			*out = timegm(&tm);
			return 0;
		}
	}
	return -1;
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

/*
 * The options of every command, one table: help prints it, config_option
 * reads it. off: the field of struct config an argument goes to.
 */
static const struct {
	struct cmd_opt	 o;
	size_t		 off;
} common[] = {
	{ { "--root", "DIR", "the appliance's root file system (default /; "
	    "a lab's folder)" }, offsetof(struct config, root) },
	{ { "--config", "FILE", "the configuration file (default "
	    "ROOT/etc/vcrotate/vcrotate.conf)" },
	    offsetof(struct config, config_file) },
	{ { "--ldap-uri", "URI", "vmdir: ldap:// or ldaps:// (default "
	    "ldap://localhost:389)" }, offsetof(struct config, ldap_uri) },
	{ { "--bind-dn", "DN", "bind to vmdir as DN or user@domain, not as "
	    "the machine account" }, offsetof(struct config, bind_dn) },
	{ { "--password-file", "FILE", "the --bind-dn password: the file's "
	    "first line" }, offsetof(struct config, password_file) },
	{ { "--repo", "DIR", "the backup repository (default "
	    "ROOT/var/lib/vcrotate/backup.git)" },
	    offsetof(struct config, backup_repo) },
	{ { "--ca-file", "FILE", "the CA certificates vmdir's TLS certificate "
	    "must chain to (default the VMCA root)" },
	    offsetof(struct config, ca_file) },
	{ { "--starttls", NULL, "StartTLS on an ldap:// URI, before the "
	    "bind" }, 0 },
};

const struct cmd_opt *
config_common_option(size_t i)
{
	return i < sizeof(common) / sizeof(common[0]) ? &common[i].o : NULL;
}

/* --starttls with --ldap-uri ldaps://... is a usage error: -1, else 1. */
static int
usage_tls(const struct config *cfg, const char *who)
{
	if (cfg->starttls != 1 || cfg->ldap_uri == NULL ||
	    !vmdir_uri_is_ldaps(cfg->ldap_uri))
		return 1;
	fprintf(stderr, "%s: --starttls cannot be used with an "
	    "ldaps:// URI (%s): ldaps is TLS from the start; use one or the "
	    "other\n", who, cfg->ldap_uri);
	return -1;
}

/*
 * Whether arg is option o ("--root", "--root=DIR"): 0 no; 1 yes, *val its
 * argument when written with '=' (else NULL).
 */
static int
option_is(const struct cmd_opt *o, const char *arg, const char **val)
{
	size_t	 n = strlen(o->name);

	*val = NULL;
	if (strncmp(arg, o->name, n) != 0)
		return 0;
	if (arg[n] == '=' && o->arg != NULL)
		*val = arg + n + 1;
	else if (arg[n] != '\0')
		return 0;
	return 1;
}

/* The argument of option o at argv[*i]: after '=', else the next word. */
static const char *
option_arg(const struct cmd_opt *o, const char *who, int argc, char *argv[],
    int *i, const char *val)
{
	if (val != NULL)
		return val;
	if (*i + 1 >= argc) {
		fprintf(stderr, "%s: %s needs an argument\n", who, o->name);
		return NULL;
	}
	return argv[++*i];
}

int
config_option(struct config *cfg, const char *who, int argc, char *argv[],
    int *i)
{
	const struct cmd_opt *o;
	const char *val;
	size_t	 k;

	for (k = 0; (o = config_common_option(k)) != NULL; k++)
		if (option_is(o, argv[*i], &val))
			break;
	if (o == NULL)
		return 0;
	if (o->arg == NULL) {
		cfg->starttls = 1;
		return usage_tls(cfg, who);
	}
	if ((val = option_arg(o, who, argc, argv, i, val)) == NULL)
		return -1;
	if (set_str((char **)((char *)cfg + common[k].off), val) == -1) {
		fprintf(stderr, "%s: out of memory\n", who);
		return -1;
	}
	return usage_tls(cfg, who);
}

/* The option of syn named by arg, its value written with '=' in *val. */
static const struct cmd_opt *
syntax_option(const struct cmd_syntax *syn, const char *arg, const char **val)
{
	const struct cmd_opt *o;

	for (o = syn->opts; o->name != NULL; o++)
		if (option_is(o, arg, val))
			return o;
	return NULL;
}

/* The closest option of syn to a mistyped one, or NULL. */
static const char *
nearest_option(const struct cmd_syntax *syn, const char *arg)
{
	const struct cmd_opt *o;
	const char *best = NULL;
	size_t	 d, bestd = 3, k;

	for (o = syn->opts; o->name != NULL; o++)
		if ((d = edit_distance(arg, o->name)) < bestd) {
			bestd = d;
			best = o->name;
		}
	for (k = 0; (o = config_common_option(k)) != NULL; k++)
		if ((d = edit_distance(arg, o->name)) < bestd) {
			bestd = d;
			best = o->name;
		}
	return best;
}

/* The n-th word (from 0) of syn's operands, into out (size len). */
static const char *
operand_name(const struct cmd_syntax *syn, size_t n, char *out, size_t len)
{
	const char *p = syn->operands;
	size_t	 w;

	for (; n > 0 && (p = strchr(p, ' ')) != NULL; n--)
		p++;
	if (p == NULL)
		p = "ARGUMENT";
	w = strcspn(p, " ");
	snprintf(out, len, "%.*s", (int)w, p);
	return out;
}

static size_t
operand_count(const struct cmd_syntax *syn)
{
	const char *p;
	size_t	 n = 0;

	for (p = syn->operands; *p != '\0'; p += strspn(p, " "), n++)
		p += strcspn(p, " ");
	return n;
}

/* One word of a command line: an option of the command, or an operand. */
static int
cmdline_word(struct cmdline *cl, const char *who, int argc, char *argv[],
    int *i)
{
	const struct cmd_opt *o;
	const char *arg = argv[*i], *val, *near;

	if (arg[0] != '-') {
		if (cl->noperand == operand_count(cl->syn)) {
			fprintf(stderr, "%s: unexpected argument '%s'\n", who,
			    arg);
			return -1;
		}
		cl->operand[cl->noperand++] = arg;
		return 0;
	}
	if ((o = syntax_option(cl->syn, arg, &val)) == NULL) {
		if (strchr(arg, '=') == NULL &&
		    (near = nearest_option(cl->syn, arg)) != NULL)
			fprintf(stderr, "%s: unknown option %s; did you mean "
			    "%s?\n", who, arg, near);
		else
			fprintf(stderr, "%s: unknown option %s\n", who, arg);
		return -1;
	}
	if (o->arg == NULL)
		val = o->name;
	else if ((val = option_arg(o, who, argc, argv, i, val)) == NULL)
		return -1;
	cl->given[cl->ngiven].opt = o;
	cl->given[cl->ngiven++].val = val;
	return 0;
}

int
cmdline_parse(struct cmdline *cl, const struct cmd_syntax *syn, int argc,
    char *argv[], struct config *cfg)
{
	char	 who[64], name[32];
	int	 i, r;

	memset(cl, 0, sizeof(*cl));
	cl->syn = syn;
	snprintf(who, sizeof(who), "vcrotate %s", syn->name);
	if ((cl->given = calloc((size_t)argc, sizeof(*cl->given))) == NULL ||
	    (cl->operand = calloc((size_t)argc, sizeof(*cl->operand))) ==
	    NULL) {
		fprintf(stderr, "%s: out of memory\n", who);
		return -1;
	}
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0)
			return 1;
		if ((r = config_option(cfg, who, argc, argv, &i)) == -1)
			return -1;
		if (r == 0 && cmdline_word(cl, who, argc, argv, &i) == -1)
			return -1;
	}
	if (cl->noperand < operand_count(syn)) {
		fprintf(stderr, "%s: missing %s\n", who,
		    operand_name(syn, cl->noperand, name, sizeof(name)));
		return -1;
	}
	return 0;
}

void
cmdline_free(struct cmdline *cl)
{
	free(cl->given);
	free(cl->operand);
	memset(cl, 0, sizeof(*cl));
}

const char *
cmdline_get(const struct cmdline *cl, const char *name)
{
	const struct cmd_opt *o;
	const char *val = NULL;
	size_t	 k;

	for (o = cl->syn->opts; o->name != NULL; o++)
		if (strcmp(o->name, name) == 0)
			break;
	if (o->name == NULL) {
		fprintf(stderr, "vcrotate %s: no option %s in its table\n",
		    cl->syn->name, name);
		abort();
	}
	for (k = 0; k < cl->ngiven; k++)
		if (cl->given[k].opt == o)
			val = cl->given[k].val;
	return val;
}

size_t
edit_distance(const char *a, const char *b)
{
	size_t	 la = strlen(a), lb = strlen(b), i, j, c, best;
	size_t	 d[3][64], *p2, *p1, *cur;

	if (lb >= 64 || la >= 64)
		return (size_t)-1;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++) {
		p2 = d[(i + 1) % 3];	/* row i - 2 */
		p1 = d[(i + 2) % 3];	/* row i - 1 */
		cur = d[i % 3];
		cur[0] = i;
		for (j = 1; j <= lb; j++) {
			c = a[i - 1] != b[j - 1];
			best = p1[j - 1] + c;
			if (p1[j] + 1 < best)
				best = p1[j] + 1;
			if (cur[j - 1] + 1 < best)
				best = cur[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && p2[j - 2] + 1 < best)
				best = p2[j - 2] + 1;
			cur[j] = best;
		}
	}
	return d[la % 3][lb];
}

/* ---- the renew section: its policy and hooks ---- */

static const char *const hook_names[HOOK__MAX] = { "pre", "post", "failure" };

const char *
config_hook_name(enum hook_when w)
{
	return w < HOOK__MAX ? hook_names[w] : "?";
}

static void
free_words(char **v)
{
	size_t	 i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* "PATH ARG ...", split at blanks, into a NULL-ended argv (*out). */
static int
split_words(const char *s, char ***out, struct buf *err)
{
	char	**v = NULL, **nv;
	size_t	 n = 0, len;

	for (;;) {
		s += strspn(s, " \t");
		if (*s == '\0')
			break;
		len = strcspn(s, " \t");
		if ((nv = reallocarray(v, n + 2, sizeof(*v))) == NULL)
			goto oom;
		v = nv;
		if ((v[n] = strndup(s, len)) == NULL)
			goto oom;
		v[++n] = NULL;
		s += len;
	}
	*out = v;
	return 0;
oom:
	free_words(v);
	buf_printf(err, "out of memory");
	return -1;
}

/* hook_pre, hook_post, hook_failure = /path/to/program [ARG ...] */
static int
hook_setting(struct renew_config *r, const char *key, const char *val,
    struct buf *err)
{
	char	**argv = NULL;
	int	 w;

	for (w = 0; w < HOOK__MAX; w++)
		if (strcmp(key + 5, hook_names[w]) == 0)
			break;
	if (w == HOOK__MAX)
		return 0;
	if (split_words(val, &argv, err) == -1)
		return -1;
	if (argv == NULL || argv[0][0] != '/') {
		buf_printf(err, "%s must be a program's absolute path and its "
		    "arguments (run without a shell), not '%s'", key, val);
		free_words(argv);
		return -1;
	}
	free_words(r->hook[w]);
	r->hook[w] = argv;
	return 1;
}

/* A setting of the renew section: 1 taken, 0 not one of them, -1 refused
 * (err says why). */
static int
renew_setting(struct renew_config *r, const char *key, const char *val,
    struct buf *err)
{
	int	 d;

	if (strncmp(key, "hook_", 5) == 0 && strcmp(key, "hook_timeout") != 0)
		return hook_setting(r, key, val, err);
	if (strcmp(key, "hook_timeout") == 0) {
		if ((d = parse_days(val)) < 1 || d > 86400) {
			buf_printf(err, "hook_timeout must be 1 to 86400 "
			    "seconds, not '%s'", val);
			return -1;
		}
		r->hook_timeout = d;
	} else if (strcmp(key, "renew_within") == 0) {
		if ((d = parse_days(val)) < 0) {
			buf_printf(err, "renew_within must be a number of "
			    "days, not '%s'", val);
			return -1;
		}
		r->within = d;
	} else if (strcmp(key, "renew_scope") == 0) {
		if (set_str(&r->scope, val) == -1) {
			buf_printf(err, "out of memory");
			return -1;
		}
	} else
		return 0;
	return 1;
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
	return 0;
}

int
config_load(struct config *cfg, struct buf *err)
{
	char	*path = NULL, *line = NULL, *key, *val, *eq;
	struct buf why = BUF_INIT;
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
		} else if ((d = renew_setting(&cfg->renew, key, val,
		    &why)) != 1) {
			buf_printf(err, "%s:%d: ", path, lineno);
			if (d == 0)
				buf_printf(err, "unknown setting '%s'", key);
			else
				buf_puts(err, buf_str(&why));
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
	if (cfg->renew.hook_timeout <= 0)
		cfg->renew.hook_timeout = 300;
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
	buf_free(&why);
	return ret;
}

void
config_free(struct config *cfg)
{
	int	 w;

	for (w = 0; w < HOOK__MAX; w++)
		free_words(cfg->renew.hook[w]);
	free(cfg->renew.scope);
	free(cfg->root);
	free(cfg->config_file);
	free(cfg->ldap_uri);
	free(cfg->bind_dn);
	free(cfg->password_file);
	free(cfg->ca_file);
	free(cfg->backup_repo);
	free_secret(cfg->env_password);
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
	if ((login->uri = strdup(cfg->ldap_uri)) == NULL ||
	    vmdir_login_tls(login, cfg->starttls == 1, cfg->ca_file) == -1) {
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
