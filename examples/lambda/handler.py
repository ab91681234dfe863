"""examples/lambda/handler.py: Cruddur's Cognito Lambda, one SQL call.

Attach it to both the Pre sign-up and the Post confirmation triggers of the
user pool: cruddur_register_user() checks a Pre sign-up event (a taken or
invalid handle raises, and Cognito shows the person the message) and
registers the person of a Post confirmation event, idempotently.

Settings, by environment:
  CONNECTION_URL     libpq URL or key=value string of the database (or of
                     a pooler in front of it: RDS Proxy, pgbouncer)
  CRUDDUR_SCHEMA     schema of the extension (default public)
  CONNECT_TIMEOUT    seconds to connect (default 2; libpq's minimum is 2)
  STATEMENT_TIMEOUT  bound of the call (default 2s)

Cognito waits 5 seconds for a trigger.  Errors are not caught: the
invocation fails, and Cognito refuses the sign-up (Pre sign-up) or retries
(Post confirmation; a replay registers nobody twice).  Nothing is kept in
the session: the statement timeout is SET LOCAL in the call's transaction
and no statement is prepared, so a pooler in transaction mode may serve
each invocation from another server connection.
"""

import json
import os

import psycopg2
from psycopg2 import sql

CALL = sql.SQL("SELECT {}.cruddur_register_user(%s::jsonb)").format(
    sql.Identifier(os.environ.get("CRUDDUR_SCHEMA", "public")))

_conn = None    # reused by the invocations a Lambda environment serves


def _connect():
    return psycopg2.connect(os.environ["CONNECTION_URL"],
                            connect_timeout=int(os.environ.get("CONNECT_TIMEOUT", "2")),
                            application_name="cruddur-lambda")


def _register(conn, event):
    try:
        with conn.cursor() as cur:
            cur.execute("SET LOCAL statement_timeout = %s",
                        [os.environ.get("STATEMENT_TIMEOUT", "2s")])
            cur.execute(CALL, [json.dumps(event)])
            result = cur.fetchone()[0]
        conn.commit()
        return result
    except BaseException:
        if not conn.closed:
            conn.rollback()
        raise


def lambda_handler(event, context):
    global _conn
    if _conn is not None and not _conn.closed:
        try:
            return _register(_conn, event)
        except psycopg2.OperationalError:
            if not _conn.closed:
                raise
            # The connection of an earlier invocation was closed meanwhile
            # (server restarted, pooler or proxy dropped it): once more on a
            # new one.  Should the call have committed before the loss, the
            # second is a replay and changes nothing.
    _conn = _connect()
    return _register(_conn, event)
