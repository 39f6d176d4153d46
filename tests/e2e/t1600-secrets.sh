#!/bin/bash
# Secrets on the lab: no private key, STS key or password in the command
# line (or environment) of any process vcrotate starts, in anything a full
# run prints or logs, in the plan, the journal or the backup's commit
# messages; no key file left behind after success, failure or a crash.
#
# The processes are seen by strace (every execve of vcrotate's children,
# with arguments and environment); the secrets are read from the lab by
# the appliance's own tools, before and after the change.
. "$(dirname "$0")/../lib.sh"

VC=$BUILD/vcrotate
L=$T/lab
ADMIN_DN=cn=Administrator,cn=Users,dc=vsphere,dc=local

# secrets LAB: one fixed string a line that must never be seen: the
# passwords, and the start of every line of every key (VECS keys, the VMCA
# key, the STS keys as vmdir holds them, base64 wrapped as PEM wraps it).
secrets() {
	local l=$1 v=$1/usr/lib/vmware-vmafd/bin/vecs-cli s a uri
	sed -n 's/^dcAccountPassword=//p' "$l/var/lib/likewise/registry" | sed 's/\\\\/\\/g'
	cat "$l/var/lib/vmware-lab/admin.password"; echo
	{
		for s in $($v store list); do
			$v entry list --store "$s" --aliases | tail -n +2 | while IFS= read -r a; do
				$v entry getkey --store "$s" --alias "$a" 2>/dev/null || :
			done
		done
		cat "$l/var/lib/vmware/vmca/privatekey.pem"
		uri=$(sed -n "s/^ldap_uri=//p" "$l/etc/vcrotate/vcrotate.conf")
		ldapsearch -x -H "$uri" -D "$ADMIN_DN" -y "$l/var/lib/vmware-lab/admin.password" \
		    -LLL -o ldif-wrap=no -b dc=vsphere,dc=local "(objectClass=vmwSTSTenantCredential)" \
		    vmwSTSPrivateKey | sed -n 's/^vmwSTSPrivateKey:: //p' | fold -w 64
	} | grep -v -- "-----" | awk 'length($0) >= 40 { print substr($0, 1, 40) }'
}

# leaks FILE...: the secrets (of $T/secrets) found in the files.
leaks() { grep -F -f "$T/secrets" "$@" /dev/null 2>/dev/null | cut -c1-120; }

test_expect 'a lab with secrets to look for' '
	lab_create "$L" --scenario all-expired >/dev/null &&
	labctl start "$L" >/dev/null 2>&1 || :
	secrets "$L" >secrets &&
	n=$(wc -l <secrets) && [ "$n" -gt 20 ] || fail "only $n secrets found"
'

test_expect 'no secret in the argv or environment of any process vcrotate starts (check, plan, apply, history)' '
	trace() { local n=$1; shift; strace -f -b execve -v -s 65536 -e trace=execve -o "$T/argv.$n" "$@"; }
	out=$T/run.out &&
	{ trace check "$VC" --root "$L" check; trace plan "$VC" --root "$L" plan -o "$T/p.plan"; } >"$out" 2>&1 || :
	VCROTATE_FAULT_LOG=$T/points trace apply "$VC" --root "$L" apply "$T/p.plan" --ticket CHG-7 >>"$out" 2>&1 &&
	trace history "$VC" --root "$L" history >>"$out" 2>&1 &&
	cat argv.* >argv.all &&
	# The capture sees what it must: key files handed over by path.
	grep -q "\"entry\", \"create\",.*\"--key\", \"[^\"]*/apply\.[^/\"]*/key\.pem\"" argv.all ||
		fail "no vecs-cli entry create --key FILE in the trace" &&
	grep -q "service-control\", \"--stop\", \"--all\"" argv.all &&
	secrets "$L" >>secrets &&
	found=$(leaks argv.all) && [ -z "$found" ] || fail "secrets in argv or environment: $found"
'

test_expect 'a password from VCROTATE_LDAP_PASSWORD reaches no child process, whatever the command' '
	pw=$(cat "$L/var/lib/vmware-lab/admin.password") &&
	printf "%s\n" "$pw" >pw.file && chmod 600 pw.file &&
	"$VC" --root "$L" plan --scope sts --renew-within 100000 -o sts.plan >/dev/null &&
	# By the login each names: --bind-dn with the variable, with a file
	# (the variable then unused), the machine account (the same).
	for run in "--bind-dn $ADMIN_DN check" "--bind-dn $ADMIN_DN --password-file $T/pw.file check" \
	    "check" "plan -o $T/p2.plan" "backup snapshot" "--bind-dn $ADMIN_DN apply $T/sts.plan" \
	    "recover" "history"; do
		rm -f argv.env &&
		{ VCROTATE_LDAP_PASSWORD=$pw strace -f -b execve -v -s 65536 -e trace=execve -o argv.env \
		    "$VC" --root "$L" $run >/dev/null 2>&1 || :; } &&
		[ -s argv.env ] && n=$(grep -c -F -- "$pw" argv.env) &&
		# Only vcrotate'"'"'s own environment holds it (the first execve).
		expect_eq 1 "$n" && ! grep -v "\"$VC\"" argv.env | grep -q -F -- "$pw" ||
			fail "vcrotate $run: the password reached a child"
	done &&
	[ "$(grep -c "execve(" argv.env)" -ge 1 ]
'

test_expect 'no secret in anything a full run printed, the plan, the logs, the commit messages' '
	"$VC" --root "$L" check --json >>run.out 2>&1 || :
	"$VC" --root "$L" backup list >>run.out 2>&1 &&
	"$VC" --root "$L" backup show snapshots >>run.out 2>&1 &&
	git --git-dir="$L/var/lib/vcrotate/backup.git" log --format=%B >commits &&
	[ -s run.out ] && [ -s commits ] &&
	found=$(leaks run.out p.plan commits "$L"/var/log/vmware-lab/*) &&
	[ -z "$found" ] || fail "secrets found: $found"
'

test_expect 'no key file left after a success or a failure' '
	# Keys are staged in apply.* and restore.* directories (key.pem, key).
	[ -z "$(find "$L/var/lib/vcrotate" -name "apply.*" -o -name "restore.*")" ] &&
	l2=$T/fail && lab_create "$l2" --scenario sts-expired >/dev/null &&
	labctl start "$l2" >/dev/null 2>&1 || :
	"$VC" --root "$l2" plan -o f.plan >/dev/null &&
	labctl fault "$l2" service vmware-vpxd >/dev/null &&
	rc=0 && "$VC" --root "$l2" apply f.plan --rollback-on any-failure >/dev/null 2>&1 || rc=$?
	expect_eq 1 "$rc" &&
	[ -z "$(find "$l2/var/lib/vcrotate" -name "apply.*" -o -name "restore.*")" ]
'

test_expect 'a key file a crash left is removed by the next command that writes (recover)' '
	l3=$T/crash && lab_create "$l3" --scenario all-expired >/dev/null &&
	labctl start "$l3" >/dev/null 2>&1 || :
	"$VC" --root "$l3" plan -o c.plan >/dev/null &&
	# The second file staged is the first key (the first is its certificate).
	n=$(awk "/stage file/ { if (++c == 2) { print \$1; exit } }" points) && [ -n "$n" ] &&
	rc=0 && VCROTATE_FAULT=crash-after:$n "$VC" --root "$l3" apply c.plan >/dev/null 2>&1 || rc=$?
	expect_eq 137 "$rc" &&
	left=$(find "$l3/var/lib/vcrotate" -path "*/apply.*/*.pem") && [ -n "$left" ] &&
	[ "$(stat -c %a "$(dirname "$(echo "$left" | head -1)")")" = 700 ] &&
	# And the copy of a VMCA key a kill between write and rename leaves.
	cp "$l3/var/lib/vmware/vmca/privatekey.pem" "$l3/var/lib/vmware/vmca/privatekey.pem.tmp.4242" &&
	"$VC" --root "$l3" recover >rec.out 2>&1 &&
	grep -q "removed .*apply\..*left by an interrupted run" rec.out &&
	[ -z "$(find "$l3/var/lib/vcrotate" -path "*/apply.*")" ] &&
	[ ! -e "$l3/var/lib/vmware/vmca/privatekey.pem.tmp.4242" ] &&
	[ -e "$l3/var/lib/vmware/vmca/privatekey.pem" ]
'

test_done
