/*-------------------------------------------------------------------------
 *
 * cognito_event.h
 *	  Reading and validating an AWS Cognito trigger event (jsonb): what
 *	  cognito_event.c offers registration.
 *
 * src/cognito_event.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef COGNITO_EVENT_H
#define COGNITO_EVENT_H

#include "utils/jsonb.h"

/* longest value Cognito allows in a user attribute, in characters */
#define COGNITO_ATTRIBUTE_MAX	2048

/* length of a UUID in canonical text form, without the terminating NUL */
#define COGNITO_SUB_LEN			36

/* what the event asks of us */
typedef enum CognitoTrigger
{
	COGNITO_REGISTER,			/* PostConfirmation_*, or no triggerSource */
	COGNITO_CHECK				/* PreSignUp_*: check only, insert nothing */
} CognitoTrigger;

/*
 * A string attribute, pointing into the event (not NUL-terminated).  val is
 * NULL when the attribute is absent or JSON null.
 */
typedef struct CognitoString
{
	const char *val;
	int			len;
} CognitoString;

/*
 * The parts of an event registration uses, all validated: email is present
 * and not blank; for COGNITO_REGISTER, sub holds the canonical lower-case
 * text of the UUID.  preferred_username and name are as sent (may be
 * absent or blank).
 */
typedef struct CognitoEvent
{
	CognitoTrigger trigger;
	char		sub[COGNITO_SUB_LEN + 1];	/* empty for COGNITO_CHECK */
	CognitoString email;
	CognitoString preferred_username;
	CognitoString name;
} CognitoEvent;

extern void cognito_event_read(Jsonb *event, CognitoEvent *result);
extern bool cognito_string_is_blank(CognitoString s);

#endif							/* COGNITO_EVENT_H */
