/*
 * vecs-cli.c - the lab's /usr/lib/vmware-vmafd/bin/vecs-cli: VECS stores
 * (vecsdb.h) behind the command line of the appliance's vecs-cli.
 *
 * Output, prompts, error lines and codes follow the open-source vmafd
 * (Lightwave) vecs-cli and vmafdd, which the appliance ships:
 *  - errors end with "vecs-cli failed. Error <n>: <text> " (note the
 *    trailing space) on stderr, and the exit status is the DWORD error code
 *    returned from main, i.e. code & 0xff;
 *  - every failure with ERROR_INVALID_PARAMETER also prints the usage on
 *    stdout, including the getcert-on-a-Secret-Key case, which is 87 there;
 *  - "entry delete" of an alias that does not exist succeeds (vmafdd treats
 *    it as already deleted) and, like the real one, its success line ends
 *    in "\n " (a newline, then a space);
 *  - certificates are stored re-encoded as vmafdd does (every certificate of
 *    the chain through PEM_write_bio_X509), private keys (RSA only) as
 *    unencrypted PKCS#8 PEM; a CRL given to entry create is refused
 *    (ERROR_BAD_FORMAT): only the root sync (rootsync.h) makes CRL entries;
 *  - without --alias a certificate entry is named by the lowercase hex SHA-1
 *    of its (first) certificate, as TRUSTED_ROOTS aliases are;
 *  - each command's own message for a missing store.
 *
 * Lab differences: --server/--upn log in to this node only and --password
 * is ignored (no encrypted keys); force-refresh runs the lab's root sync in
 * vecs-cli's own process rather than in vmafdd's; and the fault injection
 * below.
 *
 * Fault injection: every write command (store create/delete, entry
 * create/delete) that gets past argument checks looks, under the VECS lock,
 * at ROOT/var/lib/vmware-lab/faults/vecs-write. Holding N > 1 it is
 * rewritten with N-1 and the command goes on; holding N <= 1 (or anything
 * unreadable) it is removed and the command fails with ERROR_INTERNAL_ERROR
 * before writing anything. Holding "N down", the Nth write takes the
 * directory server away instead (faults/slapd-down, then service-control
 * --stop vmdird) and itself succeeds: vmdir lost in the middle of a change.
 */

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "labutil.h"
#include "rootsync.h"
#include "vecsdb.h"

/* Windows / vmafd error codes, as vmafd's client returns them. */
#define ERR_FILE_NOT_FOUND	2
#define ERR_ACCESS_DENIED	5
#define ERR_BAD_FORMAT		11
#define ERR_INVALID_PARAMETER	87
#define ERR_LABEL_TOO_LONG	154
#define ERR_ALREADY_EXISTS	183
#define ERR_LOGON_FAILURE	1326
#define ERR_INVALID_STATE	5023
#define ERR_INTERNAL_ERROR	1359
#define ERR_OBJECT_NOT_FOUND	4312
#define ERR_PRIVATE_KEY_MISMATCH 90018	/* VECS_BASE_ERROR + 18 */
/* A DCE/RPC status: vecs-cli cannot reach vmafdd (the service is stopped). */
#define ERR_RPC_CONNECT		382312694

/*
 * vmafd words Win32 codes as "Operation failed with error NAME (n)" and its
 * own VECS codes by their description.
 */
static const struct vcli_error {
	unsigned	 code;
	const char	*name;	/* Win32 name, or NULL */
	const char	*desc;	/* VECS description, or NULL */
} vcli_errors[] = {
	{ ERR_FILE_NOT_FOUND, "ERROR_FILE_NOT_FOUND", NULL },
	{ ERR_ACCESS_DENIED, "ERROR_ACCESS_DENIED", NULL },
	{ ERR_BAD_FORMAT, "ERROR_BAD_FORMAT", NULL },
	{ ERR_INVALID_PARAMETER, "ERROR_INVALID_PARAMETER", NULL },
	{ ERR_LABEL_TOO_LONG, "ERROR_LABEL_TOO_LONG", NULL },
	{ ERR_ALREADY_EXISTS, "ERROR_ALREADY_EXISTS", NULL },
	{ ERR_LOGON_FAILURE, "ERROR_LOGON_FAILURE", NULL },
	{ ERR_INVALID_STATE, "ERROR_INVALID_STATE", NULL },
	{ ERR_INTERNAL_ERROR, "ERROR_INTERNAL_ERROR", NULL },
	{ ERR_OBJECT_NOT_FOUND, "ERROR_OBJECT_NOT_FOUND", NULL },
	{ ERR_PRIVATE_KEY_MISMATCH, NULL,
	    "Private key does not match certificate" },
	{ ERR_RPC_CONNECT, "UNKNOWN", NULL },
};

#define FAULT_FILE	LAB_FAULTS_DIR "/vecs-write"
#define PEM_CRL_BEGIN	"-----BEGIN X509 CRL-----"

/* Options a command accepts. */
#define O_NAME		0x001
#define O_STORE		0x002
#define O_ALIAS		0x004
#define O_CERT		0x008
#define O_KEY		0x010
#define O_OUTPUT	0x020
#define O_TEXT		0x040
#define O_ALIASES	0x080
#define O_YES		0x100
#define O_SERVER	0x200	/* --server and --upn */
#define O_PASSWORD	0x400	/* the key's password (entry create, get*) */
#define O_USER		0x800	/* store permission: --user, --grant, --revoke */
#define O_LASTNAME	0x1000	/* the last --name wins, not the first */
#define STORE_LABEL_MAX_LENGTH	128	/* vmafd vmafddefines.h */

struct opts {
	const char	*name;
	const char	*store;
	const char	*alias;
	const char	*cert;
	const char	*key;
	const char	*output;
	int		 text;
	int		 aliases;
	int		 yes;
	const char	*server;
	const char	*upn;
	const char	*password;
	const char	*user;
	unsigned	 grant;		/* READ_STORE 1 | WRITE_STORE 2 */
	unsigned	 revoke;
};

struct cmd {
	const char	*group;
	const char	*verb;		/* NULL: the group is the command */
	unsigned	 opts;
	unsigned	(*run)(const char *, const struct opts *);
};

static void
usage(void)
{
	fputs("Usage: vecs-cli { arguments }\n\n"
	    "Arguments:\n\n"
	    "\tstore create --name <name>\n"
	    "\tstore list\n"
	    "\tstore delete --name <name> [-y]\n"
	    "\tstore permission --name <name>\n"
	    "\t                 --user <username>\n"
	    "\t                 --grant|--revoke  read|write\n"
	    "\tstore get-permissions --name <name>\n"
	    "\tentry create --store <store-name>\n"
	    "\t             --alias <alias>\n"
	    "\t             --cert <file-path>\n"
	    "\t            [--key  <file-path>]\n"
	    "\tentry list   --store <store-name> [--text] [--aliases]\n"
	    "\tentry getcert --store <store-name>\n"
	    "\t              --alias <alias>\n"
	    "\t            [--output <output-file-path>]\n"
	    "\t            [--text]\n"
	    "\tentry getkey --store <store-name>\n"
	    "\t             --alias <alias>\n"
	    "\t            [--output <output-file-path>]\n"
	    "\t            [--text]\n"
	    "\tentry delete --store <store-name> --alias <alias> [-y]\n"
	    "\tforce-refresh\n"
	    "\thelp\n", stdout);
}

static void
print_error(unsigned code)
{
	size_t	i;

	fflush(stdout);
	for (i = 0; i < sizeof(vcli_errors) / sizeof(vcli_errors[0]); i++) {
		const struct vcli_error *e = &vcli_errors[i];

		if (e->code != code)
			continue;
		if (e->desc != NULL)
			fprintf(stderr, "vecs-cli failed. Error %u: %s \n",
			    code, e->desc);
		else
			fprintf(stderr, "vecs-cli failed. Error %u: "
			    "Operation failed with error %s (%u) \n",
			    code, e->name, code);
		return;
	}
	fprintf(stderr, "vecs-cli failed. Error %u: Error %u. \n", code, code);
}

/* A vecsdb or system errno as the code vmafd would have returned. */
static unsigned
errno_code(int err)
{
	switch (err) {
	case ENOENT:
		return ERR_OBJECT_NOT_FOUND;
	case EEXIST:
		return ERR_ALREADY_EXISTS;
	case EINVAL:
		return ERR_INVALID_PARAMETER;
	default:
		return ERR_INTERNAL_ERROR;
	}
}

/* Errors of files the user names (--cert, --key, --output). */
static unsigned
file_errno_code(int err)
{
	switch (err) {
	case ENOENT:
	case ENOTDIR:
		return ERR_FILE_NOT_FOUND;
	case EACCES:
	case EPERM:
		return ERR_ACCESS_DENIED;
	default:
		return ERR_INTERNAL_ERROR;
	}
}

static int
is_empty(const char *s)
{
	return s == NULL || *s == '\0';
}

/* vecs-cli's complaint about an empty or missing store name. */
static unsigned
invalid_store(const char *name)
{
	fprintf(stderr, "Error : An invalid store name [%s] was specified \n",
	    name ? name : "");
	return ERR_INVALID_PARAMETER;
}

/* The "down" fault: vmdird stopped, and kept from starting again. */
static int
vmdir_down(const char *root)
{
	char	*flag = lab_path(root, LAB_FAULTS_DIR "/slapd-down");
	char	*sc = lab_path(root, "usr/bin/service-control");
	pid_t	 pid;
	int	 st, ret = -1;

	if (flag == NULL || sc == NULL ||
	    lab_write_file_atomic(flag, "", 0, 0644) == -1) {
		fprintf(stderr, "vecs-cli: cannot take vmdird down: %s\n",
		    strerror(errno));
		goto out;
	}
	if ((pid = fork()) == 0) {
		int	 null = open("/dev/null", O_WRONLY);

		if (null != -1) {
			dup2(null, 1);
			dup2(null, 2);
		}
		execl(sc, "service-control", "--stop", "vmdird", (char *)NULL);
		_exit(127);
	}
	if (pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0)
		ret = 0;
	else
		fprintf(stderr, "vecs-cli: service-control --stop vmdird "
		    "failed\n");
out:
	free(flag);
	free(sc);
	return ret;
}

/* The lab-only fault: see the comment at the top. Called under the lock. */
static unsigned
fault_check(const char *root)
{
	char		*path = NULL, *buf = NULL, *end = NULL, num[32];
	size_t		 len = 0;
	unsigned	 rc = ERR_INTERNAL_ERROR;
	long		 n;
	int		 down;

	if ((path = lab_path(root, FAULT_FILE)) == NULL) {
		fprintf(stderr, "vecs-cli: %s: %s\n", FAULT_FILE,
		    strerror(errno));
		goto out;
	}
	if (lab_read_file(path, &buf, &len) == -1) {
		if (errno == ENOENT)
			rc = 0;
		else
			fprintf(stderr, "vecs-cli: %s: %s\n", path,
			    strerror(errno));
		goto out;
	}
	errno = 0;
	n = strtol(buf, &end, 10);
	if (errno != 0 || end == buf)
		n = 1;		/* unreadable: fail now rather than never */
	down = strncmp(end, " down", 5) == 0;
	if (n <= 1) {
		if (unlink(path) == -1 && errno != ENOENT)
			fprintf(stderr, "vecs-cli: %s: %s\n", path,
			    strerror(errno));
		if (down && vmdir_down(root) == 0)
			rc = 0;
		goto out;	/* the injected failure */
	}
	snprintf(num, sizeof(num), "%ld%s\n", n - 1, down ? " down" : "");
	if (lab_write_file_atomic(path, num, strlen(num), 0644) == -1) {
		fprintf(stderr, "vecs-cli: %s: %s\n", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(path);
	free(buf);
	return rc;
}

/*
 * Takes the VECS lock and passes the fault check: the start of every write
 * command. *lockfd is -1 on failure.
 */
static unsigned
begin_write(const char *root, int *lockfd)
{
	unsigned	rc;

	if ((*lockfd = vecsdb_lock(root)) == -1) {
		fprintf(stderr, "vecs-cli: lock of %s/%s: %s\n", root,
		    LAB_VECS_DIR, strerror(errno));
		return ERR_INTERNAL_ERROR;
	}
	if ((rc = fault_check(root)) != 0) {
		vecsdb_unlock(*lockfd);
		*lockfd = -1;
	}
	return rc;
}

/* What each command says of a missing store (vmafd vecs-cli cli.c). */
enum missing {
	MISSING_SILENT,		/* entry list: only the final error line */
	MISSING_DOES_NOT_EXIST,	/* store delete */
	MISSING_OPEN_DOT,	/* entry create, getcert, getkey */
	MISSING_OPEN,		/* entry delete, store permission, get-permissions */
};

/*
 * The message and code of a store that could not be read or deleted (errno);
 * a missing one gets the message of the command (cli.c 157, 396, 468, 579,
 * 689, 743, 810).
 */
static unsigned
store_error(const char *name, enum missing how)
{
	if (errno == ENOENT) {
		if (how == MISSING_DOES_NOT_EXIST)
			fprintf(stderr, "Error : Store [%s] does not exist\n",
			    name);
		else if (how == MISSING_OPEN_DOT)
			fprintf(stderr, "Error: Failed to open the store.\n");
		else if (how == MISSING_OPEN)
			fprintf(stderr, "Error: Failed to open the store\n");
		return ERR_OBJECT_NOT_FOUND;
	}
	fprintf(stderr, "vecs-cli: store [%s]: %s\n", name, strerror(errno));
	return errno_code(errno);
}

static unsigned
load_store(const char *root, const char *name, enum missing how,
    struct vecs_store **out)
{
	if (vecsdb_store_load(root, name, out) == 0)
		return 0;
	return store_error(name, how);
}

static unsigned
save_store(const char *root, const struct vecs_store *store)
{
	if (vecsdb_store_save(root, store) == 0)
		return 0;
	fprintf(stderr, "vecs-cli: store [%s]: %s\n", store->name,
	    strerror(errno));
	return errno_code(errno);
}

static int	confirm(const char *, ...)
		    __attribute__((format(printf, 1, 2)));

/*
 * Asks before a delete, as vecs-cli does without -y, naming what goes by a
 * format; 1 to go on.
 */
static int
confirm(const char *fmt, ...)
{
	va_list	ap;
	int	c;

	fputs("Warning: This operation will delete ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputs("\nDo you wish to continue? Y/N [N] \n", stdout);
	fflush(stdout);
	c = getchar();
	return c == 'y' || c == 'Y';
}

static unsigned
cmd_store_list(const char *root, const struct opts *o)
{
	char	**names = NULL;
	size_t	  n = 0, i;

	(void)o;
	if (vecsdb_store_names(root, &names, &n) == -1) {
		fprintf(stderr, "vecs-cli: stores of %s: %s\n", root,
		    strerror(errno));
		return errno_code(errno);
	}
	if (n == 0)
		fprintf(stderr, "No stores found\n");
	for (i = 0; i < n; i++)
		printf("%s\n", names[i]);
	vecsdb_names_free(names, n);
	return 0;
}

static unsigned
cmd_store_create(const char *root, const struct opts *o)
{
	unsigned	rc;
	int		lockfd = -1;

	if (is_empty(o->name))
		return invalid_store(o->name);
	/* vmafd's client refuses it before asking vmafdd (vecsclient.c 197). */
	if (strlen(o->name) > STORE_LABEL_MAX_LENGTH)
		return ERR_LABEL_TOO_LONG;
	if ((rc = begin_write(root, &lockfd)) != 0)
		goto out;
	if (vecsdb_store_create(root, o->name) == -1) {
		if (errno != EEXIST)
			fprintf(stderr, "vecs-cli: store [%s]: %s\n", o->name,
			    strerror(errno));
		rc = errno_code(errno);
		goto out;
	}
	printf("Successfully created store [%s]\n", o->name);
out:
	vecsdb_unlock(lockfd);
	return rc;
}

static unsigned
cmd_store_delete(const char *root, const struct opts *o)
{
	unsigned	rc;
	int		lockfd = -1;

	if (!o->yes && !confirm("store [%s]", o->name ? o->name : ""))
		return 0;
	if (is_empty(o->name))
		return invalid_store(o->name);
	if ((rc = begin_write(root, &lockfd)) != 0)
		goto out;
	if (vecsdb_store_delete(root, o->name) == -1) {
		rc = store_error(o->name, MISSING_DOES_NOT_EXIST);
		goto out;
	}
	if (lab_rootsync_forget(root, o->name, NULL) == -1)
		fprintf(stderr, "vecs-cli: %s: %s\n", LAB_AUTOREFRESH,
		    strerror(errno));
	printf("Successfully deleted store [%s]\n", o->name);
out:
	vecsdb_unlock(lockfd);
	return rc;
}

/* The OpenSSL text form of the first certificate in pem, to out. */
static void
print_cert_text(BIO *out, const char *pem, size_t len)
{
	BIO	*in = NULL;
	X509	*x = NULL;

	if (len > INT_MAX || (in = BIO_new_mem_buf(pem, (int)len)) == NULL)
		goto out;
	/* A CRL or garbage prints nothing, as in vecs-cli. */
	if ((x = PEM_read_bio_X509(in, NULL, NULL, NULL)) != NULL)
		X509_print_ex(out, x, XN_FLAG_COMPAT, X509_FLAG_COMPAT);
out:
	ERR_clear_error();
	X509_free(x);
	BIO_free(in);
}

static unsigned
cmd_entry_list(const char *root, const struct opts *o)
{
	struct vecs_store	*s = NULL;
	BIO			*out = NULL;
	size_t			 i;
	unsigned		 rc;

	if (is_empty(o->store))
		return invalid_store(o->store);
	if ((rc = load_store(root, o->store, MISSING_SILENT, &s)) != 0)
		goto out;
	if (o->text && (out = BIO_new_fp(stdout, BIO_NOCLOSE)) == NULL) {
		fprintf(stderr, "vecs-cli: BIO_new_fp failed\n");
		rc = ERR_INTERNAL_ERROR;
		goto out;
	}
	printf("Number of entries in store :\t%zu\n", s->nentries);
	for (i = 0; i < s->nentries; i++) {
		const struct vecs_entry *e = &s->entries[i];

		if (o->aliases) {
			printf("%s\n", e->alias);
			continue;
		}
		printf("Alias :\t%s\nEntry type :\t%s\n", e->alias,
		    vecs_entry_type_name(e->type));
		if (e->cert != NULL && o->text) {
			print_cert_text(out, e->cert, e->cert_len);
			continue;
		}
		fputs("Certificate :\t", stdout);
		if (e->cert != NULL)
			fwrite(e->cert, 1, e->cert_len, stdout);
		fputs("\n\n", stdout);
	}
out:
	BIO_free(out);
	vecs_store_free(s);
	return rc;
}

/* Writes buf and a newline to path, mode 0600 (vecs-cli restricts it). */
static unsigned
write_output(const char *path, const char *buf, size_t len)
{
	ssize_t		 n;
	size_t		 off = 0;
	unsigned	 rc = ERR_INTERNAL_ERROR;
	int		 fd = -1;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1) {
		fprintf(stderr, "vecs-cli: %s: %s\n", path, strerror(errno));
		rc = file_errno_code(errno);
		goto out;
	}
	if (fchmod(fd, 0600) == -1) {
		fprintf(stderr, "vecs-cli: chmod %s: %s\n", path,
		    strerror(errno));
		goto out;
	}
	while (off < len + 1) {
		if (off < len)
			n = write(fd, buf + off, len - off);
		else
			n = write(fd, "\n", 1);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "vecs-cli: write %s: %s\n", path,
			    strerror(errno));
			goto out;
		}
		off += n;
	}
	if (close(fd) == -1) {
		fd = -1;
		fprintf(stderr, "vecs-cli: close %s: %s\n", path,
		    strerror(errno));
		goto out;
	}
	fd = -1;
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	return rc;
}

/*
 * The entry getcert and getkey name by --store and --alias. The store stays
 * in *s for the caller to free, also on failure. Returns an error code.
 */
static unsigned
load_entry(const char *root, const struct opts *o, struct vecs_store **s,
    struct vecs_entry **e)
{
	unsigned	rc;

	*e = NULL;
	if (is_empty(o->store) || is_empty(o->alias)) {
		fprintf(stderr, "Error: The store name [%s] or the Alias [%s] "
		    "is invalid \n", o->store ? o->store : "",
		    o->alias ? o->alias : "");
		return ERR_INVALID_PARAMETER;
	}
	if ((rc = load_store(root, o->store, MISSING_OPEN_DOT, s)) != 0)
		return rc;
	if ((*e = vecs_store_find(*s, o->alias)) == NULL)
		return ERR_OBJECT_NOT_FOUND;
	return 0;
}

/* What getcert or getkey found: to --output, else to stdout unless --text
 * printed it already. */
static unsigned
emit(const struct opts *o, const char *buf, size_t len)
{
	if (!is_empty(o->output))
		return write_output(o->output, buf, len);
	if (!o->text) {
		fwrite(buf, 1, len, stdout);
		putchar('\n');
	}
	return 0;
}

static unsigned
cmd_entry_getcert(const char *root, const struct opts *o)
{
	struct vecs_store	*s = NULL;
	struct vecs_entry	*e = NULL;
	BIO			*out = NULL;
	unsigned		 rc;

	if ((rc = load_entry(root, o, &s, &e)) != 0)
		goto out;
	if (e->type == VECS_ENTRY_SECRET_KEY || e->cert == NULL) {
		fprintf(stderr, "Error: No certificates were found for entry "
		    "[%s] of type [%s].\n", o->alias,
		    vecs_entry_type_name(e->type));
		rc = ERR_INVALID_PARAMETER;
		goto out;
	}
	if (o->text) {
		if ((out = BIO_new_fp(stdout, BIO_NOCLOSE)) == NULL) {
			fprintf(stderr, "vecs-cli: BIO_new_fp failed\n");
			rc = ERR_INTERNAL_ERROR;
			goto out;
		}
		print_cert_text(out, e->cert, e->cert_len);
	}
	rc = emit(o, e->cert, e->cert_len);
out:
	BIO_free(out);
	vecs_store_free(s);
	return rc;
}

/* RSA_print_fp of the key, as vecs-cli's --text; nothing if not a key. */
static void
print_key_text(const char *pem, size_t len)
{
	BIO		*in = NULL, *out = NULL;
	EVP_PKEY	*pkey = NULL;

	if (len > INT_MAX || (in = BIO_new_mem_buf(pem, (int)len)) == NULL ||
	    (out = BIO_new_fp(stdout, BIO_NOCLOSE)) == NULL)
		goto out;
	pkey = PEM_read_bio_PrivateKey(in, NULL, NULL, NULL);
	if (pkey != NULL && EVP_PKEY_is_a(pkey, "RSA"))
		EVP_PKEY_print_private(out, pkey, 0, NULL);
out:
	ERR_clear_error();
	EVP_PKEY_free(pkey);
	BIO_free(in);
	BIO_free(out);
}

static unsigned
cmd_entry_getkey(const char *root, const struct opts *o)
{
	struct vecs_store	*s = NULL;
	struct vecs_entry	*e = NULL;
	unsigned		 rc;

	if ((rc = load_entry(root, o, &s, &e)) != 0)
		goto out;
	/* vmafd checks for Trusted Cert; a CRL has no key either. */
	if (e->key == NULL) {
		fprintf(stderr, "Error: No key was found for entry [%s] of "
		    "type [%s]\n", o->alias, vecs_entry_type_name(e->type));
		rc = ERR_INVALID_PARAMETER;
		goto out;
	}
	if (o->text)
		print_key_text(e->key, e->key_len);
	rc = emit(o, e->key, e->key_len);
out:
	/* Flushed here so that the key leaves stdio's buffer before exit. */
	fflush(stdout);
	vecs_store_free(s);
	return rc;
}

/* Reads a file named on the command line, with vecs-cli's message. */
static unsigned
read_input(const char *path, char **buf, size_t *len)
{
	if (lab_read_file(path, buf, len) == 0)
		return 0;
	fprintf(stderr, "Error: Failed to open file [%s] \n", path);
	return file_errno_code(errno);
}

/* Copies a memory BIO's bytes into a new NUL-terminated buffer. */
static int
bio_take(BIO *bio, char **out, size_t *outlen)
{
	char	*data = NULL;
	long	 n;

	*out = NULL;
	*outlen = 0;
	if ((n = BIO_get_mem_data(bio, &data)) <= 0)
		return -1;
	if ((*out = malloc((size_t)n + 1)) == NULL)
		return -1;
	memcpy(*out, data, n);
	(*out)[n] = '\0';
	*outlen = n;
	return 0;
}

/*
 * The certificate PEM as vmafdd stores it: each certificate re-encoded, the
 * whole chain kept; *first gets the first one (for the key check and the
 * default alias).
 */
static int
canonical_certs(const char *pem, size_t len, char **out, size_t *outlen,
    X509 **first)
{
	BIO	*in = NULL, *mem = NULL;
	X509	*x = NULL;
	int	 n = 0, rc = -1;

	*first = NULL;
	if (len > INT_MAX || (in = BIO_new_mem_buf(pem, (int)len)) == NULL ||
	    (mem = BIO_new(BIO_s_mem())) == NULL)
		goto out;
	while ((x = PEM_read_bio_X509(in, NULL, NULL, NULL)) != NULL) {
		if (PEM_write_bio_X509(mem, x) != 1)
			goto out;
		if (n++ == 0)
			*first = x;
		else
			X509_free(x);
		x = NULL;
	}
	if (n == 0 || bio_take(mem, out, outlen) == -1)
		goto out;
	rc = 0;
out:
	ERR_clear_error();
	X509_free(x);
	if (rc == -1) {
		X509_free(*first);
		*first = NULL;
	}
	BIO_free(in);
	BIO_free(mem);
	return rc;
}

/*
 * The private key as vmafdd stores it: an RSA key, unencrypted PKCS#8 PEM,
 * which must match the certificate. Returns an error code.
 */
static unsigned
canonical_key(const char *pem, size_t len, X509 *cert, char **out,
    size_t *outlen)
{
	BIO		*in = NULL, *mem = NULL;
	EVP_PKEY	*pkey = NULL;
	unsigned	 rc = ERR_INVALID_PARAMETER;

	*out = NULL;
	*outlen = 0;
	if (len > INT_MAX || (in = BIO_new_mem_buf(pem, (int)len)) == NULL ||
	    (mem = BIO_new(BIO_s_secmem())) == NULL) {
		rc = ERR_INTERNAL_ERROR;
		goto out;
	}
	if ((pkey = PEM_read_bio_PrivateKey(in, NULL, lab_no_password,
	    NULL)) == NULL || !EVP_PKEY_is_a(pkey, "RSA"))
		goto out;
	if (X509_check_private_key(cert, pkey) != 1) {
		rc = ERR_PRIVATE_KEY_MISMATCH;
		goto out;
	}
	if (PEM_write_bio_PrivateKey(mem, pkey, NULL, NULL, 0, NULL,
	    NULL) != 1 || bio_take(mem, out, outlen) == -1) {
		rc = ERR_INTERNAL_ERROR;
		goto out;
	}
	rc = 0;
out:
	ERR_clear_error();
	EVP_PKEY_free(pkey);
	BIO_free(in);
	BIO_free(mem);		/* secure memory: cleansed when freed */
	return rc;
}

/* Lowercase hex SHA-1 of the DER certificate: the default alias. */
static char *
fingerprint_alias(X509 *x)
{
	unsigned char	  md[EVP_MAX_MD_SIZE];
	unsigned int	  mdlen = 0;
	char		 *alias = NULL;

	if (X509_digest(x, EVP_sha1(), md, &mdlen) != 1 ||
	    (alias = malloc(2 * mdlen + 1)) == NULL)
		return NULL;
	lab_hex(md, mdlen, alias);
	return alias;
}

static unsigned
cmd_entry_create(const char *root, const struct opts *o)
{
	struct vecs_store	*s = NULL;
	enum vecs_entry_type	 type;
	X509			*x = NULL;
	char			*certin = NULL, *keyin = NULL;
	char			*cert = NULL, *key = NULL, *alias = NULL;
	size_t			 certinlen = 0, keyinlen = 0;
	size_t			 certlen = 0, keylen = 0;
	unsigned		 rc;
	int			 lockfd = -1, has_cert, has_key;

	if (is_empty(o->store)) {
		fprintf(stderr, "Error: The store name [%s] is invalid \n",
		    o->store ? o->store : "");
		return ERR_INVALID_PARAMETER;
	}
	if (o->cert != NULL &&
	    (rc = read_input(o->cert, &certin, &certinlen)) != 0)
		goto out;
	if (o->key != NULL &&
	    (rc = read_input(o->key, &keyin, &keyinlen)) != 0)
		goto out;
	/* vecs-cli reads the files as C strings; empty means absent. */
	has_cert = certin != NULL && certin[0] != '\0';
	has_key = keyin != NULL && keyin[0] != '\0';
	if (!has_cert && !has_key) {
		fprintf(stderr, "Error: A certificate or a key must be "
		    "specified. \n");
		rc = ERR_INVALID_PARAMETER;
		goto out;
	}
	if (!has_cert)
		type = VECS_ENTRY_SECRET_KEY;
	else if (!has_key)
		type = VECS_ENTRY_TRUSTED_CERT;	/* cli.c VecsCliGetEntryType */
	else
		type = VECS_ENTRY_PRIVATE_KEY;
	if (type == VECS_ENTRY_SECRET_KEY && is_empty(o->alias)) {
		fprintf(stderr, "Error: The alias [%s] is invalid \n",
		    o->alias ? o->alias : "");
		rc = ERR_INVALID_PARAMETER;
		goto out;
	}

	if ((rc = begin_write(root, &lockfd)) != 0)
		goto out;
	if ((rc = load_store(root, o->store, MISSING_OPEN_DOT, &s)) != 0)
		goto out;

	rc = ERR_INVALID_PARAMETER;
	switch (type) {
	case VECS_ENTRY_TRUSTED_CERT:
		/*
		 * A CRL file is no certificate: vecs-cli cannot name it
		 * (VecsComputeCertAliasA fails), and given an alias vmafdd
		 * refuses it, as VecsValidateAndFormatCert finds no X509 in
		 * it (vecsserviceapi.c 636-645, ssl.c 146-149: ERROR_BAD_FORMAT).
		 * Only vmafdd's root sync makes CRL entries.
		 */
		if (strstr(certin, PEM_CRL_BEGIN) != NULL) {
			if (is_empty(o->alias)) {
				fprintf(stderr, "Error: Could not generate "
				    "alias from certificate\n");
				goto out;
			}
			rc = ERR_BAD_FORMAT;
			goto out;
		}
		/* FALLTHROUGH */
	case VECS_ENTRY_PRIVATE_KEY:
		if (canonical_certs(certin, certinlen, &cert, &certlen,
		    &x) == -1)
			goto out;
		if (type == VECS_ENTRY_PRIVATE_KEY &&
		    (rc = canonical_key(keyin, keyinlen, x, &key,
		    &keylen)) != 0)
			goto out;
		break;
	default:
		/* A secret key is kept as given, up to a NUL as in C. */
		keylen = strlen(keyin);
		if ((key = malloc(keylen + 1)) == NULL) {
			rc = ERR_INTERNAL_ERROR;
			goto out;
		}
		memcpy(key, keyin, keylen + 1);
		break;
	}
	if (!is_empty(o->alias))
		alias = strdup(o->alias);
	else
		alias = fingerprint_alias(x);
	if (alias == NULL) {
		fprintf(stderr, "vecs-cli: alias: %s\n", strerror(errno));
		rc = ERR_INTERNAL_ERROR;
		goto out;
	}
	if (vecs_store_add(s, alias, type, cert, certlen, key, keylen) == -1) {
		if (errno != EEXIST)
			fprintf(stderr, "vecs-cli: entry [%s]: %s\n", alias,
			    strerror(errno));
		rc = errno_code(errno);
		goto out;
	}
	if ((rc = save_store(root, s)) != 0)
		goto out;
	printf("Entry with alias [%s] in store [%s] was created "
	    "successfully \n", alias, o->store);
out:
	vecsdb_unlock(lockfd);
	vecs_store_free(s);
	X509_free(x);
	free(certin);
	free(cert);
	free(alias);
	lab_free_secret(keyin, keyinlen);
	lab_free_secret(key, keylen);
	return rc;
}

static unsigned
cmd_entry_delete(const char *root, const struct opts *o)
{
	struct vecs_store	*s = NULL;
	unsigned		 rc;
	int			 lockfd = -1;

	if (!o->yes && !confirm("entry [%s] from store [%s]",
	    o->alias ? o->alias : "", o->store ? o->store : ""))
		return 0;
	if (is_empty(o->store) || is_empty(o->alias)) {
		/* Unlike the other commands': no space before the newline. */
		fprintf(stderr, "Error : An invalid store name [%s] was "
		    "specified\n ", o->store ? o->store : "");
		return ERR_INVALID_PARAMETER;
	}
	if ((rc = begin_write(root, &lockfd)) != 0)
		goto out;
	if ((rc = load_store(root, o->store, MISSING_OPEN, &s)) != 0)
		goto out;
	/* vmafdd deletes a missing alias successfully: nothing to save. */
	if (vecs_store_remove(s, o->alias) == 0 &&
	    (rc = save_store(root, s)) != 0)
		goto out;
	/* The row goes, its root-sync mark with it (rootsync.h). */
	if (lab_rootsync_forget(root, o->store, o->alias) == -1)
		fprintf(stderr, "vecs-cli: %s: %s\n", LAB_AUTOREFRESH,
		    strerror(errno));
	printf("Deleted entry with alias [%s] in store [%s] successfully\n ",
	    o->alias, o->store);
out:
	vecsdb_unlock(lockfd);
	vecs_store_free(s);
	return rc;
}

static unsigned
cmd_force_refresh(const char *root, const struct opts *o)
{
	char		msg[1024];
	unsigned	rc;

	/*
	 * vmafdd runs one root-sync pass and returns its result
	 * (ipclocalapi.c VmAfdIpcTriggerRootCertsRefresh), which vecs-cli
	 * reports after its own line (vecs-cli main.c, force-refresh).
	 */
	(void)o;
	if ((rc = lab_rootsync(root, NULL, msg, sizeof(msg))) != 0) {
		fprintf(stderr, "Failed to trigger root cert refresh \n");
		fprintf(stderr, "vecs-cli: root sync: %s\n", msg);
	}
	return rc;
}

/*
 * Store permissions (vmafdd's AceTable): ROOT/<LAB_VECS_DIR>/permissions,
 * lines "<hex of the store name> <user> <mask>" (read 1, write 2), changed
 * under the VECS lock. The owner is root, who made every store.
 */
#define PERM_FILE	LAB_VECS_DIR "/permissions"

struct perm {
	char		*store;		/* hex */
	char		*user;
	unsigned	 mask;
};

static void
perms_free(struct perm *p, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(p[i].store);
		free(p[i].user);
	}
	free(p);
}

static int
perms_load(const char *root, struct perm **out, size_t *n)
{
	char		*path = lab_path(root, PERM_FILE), *buf = NULL, *line;
	char		*save = NULL, st[260], us[260];
	struct perm	*p = NULL, *np;
	unsigned	 mask;
	int		 rc = -1;

	*out = NULL;
	*n = 0;
	if (path == NULL)
		return -1;
	if (lab_read_file(path, &buf, NULL) == -1) {
		rc = errno == ENOENT ? 0 : -1;
		goto out;
	}
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "%259s %259s %u", st, us, &mask) != 3)
			continue;
		if ((np = realloc(p, (*n + 1) * sizeof(*p))) == NULL)
			goto out;
		p = np;
		p[*n].store = strdup(st);
		p[*n].user = strdup(us);
		p[*n].mask = mask;
		(*n)++;
		if (p[*n - 1].store == NULL || p[*n - 1].user == NULL)
			goto out;
	}
	rc = 0;
out:
	if (rc == 0) {
		*out = p;
		p = NULL;
	} else {
		perms_free(p, *n);
		*n = 0;
	}
	free(path);
	free(buf);
	return rc;
}

static int
perms_save(const char *root, const struct perm *p, size_t n)
{
	char	*path = lab_path(root, PERM_FILE), *buf = NULL;
	size_t	 len = 0, i;
	FILE	*f;
	int	 rc = -1;

	if (path == NULL || (f = open_memstream(&buf, &len)) == NULL)
		goto out;
	for (i = 0; i < n; i++)
		if (p[i].mask != 0)
			fprintf(f, "%s %s %u\n", p[i].store, p[i].user,
			    p[i].mask);
	if (fclose(f) == 0)
		rc = lab_write_file_atomic(path, buf, len, 0600);
out:
	free(path);
	free(buf);
	return rc;
}

static char *
store_hex(const char *name)
{
	char	*h = malloc(2 * strlen(name) + 1);

	if (h != NULL)
		lab_hex(name, strlen(name), h);
	return h;
}

/* cli.c VecsCliPrintAccess */
static const char *
access_name(unsigned mask)
{
	if (mask >= 3)
		return "read,write";
	return mask == 2 ? "write" : "read";
}

static unsigned
cmd_store_permission(const char *root, const struct opts *o)
{
	struct perm	*p = NULL, *np;
	char		*hex = NULL;
	size_t		 n = 0, i;
	unsigned	 rc = ERR_INVALID_PARAMETER;
	int		 lockfd = -1;

	if (is_empty(o->name) || is_empty(o->user) ||
	    (o->grant == 0 && o->revoke == 0) ||
	    strpbrk(o->user, " \t\n") != NULL)
		return ERR_INVALID_PARAMETER;
	if ((lockfd = vecsdb_lock(root)) == -1) {
		rc = ERR_INTERNAL_ERROR;
		goto out;
	}
	if (vecsdb_store_exists(root, o->name) != 1) {
		errno = ENOENT;
		rc = store_error(o->name, MISSING_OPEN);
		goto out;
	}
	rc = ERR_INTERNAL_ERROR;
	if ((hex = store_hex(o->name)) == NULL || perms_load(root, &p, &n) == -1)
		goto out;
	for (i = 0; i < n; i++)
		if (strcmp(p[i].store, hex) == 0 && strcmp(p[i].user,
		    o->user) == 0)
			break;
	if (i == n) {
		if ((np = realloc(p, (n + 1) * sizeof(*p))) == NULL)
			goto out;
		p = np;
		p[n].store = hex;
		p[n].user = strdup(o->user);
		p[n].mask = 0;
		hex = NULL;
		n++;
		if (p[i].user == NULL)
			goto out;
	}
	p[i].mask = (p[i].mask | o->grant) & ~o->revoke;
	if (perms_save(root, p, n) == -1) {
		fprintf(stderr, "vecs-cli: %s: %s\n", PERM_FILE,
		    strerror(errno));
		goto out;
	}
	printf("Permissions for store [%s] set  successfully\n ", o->name);
	rc = 0;
out:
	vecsdb_unlock(lockfd);
	perms_free(p, n);
	free(hex);
	return rc;
}

static unsigned
cmd_store_get_permissions(const char *root, const struct opts *o)
{
	struct perm	*p = NULL;
	char		*hex = NULL;
	size_t		 n = 0, i;
	unsigned	 rc = ERR_INTERNAL_ERROR;

	if (is_empty(o->name))
		return ERR_INVALID_PARAMETER;
	if (vecsdb_store_exists(root, o->name) != 1) {
		errno = ENOENT;
		return store_error(o->name, MISSING_OPEN);
	}
	if ((hex = store_hex(o->name)) == NULL || perms_load(root, &p, &n) == -1)
		goto out;
	printf("PERMISSIONS FOR STORE: [%s]\nOWNER : root\nUSER\t\tACCESS\n",
	    o->name);
	for (i = 0; i < n; i++)
		if (strcmp(p[i].store, hex) == 0)
			printf("%s\t%s\n", p[i].user, access_name(p[i].mask));
	rc = 0;
out:
	perms_free(p, n);
	free(hex);
	return rc;
}

/*
 * --server and --upn (main.c): both or neither; with them vecs-cli asks
 * "Enter password:\t" and logs in to vmafdd on that server. The lab has one
 * node (localhost, 127.0.0.1 or the PNID) and one login, the domain's
 * administrator with the lab's admin.password.
 */
static unsigned
remote_login(const char *root, const struct opts *o)
{
	char		 line[256], *pnid = NULL, *domain = NULL, *want = NULL;
	char		*pwfile = NULL, *pw = NULL;
	size_t		 len = 0, pwlen = 0;
	unsigned	 rc = ERR_LOGON_FAILURE;

	if (is_empty(o->server) != is_empty(o->upn)) {
		fprintf(stderr, "Error: You have to provide both server and "
		    "upn \n");
		return ERR_INVALID_STATE;
	}
	if (is_empty(o->server))
		return 0;
	fputs("Enter password:\t", stdout);
	fflush(stdout);
	line[0] = '\0';
	if (fgets(line, sizeof(line), stdin) != NULL)
		len = strcspn(line, "\r\n");
	line[len] = '\0';
	fputs("\n", stdout);
	pnid = lab_reg_get(root, LAB_REG_VMAFD, "PNID");
	domain = lab_reg_get(root, LAB_REG_VMAFD, "DomainName");
	if (strcasecmp(o->server, "localhost") != 0 &&
	    strcmp(o->server, "127.0.0.1") != 0 &&
	    (pnid == NULL || strcasecmp(o->server, pnid) != 0)) {
		rc = ERR_RPC_CONNECT;
		goto fail;
	}
	if (domain == NULL || asprintf(&want, "administrator@%s", domain) == -1) {
		want = NULL;
		goto fail;
	}
	if ((pwfile = lab_path(root, LAB_ADMIN_PASSWORD)) == NULL ||
	    lab_read_file(pwfile, &pw, &pwlen) == -1 ||
	    strcasecmp(o->upn, want) != 0 || strcmp(line, pw) != 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "Error: Failed to establish connection to remote "
	    "server \n");
out:
	explicit_bzero(line, sizeof(line));
	lab_free_secret(pw, pwlen);
	free(pwfile);
	free(pnid);
	free(domain);
	free(want);
	return rc;
}

static const struct cmd cmds[] = {
	{ "store", "list", O_SERVER, cmd_store_list },
	{ "store", "create", O_NAME | O_SERVER | O_LASTNAME, cmd_store_create },
	{ "store", "delete", O_NAME | O_YES | O_SERVER | O_LASTNAME,
	    cmd_store_delete },
	{ "store", "get-permissions", O_NAME | O_SERVER | O_LASTNAME,
	    cmd_store_get_permissions },
	{ "store", "permission", O_NAME | O_USER, cmd_store_permission },
	{ "entry", "list", O_STORE | O_TEXT | O_ALIASES | O_SERVER,
	    cmd_entry_list },
	{ "entry", "getcert", O_STORE | O_ALIAS | O_OUTPUT | O_TEXT |
	    O_SERVER | O_PASSWORD, cmd_entry_getcert },
	{ "entry", "getkey", O_STORE | O_ALIAS | O_OUTPUT | O_TEXT |
	    O_SERVER | O_PASSWORD, cmd_entry_getkey },
	{ "entry", "create", O_STORE | O_ALIAS | O_CERT | O_KEY | O_SERVER |
	    O_PASSWORD, cmd_entry_create },
	{ "entry", "delete", O_STORE | O_ALIAS | O_YES | O_SERVER,
	    cmd_entry_delete },
	{ "force-refresh", NULL, 0, cmd_force_refresh },
};

/*
 * Parses the options after the command. As in vecs-cli (main.c) the first
 * of a repeated option wins, except --name of store create, delete and
 * get-permissions, where the last does; an option without its value is an
 * error. --grant and --revoke take read or write, and only one of the two.
 */
static int
parse_opts(int argc, char **argv, unsigned allowed, struct opts *o)
{
	static const struct {
		const char	*flag;
		unsigned	 bit;
	} valued[] = {
		{ "--name", O_NAME }, { "--store", O_STORE },
		{ "--alias", O_ALIAS }, { "--cert", O_CERT },
		{ "--key", O_KEY }, { "--output", O_OUTPUT },
		{ "--server", O_SERVER }, { "--upn", O_SERVER },
		{ "--password", O_PASSWORD }, { "--user", O_USER },
	};
	const char	**slot;
	size_t		  j;
	int		  i;

	memset(o, 0, sizeof(*o));
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--text") == 0 && (allowed & O_TEXT)) {
			o->text = 1;
			continue;
		}
		if (strcmp(argv[i], "--aliases") == 0 &&
		    (allowed & O_ALIASES)) {
			o->aliases = 1;
			continue;
		}
		if (strcmp(argv[i], "-y") == 0 && (allowed & O_YES)) {
			o->yes = 1;
			continue;
		}
		if ((strcmp(argv[i], "--grant") == 0 ||
		    strcmp(argv[i], "--revoke") == 0) && (allowed & O_USER)) {
			unsigned *mask = argv[i][2] == 'g' ? &o->grant :
			    &o->revoke;

			if ((argv[i][2] == 'g' ? o->revoke : o->grant) != 0 ||
			    i + 1 >= argc)
				return -1;
			if (strcmp(argv[i + 1], "read") == 0)
				*mask |= 1;
			else if (strcmp(argv[i + 1], "write") == 0)
				*mask |= 2;
			else
				return -1;
			i++;
			continue;
		}
		for (j = 0; j < sizeof(valued) / sizeof(valued[0]); j++)
			if (strcmp(argv[i], valued[j].flag) == 0)
				break;
		if (j == sizeof(valued) / sizeof(valued[0]) ||
		    !(allowed & valued[j].bit) || i + 1 >= argc)
			return -1;
		switch (valued[j].bit) {
		case O_NAME:
			slot = &o->name;
			break;
		case O_STORE:
			slot = &o->store;
			break;
		case O_ALIAS:
			slot = &o->alias;
			break;
		case O_CERT:
			slot = &o->cert;
			break;
		case O_KEY:
			slot = &o->key;
			break;
		case O_SERVER:
			slot = strcmp(argv[i], "--upn") == 0 ? &o->upn :
			    &o->server;
			break;
		case O_PASSWORD:
			slot = &o->password;
			break;
		case O_USER:
			slot = &o->user;
			break;
		default:
			slot = &o->output;
			break;
		}
		if (*slot == NULL ||
		    (slot == &o->name && (allowed & O_LASTNAME)))
			*slot = argv[i + 1];
		i++;
	}
	return 0;
}

static unsigned
run(int argc, char **argv)
{
	const struct cmd	*c = NULL;
	struct opts		 o;
	char			*root = NULL;
	size_t			 i;
	unsigned		 rc = ERR_INVALID_PARAMETER;
	int			 skip;

	if (argc < 2)
		goto out;
	if (strcmp(argv[1], "help") == 0) {
		usage();
		rc = 0;
		goto out;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[1], cmds[i].group) != 0)
			continue;
		if (cmds[i].verb == NULL ||
		    (argc > 2 && strcmp(argv[2], cmds[i].verb) == 0)) {
			c = &cmds[i];
			break;
		}
	}
	if (c == NULL)
		goto out;
	skip = c->verb != NULL ? 3 : 2;
	if (parse_opts(argc - skip, argv + skip, c->opts, &o) == -1)
		goto out;
	if ((root = lab_root(LAB_VECS_CLI)) == NULL) {
		fprintf(stderr, "vecs-cli: cannot find the lab root from "
		    "/proc/self/exe: %s\n", strerror(errno));
		rc = ERR_INTERNAL_ERROR;
		goto out;
	}
	/* The stores live behind vmafdd: with the service stopped (after
	 * service-control --stop --all) vecs-cli cannot reach them. */
	if (lab_service_running(root, "vmafdd") == 0) {
		rc = ERR_RPC_CONNECT;
		goto out;
	}
	if ((rc = remote_login(root, &o)) != 0)
		goto out;
	rc = c->run(root, &o);
out:
	free(root);
	return rc;
}

int
main(int argc, char **argv)
{
	unsigned	rc;

	/* Whole entries per write: thousands of them list fast. */
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	rc = run(argc, argv);
	if (fflush(stdout) == EOF && rc == 0) {
		fprintf(stderr, "vecs-cli: stdout: %s\n", strerror(errno));
		rc = ERR_INTERNAL_ERROR;
	}
	if (rc == 0)
		return 0;
	if (rc == ERR_INVALID_PARAMETER)
		usage();
	print_error(rc);
	fflush(stdout);
	return (int)(rc & 0xff);
}
