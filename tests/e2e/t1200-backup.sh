#!/bin/bash
# vcrotate backup on the lab: snapshots in git that git itself reads, keys
# sealed, changes in every group made with the appliance's own tools and put
# back byte for byte (checked with vecs-cli and ldapsearch, not with
# vcrotate), per scope and whole; and refusals that touch nothing.
. "$(dirname "$0")/../lib.sh"

VC=$BUILD/vcrotate
L=$T/lab
REPO=$L/var/lib/vcrotate/backup.git
V=$L/usr/lib/vmware-vmafd/bin/vecs-cli
ADMIN="cn=Administrator,cn=Users,dc=vsphere,dc=local"
TC=cn=vsphere.local,cn=Tenants,cn=IdentityManager,cn=Services,dc=vsphere,dc=local
G() { git --git-dir="$REPO" "$@"; }
uri() { sed -n "s/^ldap_uri=//p" "$L/etc/vcrotate/vcrotate.conf"; }
ldap() { "$@" -x -H "$(uri)" -D "$ADMIN" -y "$L/var/lib/vmware-lab/admin.password"; }

dump() { lab_dump "$L"; }

test_expect 'a first snapshot makes the repository (0700) and its key (0600)' '
	lab_create "$L" --scenario stale-sts-chain >/dev/null && labctl start "$L" >/dev/null 2>&1
	"$VC" --root "$L" backup snapshot --operator alice --ticket CHG0042 --reason "before rotation" >out &&
	grep -q "^snapshot [0-9a-f]\{40\} of vcsa1.example.com: [0-9]* items ([0-9]* sealed)" out &&
	expect_eq 700 "$(stat -c %a "$REPO")" &&
	expect_eq 600 "$(stat -c %a "$L/etc/vcrotate/backup.key")" &&
	dump >before.dump
'

test_expect 'git reads it: fsck --strict, log with trailers, a reflog, HEAD on the snapshots' '
	G fsck --strict 2>&1 | { ! grep -q .; } &&
	G log --format=%B -1 >msg &&
	grep -qx "Operator: alice" msg && grep -qx "Ticket: CHG0042" msg &&
	grep -qx "Reason: before rotation" msg &&
	expect_eq "refs/heads/snapshots" "$(G symbolic-ref HEAD)" &&
	[ "$(G reflog show snapshots | wc -l)" -ge 1 ] &&
	G show HEAD:vecs/MACHINE_SSL_CERT/__MACHINE_CERT/cert.pem | grep -q "BEGIN CERTIFICATE" &&
	G show "HEAD:vmdir/sts" | grep -q "cn%3DTenantCredential-1"
'

test_expect 'list and show, for people and as JSON' '
	"$VC" --root "$L" backup list >list && grep -q "before rotation: snapshot of vcsa1.example.com" list &&
	"$VC" --root "$L" backup list --json | jq -e ".[0].trailers.Ticket == \"CHG0042\"" >/dev/null &&
	"$VC" --root "$L" backup show snapshots >show &&
	grep -q "^  MACHINE_SSL_CERT/__MACHINE_CERT$" show &&
	grep -q "^      CN=vcsa1.example.com, serial" show &&
	grep -q "^  cn=TenantCredential-2,$TC$" show &&
	"$VC" --root "$L" backup show snapshots --json |
	    jq -e "[.entries[].entry] | index(\"store BACKUP_STORE\") != null" >/dev/null
'

test_expect 'no private key, secret key or STS key readable in the repository' '
	G cat-file --batch-all-objects --batch >objects &&
	! grep -a -q "PRIVATE KEY" objects &&
	$V entry getkey --store MACHINE_SSL_CERT --alias __MACHINE_CERT | sed -n 2p >keyline &&
	[ -s keyline ] && ! grep -a -F -q -f keyline objects &&
	$V entry getkey --store APPLMGMT_PASSWORD --alias location_password_default | head -c 64 >secret &&
	! grep -a -F -q -f secret objects &&
	ldap ldapsearch -LLL -o ldif-wrap=no -b "cn=TenantCredential-1,$TC" -s base vmwSTSPrivateKey |
	    sed -n "s/^vmwSTSPrivateKey:: //p" | base64 -d | head -c 48 | base64 -w0 >stskey &&
	! grep -a -F -q -f stskey objects &&
	G show HEAD:vecs/MACHINE_SSL_CERT/__MACHINE_CERT/key | head -c 7 | grep -q VCRBK1
'

test_expect 'an unchanged appliance: the second snapshot differs only in its time (same sealed blobs)' '
	find "$REPO/objects" -type f | sort >objs1 &&
	# The time is kept to the second: let it change, so that it differs.
	s=$(date +%s) && while [ "$(date +%s)" = "$s" ]; do sleep 0.1; done &&
	"$VC" --root "$L" backup snapshot --reason again >/dev/null &&
	G diff --name-only snapshots~1 snapshots >changed &&
	expect_eq created "$(cat changed)" &&
	find "$REPO/objects" -type f | sort >objs2 &&
	new=$(comm -13 objs1 objs2) && n=$(echo "$new" | wc -l) &&
	bytes=$(echo "$new" | xargs stat -c %s | awk "{ s += \$1 } END { print s }") &&
	expect_eq 3 "$n" &&
	echo "# an unchanged snapshot adds $n objects, $bytes bytes (a commit, a tree, a date)" >&3
' 3>&1

test_expect 'changes in every group, made with the appliance tools, show in backup diff' '
	$V entry getcert --store BACKUP_STORE --alias bkp___MACHINE_CERT --output bc.pem >/dev/null &&
	$V entry getkey --store BACKUP_STORE --alias bkp___MACHINE_CERT --output bk.pem >/dev/null &&
	$V entry delete --store MACHINE_SSL_CERT --alias __MACHINE_CERT -y >/dev/null &&
	$V entry create --store MACHINE_SSL_CERT --alias __MACHINE_CERT --cert bc.pem --key bk.pem >/dev/null &&
	$V entry delete --store vpxd --alias vpxd -y >/dev/null &&
	$V entry delete --store APPLMGMT_PASSWORD --alias location_password_default -y >/dev/null &&
	$V store create --name EXTRA >/dev/null &&
	ldap ldapdelete "cn=TenantCredential-2,$TC" &&
	mid=$(sed -n "s/^machine_id=//p" "$L/var/lib/vmware-lab/lab.conf") &&
	printf "dn: cn=vpxd-extension-%s,cn=ServicePrincipals,dc=vsphere,dc=local\nchangetype: modify\nreplace: vmwSTSSubjectDN\nvmwSTSSubjectDN: CN=someone else\n" "$mid" >p.ldif &&
	ldap ldapmodify -f p.ldif >/dev/null &&
	ep=$(ldap ldapsearch -LLL -o ldif-wrap=no -b dc=vsphere,dc=local "(vmwLKUPURI=https://vcsa1.example.com:443/sdk)" dn | sed -n "s/^dn: //p") &&
	printf "dn: %s\nchangetype: modify\nreplace: vmwLKUPEndpointSslTrust\nvmwLKUPEndpointSslTrust: %s\n" "$ep" \
	    "$(openssl x509 -in bc.pem -outform DER | base64 -w0)" >e.ldif &&
	ldap ldapmodify -f e.ldif >/dev/null &&
	"$VC" --root "$L" backup snapshot --reason changed >/dev/null &&
	"$VC" --root "$L" backup diff snapshots~2 snapshots >diff &&
	grep -q "^changed  MACHINE_SSL_CERT/__MACHINE_CERT" diff &&
	grep -q "^removed  vpxd/vpxd" diff &&
	grep -q "^removed  APPLMGMT_PASSWORD/location_password_default" diff &&
	grep -q "^added    store EXTRA" diff &&
	grep -q "^removed  cn=TenantCredential-2,$TC" diff &&
	grep -q "^changed  cn=vpxd-extension-" diff &&
	grep -q "^changed  $ep" diff &&
	grep -A2 "^changed  MACHINE_SSL_CERT" diff | grep -q "before: CN=vcsa1.example.com, serial" &&
	G diff snapshots~2 snapshots -- vecs/MACHINE_SSL_CERT | grep -q "^-MII"
'

test_expect 'restore --only vecs:MACHINE_SSL_CERT puts back that store and nothing else' '
	# A restore adds commits (the state it replaces, its record): the
	# snapshot to restore is named by its id from here on.
	G rev-parse snapshots~2 >s2 &&
	"$VC" --root "$L" backup restore "$(cat s2)" --only vecs:MACHINE_SSL_CERT >out &&
	grep -q "^put back MACHINE_SSL_CERT/__MACHINE_CERT" out &&
	grep -q "^snapshot [0-9a-f]*: the state this restore replaces$" out &&
	# the restore'"'"'s lines, beside the transaction'"'"'s progress ([ Ns] ...)
	expect_eq 3 "$(grep -vc "^\[" out)" &&
	$V entry getcert --store MACHINE_SSL_CERT --alias __MACHINE_CERT | grep -v "^$" >now.pem &&
	G show "$(cat s2)":vecs/MACHINE_SSL_CERT/__MACHINE_CERT/cert.pem | grep -v "^$" >then.pem &&
	cmp now.pem then.pem &&
	! $V entry getcert --store vpxd --alias vpxd >/dev/null 2>&1
'

test_expect 'restore --only sts recreates the deleted credential, exactly' '
	"$VC" --root "$L" backup restore "$(cat s2)" --only sts --dry-run >dry &&
	grep -q "^recreate cn=TenantCredential-2,$TC" dry && grep -q "dry run" dry &&
	! ldap ldapsearch -LLL -b "cn=TenantCredential-2,$TC" -s base dn >/dev/null 2>&1 &&
	"$VC" --root "$L" backup restore "$(cat s2)" --only sts >/dev/null &&
	ldap ldapsearch -LLL -b "cn=TenantCredential-2,$TC" -s base dn | grep -q TenantCredential-2
'

test_expect 'restore of the whole snapshot: the appliance is byte-identical to before' '
	"$VC" --root "$L" backup restore "$(cat s2)" >out &&
	grep -q "now equals the snapshot" out &&
	grep -q "^remove   store EXTRA" out &&
	dump >after.dump &&
	diff before.dump after.dump >/dev/null || { diff before.dump after.dump | head -20; false; }
	"$VC" --root "$L" backup restore "$(cat s2)" >again &&
	grep -q ": 0 changes;" again
'

test_expect 'verify reads every snapshot; a corrupted object is refused and nothing is touched' '
	"$VC" --root "$L" backup verify >out && grep -q "^[0-9]* snapshots verified" out &&
	blob=$(G rev-parse "snapshots:vecs/MACHINE_SSL_CERT/__MACHINE_CERT/key") &&
	obj=$REPO/objects/$(echo "$blob" | cut -c1-2)/$(echo "$blob" | cut -c3-) &&
	cp "$obj" obj.saved && chmod u+w "$obj" &&
	other=$(G rev-parse "snapshots:vecs/machine/machine/key") &&
	cp "$REPO/objects/$(echo "$other" | cut -c1-2)/$(echo "$other" | cut -c3-)" "$obj" &&
	dump >pre.dump &&
	{ "$VC" --root "$L" backup verify 2>err; expect_eq 1 $?; } &&
	grep -q "vcrotate backup verify:" err && cat err >&2 &&
	{ "$VC" --root "$L" backup restore snapshots 2>err; expect_eq 1 $?; } &&
	dump >post.dump && cmp pre.dump post.dump &&
	cp obj.saved "$obj" && "$VC" --root "$L" backup verify >/dev/null
'

test_expect 'a history with a commit missing is a damaged history, not a short one' '
	cp -a "$REPO" repo.copy &&
	first=$(G rev-list --max-parents=0 snapshots) &&
	rm -f "repo.copy/objects/$(echo "$first" | cut -c1-2)/$(echo "$first" | cut -c3-)" &&
	{ "$VC" --root "$L" --repo "$PWD/repo.copy" backup verify 2>verr; expect_eq 1 $?; } &&
	{ "$VC" --root "$L" --repo "$PWD/repo.copy" backup list 2>lerr; expect_eq 1 $?; } &&
	cat verr lerr | grep -q "vcrotate backup"
'

test_expect 'a wrong or missing key, loose permissions: refused by name, nothing touched' '
	k=$L/etc/vcrotate/backup.key && cp -p "$k" key.saved &&
	rm "$k" &&
	{ "$VC" --root "$L" backup snapshot 2>err; expect_eq 1 $?; } &&
	grep -q "backup key .*backup.key is missing" err && [ ! -e "$k" ] &&
	openssl rand -hex 32 >"$k" && chmod 600 "$k" &&
	{ "$VC" --root "$L" backup verify 2>err; expect_eq 1 $?; } &&
	grep -q "backup.key is not the key this repository was made with (key id [0-9a-f]\{16\}, repository [0-9a-f]\{16\})" err &&
	cp -p key.saved "$k" && chmod 644 "$k" &&
	{ "$VC" --root "$L" backup list 2>err; expect_eq 1 $?; } &&
	grep -q "group or others" err &&
	chmod 600 "$k" && chmod 755 "$REPO" &&
	{ "$VC" --root "$L" backup list 2>err; expect_eq 1 $?; } &&
	grep -q "open to group or others" err &&
	chmod 700 "$REPO" && "$VC" --root "$L" backup list >/dev/null
'

test_expect 'a snapshot of another appliance is not restored; bad usage is named' '
	o=$T/other && lab_create "$o" --scenario healthy >/dev/null && labctl start "$o" >/dev/null &&
	mkdir -p "$o/etc/vcrotate" && cp -p "$L/etc/vcrotate/backup.key" "$o/etc/vcrotate/" &&
	dump >pre.dump &&
	{ "$VC" --root "$o" --repo "$REPO" backup restore snapshots 2>err; expect_eq 1 $?; } &&
	grep -q "is of another appliance" err &&
	{ "$VC" --root "$L" backup restore snapshots --only everything 2>err; expect_eq 64 $?; } &&
	grep -q "one of vecs:STORE" err &&
	{ "$VC" --root "$L" backup restore nosuchref 2>err; expect_eq 1 $?; } &&
	grep -q "no snapshot nosuchref" err
'

test_done
