/*
 * test/hostile_data.sql: people and cruds full of the strings and
 * timestamps a JSON writer gets wrong, for the differential tests.
 *
 *   psql -v people=50 -v cruds=3000 -f test/hostile_data.sql
 *
 * Both sizes are optional (50 and 3000 by default).  Run as a superuser in
 * a UTF8 database with the cruddur extension in schema public; the rows go
 * straight into the tables (the replies_count triggers keep counts right).
 * The same run always draws the same choices (setseed), but uuids are new.
 *
 * What is in it:
 * - strings: quotes, backslashes, each control character 0x01-0x1F and DEL
 *   alone and together, text that looks like JSON or like a \u0000 escape,
 *   non-ASCII of 2, 3 and 4 bytes (emoji, U+10FFFF, U+2028/U+2029, a BOM,
 *   combining marks), display names of 2048 characters and empty ones, bios
 *   empty and NULL, messages of 1 and of 1024 characters;
 * - handles of 1 and of exactly 32 characters, in mixed case;
 * - created_at with 0 to 6 fractional digits (so trailing zeros are cut),
 *   big groups of rows sharing one created_at (paging must break ties on
 *   uuid, including the all-zero and all-one uuids), far past and future,
 *   BC, years past 9999, infinity and -infinity;
 * - expires_at NULL, past, future, within hours of now (a feed that compares
 *   in local time instead of UTC shows the wrong ones), infinity, -infinity,
 *   BC, and rows listed in hostile.expires_now, which the differential tests
 *   set to exactly their own now() (and 1 microsecond either side) before
 *   they read;
 * - replies (about a quarter) and replies to replies (about a sixth),
 *   some of them with an expires_at of their own, some to expired cruds;
 * - people with no cruds, and one person with a fifth of all of them.
 */
\set ON_ERROR_STOP on
\if :{?people}
\else
\set people 50
\endif
\if :{?cruds}
\else
\set cruds 3000
\endif

BEGIN;
SELECT setseed(0.3);

CREATE SCHEMA hostile;
COMMENT ON SCHEMA hostile IS 'Scratch tables of test/hostile_data.sql';

-- The strings, each one a piece that names and messages are made of.
CREATE TABLE hostile.piece (n serial PRIMARY KEY, s text NOT NULL);
INSERT INTO hostile.piece (s)
SELECT s FROM (VALUES
	('"'), ('\'), ('\\'), ('\"'), ('"\'), ('/'), ('\/'), (''''), ('`'),
	('\u0000'), ('\\u0000'), ('\u0041'), ('\ud83d\ude00'), ('\n'), ('\t'),
	('null'), ('true'), ('{}'), ('[]'),
	('{"uuid": null, "message": "\"x\"", "a": [1, 2.5e3, true]}'),
	('[1, "two", {"3": []}]'), ('"quoted"'), ('","handle":"admin'),
	('é'), ('naïve café'), ('Ωμέγα'), ('Привет, мир'), ('日本語テキスト'),
	('עברית'), ('العربية'), ('😀'), ('👩🏽‍💻'), ('𝄞'), ('e' || chr(769)),
	(chr(1114111)), (chr(65533)), (chr(65279)), (chr(8232)), (chr(8233)),
	(chr(128)), (chr(159)), (chr(160)), (chr(173)), (chr(55295)), (chr(57344)),
	('<script>alert("x")</script>'), ('''; DROP TABLE users; --'),
	('%s%n%x%%'), ('$1'), ('\N'), ('\x00'), ('&amp;&lt;'),
	('tab' || chr(9) || 'here'), ('line1' || chr(10) || 'line2'),
	(chr(13) || chr(10)), (' '), ('  leading and trailing  ')
) AS v(s)
UNION ALL
-- every control character alone, then all of them and DEL together
SELECT chr(c) FROM generate_series(1, 31) AS c
UNION ALL
SELECT chr(127)
UNION ALL
SELECT string_agg(chr(c), '' ORDER BY c) || chr(127) FROM generate_series(1, 31) AS c;

-- All pieces in one string, and that string repeated to 2048 characters.
CREATE TABLE hostile.long AS
SELECT left(repeat(all_pieces, 2048 / length(all_pieces) + 1), 2048) AS s2048,
	   left(repeat(all_pieces, 1024 / length(all_pieces) + 1), 1024) AS s1024
  FROM (SELECT string_agg(s, '' ORDER BY n) AS all_pieces FROM hostile.piece) p;

-- The i-th piece, cycling.
CREATE FUNCTION hostile.piece(i bigint) RETURNS text LANGUAGE sql STABLE
AS $$ SELECT s FROM hostile.piece WHERE n = 1 + (i % (SELECT count(*) FROM hostile.piece)) $$;

/*
 * A created_at for row i, of the kind picked by k: ties, far past and
 * future, BC, infinities, or a realistic time within the last 30 days
 * with 0 to 6 fractional digits (trailing zeros included).
 */
CREATE FUNCTION hostile.created_at(i bigint, k int) RETURNS timestamp LANGUAGE sql VOLATILE
AS $$
SELECT CASE
	WHEN k IN (0, 1, 2) THEN '2024-02-29 12:00:00'::timestamp	-- one big tie
	WHEN k = 3 THEN '2024-02-29 12:00:00.5'::timestamp				-- another
	WHEN k = 4 THEN '1900-01-01 00:00:00'::timestamp + (random() * 1e6) * interval '1 second'
	WHEN k = 5 THEN '2200-06-15 00:00:00.000001'::timestamp + (i % 3) * interval '1 microsecond'
	WHEN k = 6 THEN (ARRAY['0044-03-15 12:00:00.25 BC', '4713-11-24 00:00:00 BC',
						   '0001-12-31 23:59:59.999999 BC', '0001-01-01 00:00:00'])[1 + (i / 20) % 4]::timestamp
	WHEN k = 7 THEN (ARRAY['infinity', '-infinity', '12345-06-07 08:09:10.11',
						   '294276-12-31 23:59:59.999999', '9999-12-31 23:59:59.999999',
						   '10000-01-01 00:00:00'])[1 + (i / 20) % 6]::timestamp
	WHEN k = 8 THEN date_trunc('second', timezone('UTC', now()) - interval '1 day')
		+ (ARRAY[100000, 120000, 123000, 123400, 123450, 123456, 10, 1, 0, 500000, 999999])[1 + i % 11]
		  * interval '1 microsecond'
	ELSE date_trunc('second', timezone('UTC', now()) - random() * interval '30 days')
		+ round(random() * 10 ^ (i % 7)) / 10 ^ (i % 7) * interval '1 second'
END
$$;

/*
 * An expires_at for row i, of the kind picked by k: NULL, past, future,
 * within 14 hours of now either way (where UTC and local time disagree),
 * infinities, BC, far future.
 */
CREATE FUNCTION hostile.expires_at(i bigint, k int) RETURNS timestamp LANGUAGE sql VOLATILE
AS $$
SELECT CASE
	WHEN k < 8 THEN NULL
	WHEN k IN (8, 9) THEN timezone('UTC', now()) + random() * interval '30 days'
	WHEN k IN (10, 11) THEN timezone('UTC', now()) - random() * interval '30 days'
	WHEN k IN (12, 13) THEN timezone('UTC', now()) + (random() * 28 - 14) * interval '1 hour'
	WHEN k = 14 THEN (ARRAY['infinity', '-infinity', '0044-03-15 BC', '3000-01-01 00:00:00.1'])[1 + i % 4]::timestamp
	WHEN k = 15 THEN date_trunc('second', timezone('UTC', now()) + interval '2 days')
		+ (i % 7) * interval '100 milliseconds'
	ELSE timezone('UTC', now())		-- listed in hostile.expires_now, see below
END
$$;

-- People.  Handles: one of a single letter, a fifth of exactly 32
-- characters, the rest in mixed case, some with a K.
INSERT INTO public.users (uuid, display_name, handle, email, cognito_user_id, bio, created_at)
SELECT gen_random_uuid(),
	   CASE WHEN i % 7 = 0 THEN (SELECT s2048 FROM hostile.long)
			WHEN i % 7 = 1 AND i > 1 THEN ''
			ELSE hostile.piece(i) || ' person ' || i || ' ' || hostile.piece(i * 5 + 3) END,
	   CASE WHEN i = 1 THEN 'x'
			WHEN i % 5 = 0 THEN rpad('Long' || i || '_', 32, 'Zz9')
			WHEN i % 5 = 3 THEN 'Kelvin_' || i		-- K: KELVIN SIGN lowers to k outside "C"
			WHEN i % 2 = 0 THEN 'User_' || i
			ELSE 'uSeR_' || i END,
	   'person' || i || '@example.com',
	   gen_random_uuid()::text,
	   CASE i % 4 WHEN 0 THEN NULL WHEN 1 THEN ''
			WHEN 2 THEN hostile.piece(i * 3) || hostile.piece(i * 3 + 1)
			ELSE (SELECT s2048 FROM hostile.long) END,
	   hostile.created_at(i, (i % 10)::int)
  FROM generate_series(1, :people) AS i;

CREATE TABLE hostile.person AS
SELECT row_number() OVER (ORDER BY handle COLLATE "C") AS n, uuid FROM public.users;

/*
 * Cruds: 60% top-level, 25% replies to them, 15% replies to replies.
 * Authors: one person in five rows, nobody whose number ends in 3.
 * Ids: random uuids, plus the smallest and largest possible inside the big
 * created_at tie.
 */
CREATE FUNCTION hostile.author(i bigint) RETURNS uuid LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
	x bigint := 1 + floor(random() * (SELECT count(*) FROM hostile.person));
BEGIN
	IF random() < 0.2 THEN
		x := 2;
	ELSIF x % 10 = 3 THEN
		x := x - 1;
	END IF;
	RETURN (SELECT uuid FROM hostile.person WHERE n = x);
END
$$;

CREATE FUNCTION hostile.message(i bigint) RETURNS text LANGUAGE sql STABLE
AS $$
SELECT CASE
	WHEN i % 23 = 0 THEN (SELECT s1024 FROM hostile.long)
	WHEN i % 23 = 1 THEN left(hostile.piece(i), 1)
	WHEN i % 23 = 2 THEN '😀'
	ELSE hostile.piece(i) || ' crud ' || i || ' ' || hostile.piece(i * 7 + 1) || hostile.piece(i * 11 + 2)
END
$$;

INSERT INTO public.activities (uuid, user_uuid, message, reposts_count, likes_count, expires_at, created_at)
SELECT CASE i WHEN 1 THEN '00000000-0000-0000-0000-000000000000'::uuid
			  WHEN 2 THEN 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid
			  ELSE gen_random_uuid() END,
	   hostile.author(i),
	   hostile.message(i),
	   (ARRAY[0, 0, 1, 7, 2147483647])[1 + i % 5],
	   (ARRAY[0, 3, 0, 2147483647, 42])[1 + i % 5],
	   hostile.expires_at(i, ((i * 7) % 17)::int),
	   hostile.created_at(i, CASE WHEN i <= 2 THEN 0 ELSE (i % 20)::int END)
  FROM generate_series(1, (:cruds * 0.60)::bigint) AS i;

-- Replies, then replies to replies, each to a parent drawn at random.
INSERT INTO public.activities (user_uuid, message, reply_to_activity_uuid, likes_count, expires_at, created_at)
SELECT hostile.author(i), hostile.message(i), p.uuids[1 + floor(random() * p.n)::int],
	   (i % 3)::int,
	   CASE WHEN i % 11 = 0 THEN hostile.expires_at(i, 10) WHEN i % 11 = 1 THEN hostile.expires_at(i, 8) END,
	   hostile.created_at(i, (i % 20)::int)
  FROM generate_series((:cruds * 0.60)::bigint + 1, (:cruds * 0.85)::bigint) AS i,
	   (SELECT array_agg(uuid) AS uuids, count(*) AS n
		  FROM public.activities WHERE reply_to_activity_uuid IS NULL) AS p;

INSERT INTO public.activities (user_uuid, message, reply_to_activity_uuid, expires_at, created_at)
SELECT hostile.author(i), hostile.message(i), p.uuids[1 + floor(random() * p.n)::int],
	   CASE WHEN i % 13 = 0 THEN hostile.expires_at(i, 11) END,
	   hostile.created_at(i, (i % 20)::int)
  FROM generate_series((:cruds * 0.85)::bigint + 1, :cruds) AS i,
	   (SELECT array_agg(uuid) AS uuids, count(*) AS n
		  FROM public.activities WHERE reply_to_activity_uuid IS NOT NULL) AS p;

/*
 * Rows whose expiry is "now": a reader sets them to its own
 * now() AT TIME ZONE 'UTC' plus offset_us microseconds, so that exactly now
 * (expired: only later than now is visible), just before and just after
 * are all present in the one snapshot it compares.
 */
CREATE TABLE hostile.expires_now AS
SELECT uuid, ((row_number() OVER (ORDER BY uuid)) % 3 - 1)::int AS offset_us
  FROM public.activities
 WHERE expires_at = timezone('UTC', now());
COMMENT ON TABLE hostile.expires_now IS
'Activities whose expires_at a reader sets to its own now() in UTC plus offset_us microseconds';

COMMIT;

ANALYZE public.users, public.activities;
