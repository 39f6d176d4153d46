/*
 * config.h - vcrotate's settings: command-line options common to every
 * command, the configuration file, and how vcrotate logs in to vmdir.
 *
 * The configuration file is ROOT/etc/vcrotate/vcrotate.conf unless --config
 * names another; `key = value' lines, `#' comments. It is absent on a real
 * appliance until an admin writes one; defaults apply.
 */
#ifndef VCR_CONFIG_H
#define VCR_CONFIG_H

#include <time.h>

#include "buf.h"
#include "inventory.h"

/* Exit codes shared by the commands (check has its own, monitoring ones). */
#define EXIT_BUSY  5	/* another vcrotate holds the appliance lock */
#define EXIT_PENDING 6	/* an interrupted transaction: run vcrotate recover */
#define EXIT_USAGE 64

/* The hooks of renew (docs/renew.md), in the order they run. */
enum hook_when { HOOK_PRE, HOOK_POST, HOOK_FAILURE, HOOK__MAX };

/*
 * The renew section of the configuration file: renew_within, renew_scope,
 * hook_pre, hook_post, hook_failure, hook_timeout. A hook is a program's
 * absolute path and its arguments, split at blanks (no shell, no quoting);
 * hook[w] is its argv, NULL-ended, or NULL when none is set.
 */
struct renew_config {
	int	 within;	/* renew_within: days; -1 unset: plan's default */
	char	*scope;		/* renew_scope: a plan scope; NULL: all */
	char	**hook[HOOK__MAX];
	int	 hook_timeout;	/* hook_timeout: seconds; 0 unset: 300 */
};

struct config {
	char	*root;		/* --root, default "/" */
	char	*config_file;	/* --config, or NULL for the default */
	char	*ldap_uri;	/* --ldap-uri > ldap_uri > ldap://localhost:389 */
	char	*bind_dn;	/* --bind-dn > bind_dn > the machine account */
	char	*password_file;	/* --password-file > password_file */
	int	 starttls;	/* --starttls > starttls = yes|no (1, -1; 0 unset: no) */
	char	*ca_file;	/* --ca-file > ca_file > ROOT/var/lib/vmware/vmca/root.cer */
	int	 warn_days;	/* warn_days, default 180 */
	int	 crit_days;	/* crit_days, default 30 */
	char	*backup_repo;	/* --repo > backup_repo > ROOT/var/lib/vcrotate/backup.git */
	int	 https_port;	/* https_port: where rhttpproxy serves, default 443 */
	char	*env_password;	/* $VCROTATE_LDAP_PASSWORD, a secret */
	struct renew_config renew;
};

/*
 * Takes $VCROTATE_LDAP_PASSWORD out of the environment, into
 * cfg->env_password, before anything runs a child: wiped where it was and
 * unset, so that no tool (vmafd-cli, vecs-cli, service-control and the
 * services it starts) inherits it. -1: out of memory.
 */
int  config_take_environment(struct config *cfg);

/*
 * One option of a command line: its name ("--json", "-o"), the name of its
 * argument (NULL: it takes none), what it does in one line. The help and
 * the parser read the same tables (main.c has each command's).
 */
struct cmd_opt {
	const char	*name;
	const char	*arg;
	const char	*help;
};

/*
 * The options every command accepts, before or after its name: --root DIR,
 * --config FILE, --ldap-uri URI, --bind-dn DN, --password-file FILE,
 * --repo DIR, --ca-file FILE, --starttls. The i-th of them, NULL after the
 * last.
 */
const struct cmd_opt *config_common_option(size_t i);

/*
 * Takes argv[*i] when it is one of them (and its argument: "--root DIR" or
 * "--root=DIR"). 1 when it was, 0 when it was not, -1 on a usage error: a
 * missing argument, --starttls with an ldaps:// URI (named on stderr after
 * `who', "vcrotate apply").
 */
int  config_option(struct config *cfg, const char *who, int argc,
    char *argv[], int *i);

/*
 * A command's line, as its table says (main.c): name, operands (each word
 * one required operand: "PLAN", "REF1 REF2"; "" none), options (ended by
 * a NULL name), one line of what it does, and the exit code of bad usage.
 */
struct cmd_syntax {
	const char	*name;		/* "apply", "backup restore" */
	const char	*operands;
	const struct cmd_opt *opts;
	const char	*summary;
	int		 usage_exit;	/* EXIT_USAGE; check: UNKNOWN (3) */
};

/* A parsed command line. Values and operands point into argv. */
struct cmdline {
	const struct cmd_syntax *syn;
	struct cmdline_opt {
		const struct cmd_opt *opt;
		const char	*val;	/* a flag's: its name */
	}		*given;		/* in the order given */
	size_t		 ngiven;
	const char	**operand;
	size_t		 noperand;
};

/*
 * Parses argv[1..argc) (argv[0] is the command's last word) against syn:
 * its options, the common ones (into cfg), its operands. 0: parsed; 1:
 * --help or -h was given; -1: a usage error, named on stderr ("vcrotate
 * apply: unknown option --frobnicate"): the caller prints the usage and
 * exits syn->usage_exit. cmdline_free in every case.
 */
int  cmdline_parse(struct cmdline *cl, const struct cmd_syntax *syn,
    int argc, char *argv[], struct config *cfg);
void cmdline_free(struct cmdline *cl);
/*
 * The value of option `name' given last (a flag's: its name), NULL when it
 * was not given. A name not in the command's table is a bug: abort().
 */
const char *cmdline_get(const struct cmdline *cl, const char *name);

/* The edit distance of a and b (a transposition counts one), for "did you
 * mean". */
size_t edit_distance(const char *a, const char *b);

/*
 * Reads the configuration file; command-line values already set win. Then
 * decides TLS for vmdir (config_login hands it to each login): StartTLS when
 * asked, the CA file or by default the VMCA root. --starttls with an ldaps:// URI is an error; so is
 * starttls = yes in the file with ldaps:// in the file (an ldaps:// URI from
 * the command line overrides the file's starttls).
 */
int  config_load(struct config *cfg, struct buf *err);
/* "pre", "post", "failure": the name of a hook in messages. */
const char *config_hook_name(enum hook_when w);
void config_free(struct config *cfg);

/*
 * Decides how to log in to vmdir: --bind-dn with --password-file or
 * $VCROTATE_LDAP_PASSWORD (cfg->env_password), else the machine account
 * from lwregshell.
 * A UPN (administrator@vsphere.local) becomes cn=administrator,cn=users,DDN.
 */
int  config_login(const struct config *cfg, struct vmdir_login *login,
    struct buf *err);

/* Who runs vcrotate, for the audit record: $SUDO_USER, $USER, or root. */
const char *config_operator(void);
/*
 * At a terminal (stdin and stderr both), asks question ("... [y/N] ", text
 * the caller made safe for a terminal) and
 * reads the answer: 1 for y or yes in any case, else 0. Not at a terminal
 * (a script, cron): 1 without asking; --yes skips the call.
 */
int  ask_terminal(const char *question);

/* Parses a non-negative decimal int; -1 when s is not one. */
int  parse_days(const char *s);
/* "2026-11-27", "2026-11-27T10:00:00Z", "2026-11-27 10:00", "@1790000000"
 * (UTC): 0 and *out, or -1. */
int  parse_time(const char *s, time_t *out);

#endif
