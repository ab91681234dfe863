/*
 * src/cruddur--1.1--1.2.sql -- cruddur 1.1 to 1.2.
 *
 * Reads whose cost is bounded by the page (a kept count of each person's
 * cruds, replies paged), triggers with a fixed search_path, and adopting an
 * existing Cruddur database.
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION cruddur UPDATE TO '1.2'" to load this file. \quit

/*
 * Refuse to add functions beside existing ones of the names 1.2 adds that
 * are not ours (see the same check in cruddur--1.0.sql): an overload
 * planted before the update could catch the app's calls.
 */
DO $$
DECLARE
	clash record;
	what text;
BEGIN
	FOR clash IN
		SELECT n.nspname, p.proname, p.oid AS fn
		  FROM pg_catalog.pg_proc p
		  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace
		 WHERE n.nspname OPERATOR(pg_catalog.=) pg_catalog.current_schema()
		   AND p.proname OPERATOR(pg_catalog.=) ANY (ARRAY['cruddur_activity',
				'cruddur_activities_counts', 'cruddur_users_cruds_count_reset',
				'cruddur_adopt']::pg_catalog.name[])
		   AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
							WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
							  AND d.objid OPERATOR(pg_catalog.=) p.oid
							  AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
							  AND d.deptype OPERATOR(pg_catalog.=) 'e')
	LOOP
		PERFORM pg_catalog.set_config('quote_all_identifiers', 'off', true);
		what := pg_catalog.format('%s(%s)', clash.proname,
								  pg_catalog.pg_get_function_identity_arguments(clash.fn));
		RAISE EXCEPTION 'cannot install cruddur 1.2 because function "%.%" already exists',
			clash.nspname, what
			USING ERRCODE = 'duplicate_function',
				  DETAIL = 'cruddur 1.2 creates its cruddur_* functions in the extension''s schema, and does not take over existing functions of those names. Nothing was changed.',
				  HINT = 'Rename or drop the existing function, then run the command again.';
	END LOOP;
END
$$;

/*
 * users.cruds_count: the number of the person's rows in activities (cruds
 * and replies, expired ones included), which the user feed shows.  1.1
 * counted them on every call, so a person with 200,000 cruds cost 200
 * times one with a few hundred; now it is kept, like replies_count, by the
 * triggers of activities, and read with the person's row.
 *
 * It is exact however rows arrive or leave: a new person starts at 0 (so a
 * restored dump counts afresh as activities load after users); each
 * statement that inserts or deletes activities, cascades from users or
 * from a parent crud included, adds or takes its rows from their people
 * once each, in uuid order; a row moved to another person is counted by a
 * row trigger; TRUNCATE sets every count to 0.  A load with triggers off
 * (session_replication_role = replica, as logical replication applies
 * rows) takes the counts as loaded, and then must recount (README,
 * "Kept counts").
 *
 * Keeping it costs a posting transaction an UPDATE of the author's row,
 * held locked until commit.  Under READ COMMITTED a person's concurrent
 * posts and profile edits queue on it (the UPDATE re-reads the newest
 * version).  Under REPEATABLE READ or SERIALIZABLE the later of two such
 * transactions fails with 40001, as any two updates of one row do.
 */
ALTER TABLE @extschema@.users
	ADD COLUMN cruds_count bigint NOT NULL DEFAULT 0;

COMMENT ON COLUMN @extschema@.users.cruds_count IS
'Number of the person''s activities (cruds and replies), maintained by the activities_cruds_count_* triggers';

/*
 * One trigger function keeps both counts of activities' rows: with no
 * argument, each parent's replies_count (the activities_replies_count_*
 * triggers, as in 1.1); with the argument 'cruds', each person's
 * cruds_count (activities_cruds_count_*).  The rows are updated in uuid
 * order, once each per statement, so that statements touching the same
 * rows queue instead of deadlocking (specs/replies_race.spec).  The
 * triggers fire in name order, so a statement updates the people before
 * the parents.
 *
 * It replaces 1.1's cruddur_activities_replies_count, which ran with
 * search_path = @extschema@, pg_temp and named activities unqualified: this
 * one runs with search_path = pg_catalog, pg_temp and names the tables with
 * their schema, as the writes do.  The replies_count triggers are made
 * again on it, and the old function dropped.
 */
CREATE FUNCTION @extschema@.cruddur_activities_counts()
RETURNS trigger
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cruds boolean := TG_NARGS OPERATOR(pg_catalog.>) 0;
	deltas refcursor;
	counted record;
BEGIN
	IF TG_OP OPERATOR(pg_catalog.=) 'TRUNCATE' THEN
		UPDATE ONLY @extschema@.users
		   SET cruds_count = 0
		 WHERE cruds_count OPERATOR(pg_catalog.<>) 0;
		RETURN NULL;
	END IF;

	-- (uuid of the row counting, change of its count), in uuid order
	IF TG_LEVEL OPERATOR(pg_catalog.=) 'ROW' THEN
		OPEN deltas FOR
			SELECT d.uuid, pg_catalog.sum(d.n) AS n
			  FROM (VALUES (CASE WHEN cruds THEN OLD.user_uuid ELSE OLD.reply_to_activity_uuid END, -1),
						   (CASE WHEN cruds THEN NEW.user_uuid ELSE NEW.reply_to_activity_uuid END, 1))
				   AS d (uuid, n)
			 WHERE d.uuid IS NOT NULL
			 GROUP BY d.uuid
			HAVING pg_catalog.sum(d.n) OPERATOR(pg_catalog.<>) 0
			 ORDER BY d.uuid;
	ELSIF TG_OP OPERATOR(pg_catalog.=) 'INSERT' THEN
		OPEN deltas FOR
			SELECT r.uuid, pg_catalog.count(*) AS n
			  FROM (SELECT CASE WHEN cruds THEN n.user_uuid ELSE n.reply_to_activity_uuid END
					  FROM new_rows n) AS r (uuid)
			 WHERE r.uuid IS NOT NULL
			 GROUP BY r.uuid
			 ORDER BY r.uuid;
	ELSE
		OPEN deltas FOR
			SELECT r.uuid, OPERATOR(pg_catalog.-) pg_catalog.count(*) AS n
			  FROM (SELECT CASE WHEN cruds THEN o.user_uuid ELSE o.reply_to_activity_uuid END
					  FROM old_rows o) AS r (uuid)
			 WHERE r.uuid IS NOT NULL
			 GROUP BY r.uuid
			 ORDER BY r.uuid;
	END IF;
	LOOP
		FETCH deltas INTO counted;
		EXIT WHEN NOT FOUND;
		IF cruds THEN
			UPDATE ONLY @extschema@.users
			   SET cruds_count = cruds_count OPERATOR(pg_catalog.+) counted.n
			 WHERE uuid OPERATOR(pg_catalog.=) counted.uuid;
		ELSE
			UPDATE ONLY @extschema@.activities
			   SET replies_count = replies_count OPERATOR(pg_catalog.+) counted.n::pg_catalog.int4
			 WHERE uuid OPERATOR(pg_catalog.=) counted.uuid;
		END IF;
	END LOOP;
	CLOSE deltas;
	RETURN NULL;
END
$$;

CREATE FUNCTION @extschema@.cruddur_users_cruds_count_reset()
RETURNS trigger
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	NEW.cruds_count := 0;
	RETURN NEW;
END
$$;

ALTER FUNCTION @extschema@.cruddur_activities_replies_count_reset()
	SET search_path = pg_catalog, pg_temp;

DROP TRIGGER activities_replies_count_insert ON @extschema@.activities;
DROP TRIGGER activities_replies_count_delete ON @extschema@.activities;
DROP TRIGGER activities_replies_count_move ON @extschema@.activities;
DROP FUNCTION @extschema@.cruddur_activities_replies_count();

CREATE TRIGGER activities_replies_count_insert
	AFTER INSERT ON @extschema@.activities
	REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.cruddur_activities_counts();

CREATE TRIGGER activities_replies_count_delete
	AFTER DELETE ON @extschema@.activities
	REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.cruddur_activities_counts();

CREATE TRIGGER activities_replies_count_move
	AFTER UPDATE OF reply_to_activity_uuid ON @extschema@.activities
	FOR EACH ROW EXECUTE FUNCTION @extschema@.cruddur_activities_counts();

CREATE TRIGGER users_cruds_count_reset
	BEFORE INSERT ON @extschema@.users
	FOR EACH ROW EXECUTE FUNCTION @extschema@.cruddur_users_cruds_count_reset();

CREATE TRIGGER activities_cruds_count_insert
	AFTER INSERT ON @extschema@.activities
	REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.cruddur_activities_counts('cruds');

CREATE TRIGGER activities_cruds_count_delete
	AFTER DELETE ON @extschema@.activities
	REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.cruddur_activities_counts('cruds');

CREATE TRIGGER activities_cruds_count_move
	AFTER UPDATE OF user_uuid ON @extschema@.activities
	FOR EACH ROW EXECUTE FUNCTION @extschema@.cruddur_activities_counts('cruds');

CREATE TRIGGER activities_cruds_count_truncate
	AFTER TRUNCATE ON @extschema@.activities
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.cruddur_activities_counts('cruds');

COMMENT ON FUNCTION @extschema@.cruddur_activities_counts() IS
'Trigger: keeps each parent''s replies_count (no argument) or each person''s cruds_count (''cruds'') equal to their rows, updating them in uuid order';
COMMENT ON TRIGGER activities_replies_count_insert ON @extschema@.activities IS
'Adds each statement''s new replies to their parents'' replies_count';
COMMENT ON TRIGGER activities_replies_count_delete ON @extschema@.activities IS
'Takes each statement''s deleted replies from their parents'' replies_count';
COMMENT ON TRIGGER activities_replies_count_move ON @extschema@.activities IS
'Moves a reply''s count from its old parent to its new one';
COMMENT ON FUNCTION @extschema@.cruddur_users_cruds_count_reset() IS
'Trigger: a new person starts with cruds_count 0; their activities count it up';
COMMENT ON TRIGGER users_cruds_count_reset ON @extschema@.users IS
'Starts every person at cruds_count 0, so restored dumps count their activities afresh';
COMMENT ON TRIGGER activities_cruds_count_insert ON @extschema@.activities IS
'Adds each statement''s new activities to their people''s cruds_count';
COMMENT ON TRIGGER activities_cruds_count_delete ON @extschema@.activities IS
'Takes each statement''s deleted activities from their people''s cruds_count';
COMMENT ON TRIGGER activities_cruds_count_move ON @extschema@.activities IS
'Moves an activity''s count from its old person to its new one';
COMMENT ON TRIGGER activities_cruds_count_truncate ON @extschema@.activities IS
'Sets every person''s cruds_count to 0 when activities is truncated';

-- The people's rows before 1.2, counted.
UPDATE ONLY @extschema@.users AS u
   SET cruds_count = c.n
  FROM (SELECT a.user_uuid, pg_catalog.count(*) AS n
		  FROM @extschema@.activities a
		 GROUP BY a.user_uuid) AS c
 WHERE u.uuid OPERATOR(pg_catalog.=) c.user_uuid;

/*
 * A crud with a page of its replies.  (cruddur_user_feed reads
 * users.cruds_count once the column exists, and the one-argument
 * cruddur_activity shows the first 1000 replies: same declarations, so the
 * grants made on them stay.)
 */
CREATE FUNCTION @extschema@.cruddur_activity(
	activity_uuid uuid,
	replies_page_size integer,
	replies_after_created_at timestamp without time zone DEFAULT NULL,
	replies_after_uuid uuid DEFAULT NULL)
RETURNS json
AS 'MODULE_PATHNAME', 'cruddur_activity_page'
LANGUAGE C STABLE CALLED ON NULL INPUT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.cruddur_activity(uuid) IS
'A crud with its first 1000 replies, oldest first, as JSON; NULL when no such crud or it has expired';
COMMENT ON FUNCTION @extschema@.cruddur_activity(uuid, integer, timestamp without time zone, uuid) IS
'A crud with a page of its replies, oldest first, as JSON; keyset paging on (replies_after_created_at, replies_after_uuid); NULL when no such crud or it has expired';

/*
 * Privileges of the new functions, as in 1.1: the triggers' are not for
 * PUBLIC; the creator gets all three WITH GRANT OPTION.  (The read is SECURITY
 * INVOKER and needs SELECT on the tables, like the other reads.)
 */
REVOKE ALL ON FUNCTION
	@extschema@.cruddur_activities_counts(),
	@extschema@.cruddur_users_cruds_count_reset()
	FROM PUBLIC;

DO $$
DECLARE
	creator pg_catalog.name;
	member record;
BEGIN
	SELECT r.rolname INTO STRICT creator
	  FROM pg_catalog.pg_extension e
	  JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) e.extowner
	 WHERE e.extname OPERATOR(pg_catalog.=) 'cruddur';

	IF creator OPERATOR(pg_catalog.=) CURRENT_USER THEN
		RETURN;					-- owner of every object already
	END IF;

	FOR member IN
		SELECT p.oid::pg_catalog.regprocedure AS fn
		  FROM pg_catalog.pg_proc p
		  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace
		 WHERE n.nspname OPERATOR(pg_catalog.=) pg_catalog.current_schema()
		   AND (p.proname OPERATOR(pg_catalog.=) ANY (ARRAY['cruddur_activities_counts',
					'cruddur_users_cruds_count_reset']::pg_catalog.name[])
				OR (p.proname OPERATOR(pg_catalog.=) 'cruddur_activity'
					AND p.pronargs OPERATOR(pg_catalog.=) 4))
	LOOP
		EXECUTE pg_catalog.format('GRANT ALL ON FUNCTION %s TO %I WITH GRANT OPTION',
								  member.fn, creator);
	END LOOP;
END
$$;

/* ---- Adopting an existing Cruddur database (cruddur_adopt) ---- */

/*
 * cruddur_adopt copies the tables of a database built by Cruddur's own
 * schema.sql and migrations into the extension's empty tables, repairing
 * whatever they would refuse, and returns a report of every change.
 * cruddur_adopt.sql (installed beside the extension) wraps it: it moves the
 * legacy tables aside, creates the extension, adopts, re-grants and drops
 * them, in one transaction.
 *
 * Set-based except for the handles to derive, which are few: each must be
 * free when it is chosen.  PL/pgSQL, so that the SQL-only flavour serves it
 * unchanged.  SECURITY INVOKER: the caller reads the legacy tables and
 * writes the extension's with their own rights.
 */
CREATE FUNCTION @extschema@.cruddur_adopt(legacy_users regclass, legacy_activities regclass)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY INVOKER PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	-- what uuid_in accepts: 32 hex digits, a hyphen allowed after each group
	-- of four but the last, optionally in braces
	uuid_spelling CONSTANT text := '^([{]([0-9A-Fa-f]{4}-?){7}[0-9A-Fa-f]{4}[}]|([0-9A-Fa-f]{4}-?){7}[0-9A-Fa-f]{4})$';
	person record;
	source text;
	base text;
	candidate text;
	n integer;
	wrong bigint;
	report jsonb;
BEGIN
	IF legacy_users IS NULL OR legacy_activities IS NULL THEN
		RAISE EXCEPTION 'legacy_users and legacy_activities must not be NULL'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF EXISTS (SELECT FROM @extschema@.users) OR EXISTS (SELECT FROM @extschema@.activities) THEN
		RAISE EXCEPTION 'cannot adopt into tables that already hold rows'
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = 'cruddur_adopt copies a legacy database into the extension''s users and activities tables while they are empty.',
				  HINT = 'Run it right after CREATE EXTENSION cruddur, as cruddur_adopt.sql does.';
	END IF;

	-- The people, read as text where Cruddur's versions differ; bio exists
	-- only after its migration.
	EXECUTE pg_catalog.format($sql$
		CREATE TEMP TABLE cruddur_adopt_people ON COMMIT DROP AS
		SELECT uuid::pg_catalog.uuid AS uuid, display_name::pg_catalog.text AS display_name,
			   handle::pg_catalog.text AS handle, email::pg_catalog.text AS email,
			   cognito_user_id::pg_catalog.text AS legacy_sub, %s AS bio,
			   created_at::pg_catalog.timestamp AS created_at,
			   NULL::pg_catalog.text AS sub, NULL::pg_catalog.uuid AS merged_into,
			   NULL::pg_catalog.text AS new_handle, false AS placeholder
		  FROM %s$sql$,
		CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_attribute a
						   WHERE a.attrelid OPERATOR(pg_catalog.=) legacy_users
							 AND a.attname OPERATOR(pg_catalog.=) 'bio' AND NOT a.attisdropped)
			 THEN 'bio::pg_catalog.text' ELSE 'NULL::pg_catalog.text' END,
		legacy_users);
	EXECUTE pg_catalog.format($sql$
		CREATE TEMP TABLE cruddur_adopt_cruds ON COMMIT DROP AS
		SELECT uuid::pg_catalog.uuid AS uuid, user_uuid::pg_catalog.uuid AS legacy_author,
			   message::pg_catalog.text AS legacy_message,
			   replies_count::pg_catalog.int8 AS legacy_replies_count,
			   reposts_count::pg_catalog.int8 AS legacy_reposts_count,
			   likes_count::pg_catalog.int8 AS legacy_likes_count,
			   reply_to_activity_uuid::pg_catalog.text AS legacy_reply_to,
			   expires_at::pg_catalog.timestamp AS expires_at,
			   created_at::pg_catalog.timestamp AS created_at,
			   NULL::pg_catalog.uuid AS author, NULL::pg_catalog.uuid AS reply_to
		  FROM %s$sql$, legacy_activities);

	-- A sub in any UUID spelling becomes canonical, as registration makes it;
	-- the rows of one sub merge into the oldest.  Any other value (MOCK, the
	-- seed people's) is no identity: each such person keeps a row of their
	-- own under "legacy:<uuid>", which no Cognito sub can be.
	UPDATE pg_temp.cruddur_adopt_people
	   SET sub = CASE WHEN (legacy_sub COLLATE pg_catalog."C") OPERATOR(pg_catalog.~) uuid_spelling
					  THEN legacy_sub::pg_catalog.uuid::pg_catalog.text
					  ELSE 'legacy:' OPERATOR(pg_catalog.||) uuid::pg_catalog.text END;
	UPDATE pg_temp.cruddur_adopt_people p
	   SET merged_into = k.uuid
	  FROM (SELECT DISTINCT ON (sub) sub, uuid
			  FROM pg_temp.cruddur_adopt_people
			 ORDER BY sub, created_at, uuid) k
	 WHERE p.sub OPERATOR(pg_catalog.=) k.sub AND p.uuid OPERATOR(pg_catalog.<>) k.uuid;

	-- Each crud's author (the kept row of a merged person), and what it
	-- answers when that is a crud being adopted (an integer, as Cruddur's
	-- schema.sql declared the column, never is).
	UPDATE pg_temp.cruddur_adopt_cruds c
	   SET author = COALESCE(p.merged_into, p.uuid)
	  FROM pg_temp.cruddur_adopt_people p
	 WHERE p.uuid OPERATOR(pg_catalog.=) c.legacy_author;
	UPDATE pg_temp.cruddur_adopt_cruds c
	   SET reply_to = r.uuid
	  FROM pg_temp.cruddur_adopt_cruds r
	 WHERE (c.legacy_reply_to COLLATE pg_catalog."C") OPERATOR(pg_catalog.~) uuid_spelling
	   AND r.uuid OPERATOR(pg_catalog.=) c.legacy_reply_to::pg_catalog.uuid;

	-- Cruds whose author does not exist get one placeholder author (its
	-- invalid handle derives "unknown_author", after the real people's).
	IF EXISTS (SELECT FROM pg_temp.cruddur_adopt_cruds WHERE author IS NULL) THEN
		INSERT INTO pg_temp.cruddur_adopt_people (uuid, display_name, handle, email, sub, created_at, placeholder)
		SELECT u.uuid, 'Unknown author', 'unknown author', '', 'legacy:' OPERATOR(pg_catalog.||) u.uuid::pg_catalog.text,
			   (SELECT pg_catalog.min(created_at) FROM pg_temp.cruddur_adopt_cruds WHERE author IS NULL), true
		  FROM (SELECT @extschema@.cruddur_uuid_v7() AS uuid) u;
		UPDATE pg_temp.cruddur_adopt_cruds
		   SET author = (SELECT uuid FROM pg_temp.cruddur_adopt_people WHERE placeholder)
		 WHERE author IS NULL;
	END IF;

	-- Handles: a valid one stays with the oldest person holding it in any
	-- case; the others are derived as registration derives them, oldest
	-- person first, each free when chosen.
	CREATE INDEX ON pg_temp.cruddur_adopt_people (pg_catalog.lower(new_handle COLLATE pg_catalog."C"));
	UPDATE pg_temp.cruddur_adopt_people p
	   SET new_handle = p.handle
	  FROM (SELECT DISTINCT ON (pg_catalog.lower(handle COLLATE pg_catalog."C")) uuid
			  FROM pg_temp.cruddur_adopt_people
			 WHERE merged_into IS NULL
			   AND (handle COLLATE pg_catalog."C") OPERATOR(pg_catalog.~) '^[A-Za-z0-9_]{1,32}$'
			 ORDER BY pg_catalog.lower(handle COLLATE pg_catalog."C"), created_at, uuid) f
	 WHERE p.uuid OPERATOR(pg_catalog.=) f.uuid;
	FOR person IN
		SELECT uuid, handle, email FROM pg_temp.cruddur_adopt_people
		 WHERE merged_into IS NULL AND new_handle IS NULL
		 ORDER BY placeholder, created_at, uuid
	LOOP
		-- the handle, else the email's part before its last "@", else "user":
		-- runs of other characters become one "_", "_" trimmed, 32 at most
		FOREACH source IN ARRAY ARRAY[person.handle,
				pg_catalog.left(person.email, pg_catalog.length(person.email) OPERATOR(pg_catalog.-)
					pg_catalog.strpos(pg_catalog.reverse(person.email), '@')),
				'user']
		LOOP
			base := pg_catalog.left(pg_catalog.btrim(pg_catalog.regexp_replace(
						COALESCE(source, '') COLLATE pg_catalog."C", '[^A-Za-z0-9_]+', '_', 'g'), '_'), 32);
			EXIT WHEN base OPERATOR(pg_catalog.<>) '';
		END LOOP;
		candidate := base;
		n := 1;
		WHILE EXISTS (SELECT FROM pg_temp.cruddur_adopt_people
					   WHERE pg_catalog.lower(new_handle COLLATE pg_catalog."C")
							 OPERATOR(pg_catalog.=) pg_catalog.lower(candidate COLLATE pg_catalog."C")) LOOP
			n := n OPERATOR(pg_catalog.+) 1;
			candidate := pg_catalog.left(base, 31 OPERATOR(pg_catalog.-) pg_catalog.length(n::pg_catalog.text))
						 OPERATOR(pg_catalog.||) '_' OPERATOR(pg_catalog.||) n::pg_catalog.text;
		END LOOP;
		UPDATE pg_temp.cruddur_adopt_people SET new_handle = candidate
		 WHERE uuid OPERATOR(pg_catalog.=) person.uuid;
	END LOOP;

	-- The report, from the staged rows, before they are written.
	SELECT pg_catalog.jsonb_build_object(
		'users', pg_catalog.jsonb_build_object(
			'legacy', (SELECT pg_catalog.count(*) FROM pg_temp.cruddur_adopt_people WHERE NOT placeholder),
			'adopted', (SELECT pg_catalog.count(*) FROM pg_temp.cruddur_adopt_people WHERE merged_into IS NULL)),
		'activities', pg_catalog.jsonb_build_object(
			'legacy', (SELECT pg_catalog.count(*) FROM pg_temp.cruddur_adopt_cruds),
			'adopted', (SELECT pg_catalog.count(*) FROM pg_temp.cruddur_adopt_cruds)),
		'subs_canonicalised', (SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
				'uuid', uuid, 'from', legacy_sub, 'to', sub) ORDER BY created_at, uuid), '[]')
			  FROM pg_temp.cruddur_adopt_people
			 WHERE NOT placeholder AND sub OPERATOR(pg_catalog.<>) legacy_sub
			   AND (legacy_sub COLLATE pg_catalog."C") OPERATOR(pg_catalog.~) uuid_spelling),
		'merged', (SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
				'into', merged_into, 'uuid', uuid, 'display_name', display_name, 'handle', handle,
				'email', email, 'cognito_user_id', legacy_sub, 'bio', bio, 'created_at', created_at)
				ORDER BY created_at, uuid), '[]')
			  FROM pg_temp.cruddur_adopt_people
			 WHERE merged_into IS NOT NULL),
		'not_a_sub', (SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
				'uuid', uuid, 'from', legacy_sub, 'to', sub) ORDER BY created_at, uuid), '[]')
			  FROM pg_temp.cruddur_adopt_people
			 WHERE NOT placeholder AND merged_into IS NULL AND sub OPERATOR(pg_catalog.^@) 'legacy:'),
		'handles', (SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
				'uuid', uuid, 'from', handle, 'to', new_handle) ORDER BY created_at, uuid), '[]')
			  FROM pg_temp.cruddur_adopt_people
			 WHERE NOT placeholder AND merged_into IS NULL AND new_handle IS DISTINCT FROM handle),
		'unknown_author', (SELECT pg_catalog.jsonb_build_object('uuid', p.uuid, 'handle', p.new_handle,
				'activities', (SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
						'uuid', c.uuid, 'user_uuid', c.legacy_author) ORDER BY c.created_at, c.uuid)
								 FROM pg_temp.cruddur_adopt_cruds c
								WHERE c.author OPERATOR(pg_catalog.=) p.uuid))
			  FROM pg_temp.cruddur_adopt_people p WHERE p.placeholder),
		'reauthored', (SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
				'uuid', uuid, 'from', legacy_author, 'to', author) ORDER BY created_at, uuid), '[]')
			  FROM pg_temp.cruddur_adopt_cruds c
			 WHERE author OPERATOR(pg_catalog.<>) legacy_author
			   AND NOT EXISTS (SELECT FROM pg_temp.cruddur_adopt_people p
								WHERE p.placeholder AND p.uuid OPERATOR(pg_catalog.=) c.author)),
		'messages', (SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
				'uuid', uuid, 'length', pg_catalog.char_length(legacy_message), 'from', legacy_message)
				ORDER BY created_at, uuid), '[]')
			  FROM pg_temp.cruddur_adopt_cruds
			 WHERE COALESCE(pg_catalog.char_length(legacy_message), 0)
				   NOT BETWEEN 1 AND 1024),
		'reply_to', (SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
				'uuid', uuid, 'from', legacy_reply_to) ORDER BY created_at, uuid), '[]')
			  FROM pg_temp.cruddur_adopt_cruds
			 WHERE legacy_reply_to IS NOT NULL AND reply_to IS NULL),
		'counts', (SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
				'uuid', c.uuid, 'column', k.name, 'from', k.legacy, 'to', k.exact)
				ORDER BY c.created_at, c.uuid, k.name), '[]')
			  FROM pg_temp.cruddur_adopt_cruds c,
				   LATERAL (VALUES
					('replies_count', c.legacy_replies_count,
					 (SELECT pg_catalog.count(*) FROM pg_temp.cruddur_adopt_cruds r
					   WHERE r.reply_to OPERATOR(pg_catalog.=) c.uuid)),
					('reposts_count', c.legacy_reposts_count,
					 GREATEST(COALESCE(c.legacy_reposts_count, 0), 0)),
					('likes_count', c.legacy_likes_count,
					 GREATEST(COALESCE(c.legacy_likes_count, 0), 0))) AS k (name, legacy, exact)
			 WHERE k.legacy IS DISTINCT FROM k.exact))
	  INTO report;

	-- Written in two statements; the triggers count the replies and each
	-- person's cruds, and are checked.  An empty
	-- message becomes "(empty)", a longer one its first 1024 characters (the
	-- report keeps the whole text).
	INSERT INTO @extschema@.users (uuid, display_name, handle, email, cognito_user_id, bio, created_at)
	SELECT uuid, display_name, new_handle, email, sub, bio, created_at
	  FROM pg_temp.cruddur_adopt_people
	 WHERE merged_into IS NULL;
	INSERT INTO @extschema@.activities (uuid, user_uuid, message, reposts_count, likes_count,
										reply_to_activity_uuid, expires_at, created_at)
	SELECT uuid, author,
		   CASE WHEN COALESCE(legacy_message, '') OPERATOR(pg_catalog.=) '' THEN '(empty)'
				ELSE pg_catalog.left(legacy_message, 1024) END,
		   GREATEST(COALESCE(legacy_reposts_count, 0), 0),
		   GREATEST(COALESCE(legacy_likes_count, 0), 0),
		   reply_to, expires_at, created_at
	  FROM pg_temp.cruddur_adopt_cruds;

	SELECT (SELECT pg_catalog.count(*)
			  FROM @extschema@.activities p
			 WHERE p.replies_count OPERATOR(pg_catalog.<>)
				   (SELECT pg_catalog.count(*) FROM @extschema@.activities c
					 WHERE c.reply_to_activity_uuid OPERATOR(pg_catalog.=) p.uuid))
		 OPERATOR(pg_catalog.+)
		   (SELECT pg_catalog.count(*)
			  FROM @extschema@.users u
			 WHERE u.cruds_count OPERATOR(pg_catalog.<>)
				   (SELECT pg_catalog.count(*) FROM @extschema@.activities a
					 WHERE a.user_uuid OPERATOR(pg_catalog.=) u.uuid))
	  INTO wrong;
	IF wrong OPERATOR(pg_catalog.<>) 0 THEN
		RAISE EXCEPTION 'adopted rows have wrong counts'
			USING ERRCODE = 'internal_error',
				  DETAIL = pg_catalog.format('%s rows have a replies_count or cruds_count other than their number of rows. Nothing was changed.', wrong);
	END IF;

	DROP TABLE pg_temp.cruddur_adopt_cruds, pg_temp.cruddur_adopt_people;
	RETURN report;
END
$$;

COMMENT ON FUNCTION @extschema@.cruddur_adopt(regclass, regclass) IS
'Copies the users and activities tables of an existing Cruddur database into the extension''s empty tables, repairing what they would refuse, and returns a report of every change';

REVOKE ALL ON FUNCTION @extschema@.cruddur_adopt(regclass, regclass) FROM PUBLIC;

DO $$
DECLARE
	creator pg_catalog.name;
BEGIN
	SELECT r.rolname INTO STRICT creator
	  FROM pg_catalog.pg_extension e
	  JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) e.extowner
	 WHERE e.extname OPERATOR(pg_catalog.=) 'cruddur';
	IF creator OPERATOR(pg_catalog.<>) CURRENT_USER THEN
		EXECUTE pg_catalog.format('GRANT ALL ON FUNCTION @extschema@.cruddur_adopt(regclass, regclass) TO %I WITH GRANT OPTION',
								  creator);
	END IF;
END
$$;
