#!/bin/bash
# check in an SSO domain (issue 20; docs/check.md "The SSO domain"): the
# nodes read from this node's directory, each other domain controller's
# own vmdir asked over LDAPS whether it holds this node's STS entries yet,
# each other node's endpoints asked over TLS which certificate they serve;
# --node limits it; a management node (external PSC) has no VMCA and
# plans no STS, root or VMCA-issued step, saying where they live.
# Every vcrotate runs under `labctl exec', where the nodes' PNIDs resolve.
. "$(dirname "$0")/../lib.sh"

VC=$BUILD/vcrotate
SCHEMA=$TOP/docs/check.schema.json
D=$T/dom
P=$T/psc
domain_create() { echo "$1" >>"$T/.labs"; labctl create-domain "$@"; }
# vcrotate on node $1 of domain $D (or $DOM), resolving the domain's names.
vc() { local n=$1; shift; labctl exec "${DOM:-$D}" "$VC" --root "${DOM:-$D}/$n" "$@"; }
codes() { jq -r '.findings[] | "\(.code) \(.severity) \(.place)"' "$1" | sort; }
conf() { sed -n "s/^$2=//p" "$1/var/lib/vmware-lab/lab.conf"; }
# What a node's endpoint serves and what its registration trusts, as
# openssl and ldapsearch see them (not vcrotate): SHA-256 fingerprints.
served() {
	labctl exec "$D" openssl s_client -connect "$1:443" -servername "$1" </dev/null 2>/dev/null |
	    openssl x509 -noout -fingerprint -sha256 | cut -d= -f2
}
trusted() {
	ldapsearch -x -LLL -o ldif-wrap=no -H "ldap://127.0.0.1:$(conf "$D/vc1" ldap_port)" \
	    -D cn=Administrator,cn=Users,dc=vsphere,dc=local -y "$D/vc1/var/lib/vmware-lab/admin.password" \
	    -b "cn=Sites,cn=Configuration,dc=vsphere,dc=local" \
	    "(&(objectClass=vmwLKUPEndpointRegistration)(vmwLKUPURI=https://$1:443/sdk))" vmwLKUPEndpointSslTrust |
	    sed -n 's/^vmwLKUPEndpointSslTrust: //p' | base64 -d |
	    openssl x509 -inform DER -noout -fingerprint -sha256 | cut -d= -f2
}
TENANT=cn=vsphere.local,cn=Tenants,cn=IdentityManager,cn=Services,dc=vsphere,dc=local

test_expect 'a 3-node domain, vc3 registered with a certificate it does not serve' '
	domain_create "$D" --nodes 3 --scenario healthy --scenario vc3=trust-anchor-stale >/dev/null &&
	labctl start "$D" >/dev/null 2>&1
	[ -f "$D/domain.conf" ] || fail "no domain"
'

test_expect 'check on vc1 asks vc3 itself: NODE_TRUST_ANCHOR_STALE on each of its endpoints, exit 2, Next names vc3' '
	rc=0; vc vc1 check --json >out.json || rc=$?
	expect_eq 2 "$rc" &&
	/usr/bin/python3 -m jsonschema -i out.json "$SCHEMA" 2>/dev/null &&
	a=$(served vc3.example.com) && b=$(trusted vc3.example.com) && [ -n "$a" ] && [ -n "$b" ] &&
	[ "$a" != "$b" ] || fail "openssl and ldapsearch do not see vc3 stale: $a $b"
	expect_eq "$(served vc2.example.com)" "$(trusted vc2.example.com)" &&
	codes out.json | grep " CRITICAL " >crit &&
	expect_eq 5 "$(grep -c "^NODE_TRUST_ANCHOR_STALE CRITICAL cn=Endpoint" crit)" &&
	expect_eq 5 "$(wc -l <crit)" &&
	jq -r ".findings[] | select(.code == \"NODE_TRUST_ANCHOR_STALE\") | .message" out.json |
	    grep -c "than the one vc3.example.com serves" | grep -qx 5 &&
	! codes out.json | grep -q "UNREACHABLE\|STS_NOT_REPLICATED" &&
	jq -e "[.domain.nodes[] | \"\(.pnid) \(.kind) \(.self) \(.directory)\"] ==
	    [\"vc1.example.com domain_controller true not asked\",
	     \"vc2.example.com domain_controller false same\",
	     \"vc3.example.com domain_controller false same\"]" out.json >/dev/null &&
	jq -e "[.domain.endpoints[] | select(.node == \"vc2.example.com\") | .state] | unique == [\"trusted\"]" out.json >/dev/null &&
	jq -e "[.domain.endpoints[] | select(.node == \"vc3.example.com\") | .state] | unique == [\"stale\"]" out.json >/dev/null &&
	jq -r .next out.json | grep -q "^vcrotate plan on vc3.example.com" &&
	{ vc vc1 check >out.txt || :; } && grep -q "^SSO domain: 3 nodes" out.txt &&
	grep -q "^  vc3.example.com .* STS: same; endpoints: 5 stale" out.txt
'

test_expect 'the same on vc2; on vc3 its own registrations are TRUST_ANCHOR_STALE (its check, no network)' '
	rc=0; vc vc2 check --json >out.json || rc=$?
	expect_eq 2 "$rc" &&
	expect_eq 5 "$(codes out.json | grep -c "^NODE_TRUST_ANCHOR_STALE ")" &&
	rc=0; vc vc3 check --json >out3.json || rc=$?
	expect_eq 2 "$rc" &&
	codes out3.json | grep -q "^TRUST_ANCHOR_STALE CRITICAL" &&
	! codes out3.json | grep -q "^NODE_"
'

test_expect '--node: only that node asked; this node'"'"'s own PNID asks none; an unknown one is refused (exit 3)' '
	rc=0; vc vc1 check --node vc2.example.com --json >out.json || rc=$?
	expect_eq 0 "$rc" &&
	jq -e "[.domain.nodes[] | .directory] == [\"not asked\", \"same\", \"not asked\"]" out.json >/dev/null &&
	jq -e "[.domain.endpoints[] | select(.node == \"vc3.example.com\") | .state] | unique == [\"not asked\"]" out.json >/dev/null &&
	rc=0; vc vc1 check --node vc1.example.com --json >out.json || rc=$?
	expect_eq 0 "$rc" &&
	jq -e "[.domain.nodes[] | .directory] | unique == [\"not asked\"]" out.json >/dev/null &&
	rc=0; vc vc1 check --node vc9.example.com >out 2>err || rc=$?
	expect_eq 3 "$rc" &&
	grep -q "^vcrotate check: --node vc9.example.com: no such node in the SSO domain (vc1.example.com, vc2.example.com, vc3.example.com)" err
'

test_expect 'names that do not resolve: each node named unreachable and why, a warning, the rest of the report as before' '
	rc=0; "$VC" --root "$D/vc1" check --json >out.json || rc=$?
	expect_eq 1 "$rc" &&
	codes out.json >got &&
	printf "ENDPOINT_UNREACHABLE WARNING cn=vc2.example.com,ou=Domain Controllers,dc=vsphere,dc=local\nENDPOINT_UNREACHABLE WARNING cn=vc3.example.com,ou=Domain Controllers,dc=vsphere,dc=local\nNODE_UNREACHABLE WARNING cn=vc2.example.com,ou=Domain Controllers,dc=vsphere,dc=local\nNODE_UNREACHABLE WARNING cn=vc3.example.com,ou=Domain Controllers,dc=vsphere,dc=local\n" >want &&
	diff -u want got &&
	jq -r ".findings[] | select(.code == \"ENDPOINT_UNREACHABLE\") | .message" out.json | grep -q "cannot resolve vc2.example.com"
'

test_expect 'a node stopped: its directory and its endpoints named unreachable; started again, all answer' '
	labctl stop "$D/vc2" >/dev/null &&
	rc=0; vc vc1 check --json >out.json || rc=$?
	ok=1
	[ "$rc" = 2 ] &&
	codes out.json | grep -qx "NODE_UNREACHABLE WARNING cn=vc2.example.com,ou=Domain Controllers,dc=vsphere,dc=local" &&
	codes out.json | grep -qx "ENDPOINT_UNREACHABLE WARNING cn=vc2.example.com,ou=Domain Controllers,dc=vsphere,dc=local" &&
	jq -r ".findings[] | select(.code == \"NODE_UNREACHABLE\") | .message" out.json |
	    grep -q "its directory could not be read: cannot connect to vc2.example.com port 636: Connection refused" &&
	ok=0
	labctl start "$D/vc2" >/dev/null 2>&1 || :
	[ $ok = 0 ] || fail "with vc2 stopped: exit $rc, $(codes out.json | tr "\n" " ")"
	rc=0; vc vc1 check --json >out.json || rc=$?
	expect_eq 2 "$rc" && ! codes out.json | grep -q UNREACHABLE
'

sts_of() {
	vc "$1" check --json --node "$1.example.com" |
	    jq -r '[.certificates[] | select(.kind == "TenantCredential") | .sha1] | join(" ")'
}

test_expect 'apply of a new STS waits for every other domain controller to hold it; vc3 paused: rolled back after --replication-wait' '
	labctl repl "$D/vc3" pause >/dev/null &&
	before=$(sts_of vc1) && [ -n "$before" ] &&
	vc vc1 plan --scope sts --renew-within 3650 -o sts.plan >/dev/null &&
	vc vc1 plan show sts.plan >show.out &&
	grep -q "because the STS signing credential is the SSO domain.s: before this restart apply waits until vmdir has replicated it to vc2.example.com, vc3.example.com; every other node must then restart its services, one at a time, in this order: vc2.example.com, vc3.example.com (VMware KB 318197" show.out &&
	vc vc1 apply sts.plan --dry-run >dry.out 2>&1 &&
	grep -q "wait (at most 120 s) until vc3.example.com holds the new STS credential" dry.out &&
	rc=0; vc vc1 apply sts.plan --yes --replication-wait 6 >apply.out 2>&1 || rc=$?
	expect_eq 1 "$rc" &&
	grep -q "waiting for vmdir to replicate the new STS credential to vc3.example.com" apply.out &&
	grep -q "vmdir has not replicated the new STS credential to vc3.example.com within 6 s" apply.out &&
	grep -q "rolled back" apply.out &&
	expect_eq "$before" "$(sts_of vc1)" &&
	vc vc1 history --json | jq -e ".transactions[0].result | test(\"rolled back\")" >/dev/null
'

test_expect 'an STS replaced on vc1 while replication to vc3 is paused (--replication-wait 0): STS_NOT_REPLICATED for vc3 until it resumes' '
	vc vc1 apply sts.plan --yes --replication-wait 0 >apply.out 2>&1 || { cat apply.out >&2; fail "apply"; }
	n=0; while [ $n -lt 50 ]; do
		vc vc1 check --json >out.json || :
		jq -e ".domain.nodes[1].directory == \"same\"" out.json >/dev/null && break
		sleep 0.2; n=$((n + 1))
	done
	jq -e "[.domain.nodes[] | .directory] == [\"not asked\", \"same\", \"differs\"]" out.json >/dev/null &&
	codes out.json | grep -qx "STS_NOT_REPLICATED WARNING cn=vc3.example.com,ou=Domain Controllers,dc=vsphere,dc=local" &&
	jq -r ".findings[] | select(.code == \"STS_NOT_REPLICATED\") | .message" out.json |
	    grep -Eq "^node vc3.example.com.s STS signing entries differ from this node.s \\(cn=(TenantCredential|TrustedCertChain)-[0-9]+,(cn=TrustedCertificateChains,)?$TENANT: (only here|other certificates|only there)\\): vmdir has not replicated the latest change between them yet" &&
	labctl repl "$D/vc3" resume >/dev/null &&
	n=0; while [ $n -lt 50 ]; do
		vc vc1 check --json >out.json || :
		jq -e ".domain.nodes[2].directory == \"same\"" out.json >/dev/null && break
		sleep 0.2; n=$((n + 1))
	done
	jq -e "[.domain.nodes[] | .directory] == [\"not asked\", \"same\", \"same\"]" out.json >/dev/null &&
	! codes out.json | grep -q STS_NOT_REPLICATED
'

test_expect 'a 6.7 PSC and two management nodes: check on vc1 reads the PSC, has no VMCA of its own, asks the PSC; exit 0' '
	domain_create "$P" --nodes 2 --external-psc --scenario healthy --no-vcdb >/dev/null &&
	labctl start "$P" >/dev/null 2>&1
	DOM=$P; rc=0; vc vc1 check --json >out.json || rc=$?
	expect_eq 0 "$rc" &&
	/usr/bin/python3 -m jsonschema -i out.json "$SCHEMA" 2>/dev/null &&
	jq -e ".sources.vmca.read and .appliance.node_type == \"management\"" out.json >/dev/null &&
	jq -e "[.domain.nodes[] | \"\(.pnid) \(.kind) \(.self) \(.directory)\"] ==
	    [\"psc.example.com domain_controller false same\",
	     \"vc1.example.com management true not asked\",
	     \"vc2.example.com management false not asked\"]" out.json >/dev/null &&
	{ DOM=$P vc vc1 check >out.txt || :; } && grep -q "^VMCA: none on a management node (its VMCA certificates come from the VMCA of psc.example.com)" out.txt
'

test_expect 'a management node plans no STS, root or VMCA-issued step: each kept, naming the PSC' '
	DOM=$P; rc=0; vc vc1 plan --renew-within 3650 -o m.plan >out 2>&1 || rc=$?
	expect_eq 2 "$rc" && [ ! -e m.plan ] &&
	grep -q "^kept: the STS signing credential is the SSO domain.s, kept in the directory of the PSC psc.example.com" out &&
	grep -q "^kept: MACHINE_SSL_CERT/__MACHINE_CERT: issued by .*O=psc.example.com.*; a management node has no VMCA" out &&
	grep -q "^kept: vpxd/vpxd: issued by" out &&
	rc=0; vc vc1 plan --reset-all -o m.plan >out 2>&1 || rc=$?
	grep -q "^kept: the VMCA root is the PSC psc.example.com.s: a management node has no VMCA" out &&
	[ ! -e m.plan ] || fail "a management node planned a new root"
	rc=0; vc vc1 plan --import vmca-root=ca.pem,ca.key -o m.plan >out 2>&1 || rc=$?
	expect_eq 64 "$rc" && [ ! -e m.plan ] &&
	grep -q "^vcrotate plan: --import vmca-root: a management node has no VMCA; its PSC psc.example.com keeps it" out &&
	rc=0; vc psc plan --scope sts --renew-within 3650 -o p.plan >out 2>&1 || rc=$?
	expect_eq 0 "$rc" && jq -e "[.steps[] | .kind] | index(\"sts\") != null" p.plan >/dev/null
'

test_done
