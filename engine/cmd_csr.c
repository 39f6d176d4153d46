/*
 * cmd_csr.c - vcrotate csr: a new RSA key and a PKCS#10 request for a
 * company CA to sign, for the Machine SSL certificate or a solution user's
 * (certificate-manager's option 1 and 5, first half). The key is sealed
 * into the backup repository at once (backup/repo.h, BK_CSR_REF), under
 * the SHA-256 of its public half, and is never written in clear; the
 * request goes to DIR/NAME.csr. See docs/company-ca.md.
 *
 * Exit: 0 every request written, 1 failed (what was sealed stays sealed:
 * an unused key harms nothing), 5 and 6 as for every writer (lock.h), 64
 * bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "session.h"
#include "cert.h"
#include "commands.h"
#include "fileio.h"
#include "issue.h"
#include "lock.h"
#include "plan.h"
#include "safetext.h"

struct csr_ctx {
	struct bk_session s;
	struct inventory inv;
	const char	*dir;
	const char	*subject;	/* --subject, or NULL */
	char		**san;		/* --san entries, NULL-ended */
	int		 bits;
	struct buf	 err;
};

/* Whether entry is in the profile's SANs already (any case). */
static int
has_san(const struct cert_profile *p, const char *entry)
{
	size_t	 i;

	for (i = 0; i < p->nsan; i++)
		if (strcasecmp(p->san[i].entry, entry) == 0)
			return 1;
	return 0;
}

static int
add_san(struct cert_profile *p, const char *entry)
{
	if (has_san(p, entry))
		return 0;
	if ((p->san[p->nsan].entry = strdup(entry)) == NULL)
		return -1;
	p->san[p->nsan].type = strncmp(entry, "IP:", 3) == 0 ? SAN_IP :
	    strncmp(entry, "email:", 6) == 0 ? SAN_EMAIL : SAN_DNS;
	p->nsan++;
	return 0;
}

/*
 * The request's profile: the subject plan gives (or --subject), the PNID
 * as SAN (none for wcp), and for Machine SSL the names of the certificate
 * now and each --san; the usages vCenter needs of it.
 */
static int
csr_profile(struct csr_ctx *c, const char *sol, struct cert_profile *p)
{
	const struct inv_vecs_entry *e = sol == NULL ? inventory_vecs(&c->inv,
	    "MACHINE_SSL_CERT", "__MACHINE_CERT") : NULL;
	char	**now = NULL, *pnid = app_san_entry(c->inv.app.pnid, 0);
	size_t	 n = 0, i, nsan = 0;
	int	 ret = -1;

	memset(p, 0, sizeof(*p));
	while (c->san[nsan] != NULL)
		nsan++;
	if (e != NULL && e->chain != NULL &&
	    cert_san_entries(sk_X509_value(e->chain, 0), &now, &n) == -1)
		goto out;
	p->subject = c->subject != NULL ? strdup(c->subject) :
	    plan_leaf_subject(&c->inv.app, sol);
	if (pnid == NULL || p->subject == NULL ||
	    (p->san = calloc(n + nsan + 2, sizeof(*p->san))) == NULL)
		goto out;
	if ((sol == NULL || strcmp(sol, "wcp") != 0) && add_san(p, pnid) == -1)
		goto out;
	for (i = 0; sol == NULL && i < n; i++)
		if (app_san_entry_ok(now[i]) && add_san(p, now[i]) == -1)
			goto out;
	for (i = 0; sol == NULL && i < nsan; i++)
		if (add_san(p, c->san[i]) == -1)
			goto out;
	p->key_usage = PLAN_KU_DIGITAL_SIGNATURE | PLAN_KU_KEY_ENCIPHERMENT |
	    (sol != NULL && strcmp(sol, "wcp") == 0 ?
	    PLAN_KU_DATA_ENCIPHERMENT : 0);
	p->ext_key_usage = sol == NULL ? PLAN_EKU_SERVER_AUTH |
	    PLAN_EKU_CLIENT_AUTH : 0;
	p->key_bits = c->bits;
	ret = 0;
out:
	cert_san_entries_free(now);
	free(pnid);
	return ret;
}

static void
csr_profile_free(struct cert_profile *p)
{
	size_t	 i;

	for (i = 0; i < p->nsan; i++)
		free(p->san[i].entry);
	free(p->san);
	free(p->subject);
}

/* One request: the key made and sealed, then the request written. */
static int
csr_one(struct csr_ctx *c, const char *name, const char *sol)
{
	struct cert_profile p;
	struct buf der = BUF_INIT, pem = BUF_INIT;
	EVP_PKEY *k = NULL;
	X509_REQ *req = NULL;
	BIO	*bio = NULL;
	char	 id[65], *path = NULL, *data;
	long	 len;
	int	 ret = -1;

	if (csr_profile(c, sol, &p) == -1) {
		buf_printf(&c->err, "out of memory");
		goto out;
	}
	if ((k = EVP_RSA_gen((unsigned int)c->bits)) == NULL ||
	    plan_pubkey_id(k, id) == -1 || der_of_key(k, &der) == -1) {
		buf_printf(&c->err, "cannot make an RSA %d key", c->bits);
		goto out;
	}
	if (issue_csr(&p, k, &req, &c->err) == -1)
		goto out;
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_X509_REQ(bio, req) ||
	    (len = BIO_get_mem_data(bio, &data)) <= 0 ||
	    buf_add(&pem, data, (size_t)len) == -1 ||
	    asprintf(&path, "%s/%s.csr", c->dir, name) == -1) {
		path = NULL;
		buf_printf(&c->err, "out of memory");
		goto out;
	}
	/* Sealed before the request exists: a CSR whose key is lost would
	 * come back signed and be of no use. */
	if (bk_repo_put_csr(c->s.repo, c->s.key, id, buf_str(&pem),
	    (const unsigned char *)der.data, der.len, &c->err) == -1 ||
	    file_write_atomic(path, pem.data, pem.len, 0644, &c->err) == -1)
		goto out;
	text_printf_safe(stdout, "%s: %s (%s, RSA %d; key %.16s... sealed "
	    "in %s)\n", name, path, p.subject, c->bits, id,
	    c->s.cfg->backup_repo);
	ret = 0;
out:
	csr_profile_free(&p);
	buf_free_secret(&der);
	buf_free(&pem);
	EVP_PKEY_free(k);
	X509_REQ_free(req);
	BIO_free(bio);
	free(path);
	return ret;
}

/* --for WHAT: machine-ssl, a solution user of this appliance, or all. */
static int
csr_all(struct csr_ctx *c, const char *what)
{
	size_t	 i;
	int	 all = strcmp(what, "all") == 0, done = 0;

	if (all || strcmp(what, "machine-ssl") == 0) {
		if (csr_one(c, "machine-ssl", NULL) == -1)
			return -1;
		done = 1;
	}
	for (i = 0; solution_users[i] != NULL; i++) {
		if (!all && strcmp(what, solution_users[i]) != 0)
			continue;
		if (inventory_vecs(&c->inv, solution_users[i],
		    solution_users[i]) == NULL) {
			if (all)
				continue;
			buf_printf(&c->err, "no solution user %s on this "
			    "appliance", what);
			return -1;
		}
		if (csr_one(c, solution_users[i], solution_users[i]) == -1)
			return -1;
		done = 1;
	}
	return done ? 0 : 1;
}

/* The options: -1 bad usage (said on stderr). */
static int
csr_options(const struct cmdline *cl, struct csr_ctx *c)
{
	const char *v;
	size_t	 k, n = 0;

	c->dir = cmdline_get(cl, "-o") != NULL ? cmdline_get(cl, "-o") : ".";
	c->subject = cmdline_get(cl, "--subject");
	c->bits = 2048;
	if ((v = cmdline_get(cl, "--key-bits")) != NULL &&
	    (c->bits = parse_days(v)) != 2048 && c->bits != 3072 &&
	    c->bits != 4096) {
		fprintf(stderr, "vcrotate csr: --key-bits %s: 2048, 3072 or "
		    "4096\n", v);
		return -1;
	}
	if ((c->san = calloc(cl->ngiven + 1, sizeof(*c->san))) == NULL)
		return -1;
	for (k = 0; k < cl->ngiven; k++) {
		if (strcmp(cl->given[k].opt->name, "--san") != 0)
			continue;
		if ((c->san[n++] = app_san_parse(cl->given[k].val)) == NULL) {
			text_printf_safe(stderr, "vcrotate csr: --san %s: not a "
			    "DNS name, an IP address or an email address\n",
			    cl->given[k].val);
			return -1;
		}
	}
	if (c->subject != NULL && strchr(c->subject, '=') == NULL) {
		text_printf_safe(stderr, "vcrotate csr: --subject %s: not "
		    "\"CN=name, O=org, ...\"\n", c->subject);
		return -1;
	}
	return 0;
}

int
cmd_csr(const struct cmdline *cl, struct config *cfg)
{
	struct csr_ctx c;
	struct stat st;
	const char *what = cmdline_get(cl, "--for");
	int	 ret = 1, k, lockfd = -1, have_inv = 0;
	size_t	 i;

	memset(&c, 0, sizeof(c));
	c.s.cfg = cfg;
	if (what == NULL) {
		fprintf(stderr, "vcrotate csr: --for machine-ssl, a solution "
		    "user or all is needed\n");
		return EXIT_USAGE;
	}
	if (csr_options(cl, &c) == -1) {
		ret = EXIT_USAGE;
		goto out;
	}
	if (stat(c.dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		text_printf_safe(stderr, "vcrotate csr: -o %s: not a directory\n",
		    c.dir);
		ret = EXIT_USAGE;
		goto out;
	}
	cfg->warn_days = cfg->crit_days = -1;
	if (config_load(cfg, &c.err) == -1)
		goto fail;
	bk_init();
	if ((k = writer_begin(cfg, "csr", 0, &lockfd, &c.err)) != 0) {
		ret = k;
		goto fail;
	}
	if (inventory_read(&c.inv, cfg->root, NULL, "not read", 0) == -1) {
		buf_printf(&c.err, "out of memory");
		goto fail;
	}
	have_inv = 1;
	if (c.inv.identity_error.len > 0 || c.inv.vecs_error.len > 0) {
		buf_printf(&c.err, "cannot read the appliance: %s%s",
		    buf_str(&c.inv.identity_error), buf_str(&c.inv.vecs_error));
		goto fail;
	}
	if (backup_session_repo(&c.s, 1, &c.err) == -1)
		goto fail;
	if ((k = csr_all(&c, what)) == 1) {
		text_printf_safe(stderr, "vcrotate csr: --for %s: machine-ssl, "
		    "a solution user (machine, vpxd, ...) or all\n", what);
		ret = EXIT_USAGE;
		goto out;
	}
	if (k == 0) {
		ret = 0;
		goto out;
	}
fail:
	text_printf_safe(stderr, "vcrotate csr: %s\n", buf_str(&c.err));
out:
	if (lockfd != -1)
		close(lockfd);
	if (have_inv)
		inventory_free(&c.inv);
	backup_session_clear(&c.s);
	bk_shutdown();
	for (i = 0; c.san != NULL && c.san[i] != NULL; i++)
		free(c.san[i]);
	free(c.san);
	buf_free(&c.err);
	return ret;
}
