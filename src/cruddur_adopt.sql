/*
 * cruddur_adopt.sql -- makes an existing Cruddur database (the tables of
 * Cruddur's schema.sql and migrations in public) managed by the cruddur
 * extension without losing a row.  Installed beside the extension; run it
 * as the database's owner or a superuser:
 *
 *   psql -v ON_ERROR_STOP=1 -d cruddur -f "$(pg_config --sharedir)/extension/cruddur_adopt.sql"
 *
 * In one transaction, which changes nothing if any step fails: moves
 * public.users and public.activities into a schema of their own (renaming
 * them in place would leave names such as users_pkey, on which CREATE
 * EXTENSION refuses), creates the extension in public, copies the rows with
 * cruddur_adopt() and prints its report, grants on the new tables what the
 * legacy ones granted, and drops the legacy tables and their schema.  Run
 * again where the extension exists, it changes nothing and says so.
 */
\set ON_ERROR_STOP 1
BEGIN;
SELECT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname OPERATOR(pg_catalog.=) 'cruddur')
	AS adopted \gset cruddur_
\if :cruddur_adopted
\echo cruddur_adopt.sql: the cruddur extension is installed in this database already; nothing was changed.
ROLLBACK;
\else
CREATE SCHEMA cruddur_legacy;
ALTER TABLE public.users SET SCHEMA cruddur_legacy;
ALTER TABLE public.activities SET SCHEMA cruddur_legacy;
CREATE EXTENSION cruddur SCHEMA public;
SELECT pg_catalog.jsonb_pretty(public.cruddur_adopt('cruddur_legacy.users'::pg_catalog.regclass,
												  'cruddur_legacy.activities'::pg_catalog.regclass))
	AS cruddur_adopt_report;

-- Every privilege of the legacy tables' ACL (their owner's included) on
-- the table of the same name, except the caller's own: as the extension's
-- creator it holds them all already.
DO $$
DECLARE
	g record;
BEGIN
	FOR g IN
		SELECT c.relname, a.grantee, a.privilege_type, a.is_grantable
		  FROM pg_catalog.pg_class c,
			   pg_catalog.aclexplode(COALESCE(c.relacl, pg_catalog.acldefault('r', c.relowner))) a
		 WHERE c.relnamespace OPERATOR(pg_catalog.=) 'cruddur_legacy'::pg_catalog.regnamespace
		   AND c.relname OPERATOR(pg_catalog.=) ANY (ARRAY['users', 'activities']::pg_catalog.name[])
		   AND a.grantee OPERATOR(pg_catalog.<>) (SELECT oid FROM pg_catalog.pg_roles
													WHERE rolname OPERATOR(pg_catalog.=) CURRENT_USER)
		 ORDER BY 1, 2, 3
	LOOP
		EXECUTE pg_catalog.format('GRANT %s ON TABLE public.%I TO %s%s', g.privilege_type, g.relname,
			CASE WHEN g.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
				 ELSE g.grantee::pg_catalog.regrole::pg_catalog.text END,
			CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
		RAISE NOTICE 'granted % on public.% to %', g.privilege_type, g.relname,
			CASE WHEN g.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC' ELSE g.grantee::pg_catalog.regrole::pg_catalog.text END;
	END LOOP;
END
$$;

DROP TABLE cruddur_legacy.activities, cruddur_legacy.users;
DROP SCHEMA cruddur_legacy;
COMMIT;
\echo cruddur_adopt.sql: adopted; the report above lists every change.
\endif
