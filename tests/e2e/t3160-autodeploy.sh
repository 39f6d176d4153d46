#!/bin/bash
# Auto Deploy's vc_servers thumbprints (issue 19): where vmon-cli says rbd
# starts AUTOMATIC, Broadcom's vCert sets vc_servers.thumbprint in Auto
# Deploy's SQLite database to the Machine SSL certificate's. check finds a
# stale row (AUTODEPLOY_THUMBPRINT_MISMATCH), plan updates the rows (an
# autodeploy_thumbprints step) and apply writes them in one SQLite
# transaction through the appliance's sqlite3; the snapshot holds them,
# rollback and recover put them back (compared with an independent sqlite3
# .dump); rbd not AUTOMATIC, or no database: nothing.
. "$(dirname "$0")/../lib.sh"

VC=$BUILD/vcrotate
SCHEMA=$TOP/docs/check.schema.json
VECS=usr/lib/vmware-vmafd/bin/vecs-cli
DB=
L=
dump() { sqlite3 -readonly "$L/$DB" .dump; }
row() { sqlite3 -readonly "$L/$DB" "SELECT thumbprint FROM vc_servers WHERE rowid = $1"; }
# The Machine SSL thumbprint as openssl prints it (not vcrotate).
mssl() {
	"$L/$VECS" entry getcert --store MACHINE_SSL_CERT --alias __MACHINE_CERT |
	    openssl x509 -noout -fingerprint -sha1 | cut -d= -f2
}
last() { "$VC" --root "$L" history --json | jq -r ".transactions[0].$1"; }
# stale NAME [VERSION]: an extension-thumbprint-stale lab with Auto Deploy,
# its plan NAME.plan, its database as sqlite3 dumps it (NAME.db).
stale() {
	L=$T/$1
	DB=etc/vmware-rbd/db/db
	[ "${2:-8.0}" != 7.0 ] || DB=var/lib/rbd/db
	lab_create "$L" --scenario extension-thumbprint-stale --autodeploy --version "${2:-8.0}" >/dev/null &&
	labctl start "$L" >/dev/null 2>&1 &&
	"$VC" --root "$L" plan -o "$T/$1.plan" >/dev/null &&
	dump >"$T/$1.db"
}
same_db() { dump >now.db && diff -u "$T/$1.db" now.db >&2 || fail "vc_servers is not as before"; }

test_expect 'the lab: --autodeploy makes the database with sqlite3 where vCert looks (8.0, 7.0), and vmon-cli says rbd starts AUTOMATIC' '
	L=$T/h && lab_create "$L" --scenario healthy --autodeploy >/dev/null && labctl start "$L" >/dev/null 2>&1 &&
	DB=etc/vmware-rbd/db/db && [ -f "$L/$DB" ] && [ ! -e "$L/var/lib/rbd/db" ] &&
	expect_eq "$(mssl)" "$(row 1)" &&
	"$L/usr/lib/vmware-vmon/vmon-cli" -s rbd | grep -qx "Starttype: AUTOMATIC" &&
	"$VC" --root "$L" check --json >out.json &&
	/usr/bin/python3 -m jsonschema -i out.json "$SCHEMA" &&
	expect_eq true "$(jq .sources.autodeploy.read out.json)" &&
	! jq -e ".findings[] | select(.code == \"AUTODEPLOY_THUMBPRINT_MISMATCH\")" out.json >/dev/null
'

test_expect 'check on a stale row: a WARNING naming the row, the thumbprint it holds and the certificate it should follow' '
	stale a &&
	rc=0 && "$VC" --root "$L" check --json >out.json || rc=$?
	expect_eq 2 "$rc" && /usr/bin/python3 -m jsonschema -i out.json "$SCHEMA" &&
	expect_eq "WARNING AutoDeploy/vc_servers/1" \
	    "$(jq -r ".findings[] | select(.code == \"AUTODEPLOY_THUMBPRINT_MISMATCH\") | \"\(.severity) \(.place)\"" out.json)" &&
	msg=$(jq -r ".findings[] | select(.code == \"AUTODEPLOY_THUMBPRINT_MISMATCH\") | .message" out.json) &&
	echo "$msg" | grep -qF "holds thumbprint $(row 1)" &&
	echo "$msg" | grep -qF "MACHINE_SSL_CERT/__MACHINE_CERT ($(mssl))"
'

test_expect 'the plan: an autodeploy_thumbprints step, the row old -> new with its digest; the dry run changes nothing' '
	L=$T/a && DB=etc/vmware-rbd/db/db &&
	expect_eq "extension_thumbprints autodeploy_thumbprints restart" "$(jq -r "[.steps[].kind] | join(\" \")" a.plan)" &&
	expect_eq "AutoDeploy/vc_servers/1 $(row 1) $(mssl) MACHINE_SSL_CERT/__MACHINE_CERT sha256:$(printf %s "$(row 1)" | sha256sum | cut -d" " -f1)" \
	    "$(jq -r ".steps[1].targets[0] | \"\(.place) \(.thumbprint) \(.thumbprint_after) \(.follows) \(.digest)\"" a.plan)" &&
	"$VC" --root "$L" apply a.plan --dry-run >dry &&
	grep -qF "row 1: $(row 1) -> $(mssl)" dry &&
	same_db a
'

test_expect 'apply updates the row (one fault point), check is 0' '
	L=$T/a && DB=etc/vmware-rbd/db/db &&
	VCROTATE_FAULT_LOG=$T/points "$VC" --root "$L" apply a.plan --yes >out 2>&1 || { tail -n 5 out; false; }
	expect_eq "$(mssl)" "$(row 1)" &&
	"$VC" --root "$L" check >/dev/null &&
	expect_eq 1 "$(grep -c " sqlite3 vc_servers update$" points)"
'

test_expect 'the snapshot holds the row; rollback TXN puts the database back as sqlite3 dumps it' '
	L=$T/a && DB=etc/vmware-rbd/db/db && txn=$(last transaction) &&
	expect_eq "$(sed -n "s/.*VALUES(1,.vcsa1.example.com.,.\([0-9A-F:]*\).);/\1/p" a.db)" \
	    "$(git --git-dir="$L/var/lib/vcrotate/backup.git" show "$(last before):autodeploy/vc_servers/1/thumbprint")" &&
	"$VC" --root "$L" rollback "$txn" --yes >out 2>&1 || { tail -n 5 out; false; }
	grep -q "^put back Auto Deploy AutoDeploy/vc_servers/1$" out &&
	same_db a
'

test_expect 'one SQLite transaction: the second row not as planned fails the update, the first is not written, rolled back (exit 1)' '
	stale b && q="'"'"'" &&
	sqlite3 "$L/$DB" "INSERT INTO vc_servers (address, thumbprint) VALUES (${q}other${q}, ${q}$(row 1)${q})" &&
	"$VC" --root "$L" plan -o b2.plan >/dev/null &&
	expect_eq 2 "$(jq "[.steps[] | select(.kind == \"autodeploy_thumbprints\") | .targets[]] | length" b2.plan)" &&
	# Once row 1 is written, row 2 no longer holds what the plan saw (a
	# test-only trigger), so its UPDATE changes nothing.
	sqlite3 "$L/$DB" "CREATE TRIGGER t AFTER UPDATE ON vc_servers WHEN OLD.rowid = 1 BEGIN UPDATE vc_servers SET thumbprint = ${q}CC:DD${q} WHERE rowid = 2; END" &&
	dump >b.db &&
	rc=0; "$VC" --root "$L" apply b2.plan --yes >out 2>&1 || rc=$?
	{ expect_eq 1 "$rc" || { tail -n 5 out; false; }; } &&
	grep -q "CHECK constraint failed" out &&
	same_db b && expect_eq "rolled back" "$(last result)"
'

test_expect 'the update failing (VCROTATE_FAULT): nothing written, rolled back (exit 1)' '
	stale c && n=$(awk "/ sqlite3 vc_servers update\$/ { print \$1; exit }" points) && [ -n "$n" ] ||
	    fail "no lab or no fault point"
	rc=0; VCROTATE_FAULT=fail:$n "$VC" --root "$L" apply c.plan --yes >out 2>&1 || rc=$?
	{ expect_eq 1 "$rc" || { tail -n 5 out; false; }; } &&
	grep -q "sqlite3 vc_servers update: injected fault" out &&
	same_db c && [ ! -e "$L/var/lib/vcrotate/journal" ]
'

test_expect 'killed just after the update: recover puts the row back' '
	L=$T/c && DB=etc/vmware-rbd/db/db && n=$(awk "/ sqlite3 vc_servers update\$/ { print \$1; exit }" points) &&
	rc=0 && { VCROTATE_FAULT=crash-after:$n "$VC" --root "$L" apply c.plan --yes >out 2>&1; } 2>/dev/null || rc=$?
	expect_eq 137 "$rc" && [ -e "$L/var/lib/vcrotate/journal" ] && expect_eq "$(mssl)" "$(row 1)" &&
	rc=0 && "$VC" --root "$L" recover --yes >rec 2>&1 || rc=$?
	{ expect_eq 0 "$rc" || { tail -n 5 rec; false; }; } &&
	same_db c && [ ! -e "$L/var/lib/vcrotate/journal" ]
'

test_expect '7.0: the database at /var/lib/rbd/db is found and fixed' '
	stale d 7.0 && [ ! -e "$L/etc/vmware-rbd" ] &&
	jq -e ".steps[] | select(.kind == \"autodeploy_thumbprints\")" d.plan >/dev/null &&
	"$VC" --root "$L" apply d.plan --yes >out 2>&1 || { tail -n 5 out; false; }
	expect_eq "$(mssl)" "$(row 1)"
'

test_expect 'rbd not AUTOMATIC: the database is left alone, no finding, no step' '
	stale e && sed -i "s/^rbd_starttype=AUTOMATIC$/rbd_starttype=MANUAL/" "$L/var/lib/vmware-lab/lab.conf" &&
	"$VC" --root "$L" check --json >out.json || :
	! jq -e ".findings[] | select(.code == \"AUTODEPLOY_THUMBPRINT_MISMATCH\")" out.json >/dev/null &&
	"$VC" --root "$L" plan -o e2.plan >/dev/null &&
	! jq -e ".steps[] | select(.kind == \"autodeploy_thumbprints\")" e2.plan >/dev/null &&
	"$VC" --root "$L" apply e2.plan --yes >out 2>&1 || { tail -n 5 out; false; }
	same_db e
'

test_done
