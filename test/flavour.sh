#!/usr/bin/env bash
#
# test/flavour.sh: the SQL flavour's psql route (dist/cruddur-rds.sql, from
# `make rds`) held to the C build's suites, then what only that route has:
# its install refusing to run over existing objects, -v schema=, its upgrade
# script and its uninstall script.  test/README.md says what this proves.
#
# The suites run with CRUDDUR_ROUTE=rds (test/route.bash): pg_regress and the
# isolation specs on databases the script installed into (--use-existing),
# the pgTAP files with their CREATE EXTENSION line taken out, the
# differential tests and the storm.  Their outputs must equal the C build's
# expected files but for the differences README lists for this route: a
# query of the extension's membership (pg_depend) or of pg_extension finds
# nothing, since there is no extension.
#
# Runs against the cluster the PG* variables name (superuser).
#
set -uo pipefail
cd "$(dirname "$0")/.."
export CRUDDUR_ROUTE=rds
. test/route.bash
export PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

passed=0; failed=0; failures=()
part() {
	local name=$1; shift
	echo "--- $name"
	if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("$name"); fi
}
q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
fresh() {	# fresh DB: an empty database with cruddur installed by the route
	q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $1" \
		-c "CREATE DATABASE $1" && create_cruddur -d "$1"
}

make -s rds || exit 1

# The hunks of a pg_regress diff that are not a listed difference: a query
# of extension membership or of pg_extension, which here returns no row.
unlisted() {
	perl -ne '
		if (/^@@/ || /^diff /) { flush(); $h = "" }
		$h .= $_;
		END { flush() }
		sub flush {
			return unless $h =~ /^@@/m;
			my @plus = grep { !/^\+\+\+/ } $h =~ /^\+(.*)$/mg;
			my $empty = @plus == 3 && $plus[2] eq "(0 rows)" && $plus[1] =~ /^-+(\+-+)*$/;
			my $membership = $h =~ /^-\s+(function|extversion)\s+\|/m;
			print $h unless $empty && $membership;
		}' "$1"
}

regress() {
	fresh contrib_regression || return 1
	make -s installcheck ISOLATION= \
		REGRESS_OPTS="--use-existing --dbname=contrib_regression --outputdir=$tmp/regress" \
		>"$tmp/regress.out" 2>&1
	grep -E '^(test|ok|not ok) ' "$tmp/regress.out"
	[ -e "$tmp/regress/regression.diffs" ] || return 0
	unlisted "$tmp/regress/regression.diffs" >"$tmp/unlisted.diffs"
	echo "listed differences (no extension on this route): $(grep -c '^@@' "$tmp/regress/regression.diffs") hunks"
	[ -s "$tmp/unlisted.diffs" ] || return 0
	head -200 "$tmp/unlisted.diffs"
	return 1
}

isolation() {
	fresh isolation_regression &&
	make -s installcheck REGRESS= \
		ISOLATION_OPTS="--use-existing --dbname=isolation_regression --outputdir=$tmp/isolation" \
		>"$tmp/isolation.out" 2>&1
	local rc=$?
	grep -E '^(test|ok|not ok) ' "$tmp/isolation.out"
	[ $rc -eq 0 ] || { cat "$tmp/isolation/regression.diffs" 2>/dev/null | head -200; return 1; }
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

# What only this route has.
db=cruddur_flavour_$$
route() {
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
	# into a named schema, from another current schema
	q -d "$db" -c 'CREATE SCHEMA "App Data"' &&
	q -d "$db" -v schema='App Data' -f dist/cruddur-rds.sql >/dev/null &&
	[ "$(q -At -d "$db" -c "SELECT count(*) FROM pg_proc WHERE pronamespace = '\"App Data\"'::regnamespace" \
		-c "SELECT \"App Data\".cruddur_user_short('nobody') IS NULL")" = $'11\nt' ] ||
		{ echo "install with -v schema='App Data' failed"; return 1; }
	echo "ok - -v schema='App Data' installs there, and the functions find their tables"
	# a schema name a literal or a dollar quote could not hold is refused first
	q -d "$db" -c "CREATE SCHEMA \"x'); CREATE TABLE public.pwned(); SELECT ('\"" &&
	if out=$(q -d "$db" -v schema="x'); CREATE TABLE public.pwned(); SELECT ('" -f dist/cruddur-rds.sql 2>&1); then
		echo "installed into a schema named with a quote"; return 1
	fi
	echo "$out" | grep -q 'invalid character in schema name' || { echo "unexpected: $out"; return 1; }
	[ "$(q -At -d "$db" -c "SELECT to_regclass('public.pwned') IS NULL")" = t ] || { echo "public.pwned was created"; return 1; }
	echo "ok - a schema named x'); CREATE TABLE public.pwned(); SELECT (' is refused, and nothing ran"
	# the upgrade scripts, applied in order from 1.0, give the newest install
	# (a 1.0 install being the head of cruddur-rds.sql up to its first upgrade)
	# uninstall: every object of the schema gone, other schemas untouched
	q -d "$db" -v schema='App Data' -f dist/cruddur-rds-uninstall.sql >/dev/null &&
	[ "$(q -At -d "$db" -c "SELECT count(*) FROM pg_class WHERE relnamespace = '\"App Data\"'::regnamespace" \
		-c "SELECT count(*) FROM pg_proc WHERE pronamespace = '\"App Data\"'::regnamespace" \
		-c "SELECT x FROM public.users")" = $'0\n0\n42' ] || { echo "uninstall left objects"; return 1; }
	echo "ok - dist/cruddur-rds-uninstall.sql drops every table and function of the schema, nothing else"
}

part "pg_regress (sql/, expected/)" regress
part "isolation (specs/)" isolation
part "pgTAP (test/pgtap)" pgtap
part "test/differential.sh" bash test/differential.sh
part "test/storm.sh" bash test/storm.sh
part "the psql route's own install, schema, refusals, uninstall" route
q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1

[ $failed -eq 0 ] || printf 'failed part: %s\n' "${failures[@]}"
echo "flavour (psql route): $passed passed, $failed failed"
[ $failed -eq 0 ]
