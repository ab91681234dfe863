#!/usr/bin/env bash
#
# test/upgrade.sh: ALTER EXTENSION cruddur UPDATE from 1.0 to 1.1 keeps
# every row, makes replies_count exact, and leaves exactly the catalog of a
# fresh 1.1 install; the feature suites then pass on the upgraded database;
# DROP EXTENSION refuses while a user view depends on the tables.
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

# The version a fresh install and ALTER EXTENSION ... UPDATE reach.
current=$(sed -n "s/^default_version *= *'\\(.*\\)'/\\1/p" cruddur.control)

# Checksums of everything but the kept counts, which the updates recompute
# (replies_count in 1.1, users.cruds_count in 1.2).
checksums="SELECT (SELECT count(*) || ' ' || md5(string_agg((u.uuid, u.display_name, u.handle, u.email,
		u.cognito_user_id, u.bio, u.created_at)::text, E'\\n' ORDER BY uuid)) FROM users u)
	|| ' ' || (SELECT count(*) || ' ' || md5(string_agg((a.uuid, a.user_uuid, a.message,
		a.reposts_count, a.likes_count, a.reply_to_activity_uuid, a.expires_at,
		a.created_at)::text, E'\\n' ORDER BY uuid)) FROM activities a)"

# The grants a DBA makes after CREATE EXTENSION (README "Privileges").
app_grants="GRANT SELECT ON users, activities TO $app;
GRANT EXECUTE ON FUNCTION cruddur_register_user(jsonb) TO $app;"

# upgrade_vs_fresh CREATOR TAG: the whole comparison with CREATOR creating
# the extension and running the update.  Leaves database ${run}_TAG_old,
# upgraded, with its data.
upgrade_vs_fresh() {
	local creator=$1 old=${run}_$2_old new=${run}_$2_new before after n
	echo "# creator: $creator"

	newdb "$new" "$creator"
	as "$creator" "$new" -c "CREATE EXTENSION cruddur" -c "$app_grants"

	newdb "$old" "$creator"
	as "$creator" "$old" -c "CREATE EXTENSION cruddur VERSION '1.0'" -c "$app_grants"
	check "$old" "1.0 installed" \
		"SELECT extversion = '1.0' FROM pg_extension WHERE extname = 'cruddur'"

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
	pg_dump --role="$creator" -Fc -d "$old" -f "$tmp/$2_1.0.dump" 2>"$tmp/pg_dump.log" ||
		fail "pg_dump: $(cat "$tmp/pg_dump.log")"

	as "$creator" "$old" -c "ALTER EXTENSION cruddur UPDATE"
	check "$old" "updated to $current" \
		"SELECT extversion = '$current' FROM pg_extension WHERE extname = 'cruddur'"

	after=$(value "$old" "$checksums")
	[ "$before" = "$after" ] || fail "data changed by the update: $before / $after"
	ok "every row and column but replies_count unchanged ($after)"
	check "$old" "replies_count exact on every row after the update" "SELECT ($wrong_counts) = 0"
	check "$old" "cruds_count exact on every person after the update" "SELECT ($wrong_cruds) = 0"

	psql -X -A -t -d "$old" -f test/extension_catalog.sql >"$tmp/$2_upgraded.catalog"
	psql -X -A -t -d "$new" -f test/extension_catalog.sql >"$tmp/$2_fresh.catalog"
	[ "$(grep -c . "$tmp/$2_fresh.catalog")" -gt 150 ] || fail "catalog listing is too short"
	diff -u "$tmp/$2_fresh.catalog" "$tmp/$2_upgraded.catalog" ||
		fail "catalog of the upgraded database differs from a fresh 1.1 install (- fresh, + upgraded)"
	ok "catalog identical to a fresh 1.1 install ($(grep -c . "$tmp/$2_fresh.catalog") lines)"

	# The other way to 1.1: a dump of the 1.0 database restored on a server
	# with 1.1 installed.  CREATE EXTENSION in the dump names no version,
	# so it installs 1.1, and the triggers count the replies as they load.
	newdb "${old}_restored" "$creator"
	pg_restore --role="$creator" --exit-on-error -d "${old}_restored" "$tmp/$2_1.0.dump" ||
		fail "pg_restore of the 1.0 dump where 1.1 is installed"
	[ "$(value "${old}_restored" "$checksums")" = "$before" ] ||
		fail "a 1.0 dump restored under 1.1 changed the data"
	check "${old}_restored" "a 1.0 dump restores under 1.1 with the same rows and exact replies_count" \
		"SELECT ($wrong_counts) = 0 AND extversion = '$current' FROM pg_extension WHERE extname = 'cruddur'"
	psql -X -A -t -d "${old}_restored" -f test/extension_catalog.sql >"$tmp/$2_restored.catalog"
	diff -u "$tmp/$2_fresh.catalog" "$tmp/$2_restored.catalog" ||
		fail "catalog of the restored 1.0 dump differs from a fresh 1.1 install (- fresh, + restored)"
	ok "and with the catalog of a fresh 1.1 install, the app's grants included"
	check "${old}_restored" "and cruds_count exact on every person" "SELECT ($wrong_cruds) = 0"

	# What pg_dump makes of the two: the app's grants must be dumped from
	# both (an update script's GRANT can make them look initial).
	# (pg_dump warns that activities references itself, which matters only
	# to --data-only dumps; the warning is kept out of the way.)
	pg_dump --schema-only --restrict-key=cruddur -d "$old" >"$tmp/$2_upgraded.dump" 2>"$tmp/pg_dump.log" ||
		fail "pg_dump: $(cat "$tmp/pg_dump.log")"
	pg_dump --schema-only --restrict-key=cruddur -d "$new" >"$tmp/$2_fresh.dump" 2>"$tmp/pg_dump.log" ||
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
		  FROM pg_depend d
		 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'cruddur')
		   AND d.deptype = 'e'"

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

# from_1_1: a database at 1.1 (data written through 1.1's functions) reads
# the same JSON before and after the update to the current version; the
# update counts every person's cruds and keeps the grants a DBA made on the
# reads it changes.
from_1_1() {
	local db=${run}_from_1_1 reads before after acls acl_before
	newdb "$db" postgres
	as postgres "$db" -c "CREATE EXTENSION cruddur VERSION '1.1'"
	load postgres "$db" || true
	as postgres "$db" -c "REVOKE EXECUTE ON FUNCTION cruddur_activity(uuid), cruddur_user_feed(text, integer, timestamp, uuid) FROM PUBLIC" \
		-c "GRANT EXECUTE ON FUNCTION cruddur_activity(uuid), cruddur_user_feed(text, integer, timestamp, uuid) TO $app"
	reads="SELECT md5(string_agg(concat(cruddur_user_feed(handle, 1000), cruddur_activity(a.uuid)), E'\\n' ORDER BY u.uuid, a.uuid))
		FROM users u LEFT JOIN activities a ON a.user_uuid = u.uuid"
	before=$(value "$db" "$reads")
	acls="SELECT string_agg(proacl::text, ' ' ORDER BY oid) FROM pg_proc
		WHERE oid IN ('cruddur_activity(uuid)'::regprocedure, 'cruddur_user_feed(text, integer, timestamp, uuid)'::regprocedure)"
	acl_before=$(value "$db" "$acls")
	as postgres "$db" -c "ALTER EXTENSION cruddur UPDATE"
	check "$db" "1.1 updated to $current" "SELECT extversion = '$current' FROM pg_extension WHERE extname = 'cruddur'"
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
if make -s installcheck EXTRA_REGRESS_OPTS=--use-existing; then
	ok "pg_regress and isolation suites pass on the upgraded database"
else
	cat regression.diffs output_iso/regression.diffs 2>/dev/null | head -300
	fail "pg_regress or isolation suites fail on the upgraded database"
fi
if [ -d test/pgtap ]; then
	# Each pgTAP file creates the extension in its transaction; here it
	# exists already, so the files run on the upgraded one.
	mkdir "$tmp/pgtap"
	for f in test/pgtap/*.sql; do
		sed 's/^CREATE EXTENSION cruddur;/CREATE EXTENSION IF NOT EXISTS cruddur;/' "$f" >"$tmp/pgtap/${f##*/}"
		grep -q '^CREATE EXTENSION IF NOT EXISTS cruddur;' "$tmp/pgtap/${f##*/}" ||
			fail "$f has no line \"CREATE EXTENSION cruddur;\" to run it on the upgraded extension"
	done
	pg_prove -d cruddur_tap --ext .sql -r "$tmp/pgtap" || fail "pgTAP fails on the upgraded database"
	ok "pgTAP passes on the upgraded database"
fi

# DROP EXTENSION: refuses while a user object depends on the tables, and
# drops the tables with all their rows once nothing does.
db=${run}_owner_old
as "$owner" "$db" -c "CREATE VIEW handles AS SELECT handle FROM users"
if out=$(as "$owner" "$db" -c "DROP EXTENSION cruddur" 2>&1); then
	fail "DROP EXTENSION succeeded although view handles depends on users"
fi
grep -q 'cannot drop extension cruddur because other objects depend on it' <<<"$out" ||
	fail "DROP EXTENSION failed for another reason: $out"
check "$db" "DROP EXTENSION without CASCADE refuses while a view depends on users; nothing dropped" \
	"SELECT count(*) > 300 FROM handles"
as "$owner" "$db" -c "DROP VIEW handles" -c "DROP EXTENSION cruddur"
check "$db" "DROP EXTENSION by the owner succeeds once nothing depends on it, and drops the tables" \
	"SELECT to_regclass('users') IS NULL AND to_regclass('activities') IS NULL
		AND NOT EXISTS (SELECT FROM pg_proc WHERE proname LIKE 'cruddur%')"
