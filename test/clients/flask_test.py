#!/usr/bin/python3
"""test/clients/flask_test.py: every route of examples/flask/app.py against a
real server (run by test/flask.sh, once directly and once through pgbouncer).

Environment (set by test/flask.sh):
  APP_URL     the cruddur database as the app's role (EXECUTE on the three
              writes, SELECT on the tables), directly or through pgbouncer
  ADMIN_URL   the same database as a superuser, directly
  VIA         "direct" or "pgbouncer"

The tests make their own RSA key pairs, JWKS file and Cognito access
tokens.  Every answer is compared with what the function returns when the
superuser calls it directly.
"""

import importlib.util
import json
import os
import tempfile
import time
import unittest
import uuid

import jwt
import psycopg
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
APP = os.path.join(ROOT, "examples", "flask", "app.py")
FIXTURES = os.path.join(ROOT, "test", "fixtures", "cognito")
VIA = os.environ["VIA"]
REGION, POOL_ID, CLIENT_ID = "us-east-1", "us-east-1_fqSpzuhBC", "79kofvlfu00dlalaic46g9i966"
ISSUER = f"https://cognito-idp.{REGION}.amazonaws.com/{POOL_ID}"
COGNITO = {"AWS_DEFAULT_REGION": REGION, "AWS_COGNITO_USER_POOL_ID": POOL_ID,
           "AWS_COGNITO_USER_POOL_CLIENT_ID": CLIENT_ID}

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
JWKS_FILE = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
json.dump({"keys": [dict(json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key())),
                         kid="test-key", alg="RS256", use="sig")]}, JWKS_FILE)
JWKS_FILE.close()

ALICE = "0190a000-0000-7000-8000-0000000a11ce"
BOB = "0190a000-0000-7000-8000-000000000b0b"
NOBODY = "0190a000-0000-7000-8000-00000000dead"


def token(sub=ALICE, key=KEY, kid="test-key", **claims):
    now = int(time.time())
    body = {"sub": sub, "iss": ISSUER, "client_id": CLIENT_ID, "token_use": "access",
            "scope": "aws.cognito.signin.user.admin", "auth_time": now, "iat": now,
            "exp": now + 3600, "jti": str(uuid.uuid4()), "username": sub}
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": kid})


def load_app(**settings):
    """A fresh instance of the app, with the Cognito SETTINGS in its environment."""
    for name in COGNITO:
        os.environ.pop(name, None)
    os.environ.update(settings, CONNECTION_URL=os.environ["APP_URL"], AWS_COGNITO_JWKS_URL="file://" + JWKS_FILE.name)
    spec = importlib.util.spec_from_file_location("app", APP)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def direct(function, *args):
    """What FUNCTION(ARGS) returns to the superuser, as text, or ('error', SQLSTATE, message)."""
    with psycopg.connect(os.environ["ADMIN_URL"], autocommit=True) as conn:
        try:
            query = f"SELECT public.{function}({', '.join(['%s'] * len(args))})::text"
            return conn.execute(query, args).fetchone()[0]
        except psycopg.Error as e:
            return ("error", e.sqlstate, e.diag.message_primary)


def admin(query, args=()):
    with psycopg.connect(os.environ["ADMIN_URL"], autocommit=True) as conn:
        cur = conn.execute(query, args)
        return cur.fetchall() if cur.description else None


def register(sub, handle):
    with open(os.path.join(FIXTURES, "post-confirmation-signup.json")) as f:
        event = json.load(f)
    event["request"]["userAttributes"].update(sub=sub, preferred_username=handle, name=handle.title(),
                                              email=handle + "@example.com")
    admin("SELECT public.cruddur_register_user(%s::jsonb)", [json.dumps(event)])


class Routes(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        admin("TRUNCATE public.users, public.activities")
        register(ALICE, "alice")
        register(BOB, "bob")
        cls.module = load_app(**COGNITO)
        cls.client = cls.module.app.test_client()

    @classmethod
    def tearDownClass(cls):
        cls.module.pool.close()

    def get(self, path, want_status=200):
        response = self.client.get(path)
        self.assertEqual(response.status_code, want_status, f"GET {path}: {response.get_data(True)}")
        return response

    def post(self, path, body, want_status=200, bearer=None):
        headers = {"Authorization": "Bearer " + (bearer or token())}
        response = self.client.post(path, json=body, headers=headers)
        self.assertEqual(response.status_code, want_status, f"POST {path}: {response.get_data(True)}")
        return response

    def same_as(self, response, text):
        """RESPONSE carries exactly TEXT as JSON."""
        self.assertEqual(response.mimetype, "application/json")
        self.assertEqual(response.get_data(True), text)

    def refused_as(self, response, status, function, *args):
        """RESPONSE is STATUS with the message FUNCTION(ARGS) raises."""
        want = direct(function, *args)
        self.assertEqual(want[0], "error", f"{function}{args} did not raise")
        self.assertEqual(response.status_code, status)
        self.assertEqual(response.get_json(), {"error": want[2]})

    def crud(self, message, sub=ALICE):
        return self.post("/api/activities", {"message": message, "ttl": "1-day"},
                         bearer=token(sub)).get_json()

    def test_create_and_read_everything(self):
        a = self.crud("first")
        self.assertEqual((a["message"], a["handle"]), ("first", "alice"))
        self.assertEqual(json.loads(direct("cruddur_activity", a["uuid"]))["activity"]["message"], "first")
        b = self.crud("second", BOB)
        default_ttl = self.post("/api/activities", {"message": "no ttl"}).get_json()
        self.assertEqual(admin("SELECT expires_at - created_at FROM public.activities WHERE uuid = %s",
                               [default_ttl["uuid"]])[0][0].days, 7)
        reply = self.post(f"/api/activities/{a['uuid']}/reply", {"message": "a reply"}, bearer=token(BOB)).get_json()
        self.assertEqual((reply["reply_to_activity_uuid"], reply["handle"]), (a["uuid"], "bob"))

        self.same_as(self.get("/api/activities/home"), direct("cruddur_home_feed"))
        self.same_as(self.get("/api/activities/@ALICE"), direct("cruddur_user_feed", "alice"))
        status = self.get(f"/api/activities/@alice/status/{a['uuid']}")
        self.same_as(status, direct("cruddur_activity", a["uuid"]))
        self.assertEqual(status.get_json()["activity"]["replies_count"], 1)
        self.assertEqual([r["uuid"] for r in status.get_json()["replies"]], [reply["uuid"]])
        self.same_as(self.get("/api/users/@Bob/short"), direct("cruddur_user_short", "bob"))
        self.assertIn(b["uuid"], [c["uuid"] for c in self.get("/api/activities/home").get_json()])

        profile = self.post("/api/profile/update", {"display_name": "Alice A.", "bio": "hi"})
        self.same_as(profile, direct("cruddur_user_short", "alice"))
        self.assertEqual(profile.get_json()["display_name"], "Alice A.")
        self.assertEqual(admin("SELECT bio FROM public.users WHERE handle = 'alice'"), [("hi",)])
        self.post("/api/profile/update", {"display_name": "Alice"})
        self.assertEqual(admin("SELECT bio FROM public.users WHERE handle = 'alice'"), [(None,)])

    def test_statement_timeout_is_local(self):
        module = load_app(**COGNITO, STATEMENT_TIMEOUT="1s")
        del os.environ["STATEMENT_TIMEOUT"]
        try:
            client = module.app.test_client()
            # users locked by another transaction: the read gives up after 1 s
            with psycopg.connect(os.environ["ADMIN_URL"]) as locker:
                locker.execute("LOCK TABLE public.users IN ACCESS EXCLUSIVE MODE")
                start = time.monotonic()
                with self.assertLogs(module.app.logger, "ERROR") as logs:
                    response = client.get("/api/users/@alice/short")
                seconds = time.monotonic() - start
                locker.rollback()
            self.assertEqual(response.status_code, 500)
            self.assertIn("canceling statement due to statement timeout", "\n".join(logs.output))
            self.assertTrue(0.9 < seconds < 2.5, seconds)
            self.assertEqual(client.get("/api/users/@alice/short").status_code, 200)
            # set for the transaction only: nothing left in any of the pool's sessions
            conns = [module.pool.getconn() for _ in range(module.pool.get_stats()["pool_size"])]
            try:
                self.assertEqual({c.execute("SHOW statement_timeout").fetchone()[0] for c in conns}, {"0"})
            finally:
                for c in conns:
                    c.rollback()
                    module.pool.putconn(c)
        finally:
            module.pool.close()

    def test_home_and_user_feed_pages(self):
        for i in range(5):
            self.crud(f"page crud {i}")
        everything = json.loads(direct("cruddur_home_feed"))
        for feed, path in (("cruddur_home_feed", "/api/activities/home"),
                           ("cruddur_user_feed", "/api/activities/@alice")):
            seen, query = [], "?page_size=2"
            while True:
                page = self.get(path + query).get_json()
                page = page["activities"] if feed == "cruddur_user_feed" else page
                if not page:
                    break
                self.assertLessEqual(len(page), 2)
                seen += [c["uuid"] for c in page]
                query = f"?page_size=2&before_created_at={page[-1]['created_at']}&before_uuid={page[-1]['uuid']}"
            want = everything if feed == "cruddur_home_feed" else json.loads(direct(feed, "alice"))["activities"]
            self.assertEqual(seen, [c["uuid"] for c in want], path)

    def test_status_replies_pages(self):
        parent = self.crud("with many replies")
        for i in range(5):
            self.post(f"/api/activities/{parent['uuid']}/reply", {"message": f"reply {i}"}, bearer=token(BOB))
        path = f"/api/activities/@alice/status/{parent['uuid']}"
        everything = json.loads(direct("cruddur_activity", parent["uuid"]))["replies"]
        self.assertEqual(len(everything), 5)
        seen, cursor = [], (None, None)
        while True:
            query = "?replies_page_size=2" + (
                f"&replies_after_created_at={cursor[0]}&replies_after_uuid={cursor[1]}" if cursor[0] else "")
            response = self.get(path + query)
            self.same_as(response, direct("cruddur_activity", parent["uuid"], 2, *cursor))
            self.assertEqual(response.get_json()["activity"]["uuid"], parent["uuid"])
            page = response.get_json()["replies"]
            if not page:
                break
            self.assertLessEqual(len(page), 2)
            seen += [r["uuid"] for r in page]
            cursor = (page[-1]["created_at"], page[-1]["uuid"])
        self.assertEqual(seen, [r["uuid"] for r in everything])
        self.refused_as(self.get(path + "?replies_page_size=0", 400), 400,
                        "cruddur_activity", parent["uuid"], 0, None, None)
        self.refused_as(self.get(path + f"?replies_after_uuid={parent['uuid']}", 400), 400,
                        "cruddur_activity", parent["uuid"], None, None, parent["uuid"])
        self.refused_as(self.get(path + f"?replies_page_size=5&replies_after_uuid={parent['uuid']}", 400), 400,
                        "cruddur_activity", parent["uuid"], 5, None, parent["uuid"])

    def test_refusals(self):
        a = self.crud("to answer")
        self.refused_as(self.get("/api/activities/home?page_size=0", 400), 400, "cruddur_home_feed", 0)
        self.refused_as(self.get("/api/activities/home?page_size=1001", 400), 400, "cruddur_home_feed", 1001)
        self.assertIn("error", self.get("/api/activities/home?page_size=abc", 400).get_json())
        self.assertIn("error", self.get("/api/activities/home?before_uuid=" + a["uuid"], 400).get_json())
        self.assertIn("error", self.get("/api/activities/home?before_created_at=yesterday-ish&before_uuid="
                                        + a["uuid"], 400).get_json())
        self.refused_as(self.get("/api/activities/@alice?page_size=-1", 400), 400,
                        "cruddur_user_feed", "alice", -1)
        for path in ("/api/activities/@nobody", f"/api/activities/@alice/status/{NOBODY}",
                     "/api/users/@nobody/short"):
            self.assertEqual(self.get(path, 404).get_json(), {"error": "not found"})
        self.get("/api/activities/@alice/status/not-a-uuid", 404)

        self.refused_as(self.post("/api/activities", {"message": " \t"}, 400), 400,
                        "cruddur_create_activity", ALICE, " \t")
        self.refused_as(self.post("/api/activities", {"message": "x", "ttl": "2-days"}, 400), 400,
                        "cruddur_create_activity", ALICE, "x", "2-days")
        self.refused_as(self.post("/api/activities", {"ttl": "1-day"}, 400), 400,
                        "cruddur_create_activity", ALICE, None, "1-day")
        self.refused_as(self.post("/api/activities", {"message": "x"}, 404, bearer=token(NOBODY)), 404,
                        "cruddur_create_activity", NOBODY, "x")
        self.refused_as(self.post(f"/api/activities/{NOBODY}/reply", {"message": "x"}, 404), 404,
                        "cruddur_create_reply", ALICE, NOBODY, "x")
        self.refused_as(self.post(f"/api/activities/{a['uuid']}/reply", {"message": "x" * 1025}, 400), 400,
                        "cruddur_create_reply", ALICE, a["uuid"], "x" * 1025)
        self.refused_as(self.post("/api/profile/update", {"display_name": "", "bio": "b"}, 400), 400,
                        "cruddur_update_profile", ALICE, "", "b")
        for body in ([1, 2], {"message": 5}, "text"):
            self.post("/api/activities", body, 400)
        response = self.client.post("/api/activities", data="{not json", headers={
            "Authorization": "Bearer " + token(), "Content-Type": "application/json"})
        self.assertEqual(response.status_code, 400)
        self.assertEqual(admin("SELECT count(*) FROM public.activities WHERE message = 'x'"), [(0,)])

    def test_tokens_refused(self):
        now = int(time.time())
        bad = {
            "expired": token(exp=now - 60, iat=now - 3660),
            "another issuer": token(iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other"),
            "another app client": token(client_id="someoneelse"),
            "an id token": token(token_use="id", aud=CLIENT_ID),
            "no client_id": token(client_id=None),
            "no exp": token(exp=None),
            "signed by another key": token(key=OTHER_KEY),
            "an unknown key id": token(kid="other-key"),
            "HS256 with a shared secret": jwt.encode(
                {"sub": ALICE, "iss": ISSUER, "client_id": CLIENT_ID, "token_use": "access", "exp": now + 60},
                "secret", algorithm="HS256", headers={"kid": "test-key"}),
            "not a token": "garbage",
        }
        before = admin("SELECT count(*) FROM public.activities")
        for what, bearer in bad.items():
            with self.subTest(what):
                with self.assertLogs(self.module.app.logger, "INFO") as logs:
                    self.post("/api/activities", {"message": "forged"}, 401, bearer=bearer)
                self.assertIn("refusing /api/activities", logs.output[0])
        for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer"}):
            self.assertEqual(self.client.post("/api/profile/update", json={"display_name": "x"},
                                              headers=headers).status_code, 401)
        self.assertEqual(admin("SELECT count(*) FROM public.activities"), before)


class WithoutCognitoSettings(unittest.TestCase):

    def test_public_routes_serve_and_the_others_refuse(self):
        register(ALICE, "alice")
        module = load_app()
        try:
            client = module.app.test_client()
            self.assertEqual(client.get("/api/activities/home").status_code, 200)
            self.assertEqual(client.get("/api/users/@alice/short").status_code, 200)
            for path in ("/api/activities", "/api/profile/update"):
                with self.assertLogs(module.app.logger, "WARNING") as logs:
                    response = client.post(path, json={"message": "x", "display_name": "x"},
                                           headers={"Authorization": "Bearer " + token()})
                self.assertEqual(response.status_code, 401)
                self.assertIn("AWS_COGNITO_USER_POOL_ID", logs.output[0])
        finally:
            module.pool.close()


@unittest.skipIf(VIA != "pgbouncer", "backends are chosen by the pooler")
class WhicheverBackend(unittest.TestCase):
    """Through pgbouncer, each transaction may run in another backend: what
    the extension keeps per backend (saved plans, the home feed's author
    hints) must give the answers of a fresh one."""

    READS = [("cruddur_home_feed", ()), ("cruddur_user_feed", ("alice",)), ("cruddur_user_short", ("alice",))]

    def read_in_two_backends(self, extra):
        """Each read run in two backends at once (the first holds its
        transaction open, so pgbouncer gives the second another server
        connection); returns their pids after checking every answer."""
        conns = [psycopg.connect(os.environ["APP_URL"], prepare_threshold=None) for _ in range(2)]
        pids = []
        for conn in conns:
            pids.append(conn.execute("SELECT pg_backend_pid()").fetchone()[0])
            for function, args in self.READS + extra:
                got = conn.execute(f"SELECT public.{function}({', '.join(['%s'] * len(args))})::text",
                                   args).fetchone()[0]
                self.assertEqual(got, direct(function, *args), f"{function} in backend {pids[-1]}")
        for conn in conns:
            conn.commit()
            conn.close()
        self.assertNotEqual(pids[0], pids[1])
        return set(pids)

    def test_no_statement_prepared(self):
        # After each request pgbouncer is told to close the server connection
        # the app used (RECONNECT), so every request runs in a new backend,
        # where a statement the app had prepared in the one before (psycopg 3
        # does after five executions unless told not to) would not exist.
        module = load_app(**COGNITO)
        sessions = "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
        before = admin(sessions)[0][0]
        try:
            client = module.app.test_client()
            with psycopg.connect(os.environ["BOUNCER_ADMIN_URL"], autocommit=True) as console:
                for i in range(12):
                    self.assertEqual(client.get("/api/activities/home").status_code, 200, f"request {i + 1}")
                    result = console.pgconn.exec_(b"RECONNECT " + os.environ["BOUNCER_DB"].encode())
                    self.assertEqual(result.status, psycopg.pq.ExecStatus.COMMAND_OK, result.error_message)
        finally:
            module.pool.close()
        self.assertGreaterEqual(admin(sessions)[0][0] - before, 12, "requests did not change backends")

    def test_same_answers(self):
        register(ALICE, "alice")
        module = load_app(**COGNITO)
        try:
            client = module.app.test_client()
            auth = {"Authorization": "Bearer " + token()}
            first = client.post("/api/activities", json={"message": "cached"}, headers=auth).get_json()
            extra = [("cruddur_activity", (first["uuid"],))]
            backends = self.read_in_two_backends(extra)
            # changes made through the app, in whichever backend pgbouncer picks
            client.post("/api/profile/update", json={"display_name": "Renamed", "bio": None}, headers=auth)
            client.post(f"/api/activities/{first['uuid']}/reply", json={"message": "new reply"}, headers=auth)
            client.post("/api/activities", json={"message": "newer"}, headers=auth)
            admin("UPDATE public.users SET handle = 'alice' || '' WHERE handle = 'alice'")  # a new row version
            for _ in range(3):
                backends |= self.read_in_two_backends(extra)
            self.assertIn('"display_name":"Renamed"', direct("cruddur_home_feed"))
            print(f"\n  {len(backends)} backends gave the same answers", end=" ")
        finally:
            module.pool.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
