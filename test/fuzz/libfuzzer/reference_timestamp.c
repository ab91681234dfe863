/*-------------------------------------------------------------------------
 *
 * reference_timestamp.c
 *	  A timestamp as JsonEncodeDateTime writes it, from gmtime_r.
 *
 * test/fuzz/libfuzzer/reference_timestamp.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "reference_timestamp.h"

/* seconds from 1970-01-01 to 2000-01-01, PostgreSQL's epoch */
#define EPOCH_OFFSET INT64CONST(946684800)

void
reference_timestamp(char *out, Timestamp t)
{
	int64		secs;
	int64		usec;
	time_t		unix_secs;
	struct tm	tm;
	int			year;
	int			n;

	if (TIMESTAMP_IS_NOBEGIN(t))
	{
		strcpy(out, "-infinity");
		return;
	}
	if (TIMESTAMP_IS_NOEND(t))
	{
		strcpy(out, "infinity");
		return;
	}

	/* floor division: before 2000 the microseconds still count upwards */
	secs = t / USECS_PER_SEC;
	usec = t % USECS_PER_SEC;
	if (usec < 0)
	{
		usec += USECS_PER_SEC;
		secs--;
	}
	unix_secs = (time_t) (secs + EPOCH_OFFSET);
	if (gmtime_r(&unix_secs, &tm) == NULL)
		abort();

	/* astronomical year 0 is 1 BC */
	year = tm.tm_year + 1900;
	n = sprintf(out, "%04d-%02d-%02dT%02d:%02d:%02d",
				year > 0 ? year : 1 - year, tm.tm_mon + 1, tm.tm_mday,
				tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (usec != 0)
	{
		n += sprintf(out + n, ".%06d", (int) usec);
		while (out[n - 1] == '0')
			n--;
		out[n] = '\0';
	}
	if (year <= 0)
		strcpy(out + n, " BC");
}
