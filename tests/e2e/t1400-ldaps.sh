#!/bin/bash
# TLS to the directory: vcrotate over ldaps:// and over StartTLS against the
# lab's slapd (a server certificate from the lab's VMCA root), with the
# default CA (the VMCA root) and with --ca-file; a certificate from another
# CA and a wrong host name refused, named with the URI and the reason (check:
# exit 3, VECS still reported; apply: refused before any change); plan and
# apply over ldaps; no password on the command line of anything.
. "$(dirname "$0")/../lib.sh"

VC=$BUILD/vcrotate
ADMIN="cn=Administrator,cn=Users,dc=vsphere,dc=local"
H=$T/healthy
lab_create "$H" --scenario healthy >/dev/null
labctl start "$H" >/dev/null 2>&1
P=$(sed -n "s/^ldap_port=//p" "$H/var/lib/vmware-lab/lab.conf")
P2=$(sed -n "s/^ldaps_port=//p" "$H/var/lib/vmware-lab/lab.conf")
LDAPS=ldaps://127.0.0.1:$P2
ROOTCER=$H/var/lib/vmware/vmca/root.cer

# A CA of nobody's: other-ca.pem (key other-ca.key), EC keys (fast).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/other-ca.key" -out "$T/other-ca.pem" -subj "/CN=Other CA" \
    -days 30 2>/dev/null

# leaf NAME CA CAKEY SAN: NAME.pem and NAME.key, a TLS server certificate.
leaf() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$T/$1.key" -subj "/CN=$(echo "$4" | sed 's/^[A-Z]*://; s/,.*//')" \
	    -out "$T/$1.csr" 2>/dev/null &&
	printf "subjectAltName=%s\nextendedKeyUsage=serverAuth\n" "$4" >"$T/$1.ext" &&
	openssl x509 -req -in "$T/$1.csr" -CA "$2" -CAkey "$3" -CAcreateserial \
	    -days 30 -extfile "$T/$1.ext" -out "$T/$1.pem" 2>/dev/null
}

# tls_server NAME: an openssl s_server with NAME.pem on a free loopback
# port (printed); it is killed with the other processes under $T.
tls_server() {
	local port i
	port=$("$BUILD/lab/labgen" freeport) || return 1
	openssl s_server -quiet -accept "127.0.0.1:$port" -cert "$T/$1.pem" \
	    -key "$T/$1.key" </dev/null >"$T/$1.server.log" 2>&1 &
	for i in $(seq 50); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
		sleep 0.1
	done
	echo "$port"
}

test_expect 'the lab: slapd serves ldaps and StartTLS with a VMCA-issued certificate for 127.0.0.1 and localhost' '
	v=$H/storage/db/vmware-vmdir &&
	expect_eq 600 "$(stat -c %a $v/slapd-tls.key)" &&
	openssl verify -CAfile "$ROOTCER" $v/slapd-tls.crt >/dev/null &&
	openssl x509 -in $v/slapd-tls.crt -noout -ext subjectAltName >san &&
	grep -q "IP Address:127.0.0.1" san && grep -q "DNS:localhost" san &&
	echo | openssl s_client -connect "127.0.0.1:$P2" -CAfile "$ROOTCER" \
	    -verify_return_error -verify_ip 127.0.0.1 >out 2>&1 &&
	grep -q "Verify return code: 0 (ok)" out &&
	echo | openssl s_client -connect "127.0.0.1:$P" -starttls ldap -CAfile "$ROOTCER" \
	    -verify_return_error >out 2>&1 &&
	grep -q "Verify return code: 0 (ok)" out &&
	expect_eq "ldap://127.0.0.1:$P" "$(sed -n "s/^ldap_uri=//p" "$H/etc/vcrotate/vcrotate.conf")"
'

test_expect 'check over ldaps:// with the default CA (the VMCA root): exit 0, vmdir read' '
	{ "$VC" --root "$H" --ldap-uri "$LDAPS" check --json >out.json; expect_eq 0 $?; } &&
	jq -e ".sources.vmdir.read == true" out.json >/dev/null &&
	{ "$VC" --root "$H" check --ldap-uri "ldaps://localhost:$P2" >/dev/null; expect_eq 0 $?; }
'

test_expect 'check over StartTLS on the ldap port: exit 0' '
	{ "$VC" --root "$H" --starttls check --json >out.json; expect_eq 0 $?; } &&
	jq -e ".sources.vmdir.read == true" out.json >/dev/null &&
	{ "$VC" --root "$H" check --ldap-uri "ldap://localhost:$P" --starttls >/dev/null; expect_eq 0 $?; }
'

test_expect '--ca-file, and the configuration keys starttls and ca_file' '
	cp "$ROOTCER" ca.pem &&
	{ "$VC" --root "$H" check --ldap-uri "$LDAPS" --ca-file ca.pem >/dev/null; expect_eq 0 $?; } &&
	{ "$VC" --root "$H" check --starttls --ca-file="$T/ca.pem" >/dev/null; expect_eq 0 $?; } &&
	printf "ldap_uri = ldap://127.0.0.1:%s\nstarttls = yes\nca_file = %s/ca.pem\n" "$P" "$T" >tls.conf &&
	{ "$VC" --root "$H" --config tls.conf check --json >out.json; expect_eq 0 $?; } &&
	jq -e ".sources.vmdir.read == true" out.json >/dev/null &&
	printf "ldap_uri = ldap://127.0.0.1:%s\nstarttls = maybe\n" "$P" >bad.conf &&
	{ "$VC" --root "$H" --config bad.conf check >out 2>&1; expect_eq 3 $?; } &&
	expect_grep "starttls must be yes or no" out
'

test_expect 'the configuration file'"'"'s starttls = yes makes check refuse a plain server that will not do TLS' '
	printf "ldap_uri = ldap://127.0.0.1:%s\nstarttls = yes\nca_file = %s\n" "$P" "$T/other-ca.pem" >other.conf &&
	{ "$VC" --root "$H" --config other.conf check --json >out.json; expect_eq 3 $?; } &&
	jq -r .sources.vmdir.error out.json | grep -q "TLS with the directory at ldap://127.0.0.1:$P failed"
'

test_expect 'a certificate from another CA is refused by name and reason; check exits 3 and still reports VECS' '
	{ "$VC" --root "$H" check --ldap-uri "$LDAPS" --ca-file other-ca.pem --json >out.json; expect_eq 3 $?; } &&
	jq -e ".sources.vmdir.read == false and .sources.vecs.read == true" out.json >/dev/null &&
	jq -e "[.certificates[] | select(.source == \"vecs\")] | length > 10" out.json >/dev/null &&
	jq -r .sources.vmdir.error out.json >err &&
	cat err &&
	expect_grep "TLS with the directory at $LDAPS failed: " err &&
	expect_grep "untrusted\|unknown CA\|certificate verify failed\|issuer" err &&
	expect_grep "CA file other-ca.pem" err &&
	{ "$VC" --root "$H" check --starttls --ca-file other-ca.pem >out.txt; expect_eq 3 $?; } &&
	expect_grep "^NOT READ vmdir: TLS with the directory at ldap://127.0.0.1:$P failed" out.txt &&
	expect_grep "^Status: UNKNOWN" out.txt
'

test_expect 'a server whose certificate another CA issued is refused with the default CA' '
	leaf other other-ca.pem other-ca.key "IP:127.0.0.1,DNS:localhost" &&
	port=$(tls_server other) &&
	{ "$VC" --root "$H" check --ldap-uri "ldaps://127.0.0.1:$port" --json >out.json; expect_eq 3 $?; } &&
	jq -r .sources.vmdir.error out.json >err && cat err &&
	expect_grep "TLS with the directory at ldaps://127.0.0.1:$port failed: " err &&
	expect_grep "CA file $ROOTCER" err
'

test_expect 'a certificate from the right CA for another host name is refused, naming the host name' '
	leaf wrong "$ROOTCER" "$H/var/lib/vmware/vmca/privatekey.pem" "DNS:wrong.example.com" &&
	openssl verify -CAfile "$ROOTCER" wrong.pem >/dev/null &&
	port=$(tls_server wrong) &&
	{ "$VC" --root "$H" check --ldap-uri "ldaps://127.0.0.1:$port" --json >out.json; expect_eq 3 $?; } &&
	jq -r .sources.vmdir.error out.json >err && cat err &&
	expect_grep "TLS with the directory at ldaps://127.0.0.1:$port failed: .*hostname" err
'

test_expect 'ldaps to the plain LDAP port fails as TLS, never falls back to plain LDAP' '
	{ "$VC" --root "$H" check --ldap-uri "ldaps://127.0.0.1:$P" --json >out.json; expect_eq 3 $?; } &&
	jq -r .sources.vmdir.error out.json | grep -q "TLS with the directory at ldaps://127.0.0.1:$P failed"
'

test_expect 'a missing or empty CA file is named' '
	{ "$VC" --root "$H" check --ldap-uri "$LDAPS" --ca-file nosuch.pem --json >out.json; expect_eq 3 $?; } &&
	jq -r .sources.vmdir.error out.json | grep -q "CA file nosuch.pem: No such file or directory" &&
	: >empty.pem &&
	{ "$VC" --root "$H" check --starttls --ca-file empty.pem --json >out.json; expect_eq 3 $?; } &&
	jq -r .sources.vmdir.error out.json | grep -q "CA file empty.pem"
'

test_expect 'the host'"'"'s ldap.conf, ~/.ldaprc and LDAPTLS_* do not weaken verification' '
	# libldap reads them when LDAPNOINIT is unset, as on an appliance.
	mkdir -p home &&
	printf "TLS_REQCERT never\nTLS_CACERT %s\n" "$T/other-ca.pem" >home/.ldaprc &&
	rc=0 && env -u LDAPNOINIT HOME=$T/home LDAPTLS_REQCERT=never LDAPTLS_CACERT=$T/other-ca.pem \
	    "$VC" --root "$H" check --ldap-uri "$LDAPS" --ca-file other-ca.pem --json >out.json || rc=$?
	expect_eq 3 "$rc" &&
	jq -e ".sources.vmdir.read == false" out.json >/dev/null &&
	jq -r .sources.vmdir.error out.json | grep -q "TLS with the directory at $LDAPS failed" &&
	# And they do not break what is right either.
	rc=0 && env -u LDAPNOINIT HOME=$T/home LDAPTLS_REQCERT=never LDAPTLS_CACERT=$T/other-ca.pem \
	    "$VC" --root "$H" check --ldap-uri "$LDAPS" >/dev/null || rc=$?
	expect_eq 0 "$rc"
'

test_expect 'plain LDAP to another machine is refused before any bind: the password would cross in clear' '
	# A name that merely starts like a loopback address, and an ldaps://
	# first in a list that libldap would fall back from, included.
	for u in ldap://psc2.example.com ldap://192.0.2.7:389 ldap://127.0.0.1.nip.io \
	    "ldap://127.0.0.1:$P ldap://psc2.example.com" "ldaps://127.0.0.1:$P2 ldap://psc2.example.com"; do
		rc=0; "$VC" --root "$H" --ldap-uri "$u" check >out 2>&1 || rc=$?
		expect_eq 3 "$rc" && grep -q "NOT READ vmdir: .* is not this machine: the bind password would cross the network in clear" out ||
			fail "$u: exit $rc, $(cat out)"
	done &&
	rc=0 && "$VC" --root "$H" --ldap-uri ldap://psc2.example.com plan >/dev/null 2>err || rc=$?
	[ "$rc" -ne 0 ] && grep -q "is not this machine" err &&
	# Commands that never bind do not care.
	"$VC" --root "$H" --ldap-uri ldap://psc2.example.com history >/dev/null &&
	{ "$VC" --root "$H" --ldap-uri "ldap://localhost:$P" check >/dev/null; expect_eq 0 $?; }
'

test_expect '--starttls with an ldaps:// URI is a usage error' '
	{ "$VC" --root "$H" check --ldap-uri "$LDAPS" --starttls >out 2>&1; expect_eq 3 $?; } &&
	expect_grep "starttls cannot be used with an ldaps:// URI" out &&
	{ "$VC" --root "$H" --starttls plan --ldap-uri "$LDAPS" >out 2>&1; expect_eq 64 $?; } &&
	expect_grep "starttls cannot be used with an ldaps:// URI" out &&
	printf "ldap_uri = %s\nstarttls = yes\n" "$LDAPS" >both.conf &&
	{ "$VC" --root "$H" --config both.conf check >out 2>&1; expect_eq 3 $?; } &&
	expect_grep "starttls = yes cannot be used with an ldaps:// URI" out &&
	printf "ldap_uri = ldap://127.0.0.1:%s\nstarttls = yes\n" "$P" >st.conf &&
	{ "$VC" --root "$H" --config st.conf check --ldap-uri "$LDAPS" >/dev/null; expect_eq 0 $?; }
'

# wrap LAB: every appliance tool vcrotate runs logs its command line to
# $T/argv.log, then runs the real one (moved to LAB/.real).
wrap() {
	local l=$1 t
	mkdir -p "$l/.real"
	for t in usr/lib/vmware-vmafd/bin/vecs-cli usr/lib/vmware-vmafd/bin/vmafd-cli \
	    opt/likewise/bin/lwregshell usr/bin/service-control; do
		mv "$l/$t" "$l/.real/${t##*/}"
		printf '#!/bin/sh\nprintf "%%s\\n" "$0 $*" >>"%s/argv.log"\nVCROTATE_LAB_ROOT=%s exec %s "$@"\n' \
		    "$T" "$l" "$l/.real/${t##*/}" >"$l/$t"
		chmod 0755 "$l/$t"
	done
}

S=$T/sts-expired
test_expect 'sts-expired: plan and apply over ldaps, check clean after, over ldaps' '
	lab_create "$S" --scenario sts-expired >/dev/null && labctl start "$S" >/dev/null 2>&1 &&
	wrap "$S" &&
	s2=$(sed -n "s/^ldaps_port=//p" "$S/var/lib/vmware-lab/lab.conf") &&
	u=ldaps://127.0.0.1:$s2 &&
	{ "$VC" --root "$S" --ldap-uri "$u" check >/dev/null; expect_eq 2 $?; } &&
	"$VC" --root "$S" --ldap-uri "$u" plan -o sts.plan >/dev/null &&
	lab_dump "$S" >before &&
	{ "$VC" --root "$S" --ldap-uri "$u" --ca-file "$T/other-ca.pem" apply sts.plan >out 2>&1; expect_eq 4 $?; } &&
	cat out &&
	expect_grep "TLS with the directory at $u failed" out &&
	lab_dump "$S" >after && cmp before after &&
	{ "$VC" --root "$S" --ldap-uri "$u" apply sts.plan --ticket CHG-TLS >out 2>&1; expect_eq 0 $?; } &&
	{ "$VC" --root "$S" --ldap-uri "$u" check >out; expect_eq 0 $?; } &&
	{ "$VC" --root "$S" --starttls check >/dev/null; expect_eq 0 $?; }
'

test_expect 'a --reset-all apply over ldaps: the VMCA root replaced mid-run stays trusted until the run ends' '
	r=$T/reset && lab_create "$r" --scenario healthy >/dev/null && labctl start "$r" >/dev/null 2>&1 &&
	u=ldaps://127.0.0.1:$(sed -n "s/^ldaps_port=//p" "$r/var/lib/vmware-lab/lab.conf") &&
	cp "$r/var/lib/vmware/vmca/root.cer" old-root.pem &&
	"$VC" --root "$r" --ldap-uri "$u" plan --reset-all -o reset.plan >/dev/null &&
	{ "$VC" --root "$r" --ldap-uri "$u" apply reset.plan >out 2>&1; expect_eq 0 $?; } &&
	! cmp -s old-root.pem "$r/var/lib/vmware/vmca/root.cer" &&
	{ "$VC" --root "$r" check >/dev/null; expect_eq 0 $?; } &&
	{ "$VC" --root "$r" --ldap-uri "$u" --ca-file old-root.pem check >/dev/null; expect_eq 0 $?; } &&
	{ "$VC" --root "$r" --ldap-uri "$u" check >out; expect_eq 3 $?; } &&
	expect_grep "its issuer is not in the CA file" out
'

test_expect 'no password on the command line of anything vcrotate ran (plan, apply, check over ldaps)' '
	[ -s argv.log ] && grep -q "vecs-cli" argv.log && grep -q "service-control" argv.log &&
	grep -q "lwregshell" argv.log &&
	pw=$(sed -n "s/^dcAccountPassword=//p" "$S/var/lib/likewise/registry" | sed "s/\\\\\\\\/\\\\/g") &&
	[ ${#pw} -ge 12 ] &&
	! grep -qF -- "$pw" argv.log &&
	! grep -qF -- "$(cat "$S/var/lib/vmware-lab/admin.password")" argv.log &&
	: >argv.log &&
	if command -v strace >/dev/null; then
		# LeakSanitizer cannot work under ptrace (sanitized builds).
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		strace -f -qq -e trace=execve -s 65535 -o trace.log \
		    "$VC" --root "$S" --ldap-uri "ldaps://127.0.0.1:$(sed -n "s/^ldaps_port=//p" "$S/var/lib/vmware-lab/lab.conf")" \
		    --bind-dn "$ADMIN" --password-file "$S/var/lib/vmware-lab/admin.password" check >/dev/null &&
		grep -q execve trace.log &&
		! grep -qF -- "$(cat "$S/var/lib/vmware-lab/admin.password")" trace.log &&
		! grep -qF -- "$pw" trace.log
	fi
'

test_done
