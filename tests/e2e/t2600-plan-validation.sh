#!/bin/bash
# A plan edited and sealed again (the seal is a checksum anyone can compute)
# is held to what vcrotate plan itself would make: apply refuses it (exit
# 4), naming the step and the target, and changes nothing. A prune that
# deletes the administrator, a Machine SSL certificate made a CA, a kind
# unknown or swapped for another, a place of another class, a SAN nobody
# asked for; and, against the appliance, a delete of something that is not
# there. Every plan vcrotate plan makes still loads.
. "$(dirname "$0")/../lib.sh"

VC=$BUILD/vcrotate
DDN=dc=vsphere,dc=local
ADMIN=cn=Administrator,cn=Users,$DDN
CA=cn=Certificate-Authorities,cn=Configuration,$DDN

# The seal as plan_seal computes it: the canonical form of everything but
# "sha256", keys sorted, compact (jansson's and jq's agree on ASCII).
seal_of() { jq -c -S "del(.sha256)" "$1" | tr -d "\n" | sha256sum | cut -d" " -f1; }
# reseal FILTER OUT: good.plan edited with a jq filter, sealed again.
reseal() {
	jq "$1" good.plan >edit.json &&
	jq --arg s "$(seal_of edit.json)" ".sha256 = \$s" edit.json >"$2"
}
# The step number of the first step of a kind in good.plan.
step_n() { jq -r "[.steps[] | select(.kind == \"$1\")][0].n" good.plan; }
# fresh NAME: lab $T/NAME, all expired, so that its plan has every kind of
# step but the root's: good.plan; its state in before. Each test has its
# own, so that on a vcrotate that applies what it should refuse, each case
# still fails for itself.
fresh() {
	L=$T/$1
	lab_create "$L" --scenario all-expired >/dev/null &&
	labctl start "$L" >/dev/null 2>&1 || :
	"$VC" --root "$L" plan -o good.plan >/dev/null &&
	lab_dump "$L" >before && admin_there
}
# Whether the directory still holds the administrator.
admin_there() {
	ldapsearch -x -H "$(sed -n "s/^ldap_uri=//p" "$L/etc/vcrotate/vcrotate.conf")" \
	    -D "$ADMIN" -y "$L/var/lib/vmware-lab/admin.password" -LLL \
	    -b "$ADMIN" -s base dn | grep -q "^dn: $ADMIN"
}
# refused PLAN PATTERN: apply refuses it with a reason matching PATTERN,
# before the backup or the journal, and the lab is as it was.
refused() {
	local rc=0
	"$VC" --root "$L" apply "$1" --yes >out 2>err || rc=$?
	expect_eq 4 "$rc" || { cat err >&2; return 1; }
	expect_grep "refused, nothing was changed" err &&
	expect_grep "$2" err &&
	lab_dump "$L" >after && cmp before after &&
	[ ! -e "$L/var/lib/vcrotate/backup.git" ] &&
	[ ! -e "$L/var/lib/vcrotate/journal" ] &&
	admin_there
}

test_expect 'every plan vcrotate plan makes passes the rules' '
	n=0 &&
	for v in 6.7 7.0 8.0; do
		for s in healthy sts-expired all-expired stale-sts-chain root-expired \
		    solution-user-mismatch machine-ssl-no-pnid trust-anchor-stale \
		    crl-bloat article-vcsa1 legacy-endpoints; do
			l=$T/every-$v-$s
			# Some scenarios are of one version only.
			lab_create "$l" --scenario "$s" --version "$v" >/dev/null 2>&1 ||
			    continue
			labctl start "$l" >/dev/null 2>&1 || :
			for o in "" "--reset-all --prune-expired-roots" \
			    "--renew-within 4000 --san 192.0.2.10 --san x.example.com"; do
				rc=0 && "$VC" --root "$l" plan $o -o p.plan >/dev/null 2>err || rc=$?
				[ "$rc" = 2 ] && continue
				expect_eq 0 "$rc" || { echo "$v $s $o" >&2; cat err >&2; exit 1; }
				"$VC" --root "$l" plan show p.plan >/dev/null 2>err ||
				    { echo "refused: $v $s $o" >&2; cat err >&2; exit 1; }
				n=$((n + 1))
			done
			labctl destroy "$l" >/dev/null 2>&1 || :
		done
	done &&
	[ "$n" -ge 40 ] || { echo "only $n plans" >&2; exit 1; }
'

test_expect 'the seal computed here is the one plan computes' '
	fresh seal &&
	expect_eq "$(jq -r .sha256 good.plan)" "$(seal_of good.plan)" &&
	reseal . same.plan && cmp <(jq -S . good.plan) <(jq -S . same.plan) &&
	"$VC" --root "$L" plan show same.plan >/dev/null
'

test_expect '(a) a prune step deleting cn=Administrator: refused at load, naming step and target' '
	fresh a &&
	n=$(($(jq ".steps | length" good.plan) - 1)) &&
	# A prune_roots step before the VCDB rows and the restart, the
	# steps renumbered.
	reseal ".steps |= (.[:-2] + [{n: 0, kind: \"prune_roots\", title: \"t\",
	    why: [], profile: null, targets: [{type: \"vmdir\", place: \"$ADMIN\",
	    action: \"delete\", digest: \"\"}]}] + .[-2:]) |
	    .steps |= [to_entries[] | .value.n = .key + 1 | .value]" admin.plan &&
	refused admin.plan "step $n (prune_roots), delete $ADMIN: a prune_roots step deletes only CA entries" &&
	# With the digest of nothing (null): the same; and a CA entry that is
	# not there, with an empty digest or a made-up one.
	reseal ".steps |= (.[:-2] + [{n: 0, kind: \"prune_roots\", title: \"t\",
	    why: [], profile: null, targets: [{type: \"vmdir\", place: \"$ADMIN\",
	    action: \"delete\", digest: null}]}] + .[-2:]) |
	    .steps |= [to_entries[] | .value.n = .key + 1 | .value]" admin0.plan &&
	refused admin0.plan "step $n (prune_roots), delete $ADMIN" &&
	reseal ".steps |= (.[:-2] + [{n: 0, kind: \"prune_roots\", title: \"t\",
	    why: [], profile: null, targets: [{type: \"vmdir\", place: \"cn=DEADBEEF,$CA\",
	    action: \"delete\", digest: \"\"}]}] + .[-2:]) |
	    .steps |= [to_entries[] | .value.n = .key + 1 | .value]" empty.plan &&
	refused empty.plan "targets\[0\].digest must be null or sha256:" &&
	reseal ".steps |= (.[:-2] + [{n: 0, kind: \"prune_roots\", title: \"t\",
	    why: [], profile: null, targets: [{type: \"vmdir\", place: \"cn=DEADBEEF,$CA\",
	    action: \"delete\", digest: (\"sha256:\" + (\"0\" * 64))}]}] + .[-2:]) |
	    .steps |= [to_entries[] | .value.n = .key + 1 | .value]" gone.plan &&
	refused gone.plan "^  cn=DEADBEEF,$CA (gone)$"
'

test_expect '(b) the Machine SSL profile made a CA, or given keyCertSign: refused' '
	fresh b &&
	m=$(step_n machine_ssl) &&
	reseal "(.steps[] | select(.kind == \"machine_ssl\") | .profile.ca) = true" ca.plan &&
	refused ca.plan "step $m (machine_ssl): a leaf certificate is never a CA" &&
	reseal "(.steps[] | select(.kind == \"machine_ssl\") | .profile.key_usage) += [\"keyCertSign\"]" kcs.plan &&
	refused kcs.plan "step $m (machine_ssl): key usage keyCertSign is not one a machine_ssl certificate has"
'

test_expect '(c) an unknown kind, or a kind swapped for another: refused' '
	fresh c &&
	reseal "(.steps[] | select(.kind == \"trust_anchors\") | .kind) = \"format_disk\"" unknown.plan &&
	refused unknown.plan "unknown kind format_disk" &&
	# The STS step carried out as a solution user'"'"'s: it would write a
	# principal'"'"'s attributes into the tenant'"'"'s credential.
	reseal ".steps[0].kind = \"solution_user\"" swapped.plan &&
	refused swapped.plan "step 1 (solution_user), replace cn=TenantCredential-1,.*: a solution_user step changes only its own VECS entry"
'

test_expect '(d) a target place of another class: refused, naming step and target' '
	fresh d &&
	m=$(step_n machine_ssl) &&
	d=$(jq -r ".steps[].targets[] | select(.place == \"vpxd/vpxd\") | .digest" good.plan) &&
	reseal "(.steps[] | select(.kind == \"machine_ssl\") | .targets[0]) |= (.place = \"vpxd/vpxd\" | .digest = \"$d\")" vpxd.plan &&
	refused vpxd.plan "step $m (machine_ssl), replace vpxd/vpxd: a machine_ssl step changes only MACHINE_SSL_CERT/__MACHINE_CERT" &&
	# Another node'"'"'s principal, added by a solution-user step.
	reseal "(.steps[] | select(.kind == \"solution_user\") | .targets[1]) |= (.place |= sub(\"-[0-9a-f-]*,\"; \"-11111111-2222-3333-4444-555555555555,\"))" other.plan &&
	refused other.plan "step 2 (solution_user), replace cn=machine-11111111-2222-3333-4444-555555555555,cn=ServicePrincipals,$DDN: a solution_user step changes only" &&
	# A principal deleted by the STS step, with its digest.
	p=$(jq -r "[.steps[].targets[] | select(.place | test(\"ServicePrincipals\"))][0] | .place" good.plan) &&
	d=$(jq -r "[.steps[].targets[] | select(.place | test(\"ServicePrincipals\"))][0] | .digest" good.plan) &&
	reseal ".steps[0].targets += [{type: \"vmdir\", place: \"$p\", action: \"delete\", digest: \"$d\"}]" stsdel.plan &&
	refused stsdel.plan "step 1 (sts), delete $p: an sts step changes only"
'

test_expect '(e) a SAN nobody asked for: refused; one given as a --san: accepted' '
	fresh e &&
	m=$(step_n machine_ssl) &&
	reseal "(.steps[] | select(.kind == \"machine_ssl\") | .profile.san) += [\"DNS:evil.example.com\"]" evil.plan &&
	refused evil.plan "step $m (machine_ssl): SAN DNS:evil.example.com is neither the PNID, nor a --san of the plan" &&
	reseal "(.steps[] | select(.kind == \"machine_ssl\") | .profile.san) = [\"DNS:evil.example.com\"]" nopnid.plan &&
	refused nopnid.plan "step $m (machine_ssl): the SAN must begin with the PNID, DNS:vcsa1.example.com" &&
	reseal ".steps[0].profile.san += [\"DNS:evil.example.com\"]" sts.plan &&
	refused sts.plan "step 1 (sts): its certificate names the PNID alone as its SAN (DNS:vcsa1.example.com)" &&
	# The name as a --san of the plan: what plan --san would have made.
	reseal "(.steps[] | select(.kind == \"machine_ssl\") | .profile.san) += [\"DNS:alias.example.com\"] |
	    .policy.san = [\"alias.example.com\"]" asked.plan &&
	"$VC" --root "$L" apply asked.plan --dry-run >out 2>err &&
	lab_dump "$L" >after && cmp before after
'

test_expect '(e) a name the Machine SSL certificate has now stays (plan keeps it; a plan may keep one, never one its policy drops)' '
	l2=$T/kept && lab_create "$l2" --scenario machine-ssl-no-pnid >/dev/null &&
	labctl start "$l2" >/dev/null 2>&1 || :
	"$VC" --root "$l2" plan --san old.example.com -o first.plan >/dev/null &&
	"$VC" --root "$l2" apply first.plan --yes >/dev/null 2>&1 &&
	"$VC" --root "$l2" plan --scope machine-ssl --renew-within 4000 -o kept.plan >/dev/null &&
	jq -e "[.steps[] | select(.kind == \"machine_ssl\") | .profile.san] == [[\"DNS:vcsa1.example.com\", \"DNS:vcsa1\", \"IP:127.0.0.1\", \"DNS:old.example.com\"]]" kept.plan >/dev/null &&
	"$VC" --root "$l2" plan --scope machine-ssl --renew-within 4000 --drop-san old.example.com \
	    --drop-san vcsa1 --drop-san 127.0.0.1 -o good.plan >/dev/null &&
	jq -e "[.steps[] | select(.kind == \"machine_ssl\") | .profile.san] == [[\"DNS:vcsa1.example.com\"]]" good.plan >/dev/null &&
	reseal "(.steps[] | select(.kind == \"machine_ssl\") | .profile.san) += [\"DNS:old.example.com\"]" dropped.plan &&
	rc=0 && "$VC" --root "$l2" apply dropped.plan --dry-run >out 2>err || rc=$?
	expect_eq 4 "$rc" && expect_grep "SAN DNS:old.example.com is one the policy drops" err &&
	reseal "((.steps[] | select(.kind == \"machine_ssl\") | .profile.san) += [\"DNS:old.example.com\"]) | .policy.drop_san -= [\"DNS:old.example.com\"]" kept.plan &&
	"$VC" --root "$l2" apply kept.plan --dry-run >out 2>err &&
	reseal "(.steps[] | select(.kind == \"machine_ssl\") | .profile.san) += [\"DNS:new.example.com\"]" new.plan &&
	rc=0 && "$VC" --root "$l2" apply new.plan --yes >out 2>err || rc=$?
	expect_eq 4 "$rc" && expect_grep "SAN DNS:new.example.com is neither" err
'

test_done
