/*
 * test/schema_catalog.sql: what cruddur put in schema :'schema' as sorted
 * lines of text free of OIDs, whatever installed it (CREATE EXTENSION of the
 * C build or of pg_tle, or the psql route, which makes no extension), so
 * test/flavour.sh can diff the SQL flavour's catalog against the C build's.
 * (test/extension_catalog.sql starts from the extension, which the psql
 * route does not have.)
 *
 * Per relation: kind, owner, ACL, comment, options; per column: type,
 * default, not null, collation, ACL, comment; constraints, indexes and
 * triggers as pg_get_*def prints them, with comments; per function: its
 * identity, result, argument names and defaults, volatility, strictness,
 * parallel safety, security definer, proconfig, owner, ACL, comment, then
 * its language and its body on lines of their own; and for every object
 * whether it is a member of an extension, and of which.
 *
 * Run with psql -X -A -t -v schema=NAME -f.
 */
WITH rel AS (
	SELECT c.* FROM pg_class c
	 WHERE c.relnamespace = to_regnamespace(:'schema') AND c.relkind IN ('r', 'i', 'S', 'v', 'p', 'I')
),
fn AS (
	SELECT p.* FROM pg_proc p WHERE p.pronamespace = to_regnamespace(:'schema')
),
member (classid, objid, what) AS (
	SELECT 'pg_class'::regclass, oid, 'relation ' || relname FROM rel
	UNION ALL
	SELECT 'pg_proc'::regclass, oid, 'function ' || oid::regprocedure FROM fn
),
line (l) AS (
	SELECT format('%s: member of extension %s, dumped as its configuration %s', m.what,
				  e.extname, m.objid = ANY (e.extconfig))
	  FROM member m
	  LEFT JOIN pg_depend d ON d.classid = m.classid AND d.objid = m.objid AND d.deptype = 'e'
			AND d.refclassid = 'pg_extension'::regclass
	  LEFT JOIN pg_extension e ON e.oid = d.refobjid
	UNION ALL
	SELECT format('relation %s kind %s owner %s acl %s options %s comment %s',
				  relname, relkind, relowner::regrole, relacl, reloptions,
				  obj_description(oid, 'pg_class'))
	  FROM rel
	UNION ALL
	SELECT format('column %s.%s: %s %s not null %s default %s collation %s acl %s comment %s',
				  c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod),
				  a.attnotnull, pg_get_expr(ad.adbin, ad.adrelid), a.attcollation::regcollation,
				  a.attacl, col_description(c.oid, a.attnum))
	  FROM rel c
	  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
	  LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
	 WHERE c.relkind IN ('r', 'p', 'v')
	UNION ALL
	SELECT format('constraint %s on %s: %s deferrable %s comment %s', co.conname, co.conrelid::regclass,
				  pg_get_constraintdef(co.oid), co.condeferrable, obj_description(co.oid, 'pg_constraint'))
	  FROM pg_constraint co JOIN rel c ON c.oid = co.conrelid
	UNION ALL
	SELECT format('index %s: %s', i.indexrelid::regclass, pg_get_indexdef(i.indexrelid))
	  FROM pg_index i JOIN rel c ON c.oid = i.indrelid
	UNION ALL
	SELECT format('trigger %s on %s: %s enabled %s comment %s', t.tgname, t.tgrelid::regclass,
				  pg_get_triggerdef(t.oid), t.tgenabled, obj_description(t.oid, 'pg_trigger'))
	  FROM pg_trigger t JOIN rel c ON c.oid = t.tgrelid
	 WHERE NOT t.tgisinternal
	UNION ALL
	SELECT format('function %s returns %s args %s volatile %s strict %s parallel %s security definer %s config %s owner %s acl %s comment %s',
				  oid::regprocedure, pg_get_function_result(oid), pg_get_function_arguments(oid),
				  provolatile, proisstrict, proparallel, prosecdef, proconfig, proowner::regrole,
				  proacl, obj_description(oid, 'pg_proc'))
	  FROM fn
	UNION ALL
	SELECT format('function %s language %s', oid::regprocedure, (SELECT lanname FROM pg_language WHERE oid = prolang))
	  FROM fn
	UNION ALL
	SELECT format('function %s body %s', oid::regprocedure, md5(prosrc || coalesce(probin, '')))
	  FROM fn
)
SELECT l FROM line ORDER BY l COLLATE "C";
