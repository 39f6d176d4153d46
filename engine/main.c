/*
 * main.c - the vcrotate command: options common to every command, then the
 * command from the table.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cert.h"
#include "commands.h"

static const struct command {
	const char	*name;
	int		(*run)(int, char *[], struct config *);
	const char	*summary;
} commands[] = {
	{ "check", cmd_check, "report every certificate and what is wrong" },
	{ "plan", cmd_plan, "an ordered replacement plan to review" },
	{ "apply", cmd_apply, "carry out a plan as one transaction" },
	{ "history", cmd_history, "the transactions so far" },
	{ "rollback", cmd_rollback, "put back the state before a transaction" },
	{ "recover", cmd_recover, "finish a transaction that was interrupted" },
	{ "backup", cmd_backup, "snapshots of the certificate state, in git" },
};

static void
usage(FILE *f)
{
	size_t	 i;

	fprintf(f, "usage: vcrotate [--root DIR] [--config FILE] "
	    "[--ldap-uri URI]\n"
	    "                [--bind-dn DN --password-file FILE] "
	    "[--starttls] [--ca-file FILE]\n"
	    "                <command> [options]\n"
	    "       vcrotate --version\n\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name,
		    commands[i].summary);
}

/*
 * The exit code of a usage error at argv[i]: monitoring reads check's
 * codes, where bad usage is UNKNOWN (3), also when the bad word came before
 * "check" (vcrotate --bogus check). The command is the first word after it
 * that config_option does not take for an option or its argument.
 */
static int
usage_exit(int argc, char *argv[], int i)
{
	struct config scratch;
	int	 r, ret = EXIT_USAGE;

	memset(&scratch, 0, sizeof(scratch));
	for (i++; i < argc; i++) {
		if ((r = config_option(&scratch, argc, argv, &i)) == -1)
			break;
		if (r == 1 || argv[i][0] == '-')
			continue;
		if (strcmp(argv[i], "check") == 0)
			ret = 3;
		break;
	}
	config_free(&scratch);
	return ret;
}

int
main(int argc, char *argv[])
{
	struct config cfg;
	size_t	 k;
	int	 i, r, ret;

	memset(&cfg, 0, sizeof(cfg));
	cfg.warn_days = cfg.crit_days = -1;
	/* Children may exit without reading what we write them. */
	signal(SIGPIPE, SIG_IGN);
	if (config_take_environment(&cfg) == -1) {
		fprintf(stderr, "vcrotate: out of memory\n");
		return 1;
	}
	for (i = 1; i < argc; i++) {
		if ((r = config_option(&cfg, argc, argv, &i)) == -1) {
			config_free(&cfg);
			return usage_exit(argc, argv, i);
		}
		if (r == 0)
			break;
	}
	if (i < argc && strcmp(argv[i], "--version") == 0) {
		printf("vcrotate %s\n", VCROTATE_VERSION);
		config_free(&cfg);
		return 0;
	}
	if (i < argc && (strcmp(argv[i], "help") == 0 ||
	    strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)) {
		usage(stdout);
		config_free(&cfg);
		return 0;
	}
	for (k = 0; i < argc && k < sizeof(commands) / sizeof(commands[0]);
	    k++) {
		if (strcmp(argv[i], commands[k].name) == 0) {
			ret = commands[k].run(argc - i, argv + i, &cfg);
			config_free(&cfg);
			cert_cleanup();
			return ret;
		}
	}
	if (i < argc)
		fprintf(stderr, "vcrotate: unknown command '%s'\n", argv[i]);
	usage(stderr);
	config_free(&cfg);
	return usage_exit(argc, argv, i);
}
