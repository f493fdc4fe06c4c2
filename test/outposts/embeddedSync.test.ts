// `gatehouse all` keeps one in-process LDAP outpost per LDAP outpost of the core (each with its
// token): it looks every second, but reads the list only when the definition counter (outposts)
// or token_version (their tokens, migration 0015) moved — an idle install reads nothing — and
// still notices a new outpost or a revoked token within a tick.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { loadConfig } from '../../src/config/load.ts';
import { startEmbeddedLdap } from '../../src/providers/ldap/embedded.ts';
import type { TestApp } from '../support/app.ts';
import { createAppForEmbeddedLdap, eventually } from '../support/ldap.ts';

let t: TestApp;
let ldap: Awaited<ReturnType<typeof startEmbeddedLdap>> | undefined;
let listReads = 0;

before(async () => {
  const embedded = await createAppForEmbeddedLdap();
  t = embedded.t;
  const db = t.deps.db;
  const query = db.query.bind(db);
  db.query = ((sql: string, params?: unknown[]) => {
    if (sql.startsWith('SELECT id, name FROM outposts WHERE type')) listReads += 1;
    return query(sql, params);
  }) as typeof db.query;
  ldap = await startEmbeddedLdap(loadConfig(embedded.env, null), pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }), t.deps);
});
after(async () => {
  await ldap?.stop();
  await t?.close();
});

test('an idle install reads the outpost list once, not every second', async () => {
  const counted = listReads;
  await sleep(2500);
  assert.equal(listReads - counted, 0, 'no read in 2.5 s of nothing changing');
});

test('a new outpost is served within a tick, and one whose token was revoked is stopped within one', async () => {
  const flow = (await t.api('GET', '/api/v3/flows/instances/?slug=default-authentication-flow')).json().results[0].pk;
  const provider = (await t.api('POST', '/api/v3/providers/ldap/', { name: 'nas', authorization_flow: flow })).json();
  const outpost = (await t.api('POST', '/api/v3/outposts/instances/', { name: 'ldap', type: 'ldap', providers: [provider.pk] })).json();
  await eventually(async () => ldap?.outposts().length === 1, 5000);

  // Idle again: no list read while the outpost polls (its polls move no counter).
  await sleep(1200);
  const counted = listReads;
  await sleep(2500);
  assert.equal(listReads - counted, 0, 'no read in 2.5 s of nothing changing');

  // Only token_version moves here: the outpost row and the definitions stand still.
  assert.equal((await t.api('DELETE', `/api/v3/core/tokens/${outpost.token_identifier}/`)).statusCode, 204);
  await eventually(async () => ldap?.outposts().length === 0, 5000);
});
