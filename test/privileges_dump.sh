#!/usr/bin/env bash
#
# test/privileges_dump.sh: the whole privilege surface of cruddur, and its
# survival through pg_dump -Fc / pg_restore by a non-superuser owner.
#
# A database owner who is not a superuser creates the trusted extension and
# grants the two roles the README gives: the Lambda's (EXECUTE on
# cruddur_register_user) and the app's (EXECUTE on its three writes, SELECT
# on users and activities).  Logged in as each of those roles and as a role
# with no grant at all, every table statement, every function of the
# extension, the trigger functions, ownership commands and re-granting are
# attempted: each role can do what it is granted and nothing more.  Then
# every (role, extension object, privilege) pair is checked in the catalog
# against the expected matrix, so a function or table added later without a
# decision here fails.  The owner dumps the database with pg_dump -Fc and
# restores it into a new database with pg_restore; everything passes there
# again, and the ACL, owner and initial privileges of every extension
# object are identical as text.  sql/privileges.sql shows issue 2's
# sentences one by one; this suite is about the whole surface and the dump.
#
# Needs the PG* variables of a cluster where the connecting user is a
# superuser; creates and drops its own roles (cruddur_sec_<pid>p_*) and
# databases.  Exits non-zero on any failure.
#
# On the SQL flavour's routes (test/route.bash; test/flavour.sh runs this
# with CRUDDUR_ROUTE=rds and =pgtle) the owner installs by the route and
# then owns every object (the psql route's "extension objects" are its
# tables and functions in public, and DROP EXTENSION becomes dropping a
# function); on the pg_tle route the superuser enables pg_tle in both
# databases and grants the owner pgtle_admin, and the owner's restore may
# fail only on pg_tle's own two entries (test/route.bash's restore_as).
#
set -euo pipefail
cd "$(dirname "$0")/.."

. test/logins.bash cruddur_sec_p
. test/route.bash
owner=${id}_owner
lambda=${id}_lambda
app=${id}_app
nobody=${id}_nobody
db1=${id}_db
db2=${id}_restored
logins "$owner" "$lambda" "$app" "$nobody"
newdb "$db1" "$owner"
newdb "$db2" "$owner"
route_db "$db1" "$owner" && route_db "$db2" "$owner"

seed_user=0190a000-0000-7000-8000-00000000a001
seed_activity=0190a000-0000-7000-8000-00000000b001
seed_cognito=5eed0000-0000-4000-8000-000000000001

# The owner creates the extension, grants as the README says, and writes a
# person, a crud and a reply.
PGUSER=$owner PGPASSWORD=$pw create_cruddur -d "$db1"
as "$owner" "$db1" -v ON_ERROR_STOP=1 -v lambda="$lambda" -v app="$app" -v u="$seed_user" \
	-v a="$seed_activity" -v cog="$seed_cognito" >/dev/null <<'SQL'
GRANT EXECUTE ON FUNCTION cruddur_register_user(jsonb) TO :"lambda";
GRANT EXECUTE ON FUNCTION cruddur_create_activity(text, text, text),
	cruddur_create_reply(text, uuid, text),
	cruddur_update_profile(text, text, text) TO :"app";
GRANT SELECT ON users, activities TO :"app";
INSERT INTO users (uuid, display_name, handle, email, cognito_user_id)
VALUES (:'u', 'Seed Person', 'seed_person', 'seed@example.com', :'cog');
INSERT INTO activities (uuid, user_uuid, message) VALUES (:'a', :'u', 'the seed crud');
INSERT INTO activities (user_uuid, message, reply_to_activity_uuid) VALUES (:'u', 'a reply', :'a');
SQL

###########################################################################
# Attempts, as each role.  After each:
#   RESULT <label> <roles that may, comma-separated, or -> <SQLSTATE then> <SQLSTATE> <message>
# Everyone else must get 42501.
###########################################################################
cat >"$tmp/attempts.sql" <<'SQL'
SELECT pg_catalog.count(*) FROM public.users \gset r_
\echo RESULT select_users app 00000 :SQLSTATE :LAST_ERROR_MESSAGE
SELECT pg_catalog.count(*) FROM public.activities \gset r_
\echo RESULT select_activities app 00000 :SQLSTATE :LAST_ERROR_MESSAGE
COPY public.users TO STDOUT;
\echo RESULT copy_users_out app 00000 :SQLSTATE :LAST_ERROR_MESSAGE
INSERT INTO public.users (display_name, handle, email, cognito_user_id) VALUES ('x', :'tag', 'x@x', :'tag');
\echo RESULT insert_users - 00000 :SQLSTATE :LAST_ERROR_MESSAGE
INSERT INTO public.activities (user_uuid, message) VALUES (:'seed_user', 'x');
\echo RESULT insert_activities - 00000 :SQLSTATE :LAST_ERROR_MESSAGE
UPDATE public.users SET bio = 'x';
\echo RESULT update_users - 00000 :SQLSTATE :LAST_ERROR_MESSAGE
UPDATE public.activities SET likes_count = 1;
\echo RESULT update_activities - 00000 :SQLSTATE :LAST_ERROR_MESSAGE
DELETE FROM public.activities;
\echo RESULT delete_activities - 00000 :SQLSTATE :LAST_ERROR_MESSAGE
DELETE FROM public.users;
\echo RESULT delete_users - 00000 :SQLSTATE :LAST_ERROR_MESSAGE
TRUNCATE public.activities;
\echo RESULT truncate_activities - 00000 :SQLSTATE :LAST_ERROR_MESSAGE
TRUNCATE public.users CASCADE;
\echo RESULT truncate_users - 00000 :SQLSTATE :LAST_ERROR_MESSAGE
BEGIN;
LOCK TABLE public.users IN ACCESS EXCLUSIVE MODE;
\echo RESULT lock_users - 00000 :SQLSTATE :LAST_ERROR_MESSAGE
ROLLBACK;

SELECT public.cruddur_uuid_v7() IS NOT NULL AS ok \gset r_
\echo RESULT uuid_v7 app,lambda,nobody 00000 :SQLSTATE :LAST_ERROR_MESSAGE
SELECT public.cruddur_register_user(:'event') IS NOT NULL AS ok \gset r_
\echo RESULT register_user lambda 00000 :SQLSTATE :LAST_ERROR_MESSAGE
SELECT public.cruddur_create_activity(:'seed_cognito', :'tag') IS NOT NULL AS ok \gset r_
\echo RESULT create_activity app 00000 :SQLSTATE :LAST_ERROR_MESSAGE
SELECT public.cruddur_create_reply(:'seed_cognito', :'seed_activity', :'tag') IS NOT NULL AS ok \gset r_
\echo RESULT create_reply app 00000 :SQLSTATE :LAST_ERROR_MESSAGE
SELECT public.cruddur_update_profile(:'seed_cognito', 'Seed Person', :'tag') IS NOT NULL AS ok \gset r_
\echo RESULT update_profile app 00000 :SQLSTATE :LAST_ERROR_MESSAGE
SELECT public.cruddur_home_feed() IS NOT NULL AS ok \gset r_
\echo RESULT home_feed app 00000 :SQLSTATE :LAST_ERROR_MESSAGE
SELECT public.cruddur_user_feed('seed_person') IS NOT NULL AS ok \gset r_
\echo RESULT user_feed app 00000 :SQLSTATE :LAST_ERROR_MESSAGE
SELECT public.cruddur_activity(:'seed_activity') IS NOT NULL AS ok \gset r_
\echo RESULT activity app 00000 :SQLSTATE :LAST_ERROR_MESSAGE
SELECT public.cruddur_user_short('seed_person') IS NOT NULL AS ok \gset r_
\echo RESULT user_short app 00000 :SQLSTATE :LAST_ERROR_MESSAGE

-- the SECURITY DEFINER trigger functions (owned by the bootstrap superuser)
-- cannot be called, nor attached to a table of one's own to update
-- activities through them
SELECT public.cruddur_activities_counts() \gset r_
\echo RESULT call_trigger_function - 00000 :SQLSTATE :LAST_ERROR_MESSAGE
CREATE TEMP TABLE mine (uuid uuid, replies_count int, reply_to_activity_uuid uuid);
CREATE TRIGGER steal AFTER INSERT ON pg_temp.mine
	FOR EACH ROW EXECUTE FUNCTION public.cruddur_activities_counts();
\echo RESULT attach_trigger_function - 00000 :SQLSTATE :LAST_ERROR_MESSAGE
CREATE TRIGGER steal_reset BEFORE INSERT ON pg_temp.mine
	FOR EACH ROW EXECUTE FUNCTION public.cruddur_activities_replies_count_reset();
\echo RESULT attach_reset_function - 00000 :SQLSTATE :LAST_ERROR_MESSAGE

-- ownership
ALTER TABLE public.activities DISABLE TRIGGER ALL;
\echo RESULT disable_triggers - 00000 :SQLSTATE :LAST_ERROR_MESSAGE
ALTER FUNCTION public.cruddur_register_user(jsonb) SECURITY INVOKER;
\echo RESULT alter_function - 00000 :SQLSTATE :LAST_ERROR_MESSAGE
COMMENT ON TABLE public.users IS 'mine';
\echo RESULT comment_table - 00000 :SQLSTATE :LAST_ERROR_MESSAGE
CREATE INDEX mine_idx ON public.users (email);
\echo RESULT create_index - 00000 :SQLSTATE :LAST_ERROR_MESSAGE
DROP TABLE public.activities;
\echo RESULT drop_table - 00000 :SQLSTATE :LAST_ERROR_MESSAGE
DROP EXTENSION cruddur;
\echo RESULT drop_extension - 00000 :SQLSTATE :LAST_ERROR_MESSAGE

-- handing on: without GRANT OPTION this is a warning for a role holding
-- any privilege on the object and an error for others; the catalog check
-- afterwards shows nothing was granted
GRANT EXECUTE ON FUNCTION public.cruddur_register_user(jsonb) TO :"nobody";
\echo RESULT regrant_register lambda 00000 :SQLSTATE :LAST_ERROR_MESSAGE
GRANT EXECUTE ON FUNCTION public.cruddur_create_activity(text, text, text) TO :"nobody";
\echo RESULT regrant_create_activity app 00000 :SQLSTATE :LAST_ERROR_MESSAGE
GRANT SELECT ON public.users TO :"nobody";
\echo RESULT regrant_select app 00000 :SQLSTATE :LAST_ERROR_MESSAGE
GRANT INSERT ON public.users TO :"nobody";
\echo RESULT grant_insert app 00000 :SQLSTATE :LAST_ERROR_MESSAGE
SQL
# (the psql route has no extension to drop: the uninstall's other half)
[ "$CRUDDUR_ROUTE" != rds ] || sed -i 's/^DROP EXTENSION cruddur;$/DROP FUNCTION public.cruddur_register_user(jsonb);/' "$tmp/attempts.sql"
ncalls=$(grep -c '^\\echo RESULT ' "$tmp/attempts.sql")

# Every (role, extension object, privilege) against the expected matrix;
# prints the pairs that differ.  A function not classified here prints
# "expected (null)".
cat >"$tmp/matrix.sql" <<'SQL'
WITH roles (r, kind) AS (VALUES (:'owner', 'owner'), (:'lambda', 'lambda'), (:'app', 'app'),
							   (:'nobody', 'nobody')),
members AS (@members@),
fns AS (
	SELECT kind, p.oid::regprocedure::text AS obj,
		   has_function_privilege(r, p.oid, CASE kind WHEN 'owner' THEN 'EXECUTE WITH GRANT OPTION'
												  ELSE 'EXECUTE' END) AS actual,
		   CASE WHEN kind = 'owner' THEN true
				WHEN p.proname IN ('cruddur_uuid_v7', 'cruddur_home_feed', 'cruddur_user_feed',
								   'cruddur_activity', 'cruddur_user_short') THEN true
				WHEN p.proname = 'cruddur_register_user' THEN kind = 'lambda'
				WHEN p.proname IN ('cruddur_create_activity', 'cruddur_create_reply',
								   'cruddur_update_profile') THEN kind = 'app'
				WHEN p.proname IN ('cruddur_activities_counts',
								   'cruddur_activities_replies_count_reset',
								   'cruddur_users_cruds_count_reset',
								   'cruddur_adopt') THEN false
		   END AS expected, 'EXECUTE' AS priv
	  FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid, roles),
tbls AS (
	SELECT kind, c.oid::regclass::text AS obj, priv,
		   CASE WHEN c.relkind <> 'r' THEN NULL
				WHEN kind = 'owner' THEN has_table_privilege(r, c.oid, priv || ' WITH GRANT OPTION')
				ELSE has_table_privilege(r, c.oid, priv) END AS actual,
		   kind = 'owner' OR (kind = 'app' AND priv = 'SELECT') AS expected
	  FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid, roles,
		   unnest('{SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER}'::text[]) AS priv),
cols AS (
	SELECT kind, c.oid::regclass::text AS obj, 'any column ' || priv,
		   has_any_column_privilege(r, c.oid, priv), kind = 'app' AND priv = 'SELECT'
	  FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid, roles,
		   unnest('{SELECT,INSERT,UPDATE,REFERENCES}'::text[]) AS priv
	 WHERE kind <> 'owner' AND c.relkind = 'r'),
-- From PostgreSQL 17 on, a table's row type and its array type are members
-- too (before, only through their table): they go with their table.
other AS (
	SELECT 'any', pg_describe_object(classid, objid, 0), 'unclassified extension member', NULL::bool, true
	  FROM members m WHERE classid NOT IN ('pg_proc'::regclass, 'pg_class'::regclass)
	   AND NOT EXISTS (SELECT FROM pg_type t LEFT JOIN pg_type e ON e.oid = t.typelem
					    WHERE m.classid = 'pg_type'::regclass AND t.oid = m.objid
						  AND coalesce(nullif(t.typrelid, 0), e.typrelid) IN
							  (SELECT objid FROM members WHERE classid = 'pg_class'::regclass)))
SELECT format('%s %s on %s: %s, expected %s', kind, priv, obj, actual, expected)
  FROM (SELECT kind, obj, priv, actual, expected FROM fns
		UNION ALL SELECT * FROM tbls UNION ALL SELECT * FROM cols UNION ALL SELECT * FROM other) x
 WHERE actual IS DISTINCT FROM expected
 ORDER BY 1;
SQL

# ACL, owner and initial privileges of every extension object, its columns
# included, as text.
cat >"$tmp/acls.sql" <<'SQL'
WITH members AS (@members@)
SELECT pg_describe_object(d.classid, d.objid, 0) || ' owner=' ||
	   coalesce(c.relowner, p.proowner)::regrole || ' acl=' ||
	   coalesce(c.relacl::text, p.proacl::text, '(default)') || ' init=' ||
	   coalesce((SELECT i.initprivs::text FROM pg_init_privs i
				  WHERE i.classoid = d.classid AND i.objoid = d.objid AND i.objsubid = 0), '(none)')
  FROM members d
  LEFT JOIN pg_class c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid
  LEFT JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND p.oid = d.objid
UNION ALL
SELECT pg_describe_object('pg_class'::regclass, a.attrelid, a.attnum) || ' acl=' || a.attacl::text
  FROM pg_attribute a
 WHERE a.attacl IS NOT NULL
   AND a.attrelid IN (SELECT objid FROM members)
UNION ALL
SELECT 'extension owner=' || extowner::regrole || ' version=' || extversion || ' schema=' || extnamespace::regnamespace
  FROM pg_extension WHERE extname = 'cruddur'
ORDER BY 1;
SQL
# cruddur's objects, by route (test/route.bash)
for f in "$tmp/matrix.sql" "$tmp/acls.sql"; do
	sql=$(<"$f") && printf '%s\n' "${sql//@members@/$cruddur_members}" >"$f"
done

# Every attempt as every role, then the catalog matrix.  $1 database, $2 tag.
check_privileges() {
	local db=$1 tag=$2 kind role out n bad label roles expected actual msg want sub
	for kind in nobody lambda app; do
		role=${id}_$kind
		out=$tmp/attempts.$tag.$kind.out
		sub=$(cat /proc/sys/kernel/random/uuid)
		as "$role" "$db" -v ON_ERROR_STOP=0 -v tag="${tag}_$kind" -v nobody="$nobody" \
			-v seed_user="$seed_user" -v seed_activity="$seed_activity" -v seed_cognito="$seed_cognito" \
			-v event="{\"triggerSource\": \"PostConfirmation_ConfirmSignUp\", \"request\": {\"userAttributes\":
				{\"sub\": \"$sub\", \"email\": \"$kind@example.com\", \"preferred_username\": \"${tag}_$kind\"}}}" \
			-f "$tmp/attempts.sql" >"$out" 2>&1 || true
		n=0 bad=0
		while read -r _ label roles expected actual msg; do
			n=$((n + 1))
			if [[ ,$roles, == *,$kind,* ]]; then want=$expected; else want=42501; fi
			judge "$db: $label as $kind" "$want" "$actual" "$msg" || bad=$((bad + 1))
		done < <(grep '^RESULT ' "$out")
		[ "$n" -eq "$ncalls" ] || fail "$db: $n attempts as $kind reported, expected $ncalls"
		[ $bad -ne 0 ] || ok "$db: $kind: $n attempts, each allowed or refused as granted"
		if [ "$kind" = lambda ] && ! grep -q '^RESULT register_user lambda 00000 0A000' "$out"; then
			[ "$(su "$db" -c "SELECT count(*) FROM public.users WHERE cognito_user_id = '$sub'")" = 1 ] ||
				fail "$db: the Lambda role's registration left no row"
		fi
	done
	local diff
	diff=$(su "$db" -v owner="$owner" -v lambda="$lambda" -v app="$app" -v nobody="$nobody" -f "$tmp/matrix.sql")
	if [ -n "$diff" ]; then
		fail "$db: privileges differ from the expected matrix:"
		echo "$diff" | sed 's/^/    /'
	else
		ok "$db: every (role, extension object, privilege) as expected ($(su "$db" -f "$tmp/acls.sql" | wc -l) objects)"
	fi
}

check_privileges "$db1" d
rows1=$(su "$db1" -c "SELECT (SELECT count(*) FROM public.users) || ' users, ' || (SELECT count(*) FROM public.activities) || ' activities'")
su "$db1" -f "$tmp/acls.sql" >"$tmp/acls.1"

# The owner dumps and restores into a new database of the same cluster.
if PGUSER=$owner PGPASSWORD=$pw pg_dump -Fc -d "$db1" -f "$tmp/dump" 2>"$tmp/dump.err"; then
	ok "pg_dump -Fc by the non-superuser owner"
else
	fail "pg_dump -Fc by the owner: $(cat "$tmp/dump.err")"
fi
if PGUSER=$owner PGPASSWORD=$pw restore_as "$owner" "$db2" "$tmp/dump" >"$tmp/restore.err" 2>&1 &&
	[ ! -s "$tmp/restore.err" ]; then
	ok "pg_restore by the owner into a new database, without error or warning$([ "$CRUDDUR_ROUTE" != pgtle ] || echo " but on pg_tle's own two entries")"
else
	fail "pg_restore by the owner: $(cat "$tmp/restore.err")"
fi
rows2=$(su "$db2" -c "SELECT (SELECT count(*) FROM public.users) || ' users, ' || (SELECT count(*) FROM public.activities) || ' activities'")
[ "$rows1" = "$rows2" ] && ok "restored rows: $rows2" || fail "rows: $rows1 dumped, $rows2 restored"

su "$db2" -f "$tmp/acls.sql" >"$tmp/acls.2"
if diff -u "$tmp/acls.1" "$tmp/acls.2" >"$tmp/acls.diff"; then
	ok "owner, ACL and initial privileges of all $(wc -l <"$tmp/acls.1") extension objects identical after restore"
else
	fail "privileges changed by dump and restore:"
	sed 's/^/    /' "$tmp/acls.diff"
fi
check_privileges "$db2" r

finish test/privileges_dump.sh
