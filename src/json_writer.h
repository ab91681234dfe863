/*-------------------------------------------------------------------------
 *
 * json_writer.h
 *	  JSON text exactly as row_to_json writes it, streamed from SPI rows.
 *
 * The feeds and the writes build their json results here: values are
 * formatted the way core's row_to_json/array_to_json format them (so the
 * text is byte-identical), and query rows are written straight from the
 * executor into the result through a DestReceiver, without copies.
 *
 * src/json_writer.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef JSON_WRITER_H
#define JSON_WRITER_H

#include "lib/stringinfo.h"
#include "executor/spi.h"
#include "utils/uuid.h"

/* The column types we format, one way each (row_to_json's way) */
typedef enum JsonKind
{
	JSON_UUID,					/* uuid: "8-4-4-4-12" lower-case hex */
	JSON_TEXT,					/* text: escaped string */
	JSON_INT4,					/* integer: number */
	JSON_INT8,					/* bigint: number */
	JSON_TIMESTAMP				/* timestamp: "ISO 8601", as JsonEncodeDateTime */
} JsonKind;

/*
 * One key of an object, in column order.  "prefix" is what precedes the
 * value: `{"key":` for the first column, `,"key":` for the others; built at
 * compile time by JSON_FIRST/JSON_NEXT, so a row costs no key formatting.
 * Keys are our own identifiers and need no escaping.  "column" names the
 * column the value is read from (the key itself, unless JSON_NEXT_OF says
 * otherwise), which is how the direct reads of feed_scan.c find it.
 */
typedef struct JsonField
{
	const char *prefix;
	int			prefixlen;
	JsonKind	kind;
	const char *column;
} JsonField;

#define JSON_FIRST(key, kind) \
	{"{\"" key "\":", sizeof("{\"" key "\":") - 1, kind, key}
#define JSON_NEXT(key, kind) JSON_NEXT_OF(key, key, kind)
#define JSON_NEXT_OF(key, column, kind) \
	{",\"" key "\":", sizeof(",\"" key "\":") - 1, kind, column}

/* An object shape: its fields, matching the query's columns one to one */
typedef struct JsonObject
{
	const JsonField *fields;
	int			nfields;
} JsonObject;

#define JSON_OBJECT(fields) {fields, lengthof(fields)}

/* What a run of a query wrote */
typedef struct JsonRows
{
	uint64		nrows;			/* objects written */
	pg_uuid_t	last_uuid;		/* first column of the last row, if a uuid */
} JsonRows;

/* The result buffer: a json varlena built in place */
extern void json_result_init(StringInfo buf, int size_hint);
extern Datum json_result_finish(StringInfo buf);

/* Values, formatted as row_to_json formats them */
extern void json_append_raw(StringInfo buf, const char *s, int len);
extern void json_append_text(StringInfo buf, const char *s, int len);
extern void json_append_uuid(StringInfo buf, const pg_uuid_t *uuid);
extern void json_append_timestamp(StringInfo buf, Datum timestamp);

/* One object of shape "object" from values in field order */
extern void json_append_object(StringInfo buf, const JsonObject *object,
							   const Datum *values, const bool *isnull);

#define json_append_literal(buf, lit) \
	json_append_raw((buf), (lit), sizeof(lit) - 1)

/*
 * Run a saved plan and append each row it returns to "buf" as a JSON object
 * of shape "object", the objects separated by commas.  At most "tcount" rows
 * (0 for all).  Must be called while connected to SPI.
 */
extern JsonRows json_rows_from_plan(SPIPlanPtr plan, int nargs,
									const Oid *argtypes, const Datum *values,
									const bool *nulls, bool read_only,
									uint64 tcount, StringInfo buf,
									const JsonObject *object);

/*
 * Object shapes shared by the reads and the writes (feeds.c):
 * cruddur_update_profile returns what cruddur_user_short shows.
 */
extern const JsonObject user_short_json;

#endif							/* JSON_WRITER_H */
