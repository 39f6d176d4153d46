#!/bin/bash
# t0700-field-scripts.sh - the tools field scripts call, at their appliance
# paths in a lab (certool, dir-cli, likewise's ldap tools, vmdird,
# .buildInfo), and the public fixsts.sh of KB 76719 (FIXSTS_SH=PATH) run
# against labs: it must leave the lab as it leaves an appliance, and
# vcrotate check afterwards must agree with what it did.
. "$(dirname "$0")/../lib.sh"

VC=$BUILD/vcrotate
DDN=dc=vsphere,dc=local
TC=cn=vsphere.local,cn=Tenants,cn=IdentityManager,cn=Services,$DDN
CA=cn=Certificate-Authorities,cn=Configuration,$DDN
ADMIN=cn=Administrator,cn=Users,$DDN

# A started lab of scenario $2 at $T/$1 (made once per name).
lab_up() {
	[ -f "$T/$1.up" ] && return 0
	lab_create "$T/$1" --scenario "$2" >/dev/null || fail "labctl create $2"
	labctl start "$T/$1" >/dev/null 2>&1 || fail "labctl start $2"
	: >"$T/$1.up"
}

# ldap LAB ARGS...: Debian's ldapsearch as the administrator (password from
# the lab's file, not argv), unwrapped LDIF.
ldap() {
	local l=$1
	shift
	ldapsearch -x -H "ldap://127.0.0.1:$(sed -n 's/^ldap_port=//p' "$l/var/lib/vmware-lab/lab.conf")" \
	    -D "$ADMIN" -y "$l/var/lib/vmware-lab/admin.password" -LLL -o ldif-wrap=no "$@"
}

# The DER certificates of attribute userCertificate of DN $2 in lab $1,
# as PEM files $3.0, $3.1, ...; prints how many.
certs_of() {
	local i=0 v
	for v in $(ldap "$1" -b "$2" -s base userCertificate | sed -n 's/^userCertificate:: //p'); do
		echo "$v" | base64 -d | openssl x509 -inform der -out "$3.$i" || fail "certs_of $2"
		i=$((i + 1))
	done
	echo $i
}

test_expect 'the tools are at their appliance paths; .buildInfo names the version' '
	lab_up h healthy &&
	for p in usr/lib/vmware-vmca/bin/certool usr/lib/vmware-vmafd/bin/dir-cli \
	    opt/likewise/bin/ldapsearch opt/likewise/bin/ldapmodify \
	    opt/likewise/bin/ldapdelete usr/lib/vmware-vmdir/sbin/vmdird; do
		[ -x "$T/h/$p" ] || fail "$p missing"
	done &&
	grep -q "^CLOUDVM_VERSION:8\.0\." "$T/h/etc/vmware/.buildInfo" &&
	grep -q "^BUILDNUMBER:[0-9][0-9]*$" "$T/h/etc/vmware/.buildInfo" &&
	lab_create "$T/h67" --scenario healthy --version 6.7 >/dev/null &&
	v=$(grep "CLOUDVM_VERSION:" "$T/h67/etc/vmware/.buildInfo" | awk -F: "{print \$NF}" | awk -F. "{print \$1\".\"\$2}") &&
	expect_eq 6.7 "$v"
'

test_expect 'likewise ldapsearch takes -h localhost -p 389 and reaches the lab vmdir' '
	lab_up h healthy &&
	"$T/h/opt/likewise/bin/ldapsearch" -h localhost -p 389 -x -D "$ADMIN" \
	    -y "$T/h/var/lib/vmware-lab/admin.password" -b "$TC" \
	    "(objectclass=vmwSTSTenantCredential)" cn >out &&
	grep -q "^cn: TenantCredential-1$" out &&
	grep -q "^# numEntries: 1$" out &&
	"$T/h/opt/likewise/bin/ldapsearch" -xh localhost -D "$ADMIN" \
	    -y "$T/h/var/lib/vmware-lab/admin.password" -b "$TC" -s base dn >out2 &&
	grep -q "^dn: $TC" out2 &&
	# another host is not this appliance: not mapped, so not reached
	rc=0 && "$T/h/opt/likewise/bin/ldapsearch" -x -h 127.0.0.2 -p 1 -b "$TC" \
	    >out3 2>&1 || rc=$? &&
	[ "$rc" -ne 0 ]
'

test_expect 'certool --genkey and --gencert sign with the lab VMCA, only while vmcad runs' '
	lab_up h healthy &&
	C="$T/h/usr/lib/vmware-vmca/bin/certool" &&
	printf "Country = DS\nName = STS\nOrganization = VMware\nOrgUnit = VMware\nState = VMware\nLocality = VMware\nIPAddress = \nEmail = email@acme.com\nHostname = vcsa1.example.com\n" >c.cfg &&
	"$C" --server localhost --genkey --privkey=k.pem --pubkey=p.pem >gk &&
	expect_eq "Status : Success" "$(cat gk)" &&
	grep -q "BEGIN PRIVATE KEY" k.pem && grep -q "BEGIN RSA PUBLIC KEY" p.pem &&
	"$C" --gencert --cert=c.pem --privkey=k.pem --config=c.cfg >gc &&
	expect_eq "Using config file : c.cfg
Status : Success" "$(cat gc)" &&
	openssl verify -CAfile "$T/h/var/lib/vmware/vmca/root.cer" c.pem &&
	openssl x509 -in c.pem -noout -subject -ext subjectAltName,keyUsage,authorityKeyIdentifier >t &&
	grep -q "subject=CN = STS, C = DS, ST = VMware, L = VMware, O = VMware, OU = VMware" t &&
	grep -q "email:email@acme.com, DNS:vcsa1.example.com" t &&
	grep -q "Digital Signature, Non Repudiation, Key Encipherment" t &&
	[ "$(openssl x509 -in c.pem -noout -modulus)" = "$(openssl rsa -in k.pem -noout -modulus)" ] &&
	"$T/h/usr/bin/service-control" --stop vmcad >/dev/null 2>&1 &&
	rc=0 && "$C" --gencert --cert=c2.pem --privkey=k.pem --config=c.cfg >gc2 || rc=$? &&
	"$T/h/usr/bin/service-control" --start vmcad >/dev/null 2>&1 &&
	[ "$rc" -ne 0 ] && [ ! -s c2.pem ] &&
	grep -q "^Status : Failed$" gc2 && grep -q "^Error Code : 382312694$" gc2 &&
	rc=0 && "$C" --gencert --privkey=k.pem >gc3 || rc=$? &&
	expect_eq 115 "$rc" && grep -q "Error Code : 70003" gc3
'

test_expect 'certool --genselfcacert, --rootca and --getrootca replace the lab VMCA root' '
	lab_create "$T/r" --scenario healthy >/dev/null && labctl start "$T/r" >/dev/null 2>&1
	C="$T/r/usr/lib/vmware-vmca/bin/certool" &&
	printf "Country = US\nName = CA\nOrganization = lab\nHostname = vcsa1.example.com\n" >ca.cfg &&
	"$C" --genselfcacert --outprivkey ca.key --outcert ca.crt --config ca.cfg >o &&
	openssl x509 -in ca.crt -noout -ext basicConstraints | grep -q "CA:TRUE" &&
	"$C" --rootca --cert ca.crt --privkey ca.key >o2 &&
	grep -q "^Status : Success$" o2 &&
	expect_eq "$(openssl x509 -in ca.crt -noout -fingerprint)" \
	    "$(openssl x509 -in "$T/r/var/lib/vmware/vmca/root.cer" -noout -fingerprint)" &&
	ls "$T/r/var/lib/vmware/vmca/" | grep -q "^root.cer\.[0-9]" &&
	ski=$(openssl x509 -in ca.crt -noout -ext subjectKeyIdentifier | tail -1 | tr -d " :") &&
	ldap "$T/r" -b "cn=$ski,$CA" -s base >e &&
	grep -q "^objectClass: pkiCA$" e && grep -q "^cACertificateDN: " e &&
	expect_eq "-----BEGIN CERTIFICATE-----" "$(sed -n "s/^cACertificate:: //p" e | base64 -d | head -n 1)" &&
	expect_eq "-----BEGIN X509 CRL-----" "$(sed -n "s/^certificateRevocationList:: //p" e | base64 -d | head -n 1)" &&
	"$C" --getrootca --cert got.pem >o3 &&
	cmp <(openssl x509 -in got.pem -outform der) <(openssl x509 -in ca.crt -outform der)
'

test_expect 'dir-cli trustedcert publish, list, get, unpublish as Lightwave writes CA entries' '
	lab_up h healthy &&
	D="$T/h/usr/lib/vmware-vmafd/bin/dir-cli" &&
	pw="$T/h/var/lib/vmware-lab/admin.password" &&
	openssl req -x509 -newkey rsa:2048 -nodes -keyout x.key -out x.crt -days 30 \
	    -subj "/CN=extra root/O=lab" -addext basicConstraints=critical,CA:TRUE 2>/dev/null &&
	{ cat "$pw"; echo; } | "$D" trustedcert publish --cert x.crt --login administrator@vsphere.local >o &&
	grep -q "^Enter password for administrator@vsphere.local: $" <(head -c 48 o; echo) &&
	grep -q "Certificate pubished successfully" o &&
	ski=$(openssl x509 -in x.crt -noout -ext subjectKeyIdentifier | tail -1 | tr -d " :") &&
	ldap "$T/h" -b "cn=$ski,$CA" -s base >e &&
	grep -q "^cn: $ski$" e && grep -q "^objectClass: vmwCertificationAuthority$" e &&
	grep -q "^objectClass: pkiCA$" e && grep -q "^cACertificateDN: CN=extra root, O=lab$" e &&
	expect_eq "-----BEGIN CERTIFICATE-----" "$(sed -n "s/^cACertificate:: //p" e | base64 -d | head -n 1)" &&
	{ cat "$pw"; echo; } | "$D" trustedcert list >l &&
	grep -q "^Number of certificates:	[0-9]" l &&
	grep -A2 "^CN(id):		$ski$" l | grep -q "^Subject DN:	CN=extra root, O=lab$" &&
	grep -A2 "^CN(id):		$ski$" l | grep -q "^CRL present:	no$" &&
	{ cat "$pw"; echo; } | "$D" trustedcert get --id "$ski" --outcert got.crt >g &&
	grep -q "Certificate retrieved successfully" g &&
	cmp <(openssl x509 -in got.crt -outform der) <(openssl x509 -in x.crt -outform der) &&
	{ cat "$pw"; echo; } | "$D" trustedcert unpublish --cert x.crt >u &&
	grep -q "Certificate unpubished successfully" u &&
	rc=0 && ldap "$T/h" -b "cn=$ski,$CA" -s base >gone 2>&1 || rc=$? &&
	cat gone && expect_eq 32 "$rc" &&
	rc=0 && echo wrong | "$D" trustedcert list >/dev/null 2>err || rc=$? &&
	[ "$rc" -ne 0 ] && grep -q "^dir-cli failed" err
'

test_expect 'dir-cli trustedcert list and get read DER CA entries too; refuse entries without cACertificateDN' '
	lab_up h healthy &&
	D="$T/h/usr/lib/vmware-vmafd/bin/dir-cli" &&
	pw="$T/h/var/lib/vmware-lab/admin.password" &&
	openssl req -x509 -newkey rsa:2048 -nodes -keyout d.key -out d.crt -days 30 \
	    -subj "/CN=der root" 2>/dev/null &&
	printf "dn: cn=DERROOT,%s\nobjectClass: top\nobjectClass: vmwCertificationAuthority\nobjectClass: pkiCA\ncn: DERROOT\ncACertificateDN: CN=der root\ncACertificate:: %s\n" \
	    "$CA" "$(openssl x509 -in d.crt -outform der | base64 -w0)" >d.ldif &&
	ldapadd -x -H "ldap://127.0.0.1:$(sed -n "s/^ldap_port=//p" "$T/h/var/lib/vmware-lab/lab.conf")" \
	    -D "$ADMIN" -y "$pw" -f d.ldif >/dev/null &&
	"$D" trustedcert list --password "$(cat "$pw")" >l &&
	grep -q "^CN(id):		DERROOT$" l &&
	"$D" trustedcert get --id DERROOT --outcert dgot.crt --password "$(cat "$pw")" >/dev/null &&
	cmp <(openssl x509 -in dgot.crt -outform der) <(openssl x509 -in d.crt -outform der) &&
	printf "dn: cn=DERROOT,%s\nchangetype: modify\ndelete: cACertificateDN\n" "$CA" >m.ldif &&
	ldapmodify -x -H "ldap://127.0.0.1:$(sed -n "s/^ldap_port=//p" "$T/h/var/lib/vmware-lab/lab.conf")" \
	    -D "$ADMIN" -y "$pw" -f m.ldif >/dev/null &&
	rc=0 && "$D" trustedcert list --password "$(cat "$pw")" >l2 2>err || rc=$? &&
	expect_eq 13 "$rc" && [ ! -s l2 ] &&
	grep -q "dir-cli failed. Error 13:" err &&
	ldapdelete -x -H "ldap://127.0.0.1:$(sed -n "s/^ldap_port=//p" "$T/h/var/lib/vmware-lab/lab.conf")" \
	    -D "$ADMIN" -y "$pw" "cn=DERROOT,$CA"
'

test_expect 'dir-cli service list and update' '
	lab_up h healthy &&
	D="$T/h/usr/lib/vmware-vmafd/bin/dir-cli" &&
	pw="$T/h/var/lib/vmware-lab/admin.password" &&
	{ cat "$pw"; echo; } | "$D" service list >l &&
	mid=$(sed -n "s/^machine_id=//p" "$T/h/var/lib/vmware-lab/lab.conf") &&
	grep -q "^[0-9]*\. vpxd-$mid$" l &&
	"$T/h/usr/lib/vmware-vmafd/bin/vecs-cli" entry getcert --store vpxd --alias vpxd >vpxd.crt &&
	{ cat "$pw"; echo; } | "$D" service update --name "vpxd-$mid" --cert vpxd.crt >u &&
	grep -q "Service \[vpxd-$mid\] updated successfully" u &&
	"$T/h/usr/lib/vmware-vmafd/bin/vecs-cli" entry getcert --store machine --alias machine >m.crt &&
	rc=0 && { cat "$pw"; echo; } | "$D" service update --name "vpxd-$mid" --cert m.crt >u2 2>&1 || rc=$? &&
	expect_eq 13 "$rc" && grep -q "cannot be used by multiple services \[machine-$mid\]" u2
'

# fixsts LAB: the public script with its appliance paths under LAB, its
# unqualified ldapsearch/ldapdelete found in LAB/opt/likewise/bin (PATH), run
# from a scratch directory with the administrator password on stdin.
fixsts() {
	local l=$1 p
	sed -e "s|/etc/vmware/|$l/etc/vmware/|g" \
	    -e "s|/usr/lib/vmware-vmdir/|$l/usr/lib/vmware-vmdir/|g" \
	    -e "s|/usr/lib/vmware-vmafd/|$l/usr/lib/vmware-vmafd/|g" \
	    -e "s|/usr/lib/vmware-vmca/|$l/usr/lib/vmware-vmca/|g" \
	    -e "s|/opt/likewise/|$l/opt/likewise/|g" \
	    -e "s|/var/lib/vmware/|$l/var/lib/vmware/|g" \
	    -e "s|/tmp/vmware-fixsts|$l/tmp/vmware-fixsts|g" \
	    -e "s|/certs|$l/certs|g" \
	    "$FIXSTS_SH" >"$l.fixsts.sh" || fail "sed"
	# every absolute path it still names is not the appliance's
	p=$(sed "s|$l/[^ \"]*|LAB|g" "$l.fixsts.sh" | grep -o "[ (\"]/[a-z][a-z/_.-]*" | sort -u)
	[ -z "$p" ] || fail "paths left unprefixed: $p"
	mkdir -p "$l.cwd" &&
	(cd "$l.cwd" && { cat "$l/var/lib/vmware-lab/admin.password"; echo; } |
	    PATH="$l/opt/likewise/bin:$PATH" bash "$l.fixsts.sh") >"$l.fixsts.out" 2>&1 ||
		fail "fixsts.sh exited non-zero: $(tail -5 "$l.fixsts.out")"
}

# after_fixsts LAB OLD_LEAF...: one TenantCredential-1 and TrustedCertChain-1
# holding a new STS leaf (valid, CN=STS, signed by the VMCA root, the key of
# vmwSTSPrivateKey) and the root; none of the old leaves anywhere.
after_fixsts() {
	local l=$1 n old
	shift
	grep -q "^Replacement finished" "$l.fixsts.out" || fail "no Replacement finished"
	expect_eq "cn=TenantCredential-1,$TC" \
	    "$(ldap "$l" -b "$TC" "(objectClass=vmwSTSTenantCredential)" dn | sed -n "s/^dn: //p")" ||
		fail "TenantCredential entries"
	expect_eq "cn=TrustedCertChain-1,cn=TrustedCertificateChains,$TC" \
	    "$(ldap "$l" -b "$TC" "(objectClass=vmwSTSTenantTrustedCertificateChain)" dn | sed -n "s/^dn: //p")" ||
		fail "TrustedCertChain entries"
	n=$(certs_of "$l" "cn=TenantCredential-1,$TC" "$l.tc") && expect_eq 2 "$n" || fail "tc certs"
	n=$(certs_of "$l" "cn=TrustedCertChain-1,cn=TrustedCertificateChains,$TC" "$l.ch") &&
	    expect_eq 2 "$n" || fail "chain certs"
	cmp "$l.tc.0" "$l.ch.0" && cmp "$l.tc.1" "$l.ch.1" || fail "chain differs from credential"
	openssl x509 -in "$l.tc.0" -noout -subject | grep -q "CN = STS" || fail "leaf subject"
	openssl verify -CAfile "$l/var/lib/vmware/vmca/root.cer" "$l.tc.0" >/dev/null || fail "leaf not valid"
	cmp <(openssl x509 -in "$l.tc.1" -outform der) \
	    <(openssl x509 -in "$l/var/lib/vmware/vmca/root.cer" -outform der) || fail "root"
	ldap "$l" -b "cn=TenantCredential-1,$TC" -s base vmwSTSPrivateKey |
	    sed -n "s/^vmwSTSPrivateKey:: //p" | base64 -d >"$l.key.der" || fail "key"
	expect_eq "$(openssl x509 -in "$l.tc.0" -noout -modulus)" \
	    "$(openssl rsa -inform der -in "$l.key.der" -noout -modulus 2>/dev/null)" || fail "key match"
	for old in "$@"; do
		! cmp -s "$old" "$l.tc.0" || fail "old leaf still there"
	done
}

# VMware's fixsts.sh is not ours to ship: an admin downloads it from KB
# 76719. FIXSTS_SH names a copy (the 2020-2021 version); without one these
# two tests are skipped, and the tools above still are tested on their own.
if [ -n "${FIXSTS_SH:-}" ] && [ -f "$FIXSTS_SH" ]; then
	test_expect 'fixsts.sh on sts-expired: new STS pair, services start, check agrees' '
	lab_create "$T/se" --scenario sts-expired >/dev/null &&
	labctl start "$T/se" >/dev/null 2>&1
	l=$T/se &&
	n=$(certs_of "$l" "cn=TenantCredential-1,$TC" "$l.old") && expect_eq 2 "$n" &&
	rc=0 && "$VC" --root "$l" check >/dev/null || rc=$? && expect_eq 2 "$rc" &&
	fixsts "$l" &&
	grep -q "^Highest tenant credentials index : 1$" "$l.fixsts.out" &&
	grep -q "^Deleting tenant 1$" "$l.fixsts.out" &&
	grep -q "^adding new entry \"cn=TenantCredential-1,$TC\"" "$l.fixsts.out" &&
	[ -f "$l/tmp/vmware-fixsts/tenantcredential-1.ldif" ] &&
	after_fixsts "$l" "$l.old.0" &&
	"$l/usr/bin/service-control" --stop --all >/dev/null 2>&1 &&
	"$l/usr/bin/service-control" --start --all >start.out 2>&1 &&
	rc=0 && "$VC" --root "$l" check --json >c.json || rc=$? &&
	expect_eq 0 "$rc" &&
	expect_eq "[]" "$(jq -c "[.findings[]]" c.json)" &&
	jq -r .sts_active c.json | grep -q "^cn=TenantCredential-1,"
'

	test_expect 'fixsts.sh on stale-sts-chain: both old pairs gone, one new pair, check agrees' '
	lab_create "$T/ss" --scenario stale-sts-chain >/dev/null &&
	labctl start "$T/ss" >/dev/null 2>&1
	l=$T/ss &&
	certs_of "$l" "cn=TenantCredential-1,$TC" "$l.old1" >/dev/null &&
	certs_of "$l" "cn=TenantCredential-2,$TC" "$l.old2" >/dev/null &&
	rc=0 && "$VC" --root "$l" check >/dev/null || rc=$? && expect_eq 2 "$rc" &&
	fixsts "$l" &&
	grep -q "^Highest tenant credentials index : 2$" "$l.fixsts.out" &&
	grep -q "^Deleting trustedcertchain 2$" "$l.fixsts.out" &&
	after_fixsts "$l" "$l.old1.0" "$l.old2.0" &&
	"$l/usr/bin/service-control" --stop --all >/dev/null 2>&1 &&
	"$l/usr/bin/service-control" --start --all >start.out 2>&1 &&
	rc=0 && "$VC" --root "$l" check --json >c.json || rc=$? &&
	expect_eq 0 "$rc" &&
	expect_eq "[]" "$(jq -c "[.findings[]]" c.json)" &&
	jq -r .sts_active c.json | grep -q "^cn=TenantCredential-1,"
'
else
	test_skip 'fixsts.sh on sts-expired' 'FIXSTS_SH does not name the KB 76719 script'
	test_skip 'fixsts.sh on stale-sts-chain' 'FIXSTS_SH does not name the KB 76719 script'
fi

test_done
