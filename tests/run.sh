#!/bin/sh
# run.sh - runs every test (unit tests, then end-to-end scripts) and ends with
# the line "N passed, N failed" (and ", N skipped" when some were). Exit
# status 0 only when nothing failed.
# Run one script: sh tests/run.sh tests/e2e/t0100-vecs-cli.sh
#
# VCROTATE_BUILDS: the build directories to run the suite against, one after
# the other, with one total at the end (default: build). make test runs
# "build build-asan": the same suite again on the build made with
# AddressSanitizer, LeakSanitizer and UBSan, and sets VCROTATE_SAN_LAB=build:
# the lab's sanitized programs run in the lab's own scripts (t0050-t0500),
# while the labs of vcrotate's scripts (t1000 on) are made of build/'s, as a
# sanitized process costs 30-70 ms more to start and end. make test-asan
# runs everything on build-asan/.
# A sanitizer report from any program of a build, during a test or after it,
# is a failed test: each unit test and script gets a directory that the
# reports are written to (VCROTATE_SAN_DIR, see tests/lib.sh).
set -u
cd "$(dirname "$0")/.." || exit 1
top=$(pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vcrotate-run.XXXXXX") || exit 1
log=$tmp/log
trap 'rm -rf "$tmp"' EXIT
: >"$log"

if [ $# -gt 0 ]; then scripts="$*"; else scripts=$(ls tests/e2e/t[0-9]*.sh); fi
status=0
n=0

# The sanitizers' options for what runs next; reports go to a new directory.
# Leaks of the libraries we link, not ours, are in tests/lsan.supp.
san_dir() {
	n=$((n + 1))
	VCROTATE_SAN_DIR=$tmp/san.$n
	mkdir -p "$VCROTATE_SAN_DIR/reported"
	ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:verify_asan_link_order=0:log_path=$VCROTATE_SAN_DIR/asan"
	LSAN_OPTIONS="suppressions=$top/tests/lsan.supp:print_suppressions=0"
	UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:abort_on_error=1:log_path=$VCROTATE_SAN_DIR/ubsan"
	export VCROTATE_SAN_DIR ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS
}

# Reports that no test owned (a unit test's, or written while a script's labs
# were destroyed) fail as one more test of $1.
san_after() {
	found=
	for f in "$VCROTATE_SAN_DIR"/*san.*; do
		[ -f "$f" ] || continue
		[ -n "$found" ] || echo "not ok - $1: no sanitizer report"
		found=1
		echo "# sanitizer report $(basename "$f"):"
		head -n 60 "$f" | sed 's/^/# /'
	done
}

# On a sanitized build (vcrotate linked with ASan), the run is a sample:
# the tests below are left out (reported as skipped; see docs/security.md,
# "Sanitizers and valgrind"), one title pattern a line, and t1500's fault
# sweeps take one point of each plan (CRASH=one) unless CRASH says more.
san_sample() {
	san= san_skip_scripts=
	if grep -q __asan_init "$1/vcrotate" 2>/dev/null; then
		san=1
		VCROTATE_SAN_SKIP='crl-bloat --roots 2000 --crls 5000 holds every entry*
renew on every scenario*
every plan vcrotate plan makes passes the rules*
backup restore of the before state: byte-identical, and the sync leaves it so
rollback TXN of a kept failure (root-expired): the before state, with the sync running
DER CA entries: every pass fails as in vmafd*'
		export VCROTATE_SAN_SKIP
		# Whole scripts left out: the playbooks run the same vcrotate
		# commands as t1300 and t3200, minutes of Ansible around them;
		# t0650 runs only the lab, made of build/'s programs.
		san_skip_scripts="t0650-domain-lab.sh t3300-ansible.sh t3350-ansible-domain.sh"
		[ -n "${CRASH_SET:-}" ] || export CRASH=one
	else
		unset VCROTATE_SAN_SKIP
		san_skip_scripts=
		[ -n "${CRASH_SET:-}" ] || unset CRASH
		# The fleet playbook's variants of what its other tests
		# already run (a play each), unless VCROTATE_FULL (make
		# test-ansible).
		if [ -z "${VCROTATE_FULL:-}" ]; then
			VCROTATE_SAMPLE_SKIP='a copy whose SHA-256 is not the release file*
--check: check, plan and apply --dry-run on every node*
a node done and kept with services down before*
a node check cannot read (vmdird down)*'
			export VCROTATE_SAMPLE_SKIP
		else
			unset VCROTATE_SAMPLE_SKIP
		fi
	fi
}
# Whether the caller chose CRASH (make test-crash): it then holds for every build.
[ -z "${CRASH:-}" ] || CRASH_SET=1

# Total of the TAP lines in file $1: "N passed, N failed[, N skipped]".
total() {
	skipped=$(grep -c '^ok .*# *[Ss][Kk][Ii][Pp]' "$1")
	passed=$(($(grep -c '^ok ' "$1") - skipped))
	failed=$(grep -c '^not ok' "$1")
	if [ "$skipped" -gt 0 ]; then
		echo "$passed passed, $failed failed, $skipped skipped"
	else
		echo "$passed passed, $failed failed"
	fi
}

builds=${VCROTATE_BUILDS:-${VCROTATE_BUILD:-build}}
nbuilds=$(echo $builds | wc -w)
for b in $builds; do
	export VCROTATE_BUILD=$b
	unset VCROTATE_LAB_BUILD
	blog=$tmp/log.$(echo "$b" | tr / _)
	: >"$blog"
	[ "$nbuilds" -eq 1 ] || echo "=== the suite on $b/"
	if [ $# -eq 0 ]; then
		for u in "$b"/tests/test_*; do
			[ -x "$u" ] || continue
			echo "*** $u"
			san_dir
			# cmocka prints TAP ("ok N - name") when asked to.
			CMOCKA_MESSAGE_OUTPUT=TAP "$u" 2>&1 | tee -a "$blog" || status=1
			san_after "$u" | tee -a "$blog"
		done
	fi
	san_sample "$b"
	for t in $scripts; do
		echo "*** $t"
		case " $san_skip_scripts " in *" $(basename "$t") "*)
			echo "ok 1 - $(basename "$t") # SKIP not in the sanitized run's sample" |
			    tee -a "$blog"
			continue ;;
		esac
		san_dir
		# VCROTATE_SAN_LAB (make test): past the lab's own scripts,
		# the labs a sanitized run makes are of that build's programs.
		case $t in
		*/t0[0-5][0-9][0-9]-*) unset VCROTATE_LAB_BUILD ;;
		*) [ -z "$san" ] || [ -z "${VCROTATE_SAN_LAB:-}" ] ||
			export VCROTATE_LAB_BUILD=$VCROTATE_SAN_LAB ;;
		esac
		s=$(date +%s)
		bash "$t" 2>&1 | tee -a "$blog" || status=1
		san_after "$t" | tee -a "$blog"
		echo "# $t: $(($(date +%s) - s))s"
	done
	cat "$blog" >>"$log"
	[ "$nbuilds" -eq 1 ] || echo "$b/: $(total "$blog")"
done
[ "$(grep -c '^not ok' "$log")" -eq 0 ] || status=1
total "$log"
exit $status
