--
-- test/pgtap/json_api.sql: the JSON API's contract beyond the text itself
-- (that is sql/json_api.sql): function labels, every refusal with its
-- SQLSTATE and message and nothing written, keyset paging that returns
-- each visible crud exactly once, expiry at the UTC instant, reply rules.
--
BEGIN;
CREATE EXTENSION pgtap;
CREATE EXTENSION cruddur;
\i test/reference.sql

SELECT plan(91);

-- Labels: reads STABLE, PARALLEL SAFE, SECURITY INVOKER; writes VOLATILE,
-- SECURITY DEFINER, with a fixed search_path.
SELECT volatility_is('public', f, args, 'stable', f || ' is STABLE')
  FROM (VALUES ('cruddur_home_feed', ARRAY['integer', 'timestamp without time zone', 'uuid']),
			   ('cruddur_user_feed', ARRAY['text', 'integer', 'timestamp without time zone', 'uuid']),
			   ('cruddur_activity', ARRAY['uuid']),
			   ('cruddur_user_short', ARRAY['text'])) v(f, args);
SELECT volatility_is('public', f, args, 'volatile', f || ' is VOLATILE')
  FROM (VALUES ('cruddur_create_activity', ARRAY['text', 'text', 'text']),
			   ('cruddur_create_reply', ARRAY['text', 'uuid', 'text']),
			   ('cruddur_update_profile', ARRAY['text', 'text', 'text'])) v(f, args);
SELECT is((SELECT string_agg(format('%s %s%s%s %s', proname, proparallel,
									 CASE WHEN prosecdef THEN ' definer' ELSE '' END,
									 CASE WHEN proisstrict THEN ' strict' ELSE '' END,
									 coalesce(array_to_string(proconfig, ','), '')), '; ' ORDER BY proname, pronargs)
			 FROM pg_proc WHERE proname LIKE 'cruddur\_%' AND prorettype = 'json'::regtype),
		  'cruddur_activity s strict ; '
		  'cruddur_activity s ; '
		  'cruddur_create_activity u definer search_path=pg_catalog, pg_temp; '
		  'cruddur_create_reply u definer search_path=pg_catalog, pg_temp; '
		  'cruddur_home_feed s ; '
		  'cruddur_update_profile u definer search_path=pg_catalog, pg_temp; '
		  'cruddur_user_feed s ; '
		  'cruddur_user_short s strict ',
		  'reads are parallel safe (s) invokers, writes parallel unsafe (u) definers with a fixed search_path');

-- People and a small feed: 90 cruds in groups of 5 sharing a created_at
-- (ties), every fifth expired, every seventh expiring at infinity, plus
-- replies (never in the home feed).
INSERT INTO users (uuid, display_name, handle, email, cognito_user_id) VALUES
('00000000-0000-7000-8000-0000000000a1', 'Ann', 'Ann', 'ann@example.com', 'sub-ann'),
('00000000-0000-7000-8000-0000000000a2', 'Bob', 'bob_2', 'bob@example.com', 'sub-bob');
INSERT INTO activities (user_uuid, message, created_at, expires_at)
SELECT CASE WHEN i % 3 = 0 THEN '00000000-0000-7000-8000-0000000000a2'::uuid
			ELSE '00000000-0000-7000-8000-0000000000a1'::uuid END,
	   'crud ' || i, timestamp '2024-01-01' + (i / 5) * interval '1.5 seconds',
	   CASE WHEN i % 5 = 0 THEN timestamp '2001-01-01'
			WHEN i % 7 = 0 THEN timestamp 'infinity' END
  FROM generate_series(1, 90) i;
INSERT INTO activities (user_uuid, message, reply_to_activity_uuid, created_at)
SELECT '00000000-0000-7000-8000-0000000000a2', 'reply ' || n, uuid, created_at + interval '1 minute'
  FROM (SELECT uuid, created_at, row_number() OVER (ORDER BY uuid) n FROM activities) a WHERE n % 4 = 0;

CREATE FUNCTION pg_temp.visible_home() RETURNS SETOF uuid LANGUAGE sql STABLE AS $$
	SELECT uuid FROM activities
	 WHERE reply_to_activity_uuid IS NULL
	   AND (expires_at IS NULL OR expires_at > timezone('UTC', now()))
	 ORDER BY created_at DESC, uuid DESC $$;

-- Walks the home feed (or a user feed when handle is given) page by page,
-- taking each cursor from the last item of the page before, as the app does.
CREATE FUNCTION pg_temp.walk(ps int, handle text DEFAULT NULL) RETURNS SETOF uuid LANGUAGE plpgsql AS $$
DECLARE
	page json;
	ts timestamp;
	id uuid;
	pages int := 0;
BEGIN
	LOOP
		IF handle IS NULL THEN
			page := cruddur_home_feed(ps, ts, id);
		ELSE
			page := cruddur_user_feed(handle, ps, ts, id)->'activities';
		END IF;
		EXIT WHEN json_array_length(page) = 0;
		IF json_array_length(page) > ps THEN
			RAISE EXCEPTION 'page of % has % items', ps, json_array_length(page);
		END IF;
		RETURN QUERY SELECT (e->>'uuid')::uuid FROM json_array_elements(page) e;
		ts := (page->-1->>'created_at')::timestamp;
		id := (page->-1->>'uuid')::uuid;
		pages := pages + 1;
		IF pages > 1000 THEN
			RAISE EXCEPTION 'the walk does not end';
		END IF;
	END LOOP;
END $$;

SELECT results_eq(format('SELECT * FROM pg_temp.walk(%s)', ps), 'SELECT * FROM pg_temp.visible_home()',
				  format('walking the home feed by pages of %s gives every visible crud once, newest first', ps))
  FROM unnest(ARRAY[1, 2, 5, 7, 20, 1000]) ps;
SELECT results_eq(format('SELECT * FROM pg_temp.walk(%s, %L)', ps, h),
				  format($$SELECT a.uuid FROM activities a JOIN users u ON u.uuid = a.user_uuid
							WHERE u.handle = %L AND (expires_at IS NULL OR expires_at > timezone('UTC', now()))
							ORDER BY a.created_at DESC, a.uuid DESC$$, h),
				  format('walking %s''s feed by pages of %s gives each of their visible cruds and replies once', h, ps))
  FROM unnest(ARRAY[1, 3, 40]) ps, unnest(ARRAY['Ann', 'bob_2']) h;
SELECT is(json_array_length(cruddur_home_feed()), 20, 'the default page is 20 cruds');
SELECT is(json_array_length(cruddur_user_feed('ann')->'activities'), 40, 'the default user page is 40');
SELECT is(cruddur_home_feed(10)::text, cruddur_ref.home_feed(10)::text, 'a page equals the reference');
SELECT is(cruddur_home_feed(1, '-infinity', '00000000-0000-0000-0000-000000000000')::text, '[]',
		  'nothing before the first crud: []');

-- Expiry is compared with the current time in UTC, whatever the TimeZone,
-- and an expires_at of exactly now has expired.
SET LOCAL TimeZone = 'Pacific/Kiritimati';
INSERT INTO activities (uuid, user_uuid, message, created_at, expires_at) VALUES
('00000000-0000-7000-8000-0000000000e1', '00000000-0000-7000-8000-0000000000a1', 'expires now',
 timezone('UTC', now()) - interval '1 hour', timezone('UTC', now())),
('00000000-0000-7000-8000-0000000000e2', '00000000-0000-7000-8000-0000000000a1', 'expires in a microsecond',
 timezone('UTC', now()) - interval '1 hour', timezone('UTC', now()) + interval '1 microsecond'),
('00000000-0000-7000-8000-0000000000e3', '00000000-0000-7000-8000-0000000000a1', 'expired 13 hours ago',
 timezone('UTC', now()) - interval '1 day', timezone('UTC', now()) - interval '13 hours');
SELECT is(cruddur_home_feed(1)->0->>'uuid', '00000000-0000-7000-8000-0000000000e2',
		  'the home feed shows what expires a microsecond after now (UTC)');
SELECT is((SELECT count(*) FROM json_array_elements(cruddur_home_feed(1000)) e
			WHERE e->>'message' IN ('expires now', 'expired 13 hours ago')), 0::bigint,
		  'and hides what expires at now or before');
SELECT ok(cruddur_activity('00000000-0000-7000-8000-0000000000e1') IS NULL, 'a crud expiring exactly now is gone');
SELECT ok(cruddur_activity('00000000-0000-7000-8000-0000000000e3') IS NULL, 'a crud expired 13 hours ago is gone in UTC+14');
SELECT ok(cruddur_activity('00000000-0000-7000-8000-0000000000e2') IS NOT NULL, 'a crud expiring in a microsecond is shown');
SELECT is(cruddur_activity('00000000-0000-7000-8000-0000000000e2')::text,
		  cruddur_ref.activity('00000000-0000-7000-8000-0000000000e2')::text, 'and equals the reference');
RESET TimeZone;

-- Every refusal: SQLSTATE, a message naming the argument, nothing written.
CREATE TEMP TABLE before AS SELECT (SELECT count(*) FROM activities) AS activities,
	(SELECT string_agg(display_name || coalesce(bio, '-'), ',' ORDER BY uuid) FROM users) AS profiles;

SELECT throws_ok(format('SELECT cruddur_home_feed(%s)', ps), '22023', format('page_size %s is out of range', ps),
				 format('home feed page size %s is refused', ps))
  FROM unnest(ARRAY[0, -1, 1001, 2147483647]) ps;
SELECT throws_ok('SELECT cruddur_home_feed(NULL)', '22023', 'page_size must not be null', 'a NULL page size is refused');
SELECT throws_ok($$SELECT cruddur_home_feed(20, '2024-01-01', NULL)$$, '22023',
				 'before_created_at and before_uuid must be given together', 'a cursor without its uuid is refused');
SELECT throws_ok($$SELECT cruddur_home_feed(20, NULL, '00000000-0000-7000-8000-0000000000a1')$$, '22023',
				 'before_created_at and before_uuid must be given together', 'a cursor without its time is refused');
SELECT throws_ok(format('SELECT cruddur_user_feed(%L, %s)', 'Ann', ps), '22023', format('page_size %s is out of range', ps),
				 format('user feed page size %s is refused', ps))
  FROM unnest(ARRAY[0, 1001]) ps;
SELECT throws_ok($$SELECT cruddur_user_feed('Ann', NULL)$$, '22023', 'page_size must not be null',
				 'a NULL user feed page size is refused');
SELECT throws_ok($$SELECT cruddur_user_feed('Ann', 40, '2024-01-01', NULL)$$, '22023',
				 'before_created_at and before_uuid must be given together', 'a user feed cursor without its uuid is refused');
SELECT throws_ok($$SELECT cruddur_user_feed('nobody', 0)$$, '22023', 'page_size 0 is out of range',
				 'arguments are checked before the person is looked up');

SELECT throws_ok(format('SELECT cruddur_create_activity(%L, %L)', 'sub-ann', m), '22023', 'message must not be blank',
				 format('a crud of only %s is refused as blank', d))
  FROM (VALUES ('', 'nothing'), (' ', 'a space'), (E' \t\n\r\f ' || chr(11), 'ASCII white space'),
			   (chr(160), 'a no-break space'), (chr(12288) || chr(8233) || ' ', 'ideographic space and a paragraph separator'))
	   v(m, d);
SELECT throws_ok($$SELECT cruddur_create_activity('sub-ann', repeat('é', 281))$$, '22023', 'message is too long',
				 'a crud of 281 characters is refused');
SELECT throws_ok($$SELECT cruddur_create_activity('sub-ann', NULL)$$, '22023', 'message must not be null',
				 'a NULL crud is refused');
SELECT throws_ok($$SELECT cruddur_create_activity(NULL, 'hi')$$, '22023', 'cognito_user_id must not be null',
				 'a NULL person is refused');
SELECT throws_ok(format('SELECT cruddur_create_activity(%L, %L, %L)', 'sub-ann', 'hi', t), '22023',
				 format('unknown ttl "%s"', t), format('ttl %L is refused', t))
  FROM unnest(ARRAY['2-days', '7 days', '7-DAYS', '']) t;
SELECT throws_ok($$SELECT cruddur_create_activity('sub-ann', 'hi', NULL)$$, '22023', 'ttl must not be null',
				 'a NULL ttl is refused');
SELECT throws_ok($$SELECT cruddur_create_activity('sub-nobody', 'hi')$$, 'P0002',
				 'no person has cognito_user_id "sub-nobody"', 'a crud by an unknown person is refused');

SELECT throws_ok(format('SELECT cruddur_create_reply(%L, %L, %L)', 'sub-bob', p, 'hi'), 'P0002',
				 format('crud %s does not exist or has expired', p), d)
  FROM (VALUES ('00000000-0000-7000-8000-0000000000ff', 'a reply to an unknown crud is refused'),
			   ('00000000-0000-7000-8000-0000000000e1', 'a reply to a crud expiring now is refused'),
			   ('00000000-0000-7000-8000-0000000000e3', 'a reply to an expired crud is refused')) v(p, d);
SELECT throws_ok($$SELECT cruddur_create_reply('sub-nobody', '00000000-0000-7000-8000-0000000000e2', 'hi')$$, 'P0002',
				 'no person has cognito_user_id "sub-nobody"', 'a reply by an unknown person is refused');
SELECT throws_ok($$SELECT cruddur_create_reply('sub-bob', NULL, 'hi')$$, '22023',
				 'reply_to_activity_uuid must not be null', 'a reply to nothing is refused');
SELECT throws_ok($$SELECT cruddur_create_reply('sub-bob', '00000000-0000-7000-8000-0000000000e2', repeat('x', 1025))$$,
				 '22023', 'message is too long', 'a reply of 1025 characters is refused');
SELECT throws_ok($$SELECT cruddur_create_reply('sub-bob', '00000000-0000-7000-8000-0000000000e2', E'\t')$$,
				 '22023', 'message must not be blank', 'a blank reply is refused');
SELECT throws_ok($$SELECT cruddur_create_reply('sub-bob', '00000000-0000-7000-8000-0000000000e2', NULL)$$,
				 '22023', 'message must not be null', 'a NULL reply is refused');

SELECT throws_ok(format('SELECT cruddur_update_profile(%L, %L, %L)', 'sub-ann', n, 'bio'), '22023',
				 'display_name must not be blank', format('a display name of %s is refused', d))
  FROM (VALUES ('', 'nothing'), (' ', 'a space'), (E'\n\t', 'a newline and a tab'), (chr(160), 'a no-break space')) v(n, d);
SELECT throws_ok($$SELECT cruddur_update_profile('sub-ann', NULL, 'bio')$$, '22023', 'display_name must not be null',
				 'a NULL display name is refused');
SELECT throws_ok($$SELECT cruddur_update_profile('sub-nobody', 'Name', 'bio')$$, 'P0002',
				 'no person has cognito_user_id "sub-nobody"', 'a profile of an unknown person is refused');

SELECT is((SELECT count(*) FROM activities), (SELECT activities FROM before), 'no refused write inserted anything');
SELECT is((SELECT string_agg(display_name || coalesce(bio, '-'), ',' ORDER BY uuid) FROM users),
		  (SELECT profiles FROM before), 'no refused write changed a profile');

-- What is accepted at the limits.
SELECT lives_ok($$SELECT cruddur_create_activity('sub-ann', repeat('😀', 280), '1-hour')$$,
				'a crud of 280 four-byte characters is accepted');
SELECT lives_ok($$SELECT cruddur_create_activity('sub-ann', E' \t x \n')$$,
				'a crud with white space around one visible character is accepted');
SELECT lives_ok($$SELECT cruddur_create_activity('sub-ann', chr(1))$$,
				'a control character is not white space');
SELECT lives_ok($$SELECT cruddur_create_reply('sub-bob', '00000000-0000-7000-8000-0000000000e2', repeat('é', 1024))$$,
				'a reply of 1024 characters is accepted');
SELECT is(cruddur_home_feed(1)->0->>'message', chr(1), 'the newest crud is the last one posted');

-- Replies: to replies too, oldest first, the parent counting them; a
-- reply keeps no expires_at of its own and never enters the home feed.
CREATE TEMP TABLE r AS
SELECT cruddur_create_reply('sub-bob', '00000000-0000-7000-8000-0000000000e2', 'first') AS r1,
	   cruddur_create_reply('sub-ann', '00000000-0000-7000-8000-0000000000e2', 'second') AS r2;
SELECT results_eq($$SELECT e->>'message' FROM json_array_elements(cruddur_activity('00000000-0000-7000-8000-0000000000e2')->'replies') e$$,
				  $$VALUES (repeat('é', 1024)), ('first'), ('second')$$,
				  'replies come oldest first, ties of one transaction broken by uuid');
SELECT is((cruddur_activity('00000000-0000-7000-8000-0000000000e2')->'activity'->>'replies_count')::int, 3,
		  'the parent counts its three replies');
SELECT lives_ok($$SELECT cruddur_create_reply('sub-ann', (SELECT (r1->>'uuid')::uuid FROM r), 'a reply to a reply')$$,
				'a reply to a reply is accepted');
SELECT is((cruddur_activity((SELECT (r1->>'uuid')::uuid FROM r))->'activity'->>'replies_count')::int, 1,
		  'the reply counts its own reply');
SELECT is((SELECT r1->'expires_at' FROM r)::text, 'null', 'a reply has no expires_at');
SELECT is((SELECT count(*) FROM json_array_elements(cruddur_home_feed(1000)) e
			WHERE e->>'message' IN ('first', 'second', 'a reply to a reply')), 0::bigint,
		  'replies are not in the home feed');
SELECT is((SELECT r1::text FROM r), cruddur_ref.created_activity((SELECT (r1->>'uuid')::uuid FROM r))::text,
		  'a new reply is returned as the reference shows it');

-- Profiles: the handle matches in any ASCII case; NULL bio clears.
SELECT is(cruddur_user_short('BOB_2')::text, cruddur_ref.user_short('bob_2')::text, 'user_short matches in any case');
SELECT ok(cruddur_user_short('bob') IS NULL, 'a prefix of a handle is nobody');
SELECT cruddur_update_profile('sub-bob', 'Robert', 'likes SQL') AS updated \gset
SELECT is(:'updated', cruddur_user_short('bob_2')::text, 'update_profile returns user_short of the person after');
SELECT is(cruddur_user_feed('bob_2')->'profile'->>'bio', 'likes SQL', 'the bio is set');
SELECT is(cruddur_update_profile('sub-bob', 'Robert', NULL)->>'display_name', 'Robert', 'a NULL bio is accepted');
SELECT is((cruddur_user_feed('bob_2')->'profile'->'bio')::text, 'null', 'a NULL bio clears it');

-- Reads are SECURITY INVOKER: a role without SELECT on the tables is refused.
CREATE ROLE cruddur_json_api_tap_nobody;
SET LOCAL ROLE cruddur_json_api_tap_nobody;
SELECT throws_ok('SELECT cruddur_home_feed()', '42501', NULL, 'a reader without SELECT on activities is refused');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
