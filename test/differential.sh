#!/usr/bin/env bash
#
# test/differential.sh: each C read function returns, byte for byte, the
# text of the SQL it replaces (test/reference.sql), on data full of hostile
# strings and timestamps (test/hostile_data.sql):
#   - cruddur_home_feed walking every page with page sizes 1, 7, 20 and 1000
#     from each page's last item, plus cursors that fall between rows; the
#     walk returns every visible top-level crud exactly once, newest first;
#     both ways to a page (straight from the index, and the saved plan when
#     row level security is on), with auto_explain showing which served;
#   - cruddur_user_feed of every person, walking every page (1, 7, 40, 1000),
#     each of their visible cruds and replies exactly once; handles in odd
#     case; unknown handles give NULL like the SQL;
#   - cruddur_activity of every crud and reply (expired: NULL), unknown: NULL;
#   - cruddur_user_short of every handle in four cases, and unknown handles;
#   - writes with hostile text: what cruddur_create_activity and
#     cruddur_create_reply return equals cruddur_ref.created_activity() of the
#     new row, and the following reads show it (the parent's replies_count
#     up by one); cruddur_update_profile returns cruddur_user_short and the
#     user feed shows the new profile; then every read is compared again.
# Everything is read once with TimeZone +14:00 and once with -11:00, so a
# comparison with local time instead of UTC shows.  Rows whose expires_at is
# exactly the reader's now() (and 1 microsecond either side) are included.
#
# A function that still raises feature_not_supported (a stub) is reported
# as SKIP, loudly; any difference or error makes the suite fail, showing
# the call and the first differing character.
#
# Environment: PG* of a cluster where the user is a superuser; PEOPLE and
# CRUDS size the data (50 and 3000 by default).
#
set -uo pipefail
cd "$(dirname "$0")/.."
. test/route.bash

db=cruddur_differential_$$
people=${PEOPLE:-50}
cruds=${CRUDS:-3000}
psql_() { psql -X -q -v ON_ERROR_STOP=1 -P pager=off "$@"; }
cleanup() { psql_ -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1; }
trap cleanup EXIT

# UTF8 whatever the cluster's default, so every character can be stored,
# and a locale whose lower() folds beyond ASCII (KELVIN SIGN to k), so a
# handle lookup that forgets COLLATE "C" finds the wrong person.
locale=C.UTF-8
locale -a 2>/dev/null | grep -qix 'C.utf-\?8' || locale=C
psql_ -d postgres -c "CREATE DATABASE $db TEMPLATE template0 ENCODING 'UTF8' LOCALE '$locale'" || exit 1
export PGDATABASE=$db

create_cruddur && psql_ -f test/reference.sql >/dev/null &&
psql_ -v people="$people" -v cruds="$cruds" -f test/hostile_data.sql >/dev/null || exit 1

# The checks: plpgsql functions of schema diff that record PASS, FAIL or
# SKIP rows in diff.result.
psql_ <<'SQL' || exit 1
CREATE SCHEMA diff;
CREATE TABLE diff.result (id serial, status text, check_name text, detail text);
CREATE TABLE diff.seen (uuid uuid, page int, pos int);

-- Where two texts first differ, with some context, as printable JSON strings.
CREATE FUNCTION diff.describe(c text, r text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	lo int := 0;
	hi int;
	mid int;
BEGIN
	IF c IS NULL OR r IS NULL THEN
		RETURN format('C returned %s, the SQL %s',
					  coalesce(to_json(left(c, 300))::text, 'NULL'),
					  coalesce(to_json(left(r, 300))::text, 'NULL'));
	END IF;
	-- the longest common prefix, by bisection
	hi := least(length(c), length(r));
	WHILE lo < hi LOOP
		mid := (lo + hi + 1) / 2;
		IF left(c, mid) = left(r, mid) THEN lo := mid; ELSE hi := mid - 1; END IF;
	END LOOP;
	RETURN format('first difference at character %s (C: %s characters, SQL: %s); C has ...%s..., the SQL ...%s...',
				  lo + 1, length(c), length(r),
				  to_json(substr(c, greatest(lo - 60, 1), 120)),
				  to_json(substr(r, greatest(lo - 60, 1), 120)));
END
$$;

-- A string as a quoted literal with everything outside printable ASCII as
-- \uXXXX, so that look-alikes (KELVIN SIGN, dotless i) show in a report.
CREATE FUNCTION diff.show(s text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
SELECT CASE WHEN s IS NULL THEN 'NULL' ELSE
	   '''' || coalesce(string_agg(CASE WHEN c = '''' THEN ''''''
										WHEN ascii(c) BETWEEN 32 AND 126 THEN c
										ELSE format('\u%s', lpad(to_hex(ascii(c)), 4, '0')) END,
								   '' ORDER BY o), '') || '''' END
  FROM regexp_split_to_table(s, '') WITH ORDINALITY AS x(c, o)
 WHERE c <> ''
$$;

CREATE FUNCTION diff.record(status text, check_name text, detail text) RETURNS void
LANGUAGE sql AS $$ INSERT INTO diff.result (status, check_name, detail) VALUES (status, check_name, detail) $$;

-- Sets the rows of hostile.expires_now to expire exactly at this
-- transaction's now() in UTC, or 1 microsecond before or after.
CREATE FUNCTION diff.expire_now() RETURNS void LANGUAGE sql AS $$
UPDATE public.activities a
   SET expires_at = timezone('UTC', now()) + e.offset_us * interval '1 microsecond'
  FROM hostile.expires_now e
 WHERE a.uuid = e.uuid
$$;

CREATE FUNCTION diff.visible(a public.activities) RETURNS boolean LANGUAGE sql STABLE
AS $$ SELECT a.expires_at IS NULL OR a.expires_at > timezone('UTC', now()) $$;

-- A hostile message the writes accept: one of only white space (Unicode
-- White_Space) is blank and refused with 22023 (test/pgtap/json_api.sql tests
-- that), so such a piece gets a visible character appended.
CREATE FUNCTION diff.unblank(s text) RETURNS text LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE WHEN translate(s, E' \t\n\f\r' || chr(11) || chr(133) || chr(160) || chr(5760) || chr(8192)
	|| chr(8193) || chr(8194) || chr(8195) || chr(8196) || chr(8197) || chr(8198) || chr(8199) || chr(8200)
	|| chr(8201) || chr(8202) || chr(8232) || chr(8233) || chr(8239) || chr(8287) || chr(12288), '') = ''
	THEN s || '.' ELSE s END $$;

/*
 * Walks the home feed page by page, each page's cursor taken from the last
 * item of the page before (as the app does, from the JSON text), comparing
 * C and SQL on every page until an empty one; then checks that the walk
 * saw each visible top-level crud exactly once, in order.
 */
CREATE FUNCTION diff.home_feed_walk(ps int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	name text := format('cruddur_home_feed walk, page size %s, TimeZone %s', ps, current_setting('TimeZone'));
	cur_ts timestamp;
	cur_uuid uuid;
	c json;
	r json;
	n int;
	pages int := 0;
	expected bigint;
	problem text;
BEGIN
	PERFORM diff.expire_now();
	TRUNCATE diff.seen;
	LOOP
		BEGIN
			c := public.cruddur_home_feed(ps, cur_ts, cur_uuid);
		EXCEPTION
			WHEN feature_not_supported THEN
				PERFORM diff.record('SKIP', name, SQLERRM);
				RETURN;
			WHEN OTHERS THEN
				PERFORM diff.record('FAIL', name, format('cruddur_home_feed(%s, %L, %L) raised %s: %s',
														ps, cur_ts, cur_uuid, SQLSTATE, SQLERRM));
				RETURN;
		END;
		r := cruddur_ref.home_feed(ps, cur_ts, cur_uuid);
		IF c::text IS DISTINCT FROM r::text THEN
			PERFORM diff.record('FAIL', name, format('cruddur_home_feed(%s, %L, %L), page %s: %s',
													ps, cur_ts, cur_uuid, pages + 1, diff.describe(c::text, r::text)));
			RETURN;
		END IF;
		n := json_array_length(r);
		EXIT WHEN n = 0;
		pages := pages + 1;
		INSERT INTO diff.seen SELECT (e->>'uuid')::uuid, pages, o::int
		  FROM json_array_elements(r) WITH ORDINALITY AS x(e, o);
		cur_ts := (r->(n - 1)->>'created_at')::timestamp;
		cur_uuid := (r->(n - 1)->>'uuid')::uuid;
		IF n > ps THEN
			PERFORM diff.record('FAIL', name, format('page %s has %s items', pages, n));
			RETURN;
		END IF;
	END LOOP;

	SELECT count(*) INTO expected FROM public.activities a
	 WHERE a.reply_to_activity_uuid IS NULL AND diff.visible(a);
	SELECT CASE
		WHEN (SELECT count(*) FROM diff.seen) <> (SELECT count(DISTINCT uuid) FROM diff.seen)
			THEN 'a crud came twice'
		WHEN EXISTS (SELECT FROM public.activities a WHERE a.reply_to_activity_uuid IS NULL AND diff.visible(a)
					 AND a.uuid NOT IN (SELECT uuid FROM diff.seen))
			THEN 'a visible crud never came'
		WHEN EXISTS (SELECT FROM diff.seen s JOIN public.activities a USING (uuid)
					 WHERE a.reply_to_activity_uuid IS NOT NULL OR NOT diff.visible(a))
			THEN 'a reply or an expired crud came'
		WHEN EXISTS (SELECT FROM (SELECT a.created_at, a.uuid,
										 lag(a.created_at) OVER w AS prev_at, lag(a.uuid) OVER w AS prev_uuid
									FROM diff.seen s JOIN public.activities a USING (uuid)
								  WINDOW w AS (ORDER BY s.page, s.pos)) o
					 WHERE (created_at, uuid) >= (prev_at, prev_uuid))
			THEN 'not newest first'
	END INTO problem;
	IF problem IS NOT NULL THEN
		PERFORM diff.record('FAIL', name, problem);
	ELSIF expected = 0 THEN
		PERFORM diff.record('FAIL', name, 'no visible crud in the data: the test proves nothing');
	ELSE
		PERFORM diff.record('PASS', name, format('%s pages, %s cruds, each visible top-level crud exactly once, newest first', pages, expected));
	END IF;
END
$$;

/*
 * The home feed from cursors that are not the last item of a page: every
 * distinct created_at with a random uuid, with the smallest and largest
 * uuid, and the infinities; and the call with every argument defaulted.
 */
CREATE FUNCTION diff.home_feed_cursors() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	name text := format('cruddur_home_feed from arbitrary cursors, TimeZone %s', current_setting('TimeZone'));
	cur record;
	c json;
	r json;
	calls int := 0;
BEGIN
	PERFORM diff.expire_now();
	BEGIN
		c := public.cruddur_home_feed();
	EXCEPTION
		WHEN feature_not_supported THEN
			PERFORM diff.record('SKIP', name, SQLERRM);
			RETURN;
	END;
	r := cruddur_ref.home_feed();
	IF c::text IS DISTINCT FROM r::text THEN
		PERFORM diff.record('FAIL', name, 'cruddur_home_feed(): ' || diff.describe(c::text, r::text));
		RETURN;
	END IF;
	FOR cur IN
		SELECT ts, u FROM (SELECT DISTINCT created_at AS ts FROM public.activities
						   UNION SELECT 'infinity' UNION SELECT '-infinity') t,
			   LATERAL (VALUES (gen_random_uuid()), ('00000000-0000-0000-0000-000000000000'::uuid),
							   ('ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid)) v(u)
		 WHERE u <> '00000000-0000-0000-0000-000000000000' OR ts IN ('2024-02-29 12:00:00', 'infinity', '-infinity')
	LOOP
		BEGIN
			c := public.cruddur_home_feed(20, cur.ts, cur.u);
		EXCEPTION WHEN OTHERS THEN
			PERFORM diff.record('FAIL', name, format('cruddur_home_feed(20, %L, %L) raised %s: %s',
													cur.ts, cur.u, SQLSTATE, SQLERRM));
			RETURN;
		END;
		r := cruddur_ref.home_feed(20, cur.ts, cur.u);
		IF c::text IS DISTINCT FROM r::text THEN
			PERFORM diff.record('FAIL', name, format('cruddur_home_feed(20, %L, %L): %s',
													cur.ts, cur.u, diff.describe(c::text, r::text)));
			RETURN;
		END IF;
		calls := calls + 1;
	END LOOP;
	PERFORM diff.record('PASS', name, format('%s cursors and the default call', calls));
END
$$;

/*
 * The user feed of every person, walking every page; each of their
 * visible cruds and replies exactly once.
 */
CREATE FUNCTION diff.user_feed_walk(ps int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	name text := format('cruddur_user_feed walk of every person, page size %s, TimeZone %s', ps, current_setting('TimeZone'));
	person record;
	cur_ts timestamp;
	cur_uuid uuid;
	c json;
	r json;
	n int;
	pages int := 0;
	rows_seen bigint := 0;
BEGIN
	PERFORM diff.expire_now();
	FOR person IN SELECT uuid, handle FROM public.users ORDER BY handle LOOP
		TRUNCATE diff.seen;
		cur_ts := NULL;
		cur_uuid := NULL;
		LOOP
			BEGIN
				c := public.cruddur_user_feed(person.handle, ps, cur_ts, cur_uuid);
			EXCEPTION
				WHEN feature_not_supported THEN
					PERFORM diff.record('SKIP', name, SQLERRM);
					RETURN;
				WHEN OTHERS THEN
					PERFORM diff.record('FAIL', name, format('cruddur_user_feed(%L, %s, %L, %L) raised %s: %s',
															person.handle, ps, cur_ts, cur_uuid, SQLSTATE, SQLERRM));
					RETURN;
			END;
			r := cruddur_ref.user_feed(person.handle, ps, cur_ts, cur_uuid);
			IF c::text IS DISTINCT FROM r::text THEN
				PERFORM diff.record('FAIL', name, format('cruddur_user_feed(%L, %s, %L, %L): %s',
														person.handle, ps, cur_ts, cur_uuid, diff.describe(c::text, r::text)));
				RETURN;
			END IF;
			n := json_array_length(r->'activities');
			pages := pages + 1;
			EXIT WHEN n = 0;
			INSERT INTO diff.seen SELECT (e->>'uuid')::uuid, pages, o::int
			  FROM json_array_elements(r->'activities') WITH ORDINALITY AS x(e, o);
			cur_ts := (r->'activities'->(n - 1)->>'created_at')::timestamp;
			cur_uuid := (r->'activities'->(n - 1)->>'uuid')::uuid;
		END LOOP;
		IF (SELECT count(*) FROM diff.seen) <> (SELECT count(DISTINCT uuid) FROM diff.seen)
		   OR EXISTS (SELECT uuid FROM public.activities a WHERE a.user_uuid = person.uuid AND diff.visible(a)
					  EXCEPT SELECT uuid FROM diff.seen)
		   OR EXISTS (SELECT uuid FROM diff.seen EXCEPT
					  SELECT uuid FROM public.activities a WHERE a.user_uuid = person.uuid AND diff.visible(a)) THEN
			PERFORM diff.record('FAIL', name, format('the walk of %L did not give each of their visible cruds exactly once', person.handle));
			RETURN;
		END IF;
		rows_seen := rows_seen + (SELECT count(*) FROM diff.seen);
	END LOOP;
	IF rows_seen = 0 THEN
		PERFORM diff.record('FAIL', name, 'no visible crud in the data: the test proves nothing');
	ELSE
		PERFORM diff.record('PASS', name, format('%s people, %s pages, %s cruds and replies, each exactly once',
												(SELECT count(*) FROM public.users), pages, rows_seen));
	END IF;
END
$$;

-- Handles as a person might type them, and handles of nobody.
CREATE FUNCTION diff.handles() RETURNS TABLE (handle text) LANGUAGE sql STABLE AS $$
SELECT h FROM public.users u,
	   LATERAL (VALUES (u.handle), (lower(u.handle)), (upper(u.handle)),
					   (translate(u.handle, 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ',
									'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'))) v(h)
UNION ALL
SELECT h FROM (VALUES (''), ('nobody'), ('x_'), (' x'), ('x '), ('X' || chr(8203)), ('%'), ('_'),
					  ('uSeR_1'), ('user_3'), (repeat('Z', 33)), ('ı'), ('İ'), (chr(8490) || 'elvin'),
					  ('USER_' || chr(305)), ('Ｘ'), (NULL)) v(h)
UNION ALL
SELECT replace(replace(u.handle, 'i', 'ı'), 'I', 'İ') FROM public.users u WHERE u.handle ~* 'i'
UNION ALL
SELECT replace(replace(u.handle, 'k', chr(8490)), 'K', chr(8490)) FROM public.users u WHERE u.handle ~* 'k'
UNION ALL
SELECT u.handle || 'x' FROM public.users u
$$;

CREATE FUNCTION diff.user_feed_handles() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	name text := format('cruddur_user_feed by handles in odd case and unknown handles, TimeZone %s', current_setting('TimeZone'));
	h text;
	c json;
	r json;
	calls int := 0;
	nulls int := 0;
BEGIN
	PERFORM diff.expire_now();
	FOR h IN SELECT handle FROM diff.handles() LOOP
		BEGIN
			c := public.cruddur_user_feed(h);
		EXCEPTION
			WHEN feature_not_supported THEN
				PERFORM diff.record('SKIP', name, SQLERRM);
				RETURN;
			WHEN OTHERS THEN
				PERFORM diff.record('FAIL', name, format('cruddur_user_feed(%s) raised %s: %s', diff.show(h), SQLSTATE, SQLERRM));
				RETURN;
		END;
		r := cruddur_ref.user_feed(h);
		IF c::text IS DISTINCT FROM r::text THEN
			PERFORM diff.record('FAIL', name, format('cruddur_user_feed(%s): %s', diff.show(h), diff.describe(c::text, r::text)));
			RETURN;
		END IF;
		calls := calls + 1;
		nulls := nulls + (r IS NULL)::int;
	END LOOP;
	PERFORM diff.record('PASS', name, format('%s handles, %s of them nobody''s (NULL)', calls, nulls));
END
$$;

-- Every crud and reply, expired or not, plus uuids of nothing.
CREATE FUNCTION diff.activity_all() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	name text := format('cruddur_activity of every crud and reply, TimeZone %s', current_setting('TimeZone'));
	id uuid;
	c json;
	r json;
	calls int := 0;
	nulls int := 0;
	with_replies int := 0;
BEGIN
	PERFORM diff.expire_now();
	FOR id IN SELECT uuid FROM public.activities
			  UNION ALL VALUES (gen_random_uuid()), ('00000000-0000-0000-0000-000000000001'::uuid), (NULL::uuid)
	LOOP
		BEGIN
			c := public.cruddur_activity(id);
		EXCEPTION
			WHEN feature_not_supported THEN
				PERFORM diff.record('SKIP', name, SQLERRM);
				RETURN;
			WHEN OTHERS THEN
				PERFORM diff.record('FAIL', name, format('cruddur_activity(%L) raised %s: %s', id, SQLSTATE, SQLERRM));
				RETURN;
		END;
		r := cruddur_ref.activity(id);
		IF c::text IS DISTINCT FROM r::text THEN
			PERFORM diff.record('FAIL', name, format('cruddur_activity(%L): %s', id, diff.describe(c::text, r::text)));
			RETURN;
		END IF;
		calls := calls + 1;
		nulls := nulls + (r IS NULL)::int;
		with_replies := with_replies + coalesce(json_array_length(r->'replies') > 0, false)::int;
	END LOOP;
	PERFORM diff.record('PASS', name, format('%s uuids: %s NULL (expired or unknown), %s with replies', calls, nulls, with_replies));
END
$$;

-- The replies of every crud with replies, page by page (1.2's
-- four-argument cruddur_activity): each page equals the reference's, every
-- page repeats the crud, and the walk gives each reply exactly once, oldest
-- first.
CREATE FUNCTION diff.activity_pages(ps int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	name text := format('cruddur_activity replies walk, page size %s, TimeZone %s', ps, current_setting('TimeZone'));
	id uuid;
	first json;
	c json;
	r json;
	last json;
	walked uuid[];
	expected uuid[];
	cruds int := 0;
	pages int := 0;
BEGIN
	PERFORM diff.expire_now();
	FOR id IN SELECT p.uuid FROM public.activities p WHERE p.replies_count > 0 AND diff.visible(p) LOOP
		first := public.cruddur_activity(id, ps);
		c := first;
		walked := '{}';
		LOOP
			r := cruddur_ref.activity(id, ps, (last->>'created_at')::timestamp, (last->>'uuid')::uuid);
			IF c::text IS DISTINCT FROM r::text THEN
				PERFORM diff.record('FAIL', name, format('cruddur_activity(%L, %s, %L, %L): %s', id, ps,
							last->>'created_at', last->>'uuid', diff.describe(c::text, r::text)));
				RETURN;
			END IF;
			IF (c->'activity')::text IS DISTINCT FROM (first->'activity')::text THEN
				PERFORM diff.record('FAIL', name, format('cruddur_activity(%L): a page shows another crud', id));
				RETURN;
			END IF;
			pages := pages + 1;
			EXIT WHEN json_array_length(c->'replies') < ps;
			walked := walked || ARRAY(SELECT (e->>'uuid')::uuid FROM json_array_elements(c->'replies') e);
			last := c->'replies'->(ps - 1);
			c := public.cruddur_activity(id, ps, (last->>'created_at')::timestamp, (last->>'uuid')::uuid);
		END LOOP;
		walked := walked || ARRAY(SELECT (e->>'uuid')::uuid FROM json_array_elements(c->'replies') e);
		last := NULL;
		expected := ARRAY(SELECT x.uuid FROM public.activities x JOIN public.users u ON u.uuid = x.user_uuid
						   WHERE x.reply_to_activity_uuid = id ORDER BY x.created_at, x.uuid);
		IF walked IS DISTINCT FROM expected THEN
			PERFORM diff.record('FAIL', name, format('cruddur_activity(%L): the walk gave %s replies, not each of its %s once in order',
													id, cardinality(walked), cardinality(expected)));
			RETURN;
		END IF;
		cruds := cruds + 1;
	END LOOP;
	PERFORM diff.record('PASS', name, format('%s cruds, %s pages, each reply exactly once, oldest first', cruds, pages));
END
$$;

CREATE FUNCTION diff.user_short_all() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	name text := 'cruddur_user_short by handles in odd case and unknown handles';
	h text;
	c json;
	r json;
	calls int := 0;
	nulls int := 0;
BEGIN
	FOR h IN SELECT handle FROM diff.handles() LOOP
		BEGIN
			c := public.cruddur_user_short(h);
		EXCEPTION
			WHEN feature_not_supported THEN
				PERFORM diff.record('SKIP', name, SQLERRM);
				RETURN;
			WHEN OTHERS THEN
				PERFORM diff.record('FAIL', name, format('cruddur_user_short(%s) raised %s: %s', diff.show(h), SQLSTATE, SQLERRM));
				RETURN;
		END;
		r := cruddur_ref.user_short(h);
		IF c::text IS DISTINCT FROM r::text THEN
			PERFORM diff.record('FAIL', name, format('cruddur_user_short(%s): %s', diff.show(h), diff.describe(c::text, r::text)));
			RETURN;
		END IF;
		calls := calls + 1;
		nulls := nulls + (r IS NULL)::int;
	END LOOP;
	PERFORM diff.record('PASS', name, format('%s handles, %s of them nobody''s (NULL)', calls, nulls));
END
$$;

-- What the app reads after a write: the C function, or while it is still a
-- stub the SQL (the write checks then still check the stored row).
CREATE FUNCTION diff.read_activity(id uuid) RETURNS json LANGUAGE plpgsql AS $$
BEGIN
	RETURN public.cruddur_activity(id);
EXCEPTION WHEN feature_not_supported THEN
	RETURN cruddur_ref.activity(id);
END
$$;

/*
 * Writes.  Each new crud or reply: the returned JSON is the SQL's
 * created_activity of the row, its created_at is now in UTC, its
 * expires_at is created_at + ttl (none for a reply), cruddur_activity
 * shows the same values, and a reply shows in its parent's replies with
 * the parent's replies_count one up.
 */
CREATE FUNCTION diff.writes() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	name text := 'writes: cruddur_create_activity, cruddur_create_reply, cruddur_update_profile';
	w record;
	ret json;
	ref json;
	shown json;
	parent_before json;
	parent_after json;
	new_uuid uuid;
	cruds int := 0;
	replies int := 0;
	profiles int := 0;
	ttls text[] := ARRAY['30-days', '7-days', '3-days', '1-day', '12-hours', '3-hours', '1-hour'];
	ttl_intervals interval[] := ARRAY['30 days', '7 days', '3 days', '1 day', '12 hours', '3 hours', '1 hour']::interval[];
	k text;
BEGIN
	-- new cruds by ten people, each ttl, hostile messages of up to 280 characters
	FOR w IN
		SELECT u.cognito_user_id, u.handle, i,
			   CASE i % 4 WHEN 0 THEN left((SELECT s1024 FROM hostile.long), 280)
						  WHEN 1 THEN diff.unblank(left(hostile.piece(i * 13), 1))
						  ELSE left(hostile.piece(i) || ' new ' || hostile.piece(i * 3 + 1) || hostile.piece(i * 5 + 2), 280) END AS message
		  FROM (SELECT * FROM public.users ORDER BY handle LIMIT 10) u, generate_series(1, 7) i
	LOOP
		BEGIN
			ret := public.cruddur_create_activity(w.cognito_user_id, w.message, ttls[w.i]);
		EXCEPTION
			WHEN feature_not_supported THEN
				PERFORM diff.record('SKIP', 'cruddur_create_activity', SQLERRM);
				EXIT;
			WHEN OTHERS THEN
				PERFORM diff.record('FAIL', name, format('cruddur_create_activity(%L, %L, %L) raised %s: %s',
														w.cognito_user_id, w.message, ttls[w.i], SQLSTATE, SQLERRM));
				RETURN;
		END;
		new_uuid := (ret->>'uuid')::uuid;
		ref := cruddur_ref.created_activity(new_uuid);
		IF ret::text IS DISTINCT FROM ref::text THEN
			PERFORM diff.record('FAIL', name, format('cruddur_create_activity(%L, %L, %L): %s', w.cognito_user_id,
													w.message, ttls[w.i], diff.describe(ret::text, ref::text)));
			RETURN;
		END IF;
		IF (ref->>'message') IS DISTINCT FROM w.message
		   OR (ref->>'handle') IS DISTINCT FROM w.handle
		   OR (ref->>'created_at')::timestamp IS DISTINCT FROM timezone('UTC', now())
		   OR (ref->>'expires_at')::timestamp IS DISTINCT FROM (ref->>'created_at')::timestamp + ttl_intervals[w.i]
		   OR (ref->'reply_to_activity_uuid')::text <> 'null' THEN
			PERFORM diff.record('FAIL', name, format('cruddur_create_activity(%L, %L, %L) stored %s',
													w.cognito_user_id, w.message, ttls[w.i], ref));
			RETURN;
		END IF;
		shown := diff.read_activity(new_uuid);
		FOREACH k IN ARRAY ARRAY['uuid', 'display_name', 'handle', 'message', 'expires_at', 'created_at'] LOOP
			IF (shown->'activity'->k)::text IS DISTINCT FROM (ret->k)::text THEN
				PERFORM diff.record('FAIL', name, format('cruddur_activity(%s) shows %s %s, the write returned %s',
														new_uuid, k, shown->'activity'->k, ret->k));
				RETURN;
			END IF;
		END LOOP;
		cruds := cruds + 1;
	END LOOP;

	-- replies to unexpired cruds and to replies, with hostile messages of up to 1024 characters
	FOR w IN
		SELECT u.cognito_user_id, u.handle, p.uuid AS parent, p.n,
			   CASE p.n % 3 WHEN 0 THEN (SELECT s1024 FROM hostile.long)
							WHEN 1 THEN diff.unblank(hostile.piece(p.n))
							ELSE hostile.piece(p.n * 7) || ' reply ' || hostile.piece(p.n + 1) END AS message
		  FROM (SELECT a.uuid, row_number() OVER (ORDER BY a.uuid) AS n
				  FROM public.activities a
				 WHERE diff.visible(a) AND a.uuid NOT IN (SELECT uuid FROM hostile.expires_now)
				 ORDER BY md5(a.uuid::text) LIMIT 40) p
		  JOIN (SELECT cognito_user_id, handle, row_number() OVER (ORDER BY handle) AS n FROM public.users) u
			ON u.n = 1 + p.n % 10
	LOOP
		parent_before := diff.read_activity(w.parent);
		BEGIN
			ret := public.cruddur_create_reply(w.cognito_user_id, w.parent, w.message);
		EXCEPTION
			WHEN feature_not_supported THEN
				PERFORM diff.record('SKIP', 'cruddur_create_reply', SQLERRM);
				EXIT;
			WHEN OTHERS THEN
				PERFORM diff.record('FAIL', name, format('cruddur_create_reply(%L, %L, %L) raised %s: %s',
														w.cognito_user_id, w.parent, w.message, SQLSTATE, SQLERRM));
				RETURN;
		END;
		new_uuid := (ret->>'uuid')::uuid;
		ref := cruddur_ref.created_activity(new_uuid);
		IF ret::text IS DISTINCT FROM ref::text THEN
			PERFORM diff.record('FAIL', name, format('cruddur_create_reply(%L, %L, %L): %s', w.cognito_user_id,
													w.parent, w.message, diff.describe(ret::text, ref::text)));
			RETURN;
		END IF;
		parent_after := diff.read_activity(w.parent);
		IF (ref->>'message') IS DISTINCT FROM w.message
		   OR (ref->>'reply_to_activity_uuid')::uuid IS DISTINCT FROM w.parent
		   OR (ref->'expires_at')::text <> 'null'
		   OR (ref->>'created_at')::timestamp IS DISTINCT FROM timezone('UTC', now())
		   OR (parent_after->'activity'->>'replies_count')::int
			  IS DISTINCT FROM (parent_before->'activity'->>'replies_count')::int + 1
		   OR NOT EXISTS (SELECT FROM json_array_elements(parent_after->'replies') e
						   WHERE (e->>'uuid')::uuid = new_uuid
							 AND (e->'message')::text = (ret->'message')::text
							 AND (e->'created_at')::text = (ret->'created_at')::text
							 AND (e->'handle')::text = (ret->'handle')::text
							 AND (e->'display_name')::text = (ret->'display_name')::text
							 AND (e->'reply_to_activity_uuid')::text = (ret->'reply_to_activity_uuid')::text) THEN
			PERFORM diff.record('FAIL', name, format('after cruddur_create_reply(%L, %L, ...) returned %s, its parent shows %s',
													w.cognito_user_id, w.parent, ret, left(parent_after::text, 2000)));
			RETURN;
		END IF;
		replies := replies + 1;
	END LOOP;

	-- profiles: hostile display names (2048 characters too), bios hostile, empty and NULL
	FOR w IN
		SELECT u.cognito_user_id, u.handle, i,
			   CASE i % 3 WHEN 0 THEN (SELECT s2048 FROM hostile.long)
						  ELSE hostile.piece(i * 17) || ' renamed ' || hostile.piece(i) END AS display_name,
			   CASE i % 4 WHEN 0 THEN NULL WHEN 1 THEN '' WHEN 2 THEN (SELECT s2048 FROM hostile.long)
						  ELSE hostile.piece(i * 19) END AS bio
		  FROM (SELECT *, row_number() OVER (ORDER BY handle) AS i FROM public.users) u
		 WHERE i % 3 = 0 OR i < 8
	LOOP
		BEGIN
			ret := public.cruddur_update_profile(w.cognito_user_id, w.display_name, w.bio);
		EXCEPTION
			WHEN feature_not_supported THEN
				PERFORM diff.record('SKIP', 'cruddur_update_profile', SQLERRM);
				EXIT;
			WHEN OTHERS THEN
				PERFORM diff.record('FAIL', name, format('cruddur_update_profile(%L, %L, %L) raised %s: %s',
														w.cognito_user_id, w.display_name, w.bio, SQLSTATE, SQLERRM));
				RETURN;
		END;
		ref := cruddur_ref.user_short(w.handle);
		IF ret::text IS DISTINCT FROM ref::text THEN
			PERFORM diff.record('FAIL', name, format('cruddur_update_profile(%L, ...) against the SQL user_short: %s',
													w.cognito_user_id, diff.describe(ret::text, ref::text)));
			RETURN;
		END IF;
		BEGIN
			shown := public.cruddur_user_short(w.handle);
			IF ret::text IS DISTINCT FROM shown::text THEN
				PERFORM diff.record('FAIL', name, format('cruddur_update_profile(%L, ...) against cruddur_user_short: %s',
														w.cognito_user_id, diff.describe(ret::text, shown::text)));
				RETURN;
			END IF;
			shown := public.cruddur_user_feed(w.handle);
		EXCEPTION WHEN feature_not_supported THEN
			shown := cruddur_ref.user_feed(w.handle);	-- reads compared below
		END;
		IF (shown->'profile'->>'display_name') IS DISTINCT FROM w.display_name
		   OR (shown->'profile'->>'bio') IS DISTINCT FROM w.bio
		   OR (ref->>'display_name') IS DISTINCT FROM w.display_name THEN
			PERFORM diff.record('FAIL', name, format('after cruddur_update_profile(%L, %L, %L) the profile shows %s',
													w.cognito_user_id, w.display_name, w.bio, shown->'profile'));
			RETURN;
		END IF;
		profiles := profiles + 1;
	END LOOP;

	IF cruds + replies + profiles > 0 THEN
		PERFORM diff.record('PASS', name, format('%s cruds, %s replies, %s profiles: each returned what the SQL and the following reads show',
												cruds, replies, profiles));
	END IF;
END
$$;
SQL

# Every read, once in a time zone 14 hours ahead of UTC and once 11 hours
# behind; each check is one statement, so one snapshot and one now().
reads() {
	local tz=$1
	psql_ -c "SET TimeZone = '$tz'" \
		-c 'SELECT diff.home_feed_walk(1)' -c 'SELECT diff.home_feed_walk(7)' \
		-c 'SELECT diff.home_feed_walk(20)' -c 'SELECT diff.home_feed_walk(1000)' \
		-c 'SELECT diff.home_feed_cursors()' \
		-c 'SELECT diff.user_feed_walk(1)' -c 'SELECT diff.user_feed_walk(7)' \
		-c 'SELECT diff.user_feed_walk(40)' -c 'SELECT diff.user_feed_walk(1000)' \
		-c 'SELECT diff.user_feed_handles()' -c 'SELECT diff.activity_all()' \
		-c 'SELECT diff.activity_pages(1)' -c 'SELECT diff.activity_pages(3)' \
		-c 'SELECT diff.activity_pages(1000)' \
		-c 'SELECT diff.user_short_all()' >/dev/null
}
reads Pacific/Kiritimati || exit 1
reads Pacific/Pago_Pago || exit 1
psql_ -c "SET TimeZone = 'Pacific/Kiritimati'" -c 'SELECT diff.writes()' >/dev/null || exit 1
# what follows the writes: every read again
psql_ -c "UPDATE diff.result SET check_name = check_name || ' (before the writes)' WHERE status <> 'SKIP' AND check_name NOT LIKE 'writes%'" || exit 1
reads Pacific/Kiritimati || exit 1

# Every feed has two ways to a page (src/feed_scan.c): straight from its
# index, which served every read above, and its saved plan, which serves
# when, among other cases, row level security is enabled or a table is not
# a heap.  auto_explain, logging nested statements, shows which ran: no plan
# of the feed's query while the index scan serves, one per call otherwise.
# Calls: the home feed three times, the user feed of the person with most
# cruds twice (the profile and the page are a query each), the crud with
# most replies twice (the crud itself and its replies too), one user
# short, as ROLE.
if c_only "which way served the feeds (src/feed_scan.c)"; then
	feed_plans() {	# role
		local log
		log=$(psql_ -c "LOAD 'auto_explain'" -c 'SET auto_explain.log_min_duration = 0' \
			-c 'SET auto_explain.log_nested_statements = on' -c 'SET client_min_messages = log' \
			-c "SET ROLE $1" \
			-c "SELECT public.cruddur_home_feed(20), public.cruddur_home_feed(1000),
					   public.cruddur_home_feed(7, 'infinity', gen_random_uuid())" \
			-c "SELECT public.cruddur_user_feed(handle, 40), public.cruddur_user_feed(handle, 1000, 'infinity', gen_random_uuid())
				  FROM (SELECT handle FROM public.users ORDER BY cruds_count DESC, uuid LIMIT 1) u" \
			-c "SELECT public.cruddur_activity(uuid), public.cruddur_activity(uuid, 5, '-infinity', gen_random_uuid())
				  FROM (SELECT uuid FROM public.activities a WHERE diff.visible(a) ORDER BY replies_count DESC, uuid LIMIT 1) a" \
			-c "SELECT public.cruddur_user_short(upper(handle)) FROM public.users ORDER BY uuid LIMIT 1" \
			2>&1 >/dev/null)
		printf '%s %s %s %s %s %s' \
			"$(grep -c 'Query Text: SELECT a.uuid, u.display_name, u.handle, a.message, a.replies_count, a.reposts_count, a.likes_count, a.reply_to_activity_uuid' <<<"$log")" \
			"$(grep -c 'Query Text: SELECT u.uuid, u.cognito_user_id' <<<"$log")" \
			"$(grep -c 'Query Text: SELECT a.uuid, u.display_name, u.handle, a.message, a.created_at, a.expires_at' <<<"$log")" \
			"$(grep -c 'Query Text: SELECT a.uuid, u.display_name, u.handle, a.message, a.replies_count, a.reposts_count, a.likes_count, a.expires_at' <<<"$log")" \
			"$(grep -c 'Query Text: SELECT c.uuid, u.display_name' <<<"$log")" \
			"$(grep -c 'Query Text: SELECT u.uuid, u.handle, u.display_name' <<<"$log")"
	}
	check_plans() {	# name expected [role]
		local n
		n=$(feed_plans "${3:-NONE}")
		if [ "$n" = "$2" ]; then status=PASS; else status=FAIL; fi
		psql_ -c "SELECT diff.record('$status', 'which way served the feeds, $1', 'plans of the queries of home feed, profile, user feed, crud, replies, user short: $n, expected $2')" >/dev/null
	}
	direct='0 0 0 0 0 0' planned='3 2 2 2 2 1'
	check_plans 'index scan' "$direct" || exit 1
	# A reader granted SELECT on just the columns the queries reference keeps
	# the direct read (users.email and created_at are not among them)
	psql_ -c 'CREATE ROLE diff_columns' \
		-c 'GRANT USAGE ON SCHEMA diff TO diff_columns' -c 'GRANT SELECT ON public.activities TO diff_columns' \
		-c 'GRANT SELECT (uuid, cognito_user_id, handle, display_name, bio, cruds_count) ON public.users TO diff_columns' \
		>/dev/null || exit 1
	check_plans 'a reader granted only the columns the queries read' "$direct" diff_columns || exit 1
	psql_ -c 'DROP OWNED BY diff_columns' -c 'DROP ROLE diff_columns' >/dev/null || exit 1
	# Tables that are not heap (a copy of heap under another name): the plans
	psql_ -c 'CREATE ACCESS METHOD diff_heap TYPE TABLE HANDLER heap_tableam_handler' >/dev/null || exit 1
	for t in activities users; do
		psql_ -c "ALTER TABLE public.$t SET ACCESS METHOD diff_heap" >/dev/null || exit 1
		check_plans "$t with another table access method: saved plans" "$planned" || exit 1
		psql_ -c "ALTER TABLE public.$t SET ACCESS METHOD heap" >/dev/null || exit 1
	done
	psql_ -c 'DROP ACCESS METHOD diff_heap' >/dev/null || exit 1
	check_plans 'heap again: index scan' "$direct" || exit 1
	# Row level security on users: every plan; on activities: the plans of
	# every query that reads activities (the person is read from users alone);
	# then every read again through them (the superuser bypasses it, so the
	# rows are the same)
	psql_ -c 'ALTER TABLE public.activities ENABLE ROW LEVEL SECURITY' || exit 1
	check_plans 'with row level security on activities: saved plans' '3 0 2 2 2 0' || exit 1
	psql_ -c 'ALTER TABLE public.activities DISABLE ROW LEVEL SECURITY' || exit 1
	psql_ -c 'ALTER TABLE public.users ENABLE ROW LEVEL SECURITY' || exit 1
	check_plans 'with row level security on users: saved plans' "$planned" || exit 1
	psql_ -c "UPDATE diff.result SET check_name = check_name || ' (index scan)' WHERE check_name NOT LIKE 'which way%' AND check_name NOT LIKE '%(before the writes)'" >/dev/null || exit 1
	reads Pacific/Kiritimati || exit 1
	psql_ -c "UPDATE diff.result SET check_name = check_name || ' (saved plan)' WHERE check_name NOT LIKE 'which way%' AND check_name NOT LIKE '%)'" >/dev/null || exit 1
	psql_ -c 'ALTER TABLE public.users DISABLE ROW LEVEL SECURITY' || exit 1
fi

psql_ -At -F ' ' -c "SELECT status, check_name || ': ' || detail FROM diff.result ORDER BY id"
read -r fails skips passes < <(psql_ -At -F ' ' -c "SELECT count(*) FILTER (WHERE status = 'FAIL'), count(*) FILTER (WHERE status = 'SKIP'), count(*) FILTER (WHERE status = 'PASS') FROM diff.result")
if [ "$skips" -gt 0 ]; then
	echo "*** SKIP: $skips checks did not run because a C function is still a stub (feature_not_supported); see the SKIP lines above ***"
fi
echo "differential: $passes passed, $fails failed, $skips skipped"
[ "$fails" -eq 0 ] && [ "$passes" -gt 0 -o "$skips" -gt 0 ]
