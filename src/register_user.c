/*-------------------------------------------------------------------------
 *
 * register_user.c
 *	  cruddur_register_user(): registration from AWS Cognito trigger events.
 *
 * The Post Confirmation Lambda becomes SELECT cruddur_register_user(event):
 * the event is read by cognito_event.c, the person is registered (or the
 * Pre sign-up event checked) here, and the event is returned unchanged, as
 * a Cognito Lambda must.
 *
 * Registration is idempotent on the Cognito sub without a subtransaction:
 * INSERT ... ON CONFLICT DO NOTHING inserts the row or, when any unique key
 * (sub or handle) is already held, does nothing; in READ COMMITTED it first
 * waits for a transaction inserting the same key to end.  When nothing was
 * inserted, a second statement (with a new snapshot, so it sees what that
 * wait let commit) asks whether the sub is registered: then the event is a
 * replay and changes nothing.  Otherwise the handle was taken, and the next
 * candidate handle is tried.  Under REPEATABLE READ or SERIALIZABLE, a
 * conflict with a row the snapshot cannot see raises 40001 instead, as
 * these isolation levels do; the caller retries.
 *
 * src/register_user.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "cognito_event.h"
#include "cruddur.h"

/* the longest handle users_handle_check allows */
#define HANDLE_MAX	32

/* register a person; nothing happens when any unique key is taken */
static CruddurQuery insert_user = {
	"INSERT INTO @extschema@.users (display_name, handle, email, cognito_user_id)"
	" VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
	4, {TEXTOID, TEXTOID, TEXTOID, TEXTOID}
};

/* is this sub registered? */
static CruddurQuery find_sub = {
	"SELECT FROM @extschema@.users"
	" WHERE cognito_user_id OPERATOR(pg_catalog.=) $1",
	1, {TEXTOID}
};

/* is this handle taken, in any ASCII case?  (uses users_handle_lower_key) */
static CruddurQuery find_handle = {
	"SELECT FROM @extschema@.users"
	" WHERE pg_catalog.lower(handle COLLATE pg_catalog.\"C\")"
	" OPERATOR(pg_catalog.=) pg_catalog.lower($1 COLLATE pg_catalog.\"C\")",
	1, {TEXTOID}
};

static inline bool
is_handle_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || c == '_';
}

/* the rule of users_handle_check: 1 to 32 of [A-Za-z0-9_] */
static bool
handle_is_valid(CognitoString s)
{
	int			i;

	if (s.val == NULL || s.len < 1 || s.len > HANDLE_MAX)
		return false;
	for (i = 0; i < s.len; i++)
		if (!is_handle_char(s.val[i]))
			return false;
	return true;
}

/*
 * Write into "out" (s.len + 1 bytes) the handle made of "s": every run of
 * characters outside [A-Za-z0-9_] becomes one "_", leading and trailing "_"
 * are dropped, case is kept, and the result is cut to HANDLE_MAX.  Returns
 * its length, 0 when nothing is left.  Bytes of a multibyte character are
 * all outside the set, so working on bytes turns each run of characters
 * into one "_" too.
 */
static int
derive_handle(CognitoString s, char *out)
{
	int			len = 0;
	int			start = 0;
	bool		in_run = false;
	int			i;

	for (i = 0; i < s.len; i++)
	{
		if (is_handle_char(s.val[i]))
		{
			out[len++] = s.val[i];
			in_run = false;
		}
		else if (!in_run)
		{
			out[len++] = '_';
			in_run = true;
		}
	}
	while (start < len && out[start] == '_')
		start++;
	while (len > start && out[len - 1] == '_')
		len--;
	len -= start;
	memmove(out, out + start, len);
	if (len > HANDLE_MAX)
		len = HANDLE_MAX;
	out[len] = '\0';
	return len;
}

/* the part of an email address before its last "@" */
static CognitoString
email_local_part(CognitoString email)
{
	CognitoString local = email;
	int			i;

	for (i = email.len - 1; i >= 0; i--)
	{
		if (email.val[i] == '@')
		{
			local.len = i;
			break;
		}
	}
	return local;
}

/*
 * Whether "query" with the single text argument "arg" finds a row.
 */
static bool
query_finds_row(CruddurQuery *query, Oid nspid, const char *arg, int len)
{
	Datum		value = PointerGetDatum(cstring_to_text_with_len(arg, len));
	int			rc;

	rc = SPI_execute_plan(cruddur_query_plan(query, nspid), &value, NULL,
						  false, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(rc));
	return SPI_processed > 0;
}

/*
 * A Pre sign-up event: refuse a requested handle that is not valid or is
 * taken, so Cognito refuses the sign-up before the person confirms.  The
 * messages are what Cognito shows the person signing up.
 */
static void
check_sign_up(const CognitoEvent *event, Oid nspid)
{
	CognitoString handle = event->preferred_username;

	if (handle.val == NULL)
		return;					/* nothing requested, nothing to check */

	if (!handle_is_valid(handle))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("handle \"%.*s\" is not valid: a handle is 1 to %d letters, digits or underscores",
						handle.len, handle.val, HANDLE_MAX),
				 errdetail("Letters are the ASCII letters A to Z and a to z.")));

	if (query_finds_row(&find_handle, nspid, handle.val, handle.len))
		ereport(ERROR,
				(errcode(ERRCODE_UNIQUE_VIOLATION),
				 errmsg("handle \"%.*s\" is already taken", handle.len, handle.val),
				 errdetail("Handles are unique regardless of letter case."),
				 errhint("Choose another handle.")));
}

/*
 * A Post Confirmation event: register the person unless their sub is,
 * under the requested handle or, failing that, a derived one.
 */
static void
register_person(const CognitoEvent *event, Oid nspid)
{
	CognitoString requested = event->preferred_username;
	bool		requested_valid = handle_is_valid(requested);
	bool		has_name = event->name.val != NULL &&
		!cognito_string_is_blank(event->name);
	char	   *base;
	int			base_len;
	char		candidate[HANDLE_MAX + 1];
	int			candidate_len;
	Datum		values[4];
	int			n;

	/* the first handle tried, and the base of the numbered ones */
	if (requested_valid)
	{
		base = pnstrdup(requested.val, requested.len);
		base_len = requested.len;
	}
	else
	{
		CognitoString local = email_local_part(event->email);

		base = palloc(Max(requested.len, local.len) + sizeof("user"));
		base_len = requested.val ? derive_handle(requested, base) : 0;
		if (base_len == 0)
			base_len = derive_handle(local, base);
		if (base_len == 0)
			base_len = strlcpy(base, "user", sizeof("user"));
	}

	values[2] = PointerGetDatum(cstring_to_text_with_len(event->email.val,
														 event->email.len));
	values[3] = PointerGetDatum(cstring_to_text(event->sub));
	if (has_name)
		values[0] = PointerGetDatum(cstring_to_text_with_len(event->name.val,
															 event->name.len));

	for (n = 1;; n++)
	{
		int			rc;

		CHECK_FOR_INTERRUPTS();

		if (n == 1)
		{
			memcpy(candidate, base, base_len);
			candidate_len = base_len;
		}
		else
		{
			char		suffix[16];
			int			suffix_len = snprintf(suffix, sizeof(suffix), "_%d", n);

			candidate_len = Min(base_len, HANDLE_MAX - suffix_len);
			memcpy(candidate + candidate_len, suffix, suffix_len);
			memcpy(candidate, base, candidate_len);
			candidate_len += suffix_len;
		}
		candidate[candidate_len] = '\0';

		values[1] = PointerGetDatum(cstring_to_text_with_len(candidate,
															 candidate_len));
		if (!has_name)
			values[0] = values[1];

		rc = SPI_execute_plan(cruddur_query_plan(&insert_user, nspid),
							  values, NULL, false, 0);
		if (rc != SPI_OK_INSERT)
			elog(ERROR, "SPI_execute_plan failed: %s",
				 SPI_result_code_string(rc));
		if (SPI_processed > 0)
			break;

		/* a replay, or a password reset of a registered person */
		if (query_finds_row(&find_sub, nspid, event->sub, COGNITO_SUB_LEN))
			return;

		/* the handle is someone else's: try the next one */
	}

	if (requested.val == NULL)
		ereport(NOTICE,
				(errmsg("registered with the handle \"%s\"", candidate),
				 errdetail("The event has no preferred_username.")));
	else if (!requested_valid)
		ereport(NOTICE,
				(errmsg("registered with the handle \"%s\"", candidate),
				 errdetail("The requested handle \"%.*s\" is not valid: a handle is 1 to %d letters, digits or underscores.",
						   requested.len, requested.val, HANDLE_MAX)));
	else if (n > 1)
		ereport(NOTICE,
				(errmsg("registered with the handle \"%s\"", candidate),
				 errdetail("The requested handle \"%.*s\" is taken.",
						   requested.len, requested.val)));
}

PG_FUNCTION_INFO_V1(cruddur_register_user);

/*
 * cruddur_register_user(event jsonb) RETURNS jsonb
 *
 * Never returns NULL: a SQL NULL event is an error like any malformed one.
 * The event is returned as it came, without a copy.
 */
Datum
cruddur_register_user(PG_FUNCTION_ARGS)
{
	Jsonb	   *event = PG_ARGISNULL(0) ? NULL : PG_GETARG_JSONB_P(0);
	Oid			nspid = cruddur_schema(fcinfo);
	CognitoEvent parsed;

	cognito_event_read(event, &parsed);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (parsed.trigger == COGNITO_CHECK)
		check_sign_up(&parsed, nspid);
	else
		register_person(&parsed, nspid);
	SPI_finish();

	PG_RETURN_JSONB_P(event);
}
