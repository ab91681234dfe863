# bench/pgbench.bash: pgbench over the transport a benchmark chose, for the
# benchmarks that compare two sides with it (bench/run, bench/register/run).
# Sourced before the cluster starts, to check TRANSPORT; pgb_init then
# reads the server's socket directory, and pgb runs pgbench.
#   TRANSPORT=unix (default): over the server's Unix socket, as pgbench
#     connects by default; as the postgres user (peer authentication) when
#     run as root, which the throwaway cluster of bin/pgenv lets in.
#   TRANSPORT=tcp: over TCP to localhost, as bin/pgenv sets it up.
# The transport is common to both sides of every comparison; on 2 cores
# the loopback TCP stack's work is a floor that narrows every ratio.
TRANSPORT=${TRANSPORT:-unix}
case $TRANSPORT in
unix | tcp) ;;
*) echo "TRANSPORT must be unix or tcp, not $TRANSPORT" >&2; exit 2 ;;
esac
export TRANSPORT

pgb_init() {
	if [ "$TRANSPORT" = tcp ]; then
		pgbench_cmd=(pgbench)
		echo "pgbench over TCP to $PGHOST"
		return
	fi
	socket_dir=$(psql -X -At -c "SELECT pg_catalog.split_part(pg_catalog.current_setting('unix_socket_directories'), ',', 1)")
	if [ "$(id -u)" = 0 ]; then
		pgbench_cmd=(runuser -u postgres -- env PGHOST="$socket_dir" pgbench)
	else
		pgbench_cmd=(env PGHOST="$socket_dir" pgbench)
	fi
	echo "pgbench over the Unix socket in $socket_dir"
}
pgb() { "${pgbench_cmd[@]}" "$@"; }
