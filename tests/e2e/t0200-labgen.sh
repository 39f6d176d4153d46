#!/bin/bash
# t0200-labgen.sh - labgen, the lab's generator, checked with tools that do
# not share its code: openssl for certificates, keys, CRLs and dates; slapadd
# and slapd for the seed LDIF; the lab's vecs-cli for reading VECS back. Each
# scenario's date facts are checked at the real "now".
. "$(dirname "$0")/../lib.sh"

LABGEN=$BUILD/lab/labgen
POOL=$BUILD/lab/keypool
PNID=vcsa1.example.com
DDN=dc=vsphere,dc=local
TENANT=cn=vsphere.local,cn=Tenants,cn=IdentityManager,cn=Services,$DDN
LS=cn=ServiceRegistrations,cn=LookupService,cn=default-site,cn=Sites,cn=Configuration,$DDN
STORES_80="MACHINE_SSL_CERT TRUSTED_ROOTS TRUSTED_ROOT_CRLS machine vsphere-webclient vpxd vpxd-extension hvc data-encipherment APPLMGMT_PASSWORD SMS wcp BACKUP_STORE"
STORES_67="MACHINE_SSL_CERT TRUSTED_ROOTS TRUSTED_ROOT_CRLS machine vsphere-webclient vpxd vpxd-extension APPLMGMT_PASSWORD data-encipherment SMS STS_INTERNAL_SSL_CERT BACKUP_STORE"
DAY=86400

# The key pool every lab of the build tree draws from (labctl makes the same).
[ -f "$POOL/key-039.pem" ] || "$LABGEN" keypool "$POOL" 40 ||
	{ echo "Bail out! cannot make the key pool $POOL"; exit 1; }

# mk NAME SCENARIO [ARGS]: creates lab $T/NAME and installs its vecs-cli.
mk() {
	local d=$T/$1 s=$2
	shift 2
	mkdir -p "$d" &&
	"$LABGEN" create "$d" --scenario "$s" --pnid "$PNID" --keypool "$POOL" "$@" &&
	install -D -m 0755 "$BUILD/lab/vecs-cli" "$d/usr/lib/vmware-vmafd/bin/vecs-cli"
}
vecs() { local d=$T/$1; shift; "$d/usr/lib/vmware-vmafd/bin/vecs-cli" "$@"; }
aliases() { vecs "$1" entry list --store "$2" | sed -n "s/^Alias :\t//p"; }
getcert() { vecs "$1" entry getcert --store "$2" --alias "$3"; }
getkey() { vecs "$1" entry getkey --store "$2" --alias "$3"; }
conf() { sed -n "s/^$2=//p" "$T/$1/var/lib/vmware-lab/lab.conf"; }
root_of() { echo "$T/$1/var/lib/vmware/vmca/root.cer"; }

# Certificate facts from a PEM file.
fp() { openssl x509 -in "$1" -noout -fingerprint -sha1 | cut -d= -f2; }
pubc() { openssl x509 -in "$1" -noout -pubkey; }
pubk() { openssl pkey -in "$1" -pubout; }
nb() { date -d "$(openssl x509 -in "$1" -noout -startdate | cut -d= -f2)" +%s; }
na() { date -d "$(openssl x509 -in "$1" -noout -enddate | cut -d= -f2)" +%s; }
# (Assertions are simple commands: set -e ignores a failing "! cmd" or the
# left side of "a && b".)
expired() { ! openssl x509 -in "$1" -noout -checkend 0 >/dev/null; }
unexpired() { openssl x509 -in "$1" -noout -checkend 0 >/dev/null; }
verifies() { openssl verify -CAfile "$1" "$2" >/dev/null; }
ext() { openssl x509 -in "$1" -noout -ext "$2" | sed 1d | sed "s/^ *//"; }
subject() { openssl x509 -in "$1" -noout -subject -nameopt RFC2253 | sed "s/^subject=//"; }

# LDIF of the seed: values of ATTR in the entry DN, one per line (binary
# values stay base64, as labgen writes one line per value).
lv() {
	awk -v dn="dn: $2" -v a="$3" '
		/^dn: / { in_entry = ($0 == dn) }
		in_entry && index($0, a ": ") == 1 { print substr($0, length(a) + 3) }
		in_entry && index($0, a ":: ") == 1 { print substr($0, length(a) + 4) }
	' "$T/$1/storage/db/vmware-vmdir/seed.ldif"
}
dns() { sed -n "s/^dn: //p" "$T/$1/storage/db/vmware-vmdir/seed.ldif"; }
# b64pem: base64 DER certificate on stdin -> PEM on stdout.
b64pem() { base64 -d | openssl x509 -inform DER; }
# The STS leaf and root of TenantCredential-N into files sts.pem, ca.pem.
sts_files() {
	lv "$1" "cn=TenantCredential-$2,$TENANT" userCertificate | sed -n 1p | b64pem >sts.pem &&
	lv "$1" "cn=TenantCredential-$2,$TENANT" userCertificate | sed -n 2p | b64pem >ca.pem
}

# slapd_conf LAB: the lab's slapd.conf and schema, as labctl writes them.
slapd_conf() {
	local d=$T/$1 v=$T/$1/storage/db/vmware-vmdir
	mkdir -p "$v/data" &&
	cp "$TOP/tests/lab/vmdir.schema" "$v/vmdir.schema" &&
	sed -e "s|@DIR@|$d|g" \
	    -e "s|@MACHINE_DN@|cn=$PNID,ou=Domain Controllers,$DDN|g" \
	    "$TOP/tests/lab/slapd.conf.in" >"$v/slapd.conf"
}
slapadd_lab() {
	slapd_conf "$1" &&
	/usr/sbin/slapadd -q -f "$T/$1/storage/db/vmware-vmdir/slapd.conf" \
	    -l "$T/$1/storage/db/vmware-vmdir/seed.ldif"
}

test_expect 'keypool makes PKCS#8 RSA-2048 keys, 0600 in a 0700 folder, and keeps existing ones' '
	"$LABGEN" keypool kp 2
	expect_eq 700 "$(stat -c %a kp)"
	for f in kp/key-000.pem kp/key-001.pem; do
		expect_eq 600 "$(stat -c %a $f)"
		expect_eq "-----BEGIN PRIVATE KEY-----" "$(head -n 1 $f)"
		openssl pkey -in $f -noout -text | grep -q "Private-Key: (2048 bit"
	done
	before=$(md5sum kp/key-000.pem kp/key-001.pem)
	"$LABGEN" keypool kp 3
	expect_eq "$before" "$(md5sum kp/key-000.pem kp/key-001.pem)"
	expect_eq "key-000.pem key-001.pem key-002.pem" "$(ls -A kp | tr "\n" " " | sed "s/ $//")"
'

test_expect 'freeport prints a loopback port that can be bound' '
	p=$("$LABGEN" freeport)
	case $p in ""|*[!0-9]*) fail "not a port: $p" ;; esac
	[ "$p" -gt 0 ]
	[ "$p" -le 65535 ]
'

test_expect 'usage errors exit 64; bad input exits 1 naming the thing' '
	rc=0; "$LABGEN" 2>/dev/null || rc=$?; expect_eq 64 $rc
	rc=0; "$LABGEN" create e --scenario healthy 2>/dev/null || rc=$?; expect_eq 64 $rc
	rc=0; "$LABGEN" create e --scenario healthy --keypool "$POOL" --crls x 2>/dev/null || rc=$?
	expect_eq 64 $rc
	mkdir e
	rc=0; "$LABGEN" create e --scenario nosuch --keypool "$POOL" 2>err || rc=$?
	expect_eq 1 $rc; expect_grep "unknown scenario nosuch" err
	rc=0; "$LABGEN" create e --scenario healthy --version 9.1 --keypool "$POOL" 2>err || rc=$?
	expect_eq 1 $rc; expect_grep "unknown version 9.1" err
	rc=0; "$LABGEN" create e --scenario article-vcsa1 --version 8.0 --keypool "$POOL" 2>err || rc=$?
	expect_eq 1 $rc; expect_grep "article-vcsa1 is a 6.7 appliance" err
	rc=0; "$LABGEN" create e --scenario healthy --keypool "$T/nopool" 2>err || rc=$?
	expect_eq 1 $rc; expect_grep "keypool $T/nopool" err
	rc=0; "$LABGEN" create e --scenario healthy --pnid "a b" --keypool "$POOL" 2>err || rc=$?
	expect_eq 1 $rc; expect_grep "invalid PNID" err
	expect_eq "" "$(ls -A e)"
	: >e/stray
	rc=0; "$LABGEN" create e --scenario healthy --keypool "$POOL" 2>err || rc=$?
	expect_eq 1 $rc; expect_grep "not empty" err
	rc=0; "$LABGEN" create "$T/none" --scenario healthy --keypool "$POOL" 2>err || rc=$?
	expect_eq 1 $rc; expect_grep "$T/none" err
'

test_expect 'healthy: creates a lab' '
	mk h healthy --version 8.0
'

test_expect 'healthy: the VMCA root and its key follow the profile' '
	r=$(root_of h); k=$T/h/var/lib/vmware/vmca/privatekey.pem
	expect_eq "CN=CA, DC=vsphere, DC=local, C=US, ST=California, O=$PNID, OU=VMware Engineering" \
	    "$(openssl x509 -in $r -noout -subject -nameopt oneline,-space_eq | sed "s/^subject=//")"
	expect_eq "critical CA:TRUE" "$(openssl x509 -in $r -noout -ext basicConstraints | sed "1s/.*: //" | tr "\n" " " | sed "s/ *$//; s/  */ /g")"
	expect_eq "Certificate Sign, CRL Sign" "$(ext $r keyUsage)"
	openssl x509 -in $r -noout -ext keyUsage | grep -q "Key Usage: critical"
	[ -n "$(ext $r subjectKeyIdentifier)" ]
	expect_eq "" "$(ext $r authorityKeyIdentifier)"
	expect_eq 600 "$(stat -c %a $k)"
	expect_eq "-----BEGIN PRIVATE KEY-----" "$(head -n 1 $k)"
	expect_eq "$(pubc $r)" "$(pubk $k)"
	expect_eq $((3650 * DAY)) $(( $(na $r) - $(nb $r) ))
	verifies $r $r
'

test_expect 'healthy: VECS holds the 8.0 stores, in order, with the reference aliases' '
	expect_eq "$STORES_80" "$(vecs h store list | tr "\n" " " | sed "s/ $//")"
	expect_eq __MACHINE_CERT "$(aliases h MACHINE_SSL_CERT)"
	for s in machine vsphere-webclient vpxd vpxd-extension hvc wcp data-encipherment; do
		expect_eq $s "$(aliases h $s)"
	done
	expect_eq sms_self_signed "$(aliases h SMS)"
	expect_eq location_password_default "$(aliases h APPLMGMT_PASSWORD)"
	vecs h entry list --store APPLMGMT_PASSWORD | grep -q "^Entry type :	Secret Key$"
	getkey h APPLMGMT_PASSWORD location_password_default | grep -Eq "^[0-9a-f]{64}$"
	expect_eq "bkp___MACHINE_CERT bkp_machine bkp_vsphere-webclient bkp_vpxd bkp_vpxd-extension" \
	    "$(aliases h BACKUP_STORE | tr "\n" " " | sed "s/ $//")"
	sha=$(fp $(root_of h) | tr -d : | tr A-F a-f)
	expect_eq "$sha" "$(aliases h TRUSTED_ROOTS)"
	vecs h entry list --store TRUSTED_ROOTS | grep -q "^Entry type :	Trusted Cert$"
	a=$(aliases h TRUSTED_ROOT_CRLS)
	getcert h TRUSTED_ROOT_CRLS $a >crl.pem
	expect_eq "$a" "$(openssl crl -in crl.pem -outform DER | sha1sum | cut -c1-40)"
	openssl crl -in crl.pem -CAfile $(root_of h) -noout 2>&1 | grep -q "verify OK"
'

test_expect 'healthy: every VMCA leaf in VECS verifies, matches its own pool key, and is valid now' '
	r=$(root_of h)
	: >pubs
	for e in MACHINE_SSL_CERT/__MACHINE_CERT machine/machine vsphere-webclient/vsphere-webclient \
	    vpxd/vpxd vpxd-extension/vpxd-extension hvc/hvc wcp/wcp \
	    data-encipherment/data-encipherment BACKUP_STORE/bkp___MACHINE_CERT \
	    BACKUP_STORE/bkp_machine BACKUP_STORE/bkp_vsphere-webclient \
	    BACKUP_STORE/bkp_vpxd BACKUP_STORE/bkp_vpxd-extension SMS/sms_self_signed; do
		getcert h ${e%/*} ${e#*/} >c.pem
		getkey h ${e%/*} ${e#*/} >k.pem
		vecs h entry list --store ${e%/*} | grep -q "^Entry type :	Private Key$"
		expect_eq "-----BEGIN PRIVATE KEY-----" "$(head -n 1 k.pem)"
		expect_eq "$(pubc c.pem)" "$(pubk k.pem)"
		pubk k.pem | md5sum >>pubs
		[ $e = SMS/sms_self_signed ] && continue
		verifies $r c.pem || fail "$e does not verify"
		[ $(na c.pem) -le $(na $r) ] || fail "$e outlives the root"
		expect_eq "$(ext $r subjectKeyIdentifier)" "$(ext c.pem authorityKeyIdentifier)"
	done
	pubk $T/h/var/lib/vmware/vmca/privatekey.pem | md5sum >>pubs
	expect_eq "$(wc -l <pubs)" "$(sort -u pubs | wc -l)"
'

test_expect 'healthy: Machine SSL is leaf then root, CN and SAN = PNID, TLS usages, 730 days' '
	getcert h MACHINE_SSL_CERT __MACHINE_CERT >chain.pem
	expect_eq 2 "$(grep -c "BEGIN CERTIFICATE" chain.pem)"
	awk "/BEGIN/ { n++ } n == 2" chain.pem >second.pem
	expect_eq "$(fp $(root_of h))" "$(fp second.pem)"
	expect_eq "CN=$PNID" "$(subject chain.pem)"
	expect_eq "DNS:$PNID" "$(ext chain.pem subjectAltName)"
	expect_eq "Digital Signature, Key Encipherment" "$(ext chain.pem keyUsage)"
	expect_eq "TLS Web Server Authentication, TLS Web Client Authentication" "$(ext chain.pem extendedKeyUsage)"
	expect_eq $((730 * DAY)) $(( $(na chain.pem) - $(nb chain.pem) ))
	[ $(nb chain.pem) -lt $(( $(date +%s) - 300 )) ]
'

test_expect 'healthy: solution users: subject with mID, SAN = PNID except wcp, which encrypts' '
	mid=$(conf h machine_id)
	for s in machine vsphere-webclient vpxd vpxd-extension hvc wcp; do
		getcert h $s $s >c.pem
		expect_eq "DC=local,DC=vsphere,OU=mID-$mid,CN=$s" "$(subject c.pem)"
		if [ $s = wcp ]; then
			expect_eq "" "$(ext c.pem subjectAltName)"
			expect_eq "Digital Signature, Key Encipherment, Data Encipherment" "$(ext c.pem keyUsage)"
		else
			expect_eq "DNS:$PNID" "$(ext c.pem subjectAltName)"
			expect_eq "Digital Signature, Key Encipherment" "$(ext c.pem keyUsage)"
		fi
	done
	getcert h data-encipherment data-encipherment >de.pem
	expect_eq "CN=data-encipherment" "$(subject de.pem)"
	expect_eq "Data Encipherment" "$(ext de.pem keyUsage)"
	getcert h SMS sms_self_signed >sms.pem
	expect_eq "$(subject sms.pem)" "$(openssl x509 -in sms.pem -noout -issuer -nameopt RFC2253 | sed "s/^issuer=//")"
'

test_expect 'healthy: registry, lab.conf, node type and admin password' '
	reg=$T/h/var/lib/likewise/registry
	expect_eq 600 "$(stat -c %a $reg)"
	grep -qx "\[HKEY_THIS_MACHINE\\\\Services\\\\vmdir\]" $reg
	grep -qx "\[HKEY_THIS_MACHINE\\\\Services\\\\vmafd\\\\Parameters\]" $reg
	mid=$(conf h machine_id)
	echo "$mid" | grep -Eq "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
	for kv in "dcAccount=$PNID" "dcAccountDN=cn=$PNID,ou=Domain Controllers,$DDN" \
	    "PNID=$PNID" "MachineID=$mid" DomainName=vsphere.local SiteName=default-site \
	    "LSLocation=https://$PNID/lookupservice/sdk" "DCName=$PNID"; do
		grep -qxF "$kv" $reg || fail "registry lacks $kv"
	done
	pw=$(sed -n "s/^dcAccountPassword=//p" $reg | sed "s/\\\\\\\\/\\\\/g")
	[ ${#pw} -ge 20 ]
	case $pw in *\"*) ;; *) fail "no double quote in $pw" ;; esac
	case $pw in *\\*) ;; *) fail "no backslash in $pw" ;; esac
	expect_eq healthy "$(conf h scenario)"
	expect_eq 8.0 "$(conf h version)"
	expect_eq $PNID "$(conf h pnid)"
	expect_eq vsphere.local "$(conf h domain)"
	expect_eq default-site "$(conf h site)"
	conf h created | grep -Eq "^[0-9]+$"
	expect_eq embedded "$(cat $T/h/etc/vmware/deployment.node.type)"
	a=$T/h/var/lib/vmware-lab/admin.password
	expect_eq 600 "$(stat -c %a $a)"
	expect_eq 0 "$(wc -l <$a)"
	[ $(wc -c <$a) -ge 12 ]
'

test_expect 'healthy: vmdir principals hold the VECS certificates and RFC 2253 subjects' '
	mid=$(conf h machine_id)
	for s in machine vsphere-webclient vpxd vpxd-extension hvc wcp; do
		dn="cn=$s-$mid,cn=ServicePrincipals,$DDN"
		expect_eq "$s-$mid" "$(lv h "$dn" sAMAccountName)"
		expect_eq 1 "$(lv h "$dn" userCertificate | wc -l)"
		lv h "$dn" userCertificate | b64pem >v.pem
		getcert h $s $s >c.pem
		expect_eq "$(fp c.pem)" "$(fp v.pem)"
		expect_eq "$(subject c.pem)" "$(lv h "$dn" vmwSTSSubjectDN)"
	done
'

test_expect 'healthy: the STS credential is leaf + root with the leaf key; one chain only' '
	sts_files h 1
	expect_eq "CN=ssoserverSign" "$(subject sts.pem)"
	expect_eq "DNS:$PNID" "$(ext sts.pem subjectAltName)"
	expect_eq "Digital Signature" "$(ext sts.pem keyUsage)"
	expect_eq "$(fp $(root_of h))" "$(fp ca.pem)"
	verifies $(root_of h) sts.pem
	lv h "cn=TenantCredential-1,$TENANT" vmwSTSPrivateKey | base64 -d >k.der
	expect_eq "$(pubc sts.pem)" "$(openssl pkey -inform DER -in k.der -pubout)"
	lv h "cn=TrustedCertChain-1,cn=TrustedCertificateChains,$TENANT" userCertificate | sed -n 1p | b64pem >chain.pem
	expect_eq "$(fp sts.pem)" "$(fp chain.pem)"
	expect_eq 1 "$(dns h | grep -c "^cn=TenantCredential-")"
	expect_eq 1 "$(dns h | grep -c "^cn=TrustedCertChain-")"
	expect_eq "$(na $(root_of h))" "$(na sts.pem)"
'

test_expect 'healthy: CA entry as VMCA writes it: upper-case key id, pkiCA, cACertificateDN, PEM text' '
	r=$(root_of h)
	ski=$(ext $r subjectKeyIdentifier | tr -d :)
	expect_eq "$ski" "$(echo "$ski" | tr a-f A-F)"
	dn="cn=$ski,cn=Certificate-Authorities,cn=Configuration,$DDN"
	expect_eq "vmwCertificationAuthority pkiCA top" "$(lv h "$dn" objectClass | tr "\n" " " | sed "s/ $//")"
	expect_eq "$ski" "$(lv h "$dn" cn)"
	# X509_NAME_print: the one-line form, its slashes as ", "
	expect_eq "$(openssl x509 -in $r -noout -subject -nameopt compat | sed "s/^subject=\///; s/\//, /g")" \
	    "$(lv h "$dn" cACertificateDN)"
	# PEM text, without the last newline (VMCACertToPEM).
	lv h "$dn" cACertificate | base64 -d >ca.txt
	expect_eq "-----END CERTIFICATE-----" "$(tail -c 25 ca.txt)"
	expect_eq "$(openssl x509 -in $r)" "$(cat ca.txt)"
	lv h "$dn" certificateRevocationList | base64 -d >crl.txt
	expect_eq 1 "$(lv h "$dn" certificateRevocationList | wc -l)"
	expect_eq "-----END X509 CRL-----" "$(tail -c 22 crl.txt)"
	openssl crl -in crl.txt -CAfile $r -noout 2>&1 | grep -q "verify OK"
'

test_expect '--ca-entries der: DER values, a lower-case key id, no cACertificateDN' '
	mk hd healthy --ca-entries der
	expect_eq der "$(conf hd ca_entries)"
	expect_eq pem "$(conf h ca_entries)"
	r=$(root_of hd)
	ski=$(ext $r subjectKeyIdentifier | tr -d : | tr A-F a-f)
	dn="cn=$ski,cn=Certificate-Authorities,cn=Configuration,$DDN"
	lv hd "$dn" cACertificate | b64pem >ca.pem
	expect_eq "$(fp $r)" "$(fp ca.pem)"
	expect_eq "" "$(lv hd "$dn" cACertificateDN)"
	lv hd "$dn" objectClass | grep -qx pkiCA
	lv hd "$dn" certificateRevocationList | base64 -d >crl.der
	openssl crl -inform DER -in crl.der -CAfile $r -noout 2>&1 | grep -q "verify OK"
	! "$LABGEN" create "$T/bad" --scenario healthy --keypool "$POOL" --ca-entries ber 2>err.txt
	expect_grep "ca-entries ber" err.txt
'

test_expect 'VECS CRLs are stored as vmafdd keeps them: no last newline' '
	for a in $(aliases h TRUSTED_ROOT_CRLS); do
		# getcert adds one newline to what is stored (vmafd vecs-cli)
		vecs h entry getcert --store TRUSTED_ROOT_CRLS --alias "$a" --output crl.out
		expect_eq "2d0a" "$(tail -c 2 crl.out | od -An -tx1 | tr -d " \n")"
		openssl crl -in crl.out -noout
	done
'

test_expect 'healthy: Lookup Service endpoints of the PNID trust Machine SSL; psc2 trusts its own' '
	mid=$(conf h machine_id)
	getcert h MACHINE_SSL_CERT __MACHINE_CERT | openssl x509 -outform DER | base64 -w0 >mssl.b64
	regs=$(dns h | grep -c "^cn=${mid}_[^,]*,$LS$")
	[ "$regs" -ge 4 ] || fail "$regs registrations"
	n=0
	for dn in $(dns h | grep "^cn=Endpoint[0-9]*,cn=${mid}_" | tr " " "~"); do
		dn=$(echo "$dn" | tr "~" " ")
		lv h "$dn" vmwLKUPURI | grep -q "^https://$PNID:[0-9]*/" || fail "URI of $dn"
		t=$(lv h "$dn" vmwLKUPEndpointSslTrust)
		[ -n "$t" ] || t=$(lv h "$dn" vmwLKUPSslTrustAnchor)
		expect_eq "$(cat mssl.b64)" "$t"
		n=$((n + 1))
	done
	[ $n -ge 4 ]
	p=$(dns h | grep "^cn=Endpoint1,cn=[^,]*_com.vmware.cis.cs.identity.sso" | grep -v "$mid" | tr " " "~" | tr "~" " ")
	expect_eq "https://psc2.example.com:443/sts/STSService/vsphere.local" "$(lv h "$p" vmwLKUPURI)"
	lv h "$p" vmwLKUPEndpointSslTrust | b64pem >psc2.pem
	expect_eq "CN=psc2.example.com" "$(subject psc2.pem)"
	[ "$(lv h "$p" vmwLKUPEndpointSslTrust)" != "$(cat mssl.b64)" ]
'

test_expect 'healthy: the seed loads with slapadd under the lab schema; both accounts bind' '
	slapadd_lab h
	v=$T/h/storage/db/vmware-vmdir
	port=$("$LABGEN" freeport)
	/usr/sbin/slapd -f $v/slapd.conf -h "ldap://127.0.0.1:$port/"
	for i in $(seq 50); do [ -s $v/slapd.pid ] && break; sleep 0.1; done
	ok=1
	pw=$(sed -n "s/^dcAccountPassword=//p" $T/h/var/lib/likewise/registry | sed "s/\\\\\\\\/\\\\/g")
	ldapwhoami -x -H "ldap://127.0.0.1:$port" -D "cn=Administrator,cn=Users,$DDN" \
	    -y $T/h/var/lib/vmware-lab/admin.password >who 2>&1 || ok=0
	ldapwhoami -x -H "ldap://127.0.0.1:$port" -D "cn=$PNID,ou=Domain Controllers,$DDN" \
	    -w "$pw" >>who 2>&1 || ok=0
	ldapsearch -x -LLL -o ldif-wrap=no -H "ldap://127.0.0.1:$port" \
	    -D "cn=Administrator,cn=Users,$DDN" -y $T/h/var/lib/vmware-lab/admin.password \
	    -b "cn=ServicePrincipals,$DDN" -s one userCertificate >sp.ldif 2>&1 || ok=0
	kill "$(cat $v/slapd.pid)"
	cat who
	[ $ok = 1 ]
	expect_eq 6 "$(grep -c "^userCertificate:: " sp.ldif)"
'

test_expect 'version 6.7: its store set, STS_INTERNAL_SSL_CERT = Machine SSL, four solutions, 730-day STS' '
	mk v67 healthy --version 6.7
	expect_eq "$STORES_67" "$(vecs v67 store list | tr "\n" " " | sed "s/ $//")"
	expect_eq __MACHINE_CERT "$(aliases v67 STS_INTERNAL_SSL_CERT)"
	expect_eq "$(getcert v67 MACHINE_SSL_CERT __MACHINE_CERT)" "$(getcert v67 STS_INTERNAL_SSL_CERT __MACHINE_CERT)"
	expect_eq "$(getkey v67 MACHINE_SSL_CERT __MACHINE_CERT)" "$(getkey v67 STS_INTERNAL_SSL_CERT __MACHINE_CERT)"
	expect_eq 4 "$(dns v67 | grep -c ",cn=ServicePrincipals,")"
	sts_files v67 1
	expect_eq $((730 * DAY)) $(( $(na sts.pem) - $(nb sts.pem) ))
	slapadd_lab v67
	mk v70 healthy --version 7.0
	expect_eq "$STORES_80" "$(vecs v70 store list | tr "\n" " " | sed "s/ $//")"
'

test_expect 'sts-expired: the STS leaf alone is expired' '
	mk se sts-expired
	sts_files se 1
	expired sts.pem
	unexpired $(root_of se)
	for s in MACHINE_SSL_CERT/__MACHINE_CERT machine/machine vpxd/vpxd vpxd-extension/vpxd-extension vsphere-webclient/vsphere-webclient; do
		getcert se ${s%/*} ${s#*/} >c.pem
		verifies $(root_of se) c.pem || fail "$s"
	done
	[ $(nb sts.pem) -gt $(nb $(root_of se)) ]
'

test_expect 'all-expired: STS, solution users and Machine SSL expired; the VMCA root valid' '
	mk ae all-expired
	sts_files ae 1
	expired sts.pem
	for s in MACHINE_SSL_CERT/__MACHINE_CERT machine/machine vpxd/vpxd vpxd-extension/vpxd-extension vsphere-webclient/vsphere-webclient hvc/hvc wcp/wcp; do
		getcert ae ${s%/*} ${s#*/} >c.pem
		expired c.pem || fail "$s is not expired"
		[ $(nb c.pem) -gt $(nb $(root_of ae)) ]
	done
	unexpired $(root_of ae)
	verifies $(root_of ae) $(root_of ae)
'

test_expect 'stale-sts-chain: chain 1 expired with another key, chain 2 valid and highest' '
	mk ss stale-sts-chain
	sts_files ss 1; mv sts.pem old.pem
	sts_files ss 2
	expired old.pem
	verifies $(root_of ss) sts.pem
	[ "$(pubc old.pem)" != "$(pubc sts.pem)" ]
	for n in 1 2; do
		lv ss "cn=TenantCredential-$n,$TENANT" vmwSTSPrivateKey | base64 -d >k$n.der
		lv ss "cn=TrustedCertChain-$n,cn=TrustedCertificateChains,$TENANT" userCertificate | sed -n 1p | b64pem >tc$n.pem
	done
	expect_eq "$(pubc old.pem)" "$(openssl pkey -inform DER -in k1.der -pubout)"
	expect_eq "$(pubc sts.pem)" "$(openssl pkey -inform DER -in k2.der -pubout)"
	expect_eq "$(fp old.pem)" "$(fp tc1.pem)"
	expect_eq "$(fp sts.pem)" "$(fp tc2.pem)"
	expect_eq 2 "$(dns ss | grep -c "^cn=TenantCredential-")"
'

test_expect 'root-expired: the root expired 3 days ago and every leaf with it' '
	mk re root-expired
	r=$(root_of re)
	expired $r
	[ $(na $r) -gt $(( $(date +%s) - 4 * DAY )) ]
	sts_files re 1
	expect_eq "$(na $r)" "$(na sts.pem)"
	for s in MACHINE_SSL_CERT/__MACHINE_CERT machine/machine vpxd/vpxd vpxd-extension/vpxd-extension vsphere-webclient/vsphere-webclient hvc/hvc wcp/wcp data-encipherment/data-encipherment BACKUP_STORE/bkp_vpxd; do
		getcert re ${s%/*} ${s#*/} >c.pem
		expect_eq "$(na $r)" "$(na c.pem)"
	done
'

test_expect 'solution-user-mismatch: vpxd-extension differs between VECS and vmdir, both valid' '
	mk sm solution-user-mismatch
	mid=$(conf sm machine_id)
	for s in machine vsphere-webclient vpxd vpxd-extension hvc wcp; do
		getcert sm $s $s >c.pem
		lv sm "cn=$s-$mid,cn=ServicePrincipals,$DDN" userCertificate | b64pem >v.pem
		if [ $s = vpxd-extension ]; then
			[ "$(fp c.pem)" != "$(fp v.pem)" ]
			[ "$(pubc c.pem)" != "$(pubc v.pem)" ]
			verifies $(root_of sm) c.pem
			verifies $(root_of sm) v.pem
			expect_eq "$(subject c.pem)" "$(subject v.pem)"
		else
			expect_eq "$(fp c.pem)" "$(fp v.pem)"
		fi
	done
'

test_expect 'machine-ssl-no-pnid: CN is the PNID, the SAN names the short host and 127.0.0.1 only' '
	mk np machine-ssl-no-pnid
	getcert np MACHINE_SSL_CERT __MACHINE_CERT >c.pem
	expect_eq "CN=$PNID" "$(subject c.pem)"
	expect_eq "DNS:vcsa1, IP Address:127.0.0.1" "$(ext c.pem subjectAltName)"
	verifies $(root_of np) c.pem
'

test_expect 'trust-anchor-stale: PNID endpoints trust the older (backup) Machine SSL, still valid' '
	mk ta trust-anchor-stale
	mid=$(conf ta machine_id)
	getcert ta MACHINE_SSL_CERT __MACHINE_CERT | openssl x509 -outform DER | base64 -w0 >cur.b64
	getcert ta BACKUP_STORE bkp___MACHINE_CERT | openssl x509 -outform DER | base64 -w0 >old.b64
	[ "$(cat cur.b64)" != "$(cat old.b64)" ]
	dn="cn=Endpoint1,cn=${mid}_com.vmware.vcenterserver,$LS"
	expect_eq "$(cat old.b64)" "$(lv ta "$dn" vmwLKUPEndpointSslTrust)"
	base64 -d old.b64 | openssl x509 -inform DER >old.pem
	getcert ta MACHINE_SSL_CERT __MACHINE_CERT >cur.pem
	verifies $(root_of ta) old.pem
	[ $(nb old.pem) -lt $(nb cur.pem) ]
	[ "$(pubc old.pem)" != "$(pubc cur.pem)" ]
	expect_eq 0 "$(grep -c "^vmwLKUPEndpointSslTrust: $(cat cur.b64)" $T/ta/storage/db/vmware-vmdir/seed.ldif)"
'

test_expect 'article-vcsa1: the audit one-liner prints the seed article listing' '
	mk art article-vcsa1 --version 6.7
	for i in $(vecs art store list); do
		echo STORE $i
		vecs art entry list --store $i --text | grep -E "Alias|Not After" || :
	done | tr -s " \t" "  " | sed "s/^ //; s/ $//" >got
	cat >want <<-EOF
	STORE MACHINE_SSL_CERT
	Alias : __MACHINE_CERT
	Not After : Apr 6 11:57:19 2029 GMT
	STORE TRUSTED_ROOTS
	Alias : c96d3301505316ccc1b295276ece31318ad79ec7
	Not After : Apr 6 11:57:19 2029 GMT
	Alias : 8a11418d5ae2b87b7e8a5cb8646fbfae41503f9d
	Not After : Dec 13 21:50:49 2029 GMT
	Alias : cb5a495d34f3f2f75d357b47aac3799346665258
	Not After : Sep 25 20:32:57 2022 GMT
	Alias : 229a64a3dff7417d0b38fb011c692a55b7bee5c2
	Not After : May 16 20:21:12 2030 GMT
	Alias : 2f0e8e4f1658e61bef5004cb5efd159b90396838
	Not After : May 16 20:45:07 2030 GMT
	STORE TRUSTED_ROOT_CRLS
	Alias : 4504400e4bcbdab5a34a9bc2555abd55327369c1
	Alias : 31b2b5a18d89d90dadff901400a60d45ca3356e9
	Alias : e7840a7cbbe7fcdd7a13d9159ff97443cc53fb5e
	Alias : 985d7e55183635f13e2c6469eee9c72f68334615
	STORE machine
	Alias : machine
	Not After : Apr 6 11:57:19 2029 GMT
	STORE vsphere-webclient
	Alias : vsphere-webclient
	Not After : Apr 6 11:57:19 2029 GMT
	STORE vpxd
	Alias : vpxd
	Not After : Apr 6 11:57:19 2029 GMT
	STORE vpxd-extension
	Alias : vpxd-extension
	Not After : Apr 6 11:57:19 2029 GMT
	STORE APPLMGMT_PASSWORD
	STORE data-encipherment
	Alias : data-encipherment
	Not After : Apr 6 11:57:19 2029 GMT
	STORE SMS
	Alias : sms_self_signed
	Not After : Apr 12 12:04:48 2029 GMT
	STORE BACKUP_STORE
	EOF
	diff -u want got
'

test_expect 'article-vcsa1: ten-year certificates from the root, valid STS, a 6.7 lab' '
	r=$(root_of art)
	expect_eq "Apr  6 11:57:19 2019 GMT" "$(openssl x509 -in $r -noout -startdate | cut -d= -f2)"
	getcert art TRUSTED_ROOTS cb5a495d34f3f2f75d357b47aac3799346665258 >x.pem
	expect_eq "Sep 25 20:32:57 2012 GMT" "$(openssl x509 -in x.pem -noout -startdate | cut -d= -f2)"
	for s in MACHINE_SSL_CERT/__MACHINE_CERT machine/machine vpxd/vpxd data-encipherment/data-encipherment; do
		getcert art ${s%/*} ${s#*/} >c.pem
		verifies $r c.pem
		expect_eq "$(nb $r)" "$(nb c.pem)"
	done
	sts_files art 1
	verifies $r sts.pem
	[ $(na sts.pem) -le $(na $r) ]
	expect_eq 6.7 "$(conf art version)"
	expect_eq 5 "$(dns art | grep -c ",cn=Certificate-Authorities,")"
	slapadd_lab art
'

test_expect 'crl-bloat: 40 extra roots (valid and expired) and 150 extra CRLs, each root a CA entry' '
	mk cb crl-bloat
	vecs cb entry list --store TRUSTED_ROOTS | grep -q "^Number of entries in store :	41$"
	vecs cb entry list --store TRUSTED_ROOT_CRLS | grep -q "^Number of entries in store :	151$"
	nexp=0 nval=0
	for a in $(aliases cb TRUSTED_ROOTS); do
		getcert cb TRUSTED_ROOTS $a >c.pem
		expect_eq "$a" "$(fp c.pem | tr -d : | tr A-F a-f)"
		if expired c.pem; then nexp=$((nexp + 1)); else nval=$((nval + 1)); fi
		ext c.pem basicConstraints | grep -q CA:TRUE
	done
	[ $nexp -gt 0 ]
	[ $nval -gt 1 ]
	expect_eq 41 "$(dns cb | grep -c ",cn=Certificate-Authorities,")"
	expect_eq 41 "$(dns cb | grep ",cn=Certificate-Authorities," | sort -u | wc -l)"
	for a in $(aliases cb TRUSTED_ROOT_CRLS | sed -n "1p;75p;151p"); do
		getcert cb TRUSTED_ROOT_CRLS $a | openssl crl -outform DER | sha1sum | cut -c1-40 >s
		expect_eq "$a" "$(cat s)"
	done
	slapadd_lab cb
'

# Its time is printed, not judged: speed is for make bench.
test_expect 'crl-bloat --roots 2000 --crls 5000 holds every entry and loads' '
	t0=$(date +%s%N)
	mk big crl-bloat --roots 2000 --crls 5000
	t1=$(date +%s%N)
	echo $(( (t1 - t0) / 1000000 )) >$T/bloat.ms
	vecs big entry list --store TRUSTED_ROOTS | grep -q "^Number of entries in store :	2001$"
	vecs big entry list --store TRUSTED_ROOT_CRLS | grep -q "^Number of entries in store :	5001$"
	slapadd_lab big
'
[ -f "$T/bloat.ms" ] && echo "# crl-bloat --roots 2000 --crls 5000: $(cat "$T/bloat.ms") ms"

test_done
