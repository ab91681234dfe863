#!/usr/bin/env bash
#
# test/adopt.sh: cruddur_adopt.sql, as installed beside the extension, on
# databases built as Cruddur builds them (test/fixtures/adopt/): its own
# schema.sql and seed, with and without the bio migration, and with every
# defect cruddur_adopt repairs, reply_to_activity_uuid as integer and as
# uuid.  A database owner who is not a superuser runs it, as on a managed
# server.  Every row is counted and compared before and after; the report
# must list exactly the changes made; a second run changes nothing; a run
# that fails changes nothing.
#
set -euo pipefail
cd "$(dirname "$0")/.."
. test/logins.bash cruddur_adopt
owner=${id}_owner app=${id}_app
logins "$owner" "$app"
pg_config=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
script=$(su postgres -c 'SHOW extension_destdir')$($pg_config --sharedir)/extension/cruddur_adopt.sql
[ -r "$script" ] || { echo "not installed: $script"; exit 1; }

# check DB WHAT SQL: SQL (which may use :'report') is true
check() {
	local got
	got=$(su "$1" -v report="$(cat "$tmp/$1.report")" <<<"$3" 2>&1) || got="error: $got"
	[ "$got" = t ] && ok "$1: $2" || fail "$1: $2 (got '$got')"
}

# legacy DB FIXTURE-ARGS...: a Cruddur database owned by $owner, its rows
# copied into the superuser's schema snap, the app granted as Cruddur did
legacy() {
	local db=$1; shift
	newdb "$db" "$owner"
	as "$owner" "$db" -v ON_ERROR_STOP=1 "$@" >/dev/null
	as "$owner" "$db" -v ON_ERROR_STOP=1 -c "GRANT SELECT ON users, activities TO \"$app\"" \
		-c "GRANT INSERT ON activities TO \"$app\""
	su "$db" -c "CREATE SCHEMA snap" -c "CREATE TABLE snap.users AS TABLE public.users" \
		-c "CREATE TABLE snap.activities AS TABLE public.activities"
}

# adopt DB: runs the script as the owner; the report into $tmp/DB.report
adopt() {
	PGUSER=$owner PGPASSWORD=$pw psql -X -At -v ON_ERROR_STOP=1 -d "$1" -f "$script" >"$tmp/$1.out" 2>&1 ||
		{ cat "$tmp/$1.out"; fail "$1: cruddur_adopt.sql failed"; return 1; }
	sed -n '/^{$/,/^}$/p' "$tmp/$1.out" >"$tmp/$1.report"
	ok "$1: cruddur_adopt.sql ran as the database owner"
}

# What holds after any adoption: every row there, as the rules make it, and
# the report listing exactly what changed.
adopted() {
	local db=$1
	check "$db" "every crud kept with its uuid and timestamps" "
		SELECT (SELECT count(*) FROM snap.activities) = (SELECT count(*) FROM public.activities)
		   AND NOT EXISTS (SELECT FROM snap.activities s WHERE NOT EXISTS (
				SELECT FROM public.activities a WHERE a.uuid = s.uuid AND a.created_at = s.created_at
				   AND a.expires_at IS NOT DISTINCT FROM s.expires_at))"
	check "$db" "messages kept, or repaired and listed with their whole text" "
		SELECT bool_and(a.message = CASE WHEN char_length(s.message) BETWEEN 1 AND 1024 THEN s.message
										 WHEN coalesce(s.message, '') = '' THEN '(empty)'
										 ELSE left(s.message, 1024) END)
		   AND (SELECT count(*) FROM snap.activities WHERE coalesce(char_length(message), 0) NOT BETWEEN 1 AND 1024)
			 = jsonb_array_length(:'report'::jsonb->'messages')
		   AND NOT EXISTS (SELECT FROM jsonb_array_elements(:'report'::jsonb->'messages') m
							WHERE m->>'from' IS DISTINCT FROM (SELECT message FROM snap.activities
																WHERE uuid = (m->>'uuid')::uuid))
		  FROM snap.activities s JOIN public.activities a USING (uuid)"
	check "$db" "every person kept, or merged into the oldest row of their sub and listed" "
		WITH merged AS (SELECT (m->>'uuid')::uuid AS uuid, (m->>'into')::uuid AS into
						  FROM jsonb_array_elements(:'report'::jsonb->'merged') m),
			 subs AS (SELECT uuid, created_at, CASE WHEN cognito_user_id ~* '^([{]([0-9a-f]{4}-?){7}[0-9a-f]{4}[}]|([0-9a-f]{4}-?){7}[0-9a-f]{4})$'
												   THEN cognito_user_id::uuid::text END AS sub FROM snap.users)
		SELECT (SELECT count(*) FROM snap.users) - (SELECT count(*) FROM merged)
				 + (:'report'::jsonb->'unknown_author' <> 'null')::int = (SELECT count(*) FROM public.users)
		   AND NOT EXISTS (SELECT FROM snap.users s WHERE
				EXISTS (SELECT FROM public.users u WHERE u.uuid = s.uuid) = EXISTS (SELECT FROM merged m WHERE m.uuid = s.uuid))
		   AND NOT EXISTS (SELECT FROM merged m JOIN subs s USING (uuid) WHERE m.into <> (
				SELECT o.uuid FROM subs o WHERE o.sub = s.sub ORDER BY o.created_at, o.uuid LIMIT 1))
		   AND NOT EXISTS (SELECT FROM subs s JOIN public.users u USING (uuid)
							WHERE u.cognito_user_id <> coalesce(s.sub, 'legacy:' || s.uuid))
		   AND (SELECT count(*) FROM subs s JOIN public.users u USING (uuid) WHERE s.sub IS NULL)
			 = jsonb_array_length(:'report'::jsonb->'not_a_sub')"
	check "$db" "people keep their names, emails, bio and created_at; changed handles listed" "
		SELECT bool_and(u.display_name = s.display_name AND u.email = s.email AND u.created_at = s.created_at
						AND u.bio IS NOT DISTINCT FROM (to_jsonb(s)->>'bio')
						AND u.handle = coalesce((SELECT h->>'to' FROM jsonb_array_elements(:'report'::jsonb->'handles') h
												  WHERE (h->>'uuid')::uuid = u.uuid), s.handle))
		   AND (SELECT count(*) FROM public.users u JOIN snap.users s USING (uuid) WHERE u.handle <> s.handle)
			 = jsonb_array_length(:'report'::jsonb->'handles')
		  FROM public.users u JOIN snap.users s USING (uuid)"
	check "$db" "each crud's author: its own, the kept row of a merged one, or the unknown author" "
		SELECT bool_and(a.user_uuid = CASE
				WHEN NOT EXISTS (SELECT FROM snap.users u WHERE u.uuid = s.user_uuid)
					THEN (:'report'::jsonb->'unknown_author'->>'uuid')::uuid
				ELSE coalesce((SELECT (m->>'into')::uuid FROM jsonb_array_elements(:'report'::jsonb->'merged') m
								WHERE (m->>'uuid')::uuid = s.user_uuid), s.user_uuid) END)
		  FROM snap.activities s JOIN public.activities a USING (uuid)"
	check "$db" "replies kept where they name an adopted crud, else top level and listed" "
		SELECT bool_and(a.reply_to_activity_uuid IS NOT DISTINCT FROM
						(SELECT p.uuid FROM snap.activities p WHERE p.uuid::text = s.reply_to_activity_uuid::text))
		   AND (SELECT count(*) FROM snap.activities s WHERE s.reply_to_activity_uuid IS NOT NULL AND NOT EXISTS (
				SELECT FROM snap.activities p WHERE p.uuid::text = s.reply_to_activity_uuid::text))
			 = jsonb_array_length(:'report'::jsonb->'reply_to')
		  FROM snap.activities s JOIN public.activities a USING (uuid)"
	check "$db" "counts exact (cruds_count too), never NULL or negative; every changed count listed" "
		SELECT bool_and(a.replies_count = (SELECT count(*) FROM public.activities r WHERE r.reply_to_activity_uuid = a.uuid)
						AND a.reposts_count = greatest(coalesce(s.reposts_count, 0), 0)
						AND a.likes_count = greatest(coalesce(s.likes_count, 0), 0))
		   AND sum((s.replies_count IS DISTINCT FROM a.replies_count)::int + (s.reposts_count IS DISTINCT FROM a.reposts_count)::int
				   + (s.likes_count IS DISTINCT FROM a.likes_count)::int) = jsonb_array_length(:'report'::jsonb->'counts')
		   AND NOT EXISTS (SELECT FROM public.users u
							WHERE u.cruds_count <> (SELECT count(*) FROM public.activities c WHERE c.user_uuid = u.uuid))
		  FROM snap.activities s JOIN public.activities a USING (uuid)"
	check "$db" "the report counts the rows" "
		SELECT :'report'::jsonb->'users' = jsonb_build_object('legacy', (SELECT count(*) FROM snap.users),
															  'adopted', (SELECT count(*) FROM public.users))
		   AND :'report'::jsonb->'activities' = jsonb_build_object('legacy', (SELECT count(*) FROM snap.activities),
																   'adopted', (SELECT count(*) FROM public.activities))"
	check "$db" "the legacy grants re-granted on the new tables, nothing more" "
		SELECT has_table_privilege('$app', 'public.users', 'SELECT') AND has_table_privilege('$app', 'public.activities', 'SELECT')
		   AND has_table_privilege('$app', 'public.activities', 'INSERT') AND NOT has_table_privilege('$app', 'public.users', 'INSERT')
		   AND NOT has_table_privilege('$app', 'public.activities', 'UPDATE')
		   AND has_table_privilege('$owner', 'public.users', 'UPDATE WITH GRANT OPTION')"
	check "$db" "the extension manages the tables; the legacy tables and their schema are gone" "
		SELECT (SELECT extversion FROM pg_extension WHERE extname = 'cruddur') IS NOT NULL
		   AND 'public.users'::regclass IN (SELECT objid FROM pg_depend WHERE deptype = 'e')
		   AND to_regnamespace('cruddur_legacy') IS NULL"

	local before
	before=$(su "$db" -c "SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM (SELECT u::text FROM public.users u UNION ALL SELECT a::text FROM public.activities a) t")
	PGUSER=$owner PGPASSWORD=$pw psql -X -At -v ON_ERROR_STOP=1 -d "$db" -f "$script" >"$tmp/$db.again" 2>&1 &&
		grep -q 'installed in this database already; nothing was changed' "$tmp/$db.again" &&
		[ "$(su "$db" -c "SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM (SELECT u::text FROM public.users u UNION ALL SELECT a::text FROM public.activities a) t")" = "$before" ] &&
		ok "$db: run again, it says so and changes nothing" || { cat "$tmp/$db.again"; fail "$db: second run"; }
}

# 1. Cruddur's schema.sql and seed as they are
legacy "${id}_seed" -v with_bio=false -f test/fixtures/adopt/cruddur.sql
adopt "${id}_seed" && adopted "${id}_seed"
check "${id}_seed" "the MOCK seed people stay three people" "
	SELECT array_agg(handle ORDER BY handle) = '{andrewbrown,bayko,londo}' AND bool_and(cognito_user_id = 'legacy:' || uuid)
	   AND (SELECT count(*) FROM public.activities) = 2 FROM public.users"

# 2. and 3. every defect, reply_to_activity_uuid integer then uuid
for kind in integer uuid; do
	db=${id}_$kind
	legacy "$db" -v with_bio=true -f test/fixtures/adopt/cruddur.sql \
		-v uuid_reply_to="$([ $kind = uuid ] && echo true || echo false)" -f test/fixtures/adopt/defects.sql
	adopt "$db" && adopted "$db"
	check "$db" "handles derived as registration derives them" "
		SELECT jsonb_object_agg(h->>'from', h->>'to') = jsonb_build_object('Jöhn Doe!', 'J_hn_Doe', '', 'x_y_z',
				repeat('L', 33), repeat('L', 32), 'BOB', 'BOB_2', 'bob!', 'bob_3', '!!!', 'user')
		   AND :'report'::jsonb->'unknown_author'->>'handle' = 'unknown_author_2'
		  FROM jsonb_array_elements(:'report'::jsonb->'handles') h"
	check "$db" "three rows of one sub in three spellings became the oldest person, with all their cruds" "
		SELECT cognito_user_id = 'e5a9858f-6a5f-48b2-bf2f-a39fb9b81234' AND display_name = 'Firsty'
		   AND (SELECT count(*) FROM public.activities WHERE user_uuid = u.uuid) = $([ $kind = uuid ] && echo 4 || echo 3)
		  FROM public.users u WHERE uuid = '00000000-0000-4000-8000-00000000c001'"
done
check "${id}_integer" "the integer reply_to is listed and the crud is top level" "
	SELECT :'report'::jsonb->'reply_to' = '[{\"uuid\": \"00000000-0000-4000-8000-00000000a101\", \"from\": \"1\"}]'::jsonb"

# 4. A step that fails (a view depends on the legacy users) changes nothing.
db=${id}_view
legacy "$db" -v with_bio=false -f test/fixtures/adopt/cruddur.sql
as "$owner" "$db" -c "CREATE VIEW handles AS SELECT handle FROM users"
if PGUSER=$owner PGPASSWORD=$pw psql -X -At -v ON_ERROR_STOP=1 -d "$db" -f "$script" >"$tmp/view.out" 2>&1; then
	fail "$db: adopted although a view depends on the legacy table"
else
	grep -q 'view handles depends on table cruddur_legacy.users' "$tmp/view.out" &&
		ok "$db: refused: $(grep -m1 ERROR "$tmp/view.out")" || { cat "$tmp/view.out"; fail "$db: wrong error"; }
fi
echo '{}' >"$tmp/$db.report"
check "$db" "after the failure: no extension, no schema cruddur_legacy, the legacy rows in place" "
	SELECT NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'cruddur') AND to_regnamespace('cruddur_legacy') IS NULL
	   AND (SELECT count(*) FROM public.users) = 3 AND (SELECT count(*) FROM public.activities) = 2
	   AND 'public.users'::regclass NOT IN (SELECT objid FROM pg_depend WHERE deptype = 'e')"

# 5. The function alone: refuses tables that hold rows; not for PUBLIC.
db=${id}_seed
check "$db" "cruddur_adopt into tables holding rows: 55000" "
	DO \$\$ BEGIN PERFORM public.cruddur_adopt('snap.users', 'snap.activities'); RAISE 'adopted twice';
	EXCEPTION WHEN object_not_in_prerequisite_state THEN NULL; END \$\$; SELECT true"
check "$db" "cruddur_adopt: not executable by PUBLIC, the creator may grant it" "
	SELECT NOT has_function_privilege('$app', 'public.cruddur_adopt(regclass, regclass)', 'EXECUTE')
	   AND has_function_privilege('$owner', 'public.cruddur_adopt(regclass, regclass)', 'EXECUTE WITH GRANT OPTION')"

finish test/adopt.sh
