/*
 * bench/data.sql: realistic people and cruds for bench/run, set-based so a
 * million rows take seconds, not minutes.
 *
 *   psql -v people=1000 -v cruds=1000000 -f bench/data.sql
 *
 * Into a database with the cruddur extension in schema public (superuser:
 * foreign keys and triggers are off while loading, and replies_count and
 * users.cruds_count are then counted in one pass, as their triggers would
 * have).
 * - people: handle user_<n>, display name, a bio for two in three;
 * - cruds: 90% top-level with created_at spread over the last 365 days
 *   (microseconds), by a random author; 30% never expire, the others
 *   expire 30 days to 1 hour after creation, so older ones have expired;
 * - replies (10%): to a random crud among the newest tenth, within a day
 *   after it;
 * - with -v heavy=N (default 0, none): user_heavy with N cruds and
 *   user_light with 300, created and expiring as everyone's, and with
 *   -v many_replies=N a crud that never expires with N replies
 *   (bench.many), for the cost of the largest person and crud;
 * - bench.ids: numbered unexpired top-level cruds with replies (those the
 *   app opens), for picking one at random in pgbench; bench.pick(n), the
 *   same as a constant array, for picking one with no table lookup.
 */
\set ON_ERROR_STOP on
\if :{?people}
\else
\set people 1000
\endif
\if :{?cruds}
\else
\set cruds 1000000
\endif
\if :{?heavy}
\else
\set heavy 0
\endif
\if :{?many_replies}
\else
\set many_replies 0
\endif

SET session_replication_role = replica;		-- no FK checks or triggers while loading
SELECT setseed(0.7);

INSERT INTO public.users (uuid, display_name, handle, email, cognito_user_id, bio, created_at)
SELECT public.cruddur_uuid_v7(), 'Person Number ' || i, 'user_' || i, 'user' || i || '@example.com',
	   gen_random_uuid()::text,
	   CASE WHEN i % 3 <> 0 THEN 'I post about databases, coffee and cloud bills. #' || i END,
	   timezone('UTC', now()) - interval '400 days' + i * interval '1 minute'
  FROM generate_series(1, :people) AS i;

CREATE SCHEMA bench;
CREATE TABLE bench.people AS SELECT row_number() OVER (ORDER BY uuid) AS n, uuid FROM public.users;
CREATE UNIQUE INDEX ON bench.people (n);

-- Top-level cruds, inserted oldest first (as they would have been).
INSERT INTO public.activities (user_uuid, message, reposts_count, likes_count, expires_at, created_at)
SELECT p.uuid,
	   left('Crud ' || i || ': ' || repeat('the quick brown fox jumps over the lazy dog ', (1 + i % 6)::int), (20 + (i * 37) % 260)::int),
	   ((i % 11) / 4)::int, ((i % 17) / 2)::int,
	   CASE WHEN i % 10 < 3 THEN NULL
			ELSE c.created_at + (ARRAY['30 days', '7 days', '3 days', '1 day', '12 hours', '3 hours', '1 hour']::interval[])[1 + (i % 7)::int] END,
	   c.created_at
  FROM (SELECT i, timezone('UTC', now()) - random() * interval '365 days' AS created_at,
			   1 + floor(random() * :people)::int AS author
		  FROM generate_series(1, (:cruds * 0.9)::bigint) AS i) c
  JOIN bench.people p ON p.n = c.author
 ORDER BY c.created_at;

-- Replies to the newest tenth of the cruds.
CREATE TABLE bench.recent AS
SELECT row_number() OVER (ORDER BY created_at) AS n, uuid, created_at
  FROM (SELECT uuid, created_at FROM public.activities ORDER BY created_at DESC
		 LIMIT greatest((:cruds * 0.09)::bigint, 1)) r;
CREATE UNIQUE INDEX ON bench.recent (n);

INSERT INTO public.activities (user_uuid, message, reply_to_activity_uuid, created_at)
SELECT p.uuid, 'Reply ' || r.i || ': agreed, and ' || repeat('also ', (1 + r.i % 9)::int) || 'this.',
	   t.uuid, least(t.created_at + random() * interval '1 day', timezone('UTC', now()))
  FROM (SELECT i, 1 + floor(random() * :people)::int AS author,
			   1 + floor(random() * (SELECT count(*) FROM bench.recent))::bigint AS target
		  FROM generate_series(1, :cruds - (:cruds * 0.9)::bigint) AS i) r
  JOIN bench.people p ON p.n = r.author
  JOIN bench.recent t ON t.n = r.target;

-- The largest person and the lightest, their cruds as everyone's.
INSERT INTO public.users (uuid, display_name, handle, email, cognito_user_id, created_at)
SELECT public.cruddur_uuid_v7(), v.name, v.handle, v.handle || '@example.com', gen_random_uuid()::text,
	   timezone('UTC', now()) - interval '400 days'
  FROM (VALUES ('Heavy Poster', 'user_heavy'), ('Light Poster', 'user_light')) v(name, handle)
 WHERE :heavy > 0;
INSERT INTO public.activities (user_uuid, message, expires_at, created_at)
SELECT u.uuid, left('Crud ' || c.i || ': ' || repeat('the quick brown fox jumps over the lazy dog ', (1 + c.i % 6)::int), (20 + (c.i * 37) % 260)::int),
	   CASE WHEN c.i % 10 < 3 THEN NULL
			ELSE c.created_at + (ARRAY['30 days', '7 days', '3 days', '1 day', '12 hours', '3 hours', '1 hour']::interval[])[1 + (c.i % 7)::int] END,
	   c.created_at
  FROM (VALUES ('user_heavy', :heavy), ('user_light', 300)) v(handle, n)
  JOIN public.users u ON u.handle = v.handle,
	   LATERAL (SELECT i, timezone('UTC', now()) - random() * interval '365 days' AS created_at
				  FROM generate_series(1, v.n) AS i) c
 ORDER BY c.created_at;

-- The crud with the most replies: a recent one that never expires.
CREATE TABLE bench.many AS
SELECT uuid, created_at FROM public.activities
 WHERE reply_to_activity_uuid IS NULL AND expires_at IS NULL AND :many_replies > 0
 ORDER BY created_at DESC LIMIT 1;
INSERT INTO public.activities (user_uuid, message, reply_to_activity_uuid, created_at)
SELECT p.uuid, 'Reply ' || r.i || ' of many', m.uuid, m.created_at + r.i * interval '1 millisecond'
  FROM generate_series(1, :many_replies) AS r(i)
  JOIN bench.people p ON p.n = 1 + r.i % :people
 CROSS JOIN bench.many m;

UPDATE public.users u SET cruds_count = c.n
  FROM (SELECT user_uuid, count(*) AS n FROM public.activities GROUP BY 1) c
 WHERE u.uuid = c.user_uuid;

UPDATE public.activities a SET replies_count = c.n
  FROM (SELECT reply_to_activity_uuid AS uuid, count(*)::int AS n FROM public.activities
		 WHERE reply_to_activity_uuid IS NOT NULL GROUP BY 1) c
 WHERE a.uuid = c.uuid;

RESET session_replication_role;

CREATE TABLE bench.ids AS
SELECT row_number() OVER (ORDER BY uuid) AS n, uuid FROM public.activities
 WHERE reply_to_activity_uuid IS NULL AND replies_count > 0
   AND (expires_at IS NULL OR expires_at > timezone('UTC', now()) + interval '1 hour')
   AND uuid NOT IN (SELECT uuid FROM bench.many);
CREATE UNIQUE INDEX ON bench.ids (n);
-- bench.pick(n): the uuid of bench.ids' n-th as a constant of the function
-- (inlined into the plan), for a test given its crud's uuid as the app
-- gives it, with no lookup in the statement.
SELECT format('CREATE FUNCTION bench.pick(n bigint) RETURNS uuid LANGUAGE sql IMMUTABLE PARALLEL SAFE AS %L',
			  format('SELECT (%L::pg_catalog.uuid[])[n]', array_agg(uuid ORDER BY n)))
  FROM bench.ids \gexec

DROP TABLE bench.people, bench.recent;
VACUUM (ANALYZE) public.users, public.activities, bench.ids;
