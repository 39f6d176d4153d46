/*
 * service-control.c - the lab's service-control: starts, stops and lists the
 * modelled vCenter services. Each start re-checks, at that moment and from the
 * lab's real state (VECS, vmdir, the VMCA files, the registry), the
 * certificates the real service depends on, so a lab breaks the way an
 * appliance does when they expire or disagree (appliance.md 1, 2, 8).
 * vmdird (the lab's slapd) and vmware-rhttpproxy (a TLS server) are real
 * processes; every other service is a marker file in
 * var/lib/vmware-lab/services.
 *
 * Output, on stdout (wording of the real tool, appliance.md 6):
 *   --start --all   Operation not cancellable. Please wait for it to finish...
 *                   Performing start operation on service <core>...
 *                   Successfully started service <core>     (each core one)
 *                   Performing start operation on profile: ALL...
 *                   Successfully started service <svc>      (each vmon one)
 *                   Successfully started profile: ALL.
 *   --stop --all    Operation not cancellable. Please wait for it to finish...
 *                   Performing stop operation on profile: ALL...
 *                   Successfully stopped profile: ALL.
 *                   Performing stop operation on service <core>...
 *                   Successfully stopped service <core>     (core, reversed)
 *   --start|--stop <svc>    the first line, then the two lines for <svc>
 *   --status [--all|<svc>]  "Stopped:\n <svc> <svc>...\nRunning:\n <svc> ...",
 *                   names sorted, a section left out when it has no service.
 *
 * A service that fails to start (or stop) ends the command with, on stderr,
 *   Error executing start on service <svc>. Details: <the service's message>
 *   Service-control failed. Error: Failed to start services in profile <P>. \
 *   RC=4, stderr=Failed to start <short> services.
 * (the second line broken here only). P is ALL for the services vmon runs and CORE for the core ones (vmon's own
 * profile names), whatever the command line was; <short> is vmon's name for
 * the service (vpxd-svcs) or, for a core service, its name (vmdird). One form
 * for every failure, so that callers parse one line. Each failure and each
 * service started or stopped is also logged, with a UTC time stamp and details
 * the message leaves out, in var/log/vmware-lab/service-control.log.
 *
 * Exit status: 0 done, 1 a service failed or the lab is unusable, 2 usage
 * (bad arguments, unknown service).
 *
 * State: var/lib/vmware-lab/services/<svc> marks a running service; vmdird
 * runs iff slapd's pid file names a live slapd, rhttpproxy iff
 * var/lib/vmware-lab/rhttpproxy.pid names a live daemon (stale pid files are
 * removed). Faults (labctl fault): faults/service.<svc> makes <svc> fail with
 * "injected fault", faults/slapd-down makes vmdird fail. Counters in
 * var/lib/vmware-lab/counters: start_all, stop_all, cycles, last_all.
 */
#include <sys/types.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <ldap.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "labdir.h"
#include "labutil.h"
#include "labvcdb.h"
#include "rootsync.h"
#include "vecsdb.h"

#define MSGLEN		1024
#define VMDIR_WAIT_MS	5000	/* slapd answers in ~40 ms; be generous */
#define STOP_WAIT_MS	5000	/* per signal, TERM then KILL */
#define POLL_MS		20

#define SLAPD		"/usr/sbin/slapd"
#define SLAPD_CONF	LAB_VMDIR_DIR "/slapd.conf"
#define SLAPD_PID	LAB_VMDIR_DIR "/slapd.pid"
#define PROXY_PID	LAB_STATE_DIR "/rhttpproxy.pid"
#define PROXY_LOG	LAB_LOG_DIR "/rhttpproxy.log"
#define VMAFD_PID	LAB_STATE_DIR "/vmafdd.pid"
#define VMAFD_LOG	LAB_LOG_DIR "/vmafdd.log"
#define SYNC_TICK_MS	100	/* how soon the daemon sees a TERM or a new interval */
#define SLAPD_LOG	LAB_LOG_DIR "/slapd.log"
#define SC_LOG		LAB_LOG_DIR "/service-control.log"
#define SC_LOCK		LAB_STATE_DIR "/service-control.lock"

#define STS_INVALID	"Signing certificate is not valid"
#define VMDIR_DOWN	"Directory server is unavailable"

struct lab {
	char	*root;
	char	*conf;		/* lab.conf */
	char	*logpath;	/* service-control.log */
	int	 major;		/* lab.conf version: 6, 7, 8 */
	int	 vcdb;		/* it has a VCDB (labvcdb.h) */
	char	*addr;		/* lab.conf address: a domain's node's own */
	int	 type;		/* NODE_* of etc/vmware/deployment.node.type */
	int	 vsan_health;	/* it has vsan-health's copy (--vsan-health) */
};

/*
 * Which services a node runs by its deployment type (6.x external PSC:
 * the PSC holds vmdir, VMCA, the STS and the lookup service; the vCenter,
 * a management node, the rest: docs/lab.md, "A domain").
 */
enum {
	NODE_EMBEDDED,
	NODE_INFRA,
	NODE_MGMT
};
#define ON_ALL		0
#define NOT_MGMT	(1 << NODE_MGMT)
#define NOT_INFRA	(1 << NODE_INFRA)

/* What a check needs to know about the appliance, from the registry. */
struct ident {
	char	*pnid;
	char	*domain;
	char	*ddn;		/* dc=vsphere,dc=local */
	char	*mid;		/* machine id */
	char	*site;
};

/* A certificate entry of VECS, or a credential of vmdir. */
struct certkey {
	X509		*leaf;
	STACK_OF(X509)	*chain;		/* the other certificates, maybe none */
	EVP_PKEY	*key;		/* NULL when the entry has none */
};

enum svc_kind {
	KIND_MARKER,	/* running iff its marker file exists */
	KIND_VMDIR,	/* the lab's slapd */
	KIND_PROXY,	/* the TLS server behind 443 */
	KIND_VMAFD,	/* a marker, and the root-sync daemon (rootsync.h) */
	KIND_VCDB,	/* the lab's PostgreSQL server (labvcdb.h) */
	KIND_VSAN,	/* a marker; only in a lab made --vsan-health */
};

enum startup {
	AUTOMATIC,	/* started by --start --all */
	MANUAL,		/* started only by name */
};

struct service {
	const char	*name;
	const char	*display;	/* as --list-services shows it */
	const char	*vmon;		/* vmon's short name; NULL: core */
	enum svc_kind	 kind;
	enum startup	 startup;
	int		 since;		/* first major version that has it */
	const char	*needs[2];	/* must be running first */
	const char	*users[2];	/* solution users it logs in as */
	int		(*check)(const struct lab *, char *, size_t);
	unsigned	 not_on;	/* node types without it (1 << NODE_*) */
};

static int	check_vmcad(const struct lab *, char *, size_t);
static int	check_sts(const struct lab *, char *, size_t);
static int	check_lookupsvc(const struct lab *, char *, size_t);
static int	check_vpxd_svcs(const struct lab *, char *, size_t);

#define A	AUTOMATIC
/*
 * Start order; stops go in reverse. Display names: service-control
 * --list-services of 6.5 (KB 2147152) and 6.7 listings; those of
 * lookupsvc, hvc, wcp and envoy are guesses. envoy (7.0 on) holds port 443
 * in front of rhttpproxy, which configures it (vSphere 7.0 Security guide,
 * "TLS Configurator"); the lab's TLS server stays rhttpproxy's.
 */
static const struct service services[] = {
	{ "lwsmd", "Likewise Service Manager", NULL, KIND_MARKER, A, 0,
	    { NULL }, { NULL }, NULL, ON_ALL },
	{ "vmafdd", "VMware Authentication Framework", NULL, KIND_VMAFD, A,
	    0, { NULL }, { NULL }, NULL, ON_ALL },
	{ "vmdird", "VMware Directory Service", NULL, KIND_VMDIR, A, 0,
	    { NULL }, { NULL }, NULL, NOT_MGMT },
	{ "vmcad", "VMware Certificate Service", NULL, KIND_MARKER, A, 0,
	    { NULL }, { NULL }, check_vmcad, NOT_MGMT },
	{ "vmware-sts-idmd", "VMware Identity Management Service", NULL,
	    KIND_MARKER, A, 0, { NULL }, { NULL }, NULL, NOT_MGMT },
	{ "vmware-stsd", "VMware Security Token Service", NULL, KIND_MARKER,
	    A, 0, { "vmdird" }, { NULL }, check_sts, NOT_MGMT },
	{ "vmdnsd", "VMware Domain Name Service", NULL, KIND_MARKER, A, 0,
	    { NULL }, { NULL }, NULL, NOT_MGMT },
	{ "vmware-vpostgres", "VMware Postgres", "vmware-vpostgres",
	    KIND_VCDB, A, 0, { NULL }, { NULL }, NULL, NOT_INFRA },
	{ "vmware-rhttpproxy", "VMware HTTP Reverse Proxy", "rhttpproxy",
	    KIND_PROXY, A, 0, { NULL }, { NULL }, NULL, ON_ALL },
	{ "vmware-envoy", "VMware Envoy Proxy", "envoy", KIND_MARKER, A, 7,
	    { "vmware-rhttpproxy" }, { NULL }, NULL, ON_ALL },
	{ "vmware-lookupsvc", "VMware Lookup Service", "lookupsvc",
	    KIND_MARKER, A, 0, { "vmware-stsd" }, { "machine" },
	    check_lookupsvc, NOT_MGMT },
	{ "vmware-vpxd-svcs", "VMware vCenter-Services", "vpxd-svcs",
	    KIND_MARKER, A, 0, { "vmware-stsd" },
	    { "machine", "vpxd-extension" }, check_vpxd_svcs, NOT_INFRA },
	{ "vmware-vpxd", "VMware vCenter Server", "vpxd", KIND_MARKER, A, 0,
	    { "vmware-vpxd-svcs", "vmware-vpostgres" },
	    { "vpxd", "vpxd-extension" }, NULL, NOT_INFRA },
	{ "vmware-eam", "VMware ESX Agent Manager", "eam", KIND_MARKER, A, 0,
	    { "vmware-vpxd" }, { "vpxd-extension" }, NULL, NOT_INFRA },
	{ "vsphere-ui", "VMware vSphere Client", "vsphere-ui", KIND_MARKER, A,
	    0, { "vmware-vpxd-svcs" }, { "vsphere-webclient" }, NULL,
	    NOT_INFRA },
	{ "vmware-hvc", "VMware Hybrid VC Service", "hvc", KIND_MARKER, A, 7,
	    { NULL }, { "hvc" }, NULL, NOT_INFRA },
	{ "wcp", "Workload Control Plane", "wcp", KIND_MARKER, A, 7,
	    { NULL }, { "wcp" }, NULL, NOT_INFRA },
	{ "vmware-vsan-health", "VMware VSAN Health Service", "vsan-health",
	    KIND_VSAN, A, 0, { "vmware-vpxd" }, { NULL }, NULL, NOT_INFRA },
	{ "vmware-imagebuilder", "VMware Image Builder Manager",
	    "imagebuilder", KIND_MARKER, MANUAL, 0, { NULL }, { NULL },
	    NULL, NOT_INFRA },
};
#undef A
#define NSERVICES	(sizeof(services) / sizeof(services[0]))

/* The one global: how a daemon's signal handler ends its loop. */
static volatile sig_atomic_t proxy_quit;

static void
usage(void)
{
	fprintf(stderr,
	    "usage: service-control --start --all | --start <service>\n"
	    "       service-control --stop --all | --stop <service>\n"
	    "       service-control --status [--all | <service>]\n"
	    "       service-control --list-services | --list\n");
}

static void
lab_log(const struct lab *lab, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
lab_log(const struct lab *lab, const char *fmt, ...)
{
	va_list		 ap;
	char		 ts[32], line[2 * MSGLEN];
	struct tm	 tm;
	time_t		 now = time(NULL);
	int		 fd;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	/* The log is a convenience: a lab whose log cannot be written works. */
	if ((fd = open(lab->logpath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0644)) == -1)
		return;
	dprintf(fd, "%s [%ld] %s\n", ts, (long)getpid(), line);
	close(fd);
}

static int
lab_open(struct lab *lab)
{
	char	*version = NULL, *dir = NULL, *type = NULL, *tbuf = NULL;
	size_t	 tlen = 0;
	int	 ret = -1;

	memset(lab, 0, sizeof(*lab));
	if ((lab->root = lab_root(LAB_SERVICE_CONTROL)) == NULL) {
		fprintf(stderr, "service-control: cannot find the lab root "
		    "(not installed as ROOT/%s): %s\n", LAB_SERVICE_CONTROL,
		    strerror(errno));
		goto out;
	}
	if ((lab->conf = lab_path(lab->root, LAB_CONF)) == NULL ||
	    (lab->logpath = lab_path(lab->root, SC_LOG)) == NULL ||
	    (dir = lab_path(lab->root, LAB_LOG_DIR)) == NULL) {
		fprintf(stderr, "service-control: out of memory\n");
		goto out;
	}
	if ((version = lab_conf_get(lab->conf, "version")) == NULL) {
		fprintf(stderr, "service-control: %s: no version: %s\n",
		    lab->conf, strerror(errno));
		goto out;
	}
	lab->major = atoi(version);
	lab->vcdb = vcdb_present(lab->conf);
	if ((lab->addr = lab_conf_get(lab->conf, "address")) == NULL &&
	    (lab->addr = strdup("127.0.0.1")) == NULL) {
		fprintf(stderr, "service-control: out of memory\n");
		goto out;
	}
	if ((type = lab_path(lab->root, LAB_NODE_TYPE)) != NULL &&
	    lab_read_file(type, &tbuf, &tlen) == 0) {
		if (strncmp(tbuf, "management", 10) == 0)
			lab->type = NODE_MGMT;
		else if (strncmp(tbuf, "infrastructure", 14) == 0)
			lab->type = NODE_INFRA;
	}
	free(version);
	version = lab_conf_get(lab->conf, "vsan_health");
	lab->vsan_health = version != NULL && strcmp(version, "1") == 0;
	(void)lab_mkdirs(dir, 0755);
	ret = 0;
out:
	free(version);
	free(dir);
	free(type);
	free(tbuf);
	return ret;
}

static void
lab_close(struct lab *lab)
{
	free(lab->addr);
	free(lab->root);
	free(lab->conf);
	free(lab->logpath);
}

/* Whether the lab's appliance has svc: its version does, and its VCDB. */
static int
svc_here(const struct lab *lab, const struct service *svc)
{
	return lab->major >= svc->since &&
	    (svc->kind != KIND_VCDB || lab->vcdb) &&
	    (svc->not_on & (1u << lab->type)) == 0 &&
	    (svc->kind != KIND_VSAN || lab->vsan_health);
}

static const struct service *
service_find(const struct lab *lab, const char *name)
{
	size_t	 i;

	for (i = 0; i < NSERVICES; i++)
		if (svc_here(lab, &services[i]) &&
		    strcmp(services[i].name, name) == 0)
			return &services[i];
	return NULL;
}

/* 1 when the file ROOT/dir/prefix+name exists. */
static int
lab_flag(const struct lab *lab, const char *dir, const char *prefix,
    const char *name)
{
	char	*rel = NULL, *path = NULL;
	int	 ret = 0;

	if (asprintf(&rel, "%s/%s%s", dir, prefix, name) == -1)
		return 0;
	if ((path = lab_path(lab->root, rel)) != NULL)
		ret = access(path, F_OK) == 0;
	free(rel);
	free(path);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Processes. */

/*
 * 1 when pid is a live process named comm. A dead child stays a zombie until
 * PID 1 reaps it, late on these machines (libraries.md): state Z counts as
 * dead. The name guards against a recycled pid.
 */
static int
proc_alive(pid_t pid, const char *comm)
{
	char	 path[64], buf[512], *open_ = NULL, *close_ = NULL;
	size_t	 clen = strlen(comm);
	ssize_t	 n;
	int	 fd;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* "pid (comm) S ...": comm may hold ")", so take the last one. */
	if ((open_ = strchr(buf, '(')) == NULL ||
	    (close_ = strrchr(buf, ')')) == NULL || close_[1] != ' ')
		return 0;
	if ((size_t)(close_ - open_ - 1) != clen ||
	    strncmp(open_ + 1, comm, clen) != 0)
		return 0;
	return close_[2] != 'Z' && close_[2] != 'X';
}

/* The pid in a pid file, or 0. */
static pid_t
pid_read(const char *path)
{
	char	*buf = NULL, *end = NULL;
	long	 v;
	pid_t	 pid = 0;

	if (lab_read_file(path, &buf, NULL) == -1)
		return 0;
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno == 0 && end != buf && (*end == '\0' || *end == '\n') &&
	    v > 0 && v <= INT_MAX)
		pid = (pid_t)v;
	free(buf);
	return pid;
}

/* 1 when the process of pid file ROOT/rel lives; a stale pid file goes. */
static int
pidfile_alive(const struct lab *lab, const char *rel, const char *comm)
{
	char	*path = NULL;
	pid_t	 pid;
	int	 alive = 0;

	if ((path = lab_path(lab->root, rel)) == NULL)
		return 0;
	if ((pid = pid_read(path)) != 0)
		alive = proc_alive(pid, comm);
	if (!alive)
		(void)unlink(path);
	free(path);
	return alive;
}

static int
wait_gone(pid_t pid, const char *comm, int ms)
{
	struct timespec	 ts = { 0, POLL_MS * 1000000L };
	int		 waited;

	for (waited = 0; waited < ms; waited += POLL_MS) {
		if (!proc_alive(pid, comm))
			return 0;
		nanosleep(&ts, NULL);
	}
	return proc_alive(pid, comm) ? -1 : 0;
}

/* Removes a pid or marker file; one already gone is fine. */
static int
state_unlink(const char *path, char *msg, size_t len)
{
	if (unlink(path) == -1 && errno != ENOENT) {
		snprintf(msg, len, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* TERM, wait, KILL, wait; the pid file goes in any case. */
static int
pidfile_stop(const struct lab *lab, const char *rel, const char *comm,
    char *msg, size_t len)
{
	char	*path = NULL;
	pid_t	 pid;
	int	 ret = -1;

	if ((path = lab_path(lab->root, rel)) == NULL) {
		snprintf(msg, len, "out of memory");
		goto out;
	}
	if ((pid = pid_read(path)) != 0 && proc_alive(pid, comm)) {
		(void)kill(pid, SIGTERM);
		if (wait_gone(pid, comm, STOP_WAIT_MS) == -1) {
			lab_log(lab, "%s (pid %ld) ignored SIGTERM; SIGKILL",
			    comm, (long)pid);
			(void)kill(pid, SIGKILL);
			if (wait_gone(pid, comm, STOP_WAIT_MS) == -1) {
				snprintf(msg, len, "process %ld (%s) does not "
				    "exit", (long)pid, comm);
				goto out;
			}
		}
	}
	if (state_unlink(path, msg, len) == -1)
		goto out;
	ret = 0;
out:
	free(path);
	return ret;
}

/* Points fds 0, 1 and 2 of a child at /dev/null and the log ROOT/rel. */
static void
child_stdio(const struct lab *lab, const char *rel)
{
	char	*path = lab_path(lab->root, rel);
	int	 fd;

	if ((fd = open("/dev/null", O_RDONLY)) != -1) {
		dup2(fd, 0);
		if (fd != 0)
			close(fd);
	}
	if (path != NULL && (fd = open(path, O_WRONLY | O_APPEND | O_CREAT,
	    0644)) != -1) {
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	free(path);
}

/* ------------------------------------------------------------------ */
/* Identity, certificates, VECS. */

static void
ident_free(struct ident *id)
{
	free(id->pnid);
	free(id->domain);
	free(id->ddn);
	free(id->mid);
	free(id->site);
	memset(id, 0, sizeof(*id));
}

static int
reg_vmafd(const struct lab *lab, const char *name, char **out, char *msg,
    size_t len)
{
	if ((*out = lab_reg_get(lab->root, LAB_REG_VMAFD, name)) != NULL &&
	    **out != '\0')
		return 0;
	snprintf(msg, len, "registry value [%s] %s is missing", LAB_REG_VMAFD,
	    name);
	return -1;
}

static int
ident_load(const struct lab *lab, struct ident *id, char *msg, size_t len)
{
	memset(id, 0, sizeof(*id));
	if (reg_vmafd(lab, "PNID", &id->pnid, msg, len) == -1 ||
	    reg_vmafd(lab, "DomainName", &id->domain, msg, len) == -1 ||
	    reg_vmafd(lab, "MachineID", &id->mid, msg, len) == -1 ||
	    reg_vmafd(lab, "SiteName", &id->site, msg, len) == -1)
		goto fail;
	if ((id->ddn = lab_domain_dn(id->domain)) == NULL) {
		snprintf(msg, len, "out of memory");
		goto fail;
	}
	return 0;
fail:
	ident_free(id);
	return -1;
}

static void
certkey_free(struct certkey *ck)
{
	X509_free(ck->leaf);
	sk_X509_pop_free(ck->chain, X509_free);
	EVP_PKEY_free(ck->key);
	memset(ck, 0, sizeof(*ck));
}

/* Every certificate of a PEM buffer, in order; NULL when none. */
static STACK_OF(X509) *
pem_certs(const char *pem, size_t len)
{
	BIO		*bio = NULL;
	STACK_OF(X509)	*sk = NULL;
	X509		*x = NULL;

	if (pem == NULL || len > INT_MAX ||
	    (bio = BIO_new_mem_buf(pem, (int)len)) == NULL ||
	    (sk = sk_X509_new_null()) == NULL)
		goto fail;
	while ((x = PEM_read_bio_X509(bio, NULL, lab_no_password,
	    NULL)) != NULL)
		if (!sk_X509_push(sk, x))
			goto fail;
	/* The loop ends on "no start line"; anything else is damage. */
	if (sk_X509_num(sk) == 0 || (ERR_GET_REASON(ERR_peek_last_error()) !=
	    PEM_R_NO_START_LINE))
		goto fail;
	ERR_clear_error();
	BIO_free(bio);
	return sk;
fail:
	ERR_clear_error();
	X509_free(x);
	sk_X509_pop_free(sk, X509_free);
	BIO_free(bio);
	return NULL;
}

static EVP_PKEY *
pem_key(const char *pem, size_t len)
{
	BIO		*bio = NULL;
	EVP_PKEY	*key = NULL;

	if (pem != NULL && len <= INT_MAX &&
	    (bio = BIO_new_mem_buf(pem, (int)len)) != NULL)
		/* VECS keys are never encrypted: no password prompt. */
		key = PEM_read_bio_PrivateKey(bio, NULL, lab_no_password,
		    NULL);
	ERR_clear_error();
	BIO_free(bio);
	return key;
}

/* Splits a list of certificates into leaf (index i) and the rest. */
static int
certkey_from(struct certkey *ck, STACK_OF(X509) *sk, int i)
{
	ck->leaf = sk_X509_delete(sk, i);
	ck->chain = sk;
	return ck->leaf == NULL ? -1 : 0;
}

/* A VECS entry: the first certificate of its PEM is the entry's own. */
static int
vecs_certkey(const struct lab *lab, const char *store, const char *alias,
    const char *who, struct certkey *ck, char *msg, size_t len)
{
	struct vecs_store	*st = NULL;
	struct vecs_entry	*e = NULL;
	STACK_OF(X509)		*sk = NULL;
	int			 ret = -1;

	memset(ck, 0, sizeof(*ck));
	if (vecsdb_store_load(lab->root, store, &st) == -1) {
		snprintf(msg, len, "%s: cannot read VECS store %s: %s", who,
		    store, strerror(errno));
		goto out;
	}
	if ((e = vecs_store_find(st, alias)) == NULL) {
		snprintf(msg, len, "%s: no entry %s in VECS store %s", who,
		    alias, store);
		goto out;
	}
	if ((sk = pem_certs(e->cert, e->cert_len)) == NULL) {
		snprintf(msg, len, "%s: unreadable certificate in VECS entry "
		    "%s/%s", who, store, alias);
		goto out;
	}
	if (certkey_from(ck, sk, 0) == -1) {
		snprintf(msg, len, "out of memory");
		goto out;
	}
	sk = NULL;
	if (e->type == VECS_ENTRY_PRIVATE_KEY)
		ck->key = pem_key(e->key, e->key_len);
	ret = 0;
out:
	sk_X509_pop_free(sk, X509_free);
	vecs_store_free(st);
	if (ret == -1)
		certkey_free(ck);
	return ret;
}

/* The trust anchors: every certificate in VECS TRUSTED_ROOTS. */
static int
trusted_roots(const struct lab *lab, X509_STORE **out, char *msg, size_t len)
{
	struct vecs_store	*st = NULL;
	STACK_OF(X509)		*sk = NULL;
	X509_STORE		*store = NULL;
	size_t			 i;
	int			 j, ret = -1;

	*out = NULL;
	if (vecsdb_store_load(lab->root, "TRUSTED_ROOTS", &st) == -1) {
		snprintf(msg, len, "cannot read VECS store TRUSTED_ROOTS: %s",
		    strerror(errno));
		goto out;
	}
	if ((store = X509_STORE_new()) == NULL) {
		snprintf(msg, len, "out of memory");
		goto out;
	}
	for (i = 0; i < st->nentries; i++) {
		if (st->entries[i].type == VECS_ENTRY_CRL ||
		    (sk = pem_certs(st->entries[i].cert,
		    st->entries[i].cert_len)) == NULL)
			continue;
		for (j = 0; j < sk_X509_num(sk); j++)
			(void)X509_STORE_add_cert(store, sk_X509_value(sk, j));
		sk_X509_pop_free(sk, X509_free);
		sk = NULL;
	}
	ERR_clear_error();
	*out = store;
	store = NULL;
	ret = 0;
out:
	X509_STORE_free(store);
	vecs_store_free(st);
	return ret;
}

static void
fmt_time(const ASN1_TIME *t, char *buf, size_t len)
{
	struct tm	 tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1 ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S GMT", &tm) == 0)
		snprintf(buf, len, "(unreadable date)");
}

/* 0 when notBefore <= now <= notAfter, else -1 and why. */
static int
cert_current(X509 *c, time_t now, char *why, size_t len)
{
	char	 date[64];
	int	 cmp;

	cmp = ASN1_TIME_cmp_time_t(X509_get0_notBefore(c), now);
	if (cmp == -2 || cmp > 0) {
		fmt_time(X509_get0_notBefore(c), date, sizeof(date));
		snprintf(why, len, "is not valid before %s", date);
		return -1;
	}
	cmp = ASN1_TIME_cmp_time_t(X509_get0_notAfter(c), now);
	if (cmp == -2 || cmp < 0) {
		fmt_time(X509_get0_notAfter(c), date, sizeof(date));
		snprintf(why, len, "expired on %s", date);
		return -1;
	}
	return 0;
}

/* Chain of leaf (untrusted helpers: chain) to an anchor in roots, at now. */
static int
chain_verify(X509_STORE *roots, X509 *leaf, STACK_OF(X509) *chain,
    time_t now, char *why, size_t len)
{
	X509_STORE_CTX	*ctx = NULL;
	X509		*bad = NULL;
	char		 subject[256] = "";
	int		 ret = -1;

	if ((ctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(ctx, roots, leaf, chain) != 1) {
		snprintf(why, len, "cannot verify: out of memory");
		goto out;
	}
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), now);
	if (X509_verify_cert(ctx) != 1) {
		if ((bad = X509_STORE_CTX_get_current_cert(ctx)) != NULL)
			X509_NAME_oneline(X509_get_subject_name(bad), subject,
			    sizeof(subject));
		snprintf(why, len, "%s%s%s%s",
		    X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)),
		    *subject ? " (" : "", subject, *subject ? ")" : "");
		goto out;
	}
	ret = 0;
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	return ret;
}

/* Valid now, matching its key and chaining to TRUSTED_ROOTS. */
static int
certkey_check(const struct lab *lab, const char *who,
    const struct certkey *ck, char *msg, size_t len)
{
	X509_STORE	*roots = NULL;
	char		 why[512];
	time_t		 now = time(NULL);
	int		 ret = -1;

	if (cert_current(ck->leaf, now, why, sizeof(why)) == -1) {
		snprintf(msg, len, "%s %s", who, why);
		goto out;
	}
	if (ck->key == NULL) {
		snprintf(msg, len, "%s has no private key in VECS", who);
		goto out;
	}
	if (EVP_PKEY_eq(X509_get0_pubkey(ck->leaf), ck->key) != 1) {
		snprintf(msg, len, "%s does not match its private key", who);
		goto out;
	}
	if (trusted_roots(lab, &roots, msg, len) == -1)
		goto out;
	if (chain_verify(roots, ck->leaf, ck->chain, now, why,
	    sizeof(why)) == -1) {
		snprintf(msg, len, "%s does not chain to a trusted root: %s",
		    who, why);
		goto out;
	}
	ret = 0;
out:
	ERR_clear_error();
	X509_STORE_free(roots);
	return ret;
}

static int
machine_ssl_load(const struct lab *lab, struct certkey *ck, char *msg,
    size_t len)
{
	return vecs_certkey(lab, "MACHINE_SSL_CERT", "__MACHINE_CERT",
	    "Machine SSL certificate", ck, msg, len);
}

/* What rhttpproxy requires of the certificate it serves. */
static int
machine_ssl_check(const struct lab *lab, const struct certkey *ck, char *msg,
    size_t len)
{
	struct ident	 id;
	int		 ret = -1;

	if (ident_load(lab, &id, msg, len) == -1)
		return -1;
	if (certkey_check(lab, "Machine SSL certificate", ck, msg, len) == -1)
		goto out;
	/* SAN DNS names only, exact but for case, as a TLS client checks. */
	if (X509_check_host(ck->leaf, id.pnid, 0,
	    X509_CHECK_FLAG_NEVER_CHECK_SUBJECT |
	    X509_CHECK_FLAG_NO_WILDCARDS, NULL) != 1) {
		snprintf(msg, len, "Machine SSL certificate has no subject "
		    "alternative name for the PNID %s", id.pnid);
		goto out;
	}
	ret = 0;
out:
	ERR_clear_error();
	ident_free(&id);
	return ret;
}

/* ------------------------------------------------------------------ */
/* vmdir. */

/* Binds as the machine account, as the appliance's services do. */
static int
dir_open(const struct lab *lab, LDAP **out, char *msg, size_t len)
{
	return lab_dir_open(lab->root, out, msg, len);
}

/*
 * What a check of vmdir works with: who the appliance is, a connection bound
 * as its machine account and the result of the one search the check makes.
 */
struct dirconn {
	struct ident	 id;
	LDAP		*ld;
	LDAPMessage	*res;
};

/* dc starts zeroed; dirconn_close frees whatever dirconn_open got. */
static int
dirconn_open(const struct lab *lab, struct dirconn *dc, char *msg,
    size_t len)
{
	if (ident_load(lab, &dc->id, msg, len) == -1 ||
	    dir_open(lab, &dc->ld, msg, len) == -1)
		return -1;
	return 0;
}

static void
dirconn_close(struct dirconn *dc)
{
	ldap_msgfree(dc->res);
	if (dc->ld != NULL)
		ldap_unbind_ext_s(dc->ld, NULL, NULL);
	ident_free(&dc->id);
	dc->res = NULL;
	dc->ld = NULL;
}

/* Frees an attribute's values and forgets them, as loops over entries need. */
static void
values_free(struct berval ***vals)
{
	if (*vals != NULL)
		ldap_value_free_len(*vals);
	*vals = NULL;
}

/* 0 found (*res set), 1 no such base entry, -1 error (msg set). */
static int
dir_search(LDAP *ld, const char *base, int scope, const char *filter,
    char **attrs, LDAPMessage **res, char *msg, size_t len)
{
	struct timeval	 tv = { 30, 0 };
	int		 rc;

	*res = NULL;
	rc = ldap_search_ext_s(ld, base, scope, filter, attrs, 0, NULL, NULL,
	    &tv, LDAP_NO_LIMIT, res);
	if (rc == LDAP_SUCCESS)
		return 0;
	ldap_msgfree(*res);
	*res = NULL;
	if (rc == LDAP_NO_SUCH_OBJECT)
		return 1;
	snprintf(msg, len, "cannot search %s: %s", base, ldap_err2string(rc));
	return -1;
}

/* The DER certificates of an attribute; NULL when one does not parse. */
static STACK_OF(X509) *
ber_certs(struct berval **vals)
{
	STACK_OF(X509)		*sk = NULL;
	X509			*x = NULL;
	const unsigned char	*p = NULL;
	size_t			 i;

	if ((sk = sk_X509_new_null()) == NULL)
		return NULL;
	for (i = 0; vals != NULL && vals[i] != NULL; i++) {
		p = (const unsigned char *)vals[i]->bv_val;
		if (vals[i]->bv_len > LONG_MAX ||
		    (x = d2i_X509(NULL, &p, (long)vals[i]->bv_len)) == NULL)
			goto fail;
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			goto fail;
		}
	}
	return sk;
fail:
	ERR_clear_error();
	sk_X509_pop_free(sk, X509_free);
	return NULL;
}

/* N of an entry named cn=<prefix>N,..., or -1. */
static long
dn_index(LDAP *ld, LDAPMessage *e, const char *prefix)
{
	char	*dn = ldap_get_dn(ld, e), *p = NULL, *end = NULL;
	size_t	 plen = strlen(prefix);
	long	 n = -1;

	if (dn == NULL)
		return -1;
	if (strncasecmp(dn, "cn=", 3) == 0 &&
	    strncasecmp(dn + 3, prefix, plen) == 0) {
		p = dn + 3 + plen;
		errno = 0;
		n = strtol(p, &end, 10);
		if (errno != 0 || end == p || *end != ',' || *p == '-' ||
		    *p == '+')
			n = -1;
	}
	ldap_memfree(dn);
	return n;
}

static char *
tenant_dn(const struct ident *id)
{
	char	*esc = NULL, *dn = NULL;

	if ((esc = lab_dn_escape(id->domain)) == NULL)
		return NULL;
	if (asprintf(&dn, "cn=%s,cn=Tenants,cn=IdentityManager,cn=Services,%s",
	    esc, id->ddn) == -1)
		dn = NULL;
	free(esc);
	return dn;
}

/*
 * A solution user logs in with the certificate of its VECS store; vmdir must
 * hold the same one (appliance.md 2, 8.4).
 */
static int
check_solution_user(const struct lab *lab, const char *user, char *msg,
    size_t len)
{
	struct certkey	 ck = { NULL, NULL, NULL };
	struct dirconn	 dc = { { NULL }, NULL, NULL };
	LDAPMessage	*e = NULL;
	struct berval	**vals = NULL;
	char		*who = NULL, *esc = NULL, *base = NULL;
	char		*attrs[] = { "userCertificate", NULL };
	unsigned char	*der = NULL;
	size_t		 i;
	int		 derlen, rc, same = 0, ret = -1;

	if (asprintf(&who, "Solution user %s certificate", user) == -1) {
		who = NULL;
		snprintf(msg, len, "out of memory");
		goto out;
	}
	if (vecs_certkey(lab, user, user, who, &ck, msg, len) == -1 ||
	    certkey_check(lab, who, &ck, msg, len) == -1 ||
	    dirconn_open(lab, &dc, msg, len) == -1)
		goto out;
	if ((esc = lab_dn_escape(dc.id.mid)) == NULL ||
	    asprintf(&base, "cn=%s-%s,cn=ServicePrincipals,%s", user, esc,
	    dc.id.ddn) == -1) {
		base = NULL;
		snprintf(msg, len, "out of memory");
		goto out;
	}
	if ((rc = dir_search(dc.ld, base, LDAP_SCOPE_BASE, "(objectClass=*)",
	    attrs, &dc.res, msg, len)) == -1)
		goto out;
	if (rc == 1 || (e = ldap_first_entry(dc.ld, dc.res)) == NULL) {
		snprintf(msg, len, "Solution user %s is not registered in vmdir "
		    "(%s)", user, base);
		goto out;
	}
	if ((derlen = i2d_X509(ck.leaf, &der)) <= 0) {
		snprintf(msg, len, "out of memory");
		goto out;
	}
	vals = ldap_get_values_len(dc.ld, e, "userCertificate");
	for (i = 0; vals != NULL && vals[i] != NULL; i++)
		if (vals[i]->bv_len == (ber_len_t)derlen &&
		    memcmp(vals[i]->bv_val, der, derlen) == 0)
			same = 1;
	if (!same) {
		snprintf(msg, len, "Solution user %s certificate differs "
		    "between VECS and vmdir (%s)", user, base);
		goto out;
	}
	ret = 0;
out:
	values_free(&vals);
	dirconn_close(&dc);
	OPENSSL_free(der);
	certkey_free(&ck);
	free(who);
	free(esc);
	free(base);
	return ret;
}

/* ------------------------------------------------------------------ */
/* The checks of single services. */

static int
check_vmcad(const struct lab *lab, char *msg, size_t len)
{
	char		*cpath = NULL, *kpath = NULL, *cert = NULL, *key = NULL;
	size_t		 clen = 0, klen = 0;
	STACK_OF(X509)	*sk = NULL;
	EVP_PKEY	*pkey = NULL;
	int		 ret = -1;

	if ((cpath = lab_path(lab->root, LAB_VMCA_ROOT)) == NULL ||
	    (kpath = lab_path(lab->root, LAB_VMCA_KEY)) == NULL) {
		snprintf(msg, len, "out of memory");
		goto out;
	}
	if (lab_read_file(cpath, &cert, &clen) == -1 ||
	    (sk = pem_certs(cert, clen)) == NULL) {
		snprintf(msg, len, "cannot load the VMCA root certificate %s",
		    cpath);
		goto out;
	}
	if (lab_read_file(kpath, &key, &klen) == -1 ||
	    (pkey = pem_key(key, klen)) == NULL) {
		snprintf(msg, len, "cannot load the VMCA private key %s", kpath);
		goto out;
	}
	/* root.cer may hold a chain: VMCA's own certificate comes first. */
	if (EVP_PKEY_eq(X509_get0_pubkey(sk_X509_value(sk, 0)), pkey) != 1) {
		snprintf(msg, len, "the VMCA root certificate %s does not match "
		    "the private key %s", cpath, kpath);
		goto out;
	}
	ret = 0;
out:
	ERR_clear_error();
	lab_free_secret(key, klen);
	free(cert);
	free(cpath);
	free(kpath);
	sk_X509_pop_free(sk, X509_free);
	EVP_PKEY_free(pkey);
	return ret;
}

/* The leaf of a credential is the certificate of its private key. */
static int
sts_credential(LDAP *ld, LDAPMessage *e, struct certkey *ck, char *why,
    size_t len)
{
	struct berval		**certs = NULL, **keys = NULL;
	STACK_OF(X509)		*sk = NULL;
	PKCS8_PRIV_KEY_INFO	*p8 = NULL;
	const unsigned char	*p = NULL;
	int			 i, ret = -1;

	memset(ck, 0, sizeof(*ck));
	certs = ldap_get_values_len(ld, e, "userCertificate");
	keys = ldap_get_values_len(ld, e, "vmwSTSPrivateKey");
	if (certs == NULL || certs[0] == NULL) {
		snprintf(why, len, "no userCertificate");
		goto out;
	}
	if (keys == NULL || keys[0] == NULL || keys[0]->bv_len > LONG_MAX) {
		snprintf(why, len, "no vmwSTSPrivateKey");
		goto out;
	}
	if ((sk = ber_certs(certs)) == NULL) {
		snprintf(why, len, "a userCertificate value is no certificate");
		goto out;
	}
	p = (const unsigned char *)keys[0]->bv_val;
	if ((p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p,
	    (long)keys[0]->bv_len)) == NULL ||
	    (ck->key = EVP_PKCS82PKEY(p8)) == NULL) {
		snprintf(why, len, "vmwSTSPrivateKey is no PKCS#8 private key");
		goto out;
	}
	for (i = 0; i < sk_X509_num(sk); i++)
		if (EVP_PKEY_eq(X509_get0_pubkey(sk_X509_value(sk, i)),
		    ck->key) == 1)
			break;
	if (i == sk_X509_num(sk)) {
		snprintf(why, len, "no userCertificate matches "
		    "vmwSTSPrivateKey");
		goto out;
	}
	if (certkey_from(ck, sk, i) == -1) {
		snprintf(why, len, "out of memory");
		goto out;
	}
	sk = NULL;
	ret = 0;
out:
	ERR_clear_error();
	PKCS8_PRIV_KEY_INFO_free(p8);
	sk_X509_pop_free(sk, X509_free);
	values_free(&certs);
	values_free(&keys);
	if (ret == -1)
		certkey_free(ck);
	return ret;
}

/*
 * vmware-stsd signs with the tenant credential of highest index. Whatever is
 * wrong with it, the real service says only STS_INVALID; the log says why.
 */
static int
check_sts(const struct lab *lab, char *msg, size_t len)
{
	struct certkey	 ck = { NULL, NULL, NULL };
	struct dirconn	 dc = { { NULL }, NULL, NULL };
	LDAPMessage	*e = NULL, *best = NULL;
	X509_STORE	*roots = NULL;
	char		*tenant = NULL, why[512];
	char		*attrs[] = { "userCertificate", "vmwSTSPrivateKey",
			    NULL };
	long		 n, bestn = -1;
	int		 rc, ret = -1;

	if (dirconn_open(lab, &dc, msg, len) == -1)
		goto out;
	if ((tenant = tenant_dn(&dc.id)) == NULL) {
		snprintf(msg, len, "out of memory");
		goto out;
	}
	if ((rc = dir_search(dc.ld, tenant, LDAP_SCOPE_ONELEVEL,
	    "(cn=TenantCredential-*)", attrs, &dc.res, msg, len)) == -1)
		goto out;
	for (e = rc == 0 ? ldap_first_entry(dc.ld, dc.res) : NULL; e != NULL;
	    e = ldap_next_entry(dc.ld, e))
		if ((n = dn_index(dc.ld, e, "TenantCredential-")) > bestn) {
			bestn = n;
			best = e;
		}
	snprintf(msg, len, STS_INVALID);
	if (best == NULL) {
		lab_log(lab, "vmware-stsd: no TenantCredential under %s",
		    tenant);
		goto out;
	}
	if (sts_credential(dc.ld, best, &ck, why, sizeof(why)) == -1 ||
	    cert_current(ck.leaf, time(NULL), why, sizeof(why)) == -1) {
		lab_log(lab, "vmware-stsd: TenantCredential-%ld: signing "
		    "certificate %s", bestn, why);
		goto out;
	}
	if (trusted_roots(lab, &roots, why, sizeof(why)) == -1 ||
	    chain_verify(roots, ck.leaf, ck.chain, time(NULL), why,
	    sizeof(why)) == -1) {
		lab_log(lab, "vmware-stsd: TenantCredential-%ld: chain: %s",
		    bestn, why);
		goto out;
	}
	ret = 0;
out:
	certkey_free(&ck);
	X509_STORE_free(roots);
	dirconn_close(&dc);
	free(tenant);
	return ret;
}

/*
 * vmware-vpxd-svcs reads every trusted chain of the tenant: one expired
 * certificate in any of them, a stale chain the fix script left behind
 * included, and it fails like STS (seed comment 5, appliance.md 8.2).
 */
static int
check_sts_chains(const struct lab *lab, char *msg, size_t len)
{
	struct dirconn	 dc = { { NULL }, NULL, NULL };
	LDAPMessage	*e = NULL;
	struct berval	**vals = NULL;
	STACK_OF(X509)	*sk = NULL;
	X509		*x = NULL;
	char		*tenant = NULL, *base = NULL, date[64], subject[256];
	char		*attrs[] = { "userCertificate", NULL };
	time_t		 now = time(NULL);
	int		 i, rc, ret = -1;

	if (dirconn_open(lab, &dc, msg, len) == -1)
		goto out;
	if ((tenant = tenant_dn(&dc.id)) == NULL ||
	    asprintf(&base, "cn=TrustedCertificateChains,%s", tenant) == -1) {
		base = NULL;
		snprintf(msg, len, "out of memory");
		goto out;
	}
	if ((rc = dir_search(dc.ld, base, LDAP_SCOPE_ONELEVEL,
	    "(cn=TrustedCertChain-*)", attrs, &dc.res, msg, len)) == -1)
		goto out;
	for (e = rc == 0 ? ldap_first_entry(dc.ld, dc.res) : NULL; e != NULL;
	    e = ldap_next_entry(dc.ld, e)) {
		vals = ldap_get_values_len(dc.ld, e, "userCertificate");
		if ((sk = ber_certs(vals)) == NULL) {
			snprintf(msg, len, STS_INVALID);
			lab_log(lab, "vmware-vpxd-svcs: TrustedCertChain-%ld: "
			    "unreadable certificate",
			    dn_index(dc.ld, e, "TrustedCertChain-"));
			goto out;
		}
		for (i = 0; i < sk_X509_num(sk); i++) {
			x = sk_X509_value(sk, i);
			/* Expired only: a chain not yet valid is no stale one. */
			if (ASN1_TIME_cmp_time_t(X509_get0_notAfter(x), now) >= 0)
				continue;
			X509_NAME_oneline(X509_get_subject_name(x), subject,
			    sizeof(subject));
			fmt_time(X509_get0_notAfter(x), date, sizeof(date));
			snprintf(msg, len, STS_INVALID);
			lab_log(lab, "vmware-vpxd-svcs: TrustedCertChain-%ld: "
			    "%s expired on %s", dn_index(dc.ld, e,
			    "TrustedCertChain-"), subject, date);
			goto out;
		}
		sk_X509_pop_free(sk, X509_free);
		sk = NULL;
		values_free(&vals);
	}
	ret = 0;
out:
	sk_X509_pop_free(sk, X509_free);
	values_free(&vals);
	dirconn_close(&dc);
	free(tenant);
	free(base);
	return ret;
}

/*
 * vmware-vpxd-svcs: the services that talk to this node over TLS verify the
 * certificate rhttpproxy serves (valid now, chaining to TRUSTED_ROOTS, the
 * PNID in its SAN), so an expired or foreign Machine SSL certificate fails
 * here, not in rhttpproxy (appliance.md 6; field reports of expired Machine
 * SSL on 7.0 name vpxd-svcs), then the stale chains above.
 */
static int
check_vpxd_svcs(const struct lab *lab, char *msg, size_t len)
{
	struct certkey	 ck = { NULL, NULL, NULL };
	int		 ret = -1;

	if (machine_ssl_load(lab, &ck, msg, len) == -1 ||
	    machine_ssl_check(lab, &ck, msg, len) == -1)
		goto out;
	/* A management node's tokens come from its PSC's STS: its
	 * signing credential, as this node's directory shows it. */
	if (lab->type == NODE_MGMT && check_sts(lab, msg, len) == -1)
		goto out;
	ret = check_sts_chains(lab, msg, len);
out:
	certkey_free(&ck);
	return ret;
}

/* 1 when the host of an https://host[:port]/... URI is pnid. */
static int
uri_is_host(const char *uri, size_t ulen, const char *pnid)
{
	const char	*p = NULL, *end = uri + ulen, *h = NULL;
	size_t		 plen = strlen(pnid);

	for (p = uri; p + 3 <= end && memcmp(p, "://", 3) != 0; p++)
		;
	if (p + 3 > end)
		return 0;
	h = p + 3;
	if (h < end && *h == '[') {
		h++;
		for (p = h; p < end && *p != ']'; p++)
			;
	} else
		for (p = h; p < end && *p != ':' && *p != '/'; p++)
			;
	return (size_t)(p - h) == plen && strncasecmp(h, pnid, plen) == 0;
}

/* A one-line base64 value, whitespace aside, equal to b64? */
static int
b64_same(const struct berval *v, const char *b64)
{
	size_t	 i, j = 0, n = strlen(b64);

	for (i = 0; i < v->bv_len; i++) {
		if (strchr(" \t\r\n", v->bv_val[i]) != NULL)
			continue;
		if (j >= n || v->bv_val[i] != b64[j])
			return 0;
		j++;
	}
	return j == n;
}

/*
 * The Lookup Service hands out, for each endpoint of this node, the
 * certificate clients must trust: it must be the one rhttpproxy serves
 * (appliance.md 2, 8.5). Endpoints of other nodes are none of its business.
 */
static int
check_lookupsvc(const struct lab *lab, char *msg, size_t len)
{
	struct certkey	 ck = { NULL, NULL, NULL };
	struct dirconn	 dc = { { NULL }, NULL, NULL };
	LDAPMessage	*e = NULL;
	struct berval	**uris = NULL, **trust = NULL, **anchor = NULL;
	char		*esc = NULL, *base = NULL, *b64 = NULL, *dn = NULL;
	char		*attrs[] = { "vmwLKUPURI", "vmwLKUPEndpointSslTrust",
			    "vmwLKUPSslTrustAnchor", NULL };
	unsigned char	*der = NULL;
	size_t		 i;
	int		 derlen, mine, ok, rc, ret = -1;

	if (machine_ssl_load(lab, &ck, msg, len) == -1 ||
	    dirconn_open(lab, &dc, msg, len) == -1)
		goto out;
	if ((derlen = i2d_X509(ck.leaf, &der)) <= 0 ||
	    (b64 = malloc(4 * (((size_t)derlen + 2) / 3) + 1)) == NULL ||
	    (esc = lab_dn_escape(dc.id.site)) == NULL ||
	    asprintf(&base, "cn=ServiceRegistrations,cn=LookupService,cn=%s,"
	    "cn=Sites,cn=Configuration,%s", esc, dc.id.ddn) == -1) {
		base = NULL;
		snprintf(msg, len, "out of memory");
		goto out;
	}
	EVP_EncodeBlock((unsigned char *)b64, der, derlen);
	if ((rc = dir_search(dc.ld, base, LDAP_SCOPE_SUBTREE,
	    "(|(objectClass=vmwLKUPEndpointRegistration)"
	    "(objectClass=vmwLKUPServiceEndpoint))", attrs, &dc.res, msg,
	    len)) == -1)
		goto out;
	if (rc == 1) {
		snprintf(msg, len, "no service registrations under %s", base);
		goto out;
	}
	for (e = ldap_first_entry(dc.ld, dc.res); e != NULL;
	    e = ldap_next_entry(dc.ld, e)) {
		uris = ldap_get_values_len(dc.ld, e, "vmwLKUPURI");
		trust = ldap_get_values_len(dc.ld, e,
		    "vmwLKUPEndpointSslTrust");
		anchor = ldap_get_values_len(dc.ld, e, "vmwLKUPSslTrustAnchor");
		for (i = 0, mine = 0; uris != NULL && uris[i] != NULL; i++)
			mine |= uri_is_host(uris[i]->bv_val, uris[i]->bv_len,
			    dc.id.pnid);
		/* Legacy endpoints carry binary DER instead of base64. */
		for (i = 0, ok = 0; trust != NULL && trust[i] != NULL; i++)
			ok |= b64_same(trust[i], b64);
		for (i = 0; anchor != NULL && anchor[i] != NULL; i++)
			ok |= anchor[i]->bv_len == (ber_len_t)derlen &&
			    memcmp(anchor[i]->bv_val, der, derlen) == 0;
		if (mine && !ok) {
			dn = ldap_get_dn(dc.ld, e);
			snprintf(msg, len, "Lookup Service endpoint %s does not "
			    "trust the Machine SSL certificate of %s",
			    dn != NULL ? dn : "(unknown)", dc.id.pnid);
			goto out;
		}
		values_free(&uris);
		values_free(&trust);
		values_free(&anchor);
	}
	ret = 0;
out:
	values_free(&uris);
	values_free(&trust);
	values_free(&anchor);
	if (dn != NULL)
		ldap_memfree(dn);
	dirconn_close(&dc);
	OPENSSL_free(der);
	certkey_free(&ck);
	free(esc);
	free(base);
	free(b64);
	return ret;
}

/* ------------------------------------------------------------------ */
/* vmdird: the lab's slapd. */

/*
 * Runs the lab's slapd in this (forked) process: Debian's /usr/sbin/slapd,
 * or, when lab.conf names a slapd_sys directory (relative to the lab root),
 * the copy there through its own dynamic loader: DIR/slapd is ld.so (so
 * the process is still called slapd), DIR/slapd.bin the server, DIR/lib its
 * libraries. make test-release uses that to run the lab where no /lib
 * exists (tests/release/run.sh). Never returns.
 */
static void
exec_slapd(const struct lab *lab, const char *conf, const char *uri)
{
	char	*sys, *dir = NULL, *ld = NULL, *lib = NULL, *bin = NULL;

	if ((sys = lab_conf_get(lab->conf, "slapd_sys")) == NULL)
		execl(SLAPD, "slapd", "-f", conf, "-h", uri, (char *)NULL);
	else if ((dir = lab_path(lab->root, sys)) != NULL &&
	    asprintf(&ld, "%s/slapd", dir) != -1 &&
	    asprintf(&lib, "%s/lib", dir) != -1 &&
	    asprintf(&bin, "%s/slapd.bin", dir) != -1)
		execl(ld, "slapd", "--library-path", lib, bin, "-f", conf,
		    "-h", uri, (char *)NULL);
	dprintf(2, "service-control: %s: %s\n", ld != NULL ? ld : SLAPD,
	    strerror(errno));
	_exit(127);
}

/*
 * The port a domain's node serves `key' on at its own address (labctl
 * create-domain: vmdir's 389 and 636, rhttpproxy's 443, when it could bind
 * them), else the localhost port `local'; malloc'd, NULL out of memory.
 */
static char *
addr_port(const struct lab *lab, const char *key, const char *local)
{
	char	*p = lab_conf_get(lab->conf, key);

	return p != NULL ? p : strdup(local);
}

/*
 * A domain's node (lab.conf vmdir_tls=machine-ssl): vmdir's TLS
 * certificate and key are the Machine SSL entry of VECS, read at each
 * start, as vmdir reads them (Lightwave vmdir/server/ldap-head/openssl.c:
 * 251, VmDirGetVecsMachineCert, vecs.c:42 and 133): written over slapd's
 * TLS files. Expired or not, it is what vmdir serves. -1 when the entry
 * cannot be read (msg says why).
 */
static int
vmdir_tls_from_vecs(const struct lab *lab, char *msg, size_t len)
{
	struct vecs_store	*st = NULL;
	struct vecs_entry	*e;
	char			*v, *crt = NULL, *key = NULL;
	int			 on, ret = -1;

	v = lab_conf_get(lab->conf, "vmdir_tls");
	on = v != NULL && strcmp(v, "machine-ssl") == 0;
	free(v);
	if (!on)
		return 0;
	if (vecsdb_store_load(lab->root, "MACHINE_SSL_CERT", &st) == -1 ||
	    (e = vecs_store_find(st, "__MACHINE_CERT")) == NULL ||
	    e->cert == NULL || e->key == NULL) {
		snprintf(msg, len, VMDIR_DOWN ": no Machine SSL certificate "
		    "and key in VECS for its TLS");
		goto out;
	}
	if ((crt = lab_path(lab->root, LAB_VMDIR_DIR "/slapd-tls.crt")) ==
	    NULL || (key = lab_path(lab->root, LAB_VMDIR_DIR
	    "/slapd-tls.key")) == NULL ||
	    lab_write_file_atomic(crt, e->cert, e->cert_len, 0644) == -1 ||
	    lab_write_file_atomic(key, e->key, e->key_len, 0600) == -1) {
		snprintf(msg, len, VMDIR_DOWN ": cannot write its TLS "
		    "files: %s", strerror(errno));
		goto out;
	}
	ret = 0;
out:
	vecs_store_free(st);
	free(crt);
	free(key);
	return ret;
}

static int
start_vmdir(const struct lab *lab, char *msg, size_t len)
{
	LDAP		*ld = NULL;
	char		*conf = NULL, *port = NULL, *uri = NULL, *tport;
	char		*aport = NULL;
	char		 why[MSGLEN] = "";
	struct timespec	 ts = { 0, POLL_MS * 1000000L };
	pid_t		 pid;
	int		 status, waited, other, ret = -1;

	if (lab_flag(lab, LAB_FAULTS_DIR, "", "slapd-down")) {
		snprintf(msg, len, VMDIR_DOWN);
		goto out;
	}
	/* localhost, and a domain's node its own address too, on the
	 * address's port (addr_ldap_port: 389 as vmdir's, when labctl could
	 * bind it). */
	other = strcmp(lab->addr, "127.0.0.1") != 0;
	if ((conf = lab_path(lab->root, SLAPD_CONF)) == NULL ||
	    (port = lab_conf_get(lab->conf, "ldap_port")) == NULL ||
	    (aport = addr_port(lab, "addr_ldap_port", port)) == NULL ||
	    asprintf(&uri, "ldap://127.0.0.1:%s/%s%s%s%s%s", port,
	    other ? " ldap://" : "", other ? lab->addr : "", other ? ":" : "",
	    other ? aport : "", other ? "/" : "") == -1) {
		uri = NULL;
		snprintf(msg, len, VMDIR_DOWN ": no ldap_port in %s",
		    lab->conf);
		goto out;
	}
	/* vmdir's LDAPS port too, when the lab has one (labctl create). */
	if ((tport = lab_conf_get(lab->conf, "ldaps_port")) != NULL) {
		char	*both = NULL, *atport;

		if ((atport = addr_port(lab, "addr_ldaps_port", tport)) ==
		    NULL || asprintf(&both, "%s ldaps://127.0.0.1:%s/%s%s%s%s%s",
		    uri, tport, other ? " ldaps://" : "", other ? lab->addr :
		    "", other ? ":" : "", other ? atport : "", other ? "/" :
		    "") == -1)
			both = NULL;
		free(atport);
		free(tport);
		if (both == NULL) {
			snprintf(msg, len, VMDIR_DOWN ": out of memory");
			goto out;
		}
		free(uri);
		uri = both;
	}
	if (vmdir_tls_from_vecs(lab, msg, len) == -1)
		goto out;
	fflush(NULL);
	if ((pid = fork()) == -1) {
		snprintf(msg, len, VMDIR_DOWN ": fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		child_stdio(lab, SLAPD_LOG);
		/*
		 * Whatever else we inherited (a caller's pipe) must not stay
		 * open for as long as the directory runs.
		 */
		lab_close_fds_but(-1, -1);
		exec_slapd(lab, conf, uri);
	}
	/* slapd forks its daemon and exits 0 once it is listening. */
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR) {
			status = -1;
			break;
		}
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(msg, len, VMDIR_DOWN ": %s %s %d (see %s)", SLAPD,
		    status != -1 && WIFEXITED(status) ? "exited with status" :
		    "died, wait status", status != -1 && WIFEXITED(status) ?
		    WEXITSTATUS(status) : status, SLAPD_LOG);
		goto out;
	}
	for (waited = 0; waited <= VMDIR_WAIT_MS; waited += POLL_MS) {
		if (dir_open(lab, &ld, why, sizeof(why)) == 0)
			break;
		nanosleep(&ts, NULL);
	}
	if (ld == NULL) {
		snprintf(msg, len, VMDIR_DOWN ": %.900s", why);
		/* Leave no half-started directory behind. */
		(void)pidfile_stop(lab, SLAPD_PID, "slapd", why, sizeof(why));
		goto out;
	}
	ret = 0;
out:
	if (ld != NULL)
		ldap_unbind_ext_s(ld, NULL, NULL);
	free(conf);
	free(port);
	free(aport);
	free(uri);
	return ret;
}

/* ------------------------------------------------------------------ */
/* vmware-rhttpproxy: a TLS server with the Machine SSL certificate. */

static void
proxy_onsignal(int sig)
{
	(void)sig;
	proxy_quit = 1;
}

static void
proxy_answer(SSL_CTX *sctx, int fd)
{
	static const char	 reply[] = "HTTP/1.0 200 OK\r\n"
	    "Content-Type: text/plain\r\nContent-Length: 3\r\n"
	    "Connection: close\r\n\r\nok\n";
	struct timeval		 hs = { 5, 0 }, rq = { 1, 0 };
	SSL			*ssl = NULL;
	char			 buf[4096];

	/* A stalled client must not hold the only thread forever. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &hs, sizeof(hs));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &hs, sizeof(hs));
	if ((ssl = SSL_new(sctx)) == NULL || SSL_set_fd(ssl, fd) != 1)
		goto out;
	if (SSL_accept(ssl) != 1) {
		fprintf(stderr, "rhttpproxy: handshake failed\n");
		ERR_print_errors_fp(stderr);
		goto out;
	}
	/* Read the request, if any comes soon, so closing sends no RST. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rq, sizeof(rq));
	(void)SSL_read(ssl, buf, sizeof(buf));
	if (SSL_write(ssl, reply, sizeof(reply) - 1) > 0)
		(void)SSL_shutdown(ssl);
out:
	ERR_clear_error();
	SSL_free(ssl);
}

/* The daemon: never returns. */
static void
proxy_daemon(const struct lab *lab, SSL_CTX *sctx, int lfd, int lfd2,
    int ready)
{
	struct sigaction	 sa;
	struct pollfd		 pfd[2];
	int			 fd, i;

	(void)setsid();
	/* The name pidfile_alive looks for. */
	(void)prctl(PR_SET_NAME, "rhttpproxy", 0, 0, 0);
	child_stdio(lab, PROXY_LOG);
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = proxy_onsignal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* A client that goes away mid-write must not kill the server. */
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	fprintf(stderr, "rhttpproxy: pid %ld serving\n", (long)getpid());
	if (write(ready, "1", 1) != 1)
		_exit(1);
	close(ready);
	lab_close_fds_but(lfd, lfd2);
	pfd[0].fd = lfd;
	pfd[1].fd = lfd2;	/* -1: ignored by poll */
	pfd[0].events = pfd[1].events = POLLIN;
	while (!proxy_quit) {
		/* Polling, not a blocking accept: a TERM is seen within 0.5 s. */
		if (poll(pfd, 2, 500) <= 0)
			continue;
		for (i = 0; i < 2; i++) {
			if (pfd[i].fd == -1 || !(pfd[i].revents & POLLIN) ||
			    (fd = accept(pfd[i].fd, NULL, NULL)) == -1)
				continue;
			proxy_answer(sctx, fd);
			close(fd);
		}
	}
	fprintf(stderr, "rhttpproxy: pid %ld stopped\n", (long)getpid());
	SSL_CTX_free(sctx);
	close(lfd);
	if (lfd2 != -1)
		close(lfd2);
	_exit(0);
}

static int
proxy_listen(const char *addr, const char *portstr, char *msg, size_t len)
{
	struct sockaddr_in	 sin;
	char			*end = NULL;
	long			 port;
	int			 fd = -1, one = 1;

	errno = 0;
	port = strtol(portstr, &end, 10);
	if (errno != 0 || *end != '\0' || port < 1 || port > 65535) {
		snprintf(msg, len, "bad rhttpproxy_port %s", portstr);
		return -1;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
		snprintf(msg, len, "bad address %s", addr);
		return -1;
	}
	/* Non-blocking: accept never hangs on a client gone since poll. */
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 64) == -1) {
		snprintf(msg, len, "cannot listen on %s:%ld: %s", addr, port,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

/* The certificate, its chain and key, from memory: no key file anywhere. */
static SSL_CTX *
proxy_ctx(const struct certkey *ck, char *msg, size_t len)
{
	SSL_CTX	*sctx = NULL;
	int	 i;

	if ((sctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    SSL_CTX_use_certificate(sctx, ck->leaf) != 1)
		goto fail;
	for (i = 0; i < sk_X509_num(ck->chain); i++)
		if (SSL_CTX_add1_chain_cert(sctx, sk_X509_value(ck->chain,
		    i)) != 1)
			goto fail;
	if (SSL_CTX_use_PrivateKey(sctx, ck->key) != 1 ||
	    SSL_CTX_check_private_key(sctx) != 1)
		goto fail;
	return sctx;
fail:
	snprintf(msg, len, "cannot use the Machine SSL certificate: %s",
	    ERR_reason_error_string(ERR_peek_last_error()) != NULL ?
	    ERR_reason_error_string(ERR_peek_last_error()) : "TLS error");
	ERR_clear_error();
	SSL_CTX_free(sctx);
	return NULL;
}

/*
 * Forks a lab daemon, run(arg, ready), which writes a byte to `ready' once
 * it has its name (then pidfile_alive recognises it), and records its pid in
 * pidrel. On failure the child is killed and msg says why, naming `what'
 * and its log.
 */
static int
spawn_daemon(const struct lab *lab, const char *pidrel, const char *what,
    const char *log, void (*run)(void *, int), void *arg, char *msg,
    size_t len)
{
	struct pollfd	 pfd;
	char		*pidpath = NULL, pidbuf[32], byte;
	pid_t		 pid;
	int		 pipefd[2] = { -1, -1 }, ret = -1;

	if ((pidpath = lab_path(lab->root, pidrel)) == NULL) {
		snprintf(msg, len, "out of memory");
		goto out;
	}
	if (pipe(pipefd) == -1) {
		snprintf(msg, len, "pipe: %s", strerror(errno));
		goto out;
	}
	fflush(NULL);
	if ((pid = fork()) == -1) {
		snprintf(msg, len, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		close(pipefd[0]);
		run(arg, pipefd[1]);
		_exit(1);
	}
	close(pipefd[1]);
	pipefd[1] = -1;
	pfd.fd = pipefd[0];
	pfd.events = POLLIN;
	if (poll(&pfd, 1, STOP_WAIT_MS) != 1 || read(pipefd[0], &byte, 1) != 1) {
		snprintf(msg, len, "%s did not come up (see %s)", what, log);
		(void)kill(pid, SIGKILL);
		goto out;
	}
	snprintf(pidbuf, sizeof(pidbuf), "%ld\n", (long)pid);
	if (lab_write_file_atomic(pidpath, pidbuf, strlen(pidbuf), 0644) ==
	    -1) {
		snprintf(msg, len, "%s: %s", pidpath, strerror(errno));
		(void)kill(pid, SIGTERM);
		goto out;
	}
	ret = 0;
out:
	if (pipefd[0] != -1)
		close(pipefd[0]);
	if (pipefd[1] != -1)
		close(pipefd[1]);
	free(pidpath);
	return ret;
}

struct proxy_args {
	const struct lab *lab;
	SSL_CTX		*sctx;
	int		 lfd, lfd2;
};

static void
proxy_run(void *arg, int ready)
{
	struct proxy_args *pa = arg;

	proxy_daemon(pa->lab, pa->sctx, pa->lfd, pa->lfd2, ready);
}

static int
start_proxy(const struct lab *lab, char *msg, size_t len)
{
	struct certkey	 ck = { NULL, NULL, NULL };
	struct proxy_args pa;
	SSL_CTX		*sctx = NULL;
	char		*port = NULL, *aport = NULL;
	int		 lfd = -1, lfd2 = -1, ret = -1;

	/*
	 * rhttpproxy serves whatever certificate loads with its key, expired
	 * or not (appliance.md 6): the services that verify it fail instead.
	 */
	if (machine_ssl_load(lab, &ck, msg, len) == -1 ||
	    (sctx = proxy_ctx(&ck, msg, len)) == NULL)
		goto out;
	if ((port = lab_conf_get(lab->conf, "rhttpproxy_port")) == NULL) {
		snprintf(msg, len, "%s: no rhttpproxy_port", lab->conf);
		goto out;
	}
	/* localhost reaches this node's proxy, as on an appliance; a
	 * domain's node also serves on its own address (its PNID's). */
	if ((lfd = proxy_listen("127.0.0.1", port, msg, len)) == -1 ||
	    (strcmp(lab->addr, "127.0.0.1") != 0 &&
	    ((aport = addr_port(lab, "addr_https_port", port)) == NULL ||
	    (lfd2 = proxy_listen(lab->addr, aport, msg, len)) == -1)))
		goto out;
	pa.lab = lab;
	pa.sctx = sctx;
	pa.lfd = lfd;
	pa.lfd2 = lfd2;
	if (spawn_daemon(lab, PROXY_PID, "the TLS server", PROXY_LOG,
	    proxy_run, &pa, msg, len) == -1)
		goto out;
	ret = 0;
out:
	if (lfd != -1)
		close(lfd);
	if (lfd2 != -1)
		close(lfd2);
	SSL_CTX_free(sctx);
	certkey_free(&ck);
	free(port);
	free(aport);
	return ret;
}

/* ------------------------------------------------------------------ */
/* vmafdd: the root sync's thread (rootfetch.c VmAfdHandleCertUpdates). */

static long long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The daemon: never returns. Like vmafdd's thread it runs a pass at once,
 * then one every root_sync_interval seconds (lab.conf, read again at each
 * tick, so that labctl root-sync takes effect at once); "off" runs none.
 */
static void
vmafd_daemon(const struct lab *lab, int ready)
{
	struct sigaction	 sa;
	struct rootsync_stats	 st;
	struct timespec		 tick = { 0, SYNC_TICK_MS * 1000000L };
	char			 msg[MSGLEN];
	long long		 last = 0;
	long			 interval;
	unsigned		 code;
	int			 first = 1, warned = 0;

	(void)setsid();
	(void)prctl(PR_SET_NAME, "vmafdd", 0, 0, 0);
	child_stdio(lab, VMAFD_LOG);
	lab_close_fds_but(ready, -1);
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = proxy_onsignal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	fprintf(stderr, "vmafdd: pid %ld: root sync running\n", (long)getpid());
	if (write(ready, "1", 1) != 1)
		_exit(1);
	close(ready);
	while (!proxy_quit) {
		if ((interval = lab_rootsync_interval(lab->root)) == -1) {
			if (!warned)
				fprintf(stderr, "vmafdd: bad root_sync_interval "
				    "in lab.conf; using %d s\n",
				    ROOTSYNC_DEFAULT_INTERVAL);
			warned = 1;
			interval = ROOTSYNC_DEFAULT_INTERVAL;
		}
		if (interval > 0 &&
		    (first || now_ms() - last >= interval * 1000LL)) {
			first = 0;
			code = lab_rootsync(lab->root, &st, msg, sizeof(msg));
			last = now_ms();
			if (code != 0)
				fprintf(stderr, "vmafdd: Failed to update "
				    "trusted roots. Error [%u]: %s\n", code, msg);
			else if (st.certs_added + st.certs_removed +
			    st.crls_added + st.crls_removed > 0)
				fprintf(stderr, "vmafdd: root sync: TRUSTED_ROOTS "
				    "+%u -%u, TRUSTED_ROOT_CRLS +%u -%u\n",
				    st.certs_added, st.certs_removed,
				    st.crls_added, st.crls_removed);
		}
		nanosleep(&tick, NULL);
	}
	fprintf(stderr, "vmafdd: pid %ld stopped\n", (long)getpid());
	_exit(0);
}

static void
vmafd_run(void *arg, int ready)
{
	vmafd_daemon(arg, ready);
}

/* Forks the daemon and records its pid once it has its name. */
static int
start_vmafd_daemon(const struct lab *lab, char *msg, size_t len)
{
	return spawn_daemon(lab, VMAFD_PID, "the root sync", VMAFD_LOG,
	    vmafd_run, (void *)lab, msg, len);
}

/* ------------------------------------------------------------------ */
/* Extensions: services that log in to vCenter with a certificate. */

/*
 * A service that logs in to vpxd as a vCenter extension
 * (LoginExtensionByCertificate), with the vpxd-extension certificate; vpxd
 * lets it in when VCDB's vpx_ext row for the extension holds that
 * certificate's SHA-1 thumbprint (docs/lab.md, "VCDB"). eam does not stop
 * when it cannot: vmon keeps it running and eam.log shows the failed logins
 * (KB 434349), so the lab's eam starts either way and writes the log lines.
 */
struct ext_login {
	const char	*svc;
	const char	*ext;		/* vpx_ext.ext_id */
	const char	*log;		/* the service's log */
	const char	*java;		/* the class that logs the login */
};

static const struct ext_login ext_logins[] = {
	{ "vmware-eam", "com.vmware.vim.eam", "var/log/vmware/eam/eam.log",
	  "com.vmware.eam.security.NotAuthenticated" },
};

/* Appends the service's log line(s), with an ISO time as eam.log has. */
static void
ext_log(const struct lab *lab, const struct ext_login *x, const char *level,
    const char *text)
{
	char		*path = NULL, ts[32];
	struct tm	 tm;
	time_t		 now = time(NULL);
	int		 fd;

	if ((path = lab_path(lab->root, x->log)) == NULL)
		return;
	*strrchr(path, '/') = '\0';
	(void)lab_mkdirs(path, 0755);
	path[strlen(path)] = '/';
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S.000Z", &tm);
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0644)) != -1) {
		dprintf(fd, "%s | %5s | vim-async-1 | ExtensionSessionRenewer.java "
		    "| 227 | [Retry:Login:%s:lab] %s\n", ts, level, x->ext,
		    text);
		close(fd);
	}
	free(path);
}

/*
 * The login of the extension: 1 when vpxd lets it in, 0 when not (logged,
 * with why in msg), -1 when it cannot be tried at all (msg).
 */
static int
ext_login_try(const struct lab *lab, const struct ext_login *x, char *msg,
    size_t len)
{
	struct certkey	 ck = { NULL, NULL, NULL };
	char		*sql = NULL, *held = NULL, tp[60];
	int		 ret = -1;

	if (vecs_certkey(lab, "vpxd-extension", "vpxd-extension",
	    "Solution user vpxd-extension certificate", &ck, msg, len) == -1)
		goto out;
	if (lab_sha1_thumbprint(ck.leaf, tp) == -1 ||
	    asprintf(&sql, "SELECT thumbprint FROM vpx_ext WHERE ext_id = "
	    "'%s'", x->ext) == -1) {
		sql = NULL;
		snprintf(msg, len, "out of memory");
		goto out;
	}
	if (vcdb_query_one(lab->root, lab->conf, sql, &held, msg, len) == -1)
		goto out;
	ret = held != NULL && strcmp(held, tp) == 0;
	if (ret == 0)
		snprintf(msg, len, "extension %s: vpx_ext holds thumbprint %s, "
		    "the certificate it logs in with is %s", x->ext,
		    held != NULL ? held : "(no row)", tp);
out:
	certkey_free(&ck);
	free(sql);
	free(held);
	return ret;
}

/*
 * Logs the extension logins of svc. They never fail the start: the real
 * service keeps retrying (above).
 */
static void
ext_logins_log(const struct lab *lab, const struct service *svc)
{
	const struct ext_login	*x;
	char			 msg[MSGLEN], text[MSGLEN + 256];
	size_t			 i;
	int			 ok;

	if (!lab->vcdb)
		return;
	for (i = 0; i < sizeof(ext_logins) / sizeof(ext_logins[0]); i++) {
		x = &ext_logins[i];
		if (strcmp(x->svc, svc->name) != 0)
			continue;
		if ((ok = ext_login_try(lab, x, msg, sizeof(msg))) == 1) {
			ext_log(lab, x, "INFO", "Logged in to vCenter as "
			    "extension");
			lab_log(lab, "%s: extension %s logged in", svc->name,
			    x->ext);
			continue;
		}
		snprintf(text, sizeof(text), "Re-login failed, due to:\n%s: "
		    "Failed to authenticate extension %s to vCenter.\n"
		    "Caused by: (vim.fault.NotAuthenticated) {\n   lab = %s\n}",
		    x->java, x->ext, msg);
		ext_log(lab, x, "WARN", text);
		lab_log(lab, "%s: extension %s not authenticated: %s",
		    svc->name, x->ext, msg);
	}
}

/*
 * vsan-health's copy of the vpxd-extension certificate and key
 * (/storage/vsan-health/vpxd-extension.{cert,key}), which Broadcom's vCert
 * rewrites after a new vpxd-extension certificate (docs/lab.md,
 * "vsan-health"). What the real service does with a stale copy is not
 * documented anywhere public: the lab claims the least, that it starts and
 * runs, and notes in service-control.log (the lab's own log, not an
 * appliance's) whether the copy is VECS's vpxd-extension certificate and
 * whether the key is that certificate's.
 */
static void
vsan_health_note(const struct lab *lab, const struct service *svc)
{
	struct certkey	 ck = { NULL, NULL, NULL };
	STACK_OF(X509)	*sk = NULL;
	EVP_PKEY	*key = NULL;
	char		*cpath = NULL, *kpath = NULL, *cert = NULL, *kpem = NULL;
	char		 msg[MSGLEN], held[60], want[60];
	size_t		 clen = 0, klen = 0;

	if (svc->kind != KIND_VSAN)
		return;
	if ((cpath = lab_path(lab->root, LAB_VSAN_CERT)) == NULL ||
	    (kpath = lab_path(lab->root, LAB_VSAN_KEY)) == NULL)
		goto out;
	if (lab_read_file(cpath, &cert, &clen) == -1 ||
	    lab_read_file(kpath, &kpem, &klen) == -1) {
		lab_log(lab, "%s: no copy of vpxd-extension: %s", svc->name,
		    strerror(errno));
		goto out;
	}
	if ((sk = pem_certs(cert, clen)) == NULL ||
	    (key = pem_key(kpem, klen)) == NULL) {
		lab_log(lab, "%s: %s or %s does not parse", svc->name,
		    LAB_VSAN_CERT, LAB_VSAN_KEY);
		goto out;
	}
	if (vecs_certkey(lab, "vpxd-extension", "vpxd-extension",
	    "Solution user vpxd-extension certificate", &ck, msg,
	    sizeof(msg)) == -1) {
		lab_log(lab, "%s: %s", svc->name, msg);
		goto out;
	}
	if (lab_sha1_thumbprint(sk_X509_value(sk, 0), held) == -1 ||
	    lab_sha1_thumbprint(ck.leaf, want) == -1)
		goto out;
	if (strcmp(held, want) != 0)
		lab_log(lab, "%s: copy of vpxd-extension is stale: %s holds "
		    "%s, VECS vpxd-extension is %s", svc->name, LAB_VSAN_CERT,
		    held, want);
	else if (EVP_PKEY_eq(X509_get0_pubkey(sk_X509_value(sk, 0)),
	    key) != 1)
		lab_log(lab, "%s: copy of vpxd-extension is stale: %s is not "
		    "the key of %s", svc->name, LAB_VSAN_KEY, LAB_VSAN_CERT);
	else
		lab_log(lab, "%s: copy of vpxd-extension is current (%s)",
		    svc->name, held);
out:
	certkey_free(&ck);
	sk_X509_pop_free(sk, X509_free);
	EVP_PKEY_free(key);
	if (kpem != NULL)
		OPENSSL_cleanse(kpem, klen);
	free(kpem);
	free(cert);
	free(cpath);
	free(kpath);
}

/* ------------------------------------------------------------------ */
/* Services. */

static int
marker_path(const struct lab *lab, const struct service *svc, char **out)
{
	char	*rel = NULL;

	*out = NULL;
	if (asprintf(&rel, "%s/%s", LAB_SERVICES_DIR, svc->name) == -1)
		return -1;
	*out = lab_path(lab->root, rel);
	free(rel);
	return *out == NULL ? -1 : 0;
}

static int
svc_running(const struct lab *lab, const struct service *svc)
{
	switch (svc->kind) {
	case KIND_VMDIR:
		return pidfile_alive(lab, SLAPD_PID, "slapd");
	case KIND_PROXY:
		return pidfile_alive(lab, PROXY_PID, "rhttpproxy");
	case KIND_VCDB:
		return pidfile_alive(lab, VCDB_PID, "postgres");
	case KIND_MARKER:
	case KIND_VMAFD:
	case KIND_VSAN:
		break;
	}
	return lab_service_running(lab->root, svc->name) == 1;
}

static int
running_by_name(const struct lab *lab, const char *name)
{
	const struct service *svc = service_find(lab, name);

	return svc != NULL && svc_running(lab, svc);
}

/* Starts one service unless it runs already; 0 or -1 and msg. */
static int
svc_start(const struct lab *lab, const struct service *svc, char *msg,
    size_t len)
{
	char		*path = NULL, stamp[32];
	time_t		 now;
	size_t		 i;
	int		 ret = -1;

	if (svc_running(lab, svc))
		return 0;
	if (lab_flag(lab, LAB_FAULTS_DIR, "service.", svc->name)) {
		snprintf(msg, len, "injected fault");
		goto out;
	}
	for (i = 0; i < 2 && svc->needs[i] != NULL; i++)
		if (service_find(lab, svc->needs[i]) != NULL &&
		    !running_by_name(lab, svc->needs[i])) {
			snprintf(msg, len, "%s is not running", svc->needs[i]);
			goto out;
		}
	switch (svc->kind) {
	case KIND_VMDIR:
		ret = start_vmdir(lab, msg, len);
		goto out;
	case KIND_PROXY:
		ret = start_proxy(lab, msg, len);
		goto out;
	case KIND_VCDB:
		ret = vcdb_ctl(lab->root, lab->conf, "start", msg, len);
		goto out;
	case KIND_MARKER:
	case KIND_VMAFD:
	case KIND_VSAN:
		break;
	}
	if (svc->check != NULL && svc->check(lab, msg, len) == -1)
		goto out;
	for (i = 0; i < 2 && svc->users[i] != NULL; i++)
		if (check_solution_user(lab, svc->users[i], msg, len) == -1)
			goto out;
	ext_logins_log(lab, svc);
	vsan_health_note(lab, svc);
	now = time(NULL);
	snprintf(stamp, sizeof(stamp), "%lld\n", (long long)now);
	if (marker_path(lab, svc, &path) == -1 ||
	    lab_write_file_atomic(path, stamp, strlen(stamp), 0644) == -1) {
		snprintf(msg, len, "cannot record the service as running: %s",
		    strerror(errno));
		goto out;
	}
	/* A daemon left over from a vmafdd that died is replaced. */
	if (svc->kind == KIND_VMAFD &&
	    (pidfile_stop(lab, VMAFD_PID, "vmafdd", msg, len) == -1 ||
	    start_vmafd_daemon(lab, msg, len) == -1)) {
		(void)unlink(path);
		goto out;
	}
	ret = 0;
out:
	free(path);
	lab_log(lab, "start %s: %s", svc->name, ret == 0 ? "ok" : msg);
	return ret;
}

static int
svc_stop(const struct lab *lab, const struct service *svc, char *msg,
    size_t len)
{
	char	*path = NULL;
	int	 ret = -1;

	switch (svc->kind) {
	case KIND_VMDIR:
		ret = pidfile_stop(lab, SLAPD_PID, "slapd", msg, len);
		goto out;
	case KIND_PROXY:
		ret = pidfile_stop(lab, PROXY_PID, "rhttpproxy", msg, len);
		goto out;
	case KIND_VCDB:
		ret = svc_running(lab, svc) ? vcdb_ctl(lab->root, lab->conf,
		    "stop", msg, len) : 0;
		goto out;
	case KIND_VMAFD:
		if (pidfile_stop(lab, VMAFD_PID, "vmafdd", msg, len) == -1)
			goto out;
		break;
	case KIND_MARKER:
	case KIND_VSAN:
		break;
	}
	if (marker_path(lab, svc, &path) == -1) {
		snprintf(msg, len, "out of memory");
		goto out;
	}
	ret = state_unlink(path, msg, len);
out:
	free(path);
	lab_log(lab, "stop %s: %s", svc->name, ret == 0 ? "ok" : msg);
	return ret;
}

static int
report_failure(const struct lab *lab, const char *op,
    const struct service *svc, const char *msg)
{
	const char	*short_ = svc->vmon != NULL ? svc->vmon : svc->name;
	const char	*profile = svc->vmon != NULL ? "ALL" : "CORE";

	fflush(stdout);
	fprintf(stderr, "Error executing %s on service %s. Details: %s\n",
	    op, svc->name, msg);
	fprintf(stderr, "Service-control failed. Error: Failed to %s services "
	    "in profile %s. RC=4, stderr=Failed to %s %s services.\n", op,
	    profile, op, short_);
	lab_log(lab, "%s failed: service %s (profile %s): %s", op, svc->name,
	    profile, msg);
	return 1;
}

/* ------------------------------------------------------------------ */
/* Commands. */

/* Adds one to a counter of ROOT/var/lib/vmware-lab/counters. */
static void
counter_bump(const struct lab *lab, const char *path, const char *key)
{
	char	*v = NULL, buf[32];

	v = lab_conf_get(path, key);
	snprintf(buf, sizeof(buf), "%lld", (v != NULL ? atoll(v) : 0) + 1);
	if (lab_conf_set(path, key, buf) == -1)
		lab_log(lab, "%s: cannot set %s: %s", path, key,
		    strerror(errno));
	free(v);
}

/*
 * stop_all and start_all count the commands; cycles counts the starts that
 * follow a stop of everything, i.e. the outages (a later feature measures
 * vcrotate's downtime by them). last_all remembers which came last.
 */
static void
counters_all(const struct lab *lab, const char *op)
{
	char	*path = NULL, *last = NULL;

	if ((path = lab_path(lab->root, LAB_COUNTERS)) == NULL)
		return;
	if (strcmp(op, "start") == 0) {
		counter_bump(lab, path, "start_all");
		last = lab_conf_get(path, "last_all");
		if (last != NULL && strcmp(last, "stop") == 0)
			counter_bump(lab, path, "cycles");
	} else
		counter_bump(lab, path, "stop_all");
	if (lab_conf_set(path, "last_all", op) == -1)
		lab_log(lab, "%s: cannot set last_all: %s", path,
		    strerror(errno));
	free(last);
	free(path);
}

/*
 * Starts or stops one service. Alone or as a core service it gets its own
 * "Performing" line; within vmon's profile only its start is reported, as
 * the real tool does. 0, or 1 once its failure is reported.
 */
static int
svc_run(const struct lab *lab, const char *op, const struct service *svc,
    int alone)
{
	char	 msg[MSGLEN];
	int	 start = strcmp(op, "start") == 0;

	if (alone)
		printf("Performing %s operation on service %s...\n", op,
		    svc->name);
	if ((start ? svc_start(lab, svc, msg, sizeof(msg)) :
	    svc_stop(lab, svc, msg, sizeof(msg))) == -1)
		return report_failure(lab, op, svc, msg);
	if (alone || start)
		printf("Successfully %s service %s\n",
		    start ? "started" : "stopped", svc->name);
	return 0;
}

/*
 * Starts (in start order) or stops (reversed) the core services, one by one
 * with their own lines: 0, or 1 at the first failure.
 */
static int
svc_core(const struct lab *lab, const char *op)
{
	const struct service	*svc;
	size_t			 k;
	int			 start = strcmp(op, "start") == 0, ret;

	for (k = 0; k < NSERVICES; k++) {
		svc = &services[start ? k : NSERVICES - 1 - k];
		if (svc->vmon != NULL || !svc_here(lab, svc))
			continue;
		if ((ret = svc_run(lab, op, svc, 1)) != 0)
			return ret;
	}
	return 0;
}

/*
 * vmon's profile ALL: every automatic service is started (a manual one is
 * left alone; stop takes every service), and a failure does not stop the
 * others, as vmon starts them in parallel. vmon prints no line per service
 * and reports all failures in one line, by short name (a 6.7 listing:
 * "RC=5, stderr=Failed to start eam, vsphere-client, vsphere-ui, vpxd-svcs
 * services."); why each failed goes to the log only. 0, or 1.
 */
static int
svc_profile(const struct lab *lab, const char *op)
{
	const struct service	*svc;
	char			 msg[MSGLEN], failed[MSGLEN] = "";
	size_t			 k, off = 0;
	int			 start = strcmp(op, "start") == 0, rc;

	for (k = 0; k < NSERVICES; k++) {
		svc = &services[start ? k : NSERVICES - 1 - k];
		if (svc->vmon == NULL || !svc_here(lab, svc) ||
		    (start && svc->startup != AUTOMATIC))
			continue;
		rc = start ? svc_start(lab, svc, msg, sizeof(msg)) :
		    svc_stop(lab, svc, msg, sizeof(msg));
		if (rc == 0)
			continue;
		lab_log(lab, "%s failed: service %s (profile ALL): %s", op,
		    svc->name, msg);
		if (off < sizeof(failed))
			off += (size_t)snprintf(failed + off,
			    sizeof(failed) - off, "%s%s", off > 0 ? ", " : "",
			    svc->vmon);
	}
	if (off == 0)
		return 0;
	fflush(stdout);
	fprintf(stderr, "Service-control failed. Error: Failed to %s services "
	    "in profile ALL. RC=4, stderr=Failed to %s %s services.\n", op,
	    op, failed);
	return 1;
}

/* --all: the core services come up before vmon's profile and go after it. */
static int
cmd_all(const struct lab *lab, const char *op)
{
	int	start = strcmp(op, "start") == 0, ret;

	counters_all(lab, op);
	lab_log(lab, "%s --all", op);
	printf("Operation not cancellable. Please wait for it to finish...\n");
	if (start && (ret = svc_core(lab, op)) != 0)
		return ret;
	printf("Performing %s operation on profile: ALL...\n", op);
	if ((ret = svc_profile(lab, op)) != 0)
		return ret;
	printf("Successfully %s profile: ALL.\n",
	    start ? "started" : "stopped");
	return start ? 0 : svc_core(lab, op);
}

/* --list-services (--list, its old name): "name (Display Name)" a line. */
static int
cmd_list(const struct lab *lab)
{
	size_t	i;

	for (i = 0; i < NSERVICES; i++)
		if (svc_here(lab, &services[i]))
			printf("%s (%s)\n", services[i].name,
			    services[i].display);
	return 0;
}

static int
cmd_one(const struct lab *lab, const char *op, const struct service *svc)
{
	lab_log(lab, "%s %s", op, svc->name);
	printf("Operation not cancellable. Please wait for it to finish...\n");
	return svc_run(lab, op, svc, 1);
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
cmd_status(const struct lab *lab, const struct service *only)
{
	const char	*names[2][NSERVICES];
	const char	*title[2] = { "Stopped", "Running" };
	size_t		 n[2] = { 0, 0 }, i, j;
	int		 r;

	for (i = 0; i < NSERVICES; i++) {
		if (!svc_here(lab, &services[i]) ||
		    (only != NULL && only != &services[i]))
			continue;
		r = svc_running(lab, &services[i]);
		names[r][n[r]++] = services[i].name;
	}
	for (r = 0; r < 2; r++) {
		if (n[r] == 0)
			continue;
		qsort(names[r], n[r], sizeof(names[r][0]), name_cmp);
		printf("%s:\n", title[r]);
		for (j = 0; j < n[r]; j++)
			printf(" %s", names[r][j]);
		printf("\n");
	}
	return 0;
}

/* One service-control at a time, as vmon serialises operations. */
static int
lab_lock(const struct lab *lab)
{
	char	*path = NULL;
	int	 fd = -1;

	if ((path = lab_path(lab->root, SC_LOCK)) == NULL)
		return -1;
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1 ||
	    flock(fd, LOCK_EX) == -1) {
		fprintf(stderr, "service-control: %s: %s\n", path,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		fd = -1;
	}
	free(path);
	return fd;
}

int
main(int argc, char *argv[])
{
	struct lab		 lab;
	const struct service	*svc = NULL;
	const char		*op = NULL, *target = NULL;
	int			 all = 0, i, lockfd = -1, ret = 2;

	memset(&lab, 0, sizeof(lab));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--start") == 0 ||
		    strcmp(argv[i], "--stop") == 0 ||
		    strcmp(argv[i], "--status") == 0 ||
		    strcmp(argv[i], "--list") == 0 ||
		    strcmp(argv[i], "--list-services") == 0) {
			if (op != NULL)
				goto usage;
			op = strcmp(argv[i], "--list-services") == 0 ? "list" :
			    argv[i] + 2;
		} else if (strcmp(argv[i], "--all") == 0)
			all = 1;
		else if (argv[i][0] == '-' || target != NULL)
			goto usage;
		else
			target = argv[i];
	}
	if (op == NULL || (all && target != NULL) ||
	    (strcmp(op, "list") == 0 && (all || target != NULL)) ||
	    (strcmp(op, "status") != 0 && strcmp(op, "list") != 0 && !all &&
	    target == NULL))
		goto usage;

	/* Only the lab's files configure the LDAP client. */
	setenv("LDAPNOINIT", "1", 1);
	/* Lines in order when stdout and stderr share a pipe. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	ret = 1;
	if (lab_open(&lab) == -1)
		goto out;
	if (target != NULL && (svc = service_find(&lab, target)) == NULL) {
		fprintf(stderr, "service-control: unknown service %s\n",
		    target);
		ret = 2;
		goto out;
	}
	if (strcmp(op, "status") == 0) {
		ret = cmd_status(&lab, svc);
		goto out;
	}
	if (strcmp(op, "list") == 0) {
		ret = cmd_list(&lab);
		goto out;
	}
	if ((lockfd = lab_lock(&lab)) == -1)
		goto out;
	if (svc != NULL)
		ret = cmd_one(&lab, op, svc);
	else
		ret = cmd_all(&lab, op);
	goto out;
usage:
	usage();
out:
	if (lockfd != -1)
		close(lockfd);
	lab_close(&lab);
	return ret;
}
