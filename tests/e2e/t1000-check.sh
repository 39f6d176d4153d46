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

test_expect 'all-expired: STS, every solution user and Machine SSL; backups warn' '
	check_scenario all-expired 2 <<-EOF
	EXPIRED CRITICAL MACHINE_SSL_CERT/__MACHINE_CERT
	EXPIRED CRITICAL machine/machine
	EXPIRED CRITICAL vsphere-webclient/vsphere-webclient
	EXPIRED CRITICAL vpxd/vpxd
	EXPIRED CRITICAL vpxd-extension/vpxd-extension
	EXPIRED CRITICAL hvc/hvc
	EXPIRED CRITICAL wcp/wcp
	EXPIRED CRITICAL cn=TenantCredential-1,$TC
	EXPIRED WARNING BACKUP_STORE/bkp___MACHINE_CERT
	EXPIRED WARNING BACKUP_STORE/bkp_machine
	EXPIRED WARNING BACKUP_STORE/bkp_vsphere-webclient
	EXPIRED WARNING BACKUP_STORE/bkp_vpxd
	EXPIRED WARNING BACKUP_STORE/bkp_vpxd-extension
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
	EXPIRED WARNING BACKUP_STORE/bkp___MACHINE_CERT
	EXPIRED WARNING BACKUP_STORE/bkp_machine
	EXPIRED WARNING BACKUP_STORE/bkp_vsphere-webclient
	EXPIRED WARNING BACKUP_STORE/bkp_vpxd
	EXPIRED WARNING BACKUP_STORE/bkp_vpxd-extension
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
	EXPIRED WARNING BACKUP_STORE/bkp___MACHINE_CERT
	EXPIRED WARNING BACKUP_STORE/bkp_machine
	EXPIRED WARNING BACKUP_STORE/bkp_vsphere-webclient
	EXPIRED WARNING BACKUP_STORE/bkp_vpxd
	EXPIRED WARNING BACKUP_STORE/bkp_vpxd-extension
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

test_done
