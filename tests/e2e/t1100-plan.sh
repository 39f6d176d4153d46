#!/bin/bash
# vcrotate plan on every lab scenario: the exact steps, in order, with their
# targets and actions; exit 2 when there is nothing to do; and plan show's
# refusals (edited, another appliance, unknown schema, not JSON, a missing or
# mistyped field).
. "$(dirname "$0")/../lib.sh"

VC=$BUILD/vcrotate
TC=cn=vsphere.local,cn=Tenants,cn=IdentityManager,cn=Services,dc=vsphere,dc=local
SP=cn=ServicePrincipals,dc=vsphere,dc=local
LS=cn=ServiceRegistrations,cn=LookupService,cn=default-site,cn=Sites,cn=Configuration,dc=vsphere,dc=local
CA=cn=Certificate-Authorities,cn=Configuration,dc=vsphere,dc=local
VX=VCDB/vpx_ext

# "N kind action place" per target, in plan order, random parts normalized.
steps() {
	local mid
	mid=$(sed -n 's/^machine_id=//p' "$1/var/lib/vmware-lab/lab.conf")
	jq -r '.steps[] | .n as $n | .kind as $k | .targets[] |
	    "\($n) \($k) \(.action) \(.place)"' "$2" |
	    sed -e "s/$mid/MID/g" -E -e 's/[0-9a-fA-F]{40}/SHA1/g'
}

# plan_scenario NAME EXIT [labctl create options] -- [plan options]: expected
# steps on stdin (empty for exit 2).
plan_scenario() {
	local name=$1 want=$2 lab=$T/$1 rc=0 copts=() popts=()
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do copts+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	popts=("$@")
	cat >"$T/$name.want"
	if [ ! -d "$lab" ]; then
		lab_create "$lab" --scenario "$name" "${copts[@]}" >/dev/null
		labctl start "$lab" >/dev/null 2>&1
	fi
	"$VC" --root "$lab" plan --json "${popts[@]}" >"$T/$name.json" 2>"$T/$name.err" || rc=$?
	expect_eq "$want" "$rc" || { cat "$T/$name.err" >&2; return 1; }
	if [ "$want" = 2 ]; then
		grep -q "^nothing to do" "$T/$name.err" && [ ! -s "$T/$name.json" ]
		return
	fi
	steps "$lab" "$T/$name.json" >"$T/$name.got"
	diff -u "$T/$name.want" "$T/$name.got"
}

test_expect 'healthy: nothing to do, exit 2' '
	plan_scenario healthy 2 </dev/null &&
	rc=0 && "$VC" --root "$T/healthy" plan >out || rc=$?
	expect_eq 2 "$rc" && grep -q "^nothing to do" out
'

test_expect 'sts-expired: a new STS credential, then one restart' '
	plan_scenario sts-expired 0 <<-EOF
	1 sts replace cn=TenantCredential-1,$TC
	1 sts replace cn=TrustedCertChain-1,cn=TrustedCertificateChains,$TC
	2 restart restart service-control
	EOF
'

test_expect 'all-expired: STS, every solution user, Machine SSL and its trust, one restart' '
	plan_scenario all-expired 0 <<-EOF
	1 sts replace cn=TenantCredential-1,$TC
	1 sts replace cn=TrustedCertChain-1,cn=TrustedCertificateChains,$TC
	2 solution_user replace machine/machine
	2 solution_user replace cn=machine-MID,$SP
	3 solution_user replace vsphere-webclient/vsphere-webclient
	3 solution_user replace cn=vsphere-webclient-MID,$SP
	4 solution_user replace vpxd/vpxd
	4 solution_user replace cn=vpxd-MID,$SP
	5 solution_user replace vpxd-extension/vpxd-extension
	5 solution_user replace cn=vpxd-extension-MID,$SP
	6 solution_user replace hvc/hvc
	6 solution_user replace cn=hvc-MID,$SP
	7 solution_user replace wcp/wcp
	7 solution_user replace cn=wcp-MID,$SP
	8 machine_ssl replace MACHINE_SSL_CERT/__MACHINE_CERT
	9 trust_anchors replace cn=Endpoint1,cn=MID_com.vmware.cis.cs.identity.sso,$LS
	9 trust_anchors replace cn=Endpoint2,cn=MID_com.vmware.cis.cs.identity.sso,$LS
	9 trust_anchors replace cn=Endpoint1,cn=MID_com.vmware.vcenterserver,$LS
	9 trust_anchors replace cn=Endpoint1,cn=MID_com.vmware.cis.cs.identity.sts,$LS
	9 trust_anchors replace cn=Endpoint1,cn=MID_com.vmware.cis.lookupservice,$LS
	10 extension_thumbprints replace $VX/com.vmware.imagebuilder
	10 extension_thumbprints replace $VX/com.vmware.vcIntegrity
	10 extension_thumbprints replace $VX/com.vmware.vim.eam
	10 extension_thumbprints replace $VX/com.vmware.vlcm.client
	10 extension_thumbprints replace $VX/com.vmware.vsan.health
	11 restart restart service-control
	EOF
'

test_expect 'all-expired on 6.7: the STS_INTERNAL_SSL_CERT copy too' '
	lab=$T/a67 && lab_create "$lab" --scenario all-expired --version 6.7 >/dev/null &&
	labctl start "$lab" >/dev/null 2>&1 &&
	"$VC" --root "$lab" plan --json --scope machine-ssl >p.json &&
	steps "$lab" p.json | grep -v trust_anchors >got &&
	printf "1 machine_ssl replace MACHINE_SSL_CERT/__MACHINE_CERT\n1 machine_ssl replace STS_INTERNAL_SSL_CERT/__MACHINE_CERT\n3 extension_thumbprints replace VCDB/vpx_ext/com.vmware.vsan.health\n4 restart restart service-control\n" >want &&
	diff -u want got
'

test_expect 'stale-sts-chain: the reset that leaves exactly TenantCredential-1 and TrustedCertChain-1' '
	plan_scenario stale-sts-chain 0 <<-EOF
	1 sts replace cn=TenantCredential-1,$TC
	1 sts replace cn=TrustedCertChain-1,cn=TrustedCertificateChains,$TC
	1 sts delete cn=TenantCredential-2,$TC
	1 sts delete cn=TrustedCertChain-2,cn=TrustedCertificateChains,$TC
	2 restart restart service-control
	EOF
'

test_expect 'root-expired: the full reset, root first, the expired old root removed last' '
	plan_scenario root-expired 0 <<-EOF
	1 vmca_root replace /var/lib/vmware/vmca/root.cer
	1 vmca_root replace /var/lib/vmware/vmca/privatekey.pem
	1 vmca_root add TRUSTED_ROOTS/(SHA-1 of the new root)
	1 vmca_root add cn=(key id of the new root),cn=Certificate-Authorities,cn=Configuration
	2 sts replace cn=TenantCredential-1,$TC
	2 sts replace cn=TrustedCertChain-1,cn=TrustedCertificateChains,$TC
	3 solution_user replace machine/machine
	3 solution_user replace cn=machine-MID,$SP
	4 solution_user replace vsphere-webclient/vsphere-webclient
	4 solution_user replace cn=vsphere-webclient-MID,$SP
	5 solution_user replace vpxd/vpxd
	5 solution_user replace cn=vpxd-MID,$SP
	6 solution_user replace vpxd-extension/vpxd-extension
	6 solution_user replace cn=vpxd-extension-MID,$SP
	7 solution_user replace hvc/hvc
	7 solution_user replace cn=hvc-MID,$SP
	8 solution_user replace wcp/wcp
	8 solution_user replace cn=wcp-MID,$SP
	9 data_encipherment replace data-encipherment/data-encipherment
	10 machine_ssl replace MACHINE_SSL_CERT/__MACHINE_CERT
	11 trust_anchors replace cn=Endpoint1,cn=MID_com.vmware.cis.cs.identity.sso,$LS
	11 trust_anchors replace cn=Endpoint2,cn=MID_com.vmware.cis.cs.identity.sso,$LS
	11 trust_anchors replace cn=Endpoint1,cn=MID_com.vmware.vcenterserver,$LS
	11 trust_anchors replace cn=Endpoint1,cn=MID_com.vmware.cis.cs.identity.sts,$LS
	11 trust_anchors replace cn=Endpoint1,cn=MID_com.vmware.cis.lookupservice,$LS
	12 prune_roots delete cn=SHA1,$CA
	12 prune_roots delete TRUSTED_ROOTS/SHA1
	13 extension_thumbprints replace $VX/com.vmware.imagebuilder
	13 extension_thumbprints replace $VX/com.vmware.vcIntegrity
	13 extension_thumbprints replace $VX/com.vmware.vim.eam
	13 extension_thumbprints replace $VX/com.vmware.vlcm.client
	13 extension_thumbprints replace $VX/com.vmware.vsan.health
	14 restart restart service-control
	EOF
'

test_expect 'solution-user-mismatch: vpxd-extension rewritten to both places' '
	plan_scenario solution-user-mismatch 0 <<-EOF
	1 solution_user replace vpxd-extension/vpxd-extension
	1 solution_user replace cn=vpxd-extension-MID,$SP
	2 extension_thumbprints replace $VX/com.vmware.imagebuilder
	2 extension_thumbprints replace $VX/com.vmware.vcIntegrity
	2 extension_thumbprints replace $VX/com.vmware.vim.eam
	2 extension_thumbprints replace $VX/com.vmware.vlcm.client
	3 restart restart service-control
	EOF
'

test_expect 'machine-ssl-no-pnid: a new Machine SSL certificate with the PNID, the names it had and --san names' '
	plan_scenario machine-ssl-no-pnid 0 -- --san vcsa1 --san vcsa1.corp.test <<-EOF &&
	1 machine_ssl replace MACHINE_SSL_CERT/__MACHINE_CERT
	2 trust_anchors replace cn=Endpoint1,cn=MID_com.vmware.cis.cs.identity.sso,$LS
	2 trust_anchors replace cn=Endpoint2,cn=MID_com.vmware.cis.cs.identity.sso,$LS
	2 trust_anchors replace cn=Endpoint1,cn=MID_com.vmware.vcenterserver,$LS
	2 trust_anchors replace cn=Endpoint1,cn=MID_com.vmware.cis.cs.identity.sts,$LS
	2 trust_anchors replace cn=Endpoint1,cn=MID_com.vmware.cis.lookupservice,$LS
	3 extension_thumbprints replace $VX/com.vmware.vsan.health
	4 restart restart service-control
	EOF
	jq -c ".steps[0].profile.san" "$T/machine-ssl-no-pnid.json" >got &&
	expect_eq "[\"DNS:vcsa1.example.com\",\"DNS:vcsa1\",\"IP:127.0.0.1\",\"DNS:vcsa1.corp.test\"]" "$(cat got)" &&
	jq -e ".steps[0].profile.extended_key_usage == [\"serverAuth\"]" "$T/machine-ssl-no-pnid.json" >/dev/null
'

test_expect 'trust-anchor-stale: only the endpoints, pointed at the current Machine SSL certificate' '
	plan_scenario trust-anchor-stale 0 <<-EOF
	1 trust_anchors replace cn=Endpoint1,cn=MID_com.vmware.cis.cs.identity.sso,$LS
	1 trust_anchors replace cn=Endpoint2,cn=MID_com.vmware.cis.cs.identity.sso,$LS
	1 trust_anchors replace cn=Endpoint1,cn=MID_com.vmware.vcenterserver,$LS
	1 trust_anchors replace cn=Endpoint1,cn=MID_com.vmware.cis.cs.identity.sts,$LS
	1 trust_anchors replace cn=Endpoint1,cn=MID_com.vmware.cis.lookupservice,$LS
	2 restart restart service-control
	EOF
'

test_expect 'crl-bloat: nothing to do by default (CRLs are not certificates to replace)' '
	plan_scenario crl-bloat 2 </dev/null
'

test_expect 'article-vcsa1: nothing to do; with --prune-expired-roots, its expired root goes' '
	plan_scenario article-vcsa1 2 </dev/null &&
	plan_scenario article-vcsa1 0 -- --prune-expired-roots <<-EOF
	1 prune_roots delete cn=SHA1,$CA
	1 prune_roots delete TRUSTED_ROOTS/SHA1
	2 restart restart service-control
	EOF
	grep -q "TRUSTED_ROOTS/cb5a495d34f3f2f75d357b47aac3799346665258" "$T/article-vcsa1.json"
'

# 250 days on, the leaves (365 days) have 115 left: check warns (180), and
# plan with no option renews exactly what check flags, from one setting.
test_expect 'by default plan renews everything check flags (warn_days, one setting)' '
	l=$T/healthy && created=$(sed -n "s/^created=//p" "$l/var/lib/vmware-lab/lab.conf") &&
	at=@$((created + 250 * 86400)) &&
	rc=0 && "$VC" --root "$l" check --json --at "$at" >c.json || rc=$?
	expect_eq 1 "$rc" &&
	jq -r ".findings[] | select(.severity != \"INFO\") | .place" c.json | sort >flagged &&
	[ "$(wc -l <flagged)" -ge 5 ] &&
	jq -r .next c.json | grep -q "^vcrotate plan   (" &&
	"$VC" --root "$l" plan --json --at "$at" >p.json &&
	jq -e ".policy.renew_within_days == 180 and .left_alone == []" p.json >/dev/null &&
	jq -r ".steps[].targets[].place" p.json | sort -u >targets &&
	comm -23 flagged targets >missed && { [ ! -s missed ] || { cat missed; fail "flagged by check, not in the plan"; }; } &&
	{ cat "$l/etc/vcrotate/vcrotate.conf"; printf "warn_days = 100\n"; } >w.conf &&
	"$VC" --root "$l" --config w.conf check --at "$at" >/dev/null &&
	rc=0 && "$VC" --root "$l" --config w.conf plan --at "$at" >out || rc=$?
	expect_eq 2 "$rc" && grep -q "^nothing to do: no certificate expires within 100 days" out &&
	rc=0 && "$VC" --root "$l" check --warn-days 400 >out || rc=$?
	expect_eq 1 "$rc" && grep -q "^Next: vcrotate plan --renew-within 400 " out
'

test_expect 'a renewal window and --reset-all widen the plan; --scope narrows it' '
	plan_scenario healthy 0 -- --renew-within 4000 --scope sts <<-EOF &&
	1 sts replace cn=TenantCredential-1,$TC
	1 sts replace cn=TrustedCertChain-1,cn=TrustedCertificateChains,$TC
	2 restart restart service-control
	EOF
	"$VC" --root "$T/healthy" plan --json --renew-within 400 >p.json &&
	jq -r "[.steps[].kind] | unique | join(\" \")" p.json >got &&
	expect_eq "extension_thumbprints machine_ssl restart solution_user trust_anchors" "$(cat got)" &&
	"$VC" --root "$T/healthy" plan --json --reset-all >r.json &&
	expect_eq vmca_root "$(jq -r ".steps[0].kind" r.json)" &&
	expect_eq 13 "$(jq ".steps | length" r.json)" &&
	"$VC" --root "$T/all-expired" plan --json --scope solution-users >s.json &&
	jq -r "[.steps[].kind] | unique | join(\" \")" s.json >got &&
	expect_eq "extension_thumbprints restart solution_user" "$(cat got)"
'

test_expect 'profiles: validity clamped to the root, key size as asked, wcp without SAN' '
	{ "$VC" --root "$T/all-expired" plan --validity-days 5000 2>err; expect_eq 64 $?; } &&
	grep -q "from 1 to 3650" err &&
	"$VC" --root "$T/all-expired" plan --json --validity-days 3650 >reset.json &&
	expect_eq vmca_root "$(jq -r ".steps[0].kind" reset.json)" &&
	"$VC" --root "$T/all-expired" plan --json --key-bits 3072 --validity-days 3650 \
	    --scope solution-users >p.json &&
	na=$("$T/all-expired/usr/lib/vmware-vmafd/bin/vecs-cli" entry list --store TRUSTED_ROOTS --aliases |
	    tail -n +2 | head -1 | xargs -I{} "$T/all-expired/usr/lib/vmware-vmafd/bin/vecs-cli" entry getcert \
	    --store TRUSTED_ROOTS --alias {} | openssl x509 -noout -enddate | cut -d= -f2) &&
	expect_eq "$(date -u -d "$na" +%Y-%m-%dT%H:%M:%SZ)" "$(jq -r ".steps[0].profile.not_after_max" p.json)" &&
	expect_eq 3072 "$(jq ".steps[0].profile.key.bits" p.json)" &&
	jq -e "[.steps[] | select(.kind == \"solution_user\") | select(.targets[0].place == \"wcp/wcp\") |
	    .profile.san] == [[]]" p.json >/dev/null &&
	jq -r ".steps[0].profile.subject" p.json | grep -q "^CN=machine, OU=mID-[0-9a-f-]*, DC=vsphere, DC=local$"
'

test_expect 'the STS credential gets vCenter'"'"'s ten years, cut at the VMCA root; other leaves the policy'"'"'s' '
	"$VC" --root "$T/all-expired" plan --json --scope sts >sts.json &&
	expect_eq 3650 "$(jq ".steps[] | select(.kind == \"sts\") | .profile.validity_days" sts.json)" &&
	root_na=$(openssl x509 -noout -enddate -in "$T/all-expired/var/lib/vmware/vmca/root.cer" | cut -d= -f2) &&
	expect_eq "$(date -u -d "$root_na" +%Y-%m-%dT%H:%M:%SZ)" \
	    "$(jq -r ".steps[] | select(.kind == \"sts\") | .profile.not_after_max" sts.json)" &&
	"$VC" --root "$T/all-expired" plan --json --validity-days 400 >all.json &&
	expect_eq "3650 400" "$(jq -r "[.steps[] | select(.kind == \"sts\" or
	    .kind == \"machine_ssl\") | .profile.validity_days] | map(tostring) | join(\" \")" all.json)"
'

test_expect 'plan -o writes a sealed file that plan show renders' '
	"$VC" --root "$T/sts-expired" plan -o plan.json >out &&
	grep -q "Plan written to plan.json" out &&
	[ "$(stat -c %a plan.json)" = 600 ] &&
	"$VC" --root "$T/sts-expired" plan show plan.json >shown &&
	grep -q "^Step 1: a new STS signing credential" shown &&
	grep -q "^  replace  cn=TenantCredential-1,$TC" shown &&
	grep -q "^Step 2: restart every service once" shown
'

test_expect 'plan show refuses: edited, another appliance, unknown schema, not JSON, missing or mistyped field' '
	sed "s/\"key_bits\": 2048/\"key_bits\": 1024/" plan.json >edited.json &&
	{ "$VC" --root "$T/sts-expired" plan show edited.json 2>err; expect_eq 1 $?; } &&
	grep -q "changed after it was made" err &&
	{ "$VC" --root "$T/healthy" plan show plan.json 2>err; expect_eq 1 $?; } &&
	grep -q "made on another appliance" err &&
	sed "s|vcrotate.plan/1|vcrotate.plan/9|" plan.json >schema.json &&
	{ "$VC" --root "$T/sts-expired" plan show schema.json 2>err; expect_eq 1 $?; } &&
	grep -q "unsupported plan schema vcrotate.plan/9" err &&
	echo "not json" >garbage.json &&
	{ "$VC" --root "$T/sts-expired" plan show garbage.json 2>err; expect_eq 1 $?; } &&
	grep -q "not a JSON document" err &&
	jq "del(.steps[0].targets[1].digest)" plan.json >missing.json &&
	{ "$VC" --root "$T/sts-expired" plan show missing.json 2>err; expect_eq 1 $?; } &&
	grep -q "missing field steps\[0\].targets\[1\].digest" err &&
	jq ".policy.scope = 7" plan.json >typed.json &&
	{ "$VC" --root "$T/sts-expired" plan show typed.json 2>err; expect_eq 1 $?; } &&
	grep -q "field policy.scope must be a string" err &&
	jq ".surprise = true" plan.json >extra.json &&
	{ "$VC" --root "$T/sts-expired" plan show extra.json 2>err; expect_eq 1 $?; } &&
	grep -q "unknown field surprise" err
'

# A resealed plan (the seal is a checksum, not a signature) must still be
# one apply can carry out: its structure is checked field by field.
reseal() { jq "$1" plan.json | jq ".sha256 = \"$(jq "$1" plan.json | jq -c -S "del(.sha256)" | tr -d "\n" | sha256sum | cut -d" " -f1)\"" >"$2"; }

test_expect 'a resealed plan with an unknown kind, no profile, no targets or a bad SAN is refused by field' '
	reseal ".steps[0].kind = \"format_disk\"" k.json &&
	{ "$VC" --root "$T/sts-expired" plan show k.json 2>err; expect_eq 1 $?; } &&
	grep -q "steps\[0\].kind: unknown kind format_disk" err &&
	reseal ".steps[0].profile = null" p.json &&
	{ "$VC" --root "$T/sts-expired" plan show p.json 2>err; expect_eq 1 $?; } &&
	grep -q "steps\[0\].profile must be an object for a sts step" err &&
	reseal ".steps[0].targets = []" t.json &&
	{ "$VC" --root "$T/sts-expired" plan show t.json 2>err; expect_eq 1 $?; } &&
	grep -q "steps\[0\].targets is empty" err &&
	reseal ".steps[0].profile.san = [\"x\"]" s.json &&
	{ "$VC" --root "$T/sts-expired" plan show s.json 2>err; expect_eq 1 $?; } &&
	grep -q "san: DNS:name" err &&
	reseal ".steps[0].profile.key.bits = 99999999" b.json &&
	{ "$VC" --root "$T/sts-expired" apply b.json 2>err; expect_eq 4 $?; } &&
	grep -q "RSA of 2048, 3072 or 4096 bits" err &&
	reseal "." same.json && "$VC" --root "$T/sts-expired" plan show same.json >/dev/null
'

test_expect 'a plan is never made from a partial view, and bad options are named' '
	{ "$VC" --root "$T/sts-expired" plan --ldap-uri ldap://127.0.0.1:1 2>err; expect_eq 1 $?; } &&
	grep -q "cannot read vmdir" err && grep -q "no plan made" err &&
	{ "$VC" --root "$T/sts-expired" plan --scope everything 2>err; expect_eq 64 $?; } &&
	grep -q "unknown scope .everything." err &&
	{ "$VC" --root "$T/sts-expired" plan --key-bits 1024 2>err; expect_eq 64 $?; } &&
	grep -q "2048, 3072 or 4096" err &&
	{ "$VC" --root "$T/sts-expired" plan --san "bad name" 2>err; expect_eq 64 $?; } &&
	grep -q "not a DNS name" err
'

test_done
