--
-- The feeds' two ways to a page (src/feed_scan.c): straight from
-- activities_home_feed_idx, or, when that would not be what the query does,
-- the saved plan.  Each case below has a result only the query's meaning
-- gives: row level security, column privileges, no privilege, inheritance
-- children, and an index that is missing or not as the install script made
-- it.  Every page is also compared with the reference SQL
-- (test/reference.sql) run by the same role.  test/differential.sh shows
-- which way served (auto_explain) and compares both on hostile data.
--
\set VERBOSITY terse
\set ECHO none
\i test/reference.sql
\set ECHO all
-- The messages of a page, and whether its text is the reference's
CREATE FUNCTION pg_temp.page(page_size int DEFAULT 20, ts timestamp DEFAULT NULL, id uuid DEFAULT NULL)
RETURNS TABLE (messages text, same_as_reference boolean) LANGUAGE sql AS $$
SELECT (SELECT string_agg(e->>'message', ' | ' ORDER BY o)
		  FROM json_array_elements(public.cruddur_home_feed(page_size, ts, id)) WITH ORDINALITY x(e, o)),
	   public.cruddur_home_feed(page_size, ts, id)::text = cruddur_ref.home_feed(page_size, ts, id)::text
$$;

BEGIN;

INSERT INTO users (uuid, display_name, handle, email, cognito_user_id) VALUES
('00000000-0000-7000-8000-0000000000a1', 'Ann', 'ann', 'ann@example.com', 'sub-ann'),
('00000000-0000-7000-8000-0000000000a2', 'Bob', 'bob', 'bob@example.com', 'sub-bob');

INSERT INTO activities (uuid, user_uuid, message, reply_to_activity_uuid, expires_at, created_at) VALUES
('00000000-0000-7000-8000-0000000000b1', '00000000-0000-7000-8000-0000000000a1',
 'ann 1', NULL, NULL, '2024-05-01 10:00:00'),
('00000000-0000-7000-8000-0000000000b2', '00000000-0000-7000-8000-0000000000a2',
 'bob 1, expires far ahead', NULL, '2999-01-01', '2024-05-01 11:00:00'),
('00000000-0000-7000-8000-0000000000b3', '00000000-0000-7000-8000-0000000000a1',
 'ann 2, expired', NULL, '2000-01-01', '2024-05-01 12:00:00'),
('00000000-0000-7000-8000-0000000000b4', '00000000-0000-7000-8000-0000000000a2',
 'bob 2', NULL, NULL, '2024-05-01 13:00:00'),
('00000000-0000-7000-8000-0000000000c1', '00000000-0000-7000-8000-0000000000a2',
 'bob, a reply', '00000000-0000-7000-8000-0000000000b1', NULL, '2024-05-01 14:00:00');

CREATE ROLE cruddur_test_scan;
GRANT SELECT ON users, activities TO cruddur_test_scan;
GRANT USAGE ON SCHEMA cruddur_ref TO cruddur_test_scan;

-- Straight from the index: newest first, no reply, nothing expired; pages
-- after a cursor
SELECT * FROM pg_temp.page();
SELECT * FROM pg_temp.page(1);
SELECT * FROM pg_temp.page(1, '2024-05-01 13:00:00', '00000000-0000-7000-8000-0000000000b4');
SELECT * FROM pg_temp.page(5, '2024-05-01 11:00:00', '00000000-0000-7000-8000-0000000000b2');
SET ROLE cruddur_test_scan;
SELECT * FROM pg_temp.page();
RESET ROLE;

-- Row level security on activities: the policy applies
ALTER TABLE activities ENABLE ROW LEVEL SECURITY;
CREATE POLICY only_ann ON activities FOR SELECT TO cruddur_test_scan
	USING (user_uuid = '00000000-0000-7000-8000-0000000000a1');
SET ROLE cruddur_test_scan;
SELECT * FROM pg_temp.page();
RESET ROLE;
-- (the superuser bypasses it)
SELECT * FROM pg_temp.page();
DROP POLICY only_ann ON activities;
ALTER TABLE activities DISABLE ROW LEVEL SECURITY;

-- Row level security on users: the join drops the cruds of those hidden
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
CREATE POLICY only_bob ON users FOR SELECT TO cruddur_test_scan
	USING (handle = 'bob');
SET ROLE cruddur_test_scan;
SELECT * FROM pg_temp.page();
RESET ROLE;
DROP POLICY only_bob ON users;
ALTER TABLE users DISABLE ROW LEVEL SECURITY;

-- Privileges: none on activities is refused as the query refuses it ...
REVOKE SELECT ON activities FROM cruddur_test_scan;
SAVEPOINT refused;
SET ROLE cruddur_test_scan;
SELECT cruddur_home_feed();
ROLLBACK TO SAVEPOINT refused;
-- ... SELECT on every column the feed reads is enough ...
GRANT SELECT (uuid, user_uuid, message, replies_count, reposts_count, likes_count,
			  reply_to_activity_uuid, expires_at, created_at) ON activities TO cruddur_test_scan;
SET ROLE cruddur_test_scan;
SELECT * FROM pg_temp.page();
RESET ROLE;
-- ... and one column short is not
REVOKE SELECT (likes_count) ON activities FROM cruddur_test_scan;
SAVEPOINT refused;
SET ROLE cruddur_test_scan;
SELECT cruddur_home_feed();
ROLLBACK TO SAVEPOINT refused;
GRANT SELECT ON activities TO cruddur_test_scan;
-- none on users is refused too
REVOKE SELECT ON users FROM cruddur_test_scan;
SAVEPOINT refused;
SET ROLE cruddur_test_scan;
SELECT cruddur_home_feed();
ROLLBACK TO SAVEPOINT refused;
GRANT SELECT ON users TO cruddur_test_scan;

-- An inheritance child's cruds are in the feed, as in the query
SAVEPOINT child;
CREATE TABLE activities_archive () INHERITS (activities);
INSERT INTO activities_archive (uuid, user_uuid, message, created_at) VALUES
('00000000-0000-7000-8000-0000000000d1', '00000000-0000-7000-8000-0000000000a1',
 'ann, archived', '2024-05-01 12:30:00');
SELECT * FROM pg_temp.page();
ROLLBACK TO SAVEPOINT child;

-- The index not as the install script made it: the page is still the
-- query's.  Ascending:
SAVEPOINT idx;
DROP INDEX activities_home_feed_idx;
CREATE INDEX activities_home_feed_idx ON activities (created_at, uuid)
	WHERE reply_to_activity_uuid IS NULL;
SELECT * FROM pg_temp.page();
SELECT * FROM pg_temp.page(1, '2024-05-01 13:00:00', '00000000-0000-7000-8000-0000000000b4');
-- a predicate that leaves out cruds with an expiry:
DROP INDEX activities_home_feed_idx;
CREATE INDEX activities_home_feed_idx ON activities (created_at DESC, uuid DESC)
	WHERE reply_to_activity_uuid IS NULL AND expires_at IS NULL;
SELECT * FROM pg_temp.page();
-- on other columns:
DROP INDEX activities_home_feed_idx;
CREATE INDEX activities_home_feed_idx ON activities (expires_at DESC, uuid DESC)
	WHERE reply_to_activity_uuid IS NULL;
SELECT * FROM pg_temp.page();
-- none at all:
DROP INDEX activities_home_feed_idx;
SELECT * FROM pg_temp.page();
ROLLBACK TO SAVEPOINT idx;
-- the index as made serves again
SELECT * FROM pg_temp.page();

-- Replies, expiry and authors are read from the row, whatever the index
-- holds: a crud that becomes a reply leaves the feed at once
UPDATE activities SET reply_to_activity_uuid = '00000000-0000-7000-8000-0000000000b1'
 WHERE uuid = '00000000-0000-7000-8000-0000000000b4';
SELECT * FROM pg_temp.page();
-- authors changed since the last page (their rows now elsewhere, or
-- further along the same chain) show as changed
UPDATE users SET display_name = 'Ann II' WHERE handle = 'ann';
UPDATE users SET handle = 'bobby' WHERE handle = 'bob';
SELECT e->>'display_name' AS display_name, e->>'handle' AS handle, e->>'message' AS message
  FROM json_array_elements(cruddur_home_feed()) e;
SELECT * FROM pg_temp.page();

ROLLBACK;

-- Authors are looked for where their row was last time (a hint kept by the
-- backend), checked against the snapshot and the uuid.  Outside a
-- transaction, to VACUUM: a person whose row moved to an earlier page, and
-- whose old page VACUUM then truncated away, is still found.
-- Each VACUUM below must remove the rows deleted or updated before it, so
-- they must be dead to everyone: another backend of this database (an
-- autovacuum ANALYZE) may hold a snapshot or a transaction for a moment.
-- Before each, wait for up to 10 s, 0.1 s apart, until no other backend
-- here holds either (any it takes later cannot see the rows).
CREATE FUNCTION pg_temp.no_other_snapshot() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	FOR i IN 1..100 LOOP
		PERFORM pg_stat_clear_snapshot();
		IF NOT EXISTS (SELECT FROM pg_stat_activity
						WHERE datname = current_database() AND pid <> pg_backend_pid()
						  AND (backend_xmin IS NOT NULL OR backend_xid IS NOT NULL)) THEN
			RETURN true;
		END IF;
		PERFORM pg_sleep(0.1);
	END LOOP;
	RETURN false;
END
$$;
VACUUM users;
INSERT INTO users (uuid, display_name, handle, email, cognito_user_id, bio)
SELECT ('00000000-0000-7000-8000-' || lpad(to_hex(i), 12, '0'))::uuid, 'Filler ' || i, 'filler_' || i,
	   'filler' || i || '@example.com', 'sub-filler-' || i, repeat('y', 1500)
  FROM generate_series(1, 100) i;
INSERT INTO users (uuid, display_name, handle, email, cognito_user_id, bio) VALUES
('00000000-0000-7000-8000-0000000000e1', 'Xavier', 'xavier', 'x@example.com', 'sub-x', repeat('y', 1500));
-- (counting Xavier's crud updates his row: the dead version is pruned
-- before the rows after him are placed)
INSERT INTO activities (uuid, user_uuid, message, created_at) VALUES
('00000000-0000-7000-8000-0000000000f1', '00000000-0000-7000-8000-0000000000e1', 'x 1', '2024-06-01 10:00:00');
SELECT pg_temp.no_other_snapshot();
VACUUM users;
INSERT INTO users (uuid, display_name, handle, email, cognito_user_id, bio)
SELECT ('00000000-0000-7000-8000-' || lpad(to_hex(i), 12, '0'))::uuid, 'Filler ' || i, 'filler_' || i,
	   'filler' || i || '@example.com', 'sub-filler-' || i, repeat('y', 1500)
  FROM generate_series(101, 200) i;
CREATE TEMP TABLE xavier_was AS
SELECT (ctid::text::point)[0]::int AS block FROM users WHERE handle = 'xavier';
SELECT * FROM pg_temp.page();
-- free the pages before Xavier's, move Xavier there, empty the pages after
DELETE FROM users WHERE handle LIKE 'filler%' AND substr(handle, 8)::int <= 100;
SELECT pg_temp.no_other_snapshot();
VACUUM users;
UPDATE users SET handle = 'xavier_moved', bio = repeat('z', 1700) WHERE handle = 'xavier';
DELETE FROM users WHERE handle LIKE 'filler%';
SELECT pg_temp.no_other_snapshot();
VACUUM users;
SELECT (SELECT block FROM xavier_was) >= pg_relation_size('users') / 8192 AS old_page_truncated,
	   (ctid::text::point)[0]::int < (SELECT block FROM xavier_was) AS moved_before
  FROM users WHERE handle = 'xavier_moved';
SELECT json_array_elements(cruddur_home_feed())->>'handle' AS handle;
SELECT cruddur_home_feed()::text = cruddur_ref.home_feed()::text AS same_as_reference;
-- A hint whose place another person's row took: Xavier's row, where the
-- reads above found him, moves on; VACUUM frees its place, and Yvonne's
-- new row takes it.  (VACUUM's update of pg_class invalidates the hints
-- here, as it usually does; the uuid check covers the case where it does
-- not, which no test constructs.)
CREATE TEMP TABLE xavier_was_at AS
SELECT ctid AS old_ctid FROM users WHERE handle = 'xavier_moved';
UPDATE users SET handle = 'xavier_last' WHERE handle = 'xavier_moved';
SELECT pg_temp.no_other_snapshot();
VACUUM users;
INSERT INTO users (uuid, display_name, handle, email, cognito_user_id) VALUES
('00000000-0000-7000-8000-0000000000e2', 'Yvonne', 'yvonne', 'y@example.com', 'sub-y');
SELECT ctid = (SELECT old_ctid FROM xavier_was_at) AS yvonne_took_the_place
  FROM users WHERE handle = 'yvonne';
SELECT json_array_elements(cruddur_home_feed())->>'handle' AS handle;
SELECT cruddur_home_feed()::text = cruddur_ref.home_feed()::text AS same_as_reference;
DELETE FROM users WHERE handle IN ('xavier_last', 'yvonne');

-- Rows are fetched through the buffer each block was last read in, while
-- that buffer still holds the block.  VACUUM FULL writes both tables anew
-- (new files, the rows at other places): the same backend's reads after it
-- are the reference's, every feed.
INSERT INTO users (uuid, display_name, handle, email, cognito_user_id) VALUES
('00000000-0000-7000-8000-0000000002a1', 'Rita', 'rita', 'r@example.com', 'sub-rita'),
('00000000-0000-7000-8000-0000000002a2', 'Sam', 'sam', 's@example.com', 'sub-sam');
INSERT INTO activities (uuid, user_uuid, message, created_at) VALUES
('00000000-0000-7000-8000-0000000002b1', '00000000-0000-7000-8000-0000000002a1', 'rita 1', '2024-08-01 10:00:00'),
('00000000-0000-7000-8000-0000000002b2', '00000000-0000-7000-8000-0000000002a2', 'sam 1', '2024-08-01 11:00:00');
INSERT INTO activities (uuid, user_uuid, message, reply_to_activity_uuid, created_at) VALUES
('00000000-0000-7000-8000-0000000002c1', '00000000-0000-7000-8000-0000000002a2', 'sam replies',
 '00000000-0000-7000-8000-0000000002b1', '2024-08-01 12:00:00'),
('00000000-0000-7000-8000-0000000002c2', '00000000-0000-7000-8000-0000000002a1', 'rita replies',
 '00000000-0000-7000-8000-0000000002b1', '2024-08-01 13:00:00');
CREATE TEMP TABLE before_rewrite AS
SELECT cruddur_home_feed()::text AS home, cruddur_user_feed('rita')::text AS rita,
	   cruddur_activity('00000000-0000-7000-8000-0000000002b1')::text AS crud;
SELECT json_array_length(home::json) AS home_cruds,
	   json_array_length((rita::json)->'activities') AS rita_cruds,
	   json_array_length((crud::json)->'replies') AS replies
  FROM before_rewrite;
VACUUM FULL users;
VACUUM FULL activities;
SELECT cruddur_home_feed()::text = home AS home_same,
	   cruddur_home_feed()::text = cruddur_ref.home_feed()::text AS home_reference,
	   cruddur_user_feed('rita')::text = rita AS user_same,
	   cruddur_user_feed('rita')::text = cruddur_ref.user_feed('rita')::text AS user_reference,
	   cruddur_activity('00000000-0000-7000-8000-0000000002b1')::text = crud AS crud_same,
	   cruddur_activity('00000000-0000-7000-8000-0000000002b1')::text
		 = cruddur_ref.activity('00000000-0000-7000-8000-0000000002b1')::text AS crud_reference
  FROM before_rewrite;
DELETE FROM users WHERE handle IN ('rita', 'sam');

-- A read marks the index entries of rows dead to everyone, as an index
-- scan does (kill_prior_tuple): the next read is not given them.  Kim's
-- ten newest cruds are deleted; the first read of her page is given all
-- twelve entries of activities_user_feed_idx, the next only the two that
-- live.  (autovacuum, which would remove them first, is held off; the
-- reads wait until the rows are dead to everyone, as the VACUUMs above do.
-- On the SQL flavour's routes the plan may take another index: the counts
-- are the C build's, see test/route.bash.)
ALTER TABLE activities SET (autovacuum_enabled = off);
INSERT INTO users (uuid, display_name, handle, email, cognito_user_id) VALUES
('00000000-0000-7000-8000-0000000005a1', 'Kim', 'kim', 'k@example.com', 'sub-kim');
INSERT INTO activities (uuid, user_uuid, message, created_at)
SELECT ('00000000-0000-7000-8000-0000000005' || lpad(i::text, 2, '0'))::uuid,
	   '00000000-0000-7000-8000-0000000005a1', 'kim ' || i,
	   '2024-09-01 10:00:00'::timestamp + i * interval '1 minute'
  FROM generate_series(1, 12) i;
DELETE FROM activities
 WHERE user_uuid = '00000000-0000-7000-8000-0000000005a1' AND message <> ALL (ARRAY['kim 1', 'kim 2']);
-- The entries of activities_user_feed_idx a read of Kim's page is given
CREATE FUNCTION pg_temp.kim_entries_given() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	before bigint := pg_stat_get_xact_tuples_returned('activities_user_feed_idx'::regclass);
BEGIN
	PERFORM cruddur_user_feed('kim');
	RETURN pg_stat_get_xact_tuples_returned('activities_user_feed_idx'::regclass) - before;
END
$$;
SELECT pg_temp.no_other_snapshot();
SELECT pg_temp.kim_entries_given() AS index_entries_given;
SELECT pg_temp.kim_entries_given() AS index_entries_given;
SELECT json_array_length(cruddur_user_feed('kim')->'activities') AS cruds,
	   cruddur_user_feed('kim')::text = cruddur_ref.user_feed('kim')::text AS same_as_reference;
DELETE FROM users WHERE handle = 'kim';
ALTER TABLE activities RESET (autovacuum_enabled);

-- Every feed, with the schema loosened by a superuser: each column the
-- direct read takes gives what the SQL gives, NULL included (1.1 copied a
-- NULL display_name or handle as if it were text, and crashed the backend)
BEGIN;
ALTER TABLE users ALTER COLUMN display_name DROP NOT NULL,
	ALTER COLUMN handle DROP NOT NULL;
ALTER TABLE activities ALTER COLUMN message DROP NOT NULL,
	ALTER COLUMN replies_count DROP NOT NULL, ALTER COLUMN reposts_count DROP NOT NULL,
	ALTER COLUMN likes_count DROP NOT NULL;
INSERT INTO users (uuid, display_name, handle, email, cognito_user_id) VALUES
('00000000-0000-7000-8000-0000000001a1', NULL, 'nameless', 'n@example.com', 'sub-nameless'),
('00000000-0000-7000-8000-0000000001a2', 'Handleless', NULL, 'h@example.com', 'sub-handleless');
INSERT INTO activities (uuid, user_uuid, message, created_at) VALUES
('00000000-0000-7000-8000-0000000001b1', '00000000-0000-7000-8000-0000000001a1', 'by nameless', '2024-07-01 10:00:00'),
('00000000-0000-7000-8000-0000000001b2', '00000000-0000-7000-8000-0000000001a2', NULL, '2024-07-01 11:00:00');
INSERT INTO activities (uuid, user_uuid, message, reply_to_activity_uuid, created_at) VALUES
('00000000-0000-7000-8000-0000000001c1', '00000000-0000-7000-8000-0000000001a2', 'reply by handleless',
 '00000000-0000-7000-8000-0000000001b1', '2024-07-01 12:00:00'),
('00000000-0000-7000-8000-0000000001c2', '00000000-0000-7000-8000-0000000001a1', NULL,
 '00000000-0000-7000-8000-0000000001b1', '2024-07-01 13:00:00');
UPDATE activities SET replies_count = NULL, reposts_count = NULL, likes_count = NULL
 WHERE uuid IN ('00000000-0000-7000-8000-0000000001b2', '00000000-0000-7000-8000-0000000001c1');
SELECT cruddur_home_feed(2)::text AS home_feed,
	   cruddur_home_feed(2)::text = cruddur_ref.home_feed(2)::text AS same_as_reference;
SELECT cruddur_user_feed('nameless')::text = cruddur_ref.user_feed('nameless')::text AS user_feed_same,
	   cruddur_activity('00000000-0000-7000-8000-0000000001b1')::text
		 = cruddur_ref.activity('00000000-0000-7000-8000-0000000001b1')::text AS crud_and_replies_same,
	   cruddur_activity('00000000-0000-7000-8000-0000000001b2')::text
		 = cruddur_ref.activity('00000000-0000-7000-8000-0000000001b2')::text AS null_message_crud_same;
SELECT cruddur_activity('00000000-0000-7000-8000-0000000001b1', 1)::text AS first_reply_page;
SELECT cruddur_user_short('NAMELESS')::text AS user_short,
	   cruddur_user_short('NAMELESS')::text = cruddur_ref.user_short('NAMELESS')::text AS same_as_reference;
ROLLBACK;

-- Column privileges, for every feed: SELECT on just the columns a query
-- references is enough (the direct read checks them as the executor
-- does; test/differential.sh shows it keeps serving), and one of them
-- short is 42501, as the query says
BEGIN;
INSERT INTO users (uuid, display_name, handle, email, cognito_user_id) VALUES
('00000000-0000-7000-8000-0000000002a1', 'Cora', 'cora', 'cora@example.com', 'sub-cora');
INSERT INTO activities (uuid, user_uuid, message, created_at) VALUES
('00000000-0000-7000-8000-0000000002b1', '00000000-0000-7000-8000-0000000002a1', 'cora 1', '2024-08-01 10:00:00');
INSERT INTO activities (uuid, user_uuid, message, reply_to_activity_uuid, created_at) VALUES
('00000000-0000-7000-8000-0000000002c1', '00000000-0000-7000-8000-0000000002a1', 'cora replies',
 '00000000-0000-7000-8000-0000000002b1', '2024-08-01 11:00:00');
CREATE ROLE cruddur_test_columns;
GRANT USAGE ON SCHEMA cruddur_ref TO cruddur_test_columns;
GRANT SELECT (uuid, user_uuid, message, created_at, expires_at) ON activities TO cruddur_test_columns;
GRANT SELECT (uuid, cognito_user_id, handle, display_name, bio, cruds_count) ON users TO cruddur_test_columns;
SET ROLE cruddur_test_columns;
-- the user feed reads no count of activities: served
SELECT cruddur_user_feed('cora')::text = cruddur_ref.user_feed('cora')::text AS user_feed_same;
-- a crud shows its counts, which the reader may not see
SAVEPOINT refused;
SELECT cruddur_activity('00000000-0000-7000-8000-0000000002b1');
ROLLBACK TO SAVEPOINT refused;
RESET ROLE;
GRANT SELECT (replies_count, reposts_count, likes_count) ON activities TO cruddur_test_columns;
SET ROLE cruddur_test_columns;
-- replies are found by reply_to_activity_uuid, the home feed filters on it
SAVEPOINT refused;
SELECT cruddur_activity('00000000-0000-7000-8000-0000000002b1');
ROLLBACK TO SAVEPOINT refused;
SAVEPOINT refused;
SELECT cruddur_activity('00000000-0000-7000-8000-0000000002b1', 10);
ROLLBACK TO SAVEPOINT refused;
SAVEPOINT refused;
SELECT cruddur_home_feed();
ROLLBACK TO SAVEPOINT refused;
RESET ROLE;
GRANT SELECT (reply_to_activity_uuid) ON activities TO cruddur_test_columns;
SET ROLE cruddur_test_columns;
SELECT cruddur_activity('00000000-0000-7000-8000-0000000002b1')::text
	   = cruddur_ref.activity('00000000-0000-7000-8000-0000000002b1')::text AS crud_and_replies_same,
	   cruddur_activity('00000000-0000-7000-8000-0000000002b1', 10)::text
	   = cruddur_ref.activity('00000000-0000-7000-8000-0000000002b1', 10)::text AS replies_page_same,
	   cruddur_home_feed()::text = cruddur_ref.home_feed()::text AS home_feed_same;
-- the author's display name is a column of users like the others
RESET ROLE;
REVOKE SELECT (display_name) ON users FROM cruddur_test_columns;
SET ROLE cruddur_test_columns;
SAVEPOINT refused;
SELECT cruddur_home_feed();
ROLLBACK TO SAVEPOINT refused;
SAVEPOINT refused;
SELECT cruddur_user_feed('cora');
ROLLBACK TO SAVEPOINT refused;
SAVEPOINT refused;
SELECT cruddur_user_short('cora');
ROLLBACK TO SAVEPOINT refused;
RESET ROLE;
ROLLBACK;

-- The person is read from users_handle_lower_key only while it is the
-- install script's: on upper() instead, a lookup of lower() would find
-- nobody, and the plan finds Cora
BEGIN;
INSERT INTO users (uuid, display_name, handle, email, cognito_user_id) VALUES
('00000000-0000-7000-8000-0000000002a1', 'Cora', 'cora', 'cora@example.com', 'sub-cora');
DROP INDEX users_handle_lower_key;
CREATE UNIQUE INDEX users_handle_lower_key ON users (upper(handle COLLATE "C"));
SELECT cruddur_user_short('Cora')::text AS user_short,
	   cruddur_user_feed('CORA')->'profile'->>'handle' AS user_feed_of;
-- and on lower() under the database's collation, as an unqualified
-- lower(handle) would make it
DROP INDEX users_handle_lower_key;
CREATE UNIQUE INDEX users_handle_lower_key ON users (lower(handle));
SELECT cruddur_user_short('Cora')::text = cruddur_ref.user_short('Cora')::text AS same_as_reference;
ROLLBACK;

-- An author's hint finds their row again after a profile edit (a HOT
-- update: the hint is the root of the row's HOT chain, where users_pkey
-- points): no descent of users_pkey in five calls
INSERT INTO users (uuid, display_name, handle, email, cognito_user_id) VALUES
('00000000-0000-7000-8000-0000000003a1', 'Dora', 'dora', 'dora@example.com', 'sub-dora');
SELECT cruddur_create_activity('sub-dora', 'dora ' || i) IS NOT NULL AS posted FROM generate_series(1, 3) i;
SELECT json_array_length(cruddur_home_feed()) > 0 AS read_once;
SELECT cruddur_update_profile('sub-dora', 'Dora Edited', 'a bio') IS NOT NULL AS edited;
SELECT cruddur_update_profile('sub-dora', 'Dora Edited Twice', NULL) IS NOT NULL AS edited;
BEGIN;
-- (the count may hold scans of earlier transactions not yet reported)
SELECT pg_stat_get_xact_numscans('users_pkey'::regclass) AS scans_before \gset
SELECT (SELECT count(*) FROM json_array_elements(cruddur_home_feed()) e
		 WHERE e->>'display_name' = 'Dora Edited Twice') AS dora_shown
  FROM generate_series(1, 5);
SELECT pg_stat_get_xact_numscans('users_pkey'::regclass) - :scans_before AS users_pkey_descents;
COMMIT;
DELETE FROM users WHERE handle = 'dora';

-- A crud is looked for where it was found last time too (the root of its
-- HOT chain, checked against the snapshot and the uuid).  pg_temp.flo(n):
-- the crud as the last of n calls shows it, and whether that is the
-- reference's; pg_temp.descents(): the descents of activities_pkey the n
-- calls made.
INSERT INTO users (uuid, display_name, handle, email, cognito_user_id) VALUES
('00000000-0000-7000-8000-0000000005a1', 'Flo', 'flo', 'flo@example.com', 'sub-flo');
INSERT INTO activities (uuid, user_uuid, message, created_at) VALUES
('00000000-0000-7000-8000-0000000005b1', '00000000-0000-7000-8000-0000000005a1', 'flo 1', '2024-07-01 10:00:00');
INSERT INTO activities (uuid, user_uuid, message, reply_to_activity_uuid, created_at) VALUES
('00000000-0000-7000-8000-0000000005c1', '00000000-0000-7000-8000-0000000005a1', 'flo replies',
 '00000000-0000-7000-8000-0000000005b1', '2024-07-01 11:00:00');
-- pg_temp.activity_calls(crud, n, index): the last of n calls of
-- cruddur_activity(crud), keeping the descents of index they made for
-- pg_temp.descents() (the count may hold scans of earlier statements not
-- yet reported)
CREATE FUNCTION pg_temp.activity_calls(crud uuid, calls int, index regclass)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
	scans_before bigint := pg_stat_get_xact_numscans(index);
	answer json;
BEGIN
	FOR i IN 1..calls LOOP
		answer := cruddur_activity(crud);
	END LOOP;
	PERFORM set_config('cruddur_test.descents',
		(pg_stat_get_xact_numscans(index) - scans_before)::text, false);
	RETURN answer;
END
$$;
CREATE FUNCTION pg_temp.flo(calls int)
RETURNS TABLE (shown text, same_as_reference boolean)
LANGUAGE sql AS $$
SELECT CASE WHEN crud IS NULL THEN 'no crud' ELSE
		   format('%s, %s likes, at %s, %s replies', crud->'activity'->>'message',
				  crud->'activity'->>'likes_count', crud->'activity'->>'created_at',
				  json_array_length(crud->'replies')) END,
	   crud::text IS NOT DISTINCT FROM
		   cruddur_ref.activity('00000000-0000-7000-8000-0000000005b1')::text
  FROM pg_temp.activity_calls('00000000-0000-7000-8000-0000000005b1', calls,
							  'activities_pkey') crud
$$;
CREATE FUNCTION pg_temp.descents() RETURNS bigint LANGUAGE sql
AS $$ SELECT current_setting('cruddur_test.descents')::bigint $$;
-- the first call descends; five more do not, after an edit in place too
SELECT * FROM pg_temp.flo(1);
SELECT pg_temp.descents() AS activities_pkey_descents;
BEGIN;
SELECT pg_stat_get_xact_tuples_hot_updated('activities'::regclass) AS hot_before \gset
UPDATE activities SET likes_count = 3, message = 'flo 1, edited'
 WHERE uuid = '00000000-0000-7000-8000-0000000005b1';
SELECT pg_stat_get_xact_tuples_hot_updated('activities'::regclass) - :hot_before AS hot_updates;
COMMIT;
SELECT * FROM pg_temp.flo(5);
SELECT pg_temp.descents() AS activities_pkey_descents;
-- moved by an update of an indexed column: one descent finds its new place
UPDATE activities SET created_at = '2024-07-01 10:30:00'
 WHERE uuid = '00000000-0000-7000-8000-0000000005b1';
SELECT * FROM pg_temp.flo(5);
SELECT pg_temp.descents() AS activities_pkey_descents;
-- moved again in a transaction rolled back: the hint the transaction left
-- leads to a version that never was, and one descent finds the crud
BEGIN;
UPDATE activities SET created_at = '2024-07-01 10:45:00'
 WHERE uuid = '00000000-0000-7000-8000-0000000005b1';
SELECT * FROM pg_temp.flo(1);
SELECT pg_temp.descents() AS activities_pkey_descents;
ROLLBACK;
SELECT * FROM pg_temp.flo(5);
SELECT pg_temp.descents() AS activities_pkey_descents;
-- deleted: every call asks the index, which finds none; rolled back, the
-- hint serves again
BEGIN;
DELETE FROM activities WHERE uuid = '00000000-0000-7000-8000-0000000005b1';
SELECT * FROM pg_temp.flo(2);
SELECT pg_temp.descents() AS activities_pkey_descents;
ROLLBACK;
SELECT * FROM pg_temp.flo(2);
SELECT pg_temp.descents() AS activities_pkey_descents;
DELETE FROM users WHERE handle = 'flo';

-- A crud's first page of replies is read off the leaf page of
-- activities_replies_idx where its first reply was found last time, when
-- that page still holds every reply (its first entry below the crud's,
-- its high key above), instead of descending the index.  Gus's 601 cruds
-- (uuids ...8001-<n in hex>) have a reply each, over several leaf pages;
-- the 300th has two.  pg_temp.gus(crud, n): the replies the last of n calls
-- shows, and whether that is the reference's; pg_temp.descents(): the
-- descents of activities_replies_idx the n calls made.
INSERT INTO users (uuid, display_name, handle, email, cognito_user_id) VALUES
('00000000-0000-7000-8000-0000000006a1', 'Gus', 'gus', 'gus@example.com', 'sub-gus');
INSERT INTO activities (uuid, user_uuid, message, created_at)
SELECT ('00000000-0000-7000-8001-' || lpad(to_hex(i), 12, '0'))::uuid,
	   '00000000-0000-7000-8000-0000000006a1', 'gus ' || i,
	   '2024-09-01 10:00:00'::timestamp + i * interval '1 second'
  FROM generate_series(1, 601) i;
INSERT INTO activities (uuid, user_uuid, message, reply_to_activity_uuid, created_at)
SELECT ('00000000-0000-7000-8002-' || lpad(to_hex(i), 12, '0'))::uuid,
	   '00000000-0000-7000-8000-0000000006a1', 'gus replies ' || i,
	   ('00000000-0000-7000-8001-' || lpad(to_hex(CASE WHEN i = 602 THEN 300 ELSE i END), 12, '0'))::uuid,
	   '2024-09-02 10:00:00'::timestamp + i * interval '1 second'
  FROM generate_series(1, 602) i;
SELECT pg_relation_size('activities_replies_idx') / 8192 >= 5 AS several_leaf_pages,
	   (SELECT count(*) FROM activities
		 WHERE reply_to_activity_uuid = '00000000-0000-7000-8001-00000000012c') AS replies_of_300th;
CREATE FUNCTION pg_temp.gus(crud uuid, calls int)
RETURNS TABLE (replies int, same_as_reference boolean)
LANGUAGE sql AS $$
SELECT json_array_length(answer->'replies'),
	   answer::text IS NOT DISTINCT FROM cruddur_ref.activity(crud)::text
  FROM pg_temp.activity_calls(crud, calls, 'activities_replies_idx') answer
$$;
-- the first call descends, five more read the leaf alone
SELECT * FROM pg_temp.gus('00000000-0000-7000-8001-00000000012c', 1);
SELECT pg_temp.descents() AS replies_idx_descents;
SELECT * FROM pg_temp.gus('00000000-0000-7000-8001-00000000012c', 5);
SELECT pg_temp.descents() AS replies_idx_descents;
-- a new reply goes to the same page: read off it too
INSERT INTO activities (uuid, user_uuid, message, reply_to_activity_uuid, created_at) VALUES
('00000000-0000-7000-8003-000000000001', '00000000-0000-7000-8000-0000000006a1', 'gus, a third',
 '00000000-0000-7000-8001-00000000012c', '2024-09-03 10:00:00');
SELECT * FROM pg_temp.gus('00000000-0000-7000-8001-00000000012c', 5);
SELECT pg_temp.descents() AS replies_idx_descents;
-- SERIALIZABLE: the page read is locked, as a scan's would be
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT * FROM pg_temp.gus('00000000-0000-7000-8001-00000000012c', 1);
SELECT pg_temp.descents() AS replies_idx_descents;
SELECT (SELECT count(*) FROM pg_locks
		 WHERE locktype = 'page' AND mode = 'SIReadLock' AND pid = pg_backend_pid()
		   AND relation = 'activities_replies_idx'::regclass) AS leaf_pages_locked;
COMMIT;
-- 300 more replies fill more than a page: the leaf no longer holds them
-- all, and every call descends
INSERT INTO activities (uuid, user_uuid, message, reply_to_activity_uuid, created_at)
SELECT ('00000000-0000-7000-8004-' || lpad(to_hex(i), 12, '0'))::uuid,
	   '00000000-0000-7000-8000-0000000006a1', 'gus, more ' || i,
	   '00000000-0000-7000-8001-00000000012c', '2024-09-04 10:00:00'::timestamp + i * interval '1 second'
  FROM generate_series(1, 300) i;
SELECT * FROM pg_temp.gus('00000000-0000-7000-8001-00000000012c', 5);
SELECT pg_temp.descents() AS replies_idx_descents;
-- the replies of the 100th to the 500th crud deleted, and VACUUM deletes
-- the index pages they emptied, the one the hint names among them: the
-- calls descend, and find none.  (VACUUM's update of pg_class empties the
-- hints here, as it does whenever the table's statistics change; a hint
-- that outlives it finds the page deleted or emptied, and descends
-- likewise, which no test constructs.)
DELETE FROM activities
 WHERE reply_to_activity_uuid BETWEEN '00000000-0000-7000-8001-000000000064'
								  AND '00000000-0000-7000-8001-0000000001f4';
SELECT pg_temp.no_other_snapshot();
VACUUM activities;
SELECT * FROM pg_temp.gus('00000000-0000-7000-8001-00000000012c', 5);
SELECT pg_temp.descents() AS replies_idx_descents;
-- the last crud's reply is on the rightmost leaf; after the other replies
-- go and REINDEX writes the index anew, in fewer pages, one descent finds
-- it again and the calls after read the new leaf (REINDEX empties the
-- hints too; one that outlived it would name a block past the index's
-- end, which is not read)
SELECT * FROM pg_temp.gus('00000000-0000-7000-8001-000000000259', 2);
SELECT pg_temp.descents() AS replies_idx_descents;
DELETE FROM activities
 WHERE reply_to_activity_uuid < '00000000-0000-7000-8001-000000000259'
   AND user_uuid = '00000000-0000-7000-8000-0000000006a1';
REINDEX INDEX activities_replies_idx;
SELECT * FROM pg_temp.gus('00000000-0000-7000-8001-000000000259', 1);
SELECT pg_temp.descents() AS replies_idx_descents;
SELECT * FROM pg_temp.gus('00000000-0000-7000-8001-000000000259', 5);
SELECT pg_temp.descents() AS replies_idx_descents;
DELETE FROM users WHERE handle = 'gus';

-- One call's two reads each go their own way (a call's reads share one
-- reader): with activities_replies_idx not as the install script made it,
-- the crud comes straight from activities_pkey and its replies by plan;
-- with activities_user_feed_idx replaced, the person straight from
-- users_handle_lower_key and their page by plan.  Every answer, first
-- page and next, is the reference's.
BEGIN;
INSERT INTO users (uuid, display_name, handle, email, cognito_user_id) VALUES
('00000000-0000-7000-8000-0000000004a1', 'Eve', 'eve', 'eve@example.com', 'sub-eve');
INSERT INTO activities (uuid, user_uuid, message, reply_to_activity_uuid, created_at)
SELECT ('00000000-0000-7000-8000-0000000004b' || i)::uuid, '00000000-0000-7000-8000-0000000004a1',
	   'eve ' || i, CASE WHEN i > 1 THEN '00000000-0000-7000-8000-0000000004b1'::uuid END,
	   '2024-06-01 10:00:00'::timestamp + i * interval '1 minute'
  FROM generate_series(1, 4) i;
DROP INDEX activities_replies_idx;
CREATE INDEX activities_replies_idx ON activities (reply_to_activity_uuid, uuid);
SELECT cruddur_activity('00000000-0000-7000-8000-0000000004b1')::text =
	   cruddur_ref.activity('00000000-0000-7000-8000-0000000004b1', 1000)::text AS crud_same,
	   cruddur_activity('00000000-0000-7000-8000-0000000004b1', 1, '2024-06-01 10:02:00',
						'00000000-0000-7000-8000-0000000004b2')::text =
	   cruddur_ref.activity('00000000-0000-7000-8000-0000000004b1', 1, '2024-06-01 10:02:00',
							'00000000-0000-7000-8000-0000000004b2')::text AS next_page_same,
	   json_array_length(cruddur_activity('00000000-0000-7000-8000-0000000004b1')->'replies') AS replies;
DROP INDEX activities_user_feed_idx;
CREATE INDEX activities_user_feed_idx ON activities (user_uuid, uuid);
SELECT cruddur_user_feed('EVE')::text = cruddur_ref.user_feed('EVE')::text AS feed_same,
	   cruddur_user_feed('eve', 2, '2024-06-01 10:03:00', '00000000-0000-7000-8000-0000000004b3')::text =
	   cruddur_ref.user_feed('eve', 2, '2024-06-01 10:03:00', '00000000-0000-7000-8000-0000000004b3')::text
	   AS next_page_same,
	   json_array_length(cruddur_user_feed('eve')->'activities') AS cruds;
ROLLBACK;

DROP SCHEMA cruddur_ref CASCADE;
