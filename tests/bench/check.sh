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
#   5. when make release has built it, the same check by the static
#      release (build/release/static/vcrotate), what an appliance runs.
# Prints the median wall time of each, the ratios (targets: check at least
# 5 times faster than the one-liner, and at most 2 times the floor; for
# the release too), vcrotate's peak RSS (target: 64 MB), and a scaling row: check on labs of
# SCALE CRLs (default 500 5000 20000, ROOTS roots each), its time per 1,000
# CRLs and the growth from one size to the next per 1,000 CRLs (linear:
# about the same at every step). ROOTS, CRLS, RUNS and SCALE override the
# sizes and the number of runs; LOOP=0 leaves out the openssl loop.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
ROOTS=${ROOTS:-2000} CRLS=${CRLS:-5000} RUNS=${RUNS:-5} LOOP=${LOOP:-1}
SCALE=${SCALE:-500 5000 20000}
export LDAPNOINIT=1 LC_ALL=C
# The build to measure (make bench B=DIR sets it), relative to the top of
# the tree unless absolute; labctl takes its lab programs from it too.
VCROTATE_BUILD=${VCROTATE_BUILD:-build}
case $VCROTATE_BUILD in /*) ;; *) VCROTATE_BUILD=$TOP/$VCROTATE_BUILD ;; esac
export VCROTATE_BUILD
lab=$(mktemp -d /tmp/vcrotate-bench.XXXXXX)/lab
trap 'for l in "$(dirname "$lab")"/*/; do "$TOP/tests/lab/labctl" destroy "$l" >/dev/null 2>&1; done; rm -rf "$(dirname "$lab")"' EXIT

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
REL=$TOP/build/release/static/vcrotate
[ -x "$REL" ] || REL=
release() { "$REL" --root "$lab" check; }

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

# Side by side: each run of one is followed by a run of each of the
# others, so that the load of the machine weighs on all alike.
for i in $(seq "$RUNS"); do
	for f in check ${REL:+release} one_liner listing; do
		s=$(date +%s%N)
		"$f" >/dev/null 2>&1
		e=$(date +%s%N)
		echo "$f $(( (e - s) / 1000 ))"
	done
done >"$(dirname "$lab")/times"
med() {
	awk -v f="$1" '$1 == f { print $2 }' "$(dirname "$lab")/times" | sort -n |
	    awk '{ v[NR] = $1 } END { printf "%.3f", v[int((NR + 1) / 2)] / 1e6 }'
}
t_check=$(med check)
t_one=$(med one_liner)
t_floor=$(med listing)
t_rel=-
[ -z "$REL" ] || t_rel=$(med release)
t_loop=-
[ "$LOOP" = 0 ] || t_loop=$(median openssl_loop 1)
rss=$( { /usr/bin/time -f %M "$VCROTATE_BUILD/vcrotate" --root "$lab" check >/dev/null; } 2>&1 | tail -n 1)
rss_rel=-
[ -z "$REL" ] || rss_rel=$( { /usr/bin/time -f %M "$REL" --root "$lab" check >/dev/null; } 2>&1 | tail -n 1)
entries=$(for s in $($V store list); do $V entry list --store "$s" --aliases | tail -n +2; done | wc -l)

printf '\n%-58s %10s %8s\n' "what (lab: $entries VECS entries)" "median s" "ratio"
printf '%-58s %10s %8s\n' "vcrotate check (VECS + vmdir + VMCA, with findings)" "$t_check" "1.0"
[ "$t_rel" = - ] ||
printf '%-58s %10s %8s\n' "the same check by the static release (make release)" "$t_rel" \
    "$(awk "BEGIN { printf \"%.1f\", $t_rel / $t_check }")"
printf '%-58s %10s %8s\n' "audit one-liner (vecs-cli --text | egrep, per store)" "$t_one" \
    "$(awk "BEGIN { printf \"%.1f\", $t_one / $t_check }")"
[ "$t_loop" = - ] ||
printf '%-58s %10s %8s\n' "openssl x509 -enddate per certificate (1 run)" "$t_loop" \
    "$(awk "BEGIN { printf \"%.1f\", $t_loop / $t_check }")"
printf '%-58s %10s %8s\n' "floor: vecs-cli entry list of every store, nothing else" "$t_floor" \
    "$(awk "BEGIN { printf \"%.2f\", $t_floor / $t_check }")"
printf 'ratio = that tool'"'"'s time / vcrotate check'"'"'s time\n'
printf '\nthe most any tool reading VECS through vecs-cli can gain on the one-liner: %s times\n' \
    "$(awk "BEGIN { printf \"%.1f\", $t_one / $t_floor }")"
# targets WHO SECONDS: WHO's check against the two ratio targets.
targets() {
	printf '%-58s %8s %s\n' "$1 vs the one-liner (target: at least 5 times faster)" \
	    "$(awk "BEGIN { printf \"%.1fx\", $t_one / $2 }")" \
	    "$(awk "BEGIN { print ($t_one / $2 >= 5) ? \"met\" : \"NOT MET\" }")"
	printf '%-58s %8s %s\n' "$1 vs the floor (target: at most 2 times)" \
	    "$(awk "BEGIN { printf \"%.2fx\", $2 / $t_floor }")" \
	    "$(awk "BEGIN { print ($2 / $t_floor <= 2) ? \"met\" : \"NOT MET\" }")"
}
# rss_target WHAT KB: a peak RSS against its 64 MB target.
rss_target() {
	printf '%-58s %5.1f MB %s\n' "$1 (target: at most 64 MB)" \
	    "$(awk "BEGIN { print $2 / 1024 }")" \
	    "$(awk "BEGIN { print ($2 <= 65536) ? \"met\" : \"NOT MET\" }")"
}
targets check "$t_check"
if [ "$t_rel" = - ]; then
	printf '(no static release: make release, then make bench, measures it too)\n'
else
	targets "the release" "$t_rel"
fi
rss_target "vcrotate check peak RSS" "$rss"
[ "$rss_rel" = - ] || rss_target "the release's peak RSS" "$rss_rel"

# Scaling: check alone on labs of growing CRL stores.
printf '\n%-20s %10s %16s %22s\n' "check, $ROOTS roots" "median s" "s per 1,000 CRLs" "growth per 1,000 CRLs"
pn= pt=
for n in $SCALE; do
	l=$(dirname "$lab")/scale-$n
	"$TOP/tests/lab/labctl" create "$l" --scenario crl-bloat --roots "$ROOTS" \
	    --crls "$n" >/dev/null || exit 1
	"$TOP/tests/lab/labctl" start "$l" >/dev/null 2>&1
	scale_check() { "$VCROTATE_BUILD/vcrotate" --root "$l" check; }
	t=$(median scale_check "$RUNS")
	"$TOP/tests/lab/labctl" destroy "$l" >/dev/null 2>&1
	g=-
	[ -z "$pn" ] || g=$(awk "BEGIN { printf \"%.4f\", ($t - $pt) / (($n - $pn) / 1000) }")
	printf '%-20s %10s %16s %22s\n' "$n CRLs" "$t" \
	    "$(awk "BEGIN { printf \"%.4f\", $t / ($n / 1000) }")" "$g"
	pn=$n pt=$t
done
