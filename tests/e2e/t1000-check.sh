#!/bin/bash
# vcrotate check against every lab scenario: the exact set of findings (code,
# severity, place), the exit code, the JSON schema; and the failures of its
# sources: each named, with everything else still reported.
. "$(dirname "$0")/../lib.sh"

VC=$BUILD/vcrotate
SCHEMA=$TOP/docs/check.schema.json

# Helpers run without set -e (they are called in && chains): each check in
# them that is not the last ends with || fail, which ends the test.

# Findings as "CODE SEVERITY PLACE", sorted, with the lab's random parts
# (machine id, SHA-1 aliases and CA names) replaced by MID and SHA1.
findings() {
	local mid
	mid=$(sed -n 's/^machine_id=//p' "$1/var/lib/vmware-lab/lab.conf") &&
	    [ -n "$mid" ] || fail "findings: no machine_id in $1/var/lib/vmware-lab/lab.conf"
	jq -r '.findings[] | "\(.code) \(.severity) \(.place)"' "$2" >"$2.findings" ||
		fail "findings: cannot read the findings of $2"
	sed -e "s/$mid/MID/g" -E -e 's/[0-9a-fA-F]{40}/SHA1/g' "$2.findings" >"$2.findings.mid" ||
		fail "findings: sed"
	sort "$2.findings.mid"
}

# check_scenario NAME EXIT [labctl create options]: expected findings on
# stdin. The lab is $T/NAME (NAME-2 and so on when NAME is taken), its JSON
# $T/NAME.json. Checked a minute after the lab was made, however long that
# took: a certificate made to expire at a threshold (crl-bloat's first extra
# root: in 30 days) gives the same finding every run.
check_scenario() {
	local name=$1 want_exit=$2 lab=$T/$1 rc=0 n=1 created
	shift 2
	while [ -e "$lab" ]; do n=$((n + 1)); lab=$T/$name-$n; done
	sort >"$T/$name.want" || fail "check_scenario: the expected findings"
	lab_create "$lab" --scenario "$name" "$@" >/dev/null || fail "labctl create $name"
	labctl start "$lab" >/dev/null 2>&1 || fail "labctl start $name"
	created=$(sed -n 's/^created=//p' "$lab/var/lib/vmware-lab/lab.conf") &&
	    [ -n "$created" ] || fail "no created= in the lab.conf of $name"
	"$VC" --root "$lab" check --json --at "@$((created + 60))" >"$T/$name.json" || rc=$?
	/usr/bin/python3 -m jsonschema -i "$T/$name.json" "$SCHEMA" ||
		fail "check --json does not validate against $SCHEMA"
	findings "$lab" "$T/$name.json" >"$T/$name.got" || fail "findings of $name"
	diff -u "$T/$name.want" "$T/$name.got" || fail "findings of $name"
	expect_eq "$want_exit" "$rc" || fail "exit code of check on $name"
}

TC=cn=vsphere.local,cn=Tenants,cn=IdentityManager,cn=Services,dc=vsphere,dc=local
LS=cn=ServiceRegistrations,cn=LookupService,cn=default-site,cn=Sites,cn=Configuration,dc=vsphere,dc=local
CA=cn=Certificate-Authorities,cn=Configuration,dc=vsphere,dc=local

test_expect 'healthy: nothing found, exit 0' '
	check_scenario healthy 0 </dev/null
'

test_expect 'sts-expired: the STS credential, exit 2' '
	check_scenario sts-expired 2 <<-EOF
	EXPIRED CRITICAL cn=TenantCredential-1,$TC
	EOF
'

# The backup generation expired before the rest: INFO, in no status.
BACKUP_INFO="EXPIRED INFO BACKUP_STORE/bkp___MACHINE_CERT
EXPIRED INFO BACKUP_STORE/bkp_machine
EXPIRED INFO BACKUP_STORE/bkp_vsphere-webclient
EXPIRED INFO BACKUP_STORE/bkp_vpxd
EXPIRED INFO BACKUP_STORE/bkp_vpxd-extension"

test_expect 'all-expired: STS, every solution user and Machine SSL (backup copies INFO)' '
	check_scenario all-expired 2 <<-EOF
	$BACKUP_INFO
	EXPIRED CRITICAL MACHINE_SSL_CERT/__MACHINE_CERT
	EXPIRED CRITICAL machine/machine
	EXPIRED CRITICAL vsphere-webclient/vsphere-webclient
	EXPIRED CRITICAL vpxd/vpxd
	EXPIRED CRITICAL vpxd-extension/vpxd-extension
	EXPIRED CRITICAL hvc/hvc
	EXPIRED CRITICAL wcp/wcp
	EXPIRED CRITICAL cn=TenantCredential-1,$TC
	EOF
'

test_expect 'all-expired on 6.7: no hvc or wcp stores, so no findings for them' '
	check_scenario all-expired 2 --version 6.7 <<-EOF
	$BACKUP_INFO
	EXPIRED CRITICAL MACHINE_SSL_CERT/__MACHINE_CERT
	EXPIRED CRITICAL STS_INTERNAL_SSL_CERT/__MACHINE_CERT
	EXPIRED CRITICAL machine/machine
	EXPIRED CRITICAL vsphere-webclient/vsphere-webclient
	EXPIRED CRITICAL vpxd/vpxd
	EXPIRED CRITICAL vpxd-extension/vpxd-extension
	EXPIRED CRITICAL cn=TenantCredential-1,$TC
	EOF
'

test_expect 'stale-sts-chain: the old pair is stale with an expired LEAF; the active one is valid' '
	check_scenario stale-sts-chain 2 <<-EOF &&
	STS_STALE_CHAIN CRITICAL cn=TenantCredential-1,$TC
	STS_STALE_CHAIN CRITICAL cn=TrustedCertChain-1,cn=TrustedCertificateChains,$TC
	EOF
	jq -r ".sts_active" "$T/stale-sts-chain.json" | grep -q "^cn=TenantCredential-2," &&
	jq -r ".findings[].message" "$T/stale-sts-chain.json" | grep -q "its LEAF expired on" &&
	jq -e "[.certificates[] | select(.place | startswith(\"cn=TenantCredential-2,\")) |
	    select(.role == \"LEAF\") | .status] == [\"OK\"]" "$T/stale-sts-chain.json" >/dev/null &&
	{ "$VC" --root "$T/stale-sts-chain" check >text; expect_eq 2 $?; } &&
	grep -A3 "TenantCredential-1 (stale)" text | grep -q "LEAF .*expired on" &&
	grep -A3 "TenantCredential-2 (active)" text | grep -q "LEAF .*will expire in"
'

test_expect 'root-expired: the VMCA root everywhere it is published, and all it signed' '
	check_scenario root-expired 2 <<-EOF
	$BACKUP_INFO
	ROOT_EXPIRED CRITICAL /var/lib/vmware/vmca/root.cer
	ROOT_EXPIRED CRITICAL TRUSTED_ROOTS/SHA1
	ROOT_EXPIRED CRITICAL cn=SHA1,$CA
	EXPIRED CRITICAL MACHINE_SSL_CERT/__MACHINE_CERT
	EXPIRED CRITICAL machine/machine
	EXPIRED CRITICAL vsphere-webclient/vsphere-webclient
	EXPIRED CRITICAL vpxd/vpxd
	EXPIRED CRITICAL vpxd-extension/vpxd-extension
	EXPIRED CRITICAL hvc/hvc
	EXPIRED CRITICAL wcp/wcp
	EXPIRED CRITICAL data-encipherment/data-encipherment
	EXPIRED CRITICAL cn=TenantCredential-1,$TC
	EOF
'

test_expect 'solution-user-mismatch: vpxd-extension differs between VECS and vmdir' '
	check_scenario solution-user-mismatch 2 <<-EOF
	SOLUTION_USER_MISMATCH CRITICAL cn=vpxd-extension-MID,cn=ServicePrincipals,dc=vsphere,dc=local
	EOF
'

test_expect 'machine-ssl-no-pnid: the PNID is not in the SAN' '
	check_scenario machine-ssl-no-pnid 2 <<-EOF
	PNID_NOT_IN_SAN CRITICAL MACHINE_SSL_CERT/__MACHINE_CERT
	EOF
'

test_expect 'trust-anchor-stale: every endpoint of this PNID, none of the other node' '
	check_scenario trust-anchor-stale 2 <<-EOF
	TRUST_ANCHOR_STALE CRITICAL cn=Endpoint1,cn=MID_com.vmware.cis.cs.identity.sso,$LS
	TRUST_ANCHOR_STALE CRITICAL cn=Endpoint2,cn=MID_com.vmware.cis.cs.identity.sso,$LS
	TRUST_ANCHOR_STALE CRITICAL cn=Endpoint1,cn=MID_com.vmware.vcenterserver,$LS
	TRUST_ANCHOR_STALE CRITICAL cn=Endpoint1,cn=MID_com.vmware.cis.cs.identity.sts,$LS
	TRUST_ANCHOR_STALE CRITICAL cn=Endpoint1,cn=MID_com.vmware.cis.lookupservice,$LS
	EOF
'

# It signs no certificate of the appliance: a warning, with the command
# that removes it (docs/check.md).
test_expect 'article-vcsa1: its expired unused trusted root, in VECS and in vmdir, is a WARNING' '
	check_scenario article-vcsa1 1 --pnid vcsa1.example.com <<-EOF &&
	ROOT_EXPIRED WARNING TRUSTED_ROOTS/SHA1
	ROOT_EXPIRED WARNING cn=SHA1,$CA
	EOF
	grep -q "TRUSTED_ROOTS/cb5a495d34f3f2f75d357b47aac3799346665258" "$T/article-vcsa1.json" &&
	jq -e "[.findings[].message | test(\"vcrotate plan --prune-expired-roots\$\")] == [true, true]" \
	    "$T/article-vcsa1.json" >/dev/null
'

# Of 12 extra roots, one in four has expired and the first expires in 30
# days (critical); the rest in 31 to 40 days. Each is in TRUSTED_ROOTS and
# has a CA entry in vmdir. They are self-signed and sign no certificate of
# the appliance: the expired ones are warnings (prune them), the expiring
# ones what they always were (they may sign what the appliance trusts
# elsewhere: ESXi hosts, an identity source).
test_expect 'crl-bloat: CRL_BLOAT, and exactly the expired roots openssl finds' '
	{ for i in 1 2 3; do
		echo "ROOT_EXPIRED WARNING TRUSTED_ROOTS/SHA1"
		echo "ROOT_EXPIRED WARNING cn=SHA1,$CA"
	done
	echo "EXPIRING CRITICAL TRUSTED_ROOTS/SHA1"
	echo "EXPIRING CRITICAL cn=SHA1,$CA"
	for i in 1 2 3 4 5 6 7 8; do
		echo "EXPIRING WARNING TRUSTED_ROOTS/SHA1"
		echo "EXPIRING WARNING cn=SHA1,$CA"
	done
	echo "CRL_BLOAT WARNING TRUSTED_ROOT_CRLS"; } >want.bloat &&
	check_scenario crl-bloat 2 --roots 12 --crls 40 <want.bloat &&
	jq -r ".findings[] | select(.code == \"CRL_BLOAT\") | .message" "$T/crl-bloat.json" |
	    grep -q "^41 CRLs " &&
	v=$T/crl-bloat/usr/lib/vmware-vmafd/bin/vecs-cli &&
	$v entry list --store TRUSTED_ROOTS --aliases | tail -n +2 | while read -r a; do
		$v entry getcert --store TRUSTED_ROOTS --alias "$a" |
		    openssl x509 -noout -checkend 0 >/dev/null || echo "TRUSTED_ROOTS/$a"
	done | sort >want &&
	[ "$(wc -l <want)" -eq 3 ] &&
	jq -r ".findings[] | select(.code == \"ROOT_EXPIRED\") | .place" "$T/crl-bloat.json" |
	    grep "^TRUSTED_ROOTS/" | sort >got &&
	diff -u want got
'

# The sources failing, one at a time, on a healthy lab.
H=$T/healthy
ADMIN="cn=Administrator,cn=Users,dc=vsphere,dc=local"
uri_of() { sed -n "s/^ldap_uri=//p" "$1/etc/vcrotate/vcrotate.conf"; }

# One vmdir search failing, the others answered: lab $1's CA entries
# replaced by a referral object, which slapd answers a search under with a
# referral that vcrotate does not chase.
break_ca_search() {
	local u pw=$1/var/lib/vmware-lab/admin.password
	u=$(uri_of "$1") && [ -n "$u" ] || fail "no ldap_uri for $1"
	ldapdelete -x -H "$u" -D "$ADMIN" -y "$pw" -r "$CA" ||
		fail "cannot delete $CA"
	printf "dn: %s\nobjectClass: referral\nobjectClass: extensibleObject\ncn: Certificate-Authorities\nref: ldap://127.0.0.1:1/%s\n" \
	    "$CA" "$CA" | ldapadd -x -H "$u" -D "$ADMIN" -y "$pw" >/dev/null ||
		fail "cannot add a referral at $CA"
}

test_expect 'a wrong password: vmdir named as not read, VECS still reported, exit 3' '
	printf "not-the-password\n" >wrong &&
	{ "$VC" --root "$H" check --bind-dn administrator@vsphere.local \
	    --password-file wrong --json >out.json; expect_eq 3 $?; } &&
	jq -e ".sources.vmdir.read == false and
	    [.sources.vmdir.parts[] | .read] == [false, false, false, false, false] and
	    .sources.vmdir.parts.sts.error == .sources.vmdir.error" out.json >/dev/null &&
	jq -r .sources.vmdir.error out.json | grep -qi "cannot bind to .* as $ADMIN: Invalid credentials" &&
	jq -e "[.certificates[] | select(.source == \"vecs\")] | length > 10" out.json >/dev/null &&
	{ "$VC" --root "$H" check --bind-dn administrator@vsphere.local \
	    --password-file wrong >out.txt; expect_eq 3 $?; } &&
	grep -q "^NOT READ vmdir: cannot bind" out.txt && grep -q "^Status: UNKNOWN" out.txt &&
	grep -q "__MACHINE_CERT" out.txt
'

test_expect 'the administrator with the password from a file or the environment' '
	{ "$VC" --root "$H" check --bind-dn "$ADMIN" \
	    --password-file "$H/var/lib/vmware-lab/admin.password" >/dev/null; expect_eq 0 $?; } &&
	{ VCROTATE_LDAP_PASSWORD=$(cat "$H/var/lib/vmware-lab/admin.password") \
	    "$VC" --root "$H" check --bind-dn administrator@vsphere.local >/dev/null; expect_eq 0 $?; } &&
	{ "$VC" --root "$H" check --bind-dn "$ADMIN" 2>/dev/null >out.txt; expect_eq 3 $?; } &&
	grep -q "needs --password-file or VCROTATE_LDAP_PASSWORD" out.txt
'

test_expect 'an empty password file is named' '
	: >empty &&
	{ "$VC" --root "$H" check --bind-dn "$ADMIN" --password-file empty >out.txt; expect_eq 3 $?; } &&
	grep -q "password file empty is empty" out.txt
'

test_expect 'unreachable LDAP: named, everything else reported, exit 3' '
	{ "$VC" --root "$H" check --ldap-uri ldap://127.0.0.1:1 --json >out.json; expect_eq 3 $?; } &&
	jq -r .sources.vmdir.error out.json | grep -q "cannot reach the directory at ldap://127.0.0.1:1" &&
	jq -e ".sources.vecs.read and .sources.vmca.read" out.json >/dev/null
'

test_expect 'a critical finding wins over an unreadable part (exit 2, not 3)' '
	{ "$VC" --root "$T/sts-expired" check --ldap-uri ldap://127.0.0.1:1 \
	    --at 2100-01-01 --json >out.json; expect_eq 2 $?; } &&
	jq -e ".sources.vmdir.read == false and .status == \"CRITICAL\"" out.json >/dev/null
'

test_expect 'one vmdir search failing: only that part NOT READ, the others and their findings reported' '
	lab=$T/partial && lab_create "$lab" --scenario stale-sts-chain >/dev/null &&
	labctl start "$lab" >/dev/null && break_ca_search "$lab" &&
	rc=0 && "$VC" --root "$lab" check --json >out.json || rc=$?
	expect_eq 2 "$rc" &&
	/usr/bin/python3 -m jsonschema -i out.json "$SCHEMA" &&
	findings "$lab" out.json >got &&
	printf "STS_STALE_CHAIN CRITICAL cn=TenantCredential-1,%s\nSTS_STALE_CHAIN CRITICAL cn=TrustedCertChain-1,cn=TrustedCertificateChains,%s\n" \
	    "$TC" "$TC" | sort >want &&
	diff -u want got &&
	jq -e ".sources.vmdir.read == false and
	    ([.sources.vmdir.parts | to_entries[] | \"\(.key)=\(.value.read)\"] ==
	     [\"sts=true\", \"solution_users=true\", \"endpoints=true\", \"ca_entries=false\", \"nodes=true\"]) and
	    .sources.vmdir.parts.sts.error == null" out.json >/dev/null &&
	jq -r .sources.vmdir.parts.ca_entries.error out.json >err &&
	expect_eq "cannot search $CA: Referral" "$(cat err)" &&
	expect_eq "cannot search $CA: Referral" "$(jq -r .sources.vmdir.error out.json)" &&
	jq -e "[.certificates[] | .kind] | (map(select(. == \"TenantCredential\")) | length == 4) and
	    (map(select(. == \"ServicePrincipal\")) | length == 6) and
	    (map(select(. == \"EndpointSslTrust\")) | length > 0) and
	    (map(select(. == \"CertificateAuthority\")) | length == 0)" out.json >/dev/null &&
	{ "$VC" --root "$lab" check >out.txt; expect_eq 2 $?; } &&
	expect_grep "^NOT READ vmdir CA entries: cannot search $CA: Referral$" out.txt &&
	! grep -q "^NOT READ vmdir:" out.txt &&
	expect_grep "TenantCredential-2 (active)" out.txt &&
	expect_grep "^Solution users (vmdir)$" out.txt &&
	expect_grep "^  vpxd  *same as VECS$" out.txt &&
	expect_grep "^Lookup Service endpoints of vcsa1.example.com: [1-9]" out.txt &&
	! grep -q "^CA entries in vmdir" out.txt &&
	expect_grep "^Status: CRITICAL$" out.txt
'

test_expect 'one vmdir search failing and nothing found in the rest: exit 3 (UNKNOWN)' '
	lab=$T/partial-ok && lab_create "$lab" --scenario healthy >/dev/null &&
	labctl start "$lab" >/dev/null && break_ca_search "$lab" &&
	{ "$VC" --root "$lab" check >out.txt; expect_eq 3 $?; } &&
	expect_grep "^NOT READ vmdir CA entries: " out.txt &&
	expect_grep "^FINDINGS: 0 critical, 0 warning$" out.txt &&
	expect_grep "^Status: UNKNOWN$" out.txt &&
	{ "$VC" --root "$lab" check --json >out.json; expect_eq 3 $?; } &&
	jq -e ".status == \"UNKNOWN\" and .findings == [] and
	    .sources.vmdir.parts.sts.read and .sources.vmdir.parts.solution_users.read" out.json >/dev/null
'

test_expect 'vecs-cli missing: VECS named as not read, vmdir still reported' '
	cp -a "$H/usr/lib/vmware-vmafd/bin/vecs-cli" saved-vecs-cli &&
	rm "$H/usr/lib/vmware-vmafd/bin/vecs-cli" &&
	rc=0 && "$VC" --root "$H" check --json >out.json || rc=$?
	cp -a saved-vecs-cli "$H/usr/lib/vmware-vmafd/bin/vecs-cli" &&
	expect_eq 3 "$rc" &&
	jq -r .sources.vecs.error out.json | grep -q "usr/lib/vmware-vmafd/bin/vecs-cli" &&
	jq -e "[.certificates[] | select(.kind == \"TenantCredential\")] | length == 2" out.json >/dev/null
'

test_expect 'a userCertificate that is not DER: UNPARSEABLE on its DN, the rest reported' '
	mid=$(sed -n "s/^machine_id=//p" "$H/var/lib/vmware-lab/lab.conf") &&
	dn="cn=vpxd-$mid,cn=ServicePrincipals,dc=vsphere,dc=local" &&
	ldapsearch -x -LLL -o ldif-wrap=no -H "$(uri_of "$H")" -D "$ADMIN" \
	    -y "$H/var/lib/vmware-lab/admin.password" -b "$dn" -s base userCertificate >saved.ldif &&
	printf "dn: %s\nchangetype: modify\nreplace: userCertificate\nuserCertificate: not a certificate\n" "$dn" >bad.ldif &&
	ldapmodify -x -H "$(uri_of "$H")" -D "$ADMIN" -y "$H/var/lib/vmware-lab/admin.password" -f bad.ldif >/dev/null &&
	rc=0 && "$VC" --root "$H" check --json >out.json || rc=$?
	{ echo "changetype: modify"; echo "replace: userCertificate"; grep "^userCertificate" saved.ldif; } |
	    sed "1i dn: $dn" | ldapmodify -x -H "$(uri_of "$H")" -D "$ADMIN" \
	    -y "$H/var/lib/vmware-lab/admin.password" >/dev/null &&
	expect_eq 2 "$rc" &&
	findings "$H" out.json >got &&
	expect_eq "UNPARSEABLE CRITICAL cn=vpxd-MID,cn=ServicePrincipals,dc=vsphere,dc=local" "$(cat got)" &&
	jq -r ".findings[0].message" out.json | grep -q "not a DER certificate" &&
	{ "$VC" --root "$H" check >/dev/null; expect_eq 0 $?; }
'

test_expect 'a solution user with its principal but no VECS entry: SOLUTION_USER_MISMATCH on STORE/ALIAS' '
	v=$H/usr/lib/vmware-vmafd/bin/vecs-cli &&
	$v entry getcert --store vpxd --alias vpxd --output c.pem >/dev/null &&
	$v entry getkey --store vpxd --alias vpxd --output k.pem >/dev/null &&
	$v entry delete --store vpxd --alias vpxd -y >/dev/null &&
	rc=0 && "$VC" --root "$H" check --json >out.json || rc=$?
	"$VC" --root "$H" plan --json >plan.json 2>/dev/null || :
	$v entry create --store vpxd --alias vpxd --cert c.pem --key k.pem >/dev/null &&
	expect_eq 2 "$rc" &&
	findings "$H" out.json >got &&
	expect_eq "SOLUTION_USER_MISMATCH CRITICAL vpxd/vpxd" "$(cat got)" &&
	jq -r ".findings[0].message" out.json | grep -q "has its principal cn=vpxd-.* in vmdir but no entry vpxd/vpxd in VECS" &&
	jq -e "[.steps[].targets[] | select(.place == \"vpxd/vpxd\") | .action] == [\"add\"]" plan.json >/dev/null &&
	{ "$VC" --root "$H" check >/dev/null; expect_eq 0 $?; }
'

test_expect 'a garbage PEM in a store: UNPARSEABLE on STORE/ALIAS, the rest reported' '
	g=$T/garbage && lab_create "$g" --scenario healthy >/dev/null && labctl start "$g" >/dev/null &&
	labctl fault "$g" corrupt-entry vpxd vpxd >/dev/null &&
	rc=0 && "$VC" --root "$g" check --json >out.json || rc=$?
	expect_eq 2 "$rc" &&
	findings "$g" out.json >got &&
	expect_eq "UNPARSEABLE CRITICAL vpxd/vpxd" "$(cat got)" &&
	jq -r ".findings[0].message" out.json | grep -q "Private Key entry: damaged PEM certificate" &&
	jq -e "[.certificates[] | select(.status == \"OK\")] | length > 20" out.json >/dev/null
'

test_expect 'no STS credential at all: STS_NO_CREDENTIAL on the tenant' '
	lab=$T/nocred && lab_create "$lab" --scenario healthy >/dev/null && labctl start "$lab" >/dev/null &&
	u=$(uri_of "$lab") && pw=$lab/var/lib/vmware-lab/admin.password &&
	ldapdelete -x -H "$u" -D "$ADMIN" -y "$pw" "cn=TenantCredential-1,$TC" &&
	rc=0 && "$VC" --root "$lab" check --json >out.json || rc=$?
	expect_eq 2 "$rc" &&
	findings "$lab" out.json >got &&
	printf "STS_NO_CREDENTIAL CRITICAL %s\nSTS_STALE_CHAIN WARNING cn=TrustedCertChain-1,cn=TrustedCertificateChains,%s\n" \
	    "$TC" "$TC" | sort >want &&
	diff -u want got
'

test_expect 'an STS key that matches none of its certificates: KEY_MISMATCH on the credential' '
	lab=$T/nokey && lab_create "$lab" --scenario healthy >/dev/null && labctl start "$lab" >/dev/null &&
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -outform DER -out other.der 2>/dev/null &&
	printf "dn: cn=TenantCredential-1,%s\nchangetype: modify\nreplace: vmwSTSPrivateKey\nvmwSTSPrivateKey:< file://%s/other.der\n" \
	    "$TC" "$PWD" >k.ldif &&
	ldapmodify -x -H "$(uri_of "$lab")" -D "$ADMIN" -y "$lab/var/lib/vmware-lab/admin.password" -f k.ldif >/dev/null &&
	rc=0 && "$VC" --root "$lab" check --json >out.json || rc=$?
	expect_eq 2 "$rc" &&
	findings "$lab" out.json >got &&
	expect_eq "KEY_MISMATCH CRITICAL cn=TenantCredential-1,$TC" "$(cat got)"
'

test_expect 'the VMCA root removed from TRUSTED_ROOTS: CHAIN_UNTRUSTED for everything it signed' '
	lab=$T/noroot && lab_create "$lab" --scenario healthy >/dev/null && labctl start "$lab" >/dev/null &&
	v=$lab/usr/lib/vmware-vmafd/bin/vecs-cli &&
	a=$($v entry list --store TRUSTED_ROOTS --aliases | tail -n +2) &&
	$v entry delete --store TRUSTED_ROOTS --alias "$a" -y >/dev/null &&
	rc=0 && "$VC" --root "$lab" check --json >out.json || rc=$?
	expect_eq 2 "$rc" &&
	findings "$lab" out.json >got &&
	sort >want <<-EOF &&
	CHAIN_UNTRUSTED CRITICAL MACHINE_SSL_CERT/__MACHINE_CERT
	CHAIN_UNTRUSTED CRITICAL machine/machine
	CHAIN_UNTRUSTED CRITICAL vsphere-webclient/vsphere-webclient
	CHAIN_UNTRUSTED CRITICAL vpxd/vpxd
	CHAIN_UNTRUSTED CRITICAL vpxd-extension/vpxd-extension
	CHAIN_UNTRUSTED CRITICAL hvc/hvc
	CHAIN_UNTRUSTED CRITICAL wcp/wcp
	CHAIN_UNTRUSTED CRITICAL data-encipherment/data-encipherment
	CHAIN_UNTRUSTED CRITICAL cn=TenantCredential-1,$TC
	EOF
	diff -u want got
'

test_expect 'before the certificates were issued: NOT_YET_VALID' '
	rc=0 && "$VC" --root "$H" check --at 2001-01-01 --json >out.json || rc=$?
	expect_eq 2 "$rc" &&
	jq -r ".findings[].code" out.json | sort -u >got &&
	expect_eq NOT_YET_VALID "$(cat got)" &&
	jq -e "[.findings[] | select(.place == \"MACHINE_SSL_CERT/__MACHINE_CERT\")] | length == 1" out.json >/dev/null
'

test_expect '--at moves the evaluation; --warn-days and --crit-days set the thresholds' '
	{ "$VC" --root "$H" check --at "$(date -u -d "+200 days" +%Y-%m-%d)" --json >out.json; expect_eq 1 $?; } &&
	jq -r ".findings[] | \"\(.code) \(.severity)\"" out.json | sort -u >got &&
	expect_eq "EXPIRING WARNING" "$(cat got)" &&
	{ "$VC" --root "$H" check --at "$(date -u -d "+350 days" +%Y-%m-%dT%H:%M:%SZ)" >/dev/null; expect_eq 2 $?; } &&
	{ "$VC" --root "$H" check --warn-days 400 >/dev/null; expect_eq 1 $?; } &&
	{ "$VC" --root "$H" check --warn-days 400 --crit-days 380 >/dev/null; expect_eq 2 $?; } &&
	{ "$VC" --root "$H" check --at 2026-13-45 2>err; expect_eq 3 $?; } && grep -q "cannot read .2026-13-45. as a date" err &&
	{ "$VC" --root "$H" check --warn-days soon 2>err; expect_eq 3 $?; } && grep -q "number of days" err &&
	{ "$VC" --root "$H" check --crit-days 200 2>err; expect_eq 3 $?; } && grep -q "above the warning threshold" err
'

test_expect 'the configuration file sets thresholds; an unknown key is refused by name' '
	printf "# site policy\nwarn_days = 400\nldap_uri = %s\n" "$(uri_of "$H")" >conf &&
	{ "$VC" --root "$H" --config conf check >/dev/null; expect_eq 1 $?; } &&
	printf "warn_dayz = 4\n" >bad.conf &&
	{ "$VC" --root "$H" --config bad.conf check 2>err; expect_eq 3 $?; } &&
	grep -q "bad.conf:1: unknown setting .warn_dayz." err &&
	{ "$VC" --root "$H" --config missing.conf check 2>err; expect_eq 3 $?; } && grep -q "missing.conf" err
'

test_expect '--prometheus writes a textfile atomically, with every certificate' '
	mkdir prom &&
	{ "$VC" --root "$T/sts-expired" check --prometheus prom/vcrotate.prom >/dev/null; expect_eq 2 $?; } &&
	[ "$(ls prom)" = vcrotate.prom ] &&
	A="appliance=\"vcsa1.example.com\"" &&
	grep -q "^vcrotate_check_status{$A} 2$" prom/vcrotate.prom &&
	grep -q "^vcrotate_findings{$A,severity=\"critical\"} 1$" prom/vcrotate.prom &&
	grep -q "^vcrotate_finding{$A,code=\"EXPIRED\",severity=\"critical\",place=\"cn=TenantCredential-1,.*} 1$" prom/vcrotate.prom &&
	! grep -q "severity=\"[A-Z]" prom/vcrotate.prom &&
	na=$("$T/sts-expired/usr/lib/vmware-vmafd/bin/vecs-cli" entry getcert --store MACHINE_SSL_CERT \
	    --alias __MACHINE_CERT | openssl x509 -noout -enddate | cut -d= -f2) &&
	grep -q "^vcrotate_certificate_not_after_timestamp_seconds{$A,source=\"vecs\",place=\"MACHINE_SSL_CERT/__MACHINE_CERT\",.*} $(date -u -d "$na" +%s)$" prom/vcrotate.prom &&
	sha1=$("$T/sts-expired/usr/lib/vmware-vmafd/bin/vecs-cli" entry getcert --store MACHINE_SSL_CERT \
	    --alias __MACHINE_CERT | openssl x509 -noout -fingerprint -sha1 | cut -d= -f2 | tr -d : | tr A-F a-f) &&
	grep -q "^vcrotate_certificate_not_after_timestamp_seconds{$A,source=\"vecs\",place=\"MACHINE_SSL_CERT/__MACHINE_CERT\",.*,sha1=\"$sha1\",in_use=\"true\"} " prom/vcrotate.prom &&
	n=$(grep -c "^vcrotate_certificate_not_after_timestamp_seconds" prom/vcrotate.prom) &&
	[ "$n" -gt 20 ] &&
	grep -v "^#" prom/vcrotate.prom | sed "s/ [^ ]*$//" | sort | uniq -d >dups && [ ! -s dups ]
'

test_expect '--prometheus: one series per code, severity and place, counting its findings' '
	lab=$T/twice && lab_create "$lab" --scenario healthy >/dev/null && labctl start "$lab" >/dev/null &&
	printf "dn: cn=TenantCredential-1,%s\nchangetype: modify\nadd: userCertificate\nuserCertificate: not a certificate\n-\nreplace: vmwSTSPrivateKey\nvmwSTSPrivateKey: not a key\n" \
	    "$TC" >twice.ldif &&
	ldapmodify -x -H "$(uri_of "$lab")" -D "$ADMIN" -y "$lab/var/lib/vmware-lab/admin.password" \
	    -f twice.ldif >/dev/null &&
	rc=0 && "$VC" --root "$lab" check --json --prometheus twice.prom >out.json || rc=$?
	expect_eq 2 "$rc" &&
	findings "$lab" out.json >got &&
	printf "UNPARSEABLE CRITICAL cn=TenantCredential-1,%s\nUNPARSEABLE CRITICAL cn=TenantCredential-1,%s\n" \
	    "$TC" "$TC" >want &&
	diff -u want got &&
	grep "^vcrotate_finding{" twice.prom >series &&
	expect_eq "vcrotate_finding{appliance=\"vcsa1.example.com\",code=\"UNPARSEABLE\",severity=\"critical\",place=\"cn=TenantCredential-1,$TC\"} 2" \
	    "$(cat series)" &&
	expect_grep "^vcrotate_findings{appliance=\"vcsa1.example.com\",severity=\"critical\"} 2$" twice.prom &&
	grep -v "^#" twice.prom | sed "s/ [^ ]*$//" | sort | uniq -d >dups &&
	[ ! -s dups ]
'

test_expect 'the text report: tables, the STS in checksts terms, the next step; no colour in a pipe' '
	{ "$VC" --root "$T/sts-expired" check >out.txt; expect_eq 2 $?; } &&
	grep -q "^STORE MACHINE_SSL_CERT$" out.txt &&
	grep -q "^  __MACHINE_CERT .* OK$" out.txt &&
	grep -q "^  (1 CRL, no dates)$" out.txt &&
	grep -Eq "^    LEAF \[\] Certificate: ([0-9A-F]{2}:){19}[0-9A-F]{2} expired on [0-9-]+ [0-9:]+ GMT!$" out.txt &&
	grep -Eq "^    ROOT \[\] Certificate ([0-9A-F]{2}:){19}[0-9A-F]{2} will expire in [0-9]+ days \([0-9]+ years\)\.$" out.txt &&
	grep -q "^Next: vcrotate plan" out.txt &&
	! grep -q "$(printf "\033")" out.txt
'

# The appliance's own words (vecs-cli's name for a type it does not know,
# deployment.node.type) reach a terminal as \xHH, never raw.
test_expect 'control bytes in an entry type and the node type are shown as \xHH' '
	lab=$T/escapes && lab_create "$lab" --scenario healthy >/dev/null && labctl start "$lab" >/dev/null &&
	v=$lab/usr/lib/vmware-vmafd/bin/vecs-cli && mv "$v" "$v.real" &&
	cat >"$v" <<-\EOF &&
	#!/bin/sh
	# vecs-cli, but for one store with a type name holding an escape sequence
	export VCROTATE_LAB_ROOT="${0%/usr/lib/vmware-vmafd/bin/vecs-cli}"
	if [ "$1 $2 $4" = "entry list APPLMGMT_PASSWORD" ]; then
		e=$(printf "\033")
		"$0.real" "$@" | sed "s/^Entry type :\tSecret Key$/Entry type :\tSecret${e}[2JKey/"
	else
		exec "$0.real" "$@"
	fi
	EOF
	chmod 0755 "$v" &&
	printf "embedded\033]0;x\007\n" >"$lab/etc/vmware/deployment.node.type" &&
	{ "$VC" --root "$lab" check >out.txt; expect_eq 2 $?; } &&
	! grep -q "$(printf "\033")" out.txt && ! grep -q "$(printf "\007")" out.txt &&
	grep -qF "vcrotate check: vcsa1.example.com (embedded\x1b]0;x\x07, domain vsphere.local)" out.txt &&
	grep -qF "location_password_default                Secret\x1b[2JKey: unknown entry type" out.txt &&
	grep -qF "Secret\x1b[2JKey entry: unknown entry type" out.txt
'

# script(1) gives check a terminal; -e returns check's exit code.
test_expect 'colour on a terminal; none with NO_COLOR' '
	esc=$(printf "\033") &&
	{ script -qec "$VC --root $T/sts-expired check" /dev/null </dev/null >tty.txt; expect_eq 2 $?; } &&
	expect_grep "Status: CRITICAL" tty.txt &&
	expect_grep "${esc}\[1mSTORE MACHINE_SSL_CERT${esc}\[0m" tty.txt &&
	expect_grep "${esc}\[31mCRITICAL${esc}\[0m" tty.txt &&
	{ NO_COLOR=1 script -qec "$VC --root $T/sts-expired check" /dev/null </dev/null >tty.txt; expect_eq 2 $?; } &&
	expect_grep "Status: CRITICAL" tty.txt &&
	! grep -q "$esc" tty.txt
'

test_expect 'bad usage is UNKNOWN (3), also before the word check; 64 elsewhere' '
	for a in "check --nope" "--bogus check" "--root"; do
		rc=0; "$VC" $a >/dev/null 2>&1 || rc=$?
		case $a in --root) expect_eq 64 "$rc" ;; *) expect_eq 3 "$rc" ;; esac || fail "vcrotate $a: exit $rc"
	done &&
	rc=0 && "$VC" --root "$T/healthy" check --warn-days x >/dev/null 2>err || rc=$?
	expect_eq 3 "$rc" && [ -s err ]
'

test_expect 'check | head: a reader that stops early leaves the status as it is' '
	lab=$T/big && lab_create "$lab" --scenario crl-bloat --roots 1000 >/dev/null &&
	labctl start "$lab" >/dev/null 2>&1 || :
	want=0 && { "$VC" --root "$lab" check >full.txt 2>/dev/null || want=$?; }
	# more than a pipe holds, so the writer sees the reader go
	[ "$(wc -c <full.txt)" -gt 131072 ] &&
	"$VC" --root "$lab" check 2>err.txt | head -n 1 >first.txt; got=${PIPESTATUS[0]}
	expect_eq "$want" "$got" &&
	[ "$want" -ne 3 ] &&
	! grep -q "cannot write" err.txt &&
	grep -q "^vcrotate check: " first.txt
'

test_done
