#!/usr/bin/env bash
#
# test/pgtle.sh: the SQL flavour's pg_tle route (dist/cruddur-pgtle.sql),
# as on Amazon RDS: pg_tle 1.5.2 built here, a cluster that preloads it,
# cruddur registered with pg_tle and installed with CREATE EXTENSION; then
# the suites of test/flavour.sh on that route (CRUDDUR_ROUTE=pgtle), and
# what only this route has (its pgtle_route).  test/README.md says
# what this proves.  Runs against the cluster the PG* variables name, where
# the C build is installed (test/run's), for the C build's catalog; the
# pg_tle cluster is its own.
#
# pg_tle's source: $PG_TLE_SRC (its tarball or unpacked tree), else
# ../shared/vendor/pg_tle-*.tar.gz beside this tree; when there is none the
# suite says so and is skipped (exit 0).  pg_tle refuses a name that has a
# control file in the server's extension directory and finds its own
# control file only there (not through extension_destdir), so the cluster
# is of a copy of the stock 15 of `bin/pg --source 15` (or of `bin/pg 18`,
# where the PG* cluster is 18's) with pg_tle installed into it, and no
# cruddur.  Builds need flex and libkrb5-dev, installed here
# when missing (root).
#
set -uo pipefail
cd "$(dirname "$0")/.."
top=$PWD

skip() { echo "SKIP: test/pgtle.sh: $*"; exit 0; }

src=${PG_TLE_SRC:-$(ls -d "$top"/../shared/vendor/pg_tle-*.tar.gz 2>/dev/null | sort -V | tail -1)}
[ -n "$src" ] && [ -e "$src" ] ||
	skip "no pg_tle source (set PG_TLE_SRC to its tarball or tree, or put it in ../shared/vendor/)"

# The major of the cluster the PG* variables name (PG_CONFIG's), as a
# build into a prefix (bin/pg caches it): for 15 a stock 15 built from
# Debian's source, for 18 bin/pg's; copied whole below, since PostgreSQL
# finds a prefix install's files relative to its programs, which the
# packaged server's layout does not allow.  (17 runs in the Debian 13
# root, of packages: not here.)
major=$("${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}" --version | sed 's/^PostgreSQL \([0-9]*\).*/\1/')
case $major in
15) build=(--source 15) ;;
18) build=(18) ;;
*) skip "no build of PostgreSQL $major into a prefix to put pg_tle into (bin/pg makes a stock 15 and 18)" ;;
esac
pg_config=$(bin/pg "${build[@]}" | tail -1) && [ -x "$pg_config" ] ||
	{ echo "bin/pg ${build[*]} (a PostgreSQL to put pg_tle into) failed"; exit 1; }

missing=()
for p in flex libkrb5-dev; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "test/pgtle.sh: installing ${missing[*]}"
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" >/dev/null; } || { echo "could not install ${missing[*]}"; exit 1; }
fi

work=$(mktemp -d /tmp/cruddur-pgtle.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
chmod 755 "$work"
if [ -d "$src" ]; then cp -a "$src" "$work/pg_tle"; else
	mkdir "$work/pg_tle" && tar -xzf "$src" -C "$work/pg_tle" --strip-components=1; fi
# pg_tle 1.5.2's set_default_version reads memory SPI_finish freed, which
# kills a backend of this assert-enabled server where cruddur is installed
# (test/pgtle/set_default_version.patch says how; a release build, as on
# RDS, reads the stale values and works): fixed here, so that the suites
# upgrade installed databases as there.  A pg_tle that has the fix already
# is built as it is.
if patch -d "$work/pg_tle" -p1 --dry-run -s <test/pgtle/set_default_version.patch >/dev/null 2>&1; then
	patch -d "$work/pg_tle" -p1 -s <test/pgtle/set_default_version.patch || exit 1
	echo "pg_tle patched with test/pgtle/set_default_version.patch"
else
	echo "test/pgtle/set_default_version.patch does not apply to this pg_tle: built unpatched"
fi
cp -a "$("$pg_config" --bindir)/.." "$work/pg" || exit 1
rm -f "$work"/pg/share/extension/cruddur[.-]* "$work"/pg/lib/cruddur.so	# a C build installed there
pg_config=$work/pg/bin/pg_config
echo "building pg_tle from $src against $("$pg_config" --version), into a copy of it"
(cd "$work/pg_tle" && make -s PG_CONFIG="$pg_config" >"$work/build.log" 2>&1 &&
	make -s PG_CONFIG="$pg_config" install >>"$work/build.log" 2>&1) ||
	{ tail -30 "$work/build.log"; echo "building pg_tle failed"; exit 1; }
chown -R postgres: "$work/pg"

make -s rds || exit 1
# the C build's catalog, from the cluster the PG* variables name, for
# test/flavour.sh to compare the pg_tle route's with
c_db=cruddur_pgtle_c_$$
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $c_db" &&
	psql -X -q -v ON_ERROR_STOP=1 -d "$c_db" -c 'CREATE EXTENSION cruddur' &&
	psql -X -q -At -v ON_ERROR_STOP=1 -d "$c_db" -v schema=public -f test/schema_catalog.sql >"$work/c-catalog.txt" ||
	{ echo "could not list the C build's catalog in the cluster of PG* (run inside bin/pgenv, after make install)"; exit 1; }
psql -X -q -d postgres -c "DROP DATABASE $c_db"
# (its own cluster: not the extension directory bin/test gives the outer one)
env -u CRUDDUR_DESTDIR CRUDDUR_C_CATALOG=$work/c-catalog.txt CRUDDUR_PG_OPTS=shared_preload_libraries=pg_tle \
	PG_CONFIG=$pg_config CRUDDUR_ROUTE=pgtle \
	bin/pgenv bash test/flavour.sh
