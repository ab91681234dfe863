/*-------------------------------------------------------------------------
 *
 * feeds.c
 *	  The app's JSON reads: home feed, user feed, a crud with its replies,
 *	  user short.
 *
 * Each read runs saved plans (cruddur_query_plan: prepared once per
 * backend, generic and for a fast start) whose rows stream into the json
 * result through json_writer.c; the pages of cruds and replies, and a crud
 * itself, are read straight from their indexes instead (feed_scan.c)
 * whenever that is exactly what the plan would do.  The text is byte-identical to test/reference.sql,
 * the row_to_json SQL these functions replace.
 *
 * Paged queries carry the constant LIMIT 1000 (the largest page) and the
 * page size goes to the executor as the SPI row count, which stops the scan
 * after the page; plans made for a fast start (cruddur.c) then walk the
 * index that yields rows in order.  The home feed has a second plan for
 * pages above 100, which joins the authors as a set.  The first page and
 * the following ones are separate plans too, so the cursor is an index
 * condition (a row comparison on the index's columns) rather than an OR the
 * index cannot use.
 *
 * Reads run SPI read-only: they see the calling statement's snapshot, so
 * the two queries of a user feed or a crud agree with each other.
 *
 * src/feeds.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "cruddur.h"
#include "json_writer.h"

/* Largest page; the LIMIT of the paged queries for large pages */
#define MAX_PAGE_SIZE 1000

/* Largest small page: the home feed's larger pages join users as a set */
#define SMALL_PAGE_SIZE 100

/* A generous guess of one feed item's JSON, to size the result buffer */
#define ITEM_SIZE_GUESS 512

/*
 * Unexpired, as the app sees it: no expires_at, or one later than now in
 * UTC (timestamps hold UTC).  "now" is a parameter (utc_now()) rather than
 * timezone('UTC', now()) in the text, which would be evaluated, with a
 * time zone lookup by name, for every row the scan reads.
 */
#define UNEXPIRED(alias, now) \
	"(" alias ".expires_at IS NULL OR " alias ".expires_at OPERATOR(pg_catalog.>) " now ")"

/* ----------------------------------------------------------------
 * Home feed
 * ----------------------------------------------------------------
 */
#define HOME_FEED_COLUMNS \
	"SELECT a.uuid, u.display_name, u.handle, a.message," \
	" a.replies_count, a.reposts_count, a.likes_count," \
	" a.reply_to_activity_uuid, a.expires_at, a.created_at"
#define HOME_FEED_WHERE \
	" WHERE a.reply_to_activity_uuid IS NULL AND " UNEXPIRED("a", "$1")
#define HOME_FEED_CURSOR \
	" AND (a.created_at, a.uuid) OPERATOR(pg_catalog.<) ($2, $3)"
#define HOME_FEED_ORDER \
	" ORDER BY a.created_at DESC, a.uuid DESC"
#define USERS_JOIN \
	" JOIN @extschema@.users u ON u.uuid OPERATOR(pg_catalog.=) a.user_uuid"

/*
 * Small pages: the authors looked up one by one in users_pkey as the index
 * yields the page.
 */
#define HOME_FEED_SMALL(cursor) \
	HOME_FEED_COLUMNS " FROM @extschema@.activities a" USERS_JOIN \
	HOME_FEED_WHERE cursor HOME_FEED_ORDER " LIMIT 100"

/*
 * Large pages: the 1000 rows are taken first and joined as a set, so the
 * planner may hash users once (and sort the 1000 rows back into order)
 * instead of descending users_pkey for every row, which was a third of a
 * page of 1000; with many people it keeps the nested loop.
 */
#define HOME_FEED_LARGE(cursor) \
	HOME_FEED_COLUMNS " FROM (SELECT a.uuid, a.user_uuid, a.message," \
	" a.replies_count, a.reposts_count, a.likes_count," \
	" a.reply_to_activity_uuid, a.expires_at, a.created_at" \
	" FROM @extschema@.activities a" \
	HOME_FEED_WHERE cursor HOME_FEED_ORDER " LIMIT 1000) a" USERS_JOIN \
	HOME_FEED_ORDER

/* $1 now in UTC; then $2, $3 the cursor */
static CruddurQuery home_feed_first[2] = {
	{HOME_FEED_SMALL(""), 1, {TIMESTAMPOID}},
	{HOME_FEED_LARGE(""), 1, {TIMESTAMPOID}}
};

static CruddurQuery home_feed_after[2] = {
	{HOME_FEED_SMALL(HOME_FEED_CURSOR), 3, {TIMESTAMPOID, TIMESTAMPOID, UUIDOID}},
	{HOME_FEED_LARGE(HOME_FEED_CURSOR), 3, {TIMESTAMPOID, TIMESTAMPOID, UUIDOID}}
};

static const JsonField feed_item_fields[] = {
	JSON_FIRST("uuid", JSON_UUID),
	JSON_NEXT("display_name", JSON_TEXT),
	JSON_NEXT("handle", JSON_TEXT),
	JSON_NEXT("message", JSON_TEXT),
	JSON_NEXT("replies_count", JSON_INT4),
	JSON_NEXT("reposts_count", JSON_INT4),
	JSON_NEXT("likes_count", JSON_INT4),
	JSON_NEXT("reply_to_activity_uuid", JSON_UUID),
	JSON_NEXT("expires_at", JSON_TIMESTAMP),
	JSON_NEXT("created_at", JSON_TIMESTAMP),
};
static const JsonObject feed_item = JSON_OBJECT(feed_item_fields);

/* ----------------------------------------------------------------
 * User feed
 * ----------------------------------------------------------------
 */

/* lower() under "C" folds exactly A-Z; users_handle_lower_key serves it */
#define HANDLE_MATCHES(alias) \
	"pg_catalog.lower(" alias ".handle COLLATE pg_catalog.\"C\")" \
	" OPERATOR(pg_catalog.=) pg_catalog.lower($1 COLLATE pg_catalog.\"C\")"

#define PROFILE(cruds_count) \
	"SELECT u.uuid, u.cognito_user_id, u.handle, u.display_name, u.bio, " \
	cruds_count " FROM @extschema@.users u WHERE " HANDLE_MATCHES("u")

/* 1.1: the person's rows counted on every call */
static CruddurQuery user_profile_counted = {
	PROFILE("(SELECT pg_catalog.count(*) FROM @extschema@.activities c"
			" WHERE c.user_uuid OPERATOR(pg_catalog.=) u.uuid)"),
	1, {TEXTOID}
};

/* 1.2: the count kept in users.cruds_count by the activities triggers */
static CruddurQuery user_profile = {PROFILE("u.cruds_count"), 1, {TEXTOID}};

static const JsonField profile_fields[] = {
	JSON_FIRST("uuid", JSON_UUID),
	JSON_NEXT_OF("cognito_user_uuid", "cognito_user_id", JSON_TEXT),
	JSON_NEXT("handle", JSON_TEXT),
	JSON_NEXT("display_name", JSON_TEXT),
	JSON_NEXT("bio", JSON_TEXT),
	JSON_NEXT("cruds_count", JSON_INT8),
};
static const JsonObject profile = JSON_OBJECT(profile_fields);

#define USER_FEED_SELECT \
	"SELECT a.uuid, u.display_name, u.handle, a.message," \
	" a.created_at, a.expires_at" \
	" FROM @extschema@.activities a" \
	" JOIN @extschema@.users u ON u.uuid OPERATOR(pg_catalog.=) a.user_uuid" \
	" WHERE a.user_uuid OPERATOR(pg_catalog.=) $1 AND " UNEXPIRED("a", "$2")
#define USER_FEED_ORDER \
	" ORDER BY a.created_at DESC, a.uuid DESC LIMIT 1000"

/* $1 the person, $2 now in UTC; then $3, $4 the cursor */
static CruddurQuery user_feed_first = {
	USER_FEED_SELECT USER_FEED_ORDER, 2, {UUIDOID, TIMESTAMPOID}
};

static CruddurQuery user_feed_after = {
	USER_FEED_SELECT
	" AND (a.created_at, a.uuid) OPERATOR(pg_catalog.<) ($3, $4)"
	USER_FEED_ORDER, 4, {UUIDOID, TIMESTAMPOID, TIMESTAMPOID, UUIDOID}
};

static const JsonField user_feed_item_fields[] = {
	JSON_FIRST("uuid", JSON_UUID),
	JSON_NEXT("display_name", JSON_TEXT),
	JSON_NEXT("handle", JSON_TEXT),
	JSON_NEXT("message", JSON_TEXT),
	JSON_NEXT("created_at", JSON_TIMESTAMP),
	JSON_NEXT("expires_at", JSON_TIMESTAMP),
};
static const JsonObject user_feed_item = JSON_OBJECT(user_feed_item_fields);

/* ----------------------------------------------------------------
 * A crud with its replies
 * ----------------------------------------------------------------
 */
static CruddurQuery activity_itself = {
	"SELECT a.uuid, u.display_name, u.handle, a.message,"
	" a.replies_count, a.reposts_count, a.likes_count,"
	" a.expires_at, a.created_at"
	" FROM @extschema@.activities a"
	" JOIN @extschema@.users u ON u.uuid OPERATOR(pg_catalog.=) a.user_uuid"
	" WHERE a.uuid OPERATOR(pg_catalog.=) $1 AND " UNEXPIRED("a", "$2"),
	2, {UUIDOID, TIMESTAMPOID}
};

static const JsonField activity_fields[] = {
	JSON_FIRST("uuid", JSON_UUID),
	JSON_NEXT("display_name", JSON_TEXT),
	JSON_NEXT("handle", JSON_TEXT),
	JSON_NEXT("message", JSON_TEXT),
	JSON_NEXT("replies_count", JSON_INT4),
	JSON_NEXT("reposts_count", JSON_INT4),
	JSON_NEXT("likes_count", JSON_INT4),
	JSON_NEXT("expires_at", JSON_TIMESTAMP),
	JSON_NEXT("created_at", JSON_TIMESTAMP),
};
static const JsonObject activity = JSON_OBJECT(activity_fields);

#define REPLIES_SELECT \
	"SELECT c.uuid, u.display_name, u.handle, c.message," \
	" c.replies_count, c.reposts_count, c.likes_count," \
	" c.reply_to_activity_uuid, c.created_at" \
	" FROM @extschema@.activities c" \
	" JOIN @extschema@.users u ON u.uuid OPERATOR(pg_catalog.=) c.user_uuid" \
	" WHERE c.reply_to_activity_uuid OPERATOR(pg_catalog.=) $1"
#define REPLIES_ORDER " ORDER BY c.created_at, c.uuid"

/* A page of replies: $1 the crud; then $2, $3 the cursor */
static CruddurQuery activity_replies_first = {
	REPLIES_SELECT REPLIES_ORDER " LIMIT 1000", 1, {UUIDOID}
};

static CruddurQuery activity_replies_after = {
	REPLIES_SELECT " AND (c.created_at, c.uuid) OPERATOR(pg_catalog.>) ($2, $3)"
	REPLIES_ORDER " LIMIT 1000", 3, {UUIDOID, TIMESTAMPOID, UUIDOID}
};

static const JsonField reply_fields[] = {
	JSON_FIRST("uuid", JSON_UUID),
	JSON_NEXT("display_name", JSON_TEXT),
	JSON_NEXT("handle", JSON_TEXT),
	JSON_NEXT("message", JSON_TEXT),
	JSON_NEXT("replies_count", JSON_INT4),
	JSON_NEXT("reposts_count", JSON_INT4),
	JSON_NEXT("likes_count", JSON_INT4),
	JSON_NEXT("reply_to_activity_uuid", JSON_UUID),
	JSON_NEXT("created_at", JSON_TIMESTAMP),
};
static const JsonObject reply = JSON_OBJECT(reply_fields);

/* ----------------------------------------------------------------
 * User short
 * ----------------------------------------------------------------
 */
static CruddurQuery user_short = {
	"SELECT u.uuid, u.handle, u.display_name"
	" FROM @extschema@.users u"
	" WHERE " HANDLE_MATCHES("u"),
	1, {TEXTOID}
};

static const JsonField user_short_fields[] = {
	JSON_FIRST("uuid", JSON_UUID),
	JSON_NEXT("handle", JSON_TEXT),
	JSON_NEXT("display_name", JSON_TEXT),
};
const JsonObject user_short_json = JSON_OBJECT(user_short_fields);

/* ----------------------------------------------------------------
 * Argument checks shared by the paged reads
 * ----------------------------------------------------------------
 */

/* The names of a paged read's arguments, for its refusals */
typedef struct PageArguments
{
	const char *page_size;
	const char *created_at;
	const char *uuid;
} PageArguments;

static const PageArguments feed_page = {
	"page_size", "before_created_at", "before_uuid"
};

static const PageArguments replies_page = {
	"replies_page_size", "replies_after_created_at", "replies_after_uuid"
};

/*
 * The page size in argument "argno"; NULL or outside 1..MAX_PAGE_SIZE is
 * refused.  Returns whether the cursor (the two following arguments) was
 * given; exactly one of them is refused.
 */
static bool
check_page_arguments(FunctionCallInfo fcinfo, int argno,
					 const PageArguments *names, int *page_size)
{
	bool		no_created_at = PG_ARGISNULL(argno + 1);
	bool		no_uuid = PG_ARGISNULL(argno + 2);

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be null", names->page_size),
				 errhint("Pass a page size from 1 to %d, or omit it for the default.",
						 MAX_PAGE_SIZE)));
	*page_size = PG_GETARG_INT32(argno);
	if (*page_size < 1 || *page_size > MAX_PAGE_SIZE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s %d is out of range", names->page_size, *page_size),
				 errdetail("%s must be from 1 to %d.", names->page_size,
						   MAX_PAGE_SIZE)));
	if (no_created_at != no_uuid)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s and %s must be given together",
						names->created_at, names->uuid),
				 errdetail("%s is null but %s is not.",
						   no_created_at ? names->created_at : names->uuid,
						   no_created_at ? names->uuid : names->created_at),
				 errhint("Pass the created_at and uuid of the last item of the previous page, or neither for the first page.")));
	return !no_created_at;
}

/*
 * now() in UTC as a timestamp without time zone: what
 * timezone('UTC', now()) returns.  A timestamptz is microseconds since
 * 2000-01-01 00:00 UTC, so in UTC the two types hold the same number.
 */
static Datum
utc_now(void)
{
	return TimestampGetDatum((Timestamp) GetCurrentTransactionStartTimestamp());
}

static void
connect_spi(void)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
}

/* ----------------------------------------------------------------
 * SQL-callable functions
 * ----------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(cruddur_home_feed);

/*
 * cruddur_home_feed(page_size, before_created_at, before_uuid) -> json array
 */
Datum
cruddur_home_feed(PG_FUNCTION_ARGS)
{
	Oid			nspid = cruddur_schema(fcinfo);
	int			page_size;
	bool		after = check_page_arguments(fcinfo, 0, &feed_page, &page_size);
	StringInfoData buf;
	CruddurQuery *query = &(after ? home_feed_after : home_feed_first)
		[page_size > SMALL_PAGE_SIZE];
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	uint64		nrows;
	FeedReader *reader = feed_reader_begin(nspid);

	/* in the caller's context: it outlives SPI_finish */
	json_result_init(&buf, 64 + page_size * ITEM_SIZE_GUESS);
	json_append_literal(&buf, "[");

	values[0] = utc_now();
	values[1] = PG_GETARG_DATUM(1);
	values[2] = PG_GETARG_DATUM(2);

	/* straight from the index when that is what the query would do */
	if (!feed_scan(reader, FEED_HOME, (Datum) 0, after ? &values[1] : NULL,
				   page_size, DatumGetTimestamp(values[0]), &buf, &feed_item,
				   &nrows))
	{
		connect_spi();
		json_rows_from_plan(cruddur_query_plan(query, nspid),
							query->nargs, query->argtypes, values, nulls,
							true, page_size, &buf, &feed_item);
		SPI_finish();
	}
	feed_reader_end(reader);

	json_append_literal(&buf, "]");
	PG_RETURN_DATUM(json_result_finish(&buf));
}

PG_FUNCTION_INFO_V1(cruddur_user_feed);

/*
 * cruddur_user_feed(handle, page_size, before_created_at, before_uuid)
 *	 -> {"profile": {...}, "activities": [...]}, or NULL for no such person
 *
 * cruds_count is users.cruds_count, kept by triggers since 1.2; a database
 * still at 1.1 has no such column, and its rows are counted.
 */
Datum
cruddur_user_feed(PG_FUNCTION_ARGS)
{
	Oid			nspid = cruddur_schema(fcinfo);
	int			page_size;
	bool		after = check_page_arguments(fcinfo, 1, &feed_page, &page_size);
	StringInfoData buf;
	CruddurQuery *query = after ? &user_feed_after : &user_feed_first;
	JsonRows	found;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	uint64		nrows;
	bool		person;
	bool		connected = false;
	FeedReader *reader;

	/* the reference SQL finds nobody for a NULL handle */
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();

	json_result_init(&buf, 256 + page_size * ITEM_SIZE_GUESS);
	json_append_literal(&buf, "{\"profile\":");

	/*
	 * The person straight from users_handle_lower_key; a database still at
	 * 1.1, whose users have no cruds_count for it to show, counts by plan.
	 */
	reader = feed_reader_begin(nspid);
	values[0] = PG_GETARG_DATUM(0);
	if (person_scan(reader, values[0], &buf, &profile, &person,
					&found.last_uuid))
		found.nrows = person;
	else
	{
		CruddurQuery *profile_query =
			get_attnum(get_relname_relid("users", nspid), "cruds_count") ==
			InvalidAttrNumber ? &user_profile_counted : &user_profile;

		connect_spi();
		connected = true;
		found = json_rows_from_plan(cruddur_query_plan(profile_query, nspid),
									1, profile_query->argtypes, values, nulls,
									true, 0, &buf, &profile);
	}
	if (found.nrows == 0)
	{
		feed_reader_end(reader);
		if (connected)
			SPI_finish();
		pfree(buf.data);
		PG_RETURN_NULL();
	}

	json_append_literal(&buf, ",\"activities\":[");
	values[0] = UUIDPGetDatum(&found.last_uuid);
	values[1] = utc_now();
	if (after)
	{
		values[2] = PG_GETARG_DATUM(2);
		values[3] = PG_GETARG_DATUM(3);
	}
	if (!feed_scan(reader, FEED_USER, values[0], after ? &values[2] : NULL,
				   page_size, DatumGetTimestamp(values[1]), &buf,
				   &user_feed_item, &nrows))
	{
		if (!connected)
			connect_spi();
		connected = true;
		json_rows_from_plan(cruddur_query_plan(query, nspid),
							query->nargs, query->argtypes, values, nulls,
							true, page_size, &buf, &user_feed_item);
	}
	feed_reader_end(reader);
	if (connected)
		SPI_finish();

	json_append_literal(&buf, "]}");
	PG_RETURN_DATUM(json_result_finish(&buf));
}

/*
 * A crud with a page of its replies: {"activity": {...}, "replies": [...]},
 * or NULL when there is no such crud or it has expired; "cursor" is the
 * (created_at, uuid) the page starts after.
 */
static Datum
activity_with_replies(FunctionCallInfo fcinfo, int page_size,
					  const Datum *cursor)
{
	Oid			nspid = cruddur_schema(fcinfo);
	StringInfoData buf;
	Datum		values[3] = {PG_GETARG_DATUM(0), utc_now()};
	bool		nulls[3] = {false, false, false};
	Timestamp	now = DatumGetTimestamp(values[1]);
	CruddurQuery *replies = cursor ? &activity_replies_after : &activity_replies_first;
	uint64		nrows;
	bool		connected = false;
	FeedReader *reader = feed_reader_begin(nspid);

	json_result_init(&buf, 1024);
	json_append_literal(&buf, "{\"activity\":");

	if (!feed_scan(reader, FEED_ACTIVITY, values[0], NULL, 1, now, &buf,
				   &activity, &nrows))
	{
		connect_spi();
		connected = true;
		nrows = json_rows_from_plan(cruddur_query_plan(&activity_itself, nspid),
									2, activity_itself.argtypes, values,
									nulls, true, 0, &buf, &activity).nrows;
	}
	if (nrows == 0)
	{
		feed_reader_end(reader);
		if (connected)
			SPI_finish();
		pfree(buf.data);
		PG_RETURN_NULL();
	}

	json_append_literal(&buf, ",\"replies\":[");
	if (!feed_scan(reader, FEED_REPLIES, values[0], cursor, page_size, now,
				   &buf, &reply, &nrows))
	{
		if (!connected)
			connect_spi();
		connected = true;
		if (cursor)
		{
			values[1] = cursor[0];
			values[2] = cursor[1];
		}
		json_rows_from_plan(cruddur_query_plan(replies, nspid),
							replies->nargs, replies->argtypes, values, nulls,
							true, page_size, &buf, &reply);
	}
	feed_reader_end(reader);
	if (connected)
		SPI_finish();

	json_append_literal(&buf, "]}");
	PG_RETURN_DATUM(json_result_finish(&buf));
}

PG_FUNCTION_INFO_V1(cruddur_activity);

/*
 * cruddur_activity(activity_uuid): the crud and its first MAX_PAGE_SIZE
 * replies.  STRICT.  (1.1 showed every reply, in one answer however many.)
 */
Datum
cruddur_activity(PG_FUNCTION_ARGS)
{
	return activity_with_replies(fcinfo, MAX_PAGE_SIZE, NULL);
}

PG_FUNCTION_INFO_V1(cruddur_activity_page);

/*
 * cruddur_activity(activity_uuid, replies_page_size, replies_after_created_at,
 * replies_after_uuid): the crud and a page of its replies (1.2).
 */
Datum
cruddur_activity_page(PG_FUNCTION_ARGS)
{
	int			page_size;
	bool		after = check_page_arguments(fcinfo, 1, &replies_page, &page_size);
	Datum		cursor[2];

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	cursor[0] = PG_GETARG_DATUM(2);
	cursor[1] = PG_GETARG_DATUM(3);
	return activity_with_replies(fcinfo, page_size, after ? cursor : NULL);
}

PG_FUNCTION_INFO_V1(cruddur_user_short);

/*
 * cruddur_user_short(handle) -> {uuid, handle, display_name}, or NULL.
 * STRICT.
 */
Datum
cruddur_user_short(PG_FUNCTION_ARGS)
{
	Oid			nspid = cruddur_schema(fcinfo);
	StringInfoData buf;
	JsonRows	found;
	Datum		values[1] = {PG_GETARG_DATUM(0)};
	bool		nulls[1] = {false};
	bool		person;
	FeedReader *reader = feed_reader_begin(nspid);

	json_result_init(&buf, 256);

	if (person_scan(reader, values[0], &buf, &user_short_json, &person,
					&found.last_uuid))
		found.nrows = person;
	else
	{
		connect_spi();
		found = json_rows_from_plan(cruddur_query_plan(&user_short, nspid),
									1, user_short.argtypes, values, nulls,
									true, 0, &buf, &user_short_json);
		SPI_finish();
	}
	feed_reader_end(reader);

	if (found.nrows == 0)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(json_result_finish(&buf));
}
