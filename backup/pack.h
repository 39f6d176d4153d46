/*
 * pack.h - a snapshot's new objects written to the backup repository as one
 * pack file instead of one loose file each.
 *
 * A first snapshot of a big appliance makes about 11,000 objects (2,000
 * VECS entries, 1,000 CA entries: a blob per part, a tree per entry);
 * written loose, that is 11,000 files created (and as many temporary ones
 * renamed), most of the snapshot's time. git itself packs what a push
 * brings past transfer.unpackLimit (100 objects) and keeps small pushes
 * loose; a snapshot does the same with BK_PACK_MIN: an unchanged snapshot
 * still adds its three loose objects.
 *
 * The pack is plain pack version 2, every object whole (no deltas: sealed
 * keys and certificates do not delta, and searching for deltas would cost
 * more than it saves), deflated at zlib's fastest level. libgit2's indexer
 * (git_odb_write_pack) reads it back, checks its checksum, hashes every
 * object and writes pack-<hash>.pack and .idx into objects/pack; the
 * repository is flushed to disk by the caller before a ref names anything
 * in it, as for loose objects.
 */
#ifndef VCR_BK_PACK_H
#define VCR_BK_PACK_H

#include <git2.h>

#include "buf.h"

#define BK_PACK_MIN	1000

/* Writes the objects ids[0..n) of src into dst as one pack. -1 (err says
 * why) when one cannot be read or the pack cannot be written. */
int bk_pack_write(git_odb *dst, git_odb *src, const git_oid *ids, size_t n,
    struct buf *err);

#endif
