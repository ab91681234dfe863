#!/usr/bin/env bash
#
# test/node.sh: examples/node/ (node-postgres from npm, installed by npm ci
# from the committed package-lock.json) with node --test, against the
# cluster the PG* environment variables name, once directly and once
# through pgbouncer (examples/pgbouncer/pgbouncer.ini, transaction pooling).
#
set -euo pipefail
cd "$(dirname "$0")/.."
. test/clients.bash cruddur_node
command -v npm >/dev/null || need_packages nodejs npm
need_packages pgbouncer
(cd examples/node && npm ci --no-audit --no-fund --loglevel=error)

owner=${id}_owner lambda=${id}_lambda app=${id}_app db=${id}_db
logins "$owner" "$lambda" "$app"
app_database "$db" "$owner" "$lambda" "$app"
su "$db" -c "GRANT EXECUTE ON FUNCTION cruddur_register_user(jsonb) TO \"$app\""
start_pgbouncer "$db=$bouncer_server dbname=$db"

status=0
for VIA in direct pgbouncer; do
	url="postgresql://$app:$pw@$host:$port/$db"
	[ $VIA = direct ] || url="postgresql://$app:$pw@127.0.0.1:$bouncer_port/$db"
	echo "--- the Node client, $VIA"
	(cd examples/node && CONNECTION_URL=$url PGDATABASE=$db node --test test/) || status=1
done
exit $status
