#!/bin/bash
# Restore pairs a snapshot's entries with the live ones by exact entry, never
# by prefix: TRUSTED_ROOTS aliases that extend one another (corp-root,
# corp-root-2, corp-root.old, "corp-root 3", whose space is escaped, and
# corp.root) are compared, restored and rolled back one for one. Each
# output is checked line for line; the lab is compared with its own tools.
. "$(dirname "$0")/../lib.sh"

VC=$BUILD/vcrotate
L=$T/lab
V=$L/usr/lib/vmware-vmafd/bin/vecs-cli
G() { git --git-dir="$L/var/lib/vcrotate/backup.git" "$@"; }

# root NAME: a self-signed CA certificate in NAME.pem.
root() {
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.pem" \
	    -subj "/CN=$1" -days 3650 -addext basicConstraints=critical,CA:TRUE \
	    >/dev/null 2>&1
}
# put ALIAS CERT: the entry ALIAS of TRUSTED_ROOTS holds CERT.
put() {
	$V entry delete --store TRUSTED_ROOTS --alias "$1" -y >/dev/null 2>&1 || :
	$V entry create --store TRUSTED_ROOTS --alias "$1" --cert "$2" >/dev/null
}
del() { $V entry delete --store TRUSTED_ROOTS --alias "$1" -y >/dev/null; }
# The change the tests make: corp-root-2 holds another root, corp-root.old
# is gone, corp-root.zz is new; the other aliases stay. In path order
# corp-root comes after all three (".", "-" and "%" sort before "/").
change() { put corp-root-2 other.pem && del corp-root.old && put corp-root.zz other.pem; }
# The lines of a diff or restore that name an entry, without the details.
names() { grep -E "^(changed|removed|added|put back|recreate|remove) " "$1"; }

test_expect 'TRUSTED_ROOTS with aliases that extend one another: a snapshot' '
	lab_create "$L" --scenario sts-expired >/dev/null && labctl start "$L" >/dev/null 2>&1
	for a in corp-root corp-root-2 corp-root.old corp-root3 corp.root other; do root "$a"; done &&
	put corp-root corp-root.pem && put corp-root-2 corp-root-2.pem &&
	put corp-root.old corp-root.old.pem && put "corp-root 3" corp-root3.pem &&
	put corp.root corp.root.pem &&
	"$VC" --root "$L" backup snapshot --reason s1 >/dev/null &&
	G rev-parse snapshots >s1 &&
	G ls-tree --name-only snapshots:vecs/TRUSTED_ROOTS | grep "^corp" >tree &&
	printf "%s\n" corp-root%203 corp-root-2 corp-root.old corp-root corp.root | sort >want.tree &&
	sort tree | diff -u want.tree - &&
	lab_dump "$L" >before.dump
'

test_expect 'backup diff names exactly the entries that changed' '
	change &&
	"$VC" --root "$L" backup snapshot --reason s2 >/dev/null &&
	"$VC" --root "$L" backup diff "$(cat s1)" snapshots >diff &&
	names diff | sort >got &&
	printf "%s\n" "added    TRUSTED_ROOTS/corp-root.zz" \
	    "changed  TRUSTED_ROOTS/corp-root-2" \
	    "removed  TRUSTED_ROOTS/corp-root.old" | sort >want &&
	diff -u want got &&
	expect_eq "3 entries differ" "$(tail -n 1 diff)" &&
	grep -A2 "^changed  TRUSTED_ROOTS/corp-root-2$" diff | grep -q "before: CN=corp-root-2, serial" &&
	grep -A2 "^changed  TRUSTED_ROOTS/corp-root-2$" diff | grep -q "after:  CN=other, serial"
'

test_expect 'backup restore --dry-run lists exactly those entries, no removal of one that stays' '
	"$VC" --root "$L" backup restore "$(cat s1)" --dry-run >dry &&
	names dry | sort >got &&
	printf "%s\n" "put back TRUSTED_ROOTS/corp-root-2" \
	    "recreate TRUSTED_ROOTS/corp-root.old" \
	    "remove   TRUSTED_ROOTS/corp-root.zz" | sort >want &&
	diff -u want got &&
	expect_eq 4 "$(wc -l <dry)" &&
	grep -q "^3 changes would be made (dry run" dry
'

test_expect 'backup restore: the appliance byte-identical to the snapshot; again: 0 changes' '
	"$VC" --root "$L" backup restore "$(cat s1)" --yes >out 2>err || { cat out err; false; }
	grep -q "now equals the snapshot" out &&
	lab_dump "$L" >after.dump && diff -u before.dump after.dump >/dev/null &&
	"$VC" --root "$L" backup restore "$(cat s1)" --yes >again &&
	grep -q ": 0 changes;" again
'

test_expect 'apply, then the aliases changed by hand, then rollback: exactly the before state' '
	# As the first snapshot had them, whatever the tests before did.
	put corp-root-2 corp-root-2.pem && put corp-root.old corp-root.old.pem &&
	{ del corp-root.zz 2>/dev/null || :; } &&
	lab_dump "$L" | diff -u before.dump - >/dev/null &&
	"$VC" --root "$L" plan -o sts.plan >/dev/null &&
	"$VC" --root "$L" apply sts.plan --yes >out 2>&1 || { tail -n 5 out; false; }
	txn=$("$VC" --root "$L" history --json | jq -r ".transactions[0].transaction") &&
	change &&
	rc=0 && "$VC" --root "$L" rollback "$txn" --yes >out 2>err || rc=$?
	{ expect_eq 0 "$rc" || { tail -n 5 out err; false; }; } &&
	! grep -q "^remove   TRUSTED_ROOTS/corp-root$" out &&
	names out | grep TRUSTED_ROOTS | sort >got &&
	printf "%s\n" "put back TRUSTED_ROOTS/corp-root-2" \
	    "recreate TRUSTED_ROOTS/corp-root.old" \
	    "remove   TRUSTED_ROOTS/corp-root.zz" | sort >want &&
	diff -u want got &&
	lab_dump "$L" >after.dump && diff -u before.dump after.dump >/dev/null &&
	[ ! -e "$L/var/lib/vcrotate/journal" ]
'

test_done
