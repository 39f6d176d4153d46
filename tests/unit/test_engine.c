/*
 * test_engine.c - unit tests of the engine's parsers of outside input:
 * vecs-cli's entry listing, lwregshell's value lines, dates given to --at,
 * LDAP URIs and domains, certificate day counts, service-control's status
 * listing (with services.c run against a service-control of a few shell
 * lines), the backup commits' trailers that history reads, and the rules
 * a plan file is held to when it is read (plans/load.c) and against the
 * appliance (plans/live.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/x509.h>

#include "appliance.h"
#include "cert.h"
#include "config.h"
#include "inventory.h"
#include "history.h"
#include "journal.h"
#include "services.h"
#include "plan.h"
#include "vcdb.h"
#include "rbd.h"
#include "vecs.h"
#include "vmdir.h"

static const char listing[] =
    "Number of entries in store :\t3\n"
    "Alias :\tmachine\n"
    "Entry type :\tPrivate Key\n"
    "Certificate :\t-----BEGIN CERTIFICATE-----\n"
    "AAAA\n"
    "-----END CERTIFICATE-----\n"
    "\n"
    "Alias :\tlocation_password_default\n"
    "Entry type :\tSecret Key\n"
    "Certificate :\t\n"
    "\n"
    "Alias :\twith spaces / and ..\n"
    "Entry type :\tCertification Revocation List\n"
    "Certificate :\t-----BEGIN X509 CRL-----\n"
    "BBBB\n"
    "-----END X509 CRL-----\n"
    "\n";

static void
test_vecs_listing(void **state)
{
	struct vecs_list l;
	const char *why = NULL;

	(void)state;
	assert_int_equal(vecs_parse_list(listing, strlen(listing), &l, &why), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.items[0].alias, "machine");
	assert_int_equal(l.items[0].type, VECS_PRIVATE_KEY);
	assert_string_equal(l.items[0].pem, "-----BEGIN CERTIFICATE-----\n"
	    "AAAA\n-----END CERTIFICATE-----");
	assert_int_equal(l.items[1].type, VECS_SECRET_KEY);
	assert_string_equal(l.items[1].pem, "");
	assert_string_equal(l.items[2].alias, "with spaces / and ..");
	assert_int_equal(l.items[2].type, VECS_CRL);
	vecs_list_free(&l);
}

static void
test_vecs_listing_refuses_what_does_not_add_up(void **state)
{
	/* An alias with a newline splits an entry: the count no longer
	 * matches, and the listing is refused rather than misread. */
	static const char split[] =
	    "Number of entries in store :\t1\n"
	    "Alias :\tone\n"
	    "Entry type :\tTrusted Cert\n"
	    "Certificate :\t\n"
	    "Alias :\ttwo\n"
	    "Entry type :\tTrusted Cert\n"
	    "Certificate :\t\n";
	static const char nocount[] = "Alias :\tone\nEntry type :\tSecret Key\n";
	static const char stray[] = "Number of entries in store :\t0\nhello\n";
	static const char notype[] =
	    "Number of entries in store :\t1\nAlias :\tone\n";
	struct vecs_list l;
	const char *why = NULL;

	(void)state;
	assert_int_equal(vecs_parse_list(split, strlen(split), &l, &why), -1);
	assert_string_equal(why, "entry count does not match the entries listed");
	assert_int_equal(vecs_parse_list(nocount, strlen(nocount), &l, &why), -1);
	assert_int_equal(vecs_parse_list(stray, strlen(stray), &l, &why), -1);
	assert_int_equal(vecs_parse_list(notype, strlen(notype), &l, &why), -1);
	assert_int_equal(vecs_parse_list("", 0, &l, &why), -1);
}

static void
test_vecs_listing_unknown_type_kept(void **state)
{
	static const char odd[] =
	    "Number of entries in store :\t1\n"
	    "Alias :\tx\nEntry type :\tQuantum Key\nCertificate :\t\n";
	struct vecs_list l;
	const char *why;

	(void)state;
	assert_int_equal(vecs_parse_list(odd, strlen(odd), &l, &why), 0);
	assert_int_equal(l.items[0].type, VECS_UNKNOWN_TYPE);
	assert_string_equal(l.items[0].type_name, "Quantum Key");
	vecs_list_free(&l);
}

static void
test_lwregshell_lines(void **state)
{
	char	*n, *v;

	(void)state;
	assert_int_equal(lwreg_parse_line("+  \"dcAccountDN\"  REG_SZ  "
	    "\"cn=vc,ou=Domain Controllers,dc=vsphere,dc=local\"", &n, &v), 0);
	assert_string_equal(n, "dcAccountDN");
	assert_string_equal(v, "cn=vc,ou=Domain Controllers,dc=vsphere,dc=local");
	free(n);
	free(v);
	/* Real output pads with more blanks and may omit the '+'. */
	assert_int_equal(lwreg_parse_line("   \"dcAccountPassword\"   REG_SZ"
	    "          \"a\\\"b\\\\c\"", &n, &v), 0);
	assert_string_equal(n, "dcAccountPassword");
	assert_string_equal(v, "a\"b\\c");
	free(n);
	free(v);
	assert_int_equal(lwreg_parse_line("[HKEY_THIS_MACHINE\\services]",
	    &n, &v), -1);
	assert_int_equal(lwreg_parse_line("+  \"x\"  REG_SZ  \"unterminated",
	    &n, &v), -1);
	assert_null(n);
	assert_int_equal(lwreg_parse_line("", &n, &v), -1);
}

static void
test_parse_time(void **state)
{
	time_t	 t;

	(void)state;
	assert_int_equal(parse_time("2029-04-06", &t), 0);
	assert_int_equal(t, 1870128000);
	assert_int_equal(parse_time("2029-04-06T11:57:19Z", &t), 0);
	assert_int_equal(t, 1870128000 + 11 * 3600 + 57 * 60 + 19);
	assert_int_equal(parse_time("2029-04-06 11:57", &t), 0);
	assert_int_equal(parse_time("@42", &t), 0);
	assert_int_equal(t, 42);
	assert_int_equal(parse_time("@", &t), -1);
	assert_int_equal(parse_time("2029-04-06x", &t), -1);
	assert_int_equal(parse_time("tomorrow", &t), -1);
	assert_int_equal(parse_time("", &t), -1);
}

static void
test_uri_host_and_domain_dn(void **state)
{
	char	*h, *dn;

	(void)state;
	h = uri_host("https://VC.example.com:443/sdk");
	assert_string_equal(h, "VC.example.com");
	free(h);
	h = uri_host("https://vc.example.com/lookupservice/sdk");
	assert_string_equal(h, "vc.example.com");
	free(h);
	h = uri_host("https://[fd00::1]:443/sdk");
	assert_string_equal(h, "fd00::1");
	free(h);
	assert_null(uri_host("vc.example.com:443"));
	assert_null(uri_host("https:///sdk"));
	dn = vmdir_domain_dn("vsphere.local");
	assert_string_equal(dn, "dc=vsphere,dc=local");
	free(dn);
	dn = vmdir_domain_dn("corp.example.com");
	assert_string_equal(dn, "dc=corp,dc=example,dc=com");
	free(dn);
}

static void
test_days_left_rounds_down(void **state)
{
	X509	*x = X509_new();
	time_t	 at = 1870128000;

	(void)state;
	assert_non_null(X509_time_adj_ex(X509_getm_notAfter(x), 0, 3600, &at));
	assert_int_equal(cert_days_left(x, at), 0);
	assert_non_null(X509_time_adj_ex(X509_getm_notAfter(x), 1, 0, &at));
	assert_int_equal(cert_days_left(x, at), 1);
	/* One second past Not After is the first day of expiry, not day 0. */
	assert_non_null(X509_time_adj_ex(X509_getm_notAfter(x), 0, -1, &at));
	assert_int_equal(cert_days_left(x, at), -1);
	X509_free(x);
}

static void
test_damaged_der_and_pem(void **state)
{
	static const unsigned char junk[] = { 0x30, 0x82, 0xff, 0xff, 0x01 };
	static const char pem[] = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n"
	    "-----END CERTIFICATE-----\n";
	STACK_OF(X509) *sk = NULL;
	X509	*x = NULL;
	const char *why = NULL;

	(void)state;
	assert_int_equal(cert_parse_der(junk, sizeof(junk), &x, &why), -1);
	assert_null(x);
	assert_int_equal(cert_parse_der(junk, 0, &x, &why), -1);
	assert_int_equal(cert_parse_pem_chain(pem, strlen(pem), &sk, &why), -1);
	assert_null(sk);
	assert_int_equal(cert_parse_pem_chain("", 0, &sk, &why), -1);
	assert_string_equal(why, "no PEM certificate");
}

/* A scratch ROOT with var/lib/vcrotate, for the journal (malloc'd). */
static char *
scratch_root(void)
{
	char	*root = strdup("/tmp/vcrotate-unit.XXXXXX"), *d = NULL;

	assert_non_null(root);
	assert_non_null(mkdtemp(root));
	assert_true(asprintf(&d, "%s/var", root) > 0);
	assert_int_equal(mkdir(d, 0700), 0);
	free(d);
	assert_true(asprintf(&d, "%s/var/lib", root) > 0);
	assert_int_equal(mkdir(d, 0700), 0);
	free(d);
	assert_true(asprintf(&d, "%s/var/lib/vcrotate", root) > 0);
	assert_int_equal(mkdir(d, 0700), 0);
	free(d);
	return root;
}

static void
scratch_free(char *root)
{
	char	*cmd = NULL;

	assert_true(asprintf(&cmd, "rm -rf '%s'", root) > 0);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(root);
}

/* What is written is read back, word for word, whatever the bytes. */
static void
test_journal_round_trip(void **state)
{
	static const char *const hdr[] = { JOURNAL_MAGIC, JOURNAL_VERSION };
	static const char *const odd[] = { "item", "vecs",
	    "STORE/a b\nc%%d\t\xff", "" };
	static const char *const step[] = { "step", "1", "sts" };
	struct journal j, k;
	struct buf err = BUF_INIT;
	char	*root = scratch_root();

	(void)state;
	memset(&j, 0, sizeof(j));
	assert_int_equal(journal_add(&j, hdr, 2), 0);
	assert_int_equal(journal_add(&j, odd, 4), 0);
	assert_int_equal(journal_create(&j, root, &err), 0);
	assert_int_equal(journal_append(&j, step, 3, &err), 0);
	/* A second journal is refused. */
	memset(&k, 0, sizeof(k));
	k.fd = -1;
	assert_int_equal(journal_create(&k, root, &err), -1);
	journal_free(&k);
	assert_int_equal(journal_load(&k, root, &err), 1);
	assert_int_equal(k.nrecs, 3);
	assert_int_equal(k.torn, 0);
	assert_int_equal(k.recs[1].n, 4);
	assert_string_equal(k.recs[1].words[2], odd[2]);
	assert_string_equal(k.recs[1].words[3], "");
	assert_string_equal(journal_value(&k, "step"), "1");
	assert_string_equal(journal_last(&k), "step");
	assert_null(journal_find(&k, "commit"));
	assert_int_equal(journal_remove(&k, &err), 0);
	journal_free(&k);
	assert_int_equal(journal_load(&k, root, &err), 0);
	journal_free(&k);
	journal_free(&j);
	buf_free(&err);
	scratch_free(root);
}

/* A journal under root holding its header only (of version). */
static void
header_only(struct journal *j, const char *root, const char *version)
{
	const char *const hdr[] = { JOURNAL_MAGIC, version };
	struct buf err = BUF_INIT;

	memset(j, 0, sizeof(*j));
	assert_int_equal(journal_add(j, hdr, 2), 0);
	assert_int_equal(journal_create(j, root, &err), 0);
	buf_free(&err);
}

/* Appends raw text to the journal under root. */
static void
append_raw(const char *root, const char *text)
{
	char	*path = journal_path(root);
	FILE	*f;

	assert_non_null(path);
	assert_non_null(f = fopen(path, "a"));
	fputs(text, f);
	fclose(f);
	free(path);
}

/* A torn last line was never written; damage before it is refused. */
static void
test_journal_torn_and_damaged(void **state)
{
	static const char *const c[] = { "commit" };
	struct journal j, k;
	struct buf err = BUF_INIT;
	char	*root = scratch_root();

	(void)state;
	header_only(&j, root, JOURNAL_VERSION);
	/* A commit without its newline, then one with a wrong sum. */
	append_raw(root, "commit\t");
	assert_int_equal(journal_load(&k, root, &err), 1);
	assert_int_equal(k.torn, 1);
	assert_null(journal_find(&k, "commit"));
	journal_free(&k);
	append_raw(root, "00000000\n");
	assert_int_equal(journal_load(&k, root, &err), 1);
	assert_int_equal(k.torn, 1);
	assert_null(journal_find(&k, "commit"));
	journal_free(&k);
	/* The bad line is no longer the last: corruption. */
	assert_int_equal(journal_append(&j, c, 1, &err), 0);
	assert_int_equal(journal_load(&k, root, &err), -1);
	assert_non_null(strstr(buf_str(&err), "line 2 is damaged"));
	journal_free(&k);
	journal_free(&j);
	buf_free(&err);
	scratch_free(root);
}

/* A journal loaded with a torn last line drops it before its next record:
 * recover appending to it leaves no damage behind for the run after. */
static void
test_journal_torn_then_appended(void **state)
{
	static const char *const rec[] = { "recover", "back", "42" };
	struct journal j, k;
	struct buf err = BUF_INIT;
	char	*root = scratch_root();

	(void)state;
	header_only(&j, root, JOURNAL_VERSION);
	journal_free(&j);
	append_raw(root, "commit\t00");
	assert_int_equal(journal_load(&k, root, &err), 1);
	assert_int_equal(k.torn, 1);
	assert_int_equal(journal_append(&k, rec, 3, &err), 0);
	journal_free(&k);
	assert_int_equal(journal_load(&k, root, &err), 1);
	assert_int_equal(k.torn, 0);
	assert_int_equal(k.nrecs, 2);
	assert_string_equal(journal_last(&k), "recover");
	assert_string_equal(journal_find_last(&k, "recover")->words[1], "back");
	assert_null(journal_find(&k, "commit"));
	journal_free(&k);
	buf_free(&err);
	scratch_free(root);
}

/* Only vcrotate journals of this version. */
static void
test_journal_refuses_strangers(void **state)
{
	struct journal j, k;
	struct buf err = BUF_INIT;
	char	*root = scratch_root();

	(void)state;
	header_only(&j, root, "2");
	assert_int_equal(journal_load(&k, root, &err), -1);
	assert_non_null(strstr(buf_str(&err), "journal version 2"));
	journal_free(&k);
	journal_free(&j);
	buf_free(&err);
	scratch_free(root);
}

/* What service-control --status --all lists under "Stopped:", and only. */
static void
test_services_status_parse(void **state)
{
	static const char status[] =
	    "Stopped:\n vmcam vmware-imagebuilder\n vsan-health\n"
	    "Running:\n vmafdd vmdird\n"
	    "StartPending:\n vpxd\n";
	static const char none[] = "Running:\n vmafdd vmdird\nStopped:\n";
	static const char odd[] = "Stopped:\nvmcam\n Stopped: x\n";
	struct buf names = BUF_INIT;

	(void)state;
	assert_int_equal(services_parse_stopped(status, strlen(status),
	    &names), 0);
	assert_string_equal(buf_str(&names),
	    " vmcam vmware-imagebuilder vsan-health");
	buf_reset(&names);
	assert_int_equal(services_parse_stopped(none, strlen(none), &names), 0);
	assert_string_equal(buf_str(&names), "");
	/* A name without its blank is still a name; a line starting with a
	 * blank never heads a section. */
	assert_int_equal(services_parse_stopped(odd, strlen(odd), &names), 0);
	assert_string_equal(buf_str(&names), " vmcam Stopped: x");
	buf_reset(&names);
	/* No newline at the end, and a length short of the text. */
	assert_int_equal(services_parse_stopped("Stopped:\n a b", 11, &names),
	    0);
	assert_string_equal(buf_str(&names), " a");
	buf_free(&names);
}

/* Of the services down, those a failed start --all names by vmon's short
 * name; all of them when the line says otherwise. */
static void
test_services_failed_to_start(void **state)
{
	static const char line[] = "Service-control failed. Error: Failed to "
	    "start services in profile ALL. RC=4, stderr=Failed to start vpxd, "
	    "vsphere-ui, eam services.";
	struct buf out = BUF_INIT;

	(void)state;
	assert_int_equal(services_failed_to_start(" vmware-vpxd vsphere-ui "
	    "vmware-imagebuilder vmware-eam vmware-vpxd-svcs", line, &out), 0);
	assert_string_equal(buf_str(&out), " vmware-vpxd vsphere-ui "
	    "vmware-eam");
	buf_reset(&out);
	/* a prefix is not a name: vpxd is not vpxd-svcs */
	assert_int_equal(services_failed_to_start(" vmware-vpxd-svcs "
	    "vmware-eam", line, &out), 0);
	assert_string_equal(buf_str(&out), " vmware-eam");
	buf_reset(&out);
	/* none of them named: all of them, never an empty list */
	assert_int_equal(services_failed_to_start(" vmcam", line, &out), 0);
	assert_string_equal(buf_str(&out), " vmcam");
	buf_reset(&out);
	assert_int_equal(services_failed_to_start(" vmware-vpxd vmcam",
	    "Error: something else", &out), 0);
	assert_string_equal(buf_str(&out), " vmware-vpxd vmcam");
	buf_free(&out);
}

/* The names stopped now that ran before, and that did not, whole words
 * only. */
static void
test_services_missing(void **state)
{
	struct buf out = BUF_INIT;

	(void)state;
	assert_int_equal(services_missing(" vmcam vpxd vsan", " vmcam", &out),
	    0);
	assert_string_equal(buf_str(&out), " vpxd vsan");
	buf_reset(&out);
	assert_int_equal(services_missing(" vsan-health", " vsan", &out), 0);
	assert_string_equal(buf_str(&out), " vsan-health");
	buf_reset(&out);
	assert_int_equal(services_missing(" vsan", " vsan-health vsan", &out),
	    0);
	assert_string_equal(buf_str(&out), "");
	assert_int_equal(services_missing("", "", &out), 0);
	assert_string_equal(buf_str(&out), "");
	/* and the ones in both: down now, and down before too */
	assert_int_equal(services_also(" vmcam vpxd vsan", " vsan-health vpxd",
	    &out), 0);
	assert_string_equal(buf_str(&out), " vpxd");
	buf_free(&out);
}

/*
 * A service-control of a few lines under root: --status --all lists the
 * names in ROOT/stopped as stopped; --start NAME takes NAME out of it,
 * except "broken", which never starts.
 */
static void
fake_service_control(const char *root, const char *stopped)
{
	static const char script[] = "#!/bin/sh\n"
	    "s=\"${0%/usr/bin/service-control}/stopped\"\n"
	    "case \"$1 $2\" in\n"
	    "'--status --all') printf 'Stopped:\\n %s\\nRunning:\\n x\\n' "
	    "\"$(cat \"$s\")\" ;;\n"
	    "'--start broken') echo 'broken: cannot start' >&2; exit 1 ;;\n"
	    "--start*) sed \"s/ *\\<$2\\>//\" \"$s\" >\"$s.new\" && "
	    "mv \"$s.new\" \"$s\" ;;\n"
	    "*) exit 2 ;;\n"
	    "esac\n";
	char	*p = NULL;
	FILE	*f;

	assert_true(asprintf(&p, "mkdir -p '%s/usr/bin'", root) > 0);
	assert_int_equal(system(p), 0);
	free(p);
	assert_true(asprintf(&p, "%s/usr/bin/service-control", root) > 0);
	assert_non_null(f = fopen(p, "w"));
	fputs(script, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(p, 0755), 0);
	free(p);
	assert_true(asprintf(&p, "%s/stopped", root) > 0);
	assert_non_null(f = fopen(p, "w"));
	fputs(stopped, f);
	assert_int_equal(fclose(f), 0);
	free(p);
}

/* A service that ran before is started by name; one that will not start
 * fails, named. */
static void
test_services_as_before(void **state)
{
	struct buf err = BUF_INIT, now = BUF_INIT;
	char	*root = scratch_root();

	(void)state;
	fake_service_control(root, "vmcam vpxd");
	assert_int_equal(services_check(root, &err), 0);
	assert_int_equal(services_stopped(root, &now, &err), 0);
	assert_string_equal(buf_str(&now), " vmcam vpxd");
	assert_int_equal(services_as_before(root, " vmcam", &err), 0);
	assert_int_equal(services_stopped(root, &now, &err), 0);
	assert_string_equal(buf_str(&now), " vmcam");
	assert_int_equal(err.len, 0);

	fake_service_control(root, "broken vmcam");
	assert_int_equal(services_as_before(root, "", &err), -1);
	assert_non_null(strstr(buf_str(&err), "service-control --start "
	    "broken failed: broken: cannot start"));
	buf_free(&err);
	buf_free(&now);
	scratch_free(root);
}

/*
 * The backup's commits, newest first, gathered by transaction: its first
 * commit is its outcome, the one marked "before" its before; a commit that
 * does not authenticate is kept apart; trailers are read after the subject
 * only (the subject holds the operator's reason).
 */
static void
test_history_from_trailers(void **state)
{
	static const char done[] = "Result: lie: snapshot of vc\n\n"
	    "Operator: ann\nReason: Result: lie\nTransaction: T1\n"
	    "Result: success\nSteps: 1 sts 0.4s\nVcrotate-MAC: 00\n";
	static const char before[] = "Ticket: CHG-1: snapshot of vc\n\n"
	    "Operator: ann\nReason: Ticket: CHG-1\nTransaction: T1\n"
	    "Result: before\n";
	static const char by_hand[] = "snapshot: snapshot of vc\n\n"
	    "Operator: bob\n";
	struct hist h;

	(void)state;
	memset(&h, 0, sizeof(h));
	assert_int_equal(hist_add("c3", 30, "x\n\nTransaction: T9\n"
	    "Result: success\n", "snapshot c3: FORGED", &h), 0);
	assert_int_equal(hist_add("c2", 20, done, NULL, &h), 0);
	assert_int_equal(hist_add("c1", 10, before, NULL, &h), 0);
	assert_int_equal(hist_add("c0", 5, by_hand, NULL, &h), 0);
	assert_int_equal(h.n, 1);
	assert_string_equal(h.v[0].txn, "T1");
	assert_string_equal(h.v[0].result, "success");
	assert_string_equal(h.v[0].operator, "ann");
	assert_string_equal(h.v[0].reason, "Result: lie");
	assert_null(h.v[0].ticket);
	assert_string_equal(h.v[0].steps, "1 sts 0.4s");
	assert_int_equal(h.v[0].when, 20);
	assert_string_equal(h.v[0].outcome, "c2");
	assert_string_equal(h.v[0].before, "c1");
	assert_int_equal(json_array_size(h.v[0].snapshots), 2);
	assert_int_equal(h.nbad, 1);
	assert_string_equal(h.bad[0].id, "c3");
	assert_string_equal(h.bad[0].txn, "T9");
	assert_string_equal(h.bad[0].why, "snapshot c3: FORGED");
	hist_free(&h);
	assert_int_equal(h.n, 0);
}

/* ---- plan rules ---- */

#define MID	"0f0e0d0c-0b0a-0908-0706-050403020100"
#define DDN	"dc=vsphere,dc=local"
#define TENANT	"cn=vsphere.local,cn=Tenants,cn=IdentityManager,cn=Services," DDN
#define D1	"sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2	"sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define CA_DN	"cn=64FF9BEC,cn=Certificate-Authorities,cn=Configuration," DDN
#define LEAF_DAYS(subject, san, ku, eku, days) \
	"{'subject':'" subject "','san':[" san "],'key_usage':[" ku "]," \
	"'extended_key_usage':[" eku "],'ca':false,'key':{'type':'RSA'," \
	"'bits':2048},'issuer':'the VMCA root','validity_days':" days "," \
	"'not_after_max':'2030-01-01T00:00:00Z'}"
#define LEAF(subject, san, ku, eku) LEAF_DAYS(subject, san, ku, eku, "730")
#define TARGET(type, place, action, digest) \
	"{'type':'" type "','place':'" place "','action':'" action "'," \
	"'digest':" digest "}"
#define STEP(n, kind, profile, targets) \
	"{'n':" n ",'kind':'" kind "','title':'t','why':[],'profile':" \
	profile ",'targets':[" targets "]}"

/* A plan as plan_build makes them (single quotes for double). */
static const char plan_text[] =
    "{'schema':'vcrotate.plan/1','created':'2026-11-27T23:58:16Z',"
    "'vcrotate_version':'0.1.0','appliance':{'pnid':'vcsa1.example.com',"
    "'machine_id':'" MID "','domain':'vsphere.local','site':'default-site',"
    "'node_type':'embedded'},'policy':{'renew_within_days':30,'scope':'all',"
    "'reset_all':false,'key_bits':2048,'validity_days':730,"
    "'prune_expired_roots':true,'san':[]},'steps':["
    STEP("1", "sts", LEAF_DAYS("CN=ssoserverSign",
	"'DNS:vcsa1.example.com'", "'digitalSignature'", "", "3650"),
	TARGET("vmdir", "cn=TenantCredential-1," TENANT, "replace", "'" D1 "'")
	"," TARGET("vmdir", "cn=TrustedCertChain-1,cn=TrustedCertificateChains,"
	TENANT, "replace", "'" D1 "'")
	"," TARGET("vmdir", "cn=TenantCredential-2," TENANT, "delete",
	"'" D2 "'")) ","
    STEP("2", "solution_user", LEAF("CN=vpxd, OU=mID-" MID ", DC=vsphere, "
	"DC=local", "'DNS:vcsa1.example.com'", "'digitalSignature',"
	"'keyEncipherment'", ""),
	TARGET("vecs", "vpxd/vpxd", "replace", "'" D1 "'")
	"," TARGET("vmdir", "cn=vpxd-" MID ",cn=ServicePrincipals," DDN,
	"replace", "'" D2 "'")) ","
    STEP("3", "machine_ssl", LEAF("CN=vcsa1.example.com",
	"'DNS:vcsa1.example.com','DNS:alias.example.com'",
	"'digitalSignature','keyEncipherment'", "'serverAuth'"),
	TARGET("vecs", "MACHINE_SSL_CERT/__MACHINE_CERT", "replace",
	"'" D1 "'")) ","
    STEP("4", "trust_anchors", "null",
	TARGET("vmdir", "cn=Endpoint1,cn=" MID "_com.vmware.cis.lookupservice,"
	"cn=ServiceRegistrations,cn=LookupService,cn=default-site,cn=Sites,"
	"cn=Configuration," DDN, "replace", "'" D1 "'")) ","
    STEP("5", "prune_roots", "null",
	TARGET("vmdir", CA_DN, "delete", "'" D1 "'")
	"," TARGET("vecs", "TRUSTED_ROOTS/3b98a111", "delete", "'" D2 "'")) ","
    STEP("6", "restart", "null",
	TARGET("services", "service-control", "restart", "null"))
    "],'left_alone':[],'sha256':'x'}";

static json_t *
plan_doc(void)
{
	char	*text = strdup(plan_text), *c;
	json_t	*doc;
	json_error_t jerr;

	assert_non_null(text);
	for (c = text; *c != '\0'; c++)
		if (*c == '\'')
			*c = '"';
	doc = json_loads(text, 0, &jerr);
	if (doc == NULL)
		fail_msg("template: %s at %d", jerr.text, jerr.position);
	free(text);
	return doc;
}

static json_t *
step_of(json_t *doc, size_t i)
{
	return json_array_get(json_object_get(doc, "steps"), i);
}

static json_t *
target_of(json_t *doc, size_t i, size_t j)
{
	return json_array_get(json_object_get(step_of(doc, i), "targets"), j);
}

/* plan_decode refuses doc (taken) with a reason holding want. */
static void
refused(json_t *doc, const char *want)
{
	struct plan *p = NULL;
	struct buf err = BUF_INIT;

	assert_int_equal(plan_decode(&p, doc, &err), -1);
	assert_null(p);
	if (strstr(buf_str(&err), want) == NULL)
		fail_msg("wanted \"%s\", got \"%s\"", want, buf_str(&err));
	buf_free(&err);
	json_decref(doc);
}

static void
test_plan_decoded_once(void **state)
{
	struct plan *p = NULL;
	struct buf err = BUF_INIT;
	json_t	*doc = plan_doc();

	(void)state;
	if (plan_decode(&p, doc, &err) == -1)
		fail_msg("%s", buf_str(&err));
	assert_int_equal(p->nsteps, 6);
	assert_int_equal(p->steps[0].kind, STEP_STS);
	assert_int_equal(p->steps[0].targets[2].action, ACTION_DELETE);
	assert_string_equal(p->steps[0].targets[2].digest, D2);
	assert_int_equal(p->steps[1].kind, STEP_SOLUTION_USER);
	assert_string_equal(p->steps[1].solution, "vpxd");
	assert_int_equal(p->steps[2].profile->key_usage,
	    PLAN_KU_DIGITAL_SIGNATURE | PLAN_KU_KEY_ENCIPHERMENT);
	assert_int_equal(p->steps[2].profile->ext_key_usage,
	    PLAN_EKU_SERVER_AUTH);
	assert_int_equal(p->steps[2].profile->nsan, 2);
	assert_int_equal(p->steps[2].profile->san[1].type, SAN_DNS);
	assert_null(p->steps[3].profile);
	assert_int_equal(p->steps[5].targets[0].type, TARGET_SERVICES);
	assert_string_equal(p->steps[5].targets[0].digest, "");
	assert_string_equal(p->app.domain_dn, DDN);
	assert_int_equal(p->policy.key_bits, 2048);
	plan_free(p);
	json_decref(doc);
	buf_free(&err);
}

static void
test_plan_refuses_what_plan_would_not_make(void **state)
{
	json_t	*d;

	(void)state;
	/* a prune deleting a user, even with a digest */
	d = plan_doc();
	json_object_set_new(target_of(d, 4, 0), "place",
	    json_string("cn=Administrator,cn=Users," DDN));
	refused(d, "step 5 (prune_roots), delete cn=Administrator,cn=Users,"
	    DDN ": a prune_roots step deletes only CA entries");
	/* ... or a group, or a CA entry two levels down */
	d = plan_doc();
	json_object_set_new(target_of(d, 4, 1), "place",
	    json_string("MACHINE_SSL_CERT/__MACHINE_CERT"));
	refused(d, "step 5 (prune_roots), delete MACHINE_SSL_CERT/");
	d = plan_doc();
	json_object_set_new(target_of(d, 4, 0), "place", json_string(
	    "cn=x,cn=y,cn=Certificate-Authorities,cn=Configuration," DDN));
	refused(d, "a prune_roots step deletes only");
	/* a delete without the digest of what it deletes, or an empty one */
	d = plan_doc();
	json_object_set_new(target_of(d, 4, 0), "digest", json_null());
	refused(d, "a delete carries the digest of what is there now");
	d = plan_doc();
	json_object_set_new(target_of(d, 4, 0), "digest", json_string(""));
	refused(d, "targets[0].digest must be null or sha256:");
	/* Machine SSL a CA, or allowed to sign */
	d = plan_doc();
	json_object_set_new(json_object_get(step_of(d, 2), "profile"), "ca",
	    json_true());
	refused(d, "step 3 (machine_ssl): a leaf certificate is never a CA");
	d = plan_doc();
	json_array_append_new(json_object_get(json_object_get(step_of(d, 2),
	    "profile"), "key_usage"), json_string("keyCertSign"));
	refused(d, "step 3 (machine_ssl): key usage keyCertSign is not one a "
	    "machine_ssl certificate has");
	d = plan_doc();
	json_array_append_new(json_object_get(json_object_get(step_of(d, 1),
	    "profile"), "key_usage"), json_string("cRLSign"));
	refused(d, "key usage cRLSign is not one a solution_user");
	/* kinds: unknown, or one swapped for another */
	d = plan_doc();
	json_object_set_new(step_of(d, 3), "kind", json_string("format_disk"));
	refused(d, "field steps[3].kind: unknown kind format_disk");
	d = plan_doc();
	json_object_set_new(step_of(d, 2), "kind", json_string("vmca_root"));
	refused(d, "step 3 (vmca_root): out of order");
	d = plan_doc();
	json_object_set_new(step_of(d, 0), "kind", json_string("vmca_root"));
	refused(d, "step 1 (vmca_root), replace cn=TenantCredential-1");
	/* places of another class, another solution user, another node */
	d = plan_doc();
	json_object_set_new(target_of(d, 1, 0), "place",
	    json_string("MACHINE_SSL_CERT/__MACHINE_CERT"));
	refused(d, "step 2 (solution_user), replace MACHINE_SSL_CERT/"
	    "__MACHINE_CERT: a solution_user step changes only");
	d = plan_doc();
	json_object_set_new(target_of(d, 1, 1), "place", json_string(
	    "cn=vpxd-11111111-0b0a-0908-0706-050403020100,"
	    "cn=ServicePrincipals," DDN));
	refused(d, "a solution_user step changes only its own");
	d = plan_doc();
	json_object_set_new(target_of(d, 1, 1), "place", json_string(
	    "cn=machine-" MID ",cn=ServicePrincipals," DDN));
	refused(d, "not solution user vpxd's");
	d = plan_doc();
	json_object_set_new(target_of(d, 0, 2), "place",
	    json_string("cn=Administrator,cn=Users," DDN));
	refused(d, "step 1 (sts), delete cn=Administrator");
	d = plan_doc();
	json_object_set_new(target_of(d, 0, 0), "place",
	    json_string("cn=TenantCredential-7," TENANT));
	refused(d, "an sts step changes only");
	d = plan_doc();
	json_object_set_new(target_of(d, 3, 0), "place",
	    json_string("cn=Administrator,cn=Users," DDN));
	refused(d, "a trust_anchors step replaces only");
	d = plan_doc();
	json_object_set_new(target_of(d, 2, 0), "place",
	    json_string("vpxd/vpxd"));
	refused(d, "a machine_ssl step changes only");
	/* names */
	d = plan_doc();
	json_array_append_new(json_object_get(json_object_get(step_of(d, 0),
	    "profile"), "san"), json_string("DNS:evil.example.com"));
	refused(d, "step 1 (sts): its certificate names the PNID alone");
	d = plan_doc();
	json_array_remove(json_object_get(json_object_get(step_of(d, 2),
	    "profile"), "san"), 0);
	refused(d, "step 3 (machine_ssl): the SAN must begin with the PNID");
	d = plan_doc();
	json_object_set_new(json_object_get(step_of(d, 2), "profile"),
	    "subject", json_string("CN=evil.example.com"));
	refused(d, "subject CN=evil.example.com, where plan makes");
	/* keys, order, numbers */
	d = plan_doc();
	json_object_set_new(json_object_get(json_object_get(step_of(d, 2),
	    "profile"), "key"), "bits", json_integer(16384));
	refused(d, "profile.key must be RSA of 2048, 3072 or 4096 bits");
	d = plan_doc();
	json_array_insert_new(json_object_get(d, "steps"), 0,
	    json_deep_copy(step_of(d, 2)));
	refused(d, "field steps[0].n must be 1");
	d = plan_doc();
	json_object_set_new(target_of(d, 3, 0), "action", json_string("delete"));
	refused(d, "a trust_anchors step replaces only");
	d = plan_doc();
	json_object_set_new(target_of(d, 1, 0), "digest", json_null());
	json_object_set_new(target_of(d, 1, 0), "action", json_string("add"));
	json_object_set_new(target_of(d, 1, 1), "action", json_string("add"));
	refused(d, "an add has no digest");
}

/* The defect of old: an unknown DN's digest matched an empty one. */
static void
test_plan_live_items_exist(void **state)
{
	struct inventory inv;
	struct inv_ca ca;
	struct plan *p = NULL;
	struct buf err = BUF_INIT;
	json_t	*doc = plan_doc();

	(void)state;
	if (plan_decode(&p, doc, &err) == -1)
		fail_msg("%s", buf_str(&err));
	memset(&inv, 0, sizeof(inv));
	memset(&ca, 0, sizeof(ca));
	/* A Machine SSL name neither a --san nor in the certificate now. */
	assert_int_equal(plan_check_live(p, &inv, &err), -1);
	assert_non_null(strstr(buf_str(&err), "step 3 (machine_ssl): SAN "
	    "DNS:alias.example.com is neither the PNID, nor a --san"));
	plan_free(p);
	buf_reset(&err);
	/* As a --san it may; then every item must be there, as it was. */
	json_array_append_new(json_object_get(json_object_get(doc, "policy"),
	    "san"), json_string("alias.example.com"));
	if (plan_decode(&p, doc, &err) == -1)
		fail_msg("%s", buf_str(&err));
	ca.dn = (char *)CA_DN;
	snprintf(ca.digest, sizeof(ca.digest), "%s", D2);
	inv.cas = &ca;
	inv.ncas = 1;
	assert_int_equal(plan_check_live(p, &inv, &err), -1);
	assert_non_null(strstr(buf_str(&err), "the appliance changed since"));
	assert_non_null(strstr(buf_str(&err), "\n  " CA_DN
	    " (content differs)"));
	assert_non_null(strstr(buf_str(&err), "\n  vpxd/vpxd (gone)"));
	assert_non_null(strstr(buf_str(&err), "\n  cn=Endpoint1,cn=" MID
	    "_com.vmware.cis.lookupservice,cn=ServiceRegistrations,"
	    "cn=LookupService,cn=default-site,cn=Sites,cn=Configuration,"
	    DDN " (gone, or not an endpoint of this node)"));
	assert_null(strstr(buf_str(&err), "service-control"));
	assert_string_equal(plan_live_digest(&inv, &p->steps[4],
	    &p->steps[4].targets[0]), D2);
	assert_string_equal(plan_live_digest(&inv, &p->steps[0],
	    &p->steps[0].targets[0]), "");
	/* A CA entry's DN as an STS target is not an STS entry. */
	inv.cas[0].dn = (char *)("cn=TenantCredential-2," TENANT);
	assert_string_equal(plan_live_digest(&inv, &p->steps[0],
	    &p->steps[0].targets[2]), "");
	plan_free(p);
	json_decref(doc);
	buf_free(&err);
}

/* psql -A -t -z -0: every field ends in a zero byte; values may hold
 * '|' and newlines; anything but whole rows of two fields is refused. */
static void
test_vcdb_parse(void **state)
{
	static const char out[] = "com.vmware.vim.eam\0AB:CD\0a|b\nc\0\0";
	struct vcdb_row *rows = NULL;
	const char *why = NULL;
	size_t	 n = 0;

	(void)state;
	assert_int_equal(vcdb_parse(out, sizeof(out) - 1, &rows, &n, &why), 0);
	assert_int_equal(n, 2);
	assert_string_equal(rows[0].ext_id, "com.vmware.vim.eam");
	assert_string_equal(rows[0].thumbprint, "AB:CD");
	assert_string_equal(rows[1].ext_id, "a|b\nc");
	assert_string_equal(rows[1].thumbprint, "");
	assert_int_equal(strncmp(rows[0].digest, "sha256:", 7), 0);
	vcdb_rows_free(rows, n);
	assert_int_equal(vcdb_parse(out, 0, &rows, &n, &why), 0);
	assert_int_equal(n, 0);
	/* A row cut short, a row without its ext_id. */
	assert_int_equal(vcdb_parse(out, 22, &rows, &n, &why), -1);
	assert_non_null(why);
	assert_int_equal(vcdb_parse("\0AB\0", 4, &rows, &n, &why), -1);
	assert_true(vcdb_thumbprint_ok("2A:4F:0A:FF:98:DD:AE:2B:6C:11:47:BB:87:08:BB:30:FD:BD:BB:87"));
	assert_false(vcdb_thumbprint_ok("2a:4f:0a:ff:98:dd:ae:2b:6c:11:47:bb:87:08:bb:30:fd:bd:bb:87"));
	assert_false(vcdb_thumbprint_ok("2A4F"));
	assert_string_equal(vcdb_place_ext("VCDB/vpx_ext/com.vmware.rbd"), "com.vmware.rbd");
	assert_null(vcdb_place_ext("VCDB/vpx_ext/"));
}

/* sqlite3 -ascii: fields end in US (0x1f), rows in RS (0x1e); rowids
 * are decimal; anything else is refused. */
static void
test_rbd_parse(void **state)
{
	static const char out[] = "1\x1f" "AB:CD\x1e" "12\x1f\x1e";
	struct rbd_row *rows = NULL;
	const char *why = NULL;
	size_t	 n = 0;

	(void)state;
	assert_int_equal(rbd_parse(out, sizeof(out) - 1, &rows, &n, &why), 0);
	assert_int_equal(n, 2);
	assert_int_equal(rows[0].id, 1);
	assert_string_equal(rows[0].thumbprint, "AB:CD");
	assert_int_equal(rows[1].id, 12);
	assert_string_equal(rows[1].thumbprint, "");
	assert_int_equal(strncmp(rows[0].digest, "sha256:", 7), 0);
	assert_ptr_equal(rbd_row(rows, n, 12), &rows[1]);
	assert_null(rbd_row(rows, n, 3));
	rbd_rows_free(rows, n);
	/* A row cut short, a third field, a rowid not a number. */
	assert_int_equal(rbd_parse(out, 7, &rows, &n, &why), -1);
	assert_non_null(why);
	assert_int_equal(rbd_parse("1\x1f" "a\x1f" "b\x1e", 6, &rows, &n,
	    &why), -1);
	assert_int_equal(rbd_parse("-1\x1f" "AB\x1e", 6, &rows, &n, &why), -1);
	assert_int_equal(rbd_place_id("AutoDeploy/vc_servers/42"), 42);
	assert_int_equal(rbd_place_id("AutoDeploy/vc_servers/4x"), -1);
	assert_int_equal(rbd_place_id("AutoDeploy/vc_servers/"), -1);
	assert_int_equal(rbd_place_id("VCDB/vpx_ext/1"), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vecs_listing),
		cmocka_unit_test(test_vecs_listing_refuses_what_does_not_add_up),
		cmocka_unit_test(test_vecs_listing_unknown_type_kept),
		cmocka_unit_test(test_lwregshell_lines),
		cmocka_unit_test(test_parse_time),
		cmocka_unit_test(test_uri_host_and_domain_dn),
		cmocka_unit_test(test_days_left_rounds_down),
		cmocka_unit_test(test_damaged_der_and_pem),
		cmocka_unit_test(test_journal_round_trip),
		cmocka_unit_test(test_journal_torn_and_damaged),
		cmocka_unit_test(test_journal_torn_then_appended),
		cmocka_unit_test(test_journal_refuses_strangers),
		cmocka_unit_test(test_services_status_parse),
		cmocka_unit_test(test_services_missing),
		cmocka_unit_test(test_services_failed_to_start),
		cmocka_unit_test(test_services_as_before),
		cmocka_unit_test(test_history_from_trailers),
		cmocka_unit_test(test_plan_decoded_once),
		cmocka_unit_test(test_plan_refuses_what_plan_would_not_make),
		cmocka_unit_test(test_plan_live_items_exist),
		cmocka_unit_test(test_vcdb_parse),
		cmocka_unit_test(test_rbd_parse),
	};
	int	 rc;

	rc = cmocka_run_group_tests_name("engine", tests, NULL, NULL);
	cert_cleanup();
	return rc;
}
