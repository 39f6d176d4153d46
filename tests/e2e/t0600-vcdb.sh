#!/bin/bash
# The lab's VCDB: a real PostgreSQL server run as the service
# vmware-vpostgres, psql at the appliance's path, vpx_ext's rows per
# version, thumbprints as field scripts compute them, eam's login by
# certificate (logged, never a failed start: KB 434349), the
# extension-thumbprint-stale scenario, and labs without VCDB.
. "$(dirname "$0")/../lib.sh"

H=$T/healthy
PSQL=opt/vmware/vpostgres/current/bin/psql
VECS=usr/lib/vmware-vmafd/bin/vecs-cli
sc() { "$1/usr/bin/service-control" "${@:2}"; }
# The row of vpx_ext for an extension, as vCert reads it.
row() { "$1/$PSQL" -d VCDB -U postgres -t -A -c "SELECT thumbprint FROM vpx_ext WHERE ext_id = '$2'"; }
# A certificate's SHA-1 thumbprint as vCert computes it (openssl, not ours).
thumb() {
	"$1/$VECS" entry getcert --store "$2" --alias "$3" |
	    openssl x509 -noout -fingerprint -sha1 | cut -d= -f2
}
# The lab's PostgreSQL processes (pgrep leaves itself out).
postgres_of() { pgrep -f -- "-D $1/storage/db/vpostgres" | wc -l; }

test_expect 'vmware-vpostgres is a service: start --all starts a real PostgreSQL, psql reads VCDB' '
	lab_create "$H" --scenario healthy >/dev/null && labctl start "$H" >/dev/null 2>&1 &&
	sc "$H" --status | sed -n "/^Running:/,\$p" | grep -qw vmware-vpostgres &&
	sc "$H" --list-services | grep -qx "vmware-vpostgres (VMware Postgres)" &&
	[ -S "$H/var/run/vpostgres/.s.PGSQL.5432" ] &&
	"$H/$PSQL" -d VCDB -U postgres -t -A -c "SELECT version()" | grep -q "^PostgreSQL " &&
	[ "$(postgres_of "$H")" -ge 1 ]
'

test_expect 'vpx_ext holds what vCert compares: vpxd-extension for the extensions, Machine SSL for vsan.health' '
	ext=$(thumb "$H" vpxd-extension vpxd-extension) && mssl=$(thumb "$H" MACHINE_SSL_CERT __MACHINE_CERT) &&
	for e in com.vmware.vim.eam com.vmware.imagebuilder com.vmware.vcIntegrity com.vmware.vlcm.client; do
		expect_eq "$ext" "$(row "$H" $e)" || return 1
	done &&
	expect_eq "$mssl" "$(row "$H" com.vmware.vsan.health)" &&
	# 8.0 from build 22385739 has no rbd
	expect_eq "" "$(row "$H" com.vmware.rbd)" &&
	expect_eq 5 "$("$H/$PSQL" -d VCDB -U postgres -t -A -c "SELECT count(*) FROM vpx_ext")"
'

test_expect '6.7 and 7.0 have rbd and no vlcm.client' '
	for v in 6.7 7.0; do
		l=$T/v$v && lab_create "$l" --scenario healthy --version $v >/dev/null && labctl start "$l" >/dev/null 2>&1 &&
		expect_eq "$(thumb "$l" vpxd-extension vpxd-extension)" "$(row "$l" com.vmware.rbd)" &&
		expect_eq "" "$(row "$l" com.vmware.vlcm.client)" &&
		labctl destroy "$l" >/dev/null || return 1
	done
'

test_expect 'eam logs in with the vpxd-extension certificate: logged, and it runs' '
	grep -q "\[Retry:Login:com.vmware.vim.eam:lab\] Logged in to vCenter as extension" "$H/var/log/vmware/eam/eam.log" &&
	! grep -q NotAuthenticated "$H/var/log/vmware/eam/eam.log"
'

test_expect 'extension-thumbprint-stale: rows hold the certificates in BACKUP_STORE; eam runs and cannot log in (KB 434349)' '
	l=$T/stale && lab_create "$l" --scenario extension-thumbprint-stale >/dev/null && labctl start "$l" >/dev/null 2>&1 &&
	old=$("$l/$VECS" entry list --store BACKUP_STORE --text | grep -c "Alias") && [ "$old" -gt 0 ] &&
	expect_eq "$(thumb "$l" BACKUP_STORE bkp_vpxd-extension)" "$(row "$l" com.vmware.vim.eam)" &&
	expect_eq "$(thumb "$l" BACKUP_STORE bkp___MACHINE_CERT)" "$(row "$l" com.vmware.vsan.health)" &&
	[ "$(row "$l" com.vmware.vim.eam)" != "$(thumb "$l" vpxd-extension vpxd-extension)" ] &&
	sc "$l" --status | sed -n "/^Running:/,\$p" | grep -qw vmware-eam &&
	grep -q "Re-login failed, due to:" "$l/var/log/vmware/eam/eam.log" &&
	grep -q "^com.vmware.eam.security.NotAuthenticated: Failed to authenticate extension com.vmware.vim.eam to vCenter.$" "$l/var/log/vmware/eam/eam.log"
'

test_expect 'fixed the way vCert does it (UPDATE vpx_ext), eam logs in at its next start' '
	l=$T/stale && tp=$(thumb "$l" vpxd-extension vpxd-extension) &&
	"$l/$PSQL" -d VCDB -U postgres -c "UPDATE vpx_ext SET thumbprint = '"'"'$tp'"'"' WHERE ext_id = '"'"'com.vmware.vim.eam'"'"'" >/dev/null &&
	sc "$l" --stop vmware-eam >/dev/null && : >"$l/var/log/vmware/eam/eam.log" &&
	sc "$l" --start vmware-eam >/dev/null &&
	grep -q "Logged in to vCenter as extension" "$l/var/log/vmware/eam/eam.log" &&
	! grep -q NotAuthenticated "$l/var/log/vmware/eam/eam.log"
'

test_expect 'vpxd needs vmware-vpostgres; stop --all stops the server, no process left' '
	sc "$H" --stop --all >/dev/null &&
	expect_eq 0 "$(postgres_of "$H")" &&
	[ ! -e "$H/storage/db/vpostgres/postmaster.pid" ] &&
	labctl fault "$H" service vmware-vpostgres >/dev/null || fail "stop or fault"
	rc=0; sc "$H" --start --all >/dev/null 2>err || rc=$?
	expect_eq 1 "$rc" &&
	grep -q "Failed to start vmware-vpostgres, vpxd, eam services" err &&
	grep -q "vmware-vpxd.*vmware-vpostgres is not running" "$H/var/log/vmware-lab/service-control.log" &&
	labctl fault "$H" clear >/dev/null && sc "$H" --start --all >/dev/null &&
	row "$H" com.vmware.vim.eam | grep -q :
'

test_expect 'the server survives nothing of its caller: a pipe reader of start --all gets EOF' '
	sc "$H" --stop vmware-vpostgres >/dev/null &&
	# a reader of our output sees its end though the server runs on
	timeout 20 sh -c "\"$H/usr/bin/service-control\" --start vmware-vpostgres | cat >/dev/null" &&
	[ "$(postgres_of "$H")" -ge 1 ]
'

test_expect 'labctl destroy stops the server; --no-vcdb makes a lab without one' '
	labctl destroy "$H" >/dev/null && expect_eq 0 "$(postgres_of "$H")" &&
	l=$T/novcdb && lab_create "$l" --scenario healthy --no-vcdb >/dev/null && labctl start "$l" >/dev/null 2>&1 &&
	! sc "$l" --list-services | grep -q vpostgres &&
	[ ! -e "$l/$PSQL" ] &&
	sc "$l" --status | sed -n "/^Running:/,\$p" | grep -qw vmware-vpxd &&
	! grep -q "com.vmware.vim.eam" "$l/var/log/vmware/eam/eam.log" 2>/dev/null
'

test_done
