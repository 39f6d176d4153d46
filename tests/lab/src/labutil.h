/*
 * labutil.h - small helpers shared by the lab's programs (vecs-cli, vmafd-cli,
 * lwregshell, service-control, labgen): where the lab root is, paths under it,
 * whole-file reads, atomic writes, key=value files, the lab's registry, and
 * what more than one of them needs besides (freeing secrets, hex, a password
 * callback for OpenSSL).
 *
 * Conventions: functions return 0 on success and -1 on failure with errno set,
 * or a malloc'd pointer (caller frees) / NULL on failure. Nothing here prints.
 */
#ifndef LABUTIL_H
#define LABUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* Paths of the imitated appliance, relative to the lab root. */
#define LAB_VECS_CLI        "usr/lib/vmware-vmafd/bin/vecs-cli"
#define LAB_VMAFD_CLI       "usr/lib/vmware-vmafd/bin/vmafd-cli"
#define LAB_LWREGSHELL      "opt/likewise/bin/lwregshell"
#define LAB_SERVICE_CONTROL "usr/bin/service-control"
#define LAB_NODE_TYPE       "etc/vmware/deployment.node.type"
#define LAB_VCROTATE_CONF   "etc/vcrotate/vcrotate.conf"
#define LAB_VMCA_ROOT       "var/lib/vmware/vmca/root.cer"
#define LAB_VMCA_KEY        "var/lib/vmware/vmca/privatekey.pem"
#define LAB_VECS_DIR        "storage/db/vmware-vmafd/vecs"
/* vsan-health's copy of the vpxd-extension certificate and key (Broadcom's
 * vCert, docs/lab.md "vsan-health"). */
#define LAB_VSAN_CERT       "storage/vsan-health/vpxd-extension.cert"
#define LAB_VSAN_KEY        "storage/vsan-health/vpxd-extension.key"
#define LAB_VMDIR_DIR       "storage/db/vmware-vmdir"
#define LAB_REGISTRY        "var/lib/likewise/registry"
/* The lab's own state, which a real appliance does not have. */
#define LAB_STATE_DIR       "var/lib/vmware-lab"
#define LAB_CONF            "var/lib/vmware-lab/lab.conf"
#define LAB_ADMIN_PASSWORD  "var/lib/vmware-lab/admin.password"
#define LAB_SERVICES_DIR    "var/lib/vmware-lab/services"
#define LAB_FAULTS_DIR      "var/lib/vmware-lab/faults"
#define LAB_COUNTERS        "var/lib/vmware-lab/counters"
#define LAB_VCDB_ROWS       "var/lib/vmware-lab/vcdb-rows.sql"
/* Auto Deploy's database, as SQL for sqlite3 (labctl --autodeploy). */
#define LAB_RBD_ROWS        "var/lib/vmware-lab/rbd-rows.sql"
#define LAB_LOG_DIR         "var/log/vmware-lab"

/* Registry keys (case-insensitive, as in likewise). */
#define LAB_REG_VMDIR "HKEY_THIS_MACHINE\\Services\\vmdir"
#define LAB_REG_VMAFD "HKEY_THIS_MACHINE\\Services\\vmafd\\Parameters"

/*
 * The lab root of the running program: $VCROTATE_LAB_ROOT if set, else the
 * real path of /proc/self/exe with `suffix' (one of the LAB_* program paths
 * above) removed from its end. NULL with errno EINVAL when the program does
 * not sit at `suffix' under some directory.
 */
char *lab_root(const char *suffix);

/* root + "/" + rel, malloc'd. */
char *lab_path(const char *root, const char *rel);

/* Reads a whole file; *out is NUL-terminated (not counted in *len). */
int lab_read_file(const char *path, char **out, size_t *len);

/*
 * Writes path atomically: a temporary file in the same directory, fsync,
 * rename over path, fsync of the directory.
 */
int lab_write_file_atomic(const char *path, const void *buf, size_t len,
    mode_t mode);

/* mkdir -p with mode for each created component. */
int lab_mkdirs(const char *path, mode_t mode);

/*
 * Value of `key' in a file of `key=value' lines (# comments, no quoting),
 * malloc'd; NULL with errno ENOENT when the file or the key is missing.
 */
char *lab_conf_get(const char *file, const char *key);

/*
 * Sets `key' in a key=value file (created if missing), atomically.
 */
int lab_conf_set(const char *file, const char *key, const char *value);

/*
 * The lab's registry, ROOT/var/lib/likewise/registry: sections `[KEY]', then
 * `name=value' lines where the value escapes `\' as `\\' and newline as `\n'.
 * lab_reg_get returns the unescaped value (malloc'd) or NULL (errno ENOENT).
 * lab_reg_list calls fn for each value of `key' in file order.
 */
char *lab_reg_get(const char *root, const char *key, const char *name);
int lab_reg_list(const char *root, const char *key,
    void (*fn)(const char *name, const char *value, void *arg), void *arg);

/*
 * Clears len bytes of buf (key material, a password) before freeing it, so
 * that no secret outlives its use in freed memory. NULL is a no-op.
 */
void lab_free_secret(void *buf, size_t len);

/* Lowercase hex of len bytes into out, which holds 2 * len + 1. */
void lab_hex(const void *in, size_t len, char *out);

/*
 * The SHA-1 thumbprint of x as `openssl x509 -noout -fingerprint -sha1'
 * prints it and VCDB's vpx_ext holds it: "AB:CD:...", 59 characters.
 */
struct x509_st;
int lab_sha1_thumbprint(struct x509_st *x, char out[60]);

/*
 * An OpenSSL pem_password_cb that gives no password: the lab never prompts
 * on the terminal, so an encrypted key simply fails to load.
 */
int lab_no_password(char *buf, int size, int rwflag, void *u);

/*
 * Closes every descriptor above 2 but keep and keep2 (-1: none), as a
 * child about to exec a daemon must: what it inherits stays open as long as
 * the daemon runs. Without /proc (an empty root), every descriptor up to
 * the limit.
 */
void lab_close_fds_but(int keep, int keep2);

/*
 * Whether service `svc' of a lab is running as far as service-control's state
 * goes (ROOT/var/lib/vmware-lab/services/<svc> exists): 1 running, 0 stopped,
 * -1 when ROOT has no service model at all (a bare store folder in a unit
 * test), in which case callers behave as if the service were running.
 */
int lab_service_running(const char *root, const char *svc);

/*
 * Whether ROOT is a management node of a domain with an external PSC
 * (etc/vmware/deployment.node.type says "management"): it has no
 * directory, VMCA or STS of its own.
 */
int lab_is_management(const char *root);

#endif
