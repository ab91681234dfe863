/*
 * test/extension_catalog.sql: the catalog of the cruddur extension as
 * sorted lines of text free of OIDs, so that two databases can be compared
 * with diff (test/upgrade.sh: upgraded against fresh; test/dump_restore.sh:
 * restored against dumped).
 *
 * The objects are the extension, its members (pg_depend type 'e') and
 * everything that depends on them, recursively: the tables' columns,
 * defaults, constraints, indexes, triggers, row types and TOAST tables.
 * For each, what defines it: definitions as PostgreSQL prints them
 * (pg_get_constraintdef, pg_get_indexdef, pg_get_triggerdef,
 * pg_get_functiondef), labels, owners, privileges (ACLs as text, so role
 * names, not OIDs), initial privileges (pg_init_privs, which decide what
 * pg_dump dumps), comments, the extension's configuration tables, and
 * every pg_depend row, described with pg_describe_object.
 *
 * Run with psql -X -A -t -f.  What differs between databases by nature
 * is left out: OIDs in the names of TOAST tables and of the internal
 * triggers of foreign keys (replaced by N), and the "pg_attver" entry
 * that this server build stores in the options of every column, a number
 * that changes with each CREATE TABLE (real column options are kept).
 */
WITH RECURSIVE obj (classid, objid) AS (
	SELECT 'pg_extension'::regclass::oid, e.oid
	  FROM pg_extension e
	 WHERE e.extname = 'cruddur'
	UNION
	SELECT d.classid, d.objid
	  FROM pg_depend d
	  JOIN obj o ON d.refclassid = o.classid AND d.refobjid = o.objid
),
ext AS (
	SELECT * FROM pg_extension WHERE extname = 'cruddur'
),
rel AS (
	SELECT c.* FROM pg_class c
	  JOIN obj o ON o.classid = 'pg_class'::regclass AND o.objid = c.oid
),
line (l) AS (
	SELECT format('extension %s version %s owner %s schema %s relocatable %s config %s condition %s',
				  extname, extversion, extowner::regrole, extnamespace::regnamespace,
				  extrelocatable,
				  (SELECT array_agg(c::regclass::text ORDER BY n) FROM unnest(extconfig) WITH ORDINALITY u(c, n)),
				  extcondition)
	  FROM ext
	UNION ALL
	SELECT format('depend %s -> %s type %s',
				  pg_describe_object(d.classid, d.objid, d.objsubid),
				  pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid),
				  d.deptype)
	  FROM pg_depend d
	  JOIN obj o ON o.classid = d.classid AND o.objid = d.objid
	UNION ALL
	SELECT format('relation %s kind %s owner %s persistence %s options %s acl %s rls %s/%s replident %s am %s',
				  relname, relkind, relowner::regrole, relpersistence, reloptions,
				  relacl, relrowsecurity, relforcerowsecurity, relreplident,
				  (SELECT amname FROM pg_am WHERE oid = relam))
	  FROM rel
	UNION ALL
	SELECT format('column %s.%s: %s %s not null %s default %s collation %s identity "%s" generated "%s" dropped %s missing %s %s storage %s compression "%s" statistics %s acl %s options %s',
				  c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod),
				  a.attnotnull, pg_get_expr(ad.adbin, ad.adrelid),
				  (SELECT format('%I.%I', cn.nspname, co.collname)
					 FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace
					WHERE co.oid = a.attcollation),
				  a.attidentity, a.attgenerated, a.attisdropped, a.atthasmissing,
				  a.attmissingval, a.attstorage, a.attcompression, a.attstattarget,
				  a.attacl,
				  array(SELECT o FROM unnest(a.attoptions) o WHERE o NOT LIKE 'pg\_attver=%'))
	  FROM rel c
	  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
	  LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
	 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
	UNION ALL
	SELECT format('constraint %s on %s: %s deferrable %s deferred %s validated %s noinherit %s',
				  co.conname, co.conrelid::regclass, pg_get_constraintdef(co.oid),
				  co.condeferrable, co.condeferred, co.convalidated, co.connoinherit)
	  FROM pg_constraint co
	  JOIN obj o ON o.classid = 'pg_constraint'::regclass AND o.objid = co.oid
	UNION ALL
	SELECT format('index %s: %s unique %s primary %s immediate %s clustered %s valid %s ready %s live %s replident %s',
				  i.indexrelid::regclass, pg_get_indexdef(i.indexrelid),
				  i.indisunique, i.indisprimary, i.indimmediate, i.indisclustered,
				  i.indisvalid, i.indisready, i.indislive, i.indisreplident)
	  FROM pg_index i
	  JOIN rel c ON c.oid = i.indexrelid
	 WHERE c.relnamespace <> 'pg_toast'::regnamespace
	UNION ALL
	SELECT format('trigger %s: %s enabled %s', t.tgname, pg_get_triggerdef(t.oid), t.tgenabled)
	  FROM pg_trigger t
	  JOIN obj o ON o.classid = 'pg_trigger'::regclass AND o.objid = t.oid
	 WHERE NOT t.tgisinternal
	UNION ALL
	SELECT format('function %s: kind %s volatility %s strict %s parallel %s security definer %s leakproof %s config %s owner %s acl %s cost %s rows %s language %s definition %s',
				  p.oid::regprocedure, p.prokind, p.provolatile, p.proisstrict,
				  p.proparallel, p.prosecdef, p.proleakproof, p.proconfig,
				  p.proowner::regrole, p.proacl, p.procost, p.prorows,
				  (SELECT lanname FROM pg_language WHERE oid = p.prolang),
				  pg_get_functiondef(p.oid))
	  FROM pg_proc p
	  JOIN obj o ON o.classid = 'pg_proc'::regclass AND o.objid = p.oid
	UNION ALL
	SELECT format('type %s: type %s owner %s acl %s', t.oid::regtype, t.typtype,
				  t.typowner::regrole, t.typacl)
	  FROM pg_type t
	  JOIN obj o ON o.classid = 'pg_type'::regclass AND o.objid = t.oid
	UNION ALL
	SELECT format('comment on %s: %s',
				  pg_describe_object(ds.classoid, ds.objoid, ds.objsubid), ds.description)
	  FROM pg_description ds
	  JOIN obj o ON o.classid = ds.classoid AND o.objid = ds.objoid
	UNION ALL
	SELECT format('initial privileges of %s (%s): %s',
				  pg_describe_object(ip.classoid, ip.objoid, ip.objsubid),
				  ip.privtype, ip.initprivs)
	  FROM pg_init_privs ip
	  JOIN obj o ON o.classid = ip.classoid AND o.objid = ip.objoid
)
SELECT regexp_replace(l, '(pg_toast_|RI_ConstraintTrigger_[ac]_)[0-9]+', '\1N', 'g') AS l
  FROM line
 ORDER BY 1;
