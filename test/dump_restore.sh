#!/usr/bin/env bash
#
# test/dump_restore.sh: a database full of awkward data survives
# pg_dump -Fc + pg_restore and a plain-SQL pg_dump + psql: identical rows
# in both tables (checksums over whole rows, replies_count included, which
# the restore recounts with its triggers), every replies_count exact, and
# the extension's catalog identical, privileges included (a grant made
# after CREATE EXTENSION too).  The dumps really list parents after some of
# their replies, so the restores are not passing on friendly data.
#
# Run twice over: with a superuser creating the extension, dumping and
# restoring, and with a database owner who is not a superuser doing all
# three (the trusted extension's objects then belong to the bootstrap
# superuser, the owner holds its privileges WITH GRANT OPTION).
#
# On the SQL flavour's routes (test/route.bash; test/flavour.sh runs this
# with CRUDDUR_ROUTE=rds and =pgtle) the same, cruddur installed by the
# route (its objects then the installing role's), the catalog compared
# being test/schema_catalog.sql's on the psql route, which has no extension;
# on the pg_tle route the restore re-creates pg_tle's stored scripts, so
# the restoring role has pgtle_admin, in a database where pg_tle is enabled.
#
# Last, a pg_dump --inserts dump: each row is its own INSERT, so a reply
# listed before its parent violates the foreign key between activities;
# the test shows that restore failing (see README "Upgrading") so that the
# README is told when it changes.  (On the psql route it restores: the
# tables are the dump's, their foreign keys added after the rows.)
#
# Against the cluster the PG* variables name, connecting as a superuser;
# creates databases and roles unique to this run and drops them.
#
set -euo pipefail
cd "$(dirname "$0")/.."

. test/suite.bash cruddur_dump

# Whole rows of both tables, replies_count included.
checksums="SELECT (SELECT count(*) || ' ' || md5(string_agg(u::text, E'\\n' ORDER BY uuid)) FROM users u)
	|| ' ' || (SELECT count(*) || ' ' || md5(string_agg(a::text, E'\\n' ORDER BY uuid)) FROM activities a)"

# parents_after_replies SQLFILE: how many rows of the COPY of activities
# in a plain dump come before the row they reply to
parents_after_replies() {
	awk -F'\t' '
		/^COPY public\.activities \(/ { copy = 1; next }
		copy && /^\\\.$/ { copy = 0 }
		copy { line[$1] = NR; parent[NR] = $7 }
		END {
			for (n in parent)
				if (parent[n] != "\\N" && line[parent[n]] > n + 0) late++
			print late + 0
		}' "$1"
}

# round_trip ROLE TAG: ROLE creates the extension, loads, dumps, restores
round_trip() {
	local role=$1 src=${run}_$2 dumped restored n db
	echo "# creator, dumper and restorer: $role"
	newdb_route "$src" "$role"
	as_route "$role" create_cruddur -d "$src"
	as "$role" "$src" -c "
		GRANT SELECT ON users, activities TO $app;
		GRANT UPDATE (bio, display_name) ON users TO $app;
		GRANT EXECUTE ON FUNCTION cruddur_create_activity(text, text, text),
			cruddur_create_reply(text, uuid, text) TO $app;"
	# Only the owner of a function (the bootstrap superuser, or on the SQL
	# routes the installing role) can take back what PUBLIC was given by
	# the install script.
	[ "$role" != postgres ] || as "$role" "$src" -c "
		REVOKE EXECUTE ON FUNCTION cruddur_home_feed(integer, timestamp, uuid) FROM PUBLIC;"
	load "$role" "$src" || true
	check "$src" "replies_count exact in the dumped database" "SELECT ($wrong_counts) = 0"
	dumped=$(value "$src" "$checksums")
	catalog_of -d "$src" >"$tmp/$2_src.catalog"

	pg_dump --role="$role" -Fc -d "$src" -f "$tmp/$2.dump" 2>"$tmp/pg_dump.log" ||
		fail "pg_dump -Fc: $(cat "$tmp/pg_dump.log")"
	pg_dump --role="$role" -d "$src" -f "$tmp/$2.sql" 2>"$tmp/pg_dump.log" ||
		fail "pg_dump: $(cat "$tmp/pg_dump.log")"

	n=$(parents_after_replies "$tmp/$2.sql")
	[ "$n" -gt 100 ] || fail "the dump should list many replies before their parents, lists $n"
	ok "the plain dump's COPY lists $n replies before their parents"
	pg_restore -f "$tmp/$2.fc.sql" "$tmp/$2.dump"
	[ "$(parents_after_replies "$tmp/$2.fc.sql")" = "$n" ] ||
		fail "the custom-format dump lists rows in another order"
	ok "so does the custom-format dump's"

	newdb_restore "${src}_fc" "$role"
	restore_as "$role" "${src}_fc" "$tmp/$2.dump" || fail "pg_restore of the custom-format dump"
	newdb_restore "${src}_sql" "$role"
	restore_as "$role" "${src}_sql" "$tmp/$2.sql" || fail "psql restore of the plain dump"

	for db in "${src}_fc" "${src}_sql"; do
		restored=$(value "$db" "$checksums")
		[ "$restored" = "$dumped" ] || fail "$db: rows differ after restore: $dumped / $restored"
		ok "$db: every row identical, replies_count included ($restored)"
		check "$db" "$db: replies_count exact on every row" "SELECT ($wrong_counts) = 0"
		catalog_of -d "$db" >"$tmp/$db.catalog"
		diff -u "$tmp/$2_src.catalog" "$tmp/$db.catalog" ||
			fail "$db: the extension's catalog differs after restore (- dumped, + restored)"
		ok "$db: the extension's catalog identical, privileges and initial privileges included"
	done
	grep -q "^GRANT SELECT ON TABLE public.activities TO $app;" "$tmp/$2.sql" &&
		grep -q "^GRANT UPDATE(bio) ON TABLE public.users TO $app;" "$tmp/$2.sql" &&
		grep -q "^GRANT ALL ON FUNCTION public.cruddur_create_reply(.*) TO $app;" "$tmp/$2.sql" ||
		fail "the app's grants are not all in the dump"
	[ "$role" != postgres ] || grep -q "^REVOKE ALL ON FUNCTION public.cruddur_home_feed(.*) FROM PUBLIC;" "$tmp/$2.sql" ||
		fail "the revoke from PUBLIC is not in the dump"
	ok "the dump carries the grants and revokes made after CREATE EXTENSION"
}

round_trip postgres su
round_trip "$owner" owner

# pg_dump --inserts: one INSERT per row, so the foreign key between
# activities is checked row by row, and a reply listed before its parent
# fails, also with psql --single-transaction (the key is not deferrable).
src=${run}_su
pg_dump --inserts -d "$src" -f "$tmp/inserts.sql" 2>/dev/null
newdb "${run}_inserts" postgres
# (On the psql route the tables are the dump's own, created without their
# foreign keys, which come after the rows: there it restores.)
if [ "$CRUDDUR_ROUTE" = rds ]; then
	psql -X -q -v ON_ERROR_STOP=1 --single-transaction -d "${run}_inserts" -f "$tmp/inserts.sql" >/dev/null ||
		fail "the psql route's pg_dump --inserts dump did not restore"
	[ "$(value "${run}_inserts" "$checksums")" = "$(value "$src" "$checksums")" ] ||
		fail "the psql route's pg_dump --inserts dump restored other rows"
	check "${run}_inserts" "psql route: a pg_dump --inserts dump restores (foreign keys after the rows), every row identical and replies_count exact" \
		"SELECT ($wrong_counts) = 0"
	exit 0
fi
if out=$(psql -X -q -v ON_ERROR_STOP=1 --single-transaction -d "${run}_inserts" -f "$tmp/inserts.sql" 2>&1); then
	fail "the pg_dump --inserts dump restored; README \"Upgrading\" says it does not"
fi
grep -q 'violates foreign key constraint "activities_reply_to_activity_uuid_fkey"' <<<"$out" ||
	fail "the pg_dump --inserts restore failed for another reason: $out"
ok "a pg_dump --inserts dump does not restore (reply before its parent), as README \"Upgrading\" says"
