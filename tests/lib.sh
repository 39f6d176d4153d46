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
_n=0 _failed=0

labctl() { "$LABCTL" "$@"; }

# A lab that is destroyed when the script ends, whatever happens. Tests run
# in subshells, so the list of labs is kept in a file.
lab_create() {
	echo "$1" >>"$T/.labs"
	labctl create "$@"
}

fail() { echo "FAIL: $*" >&2; return 1; }

# The whole certificate state of lab $1 as the appliance's own tools show
# it (vecs-cli, ldapsearch as the administrator, the VMCA files), in a
# stable order: two dumps are equal when the states are byte-identical.
lab_dump() {
	local l=$1 v=$1/usr/lib/vmware-vmafd/bin/vecs-cli s a uri
	uri=$(sed -n "s/^ldap_uri=//p" "$l/etc/vcrotate/vcrotate.conf")
	for s in $($v store list | sort); do
		echo "STORE $s"
		$v entry list --store "$s" --aliases | tail -n +2 | sort |
		while IFS= read -r a; do
			echo "ENTRY $s/$a"
			$v entry getcert --store "$s" --alias "$a" 2>/dev/null || :
			$v entry getkey --store "$s" --alias "$a" 2>/dev/null || :
		done
	done
	ldapsearch -x -H "$uri" -D cn=Administrator,cn=Users,dc=vsphere,dc=local \
	    -y "$l/var/lib/vmware-lab/admin.password" -LLL -o ldif-wrap=no \
	    -b dc=vsphere,dc=local "(|(objectClass=vmwSTSTenantCredential)(objectClass=vmwSTSTenantTrustedCertificateChain)(objectClass=vmwServicePrincipal)(objectClass=vmwLKUPEndpointRegistration)(objectClass=vmwCertificationAuthority))" |
	    awk 'BEGIN { RS = ""; ORS = "\n\n" } { print }' | sort
	cat "$l/var/lib/vmware/vmca/root.cer" "$l/var/lib/vmware/vmca/privatekey.pem"
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
	# Not inside an if: the shell ignores set -e in a condition, and then
	# a failing line that is not the last of the test would go unnoticed.
	(cd "$T" || exit 1; set -e; eval "$2") >"$T/.out" 2>&1
	if [ $? -eq 0 ]; then
		echo "ok $_n - $1"
	else
		_failed=$((_failed + 1))
		echo "not ok $_n - $1"
		sed 's/^/# /' "$T/.out" | tail -n 40
	fi
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
	[ "${KEEP:-0}" = 1 ] || rm -rf "$T"
}
trap _cleanup EXIT

test_done() {
	echo "1..$_n"
	[ "$_failed" -eq 0 ]
}
