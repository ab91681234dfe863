#!/usr/bin/env bash
#
# test/install.sh: CREATE EXTENSION cruddur where it is hard (issue 2,
# sections 1, 2 and 5), against the cluster the PG* variables name, as a
# superuser.  Creates and drops its own databases and roles.
#   (a) a database owner who is not a superuser creates the extension
#       (trusted) and can then use, grant, dump and restore all of it;
#   (b) creating it where "users" or "activities" already exists fails
#       with a clear message and changes nothing;
#   (c) under a Turkish collation (ICU tr-TR, and libc tr_TR when the
#       machine has it) handles stay unique regardless of ASCII case and
#       registration derives handles the same; timestamps default to UTC
#       whatever the session's TimeZone.
# Prints one line per check and exits non-zero when any fails.
#
# On the SQL flavour's routes (test/route.bash; test/flavour.sh runs this
# with CRUDDUR_ROUTE=rds and =pgtle) cruddur is installed by the route: in
# (a) its objects are then the owner's (on the pg_tle route the superuser
# enables pg_tle in the database and grants the owner pgtle_admin, as on
# RDS), in (b) the route's script refuses with the same message, detail
# and hint.
#
set -uo pipefail
cd "$(dirname "$0")/.."
. test/route.bash

owner=cruddur_test_owner
grantee=cruddur_test_owner_lambda
owner_db=cruddur_test_owned
restored_db=cruddur_test_restored
clash_db=cruddur_test_clash
tr_dbs=(cruddur_test_tr_icu cruddur_test_tr_libc)
owner_password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
tmp=$(mktemp -d)
failures=0

q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
as_owner() { PGUSER=$owner PGPASSWORD=$owner_password "$@"; }

check() {	# description expected actual
	if [ "$2" = "$3" ]; then
		echo "ok - $1"
	else
		echo "not ok - $1"
		echo "#   expected: $2"
		echo "#   got:      $3"
		failures=$((failures + 1))
	fi
}

cleanup() {
	for db in "$owner_db" "$restored_db" "$clash_db" "${tr_dbs[@]}"; do
		q -d postgres -c "DROP DATABASE IF EXISTS $db" 2>/dev/null
	done
	q -d postgres -c "DROP ROLE IF EXISTS $grantee" -c "DROP ROLE IF EXISTS $owner" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
cleanup; tmp=$(mktemp -d)

signup=$(cat test/fixtures/cognito/post-confirmation-signup.json)

echo "# (a) a database owner who is not a superuser"
q -d postgres -c "CREATE ROLE $owner LOGIN CREATEDB PASSWORD '$owner_password'" \
			  -c "CREATE ROLE $grantee"
as_owner q -d postgres -c "CREATE DATABASE $owner_db"
route_db "$owner_db" "$owner"
check "the owner is not a superuser" "f" \
	"$(q -d postgres -c "SELECT rolsuper FROM pg_roles WHERE rolname = '$owner'")"
check "the owner creates the extension (trusted)" "" \
	"$(as_owner create_cruddur -d "$owner_db" 2>&1)"
# the objects' owner: the bootstrap superuser (C build), the owner (SQL routes)
objects_owner=10 extension="the extension is the owner's, its objects the bootstrap superuser's"
[ "$CRUDDUR_ROUTE" = c ] || objects_owner="'$owner'::regrole" extension="the objects are the owner's"
[ "$CRUDDUR_ROUTE" != pgtle ] || extension="the extension and its objects are the owner's"
check "$extension" "$([ "$CRUDDUR_ROUTE" = rds ] || echo "$owner|")t|t" \
	"$(q -d "$owner_db" -c "SELECT $([ "$CRUDDUR_ROUTE" = rds ] || echo "(SELECT extowner::regrole FROM pg_extension WHERE extname = 'cruddur'),")
			bool_and(c.relowner = $objects_owner) FILTER (WHERE d.classid = 'pg_class'::regclass AND c.oid IS NOT NULL),
			bool_and(p.proowner = $objects_owner) FILTER (WHERE d.classid = 'pg_proc'::regclass)
		  FROM ($cruddur_members) d
		  LEFT JOIN pg_class c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid
		  LEFT JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND p.oid = d.objid")"
# every privilege on every table and function, with grant option
check "the owner holds every privilege WITH GRANT OPTION on every table and function" "0" \
	"$(q -d "$owner_db" -c "
		SELECT (SELECT count(*) FROM ($cruddur_members) d
				 CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) priv
				 WHERE d.classid = 'pg_class'::regclass AND (SELECT relkind FROM pg_class WHERE oid = d.objid) = 'r'
				   AND NOT has_table_privilege('$owner', d.objid, priv || ' WITH GRANT OPTION'))
			 + (SELECT count(*) FROM ($cruddur_members) d
				 WHERE d.classid = 'pg_proc'::regclass
				   AND NOT has_function_privilege('$owner', d.objid, 'EXECUTE WITH GRANT OPTION'))")"
check "(that is, on both tables and on the functions)" "2|t" \
	"$(q -d "$owner_db" -c "SELECT count(*) FILTER (WHERE classid = 'pg_class'::regclass AND (SELECT relkind FROM pg_class WHERE oid = objid) = 'r'),
			count(*) FILTER (WHERE classid = 'pg_proc'::regclass) > 1
		  FROM ($cruddur_members) d")"
check "the owner registers a person" "firsty_lasty_01|Firsty Lasty" \
	"$(as_owner q -d "$owner_db" -c "SELECT FROM cruddur_register_user('$signup')" \
		-c "SELECT handle, display_name FROM users")"
check "the owner reads and writes the tables directly" "1|hello" \
	"$(as_owner q -d "$owner_db" \
		-c "INSERT INTO activities (user_uuid, message) SELECT uuid, 'hello' FROM users" \
		-c "UPDATE users SET bio = 'owner was here'" \
		-c "SELECT count(*), min(message) FROM activities")"
check "the owner grants registration to another role, which can use it" "t
f" \
	"$(as_owner q -d "$owner_db" -c "GRANT EXECUTE ON FUNCTION cruddur_register_user(jsonb) TO $grantee" &&
	   q -d "$owner_db" -c "SET ROLE $grantee" \
		-c "SELECT cruddur_register_user(jsonb_set('$signup', '{request,userAttributes,sub}', '\"00000000-0000-4000-8000-000000000002\"')) IS NOT NULL" \
		-c "SELECT has_table_privilege('$grantee', 'users', 'SELECT')" 2>/dev/null)"
check "the owner grants SELECT on the tables" "t" \
	"$(as_owner q -d "$owner_db" -c "GRANT SELECT ON users, activities TO $grantee" &&
	   q -d "$owner_db" -c "SET ROLE $grantee" -c "SELECT count(*) = 2 FROM users")"
# (pg_dump warns that activities references itself, as it does for every
# self-referencing table it dumps data-only; the restore below shows it
# does no harm)
as_owner pg_dump -d "$owner_db" -f "$tmp/owned.sql" 2>"$tmp/dump.err"
check "the owner dumps the database (pg_dump)" "0|0" "$?|$(grep -ci error "$tmp/dump.err")"
check "the dump holds the rows of both tables" "2|1" \
	"$(sed -n '/^COPY public.users /,/^\\\.$/p' "$tmp/owned.sql" | grep -c -e '00000000-0000-4000-8000-000000000002' -e 'e5a9858f-6a5f-48b2-bf2f-a39fb9b81234')|$(sed -n '/^COPY public.activities /,/^\\\.$/p' "$tmp/owned.sql" | grep -c hello)"
as_owner q -d postgres -c "CREATE DATABASE $restored_db"
route_db "$restored_db" "$owner"
check "the owner restores the dump into a new database" "" \
	"$(as_owner restore_as "$owner" "$restored_db" "$tmp/owned.sql" 2>&1)"
check "the restored database holds the same rows" \
	"$(q -d "$owner_db" -c "SELECT string_agg(u::text, ';' ORDER BY uuid) FROM users u" -c "SELECT string_agg(a::text, ';' ORDER BY uuid) FROM activities a")" \
	"$(q -d "$restored_db" -c "SELECT string_agg(u::text, ';' ORDER BY uuid) FROM users u" -c "SELECT string_agg(a::text, ';' ORDER BY uuid) FROM activities a")"
check "the restored grants are there too" "t|f" \
	"$(q -d "$restored_db" -c "SELECT has_function_privilege('$grantee', 'cruddur_register_user(jsonb)', 'EXECUTE'),
			has_function_privilege('public', 'cruddur_register_user(jsonb)', 'EXECUTE')")"

echo "# (b) users or activities already exist"
q -d postgres -c "CREATE DATABASE $clash_db"
for existing in users activities; do
	q -d "$clash_db" -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS users, activities" \
		-c "CREATE TABLE $existing (id integer PRIMARY KEY, note text)" \
		-c "INSERT INTO $existing VALUES (1, 'mine')"
	before=$(q -d "$clash_db" -c "SELECT string_agg(c.relname || ':' || c.relkind::text, ',' ORDER BY c.relname) FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace" \
		-c "SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace")
	# (the psql route's errors start with the script's name and line)
	err=$(create_cruddur -d "$clash_db" 2>&1 | sed 's/^psql:[^ ]*: //')
	# the message names what exists; the detail says nothing changed; a hint says what to do
	check "CREATE EXTENSION fails where \"$existing\" exists, saying what and what to do" \
		"ERROR:  cannot create extension \"cruddur\" because relation \"public.$existing\" already exists|1|1" \
		"$(echo "$err" | head -1)|$(echo "$err" | grep -c '^DETAIL: .*Nothing was changed\.$')|$(echo "$err" | grep -c '^HINT:  Rename or drop the existing object')"
	check "and changes nothing (relations, functions, the row, no extension)" \
		"$before
1|mine
0" \
		"$(q -d "$clash_db" -c "SELECT string_agg(c.relname || ':' || c.relkind::text, ',' ORDER BY c.relname) FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace" \
			-c "SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace" \
			-c "SELECT * FROM $existing" \
			-c "SELECT count(*) FROM pg_extension WHERE extname = 'cruddur'")"
done

echo "# (c) Turkish collations, and UTC timestamps"
if locale -a 2>/dev/null | grep -qi '^tr_TR\.utf-\?8$'; then
	libc_tr=$(locale -a | grep -i '^tr_TR\.utf-\?8$' | head -1)
else
	libc_tr=
	echo "# skip: libc has no tr_TR.UTF-8 locale on this machine; ICU tr-TR only"
fi
for db in "${tr_dbs[@]}"; do
	case $db in
	*icu) q -d postgres -c "CREATE DATABASE $db TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'tr-TR' LOCALE 'C.UTF-8'" || continue ;;
	*libc) [ -n "$libc_tr" ] || continue
		q -d postgres -c "CREATE DATABASE $db TEMPLATE template0 ENCODING 'UTF8' LOCALE '$libc_tr'" || continue ;;
	esac
	create_cruddur -d "$db"
	check "$db: the collation lower-cases I to dotless ı" "dıvıde" \
		"$(q -d "$db" -c "SELECT lower('DIVIDE')")"
	err=$(q -d "$db" -c "INSERT INTO users (display_name, handle, email, cognito_user_id) VALUES ('d', 'DIVIDE', 'd@x', 'd1')" \
		-c "INSERT INTO users (display_name, handle, email, cognito_user_id) VALUES ('d', 'divide', 'd@x', 'd2')" 2>&1)
	check "$db: DIVIDE and divide cannot both exist" "1" \
		"$(echo "$err" | grep -c 'duplicate key value violates unique constraint "users_handle_lower_key"')"
	check "$db: registering \"divide\" next to DIVIDE derives divide_2" "divide_2|f" \
		"$(q -d "$db" -c "SELECT FROM cruddur_register_user('{\"request\": {\"userAttributes\": {\"sub\": \"00000000-0000-4000-8000-00000000000d\", \"email\": \"d@x\", \"preferred_username\": \"divide\"}}}')" \
			-c "SELECT handle, handle = 'DIVIDE' FROM users WHERE cognito_user_id = '00000000-0000-4000-8000-00000000000d'" 2>/dev/null)"
	check "$db: a Pre sign-up for \"Divide\" is refused as taken" "23505" \
		"$(psql -X -q -d "$db" -v VERBOSITY=verbose -c "SELECT cruddur_register_user('{\"triggerSource\": \"PreSignUp_SignUp\", \"request\": {\"userAttributes\": {\"email\": \"d@x\", \"preferred_username\": \"Divide\"}}}')" 2>&1 |
		   sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p')"
	check "$db: derived handles keep only ASCII (İstanbul Işık → stanbul_I_k)" "stanbul_I_k" \
		"$(q -d "$db" -c "SELECT FROM cruddur_register_user('{\"request\": {\"userAttributes\": {\"sub\": \"00000000-0000-4000-8000-00000000000e\", \"email\": \"i@x\", \"preferred_username\": \"İstanbul Işık\"}}}')" \
			-c "SELECT handle FROM users WHERE cognito_user_id = '00000000-0000-4000-8000-00000000000e'" 2>/dev/null)"
	for tz in Pacific/Kiritimati America/Los_Angeles; do
		check "$db: created_at is the transaction's now() in UTC under TimeZone $tz" "t" \
			"$(q -d "$db" -c "BEGIN" -c "SET LOCAL TimeZone = '$tz'" \
				-c "SELECT FROM cruddur_register_user(jsonb_build_object('request', jsonb_build_object('userAttributes',
						jsonb_build_object('sub', md5('$tz')::uuid::text, 'email', 'tz@x', 'preferred_username', 'tz'))))" \
				-c "SELECT created_at = (now() AT TIME ZONE 'UTC') FROM users WHERE cognito_user_id = md5('$tz')::uuid::text" \
				-c "COMMIT" 2>/dev/null)"
	done
done

echo "# install.sh: $failures failed"
[ "$failures" -eq 0 ]
