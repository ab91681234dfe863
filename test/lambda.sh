#!/usr/bin/env bash
#
# test/lambda.sh: examples/lambda/handler.py, the real handler with Debian's
# psycopg2, against the cluster the PG* environment variables name and a
# server of its own that it stops and restarts; once directly and once
# through pgbouncer (examples/pgbouncer/pgbouncer.ini, transaction pooling).
# test/clients/lambda_test.py lists the cases; test/README.md says more.
#
set -euo pipefail
cd "$(dirname "$0")/.."
. test/clients.bash cruddur_lambda
. test/clusters.bash
need_packages python3-psycopg2 pgbouncer

owner=${id}_owner lambda=${id}_lambda app=${id}_app db=${id}_db
logins "$owner" "$lambda" "$app"
app_database "$db" "$owner" "$lambda" "$app"

# The server of its own, on loopback, reading the extension from where the
# suite's cluster does; local connections trusted, TCP with passwords.
# (of the suite's major; bin/test's CRUDDUR_DESTDIR, else the cluster's
# extension_destdir, which 18 has not)
pg_config=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config} pg=$("${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}" --bindir)
pdata=$srv/private pport=$(free_port)
export CRUDDUR_DESTDIR=${CRUDDUR_DESTDIR:-$(su postgres -c "SELECT current_setting('extension_destdir', true)")}
run_as_server_user $pg/initdb -D "$pdata" -U postgres --auth-local=trust --auth-host=scram-sha-256 >/dev/null
cat >>"$pdata/postgresql.conf" <<CONF
port = $pport
listen_addresses = '127.0.0.1'
unix_socket_directories = '$srv'
CONF
cluster_conf "$pdata" $(destdir_opts "$pg_config")
printf '#!/bin/sh\nexec %s %s/pg_ctl -D %s -l %s/private.log -w -m fast "$1"\n' \
	"$([ "$(id -u)" -eq 0 ] && echo 'runuser -u postgres --')" "$pg" "$pdata" "$srv" >"$tmp/private_ctl"
chmod 755 "$tmp/private_ctl"
"$tmp/private_ctl" start >/dev/null
trap '"$tmp/private_ctl" stop >/dev/null 2>&1 || true; stop_pgbouncer; cleanup' EXIT
psql -X -q -v ON_ERROR_STOP=1 -h "$srv" -p "$pport" -U postgres -d postgres \
	-c "CREATE ROLE \"$lambda\" LOGIN PASSWORD '$pw'" -c "CREATE DATABASE cruddur"
psql -X -q -v ON_ERROR_STOP=1 -h "$srv" -p "$pport" -U postgres -d cruddur -c "CREATE EXTENSION cruddur" \
	-c "GRANT EXECUTE ON FUNCTION cruddur_register_user(jsonb) TO \"$lambda\""

start_pgbouncer "$db=$bouncer_server dbname=$db" "private=host=127.0.0.1 port=$pport dbname=cruddur"

export ADMIN_URL="dbname=$db" PRIVATE_CTL="$tmp/private_ctl"
status=0
for VIA in direct pgbouncer; do
	if [ $VIA = direct ]; then
		LAMBDA_URL="host=$host port=$port dbname=$db" PRIVATE_URL="host=127.0.0.1 port=$pport dbname=cruddur"
	else
		LAMBDA_URL="host=127.0.0.1 port=$bouncer_port dbname=$db" PRIVATE_URL="host=127.0.0.1 port=$bouncer_port dbname=private"
	fi
	echo "--- the Lambda, $VIA"
	VIA=$VIA LAMBDA_URL="$LAMBDA_URL user=$lambda password=$pw" \
		PRIVATE_URL="$PRIVATE_URL user=$lambda password=$pw" \
		/usr/bin/python3 test/clients/lambda_test.py 2>&1 || status=1
done
[ $status -eq 0 ] || { echo "--- pgbouncer log"; cat "$srv/pgbouncer.log"; }
exit $status
