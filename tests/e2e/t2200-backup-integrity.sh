#!/bin/bash
# Snapshots authenticated as a whole (docs/backup.md "Authentication"): a
# commit forged with git itself (an attacker's VMCA root and key, the
# manifest's digests recomputed, the key marked not sealed) is named by
# verify, refused by restore, rollback and mark, and set apart by history;
# no privatekey.pem is ever written with a mode but 0600; a replaced or
# missing backup.key is named with what to do, and no snapshot is made
# with it; an untouched repository still verifies and restores.
. "$(dirname "$0")/../lib.sh"

VC=$BUILD/vcrotate
L=$T/lab
REPO=$L/var/lib/vcrotate/backup.git
KEY=$L/etc/vcrotate/backup.key
VKEY=$L/var/lib/vmware/vmca/privatekey.pem
G() { git --git-dir="$REPO" "$@"; }
export GIT_AUTHOR_NAME=mallory GIT_AUTHOR_EMAIL=m@example.com \
    GIT_COMMITTER_NAME=mallory GIT_COMMITTER_EMAIL=m@example.com
dump() { lab_dump "$L"; }
# The VMCA key file as it is: mode and bytes.
vkey() { stat -c %a "$VKEY"; sha256sum <"$VKEY"; }

# forge MAC [TXN RESULT]: a commit on top of refs/heads/snapshots holding
# the attacker's VMCA root and key, the manifest's digests recomputed and
# the key "sealed": false, as the issue describes. Its message is the tip's
# with its MAC trailer copied (MAC=copy) or without one (MAC=strip); with
# TXN and RESULT, it claims that transaction and result instead. Prints
# its id; the ref is left where it was.
forge() {
	local idx=$T/forge.idx p rb kb mb tree
	rb=$(G hash-object -w evil.cer) && kb=$(G hash-object -w evil.key) &&
	G show snapshots:manifest.json >m.json &&
	p=$(jq -r '.items["vmca/root.cer"].digest' m.json | sed "s/[0-9a-f]\{64\}\$//") &&
	jq --arg r "$p$(sha256sum <evil.cer | cut -c1-64)" \
	    --arg k "$p$(sha256sum <evil.key | cut -c1-64)" \
	    '.items["vmca/root.cer"].digest = $r |
	     .items["vmca/privatekey.pem"] = { digest: $k, sealed: false }' m.json >m2.json &&
	mb=$(G hash-object -w m2.json) &&
	rm -f "$idx" && GIT_INDEX_FILE=$idx G read-tree snapshots &&
	GIT_INDEX_FILE=$idx G update-index --cacheinfo "100644,$rb,vmca/root.cer" \
	    --cacheinfo "100644,$kb,vmca/privatekey.pem" \
	    --cacheinfo "100644,$mb,manifest.json" &&
	tree=$(GIT_INDEX_FILE=$idx G write-tree) &&
	G cat-file commit snapshots | sed '1,/^$/d' >msg || return 1
	if [ $# -ge 3 ]; then
		sed -i -e "/^Transaction: /d" -e "/^Result: /d" \
		    -e "/^Operator: /a Transaction: $2\nResult: $3" msg
	fi
	[ "$1" = copy ] || sed -i '/^Vcrotate-MAC: /d' msg
	G commit-tree "$tree" -p snapshots -F msg
}

test_expect 'a lab, one transaction, a snapshot: each commit has a key id and a MAC, all verify' '
	lab_create "$L" --scenario sts-expired >/dev/null && labctl start "$L" >/dev/null 2>&1 &&
	"$VC" --root "$L" plan -o p.plan >/dev/null &&
	"$VC" --root "$L" apply p.plan --ticket CHG-1 >apply.out 2>&1 &&
	"$VC" --root "$L" backup snapshot --reason "after" >/dev/null &&
	"$VC" --root "$L" backup verify >v.out && grep -q "snapshots\? verified" v.out &&
	"$VC" --root "$L" history >h.out && ! grep -q FORGED h.out &&
	G rev-parse snapshots >good.ref &&
	openssl req -x509 -newkey rsa:2048 -nodes -keyout evil.key -out evil.cer \
	    -subj "/CN=Evil Root" -days 30 2>/dev/null &&
	dump >good.dump && vkey >good.vkey && expect_eq 600 "$(stat -c %a "$VKEY")" &&
	# Every snapshot commit records the key id and ends with its MAC.
	G rev-list snapshots >commits && [ "$(wc -l <commits)" -ge 3 ] &&
	while read -r c; do
		G cat-file commit "$c" | grep -q "^Vcrotate-Key-Id: [0-9a-f]\{16\}$" &&
		G cat-file commit "$c" | tail -n 1 | grep -q "^Vcrotate-MAC: [0-9a-f]\{64\}$" ||
		fail "commit $c"
	done <commits &&
	expect_eq 1 "$(G cat-file commit snapshots | grep -c "^Vcrotate-MAC: ")"
'

# The forged commit on top of the snapshots, as the tip (MAC=copy|strip).
forged_tip() {
	f=$(forge "$1") && echo "$f" >f.id && G update-ref refs/heads/snapshots "$f" &&
	G fsck --strict 2>&1 | { ! grep -q .; } || fail "git fsck finds the forgery"
}
back_to_good() { G update-ref refs/heads/snapshots "$(cat good.ref)"; }

for how in strip copy; do
test_expect "a forged commit ($how MAC): verify names it and fails" '
	back_to_good && forged_tip '$how' &&
	rc=0 && "$VC" --root "$L" backup verify >out 2>err || rc=$?
	expect_eq 1 "$rc" &&
	grep -q "snapshot ${f:0:12}.*FORGED or damaged" err &&
	grep -q "1 of [0-9]* snapshots failed" err
'

test_expect "a forged commit ($how MAC): restore HEAD refuses it, naming it; nothing changes" '
	f=$(cat f.id) &&
	rc=0 && "$VC" --root "$L" backup restore HEAD >out 2>err || rc=$?
	expect_eq 600 "$(stat -c %a "$VKEY")" && expect_eq 1 "$rc" &&
	grep -q "snapshot ${f:0:12}.*FORGED or damaged" err &&
	dump >now.dump && cmp -s good.dump now.dump &&
	vkey >now.vkey && cmp good.vkey now.vkey &&
	rc=0 && "$VC" --root "$L" backup show HEAD >out 2>err || rc=$?
	expect_eq 1 "$rc" && grep -q "${f:0:12}.*FORGED" err &&
	rc=0 && "$VC" --root "$L" backup diff HEAD~1 HEAD >out 2>err || rc=$?
	expect_eq 1 "$rc" && grep -q "${f:0:12}.*FORGED" err
'

test_expect "a forged commit ($how MAC): history marks it, and it is no outcome" '
	f=$(cat f.id) &&
	rc=0 && "$VC" --root "$L" history >h.out 2>err || rc=$?
	expect_eq 1 "$rc" &&
	grep -q "${f:0:12}  FORGED or damaged: not an outcome" h.out &&
	grep -q "do not authenticate\|does not authenticate" err &&
	"$VC" --root "$L" history --json >h.json 2>/dev/null || :
	jq -e --arg f "$f" "[.transactions[].outcome] | index(\$f) == null" h.json >/dev/null &&
	jq -e --arg f "$f" ".forged_or_damaged[0].commit == \$f" h.json >/dev/null &&
	back_to_good
'
done

test_expect 'a forged transaction (before and success forged): rollback refuses it, nothing changes' '
	back_to_good && b=$(forge strip T-forged before) && G update-ref refs/heads/snapshots "$b" &&
	s=$(forge strip T-forged success) && G update-ref refs/heads/snapshots "$s" &&
	rc=0 && "$VC" --root "$L" rollback T-forged >out 2>&1 || rc=$?
	expect_eq 4 "$rc" &&
	grep -q "does not authenticate.*FORGED or damaged\|FORGED or damaged" out &&
	dump >now.dump && cmp -s good.dump now.dump &&
	vkey >now.vkey && cmp good.vkey now.vkey &&
	back_to_good
'

test_expect 'a forged commit named by its id, off the snapshots line, is refused too' '
	back_to_good && f=$(forge copy) &&
	rc=0 && "$VC" --root "$L" backup restore "$f" --dry-run >out 2>err || rc=$?
	expect_eq 1 "$rc" && grep -q "${f:0:12}.*FORGED" err &&
	expect_eq "$(cat good.ref)" "$(G rev-parse snapshots)"
'

test_expect 'no privatekey.pem is ever written with a mode but 0600' '
	# A repository made before MACs (none in it), whose only snapshot is
	# the forged one: the key is not sealed, and the mode followed that.
	back_to_good && f=$(forge strip) && tree=$(G rev-parse "$f^{tree}") &&
	rm -rf old.git && cp -a "$REPO" old.git &&
	G cat-file commit "$f" | sed "1,/^\$/d" | grep -v "^Vcrotate-" >lmsg &&
	c=$(git --git-dir=old.git commit-tree "$tree" -F lmsg) &&
	git --git-dir=old.git update-ref refs/heads/snapshots "$c" &&
	rc=0 && "$VC" --root "$L" --repo "$T/old.git" backup restore HEAD >out 2>err || rc=$?
	expect_eq 600 "$(stat -c %a "$VKEY")" && expect_eq 1 "$rc" &&
	grep -q "snapshot ${c:0:12}: FORGED or damaged: vmca/privatekey.pem is a key, and the manifest says it is not sealed" err &&
	vkey >now.vkey && cmp good.vkey now.vkey &&
	# A restore that has to write it: the key file changed by hand.
	cp -p "$VKEY" vkey.saved && cat evil.key >"$VKEY" && chmod 644 "$VKEY" &&
	"$VC" --root "$L" backup restore HEAD >out 2>&1 &&
	expect_eq 600 "$(stat -c %a "$VKEY")" && cmp -s vkey.saved "$VKEY" &&
	dump >now.dump && cmp -s good.dump now.dump
'

test_expect 'a swapped backup.key: snapshot, restore, rollback, verify, history refuse with its key id' '
	back_to_good && cp -p "$KEY" key.saved && openssl rand -hex 32 >"$KEY" && chmod 600 "$KEY" &&
	msg="backup.key is not the key this repository was made with (key id [0-9a-f]\{16\}, repository [0-9a-f]\{16\}): restore the key from where docs/backup.md says to keep a copy" &&
	rc=0 && "$VC" --root "$L" backup snapshot >out 2>err || rc=$?
	expect_eq 1 "$rc" && grep -q "$msg" err &&
	expect_eq "$(cat good.ref)" "$(G rev-parse snapshots)" &&
	rc=0 && "$VC" --root "$L" backup restore HEAD~2 >out 2>err || rc=$?
	expect_eq 1 "$rc" && grep -q "$msg" err &&
	txn=$(G log --format=%B | sed -n "s/^Transaction: //p" | head -n 1) && [ -n "$txn" ] &&
	rc=0 && "$VC" --root "$L" rollback "$txn" >out 2>&1 || rc=$?
	expect_eq 4 "$rc" && grep -q "$msg" out &&
	rc=0 && "$VC" --root "$L" backup verify >out 2>err || rc=$?
	expect_eq 1 "$rc" && grep -q "$msg" err &&
	rc=0 && "$VC" --root "$L" history >out 2>err || rc=$?
	expect_eq 1 "$rc" && grep -q "$msg" err &&
	expect_eq "$(cat good.ref)" "$(G rev-parse snapshots)" &&
	dump >now.dump && cmp -s good.dump now.dump
'

test_expect 'a missing backup.key: refused with what to do, and no new key is made' '
	rm "$KEY" &&
	for c in "backup snapshot" "backup verify" "history"; do
		rc=0 && "$VC" --root "$L" $c >out 2>err || rc=$?
		expect_eq 1 "$rc" &&
		grep -q "backup key .*backup.key is missing.*restore the key from where docs/backup.md says" err || exit 1
	done &&
	rc=0 && "$VC" --root "$L" rollback T-none >out 2>&1 || rc=$?
	expect_eq 4 "$rc" && grep -q "is missing.*restore the key" out &&
	[ ! -e "$KEY" ] && cp -p key.saved "$KEY" &&
	expect_eq "$(cat good.ref)" "$(G rev-parse snapshots)"
'

test_expect 'the untouched repository still verifies and restores' '
	back_to_good && { [ -e "$KEY" ] || cp -p key.saved "$KEY"; } &&
	"$VC" --root "$L" backup verify >v.out && grep -q "snapshots verified: every MAC verifies" v.out &&
	"$VC" --root "$L" history >h.out && ! grep -q FORGED h.out &&
	"$VC" --root "$L" backup restore HEAD >out 2>&1 &&
	dump >now.dump && cmp -s good.dump now.dump &&
	expect_eq 600 "$(stat -c %a "$VKEY")"
'

test_done
