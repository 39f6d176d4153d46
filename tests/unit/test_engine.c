/*
 * test_engine.c - unit tests of the engine's parsers of outside input:
 * vecs-cli's entry listing, lwregshell's value lines, dates given to --at,
 * LDAP URIs and domains, and certificate day counts.
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
#include "journal.h"
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
	};
	int	 rc;

	rc = cmocka_run_group_tests_name("engine", tests, NULL, NULL);
	cert_cleanup();
	return rc;
}
