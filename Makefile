# cruddur: PGXS build.
#
# The version lives in cruddur.control only; everything else reads it from
# there (META.json is checked against it by `make check-meta`).

EXTENSION = cruddur
EXTVERSION = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" $(EXTENSION).control)

MODULE_big = cruddur
OBJS = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))

# The install script of the current version is generated: the frozen full
# script of the first release followed by every upgrade script in version
# order, so a fresh install and an upgraded one run the same statements.
# Those scripts are installed too, for installing 1.0 and upgrading from it.
BASE_SCRIPT = src/$(EXTENSION)--1.0.sql
UPGRADE_SCRIPTS = $(shell ls src/$(EXTENSION)--*--*.sql | sort -V)
DATA_built = $(EXTENSION)--$(EXTVERSION).sql
# cruddur_adopt.sql: adopting an existing Cruddur database (README).
DATA = $(BASE_SCRIPT) $(UPGRADE_SCRIPTS) src/$(EXTENSION)_adopt.sql
EXTRA_CLEAN = $(EXTENSION)--$(EXTVERSION).sql dist

# pg_regress suites in sql/ + expected/, isolation specs in specs/.
REGRESS = $(sort $(basename $(notdir $(wildcard sql/*.sql))))
REGRESS_OPTS = --load-extension=$(EXTENSION)
ISOLATION_OPTS = --load-extension=$(EXTENSION)
ISOLATION = $(sort $(basename $(notdir $(wildcard specs/*.spec))))

PG_CONFIG ?= pg_config
PG_CFLAGS += -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare \
	-Wno-missing-field-initializers
ifdef WERROR
PG_CFLAGS += -Werror
endif

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(EXTENSION)--$(EXTVERSION).sql: $(BASE_SCRIPT) $(UPGRADE_SCRIPTS)
	{ cat $(BASE_SCRIPT); for f in $(UPGRADE_SCRIPTS); do sed '/^\\echo Use /d' $$f; done; } > $@

.PHONY: check-meta
check-meta:
	@grep -q '"version": *"$(EXTVERSION)"' META.json || \
		{ echo "META.json does not carry version $(EXTVERSION) of $(EXTENSION).control"; exit 1; }
	@echo "META.json matches version $(EXTVERSION)"

# PGXS tracks no header dependencies unless the server was configured with
# --enable-depend: rebuild every object when a header changes.
$(OBJS): $(wildcard src/*.h)

# The SQL flavour, for servers that load no C library (Amazon RDS, Aurora):
# generated from the same scripts, with src/flavour/ bodies for the C
# functions, into dist/ (README, Installing on Amazon RDS).
.PHONY: rds
rds:
	bin/flavour dist
