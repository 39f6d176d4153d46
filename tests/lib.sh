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
# The build under test: VCROTATE_BUILD (tests/run.sh sets it; relative to
# the top of the tree), build/ by default. labctl reads the same variable.
BUILD=${VCROTATE_BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
export VCROTATE_BUILD=$BUILD
LABCTL=$TOP/tests/lab/labctl
export LDAPNOINIT=1 LC_ALL=C TZ=UTC
T=$(mktemp -d "${TMPDIR:-/tmp}/vcrotate-test.XXXXXX")
_n=0 _failed=0

# Sanitized builds (make test-asan): every AddressSanitizer, LeakSanitizer
# or UBSan report of any of the build's programs (vcrotate, the lab's, also
# one a test expected to fail) is written to a file in $SAN_DIR, not to
# stderr, and the test during which it appeared fails. tests/run.sh sets
# VCROTATE_SAN_DIR and the options (and fails the script for reports that
# come later, while the labs are destroyed); run alone, a script uses its
# own. Programs built without sanitizers ignore these variables.
if [ -n "${VCROTATE_SAN_DIR:-}" ]; then
	SAN_DIR=$VCROTATE_SAN_DIR
else
	SAN_DIR=$T/.san
	export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:verify_asan_link_order=0:log_path=$SAN_DIR/asan" \
	    LSAN_OPTIONS="suppressions=$TOP/tests/lsan.supp:print_suppressions=0" \
	    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:abort_on_error=1:log_path=$SAN_DIR/ubsan"
fi
mkdir -p "$SAN_DIR/reported"

# Fails (and shows them) when sanitizer reports appeared since the last
# call; they are moved to $SAN_DIR/reported.
san_check() {
	local f r=0
	for f in "$SAN_DIR"/*san.*; do
		[ -f "$f" ] || continue
		r=1
		echo "sanitizer report $(basename "$f"):"
		head -n 60 "$f"
		mv "$f" "$SAN_DIR/reported/"
	done
	return $r
}

# LeakSanitizer cannot work in a process under ptrace: what a test runs
# under strace gets ASan and UBSan without the leak check (the same commands
# run without strace in other tests).
strace() { ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" command strace "$@"; }

labctl() { "$LABCTL" "$@"; }

# A lab that is destroyed when the script ends, whatever happens. Tests run
# in subshells, so the list of labs is kept in a file.
lab_create() {
	echo "$1" >>"$T/.labs"
	labctl create "$@"
}

# fail WHY: the test fails. In a test's code it ends the test (or the
# $(...) it runs in) at once: a helper function called in a && chain or an
# if runs without set -e, where a plain return 1 before its last command
# would be ignored. Outside a test it returns 1.
fail() { echo "FAIL: $*" >&2; [ -z "${_in_test:-}" ] || exit 1; return 1; }

# The whole certificate state of lab $1 as the appliance's own tools show
# it (vecs-cli, ldapsearch as the administrator, the VMCA files, VCDB's
# vpx_ext through psql), in a
# stable order: two dumps are equal when the states are byte-identical.
# A part that cannot be read (vmafdd or slapd down) fails it, and leaves a
# line in the dump that no readable state has.
lab_dump() {
	local l=$1 v=$1/usr/lib/vmware-vmafd/bin/vecs-cli s a uri stores ldif
	uri=$(sed -n "s/^ldap_uri=//p" "$l/etc/vcrotate/vcrotate.conf")
	stores=$($v store list) || { echo "UNREADABLE VECS"; fail "lab_dump: vecs-cli store list failed"; return 1; }
	for s in $(echo "$stores" | sort); do
		echo "STORE $s"
		$v entry list --store "$s" --aliases | tail -n +2 | sort |
		while IFS= read -r a; do
			echo "ENTRY $s/$a"
			$v entry getcert --store "$s" --alias "$a" 2>/dev/null || :
			$v entry getkey --store "$s" --alias "$a" 2>/dev/null || :
		done
	done
	ldif=$(ldapsearch -x -H "$uri" -D cn=Administrator,cn=Users,dc=vsphere,dc=local \
	    -y "$l/var/lib/vmware-lab/admin.password" -LLL -o ldif-wrap=no \
	    -b dc=vsphere,dc=local "(|(objectClass=vmwSTSTenantCredential)(objectClass=vmwSTSTenantTrustedCertificateChain)(objectClass=vmwServicePrincipal)(objectClass=vmwLKUPEndpointRegistration)(objectClass=vmwLKUPServiceEndpoint)(objectClass=vmwCertificationAuthority))") ||
		{ echo "UNREADABLE VMDIR"; fail "lab_dump: ldapsearch failed"; return 1; }
	echo "$ldif" | awk 'BEGIN { RS = ""; ORS = "\n\n" } { print }' | sort
	cat "$l/var/lib/vmware/vmca/root.cer" "$l/var/lib/vmware/vmca/privatekey.pem"
	# vsan-health's copy of vpxd-extension (labs made --vsan-health):
	# mode, owner, group and bytes of each file.
	for s in cert key; do
		a=$l/storage/vsan-health/vpxd-extension.$s
		[ -e "$a" ] || continue
		stat -c "VSAN-HEALTH %a %u %g vpxd-extension.$s" "$a" && cat "$a"
	done
	# Auto Deploy's database (labs made --autodeploy), as sqlite3 dumps it.
	for a in etc/vmware-rbd/db/db var/lib/rbd/db; do
		[ -e "$l/$a" ] || continue
		echo "AUTO DEPLOY $a"
		sqlite3 -readonly "$l/$a" .dump || { echo "UNREADABLE AUTO DEPLOY"; fail "lab_dump: sqlite3 failed"; return 1; }
	done
	# VCDB's rows, as PostgreSQL dumps them (a lab made --no-vcdb has
	# none); when its server is not running (start --all leaves it
	# stopped when a core service fails) it is started, and only then.
	[ -x "$l/opt/vmware/vpostgres/current/bin/psql" ] || return 0
	echo "VCDB vpx_ext"
	_vpx_ext "$l" 2>/dev/null || {
		"$l/usr/bin/service-control" --start vmware-vpostgres >/dev/null 2>&1
		_vpx_ext "$l"
	} || { echo "UNREADABLE VCDB"; fail "lab_dump: psql failed"; return 1; }
}
_vpx_ext() {
	"$1/opt/vmware/vpostgres/current/bin/psql" -X -q -d VCDB -U postgres \
	    -c "COPY (SELECT * FROM vpx_ext ORDER BY ext_id) TO STDOUT"
}

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
	# The sanitized run samples: tests/run.sh names the tests it leaves
	# out in VCROTATE_SAN_SKIP, one pattern of titles a line.
	local _p
	while IFS= read -r _p; do
		if [ -n "$_p" ] && [[ $1 == $_p ]]; then
			echo "ok $_n - $1 # SKIP not in the sanitized run's sample"
			return 0
		fi
	done <<<"${VCROTATE_SAN_SKIP:-}"
	# make test's sample leaves out the slow variants some scripts run
	# in full under make test-ansible (VCROTATE_SAMPLE_SKIP, run.sh).
	while IFS= read -r _p; do
		if [ -n "$_p" ] && [[ $1 == $_p ]]; then
			echo "ok $_n - $1 # SKIP not in make test's sample (make test-ansible)"
			return 0
		fi
	done <<<"${VCROTATE_SAMPLE_SKIP:-}"
	# Not inside an if: the shell ignores set -e in a condition, and then
	# a failing line that is not the last of the test would go unnoticed.
	# stdin is not the terminal: apply asks there (docs/apply.md).
	(cd "$T" || exit 1; _in_test=1; set -e; eval "$2") >"$T/.out" 2>&1 </dev/null
	_rc=$?
	san_check >"$T/.san.out" || _rc=1
	if [ $_rc -eq 0 ]; then
		echo "ok $_n - $1"
	else
		_failed=$((_failed + 1))
		echo "not ok $_n - $1"
		sed 's/^/# /' "$T/.out" | tail -n 40
		sed 's/^/# /' "$T/.san.out"
	fi
}

# test_skip 'what it checks' 'why': the test is counted as skipped.
test_skip() {
	_n=$((_n + 1))
	echo "ok $_n - $1 # SKIP $2"
}

_cleanup() {
	local l f c
	if [ -f "$T/.labs" ]; then
		while read -r l; do
			[ -d "$l" ] && "$LABCTL" destroy "$l" >/dev/null 2>&1
		done <"$T/.labs"
	fi
	# Whatever a test started by other means (slapd, the TLS daemon) and
	# left running under $T must not outlive it.
	for f in /proc/[0-9]*/cmdline; do
		c=$(tr "\0" " " 2>/dev/null <"$f") || continue
		case $c in *"$T/"*)
			f=${f#/proc/}
			kill -TERM "${f%/cmdline}" 2>/dev/null ;;
		esac
	done
	# Run alone, reports from the labs' destruction are this script's to
	# show (tests/run.sh looks at its own directory after the script).
	if [ -z "${VCROTATE_SAN_DIR:-}" ] && ! san_check >"$T/.san.out"; then
		echo "not ok $((_n + 1)) - no sanitizer report after the tests"
		sed 's/^/# /' "$T/.san.out"
	fi
	[ "${KEEP:-0}" = 1 ] || rm -rf "$T"
}
trap _cleanup EXIT

test_done() {
	echo "1..$_n"
	[ "$_failed" -eq 0 ]
}
