#!/bin/bash
# vcrotate with vmafdd's root sync running (tests/lab/src/rootsync.h: every
# second, vmdir's CA entries copied into TRUSTED_ROOTS / TRUSTED_ROOT_CRLS,
# entries it copied and vmdir lost deleted): prune of expired roots, a root
# replacement, backup restore and rollback end in the intended state, and
# stay there while the sync keeps running.
. "$(dirname "$0")/../lib.sh"

VC=$BUILD/vcrotate
CA=cn=Certificate-Authorities,cn=Configuration,dc=vsphere,dc=local

# A lab with the sync every second, started. Its CA entries are PEM, as
# Lightwave writes them: vmafd's sync reads nothing else (a DER value fails
# every pass, docs/lab.md), so make test-der does not change them here.
synced_lab() {
	lab_create "$1" --scenario "$2" --ca-entries pem "${@:3}" >/dev/null || fail "labctl create"
	labctl root-sync "$1" 1 >/dev/null &&
	labctl start "$1" >/dev/null 2>&1
	settle "$1"
}

# Two passes of the daemon: whatever the sync does to the state, it has done.
settle() { sleep 2.5; "$1/usr/lib/vmware-vmafd/bin/vecs-cli" force-refresh || fail "force-refresh failed"; }

aliases() { "$1/usr/lib/vmware-vmafd/bin/vecs-cli" entry list --store "$2" --aliases | tail -n +2; }

# The lowercase hex SHA-1 of every vmdir CA certificate (PEM or DER).
ca_sha1s() {
	local l=$1 uri v
	uri=$(sed -n "s/^ldap_uri=//p" "$l/etc/vcrotate/vcrotate.conf")
	ldapsearch -x -H "$uri" -D cn=Administrator,cn=Users,dc=vsphere,dc=local \
	    -y "$l/var/lib/vmware-lab/admin.password" -LLL -o ldif-wrap=no -b "$CA" \
	    -s one cACertificate | sed -n "s/^cACertificate:: //p" |
	while read -r v; do
		echo "$v" | base64 -d >ca.bin
		if grep -q -- "-----BEGIN" ca.bin; then
			openssl x509 -in ca.bin -noout -fingerprint -sha1
		else
			openssl x509 -inform DER -in ca.bin -noout -fingerprint -sha1
		fi | sed "s/.*=//; s/://g" | tr A-F a-f
	done | sort
}

# The DNs of vmdir's CA entries.
ca_dns() {
	ldapsearch -x -H "$(sed -n "s/^ldap_uri=//p" "$1/etc/vcrotate/vcrotate.conf")" \
	    -D cn=Administrator,cn=Users,dc=vsphere,dc=local \
	    -y "$1/var/lib/vmware-lab/admin.password" -LLL -o ldif-wrap=no -b "$CA" \
	    -s one dn | sed -n "s/^dn: //p"
}

# Every CA entry of vmdir is in TRUSTED_ROOTS: nothing left for the sync.
vmdir_in_vecs() {
	local a
	aliases "$1" TRUSTED_ROOTS | sort >vecs.aliases
	for a in $(ca_sha1s "$1"); do
		grep -qx "$a" vecs.aliases || fail "vmdir root $a is not in TRUSTED_ROOTS"
	done
}

test_expect 'prune of expired roots (article-vcsa1): gone from vmdir and VECS, and stays gone' '
	l=$T/prune && synced_lab "$l" article-vcsa1 &&
	"$VC" --root "$l" plan --prune-expired-roots -o prune.plan >/dev/null &&
	gone=$(jq -r ".steps[].targets[] | select(.place | startswith(\"TRUSTED_ROOTS/\")) | .place | sub(\"TRUSTED_ROOTS/\"; \"\")" prune.plan) &&
	[ -n "$gone" ] &&
	lab_dump "$l" >prune.before &&
	"$VC" --root "$l" apply prune.plan >out 2>&1 || { cat out; fail "apply"; } &&
	settle "$l" &&
	for a in $gone; do
		! aliases "$l" TRUSTED_ROOTS | grep -qx "$a" || fail "$a is back in TRUSTED_ROOTS"
		! ca_sha1s "$l" | grep -qx "$a" || fail "$a is still in vmdir"
	done &&
	vmdir_in_vecs "$l" &&
	rc=0 && "$VC" --root "$l" plan --prune-expired-roots >/dev/null || rc=$? &&
	expect_eq 2 "$rc"
'

test_expect 'rollback of the prune: both copies back, byte-identical, with the sync running' '
	l=$T/prune &&
	txn=$("$VC" --root "$l" history --json | jq -r ".transactions[0].transaction") &&
	[ -n "$txn" ] &&
	"$VC" --root "$l" rollback "$txn" >rb.out 2>&1 || { cat rb.out; fail "rollback"; } &&
	settle "$l" &&
	for a in $(jq -r ".steps[].targets[] | select(.place | startswith(\"TRUSTED_ROOTS/\")) | .place | sub(\"TRUSTED_ROOTS/\"; \"\")" prune.plan); do
		aliases "$l" TRUSTED_ROOTS | grep -qx "$a" || fail "$a not back in TRUSTED_ROOTS"
	done &&
	for dn in $(jq -r ".steps[].targets[] | select(.type == \"vmdir\") | .place" prune.plan); do
		ca_dns "$l" | grep -qxF "$dn" || fail "$dn not back in vmdir"
	done &&
	vmdir_in_vecs "$l" &&
	lab_dump "$l" >prune.after &&
	diff prune.before prune.after >prune.diff || { head -30 prune.diff; fail "not the before state"; }
'

test_expect 'root replacement (root-expired): the new root in vmdir and VECS, check clean, the sync content' '
	l=$T/root && synced_lab "$l" root-expired &&
	lab_dump "$l" >before.dump &&
	"$VC" --root "$l" plan -o root.plan >/dev/null &&
	"$VC" --root "$l" apply root.plan >out 2>&1 || { tail -20 out; fail "apply"; } &&
	settle "$l" &&
	new=$(openssl x509 -in "$l/var/lib/vmware/vmca/root.cer" -noout -fingerprint -sha1 | sed "s/.*=//; s/://g" | tr A-F a-f) &&
	aliases "$l" TRUSTED_ROOTS | grep -qx "$new" &&
	ca_sha1s "$l" | grep -qx "$new" &&
	vmdir_in_vecs "$l" &&
	rc=0 && "$VC" --root "$l" check >check.out || rc=$? &&
	{ expect_eq 0 "$rc" || { grep -A5 "^FINDINGS" check.out; false; }; } &&
	rc=0 && "$VC" --root "$l" plan >/dev/null || rc=$? &&
	expect_eq 2 "$rc"
'

test_expect 'backup restore of the before state: byte-identical, and the sync leaves it so' '
	l=$T/root &&
	before=$("$VC" --root "$l" history --json | jq -r ".transactions[0].before") &&
	[ -n "$before" ] && [ "$before" != null ] &&
	"$VC" --root "$l" backup restore "$before" >restore.out 2>&1 || { cat restore.out; fail "restore"; } &&
	settle "$l" &&
	lab_dump "$l" >after.dump &&
	diff before.dump after.dump >restore.diff || { head -30 restore.diff; fail "not the before state"; }
'

test_expect 'rollback TXN of a kept failure (root-expired): the before state, with the sync running' '
	l=$T/keep && synced_lab "$l" root-expired &&
	lab_dump "$l" >before.dump &&
	"$VC" --root "$l" plan -o keep.plan >/dev/null &&
	labctl fault "$l" service vmware-vpxd >/dev/null &&
	rc=0 && "$VC" --root "$l" apply keep.plan --keep-on-failure --rollback-on any-failure >out 2>&1 || rc=$? &&
	expect_eq 1 "$rc" &&
	settle "$l" &&
	txn=$("$VC" --root "$l" history --json | jq -r ".transactions[0] | select(.result == \"failed, kept\") | .transaction") &&
	[ -n "$txn" ] &&
	labctl fault "$l" clear >/dev/null &&
	"$VC" --root "$l" rollback "$txn" >rb.out 2>&1 || { cat rb.out; fail "rollback"; } &&
	settle "$l" &&
	lab_dump "$l" >after.dump &&
	diff before.dump after.dump >rb.diff || { head -30 rb.diff; fail "not the before state"; }
'

test_expect 'DER CA entries: every pass fails as in vmafd (error 11), so nothing comes back' '
	l=$T/der &&
	lab_create "$l" --scenario healthy --ca-entries der >/dev/null &&
	labctl root-sync "$l" 1 >/dev/null && labctl start "$l" >/dev/null 2>&1 &&
	v=$l/usr/lib/vmware-vmafd/bin/vecs-cli &&
	rc=0 && "$v" force-refresh 2>err || rc=$? &&
	expect_eq 11 "$rc" &&
	expect_grep "^Failed to trigger root cert refresh $" err &&
	a=$(aliases "$l" TRUSTED_ROOTS | head -n 1) &&
	"$v" entry delete --store TRUSTED_ROOTS --alias "$a" -y >/dev/null &&
	sleep 2.5 &&
	! aliases "$l" TRUSTED_ROOTS | grep -qx "$a" &&
	# the lab-only decode setting reads DER, and the root comes back
	echo root_sync_der=decode >>"$l/var/lib/vmware-lab/lab.conf" &&
	"$v" force-refresh &&
	aliases "$l" TRUSTED_ROOTS | grep -qx "$a"
'

test_done
