-- pgTAP: cruddur_register_user(event jsonb), issue 2 section 4, as
-- assertions (sql/register_user.sql shows the same behaviour as output).
BEGIN;
CREATE EXTENSION pgtap;
CREATE EXTENSION cruddur;
SET client_min_messages = warning;

SELECT plan(103);

CREATE FUNCTION pg_temp.ev(trigger text, attrs jsonb) RETURNS jsonb
LANGUAGE sql AS $$
	SELECT CASE WHEN trigger IS NULL THEN '{}' ELSE jsonb_build_object('triggerSource', trigger) END
		   || jsonb_build_object('request', jsonb_build_object('userAttributes', attrs))
$$;
CREATE FUNCTION pg_temp.sub(n int) RETURNS text
LANGUAGE sql AS $$ SELECT '00000000-0000-4000-8000-' || lpad(n::text, 12, '0') $$;
-- register person n (Post Confirmation) and return the handle of their row
CREATE FUNCTION pg_temp.handle_of(n int, attrs jsonb) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM cruddur_register_user(pg_temp.ev('PostConfirmation_ConfirmSignUp',
											 jsonb_build_object('sub', pg_temp.sub(n)) || attrs));
	RETURN (SELECT handle FROM users WHERE cognito_user_id = pg_temp.sub(n));
END
$$;

-- the declaration
SELECT has_function('cruddur_register_user', ARRAY['jsonb']);
SELECT function_returns('cruddur_register_user', ARRAY['jsonb'], 'jsonb');
SELECT is_definer('cruddur_register_user', ARRAY['jsonb']);
SELECT volatility_is('cruddur_register_user', ARRAY['jsonb'], 'volatile');
SELECT isnt_strict('cruddur_register_user', ARRAY['jsonb'], 'called on NULL input: a NULL event is an error, not a NULL result');

-- the real captured events
\set signup `cat test/fixtures/cognito/post-confirmation-signup.json`
\set reset `cat test/fixtures/cognito/post-confirmation-forgot-password.json`
\set presignup `cat test/fixtures/cognito/pre-signup.json`
SELECT is(cruddur_register_user(:'signup'), :'signup'::jsonb, 'the captured sign-up event comes back unchanged');
SELECT results_eq(
	$$SELECT display_name, handle, email, cognito_user_id, bio FROM users$$,
	$$VALUES ('Firsty Lasty'::text, 'firsty_lasty_01'::text, 'firsty_lasty@email.com'::text,
			  'e5a9858f-6a5f-48b2-bf2f-a39fb9b81234'::text, NULL::text)$$,
	'the captured sign-up registers its person');
SELECT is((SELECT created_at FROM users), now() AT TIME ZONE 'UTC', 'created_at is the transaction''s now() in UTC');

-- replays
UPDATE users SET display_name = 'Changed', bio = 'bio' WHERE handle = 'firsty_lasty_01';
CREATE TEMP TABLE before_replay AS SELECT * FROM users;
SELECT is(cruddur_register_user(:'signup'), :'signup'::jsonb, 'a replay comes back unchanged');
SELECT is(cruddur_register_user(:'reset'), :'reset'::jsonb, 'a password reset comes back unchanged');
SELECT lives_ok(format('SELECT cruddur_register_user(%L)',
	pg_temp.ev(NULL, '{"sub": "{E5A9858F-6A5F-48B2-BF2F-A39FB9B81234}", "email": "x@example.com", "preferred_username": "x", "name": "X"}')),
	'a replay with the sub spelled otherwise');
SELECT set_eq('SELECT * FROM users', 'SELECT * FROM before_replay', 'replays and the reset changed nothing (display name and bio the app set are kept)');

-- a password reset for a person without a row
SELECT is(cruddur_register_user(e), e, 'a password reset for a new person comes back unchanged')
  FROM pg_temp.ev('PostConfirmation_ConfirmForgotPassword', jsonb_build_object('sub', pg_temp.sub(1), 'email', 'r@example.com', 'preferred_username', 'reset_new', 'name', 'Reset New')) e;
SELECT results_eq(format('SELECT handle, display_name, email FROM users WHERE cognito_user_id = %L', pg_temp.sub(1)),
	$$VALUES ('reset_new', 'Reset New', 'r@example.com')$$, 'a password reset registers a person without a row');
SELECT is(pg_temp.handle_of(2, '{"email": "nt@example.com", "preferred_username": "no_trigger"}') , 'no_trigger', 'no triggerSource registers');
SELECT is((SELECT count(*)::int FROM users WHERE cognito_user_id = pg_temp.sub(2)), 1, 'exactly one row');

-- collisions, case variants included
SELECT is(pg_temp.handle_of(10, '{"email": "b1@example.com", "preferred_username": "Bob"}'), 'Bob', 'a free handle is taken as requested');
SELECT is(pg_temp.handle_of(11, '{"email": "b2@example.com", "preferred_username": "bob"}'), 'bob_2', '"bob" next to "Bob" gets bob_2');
SELECT is(pg_temp.handle_of(12, '{"email": "b3@example.com", "preferred_username": "BOB"}'), 'BOB_3', '"BOB" next to Bob and bob_2 gets BOB_3');
SELECT is(pg_temp.handle_of(11, '{"email": "b2@example.com", "preferred_username": "bob"}'), 'bob_2', 'a replay keeps the derived handle');
SELECT is((SELECT count(*)::int FROM users WHERE lower(handle) LIKE 'bob%'), 3, 'three Bobs, no more');

-- derived handles, every rule
SELECT is(pg_temp.handle_of(20 + i, jsonb_build_object('email', email) || coalesce(jsonb_build_object('preferred_username', requested), '{}')),
		  expected, format('preferred_username %s, email %s: %s', coalesce(to_json(requested)::text, 'absent'), email, why))
  FROM (VALUES
	(0, ' John  Doe! ', 'j@example.com', 'John_Doe', 'runs of other characters become one _, ends trimmed, case kept'),
	(1, '__x-y__', 'j@example.com', 'x_y', 'leading and trailing _ dropped'),
	(2, 'a_-_b', 'j@example.com', 'a___b', 'existing _ kept, only the run between them replaced'),
	(3, 'Åsa Öberg', 'j@example.com', 'sa_berg', 'a multibyte character is outside the set'),
	(4, NULL, 'Mary.Jane+x@example.com', 'Mary_Jane_x', 'no preferred_username: the email''s local part'),
	(5, '!!!', 'first.last@example.com', 'first_last', 'nothing left: the email''s local part'),
	(6, '', '"q@r"@example.com', 'q_r', 'the local part ends at the last @'),
	(7, '***', '@example.com', 'user', 'nothing left of either: user'),
	(8, NULL, '..@example.com', 'user_2', 'user taken: user_2'),
	(9, 'abcdefghijklmnopqrstuvwxyz_0123456789', 'j@example.com', 'abcdefghijklmnopqrstuvwxyz_01234', 'cut to 32 characters'),
	(10, 'abcdefghijklmnopqrstuvwxyz_0123456789', 'j@example.com', 'abcdefghijklmnopqrstuvwxyz_012_2', 'the base is cut so that _2 fits in 32'),
	(11, 'bob!', 'j@example.com', 'bob_4', 'a derived handle that is taken is numbered too')
  ) AS t(i, requested, email, expected, why)
 ORDER BY i;
SELECT is(pg_temp.handle_of(40, jsonb_build_object('email', 'j@example.com', 'preferred_username', repeat('z', 32))), repeat('z', 32), 'a 32-character handle');
SELECT is(array_agg(pg_temp.handle_of(41 + i, jsonb_build_object('email', 'j@example.com', 'preferred_username', repeat('z', 32))) ORDER BY i),
		  ARRAY[repeat('z', 30) || '_2', repeat('z', 30) || '_3', repeat('z', 30) || '_4', repeat('z', 30) || '_5',
				repeat('z', 30) || '_6', repeat('z', 30) || '_7', repeat('z', 30) || '_8', repeat('z', 30) || '_9',
				repeat('z', 29) || '_10', repeat('z', 29) || '_11'],
		  'taken again and again: _2 .. _9 on 30 characters, _10 and on on 29')
  FROM generate_series(0, 9) i;

-- display name
SELECT is((SELECT display_name FROM users WHERE cognito_user_id = pg_temp.sub(20)), 'John_Doe', 'no name: the handle registered under');
SELECT is(pg_temp.handle_of(60, '{"email": "n@example.com", "preferred_username": "Bob", "name": " \t "}'), 'Bob_5', 'registered as Bob_5');
SELECT is((SELECT display_name FROM users WHERE cognito_user_id = pg_temp.sub(60)), 'Bob_5', 'blank name: the handle registered under, not the one requested');
SELECT is(pg_temp.handle_of(61, '{"email": "n@example.com", "preferred_username": "named", "name": null}'), 'named', 'null name');
-- blank is Unicode White_Space, as for cruddur_update_profile: a name of
-- no-break and ideographic spaces is no name, and a blank email is refused
SELECT is(pg_temp.handle_of(66, jsonb_build_object('email', 'n@example.com', 'preferred_username', 'nbsp',
												   'name', E'\u00a0\u3000\u00a0')), 'nbsp', 'registered as nbsp');
SELECT is((SELECT display_name FROM users WHERE cognito_user_id = pg_temp.sub(66)), 'nbsp',
		  'a name of only no-break spaces: the handle, a display name cruddur_update_profile would take');
SELECT throws_ok(format('SELECT cruddur_register_user(%L::jsonb)',
						pg_temp.ev('PreSignUp_SignUp', jsonb_build_object('email', E'\u2028\u00a0'))),
				 '22023', 'invalid Cognito event: request.userAttributes.email must be a non-blank string',
				 'an email of only Unicode white space is blank');
SELECT is((SELECT display_name FROM users WHERE cognito_user_id = pg_temp.sub(61)), 'named', 'JSON null name: the handle');
SELECT is(pg_temp.handle_of(62, '{"email": "n@example.com", "preferred_username": "named2", "name": " Ada "}'), 'named2', 'named');
SELECT is((SELECT display_name FROM users WHERE cognito_user_id = pg_temp.sub(62)), ' Ada ', 'the name as sent');

-- ignored keys
SELECT is(pg_temp.handle_of(63, '{"email": "k@example.com", "preferred_username": "keys", "email_verified": false,
	"cognito:user_status": 3, "custom:x": [1], "phone_number": {"a": 1}}'), 'keys', 'other attributes are ignored whatever they hold');
SELECT is(cruddur_register_user(e), e, 'clientMetadata, response and other top-level keys are ignored')
  FROM (SELECT pg_temp.ev('PostConfirmation_ConfirmSignUp', jsonb_build_object('sub', pg_temp.sub(64), 'email', 'k@example.com'))
			   || '{"clientMetadata": [1], "response": {"autoConfirmUser": true}, "version": 2}' AS e) s;

-- Pre sign-up: checks only
CREATE TEMP TABLE before_presignup AS SELECT * FROM users;
SELECT is(cruddur_register_user(:'presignup'), :'presignup'::jsonb, 'the captured Pre sign-up event passes and comes back');
SELECT is(cruddur_register_user(e), e, format('%s without preferred_username passes', t))
  FROM unnest(ARRAY['PreSignUp_SignUp', 'PreSignUp_AdminCreateUser', 'PreSignUp_ExternalProvider']) t,
	   pg_temp.ev(t, '{"email": "p@example.com"}') e;
SELECT is(cruddur_register_user(e), e, 'a free handle passes, any sub is ignored')
  FROM pg_temp.ev('PreSignUp_ExternalProvider', '{"email": "p@example.com", "preferred_username": "free", "sub": 12}') e;
SELECT throws_ok(format('SELECT cruddur_register_user(%L)', pg_temp.ev(t, jsonb_build_object('email', 'p@example.com', 'preferred_username', h))),
				 '23505', format('handle "%s" is already taken', h), format('%s: taken handle %s', t, h))
  FROM (VALUES ('PreSignUp_SignUp', 'bob'), ('PreSignUp_AdminCreateUser', 'BOB_3'), ('PreSignUp_ExternalProvider', 'FIRSTY_LASTY_01')) v(t, h);
SELECT throws_ok(format('SELECT cruddur_register_user(%L)', pg_temp.ev('PreSignUp_SignUp', jsonb_build_object('email', 'p@example.com', 'preferred_username', h))),
				 '22023', format('handle "%s" is not valid: a handle is 1 to 32 letters, digits or underscores', h), format('invalid handle %L', h))
  FROM unnest(ARRAY['', 'bob smith', 'bøb', repeat('a', 33)]) h;
SELECT throws_ok(format('SELECT cruddur_register_user(%L)', pg_temp.ev('PreSignUp_SignUp', a)),
				 '22023', 'invalid Cognito event: request.userAttributes.email must be a non-blank string', format('Pre sign-up with email %s', coalesce((a->'email')::text, 'absent')))
  FROM unnest(ARRAY['{"preferred_username": "free"}', '{"email": null}', '{"email": "  "}']::jsonb[]) a;
SELECT set_eq('SELECT * FROM users', 'SELECT * FROM before_presignup', 'Pre sign-up events inserted nothing');

-- malformed events: 22023 naming the field, and no row
SELECT throws_ok(format('SELECT cruddur_register_user(%s)', coalesce(quote_literal(e), 'NULL')), '22023', m, d)
  FROM (VALUES
	(NULL, 'invalid Cognito event: the event must be a JSON object', 'SQL NULL'),
	('[]', 'invalid Cognito event: the event must be a JSON object', 'an array'),
	('"x"', 'invalid Cognito event: the event must be a JSON object', 'a string'),
	('null', 'invalid Cognito event: the event must be a JSON object', 'JSON null'),
	('{}', 'invalid Cognito event: request must be a JSON object', 'no request'),
	('{"request": [1]}', 'invalid Cognito event: request must be a JSON object', 'request an array'),
	('{"request": {}}', 'invalid Cognito event: request.userAttributes must be a JSON object', 'no userAttributes'),
	('{"request": {"userAttributes": null}}', 'invalid Cognito event: request.userAttributes must be a JSON object', 'userAttributes null'),
	('{"request": {"userAttributes": 1}}', 'invalid Cognito event: request.userAttributes must be a JSON object', 'userAttributes a number'),
	('{"request": {"userAttributes": {"sub": true, "email": "m@x"}}}', 'invalid Cognito event: request.userAttributes.sub must be a string', 'sub a boolean'),
	('{"request": {"userAttributes": {"sub": "00000000-0000-4000-8000-000000000099", "email": 5}}}', 'invalid Cognito event: request.userAttributes.email must be a string', 'email a number'),
	('{"request": {"userAttributes": {"sub": "00000000-0000-4000-8000-000000000099", "email": "m@x", "preferred_username": ["a"]}}}', 'invalid Cognito event: request.userAttributes.preferred_username must be a string', 'preferred_username an array'),
	('{"request": {"userAttributes": {"sub": "00000000-0000-4000-8000-000000000099", "email": "m@x", "name": {}}}}', 'invalid Cognito event: request.userAttributes.name must be a string', 'name an object'),
	('{"request": {"userAttributes": {"email": "m@x"}}}', 'invalid Cognito event: request.userAttributes.sub must be a UUID', 'no sub'),
	('{"request": {"userAttributes": {"sub": "not-a-uuid", "email": "m@x"}}}', 'invalid Cognito event: request.userAttributes.sub must be a UUID', 'sub not a UUID'),
	('{"request": {"userAttributes": {"sub": "00000000-0000-4000-8000-000000000099"}}}', 'invalid Cognito event: request.userAttributes.email must be a non-blank string', 'no email'),
	('{"request": {"userAttributes": {"sub": "00000000-0000-4000-8000-000000000099", "email": "\n"}}}', 'invalid Cognito event: request.userAttributes.email must be a non-blank string', 'blank email'),
	('{"triggerSource": "CustomMessage_SignUp", "request": {"userAttributes": {"sub": "00000000-0000-4000-8000-000000000099", "email": "m@x"}}}', 'invalid Cognito event: triggerSource "CustomMessage_SignUp" is not supported', 'unknown triggerSource'),
	('{"triggerSource": 1, "request": {"userAttributes": {"sub": "00000000-0000-4000-8000-000000000099", "email": "m@x"}}}', 'invalid Cognito event: triggerSource must be a string', 'triggerSource a number')
  ) v(e, m, d);
SELECT throws_ok(format('SELECT cruddur_register_user(%L)',
						pg_temp.ev(NULL, jsonb_build_object('sub', pg_temp.sub(99), 'email', 'm@x') || jsonb_build_object(k, repeat('é', 2049)))),
				 '22023', format('invalid Cognito event: request.userAttributes.%s is longer than 2048 characters', k), format('%s over 2048 characters', k))
  FROM unnest(ARRAY['sub', 'email', 'preferred_username', 'name']) k;
SELECT is(pg_temp.handle_of(65, jsonb_build_object('email', repeat('é', 2040) || '@x', 'preferred_username', 'max_len', 'name', repeat('n', 2048))),
		  'max_len', 'values of exactly 2048 characters are accepted');
SELECT is((SELECT count(*)::int FROM users WHERE cognito_user_id = pg_temp.sub(99)), 0, 'no row after any of those errors');

-- the sub: exactly the spellings uuid_in accepts, stored as uuid_out writes them
CREATE FUNCTION pg_temp.stored_sub(s text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	stored text;
BEGIN
	BEGIN
		PERFORM cruddur_register_user(pg_temp.ev(NULL, jsonb_build_object('sub', s, 'email', 'spell@x', 'preferred_username', 'spell')));
		SELECT cognito_user_id INTO stored FROM users WHERE email = 'spell@x';
		RAISE EXCEPTION 'undo';
	EXCEPTION
		WHEN raise_exception THEN RETURN stored;
		WHEN invalid_parameter_value THEN RETURN 'invalid';
	END;
END
$$;
CREATE FUNCTION pg_temp.uuid_says(s text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
	RETURN s::uuid::text;
EXCEPTION WHEN invalid_text_representation THEN
	RETURN 'invalid';
END
$$;
SELECT is(pg_temp.stored_sub(s), pg_temp.uuid_says(s), format('sub %L as ::uuid reads it', s))
  FROM unnest(ARRAY[
	'6ba7b810-9dad-11d1-80b4-00c04fd430c8', '6BA7B810-9DAD-11D1-80B4-00C04FD430C8',
	'{6ba7b810-9dad-11d1-80b4-00c04fd430c8}', '6ba7b8109dad11d180b400c04fd430c8',
	'6ba7-b810-9dad-11d1-80b4-00c0-4fd4-30c8', '{6ba7b8109dad11d180b400c04fd430c8}',
	'6ba7b810-9dad-11d1-80b4-00c04fd430c8-', '6ba7b81-09dad-11d1-80b4-00c04fd430c8',
	'6ba7b810--9dad-11d1-80b4-00c04fd430c8', '{6ba7b810-9dad-11d1-80b4-00c04fd430c8',
	'6ba7b810-9dad-11d1-80b4-00c04fd430c8}', '6ba7b810-9dad-11d1-80b4-00c04fd430c', '',
	' 6ba7b810-9dad-11d1-80b4-00c04fd430c8', '6ba7b810-9dad-11d1-80b4-00c04fd430cz']) s;

SELECT * FROM finish();
ROLLBACK;
