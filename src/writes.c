/*-------------------------------------------------------------------------
 *
 * writes.c
 *	  The app's JSON writes: new cruds, replies, profile updates.
 *
 * STUB: each function below raises "not implemented yet" until written.
 *
 * src/writes.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"

#include "cruddur.h"

PG_FUNCTION_INFO_V1(cruddur_create_activity);

Datum
cruddur_create_activity(PG_FUNCTION_ARGS)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("cruddur_create_activity is not implemented yet")));
	PG_RETURN_NULL();
}

PG_FUNCTION_INFO_V1(cruddur_create_reply);

Datum
cruddur_create_reply(PG_FUNCTION_ARGS)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("cruddur_create_reply is not implemented yet")));
	PG_RETURN_NULL();
}

PG_FUNCTION_INFO_V1(cruddur_update_profile);

Datum
cruddur_update_profile(PG_FUNCTION_ARGS)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("cruddur_update_profile is not implemented yet")));
	PG_RETURN_NULL();
}
