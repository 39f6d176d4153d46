/*
 * units.c - a state as units, compared and named. See units.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "cert.h"
#include "names.h"
#include "safetext.h"
#include "units.h"

/* The unit an item belongs to: an entry, a store marker, a file. */
static size_t
unit_len(const char *path)
{
	const char *p = path;
	int	 depth, i;

	if (strncmp(path, "vecs/", 5) == 0)
		depth = strstr(path, "/@store") != NULL ||
		    strcmp(path, "vecs/@stores") == 0 ? 9 : 3;
	else if (strncmp(path, "vmdir/", 6) == 0 ||
	    strncmp(path, "vcdb/", 5) == 0 ||
	    strncmp(path, "autodeploy/", 11) == 0)
		depth = 3;
	else
		depth = 9;
	for (i = 0; i < depth; i++) {
		p = strchr(p, '/');
		if (p == NULL)
			return strlen(path);
		if (i + 1 < depth)
			p++;
	}
	return (size_t)(p - path);
}

/* Store markers: vecs/<S>/@store, a unit of one item. */
int
unit_is_store(const struct unit *u)
{
	return u->plen > 12 && strncmp(u->prefix, "vecs/", 5) == 0 &&
	    strncmp(u->prefix + u->plen - 7, "/@store", 7) == 0;
}

/* Whether u records an entry that did not exist (state.h, @absent). */
int
unit_absent(const struct unit *u)
{
	return u != NULL && u->n == 1 &&
	    strcmp(u->items[0].path + u->plen, "/@absent") == 0;
}

/* u when it stands for something that exists; NULL for no unit and for
 * an entry recorded absent, which compares as no unit. */
const struct unit *
unit_present(const struct unit *u)
{
	return unit_absent(u) ? NULL : u;
}

static int
unit_qcmp(const void *a, const void *b)
{
	return unit_cmp(a, b);
}

/*
 * The units of a state, sorted by unit_cmp: the order of unit_find and of
 * every merge walk. It is not the items' path order, in which an entry
 * sorts after the entries whose names extend its own ("corp-root/..." after
 * "corp-root-2/...", '-' < '/'), so the units are sorted again.
 */
struct unit *
units_of(const struct bk_state *st, size_t *nunits)
{
	struct unit *u = NULL, *nu;
	size_t	 i, n = 0, ul;

	for (i = 0; i < st->n; i++) {
		ul = unit_len(st->items[i].path);
		if (n > 0 && u[n - 1].plen == ul &&
		    strncmp(u[n - 1].prefix, st->items[i].path, ul) == 0) {
			u[n - 1].n++;
			continue;
		}
		if ((nu = reallocarray(u, n + 1, sizeof(*u))) == NULL) {
			free(u);
			return NULL;
		}
		u = nu;
		u[n].prefix = st->items[i].path;
		u[n].plen = ul;
		u[n].items = &st->items[i];
		u[n].n = 1;
		n++;
	}
	*nunits = n;
	if (n > 1)
		qsort(u, n, sizeof(*u), unit_qcmp);
	return u != NULL ? u : calloc(1, sizeof(*u));
}

/* A total order of units, equal only for the same unit path. */
int
unit_cmp(const struct unit *a, const struct unit *b)
{
	size_t	 n = a->plen < b->plen ? a->plen : b->plen;
	int	 c = strncmp(a->prefix, b->prefix, n);

	if (c != 0)
		return c;
	return (a->plen > b->plen) - (a->plen < b->plen);
}

int
unit_equal(const struct unit *a, const struct unit *b)
{
	size_t	 i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->items[i].path, b->items[i].path) != 0 ||
		    a->items[i].len != b->items[i].len ||
		    memcmp(a->items[i].data, b->items[i].data,
		    a->items[i].len) != 0)
			return 0;
	return 1;
}

/* The item `name' of a unit (the part after the unit path), or NULL. */
const struct bk_item *
unit_item(const struct unit *u, const char *name)
{
	size_t	 i;

	for (i = 0; u != NULL && i < u->n; i++)
		if (u->items[i].path[u->plen] == '/' &&
		    strcmp(u->items[i].path + u->plen + 1, name) == 0)
			return &u->items[i];
	return NULL;
}

/* Text of an item, NUL-terminated copy (caller frees). */
char *
bk_item_text(const struct bk_item *it)
{
	return it != NULL ? strndup((const char *)it->data, it->len) : NULL;
}

/* The certificate a unit holds (the first of its chain), or NULL (caller
 * frees). */
X509 *
unit_cert(const struct unit *u)
{
	static const char *const names[] = { "cert.pem",
	    "userCertificate.0.pem", "cACertificate.0.pem",
	    "cACertificate.0.txt", "vmwLKUPSslTrustAnchor.0.pem", "root.cer",
	    NULL };
	const struct bk_item *it = NULL;
	STACK_OF(X509) *sk = NULL;
	const char *why;
	X509	*x;
	size_t	 i;

	for (i = 0; it == NULL && names[i] != NULL; i++)
		it = unit_item(u, names[i]);
	if (it == NULL && u != NULL && u->n == 1)
		it = &u->items[0];
	if (it == NULL || it->secret || cert_parse_pem_chain((const char *)
	    it->data, it->len, &sk, &why) == -1)
		return NULL;
	x = sk_X509_shift(sk);
	sk_X509_pop_free(sk, X509_free);
	return x;
}

/* A one-line description of the certificate a unit holds, if any. */
char *
unit_cert_summary(const struct unit *u)
{
	X509	*x = unit_cert(u);
	char	*subj, *serial, *s = NULL, when[64];

	if (x == NULL)
		return NULL;
	subj = cert_subject(x);
	serial = cert_serial_hex(x);
	cert_time_str(cert_not_after(x), when, sizeof(when));
	if (asprintf(&s, "%s, serial %s, not after %s", subj != NULL ? subj :
	    "?", serial != NULL ? serial : "?", when) == -1)
		s = NULL;
	free(subj);
	free(serial);
	X509_free(x);
	return s;
}

/* The unit of sorted array u[n] at key's path, or NULL. */
const struct unit *
unit_find(const struct unit *u, size_t n, const struct unit *key)
{
	size_t	 lo = 0, hi = n, mid;
	int	 c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = unit_cmp(&u[mid], key)) == 0)
			return &u[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* A unit as a person knows it: STORE/ALIAS, a DN, or its path (malloc'd,
 * raw: it may hold any byte). */
char *
unit_name(const struct unit *u)
{
	char	*store = NULL, *alias = NULL, *name = NULL;
	char	*dn = bk_item_text(unit_item(u, unit_absent(u) ? "@absent" :
	    "@dn"));
	char	*sname = unit_is_store(u) ? bk_item_text(&u->items[0]) : NULL;
	char	*ext = bk_item_text(unit_item(u, "@ext_id"));
	char	*row = bk_item_text(unit_item(u, "@row"));

	if (dn != NULL)
		name = strdup(dn);
	else if (ext != NULL) {
		if (asprintf(&name, "VCDB vpx_ext %s", ext) == -1)
			name = NULL;
	}
	else if (row != NULL) {
		if (asprintf(&name, "Auto Deploy %s", row) == -1)
			name = NULL;
	}
	else if (sname != NULL) {
		if (asprintf(&name, "store %s", sname) == -1)
			name = NULL;
	} else if (u->plen == 12 && strncmp(u->prefix, "vecs/@stores", 12) ==
	    0)
		name = strdup("the order of the VECS stores");
	else if (strncmp(u->prefix, "vecs/", 5) == 0 &&
	    unit_vecs_names(u, &store, &alias) == 0) {
		if (asprintf(&name, "%s/%s", store, alias) == -1)
			name = NULL;
	} else
		name = strndup(u->prefix, u->plen);
	free(store);
	free(alias);
	free(sname);
	free(ext);
	free(row);
	free(dn);
	return name;
}

/* Prints a unit's name, made safe for a terminal (it comes from the
 * appliance). */
void
unit_print(FILE *f, const struct unit *u)
{
	char	*name = unit_name(u), *safe = text_safe(name);

	fputs(safe != NULL ? safe : "?", f);
	free(safe);
	free(name);
}

/* The raw store and alias of a VECS entry unit. */
int
unit_vecs_names(const struct unit *u, char **store, char **alias)
{
	const char *slash = memchr(u->prefix + 5, '/', u->plen - 5);
	char	*sdir;
	size_t	 len;
	int	 rc;

	*store = *alias = NULL;
	if (slash == NULL ||
	    (sdir = strndup(u->prefix + 5, (size_t)(slash - u->prefix - 5))) ==
	    NULL)
		return -1;
	rc = bk_name_unescape(sdir, store, &len);
	free(sdir);
	if (rc == -1 ||
	    (*alias = bk_item_text(unit_item(u, "@alias"))) == NULL) {
		free(*store);
		*store = NULL;
		return -1;
	}
	return 0;
}

/* Whether a unit differs between two states: present in one only, or not
 * equal. */
int
unit_differs(const struct unit *a, size_t na, const struct unit *b,
    size_t nb, const struct unit *key)
{
	const struct unit *x = unit_present(unit_find(a, na, key));
	const struct unit *y = unit_present(unit_find(b, nb, key));

	return (x == NULL) != (y == NULL) ||
	    (x != NULL && y != NULL && !unit_equal(x, y));
}
