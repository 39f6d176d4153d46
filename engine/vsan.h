/*
 * vsan.h - vsan-health's copy of the vpxd-extension certificate and key,
 * /storage/vsan-health/vpxd-extension.cert and .key. Broadcom's vCert
 * copies the new vpxd-extension certificate and key there, when both
 * files are there, after it replaces the solution users' certificates
 * (docs/lab.md, "vsan-health"); a replacement that leaves them behind
 * leaves vsan-health with the old pair (docs/check.md,
 * VSAN_HEALTH_COPY_STALE). An appliance without both files has no copy:
 * nothing to read, nothing to write, as vCert does.
 *
 * The key is a secret: read only to compare it with the certificate,
 * never logged, never in a plan (no digest), sealed in the backup.
 */
#ifndef VCR_VSAN_H
#define VCR_VSAN_H

#include <stddef.h>

#include "buf.h"

struct inventory;

/* The copy's place in findings and plans (appliance paths). */
#define VSAN_CERT_FILE	"/storage/vsan-health/vpxd-extension.cert"
#define VSAN_KEY_FILE	"/storage/vsan-health/vpxd-extension.key"
/* The certificate the copy follows (STORE/ALIAS). */
#define VSAN_FOLLOWS	"vpxd-extension/vpxd-extension"

/* 1 when both files are there, 0 when not. */
int  vsan_present(const char *root);

/*
 * Reads the copy into inv (vsan_present, vsan_cert, vsan_digest,
 * vsan_key_match; vsan_error when a file of it cannot be read or
 * parsed). Nothing when the appliance has no copy.
 */
void vsan_read(struct inventory *inv, const char *root);

/*
 * Replaces one file of the copy (rel: APP_VSAN_CERT or APP_VSAN_KEY)
 * atomically with data, keeping the mode, owner and group the file has
 * (a file gone: root's, 0644, the key 0600). A side effect: the fault
 * hook's "write file". 0, or -1 with err naming the file.
 */
int  vsan_write_file(const char *root, const char *rel, const void *data,
    size_t len, struct buf *err);

/* The key, then the certificate (a certificate without its key would be
 * half a pair; the old certificate with the new key is no worse). */
int  vsan_write(const char *root, const struct buf *cert,
    const struct buf *key, struct buf *err);

#endif
