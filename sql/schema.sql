--
-- The schema CREATE EXTENSION cruddur installs (issue 2, section 2).
--
\set VERBOSITY terse

-- columns, types, nullability and defaults, in order
SELECT c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod) AS type,
       a.attnotnull AS not_null, pg_get_expr(d.adbin, d.adrelid) AS default
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE c.oid IN ('users'::regclass, 'activities'::regclass) AND a.attnum > 0
 ORDER BY c.relname DESC, a.attnum;

-- NOT NULL is in the column list above; PostgreSQL 18 also lists each as a
-- constraint (contype 'n'), left out here so that every major prints the same.
SELECT conrelid::regclass AS "table", conname, pg_get_constraintdef(oid)
  FROM pg_constraint
 WHERE conrelid IN ('users'::regclass, 'activities'::regclass) AND contype <> 'n'
 ORDER BY 1::text, 2;

SELECT indexrelid::regclass AS index, pg_get_indexdef(indexrelid)
  FROM pg_index
 WHERE indrelid IN ('users'::regclass, 'activities'::regclass)
 ORDER BY 1::text;

-- both tables are dumped with their rows
SELECT extversion, NOT extrelocatable AS not_relocatable,
       (SELECT array_agg(c::regclass::text ORDER BY c::regclass::text) FROM unnest(extconfig) c) AS config_tables
  FROM pg_extension WHERE extname = 'cruddur';

BEGIN;
-- handles: 1 to 32 ASCII letters, digits or underscores
INSERT INTO users (display_name, handle, email, cognito_user_id)
SELECT 'ok', h, 'e@x', 'sub-' || h
  FROM unnest(ARRAY['a', 'A_1', repeat('z', 32), '_', '0']) AS h;
SAVEPOINT s;
INSERT INTO users (display_name, handle, email, cognito_user_id) VALUES ('x', '', 'e', 'u1');
ROLLBACK TO s;
INSERT INTO users (display_name, handle, email, cognito_user_id) VALUES ('x', repeat('z', 33), 'e', 'u2');
ROLLBACK TO s;
INSERT INTO users (display_name, handle, email, cognito_user_id) VALUES ('x', 'café', 'e', 'u3');
ROLLBACK TO s;
INSERT INTO users (display_name, handle, email, cognito_user_id) VALUES ('x', 'ı', 'e', 'u4');
ROLLBACK TO s;
INSERT INTO users (display_name, handle, email, cognito_user_id) VALUES ('x', 'a b', 'e', 'u5');
ROLLBACK TO s;
INSERT INTO users (display_name, handle, email, cognito_user_id) VALUES ('x', E'a\n', 'e', 'u6');
ROLLBACK TO s;
-- unique regardless of ASCII case
INSERT INTO users (display_name, handle, email, cognito_user_id) VALUES ('x', 'a_1', 'e', 'u7');
ROLLBACK TO s;
INSERT INTO users (display_name, handle, email, cognito_user_id) VALUES ('x', upper(repeat('z', 32)), 'e', 'u8');
ROLLBACK TO s;
-- cognito_user_id is unique, the required columns are required
INSERT INTO users (display_name, handle, email, cognito_user_id) VALUES ('x', 'b', 'e', 'sub-a');
ROLLBACK TO s;
INSERT INTO users (handle, email, cognito_user_id) VALUES ('b', 'e', 'u9');
ROLLBACK TO s;
INSERT INTO users (display_name, handle, cognito_user_id) VALUES ('x', 'b', 'u9');
ROLLBACK TO s;
SELECT handle FROM users ORDER BY handle COLLATE "C";
ROLLBACK;

BEGIN;
-- defaults are the transaction's now() in UTC whatever the session's TimeZone;
-- explicit values are stored as given; uuids default to version 7
SET LOCAL TimeZone = 'Pacific/Kiritimati';
INSERT INTO users (display_name, handle, email, cognito_user_id) VALUES ('x', 'tz', 'e', 'tz');
INSERT INTO users (display_name, handle, email, cognito_user_id, created_at)
VALUES ('y', 'given', 'e', 'given', '2001-02-03 04:05:06.789');
SELECT handle, created_at = (now() AT TIME ZONE 'UTC') AS utc_now, created_at = '2001-02-03 04:05:06.789' AS as_given,
       substr(uuid::text, 15, 1) AS uuid_version
  FROM users ORDER BY handle;
ROLLBACK;

BEGIN;
INSERT INTO users (uuid, display_name, handle, email, cognito_user_id)
VALUES ('00000000-0000-7000-8000-000000000001', 'p', 'p', 'e', 'p');
INSERT INTO activities (uuid, user_uuid, message)
VALUES ('00000000-0000-7000-8000-0000000000a1', '00000000-0000-7000-8000-000000000001', 'top');
INSERT INTO activities (uuid, user_uuid, message, reply_to_activity_uuid)
VALUES ('00000000-0000-7000-8000-0000000000a2', '00000000-0000-7000-8000-000000000001', 'reply',
        '00000000-0000-7000-8000-0000000000a1');
SAVEPOINT s;
-- messages of 1 to 1024 characters (not bytes)
INSERT INTO activities (user_uuid, message) VALUES ('00000000-0000-7000-8000-000000000001', repeat('é', 1024));
INSERT INTO activities (user_uuid, message) VALUES ('00000000-0000-7000-8000-000000000001', '');
ROLLBACK TO s;
INSERT INTO activities (user_uuid, message) VALUES ('00000000-0000-7000-8000-000000000001', repeat('x', 1025));
ROLLBACK TO s;
-- counts are never negative, never NULL
INSERT INTO activities (user_uuid, message, likes_count) VALUES ('00000000-0000-7000-8000-000000000001', 'm', -1);
ROLLBACK TO s;
INSERT INTO activities (user_uuid, message, reposts_count) VALUES ('00000000-0000-7000-8000-000000000001', 'm', -1);
ROLLBACK TO s;
INSERT INTO activities (user_uuid, message, likes_count) VALUES ('00000000-0000-7000-8000-000000000001', 'm', NULL);
ROLLBACK TO s;
-- references must exist
INSERT INTO activities (user_uuid, message) VALUES ('00000000-0000-7000-8000-000000000009', 'm');
ROLLBACK TO s;
INSERT INTO activities (user_uuid, message, reply_to_activity_uuid)
VALUES ('00000000-0000-7000-8000-000000000001', 'm', '00000000-0000-7000-8000-000000000009');
ROLLBACK TO s;
-- deleting a crud deletes its replies; deleting a person deletes their cruds
DELETE FROM activities WHERE uuid = '00000000-0000-7000-8000-0000000000a1';
SELECT count(*) AS activities_left FROM activities;
ROLLBACK TO s;
DELETE FROM users WHERE uuid = '00000000-0000-7000-8000-000000000001';
SELECT count(*) AS activities_left FROM activities;
ROLLBACK;

-- every feed is served by an index in its order: with sorts and full scans
-- priced out, no plan needs a Sort or a Seq Scan
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SET enable_sort = off;
EXPLAIN (COSTS OFF)
SELECT * FROM activities
 WHERE reply_to_activity_uuid IS NULL
   AND (created_at, uuid) < ('2026-01-01', '00000000-0000-7000-8000-000000000000')
 ORDER BY created_at DESC, uuid DESC LIMIT 20;
EXPLAIN (COSTS OFF)
SELECT * FROM activities
 WHERE user_uuid = '00000000-0000-7000-8000-000000000001'
 ORDER BY created_at DESC, uuid DESC LIMIT 40;
EXPLAIN (COSTS OFF)
SELECT * FROM activities
 WHERE reply_to_activity_uuid = '00000000-0000-7000-8000-0000000000a1'
 ORDER BY created_at, uuid;
EXPLAIN (COSTS OFF)
SELECT * FROM users WHERE lower(handle COLLATE "C") = lower('Bob' COLLATE "C");
RESET enable_seqscan;
RESET enable_bitmapscan;
RESET enable_sort;
