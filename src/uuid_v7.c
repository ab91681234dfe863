/*-------------------------------------------------------------------------
 *
 * uuid_v7.c
 *	  cruddur_uuid_v7(): RFC 9562 version 7 UUIDs, the primary key default.
 *
 * Layout (big-endian, 128 bits):
 *	 48 bits  Unix time in milliseconds
 *	  4 bits  version, 0111
 *	 12 bits  sub-millisecond time, in 1/4096 ms (RFC 9562 section 6.2,
 *			  method 3), so values of one backend sort by creation time
 *	  2 bits  variant, 10
 *	 62 bits  from pg_strong_random()
 *
 * The 60 bits of time are one counter: a backend never hands out the same
 * or a smaller one twice, so its values are strictly increasing even when
 * many are made in one 1/4096 ms or the system clock steps back.  The time
 * then runs ahead of the clock by 244 ns per value until the clock catches
 * up.
 *
 * src/uuid_v7.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <time.h>

#include "fmgr.h"
#include "utils/uuid.h"

#define SUBMS_BITS		12
#define NS_PER_MS		INT64CONST(1000000)
#define NS_PER_S		INT64CONST(1000000000)

/* time field of the last UUID this backend made: ms << 12 | sub-ms */
static uint64 last_time_field = 0;

/*
 * The next time field: the clock now, or one more than the last one when
 * the clock has not moved past it.
 */
static uint64
next_time_field(void)
{
	struct timespec ts;
	int64		ns;
	uint64		field;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not read the system clock: %m")));

	ns = (int64) ts.tv_sec * NS_PER_S + ts.tv_nsec;
	field = ((uint64) (ns / NS_PER_MS) << SUBMS_BITS) |
		(uint64) ((ns % NS_PER_MS) * (1 << SUBMS_BITS) / NS_PER_MS);

	if (field <= last_time_field)
		field = last_time_field + 1;
	last_time_field = field;
	return field;
}

PG_FUNCTION_INFO_V1(cruddur_uuid_v7);

Datum
cruddur_uuid_v7(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *uuid = palloc(UUID_LEN);
	uint64		field = next_time_field();
	uint64		ms = field >> SUBMS_BITS;
	uint32		subms = (uint32) (field & ((1 << SUBMS_BITS) - 1));

	if (!pg_strong_random(&uuid->data[8], UUID_LEN - 8))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate random values")));

	uuid->data[0] = (unsigned char) (ms >> 40);
	uuid->data[1] = (unsigned char) (ms >> 32);
	uuid->data[2] = (unsigned char) (ms >> 24);
	uuid->data[3] = (unsigned char) (ms >> 16);
	uuid->data[4] = (unsigned char) (ms >> 8);
	uuid->data[5] = (unsigned char) ms;
	uuid->data[6] = (unsigned char) (0x70 | (subms >> 8));
	uuid->data[7] = (unsigned char) subms;
	uuid->data[8] = (unsigned char) (0x80 | (uuid->data[8] & 0x3F));

	PG_RETURN_UUID_P(uuid);
}
