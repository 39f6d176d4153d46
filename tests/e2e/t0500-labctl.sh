#!/bin/bash
# labctl: the lab's life cycle, identity tools, vmdir access rules, two labs
# side by side, faults, and bad input.
. "$(dirname "$0")/../lib.sh"

A=$T/a
B=$T/b
# Processes whose command line names a path under $1.
pids_of() {
	local f c p
	for f in /proc/[0-9]*/cmdline; do
		c=$(tr "\0" " " 2>/dev/null <"$f") || continue
		case $c in *"$1"*) p=${f#/proc/}; echo "${p%/cmdline}" ;; esac
	done
}
uri_of() { sed -n "s/^ldap_uri=//p" "$1/etc/vcrotate/vcrotate.conf"; }

test_expect 'create and start a healthy lab' '
	start=$(date +%s.%N) &&
	lab_create "$A" --scenario healthy --pnid vc.lab.test >/dev/null &&
	labctl start "$A" >/dev/null &&
	end=$(date +%s.%N) &&
	echo "# create+start of a healthy lab: $(awk "BEGIN { print $end - $start }") s" >&3
' 3>&1

test_expect 'vmafd-cli answers the identity questions' '
	c=$A/usr/lib/vmware-vmafd/bin/vmafd-cli &&
	expect_eq vc.lab.test "$($c get-pnid --server-name localhost)" &&
	expect_eq vsphere.local "$($c get-domain-name --server-name localhost)" &&
	expect_eq default-site "$($c get-site-name --server-name localhost)" &&
	expect_eq https://vc.lab.test/lookupservice/sdk "$($c get-ls-location --server-name localhost)" &&
	expect_eq vc.lab.test "$($c get-dc-name --server-name localhost)" &&
	$c get-machine-id --server-name localhost | grep -Eq "^[0-9a-f-]{36}$" &&
	{ $c get-pnid 2>err; expect_eq 87 $?; } && grep -q "Error 87" err
'

test_expect 'lwregshell prints the machine account, and its password binds' '
	$A/opt/likewise/bin/lwregshell list_values "[HKEY_THIS_MACHINE\services\vmdir]" >reg &&
	grep -qx "+  \"dcAccountDN\"  REG_SZ  \"cn=vc.lab.test,ou=Domain Controllers,dc=vsphere,dc=local\"" reg &&
	line=$(grep "\"dcAccountPassword\"" reg) &&
	case $line in *\\\"*|*\\\\*) ;; *) fail "password shows no escaping: $line" ;; esac &&
	pw=${line#*REG_SZ  \"} && pw=${pw%\"} &&
	printf %s "$pw" | sed -e "s/\\\\\\(.\\)/\\1/g" | tr -d "\n" >pw &&
	ldapwhoami -x -H "$(uri_of "$A")" -D "cn=vc.lab.test,ou=Domain Controllers,dc=vsphere,dc=local" -y pw
'

test_expect 'vmdir refuses anonymous reads' '
	! ldapsearch -x -LLL -H "$(uri_of "$A")" -b dc=vsphere,dc=local dn >out 2>&1 ||
	    fail "anonymous search succeeded" &&
	! grep -q "^dn:" out
'

test_expect 'the administrator reads the STS credential; certificates are plain octet strings' '
	ldapsearch -x -LLL -o ldif-wrap=no -H "$(uri_of "$A")" \
	    -D cn=Administrator,cn=Users,dc=vsphere,dc=local -y "$A/var/lib/vmware-lab/admin.password" \
	    -b "cn=TenantCredential-1,cn=vsphere.local,cn=Tenants,cn=IdentityManager,cn=Services,dc=vsphere,dc=local" \
	    -s base userCertificate vmwSTSPrivateKey >cred &&
	grep -q "^userCertificate:: " cred && ! grep -q ";binary" cred &&
	grep -m1 "^userCertificate:: " cred | cut -d" " -f2 | base64 -d >leaf.der &&
	openssl x509 -inform DER -in leaf.der -noout -subject | grep -q ssoserverSign &&
	grep "^vmwSTSPrivateKey:: " cred | cut -d" " -f2 | base64 -d >key.der &&
	openssl pkey -inform DER -in key.der -pubout >k.pub &&
	openssl x509 -inform DER -in leaf.der -pubkey -noout >c.pub &&
	cmp k.pub c.pub
'

test_expect 'a second lab runs beside the first' '
	lab_create "$B" --scenario sts-expired >/dev/null &&
	labctl start "$B" >/dev/null &&
	[ "$(uri_of "$A")" != "$(uri_of "$B")" ] &&
	ldapwhoami -x -H "$(uri_of "$B")" -D cn=Administrator,cn=Users,dc=vsphere,dc=local \
	    -y "$B/var/lib/vmware-lab/admin.password" &&
	ldapwhoami -x -H "$(uri_of "$A")" -D cn=Administrator,cn=Users,dc=vsphere,dc=local \
	    -y "$A/var/lib/vmware-lab/admin.password" &&
	labctl status "$A" | grep -q "scenario:  healthy" &&
	labctl status "$B" | grep -q "scenario:  sts-expired"
'

test_expect 'stop ends the lab processes, start brings the same directory back' '
	labctl stop "$A" >/dev/null &&
	[ -z "$(pids_of "$A/")" ] || fail "left running: $(pids_of "$A/")" &&
	labctl start "$A" >/dev/null &&
	ldapwhoami -x -H "$(uri_of "$A")" -D cn=Administrator,cn=Users,dc=vsphere,dc=local \
	    -y "$A/var/lib/vmware-lab/admin.password"
'

test_expect 'fault slapd-down takes vmdir away until cleared' '
	labctl fault "$A" slapd-down >/dev/null &&
	! ldapwhoami -x -H "$(uri_of "$A")" -D cn=Administrator,cn=Users,dc=vsphere,dc=local \
	    -y "$A/var/lib/vmware-lab/admin.password" 2>/dev/null &&
	! $A/usr/bin/service-control --start vmdird >/dev/null 2>&1 &&
	labctl fault "$A" clear >/dev/null &&
	labctl start "$A" >/dev/null &&
	ldapwhoami -x -H "$(uri_of "$A")" -D cn=Administrator,cn=Users,dc=vsphere,dc=local \
	    -y "$A/var/lib/vmware-lab/admin.password"
'

test_expect 'fault vecs-write fails the Nth write only' '
	v=$A/usr/lib/vmware-vmafd/bin/vecs-cli &&
	labctl fault "$A" vecs-write 2 >/dev/null &&
	$v store create --name first &&
	! $v store create --name second 2>err &&
	grep -q "vecs-cli failed. Error" err &&
	$v store create --name third &&
	$v store list >stores &&
	grep -qx first stores && grep -qx third stores && ! grep -qx second stores
'

test_expect 'bad input: a clear message and exit 1 or 64, nothing created' '
	{ labctl create "$T/x" --scenario nope 2>err; expect_eq 1 $?; } &&
	grep -q "unknown scenario .nope." err && [ ! -e "$T/x" ] &&
	{ labctl create "$T/x" --scenario healthy --version 5.5 2>err; expect_eq 1 $?; } &&
	grep -q "unknown version" err &&
	{ labctl create "$A" --scenario healthy 2>err; expect_eq 1 $?; } &&
	grep -q "not empty" err &&
	{ labctl start "$T" 2>err; expect_eq 1 $?; } && grep -q "not a lab" err &&
	{ labctl destroy "$T" 2>err; expect_eq 1 $?; } && [ -d "$T" ] &&
	{ labctl frobnicate 2>/dev/null; expect_eq 64 $?; } &&
	{ labctl create "$T/y" --scenario healthy --pnid "a b" 2>err; expect_eq 1 $?; } &&
	grep -q "invalid PNID" err
'

test_expect 'destroy leaves no process and no file behind' '
	labctl destroy "$A" >/dev/null && labctl destroy "$B" >/dev/null &&
	[ ! -e "$A" ] && [ ! -e "$B" ] &&
	[ -z "$(pids_of "$A/")$(pids_of "$B/")" ]
'

test_done
