#!/bin/bash
# vcrotate apply on the lab: each broken scenario repaired by one apply with
# exactly one stop/start cycle, after which check is clean and a new plan has
# nothing to do; a failing service and failing vecs-cli writes rolled back to
# a byte-identical before state; --dry-run touching nothing; a stale plan
# refused by name; history and rollback.
. "$(dirname "$0")/../lib.sh"

VC=$BUILD/vcrotate
TC=cn=vsphere.local,cn=Tenants,cn=IdentityManager,cn=Services,dc=vsphere,dc=local
# A lab counter; 0 when the lab has not counted it yet.
counter() { local v; v=$(sed -n "s/^$2=//p" "$1/var/lib/vmware-lab/counters"); echo "${v:-0}"; }

# repair NAME [labctl create options]: plan, apply, and what must hold after.
repair() {
	local name=$1 lab=$T/$1 rc=0
	shift
	lab_create "$lab" --scenario "$name" "$@" >/dev/null || fail "labctl create"
	labctl start "$lab" >/dev/null 2>&1
	"$VC" --root "$lab" plan -o "$T/$name.plan" >/dev/null || fail "plan"
	c0=$(counter "$lab" cycles)
	"$VC" --root "$lab" apply "$T/$name.plan" --ticket CHG-1 >"$T/$name.out" 2>&1 || rc=$?
	expect_eq 0 "$rc" || { tail -5 "$T/$name.out" >&2; return 1; }
	expect_eq "$((c0 + 1))" "$(counter "$lab" cycles)" || fail "not one restart"
	rc=0; "$VC" --root "$lab" check >"$T/$name.check" || rc=$?
	expect_eq 0 "$rc" || { grep -A3 "^FINDINGS" "$T/$name.check" >&2; return 1; }
	rc=0; "$VC" --root "$lab" plan >/dev/null || rc=$?
	expect_eq 2 "$rc" || fail "a plan after the repair has something to do"
	# service-control --status leaves out an empty Stopped: section; the
	# manual vmware-imagebuilder, not running before, may stay stopped.
	"$lab/usr/bin/service-control" --status >"$T/$name.status" &&
	[ "$(sed -n "/^Stopped:/{n;p}" "$T/$name.status")" = "" ] ||
	[ "$(sed -n "/^Stopped:/{n;p}" "$T/$name.status")" = " vmware-imagebuilder" ] ||
		fail "services stopped: $(cat "$T/$name.status")"
}

test_expect 'all-expired: one apply, one restart, check clean, nothing left to plan' '
	repair all-expired &&
	grep -q "snapshot of the before state" "$T/all-expired.out" &&
	grep -q "^\[ *[0-9]*s\] done: transaction" "$T/all-expired.out"
'
test_expect 'sts-expired is repaired' 'repair sts-expired'
test_expect 'stale-sts-chain is repaired, only index 1 left' '
	repair stale-sts-chain &&
	l=$T/stale-sts-chain &&
	ldapsearch -x -LLL -H "$(sed -n "s/^ldap_uri=//p" "$l/etc/vcrotate/vcrotate.conf")" \
	    -D cn=Administrator,cn=Users,dc=vsphere,dc=local -y "$l/var/lib/vmware-lab/admin.password" \
	    -b "$TC" "(|(cn=TenantCredential-*)(cn=TrustedCertChain-*))" cn | sed -n "s/^cn: //p" | sort >got &&
	printf "TenantCredential-1\nTrustedCertChain-1\n" >want && diff -u want got
'
test_expect 'root-expired: a new VMCA root and everything reissued' '
	repair root-expired &&
	openssl x509 -in "$T/root-expired/var/lib/vmware/vmca/root.cer" -noout -checkend 86400
'
test_expect 'solution-user-mismatch is repaired' 'repair solution-user-mismatch'
test_expect 'machine-ssl-no-pnid is repaired, and the TLS endpoint serves the new certificate' '
	repair machine-ssl-no-pnid &&
	l=$T/machine-ssl-no-pnid &&
	port=$(sed -n "s/^https_port=//p" "$l/etc/vcrotate/vcrotate.conf") &&
	echo | openssl s_client -connect 127.0.0.1:$port 2>/dev/null | openssl x509 -noout -fingerprint >served &&
	"$l/usr/lib/vmware-vmafd/bin/vecs-cli" entry getcert --store MACHINE_SSL_CERT --alias __MACHINE_CERT |
	    openssl x509 -noout -fingerprint >vecs &&
	cmp served vecs &&
	openssl x509 -in <("$l/usr/lib/vmware-vmafd/bin/vecs-cli" entry getcert --store MACHINE_SSL_CERT \
	    --alias __MACHINE_CERT) -noout -ext subjectAltName | grep -q "DNS:vcsa1.example.com"
'
test_expect 'trust-anchor-stale is repaired' 'repair trust-anchor-stale'

test_expect '--restart per-step restarts after each step (and not again at the end)' '
	l=$T/perstep && lab_create "$l" --scenario healthy >/dev/null && labctl start "$l" >/dev/null 2>&1
	# Six solution users, each a group that stands on its own, and the
	# VCDB rows that follow vpxd-extension.
	"$VC" --root "$l" plan --scope solution-users --renew-within 100000 -o ps.plan >/dev/null &&
	expect_eq 8 "$(jq ".steps | length" ps.plan)" &&
	c0=$(counter "$l" cycles) &&
	"$VC" --root "$l" apply ps.plan --restart per-step >out &&
	expect_eq "$((c0 + 7))" "$(counter "$l" cycles)" &&
	grep -q "already restarted after each step" out &&
	l2=$T/perstep2 && lab_create "$l2" --scenario all-expired >/dev/null && labctl start "$l2" >/dev/null 2>&1
	"$VC" --root "$l2" plan -o ps2.plan >/dev/null &&
	rc=0 && "$VC" --root "$l2" apply ps2.plan --restart per-step >out 2>err || rc=$?
	expect_eq 1 "$rc" &&
	grep -q "rolled back" out
'

test_expect '--json: the result document alone on stdout, progress on stderr' '
	l=$T/js && lab_create "$l" --scenario sts-expired >/dev/null && labctl start "$l" >/dev/null 2>&1
	"$VC" --root "$l" plan -o js.plan >/dev/null &&
	"$VC" --root "$l" apply js.plan --json >out.json 2>progress &&
	jq -e ".schema == \"vcrotate.apply/1\" and .result == \"success\" and .exit_code == 0 and
	    (.before | length) == 40 and (.after | length) == 40 and .error == null" out.json >/dev/null &&
	grep -q "step 1 of 2" progress &&
	rc=0 && "$VC" --root "$l" apply js.plan --json >out.json 2>/dev/null || rc=$?
	expect_eq 4 "$rc" &&
	jq -e ".result == \"refused\" and (.error | test(\"changed since the plan\"))" out.json >/dev/null
'

test_expect 'history lists the transaction: its record, its before and after snapshots' '
	l=$T/all-expired && g="git --git-dir=$l/var/lib/vcrotate/backup.git" &&
	"$VC" --root "$l" history >h &&
	expect_eq 1 "$(wc -l <h)" &&
	before=$($g log --format="%H %(trailers:key=Result,valueonly,separator=)" snapshots | awk "\$2 == \"before\" { print \$1 }") &&
	after=$($g rev-parse snapshots) &&
	grep -q "^[-0-9]* [:0-9]* UTC  [0-9T]*Z-[0-9a-f]*  success  *operator [^,]*, ticket CHG-1; before ${before:0:12} -> ${after:0:12}; apply$" h &&
	"$VC" --root "$l" history --json >h.json &&
	jq -e --arg b "$before" --arg a "$after" ".schema == \"vcrotate.history/1\" and
	    (.transactions | length) == 1 and (.transactions[0] |
	    .result == \"success\" and .ticket == \"CHG-1\" and .before == \$b and .outcome == \$a and
	    (.plan_sha256 | length) == 64 and (.steps | test(\"^1 sts [0-9.]+s, 2 solution_user\")) and
	    (.timings | test(\"preflight .*prepare .*snapshot and journal .*steps .*verify \")) and
	    ([.snapshots[].result] == [\"success\", \"applied\", \"before\"]))" h.json >/dev/null &&
	$g log -1 --format=%B | grep -q "^Ticket: CHG-1$" &&
	$g log -1 --format=%B | grep -q "^Steps: 1 sts "
'

test_expect '--keep-on-failure leaves the new certificates, says so; rollback TXN puts the before state back' '
	l=$T/keep && lab_create "$l" --scenario sts-expired >/dev/null && labctl start "$l" >/dev/null 2>&1
	"$VC" --root "$l" plan -o keep.plan >/dev/null &&
	lab_dump "$l" >before.dump &&
	labctl fault "$l" service vmware-vpxd >/dev/null &&
	# vpxd was down before (the STS expired): any failure is one here
	rc=0 && "$VC" --root "$l" apply keep.plan --keep-on-failure --rollback-on any-failure >out 2>err || rc=$?
	expect_eq 1 "$rc" &&
	grep -q -- "--keep-on-failure: the new certificates stay" out &&
	lab_dump "$l" >kept.dump && ! cmp -s before.dump kept.dump &&
	[ ! -e "$l/var/lib/vcrotate/journal" ] &&
	txn=$("$VC" --root "$l" history --json | jq -r ".transactions[0] | select(.result == \"failed, kept\") | .transaction") &&
	[ -n "$txn" ] &&
	labctl fault "$l" clear >/dev/null &&
	"$VC" --root "$l" rollback "$txn" >rb.out 2>&1 &&
	lab_dump "$l" >after.dump && cmp before.dump after.dump
'

test_expect 'at a terminal apply asks first: anything but y changes nothing' '
	command -v script >/dev/null || fail "script(1) is missing" &&
	l=$T/ask && lab_create "$l" --scenario sts-expired >/dev/null && labctl start "$l" >/dev/null 2>&1
	"$VC" --root "$l" plan -o ask.plan >/dev/null &&
	lab_dump "$l" >before.dump &&
	rc=0 && printf "n\n" | script -qec "$VC --root $l apply ask.plan" /dev/null >tty.out 2>&1 || rc=$?
	expect_eq 4 "$rc" &&
	grep -q "Apply 2 steps to vcsa1.example.com, restarting every service? \[y/N\]" tty.out &&
	grep -q "not confirmed" tty.out &&
	lab_dump "$l" >after.dump && cmp before.dump after.dump &&
	[ ! -e "$l/var/lib/vcrotate/journal" ]
'

test_expect '--rollback-on any-failure: a service that will not start: rolled back to a byte-identical before state, exit 1, vpxd named' '
	l=$T/fail && lab_create "$l" --scenario all-expired >/dev/null && labctl start "$l" >/dev/null 2>&1
	"$VC" --root "$l" plan -o fail.plan >/dev/null &&
	lab_dump "$l" >before.dump &&
	labctl fault "$l" service vmware-vpxd >/dev/null &&
	rc=0 && "$VC" --root "$l" apply fail.plan --rollback-on any-failure >out 2>err || rc=$?
	expect_eq 1 "$rc" &&
	# vmon names every service that failed: vpxd, and eam that needs it.
	grep -q "Failed to start vpxd, eam services" err &&
	grep -q "rolled back: the appliance equals snapshot" out &&
	lab_dump "$l" >after.dump &&
	cmp before.dump after.dump &&
	"$VC" --root "$l" history | grep -q "rolled back"
'

test_expect 'the outage night: everything expired, vpxd down for another reason: applied and kept, exit 2, vpxd named' '
	l=$T/night && lab_create "$l" --scenario all-expired >/dev/null && labctl start "$l" >/dev/null 2>&1
	"$VC" --root "$l" plan -o night.plan >/dev/null &&
	"$l/usr/bin/service-control" --status --all | sed -n "/^Stopped:/,/^Running:/p" | grep -q "vmware-vpxd" &&
	labctl fault "$l" service vmware-vpxd >/dev/null &&
	rc=0 && "$VC" --root "$l" apply night.plan --yes >out 2>err || rc=$?
	expect_eq 2 "$rc" &&
	grep -q "services that were down before the change are still down: vmware-eam vmware-vpxd (.*Failed to start vpxd, eam services" out &&
	# the manual vmware-imagebuilder, down before too, was never started
	! grep "still down" out | grep -q imagebuilder &&
	! grep -q "rolled back" out &&
	[ ! -e "$l/var/lib/vcrotate/journal" ] &&
	"$VC" --root "$l" history | head -1 | grep -q "success, services down before still down" &&
	# the certificates are done: a new plan has nothing to do
	rc=0 && "$VC" --root "$l" plan -o again.plan >/dev/null 2>&1 || rc=$?
	expect_eq 2 "$rc" &&
	# and once vpxd is fixed, it starts on them
	labctl fault "$l" clear >/dev/null &&
	"$l/usr/bin/service-control" --start --all >/dev/null 2>&1 &&
	"$l/usr/bin/service-control" --status --all | sed -n "/^Running:/,\$p" | grep -q "vmware-vpxd"
'

test_expect 'the restart'"'"'s stop failing is a failure, whatever ran before: rolled back, exit 1' '
	# solution users only: no new Machine SSL certificate whose serving
	# the verify would miss; the services simply were never restarted
	l=$T/stop && lab_create "$l" --scenario healthy >/dev/null && labctl start "$l" >/dev/null 2>&1
	"$VC" --root "$l" plan --renew-within 100000 --scope solution-users -o stop.plan >/dev/null &&
	lab_dump "$l" >before.dump &&
	# where the stop comes, counted on a twin lab
	lab_create "$T/stop2" --scenario healthy >/dev/null && labctl start "$T/stop2" >/dev/null 2>&1 &&
	"$VC" --root "$T/stop2" plan --renew-within 100000 --scope solution-users -o stop2.plan >/dev/null &&
	VCROTATE_FAULT_LOG=$T/stop.points "$VC" --root "$T/stop2" apply stop2.plan --yes >/dev/null 2>&1 &&
	n=$(awk "/service-control --stop/ { print \$1; exit }" "$T/stop.points") && [ -n "$n" ] &&
	rc=0 && VCROTATE_FAULT=fail:$n "$VC" --root "$l" apply stop.plan --yes --json >out.json 2>err || rc=$?
	expect_eq 1 "$rc" &&
	jq -e ".result == \"rolled back\" and .still_down == null" out.json >/dev/null &&
	lab_dump "$l" >after.dump && cmp before.dump after.dump
'

test_expect 'a regression: vpxd ran before and does not after: rolled back, exit 1, by default' '
	l=$T/regr && lab_create "$l" --scenario healthy >/dev/null && labctl start "$l" >/dev/null 2>&1
	"$VC" --root "$l" plan --renew-within 100000 --scope machine-ssl -o regr.plan >/dev/null &&
	lab_dump "$l" >before.dump &&
	labctl fault "$l" service vmware-vpxd >/dev/null &&
	rc=0 && "$VC" --root "$l" apply regr.plan --yes >out 2>err || rc=$?
	expect_eq 1 "$rc" &&
	grep -q "rolled back: the appliance equals snapshot" out &&
	lab_dump "$l" >after.dump && cmp before.dump after.dump
'

# FAULTS=all (make test-faults) tries every N; the default, a sample.
test_expect 'vecs-cli failing on its Nth write: rolled back each time' '
	l=$T/nth && lab_create "$l" --scenario all-expired >/dev/null && labctl start "$l" >/dev/null 2>&1
	"$VC" --root "$l" plan -o nth.plan >/dev/null &&
	w=$("$VC" --root "$l" apply nth.plan --dry-run | grep -c "vecs-cli entry \(delete\|create\)") &&
	[ "$w" -gt 2 ] &&
	if [ "${FAULTS:-sample}" = all ]; then ns=$(seq "$w"); else ns="1 2 $((w / 2)) $w"; fi &&
	echo "# the plan makes $w vecs-cli writes; failing write N for N in:" $ns >&3 &&
	lab_dump "$l" >before.dump &&
	for n in $ns; do
		labctl fault "$l" vecs-write $n >/dev/null &&
		rc=0 && "$VC" --root "$l" apply nth.plan >out 2>err || rc=$?
		expect_eq 1 "$rc" || { cat err; exit 1; }
		grep -q "vecs-cli entry .* failed" err || fail "N=$n: no vecs-cli failure named"
		lab_dump "$l" >after.dump && cmp before.dump after.dump || fail "N=$n: not rolled back"
		labctl fault "$l" clear >/dev/null
	done
' 3>&1

# The writes a dry run prints and a live run makes, in order, as words:
# "vecs-cli entry create", "ldap modify", "write file", "service-control".
dry_writes() {
	sed -n "s/^    \(vecs-cli entry [a-z]*\) .*/\1/p
		s/^    ldap \(add\|delete\) .*/ldap \1/p
		s/^    ldap modify (replace) .*/ldap modify/p
		s/^    write [^,]*, then .*/write file\nwrite file/p
		s/^    service-control --stop --all.*/service-control/p" "$1"
}
# The live run's from its first step on (the journal is written before).
live_writes() {
	sed -n "s/^[0-9]* \(vecs-cli entry [a-z]*\)$/\1/p
		s/^[0-9]* \(ldap [a-z]*\)$/\1/p
		s/^[0-9]* \(write file\)$/\1/p
		s/^[0-9]* service-control --stop$/service-control/p" "$1" |
	awk "/^(vecs-cli|ldap)/ { on = 1 } on"
}

test_expect '--dry-run prints, in order, every write the live run makes (the same step code)' '
	l=$T/same && lab_create "$l" --scenario all-expired >/dev/null && labctl start "$l" >/dev/null 2>&1
	"$VC" --root "$l" plan --reset-all -o same.plan >/dev/null &&
	"$VC" --root "$l" apply same.plan --dry-run >dry.out &&
	VCROTATE_FAULT_LOG=$T/same.log "$VC" --root "$l" apply same.plan --yes >live.out 2>&1 &&
	dry_writes dry.out >dry.w && live_writes "$T/same.log" >live.w &&
	[ "$(wc -l <live.w)" -gt 20 ] &&
	grep -q "^ldap add$" live.w && grep -q "^write file$" live.w &&
	diff -u live.w dry.w
'

# Every file of the lab, the backup repository included, but slapd's reader
# table (lock.mdb), which any search updates, and PostgreSQL's data
# directory, which reads change too (lab_dump compares the rows it holds).
sums() { find "$1" -type f ! -name lock.mdb ! -path "*/storage/db/vpostgres/*" -print0 | sort -z | xargs -0 sha256sum; }

test_expect '--dry-run changes no byte of the lab and writes no backup' '
	l=$T/dry && lab_create "$l" --scenario all-expired >/dev/null && labctl start "$l" >/dev/null 2>&1
	"$VC" --root "$l" plan -o dry.plan >/dev/null &&
	lab_dump "$l" >before.dump &&
	sums "$l" >before.sums &&
	"$VC" --root "$l" apply dry.plan --dry-run >out &&
	grep -q "vecs-cli entry create --store machine --alias machine --cert (new) --key (new)" out &&
	grep -q "ldap modify (replace) cn=TenantCredential-1,$TC: userCertificate vmwSTSPrivateKey" out &&
	! grep -q "BEGIN" out &&
	lab_dump "$l" >after.dump && cmp before.dump after.dump &&
	sums "$l" >after.sums && diff before.sums after.sums &&
	[ ! -e "$l/var/lib/vcrotate/backup.git" ] &&
	expect_eq 0 "$(counter "$l" stop_all)" &&
	# And with a backup repository there already.
	"$VC" --root "$l" backup snapshot >/dev/null &&
	sums "$l" >before.sums &&
	"$VC" --root "$l" apply dry.plan --dry-run >/dev/null &&
	sums "$l" >after.sums && diff before.sums after.sums
'

test_expect 'a plan made before someone changed an entry is refused, naming it; exit 4' '
	l=$T/dry && v=$l/usr/lib/vmware-vmafd/bin/vecs-cli &&
	$v entry getcert --store vpxd --alias vpxd --output c.pem >/dev/null &&
	$v entry getkey --store vpxd --alias vpxd --output k.pem >/dev/null &&
	$v entry delete --store vpxd --alias vpxd -y >/dev/null &&
	openssl req -x509 -newkey rsa:2048 -nodes -keyout k2.pem -out c2.pem -subj /CN=vpxd -days 3 2>/dev/null &&
	$v entry create --store vpxd --alias vpxd --cert c2.pem --key k2.pem >/dev/null &&
	rc=0 && "$VC" --root "$l" apply dry.plan 2>err || rc=$?
	expect_eq 4 "$rc" &&
	grep -q "the appliance changed since the plan was made" err &&
	grep -q "^  vpxd/vpxd (content differs)" err &&
	grep -q "nothing was changed" err
'

test_expect 'one writer at a time: a held lock refuses apply and restore (exit 5), naming the holder' '
	l=$T/dry && mkdir -p "$l/var/lib/vcrotate" &&
	echo "pid 4242, transaction T-test" >"$l/var/lib/vcrotate/lock" &&
	"$VC" --root "$l" plan -o lock.plan >/dev/null &&
	{ flock -o "$l/var/lib/vcrotate/lock" sleep 30 & } && holder=$! &&
	for i in $(seq 50); do ! flock -n "$l/var/lib/vcrotate/lock" true || { sleep 0.1; continue; }; break; done &&
	rc=0 && "$VC" --root "$l" apply lock.plan 2>err || rc=$?
	expect_eq 5 "$rc" &&
	grep -q "another transaction holds the lock .*(pid 4242, transaction T-test)" err &&
	rc=0 && "$VC" --root "$l" backup restore snapshots 2>err || rc=$?
	expect_eq 5 "$rc" && grep -q "holds the lock" err &&
	kill $holder && { wait $holder || :; }
'

test_expect 'rollback TXN puts back the before state of a committed transaction, byte for byte' '
	l=$T/sts-expired && g="git --git-dir=$l/var/lib/vcrotate/backup.git" &&
	txn=$("$VC" --root "$l" history | awk "/ success / { print \$4; exit }") &&
	[ -n "$txn" ] &&
	before=$("$VC" --root "$l" history --json | jq -r --arg t "$txn" ".transactions[] | select(.transaction == \$t) | .before") &&
	"$VC" --root "$l" backup restore "$before" --dry-run >dry.out 2>&1 &&
	! grep -q "^0 changes" dry.out &&
	"$VC" --root "$l" rollback "$txn" >out 2>&1 &&
	"$VC" --root "$l" backup restore "$before" --dry-run >dry.out 2>&1 &&
	grep -q "^0 changes would be made" dry.out &&
	rc=0 && "$VC" --root "$l" check >/dev/null || rc=$?
	expect_eq 2 "$rc" &&
	"$VC" --root "$l" history | grep -q " success .*; rollback of $txn$" &&
	# A transaction that was rolled back already left its before state.
	f=$(labctl fault "$T/fail" clear >/dev/null; "$VC" --root "$T/fail" history | awk "/ rolled back / { print \$4; exit }") &&
	[ -n "$f" ] &&
	rc=0 && "$VC" --root "$T/fail" rollback "$f" 2>err || rc=$?
	expect_eq 4 "$rc" && grep -q "ended \"rolled back\".*nothing was changed\|nothing was changed.*ended \"rolled back\"" err
'

test_done
