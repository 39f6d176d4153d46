#!/bin/bash
# vcrotate renew (issue 18, item 4): unattended renewal on every lab
# scenario (renewed where plan finds something due, untouched and silent
# where not), its exit codes, --dry-run, the hooks and what they learn,
# syslog's lines, the STS credential's validity, and the systemd units.
. "$(dirname "$0")/../lib.sh"

VC=$BUILD/vcrotate
UNATTENDED="vcrotate renew (unattended)"

# hook_script FILE: a hook that writes its environment to FILE.NAME (NAME:
# its first argument) and exits with $HOOK_EXIT_<NAME>'s file, if any.
hook_script() {
	cat >"$1" <<-'EOF'
	#!/bin/sh
	env | sort >"$0.env.$1"
	[ ! -f "$0.exit.$1" ] || exit "$(cat "$0.exit.$1")"
	EOF
	chmod 0755 "$1"
}

# configure LAB HOOK [settings...]: the renew section of LAB's
# configuration file: every hook HOOK, then the settings given.
configure() {
	local conf=$1/etc/vcrotate/vcrotate.conf h=$2 s
	shift 2
	sed -i '/^renew_\|^hook_/d' "$conf"
	printf 'hook_pre = %s pre\nhook_post = %s post\nhook_failure = %s failure\n' \
	    "$h" "$h" "$h" >>"$conf"
	for s in "$@"; do echo "$s" >>"$conf"; done
}

# with_syslog LINES CMD...: CMD with /dev/log a socket whose datagrams go
# to LINES, in a mount namespace of its own (the host's /dev untouched).
with_syslog() {
	local lines=$1 d=$T/syslog.$$ lp rc=0
	shift
	rm -rf "$d" && mkdir -p "$d/dev"
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
open(sys.argv[1] + ".ready", "w").close()
with open(sys.argv[2], "ab", buffering=0) as out:
    while True:
        out.write(s.recv(65536) + b"\n")' "$d/dev/log" "$lines" &
	lp=$!
	while [ ! -e "$d/dev/log.ready" ]; do sleep 0.05; done
	rm -f "$d/dev/log.ready"
	# /dev/shm too: the lab's PostgreSQL server (VCDB) keeps its shared
	# memory there when a restart starts it
	D=$d/dev unshare -m sh -c 'for n in null zero full random urandom tty; do
		touch "$D/$n" && mount --bind "/dev/$n" "$D/$n" || exit 99; done
		mkdir -p "$D/shm" && mount --bind /dev/shm "$D/shm" || exit 99
		mount --bind "$D" /dev || exit 99; exec "$@"' sh "$@" || rc=$?
	sleep 0.2
	kill "$lp" 2>/dev/null
	wait "$lp" 2>/dev/null
	return $rc
}

test_expect 'nothing due (healthy): exit 0, no output, one syslog line (daemon), nothing changed, no backup' '
	l=$T/healthy && lab_create "$l" --scenario healthy >/dev/null && labctl start "$l" >/dev/null 2>&1
	lab_dump "$l" >before.dump &&
	with_syslog sys.lines "$VC" --root "$l" renew >out 2>err &&
	[ ! -s out ] && [ ! -s err ] &&
	lab_dump "$l" >after.dump && cmp before.dump after.dump &&
	[ ! -e "$l/var/lib/vcrotate/backup.git" ] &&
	grep -q "^<30>.*vcrotate\[[0-9]*\]: vcrotate: renew starts (renew within 180 days, scope all)" sys.lines &&
	grep -q "^<30>.*vcrotate: renew: nothing due (renew within 180 days, scope all)" sys.lines &&
	expect_eq 2 "$(wc -l <sys.lines)"
'

test_expect 'renew on every scenario: renewed (plan had steps) or left alone (plan had none), exit 0 either way' '
	scenarios=$(labctl --help 2>&1 | sed -n "s/^scenarios: //p") &&
	[ -n "$scenarios" ] && renewed= && untouched= &&
	for s in $scenarios; do
		l=$T/every-$s
		lab_create "$l" --scenario "$s" >/dev/null && labctl start "$l" >/dev/null 2>&1 || fail "$s: lab"
		prc=0 && "$VC" --root "$l" plan >/dev/null 2>&1 || prc=$?
		lab_dump "$l" >"$s.before"
		rc=0 && "$VC" --root "$l" renew >"$s.out" 2>"$s.err" || rc=$?
		expect_eq "0" "$rc" || { echo "$s:"; tail -5 "$s.out" "$s.err"; fail "$s: renew exit $rc"; }
		if [ "$prc" = 2 ]; then
			[ ! -s "$s.out" ] && [ ! -s "$s.err" ] || fail "$s: nothing due, yet it spoke"
			lab_dump "$l" >"$s.after" && cmp -s "$s.before" "$s.after" || fail "$s: changed"
			untouched="$untouched $s"
		else
			expect_eq 0 "$prc" || fail "$s: plan exit $prc"
			grep -q "^renew: [0-9]* steps due on " "$s.out" || fail "$s: no plan said"
			"$VC" --root "$l" history --json >"$s.h" &&
			jq -e --arg op "$UNATTENDED" ".transactions | length == 1 and
			    .[0].result == \"success\" and .[0].operator == \$op" "$s.h" >/dev/null ||
			    { cat "$s.h"; fail "$s: history"; }
			rc=0 && "$VC" --root "$l" plan >/dev/null 2>&1 || rc=$?
			expect_eq 2 "$rc" || fail "$s: plan still finds something after renew"
			# And once more: now nothing is due.
			"$VC" --root "$l" renew >"$s.again" 2>&1 && [ ! -s "$s.again" ] || fail "$s: second renew"
			renewed="$renewed $s"
		fi
		labctl destroy "$l" >/dev/null 2>&1
	done
	echo "renewed:$renewed; untouched:$untouched"
	for s in sts-expired all-expired root-expired; do
		case "$renewed " in *" $s "*) ;; *) fail "$s not renewed: $renewed" ;; esac
	done
	for s in healthy crl-bloat; do
		case "$untouched " in *" $s "*) ;; *) fail "$s not left alone: $untouched" ;; esac
	done
'

test_expect 'the renewed STS credential lasts vCenter'"'"'s ten years, cut at the VMCA root' '
	l=$T/sts && lab_create "$l" --scenario sts-expired >/dev/null && labctl start "$l" >/dev/null 2>&1
	"$VC" --root "$l" renew >out 2>&1 &&
	pw=$l/var/lib/vmware-lab/admin.password &&
	uri=$(sed -n "s/^ldap_uri=//p" "$l/etc/vcrotate/vcrotate.conf") &&
	ldapsearch -x -H "$uri" -D cn=Administrator,cn=Users,dc=vsphere,dc=local -y "$pw" -LLL -o ldif-wrap=no \
	    -b "cn=TenantCredential-1,cn=vsphere.local,cn=Tenants,cn=IdentityManager,cn=Services,dc=vsphere,dc=local" \
	    -s base userCertificate >cred.ldif &&
	sed -n "s/^userCertificate:: //p" cred.ldif | head -1 | base64 -d | openssl x509 -inform DER -out sts.pem &&
	na=$(date -u -d "$(openssl x509 -noout -enddate -in sts.pem | cut -d= -f2)" +%s) &&
	root_na=$(date -u -d "$(openssl x509 -noout -enddate -in "$l/var/lib/vmware/vmca/root.cer" | cut -d= -f2)" +%s) &&
	now=$(date +%s) &&
	want=$((now + 3650 * 86400)) && [ "$root_na" -lt "$want" ] && want=$root_na
	# Within a minute of what vCenter would give (the run takes seconds).
	[ $((na - want)) -le 60 ] && [ $((want - na)) -le 60 ] ||
	    fail "STS notAfter $na, expected $want (root $root_na)"
	[ $((na - now)) -gt $((731 * 86400)) ] || [ "$na" = "$root_na" ]
'

test_expect 'hooks: pre then post, with the outcome in their environment and nothing else of ours' '
	l=$T/hooks && lab_create "$l" --scenario sts-expired >/dev/null && labctl start "$l" >/dev/null 2>&1
	hook_script "$T/h" && configure "$l" "$T/h" &&
	VCROTATE_LDAP_PASSWORD= SECRET_OF_CALLER=s3cr3t "$VC" --root "$l" renew --ticket CHG-9 >out 2>err &&
	[ -f "$T/h.env.pre" ] && [ -f "$T/h.env.post" ] && [ ! -e "$T/h.env.failure" ] &&
	txn=$("$VC" --root "$l" history --json | jq -r ".transactions[0].transaction") &&
	expect_grep "^VCROTATE_HOOK=pre$" "$T/h.env.pre" &&
	expect_grep "^VCROTATE_TXN=$txn$" "$T/h.env.pre" &&
	expect_grep "^VCROTATE_PLAN_STEPS=[1-9][0-9]*$" "$T/h.env.pre" &&
	expect_grep "^VCROTATE_PLAN_TITLES=a new STS signing credential" "$T/h.env.pre" &&
	! grep -q "^VCROTATE_OUTCOME=" "$T/h.env.pre" &&
	expect_grep "^VCROTATE_HOOK=post$" "$T/h.env.post" &&
	expect_grep "^VCROTATE_OUTCOME=success$" "$T/h.env.post" &&
	expect_grep "^VCROTATE_EXIT=0$" "$T/h.env.post" &&
	expect_grep "^VCROTATE_TXN=$txn$" "$T/h.env.post" &&
	expect_grep "^VCROTATE_APPLIANCE=vcsa1.example.com$" "$T/h.env.post" &&
	expect_grep "^VCROTATE_OPERATOR=$UNATTENDED$" "$T/h.env.post" &&
	expect_grep "^VCROTATE_BEFORE=[0-9a-f]\{40\}$" "$T/h.env.post" &&
	expect_grep "^VCROTATE_AFTER=[0-9a-f]\{40\}$" "$T/h.env.post" &&
	plan_sha=$(sed -n "s/^VCROTATE_PLAN_SHA256=//p" "$T/h.env.post") && [ ${#plan_sha} = 64 ] &&
	# Only our variables, PATH, and what sh itself sets.
	! grep -v "^VCROTATE_[A-Z0-9_]*=\|^PATH=\|^PWD=\|^SHLVL=\|^_=" "$T/h.env.pre" "$T/h.env.post" &&
	! grep -q "s3cr3t\|LDAP_PASSWORD" "$T/h.env.pre" "$T/h.env.post" &&
	# The machine account'"'"'s password (lwregshell'"'"'s registry) is in no hook'"'"'s view.
	pw=$(sed -n "s/^dcAccountPassword=//p" "$l/var/lib/likewise/registry") && [ -n "$pw" ] &&
	! grep -qF "$pw" "$T/h.env.pre" "$T/h.env.post" &&
	"$VC" --root "$l" history | grep -q "operator $UNATTENDED, ticket CHG-9"
'

test_expect 'a failing pre hook: nothing changed, exit 4, the failure hook told; renew then succeeds' '
	l=$T/prefail && lab_create "$l" --scenario sts-expired >/dev/null && labctl start "$l" >/dev/null 2>&1
	hook_script "$T/p" && configure "$l" "$T/p" && echo 3 >"$T/p.exit.pre" &&
	lab_dump "$l" >before.dump &&
	rc=0 && "$VC" --root "$l" renew >out 2>err || rc=$?
	expect_eq 4 "$rc" &&
	expect_grep "refused, nothing was changed: pre hook $T/p: exited 3" err &&
	lab_dump "$l" >after.dump && cmp before.dump after.dump &&
	[ ! -e "$T/p.env.post" ] &&
	expect_grep "^VCROTATE_OUTCOME=refused$" "$T/p.env.failure" &&
	expect_grep "^VCROTATE_EXIT=4$" "$T/p.env.failure" &&
	expect_grep "^VCROTATE_ERROR=pre hook $T/p: exited 3$" "$T/p.env.failure" &&
	[ ! -e "$l/var/lib/vcrotate/journal" ] &&
	rm "$T/p.exit.pre" "$T/p.env.failure" &&
	"$VC" --root "$l" renew >out2 2>&1 && [ -f "$T/p.env.post" ]
'

test_expect 'a failing post hook is said and changes no outcome; a hook others may write is refused' '
	l=$T/postfail && lab_create "$l" --scenario sts-expired >/dev/null && labctl start "$l" >/dev/null 2>&1
	hook_script "$T/q" && configure "$l" "$T/q" && echo 5 >"$T/q.exit.post" &&
	rc=0 && "$VC" --root "$l" renew >out 2>err || rc=$?
	expect_eq 0 "$rc" &&
	expect_grep "post hook $T/q: exited 5 (the outcome stands: success, exit 0)" err &&
	"$VC" --root "$l" history --json | jq -e ".transactions[0].result == \"success\"" >/dev/null &&
	l2=$T/ww && lab_create "$l2" --scenario sts-expired >/dev/null && labctl start "$l2" >/dev/null 2>&1
	hook_script "$T/w" && chmod 0757 "$T/w" && configure "$l2" "$T/w" &&
	rc=0 && "$VC" --root "$l2" renew >out 2>err || rc=$?
	expect_eq 4 "$rc" && expect_grep "pre hook $T/w: writable by its group or others" err &&
	[ ! -e "$T/w.env.pre" ]
'

test_expect 'a regression rolls back: exit 1, the failure hook gets "rolled back"; syslog has start and outcome' '
	l=$T/regr && lab_create "$l" --scenario healthy >/dev/null && labctl start "$l" >/dev/null 2>&1
	hook_script "$T/r" && configure "$l" "$T/r" "renew_within = 100000" "renew_scope = machine-ssl" &&
	lab_dump "$l" >before.dump &&
	labctl fault "$l" service vmware-vpxd >/dev/null &&
	rc=0 && with_syslog sys.lines "$VC" --root "$l" renew >out 2>err || rc=$?
	expect_eq 1 "$rc" &&
	labctl fault "$l" clear >/dev/null &&
	lab_dump "$l" >after.dump && cmp before.dump after.dump &&
	expect_grep "^VCROTATE_OUTCOME=rolled back$" "$T/r.env.failure" &&
	expect_grep "^VCROTATE_EXIT=1$" "$T/r.env.failure" &&
	expect_grep "^VCROTATE_ERROR=.*vmware-vpxd" "$T/r.env.failure" &&
	[ ! -e "$T/r.env.post" ] &&
	expect_grep "vcrotate: renew starts (renew within 100000 days, scope machine-ssl)" sys.lines &&
	expect_grep "^<27>.*vcrotate: renew: rolled back (exit 1, transaction [0-9TZ-]*[0-9a-f]\{6\}, [0-9]* steps)" sys.lines
'

test_expect 'exit codes: locked (5, the failure hook told), a bad setting (4, named), bad usage (64)' '
	l=$T/codes && lab_create "$l" --scenario sts-expired >/dev/null && labctl start "$l" >/dev/null 2>&1
	hook_script "$T/c" && configure "$l" "$T/c" &&
	mkdir -p "$l/var/lib/vcrotate" && : >"$l/var/lib/vcrotate/lock" &&
	{ flock -o "$l/var/lib/vcrotate/lock" sleep 30 & } && holder=$! &&
	for i in $(seq 50); do ! flock -n "$l/var/lib/vcrotate/lock" true || { sleep 0.1; continue; }; break; done &&
	rc=0 && "$VC" --root "$l" renew >out 2>err || rc=$?
	kill $holder; wait $holder 2>/dev/null || :
	expect_eq 5 "$rc" && expect_grep "holds the lock" err &&
	expect_grep "^VCROTATE_EXIT=5$" "$T/c.env.failure" &&
	configure "$l" "$T/c" "renew_scope = everything" &&
	rc=0 && "$VC" --root "$l" renew >out 2>err || rc=$?
	expect_eq 4 "$rc" && expect_grep "unknown scope .everything." err &&
	configure "$l" "$T/c" "hook_post = notify-send done" &&
	rc=0 && "$VC" --root "$l" renew >out 2>err || rc=$?
	expect_eq 4 "$rc" && expect_grep "hook_post must be a program.s absolute path" err &&
	rc=0 && "$VC" --root "$l" renew --frobnicate >out 2>err || rc=$?
	expect_eq 64 "$rc"
'

test_expect '--dry-run: says what is due and which hooks would run, runs none, changes nothing' '
	l=$T/dry && lab_create "$l" --scenario sts-expired >/dev/null && labctl start "$l" >/dev/null 2>&1
	hook_script "$T/d" && configure "$l" "$T/d" &&
	lab_dump "$l" >before.dump &&
	"$VC" --root "$l" renew --dry-run >out 2>err &&
	expect_grep "^dry run: due on vcsa1.example.com" out &&
	expect_grep "^Step 1: a new STS signing credential" out &&
	expect_grep "^dry run: the pre hook would run: $T/d pre$" out &&
	expect_grep "^dry run: these changes would be made" out &&
	lab_dump "$l" >after.dump && cmp before.dump after.dump &&
	[ ! -e "$l/var/lib/vcrotate/backup.git" ] &&
	! ls "$T"/d.env.* 2>/dev/null
'

test_expect 'make install puts a service and a timer that systemd-analyze verify passes (and fails when broken)' '
	command -v systemd-analyze >/dev/null || fail "no systemd-analyze"
	inst=$T/inst &&
	make -s -C "$TOP" B="$BUILD" PREFIX="$inst" install >make.out 2>&1 &&
	u=$inst/lib/systemd/system && [ -f "$u/vcrotate-renew.service" ] && [ -f "$u/vcrotate-renew.timer" ] &&
	expect_grep "^ExecStart=$inst/bin/vcrotate renew$" "$u/vcrotate-renew.service" &&
	expect_grep "^Unit=\|^OnCalendar=" "$u/vcrotate-renew.timer" &&
	(cd "$u" && MANPATH=$inst/share/man systemd-analyze verify ./vcrotate-renew.service ./vcrotate-renew.timer) >verify.out 2>&1 ||
	    { cat verify.out; fail "verify"; }
	[ ! -s verify.out ] || { cat verify.out; fail "verify said something"; }
	# The check can fail: a typo is said, a missing program fails it.
	mkdir typo missing && cp "$u/vcrotate-renew.timer" typo/ && cp "$u/vcrotate-renew.timer" missing/ &&
	sed "s/^Type=oneshot/Type=oneshoot/" "$u/vcrotate-renew.service" >typo/vcrotate-renew.service &&
	(cd typo && MANPATH=$inst/share/man systemd-analyze verify ./vcrotate-renew.service ./vcrotate-renew.timer) >typo.out 2>&1 &&
	expect_grep "Failed to parse service type" typo.out &&
	sed "s|^ExecStart=.*|ExecStart=$inst/bin/vcrotate-missing renew|" "$u/vcrotate-renew.service" >missing/vcrotate-renew.service &&
	! (cd missing && MANPATH=$inst/share/man systemd-analyze verify ./vcrotate-renew.service ./vcrotate-renew.timer) >/dev/null 2>&1
'

test_done
