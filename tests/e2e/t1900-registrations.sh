#!/bin/bash
# Lookup Service registrations and the directory around them as vmdir's
# schema has them: endpoint registrations with base64 vmwLKUPEndpointSslTrust,
# legacy vmwLKUPServiceEndpoint entries with binary vmwLKUPSslTrustAnchor
# (6.7, and appliances upgraded from 6.x), the accounts, groups and server
# objects vcrotate must leave alone. Read back with ldapsearch and openssl.
. "$(dirname "$0")/../lib.sh"

VC=$BUILD/vcrotate
DDN=dc=vsphere,dc=local
LS=cn=ServiceRegistrations,cn=LookupService,cn=default-site,cn=Sites,cn=Configuration,$DDN

ldap() {
	local l=$1
	shift
	ldapsearch -x -LLL -o ldif-wrap=no -H "$(sed -n "s/^ldap_uri=//p" "$l/etc/vcrotate/vcrotate.conf")" \
	    -D cn=Administrator,cn=Users,$DDN -y "$l/var/lib/vmware-lab/admin.password" "$@"
}
modify() {
	local l=$1
	ldapmodify -x -H "$(sed -n "s/^ldap_uri=//p" "$l/etc/vcrotate/vcrotate.conf")" \
	    -D cn=Administrator,cn=Users,$DDN -y "$l/var/lib/vmware-lab/admin.password"
}
newlab() {
	local n=$1 s=$2
	shift 2
	lab_create "$T/$n" --scenario "$s" "$@" >/dev/null &&
	labctl start "$T/$n" >/dev/null 2>&1 || :
}
# The DER of the Machine SSL certificate of lab $1, base64 on one line.
mssl_b64() {
	"$1/usr/lib/vmware-vmafd/bin/vecs-cli" entry getcert --store MACHINE_SSL_CERT --alias __MACHINE_CERT |
	    openssl x509 -outform DER | base64 -w0
}
# The legacy endpoints of the PNID: "DN base64-of-anchor" lines, sorted.
legacy_anchors() {
	ldap "$1" -b "$LS" "(&(objectClass=vmwLKUPServiceEndpoint)(vmwLKUPURI=*vcsa1.example.com*))" vmwLKUPSslTrustAnchor |
	    awk '/^dn: / { dn = substr($0, 5) } /^vmwLKUPSslTrustAnchor:: / { print dn, $2 }' | sort
}

test_expect 'the directory has what vmdir makes: a computer account, built-in groups, a server object' '
	newlab h healthy &&
	l=$T/h &&
	ldap "$l" -b "cn=vcsa1.example.com,ou=Domain Controllers,$DDN" -s base objectClass vmwLDUGuid >dc.ldif &&
	expect_grep "^objectClass: computer$" dc.ldif &&
	grep -Eq "^vmwLDUGuid: [0-9a-f-]{36}$" dc.ldif &&
	ldap "$l" -b "cn=DCAdmins,cn=Builtin,$DDN" -s base member >g.ldif &&
	expect_grep "^member: cn=vcsa1.example.com,ou=Domain Controllers,$DDN$" g.ldif &&
	ldap "$l" -b "cn=CAAdmins,cn=Builtin,$DDN" -s base member | grep -c "^member: " >n &&
	expect_eq 3 "$(cat n)" &&
	ldap "$l" -b "cn=Servers,cn=default-site,cn=Sites,cn=Configuration,$DDN" -s one "(objectClass=vmwDirServer)" dn |
	    grep -q "^dn: cn=vcsa1.example.com,cn=Servers,"
'

test_expect 'registrations: owner, type and node id; vmwLKUPURI answers substring filters' '
	l=$T/h && mid=$(sed -n "s/^machine_id=//p" "$l/var/lib/vmware-lab/lab.conf") &&
	ldap "$l" -b "cn=${mid}_com.vmware.vcenterserver,$LS" -s base >r.ldif &&
	expect_grep "^vmwLKUPType: vcenterserver$" r.ldif &&
	expect_grep "^vmwLKUPDeploymentNodeId: $mid$" r.ldif &&
	expect_grep "^vmwLKUPOwnerId: vpxd-$mid@vsphere.local$" r.ldif &&
	ldap "$l" -b "$LS" "(vmwLKUPURI=*vcsa1.example.com*)" dn | grep -c "^dn: " >n &&
	expect_eq 5 "$(cat n)" &&
	# an 8.0 appliance installed fresh has no legacy endpoints
	expect_eq "" "$(legacy_anchors "$l")"
'

test_expect 'vmdir schema: no vmwLKUPSslTrustAnchor on an endpoint registration; no CRL list of two' '
	l=$T/h && mid=$(sed -n "s/^machine_id=//p" "$l/var/lib/vmware-lab/lab.conf") &&
	printf "dn: cn=Endpoint1,cn=%s_com.vmware.vcenterserver,%s\nchangetype: modify\nadd: vmwLKUPSslTrustAnchor\nvmwLKUPSslTrustAnchor: x\n" "$mid" "$LS" >a.ldif &&
	rc=0 && modify "$l" <a.ldif >out 2>&1 || rc=$? &&
	expect_eq 65 "$rc" &&
	expect_grep "Object class violation" out &&
	dn=$(ldap "$l" -b "cn=Certificate-Authorities,cn=Configuration,$DDN" -s one dn | sed -n "s/^dn: //p" | head -n 1) &&
	printf "dn: %s\nchangetype: modify\nadd: certificateRevocationList\ncertificateRevocationList: x\n" "$dn" >c.ldif &&
	rc=0 && modify "$l" <c.ldif >out 2>&1 || rc=$? &&
	expect_eq 19 "$rc" &&
	grep -q "cannot have multiple values" out
'

test_expect '6.7: the STS endpoint on port 7444 is a legacy vmwLKUPServiceEndpoint trusting Machine SSL' '
	newlab h67 healthy --version 6.7 &&
	legacy_anchors "$T/h67" >a &&
	expect_eq 1 "$(wc -l <a)" &&
	grep -q "^cn=Endpoint2,cn=.*_com.vmware.cis.cs.identity.sts,$LS $(mssl_b64 "$T/h67")$" a &&
	rc=0 && "$VC" --root "$T/h67" check >/dev/null || rc=$?
	expect_eq 0 "$rc"
'

test_expect 'legacy-endpoints: the stale legacy anchors fail lookupsvc, and check names each' '
	newlab le legacy-endpoints &&
	l=$T/le &&
	"$l/usr/bin/service-control" --status >st || : &&
	grep -A1 "^Stopped:" st | grep -q "vmware-lookupsvc" &&
	legacy_anchors "$l" >before.anchors &&
	expect_eq 3 "$(wc -l <before.anchors)" &&
	! grep -q " $(mssl_b64 "$l")$" before.anchors &&
	rc=0 && "$VC" --root "$l" check --json >c.json 2>/dev/null || rc=$?
	expect_eq 2 "$rc" &&
	jq -r ".findings[] | select(.code == \"TRUST_ANCHOR_STALE\") | .place" c.json | sort >got &&
	cut -d" " -f1 before.anchors >want &&
	diff -u want got
'

test_expect 'legacy-endpoints: apply writes binary DER to the legacy ones, base64 stays on the others' '
	l=$T/le &&
	lab_dump "$l" >le.before &&
	ldap "$l" -b "$LS" "(objectClass=vmwLKUPEndpointRegistration)" vmwLKUPEndpointSslTrust | sort >modern.before &&
	"$VC" --root "$l" plan -o le.plan >/dev/null &&
	"$VC" --root "$l" apply le.plan >apply.out 2>&1 &&
	legacy_anchors "$l" | cut -d" " -f2 | sort -u >anchors &&
	expect_eq "$(mssl_b64 "$l")" "$(cat anchors)" &&
	ldap "$l" -b "$LS" "(objectClass=vmwLKUPEndpointRegistration)" vmwLKUPEndpointSslTrust | sort >modern.after &&
	diff -u modern.before modern.after &&
	rc=0 && "$VC" --root "$l" check >/dev/null || rc=$?
	expect_eq 0 "$rc" &&
	"$l/usr/bin/service-control" --status >st &&
	grep -A1 "^Running:" st | grep -q " vmware-lookupsvc"
'

test_expect 'legacy-endpoints: rollback puts the stale legacy anchors back, byte for byte' '
	l=$T/le &&
	txn=$("$VC" --root "$l" history | awk "/ success / { print \$4; exit }") &&
	[ -n "$txn" ] &&
	"$VC" --root "$l" rollback "$txn" >rb.out 2>&1 &&
	lab_dump "$l" >le.after &&
	diff -u le.before le.after &&
	legacy_anchors "$l" >after.anchors &&
	diff -u before.anchors after.anchors
'

test_expect 'all-expired: apply leaves the accounts, groups and server objects as they were' '
	newlab ae all-expired &&
	l=$T/ae &&
	ldap "$l" -b "$DDN" "(|(objectClass=computer)(objectClass=group)(objectClass=vmwDirServer)(objectClass=vmwLKUPServiceRegistration))" "*" >before.ldif &&
	"$VC" --root "$l" plan -o ae.plan >/dev/null &&
	"$VC" --root "$l" apply ae.plan >/dev/null 2>&1 &&
	ldap "$l" -b "$DDN" "(|(objectClass=computer)(objectClass=group)(objectClass=vmwDirServer)(objectClass=vmwLKUPServiceRegistration))" "*" >after.ldif &&
	diff -u before.ldif after.ldif
'

test_done
