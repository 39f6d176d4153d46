#!/bin/sh
# Installs the Debian packages that building, the lab and the tests need, with one
# apt-get, and only when one of them is missing. Run as root on Debian 12.
set -eu

pkgs="gcc make pkg-config libc6-dev libssl-dev openssl libldap-dev libgit2-dev zlib1g-dev
libjansson-dev libcmocka-dev slapd ldap-utils git faketime jq python3-jsonschema time
strace mandoc prometheus postgresql sqlite3 ansible-core"

missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing Debian packages:$missing (run as root, or install them)" >&2
	exit 1
fi
echo "deps: installing$missing"
# The lab runs its own slapd per lab folder; keep the package from starting a
# system-wide one on port 389.
mkdir -p /etc/ldap && touch /etc/ldap/noslapd
# Each lab runs its own PostgreSQL server for VCDB (docs/lab.md); no
# system-wide cluster on port 5432 either.
if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
	mkdir -p /etc/postgresql-common &&
	echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.conf
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confold $missing >/dev/null
