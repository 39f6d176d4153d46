/*
 * main.c - the vcrotate command: option parsing common to every command and the
 * table of commands.
 */
#include <stdio.h>
#include <string.h>

static void
usage(FILE *f)
{
	fprintf(f, "usage: vcrotate [--root DIR] <command> [options]\n"
	    "       vcrotate --version\n");
}

int
main(int argc, char *argv[])
{
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("vcrotate %s\n", VCROTATE_VERSION);
		return 0;
	}
	usage(stderr);
	return 64;
}
