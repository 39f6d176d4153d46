#!/bin/bash
# valgrind.sh - make test-valgrind: vcrotate's check, plan, apply, history,
# rollback and recover on an all-expired lab, each
# under valgrind memcheck, on the ordinary build (build/, -O2 -g). Fails on
# any memcheck error or definitely lost block; prints one line a command and
# a summary. Only vcrotate runs under valgrind, not the programs it starts
# (vecs-cli, service-control: the sanitized suite covers them).
#
#   bash tests/valgrind.sh          KEEP=1 keeps the lab and the logs
set -u -o pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${VCROTATE_BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
export VCROTATE_BUILD=$BUILD LDAPNOINIT=1 LC_ALL=C TZ=UTC
VC=$BUILD/vcrotate
LABCTL=$TOP/tests/lab/labctl

command -v valgrind >/dev/null || {
	echo "valgrind.sh: valgrind is missing (apt-get install valgrind)" >&2
	exit 1
}
[ -x "$VC" ] || { echo "valgrind.sh: $VC is missing: run make first" >&2; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/vcrotate-valgrind.XXXXXX") || exit 1
L=$T/lab
# A copy: the binary under test stays the same if make runs meanwhile.
cp "$VC" "$T/vcrotate" && VC=$T/vcrotate || exit 1
cleanup() {
	"$LABCTL" destroy "$L" >/dev/null 2>&1
	if [ "${KEEP:-0}" = 1 ]; then echo "kept: $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT

# Definite leaks are errors (exit 99); possibly lost and still reachable
# blocks are counted in the log but are not (libldap, OpenSSL and libgit2
# keep caches and per-thread state for the life of the process).
VG=(valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite
    --error-exitcode=99 --track-fds=no --num-callers=30)
n=0 failed=0 errors=0 definite=0

# vg NAME WANT-EXIT ARGS...: vcrotate ARGS under valgrind; fails when valgrind
# saw an error or a definite leak, or vcrotate did not exit with WANT-EXIT
# (a list such as "0|2" is allowed).
vg() {
	local name=$1 want=$2 rc=0 log e d s
	shift 2
	n=$((n + 1))
	log=$T/$n-$name.valgrind
	s=$SECONDS
	"${VG[@]}" --log-file="$log" "$VC" --root "$L" "$@" >"$T/$n-$name.out" 2>&1 || rc=$?
	e=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$log" 2>/dev/null | tail -n 1)
	d=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$log" 2>/dev/null | tail -n 1 | tr -d ,)
	errors=$((errors + ${e:-0})) definite=$((definite + ${d:-0}))
	printf '%-10s exit %-3s %3ss  errors %s, definitely lost %s bytes' \
	    "$name" "$rc" "$((SECONDS - s))" "${e:-?}" "${d:-0}"
	if [ "$rc" = 99 ] || [ -z "$e" ] || [ "${e:-0}" != 0 ] || [ "${d:-0}" != 0 ]; then
		failed=$((failed + 1))
		echo "  FAILED"
		sed -n '/^==[0-9]*== [A-Z].*\(Invalid\|uninitialised\|Mismatched\|definitely lost in\|Syscall param\|Source and destination\)/,/^==[0-9]*== $/p' \
		    "$log" 2>/dev/null | head -n 80
		[ -s "$log" ] || tail -n 5 "$T/$n-$name.out" | sed 's/^/  | /'
		echo "  (valgrind log: $log; KEEP=1 keeps it)"
	elif ! [[ $rc =~ ^($want)$ ]]; then
		failed=$((failed + 1))
		echo "  FAILED: exit $rc, expected $want"
		tail -n 15 "$T/$n-$name.out" | sed 's/^/  | /'
	else
		echo
	fi
}

"$LABCTL" create "$L" --scenario all-expired >/dev/null &&
"$LABCTL" start "$L" >/dev/null 2>&1 || { echo "valgrind.sh: cannot create or start the lab" >&2; exit 1; }

start=$SECONDS
echo "valgrind memcheck of $VC on an all-expired lab:"
vg check 2 check
vg check-json 2 check --json
vg plan 0 plan -o "$T/plan"
vg plan-show 0 plan show "$T/plan"
vg apply 0 apply "$T/plan" --ticket VALGRIND-1
vg check 0 check
vg history 0 history
txn=$(awk '$5 == "success" { print $4; exit }' "$T/$n-history.out")
if [ -n "$txn" ]; then
	vg rollback 0 rollback "$txn"
else
	echo "rollback   no transaction in history: not run"
	failed=$((failed + 1))
fi
# recover: after an apply killed half-way (the fault layer's crash), then
# with nothing left to recover.
"$VC" --root "$L" plan -o "$T/plan2" >/dev/null 2>&1
rc=0
# (stderr dropped around it: bash's own "Killed" line.)
{ VCROTATE_FAULT=crash-after:3 "$VC" --root "$L" apply "$T/plan2" >"$T/crashed.out" 2>&1; } 2>/dev/null || rc=$?
echo "apply      killed after its third side effect (exit $rc), not under valgrind"
[ -e "$L/var/lib/vcrotate/journal" ] || {
	echo "recover    no journal after the killed apply: not run  FAILED"
	failed=$((failed + 1))
}
vg recover 0 recover
vg recover 0 recover
vg check '0|1|2' check

echo "valgrind: $n runs of vcrotate in $((SECONDS - start))s, $errors errors, $definite bytes definitely lost, $failed failed"
[ "$failed" -eq 0 ]
