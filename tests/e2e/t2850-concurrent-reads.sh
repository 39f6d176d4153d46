#!/bin/bash
# check and backup snapshot read the appliance on a pool of workers
# (engine/pool.h): the identity tools and the VECS listings run at once,
# the listings parsed as they end. What they report must not depend on it:
# the text report, --json, stderr and the exit code are compared with the
# sequential mode (VCROTATE_SEQUENTIAL, for tests only) on several labs,
# with listings that fail, a tool killed and one missing; and the tools
# must really overlap (and never more than the pool's bound), which the
# old code, one tool after another, never did.
. "$(dirname "$0")/../lib.sh"

VC=$BUILD/vcrotate
# The pool: the online CPUs plus POOL_EXTRA (2) workers, and the thread
# that waits for them lends a hand: at most that many tools at once.
BOUND=$(( $(getconf _NPROCESSORS_ONLN) + 3 ))

# both LAB NAME [check options]: check in both modes, everything compared.
both() {
	local lab=$1 name=$2 at rs rc
	shift 2
	at=$(sed -n 's/^created=//p' "$lab/var/lib/vmware-lab/lab.conf") &&
	    [ -n "$at" ] || fail "no created= in the lab.conf of $lab"
	at="@$((at + 60))"
	rs=0; VCROTATE_SEQUENTIAL=1 "$VC" --root "$lab" check --at "$at" "$@" \
	    >"$name.seq.txt" 2>"$name.seq.err" || rs=$?
	rc=0; "$VC" --root "$lab" check --at "$at" "$@" \
	    >"$name.par.txt" 2>"$name.par.err" || rc=$?
	expect_eq "$rs" "$rc" || fail "exit code of check $* on $name"
	diff -u "$name.seq.txt" "$name.par.txt" || fail "stdout of check $* on $name"
	diff -u "$name.seq.err" "$name.par.err" || fail "stderr of check $* on $name"
	[ -s "$name.seq.txt" ] || fail "check $* printed nothing on $name"
}

# The most tools alive at once in an strace -f log of vcrotate (a tool is
# alive from its execve to its exit).
most_at_once() {
	awk -v root="$2" '
		$2 ~ /^execve\(/ && index($0, root) && $NF == "0" { live[$1] = 1; n++; if (n > m) m = n }
		/\+\+\+ (exited|killed)/ && ($1 in live) { delete live[$1]; n-- }
		END { print m + 0 }' "$1"
}

same_on() {
	local name=$1 lab=$T/$1
	shift
	lab_create "$lab" "$@" >/dev/null || fail "labctl create $*"
	labctl start "$lab" >/dev/null 2>&1 || fail "labctl start $name"
	both "$lab" "$name" &&
	both "$lab" "$name-json" --json &&
	both "$lab" "$name-w" --warn-days 400 --crit-days 200
}

test_expect 'healthy, all-expired, article-vcsa1, legacy-endpoints: the same report both ways' '
	same_on healthy --scenario healthy &&
	same_on all-expired --scenario all-expired &&
	same_on article --scenario article-vcsa1 &&
	same_on legacy --scenario legacy-endpoints --version 6.7
'

test_expect 'crl-bloat (300 roots, 1,200 CRLs): the same report both ways' '
	same_on crl-bloat --scenario crl-bloat --roots 300 --crls 1200
'

test_expect 'the tools overlap (bounded), and never in the sequential mode' '
	lab=$T/crl-bloat &&
	strace -f -q -e trace=execve -o par.st "$VC" --root "$lab" check >/dev/null || true &&
	VCROTATE_SEQUENTIAL=1 strace -f -q -e trace=execve -o seq.st \
	    "$VC" --root "$lab" check >/dev/null || true &&
	p=$(most_at_once par.st "$lab") && s=$(most_at_once seq.st "$lab") &&
	echo "at once: $p (pool), $s (sequential), bound $BOUND" &&
	[ "$p" -ge 2 ] && [ "$p" -le "$BOUND" ] && expect_eq 1 "$s" &&
	expect_eq "$(grep -c "execve(\"$lab" par.st)" "$(grep -c "execve(\"$lab" seq.st)"
'

# vecs-cli, failing for some stores as the real one does (its verdict on
# stderr, an exit code), killed for another, its getkey failing for one.
wrap_vecs() {
	local v=$1/usr/lib/vmware-vmafd/bin/vecs-cli
	mv "$v" "$v.real" && cat >"$v" <<-\EOF && chmod 0755 "$v"
	#!/bin/sh
	export VCROTATE_LAB_ROOT="${0%/usr/lib/vmware-vmafd/bin/vecs-cli}"
	case "$1 $2 $4" in
	"entry list vpxd")
		echo "vecs-cli failed. Error 5: Operation failed with error ERROR_ACCESS_DENIED (5) " >&2
		exit 5 ;;
	"entry list SMS")
		kill -9 $$ ;;
	"entry list TRUSTED_ROOTS")
		"$0.real" "$@" | head -c 600; exit 0 ;;
	"entry getkey machine")
		echo "vecs-cli failed. Error 1359: Operation failed with error ERROR_INTERNAL_ERROR (1359) " >&2
		exit 103 ;;
	esac
	exec "$0.real" "$@"
	EOF
}

test_expect 'listings failing, cut short or killed, a getkey failing: the same errors both ways' '
	lab=$T/failing && lab_create "$lab" --scenario all-expired >/dev/null &&
	labctl start "$lab" >/dev/null 2>&1 && wrap_vecs "$lab" &&
	both "$lab" failing && both "$lab" failing-json --json &&
	expect_grep "vecs-cli entry list --store vpxd failed (exit 5)" failing.seq.txt &&
	expect_grep "vecs-cli entry list --store SMS failed (exit 137)" failing.seq.txt &&
	expect_grep "vecs-cli entry getkey failed" failing.seq.txt
'

test_expect 'an identity tool failing, vmdir down, vecs-cli missing: the same both ways' '
	lab=$T/broken && lab_create "$lab" --scenario healthy >/dev/null &&
	labctl start "$lab" >/dev/null 2>&1 &&
	m=$lab/usr/lib/vmware-vmafd/bin/vmafd-cli && mv "$m" "$m.real" &&
	cat >"$m" <<-\EOF &&
	#!/bin/sh
	export VCROTATE_LAB_ROOT="${0%/usr/lib/vmware-vmafd/bin/vmafd-cli}"
	[ "$1" = get-machine-id ] && { echo "vmafd-cli failed. Error 2" >&2; exit 2; }
	exec "$0.real" "$@"
	EOF
	chmod 0755 "$m" && both "$lab" ident && both "$lab" ident-json --json &&
	expect_grep "vmafd-cli get-machine-id failed (exit 2)" ident.seq.txt &&
	mv "$m.real" "$m" && labctl fault "$lab" slapd-down >/dev/null 2>&1 &&
	both "$lab" slapd && both "$lab" slapd-json --json &&
	rm "$lab/usr/lib/vmware-vmafd/bin/vecs-cli" &&
	both "$lab" novecs && both "$lab" novecs-json --json
'

# Two snapshots of an unchanged appliance have one tree but for the time
# they were made (sealed items are sealed deterministically: the bench's
# "repository growth" is near 0).
test_expect 'backup snapshot: the same tree both ways, and the same failure' '
	lab=$T/snap && lab_create "$lab" --scenario crl-bloat --roots 50 --crls 100 >/dev/null &&
	labctl start "$lab" >/dev/null 2>&1 &&
	VCROTATE_SEQUENTIAL=1 "$VC" --root "$lab" backup snapshot --reason seq >s.out &&
	"$VC" --root "$lab" backup snapshot --reason par >p.out &&
	g="git -C $lab/var/lib/vcrotate/backup.git" &&
	$g diff --exit-code snapshots~1 snapshots -- . ":(exclude)created" &&
	expect_eq "$(sed "s/^snapshot [0-9a-f]* //" s.out)" "$(sed "s/^snapshot [0-9a-f]* //" p.out)" &&
	wrap_vecs "$lab" &&
	rs=0 && { VCROTATE_SEQUENTIAL=1 "$VC" --root "$lab" backup snapshot >s.out 2>s.err || rs=$?; } &&
	rc=0 && { "$VC" --root "$lab" backup snapshot >p.out 2>p.err || rc=$?; } &&
	cat p.err && expect_eq "$rs" "$rc" && [ "$rc" -ne 0 ] && diff -u s.err p.err && diff -u s.out p.out
'

test_done
