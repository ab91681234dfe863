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
 * reports, GUC nesting, and core's formatting of integers (pg_ltoa,
 * pg_lltoa), which is core's code rather than cruddur's and which the SQL
 * fuzzer and the differential tests cover through the functions.  Should
 * the harness ever reach one, the abort makes libFuzzer report it.
 *
 * JsonEncodeDateTime is the exception: json_writer.c asks it for the date
 * part of every new day it formats, so here it is the reference's own
 * formatting (reference_timestamp.c).  What the harness then checks is
 * cruddur's part of a timestamp: the split into day and time of day, the
 * per-day cache, the choice of fast path, the time and fraction digits.
 *
 * test/fuzz/libfuzzer/backend_shim.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdio.h>
#include <stdlib.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/params.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/timestamp.h"

#include "reference_timestamp.h"

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
	if (typid != TIMESTAMPOID || tzp != NULL || buf == NULL)
		unreachable(__func__);
	reference_timestamp(buf, DatumGetTimestamp(value));
	return buf;
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

int
NewGUCNestLevel(void)
{
	unreachable(__func__);
	return 0;
}

void
AtEOXact_GUC(bool isCommit, int nestLevel)
{
	unreachable(__func__);
}

int
set_config_option(const char *name, const char *value, GucContext context,
				  GucSource source, GucAction action, bool changeVal,
				  int elevel, bool is_reload)
{
	unreachable(__func__);
	return 0;
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
