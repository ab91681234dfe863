# test/route.bash: how the suites install cruddur, so that each one runs
# against the C build (CREATE EXTENSION, the default) or against the SQL
# flavour's psql route (CRUDDUR_ROUTE=rds: dist/cruddur-rds.sql, which
# `make rds` writes).  The pg_tle route installs with CREATE EXTENSION too
# (test/pgtle.sh registers cruddur in template1 first).  Sourced by the
# suites after they cd to the top of the tree.  (Not *.sh, so test/run does
# not take it for a suite.)

CRUDDUR_ROUTE=${CRUDDUR_ROUTE:-c}

# create_cruddur PSQL-OPTIONS...: install cruddur in the database (and as
# the role) the options name, stopping at the first error
create_cruddur() {
	case $CRUDDUR_ROUTE in
	rds) psql -X -q -v ON_ERROR_STOP=1 "$@" -f dist/cruddur-rds.sql >/dev/null ;;
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
