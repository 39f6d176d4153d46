#!/bin/sh
# demo.sh - what `make demo` shows: the production-down night of the seed
# article, on a lab. All certificates but the VMCA root have expired; the
# admin's audit one-liner shows the dates and vCenter's services do not start.
set -u
cd "$(dirname "$0")/.." || exit 1
lab=${DEMO_LAB:-/tmp/vcrotate-demo}
export LDAPNOINIT=1

[ -d "$lab" ] && tests/lab/labctl destroy "$lab" >/dev/null 2>&1
rm -rf "$lab" "$lab.plan"
echo "== Creating an imitation appliance in $lab (scenario all-expired)"
tests/lab/labctl create "$lab" --scenario all-expired || exit 1
tests/lab/labctl start "$lab" >/dev/null 2>&1 || exit 1

vecs=$lab/usr/lib/vmware-vmafd/bin/vecs-cli
echo
echo "== The audit one-liner from the field report"
echo '# for i in $(vecs-cli store list); do echo STORE $i; vecs-cli entry list --store $i --text | egrep "Alias|Not After"; done'
for i in $("$vecs" store list); do
	echo "STORE $i"
	"$vecs" entry list --store "$i" --text | grep -E "Alias|Not After"
done
echo
echo "== Today is $(date -u '+%b %e %Y'). Restarting vCenter's services:"
echo "# service-control --stop --all && service-control --start --all"
"$lab/usr/bin/service-control" --stop --all >/dev/null 2>&1
"$lab/usr/bin/service-control" --start --all
echo "(service-control exit status $?)"
echo
echo "== What vcrotate sees"
echo "# vcrotate check"
build/vcrotate --root "$lab" check
echo "(vcrotate check exit status $?: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)"
echo
echo "== The plan that fixes it, in one transaction (nothing is changed yet)"
echo "# vcrotate plan -o $lab.plan"
build/vcrotate --root "$lab" plan -o "$lab.plan"
echo
echo "The lab stays up for you to look at: $lab"
echo "Remove it with: tests/lab/labctl destroy $lab; rm -f $lab.plan"
