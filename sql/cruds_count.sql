--
-- users.cruds_count (1.2) is kept by the activities_cruds_count triggers:
-- after every way a person's rows come and go (inserted one or many per
-- statement, through the writes, by COPY; deleted; deleted by the cascade
-- from a parent crud or from the person; moved to another person;
-- TRUNCATE; a load with triggers off, then recounted), each person's count
-- equals their number of rows in activities, and the user feed shows it.
-- Dump/restore, upgrades and concurrent posts are other suites.
--
\set VERBOSITY terse
BEGIN;

-- people whose cruds_count is not their number of activities (always none)
CREATE TEMP VIEW wrong_counts AS
SELECT u.handle, u.cruds_count,
	   (SELECT count(*) FROM activities a WHERE a.user_uuid = u.uuid) AS activities
  FROM users u
 WHERE u.cruds_count <> (SELECT count(*) FROM activities a WHERE a.user_uuid = u.uuid);

CREATE TEMP VIEW counts AS
SELECT handle, cruds_count, (cruddur_user_feed(handle, 1)->'profile'->>'cruds_count')::bigint AS shown
  FROM users ORDER BY handle;

-- a new person starts at 0, whatever the row says
INSERT INTO users (uuid, display_name, handle, email, cognito_user_id, cruds_count) VALUES
('00000000-0000-7000-8000-0000000000a1', 'Ann', 'ann', 'ann@example.com', 'sub-ann', 99),
('00000000-0000-7000-8000-0000000000a2', 'Bob', 'bob', 'bob@example.com', 'sub-bob', 7);
SELECT * FROM counts;

-- one per statement, many in one, through the writes, expired ones too
INSERT INTO activities (uuid, user_uuid, message) VALUES
('00000000-0000-7000-8000-0000000000b1', '00000000-0000-7000-8000-0000000000a1', 'crud A');
INSERT INTO activities (user_uuid, message, expires_at)
SELECT '00000000-0000-7000-8000-0000000000a2', 'bulk ' || i, '2000-01-01'
  FROM generate_series(1, 50) i;
SELECT cruddur_create_activity('sub-ann', 'via function') IS NOT NULL AS posted;
SELECT cruddur_create_reply('sub-bob', '00000000-0000-7000-8000-0000000000b1', 'reply to A') IS NOT NULL AS replied;
SELECT * FROM counts;

-- rows of both people in one statement, and COPY
INSERT INTO activities (user_uuid, message)
VALUES ('00000000-0000-7000-8000-0000000000a1', 'both 1'), ('00000000-0000-7000-8000-0000000000a2', 'both 2');
COPY activities (user_uuid, message) FROM stdin;
00000000-0000-7000-8000-0000000000a2	copied 1
00000000-0000-7000-8000-0000000000a1	copied 2
00000000-0000-7000-8000-0000000000a2	copied 3
\.
SELECT * FROM counts;
SELECT * FROM wrong_counts;

-- deleting, one and many; the cascade from a parent takes its replies
-- from their authors
DELETE FROM activities WHERE message = 'both 2';
DELETE FROM activities WHERE message LIKE 'bulk %' AND substr(message, 6)::int <= 20;
DELETE FROM activities WHERE uuid = '00000000-0000-7000-8000-0000000000b1';
SELECT * FROM counts;
SELECT * FROM wrong_counts;

-- moved to another person, one and many; an update of other columns
UPDATE activities SET user_uuid = '00000000-0000-7000-8000-0000000000a1' WHERE message = 'copied 1';
UPDATE activities SET user_uuid = '00000000-0000-7000-8000-0000000000a1' WHERE message LIKE 'bulk 2%';
UPDATE activities SET message = message || '!', user_uuid = user_uuid;
SELECT * FROM counts;
SELECT * FROM wrong_counts;

-- a third person, and the cascade from a person: the others' counts stay
INSERT INTO users (uuid, display_name, handle, email, cognito_user_id) VALUES
('00000000-0000-7000-8000-0000000000a3', 'Cy', 'cy', 'cy@example.com', 'sub-cy');
SELECT cruddur_create_activity('sub-cy', 'cy ' || i) IS NOT NULL AS posted FROM generate_series(1, 3) i;
SELECT cruddur_create_reply('sub-ann', uuid, 'ann answers cy') IS NOT NULL AS replied
  FROM activities WHERE message = 'cy 1';
SELECT * FROM counts;
DELETE FROM users WHERE handle = 'cy';
SELECT * FROM counts;
SELECT * FROM wrong_counts;

-- TRUNCATE sets every count to 0
SAVEPOINT before_truncate;
TRUNCATE activities;
SELECT * FROM counts;
ROLLBACK TO SAVEPOINT before_truncate;

-- a load with triggers off (as logical replication applies rows) keeps the
-- counts as loaded, and a recount puts them right
SET LOCAL session_replication_role = replica;
INSERT INTO activities (user_uuid, message)
SELECT '00000000-0000-7000-8000-0000000000a2', 'unseen ' || i FROM generate_series(1, 5) i;
RESET session_replication_role;
SELECT count(*) AS wrong FROM wrong_counts;
UPDATE users u SET cruds_count = (SELECT count(*) FROM activities a WHERE a.user_uuid = u.uuid);
SELECT * FROM counts;
SELECT * FROM wrong_counts;

ROLLBACK;
