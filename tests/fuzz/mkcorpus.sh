#!/bin/bash
# mkcorpus.sh - makes the seed corpus of the fuzz harnesses,
# tests/fuzz/corpus/NAME/, from labs (real vecs-cli, lwregshell, vmdir,
# plan and snapshot output) plus the hostile cases issue 8 names: aliases
# with newlines, '/', '..', 4 KB long or not UTF-8, garbage and truncated
# PEM, DER that is not a certificate, damaged plans and manifests.
#
#   make && bash tests/fuzz/mkcorpus.sh [OUTDIR]
#
# OUTDIR defaults to tests/fuzz/corpus; seeds are (re)written there, other
# files (inputs the fuzzer found) are left alone. Needs slapd, ldap-utils,
# openssl, jq and git, as make test does. Certificates and keys differ from
# run to run (new labs); the shapes do not.
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-$TOP/tests/fuzz/corpus}
LABCTL=$TOP/tests/lab/labctl
VC=$TOP/build/vcrotate
W=$(mktemp -d "${TMPDIR:-/tmp}/vcrotate-corpus.XXXXXX")
export LC_ALL=C TZ=UTC LDAPNOINIT=1
labs=()
cleanup() {
	local l
	for l in "${labs[@]}"; do "$LABCTL" destroy "$l" >/dev/null 2>&1 || :; done
	rm -rf "$W"
}
trap cleanup EXIT

for d in vecs_list vecs_stores lwreg config cert_pem cert_der cert_key plan backup \
    names; do
	mkdir -p "$OUT/$d"
done

lab() {	# lab NAME SCENARIO [labctl create options]: a started lab in $W/NAME
	local l=$W/$1 s=$2
	shift 2
	labs+=("$l")
	"$LABCTL" create "$l" --scenario "$s" "$@" >/dev/null
	"$LABCTL" start "$l" >/dev/null 2>&1 || :
}
vecs() { "$1/usr/lib/vmware-vmafd/bin/vecs-cli" "${@:2}"; }
ldap() {	# ldap LAB FILTER ATTR: the first value of ATTR, raw bytes
	local uri
	uri=$(sed -n 's/^ldap_uri=//p' "$1/etc/vcrotate/vcrotate.conf")
	ldapsearch -x -H "$uri" -D cn=Administrator,cn=Users,dc=vsphere,dc=local \
	    -y "$1/var/lib/vmware-lab/admin.password" -LLL -o ldif-wrap=no \
	    -t -T "$W/ldap" -b dc=vsphere,dc=local "$2" "$3" >"$W/ldap.ldif"
	mkdir -p "$W/ldap"
	f=$(sed -n "s|^$3[^:]*:< file://||p" "$W/ldap.ldif" | head -n 1)
	cat "$f"
}

mkdir -p "$W/ldap"
lab a all-expired
lab b healthy --version 6.7
A=$W/a B=$W/b
cp "$TOP/tests/fuzz/backup.key" "$A/etc/vcrotate/backup.key"
chmod 600 "$A/etc/vcrotate/backup.key"

# A store of hostile aliases (the lab's vecs-cli takes any bytes).
vecs "$A" entry getcert --store MACHINE_SSL_CERT --alias __MACHINE_CERT >"$W/m.pem"
vecs "$A" store create --name HOSTILE >/dev/null
for alias in "$(printf 'two\nlines')" "$(printf 'bad\377\376utf8')" \
    ../../etc/passwd .git "a/b" "$(head -c 4096 /dev/zero | tr '\0' A)" \
    "$(printf 'tab\there')" "cn=x,cn=y"; do
	vecs "$A" entry create --store HOSTILE --alias "$alias" \
	    --cert "$W/m.pem" >/dev/null
done

# ---- vecs_list, vecs_stores: vecs-cli output as it is ----
vecs "$A" store list >"$OUT/vecs_stores/a-store-list.txt"
vecs "$B" store list >"$OUT/vecs_stores/b-store-list.txt"
for s in $(vecs "$A" store list); do
	vecs "$A" entry list --store "$s" >"$OUT/vecs_list/a-$s.txt"
done
vecs "$B" entry list --store STS_INTERNAL_SSL_CERT >"$OUT/vecs_list/b-STS_INTERNAL_SSL_CERT.txt"
printf 'MACHINE_SSL_CERT\r\nTRUSTED_ROOTS\r\n\r\n' >"$OUT/vecs_stores/crlf.txt"
printf '\n\nonly one\n\n' >"$OUT/vecs_stores/blank-lines.txt"
printf 'a\000b\nc\n' >"$OUT/vecs_stores/nul.txt"
printf 'Number of entries in store :\t0\n' >"$OUT/vecs_list/empty-store.txt"
printf 'Number of entries in store :\t2\nAlias :\tx\nEntry type :\tQuantum Key\nCertificate :\t\n\nAlias :\ty\nEntry type :\tSecret Key\nCertificate :\t\n' \
    >"$OUT/vecs_list/unknown-type.txt"
printf 'Number of entries in store :\t1\r\nAlias :\tx\r\nEntry type :\tTrusted Cert\r\nCertificate :\t-----BEGIN CERTIFICATE-----\r\nAAAA\r\n-----END CERTIFICATE-----\r\n\r\n' \
    >"$OUT/vecs_list/crlf.txt"
printf 'Number of entries in store :\t99999999999999999999\n' >"$OUT/vecs_list/huge-count.txt"
printf 'Alias :\tno count\nEntry type :\tSecret Key\n' >"$OUT/vecs_list/no-count.txt"
printf 'Number of entries in store :\t1\nAlias :\tx\nEntry type :\tTrusted Cert\nEntry type :\tPrivate Key\nCertificate :\t\n' \
    >"$OUT/vecs_list/two-entry-types.txt"
printf 'Number of entries in store :\t1\nAlias :\ta\000b\nEntry type :\tTrusted Cert\nCertificate :\t\n' \
    >"$OUT/vecs_list/nul-alias.txt"
head -c 1500 "$OUT/vecs_list/a-MACHINE_SSL_CERT.txt" >"$OUT/vecs_list/truncated.txt"

# An alias with a newline makes a listing nobody can read right (vcrotate
# refuses it); the rest of the hostile store stays for plans and snapshots.
vecs "$A" entry delete --store HOSTILE --alias "$(printf 'two\nlines')" -y >/dev/null

# ---- lwreg: lwregshell list_values ----
"$A/opt/likewise/bin/lwregshell" list_values '[HKEY_THIS_MACHINE\services\vmdir]' \
    >"$OUT/lwreg/vmdir.txt"
"$A/opt/likewise/bin/lwregshell" list_values '[HKEY_THIS_MACHINE\Services\vmafd\Parameters]' \
    >"$OUT/lwreg/vmafd.txt"
printf '[HKEY_THIS_MACHINE\\services\\vmdir]\n   "dcAccountPassword"   REG_SZ          "a\\"b\\\\c\\d"\n+  "x"  REG_SZ  "unterminated\n+  ""  REG_SZ  ""\n+  "dcAccountDN"  REG_SZ  "cn=\377\376,dc=x"\n"only a name"\n' \
    >"$OUT/lwreg/hostile.txt"

# ---- config: vcrotate.conf ----
cp "$A/etc/vcrotate/vcrotate.conf" "$OUT/config/lab.conf"
cat >"$OUT/config/all-settings.conf" <<-'EOF'
	# every setting vcrotate.conf knows
	ldap_uri = ldap://localhost:389
	bind_dn = administrator@vsphere.local
	password_file = /root/.vcrotate-password
	warn_days = 180
	crit_days=30
	https_port = 443
	backup_repo = /var/lib/vcrotate/backup.git
EOF
printf 'bind_dn = cn=Administrator,cn=Users,dc=vsphere,dc=local\n' >"$OUT/config/bind-dn.conf"
printf 'ldap_uri = ldap://vcsa1.example.com:389\nstarttls = yes\nca_file = /etc/vmware/ca.pem\n' >"$OUT/config/starttls.conf"
printf 'ldap_uri = ldaps://vcsa1.example.com:636\nstarttls = yes\n' >"$OUT/config/starttls-ldaps.conf"
printf 'bind_dn = user@a..b.\n\t \n#x\nbind_dn=@\n' >"$OUT/config/odd-upn.conf"
printf 'https_port = 65536\n' >"$OUT/config/bad-port.conf"
printf 'warn_days = -1\n' >"$OUT/config/bad-days.conf"
printf 'colour = blue\n' >"$OUT/config/unknown.conf"
printf 'no equals sign\n' >"$OUT/config/no-equals.conf"

# ---- cert_pem: certificates, CRLs and keys as stores hold them ----
cp "$W/m.pem" "$OUT/cert_pem/machine-ssl-chain.pem"
cp "$A/var/lib/vmware/vmca/root.cer" "$OUT/cert_pem/vmca-root.cer"
crl=$(vecs "$A" entry list --store TRUSTED_ROOT_CRLS --aliases | sed -n 2p)
vecs "$A" entry getcert --store TRUSTED_ROOT_CRLS --alias "$crl" >"$OUT/cert_pem/crl.pem"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$W/ec.key" -subj "/CN=ec.example.com/O=\\C3\\A9t\\C3\\A9" \
    -addext "subjectAltName=DNS:ec.example.com,IP:10.0.0.1,email:a@b" \
    -days 1 -out "$OUT/cert_pem/ec-san.pem" 2>/dev/null
cat "$W/ec.key" >>"$OUT/cert_pem/ec-san.pem"
openssl req -x509 -newkey ed25519 -nodes -keyout /dev/null -subj /CN=ed \
    -days 1 -out "$OUT/cert_pem/ed25519.pem" 2>/dev/null
# A certificate block marked encrypted: OpenSSL asks for a pass phrase.
{ sed -n 1p "$W/m.pem"; printf 'Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\n'
  sed -n '2,/END/p' "$W/m.pem"; } >"$OUT/cert_pem/encrypted-cert.pem"
head -c 900 "$W/m.pem" >"$OUT/cert_pem/truncated.pem"
sed '3s/./!/' "$W/m.pem" >"$OUT/cert_pem/bad-base64.pem"
printf -- '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n' >"$OUT/cert_pem/empty-block.pem"
{ echo "garbage before"; cat "$W/m.pem"; echo "garbage after"; } >"$OUT/cert_pem/text-around.pem"

# ---- cert_key: keys as getkey, the VMCA files and vmdir give them ----
vecs "$A" entry getkey --store machine --alias machine >"$OUT/cert_key/getkey-pkcs8.pem"
cp "$W/ec.key" "$OUT/cert_key/ec-pkcs8.pem"
openssl ec -in "$W/ec.key" -out "$OUT/cert_key/ec-traditional.pem" 2>/dev/null
openssl rsa -in "$OUT/cert_key/getkey-pkcs8.pem" -traditional \
    -out "$OUT/cert_key/rsa-traditional.pem" 2>/dev/null
openssl genpkey -algorithm ed25519 -out "$OUT/cert_key/ed25519.pem"
openssl pkcs8 -topk8 -in "$W/ec.key" -passout pass:x -v2 aes-256-cbc \
    -out "$OUT/cert_key/encrypted-pkcs8.pem"
openssl ec -in "$W/ec.key" -aes128 -passout pass:x \
    -out "$OUT/cert_key/encrypted-traditional.pem" 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -in "$W/ec.key" -outform DER -out "$OUT/cert_key/ec-pkcs8.der"
head -c 600 "$OUT/cert_key/getkey-pkcs8.pem" >"$OUT/cert_key/truncated.pem"
cp "$W/m.pem" "$OUT/cert_key/a-certificate.pem"

# ---- cert_der: vmdir values ----
ldap "$A" "(objectClass=vmwSTSTenantCredential)" userCertificate >"$OUT/cert_der/sts-usercertificate.der"
ldap "$A" "(objectClass=vmwSTSTenantCredential)" vmwSTSPrivateKey >"$OUT/cert_key/sts-private-key.der"
ldap "$A" "(objectClass=vmwServicePrincipal)" userCertificate >"$OUT/cert_der/principal.der"
ldap "$A" "(objectClass=vmwCertificationAuthority)" cACertificate >"$OUT/cert_der/ca.der"
openssl x509 -in "$OUT/cert_pem/ec-san.pem" -outform DER -out "$OUT/cert_der/ec-san.der"
openssl x509 -in "$OUT/cert_pem/ed25519.pem" -outform DER -out "$OUT/cert_der/ed25519.der"
head -c 700 "$OUT/cert_der/principal.der" >"$OUT/cert_der/truncated.der"
{ cat "$OUT/cert_der/ca.der"; printf 'x'; } >"$OUT/cert_der/trailing-byte.der"
cp "$W/m.pem" "$OUT/cert_der/pem-not-der.der"
openssl crl -in "$OUT/cert_pem/crl.pem" -outform DER -out "$OUT/cert_der/crl.der"

# ---- plan: plan files as vcrotate plan writes them ----
"$VC" --root "$A" plan -o "$OUT/plan/all-expired.json" >/dev/null
"$VC" --root "$A" plan --reset-all --prune-expired-roots --key-bits 3072 \
    --san extra.example.com -o "$OUT/plan/reset-all.json" >/dev/null
"$VC" --root "$A" plan --scope sts -o "$OUT/plan/scope-sts.json" >/dev/null
jq '.steps[0].targets[0].action = "explode"' "$OUT/plan/scope-sts.json" \
    >"$OUT/plan/edited-action.json"
jq 'del(.policy.scope)' "$OUT/plan/scope-sts.json" >"$OUT/plan/missing-field.json"
jq '.steps[0].n = "one"' "$OUT/plan/scope-sts.json" >"$OUT/plan/mistyped-field.json"
jq '.left_alone = [1, null]' "$OUT/plan/scope-sts.json" >"$OUT/plan/left-alone-not-strings.json"
printf '{"schema": "vcrotate.plan/1", "schema": "x"}' >"$OUT/plan/duplicate-key.json"
head -c 300 "$OUT/plan/scope-sts.json" >"$OUT/plan/truncated.json"

# ---- backup: snapshot trees in fuzz_backup.c's form ----
# snaptree REPO REV [PATH-PREFIX...]: manifest.json (its items cut down to
# the prefixes when given), then "\n--- PATH\n" and the blob of each item.
snaptree() {
	local repo=$1 rev=$2 p
	shift 2
	local sel='.'
	if [ $# -gt 0 ]; then
		sel='.items |= with_entries(select(.key as $k | $ARGS.positional | any(. as $p | $k | startswith($p))))'
	fi
	git --git-dir="$repo" cat-file blob "$rev:manifest.json" |
	    jq -j --indent 2 -S "$sel" --args "$@"
	git --git-dir="$repo" ls-tree -r --name-only "$rev" | while IFS= read -r p; do
		[ "$p" = manifest.json ] && continue
		[ "$p" = created ] && continue
		if [ $# -gt 0 ]; then
			local keep=0 q
			for q in "$@"; do case $p in "$q"*) keep=1 ;; esac; done
			[ $keep = 1 ] || continue
		fi
		printf '\n--- %s\n' "$p"
		git --git-dir="$repo" cat-file blob "$rev:$p"
	done
}
"$VC" --root "$A" backup snapshot --operator fuzz --reason corpus >/dev/null
R=$A/var/lib/vcrotate/backup.git
snaptree "$R" snapshots >"$W/full"
if [ "$(wc -c <"$W/full")" -le 150000 ]; then cp "$W/full" "$OUT/backup/full-snapshot.txt"; fi
snaptree "$R" snapshots vecs/MACHINE_SSL_CERT/ vecs/@stores >"$OUT/backup/machine-ssl.txt"
snaptree "$R" snapshots vecs/HOSTILE/ >"$OUT/backup/hostile-aliases.txt"
snaptree "$R" snapshots vmdir/sts/ >"$OUT/backup/sts.txt"
snaptree "$R" snapshots vmca/ >"$OUT/backup/vmca.txt"
# Damaged: a sealed blob moved to another path (its digest still right),
# a tampered sealed blob, an item the manifest does not list, a manifest
# of another schema, a sealed item too short to be one.
sed 's|vmca/privatekey.pem|vmca/moved.pem|g' "$OUT/backup/vmca.txt" >"$OUT/backup/moved-sealed.txt"
snaptree "$R" snapshots vmca/privatekey.pem >"$OUT/backup/tampered-sealed.txt"
size=$(wc -c <"$OUT/backup/tampered-sealed.txt")
printf '\001' | dd of="$OUT/backup/tampered-sealed.txt" bs=1 seek=$((size - 1)) \
    conv=notrunc status=none
printf '{"schema": "vcrotate.snapshot/1", "items": {}}\n--- extra\nnot listed' >"$OUT/backup/unlisted-item.txt"
printf '{"schema": "vcrotate.snapshot/0", "items": {}}' >"$OUT/backup/other-schema.txt"
printf '{"schema": "vcrotate.snapshot/1", "items": {}}' >"$OUT/backup/empty-snapshot.txt"
printf '{"schema": "vcrotate.snapshot/1", "items": {"a": {"digest": 1, "sealed": true}}}\n--- a\nVCRBK1\nshort' \
    >"$OUT/backup/bad-sealed.txt"

# ---- names: raw names, and escaped names as trees hold them ----
name() { printf '%s' "$2" >"$OUT/names/$1"; }
name machine-cert __MACHINE_CERT
name tenant-credential-dn "cn=TenantCredential-1,cn=vsphere.local,cn=Tenants,cn=IdentityManager,cn=Services,dc=vsphere,dc=local"
name newline "$(printf 'two\nlines')"
name not-utf8 "$(printf 'bad\377\376utf8')"
name dot-dot-slash ../../etc/passwd
name dot-git .git
name dot-dot ..
name slash "a/b"
name 4k-alias "$(head -c 4096 /dev/zero | tr '\0' A)"
name escaped-dn "cn%3Dx%2Ccn%3Dy"
name escaped-dot-git %2Egit
name escaped-empty %%
name lower-case-hex %2e
name short-escape %4
name escaped-kept-byte a%2E
name escaped-nul-ff "%00%FF"
name ntfs-short-name "GIT~1"
printf 'a\000b' >"$OUT/names/nul"
: >"$OUT/names/empty"
echo "corpus in $OUT: $(du -sh --apparent-size "$OUT" | cut -f1)"
