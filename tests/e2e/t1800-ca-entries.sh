#!/bin/bash
# vmdir's CA entries in both forms the field has: as Lightwave's VMCA and
# dir-cli write them (upper-case key id, pkiCA, cACertificateDN, PEM text;
# the lab's default) and as other tools may leave them (--ca-entries der).
# vcrotate reads both, writes a new root's entry in the appliance's own form,
# and puts either back byte for byte. What is checked is read with ldapsearch
# and openssl, not with vcrotate.
. "$(dirname "$0")/../lib.sh"

VC=$BUILD/vcrotate
CA=cn=Certificate-Authorities,cn=Configuration,dc=vsphere,dc=local

# ldap LAB ARGS...: ldapsearch as the administrator, unwrapped LDIF.
ldap() {
	local l=$1
	shift
	ldapsearch -x -LLL -o ldif-wrap=no -H "$(sed -n "s/^ldap_uri=//p" "$l/etc/vcrotate/vcrotate.conf")" \
	    -D cn=Administrator,cn=Users,dc=vsphere,dc=local -y "$l/var/lib/vmware-lab/admin.password" "$@"
}
# The values of ATTR of entry DN (base64 values decoded), one file.
value() { ldap "$1" -b "$2" -s base "$3" | sed -n "s/^$3:: //p" | base64 -d; }
plain() { ldap "$1" -b "$2" -s base "$3" | sed -n "s/^$3: //p"; }
ski() { openssl x509 -in "$1" -noout -ext subjectKeyIdentifier | sed 1d | tr -d " :"; }
# X509_NAME_print's form of the subject: the one-line form, "/" as ", ".
compat() { openssl x509 -in "$1" -noout -subject -nameopt compat | sed "s/^subject=\///; s/\//, /g"; }

# newlab NAME SCENARIO [labctl options]
newlab() {
	local n=$1 s=$2
	shift 2
	lab_create "$T/$n" --scenario "$s" "$@" >/dev/null &&
	labctl start "$T/$n" >/dev/null 2>&1
}

for v in 6.7 7.0 8.0; do
	test_expect "healthy $v with Lightwave's CA entries: check finds nothing (exit 0)" "
		newlab h$v healthy --version $v --ca-entries pem &&
		r=\$T/h$v/var/lib/vmware/vmca/root.cer &&
		value \$T/h$v cn=\$(ski \$r),$CA cACertificate | grep -q '^-----BEGIN CERTIFICATE-----\$' &&
		rc=0 && \"\$VC\" --root \$T/h$v check >out 2>&1 || rc=\$? &&
		expect_eq 0 \"\$rc\" &&
		expect_grep '^CA entries in vmdir: 1\$' out
	"
done

test_expect 'healthy with DER CA entries: check finds nothing (exit 0)' '
	newlab hder healthy --ca-entries der &&
	rc=0 && "$VC" --root "$T/hder" check >out 2>&1 || rc=$?
	expect_eq 0 "$rc"
'

test_expect 'a CA entry that is neither PEM nor DER is UNPARSEABLE, named by its DN' '
	l=$T/h8.0 && r=$l/var/lib/vmware/vmca/root.cer &&
	dn=cn=$(ski "$r"),$CA &&
	value "$l" "$dn" cACertificate >saved.pem &&
	printf "dn: %s\nchangetype: modify\nreplace: cACertificate\ncACertificate: -----BEGIN CERTIFICATE-----garbage\n" "$dn" >bad.ldif &&
	ldapmodify -x -H "$(sed -n "s/^ldap_uri=//p" "$l/etc/vcrotate/vcrotate.conf")" \
	    -D cn=Administrator,cn=Users,dc=vsphere,dc=local -y "$l/var/lib/vmware-lab/admin.password" -f bad.ldif >/dev/null &&
	rc=0 && "$VC" --root "$l" check --json >out.json 2>/dev/null || rc=$?
	expect_eq 2 "$rc" &&
	jq -e --arg dn "$dn" "[.findings[] | select(.code == \"UNPARSEABLE\" and .place == \$dn)] | length == 1" out.json >/dev/null &&
	{ printf "dn: %s\nchangetype: modify\nreplace: cACertificate\ncACertificate:: " "$dn"; base64 -w0 saved.pem; echo; } >good.ldif &&
	ldapmodify -x -H "$(sed -n "s/^ldap_uri=//p" "$l/etc/vcrotate/vcrotate.conf")" \
	    -D cn=Administrator,cn=Users,dc=vsphere,dc=local -y "$l/var/lib/vmware-lab/admin.password" -f good.ldif >/dev/null &&
	"$VC" --root "$l" check >/dev/null
'

# replace_root NAME FORM: root-expired repaired; the new root's CA entry.
replace_root() {
	local l=$T/$1 rc=0
	newlab "$1" root-expired --ca-entries "$2" &&
	lab_dump "$l" >"$T/$1.before" &&
	"$VC" --root "$l" plan -o "$T/$1.plan" >/dev/null &&
	"$VC" --root "$l" apply "$T/$1.plan" --ticket CHG-7 >"$T/$1.out" 2>&1 || rc=$?
	expect_eq 0 "$rc" || { tail -5 "$T/$1.out" >&2; return 1; }
	rc=0; "$VC" --root "$l" check >/dev/null || rc=$?
	expect_eq 0 "$rc"
}

test_expect 'root-expired (PEM entries): the new root is published as VMCA would publish it, dir-cli lists it' '
	replace_root rpem pem &&
	r=$T/rpem/var/lib/vmware/vmca/root.cer && id=$(ski "$r") &&
	expect_eq "$id" "$(echo "$id" | tr a-f A-F)" &&
	dn=cn=$id,$CA &&
	expect_eq "vmwCertificationAuthority pkiCA top" "$(plain $T/rpem "$dn" objectClass | tr "\n" " " | sed "s/ $//")" &&
	expect_eq "$id" "$(plain $T/rpem "$dn" cn)" &&
	expect_eq "$(compat "$r")" "$(plain $T/rpem "$dn" cACertificateDN)" &&
	value $T/rpem "$dn" cACertificate >ca.txt &&
	# PEM text without the last newline, as the entries VMCA wrote
	expect_eq "$(openssl x509 -in "$r")" "$(cat ca.txt)" &&
	expect_eq "2d" "$(tail -c 1 ca.txt | od -An -tx1 | tr -d " ")" &&
	# the old root entry is gone; one CA entry is left
	expect_eq 1 "$(ldap $T/rpem -b "$CA" -s one dn | grep -c "^dn: ")" &&
	# and the appliance'"'"'s own tool lists it (the password on stdin)
	{ cat $T/rpem/var/lib/vmware-lab/admin.password; echo; } |
	    $T/rpem/usr/lib/vmware-vmafd/bin/dir-cli trustedcert list --login administrator >list.out &&
	expect_grep "^Number of certificates:	1$" list.out &&
	grep -q "^CN(id):		$id$" list.out &&
	grep -q "^Subject DN:	$(compat "$r")$" list.out
'

test_expect 'root-expired (DER entries): the new root is published in the DER form the appliance has' '
	replace_root rder der &&
	r=$T/rder/var/lib/vmware/vmca/root.cer && id=$(ski "$r" | tr A-F a-f) &&
	dn=cn=$id,$CA &&
	expect_eq "$id" "$(plain $T/rder "$dn" cn)" &&
	value $T/rder "$dn" cACertificate >ca.der &&
	expect_eq "$(openssl x509 -in "$r" -outform DER | sha256sum)" "$(sha256sum <ca.der)" &&
	expect_eq "" "$(plain $T/rder "$dn" cACertificateDN)" &&
	plain $T/rder "$dn" objectClass | grep -qx pkiCA
'

for f in pem der; do
	test_expect "rollback of the root replacement ($f entries) puts every CA entry back byte for byte" "
		l=\$T/r$f &&
		txn=\$(\"\$VC\" --root \$l history | awk '/ success / { print \$4; exit }') &&
		[ -n \"\$txn\" ] &&
		\"\$VC\" --root \$l rollback \"\$txn\" >rb.out 2>&1 &&
		lab_dump \$l >after &&
		diff -u \$T/r$f.before after
	"
done

test_expect 'backup restore of a snapshot puts PEM CA entries back byte for byte, and shows them' '
	newlab art article-vcsa1 --ca-entries pem &&
	l=$T/art && lab_dump "$l" >before &&
	snap=$("$VC" --root "$l" backup snapshot 2>/dev/null | awk "/^snapshot / { print \$2 }") &&
	[ -n "$snap" ] &&
	"$VC" --root "$l" plan --prune-expired-roots -o prune.plan >/dev/null &&
	"$VC" --root "$l" apply prune.plan >/dev/null 2>&1 &&
	expect_eq 4 "$(ldap "$l" -b "$CA" -s one dn | grep -c "^dn: ")" &&
	"$VC" --root "$l" backup restore "$snap" >out 2>&1 &&
	lab_dump "$l" >after &&
	diff -u before after &&
	"$VC" --root "$l" backup show "$snap" >show.out 2>&1 &&
	grep -A1 "^  cn=[0-9A-F]*,$CA\$" show.out | grep -q "^      CN=Example Corp Root CA 2012, O=Example Corp, C=US, serial .*, not after 2022-09-25 20:32:57 GMT\$"
'

test_done
