#!/bin/bash
# rollback T1 after a later T2 changed the same entries: refused, naming
# them and T2, unless --force, which puts T1's before state back, says in
# the audit record that it undoes T2 (with the operator, ticket and reason
# given), and history then shows T2 as rolled back by it.
. "$(dirname "$0")/../lib.sh"

VC=$BUILD/vcrotate
L=$T/lab

txn_of() { jq -r ".transactions[] | select(.plan_sha256 == \"$(jq -r .sha256 "$1")\") | .transaction" hist.json | head -n 1; }

test_expect 'two transactions on the same STS credential: T1, then T2' '
	lab_create "$L" --scenario sts-expired >/dev/null &&
	labctl start "$L" >/dev/null 2>&1 || :
	"$VC" --root "$L" plan -o t1.plan >/dev/null &&
	"$VC" --root "$L" apply t1.plan --yes >/dev/null 2>&1 &&
	"$VC" --root "$L" plan --renew-within 4000 --scope sts -o t2.plan >/dev/null &&
	"$VC" --root "$L" apply t2.plan --yes >/dev/null 2>&1 &&
	"$VC" --root "$L" history --json >hist.json &&
	[ -n "$(txn_of t1.plan)" ] && [ -n "$(txn_of t2.plan)" ]
'

test_expect 'rollback T1: refused, naming the entries and T2; the appliance unchanged' '
	t1=$(txn_of t1.plan) && t2=$(txn_of t2.plan) &&
	lab_dump "$L" >before &&
	rc=0 && "$VC" --root "$L" rollback "$t1" >out 2>err || rc=$?
	expect_eq 4 "$rc" &&
	expect_grep "no longer holds what $t1 left" err &&
	expect_grep "TenantCredential" err &&
	expect_grep "by $t2" err &&
	expect_grep "\-\-force" err &&
	lab_dump "$L" >after &&
	diff -u before after &&
	[ ! -e "$L/var/lib/vcrotate/journal" ]
'

test_expect 'rollback T1 --force: the before state of T1, recorded as undoing T2, with who and why' '
	t1=$(txn_of t1.plan) && t2=$(txn_of t2.plan) &&
	"$VC" --root "$L" rollback "$t1" --force --operator bob --ticket CHG-42 --reason "back out the change" >out 2>&1 &&
	# T1 fixed an expired STS: putting its before state back is said
	grep -q "warning: puts back cn=TenantCredential-1,.*, expired on " out &&
	before=$(jq -r --arg t "$t1" ".transactions[] | select(.transaction == \$t) | .before" hist.json) &&
	"$VC" --root "$L" backup restore "$before" --dry-run >dry.out 2>&1 &&
	grep -q "^0 changes would be made" dry.out &&
	"$VC" --root "$L" history --json >h2.json &&
	r=$(jq -r --arg t "$t1" ".transactions[] | select(.result == \"success\" and (.reason | startswith(\"rollback of \" + \$t))) | .transaction" h2.json) &&
	[ -n "$r" ] &&
	expect_eq "rollback of $t1, undoing $t2: back out the change" \
	    "$(jq -r --arg r "$r" ".transactions[] | select(.transaction == \$r) | .reason" h2.json)" &&
	expect_eq bob "$(jq -r --arg r "$r" ".transactions[] | select(.transaction == \$r) | .operator" h2.json)" &&
	expect_eq CHG-42 "$(jq -r --arg r "$r" ".transactions[] | select(.transaction == \$r) | .ticket" h2.json)" &&
	expect_eq "$r" "$(jq -r --arg t "$t2" ".transactions[] | select(.transaction == \$t) | .rolled_back_by" h2.json)" &&
	"$VC" --root "$L" history | grep "  $t2  " | grep -q "; rolled back by $r$" &&
	git --git-dir="$L/var/lib/vcrotate/backup.git" log --format=%B snapshots | grep -q "^Ticket: CHG-42$"
'

test_expect 'backup restore: the state it replaces snapshotted, an expired certificate named, the audit record' '
	t1=$(txn_of t1.plan) &&
	before=$(jq -r --arg t "$t1" ".transactions[] | select(.transaction == \$t) | .before" hist.json) &&
	"$VC" --root "$L" plan -o t3.plan >/dev/null 2>&1 || :
	"$VC" --root "$L" apply t3.plan --yes >/dev/null 2>&1 || :
	g="git --git-dir=$L/var/lib/vcrotate/backup.git" &&
	n0=$($g rev-list --count snapshots) &&
	"$VC" --root "$L" backup restore "$before" --ticket CHG-43 --operator carol --reason "test restore" >out 2>err &&
	expect_grep "state this restore replaces" out &&
	grep -q "warning: puts back cn=TenantCredential-1,.*, expired on " err &&
	# a transaction of its own: before, applied, the outcome
	expect_eq "$((n0 + 3))" "$($g rev-list --count snapshots)" &&
	$g log -3 --format=%B snapshots >log &&
	grep -q "^Result: success$" log && grep -q "^Result: before$" log &&
	grep -q "^Result: applied$" log &&
	expect_eq 3 "$(grep -c "^Ticket: CHG-43$" log)" &&
	expect_eq 3 "$(grep -c "^Operator: carol$" log)" &&
	expect_eq 3 "$(grep -c "^Transaction: " log)" &&
	expect_eq 1 "$(grep "^Transaction: " log | sort -u | wc -l)" &&
	grep -q "^Reason: backup restore of $before: test restore$" log &&
	"$VC" --root "$L" history --json >h3.json &&
	jq -e --arg r "backup restore of $before: test restore" ".transactions[0] | .result == \"success\" and .ticket == \"CHG-43\" and .reason == \$r" h3.json >/dev/null &&
	"$VC" --root "$L" backup restore "$before" --dry-run >dry.out 2>&1 &&
	grep -q "^0 changes would be made" dry.out
'

test_expect 'backup restore killed half-way: a journal, and recover puts the state it replaced back' '
	"$VC" --root "$L" history --json >hist.json &&
	t3=$(txn_of t3.plan) && [ -n "$t3" ] &&
	target=$(jq -r --arg t "$t3" ".transactions[] | select(.transaction == \$t) | .outcome" hist.json) &&
	lab_dump "$L" >pre.dump &&
	# the points of a clean run, then the state it replaced put back
	VCROTATE_FAULT_LOG=$T/rpoints "$VC" --root "$L" backup restore "$target" --yes >/dev/null 2>&1 &&
	back=$("$VC" --root "$L" history --json | jq -r ".transactions[0].before") &&
	"$VC" --root "$L" backup restore "$back" --yes >/dev/null 2>&1 &&
	lab_dump "$L" | diff -q pre.dump - >/dev/null &&
	n=$(awk "/vecs-cli entry|ldap (add|modify|delete)/ { print \$1; exit }" "$T/rpoints") && [ -n "$n" ] &&
	rc=0 && { VCROTATE_FAULT=crash-after:$n "$VC" --root "$L" backup restore "$target" --yes >/dev/null 2>&1; } 2>/dev/null || rc=$?
	expect_eq 137 "$rc" &&
	[ -e "$L/var/lib/vcrotate/journal" ] &&
	rc=0 && "$VC" --root "$L" apply t3.plan --yes >/dev/null 2>err || rc=$?
	expect_eq 6 "$rc" &&
	"$VC" --root "$L" recover >rec.out 2>&1 &&
	[ ! -e "$L/var/lib/vcrotate/journal" ] &&
	lab_dump "$L" | diff -u pre.dump - &&
	"$VC" --root "$L" history --json | jq -e ".transactions[0].result == \"rolled back (recovered)\"" >/dev/null
'

test_done
