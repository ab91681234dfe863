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
				'cruddur_activities_counts', 'cruddur_users_cruds_count_reset']::pg_catalog.name[])
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
