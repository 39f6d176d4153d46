/*
 * services.c - service-control and the TLS endpoint. See services.h.
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/time.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "appliance.h"
#include "fault.h"
#include "proc.h"
#include "services.h"

int
services_check(const char *root, struct buf *err)
{
	char	*sc = app_path(root, APP_SERVICE_CONTROL);
	int	 ok = sc != NULL && access(sc, X_OK) == 0;

	if (!ok)
		buf_printf(err, "%s: not found", sc);
	free(sc);
	return ok ? 0 : -1;
}

/* Runs service-control with args; its stderr's last lines go to err. */
static int
control(const char *root, const char *a1, const char *a2, struct buf *err)
{
	struct proc_result res;
	const char *argv[4];
	char	*tool = app_path(root, APP_SERVICE_CONTROL);
	int	 ret = -1;

	if (tool == NULL)
		return -1;
	argv[0] = tool;
	argv[1] = a1;
	argv[2] = a2;
	argv[3] = NULL;
	if (fault_point(strcmp(a1, "--stop") == 0 ? "service-control --stop" :
	    "service-control --start", err) == -1) {
		free(tool);
		return -1;
	}
	if (proc_run(argv, NULL, 30 * 60 * 1000, &res) == -1) {
		buf_printf(err, "cannot run %s: %s", tool, strerror(errno));
		free(tool);
		return -1;
	}
	if (res.status != 0)
		/* The appliance's own words: which service, its message. */
		buf_printf(err, "service-control %s %s failed: %s", a1,
		    a2 != NULL ? a2 : "", buf_str(&res.err));
	else {
		fault_done();
		ret = 0;
	}
	proc_result_free(&res);
	free(tool);
	return ret;
}

int
services_stop(const char *root, const char *what, struct buf *err)
{
	return control(root, "--stop", what, err);
}

int
services_start(const char *root, const char *what, struct buf *err)
{
	return control(root, "--start", what, err);
}

int
services_start_vmafd_vmdir(const char *root, struct buf *err)
{
	int	 a = services_start(root, "vmafdd", err);
	int	 d = services_start(root, "vmdird", err);

	return a == -1 || d == -1 ? -1 : 0;
}

int
services_parse_stopped(const char *text, size_t len, struct buf *names)
{
	const char *p, *nl, *end;
	int	 in_stopped = 0;

	for (p = text, end = p + len; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (p < nl && nl[-1] == ':' && *p != ' ')
			in_stopped = (size_t)(nl - p) == 8 &&
			    strncmp(p, "Stopped:", 8) == 0;
		else if (in_stopped && buf_printf(names, "%s%.*s",
		    *p == ' ' ? "" : " ", (int)(nl - p), p) == -1)
			return -1;
	}
	return 0;
}

/* A read: no fault point. -1 when it cannot be run or fails. */
int
services_stopped(const char *root, struct buf *names, struct buf *err)
{
	struct proc_result res;
	const char *argv[4];
	char	*tool = app_path(root, APP_SERVICE_CONTROL);
	int	 ret = -1;

	buf_reset(names);
	if (tool == NULL) {
		buf_printf(err, "out of memory");
		return -1;
	}
	argv[0] = tool;
	argv[1] = "--status";
	argv[2] = "--all";
	argv[3] = NULL;
	if (proc_run(argv, NULL, 5 * 60 * 1000, &res) == -1) {
		buf_printf(err, "cannot run %s: %s", tool, strerror(errno));
		free(tool);
		return -1;
	}
	if (res.status != 0) {
		buf_printf(err, "service-control --status --all failed: %s",
		    buf_str(&res.err));
		goto out;
	}
	if (services_parse_stopped(buf_str(&res.out), res.out.len, names) ==
	    -1)
		goto out;
	ret = 0;
out:
	proc_result_free(&res);
	free(tool);
	return ret;
}

/* The names of now that are in before (in), or not (!in), appended. */
static int
names_of(const char *now, const char *before, int in, struct buf *out)
{
	char	*copy = NULL, *w, *save = NULL, *pad = NULL, *key;
	int	 ret = -1;

	if ((copy = strdup(now)) == NULL ||
	    asprintf(&pad, " %s ", before) == -1) {
		pad = NULL;
		goto out;
	}
	for (w = strtok_r(copy, " ", &save); w != NULL;
	    w = strtok_r(NULL, " ", &save)) {
		if (asprintf(&key, " %s ", w) == -1)
			goto out;
		if ((strstr(pad, key) != NULL) == in)
			buf_printf(out, " %s", w);
		free(key);
	}
	ret = 0;
out:
	free(copy);
	free(pad);
	return ret;
}

int
services_missing(const char *now, const char *before, struct buf *out)
{
	return names_of(now, before, 0, out);
}

int
services_also(const char *now, const char *before, struct buf *out)
{
	return names_of(now, before, 1, out);
}

/*
 * Whether the status name svc is the vmon short name short: the same, or
 * "vmware-" and it (vpxd is vmware-vpxd, vsphere-ui is vsphere-ui: the 6.7
 * listing's failure line and --status, appliance.md 6).
 */
static int
same_service(const char *svc, size_t len, const char *shortname, size_t n)
{
	if (len == n && memcmp(svc, shortname, n) == 0)
		return 1;
	return len == n + 7 && memcmp(svc, "vmware-", 7) == 0 &&
	    memcmp(svc + 7, shortname, n) == 0;
}

/* Whether svc is one of the failure line's "a, b, c" list. */
static int
in_failed_list(const char *svc, const char *list, size_t listlen)
{
	const char	*p = list, *end = list + listlen, *comma;
	size_t		 len = strlen(svc);

	while (p < end) {
		if ((comma = memchr(p, ',', (size_t)(end - p))) == NULL)
			comma = end;
		if (same_service(svc, len, p, (size_t)(comma - p)))
			return 1;
		p = comma < end ? comma + 2 : end;
	}
	return 0;
}

int
services_failed_to_start(const char *names, const char *failure,
    struct buf *out)
{
	static const char	 head[] = "stderr=Failed to start ";
	const char		*list, *end;
	char			*copy, *w, *save = NULL;
	size_t			 was = out->len;

	if ((list = strstr(failure, head)) == NULL ||
	    (end = strstr(list += sizeof(head) - 1, " services.")) == NULL) {
		buf_puts(out, names);
		return 0;
	}
	if ((copy = strdup(names)) == NULL)
		return -1;
	for (w = strtok_r(copy, " ", &save); w != NULL;
	    w = strtok_r(NULL, " ", &save))
		if (in_failed_list(w, list, (size_t)(end - list)))
			buf_printf(out, " %s", w);
	free(copy);
	if (out->len == was)	/* named in another way: say them all */
		buf_puts(out, names);
	return 0;
}

/*
 * The services of now stopped that ran when before was read (in lost, as
 * " name name ..."). -1 when service-control cannot say.
 */
static int
services_lost(const char *root, const char *before, struct buf *lost,
    struct buf *err)
{
	struct buf now = BUF_INIT;
	int	 ret = -1;

	buf_reset(lost);
	if (services_stopped(root, &now, err) == -1)
		goto out;
	if (services_missing(buf_str(&now), before, lost) == -1) {
		buf_printf(err, "out of memory");
		goto out;
	}
	ret = 0;
out:
	buf_free(&now);
	return ret;
}

int
services_as_before(const char *root, const char *before, struct buf *err)
{
	struct buf lost = BUF_INIT;
	char	*copy = NULL, *w, *save = NULL;
	int	 ret = -1;

	if (services_lost(root, before, &lost, err) == -1)
		goto out;
	if (lost.len > 0) {
		if ((copy = strdup(buf_str(&lost))) == NULL) {
			buf_printf(err, "out of memory");
			goto out;
		}
		for (w = strtok_r(copy, " ", &save); w != NULL;
		    w = strtok_r(NULL, " ", &save))
			if (services_start(root, w, err) == -1)
				goto out;
		if (services_lost(root, before, &lost, err) == -1)
			goto out;
	}
	if (lost.len > 0) {
		buf_printf(err, "service-control --status: not running "
		    "after the restart, though they ran before:%s",
		    buf_str(&lost));
		goto out;
	}
	ret = 0;
out:
	free(copy);
	buf_free(&lost);
	return ret;
}

/*
 * A TCP connection to host:port (any of its addresses, in getaddrinfo's
 * order), within 5 seconds each, with 10-second reads and writes; -1 with
 * err saying why.
 */
static int
tcp_connect(const char *host, int port, struct buf *err)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct timeval tv = { 10, 0 };
	struct pollfd pfd;
	char	 serv[16];
	int	 fd = -1, gai, soerr = 0, saved = 0;
	socklen_t len = sizeof(soerr);

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	(void)snprintf(serv, sizeof(serv), "%d", port);
	if ((gai = getaddrinfo(host, serv, &hints, &res)) != 0) {
		buf_printf(err, "cannot resolve %s: %s", host,
		    gai_strerror(gai));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, ai->ai_protocol)) == -1) {
			saved = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			if (poll(&pfd, 1, 5000) == 1 && getsockopt(fd,
			    SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 &&
			    soerr == 0)
				break;
			saved = soerr != 0 ? soerr : ETIMEDOUT;
		} else
			saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1) {
		buf_printf(err, "cannot connect to %s port %d: %s", host, port,
		    strerror(saved));
		return -1;
	}
	/* Blocking again, with time limits, for OpenSSL. */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1) {
		buf_printf(err, "%s port %d: %s", host, port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

X509 *
services_served_cert_at(const char *host, int port, const char *sni,
    struct buf *err)
{
	struct buf dummy = BUF_INIT;
	SSL_CTX	*ctx = NULL;
	SSL	*ssl = NULL;
	X509	*x = NULL;
	int	 fd = -1;

	if (err == NULL)
		err = &dummy;
	if ((fd = tcp_connect(host, port, err)) == -1)
		goto out;
	/* Which certificate is live is the question, not whether it is
	 * trusted: no verification here. */
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    (ssl = SSL_new(ctx)) == NULL || !SSL_set_fd(ssl, fd) ||
	    !SSL_set_tlsext_host_name(ssl, sni) || SSL_connect(ssl) != 1 ||
	    (x = SSL_get1_peer_certificate(ssl)) == NULL)
		buf_printf(err, "no TLS certificate from %s port %d", host,
		    port);
out:
	if (ssl != NULL)
		SSL_free(ssl);
	if (fd != -1)
		close(fd);
	SSL_CTX_free(ctx);
	buf_free(&dummy);
	return x;
}

X509 *
services_served_cert(int port, const char *host)
{
	return services_served_cert_at("127.0.0.1", port, host, NULL);
}
