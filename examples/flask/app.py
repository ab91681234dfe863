"""examples/flask/app.py: Cruddur's API routes, each one cruddur function call.

Run with `flask --app examples/flask/app.py run` (Debian: python3-flask,
python3-psycopg, python3-psycopg-pool, python3-jwt, python3-cryptography).

Settings, by environment:
  CONNECTION_URL                   the database, or a pooler in front of it
  CRUDDUR_SCHEMA                   schema of the extension (default public)
  STATEMENT_TIMEOUT                bound of each call (default 5s)
  AWS_DEFAULT_REGION, AWS_COGNITO_USER_POOL_ID, AWS_COGNITO_USER_POOL_CLIENT_ID
                                   the user pool whose access tokens the
                                   routes that act as a person accept
  AWS_COGNITO_JWKS_URL             where its keys are (default the pool's
                                   .well-known/jwks.json; file:// works)

Each route returns the JSON text the function returns, unchanged; SQL NULL
is 404; SQLSTATE class 22 (22023, and a cursor or page size that is not a
timestamp, uuid or integer) is 400 and P0002 is 404, each with the
database's message.  Without the Cognito settings the public routes still
serve, and the others answer 401 (the log says why).

Through a pooler in transaction mode (pgbouncer, RDS Proxy): no statement
is prepared on the server (prepare_threshold=None; psycopg 3 prepares a
query after five executions otherwise) and no session state is set (the
statement timeout is SET LOCAL in each call's transaction).
"""

import os

import jwt
import psycopg
from flask import Flask, Response, jsonify, request
from psycopg import sql
from psycopg_pool import ConnectionPool

SCHEMA = sql.Identifier(os.environ.get("CRUDDUR_SCHEMA", "public"))
STATEMENT_TIMEOUT = os.environ.get("STATEMENT_TIMEOUT", "5s")
REGION = os.environ.get("AWS_DEFAULT_REGION")
USER_POOL_ID = os.environ.get("AWS_COGNITO_USER_POOL_ID")
CLIENT_ID = os.environ.get("AWS_COGNITO_USER_POOL_CLIENT_ID")
ISSUER = f"https://cognito-idp.{REGION}.amazonaws.com/{USER_POOL_ID}"
JWKS = jwt.PyJWKClient(os.environ.get("AWS_COGNITO_JWKS_URL", ISSUER + "/.well-known/jwks.json"))

app = Flask(__name__)
pool = ConnectionPool(os.environ["CONNECTION_URL"], min_size=1, max_size=4, timeout=5,
                      kwargs={"prepare_threshold": None})


def call(function, *args, **named):
    """The response for one call of FUNCTION: positional ARGS, then NAMED
    arguments (those left out take the function's defaults)."""
    query = sql.SQL("SELECT {}.{}({})::text").format(SCHEMA, sql.Identifier(function), sql.SQL(", ").join(
        [sql.Placeholder()] * len(args) +
        [sql.SQL("{} => {}").format(sql.Identifier(name), sql.Placeholder()) for name in named]))
    try:
        with pool.connection() as conn, conn.transaction():
            # SET LOCAL, which takes no parameter
            conn.execute("SELECT pg_catalog.set_config('statement_timeout', %s, true)", [STATEMENT_TIMEOUT])
            text = conn.execute(query, [*args, *named.values()]).fetchone()[0]
    except psycopg.Error as e:
        status = 400 if (e.sqlstate or "").startswith("22") else 404 if e.sqlstate == "P0002" else None
        if status is None:
            raise
        return jsonify(error=e.diag.message_primary), status
    if text is None:
        return jsonify(error="not found"), 404
    return Response(text, mimetype="application/json")


def paging(*names):
    """The query parameters NAMES that the request gives."""
    return {name: request.args[name] for name in names if name in request.args}


def person():
    """The sub of a valid Cognito access token in the Authorization header,
    or None, having logged why not."""
    if not (REGION and USER_POOL_ID and CLIENT_ID):
        app.logger.warning("refusing %s: AWS_DEFAULT_REGION, AWS_COGNITO_USER_POOL_ID and"
                           " AWS_COGNITO_USER_POOL_CLIENT_ID must be set to accept tokens", request.path)
        return None
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme != "Bearer" or not token:
        app.logger.info("refusing %s: no bearer token", request.path)
        return None
    try:
        claims = jwt.decode(token, JWKS.get_signing_key_from_jwt(token).key, algorithms=["RS256"],
                            issuer=ISSUER, options={"require": ["exp", "iss", "sub", "token_use", "client_id"]})
    except jwt.PyJWTError as e:
        app.logger.info("refusing %s: invalid token: %s", request.path, e)
        return None
    if claims["token_use"] != "access" or claims["client_id"] != CLIENT_ID:
        app.logger.info("refusing %s: not an access token of app client %s", request.path, CLIENT_ID)
        return None
    return claims["sub"]


def as_person(route):
    """ROUTE called with the person's sub and the body's string fields, or 401/400."""
    def wrapper(**path):
        sub = person()
        if sub is None:
            return jsonify(error="a valid Cognito access token is required"), 401
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or any(not isinstance(v, (str, type(None))) for v in body.values()):
            return jsonify(error="the body must be a JSON object of strings"), 400
        return route(sub, body, **path)
    wrapper.__name__ = route.__name__
    return wrapper


@app.get("/api/activities/home")
def home():
    return call("cruddur_home_feed", **paging("page_size", "before_created_at", "before_uuid"))


@app.get("/api/activities/@<handle>")
def user_feed(handle):
    return call("cruddur_user_feed", handle, **paging("page_size", "before_created_at", "before_uuid"))


@app.get("/api/activities/@<handle>/status/<uuid:activity_uuid>")
def status(handle, activity_uuid):
    # The crud is found by its uuid alone, as in Cruddur; the handle is not
    # checked.  Without paging parameters, its first 1000 replies.
    page = paging("replies_page_size", "replies_after_created_at", "replies_after_uuid")
    if page:
        page.setdefault("replies_page_size", None)
    return call("cruddur_activity", activity_uuid, **page)


@app.get("/api/users/@<handle>/short")
def user_short(handle):
    return call("cruddur_user_short", handle)


@app.post("/api/activities")
@as_person
def create_activity(sub, body):
    return call("cruddur_create_activity", sub, body.get("message"), **({"ttl": body["ttl"]} if "ttl" in body else {}))


@app.post("/api/activities/<uuid:activity_uuid>/reply")
@as_person
def create_reply(sub, body, activity_uuid):
    return call("cruddur_create_reply", sub, activity_uuid, body.get("message"))


@app.post("/api/profile/update")
@as_person
def update_profile(sub, body):
    return call("cruddur_update_profile", sub, body.get("display_name"), body.get("bio"))
