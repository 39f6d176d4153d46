/*
 * appliance.h - who the appliance is and where its tools are.
 *
 * Every path is taken under the root (`/' on a real appliance, a lab folder
 * in tests). Identity comes from the appliance's own tools, as admins get it:
 * vmafd-cli (PNID, machine id, domain, site), lwregshell (the machine
 * account), /etc/vmware/deployment.node.type.
 */
#ifndef VCR_APPLIANCE_H
#define VCR_APPLIANCE_H

#include "buf.h"

#define APP_VECS_CLI	    "usr/lib/vmware-vmafd/bin/vecs-cli"
#define APP_VMAFD_CLI	    "usr/lib/vmware-vmafd/bin/vmafd-cli"
#define APP_LWREGSHELL	    "opt/likewise/bin/lwregshell"
#define APP_SERVICE_CONTROL "usr/bin/service-control"
#define APP_NODE_TYPE	    "etc/vmware/deployment.node.type"
#define APP_PSQL	    "opt/vmware/vpostgres/current/bin/psql"
#define APP_VMON_CLI	    "usr/lib/vmware-vmon/vmon-cli"
#define APP_SQLITE3	    "usr/bin/sqlite3"
#define APP_VMCA_ROOT	    "var/lib/vmware/vmca/root.cer"
#define APP_VMCA_KEY	    "var/lib/vmware/vmca/privatekey.pem"
#define APP_VSAN_CERT	    "storage/vsan-health/vpxd-extension.cert"
#define APP_VSAN_KEY	    "storage/vsan-health/vpxd-extension.key"
#define APP_CONFIG	    "etc/vcrotate/vcrotate.conf"
#define APP_BACKUP_REPO	    "var/lib/vcrotate/backup.git"
#define APP_BACKUP_KEY	    "etc/vcrotate/backup.key"
#define APP_VCROTATE_TMP    "var/lib/vcrotate"
#define APP_VMDIR_KEY	    "[HKEY_THIS_MACHINE\\services\\vmdir]"

/* Each tool gets this long before it is killed. */
#define APP_TOOL_TIMEOUT_MS 60000

struct appliance {
	char	*root;
	char	*pnid;
	char	*machine_id;
	char	*domain;	/* vsphere.local */
	char	*domain_dn;	/* dc=vsphere,dc=local */
	char	*site;
	char	*node_type;	/* embedded, infrastructure, management */
	/* A management node's domain controller, its PSC (vmafd-cli
	 * get-dc-name), which keeps its directory, its STS and its VMCA;
	 * NULL on other nodes, or when vmafd could not say. */
	char	*dc_name;
};

/* Whether app is a management node (a 6.x vCenter with an external PSC). */
int app_is_management(const struct appliance *app);

/* root joined with rel, malloc'd ("/" + "usr/bin" is "/usr/bin"). */
char *app_path(const char *root, const char *rel);
/* Whether ROOT/rel exists (access(2), F_OK). */
int   app_exists(const char *root, const char *rel);

/*
 * Runs the appliance's tool ROOT/rel with args (NULL-terminated, at most
 * 14) and input on its stdin (NULL: none), within APP_TOOL_TIMEOUT_MS.
 * 0 when it ran (its exit status in res, which the caller frees), or -1
 * with "cannot run TOOL: why" in err.
 */
struct proc_result;
int  app_run(const char *root, const char *rel, const char *const *args,
    const char *input, struct proc_result *res, struct buf *err);

/*
 * Reads the identity. Returns 0, or -1 with the reason in err (for
 * instance "vmafd-cli get-pnid failed: ..."); fields that could be read are
 * kept either way.
 */
int  appliance_identify(struct appliance *app, const char *root,
    struct buf *err);

/*
 * appliance_identify in two halves, for a caller that runs the identity
 * tools alongside other reads (inventory.c): start puts the tools on pool
 * p in group g (NULL: runs them now, one after another, stopping at the
 * first that fails, as appliance_identify does); after pool_wait(p, g),
 * finish fills app and err exactly as appliance_identify would have, the
 * first tool that failed (in the order above) naming the error.
 */
#define APP_NQUERIES 4
struct pool;
struct pool_group;
struct app_query {
	const char	*root;
	const char	*cmd;
	char		*val;
	struct buf	 err;
};
struct app_ident {
	struct app_query q[APP_NQUERIES];
};
void appliance_identify_start(struct app_ident *id, const char *root,
    struct pool *p, struct pool_group *g);
int  appliance_identify_finish(struct app_ident *id, struct appliance *app,
    const char *root, struct buf *err);
void appliance_free(struct appliance *app);

/*
 * Host names that go into certificates (the PNID, --san): a DNS name (LDH
 * labels of 1 to 63 characters, 253 in all, the last not all digits; with
 * wildcard, "*." may stand first) or an IPv4 or IPv6 address.
 */
#define APP_NAME_DNS	1
#define APP_NAME_IP	2
int   app_name_kind(const char *s, int wildcard);
/* "DNS:s" or "IP:s" (malloc'd); NULL when s is neither. */
char *app_san_entry(const char *s, int wildcard);
/* Whether a subjectAltName entry is "DNS:" or "IP:" of such a name, or
 * "email:" of an address at a DNS name. */
int   app_san_entry_ok(const char *entry);
/*
 * A --san or --drop-san as an entry (malloc'd): "DNS:name", "IP:address"
 * (an address in inet_ntop's form: one spelling for one address) or
 * "email:address"; the prefix DNS:, IP: or email: in any case, or none
 * (a name or an address, typed as it is). NULL when it is none of them.
 */
char *app_san_parse(const char *s);

/*
 * The machine account (dcAccountDN, dcAccountPassword) from lwregshell.
 * *password is a secret: the caller wipes it (free_secret).
 */
int  appliance_machine_account(const char *root, char **dn, char **password,
    struct buf *err);

/*
 * Parses one lwregshell list_values line (`+  "name"  REG_SZ  "value"', value
 * with \" and \\ escapes) into malloc'd name and value. -1 when the line is
 * not a value line.
 */
int  lwreg_parse_line(const char *line, char **name, char **value);

void free_secret(char *s);

/*
 * The appliance lock, ROOT/var/lib/vcrotate/lock: one writer at a time
 * (apply, rollback, backup restore). Held until *fd is closed; the file
 * names the holder (`who'). -1 with err naming the holder and errno
 * EWOULDBLOCK when another process holds it; -1 with another errno when
 * it cannot be taken at all.
 */
int  appliance_lock(const char *root, const char *who, int *fd,
    struct buf *err);

#endif
