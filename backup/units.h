/*
 * units.h - a state (state.h) as units, the things a person and a restore
 * deal with: a VECS entry (vecs/<S>/<A>/...), a store marker
 * (vecs/<S>/@store), the order of the stores (vecs/@stores), a vmdir entry
 * (vmdir/<group>/<DN>/...), a VMCA file (vmca/...), a VCDB row
 * (vcdb/vpx_ext/<E>/...). Two states are compared
 * unit by unit: backup show and diff, restore, rollback's overlap check.
 *
 * A unit borrows the items of the state it was made from: it lives as long
 * as that state, unchanged. An array from units_of is malloc'd (the caller
 * frees it, never the items). Strings returned (bk_item_text, unit_name,
 * unit_cert_summary, unit_vecs_names) are malloc'd and the caller's.
 *
 * Units pair by their exact path. units_of sorts them by unit_cmp, the one
 * order of unit_find and of every merge walk of two arrays: the items' path
 * order is not it ("corp-root-2/x" sorts before "corp-root/x").
 */
#ifndef VCR_BK_UNITS_H
#define VCR_BK_UNITS_H

#include <stddef.h>
#include <stdio.h>

#include <openssl/x509.h>

#include "state.h"

/* Items of one unit, as a run in a sorted state. */
struct unit {
	const char	*prefix;	/* the unit path (not NUL-ended) */
	size_t		 plen;
	const struct bk_item *items;
	size_t		 n;
};

/* The units of a state, sorted by unit_cmp; NULL when out of memory (an
 * empty state gives an empty array, not NULL). */
struct unit *units_of(const struct bk_state *st, size_t *nunits);
/* A total order of units: 0 only for the same unit path. */
int  unit_cmp(const struct unit *a, const struct unit *b);
/* The unit of array u[n] (from units_of) at key's path, or NULL. */
const struct unit *unit_find(const struct unit *u, size_t n,
    const struct unit *key);
/* Whether two units hold the same items, byte for byte. */
int  unit_equal(const struct unit *a, const struct unit *b);
/* Whether a unit differs between two arrays: in one only, or not equal. An
 * entry recorded absent counts as none. */
int  unit_differs(const struct unit *a, size_t na, const struct unit *b,
    size_t nb, const struct unit *key);

/* Store markers: vecs/<S>/@store, a unit of one item. */
int  unit_is_store(const struct unit *u);
/* Whether u (may be NULL) records an entry that did not exist (@absent). */
int  unit_absent(const struct unit *u);
/* u when it stands for something that exists; NULL for no unit and for
 * an entry recorded absent, which compares as no unit. */
const struct unit *unit_present(const struct unit *u);

/* The item `name' of a unit (the part after the unit path), or NULL. */
const struct bk_item *unit_item(const struct unit *u, const char *name);
/* Text of an item (may be NULL: NULL), a NUL-terminated copy. */
char *bk_item_text(const struct bk_item *it);
/* The raw store and alias of a VECS entry unit; -1 when it has none. */
int  unit_vecs_names(const struct unit *u, char **store, char **alias);
/* The certificate a unit holds (the first of its chain), or NULL; the
 * caller X509_free's it. */
X509 *unit_cert(const struct unit *u);
/* A one-line description of that certificate, or NULL. */
char *unit_cert_summary(const struct unit *u);
/* A unit as a person knows it: STORE/ALIAS, a DN, or its path (raw: it
 * may hold any byte). */
char *unit_name(const struct unit *u);
/* Prints a unit's name, made safe for a terminal. */
void unit_print(FILE *f, const struct unit *u);

#endif
