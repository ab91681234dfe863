-- bin/demo.sql: what bin/demo runs inside its throwaway cluster.
\pset format unaligned
\pset tuples_only on
\set event `cat test/fixtures/cognito/post-confirmation-signup.json`

CREATE EXTENSION cruddur;

\echo '-- SELECT cruddur_register_user(<Cognito PostConfirmation_ConfirmSignUp event>) returns the event:'
SELECT cruddur_register_user(:'event'::jsonb);

\echo '-- a replay (Cognito retries) changes nothing; users now holds:'
SELECT cruddur_register_user(:'event'::jsonb) IS NOT NULL AS replayed \gset
SELECT jsonb_pretty(jsonb_agg(to_jsonb(u))) FROM users u;

\echo '-- the person posts a crud (cruddur_create_activity returns it):'
SELECT cruddur_create_activity(:'event'::jsonb #>> '{request,userAttributes,sub}', 'Hello, Cruddur!', '1-day');

\echo '-- and the home feed (cruddur_home_feed, byte-identical to row_to_json) shows it:'
SELECT cruddur_home_feed();
