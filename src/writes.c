/*-------------------------------------------------------------------------
 *
 * writes.c
 *	  The app's JSON writes: new cruds, replies, profile updates.
 *
 * Each write checks its arguments in C, then runs one saved statement that
 * both writes and returns the new row with its author, formatted by
 * json_writer.c exactly as cruddur_ref.created_activity (row_to_json)
 * shows the row afterwards.  A write that finds nobody to write for (no
 * such person, no such unexpired crud) writes nothing and raises P0002; a
 * bad argument raises 22023 before anything runs.  Either way nothing is
 * left behind.
 *
 * The functions are SECURITY DEFINER: a role granted EXECUTE writes through
 * them without privileges on the tables.
 *
 * src/writes.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "datatype/timestamp.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "cruddur.h"
#include "json_writer.h"

#define CRUD_MAX_CHARS		280
#define REPLY_MAX_CHARS		1024

/* The app's crud lifetimes, as the frontend offers them */
typedef struct Ttl
{
	const char *name;
	int			days;
	int			hours;
} Ttl;

static const Ttl ttls[] = {
	{"30-days", 30, 0},
	{"7-days", 7, 0},
	{"3-days", 3, 0},
	{"1-day", 1, 0},
	{"12-hours", 0, 12},
	{"3-hours", 0, 3},
	{"1-hour", 0, 1},
};

/* created_at is the transaction's time in UTC, like the column default */
#define UTC_NOW \
	"pg_catalog.timezone('UTC'::pg_catalog.text, pg_catalog.now())"

/* The author, found by Cognito sub ($1) */
#define AUTHOR_CTE \
	"WITH u AS (SELECT uuid, display_name, handle FROM @extschema@.users" \
	" WHERE cognito_user_id OPERATOR(pg_catalog.=) $1)"

/* What a new crud or reply returns: cruddur_ref.created_activity's columns */
#define NEW_ROW_SELECT \
	" SELECT a.uuid, u.display_name, u.handle, a.message, a.created_at," \
	" a.expires_at, a.reply_to_activity_uuid" \
	" FROM a JOIN u ON u.uuid OPERATOR(pg_catalog.=) a.user_uuid"
#define NEW_ROW_RETURNING \
	" RETURNING uuid, user_uuid, message, created_at, expires_at," \
	" reply_to_activity_uuid"

/* $1 cognito_user_id, $2 message, $3 ttl as an interval */
static CruddurQuery insert_crud = {
	AUTHOR_CTE ","
	" a AS (INSERT INTO @extschema@.activities"
	" (user_uuid, message, created_at, expires_at)"
	" SELECT u.uuid, $2, n.now, n.now OPERATOR(pg_catalog.+) $3"
	" FROM u, (SELECT " UTC_NOW " AS now) n"
	NEW_ROW_RETURNING ")"
	NEW_ROW_SELECT,
	3, {TEXTOID, TEXTOID, INTERVALOID}
};

/* $1 cognito_user_id, $2 parent, $3 message; the parent must be unexpired */
static CruddurQuery insert_reply = {
	AUTHOR_CTE ","
	" p AS (SELECT uuid FROM @extschema@.activities"
	" WHERE uuid OPERATOR(pg_catalog.=) $2"
	" AND (expires_at IS NULL OR expires_at OPERATOR(pg_catalog.>) " UTC_NOW ")),"
	" a AS (INSERT INTO @extschema@.activities"
	" (user_uuid, message, reply_to_activity_uuid, created_at)"
	" SELECT u.uuid, $3, p.uuid, " UTC_NOW " FROM u, p"
	NEW_ROW_RETURNING ")"
	NEW_ROW_SELECT,
	3, {TEXTOID, UUIDOID, TEXTOID}
};

/* Only when a reply wrote nothing: was it the person or the crud? */
static CruddurQuery person_exists = {
	"SELECT uuid FROM @extschema@.users"
	" WHERE cognito_user_id OPERATOR(pg_catalog.=) $1",
	1, {TEXTOID}
};

static CruddurQuery update_profile = {
	"UPDATE @extschema@.users SET display_name = $2, bio = $3"
	" WHERE cognito_user_id OPERATOR(pg_catalog.=) $1"
	" RETURNING uuid, handle, display_name",
	3, {TEXTOID, TEXTOID, TEXTOID}
};

static const JsonField new_activity_fields[] = {
	JSON_FIRST("uuid", JSON_UUID),
	JSON_NEXT("display_name", JSON_TEXT),
	JSON_NEXT("handle", JSON_TEXT),
	JSON_NEXT("message", JSON_TEXT),
	JSON_NEXT("created_at", JSON_TIMESTAMP),
	JSON_NEXT("expires_at", JSON_TIMESTAMP),
	JSON_NEXT("reply_to_activity_uuid", JSON_UUID),
};
static const JsonObject new_activity = JSON_OBJECT(new_activity_fields);

/*
 * Whether a code point is white space (Unicode's White_Space property), so
 * that a message of only non-breaking or ideographic spaces counts as
 * blank too.
 */
static bool
is_white_space(pg_wchar c)
{
	return c == ' ' || (c >= 0x09 && c <= 0x0D) || c == 0x85 || c == 0xA0 ||
		c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
		c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/*
 * Whether the "len" bytes at "s" are empty or only white space: the one
 * definition of blank, for messages, display names and Cognito's
 * attributes alike.
 */
bool
cruddur_is_blank(const char *s, int len)
{
	const unsigned char *p = (const unsigned char *) s;
	const unsigned char *end = p + len;
	bool		utf8 = GetDatabaseEncoding() == PG_UTF8;

	while (p < end)
	{
		if (*p < 0x80 && is_white_space(*p))
			p++;
		else if (utf8 && *p >= 0x80 && pg_utf_mblen(p) <= end - p &&
				 is_white_space(utf8_to_unicode(p)))
			p += pg_utf_mblen(p);
		else
			return false;
	}
	return true;
}

/* Whether text is empty or only white space */
static bool
is_blank(text *t)
{
	return cruddur_is_blank(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

/* The text argument "argno" named "name", refused when NULL */
static text *
required_text(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be null", name)));
	return PG_GETARG_TEXT_PP(argno);
}

/* A message of 1 to "max_chars" characters, not blank */
static text *
checked_message(FunctionCallInfo fcinfo, int argno, int max_chars,
				const char *what)
{
	text	   *message = required_text(fcinfo, argno, "message");
	int			chars = pg_mbstrlen_with_len(VARDATA_ANY(message),
											 VARSIZE_ANY_EXHDR(message));

	if (chars > max_chars)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("message is too long"),
				 errdetail("The message has %d characters; a %s may have at most %d.",
						   chars, what, max_chars)));
	if (is_blank(message))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("message must not be blank"),
				 errdetail("A %s needs at least one character that is not white space.",
						   what)));
	return message;
}

/* The interval a ttl name stands for */
static Interval *
ttl_interval(text *ttl)
{
	char	   *name = text_to_cstring(ttl);
	int			i;

	for (i = 0; i < lengthof(ttls); i++)
	{
		if (strcmp(name, ttls[i].name) == 0)
		{
			Interval   *interval = palloc0(sizeof(Interval));

			interval->day = ttls[i].days;
			interval->time = ttls[i].hours * USECS_PER_HOUR;
			return interval;
		}
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown ttl \"%s\"", name),
			 errhint("Use one of 30-days, 7-days, 3-days, 1-day, 12-hours, 3-hours or 1-hour.")));
	return NULL;				/* keep compiler quiet */
}

static void
no_such_person(text *cognito_user_id)
{
	ereport(ERROR,
			(errcode(ERRCODE_NO_DATA_FOUND),
			 errmsg("no person has cognito_user_id \"%s\"",
					text_to_cstring(cognito_user_id)),
			 errhint("People are added by cruddur_register_user when Cognito confirms them.")));
}

/*
 * Run one write with SPI and return its row as a json object, or NULL
 * when it wrote nothing.  SPI_finish is left to the caller, which may
 * still need to find out why.
 */
static bool
run_write(CruddurQuery *query, Oid nspid, Datum *values, bool *nulls,
		  StringInfo buf, const JsonObject *object)
{
	JsonRows	rows;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rows = json_rows_from_plan(cruddur_query_plan(query, nspid),
							   query->nargs, query->argtypes, values, nulls,
							   false, 0, buf, object);
	return rows.nrows > 0;
}

PG_FUNCTION_INFO_V1(cruddur_create_activity);

/*
 * cruddur_create_activity(cognito_user_id, message, ttl) -> the new crud
 */
Datum
cruddur_create_activity(PG_FUNCTION_ARGS)
{
	Oid			nspid = cruddur_schema(fcinfo);
	text	   *cognito_user_id = required_text(fcinfo, 0, "cognito_user_id");
	text	   *message = checked_message(fcinfo, 1, CRUD_MAX_CHARS, "crud");
	Interval   *ttl = ttl_interval(required_text(fcinfo, 2, "ttl"));
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	StringInfoData buf;

	values[0] = PointerGetDatum(cognito_user_id);
	values[1] = PointerGetDatum(message);
	values[2] = IntervalPGetDatum(ttl);

	json_result_init(&buf, 1024);
	if (!run_write(&insert_crud, nspid, values, nulls, &buf, &new_activity))
		no_such_person(cognito_user_id);
	SPI_finish();

	PG_RETURN_DATUM(json_result_finish(&buf));
}

PG_FUNCTION_INFO_V1(cruddur_create_reply);

/*
 * cruddur_create_reply(cognito_user_id, reply_to_activity_uuid, message)
 *	 -> the new reply
 */
Datum
cruddur_create_reply(PG_FUNCTION_ARGS)
{
	Oid			nspid = cruddur_schema(fcinfo);
	text	   *cognito_user_id = required_text(fcinfo, 0, "cognito_user_id");
	pg_uuid_t  *parent;
	text	   *message;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	StringInfoData buf;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("reply_to_activity_uuid must not be null")));
	parent = PG_GETARG_UUID_P(1);
	message = checked_message(fcinfo, 2, REPLY_MAX_CHARS, "reply");

	values[0] = PointerGetDatum(cognito_user_id);
	values[1] = UUIDPGetDatum(parent);
	values[2] = PointerGetDatum(message);

	json_result_init(&buf, 2048);
	if (!run_write(&insert_reply, nspid, values, nulls, &buf, &new_activity))
	{
		if (SPI_execute_plan(cruddur_query_plan(&person_exists, nspid),
							 values, " ", true, 1) < 0)
			elog(ERROR, "SPI_execute_plan failed");
		if (SPI_processed == 0)
			no_such_person(cognito_user_id);
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("crud %s does not exist or has expired",
						DatumGetCString(DirectFunctionCall1(uuid_out,
															UUIDPGetDatum(parent)))),
				 errdetail("Replies can only be made to an existing, unexpired crud or reply.")));
	}
	SPI_finish();

	PG_RETURN_DATUM(json_result_finish(&buf));
}

PG_FUNCTION_INFO_V1(cruddur_update_profile);

/*
 * cruddur_update_profile(cognito_user_id, display_name, bio)
 *	 -> {uuid, handle, display_name}, as cruddur_user_short shows them after
 */
Datum
cruddur_update_profile(PG_FUNCTION_ARGS)
{
	Oid			nspid = cruddur_schema(fcinfo);
	text	   *cognito_user_id = required_text(fcinfo, 0, "cognito_user_id");
	text	   *display_name = required_text(fcinfo, 1, "display_name");
	Datum		values[3];
	bool		nulls[3] = {false, false, PG_ARGISNULL(2)};
	StringInfoData buf;

	if (is_blank(display_name))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("display_name must not be blank"),
				 errdetail("A display name needs at least one character that is not white space.")));

	values[0] = PointerGetDatum(cognito_user_id);
	values[1] = PointerGetDatum(display_name);
	values[2] = nulls[2] ? (Datum) 0 : PG_GETARG_DATUM(2);

	json_result_init(&buf, 256);
	if (!run_write(&update_profile, nspid, values, nulls, &buf,
				   &user_short_json))
		no_such_person(cognito_user_id);
	SPI_finish();

	PG_RETURN_DATUM(json_result_finish(&buf));
}
