#!/bin/bash
# check.sh - `make bench`: vcrotate check against what admins run today, side
# by side in one run, on a crl-bloat lab (2,000 trusted roots, 5,000 CRLs):
#   1. the seed article's audit one-liner (vecs-cli --text per store | egrep)
#   2. a per-certificate loop: vecs-cli getcert | openssl x509 -enddate
#      (one run: two processes per certificate take minutes)
#   3. vcrotate check (everything: VECS, vmdir, VMCA, findings)
#   4. the floor: vecs-cli entry list of every store, output thrown away.
#      check reads VECS the same way (the appliance offers no other
#      interface), so no tool that does can be faster than this; the
#      one-liner's ratio to it is the most any such tool could reach.
# Prints the median wall time of each, the ratios, and vcrotate's peak RSS.
# ROOTS, CRLS and RUNS override the sizes and the number of runs.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
ROOTS=${ROOTS:-2000} CRLS=${CRLS:-5000} RUNS=${RUNS:-5}
export LDAPNOINIT=1 LC_ALL=C
# The build to measure (make bench B=DIR sets it), relative to the top of
# the tree unless absolute; labctl takes its lab programs from it too.
VCROTATE_BUILD=${VCROTATE_BUILD:-build}
case $VCROTATE_BUILD in /*) ;; *) VCROTATE_BUILD=$TOP/$VCROTATE_BUILD ;; esac
export VCROTATE_BUILD
lab=$(mktemp -d /tmp/vcrotate-bench.XXXXXX)/lab
trap '"$TOP/tests/lab/labctl" destroy "$lab" >/dev/null 2>&1; rm -rf "$(dirname "$lab")"' EXIT

echo "creating a crl-bloat lab with $ROOTS extra trusted roots and $CRLS CRLs..."
"$TOP/tests/lab/labctl" create "$lab" --scenario crl-bloat --roots "$ROOTS" \
    --crls "$CRLS" >/dev/null || exit 1
"$TOP/tests/lab/labctl" start "$lab" >/dev/null 2>&1
V=$lab/usr/lib/vmware-vmafd/bin/vecs-cli

one_liner() {
	for i in $($V store list); do
		echo STORE $i
		$V entry list --store $i --text | egrep "Alias|Not After"
	done
}

# CRLs and secret keys have no Not After: the loop skips the CRL store.
openssl_loop() {
	local s a
	for s in $($V store list); do
		[ "$s" = TRUSTED_ROOT_CRLS ] && continue
		$V entry list --store "$s" --aliases | tail -n +2 |
		while IFS= read -r a; do
			$V entry getcert --store "$s" --alias "$a" 2>/dev/null |
			    openssl x509 -noout -enddate 2>/dev/null
		done
	done
}

check() { "$VCROTATE_BUILD/vcrotate" --root "$lab" check; }

listing() {
	local s
	for s in $($V store list); do
		$V entry list --store "$s"
	done
}

# Median wall time of RUNS runs of a function, in seconds.
median() {
	local f=$1 runs=$2 i s e
	for i in $(seq "$runs"); do
		s=$(date +%s%N)
		"$f" >/dev/null 2>&1
		e=$(date +%s%N)
		echo $(( (e - s) / 1000 ))
	done | sort -n | awk '{ v[NR] = $1 } END { printf "%.3f", v[int((NR + 1) / 2)] / 1e6 }'
}

t_check=$(median check "$RUNS")
t_one=$(median one_liner "$RUNS")
t_loop=$(median openssl_loop 1)
t_floor=$(median listing "$RUNS")
rss=$( { /usr/bin/time -f %M "$VCROTATE_BUILD/vcrotate" --root "$lab" check >/dev/null; } 2>&1 | tail -n 1)
entries=$(for s in $($V store list); do $V entry list --store "$s" --aliases | tail -n +2; done | wc -l)

printf '\n%-58s %10s %8s\n' "what (lab: $entries VECS entries)" "median s" "ratio"
printf '%-58s %10s %8s\n' "vcrotate check (VECS + vmdir + VMCA, with findings)" "$t_check" "1.0"
printf '%-58s %10s %8s\n' "audit one-liner (vecs-cli --text | egrep, per store)" "$t_one" \
    "$(awk "BEGIN { printf \"%.1f\", $t_one / $t_check }")"
printf '%-58s %10s %8s\n' "openssl x509 -enddate per certificate (1 run)" "$t_loop" \
    "$(awk "BEGIN { printf \"%.1f\", $t_loop / $t_check }")"
printf '%-58s %10s %8s\n' "floor: vecs-cli entry list of every store, nothing else" "$t_floor" \
    "$(awk "BEGIN { printf \"%.2f\", $t_floor / $t_check }")"
printf '\nthe most any tool reading VECS through vecs-cli can gain on the one-liner: %s times\n' \
    "$(awk "BEGIN { printf \"%.1f\", $t_one / $t_floor }")"
printf '\nvcrotate check peak RSS: %.1f MB (target: under 64 MB)\n' \
    "$(awk "BEGIN { print $rss / 1024 }")"
printf 'ratio = that tool'"'"'s time / vcrotate check'"'"'s time (target: one-liner >= 10)\n'
