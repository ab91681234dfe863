--
-- cruddur_register_user(event jsonb): registration from Cognito events
-- (issue 2, section 4).  Runs in autocommit, as the Lambda does, so that
-- "no row after an error" is what a caller would see; deletes its rows at
-- the end.  After each statement that must fail, the SQLSTATE is echoed.
--
\set SHOW_CONTEXT never
\set VERBOSITY default

-- an event with request.userAttributes = attrs; no triggerSource when NULL
CREATE FUNCTION pg_temp.ev(trigger text, attrs jsonb) RETURNS jsonb
LANGUAGE sql AS $$
	SELECT CASE WHEN trigger IS NULL THEN '{}' ELSE jsonb_build_object('triggerSource', trigger) END
		   || jsonb_build_object('request', jsonb_build_object('userAttributes', attrs))
$$;
-- the sub of person n
CREATE FUNCTION pg_temp.sub(n int) RETURNS text
LANGUAGE sql AS $$ SELECT '00000000-0000-4000-8000-' || lpad(n::text, 12, '0') $$;
-- register person n with these attributes (a sub of its own unless attrs has one),
-- say whether the event came back unchanged, and show the row of that sub
CREATE FUNCTION pg_temp.reg(n int, attrs jsonb, trigger text DEFAULT 'PostConfirmation_ConfirmSignUp',
							OUT unchanged boolean, OUT handle text, OUT display_name text, OUT email text)
LANGUAGE plpgsql AS $$
DECLARE
	e jsonb := pg_temp.ev(trigger, jsonb_build_object('sub', pg_temp.sub(n)) || attrs);
BEGIN
	unchanged := cruddur_register_user(e) = e;
	SELECT u.handle, u.display_name, u.email INTO handle, display_name, email
	  FROM users u WHERE u.cognito_user_id = (e #>> '{request,userAttributes,sub}')::uuid::text;
END
$$;

--
-- The real captured Post Confirmation event: the event comes back as it
-- went in, and the person is registered with the canonical sub.
--
\set signup `cat test/fixtures/cognito/post-confirmation-signup.json`
\set reset `cat test/fixtures/cognito/post-confirmation-forgot-password.json`
\set presignup `cat test/fixtures/cognito/pre-signup.json`
SELECT cruddur_register_user(:'signup') = :'signup'::jsonb AS unchanged,
	   cruddur_register_user(:'signup')::text = (:'signup'::jsonb)::text AS same_text;
SELECT display_name, handle, email, cognito_user_id, bio,
	   created_at BETWEEN (now() AT TIME ZONE 'UTC') - interval '1 minute' AND (now() AT TIME ZONE 'UTC') AS created_now_utc,
	   substr(uuid::text, 15, 1) AS uuid_version
  FROM users;
CREATE TEMP TABLE first_row AS SELECT * FROM users;

--
-- Replays never change the row, even after the app changed it: the same
-- event, the same sub spelled otherwise, and a password reset.
--
UPDATE users SET display_name = 'Changed By App', bio = 'my bio' WHERE handle = 'firsty_lasty_01';
SELECT cruddur_register_user(:'signup') = :'signup'::jsonb AS unchanged;
SELECT cruddur_register_user(:'reset') = :'reset'::jsonb AS unchanged;
SELECT * FROM pg_temp.reg(0, '{"sub": "{E5A9858F6A5F48B2BF2FA39FB9B81234}", "email": "other@email.com",
						 "preferred_username": "someone_else", "name": "Someone Else"}');
SELECT count(*) AS rows, bool_and(u.uuid = f.uuid AND u.created_at = f.created_at AND u.email = f.email) AS same_row,
	   min(u.display_name) AS display_name, min(u.bio) AS bio
  FROM users u JOIN first_row f USING (cognito_user_id);
SELECT count(*) AS users FROM users;

--
-- A password-reset event for a person without a row registers them.
--
SELECT * FROM pg_temp.reg(1, '{"email": "reset@example.com", "preferred_username": "reset_person", "name": "Reset Person"}',
					'PostConfirmation_ConfirmForgotPassword');
-- no triggerSource at all registers too
SELECT * FROM pg_temp.reg(2, '{"email": "notrigger@example.com", "preferred_username": "no_trigger"}', NULL);
-- and a JSON null triggerSource counts as absent
SELECT cruddur_register_user('{"triggerSource": null, "request": {"userAttributes":
		{"sub": "00000000-0000-4000-8000-000000000003", "email": "n@example.com", "preferred_username": "null_trigger"}}}')
	   ->> 'triggerSource' IS NULL AS returned;
SELECT handle FROM users WHERE cognito_user_id = pg_temp.sub(3);

--
-- Every other key is ignored, whatever it holds.
--
SELECT * FROM pg_temp.reg(4, '{"email": "keys@example.com", "preferred_username": "other_keys", "name": "Other Keys",
						 "email_verified": true, "cognito:user_status": 1, "custom:role": {"a": [1]},
						 "phone_number": null}');
SELECT cruddur_register_user(e) = e AS unchanged
  FROM (SELECT pg_temp.ev('PostConfirmation_ConfirmSignUp',
						  jsonb_build_object('sub', pg_temp.sub(5), 'email', 'extra@example.com',
											 'preferred_username', 'extra_keys', 'email_verified', 'false'))
			   || '{"clientMetadata": {"k": "v"}, "response": {"x": [1, 2]}, "version": 1}' AS e) s;
SELECT handle FROM users WHERE cognito_user_id = pg_temp.sub(5);

--
-- Handle collisions, regardless of ASCII case: the person is registered
-- under the requested handle with _2, _3, ... and a NOTICE says so.
--
SELECT * FROM pg_temp.reg(10, '{"email": "bob@example.com", "preferred_username": "Bob", "name": "Bob"}');
SELECT * FROM pg_temp.reg(11, '{"email": "bob2@example.com", "preferred_username": "bob", "name": "Other Bob"}');
SELECT * FROM pg_temp.reg(12, '{"email": "bob3@example.com", "preferred_username": "BOB"}');
SELECT * FROM pg_temp.reg(13, '{"email": "bob4@example.com", "preferred_username": "bob_2"}');
-- replaying a person registered under a derived handle changes nothing and says nothing
SELECT * FROM pg_temp.reg(11, '{"email": "bob2@example.com", "preferred_username": "bob", "name": "Other Bob"}');
SELECT handle, display_name FROM users WHERE lower(handle) LIKE 'bob%' ORDER BY cognito_user_id;

--
-- Derived handles: runs of characters outside [A-Za-z0-9_] become one _,
-- leading and trailing _ are dropped, case is kept; then the email's local
-- part; then "user".
--
SELECT * FROM pg_temp.reg(20, '{"email": "d1@example.com", "preferred_username": "  Jöhn   Doe!! "}');
SELECT * FROM pg_temp.reg(21, '{"email": "d2@example.com", "preferred_username": "__a b__"}');
SELECT * FROM pg_temp.reg(22, '{"email": "d3@example.com", "preferred_username": "x_!?_y"}');
SELECT * FROM pg_temp.reg(23, '{"email": "d4@example.com", "preferred_username": "日本語ab日本語cd日本語"}');
-- missing, JSON null, blank and nothing-left requests use the email's local part
SELECT * FROM pg_temp.reg(24, '{"email": "Mary.Jane+cruddur@example.com"}');
SELECT * FROM pg_temp.reg(25, '{"email": "first.last@example.com", "preferred_username": null}');
SELECT * FROM pg_temp.reg(26, '{"email": "first.last@other.example", "preferred_username": "   "}');
SELECT * FROM pg_temp.reg(27, '{"email": "\"a@b\"@example.com", "preferred_username": "!!!"}');
SELECT * FROM pg_temp.reg(28, '{"email": "no-at-sign", "preferred_username": ""}');
-- nothing left of either: "user", then "user_2"
SELECT * FROM pg_temp.reg(29, '{"email": "@example.com", "preferred_username": "..."}');
SELECT * FROM pg_temp.reg(30, '{"email": "++@example.com"}');
-- the derived base is itself taken: numbered like a requested one
SELECT * FROM pg_temp.reg(31, '{"email": "d5@example.com", "preferred_username": "Bob!"}');
-- too long: cut to 32 characters
SELECT * FROM pg_temp.reg(32, '{"email": "d6@example.com", "preferred_username": "abcdefghijklmnopqrstuvwxyz0123456789"}');
SELECT * FROM pg_temp.reg(33, jsonb_build_object('email', repeat('e', 40) || '@example.com'));

--
-- The 32-character cut with the suffix: the 32-character handle person 32
-- holds, requested again and again, gets _2 .. _9 on its first 30
-- characters, then _10, _11, ... on its first 29.
--
SELECT i, r.handle, length(r.handle)
  FROM generate_series(0, 10) i,
	   pg_temp.reg(40 + i, '{"email": "long@example.com", "preferred_username": "abcdefghijklmnopqrstuvwxyz012345"}') r;

--
-- Display name: "name", or the handle registered under when it is absent,
-- JSON null or blank.
--
SELECT * FROM pg_temp.reg(60, '{"email": "n1@example.com", "preferred_username": "named", "name": "  Ada  Lovelace "}');
SELECT * FROM pg_temp.reg(61, '{"email": "n2@example.com", "preferred_username": "no_name"}');
SELECT * FROM pg_temp.reg(62, '{"email": "n3@example.com", "preferred_username": "null_name", "name": null}');
SELECT * FROM pg_temp.reg(63, E'{"email": "n4@example.com", "preferred_username": "NO_NAME", "name": " \\t\\n "}');
-- values of 2048 characters (4096 bytes here) are accepted
SELECT (pg_temp.reg(64, jsonb_build_object('email', 'long@example.com', 'preferred_username', 'long_name',
										   'name', repeat('é', 2048)))).unchanged;
SELECT length(display_name), octet_length(display_name) FROM users WHERE cognito_user_id = pg_temp.sub(64);

--
-- Pre sign-up events only check: a free handle, no handle, a null one pass
-- and return the event; nothing is inserted.
--
SELECT count(*) AS users_before FROM users \gset
SELECT cruddur_register_user(:'presignup') = :'presignup'::jsonb AS unchanged;
SELECT * FROM pg_temp.reg(70, '{"email": "p@example.com"}', 'PreSignUp_SignUp');
SELECT * FROM pg_temp.reg(71, '{"email": "p@example.com", "preferred_username": null}', 'PreSignUp_AdminCreateUser');
SELECT * FROM pg_temp.reg(72, '{"email": "p@example.com", "preferred_username": "free_handle"}', 'PreSignUp_ExternalProvider');
-- Cognito sends no sub yet: none, or anything, is fine
SELECT cruddur_register_user(e) = e AS unchanged
  FROM pg_temp.ev('PreSignUp_SignUp', '{"email": "p@example.com", "preferred_username": "x1"}') e;
SELECT cruddur_register_user(e) = e AS unchanged
  FROM pg_temp.ev('PreSignUp_SignUp', '{"sub": "not a uuid", "email": "p@example.com", "preferred_username": "x2"}') e;
-- a taken handle, in any case, is refused with 23505
SELECT cruddur_register_user(pg_temp.ev('PreSignUp_SignUp', '{"email": "p@example.com", "preferred_username": "bOB"}'));
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT cruddur_register_user(pg_temp.ev('PreSignUp_AdminCreateUser', '{"email": "p@example.com", "preferred_username": "FIRSTY_LASTY_01"}'));
\echo sqlstate :LAST_ERROR_SQLSTATE
-- an invalid handle is refused with 22023, not derived
SELECT cruddur_register_user(pg_temp.ev('PreSignUp_SignUp', '{"email": "p@example.com", "preferred_username": "bob smith"}'));
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT cruddur_register_user(pg_temp.ev('PreSignUp_SignUp', '{"email": "p@example.com", "preferred_username": ""}'));
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT cruddur_register_user(pg_temp.ev('PreSignUp_ExternalProvider', '{"email": "p@example.com", "preferred_username": "abcdefghijklmnopqrstuvwxyz0123456"}'));
\echo sqlstate :LAST_ERROR_SQLSTATE
-- a missing or blank email is refused
SELECT cruddur_register_user(pg_temp.ev('PreSignUp_SignUp', '{"preferred_username": "free_handle"}'));
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT cruddur_register_user(pg_temp.ev('PreSignUp_SignUp', '{"email": " ", "preferred_username": "free_handle"}'));
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT count(*) - :users_before AS inserted FROM users;

--
-- Malformed events: 22023 naming the field, and no row.
--
-- SQL NULL, and JSON that is not an object
SELECT cruddur_register_user(NULL);
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT cruddur_register_user('null');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT cruddur_register_user('[{"request": {}}]');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT cruddur_register_user('"PostConfirmation_ConfirmSignUp"');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT cruddur_register_user('42');
\echo sqlstate :LAST_ERROR_SQLSTATE
-- request and request.userAttributes missing or not objects
SELECT cruddur_register_user('{"triggerSource": "PostConfirmation_ConfirmSignUp"}');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT cruddur_register_user('{"request": null}');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT cruddur_register_user('{"request": [{"userAttributes": {}}]}');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT cruddur_register_user('{"request": "x"}');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT cruddur_register_user('{"request": {}}');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT cruddur_register_user('{"request": {"userAttributes": "sub"}}');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT cruddur_register_user('{"request": {"userAttributes": true}}');
\echo sqlstate :LAST_ERROR_SQLSTATE
-- a used attribute that is not a string
SELECT cruddur_register_user(pg_temp.ev(NULL, '{"sub": 123, "email": "m@example.com"}'));
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT cruddur_register_user(pg_temp.ev(NULL, '{"sub": "00000000-0000-4000-8000-000000000090", "email": ["m@example.com"]}'));
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT cruddur_register_user(pg_temp.ev(NULL, '{"sub": "00000000-0000-4000-8000-000000000090", "email": "m@example.com", "preferred_username": false}'));
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT cruddur_register_user(pg_temp.ev(NULL, '{"sub": "00000000-0000-4000-8000-000000000090", "email": "m@example.com", "name": {"given": "x"}}'));
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT cruddur_register_user(pg_temp.ev('PreSignUp_SignUp', '{"email": "m@example.com", "preferred_username": 7}'));
\echo sqlstate :LAST_ERROR_SQLSTATE
-- a missing, null or non-UUID sub
SELECT cruddur_register_user(pg_temp.ev('PostConfirmation_ConfirmSignUp', '{"email": "m@example.com"}'));
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT cruddur_register_user(pg_temp.ev('PostConfirmation_ConfirmForgotPassword', '{"sub": null, "email": "m@example.com"}'));
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT cruddur_register_user(pg_temp.ev(NULL, '{"sub": "e5a9858f-6a5f-48b2-bf2f-a39fb9b8123", "email": "m@example.com"}'));
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT cruddur_register_user(pg_temp.ev(NULL, '{"sub": "", "email": "m@example.com"}'));
\echo sqlstate :LAST_ERROR_SQLSTATE
-- a missing, null or blank email
SELECT cruddur_register_user(pg_temp.ev(NULL, '{"sub": "00000000-0000-4000-8000-000000000090"}'));
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT cruddur_register_user(pg_temp.ev(NULL, '{"sub": "00000000-0000-4000-8000-000000000090", "email": null}'));
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT cruddur_register_user(pg_temp.ev(NULL, '{"sub": "00000000-0000-4000-8000-000000000090", "email": ""}'));
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT cruddur_register_user(pg_temp.ev(NULL, E'{"sub": "00000000-0000-4000-8000-000000000090", "email": " \\t\\r\\n"}'));
\echo sqlstate :LAST_ERROR_SQLSTATE
-- a used value over 2048 characters
SELECT cruddur_register_user(pg_temp.ev(NULL, jsonb_build_object('sub', repeat('0', 2049), 'email', 'm@example.com')));
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT cruddur_register_user(pg_temp.ev(NULL, jsonb_build_object('sub', pg_temp.sub(90), 'email', repeat('é', 2049))));
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT cruddur_register_user(pg_temp.ev(NULL, jsonb_build_object('sub', pg_temp.sub(90), 'email', 'm@example.com',
																  'preferred_username', repeat('x', 2049))));
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT cruddur_register_user(pg_temp.ev(NULL, jsonb_build_object('sub', pg_temp.sub(90), 'email', 'm@example.com',
																  'name', repeat('x', 2049))));
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT cruddur_register_user(pg_temp.ev('PreSignUp_SignUp', jsonb_build_object('email', 'm@example.com',
																			   'name', repeat('x', 5000))));
\echo sqlstate :LAST_ERROR_SQLSTATE
-- an unknown or non-string triggerSource
SELECT cruddur_register_user(pg_temp.ev('CustomMessage_SignUp', jsonb_build_object('sub', pg_temp.sub(90), 'email', 'm@example.com')));
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT cruddur_register_user(pg_temp.ev('postconfirmation_confirmsignup', jsonb_build_object('sub', pg_temp.sub(90), 'email', 'm@example.com')));
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT cruddur_register_user('{"triggerSource": ["PostConfirmation_ConfirmSignUp"], "request": {"userAttributes": {}}}');
\echo sqlstate :LAST_ERROR_SQLSTATE
-- no row for the sub used above, nothing else either
SELECT count(*) - :users_before AS inserted FROM users;

--
-- An error in the same transaction after a registration takes the row
-- with it (no partial registration survives).
--
BEGIN;
SELECT (pg_temp.reg(91, '{"email": "rolled@example.com", "preferred_username": "rolled_back"}')).handle;
SELECT cruddur_register_user(pg_temp.ev(NULL, '{"sub": "00000000-0000-4000-8000-000000000092"}'));
COMMIT;
SELECT count(*) AS rows_of_91 FROM users WHERE cognito_user_id = pg_temp.sub(91);

--
-- The sub parser accepts exactly the spellings PostgreSQL's uuid type
-- accepts, and stores the same canonical text as uuid_out.  Each spelling
-- is registered in a subtransaction of this test that is then undone.
--
CREATE FUNCTION pg_temp.try_sub(s text, OUT uuid_says text, OUT cruddur_says text)
LANGUAGE plpgsql AS $$
BEGIN
	BEGIN
		uuid_says := s::uuid::text;
	EXCEPTION WHEN invalid_text_representation THEN
		uuid_says := 'invalid';
	END;
	BEGIN
		PERFORM cruddur_register_user(pg_temp.ev(NULL, jsonb_build_object('sub', s, 'email', 'spelling@example.com',
																	 'preferred_username', 'spelling')));
		SELECT cognito_user_id INTO cruddur_says FROM users WHERE email = 'spelling@example.com';
		RAISE EXCEPTION 'undo';
	EXCEPTION
		WHEN raise_exception THEN NULL;
		WHEN invalid_parameter_value THEN cruddur_says := 'invalid';
	END;
END
$$;
SELECT s AS spelling, t.uuid_says, t.cruddur_says, t.uuid_says = t.cruddur_says AS agree
  FROM unnest(ARRAY[
	'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
	'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11',
	'a0EEbc99-9C0b-4ef8-BB6d-6bb9bd380A11',
	'{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}',
	'a0eebc999c0b4ef8bb6d6bb9bd380a11',
	'{a0eebc999c0b4ef8bb6d6bb9bd380a11}',
	'a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11',
	'{a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11}',
	'a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11',
	'a0eebc999c0b4ef8bb6d6bb9bd38-0a11',
	'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11-',
	'-a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
	'a0eebc99--9c0b-4ef8-bb6d-6bb9bd380a11',
	'a0eeb-c99-9c0b-4ef8-bb6d-6bb9bd380a11',
	'a0e-ebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
	'{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
	'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}',
	'{{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}}',
	'{a0eebc999c0b4ef8bb6d6bb9bd380a11-}',
	'(a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11)',
	' a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
	'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11 ',
	'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1',
	'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a111',
	'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1g',
	'g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
	'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1１',
	'urn:uuid:a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
	'0xa0eebc999c0b4ef8bb6d6bb9bd380a11',
	'',
	'{}',
	'-'
  ]) s, pg_temp.try_sub(s) t;

-- leave the database as we found it
DELETE FROM users;
