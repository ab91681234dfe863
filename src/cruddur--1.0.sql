/*
 * src/cruddur--1.0.sql -- install script of cruddur 1.0, frozen as released.
 *
 * The Makefile builds the install script of the current version from this
 * file and the upgrade scripts that follow it, so a fresh install and an
 * upgraded one run the same statements.  Every
 * reference is schema-qualified (@extschema@ or pg_catalog), operators
 * included, so nothing a user planted in search_path can run here.
 */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION cruddur" to load this file. \quit

/*
 * Refuse to install over existing objects of the names this script creates:
 * the tables, the relations behind their constraints and indexes, and any
 * function of the names of ours (an overload such as cruddur_register_user(text)
 * would catch calls passing an untyped literal).  CREATE would fail anyway
 * for most of them, but with a bare "already exists"; a person adopting an
 * older Cruddur database needs to know what clashed and what to do.  Inside
 * a DO block of an extension script current_schema() is the target schema.
 */
DO $$
DECLARE
	clash record;
	what text;
BEGIN
	FOR clash IN
		SELECT n.nspname, c.relname AS name, 'relation' AS kind, '42P07' AS code,
			   NULL::pg_catalog.oid AS fn
		  FROM pg_catalog.pg_class c
		  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
		 WHERE n.nspname OPERATOR(pg_catalog.=) pg_catalog.current_schema()
		   AND c.relname OPERATOR(pg_catalog.=) ANY (ARRAY['users', 'activities',
				'users_pkey', 'users_cognito_user_id_key', 'users_handle_lower_key',
				'activities_pkey', 'activities_home_feed_idx', 'activities_user_feed_idx',
				'activities_replies_idx']::pg_catalog.name[])
		UNION ALL
		SELECT n.nspname, t.typname, 'type', '42P07', NULL
		  FROM pg_catalog.pg_type t
		  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) t.typnamespace
		 WHERE n.nspname OPERATOR(pg_catalog.=) pg_catalog.current_schema()
		   AND t.typname OPERATOR(pg_catalog.=) ANY (ARRAY['users', 'activities']::pg_catalog.name[])
		   AND t.typrelid OPERATOR(pg_catalog.=) 0
		UNION ALL
		SELECT n.nspname, p.proname, 'function', '42723', p.oid
		  FROM pg_catalog.pg_proc p
		  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace
		 WHERE n.nspname OPERATOR(pg_catalog.=) pg_catalog.current_schema()
		   AND p.proname OPERATOR(pg_catalog.=) ANY (ARRAY['cruddur_uuid_v7',
				'cruddur_register_user']::pg_catalog.name[])
	LOOP
		what := clash.name;
		IF clash.fn IS NOT NULL THEN
			-- named with its arguments as written in SQL, whatever the session's
			-- quote_all_identifiers; the setting ends with the aborted transaction
			PERFORM pg_catalog.set_config('quote_all_identifiers', 'off', true);
			what := pg_catalog.format('%s(%s)', clash.name,
									  pg_catalog.pg_get_function_identity_arguments(clash.fn));
		END IF;
		RAISE EXCEPTION 'cannot create extension "cruddur" because % "%.%" already exists',
			clash.kind, clash.nspname, what
			USING ERRCODE = clash.code,
				  DETAIL = 'cruddur creates its own tables "users" and "activities", their indexes and its cruddur_* functions in the schema it is installed into, and does not take over existing objects of those names. Nothing was changed.',
				  HINT = 'Rename or drop the existing object, or install cruddur into another schema with CREATE EXTENSION cruddur SCHEMA name.';
	END LOOP;
END
$$;

/*
 * Time-ordered UUIDs (RFC 9562 version 7), the default of both primary keys.
 */
CREATE FUNCTION @extschema@.cruddur_uuid_v7()
RETURNS uuid
AS 'MODULE_PATHNAME', 'cruddur_uuid_v7'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.cruddur_uuid_v7() IS
'RFC 9562 version 7 UUID: 48-bit Unix milliseconds, 12 bits of sub-millisecond time, 62 random bits; strictly increasing within a backend';

/*
 * users: one row per person confirmed in Cognito.
 *
 * Timestamps are "timestamp without time zone" holding UTC, as Cruddur's
 * JSON and frontend expect; the defaults take the transaction's now() in UTC
 * whatever the session's TimeZone.
 */
CREATE TABLE @extschema@.users (
	uuid			uuid NOT NULL DEFAULT @extschema@.cruddur_uuid_v7(),
	display_name	text NOT NULL,
	handle			text NOT NULL,
	email			text NOT NULL,
	cognito_user_id text NOT NULL,
	bio				text,
	created_at		timestamp without time zone NOT NULL
		DEFAULT pg_catalog.timezone('UTC'::pg_catalog.text, pg_catalog.now()),
	CONSTRAINT users_pkey PRIMARY KEY (uuid),
	CONSTRAINT users_cognito_user_id_key UNIQUE (cognito_user_id),
	-- "C" collation: [A-Za-z] means ASCII letters under every database locale
	CONSTRAINT users_handle_check CHECK
		((handle COLLATE pg_catalog."C") OPERATOR(pg_catalog.~) '^[A-Za-z0-9_]{1,32}$')
);

/*
 * Handles are unique regardless of ASCII case.  lower() under the "C"
 * collation folds exactly A-Z, so the result does not depend on the
 * database's locale (a Turkish "I" still folds to "i").
 */
CREATE UNIQUE INDEX users_handle_lower_key
	ON @extschema@.users (pg_catalog.lower(handle COLLATE pg_catalog."C"));

COMMENT ON TABLE @extschema@.users IS
'Cruddur people, one row per confirmed Cognito user (managed by the cruddur extension)';
COMMENT ON COLUMN @extschema@.users.uuid IS
'Primary key, a time-ordered cruddur_uuid_v7()';
COMMENT ON COLUMN @extschema@.users.display_name IS
'Name shown with the person''s cruds';
COMMENT ON COLUMN @extschema@.users.handle IS
'1 to 32 ASCII letters, digits or underscores, unique regardless of ASCII case';
COMMENT ON COLUMN @extschema@.users.email IS
'Email address from Cognito';
COMMENT ON COLUMN @extschema@.users.cognito_user_id IS
'Cognito "sub" in canonical lower-case UUID form; the idempotency key of registration';
COMMENT ON COLUMN @extschema@.users.bio IS
'Free-form profile text, NULL when none';
COMMENT ON COLUMN @extschema@.users.created_at IS
'When the row was created, in UTC';
COMMENT ON INDEX @extschema@.users_handle_lower_key IS
'Makes handles unique regardless of ASCII case and serves case-insensitive handle lookups';

/*
 * activities: cruds and their replies.
 *
 * reply_to_activity_uuid is a uuid (Cruddur's schema.sql declared it
 * integer).  The self-reference is checked at the end of each statement, so
 * a dump whose COPY lists a reply before its parent restores fine.
 */
CREATE TABLE @extschema@.activities (
	uuid			uuid NOT NULL DEFAULT @extschema@.cruddur_uuid_v7(),
	user_uuid		uuid NOT NULL,
	message			text NOT NULL,
	replies_count	integer NOT NULL DEFAULT 0,
	reposts_count	integer NOT NULL DEFAULT 0,
	likes_count		integer NOT NULL DEFAULT 0,
	reply_to_activity_uuid uuid,
	expires_at		timestamp without time zone,
	created_at		timestamp without time zone NOT NULL
		DEFAULT pg_catalog.timezone('UTC'::pg_catalog.text, pg_catalog.now()),
	CONSTRAINT activities_pkey PRIMARY KEY (uuid),
	CONSTRAINT activities_user_uuid_fkey FOREIGN KEY (user_uuid)
		REFERENCES @extschema@.users (uuid) ON DELETE CASCADE,
	CONSTRAINT activities_reply_to_activity_uuid_fkey FOREIGN KEY (reply_to_activity_uuid)
		REFERENCES @extschema@.activities (uuid) ON DELETE CASCADE,
	CONSTRAINT activities_message_check CHECK
		(pg_catalog.char_length(message) OPERATOR(pg_catalog.>=) 1
		 AND pg_catalog.char_length(message) OPERATOR(pg_catalog.<=) 1024),
	CONSTRAINT activities_replies_count_check CHECK (replies_count OPERATOR(pg_catalog.>=) 0),
	CONSTRAINT activities_reposts_count_check CHECK (reposts_count OPERATOR(pg_catalog.>=) 0),
	CONSTRAINT activities_likes_count_check CHECK (likes_count OPERATOR(pg_catalog.>=) 0)
);

-- Home feed: newest top-level cruds first, keyset paging on (created_at, uuid).
CREATE INDEX activities_home_feed_idx
	ON @extschema@.activities (created_at DESC, uuid DESC)
	WHERE reply_to_activity_uuid IS NULL;

-- A person's cruds and replies, newest first; also serves ON DELETE CASCADE from users.
CREATE INDEX activities_user_feed_idx
	ON @extschema@.activities (user_uuid, created_at DESC, uuid DESC);

-- A crud's replies, oldest first; also serves ON DELETE CASCADE and reply counting.
CREATE INDEX activities_replies_idx
	ON @extschema@.activities (reply_to_activity_uuid, created_at, uuid)
	WHERE reply_to_activity_uuid IS NOT NULL;

COMMENT ON TABLE @extschema@.activities IS
'Cruddur cruds and replies (managed by the cruddur extension)';
COMMENT ON COLUMN @extschema@.activities.uuid IS
'Primary key, a time-ordered cruddur_uuid_v7()';
COMMENT ON COLUMN @extschema@.activities.user_uuid IS
'Author; deleting the person deletes their cruds';
COMMENT ON COLUMN @extschema@.activities.message IS
'Text of the crud or reply, 1 to 1024 characters';
COMMENT ON COLUMN @extschema@.activities.replies_count IS
'Number of rows replying to this one';
COMMENT ON COLUMN @extschema@.activities.reposts_count IS
'Number of reposts, never negative';
COMMENT ON COLUMN @extschema@.activities.likes_count IS
'Number of likes, never negative';
COMMENT ON COLUMN @extschema@.activities.reply_to_activity_uuid IS
'The crud or reply this row answers, NULL for a top-level crud; deleting it deletes its replies';
COMMENT ON COLUMN @extschema@.activities.expires_at IS
'When the crud stops being shown, in UTC; NULL for never';
COMMENT ON COLUMN @extschema@.activities.created_at IS
'When the row was created, in UTC';
COMMENT ON INDEX @extschema@.activities_home_feed_idx IS
'Serves cruddur_home_feed: top-level cruds, newest first';
COMMENT ON INDEX @extschema@.activities_user_feed_idx IS
'Serves cruddur_user_feed and the cascade from users';
COMMENT ON INDEX @extschema@.activities_replies_idx IS
'Serves cruddur_activity replies, reply counting and the cascade between activities';

-- pg_dump keeps the rows of both tables.
SELECT pg_catalog.pg_extension_config_dump('@extschema@.users', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.activities', '');

/*
 * Registration from AWS Cognito trigger events.
 */
CREATE FUNCTION @extschema@.cruddur_register_user(event jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'cruddur_register_user'
LANGUAGE C VOLATILE CALLED ON NULL INPUT SECURITY DEFINER PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.cruddur_register_user(jsonb) IS
'Registers the person of a Cognito Post Confirmation event (idempotent on sub), checks a Pre sign-up event, and returns the event unchanged';

/*
 * Privileges.  PUBLIC may read nothing and write nothing; the writes are
 * granted explicitly (see README).  The role that created the extension,
 * who may not be a superuser when the extension is installed as trusted
 * (its objects are then owned by the bootstrap superuser), gets everything
 * WITH GRANT OPTION so that it can use, dump and hand out all of it.
 */
REVOKE ALL ON TABLE @extschema@.users, @extschema@.activities FROM PUBLIC;

REVOKE ALL ON FUNCTION @extschema@.cruddur_register_user(jsonb) FROM PUBLIC;

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

	-- every table and function of the extension, as pg_depend records them
	FOR member IN
		SELECT pg_catalog.format('TABLE %s', d.objid::pg_catalog.regclass) AS obj
		  FROM pg_catalog.pg_depend d
		 WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
		   AND d.refobjid OPERATOR(pg_catalog.=) (SELECT oid FROM pg_catalog.pg_extension WHERE extname OPERATOR(pg_catalog.=) 'cruddur')
		   AND d.deptype OPERATOR(pg_catalog.=) 'e'
		   AND d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
		UNION ALL
		SELECT pg_catalog.format('FUNCTION %s', d.objid::pg_catalog.regprocedure)
		  FROM pg_catalog.pg_depend d
		 WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
		   AND d.refobjid OPERATOR(pg_catalog.=) (SELECT oid FROM pg_catalog.pg_extension WHERE extname OPERATOR(pg_catalog.=) 'cruddur')
		   AND d.deptype OPERATOR(pg_catalog.=) 'e'
		   AND d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
	LOOP
		EXECUTE pg_catalog.format('GRANT ALL ON %s TO %I WITH GRANT OPTION',
								  member.obj, creator);
	END LOOP;
END
$$;
