#!/bin/bash
# Help and usage errors (issue 14): vcrotate help, help COMMAND and COMMAND
# --help for every command and subcommand (exit 0, the usage on stdout, every
# option listed); an unknown option, a missing argument and a missing operand
# named on stderr with the usage (exit 64; 3 for check, a monitoring
# plugin); a mistyped command answered with the nearest one; --version; the
# man page linted and cross-checked against the binary's help.
. "$(dirname "$0")/../lib.sh"

VC=$BUILD/vcrotate
MAN=$TOP/docs/vcrotate.8

# What the docs (README.md, docs/*.md) say each command takes, written here
# and not read from the binary: its options, its operands, one option of it
# that takes an argument, and the exit status of bad usage.
COMMANDS=("check" "plan" "plan show" "csr" "apply" "renew" "history" "rollback" "recover"
    "backup snapshot" "backup list" "backup show" "backup diff"
    "backup restore" "backup verify")
COMMON="--root --config --ldap-uri --bind-dn --password-file --repo --ca-file --starttls"
declare -A OPTS=(
	[check]="--format --json --prometheus --warn-days --crit-days --at --node"
	[plan]="--renew-within --scope --reset-all --san --drop-san --issuer --key-bits --validity-days --prune-expired-roots --at --import --chain -o --json"
	[plan show]=""
	[csr]="--for --subject --san --key-bits -o"
	[apply]="--dry-run --expect --operator --ticket --reason --restart --keep-on-failure --rollback-on --yes --json --replication-wait"
	[renew]="--dry-run --operator --ticket --reason"
	[history]="--json"
	[rollback]="--operator --ticket --reason --force --yes"
	[recover]="--back --forward --operator --reason --ticket --yes"
	[backup snapshot]="--operator --ticket --reason"
	[backup list]="--json"
	[backup show]="--json"
	[backup diff]=""
	[backup restore]="--only --dry-run --operator --ticket --reason --yes"
	[backup verify]=""
)
declare -A OPERANDS=([plan show]="FILE" [apply]="PLAN" [rollback]="TXN"
    [backup show]="REF" [backup diff]="REF1 REF2" [backup restore]="REF")
declare -A ARGOPT=([check]="--prometheus" [plan]="--scope" [csr]="--for" [apply]="--ticket" [renew]="--ticket"
    [backup snapshot]="--reason" [backup restore]="--only")
usage_exit() { [ "$1" = check ] && echo 3 || echo 64; }

# sorted WORDS...: the words, one a line, sorted.
sorted() { printf '%s\n' $* | sed '/^$/d' | sort; }
# help_opts FILE: the options a help lists (lines "  --name ...").
help_opts() { sed -n 's/^  \(-[-a-z]*\).*/\1/p' "$1" | sort -u; }
# own_opts FILE: those listed before the options of every command.
own_opts() { sed '/^options (of every command/q' "$1" >"$1.own"; help_opts "$1.own"; }
# expect_same WHAT WANT GOT: two sorted lists are equal, else show both.
expect_same() {
	[ "$2" = "$3" ] && return 0
	echo "$1: expected options:" $2 >&2
	echo "$1:      listed options:" $3 >&2
	return 1
}
# fake_operands CMD: a placeholder for each operand the command needs.
fake_operands() { local o; for o in ${OPERANDS[$1]:-}; do printf ' x%s' "$o"; done; }

# In the loops below every check ends in `|| fail': in a loop body, a
# failing check that is not the last of its && chain would not stop set -e.

test_expect 'vcrotate help, --help and -h: every command, the common options, exit 0' '
	for h in help --help -h; do
		"$VC" $h >out 2>err || fail "vcrotate $h: exit $?"
		[ ! -s err ] || fail "vcrotate $h wrote on stderr"
		expect_grep "^usage: vcrotate" out || fail "vcrotate $h"
		for c in "${COMMANDS[@]}"; do
			grep -q "^  $c  " out || fail "vcrotate $h does not list $c"
		done
		expect_same "vcrotate $h" "$(sorted $COMMON --help)" "$(help_opts out)" ||
			fail "vcrotate $h"
	done
'

test_expect 'help COMMAND, COMMAND --help and -h: its usage and every option, on stdout, exit 0' '
	for c in "${COMMANDS[@]}"; do
		for form in "help $c" "$c --help" "$c -h" "$c$(fake_operands "$c") --help"; do
			rc=0 && "$VC" $form >out 2>err || rc=$?
			expect_eq 0 "$rc" || fail "vcrotate $form: exit $rc"
			[ ! -s err ] || { cat err; fail "vcrotate $form wrote on stderr"; }
			grep -q "^usage: vcrotate \[options\] $c\( \|$\)" out ||
				fail "vcrotate $form: no usage line for $c"
			expect_same "vcrotate $form (its own)" "$(sorted ${OPTS[$c]})" "$(own_opts out)" ||
				fail "vcrotate $form"
			expect_same "vcrotate $form" "$(sorted ${OPTS[$c]} $COMMON --help)" "$(help_opts out)" ||
				fail "vcrotate $form"
		done
	done
'

test_expect 'help of a group (backup, plan) shows every subcommand' '
	"$VC" help backup >out && "$VC" backup --help >out2 && cmp out out2 &&
	for s in snapshot list show diff restore verify; do
		expect_grep "^\(usage:\)\? *vcrotate \[options\] backup $s" out || fail "help backup: $s"
	done &&
	"$VC" help plan >out && expect_grep "vcrotate \[options\] plan show FILE" out
'

test_expect 'an unknown option: named on stderr with the usage, exit 64 (check: 3)' '
	for c in "${COMMANDS[@]}"; do
		want=$(usage_exit "$c")
		rc=0 && "$VC" $c$(fake_operands "$c") --frobnicate >out 2>err || rc=$?
		expect_eq "$want" "$rc" || fail "vcrotate $c --frobnicate: exit $rc"
		[ ! -s out ] || fail "vcrotate $c --frobnicate wrote on stdout"
		expect_grep "^vcrotate $c: unknown option --frobnicate$" err || fail "$c"
		expect_grep "^usage: vcrotate \[options\] $c" err || fail "$c"
	done &&
	{ "$VC" apply p --dryrun 2>err; expect_eq 64 $?; } &&
	expect_grep "^vcrotate apply: unknown option --dryrun; did you mean --dry-run?$" err
'

test_expect 'a missing argument: the option named, the usage, exit 64 (check: 3)' '
	for c in "${COMMANDS[@]}"; do
		want=$(usage_exit "$c")
		for o in ${ARGOPT[$c]:-} --root; do
			rc=0 && "$VC" $c$(fake_operands "$c") $o >out 2>err || rc=$?
			expect_eq "$want" "$rc" || fail "vcrotate $c $o: exit $rc"
			expect_grep "^vcrotate $c: $o needs an argument$" err || fail "$c $o"
			expect_grep "^usage: vcrotate \[options\] $c" err || fail "$c $o"
		done
	done
'

test_expect 'a missing or an extra operand: named, the usage, exit 64' '
	for c in "${!OPERANDS[@]}"; do
		first=${OPERANDS[$c]%% *}
		rc=0 && "$VC" $c >out 2>err || rc=$?
		expect_eq 64 "$rc" || fail "vcrotate $c: exit $rc"
		expect_grep "^vcrotate $c: missing $first$" err || fail "$c"
		expect_grep "^usage: vcrotate \[options\] $c" err || fail "$c"
		rc=0 && "$VC" $c$(fake_operands "$c") extra >out 2>err || rc=$?
		expect_eq 64 "$rc" || fail "vcrotate $c ... extra: exit $rc"
		expect_grep "^vcrotate $c: unexpected argument .extra.$" err || fail "$c"
	done
	{ "$VC" backup diff a 2>err; expect_eq 64 $?; } &&
	expect_grep "^vcrotate backup diff: missing REF2$" err &&
	{ "$VC" backup 2>err; expect_eq 64 $?; } &&
	expect_grep "^vcrotate backup: missing subcommand$" err &&
	expect_grep "^usage: vcrotate \[options\] backup snapshot" err &&
	{ "$VC" 2>err; expect_eq 64 $?; } && expect_grep "^vcrotate: missing command$" err
'

test_expect 'a mistyped command or subcommand: the nearest one suggested, exit 64' '
	t() {
		rc=0 && "$VC" $1 >out 2>err || rc=$?
		expect_eq 64 "$rc" && [ ! -s out ] && expect_grep "^$2$" err ||
			fail "vcrotate $1: exit $rc"
	}
	t chek "vcrotate: unknown command .chek.; did you mean .check.?"
	t aplly "vcrotate: unknown command .aplly.; did you mean .apply.?"
	t "help recvoer" "vcrotate: unknown command .recvoer.; did you mean .recover.?"
	t "hist --json" "vcrotate: unknown command .hist.; did you mean .history.?"
	t "backup lsit" "vcrotate backup: unknown subcommand .lsit.; did you mean .list.?"
	t "help backup restor" "vcrotate backup: unknown subcommand .restor.; did you mean .restore.?"
	t "plan shwo x" "vcrotate plan: unknown subcommand .shwo.; did you mean .show.?"
	t zzzzzz "vcrotate: unknown command .zzzzzz. (vcrotate help lists them)"
'

test_expect 'usage errors before the command: 3 before check (monitoring), else 64' '
	for a in "--bogus check" "--root" "--bogus plan" "--bogus" "--root x --frob history"; do
		rc=0 && "$VC" $a >out 2>err || rc=$?
		case $a in *check) want=3 ;; *) want=64 ;; esac
		expect_eq $want "$rc" || fail "vcrotate $a: exit $rc"
		expect_grep "^usage: vcrotate" err || fail "vcrotate $a: no usage"
	done
	"$VC" --bogus check 2>err || :
	expect_grep "^vcrotate: unknown option --bogus$" err
	"$VC" --root 2>err || :
	expect_grep "^vcrotate: --root needs an argument$" err
'

test_expect '--version: vcrotate, the build, and the libraries it runs with' '
	"$VC" --version >out 2>err && [ ! -s err ] &&
	v=$(sed -n "s/^VERSION *= *//p" "$TOP/Makefile") &&
	{ grep -Eq "^vcrotate $v, (static build|dynamically linked)$" out ||
		{ cat out; fail "the first line of --version"; }; } &&
	expect_grep "^OpenSSL [0-9]*\.[0-9]*\.[0-9]" out &&
	expect_grep "^libldap [0-9]*\.[0-9]*\.[0-9]* (OpenLDAP)$" out &&
	expect_grep "^libgit2 [0-9]*\.[0-9]*\.[0-9]*$" out &&
	expect_grep "^jansson [0-9]*\.[0-9]*" out &&
	expect_eq 5 "$(wc -l <out)" &&
	if grep -q "dynamically linked" out; then
		# The shared libraries here are those pkg-config describes.
		expect_grep "^OpenSSL $(pkg-config --modversion openssl) " out &&
		expect_grep "^libldap $(pkg-config --modversion ldap | sed "s/[+~].*//") " out &&
		expect_grep "^libgit2 $(pkg-config --modversion libgit2)$" out &&
		expect_grep "^jansson $(pkg-config --modversion jansson)$" out &&
		readelf -d "$VC" | grep -q NEEDED
	else
		readelf -d "$VC" 2>&1 | grep -q "no dynamic section"
	fi
'

if command -v mandoc >/dev/null; then
	test_expect 'the man page lints clean (mandoc -Tlint) and renders with man -l' '
		rc=0 && mandoc -Tlint "$MAN" >lint 2>&1 || rc=$?
		[ ! -s lint ] && [ $rc = 0 ] || { cat lint; fail "mandoc -Tlint: exit $rc"; }
		MANPAGER=cat MANWIDTH=80 man -l "$MAN" >page 2>/dev/null &&
		for s in NAME SYNOPSIS DESCRIPTION ENVIRONMENT FILES "EXIT STATUS" EXAMPLES "SEE ALSO"; do
			expect_grep "^$s" page
		done &&
		for c in "${COMMANDS[@]}"; do
			expect_grep "vcrotate \[options\] $c\( \|$\)" page
		done
	'
else
	test_skip 'the man page lints clean (mandoc -Tlint) and renders with man -l' \
	    'mandoc is not installed (tests/deps.sh installs it)'
fi

# The SYNOPSIS of the man page, one entry a line: "COMMAND<tab> --opt ...".
man_synopsis() {
	awk '
	/^\.Sh SYNOPSIS/ { s = 1; next }
	/^\.Sh / { if (s && cmd != "") print cmd "\t" opts; s = 0 }
	!s { next }
	/^\.Nm/ { if (cmd != "") print cmd "\t" opts; cmd = ""; opts = ""; next }
	/^\.Cm / && cmd == "" { cmd = substr($0, 5); next }
	{
		rest = $0
		while (match(rest, /Fl Fl [a-z][-a-z]*/)) {
			opts = opts " --" substr(rest, RSTART + 6, RLENGTH - 6)
			rest = substr(rest, RSTART + RLENGTH)
		}
		if ($0 ~ /Fl o( |$)/)
			opts = opts " -o"
	}' "$MAN"
}

test_expect 'the man page and the help agree: the same commands, the same options' '
	man_synopsis >syn &&
	cut -f1 syn | grep -v "^help$" | sort >man.cmds &&
	sorted "$(printf "%s\n" "${COMMANDS[@]}" | tr " " "_")" | tr "_" " " >want.cmds &&
	{ diff want.cmds man.cmds || fail "the commands of the man page differ"; } &&
	while IFS="	" read -r c o; do
		[ "$c" != help ] || continue
		"$VC" $c --help >out || fail "vcrotate $c --help"
		expect_same "man page SYNOPSIS of $c" "$(own_opts out)" "$(sorted $o)" || fail "$c"
	done <syn &&
	"$VC" help >out &&
	sed -n "/^\.Ss Options of every command/,/^\.Ss /s/^\.It Fl Fl \([a-z-]*\).*/--\1/p" "$MAN" |
	    sort >man.common &&
	expect_same "the man page options of every command" "$(sorted $COMMON --help)" "$(cat man.common)" &&
	expect_same "vcrotate help, options of every command" "$(sorted $COMMON --help)" "$(help_opts out)" &&
	for e in VCROTATE_LDAP_PASSWORD SUDO_USER USER NO_COLOR VCROTATE_FAULT VCROTATE_FAULT_LOG; do
		grep -q "^\.It .*Ev $e\b" "$MAN" || fail "ENVIRONMENT lacks $e"
	done &&
	for g in $(grep -rhoE "getenv\(\"[A-Z_]+\"\)" "$TOP/engine" "$TOP/backup" "$TOP/plans" |
	    sed "s/getenv(\"\(.*\)\")/\1/" | sort -u); do
		grep -q "Ev $g\b" "$MAN" || fail "vcrotate reads $g; the man page does not say"
	done
'

test_done
