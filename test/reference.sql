/*
 * test/reference.sql: the SQL that cruddur's C read functions replace.
 *
 * Cruddur's Flask services wrapped SQL files in row_to_json/array_agg; these
 * are those queries with the defects issue 3 fixes (no LIMIT, no expiry
 * filter, replies as top-level posts, unordered replies) fixed, written as
 * plainly as the app would.  The differential tests compare the text of each
 * C function with these, byte for byte; the benchmark measures both.
 *
 * Load into a database that has the extension in schema public:
 *   psql -f test/reference.sql
 * It creates schema cruddur_ref with one function per C read function,
 * taking the same arguments (argument checks are the C side's business).
 */
CREATE SCHEMA cruddur_ref;

CREATE FUNCTION cruddur_ref.home_feed(page_size integer DEFAULT 20,
									  before_created_at timestamp DEFAULT NULL,
									  before_uuid uuid DEFAULT NULL)
RETURNS json LANGUAGE sql STABLE AS $$
SELECT COALESCE(array_to_json(array_agg(row_to_json(t))), '[]'::json)
FROM (
  SELECT a.uuid, u.display_name, u.handle, a.message,
         a.replies_count, a.reposts_count, a.likes_count,
         a.reply_to_activity_uuid, a.expires_at, a.created_at
    FROM public.activities a
    JOIN public.users u ON u.uuid = a.user_uuid
   WHERE a.reply_to_activity_uuid IS NULL
     AND (a.expires_at IS NULL OR a.expires_at > (now() AT TIME ZONE 'UTC'))
     AND (before_created_at IS NULL OR (a.created_at, a.uuid) < (before_created_at, before_uuid))
   ORDER BY a.created_at DESC, a.uuid DESC
   LIMIT page_size
) t
$$;

CREATE FUNCTION cruddur_ref.user_feed(handle text, page_size integer DEFAULT 40,
									  before_created_at timestamp DEFAULT NULL,
									  before_uuid uuid DEFAULT NULL)
RETURNS json LANGUAGE sql STABLE AS $$
SELECT row_to_json(r)
FROM (
  SELECT
    (SELECT row_to_json(p)
       FROM (SELECT u.uuid, u.cognito_user_id AS cognito_user_uuid, u.handle,
                    u.display_name, u.bio,
                    (SELECT count(*) FROM public.activities c
                      WHERE c.user_uuid = u.uuid) AS cruds_count) p) AS profile,
    (SELECT COALESCE(array_to_json(array_agg(row_to_json(x))), '[]'::json)
       FROM (SELECT a.uuid, u.display_name, u.handle, a.message,
                    a.created_at, a.expires_at
               FROM public.activities a
              WHERE a.user_uuid = u.uuid
                AND (a.expires_at IS NULL OR a.expires_at > (now() AT TIME ZONE 'UTC'))
                AND (before_created_at IS NULL
                     OR (a.created_at, a.uuid) < (before_created_at, before_uuid))
              ORDER BY a.created_at DESC, a.uuid DESC
              LIMIT page_size) x) AS activities
    FROM public.users u
   WHERE lower(u.handle COLLATE "C") = lower(user_feed.handle COLLATE "C")
) r
$$;

-- A crud with its replies; with a page size (1.2), a page of them after the
-- cursor (LIMIT NULL is every reply).
CREATE FUNCTION cruddur_ref.activity(activity_uuid uuid, replies_page_size integer DEFAULT NULL,
									 replies_after_created_at timestamp DEFAULT NULL,
									 replies_after_uuid uuid DEFAULT NULL)
RETURNS json LANGUAGE sql STABLE AS $$
SELECT row_to_json(r)
FROM (
  SELECT
    (SELECT row_to_json(o)
       FROM (SELECT a.uuid, u.display_name, u.handle, a.message,
                    a.replies_count, a.reposts_count, a.likes_count,
                    a.expires_at, a.created_at) o) AS activity,
    (SELECT COALESCE(array_to_json(array_agg(row_to_json(x))), '[]'::json)
       FROM (SELECT c.uuid, cu.display_name, cu.handle, c.message,
                    c.replies_count, c.reposts_count, c.likes_count,
                    c.reply_to_activity_uuid, c.created_at
               FROM public.activities c
               JOIN public.users cu ON cu.uuid = c.user_uuid
              WHERE c.reply_to_activity_uuid = a.uuid
                AND (replies_after_created_at IS NULL
                     OR (c.created_at, c.uuid) > (replies_after_created_at, replies_after_uuid))
              ORDER BY c.created_at, c.uuid
              LIMIT replies_page_size) x) AS replies
    FROM public.activities a
    JOIN public.users u ON u.uuid = a.user_uuid
   WHERE a.uuid = activity_uuid
     AND (a.expires_at IS NULL OR a.expires_at > (now() AT TIME ZONE 'UTC'))
) r
$$;

CREATE FUNCTION cruddur_ref.user_short(handle text)
RETURNS json LANGUAGE sql STABLE AS $$
SELECT row_to_json(t)
FROM (SELECT u.uuid, u.handle, u.display_name
        FROM public.users u
       WHERE lower(u.handle COLLATE "C") = lower(user_short.handle COLLATE "C")) t
$$;

-- What cruddur_create_activity and cruddur_create_reply return for the new row.
CREATE FUNCTION cruddur_ref.created_activity(activity_uuid uuid)
RETURNS json LANGUAGE sql STABLE AS $$
SELECT row_to_json(t)
FROM (SELECT a.uuid, u.display_name, u.handle, a.message, a.created_at,
             a.expires_at, a.reply_to_activity_uuid
        FROM public.activities a
        JOIN public.users u ON u.uuid = a.user_uuid
       WHERE a.uuid = activity_uuid) t
$$;
