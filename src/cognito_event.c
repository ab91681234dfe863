/*-------------------------------------------------------------------------
 *
 * cognito_event.c
 *	  Reading and validating an AWS Cognito trigger event.
 *
 * cognito_event_read() takes the event as Cognito sends it to a Lambda and
 * hands registration the few values it uses, or raises SQLSTATE 22023 with
 * a message naming the offending field.  The jsonb is read in place with
 * getKeyJsonValueFromContainer (a binary search over each object's keys);
 * nothing is converted to text and back, and the strings handed out point
 * into the event.
 *
 * Only triggerSource and four attributes under request.userAttributes are
 * read; every other key (email_verified, cognito:*, custom:*,
 * clientMetadata, response, ...) is ignored whatever it holds.  A JSON null
 * counts as absent, for triggerSource as for the attributes.
 *
 * src/cognito_event.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "mb/pg_wchar.h"

#include "cognito_event.h"
#include "cruddur.h"

#define INVALID_EVENT	"invalid Cognito event: "

/* the triggerSource values we handle */
static const struct
{
	const char *name;
	CognitoTrigger trigger;
}			cognito_triggers[] =
{
	{"PostConfirmation_ConfirmSignUp", COGNITO_REGISTER},
	{"PostConfirmation_ConfirmForgotPassword", COGNITO_REGISTER},
	{"PreSignUp_SignUp", COGNITO_CHECK},
	{"PreSignUp_AdminCreateUser", COGNITO_CHECK},
	{"PreSignUp_ExternalProvider", COGNITO_CHECK},
};

/* "object", "number", ...: what a JSON value is, for error details */
static const char *
json_type_name(const JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return "null";
		case jbvString:
			return "string";
		case jbvNumeric:
			return "number";
		case jbvBool:
			return "boolean";
		case jbvBinary:
			return JsonContainerIsObject(v->val.binary.data) ? "object" : "array";
		default:
			return "value";
	}
}

/*
 * The object under "key" of "container", which must itself be an object;
 * "field" is the key's path for the error message.
 */
static JsonbContainer *
read_object(JsonbContainer *container, const char *key, const char *field)
{
	JsonbValue	v;

	if (getKeyJsonValueFromContainer(container, key, strlen(key), &v) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg(INVALID_EVENT "%s must be a JSON object", field),
				 errdetail("It is missing.")));
	if (v.type != jbvBinary || !JsonContainerIsObject(v.val.binary.data))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg(INVALID_EVENT "%s must be a JSON object", field),
				 errdetail("It is a JSON %s.", json_type_name(&v))));
	return v.val.binary.data;
}

/*
 * The string attribute "key" of request.userAttributes: absent (val NULL)
 * when missing or JSON null, an error when it is another kind of value or
 * longer than Cognito allows.
 */
static CognitoString
read_attribute(JsonbContainer *attributes, const char *key)
{
	JsonbValue	v;
	CognitoString result = {NULL, 0};

	if (getKeyJsonValueFromContainer(attributes, key, strlen(key), &v) == NULL ||
		v.type == jbvNull)
		return result;

	if (v.type != jbvString)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg(INVALID_EVENT "request.userAttributes.%s must be a string",
						key),
				 errdetail("It is a JSON %s.", json_type_name(&v))));

	/* counting characters is needed only when the bytes are too many */
	if (v.val.string.len > COGNITO_ATTRIBUTE_MAX)
	{
		int			chars = pg_mbstrlen_with_len(v.val.string.val,
												 v.val.string.len);

		if (chars > COGNITO_ATTRIBUTE_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg(INVALID_EVENT "request.userAttributes.%s is longer than %d characters",
							key, COGNITO_ATTRIBUTE_MAX),
					 errdetail("It has %d characters; Cognito allows at most %d.",
							   chars, COGNITO_ATTRIBUTE_MAX)));
	}

	result.val = v.val.string.val;
	result.len = v.val.string.len;
	return result;
}

static inline int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Write the canonical text of the UUID "s" into "out" (COGNITO_SUB_LEN + 1
 * bytes); false when "s" is not a UUID.
 *
 * The rules are those of PostgreSQL's uuid_in (string_to_uuid in
 * src/backend/utils/adt/uuid.c): 32 hex digits of either case, each group
 * of 4 optionally followed by one hyphen (but not the last group), the
 * whole optionally in braces, nothing else.  Calling uuid_in would turn a
 * bad sub into its 22P02 error, and catching that needs a subtransaction
 * per call; and the canonical text is all we store.  The regression test
 * register_user checks this parser against ::uuid on a table of spellings.
 */
static bool
canonical_uuid(CognitoString s, char *out)
{
	const char *p = s.val;
	const char *end = s.val + s.len;
	bool		braces = false;
	int			i;
	int			o = 0;
	static const char hex[] = "0123456789abcdef";

	if (p < end && *p == '{')
	{
		p++;
		braces = true;
	}

	for (i = 0; i < 16; i++)
	{
		int			hi,
					lo;

		if (end - p < 2 || (hi = hex_value(p[0])) < 0 || (lo = hex_value(p[1])) < 0)
			return false;
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[hi];
		out[o++] = hex[lo];
		p += 2;
		if (p < end && *p == '-' && (i % 2) == 1 && i < 15)
			p++;
	}

	if (braces)
	{
		if (p >= end || *p != '}')
			return false;
		p++;
	}

	out[o] = '\0';
	return p == end;
}

/*
 * Whether "s" is absent or holds only white space (Unicode's White_Space,
 * as everywhere in cruddur: cruddur_is_blank).
 */
bool
cognito_string_is_blank(CognitoString s)
{
	return cruddur_is_blank(s.val, s.len);
}

/*
 * Read "event" (NULL for SQL NULL) into "result", or raise 22023 naming the
 * field that is wrong.  The checks run in document order: the event, its
 * triggerSource, request, request.userAttributes, then the attributes.
 */
void
cognito_event_read(Jsonb *event, CognitoEvent *result)
{
	JsonbValue	v;
	JsonbContainer *request;
	JsonbContainer *attributes;
	int			i;

	if (event == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg(INVALID_EVENT "the event must be a JSON object"),
				 errdetail("It is SQL NULL.")));
	if (!JB_ROOT_IS_OBJECT(event))
	{
		if (JB_ROOT_IS_SCALAR(event))
			JsonbExtractScalar(&event->root, &v);
		else
		{
			/* json_type_name() needs only the container flags */
			v.type = jbvBinary;
			v.val.binary.data = &event->root;
		}
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg(INVALID_EVENT "the event must be a JSON object"),
				 errdetail("It is a JSON %s.", json_type_name(&v))));
	}

	/* triggerSource: absent or null means a Post Confirmation Lambda */
	result->trigger = COGNITO_REGISTER;
	if (getKeyJsonValueFromContainer(&event->root, "triggerSource",
									 strlen("triggerSource"), &v) != NULL &&
		v.type != jbvNull)
	{
		bool		known = false;

		if (v.type != jbvString)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg(INVALID_EVENT "triggerSource must be a string"),
					 errdetail("It is a JSON %s.", json_type_name(&v))));
		for (i = 0; i < lengthof(cognito_triggers); i++)
		{
			if (strlen(cognito_triggers[i].name) == v.val.string.len &&
				memcmp(cognito_triggers[i].name, v.val.string.val,
					   v.val.string.len) == 0)
			{
				result->trigger = cognito_triggers[i].trigger;
				known = true;
				break;
			}
		}
		if (!known)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg(INVALID_EVENT "triggerSource \"%.*s\" is not supported",
							v.val.string.len, v.val.string.val),
					 errdetail("cruddur_register_user handles PostConfirmation_ConfirmSignUp, PostConfirmation_ConfirmForgotPassword and the PreSignUp_* triggers.")));
	}

	request = read_object(&event->root, "request", "request");
	attributes = read_object(request, "userAttributes", "request.userAttributes");

	/* Cognito sends no sub before confirmation: a Pre sign-up ignores it */
	result->sub[0] = '\0';
	if (result->trigger == COGNITO_REGISTER)
	{
		CognitoString sub = read_attribute(attributes, "sub");

		if (sub.val == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg(INVALID_EVENT "request.userAttributes.sub must be a UUID"),
					 errdetail("It is missing.")));
		if (!canonical_uuid(sub, result->sub))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg(INVALID_EVENT "request.userAttributes.sub must be a UUID"),
					 errdetail("\"%.*s\" is not a UUID.", sub.len, sub.val)));
	}

	result->email = read_attribute(attributes, "email");
	if (result->email.val == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg(INVALID_EVENT "request.userAttributes.email must be a non-blank string"),
				 errdetail("It is missing.")));
	if (cognito_string_is_blank(result->email))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg(INVALID_EVENT "request.userAttributes.email must be a non-blank string"),
				 errdetail("It is blank.")));

	result->preferred_username = read_attribute(attributes, "preferred_username");
	result->name = read_attribute(attributes, "name");
}
