#!/usr/bin/env bash
#
# test/memory.sh: no SQL-callable function of cruddur keeps memory per call.
#
# For each function, a fresh connection calls it 10,000 times in ONE
# statement and the backend's peak private memory is read from outside the
# statement (/proc/<backend pid>/status, from the shell psql spawns); then
# another fresh connection calls it 100,000 times.  Memory a call leaves
# behind in any context that outlives the call (the executor's, the
# transaction's, the cache's, or malloc's) adds up over the 90,000 extra
# calls; memory freed with each row's context does not.  The 100k peak may
# exceed the 10k peak by at most TOLERANCE_KB.
#
# Peak private memory = VmHWM - RssShmem - RssFile at the end of the
# statement.  VmHWM also counts shared buffers and mapped files the backend
# has touched, and 100,000 inserts touch more buffers than 10,000 without
# keeping any private memory; those pages stay mapped once touched, so their
# count at the end bounds what they added to the peak.
#
# Tolerance 1 MB: the smallest palloc chunk plus its header takes 24 bytes
# (cassert builds more), so even the smallest leak per call is >= 2 MB over
# 90,000 calls; what is left (malloc arenas rounding to pages, stack) moves
# the peak by at most a few hundred kB (test/README.md has a run's figures).
# An instrument
# check (string_agg keeping 33 bytes a row) must exceed it, or the
# measurement itself is broken and the suite fails.
#
# Every call's arguments come from a row of a prepared table read by a
# plain sequential scan, so the statement around the calls uses the same
# memory at 10,000 and 100,000 rows (no hash, sort, bitmap or tuplestore
# growing with the row count), and writes never touch the same row twice in
# a transaction (repeated updates of one row would grow combo CIDs, which is
# PostgreSQL's memory, not ours).  Every statement runs in a transaction
# rolled back, so the writes leave the data as prepared.
#
# Needs the server on this machine (it reads /proc), as with bin/pgenv.
#
set -uo pipefail
cd "$(dirname "$0")/.."

TOLERANCE_KB=1024
SMALL=10000
LARGE=100000
db=cruddur_memory_$$
failures=0

psql_db() { psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }
cleanup() { psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1; }
trap cleanup EXIT

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $db" || exit 1

# --- data: 100,000 people, one unexpired crud each, 5 replies to each of
# the first 100 cruds, and mem_t, one row of call arguments per n (no index:
# read by sequential scan).
psql_db -v large=$LARGE -v event="$(cat test/fixtures/cognito/post-confirmation-signup.json)" <<'SQL' || exit 1
SET client_min_messages = warning;
CREATE EXTENSION cruddur;
CREATE TABLE mem_t AS
SELECT g AS n,
	   md5('memory' || g)::uuid::text AS sub,
	   md5('fresh' || g)::uuid::text AS fresh_sub,
	   'mem_' || g AS handle,
	   timezone('UTC', now()) - g * interval '1 second' AS created_at,
	   NULL::uuid AS crud,
	   NULL::uuid AS replied_crud,
	   NULL::uuid AS third_crud,
	   NULL::uuid AS two_thirds_crud
  FROM generate_series(1, :large) g;
INSERT INTO users (display_name, handle, email, cognito_user_id)
SELECT 'Person ' || n, handle, handle || '@example.com', sub FROM mem_t;
INSERT INTO activities (user_uuid, message, expires_at, created_at)
SELECT u.uuid, 'crud of ' || t.handle, timezone('UTC', now()) + interval '30 days', t.created_at
  FROM mem_t t JOIN users u ON u.cognito_user_id = t.sub;
UPDATE mem_t t SET crud = a.uuid
  FROM users u JOIN activities a ON a.user_uuid = u.uuid
 WHERE u.cognito_user_id = t.sub;
-- the crud with replies that call n reads: one of the first 100
UPDATE mem_t t SET replied_crud = p.crud FROM mem_t p WHERE p.n = 1 + t.n % 100;
-- and the cruds a third and two thirds of the way further round
UPDATE mem_t t SET third_crud = p.crud FROM mem_t p WHERE p.n = 1 + (t.n + :large / 3) % :large;
UPDATE mem_t t SET two_thirds_crud = p.crud FROM mem_t p WHERE p.n = 1 + (t.n + 2 * :large / 3) % :large;
INSERT INTO activities (user_uuid, message, reply_to_activity_uuid, created_at)
SELECT u.uuid, 'reply ' || r, t.crud, t.created_at + r * interval '1 ms'
  FROM mem_t t JOIN users u ON u.cognito_user_id = t.sub, generate_series(1, 5) r
 WHERE t.n <= 100;
-- the Cognito event of the fixture, for person n (replay) or a new sub
CREATE FUNCTION mem_event(sub text, handle text) RETURNS jsonb LANGUAGE sql IMMUTABLE
RETURN jsonb_set(jsonb_set(jsonb_set(jsonb_set(jsonb_set(:'event'::jsonb,
	'{userName}', to_jsonb(sub)),
	'{request,userAttributes,sub}', to_jsonb(sub)),
	'{request,userAttributes,preferred_username}', to_jsonb(handle)),
	'{request,userAttributes,name}', to_jsonb('Person ' || substr(handle, 5))),
	'{request,userAttributes,email}', to_jsonb(handle || '@example.com'));
VACUUM ANALYZE;
SQL

# The calls, as expressions over a row t of mem_t.
names=(); exprs=()
call() { names+=("$1"); exprs+=("$2"); }
call "control: pg_catalog.md5 (not ours)" "md5(t.handle)"
call cruddur_uuid_v7 "cruddur_uuid_v7()"
call "cruddur_register_user (fresh subs)" "cruddur_register_user(mem_event(t.fresh_sub, 'new_' || t.n))"
call "cruddur_register_user (replays)" "cruddur_register_user(mem_event(t.sub, t.handle))"
call "cruddur_home_feed (first page, then after t's crud)" \
	"CASE WHEN t.n % 2 = 0 THEN cruddur_home_feed(20) ELSE cruddur_home_feed(20, t.created_at, t.crud) END" 0
call cruddur_user_feed "cruddur_user_feed(t.handle)"
call cruddur_activity "cruddur_activity(t.replied_crud)"
# Three cruds a row, 30,000 distinct at 10,000 rows and every one of the
# 100,000 at 100,000: the crud hints a backend keeps (src/feed_scan.c)
# reach their bound (29,000 in 896 kB) in both, and stop there
call "cruddur_activity (three cruds a row: the crud hints stay within their bound)" \
	"num_nonnulls(cruddur_activity(t.crud), cruddur_activity(t.third_crud), cruddur_activity(t.two_thirds_crud))"
call cruddur_user_short "cruddur_user_short(t.handle)"
call cruddur_create_activity "cruddur_create_activity(t.sub, 'memory crud ' || t.n, '7-days')"
call cruddur_create_reply "cruddur_create_reply(t.sub, t.crud, 'memory reply ' || t.n)"
call cruddur_update_profile "cruddur_update_profile(t.sub, 'Renamed ' || t.n, 'bio ' || t.n)"

# peak_kb SELECT-LIST N: peak private kB of a fresh backend after
# SELECT SELECT-LIST over N rows of mem_t, in a transaction rolled back.
peak_kb() {
	local out
	out=$(psql_db -At <<SQL
SELECT pg_backend_pid() AS pid \gset
\setenv CRUDDUR_BACKEND :pid
BEGIN;
SELECT $1 FROM mem_t t WHERE t.n <= $2;
\! awk '/^(VmHWM|RssShmem|RssFile):/ { kb[\$1] = \$2 } END { if (kb["VmHWM:"] == "") exit 1; print "peak_kb", kb["VmHWM:"] - kb["RssShmem:"] - kb["RssFile:"] }' /proc/\$CRUDDUR_BACKEND/status || echo "cannot read /proc/\$CRUDDUR_BACKEND/status: the server must run on this machine"
ROLLBACK;
SQL
) || return 1
	sed -n 's/^peak_kb //p' <<< "$out" | grep . || { echo "$out" >&2; return 1; }
}

# probe EXPR: one call, in a transaction rolled back; prints the SQLSTATE of its error, if any.
probe() {
	psql_db -At -v VERBOSITY=sqlstate -c "BEGIN" \
		-c "SELECT count($1) FROM mem_t t WHERE t.n = 1" -c "ROLLBACK" 2>&1 >/dev/null |
		sed -n 's/^.*ERROR: *\([0-9A-Z]\{5\}\).*$/\1/p' | head -1
}

measure() {
	local name=$1 expr=$2 state small large
	state=$(probe "$expr")
	if [ "$state" = 0A000 ]; then
		echo "SKIP: $name still raises feature_not_supported (0A000); NOT measured"
		return 0
	elif [ -n "$state" ]; then
		echo "FAIL: $name raised SQLSTATE $state on its first call"
		return 1
	fi
	small=$(peak_kb "count($expr)" $SMALL) &&
		large=$(peak_kb "count($expr)" $LARGE) ||
		{ echo "FAIL: $name: could not measure"; return 1; }
	if [ $((large - small)) -gt $TOLERANCE_KB ]; then
		echo "FAIL: $name: peak private memory ${small} kB after $SMALL calls, ${large} kB after $LARGE (+$((large - small)) kB > $TOLERANCE_KB kB)"
		return 1
	fi
	echo "ok: $name: ${small} kB after $SMALL calls, ${large} kB after $LARGE ($((large - small)) kB)"
}

# The instrument itself: string_agg keeps 33 bytes a row, about 3 MB more
# at 100,000 rows; if the measurement does not see that, it sees nothing.
small=$(peak_kb "length(string_agg(md5(t.handle), ','))" $SMALL) &&
	large=$(peak_kb "length(string_agg(md5(t.handle), ','))" $LARGE) ||
	{ echo "FAIL: instrument check: could not measure"; exit 1; }
if [ $((large - small)) -le $TOLERANCE_KB ]; then
	echo "FAIL: instrument check: string_agg grew only $((large - small)) kB from $SMALL to $LARGE rows"
	failures=$((failures + 1))
else
	echo "ok: instrument check: string_agg grows $((large - small)) kB from $SMALL to $LARGE rows (> $TOLERANCE_KB kB)"
fi

for i in "${!names[@]}"; do
	measure "${names[$i]}" "${exprs[$i]}" || failures=$((failures + 1))
done

[ $failures -eq 0 ] || { echo "memory: $failures failed"; exit 1; }
echo "memory: no per-call growth beyond $TOLERANCE_KB kB"
