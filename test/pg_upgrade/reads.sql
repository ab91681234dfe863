/*
 * test/pg_upgrade/reads.sql: every read of the JSON API over the whole
 * database, one line each, so that two databases can be compared with diff
 * (test/pg_upgrade/run: before and after pg_upgrade): the home feed walked
 * page by page (pages of 13), every person's feed (one page of 1000), profile
 * and short profile, every crud and reply with its replies.  Run with
 * psql -X -A -t -f.
 */
WITH RECURSIVE page (n, j) AS (
	SELECT 1, cruddur_home_feed(13)
	UNION ALL
	SELECT n + 1, cruddur_home_feed(13, (j -> -1 ->> 'created_at')::timestamp,
									(j -> -1 ->> 'uuid')::uuid)
	  FROM page
	 WHERE json_array_length(j) = 13
)
SELECT 'home ' || n || ' ' || j FROM page
UNION ALL
SELECT 'user_feed ' || u.uuid || ' ' || cruddur_user_feed(u.handle, 1000) FROM users u
UNION ALL
SELECT 'user_short ' || u.uuid || ' ' || cruddur_user_short(upper(u.handle)) FROM users u
UNION ALL
SELECT 'activity ' || a.uuid || ' ' || coalesce(cruddur_activity(a.uuid)::text, 'NULL')
  FROM activities a
 ORDER BY 1;
