/*
 * names.h - store names, aliases and DNs as single git tree-entry names.
 *
 * A tree entry name is one path component, and git refuses "", ".", "..",
 * ".git" and anything with a '/'; aliases and DNs can be any bytes. The
 * escaping keeps [A-Za-z0-9_-] and '.' (except as the first byte) and writes
 * every other byte as '%' and two upper-case hex digits, so "a/b" is
 * "a%2Fb", ".git" is "%2Egit" and "cn=x,cn=y" is "cn%3Dx%2Ccn%3Dy". The
 * empty string, which has no bytes to escape, is "%%" (a '%' followed by
 * anything but two hex digits cannot otherwise occur).
 *
 * An escaped name is never empty, never starts with '.', never contains '/'
 * or NUL: it cannot be ".", "..", ".git" (nor its NTFS and HFS+ look-alikes,
 * which start with '.' or contain '~'), nor leave its folder. '@' is always
 * escaped, so escaped names never collide with the "@store", "@alias" and
 * "@dn" items that sit next to them (state.h).
 *
 * An escaped name may be up to three times as long as the raw one, so well
 * over the 255 bytes most file systems allow in a name. That is fine: the
 * backup is a bare repository whose trees are never checked out, and git
 * trees have no limit on the length of an entry name.
 *
 * There is exactly one escaped form of each raw string: unescaping accepts
 * only what escaping produces, so two different tree entries never stand
 * for the same name.
 */
#ifndef VCR_BK_NAMES_H
#define VCR_BK_NAMES_H

#include <stddef.h>

/* The escaped form of raw's len bytes (malloc'd), or NULL: out of memory. */
char *bk_name_escape(const char *raw, size_t len);

/*
 * The raw bytes of an escaped name: *raw (malloc'd, NUL-terminated after
 * *len bytes, which may themselves hold NULs) and *len. -1 when name is not
 * something bk_name_escape produces (lower-case hex, a '%' without two hex
 * digits, an escaped byte that is kept as is, a byte that should have been
 * escaped, a leading '.', "") or out of memory; *raw is then NULL.
 */
int bk_name_unescape(const char *name, char **raw, size_t *len);

#endif
