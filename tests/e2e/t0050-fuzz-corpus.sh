#!/bin/bash
# t0050-fuzz-corpus.sh - the seed corpus of every fuzz harness (tests/fuzz/,
# docs/security.md "Fuzzing") replayed as an ordinary test: each input of
# tests/fuzz/corpus/NAME goes once through the harness, built with the normal
# compiler and without libFuzzer ($BUILD/tests/fuzz_replay_NAME). A crash, a
# sanitizer report (sanitized builds) or a broken invariant of the harness
# (abort) fails the test. Also: a PEM block marked encrypted, in a store or
# as a key, never makes vcrotate ask for a pass phrase on the terminal.
. "$(dirname "$0")/../lib.sh"

CORPUS=$TOP/tests/fuzz/corpus

# replay NAME: every input of the corpus ran, and nothing failed.
replay() {
	local n=$1 r=$BUILD/tests/fuzz_replay_$1 want
	[ -x "$r" ] || fail "$r is not built (make tests)"
	want=$(find "$CORPUS/$n" -maxdepth 1 -type f ! -name '.*' | wc -l)
	[ "$want" -gt 0 ] || fail "empty corpus $CORPUS/$n"
	if ! "$r" "$CORPUS/$n" >"$T/$n.tap" 2>&1; then
		tail -n 20 "$T/$n.tap"
		return 1
	fi
	expect_eq "1..$want" "$(grep '^1\.\.' "$T/$n.tap")" || return 1
	! grep -q '^not ok' "$T/$n.tap"
}

test_expect 'vecs-cli entry list output (vecs_parse_list)' 'replay vecs_list'
test_expect 'vecs-cli store list output (vecs_parse_stores)' 'replay vecs_stores'
test_expect 'lwregshell list_values output (lwreg_parse_line)' 'replay lwreg'
test_expect 'vcrotate.conf and bind DNs (config_load, config_login)' 'replay config'
test_expect 'PEM certificates and CRLs (cert_parse_pem_chain)' 'replay cert_pem'
test_expect 'DER certificates from vmdir (cert_parse_der)' 'replay cert_der'
test_expect 'CRLs, their DER grammar (cert_is_pem_crl against d2i_X509_CRL)' 'replay crl_der'
test_expect 'private keys, PEM and DER (cert_parse_key)' 'replay cert_key'
test_expect 'plan files (plan_load, plan_render)' 'replay plan'
test_expect 'snapshot manifests and trees (bk_repo_read)' 'replay backup'
test_expect 'alias and DN escaping round trip (bk_name_escape)' 'replay names'

# OpenSSL asks on the terminal for the pass phrase of an encrypted block
# unless given a callback; script(1) gives the replay a terminal.
test_expect 'an encrypted PEM block makes no pass phrase prompt' '
	command -v script >/dev/null || fail "script(1) is missing (Debian: bsdutils)"
	for f in cert_key/encrypted-pkcs8.pem cert_key/encrypted-traditional.pem \
	    cert_pem/encrypted-cert.pem; do
		h=${f%%/*}
		rc=0
		timeout 30 script -qec "$BUILD/tests/fuzz_replay_$h $CORPUS/$f" \
		    /dev/null </dev/null >out 2>&1 || rc=$?
		if [ $rc -ne 0 ] || grep -qi "pass phrase" out; then
			echo "$f (exit $rc):"
			cat out
			exit 1
		fi
	done
'

test_done
