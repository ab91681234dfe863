#!/usr/bin/env bash
#
# test/upgrade.sh: ALTER EXTENSION cruddur UPDATE from 1.0 to 1.1 keeps
# every row, makes replies_count exact, and leaves exactly the catalog of a
# fresh 1.1 install; the feature suites then pass on the upgraded database;
# DROP EXTENSION refuses while a user view depends on the tables.
#
# On the SQL flavour's routes (test/route.bash; test/flavour.sh runs this
# with CRUDDUR_ROUTE=rds and =pgtle) the earlier versions are installed as
# their releases did (dist/ of that release, written by bin/flavour from
# these scripts without the later upgrades) and updated as the README says
# for the route: the psql route runs each release's
# dist/cruddur-rds--A--B.sql, the pg_tle route registers each release with
# dist/cruddur-pgtle--A--B.sql (ending with pgtle.set_default_version in a
# database where cruddur is installed) then runs ALTER EXTENSION cruddur
# UPDATE.  The catalog compared is test/schema_catalog.sql's on the psql
# route (bodies included), which has no extension version to check.
#
# Run twice over: with a superuser creating the extension, and with a
# database owner who is not a superuser creating the trusted extension and
# running the update.  In both, an app role is granted privileges after
# CREATE EXTENSION, as the README says a DBA does.
#
# Against the cluster the PG* variables name, connecting as a superuser.
# Creates databases and roles with names unique to this run (and, for the
# feature suites, contrib_regression, isolation_regression and
# cruddur_tap, which pg_regress and test/run use), and drops them all.
#
set -euo pipefail
cd "$(dirname "$0")/.."

. test/suite.bash cruddur_upgrade

# Checksums of everything but the kept counts, which the updates recompute
# (replies_count in 1.1, users.cruds_count in 1.2).
checksums="SELECT (SELECT count(*) || ' ' || md5(string_agg((u.uuid, u.display_name, u.handle, u.email,
		u.cognito_user_id, u.bio, u.created_at)::text, E'\\n' ORDER BY uuid)) FROM users u)
	|| ' ' || (SELECT count(*) || ' ' || md5(string_agg((a.uuid, a.user_uuid, a.message,
		a.reposts_count, a.likes_count, a.reply_to_activity_uuid, a.expires_at,
		a.created_at)::text, E'\\n' ORDER BY uuid)) FROM activities a)"

# version_is DB VERSION WHAT: the extension is at VERSION (no extension on
# the psql route: its catalog is compared instead)
version_is() {
	if [ "$CRUDDUR_ROUTE" = rds ]; then echo "# $3: no extension version on the psql route"; return; fi
	check "$1" "$3" "SELECT extversion = '$2' FROM pg_extension WHERE extname = 'cruddur'"
}

# The grants a DBA makes after CREATE EXTENSION (README "Privileges").
app_grants="GRANT SELECT ON users, activities TO $app;
GRANT EXECUTE ON FUNCTION cruddur_register_user(jsonb) TO $app;"

# upgrade_vs_fresh CREATOR TAG: the whole comparison with CREATOR creating
# the extension and running the update.  Leaves database ${run}_TAG_old,
# upgraded, with its data.
upgrade_vs_fresh() {
	local creator=$1 old=${run}_$2_old new=${run}_$2_new before after n
	echo "# creator: $creator"

	newdb_route "$new" "$creator"
	as_route "$creator" create_cruddur -d "$new"
	as "$creator" "$new" -c "$app_grants"

	newdb_route "$old" "$creator"
	as_route "$creator" install_version 1.0 "$tmp/v1.0" -d "$old"
	as "$creator" "$old" -c "$app_grants"
	version_is "$old" 1.0 "1.0 installed"

	# Data written under 1.0: directly, with replies_count never maintained
	# (and some set wrong on purpose), and through 1.0's registration.
	if load "$creator" "$old"; then
		check "$old" "61 people registered through cruddur_register_user under 1.0" \
			"SELECT count(*) = 61 FROM users
			  WHERE email LIKE 'registered%@example.com' OR email = 'firsty_lasty@email.com'"
	fi
	as "$creator" "$old" -c "UPDATE activities SET replies_count = 7
		WHERE uuid IN (SELECT uuid FROM activities WHERE reply_to_activity_uuid IS NULL ORDER BY uuid LIMIT 25)"
	n=$(value "$old" "$wrong_counts")
	[ "$n" -gt 1000 ] || fail "replies_count should be stale under 1.0 on many rows, is wrong on $n"
	ok "replies_count stale under 1.0 on $n rows"
	before=$(value "$old" "$checksums")
	# A dump taken under 1.0, for restoring where 1.1 is installed (below).
	[ "$CRUDDUR_ROUTE" != c ] || pg_dump --role="$creator" -Fc -d "$old" -f "$tmp/$2_1.0.dump" 2>"$tmp/pg_dump.log" ||
		fail "pg_dump: $(cat "$tmp/pg_dump.log")"

	as_route "$creator" update_cruddur 1.0 -d "$old" || fail "the update from 1.0 failed"
	version_is "$old" "$cruddur_version" "updated to $cruddur_version"

	after=$(value "$old" "$checksums")
	[ "$before" = "$after" ] || fail "data changed by the update: $before / $after"
	ok "every row and column but replies_count unchanged ($after)"
	check "$old" "replies_count exact on every row after the update" "SELECT ($wrong_counts) = 0"
	check "$old" "cruds_count exact on every person after the update" "SELECT ($wrong_cruds) = 0"

	catalog_of -d "$old" >"$tmp/$2_upgraded.catalog"
	catalog_of -d "$new" >"$tmp/$2_fresh.catalog"
	[ "$(grep -c . "$tmp/$2_fresh.catalog")" -gt 100 ] || fail "catalog listing is too short"
	diff -u "$tmp/$2_fresh.catalog" "$tmp/$2_upgraded.catalog" ||
		fail "catalog of the upgraded database differs from a fresh $cruddur_version install (- fresh, + upgraded)"
	ok "catalog identical to a fresh $cruddur_version install ($(grep -c . "$tmp/$2_fresh.catalog") lines)"

	if [ "$CRUDDUR_ROUTE" = c ]; then restored_1_0 "$creator" "$2" "$old" "$before"; else restored_upgraded "$creator" "$2" "$old"; fi

	# What pg_dump makes of the two: the app's grants must be dumped from
	# both (an update script's GRANT can make them look initial).
	# (pg_dump warns that activities references itself, which matters only
	# to --data-only dumps; the warning is kept out of the way.)  On the
	# pg_tle route without pg_tle's stored scripts, which name the scripts
	# that installed each.
	pg_dump --schema-only --restrict-key=cruddur -N pgtle -d "$old" >"$tmp/$2_upgraded.dump" 2>"$tmp/pg_dump.log" ||
		fail "pg_dump: $(cat "$tmp/pg_dump.log")"
	pg_dump --schema-only --restrict-key=cruddur -N pgtle -d "$new" >"$tmp/$2_fresh.dump" 2>"$tmp/pg_dump.log" ||
		fail "pg_dump: $(cat "$tmp/pg_dump.log")"
	diff -u "$tmp/$2_fresh.dump" "$tmp/$2_upgraded.dump" ||
		fail "pg_dump --schema-only differs between fresh and upgraded (- fresh, + upgraded)"
	grep -q "^GRANT SELECT ON TABLE public.users TO $app;" "$tmp/$2_upgraded.dump" ||
		fail "pg_dump of the upgraded database lost the app's grant"
	ok "pg_dump --schema-only identical, the app's grants included"

	check "$old" "the creator holds every privilege WITH GRANT OPTION on every table and function" "
		SELECT bool_and(CASE d.classid
			WHEN 'pg_class'::regclass THEN
				has_table_privilege('$creator', d.objid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER WITH GRANT OPTION')
			ELSE has_function_privilege('$creator', d.objid, 'EXECUTE WITH GRANT OPTION') END)
		  FROM ($cruddur_members) d"

	# The new triggers on the old rows: a reply to a crud that already had
	# replies under 1.0, and to one of those replies, then their deletion.
	as "$creator" "$old" -c "INSERT INTO activities (user_uuid, message, reply_to_activity_uuid)
		SELECT user_uuid, 'after the update', uuid FROM activities
		 WHERE replies_count > 0 ORDER BY uuid LIMIT 100"
	check "$old" "replies posted after the update are counted" \
		"SELECT count(*) = 100 AND ($wrong_counts) = 0 FROM activities WHERE message = 'after the update'"
	as "$creator" "$old" -c "DELETE FROM activities WHERE message = 'after the update'"
	check "$old" "their deletion is uncounted" "SELECT ($wrong_counts) = 0 AND ($wrong_cruds) = 0"
}

# restored_1_0 CREATOR TAG OLD CHECKSUMS (C build): the other way to the
# current version: a dump of the 1.0 database restored on a server with
# the current version installed.  CREATE EXTENSION in the dump names no
# version, so it installs the current one, and the triggers count the
# replies as they load.  (On the SQL routes what installed cruddur travels
# in the dump: pg_tle's stored scripts, or the psql route's objects.)
restored_1_0() {
	local creator=$1 old=$3 before=$4
	newdb "${old}_restored" "$creator"
	pg_restore --role="$creator" --exit-on-error -d "${old}_restored" "$tmp/$2_1.0.dump" ||
		fail "pg_restore of the 1.0 dump where 1.1 is installed"
	[ "$(value "${old}_restored" "$checksums")" = "$before" ] ||
		fail "a 1.0 dump restored under 1.1 changed the data"
	check "${old}_restored" "a 1.0 dump restores under 1.1 with the same rows and exact replies_count" \
		"SELECT ($wrong_counts) = 0 AND extversion = '$cruddur_version' FROM pg_extension WHERE extname = 'cruddur'"
	catalog_of -d "${old}_restored" >"$tmp/$2_restored.catalog"
	diff -u "$tmp/$2_fresh.catalog" "$tmp/$2_restored.catalog" ||
		fail "catalog of the restored 1.0 dump differs from a fresh 1.1 install (- fresh, + restored)"
	ok "and with the catalog of a fresh 1.1 install, the app's grants included"
	check "${old}_restored" "and cruds_count exact on every person" "SELECT ($wrong_cruds) = 0"
}

# restored_upgraded CREATOR TAG OLD (SQL routes): the upgraded database,
# dumped and restored by CREATOR, has the same rows, exact counts and the
# catalog of a fresh install.  (pg_tle 1.5.2 records the extension's
# dependency on the first update script of a chain only, so pg_dump can
# order the stored scripts after CREATE EXTENSION; this restore fails then.)
restored_upgraded() {
	local creator=$1 old=$3 all
	all=$(value "$old" "SELECT md5(string_agg(u::text, ',' ORDER BY uuid)) FROM users u")$(value "$old" "SELECT md5(string_agg(a::text, ',' ORDER BY uuid)) FROM activities a")
	pg_dump --role="$creator" -Fc -d "$old" -f "$tmp/$2_upgraded.fc" 2>"$tmp/pg_dump.log" ||
		fail "pg_dump: $(cat "$tmp/pg_dump.log")"
	newdb_restore "${old}_restored" "$creator"
	restore_as "$creator" "${old}_restored" "$tmp/$2_upgraded.fc" || fail "pg_restore of the upgraded database"
	[ "$(value "${old}_restored" "SELECT md5(string_agg(u::text, ',' ORDER BY uuid)) FROM users u")$(value "${old}_restored" "SELECT md5(string_agg(a::text, ',' ORDER BY uuid)) FROM activities a")" = "$all" ] ||
		fail "the upgraded database's rows differ after a dump and restore"
	check "${old}_restored" "the upgraded database dumped and restored: the same rows, counts exact" \
		"SELECT ($wrong_counts) = 0 AND ($wrong_cruds) = 0"
	catalog_of -d "${old}_restored" >"$tmp/$2_restored.catalog"
	diff -u "$tmp/$2_fresh.catalog" "$tmp/$2_restored.catalog" ||
		fail "catalog of the restored upgraded database differs from a fresh install (- fresh, + restored)"
	ok "and the catalog of a fresh install, the app's grants included"
}

# from_1_1: a database at 1.1 (data written through 1.1's functions) reads
# the same JSON before and after the update to the current version; the
# update counts every person's cruds and keeps the grants a DBA made on the
# reads it changes.
from_1_1() {
	local db=${run}_from_1_1 reads before after acls acl_before
	newdb_route "$db" postgres
	install_version 1.1 "$tmp/v1.1" -d "$db"
	load postgres "$db" || true
	as postgres "$db" -c "REVOKE EXECUTE ON FUNCTION cruddur_activity(uuid), cruddur_user_feed(text, integer, timestamp, uuid) FROM PUBLIC" \
		-c "GRANT EXECUTE ON FUNCTION cruddur_activity(uuid), cruddur_user_feed(text, integer, timestamp, uuid) TO $app"
	reads="SELECT md5(string_agg(concat(cruddur_user_feed(handle, 1000), cruddur_activity(a.uuid)), E'\\n' ORDER BY u.uuid, a.uuid))
		FROM users u LEFT JOIN activities a ON a.user_uuid = u.uuid"
	before=$(value "$db" "$reads")
	acls="SELECT string_agg(proacl::text, ' ' ORDER BY oid) FROM pg_proc
		WHERE oid IN ('cruddur_activity(uuid)'::regprocedure, 'cruddur_user_feed(text, integer, timestamp, uuid)'::regprocedure)"
	acl_before=$(value "$db" "$acls")
	update_cruddur 1.1 -d "$db" || fail "the update from 1.1 failed"
	version_is "$db" "$cruddur_version" "1.1 updated to $cruddur_version"
	check "$db" "cruds_count of every person counted by the update" "SELECT ($wrong_cruds) = 0 AND count(*) > 50 FROM users"
	after=$(value "$db" "$reads")
	[ "$before" = "$after" ] || fail "the user feeds and cruds of 1.1 read differently after the update"
	ok "every user feed and crud reads the same JSON before and after the update"
	[ "$acl_before" = "$(value "$db" "$acls")" ] ||
		fail "the update changed the grants on cruddur_activity(uuid) or cruddur_user_feed"
	ok "the grants a DBA made on cruddur_activity(uuid) and cruddur_user_feed are kept"
}
from_1_1

upgrade_vs_fresh postgres su
upgrade_vs_fresh "$owner" owner

# The feature suites, run on databases that went through the upgrade
# (copies of the superuser's upgraded database, emptied: the suites expect
# empty tables).  pg_regress --use-existing runs the suites in an existing
# database instead of creating one with the extension.
upgraded=${run}_su_old
as postgres "$upgraded" -c "TRUNCATE activities, users"
for db in contrib_regression isolation_regression cruddur_tap; do
	databases+=("$db")
	psql -X -q -d postgres -c "SET client_min_messages = warning" \
		-c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db TEMPLATE $upgraded"
done
# (on the SQL routes the output may differ from expected/ as test/flavour.sh
# allows: queries of extension membership find nothing, counts of the C
# build's direct reads)
if installcheck_listed regression.diffs ISOLATION= EXTRA_REGRESS_OPTS=--use-existing; then
	ok "pg_regress suites pass on the upgraded database"
else
	fail "pg_regress fails on the upgraded database"
fi
if installcheck_listed output_iso/regression.diffs REGRESS= EXTRA_REGRESS_OPTS=--use-existing; then
	ok "isolation suites pass on the upgraded database"
else
	fail "isolation suites fail on the upgraded database"
fi
if [ -d test/pgtap ]; then
	# Each pgTAP file creates the extension in its transaction; here it
	# exists already, so the files run on the upgraded one.  (The psql
	# route has no extension: the line goes.)
	mkdir "$tmp/pgtap"
	instead="CREATE EXTENSION IF NOT EXISTS cruddur;"
	[ "$CRUDDUR_ROUTE" != rds ] || instead="-- installed by the psql route"
	for f in test/pgtap/*.sql; do
		grep -q '^CREATE EXTENSION cruddur;' "$f" ||
			fail "$f has no line \"CREATE EXTENSION cruddur;\" to run it on the upgraded extension"
		sed "s/^CREATE EXTENSION cruddur;/$instead/" "$f" >"$tmp/pgtap/${f##*/}"
	done
	pg_prove -d cruddur_tap --ext .sql -r "$tmp/pgtap" || fail "pgTAP fails on the upgraded database"
	ok "pgTAP passes on the upgraded database"
fi

# DROP EXTENSION: refuses while a user object depends on the tables, and
# drops the tables with all their rows once nothing does.  (The psql
# route: its uninstall script, likewise.)
db=${run}_owner_old
drop="DROP EXTENSION cruddur" refusal="cannot drop extension cruddur because other objects depend on it"
if [ "$CRUDDUR_ROUTE" = rds ]; then
	drop="\\i dist/cruddur-rds-uninstall.sql" refusal="cannot drop desired object(s) because other objects depend on them"
fi
as "$owner" "$db" -c "CREATE VIEW handles AS SELECT handle FROM users"
if out=$(as "$owner" "$db" <<<"$drop" 2>&1); then
	fail "$drop succeeded although view handles depends on users"
fi
grep -q "$refusal" <<<"$out" || fail "$drop failed for another reason: $out"
check "$db" "$drop without CASCADE refuses while a view depends on users; nothing dropped" \
	"SELECT count(*) > 300 FROM handles"
as "$owner" "$db" -c "DROP VIEW handles" && as "$owner" "$db" <<<"$drop" >/dev/null
check "$db" "$drop by the owner succeeds once nothing depends on it, and drops the tables" \
	"SELECT to_regclass('users') IS NULL AND to_regclass('activities') IS NULL
		AND NOT EXISTS (SELECT FROM pg_proc WHERE proname LIKE 'cruddur%' AND pronamespace = 'public'::regnamespace)"
