#!/usr/bin/env bash
#
# test/flavour.sh: an SQL flavour route held to the C build's suites, then
# what only that route has.  CRUDDUR_ROUTE=rds (the default) is the psql
# route (dist/cruddur-rds.sql, from `make rds`): its install refusing to run
# over existing objects, -v schema=, and its uninstall script.
# CRUDDUR_ROUTE=pgtle is the pg_tle route, in a cluster that preloads pg_tle
# (test/pgtle.sh makes one and runs this): see pgtle_route below.
# test/README.md says what this proves.
#
# The suites run on the route (test/route.bash): pg_regress and the
# isolation specs on databases the script installed into (--use-existing),
# the pgTAP files with their CREATE EXTENSION line taken out, the
# differential tests, the storm, the upgrades from each earlier release,
# dump and restore, installation by a database owner, the privileges, on
# the pg_tle route test/security.sh (its scenarios of that route) and
# test/adopt.sh (adopting an existing Cruddur database; it runs the psql
# route's itself), and the SQL-level fuzzer (FUZZ_CALLS, default 5000
# here: a quarter of test/run's).  Their outputs must equal the C build's
# expected files but for the differences README lists (test/route.bash's
# unlisted): on the psql route a query of the extension's membership
# (pg_depend) or of pg_extension finds nothing, since there is no
# extension.
#
# Runs against the cluster the PG* variables name (superuser).
#
set -uo pipefail
cd "$(dirname "$0")/.."
export CRUDDUR_ROUTE=${CRUDDUR_ROUTE:-rds}
. test/route.bash
[ "$CRUDDUR_ROUTE" != c ] || { echo "test/flavour.sh is for CRUDDUR_ROUTE=rds or pgtle"; exit 1; }
export PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

passed=0; failed=0; failures=()
part() {
	local name=$1; shift
	echo "--- $name"
	if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("$name"); fi
}
# suite SCRIPT [ENV...]: test/SCRIPT as a part, unless CRUDDUR_SKIP_SUITES
# leaves it out (bin/test runs the slow ones on 15 alone, as for the C build)
suite() {
	local s=test/$1; shift
	if [[ " ${CRUDDUR_SKIP_SUITES:-} " == *" $s "* ]]; then echo "--- $s: not run here (CRUDDUR_SKIP_SUITES)"; return; fi
	part "$s" env "$@" bash "$s"
}
q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
fresh() {	# fresh DB: an empty database with cruddur installed by the route
	q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $1" \
		-c "CREATE DATABASE $1" && create_cruddur -d "$1"
}

make -s rds || exit 1

regress() {
	fresh contrib_regression &&
	installcheck_listed "$tmp/regress/regression.diffs" ISOLATION= \
		REGRESS_OPTS="--use-existing --dbname=contrib_regression --outputdir=$tmp/regress"
}

isolation() {
	fresh isolation_regression &&
	installcheck_listed "$tmp/isolation/regression.diffs" REGRESS= \
		ISOLATION_OPTS="--use-existing --dbname=isolation_regression --outputdir=$tmp/isolation"
}

pgtap() {
	local f
	fresh cruddur_tap || return 1
	mkdir -p "$tmp/pgtap"
	for f in test/pgtap/*.sql; do
		grep -q '^CREATE EXTENSION cruddur;$' "$f" || { echo "$f has no line CREATE EXTENSION cruddur;"; return 1; }
		sed 's/^CREATE EXTENSION cruddur;$/-- cruddur: installed by test\/flavour.sh/' "$f" >"$tmp/pgtap/${f##*/}"
	done
	pg_prove -d cruddur_tap --ext .sql -r "$tmp/pgtap"
}

# What only the psql route has.
db=cruddur_flavour_$$
rds_route() {
	local out
	q -d postgres -c "CREATE DATABASE $db" || return 1
	# over an existing table: refused with the C build's error, nothing changed
	q -d "$db" -c 'CREATE TABLE users (x int)' -c "INSERT INTO users VALUES (42)" &&
	if out=$(create_cruddur -d "$db" 2>&1); then echo "installed over a table users"; return 1; fi
	echo "$out" | grep -q 'cannot create extension "cruddur" because relation "public.users" already exists' ||
		{ echo "unexpected: $out"; return 1; }
	[ "$(q -At -d "$db" -c "SELECT (SELECT x FROM users), (SELECT count(*) FROM pg_proc WHERE proname LIKE 'cruddur%')")" = "42|0" ] ||
		{ echo "the failed install left something behind"; return 1; }
	echo "ok - refused over an existing users table, which kept its row; no function created"
	# into a named schema, from another current schema: the same functions
	# and relations as in the current one
	local objects="SELECT string_agg(x, ' ' ORDER BY x) FROM (
		SELECT format('%s %s %s %s', p.oid::regprocedure, p.provolatile, p.proparallel, p.prosecdef) AS x
		  FROM pg_proc p WHERE pronamespace = (SELECT oid FROM pg_namespace WHERE nspname = :'s')
		UNION ALL SELECT format('%s %s', relname, relkind) FROM pg_class WHERE relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = :'s')) o"
	local here there kept
	q -d "$db" -c 'DROP TABLE users' -c 'CREATE SCHEMA "App Data"' && create_cruddur -d "$db" &&
	q -d "$db" -v schema='App Data' -f dist/cruddur-rds.sql >/dev/null &&
	here=$(q -At -d "$db" -v s=public <<<"$objects") &&
	there=$(q -At -d "$db" -v s='App Data' <<<"SET search_path = \"App Data\"; $objects") &&
	[ -n "$here" ] && [ "$here" = "$there" ] &&
	[ "$(q -At -d "$db" -c "SELECT \"App Data\".cruddur_user_short('nobody') IS NULL")" = t ] ||
		{ echo "install with -v schema='App Data' failed or differs from the one in public"; return 1; }
	echo "ok - -v schema='App Data' installs there the objects the current schema gets, and they find their tables"
	# a schema name a literal or a dollar quote could not hold is refused first
	q -d "$db" -c "CREATE SCHEMA \"x'); CREATE TABLE public.pwned(); SELECT ('\"" &&
	if out=$(q -d "$db" -v schema="x'); CREATE TABLE public.pwned(); SELECT ('" -f dist/cruddur-rds.sql 2>&1); then
		echo "installed into a schema named with a quote"; return 1
	fi
	echo "$out" | grep -q 'invalid character in schema name' || { echo "unexpected: $out"; return 1; }
	[ "$(q -At -d "$db" -c "SELECT to_regclass('public.pwned') IS NULL")" = t ] || { echo "public.pwned was created"; return 1; }
	echo "ok - a schema named x'); CREATE TABLE public.pwned(); SELECT (' is refused, and nothing ran"
	# uninstall: every object of the schema gone, those of public kept
	q -d "$db" -v schema='App Data' -f dist/cruddur-rds-uninstall.sql >/dev/null &&
	[ "$(q -At -d "$db" -c "SELECT count(*) FROM pg_class WHERE relnamespace = '\"App Data\"'::regnamespace" \
		-c "SELECT count(*) FROM pg_proc WHERE pronamespace = '\"App Data\"'::regnamespace")" = $'0\n0' ] &&
	kept=$(q -At -d "$db" -v s=public <<<"$objects") && [ "$kept" = "$here" ] ||
		{ echo "uninstall left objects, or took others"; return 1; }
	echo "ok - dist/cruddur-rds-uninstall.sql drops every table and function of the schema, nothing else"
	privileges
}

# The psql route installed by a database owner who is not a superuser: it
# owns every object, so the SECURITY DEFINER writes run as it; a role
# granted only EXECUTE on cruddur_register_user registers people and can do
# nothing else, and PUBLIC nothing at all.
privileges() {
	local p=${db}_p owner=${db}_owner lambda=${db}_lambda nobody=${db}_nobody sql out code
	local event; event=$(cat test/fixtures/cognito/post-confirmation-signup.json)
	as() { PGOPTIONS="-c role=$1" psql -X -q -v ON_ERROR_STOP=1 -d "$p" -v event="$event" "${@:2}"; }
	q -d postgres -c "CREATE ROLE $owner" -c "CREATE ROLE $lambda" -c "CREATE ROLE $nobody" \
		-c "CREATE DATABASE $p OWNER $owner" -c "REVOKE CREATE ON SCHEMA public FROM PUBLIC" &&
	q -d "$p" -c "ALTER SCHEMA public OWNER TO $owner" &&
	as "$owner" -f dist/cruddur-rds.sql >/dev/null &&
	as "$owner" -c "GRANT EXECUTE ON FUNCTION cruddur_register_user(jsonb) TO $lambda" &&
	as "$lambda" <<<"SELECT cruddur_register_user(:'event')" >/dev/null &&
	[ "$(q -At -d "$p" -c 'SELECT count(*) FROM users')" = 1 ] || { echo "the Lambda role could not register"; return 1; }
	for sql in "SELECT count(*) FROM users" "INSERT INTO users (display_name, handle, email, cognito_user_id) VALUES ('x', 'x', 'x', 'x')" \
			"UPDATE users SET bio = 'x'" "DELETE FROM activities" "TRUNCATE users CASCADE" \
			"SELECT cruddur_create_activity(cognito_user_id, 'hi') FROM (SELECT 'x' AS cognito_user_id) x" \
			"SELECT cruddur_home_feed()" "ALTER FUNCTION cruddur_register_user(jsonb) SECURITY INVOKER" \
			"CREATE OR REPLACE FUNCTION cruddur_uuid_v7() RETURNS uuid LANGUAGE sql AS 'SELECT NULL::uuid'"; do
		for role in "$lambda" "$nobody"; do
			out=$(as "$role" -c "$sql" 2>&1) && { echo "$role could: $sql"; return 1; }
			grep -q 'permission denied\|must be owner\|not granted' <<<"$out" || { echo "$role, $sql: $out"; return 1; }
		done
	done
	# re-granting without the grant option grants nothing (a WARNING, not an error)
	as "$lambda" -c "GRANT EXECUTE ON FUNCTION cruddur_register_user(jsonb) TO PUBLIC" 2>/dev/null
	out=$(as "$nobody" <<<"SELECT cruddur_register_user(:'event')" 2>&1) && { echo "$nobody registered"; return 1; }
	grep -q 'permission denied for function cruddur_register_user' <<<"$out" || { echo "unexpected: $out"; return 1; }
	echo "ok - installed by a non-superuser database owner: a role granted only EXECUTE on cruddur_register_user registers, and it and a role without grants are refused 9 table, function and ownership commands; re-granting registration to PUBLIC grants nothing"
	q -d postgres -c "DROP DATABASE $p" -c "DROP ROLE $owner, $lambda, $nobody"
}

# An install of the version before ($1: the commands that make it, in $u),
# with a person and a crud, upgraded by $2, has the catalog ($3: the
# listing, and the lines to leave out) of a fresh install, and keeps its rows.
# ($from and $to: the last release's versions; in $tmp/old/dist the SQL
# flavour of $from, test/route.bash's old_dist.)
upgraded_as_fresh() {
	local u=${db}_u f=${db}_f
	q -d postgres -c "CREATE DATABASE $u" -c "CREATE DATABASE $f" && eval "$1" &&
	q -d "$u" -v event="$(cat test/fixtures/cognito/post-confirmation-signup.json)" >/dev/null <<-'SQL' &&
		SELECT cruddur_register_user(:'event');
		SELECT cruddur_create_activity(cognito_user_id, 'before the upgrade') FROM users;
	SQL
	eval "$2" && create_cruddur -d "$f" &&
	eval "q -At -d $u $3" >"$tmp/upgraded.txt" && eval "q -At -d $f $3" >"$tmp/fresh.txt" || return 1
	diff "$tmp/fresh.txt" "$tmp/upgraded.txt" || { echo "the upgraded catalog differs from a fresh install's"; return 1; }
	[ "$(q -At -d "$u" -c "SELECT count(*) FROM activities WHERE message = 'before the upgrade'")" = 1 ] ||
		{ echo "the upgrade lost the crud"; return 1; }
	echo "ok - $from, upgraded: the catalog of a fresh $to install ($(wc -l <"$tmp/fresh.txt") lines), rows kept"
	q -d postgres -c "DROP DATABASE $u" -c "DROP DATABASE $f"
}

# Give every function that is C in the C build, in database $1, a body
# unlike this tree's, as the flavour of an earlier release may have left
# it: an upgrade script re-creates them all (bin/flavour).
stale_bodies() {
	local names
	names=$(perl -0ne 'print "\x27$1\x27\n" while /^CREATE FUNCTION \@extschema\@\.(\w+)\((?:(?!;\n).)*?AS .MODULE_PATHNAME/msg' \
		src/cruddur--*.sql | sort -u | paste -sd,)
	[ "$(q -At -d "$1" -c "WITH s AS (UPDATE pg_catalog.pg_proc SET prosrc = prosrc || E'\\n-- an older release'
		WHERE pronamespace = 'public'::regnamespace AND proname IN ($names) RETURNING 1) SELECT count(*) FROM s")" -ge 9 ]
}

# The psql route's last upgrade script, bodies included in the comparison,
# from an install whose bodies are not this tree's (test/upgrade.sh
# upgrades installs of every earlier release, with this tree's bodies).
rds_upgrade() {
	local last from to
	last=$(upgrade_steps 0 | tail -1); from=${last%%--*}; to=${last#*--}
	old_dist "$from" "$tmp/old" >/dev/null || return 1
	upgraded_as_fresh 'q -d "$u" -f "$tmp/old/dist/cruddur-rds.sql" >/dev/null && stale_bodies "$u"' \
		'q -d "$u" -f "dist/cruddur-rds--$from--$to.sql" >/dev/null' \
		'-v schema=public -f test/schema_catalog.sql'
}

# The pg_tle route's script for a release where the version before is
# registered but not installed: dist/cruddur-pgtle--A--B.sql registers only
# what is new, and CREATE EXTENSION then has the catalog of a database
# registered in one go.  (Where it is installed: test/upgrade.sh.)
pgtle_upgrade() {
	local u=${db}_u f=${db}_f last from to
	last=$(upgrade_steps 0 | tail -1); from=${last%%--*}; to=${last#*--}
	old_dist "$from" "$tmp/old" >/dev/null &&
	q -d postgres -c "CREATE DATABASE $u" -c "CREATE DATABASE $f" &&
	q -d "$u" -c "CREATE EXTENSION pg_tle" -f "$tmp/old/dist/cruddur-pgtle.sql" >/dev/null &&
	q -d "$u" -f "dist/cruddur-pgtle--$last.sql" -c "CREATE EXTENSION cruddur" >/dev/null &&
	create_cruddur -d "$f" && catalog_of -d "$u" >"$tmp/upgraded.txt" && catalog_of -d "$f" >"$tmp/fresh.txt" || return 1
	diff "$tmp/fresh.txt" "$tmp/upgraded.txt" || { echo "the catalog differs from a fresh install's"; return 1; }
	echo "ok - $from registered, then dist/cruddur-pgtle--$last.sql: CREATE EXTENSION cruddur installs $to as where it was registered in one go ($(wc -l <"$tmp/fresh.txt") lines)"
	q -d postgres -c "DROP DATABASE $u" -c "DROP DATABASE $f"
}

# What only the pg_tle route has.
pgtle_route() {
	local out a=${db}_a evil="x'); CREATE TABLE public.pwned(); SELECT ('"
	q -d postgres -c "CREATE DATABASE $a" && create_cruddur -d "$a" || return 1
	# pg_tle substitutes @extschema@ without core's check (CVE-2023-39417)
	q -d "$a" -c 'DROP EXTENSION cruddur' -c "CREATE SCHEMA \"$evil\"" || return 1
	if out=$(q -d "$a" -c "CREATE EXTENSION cruddur SCHEMA \"$evil\"" 2>&1); then
		echo "CREATE EXTENSION cruddur went into a schema named with a quote"; return 1
	fi
	echo "$out" | grep -q 'invalid character in schema name' || { echo "unexpected: $out"; return 1; }
	[ "$(q -At -d "$a" -c "SELECT to_regclass('public.pwned') IS NULL")" = t ] || { echo "public.pwned was created"; return 1; }
	echo "ok - CREATE EXTENSION cruddur SCHEMA \"$evil\" is refused, and nothing ran"
	if out=$(q -d "$a" -f dist/cruddur-pgtle.sql 2>&1); then echo "registered twice"; return 1; fi
	echo "$out" | grep -q 'already installed' || { echo "unexpected: $out"; return 1; }
	echo "ok - running dist/cruddur-pgtle.sql again fails: already installed"
	q -d postgres -c "DROP DATABASE $a"
}

# The catalog against the C build's (test/schema_catalog.sql), but for the
# differences README lists for the route: functions' language and body, the
# PARALLEL label of cruddur_uuid_v7, and (psql route) extension membership.
# The C build's listing is made here, or read from $CRUDDUR_C_CATALOG where
# the cluster has no C build (test/pgtle.sh makes it beforehand).
listed() {
	grep -v -e '^function .*) language ' -e '^function .*) body ' |
		sed 's/^\(function cruddur_uuid_v7() .* parallel \)[su] /\1(listed) /' |
		if [ "$CRUDDUR_ROUTE" = rds ]; then grep -v ': member of extension '; else cat; fi
}
catalog() {
	local c=${db}_cc r=${db}_cr
	if [ -n "${CRUDDUR_C_CATALOG:-}" ]; then
		cp "$CRUDDUR_C_CATALOG" "$tmp/c.txt"
	else
		q -d postgres -c "CREATE DATABASE $c" && q -d "$c" -c 'CREATE EXTENSION cruddur' &&
		q -At -d "$c" -v schema=public -f test/schema_catalog.sql >"$tmp/c.txt" || return 1
		q -d postgres -c "DROP DATABASE $c"
	fi
	fresh "$r" && q -At -d "$r" -v schema=public -f test/schema_catalog.sql >"$tmp/r.txt" || return 1
	q -d postgres -c "DROP DATABASE $r"
	diff <(listed <"$tmp/c.txt") <(listed <"$tmp/r.txt") || { echo "the catalog differs from the C build's"; return 1; }
	echo "ok - the catalog equals the C build's ($(wc -l <"$tmp/c.txt") lines) but for the differences listed in README ($(diff "$tmp/c.txt" "$tmp/r.txt" | grep -c '^>') lines)"
}

part "pg_regress (sql/, expected/)" regress
part "isolation (specs/)" isolation
part "pgTAP (test/pgtap)" pgtap
suite differential.sh
suite storm.sh
suite upgrade.sh
suite dump_restore.sh
suite install.sh
suite privileges_dump.sh
# (its pg_tle scenarios; the psql route's is its scenario 2b, in the C run)
[ "$CRUDDUR_ROUTE" != pgtle ] || suite security.sh
suite fuzz.sh FUZZ_CALLS="${FUZZ_CALLS:-5000}"
# (on the psql route test/adopt.sh's own second run, CRUDDUR_ADOPT_ROUTE=rds)
[ "$CRUDDUR_ROUTE" = rds ] || suite adopt.sh
part "catalog against the C build's" catalog
if [ "$CRUDDUR_ROUTE" = rds ]; then
	part "the psql route's own install, schema, refusals, uninstall" rds_route
	part "the psql route's last upgrade script, over an older release's bodies" rds_upgrade
else
	part "the pg_tle route's own registration and schema refusal" pgtle_route
	part "the pg_tle route's script for a release" pgtle_upgrade
fi
q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1

[ $failed -eq 0 ] || printf 'failed part: %s\n' "${failures[@]}"
echo "flavour (route $CRUDDUR_ROUTE): $passed passed, $failed failed"
[ $failed -eq 0 ]
