#!/bin/bash
# The lab's service-control: what each scenario's start --all says, the TLS
# server behind rhttpproxy, status, stop, the stop/start counters, faults,
# checks made against the lab as it is now, vmon's profile going on after a
# failure and naming every failed service, startup types, --list-services,
# envoy, vmafdd's root-sync daemon, and bad usage.
. "$(dirname "$0")/../lib.sh"

CORE="lwsmd vmafdd vmdird vmcad vmware-sts-idmd vmware-stsd vmdnsd"
VMON67="vmware-vpostgres vmware-rhttpproxy vmware-lookupsvc vmware-vpxd-svcs vmware-vpxd vmware-eam vsphere-ui"
VMON8="vmware-vpostgres vmware-rhttpproxy vmware-envoy vmware-lookupsvc vmware-vpxd-svcs vmware-vpxd vmware-eam vsphere-ui vmware-hvc wcp"
MANUAL=vmware-imagebuilder
NOTE="Operation not cancellable. Please wait for it to finish..."
H=$T/healthy

# SC_WRAP: a command to run service-control under (faketime).
sc() { ${SC_WRAP:-} "$1/usr/bin/service-control" "${@:2}"; }
port_of() { sed -n "s/^rhttpproxy_port=//p" "$1/var/lib/vmware-lab/lab.conf"; }
counter() { sed -n "s/^$2=//p" "$1/var/lib/vmware-lab/counters"; }
sorted() { echo " $(printf '%s\n' "$@" | sort | xargs)"; }

# What a successful start --all prints: vmon's profile has no line per
# service (6.7 and 8.0 listings).
start_lines() {
	local s
	echo "$NOTE"
	for s in $CORE; do
		echo "Performing start operation on service $s..."
		echo "Successfully started service $s"
	done
	echo "Performing start operation on profile: ALL..."
	echo "Successfully started profile: ALL."
}

stop_lines() {
	local s
	echo "$NOTE"
	echo "Performing stop operation on profile: ALL..."
	echo "Successfully stopped profile: ALL."
	for s in $(echo $CORE | tr " " "\n" | tac); do
		echo "Performing stop operation on service $s..."
		echo "Successfully stopped service $s"
	done
}

# SHA-256 fingerprint of the certificate the TLS server on port $1 sends.
served_fp() {
	openssl s_client -connect "127.0.0.1:$1" </dev/null 2>/dev/null |
	    openssl x509 -noout -fingerprint -sha256
}

vecs_fp() {
	VCROTATE_LAB_ROOT=$1 "$BUILD/lab/vecs-cli" entry getcert \
	    --store MACHINE_SSL_CERT --alias __MACHINE_CERT |
	    openssl x509 -noout -fingerprint -sha256
}

# expect_start_fail LAB SERVICE DETAILS-GLOB: start --all of LAB stops at
# the core SERVICE, with exactly the two lines of a failure on stderr and
# the lines of every core service before it on stdout.
expect_start_fail() {
	local lab=$1 svc=$2 details=$3 rc=0 line
	sc "$lab" --start --all >out 2>err || rc=$?
	expect_eq 1 "$rc" || return 1
	expect_eq 2 "$(wc -l <err)" || return 1
	line=$(sed -n 1p err)
	case $line in
	"Error executing start on service $svc. Details: "$details) ;;
	*) fail "unexpected first line: $line" ;;
	esac
	expect_eq "Service-control failed. Error: Failed to start services in profile CORE. RC=4, stderr=Failed to start $svc services." \
	    "$(sed -n 2p err)" || return 1
	start_lines | sed "/^Performing start operation on service $svc\.\.\.\$/q" >exp
	diff exp out
}

# expect_profile_fail LAB "SHORT, SHORT": start --all of LAB starts every
# core service and goes through the whole profile, then names every vmon
# service that failed, in start order, in the one line on stderr.
expect_profile_fail() {
	local lab=$1 list=$2 rc=0
	sc "$lab" --start --all >out 2>err || rc=$?
	expect_eq 1 "$rc" || return 1
	expect_eq "Service-control failed. Error: Failed to start services in profile ALL. RC=4, stderr=Failed to start $list services." \
	    "$(cat err)" || return 1
	start_lines | sed \$d >exp
	diff exp out
}

# logged LAB SERVICE REGEX: the log says why SERVICE of the profile failed.
logged() {
	grep -q "start failed: service $2 (profile ALL): $3" \
	    "$1/var/log/vmware-lab/service-control.log" ||
		fail "no reason for $2 in the log: $3"
}

# running LAB SERVICE: --status lists SERVICE as running.
running() {
	"$1/usr/bin/service-control" --status "$2" | grep -qx "Running:" ||
		fail "$2 is not running"
}

# expect_scenario NAME [core SERVICE DETAILS-GLOB | profile LIST]
expect_scenario() {
	local lab=$T/$1 rc=0
	lab_create "$lab" --scenario "$1" >/dev/null
	case ${2:-} in
	"")
		sc "$lab" --start --all >out 2>err || rc=$?
		expect_eq 0 "$rc" || return 1
		start_lines >exp
		diff exp out || return 1
		[ ! -s err ] || fail "stderr: $(cat err)" ;;
	core)
		expect_start_fail "$lab" "$3" "$4" || return 1 ;;
	profile)
		expect_profile_fail "$lab" "$3" || return 1 ;;
	esac
}

test_expect 'healthy: every service starts' '
	expect_scenario healthy && labctl stop "$T/healthy" >/dev/null
'
test_expect 'sts-expired: vmware-stsd, signing certificate' '
	expect_scenario sts-expired core vmware-stsd "Signing certificate is not valid"
'
test_expect 'all-expired: vmware-stsd fails first' '
	expect_scenario all-expired core vmware-stsd "Signing certificate is not valid"
'
test_expect 'stale-sts-chain: vpxd-svcs trips on the stale chain, its dependents fail, the rest runs' '
	l=$T/stale-sts-chain &&
	expect_scenario stale-sts-chain profile "vpxd-svcs, vpxd, eam, vsphere-ui" &&
	logged "$l" vmware-vpxd-svcs "Signing certificate is not valid" &&
	logged "$l" vmware-vpxd "vmware-vpxd-svcs is not running" &&
	grep -q "TrustedCertChain-1: .*expired on" "$l/var/log/vmware-lab/service-control.log" &&
	for s in vmware-lookupsvc vmware-hvc wcp vmware-envoy; do running "$l" $s; done &&
	labctl stop "$l" >/dev/null
'
test_expect 'root-expired: nothing signed by the root works, STS first' '
	expect_scenario root-expired core vmware-stsd "Signing certificate is not valid"
'
test_expect 'solution-user-mismatch: vpxd-svcs names vpxd-extension' '
	expect_scenario solution-user-mismatch profile "vpxd-svcs, vpxd, eam, vsphere-ui" &&
	logged "$T/solution-user-mismatch" vmware-vpxd-svcs \
	    "Solution user vpxd-extension certificate differs between VECS and vmdir" &&
	labctl stop "$T/solution-user-mismatch" >/dev/null
'
test_expect 'machine-ssl-no-pnid: rhttpproxy serves it, vpxd-svcs names the PNID' '
	l=$T/machine-ssl-no-pnid &&
	expect_scenario machine-ssl-no-pnid profile "vpxd-svcs, vpxd, eam, vsphere-ui" &&
	logged "$l" vmware-vpxd-svcs ".*subject alternative name for the PNID vcsa1.example.com" &&
	running "$l" vmware-rhttpproxy &&
	expect_eq "$(vecs_fp "$l")" "$(served_fp "$(port_of "$l")")" &&
	labctl stop "$l" >/dev/null
'
test_expect 'trust-anchor-stale: lookupsvc names the stale endpoint, vpxd still starts' '
	l=$T/trust-anchor-stale &&
	expect_scenario trust-anchor-stale profile lookupsvc &&
	logged "$l" vmware-lookupsvc \
	    "Lookup Service endpoint cn=Endpoint.*,cn=ServiceRegistrations,cn=LookupService,cn=default-site,.* does not trust the Machine SSL certificate" &&
	running "$l" vmware-vpxd && running "$l" vsphere-ui &&
	labctl stop "$l" >/dev/null
'
test_expect 'crl-bloat: every service starts' '
	expect_scenario crl-bloat && labctl stop "$T/crl-bloat" >/dev/null
'
test_expect 'article-vcsa1 (6.7): every service starts, no envoy, hvc or wcp' '
	expect_scenario article-vcsa1 &&
	sc "$T/article-vcsa1" --status >st &&
	printf "Stopped:\n %s\nRunning:\n%s\n" $MANUAL "$(sorted $CORE $VMON67)" >exp &&
	diff exp st && labctl stop "$T/article-vcsa1" >/dev/null
'

test_expect '--list-services (and --list): every service of the version, with its display name' '
	sc "$H" --list-services >l8 && sc "$H" --list >l8b && diff l8 l8b &&
	expect_eq 18 "$(wc -l <l8)" &&
	grep -qx "vmware-vpxd (VMware vCenter Server)" l8 &&
	grep -qx "vmware-rhttpproxy (VMware HTTP Reverse Proxy)" l8 &&
	grep -qx "vmware-envoy (VMware Envoy Proxy)" l8 &&
	grep -qx "vmware-imagebuilder (VMware Image Builder Manager)" l8 &&
	sc "$T/article-vcsa1" --list-services >l67 &&
	expect_eq 15 "$(wc -l <l67)" &&
	! grep -q "^vmware-envoy \|^wcp \|^vmware-hvc " l67 &&
	rc=0 && sc "$H" --list --all >/dev/null 2>&1 || rc=$? && expect_eq 2 "$rc"
'

test_expect 'rhttpproxy serves the VECS Machine SSL certificate and its chain' '
	sc "$H" --start --all >/dev/null &&
	p=$(port_of "$H") &&
	expect_eq "$(vecs_fp "$H")" "$(served_fp "$p")" &&
	openssl s_client -showcerts -connect "127.0.0.1:$p" </dev/null 2>/dev/null >sc.out &&
	expect_eq 2 "$(grep -c "BEGIN CERTIFICATE" sc.out)" &&
	printf "GET / HTTP/1.0\r\n\r\n" |
	    openssl s_client -quiet -connect "127.0.0.1:$p" 2>/dev/null >http.out &&
	grep -q "^HTTP/1.0 200 OK" http.out
'

test_expect 'rhttpproxy keeps serving after aborted and bogus handshakes' '
	p=$(port_of "$H") &&
	exec 5<>"/dev/tcp/127.0.0.1/$p" && exec 5>&- &&
	# The server may reset a bogus client while it is still writing: what
	# counts is that it serves the next one.
	exec 5<>"/dev/tcp/127.0.0.1/$p" &&
	    { printf "\026\003\001\000\005hello" >&5 2>/dev/null || :; } && exec 5>&- &&
	exec 5<>"/dev/tcp/127.0.0.1/$p" &&
	    { printf "GET / HTTP/1.0\r\n\r\n" >&5 2>/dev/null || :; } &&
	    { cat <&5 >/dev/null 2>&1 || true; } && exec 5>&- &&
	expect_eq "$(vecs_fp "$H")" "$(served_fp "$p")" &&
	grep -q "handshake failed" "$H/var/log/vmware-lab/rhttpproxy.log"
'

test_expect 'status lists running services, start leaves them running, a manual one stopped' '
	sc "$H" --start --all >/dev/null &&
	sc "$H" --status >st &&
	printf "Stopped:\n %s\nRunning:\n%s\n" $MANUAL "$(sorted $CORE $VMON8)" >exp && diff exp st &&
	sc "$H" --status --all >st2 && diff exp st2 &&
	pid=$(cat "$H/var/lib/vmware-lab/rhttpproxy.pid") &&
	sc "$H" --start --all >out && start_lines >exp && diff exp out &&
	expect_eq "$pid" "$(cat "$H/var/lib/vmware-lab/rhttpproxy.pid")" &&
	printf "Running:\n vmware-vpxd\n" >exp && sc "$H" --status vmware-vpxd >st && diff exp st
'

test_expect 'a manual service starts by name only; stop --all stops it too' '
	sc "$H" --start $MANUAL >out &&
	printf "%s\n" "$NOTE" "Performing start operation on service $MANUAL..." \
	    "Successfully started service $MANUAL" >exp && diff exp out &&
	running "$H" $MANUAL &&
	sc "$H" --stop --all >/dev/null && sc "$H" --start --all >/dev/null &&
	sc "$H" --status $MANUAL >st && printf "Stopped:\n %s\n" $MANUAL >exp && diff exp st &&
	sc "$H" --start $MANUAL >/dev/null
'

test_expect 'stop --all stops everything, processes included' '
	running "$H" $MANUAL &&
	slapd=$(cat "$H/storage/db/vmware-vmdir/slapd.pid") &&
	proxy=$(cat "$H/var/lib/vmware-lab/rhttpproxy.pid") &&
	vmafd=$(cat "$H/var/lib/vmware-lab/vmafdd.pid") &&
	sc "$H" --stop --all >out && stop_lines >exp && diff exp out &&
	printf "Stopped:\n%s\n" "$(sorted $CORE $VMON8 $MANUAL)" >exp &&
	sc "$H" --status >st && diff exp st &&
	[ ! -e "$H/var/lib/vmware-lab/vmafdd.pid" ] &&
	for pid in $slapd $proxy $vmafd; do
		s=$(awk "{ print \$3 }" "/proc/$pid/stat" 2>/dev/null || true)
		case $s in ""|Z|X) ;; *) fail "process $pid still alive ($s)" ;; esac
	done &&
	[ ! -e "$H/var/lib/vmware-lab/rhttpproxy.pid" ] &&
	! openssl s_client -connect "127.0.0.1:$(port_of "$H")" </dev/null >/dev/null 2>&1 &&
	sc "$H" --stop --all >out && diff <(stop_lines) out
'

test_expect 'counters: stop_all, start_all, and cycles only for a start after a stop' '
	stops=$(counter "$H" stop_all) && starts=$(counter "$H" start_all) &&
	cycles=$(counter "$H" cycles) &&
	sc "$H" --start --all >/dev/null &&
	expect_eq $((starts + 1)) "$(counter "$H" start_all)" &&
	expect_eq $((cycles + 1)) "$(counter "$H" cycles)" &&
	sc "$H" --start --all >/dev/null &&
	expect_eq $((starts + 2)) "$(counter "$H" start_all)" &&
	expect_eq $((cycles + 1)) "$(counter "$H" cycles)" &&
	sc "$H" --stop --all >/dev/null && sc "$H" --start --all >/dev/null &&
	expect_eq $((stops + 1)) "$(counter "$H" stop_all)" &&
	expect_eq $((cycles + 2)) "$(counter "$H" cycles)"
'

test_expect 'a dead rhttpproxy is seen as stopped, its pid file cleaned, and restarted' '
	pid=$(cat "$H/var/lib/vmware-lab/rhttpproxy.pid") &&
	kill -KILL "$pid" &&
	for i in $(seq 50); do
		s=$(awk "{ print \$3 }" "/proc/$pid/stat" 2>/dev/null || true)
		case $s in ""|Z|X) break ;; esac; sleep 0.1
	done &&
	sc "$H" --status >st &&
	expect_eq " $MANUAL vmware-rhttpproxy" "$(sed -n "/^Stopped:/{n;p}" st)" &&
	[ ! -e "$H/var/lib/vmware-lab/rhttpproxy.pid" ] &&
	sc "$H" --start vmware-rhttpproxy >out &&
	printf "%s\n" "$NOTE" "Performing start operation on service vmware-rhttpproxy..." \
	    "Successfully started service vmware-rhttpproxy" >exp && diff exp out &&
	expect_eq "$(vecs_fp "$H")" "$(served_fp "$(port_of "$H")")"
'

test_expect 'fault service NAME: a vmon and a core service fail with injected fault' '
	labctl fault "$H" service vmware-vpxd >/dev/null &&
	labctl fault "$H" service vmafdd >/dev/null &&
	sc "$H" --stop --all >/dev/null &&
	expect_start_fail "$H" vmafdd "injected fault" &&
	rm "$H/var/lib/vmware-lab/faults/service.vmafdd" &&
	expect_profile_fail "$H" "vpxd, eam" &&
	logged "$H" vmware-vpxd "injected fault" &&
	logged "$H" vmware-eam "vmware-vpxd is not running" &&
	running "$H" vsphere-ui && running "$H" wcp &&
	rc=0 && sc "$H" --start vmware-vpxd >out 2>err || rc=$? &&
	expect_eq 1 "$rc" &&
	expect_eq "Error executing start on service vmware-vpxd. Details: injected fault" "$(sed -n 1p err)" &&
	labctl fault "$H" clear >/dev/null &&
	sc "$H" --start --all >/dev/null
'

test_expect 'fault slapd-down: vmdird is stopped and cannot start; clear brings it back' '
	labctl fault "$H" slapd-down >/dev/null &&
	sc "$H" --status >st &&
	expect_eq " vmdird $MANUAL" "$(sed -n "/^Stopped:/{n;p}" st)" &&
	rc=0 && sc "$H" --start vmdird >out 2>err || rc=$? &&
	expect_eq 1 "$rc" &&
	expect_eq "Error executing start on service vmdird. Details: Directory server is unavailable" "$(sed -n 1p err)" &&
	expect_eq "Service-control failed. Error: Failed to start services in profile CORE. RC=4, stderr=Failed to start vmdird services." "$(sed -n 2p err)" &&
	sc "$H" --stop --all >/dev/null &&
	expect_start_fail "$H" vmdird "Directory server is unavailable" &&
	labctl fault "$H" clear >/dev/null &&
	sc "$H" --start --all >/dev/null
'

test_expect 'a service that needs a stopped one does not start' '
	sc "$H" --stop vmware-vpxd-svcs >/dev/null &&
	sc "$H" --stop vmware-vpxd >/dev/null &&
	rc=0 && sc "$H" --start vmware-vpxd >out 2>err || rc=$? &&
	expect_eq 1 "$rc" &&
	expect_eq "Error executing start on service vmware-vpxd. Details: vmware-vpxd-svcs is not running" "$(sed -n 1p err)" &&
	sc "$H" --start --all >/dev/null
'

test_expect 'starts check the lab as it is now: a replaced Machine SSL certificate' '
	sc "$H" --stop --all >/dev/null &&
	sc "$H" --start vmafdd >/dev/null &&
	export VCROTATE_LAB_ROOT=$H && v=$BUILD/lab/vecs-cli &&
	$v entry getcert --store BACKUP_STORE --alias bkp___MACHINE_CERT --output new.pem >/dev/null &&
	$v entry getkey --store BACKUP_STORE --alias bkp___MACHINE_CERT --output new.key >/dev/null &&
	$v entry delete --store MACHINE_SSL_CERT --alias __MACHINE_CERT -y >/dev/null &&
	$v entry create --store MACHINE_SSL_CERT --alias __MACHINE_CERT --cert new.pem --key new.key >/dev/null &&
	unset VCROTATE_LAB_ROOT &&
	expect_profile_fail "$H" lookupsvc &&
	logged "$H" vmware-lookupsvc "Lookup Service endpoint cn=Endpoint.*does not trust the Machine SSL certificate" &&
	expect_eq "$(openssl x509 -in new.pem -noout -fingerprint -sha256)" \
	    "$(served_fp "$(port_of "$H")")"
'

test_expect 'a year on, Machine SSL has expired: rhttpproxy serves it, every service verifying it fails' '
	command -v faketime >/dev/null || fail "faketime is missing (make deps)" &&
	l=$T/later && lab_create "$l" --scenario healthy >/dev/null &&
	SC_WRAP="faketime -f +400d" expect_profile_fail "$l" \
	    "lookupsvc, vpxd-svcs, vpxd, eam, vsphere-ui, hvc, wcp" &&
	logged "$l" vmware-vpxd-svcs "Machine SSL certificate expired on " &&
	running "$l" vmware-rhttpproxy && running "$l" vmware-envoy &&
	expect_eq "$(vecs_fp "$l")" "$(served_fp "$(port_of "$l")")"
'

test_expect 'envoy needs rhttpproxy: both named when rhttpproxy cannot start' '
	l=$T/later && labctl stop "$l" >/dev/null &&
	labctl fault "$l" service vmware-rhttpproxy >/dev/null &&
	expect_profile_fail "$l" "rhttpproxy, envoy" &&
	logged "$l" vmware-envoy "vmware-rhttpproxy is not running" &&
	running "$l" vmware-vpxd &&
	labctl stop "$l" >/dev/null
'

test_expect 'vmafdd runs the root sync while it runs: a pruned root comes back, then no daemon is left' '
	l=$T/later && labctl fault "$l" clear >/dev/null &&
	labctl root-sync "$l" 1 >/dev/null && labctl start "$l" >/dev/null &&
	pid=$(cat "$l/var/lib/vmware-lab/vmafdd.pid") &&
	expect_eq vmafdd "$(cat /proc/$pid/comm)" &&
	v=$l/usr/lib/vmware-vmafd/bin/vecs-cli &&
	a=$($v entry list --store TRUSTED_ROOTS --aliases | sed -n 2p) &&
	for i in $(seq 30); do grep -q "TRUSTED_ROOTS $a" "$l/var/lib/vmware-lab/vecs-autorefresh" 2>/dev/null && break; sleep 0.2; done &&
	$v entry delete --store TRUSTED_ROOTS --alias "$a" -y >/dev/null &&
	for i in $(seq 30); do $v entry list --store TRUSTED_ROOTS --aliases | grep -qx "$a" && break; sleep 0.2; done &&
	$v entry list --store TRUSTED_ROOTS --aliases | grep -qx "$a" &&
	sc "$l" --stop vmafdd >/dev/null &&
	[ ! -e "$l/var/lib/vmware-lab/vmafdd.pid" ] &&
	for i in $(seq 50); do [ -d /proc/$pid ] && [ "$(awk "{print \$3}" /proc/$pid/stat)" != Z ] || break; sleep 0.1; done &&
	s=$(awk "{ print \$3 }" "/proc/$pid/stat" 2>/dev/null || true) &&
	case $s in ""|Z|X) ;; *) fail "vmafdd $pid still alive ($s)" ;; esac
'

test_expect 'usage errors exit 2' '
	for args in "" "--start" "--stop" "--start --all extra" "--bogus" \
	    "--start --stop --all" "--status -x"; do
		rc=0; sc "$H" $args >/dev/null 2>err || rc=$?
		expect_eq 2 "$rc"
		grep -q "^usage: service-control" err
	done &&
	rc=0 && sc "$H" --start nosuch >/dev/null 2>err || rc=$? &&
	expect_eq 2 "$rc" && grep -q "unknown service nosuch" err &&
	rc=0 && sc "$T/article-vcsa1" --start wcp >/dev/null 2>err || rc=$? &&
	expect_eq 2 "$rc"
'

test_done
