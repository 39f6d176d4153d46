#!/bin/bash
# t0100-vecs-cli.sh - the lab's vecs-cli against appliance.md section 3 and
# the vmafd vecs-cli it imitates: commands, exact output, error codes, the
# delete prompt, key handling, hostile names, the write fault, concurrency.
#
# Runs the binary from a bare lab root (no labctl needed): the program finds
# its root from its own path.
. "$(dirname "$0")/../lib.sh"

LAB=$T/lab
V=$LAB/usr/lib/vmware-vmafd/bin/vecs-cli
VECS=$LAB/storage/db/vmware-vmafd/vecs
FAULT=$LAB/var/lib/vmware-lab/faults/vecs-write
unset VCROTATE_LAB_ROOT
mkdir -p "$LAB/usr/lib/vmware-vmafd/bin" "$LAB/var/lib/vmware-lab/faults"
cp "$BUILD/lab/vecs-cli" "$V"

# Fixtures: a self-signed certificate and key, a traditional RSA key with its
# certificate, a CRL, a secret.
(
	cd "$T" || exit 1
	openssl req -x509 -newkey rsa:2048 -nodes -keyout k.pem -out c.pem \
	    -days 30 -subj /CN=lab-one
	openssl genrsa -traditional -out trad.pem 2048
	openssl req -x509 -key trad.pem -out tradc.pem -days 30 \
	    -subj /CN=lab-trad
	mkdir ca && : >ca/index.txt && echo 01 >ca/crlnumber
	printf '[ca]\ndefault_ca = d\n[d]\ndatabase = ca/index.txt\n%s\n%s\n%s\n' \
	    'crlnumber = ca/crlnumber' 'default_md = sha256' \
	    'default_crl_days = 30' >ca.cnf
	openssl ca -config ca.cnf -gencrl -keyfile k.pem -cert c.pem \
	    -out crl.pem
	printf 'location-password' >secret
) >"$T/fixtures.log" 2>&1 || { cat "$T/fixtures.log"; exit 1; }

# run CMD...: runs vecs-cli with stdout in out, stderr in err, status in rc.
run() {
	rc=0
	"$V" "$@" >out 2>err || rc=$?
}

test_expect 'store list on an empty lab says so on stderr' '
	run store list
	expect_eq 0 "$rc"
	expect_eq "" "$(cat out)"
	expect_eq "No stores found" "$(cat err)"
'

test_expect 'store create prints the reference line, list keeps creation order' '
	run store create --name MACHINE_SSL_CERT
	expect_eq 0 "$rc"
	expect_eq "Successfully created store [MACHINE_SSL_CERT]" "$(cat out)"
	for s in TRUSTED_ROOTS machine APPLMGMT_PASSWORD; do
		"$V" store create --name $s >/dev/null
	done
	run store list
	expect_eq "MACHINE_SSL_CERT
TRUSTED_ROOTS
machine
APPLMGMT_PASSWORD" "$(cat out)"
'

test_expect 'store create of an existing store fails with 183' '
	run store create --name machine
	expect_eq 183 "$rc"
	expect_eq "vecs-cli failed. Error 183: Operation failed with error ERROR_ALREADY_EXISTS (183) " "$(cat err)"
'

test_expect 'entry create (cert + key) prints the line with its trailing space' '
	run entry create --store MACHINE_SSL_CERT --alias __MACHINE_CERT \
	    --cert c.pem --key k.pem
	expect_eq 0 "$rc"
	expect_eq "Entry with alias [__MACHINE_CERT] in store [MACHINE_SSL_CERT] was created successfully " "$(cat out)"
'

test_expect 'entry list shows count, alias, type and the PEM as stored' '
	run entry list --store MACHINE_SSL_CERT
	expect_eq 0 "$rc"
	{
		printf "Number of entries in store :\t1\n"
		printf "Alias :\t__MACHINE_CERT\nEntry type :\tPrivate Key\n"
		printf "Certificate :\t"; cat c.pem; printf "\n\n"
	} >want
	cmp want out
'

test_expect 'entry getcert prints the certificate (and a newline), --output writes it' '
	run entry getcert --store MACHINE_SSL_CERT --alias __MACHINE_CERT
	expect_eq 0 "$rc"
	{ cat c.pem; echo; } >want
	cmp want out
	run entry getcert --store MACHINE_SSL_CERT --alias __MACHINE_CERT \
	    --output got.pem
	expect_eq 0 "$rc"
	expect_eq "" "$(cat out)"
	cmp want got.pem
	expect_eq 600 "$(stat -c %a got.pem)"
'

test_expect 'entry getkey gives PKCS#8, --output is mode 0600' '
	run entry getkey --store MACHINE_SSL_CERT --alias __MACHINE_CERT
	expect_eq 0 "$rc"
	expect_eq "-----BEGIN PRIVATE KEY-----" "$(head -n 1 out)"
	umask 022
	run entry getkey --store MACHINE_SSL_CERT --alias __MACHINE_CERT \
	    --output key.out
	expect_eq 0 "$rc"
	expect_eq 600 "$(stat -c %a key.out)"
	expect_eq "$(openssl pkey -in k.pem -pubout)" \
	    "$(openssl pkey -in key.out -pubout)"
'

test_expect 'a traditional RSA key is stored as PKCS#8' '
	head -n 1 trad.pem | grep -q "BEGIN RSA PRIVATE KEY"
	run entry create --store machine --alias machine --cert tradc.pem \
	    --key trad.pem
	expect_eq 0 "$rc"
	run entry getkey --store machine --alias machine
	expect_eq "-----BEGIN PRIVATE KEY-----" "$(head -n 1 out)"
	grep -q "RSA PRIVATE" out && fail "traditional key stored as is"
	expect_eq "$(openssl pkey -in trad.pem -pubout)" \
	    "$(openssl pkey -in out -pubout)"
'

test_expect 'entry getkey --text prints the RSA key' '
	run entry getkey --store machine --alias machine --text
	expect_eq 0 "$rc"
	expect_grep "^Private-Key: (2048 bit" out
	expect_grep "^modulus:" out
'

test_expect 'a key that does not match the certificate is refused' '
	run entry create --store machine --alias other --cert c.pem \
	    --key trad.pem
	expect_eq 162 "$rc"
	expect_eq "vecs-cli failed. Error 90018: Private key does not match certificate " "$(cat err)"
	run entry list --store machine --aliases
	expect_eq "Number of entries in store :	1
machine" "$(cat out)"
'

test_expect 'garbage certificate or key files are refused with 87 and usage' '
	echo "not a certificate" >junk
	run entry create --store machine --alias j --cert junk
	expect_eq 87 "$rc"
	expect_grep "^Usage: vecs-cli" out
	expect_eq "vecs-cli failed. Error 87: Operation failed with error ERROR_INVALID_PARAMETER (87) " "$(cat err)"
	run entry create --store machine --alias j --cert c.pem --key junk
	expect_eq 87 "$rc"
	run entry create --store machine --alias j --cert no-such-file
	expect_eq 2 "$rc"
	expect_grep "Error: Failed to open file \[no-such-file\]" err
	run entry create --store machine --alias j
	expect_eq 87 "$rc"
	expect_grep "Error: A certificate or a key must be specified." err
	run entry list --store machine --aliases
	expect_eq "Number of entries in store :	1
machine" "$(cat out)"
'

test_expect 'entry create over an existing alias fails with 183, entry unchanged' '
	run entry create --store MACHINE_SSL_CERT --alias __MACHINE_CERT \
	    --cert tradc.pem --key trad.pem
	expect_eq 183 "$rc"
	expect_eq "vecs-cli failed. Error 183: Operation failed with error ERROR_ALREADY_EXISTS (183) " "$(cat err)"
	run entry getcert --store MACHINE_SSL_CERT --alias __MACHINE_CERT
	{ cat c.pem; echo; } >want
	cmp want out
'

test_expect 'without --alias a trusted cert is named by its SHA-1' '
	run entry create --store TRUSTED_ROOTS --cert c.pem
	expect_eq 0 "$rc"
	sha=$(openssl x509 -in c.pem -outform DER | sha1sum | cut -d" " -f1)
	expect_eq "Entry with alias [$sha] in store [TRUSTED_ROOTS] was created successfully " "$(cat out)"
	run entry list --store TRUSTED_ROOTS
	expect_grep "^Entry type :	Trusted Cert$" out
'

test_expect 'a certificate chain is kept whole' '
	cat tradc.pem c.pem >chain.pem
	run entry create --store TRUSTED_ROOTS --alias chain --cert chain.pem
	expect_eq 0 "$rc"
	run entry getcert --store TRUSTED_ROOTS --alias chain
	{ cat chain.pem; echo; } >want
	cmp want out
'

test_expect 'a CRL given to entry create is refused: no alias from it, no certificate in it' '
	run store create --name TRUSTED_ROOT_CRLS
	run entry create --store TRUSTED_ROOT_CRLS --cert crl.pem
	expect_eq 87 "$rc"
	expect_grep "^Error: Could not generate alias from certificate$" err
	run entry create --store TRUSTED_ROOT_CRLS --alias mycrl --cert crl.pem
	expect_eq 11 "$rc"
	expect_grep "^vecs-cli failed. Error 11: Operation failed with error ERROR_BAD_FORMAT (11) $" err
	run entry list --store TRUSTED_ROOT_CRLS
	expect_eq "Number of entries in store :	0" "$(cat out)"
'

test_expect 'a secret key: listed without certificate, getcert fails with 87' '
	run entry create --store APPLMGMT_PASSWORD \
	    --alias location_password_default --key secret
	expect_eq 0 "$rc"
	run entry list --store APPLMGMT_PASSWORD
	printf "Number of entries in store :\t1\nAlias :\tlocation_password_default\nEntry type :\tSecret Key\nCertificate :\t\n\n" >want
	cmp want out
	run entry getkey --store APPLMGMT_PASSWORD \
	    --alias location_password_default
	expect_eq "location-password" "$(cat out)"
	run entry getcert --store APPLMGMT_PASSWORD \
	    --alias location_password_default
	expect_eq 87 "$rc"
	expect_eq "Error: No certificates were found for entry [location_password_default] of type [Secret Key].
vecs-cli failed. Error 87: Operation failed with error ERROR_INVALID_PARAMETER (87) " "$(cat err)"
	run entry getkey --store TRUSTED_ROOTS --alias chain
	expect_eq 87 "$rc"
	expect_grep "Error: No key was found for entry \[chain\] of type \[Trusted Cert\]" err
'

test_expect 'a missing store or alias is 4312, with each command its own message' '
	E="vecs-cli failed. Error 4312: Operation failed with error ERROR_OBJECT_NOT_FOUND (4312) "
	run entry list --store NOPE
	expect_eq 216 "$rc"
	expect_eq "$E" "$(cat err)"
	run entry getcert --store machine --alias nope
	expect_eq 216 "$rc"
	expect_eq "$E" "$(cat err)"
	run entry getcert --store NOPE --alias x
	expect_eq 216 "$rc"
	expect_eq "Error: Failed to open the store.
$E" "$(cat err)"
	run entry getkey --store NOPE --alias x
	expect_eq "Error: Failed to open the store.
$E" "$(cat err)"
	run entry create --store NOPE --alias x --cert c.pem
	expect_eq 216 "$rc"
	expect_eq "Error: Failed to open the store.
$E" "$(cat err)"
	run store delete --name NOPE -y
	expect_eq 216 "$rc"
	expect_eq "Error : Store [NOPE] does not exist
$E" "$(cat err)"
	run entry delete --store NOPE --alias x -y
	expect_eq 216 "$rc"
	expect_eq "Error: Failed to open the store
$E" "$(cat err)"
	run store get-permissions --name NOPE
	expect_eq 216 "$rc"
	expect_eq "Error: Failed to open the store
$E" "$(cat err)"
	run store permission --name NOPE --user vpxd --grant read
	expect_eq 216 "$rc"
	expect_eq "Error: Failed to open the store
$E" "$(cat err)"
'

test_expect 'a store name longer than 128 characters is refused with 154' '
	n=$(head -c 129 /dev/zero | tr "\0" b)
	run store create --name "$n"
	expect_eq 154 "$rc"
	expect_eq "vecs-cli failed. Error 154: Operation failed with error ERROR_LABEL_TOO_LONG (154) " "$(cat err)"
	"$V" store list >names
	! grep -qx "$n" names
'

test_expect 'store create, delete and get-permissions take the last --name; entry commands the first --store' '
	run store create --name first --name LASTNAME
	expect_eq 0 "$rc"
	expect_eq "Successfully created store [LASTNAME]" "$(cat out)"
	"$V" store list >names
	grep -qx LASTNAME names
	! grep -qx first names
	run entry list --store LASTNAME --store NOPE
	expect_eq 0 "$rc"
	run store delete --name NOPE --name LASTNAME -y
	expect_eq 0 "$rc"
	expect_eq "Successfully deleted store [LASTNAME]" "$(cat out)"
'

test_expect 'store permission grants and revokes; get-permissions lists them' '
	"$V" store create --name PERMS >/dev/null
	run store get-permissions --name PERMS
	expect_eq 0 "$rc"
	expect_eq "PERMISSIONS FOR STORE: [PERMS]
OWNER : root
USER		ACCESS" "$(cat out)"
	run store permission --name PERMS --user vpxd --grant read
	expect_eq 0 "$rc"
	printf "Permissions for store [PERMS] set  successfully\n " >want
	cmp want out
	"$V" store permission --name PERMS --user vpxd --grant write >/dev/null
	"$V" store permission --name PERMS --user vsphere-ui --grant read >/dev/null
	run store get-permissions --name PERMS
	expect_eq "PERMISSIONS FOR STORE: [PERMS]
OWNER : root
USER		ACCESS
vpxd	read,write
vsphere-ui	read" "$(cat out)"
	"$V" store permission --name PERMS --user vpxd --revoke read >/dev/null
	"$V" store permission --name PERMS --user vsphere-ui --revoke read >/dev/null
	run store get-permissions --name PERMS
	expect_eq "PERMISSIONS FOR STORE: [PERMS]
OWNER : root
USER		ACCESS
vpxd	write" "$(cat out)"
	run store permission --name PERMS --user vpxd --grant read --revoke write
	expect_eq 87 "$rc"
	run store permission --name PERMS --user vpxd --grant execute
	expect_eq 87 "$rc"
'

test_expect '--server and --upn: both or neither, then a password prompt and a login' '
	mkdir -p "$LAB/var/lib/likewise" &&
	printf "%s\n" "[HKEY_THIS_MACHINE\\Services\\vmafd\\Parameters]" \
	    PNID=vcsa1.example.com DomainName=vsphere.local >"$LAB/var/lib/likewise/registry"
	printf "s3cret" >"$LAB/var/lib/vmware-lab/admin.password"
	run store list --server localhost
	expect_eq 159 "$rc"
	expect_eq "Error: You have to provide both server and upn 
vecs-cli failed. Error 5023: Operation failed with error ERROR_INVALID_STATE (5023) " "$(cat err)"
	rc=0; echo s3cret | "$V" store list --server vcsa1.example.com --upn administrator@vsphere.local >out 2>err || rc=$?
	expect_eq 0 "$rc"
	expect_eq "Enter password:	" "$(head -n 1 out)"
	grep -qx PERMS out
	rc=0; echo wrong | "$V" entry list --store PERMS --server localhost --upn administrator@vsphere.local >out 2>err || rc=$?
	expect_eq 46 "$rc"
	expect_grep "^Error: Failed to establish connection to remote server $" err
	rc=0; echo s3cret | "$V" store list --server other.example.com --upn administrator@vsphere.local >out 2>err || rc=$?
	expect_eq 246 "$rc"
'

test_expect '--text gives the OpenSSL dump with its Not After line' '
	run entry list --store MACHINE_SSL_CERT --text
	expect_eq 0 "$rc"
	expect_grep "^Certificate:$" out
	expect_grep "^    Data:$" out
	want=$(openssl x509 -in c.pem -noout -text | grep "Not After :")
	expect_eq "$want" "$(grep "Not After :" out)"
	grep -Eq "^            Not After : [A-Z][a-z]{2} [ 1-3][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4} GMT$" out
	grep -q "BEGIN CERTIFICATE" out && fail "PEM printed with --text"
	run entry getcert --store MACHINE_SSL_CERT --alias __MACHINE_CERT --text
	expect_eq "$want" "$(grep "Not After :" out)"
	# The audit one-liner of the seed article.
	"$V" entry list --store TRUSTED_ROOTS --text |
	    grep -ie "Alias" -ie "Not After" >audit
	expect_eq 4 "$(wc -l <audit)"
'

test_expect 'entry delete asks first: N keeps the entry, y deletes it' '
	run entry create --store TRUSTED_ROOTS --alias victim --cert c.pem
	echo N | "$V" entry delete --store TRUSTED_ROOTS --alias victim >out
	expect_eq "Warning: This operation will delete entry [victim] from store [TRUSTED_ROOTS]
Do you wish to continue? Y/N [N] " "$(cat out)"
	"$V" entry list --store TRUSTED_ROOTS --aliases | grep -qx victim
	: | "$V" entry delete --store TRUSTED_ROOTS --alias victim >/dev/null
	"$V" entry list --store TRUSTED_ROOTS --aliases | grep -qx victim
	echo y | "$V" entry delete --store TRUSTED_ROOTS --alias victim >out
	expect_grep "^Deleted entry with alias \[victim\] in store \[TRUSTED_ROOTS\] successfully$" out
	"$V" entry list --store TRUSTED_ROOTS --aliases | grep -qx victim &&
	    fail "victim still listed"
	true
'

test_expect 'entry delete -y: the reference line, then a lone space' '
	run entry create --store TRUSTED_ROOTS --alias gone --cert c.pem
	run entry delete --store TRUSTED_ROOTS --alias gone -y
	expect_eq 0 "$rc"
	printf "Deleted entry with alias [gone] in store [TRUSTED_ROOTS] successfully\n " >want
	cmp want out
	# vmafdd deletes a missing alias "successfully" too.
	run entry delete --store TRUSTED_ROOTS --alias gone -y
	expect_eq 0 "$rc"
	cmp want out
'

test_expect 'store delete asks first, -y deletes with the reference line' '
	run store create --name doomed
	echo n | "$V" store delete --name doomed >out
	expect_eq "Warning: This operation will delete store [doomed]
Do you wish to continue? Y/N [N] " "$(cat out)"
	"$V" store list | grep -qx doomed
	run store delete --name doomed -y
	expect_eq 0 "$rc"
	expect_eq "Successfully deleted store [doomed]" "$(cat out)"
	"$V" store list | grep -qx doomed && fail "doomed still listed"
	true
'

test_expect 'entries list in insertion order, deletes keep the order' '
	run store create --name order
	for a in zeta alpha mid omega beta; do
		"$V" entry create --store order --alias $a --cert c.pem >/dev/null
	done
	"$V" entry delete --store order --alias alpha -y >/dev/null
	"$V" entry create --store order --alias alpha --cert c.pem >/dev/null
	run entry list --store order --aliases
	expect_eq "Number of entries in store :	5
zeta
mid
omega
beta
alpha" "$(cat out)"
	expect_eq "zeta mid omega beta alpha" "$("$V" entry list --store order |
	    sed -n "s/^Alias :\t//p" | tr "\n" " " | sed "s/ $//")"
'

test_expect 'hostile store names and aliases round-trip and never become paths' '
	# the longest store name vmafd takes (STORE_LABEL_MAX_LENGTH)
	long=$(head -c 128 /dev/zero | tr "\0" a)
	for n in "../../etc/passwd" "a/b" ".." ". ." "with space" \
	    $'"'"'new\nline'"'"' "$long" $'"'"'\xff\xfe'"'"' "%41" "-y"; do
		run store create --name "$n"
		expect_eq 0 "$rc"
		printf "Successfully created store [%s]\n" "$n" >want
		cmp want out
		run entry create --store "$n" --alias "$n" --cert c.pem
		expect_eq 0 "$rc"
		printf "Entry with alias [%s] in store [%s] was created successfully \n" "$n" "$n" >want
		cmp want out
		run entry list --store "$n" --aliases
		printf "Number of entries in store :\t1\n%s\n" "$n" >want
		cmp want out
		run entry getcert --store "$n" --alias "$n"
		{ cat c.pem; echo; } >want
		cmp want out
		"$V" store list >names
		grep -qxF -- "$(printf "%s" "$n" | head -n 1)" names
		run entry delete --store "$n" --alias "$n" -y
		expect_eq 0 "$rc"
		run entry list --store "$n" --aliases
		expect_eq "Number of entries in store :	0" "$(cat out)"
		run store delete --name "$n" -y
		expect_eq 0 "$rc"
	done
	expect_eq "" "$(find "$T" -name passwd)"
	# Only the binary (and its folders), the VECS folder and the lab state.
	find "$LAB" -mindepth 1 | sed "s|^$LAB/||" | grep -v \
	    -e "^usr\$" -e "^usr/lib\$" -e "^usr/lib/vmware-vmafd\$" \
	    -e "^usr/lib/vmware-vmafd/bin\$" \
	    -e "^usr/lib/vmware-vmafd/bin/vecs-cli\$" \
	    -e "^storage\$" -e "^storage/db\$" \
	    -e "^storage/db/vmware-vmafd\$" \
	    -e "^storage/db/vmware-vmafd/vecs\$" \
	    -e "^storage/db/vmware-vmafd/vecs/stores\$" \
	    -e "^storage/db/vmware-vmafd/vecs/\.lock\$" \
	    -e "^storage/db/vmware-vmafd/vecs/permissions\$" \
	    -e "^storage/db/vmware-vmafd/vecs/[0-9a-f]\{64\}\$" \
	    -e "^var\$" -e "^var/lib\$" -e "^var/lib/vmware-lab\$" \
	    -e "^var/lib/vmware-lab/admin\.password\$" \
	    -e "^var/lib/likewise\$" -e "^var/lib/likewise/registry\$" \
	    -e "^var/lib/vmware-lab/faults\$" >stray || true
	expect_eq "" "$(cat stray)"
	expect_eq "$("$V" store list | wc -l)" \
	    "$(ls "$VECS" | grep -c "^[0-9a-f]\{64\}$")"
'

test_expect 'the Nth write fails with 1359, nothing written, fault then gone' '
	echo 2 >"$FAULT"
	run entry create --store order --alias f1 --cert c.pem
	expect_eq 0 "$rc"
	expect_eq 1 "$(cat "$FAULT")"
	cp "$VECS/stores" stores.before
	run store create --name f2
	expect_eq 79 "$rc"
	expect_eq "vecs-cli failed. Error 1359: Operation failed with error ERROR_INTERNAL_ERROR (1359) " "$(cat err)"
	expect_eq "" "$(cat out)"
	test ! -e "$FAULT"
	cmp stores.before "$VECS/stores"
	run store create --name f2
	expect_eq 0 "$rc"
	echo 1 >"$FAULT"
	run entry delete --store order --alias f1 -y
	expect_eq 79 "$rc"
	"$V" entry list --store order --aliases | grep -qx f1
	echo 1 >"$FAULT"
	run entry list --store order
	expect_eq 0 "$rc"
	test -e "$FAULT"
	rm -f "$FAULT"
'

test_expect 'concurrent writers lose nothing' '
	run store create --name busy
	for i in $(seq 1 20); do
		"$V" entry create --store busy --alias "e$i" --cert c.pem \
		    >/dev/null 2>"busy.$i" &
	done
	wait
	cat busy.[0-9]* >busy.err
	expect_eq "" "$(cat busy.err)"
	run entry list --store busy --aliases
	expect_eq "Number of entries in store :	20" "$(head -n 1 out)"
	expect_eq "$(seq 1 20 | sed "s/^/e/" | sort)" "$(tail -n +2 out | sort)"
'

test_expect 'a damaged store file fails cleanly with 1359' '
	run store create --name broken
	"$V" entry create --store broken --alias x --cert c.pem >/dev/null
	f=$VECS/$(printf "%s" broken | sha256sum | cut -d" " -f1)
	test -f "$f"
	head -c 100 "$f" >short && cat short >"$f"
	run entry list --store broken
	expect_eq 79 "$rc"
	expect_grep "Error 1359" err
	printf "VECSLAB" >"$f"
	run entry getcert --store broken --alias x
	expect_eq 79 "$rc"
'

test_expect 'usage errors: 87 with the usage on stdout; help; force-refresh without vmdir' '
	run
	expect_eq 87 "$rc"
	expect_grep "^Usage: vecs-cli" out
	run entry list --store
	expect_eq 87 "$rc"
	run entry frobnicate
	expect_eq 87 "$rc"
	run store create --name x --bogus
	expect_eq 87 "$rc"
	run entry getcert --store machine
	expect_eq 87 "$rc"
	expect_grep "Error: The store name \[machine\] or the Alias \[\] is invalid" err
	run help
	expect_eq 0 "$rc"
	expect_grep "^Usage: vecs-cli" out
	# force-refresh is one root sync pass: with no directory to read
	# here, it fails as vmafdd does when vmdir cannot be reached
	run force-refresh
	expect_eq 79 "$rc"
	expect_grep "^Failed to trigger root cert refresh $" err
'

test_done
