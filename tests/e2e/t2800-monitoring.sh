#!/bin/bash
# check for monitoring: --format nagios (the status line, performance data in
# the guidelines' syntax, the long output, '|' kept out of the text), the
# Prometheus metrics (promtool check metrics; the alert rules of
# docs/check.md unit-tested with promtool test rules on the metrics of labs),
# a reader that stops early (SIGPIPE), and the severities that decide it all:
# an unused expired root (WARNING, pruned by the command Next names), one
# in use through an intermediate (CRITICAL), expired backup copies (INFO),
# a certificate in TRUSTED_ROOTS that is not a CA.
. "$(dirname "$0")/../lib.sh"

VC=$BUILD/vcrotate
PROMTOOL=/usr/bin/promtool
DOC=$TOP/docs/check.md
TC=cn=vsphere.local,cn=Tenants,cn=IdentityManager,cn=Services,dc=vsphere,dc=local

# exits N COMMAND...: COMMAND exits N (fails the test otherwise).
exits() {
	local want=$1 rc=0
	shift
	"$@" || rc=$?
	[ "$rc" -eq "$want" ] || fail "exit $rc, not $want: $*"
}

# The findings of check --json FILE, "CODE SEVERITY PLACE" a line.
findings() { jq -r ".findings[] | \"\(.code) \(.severity) \(.place)\"" "$1"; }

lab() {
	local name=$1 scenario=$2
	shift 2
	lab_create "$T/$name" --scenario "$scenario" "$@" >/dev/null || fail "labctl create $scenario"
	labctl start "$T/$name" >/dev/null 2>&1 || :
}
lab h healthy
lab x all-expired
lab a article-vcsa1
lab s sts-expired

Q="'"

# One token of performance data, as the Monitoring Plugins guidelines spell
# it: 'label'=value[UOM];[warn];[crit];[min];[max], ranges [@][start:][end].
R='@?(~|-?[0-9.]+)?:?(-?[0-9.]+)?'
PERF="^'[^'=]+'=-?[0-9.]+(s|ms|us|%|B|KB|MB|TB|c)?(;($R)?(;($R)?(;(-?[0-9.]+)?(;(-?[0-9.]+)?)?)?)?)?$"

# perf_ok LINE: the line is "text | perfdata" with one '|' and each token of
# the perfdata right.
perf_ok() {
	local line=$1 t
	[ "$(printf "%s" "$line" | tr -cd "|" | wc -c)" -eq 1 ] || fail "not one '|': $line"
	for t in ${line#*| }; do
		[[ $t =~ $PERF ]] || fail "performance data token '$t' is not in the guidelines' syntax"
	done
}

test_expect 'nagios: CRITICAL status line, perfdata, long output, exit 2' '
	exits 2 "$VC" --root "$T/s" check --format nagios >out &&
	l1=$(head -n 1 out) &&
	{ [[ $l1 =~ ^"VCROTATE CRITICAL - 1 critical, 0 warning: STS signing certificate expired on "[0-9-]+" "[0-9:]+" GMT | " ]] ||
		fail "status line: $l1"; } &&
	perf_ok "$l1" &&
	{ [[ $l1 =~ " ${Q}machine_ssl_days${Q}="[0-9]+";180:;30: " ]] &&
	    [[ $l1 =~ " ${Q}sts_days${Q}=-1"[01]";180:;30: " ]] &&
	    [[ $l1 =~ " ${Q}critical${Q}=1;;0;0 ${Q}warning${Q}=0;0;;0 ${Q}info${Q}=0;;;0"$ ]] ||
	    fail "perfdata: $l1"; } &&
	# the VCDB server stopped with the core (the STS): named, not counted
	sed -n 2p out | grep -q "^NOT READ VCDB: psql -d VCDB " &&
	sed -n 3p out | grep -q "^CRITICAL EXPIRED cn=TenantCredential-1,$TC: STS signing certificate expired on " &&
	expect_eq "Next: vcrotate plan   (an ordered replacement plan to review; nothing is changed)" "$(tail -n 1 out)" &&
	expect_eq 4 "$(wc -l <out)" &&
	! grep -q "|" <(tail -n +2 out)
'

test_expect 'nagios: OK on a healthy appliance, one line, exit 0' '
	exits 0 "$VC" --root "$T/h" check --format nagios >out &&
	expect_eq 1 "$(wc -l <out)" &&
	l1=$(head -n 1 out) && perf_ok "$l1" &&
	{ [[ $l1 =~ ^"VCROTATE OK - 0 critical, 0 warning: nothing in use expires within 180 days | " ]] ||
		fail "status line: $l1"; } &&
	{ [[ $l1 =~ " ${Q}critical${Q}=0;;0;0 ${Q}warning${Q}=0;0;;0 ${Q}info${Q}=0;;;0"$ ]] || fail "perfdata: $l1"; }
'

test_expect 'nagios: UNKNOWN names the part not read; WARNING on article-vcsa1' '
	printf "wrong\n" >pw &&
	exits 3 "$VC" --root "$T/h" check --format nagios --bind-dn administrator@vsphere.local \
	    --password-file pw >out &&
	l1=$(head -n 1 out) && perf_ok "$l1" &&
	{ [[ $l1 =~ ^"VCROTATE UNKNOWN - 0 critical, 0 warning: vmdir NOT READ: " ]] || fail "status line: $l1"; } &&
	grep -q "^NOT READ vmdir: " out &&
	exits 1 "$VC" --root "$T/a" check --format nagios >out &&
	l1=$(head -n 1 out) && perf_ok "$l1" &&
	{ [[ $l1 =~ ^"VCROTATE WARNING - 0 critical, "[0-9]+" warning: ".*"expired on 2022-09-25 ".*"remove it with vcrotate plan --prune-expired-roots | " ]] ||
		fail "status line: $l1"; } &&
	grep -q "^Next: vcrotate plan --prune-expired-roots " out
'

# A certificate that is not a CA, put in TRUSTED_ROOTS under an alias with
# a "|": a finding of its own, and the plugin output keeps its one "|".
test_expect 'TRUSTED_ROOT_NOT_CA: a leaf in TRUSTED_ROOTS; no plan step for it, and Next says so' '
	lab n healthy && v=$T/n/usr/lib/vmware-vmafd/bin/vecs-cli &&
	$v entry getcert --store machine --alias machine >leaf.pem &&
	$v entry create --store TRUSTED_ROOTS --alias "leaf|x" --cert leaf.pem >/dev/null &&
	exits 1 "$VC" --root "$T/n" check --json >out.json &&
	expect_eq "TRUSTED_ROOT_NOT_CA WARNING TRUSTED_ROOTS/leaf|x" "$(findings out.json)" &&
	jq -r .next out.json | grep -q "^no plan step fixes what was found" &&
	exits 2 "$VC" --root "$T/n" plan >/dev/null &&
	exits 1 "$VC" --root "$T/n" check --format nagios >out &&
	perf_ok "$(head -n 1 out)" &&
	! grep -q "|" <(tail -n +2 out) &&
	grep -qF "WARNING TRUSTED_ROOT_NOT_CA TRUSTED_ROOTS/leaf\x7cx: " out
'

# An expired root that signs nothing on article-vcsa1: WARNING; the command
# Next names removes it, and then all is OK.
test_expect 'article-vcsa1: WARNING, exit 1; plan --prune-expired-roots and apply make it OK' '
	exits 1 "$VC" --root "$T/a" check >out &&
	grep -q "^Status: WARNING$" out &&
	next=$(sed -n "s/^Next: \(vcrotate plan --prune-expired-roots\) .*/\1/p" out) &&
	[ -n "$next" ] &&
	"$VC" --root "$T/a" plan --prune-expired-roots -o prune.plan >/dev/null &&
	"$VC" --root "$T/a" apply prune.plan --yes >apply.out 2>&1 &&
	exits 0 "$VC" --root "$T/a" check >out &&
	grep -q "^Nothing to do.$" out
'

# A root expired in 2019 that issued an intermediate (valid, also in
# TRUSTED_ROOTS) that issued a leaf in a store of the appliance: the root
# is in use through the intermediate. Without the leaf it is not.
test_expect 'an expired root in use through an intermediate is CRITICAL; unused, WARNING and pruned' '
	lab r healthy && v=$T/r/usr/lib/vmware-vmafd/bin/vecs-cli &&
	printf "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n" >ca.ext &&
	printf "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n" >leaf.ext &&
	faketime "2018-01-01 00:00:00" openssl req -x509 -newkey rsa:2048 -nodes -keyout r.key -out r.pem \
	    -days 365 -subj "/CN=Old Corp Root" -addext "basicConstraints=critical,CA:TRUE" \
	    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null &&
	openssl req -new -newkey rsa:2048 -nodes -keyout i.key -out i.csr -subj "/CN=Old Corp Issuing" 2>/dev/null &&
	faketime "2018-06-01 00:00:00" openssl x509 -req -in i.csr -CA r.pem -CAkey r.key -CAcreateserial \
	    -days 5000 -extfile ca.ext -out i.pem 2>/dev/null &&
	openssl req -new -newkey rsa:2048 -nodes -keyout l.key -out l.csr -subj "/CN=app.example.com" 2>/dev/null &&
	openssl x509 -req -in l.csr -CA i.pem -CAkey i.key -CAcreateserial -days 365 -extfile leaf.ext \
	    -out l.pem 2>/dev/null &&
	openssl verify -no_check_time -CAfile r.pem -untrusted i.pem l.pem >/dev/null &&
	$v entry create --store TRUSTED_ROOTS --alias oldroot --cert r.pem >/dev/null &&
	$v entry create --store TRUSTED_ROOTS --alias oldissuing --cert i.pem >/dev/null &&
	$v store create --name app >/dev/null &&
	$v entry create --store app --alias app --cert l.pem --key l.key >/dev/null &&
	exits 2 "$VC" --root "$T/r" check --json >out.json &&
	expect_eq "ROOT_EXPIRED CRITICAL TRUSTED_ROOTS/oldroot" "$(findings out.json)" &&
	jq -r .next out.json | grep -q "^no plan step fixes what was found" &&
	exits 2 "$VC" --root "$T/r" plan --prune-expired-roots --json >p.json 2>/dev/null &&
	$v entry delete --store app --alias app -y >/dev/null &&
	exits 1 "$VC" --root "$T/r" check --json >out.json &&
	expect_eq "ROOT_EXPIRED WARNING TRUSTED_ROOTS/oldroot" "$(findings out.json)" &&
	"$VC" --root "$T/r" plan --prune-expired-roots --json >p.json &&
	expect_eq "prune_roots delete TRUSTED_ROOTS/oldroot" \
	    "$(jq -r ".steps[] | select(.kind == \"prune_roots\") | .kind as \$k | .targets[] | \"\(\$k) \(.action) \(.place)\"" p.json)"
'

test_expect 'all-expired: the expired backup copies are INFO, in no status or alerting series' '
	exits 2 "$VC" --root "$T/x" check --json --prometheus x.prom >out.json &&
	jq -e ".summary == {\"critical\": 8, \"warning\": 0, \"info\": 5}" out.json >/dev/null &&
	jq -e "[.findings[] | select(.severity == \"INFO\") | .place | startswith(\"BACKUP_STORE/\")] == [true, true, true, true, true]" out.json >/dev/null &&
	grep -q "^vcrotate_findings{appliance=\"vcsa1.example.com\",severity=\"critical\"} 8$" x.prom &&
	grep -q "^vcrotate_info_findings{appliance=\"vcsa1.example.com\"} 5$" x.prom &&
	! grep -q "severity=\"info\"" x.prom &&
	! grep "^vcrotate_finding{" x.prom | grep -q BACKUP_STORE &&
	[ "$(grep "^vcrotate_certificate_not_after_timestamp_seconds{.*place=\"BACKUP_STORE/" x.prom | grep -c "in_use=\"false\"")" -eq 5 ]
'

test_expect 'Prometheus: promtool check metrics is clean; every series has the appliance label' '
	for l in h x a s; do
		"$VC" --root "$T/$l" check --format prometheus >$l.prom || :
		"$PROMTOOL" check metrics <$l.prom >lint 2>&1 || { cat lint; fail "promtool check metrics on lab $l"; }
		[ ! -s lint ] || { cat lint; fail "promtool check metrics on lab $l has remarks"; }
		grep -v "^#" $l.prom | grep -v "{appliance=\"vcsa1.example.com\"[,}]" >bad || :
		[ ! -s bad ] || { cat bad; fail "series without the appliance label"; }
	done &&
	for m in vcrotate_certificate_not_after_timestamp_seconds vcrotate_findings vcrotate_finding \
	    vcrotate_info_findings vcrotate_check_status vcrotate_check_success vcrotate_last_check_timestamp_seconds; do
		grep -q "^# TYPE $m gauge$" x.prom || fail "no $m"
	done &&
	grep -q "^vcrotate_check_success{appliance=\"vcsa1.example.com\"} 1$" x.prom &&
	at=@$(($(sed -n "s/^created=//p" "$T/s/var/lib/vmware-lab/lab.conf") + 60)) &&
	exits 2 "$VC" --root "$T/s" check --format prometheus --at "$at" >a.prom &&
	exits 2 "$VC" --root "$T/s" check --prometheus b.prom --at "$at" >/dev/null &&
	cmp a.prom b.prom
'

# The metrics of a check as promtool test rules input: each series held for
# HOURS, its timestamps moved so that the check ran at time 0 (promtool's
# clock starts there), so "expires in N days" stays N days.
cat >"$T/promtest.py" <<'EOF'
import json, re, sys
prom, hours, cases = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$')
lab_re = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
series, at = [], None
for line in open(prom):
    if line.startswith('#'):
        continue
    m = line_re.match(line.strip())
    name, labels, value = m.group(1), m.group(2) or '', float(m.group(3))
    if name == 'vcrotate_last_check_timestamp_seconds':
        at = value
    series.append((name, labels, value))
inputs, certs = [], []
for name, labels, value in series:
    if name.endswith('_timestamp_seconds'):
        value -= at
    inputs.append({'series': name + labels, 'values': '%d+0x%d' % (value, hours * 60)})
    if name == 'vcrotate_certificate_not_after_timestamp_seconds':
        certs.append((dict((k, v.replace('\\"', '"').replace('\\\\', '\\'))
                           for k, v in lab_re.findall(labels)), value))
tests = []
for c in cases:
    t = c['eval'] * 60
    alerts = []
    for a in ('VcrotateCertificatesCritical', 'VcrotateCertificatesWarning',
              'VcrotateCheckFailed', 'VcrotateCheckStale',
              'VcrotateCertificateExpiresSoon'):
        exp = []
        if a == 'VcrotateCertificateExpiresSoon':
            for l, v in certs:
                if l['in_use'] == 'true' and v - t < 14 * 86400:
                    exp.append({'exp_labels': dict(l, severity='critical'),
                                'exp_annotations': {'summary': '%s: %s (%s) expires within 14 days'
                                                    % (l['appliance'], l['place'], l['subject'])}})
        elif a in c['fire']:
            exp.append(c['fire'][a])
        alerts.append({'eval_time': '%dm' % c['eval'], 'alertname': a, 'exp_alerts': exp})
    tests.append({'interval': '1m', 'input_series': inputs, 'alert_rule_test': alerts})
print(json.dumps({'rule_files': ['rules.yml'], 'evaluation_interval': '1m', 'tests': tests}))
EOF

# The rules of docs/check.md, as an admin would copy them.
sed -n "/^# vcrotate alert rules/,/^\`\`\`$/p" "$DOC" | sed "\$d" >"$T/rules.yml"

# rules_test PROM HOURS CASES: promtool test rules on them.
rules_test() {
	python3 "$T/promtest.py" "$1" "$2" "$3" >"$T/tests.json" || fail "promtest.py"
	(cd "$T" && "$PROMTOOL" test rules tests.json) >"$T/rules.out" 2>&1 ||
		{ cat "$T/rules.out"; fail "promtool test rules"; }
}

A=vcsa1.example.com
test_expect 'alert rules of docs/check.md: promtool check rules' '
	[ "$(grep -c "alert:" rules.yml)" -eq 5 ] &&
	"$PROMTOOL" check rules rules.yml >out 2>&1 || { cat out; false; }
'

test_expect 'alert rules on all-expired: critical, and each expired certificate in use (no backup copy)' '
	exits 2 "$VC" --root "$T/x" check --format prometheus >x.prom &&
	rules_test x.prom 2 "[{\"eval\": 1, \"fire\": {\"VcrotateCertificatesCritical\":
	    {\"exp_labels\": {\"appliance\": \"$A\", \"severity\": \"critical\"},
	     \"exp_annotations\": {\"summary\": \"$A: 8 critical certificate finding(s); run vcrotate check\"}}}}]" &&
	grep -q "BACKUP_STORE" x.prom &&
	python3 -c "import json; t = json.load(open(\"tests.json\"));
n = [len(a[\"exp_alerts\"]) for a in t[\"tests\"][0][\"alert_rule_test\"] if a[\"alertname\"] == \"VcrotateCertificateExpiresSoon\"][0]
assert n >= 8, n
assert not any(\"BACKUP_STORE\" in json.dumps(a) for a in t[\"tests\"][0][\"alert_rule_test\"] if a[\"exp_alerts\"])"
'

test_expect 'alert rules on article-vcsa1: a warning for its unused expired root, no date alert' '
	lab a2 article-vcsa1 &&
	exits 1 "$VC" --root "$T/a2" check --format prometheus >a2.prom &&
	n=$(sed -n "s/^vcrotate_findings{appliance=\"$A\",severity=\"warning\"} //p" a2.prom) && [ "$n" -ge 2 ] &&
	rules_test a2.prom 2 "[{\"eval\": 1, \"fire\": {\"VcrotateCertificatesWarning\":
	    {\"exp_labels\": {\"appliance\": \"$A\", \"severity\": \"warning\"},
	     \"exp_annotations\": {\"summary\": \"$A: $n certificate warning(s); run vcrotate check\"}}}}]" &&
	grep -q "^vcrotate_certificate_not_after_timestamp_seconds{.*Root CA 2012.*in_use=\"false\"} " a2.prom
'

test_expect 'alert rules on a healthy appliance with an expired backup copy: nothing fires; a day later, stale' '
	lab b healthy && v=$T/b/usr/lib/vmware-vmafd/bin/vecs-cli &&
	faketime "2020-01-01 00:00:00" openssl req -x509 -newkey rsa:2048 -nodes -keyout o.key -out o.pem \
	    -days 30 -subj "/CN=vcsa1.example.com" 2>/dev/null &&
	$v entry delete --store BACKUP_STORE --alias bkp___MACHINE_CERT -y >/dev/null &&
	$v entry create --store BACKUP_STORE --alias bkp___MACHINE_CERT --cert o.pem --key o.key >/dev/null &&
	exits 0 "$VC" --root "$T/b" check --format prometheus >b.prom &&
	grep -q "^vcrotate_info_findings{appliance=\"$A\"} 1$" b.prom &&
	rules_test b.prom 30 "[{\"eval\": 1, \"fire\": {}},
	    {\"eval\": 1600, \"fire\": {\"VcrotateCheckStale\":
	    {\"exp_labels\": {\"appliance\": \"$A\", \"severity\": \"warning\"},
	     \"exp_annotations\": {\"summary\": \"$A: vcrotate check has not run for over a day\"}}}}]" &&
	"$VC" --root "$T/b" check | grep -q "^  INFO     EXPIRED                BACKUP_STORE/bkp___MACHINE_CERT$"
'

test_expect 'alert rules when vmdir cannot be read: the check failed' '
	printf "wrong\n" >pw &&
	exits 3 "$VC" --root "$T/h" check --format prometheus --bind-dn administrator@vsphere.local \
	    --password-file pw >f.prom &&
	grep -q "^vcrotate_check_success{appliance=\"$A\"} 0$" f.prom &&
	rules_test f.prom 2 "[{\"eval\": 1, \"fire\": {\"VcrotateCheckFailed\":
	    {\"exp_labels\": {\"appliance\": \"$A\", \"severity\": \"warning\"},
	     \"exp_annotations\": {\"summary\": \"$A: vcrotate check could not read every part of the appliance\"}}}}]"
'

# More than a pipe holds, so the writer sees its reader go.
test_expect 'check | head -n 1 keeps the status exit code, in every format (pipefail)' '
	lab big2 crl-bloat --roots 1000 &&
	for f in text nagios prometheus json; do
		want=0 && { "$VC" --root "$T/big2" check --format $f >full.txt 2>/dev/null || want=$?; }
		[ "$(wc -c <full.txt)" -gt 131072 ] || fail "$f: the report is too small to fill a pipe"
		[ "$want" -eq 2 ] || fail "$f: exit $want on the full report"
		got=$(set -o pipefail; "$VC" --root "$T/big2" check --format $f 2>err.txt | head -n 1 >first.txt; echo $?)
		expect_eq "$want" "$got" || fail "$f: exit $got through head"
		! grep -q "cannot write" err.txt || fail "$f: $(cat err.txt)"
		[ -s first.txt ] || fail "$f: nothing read"
	done
'

test_expect '--format: an unknown one is bad usage (UNKNOWN); --json with another is refused' '
	exits 3 "$VC" --root "$T/h" check --format xml >/dev/null 2>err &&
	grep -q "format xml: text, json, nagios or prometheus" err &&
	exits 3 "$VC" --root "$T/h" check --json --format nagios >/dev/null 2>err &&
	"$VC" --root "$T/h" check --json --format json >j.json &&
	jq -e ".status == \"OK\" and .summary.info == 0 and .next == null" j.json >/dev/null
'

test_done
