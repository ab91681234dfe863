# test/route.bash: how the suites install cruddur, so that each one runs
# against the C build (CREATE EXTENSION, the default) or against the SQL
# flavour's routes, which `make rds` writes: CRUDDUR_ROUTE=rds runs
# dist/cruddur-rds.sql with psql; CRUDDUR_ROUTE=pgtle registers cruddur with
# pg_tle (dist/cruddur-pgtle.sql) in the database unless it is there
# already, then runs CREATE EXTENSION.  Sourced by the suites after they cd
# to the top of the tree.  (Not *.sh, so test/run does not take it for a
# suite.)

CRUDDUR_ROUTE=${CRUDDUR_ROUTE:-c}

# The version a fresh install and ALTER EXTENSION ... UPDATE reach: the
# control file's default
cruddur_version=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" cruddur.control)

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

# route_db DB [ROLE]: as the superuser, what DB needs before ROLE (not a
# superuser) installs cruddur there by the route: on the pg_tle route,
# pg_tle enabled in DB and ROLE granted pgtle_admin, as on RDS
route_db() {
	[ "$CRUDDUR_ROUTE" = pgtle ] || return 0
	psql -X -q -v ON_ERROR_STOP=1 -d "$1" -c 'SET client_min_messages = warning' \
		-c 'CREATE EXTENSION IF NOT EXISTS pg_tle' ${2:+-c "GRANT pgtle_admin TO $2"}
}

# newer A B: whether version A comes after version B
newer() { [ "$1" != "$2" ] && [ "$(printf '%s\n' "$1" "$2" | sort -V | tail -1)" = "$1" ]; }

# old_dist VERSION DIR: in DIR/dist the SQL flavour of an earlier VERSION,
# as its release wrote it: bin/flavour run on a copy of these scripts
# without the upgrades past VERSION
old_dist() {
	local s to
	[ -d "$2/dist" ] && return 0
	mkdir -p "$2" && cp -a bin src cruddur.control "$2"/ || return 1
	for s in src/cruddur--*--*.sql; do
		to=${s##*--}; to=${to%.sql}
		if newer "$to" "$1"; then rm "$2/$s"; fi
	done
	sed -i "s/^default_version = .*/default_version = '$1'/" "$2/cruddur.control" &&
	"$2/bin/flavour" "$2/dist"
}

# upgrade_steps FROM: the releases after FROM as "A--B", in order
upgrade_steps() {
	local s
	for s in $(ls src/cruddur--*--*.sql | sort -V); do
		s=${s#src/cruddur--}; s=${s%.sql}
		newer "${s%%--*}" "$1" || [ "${s%%--*}" = "$1" ] && echo "$s"
	done
}

# install_version VERSION DIR PSQL-OPTIONS...: install the earlier VERSION
# as its release did: CREATE EXTENSION cruddur VERSION (C build); that
# release's dist/cruddur-rds.sql (psql route) or dist/cruddur-pgtle.sql
# then CREATE EXTENSION (pg_tle route), from old_dist VERSION DIR
install_version() {
	local v=$1 dir=$2; shift 2
	case $CRUDDUR_ROUTE in
	rds) old_dist "$v" "$dir" && psql -X -q -v ON_ERROR_STOP=1 "$@" -f "$dir/dist/cruddur-rds.sql" >/dev/null ;;
	pgtle) old_dist "$v" "$dir" &&
		psql -X -q -v ON_ERROR_STOP=1 "$@" -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION IF NOT EXISTS pg_tle' \
			-f "$dir/dist/cruddur-pgtle.sql" -c 'CREATE EXTENSION cruddur' >/dev/null ;;
	*) psql -X -q -v ON_ERROR_STOP=1 "$@" -c "CREATE EXTENSION cruddur VERSION '$v'" ;;
	esac
}

# update_cruddur FROM PSQL-OPTIONS...: update an install of FROM to the
# current version as the route's README section says: ALTER EXTENSION
# cruddur UPDATE (C build); each later release's dist/cruddur-rds--A--B.sql
# in turn (psql route); each later release's dist/cruddur-pgtle--A--B.sql
# (registering it, and making it pg_tle's default version) then ALTER
# EXTENSION cruddur UPDATE under search_path pg_catalog, pg_temp (pg_tle
# route; README says why)
update_cruddur() {
	local from=$1 s; shift
	if [ "$CRUDDUR_ROUTE" != c ]; then
		for s in $(upgrade_steps "$from"); do
			psql -X -q -v ON_ERROR_STOP=1 "$@" -f "dist/cruddur-$CRUDDUR_ROUTE--$s.sql" >/dev/null || return 1
		done
	fi
	case $CRUDDUR_ROUTE in
	rds) ;;
	pgtle) psql -X -q -v ON_ERROR_STOP=1 "$@" -c 'SET search_path = pg_catalog, pg_temp' -c 'ALTER EXTENSION cruddur UPDATE' ;;
	*) psql -X -q -v ON_ERROR_STOP=1 "$@" -c 'ALTER EXTENSION cruddur UPDATE' ;;
	esac
}

# catalog_of PSQL-OPTIONS...: cruddur's catalog as sorted lines free of
# OIDs, for diff: test/extension_catalog.sql (C build, pg_tle route; on the
# latter without pg_tle's dependencies on the stored scripts, which name
# the scripts that installed it), or on the psql route, which has no
# extension, test/schema_catalog.sql of schema public
catalog_of() {
	case $CRUDDUR_ROUTE in
	rds) psql -X -q -At -v ON_ERROR_STOP=1 "$@" -v schema=public -f test/schema_catalog.sql ;;
	*) psql -X -q -At -v ON_ERROR_STOP=1 "$@" -f test/extension_catalog.sql |
		grep -v '^depend extension cruddur -> function pgtle\.' ;;
	esac
}

# cruddur_members: SQL giving (classid, objid) of cruddur's objects: the
# extension's members, or on the psql route the tables users and
# activities and the cruddur_* functions of schema public
if [ "$CRUDDUR_ROUTE" = rds ]; then
	cruddur_members="SELECT 'pg_class'::regclass AS classid, oid AS objid FROM pg_class
		 WHERE relnamespace = 'public'::regnamespace AND relname IN ('users', 'activities')
		UNION ALL SELECT 'pg_proc'::regclass, oid FROM pg_proc
		 WHERE pronamespace = 'public'::regnamespace AND proname LIKE 'cruddur\_%'"
else
	cruddur_members="SELECT classid, objid FROM pg_depend
		 WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
		   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'cruddur')"
fi

# unlisted DIFFS: the hunks of a pg_regress diff that are not a difference
# README lists for the route: on the psql route a query of extension
# membership or of pg_extension returns no row; on both SQL routes the
# counts of users_pkey, activities_pkey and activities_replies_idx
# descents of sql/feed_scan.sql are the C build's author, crud and
# replies hints (src/feed_scan.c), where the
# flavour's plan may descend the index, its count of
# activities_replies_idx pages predicate-locked is the C build's leaf read,
# where the flavour's plan may lock other pages or none, and its count of
# activities_user_feed_idx entries given is the C build's direct read,
# where the flavour's plan may read another index; likewise an isolation
# spec's columns named *_descents (specs/replies_leaf_reused.spec's)
unlisted() {
	[ "$CRUDDUR_ROUTE" != c ] || { cat "$1"; return; }
	ROUTE=$CRUDDUR_ROUTE perl -ne '
		if (/^@@/ || /^diff /) { flush(); $h = "" }
		$h .= $_;
		END { flush() }
		sub flush {
			return unless $h =~ /^@@/m;
			my @plus = grep { !/^\+\+\+/ } $h =~ /^\+(.*)$/mg;
			my $empty = @plus == 3 && $plus[2] eq "(0 rows)" && $plus[1] =~ /^-+(\+-+)*$/;
			my $membership = $h =~ /^-\s+(function|extversion)\s+\|/m;
			my $counts = $h =~ / AS (users_pkey_descents|activities_pkey_descents|replies_idx_descents|leaf_pages_locked|index_entries_given);$/m ||
				$h =~ /^ \w+_descents(\|\w+_descents)*\s*$/m;
			my $descents = $counts && @plus && !grep { !/^\s*\d+(\s*\|\s*\d+)*\s*$/ } @plus;
			print $h unless ($ENV{ROUTE} eq "rds" && $empty && $membership) || $descents;
		}' "$1"
}

# installcheck_listed DIFFS MAKE-ARGS...: `make -s installcheck MAKE-ARGS`
# (pg_regress or the isolation specs), its tests' lines printed; it passes
# when they do, or when every hunk of their diffs (file DIFFS) is one
# README lists for the route (unlisted); else the hunks are printed
installcheck_listed() {
	local diffs=$1 out rc
	shift
	out=$(mktemp)
	rm -f "$diffs"
	make -s installcheck "$@" >"$out" 2>&1
	rc=$?
	grep -E '^(test|ok|not ok) ' "$out"
	if [ $rc -ne 0 ] && [ -e "$diffs" ]; then
		unlisted "$diffs" >"$out.unlisted"
		echo "differences from expected/: $(grep -c '^@@' "$diffs") hunks, $(grep -c '^@@' "$out.unlisted") not listed in README"
		if [ -s "$out.unlisted" ]; then head -300 "$out.unlisted"; else rc=0; fi
	elif [ $rc -ne 0 ]; then
		tail -20 "$out"
	fi
	rm -f "$out" "$out.unlisted"
	return $rc
}

# restore_as ROLE DB DUMP: restore DUMP (pg_dump's custom format, or plain
# SQL if its name ends in .sql) into DB as ROLE, failing at an error.  But
# on the pg_tle route, into a database where pg_tle is enabled already
# (route_db) by a role that is not a superuser, as on RDS: there the two
# entries of pg_tle itself fail, and only they may (its schema exists, and
# only its owner may comment on it), the rest (pg_tle's stored scripts and
# cruddur) restoring as usual.
restore_as() {
	local role=$1 db=$2 dump=$3 out errors
	if [ "$CRUDDUR_ROUTE" != pgtle ] ||
		[ "$(psql -X -At -d "$db" -c "SELECT rolsuper FROM pg_roles WHERE rolname = '$role'")" = t ]; then
		case $dump in
		*.sql) PGOPTIONS="${PGOPTIONS:-} -c role=$role" psql -X -q -v ON_ERROR_STOP=1 -d "$db" -f "$dump" >/dev/null ;;
		*) pg_restore --role="$role" --exit-on-error -d "$db" "$dump" ;;
		esac
		return
	fi
	case $dump in
	*.sql) out=$(PGOPTIONS="${PGOPTIONS:-} -c role=$role" psql -X -q -d "$db" -f "$dump" 2>&1 >/dev/null) ;;
	*) out=$(pg_restore --role="$role" -d "$db" "$dump" 2>&1) ;;
	esac
	errors=$(sed -n 's/^.*ERROR:  //p' <<<"$out" | sort)
	[ "$errors" = $'must be owner of extension pg_tle\nschema "pgtle" already exists' ] && return
	echo "$out"
	return 1
}

# c_only WHAT: whether the suite runs against the C build; otherwise says
# that WHAT is about the C code and is not run on this route
c_only() {
	[ "$CRUDDUR_ROUTE" = c ] && return 0
	echo "not run on route $CRUDDUR_ROUTE: $1 (about the C code only)"
	return 1
}
