/*-------------------------------------------------------------------------
 *
 * feeds.c
 *	  The app's JSON reads: home feed, user feed, a crud with its replies, user short.
 *
 * STUB: each function below raises "not implemented yet" until written.
 *
 * src/feeds.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"

#include "cruddur.h"

PG_FUNCTION_INFO_V1(cruddur_home_feed);

Datum
cruddur_home_feed(PG_FUNCTION_ARGS)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("cruddur_home_feed is not implemented yet")));
	PG_RETURN_NULL();
}

PG_FUNCTION_INFO_V1(cruddur_user_feed);

Datum
cruddur_user_feed(PG_FUNCTION_ARGS)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("cruddur_user_feed is not implemented yet")));
	PG_RETURN_NULL();
}

PG_FUNCTION_INFO_V1(cruddur_activity);

Datum
cruddur_activity(PG_FUNCTION_ARGS)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("cruddur_activity is not implemented yet")));
	PG_RETURN_NULL();
}

PG_FUNCTION_INFO_V1(cruddur_user_short);

Datum
cruddur_user_short(PG_FUNCTION_ARGS)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("cruddur_user_short is not implemented yet")));
	PG_RETURN_NULL();
}
