#!/bin/bash
# The lab's service-control: what each scenario's start --all says, the TLS
# server behind rhttpproxy, status, stop, the stop/start counters, faults,
# checks made against the lab as it is now, and bad usage.
. "$(dirname "$0")/../lib.sh"

CORE="lwsmd vmafdd vmdird vmcad vmware-sts-idmd vmware-stsd vmdnsd"
VMON67="vmware-rhttpproxy vmware-lookupsvc vmware-vpxd-svcs vmware-vpxd vmware-eam vsphere-ui"
VMON8="$VMON67 vmware-hvc wcp"
NOTE="Operation not cancellable. Please wait for it to finish..."
H=$T/healthy

# SC_WRAP: a command to run service-control under (faketime).
sc() { ${SC_WRAP:-} "$1/usr/bin/service-control" "${@:2}"; }
port_of() { sed -n "s/^rhttpproxy_port=//p" "$1/var/lib/vmware-lab/lab.conf"; }
counter() { sed -n "s/^$2=//p" "$1/var/lib/vmware-lab/counters"; }
sorted() { echo " $(printf '%s\n' "$@" | sort | xargs)"; }

# What a successful start --all of a lab with these vmon services prints.
start_lines() {
	local s
	echo "$NOTE"
	for s in $CORE; do
		echo "Performing start operation on service $s..."
		echo "Successfully started service $s"
	done
	echo "Performing start operation on profile: ALL..."
	for s in $1; do echo "Successfully started service $s"; done
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

# expect_start_fail LAB VMON SERVICE SHORT PROFILE DETAILS-GLOB: start --all
# of LAB stops at SERVICE, with exactly the two lines of a failure on stderr
# and the lines of every service before it on stdout.
expect_start_fail() {
	local lab=$1 vmon=$2 svc=$3 short=$4 profile=$5 details=$6 rc=0 line
	sc "$lab" --start --all >out 2>err || rc=$?
	expect_eq 1 "$rc" || return 1
	expect_eq 2 "$(wc -l <err)" || return 1
	line=$(sed -n 1p err)
	case $line in
	"Error executing start on service $svc. Details: "$details) ;;
	*) fail "unexpected first line: $line" ;;
	esac
	expect_eq "Service-control failed. Error: Failed to start services in profile $profile. RC=4, stderr=Failed to start $short services." \
	    "$(sed -n 2p err)" || return 1
	if [ "$profile" = CORE ]; then
		start_lines "$vmon" | sed "/^Performing start operation on service $svc\.\.\.\$/q" >exp
	else
		start_lines "$vmon" | sed "/^Successfully started service $svc\$/,\$d" >exp
	fi
	diff exp out
}

# expect_scenario NAME [SERVICE SHORT PROFILE DETAILS-GLOB]
expect_scenario() {
	local lab=$T/$1 vmon=$VMON8 rc=0
	[ "$1" = article-vcsa1 ] && vmon=$VMON67
	lab_create "$lab" --scenario "$1" >/dev/null
	if [ $# -eq 1 ]; then
		sc "$lab" --start --all >out 2>err || rc=$?
		expect_eq 0 "$rc" || return 1
		start_lines "$vmon" >exp
		diff exp out || return 1
		[ ! -s err ] || fail "stderr: $(cat err)"
	else
		expect_start_fail "$lab" "$vmon" "$2" "$3" "$4" "$5" || return 1
	fi
	labctl stop "$lab" >/dev/null
}

test_expect 'healthy: every service starts' '
	expect_scenario healthy
'
test_expect 'sts-expired: vmware-stsd, signing certificate' '
	expect_scenario sts-expired vmware-stsd vmware-stsd CORE "Signing certificate is not valid"
'
test_expect 'all-expired: vmware-stsd fails first' '
	expect_scenario all-expired vmware-stsd vmware-stsd CORE "Signing certificate is not valid"
'
test_expect 'stale-sts-chain: STS starts, vpxd-svcs trips on the stale chain' '
	expect_scenario stale-sts-chain vmware-vpxd-svcs vpxd-svcs ALL "Signing certificate is not valid" &&
	grep -q "TrustedCertChain-1: .*expired on" "$T/stale-sts-chain/var/log/vmware-lab/service-control.log"
'
test_expect 'root-expired: nothing signed by the root works, STS first' '
	expect_scenario root-expired vmware-stsd vmware-stsd CORE "Signing certificate is not valid"
'
test_expect 'solution-user-mismatch: vpxd-svcs names vpxd-extension' '
	expect_scenario solution-user-mismatch vmware-vpxd-svcs vpxd-svcs ALL \
	    "Solution user vpxd-extension certificate differs between VECS and vmdir*"
'
test_expect 'machine-ssl-no-pnid: rhttpproxy names the PNID' '
	expect_scenario machine-ssl-no-pnid vmware-rhttpproxy rhttpproxy ALL \
	    "*subject alternative name for the PNID vcsa1.example.com"
'
test_expect 'trust-anchor-stale: lookupsvc names the stale endpoint' '
	expect_scenario trust-anchor-stale vmware-lookupsvc lookupsvc ALL \
	    "Lookup Service endpoint cn=Endpoint*,cn=ServiceRegistrations,cn=LookupService,cn=default-site,* does not trust the Machine SSL certificate*"
'
test_expect 'crl-bloat: every service starts' '
	expect_scenario crl-bloat
'
test_expect 'article-vcsa1 (6.7): every service starts, no hvc or wcp' '
	expect_scenario article-vcsa1
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

test_expect 'status lists running services, start leaves them running' '
	sc "$H" --status >st &&
	printf "Running:\n%s\n" "$(sorted $CORE $VMON8)" >exp && diff exp st &&
	sc "$H" --status --all >st2 && diff exp st2 &&
	pid=$(cat "$H/var/lib/vmware-lab/rhttpproxy.pid") &&
	sc "$H" --start --all >out && start_lines "$VMON8" >exp && diff exp out &&
	expect_eq "$pid" "$(cat "$H/var/lib/vmware-lab/rhttpproxy.pid")" &&
	printf "Running:\n vmware-vpxd\n" >exp && sc "$H" --status vmware-vpxd >st && diff exp st
'

test_expect 'stop --all stops everything, processes included' '
	slapd=$(cat "$H/storage/db/vmware-vmdir/slapd.pid") &&
	proxy=$(cat "$H/var/lib/vmware-lab/rhttpproxy.pid") &&
	sc "$H" --stop --all >out && stop_lines >exp && diff exp out &&
	printf "Stopped:\n%s\n" "$(sorted $CORE $VMON8)" >exp &&
	sc "$H" --status >st && diff exp st &&
	for pid in $slapd $proxy; do
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
	expect_eq " vmware-rhttpproxy" "$(sed -n "/^Stopped:/{n;p}" st)" &&
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
	expect_start_fail "$H" "$VMON8" vmafdd vmafdd CORE "injected fault" &&
	rm "$H/var/lib/vmware-lab/faults/service.vmafdd" &&
	expect_start_fail "$H" "$VMON8" vmware-vpxd vpxd ALL "injected fault" &&
	grep -q "start failed: service vmware-vpxd (profile ALL): injected fault" \
	    "$H/var/log/vmware-lab/service-control.log" &&
	rc=0 && sc "$H" --start vmware-vpxd >out 2>err || rc=$? &&
	expect_eq 1 "$rc" &&
	expect_eq "Error executing start on service vmware-vpxd. Details: injected fault" "$(sed -n 1p err)" &&
	labctl fault "$H" clear >/dev/null &&
	sc "$H" --start --all >/dev/null
'

test_expect 'fault slapd-down: vmdird is stopped and cannot start; clear brings it back' '
	labctl fault "$H" slapd-down >/dev/null &&
	sc "$H" --status >st &&
	expect_eq " vmdird" "$(sed -n "/^Stopped:/{n;p}" st)" &&
	rc=0 && sc "$H" --start vmdird >out 2>err || rc=$? &&
	expect_eq 1 "$rc" &&
	expect_eq "Error executing start on service vmdird. Details: Directory server is unavailable" "$(sed -n 1p err)" &&
	expect_eq "Service-control failed. Error: Failed to start services in profile CORE. RC=4, stderr=Failed to start vmdird services." "$(sed -n 2p err)" &&
	sc "$H" --stop --all >/dev/null &&
	expect_start_fail "$H" "$VMON8" vmdird vmdird CORE "Directory server is unavailable" &&
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
	expect_start_fail "$H" "$VMON8" vmware-lookupsvc lookupsvc ALL \
	    "Lookup Service endpoint cn=Endpoint*does not trust the Machine SSL certificate*" &&
	expect_eq "$(openssl x509 -in new.pem -noout -fingerprint -sha256)" \
	    "$(served_fp "$(port_of "$H")")"
'

test_expect 'starts check the time of the start: a year on, Machine SSL has expired' '
	command -v faketime >/dev/null || fail "faketime is missing (make deps)" &&
	lab_create "$T/later" --scenario healthy >/dev/null &&
	SC_WRAP="faketime -f +400d" expect_start_fail "$T/later" "$VMON8" \
	    vmware-rhttpproxy rhttpproxy ALL "Machine SSL certificate expired on *"
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
