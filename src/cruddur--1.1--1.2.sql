/*
 * src/cruddur--1.1--1.2.sql -- cruddur 1.1 to 1.2.
 *
 * Reads whose cost is bounded by the page (a kept count of each person's
 * cruds, replies paged), triggers with a fixed search_path, and adopting an
 * existing Cruddur database.
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION cruddur UPDATE TO '1.2'" to load this file. \quit

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

	-- Written in two statements; the triggers count the replies.  An empty
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

	SELECT pg_catalog.count(*) INTO wrong
	  FROM @extschema@.activities p
	 WHERE p.replies_count OPERATOR(pg_catalog.<>)
		   (SELECT pg_catalog.count(*) FROM @extschema@.activities c
			 WHERE c.reply_to_activity_uuid OPERATOR(pg_catalog.=) p.uuid);
	IF wrong OPERATOR(pg_catalog.<>) 0 THEN
		RAISE EXCEPTION 'adopted rows have a wrong replies_count'
			USING ERRCODE = 'internal_error',
				  DETAIL = pg_catalog.format('%s activities differ from their number of replies. Nothing was changed.', wrong);
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
