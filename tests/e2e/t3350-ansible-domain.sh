#!/bin/bash
# The domain playbook (contrib/ansible/domain.yml, issue 20) on a 3-node
# SSO domain where everything expired, the STS credential included. vmdir
# serves each node's (expired) Machine SSL certificate, so the first
# node's apply cannot ask the others whether the new STS reached them: it
# stops at once, rolled back, naming --replication-wait 0. With it: the
# first node's plan replaces the domain's STS; then each other node plans
# (no STS step: it sees the new one) and applies, one at a time. A vpxd
# fault on node 2 leaves node 1 done, node 2 rolled back, node 3
# untouched, and the play says so; run again, it finishes: every node's
# check 0 (each asking the others over the network), every service
# running. ansible-playbook runs under labctl exec, where the nodes' PNIDs
# resolve.
. "$(dirname "$0")/../lib.sh"

VC=$BUILD/vcrotate
PLAYBOOK=$TOP/contrib/ansible/domain.yml
D=$T/dom
A=$T/audit

. "$(dirname "$0")/../ansible.sh"

{
	printf "vcrotate:\n  hosts:\n"
	for n in vc1 vc2 vc3; do echo "    $n: {vcrotate_root: $D/$n}"; done
	cat <<-EOF
	  vars:
	    ansible_connection: local
	    vcrotate_bin: "{{ vcrotate_root }}/usr/local/bin/vcrotate"
	    vcrotate_binary_src: $T/dist/vcrotate
	    vcrotate_audit_dir: $A
	    vcrotate_operator: domain-test
	    vcrotate_ticket: CHG-20
	    vcrotate_rollback_on: any-failure
	EOF
} >"$T/inventory.yml"

domain_create() { echo "$1" >>"$T/.labs"; labctl create-domain "$@"; }
play() {
	local out=$1
	shift
	LC_ALL=C.UTF-8 labctl exec "$D" ansible-playbook -i "$T/inventory.yml" "$PLAYBOOK" "$@" >"$out" 2>&1
}
vc() { local n=$1; shift; labctl exec "$D" "$VC" --root "$D/$n" "$@"; }
transactions() { "$VC" --root "$D/$1" history --json | jq ".transactions | length"; }
# settled N: vcrotate check --json (into c.json) on node N until it exits
# 0, for at most 20 s; else its findings, and the exit status compared.
# The last node's apply reaches the others' directories by replication
# (every second in this lab), as it does between appliances: until then a
# node may still see another's old registrations.
settled() {
	local n=$1 i rc
	for i in $(seq 20); do
		rc=0; vc $n check --json >c.json || rc=$?
		[ "$rc" -ne 0 ] || return 0
		sleep 1
	done
	jq -c ".findings[] | [.severity, .code, .message]" c.json >&2
	expect_eq 0 "$rc"
}
services_running() {
	local s
	s=$("$D/$1/usr/bin/service-control" --status | sed -n "/^Stopped:/{n;p}") || fail "service-control --status on $1"
	[ -z "$s" ] || [ "$s" = " vmware-imagebuilder" ] || fail "stopped on $1:$s"
}

test_expect 'a 3-node domain, everything expired on every node (the STS the domain'"'"'s)' '
	domain_create "$D" --nodes 3 --scenario all-expired >/dev/null &&
	labctl start "$D" >/dev/null 2>&1
	for n in vc1 vc2 vc3; do
		rc=0; vc $n check >/dev/null || rc=$?
		expect_eq 2 "$rc" || return 1
	done
'

test_expect 'vmdir serves the expired Machine SSL certificates: vc1'"'"'s apply cannot ask the others, stops at once, rolled back; the play names --replication-wait 0' '
	rc=0; play out0 || rc=$?
	[ "$rc" -ne 0 ] || fail "the play passed"
	grep -q "vcrotate: vc1 FAILED and rolled back" out0 &&
	grep -q "cannot ask vc2.example.com, vc3.example.com whether vmdir has replicated the new STS credential there" out0 &&
	grep -q "replication-wait 0 skips the wait" out0 &&
	grep -q "Not touched: vc2, vc3\." out0 &&
	expect_eq 1 "$(transactions vc1)" && expect_eq 0 "$(transactions vc2)" &&
	"$VC" --root "$D/vc1" history --json | jq -e ".transactions[0].result | test(\"rolled back\")" >/dev/null
'

# From here on, as an operator does on that night: apply without the wait.
WAIT0=(-e '{"vcrotate_apply_options": ["--replication-wait", "0"]}')

test_expect 'a vpxd fault on vc2: vc1 done, vc2 rolled back, vc3 untouched; the play names vc2' '
	labctl fault "$D/vc2" service vmware-vpxd >/dev/null &&
	rc=0; play out1 "${WAIT0[@]}" || rc=$?
	[ "$rc" -ne 0 ] || fail "the play passed"
	grep -q "vcrotate: vc2 FAILED and rolled back" out1 &&
	grep -q "Done: vc1\." out1 && grep -q "Not touched: vc3\." out1 &&
	expect_eq 2 "$(transactions vc1)" && expect_eq 1 "$(transactions vc2)" &&
	expect_eq 0 "$(transactions vc3)" &&
	"$VC" --root "$D/vc1" history --json | jq -e ".transactions[0].result == \"success\"" >/dev/null &&
	"$VC" --root "$D/vc2" history --json | jq -e ".transactions[0].result | test(\"rolled back\")" >/dev/null &&
	jq -e "[.steps[] | .kind] | index(\"sts\") != null" "$A/vc1/plan" >/dev/null &&
	jq -e "[.steps[] | .kind] | index(\"sts\") == null" "$A/vc2/plan" >/dev/null &&
	[ ! -e "$A/vc3/plan" ] &&
	rc=0; vc vc1 check --node vc1.example.com >/dev/null || rc=$?
	expect_eq 0 "$rc"
'

test_expect 'the fault cleared, the play again: every node done, every check 0 asking the others, every service running' '
	labctl fault "$D/vc2" clear >/dev/null &&
	play out2 "${WAIT0[@]}" || { tail -30 out2 >&2; fail "the play failed"; }
	grep -q "vc1: nothing to do" out2 &&
	for n in vc1 vc2 vc3; do
		settled $n &&
		jq -e "[.domain.nodes[] | select(.self | not) | .directory] | unique == [\"same\"]" c.json >/dev/null &&
		jq -e "[.domain.endpoints[] | .state] | unique == [\"trusted\"]" c.json >/dev/null &&
		services_running $n || return 1
	done &&
	expect_eq 2 "$(transactions vc1)" && expect_eq 2 "$(transactions vc2)" && expect_eq 1 "$(transactions vc3)"
'

test_done
