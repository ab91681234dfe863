/*-------------------------------------------------------------------------
 *
 * cruddur.h
 *	  What the C files of the cruddur extension offer one another.
 *
 * src/cruddur.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef CRUDDUR_H
#define CRUDDUR_H

#include "fmgr.h"
#include "datatype/timestamp.h"
#include "executor/spi.h"

#include "json_writer.h"

/*
 * A query of ours, prepared once per backend and kept.
 *
 * The text names the extension's tables as @extschema@.users etc.; the
 * schema is the one the calling SQL function lives in, which for an
 * extension member is the extension's schema.  Plans are prepared generic
 * (never re-planned for new parameter values) and for a fast start (callers
 * stop the executor after a page), and are re-planned by the plan cache
 * only when the tables change.
 */
typedef struct CruddurQuery
{
	const char *sql;			/* text with @extschema@ placeholders */
	int			nargs;
	Oid			argtypes[6];
	/* filled in by cruddur_query_plan */
	Oid			nspid;			/* schema the plan was made for */
	SPIPlanPtr	plan;
} CruddurQuery;

/* cruddur.c */
extern Oid	cruddur_schema(FunctionCallInfo fcinfo);
extern SPIPlanPtr cruddur_query_plan(CruddurQuery *query, Oid nspid);

/* writes.c */
extern bool cruddur_is_blank(const char *s, int len);

/* feed_scan.c: the feeds read straight from their indexes */
typedef enum FeedKind
{
	FEED_HOME,					/* top-level cruds, newest first */
	FEED_USER,					/* a person's cruds and replies, newest first */
	FEED_REPLIES,				/* a crud's replies, oldest first */
	FEED_ACTIVITY,				/* one crud by its uuid */
	FEED_NKINDS
} FeedKind;

/* what the reads of one call share; feed_reader_begin/end bracket them */
typedef struct FeedReader FeedReader;

extern FeedReader *feed_reader_begin(Oid nspid);
extern void feed_reader_end(FeedReader *reader);
extern bool feed_scan(FeedReader *reader, FeedKind kind, Datum key,
					  const Datum *cursor, int page_size, Timestamp now,
					  StringInfo buf, const JsonObject *object,
					  uint64 *nrows);
extern bool person_scan(FeedReader *reader, Datum handle, StringInfo buf,
						const JsonObject *object, bool *found,
						pg_uuid_t *uuid);

#endif							/* CRUDDUR_H */
