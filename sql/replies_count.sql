--
-- replies_count is maintained by the activities_replies_count triggers:
-- after every way replies come and go (inserted directly, one or many per
-- statement, or through cruddur_create_reply; deleted; moved to another
-- parent or made top-level; deleted with their parent or their author;
-- replies to replies), each row's count equals its number of replies.
-- Concurrent replies and dump/restore are other suites.
--
\set VERBOSITY terse
BEGIN;

-- rows whose replies_count is not their number of replies (always none)
CREATE TEMP VIEW wrong_counts AS
SELECT p.message, p.replies_count,
	   (SELECT count(*) FROM activities c WHERE c.reply_to_activity_uuid = p.uuid) AS replies
  FROM activities p
 WHERE p.replies_count <> (SELECT count(*) FROM activities c WHERE c.reply_to_activity_uuid = p.uuid);

-- the counts of the named rows
CREATE TEMP VIEW counts AS
SELECT message, replies_count FROM activities WHERE message LIKE 'crud%' OR message LIKE 'nest%' ORDER BY message;

INSERT INTO users (uuid, display_name, handle, email, cognito_user_id) VALUES
('00000000-0000-7000-8000-0000000000a1', 'Ann', 'ann', 'ann@example.com', 'sub-ann'),
('00000000-0000-7000-8000-0000000000a2', 'Bob', 'bob', 'bob@example.com', 'sub-bob');
INSERT INTO activities (uuid, user_uuid, message) VALUES
('00000000-0000-7000-8000-0000000000b1', '00000000-0000-7000-8000-0000000000a1', 'crud A'),
('00000000-0000-7000-8000-0000000000b2', '00000000-0000-7000-8000-0000000000a1', 'crud B');

-- a new row starts at 0, whatever it says
INSERT INTO activities (uuid, user_uuid, message, replies_count) VALUES
('00000000-0000-7000-8000-0000000000b3', '00000000-0000-7000-8000-0000000000a2', 'crud C claims 99', 99);
SELECT * FROM counts;

-- three replies to A inserted directly, one per statement
INSERT INTO activities (user_uuid, message, reply_to_activity_uuid)
VALUES ('00000000-0000-7000-8000-0000000000a2', 'direct 1', '00000000-0000-7000-8000-0000000000b1');
INSERT INTO activities (user_uuid, message, reply_to_activity_uuid)
VALUES ('00000000-0000-7000-8000-0000000000a2', 'direct 2', '00000000-0000-7000-8000-0000000000b1');
INSERT INTO activities (uuid, user_uuid, message, reply_to_activity_uuid)
VALUES ('00000000-0000-7000-8000-0000000000c1', '00000000-0000-7000-8000-0000000000a2', 'nest 1 (reply to A)',
		'00000000-0000-7000-8000-0000000000b1');
-- fifty replies to B in one statement
INSERT INTO activities (user_uuid, message, reply_to_activity_uuid)
SELECT '00000000-0000-7000-8000-0000000000a1', 'bulk ' || i, '00000000-0000-7000-8000-0000000000b2'
  FROM generate_series(1, 50) i;
-- two replies to A through the function, and a reply to a reply
SELECT cruddur_create_reply('sub-ann', '00000000-0000-7000-8000-0000000000b1', 'via function 1') IS NOT NULL AS replied;
SELECT cruddur_create_reply('sub-bob', '00000000-0000-7000-8000-0000000000b1', 'via function 2') IS NOT NULL AS replied;
SELECT cruddur_create_reply('sub-ann', '00000000-0000-7000-8000-0000000000c1', 'nest 2 (reply to nest 1)') IS NOT NULL AS replied;
INSERT INTO activities (uuid, user_uuid, message, reply_to_activity_uuid)
SELECT '00000000-0000-7000-8000-0000000000c3', '00000000-0000-7000-8000-0000000000a1', 'nest 3 (reply to nest 2)', uuid
  FROM activities WHERE message = 'nest 2 (reply to nest 1)';
SELECT * FROM counts;
SELECT * FROM wrong_counts;

-- deleting replies, one and many
DELETE FROM activities WHERE message = 'direct 1';
DELETE FROM activities WHERE message LIKE 'bulk %' AND substr(message, 6)::int <= 20;
SELECT * FROM counts;
SELECT * FROM wrong_counts;

-- moving replies: to another parent, to top level, back; other updates change nothing
UPDATE activities SET reply_to_activity_uuid = '00000000-0000-7000-8000-0000000000b3'
 WHERE message IN ('direct 2', 'via function 1');
UPDATE activities SET reply_to_activity_uuid = NULL WHERE message = 'bulk 21';
UPDATE activities SET reply_to_activity_uuid = '00000000-0000-7000-8000-0000000000b1' WHERE message = 'bulk 22';
UPDATE activities SET message = message || ' (edited)', likes_count = likes_count + 1
 WHERE reply_to_activity_uuid IS NOT NULL;
SELECT * FROM counts;
SELECT * FROM wrong_counts;

-- deleting a reply with replies of its own takes them along (cascade), and
-- its parent counts one fewer
DELETE FROM activities WHERE uuid = '00000000-0000-7000-8000-0000000000c1';
SELECT count(*) AS nested_left FROM activities WHERE message LIKE 'nest%';
SELECT * FROM counts;
SELECT * FROM wrong_counts;

-- deleting a person deletes their cruds and replies; the cruds they replied
-- to count fewer
DELETE FROM users WHERE handle = 'bob';
SELECT * FROM counts;
SELECT * FROM wrong_counts;

-- deleting a crud deletes its replies
DELETE FROM activities WHERE message = 'crud B';
SELECT count(*) AS replies_of_b_left FROM activities WHERE message LIKE 'bulk%';
SELECT * FROM counts;
SELECT * FROM wrong_counts;

ROLLBACK;
