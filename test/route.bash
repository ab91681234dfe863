# test/route.bash: how the suites install cruddur, so that each one runs
# against the C build (CREATE EXTENSION, the default) or against the SQL
# flavour's routes, which `make rds` writes: CRUDDUR_ROUTE=rds runs
# dist/cruddur-rds.sql with psql; CRUDDUR_ROUTE=pgtle registers cruddur with
# pg_tle (dist/cruddur-pgtle.sql) in the database unless it is there
# already, then runs CREATE EXTENSION.  Sourced by the suites after they cd
# to the top of the tree.  (Not *.sh, so test/run does not take it for a
# suite.)

CRUDDUR_ROUTE=${CRUDDUR_ROUTE:-c}

# create_cruddur PSQL-OPTIONS...: install cruddur in the database (and as
# the role) the options name, stopping at the first error
create_cruddur() {
	case $CRUDDUR_ROUTE in
	rds) psql -X -q -v ON_ERROR_STOP=1 "$@" -f dist/cruddur-rds.sql >/dev/null ;;
	pgtle)
		psql -X -q -v ON_ERROR_STOP=1 "$@" -c 'SET client_min_messages = warning' \
			-c 'CREATE EXTENSION IF NOT EXISTS pg_tle' &&
		if [ "$(psql -X -At "$@" -c "SELECT count(*) FROM pgtle.available_extensions() WHERE name = 'cruddur'")" = 0 ]; then
			psql -X -q -v ON_ERROR_STOP=1 "$@" -f dist/cruddur-pgtle.sql >/dev/null
		fi &&
		psql -X -q -v ON_ERROR_STOP=1 "$@" -c 'CREATE EXTENSION cruddur' ;;
	*) psql -X -q -v ON_ERROR_STOP=1 "$@" -c 'CREATE EXTENSION cruddur' ;;
	esac
}

# c_only WHAT: whether the suite runs against the C build; otherwise says
# that WHAT is about the C code and is not run on this route
c_only() {
	[ "$CRUDDUR_ROUTE" = c ] && return 0
	echo "not run on route $CRUDDUR_ROUTE: $1 (about the C code only)"
	return 1
}
