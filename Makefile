# vcrotate: transactional certificate replacement for vCenter appliances.
#
#   make            build build/vcrotate and the lab's programs (build/lab/)
#   make demo       install missing Debian packages, build, run the demo lab
#   make test       install missing Debian packages, build, run every test,
#                   then all again on the sanitized build (build-asan/)
#   make test-asan  only the sanitized run; make test-valgrind: valgrind
#   make test-ansible  the playbooks' every test (make test samples them)
#   make bench      check against the admins' one-liners on a big lab
#   make install    install vcrotate, its man page and renew's systemd
#                   service and timer under $(DESTDIR)$(PREFIX)

PREFIX  ?= /usr/local
DESTDIR ?=
# systemd's unit folder for renew's service and timer (docs/renew.md).
UNITDIR ?= $(PREFIX)/lib/systemd/system
CC      ?= cc
CFLAGS  ?= -O2 -g
PKGS     = libcrypto libssl ldap jansson libgit2 zlib

WARN     = -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wno-missing-field-initializers
DEFS     = -D_GNU_SOURCE \
           -DOPENSSL_API_COMPAT=30000 -DOPENSSL_NO_DEPRECATED \
           -DVCROTATE_VERSION=\"$(VERSION)\"
VERSION  = 0.1.0
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := -Wl,--as-needed $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lssl -lcrypto -lldap -llber -ljansson)
ALL_CFLAGS  = $(WARN) $(DEFS) $(PKG_CFLAGS) $(CFLAGS)

B = build
LAB_COMMON = $(B)/obj/lab/labutil.o $(B)/obj/lab/vecsdb.o \
             $(B)/obj/lab/labdir.o $(B)/obj/lab/rootsync.o
LAB_PROGS  = $(B)/lab/vecs-cli $(B)/lab/vmafd-cli $(B)/lab/lwregshell \
             $(B)/lab/service-control $(B)/lab/labgen \
             $(B)/lab/certool $(B)/lab/dir-cli $(B)/lab/ldapwrap
ENGINE_OBJS = $(B)/obj/engine/main.o $(B)/obj/engine/cmd_check.o \
              $(B)/obj/engine/cmd_plan.o $(B)/obj/engine/cmd_backup.o $(B)/obj/engine/cmd_csr.o \
              $(B)/obj/engine/cmd_apply.o $(B)/obj/engine/cmd_history.o \
              $(B)/obj/engine/cmd_rollback.o $(B)/obj/engine/cmd_recover.o \
              $(B)/obj/engine/cmd_renew.o $(ENGINE_LIB)
ENGINE_LIB  = $(B)/obj/engine/buf.o $(B)/obj/engine/proc.o \
              $(B)/obj/engine/pool.o \
              $(B)/obj/engine/fault.o $(B)/obj/engine/journal.o \
              $(B)/obj/engine/cert.o $(B)/obj/engine/vmdir.o \
              $(B)/obj/engine/appliance.o $(B)/obj/engine/vecs.o \
              $(B)/obj/engine/vcdb.o $(B)/obj/engine/domain.o \
              $(B)/obj/engine/vsan.o $(B)/obj/engine/rbd.o \
              $(B)/obj/engine/inventory.o $(B)/obj/engine/findings.o \
              $(B)/obj/engine/config.o $(B)/obj/engine/report.o \
              $(B)/obj/engine/safetext.o \
              $(B)/obj/engine/issue.o $(B)/obj/engine/fileio.o \
              $(B)/obj/engine/services.o $(B)/obj/engine/history.o \
              $(B)/obj/engine/lock.o $(B)/obj/engine/txn.o \
              $(B)/obj/engine/apply.o $(B)/obj/engine/hooks.o \
              $(B)/obj/plans/plan.o $(BACKUP_OBJS)
BACKUP_OBJS = $(B)/obj/backup/crypt.o $(B)/obj/backup/names.o \
              $(B)/obj/backup/state.o $(B)/obj/backup/repo.o \
              $(B)/obj/backup/units.o $(B)/obj/backup/restore.o \
              $(B)/obj/backup/session.o $(B)/obj/backup/pack.o
# plans/: building and rendering (plan.c), reading back and the rules
# (load.c), the plan against the appliance as it is (live.c), imported
# certificates judged and planned (import.c).
ENGINE_LIB += $(B)/obj/plans/load.o $(B)/obj/plans/live.o \
              $(B)/obj/plans/import.o
UNIT_TESTS  = $(B)/tests/test_labutil $(B)/tests/test_engine $(B)/tests/test_backup \
              $(B)/tests/test_txn
# test_txn: txn.c and the leaves it writes through, the appliance faked.
TXN_TEST_OBJS = $(B)/obj/engine/txn.o $(B)/obj/engine/journal.o \
              $(B)/obj/engine/buf.o $(B)/obj/engine/fileio.o \
              $(B)/obj/engine/fault.o $(B)/obj/engine/safetext.o \
              $(B)/obj/engine/cert.o $(B)/obj/backup/names.o

all: $(B)/vcrotate $(LAB_PROGS)

tests: all $(UNIT_TESTS)

$(B)/obj/lab/%.o: tests/lab/src/%.c tests/lab/src/*.h
	@mkdir -p $(@D)
	@echo "  CC      $@"
	@$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/obj/engine/%.o: engine/%.c engine/*.h plans/*.h backup/*.h
	@mkdir -p $(@D)
	@echo "  CC      $@"
	@$(CC) $(ALL_CFLAGS) -Iengine -Iplans -Ibackup -c -o $@ $<

$(B)/obj/backup/%.o: backup/%.c engine/*.h backup/*.h
	@mkdir -p $(@D)
	@echo "  CC      $@"
	@$(CC) $(ALL_CFLAGS) -Iengine -Ibackup -c -o $@ $<

$(B)/obj/plans/%.o: plans/%.c engine/*.h plans/*.h
	@mkdir -p $(@D)
	@echo "  CC      $@"
	@$(CC) $(ALL_CFLAGS) -Iengine -c -o $@ $<

# certool and dir-cli write vmdir CA entries as Lightwave does (labca.c).
$(B)/lab/certool $(B)/lab/dir-cli: $(B)/obj/lab/labca.o
# service-control runs the lab's vPostgres (labvcdb.c).
$(B)/lab/service-control: $(B)/obj/lab/labvcdb.o

$(B)/lab/%: $(B)/obj/lab/%.o $(LAB_COMMON)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

$(B)/obj/tests/%.o: tests/unit/%.c tests/lab/src/*.h engine/*.h plans/*.h backup/*.h
	@mkdir -p $(@D)
	@echo "  CC      $@"
	@$(CC) $(ALL_CFLAGS) -Itests/lab/src -Iengine -Iplans -Ibackup $(shell pkg-config --cflags cmocka) -c -o $@ $<

$(B)/tests/test_labutil: $(B)/obj/tests/test_labutil.o $(LAB_COMMON)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -pthread -o $@ $^ $(PKG_LIBS) -lcmocka

$(B)/tests/test_backup: $(B)/obj/tests/test_backup.o $(ENGINE_LIB)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -pthread -o $@ $^ $(PKG_LIBS) -lcmocka

$(B)/tests/test_engine: $(B)/obj/tests/test_engine.o $(ENGINE_LIB)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -pthread -o $@ $^ $(PKG_LIBS) -lcmocka

$(B)/tests/test_txn: $(B)/obj/tests/test_txn.o $(TXN_TEST_OBJS)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -pthread -o $@ $^ $(PKG_LIBS) -lcmocka

# MALLOC_OBJ: an object that replaces malloc in vcrotate (the static
# release links mimalloc's, tests/release/build.sh); none by default.
MALLOC_OBJ =
$(B)/vcrotate: $(ENGINE_OBJS) $(MALLOC_OBJ)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -pthread -o $@ $(MALLOC_OBJ) $(ENGINE_OBJS) $(PKG_LIBS)

deps:
	@sh tests/deps.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@sh tests/demo.sh

# make test runs the suite twice: on build/, then on the sanitized build
# (below), and ends with one total for both. In the second run the labs of
# vcrotate's tests are made of build/'s programs (tests/run.sh says why);
# make test-asan runs everything sanitized.
test: deps
	@$(MAKE) --no-print-directory tests
	@$(MAKE) --no-print-directory asan
	@VCROTATE_BUILDS="$(B) $(ASAN_B)" VCROTATE_SAN_LAB=$(B) sh tests/run.sh

# The sanitized build: everything `make tests` makes (vcrotate, the lab's
# programs, the unit tests), again in $(ASAN_B)/ with AddressSanitizer,
# LeakSanitizer and UBSan. tests/run.sh sets their options and fails a test
# on any report (docs/security.md, "Sanitizers and valgrind").
ASAN_B      = build-asan
ASAN_CFLAGS = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
              -fno-sanitize-recover=all

asan:
	@$(MAKE) --no-print-directory B=$(ASAN_B) CFLAGS="$(ASAN_CFLAGS)" tests

test-asan: deps
	@$(MAKE) --no-print-directory asan
	@VCROTATE_BUILD=$(ASAN_B) sh tests/run.sh

# check, plan and apply (and recover) on an all-expired lab under valgrind
# memcheck, on the ordinary build.
test-valgrind: deps
	@command -v valgrind >/dev/null || { echo "deps: installing valgrind"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends valgrind >/dev/null; }
	@$(MAKE) --no-print-directory all
	@bash tests/valgrind.sh


# Every fault point of apply (vecs-cli failing on each of its writes), not
# only the sample make test runs.
test-faults: deps
	@$(MAKE) --no-print-directory tests
	@FAULTS=all sh tests/run.sh tests/e2e/t1300-apply.sh

# Every side effect of apply failed, or the process killed just before or
# after it, each followed by recover (docs/recovery.md); make test samples.
test-crash: deps
	@$(MAKE) --no-print-directory tests
	@CRASH=all sh tests/run.sh tests/e2e/t1500-recover.sh

# The playbooks' every test (make test leaves four of t3300's variants out).
test-ansible: deps
	@$(MAKE) --no-print-directory tests
	@VCROTATE_FULL=1 sh tests/run.sh tests/e2e/t3300-ansible.sh tests/e2e/t3350-ansible-domain.sh

# The suites of vcrotate (t1000 on) again on labs whose vmdir CA entries are
# DER under lower-case names (labctl create --ca-entries der), the form other
# tools leave; make test runs the default, Lightwave's PEM form, and t1800
# both.
test-der: deps
	@$(MAKE) --no-print-directory tests
	@VCROTATE_LAB_CA_ENTRIES=der sh tests/run.sh $$(ls tests/e2e/t1[0-9]*.sh)

# The static release (docs/install.md): build/release/vcrotate-VERSION-
# linux-x86_64 and its .sha256, linked with musl against OpenSSL, libldap,
# libgit2 and jansson built from Debian's source packages; the libraries
# are built once and cached (tests/release/build.sh). test-release runs it,
# and the lab's programs of the same build, in an empty root.
release:
	@sh tests/release/build.sh

test-release: deps release
	@sh tests/run.sh tests/release/run.sh

bench: deps
	@$(MAKE) --no-print-directory all
	@VCROTATE_BUILD=$(B) bash tests/bench/check.sh
	@VCROTATE_BUILD=$(B) bash tests/bench/backup.sh
	@VCROTATE_BUILD=$(B) bash tests/bench/apply.sh

install: $(B)/vcrotate
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(B)/vcrotate $(DESTDIR)$(PREFIX)/bin/vcrotate
	install -d $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0644 docs/vcrotate.8 $(DESTDIR)$(PREFIX)/share/man/man8/vcrotate.8
	install -d $(DESTDIR)$(UNITDIR)
	sed 's|@BINDIR@|$(PREFIX)/bin|g' systemd/vcrotate-renew.service.in \
	    >$(DESTDIR)$(UNITDIR)/vcrotate-renew.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/vcrotate-renew.service
	install -m 0644 systemd/vcrotate-renew.timer $(DESTDIR)$(UNITDIR)/vcrotate-renew.timer

clean:
	rm -rf $(B) $(ASAN_B)

.PHONY: all tests deps demo test test-faults test-crash test-ansible bench install clean asan \
        test-asan test-valgrind test-der release test-release
.SECONDARY:

# ---- fuzzing (issue 8) -------------------------------------------------
# libFuzzer harnesses for the parsers of outside input, tests/fuzz/fuzz_*.c
# (docs/security.md, "Fuzzing"). `make fuzz` builds each with clang and the
# sanitizers (the engine compiled again with clang into $(B)/fuzz/obj) and
# runs it for FUZZ_TIME seconds on a copy of its seed corpus,
# $(B)/fuzz/corpus/NAME; a crash is kept in $(B)/fuzz/crashes/NAME/ and
# stops make. `make tests` builds $(B)/tests/fuzz_replay_NAME with $(CC):
# the harness run once on every input of a corpus (tests/e2e/t0050).
FUZZ_NAMES   = vecs_list vecs_stores lwreg config cert_pem cert_der crl_der cert_key \
               plan backup names
FUZZ_TIME   ?= 60
FUZZ_CC     ?= clang
FUZZ_CFLAGS ?= -O1 -g -fno-omit-frame-pointer
FUZZ_SAN     = -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_OBJS    = $(patsubst $(B)/obj/%,$(B)/fuzz/obj/%,$(ENGINE_LIB))
FUZZ_INC     = -Iengine -Iplans -Ibackup -Itests/fuzz
FUZZ_REPLAYS = $(FUZZ_NAMES:%=$(B)/tests/fuzz_replay_%)

tests: $(FUZZ_REPLAYS)

$(B)/obj/fuzz/%.o: tests/fuzz/%.c tests/fuzz/*.h engine/*.h plans/*.h backup/*.h
	@mkdir -p $(@D)
	@echo "  CC      $@"
	@$(CC) $(ALL_CFLAGS) $(FUZZ_INC) -c -o $@ $<

$(B)/tests/fuzz_replay_%: $(B)/obj/fuzz/fuzz_%.o $(B)/obj/fuzz/replay.o \
    $(ENGINE_LIB)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -pthread -o $@ $^ $(PKG_LIBS)

$(B)/fuzz/obj/%.o: %.c engine/*.h plans/*.h backup/*.h
	@mkdir -p $(@D)
	@echo "  CLANG   $@"
	@$(FUZZ_CC) $(WARN) $(DEFS) $(PKG_CFLAGS) $(FUZZ_CFLAGS) $(FUZZ_SAN) \
	    -fsanitize=fuzzer-no-link -Iengine -Iplans -Ibackup -c -o $@ $<

$(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/*.h $(FUZZ_OBJS)
	@mkdir -p $(@D)
	@echo "  CLANG   $@"
	@$(FUZZ_CC) $(WARN) $(DEFS) $(PKG_CFLAGS) $(FUZZ_CFLAGS) $(FUZZ_SAN) \
	    -fsanitize=fuzzer $(FUZZ_INC) -o $@ $< $(FUZZ_OBJS) -pthread \
	    $(PKG_LIBS)

fuzz-build: $(FUZZ_NAMES:%=$(B)/fuzz/fuzz_%)

fuzz: fuzz-build
	@set -e; for n in $(FUZZ_NAMES); do \
	    c=$(B)/fuzz/corpus/$$n; a=$(B)/fuzz/crashes/$$n; \
	    mkdir -p $$c $$a; cp -n tests/fuzz/corpus/$$n/* $$c/; \
	    d=; [ ! -f tests/fuzz/$$n.dict ] || d=-dict=tests/fuzz/$$n.dict; \
	    echo "  FUZZ    $$n, $(FUZZ_TIME)s (log: $(B)/fuzz/$$n.log)"; \
	    $(B)/fuzz/fuzz_$$n $$d -max_total_time=$(FUZZ_TIME) \
	        -print_final_stats=1 -artifact_prefix=$$a/ $$c \
	        >$(B)/fuzz/$$n.log 2>&1 || \
	        { tail -n 60 $(B)/fuzz/$$n.log; exit 1; }; \
	    sed -n 's/^stat::number_of_executed_units: */          runs: /p' \
	        $(B)/fuzz/$$n.log; \
	done

.PHONY: fuzz fuzz-build
# ---- end of fuzzing ------------------------------------------------------
