#!/usr/bin/env bash
#
# test/fuzz.sh: the SQL-level fuzzer (test/fuzz/sql_fuzz.py) against the
# cluster the PG* environment variables name.  It feeds tens of thousands of
# malformed Cognito events and hostile arguments to every cruddur function
# and fails on a server crash, an undocumented SQLSTATE, a wrong outcome or
# an output that is not JSON.  test/README.md says more.
#
# CRUDDUR_ROUTE=rds or pgtle installs the SQL flavour by that route
# (test/route.bash; test/flavour.sh runs it so) instead of the C build.
#
# FUZZ_SEED=n reproduces a run (the seed is printed first); FUZZ_CALLS=n sets
# the number of register calls (default 20000; the other functions get as
# many between them).
#
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's psycopg2 for Debian's python3: installed here rather than by
# bin/setup, as only this suite needs it.  /usr/bin/python3, not whatever
# python3 is first on PATH (a pyenv or venv one cannot see the package).
if ! /usr/bin/python3 -c 'import psycopg2' 2>/dev/null; then
	sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
	echo "test/fuzz.sh: installing python3-psycopg2"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-psycopg2 >/dev/null
fi

echo "# cruddur installed by route ${CRUDDUR_ROUTE:-c} (test/route.bash)"
exec /usr/bin/python3 test/fuzz/sql_fuzz.py "$@"
