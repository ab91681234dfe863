--
-- Privileges (issue 2, section 5), each sentence shown with SET ROLE.
-- The roles are cluster-wide, so they have names of their own and are
-- dropped at the end; after each statement that must fail, the SQLSTATE is
-- echoed.
--
\set SHOW_CONTEXT never
\set VERBOSITY default
\set event '{"triggerSource": "PostConfirmation_ConfirmSignUp", "request": {"userAttributes": {"sub": "00000000-0000-4000-8000-00000000beef", "email": "lambda@example.com", "preferred_username": "via_lambda", "name": "Via Lambda"}}}'

-- a role with no grant of its own has exactly what PUBLIC has
CREATE ROLE cruddur_test_nobody;
-- the Lambda: registration only
CREATE ROLE cruddur_test_lambda;
GRANT EXECUTE ON FUNCTION cruddur_register_user(jsonb) TO cruddur_test_lambda;
-- a reader: SELECT only
CREATE ROLE cruddur_test_reader;
GRANT SELECT ON users, activities TO cruddur_test_reader;
-- the app, with the README's grants: its writes plus SELECT
CREATE ROLE cruddur_test_app;
GRANT EXECUTE ON FUNCTION
	cruddur_create_activity(text, text, text),
	cruddur_create_reply(text, uuid, text),
	cruddur_update_profile(text, text, text)
	TO cruddur_test_app;
GRANT SELECT ON users, activities TO cruddur_test_app;

--
-- "Functions that write are not executable by PUBLIC": no ACL entry of
-- any write function (nor of the trigger functions) grants PUBLIC anything,
-- and a role with no grant is refused each of them.
--
SELECT p.oid::regprocedure AS function, p.prosecdef AS security_definer,
	   EXISTS (SELECT FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
				WHERE a.grantee = 0) AS public_may_execute
  FROM pg_proc p
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'cruddur')
 ORDER BY p.proname;

SET ROLE cruddur_test_nobody;
SELECT cruddur_register_user(:'event');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT cruddur_create_activity('00000000-0000-4000-8000-00000000beef', 'hello');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT cruddur_create_reply('00000000-0000-4000-8000-00000000beef', '00000000-0000-7000-8000-000000000001', 'hi');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT cruddur_update_profile('00000000-0000-4000-8000-00000000beef', 'Name', 'bio');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT cruddur_activities_counts();
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT cruddur_activities_replies_count_reset();
\echo sqlstate :LAST_ERROR_SQLSTATE

--
-- "PUBLIC has no privilege on the tables".
--
SELECT * FROM users;
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT * FROM activities;
\echo sqlstate :LAST_ERROR_SQLSTATE
INSERT INTO users (display_name, handle, email, cognito_user_id) VALUES ('x', 'x', 'x', 'x');
\echo sqlstate :LAST_ERROR_SQLSTATE

--
-- "cruddur_uuid_v7() stays executable by PUBLIC (it is a column default)".
--
SELECT substr(cruddur_uuid_v7()::text, 15, 1) AS uuid_version;
RESET ROLE;

SELECT grantee::regrole::text AS grantee, privilege_type
  FROM pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
 WHERE p.oid = 'cruddur_uuid_v7()'::regprocedure AND a.grantee = 0;
SELECT c.relname, a.privilege_type
  FROM pg_class c, aclexplode(c.relacl) a
 WHERE c.oid IN ('users'::regclass, 'activities'::regclass) AND a.grantee = 0;

--
-- "A Lambda role granted only cruddur_register_user can register people
-- but cannot read or change a table directly."
--
SET ROLE cruddur_test_lambda;
SELECT cruddur_register_user(:'event') = :'event'::jsonb AS registered;
SELECT cruddur_register_user(:'event') = :'event'::jsonb AS replayed;
SELECT cruddur_register_user('{"triggerSource": "PreSignUp_SignUp", "request": {"userAttributes": {"email": "e@example.com", "preferred_username": "VIA_LAMBDA"}}}');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT * FROM users;
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT * FROM activities;
\echo sqlstate :LAST_ERROR_SQLSTATE
INSERT INTO users (display_name, handle, email, cognito_user_id) VALUES ('x', 'x', 'x', 'x');
\echo sqlstate :LAST_ERROR_SQLSTATE
UPDATE users SET bio = 'changed';
\echo sqlstate :LAST_ERROR_SQLSTATE
DELETE FROM users;
\echo sqlstate :LAST_ERROR_SQLSTATE
TRUNCATE users CASCADE;
\echo sqlstate :LAST_ERROR_SQLSTATE
INSERT INTO activities (user_uuid, message) VALUES ('00000000-0000-7000-8000-000000000001', 'm');
\echo sqlstate :LAST_ERROR_SQLSTATE
-- nor the app's writes
SELECT cruddur_create_activity('00000000-0000-4000-8000-00000000beef', 'hello');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT cruddur_update_profile('00000000-0000-4000-8000-00000000beef', 'Name', 'bio');
\echo sqlstate :LAST_ERROR_SQLSTATE
RESET ROLE;
-- the row the Lambda registered through the function
SELECT handle, display_name, email, cognito_user_id FROM users;

--
-- "Reads need SELECT on the tables": a role granted SELECT reads, and
-- that is all it can do.
--
SET ROLE cruddur_test_reader;
SELECT handle, display_name FROM users;
SELECT count(*) AS activities FROM activities;
UPDATE users SET bio = 'changed';
\echo sqlstate :LAST_ERROR_SQLSTATE
INSERT INTO users (display_name, handle, email, cognito_user_id) VALUES ('x', 'x', 'x', 'x');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT cruddur_register_user(:'event');
\echo sqlstate :LAST_ERROR_SQLSTATE
RESET ROLE;

--
-- The app role of the README: its three writes and SELECT, nothing more.
--
SELECT f AS function,
	   has_function_privilege('cruddur_test_app', f, 'EXECUTE') AS app,
	   has_function_privilege('cruddur_test_lambda', f, 'EXECUTE') AS lambda,
	   has_function_privilege('cruddur_test_reader', f, 'EXECUTE') AS reader,
	   has_function_privilege('cruddur_test_nobody', f, 'EXECUTE') AS nobody
  FROM unnest(ARRAY['cruddur_register_user(jsonb)', 'cruddur_create_activity(text,text,text)',
					'cruddur_create_reply(text,uuid,text)', 'cruddur_update_profile(text,text,text)',
					'cruddur_uuid_v7()']) f;
SELECT t AS "table", p AS privilege,
	   has_table_privilege('cruddur_test_app', t, p) AS app,
	   has_table_privilege('cruddur_test_lambda', t, p) AS lambda,
	   has_table_privilege('cruddur_test_reader', t, p) AS reader,
	   has_table_privilege('cruddur_test_nobody', t, p) AS nobody
  FROM unnest(ARRAY['users', 'activities']) t,
	   unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) p;
SET ROLE cruddur_test_app;
SELECT handle FROM users;
SELECT cruddur_register_user(:'event');
\echo sqlstate :LAST_ERROR_SQLSTATE
UPDATE users SET bio = 'changed';
\echo sqlstate :LAST_ERROR_SQLSTATE
RESET ROLE;

-- leave the database and the cluster as we found them
DELETE FROM users;
DROP OWNED BY cruddur_test_nobody, cruddur_test_lambda, cruddur_test_reader, cruddur_test_app;
DROP ROLE cruddur_test_nobody, cruddur_test_lambda, cruddur_test_reader, cruddur_test_app;
