/*
 * ldapwrap.c - the lab's /opt/likewise/bin/ldapsearch, ldapmodify and
 * ldapdelete (one program installed under the three names).
 *
 * The appliance ships likewise's build of the OpenLDAP 2.4 client tools,
 * which still take the old "-h HOST" and "-p PORT" options that field
 * scripts use (fixsts.sh of KB 76719: "-h localhost -p 389"). OpenLDAP 2.5
 * dropped them, so Debian's /usr/bin/ldap* (ldap-utils) refuse them. This
 * wrapper takes them out, turns them into "-H ldap://HOST:PORT" (port 389
 * when only -h is given, as 2.4 does), maps this appliance's vmdir (host
 * localhost, 127.0.0.1 or the PNID, port 389) to the lab's slapd
 * (127.0.0.1:<ldap_port of lab.conf>), and execs /usr/bin/<name> with every
 * other argument unchanged. Without -h, -p or -H the tools' default, on the
 * appliance ldap://localhost:389, becomes the lab's slapd too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "labutil.h"

#define WRAP_DIR	"opt/likewise/bin/"
#define REAL_DIR	"/usr/bin/"

/*
 * Options of the OpenLDAP 2.4 tools that take an argument (common.c
 * "d:D:e:h:H:o:O:p:P:R:U:w:X:y:Y:" plus ldapsearch's "a:b:E:F:l:s:S:T:z:"
 * and ldapmodify's "f:M:S:"): their values are never parsed as options.
 */
static const char with_arg[] = "abdDeEfFhHlMoOpPRsSTUwXyYz";

static const char *const names[] = { "ldapsearch", "ldapmodify",
	"ldapdelete", "ldapadd" };

int
main(int argc, char **argv)
{
	const char	*name, *host = NULL, *port = NULL;
	char		*suffix = NULL, *root = NULL, *conf = NULL;
	char		*labport = NULL, *pnid = NULL, *uri = NULL, *real = NULL;
	char		**nargv = NULL;
	int		 i, n = 0, has_uri = 0, rest = 0;
	size_t		 k;

	name = strrchr(argv[0], '/') != NULL ? strrchr(argv[0], '/') + 1 :
	    argv[0];
	for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		if (strcmp(name, names[k]) == 0)
			break;
	if (k == sizeof(names) / sizeof(names[0])) {
		fprintf(stderr, "ldapwrap: run as one of ldapsearch, "
		    "ldapmodify, ldapdelete\n");
		return 1;
	}
	if ((nargv = calloc((size_t)argc + 3, sizeof(*nargv))) == NULL)
		goto fail;
	nargv[n++] = (char *)name;
	for (i = 1; i < argc; i++) {
		const char	*a = argv[i];
		size_t		 j;

		if (rest || a[0] != '-' || a[1] == '\0') {
			nargv[n++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			rest = 1;
			nargv[n++] = argv[i];
			continue;
		}
		/* A cluster of flags, maybe ending in one with a value. */
		for (j = 1; a[j] != '\0'; j++)
			if (strchr(with_arg, a[j]) != NULL)
				break;
		if (a[j] == '\0') {
			nargv[n++] = argv[i];
			continue;
		}
		if (a[j] == 'h' || a[j] == 'p') {
			const char *v = a[j + 1] != '\0' ? a + j + 1 :
			    (i + 1 < argc ? argv[++i] : NULL);

			if (v == NULL) {
				fprintf(stderr, "%s: option requires an "
				    "argument -- '%c'\n", name, a[j]);
				goto usage;
			}
			if (a[j] == 'h')
				host = v;
			else
				port = v;
			if (j > 1) {
				/* keep the flags before it: "-xh" -> "-x" */
				char *f = strndup(a, j);

				if (f == NULL)
					goto fail;
				nargv[n++] = f;	/* freed by exec or exit */
			}
			continue;
		}
		if (a[j] == 'H')
			has_uri = 1;
		nargv[n++] = argv[i];
		if (a[j + 1] == '\0' && i + 1 < argc)
			nargv[n++] = argv[++i];
	}
	if (has_uri && (host != NULL || port != NULL)) {
		fprintf(stderr, "%s: -H is incompatible with -h/-p\n", name);
		goto usage;
	}
	if (asprintf(&suffix, "%s%s", WRAP_DIR, name) == -1) {
		suffix = NULL;
		goto fail;
	}
	if ((root = lab_root(suffix)) == NULL) {
		fprintf(stderr, "%s: cannot find the lab root from "
		    "/proc/self/exe: %s\n", name, strerror(errno));
		goto out;
	}
	if (!has_uri) {
		int	local;

		if (host == NULL)
			host = "localhost";
		if (port == NULL)
			port = "389";
		pnid = lab_reg_get(root, LAB_REG_VMAFD, "PNID");
		/* A management node has no directory of its own: its
		 * localhost:389 answers nothing, as on an appliance. */
		local = !lab_is_management(root) &&
		    (strcasecmp(host, "localhost") == 0 ||
		    strcmp(host, "127.0.0.1") == 0 ||
		    (pnid != NULL && strcasecmp(host, pnid) == 0));
		if (local && strcmp(port, "389") == 0) {
			if ((conf = lab_path(root, LAB_CONF)) == NULL ||
			    (labport = lab_conf_get(conf, "ldap_port")) ==
			    NULL) {
				fprintf(stderr, "%s: %s: no ldap_port\n", name,
				    LAB_CONF);
				goto out;
			}
			host = "127.0.0.1";
			port = labport;
		}
		if (asprintf(&uri, "ldap://%s:%s", host, port) == -1) {
			uri = NULL;
			goto fail;
		}
		nargv[n++] = "-H";
		nargv[n++] = uri;
	}
	nargv[n] = NULL;
	if (asprintf(&real, "%s%s", REAL_DIR, name) == -1) {
		real = NULL;
		goto fail;
	}
	/* libldap must not read a user's ldaprc that points elsewhere. */
	setenv("LDAPNOINIT", "1", 1);
	execv(real, nargv);
	fprintf(stderr, "%s: %s: %s (install ldap-utils)\n", name, real,
	    strerror(errno));
	goto out;
usage:
	free(nargv);
	return 1;
fail:
	fprintf(stderr, "%s: %s\n", name, strerror(errno));
out:
	free(nargv);
	free(suffix);
	free(root);
	free(conf);
	free(labport);
	free(pnid);
	free(uri);
	free(real);
	return 1;
}
