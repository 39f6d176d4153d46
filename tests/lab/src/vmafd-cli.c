/*
 * vmafd-cli.c - the lab's vmafd-cli: the appliance's identity (PNID, machine
 * id, domain, site, Lookup Service location, domain controller), one line per
 * command, read from the vmafd key of the lab registry. Like the real one it
 * talks to vmafdd, so it fails while vmafdd is stopped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "labutil.h"

/* vmafd's error codes are Windows ones; the exit status is the low byte. */
#define ERR_INVALID_PARAMETER	87
/* A DCE/RPC status: vmafdd cannot be reached (the service is stopped). */
#define ERR_RPC_CONNECT		382312694
#define ERR_NOT_FOUND		4312

static const struct {
	const char *cmd;
	const char *value;	/* name under LAB_REG_VMAFD */
} commands[] = {
	{ "get-pnid",		"PNID" },
	{ "get-machine-id",	"MachineID" },
	{ "get-domain-name",	"DomainName" },
	{ "get-site-name",	"SiteName" },
	{ "get-ls-location",	"LSLocation" },
	{ "get-dc-name",	"DCName" },
};

static int
fail(int code, const char *text)
{
	fprintf(stderr, "vmafd-cli failed. Error %d: %s\n", code, text);
	return code & 0xff;
}

static void
usage(void)
{
	size_t	 i;

	fprintf(stderr, "Usage: vmafd-cli <command> --server-name <server>\n"
	    "Commands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(stderr, "    %s\n", commands[i].cmd);
}

int
main(int argc, char *argv[])
{
	char	*root = NULL, *value = NULL;
	const char *server = NULL, *name = NULL;
	size_t	 i;
	int	 rc = ERR_INVALID_PARAMETER & 0xff;

	if (argc < 2) {
		usage();
		goto out;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].cmd) == 0)
			name = commands[i].value;
	if (name == NULL) {
		usage();
		goto out;
	}
	for (i = 2; i < (size_t)argc; i++) {
		if (strcmp(argv[i], "--server-name") == 0 && i + 1 < (size_t)argc)
			server = argv[++i];
		else {
			usage();
			goto out;
		}
	}
	if (server == NULL) {
		rc = fail(ERR_INVALID_PARAMETER, "Operation failed with error "
		    "ERROR_INVALID_PARAMETER (87) ");
		goto out;
	}
	if ((root = lab_root(LAB_VMAFD_CLI)) == NULL) {
		fprintf(stderr, "vmafd-cli: cannot find the lab root: %s\n",
		    strerror(errno));
		rc = 1;
		goto out;
	}
	/* The lab has one node: anything else is a host we cannot reach,
	 * and so is vmafdd on this one while it is stopped. */
	if ((strcasecmp(server, "localhost") != 0 &&
	    strcmp(server, "127.0.0.1") != 0) ||
	    lab_service_running(root, "vmafdd") == 0) {
		rc = fail(ERR_RPC_CONNECT,
		    "Operation failed with error UNKNOWN (382312694) ");
		goto out;
	}
	if ((value = lab_reg_get(root, LAB_REG_VMAFD, name)) == NULL) {
		rc = fail(ERR_NOT_FOUND, "Operation failed with error "
		    "ERROR_OBJECT_NOT_FOUND (4312) ");
		goto out;
	}
	printf("%s\n", value);
	rc = 0;
out:
	free(root);
	free(value);
	return rc;
}
