# test/clusters.bash: throwaway clusters of any PostgreSQL, for bin/pgenv
# and the suites that need their own (test/replicas.sh, test/evicted_buffers.sh,
# test/pg_upgrade/run).
# Sourced.  initdb as postgres (when run as root), UTF-8, the superuser
# postgres with password $PGPASSWORD over loopback TCP (replication
# included), peer over the socket, which lives in the data directory's
# parent; extensions first from $CRUDDUR_DESTDIR when set.

# as_postgres COMMAND...: as the postgres user when root, in /
as_postgres() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- bash -c 'cd / && exec "$@"' as_postgres "$@"
	else
		(cd / && "$@")
	fi
}

# destdir_opts PG_CONFIG: the server options under which extensions
# installed with `make install DESTDIR=$CRUDDUR_DESTDIR` come first
# (Debian's extension_destdir up to 17; 18's extension_control_path and
# dynamic_library_path, Debian's 18 having dropped that patch), one a line
destdir_opts() {
	local major
	[ -n "${CRUDDUR_DESTDIR:-}" ] || return 0
	major=$("$1" --version | sed 's/^PostgreSQL \([0-9]*\).*/\1/')
	if [ "$major" -ge 18 ]; then
		echo "extension_control_path=$CRUDDUR_DESTDIR$("$1" --sharedir):\$system"
		echo "dynamic_library_path=$CRUDDUR_DESTDIR$("$1" --pkglibdir):\$libdir"
	else
		echo "extension_destdir=$CRUDDUR_DESTDIR"
	fi
}

# suite_work NAME: for a suite with clusters of its own, the server
# $PG_CONFIG names (15 by default) first in PATH, a password for their
# superuser, and a work directory the postgres user can use; sets pg, bin
# and work
suite_work() {
	pg=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
	bin=$("$pg" --bindir)
	export PATH=$bin:$PATH PGPASSWORD=${PGPASSWORD:-$(head -c 32 /dev/urandom | md5sum | cut -c1-20)}
	work=$(mktemp -d "/tmp/cruddur-$1.XXXXXX")
	chmod 755 "$work"
	[ "$(id -u)" -ne 0 ] || chown postgres: "$work"
}

# free_port: a random port nothing listens on at 127.0.0.1 now, below the
# ephemeral range (32768-60999) where clients' own ports come from
free_port() {
	local p
	while :; do
		p=$(shuf -i 20000-32767 -n 1)
		(exec 3<> "/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
}

# cluster_conf DATA NAME=VALUE...: settings appended to postgresql.auto.conf
cluster_conf() {
	local data=$1 x; shift
	for x in "$@"; do
		echo "${x%%=*} = '${x#*=}'" >> "$data/postgresql.auto.conf"
	done
}

# new_cluster PG_CONFIG DATA PORT [INITDB OPTION...]
new_cluster() {
	local pg=$1 data=$2 port=$3 pw
	shift 3
	mkdir -p "$(dirname "$data")"
	pw=$(dirname "$data")/pwfile
	echo "$PGPASSWORD" > "$pw"
	chmod 600 "$pw"
	[ "$(id -u)" -ne 0 ] || chown postgres: "$(dirname "$data")" "$pw"
	as_postgres "$("$pg" --bindir)/initdb" -D "$data" -U postgres --pwfile="$pw" \
		--auth-local=peer --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 --no-sync "$@" \
		> "$data.initdb.log" 2>&1 || { cat "$data.initdb.log"; return 1; }
	cluster_conf "$data" "port=$port" "unix_socket_directories=$(dirname "$data")" \
		listen_addresses=localhost fsync=off $(destdir_opts "$pg")
}

start_cluster() {	# PG_CONFIG DATA
	as_postgres "$("$1" --bindir)/pg_ctl" -D "$2" -l "$2.log" -w -t 120 start > /dev/null ||
		{ tail -30 "$2.log"; return 1; }
}

stop_cluster() {	# PG_CONFIG DATA: when it runs
	[ -f "$2/postmaster.pid" ] || return 0
	as_postgres "$("$1" --bindir)/pg_ctl" -D "$2" -w -t 120 stop -m fast > /dev/null || true
}
