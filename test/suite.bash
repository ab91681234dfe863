# test/suite.bash: what test/dump_restore.sh and test/upgrade.sh share,
# sourced after they cd to the top of the tree.  (Not *.sh, so test/run
# does not take it for a suite.)  With test/route.bash, so that both run
# on the route CRUDDUR_ROUTE names.
#
# Sets: run (a name prefix unique to this run), owner (a role that owns
# databases and is not a superuser), app (the app's role), tmp (a scratch
# directory), databases (what newdb created); all dropped on exit.

run=$1_$$
owner=${run}_owner
app=${run}_app
tmp=$(mktemp -d)
databases=()

cleanup() {
	local db
	for db in "${databases[@]}"; do
		psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" || true
	done
	psql -X -q -d postgres -c "DROP ROLE IF EXISTS $app, $owner" || true
	rm -rf "$tmp"
}
trap cleanup EXIT

psql -X -q -d postgres -c "CREATE ROLE $owner" -c "CREATE ROLE $app"

. test/route.bash

. test/tap.bash

# as ROLE DB [psql options...]: psql in DB as ROLE, stopping at the first error
as() {
	local role=$1 db=$2; shift 2
	PGOPTIONS="${PGOPTIONS:-} -c role=$role" psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"
}

# value DB SQL: the single value SQL returns
value() {
	psql -X -A -t -q -v ON_ERROR_STOP=1 -d "$1" -c "$2"
}

# check DB WHAT SQL: SQL must return true
check() {
	local got
	got=$(value "$1" "$3") || fail "$2 (query failed)"
	[ "$got" = t ] || fail "$2 (got '$got')"
	ok "$2"
}

# newdb NAME OWNER: an empty database, dropped on exit
newdb() {
	databases+=("$1")
	psql -X -q -d postgres -c "SET client_min_messages = warning" \
		-c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1 OWNER $2"
}

# as_route ROLE FUNCTION ARGS...: a test/route.bash FUNCTION as ROLE
as_route() {
	local role=$1; shift
	PGOPTIONS="${PGOPTIONS:-} -c role=$role" "$@"
}

# newdb_route NAME OWNER: newdb, made ready for OWNER to install by the route
newdb_route() {
	newdb "$1" "$2" && route_db "$1" "$2"
}

# newdb_restore NAME ROLE: newdb, made ready for ROLE to restore a dump of
# cruddur into (restore_as): the superuser's restore enables pg_tle itself
newdb_restore() {
	newdb "$1" "$2"
	[ "$2" = postgres ] || route_db "$1" "$2"
}

# load ROLE DB: the test data, as ROLE: test/hostile_data.sql's strings
# (its scratch schema dropped), test/fixtures/data.sql's shapes, then
# test/fixtures/data_api.sql's rows through the functions; prints its
# "# SKIP" lines and returns false if there were any
# (every step checked by hand: set -e does not apply inside a function
# whose caller tests its status)
load() {
	as "$1" "$2" -v people=60 -v cruds=1500 -f test/hostile_data.sql >/dev/null &&
		as "$1" "$2" -c "SET client_min_messages = warning" -c "DROP SCHEMA hostile CASCADE" &&
		as "$1" "$2" -1 -f test/fixtures/data.sql >/dev/null &&
		as "$1" "$2" -v event="$(cat test/fixtures/cognito/post-confirmation-signup.json)" \
			-f test/fixtures/data_api.sql >"$tmp/api.out" ||
		fail "loading the test data into $2"
	! grep '^# SKIP' "$tmp/api.out"
}

# Rows whose replies_count is not their number of replies.
wrong_counts="SELECT count(*) FROM activities p
	WHERE replies_count <> (SELECT count(*) FROM activities c WHERE c.reply_to_activity_uuid = p.uuid)"

# People whose cruds_count (1.2) is not their number of activities.
wrong_cruds="SELECT count(*) FROM users u
	WHERE cruds_count <> (SELECT count(*) FROM activities a WHERE a.user_uuid = u.uuid)"
