--
-- The JSON API (issue 3): the text every read and write returns on
-- hand-made rows, shown in full, and compared byte for byte with the
-- row_to_json SQL it replaces (test/reference.sql, schema cruddur_ref).
-- Errors, labels and paging walks are in test/pgtap/json_api.sql.
--
-- The rows have fixed uuids and timestamps so the text below is exact:
-- quotes, backslashes, every control character 0x01-0x1F and DEL,
-- non-ASCII and emoji, U+2028 and a BOM, a 2048-character name; created_at
-- with trailing fractional zeros, ties, infinity, -infinity, BC and a
-- five-digit year; expires_at NULL, past, far future and infinity.
--
\set VERBOSITY terse
\pset format unaligned
\pset tuples_only on
BEGIN;
\i test/reference.sql

INSERT INTO users (uuid, display_name, handle, email, cognito_user_id, bio) VALUES
('00000000-0000-7000-8000-0000000000a1', E'Ann "The" Quote \\ Back/slash', 'Ann_1',
 'ann@example.com', 'sub-ann', E'bio with\nnewline'),
('00000000-0000-7000-8000-0000000000a2',
 (SELECT string_agg(chr(c), '' ORDER BY c) FROM generate_series(1, 31) c) || chr(127)
  || ' é ü ß Ωμέγα 日本語 😀 👩🏽‍💻 ' || chr(8232) || chr(65279), 'zed',
 'zed@example.com', 'sub-zed', NULL),
('00000000-0000-7000-8000-0000000000a3', left(repeat('Long "name" ', 200), 2048), 'L',
 'l@example.com', 'sub-long', ''),
('00000000-0000-7000-8000-0000000000a4', 'Lonely', 'lonely',
 'lonely@example.com', 'sub-lonely', NULL);

INSERT INTO activities (uuid, user_uuid, message, reply_to_activity_uuid, expires_at, created_at,
						reposts_count, likes_count) VALUES
('00000000-0000-7000-8000-0000000000b1', '00000000-0000-7000-8000-0000000000a1',
 'plain crud', NULL, NULL, '2024-05-01 10:00:00', 2, 3),
('00000000-0000-7000-8000-0000000000b2', '00000000-0000-7000-8000-0000000000a2',
 E'quote " backslash \\ slash / tab \t nl \n cr \r ff \f bs \b end', NULL,
 '2999-12-31 23:59:59.999999', '2024-05-01 10:00:00.5', 0, 0),
('00000000-0000-7000-8000-0000000000b3', '00000000-0000-7000-8000-0000000000a3',
 (SELECT string_agg(chr(c), '' ORDER BY c) FROM generate_series(1, 31) c) || chr(127), NULL,
 'infinity', '2024-05-01 10:00:00.120', 0, 0),
('00000000-0000-7000-8000-0000000000b4', '00000000-0000-7000-8000-0000000000a1',
 'tie, lower uuid', NULL, NULL, '2024-05-02 00:00:00.000001', 0, 0),
('00000000-0000-7000-8000-0000000000b5', '00000000-0000-7000-8000-0000000000a2',
 'tie, higher uuid', NULL, NULL, '2024-05-02 00:00:00.000001', 0, 0),
('00000000-0000-7000-8000-0000000000b6', '00000000-0000-7000-8000-0000000000a1',
 'expired', NULL, '2000-01-01', '2024-05-03 00:00:00', 0, 0),
('00000000-0000-7000-8000-0000000000b7', '00000000-0000-7000-8000-0000000000a1',
 'created at infinity', NULL, NULL, 'infinity', 0, 0),
('00000000-0000-7000-8000-0000000000b8', '00000000-0000-7000-8000-0000000000a3',
 'ancient', NULL, NULL, '0044-03-15 12:00:00.25 BC', 0, 0),
('00000000-0000-7000-8000-0000000000b9', '00000000-0000-7000-8000-0000000000a3',
 'minus infinity', NULL, NULL, '-infinity', 0, 0),
('00000000-0000-7000-8000-0000000000ba', '00000000-0000-7000-8000-0000000000a2',
 'emoji 😀👩🏽‍💻, é, line separator ' || chr(8232) || ' and BOM ' || chr(65279), NULL, NULL,
 '12345-06-07 08:09:10.11', 0, 0),
('00000000-0000-7000-8000-0000000000c1', '00000000-0000-7000-8000-0000000000a2',
 'reply to plain, later', '00000000-0000-7000-8000-0000000000b1', NULL, '2024-05-01 11:00:00', 0, 1),
('00000000-0000-7000-8000-0000000000c2', '00000000-0000-7000-8000-0000000000a3',
 'reply to plain, earlier', '00000000-0000-7000-8000-0000000000b1', NULL, '2024-05-01 10:30:00.100', 0, 0),
('00000000-0000-7000-8000-0000000000c3', '00000000-0000-7000-8000-0000000000a1',
 'reply to a reply', '00000000-0000-7000-8000-0000000000c1', NULL, '2024-05-01 12:00:00', 0, 0),
('00000000-0000-7000-8000-0000000000c4', '00000000-0000-7000-8000-0000000000a1',
 'reply to an expired crud', '00000000-0000-7000-8000-0000000000b6', NULL, '2024-05-03 01:00:00', 0, 0),
('00000000-0000-7000-8000-0000000000c5', '00000000-0000-7000-8000-0000000000a2',
 'reply at the same time, higher uuid', '00000000-0000-7000-8000-0000000000b1', NULL, '2024-05-01 11:00:00', 0, 0);

-- Home feed: newest first (infinity first, -infinity last), ties by uuid
-- descending, no replies, nothing expired; every page size and cursor
-- used below equals the reference text.
SELECT cruddur_home_feed(1000);
SELECT cruddur_home_feed(2);
SELECT cruddur_home_feed(2, '2024-05-02 00:00:00.000001', '00000000-0000-7000-8000-0000000000b5');
SELECT cruddur_home_feed(1, '-infinity', '00000000-0000-7000-8000-0000000000b9');	-- past the end: []
SELECT cruddur_home_feed()::text = cruddur_ref.home_feed()::text AS default_page,
	   cruddur_home_feed(1000)::text = cruddur_ref.home_feed(1000)::text AS all,
	   cruddur_home_feed(3, '2024-05-01 10:00:00.5', '00000000-0000-7000-8000-0000000000b2')::text
		 = cruddur_ref.home_feed(3, '2024-05-01 10:00:00.5', '00000000-0000-7000-8000-0000000000b2')::text AS after_cursor,
	   cruddur_home_feed(5, '2024-05-02 00:00:00.000001', '00000000-0000-0000-0000-000000000000')::text
		 = cruddur_ref.home_feed(5, '2024-05-02 00:00:00.000001', '00000000-0000-0000-0000-000000000000')::text AS cursor_between_rows,
	   cruddur_home_feed(1, '-infinity', '00000000-0000-7000-8000-0000000000b9')::text
		 = cruddur_ref.home_feed(1, '-infinity', '00000000-0000-7000-8000-0000000000b9')::text AS empty;

-- User feed: profile with every row counted (expired and replies too),
-- the person's unexpired cruds and replies newest first; handle in any case.
SELECT cruddur_user_feed('ANN_1');
SELECT cruddur_user_feed('ann_1', 2, '2024-05-03 01:00:00', '00000000-0000-7000-8000-0000000000c4');
SELECT cruddur_user_feed('zed');
SELECT cruddur_user_feed('lonely');		-- no cruds: "activities":[]
SELECT cruddur_user_feed('nobody') IS NULL AS nobody, cruddur_user_feed(NULL) IS NULL AS null_handle;
SELECT h, cruddur_user_feed(h)::text = cruddur_ref.user_feed(h)::text AS same,
	   cruddur_user_feed(h, 1)::text = cruddur_ref.user_feed(h, 1)::text AS page_of_1,
	   cruddur_user_feed(h, 3, '2024-05-01 11:00:00', '00000000-0000-7000-8000-0000000000c5')::text
		 = cruddur_ref.user_feed(h, 3, '2024-05-01 11:00:00', '00000000-0000-7000-8000-0000000000c5')::text AS after_cursor
  FROM unnest(ARRAY['Ann_1', 'aNN_1', 'ZED', 'l', 'lonely']) h;
-- the 2048-character name, escaped, once
SELECT length(cruddur_user_feed('L')::text), cruddur_user_feed('L')::text = cruddur_ref.user_feed('L')::text;

-- A crud with its replies oldest first (ties by uuid); replies of replies
-- belong to their own parent; expired and unknown cruds are NULL.
SELECT cruddur_activity('00000000-0000-7000-8000-0000000000b1');
SELECT cruddur_activity('00000000-0000-7000-8000-0000000000c1');	-- a reply, with its reply
SELECT cruddur_activity('00000000-0000-7000-8000-0000000000b8');	-- BC, no replies
SELECT cruddur_activity('00000000-0000-7000-8000-0000000000b6') IS NULL AS expired,
	   cruddur_activity('00000000-0000-7000-8000-0000000000ff') IS NULL AS unknown,
	   cruddur_activity(NULL) IS NULL AS null_uuid;
SELECT a.uuid, cruddur_activity(a.uuid)::text IS NOT DISTINCT FROM cruddur_ref.activity(a.uuid)::text AS same
  FROM activities a ORDER BY a.uuid;

-- User short, any case; NULL for nobody.
SELECT cruddur_user_short('zED');
SELECT cruddur_user_short('ann_1');
SELECT h, cruddur_user_short(h)::text IS NOT DISTINCT FROM cruddur_ref.user_short(h)::text AS same
  FROM unnest(ARRAY['Ann_1', 'ANN_1', 'zed', 'l', 'L', 'lonely', 'nobody', '']) h;
SELECT cruddur_user_short(NULL) IS NULL AS null_handle;

-- Writes: what they return is the reference's created_activity of the new
-- row and what the reads show next; created_at is the transaction's UTC
-- time, expires_at created_at + ttl; a reply has no expires_at.
CREATE TEMP TABLE written (ttl text, j json);
INSERT INTO written
SELECT ttl, cruddur_create_activity('sub-zed', E'new "crud" \\ with\ttab and 😀, ttl ' || ttl, ttl)
  FROM unnest(ARRAY['30-days', '7-days', '3-days', '1-day', '12-hours', '3-hours', '1-hour']) ttl;
SELECT w.ttl,
	   w.j::text = cruddur_ref.created_activity((w.j->>'uuid')::uuid)::text AS same_as_reference,
	   (w.j->>'created_at')::timestamp = timezone('UTC', now()) AS created_now_utc,
	   (w.j->>'expires_at')::timestamp - (w.j->>'created_at')::timestamp AS lifetime,
	   w.j->>'message' AS message,
	   (SELECT bool_and((cruddur_activity((w.j->>'uuid')::uuid)->'activity'->k)::text = (w.j->k)::text)
		  FROM unnest(ARRAY['uuid', 'display_name', 'handle', 'message', 'created_at', 'expires_at']) k)
		 AS shown_by_activity
  FROM written w ORDER BY (w.j->>'expires_at')::timestamp DESC;
SELECT cruddur_create_activity('sub-ann', 'with the default ttl')->>'expires_at' IS NOT NULL AS has_expiry;
-- the default ttl is 7 days
SELECT (j->>'expires_at')::timestamp - (j->>'created_at')::timestamp AS default_lifetime
  FROM (SELECT cruddur_create_activity('sub-ann', 'default ttl again') AS j) x;
-- 280 characters of 4 bytes each is within the limit
SELECT length(cruddur_create_activity('sub-ann', repeat('😀', 280))->>'message') AS chars;
-- in the home feed the new cruds come right after the two from the future
SELECT left(e->>'message', 20) AS message, (e->>'created_at')::timestamp = timezone('UTC', now()) AS created_now
  FROM json_array_elements(cruddur_home_feed(3)) e;

CREATE TEMP TABLE replied AS
SELECT cruddur_create_reply('sub-long', '00000000-0000-7000-8000-0000000000c3',
							E'a reply of 1024 characters: ' || repeat(E'\\"', 498)) AS j;
SELECT j::text = cruddur_ref.created_activity((j->>'uuid')::uuid)::text AS same_as_reference,
	   (j->>'created_at')::timestamp = timezone('UTC', now()) AS created_now_utc,
	   j->'expires_at' AS expires_at, j->>'reply_to_activity_uuid' AS parent,
	   length(j->>'message') AS chars
  FROM replied;
-- the parent lists it last (newest) and counts it
SELECT (cruddur_activity('00000000-0000-7000-8000-0000000000c3')->'activity'->>'replies_count') AS replies_count,
	   (cruddur_activity('00000000-0000-7000-8000-0000000000c3')->'replies'->-1->>'uuid')
		 = (SELECT j->>'uuid' FROM replied) AS listed_last;
SELECT cruddur_activity('00000000-0000-7000-8000-0000000000c3')::text
	   = cruddur_ref.activity('00000000-0000-7000-8000-0000000000c3')::text AS same;

-- update_profile returns what user_short shows afterwards; NULL bio clears it
SELECT cruddur_update_profile('sub-ann', E'Ann \\ "renamed"\n', NULL);
SELECT cruddur_update_profile('sub-ann', E'Ann \\ "renamed"\n', NULL)::text
	   = cruddur_user_short('ann_1')::text AS same_as_user_short,
	   cruddur_user_feed('Ann_1')->'profile'->'bio' AS bio;
SELECT cruddur_update_profile('sub-lonely', 'Not so lonely', E'a bio\t') AS j \gset
SELECT :'j'::text = cruddur_user_short('LONELY')::text AS same_as_user_short,
	   cruddur_user_feed('lonely')->'profile' AS profile;

-- the reads after all the writes still equal the reference
SELECT cruddur_home_feed(1000)::text = cruddur_ref.home_feed(1000)::text AS home,
	   bool_and(cruddur_user_feed(handle, 1000)::text = cruddur_ref.user_feed(handle, 1000)::text) AS user_feeds
  FROM users;

ROLLBACK;
