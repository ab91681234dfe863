/*-------------------------------------------------------------------------
 *
 * cruddur.c
 *	  Module magic and the saved-plan cache every SQL-running file shares.
 *
 * src/cruddur.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "cruddur.h"

PG_MODULE_MAGIC;

/*
 * The schema of the SQL function being called.  Every SQL-callable function
 * of ours is an extension member, so this is where the extension's tables
 * are; asking the syscache about our own pg_proc row is cheaper than
 * scanning pg_extension and needs no extension name.
 */
Oid
cruddur_schema(FunctionCallInfo fcinfo)
{
	Oid			nspid = get_func_namespace(fcinfo->flinfo->fn_oid);

	if (!OidIsValid(nspid))
		elog(ERROR, "cache lookup failed for function %u",
			 fcinfo->flinfo->fn_oid);
	return nspid;
}

/*
 * Return the saved plan of "query" for schema "nspid", preparing it on first
 * use.  Must be called while connected to SPI.
 *
 * The schema name is spliced into the text quoted as an identifier; it
 * comes from the catalog, never from the caller.  Everything the caller
 * supplies travels as a parameter.
 */
SPIPlanPtr
cruddur_query_plan(CruddurQuery *query, Oid nspid)
{
	StringInfoData sql;
	const char *schema;
	const char *p;
	SPIPlanPtr	plan;

	if (query->plan != NULL && query->nspid == nspid)
		return query->plan;

	if (query->plan != NULL)
	{
		/* the extension was re-created elsewhere in this session */
		SPI_freeplan(query->plan);
		query->plan = NULL;
	}

	schema = get_namespace_name(nspid);
	if (schema == NULL)
		elog(ERROR, "cache lookup failed for schema %u", nspid);
	schema = quote_identifier(schema);

	initStringInfo(&sql);
	for (p = query->sql; *p; p++)
	{
		if (*p == '@' && strncmp(p, "@extschema@", 11) == 0)
		{
			appendStringInfoString(&sql, schema);
			p += 10;
		}
		else
			appendStringInfoChar(&sql, *p);
	}

	/*
	 * Generic, so that parameters never cause a re-plan; and for a fast
	 * start, because callers stop the executor after the rows they need (a
	 * page).  Without CURSOR_OPT_FAST_PLAN the planner costs a feed query as
	 * if every row of its LIMIT were fetched, and for one person's cruds
	 * picks a bitmap scan of all of them plus a sort instead of walking
	 * activities_user_feed_idx in order: ten times slower for a page of 40.
	 */
	plan = SPI_prepare_cursor(sql.data, query->nargs, query->argtypes,
							  CURSOR_OPT_GENERIC_PLAN | CURSOR_OPT_FAST_PLAN);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare_cursor failed: %s",
			 SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "SPI_keepplan failed");

	pfree(sql.data);
	query->plan = plan;
	query->nspid = nspid;
	return plan;
}
