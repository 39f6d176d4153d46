#!/bin/bash
# Hostile content on the lab: aliases with '/', '..', an escape sequence, 4 KB
# long or not UTF-8; an 11 MB entry; an alias with a newline (read through
# the listing's entry count) and one that mimics the listing (refused);
# plan files with extra, missing or mistyped
# fields. Each gets a clear error naming the item, check still reports the
# rest, nothing reaches the terminal raw, and nothing is written.
. "$(dirname "$0")/../lib.sh"

VC=$BUILD/vcrotate
L=$T/lab
V=$L/usr/lib/vmware-vmafd/bin/vecs-cli
LONG=$(printf 'A%.0s' $(seq 4096))
# commits LAB: how many snapshots its backup holds.
commits() { git --git-dir="$1/var/lib/vcrotate/backup.git" rev-list --count snapshots 2>/dev/null || echo 0; }

test_expect 'a lab with hostile aliases and an 11 MB entry' '
	lab_create "$L" --scenario healthy >/dev/null &&
	labctl start "$L" >/dev/null 2>&1 || :
	a=$($V entry list --store TRUSTED_ROOTS --aliases | sed -n 2p) &&
	$V entry getcert --store TRUSTED_ROOTS --alias "$a" >root.pem &&
	$V store create --name HOSTILE >/dev/null &&
	for a in "a/b" ".." "$LONG" "$(printf "bad\377\376utf")" "$(printf "esc\033[31mred")"; do
		$V entry create --store HOSTILE --alias "$a" --cert root.pem >/dev/null || exit 1
	done &&
	for i in $(seq 8000); do cat root.pem; done >big.pem &&
	$V store create --name BIG >/dev/null &&
	$V entry create --store BIG --alias big --cert big.pem >/dev/null
'

test_expect 'check reads them all; the terminal gets no raw control byte or invalid UTF-8' '
	rc=0 && "$VC" --root "$L" check >out 2>&1 || rc=$?
	expect_eq 0 "$rc" &&
	! grep -q "$(printf "\033")" out && ! LC_ALL=C grep -q "$(printf "\377")" out &&
	grep -q "^  esc\\\\x1b\[31mred " out && grep -q "^  bad\\\\xff\\\\xfeutf " out &&
	grep -q "^  a/b " out && grep -q "^  \.\. " out && grep -q "^  AAAA*\.\.\. " out &&
	grep -A1 "^STORE BIG" out | grep -q "^  big " &&
	grep -q "^STORE MACHINE_SSL_CERT" out &&
	"$VC" --root "$L" check --json >out.json &&
	expect_eq 5 "$(jq "[.certificates[] | select(.store == \"HOSTILE\")] | length" out.json)" &&
	jq -e ".certificates[] | select(.alias == \"$LONG\")" out.json >/dev/null &&
	# The textfile for node_exporter: valid UTF-8, no control byte, every
	# series once.
	"$VC" --root "$L" check --prometheus h.prom >/dev/null &&
	iconv -f UTF-8 -t UTF-8 h.prom >/dev/null &&
	! grep -q "$(printf "\033")" h.prom &&
	grep -q "place=\"HOSTILE/bad\\\\\\\\xff\\\\\\\\xfeutf\"" h.prom &&
	grep -v "^#" h.prom | sed "s/ [^ ]*$//" | sort | uniq -d >dups && [ ! -s dups ]
'

test_expect 'snapshot and restore carry them byte for byte, names never becoming paths' '
	lab_dump "$L" >before &&
	"$VC" --root "$L" backup snapshot >/dev/null &&
	"$VC" --root "$L" backup show snapshots >show &&
	grep -q "HOSTILE/esc\\\\x1b\[31mred" show && ! grep -q "$(printf "\033")" show &&
	! find "$L/var/lib/vcrotate" -name "b" -path "*a/b*" | grep -q . &&
	$V store delete --name HOSTILE -y >/dev/null && $V store delete --name BIG -y >/dev/null &&
	"$VC" --root "$L" backup restore snapshots >/dev/null &&
	lab_dump "$L" >after && cmp before after
'

test_expect 'an alias with a newline: listed, reported, snapshotted and restored exactly' '
	$V store create --name NEWLINE >/dev/null &&
	nl=$(printf "x\ny") &&
	$V entry create --store NEWLINE --alias "$nl" --cert root.pem >/dev/null &&
	"$VC" --root "$L" check >out 2>&1 || :
	! grep -q "NOT READ VECS" out &&
	grep -q "^STORE NEWLINE" out &&
	grep -qF "x\x0ay" out &&
	"$VC" --root "$L" check --json >c.json 2>/dev/null || :
	jq -e --arg a "$nl" "[.certificates[] | select(.store == \"NEWLINE\" and .alias == \$a)] | length == 1" c.json >/dev/null &&
	n0=$(commits "$L") &&
	"$VC" --root "$L" backup snapshot >/dev/null 2>err &&
	expect_eq "$((n0 + 1))" "$(commits "$L")" &&
	$V entry delete --store NEWLINE --alias "$nl" -y >/dev/null &&
	"$VC" --root "$L" backup restore snapshots >rs.out 2>&1 &&
	$V entry getcert --store NEWLINE --alias "$nl" >got.pem &&
	expect_eq "$(openssl x509 -in root.pem -outform DER | sha256sum)" "$(openssl x509 -in got.pem -outform DER | sha256sum)" &&
	expect_eq 1 "$($V entry list --store NEWLINE | sed -n "s/^Number of entries in store :\t//p")" &&
	$V store delete --name NEWLINE -y >/dev/null &&
	"$VC" --root "$L" backup snapshot >/dev/null 2>&1
'

test_expect 'an alias that mimics the listing (a newline, then Alias :): refused by count, named, nothing written' '
	$V store create --name MIMIC >/dev/null &&
	$V entry create --store MIMIC --alias "$(printf "x\nAlias :\ty")" --cert root.pem >/dev/null &&
	n0=$(commits "$L") &&
	rc=0 && "$VC" --root "$L" check >out 2>&1 || rc=$?
	expect_eq 3 "$rc" &&
	expect_grep "NOT READ VECS: cannot read store MIMIC" out &&
	rc=0 && "$VC" --root "$L" backup snapshot 2>err || rc=$?
	expect_eq 1 "$rc" && expect_grep "MIMIC" err &&
	expect_eq "$n0" "$(commits "$L")" &&
	$V store delete --name MIMIC -y >/dev/null
'

test_expect 'plans with an extra, a missing or a mistyped field: apply refuses by name, writes nothing' '
	l2=$T/sts && lab_create "$l2" --scenario sts-expired >/dev/null &&
	labctl start "$l2" >/dev/null 2>&1 || :
	"$VC" --root "$l2" plan -o good.plan >/dev/null &&
	jq ".steps[0].extra = 1" good.plan >extra.plan &&
	jq "del(.steps[0].kind)" good.plan >missing.plan &&
	jq ".steps[0].targets[0].place = 7" good.plan >mistyped.plan &&
	lab_dump "$l2" >before &&
	for p in extra missing mistyped; do
		rc=0; "$VC" --root "$l2" apply $p.plan >out 2>err || rc=$?
		expect_eq 4 "$rc" && expect_grep "refused, nothing was changed" err || exit 1
	done &&
	"$VC" --root "$l2" apply extra.plan 2>&1 | grep -q "unknown field steps\[0\]\.extra$" &&
	"$VC" --root "$l2" apply missing.plan 2>&1 | grep -q "missing field steps\[0\]\.kind$" &&
	"$VC" --root "$l2" apply mistyped.plan 2>&1 | grep -q "field steps\[0\]\.targets\[0\]\.place must be a string$" &&
	lab_dump "$l2" >after && cmp before after &&
	[ ! -e "$l2/var/lib/vcrotate/backup.git" ] && [ ! -e "$l2/var/lib/vcrotate/journal" ]
'

test_expect 'a garbage PEM and a userCertificate that is not DER: planned; apply refuses what it could not put back, names it' '
	g=$T/garbage && lab_create "$g" --scenario healthy >/dev/null && labctl start "$g" >/dev/null 2>&1 || :
	v=$g/usr/lib/vmware-vmafd/bin/vecs-cli &&
	labctl fault "$g" corrupt-entry vpxd vpxd >/dev/null &&
	mid=$(sed -n "s/^machine_id=//p" "$g/var/lib/vmware-lab/lab.conf") &&
	dn="cn=vsphere-webclient-$mid,cn=ServicePrincipals,dc=vsphere,dc=local" &&
	uri=$(sed -n "s/^ldap_uri=//p" "$g/etc/vcrotate/vcrotate.conf") &&
	printf "dn: %s\nchangetype: modify\nreplace: userCertificate\nuserCertificate: not a certificate\n" "$dn" |
	    ldapmodify -x -H "$uri" -D cn=Administrator,cn=Users,dc=vsphere,dc=local \
	    -y "$g/var/lib/vmware-lab/admin.password" >/dev/null &&
	"$VC" --root "$g" plan -o g.plan >/dev/null &&
	jq -r ".steps[].targets[] | \"\(.action) \(.place)\"" g.plan | sort >places &&
	printf "%s\n" "replace vpxd/vpxd" "replace vsphere-webclient/vsphere-webclient" "replace $dn" \
	    "replace cn=vpxd-$mid,cn=ServicePrincipals,dc=vsphere,dc=local" "restart service-control" |
	    sort >want && diff -u want places &&
	# vecs-cli will not write the damaged entry back, so a rollback could
	# not: refused before anything, naming it and what to do.
	lab_dump "$g" >before &&
	rc=0 && "$VC" --root "$g" apply g.plan >out 2>err || rc=$?
	expect_eq 4 "$rc" &&
	expect_grep "a rollback could not put back what these entries hold now" err &&
	expect_grep "^  vpxd/vpxd (damaged PEM certificate)$" err &&
	lab_dump "$g" >after && cmp before after &&
	# The remedy it names: a snapshot keeps the damaged bytes, the entry
	# goes, a new plan adds it.
	"$VC" --root "$g" backup snapshot >/dev/null &&
	$v entry delete --store vpxd --alias vpxd -y >/dev/null &&
	"$VC" --root "$g" plan -o g2.plan >/dev/null &&
	jq -e "[.steps[].targets[] | select(.place == \"vpxd/vpxd\") | .action] == [\"add\"]" g2.plan >/dev/null &&
	"$VC" --root "$g" apply g2.plan >out 2>&1 &&
	{ "$VC" --root "$g" check >/dev/null; expect_eq 0 $?; } &&
	git --git-dir="$g/var/lib/vcrotate/backup.git" log --format=%s snapshots | grep -q "^manual snapshot"
'

test_done
