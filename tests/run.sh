#!/bin/sh
# run.sh - runs every test (unit tests, then end-to-end scripts) and ends with
# the line "N passed, N failed". Exit status 0 only when nothing failed.
# Run one script: sh tests/run.sh tests/e2e/t0100-vecs-cli.sh
set -u
cd "$(dirname "$0")/.." || exit 1
log=$(mktemp)
trap 'rm -f "$log"' EXIT

if [ $# -gt 0 ]; then scripts="$*"; else scripts=$(ls tests/e2e/t[0-9]*.sh); fi
status=0
if [ $# -eq 0 ]; then
	for u in build/tests/test_*; do
		[ -x "$u" ] || continue
		echo "*** $u"
		# cmocka prints TAP ("ok N - name") when asked to.
		CMOCKA_MESSAGE_OUTPUT=TAP "$u" 2>&1 | tee -a "$log" || status=1
	done
fi
for t in $scripts; do
	echo "*** $t"
	bash "$t" 2>&1 | tee -a "$log" || status=1
done
passed=$(grep -c '^ok ' "$log")
failed=$(grep -c '^not ok ' "$log")
[ "$failed" -eq 0 ] || status=1
echo "$passed passed, $failed failed"
exit $status
