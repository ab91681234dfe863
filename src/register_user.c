/*-------------------------------------------------------------------------
 *
 * register_user.c
 *	  cruddur_register_user(): registration from AWS Cognito trigger events.
 *
 * STUB: each function below raises "not implemented yet" until written.
 *
 * src/register_user.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"

#include "cruddur.h"

PG_FUNCTION_INFO_V1(cruddur_register_user);

Datum
cruddur_register_user(PG_FUNCTION_ARGS)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("cruddur_register_user is not implemented yet")));
	PG_RETURN_NULL();
}
