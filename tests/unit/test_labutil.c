/*
 * test_labutil.c - unit tests of the lab's shared helpers: the registry
 * format (escaping, case-insensitive keys), key=value files, atomic writes,
 * lab_root and the service model probe.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "labutil.h"

static char *
scratch(void)
{
	char	 tmpl[] = "/tmp/labutil-test.XXXXXX";
	char	*d = mkdtemp(tmpl);

	assert_non_null(d);
	return strdup(d);
}

static void
rmtree(const char *dir)
{
	char	*cmd = NULL;

	assert_true(asprintf(&cmd, "rm -rf '%s'", dir) != -1);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static void
write_registry(const char *root, const char *text)
{
	char	*path = lab_path(root, LAB_REGISTRY), *dir = NULL;

	assert_non_null(path);
	dir = strdup(path);
	*strrchr(dir, '/') = '\0';
	assert_int_equal(lab_mkdirs(dir, 0700), 0);
	assert_int_equal(lab_write_file_atomic(path, text, strlen(text), 0600), 0);
	free(dir);
	free(path);
}

static void
test_registry_unescapes_and_ignores_key_case(void **state)
{
	char	*root = scratch(), *v;

	(void)state;
	write_registry(root,
	    "[HKEY_THIS_MACHINE\\Services\\vmafd\\Parameters]\n"
	    "dcAccountPassword=wrong section\n"
	    "[HKEY_THIS_MACHINE\\Services\\vmdir]\n"
	    "dcAccountDN=cn=vc,ou=Domain Controllers,dc=vsphere,dc=local\n"
	    "dcAccountPassword=a\\\\b\"c\\nd=e\n");
	v = lab_reg_get(root, "hkey_this_machine\\services\\VMDIR",
	    "dcaccountpassword");
	assert_non_null(v);
	assert_string_equal(v, "a\\b\"c\nd=e");
	free(v);
	v = lab_reg_get(root, LAB_REG_VMDIR, "dcAccountDN");
	assert_string_equal(v, "cn=vc,ou=Domain Controllers,dc=vsphere,dc=local");
	free(v);
	errno = 0;
	assert_null(lab_reg_get(root, LAB_REG_VMDIR, "missing"));
	assert_int_equal(errno, ENOENT);
	assert_null(lab_reg_get(root, "HKEY_THIS_MACHINE\\Services\\nope", "x"));
	assert_int_equal(errno, ENOENT);
	rmtree(root);
	free(root);
}

static void
test_conf_set_replaces_in_place(void **state)
{
	char	*root = scratch(), *file = lab_path(root, "x.conf"), *v, *buf;

	(void)state;
	assert_int_equal(lab_conf_set(file, "a", "1"), 0);
	assert_int_equal(lab_conf_set(file, "b", "2"), 0);
	assert_int_equal(lab_conf_set(file, "a", "10"), 0);
	assert_int_equal(lab_read_file(file, &buf, NULL), 0);
	assert_string_equal(buf, "a=10\nb=2\n");
	free(buf);
	v = lab_conf_get(file, "b");
	assert_string_equal(v, "2");
	free(v);
	/* A key that is a prefix of another is not confused with it. */
	assert_null(lab_conf_get(file, "ab"));
	assert_int_equal(lab_conf_set(file, "bad", "line\nbreak"), -1);
	assert_int_equal(errno, EINVAL);
	rmtree(root);
	free(root);
	free(file);
}

static void
test_atomic_write_sets_mode_and_leaves_no_temp(void **state)
{
	char	*root = scratch(), *file = lab_path(root, "secret"), *cmd = NULL;
	struct stat st;
	char	*buf;
	size_t	 len;

	(void)state;
	assert_int_equal(lab_write_file_atomic(file, "old", 3, 0644), 0);
	assert_int_equal(lab_write_file_atomic(file, "new\0bytes", 9, 0600), 0);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(lab_read_file(file, &buf, &len), 0);
	assert_int_equal(len, 9);
	assert_memory_equal(buf, "new\0bytes", 9);
	free(buf);
	assert_true(asprintf(&cmd, "test $(ls -A '%s' | wc -l) -eq 1", root) != -1);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	rmtree(root);
	free(root);
	free(file);
}

static void
test_lab_root_and_paths(void **state)
{
	char	*r, *p;

	(void)state;
	setenv("VCROTATE_LAB_ROOT", "/some/lab", 1);
	r = lab_root(LAB_VECS_CLI);
	assert_string_equal(r, "/some/lab");
	free(r);
	unsetenv("VCROTATE_LAB_ROOT");
	/* This test program does not sit at a lab path. */
	assert_null(lab_root(LAB_VECS_CLI));
	assert_int_equal(errno, EINVAL);
	p = lab_path("/lab//", "etc/x");
	assert_string_equal(p, "/lab/etc/x");
	free(p);
	p = lab_path("/", "etc/x");
	assert_string_equal(p, "/etc/x");
	free(p);
}

static void
test_service_model_probe(void **state)
{
	char	*root = scratch(), *dir = lab_path(root, LAB_SERVICES_DIR);
	char	*f = NULL;

	(void)state;
	assert_int_equal(lab_service_running(root, "vmafdd"), -1);
	assert_int_equal(lab_mkdirs(dir, 0755), 0);
	assert_int_equal(lab_service_running(root, "vmafdd"), 0);
	assert_true(asprintf(&f, "%s/vmafdd", dir) != -1);
	assert_int_equal(lab_write_file_atomic(f, "", 0, 0644), 0);
	assert_int_equal(lab_service_running(root, "vmafdd"), 1);
	free(f);
	rmtree(root);
	free(root);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry_unescapes_and_ignores_key_case),
		cmocka_unit_test(test_conf_set_replaces_in_place),
		cmocka_unit_test(test_atomic_write_sets_mode_and_leaves_no_temp),
		cmocka_unit_test(test_lab_root_and_paths),
		cmocka_unit_test(test_service_model_probe),
	};

	return cmocka_run_group_tests_name("labutil", tests, NULL, NULL);
}
