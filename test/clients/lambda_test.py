#!/usr/bin/python3
"""test/clients/lambda_test.py: examples/lambda/handler.py against a real server
(run by test/lambda.sh, once directly and once through pgbouncer).

Environment (set by test/lambda.sh):
  LAMBDA_URL    the cruddur database, as the Lambda's role (EXECUTE on
                cruddur_register_user only), directly or through pgbouncer
  ADMIN_URL     the same database as a superuser, directly: what the tests
                check and arrange
  PRIVATE_URL   a database on a server of the suite's own, as the Lambda's
                role (through the same pooler, or not), and
  PRIVATE_CTL   the command that stops, starts or restarts that server
                (its argument: stop, start, restart)
  VIA           "direct" or "pgbouncer"
"""

import importlib.util
import json
import os
import socket
import subprocess
import time
import unittest

import psycopg2
import psycopg2.errors

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HANDLER = os.path.join(ROOT, "examples", "lambda", "handler.py")
FIXTURES = os.path.join(ROOT, "test", "fixtures", "cognito")
VIA = os.environ["VIA"]
COGNITO_SECONDS = 5
# what the Lambda's error says when the database is down: pgbouncer's
# refusal reaches psycopg2 as its message or as a closed connection
DOWN = {"direct": "Connection refused",
        "pgbouncer": "query_wait_timeout|server login has been failing|server closed the connection"}


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return json.load(f)


def cold_start(url):
    """A new Lambda environment: the handler module loaded afresh."""
    os.environ["CONNECTION_URL"] = url
    spec = importlib.util.spec_from_file_location("handler", HANDLER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def admin(sql, args=()):
    with psycopg2.connect(os.environ["ADMIN_URL"]) as conn, conn.cursor() as cur:
        cur.execute(sql, args)
        rows = cur.fetchall() if cur.description else None
    conn.close()
    return rows


def private_ctl(action):
    subprocess.run(os.environ["PRIVATE_CTL"] + " " + action, shell=True, check=True,
                   stdout=subprocess.DEVNULL)


def server_back():
    """After the server came back, through pgbouncer: wait until pgbouncer
    serves again.  After failing to reach the server, it refuses each new
    client at once (its "fast fail") until a server connection succeeds,
    which the first refused login sets off."""
    if VIA != "pgbouncer":
        return
    deadline = time.monotonic() + 5
    while True:
        try:
            probe = psycopg2.connect(os.environ["PRIVATE_URL"])
            probe.cursor().execute("SELECT 1")
            probe.close()
            return
        except psycopg2.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def timed(fn, *args):
    start = time.monotonic()
    try:
        return fn(*args), None, time.monotonic() - start
    except Exception as e:     # the test judges what was raised
        return None, e, time.monotonic() - start


class Lambda(unittest.TestCase):

    def setUp(self):
        admin("TRUNCATE public.users, public.activities")
        self.handler = cold_start(os.environ["LAMBDA_URL"])
        self.signup = fixture("post-confirmation-signup.json")
        self.sub = self.signup["request"]["userAttributes"]["sub"]

    def tearDown(self):
        if self.handler._conn is not None:
            self.handler._conn.close()

    def person(self):
        return admin("SELECT uuid, display_name, handle, email, cognito_user_id, bio, created_at"
                     " FROM public.users WHERE cognito_user_id = %s", [self.sub])

    def test_signup_replays_and_password_reset(self):
        self.assertEqual(self.handler.lambda_handler(self.signup, None), self.signup)
        row = self.person()
        self.assertEqual(len(row), 1)
        self.assertEqual(row[0][1:5], ("Firsty Lasty", "firsty_lasty_01", "firsty_lasty@email.com", self.sub))
        first_conn = self.handler._conn

        # the same delivery again, the sub spelled otherwise, a password reset
        upper = json.loads(json.dumps(self.signup))
        upper["request"]["userAttributes"]["sub"] = "{" + self.sub.upper() + "}"
        reset = fixture("post-confirmation-forgot-password.json")
        for event in (self.signup, upper, reset):
            self.assertEqual(self.handler.lambda_handler(event, None), event)
        self.assertEqual(self.person(), row, "a replay changed the row")
        self.assertEqual(admin("SELECT count(*) FROM public.users"), [(1,)])
        self.assertIs(self.handler._conn, first_conn, "the connection was not reused")

    def test_presignup_taken_handle(self):
        self.handler.lambda_handler(self.signup, None)
        pre = fixture("pre-signup.json")
        pre["request"]["userAttributes"]["preferred_username"] = "FIRSTY_Lasty_01"
        with self.assertRaises(psycopg2.errors.UniqueViolation) as raised:
            self.handler.lambda_handler(pre, None)
        self.assertEqual(raised.exception.diag.message_primary,
                         'handle "FIRSTY_Lasty_01" is already taken')
        # a free handle passes the check and registers nobody; the
        # connection is usable after the error
        pre["request"]["userAttributes"]["preferred_username"] = "second_person"
        self.assertEqual(self.handler.lambda_handler(pre, None), pre)
        self.assertEqual(admin("SELECT count(*) FROM public.users"), [(1,)])

    def test_malformed_event_raises(self):
        with self.assertRaises(psycopg2.errors.InvalidParameterValue) as raised:
            self.handler.lambda_handler({"triggerSource": "PostConfirmation_ConfirmSignUp"}, None)
        self.assertIn("request", raised.exception.diag.message_primary)
        self.assertEqual(admin("SELECT count(*) FROM public.users"), [(0,)])

    def test_statement_timeout_is_local(self):
        os.environ["STATEMENT_TIMEOUT"] = "1s"
        try:
            # the table locked by another transaction: the call gives up after 1 s
            locker = psycopg2.connect(os.environ["ADMIN_URL"])
            locker.cursor().execute("LOCK TABLE public.users IN ACCESS EXCLUSIVE MODE")
            _, error, seconds = timed(self.handler.lambda_handler, self.signup, None)
            locker.rollback()
            locker.close()
            self.assertIsInstance(error, psycopg2.errors.QueryCanceled)
            self.assertLess(seconds, 2.5)
        finally:
            del os.environ["STATEMENT_TIMEOUT"]
        # the timeout ended with its transaction: nothing left in the session
        self.assertEqual(self.handler.lambda_handler(self.signup, None), self.signup)
        with self.handler._conn.cursor() as cur:
            cur.execute("SHOW statement_timeout")
            self.assertEqual(cur.fetchone()[0], "0")
        self.handler._conn.rollback()

    def test_server_restarted_between_invocations(self):
        handler = cold_start(os.environ["PRIVATE_URL"])
        try:
            first = fixture("post-confirmation-signup.json")
            self.assertEqual(handler.lambda_handler(first, None), first)
            before = handler._conn
            private_ctl("restart")
            server_back()
            self.assertEqual(handler.lambda_handler(first, None), first)
            if VIA == "direct":
                # pgbouncer keeps the client's connection across the restart
                self.assertIsNot(handler._conn, before, "no new connection after the restart")
        finally:
            if handler._conn is not None:
                handler._conn.close()

    def test_database_down(self):
        handler = cold_start(os.environ["PRIVATE_URL"])
        try:
            self.assertEqual(handler.lambda_handler(self.signup, None), self.signup)
            private_ctl("stop")
            try:
                # an environment whose connection the shutdown closed, then a cold start
                for which, h in (("warm", handler), ("cold", cold_start(os.environ["PRIVATE_URL"]))):
                    _, error, seconds = timed(h.lambda_handler, self.signup, None)
                    self.assertIsInstance(error, psycopg2.OperationalError, which)
                    self.assertLess(seconds, COGNITO_SECONDS - 0.5, which)
                    message = " / ".join(line.strip() for line in str(error).splitlines())
                    self.assertRegex(message, DOWN[VIA], which)
                    print(f"\n  {VIA}, {which}, database down: {seconds:.2f} s: {message}", end=" ")
            finally:
                private_ctl("start")
            server_back()
            self.assertEqual(handler.lambda_handler(self.signup, None), self.signup)
        finally:
            if handler._conn is not None:
                handler._conn.close()

    @unittest.skipIf(VIA != "direct", "a server that never answers is reached directly")
    def test_connect_timeout(self):
        # a port that accepts connections and never answers
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        handler = cold_start(f"host=127.0.0.1 port={port} dbname=cruddur user=nobody")
        try:
            _, error, seconds = timed(handler.lambda_handler, self.signup, None)
        finally:
            listener.close()
        self.assertIsInstance(error, psycopg2.OperationalError)
        self.assertIn("timeout", str(error))
        self.assertLess(seconds, COGNITO_SECONDS - 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
