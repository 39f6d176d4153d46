#!/bin/bash
# Crash safety on the lab: the journal, vcrotate recover, signals, the lock,
# the directory server lost half-way, a full disk, and fault injection at
# every side effect (engine/fault.h) in three modes: the Nth side effect
# fails, or the process is killed just before or just after it.
#
# After every run, and after recover when the run was killed, the lab must
# be wholly in the before state (byte-identical, as the appliance's own
# tools show it) or wholly in the after state (equal to the transaction's
# `applied' snapshot, every certificate valid): never a mix. A second
# recover must do nothing, and git fsck --strict must pass.
#
# make test runs a sample of the fault points; CRASH=all (make test-crash)
# runs every point of the all-expired, stale-sts-chain, missing-principal,
# company-import, company-subordinate and copies plans; CRASH=one (the sanitized pass, tests/run.sh) the middle point of
# each.
. "$(dirname "$0")/../lib.sh"

VC=$BUILD/vcrotate
CRASH=${CRASH:-sample}

# corp_ca: a company CA, root -> intermediate, in $T/corp (once).
corp_ca() {
	local d=$T/corp
	[ ! -f "$d/chain.pem" ] || return 0
	mkdir -p "$d" &&
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/root.key" -out "$d/root.pem" -days 3650 \
	    -subj "/O=Corp Example/CN=Corp Root CA" -addext basicConstraints=critical,CA:TRUE \
	    -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null &&
	openssl req -new -newkey rsa:2048 -nodes -keyout "$d/int.key" -out "$d/int.csr" \
	    -subj "/O=Corp Example/CN=Corp Issuing CA" 2>/dev/null &&
	printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' >"$d/int.ext" &&
	openssl x509 -req -in "$d/int.csr" -CA "$d/root.pem" -CAkey "$d/root.key" -CAcreateserial \
	    -days 1825 -extfile "$d/int.ext" -out "$d/int.pem" 2>/dev/null &&
	printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:vcsa1.example.com\n' >"$d/leaf.ext" &&
	cat "$d/int.pem" "$d/root.pem" >"$d/chain.pem"
}

# make_lab DIR SCENARIO: a labctl scenario, or missing-principal: healthy
# without its vpxd principal, which the plan then adds (and a rollback or
# recover must delete: its before snapshot records it absent); or
# company-import: healthy, with a vcrotate csr request signed by a company
# CA in DIR.pem, which the plan imports (publishing the CA chain);
# company-subordinate: healthy, with a CA certificate for VMCA from the
# company root in DIR.pem and its key in DIR.key (VMCA as a subordinate);
# copies: all-expired with vsan-health's copy of vpxd-extension
# (--vsan-health) and Auto Deploy's database (--autodeploy), which the
# plan rewrites after VCDB's rows.
make_lab() {
	local uri mid
	case $2 in
	company-import)
		corp_ca && lab_create "$1" --scenario healthy >/dev/null &&
		labctl start "$1" >/dev/null 2>&1 && mkdir -p "$1.req" &&
		"$VC" --root "$1" csr --for machine-ssl -o "$1.req" >/dev/null &&
		openssl x509 -req -in "$1.req/machine-ssl.csr" -CA "$T/corp/int.pem" -CAkey "$T/corp/int.key" \
		    -CAcreateserial -days 365 -extfile "$T/corp/leaf.ext" -out "$1.pem" 2>/dev/null ;;
	company-subordinate)
		corp_ca && lab_create "$1" --scenario healthy >/dev/null &&
		openssl req -new -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" \
		    -subj "/O=Corp Example/CN=VMCA" 2>/dev/null &&
		openssl x509 -req -in "$1.csr" -CA "$T/corp/root.pem" -CAkey "$T/corp/root.key" \
		    -CAcreateserial -days 1500 -extfile "$T/corp/int.ext" -out "$1.pem" 2>/dev/null ;;
	missing-principal)
		lab_create "$1" --scenario healthy >/dev/null &&
		labctl start "$1" >/dev/null 2>&1 &&
		uri=$(sed -n "s/^ldap_uri=//p" "$1/etc/vcrotate/vcrotate.conf") &&
		mid=$(sed -n "s/^machine_id=//p" "$1/var/lib/vmware-lab/lab.conf") &&
		ldapdelete -x -H "$uri" -D cn=Administrator,cn=Users,dc=vsphere,dc=local \
		    -y "$1/var/lib/vmware-lab/admin.password" \
		    "cn=vpxd-$mid,cn=ServicePrincipals,dc=vsphere,dc=local" ;;
	copies)
		lab_create "$1" --scenario all-expired --vsan-health --autodeploy >/dev/null ;;
	*)	lab_create "$1" --scenario "$2" >/dev/null ;;
	esac
}

# plan_args DIR SCENARIO: what the plan of the scenario is made with.
plan_args() {
	[ "$2" != company-import ] || echo "--import machine-ssl=$1.pem --chain $T/corp/chain.pem"
	[ "$2" != company-subordinate ] || echo "--import vmca-root=$1.pem,$1.key --chain $T/corp/root.pem"
}

# fresh NAME SCENARIO: a started lab, its plan (NAME.plan), its dump. A lab
# that a run left in its before state (consistent says so) serves again:
# making a lab costs some thirty RSA keys.
fresh() {
	local lab=$T/$1
	if [ "$(cat "$T/$1.reusable" 2>/dev/null)" = "$2" ]; then
		rm -f "$T/$1.reusable"
		return 0
	fi
	rm -f "$T/$1.reusable"
	[ ! -d "$lab" ] || labctl destroy "$lab" >/dev/null
	make_lab "$lab" "$2" || fail "labctl create $2"
	echo "$2" >"$T/$1.scenario"
	labctl start "$lab" >/dev/null 2>&1 || :
	"$VC" --root "$lab" plan $(plan_args "$lab" "$2") -o "$T/$1.plan" >/dev/null || fail "plan of $2"
	lab_dump "$lab" >"$T/$1.before" || fail "the before state of $2 cannot be read"
}

repo() { echo "$T/$1/var/lib/vcrotate/backup.git"; }

# The `applied' snapshot of the lab's last transaction, if any.
applied_of() {
	git --git-dir="$(repo "$1")" log --format='%H %(trailers:key=Result,valueonly,separator=)' snapshots 2>/dev/null |
	    awk '$2 == "applied" { print $1; exit }'
}

# consistent NAME: prints "before" or "after"; fails on a mixed state, a
# leftover journal or key file, or a repository git fsck does not accept.
consistent() {
	local lab=$T/$1 snap
	[ ! -e "$lab/var/lib/vcrotate/journal" ] || fail "a journal is left"
	[ -z "$(find "$lab/var/lib/vcrotate" -path '*/apply.*/*' -o -path '*/restore.*/*' 2>/dev/null)" ] ||
		fail "key files are left: $(find "$lab/var/lib/vcrotate" -path '*/apply.*/*')"
	if [ -d "$(repo "$1")" ]; then
		git --git-dir="$(repo "$1")" fsck --strict --no-dangling >/dev/null 2>"$T/fsck.err" ||
			fail "git fsck: $(cat "$T/fsck.err")"
	fi
	lab_dump "$lab" >"$T/$1.now"
	if cmp -s "$T/$1.before" "$T/$1.now"; then
		cp "$T/$1.scenario" "$T/$1.reusable"
		echo before
		return 0
	fi
	snap=$(applied_of "$1")
	[ -n "$snap" ] || { diff "$T/$1.before" "$T/$1.now" | head -20 >&2; fail "not the before state, and no applied snapshot"; }
	"$VC" --root "$lab" backup restore "$snap" --dry-run >"$T/$1.dry" 2>&1 ||
		fail "restore --dry-run: $(cat "$T/$1.dry")"
	grep -q "^0 changes would be made" "$T/$1.dry" ||
		{ cat "$T/$1.dry" >&2; fail "MIXED: neither the before state nor the applied snapshot ${snap:0:12}"; }
	"$VC" --root "$lab" check >/dev/null || fail "the after state does not check clean"
	echo after
}

# recover_twice NAME: recover until no journal; the second run is a no-op.
recover_twice() {
	local lab=$T/$1
	"$VC" --root "$lab" recover >"$T/$1.rec1" 2>&1 || { cat "$T/$1.rec1" >&2; fail "recover failed"; }
	lab_dump "$lab" >"$T/$1.rec-a"
	"$VC" --root "$lab" recover >"$T/$1.rec2" 2>&1 || fail "second recover failed"
	grep -q "nothing to recover" "$T/$1.rec2" || fail "second recover did something: $(cat "$T/$1.rec2")"
	lab_dump "$lab" | cmp -s - "$T/$1.rec-a" || fail "second recover changed the lab"
}

# points SCENARIO: the side effects of a clean apply, one "N what" a line.
points() {
	if [ ! -s "$T/points.$1" ]; then
		fresh pts "$1"
		VCROTATE_FAULT_LOG=$T/points.$1.tmp "$VC" --root "$T/pts" apply "$T/pts.plan" >"$T/pts.out" 2>&1 ||
			{ cat "$T/pts.out" >&2; return 1; }
		mv "$T/points.$1.tmp" "$T/points.$1"
	fi
	cat "$T/points.$1"
}

# one SCENARIO MODE N: one faulty run, recovered as needed, then judged.
one() {
	local rc=0 state
	fresh f "$1" || return 1
	# stderr dropped around it: bash's "Killed" for a crash.
	{ VCROTATE_FAULT=$2:$3 "$VC" --root "$T/f" apply "$T/f.plan" >"$T/f.out" 2>&1; } 2>/dev/null || rc=$?
	case $2:$rc in
	crash-*:137) ;;
	fail:0|fail:1|fail:4) ;;
	*) tail -5 "$T/f.out" >&2; fail "$1 $2:$3: exit $rc" ;;
	esac
	if [ -e "$T/f/var/lib/vcrotate/journal" ]; then
		# The journal refuses every other writer, naming the transaction.
		rc=0; "$VC" --root "$T/f" apply "$T/f.plan" >/dev/null 2>"$T/f.err" || rc=$?
		expect_eq 6 "$rc" && grep -q "was interrupted.*vcrotate recover" "$T/f.err" ||
			fail "apply over a journal: exit $rc"
		recover_twice f || return 1
	fi
	state=$(consistent f) || return 1
	echo "$1 $2:$3 -> $state"
}

# sweep SCENARIO: every point (CRASH=all) or a sample, three modes each.
sweep() {
	local scen=$1 k n mode list mixed=0 runs=0
	points "$scen" >"$T/$scen.points" || return 1
	k=$(wc -l <"$T/$scen.points")
	[ "$k" -gt 5 ] || fail "only $k side effects in a clean apply?"
	if [ "$CRASH" = all ]; then
		list=$(seq 1 "$k")
	elif [ "$CRASH" = one ]; then
		list=$((k / 2))
	else
		# all-expired: the first change, one in the middle, the
		# VCDB write, the commit; missing-principal: the add of the principal;
		# stale-sts-chain: the middle only.
		list=$((k / 2))
		[ "$scen" != all-expired ] ||
		list="$(awk '/vecs-cli entry|ldap/ { print $1; exit }' "$T/$scen.points")
		      $list $(awk '/psql vpx_ext update/ { print $1; exit }' "$T/$scen.points")
		      $(awk '/journal append/ { n = $1 } END { print n }' "$T/$scen.points")"
		[ "$scen" != missing-principal ] ||
		list=$(awk '/ldap add/ { print $1; exit }' "$T/$scen.points")
		# copies: the two writes of vsan-health's copy (after the
		# VCDB write), the key's and the certificate's, and Auto
		# Deploy's update.
		[ "$scen" != copies ] ||
		list="$(awk '/psql vpx_ext update/ { v = 1; next } v && / write file$/ && n < 2 { print $1; n++ }' "$T/$scen.points")
		      $(awk '/sqlite3 vc_servers update/ { print $1; exit }' "$T/$scen.points")"
	fi
	for n in $list; do
		for mode in fail crash-before crash-after; do
			runs=$((runs + 1))
			# A subshell: a failure (fail ends the code it runs
			# in) is counted, and the sweep goes on.
			(one "$scen" "$mode" "$n") >>"$T/$scen.results" ||
				{ mixed=$((mixed + 1)); echo "at $mode:$n ($(sed -n "${n}p" "$T/$scen.points"))" >&2; }
		done
	done
	echo "# $scen: $(echo $list | wc -w) of $k points x 3 modes = $runs runs, $mixed mixed or failed"
	echo "# $scen: $(grep -c -- '-> before' "$T/$scen.results") ended in the before state, $(grep -c -- '-> after' "$T/$scen.results") in the after state"
	[ "$mixed" -eq 0 ]
}

test_expect 'all-expired: a fault at any side effect ends wholly before or wholly after' '
	sweep all-expired >&2
'
grep "^# all-expired" "$T/.out" 2>/dev/null

test_expect 'stale-sts-chain: a fault at any side effect ends wholly before or wholly after' '
	sweep stale-sts-chain >&2
'
grep "^# stale-sts-chain" "$T/.out" 2>/dev/null

test_expect 'missing-principal: a fault at any side effect ends wholly before or wholly after' '
	sweep missing-principal >&2
'
grep "^# missing-principal" "$T/.out" 2>/dev/null

test_expect 'company-import: a fault at any side effect of an import plan ends wholly before or wholly after' '
	sweep company-import >&2
'
grep "^# company-import" "$T/.out" 2>/dev/null

test_expect 'company-subordinate: a fault at any side effect of a VMCA-as-subordinate plan ends wholly before or wholly after' '
	sweep company-subordinate >&2
'
grep "^# company-subordinate" "$T/.out" 2>/dev/null

test_expect 'copies: a fault at any side effect of a plan that rewrites vsan-health'"'"'s copy and Auto Deploy'"'"'s rows ends wholly before or wholly after' '
	sweep copies >&2
'
grep "^# copies" "$T/.out" 2>/dev/null

test_expect 'recover --forward finishes a transaction killed after every new item was in place' '
	points sts-expired >pts.txt &&
	n=$(awk "/service-control --stop/ { print \$1; exit }" pts.txt) &&
	fresh s sts-expired &&
	rc=0 && VCROTATE_FAULT=crash-before:$n "$VC" --root "$T/s" apply s.plan --rollback-on any-failure >/dev/null 2>&1 || rc=$?
	expect_eq 137 "$rc" &&
	grep -q "^applied" "$T/s/var/lib/vcrotate/journal" &&
	"$VC" --root "$T/s" recover --forward >out 2>&1 &&
	grep -q "is committed" out &&
	expect_eq after "$(consistent s)" &&
	git --git-dir="$(repo s)" log -1 --format=%B | grep -q "^Result: success (recovered)"
'

test_expect 'recover --forward is refused before the applied snapshot; --back after the commit point' '
	fresh s sts-expired &&
	rc=0 && VCROTATE_FAULT=crash-after:3 "$VC" --root "$T/s" apply s.plan --rollback-on any-failure >/dev/null 2>&1 || rc=$?
	expect_eq 137 "$rc" &&
	rc=0 && "$VC" --root "$T/s" recover --forward 2>err || rc=$?
	expect_eq 4 "$rc" && grep -q "can only go back" err &&
	"$VC" --root "$T/s" recover >/dev/null 2>&1 &&
	expect_eq before "$(consistent s)" &&
	points sts-expired >pts.txt &&
	n=$(awk "/journal remove/ { print \$1 }" pts.txt) &&
	fresh s sts-expired &&
	rc=0 && VCROTATE_FAULT=crash-before:$n "$VC" --root "$T/s" apply s.plan --rollback-on any-failure >/dev/null 2>&1 || rc=$?
	expect_eq 137 "$rc" && grep -q "^commit" "$T/s/var/lib/vcrotate/journal" &&
	rc=0 && "$VC" --root "$T/s" recover --back 2>err || rc=$?
	expect_eq 4 "$rc" && grep -q "passed its commit point" err &&
	recover_twice s && expect_eq after "$(consistent s)"
'

test_expect 'a torn last record is ignored: a half-written commit is no commit' '
	fresh s sts-expired &&
	rc=0 && VCROTATE_FAULT=crash-after:3 "$VC" --root "$T/s" apply s.plan --rollback-on any-failure >/dev/null 2>&1 || rc=$?
	expect_eq 137 "$rc" &&
	printf "commit\t0000" >>"$T/s/var/lib/vcrotate/journal" &&
	"$VC" --root "$T/s" recover >out 2>&1 &&
	grep -q "a torn record after it" out && grep -q "is rolled back" out &&
	expect_eq before "$(consistent s)"
'

test_expect 'a damaged journal is refused by recover, naming the line, exit 3' '
	fresh s sts-expired &&
	rc=0 && VCROTATE_FAULT=crash-after:3 "$VC" --root "$T/s" apply s.plan --rollback-on any-failure >/dev/null 2>&1 || rc=$?
	expect_eq 137 "$rc" &&
	j=$T/s/var/lib/vcrotate/journal && cp "$j" journal.good &&
	sed -i "3s/apply/apply-x/" "$j" &&
	rc=0 && "$VC" --root "$T/s" recover 2>err || rc=$?
	expect_eq 3 "$rc" && grep -q "line 3 is damaged" err &&
	cp journal.good "$j" && recover_twice s && expect_eq before "$(consistent s)"
'

test_expect 'a crash during recover, then recover again, ends consistent' '
	fresh a all-expired &&
	rc=0 && VCROTATE_FAULT=crash-after:20 "$VC" --root "$T/a" apply a.plan >/dev/null 2>&1 || rc=$?
	expect_eq 137 "$rc" &&
	for n in 3 6; do
		rc=0; VCROTATE_FAULT=crash-after:$n "$VC" --root "$T/a" recover >/dev/null 2>&1 || rc=$?
		expect_eq 137 "$rc"
	done &&
	recover_twice a && expect_eq before "$(consistent a)"
'

test_expect 'apply killed with SIGKILL at random moments, then recover: consistent every time' '
	n=$([ "$CRASH" = all ] && echo 10 || echo 2) && mid=0 &&
	for i in $(seq "$n"); do
		fresh a all-expired &&
		{ "$VC" --root "$T/a" apply a.plan >/dev/null 2>&1 & } &&
		pid=$! &&
		# Half the runs are killed once the journal is there (in the
		# middle of the changes), the others at a random moment.
		if [ $((i % 2)) = 1 ]; then
			for w in $(seq 200); do grep -qs "^step" "$T/a/var/lib/vcrotate/journal" && break; sleep 0.02; done
		else
			sleep "$(awk -v s=$RANDOM "BEGIN { printf \"%.2f\", 0.3 + s % 200 / 100 }")"
		fi &&
		{ kill -KILL $pid 2>/dev/null; wait $pid 2>/dev/null || :; } &&
		if [ -e "$T/a/var/lib/vcrotate/journal" ]; then mid=$((mid + 1)); recover_twice a; fi &&
		state=$(consistent a) && echo "run $i: $state" || exit 1
	done &&
	[ "$mid" -gt 0 ] || fail "no kill landed in the middle of a transaction"
'

test_expect 'SIGTERM and SIGHUP during apply: a clean rollback, exit 143 and 129' '
	for sig in TERM:143 HUP:129; do
		fresh a all-expired &&
		{ "$VC" --root "$T/a" apply a.plan >out 2>&1 & } && pid=$! &&
		for i in $(seq 200); do grep -qs "^step" "$T/a/var/lib/vcrotate/journal" && break; sleep 0.05; done &&
		kill -${sig%%:*} $pid && rc=0 && { wait $pid || rc=$?; } &&
		expect_eq "${sig##*:}" "$rc" && grep -q "rolled back" out &&
		expect_eq before "$(consistent a)" || exit 1
	done
'

test_expect 'over a journal every writer refuses (exit 6, naming the transaction), and a dry run; readers read' '
	fresh a all-expired &&
	rc=0 && { VCROTATE_FAULT=crash-after:20 "$VC" --root "$T/a" apply a.plan --operator alice \
	    --ticket CHG-42 >/dev/null 2>&1; } 2>/dev/null || rc=$?
	expect_eq 137 "$rc" &&
	txn=$(sed -n "s/^transaction \([^	]*\)	.*/\1/p" "$T/a/var/lib/vcrotate/journal") && [ -n "$txn" ] &&
	for cmd in "apply a.plan" "apply a.plan --dry-run" "rollback $txn" "backup restore snapshots" "backup snapshot"; do
		rc=0; "$VC" --root "$T/a" $cmd >/dev/null 2>err || rc=$?
		expect_eq 6 "$rc" && grep -q "transaction $txn was interrupted.*vcrotate recover" err ||
			fail "$cmd over a journal: exit $rc, $(cat err)"
	done &&
	rc=0 && "$VC" --root "$T/a" check >/dev/null || rc=$?
	[ "$rc" -le 3 ] && "$VC" --root "$T/a" history >/dev/null &&
	recover_twice a && expect_eq before "$(consistent a)" &&
	# The record stays the transaction'"'"'s, and says who finished it.
	"$VC" --root "$T/a" history --json | jq -e --arg t "$txn" ".transactions[0] |
	    .transaction == \$t and .result == \"rolled back (recovered)\" and .operator == \"alice\" and
	    .ticket == \"CHG-42\" and (.reason | test(\"; recovered by \"))" >/dev/null
'

test_expect 'an interrupted recover --forward is continued forward by a plain recover' '
	points sts-expired >pts.txt &&
	n=$(awk "/service-control --stop/ { print \$1; exit }" pts.txt) &&
	fresh s sts-expired &&
	rc=0 && { VCROTATE_FAULT=crash-before:$n "$VC" --root "$T/s" apply s.plan >/dev/null 2>&1; } 2>/dev/null || rc=$?
	expect_eq 137 "$rc" && grep -q "^applied" "$T/s/var/lib/vcrotate/journal" &&
	# where recover --forward writes its record (after the services it
	# starts and the snapshot of what it replaces): counted on a clean run
	VCROTATE_FAULT_LOG=$T/rec.points "$VC" --root "$T/s" recover --forward --yes >/dev/null 2>&1 &&
	m=$(awk "/journal append/ { print \$1; exit }" "$T/rec.points") && [ -n "$m" ] &&
	fresh s sts-expired &&
	rc=0 && { VCROTATE_FAULT=crash-before:$n "$VC" --root "$T/s" apply s.plan >/dev/null 2>&1; } 2>/dev/null || rc=$?
	expect_eq 137 "$rc" &&
	# recover --forward killed just after its record.
	rc=0 && { VCROTATE_FAULT=crash-after:$m "$VC" --root "$T/s" recover --forward >/dev/null 2>&1; } 2>/dev/null || rc=$?
	expect_eq 137 "$rc" && grep -q "^recover forward" "$T/s/var/lib/vcrotate/journal" &&
	"$VC" --root "$T/s" recover >out 2>&1 &&
	grep -q ": forward to snapshot" out && grep -q "is committed" out &&
	expect_eq after "$(consistent s)"
'

test_expect 'recover --forward on the outage night: vpxd down before and after, the rest runs: committed' '
	points all-expired >pts.txt &&
	n=$(awk "/service-control --stop/ { print \$1; exit }" pts.txt) &&
	fresh f all-expired &&
	labctl fault "$T/f" service vmware-vpxd >/dev/null &&
	rc=0 && { VCROTATE_FAULT=crash-before:$n "$VC" --root "$T/f" apply f.plan >/dev/null 2>&1; } 2>/dev/null || rc=$?
	expect_eq 137 "$rc" && grep -q "^applied" "$T/f/var/lib/vcrotate/journal" &&
	"$VC" --root "$T/f" recover --forward --yes >out 2>&1 || { tail -n 5 out; false; }
	grep -q "the verify decides" out && grep -q "is committed" out &&
	labctl fault "$T/f" clear >/dev/null &&
	expect_eq after "$(consistent f)"
'

test_expect 'recover --forward is refused once apply had begun to roll back' '
	# A start that fails rolls back; its last write to the appliance is
	# the rollback'"'"'s, after the applied and rollback records.
	fresh s sts-expired &&
	labctl fault "$T/s" service vmware-vpxd >/dev/null &&
	rc=0 && VCROTATE_FAULT_LOG=$T/rb.points "$VC" --root "$T/s" apply s.plan --rollback-on any-failure >/dev/null 2>&1 || rc=$?
	labctl fault "$T/s" clear >/dev/null &&
	expect_eq 1 "$rc" &&
	r=$(awk "/ldap (add|modify|delete)|vecs-cli entry/ { w = \$1 } END { print w }" rb.points) &&
	[ -n "$r" ] &&
	expect_eq before "$(consistent s)" &&
	fresh s sts-expired &&
	labctl fault "$T/s" service vmware-vpxd >/dev/null &&
	rc=0 && { VCROTATE_FAULT=crash-before:$r "$VC" --root "$T/s" apply s.plan --rollback-on any-failure >/dev/null 2>&1; } 2>/dev/null || rc=$?
	labctl fault "$T/s" clear >/dev/null &&
	expect_eq 137 "$rc" && grep -q "^rollback" "$T/s/var/lib/vcrotate/journal" &&
	grep -q "^applied" "$T/s/var/lib/vcrotate/journal" &&
	rc=0 && "$VC" --root "$T/s" recover --forward 2>err || rc=$?
	expect_eq 4 "$rc" && grep -q "its rollback had begun" err &&
	recover_twice s && expect_eq before "$(consistent s)"
'

test_expect 'SIGINT during apply: the change under way finishes, then a clean rollback, exit 130' '
	fresh a all-expired &&
	{ "$VC" --root "$T/a" apply a.plan >out 2>&1 & } && pid=$! &&
	for i in $(seq 200); do grep -qs "^step" "$T/a/var/lib/vcrotate/journal" && break; sleep 0.05; done &&
	kill -INT $pid && rc=0 && wait $pid || rc=$?
	expect_eq 130 "$rc" &&
	grep -q "interrupted by Interrupt" out && grep -q "rolled back" out &&
	expect_eq before "$(consistent a)"
'

test_expect 'a second apply while one runs: exit 5, naming the pid and the transaction' '
	fresh a all-expired && cp a.plan bz2.plan &&
	{ "$VC" --root "$T/a" apply a.plan >out 2>&1 & } && pid=$! &&
	for i in $(seq 100); do [ -e "$T/a/var/lib/vcrotate/journal" ] && break; sleep 0.05; done &&
	rc=0 && "$VC" --root "$T/a" apply bz2.plan 2>err || rc=$?
	expect_eq 5 "$rc" &&
	grep -q "holds the lock .*(pid $pid, transaction [0-9T]*Z-[0-9a-f]*)" err &&
	wait $pid
'

test_expect 'vmdir lost half-way: bounded retries, exit 3 with the journal kept; recover finishes' '
	fresh a all-expired &&
	labctl fault "$T/a" vecs-write 1 down >/dev/null &&
	rc=0 && "$VC" --root "$T/a" apply a.plan >out 2>&1 || rc=$?
	expect_eq 3 "$rc" &&
	expect_grep "the directory server went away.*(4 of 4)" out &&
	expect_grep "vcrotate recover" out &&
	[ -e "$T/a/var/lib/vcrotate/journal" ] &&
	rc=0 && "$VC" --root "$T/a" recover >out2 2>&1 || rc=$?
	expect_eq 3 "$rc" && expect_grep "The journal stays" out2 &&
	labctl fault "$T/a" clear >/dev/null &&
	recover_twice a && expect_eq before "$(consistent a)"
'

test_expect 'a full disk for the backup and the journal fails before the first change' '
	fresh s sts-expired &&
	r=$T/s/var/lib/vcrotate && mkdir -p "$r" &&
	mount -t tmpfs -o size=256k,mode=0700 tmpfs "$r" &&
	rc=0 && "$VC" --root "$T/s" apply s.plan >out 2>&1 || rc=$?
	umount "$r"
	expect_eq 4 "$rc" && expect_grep "only [0-9]* KB free" out &&
	expect_grep "nothing was changed" out &&
	expect_eq before "$(consistent s)"
'

test_expect 'a full disk met half-way (injected ENOSPC-like failures) before the first change changes nothing' '
	points sts-expired >pts.txt &&
	for n in $(awk "/git ref update|journal|write file/ { print \$1 }" pts.txt | head -2); do
		fresh s sts-expired &&
		rc=0 && VCROTATE_FAULT=fail:$n "$VC" --root "$T/s" apply s.plan >out 2>&1 || rc=$?
		expect_eq 4 "$rc" && grep -q "nothing was changed" out &&
		expect_eq before "$(consistent s)" || exit 1
	done
'

test_done
