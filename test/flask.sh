#!/usr/bin/env bash
#
# test/flask.sh: every route of examples/flask/app.py (Debian's Flask,
# psycopg 3 and its pool, PyJWT with cryptography) against the cluster the
# PG* environment variables name, once directly and once through pgbouncer
# (examples/pgbouncer/pgbouncer.ini, transaction pooling).
# test/clients/flask_test.py lists the cases; test/README.md says more.
#
set -euo pipefail
cd "$(dirname "$0")/.."
. test/clients.bash cruddur_flask
need_packages python3-flask python3-psycopg python3-psycopg-pool python3-jwt python3-cryptography pgbouncer

owner=${id}_owner lambda=${id}_lambda app=${id}_app db=${id}_db
logins "$owner" "$lambda" "$app"
app_database "$db" "$owner" "$lambda" "$app"
start_pgbouncer "$db=$bouncer_server dbname=$db"

status=0
for VIA in direct pgbouncer; do
	url="host=$host port=$port"
	[ $VIA = direct ] || url="host=127.0.0.1 port=$bouncer_port"
	echo "--- the Flask app, $VIA"
	VIA=$VIA ADMIN_URL="dbname=$db" APP_URL="$url dbname=$db user=$app password=$pw" BOUNCER_DB=$db \
		BOUNCER_ADMIN_URL="host=127.0.0.1 port=$bouncer_port dbname=pgbouncer user=$owner password=$pw" \
		/usr/bin/python3 test/clients/flask_test.py 2>&1 || status=1
done
exit $status
