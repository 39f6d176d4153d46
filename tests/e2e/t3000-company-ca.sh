#!/bin/bash
# Company-CA certificates (issue 17). A renewal keeps every SAN of the
# certificate it replaces (DNS, IPv4, IPv6, email) and the PNID, adds each
# --san typed as it is, drops only what --drop-san names; a certificate
# another CA issued is never silently replaced by a VMCA one: plan names
# the issuer and the CSR way, unless --issuer vmca. The company CA (root ->
# intermediate -> leaf, RSA) is made here with openssl, and what is checked
# is read with vecs-cli, ldapsearch and openssl, not with vcrotate.
. "$(dirname "$0")/../lib.sh"

VC=$BUILD/vcrotate
PNID=vcsa1.example.com

# corp_ca DIR: a company CA in DIR: root.pem -> int.pem (RSA), their keys.
corp_ca() {
	local d=$1
	mkdir -p "$d" &&
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/root.key" -out "$d/root.pem" -days 3650 \
	    -subj "/C=US/O=Corp Example/CN=Corp Root CA" \
	    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null &&
	openssl req -new -newkey rsa:2048 -nodes -keyout "$d/int.key" -out "$d/int.csr" \
	    -subj "/C=US/O=Corp Example/CN=Corp Issuing CA" 2>/dev/null &&
	printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' >"$d/int.ext" &&
	openssl x509 -req -in "$d/int.csr" -CA "$d/root.pem" -CAkey "$d/root.key" -CAcreateserial \
	    -days 1825 -extfile "$d/int.ext" -out "$d/int.pem" 2>/dev/null
}
# sign CACERT CAKEY CSR OUT DAYS SAN [EXT LINE...]: a TLS leaf from a CSR.
sign() {
	local cc=$1 ck=$2 csr=$3 out=$4 days=$5 san=$6 l
	shift 6
	{
		echo "basicConstraints=critical,CA:FALSE"
		echo "keyUsage=critical,digitalSignature,keyEncipherment"
		echo "extendedKeyUsage=serverAuth,clientAuth"
		echo "subjectKeyIdentifier=hash"
		echo "authorityKeyIdentifier=keyid"
		[ -z "$san" ] || echo "subjectAltName=$san"
		for l in "$@"; do echo "$l"; done
	} >"$out.ext" &&
	openssl x509 -req -in "$csr" -CA "$cc" -CAkey "$ck" -CAcreateserial \
	    -days "$days" -extfile "$out.ext" -out "$out" 2>/dev/null
}
# vecs LAB ARGS...: the lab's vecs-cli.
vecs() { local l=$1; shift; "$l/usr/lib/vmware-vmafd/bin/vecs-cli" "$@"; }
# machine_ssl LAB CERT KEY: the Machine SSL entry replaced, as an
# administrator does by hand (delete, create).
machine_ssl() {
	vecs "$1" entry delete --store MACHINE_SSL_CERT --alias __MACHINE_CERT -y >/dev/null &&
	vecs "$1" entry create --store MACHINE_SSL_CERT --alias __MACHINE_CERT --cert "$2" --key "$3" >/dev/null
}
# sans LAB: the SAN of the Machine SSL certificate now, as openssl prints it.
sans() {
	vecs "$1" entry getcert --store MACHINE_SSL_CERT --alias __MACHINE_CERT |
	    openssl x509 -noout -ext subjectAltName | sed 1d | sed "s/^ *//"
}
sha1() { openssl x509 -in "$1" -noout -fingerprint -sha1 | sed "s/.*=//; s/://g" | tr A-F a-f; }
# newlab NAME: a healthy lab, started.
newlab() {
	lab_create "$T/$1" --scenario healthy >/dev/null &&
	labctl start "$T/$1" >/dev/null 2>&1
}
# corp_lab NAME: a healthy lab whose Machine SSL certificate the company CA
# issued (20 days left; SANs the PNID, vcenter, vcenter.corp.example and
# 192.0.2.10; the entry holds leaf and intermediate), the CA chain published
# as certificate-manager does (dir-cli trustedcert publish --chain, and
# TRUSTED_ROOTS), the Lookup Service trust brought up to date, services up.
corp_lab() {
	local l=$T/$1 pw
	pw=$l/var/lib/vmware-lab/admin.password
	newlab "$1" &&
	[ -f "$T/corp/int.pem" ] || corp_ca "$T/corp" || fail "cannot make the company CA"
	openssl req -new -newkey rsa:2048 -nodes -keyout "$T/$1.key" -out "$T/$1.csr" \
	    -subj "/CN=$PNID" 2>/dev/null &&
	sign "$T/corp/int.pem" "$T/corp/int.key" "$T/$1.csr" "$T/$1.pem" 20 \
	    "DNS:$PNID,DNS:vcenter,DNS:vcenter.corp.example,IP:192.0.2.10" &&
	cat "$T/$1.pem" "$T/corp/int.pem" >"$T/$1.chain.pem" &&
	cat "$T/corp/root.pem" "$T/corp/int.pem" >"$T/corp/chain.pem" &&
	{ cat "$pw"; echo; } | "$l/usr/lib/vmware-vmafd/bin/dir-cli" trustedcert publish \
	    --cert "$T/corp/chain.pem" --chain --login administrator@vsphere.local >/dev/null &&
	vecs "$l" entry create --store TRUSTED_ROOTS --alias "$(sha1 "$T/corp/root.pem")" --cert "$T/corp/root.pem" >/dev/null &&
	vecs "$l" entry create --store TRUSTED_ROOTS --alias "$(sha1 "$T/corp/int.pem")" --cert "$T/corp/int.pem" >/dev/null &&
	machine_ssl "$l" "$T/$1.chain.pem" "$T/$1.key" &&
	"$VC" --root "$l" plan -o "$T/$1.trust.plan" >/dev/null &&
	# vsan.health follows Machine SSL in VCDB: its row too
	jq -e "[.steps[].kind] == [\"trust_anchors\", \"extension_thumbprints\", \"restart\"]" "$T/$1.trust.plan" >/dev/null &&
	"$VC" --root "$l" apply "$T/$1.trust.plan" --yes >/dev/null 2>&1 ||
	    fail "cannot set up the company-CA lab $1"
}

test_expect 'SANs kept: renewing a Machine SSL certificate keeps its DNS, IPv4, IPv6 and email SANs, adds --san typed, drops --drop-san' '
	newlab v &&
	l=$T/v &&
	openssl req -new -newkey rsa:2048 -nodes -keyout v.key -out v.csr -subj "/CN=$PNID" 2>/dev/null &&
	sign "$l/var/lib/vmware/vmca/root.cer" "$l/var/lib/vmware/vmca/privatekey.pem" v.csr v.pem 20 \
	    "DNS:$PNID,DNS:vcenter,DNS:vcenter.corp.example,IP:192.0.2.10,IP:2001:db8::10,email:ops@corp.example,URI:https://vcenter.corp.example/" &&
	machine_ssl "$l" v.pem v.key &&
	"$VC" --root "$l" plan -o p.json --san 192.0.2.11 --san DNS:vc.corp.example --san IP:2001:DB8:0::11 \
	    --drop-san vcenter >out &&
	jq -c ".steps[] | select(.kind == \"machine_ssl\") | .profile.san" p.json >got &&
	expect_eq "[\"DNS:$PNID\",\"DNS:vcenter.corp.example\",\"IP:192.0.2.10\",\"IP:2001:db8::10\",\"email:ops@corp.example\",\"IP:192.0.2.11\",\"DNS:vc.corp.example\",\"IP:2001:db8::11\"]" "$(cat got)" &&
	jq -c ".steps[] | select(.kind == \"machine_ssl\") | .profile.san_before" p.json >got &&
	expect_eq "[\"DNS:$PNID\",\"DNS:vcenter\",\"DNS:vcenter.corp.example\",\"IP:192.0.2.10\",\"IP:2001:db8::10\",\"email:ops@corp.example\",\"URI:https://vcenter.corp.example/\"]" "$(cat got)" &&
	expect_grep "^    SAN now: DNS:$PNID, DNS:vcenter, DNS:vcenter.corp.example, IP:192.0.2.10" out &&
	expect_grep "^    SAN new: DNS:$PNID, DNS:vcenter.corp.example, IP:192.0.2.10, IP:2001:db8::10, email:ops@corp.example, IP:192.0.2.11" out &&
	expect_grep "because --drop-san: DNS:vcenter is not kept" out &&
	expect_grep "because SAN URI:https://vcenter.corp.example/ of the certificate now is not kept" out &&
	expect_grep "^Machine SSL names dropped: DNS:vcenter$" out &&
	"$VC" --root "$l" apply p.json --yes >out 2>&1 &&
	expect_eq "DNS:$PNID, DNS:vcenter.corp.example, IP Address:192.0.2.10, IP Address:2001:DB8:0:0:0:0:0:10, email:ops@corp.example, IP Address:192.0.2.11, DNS:vc.corp.example, IP Address:2001:DB8:0:0:0:0:0:11" "$(sans "$l")" &&
	"$VC" --root "$l" check >/dev/null
'

test_expect 'a --san or --drop-san that is no name, the PNID dropped, or a name the certificate has not: exit 64, named' '
	l=$T/v &&
	for a in "--san IP:192.0.2.300" "--san DNS:-bad" "--san email:nobody" "--san URI:x" \
	    "--drop-san $PNID" "--drop-san DNS:$PNID" "--drop-san vcenter"; do
		rc=0; "$VC" --root "$l" plan $a >out 2>err || rc=$?
		expect_eq 64 "$rc" || fail "$a"
		grep -q "^vcrotate plan: ${a%% *} " err || { cat err; fail "$a: not named"; }
	done &&
	{ "$VC" --root "$l" plan --drop-san DNS:$PNID 2>err || :; } && expect_grep "the PNID stays" err &&
	{ "$VC" --root "$l" plan --drop-san vcenter 2>err || :; } &&
	expect_grep "drop-san DNS:vcenter: not a SAN of the Machine SSL certificate now" err
'

test_expect 'a company-CA Machine SSL certificate is not replaced by a VMCA one: plan names its issuer and the CSR way (exit 2), nothing changed' '
	corp_lab c &&
	l=$T/c &&
	lab_dump "$l" >before &&
	rc=0; "$VC" --root "$l" plan >out 2>&1 || rc=$?
	expect_eq 2 "$rc" &&
	expect_grep "^kept: MACHINE_SSL_CERT/__MACHINE_CERT: issued by C=US, O=Corp Example, CN=Corp Issuing CA, not by VMCA" out &&
	expect_grep "vcrotate csr --for machine-ssl" out &&
	expect_grep "plan --issuer vmca" out &&
	expect_grep "EXPIRING *MACHINE_SSL_CERT/__MACHINE_CERT" out &&
	lab_dump "$l" >after &&
	cmp before after
'

test_expect '--issuer vmca replaces it with a VMCA certificate that keeps its SANs, and says whose it replaces' '
	l=$T/c &&
	"$VC" --root "$l" plan --issuer vmca -o vm.json >out &&
	expect_eq vmca "$(jq -r .policy.issuer vm.json)" &&
	jq -e ".steps[] | select(.kind == \"machine_ssl\") | .profile.san == [\"DNS:$PNID\",\"DNS:vcenter\",\"DNS:vcenter.corp.example\",\"IP:192.0.2.10\"]" vm.json >/dev/null &&
	expect_grep "because --issuer vmca: it replaces a certificate issued by C=US, O=Corp Example, CN=Corp Issuing CA, not by VMCA" out &&
	expect_grep "^Issuer: vmca replaces certificates other CAs issued" out
'

# The seal as plan_seal computes it (see t2600).
seal_of() { jq -c -S "del(.sha256)" "$1" | tr -d "\n" | sha256sum | cut -d" " -f1; }

test_expect 'a plan resealed without --issuer vmca that replaces the company-CA certificate: apply refuses (4), names the issuer, nothing changed' '
	l=$T/c &&
	lab_dump "$l" >before &&
	jq "del(.policy.issuer)" vm.json >edit.json &&
	jq --arg s "$(seal_of edit.json)" ".sha256 = \$s" edit.json >bad.json &&
	rc=0; "$VC" --root "$l" apply bad.json --yes >out 2>&1 || rc=$?
	expect_eq 4 "$rc" &&
	expect_grep "replace MACHINE_SSL_CERT/__MACHINE_CERT: it holds a certificate issued by C=US, O=Corp Example, CN=Corp Issuing CA, not by VMCA" out &&
	lab_dump "$l" >after &&
	cmp before after
'

test_expect '--issuer vmca applied: a VMCA certificate with the SANs kept, check 0' '
	l=$T/c &&
	"$VC" --root "$l" apply vm.json --yes >out 2>&1 &&
	expect_eq "DNS:$PNID, DNS:vcenter, DNS:vcenter.corp.example, IP Address:192.0.2.10" "$(sans "$l")" &&
	vecs "$l" entry getcert --store MACHINE_SSL_CERT --alias __MACHINE_CERT | openssl x509 -noout -issuer | grep -q "OU = VMware Engineering" &&
	"$VC" --root "$l" check >/dev/null
'

# pubkey_id FILE: SHA-256 of the DER public key of a request or certificate.
pubkey_id() {
	case $(head -n 1 "$1") in
	*REQUEST*) openssl req -in "$1" -noout -pubkey ;;
	*) openssl x509 -in "$1" -noout -pubkey ;;
	esac | openssl pkey -pubin -outform der | sha256sum | cut -d" " -f1
}

test_expect 'csr --for machine-ssl: an RSA request with the PNID, the names now, --san and the usages; its key sealed in the backup, nowhere in clear' '
	l=$T/c && g=$l/var/lib/vcrotate/backup.git &&
	mkdir -p req &&
	"$VC" --root "$l" csr --for machine-ssl --san extra.corp.example -o req >out &&
	openssl req -in req/machine-ssl.csr -noout -verify 2>&1 | grep -q "verify OK" &&
	openssl req -in req/machine-ssl.csr -noout -text >txt &&
	expect_grep "Subject: CN = $PNID\$" txt &&
	expect_grep "Public-Key: (2048 bit)" txt &&
	expect_grep "rsaEncryption" txt &&
	expect_grep "DNS:$PNID, DNS:vcenter, DNS:vcenter.corp.example, IP Address:192.0.2.10, DNS:extra.corp.example" txt &&
	grep -A1 "Key Usage: critical" txt | grep -q "Digital Signature, Key Encipherment" &&
	grep -A1 "Extended Key Usage" txt | grep -q "TLS Web Server Authentication, TLS Web Client Authentication" &&
	grep -A1 "Basic Constraints: critical" txt | grep -q "CA:FALSE" &&
	id=$(pubkey_id req/machine-ssl.csr) &&
	expect_grep "key ${id:0:16}... sealed in $g" out &&
	git --git-dir="$g" ls-tree --name-only csr-keys >tree &&
	expect_eq "$id.csr
$id.key" "$(cat tree)" &&
	git --git-dir="$g" cat-file blob "csr-keys:$id.csr" | cmp - req/machine-ssl.csr &&
	expect_eq VCRBK1 "$(git --git-dir="$g" cat-file blob "csr-keys:$id.key" | head -c 6)" &&
	! grep -rlI "PRIVATE KEY" req "$T"/*.plan 2>/dev/null &&
	# the sealed blob is no key, in DER or PEM
	! git --git-dir="$g" cat-file blob "csr-keys:$id.key" | openssl pkey -inform der -noout 2>/dev/null &&
	! git --git-dir="$g" cat-file blob "csr-keys:$id.key" | openssl pkey -noout 2>/dev/null &&
	sign "$T/corp/int.pem" "$T/corp/int.key" req/machine-ssl.csr signed.pem 365 \
	    "DNS:$PNID,DNS:vcenter,DNS:vcenter.corp.example,IP:192.0.2.10,DNS:extra.corp.example" &&
	expect_eq "$id" "$(pubkey_id signed.pem)" &&
	openssl verify -CAfile "$T/corp/root.pem" -untrusted "$T/corp/int.pem" signed.pem >/dev/null
'

test_expect 'csr --for all: Machine SSL and each solution user (the subject vCenter gives it; wcp without SAN), each key sealed' '
	l=$T/c && g=$l/var/lib/vcrotate/backup.git &&
	mkdir -p all &&
	"$VC" --root "$l" csr --for all --key-bits 3072 -o all >out &&
	for n in machine-ssl machine vsphere-webclient vpxd vpxd-extension hvc wcp; do
		[ -f all/$n.csr ] || fail "no request for $n"
		git --git-dir="$g" cat-file -e "csr-keys:$(pubkey_id all/$n.csr).key" || fail "$n: key not sealed"
		openssl req -in all/$n.csr -noout -text | grep -q "Public-Key: (3072 bit)" || fail "$n: not RSA 3072"
	done &&
	openssl req -in all/vpxd.csr -noout -subject | grep -q "^subject=CN = vpxd, OU = mID-" &&
	openssl req -in all/vpxd.csr -noout -text | grep -q "DNS:$PNID" &&
	! openssl req -in all/wcp.csr -noout -text | grep -q "Subject Alternative Name" &&
	openssl req -in all/wcp.csr -noout -text | grep -q "Data Encipherment"
'

test_expect 'csr refuses: no --for, an unknown solution user, a bad --san or --key-bits, a missing -o directory (64, named); nothing sealed' '
	l=$T/c && g=$l/var/lib/vcrotate/backup.git &&
	before=$(git --git-dir="$g" rev-parse csr-keys) &&
	for a in "" "--for nobody" "--for machine-ssl --san IP:1.2.3.999" "--for machine-ssl --key-bits 1024" \
	    "--for machine-ssl -o $T/no/such/dir"; do
		rc=0; "$VC" --root "$l" csr $a >out 2>err || rc=$?
		expect_eq 64 "$rc" || fail "csr $a"
		grep -q "^vcrotate csr: " err || { cat err; fail "csr $a: not named"; }
	done &&
	expect_eq "$before" "$(git --git-dir="$g" rev-parse csr-keys)"
'

# ---- imports: plan --import (certificate-manager options 1 and 5) ----

# ldap LAB ARGS...: ldapsearch as the administrator, unwrapped LDIF.
ldap() {
	local l=$1
	shift
	ldapsearch -x -LLL -o ldif-wrap=no -H "$(sed -n "s/^ldap_uri=//p" "$l/etc/vcrotate/vcrotate.conf")" \
	    -D cn=Administrator,cn=Users,dc=vsphere,dc=local -y "$l/var/lib/vmware-lab/admin.password" "$@"
}
# cas LAB: the certificates of vmdir's CA entries, one SHA-1 a line, sorted.
cas() {
	ldap "$1" -b "cn=Certificate-Authorities,cn=Configuration,dc=vsphere,dc=local" -s one cACertificate |
	    sed -n "s/^cACertificate:: //p" | while read -r b; do
		echo "$b" | base64 -d >ca.der
		if grep -q "BEGIN CERT" ca.der; then openssl x509 -in ca.der; else openssl x509 -inform der -in ca.der; fi |
		    openssl x509 -noout -fingerprint -sha1 | sed "s/.*=//; s/://g" | tr A-F a-f
	done | sort
}
# trusted LAB: the aliases of TRUSTED_ROOTS, sorted.
trusted() { vecs "$1" entry list --store TRUSTED_ROOTS --aliases | tail -n +2 | sort; }
# running LAB: every service of the lab runs (imagebuilder is manual).
running() {
	"$1/usr/bin/service-control" --status >status &&
	{ [ -z "$(sed -n "/^Stopped:/{n;p}" status)" ] || [ "$(sed -n "/^Stopped:/{n;p}" status)" = " vmware-imagebuilder" ]; } ||
	    fail "services stopped: $(cat status)"
}
# served LAB: the certificates rhttpproxy serves, SHA-1 each, in order.
served() {
	openssl s_client -showcerts -connect "127.0.0.1:$(sed -n "s/^https_port=//p" "$1/etc/vcrotate/vcrotate.conf")" \
	    </dev/null 2>/dev/null |
	    awk '/BEGIN CERT/ { f = "served." ++n ".pem" } f { print > f } /END CERT/ { close(f); f = "" }' &&
	for f in served.*.pem; do sha1 "$f"; done && rm -f served.*.pem
}
# refused LAB REASON ARGS...: plan ARGS is refused with exit 64, REASON on
# stderr, no plan written, nothing sealed, the lab unchanged.
refused() {
	local l=$1 why=$2 g keys rc=0
	shift 2
	g=$l/var/lib/vcrotate/backup.git
	keys=$(git --git-dir="$g" rev-parse -q --verify csr-keys || :)
	lab_dump "$l" >ref.before &&
	rm -f refused.plan &&
	{ "$VC" --root "$l" plan "$@" -o refused.plan >out 2>err || rc=$?; } &&
	{ expect_eq 64 "$rc" || { cat out err; fail "$*: exit $rc"; }; } &&
	{ grep -q -- "^vcrotate plan: --import .*$why" err || { cat err; fail "$*: not \"$why\""; }; } &&
	[ ! -e refused.plan ] &&
	expect_eq "$keys" "$(git --git-dir="$g" rev-parse -q --verify csr-keys || :)" &&
	lab_dump "$l" >ref.after && cmp ref.before ref.after
}

test_expect 'plan --import machine-ssl: the signed CSR and its chain; the plan publishes the CAs and installs it with the sealed key, never the key itself' '
	newlab i && l=$T/i &&
	{ [ -f "$T/corp/int.pem" ] || corp_ca "$T/corp"; } &&
	mkdir -p ireq && "$VC" --root "$l" csr --for machine-ssl --san vcenter.corp.example -o ireq >/dev/null &&
	sign "$T/corp/int.pem" "$T/corp/int.key" ireq/machine-ssl.csr i.pem 365 "DNS:$PNID,DNS:vcenter.corp.example" &&
	cat "$T/corp/int.pem" "$T/corp/root.pem" >corpchain.pem &&
	lab_dump "$l" >i.before && trusted "$l" >i.trusted && cas "$l" >i.cas &&
	"$VC" --root "$l" plan --import machine-ssl=i.pem --chain corpchain.pem -o i.plan >out &&
	expect_eq "ca_chain machine_ssl trust_anchors extension_thumbprints restart" "$(jq -r "[.steps[].kind] | join(\" \")" i.plan)" &&
	expect_eq "$(pubkey_id i.pem)" "$(jq -r ".steps[1].import.key_id" i.plan)" &&
	jq -r ".steps[0].targets[] | \"\(.action) \(.place)\"" i.plan >t &&
	expect_grep "^add TRUSTED_ROOTS/$(sha1 "$T/corp/int.pem")\$" t &&
	expect_grep "^add TRUSTED_ROOTS/$(sha1 "$T/corp/root.pem")\$" t &&
	expect_eq 2 "$(grep -ci "^add cn=[0-9a-f]*,cn=Certificate-Authorities,cn=Configuration,dc=vsphere,dc=local\$" t)" &&
	jq -e ".steps[1].profile == null and (.steps[1].import.chain | length) == 2" i.plan >/dev/null &&
	! grep -q "PRIVATE KEY" i.plan &&
	expect_grep "issued by C=US, O=Corp Example, CN=Corp Issuing CA" out &&
	"$VC" --root "$l" plan show i.plan >/dev/null &&
	lab_dump "$l" >i.now && cmp i.before i.now
'

test_expect 'apply: the chain in TRUSTED_ROOTS and vmdir, rhttpproxy serves the new chain, every service runs, check 0' '
	l=$T/i &&
	"$VC" --root "$l" apply i.plan --dry-run >dry 2>&1 &&
	expect_grep "vecs-cli entry create --store TRUSTED_ROOTS --alias $(sha1 "$T/corp/root.pem") --cert (new)\$" dry &&
	expect_grep "ldap add cn=.*,cn=Certificate-Authorities,cn=Configuration,dc=vsphere,dc=local: objectClass cn cACertificate" dry &&
	expect_grep "vecs-cli entry create --store MACHINE_SSL_CERT --alias __MACHINE_CERT --cert (new) --key (new)" dry &&
	"$VC" --root "$l" apply i.plan --yes >out 2>&1 || { tail -n 20 out; false; } &&
	trusted "$l" >now && expect_grep "^$(sha1 "$T/corp/root.pem")\$" now && expect_grep "^$(sha1 "$T/corp/int.pem")\$" now &&
	cas "$l" >now && expect_grep "^$(sha1 "$T/corp/root.pem")\$" now && expect_grep "^$(sha1 "$T/corp/int.pem")\$" now &&
	expect_eq "$(sha1 i.pem)
$(sha1 "$T/corp/int.pem")
$(sha1 "$T/corp/root.pem")" "$(served "$l")" &&
	running "$l" &&
	"$VC" --root "$l" check >out || { cat out; false; }
'

# shape LAB DN: the form of a CA entry, not its values: its attribute names
# (but the CRL, which VMCA publishes for its own root and dir-cli trustedcert
# publish only with --crl), its classes, cACertificate as PEM text or DER,
# the case of its key id.
shape() {
	ldap "$1" -b "$2" -s base >entry.ldif &&
	sed -n "s/^\([A-Za-z]*\):.*/\1/p" entry.ldif | grep -v "^certificateRevocationList\$" | sort -u &&
	sed -n "s/^objectClass: //p" entry.ldif | sort &&
	{ sed -n "s/^cACertificate:: //p" entry.ldif | base64 -d | head -c 10 | grep -q "BEGIN" && echo PEM || echo DER; } &&
	{ sed -n "s/^cn: //p" entry.ldif | grep -q "[a-f]" && echo lower || echo upper; }
}

test_expect 'the CA entries are in the form of the appliance'"'"'s own (as the VMCA root'"'"'s), PEM (Lightwave) or DER' '
	l=$T/i &&
	root=$(ldap "$l" -b "cn=Certificate-Authorities,cn=Configuration,dc=vsphere,dc=local" -s one dn |
	    sed -n "s/^dn: //p" | grep -iv "$(jq -r "[.steps[0].targets[] | select(.type == \"vmdir\") | .place | split(\",\")[0]] | join(\"\\\\|\")" i.plan)" | head -n 1) &&
	[ -n "$root" ] && shape "$l" "$root" >theirs &&
	for dn in $(jq -r ".steps[0].targets[] | select(.type == \"vmdir\") | .place" i.plan); do
		shape "$l" "$dn" >mine && cmp theirs mine || { diff theirs mine; fail "$dn"; }
	done
'

test_expect 'rollback puts the old certificate back and removes the published CAs (byte-identical)' '
	l=$T/i &&
	txn=$("$VC" --root "$l" history --json | jq -r ".transactions[0].transaction") &&
	"$VC" --root "$l" rollback "$txn" --yes >out 2>&1 || { tail -n 20 out; false; } &&
	lab_dump "$l" >now && diff -u i.before now &&
	trusted "$l" >now && cmp i.trusted now && cas "$l" >now && cmp i.cas now
'

test_expect 'a key given as a file (bring your own key): sealed on csr-keys at plan time, the plan holds its id only' '
	l=$T/i && g=$l/var/lib/vcrotate/backup.git &&
	openssl req -new -newkey rsa:2048 -nodes -keyout own.key -out own.csr -subj "/CN=$PNID" 2>/dev/null &&
	sign "$T/corp/int.pem" "$T/corp/int.key" own.csr own.pem 365 "DNS:$PNID" &&
	"$VC" --root "$l" plan --import machine-ssl=own.pem,own.key --chain corpchain.pem -o own.plan >/dev/null &&
	git --git-dir="$g" cat-file -e "csr-keys:$(pubkey_id own.pem).key" &&
	expect_eq VCRBK1 "$(git --git-dir="$g" cat-file blob "csr-keys:$(pubkey_id own.pem).key" | head -c 6)" &&
	! grep -q "PRIVATE KEY" own.plan &&
	"$VC" --root "$l" apply own.plan --yes >out 2>&1 || { tail -n 20 out; false; } &&
	expect_eq "$(sha1 own.pem)" "$(served "$l" | head -n 1)" &&
	"$VC" --root "$l" check >/dev/null
'

test_expect 'bad imports are refused with the reason, exit 64, nothing sealed or changed' '
	l=$T/i && c=$T/corp &&
	"$VC" --root "$l" csr --for machine-ssl -o ireq >/dev/null &&
	csr=ireq/machine-ssl.csr &&
	openssl req -new -newkey rsa:2048 -nodes -keyout other.key -out other.csr -subj "/CN=$PNID" 2>/dev/null &&
	sign "$c/int.pem" "$c/int.key" $csr good.pem 365 "DNS:$PNID" &&
	refused "$l" "the key in other.key does not match the certificate" --import machine-ssl=good.pem,other.key --chain corpchain.pem &&
	refused "$l" "the chain is incomplete: the CA C=US, O=Corp Example, CN=Corp Issuing CA, which issued CN=$PNID, is not in --chain" \
	    --import machine-ssl=good.pem --chain "$c/root.pem" &&
	sign "$c/int.pem" "$c/int.key" $csr old.pem 1 "DNS:$PNID" &&
	refused "$l" "CN=$PNID expired on " --import machine-ssl=old.pem --chain corpchain.pem --at "$(date -u -d "+3 days" +%Y-%m-%d)" &&
	sign "$c/int.pem" "$c/int.key" $csr nopnid.pem 365 "DNS:vcenter.corp.example" &&
	refused "$l" "SAN does not hold the PNID (DNS:$PNID)" --import machine-ssl=nopnid.pem --chain corpchain.pem &&
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ec.key -out ec.csr -subj "/CN=$PNID" 2>/dev/null &&
	sign "$c/int.pem" "$c/int.key" ec.csr ec.pem 365 "DNS:$PNID" &&
	refused "$l" "has an EC key: vCenter (VECS) takes RSA keys only" --import machine-ssl=ec.pem,ec.key --chain corpchain.pem &&
	printf "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature,keyEncipherment,keyCertSign\nsubjectAltName=DNS:$PNID\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n" >ca.ext &&
	openssl x509 -req -in $csr -CA "$c/int.pem" -CAkey "$c/int.key" -CAcreateserial -days 365 -extfile ca.ext -out ca.pem 2>/dev/null &&
	refused "$l" "is a CA (basicConstraints CA:TRUE)" --import machine-ssl=ca.pem --chain corpchain.pem &&
	sign "$c/int.pem" "$c/int.key" other.csr nokey.pem 365 "DNS:$PNID" &&
	refused "$l" "no key for this certificate" --import machine-ssl=nokey.pem --chain corpchain.pem
'

test_expect 'an import plan edited and sealed again is held to the rules: apply refuses (4), names the step, nothing changed' '
	l=$T/i &&
	lab_dump "$l" >before &&
	vmca=$(jq -Rs . "$l/var/lib/vmware/vmca/root.cer") && ec=$(jq -Rs . ec.pem) &&
	for e in ".steps[1].import.key_id = \"$(printf %064d 0)\"" \
	    ".steps[0].import.chain[0] = $vmca" \
	    ".steps[1].import.certificate = $ec | .steps[1].import.key_id = \"$(pubkey_id ec.pem)\"" \
	    ".steps[0].targets += [{\"type\": \"vecs\", \"place\": \"TRUSTED_ROOTS/$(sha1 "$l/var/lib/vmware/vmca/root.cer")\", \"action\": \"add\", \"digest\": null}]" \
	    ".steps[2].profile = null | .steps[2].import = .steps[1].import" \
	    ".steps[1].import.chain |= reverse"; do
		jq "$e" i.plan >edit.json &&
		jq --arg s "$(seal_of edit.json)" ".sha256 = \$s" edit.json >bad.json &&
		rc=0 && "$VC" --root "$l" apply bad.json --yes >out 2>&1 || rc=$?
		expect_eq 4 "$rc" || { cat out; fail "$e: exit $rc"; }
		cat out >>reasons
		grep -Eq "step [0-9]|steps\[[0-9]" out || { cat out; fail "$e: no step named"; }
	done &&
	expect_grep "step 2 (machine_ssl): import.key_id is not the SHA-256 of the certificate.s public key" reasons &&
	expect_grep "step 1 (ca_chain): chain\[0\] is not a CA of a certificate the plan imports" reasons &&
	expect_grep "step 2 (machine_ssl): the imported certificate: the certificate has an EC key" reasons &&
	expect_grep "step 1 (ca_chain), add TRUSTED_ROOTS/.*: not a CA of the step.s import" reasons &&
	expect_grep "steps\[2\].import: a trust_anchors step imports nothing" reasons &&
	expect_grep "step 2 (machine_ssl): the imported certificate: the chain does not end at a self-signed root" reasons &&
	lab_dump "$l" >after && cmp before after
'

test_expect 'plan --import of a solution user (vpxd): VECS and its principal hold the signed certificate, check 0' '
	l=$T/i &&
	"$VC" --root "$l" csr --for vpxd -o ireq >/dev/null &&
	sign "$T/corp/int.pem" "$T/corp/int.key" ireq/vpxd.csr vpxd.pem 365 "DNS:$PNID" &&
	"$VC" --root "$l" plan --import vpxd=vpxd.pem --chain corpchain.pem -o sol.plan >/dev/null &&
	expect_eq "solution_user restart" "$(jq -r "[.steps[].kind] | join(\" \")" sol.plan)" &&
	"$VC" --root "$l" apply sol.plan --yes >out 2>&1 || { tail -n 20 out; false; } &&
	expect_eq "$(sha1 vpxd.pem)" "$(vecs "$l" entry getcert --store vpxd --alias vpxd | openssl x509 -noout -fingerprint -sha1 | sed "s/.*=//; s/://g" | tr A-F a-f)" &&
	mid=$(sed -n "s/^machine_id=//p" "$l/var/lib/vmware-lab/lab.conf") &&
	ldap "$l" -b "cn=vpxd-$mid,cn=ServicePrincipals,dc=vsphere,dc=local" -s base userCertificate |
	    sed -n "s/^userCertificate;binary:: //p; s/^userCertificate:: //p" | base64 -d | openssl x509 -inform der -noout -fingerprint -sha1 |
	    sed "s/.*=//; s/://g" | tr A-F a-f >got &&
	expect_eq "$(sha1 vpxd.pem)" "$(cat got)" &&
	running "$l" &&
	"$VC" --root "$l" check >out || { cat out; false; }
'

test_expect 'check reports a company-CA certificate at INFO with its issuer and its chain (trusted, up to the root), exit 0' '
	l=$T/i &&
	"$VC" --root "$l" check --json >c.json &&
	expect_eq "INFO|Machine SSL certificate issued by C=US, O=Corp Example, CN=Corp Issuing CA, not by VMCA; chain trusted, up to C=US, O=Corp Example, CN=Corp Root CA in TRUSTED_ROOTS" \
	    "$(jq -r ".findings[] | select(.code == \"ISSUER_NOT_VMCA\" and .place == \"MACHINE_SSL_CERT/__MACHINE_CERT\") | \"\(.severity)|\(.message)\"" c.json)" &&
	jq -e "[.findings[] | select(.code == \"ISSUER_NOT_VMCA\") | .place] | index(\"vpxd/vpxd\") != null" c.json >/dev/null &&
	"$VC" --root "$l" check >out || fail "check: exit $?"
	rc=0; "$VC" --root "$l" plan >out 2>&1 || rc=$?
	expect_eq 2 "$rc"
'

test_expect 'CHAIN_UNTRUSTED names the missing CA: the issuer of the first certificate whose issuer is nowhere' '
	l=$T/i && c=$T/corp &&
	openssl req -new -newkey rsa:2048 -nodes -keyout int2.key -out int2.csr -subj "/C=US/O=Corp Example/CN=Corp Issuing CA 2" 2>/dev/null &&
	openssl x509 -req -in int2.csr -CA "$c/root.pem" -CAkey "$c/root.key" -CAcreateserial -days 1825 -extfile "$c/int.ext" -out int2.pem 2>/dev/null &&
	openssl req -new -newkey rsa:2048 -nodes -keyout lone.key -out lone.csr -subj "/CN=$PNID" 2>/dev/null &&
	sign int2.pem int2.key lone.csr lone.pem 365 "DNS:$PNID" &&
	machine_ssl "$l" lone.pem lone.key &&
	rc=0 && "$VC" --root "$l" check >out || rc=$?
	expect_eq 2 "$rc" &&
	grep -A1 "CRITICAL CHAIN_UNTRUSTED *MACHINE_SSL_CERT/__MACHINE_CERT" out >f &&
	expect_grep "Machine SSL certificate does not chain to TRUSTED_ROOTS: the CA C=US, O=Corp Example, CN=Corp Issuing CA 2, which issued CN=$PNID, is in neither the entry nor TRUSTED_ROOTS" f &&
	grep -A1 "INFO *ISSUER_NOT_VMCA *MACHINE_SSL_CERT/__MACHINE_CERT" out >f &&
	expect_grep "Machine SSL certificate issued by C=US, O=Corp Example, CN=Corp Issuing CA 2, not by VMCA; chain not trusted (CHAIN_UNTRUSTED)" f
'

# ---- VMCA as a subordinate CA (certificate-manager option 2) ----

test_expect 'VMCA as a subordinate: --import vmca-root publishes the chain, installs the signing certificate, reissues what VMCA signs (as --reset-all)' '
	newlab s && l=$T/s && c=$T/corp &&
	openssl req -new -newkey rsa:2048 -nodes -keyout vmca.key -out vmca.csr -subj "/C=US/O=Corp Example/OU=vCenter/CN=VMCA vcsa1" 2>/dev/null &&
	printf "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n" >vmca.ext &&
	openssl x509 -req -in vmca.csr -CA "$c/root.pem" -CAkey "$c/root.key" -CAcreateserial -days 1500 -extfile vmca.ext -out vmca.pem 2>/dev/null &&
	lab_dump "$l" >s.before &&
	"$VC" --root "$l" plan --import vmca-root=vmca.pem,vmca.key --chain "$c/root.pem" -o s.plan >out &&
	expect_eq "ca_chain vmca_root sts solution_user solution_user solution_user solution_user solution_user solution_user data_encipherment machine_ssl trust_anchors extension_thumbprints restart" \
	    "$(jq -r "[.steps[].kind] | join(\" \")" s.plan)" &&
	jq -e ".steps[1].profile == null and .steps[1].import.key_id == \"$(pubkey_id vmca.pem)\"" s.plan >/dev/null &&
	jq -r ".steps[1].targets[] | \"\(.action) \(.place)\"" s.plan >t &&
	expect_grep "^add TRUSTED_ROOTS/$(sha1 vmca.pem)\$" t &&
	jq -e "[.steps[] | select(.profile != null) | .profile.not_after_max <= \"$(date -u -d "+1501 days" +%Y-%m-%d)\"] | all" s.plan >/dev/null &&
	! grep -q "PRIVATE KEY" s.plan
'

test_expect 'subordinate applied: root.cer is the signing certificate and its chain, every certificate VMCA signs chains to the company root, services run, check 0' '
	l=$T/s &&
	"$VC" --root "$l" apply s.plan --yes >out 2>&1 || { tail -n 20 out; false; } &&
	expect_eq "$(sha1 vmca.pem)" "$(sha1 "$l/var/lib/vmware/vmca/root.cer")" &&
	expect_eq 2 "$(grep -c "BEGIN CERTIFICATE" "$l/var/lib/vmware/vmca/root.cer")" &&
	for sol in machine vpxd vsphere-webclient; do
		vecs "$l" entry getcert --store $sol --alias $sol >sol.pem &&
		openssl verify -CAfile "$T/corp/root.pem" -untrusted vmca.pem sol.pem >/dev/null ||
			fail "$sol does not chain to the company root"
	done &&
	expect_eq "$(sha1 vmca.pem)" "$(served "$l" | sed -n 2p)" &&
	trusted "$l" >now && expect_grep "^$(sha1 vmca.pem)\$" now &&
	cas "$l" >now && expect_grep "^$(sha1 vmca.pem)\$" now &&
	running "$l" &&
	"$VC" --root "$l" check >out || { cat out; false; }
'

test_expect 'subordinate rolled back: the old VMCA root, its certificates, no company CA (byte-identical)' '
	l=$T/s &&
	txn=$("$VC" --root "$l" history --json | jq -r ".transactions[0].transaction") &&
	"$VC" --root "$l" rollback "$txn" --yes >out 2>&1 || { tail -n 20 out; false; } &&
	lab_dump "$l" >now && diff -u s.before now
'

test_expect 'vmca-root refused: a certificate that is no CA, no key given, with another import (64, nothing sealed or changed)' '
	l=$T/s &&
	openssl req -new -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr -subj "/CN=not a ca" 2>/dev/null &&
	sign "$T/corp/int.pem" "$T/corp/int.key" leaf.csr leaf.pem 365 "DNS:$PNID" &&
	refused "$l" "is not a CA that may sign certificates" --import vmca-root=leaf.pem,leaf.key --chain corpchain.pem &&
	refused "$l" "VMCA.s signing key is needed" --import vmca-root=vmca.pem --chain corpchain.pem &&
	openssl x509 -req -in vmca.csr -CA "$T/corp/int.pem" -CAkey "$T/corp/int.key" -CAcreateserial -days 1500 -extfile vmca.ext -out undermid.pem 2>/dev/null &&
	refused "$l" "CN=Corp Issuing CA allows 0 CA(s) below it (pathlen): VMCA under it could not sign" --import vmca-root=undermid.pem,vmca.key --chain corpchain.pem &&
	rc=0 && "$VC" --root "$l" plan --import vmca-root=vmca.pem,vmca.key --import machine-ssl=i.pem --chain corpchain.pem >out 2>err || rc=$?
	expect_eq 64 "$rc" && expect_grep "vmca-root makes a plan of its own" err
'

test_done
