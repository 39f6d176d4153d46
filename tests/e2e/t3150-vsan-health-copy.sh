#!/bin/bash
# vsan-health's copy of vpxd-extension (issue 19): Broadcom's vCert copies
# a new vpxd-extension certificate and key to
# /storage/vsan-health/vpxd-extension.{cert,key}. check finds a stale copy
# (VSAN_HEALTH_COPY_STALE), plan rewrites it (a vsan_health step) when it
# is stale or vpxd-extension is renewed, apply writes it keeping each
# file's mode and owner, the snapshot holds it (the key sealed), and
# rollback and recover put it back byte for byte. A lab without the copy
# gets no step.
. "$(dirname "$0")/../lib.sh"

VC=$BUILD/vcrotate
SCHEMA=$TOP/docs/check.schema.json
VECS=usr/lib/vmware-vmafd/bin/vecs-cli
CERT=storage/vsan-health/vpxd-extension.cert
KEY=storage/vsan-health/vpxd-extension.key
L=
# Thumbprints as openssl prints them (not vcrotate).
thumb_of() { openssl x509 -noout -fingerprint -sha1 -in "$1" | cut -d= -f2; }
thumb() {
	"$L/$VECS" entry getcert --store vpxd-extension --alias vpxd-extension |
	    openssl x509 -noout -fingerprint -sha1 | cut -d= -f2
}
# The copy as it is: each file's mode, owner, group and bytes.
copy() {
	local f
	for f in "$CERT" "$KEY"; do
		stat -c "%a %u %g %n" "$L/$f" && sha256sum <"$L/$f"
	done
}
# The copy follows VECS: its certificate is vpxd-extension's, its key the
# certificate's (compared by openssl).
follows() {
	expect_eq "$(thumb)" "$(thumb_of "$L/$CERT")" &&
	expect_eq "$(openssl x509 -noout -pubkey -in "$L/$CERT")" "$(openssl pkey -pubout -in "$L/$KEY")"
}
last() { "$VC" --root "$L" history --json | jq -r ".transactions[0].$1"; }
# stale NAME: an extension-thumbprint-stale lab with the copy, $T/NAME, its
# plan NAME.plan, the copy as it is (NAME.copy); the key file is given
# another owner and the certificate another mode, which apply must keep.
stale() {
	L=$T/$1
	lab_create "$L" --scenario extension-thumbprint-stale --vsan-health >/dev/null &&
	labctl start "$L" >/dev/null 2>&1 &&
	chown 1234:5678 "$L/$KEY" && chmod 0640 "$L/$CERT" &&
	"$VC" --root "$L" plan -o "$T/$1.plan" >/dev/null &&
	copy >"$T/$1.copy"
}
same_copy() { copy >now.copy && diff -u "$T/$1.copy" now.copy >&2 || fail "the copy is not as before"; }

test_expect 'the lab: --vsan-health writes the copy of vpxd-extension (0644, 0600); the lab service notes whether it is current' '
	L=$T/h && lab_create "$L" --scenario healthy --vsan-health >/dev/null && labctl start "$L" >/dev/null 2>&1 &&
	expect_eq "644 600" "$(stat -c %a "$L/$CERT") $(stat -c %a "$L/$KEY")" &&
	follows &&
	"$L/usr/bin/service-control" --start --all >/dev/null 2>&1 &&
	grep -q "vmware-vsan-health: copy of vpxd-extension is current" "$L/var/log/vmware-lab/service-control.log" &&
	"$VC" --root "$L" check --json >out.json &&
	! jq -e ".findings[] | select(.code == \"VSAN_HEALTH_COPY_STALE\")" out.json >/dev/null
'

test_expect 'check on a stale copy: a WARNING naming the file, the thumbprint it holds and the certificate it should follow' '
	stale a &&
	"$L/usr/bin/service-control" --start --all >/dev/null 2>&1 &&
	grep -q "vmware-vsan-health: copy of vpxd-extension is stale" "$L/var/log/vmware-lab/service-control.log" &&
	rc=0 && "$VC" --root "$L" check --json >out.json || rc=$?
	expect_eq 2 "$rc" && /usr/bin/python3 -m jsonschema -i out.json "$SCHEMA" &&
	expect_eq "WARNING /storage/vsan-health/vpxd-extension.cert" \
	    "$(jq -r ".findings[] | select(.code == \"VSAN_HEALTH_COPY_STALE\") | \"\(.severity) \(.place)\"" out.json)" &&
	msg=$(jq -r ".findings[] | select(.code == \"VSAN_HEALTH_COPY_STALE\") | .message" out.json) &&
	echo "$msg" | grep -qF "thumbprint $(thumb_of "$L/$CERT")" &&
	echo "$msg" | grep -qF "vpxd-extension/vpxd-extension ($(thumb))"
'

test_expect 'a key that is not the certificate'"'"'s is stale too' '
	L=$T/k && lab_create "$L" --scenario healthy --vsan-health >/dev/null && labctl start "$L" >/dev/null 2>&1 &&
	cp "$L/var/lib/vmware/vmca/privatekey.pem" "$L/$KEY" &&
	rc=0 && "$VC" --root "$L" check --json >out.json || rc=$?
	expect_eq 1 "$rc" &&
	jq -r ".findings[] | select(.code == \"VSAN_HEALTH_COPY_STALE\") | .message" out.json |
	    grep -qF "vpxd-extension.key is not that certificate" &&
	! grep -q "PRIVATE KEY" out.json
'

test_expect 'the plan: a vsan_health step after the VCDB rows, the certificate with its digest, the key without' '
	L=$T/a &&
	expect_eq "extension_thumbprints vsan_health restart" "$(jq -r "[.steps[].kind] | join(\" \")" a.plan)" &&
	expect_eq "/storage/vsan-health/vpxd-extension.cert sha256:$(sha256sum <"$L/$CERT" | cut -d" " -f1)" \
	    "$(jq -r ".steps[1].targets[0] | \"\(.place) \(.digest)\"" a.plan)" &&
	expect_eq "/storage/vsan-health/vpxd-extension.key null" \
	    "$(jq -r ".steps[1].targets[1] | \"\(.place) \(.digest)\"" a.plan)" &&
	"$VC" --root "$L" apply a.plan --dry-run >dry &&
	grep -qF "write /storage/vsan-health/vpxd-extension.key, then /storage/vsan-health/vpxd-extension.cert" dry &&
	same_copy a
'

test_expect 'apply rewrites the copy (each write a fault point), keeping mode and owner; check is 0' '
	L=$T/a &&
	VCROTATE_FAULT_LOG=$T/points "$VC" --root "$L" apply a.plan --yes >out 2>&1 || { tail -n 5 out; false; }
	follows &&
	expect_eq "640 0 0" "$(stat -c "%a %u %g" "$L/$CERT")" &&
	expect_eq "600 1234 5678" "$(stat -c "%a %u %g" "$L/$KEY")" &&
	"$VC" --root "$L" check >/dev/null &&
	expect_eq 2 "$(awk "/psql vpx_ext update\$/ { v = 1; next } v && / write file\$/" points | wc -l)" &&
	! grep -q "PRIVATE KEY" out
'

test_expect 'the snapshot holds the copy, its key sealed; rollback TXN puts it back byte for byte' '
	L=$T/a && txn=$(last transaction) && G=$L/var/lib/vcrotate/backup.git &&
	expect_eq "$(sed -n 2p a.copy)" "$(git --git-dir="$G" show "$(last before):vsan-health/vpxd-extension.cert" | sha256sum)" &&
	! git --git-dir="$G" show "$(last before):vsan-health/vpxd-extension.key" | grep -q "PRIVATE KEY" &&
	"$VC" --root "$L" rollback "$txn" --yes >out 2>&1 || { tail -n 5 out; false; }
	same_copy a &&
	rc=0 && "$VC" --root "$L" check >/dev/null || rc=$?
	expect_eq 2 "$rc"
'

test_expect 'a plan whose vsan_health step names another file, or carries a digest for the key, is refused' '
	L=$T/a &&
	seal() { jq --arg s "$(jq -c -S "del(.sha256)" "$1" | tr -d "\n" | sha256sum | cut -d" " -f1)" ".sha256 = \$s" "$1"; } &&
	jq ".steps[1].targets[0].place = \"/storage/vsan-health/other.cert\"" a.plan >e.json && seal e.json >o.plan &&
	rc=0; "$VC" --root "$L" apply o.plan --yes >out 2>err || rc=$?
	expect_eq 4 "$rc" && expect_grep "a vsan_health step replaces only" err &&
	jq ".steps[1].targets[1].digest = .steps[1].targets[0].digest" a.plan >e.json && seal e.json >d.plan &&
	rc=0; "$VC" --root "$L" apply d.plan --yes >out 2>err || rc=$?
	expect_eq 4 "$rc" && expect_grep "a vsan_health step replaces only" err &&
	same_copy a
'

test_expect 'the write of the copy failing (VCROTATE_FAULT): rolled back, the copy as before (exit 1)' '
	stale b && n=$(awk "/psql vpx_ext update\$/ { v = 1; next } v && / write file\$/ { print \$1; exit }" points) &&
	[ -n "$n" ] || fail "no lab or no fault point"
	rc=0; VCROTATE_FAULT=fail:$((n + 1)) "$VC" --root "$L" apply b.plan --yes >out 2>&1 || rc=$?
	{ expect_eq 1 "$rc" || { tail -n 5 out; false; }; } &&
	grep -q "write file: injected fault" out &&
	same_copy b && [ ! -e "$L/var/lib/vcrotate/journal" ]
'

test_expect 'killed between the key and the certificate: recover puts the copy back byte for byte' '
	L=$T/b && n=$(awk "/psql vpx_ext update\$/ { v = 1; next } v && / write file\$/ { print \$1; exit }" points) &&
	rc=0 && { VCROTATE_FAULT=crash-after:$n "$VC" --root "$L" apply b.plan --yes >out 2>&1; } 2>/dev/null || rc=$?
	expect_eq 137 "$rc" && [ -e "$L/var/lib/vcrotate/journal" ] &&
	! copy | cmp -s - b.copy &&
	rc=0 && "$VC" --root "$L" recover --yes >rec 2>&1 || rc=$?
	{ expect_eq 0 "$rc" || { tail -n 5 rec; false; }; } &&
	same_copy b && [ ! -e "$L/var/lib/vcrotate/journal" ]
'

test_expect 'all-expired: renewing vpxd-extension rewrites the copy with the new certificate and key' '
	L=$T/ae && lab_create "$L" --scenario all-expired --vsan-health >/dev/null && labctl start "$L" >/dev/null 2>&1 || :
	"$VC" --root "$L" check --json >out.json || :
	! jq -e ".findings[] | select(.code == \"VSAN_HEALTH_COPY_STALE\")" out.json >/dev/null &&
	"$VC" --root "$L" plan -o ae.plan >/dev/null &&
	jq -e ".steps[] | select(.kind == \"vsan_health\")" ae.plan >/dev/null &&
	old=$(thumb_of "$L/$CERT") &&
	"$VC" --root "$L" apply ae.plan --yes >out 2>&1 || { tail -n 5 out; false; }
	follows && [ "$old" != "$(thumb_of "$L/$CERT")" ] &&
	"$VC" --root "$L" check >/dev/null
'

test_expect 'no copy (a lab made without --vsan-health): no finding, no step, nothing written' '
	L=$T/none && lab_create "$L" --scenario extension-thumbprint-stale >/dev/null && labctl start "$L" >/dev/null 2>&1 &&
	"$VC" --root "$L" plan -o n.plan >/dev/null &&
	! jq -e ".steps[] | select(.kind == \"vsan_health\")" n.plan >/dev/null &&
	"$VC" --root "$L" apply n.plan --yes >out 2>&1 || { tail -n 5 out; false; }
	[ ! -e "$L/storage/vsan-health" ]
'

test_done
