--
-- uuid_v7: cruddur_uuid_v7() makes RFC 9562 version 7 UUIDs whose first 48
-- bits are the current Unix time in milliseconds, strictly increasing
-- within a backend, never repeated.
--

-- Version nibble 7 and variant bits 10, on many values (the random bits
-- around them must never leak into those fields).
SELECT count(*) AS uuids,
       count(*) FILTER (WHERE get_byte(uuid_send(u), 6) >> 4 = 7) AS version_7,
       count(*) FILTER (WHERE get_byte(uuid_send(u), 8) >> 6 = 2) AS variant_10,
       count(*) FILTER (WHERE u::text ~ '^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$') AS text_form
  FROM (SELECT cruddur_uuid_v7() AS u FROM generate_series(1, 1000)) s;

-- The timestamp prefix is the time of the call in Unix milliseconds: taken
-- between two readings of the clock, allowing 5 ms either way for the
-- clock's resolution and for values made above that ran ahead of it
-- (244 ns per value at most, see uuid_v7.c).
SELECT clock_timestamp() AS before \gset
SELECT cruddur_uuid_v7() AS u \gset
SELECT clock_timestamp() AS after \gset
SELECT ('x' || substr(replace(:'u', '-', ''), 1, 12))::bit(48)::bigint
         BETWEEN floor(extract(epoch FROM :'before'::timestamptz) * 1000) - 5
             AND floor(extract(epoch FROM :'after'::timestamptz) * 1000) + 5 AS prefix_is_now;

-- 100,000 values made in one statement, hundreds in each millisecond:
-- each is greater than the one made before it (compared as uuid, the way
-- the primary key index orders them), and all are distinct.
WITH made AS MATERIALIZED (
	SELECT i, cruddur_uuid_v7() AS u FROM generate_series(1, 100000) AS i
), pairs AS (
	SELECT u, lag(u) OVER (ORDER BY i) AS prev FROM made
)
SELECT count(*) AS uuids,
       count(*) FILTER (WHERE prev IS NOT NULL AND u <= prev) AS not_increasing,
       count(DISTINCT u) AS distinct_uuids
  FROM pairs;

-- A later statement of the same backend continues above the last value,
-- and the prefix has not run away from the clock (100,000 values ran it at
-- most 25 ms ahead).
SELECT cruddur_uuid_v7() AS last \gset
SELECT cruddur_uuid_v7() > :'last'::uuid AS above_previous_statement,
       abs(('x' || substr(replace(cruddur_uuid_v7()::text, '-', ''), 1, 12))::bit(48)::bigint
           - floor(extract(epoch FROM clock_timestamp()) * 1000)) <= 50 AS prefix_near_clock;

-- It is the default of both primary keys.
SELECT attrelid::regclass AS "table", pg_get_expr(adbin, adrelid) AS "default"
  FROM pg_attrdef JOIN pg_attribute ON attrelid = adrelid AND attnum = adnum
 WHERE adrelid IN ('users'::regclass, 'activities'::regclass) AND attname = 'uuid'
 ORDER BY 1;
