/*
 * report.h - the outputs of `check': text for people (a table per store, the
 * STS in checksts' terms, the findings, what to run next), a versioned JSON
 * document, a Nagios / Icinga plugin's output, and a Prometheus
 * node_exporter textfile. docs/check.md documents the JSON schema, the
 * plugin output and the metrics.
 */
#ifndef VCR_REPORT_H
#define VCR_REPORT_H

#include <stdio.h>

#include <jansson.h>

#include "findings.h"
#include "inventory.h"

#define CHECK_SCHEMA "vcrotate.check/1"

/* Exit codes of check, as monitoring plugins use them. */
enum check_exit {
	CHECK_OK = 0,
	CHECK_WARNING = 1,
	CHECK_CRITICAL = 2,
	CHECK_UNKNOWN = 3,
};

struct report {
	const struct inventory	*inv;
	const struct policy	*policy;
	const struct findings	*findings;
	enum check_exit		 status;
	const char		*next;	/* "Next: " what to run; NULL: none */
	const struct root_use	*use;	/* roots in use; NULL: all of them */
};

/* Critical beats unknown: a production-down finding must not hide behind a
 * part that could not be read. Unknown beats warning. */
enum check_exit report_status(const struct inventory *inv,
    const struct findings *f);
const char *check_exit_name(enum check_exit e);
/* Whether every source (identity, VECS, vmdir, VMCA) was read. */
int report_complete(const struct inventory *inv);
/* Findings per severity, n[SEV_CRITICAL] ... */
void report_count(const struct findings *f, size_t n[SEV__MAX]);

int report_text(FILE *out, const struct report *r, int color);
int report_json(FILE *out, const struct report *r);
/* As a Nagios / Icinga plugin: the status line with performance data after
 * '|', then the findings as long output (docs/check.md). */
int report_nagios(FILE *out, const struct report *r);
/* The Prometheus exposition on out (check --format prometheus). */
int report_prometheus_out(FILE *out, const struct report *r);
/* Writes the textfile atomically (temporary file, fsync, rename, as
 * file_write_atomic); -1 with err saying why (empty: out of memory). */
int report_prometheus(const char *path, const struct report *r,
    struct buf *err);

#endif
