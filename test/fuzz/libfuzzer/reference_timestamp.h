/*-------------------------------------------------------------------------
 *
 * reference_timestamp.h
 *	  A timestamp as JsonEncodeDateTime writes it, computed another way:
 *	  the date from glibc's gmtime_r (proleptic Gregorian, like
 *	  PostgreSQL's j2date), the rest by hand.
 *
 * Used by the harness as the expected text and by backend_shim.c in place
 * of core's JsonEncodeDateTime, from which json_writer.c takes the date
 * part of each new day.
 *
 * test/fuzz/libfuzzer/reference_timestamp.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef REFERENCE_TIMESTAMP_H
#define REFERENCE_TIMESTAMP_H

#include "datatype/timestamp.h"

/*
 * Write "t" into out (NUL-terminated, at most MAXDATELEN + 1 bytes):
 * "infinity", "-infinity", or XSD "YYYY-MM-DDTHH:MM:SS[.f]" with at least
 * four year digits, the fraction without trailing zeros, " BC" for years
 * before 1 AD.  "t" must be finite and valid or an infinity.
 */
extern void reference_timestamp(char *out, Timestamp t);

#endif							/* REFERENCE_TIMESTAMP_H */
