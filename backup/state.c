/*
 * state.c - reads the live certificate state into items. See state.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "appliance.h"
#include "cert.h"
#include "fileio.h"
#include "names.h"
#include "pool.h"
#include "state.h"
#include "vcdb.h"
#include "vsan.h"
#include "rbd.h"
#include "vecs.h"
#include "vmdir.h"

int
bk_state_add(struct bk_state *st, const char *path, const void *data,
    size_t len, int secret)
{
	struct bk_item *it, *n;

	if (st->n == st->cap) {
		size_t	 ncap = st->cap ? st->cap * 2 : 64;

		if ((n = reallocarray(st->items, ncap, sizeof(*n))) == NULL)
			return -1;
		st->items = n;
		st->cap = ncap;
	}
	it = &st->items[st->n];
	memset(it, 0, sizeof(*it));
	if ((it->path = strdup(path)) == NULL ||
	    (it->data = malloc(len > 0 ? len : 1)) == NULL) {
		free(it->path);
		return -1;
	}
	if (len > 0)
		memcpy(it->data, data, len);
	it->len = len;
	it->secret = secret;
	st->n++;
	return 0;
}

static int
item_cmp(const void *a, const void *b)
{
	return strcmp(((const struct bk_item *)a)->path,
	    ((const struct bk_item *)b)->path);
}

int
bk_state_sort(struct bk_state *st)
{
	size_t	 i;

	/* qsort and bsearch take no NULL array, even an empty one. */
	if (st->n == 0)
		return 0;
	qsort(st->items, st->n, sizeof(*st->items), item_cmp);
	for (i = 1; i < st->n; i++)
		if (strcmp(st->items[i - 1].path, st->items[i].path) == 0) {
			errno = EEXIST;
			return -1;
		}
	return 0;
}

int
bk_path_secret(const char *path)
{
	const char *base = strrchr(path, '/'), *p;
	size_t	 depth = 0, len = strlen(path);

	for (p = path; *p != '\0'; p++)
		depth += *p == '/';
	if (strcmp(path, "vmca/privatekey.pem") == 0 ||
	    strcmp(path, BK_VSAN_KEY) == 0)
		return 1;
	if (strncmp(path, "vecs/", 5) == 0)
		return depth == 3 && strcmp(base, "/key") == 0;
	if (strncmp(path, "vmdir/", 6) == 0)
		return len > 4 && strcmp(path + len - 4, ".key") == 0;
	return 0;
}

const struct bk_item *
bk_state_get(const struct bk_state *st, const char *path)
{
	struct bk_item key;

	if (st->n == 0)
		return NULL;
	key.path = (char *)path;
	return bsearch(&key, st->items, st->n, sizeof(*st->items), item_cmp);
}

void
bk_state_free(struct bk_state *st)
{
	size_t	 i;

	for (i = 0; i < st->n; i++) {
		if (st->items[i].secret)
			OPENSSL_cleanse(st->items[i].data, st->items[i].len);
		free(st->items[i].data);
		free(st->items[i].path);
	}
	free(st->items);
	memset(st, 0, sizeof(*st));
}

/* Adds "dir/name" (dir and name already escaped where needed). */
static int
add_at(struct bk_state *st, const char *dir, const char *name,
    const void *data, size_t len, int secret)
{
	char	*path = NULL;
	int	 rc;

	if (asprintf(&path, "%s/%s", dir, name) == -1)
		return -1;
	rc = bk_state_add(st, path, data, len, secret);
	free(path);
	return rc;
}

static int
add_str(struct bk_state *st, const char *dir, const char *name,
    const char *s)
{
	return add_at(st, dir, name, s, strlen(s), 0);
}

/* ---- VECS ---- */

static int
read_store(struct bk_state *st, const char *root, const char *store,
    struct buf *err)
{
	struct vecs_list l = { NULL, 0 };
	struct buf key = BUF_INIT, text = BUF_INIT;
	char	*sdir = NULL, *edir = NULL, *esc = NULL, *a = NULL;
	size_t	 i;
	int	 ret = -1;

	if ((esc = bk_name_escape(store, strlen(store))) == NULL ||
	    asprintf(&sdir, "vecs/%s", esc) == -1) {
		sdir = NULL;
		goto oom;
	}
	if (add_str(st, sdir, "@store", store) == -1)
		goto oom;
	if (vecs_list(root, store, &l, err) == -1)
		goto out;
	for (i = 0; i < l.n; i++) {
		const struct vecs_item *it = &l.items[i];

		free(a);
		free(edir);
		edir = NULL;
		if ((a = bk_name_escape(it->alias, strlen(it->alias))) == NULL ||
		    asprintf(&edir, "%s/%s", sdir, a) == -1) {
			edir = NULL;
			goto oom;
		}
		if (add_str(st, edir, "@alias", it->alias) == -1 ||
		    add_str(st, edir, "type", it->type_name) == -1)
			goto oom;
		if (it->pem_len > 0) {
			buf_reset(&text);
			if (buf_add(&text, it->pem, it->pem_len) == -1 ||
			    buf_putc(&text, '\n') == -1 ||
			    add_at(st, edir, "cert.pem", text.data, text.len,
			    0) == -1)
				goto oom;
		}
		if (it->type != VECS_PRIVATE_KEY && it->type != VECS_SECRET_KEY &&
		    it->type != VECS_ENCRYPTED_PRIVATE_KEY)
			continue;
		if (vecs_getkey(root, store, it->alias, &key, err) == -1)
			goto out;
		/* getkey prints the key followed by one newline. */
		if (key.len > 0 && key.data[key.len - 1] == '\n')
			key.len--;
		if (add_at(st, edir, "key", key.data, key.len, 1) == -1)
			goto oom;
		buf_free_secret(&key);
	}
	ret = 0;
	goto out;
oom:
	buf_printf(err, "out of memory reading store %s", store);
out:
	buf_free_secret(&key);
	buf_free(&text);
	vecs_list_free(&l);
	free(a);
	free(edir);
	free(sdir);
	free(esc);
	return ret;
}

/*
 * The stores are read on a pool (engine/pool.h), each into a state of its
 * own; they are merged in vecs-cli's order, and the first store that
 * failed (in that order) names the error, as when they were read one
 * after another.
 */
struct store_job {
	const char	*root;
	const char	*store;
	struct bk_state	 st;
	struct buf	 err;
	int		 failed;
};

static void
store_job_run(void *arg)
{
	struct store_job *j = arg;

	j->failed = read_store(&j->st, j->root, j->store, &j->err) == -1;
}

/* Moves every item of from to the end of st. */
static int
state_move(struct bk_state *st, struct bk_state *from)
{
	size_t	 i;

	for (i = 0; i < from->n; i++) {
		if (st->n == st->cap) {
			size_t	 ncap = st->cap ? st->cap * 2 : 64;
			struct bk_item *n;

			if ((n = reallocarray(st->items, ncap,
			    sizeof(*n))) == NULL)
				return -1;
			st->items = n;
			st->cap = ncap;
		}
		st->items[st->n++] = from->items[i];
	}
	free(from->items);
	memset(from, 0, sizeof(*from));
	return 0;
}

struct vecs_read {
	char		**names;
	size_t		  n;
	struct store_job *jobs;
	struct pool_group g;
};

/* Starts reading every store on pool p. -1 (err says why) when the
 * stores cannot be listed. */
static int
vecs_start(struct vecs_read *vr, const char *root, struct pool *p,
    struct buf *err)
{
	size_t	 i;

	memset(vr, 0, sizeof(*vr));
	if (vecs_stores(root, &vr->names, &vr->n, err) == -1)
		return -1;
	if (vr->n > 0 && (vr->jobs = calloc(vr->n, sizeof(*vr->jobs))) ==
	    NULL) {
		buf_printf(err, "out of memory");
		return -1;
	}
	for (i = 0; i < vr->n; i++) {
		vr->jobs[i].root = root;
		vr->jobs[i].store = vr->names[i];
		pool_add(p, &vr->g, store_job_run, &vr->jobs[i]);
		/* On the spot, the first failure ends the read, as it did. */
		if (p == NULL && vr->jobs[i].failed)
			break;
	}
	return 0;
}

/* Whether the stores could not be listed or one could not be read. */
static int
vecs_failed(const struct vecs_read *vr, int ok)
{
	size_t	 i;

	for (i = 0; ok && vr->jobs != NULL && i < vr->n; i++)
		if (vr->jobs[i].failed)
			return 1;
	return !ok;
}

/* After pool_wait: the stores merged into st in order, or the error of
 * the first that failed. Frees what vecs_start made. */
static int
vecs_finish(struct vecs_read *vr, struct bk_state *st, int ok,
    struct buf *err)
{
	struct buf order = BUF_INIT;
	char	*esc;
	size_t	 i;
	int	 ret = ok ? 0 : -1;

	for (i = 0; vr->jobs != NULL && i < vr->n; i++) {
		struct store_job *j = &vr->jobs[i];

		if (ret == 0 && j->failed) {
			buf_puts(err, buf_str(&j->err));
			ret = -1;
		}
		if (ret == 0) {
			if ((esc = bk_name_escape(vr->names[i],
			    strlen(vr->names[i]))) == NULL ||
			    buf_printf(&order, "%s\n", esc) == -1 ||
			    state_move(st, &j->st) == -1) {
				buf_printf(err, "out of memory");
				ret = -1;
			}
			free(esc);
		}
		bk_state_free(&j->st);
		buf_free(&j->err);
	}
	if (ret == 0 && bk_state_add(st, "vecs/@stores", buf_str(&order),
	    order.len, 0) == -1)
		ret = -1;
	buf_free(&order);
	free(vr->jobs);
	vecs_names_free(vr->names, vr->n);
	memset(vr, 0, sizeof(*vr));
	return ret;
}

/* ---- vmdir ---- */

/* How a value of an attribute is kept: PEM of its bytes under a label,
 * a secret, or verbatim. */
static const char *
pem_label(const char *attr)
{
	if (strcasecmp(attr, "userCertificate") == 0 ||
	    strcasecmp(attr, "cACertificate") == 0 ||
	    strcasecmp(attr, "vmwLKUPSslTrustAnchor") == 0)
		return "CERTIFICATE";
	if (strcasecmp(attr, "certificateRevocationList") == 0)
		return "X509 CRL";
	return NULL;
}

static int
is_secret_attr(const char *attr)
{
	return strcasecmp(attr, "vmwSTSPrivateKey") == 0;
}

int
bk_pem_of(const char *label, const unsigned char *data, size_t len,
    struct buf *out)
{
	BIO	*bio = BIO_new(BIO_s_mem());
	char	*p;
	long	 n;
	int	 ret = -1;

	if (bio == NULL || len > INT32_MAX)
		goto out;
	if (PEM_write_bio(bio, label, "", data, (long)len) <= 0)
		goto out;
	n = BIO_get_mem_data(bio, &p);
	ret = buf_add(out, p, (size_t)n);
out:
	BIO_free(bio);
	return ret;
}

static int
add_entry(struct bk_state *st, const char *group,
    const struct vmdir_entry *e)
{
	struct buf v = BUF_INIT;
	char	*edn = NULL, *dir = NULL, *name = NULL;
	size_t	 i, j;
	int	 ret = -1;

	if ((edn = bk_name_escape(e->dn, strlen(e->dn))) == NULL ||
	    asprintf(&dir, "vmdir/%s/%s", group, edn) == -1) {
		dir = NULL;
		goto out;
	}
	if (add_str(st, dir, "@dn", e->dn) == -1)
		goto out;
	for (i = 0; i < e->nattrs; i++) {
		const struct vmdir_attr *a = &e->attrs[i];
		int	 secret = is_secret_attr(a->name);

		for (j = 0; j < a->nvalues; j++) {
			/* A value that is PEM text already (Lightwave's CA
			 * entries) is kept as it is, byte for byte. */
			const char *label = cert_value_is_pem(a->values[j].data,
			    a->values[j].len) ? NULL : pem_label(a->name);

			free(name);
			if (asprintf(&name, "%s.%zu.%s", a->name, j,
			    secret ? "key" : label != NULL ? "pem" : "txt") ==
			    -1) {
				name = NULL;
				goto out;
			}
			buf_reset(&v);
			if (label != NULL) {
				if (bk_pem_of(label, a->values[j].data,
				    a->values[j].len, &v) == -1)
					goto out;
			} else if (buf_add(&v, a->values[j].data,
			    a->values[j].len) == -1)
				goto out;
			if (add_at(st, dir, name, v.data != NULL ? v.data : "",
			    v.len, secret) == -1)
				goto out;
		}
	}
	ret = 0;
out:
	buf_free_secret(&v);
	free(name);
	free(dir);
	free(edn);
	return ret;
}

/* Which entries of a search a group keeps. */
typedef int (*keep_fn)(const struct vmdir_entry *e,
    const struct appliance *app);

static int
keep_all(const struct vmdir_entry *e, const struct appliance *app)
{
	(void)e;
	(void)app;
	return 1;
}

static int
keep_principal(const struct vmdir_entry *e, const struct appliance *app)
{
	const struct vmdir_attr *cn = vmdir_entry_attr(e, "cn");
	char	*want = NULL;
	size_t	 i;
	int	 keep = 0;

	for (i = 0; !keep && cn != NULL && cn->nvalues > 0 &&
	    solution_users[i] != NULL; i++) {
		if (asprintf(&want, "%s-%s", solution_users[i],
		    app->machine_id) == -1)
			return 0;
		keep = strcasecmp((const char *)cn->values[0].data, want) == 0;
		free(want);
	}
	return keep;
}

static int
keep_endpoint(const struct vmdir_entry *e, const struct appliance *app)
{
	const struct vmdir_attr *u = vmdir_entry_attr(e, "vmwLKUPURI");
	char	*host;
	int	 keep;

	if (u == NULL || u->nvalues == 0 ||
	    (host = uri_host((const char *)u->values[0].data)) == NULL)
		return 0;
	keep = strcasecmp(host, app->pnid) == 0;
	free(host);
	return keep;
}

static const struct {
	const char	*group;
	const char	*rdns;		/* below the domain DN; %s: domain */
	enum vmdir_scope scope;
	const char	*filter;
	const char	*attrs[5];	/* { NULL }: all */
	keep_fn		 keep;
} groups[] = {
	{ "sts", VMDIR_RDN_TENANT, VMDIR_SUB,
	    "(|(objectClass=vmwSTSTenantCredential)"
	    "(objectClass=vmwSTSTenantTrustedCertificateChain))",
	    { NULL }, keep_all },
	{ "principals", VMDIR_RDN_PRINCIPALS, VMDIR_ONE, "(objectClass=*)",
	    { "cn", "userCertificate", "vmwSTSSubjectDN", NULL },
	    keep_principal },
	{ "endpoints", VMDIR_RDN_SITES, VMDIR_SUB,
	    VMDIR_ENDPOINT_FILTER,
	    { "vmwLKUPURI", "vmwLKUPEndpointSslTrust", "vmwLKUPSslTrustAnchor",
	    NULL }, keep_endpoint },
	{ "cas", VMDIR_RDN_CAS, VMDIR_ONE,
	    "(objectClass=*)", { NULL }, keep_all },
};

#define NGROUPS	(sizeof(groups) / sizeof(groups[0]))

/* The search base of group g on app (malloc'd), or NULL. */
static char *
group_base(size_t g, const struct appliance *app)
{
	char	*rdns = NULL, *base = NULL;

	if (asprintf(&rdns, groups[g].rdns, app->domain) == -1)
		return NULL;
	if (asprintf(&base, "%s,%s", rdns, app->domain_dn) == -1)
		base = NULL;
	free(rdns);
	return base;
}

/* Whether a search of base with scope would find the entry dn (a DN
 * below base, one level down for VMDIR_ONE). */
static int
dn_below(const char *dn, const char *base, enum vmdir_scope scope)
{
	const char *p;

	for (p = dn; *p != '\0'; p++) {
		if (*p == '\\' && p[1] != '\0') {
			p++;
			continue;
		}
		if (*p != ',')
			continue;
		if (p > dn && strcasecmp(p + 1, base) == 0)
			return 1;
		if (scope == VMDIR_ONE)
			return 0;
	}
	return 0;
}

static int
read_vmdir(struct bk_state *st, const struct appliance *app,
    const struct vmdir_login *login, struct buf *err)
{
	struct vmdir *vd = NULL;
	struct vmdir_entries es = { NULL, 0 };
	char	*base = NULL;
	size_t	 g, i;
	int	 ret = -1;

	if (vmdir_open(&vd, login, err) == -1)
		return -1;
	for (g = 0; g < NGROUPS; g++) {
		free(base);
		if ((base = group_base(g, app)) == NULL)
			goto out;
		vmdir_entries_free(&es);
		if (vmdir_search(vd, base, groups[g].scope, groups[g].filter,
		    groups[g].attrs[0] != NULL ? groups[g].attrs : NULL, &es,
		    err) == -1)
			goto out;
		for (i = 0; i < es.n; i++) {
			if (!groups[g].keep(&es.entries[i], app))
				continue;
			if (add_entry(st, groups[g].group, &es.entries[i]) ==
			    -1) {
				buf_printf(err, "out of memory");
				goto out;
			}
		}
	}
	ret = 0;
out:
	vmdir_entries_free(&es);
	vmdir_close(vd);
	free(base);
	return ret;
}

/* The unit path vmdir/<group>/<DN> of an entry dn (malloc'd), NULL for a
 * DN no group's search reaches; -1 out of memory. */
static int
entry_dir(const char *dn, const struct appliance *app, char **out)
{
	char	*base = NULL, *edn = NULL;
	size_t	 g;
	int	 found = 0;

	*out = NULL;
	for (g = 0; g < NGROUPS && !found; g++) {
		free(base);
		if ((base = group_base(g, app)) == NULL)
			return -1;
		found = dn_below(dn, base, groups[g].scope);
	}
	free(base);
	if (!found)
		return 0;
	if ((edn = bk_name_escape(dn, strlen(dn))) == NULL ||
	    asprintf(out, "vmdir/%s/%s", groups[g - 1].group, edn) == -1) {
		*out = NULL;
		free(edn);
		return -1;
	}
	free(edn);
	return 0;
}

/* Whether st holds path: a binary search of its first nsorted items (the
 * sorted ones), a look at the rest. */
static int
has_item(const struct bk_state *st, size_t nsorted, const char *path)
{
	struct bk_state sorted = { st->items, nsorted, nsorted };
	size_t	 i;

	if (bk_state_get(&sorted, path) != NULL)
		return 1;
	for (i = nsorted; i < st->n; i++)
		if (strcmp(st->items[i].path, path) == 0)
			return 1;
	return 0;
}

int
bk_state_add_absent(struct bk_state *st, const struct appliance *app,
    const char *const *dns, size_t n, struct buf *err)
{
	char	*dir = NULL, *dn = NULL, *absent = NULL;
	size_t	 i, nsorted = st->n;
	int	 ret = -1;

	for (i = 0; i < n; i++) {
		free(dir);
		free(dn);
		free(absent);
		dn = absent = NULL;
		if (entry_dir(dns[i], app, &dir) == -1)
			goto oom;
		if (dir == NULL)
			continue;
		if (asprintf(&dn, "%s/@dn", dir) == -1 ||
		    asprintf(&absent, "%s/@absent", dir) == -1) {
			dn = absent = NULL;
			goto oom;
		}
		if (has_item(st, nsorted, dn) || has_item(st, nsorted, absent))
			continue;
		if (add_str(st, dir, "@absent", dns[i]) == -1)
			goto oom;
	}
	if (bk_state_sort(st) == -1) {
		buf_printf(err, "two items map to one path (escaping bug)");
		goto out;
	}
	ret = 0;
	goto out;
oom:
	buf_printf(err, "out of memory");
out:
	free(dir);
	free(dn);
	free(absent);
	return ret;
}

/* ---- VMCA ---- */

static int
read_file_item(struct bk_state *st, const char *root, const char *rel,
    const char *path, int secret, struct buf *err)
{
	char	*file = app_path(root, rel);
	struct buf data = BUF_INIT;
	int	 ret = -1;

	if (file == NULL)
		return -1;
	if (file_read(file, &data, err) == -1)
		goto out;
	if (bk_state_add(st, path, buf_str(&data), data.len, secret) == -1)
		goto out;
	ret = 0;
out:
	buf_free_secret(&data);
	free(file);
	return ret;
}

/* ---- VCDB ---- */

/* vpx_ext's rows, one unit each (nothing on an appliance without VCDB). */
static int
read_vcdb(struct bk_state *st, const char *root, struct buf *err)
{
	struct vcdb_row *rows = NULL;
	char	*esc = NULL, *dir = NULL;
	size_t	 n = 0, i;
	int	 ret = -1, r;

	if ((r = vcdb_read(root, &rows, &n, err)) != 0)
		return r == 1 ? 0 : -1;
	for (i = 0; i < n; i++) {
		if ((esc = bk_name_escape(rows[i].ext_id,
		    strlen(rows[i].ext_id))) == NULL ||
		    asprintf(&dir, "vcdb/vpx_ext/%s", esc) == -1) {
			dir = NULL;
			goto oom;
		}
		if (add_str(st, dir, "@ext_id", rows[i].ext_id) == -1 ||
		    add_str(st, dir, "thumbprint", rows[i].thumbprint) == -1)
			goto oom;
		free(esc);
		free(dir);
		esc = dir = NULL;
	}
	ret = 0;
	goto out;
oom:
	buf_printf(err, "out of memory reading VCDB");
out:
	free(esc);
	free(dir);
	vcdb_rows_free(rows, n);
	return ret;
}

/* ---- Auto Deploy ---- */

/* vc_servers' rows, one unit each (nothing where rbd is not AUTOMATIC). */
static int
read_rbd(struct bk_state *st, const char *root, struct buf *err)
{
	struct rbd_row *rows = NULL;
	char	*dir = NULL, *place = NULL;
	size_t	 n = 0, i;
	int	 ret = -1, r;

	if ((r = rbd_read(root, &rows, &n, err)) != 0)
		return r == 1 ? 0 : -1;
	for (i = 0; i < n; i++) {
		if (asprintf(&dir, "autodeploy/vc_servers/%ld", rows[i].id) ==
		    -1) {
			dir = NULL;
			goto oom;
		}
		if ((place = rbd_place(rows[i].id)) == NULL ||
		    add_str(st, dir, "@row", place) == -1 ||
		    add_str(st, dir, "thumbprint", rows[i].thumbprint) == -1)
			goto oom;
		free(dir);
		free(place);
		dir = place = NULL;
	}
	ret = 0;
	goto out;
oom:
	buf_printf(err, "out of memory reading Auto Deploy");
out:
	free(dir);
	free(place);
	rbd_rows_free(rows, n);
	return ret;
}

/* ---- vsan-health ---- */

/* vsan-health's copy of vpxd-extension, its key sealed (nothing on an
 * appliance without the copy). */
static int
read_vsan(struct bk_state *st, const char *root, struct buf *err)
{
	if (!vsan_present(root))
		return 0;
	if (read_file_item(st, root, APP_VSAN_CERT, BK_VSAN_CERT, 0,
	    err) == -1 ||
	    read_file_item(st, root, APP_VSAN_KEY, BK_VSAN_KEY, 1, err) == -1)
		return -1;
	return 0;
}

/*
 * VECS is read on a pool while this thread reads vmdir and the VMCA
 * files; errors are taken in the order the parts were read before (VECS,
 * vmdir, VMCA), so the first failure names the error as it did.
 */
int
bk_state_read(struct bk_state *st, const char *root,
    const struct appliance *app, const struct vmdir_login *login,
    struct buf *err)
{
	struct vecs_read vr;
	struct pool *p;
	struct buf rest = BUF_INIT;
	int	 ok, rest_ok;

	memset(st, 0, sizeof(*st));
	p = pool_start(pool_size());
	ok = vecs_start(&vr, root, p, err) == 0;
	/* On the spot (no pool) a failed VECS read ends the read here. */
	rest_ok = (p == NULL && vecs_failed(&vr, ok)) ||
	    (read_vmdir(st, app, login, &rest) == 0 &&
	    read_file_item(st, root, APP_VMCA_ROOT, "vmca/root.cer", 0,
	    &rest) == 0 &&
	    read_file_item(st, root, APP_VMCA_KEY, "vmca/privatekey.pem", 1,
	    &rest) == 0 && read_vcdb(st, root, &rest) == 0 &&
	    read_vsan(st, root, &rest) == 0 && read_rbd(st, root, &rest) == 0);
	pool_wait(p, &vr.g);
	pool_stop(p);
	if (vecs_finish(&vr, st, ok, err) == -1)
		goto fail;
	if (!rest_ok) {
		buf_puts(err, buf_str(&rest));
		goto fail;
	}
	buf_free(&rest);
	if (bk_state_sort(st) == -1) {
		buf_printf(err, "two items map to one path (escaping bug)");
		goto fail;
	}
	return 0;
fail:
	buf_free(&rest);
	bk_state_free(st);
	return -1;
}
