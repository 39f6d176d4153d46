#!/bin/bash
# The domain lab (issue 20, docs/lab.md "A domain"): labctl create-domain
# makes N appliances on their own loopback addresses whose slapds replicate
# with syncrepl; each node's services check what its own directory holds,
# so an STS replaced on one node reaches another only after replication,
# and never while replication to it is paused. --external-psc makes a 6.7
# PSC and management nodes without a directory of their own.
. "$(dirname "$0")/../lib.sh"

D=$T/dom
P=$T/psc67
TENANT=cn=vsphere.local,cn=Tenants,cn=IdentityManager,cn=Services,dc=vsphere,dc=local
sc() { "$1/usr/bin/service-control" "${@:2}"; }
running() { sc "$1" --status | sed -n '/^Running:/,$p' | grep -qw -- "$2"; }
conf() { sed -n "s/^$2=//p" "$1/var/lib/vmware-lab/lab.conf"; }
# ldapsearch on the directory node $1 uses, as the domain's administrator.
dsearch() {
	ldapsearch -x -LLL -o ldif-wrap=no \
	    -H "ldap://$(conf "$1" ldap_host):$(conf "$1" ldap_port)" \
	    -D cn=Administrator,cn=Users,dc=vsphere,dc=local \
	    -y "$1/var/lib/vmware-lab/admin.password" "${@:2}"
}
has_entry() { dsearch "$1" -b "$2" -s base dn 2>/dev/null | grep -q '^dn:'; }
# Waits up to $1 seconds for the rest of the line to succeed.
wait_for() {
	local n=$(($1 * 10))
	shift
	while [ $n -gt 0 ]; do "$@" && return 0; sleep 0.1; n=$((n - 1)); done
	return 1
}
domain_create() { echo "$1" >>"$T/.labs"; labctl create-domain "$@"; }
# The processes of everything under folder $1 (slapd, rhttpproxy, vmafdd,
# postgres), by their command lines or pid files.
procs_under() {
	local f c
	for f in /proc/[0-9]*/cmdline; do
		c=$(tr '\0' ' ' 2>/dev/null <"$f") || continue
		case $c in *"$1/"*) f=${f#/proc/}; echo "${f%/cmdline}" ;; esac
	done
	cat "$1"/*/var/lib/vmware-lab/*.pid "$1"/*/storage/db/vmware-vmdir/slapd.pid 2>/dev/null |
	    while read -r p; do [ -d "/proc/$p" ] && echo "$p"; done
	return 0
}

test_expect 'create-domain: three full appliances on 127.0.K.2-4, one directory each, one domain' '
	domain_create "$D" --nodes 3 --scenario vc1=sts-expired \
	    --scenario vc3=trust-anchor-stale >/dev/null &&
	expect_eq "vc1 vc2 vc3" "$(sed -n "s/^nodes=//p" "$D/domain.conf")" &&
	net=$(sed -n "s/^net=//p" "$D/domain.conf") &&
	case $net in 127.0.[0-9]*) ;; *) fail "net=$net" ;; esac &&
	for i in 1 2 3; do
		n=$D/vc$i
		expect_eq embedded "$(cat "$n/etc/vmware/deployment.node.type")" &&
		expect_eq $net.$((i + 1)) "$(conf "$n" address)" &&
		expect_eq "389 636 443" "$(conf "$n" addr_ldap_port) $(conf "$n" addr_ldaps_port) $(conf "$n" addr_https_port)" &&
		"$n/opt/likewise/bin/lwregshell" list_values "[HKEY_THIS_MACHINE\\Services\\vmafd\\Parameters]" |
		    grep -q "\"PNID\"  REG_SZ  \"vc$i.example.com\"" &&
		expect_eq "ldap://127.0.0.1:$(conf "$n" ldap_port)" \
		    "$(sed -n "s/^ldap_uri=//p" "$n/etc/vcrotate/vcrotate.conf")" &&
		grep -q "^$net.3	vc2.example.com vc2$" "$n/etc/hosts" &&
		[ -f "$n/storage/db/vmware-vmdir/slapd.conf" ] || return 1
	done &&
	expect_eq 3 "$(cat "$D"/vc*/var/lib/vmware-lab/lab.conf | sed -n "s/^machine_id=//p" | sort -u | wc -l)" &&
	expect_eq 3 "$(cat "$D"/vc*/var/lib/vmware/vmca/root.cer | grep -c "BEGIN CERT")" &&
	! cmp -s "$D/vc1/var/lib/vmware/vmca/root.cer" "$D/vc2/var/lib/vmware/vmca/root.cer" &&
	cmp -s "$D/vc1/var/lib/vmware-lab/admin.password" "$D/vc3/var/lib/vmware-lab/admin.password"
'

test_expect 'every slapd holds the domain once, each node its own entries, with agreements to the others' '
	labctl start "$D" >/dev/null 2>&1 &&
	for i in 1 2 3; do
		n=$D/vc$i
		# the VMCA roots of all three, as the root sync copied them
		expect_eq 3 "$("$n/usr/lib/vmware-vmafd/bin/vecs-cli" entry list --store TRUSTED_ROOTS | grep -c "^Alias")" &&
		expect_eq 3 "$(dsearch "$n" -b dc=vsphere,dc=local "(objectClass=vmwCertificationAuthority)" dn | grep -c ^dn:)" &&
		expect_eq 1 "$(dsearch "$n" -b dc=vsphere,dc=local "(objectClass=vmwSTSTenantCredential)" dn | grep -c ^dn:)" &&
		expect_eq 3 "$(dsearch "$n" -b "cn=DCAdmins,cn=Builtin,dc=vsphere,dc=local" -s base member | grep -c ^member:)" &&
		expect_eq 3 "$(dsearch "$n" -b "ou=Domain Controllers,dc=vsphere,dc=local" -s one dn | grep -c ^dn:)" &&
		expect_eq 2 "$(dsearch "$n" -b "cn=vc$i.example.com,cn=Servers,cn=default-site,cn=Sites,cn=Configuration,dc=vsphere,dc=local" \
		    "(objectClass=vmwReplicationAgreement)" labeledURI | grep -c "^labeledURI: ldap://vc")" &&
		expect_eq $((3 * 6)) "$(dsearch "$n" -b cn=ServicePrincipals,dc=vsphere,dc=local -s one dn | grep -c ^dn:)" &&
		# the principals of vc2, written by vc2 (replica id 2)
		dsearch "$n" -b cn=ServicePrincipals,dc=vsphere,dc=local "(cn=vpxd-$(conf "$D/vc2" machine_id))" entryCSN |
		    grep -q "^entryCSN: .*#002#" &&
		# a slapd of its own, on its own address
		[ "$(cat "$n/storage/db/vmware-vmdir/slapd.pid")" != "$(cat "$D/vc1/storage/db/vmware-vmdir/slapd.pid")" ] ||
		[ $i = 1 ] || return 1
	done &&
	expect_eq 3 "$(dsearch "$D/vc2" -b dc=vsphere,dc=local -s base contextCSN | grep -c ^contextCSN:)" &&
	labctl status "$D" | grep -q "^vc3 .*$(sed -n "s/^net=//p" "$D/domain.conf").4 .*vmdir running, replication on"
'

test_expect 'the domain STS expired (the scenario of vc1): each stsd fails on what its own directory holds' '
	for i in 1 2 3; do
		! running "$D/vc$i" vmware-stsd &&
		grep -q "vmware-stsd: Signing certificate is not valid" "$D/vc$i/var/log/vmware-lab/service-control.log" ||
			return 1
	done
'

# A new STS signing credential, as fixsts.sh writes one: a key and a
# certificate from vc1's VMCA, TenantCredential-2 (the highest N wins).
sts_ldif() {
	openssl req -new -newkey rsa:2048 -nodes -keyout "$T/sts.key" -subj /CN=ssoserverSign \
	    -out "$T/sts.csr" 2>/dev/null &&
	printf "keyUsage=critical,digitalSignature\nsubjectAltName=DNS:vc1.example.com\n" >"$T/sts.ext" &&
	openssl x509 -req -in "$T/sts.csr" -CA "$D/vc1/var/lib/vmware/vmca/root.cer" \
	    -CAkey "$D/vc1/var/lib/vmware/vmca/privatekey.pem" -set_serial 0x1234abcd -days 700 \
	    -extfile "$T/sts.ext" -out "$T/sts.crt" 2>/dev/null &&
	{
		echo "dn: cn=TenantCredential-2,$TENANT"
		echo "objectClass: top"
		echo "objectClass: vmwSTSTenantCredential"
		echo "cn: TenantCredential-2"
		echo "userCertificate:: $(openssl x509 -in "$T/sts.crt" -outform DER | openssl base64 -A)"
		echo "userCertificate:: $(openssl x509 -in "$D/vc1/var/lib/vmware/vmca/root.cer" -outform DER | openssl base64 -A)"
		echo "vmwSTSPrivateKey:: $(openssl pkcs8 -topk8 -nocrypt -in "$T/sts.key" -outform DER | openssl base64 -A)"
	} >"$T/sts.ldif"
}
CRED2=cn=TenantCredential-2,$TENANT

test_expect 'an STS replaced on vc1 reaches vc2 by replication, not vc3 while replication to it is paused' '
	labctl repl "$D/vc3" pause | grep -qx "replication to vc3: paused" &&
	labctl status "$D" | grep -q "^vc3 .*replication paused" &&
	sts_ldif &&
	ldapmodify -x -a -H "ldap://127.0.0.1:$(conf "$D/vc1" ldap_port)" -D cn=Administrator,cn=Users,dc=vsphere,dc=local \
	    -y "$D/vc1/var/lib/vmware-lab/admin.password" -f "$T/sts.ldif" >/dev/null &&
	sc "$D/vc1" --start vmware-stsd >/dev/null &&
	wait_for 10 has_entry "$D/vc2" "$CRED2" &&
	sc "$D/vc2" --start vmware-stsd >/dev/null &&
	# three replication intervals: vc3 still sees only the expired one
	sleep 3 &&
	! has_entry "$D/vc3" "$CRED2" &&
	! sc "$D/vc3" --start vmware-stsd 2>"$T/err" &&
	expect_grep "Signing certificate is not valid" "$T/err"
'

test_expect 'resumed, vc3 catches up: its stsd runs; its lookupsvc fails on its own stale endpoint trust, the others run' '
	labctl repl "$D/vc3" resume >/dev/null &&
	wait_for 10 has_entry "$D/vc3" "$CRED2" &&
	sc "$D/vc3" --start vmware-stsd >/dev/null &&
	for i in 1 2 3; do sc "$D/vc$i" --start --all >/dev/null 2>&1 || :; done &&
	running "$D/vc1" vmware-lookupsvc && running "$D/vc2" vmware-lookupsvc &&
	! running "$D/vc3" vmware-lookupsvc &&
	grep "vmware-lookupsvc: Lookup Service endpoint .*_com.vmware.cis.cs.identity.sso" "$D/vc3/var/log/vmware-lab/service-control.log" |
	    grep -q "vc3.example.com" &&
	# vc1 sees the same stale anchor of vc3 (one entry, replicated)
	mid=$(conf "$D/vc3" machine_id) &&
	a1=$(dsearch "$D/vc1" -b "cn=${mid}_com.vmware.cis.lookupservice,cn=ServiceRegistrations,cn=LookupService,cn=default-site,cn=Sites,cn=Configuration,dc=vsphere,dc=local" \
	    -s one vmwLKUPEndpointSslTrust | sed -n "s/^vmwLKUPEndpointSslTrust: //p") &&
	mssl=$("$D/vc3/usr/lib/vmware-vmafd/bin/vecs-cli" entry getcert --store MACHINE_SSL_CERT --alias __MACHINE_CERT |
	    openssl x509 -outform DER | openssl base64 -A) &&
	[ -n "$a1" ] && [ "$a1" != "$mssl" ]
'

test_expect 'a change made on a node while its replication is paused still reaches the others' '
	labctl repl "$D/vc2" pause >/dev/null &&
	ldapdelete -x -H "ldap://127.0.0.1:$(conf "$D/vc2" ldap_port)" -D cn=Administrator,cn=Users,dc=vsphere,dc=local \
	    -y "$D/vc2/var/lib/vmware-lab/admin.password" "$CRED2" &&
	wait_for 10 eval "! has_entry \"\$D/vc1\" \"\$CRED2\"" &&
	labctl repl "$D/vc2" resume >/dev/null
'

test_expect 'faults are per node: vc2 slapd-down leaves vc1 and vc3 serving' '
	labctl fault "$D/vc2" slapd-down >/dev/null &&
	! has_entry "$D/vc2" dc=vsphere,dc=local &&
	has_entry "$D/vc1" dc=vsphere,dc=local && has_entry "$D/vc3" dc=vsphere,dc=local &&
	! labctl fault "$D" clear 2>/dev/null &&
	labctl fault "$D/vc2" clear >/dev/null && sc "$D/vc2" --start vmdird >/dev/null &&
	has_entry "$D/vc2" dc=vsphere,dc=local
'

test_expect 'each node serves at its address on an appliance'"'"'s ports (vmdir 389 and 636, rhttpproxy 443), its PNID resolving under labctl exec' '
	net=$(sed -n "s/^net=//p" "$D/domain.conf") &&
	expect_eq "$net.3" "$(labctl exec "$D" getent hosts vc2.example.com | cut -f1 -d" ")" &&
	labctl exec "$D" ldapsearch -x -LLL -H ldap://vc2.example.com -D cn=Administrator,cn=Users,dc=vsphere,dc=local \
	    -y "$D/vc1/var/lib/vmware-lab/admin.password" -b dc=vsphere,dc=local -s base dn >out &&
	grep -qx "dn: dc=vsphere,dc=local" out &&
	for f in "$D"/vc*/var/lib/vmware/vmca/root.cer; do cat "$f"; echo; done >roots.pem &&
	labctl exec "$D" openssl s_client -connect vc2.example.com:636 -CAfile roots.pem \
	    -verify_hostname vc2.example.com -verify_return_error </dev/null >out 2>&1 &&
	grep -q "Verify return code: 0 (ok)" out &&
	labctl exec "$D" openssl s_client -connect vc1.example.com:443 -servername vc1.example.com </dev/null 2>/dev/null |
	    openssl x509 -noout -subject >out &&
	grep -q "CN *= *vc1.example.com" out &&
	! getent hosts vc2.example.com >/dev/null
'

test_expect '--external-psc: a 6.7 PSC and two management nodes, whose DC is the PSC and who have no vmdir' '
	domain_create "$P" --nodes 2 --external-psc --scenario all-expired --no-vcdb >/dev/null &&
	expect_eq "psc vc1 vc2" "$(sed -n "s/^nodes=//p" "$P/domain.conf")" &&
	expect_eq infrastructure "$(cat "$P/psc/etc/vmware/deployment.node.type")" &&
	for v in vc1 vc2; do
		m=$P/$v
		expect_eq management "$(cat "$m/etc/vmware/deployment.node.type")" &&
		grep -q "^CLOUDVM_VERSION:6.7" "$m/etc/vmware/.buildInfo" &&
		[ ! -e "$m/usr/lib/vmware-vmdir" ] && [ ! -e "$m/storage/db/vmware-vmdir" ] &&
		[ ! -e "$m/var/lib/vmware/vmca/privatekey.pem" ] &&
		! sc "$m" --list-services | grep -q "^vmdird \|^vmcad \|^vmware-stsd \|^vmware-lookupsvc " &&
		sc "$m" --list-services | grep -q "^vmware-vpxd " &&
		"$m/opt/likewise/bin/lwregshell" list_values "[HKEY_THIS_MACHINE\\Services\\vmafd\\Parameters]" |
		    grep -q "\"DCName\"  REG_SZ  \"psc.example.com\"" &&
		"$m/opt/likewise/bin/lwregshell" list_values "[HKEY_THIS_MACHINE\\Services\\vmdir]" |
		    grep -q "\"dcAccountDN\"  REG_SZ  \"cn=$v.example.com,ou=Computers,dc=vsphere,dc=local\"" &&
		expect_eq "$(conf "$P/psc" address):389" "$(conf "$m" ldap_host):$(conf "$m" ldap_port)" ||
			return 1
	done &&
	! sc "$P/psc" --list-services | grep -q "^vmware-vpxd "
'

test_expect '--external-psc, all-expired: the PSC stsd and each vCenter vpxd-svcs fail, reading the PSC directory' '
	labctl start "$P" >/dev/null 2>&1 &&
	expect_eq 1 "$(pgrep -f "^slapd -f $P/" | wc -l)" &&
	! running "$P/psc" vmware-stsd && running "$P/psc" vmdird &&
	for v in vc1 vc2; do
		! running "$P/$v" vmware-vpxd-svcs && running "$P/$v" vmware-rhttpproxy &&
		expect_eq psc.example.com "$("$P/$v/usr/lib/vmware-vmafd/bin/vmafd-cli" get-dc-name --server-name localhost)" ||
			return 1
	done &&
	# their certificates come from the PSC VMCA
	"$P/vc1/usr/lib/vmware-vmafd/bin/vecs-cli" entry getcert --store MACHINE_SSL_CERT --alias __MACHINE_CERT |
	    openssl verify -CAfile "$P/psc/var/lib/vmware/vmca/root.cer" -no_check_time >/dev/null &&
	# their accounts and vCenter registrations live in the PSC directory
	dsearch "$P/psc" -b ou=Computers,dc=vsphere,dc=local -s one dn | grep -q "^dn: cn=vc2.example.com,ou=Computers" &&
	expect_eq 1 "$(dsearch "$P/psc" -b dc=vsphere,dc=local "(vmwLKUPDeploymentNodeId=$(conf "$P/vc1" machine_id))" vmwLKUPType |
	    grep -c "^vmwLKUPType:")" &&
	# the PSC directory down: a vCenter reads no roots
	labctl fault "$P/psc" slapd-down >/dev/null &&
	! "$P/vc1/usr/lib/vmware-vmafd/bin/vecs-cli" force-refresh >/dev/null 2>&1 &&
	labctl fault "$P/psc" clear >/dev/null && sc "$P/psc" --start vmdird >/dev/null &&
	"$P/vc1/usr/lib/vmware-vmafd/bin/vecs-cli" force-refresh >/dev/null
'

test_expect 'destroy leaves no process and no folder' '
	[ -n "$(procs_under "$D")" ] && [ -n "$(procs_under "$P")" ] &&
	labctl destroy "$D" | grep -qx "domain $D destroyed" &&
	labctl destroy "$P" >/dev/null &&
	expect_eq "" "$(procs_under "$D")$(procs_under "$P")" &&
	[ ! -e "$D" ] && [ ! -e "$P" ]
'

test_done
