/*
 * src/cruddur--1.0--1.1.sql -- cruddur 1.0 to 1.1: the app's JSON API.
 *
 * Adds the reads and writes that return Cruddur's JSON, and makes
 * replies_count a maintained counter (1.0 never changed it).
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION cruddur UPDATE TO '1.1'" to load this file. \quit

/*
 * Refuse to add functions beside existing ones of the same names (see the
 * same check in cruddur--1.0.sql): an overload planted before the update
 * could catch the app's calls.
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
		   AND p.proname OPERATOR(pg_catalog.=) ANY (ARRAY['cruddur_activities_replies_count_reset',
				'cruddur_activities_replies_count', 'cruddur_home_feed', 'cruddur_user_feed',
				'cruddur_activity', 'cruddur_user_short', 'cruddur_create_activity',
				'cruddur_create_reply', 'cruddur_update_profile']::pg_catalog.name[])
	LOOP
		-- named with its arguments as written in SQL, whatever the session's
		-- quote_all_identifiers; the setting ends with the aborted transaction
		PERFORM pg_catalog.set_config('quote_all_identifiers', 'off', true);
		what := pg_catalog.format('%s(%s)', clash.proname,
								  pg_catalog.pg_get_function_identity_arguments(clash.fn));
		RAISE EXCEPTION 'cannot install cruddur 1.1 because function "%.%" already exists',
			clash.nspname, what
			USING ERRCODE = 'duplicate_function',
				  DETAIL = 'cruddur 1.1 creates its cruddur_* functions in the extension''s schema, and does not take over existing functions of those names. Nothing was changed.',
				  HINT = 'Rename or drop the existing function, then run the command again.';
	END LOOP;
END
$$;

/*
 * replies_count is derived data.  A row always starts at 0 and every
 * parent is adjusted by the number of its replies each statement inserts
 * or deletes, in AFTER STATEMENT triggers reading the statement's
 * transition table: those fire at the end of the statement, once the whole
 * COPY of a restore is loaded, so a dump restores exact counts whatever
 * order its rows come in.  Increments (not recounts) stay exact under
 * concurrent replies in READ COMMITTED, where the UPDATE re-reads the
 * parent's newest version.
 *
 * The parents are updated in uuid order, once each per statement.  A
 * counter's row lock is held to the end of the transaction, so two
 * statements that updated their parents in row order (as a FOR EACH ROW
 * trigger does) deadlocked when they replied to the same cruds in opposite
 * orders; in one order they only queue (specs/replies_race.spec).  The FK
 * check before it only takes FOR KEY SHARE on the parent, which the
 * counter's UPDATE (not of a key column) does not conflict with.  A reply
 * moved to another parent (UPDATE OF reply_to_activity_uuid, which a
 * transition table cannot be limited to) is counted by a row trigger.
 *
 * SECURITY DEFINER: whoever may insert or delete a reply may keep its
 * parent's count right, without UPDATE on the table.
 */
CREATE FUNCTION @extschema@.cruddur_activities_replies_count_reset()
RETURNS trigger
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = @extschema@, pg_temp
AS $$
BEGIN
	NEW.replies_count := 0;
	RETURN NEW;
END
$$;

CREATE FUNCTION @extschema@.cruddur_activities_replies_count()
RETURNS trigger
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = @extschema@, pg_temp
AS $$
DECLARE
	deltas refcursor;
	parent record;
BEGIN
	-- (parent uuid, change of its count), in uuid order
	IF TG_LEVEL OPERATOR(pg_catalog.=) 'ROW' THEN
		OPEN deltas FOR
			SELECT d.uuid, pg_catalog.sum(d.n)::pg_catalog.int4 AS n
			  FROM (VALUES (OLD.reply_to_activity_uuid, -1),
						   (NEW.reply_to_activity_uuid, 1)) AS d (uuid, n)
			 WHERE d.uuid IS NOT NULL
			 GROUP BY d.uuid
			HAVING pg_catalog.sum(d.n) OPERATOR(pg_catalog.<>) 0
			 ORDER BY d.uuid;
	ELSIF TG_OP OPERATOR(pg_catalog.=) 'INSERT' THEN
		OPEN deltas FOR
			SELECT r.reply_to_activity_uuid AS uuid, pg_catalog.count(*)::pg_catalog.int4 AS n
			  FROM new_rows r
			 WHERE r.reply_to_activity_uuid IS NOT NULL
			 GROUP BY r.reply_to_activity_uuid
			 ORDER BY r.reply_to_activity_uuid;
	ELSE
		OPEN deltas FOR
			SELECT r.reply_to_activity_uuid AS uuid,
				   OPERATOR(pg_catalog.-) pg_catalog.count(*)::pg_catalog.int4 AS n
			  FROM old_rows r
			 WHERE r.reply_to_activity_uuid IS NOT NULL
			 GROUP BY r.reply_to_activity_uuid
			 ORDER BY r.reply_to_activity_uuid;
	END IF;
	LOOP
		FETCH deltas INTO parent;
		EXIT WHEN NOT FOUND;
		UPDATE ONLY activities
		   SET replies_count = replies_count OPERATOR(pg_catalog.+) parent.n
		 WHERE uuid OPERATOR(pg_catalog.=) parent.uuid;
	END LOOP;
	CLOSE deltas;
	RETURN NULL;
END
$$;

CREATE TRIGGER activities_replies_count_reset
	BEFORE INSERT ON @extschema@.activities
	FOR EACH ROW EXECUTE FUNCTION @extschema@.cruddur_activities_replies_count_reset();

CREATE TRIGGER activities_replies_count_insert
	AFTER INSERT ON @extschema@.activities
	REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.cruddur_activities_replies_count();

CREATE TRIGGER activities_replies_count_delete
	AFTER DELETE ON @extschema@.activities
	REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.cruddur_activities_replies_count();

CREATE TRIGGER activities_replies_count_move
	AFTER UPDATE OF reply_to_activity_uuid ON @extschema@.activities
	FOR EACH ROW EXECUTE FUNCTION @extschema@.cruddur_activities_replies_count();

COMMENT ON FUNCTION @extschema@.cruddur_activities_replies_count_reset() IS
'Trigger: a new activity starts with replies_count 0; its replies count it up';
COMMENT ON FUNCTION @extschema@.cruddur_activities_replies_count() IS
'Trigger: keeps the parent''s replies_count equal to its number of replies, updating parents in uuid order';
COMMENT ON TRIGGER activities_replies_count_reset ON @extschema@.activities IS
'Starts every activity at replies_count 0, so restored dumps count their replies afresh';
COMMENT ON TRIGGER activities_replies_count_insert ON @extschema@.activities IS
'Adds each statement''s new replies to their parents'' replies_count';
COMMENT ON TRIGGER activities_replies_count_delete ON @extschema@.activities IS
'Takes each statement''s deleted replies from their parents'' replies_count';
COMMENT ON TRIGGER activities_replies_count_move ON @extschema@.activities IS
'Moves a reply''s count from its old parent to its new one';

COMMENT ON COLUMN @extschema@.activities.replies_count IS
'Number of rows replying to this one, maintained by the activities_replies_count_* triggers';

-- Counts written before 1.1 were never maintained: take them from the rows.
UPDATE ONLY @extschema@.activities AS a
   SET replies_count = r.n
  FROM (SELECT p.uuid, pg_catalog.count(c.uuid)::pg_catalog.int4 AS n
		  FROM @extschema@.activities p
		  LEFT JOIN @extschema@.activities c
			ON c.reply_to_activity_uuid OPERATOR(pg_catalog.=) p.uuid
		 GROUP BY p.uuid) AS r
 WHERE a.uuid OPERATOR(pg_catalog.=) r.uuid
   AND a.replies_count OPERATOR(pg_catalog.<>) r.n;

/*
 * The app's reads: JSON byte-identical to row_to_json over the same rows.
 * SECURITY INVOKER, so they need SELECT on the tables.
 */
CREATE FUNCTION @extschema@.cruddur_home_feed(
	page_size integer DEFAULT 20,
	before_created_at timestamp without time zone DEFAULT NULL,
	before_uuid uuid DEFAULT NULL)
RETURNS json
AS 'MODULE_PATHNAME', 'cruddur_home_feed'
LANGUAGE C STABLE CALLED ON NULL INPUT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.cruddur_home_feed(integer, timestamp without time zone, uuid) IS
'Home feed: unexpired top-level cruds, newest first, as a JSON array; keyset paging on (before_created_at, before_uuid)';

CREATE FUNCTION @extschema@.cruddur_user_feed(
	handle text,
	page_size integer DEFAULT 40,
	before_created_at timestamp without time zone DEFAULT NULL,
	before_uuid uuid DEFAULT NULL)
RETURNS json
AS 'MODULE_PATHNAME', 'cruddur_user_feed'
LANGUAGE C STABLE CALLED ON NULL INPUT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.cruddur_user_feed(text, integer, timestamp without time zone, uuid) IS
'A person''s profile and unexpired cruds and replies, newest first, as JSON; NULL when no such person';

CREATE FUNCTION @extschema@.cruddur_activity(activity_uuid uuid)
RETURNS json
AS 'MODULE_PATHNAME', 'cruddur_activity'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.cruddur_activity(uuid) IS
'A crud with its replies, oldest first, as JSON; NULL when no such crud or it has expired';

CREATE FUNCTION @extschema@.cruddur_user_short(handle text)
RETURNS json
AS 'MODULE_PATHNAME', 'cruddur_user_short'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.cruddur_user_short(text) IS
'A person''s uuid, handle and display name as JSON; NULL when no such person';

/*
 * The app's writes.  SECURITY DEFINER: a role granted EXECUTE can do the
 * write through the function without any privilege on the tables.
 */
CREATE FUNCTION @extschema@.cruddur_create_activity(
	cognito_user_id text,
	message text,
	ttl text DEFAULT '7-days')
RETURNS json
AS 'MODULE_PATHNAME', 'cruddur_create_activity'
LANGUAGE C VOLATILE CALLED ON NULL INPUT SECURITY DEFINER PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.cruddur_create_activity(text, text, text) IS
'Posts a crud of 1 to 280 characters expiring after ttl and returns it as JSON';

CREATE FUNCTION @extschema@.cruddur_create_reply(
	cognito_user_id text,
	reply_to_activity_uuid uuid,
	message text)
RETURNS json
AS 'MODULE_PATHNAME', 'cruddur_create_reply'
LANGUAGE C VOLATILE CALLED ON NULL INPUT SECURITY DEFINER PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.cruddur_create_reply(text, uuid, text) IS
'Posts a reply of 1 to 1024 characters to an unexpired crud or reply and returns it as JSON';

CREATE FUNCTION @extschema@.cruddur_update_profile(
	cognito_user_id text,
	display_name text,
	bio text)
RETURNS json
AS 'MODULE_PATHNAME', 'cruddur_update_profile'
LANGUAGE C VOLATILE CALLED ON NULL INPUT SECURITY DEFINER PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.cruddur_update_profile(text, text, text) IS
'Sets a person''s display name and bio (NULL clears it) and returns cruddur_user_short of them';

/*
 * Privileges of the new functions: the writes and triggers are not for
 * PUBLIC; the creator gets everything WITH GRANT OPTION, as in 1.0.
 *
 * Only on the functions this script creates.  Any GRANT run by an update
 * script records the object's whole ACL as its initial privileges
 * (pg_init_privs), so re-granting on a 1.0 table would make the grants a
 * DBA gave since 1.0 (say SELECT to the app's role) look initial, and
 * pg_dump, which dumps only the changes from initial, would lose them.
 */
REVOKE ALL ON FUNCTION
	@extschema@.cruddur_create_activity(text, text, text),
	@extschema@.cruddur_create_reply(text, uuid, text),
	@extschema@.cruddur_update_profile(text, text, text),
	@extschema@.cruddur_activities_replies_count_reset(),
	@extschema@.cruddur_activities_replies_count()
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

	-- the functions 1.1 adds, as pg_depend records them
	FOR member IN
		SELECT d.objid::pg_catalog.regprocedure AS fn
		  FROM pg_catalog.pg_depend d
		  JOIN pg_catalog.pg_proc p ON p.oid OPERATOR(pg_catalog.=) d.objid
		 WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
		   AND d.refobjid OPERATOR(pg_catalog.=) (SELECT oid FROM pg_catalog.pg_extension WHERE extname OPERATOR(pg_catalog.=) 'cruddur')
		   AND d.deptype OPERATOR(pg_catalog.=) 'e'
		   AND d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
		   AND p.proname OPERATOR(pg_catalog.=) ANY (ARRAY[
				'cruddur_activities_replies_count_reset',
				'cruddur_activities_replies_count',
				'cruddur_home_feed',
				'cruddur_user_feed',
				'cruddur_activity',
				'cruddur_user_short',
				'cruddur_create_activity',
				'cruddur_create_reply',
				'cruddur_update_profile']::pg_catalog.name[])
	LOOP
		EXECUTE pg_catalog.format('GRANT ALL ON FUNCTION %s TO %I WITH GRANT OPTION',
								  member.fn, creator);
	END LOOP;
END
$$;
