// examples/node/cruddur.js: cruddur from Node.js with node-postgres (pg).
//
// registerUser(pool, event) registers the person of a Cognito trigger event
// (what a Node Lambda would return to Cognito); homeFeed(pool, pageSize)
// walks the whole home feed, page after page, with the keyset cursor of each
// page's last crud.  Each call is one function call in a transaction of its
// own, its statement timeout SET LOCAL there, and no statement is prepared
// by name: a pooler in transaction mode (pgbouncer, RDS Proxy) may run each
// on another server connection.
'use strict';

const { Pool } = require('pg');

const SCHEMA = process.env.CRUDDUR_SCHEMA || 'public';
const STATEMENT_TIMEOUT = process.env.STATEMENT_TIMEOUT || '5s';

// A pool for CONNECTION_URL (a libpq-style URL), giving up on a connection
// after 2 seconds.
function connect(connectionString = process.env.CONNECTION_URL) {
  return new Pool({ connectionString, connectionTimeoutMillis: 2000, max: 4 });
}

// The value FUNCTION returns for ARGS (an SQL argument list with $1...).
async function call(pool, fn, args, values) {
  const client = await pool.connect();
  let broken;
  try {
    await client.query('BEGIN');
    await client.query("SELECT pg_catalog.set_config('statement_timeout', $1, true)", [STATEMENT_TIMEOUT]);
    const name = `${client.escapeIdentifier(SCHEMA)}.${fn}`;
    const { rows } = await client.query(`SELECT ${name}(${args}) AS result`, values);
    await client.query('COMMIT');
    return rows[0].result;
  } catch (error) {
    await client.query('ROLLBACK').catch((lost) => { broken = lost; });
    throw error;
  } finally {
    client.release(broken);
  }
}

function registerUser(pool, event) {
  return call(pool, 'cruddur_register_user', '$1::jsonb', [JSON.stringify(event)]);
}

// Every visible top-level crud, newest first, fetched PAGE_SIZE at a time.
async function* homeFeed(pool, pageSize = 20) {
  let cursor = [null, null];
  for (;;) {
    const page = await call(pool, 'cruddur_home_feed',
      '$1::integer, $2::timestamp without time zone, $3::uuid', [pageSize, ...cursor]);
    if (page.length === 0) return;
    yield page;
    const last = page[page.length - 1];
    cursor = [last.created_at, last.uuid];
  }
}

module.exports = { connect, registerUser, homeFeed };
