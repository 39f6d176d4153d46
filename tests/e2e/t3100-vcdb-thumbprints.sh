#!/bin/bash
# VCDB's extension thumbprints (issue 19): check finds each vpx_ext row
# that does not hold the thumbprint of the certificate its extension logs
# in with; plan updates the rows (alone, or after a new vpxd-extension or
# Machine SSL certificate) and apply writes them in one SQL transaction;
# snapshots hold the rows, so apply's rollback, rollback TXN and recover
# put them back byte for byte (compared with an independent psql COPY);
# the server down mid-apply is rolled back or recovered; a lab without
# VCDB works as before.
. "$(dirname "$0")/../lib.sh"

VC=$BUILD/vcrotate
SCHEMA=$TOP/docs/check.schema.json
PSQL=opt/vmware/vpostgres/current/bin/psql
VECS=usr/lib/vmware-vmafd/bin/vecs-cli
L=
sql() { "$L/$PSQL" -X -q -d VCDB -U postgres -t -A "$@"; }
# The table as PostgreSQL itself dumps it: every column, every row.
dump() { sql -c "COPY (SELECT * FROM vpx_ext ORDER BY ext_id) TO STDOUT"; }
row() { sql -c "SELECT thumbprint FROM vpx_ext WHERE ext_id = '$1'"; }
# A certificate's thumbprint as vCert computes it (openssl, not vcrotate).
thumb() {
	"$L/$VECS" entry getcert --store "$1" --alias "$2" |
	    openssl x509 -noout -fingerprint -sha1 | cut -d= -f2
}
# Every row holds what its extension logs in with.
rows_follow() {
	local ext mssl e
	ext=$(thumb vpxd-extension vpxd-extension) && mssl=$(thumb MACHINE_SSL_CERT __MACHINE_CERT) &&
	for e in com.vmware.vim.eam com.vmware.imagebuilder com.vmware.vcIntegrity com.vmware.vlcm.client; do
		expect_eq "$ext" "$(row $e)" || return 1
	done &&
	expect_eq "$mssl" "$(row com.vmware.vsan.health)"
}
# stale NAME: an extension-thumbprint-stale lab $T/NAME, its plan NAME.plan,
# the table as it is (NAME.rows).
stale() {
	L=$T/$1
	lab_create "$L" --scenario extension-thumbprint-stale >/dev/null &&
	labctl start "$L" >/dev/null 2>&1 &&
	"$VC" --root "$L" plan -o "$T/$1.plan" >/dev/null &&
	dump >"$T/$1.rows"
}
same_rows() { dump >now.rows && diff -u "$T/$1.rows" now.rows >&2 || fail "vpx_ext is not as before"; }
last() { "$VC" --root "$L" history --json | jq -r ".transactions[0].$1"; }
EXTS="com.vmware.imagebuilder com.vmware.vcIntegrity com.vmware.vim.eam com.vmware.vlcm.client com.vmware.vsan.health"

test_expect 'check on a healthy lab: every row OK, listed, no finding' '
	L=$T/healthy && lab_create "$L" --scenario healthy >/dev/null && labctl start "$L" >/dev/null 2>&1 &&
	"$VC" --root "$L" check >out.txt && "$VC" --root "$L" check --json >out.json &&
	/usr/bin/python3 -m jsonschema -i out.json "$SCHEMA" &&
	grep -q "^VCDB vpx_ext (extension thumbprints): 5$" out.txt &&
	grep -Eq "^  com.vmware.vim.eam +([0-9A-F]{2}:){19}[0-9A-F]{2} OK follows vpxd-extension/vpxd-extension$" out.txt &&
	expect_eq "true 5 OK" "$(jq -r "[.sources.vcdb.present, (.vcdb.rows | length), (.vcdb.rows | map(.status) | unique | join(\",\"))] | join(\" \")" out.json)" &&
	! grep -q EXTENSION_THUMBPRINT_MISMATCH out.txt
'

test_expect 'check on extension-thumbprint-stale: one CRITICAL per stale row (exit 2), naming what it holds and what it should follow' '
	stale a &&
	rc=0 && "$VC" --root "$L" check --json >out.json || rc=$?
	expect_eq 2 "$rc" && /usr/bin/python3 -m jsonschema -i out.json "$SCHEMA" &&
	expect_eq "$(echo $EXTS | tr " " "\n" | sed "s|^|VCDB/vpx_ext/|")" \
	    "$(jq -r ".findings[] | select(.code == \"EXTENSION_THUMBPRINT_MISMATCH\") | .place" out.json | sort)" &&
	msg=$(jq -r ".findings[] | select(.place == \"VCDB/vpx_ext/com.vmware.vim.eam\") | .message" out.json) &&
	echo "$msg" | grep -qF "$(row com.vmware.vim.eam)" &&
	echo "$msg" | grep -qF "vpxd-extension/vpxd-extension ($(thumb vpxd-extension vpxd-extension))" &&
	jq -r ".findings[] | select(.place == \"VCDB/vpx_ext/com.vmware.vsan.health\") | .message" out.json |
	    grep -qF "MACHINE_SSL_CERT/__MACHINE_CERT ($(thumb MACHINE_SSL_CERT __MACHINE_CERT))" &&
	expect_eq MISMATCH "$(jq -r ".vcdb.rows[] | select(.ext_id == \"com.vmware.vim.eam\") | .status" out.json)" &&
	"$VC" --root "$L" check | grep -q "^Next: vcrotate plan"
'

test_expect 'the plan: the extension_thumbprints step alone (then the restart), each row old -> new' '
	L=$T/a &&
	expect_eq "extension_thumbprints restart" "$(jq -r "[.steps[].kind] | join(\" \")" a.plan)" &&
	expect_eq "$(row com.vmware.vim.eam) $(thumb vpxd-extension vpxd-extension) vpxd-extension/vpxd-extension" \
	    "$(jq -r ".steps[0].targets[] | select(.place == \"VCDB/vpx_ext/com.vmware.vim.eam\") | \"\(.thumbprint) \(.thumbprint_after) \(.follows)\"" a.plan)" &&
	expect_eq 5 "$(jq ".steps[0].targets | length" a.plan)" &&
	"$VC" --root "$L" plan show a.plan >show &&
	grep -qF "thumbprint $(row com.vmware.vsan.health) -> $(thumb MACHINE_SSL_CERT __MACHINE_CERT) (that of MACHINE_SSL_CERT/__MACHINE_CERT)" show &&
	"$VC" --root "$L" apply a.plan --dry-run >dry &&
	grep -qF "com.vmware.vim.eam: $(row com.vmware.vim.eam) -> $(thumb vpxd-extension vpxd-extension)" dry &&
	same_rows a
'

test_expect 'apply fixes it: the rows follow, check is 0, eam logs in after the restart' '
	L=$T/a && : >"$L/var/log/vmware/eam/eam.log" &&
	VCROTATE_FAULT_LOG=$T/points "$VC" --root "$L" apply a.plan --yes >out 2>&1 || { tail -n 5 out; false; }
	rows_follow &&
	"$VC" --root "$L" check >/dev/null &&
	grep -q "Logged in to vCenter as extension" "$L/var/log/vmware/eam/eam.log" &&
	! grep -q NotAuthenticated "$L/var/log/vmware/eam/eam.log" &&
	expect_eq 1 "$(grep -c " psql vpx_ext update$" points)"
'

test_expect 'the snapshots hold the rows; rollback TXN puts them back byte for byte' '
	L=$T/a && txn=$(last transaction) &&
	git --git-dir="$L/var/lib/vcrotate/backup.git" show "$(last before):vcdb/vpx_ext/com.vmware.vim.eam/thumbprint" >snap &&
	expect_eq "$(grep "^com.vmware.vim.eam	" a.rows | cut -f2)" "$(cat snap)" &&
	"$VC" --root "$L" rollback "$txn" --yes >out 2>&1 || { tail -n 5 out; false; }
	grep -q "^put back VCDB vpx_ext com.vmware.vim.eam$" out &&
	same_rows a &&
	rc=0 && "$VC" --root "$L" check >/dev/null || rc=$?
	expect_eq 2 "$rc"
'

seal_of() { jq -c -S "del(.sha256)" "$1" | tr -d "\n" | sha256sum | cut -d" " -f1; }
reseal() { jq "$1" a.plan >edit.json && jq --arg s "$(seal_of edit.json)" ".sha256 = \$s" edit.json >"$2"; }
refused() {
	local rc=0
	"$VC" --root "$L" apply "$1" --yes >out 2>err || rc=$?
	expect_eq 4 "$rc" && expect_grep "$2" err && same_rows a
}

test_expect 'an edited plan is refused: another certificate to follow, an unknown extension, a row changed since' '
	L=$T/a && E=".steps[0].targets[] | select(.place == \"VCDB/vpx_ext/com.vmware.vim.eam\")" &&
	reseal "($E).follows = \"MACHINE_SSL_CERT/__MACHINE_CERT\"" f.plan &&
	refused f.plan "the extension follows vpxd-extension/vpxd-extension, not MACHINE_SSL_CERT/__MACHINE_CERT" &&
	reseal "($E).place = \"VCDB/vpx_ext/com.vmware.other\"" o.plan &&
	refused o.plan "an extension_thumbprints step replaces only rows of VCDB" &&
	reseal "($E).thumbprint_after = null" n.plan &&
	refused n.plan "thumbprint_after must be the thumbprint of the certificate now" &&
	old=$(row com.vmware.vim.eam) &&
	sql -c "UPDATE vpx_ext SET thumbprint = '"'"'AA:BB'"'"' WHERE ext_id = '"'"'com.vmware.vim.eam'"'"'" ||
	    fail "setting a row by hand"
	rc=0; "$VC" --root "$L" apply a.plan --yes >out 2>err || rc=$?
	expect_eq 4 "$rc" && expect_grep "VCDB/vpx_ext/com.vmware.vim.eam (content differs)" err &&
	sql -c "UPDATE vpx_ext SET thumbprint = '"'"'$old'"'"' WHERE ext_id = '"'"'com.vmware.vim.eam'"'"'" &&
	same_rows a
'

test_expect 'one SQL transaction: a row that cannot be written leaves every row as it was; apply rolls back (exit 1)' '
	stale b &&
	# The last row written refuses the update (a test-only trigger).
	sql -c "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN RAISE EXCEPTION '"'"'refused by test'"'"'; END \$\$;
	        CREATE TRIGGER refuse BEFORE UPDATE ON vpx_ext FOR EACH ROW WHEN (OLD.ext_id = '"'"'com.vmware.vsan.health'"'"') EXECUTE FUNCTION refuse();" ||
	    fail "setting up the trigger"
	rc=0; "$VC" --root "$L" apply b.plan --yes >out 2>&1 || rc=$?
	{ expect_eq 1 "$rc" || { tail -n 5 out; false; }; } &&
	grep -q "refused by test" out &&
	same_rows b && expect_eq "rolled back" "$(last result)" &&
	sql -c "DROP TRIGGER refuse ON vpx_ext" &&
	"$VC" --root "$L" apply b.plan --yes >/dev/null 2>&1 && rows_follow
'

test_expect 'the VCDB write failing (VCROTATE_FAULT): nothing written, rolled back (exit 1)' '
	stale c && n=$(awk "/ psql vpx_ext update\$/ { print \$1; exit }" points) && [ -n "$n" ] ||
	    fail "no lab or no fault point"
	rc=0; VCROTATE_FAULT=fail:$n "$VC" --root "$L" apply c.plan --yes >out 2>&1 || rc=$?
	{ expect_eq 1 "$rc" || { tail -n 5 out; false; }; } &&
	grep -q "psql vpx_ext update: injected fault" out &&
	same_rows c && [ ! -e "$L/var/lib/vcrotate/journal" ]
'

test_expect 'killed just after the VCDB write: recover puts the rows back' '
	L=$T/c && n=$(awk "/ psql vpx_ext update\$/ { print \$1; exit }" points) &&
	rc=0 && { VCROTATE_FAULT=crash-after:$n "$VC" --root "$L" apply c.plan --yes >out 2>&1; } 2>/dev/null || rc=$?
	expect_eq 137 "$rc" && [ -e "$L/var/lib/vcrotate/journal" ] && rows_follow &&
	rc=0 && "$VC" --root "$L" recover --yes >rec 2>&1 || rc=$?
	{ expect_eq 0 "$rc" || { tail -n 5 rec; false; }; } &&
	same_rows c && [ ! -e "$L/var/lib/vcrotate/journal" ]
'

test_expect 'the server down mid-apply (vmware-vpostgres will not start): the rollback cannot reach VCDB (exit 3), recover puts the rows back' '
	stale d && labctl fault "$L" service vmware-vpostgres >/dev/null || fail "setup"
	rc=0; "$VC" --root "$L" apply d.plan --yes >out 2>&1 || rc=$?
	labctl fault "$L" clear >/dev/null &&
	{ expect_eq 3 "$rc" || { tail -n 5 out; false; }; } &&
	"$VC" --root "$L" recover --yes >rec 2>&1 || { tail -n 5 rec; false; }
	"$L/usr/bin/service-control" --start vmware-vpostgres >/dev/null &&
	same_rows d && [ ! -e "$L/var/lib/vcrotate/journal" ]
'

test_expect 'all-expired: the plan renews vpxd-extension and Machine SSL, the rows follow the new ones; every service runs, check 0, eam logs in' '
	L=$T/ae && lab_create "$L" --scenario all-expired >/dev/null && labctl start "$L" >/dev/null 2>&1 || :
	"$VC" --root "$L" plan -o ae.plan >/dev/null &&
	expect_eq "null" "$(jq -c "[.steps[] | select(.kind == \"extension_thumbprints\") | .targets[].thumbprint_after] | unique | .[]" ae.plan)" &&
	mkdir -p "$L/var/log/vmware/eam" && : >"$L/var/log/vmware/eam/eam.log" &&
	"$VC" --root "$L" apply ae.plan --yes >out 2>&1 || { tail -n 5 out; false; }
	rows_follow && "$VC" --root "$L" check >/dev/null &&
	"$L/usr/bin/service-control" --status | sed -n "/^Running:/,\$p" | grep -qw vmware-vpostgres &&
	"$L/usr/bin/service-control" --status | sed -n "/^Running:/,\$p" | grep -qw vmware-eam &&
	grep -q "Logged in to vCenter as extension" "$L/var/log/vmware/eam/eam.log"
'

test_expect 'the VCDB update left out (a plan resealed without it, kept with --keep-on-failure): eam runs and cannot log in, as on an appliance; check names the rows' '
	L=$T/skip && lab_create "$L" --scenario healthy >/dev/null && labctl start "$L" >/dev/null 2>&1 || :
	"$VC" --root "$L" plan --scope solution-users --renew-within 100000 -o full.plan >/dev/null &&
	jq -e ".steps[] | select(.kind == \"extension_thumbprints\")" full.plan >/dev/null &&
	# the step removed, the steps renumbered, the plan sealed again
	jq "del(.steps[] | select(.kind == \"extension_thumbprints\")) | .steps |= [to_entries[] | .value.n = .key + 1 | .value]" full.plan >e.json &&
	jq ".sha256 = \"$(jq -c -S "del(.sha256)" e.json | tr -d "\n" | sha256sum | cut -d" " -f1)\"" e.json >skip.plan &&
	: >"$L/var/log/vmware/eam/eam.log" &&
	rc=0 && "$VC" --root "$L" apply skip.plan --yes --keep-on-failure >out 2>&1 || rc=$?
	expect_eq 1 "$rc" && grep -q "a new plan still has 1 step" out &&
	"$L/usr/bin/service-control" --status | sed -n "/^Running:/,\$p" | grep -qw vmware-eam &&
	grep -q "^com.vmware.eam.security.NotAuthenticated: Failed to authenticate extension com.vmware.vim.eam to vCenter.$" "$L/var/log/vmware/eam/eam.log" &&
	rc=0 && "$VC" --root "$L" check >c.txt || rc=$?
	expect_eq 2 "$rc" && grep -q "EXTENSION_THUMBPRINT_MISMATCH *VCDB/vpx_ext/com.vmware.vim.eam" c.txt
'

test_expect 'a lab without VCDB (--no-vcdb): check says so, snapshots hold no rows, apply works as before' '
	L=$T/novcdb && lab_create "$L" --scenario sts-expired --no-vcdb >/dev/null && labctl start "$L" >/dev/null 2>&1 || :
	rc=0 && "$VC" --root "$L" check >out.txt || rc=$?
	expect_eq 2 "$rc" && grep -q "^VCDB: none" out.txt && ! grep -q "NOT READ" out.txt &&
	{ "$VC" --root "$L" check --json >out.json || :; } && /usr/bin/python3 -m jsonschema -i out.json "$SCHEMA" &&
	expect_eq "false true 0" "$(jq -r "[.sources.vcdb.present, .sources.vcdb.read, (.vcdb.rows | length)] | join(\" \")" out.json)" &&
	"$VC" --root "$L" plan -o nv.plan >/dev/null &&
	! jq -e ".steps[] | select(.kind == \"extension_thumbprints\")" nv.plan >/dev/null &&
	"$VC" --root "$L" apply nv.plan --yes >out 2>&1 || { tail -n 5 out; false; }
	"$VC" --root "$L" check >/dev/null &&
	! git --git-dir="$L/var/lib/vcrotate/backup.git" ls-tree -r --name-only "$(last before)" | grep -q "^vcdb/"
'

test_done
