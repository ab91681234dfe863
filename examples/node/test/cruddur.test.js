// examples/node/test/cruddur.test.js: cruddur.js against a real server
// (run by test/node.sh, directly and through pgbouncer).  CONNECTION_URL is
// the database as a role granted registration and SELECT; the PG* variables
// name the same database as a superuser, directly, for arranging and checking.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const { Client } = require('pg');
const { connect, registerUser, homeFeed } = require('../cruddur');

const fixtures = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'cognito');
const signup = JSON.parse(fs.readFileSync(path.join(fixtures, 'post-confirmation-signup.json')));
const sub = signup.request.userAttributes.sub;

async function admin(text, values) {
  const client = new Client();
  await client.connect();
  try { return (await client.query(text, values)).rows; } finally { await client.end(); }
}

test('registers a person from a Cognito event, and a replay changes nothing', async () => {
  await admin('TRUNCATE public.users, public.activities');
  const pool = connect();
  try {
    assert.deepStrictEqual(await registerUser(pool, signup), signup);
    const row = await admin('SELECT * FROM public.users WHERE cognito_user_id = $1', [sub]);
    assert.strictEqual(row.length, 1);
    assert.strictEqual(row[0].handle, 'firsty_lasty_01');
    assert.deepStrictEqual(await registerUser(pool, signup), signup);
    assert.deepStrictEqual(await admin('SELECT * FROM public.users'), row);

    const taken = JSON.parse(fs.readFileSync(path.join(fixtures, 'pre-signup.json')));
    taken.request.userAttributes.preferred_username = 'Firsty_Lasty_01';
    await assert.rejects(registerUser(pool, taken),
      { code: '23505', message: 'handle "Firsty_Lasty_01" is already taken' });
    await assert.rejects(registerUser(pool, { triggerSource: 'nonsense' }), { code: '22023' });
  } finally {
    await pool.end();
  }
});

test('pages through the whole home feed with the cursor', async () => {
  // 95 top-level cruds in runs of 3 sharing created_at (ties broken by uuid),
  // 10 expired, 20 replies: every visible top-level crud once, newest first
  const [{ uuid: person }] = await admin('SELECT uuid FROM public.users WHERE cognito_user_id = $1', [sub]);
  await admin(`INSERT INTO public.activities (user_uuid, message, created_at, expires_at)
    SELECT $1, 'crud ' || i, timestamp '2024-05-01 10:00:00.5' - (i / 3) * interval '1 minute',
           CASE WHEN i % 10 = 0 THEN timestamp '2000-01-01' END
      FROM generate_series(1, 105) AS i`, [person]);
  await admin(`INSERT INTO public.activities (user_uuid, message, reply_to_activity_uuid)
    SELECT $1, 'reply', uuid FROM public.activities LIMIT 20`, [person]);
  const want = (await admin(`SELECT uuid FROM public.activities
    WHERE reply_to_activity_uuid IS NULL AND (expires_at IS NULL OR expires_at > timezone('UTC', now()))
    ORDER BY created_at DESC, uuid DESC`)).map((r) => r.uuid);
  assert.strictEqual(want.length, 95);

  const pool = connect();
  try {
    for (const size of [1, 7, 20, 1000]) {
      const seen = [];
      let pages = 0;
      for await (const page of homeFeed(pool, size)) {
        assert.ok(page.length >= 1 && page.length <= size);
        seen.push(...page.map((c) => c.uuid));
        pages += 1;
        assert.ok(pages <= want.length, 'the cursor does not advance');
      }
      assert.deepStrictEqual(seen, want, `pages of ${size}`);
      assert.strictEqual(pages, Math.ceil(want.length / size));
    }
    await assert.rejects(homeFeed(pool, 0).next(), { code: '22023', message: 'page_size 0 is out of range' });
  } finally {
    await pool.end();
  }
});
