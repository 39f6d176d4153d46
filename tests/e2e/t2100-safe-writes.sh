#!/bin/bash
# Safe writes (issue 16, items 3 and 5): every file vcrotate creates is
# created with O_EXCL|O_NOFOLLOW in its final directory, so a symlink or a
# file planted at the temporary name (PATH.tmp.PID) or at the destination
# is never written through; a destination directory another user can write
# is refused unless it is sticky and the file there is ours, and so is one
# another user owns or could rename away (one above it theirs or writable
# by them and not sticky); and vcrotate is
# not dumpable and has no core limit, so a crash leaves no core holding keys.
#
# The temporary name holds vcrotate's PID: each command is run as
# sh -c '... plant at NAME.tmp.$$ ...; exec vcrotate ...', which gives it
# the PID the shell had. The VMCA files' temporary names are planted by a
# wrapped vecs-cli when the new root is published (after apply has swept
# leftovers, before the files are written), with vcrotate's PID ($PPID).
# "Nothing else changed" is checked on victim files (content, mode, owner)
# that the planted links point to.
. "$(dirname "$0")/../lib.sh"

VC=$BUILD/vcrotate
L=$T/lab
V=$T/victims
NOBODY=65534
SETPRIV="setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups"
as_nobody() { $SETPRIV "$@"; }

# The victims: root's files that nothing may change, one per planted link.
victims() {
	mkdir -p "$V" &&
	for f in prom prom2 plan plan2 journal vmca lock; do
		printf "victim %s, root's, mode 0600\n" "$f" >"$V/$f" && chmod 600 "$V/$f"
	done &&
	printf "victim mode 0644\n" >"$V/pub" && chmod 644 "$V/pub" &&
	state >"$T/victims.before"
}
state() { (cd "$V" && for f in *; do printf "%s %s %s " "$f" "$(stat -c "%a %u %h" "$f")" "$(cat "$f")"; echo; done); }
# Fails naming what changed.
victims_untouched() {
	state >"$T/victims.after" &&
	diff -u "$T/victims.before" "$T/victims.after" >&2 || fail "a file outside the destination changed"
}

# regular FILE MODE [UID]: FILE is a regular file (not a link), of that mode.
regular() {
	[ ! -L "$1" ] || fail "$1 is a symlink (to $(readlink "$1"))"
	[ -f "$1" ] || fail "$1 is not a regular file"
	expect_eq "$2 ${3:-0}" "$(stat -c "%a %u" "$1")" || fail "$1: mode or owner"
}

# run SHELLCODE ARGS...: vcrotate ARGS with the PID that SHELLCODE sees as
# $$ (it plants files named after it); stdout and stderr to $T/out and
# $T/err; returns vcrotate's exit status.
run() {
	local code=$1
	shift
	sh -c "$code"' && exec "$0" "$@"' "$VC" "$@" >"$T/out" 2>"$T/err"
}

# vc ARGS...: vcrotate ARGS, stdout and stderr to $T/out and $T/err.
vc() { "$VC" "$@" >"$T/out" 2>"$T/err"; }

# exits N COMMAND...: COMMAND must exit N; the test ends (fail) if not.
# Each test is one && chain: a command failing in the middle of a chain
# that is not the test's last would not stop it (set -e).
exits() {
	local want=$1 rc=0
	shift
	"$@" || rc=$?
	[ "$rc" = "$want" ] || fail "exit $rc, expected $want: $*"
}

# wait_blocked PIDFILE: until the process whose PID is in PIDFILE waits
# for a FIFO's writer (10 s at most).
wait_blocked() {
	local n=0
	until [ -s "$1" ] && [ "$(cat "/proc/$(cat "$1")/wchan" 2>/dev/null)" = wait_for_partner ]; do
		[ $n -lt 100 ] || fail "$(cat "$1" 2>/dev/null) never blocked on the FIFO"
		sleep 0.1
		n=$((n + 1))
	done
}

test_expect 'a root-expired lab, root-owned victims' '
	lab_create "$L" --scenario root-expired >/dev/null &&
	{ labctl start "$L" >/dev/null 2>&1 || :; } &&
	victims &&
	# nobody plants in the sticky directories below
	chmod 711 "$T"
'

test_expect 'check --prometheus: a symlink or a file planted at the temporary name is never written through' '
	mkdir -m 755 own && mkdir -m 1777 sticky &&
	exits 2 run "ln -s $V/prom own/m.prom.tmp.\$\$" --root "$L" check --prometheus own/m.prom &&
	regular own/m.prom 644 &&
	grep -q "^vcrotate_check_status{appliance=\"vcsa1.example.com\"} 2$" own/m.prom &&
	# the planted link is left as it was, and named
	expect_eq "$V/prom" "$(readlink own/m.prom.tmp.*)" &&
	expect_grep "own/m.prom.tmp.[0-9]* exists .*not written through" "$T/err" &&
	# Another user plants in /tmp: their symlink, then their file.
	exits 2 run "$SETPRIV ln -s $V/prom2 sticky/m.prom.tmp.\$\$" --root "$L" check --prometheus sticky/m.prom &&
	regular sticky/m.prom 644 &&
	expect_eq "$V/prom2" "$(readlink sticky/m.prom.tmp.*)" &&
	exits 2 run "$SETPRIV sh -c \"echo theirs >sticky/f.prom.tmp.\$\$\"" --root "$L" check --prometheus sticky/f.prom &&
	grep -q "^vcrotate_check_status{appliance=\"vcsa1.example.com\"} 2$" sticky/f.prom &&
	expect_eq "theirs 644 $NOBODY" "$(cat sticky/f.prom.tmp.*) $(stat -c "%a %u" sticky/f.prom.tmp.*)" &&
	victims_untouched
'

test_expect 'check --prometheus: a directory others can write, not sticky, is refused by name' '
	mkdir -m 777 open && mkdir -m 775 grp &&
	exits 3 vc --root "$L" check --prometheus open/m.prom &&
	expect_grep "refusing to write open/m.prom: the directory open is writable by its group and every user (mode 0777) and not sticky" "$T/err" &&
	expect_eq "" "$(ls -A open)" &&
	exits 3 vc --root "$L" check --prometheus grp/m.prom &&
	expect_grep "the directory grp is writable by its group (mode 0775) and not sticky" "$T/err" &&
	expect_eq "" "$(ls -A grp)"
'

test_expect 'check --prometheus: a directory another user owns, or could rename away, is refused by name' '
	mkdir -m 755 theirs && chown $NOBODY theirs &&
	exits 3 vc --root "$L" check --prometheus theirs/m.prom &&
	expect_grep "refusing to write theirs/m.prom: the directory theirs belongs to uid $NOBODY" "$T/err" &&
	expect_eq "" "$(ls -A theirs)" &&
	# root'"'"'s directory inside theirs: they can rename it and put one of theirs there
	mkdir -m 755 theirs/ours &&
	exits 3 vc --root "$L" check --prometheus theirs/ours/m.prom &&
	expect_grep "refusing to write theirs/ours/m.prom: a directory above theirs/ours belongs to uid $NOBODY" "$T/err" &&
	expect_eq "" "$(ls -A theirs/ours)" &&
	# root'"'"'s directory inside one every user can write, not sticky
	mkdir -m 777 wide && mkdir -m 755 wide/ours &&
	exits 3 vc --root "$L" check --prometheus wide/ours/m.prom &&
	expect_grep "refusing to write wide/ours/m.prom: a directory above wide/ours is writable by its group and every user (mode 0777) and not sticky" "$T/err" &&
	expect_eq "" "$(ls -A wide/ours)" &&
	# inside a sticky one (/tmp), ours: written
	mkdir -m 1777 sticky2 && mkdir -m 700 sticky2/ours &&
	exits 2 vc --root "$L" check --prometheus sticky2/ours/m.prom &&
	regular sticky2/ours/m.prom 644
'

test_expect 'check --prometheus: in a sticky directory, a file of another user is not replaced; ours is' '
	mkdir -m 1777 tmp && echo "theirs" >tmp/m.prom && chown $NOBODY tmp/m.prom && chmod 600 tmp/m.prom &&
	exits 3 vc --root "$L" check --prometheus tmp/m.prom &&
	expect_grep "refusing to replace tmp/m.prom: it belongs to uid $NOBODY, not to us (uid 0), in tmp, a directory others can write (mode 1777)" "$T/err" &&
	expect_eq "theirs 600 $NOBODY" "$(cat tmp/m.prom) $(stat -c "%a %u" tmp/m.prom)" &&
	expect_eq "m.prom" "$(ls -A tmp)" &&
	# their symlink at the destination: refused too (it is theirs)
	as_nobody ln -s "$V/prom" tmp/l.prom &&
	exits 3 vc --root "$L" check --prometheus tmp/l.prom &&
	expect_grep "refusing to replace tmp/l.prom: it belongs to uid $NOBODY" "$T/err" &&
	expect_eq "$V/prom" "$(readlink tmp/l.prom)" &&
	# a file of ours there is replaced
	echo ours >tmp/o.prom &&
	exits 2 vc --root "$L" check --prometheus tmp/o.prom &&
	grep -q "^vcrotate_check_status{appliance=\"vcsa1.example.com\"} 2$" tmp/o.prom &&
	victims_untouched
'

test_expect 'plan -o: links at the temporary name and at the destination; the target stays as it was' '
	mkdir -m 700 plans &&
	ln -s "$V/pub" plans/p.plan &&
	exits 0 run "ln -s $V/plan plans/p.plan.tmp.\$\$" --root "$L" plan -o plans/p.plan &&
	# the destination link itself was replaced (rename does not follow)
	regular plans/p.plan 600 &&
	exits 0 vc --root "$L" plan show plans/p.plan &&
	expect_eq "$V/plan" "$(readlink plans/p.plan.tmp.*)" &&
	victims_untouched
'

test_expect 'plan -o: refused into a directory others can write (not sticky), and over another user'"'"'s file' '
	mkdir -m 777 shared && mkdir -m 1777 stk && echo theirs >stk/p.plan && chown $NOBODY stk/p.plan &&
	exits 1 vc --root "$L" plan -o shared/p.plan &&
	expect_grep "refusing to write shared/p.plan: the directory shared is writable" "$T/err" &&
	expect_eq "" "$(ls -A shared)" &&
	exits 1 vc --root "$L" plan -o stk/p.plan &&
	expect_grep "refusing to replace stk/p.plan: it belongs to uid $NOBODY" "$T/err" &&
	expect_eq theirs "$(cat stk/p.plan)"
'

test_expect 'the appliance lock: a symlink or a second link is refused, never truncated' '
	j=$L/var/lib/vcrotate && mkdir -p -m 700 "$j" && rm -f "$j/lock" && ln -s "$V/lock" "$j/lock" &&
	exits 3 vc --root "$L" recover &&
	expect_grep "$j/lock: a symlink: refusing to follow it" "$T/err" &&
	rm "$j/lock" && ln "$V/lock" "$j/lock" &&
	exits 3 vc --root "$L" recover &&
	expect_grep "$j/lock: not a lock file of ours" "$T/err" &&
	rm "$j/lock" && expect_eq "1" "$(stat -c %h "$V/lock")" &&
	victims_untouched &&
	exits 0 vc --root "$L" recover
'

test_expect 'apply (a new VMCA root): links at the journal'"'"'s and the VMCA files'"'"' temporary names are not followed' '
	exits 0 vc --root "$L" plan -o root.plan &&
	# vecs-cli wrapped: when the new root is published, just before the
	# VMCA files are written, it plants links at their temporary names.
	b=$L/usr/lib/vmware-vmafd/bin && mkdir -p "$L/.real" && mv "$b/vecs-cli" "$L/.real/vecs-cli" &&
	printf "#!/bin/sh\ncase \" \$* \" in *\" create --store TRUSTED_ROOTS \"*)\n\tfor f in privatekey.pem root.cer; do ln -s %s %s/\$f.tmp.\$PPID; done ;;\nesac\nVCROTATE_LAB_ROOT=%s exec %s \"\$@\"\n" \
	    "$V/vmca" "$L/var/lib/vmware/vmca" "$L" "$L/.real/vecs-cli" >"$b/vecs-cli" &&
	chmod 755 "$b/vecs-cli" &&
	j=$L/var/lib/vcrotate && mkdir -p -m 700 "$j" &&
	exits 0 run "ln -s $V/journal $j/journal.tmp.\$\$" --root "$L" apply root.plan --yes &&
	# the links were there, at the names the code tried first
	expect_grep "vmca/privatekey.pem.tmp.[0-9]* exists .*not written through" "$T/err" &&
	expect_grep "vmca/root.cer.tmp.[0-9]* exists .*not written through" "$T/err" &&
	expect_grep "vcrotate/journal.tmp.[0-9]* exists .*not written through" "$T/err" &&
	expect_eq "$V/journal" "$(readlink "$j"/journal.tmp.*)" &&
	# the VMCA files are the new root and its key, files of their own
	k=$L/var/lib/vmware/vmca/privatekey.pem && c=$L/var/lib/vmware/vmca/root.cer &&
	regular "$k" 600 && regular "$c" 644 &&
	openssl x509 -in "$c" -noout -checkend 86400 >/dev/null &&
	expect_eq "$(openssl x509 -in "$c" -noout -pubkey)" "$(openssl pkey -in "$k" -pubout)" &&
	[ ! -e "$j/journal" ] &&
	victims_untouched
'

test_expect 'apply: key material only under a var/lib/vcrotate of ours that nobody else can write' '
	l=$T/priv && lab_create "$l" --scenario sts-expired >/dev/null && labctl start "$l" >/dev/null 2>&1
	"$VC" --root "$l" plan -o priv.plan >/dev/null &&
	"$VC" --root "$l" backup snapshot >/dev/null &&
	lab_dump "$l" >priv.before &&
	chmod 0775 "$l/var/lib/vcrotate" &&
	exits 4 vc --root "$l" apply priv.plan --yes &&
	expect_grep "refusing to put key material under $l/var/lib/vcrotate: it must be a directory of uid 0 that only it can write (it is a directory, uid 0, mode 0775)" "$T/err" &&
	chmod 0700 "$l/var/lib/vcrotate" &&
	mv "$l/var/lib/vcrotate" "$l/var/lib/vcrotate.real" && ln -s vcrotate.real "$l/var/lib/vcrotate" &&
	exits 4 vc --root "$l" apply priv.plan --yes &&
	expect_grep "it is a symbolic link" "$T/err" &&
	rm "$l/var/lib/vcrotate" && mv "$l/var/lib/vcrotate.real" "$l/var/lib/vcrotate" &&
	lab_dump "$l" | diff -u priv.before - &&
	vc --root "$l" apply priv.plan --yes
'

test_expect 'at start, before any secret is read: not dumpable, core limit 0 (strace)' '
	echo secret >pw && chmod 600 pw &&
	{ strace -f -e trace=prctl,prlimit64,setrlimit,openat -o trace \
	    "$VC" --root "$L" --bind-dn cn=x --password-file "$T/pw" check >/dev/null 2>&1 || :; } &&
	p=$(grep -n "openat(.*\"$T/pw\"" trace | head -1 | cut -d: -f1) && [ -n "$p" ] &&
	d=$(grep -n "prctl(PR_SET_DUMPABLE, SUID_DUMP_DISABLE) = 0" trace | head -1 | cut -d: -f1) &&
	c=$(grep -n "RLIMIT_CORE, {rlim_cur=0, rlim_max=0}.* = 0" trace | head -1 | cut -d: -f1) &&
	{ [ -n "$d" ] && [ -n "$c" ] && [ "$d" -lt "$p" ] && [ "$c" -lt "$p" ] ||
		fail "no prctl(PR_SET_DUMPABLE, 0) and RLIMIT_CORE 0 before the password file is read: $(grep -v openat trace)"; }
'

test_expect 'a running vcrotate is not dumpable and has core limit 0 (/proc)' '
	# Run as nobody (as root every /proc file is root'"'"'s anyway), from a
	# shell with core dumps on, blocked reading its password from a FIFO.
	mkdir -m 755 fifo && mkfifo -m 644 fifo/pw &&
	{ sh -c "ulimit -c unlimited && echo \$\$ >fifo/pid && exec $SETPRIV \"\$0\" \"\$@\"" \
	    "$VC" --root /nonexistent --bind-dn cn=x --password-file "$T/fifo/pw" check >fifo/out 2>&1 & } &&
	wait_blocked fifo/pid && pid=$(cat fifo/pid) &&
	grep "^Uid:" /proc/$pid/status | grep -q "	$NOBODY	" &&
	owner=$(stat -c %u /proc/$pid/status) && core=$(grep "^Max core file size" /proc/$pid/limits) &&
	echo pw >fifo/pw && wait &&
	echo "owner of /proc/$pid/status: $owner; $core" &&
	expect_eq 0 "$owner" &&
	echo "$core" | grep -q "^Max core file size *0 *0 "
'

test_done
