/*
 * restore.c - putting a snapshot back. See restore.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "cert.h"
#include "fileio.h"
#include "lock.h"
#include "names.h"
#include "safetext.h"
#include "restore.h"
#include "units.h"
#include "vcdb.h"
#include "vsan.h"
#include "rbd.h"
#include "vecs.h"
#include "vmdir.h"

/* A restore under way: the session it works on, where errors go,
 * whether vmafdd is to remake TRUSTED_ROOT_CRLS once vmdir is back, and
 * the VCDB rows to write back, all in one SQL transaction (the snapshot's
 * units, borrowed). */
struct restore {
	struct bk_session *s;
	struct buf	*err;
	int		 refresh;
	const struct unit **rows;
	size_t		 nrows;
	const struct unit **rbd;	/* Auto Deploy's rows, likewise */
	size_t		 nrbd;
};

/* Whether a unit is within the --only scope (NULL: everything). */
static int
in_scope(const struct unit *u, const char *only)
{
	char	*want = NULL, *s = NULL, *a = NULL;
	size_t	 k;
	int	 in = 0;

	/* The order of stores cannot be restored, only their existence. */
	if (u->plen == strlen("vecs/@stores") &&
	    strncmp(u->prefix, "vecs/@stores", u->plen) == 0)
		return 0;
	if (only == NULL)
		return 1;
	if (strcmp(only, "sts") == 0)
		return strncmp(u->prefix, "vmdir/sts/", 10) == 0;
	if (strcmp(only, "trust-anchors") == 0)
		return strncmp(u->prefix, "vmdir/endpoints/", 16) == 0;
	if (strcmp(only, "solution-users") == 0) {
		if (strncmp(u->prefix, "vmdir/principals/", 17) == 0)
			return 1;
		for (k = 0; solution_users[k] != NULL && !in; k++) {
			if (asprintf(&want, "vecs/%s/%s", solution_users[k],
			    solution_users[k]) == -1)
				return 0;
			in = u->plen == strlen(want) &&
			    strncmp(u->prefix, want, u->plen) == 0;
			free(want);
		}
		return in;
	}
	if (strncmp(only, "vecs:", 5) == 0) {
		const char *store = only + 5, *slash = strchr(store, '/');

		s = bk_name_escape(store, slash != NULL ?
		    (size_t)(slash - store) : strlen(store));
		if (slash != NULL)
			a = bk_name_escape(slash + 1, strlen(slash + 1));
		if (s == NULL || (slash != NULL && a == NULL))
			goto out;
		if (a != NULL) {
			if (asprintf(&want, "vecs/%s/%s", s, a) != -1) {
				in = u->plen == strlen(want) &&
				    strncmp(u->prefix, want, u->plen) == 0;
				free(want);
			}
		} else if (asprintf(&want, "vecs/%s/", s) != -1) {
			in = strncmp(u->prefix, want, strlen(want)) == 0;
			free(want);
		}
	}
out:
	free(s);
	free(a);
	return in;
}

int
bk_restore_scope_valid(const char *only)
{
	return only == NULL || strcmp(only, "sts") == 0 ||
	    strcmp(only, "trust-anchors") == 0 ||
	    strcmp(only, "solution-users") == 0 ||
	    (strncmp(only, "vecs:", 5) == 0 && only[5] != '\0' &&
	    only[5] != '/');
}

/* Puts the VECS entry of unit u back (from the snapshot); with replace,
 * the live one goes first. */
static int
vecs_put_unit(struct restore *c, const struct unit *u, int replace,
    const char *tmpdir)
{
	char	*store = NULL, *alias = NULL, *type = NULL;
	const struct bk_item *cert = unit_item(u, "cert.pem");
	const struct bk_item *key = unit_item(u, "key");
	int	 ret = -1;

	if (unit_vecs_names(u, &store, &alias) == -1 ||
	    (type = bk_item_text(unit_item(u, "type"))) == NULL) {
		buf_printf(c->err, "snapshot entry %.*s is incomplete",
		    (int)u->plen, u->prefix);
		goto out;
	}
	if (strcmp(type, "Encrypted Private Key") == 0) {
		buf_printf(c->err, "%s/%s: encrypted private keys cannot be "
		    "recreated through vecs-cli", store, alias);
		goto out;
	}
	ret = vecs_entry_put(c->s->cfg->root, tmpdir, store, alias, replace,
	    cert != NULL ? cert->data : NULL, cert != NULL ? cert->len : 0, key != NULL ? key->data : NULL,
	    key != NULL ? key->len : 0, c->err);
out:
	free(store);
	free(alias);
	free(type);
	return ret;
}

/* Attributes of a vmdir unit, decoded, in value order. */
struct attrs {
	struct vmdir_attr *v;
	size_t		   n;
};

static void
attrs_free(struct attrs *a)
{
	size_t	 i, j;

	for (i = 0; i < a->n; i++) {
		for (j = 0; j < a->v[i].nvalues; j++) {
			OPENSSL_cleanse(a->v[i].values[j].data,
			    a->v[i].values[j].len);
			free(a->v[i].values[j].data);
		}
		free(a->v[i].values);
		free(a->v[i].name);
	}
	free(a->v);
	memset(a, 0, sizeof(*a));
}

/* Decodes one value file: PEM back to its bytes, anything else as is. */
static int
value_of(const struct bk_item *it, const char *ext, struct vmdir_value *v)
{
	BIO	*bio = NULL;
	char	*name = NULL, *header = NULL;
	unsigned char *data = NULL;
	long	 len = 0;

	if (strcmp(ext, "pem") != 0) {
		if ((v->data = malloc(it->len + 1)) == NULL)
			return -1;
		memcpy(v->data, it->data, it->len);
		v->data[it->len] = '\0';
		v->len = it->len;
		return 0;
	}
	if ((bio = BIO_new_mem_buf(it->data, (int)it->len)) == NULL ||
	    !PEM_read_bio(bio, &name, &header, &data, &len)) {
		BIO_free(bio);
		return -1;
	}
	BIO_free(bio);
	OPENSSL_free(name);
	OPENSSL_free(header);
	v->data = malloc((size_t)len + 1);
	if (v->data != NULL) {
		memcpy(v->data, data, (size_t)len);
		v->len = (size_t)len;
	}
	OPENSSL_free(data);
	return v->data != NULL ? 0 : -1;
}

/* Value files are "<attr>.<index>.<ext>". */
static int
unit_attrs(const struct unit *u, struct attrs *out, struct buf *err)
{
	size_t	 i, k;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < u->n; i++) {
		const char *name = u->items[i].path + u->plen + 1;
		const char *d1 = strchr(name, '.'), *d2;
		char	*attr, *end;
		unsigned long idx;
		struct vmdir_attr *a = NULL;

		if (name[0] == '@')
			continue;
		if (d1 == NULL || (d2 = strchr(d1 + 1, '.')) == NULL)
			goto bad;
		idx = strtoul(d1 + 1, &end, 10);
		if (end != d2 || idx > 100000)
			goto bad;
		if ((attr = strndup(name, (size_t)(d1 - name))) == NULL)
			goto oom;
		for (k = 0; k < out->n; k++)
			if (strcmp(out->v[k].name, attr) == 0)
				a = &out->v[k];
		if (a == NULL) {
			struct vmdir_attr *nv = reallocarray(out->v, out->n + 1,
			    sizeof(*nv));

			if (nv == NULL) {
				free(attr);
				goto oom;
			}
			out->v = nv;
			a = &out->v[out->n++];
			memset(a, 0, sizeof(*a));
			a->name = attr;
		} else
			free(attr);
		if (idx >= a->nvalues) {
			struct vmdir_value *nv = reallocarray(a->values,
			    idx + 1, sizeof(*nv));

			if (nv == NULL)
				goto oom;
			memset(nv + a->nvalues, 0, (idx + 1 - a->nvalues) *
			    sizeof(*nv));
			a->values = nv;
			a->nvalues = idx + 1;
		}
		if (value_of(&u->items[i], d2 + 1, &a->values[idx]) == -1)
			goto bad;
	}
	/* Indexes must be dense: a hole is a damaged snapshot. */
	for (k = 0; k < out->n; k++)
		for (i = 0; i < out->v[k].nvalues; i++)
			if (out->v[k].values[i].data == NULL)
				goto bad;
	return 0;
bad:
	buf_printf(err, "snapshot entry %.*s has a damaged value",
	    (int)u->plen, u->prefix);
	attrs_free(out);
	return -1;
oom:
	buf_printf(err, "out of memory");
	attrs_free(out);
	return -1;
}

/* Attributes a restore rewrites: the RDN and the classes stay as they are. */
static int
kept_attr(const char *name)
{
	return strcasecmp(name, "cn") == 0 ||
	    strcasecmp(name, "objectClass") == 0;
}

/*
 * Makes the entry of live what want holds. want NULL: the snapshot has no
 * such entry; want recorded absent: the snapshot says it did not exist, so
 * it goes whatever its group. live NULL: it does not exist now.
 */
static int
vmdir_unit(struct restore *c, struct vmdir *vd, const struct unit *want,
    const struct unit *live)
{
	struct attrs wa = { NULL, 0 }, la = { NULL, 0 };
	struct vmdir_attr *rep = NULL;
	const char **drop = NULL;
	int	 absent = unit_absent(want);
	char	*dn = bk_item_text(unit_item(!absent && want != NULL ? want :
	    live, "@dn"));
	int	 deletable = absent || strncmp((want != NULL ? want :
	    live)->prefix, "vmdir/sts/", 10) == 0 || strncmp((want != NULL ?
	    want : live)->prefix, "vmdir/cas/", 10) == 0;
	size_t	 i, j, nw = 0, nd = 0;
	int	 ret = -1;

	if (absent)
		want = NULL;
	if (dn == NULL) {
		buf_printf(c->err, "a vmdir entry without its DN");
		goto out;
	}
	if (want == NULL) {
		if (!deletable) {
			buf_printf(c->err, "%s is not in the snapshot; vcrotate "
			    "does not delete such entries", dn);
			goto out;
		}
		ret = vmdir_delete(vd, dn, c->err);
		goto out;
	}
	if (unit_attrs(want, &wa, c->err) == -1)
		goto out;
	if (live == NULL) {
		if (!deletable) {
			buf_printf(c->err, "%s no longer exists; vcrotate does "
			    "not recreate such entries", dn);
			goto out;
		}
		ret = vmdir_add(vd, dn, wa.v, wa.n, c->err);
		goto out;
	}
	if (unit_attrs(live, &la, c->err) == -1)
		goto out;
	/* Replace every attribute but the RDN and classes; drop those the
	 * live entry has and the snapshot lacks. rep borrows from wa. */
	if ((rep = calloc(wa.n + 1, sizeof(*rep))) == NULL ||
	    (drop = calloc(la.n + 1, sizeof(*drop))) == NULL)
		goto out;
	for (i = 0; i < wa.n; i++)
		if (!kept_attr(wa.v[i].name))
			rep[nw++] = wa.v[i];
	for (i = 0; i < la.n; i++) {
		int	 found = 0;

		for (j = 0; j < wa.n; j++)
			if (strcasecmp(la.v[i].name, wa.v[j].name) == 0)
				found = 1;
		if (!found && !kept_attr(la.v[i].name))
			drop[nd++] = la.v[i].name;
	}
	ret = vmdir_replace(vd, dn, rep, nw, drop, c->err);
out:
	free(rep);
	free(drop);
	attrs_free(&wa);
	attrs_free(&la);
	free(dn);
	return ret;
}

/* Whether a VECS entry unit holds a CRL (TRUSTED_ROOT_CRLS). */
static int
is_crl_unit(const struct unit *u)
{
	const struct bk_item *t = unit_item(u, "type");

	return t != NULL && t->len == strlen(VECS_CRL_TYPE) &&
	    memcmp(t->data, VECS_CRL_TYPE, t->len) == 0;
}

/*
 * A VCDB row to put back: queued for the one transaction of vcdb_flush.
 * A row is only updated: one gone is not made again (vcrotate knows only
 * two of its columns), and one the snapshot lacks is left alone
 * (restore_pass: a snapshot from before the appliance had VCDB, or from
 * before vcrotate read it).
 */
static int
vcdb_unit(struct restore *c, const struct unit *want, const struct unit *live)
{
	const struct unit **nr;
	char	*ext;

	if (live == NULL) {
		ext = bk_item_text(unit_item(want, "@ext_id"));
		buf_printf(c->err, "VCDB vpx_ext has no row %s any more; "
		    "vcrotate updates rows, it does not insert them",
		    ext != NULL ? ext : "?");
		free(ext);
		return -1;
	}
	if ((nr = reallocarray(c->rows, c->nrows + 1, sizeof(*nr))) == NULL) {
		buf_printf(c->err, "out of memory");
		return -1;
	}
	c->rows = nr;
	c->rows[c->nrows++] = want;
	return 0;
}

/* An Auto Deploy row to put back, queued for rbd_flush (as vcdb_unit). */
static int
rbd_unit(struct restore *c, const struct unit *want, const struct unit *live)
{
	const struct unit **nr;

	if (live == NULL) {
		buf_printf(c->err, "Auto Deploy's vc_servers has no row %.*s "
		    "any more; vcrotate updates rows, it does not insert them",
		    (int)want->plen, want->prefix);
		return -1;
	}
	if ((nr = reallocarray(c->rbd, c->nrbd + 1, sizeof(*nr))) == NULL) {
		buf_printf(c->err, "out of memory");
		return -1;
	}
	c->rbd = nr;
	c->rbd[c->nrbd++] = want;
	return 0;
}

/* The rows queued by rbd_unit, written in one SQLite transaction. */
static int
rbd_flush(struct restore *c)
{
	struct rbd_update *u = NULL;
	char	**v = NULL, *id = NULL;
	size_t	 i, n = c->nrbd;
	int	 ret = -1;

	c->nrbd = 0;
	if ((u = calloc(n, sizeof(*u))) == NULL ||
	    (v = calloc(n, sizeof(*v))) == NULL) {
		buf_printf(c->err, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		free(id);
		if ((id = bk_item_text(unit_item(c->rbd[i], "@row"))) == NULL ||
		    (v[i] = bk_item_text(unit_item(c->rbd[i], "thumbprint"))) ==
		    NULL || (u[i].id = rbd_place_id(id)) < 0) {
			buf_printf(c->err, "snapshot entry %.*s is incomplete",
			    (int)c->rbd[i]->plen, c->rbd[i]->prefix);
			goto out;
		}
		u[i].thumbprint = v[i];
	}
	ret = rbd_update(c->s->cfg->root, u, n, c->err);
out:
	free(id);
	for (i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
	free(u);
	return ret;
}

/* The rows queued by vcdb_unit, written in one SQL transaction. */
static int
vcdb_flush(struct restore *c)
{
	struct vcdb_update *u = NULL;
	char	**v = NULL;
	size_t	 i, n = c->nrows;
	int	 ret = -1;

	c->nrows = 0;
	if ((u = calloc(n, sizeof(*u))) == NULL ||
	    (v = calloc(2 * n, sizeof(*v))) == NULL)
		goto oom;
	for (i = 0; i < n; i++) {
		if ((v[2 * i] = bk_item_text(unit_item(c->rows[i],
		    "@ext_id"))) == NULL || (v[2 * i + 1] = bk_item_text(
		    unit_item(c->rows[i], "thumbprint"))) == NULL) {
			buf_printf(c->err, "snapshot entry %.*s is incomplete",
			    (int)c->rows[i]->plen, c->rows[i]->prefix);
			goto out;
		}
		u[i].ext_id = v[2 * i];
		u[i].thumbprint = v[2 * i + 1];
	}
	ret = vcdb_update(c->s->cfg->root, u, n, c->err);
	goto out;
oom:
	buf_printf(c->err, "out of memory");
out:
	for (i = 0; v != NULL && i < 2 * n; i++)
		free(v[i]);
	free(v);
	free(u);
	return ret;
}

/* Applies one unit's difference. want: the snapshot's, live: now. */
static int
apply_unit(struct restore *c, struct vmdir **vd, const struct unit *want,
    const struct unit *live, const char *tmpdir)
{
	const struct unit *u;
	char	*store = NULL, *alias = NULL;
	int	 ret = -1;

	/* Only vmdir entries are recorded absent (state.h); any other such
	 * record stands for no entry. */
	if (unit_absent(want) && strncmp(want->prefix, "vmdir/", 6) != 0)
		want = NULL;
	u = unit_present(want) != NULL ? want : live;

	if (unit_is_store(u)) {
		char	*name = bk_item_text(&u->items[0]);

		if (name == NULL)
			return -1;
		ret = want != NULL ? vecs_store_create(c->s->cfg->root, name,
		    c->err) : vecs_store_delete(c->s->cfg->root, name, c->err);
		free(name);
		return ret;
	}
	if (strncmp(u->prefix, "vecs/", 5) == 0) {
		if (want != NULL && !is_crl_unit(want)) {
			ret = vecs_put_unit(c, want, live != NULL, tmpdir);
			goto out;
		}
		/* Gone, or a CRL entry, which only vmafdd makes from vmdir's
		 * CA entries: restore_pass asks for that once vmdir is put
		 * back. */
		if (live != NULL && (unit_vecs_names(live, &store, &alias) ==
		    -1 || vecs_entry_delete(c->s->cfg->root, store, alias,
		    c->err) == -1))
			goto out;
		if (want != NULL)
			c->refresh = 1;
		ret = 0;
		goto out;
	}
	if (strncmp(u->prefix, "vmdir/", 6) == 0) {
		if (*vd == NULL && vmdir_open(vd, c->s->login, c->err) == -1)
			goto out;
		ret = vmdir_unit(c, *vd, want, live);
		goto out;
	}
	if (strncmp(u->prefix, "vcdb/", 5) == 0) {
		ret = vcdb_unit(c, want, live);
		goto out;
	}
	if (strncmp(u->prefix, "autodeploy/", 11) == 0) {
		ret = want != NULL ? rbd_unit(c, want, live) : 0;
		goto out;
	}
	if (strncmp(u->prefix, "vmca/", 5) == 0 && want != NULL) {
		const char *rel = u->plen == 13 &&
		    strncmp(u->prefix, "vmca/root.cer", 13) == 0 ? APP_VMCA_ROOT :
		    u->plen == 19 && strncmp(u->prefix, "vmca/privatekey.pem",
		    19) == 0 ? APP_VMCA_KEY : NULL;
		char	*path = rel != NULL ? app_path(c->s->cfg->root, rel) :
		    NULL;

		if (rel == NULL)
			buf_printf(c->err, "%.*s: not a VMCA file", (int)u->plen,
			    u->prefix);

		/* The mode is what the file is: the VMCA key is 0600, whatever
		 * a manifest said of it. */
		if (path != NULL)
			ret = file_write_atomic(path, want->items[0].data,
			    want->items[0].len, strcmp(rel, APP_VMCA_KEY) == 0 ||
			    bk_path_secret(want->items[0].path) ? 0600 : 0644,
			    c->err);
		free(path);
		goto out;
	}
	if (strncmp(u->prefix, "vsan-health/", 12) == 0 && want != NULL) {
		const char *rel = u->plen == strlen(BK_VSAN_CERT) &&
		    strncmp(u->prefix, BK_VSAN_CERT, u->plen) == 0 ?
		    APP_VSAN_CERT : u->plen == strlen(BK_VSAN_KEY) &&
		    strncmp(u->prefix, BK_VSAN_KEY, u->plen) == 0 ?
		    APP_VSAN_KEY : NULL;

		if (rel == NULL)
			buf_printf(c->err, "%.*s: not a file of vsan-health's "
			    "copy", (int)u->plen, u->prefix);
		else
			ret = vsan_write_file(c->s->cfg->root, rel,
			    want->items[0].data, want->items[0].len, c->err);
		goto out;
	}
	buf_printf(c->err, "%.*s: cannot be restored", (int)u->plen,
	    u->prefix);
out:
	free(store);
	free(alias);
	return ret;
}

/* The pass of restore_pass that makes unit u exist (want) or go. */
static int
restore_phase(const struct unit *u, int want)
{
	int	 vmdir = strncmp(u->prefix, "vmdir/", 6) == 0;

	if (unit_is_store(u))
		return want ? 0 : 4;	/* new stores first, old ones last */
	if (vmdir)
		return want ? 3 : 1;
	return 2;			/* VECS entries, VMCA files, VCDB rows */
}

/* The differences between want and live within the scope; with apply,
 * carried out. Returns the number of differences, -1 on failure. */
static long
restore_pass(struct restore *c, const struct bk_state *want_st,
    const struct bk_state *live_st, const char *only, int apply,
    const char *tmpdir, int verbose)
{
	struct unit *uw = NULL, *ul = NULL;
	struct vmdir *vd = NULL;
	size_t	 nw = 0, nl = 0, i = 0, j = 0;
	long	 n = 0;
	int	 pass;

	if ((uw = units_of(want_st, &nw)) == NULL ||
	    (ul = units_of(live_st, &nl)) == NULL) {
		n = -1;
		goto out;
	}
	/*
	 * Stores are created before their entries and deleted after. vmafdd
	 * copies vmdir's CA entries into TRUSTED_ROOTS and TRUSTED_ROOT_CRLS
	 * while it runs (Lightwave vmafd/server/vmafd/rootfetch.c), so vmdir
	 * entries go before VECS entries are removed (a root deleted from
	 * VECS first could come back), and are added after them (a root
	 * published first could reach VECS before its own create, which then
	 * fails).
	 */
	for (pass = 0; pass < 5 && n >= 0; pass++) {
		for (i = 0, j = 0; i < nw || j < nl;) {
			int	 cmp = i >= nw ? 1 : j >= nl ? -1 :
			    unit_cmp(&uw[i], &ul[j]);
			const struct unit *w = cmp <= 0 ? &uw[i] : NULL;
			const struct unit *l = cmp >= 0 ? &ul[j] : NULL;
			/* An entry recorded absent is to be no entry. */
			const struct unit *wp = unit_present(w);
			const struct unit *u = wp != NULL ? wp : l;

			if (cmp <= 0)
				i++;
			if (cmp >= 0)
				j++;
			if (u == NULL || !in_scope(u, only) || (wp != NULL &&
			    l != NULL && unit_equal(wp, l)))
				continue;
			/* A VCDB row, or vsan-health's copy, the snapshot
			 * lacks is left alone. */
			if (wp == NULL && (strncmp(u->prefix, "vcdb/", 5) ==
			    0 || strncmp(u->prefix, "vsan-health/", 12) == 0 ||
			    strncmp(u->prefix, "autodeploy/", 11) == 0))
				continue;
			if (pass != restore_phase(u, wp != NULL))
				continue;
			n++;
			if (verbose) {
				printf("%-8s ", wp == NULL ? "remove" :
				    l == NULL ? "recreate" : "put back");
				unit_print(stdout, u);
				putchar('\n');
			}
			if (apply && apply_unit(c, &vd, w, l, tmpdir) == -1) {
				n = -1;
				break;
			}
		}
		/* The VCDB rows of this pass, in one transaction. */
		if (pass == 2 && apply && c->nrows > 0 && n >= 0) {
			if (verbose)
				printf("write    the VCDB rows above in one "
				    "transaction (psql -1)\n");
			if (vcdb_flush(c) == -1)
				n = -1;
		}
		/* Auto Deploy's rows of this pass, in one transaction. */
		if (pass == 2 && apply && c->nrbd > 0 && n >= 0) {
			if (verbose)
				printf("write    the Auto Deploy rows above in "
				    "one transaction (sqlite3)\n");
			if (rbd_flush(c) == -1)
				n = -1;
		}
		/* vmdir's CA entries are back: vmafdd remakes their CRLs. */
		if (pass == 3 && apply && c->refresh && n >= 0) {
			c->refresh = 0;
			if (verbose)
				printf("refresh  TRUSTED_ROOT_CRLS from vmdir "
				    "(vecs-cli force-refresh)\n");
			if (vecs_force_refresh(c->s->cfg->root, c->err) == -1)
				n = -1;
		}
	}
out:
	vmdir_close(vd);
	free(c->rows);
	c->rows = NULL;
	free(c->rbd);
	c->rbd = NULL;
	c->nrows = 0;
	free(uw);
	free(ul);
	return n;
}

/*
 * Makes the appliance equal to snapshot rev within `only'; with dry, only
 * says what it would do. 0 when the appliance equals the snapshot after
 * (changes: how many entries were rewritten), -1 otherwise.
 */
static int
restore_core(struct restore *c, const char *rev, const char *only, int dry,
    long *changes)
{
	struct bk_state want = { NULL, 0, 0 }, live = { NULL, 0, 0 };
	json_t	*man = NULL;
	char	 id[41], *tmpdir = NULL;
	long	 n = 0, left;
	int	 ret = -1;

	*changes = 0;
	if (bk_repo_read(c->s->repo, rev, c->s->key, &want, &man, id,
	    c->err) == -1)
		goto out;
	bk_repo_warn_unauthenticated(man, id);
	if (json_string_value(json_object_get(json_object_get(man,
	    "appliance"), "machine_id")) == NULL ||
	    strcmp(json_string_value(json_object_get(json_object_get(man,
	    "appliance"), "machine_id")), c->s->app->machine_id) != 0) {
		buf_printf(c->err, "snapshot %.12s is of another appliance "
		    "(%s)", id, json_string_value(json_object_get(
		    json_object_get(man, "appliance"), "pnid")));
		goto out;
	}
	if (bk_state_read(&live, c->s->cfg->root, c->s->app, c->s->login,
	    c->err) == -1)
		goto out;
	if (dry) {
		n = restore_pass(c, &want, &live, only, 0, NULL, 1);
		printf("%ld change%s would be made (dry run: nothing changed)\n",
		    n, n == 1 ? "" : "s");
		ret = n < 0 ? -1 : 0;
		goto out;
	}
	if ((tmpdir = private_dir(c->s->cfg->root, "restore", c->err)) == NULL)
		goto out;
	n = restore_pass(c, &want, &live, only, 1, tmpdir, 1);
	if (n < 0)
		goto out;
	/* Read the appliance again: the restore is done when it equals the
	 * snapshot within the scope, not when the writes returned. */
	bk_state_free(&live);
	if (bk_state_read(&live, c->s->cfg->root, c->s->app, c->s->login,
	    c->err) == -1)
		goto out;
	left = restore_pass(c, &want, &live, only, 0, NULL, 0);
	if (left != 0) {
		buf_printf(c->err, "after %ld change%s, %ld entr%s still "
		    "differ%s from snapshot %.12s", n, n == 1 ? "" : "s",
		    left, left == 1 ? "y" : "ies", left == 1 ? "s" : "", id);
		restore_pass(c, &want, &live, only, 0, NULL, 1);
		goto out;
	}
	printf("restored snapshot %.12s: %ld change%s; the appliance now "
	    "equals the snapshot%s%s\n", id, n, n == 1 ? "" : "s",
	    only != NULL ? " for " : "", only != NULL ? only : "");
	ret = 0;
out:
	*changes = n;
	if (tmpdir != NULL)
		rmdir(tmpdir);
	free(tmpdir);
	bk_state_free(&want);
	bk_state_free(&live);
	json_decref(man);
	return ret;
}

/*
 * Before a restore: warns of every certificate it would put back that is
 * expired or expires within 30 days (putting an outage back is allowed, but
 * said), and returns how many entries it would change; -1 on failure. id
 * gets the commit rev names now ("HEAD" moves with the snapshot that
 * follows).
 */
static long
restore_preview(struct restore *c, const char *rev, const char *only,
    char id[41])
{
	struct bk_state want = { NULL, 0, 0 }, live = { NULL, 0, 0 };
	struct unit *uw = NULL, *ul = NULL;
	json_t	*man = NULL;
	char	 when[64], *name;
	size_t	 nw = 0, nl = 0, i;
	long	 n = -1;
	X509	*x;

	if (bk_repo_read(c->s->repo, rev, c->s->key, &want, &man, id,
	    c->err) == -1 || bk_state_read(&live, c->s->cfg->root, c->s->app,
	    c->s->login, c->err) == -1)
		goto out;
	if ((n = restore_pass(c, &want, &live, only, 0, NULL, 0)) < 0 ||
	    (uw = units_of(&want, &nw)) == NULL ||
	    (ul = units_of(&live, &nl)) == NULL)
		goto out;
	for (i = 0; i < nw; i++) {
		const struct unit *l = unit_find(ul, nl, &uw[i]);

		if (unit_absent(&uw[i]) || !in_scope(&uw[i], only) ||
		    (l != NULL && unit_equal(&uw[i], l)) ||
		    (x = unit_cert(&uw[i])) == NULL)
			continue;
		if (cert_days_left(x, time(NULL)) < 30 &&
		    (name = unit_name(&uw[i])) != NULL) {
			cert_time_str(cert_not_after(x), when, sizeof(when));
			text_printf_safe(stderr, "vcrotate backup restore: "
			    "warning: puts back %s, %s %s\n", name,
			    cert_not_after(x) < time(NULL) ? "expired on" :
			    "expiring on", when);
			free(name);
		}
		X509_free(x);
	}
out:
	free(uw);
	free(ul);
	json_decref(man);
	bk_state_free(&want);
	bk_state_free(&live);
	return n;
}

int
bk_restore(struct bk_session *s, const char *rev, const char *only, int dry,
    long *changes, struct buf *err)
{
	struct restore c = { s, err, 0, NULL, 0 };
	long	 n = 0;
	int	 rc;

	rc = restore_core(&c, rev, only, dry, &n);
	if (changes != NULL)
		*changes = n;
	return rc;
}

long
bk_restore_preview(struct bk_session *s, const char *rev, const char *only,
    char id[41], struct buf *err)
{
	struct restore c = { s, err, 0, NULL, 0 };

	return restore_preview(&c, rev, only, id);
}
