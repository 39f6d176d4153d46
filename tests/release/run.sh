#!/bin/bash
# run.sh - make test-release: the release binary where an appliance would
# run it, with nothing to lean on. Each vcrotate command runs in an empty
# root: a chroot, in a mount namespace of its own, holding only the binary
# (/vcrotate), a lab (bind-mounted at its own path), /dev/null, /dev/urandom
# and an empty /tmp (and /proc, for the lab's programs): no /lib, no
# /etc/ssl, no /etc/passwd, no shell. The
# lab's programs are the release build's own static ones
# (build/release/static/lab); the lab's slapd, a dynamic Debian program,
# runs there through a private copy of its loader and libraries inside the
# lab (slapd_sys in lab.conf, see service-control.c exec_slapd).
#
# check, plan, apply, backup, history, rollback and recover are run on an
# all-expired lab; what they did is read back from outside with ldapsearch,
# vecs-cli and git. A control run shows the root is empty: the ordinary
# (dynamic) build cannot start there.
export VCROTATE_BUILD=build/release/static
. "$(dirname "$0")/../lib.sh"

REL=$TOP/build/release
BIN=$(ls "$REL"/vcrotate-*-linux-x86_64 2>/dev/null | head -n 1)
if [ -z "$BIN" ] || [ ! -x "$BUILD/vcrotate" ]; then
	echo "Bail out! no release build: run make release first"
	exit 1
fi
E=$T/root
L=$T/lab

# inroot [VAR=value ...] ARGS...: /vcrotate ARGS in the empty root, with no
# environment but the given variables; its output and exit status. The
# lab's own programs tell their daemons apart in /proc (an appliance has
# one), so the namespace mounts it; NOPROC=1 leaves it out, and the lab's
# programs then find their lab through VCROTATE_LAB_ROOT.
inroot() {
	local envs=() proc=proc
	while [ $# -gt 0 ] && [[ $1 == *=* ]]; do envs+=("$1"); shift; done
	[ -z "${NOPROC:-}" ] || { envs+=("VCROTATE_LAB_ROOT=$L"); proc=; }
	unshare -m --propagation private /bin/sh -c '
		E=$1 L=$2 P=$3
		shift 3
		mount --bind /dev/null "$E/dev/null" &&
		mount --bind /dev/urandom "$E/dev/urandom" &&
		mount -t tmpfs -o size=16m,mode=1777 tmpfs "$E/tmp" &&
		mkdir -p "$E$L" && mount --bind "$L" "$E$L" &&
		{ [ -z "$P" ] || { mkdir -p "$E/proc" && mount -t proc proc "$E/proc"; }; } ||
			{ echo "inroot: cannot make the empty root" >&2; exit 125; }
		exec "$@"' inroot "$E" "$L" "$proc" \
	    /usr/bin/env -i "${envs[@]}" /usr/sbin/chroot "$E" /vcrotate "$@"
}

# What is in the empty root, from inside (the control program's listing).
root_listing() { (cd "$E" && find . -mindepth 1 -maxdepth 2 | sort); }

# The lab's slapd through a private loader: DIR/slapd (ld.so), slapd.bin,
# lib/ (every library slapd and back_mdb need), ldap/ (the module).
private_slapd() {
	local sys=$L/var/lib/vmware-lab/sys lib
	mkdir -p "$sys/lib" "$sys/ldap" &&
	cp /usr/sbin/slapd "$sys/slapd.bin" &&
	cp /lib64/ld-linux-x86-64.so.2 "$sys/slapd" &&
	cp -L /usr/lib/ldap/back_mdb.so* "$sys/ldap/" 2>/dev/null ||
		cp -L /usr/lib/ldap/back_mdb*.so* "$sys/ldap/" || return 1
	for lib in $(ldd /usr/sbin/slapd "$sys"/ldap/back_mdb*.so* |
	    awk '$3 ~ /^\// { print $3 }' | sort -u); do
		cp -L "$lib" "$sys/lib/" || return 1
	done
	sed -i "s|^modulepath.*|modulepath	$sys/ldap|" \
	    "$L/storage/db/vmware-vmdir/slapd.conf" &&
	echo "slapd_sys=var/lib/vmware-lab/sys" >>"$L/var/lib/vmware-lab/lab.conf"
}

test_expect 'the release binary: static, no dynamic section, under 10 MB, its checksum' '
	file "$BIN" | grep -q "statically linked" &&
	! readelf -d "$BIN" | grep -q "Dynamic section" &&
	[ "$(stat -c %s "$BIN")" -le 10485760 ] &&
	(cd "$REL" && sha256sum -c "$(basename "$BIN").sha256" >/dev/null) &&
	! readelf -d "$BUILD/vcrotate" | grep -q "Dynamic section"
'

test_expect 'an empty root: the binary, a lab, /dev/null, /dev/urandom, /tmp, nothing else' '
	# No VCDB: a PostgreSQL server cannot run in the empty root (its
	# libraries, share/ and a passwd entry); the lab is then an appliance
	# without one, as an external PSC is.
	lab_create "$L" --scenario all-expired --no-vcdb >/dev/null &&
	private_slapd &&
	labctl stop "$L" >/dev/null 2>&1; labctl start "$L" >/dev/null 2>&1
	ps -o comm= -p "$(cat "$L/storage/db/vmware-vmdir/slapd.pid")" | grep -qx slapd &&
	mkdir -p "$E/dev" "$E/tmp" &&
	touch "$E/dev/null" "$E/dev/urandom" &&
	cp "$BIN" "$E/vcrotate" &&
	root_listing >got &&
	printf "%s\n" ./dev ./dev/null ./dev/urandom ./tmp ./vcrotate >want &&
	diff -u want got
'

test_expect 'the dynamic build cannot even start there (the control)' '
	cp "$TOP/build/vcrotate" "$E/vcrotate.dyn" &&
	rc=0 && /usr/sbin/chroot "$E" /vcrotate.dyn --version >out 2>&1 || rc=$?
	rm -f "$E/vcrotate.dyn" &&
	[ "$rc" -ne 0 ]
'

test_expect '--version there: the libraries it carries, and the static build' '
	inroot --version >v.out 2>&1 &&
	grep -qi "openssl 3" v.out &&
	grep -qi "static" v.out &&
	grep -q "^mimalloc 2\.0\.9 (malloc)$" v.out
'

test_expect 'its malloc is mimalloc, not musl'"'"'s: malloc and free are mi_malloc and mi_free' '
	nm "$BUILD/vcrotate" >syms &&
	m=$(awk "\$3 == \"malloc\" { print \$1 }" syms) &&
	mi=$(awk "\$3 == \"mi_malloc\" { print \$1 }" syms) &&
	f=$(awk "\$3 == \"free\" { print \$1 }" syms) &&
	mf=$(awk "\$3 == \"mi_free\" { print \$1 }" syms) &&
	[ -n "$m" ] && expect_eq "$mi" "$m" &&
	[ -n "$f" ] && expect_eq "$mf" "$f"
'

test_expect 'check there, not even /proc: all-expired is CRITICAL (exit 2), every part read' '
	rc=0 && NOPROC=1 inroot --root "$L" check --json >c.json 2>c.err || rc=$?
	expect_eq 2 "$rc" &&
	jq -e ".findings | length > 5" c.json >/dev/null &&
	jq -e "[.findings[] | select(.code == \"EXPIRED\")] | length > 0" c.json >/dev/null
'

test_expect 'plan, then apply there: one transaction, check clean afterwards' '
	inroot --root "$L" plan -o "$L/var/tmp.plan" >plan.out 2>&1 &&
	inroot --root "$L" apply "$L/var/tmp.plan" --yes --operator rel --ticket CHG-9 >apply.out 2>&1 &&
	grep -q "done: transaction" apply.out &&
	rc=0 && inroot --root "$L" check >check.out 2>&1 || rc=$?
	expect_eq 0 "$rc"
'

test_expect 'backup and history there; the repository reads back with git outside' '
	inroot --root "$L" backup snapshot --ticket CHG-9 >snap.out 2>&1 &&
	inroot --root "$L" backup list >list.out 2>&1 &&
	inroot --root "$L" backup verify >verify.out 2>&1 &&
	inroot --root "$L" history >hist.out 2>&1 &&
	grep -q " success " hist.out &&
	git --git-dir="$L/var/lib/vcrotate/backup.git" fsck --strict >/dev/null 2>&1 &&
	git --git-dir="$L/var/lib/vcrotate/backup.git" log --format=%B | grep -q "^Ticket: CHG-9$"
'

test_expect 'rollback there: the before state again, byte for byte' '
	txn=$(inroot --root "$L" history | awk "/ success / { print \$4; exit }") &&
	[ -n "$txn" ] &&
	before=$(inroot --root "$L" history --json | jq -r --arg t "$txn" ".transactions[] | select(.transaction == \$t) | .before") &&
	inroot --root "$L" rollback "$txn" >rb.out 2>&1 &&
	inroot --root "$L" backup restore "$before" --dry-run >dry.out 2>&1 &&
	grep -q "^0 changes would be made" dry.out &&
	rc=0 && inroot --root "$L" check >/dev/null 2>&1 || rc=$?
	expect_eq 2 "$rc"
'

test_expect 'apply killed mid-way there, then recover there: consistent' '
	inroot --root "$L" plan -o "$L/var/tmp2.plan" >/dev/null 2>&1 &&
	rc=0 && inroot VCROTATE_FAULT=crash-after:5 --root "$L" apply "$L/var/tmp2.plan" --yes >crash.out 2>&1 || rc=$?
	[ "$rc" -ne 0 ] &&
	[ -e "$L/var/lib/vcrotate/journal" ] &&
	inroot --root "$L" recover >rec.out 2>&1 &&
	[ ! -e "$L/var/lib/vcrotate/journal" ] &&
	rc=0 && inroot --root "$L" check >/dev/null 2>&1 || rc=$?
	[ "$rc" = 0 ] || [ "$rc" = 2 ]
'

test_done
