#!/bin/bash
# A plan that adds what did not exist: the lab's vpxd principal is deleted,
# so the plan registers it anew (vmdir "add"). The transaction's before
# snapshot records the principal as absent, and every way back to that
# snapshot deletes it: apply's own rollback after a service fails, recover
# after apply is killed just after the add, and rollback TXN after a
# successful apply. Each ends byte-identical to the before state, as the
# appliance's own tools show it, with no journal left.
. "$(dirname "$0")/../lib.sh"

VC=$BUILD/vcrotate
ADMIN="cn=Administrator,cn=Users,dc=vsphere,dc=local"
# Each way back has a lab of its own, $T/a, $T/b, $T/c: one that went
# wrong leaves nothing for the next (and on code without the records
# each fails by itself). L is the lab at hand.
L=
uri() { sed -n "s/^ldap_uri=//p" "$L/etc/vcrotate/vcrotate.conf"; }
ldap() { "$@" -x -H "$(uri)" -D "$ADMIN" -y "$L/var/lib/vmware-lab/admin.password"; }
dn() { echo "cn=vpxd-$(sed -n "s/^machine_id=//p" "$L/var/lib/vmware-lab/lab.conf"),cn=ServicePrincipals,dc=vsphere,dc=local"; }
# Whether the vpxd principal exists.
principal() { ldap ldapsearch -LLL -b "$(dn)" -s base dn >/dev/null 2>&1; }
# newlab NAME: a healthy lab without its vpxd principal, its plan
# (NAME.plan) adding it, its dump (NAME.before).
newlab() {
	L=$T/$1
	lab_create "$L" --scenario healthy >/dev/null && labctl start "$L" >/dev/null 2>&1
	ldap ldapdelete "$(dn)" && ! principal &&
	"$VC" --root "$L" plan -o "$T/$1.plan" >/dev/null &&
	lab_dump "$L" >"$T/$1.before"
}
# The lab as it was before any apply, and no journal.
as_before() {
	[ ! -e "$L/var/lib/vcrotate/journal" ] || fail "a journal is left"
	lab_dump "$L" >"$T/now.dump" && diff -u "$T/$(basename "$L").before" "$T/now.dump" >&2 ||
		fail "not the before state"
}
last() { "$VC" --root "$L" history --json | jq -r ".transactions[0].$1"; }

test_expect 'the vpxd principal deleted: the plan adds it' '
	newlab a &&
	expect_eq "add $(dn)" "$(jq -r ".steps[].targets[] | select(.type == \"vmdir\") | \"\(.action) \(.place)\"" a.plan)"
'

test_expect 'a service fails: the rollback deletes the principal it added, exit 1' '
	L=$T/a &&
	labctl fault "$L" service vmware-vpxd >/dev/null &&
	rc=0 && VCROTATE_FAULT_LOG=$T/points "$VC" --root "$L" apply a.plan --yes --rollback-on any-failure >out 2>err || rc=$?
	labctl fault "$L" clear >/dev/null &&
	{ expect_eq 1 "$rc" || { tail -n 5 out err; false; }; } &&
	grep -q "^remove   $(dn)$" out &&
	! principal && as_before &&
	expect_eq "rolled back" "$(last result)"
'

test_expect 'backup show says the before snapshot holds the principal as absent' '
	L=$T/a && b=$(last before) &&
	"$VC" --root "$L" backup show "$b" >show &&
	grep -A1 -x "  $(dn)" show | grep -q "^      absent: restoring this snapshot deletes it$" &&
	"$VC" --root "$L" backup show "$b" --json >show.json &&
	expect_eq "$(dn)" "$(jq -r ".entries[] | select(.absent) | .entry" show.json)" &&
	git --git-dir="$L/var/lib/vcrotate/backup.git" show "$b:vmdir/principals/$(jq -r ".entries[] | select(.absent) | .path" show.json | cut -d/ -f3)" >tree &&
	expect_eq "@absent" "$(cat tree | sed 1,2d)" &&
	"$VC" --root "$L" backup verify >/dev/null
'

test_expect 'killed just after the add: writes refused meanwhile (exit 6), recover deletes it (exit 0), writes work again' '
	newlab b &&
	n=$(awk "/ ldap add/ { print \$1; exit }" points) && [ -n "$n" ] &&
	rc=0 && { VCROTATE_FAULT=crash-after:$n "$VC" --root "$L" apply b.plan --yes >out 2>&1; } 2>/dev/null || rc=$?
	expect_eq 137 "$rc" && principal && [ -e "$L/var/lib/vcrotate/journal" ] &&
	rc=0 && "$VC" --root "$L" backup snapshot >/dev/null 2>err || rc=$?
	expect_eq 6 "$rc" &&
	rc=0 && "$VC" --root "$L" recover >rec 2>&1 || rc=$?
	{ expect_eq 0 "$rc" || { cat rec; false; }; } &&
	! principal && as_before &&
	"$VC" --root "$L" recover >rec2 2>&1 && grep -q "nothing to recover" rec2 &&
	"$VC" --root "$L" backup snapshot >/dev/null
'

test_expect 'applied, then rollback TXN: the principal goes; backup diff shows it added' '
	newlab c &&
	"$VC" --root "$L" apply c.plan --yes >out 2>&1 || { tail -n 5 out; false; }
	principal && "$VC" --root "$L" check >/dev/null &&
	"$VC" --root "$L" backup diff "$(last before)" "$(last outcome)" >diff &&
	grep -q -x "added    $(dn)" diff &&
	rc=0 && "$VC" --root "$L" rollback "$(last transaction)" --yes >rb 2>&1 || rc=$?
	{ expect_eq 0 "$rc" || { tail -n 5 rb; false; }; } &&
	grep -q "^remove   $(dn)$" rb &&
	! principal && as_before
'

test_expect 'rollback TXN failing after it deleted the principal: its own undo cannot recreate it (exit 3); recover --forward finishes the rollback' '
	newlab d &&
	"$VC" --root "$L" apply d.plan --yes >out 2>&1 || { tail -n 5 out; false; }
	txn=$(last transaction) &&
	# the rollback'"'"'s side effects, counted on a copy of the same start
	newlab d2 && "$VC" --root "$L" apply d2.plan --yes >/dev/null 2>&1 &&
	VCROTATE_FAULT_LOG=$T/rb.points "$VC" --root "$L" rollback "$(last transaction)" --yes >/dev/null 2>&1 &&
	n=$(awk "/ldap delete/ { d = 1 } d && /vecs-cli entry/ { print \$1; exit }" "$T/rb.points") && [ -n "$n" ] &&
	L=$T/d &&
	rc=0 && VCROTATE_FAULT=fail:$n "$VC" --root "$L" rollback "$txn" --yes >rb 2>&1 || rc=$?
	{ expect_eq 3 "$rc" || { tail -n 5 rb; false; }; } &&
	[ -e "$L/var/lib/vcrotate/journal" ] &&
	rc=0 && "$VC" --root "$L" recover --yes >rec 2>&1 || rc=$?
	expect_eq 3 "$rc" && grep -q "vcrotate recover --forward" rec &&
	"$VC" --root "$L" recover --forward --yes >rec2 2>&1 || { tail -n 5 rec2; false; }
	! principal && as_before &&
	expect_eq "success (recovered)" "$(last result)"
'

test_done
