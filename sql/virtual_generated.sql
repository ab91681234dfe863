--
-- PostgreSQL 18's virtual generated columns: a column the home feed shows,
-- made virtual, is computed at read time and never stored, so the direct
-- read of src/feed_scan.c (which takes values from the stored row)
-- must refuse it and run its saved plan.  The JSON must be the reference
-- SQL's (test/reference.sql), with the generated values: a direct read
-- would give the stored NULL instead.  One column of each table the feed
-- reads.  Before 18 there are no virtual columns: expected/virtual_generated_1.out.
--
SELECT current_setting('server_version_num')::int >= 180000 AS pg18 \gset
\if :pg18
\else
\echo 'no virtual generated columns before PostgreSQL 18'
\quit
\endif
\set VERBOSITY terse
\set ECHO none
\i test/reference.sql
\set ECHO all
CREATE FUNCTION pg_temp.page() RETURNS TABLE (shown text, same_as_reference boolean)
LANGUAGE sql AS $$
SELECT (SELECT string_agg(format('%s by %s, %s likes', e->>'message', e->>'display_name',
								 e->>'likes_count'), ' | ' ORDER BY o)
		  FROM json_array_elements(public.cruddur_home_feed()) WITH ORDINALITY x(e, o)),
	   public.cruddur_home_feed()::text = cruddur_ref.home_feed()::text
$$;

BEGIN;
INSERT INTO users (uuid, display_name, handle, email, cognito_user_id) VALUES
('00000000-0000-7000-8000-0000000000a1', 'Ann', 'ann', 'ann@example.com', 'sub-ann'),
('00000000-0000-7000-8000-0000000000a2', 'Bob', 'bob', 'bob@example.com', 'sub-bob');
INSERT INTO activities (uuid, user_uuid, message, reposts_count, likes_count, created_at) VALUES
('00000000-0000-7000-8000-0000000000b1', '00000000-0000-7000-8000-0000000000a1',
 'ann 1', 2, 5, '2024-05-01 10:00:00'),
('00000000-0000-7000-8000-0000000000b2', '00000000-0000-7000-8000-0000000000a2',
 'bob 1', 3, 7, '2024-05-01 11:00:00');
-- stored columns: straight from the index
SELECT * FROM pg_temp.page();

-- activities.likes_count virtual
SAVEPOINT virtual_activities;
ALTER TABLE activities DROP COLUMN likes_count;
ALTER TABLE activities ADD COLUMN likes_count integer
	GENERATED ALWAYS AS (reposts_count * 10) VIRTUAL;
SELECT * FROM pg_temp.page();
ROLLBACK TO SAVEPOINT virtual_activities;

-- users.display_name virtual
SAVEPOINT virtual_users;
ALTER TABLE users DROP COLUMN display_name;
ALTER TABLE users ADD COLUMN display_name text
	GENERATED ALWAYS AS (upper(handle)) VIRTUAL;
SELECT * FROM pg_temp.page();
ROLLBACK TO SAVEPOINT virtual_users;

-- a stored generated column is a stored value: as before
SAVEPOINT stored;
ALTER TABLE activities DROP COLUMN likes_count;
ALTER TABLE activities ADD COLUMN likes_count integer
	GENERATED ALWAYS AS (reposts_count * 10) STORED;
SELECT * FROM pg_temp.page();
ROLLBACK TO SAVEPOINT stored;

-- and the columns as installed serve again
SELECT * FROM pg_temp.page();
ROLLBACK;
