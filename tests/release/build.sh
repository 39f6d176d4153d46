#!/bin/sh
# build.sh - the static release of vcrotate: one executable with no dynamic
# section, linked with musl (Debian's musl-tools) against OpenSSL, OpenLDAP's
# liblber and libldap (TLS through that OpenSSL, no SASL), libgit2 (with
# http-parser and zlib, no HTTPS, no SSH), jansson and mimalloc (vcrotate's
# malloc: musl's own takes one lock for every thread's calls), each built
# from Debian's source package at the version in tests/release/versions.
#
#   sh tests/release/build.sh        (make release)
#
# Writes build/release/vcrotate-VERSION-linux-x86_64 (stripped) and its
# .sha256, and build/release/static/: the same build unstripped, with the
# lab's programs linked the same way (make test-release runs them where no
# shared library exists).
#
# The libraries are built once into a cache outside the work tree, keyed by
# the versions file and this script: VCROTATE_RELEASE_CACHE, by default
# /var/cache/vcrotate-release. A clean clone on the same machine (CI) reuses
# it; only vcrotate itself is compiled again (about half a minute).
set -eu

TOP=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$TOP/build/release
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
CACHE_BASE=${VCROTATE_RELEASE_CACHE:-/var/cache/vcrotate-release}
KEY=$(cat "$TOP/tests/release/versions" "$0" | sha256sum | cut -c1-16)
CACHE=$CACHE_BASE/$KEY
# The libraries are configured for a prefix that exists nowhere and
# installed under DEST: no path of this machine (the cache's, the
# sources') ends up in the executable, which is then the same wherever it
# is built (-ffile-prefix-map below does the same for __FILE__).
PREFIX=/opt/vcrotate-release
DEST=$CACHE/dest
SYSROOT=$DEST$PREFIX
SRC=$CACHE/src
LOG=$CACHE/build.log

say() { echo "release: $*" >&2; }
die() { echo "release: $*" >&2; exit 1; }

# --- what the build needs -------------------------------------------------

deps() {
	local missing=
	for p in musl-tools cmake dpkg-dev make linux-libc-dev perl; do
		dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		say "installing$missing"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		    --no-install-recommends $missing >/dev/null ||
			die "apt-get install$missing failed"
	fi
	# apt-get source needs a deb-src entry for bookworm.
	if ! grep -rqs '^Types: deb-src\|^deb-src ' /etc/apt/sources.list \
	    /etc/apt/sources.list.d/; then
		say "adding deb-src entries (/etc/apt/sources.list.d/vcrotate-src.sources)"
		cat >/etc/apt/sources.list.d/vcrotate-src.sources <<-EOF
		Types: deb-src
		URIs: http://deb.debian.org/debian
		Suites: bookworm bookworm-updates
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
		EOF
		apt-get update -qq >/dev/null || die "apt-get update failed"
	fi
}

# The source of package $1 at version $2, unpacked with Debian's patches, in
# $SRC/$1 (done once).
fetch() {
	local pkg=$1 ver=$2 dsc dir
	[ -f "$SRC/$pkg.unpacked" ] && return 0
	mkdir -p "$SRC/dl.$pkg"
	say "fetching $pkg $ver"
	(cd "$SRC/dl.$pkg" && apt-get source --download-only -qq "$pkg=$ver") \
	    >>"$LOG" 2>&1 || {
		apt-get update -qq >/dev/null 2>&1
		(cd "$SRC/dl.$pkg" && apt-get source --download-only -qq \
		    "$pkg=$ver") >>"$LOG" 2>&1
	} || die "apt-get source $pkg=$ver failed (see $LOG): is the version in tests/release/versions still in Debian's archive?"
	dsc=$(ls "$SRC/dl.$pkg"/*.dsc | head -n 1)
	rm -rf "$SRC/$pkg"
	(cd "$SRC/dl.$pkg" && dpkg-source --no-check -x "$dsc" "$SRC/$pkg") \
	    >>"$LOG" 2>&1 || die "dpkg-source -x $dsc failed (see $LOG)"
	touch "$SRC/$pkg.unpacked"
}

ver() { awk -v p="$1" '$1 == p { print $2 }' "$TOP/tests/release/versions"; }

# Runs "$@" in directory $1 with its output in the log; names the step on
# failure.
run_in() {
	local dir=$1
	shift
	(cd "$dir" && "$@") >>"$LOG" 2>&1 ||
		die "$(basename "$dir"): '$*' failed; the end of $LOG:
$(tail -n 12 "$LOG" | cut -c1-240)"
}

# --- the libraries, each into $SYSROOT (musl, static) ----------------------

# musl ships no Linux kernel headers; OpenSSL's secure heap wants
# <linux/mman.h>: Debian's linux-libc-dev ones, after musl's own.
KINC=$CACHE/kinclude
MUSL_CFLAGS="-O2 -fPIC -fstack-protector-strong -D_FORTIFY_SOURCE=2 -idirafter $KINC -ffile-prefix-map=$CACHE=/vcrotate-release"

kernel_headers() {
	mkdir -p "$KINC"
	for d in linux asm-generic; do
		[ -d "/usr/include/$d" ] || die "/usr/include/$d missing (linux-libc-dev)"
		ln -sfn "/usr/include/$d" "$KINC/$d"
	done
	ln -sfn /usr/include/x86_64-linux-gnu/asm "$KINC/asm"
}

build_zlib() {
	local d=$SRC/zlib
	run_in "$d" env CC=musl-gcc CFLAGS="$MUSL_CFLAGS" ./configure --static \
	    --prefix="$PREFIX"
	run_in "$d" make -j"$JOBS" libz.a
	run_in "$d" make install DESTDIR="$DEST"
}

build_openssl() {
	local d=$SRC/openssl
	# no-afalgeng: the AF_ALG engine needs Linux headers musl does not ship;
	# the release verifies with its own CA files, never /etc/ssl. OpenSSL
	# keeps its compiler flags and build date in the library (openssl
	# version -a): the kernel headers come through C_INCLUDE_PATH, not a
	# flag naming the cache, and the date is the changelog's, as Debian
	# builds it (SOURCE_DATE_EPOCH).
	SOURCE_DATE_EPOCH=$(cd "$d" && dpkg-parsechangelog -STimestamp)
	C_INCLUDE_PATH=$KINC
	export SOURCE_DATE_EPOCH C_INCLUDE_PATH
	run_in "$d" ./Configure linux-x86_64 CC=musl-gcc no-shared no-dso \
	    no-engine no-afalgeng no-async no-module no-tests \
	    --prefix="$PREFIX" --libdir=lib --openssldir=/etc/ssl \
	    -O2 -fPIC -fstack-protector-strong -D_FORTIFY_SOURCE=2
	run_in "$d" make -j"$JOBS" build_libs
	run_in "$d" make install_dev DESTDIR="$DEST"
	unset SOURCE_DATE_EPOCH C_INCLUDE_PATH
}

build_openldap() {
	local d=$SRC/openldap
	run_in "$d" env CC=musl-gcc CFLAGS="$MUSL_CFLAGS" \
	    CPPFLAGS="-I$SYSROOT/include" LDFLAGS="-L$SYSROOT/lib" \
	    LIBS="-lssl -lcrypto -lpthread" \
	    ./configure --prefix="$PREFIX" --sysconfdir=/etc \
	    --disable-shared --enable-static --disable-slapd \
	    --without-cyrus-sasl --with-tls=openssl --without-systemd \
	    --without-fetch --without-argon2
	run_in "$d" make depend
	run_in "$d/include" make
	# liblutil only for liblber's and libldap's own test programs.
	run_in "$d/libraries/liblutil" make -j"$JOBS"
	run_in "$d/libraries/liblber" make -j"$JOBS"
	run_in "$d/libraries/libldap" make -j"$JOBS"
	run_in "$d/include" make install DESTDIR="$DEST"
	run_in "$d/libraries/liblber" make install DESTDIR="$DEST"
	run_in "$d/libraries/libldap" make install DESTDIR="$DEST"
}

build_http_parser() {
	local d=$SRC/http-parser
	run_in "$d" musl-gcc $MUSL_CFLAGS -c -o http_parser.o http_parser.c
	run_in "$d" ar rcs libhttp_parser.a http_parser.o
	install -m 0644 "$d/http_parser.h" "$SYSROOT/include/"
	install -m 0644 "$d/libhttp_parser.a" "$SYSROOT/lib/"
}

# cmake_build PKG OPTION...: source package PKG configured with cmake for
# musl (a Release build, installed under PREFIX with its libraries in lib)
# and the given options, built and installed into DEST.
cmake_build() {
	local b=$SRC/$1/build-musl
	shift
	rm -rf "$b"
	mkdir -p "$b"
	run_in "$b" cmake .. -DCMAKE_C_COMPILER=musl-gcc \
	    -DCMAKE_C_FLAGS="$MUSL_CFLAGS" -DCMAKE_BUILD_TYPE=Release \
	    -DCMAKE_INSTALL_PREFIX="$PREFIX" -DCMAKE_INSTALL_LIBDIR=lib "$@"
	run_in "$b" make -j"$JOBS"
	run_in "$b" make install DESTDIR="$DEST"
}

build_libgit2() {
	# Debian's +ds source leaves out the bundled http-parser, ntlmclient
	# and pcre: http-parser is built above, NTLM is off, regcomp is musl's.
	cmake_build libgit2 \
	    -DBUILD_SHARED_LIBS=OFF -DBUILD_TESTS=OFF -DBUILD_CLI=OFF \
	    -DBUILD_EXAMPLES=OFF -DUSE_HTTPS=OFF -DUSE_SSH=OFF \
	    -DUSE_GSSAPI=OFF -DUSE_NTLMCLIENT=OFF -DUSE_ICONV=OFF \
	    -DUSE_SHA1=CollisionDetection -DUSE_SHA256=Builtin \
	    -DREGEX_BACKEND=regcomp -DUSE_HTTP_PARSER=system \
	    -DHTTP_PARSER_INCLUDE_DIR="$SYSROOT/include" \
	    -DHTTP_PARSER_LIBRARY="$SYSROOT/lib/libhttp_parser.a" \
	    -DUSE_BUNDLED_ZLIB=OFF -DZLIB_INCLUDE_DIR="$SYSROOT/include" \
	    -DZLIB_LIBRARY="$SYSROOT/lib/libz.a"
}

# vcrotate's malloc, linked as an object so that it replaces musl's (musl
# supports that in static links; musl's own still serves its internal
# calls). check decodes thousands of certificates on every core, and
# OpenSSL allocates for each of their parts: with musl's malloc, whose
# every call takes one process-wide lock, the release's check took twice
# the CPU of the glibc build (docs/check.md, "Speed and memory").
build_mimalloc() {
	cmake_build mimalloc \
	    -DMI_BUILD_SHARED=OFF -DMI_BUILD_STATIC=OFF -DMI_BUILD_OBJECT=ON \
	    -DMI_BUILD_TESTS=OFF -DMI_OVERRIDE=ON -DMI_INSTALL_TOPLEVEL=ON
	[ -f "$SYSROOT/lib/mimalloc.o" ] || die "mimalloc: no lib/mimalloc.o installed"
}

build_jansson() {
	cmake_build jansson \
	    -DJANSSON_BUILD_SHARED_LIBS=OFF -DJANSSON_WITHOUT_TESTS=ON \
	    -DJANSSON_EXAMPLES=OFF -DJANSSON_BUILD_DOCS=OFF
}

# --- main --------------------------------------------------------------------

deps
mkdir -p "$SRC" "$SYSROOT/include" "$SYSROOT/lib"
kernel_headers
: >>"$LOG"
start=$(date +%s)
for pkg in zlib openssl openldap http-parser libgit2 jansson mimalloc; do
	[ -f "$CACHE/$pkg.built" ] && continue
	fetch "$pkg" "$(ver "$pkg")"
	say "building $pkg $(ver "$pkg") with musl (log: $LOG)"
	"build_$(echo "$pkg" | tr - _)"
	echo "$(ver "$pkg")" >"$CACHE/$pkg.built"
done
[ "$(date +%s)" = "$start" ] || say "libraries built in $(($(date +%s) - start)) s, cached in $CACHE"
# Builds of other versions (or of an older build.sh) are not kept.
for old in "$CACHE_BASE"/*; do
	[ "$old" = "$CACHE" ] || [ ! -f "$old/build.log" ] || rm -rf "$old"
done

# vcrotate and the lab's programs, with the Makefile's own rules; mimalloc
# for vcrotate alone (MALLOC_OBJ): the lab's programs keep musl's malloc.
B=build/release/static
LIBS="-static -L$SYSROOT/lib -lgit2 -lhttp_parser -lldap -llber -lssl \
-lcrypto -ljansson -lz -lpthread"
say "compiling vcrotate and the lab's programs into $B"
(cd "$TOP" && make --no-print-directory B="$B" CC=musl-gcc \
    CFLAGS="-O2 -g -DVCROTATE_STATIC=1 -DVCROTATE_MIMALLOC=1 -fstack-protector-strong" \
    PKG_CFLAGS="-I$SYSROOT/include" PKG_LIBS="$LIBS" \
    MALLOC_OBJ="$SYSROOT/lib/mimalloc.o" all) >&2 ||
	die "make B=$B failed"

version=$(sed -n 's/^VERSION *= *//p' "$TOP/Makefile")
name=vcrotate-$version-linux-x86_64
strip -o "$OUT/$name" "$TOP/$B/vcrotate"
(cd "$OUT" && sha256sum "$name" >"$name.sha256")
if readelf -d "$OUT/$name" | grep -q 'Dynamic section'; then
	die "$OUT/$name has a dynamic section"
fi
size=$(stat -c %s "$OUT/$name")
[ "$size" -le 10485760 ] || die "$name is $size bytes, over 10 MB"
say "$OUT/$name ($size bytes, static): $(cut -d' ' -f1 "$OUT/$name.sha256")"
