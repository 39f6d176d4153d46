#!/bin/bash
# The seed article's audit one-liner, run against the article-vcsa1 lab,
# prints the same STORE / Alias / Not After lines as the article shows.
# (The article went through HTML, which collapsed runs of blanks: compare with
# blanks squeezed; the lab prints vecs-cli's tabs and OpenSSL's "Apr  6".)
. "$(dirname "$0")/../lib.sh"

lab=$T/vcsa1
test_expect 'create and start the article-vcsa1 lab' '
	lab_create "$lab" --scenario article-vcsa1 --pnid vcsa1.example.com &&
	labctl start "$lab"
'

test_expect 'the audit one-liner prints the article listing' '
	for i in $($lab/usr/lib/vmware-vmafd/bin/vecs-cli store list); do
		echo STORE $i
		$lab/usr/lib/vmware-vmafd/bin/vecs-cli entry list --store $i --text |
		    egrep "Alias|Not After"
	done >raw 2>/dev/null || :	# egrep fails on stores with no match

	tr -s " \t" "  " <raw | sed "s/^ //; s/ $//" >got &&
	diff -u "$TOP/tests/fixtures/article-vcsa1.txt" got
'

test_expect 'vecs-cli prints the real separators (tab after the colon)' '
	$lab/usr/lib/vmware-vmafd/bin/vecs-cli entry list --store MACHINE_SSL_CERT --text >out &&
	grep -q "^Alias :	__MACHINE_CERT$" out &&
	grep -q "Not After : Apr  6 11:57:19 2029 GMT" out
'

test_expect 'the lab has the article expired trusted root, as an expired certificate' '
	$lab/usr/lib/vmware-vmafd/bin/vecs-cli entry getcert --store TRUSTED_ROOTS \
	    --alias cb5a495d34f3f2f75d357b47aac3799346665258 --output old.pem &&
	! openssl x509 -in old.pem -noout -checkend 0 >/dev/null
'

test_done
