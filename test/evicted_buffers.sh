#!/usr/bin/env bash
#
# test/evicted_buffers.sh: the C reads when the buffers they remember hold
# other pages.  The reads fetch a block through the buffer they last read it
# in (src/feed_scan.c, read_block), and a hint names an author's or a crud's
# row and the leaf page of a crud's replies; PostgreSQL may give any of
# those buffers to another page in between.  In a server of its own whose
# buffer pool is 16 pages (shared_buffers = 128kB, the least PostgreSQL
# takes), where every read evicts what the one before read:
#   - an author, a crud and its replies' leaf, each read once, then every
#     buffer taken by an index scan of another table: the second read of
#     each finds its blocks in no buffer (read from outside the pool, as
#     pg_stat_get_xact_blocks_fetched - hit counts them), still goes by its
#     hint (no descent of users_pkey, activities_pkey or
#     activities_replies_idx), and answers what the SQL answers;
#   - then test/differential.sh whole in that server: every read compared
#     byte for byte with the SQL it replaces, call after call, while the
#     pool cannot keep what the last call read.
# The C build's concern (no flavour remembers a buffer), so test/flavour.sh
# does not run it.
#
# Environment: PG_CONFIG names the server (15 by default), CRUDDUR_DESTDIR
# where cruddur is installed, as for test/replicas.sh.
#
set -euo pipefail
cd "$(dirname "$0")/.."
. test/clusters.bash
suite_work evicted
data=$work/data
trap 'stop_cluster "$pg" "$data"; rm -rf "$work"' EXIT
. test/tap.bash
port=$(free_port)
db=cruddur_evicted

new_cluster "$pg" "$data" "$port"
cluster_conf "$data" shared_buffers=128kB max_connections=8 autovacuum=off
start_cluster "$pg" "$data"
export PGHOST=localhost PGPORT=$port PGUSER=postgres
on() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }
[ "$(psql -X -At -d postgres -c 'SHOW shared_buffers')" = 128kB ] || fail "shared_buffers is not 128kB"

psql -X -q -d postgres -c "CREATE DATABASE $db"
on -c "CREATE EXTENSION cruddur" -f test/reference.sql > /dev/null
on -v people=30 -v cruds=1500 -f test/hostile_data.sql > /dev/null
# The other table: 2,000 rows of 1 kB, 286 heap pages, read by its index.
on -c "CREATE TABLE filler (id int PRIMARY KEY, pad text)" \
	-c "INSERT INTO filler SELECT i, repeat('x', 1000) FROM generate_series(1, 2000) i" \
	-c "VACUUM ANALYZE"
ok "$(on -c "SELECT pg_relation_size('activities') / 8192") pages of activities, $(on -c "SELECT pg_relation_size('filler') / 8192") of filler, 16 buffers"

# One session: each read twice, every buffer taken in between by an index
# scan of filler.  For each table or index named, the second read's counts
# (this transaction's, pg_stat_get_xact_*): whether it read blocks of it
# from outside the pool, and how many times it descended the index its hint
# spares.  Each line is checked below.
on > "$work/twice.out" <<'SQL'
SET enable_seqscan = off;
SET enable_bitmapscan = off;
CREATE FUNCTION pg_temp.twice(read text, reference text, rels regclass[], indexes regclass[])
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	answer text;
	expected text;
	before bigint[];
	i int;
BEGIN
	EXECUTE read INTO answer;
	PERFORM sum(pg_catalog.length(pad)) FROM public.filler WHERE id > 0;
	SELECT array_agg(pg_stat_get_xact_blocks_fetched(r) - pg_stat_get_xact_blocks_hit(r) ORDER BY o) ||
		   array_agg(pg_stat_get_xact_numscans(x) ORDER BY o)
	  INTO before FROM unnest(rels, indexes) WITH ORDINALITY AS t(r, x, o);
	EXECUTE read INTO answer;
	FOR i IN 1..cardinality(rels) LOOP
		RETURN NEXT format('%s: blocks of %s read from outside the pool: %s; descents of %s: %s',
			split_part(read, '(', 1), rels[i],
			(pg_stat_get_xact_blocks_fetched(rels[i]) - pg_stat_get_xact_blocks_hit(rels[i]) > before[i])::text,
			indexes[i], pg_stat_get_xact_numscans(indexes[i]) - before[cardinality(rels) + i]);
	END LOOP;
	EXECUTE reference INTO expected;
	RETURN NEXT format('%s: same as the SQL: %s', split_part(read, '(', 1),
					   (answer IS NOT DISTINCT FROM expected AND answer IS NOT NULL)::text);
END
$$;
SELECT a.uuid AS crud, u.handle
  FROM activities a JOIN users u ON u.uuid = a.user_uuid
 WHERE a.replies_count > 0 AND a.reply_to_activity_uuid IS NULL
   AND (a.expires_at IS NULL OR a.expires_at > timezone('UTC', now()))
 ORDER BY a.replies_count DESC, a.uuid LIMIT 1 \gset
SELECT pg_temp.twice(format('SELECT cruddur_activity(%L)::text', :'crud'),
					 format('SELECT cruddur_ref.activity(%L)::text', :'crud'),
					 '{activities,activities_replies_idx,users}', '{activities_pkey,activities_replies_idx,users_pkey}');
SELECT pg_temp.twice('SELECT cruddur_home_feed()::text', 'SELECT cruddur_ref.home_feed()::text',
					 '{users}', '{users_pkey}');
SELECT pg_temp.twice(format('SELECT cruddur_user_feed(%L)::text', :'handle'),
					 format('SELECT cruddur_ref.user_feed(%L)::text', :'handle'),
					 '{activities}', '{activities_user_feed_idx}');
SQL
cat "$work/twice.out"
expect() { grep -qxF "$1" "$work/twice.out" || fail "$1"; ok "$1"; }
for rel in "activities activities_pkey" "activities_replies_idx activities_replies_idx" "users users_pkey"; do
	set -- $rel
	expect "SELECT cruddur_activity: blocks of $1 read from outside the pool: true; descents of $2: 0"
done
expect "SELECT cruddur_home_feed: blocks of users read from outside the pool: true; descents of users_pkey: 0"
expect "SELECT cruddur_user_feed: blocks of activities read from outside the pool: true; descents of activities_user_feed_idx: 1"
for f in activity home_feed user_feed; do
	expect "SELECT cruddur_$f: same as the SQL: true"
done

# Every read against the SQL, in this server.
bash test/differential.sh || fail "test/differential.sh with 16 buffers"
ok "test/differential.sh with 16 buffers"
