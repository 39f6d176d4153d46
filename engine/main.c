/*
 * main.c - the vcrotate command: one table of every command, its operands
 * and options with a line of help each, which both the parser
 * (cmdline_parse, config.c) and the help read; the options common to every
 * command; then the command's function.
 */
#include <sys/prctl.h>
#include <sys/resource.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>
#include <jansson.h>
#include <ldap.h>
#include <openssl/crypto.h>
#ifdef VCROTATE_MIMALLOC	/* the release's malloc (tests/release/build.sh) */
#include <mimalloc.h>
#endif

#include "cert.h"
#include "commands.h"
#include "report.h"

#ifndef VCROTATE_STATIC
#define VCROTATE_STATIC 0
#endif

#define AUDIT_OPTS							\
	{ "--operator", "NAME", "who makes the change, for the audit record "	\
	    "(default $SUDO_USER, $USER)" },				\
	{ "--ticket", "ID", "the change ticket, for the audit record" },	\
	{ "--reason", "TEXT", "why, for the audit record" }

static const struct cmd_opt check_opts[] = {
	{ "--format", "FORMAT", "text (default), json, nagios (a monitoring "
	    "plugin's status line, perfdata, long output) or prometheus "
	    "(metrics on stdout)" },
	{ "--json", NULL, "the report as one JSON document "
	    "(docs/check.schema.json); --format json" },
	{ "--prometheus", "FILE", "also write FILE for node_exporter's "
	    "textfile collector" },
	{ "--warn-days", "N", "WARNING for what expires within N days "
	    "(default 180)" },
	{ "--crit-days", "N", "CRITICAL for what expires within N days "
	    "(default 30)" },
	{ "--at", "DATE", "judge as at DATE: YYYY-MM-DD[THH:MM:SS] UTC, or "
	    "@EPOCH" },
	{ "--node", "PNID", "of the SSO domain's other nodes, ask only PNID "
	    "(this node's own PNID: none)" },
	{ NULL, NULL, NULL },
};

static const struct cmd_opt plan_opts[] = {
	{ "--renew-within", "DAYS", "replace what expires within DAYS days "
	    "(default warn_days: 180, what check warns about)" },
	{ "--scope", "SCOPE", "all (default), root, sts, solution-users or "
	    "machine-ssl" },
	{ "--reset-all", NULL, "a new VMCA root and every certificate it "
	    "signs" },
	{ "--san", "NAME", "one more Machine SSL name: DNS name, IP address "
	    "or email, or DNS:, IP:, email: before it (repeat for more)" },
	{ "--drop-san", "NAME", "a SAN of the Machine SSL certificate now "
	    "not to keep (repeat for more)" },
	{ "--issuer", "vmca", "replace with VMCA certificates also those "
	    "another CA issued" },
	{ "--key-bits", "BITS", "RSA key size: 2048 (default), 3072 or 4096" },
	{ "--validity-days", "N", "new certificates last N days, 1 to 3650 "
	    "(default 730)" },
	{ "--prune-expired-roots", NULL, "delete expired roots that issued "
	    "nothing in use" },
	{ "--at", "DATE", "judge as at DATE (as check --at)" },
	{ "--import", "WHAT=CERT[,KEY]", "install a certificate your CA "
	    "signed: WHAT machine-ssl or a solution user (KEY when it is not "
	    "a vcrotate csr key; repeat for more), or vmca-root with KEY: VMCA "
	    "as a subordinate CA" },
	{ "--chain", "FILE", "the CA certificates of the imports, up to the "
	    "root (PEM; repeat for more)" },
	{ "-o", "FILE", "write the plan to FILE (mode 0600) for review and "
	    "apply" },
	{ "--json", NULL, "print the plan as JSON" },
	{ NULL, NULL, NULL },
};

static const struct cmd_opt csr_opts[] = {
	{ "--for", "WHAT", "machine-ssl, a solution user (machine, vpxd, "
	    "...) or all" },
	{ "--subject", "DN", "the subject, \"CN=name, O=org, ...\" (default: "
	    "the one vCenter gives it)" },
	{ "--san", "NAME", "one more Machine SSL name beside the PNID and "
	    "those it has now (repeat for more)" },
	{ "--key-bits", "BITS", "RSA key size: 2048 (default), 3072 or 4096" },
	{ "-o", "DIR", "write NAME.csr into DIR (default: the current "
	    "directory)" },
	{ NULL, NULL, NULL },
};

static const struct cmd_opt apply_opts[] = {
	{ "--dry-run", NULL, "check and prepare everything, print each "
	    "change, change nothing" },
	{ "--expect", "SHA256", "apply only the plan of this SHA-256 (as "
	    "plan prints it): the one that was approved" },
	AUDIT_OPTS,
	{ "--restart", "once|per-step", "restart every service once, at the "
	    "end (default), or after each step" },
	{ "--keep-on-failure", NULL, "on a failure keep the new certificates: "
	    "no rollback" },
	{ "--rollback-on", "regression|any-failure", "roll back when the "
	    "change made things worse (default: services that were down "
	    "before may stay down), or on any failure" },
	{ "--replication-wait", "SECONDS", "with a new STS credential, wait "
	    "at most SECONDS (default 120; 0: not at all) for every other "
	    "domain controller to hold it before the restart" },
	{ "--yes", NULL, "do not ask for confirmation at a terminal" },
	{ "--json", NULL, "one result document on stdout; progress on "
	    "stderr" },
	{ NULL, NULL, NULL },
};

static const struct cmd_opt renew_opts[] = {
	{ "--dry-run", NULL, "check and plan, print what would be renewed and "
	    "the hooks that would run, change nothing" },
	AUDIT_OPTS,
	{ NULL, NULL, NULL },
};

static const struct cmd_opt rollback_opts[] = {
	AUDIT_OPTS,
	{ "--force", NULL, "put the before state back even where a later "
	    "transaction changed the same entries (undoing it too)" },
	{ "--yes", NULL, "do not ask for confirmation at a terminal" },
	{ NULL, NULL, NULL },
};

static const struct cmd_opt json_opts[] = {
	{ "--json", NULL, "as JSON" },
	{ NULL, NULL, NULL },
};

static const struct cmd_opt recover_opts[] = {
	AUDIT_OPTS,
	{ "--back", NULL, "to the before snapshot (the default before the "
	    "commit point)" },
	{ "--forward", NULL, "to the applied snapshot: keep the new "
	    "certificates" },
	{ "--yes", NULL, "do not ask for confirmation at a terminal" },
	{ NULL, NULL, NULL },
};

static const struct cmd_opt snapshot_opts[] = {
	AUDIT_OPTS,
	{ NULL, NULL, NULL },
};

static const struct cmd_opt restore_opts[] = {
	{ "--only", "WHAT", "vecs:STORE[/ALIAS], sts, solution-users or "
	    "trust-anchors" },
	{ "--dry-run", NULL, "print each change, make none" },
	AUDIT_OPTS,
	{ "--yes", NULL, "do not ask for confirmation at a terminal" },
	{ NULL, NULL, NULL },
};

static const struct cmd_opt no_opts[] = {
	{ NULL, NULL, NULL },
};

#define APPLY_EXITS "0 done, " APPLY_EXITS_FAILED
#define APPLY_EXITS_FAILED "1 failed and rolled back, 3 the rollback " \
	"could not finish (vcrotate recover), 4 refused: nothing changed, 5 " \
	"locked by another vcrotate, 6 an interrupted transaction waits " \
	"(vcrotate recover), 128+N signal N (rolled back), 64 bad usage"
#define BACKUP_EXITS "0 done, 1 failed, 64 bad usage"
#define BACKUP_WRITE_EXITS "0 done, 1 failed, 5 locked by another " \
	"vcrotate, 6 an interrupted transaction waits (vcrotate recover), " \
	"64 bad usage"

/* Commands with subcommands ("backup restore") are one entry each. */
static const struct command {
	struct cmd_syntax syn;
	int		(*run)(const struct cmdline *, struct config *);
	const char	*exits;
} commands[] = {
	{ { "check", "", check_opts, "report every certificate and what is "
	    "wrong", CHECK_UNKNOWN }, cmd_check, "0 OK, 1 WARNING, 2 CRITICAL, "
	    "3 UNKNOWN (a part not read, or bad usage)" },
	{ { "plan", "", plan_opts, "an ordered replacement plan to review",
	    EXIT_USAGE }, cmd_plan, "0 a plan was made, 2 nothing to do, 1 "
	    "failed, 64 bad usage" },
	{ { "plan show", "FILE", no_opts, "check a plan file and print it for "
	    "review", EXIT_USAGE }, cmd_plan, "0 shown, 1 refused, 64 bad "
	    "usage" },
	{ { "csr", "", csr_opts, "a key, sealed in the backup, and a "
	    "request for a company CA to sign", EXIT_USAGE }, cmd_csr,
	    "0 written, 1 failed, 5 locked by another vcrotate, 6 an "
	    "interrupted transaction waits (vcrotate recover), 64 bad usage" },
	{ { "apply", "PLAN", apply_opts, "carry out a plan as one "
	    "transaction", EXIT_USAGE }, cmd_apply, "0 done, 2 done and kept, "
	    "though services that were down before still fail (named), "
	    APPLY_EXITS_FAILED },
	{ { "renew", "", renew_opts, "unattended: check, plan with the "
	    "configured policy, apply, with hooks", EXIT_USAGE }, cmd_renew,
	    "0 renewed, or nothing due, 2 renewed and kept, though services "
	    "that were down before still fail (named), " APPLY_EXITS_FAILED },
	{ { "history", "", json_opts, "the transactions so far, newest first",
	    EXIT_USAGE }, cmd_history, "0 done, 1 failed, 64 bad usage" },
	{ { "rollback", "TXN", rollback_opts, "put back the state before a "
	    "transaction", EXIT_USAGE },
	    cmd_rollback, APPLY_EXITS },
	{ { "recover", "", recover_opts, "finish a transaction that was "
	    "interrupted", EXIT_USAGE }, cmd_recover, "0 recovered (or nothing "
	    "to recover), 3 could not finish, 4 that direction is not "
	    "possible, 5 locked by another vcrotate, 64 bad usage" },
	{ { "backup snapshot", "", snapshot_opts, "keep the certificate state as "
	    "a snapshot in the backup", EXIT_USAGE }, cmd_backup,
	    BACKUP_WRITE_EXITS },
	{ { "backup list", "", json_opts, "every snapshot, newest first",
	    EXIT_USAGE }, cmd_backup, BACKUP_EXITS },
	{ { "backup show", "REF", json_opts, "the entries of a snapshot, "
	    "never a key", EXIT_USAGE }, cmd_backup, BACKUP_EXITS },
	{ { "backup diff", "REF1 REF2", no_opts, "what differs between two "
	    "snapshots", EXIT_USAGE }, cmd_backup, BACKUP_EXITS },
	{ { "backup restore", "REF", restore_opts, "make the appliance equal "
	    "to a snapshot", EXIT_USAGE }, cmd_backup, BACKUP_WRITE_EXITS },
	{ { "backup verify", "", no_opts, "read every snapshot: every digest, "
	    "every sealed item", EXIT_USAGE }, cmd_backup, BACKUP_EXITS },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

/* Whether command c is `name' or one of its subcommands ("backup"). */
static int
in_group(const struct command *c, const char *name)
{
	size_t	 n = strlen(name);

	return strncmp(c->syn.name, name, n) == 0 &&
	    (c->syn.name[n] == '\0' || c->syn.name[n] == ' ');
}

static const struct command *
find_command(const char *name)
{
	size_t	 k;

	for (k = 0; k < NCOMMANDS; k++)
		if (strcmp(commands[k].syn.name, name) == 0)
			return &commands[k];
	return NULL;
}

/* Prints word w at column *col after a space, or on a new line indented
 * by `indent' when it would pass column 79. */
static void
put_word(FILE *f, int *col, int indent, const char *w)
{
	int	 n = (int)strlen(w);

	if (*col > indent && *col + 1 + n > 79) {
		fprintf(f, "\n%*s", indent, "");
		*col = indent;
	} else if (*col != indent) {
		fputc(' ', f);
		(*col)++;
	}
	fputs(w, f);
	*col += n;
}

/* Text, a word at a time, wrapped at column 79 to `indent'. */
static void
put_text(FILE *f, int *col, int indent, const char *text)
{
	char	 w[80];
	size_t	 n;

	while (*(text += strspn(text, " ")) != '\0') {
		n = strcspn(text, " ");
		snprintf(w, sizeof(w), "%.*s", (int)n, text);
		put_word(f, col, indent, w);
		text += n;
	}
	fputc('\n', f);
}

static void
synopsis(FILE *f, const char *prefix, const struct cmd_syntax *s)
{
	const struct cmd_opt *o;
	char	 w[64];
	int	 col = fprintf(f, "%svcrotate", prefix);
	int	 indent = col + 1;

	put_word(f, &col, 0, "[options]");
	put_word(f, &col, indent, s->name);
	if (*s->operands != '\0')
		put_word(f, &col, indent, s->operands);
	for (o = s->opts; o->name != NULL; o++) {
		snprintf(w, sizeof(w), "[%s%s%s]", o->name, o->arg ? " " : "",
		    o->arg ? o->arg : "");
		put_word(f, &col, indent, w);
	}
	fputc('\n', f);
}

/* "  --name ARG    what it does", the help wrapped under itself. */
static void
option_line(FILE *f, const char *name, const char *arg, const char *help)
{
	char	 w[64];
	int	 col;

	snprintf(w, sizeof(w), "%s%s%s", name, arg ? " " : "", arg ? arg : "");
	col = fprintf(f, "  %-24s ", w);
	put_text(f, &col, 27, help);
}

static void
option_lines(FILE *f, const struct cmd_opt *o)
{
	for (; o->name != NULL; o++)
		option_line(f, o->name, o->arg, o->help);
}

static void
common_lines(FILE *f)
{
	const struct cmd_opt *o;
	size_t	 k;

	fprintf(f, "\noptions (of every command, before or after its "
	    "name):\n");
	for (k = 0; (o = config_common_option(k)) != NULL; k++)
		option_line(f, o->name, o->arg, o->help);
	option_line(f, "--help, -h", NULL, "this help");
}

/* The help of a command, or of every subcommand of a group ("backup"). */
static void
command_help(FILE *f, const char *name)
{
	const char *prefix = "usage: ";
	size_t	 k;
	int	 col;

	for (k = 0; k < NCOMMANDS; k++)
		if (in_group(&commands[k], name)) {
			synopsis(f, prefix, &commands[k].syn);
			prefix = "       ";
		}
	for (k = 0; k < NCOMMANDS; k++) {
		if (!in_group(&commands[k], name))
			continue;
		fprintf(f, "\n%s: %s\n", commands[k].syn.name,
		    commands[k].syn.summary);
		option_lines(f, commands[k].syn.opts);
		col = fprintf(f, "  exit:");
		put_text(f, &col, 8, commands[k].exits);
	}
	common_lines(f);
}

static void
usage(FILE *f)
{
	size_t	 k;

	fprintf(f, "usage: vcrotate [options] COMMAND [command options] "
	    "[arguments]\n"
	    "       vcrotate help [COMMAND [SUBCOMMAND]]\n"
	    "       vcrotate COMMAND --help\n"
	    "       vcrotate --version\n\ncommands:\n");
	for (k = 0; k < NCOMMANDS; k++)
		fprintf(f, "  %-17s %s\n", commands[k].syn.name,
		    commands[k].syn.summary);
	common_lines(f);
	fprintf(f, "\nvcrotate help COMMAND: its options; man vcrotate: "
	    "everything\n");
}

/* Whether `name' is a command or a group of them ("backup"). */
static int
known(const char *name)
{
	size_t	 k;

	for (k = 0; k < NCOMMANDS; k++)
		if (in_group(&commands[k], name))
			return 1;
	return 0;
}

/*
 * "did you mean": the command (or, in a group, the subcommand) closest to
 * w, within two edits (a transposition is one), or that w begins.
 */
static const char *
nearest_command(const char *group, const char *w)
{
	static char best[32];
	char	 cand[32];
	const char *name;
	size_t	 k, d, wl = strlen(w), bestd = 3;
	size_t	 glen = group ? strlen(group) + 1 : 0;
	int	 found = 0;

	for (k = 0; k <= NCOMMANDS; k++) {
		if (k == NCOMMANDS)
			name = group == NULL ? "help" : NULL;
		else if (group == NULL)
			name = commands[k].syn.name;
		else if (in_group(&commands[k], group) &&
		    commands[k].syn.name[glen - 1] == ' ')
			name = commands[k].syn.name + glen;
		else
			name = NULL;
		if (name == NULL)
			continue;
		snprintf(cand, sizeof(cand), "%.*s", (int)strcspn(name, " "),
		    name);
		if ((d = edit_distance(w, cand)) < bestd && d < wl)
			bestd = d;
		else if (found || wl < 3 || strncmp(cand, w, wl) != 0)
			continue;	/* a prefix only when nothing is near */
		snprintf(best, sizeof(best), "%s", cand);
		found = 1;
	}
	return found ? best : NULL;
}

static int
unknown_command(const char *group, const char *w)
{
	const char *near = nearest_command(group, w);
	char	 who[32], list[48];

	snprintf(who, sizeof(who), "vcrotate%s%s", group ? " " : "",
	    group ? group : "");
	snprintf(list, sizeof(list), "vcrotate help%s%s", group ? " " : "",
	    group ? group : "");
	if (near != NULL)
		fprintf(stderr, "%s: unknown %scommand '%s'; did you mean "
		    "'%s'?\n", who, group ? "sub" : "", w, near);
	else
		fprintf(stderr, "%s: unknown %scommand '%s' (%s lists them)\n",
		    who, group ? "sub" : "", w, list);
	return EXIT_USAGE;
}

static int
version(void)
{
	LDAPAPIInfo info;
	int	 maj = 0, min = 0, rev = 0, v;

	printf("vcrotate %s, %s\n", VCROTATE_VERSION, VCROTATE_STATIC ?
	    "static build" : "dynamically linked");
	printf("%s\n", OpenSSL_version(OPENSSL_VERSION));
	memset(&info, 0, sizeof(info));
	info.ldapai_info_version = LDAP_API_INFO_VERSION;
	if (ldap_get_option(NULL, LDAP_OPT_API_INFO, &info) ==
	    LDAP_OPT_SUCCESS) {
		v = info.ldapai_vendor_version;
		printf("libldap %d.%d.%d (%s)\n", v / 10000, v / 100 % 100,
		    v % 100, info.ldapai_vendor_name ?
		    info.ldapai_vendor_name : "unknown vendor");
		ldap_memfree(info.ldapai_vendor_name);
		ldap_memvfree((void **)info.ldapai_extensions);
	} else
		printf("libldap %d.%d.%d (%s, compiled with)\n",
		    LDAP_VENDOR_VERSION_MAJOR, LDAP_VENDOR_VERSION_MINOR,
		    LDAP_VENDOR_VERSION_PATCH, LDAP_VENDOR_NAME);
	git_libgit2_version(&maj, &min, &rev);
	printf("libgit2 %d.%d.%d\n", maj, min, rev);
#if JANSSON_VERSION_HEX >= 0x020d00
	printf("jansson %s\n", jansson_version_str());
#else
	printf("jansson %s (compiled with)\n", JANSSON_VERSION);
#endif
#ifdef VCROTATE_MIMALLOC
	v = mi_version();
	printf("mimalloc %d.%d.%d (malloc)\n", v / 100, v / 10 % 10, v % 10);
#endif
	return fflush(stdout) == 0 ? 0 : 1;
}

/*
 * vcrotate help [COMMAND [SUBCOMMAND]]: 0, or EXIT_USAGE for a command
 * that does not exist.
 */
static int
help(int argc, char *argv[])
{
	char	 name[64];

	if (argc == 0) {
		usage(stdout);
		return 0;
	}
	if (argc > 2) {
		fprintf(stderr, "vcrotate help: unexpected argument '%s'\n",
		    argv[2]);
		usage(stderr);
		return EXIT_USAGE;
	}
	snprintf(name, sizeof(name), "%s%s%s", argv[0], argc > 1 ? " " : "",
	    argc > 1 ? argv[1] : "");
	if (!known(argv[0]))
		return unknown_command(NULL, argv[0]);
	if (argc > 1 && find_command(name) == NULL)
		return unknown_command(argv[0], argv[1]);
	command_help(stdout, name);
	return 0;
}

/*
 * The command at argv[0]; for a group ("backup", "plan"), the subcommand
 * named by the first word after it that is not a common option (taken into
 * cfg). 0: *c, and its last name word at argv[*at]; -1: nothing to run,
 * exit with *ret (help printed: 0; bad usage, named, with the usage:
 * EXIT_USAGE).
 */
static int
resolve(struct config *cfg, int argc, char *argv[],
    const struct command **c, int *at, int *ret)
{
	const struct command *self = find_command(argv[0]);
	char	 name[64], who[64];
	size_t	 k;
	int	 j, r;

	*c = self;
	*at = 0;
	*ret = EXIT_USAGE;
	if (!known(argv[0])) {
		unknown_command(NULL, argv[0]);
		return -1;
	}
	for (k = 0; k < NCOMMANDS; k++)
		if (in_group(&commands[k], argv[0]) && &commands[k] != self)
			break;
	if (k == NCOMMANDS)
		return 0;	/* no subcommands */
	snprintf(who, sizeof(who), "vcrotate %s", argv[0]);
	for (j = 1; j < argc; j++) {
		if (strcmp(argv[j], "--help") == 0 ||
		    strcmp(argv[j], "-h") == 0) {
			command_help(stdout, argv[0]);
			*ret = 0;
			return -1;
		}
		if ((r = config_option(cfg, who, argc, argv, &j)) == -1)
			goto usage;
		if (r == 1)
			continue;
		if (self != NULL)
			/* plan: its own options, or its subcommand */
			break;
		if (argv[j][0] == '-') {
			fprintf(stderr, "%s: unknown option %s\n", who,
			    argv[j]);
			goto usage;
		}
		break;
	}
	if (j == argc && self == NULL) {
		fprintf(stderr, "%s: missing subcommand\n", who);
		goto usage;
	}
	if (j == argc || argv[j][0] == '-')
		return 0;
	snprintf(name, sizeof(name), "%s %s", argv[0], argv[j]);
	if ((*c = find_command(name)) != NULL) {
		*at = j;
		return 0;
	}
	*c = self;
	if (self == NULL || nearest_command(argv[0], argv[j]) != NULL) {
		unknown_command(argv[0], argv[j]);
		goto usage;
	}
	return 0;	/* an operand plan itself refuses */
usage:
	command_help(stderr, argv[0]);
	return -1;
}

static int
run(struct config *cfg, int argc, char *argv[])
{
	const struct command *c;
	struct cmdline cl;
	int	 at, ret;

	if (resolve(cfg, argc, argv, &c, &at, &ret) == -1)
		return ret;
	switch (cmdline_parse(&cl, &c->syn, argc - at, argv + at, cfg)) {
	case 0:
		ret = c->run(&cl, cfg);
		break;
	case 1:
		command_help(stdout, c->syn.name);
		ret = 0;
		break;
	default:
		command_help(stderr, c->syn.name);
		ret = c->syn.usage_exit;
	}
	cmdline_free(&cl);
	return ret;
}

/*
 * The exit code of a usage error before the command, at argv[i]:
 * monitoring reads check's codes, where bad usage is UNKNOWN (3), also when
 * the bad word came before "check" (vcrotate --bogus check). The command is
 * the first word after it that is not an option or an option's argument.
 */
static int
usage_exit(int argc, char *argv[], int i)
{
	const struct cmd_opt *o;
	size_t	 k;

	for (i++; i < argc; i++) {
		if (argv[i][0] != '-')
			return strcmp(argv[i], "check") == 0 ? CHECK_UNKNOWN :
			    EXIT_USAGE;
		for (k = 0; (o = config_common_option(k)) != NULL; k++)
			if (o->arg != NULL && strcmp(argv[i], o->name) == 0)
				i++;
	}
	return EXIT_USAGE;
}

/*
 * Before anything reads a secret (the environment's password, first): no
 * core file and no ptrace by other users, so neither a crash nor a
 * debugger of the same uid gets the keys in our memory. A failure is
 * worth a warning, not a refusal.
 */
static void
no_dumps(void)
{
	const struct rlimit none = { 0, 0 };

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fprintf(stderr, "vcrotate: warning: prctl(PR_SET_DUMPABLE, "
		    "0): %s; a crash may leave a core dump holding keys\n",
		    strerror(errno));
	if (setrlimit(RLIMIT_CORE, &none) == -1)
		fprintf(stderr, "vcrotate: warning: setrlimit(RLIMIT_CORE, "
		    "0): %s; a crash may leave a core dump holding keys\n",
		    strerror(errno));
}

int
main(int argc, char *argv[])
{
	struct config cfg;
	int	 i, r, ret;

	no_dumps();
	memset(&cfg, 0, sizeof(cfg));
	cfg.warn_days = cfg.crit_days = -1;
	/* Children may exit without reading what we write them. */
	signal(SIGPIPE, SIG_IGN);
	if (config_take_environment(&cfg) == -1) {
		fprintf(stderr, "vcrotate: out of memory\n");
		return 1;
	}
	for (i = 1; i < argc; i++) {
		if ((r = config_option(&cfg, "vcrotate", argc, argv, &i)) == -1) {
			usage(stderr);
			ret = usage_exit(argc, argv, i);
			goto out;
		}
		if (r == 0)
			break;
	}
	if (i == argc) {
		fprintf(stderr, "vcrotate: missing command\n");
		usage(stderr);
		ret = EXIT_USAGE;
	} else if (strcmp(argv[i], "--version") == 0)
		ret = version();
	else if (strcmp(argv[i], "help") == 0 ||
	    strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
		ret = help(argc - i - 1, argv + i + 1);
	else if (argv[i][0] == '-') {
		fprintf(stderr, "vcrotate: unknown option %s\n", argv[i]);
		usage(stderr);
		ret = usage_exit(argc, argv, i);
	} else
		ret = run(&cfg, argc - i, argv + i);
out:
	config_free(&cfg);
	cert_cleanup();
	return ret;
}
