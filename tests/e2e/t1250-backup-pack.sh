#!/bin/bash
# A snapshot that brings many new objects writes them as one pack
# (backup/pack.h), as git packs a big push, instead of a loose file each:
# on a lab of 300 roots and 300 CRLs (about 3,000 objects) the first
# snapshot leaves one pack and its index, which git reads (fsck --strict,
# the same tree as the items) and vcrotate verifies and restores from; an
# unchanged snapshot after it still adds its three loose objects; a pack
# damaged on disk is refused by verify and restore, nothing touched.
. "$(dirname "$0")/../lib.sh"

VC=$BUILD/vcrotate
L=$T/lab
REPO=$L/var/lib/vcrotate/backup.git
V=$L/usr/lib/vmware-vmafd/bin/vecs-cli
G() { git --git-dir="$REPO" "$@"; }
loose() { find "$REPO/objects" -type f -path "*/objects/??/*" | sort; }

test_expect 'a first snapshot of 3,000 objects is one pack that git reads' '
	lab_create "$L" --scenario crl-bloat --roots 300 --crls 300 >/dev/null &&
	labctl start "$L" >/dev/null 2>&1 &&
	"$VC" --root "$L" backup snapshot --reason first >out &&
	n=$(sed -n "s/^snapshot [0-9a-f]* of [^:]*: \([0-9]*\) items.*/\1/p" out) &&
	[ "$n" -gt 1000 ] &&
	expect_eq 1 "$(ls "$REPO"/objects/pack/*.pack | wc -l)" &&
	expect_eq 1 "$(ls "$REPO"/objects/pack/*.idx | wc -l)" &&
	G verify-pack "$REPO"/objects/pack/*.idx >/dev/null &&
	# Every tree and blob of the snapshot in the pack, once; only the
	# commit is loose.
	objs=$(G count-objects -v | sed -n "s/^in-pack: //p") && [ "$objs" -gt 1000 ] &&
	expect_eq "$((objs + 1))" "$(G rev-list --objects snapshots | wc -l)" &&
	expect_eq 1 "$(loose | wc -l)" &&
	G fsck --strict 2>&1 | { ! grep -q .; } &&
	expect_eq "$((n + 2))" "$(G ls-tree -r --name-only snapshots | wc -l)" &&
	G show snapshots:vecs/MACHINE_SSL_CERT/__MACHINE_CERT/cert.pem | grep -q "BEGIN CERTIFICATE" &&
	"$VC" --root "$L" backup verify >v && grep -q "^1 snapshot verified" v
'

test_expect 'an unchanged snapshot after it: three loose objects, the same items' '
	loose >objs1 &&
	s=$(date +%s) && while [ "$(date +%s)" = "$s" ]; do sleep 0.1; done &&
	"$VC" --root "$L" backup snapshot --reason again >/dev/null &&
	loose >objs2 &&
	expect_eq 3 "$(comm -13 objs1 objs2 | wc -l)" &&
	expect_eq 1 "$(ls "$REPO"/objects/pack/*.pack | wc -l)" &&
	expect_eq created "$(G diff --name-only snapshots~1 snapshots)"
'

test_expect 'a removed entry is put back from the pack' '
	$V entry getcert --store vpxd --alias vpxd >before.pem &&
	$V entry delete --store vpxd --alias vpxd -y >/dev/null &&
	"$VC" --root "$L" backup restore snapshots >out &&
	$V entry getcert --store vpxd --alias vpxd >after.pem &&
	cmp before.pem after.pem
'

test_expect 'a damaged pack: verify and restore refuse it, nothing touched' '
	p=$(ls "$REPO"/objects/pack/*.pack) && cp "$p" pack.saved && chmod u+w "$p" &&
	size=$(stat -c %s "$p") &&
	# One byte in the middle of the objects, inside some deflated blob.
	printf "\377" | dd of="$p" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null &&
	! cmp -s "$p" pack.saved &&
	{ "$VC" --root "$L" backup verify 2>err; expect_eq 1 $?; } &&
	grep -q "vcrotate backup verify:" err &&
	$V entry delete --store vpxd --alias vpxd -y >/dev/null &&
	lab_dump "$L" >pre.dump &&
	{ "$VC" --root "$L" backup restore snapshots 2>err; expect_eq 1 $?; } &&
	lab_dump "$L" >post.dump && cmp pre.dump post.dump &&
	cp pack.saved "$p" && "$VC" --root "$L" backup verify >/dev/null
'

test_done
