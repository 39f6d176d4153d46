#!/bin/bash
# backup.sh - `make bench`, backup part: on a lab with about 2,000 VECS
# entries, the time of a snapshot, the growth of the repository for a second
# snapshot with nothing changed (target: under 8 KB), and the time of a
# restore that puts back one changed entry.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
ROOTS=${ROOTS:-1000} CRLS=${CRLS:-1000}
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

t_first=$(secs "$VC" --root "$lab" backup snapshot --reason bench)
b1=$(objbytes)
t_second=$(secs "$VC" --root "$lab" backup snapshot --reason unchanged)
b2=$(objbytes)
$V entry delete --store vpxd --alias vpxd -y >/dev/null
t_restore=$(secs "$VC" --root "$lab" backup restore snapshots)
t_verify=$(secs "$VC" --root "$lab" backup verify)

printf '\n%-58s %12s\n' "backup (lab: $entries VECS entries)" "value"
printf '%-58s %10s s\n' "first snapshot (repository created)" "$t_first"
printf '%-58s %10s s\n' "second snapshot, nothing changed" "$t_second"
printf '%-58s %8s bytes\n' "repository growth for it (target: under 8192)" "$((b2 - b1))"
printf '%-58s %10s s\n' "restore of one removed entry (read, write, read again)" "$t_restore"
printf '%-58s %10s s\n' "verify of both snapshots" "$t_verify"
