/*
 * lwregshell.c - the lab's lwregshell, enough of it to read registry values
 * the way admins and scripts do:
 *
 *	lwregshell list_values '[HKEY_THIS_MACHINE\services\vmdir]'
 *
 * prints one line per value, `+  "name"  REG_SZ  "value"', where the value
 * escapes `"' as `\"' and `\' as `\\' (appliance.md section 5). Key names are
 * case-insensitive, as in likewise.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labutil.h"

static void
print_quoted(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar(*s);
	}
	putchar('"');
}

static void
print_value(const char *name, const char *value, void *arg)
{
	(void)arg;
	fputs("+  ", stdout);
	print_quoted(name);
	fputs("  REG_SZ  ", stdout);
	print_quoted(value);
	putchar('\n');
}

int
main(int argc, char *argv[])
{
	char	*root = NULL, *key = NULL;
	size_t	 len;
	int	 rc = 1;

	if (argc != 3 || strcmp(argv[1], "list_values") != 0) {
		fprintf(stderr, "usage: lwregshell list_values '[KEY]'\n");
		return 1;
	}
	len = strlen(argv[2]);
	if (len < 3 || argv[2][0] != '[' || argv[2][len - 1] != ']') {
		fprintf(stderr, "lwregshell: invalid key path %s: "
		    "expected [HKEY_THIS_MACHINE\\...]\n", argv[2]);
		return 1;
	}
	if ((key = strndup(argv[2] + 1, len - 2)) == NULL)
		goto out;
	if ((root = lab_root(LAB_LWREGSHELL)) == NULL) {
		fprintf(stderr, "lwregshell: cannot find the lab root: %s\n",
		    strerror(errno));
		goto out;
	}
	if (lab_reg_list(root, key, print_value, NULL) == -1) {
		if (errno == ENOENT)
			fprintf(stderr, "list_values: registry key %s not found"
			    " (LWREG_ERROR_NO_SUCH_KEY_OR_VALUE)\n", argv[2]);
		else
			fprintf(stderr, "lwregshell: %s: %s\n", LAB_REGISTRY,
			    strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(root);
	free(key);
	return rc;
}
