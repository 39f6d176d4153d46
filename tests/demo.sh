#!/bin/sh
# demo.sh - what `make demo` shows: the production-down night of the seed
# article, on a lab. STS, solution users and Machine SSL have all expired;
# vCenter's services do not start. vcrotate checks, plans, and repairs it in
# one transaction with one restart. Then the same night with a service that
# will not start for another reason: by default the new certificates are
# kept (nothing that ran before stopped: rolling back would restore the
# outage), and with --rollback-on any-failure the transaction rolls back.
set -u
cd "$(dirname "$0")/.." || exit 1
lab=${DEMO_LAB:-/tmp/vcrotate-demo}
lab2=$lab-rollback
lab3=$lab-kept
export LDAPNOINIT=1
vcr() { r=$1; shift; build/vcrotate --root "$r" "$@"; }
banner() { printf '\n==== %s\n' "$*"; }

for l in "$lab" "$lab2" "$lab3"; do
	[ -d "$l" ] && tests/lab/labctl destroy "$l" >/dev/null 2>&1
	rm -rf "$l" "$l.plan"
done
banner "An imitation appliance in $lab, all certificates expired but the VMCA root"
tests/lab/labctl create "$lab" --scenario all-expired || exit 1
tests/lab/labctl start "$lab" >/dev/null 2>&1 || exit 1

vecs=$lab/usr/lib/vmware-vmafd/bin/vecs-cli
banner "The audit one-liner from the field report"
echo '# for i in $(vecs-cli store list); do echo STORE $i; vecs-cli entry list --store $i --text | egrep "Alias|Not After"; done'
for i in $("$vecs" store list); do
	echo "STORE $i"
	"$vecs" entry list --store "$i" --text | grep -E "Alias|Not After"
done

banner "Today is $(date -u '+%b %e %Y'). vCenter's services:"
echo "# service-control --start --all"
"$lab/usr/bin/service-control" --start --all
echo "(exit status $?)"

banner "What vcrotate sees: vcrotate check"
vcr "$lab" check
echo "(exit status $?: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)"

banner "The plan, for review: vcrotate plan -o $lab.plan"
vcr "$lab" plan -o "$lab.plan"

banner "One transaction, one restart: vcrotate apply $lab.plan"
vcr "$lab" apply "$lab.plan" --yes --operator demo --ticket CHG0001 --reason "production down"
echo "(exit status $?)"
echo "# the lab counted $(sed -n 's/^cycles=//p' "$lab/var/lib/vmware-lab/counters") stop/start cycle(s)"
"$lab/usr/bin/service-control" --status
banner "vcrotate check, after"
vcr "$lab" check | tail -3
banner "vcrotate history"
vcr "$lab" history

banner "The same night, but vpxd will not start whatever its certificates (a lab fault)"
tests/lab/labctl create "$lab3" --scenario all-expired >/dev/null || exit 1
tests/lab/labctl start "$lab3" >/dev/null 2>&1
vcr "$lab3" plan -o "$lab3.plan" >/dev/null
tests/lab/labctl fault "$lab3" service vmware-vpxd
vcr "$lab3" apply "$lab3.plan" --yes --operator demo --ticket CHG0002
echo "(exit status $?: 2 = done and kept: every service that ran before runs, the"
echo " new certificates are served; vpxd and eam were down before and still are)"
vcr "$lab3" history

banner "The same, with --rollback-on any-failure: rolled back into the outage"
tests/lab/labctl create "$lab2" --scenario all-expired >/dev/null || exit 1
tests/lab/labctl start "$lab2" >/dev/null 2>&1
vcr "$lab2" plan -o "$lab2.plan" >/dev/null
tests/lab/labctl fault "$lab2" service vmware-vpxd
vcr "$lab2" apply "$lab2.plan" --yes --operator demo --ticket CHG0002 --rollback-on any-failure
echo "(exit status $?: 1 = failed and rolled back, the appliance is exactly as before)"
vcr "$lab2" history

banner "Again, and the SSH session dies half-way (kill -9 of vcrotate)"
tests/lab/labctl fault "$lab2" clear >/dev/null
vcr "$lab2" plan -o "$lab2.plan" >/dev/null
echo "# vcrotate apply $lab2.plan &   ... then kill -9 once the first step is done"
build/vcrotate --root "$lab2" apply "$lab2.plan" --yes --operator demo --ticket CHG0003 >/dev/null 2>&1 &
pid=$!
for i in $(seq 200); do
	grep -qs "^step" "$lab2/var/lib/vcrotate/journal" && break
	sleep 0.05
done
kill -KILL "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
echo "# killed; the journal it left: $lab2/var/lib/vcrotate/journal"
echo "# vcrotate apply $lab2.plan   (anything that writes is refused until recover)"
vcr "$lab2" apply "$lab2.plan" --yes
echo "(exit status $?: 6 = an interrupted transaction waits for vcrotate recover)"
banner "vcrotate recover: back to the before state (vcrotate recover --forward would finish it)"
vcr "$lab2" recover
echo "(exit status $?)"
vcr "$lab2" recover
vcr "$lab2" history | head -3

echo
echo "The labs stay up for you to look at: $lab, $lab2 and $lab3"
echo "Remove them with: for l in $lab $lab2 $lab3; do tests/lab/labctl destroy \$l; done"
