/*
 * report.h - the outputs of `check': text for people (a table per store, the
 * STS in checksts' terms, the findings, what to run next), a versioned JSON
 * document, and a Prometheus node_exporter textfile. docs/check.md
 * documents the JSON schema and the metrics.
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
};

/* Critical beats unknown: a production-down finding must not hide behind a
 * part that could not be read. Unknown beats warning. */
enum check_exit report_status(const struct inventory *inv,
    const struct findings *f);
const char *check_exit_name(enum check_exit e);

int report_text(FILE *out, const struct report *r, int color);
int report_json(FILE *out, const struct report *r);
/* Writes the textfile atomically (temporary file, fsync, rename, as
 * file_write_atomic); -1 with err saying why (empty: out of memory). */
int report_prometheus(const char *path, const struct report *r,
    struct buf *err);

#endif
