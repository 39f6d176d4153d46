/*
 * report.c - text, JSON and Prometheus outputs of check. See report.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>

#include "cert.h"
#include "fileio.h"
#include "report.h"
#include "safetext.h"
#include "vcdb.h"

/* One certificate-shaped thing, wherever it lives. */
struct row {
	const char	*source;	/* "vecs", "vmdir", "file" */
	const char	*group;		/* store, or a vmdir/file section */
	const char	*place;		/* STORE/ALIAS, DN or path */
	const char	*store;		/* VECS only */
	const char	*alias;		/* VECS only */
	const char	*kind;		/* entry type, "TenantCredential", ... */
	const char	*role;		/* STS: "LEAF" or "ROOT" */
	X509		*x;		/* NULL: nothing with dates */
	const char	*bad;
};

typedef int (*row_fn)(const struct row *row, void *arg);

static int
sts_rows(const struct inv_sts *s, row_fn fn, void *arg)
{
	struct row r = { "vmdir", "STS", s->dn, NULL, NULL,
	    s->is_credential ? "TenantCredential" : "TrustedCertChain",
	    NULL, NULL, NULL };
	int	 i;

	for (i = 0; i < sk_X509_num(s->certs); i++) {
		r.x = sk_X509_value(s->certs, i);
		/* checksts' rule, leaf by key where there is one */
		r.role = s->leaf != NULL ? (r.x == s->leaf ? "LEAF" : "ROOT") :
		    (cert_is_self_signed(r.x) ? "ROOT" : "LEAF");
		if (fn(&r, arg) == -1)
			return -1;
	}
	return 0;
}

/* One vmdir entry holding (at most) one certificate. */
static int
vmdir_row(row_fn fn, void *arg, const char *group, const char *kind,
    const char *dn, X509 *x, const char *bad)
{
	struct row r;

	memset(&r, 0, sizeof(r));
	r.source = "vmdir";
	r.group = group;
	r.place = dn;
	r.kind = kind;
	r.x = x;
	r.bad = bad;
	return fn(&r, arg);
}

/* Calls fn for every certificate (and dateless entry) of the inventory. */
static int
each_row(const struct inventory *inv, row_fn fn, void *arg)
{
	struct row r;
	char	*place = NULL;
	size_t	 i;
	int	 j, ret = -1;

	for (i = 0; i < inv->nvecs; i++) {
		const struct inv_vecs_entry *e = &inv->vecs[i];

		free(place);
		if ((place = vecs_place(e->store, e->alias)) == NULL)
			goto out;
		memset(&r, 0, sizeof(r));
		r.source = "vecs";
		r.group = r.store = e->store;
		r.alias = e->alias;
		r.place = place;
		r.kind = e->type_name;
		r.bad = e->bad;
		r.x = e->chain != NULL ? sk_X509_value(e->chain, 0) : NULL;
		if (fn(&r, arg) == -1)
			goto out;
	}
	for (i = 0; i < inv->nsts; i++)
		if (sts_rows(&inv->sts[i], fn, arg) == -1)
			goto out;
	for (i = 0; i < inv->nprincipals; i++)
		if (vmdir_row(fn, arg, "ServicePrincipals", "ServicePrincipal",
		    inv->principals[i].dn, inv->principals[i].cert,
		    inv->principals[i].bad) == -1)
			goto out;
	for (i = 0; i < inv->nendpoints; i++)
		if (vmdir_row(fn, arg, "LookupService", "EndpointSslTrust",
		    inv->endpoints[i].dn, inv->endpoints[i].trust,
		    inv->endpoints[i].bad) == -1)
			goto out;
	for (i = 0; i < inv->ncas; i++)
		if (vmdir_row(fn, arg, "Certificate-Authorities",
		    "CertificateAuthority", inv->cas[i].dn, inv->cas[i].cert,
		    inv->cas[i].bad) == -1)
			goto out;
	for (j = 0; inv->vmca_root != NULL && j < sk_X509_num(inv->vmca_root);
	    j++) {
		memset(&r, 0, sizeof(r));
		r.source = "file";
		r.group = "VMCA";
		r.place = "/" APP_VMCA_ROOT;
		r.kind = "VMCA root";
		r.x = sk_X509_value(inv->vmca_root, j);
		if (fn(&r, arg) == -1)
			goto out;
	}
	ret = 0;
out:
	free(place);
	return ret;
}

enum check_exit
report_status(const struct inventory *inv, const struct findings *f)
{
	enum severity w = findings_worst(f);

	if (w == SEV_CRITICAL)
		return CHECK_CRITICAL;
	if (!report_complete(inv))
		return CHECK_UNKNOWN;
	/* VCDB unread, the extensions' thumbprints unchecked: never OK. */
	return w == SEV_WARNING || inv->vcdb_error.len > 0 ? CHECK_WARNING :
	    CHECK_OK;
}

void
report_count(const struct findings *f, size_t n[SEV__MAX])
{
	size_t	 i;

	memset(n, 0, SEV__MAX * sizeof(*n));
	for (i = 0; i < f->n; i++)
		n[f->v[i].sev]++;
}

const char *
check_exit_name(enum check_exit e)
{
	static const char *const names[] = { "OK", "WARNING", "CRITICAL",
	    "UNKNOWN" };

	return names[e];
}

/* ---- text ---- */

#define C_RED	 "\033[31m"
#define C_YEL	 "\033[33m"
#define C_GRN	 "\033[32m"
#define C_BOLD	 "\033[1m"
#define C_OFF	 "\033[0m"

struct text {
	FILE			*out;
	const struct report	*r;
	int			 color;
	const char		*cur_store;
	size_t			 crls;		/* CRLs in the current store */
};

static const char *
sev_color(enum severity s)
{
	return s == SEV_CRITICAL ? C_RED : s == SEV_WARNING ? C_YEL : "";
}

static const char *
status_color(enum cert_status st)
{
	switch (st) {
	case CS_OK:		return C_GRN;
	case CS_EXPIRING_WARN:	return C_YEL;
	default:		return C_RED;
	}
}

/* Prints s (made safe) cut to width (with "..." when cut), padded. */
static void
cell(FILE *out, const char *s, int width)
{
	char	*v = text_safe(s);
	int	 n = v != NULL ? (int)strlen(v) : 0;

	if (n > width && width > 3)
		fprintf(out, "%.*s... ", width - 3, v);
	else
		fprintf(out, "%-*s ", width, v != NULL ? v : "?");
	free(v);
}

static void
flush_crls(struct text *t)
{
	if (t->crls > 0)
		fprintf(t->out, "  (%zu CRL%s, no dates)\n", t->crls,
		    t->crls == 1 ? "" : "s");
	t->crls = 0;
}

static int
text_vecs_row(const struct row *row, void *arg)
{
	struct text *t = arg;
	char	 when[64], days[32];
	char	*subj = NULL;
	enum cert_status st;

	if (strcmp(row->source, "vecs") != 0)
		return 0;
	if (t->cur_store == NULL || strcmp(t->cur_store, row->store) != 0) {
		char	*name = text_safe(row->store);

		flush_crls(t);
		fprintf(t->out, "%sSTORE %s%s\n", t->color ? C_BOLD : "",
		    name != NULL ? name : "?", t->color ? C_OFF : "");
		free(name);
		t->cur_store = row->store;
	}
	if (row->bad == NULL && strcmp(row->kind, VECS_CRL_TYPE) == 0) {
		t->crls++;
		return 0;
	}
	fputs("  ", t->out);
	cell(t->out, row->alias, 40);
	if (row->bad != NULL || row->x == NULL) {
		/* vecs-cli's own words for a type it has no name for */
		char	*kind = text_safe(row->kind);

		if (row->bad != NULL)
			fprintf(t->out, "%s%s: %s%s\n", t->color ? C_RED : "",
			    kind != NULL ? kind : "?", row->bad,
			    t->color ? C_OFF : "");
		else
			fprintf(t->out, "%s, no dates\n",
			    kind != NULL ? kind : "?");
		free(kind);
		return 0;
	}
	subj = cert_subject(row->x);
	cell(t->out, subj != NULL ? subj : "?", 40);
	free(subj);
	cert_time_str(cert_not_after(row->x), when, sizeof(when));
	st = cert_status(row->x, t->r->policy);
	snprintf(days, sizeof(days), "%ld", cert_days_left(row->x,
	    t->r->policy->at));
	fprintf(t->out, "%s %6s  %s%s%s\n", when, days,
	    t->color ? status_color(st) : "", cert_status_name(st),
	    t->color ? C_OFF : "");
	return 0;
}

/* checksts: "[] Certificate AA:.. will expire in D days (Y years)." */
static void
text_sts_cert(struct text *t, X509 *x, const char *role)
{
	char	*fp = cert_sha1_colons(x), when[64];
	long	 days = cert_days_left(x, t->r->policy->at);

	if (cert_not_after(x) < t->r->policy->at) {
		cert_time_str(cert_not_after(x), when, sizeof(when));
		fprintf(t->out, "    %-4s %s[] Certificate: %s expired on %s!%s\n",
		    role, t->color ? C_RED : "", fp != NULL ? fp : "?", when,
		    t->color ? C_OFF : "");
	} else
		fprintf(t->out, "    %-4s [] Certificate %s will expire in %ld "
		    "days (%ld years).\n", role, fp != NULL ? fp : "?", days,
		    days / 365);
	free(fp);
}

static void
text_sts(struct text *t)
{
	const struct inventory *inv = t->r->inv;
	const struct inv_sts *active = inventory_active_sts(inv);
	size_t	 i;
	int	 j;

	fprintf(t->out, "\n%sSTS signing credentials (vmdir)%s\n",
	    t->color ? C_BOLD : "", t->color ? C_OFF : "");
	if (inv->nsts == 0)
		fprintf(t->out, "  none\n");
	for (i = 0; i < inv->nsts; i++) {
		const struct inv_sts *s = &inv->sts[i];

		fprintf(t->out, "  %s-%d%s\n", s->is_credential ?
		    "TenantCredential" : "TrustedCertChain", s->n,
		    active == NULL ? "" : s->n == active->n ?
		    (s->is_credential ? " (active)" : " (active chain)") :
		    " (stale)");
		for (j = 0; j < sk_X509_num(s->certs); j++) {
			X509	*x = sk_X509_value(s->certs, j);

			text_sts_cert(t, x, s->leaf != NULL ? (x == s->leaf ?
			    "LEAF" : "ROOT") : (cert_is_self_signed(x) ?
			    "ROOT" : "LEAF"));
		}
	}
}

static void
text_principals(struct text *t)
{
	const struct inventory *inv = t->r->inv;
	size_t	 i;

	fprintf(t->out, "\n%sSolution users (vmdir)%s\n",
	    t->color ? C_BOLD : "", t->color ? C_OFF : "");
	for (i = 0; i < inv->nprincipals; i++) {
		const struct inv_principal *p = &inv->principals[i];
		const struct inv_vecs_entry *e = inventory_vecs(inv,
		    p->solution, p->solution);
		const char *state = p->cert == NULL ? p->bad :
		    e == NULL || e->chain == NULL ? "no VECS entry" :
		    cert_equal(p->cert, sk_X509_value(e->chain, 0)) ?
		    "same as VECS" : "DIFFERS from VECS";

		fprintf(t->out, "  %-20s %s\n", p->solution, state);
	}
}

/* The parts of vmdir that were read; text_errors names the others. */
static void
text_vmdir(struct text *t)
{
	const struct inventory *inv = t->r->inv;
	const struct inv_part *part = inv->vmdir_parts;
	char	*pnid;

	if (part[VMDIR_PART_STS].read)
		text_sts(t);
	if (part[VMDIR_PART_PRINCIPALS].read)
		text_principals(t);
	if (part[VMDIR_PART_ENDPOINTS].read || part[VMDIR_PART_CAS].read)
		fputc('\n', t->out);
	if (part[VMDIR_PART_ENDPOINTS].read) {
		pnid = text_safe(inv->app.pnid);
		fprintf(t->out, "%sLookup Service endpoints of %s:%s %zu\n",
		    t->color ? C_BOLD : "", pnid != NULL ? pnid : "?",
		    t->color ? C_OFF : "", inv->nendpoints);
		free(pnid);
	}
	if (part[VMDIR_PART_CAS].read)
		fprintf(t->out, "%sCA entries in vmdir:%s %zu\n",
		    t->color ? C_BOLD : "", t->color ? C_OFF : "", inv->ncas);
}

static int
vmdir_some_read(const struct inventory *inv)
{
	int	 i;

	for (i = 0; i < VMDIR_NPARTS; i++)
		if (inv->vmdir_parts[i].read)
			return 1;
	return 0;
}

static void
text_not_read(struct text *t, const char *what, const char *part,
    const struct buf *b)
{
	char	*why = text_safe(buf_str(b));

	fprintf(t->out, "%sNOT READ%s %s%s%s: %s\n", t->color ? C_RED : "",
	    t->color ? C_OFF : "", what, part != NULL ? " " : "",
	    part != NULL ? part : "", why != NULL ? why : "?");
	free(why);
}

/* The parts of an appliance check reads, each with why it was not read
 * (empty when it was), in the order the report names them. */
struct part_error {
	const char	 *what;
	const struct buf *b;
};
#define NPARTS	6

static void
part_errors(const struct inventory *inv, struct part_error src[NPARTS])
{
	src[0] = (struct part_error){ "identity", &inv->identity_error };
	src[1] = (struct part_error){ "VECS", &inv->vecs_error };
	src[2] = (struct part_error){ "vmdir", &inv->vmdir_error };
	src[3] = (struct part_error){ "VMCA", &inv->vmca_error };
	src[4] = (struct part_error){ "VCDB", &inv->vcdb_error };
	src[5] = (struct part_error){ "Auto Deploy", &inv->rbd_error };
}

/*
 * How a vpx_ext row stands: the certificate it follows ("" when vcrotate
 * does not know the extension), that certificate's thumbprint (malloc'd,
 * or NULL), and OK, MISMATCH, EMPTY, UNKNOWN_EXTENSION or NOT_CHECKED (the
 * certificate could not be read).
 */
struct vcdb_view {
	char		 follows[256];
	char		*want;
	const char	*status;
};

static void
vcdb_view(const struct inventory *inv, const struct vcdb_row *r,
    struct vcdb_view *v)
{
	const char *store, *alias;

	v->follows[0] = '\0';
	v->want = NULL;
	if (vcdb_follows(r->ext_id, &store, &alias) == -1) {
		v->status = "UNKNOWN_EXTENSION";
		return;
	}
	snprintf(v->follows, sizeof(v->follows), "%s/%s", store, alias);
	v->want = vcdb_expected(inv, r->ext_id);
	v->status = *r->thumbprint == '\0' ? "EMPTY" : v->want == NULL ?
	    "NOT_CHECKED" : strcmp(v->want, r->thumbprint) == 0 ? "OK" :
	    "MISMATCH";
}

/* VCDB's rows, or why there are none. */
static void
text_vcdb(struct text *t)
{
	const struct inventory *inv = t->r->inv;
	struct vcdb_view v;
	char	*ext, *tp;
	size_t	 i;

	if (!inv->vcdb_present) {
		fprintf(t->out, "%sVCDB:%s none (no /%s: an appliance "
		    "without vCenter's database, such as an external PSC)\n",
		    t->color ? C_BOLD : "", t->color ? C_OFF : "", APP_PSQL);
		return;
	}
	if (inv->vcdb_error.len > 0)
		return;		/* NOT READ, above */
	fprintf(t->out, "%sVCDB vpx_ext (extension thumbprints):%s %zu\n",
	    t->color ? C_BOLD : "", t->color ? C_OFF : "", inv->nvcdb);
	for (i = 0; i < inv->nvcdb; i++) {
		vcdb_view(inv, &inv->vcdb[i], &v);
		ext = text_safe(inv->vcdb[i].ext_id);
		tp = text_safe(*inv->vcdb[i].thumbprint ?
		    inv->vcdb[i].thumbprint : "(none)");
		fprintf(t->out, "  %-26s %-59s %s%s%s%s%s\n", ext != NULL ?
		    ext : "?", tp != NULL ? tp : "?",
		    t->color && strcmp(v.status, "MISMATCH") == 0 ? C_RED : "",
		    v.status, t->color && strcmp(v.status, "MISMATCH") == 0 ?
		    C_OFF : "", v.follows[0] ? " follows " : "", v.follows);
		free(ext);
		free(tp);
		free(v.want);
	}
}

/*
 * A node's directory as domain_probe found it: "same", "differs",
 * "unreachable", or "not asked" (this node, a management node, --node).
 */
static const char *
node_directory(const struct inv_node *n)
{
	if (!n->probed)
		return "not asked";
	if (n->error != NULL)
		return "unreachable";
	return n->sts_same == 1 ? "same" : n->sts_same == 0 ? "differs" :
	    "unknown";
}

/* An endpoint of another node's state in words, by enum ep_state. */
static const char *const ep_state_names[] = {
	[EP_NOT_ASKED] = "not asked", [EP_UNPARSEABLE] = "unparseable",
	[EP_UNREACHABLE] = "unreachable", [EP_TRUSTED] = "trusted",
	[EP_STALE] = "stale"
};

static const char *
endpoint_state(const struct inv_endpoint *ep)
{
	return ep_state_names[inventory_endpoint_state(ep)];
}

/* "endpoints: 5 trusted" or "endpoints: 3 trusted, 2 stale": node n's
 * endpoints counted by state, in endpoint_state's words; a line's end. */
static void
text_node_endpoints(struct text *t, const struct inv_node *n)
{
	static const enum ep_state order[] = { EP_TRUSTED, EP_STALE,
	    EP_UNREACHABLE, EP_UNPARSEABLE, EP_NOT_ASKED };
	const struct inventory *inv = t->r->inv;
	size_t	 i, k, count, shown = 0;

	fprintf(t->out, "%sendpoints:", n->dc ? "; " : " ");
	for (k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		for (i = count = 0; i < inv->npeer_endpoints; i++)
			if (strcasecmp(inv->peer_endpoints[i].host,
			    n->pnid) == 0 && inventory_endpoint_state(
			    &inv->peer_endpoints[i]) == order[k])
				count++;
		if (count > 0)
			fprintf(t->out, "%s %zu %s", shown++ ? "," : "", count,
			    ep_state_names[order[k]]);
	}
	fprintf(t->out, "%s\n", shown ? "" : " none");
}

/*
 * The SSO domain, when there is more than this node: each node, its kind,
 * its directory's STS entries against ours, its endpoints against what it
 * serves (check's domain_probe).
 */
static void
text_domain(struct text *t)
{
	const struct inventory *inv = t->r->inv;
	size_t	 i;
	char	*pnid, *why;
	const char *dir;

	if (inv->nnodes <= 1)
		return;
	fprintf(t->out, "%sSSO domain:%s %zu nodes\n", t->color ? C_BOLD : "",
	    t->color ? C_OFF : "", inv->nnodes);
	for (i = 0; i < inv->nnodes; i++) {
		const struct inv_node *n = &inv->nodes[i];

		pnid = text_safe(n->pnid);
		fprintf(t->out, "  %-30s %-18s", pnid != NULL ? pnid : "?",
		    n->dc ? "domain controller" : "management node");
		free(pnid);
		if (n->self) {
			fprintf(t->out, " this node\n");
			continue;
		}
		dir = node_directory(n);
		why = text_safe(n->error != NULL ? n->error :
		    n->sts_differs != NULL ? n->sts_differs : "");
		if (n->dc)
			fprintf(t->out, " STS: %s%s%s%s", dir,
			    why != NULL && *why ? " (" : "", why != NULL ? why :
			    "", why != NULL && *why ? ")" : "");
		free(why);
		text_node_endpoints(t, n);
	}
}

static void
text_errors(struct text *t)
{
	const struct inventory *inv = t->r->inv;
	struct part_error src[NPARTS];
	size_t	 i;
	int	 p;

	part_errors(inv, src);
	for (i = 0; i < NPARTS; i++) {
		if (src[i].b->len == 0)
			continue;
		/* Some of vmdir was read: name the parts that were not. */
		if (src[i].b == &inv->vmdir_error && vmdir_some_read(inv)) {
			for (p = 0; p < VMDIR_NPARTS; p++)
				if (!inv->vmdir_parts[p].read)
					text_not_read(t, src[i].what,
					    vmdir_part_title(p),
					    &inv->vmdir_parts[p].error);
			continue;
		}
		text_not_read(t, src[i].what, NULL, src[i].b);
	}
}

int
report_text(FILE *out, const struct report *r, int color)
{
	struct text t = { out, r, color, NULL, 0 };
	const struct inventory *inv = r->inv;
	const struct findings *f = r->findings;
	char	 at[64];
	char	*pnid = NULL, *type = NULL, *domain = NULL;
	size_t	 i, n[SEV__MAX];

	cert_time_str(r->policy->at, at, sizeof(at));
	/* vmafd-cli's answers and the first line of deployment.node.type:
	 * the appliance's words, as every other string of the report. */
	pnid = text_safe(inv->app.pnid != NULL ? inv->app.pnid :
	    "unknown PNID");
	type = text_safe(inv->app.node_type != NULL ? inv->app.node_type :
	    "unknown type");
	domain = text_safe(inv->app.domain != NULL ? inv->app.domain :
	    "unknown");
	fprintf(out, "vcrotate check: %s (%s, domain %s) at %s\n",
	    pnid != NULL ? pnid : "?", type != NULL ? type : "?",
	    domain != NULL ? domain : "?", at);
	free(pnid);
	free(type);
	free(domain);
	fprintf(out, "warning below %d days, critical below %d days\n\n",
	    r->policy->warn_days, r->policy->crit_days);
	text_errors(&t);
	fprintf(out, "%s%-42s %-40s %-23s %6s  %s%s\n", color ? C_BOLD : "",
	    "VECS  ALIAS", "SUBJECT", "NOT AFTER", "DAYS", "STATUS",
	    color ? C_OFF : "");
	if (each_row(inv, text_vecs_row, &t) == -1)
		return -1;
	flush_crls(&t);
	text_vmdir(&t);
	if (inv->vmca_root != NULL) {
		char	 when[64];
		X509	*x = sk_X509_value(inv->vmca_root, 0);

		cert_time_str(cert_not_after(x), when, sizeof(when));
		fprintf(out, "%sVMCA root:%s not after %s (%ld days)\n",
		    color ? C_BOLD : "", color ? C_OFF : "", when,
		    cert_days_left(x, r->policy->at));
	} else if (app_is_management(&inv->app) && inv->vmca_error.len == 0) {
		char	*dc = text_safe(inv->app.dc_name != NULL ?
		    inv->app.dc_name : "its PSC");

		fprintf(out, "%sVMCA:%s none on a management node (its VMCA "
		    "certificates come from the VMCA of %s)\n", color ? C_BOLD : "",
		    color ? C_OFF : "", dc != NULL ? dc : "?");
		free(dc);
	}
	text_vcdb(&t);
	text_domain(&t);
	report_count(f, n);
	fprintf(out, "\n%sFINDINGS: %zu critical, %zu warning", color ? C_BOLD :
	    "", n[SEV_CRITICAL], n[SEV_WARNING]);
	if (n[SEV_INFO] > 0)
		fprintf(out, ", %zu info (counted in no status)",
		    n[SEV_INFO]);
	fprintf(out, "%s\n", color ? C_OFF : "");
	for (i = 0; i < f->n; i++) {
		char	*place = text_safe(f->v[i].place);
		char	*msg = text_safe(f->v[i].message);

		fprintf(out, "  %s%-8s%s %-22s %s\n      %s\n",
		    color ? sev_color(f->v[i].sev) : "",
		    severity_name(f->v[i].sev), color ? C_OFF : "",
		    f->v[i].code, place != NULL ? place : "?",
		    msg != NULL ? msg : "?");
		free(place);
		free(msg);
	}
	fprintf(out, "\nStatus: %s\n", check_exit_name(r->status));
	if (r->next != NULL)
		fprintf(out, "Next: %s\n", r->next);
	else if (r->status == CHECK_OK)
		fprintf(out, "Nothing to do.\n");
	return ferror(out) ? -1 : 0;
}

/* ---- JSON ---- */

static json_t *
jstr(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static int
json_row(const struct row *row, void *arg)
{
	json_t	*arr = arg, *o;
	char	*s;

	if ((o = json_object()) == NULL)
		return -1;
	json_object_set_new(o, "source", json_string(row->source));
	json_object_set_new(o, "place", json_string_lossy(row->place));
	if (row->store != NULL) {
		json_object_set_new(o, "store", json_string_lossy(row->store));
		json_object_set_new(o, "alias", json_string_lossy(row->alias));
	}
	json_object_set_new(o, "kind", json_string_lossy(row->kind));
	if (row->role != NULL)
		json_object_set_new(o, "role", json_string(row->role));
	if (row->bad != NULL)
		json_object_set_new(o, "error", json_string(row->bad));
	if (row->x != NULL) {
		s = cert_subject(row->x);
		json_object_set_new(o, "subject", json_string_lossy(s));
		free(s);
		s = cert_issuer(row->x);
		json_object_set_new(o, "issuer", json_string_lossy(s));
		free(s);
		s = cert_serial_hex(row->x);
		json_object_set_new(o, "serial", jstr(s));
		free(s);
		s = cert_sha1_colons(row->x);
		json_object_set_new(o, "sha1", jstr(s));
		free(s);
		json_object_set_new(o, "not_before",
		    json_time(cert_not_before(row->x)));
		json_object_set_new(o, "not_after",
		    json_time(cert_not_after(row->x)));
	}
	return json_array_append_new(arr, o) == 0 ? 0 : -1;
}

struct jrows {
	json_t			*arr;
	const struct policy	*p;
};

/* A row plus days_left and status, which depend on the policy. */
static int
json_row_dated(const struct row *row, void *arg)
{
	struct jrows *j = arg;
	json_t	*o;

	if (json_row(row, j->arr) == -1)
		return -1;
	o = json_array_get(j->arr, json_array_size(j->arr) - 1);
	if (row->x != NULL) {
		json_object_set_new(o, "days_left",
		    json_integer(cert_days_left(row->x, j->p->at)));
		json_object_set_new(o, "status", json_string(
		    cert_status_name(cert_status(row->x, j->p))));
	} else
		json_object_set_new(o, "status", json_string(
		    row->bad != NULL ? "UNPARSEABLE" : "NO_DATES"));
	return 0;
}

static json_t *
json_source(const struct buf *err, int read)
{
	json_t	*o = json_object();

	json_object_set_new(o, "read", json_boolean(read && err->len == 0));
	json_object_set_new(o, "error", err->len ? json_string(buf_str(err)) :
	    json_null());
	return o;
}

/* vmdir as a whole (read: every part was), and each part on its own. */
static json_t *
json_vmdir_source(const struct inventory *inv)
{
	json_t	*o = json_source(&inv->vmdir_error, inv->vmdir_read);
	json_t	*parts = json_object();
	int	 p;

	for (p = 0; p < VMDIR_NPARTS; p++)
		json_object_set_new(parts, vmdir_part_name(p),
		    json_source(&inv->vmdir_parts[p].error,
		    inv->vmdir_parts[p].read));
	json_object_set_new(o, "parts", parts);
	return o;
}

/* VCDB's vpx_ext: the rows and how each stands. */
static json_t *
json_vcdb(const struct inventory *inv)
{
	json_t	*o = json_object(), *rows = json_array(), *row;
	struct vcdb_view v;
	size_t	 i;

	json_object_set_new(o, "present", json_boolean(inv->vcdb_present));
	for (i = 0; i < inv->nvcdb; i++) {
		vcdb_view(inv, &inv->vcdb[i], &v);
		row = json_object();
		json_object_set_new(row, "ext_id",
		    json_string_lossy(inv->vcdb[i].ext_id));
		json_object_set_new(row, "thumbprint",
		    json_string_lossy(inv->vcdb[i].thumbprint));
		json_object_set_new(row, "follows", v.follows[0] ?
		    json_string(v.follows) : json_null());
		json_object_set_new(row, "expected", jstr(v.want));
		json_object_set_new(row, "status", json_string(v.status));
		json_array_append_new(rows, row);
		free(v.want);
	}
	json_object_set_new(o, "rows", rows);
	return o;
}

/* The SSO domain's nodes and the other nodes' endpoints (text_domain). */
static json_t *
json_domain(const struct inventory *inv)
{
	json_t	*o = json_object(), *nodes = json_array(), *eps = json_array();
	json_t	*x;
	size_t	 i;

	json_object_set_new(o, "probed", json_boolean(inv->domain_probed));
	for (i = 0; i < inv->nnodes; i++) {
		const struct inv_node *n = &inv->nodes[i];

		x = json_object();
		json_object_set_new(x, "pnid", json_string_lossy(n->pnid));
		json_object_set_new(x, "dn", json_string_lossy(n->dn));
		json_object_set_new(x, "kind", json_string(n->dc ?
		    "domain_controller" : "management"));
		json_object_set_new(x, "self", json_boolean(n->self));
		json_object_set_new(x, "directory",
		    json_string(node_directory(n)));
		json_object_set_new(x, "error", jstr(n->error != NULL ?
		    n->error : n->sts_differs));
		json_array_append_new(nodes, x);
	}
	for (i = 0; i < inv->npeer_endpoints; i++) {
		const struct inv_endpoint *ep = &inv->peer_endpoints[i];

		x = json_object();
		json_object_set_new(x, "uri", json_string_lossy(ep->uri));
		json_object_set_new(x, "node", json_string_lossy(ep->host));
		json_object_set_new(x, "dn", json_string_lossy(ep->dn));
		json_object_set_new(x, "state", json_string(endpoint_state(ep)));
		json_object_set_new(x, "error", jstr(ep->served_error != NULL ?
		    ep->served_error : ep->trust == NULL ? ep->bad : NULL));
		json_array_append_new(eps, x);
	}
	json_object_set_new(o, "nodes", nodes);
	json_object_set_new(o, "endpoints", eps);
	return o;
}

int
report_json(FILE *out, const struct report *r)
{
	const struct inventory *inv = r->inv;
	const struct inv_sts *active = inventory_active_sts(inv);
	json_t	*doc = NULL, *o, *arr;
	struct jrows jr;
	size_t	 i, n[SEV__MAX];
	int	 ret = -1;

	if ((doc = json_object()) == NULL)
		return -1;
	json_object_set_new(doc, "schema", json_string(CHECK_SCHEMA));
	json_object_set_new(doc, "vcrotate_version",
	    json_string(VCROTATE_VERSION));
	json_object_set_new(doc, "at", json_time(r->policy->at));
	o = json_object();
	json_object_set_new(o, "warn_days", json_integer(r->policy->warn_days));
	json_object_set_new(o, "crit_days", json_integer(r->policy->crit_days));
	json_object_set_new(doc, "policy", o);
	o = json_object();
	json_object_set_new(o, "pnid", json_string_lossy(inv->app.pnid));
	json_object_set_new(o, "machine_id", json_string_lossy(inv->app.machine_id));
	json_object_set_new(o, "domain", json_string_lossy(inv->app.domain));
	json_object_set_new(o, "site", json_string_lossy(inv->app.site));
	json_object_set_new(o, "node_type", json_string_lossy(inv->app.node_type));
	json_object_set_new(doc, "appliance", o);
	json_object_set_new(doc, "status",
	    json_string(check_exit_name(r->status)));
	json_object_set_new(doc, "exit_code", json_integer(r->status));
	o = json_object();
	json_object_set_new(o, "identity", json_source(&inv->identity_error, 1));
	json_object_set_new(o, "vecs", json_source(&inv->vecs_error, 1));
	json_object_set_new(o, "vmdir", json_vmdir_source(inv));
	json_object_set_new(o, "vmca", json_source(&inv->vmca_error, 1));
	json_object_set_new(o, "vcdb", json_source(&inv->vcdb_error, 1));
	json_object_set_new(json_object_get(o, "vcdb"), "present",
	    json_boolean(inv->vcdb_present));
	json_object_set_new(o, "autodeploy", json_source(&inv->rbd_error, 1));
	json_object_set_new(doc, "sources", o);
	json_object_set_new(doc, "sts_active", active != NULL ?
	    json_string(active->dn) : json_null());
	jr.arr = json_array();
	jr.p = r->policy;
	if (each_row(inv, json_row_dated, &jr) == -1) {
		json_decref(jr.arr);
		goto out;
	}
	json_object_set_new(doc, "certificates", jr.arr);
	json_object_set_new(doc, "vcdb", json_vcdb(inv));
	json_object_set_new(doc, "domain", json_domain(inv));
	arr = json_array();
	for (i = 0; i < r->findings->n; i++) {
		const struct finding *f = &r->findings->v[i];

		o = json_object();
		json_object_set_new(o, "code", json_string(f->code));
		json_object_set_new(o, "severity",
		    json_string(severity_name(f->sev)));
		json_object_set_new(o, "place", json_string_lossy(f->place));
		json_object_set_new(o, "message", json_string_lossy(f->message));
		json_array_append_new(arr, o);
	}
	json_object_set_new(doc, "findings", arr);
	report_count(r->findings, n);
	o = json_object();
	json_object_set_new(o, "critical",
	    json_integer((json_int_t)n[SEV_CRITICAL]));
	json_object_set_new(o, "warning",
	    json_integer((json_int_t)n[SEV_WARNING]));
	json_object_set_new(o, "info", json_integer((json_int_t)n[SEV_INFO]));
	json_object_set_new(doc, "summary", o);
	json_object_set_new(doc, "next", jstr(r->next));
	if (json_dumpf(doc, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == -1)
		goto out;
	fputc('\n', out);
	ret = ferror(out) ? -1 : 0;
out:
	json_decref(doc);
	return ret;
}

/* ---- Prometheus textfile ---- */

/* Label values escape \, " and newline (exposition format). */
static void
label(struct buf *b, const char *name, const char *v)
{
	/* The exposition format wants UTF-8: an alias may be anything, so
	 * the value is text_safe's (\xHH for the rest), then escaped. */
	char	*safe = text_safe(v), *p;

	buf_printf(b, "%s=\"", name);
	for (p = safe; p != NULL && *p != '\0'; p++) {
		if (*p == '\\' || *p == '"')
			buf_putc(b, '\\');
		buf_putc(b, *p);
	}
	buf_putc(b, '"');
	free(safe);
}

/* The appliance of every series: its PNID, "unknown" when not read. */
static const char *
appliance_name(const struct inventory *inv)
{
	return inv->app.pnid != NULL && *inv->app.pnid != '\0' ?
	    inv->app.pnid : "unknown";
}

/* "NAME{appliance=\"PNID\"": the start of every series. */
static void
series(struct buf *b, const char *name, const struct report *r)
{
	buf_printf(b, "%s{", name);
	label(b, "appliance", appliance_name(r->inv));
}

/*
 * Whether a row serves: a backup copy does not, nor a root of TRUSTED_ROOTS
 * or vmdir that signs nothing in use (struct root_use).
 */
static int
row_in_use(const struct row *row, const struct report *r)
{
	if (row->store != NULL && strcmp(row->store, BACKUP_STORE) == 0)
		return 0;
	if ((row->store != NULL && strcmp(row->store, "TRUSTED_ROOTS") == 0) ||
	    strcmp(row->group, "Certificate-Authorities") == 0)
		return r->use == NULL || root_use_signs(r->use, row->x);
	return 1;
}

struct prom {
	struct buf		*b;
	const struct report	*r;
};

static int
prom_row(const struct row *row, void *arg)
{
	struct prom *pr = arg;
	struct buf *b = pr->b;
	char	*subj, *sha1;

	if (row->x == NULL)
		return 0;
	subj = cert_subject(row->x);
	sha1 = cert_sha1_hex(row->x);
	series(b, "vcrotate_certificate_not_after_timestamp_seconds", pr->r);
	buf_putc(b, ',');
	label(b, "source", row->source);
	buf_putc(b, ',');
	label(b, "place", row->place);
	if (row->store != NULL) {
		buf_putc(b, ',');
		label(b, "store", row->store);
	}
	buf_putc(b, ',');
	label(b, "kind", row->kind);
	if (row->role != NULL) {
		buf_putc(b, ',');
		label(b, "role", row->role);
	}
	buf_putc(b, ',');
	label(b, "subject", subj);
	/* Two certificates of one subject at one place (a chain, root.cer)
	 * would be one series twice, which node_exporter refuses. */
	buf_putc(b, ',');
	label(b, "sha1", sha1);
	buf_putc(b, ',');
	label(b, "in_use", row_in_use(row, pr->r) ? "true" : "false");
	buf_printf(b, "} %lld\n", (long long)cert_not_after(row->x));
	free(subj);
	free(sha1);
	return 0;
}

/* Label values are lower case, as alerting rules spell severities. */
static const char *
prom_severity(enum severity s)
{
	static const char *const names[SEV__MAX] = { "ok", "info", "warning",
	    "critical" };

	return names[s];
}

/* By code, severity (critical first) and place: the key of a series. */
static int
finding_series_cmp(const void *a, const void *b)
{
	const struct finding *x = *(const struct finding *const *)a;
	const struct finding *y = *(const struct finding *const *)b;
	int	 c;

	if ((c = strcmp(x->code, y->code)) != 0)
		return c;
	if (x->sev != y->sev)
		return x->sev > y->sev ? -1 : 1;
	return strcmp(x->place, y->place);
}

/*
 * One series per code, severity and place, its value how many findings it
 * stands for: one entry can have a code twice (an STS credential whose key
 * and one of whose values do not parse), and node_exporter rejects the
 * whole textfile when a series repeats. INFO findings are not alerting
 * series: they count only in vcrotate_info_findings.
 */
static int
prom_findings(struct buf *b, const struct report *r)
{
	const struct findings *f = r->findings;
	const struct finding **v = NULL;
	size_t	 i, k, n = 0;

	if (f->n == 0)
		return 0;	/* and qsort never sees a NULL array */
	if ((v = calloc(f->n, sizeof(*v))) == NULL)
		return -1;
	for (i = 0; i < f->n; i++)
		if (f->v[i].sev >= SEV_WARNING)
			v[n++] = &f->v[i];
	if (n > 0)
		qsort(v, n, sizeof(*v), finding_series_cmp);
	for (i = 0; i < n; i = k) {
		for (k = i + 1; k < n &&
		    finding_series_cmp(&v[i], &v[k]) == 0; k++)
			;
		series(b, "vcrotate_finding", r);
		buf_putc(b, ',');
		label(b, "code", v[i]->code);
		buf_putc(b, ',');
		label(b, "severity", prom_severity(v[i]->sev));
		buf_putc(b, ',');
		label(b, "place", v[i]->place);
		buf_printf(b, "} %zu\n", k - i);
	}
	free(v);
	return 0;
}

/* Every source read: the check itself worked. */
int
report_complete(const struct inventory *inv)
{
	/*
	 * VCDB not read is no failed check: its server stops with the rest
	 * when start --all ends at an expired STS, a state of the appliance.
	 * It is NOT READ in the report, and the status at least WARNING.
	 */
	return inv->identity_error.len == 0 && inv->vecs_error.len == 0 &&
	    inv->vmdir_error.len == 0 && inv->vmca_error.len == 0 &&
	    inv->rbd_error.len == 0;
}

static void
prom_gauge(struct buf *b, const struct report *r, const char *name,
    const char *help, long long v)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
	series(b, name, r);
	buf_printf(b, "} %lld\n", v);
}

/* The exposition (docs/check.md, "Prometheus"); -1 out of memory. */
static int
prom_build(struct buf *b, const struct report *r)
{
	struct prom pr = { b, r };
	size_t	 n[SEV__MAX];
	int	 s;

	buf_puts(b, "# HELP vcrotate_certificate_not_after_timestamp_seconds "
	    "Not After of each certificate on the appliance, as a Unix time "
	    "(in_use=\"false\": a backup copy, or a root that signs nothing "
	    "in use).\n# TYPE vcrotate_certificate_not_after_timestamp_seconds "
	    "gauge\n");
	if (each_row(r->inv, prom_row, &pr) == -1)
		return -1;
	report_count(r->findings, n);
	buf_puts(b, "# HELP vcrotate_findings Findings of the last check, by "
	    "severity (INFO ones are not counted here).\n"
	    "# TYPE vcrotate_findings gauge\n");
	for (s = SEV_CRITICAL; s >= SEV_WARNING; s--) {
		series(b, "vcrotate_findings", r);
		buf_putc(b, ',');
		label(b, "severity", prom_severity((enum severity)s));
		buf_printf(b, "} %zu\n", n[s]);
	}
	buf_puts(b, "# HELP vcrotate_finding Critical and warning findings of "
	    "the last check by code, severity and place: how many (usually "
	    "1).\n# TYPE vcrotate_finding gauge\n");
	if (prom_findings(b, r) == -1)
		return -1;
	prom_gauge(b, r, "vcrotate_info_findings", "Findings that count in "
	    "no status and no alert (expired backup copies).",
	    (long long)n[SEV_INFO]);
	prom_gauge(b, r, "vcrotate_check_status", "0 OK, 1 WARNING, "
	    "2 CRITICAL, 3 UNKNOWN (the exit code of check).",
	    (long long)r->status);
	prom_gauge(b, r, "vcrotate_check_success", "1 when check read every "
	    "part of the appliance, 0 when a part could not be read.",
	    (long long)report_complete(r->inv));
	prom_gauge(b, r, "vcrotate_last_check_timestamp_seconds", "When the "
	    "last check evaluated, as a Unix time.", (long long)r->policy->at);
	return b->len > 0 ? 0 : -1;
}

int
report_prometheus(const char *path, const struct report *r, struct buf *err)
{
	struct buf b = BUF_INIT;
	int	 ret = -1, saved;

	if (prom_build(&b, r) == -1)
		goto out;
	/* node_exporter reads the directory at any time: never a partial
	 * file under the final name. */
	if (file_write_atomic(path, b.data, b.len, 0644, err) == -1)
		goto out;
	ret = 0;
out:
	saved = errno;
	buf_free(&b);
	errno = saved;
	return ret;
}

int
report_prometheus_out(FILE *out, const struct report *r)
{
	struct buf b = BUF_INIT;
	int	 ret = -1;

	if (prom_build(&b, r) == 0 && fwrite(b.data, 1, b.len, out) == b.len)
		ret = ferror(out) ? -1 : 0;
	buf_free(&b);
	return ret;
}

/* ---- Nagios / Icinga plugin output ---- */

/*
 * Plugin output is read up to a '|' as text, after it as performance data:
 * the appliance's words (made safe for a terminal) never hold one.
 */
static void
nagios_text(FILE *out, const char *s)
{
	char	*v = text_safe(s), *p;

	for (p = v; p != NULL && *p != '\0'; p++)
		if (*p == '|')
			fputs("\\x7c", out);
		else
			fputc(*p, out);
	if (v == NULL)
		fputc('?', out);
	free(v);
}

/* The first reason a part was not read, for the status line. */
static const char *
not_read_reason(const struct inventory *inv, const char **what)
{
	struct part_error src[NPARTS];
	size_t	 i;

	part_errors(inv, src);
	for (i = 0; i < NPARTS; i++)
		if (src[i].b->len > 0) {
			*what = src[i].what;
			return buf_str(src[i].b);
		}
	return NULL;
}

/* The soonest Not After of a group, as days left; the first call sets it. */
struct soonest {
	int	 set;
	long	 days;
};

static void
soonest_add(struct soonest *g, X509 *x, time_t at)
{
	long	 d = cert_days_left(x, at);

	if (!g->set || d < g->days)
		g->days = d;
	g->set = 1;
}

enum { P_MACHINE_SSL, P_SOLUTION_USERS, P_STS, P_VMCA_ROOT, P_TRUSTED_ROOTS,
    P__MAX };

static void
soonest_groups(const struct report *r, struct soonest g[P__MAX])
{
	const struct inventory *inv = r->inv;
	const struct inv_sts *active = inventory_active_sts(inv);
	time_t	 at = r->policy->at;
	size_t	 i;

	memset(g, 0, P__MAX * sizeof(*g));
	for (i = 0; i < inv->nvecs; i++) {
		const struct inv_vecs_entry *e = &inv->vecs[i];
		X509	*x;

		if (e->chain == NULL)
			continue;
		x = sk_X509_value(e->chain, 0);
		if (strcmp(e->store, "MACHINE_SSL_CERT") == 0 &&
		    strcmp(e->alias, "__MACHINE_CERT") == 0)
			soonest_add(&g[P_MACHINE_SSL], x, at);
		else if (is_solution_user_store(e->store) &&
		    strcmp(e->store, e->alias) == 0)
			soonest_add(&g[P_SOLUTION_USERS], x, at);
		else if (strcmp(e->store, "TRUSTED_ROOTS") == 0 &&
		    (r->use == NULL || root_use_signs(r->use, x)))
			soonest_add(&g[P_TRUSTED_ROOTS], x, at);
	}
	if (active != NULL && active->leaf != NULL)
		soonest_add(&g[P_STS], active->leaf, at);
	if (inv->vmca_root != NULL)
		soonest_add(&g[P_VMCA_ROOT], sk_X509_value(inv->vmca_root, 0),
		    at);
}

/*
 * Performance data, as the monitoring-plugins guidelines spell it:
 * 'label'=value[UOM];warn;crit;min;max. Days left of the soonest
 * certificate of each group (warn and crit are ranges: alert below the
 * thresholds), then the findings per severity (alert above 0).
 */
static void
nagios_perfdata(FILE *out, const struct report *r, const size_t n[SEV__MAX])
{
	static const char *const names[P__MAX] = { "machine_ssl_days",
	    "solution_users_days", "sts_days", "vmca_root_days",
	    "trusted_roots_days" };
	struct soonest g[P__MAX];
	int	 i;

	soonest_groups(r, g);
	for (i = 0; i < P__MAX; i++)
		if (g[i].set)
			fprintf(out, "'%s'=%ld;%d:;%d: ", names[i], g[i].days,
			    r->policy->warn_days, r->policy->crit_days);
	fprintf(out, "'critical'=%zu;;0;0 'warning'=%zu;0;;0 'info'=%zu;;;0\n",
	    n[SEV_CRITICAL], n[SEV_WARNING], n[SEV_INFO]);
}

/* The status line's reason: what made the status. */
static void
nagios_summary(FILE *out, const struct report *r, const size_t n[SEV__MAX])
{
	const char *what = NULL, *why = not_read_reason(r->inv, &what);

	if (r->status == CHECK_UNKNOWN && why != NULL) {
		fprintf(out, "%s NOT READ: ", what);
		nagios_text(out, why);
	} else if (n[SEV_CRITICAL] + n[SEV_WARNING] > 0)
		nagios_text(out, r->findings->v[0].message);
	else
		fprintf(out, "nothing in use expires within %d days",
		    r->policy->warn_days);
}

int
report_nagios(FILE *out, const struct report *r)
{
	const struct findings *f = r->findings;
	const char *what = NULL, *why = not_read_reason(r->inv, &what);
	size_t	 i, n[SEV__MAX];

	report_count(f, n);
	fprintf(out, "VCROTATE %s - %zu critical, %zu warning",
	    check_exit_name(r->status), n[SEV_CRITICAL], n[SEV_WARNING]);
	if (n[SEV_INFO] > 0)
		fprintf(out, ", %zu info", n[SEV_INFO]);
	fputs(": ", out);
	nagios_summary(out, r, n);
	fputs(" | ", out);
	nagios_perfdata(out, r, n);
	if (why != NULL) {
		fprintf(out, "NOT READ %s: ", what);
		nagios_text(out, why);
		fputc('\n', out);
	}
	for (i = 0; i < f->n; i++) {
		fprintf(out, "%s %s ", severity_name(f->v[i].sev), f->v[i].code);
		nagios_text(out, f->v[i].place);
		fputs(": ", out);
		nagios_text(out, f->v[i].message);
		fputc('\n', out);
	}
	if (r->next != NULL) {
		fputs("Next: ", out);
		nagios_text(out, r->next);
		fputc('\n', out);
	}
	return ferror(out) ? -1 : 0;
}
