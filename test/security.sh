#!/usr/bin/env bash
#
# test/security.sh: install-script and call-time security (the class of
# CVE-2020-14350, CVE-2022-2625 and CVE-2023-39417).
#
# A low-privilege role ("attacker", CREATE on public and its own schema
# evil) plants look-alikes of what the scripts and the C code could resolve
# by name: functions, operators, aggregates, domains named like built-in
# types, and views named users/activities, in evil, in public and in the
# calling session's pg_temp.  Every planted object records that it ran three
# ways that survive each other's failure: nextval() of a sequence (not rolled
# back), a WARNING, and a row in a world-writable log table.  A canary run
# first proves every plant that PostgreSQL can resolve does capture an
# unqualified reference under the hostile search_path; then cruddur is
# installed and every function called under that search_path (pg_catalog
# last, pg_temp first in a second pass) and hostile session settings, as
# superuser, as a non-superuser database owner installing the trusted
# extension, as the app and Lambda roles, and after ALTER EXTENSION UPDATE:
# no planted object may ever run.  Objects named like the extension's own,
# pre-created in the target schema, make CREATE EXTENSION refuse with a
# message that names them, and touch nothing.  test/README.md lists what is
# out of scope.
#
# With CRUDDUR_ROUTE=pgtle (test/flavour.sh in test/pgtle.sh's cluster,
# which preloads pg_tle and has no C build) it runs the pg_tle route's
# scenarios instead (pgtle_scenarios): the registration scripts, refused in
# a session with temporary types or relations, CREATE EXTENSION, ALTER
# EXTENSION UPDATE and every call, in hostile sessions, and what pg_tle's
# own search of an update path runs (tle_limit, the limit README states).
#
# Needs the PG* variables of a cluster where the connecting user is a
# superuser; creates and drops its own roles (cruddur_sec_<pid>_*) and
# databases.  Exits non-zero on any failure.
#
set -euo pipefail
cd "$(dirname "$0")/.."

. test/route.bash
. test/logins.bash cruddur_sec
attacker=${id}_attacker
owner=${id}_owner
app=${id}_app
lambda=${id}_lambda
logins "$attacker" "$owner" "$app" "$lambda"

# CVE-2022-2625: an install script must never take over an object it did not
# create.
if grep -niE 'or[[:space:]]+replace|if[[:space:]]+not[[:space:]]+exists' src/cruddur--*.sql; then
	fail "an install script uses CREATE OR REPLACE or IF NOT EXISTS"
else
	ok "no CREATE OR REPLACE / IF NOT EXISTS in the install scripts"
fi

###########################################################################
# The attacker's kit, created in every test database.  evil.plant(s) plants
# every look-alike into schema s (evil, public, or the caller's pg_temp) and
# registers it in evil.planted with a probe: a statement that, run
# unqualified under a search_path putting s before pg_catalog, resolves to
# the plant.  Functions and operators in pg_temp get no probe: PostgreSQL
# never looks them up there without qualification.
###########################################################################
cat >"$tmp/kit.sql" <<'SQL'
CREATE SCHEMA evil AUTHORIZATION :"attacker";
GRANT USAGE ON SCHEMA evil TO PUBLIC;
GRANT CREATE ON SCHEMA public TO :"attacker";
SET ROLE :"attacker";
SET search_path = pg_catalog;

CREATE TABLE evil.hits (
	what	pg_catalog.text NOT NULL,
	who		pg_catalog.name NOT NULL,
	superuser pg_catalog.bool NOT NULL,
	at		pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp()
);
CREATE SEQUENCE evil.hit_count;
CREATE TABLE evil.planted (
	label	pg_catalog.text PRIMARY KEY,
	schema_name pg_catalog.text NOT NULL,
	probe	pg_catalog.text
);
GRANT SELECT, INSERT ON evil.hits, evil.planted TO PUBLIC;
GRANT USAGE, SELECT, UPDATE ON SEQUENCE evil.hit_count TO PUBLIC;

-- What every planted object does when it runs.
CREATE FUNCTION evil.hit(what pg_catalog.text) RETURNS pg_catalog.bool
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	PERFORM nextval('evil.hit_count');
	RAISE WARNING 'CRUDDUR-SEC planted object ran: % (as %)', what, current_user;
	INSERT INTO evil.hits (what, who, superuser)
	SELECT what, current_user, rolsuper FROM pg_roles WHERE rolname = current_user;
	RETURN true;
END
$$;

-- INSTEAD OF trigger of the planted views: writes are recorded too.
CREATE FUNCTION evil.view_write() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	PERFORM evil.hit(format('%s.%s (%s)', TG_ARGV[0], TG_TABLE_NAME, TG_OP));
	RETURN NULL;
END
$$;

CREATE FUNCTION evil.plant(s pg_catalog.text) RETURNS pg_catalog.int4
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $plant$
DECLARE
	f record;
	n int4 := 0;
	lbl text;
	probes bool := s <> 'pg_temp';
	sample jsonb := '{
		"text": "''a''::pg_catalog.text",
		"character varying": "''a''::pg_catalog.varchar",
		"uuid": "''00000000-0000-0000-0000-000000000000''::pg_catalog.uuid",
		"integer": "1::pg_catalog.int4",
		"bigint": "1::pg_catalog.int8",
		"timestamp without time zone": "''2020-01-01''::pg_catalog.timestamp",
		"timestamp with time zone": "''2020-01-01''::pg_catalog.timestamptz",
		"interval": "''1 day''::pg_catalog.interval",
		"jsonb": "''{}''::pg_catalog.jsonb",
		"json": "''{}''::pg_catalog.json",
		"name": "''a''::pg_catalog.name",
		"text[]": "''{a}''::pg_catalog.text[]"}';
BEGIN
	-- functions: name, arguments, result, what the real one returns, probe
	FOR f IN SELECT * FROM (VALUES
		('lower', 'text', 'text', 'pg_catalog.lower($1)', 'SELECT lower(''X''::pg_catalog.text)'),
		('lower', 'character varying', 'text', 'pg_catalog.lower($1)', 'SELECT lower(''X''::pg_catalog.varchar)'),
		('upper', 'text', 'text', 'pg_catalog.upper($1)', 'SELECT upper(''x''::pg_catalog.text)'),
		('now', '', 'timestamp with time zone', 'pg_catalog.now()', 'SELECT now()'),
		('clock_timestamp', '', 'timestamp with time zone', 'pg_catalog.clock_timestamp()', 'SELECT clock_timestamp()'),
		('statement_timestamp', '', 'timestamp with time zone', 'pg_catalog.statement_timestamp()', 'SELECT statement_timestamp()'),
		('transaction_timestamp', '', 'timestamp with time zone', 'pg_catalog.transaction_timestamp()', 'SELECT transaction_timestamp()'),
		('timezone', 'text, timestamp with time zone', 'timestamp without time zone', 'pg_catalog.timezone($1, $2)',
		 'SELECT timezone(''UTC'', ''2020-01-01''::pg_catalog.timestamptz)'),
		('timezone', 'character varying, timestamp with time zone', 'timestamp without time zone', 'pg_catalog.timezone($1, $2)',
		 'SELECT timezone(''UTC''::pg_catalog.varchar, ''2020-01-01''::pg_catalog.timestamptz)'),
		('timezone', 'text, timestamp without time zone', 'timestamp with time zone', 'pg_catalog.timezone($1, $2)',
		 'SELECT timezone(''UTC'', ''2020-01-01''::pg_catalog.timestamp)'),
		('char_length', 'text', 'integer', 'pg_catalog.char_length($1)', 'SELECT char_length(''x''::pg_catalog.text)'),
		('char_length', 'character varying', 'integer', 'pg_catalog.char_length($1)', 'SELECT char_length(''x''::pg_catalog.varchar)'),
		('length', 'text', 'integer', 'pg_catalog.length($1)', 'SELECT length(''x''::pg_catalog.text)'),
		('format', 'text', 'text', 'pg_catalog.format($1)', 'SELECT format(''x'')'),
		('format', 'text, text', 'text', 'pg_catalog.format($1, $2)', 'SELECT format(''%s'', ''x''::pg_catalog.text)'),
		('quote_ident', 'text', 'text', 'pg_catalog.quote_ident($1)', 'SELECT quote_ident(''x'')'),
		('quote_literal', 'text', 'text', 'pg_catalog.quote_literal($1)', 'SELECT quote_literal(''x''::pg_catalog.text)'),
		('jsonb_typeof', 'jsonb', 'text', 'pg_catalog.jsonb_typeof($1)', 'SELECT jsonb_typeof(''{}''::pg_catalog.jsonb)'),
		('json_typeof', 'json', 'text', 'pg_catalog.json_typeof($1)', 'SELECT json_typeof(''{}''::pg_catalog.json)'),
		('jsonb_object_field', 'jsonb, text', 'jsonb', 'pg_catalog.jsonb_object_field($1, $2)',
		 'SELECT jsonb_object_field(''{}''::pg_catalog.jsonb, ''a'')'),
		('jsonb_object_field_text', 'jsonb, text', 'text', 'pg_catalog.jsonb_object_field_text($1, $2)',
		 'SELECT jsonb_object_field_text(''{}''::pg_catalog.jsonb, ''a'')'),
		('jsonb_extract_path_text', 'jsonb, VARIADIC text[]', 'text', 'pg_catalog.jsonb_extract_path_text($1, VARIADIC $2)',
		 'SELECT jsonb_extract_path_text(''{}''::pg_catalog.jsonb, ''a'')'),
		('row_to_json', 'record', 'json', 'pg_catalog.row_to_json($1)', 'SELECT row_to_json(r) FROM (SELECT 1 AS a) r'),
		('array_to_json', 'anyarray', 'json', 'pg_catalog.array_to_json($1)', 'SELECT array_to_json(''{1}''::pg_catalog.int4[])'),
		('to_json', 'anyelement', 'json', 'pg_catalog.to_json($1)', 'SELECT to_json(1::pg_catalog.int4)'),
		('to_jsonb', 'anyelement', 'jsonb', 'pg_catalog.to_jsonb($1)', 'SELECT to_jsonb(1::pg_catalog.int4)'),
		('pg_extension_config_dump', 'regclass, text', 'void', '', 'SELECT pg_extension_config_dump(''pg_class''::pg_catalog.regclass, '''')'),
		('pg_extension_config_dump', 'text, text', 'void', '', 'SELECT pg_extension_config_dump(''x'', '''')'),
		('gen_random_uuid', '', 'uuid', 'pg_catalog.gen_random_uuid()', 'SELECT gen_random_uuid()'),
		('set_config', 'text, text, boolean', 'text', 'pg_catalog.set_config($1, $2, $3)',
		 'SELECT set_config(''cruddur_sec.x'', ''1'', true)'),
		('current_setting', 'text', 'text', 'pg_catalog.current_setting($1)', 'SELECT current_setting(''search_path'')'),
		('pg_advisory_xact_lock', 'bigint', 'void', '', 'SELECT pg_advisory_xact_lock(1::pg_catalog.int8)'),
		('pg_advisory_xact_lock', 'integer, integer', 'void', '', 'SELECT pg_advisory_xact_lock(1, 1)'),
		('hashtext', 'text', 'integer', 'pg_catalog.hashtext($1)', 'SELECT hashtext(''x''::pg_catalog.text)'),
		('hashtextextended', 'text, bigint', 'bigint', 'pg_catalog.hashtextextended($1, $2)',
		 'SELECT hashtextextended(''x''::pg_catalog.text, 0::pg_catalog.int8)'),
		('regexp_replace', 'text, text, text', 'text', 'pg_catalog.regexp_replace($1, $2, $3)',
		 'SELECT regexp_replace(''x''::pg_catalog.text, ''x'', ''y'')'),
		('regexp_replace', 'text, text, text, text', 'text', 'pg_catalog.regexp_replace($1, $2, $3, $4)',
		 'SELECT regexp_replace(''x''::pg_catalog.text, ''x'', ''y'', ''g'')'),
		('btrim', 'text', 'text', 'pg_catalog.btrim($1)', 'SELECT btrim(''x''::pg_catalog.text)'),
		('btrim', 'text, text', 'text', 'pg_catalog.btrim($1, $2)', 'SELECT btrim(''x''::pg_catalog.text, ''_'')'),
		('substr', 'text, integer, integer', 'text', 'pg_catalog.substr($1, $2, $3)', 'SELECT substr(''x''::pg_catalog.text, 1, 1)'),
		('left', 'text, integer', 'text', 'pg_catalog.left($1, $2)', 'SELECT "left"(''x''::pg_catalog.text, 1)'),
		('split_part', 'text, text, integer', 'text', 'pg_catalog.split_part($1, $2, $3)', 'SELECT split_part(''x''::pg_catalog.text, ''@'', 1)'),
		-- look-alikes of the extension's own functions, outside its schema
		('cruddur_uuid_v7', '', 'uuid', 'pg_catalog.gen_random_uuid()', 'SELECT cruddur_uuid_v7()'),
		('cruddur_user_short', 'text', 'json', 'NULL', 'SELECT cruddur_user_short(''x''::pg_catalog.text)')
	) AS v(name, args, result, body, probe)
	WHERE NOT (s = 'public' AND name LIKE 'cruddur\_%')
	LOOP
		lbl := format('%s.%s(%s)', s, f.name, f.args);
		EXECUTE format('CREATE FUNCTION %I.%I(%s) RETURNS %s LANGUAGE plpgsql AS %L',
					   s, f.name, f.args, f.result,
					   format('BEGIN PERFORM evil.hit(%L); RETURN %s; END', lbl, f.body));
		INSERT INTO evil.planted VALUES (lbl, s, CASE WHEN probes THEN f.probe END) ON CONFLICT DO NOTHING;
		n := n + 1;
	END LOOP;

	-- operators: name, left, right, result, body when the generic one does not fit
	FOR f IN SELECT row_number() OVER () AS i, * FROM (VALUES
		('=', 'text', 'text', 'boolean', NULL),
		('=', 'text', 'character varying', 'boolean', NULL),
		('=', 'character varying', 'text', 'boolean', NULL),
		('=', 'uuid', 'uuid', 'boolean', NULL),
		('=', 'uuid', 'text', 'boolean', '$1::pg_catalog.text OPERATOR(pg_catalog.=) $2'),
		('=', 'text', 'uuid', 'boolean', '$1 OPERATOR(pg_catalog.=) $2::pg_catalog.text'),
		('=', 'integer', 'integer', 'boolean', NULL),
		('=', 'timestamp without time zone', 'timestamp without time zone', 'boolean', NULL),
		('<>', 'integer', 'integer', 'boolean', NULL),
		('<>', 'text', 'text', 'boolean', NULL),
		('<>', 'uuid', 'uuid', 'boolean', NULL),
		('~', 'text', 'text', 'boolean', NULL),
		('~', 'text', 'character varying', 'boolean', NULL),
		('~~', 'text', 'text', 'boolean', NULL),
		('~~', 'name', 'name', 'boolean', NULL),
		('~~*', 'text', 'text', 'boolean', NULL),
		('<', 'integer', 'integer', 'boolean', NULL),
		('>', 'integer', 'integer', 'boolean', NULL),
		('<=', 'integer', 'integer', 'boolean', NULL),
		('>=', 'integer', 'integer', 'boolean', NULL),
		('+', 'integer', 'integer', 'integer', NULL),
		('-', 'integer', 'integer', 'integer', NULL),
		('+', 'integer', 'bigint', 'bigint', NULL),
		('<', 'timestamp without time zone', 'timestamp without time zone', 'boolean', NULL),
		('>', 'timestamp without time zone', 'timestamp without time zone', 'boolean', NULL),
		('<=', 'timestamp without time zone', 'timestamp without time zone', 'boolean', NULL),
		('>=', 'timestamp without time zone', 'timestamp without time zone', 'boolean', NULL),
		('<', 'uuid', 'uuid', 'boolean', NULL),
		('>', 'uuid', 'uuid', 'boolean', NULL),
		('+', 'timestamp without time zone', 'interval', 'timestamp without time zone', NULL),
		('+', 'timestamp with time zone', 'interval', 'timestamp with time zone', NULL),
		('-', 'timestamp without time zone', 'interval', 'timestamp without time zone', NULL),
		('||', 'text', 'text', 'text', NULL),
		('->', 'jsonb', 'text', 'jsonb', NULL),
		('->>', 'jsonb', 'text', 'text', NULL),
		('->', 'jsonb', 'integer', 'jsonb', NULL),
		('->', 'json', 'text', 'json', NULL),
		('->>', 'json', 'text', 'text', NULL),
		('#>>', 'jsonb', 'text[]', 'text', NULL),
		('?', 'jsonb', 'text', 'boolean', NULL),
		('@>', 'jsonb', 'jsonb', 'boolean', NULL)
	) AS v(op, l, r, result, body)
	LOOP
		lbl := format('%s.%s(%s, %s)', s, f.op, f.l, f.r);
		EXECUTE format('CREATE FUNCTION %I.cruddur_sec_op_%s(%s, %s) RETURNS %s LANGUAGE plpgsql AS %L',
					   s, f.i, f.l, f.r, f.result,
					   format('BEGIN PERFORM evil.hit(%L); RETURN %s; END', lbl,
							  coalesce(f.body, format('$1 OPERATOR(pg_catalog.%s) $2', f.op))));
		EXECUTE format('CREATE OPERATOR %I.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = %I.cruddur_sec_op_%s)',
					   s, f.op, f.l, f.r, s, f.i);
		INSERT INTO evil.planted VALUES (lbl, s, CASE WHEN probes THEN
			format('SELECT %s %s %s', sample ->> f.l, f.op, sample ->> f.r) END) ON CONFLICT DO NOTHING;
		n := n + 1;
	END LOOP;

	-- aggregates: count(*), count of the types a count could be over, sum
	EXECUTE format('CREATE FUNCTION %I.cruddur_sec_count(bigint) RETURNS bigint LANGUAGE plpgsql AS %L', s,
				   format('BEGIN PERFORM evil.hit(%L); RETURN $1 OPERATOR(pg_catalog.+) 1; END', s || '.count(*)'));
	EXECUTE format('CREATE AGGREGATE %I.count(*) (SFUNC = %I.cruddur_sec_count, STYPE = bigint, INITCOND = 0)', s, s);
	INSERT INTO evil.planted VALUES (s || '.count(*)', s, CASE WHEN probes THEN
		'SELECT count(*) FROM (VALUES (1)) v' END) ON CONFLICT DO NOTHING;
	FOR f IN SELECT * FROM (VALUES ('count', 'uuid', '1'), ('count', 'text', '1'), ('count', 'integer', '1'),
			 ('sum', 'integer', '$2')) AS v(agg, t, step) LOOP
		lbl := format('%s.%s(%s)', s, f.agg, f.t);
		EXECUTE format('CREATE FUNCTION %I.cruddur_sec_%s(bigint, %s) RETURNS bigint LANGUAGE plpgsql AS %L',
					   s, f.agg, f.t,
					   format('BEGIN PERFORM evil.hit(%L); RETURN $1 OPERATOR(pg_catalog.+) %s; END', lbl, f.step));
		EXECUTE format('CREATE AGGREGATE %I.%I(%s) (SFUNC = %I.cruddur_sec_%s, STYPE = bigint, INITCOND = 0)',
					   s, f.agg, f.t, s, f.agg);
		INSERT INTO evil.planted VALUES (lbl, s, CASE WHEN probes THEN
			format('SELECT %s(%s) FROM (VALUES (1)) v', f.agg, sample ->> f.t) END) ON CONFLICT DO NOTHING;
		n := n + 2;
	END LOOP;

	-- domains named like built-in types: the cast runs the CHECK.  Types are
	-- looked up in pg_temp too, first of all when it is not in search_path.
	FOR f IN SELECT * FROM (VALUES ('text', 'a'), ('uuid', '00000000-0000-0000-0000-000000000000'),
			 ('json', '{}'), ('jsonb', '{}'), ('int4', '1'), ('int8', '1'), ('bool', 'true'),
			 ('name', 'a'), ('oid', '1'), ('regclass', 'pg_class'), ('timestamptz', '2020-01-01'),
			 ('float8', '1')) AS v(t, lit)
	LOOP
		lbl := format('%s.%s (domain)', s, f.t);
		EXECUTE format('CREATE DOMAIN %I.%I AS pg_catalog.%I CHECK (evil.hit(%L))', s, f.t, f.t, lbl);
		INSERT INTO evil.planted VALUES (lbl, s, format('SELECT %L::%I', f.lit, f.t)) ON CONFLICT DO NOTHING;
		n := n + 1;
	END LOOP;

	-- relations named like the extension's tables, reading and writing
	-- recorded (public already holds the real ones)
	IF s <> 'public' THEN
		EXECUTE format($v$CREATE VIEW %I.users AS
			SELECT * FROM (VALUES ('00000000-0000-0000-0000-000000000000'::pg_catalog.uuid,
				'x'::pg_catalog.text, 'x'::pg_catalog.text, 'x'::pg_catalog.text, 'x'::pg_catalog.text,
				NULL::pg_catalog.text, '2020-01-01'::pg_catalog.timestamp))
				AS v(uuid, display_name, handle, email, cognito_user_id, bio, created_at)
			 WHERE evil.hit(%L)$v$, s, s || '.users');
		EXECUTE format($v$CREATE VIEW %I.activities AS
			SELECT * FROM (VALUES ('00000000-0000-0000-0000-000000000000'::pg_catalog.uuid,
				'00000000-0000-0000-0000-000000000000'::pg_catalog.uuid, 'x'::pg_catalog.text,
				0::pg_catalog.int4, 0::pg_catalog.int4, 0::pg_catalog.int4, NULL::pg_catalog.uuid,
				NULL::pg_catalog.timestamp, '2020-01-01'::pg_catalog.timestamp))
				AS v(uuid, user_uuid, message, replies_count, reposts_count, likes_count,
					 reply_to_activity_uuid, expires_at, created_at)
			 WHERE evil.hit(%L)$v$, s, s || '.activities');
		EXECUTE format('CREATE TRIGGER w INSTEAD OF INSERT OR UPDATE OR DELETE ON %I.users
			FOR EACH ROW EXECUTE FUNCTION evil.view_write(%L)', s, s);
		EXECUTE format('CREATE TRIGGER w INSTEAD OF INSERT OR UPDATE OR DELETE ON %I.activities
			FOR EACH ROW EXECUTE FUNCTION evil.view_write(%L)', s, s);
		EXECUTE format('GRANT ALL ON %I.users, %I.activities TO PUBLIC', s, s);
		INSERT INTO evil.planted VALUES (s || '.users', s, 'SELECT 1 FROM users'),
			(s || '.activities', s, 'SELECT 1 FROM activities') ON CONFLICT DO NOTHING;
		n := n + 2;
	END IF;
	RETURN n;
END
$plant$;

-- Runs the probes of schema s's plants under the caller's search_path and
-- returns the labels of those that did not run.  Everything it writes
-- itself is qualified.
CREATE FUNCTION evil.canary(s pg_catalog.text) RETURNS SETOF pg_catalog.text
LANGUAGE plpgsql AS $$
DECLARE
	p record;
BEGIN
	FOR p IN SELECT label, probe FROM evil.planted
			  WHERE schema_name OPERATOR(pg_catalog.=) s AND probe IS NOT NULL
	LOOP
		EXECUTE p.probe;
		IF NOT EXISTS (SELECT FROM evil.hits WHERE what OPERATOR(pg_catalog.=) p.label) THEN
			RETURN NEXT p.label;
		END IF;
	END LOOP;
END
$$;

SELECT evil.plant('evil') AS planted_in_evil, evil.plant('public') AS planted_in_public;
SQL

# Hostile session settings every installing and calling session starts with
# (all settable by any role); $1 is the search_path; $2 "notemp" leaves out
# the plants in pg_temp (for pg_tle's registration, which refuses them).
hostile() {
	[ "${2:-}" = notemp ] || echo "SELECT evil.plant('pg_temp') IS NOT NULL AS planted_in_pg_temp \\gset"
	cat <<SQL
SET search_path = $1;
SET DateStyle = 'SQL, DMY';
SET TimeZone = 'Asia/Kathmandu';
SET IntervalStyle = 'sql_standard';
SET standard_conforming_strings = off;
SET transform_null_equals = on;
SET quote_all_identifiers = on;
SET extra_float_digits = -15;
SET bytea_output = 'escape';
SET plan_cache_mode = force_custom_plan;
SQL
}
path_catalog_last='evil, public, pg_temp, pg_catalog'
path_temp_first='pg_temp, evil, public, pg_catalog'

# The log must be empty: no row, the sequence never called, no WARNING.
# $1 database, $2 what ran, $3 file with the session's output.
check_log() {
	local db=$1 what=$2 out=$3 rows called
	rows=$(su "$db" -c "SELECT pg_catalog.string_agg(pg_catalog.format('%s as %s (superuser %s)', what, who, superuser), '; ') FROM evil.hits")
	called=$(su "$db" -c "SELECT is_called FROM evil.hit_count")
	if [ -n "$rows" ] || [ "$called" != f ] || grep -q 'CRUDDUR-SEC planted object ran' "$out"; then
		fail "$what: planted objects ran: ${rows:-(log rolled back)} $(grep -m5 'CRUDDUR-SEC' "$out" || true)"
		su "$db" -c "TRUNCATE evil.hits" -c "ALTER SEQUENCE evil.hit_count RESTART"
	else
		ok "$what: no planted object ran"
	fi
}

# New database with the kit; $1 name, $2 owner.
new_db() {
	newdb "$1" "$2"
	su "$1" -v attacker="$attacker" -f "$tmp/kit.sql" >/dev/null
}

# Every plant PostgreSQL can resolve must capture an unqualified reference
# under the hostile search_path; otherwise this test could not fail.
canaries() {
	local db=$1 missing n rc=0
	missing=$( { hostile "$path_catalog_last"; echo "SELECT * FROM evil.canary('evil');";
				 echo "SET search_path = public, pg_temp, pg_catalog; SELECT * FROM evil.canary('public');";
				 echo "SET search_path = pg_temp, pg_catalog; SELECT * FROM evil.canary('pg_temp');"; } |
			   su "$db" 2>"$tmp/canary.err") || rc=$?
	n=$(su "$db" -c "SELECT pg_catalog.count(*) FROM evil.planted WHERE probe IS NOT NULL")
	if [ $rc -ne 0 ]; then
		fail "$db: canary run failed: $(grep -v WARNING "$tmp/canary.err" | head -5)"
	elif [ -n "$missing" ]; then
		fail "$db: planted objects that do not capture an unqualified reference: $missing"
	else
		ok "$db: all $n probed plants capture unqualified references (canaries)"
	fi
	su "$db" -c "TRUNCATE evil.hits" -c "ALTER SEQUENCE evil.hit_count RESTART"
}

# Run the psql file $3 in database $1 as role $2 (empty: the superuser),
# its output into the file $4.
session() {
	if [ -n "$2" ]; then
		as "$2" "$1" -v ON_ERROR_STOP=1 -f "$3" >"$4" 2>&1
	else
		su "$1" -f "$3" >"$4" 2>&1
	fi
}

# Install in a hostile session: $1 db, $2 role (empty: superuser), $3 the
# statement; $4 the search_path (default: pg_catalog last), $5 as hostile's.
install() {
	local db=$1 role=$2 stmt=$3 path=${4:-$path_catalog_last} out=$tmp/install.out rc=0
	{ hostile "$path" "${5:-}"; echo "$stmt"; } >"$tmp/install.sql"
	session "$db" "$role" "$tmp/install.sql" "$out" || rc=$?
	if [ $rc -ne 0 ]; then fail "$db: $stmt as ${role:-superuser}: $(cat "$out")"; return 1; fi
	ok "$db: $stmt as ${role:-superuser} in a hostile session (search_path $path${5:+, no plants in pg_temp})"
	check_log "$db" "$db: $stmt" "$out"
}

###########################################################################
# Every function of the extension, its error paths, and direct writes that
# fire the triggers.  Each call is followed by
#   RESULT <group> <label> <SQLSTATE when the role may call it> <SQLSTATE> <message>
# and each read prints "OUT <label> <json>" for comparison with a clean
# session.  Groups: uuid, register, write, read (readarg: a read with a bad
# argument), dml (see may_call).
###########################################################################
cat >"$tmp/calls.sql" <<'SQL'
\pset format unaligned
\pset tuples_only on
\pset fieldsep ' '
SELECT :"sch".cruddur_uuid_v7() IS NOT NULL AS r_ \gset
\echo RESULT uuid uuid_v7 00000 :SQLSTATE :LAST_ERROR_MESSAGE

SELECT :"sch".cruddur_register_user(:'ev_signup'::pg_catalog.jsonb) IS NOT NULL AS r_ \gset
\echo RESULT register signup 00000 :SQLSTATE :LAST_ERROR_MESSAGE
SELECT :"sch".cruddur_register_user(:'ev_signup'::pg_catalog.jsonb) IS NOT NULL AS r_ \gset
\echo RESULT register replay 00000 :SQLSTATE :LAST_ERROR_MESSAGE
SELECT :"sch".cruddur_register_user(:'ev_forgot'::pg_catalog.jsonb) IS NOT NULL AS r_ \gset
\echo RESULT register forgot_password 00000 :SQLSTATE :LAST_ERROR_MESSAGE
SELECT :"sch".cruddur_register_user(:'ev_taken'::pg_catalog.jsonb) IS NOT NULL AS r_ \gset
\echo RESULT register taken_handle_derived 00000 :SQLSTATE :LAST_ERROR_MESSAGE
SELECT :"sch".cruddur_register_user(:'ev_invalid'::pg_catalog.jsonb) IS NOT NULL AS r_ \gset
\echo RESULT register invalid_handle_derived 00000 :SQLSTATE :LAST_ERROR_MESSAGE
SELECT :"sch".cruddur_register_user(:'ev_pre_free'::pg_catalog.jsonb) IS NOT NULL AS r_ \gset
\echo RESULT register presignup_free 00000 :SQLSTATE :LAST_ERROR_MESSAGE
SELECT :"sch".cruddur_register_user(:'ev_pre_taken'::pg_catalog.jsonb) IS NOT NULL AS r_ \gset
\echo RESULT register presignup_taken 23505 :SQLSTATE :LAST_ERROR_MESSAGE
SELECT :"sch".cruddur_register_user(:'ev_pre_invalid'::pg_catalog.jsonb) IS NOT NULL AS r_ \gset
\echo RESULT register presignup_invalid 22023 :SQLSTATE :LAST_ERROR_MESSAGE
SELECT :"sch".cruddur_register_user(NULL) IS NOT NULL AS r_ \gset
\echo RESULT register null_event 22023 :SQLSTATE :LAST_ERROR_MESSAGE
SELECT :"sch".cruddur_register_user('[]'::pg_catalog.jsonb) IS NOT NULL AS r_ \gset
\echo RESULT register array_event 22023 :SQLSTATE :LAST_ERROR_MESSAGE
SELECT :"sch".cruddur_register_user(:'ev_no_email'::pg_catalog.jsonb) IS NOT NULL AS r_ \gset
\echo RESULT register missing_email 22023 :SQLSTATE :LAST_ERROR_MESSAGE
SELECT :"sch".cruddur_register_user(:'ev_bad_sub'::pg_catalog.jsonb) IS NOT NULL AS r_ \gset
\echo RESULT register bad_sub 22023 :SQLSTATE :LAST_ERROR_MESSAGE
SELECT :"sch".cruddur_register_user(:'ev_other_trigger'::pg_catalog.jsonb) IS NOT NULL AS r_ \gset
\echo RESULT register other_trigger 22023 :SQLSTATE :LAST_ERROR_MESSAGE

SELECT :"sch".cruddur_create_activity(:'seed_cognito', :'message') IS NOT NULL AS r_ \gset
\echo RESULT write create_activity 00000 :SQLSTATE :LAST_ERROR_MESSAGE
SELECT :"sch".cruddur_create_activity(:'seed_cognito', 'one hour', '1-hour') IS NOT NULL AS r_ \gset
\echo RESULT write create_activity_ttl 00000 :SQLSTATE :LAST_ERROR_MESSAGE
SELECT :"sch".cruddur_create_activity(:'seed_cognito', '   ') IS NOT NULL AS r_ \gset
\echo RESULT write create_activity_blank 22023 :SQLSTATE :LAST_ERROR_MESSAGE
SELECT :"sch".cruddur_create_activity(:'seed_cognito', 'x', 'forever') IS NOT NULL AS r_ \gset
\echo RESULT write create_activity_bad_ttl 22023 :SQLSTATE :LAST_ERROR_MESSAGE
SELECT :"sch".cruddur_create_activity('no-such-person', 'x') IS NOT NULL AS r_ \gset
\echo RESULT write create_activity_unknown_person P0002 :SQLSTATE :LAST_ERROR_MESSAGE
SELECT :"sch".cruddur_create_reply(:'seed_cognito', :'seed_activity', :'message') IS NOT NULL AS r_ \gset
\echo RESULT write create_reply 00000 :SQLSTATE :LAST_ERROR_MESSAGE
SELECT :"sch".cruddur_create_reply(:'seed_cognito', '00000000-0000-0000-0000-000000000000', 'x') IS NOT NULL AS r_ \gset
\echo RESULT write create_reply_unknown_crud P0002 :SQLSTATE :LAST_ERROR_MESSAGE
SELECT :"sch".cruddur_create_reply(:'seed_cognito', :'seed_activity', '') IS NOT NULL AS r_ \gset
\echo RESULT write create_reply_empty 22023 :SQLSTATE :LAST_ERROR_MESSAGE
SELECT :"sch".cruddur_update_profile(:'seed_cognito', 'Seed Person', :'message') IS NOT NULL AS r_ \gset
\echo RESULT write update_profile 00000 :SQLSTATE :LAST_ERROR_MESSAGE
SELECT :"sch".cruddur_update_profile(:'seed_cognito', ' ', NULL) IS NOT NULL AS r_ \gset
\echo RESULT write update_profile_blank 22023 :SQLSTATE :LAST_ERROR_MESSAGE
SELECT :"sch".cruddur_update_profile('no-such-person', 'x', NULL) IS NOT NULL AS r_ \gset
\echo RESULT write update_profile_unknown_person P0002 :SQLSTATE :LAST_ERROR_MESSAGE

-- direct writes: column defaults and the replies_count triggers
INSERT INTO :"sch".users (display_name, handle, email, cognito_user_id)
VALUES ('Direct', :'direct_handle', 'direct@example.com', :'direct_cognito');
\echo RESULT dml insert_user 00000 :SQLSTATE :LAST_ERROR_MESSAGE
INSERT INTO :"sch".activities (user_uuid, message, reply_to_activity_uuid)
VALUES (:'seed_user', :'direct_message', :'seed_activity');
\echo RESULT dml insert_reply 00000 :SQLSTATE :LAST_ERROR_MESSAGE
UPDATE :"sch".activities SET reply_to_activity_uuid = NULL
 WHERE message OPERATOR(pg_catalog.=) :'direct_message';
\echo RESULT dml move_reply 00000 :SQLSTATE :LAST_ERROR_MESSAGE
UPDATE :"sch".activities SET reply_to_activity_uuid = :'seed_activity'
 WHERE message OPERATOR(pg_catalog.=) :'direct_message';
\echo RESULT dml move_back 00000 :SQLSTATE :LAST_ERROR_MESSAGE
DELETE FROM :"sch".activities WHERE message OPERATOR(pg_catalog.=) :'direct_message';
\echo RESULT dml delete_reply 00000 :SQLSTATE :LAST_ERROR_MESSAGE

SELECT :"sch".cruddur_home_feed(0) IS NOT NULL AS r_ \gset
\echo RESULT readarg home_feed_page_0 22023 :SQLSTATE :LAST_ERROR_MESSAGE
SELECT :"sch".cruddur_home_feed(20, '2020-01-01', NULL) IS NOT NULL AS r_ \gset
\echo RESULT readarg home_feed_half_cursor 22023 :SQLSTATE :LAST_ERROR_MESSAGE
\ir reads.sql
SQL

# The reads whose output is compared with a clean session's.
cat >"$tmp/reads.sql" <<'SQL'
SELECT 'OUT home_feed', :"sch".cruddur_home_feed();
\echo RESULT read home_feed 00000 :SQLSTATE :LAST_ERROR_MESSAGE
SELECT 'OUT home_feed_page', :"sch".cruddur_home_feed(2, :'seed_created', :'seed_activity');
\echo RESULT read home_feed_page 00000 :SQLSTATE :LAST_ERROR_MESSAGE
SELECT 'OUT user_feed', :"sch".cruddur_user_feed(:'seed_handle');
\echo RESULT read user_feed 00000 :SQLSTATE :LAST_ERROR_MESSAGE
SELECT 'OUT user_feed_page', :"sch".cruddur_user_feed(:'seed_handle', 1, :'seed_created', :'seed_activity');
\echo RESULT read user_feed_page 00000 :SQLSTATE :LAST_ERROR_MESSAGE
SELECT 'OUT user_short', :"sch".cruddur_user_short(pg_catalog.upper(:'seed_handle'));
\echo RESULT read user_short 00000 :SQLSTATE :LAST_ERROR_MESSAGE
SELECT 'OUT activity', :"sch".cruddur_activity(:'seed_activity');
\echo RESULT read activity 00000 :SQLSTATE :LAST_ERROR_MESSAGE
SELECT 'OUT user_feed_nobody', :"sch".cruddur_user_feed('nobody_at_all');
\echo RESULT read user_feed_nobody 00000 :SQLSTATE :LAST_ERROR_MESSAGE
SELECT 'OUT activity_none', :"sch".cruddur_activity('00000000-0000-0000-0000-000000000000');
\echo RESULT read activity_none 00000 :SQLSTATE :LAST_ERROR_MESSAGE
SQL

ncalls=$(cat "$tmp/calls.sql" "$tmp/reads.sql" | grep -c '^\\echo RESULT ')

# Which call groups a role may run; anything else must fail with 42501.
may_call() {
	case "$1:$2" in
		super:* | owner:*) return 0 ;;
		app:uuid | app:write | app:read | app:readarg) return 0 ;;
		lambda:uuid | lambda:register) return 0 ;;
	esac
	return 1
}

# A Cognito event; an empty value leaves the attribute out.
event() {
	jq -cn --arg ts "$1" --arg sub "$2" --arg h "$3" --arg e "$4" --arg n "$5" \
		'{version: "1", region: "us-east-1", userName: $sub, triggerSource: $ts,
		  request: {userAttributes: ({sub: $sub, email_verified: "true", name: $n,
			preferred_username: $h, email: $e} | with_entries(select(.value != "")))},
		  response: {}}'
}

seed_user=0190a000-0000-7000-8000-00000000a001
seed_activity=0190a000-0000-7000-8000-00000000b001
seed_created='2026-01-01 12:00:00'
seed_cognito=5eed0000-0000-4000-8000-000000000001
seed_handle=seed_person

# Rows the reads and writes work on, written in a clean session.
seed() {
	local db=$1 sch=$2
	su "$db" -v sch="$sch" -v u="$seed_user" -v a="$seed_activity" -v c="$seed_created" \
		-v cog="$seed_cognito" -v h="$seed_handle" >/dev/null <<'SQL'
INSERT INTO :"sch".users (uuid, display_name, handle, email, cognito_user_id, created_at)
VALUES (:'u', 'Seed Person', :'h', 'seed@example.com', :'cog', '2025-12-01');
INSERT INTO :"sch".activities (uuid, user_uuid, message, created_at)
VALUES (:'a', :'u', 'the seed crud', :'c'),
	   ('0190a000-0000-7000-8000-00000000b000', :'u', 'an older crud', '2025-12-31');
INSERT INTO :"sch".activities (uuid, user_uuid, message, reply_to_activity_uuid, created_at)
VALUES ('0190a000-0000-7000-8000-00000000b002', :'u', 'a reply', :'a', '2026-01-02');
SQL
}

# The owner grants the Lambda and app roles as the README says ($1 db).
grant_app_roles() {
	as "$owner" "$1" -v ON_ERROR_STOP=1 -v lambda="$lambda" -v app="$app" <<'SQL'
GRANT EXECUTE ON FUNCTION public.cruddur_register_user(jsonb) TO :"lambda";
GRANT EXECUTE ON FUNCTION public.cruddur_create_activity(text, text, text),
	public.cruddur_create_reply(text, uuid, text),
	public.cruddur_update_profile(text, text, text) TO :"app";
GRANT SELECT ON public.users, public.activities TO :"app";
SQL
}

# Call everything in a hostile session: $1 db, $2 role kind (super, owner,
# app, lambda), $3 schema, $4 search_path, $5 tag making names unique.
run_calls() {
	local db=$1 kind=$2 sch=$3 path=$4 tag=$5 what out=$tmp/calls.$5.out
	local s1 s2 s3 s4 role rc=0 group label expected actual msg want
	local -A passed=()
	what="$db: calls as $kind, search_path $path"
	s1=$(cat /proc/sys/kernel/random/uuid); s2=$(cat /proc/sys/kernel/random/uuid)
	s3=$(cat /proc/sys/kernel/random/uuid); s4=$(cat /proc/sys/kernel/random/uuid)
	local vars=(-v sch="$sch" -v seed_user="$seed_user" -v seed_activity="$seed_activity"
		-v seed_created="$seed_created" -v seed_cognito="$seed_cognito" -v seed_handle="$seed_handle"
		-v message="it's $tag: \\ \"quoted\" ☃" -v direct_message="direct $tag"
		-v direct_handle="direct_$tag" -v direct_cognito="direct-$tag"
		-v ev_signup="$(event PostConfirmation_ConfirmSignUp "$s1" "sec_$tag" "$tag@example.com" "Sec $tag")"
		-v ev_forgot="$(event PostConfirmation_ConfirmForgotPassword "$s2" "sec_${tag}_b" "b$tag@example.com" "")"
		-v ev_taken="$(event PostConfirmation_ConfirmSignUp "$s3" "SEC_$tag" "c$tag@example.com" "C")"
		-v ev_invalid="$(event PostConfirmation_ConfirmSignUp "$s4" "bad handle $tag!" "d$tag@example.com" "D")"
		-v ev_pre_free="$(event PreSignUp_SignUp "" "free_$tag" "e$tag@example.com" "")"
		-v ev_pre_taken="$(event PreSignUp_SignUp "" "Sec_$tag" "f$tag@example.com" "")"
		-v ev_pre_invalid="$(event PreSignUp_SignUp "" "no spaces $tag" "g$tag@example.com" "")"
		-v ev_no_email="$(event PostConfirmation_ConfirmSignUp "$(cat /proc/sys/kernel/random/uuid)" "h_$tag" "" "")"
		-v ev_bad_sub="$(event PostConfirmation_ConfirmSignUp "not-a-uuid" "i_$tag" "i$tag@example.com" "")"
		-v ev_other_trigger="$(event CustomMessage_SignUp "$(cat /proc/sys/kernel/random/uuid)" "j_$tag" "j$tag@example.com" "")")
	{ hostile "$path"; echo "\\i $tmp/calls.sql"; } >"$tmp/calls.$tag.sql"
	case $kind in
		super) su "$db" -v ON_ERROR_STOP=0 "${vars[@]}" -f "$tmp/calls.$tag.sql" >"$out" 2>&1 || rc=$? ;;
		owner) role=$owner ;;&
		app) role=$app ;;&
		lambda) role=$lambda ;;&
		owner | app | lambda)
			as "$role" "$db" -v ON_ERROR_STOP=0 "${vars[@]}" -f "$tmp/calls.$tag.sql" >"$out" 2>&1 || rc=$? ;;
	esac
	[ $rc -eq 0 ] || fail "$what: psql exited $rc: $(tail -3 "$out")"

	local n=0 bad=0
	while read -r _ group label expected actual msg; do
		n=$((n + 1))
		if may_call "$kind" "$group"; then want=$expected; else want=42501; fi
		# a bad argument may be refused before the tables are read
		[ "$group" != readarg ] || may_call "$kind" read || [ "$actual" != "$expected" ] ||
			want=$expected
		if judge "$what: $label" "$want" "$actual" "$msg"; then
			[ "$actual" != 00000 ] || passed[$label]=1
		else
			bad=$((bad + 1))
		fi
	done < <(grep '^RESULT ' "$out")
	[ $n -eq "$ncalls" ] || fail "$what: $n results, expected $ncalls (the call script did not run to its end)"
	[ $bad -ne 0 ] || ok "$what: $n calls, each with the expected SQLSTATE"
	check_log "$db" "$what" "$out"

	# the reads show the same bytes as in a clean session
	local clean
	clean=$(su "$db" -F ' ' -v ON_ERROR_STOP=0 "${vars[@]}" -f "$tmp/reads.sql" 2>/dev/null | grep '^OUT ' || true)
	while IFS= read -r line; do
		grep -qxF -- "$line" <<<"$clean" ||
			fail "$what: read differs from a clean session's: ${line:0:200}"
	done < <(grep '^OUT ' "$out")

	# the calls that succeeded did their work
	local facts
	facts=$(su "$db" -v sch="$sch" -v s1="$s1" -v s2="$s2" -v s3="$s3" -v s4="$s4" \
		-v msg="it's $tag: \\ \"quoted\" ☃" -v dh="direct_$tag" -v seed="$seed_user" <<'SQL'
SELECT (SELECT count(*) FROM :"sch".users WHERE cognito_user_id = :'s1') || ' ' ||
	   (SELECT count(*) FROM :"sch".users WHERE cognito_user_id IN (:'s2', :'s3', :'s4')) || ' ' ||
	   (SELECT count(*) FROM :"sch".activities WHERE message = :'msg' AND reply_to_activity_uuid IS NULL
		   AND user_uuid = :'seed') || ' ' ||
	   (SELECT count(*) FROM :"sch".activities WHERE message = :'msg' AND reply_to_activity_uuid IS NOT NULL) || ' ' ||
	   (SELECT count(*) FROM :"sch".users WHERE uuid = :'seed' AND bio = :'msg') || ' ' ||
	   (SELECT count(*) FROM :"sch".users WHERE handle = :'dh' AND uuid IS NOT NULL);
SQL
	)
	read -r f_signup f_others f_crud f_reply f_profile f_direct <<<"$facts"
	[ -z "${passed[signup]:-}${passed[replay]:-}" ] || [ "$f_signup" = 1 ] ||
		fail "$what: registration and its replay left $f_signup rows, expected 1"
	[ -z "${passed[forgot_password]:-}" ] || [ "$f_others" = 3 ] ||
		fail "$what: password reset, taken and invalid handles registered $f_others of 3"
	[ -z "${passed[create_activity]:-}" ] || [ "$f_crud" = 1 ] || fail "$what: the crud was not written"
	[ -z "${passed[create_reply]:-}" ] || [ "$f_reply" = 1 ] || fail "$what: the reply was not written"
	[ -z "${passed[update_profile]:-}" ] || [ "$f_profile" = 1 ] || fail "$what: the profile was not updated"
	[ -z "${passed[insert_user]:-}" ] || [ "$f_direct" = 1 ] || fail "$what: the direct insert was not written"
	return 0
}

# The replies_count of the seed crud equals its number of replies.
check_count() {
	local db=$1 sch=$2 r
	r=$(su "$db" -v sch="$sch" -v a="$seed_activity" <<'SQL'
SELECT replies_count || ' ' || (SELECT count(*) FROM :"sch".activities c WHERE c.reply_to_activity_uuid = a.uuid)
  FROM :"sch".activities a WHERE uuid = :'a';
SQL
	)
	local have want
	read -r have want <<<"$r"
	if [ "$have" = "$want" ]; then ok "$db: replies_count of the seed crud is exact ($have)"
	else fail "$db: replies_count of the seed crud is $have, it has $want replies"; fi
}

# Objects named like the extension's own refuse the install with a message
# naming them, and are left as they were.  $1 db, $2 what, $3 SQL the
# attacker runs first, $4 statement the owner runs, $5 SQLSTATE, $6 the
# message, $7 clean query that must print t afterwards, $8 undoes $3.
refuse() {
	local db=$1 what=$2 plant=$3 stmt=$4 code=$5 text=$6 after=$7 undo=$8 out=$tmp/refuse.out rc=0
	as "$attacker" "$db" -v ON_ERROR_STOP=1 -c "$plant" >/dev/null
	{ hostile "$path_catalog_last"; echo '\set VERBOSITY verbose'; echo "$stmt"; } >"$tmp/refuse.sql"
	as "$owner" "$db" -v ON_ERROR_STOP=1 -f "$tmp/refuse.sql" >"$out" 2>&1 || rc=$?
	if [ $rc -eq 0 ]; then
		fail "$what: $stmt succeeded"
	elif ! grep -qF "ERROR:  $code: $text" "$out" || ! grep -q 'DETAIL:  .*Nothing was changed' "$out" ||
		! grep -q 'HINT:  ' "$out"; then
		fail "$what: expected ERROR $code: $text, with DETAIL and HINT; got: $(grep -A2 'ERROR' "$out")"
	elif [ "$(su "$db" -c "$after")" != t ]; then
		fail "$what: the refused statement changed something ($after)"
	else
		ok "$what: refused with $code \"$text\", nothing changed"
	fi
	check_log "$db" "$what" "$out"
	as "$attacker" "$db" -v ON_ERROR_STOP=1 -c "$undo" >/dev/null
}

###########################################################################
# The pg_tle route (CRUDDUR_ROUTE=pgtle, in the cluster test/pgtle.sh makes,
# which preloads pg_tle and has no C build): what the README's RDS section
# has the installing role run, each in a hostile session.
###########################################################################

# pg_tle's functions for cruddur, with their result types, and its default
# version: what a refused registration must leave as it was (run after
# SET search_path = pg_catalog, pg_temp: see tle_limit)
tle_state="SELECT COALESCE(pg_catalog.string_agg(p.oid::pg_catalog.regprocedure::pg_catalog.text
		OPERATOR(pg_catalog.||) ' ' OPERATOR(pg_catalog.||) p.prorettype::pg_catalog.regtype::pg_catalog.text,
		', ' ORDER BY p.proname), 'none') OPERATOR(pg_catalog.||) '; default '
	OPERATOR(pg_catalog.||) COALESCE((SELECT e.default_version FROM pgtle.available_extensions() e
		WHERE e.name OPERATOR(pg_catalog.=) 'cruddur'), 'none')
  FROM pg_catalog.pg_proc p
 WHERE p.pronamespace OPERATOR(pg_catalog.=) 'pgtle'::pg_catalog.regnamespace AND p.proname OPERATOR(pg_catalog.~~) 'cruddur%'"

# A registration script ($3, as role $2 (empty: superuser), in db $1) in a hostile session whose
# pg_temp holds the plants (the domain text among them) is refused with its
# SQLSTATE, DETAIL and HINT before it registers anything.
refuse_registration() {
	local db=$1 role=$2 script=$3 before out=$tmp/tle_refuse.out rc=0
	before=$(su "$db" -c "SET search_path = pg_catalog, pg_temp" -c "$tle_state")
	{ hostile "$path_catalog_last"; echo '\set VERBOSITY verbose'; echo "\\i $script"; } >"$tmp/tle_refuse.sql"
	session "$db" "$role" "$tmp/tle_refuse.sql" "$out" || rc=$?
	if [ $rc -eq 0 ]; then
		fail "$db: $script ran in a session whose pg_temp holds the plants"
	elif ! grep -qF 'ERROR:  55000: cannot register cruddur with pg_tle in a session that has temporary types or relations' "$out" ||
		! grep -q '^DETAIL:  The temporary schema of this session holds types or relations named "activities", "bool", .* and [0-9]* more\. pg_tle looks up' "$out" ||
		! grep -qxF 'HINT:  Run the script from a new session.' "$out"; then
		fail "$db: $script in a session with temporary plants: expected ERROR 55000 with DETAIL and HINT; got: $(grep -A2 ERROR "$out")"
	elif [ "$(su "$db" -c "SET search_path = pg_catalog, pg_temp" -c "$tle_state")" != "$before" ]; then
		fail "$db: the refused $script changed pg_tle's registration: $(su "$db" -c "SET search_path = pg_catalog, pg_temp" -c "$tle_state")"
	else
		ok "$db: $script refused with 55000 in a session with temporary plants, nothing registered (${before##*; })"
	fi
	check_log "$db" "$db: $script refused" "$out"
}

# Every function pg_tle made for cruddur returns pg_catalog.text (not a
# domain of the registering session's pg_temp).
tle_results() {
	local db=$1 r
	r=$(su "$db" -c "SELECT pg_catalog.count(*) OPERATOR(pg_catalog.||) ' ' OPERATOR(pg_catalog.||)
		pg_catalog.count(*) FILTER (WHERE p.prorettype OPERATOR(pg_catalog.<>) 'pg_catalog.text'::pg_catalog.regtype)
		FROM pg_catalog.pg_proc p WHERE p.pronamespace OPERATOR(pg_catalog.=) 'pgtle'::pg_catalog.regnamespace
		 AND p.proname OPERATOR(pg_catalog.~~) 'cruddur%'")
	if [ "${r% *}" -gt 0 ] && [ "${r#* }" = 0 ]; then ok "$db: pg_tle's ${r% *} functions for cruddur return pg_catalog.text"
	else fail "$db: pg_tle's functions for cruddur: $r (count, not returning pg_catalog.text)"; fi
}

# What is not defended (README): pg_tle 1.5.2 looks for the scripts of an
# update path with "pg_proc.proname LIKE $1::pg_catalog.name" under the
# session's search_path (get_ext_ver_list, src/tleextension.c), and an
# operator ~~(name, name) in any schema of that path is an exact match,
# found before pg_catalog's ~~(name, text) whether or not pg_catalog comes
# first: the plant of the first such schema ($5) runs, and nothing else.
# $1 db, $2 role (empty: superuser), $3 the statement, run and rolled
# back, $4 search_path.
tle_limit() {
	local db=$1 role=$2 stmt=$3 path=$4 plant=$5 out=$tmp/tle_limit.out rc=0 ran other
	{ hostile "$path"; echo 'BEGIN;'; echo "$stmt"; echo 'ROLLBACK;'; } >"$tmp/tle_limit.sql"
	session "$db" "$role" "$tmp/tle_limit.sql" "$out" || rc=$?
	ran=$(grep -c 'CRUDDUR-SEC planted object ran' "$out" || true)
	other=$(grep 'CRUDDUR-SEC planted object ran' "$out" | grep -vcF "ran: $plant.~~(name, name) (as " || true)
	if [ $rc -ne 0 ]; then
		fail "$db: $stmt (rolled back): $(grep -A2 ERROR "$out")"
	elif [ "$ran" -gt 0 ] && [ "$other" = 0 ]; then
		ok "$db: $stmt under search_path $path runs pg_tle's LIKE through $plant.~~(name, name) ($ran times) and nothing else (the limit README states)"
	else
		fail "$db: $stmt under search_path $path: $ran planted objects ran, $other of them not $plant.~~(name, name) (README states the limit)"
	fi
	su "$db" -c "TRUNCATE evil.hits" -c "ALTER SEQUENCE evil.hit_count RESTART"
}

# at_version DB VERSION WHAT: cruddur is installed in DB at VERSION
at_version() {
	local v
	v=$(su "$1" -c "SELECT extversion FROM pg_extension WHERE extname = 'cruddur'")
	[ "$v" = "$2" ] && ok "$1: cruddur $2 $3" || fail "$1: cruddur at '$v', not $2 ($3)"
}

pgtle_scenarios() {
	local db last from to old=$tmp/old
	make -s rds >/dev/null || fail "make rds"

	# Scenario 6: as the README says, the master user enables pg_tle and
	# grants pgtle_admin; the owner registers (refused with the plants in
	# pg_temp, then without them), creates the extension in a hostile
	# session with every plant, grants, and it and the roles call everything.
	db=${id}_pgtle
	new_db "$db" "$owner"
	su "$db" -c 'CREATE EXTENSION pg_tle' -c "GRANT pgtle_admin TO \"$owner\""
	canaries "$db"
	refuse_registration "$db" "$owner" dist/cruddur-pgtle.sql
	install "$db" "$owner" '\i dist/cruddur-pgtle.sql' "$path_catalog_last" notemp
	tle_results "$db"
	tle_limit "$db" "$owner" "CREATE EXTENSION cruddur VERSION '1.1' SCHEMA public;" "$path_catalog_last" evil
	# the oldest version, which has an installation script of its own (no
	# update path to look up), then the default one
	install "$db" "$owner" "CREATE EXTENSION cruddur VERSION '1.0' SCHEMA public;"
	at_version "$db" 1.0 "installed, after the session ended"
	as "$owner" "$db" -c "DROP EXTENSION cruddur" >/dev/null
	install "$db" "$owner" "CREATE EXTENSION cruddur SCHEMA public;"
	at_version "$db" "$cruddur_version" "installed at the default version, after the session ended"
	seed "$db" public
	grant_app_roles "$db"
	run_calls "$db" owner public "$path_catalog_last" t1
	run_calls "$db" owner public "$path_temp_first" t2
	run_calls "$db" app public "$path_catalog_last" t3
	run_calls "$db" lambda public "$path_temp_first" t4
	check_count "$db" public

	# Scenario 7: the superuser has the release before registered and
	# installed (hostile sessions), loads rows, runs the release's update
	# script (refused with the plants in pg_temp, then without them) and
	# ALTER EXTENSION cruddur UPDATE with every plant, under the search_path
	# README says (what pg_tle does under others: tle_limit); then calls
	# everything.
	last=$(upgrade_steps 0 | tail -1); from=${last%%--*}; to=${last#*--}
	old_dist "$from" "$old" >/dev/null || fail "the $from release's dist/"
	db=${id}_pgtle_up
	new_db "$db" postgres
	su "$db" -c 'CREATE EXTENSION pg_tle'
	install "$db" "" "\\i $old/dist/cruddur-pgtle.sql" "$path_catalog_last" notemp
	install "$db" "" "CREATE EXTENSION cruddur SCHEMA public;"
	seed "$db" public
	refuse_registration "$db" "" "dist/cruddur-pgtle--$last.sql"
	install "$db" "" "\\i dist/cruddur-pgtle--$last.sql" "$path_catalog_last" notemp
	tle_results "$db"
	tle_limit "$db" "" "ALTER EXTENSION cruddur UPDATE;" "$path_catalog_last" evil
	tle_limit "$db" "" "ALTER EXTENSION cruddur UPDATE;" '"$user", public' public
	install "$db" "" "ALTER EXTENSION cruddur UPDATE;" "pg_catalog, pg_temp"
	at_version "$db" "$to" "updated from $from"
	check_count "$db" public
	run_calls "$db" super public "$path_catalog_last" t5
	run_calls "$db" super public "$path_temp_first" t6
	check_count "$db" public
}
if [ "$CRUDDUR_ROUTE" = pgtle ]; then
	pgtle_scenarios
	finish "test/security.sh (route pgtle)"
	exit 0
fi
[ "$CRUDDUR_ROUTE" = c ] || { echo "test/security.sh: route $CRUDDUR_ROUTE: its install and calls are scenario 2b of the C run"; exit 1; }

###########################################################################
# Scenario 1: superuser installs and calls, hostile session, plants in
# public, evil and pg_temp.
###########################################################################
db=${id}_super
new_db "$db" postgres
canaries "$db"
install "$db" "" "CREATE EXTENSION cruddur SCHEMA public;"
seed "$db" public
run_calls "$db" super public "$path_catalog_last" s1
run_calls "$db" super public "$path_temp_first" s2
check_count "$db" public

###########################################################################
# Scenario 2: a non-superuser database owner installs the trusted extension
# (its script runs as the bootstrap superuser) in a hostile session, grants
# the Lambda and app roles as the README says, and each calls everything.
###########################################################################
db=${id}_owner
new_db "$db" "$owner"
canaries "$db"
install "$db" "$owner" "CREATE EXTENSION cruddur SCHEMA public;"
seed "$db" public
grant_app_roles "$db"
run_calls "$db" owner public "$path_catalog_last" o1
run_calls "$db" owner public "$path_temp_first" o2
run_calls "$db" app public "$path_catalog_last" a1
run_calls "$db" app public "$path_temp_first" a2
run_calls "$db" lambda public "$path_catalog_last" l1
run_calls "$db" lambda public "$path_temp_first" l2
check_count "$db" public

###########################################################################
# Scenario 2b: the SQL flavour's psql route (dist/cruddur-rds.sql, whose
# bodies are PL/pgSQL), run by the superuser in a hostile session with the
# schema named (unnamed, it would be the attacker's, first in search_path),
# then every call as in scenario 1.
###########################################################################
make -s rds >/dev/null || fail "make rds"
db=${id}_rds
new_db "$db" postgres
install "$db" "" "\\set schema public
\\i dist/cruddur-rds.sql"
seed "$db" public
run_calls "$db" super public "$path_catalog_last" r1
run_calls "$db" super public "$path_temp_first" r2
check_count "$db" public

###########################################################################
# Scenario 3: the owner installs 1.0, loads rows, and updates to the current
# version in a hostile session (the update recounts replies_count).
###########################################################################
db=${id}_upgrade
new_db "$db" "$owner"
install "$db" "$owner" "CREATE EXTENSION cruddur VERSION '1.0' SCHEMA public;"
seed "$db" public
install "$db" "$owner" "ALTER EXTENSION cruddur UPDATE;"
check_count "$db" public
run_calls "$db" owner public "$path_catalog_last" u1

###########################################################################
# Scenario 4: a schema name that must be quoted, and one that would break
# out of the quotes the scripts put @extschema@ in (CVE-2023-39417).
###########################################################################
db=${id}_schema
new_db "$db" postgres
su "$db" -c 'CREATE SCHEMA "Sec Ext"' -c "CREATE SCHEMA \"x'); SELECT evil.hit('CVE-2023-39417'); --\""
out=$tmp/quote.out
if su "$db" -c "CREATE EXTENSION cruddur SCHEMA \"x'); SELECT evil.hit('CVE-2023-39417'); --\"" >"$out" 2>&1; then
	fail "$db: CREATE EXTENSION into a schema named with a quote succeeded"
elif grep -q 'invalid character in extension "cruddur" schema' "$out"; then
	ok "$db: a schema name with a quote is refused before the script runs"
else
	fail "$db: unexpected error for a schema named with a quote: $(cat "$out")"
fi
check_log "$db" "$db: schema named with a quote" "$out"
install "$db" "" 'CREATE EXTENSION cruddur SCHEMA "Sec Ext";'
seed "$db" "Sec Ext"
run_calls "$db" super "Sec Ext" "$path_catalog_last" q1
check_count "$db" "Sec Ext"

###########################################################################
# Scenario 5: objects named like the extension's own, pre-created in the
# target schema, as the owner installs.
###########################################################################
db=${id}_refuse
new_db "$db" "$owner"
absent="NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'cruddur')"
refuse "$db" "existing table users" \
	"CREATE TABLE public.users (id int); INSERT INTO public.users VALUES (42);" \
	"CREATE EXTENSION cruddur SCHEMA public;" 42P07 \
	'cannot create extension "cruddur" because relation "public.users" already exists' \
	"SELECT $absent AND (SELECT array_agg(id) FROM public.users) = '{42}'" "DROP TABLE public.users"
refuse "$db" "existing view activities" \
	"CREATE VIEW public.activities AS SELECT 1 AS id" \
	"CREATE EXTENSION cruddur SCHEMA public;" 42P07 \
	'cannot create extension "cruddur" because relation "public.activities" already exists' \
	"SELECT $absent AND (SELECT id FROM public.activities) = 1" "DROP VIEW public.activities"
refuse "$db" "existing type users" \
	"CREATE DOMAIN public.users AS int" \
	"CREATE EXTENSION cruddur SCHEMA public;" 42P07 \
	'cannot create extension "cruddur" because type "public.users" already exists' \
	"SELECT $absent AND to_regtype('public.users') IS NOT NULL" "DROP DOMAIN public.users"
refuse "$db" "existing index users_pkey (a renamed Cruddur table)" \
	"CREATE TABLE public.legacy_users (uuid uuid CONSTRAINT users_pkey PRIMARY KEY)" \
	"CREATE EXTENSION cruddur SCHEMA public;" 42P07 \
	'cannot create extension "cruddur" because relation "public.users_pkey" already exists' \
	"SELECT $absent AND to_regclass('public.users_pkey') IS NOT NULL" "DROP TABLE public.legacy_users"
refuse "$db" "existing sequence activities_replies_idx" \
	"CREATE SEQUENCE public.activities_replies_idx" \
	"CREATE EXTENSION cruddur SCHEMA public;" 42P07 \
	'cannot create extension "cruddur" because relation "public.activities_replies_idx" already exists' \
	"SELECT $absent AND to_regclass('public.activities_replies_idx') IS NOT NULL" \
	"DROP SEQUENCE public.activities_replies_idx"
refuse "$db" "existing function cruddur_uuid_v7()" \
	"CREATE FUNCTION public.cruddur_uuid_v7() RETURNS uuid LANGUAGE sql
	 AS \$\$SELECT gen_random_uuid() WHERE evil.hit('public.cruddur_uuid_v7()')\$\$" \
	"CREATE EXTENSION cruddur SCHEMA public;" 42723 \
	'cannot create extension "cruddur" because function "public.cruddur_uuid_v7()" already exists' \
	"SELECT $absent AND to_regprocedure('public.cruddur_uuid_v7()') IS NOT NULL" \
	"DROP FUNCTION public.cruddur_uuid_v7()"
refuse "$db" "existing overload cruddur_register_user(text)" \
	"CREATE FUNCTION public.cruddur_register_user(text) RETURNS jsonb LANGUAGE sql
	 AS \$\$SELECT \$1::jsonb WHERE evil.hit('public.cruddur_register_user(text)')\$\$" \
	"CREATE EXTENSION cruddur SCHEMA public;" 42723 \
	'cannot create extension "cruddur" because function "public.cruddur_register_user(text)" already exists' \
	"SELECT $absent" "DROP FUNCTION public.cruddur_register_user(text)"
refuse "$db" "existing overload cruddur_home_feed(text)" \
	"CREATE FUNCTION public.cruddur_home_feed(text) RETURNS json LANGUAGE sql
	 AS \$\$SELECT NULL::json WHERE evil.hit('public.cruddur_home_feed(text)')\$\$" \
	"CREATE EXTENSION cruddur SCHEMA public;" 42723 \
	'cannot install cruddur 1.1 because function "public.cruddur_home_feed(text)" already exists' \
	"SELECT $absent" "DROP FUNCTION public.cruddur_home_feed(text)"
as "$owner" "$db" -v ON_ERROR_STOP=1 -c "CREATE EXTENSION cruddur VERSION '1.0' SCHEMA public"
refuse "$db" "overload cruddur_user_short(integer) planted before the update to 1.1" \
	"CREATE FUNCTION public.cruddur_user_short(integer) RETURNS json LANGUAGE sql
	 AS \$\$SELECT NULL::json WHERE evil.hit('public.cruddur_user_short(integer)')\$\$" \
	"ALTER EXTENSION cruddur UPDATE;" 42723 \
	'cannot install cruddur 1.1 because function "public.cruddur_user_short(integer)" already exists' \
	"SELECT extversion = '1.0' FROM pg_extension WHERE extname = 'cruddur'" \
	"DROP FUNCTION public.cruddur_user_short(integer)"
as "$owner" "$db" -v ON_ERROR_STOP=1 -c "ALTER EXTENSION cruddur UPDATE TO '1.1'"
refuse "$db" "overload cruddur_activity(text) planted before the update to 1.2" \
	"CREATE FUNCTION public.cruddur_activity(text) RETURNS json LANGUAGE sql
	 AS \$\$SELECT NULL::json WHERE evil.hit('public.cruddur_activity(text)')\$\$" \
	"ALTER EXTENSION cruddur UPDATE TO '1.2';" 42723 \
	'cannot install cruddur 1.2 because function "public.cruddur_activity(text)" already exists' \
	"SELECT extversion = '1.1' FROM pg_extension WHERE extname = 'cruddur'" \
	"DROP FUNCTION public.cruddur_activity(text)"
refuse "$db" "overload cruddur_adopt(text, text) planted before the update to 1.2" \
	"CREATE FUNCTION public.cruddur_adopt(text, text) RETURNS jsonb LANGUAGE sql
	 AS \$\$SELECT NULL::jsonb WHERE evil.hit('public.cruddur_adopt(text, text)')\$\$" \
	"ALTER EXTENSION cruddur UPDATE TO '1.2';" 42723 \
	'cannot install cruddur 1.2 because function "public.cruddur_adopt(text, text)" already exists' \
	"SELECT extversion = '1.1' FROM pg_extension WHERE extname = 'cruddur'" \
	"DROP FUNCTION public.cruddur_adopt(text, text)"
as "$owner" "$db" -v ON_ERROR_STOP=1 -c "DROP EXTENSION cruddur"

# pg_temp.users and pg_temp.activities tables of the installing session are
# neither used nor touched.
out=$tmp/temp.out
if { hostile "$path_temp_first"; cat <<'SQL'; } | as "$owner" "$db" -v ON_ERROR_STOP=1 >"$out" 2>&1 &&
DROP VIEW pg_temp.users, pg_temp.activities;
CREATE TEMP TABLE users (id int);
CREATE TEMP TABLE activities (id int);
INSERT INTO pg_temp.users VALUES (7);
INSERT INTO pg_temp.activities VALUES (8);
CREATE EXTENSION cruddur SCHEMA public;
SELECT (SELECT pg_catalog.array_agg(id) FROM pg_temp.users)::pg_catalog.text OPERATOR(pg_catalog.=) '{7}'
   AND (SELECT pg_catalog.array_agg(id) FROM pg_temp.activities)::pg_catalog.text OPERATOR(pg_catalog.=) '{8}'
   AND (SELECT pg_catalog.count(*) FROM pg_catalog.pg_depend d
		 WHERE d.objid OPERATOR(pg_catalog.=) ANY (ARRAY['public.users', 'public.activities']::pg_catalog.regclass[])
		   AND d.deptype OPERATOR(pg_catalog.=) 'e') OPERATOR(pg_catalog.=) 2 AS untouched;
SQL
	[ "$(tail -1 "$out")" = t ]; then
	ok "$db: temp tables users and activities of the installing session untouched"
else
	fail "$db: install beside temp tables users/activities: $(cat "$out")"
fi
check_log "$db" "$db: install beside temp tables" "$out"

finish test/security.sh
