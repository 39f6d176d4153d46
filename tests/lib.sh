# lib.sh - sourced by every end-to-end test script (tests/e2e/tNNNN-*.sh).
#
# Each script runs in its own scratch directory ($T, removed at the end unless
# KEEP=1) and prints TAP lines: "ok N - what" or "not ok N - what" followed by
# the failing command's output as "# " lines. tests/run.sh adds them up.
#
#   test_expect 'what it checks' '
#           shell code; fails when any command in it fails (set -e)
#   '
#   test_done
#
# Helpers for the code inside: labctl (the lab command), fail "why",
# expect_eq EXPECTED ACTUAL, expect_grep PATTERN FILE.

set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$TOP/build
LABCTL=$TOP/tests/lab/labctl
export LDAPNOINIT=1 LC_ALL=C TZ=UTC
T=$(mktemp -d "${TMPDIR:-/tmp}/vcrotate-test.XXXXXX")
_n=0 _failed=0 _labs=

labctl() { "$LABCTL" "$@"; }

# A lab that is destroyed when the script ends, whatever happens.
lab_create() {
	_labs="$_labs $1"
	labctl create "$@"
}

fail() { echo "FAIL: $*" >&2; return 1; }

expect_eq() {
	[ "$1" = "$2" ] && return 0
	printf 'expected: %s\n     got: %s\n' "$1" "$2" >&2
	return 1
}

expect_grep() {
	grep -q -- "$1" "$2" && return 0
	echo "pattern not found: $1 in $2:" >&2
	sed 's/^/| /' "$2" >&2
	return 1
}

test_expect() {
	_n=$((_n + 1))
	if (cd "$T" && set -e && eval "$2") >"$T/.out" 2>&1; then
		echo "ok $_n - $1"
	else
		_failed=$((_failed + 1))
		echo "not ok $_n - $1"
		sed 's/^/# /' "$T/.out" | tail -n 40
	fi
}

_cleanup() {
	for l in $_labs; do
		[ -d "$l" ] && "$LABCTL" destroy "$l" >/dev/null 2>&1
	done
	[ "${KEEP:-0}" = 1 ] || rm -rf "$T"
}
trap _cleanup EXIT

test_done() {
	echo "1..$_n"
	[ "$_failed" -eq 0 ]
}
