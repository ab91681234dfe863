#!/usr/bin/env bash
#
# test/storm.sh: a pgbench storm of the app's writes and reads from 32
# clients in READ COMMITTED, then checks that the database holds exactly
# what it should.  Before the storm, a check that no call of a write opens a
# subtransaction.  test/README.md says what this proves and how.
#
# Runs against the cluster the PG* variables name (bin/pgenv provides one
# with max_connections=100), in a database of its own, dropped at the end.
# STORM_CLIENTS and STORM_SECONDS override the size of the storm.
#
set -euo pipefail
cd "$(dirname "$0")/.."
. test/route.bash

clients=${STORM_CLIENTS:-32}
seconds=${STORM_SECONDS:-20}
db=cruddur_storm_$$
work=$(mktemp -d)
failed=0

cleanup() {
	rm -rf "$work"
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; failed=1; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }

psql -X -q -d postgres -v ON_ERROR_STOP=1 -c "CREATE DATABASE $db"
create_cruddur -d "$db"

# Fixed data: five people already registered ("seeded"), three hot cruds
# that everyone replies to, and a log of the subs registered, so that the
# end state can be checked exactly.  Subs are canonical lower-case UUIDs.
q <<'SQL'
CREATE TABLE storm_subs (sub text NOT NULL);
CREATE TABLE storm_profiles (sub text NOT NULL, display_name text NOT NULL);
INSERT INTO users (display_name, handle, email, cognito_user_id)
SELECT 'Seeded ' || i, 'seeded_' || i, 'seeded' || i || '@example.com',
	   '5eed0000-0000-4000-8000-' || lpad(i::text, 12, '0')
  FROM generate_series(1, 5) AS i;
INSERT INTO storm_subs SELECT cognito_user_id FROM users;
INSERT INTO activities (uuid, user_uuid, message)
SELECT ('407c0000-0000-7000-8000-' || lpad(i::text, 12, '0'))::uuid,
	   (SELECT uuid FROM users WHERE handle = 'seeded_1'), 'hot crud ' || i
  FROM generate_series(1, 3) AS i;
SQL

# Is a function still a stub on this branch?  Then its part is left out,
# loudly.
implemented() {
	local out
	if out=$(q -c "$2" 2>&1); then return 0; fi
	if grep -q 'is not implemented yet' <<<"$out"; then
		echo "SKIP: $1 is not implemented yet: its part of the storm and of the subtransaction check is left out"
		skipped+=("$1")
		return 1
	fi
	echo "$out"
	fail "probe of $1 failed"
	return 1
}

# A Post Confirmation event in SQL, for sub expression $1, handle $2.
event() {
	echo "jsonb_build_object('triggerSource', 'PostConfirmation_ConfirmSignUp',
		'request', jsonb_build_object('userAttributes', jsonb_build_object(
			'sub', $1, 'email', 'storm@example.com', 'preferred_username', $2,
			'name', 'Storm Person')))"
}

skipped=()
have_register=0; have_reply=0; have_profile=0; have_activity=0; have_feed=0
implemented cruddur_register_user \
	"SELECT cruddur_register_user($(event "'5eed0000-0000-4000-8000-000000000001'" "'seeded_1'"))" &&
	have_register=1
implemented cruddur_create_reply \
	"BEGIN; SELECT cruddur_create_reply('5eed0000-0000-4000-8000-000000000001', '407c0000-0000-7000-8000-000000000001', 'probe'); ROLLBACK" &&
	have_reply=1
implemented cruddur_update_profile \
	"BEGIN; SELECT cruddur_update_profile('5eed0000-0000-4000-8000-000000000001', 'Probe', NULL); ROLLBACK" &&
	have_profile=1
implemented cruddur_create_activity \
	"BEGIN; SELECT cruddur_create_activity('5eed0000-0000-4000-8000-000000000001', 'probe', '1-day'); ROLLBACK" &&
	have_activity=1
implemented cruddur_home_feed "SELECT cruddur_home_feed(20)" && have_feed=1

# --- No subtransaction per call ----------------------------------------
#
# With client_min_messages at DEBUG5 the server sends the client one
# "StartSubTransaction" line for every subtransaction it starts (xact.c,
# ShowTransactionState), whether or not it gets an XID: SAVEPOINT, a
# PL/pgSQL EXCEPTION block, BeginInternalSubTransaction in C.  (It prints
# the whole stack of transaction states, one line per level, so exactly one
# line per start names level 1.)  Each write is called 100 times in one
# transaction and the lines are counted; two controls first prove that the
# method sees a subtransaction with an XID and one without.
subxacts() {
	q -c "BEGIN" -c "SET LOCAL client_min_messages = debug5" -c "$1" -c "ROLLBACK" 2>&1 >/dev/null |
		grep -c 'StartSubTransaction(1)' || true
}
# the controls: a subtransaction with an XID, and one without
control() {
	local n
	n=$(subxacts "$2")
	if [ "$n" -ne 1 ]; then
		fail "$1 showed $n subtransaction starts, not 1: the check cannot see subtransactions"
	else
		echo "subtransactions: control $1 seen"
	fi
}
control "SAVEPOINT around an INSERT" \
	"SAVEPOINT control; INSERT INTO storm_subs VALUES ('control'); RELEASE control"
control "PL/pgSQL EXCEPTION block around a read" \
	"DO \$\$BEGIN PERFORM FROM users; EXCEPTION WHEN OTHERS THEN NULL; END\$\$"
check_subxacts() {
	local n
	n=$(subxacts "$2")
	if [ "$n" -ne 0 ]; then
		fail "$1 started $n subtransactions"
	else
		echo "subtransactions: none in $1"
	fi
}
if [ $have_register -eq 1 ]; then
	check_subxacts "100 cruddur_register_user of new people" \
		"SELECT count(cruddur_register_user($(event "'5b000000-0000-4000-8000-' || lpad(i::text, 12, '0')" "'sub_' || i"))) FROM generate_series(1, 100) AS i"
	check_subxacts "100 cruddur_register_user of new people asking for a taken handle" \
		"SELECT count(cruddur_register_user($(event "'5b000000-0000-4000-8000-' || lpad(i::text, 12, '0')" "'Seeded_1'"))) FROM generate_series(1, 100) AS i"
	check_subxacts "100 cruddur_register_user replays" \
		"SELECT count(cruddur_register_user($(event "'5eed0000-0000-4000-8000-000000000001'" "'seeded_1'"))) FROM generate_series(1, 100)"
fi
check_subxacts "INSERT and DELETE of 102 replies (replies_count triggers)" \
	"WITH r AS (INSERT INTO activities (user_uuid, message, reply_to_activity_uuid)
				SELECT user_uuid, 'reply ' || i, uuid FROM activities, generate_series(1, 34) AS i
				 WHERE reply_to_activity_uuid IS NULL RETURNING uuid)
	 SELECT count(*) FROM r; DELETE FROM activities WHERE reply_to_activity_uuid IS NOT NULL"
[ $have_reply -eq 1 ] && check_subxacts "100 cruddur_create_reply" \
	"SELECT count(cruddur_create_reply('5eed0000-0000-4000-8000-000000000001', '407c0000-0000-7000-8000-000000000001', 'reply ' || i)) FROM generate_series(1, 100) AS i"
[ $have_profile -eq 1 ] && check_subxacts "100 cruddur_update_profile" \
	"SELECT count(cruddur_update_profile('5eed0000-0000-4000-8000-000000000001', 'Name ' || i, NULL)) FROM generate_series(1, 100) AS i"
[ $have_activity -eq 1 ] && check_subxacts "100 cruddur_create_activity" \
	"SELECT count(cruddur_create_activity('5eed0000-0000-4000-8000-000000000001', 'crud ' || i, '1-day')) FROM generate_series(1, 100) AS i"

# --- The storm ----------------------------------------------------------
#
# One pgbench script per kind of transaction, picked at random by weight.
# Every registration also logs its sub (in canonical form) in the same
# transaction, and every profile update its new name.
scripts=()
if [ $have_register -eq 1 ]; then
	# the same eight new people, registered from every client at once, the
	# sub spelled in upper or lower case
	cat >"$work/register_contested.sql" <<SQL
\set n random(1, 8)
\set upper random(0, 1)
BEGIN;
SELECT cruddur_register_user($(event "CASE WHEN :upper = 1 THEN upper(s.sub) ELSE s.sub END" "'contested_' || :n")) FROM (SELECT 'c0de0000-0000-4000-8000-' || lpad(:n::text, 12, '0') AS sub) s;
INSERT INTO storm_subs VALUES ('c0de0000-0000-4000-8000-' || lpad(:n::text, 12, '0'));
COMMIT;
SQL
	# fresh people, half of them asking for one of twenty handles in some
	# mix of case (so most get a derived handle)
	cat >"$work/register_fresh.sql" <<SQL
\set r random(1, 281474976710655)
\set h random(1, 20)
\set c random(1, 4)
\set collide random(0, 1)
BEGIN;
SELECT cruddur_register_user($(event "s.sub" "CASE WHEN :collide = 1 THEN (ARRAY['storm_', 'STORM_', 'Storm_', 'sToRm_'])[:c] || :h ELSE 'fresh_' || :r END")) FROM (SELECT 'f7e50000-0000-4000-8000-' || lpad(to_hex(:r), 12, '0') AS sub) s;
INSERT INTO storm_subs VALUES ('f7e50000-0000-4000-8000-' || lpad(to_hex(:r), 12, '0'));
COMMIT;
SQL
	# replays of the seeded people, racing their profile updates
	cat >"$work/register_replay.sql" <<SQL
\set n random(1, 5)
SELECT cruddur_register_user($(event "'5eed0000-0000-4000-8000-' || lpad(:n::text, 12, '0')" "'seeded_' || :n"));
SQL
	scripts+=(-f "$work/register_contested.sql@2" -f "$work/register_fresh.sql@2" -f "$work/register_replay.sql@2")
fi
if [ $have_reply -eq 1 ]; then
	cat >"$work/reply.sql" <<'SQL'
\set n random(1, 5)
\set h random(1, 3)
SELECT cruddur_create_reply('5eed0000-0000-4000-8000-' || lpad(:n::text, 12, '0'), ('407c0000-0000-7000-8000-' || lpad(:h::text, 12, '0'))::uuid, 'storm reply');
SQL
	scripts+=(-f "$work/reply.sql@4")
fi
# plain INSERTs and DELETEs of replies keep the counters busy too
cat >"$work/insert_reply.sql" <<'SQL'
\set h random(1, 3)
INSERT INTO activities (user_uuid, message, reply_to_activity_uuid) SELECT uuid, 'storm insert', ('407c0000-0000-7000-8000-' || lpad(:h::text, 12, '0'))::uuid FROM users WHERE handle = 'seeded_2';
SQL
cat >"$work/delete_reply.sql" <<'SQL'
\set h random(1, 3)
DELETE FROM activities WHERE uuid = (SELECT uuid FROM activities WHERE reply_to_activity_uuid = ('407c0000-0000-7000-8000-' || lpad(:h::text, 12, '0'))::uuid ORDER BY created_at, uuid LIMIT 1);
SQL
scripts+=(-f "$work/insert_reply.sql@2" -f "$work/delete_reply.sql@2")
if [ $have_profile -eq 1 ]; then
	cat >"$work/profile.sql" <<'SQL'
\set n random(1, 5)
BEGIN;
SELECT cruddur_update_profile('5eed0000-0000-4000-8000-' || lpad(:n::text, 12, '0'), 'Updated ' || :client_id, 'bio of ' || :client_id);
INSERT INTO storm_profiles VALUES ('5eed0000-0000-4000-8000-' || lpad(:n::text, 12, '0'), 'Updated ' || :client_id);
COMMIT;
SQL
	scripts+=(-f "$work/profile.sql@2")
fi
if [ $have_activity -eq 1 ]; then
	cat >"$work/crud.sql" <<'SQL'
\set n random(1, 5)
SELECT cruddur_create_activity('5eed0000-0000-4000-8000-' || lpad(:n::text, 12, '0'), 'storm crud', '1-day');
SQL
	scripts+=(-f "$work/crud.sql@1")
fi
if [ $have_feed -eq 1 ]; then
	echo 'SELECT cruddur_home_feed(20);' >"$work/home_feed.sql"
	scripts+=(-f "$work/home_feed.sql@3")
fi

echo "storm: $clients clients for $seconds s, scripts: $(printf '%s ' "${scripts[@]}" | sed "s|$work/||g; s|-f ||g")"
set +e
PGOPTIONS='-c client_min_messages=warning' \
	pgbench -n -d "$db" -c "$clients" -j 2 -T "$seconds" "${scripts[@]}" >"$work/pgbench.out" 2>&1
rc=$?
set -e
grep -E '^(number of clients|number of transactions actually processed|number of failed transactions|tps)' "$work/pgbench.out" || true
[ $rc -eq 0 ] || { sed -n 1,40p "$work/pgbench.out"; fail "pgbench exited with status $rc"; }
grep -q '^number of failed transactions: 0 ' "$work/pgbench.out" ||
	fail "pgbench reports failed transactions"
if grep -q -E 'aborted|ERROR' "$work/pgbench.out"; then
	grep -E 'aborted|ERROR' "$work/pgbench.out" | sort | uniq -c | head -20
	fail "a client hit an error"
fi
processed=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$work/pgbench.out")
[ "${processed:-0}" -gt 0 ] || fail "the storm processed no transaction"

# --- What the database holds now ----------------------------------------
check() {
	local what=$1 sql=$2 got
	got=$(q -c "$sql")
	if [ "$got" = "0" ]; then echo "ok: $what"; else fail "$what: $got"; fi
}
check "no two users with the same cognito_user_id" \
	"SELECT count(*) FROM (SELECT FROM users GROUP BY cognito_user_id HAVING count(*) > 1) d"
check "no two handles equal regardless of case" \
	"SELECT count(*) FROM (SELECT FROM users GROUP BY lower(handle COLLATE \"C\") HAVING count(*) > 1) d"
check "every handle valid" \
	"SELECT count(*) FROM users WHERE handle COLLATE \"C\" !~ '^[A-Za-z0-9_]{1,32}\$'"
check "every replies_count equals the real number of replies" \
	"SELECT count(*) FROM activities a WHERE replies_count <> (SELECT count(*) FROM activities r WHERE r.reply_to_activity_uuid = a.uuid)"
check "every cruds_count equals the person's real number of activities" \
	"SELECT count(*) FROM users u WHERE cruds_count <> (SELECT count(*) FROM activities a WHERE a.user_uuid = u.uuid)"
if [ $have_register -eq 1 ]; then
	check "one user per distinct sub registered, and no other" \
		"SELECT count(*) FROM (SELECT sub FROM storm_subs UNION SELECT cognito_user_id FROM users) s
		  WHERE (SELECT count(*) FROM users u WHERE u.cognito_user_id = s.sub) <> 1
			 OR NOT EXISTS (SELECT FROM storm_subs l WHERE l.sub = s.sub)"
fi
if [ $have_profile -eq 1 ]; then
	check "every profile update kept (no replay reverted it)" \
		"SELECT count(*) FROM users u WHERE EXISTS (SELECT FROM storm_profiles p WHERE p.sub = u.cognito_user_id)
		    AND NOT EXISTS (SELECT FROM storm_profiles p WHERE p.sub = u.cognito_user_id AND p.display_name = u.display_name)"
fi
q -c "SELECT 'end state: ' || (SELECT count(*) FROM users) || ' users, ' ||
		(SELECT count(*) FROM activities WHERE reply_to_activity_uuid IS NULL) || ' cruds, ' ||
		(SELECT count(*) FROM activities WHERE reply_to_activity_uuid IS NOT NULL) || ' replies'"

if [ ${#skipped[@]} -gt 0 ]; then
	echo "SKIP: left out because still stubs: ${skipped[*]}"
fi
echo "storm: $clients clients, ${processed:-0} transactions, $([ $failed -eq 0 ] && echo passed || echo FAILED)"
exit $failed
