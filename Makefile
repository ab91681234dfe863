# cruddur: PGXS build.
#
# The version lives in cruddur.control only; everything else reads it from
# there (META.json is checked against it by `make check-meta`).

EXTENSION = cruddur
EXTVERSION = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" $(EXTENSION).control)

MODULE_big = cruddur
OBJS = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))

# src/cruddur.sql is the version-less master install script; the versioned
# name is generated.  Frozen install scripts of earlier releases and every
# upgrade script are committed under src/ as cruddur--*.sql.
DATA_built = $(EXTENSION)--$(EXTVERSION).sql
DATA = $(sort $(wildcard src/$(EXTENSION)--*.sql))
EXTRA_CLEAN = $(EXTENSION)--$(EXTVERSION).sql

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

$(EXTENSION)--$(EXTVERSION).sql: src/$(EXTENSION).sql
	cp $< $@

.PHONY: check-meta
check-meta:
	@grep -q '"version": *"$(EXTVERSION)"' META.json || \
		{ echo "META.json does not carry version $(EXTVERSION) of $(EXTENSION).control"; exit 1; }
	@echo "META.json matches version $(EXTVERSION)"
