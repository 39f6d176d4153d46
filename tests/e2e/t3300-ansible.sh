#!/bin/bash
# The fleet playbook (contrib/ansible/fleet.yml, issue 20 item 4) run by
# ansible-core against three all-expired single-node labs, one inventory
# host each on the local connection with vcrotate's --root from
# vcrotate_root: a "plan" run installs, checks and plans and changes
# nothing; --check changes nothing; a vpxd fault on node 2 set after
# planning leaves node 1 done, node 2 rolled back, node 3 untouched and
# the play failed naming node 2; applying the reviewed plans again leaves
# node 1 alone and fixes the rest (every check 0, every service running);
# the records are kept on the controller, with no secret in them or in
# the play's output; a node done and kept with services down before
# (apply's exit 2) does not stop the play; a node check cannot read stops
# it before any plan; a bind password from the inventory goes to vcrotate
# in a file, and into no output.
. "$(dirname "$0")/../lib.sh"

VC=$BUILD/vcrotate
PLAYBOOK=$TOP/contrib/ansible/fleet.yml
A=$T/audit

. "$(dirname "$0")/../ansible.sh"

# inventory FILE HOST...: one host per lab $T/HOST.
inventory() {
	local f=$1 h
	shift
	{
		printf "vcrotate:\n  hosts:\n"
		for h in "$@"; do echo "    $h: {vcrotate_root: $T/$h}"; done
		inventory_vars
	} >"$f"
}
inventory_vars() {
	cat <<-EOF
	  vars:
	    ansible_connection: local
	    vcrotate_bin: "{{ vcrotate_root }}/usr/local/bin/vcrotate"
	    vcrotate_binary_src: $T/dist/vcrotate
	    vcrotate_audit_dir: $A
	    vcrotate_operator: fleet-test
	    vcrotate_ticket: CHG-33
	EOF
}
inventory "$T/inventory.yml" node1 node2 node3

# play OUT [ansible-playbook options]: the playbook on the three labs, its
# output in OUT; exits as ansible-playbook does (which wants a UTF-8 locale).
play() {
	local out=$1
	shift
	LC_ALL=C.UTF-8 ansible-playbook -i "$T/inventory.yml" "$PLAYBOOK" "$@" >"$out" 2>&1
}

# transactions LAB: how many transactions vcrotate's history holds.
transactions() { "$VC" --root "$1" history --json | jq ".transactions | length"; }

# services_running LAB: every service runs (the manual vmware-imagebuilder,
# never started by --start --all, may stay stopped; see t1300).
services_running() {
	local s
	s=$("$1/usr/bin/service-control" --status | sed -n "/^Stopped:/{n;p}") || fail "service-control --status on $1"
	[ -z "$s" ] || [ "$s" = " vmware-imagebuilder" ] || fail "stopped on $1:$s"
}

test_expect 'three all-expired labs' '
	for n in 1 2 3; do
		lab_create "$T/node$n" --scenario all-expired >/dev/null &&
		labctl start "$T/node$n" >/dev/null 2>&1 || :
		lab_dump "$T/node$n" >"$T/before.node$n" || fail "node$n"
	done
'

test_expect 'vcrotate_mode=plan: vcrotate copied and run, every node checked and planned, the records kept, nothing changed' '
	play plan.out -e vcrotate_mode=plan || { tail -30 plan.out; fail "the play failed"; }
	for n in 1 2 3; do
		h=node$n && l=$T/$h &&
		cmp "$VC" "$l/usr/local/bin/vcrotate" &&
		grep -q "^ok: \[$h\] => {\$" plan.out &&
		grep -q "\"msg\": \"$h (vcsa1.example.com, embedded): CRITICAL, [0-9]* findings ([1-9][0-9]* critical, 0 warning); soonest expiry 20[0-9-]*T[0-9:]*Z (" plan.out &&
		jq -e ".status == \"CRITICAL\"" "$A/$h/check.json" >/dev/null &&
		jq -e ".state == \"planned\" and .steps > 0 and (.sha256 | length) == 64" "$A/$h/plan.json" >/dev/null &&
		expect_eq "$(jq -r .sha256 "$A/$h/plan")" "$(jq -r .sha256 "$A/$h/plan.json")" &&
		cmp "$A/$h/plan" "$l/var/lib/vcrotate/fleet/plan" &&
		jq -e ".transactions == []" "$A/$h/history.json" >/dev/null &&
		expect_eq 0 "$(transactions "$l")" &&
		lab_dump "$l" >after && cmp "$T/before.$h" after || fail "$h"
	done
	# the plans are kept for review, and applied later (vcrotate_mode=apply)
	grep -q "node2: planned, [0-9]* steps, SHA-256 $(jq -r .sha256 "$A/node2/plan")" plan.out &&
	grep -q "\"msg\": \"node3: planned\"" plan.out
'

test_expect 'a copy whose SHA-256 is not the release file'"'"'s stops the play before any check' '
	echo "0000000000000000000000000000000000000000000000000000000000000000  vcrotate" >bad.sha256 ||
		fail "bad.sha256"
	rc=0; play bad.out -e vcrotate_mode=plan -e vcrotate_binary_sha256_file=$T/bad.sha256 || rc=$?
	[ "$rc" -ne 0 ] || fail "the play succeeded"
	grep -q "node1/usr/local/bin/vcrotate on node1 has SHA-256 $(sha256sum "$VC" | cut -c1-64), $T/bad.sha256 says 0000" bad.out ||
		fail "the sums not named"
	! grep -q "vcrotate check --json" bad.out || fail "check ran"
'

test_expect '--check: check, plan and apply --dry-run on every node; nothing changed, the reviewed plans kept' '
	for n in 1 2 3; do cp "$A/node$n/plan" "reviewed.node$n" || fail "no plan of node$n"; done
	play check.out --check || { tail -30 check.out; fail "the play failed"; }
	for n in 1 2 3; do
		h=node$n && l=$T/$h &&
		grep -q "\"msg\": \"$h: dry run (transaction [0-9TZ-]*[0-9a-f]*, dry run)\"" check.out &&
		lab_dump "$l" >after && cmp "$T/before.$h" after &&
		expect_eq 0 "$(transactions "$l")" &&
		cmp "reviewed.$h" "$A/$h/plan" || fail "$h"
	done
	! ls "$A"/node*/apply-*.json 2>/dev/null || fail "an apply record"
'

test_expect 'a vpxd fault on node 2 after planning: node 1 done, node 2 rolled back, node 3 untouched; the play fails naming node 2' '
	labctl fault "$T/node2" service vmware-vpxd >/dev/null || fail "labctl fault"
	# all-expired: vpxd was down before the change, so only
	# --rollback-on any-failure makes its failed start a failure (t1300)
	rc=0; play fault.out -e vcrotate_mode=apply -e vcrotate_rollback_on=any-failure || rc=$?
	[ "$rc" -ne 0 ] || fail "the play succeeded"
	grep -q "\"msg\": \"vcrotate: node2 FAILED and rolled back: the node is as it was before (transaction [^ ]*, rolled back)\. vcrotate said: service-control --start --all failed: .*Failed to start vpxd, eam services\. Done: node1\. Not touched: node3\. The play stops at the first failure; the records are in $A\.\"" fault.out ||
		{ grep -A3 "play stops" fault.out; fail "the message"; }
	grep -q "^node2 *: .*failed=1 .*rescued=1" fault.out && grep -q "^node3 *: .*failed=0" fault.out ||
		fail "the recap"
	# node 1: done with the reviewed plan, recorded
	rc=0; "$VC" --root "$T/node1" check >/dev/null || rc=$?
	expect_eq 0 "$rc" &&
	jq -e --arg sha "$(jq -r .sha256 "$A/node1/plan.json")" ".transactions | length == 1 and
	    (.[0] | .result == \"success\" and .plan_sha256 == \$sha and .ticket == \"CHG-33\" and
	    .operator == \"fleet-test\" and .reason == \"fleet playbook\")" "$A/node1/history.json" >/dev/null &&
	"$VC" --root "$T/node1" history --json | cmp - "$A/node1/history.json" &&
	jq -e ".result == \"success\" and .exit_code == 0" "$A"/node1/apply-*.json >/dev/null ||
		fail "node1"
	# node 2: rolled back, byte for byte; check still sees it expired
	rc=0; "$VC" --root "$T/node2" check >/dev/null || rc=$?
	expect_eq 2 "$rc" &&
	lab_dump "$T/node2" >after && cmp "$T/before.node2" after &&
	"$VC" --root "$T/node2" history --json | cmp - "$A/node2/history.json" &&
	jq -e ".transactions | length == 1 and .[0].result == \"rolled back\"" "$A/node2/history.json" >/dev/null &&
	jq -e ".result == \"rolled back\" and .exit_code == 1" "$A"/node2/apply-*.json >/dev/null ||
		fail "node2"
	# node 3: nothing run there
	expect_eq 0 "$(transactions "$T/node3")" &&
	lab_dump "$T/node3" >after && cmp "$T/before.node3" after &&
	! ls "$A"/node3/apply-*.json 2>/dev/null || fail "node3"
'

test_expect 'the reviewed plans applied again: node 1 left alone, the rest fixed; every node'"'"'s check 0 and every service running' '
	labctl fault "$T/node2" clear >/dev/null || fail "labctl fault clear"
	t1=$(jq -r ".transactions[0].transaction" "$A/node1/history.json") &&
	play fix.out -v -e vcrotate_mode=apply || { tail -30 fix.out; fail "the play failed"; }
	grep -q "\"msg\": \"node1: applied already (transaction $t1)\"" fix.out &&
	grep -q "\"msg\": \"node2: done\"" fix.out &&
	grep -q "\"msg\": \"node3: done\"" fix.out || fail "the summary"
	for n in 1 2 3; do
		h=node$n && l=$T/$h &&
		rc=0 && "$VC" --root "$l" check >"check.$h" || rc=$?
		expect_eq 0 "$rc" && services_running "$l" &&
		"$VC" --root "$l" history --json | cmp - "$A/$h/history.json" || fail "$h"
	done
	jq -e "[.transactions[].result] == [\"success\", \"rolled back\"] and
	    ([.transactions[].plan_sha256] | unique | length) == 1" "$A/node2/history.json" >/dev/null &&
	expect_eq 2 "$(ls "$A"/node2/apply-*.json | wc -l)" &&
	expect_eq 1 "$(transactions "$T/node1")" || fail "the records"
	# a run that plans again finds nothing to do anywhere
	play again.out || { tail -30 again.out; fail "the play failed"; }
	for n in 1 2 3; do
		grep -q "\"msg\": \"node$n: nothing to do\"" again.out &&
		jq -e ".state == \"nothing to do\" and .sha256 == null" "$A/node$n/plan.json" >/dev/null &&
		[ ! -e "$A/node$n/plan" ] || fail "node$n"
	done
'

test_expect 'no password, key or backup key in the play'"'"'s output or the records' '
	for n in 1 2 3; do
		l=$T/node$n &&
		cat "$l/var/lib/vmware-lab/admin.password" && echo &&
		sed -n "s/^dcAccountPassword=//p" "$l/var/lib/likewise/registry" | sed "s/\\\\\\\\/\\\\/g" &&
		cat "$l/etc/vcrotate/backup.key" &&
		{ cat "$l/var/lib/vmware/vmca/privatekey.pem"
		  "$l/usr/lib/vmware-vmafd/bin/vecs-cli" entry getkey --store MACHINE_SSL_CERT --alias __MACHINE_CERT
		  "$l/usr/lib/vmware-vmafd/bin/vecs-cli" entry getkey --store vpxd-extension --alias vpxd-extension
		} | grep -v -- "-----" | cut -c1-40 || fail "node$n"
	done | grep -v "^$" >secrets &&
	[ "$(wc -l <secrets)" -gt 20 ] || fail "only $(wc -l <secrets) secrets"
	found=$(grep -r -F -f secrets "$A" ./*.out | cut -c1-100) || :
	[ -z "$found" ] || fail "secrets found: $found"
'

# inventory_login FILE WRONG: the three labs' inventory, logging in as the
# administrator with each lab's password (node WRONG's made wrong), written
# as a JSON string (which YAML reads) in a file only its owner reads; the
# passwords are added to $T/passwords.
inventory_login() {
	local f=$1 h pw
	: >"$f" && chmod 600 "$f" || return 1
	{
		printf "vcrotate:\n  hosts:\n"
		for h in node1 node2 node3; do
			pw=$(cat "$T/$h/var/lib/vmware-lab/admin.password") || return 1
			[ "$h" != "$2" ] || pw=wrong$pw
			echo "$pw" >>"$T/passwords"
			printf "    %s:\n      vcrotate_root: %s\n      vcrotate_bind_password: %s\n" \
			    "$h" "$T/$h" "$(jq -Rn --arg p "$pw" '$p')"
		done
		inventory_vars
		echo "    vcrotate_bind_dn: cn=Administrator,cn=Users,dc=vsphere,dc=local"
	} >>"$f"
}

test_expect 'a bind password from the inventory: given as --password-file, in no output at -vvv, its file removed' '
	inventory_login login.yml none || fail "the inventory"
	LC_ALL=C.UTF-8 ansible-playbook -vvv -i login.yml "$PLAYBOOK" -e vcrotate_mode=plan >login.out 2>&1 ||
		{ tail -30 login.out; fail "the play failed"; }
	grep -q "censored.*no_log: true" login.out &&
	grep -A1 -- "\"--password-file\",\$" login.out | grep -q "\"$T/node2/var/lib/vcrotate/fleet/bind-password\"" ||
		fail "no --password-file"
	for n in 1 2 3; do
		[ ! -e "$T/node$n/var/lib/vcrotate/fleet/bind-password" ] || fail "node$n: the password file stays"
	done
	# the login is the one used: a wrong password stops the check
	inventory_login wrong.yml node3 || fail "the inventory"
	rc=0; LC_ALL=C.UTF-8 ansible-playbook -vvv -i wrong.yml "$PLAYBOOK" >wrong.out 2>&1 || rc=$?
	[ "$rc" -ne 0 ] || fail "the play succeeded"
	grep -q "\"msg\": \"vcrotate check on node3 exited 3 (UNKNOWN: .*): cannot bind to ldap://[0-9.:]* as cn=Administrator,cn=Users,dc=vsphere,dc=local: Invalid credentials\. The play stops before any node is changed\.\"" wrong.out ||
		fail "the message"
	for n in 1 2 3; do
		[ ! -e "$T/node$n/var/lib/vcrotate/fleet/bind-password" ] || fail "node$n: the password file stays"
	done
	found=$(grep -F -f "$T/passwords" login.out wrong.out | cut -c1-100) || :
	[ -z "$found" ] || fail "passwords in the output: $found"
'

test_expect 'a node done and kept with services down before (apply exit 2) is named, and the play goes on' '
	lab_create "$T/node4" --scenario all-expired >/dev/null &&
	labctl start "$T/node4" >/dev/null 2>&1 || :
	labctl fault "$T/node4" service vmware-vpxd >/dev/null && inventory inv2.yml node4 node1 ||
		fail "node4"
	LC_ALL=C.UTF-8 ansible-playbook -i inv2.yml "$PLAYBOOK" >kept.out 2>&1 || { tail -30 kept.out; fail "the play failed"; }
	grep -q "\"msg\": \"node4: done and kept; services that were down before are still down (transaction [^ ]*, success, services down before still down); still down: vmware-eam vmware-vpxd\"" kept.out &&
	grep -q "\"msg\": \"node1: nothing to do\"" kept.out || fail "the play'"'"'s words"
	rc=0; "$VC" --root "$T/node4" check >/dev/null || rc=$?
	expect_eq 0 "$rc" &&
	jq -e ".result == \"success, services down before still down\" and .exit_code == 2" "$A"/node4/apply-*.json >/dev/null
'

test_expect 'a node check cannot read (vmdird down) stops the play before any plan, naming it' '
	labctl fault "$T/node2" slapd-down >/dev/null || fail "labctl fault"
	rc=0; play unread.out || rc=$?
	[ "$rc" -ne 0 ] || fail "the play succeeded"
	grep -q "\"msg\": \"vcrotate check on node2 exited 3 (UNKNOWN: a part of the appliance could not be read, or bad usage): .*The play stops before any node is changed.\"" unread.out ||
		{ grep -A3 "exited" unread.out; fail "the message"; }
	! grep -q "vcrotate plan -o" unread.out || fail "a node was planned"
'

test_done
