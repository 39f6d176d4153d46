#!/bin/bash
# check decodes each certificate once (engine/cert.h, the cert cache): the
# same bytes found again (a root in TRUSTED_ROOTS and in vmdir's CA entries,
# the VMCA root in root.cer and in the STS chain) give the same certificate.
# What a place reports must not depend on it: the VMCA root is reported the
# same everywhere, as openssl reads root.cer; and bytes that one place takes
# and another refuses stay so, whichever was decoded first (a PEM block's
# DER may carry bytes after the certificate, which OpenSSL's PEM reading
# ignores; a DER value may not: "trailing bytes after a DER certificate").
# Both modes (the pool's and VCROTATE_SEQUENTIAL's, where VECS and the CA
# entries are decoded in a fixed order) are compared.
. "$(dirname "$0")/../lib.sh"

VC=$BUILD/vcrotate
L=$T/lab
CA=cn=Certificate-Authorities,cn=Configuration,dc=vsphere,dc=local

ldap() {
	local cmd=$1
	shift
	"$cmd" -x -H "$(sed -n "s/^ldap_uri=//p" "$L/etc/vcrotate/vcrotate.conf")" \
	    -D cn=Administrator,cn=Users,dc=vsphere,dc=local \
	    -y "$L/var/lib/vmware-lab/admin.password" "$@"
}

# check --json in both modes, compared; the pool's left in NAME.json.
both() {
	local name=$1 rs=0 rc=0 at
	at=@$(( $(sed -n "s/^created=//p" "$L/var/lib/vmware-lab/lab.conf") + 60 ))
	VCROTATE_SEQUENTIAL=1 "$VC" --root "$L" check --at "$at" --json \
	    >"$name.seq.json" 2>/dev/null || rs=$?
	"$VC" --root "$L" check --at "$at" --json >"$name.json" 2>/dev/null || rc=$?
	expect_eq "$rs" "$rc" && diff -u "$name.seq.json" "$name.json"
}

# What check says of the certificate at PLACE (ROLE, when a chain), less
# the fields that name the place.
about() {
	jq -cS --arg p "$2" --arg r "${3:-}" '[.certificates[] |
	    select(.place == $p and ($r == "" or .role == $r)) |
	    del(.source, .place, .kind, .role, .store, .alias)]' "$1"
}

test_expect 'the VMCA root is reported the same in TRUSTED_ROOTS, vmdir, the STS chain and root.cer' '
	lab_create "$L" --scenario healthy >/dev/null &&
	labctl start "$L" >/dev/null 2>&1 &&
	labctl root-sync "$L" off >/dev/null &&
	both root &&
	r=$L/var/lib/vmware/vmca/root.cer &&
	sha1=$(openssl x509 -in "$r" -noout -fingerprint -sha1 | sed "s/.*=//") &&
	alias=$(openssl x509 -in "$r" -noout -fingerprint -sha1 | sed "s/.*=//; s/://g" | tr A-F a-f) &&
	ski=$(openssl x509 -in "$r" -noout -ext subjectKeyIdentifier | sed 1d | tr -d " :") &&
	sts=$(jq -r "[.certificates[] | select(.kind == \"TenantCredential\")][0].place" root.json) &&
	want=$(about root.json /var/lib/vmware/vmca/root.cer) &&
	expect_eq 1 "$(echo "$want" | jq length)" &&
	expect_eq "$sha1" "$(echo "$want" | jq -r ".[0].sha1")" &&
	expect_eq "$want" "$(about root.json "TRUSTED_ROOTS/$alias")" &&
	expect_eq "$want" "$(about root.json "cn=$ski,$CA")" &&
	expect_eq "$want" "$(about root.json "$sts" ROOT)"
'

test_expect 'bytes after the certificate: taken in a PEM CA entry, refused in a DER one, in either order' '
	openssl req -x509 -newkey rsa:2048 -nodes -keyout k.pem -subj "/CN=Trailing Root/O=Example" \
	    -days 3650 -addext basicConstraints=critical,CA:TRUE -outform DER -out c.der 2>/dev/null &&
	printf "\0\0" | cat c.der - >c+.der &&
	sha1=$(openssl x509 -inform DER -in c.der -noout -fingerprint -sha1 | sed "s/.*=//") &&
	{ echo "-----BEGIN CERTIFICATE-----"; base64 -w 64 c+.der; echo "-----END CERTIFICATE-----"; } >c+.pem &&
	openssl x509 -in c+.pem -noout >/dev/null &&
	add() {
		{ printf "dn: cn=%s,%s\nobjectClass: top\nobjectClass: pkiCA\n" "$1" "$CA"
		  printf "objectClass: vmwCertificationAuthority\ncn: %s\n" "$1"
		  printf "cACertificate:: %s\n" "$(base64 -w0 "$2")"; } >add.ldif &&
		ldap ldapadd -f add.ldif >/dev/null
	} &&
	del() { ldap ldapdelete "cn=$1,$CA" >/dev/null; } &&
	judge() {
		both "$1" &&
		jq -e --arg p "cn=AAAA01,$CA" --arg s "$sha1" "[.certificates[] |
		    select(.place == \$p and .sha1 == \$s)] | length == 1" "$1.json" >/dev/null &&
		jq -e --arg p "cn=AAAA01,$CA" "[.findings[] | select(.place == \$p)] |
		    length == 0" "$1.json" >/dev/null &&
		jq -e --arg p "cn=AAAA02,$CA" "[.findings[] | select(.place == \$p and
		    .code == \"UNPARSEABLE\" and (.message | test(\"trailing bytes after a DER certificate\")))] |
		    length == 1" "$1.json" >/dev/null
	} &&
	add AAAA01 c+.pem && add AAAA02 c+.der &&
	judge pem-first &&
	del AAAA01 && del AAAA02 &&
	add AAAA02 c+.der && add AAAA01 c+.pem &&
	judge der-first
'

test_done
