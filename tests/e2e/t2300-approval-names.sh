#!/bin/bash
# The plan applied is the plan approved (apply --expect SHA256), and only
# real names reach a certificate: the PNID and every --san must be a DNS
# name or an IP address (an address becomes an IP SAN), in a plan made here
# or in one edited and sealed again. recover takes the audit options of
# whoever finishes a transaction.
. "$(dirname "$0")/../lib.sh"

VC=$BUILD/vcrotate
REG=var/lib/likewise/registry

newlab() {
	lab_create "$T/$1" --scenario "$2" >/dev/null &&
	labctl start "$T/$1" >/dev/null 2>&1 || :
}
sha_of() { sed -n "s/^SHA-256: //p" "$1"; }
# A plan sealed again as plan seals it: keys sorted, compact, non-ASCII as
# \uXXXX in upper case (jansson's JSON_ENSURE_ASCII).
reseal_ascii() {
	python3 -c "
import hashlib, json, re, sys
p = json.load(open(sys.argv[1]))
p.pop(\"sha256\", None)
s = json.dumps(p, sort_keys=True, separators=(\",\", \":\"), ensure_ascii=True)
s = re.sub(r\"\\\\u([0-9a-f]{4})\", lambda m: \"\\\\u\" + m.group(1).upper(), s)
p[\"sha256\"] = hashlib.sha256(s.encode()).hexdigest()
print(json.dumps(p))" "$1"
}

test_expect 'apply --expect: the plan whose SHA-256 plan printed is applied' '
	newlab ok sts-expired &&
	"$VC" --root "$T/ok" plan -o ok.plan >ok.out &&
	sha=$(sha_of ok.out) && [ ${#sha} -eq 64 ] &&
	expect_eq "$sha" "$(jq -r .sha256 ok.plan)" &&
	"$VC" --root "$T/ok" apply ok.plan --expect "$(echo "$sha" | tr a-f A-F)" --yes >apply.out 2>&1 &&
	rc=0 && "$VC" --root "$T/ok" check >/dev/null || rc=$?
	expect_eq 0 "$rc"
'

test_expect 'apply --expect: another plan is refused, naming both digests, nothing changed' '
	newlab other sts-expired &&
	l=$T/other &&
	"$VC" --root "$l" plan -o approved.plan >approved.out &&
	"$VC" --root "$l" plan --renew-within 400 -o wider.plan >/dev/null &&
	lab_dump "$l" >before &&
	rc=0 && "$VC" --root "$l" apply wider.plan --expect "$(sha_of approved.out)" --yes >out 2>err || rc=$?
	expect_eq 4 "$rc" &&
	expect_grep "is not the approved plan" err &&
	grep -q "$(jq -r .sha256 wider.plan)" err &&
	grep -q "$(sha_of approved.out)" err &&
	lab_dump "$l" >after &&
	diff -u before after &&
	# an edited plan, sealed again, is another plan too
	jq ".steps[0].why += [\"edited\"]" approved.plan >e.json &&
	jq ".sha256 = \"$(jq -c -S "del(.sha256)" e.json | tr -d "\n" | sha256sum | cut -d" " -f1)\"" e.json >edited.plan &&
	"$VC" --root "$l" plan show edited.plan >/dev/null &&
	rc=0 && "$VC" --root "$l" apply edited.plan --expect "$(sha_of approved.out)" --yes >/dev/null 2>err || rc=$?
	expect_eq 4 "$rc" &&
	rc=0 && "$VC" --root "$l" apply approved.plan --expect nothex --yes >/dev/null 2>err || rc=$?
	expect_eq 64 "$rc" &&
	expect_grep "not a SHA-256" err
'

test_expect 'a hostile PNID is refused by check, plan and apply, named, nothing changed' '
	newlab bad sts-expired &&
	l=$T/bad &&
	"$VC" --root "$l" plan -o bad.plan >/dev/null &&
	lab_dump "$l" >before &&
	sed -i "s/^PNID=.*/PNID=vcsa1.example.com*)(|(cn=*\\\\/" "$l/$REG" &&
	"$l/usr/lib/vmware-vmafd/bin/vmafd-cli" get-pnid --server-name localhost >pnid &&
	grep -qF "*)(|(cn=*" pnid &&
	rc=0 && "$VC" --root "$l" check >out 2>&1 || rc=$?
	expect_eq 3 "$rc" &&
	grep -q "is not a DNS name or an IP address" out &&
	rc=0 && "$VC" --root "$l" plan -o x.plan >out 2>&1 || rc=$?
	[ "$rc" -ne 0 ] && [ ! -e x.plan ] &&
	grep -q "is not a DNS name or an IP address" out &&
	rc=0 && "$VC" --root "$l" apply bad.plan --yes >out 2>&1 || rc=$?
	expect_eq 4 "$rc" &&
	grep -q "is not a DNS name or an IP address" out &&
	lab_dump "$l" >after &&
	diff -u before after
'

test_expect '--san: names and addresses typed as such, anything else refused (exit 64)' '
	newlab san machine-ssl-no-pnid &&
	l=$T/san &&
	for bad in "bad name" "-lead.example" "a..b" "192.0.2.300" "x*.example.com" "$(printf "%070d" 0).example"; do
		rc=0 && "$VC" --root "$l" plan --san "$bad" >/dev/null 2>err || rc=$?
		expect_eq 64 "$rc" || { echo "accepted: $bad"; false; }
		grep -q "not a DNS name, an IP address or an email address" err
	done &&
	"$VC" --root "$l" plan --san 192.0.2.10 --san 2001:db8::10 --san "*.corp.example" -o san.plan >/dev/null &&
	jq -r ".steps[] | select(.kind == \"machine_ssl\") | .profile.san[]" san.plan >sans &&
	# the PNID first, the names the certificate has kept (issue 17), then the new ones
	printf "%s\n" DNS:vcsa1.example.com DNS:vcsa1 IP:127.0.0.1 IP:192.0.2.10 IP:2001:db8::10 "DNS:*.corp.example" >want &&
	diff -u want sans &&
	"$VC" --root "$l" apply san.plan --yes >/dev/null 2>&1 &&
	"$l/usr/lib/vmware-vmafd/bin/vecs-cli" entry getcert --store MACHINE_SSL_CERT --alias __MACHINE_CERT |
	    openssl x509 -noout -ext subjectAltName >ext &&
	grep -q "IP Address:192.0.2.10" ext &&
	grep -q "IP Address:2001:DB8:0:0:0:0:0:10" ext &&
	grep -qF "DNS:*.corp.example" ext
'

test_expect 'a plan edited to carry a hostile SAN and sealed again is refused at load' '
	l=$T/san &&
	"$VC" --root "$l" plan --renew-within 4000 -o p.json >/dev/null &&
	jq "(.steps[] | select(.kind == \"machine_ssl\") | .profile.san) += [\"DNS:x)(cn=*\"]" p.json >e.json &&
	jq ".sha256 = \"$(jq -c -S "del(.sha256)" e.json | tr -d "\n" | sha256sum | cut -d" " -f1)\"" e.json >hostile.plan &&
	rc=0 && "$VC" --root "$l" plan show hostile.plan >/dev/null 2>err || rc=$?
	expect_eq 1 "$rc" &&
	grep -q "san: DNS:name, IP:address or email:address" err
'

test_expect 'an expired root under an alias that is not UTF-8: planned, shown, pruned, rolled back exactly' '
	newlab art article-vcsa1 &&
	l=$T/art && v=$l/usr/lib/vmware-vmafd/bin/vecs-cli &&
	old=$(jq -r ".findings[] | select(.code == \"ROOT_EXPIRED\" and (.place | startswith(\"TRUSTED_ROOTS/\"))) | .place" \
	    <("$VC" --root "$l" check --json 2>/dev/null) | head -n 1 | sed "s|TRUSTED_ROOTS/||") &&
	[ -n "$old" ] &&
	$v entry getcert --store TRUSTED_ROOTS --alias "$old" --output old.pem &&
	bad=$(printf "old\377\376root") &&
	$v entry create --store TRUSTED_ROOTS --alias "$bad" --cert old.pem >/dev/null &&
	lab_dump "$l" >before &&
	"$VC" --root "$l" plan --prune-expired-roots -o bad.plan >/dev/null &&
	# the place is marked and escaped, and loads again
	grep -q "\\\\u0000TRUSTED_ROOTS/old%FF%FEroot" bad.plan &&
	"$VC" --root "$l" plan show bad.plan >show.out &&
	grep -qF "TRUSTED_ROOTS/old\xff\xferoot" show.out &&
	"$VC" --root "$l" apply bad.plan --yes >apply.out 2>&1 &&
	! $v entry list --store TRUSTED_ROOTS --aliases | grep -qF "$bad" &&
	txn=$("$VC" --root "$l" history | awk "/ success / { print \$4; exit }") &&
	"$VC" --root "$l" rollback "$txn" >rb.out 2>&1 &&
	lab_dump "$l" >after &&
	diff -u before after &&
	$v entry getcert --store TRUSTED_ROOTS --alias "$bad" >back.pem &&
	cmp <(openssl x509 -in old.pem -outform DER) <(openssl x509 -in back.pem -outform DER)
'

test_expect 'a marked place with a bad escape or a NUL is refused at load' '
	l=$T/art &&
	for esc in "%GG" "%00" "%F"; do
		jq ".steps[0].targets[0].place = (\"\\u0000TRUSTED_ROOTS/x\" + \"$esc\")" bad.plan >e.json &&
		reseal_ascii e.json >e.plan &&
		rc=0 && "$VC" --root "$l" plan show e.plan >/dev/null 2>err || rc=$?
		expect_eq 1 "$rc" && grep -q "a bad %XX escape" err || exit 1
	done
'

test_expect 'recover --operator --ticket --reason: who finished it, on the transaction'"'"'s own record' '
	newlab rec sts-expired &&
	"$VC" --root "$T/rec" plan -o rec.plan >/dev/null &&
	rc=0 && { VCROTATE_FAULT=crash-after:3 "$VC" --root "$T/rec" apply rec.plan --yes \
	    --operator alice --ticket CHG-7 --reason "night fix" >rec.out 2>&1; } 2>/dev/null || rc=$?
	expect_eq 137 "$rc" &&
	[ -e "$T/rec/var/lib/vcrotate/journal" ] &&
	"$VC" --root "$T/rec" recover --operator bob --ticket INC-9 --reason "after the crash" >recover.out 2>&1 &&
	"$VC" --root "$T/rec" history --json >h.json &&
	jq -e ".transactions[0] | .operator == \"alice\" and .ticket == \"CHG-7\" and
	    .reason == \"night fix; recovered by bob, ticket INC-9: after the crash\" and
	    (.result | startswith(\"rolled back (recovered)\"))" h.json >/dev/null ||
		{ jq ".transactions[0]" h.json >&2; false; }
	# the half-changed state it replaced, snapshotted first
	git --git-dir="$T/rec/var/lib/vcrotate/backup.git" log -2 --format=%B snapshots >rlog &&
	grep -q "^Result: before recover$" rlog &&
	grep -q "snapshot of the state recover replaces: " recover.out
'

test_done
