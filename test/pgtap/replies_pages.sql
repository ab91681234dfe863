--
-- test/pgtap/replies_pages.sql: a crud's replies by pages (1.2): the
-- four-argument cruddur_activity's labels and refusals, pages that give
-- each reply once, oldest first, each repeating the crud; and the
-- one-argument form showing the first 1000 replies of a crud with more.
--
BEGIN;
CREATE EXTENSION pgtap;
CREATE EXTENSION cruddur;
\i test/reference.sql

SELECT plan(22);

SELECT volatility_is('public', 'cruddur_activity',
					 ARRAY['uuid', 'integer', 'timestamp without time zone', 'uuid'], 'stable',
					 'cruddur_activity(uuid, integer, timestamp, uuid) is STABLE');
SELECT ok(NOT proisstrict AND proparallel = 's' AND NOT prosecdef AND proconfig IS NULL,
		  'and PARALLEL SAFE, CALLED ON NULL INPUT, SECURITY INVOKER')
  FROM pg_proc WHERE oid = 'cruddur_activity(uuid, integer, timestamp, uuid)'::regprocedure;
SELECT is(pg_get_function_arguments('cruddur_activity(uuid, integer, timestamp, uuid)'::regprocedure),
		  'activity_uuid uuid, replies_page_size integer, replies_after_created_at timestamp without time zone DEFAULT NULL::timestamp without time zone, replies_after_uuid uuid DEFAULT NULL::uuid',
		  'its arguments and defaults');

INSERT INTO users (uuid, display_name, handle, email, cognito_user_id) VALUES
('00000000-0000-7000-8000-0000000000a1', 'Ann', 'ann', 'ann@example.com', 'sub-ann'),
('00000000-0000-7000-8000-0000000000a2', 'Bob', 'bob', 'bob@example.com', 'sub-bob');
INSERT INTO activities (uuid, user_uuid, message, created_at) VALUES
('00000000-0000-7000-8000-0000000000b1', '00000000-0000-7000-8000-0000000000a1', 'many replies', '2024-01-01'),
('00000000-0000-7000-8000-0000000000b2', '00000000-0000-7000-8000-0000000000a1', 'expired', '2024-01-01');
UPDATE activities SET expires_at = '2000-01-01' WHERE message = 'expired';
-- 1500 replies, in ties of three per created_at, so the cursor's uuid counts
INSERT INTO activities (user_uuid, message, reply_to_activity_uuid, created_at)
SELECT CASE WHEN i % 2 = 0 THEN '00000000-0000-7000-8000-0000000000a1' ELSE '00000000-0000-7000-8000-0000000000a2' END::uuid,
	   'reply ' || i, '00000000-0000-7000-8000-0000000000b1', '2024-01-02'::timestamp + (i / 3) * interval '1 second'
  FROM generate_series(1, 1500) i;

-- refusals, as the other pages'
SELECT throws_ok(format($$SELECT cruddur_activity('00000000-0000-7000-8000-0000000000b1', %s)$$, ps), '22023',
				 format('replies_page_size %s is out of range', ps), format('a page of %s replies is refused', ps))
  FROM unnest(ARRAY[0, -1, 1001]) ps;
SELECT throws_ok($$SELECT cruddur_activity('00000000-0000-7000-8000-0000000000b1', NULL)$$, '22023',
				 'replies_page_size must not be null', 'a NULL page size is refused');
SELECT throws_ok($$SELECT cruddur_activity('00000000-0000-7000-8000-0000000000b1', 10, '2024-01-02', NULL)$$, '22023',
				 'replies_after_created_at and replies_after_uuid must be given together',
				 'a cursor without its uuid is refused');
SELECT throws_ok($$SELECT cruddur_activity('00000000-0000-7000-8000-0000000000b1', 10, NULL, '00000000-0000-7000-8000-0000000000a1')$$,
				 '22023', 'replies_after_created_at and replies_after_uuid must be given together',
				 'a cursor without its created_at is refused');
SELECT ok(cruddur_activity(NULL, 10) IS NULL, 'no crud (NULL) is NULL');
SELECT ok(cruddur_activity('00000000-0000-7000-8000-0000000000b2', 10) IS NULL, 'an expired crud is NULL');
SELECT ok(cruddur_activity(gen_random_uuid(), 10) IS NULL, 'an unknown crud is NULL');

-- the one-argument form: the crud with its first 1000 replies
SELECT is(json_array_length(cruddur_activity('00000000-0000-7000-8000-0000000000b1')->'replies'), 1000,
		  'cruddur_activity(uuid) shows 1000 of the 1500 replies');
SELECT is(cruddur_activity('00000000-0000-7000-8000-0000000000b1')::text,
		  cruddur_activity('00000000-0000-7000-8000-0000000000b1', 1000)::text,
		  'the first page of 1000, as the four-argument form gives it');
SELECT is(cruddur_activity('00000000-0000-7000-8000-0000000000b1', 1000)::text,
		  cruddur_ref.activity('00000000-0000-7000-8000-0000000000b1', 1000)::text,
		  'which is the reference SQL''s');

-- walks by pages of 1, 7 and 1000: each reply once, oldest first
CREATE TEMP TABLE walked (ps int, n int, uuid uuid, crud text);
DO $$
DECLARE
	ps int;
	page json;
	last json;
	n int;
BEGIN
	FOREACH ps IN ARRAY ARRAY[1, 7, 1000] LOOP
		last := NULL;
		n := 0;
		LOOP
			page := cruddur_activity('00000000-0000-7000-8000-0000000000b1', ps,
									 (last->>'created_at')::timestamp, (last->>'uuid')::uuid);
			INSERT INTO walked SELECT ps, n * 1000000 + o, (e->>'uuid')::uuid, page->>'activity'
			  FROM json_array_elements(page->'replies') WITH ORDINALITY x(e, o);
			EXIT WHEN json_array_length(page->'replies') < ps;
			last := page->'replies'->(ps - 1);
			n := n + 1;
		END LOOP;
	END LOOP;
END
$$;
SELECT is((SELECT array_agg(uuid ORDER BY n) FROM walked WHERE walked.ps = p),
		  (SELECT array_agg(uuid ORDER BY created_at, uuid) FROM activities
			WHERE reply_to_activity_uuid = '00000000-0000-7000-8000-0000000000b1'),
		  format('pages of %s give each of the 1500 replies once, oldest first', p))
  FROM unnest(ARRAY[1, 7, 1000]) p;
SELECT is((SELECT count(DISTINCT crud) FROM walked), 1::bigint, 'every page shows the same crud');
SELECT ok((SELECT bool_and(crud::json->>'message' = 'many replies' AND (crud::json->>'replies_count')::int = 1500) FROM walked),
		  'the crud with its replies_count of 1500');
SELECT is((cruddur_activity('00000000-0000-7000-8000-0000000000b1', 5, 'infinity', gen_random_uuid())->'replies')::text, '[]',
		  'after the last reply: no replies, and the crud still');
SELECT is(json_array_length(cruddur_activity('00000000-0000-7000-8000-0000000000b1', 1000, '-infinity', gen_random_uuid())->'replies'),
		  1000, 'before the first: the first page');

SELECT * FROM finish();
ROLLBACK;
