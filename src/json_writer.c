/*-------------------------------------------------------------------------
 *
 * json_writer.c
 *	  JSON text exactly as row_to_json writes it, streamed from SPI rows.
 *
 * Offers the feeds and the writes: a json result buffer written in place
 * (json_result_init/finish), value formatting byte-identical to core's
 * row_to_json (json_append_*), and json_rows_from_plan, which runs a saved
 * plan and formats every row the executor produces directly into that
 * buffer.
 *
 * Why not call row_to_json: most of its cost is per-value type lookups,
 * output functions that palloc a C string which is then copied and escaped
 * byte by byte, and a final copy of the result.  Here the kind of every
 * column is fixed by the query (checked once per run, not per row), values
 * go from the Datum to the result buffer with no intermediate string, runs
 * of text that need no escaping are copied whole, and the buffer becomes
 * the returned varlena without a copy.
 *
 * The formats follow core's json.c (datum_to_json, escape_json):
 *	 uuid		"xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", lower-case hex (uuid_out)
 *	 integers	decimal digits, unquoted (int4out/int8out)
 *	 text		quoted; \" \\ \b \f \n \r \t, other bytes below 0x20 as
 *				\u00xx in lower-case hex, every other byte as is
 *	 timestamp	quoted, JsonEncodeDateTime (ISO 8601, infinity, BC)
 *	 NULL		null
 *
 * src/json_writer.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "nodes/params.h"
#include "tcop/dest.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/json.h"

#include "json_writer.h"

static const char hex_digits[] = "0123456789abcdef";

/*
 * What each byte becomes inside a JSON string: 0 for itself, else the
 * letter after the backslash ('u' for the \u00xx form).  Mirrors
 * escape_json; NUL cannot occur in text.
 */
static const char json_escape[256] = {
	'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
	'b', 't', 'n', 'u', 'f', 'r', 'u', 'u',
	'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
	'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
	['"'] = '"',
	['\\'] = '\\',
};

/* The type each kind formats, to check a query's columns against */
static const Oid json_kind_type[] = {
	[JSON_UUID] = UUIDOID,
	[JSON_TEXT] = TEXTOID,
	[JSON_INT4] = INT4OID,
	[JSON_INT8] = INT8OID,
	[JSON_TIMESTAMP] = TIMESTAMPOID,
};

/*
 * Start a json result in "buf", in the current memory context.  The first
 * VARHDRSZ bytes are reserved for the varlena header, so the finished text
 * is returned where it was written.  "size_hint" is the expected length,
 * to spare the doublings of a growing buffer.
 */
void
json_result_init(StringInfo buf, int size_hint)
{
	buf->maxlen = Max(size_hint, 1024);
	buf->data = palloc(buf->maxlen);
	buf->len = VARHDRSZ;
	buf->data[buf->len] = '\0';
	buf->cursor = 0;
}

/* The json Datum of a result started with json_result_init */
Datum
json_result_finish(StringInfo buf)
{
	SET_VARSIZE(buf->data, buf->len);
	return PointerGetDatum(buf->data);
}

/*
 * Room for "needed" more bytes.  enlargeStringInfo is a call for every
 * value, and a page of 1000 makes some 20,000 of them: the test that there
 * is room already is made here, inline.
 */
static inline void
reserve(StringInfo buf, int needed)
{
	if (unlikely(needed >= buf->maxlen - buf->len))
		enlargeStringInfo(buf, needed);
}

/* Bytes as they are (punctuation, keys), inline */
static inline void
append_bytes(StringInfo buf, const char *s, int len)
{
	reserve(buf, len);
	memcpy(buf->data + buf->len, s, len);
	buf->len += len;
}

void
json_append_raw(StringInfo buf, const char *s, int len)
{
	append_bytes(buf, s, len);
}

/*
 * Whether any of the 8 bytes in "w" needs escaping: one below 0x20, a quote
 * or a backslash.  Exact tests of "has a byte less than n" and "has a zero
 * byte" from Sean Anderson's bit twiddling hacks; which byte it was is then
 * found one byte at a time.
 */
static inline bool
word_needs_escape(uint64 w)
{
#define BYTES(b) (UINT64CONST(0x0101010101010101) * (b))
	uint64		quote = w ^ BYTES('"');
	uint64		backslash = w ^ BYTES('\\');

	return (((w - BYTES(0x20)) & ~w) |
			((quote - BYTES(1)) & ~quote) |
			((backslash - BYTES(1)) & ~backslash)) & BYTES(0x80);
#undef BYTES
}

/*
 * A string value, quoted and escaped as escape_json does.  Runs that need
 * no escaping are found 8 bytes at a time and copied whole.
 */
void
json_append_text(StringInfo buf, const char *s, int len)
{
	const unsigned char *p = (const unsigned char *) s;
	const unsigned char *end = p + len;
	const unsigned char *run = p;

	reserve(buf, len + 2);
	buf->data[buf->len++] = '"';
	for (;;)
	{
		char		esc;
		char		seq[6];

		while (end - p >= 8)
		{
			uint64		w;

			memcpy(&w, p, 8);
			if (word_needs_escape(w))
				break;
			p += 8;
		}
		while (p < end && json_escape[*p] == 0)
			p++;
		if (p == end)
			break;

		if (p > run)
			append_bytes(buf, (const char *) run, p - run);
		esc = json_escape[*p];
		seq[0] = '\\';
		if (esc == 'u')
		{
			seq[1] = 'u';
			seq[2] = '0';
			seq[3] = '0';
			seq[4] = hex_digits[*p >> 4];
			seq[5] = hex_digits[*p & 0xF];
			append_bytes(buf, seq, 6);
		}
		else
		{
			seq[1] = esc;
			append_bytes(buf, seq, 2);
		}
		run = ++p;
	}
	if (p > run)
		append_bytes(buf, (const char *) run, p - run);
	appendStringInfoCharMacro(buf, '"');
}

/* A uuid value, as uuid_out writes it, quoted */
void
json_append_uuid(StringInfo buf, const pg_uuid_t *uuid)
{
	char	   *out;
	int			i;

	reserve(buf, 38);
	out = buf->data + buf->len;
	*out++ = '"';
	for (i = 0; i < UUID_LEN; i++)
	{
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*out++ = '-';
		*out++ = hex_digits[uuid->data[i] >> 4];
		*out++ = hex_digits[uuid->data[i] & 0xF];
	}
	*out++ = '"';
	buf->len += 38;
}

/* Dates of json_append_timestamp, by day */
#define DATE_CACHE_SIZE 16

typedef struct DateCacheEntry
{
	bool		valid;
	bool		fast;			/* the day takes the fast path */
	int64		day;			/* days since 2000-01-01 */
	char		date[10];		/* "YYYY-MM-DD" of the day */
} DateCacheEntry;

static DateCacheEntry date_cache[DATE_CACHE_SIZE];

/* Two decimal digits */
static inline char *
two_digits(char *out, int value)
{
	out[0] = '0' + value / 10;
	out[1] = '0' + value % 10;
	return out + 2;
}

/*
 * A timestamp value, quoted, as JsonEncodeDateTime writes it (what
 * row_to_json uses): XSD format whatever the DateStyle, "infinity", BC
 * years, fractional seconds without trailing zeros.
 *
 * The rows of a page mostly fall on a few days, so the date part is taken
 * from JsonEncodeDateTime once per day and kept (a small cache indexed by
 * the day, since created_at and expires_at of a row fall on different
 * days); the time of day is then written here.  Only days that it writes as a four-digit year AD
 * ("YYYY-MM-DDT00:00:00" at midnight) take this path; infinities, BC
 * years and years past 9999 are left to JsonEncodeDateTime whole.
 */
void
json_append_timestamp(StringInfo buf, Datum value)
{
	Timestamp	timestamp = DatumGetTimestamp(value);
	int64		day;
	int64		usec;
	DateCacheEntry *entry;
	char	   *out;

	reserve(buf, MAXDATELEN + 3);
	out = buf->data + buf->len;
	*out++ = '"';

	if (!TIMESTAMP_NOT_FINITE(timestamp))
	{
		day = timestamp / USECS_PER_DAY;
		usec = timestamp % USECS_PER_DAY;
		if (usec < 0)
		{
			usec += USECS_PER_DAY;
			day--;
		}
		entry = &date_cache[(uint64) day % DATE_CACHE_SIZE];
		if (!entry->valid || entry->day != day)
		{
			char		midnight[MAXDATELEN + 1];

			JsonEncodeDateTime(midnight, TimestampGetDatum(day * USECS_PER_DAY),
							   TIMESTAMPOID, NULL);
			entry->fast = strcmp(midnight + 10, "T00:00:00") == 0;
			memcpy(entry->date, midnight, 10);
			entry->day = day;
			entry->valid = true;
		}
		if (entry->fast)
		{
			int			fsec = (int) (usec % USECS_PER_SEC);
			int			seconds = (int) (usec / USECS_PER_SEC);

			memcpy(out, entry->date, 10);
			out += 10;
			*out++ = 'T';
			out = two_digits(out, seconds / 3600);
			*out++ = ':';
			out = two_digits(out, seconds / 60 % 60);
			*out++ = ':';
			out = two_digits(out, seconds % 60);
			if (fsec != 0)
			{
				int			digits = 6;
				int			i;

				/* as AppendSeconds: no trailing zeros */
				while (fsec % 10 == 0)
				{
					fsec /= 10;
					digits--;
				}
				*out++ = '.';
				for (i = digits - 1; i >= 0; i--)
				{
					out[i] = '0' + fsec % 10;
					fsec /= 10;
				}
				out += digits;
			}
			*out++ = '"';
			buf->len = out - buf->data;
			return;
		}
	}

	JsonEncodeDateTime(out, value, TIMESTAMPOID, NULL);
	out += strlen(out);
	*out++ = '"';
	buf->len = out - buf->data;
}

/* A text Datum, detoasted only when it has to be */
static void
json_append_text_datum(StringInfo buf, Datum value)
{
	struct varlena *orig = (struct varlena *) DatumGetPointer(value);
	struct varlena *t = pg_detoast_datum_packed(orig);

	json_append_text(buf, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
	if (t != orig)
		pfree(t);
}

/*
 * One object of shape "object" from values in field order (a row of a
 * query whose columns are the object's fields).
 */
void
json_append_object(StringInfo buf, const JsonObject *object,
				   const Datum *values, const bool *isnull)
{
	const JsonField *field = object->fields;
	int			i;

	for (i = 0; i < object->nfields; i++, field++)
	{
		Datum		value = values[i];

		append_bytes(buf, field->prefix, field->prefixlen);
		if (isnull[i])
		{
			json_append_literal(buf, "null");
			continue;
		}
		switch (field->kind)
		{
			case JSON_UUID:
				json_append_uuid(buf, DatumGetUUIDP(value));
				break;
			case JSON_TEXT:
				json_append_text_datum(buf, value);
				break;
			case JSON_INT4:
				reserve(buf, 12);
				buf->len += pg_ltoa(DatumGetInt32(value), buf->data + buf->len);
				break;
			case JSON_INT8:
				reserve(buf, 21);
				buf->len += pg_lltoa(DatumGetInt64(value), buf->data + buf->len);
				break;
			case JSON_TIMESTAMP:
				json_append_timestamp(buf, value);
				break;
		}
	}
	appendStringInfoCharMacro(buf, '}');
}

/*
 * The DestReceiver: each row the executor sends becomes one object.
 */
typedef struct JsonRowReceiver
{
	DestReceiver pub;
	StringInfo	buf;
	const JsonObject *object;
	JsonRows	rows;
} JsonRowReceiver;

static bool
json_receive_slot(TupleTableSlot *slot, DestReceiver *self)
{
	JsonRowReceiver *r = (JsonRowReceiver *) self;

	/* a page of 1000 long rows must still honour cancel and timeouts */
	CHECK_FOR_INTERRUPTS();

	slot_getallattrs(slot);

	if (r->rows.nrows > 0)
		appendStringInfoCharMacro(r->buf, ',');
	json_append_object(r->buf, r->object, slot->tts_values, slot->tts_isnull);

	if (r->object->fields[0].kind == JSON_UUID && !slot->tts_isnull[0])
		memcpy(&r->rows.last_uuid, DatumGetUUIDP(slot->tts_values[0]),
			   sizeof(pg_uuid_t));
	r->rows.nrows++;
	return true;
}

/*
 * Once per run: the query's columns must be the object's kinds, in order.
 * They are fixed by our own query text, so a mismatch is a bug.
 */
static void
json_receiver_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
	JsonRowReceiver *r = (JsonRowReceiver *) self;
	int			i;

	if (typeinfo->natts != r->object->nfields)
		elog(ERROR, "query returns %d columns, JSON object has %d",
			 typeinfo->natts, r->object->nfields);
	for (i = 0; i < typeinfo->natts; i++)
	{
		Oid			typid = TupleDescAttr(typeinfo, i)->atttypid;

		if (typid != json_kind_type[r->object->fields[i].kind])
			elog(ERROR, "column %d of query has type %u, JSON field \"%s\" expects %u",
				 i + 1, typid, r->object->fields[i].prefix,
				 json_kind_type[r->object->fields[i].kind]);
	}
}

static void
json_receiver_noop(DestReceiver *self)
{
}

JsonRows
json_rows_from_plan(SPIPlanPtr plan, int nargs, const Oid *argtypes,
					const Datum *values, const bool *nulls, bool read_only,
					uint64 tcount, StringInfo buf, const JsonObject *object)
{
	JsonRowReceiver r;
	SPIExecuteOptions options;
	ParamListInfo params = NULL;
	int			save_nestlevel;
	int			rc;
	int			i;

	if (nargs > 0)
	{
		params = makeParamList(nargs);
		for (i = 0; i < nargs; i++)
		{
			params->params[i].value = values[i];
			params->params[i].isnull = nulls[i];
			params->params[i].pflags = PARAM_FLAG_CONST;
			params->params[i].ptype = argtypes[i];
		}
	}

	memset(&r, 0, sizeof(r));
	r.pub.receiveSlot = json_receive_slot;
	r.pub.rStartup = json_receiver_startup;
	r.pub.rShutdown = json_receiver_noop;
	r.pub.rDestroy = json_receiver_noop;
	/* any kind but DestSPI (no tuple table) or DestNone (rows discarded) */
	r.pub.mydest = DestTuplestore;
	r.buf = buf;
	r.object = object;

	memset(&options, 0, sizeof(options));
	options.params = params;
	options.read_only = read_only;
	options.tcount = tcount;
	options.dest = &r.pub;

	/*
	 * No Memoize node between a page and users_pkey.  A generic plan costs
	 * the join for every row the index could return, so the planner caches
	 * the author lookups; but a page reads few rows by many authors, and
	 * the cache's hashing and copying of every users row it misses on costs
	 * more than the lookups it saves (measured: 20% of a page of 20).  The
	 * plan is made (and remade after invalidation) inside the execution, so
	 * the setting must hold there; GUC_ACTION_SAVE, as a function's SET
	 * clause does, so it is undone below or at abort and is allowed in a
	 * parallel worker.
	 */
	save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("enable_memoize", "off", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	rc = SPI_execute_plan_extended(plan, &options);
	AtEOXact_GUC(true, save_nestlevel);
	if (rc < 0)
		elog(ERROR, "SPI_execute_plan_extended failed: %s",
			 SPI_result_code_string(rc));

	return r.rows;
}
