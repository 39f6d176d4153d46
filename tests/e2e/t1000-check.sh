#!/bin/bash
# vcrotate check against every lab scenario: the exact set of findings (code,
# severity, place), the exit code, the JSON schema; and the failures of its
# sources: each named, with everything else still reported.
. "$(dirname "$0")/../lib.sh"

VC=$BUILD/vcrotate
SCHEMA=$TOP/docs/check.schema.json

# Findings as "CODE SEVERITY PLACE", sorted, with the lab's random parts
# (machine id, SHA-1 aliases and CA names) replaced by MID and SHA1.
findings() {
	local mid
	mid=$(sed -n 's/^machine_id=//p' "$1/var/lib/vmware-lab/lab.conf")
	jq -r '.findings[] | "\(.code) \(.severity) \(.place)"' "$2" |
	    sed -e "s/$mid/MID/g" -E -e 's/[0-9a-f]{40}/SHA1/g' | sort
}

# check_scenario NAME EXIT [labctl create options]: expected findings on
# stdin. The lab is $T/NAME (NAME-2 and so on when NAME is taken).
check_scenario() {
	local name=$1 want_exit=$2 lab=$T/$1 rc=0 n=1
	shift 2
	while [ -e "$lab" ]; do n=$((n + 1)); lab=$T/$name-$n; done
	sort >"$T/$name.want"
	lab_create "$lab" --scenario "$name" "$@" >/dev/null
	labctl start "$lab" >/dev/null 2>&1
	"$VC" --root "$lab" check --json >"$T/$name.json" || rc=$?
	/usr/bin/python3 -m jsonschema -i "$T/$name.json" "$SCHEMA" ||
		fail "check --json does not validate against $SCHEMA"
	findings "$lab" "$T/$name.json" >"$T/$name.got"
	diff -u "$T/$name.want" "$T/$name.got" || fail "findings of $name"
	expect_eq "$want_exit" "$rc"
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

test_expect 'all-expired: STS, every solution user and Machine SSL (backup copies raise nothing)' '
	check_scenario all-expired 2 <<-EOF
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
	TRUST_ANCHOR_STALE CRITICAL cn=Endpoint2,cn=MID_com.vmware.cis.cs.identity.sts,$LS
	TRUST_ANCHOR_STALE CRITICAL cn=Endpoint1,cn=MID_com.vmware.cis.lookupservice,$LS
	EOF
'

test_expect 'article-vcsa1: its expired trusted root, in VECS and in vmdir' '
	check_scenario article-vcsa1 2 --pnid vcsa1.example.com <<-EOF
	ROOT_EXPIRED CRITICAL TRUSTED_ROOTS/SHA1
	ROOT_EXPIRED CRITICAL cn=SHA1,$CA
	EOF
	grep -q "TRUSTED_ROOTS/cb5a495d34f3f2f75d357b47aac3799346665258" "$T/article-vcsa1.json"
'

test_expect 'crl-bloat: CRL_BLOAT, and exactly the expired roots openssl finds' '
	lab=$T/bloat && lab_create "$lab" --scenario crl-bloat --roots 12 --crls 40 >/dev/null &&
	labctl start "$lab" >/dev/null 2>&1 &&
	rc=0 && "$VC" --root "$lab" check --json >bloat.json || rc=$?
	expect_eq 2 "$rc" &&
	jq -r ".findings[] | select(.code == \"CRL_BLOAT\") | \"\(.severity) \(.place)\"" bloat.json >got &&
	expect_eq "WARNING TRUSTED_ROOT_CRLS" "$(cat got)" &&
	v=$lab/usr/lib/vmware-vmafd/bin/vecs-cli &&
	$v entry list --store TRUSTED_ROOTS --aliases | tail -n +2 | while read -r a; do
		$v entry getcert --store TRUSTED_ROOTS --alias "$a" |
		    openssl x509 -noout -checkend 0 >/dev/null || echo "TRUSTED_ROOTS/$a"
	done | sort >want &&
	[ -s want ] &&
	jq -r ".findings[] | select(.code == \"ROOT_EXPIRED\") | .place" bloat.json |
	    grep "^TRUSTED_ROOTS/" | sort >got &&
	diff -u want got
'

# The sources failing, one at a time, on a healthy lab.
H=$T/healthy
ADMIN="cn=Administrator,cn=Users,dc=vsphere,dc=local"
uri_of() { sed -n "s/^ldap_uri=//p" "$1/etc/vcrotate/vcrotate.conf"; }

test_expect 'a wrong password: vmdir named as not read, VECS still reported, exit 3' '
	printf "not-the-password\n" >wrong &&
	{ "$VC" --root "$H" check --bind-dn administrator@vsphere.local \
	    --password-file wrong --json >out.json; expect_eq 3 $?; } &&
	jq -e ".sources.vmdir.read == false" out.json >/dev/null &&
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
	grep -q "^vcrotate_check_status 2$" prom/vcrotate.prom &&
	grep -q "^vcrotate_findings{severity=\"critical\"} 1$" prom/vcrotate.prom &&
	grep -q "^vcrotate_finding{code=\"EXPIRED\",severity=\"CRITICAL\",place=\"cn=TenantCredential-1," prom/vcrotate.prom &&
	na=$("$T/sts-expired/usr/lib/vmware-vmafd/bin/vecs-cli" entry getcert --store MACHINE_SSL_CERT \
	    --alias __MACHINE_CERT | openssl x509 -noout -enddate | cut -d= -f2) &&
	grep -q "^vcrotate_certificate_not_after_seconds{source=\"vecs\",place=\"MACHINE_SSL_CERT/__MACHINE_CERT\",.*} $(date -u -d "$na" +%s)$" prom/vcrotate.prom &&
	n=$(grep -c "^vcrotate_certificate_not_after_seconds" prom/vcrotate.prom) &&
	[ "$n" -gt 20 ]
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

test_done
