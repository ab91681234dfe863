# test/clients.bash: what the suites of examples/ share (test/lambda.sh,
# test/flask.sh, test/node.sh), sourced after they cd to the top of the tree.
# (Not *.sh, so test/run does not take it for a suite.)  Builds on
# test/logins.bash (id, pw, tmp, logins, newdb, su, as, fail, ok, finish).
#
# Offers: need_packages PKG... (installs the missing ones with apt-get);
# app_database DB OWNER LAMBDA APP (a database with cruddur and the README's
# grants); start_pgbouncer NAME=CONNSTR... (a pgbouncer from
# examples/pgbouncer/pgbouncer.ini on a free loopback port, in
# $bouncer_port; stopped on exit); host and port (the suite's server, from
# PGHOST and PGPORT) and bouncer_server (the same for pgbouncer's database
# entries); free_port; srv (a
# directory the server user owns); run_as_server_user CMD... (CMD
# as postgres when running as root: pgbouncer and initdb refuse root).

. test/logins.bash "$1"
host=${PGHOST:-localhost} port=${PGPORT:-5432}
# pgbouncer resolves names with c-ares, not with glibc and /etc/hosts: in
# Debian 13 (pgbouncer 1.24.1, c-ares 1.34.5) localhost became [::1], where
# the suite's server, listening on localhost as glibc resolves it
# (127.0.0.1), was not, and every client through pgbouncer timed out
# (query_wait_timeout). So pgbouncer is given the address.
bouncer_server="host=$([ "$host" = localhost ] && echo 127.0.0.1 || echo "$host") port=$port"
# $srv: files of pgbouncer and of a private server, which run as postgres
srv=$tmp/server
mkdir "$srv"
chmod 755 "$tmp"
[ "$(id -u)" -ne 0 ] || chown postgres: "$srv"
bouncer_pid=

stop_pgbouncer() {
	[ -n "$bouncer_pid" ] || return 0
	kill "$bouncer_pid" 2>/dev/null || true
	while kill -0 "$bouncer_pid" 2>/dev/null; do sleep 0.1; done
	bouncer_pid=
}
trap 'stop_pgbouncer; cleanup' EXIT

need_packages() {
	local p missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
	echo "installing ${missing[*]}"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

run_as_server_user() {
	if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
	/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

app_database() {
	local db=$1 owner=$2 lambda=$3 app=$4
	newdb "$db" "$owner"
	as "$owner" "$db" -v ON_ERROR_STOP=1 -v lambda="$lambda" -v app="$app" <<'SQL'
CREATE EXTENSION cruddur;
GRANT EXECUTE ON FUNCTION cruddur_register_user(jsonb) TO :"lambda";
GRANT EXECUTE ON FUNCTION cruddur_create_activity(text, text, text),
	cruddur_create_reply(text, uuid, text),
	cruddur_update_profile(text, text, text) TO :"app";
GRANT SELECT ON users, activities TO :"app";
SQL
}

# start_pgbouncer NAME=CONNSTR...: pgbouncer with the repository's
# pgbouncer.ini, of which only the database entry, listen_port and auth_file
# are replaced (pgbouncer resets a section it meets again, so %include cannot
# override them), plus its log and pid files and the first login role as
# admin_users (its console: dbname=pgbouncer); the userlist holds every login
# role of the run (pgbouncer authenticates them and logs in to the server
# with the same password).
start_pgbouncer() {
	local r d dbs=""
	bouncer_port=$(free_port)
	for r in "${roles[@]}"; do printf '"%s" "%s"\n' "$r" "$pw"; done >"$srv/userlist.txt"
	for d in "$@"; do dbs+="${d%%=*} = ${d#*=}"$'\n'; done
	awk -v dbs="$dbs" -v port="$bouncer_port" -v srv="$srv" -v admin="${roles[0]}" '
		/^cruddur = / { printf "%s", dbs; n++; next }
		/^listen_port = / { print "listen_port = " port; n++; next }
		/^auth_file = / { print "auth_file = " srv "/userlist.txt"; n++; next }
		{ print }
		END {
			print "logfile = " srv "/pgbouncer.log"; print "pidfile = " srv "/pgbouncer.pid"
			print "admin_users = " admin
			exit n != 3
		}
	' examples/pgbouncer/pgbouncer.ini >"$srv/pgbouncer.ini" ||
		{ echo "examples/pgbouncer/pgbouncer.ini lacks a line test/clients.bash replaces"; return 1; }
	chmod 644 "$srv/userlist.txt" "$srv/pgbouncer.ini"
	run_as_server_user /usr/sbin/pgbouncer -d -q "$srv/pgbouncer.ini" ||
		{ cat "$srv/pgbouncer.log"; return 1; }
	local i
	for i in $(seq 50); do
		[ -s "$srv/pgbouncer.pid" ] && bouncer_pid=$(cat "$srv/pgbouncer.pid") && break
		sleep 0.1
	done
	[ -n "$bouncer_pid" ] || { echo "pgbouncer did not start:"; cat "$srv/pgbouncer.log"; return 1; }
	echo "pgbouncer $(/usr/sbin/pgbouncer --version | head -1 | cut -d' ' -f2) on 127.0.0.1:$bouncer_port (pid $bouncer_pid)"
}
