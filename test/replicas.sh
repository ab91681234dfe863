#!/usr/bin/env bash
#
# test/replicas.sh: cruddur's reads served from replicas, on clusters of
# its own of the PostgreSQL $PG_CONFIG names (test/clusters.bash), all on
# loopback: a primary (wal_level logical) with the test data, a hot standby
# made with pg_basebackup -R, and a logical-replication subscriber with
# cruddur installed.
#
# - Once replay has caught up, every read (test/pg_upgrade/reads.sql: the
#   whole home feed, every person's feed and short profile, every crud)
#   returns on the standby the JSON it returns on the primary, the home
#   feed served there by its direct index read (auto_explain logs no plan).
# - While the primary takes cruds, replies and profile edits (pgbench, one
#   client), every read on the standby equals, in the same REPEATABLE READ
#   snapshot, the SQL it replaces (test/reference.sql): the home feed's
#   first pages, feeds, profiles and cruds of people and cruds picked at
#   random; and the standby is seen moving during the run.
# - On the standby every write (a crud, a reply, a profile edit, a
#   registration) fails with SQLSTATE 25006 (read-only transaction), while
#   a PreSignUp check, which writes nothing, answers with its event, and
#   cruddur_uuid_v7 works.
# - A subscriber (publication of both tables, made by the superuser, who
#   owns them), after catch-up, returns the primary's JSON for every read
#   (the home feed by its direct read), and its kept counts (replies_count,
#   cruds_count) are exact, also after more writes and deletes.
#
# Needs root (the clusters run as postgres) and cruddur installed for
# $PG_CONFIG (or in $CRUDDUR_DESTDIR, as bin/test does).
#
set -euo pipefail
cd "$(dirname "$0")/.."
. test/clusters.bash
suite_work replicas
primary=$work/primary standby=$work/standby subscriber=$work/subscriber
teardown() {
	stop_cluster "$pg" "$subscriber"
	stop_cluster "$pg" "$standby"
	stop_cluster "$pg" "$primary"
	rm -rf "$work"
}
trap teardown EXIT
. test/tap.bash
p1=$(free_port) p2=$(free_port) p3=$(free_port)
db=cruddur_replicas
on() { local port=$1; shift; psql -X -q -At -v ON_ERROR_STOP=1 -h localhost -p "$port" -U postgres -d "$db" "$@"; }

new_cluster "$pg" "$primary" "$p1"
cluster_conf "$primary" wal_level=logical max_connections=40
start_cluster "$pg" "$primary"
psql -X -q -h localhost -p "$p1" -U postgres -d postgres -c "CREATE DATABASE $db"
on "$p1" -c "CREATE EXTENSION cruddur" -f test/reference.sql > /dev/null
on "$p1" -v people=60 -v cruds=1500 -f test/hostile_data.sql > /dev/null
on "$p1" -c "SET client_min_messages = warning" -c "DROP SCHEMA hostile CASCADE"
on "$p1" -1 -f test/fixtures/data.sql > /dev/null
on "$p1" -v event="$(cat test/fixtures/cognito/post-confirmation-signup.json)" \
	-f test/fixtures/data_api.sql > "$work/api.out"
! grep '^# SKIP' "$work/api.out" || fail "a write function is missing"
# A read changes when an expiry passes: none is left within an hour of now,
# so that reads a few seconds apart see the same rows.
on "$p1" -c "UPDATE activities SET expires_at = expires_at + CASE WHEN expires_at > timezone('UTC', now())
		THEN interval '1 day' ELSE interval '-1 day' END
	WHERE expires_at BETWEEN timezone('UTC', now()) - interval '1 hour' AND timezone('UTC', now()) + interval '1 hour'"
ok "primary: $(on "$p1" -c "SELECT count(*) FROM users") people, $(on "$p1" -c "SELECT count(*) FROM activities") activities"

# caught_up PORT: wait until the standby on PORT has replayed the primary's
# current WAL position
caught_up() {
	local lsn i
	lsn=$(on "$p1" -c "SELECT pg_current_wal_lsn()")
	for i in $(seq 600); do
		[ "$(on "$1" -c "SELECT pg_last_wal_replay_lsn() >= '$lsn'")" = t ] && return 0
		sleep 0.1
	done
	fail "the standby did not replay up to $lsn in 60 s"
}

# --- hot standby -------------------------------------------------------------
as_postgres env PGPASSWORD="$PGPASSWORD" "$bin/pg_basebackup" -h localhost -p "$p1" -U postgres \
	-D "$standby" -R -X stream -c fast > "$work/basebackup.log" 2>&1 ||
	{ cat "$work/basebackup.log"; fail "pg_basebackup -R"; }
cluster_conf "$standby" "port=$p2" hot_standby_feedback=on
start_cluster "$pg" "$standby"
[ "$(on "$p2" -c "SELECT pg_is_in_recovery()")" = t ] || fail "the standby is not in recovery"
caught_up "$p2"
on "$p1" -f test/pg_upgrade/reads.sql > "$work/reads.primary"
on "$p2" -f test/pg_upgrade/reads.sql > "$work/reads.standby"
[ "$(grep -c '^home ' "$work/reads.primary")" -gt 50 ] || fail "too few reads"
diff -u "$work/reads.primary" "$work/reads.standby" | head -20
cmp -s "$work/reads.primary" "$work/reads.standby" || fail "the standby's reads differ from the primary's"
ok "hot standby caught up: all $(wc -l < "$work/reads.standby") reads return the primary's JSON"
# plans PORT: how many plans of the home feed's query 3 calls run there
# (auto_explain, as test/differential.sh: none when the direct index read
# serves, one a call when the saved plan does)
plans() {
	local log
	log=$(on "$1" -c "LOAD 'auto_explain'" -c 'SET auto_explain.log_min_duration = 0' \
		-c 'SET auto_explain.log_nested_statements = on' -c 'SET client_min_messages = log' \
		-c "SELECT cruddur_home_feed(20), cruddur_home_feed(1000), cruddur_home_feed(7, 'infinity', gen_random_uuid())" \
		2>&1 >/dev/null) || fail "auto_explain on port $1: $log"
	grep -c 'Query Text: SELECT a.uuid, u.display_name' <<< "$log" || true
}
on "$p1" -c 'ALTER TABLE activities ENABLE ROW LEVEL SECURITY'
n=$(plans "$p1")
on "$p1" -c 'ALTER TABLE activities DISABLE ROW LEVEL SECURITY'
[ "$n" = 3 ] || fail "the instrument: with row level security the primary logged $n plans for 3 calls, not 3"
[ "$(plans "$p2")" = 0 ] || fail "on the standby the home feed ran its saved plan, not the direct read"
ok "on the standby the home feed is served by the direct index read (no plan logged; 3 for 3 calls on the primary with row level security)"

# Writes on the primary while the standby is read: cruds, replies to the
# newest cruds, profile edits, by people picked at random.
cat > "$work/writes.sql" <<'EOF'
\set p random(1, 60)
SELECT cruddur_create_activity(md5('registered ' || :p)::uuid::text, 'live crud ' || :p, '1-day');
SELECT cruddur_create_reply(md5('registered ' || :p)::uuid::text,
	(SELECT uuid FROM activities WHERE reply_to_activity_uuid IS NULL AND message LIKE 'live crud %'
	  ORDER BY created_at DESC LIMIT 1), 'live reply ' || :p);
SELECT cruddur_update_profile(md5('registered ' || :p)::uuid::text, 'Live ' || :p, 'bio ' || random());
EOF
before=$(on "$p2" -c "SELECT count(*) FROM activities")
pgbench -n -h localhost -p "$p1" -U postgres -c 1 -T 15 -f "$work/writes.sql" "$db" > "$work/pgbench.log" 2>&1 &
writer=$!
# One snapshot per round: the C reads and the reference SQL side by side.
cat > "$work/compare.sql" <<'EOF'
BEGIN ISOLATION LEVEL REPEATABLE READ;
WITH people AS (SELECT handle FROM users ORDER BY random() LIMIT 5),
cruds AS (SELECT uuid FROM activities ORDER BY random() LIMIT 20),
page AS (SELECT cruddur_home_feed(20) AS j),
checks (same) AS (
	SELECT cruddur_home_feed(20)::text = cruddur_ref.home_feed(20)::text
	UNION ALL
	SELECT cruddur_home_feed(20, (j -> -1 ->> 'created_at')::timestamp, (j -> -1 ->> 'uuid')::uuid)::text
		   = cruddur_ref.home_feed(20, (j -> -1 ->> 'created_at')::timestamp, (j -> -1 ->> 'uuid')::uuid)::text
	  FROM page WHERE json_array_length(j) > 0
	UNION ALL
	SELECT cruddur_user_feed(handle)::text IS NOT DISTINCT FROM cruddur_ref.user_feed(handle)::text
	   AND cruddur_user_short(handle)::text IS NOT DISTINCT FROM cruddur_ref.user_short(handle)::text
	  FROM people
	UNION ALL
	SELECT cruddur_activity(uuid)::text IS NOT DISTINCT FROM cruddur_ref.activity(uuid)::text FROM cruds
)
SELECT count(*) || ' ' || count(*) FILTER (WHERE NOT same) || ' ' || (SELECT count(*) FROM activities)
  FROM checks;
COMMIT;
EOF
rounds=0 compared=0 seen=()
while kill -0 "$writer" 2>/dev/null; do
	read -r n bad count <<< "$(on "$p2" -f "$work/compare.sql")"
	[ "$bad" -eq 0 ] || fail "round $rounds on the standby: $bad of $n reads differ from the reference SQL in one snapshot"
	rounds=$((rounds + 1)) compared=$((compared + n)) seen+=("$count")
done
wait "$writer" || { cat "$work/pgbench.log"; fail "the writes on the primary (pgbench)"; }
written=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$work/pgbench.log")
distinct=$(printf '%s\n' "${seen[@]}" | sort -u | wc -l)
[ "$rounds" -ge 10 ] && [ "$distinct" -ge 3 ] ||
	fail "the standby was read $rounds times and seen at $distinct row counts: too few to say it moved"
ok "while the primary wrote ($written rounds of a crud, a reply and a profile edit), $compared reads on the standby in $rounds snapshots equal the reference SQL; the standby moved ($before to ${seen[-1]} activities, $distinct counts seen)"
caught_up "$p2"
on "$p1" -f test/pg_upgrade/reads.sql > "$work/reads.primary"
on "$p2" -f test/pg_upgrade/reads.sql > "$work/reads.standby"
cmp -s "$work/reads.primary" "$work/reads.standby" || fail "after the writes, the standby's reads differ from the primary's"
ok "after the writes, caught up again: all $(wc -l < "$work/reads.standby") reads equal"

# Every write refused as read-only; what writes nothing still answers.
sub=$(on "$p2" -c "SELECT cognito_user_id FROM users ORDER BY uuid LIMIT 1")
crud=$(on "$p2" -c "SELECT uuid FROM activities WHERE reply_to_activity_uuid IS NULL
	AND (expires_at IS NULL OR expires_at > timezone('UTC', now())) ORDER BY uuid LIMIT 1")
for call in "cruddur_create_activity('$sub', 'on the standby')" \
			"cruddur_create_reply('$sub', '$crud', 'on the standby')" \
			"cruddur_update_profile('$sub', 'Standby', NULL)" \
			"cruddur_register_user('$(sed 's/"sub": "[^"]*"/"sub": "00000000-0000-4000-8000-00000000abcd"/' test/fixtures/cognito/post-confirmation-signup.json | tr -d '\n')')"; do
	state=$(on "$p2" -c "DO \$\$ BEGIN PERFORM $call; RAISE EXCEPTION 'no error'; EXCEPTION WHEN OTHERS THEN RAISE NOTICE '%', SQLSTATE; END \$\$" 2>&1 |
				sed -n 's/^NOTICE: *//p')
	[ "$state" = 25006 ] || fail "${call%%(*} on the standby: SQLSTATE $state, expected 25006 (read-only transaction)"
done
ok "on the standby, the three writes and a PostConfirmation registration fail with 25006"
event=$(tr -d '\n' < test/fixtures/cognito/pre-signup.json)
[ "$(on "$p2" -c "SELECT cruddur_register_user('$event') = '$event'::jsonb AND cruddur_uuid_v7() IS NOT NULL")" = t ] ||
	fail "a PreSignUp check or cruddur_uuid_v7 on the standby"
ok "a PreSignUp check answers with its event there, and cruddur_uuid_v7 works"

# --- logical replication -------------------------------------------------------
new_cluster "$pg" "$subscriber" "$p3"
start_cluster "$pg" "$subscriber"
psql -X -q -h localhost -p "$p3" -U postgres -d postgres -c "CREATE DATABASE $db"
on "$p3" -c "CREATE EXTENSION cruddur" -f test/reference.sql > /dev/null
on "$p1" -c "CREATE PUBLICATION cruddur_pub FOR TABLE users, activities"
on "$p3" -c "CREATE SUBSCRIPTION cruddur_sub CONNECTION 'host=localhost port=$p1 dbname=$db user=postgres password=$PGPASSWORD' PUBLICATION cruddur_pub" 2>/dev/null
# subscribed_up: the initial copy done and both tables, row for row, as on
# the primary (replies_count included)
rows="SELECT (SELECT count(*) || md5(string_agg(u::text, '' ORDER BY uuid)) FROM users u)
	|| (SELECT count(*) || md5(string_agg(a::text, '' ORDER BY uuid)) FROM activities a)"
subscribed_up() {
	local want i
	want=$(on "$p1" -c "$rows")
	for i in $(seq 600); do
		[ "$(on "$p3" -c "SELECT bool_and(srsubstate = 'r') FROM pg_subscription_rel")" = t ] &&
			[ "$(on "$p3" -c "$rows")" = "$want" ] && return 0
		sleep 0.1
	done
	fail "the subscriber's rows did not become the primary's in 60 s"
}
subscribed_up
wrong_counts="SELECT (SELECT count(*) FROM activities p
	WHERE replies_count <> (SELECT count(*) FROM activities c WHERE c.reply_to_activity_uuid = p.uuid))
	+ (SELECT count(*) FROM users u WHERE cruds_count <> (SELECT count(*) FROM activities a WHERE a.user_uuid = u.uuid))"
on "$p1" -f test/pg_upgrade/reads.sql > "$work/reads.primary"
on "$p3" -f test/pg_upgrade/reads.sql > "$work/reads.subscriber"
diff -u "$work/reads.primary" "$work/reads.subscriber" | head -20
cmp -s "$work/reads.primary" "$work/reads.subscriber" || fail "the subscriber's reads differ from the primary's"
[ "$(on "$p3" -c "$wrong_counts")" = 0 ] || fail "replies_count or cruds_count wrong on the subscriber"
[ "$(plans "$p3")" = 0 ] || fail "on the subscriber the home feed ran its saved plan"
ok "logical subscriber caught up: all $(wc -l < "$work/reads.subscriber") reads return the primary's JSON, replies_count and cruds_count exact"
pgbench -n -h localhost -p "$p1" -U postgres -c 1 -t 200 -f "$work/writes.sql" "$db" > "$work/pgbench.log" 2>&1 ||
	{ cat "$work/pgbench.log"; fail "more writes on the primary"; }
on "$p1" -c "DELETE FROM activities WHERE uuid IN (SELECT reply_to_activity_uuid FROM activities
	WHERE message LIKE 'live reply %' ORDER BY created_at LIMIT 5)"
subscribed_up
on "$p1" -f test/pg_upgrade/reads.sql > "$work/reads.primary"
on "$p3" -f test/pg_upgrade/reads.sql > "$work/reads.subscriber"
cmp -s "$work/reads.primary" "$work/reads.subscriber" || fail "after more writes, the subscriber's reads differ"
[ "$(on "$p3" -c "$wrong_counts")" = 0 ] || fail "replies_count or cruds_count wrong on the subscriber after more writes"
ok "after 200 more rounds of writes and deletes of cruds with replies: reads equal, replies_count and cruds_count exact"
