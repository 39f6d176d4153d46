# vcrotate: transactional certificate replacement for vCenter appliances.
#
#   make            build build/vcrotate and the lab's programs (build/lab/)
#   make demo       install missing Debian packages, build, run the demo lab
#   make test       install missing Debian packages, build, run every test
#   make bench      check against the admins' one-liners on a big lab
#   make install    install vcrotate under $(DESTDIR)$(PREFIX)

PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc
CFLAGS  ?= -O2 -g
PKGS     = libcrypto libssl ldap jansson libgit2

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
LAB_COMMON = $(B)/obj/lab/labutil.o $(B)/obj/lab/vecsdb.o
LAB_PROGS  = $(B)/lab/vecs-cli $(B)/lab/vmafd-cli $(B)/lab/lwregshell \
             $(B)/lab/service-control $(B)/lab/labgen
ENGINE_OBJS = $(B)/obj/engine/main.o $(B)/obj/engine/cmd_check.o \
              $(B)/obj/engine/cmd_plan.o $(B)/obj/engine/cmd_backup.o \
              $(B)/obj/engine/cmd_apply.o \
              $(ENGINE_LIB)
ENGINE_LIB  = $(B)/obj/engine/buf.o $(B)/obj/engine/proc.o \
              $(B)/obj/engine/cert.o $(B)/obj/engine/vmdir.o \
              $(B)/obj/engine/appliance.o $(B)/obj/engine/vecs.o \
              $(B)/obj/engine/inventory.o $(B)/obj/engine/findings.o \
              $(B)/obj/engine/config.o $(B)/obj/engine/report.o \
              $(B)/obj/engine/issue.o $(B)/obj/engine/fileio.o \
              $(B)/obj/plans/plan.o $(BACKUP_OBJS)
BACKUP_OBJS = $(B)/obj/backup/crypt.o $(B)/obj/backup/names.o \
              $(B)/obj/backup/state.o $(B)/obj/backup/repo.o
UNIT_TESTS  = $(B)/tests/test_labutil $(B)/tests/test_engine $(B)/tests/test_backup

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

$(B)/lab/%: $(B)/obj/lab/%.o $(LAB_COMMON)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

$(B)/obj/tests/%.o: tests/unit/%.c tests/lab/src/*.h engine/*.h
	@mkdir -p $(@D)
	@echo "  CC      $@"
	@$(CC) $(ALL_CFLAGS) -Itests/lab/src -Iengine -Iplans -Ibackup $(shell pkg-config --cflags cmocka) -c -o $@ $<

$(B)/tests/test_labutil: $(B)/obj/tests/test_labutil.o $(LAB_COMMON)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -pthread -o $@ $^ $(PKG_LIBS) -lcmocka

$(B)/tests/test_backup: $(B)/obj/tests/test_backup.o \
    $(B)/obj/backup/crypt.o $(B)/obj/backup/names.o $(B)/obj/engine/buf.o
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -pthread -o $@ $^ $(PKG_LIBS) -lcmocka

$(B)/tests/test_engine: $(B)/obj/tests/test_engine.o \
    $(B)/obj/engine/cmd_check.o $(ENGINE_LIB)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -pthread -o $@ $^ $(PKG_LIBS) -lcmocka

$(B)/vcrotate: $(ENGINE_OBJS)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -pthread -o $@ $^ $(PKG_LIBS)

deps:
	@sh tests/deps.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@sh tests/demo.sh

test: deps
	@$(MAKE) --no-print-directory tests
	@sh tests/run.sh

# Every fault point of apply (vecs-cli failing on each of its writes), not
# only the sample make test runs.
test-faults: deps
	@$(MAKE) --no-print-directory tests
	@FAULTS=all sh tests/run.sh tests/e2e/t1300-apply.sh

bench: deps
	@$(MAKE) --no-print-directory all
	@bash tests/bench/check.sh
	@bash tests/bench/backup.sh
	@bash tests/bench/apply.sh

install: $(B)/vcrotate
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(B)/vcrotate $(DESTDIR)$(PREFIX)/bin/vcrotate

clean:
	rm -rf $(B)

.PHONY: all tests deps demo test test-faults bench install clean
.SECONDARY:
