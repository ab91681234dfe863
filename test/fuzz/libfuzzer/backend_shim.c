/*-------------------------------------------------------------------------
 *
 * backend_shim.c
 *	  What src/json_writer.c needs from the server but the libFuzzer
 *	  harness never reaches: each stand-in aborts, naming itself.
 *
 * The harness links json_writer.c unchanged into a plain executable.
 * StringInfo, palloc and pfree come from libpgcommon (its frontend build of
 * the same stringinfo.c); the rest of what json_writer.c references is
 * server code used only by the parts that run inside a backend: the SPI
 * DestReceiver (json_rows_from_plan), detoasting, interrupts, error
 * reports, and core's formatting of integers (pg_ltoa, pg_lltoa) and
 * timestamps (JsonEncodeDateTime).  Those are core's code rather than
 * cruddur's, and the SQL fuzzer and the differential tests cover them
 * through the functions.  Should the harness ever reach one, the abort
 * makes libFuzzer report it.
 *
 * test/fuzz/libfuzzer/backend_shim.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdio.h>
#include <stdlib.h>

#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/params.h"
#include "utils/builtins.h"
#include "utils/json.h"

volatile sig_atomic_t InterruptPending = false;

static void
unreachable(const char *name)
{
	fprintf(stderr, "backend_shim: %s reached from the harness\n", name);
	abort();
}

void
ProcessInterrupts(void)
{
	unreachable(__func__);
}

char *
JsonEncodeDateTime(char *buf, Datum value, Oid typid, const int *tzp)
{
	unreachable(__func__);
	return NULL;
}

int
pg_ltoa(int32 l, char *a)
{
	unreachable(__func__);
	return 0;
}

int
pg_lltoa(int64 ll, char *a)
{
	unreachable(__func__);
	return 0;
}

struct varlena *
pg_detoast_datum_packed(struct varlena *datum)
{
	unreachable(__func__);
	return NULL;
}

ParamListInfo
makeParamList(int numParams)
{
	unreachable(__func__);
	return NULL;
}

int
SPI_execute_plan_extended(SPIPlanPtr plan, const SPIExecuteOptions *options)
{
	unreachable(__func__);
	return 0;
}

const char *
SPI_result_code_string(int code)
{
	unreachable(__func__);
	return NULL;
}

void
slot_getsomeattrs_int(TupleTableSlot *slot, int attnum)
{
	unreachable(__func__);
}

bool
errstart_cold(int elevel, const char *domain)
{
	unreachable(__func__);
	return false;
}

void
errfinish(const char *filename, int lineno, const char *funcname)
{
	unreachable(__func__);
}

int
errmsg_internal(const char *fmt,...)
{
	unreachable(__func__);
	return 0;
}
