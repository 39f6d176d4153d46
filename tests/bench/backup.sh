#!/bin/bash
# backup.sh - `make bench`, backup part: on a lab with about 2,000 VECS
# entries (2,017 by default), the median time of a first snapshot (a new
# repository; target: at most 1 s) and of a second one with nothing changed
# (target: at most 0.3 s) over RUNS fresh repositories, the growth of the
# repository for that second snapshot (target: under 8 KB), and the time of
# a restore that puts back one changed entry and of a verify.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
ROOTS=${ROOTS:-1000} CRLS=${CRLS:-1000} RUNS=${RUNS:-5}
export LDAPNOINIT=1 LC_ALL=C
# The build to measure (make bench B=DIR sets it), relative to the top of
# the tree unless absolute; labctl takes its lab programs from it too.
VCROTATE_BUILD=${VCROTATE_BUILD:-build}
case $VCROTATE_BUILD in /*) ;; *) VCROTATE_BUILD=$TOP/$VCROTATE_BUILD ;; esac
export VCROTATE_BUILD
lab=$(mktemp -d /tmp/vcrotate-bench.XXXXXX)/lab
trap '"$TOP/tests/lab/labctl" destroy "$lab" >/dev/null 2>&1; rm -rf "$(dirname "$lab")"' EXIT
VC=$VCROTATE_BUILD/vcrotate

"$TOP/tests/lab/labctl" create "$lab" --scenario crl-bloat --roots "$ROOTS" \
    --crls "$CRLS" >/dev/null || exit 1
"$TOP/tests/lab/labctl" start "$lab" >/dev/null 2>&1
V=$lab/usr/lib/vmware-vmafd/bin/vecs-cli
repo=$lab/var/lib/vcrotate/backup.git
entries=$(for s in $($V store list); do $V entry list --store "$s" --aliases | tail -n +2; done | wc -l)

secs() { local s e; s=$(date +%s%N); "$@" >/dev/null || exit 1; e=$(date +%s%N); awk "BEGIN { printf \"%.3f\", ($e - $s) / 1e9 }"; }
objbytes() { find "$repo/objects" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; }

# Median of a list of seconds, one a line.
median() { sort -n | awk '{ v[NR] = $1 } END { printf "%.3f", v[int((NR + 1) / 2)] }'; }

# Each run on a new repository (the key stays: it is made once). The
# unchanged snapshot's time counts from a new second, so that its
# `created' differs as it does in use.
for i in $(seq "$RUNS"); do
	rm -rf "$repo"
	f=$(secs "$VC" --root "$lab" backup snapshot --reason bench)
	b1=$(objbytes)
	s=$(date +%s); while [ "$(date +%s)" = "$s" ]; do sleep 0.05; done
	u=$(secs "$VC" --root "$lab" backup snapshot --reason unchanged)
	b2=$(objbytes)
	echo "$f $u"
done >"$(dirname "$lab")/snaps"
t_first=$(awk '{ print $1 }' "$(dirname "$lab")/snaps" | median)
t_second=$(awk '{ print $2 }' "$(dirname "$lab")/snaps" | median)
$V entry delete --store vpxd --alias vpxd -y >/dev/null
t_restore=$(secs "$VC" --root "$lab" backup restore snapshots)
t_verify=$(secs "$VC" --root "$lab" backup verify)

printf '\n%-58s %12s\n' "backup (lab: $entries VECS entries, median of $RUNS)" "value"
printf '%-58s %10s s %s\n' "first snapshot, repository created (target: at most 1 s)" "$t_first" \
    "$(awk "BEGIN { print ($t_first <= 1) ? \"met\" : \"NOT MET\" }")"
printf '%-58s %10s s %s\n' "second, nothing changed (target: at most 0.3 s)" "$t_second" \
    "$(awk "BEGIN { print ($t_second <= 0.3) ? \"met\" : \"NOT MET\" }")"
printf '%-58s %8s bytes\n' "repository growth for it (target: under 8192)" "$((b2 - b1))"
printf '%-58s %10s s\n' "restore of one removed entry (read, write, read again)" "$t_restore"
printf '%-58s %10s s\n' "verify of both snapshots" "$t_verify"
