#!/bin/bash
# apply.sh - `make bench`, apply part: the all-expired night repaired by
# vcrotate (one plan, one transaction) against the certificate-manager way
# (STS first, then solution users, then Machine SSL, each followed by a
# restart), side by side: restart cycles counted by the lab, and vcrotate's
# own time apart from the lab's service stop/start (target: under 2 s).
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
export LDAPNOINIT=1 LC_ALL=C
# The build to measure (make bench B=DIR sets it), relative to the top of
# the tree unless absolute; labctl takes its lab programs from it too.
VCROTATE_BUILD=${VCROTATE_BUILD:-build}
case $VCROTATE_BUILD in /*) ;; *) VCROTATE_BUILD=$TOP/$VCROTATE_BUILD ;; esac
export VCROTATE_BUILD
base=$(mktemp -d /tmp/vcrotate-bench.XXXXXX)
trap 'for l in "$base"/*/; do "$TOP/tests/lab/labctl" destroy "$l" >/dev/null 2>&1; done; rm -rf "$base"' EXIT
VC=$VCROTATE_BUILD/vcrotate
now() { date +%s%N; }
cycles() { sed -n 's/^cycles=//p' "$1/var/lib/vmware-lab/counters"; }

RUNS=${RUNS:-3}
for l in b $(seq "$RUNS"); do
	"$TOP/tests/lab/labctl" create "$base/$l" --scenario all-expired >/dev/null || exit 1
	"$TOP/tests/lab/labctl" start "$base/$l" >/dev/null 2>&1
done

# vcrotate: one plan, one apply, on RUNS labs (RSA key generation makes one
# run vary); the median run is reported. The lab's part of each, one
# stop/start of every service, is timed on its own right after it.
for r in $(seq "$RUNS"); do
	a=$base/$r
	"$VC" --root "$a" plan -o "$base/$r.plan" >/dev/null 2>&1
	c0=$(cycles "$a")
	s=$(now)
	"$VC" --root "$a" apply "$base/$r.plan" --yes >/dev/null 2>&1 || { echo "apply failed"; exit 1; }
	e=$(now)
	c1=$(cycles "$a")
	s2=$(now)
	"$a/usr/bin/service-control" --stop --all >/dev/null 2>&1
	"$a/usr/bin/service-control" --start --all >/dev/null 2>&1
	e2=$(now)
	echo "$(( e - s - (e2 - s2) )) $(( e - s )) $(( e2 - s2 )) $(( c1 - c0 ))"
done | sort -n >"$base/runs"
read -r own_ns total_ns lab_ns ncycles < <(sed -n "$(( (RUNS + 1) / 2 ))p" "$base/runs")

# The certificate-manager way: one group at a time, a restart after each;
# a failed start is left as it is (certificate-manager does not roll back
# the STS fix).
b=$base/b
d0=$(cycles "$b")
for scope in sts solution-users machine-ssl; do
	"$VC" --root "$b" plan --scope "$scope" -o "$base/b-$scope.plan" >/dev/null 2>&1
	"$VC" --root "$b" apply "$base/b-$scope.plan" --keep-on-failure --yes >/dev/null 2>&1
done
d1=$(cycles "$b")
"$VC" --root "$b" check >/dev/null; bstatus=$?

total=$(awk "BEGIN { printf \"%.2f\", $total_ns / 1e9 }")
lab=$(awk "BEGIN { printf \"%.2f\", $lab_ns / 1e9 }")
own=$(awk "BEGIN { printf \"%.2f\", $own_ns / 1e9 }")
owns=$(awk '{ printf("%s%.2f", (NR > 1 ? " " : ""), $1 / 1e9) }' "$base/runs")
printf '\n%-58s %10s\n' "apply on all-expired (median of $RUNS runs)" "value"
printf '%-58s %8s s\n' "vcrotate apply, total" "$total"
printf '%-58s %8s s\n' "  of which the lab's service stop/start" "$lab"
printf '%-58s %8s s\n' "  vcrotate's own time (target: under 2 s)" "$own"
printf '%-58s %10s\n' "  own time of each run, s" "$owns"
printf '%-58s %10s\n' "restart cycles, vcrotate (one transaction)" "$ncycles"
printf '%-58s %10s\n' "restart cycles, the certificate-manager way (3 groups)" "$((d1 - d0))"
printf '%-58s %10s\n' "ratio of restarts (certificate-manager way / vcrotate)" \
    "$(( (d1 - d0) / ncycles ))"
printf '%-58s %10s\n' "check after the certificate-manager way (0 = OK)" "$bstatus"
