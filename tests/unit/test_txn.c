/*
 * test_txn.c - engine/txn.c driven through a fake appliance, in process.
 *
 * The transaction (txn.c), its journal (journal.c) and the file writes
 * (fileio.c) are the real ones; the appliance, the backup session and the
 * services are fakes linked in their place: an appliance of NITEMS values,
 * old (0) or new (1), whose snapshots are copies of it. Every side effect of
 * the fakes passes fault_point, as the real adapters' do.
 *
 * The sweep is SQLite's "fail at N": a clean transaction is run once with
 * VCROTATE_FAULT_LOG to count its side effects, then again with the Nth
 * failing, for every N. Each run must end wholly old or wholly new, with
 * an outcome that says which, and a journal left only where recover has
 * something to finish (a commit to clean up, a rollback that failed).
 * The lab's sweeps (tests/e2e/t1500-recover.sh) do the same with the real
 * appliance tools and with kills.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "appliance.h"
#include "fault.h"
#include "inventory.h"
#include "journal.h"
#include "lock.h"
#include "repo.h"
#include "services.h"
#include "session.h"
#include "txn.h"
#include "vcdb.h"

#define NITEMS	5
#define NSNAPS	16

/* ---- the fake appliance ---- */

static struct {
	int	 items[NITEMS];		/* 0 old, 1 new */
	struct {
		char	 id[41];
		int	 items[NITEMS];
	}	 snaps[NSNAPS];
	int	 nsnaps;
	char	 outcome[64];		/* the last result recorded */
	int	 fail_verify;
} fake;

static void
fake_reset(void)
{
	memset(&fake, 0, sizeof(fake));
}

static int
all(int v)
{
	int	 i;

	for (i = 0; i < NITEMS; i++)
		if (fake.items[i] != v)
			return 0;
	return 1;
}

/* ---- fakes of what txn.c calls beyond the leaves ---- */

char *
app_path(const char *root, const char *rel)
{
	char	*p;

	return asprintf(&p, "%s/%s", root, rel) == -1 ? NULL : p;
}

void appliance_free(struct appliance *app) { (void)app; }
int
appliance_identify(struct appliance *app, const char *root, struct buf *err)
{
	(void)app; (void)root; (void)err;
	return 0;
}
int ask_terminal(const char *q) { (void)q; return 1; }
const char *config_operator(void) { return "tester"; }
int
config_login(const struct config *cfg, struct vmdir_login *l, struct buf *e)
{
	(void)cfg; (void)l; (void)e;
	return 0;
}
void vmdir_close(struct vmdir *vd) { (void)vd; }
void vmdir_login_free(struct vmdir_login *l) { (void)l; }
int
inventory_read(struct inventory *inv, const char *root,
    const struct vmdir_login *login, const char *login_error, unsigned flags)
{
	(void)inv; (void)root; (void)login; (void)login_error; (void)flags;
	return -1;
}
void inventory_free(struct inventory *inv) { (void)inv; }
const struct inv_vecs_entry *
inventory_vecs(const struct inventory *inv, const char *s, const char *a)
{
	(void)inv; (void)s; (void)a;
	return NULL;
}
int
writer_begin(struct config *cfg, const char *who, int recovering,
    int *lockfd, struct buf *err)
{
	(void)cfg; (void)who; (void)recovering; (void)err;
	*lockfd = -1;
	return 0;
}
int journal_pending(const char *root, struct buf *err)
{
	(void)root; (void)err;
	return 0;
}

int
services_stopped(const char *root, struct buf *names, struct buf *err)
{
	(void)root; (void)err;
	buf_reset(names);
	return 0;
}
int
services_as_before(const char *root, const char *before, struct buf *err)
{
	(void)root; (void)before; (void)err;
	return 0;
}
int
services_also(const char *now, const char *before, struct buf *out)
{
	(void)now; (void)before; (void)out;
	return 0;	/* txn_still_down is apply's, not tested here */
}
int
services_start_vmafd_vmdir(const char *root, struct buf *err)
{
	(void)root; (void)err;
	return 0;
}
/* The faked appliance has no VCDB. */
int
vcdb_ensure(const char *root, struct buf *err)
{
	(void)root; (void)err;
	return 0;
}
X509 *services_served_cert(int port, const char *host)
{
	(void)port; (void)host;
	return NULL;
}
int
services_stop(const char *root, const char *what, struct buf *err)
{
	(void)root; (void)what;
	if (fault_point("service-control --stop", err) == -1)
		return -1;
	fault_done();
	return 0;
}
int
services_start(const char *root, const char *what, struct buf *err)
{
	(void)root; (void)what;
	if (fault_point("service-control --start", err) == -1)
		return -1;
	fault_done();
	return 0;
}

void backup_session_close(struct bk_session *s) { (void)s; }
int
backup_session_open(struct bk_session **out, struct config *cfg,
    const struct appliance *app, const struct vmdir_login *login,
    int create, struct buf *err)
{
	(void)cfg; (void)app; (void)login; (void)create; (void)err;
	*out = NULL;
	return 0;
}
const char *
cmdline_get(const struct cmdline *cl, const char *name)
{
	(void)cl; (void)name;
	return NULL;
}

int
backup_session_snapshot(struct bk_session *s, const struct bk_meta *meta,
    const char *const *absent, size_t nabsent, char id[41], struct buf *err)
{
	(void)s; (void)absent; (void)nabsent;
	if (fake.nsnaps == NSNAPS || fault_point("git ref update", err) == -1)
		return -1;
	snprintf(fake.snaps[fake.nsnaps].id, 41, "%040d", fake.nsnaps + 1);
	memcpy(fake.snaps[fake.nsnaps].items, fake.items, sizeof(fake.items));
	snprintf(id, 41, "%s", fake.snaps[fake.nsnaps++].id);
	snprintf(fake.outcome, sizeof(fake.outcome), "%s", meta->result);
	fault_done();
	return 0;
}

int
backup_session_mark(struct bk_session *s, const char *rev,
    const struct bk_meta *meta, char id[41], struct buf *err)
{
	(void)s; (void)rev;
	if (fault_point("git ref update", err) == -1)
		return -1;
	snprintf(fake.outcome, sizeof(fake.outcome), "%s", meta->result);
	snprintf(id, 41, "%040d", 99);
	fault_done();
	return 0;
}

/* Every item written back, each a side effect, as restore's are. */
int
backup_session_restore(struct bk_session *s, const char *rev, long *changes,
    struct buf *err)
{
	int	 k, i;

	(void)s;
	for (k = 0; k < fake.nsnaps; k++)
		if (strcmp(fake.snaps[k].id, rev) == 0)
			break;
	if (k == fake.nsnaps) {
		buf_printf(err, "no snapshot %s", rev);
		return -1;
	}
	for (i = 0; i < NITEMS; i++) {
		if (fake.items[i] == fake.snaps[k].items[i])
			continue;
		if (fault_point("fake restore", err) == -1)
			return -1;
		fake.items[i] = fake.snaps[k].items[i];
		fault_done();
	}
	if (changes != NULL)
		*changes = 0;
	return 0;
}

/* ---- the transaction under test ---- */

static int
change(struct txn *t, void *arg)
{
	int	 i;

	(void)arg;
	for (i = 0; i < NITEMS; i++) {
		if (txn_change(t) == -1 ||
		    fault_point("fake write", &t->err) == -1)
			return -1;
		fake.items[i] = 1;
		fault_done();
	}
	return 0;
}

static int
verify(struct txn *t, void *arg)
{
	(void)arg;
	if (txn_restart(t) == -1)
		return -1;
	if (fake.fail_verify) {
		buf_printf(&t->err, "verify: a service did not come back");
		return -1;
	}
	return 0;
}

static char	 root[64];

static int
setup(void **state)
{
	char	 dir[128];

	(void)state;
	snprintf(root, sizeof(root), "/tmp/test_txn.XXXXXX");
	if (mkdtemp(root) == NULL)
		return -1;
	snprintf(dir, sizeof(dir), "%s/var", root);
	mkdir(dir, 0700);
	snprintf(dir, sizeof(dir), "%s/var/lib", root);
	mkdir(dir, 0700);
	snprintf(dir, sizeof(dir), "%s/var/lib/vcrotate", root);
	return mkdir(dir, 0700);
}

static int
teardown(void **state)
{
	char	 cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static int
journal_exists(void)
{
	char	 p[128];

	snprintf(p, sizeof(p), "%s/var/lib/vcrotate/journal", root);
	return access(p, F_OK) == 0;
}

/* Whether the journal on disk has a record w (read as recover reads it). */
static int
journal_says(const char *w)
{
	struct journal j;
	struct buf err = BUF_INIT;
	int	 found;

	memset(&j, 0, sizeof(j));
	j.fd = -1;
	found = journal_load(&j, root, &err) == 1 &&
	    journal_find(&j, w) != NULL;
	journal_free(&j);
	buf_free(&err);
	return found;
}

static void
journal_gone(void)
{
	char	 p[128];

	snprintf(p, sizeof(p), "%s/var/lib/vcrotate/journal", root);
	unlink(p);
}

/*
 * One transaction from TXN_IDLE: lock, before snapshot, journal, txn_run.
 * Progress (txn_say) goes to /dev/null. The exit code; *result set.
 */
static int
one(int keep, char before[41], const char **result)
{
	static const struct txn_ops plain = { change, verify, 0 };
	static const struct txn_ops kept = { change, verify, 1 };
	struct config cfg;
	struct txn t;
	int	 ret, out = dup(STDOUT_FILENO), null = open("/dev/null",
	    O_WRONLY);

	memset(&cfg, 0, sizeof(cfg));
	cfg.root = root;
	cfg.backup_repo = root;
	fflush(stdout);
	dup2(null, STDOUT_FILENO);
	*result = "refused";
	if (txn_init(&t, &cfg, "apply", "test") == -1)
		return -1;
	t.login.uri = (char *)"ldap://fake";
	if ((ret = txn_lock(&t, 0, 0)) == 0) {
		if (txn_services_now(&t) == -1 || txn_before(&t, NULL, 0) == -1 ||
		    txn_begin(&t, NULL, NULL, NULL, "test", "x") == -1)
			ret = txn_refused(&t, 0);
		else
			ret = txn_run(&t, keep ? &kept : &plain, NULL, result);
	}
	snprintf(before, 41, "%s", t.before);
	t.login.uri = NULL;
	txn_free(&t);
	fflush(stdout);
	dup2(out, STDOUT_FILENO);
	close(out);
	close(null);
	return ret;
}

/* How many side effects a clean transaction passes. */
static int
count_points(void)
{
	char	 log[128], line[256];
	char	 before[41];
	const char *result;
	FILE	*f;
	int	 n = 0;

	snprintf(log, sizeof(log), "%s/points", root);
	setenv("VCROTATE_FAULT_LOG", log, 1);
	unsetenv("VCROTATE_FAULT");
	fault_reset();
	fake_reset();
	assert_int_equal(one(0, before, &result), TXN_EXIT_OK);
	assert_true(all(1));
	assert_string_equal(result, "success");
	assert_string_equal(fake.outcome, "success");
	assert_false(journal_exists());
	unsetenv("VCROTATE_FAULT_LOG");
	fault_reset();
	assert_non_null(f = fopen(log, "r"));
	while (fgets(line, sizeof(line), f) != NULL)
		n++;
	fclose(f);
	unlink(log);
	return n;
}

/* Failing at every side effect: wholly old or wholly new, said so. */
static void
test_txn_fail_at_every_point(void **state)
{
	char	 spec[32], before[41];
	const char *result;
	int	 n, k, ret, olds = 0, news = 0;

	(void)state;
	n = count_points();
	/* locks nothing, 2 snapshots, journal create and appends, NITEMS
	 * writes, a restart, the outcome, the journal's removal */
	assert_true(n > NITEMS + 8);
	for (k = 1; k <= n; k++) {
		snprintf(spec, sizeof(spec), "fail:%d", k);
		setenv("VCROTATE_FAULT", spec, 1);
		fault_reset();
		fake_reset();
		journal_gone();
		ret = one(0, before, &result);
		if (ret == TXN_EXIT_STUCK) {
			/* The rollback's own restore failed: the journal
			 * stays, and recover puts the before state back. */
			assert_true(journal_exists());
			assert_string_equal(result, "rollback incomplete");
			assert_int_equal(backup_session_restore(NULL, before,
			    NULL, NULL), 0);
		} else if (ret == TXN_EXIT_OK) {
			/* Past the commit point: the outcome or the journal's
			 * removal failed, and it is said, not undone; a
			 * journal left says commit, so recover goes forward. */
			assert_string_equal(result, "success");
			assert_true(!journal_exists() || journal_says("commit"));
		} else {
			assert_true(ret == TXN_EXIT_FAILED ||
			    ret == TXN_EXIT_REFUSED);
			assert_false(journal_exists());
			assert_true(strcmp(result, "rolled back") == 0 ||
			    strcmp(result, "failed, nothing changed") == 0 ||
			    strcmp(result, "refused") == 0);
		}
		if (all(0))
			olds++;
		else if (all(1))
			news++;
		else
			fail_msg("fail:%d left the fake appliance mixed", k);
		assert_int_equal(ret == TXN_EXIT_OK, all(1));
	}
	unsetenv("VCROTATE_FAULT");
	fault_reset();
	journal_gone();
	print_message("txn: %d side effects, each failed in turn: %d ended "
	    "old, %d new, none mixed\n", n, olds, news);
	assert_true(olds > NITEMS);
}

/* A verify that fails: rolled back, or with keep_on_failure left new. */
static void
test_txn_verify_fails(void **state)
{
	char	 before[41];
	const char *result;

	(void)state;
	journal_gone();
	fake_reset();
	fake.fail_verify = 1;
	assert_int_equal(one(0, before, &result), TXN_EXIT_FAILED);
	assert_string_equal(result, "rolled back");
	assert_string_equal(fake.outcome, "rolled back");
	assert_true(all(0));
	assert_false(journal_exists());

	fake_reset();
	fake.fail_verify = 1;
	assert_int_equal(one(1, before, &result), TXN_EXIT_FAILED);
	assert_string_equal(result, "failed, kept");
	assert_string_equal(fake.outcome, "failed, kept");
	assert_true(all(1));
	assert_false(journal_exists());
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_txn_fail_at_every_point),
		cmocka_unit_test(test_txn_verify_fails),
	};

	return cmocka_run_group_tests_name("txn", tests, setup, teardown);
}
