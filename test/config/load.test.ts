import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig, usesRedis } from '../../src/config/load.ts';

test('defaults give the embedded setup on 127.0.0.1:9000 and Authentik\'s listener ports', () => {
  const config = loadConfig({}, null);
  assert.equal(config.data_dir, './data');
  assert.deepEqual(config.listen.http, { host: '127.0.0.1', port: 9000 });
  assert.equal(config.listen.https.port, 9443);
  assert.equal(config.listen.ldap.port, 3389);
  assert.equal(config.listen.ldaps.port, 6636);
  assert.equal(config.listen.metrics.port, 9300);
  assert.equal(config.postgresql.host, undefined);
  assert.equal(config.redis.host, undefined);
  assert.equal(config.events.retention_days, 365);
});

test('nested variables use a double underscore, as Authentik\'s do', () => {
  const config = loadConfig(
    {
      GATEHOUSE_POSTGRESQL__HOST: 'db',
      GATEHOUSE_POSTGRESQL__PORT: '6543',
      GATEHOUSE_REDIS__HOST: 'cache',
      GATEHOUSE_LISTEN__HTTP: '0.0.0.0:9000',
      GATEHOUSE_BOOTSTRAP_PASSWORD: 'long-enough-password',
      GATEHOUSE_EVENTS__RETENTION_DAYS: '30',
      UNRELATED: 'ignored',
    },
    null,
  );
  assert.equal(config.postgresql.host, 'db');
  assert.equal(config.postgresql.port, 6543);
  assert.equal(config.redis.host, 'cache');
  assert.deepEqual(config.listen.http, { host: '0.0.0.0', port: 9000 });
  assert.equal(config.bootstrap_password, 'long-enough-password');
  assert.equal(config.events.retention_days, 30);
});

test('a bad or unknown variable stops start-up with one line naming it', () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ GATEHOUSE_POSTGRESQL__PORT: 'abc' }, /^GATEHOUSE_POSTGRESQL__PORT: expected a number$/],
    [{ GATEHOUSE_POSTGRESQL__PORT: '70000' }, /^GATEHOUSE_POSTGRESQL__PORT: /],
    [{ GATEHOUSE_LISTEN__HTTP: 'nine-thousand' }, /^GATEHOUSE_LISTEN__HTTP: expected HOST:PORT/],
    [{ GATEHOUSE_REDIS__TLS: 'maybe' }, /^GATEHOUSE_REDIS__TLS: expected true or false$/],
    [{ GATEHOUSE_POSTGRES__HOST: 'typo' }, /^GATEHOUSE_POSTGRES: unknown setting$/],
    [{ GATEHOUSE_REDIS__HOTS: 'typo' }, /^GATEHOUSE_REDIS__HOTS: unknown setting$/],
    [{ GATEHOUSE_SECRET_KEY: 'short' }, /^GATEHOUSE_SECRET_KEY: expected at least 32 characters/],
    [{ GATEHOUSE_BOOTSTRAP_EMAIL: 'nope' }, /^GATEHOUSE_BOOTSTRAP_EMAIL: /],
    [{ GATEHOUSE_REDIS__SENTINELS: 'a:26379,b:notaport' }, /^GATEHOUSE_REDIS__SENTINELS: expected HOST\[:PORT\] separated by commas.*"b:notaport"/],
    [{ GATEHOUSE_REDIS__SENTINELS: 'a:70000' }, /^GATEHOUSE_REDIS__SENTINELS: expected HOST\[:PORT\]/],
    [{ GATEHOUSE_REDIS__SENTINELS: ' , ' }, /^GATEHOUSE_REDIS__SENTINELS: expected at least one sentinel address$/],
    [{ GATEHOUSE_REDIS__SENTINELS: 'a:26379', GATEHOUSE_REDIS__HOST: 'redis' }, /^GATEHOUSE_REDIS__SENTINELS: set either GATEHOUSE_REDIS__HOST or GATEHOUSE_REDIS__SENTINELS, not both$/],
    [{ GATEHOUSE_REDIS__SENTINEL_MASTER: '' }, /^GATEHOUSE_REDIS__SENTINEL_MASTER: /],
  ];
  for (const [env, message] of cases) {
    assert.throws(() => loadConfig(env, null), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, message);
      assert.doesNotMatch(error.message, /\n/);
      return true;
    });
  }
});

test('the message never repeats a secret value', () => {
  assert.throws(
    () => loadConfig({ GATEHOUSE_SECRET_KEY: 'hunter2-short' }, null),
    (error: Error) => !error.message.includes('hunter2'),
  );
});

test('reads an optional .env file, which the environment overrides', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-config-'));
  const file = join(dir, '.env');
  writeFileSync(file, 'GATEHOUSE_REDIS__HOST=from-file\nGATEHOUSE_POSTGRESQL__NAME=from-file\n# a comment\n');
  const config = loadConfig({ GATEHOUSE_POSTGRESQL__NAME: 'from-env' }, file);
  assert.equal(config.redis.host, 'from-file');
  assert.equal(config.postgresql.name, 'from-env');
  assert.equal(loadConfig({}, join(dir, 'missing.env')).redis.host, undefined);
});

test('the parsed config is frozen', () => {
  const config = loadConfig({}, null);
  assert.throws(() => {
    (config.listen as { http: unknown }).http = null;
  }, TypeError);
});

test('Redis Sentinel: a list of sentinel addresses (port 26379 when left out), the monitored name and the sentinels\' own credentials', () => {
  const config = loadConfig(
    {
      GATEHOUSE_REDIS__SENTINELS: 'sentinel-a:26380, 10.0.0.2 ,[fd00::3]:26381',
      GATEHOUSE_REDIS__SENTINEL_MASTER: 'gatehouse',
      GATEHOUSE_REDIS__SENTINEL_PASSWORD: 'sentinel-secret',
      GATEHOUSE_REDIS__PASSWORD: 'node-secret',
    },
    null,
  );
  assert.deepEqual(config.redis.sentinels, [
    { host: 'sentinel-a', port: 26380 },
    { host: '10.0.0.2', port: 26379 },
    { host: 'fd00::3', port: 26381 },
  ]);
  assert.equal(config.redis.sentinel_master, 'gatehouse');
  assert.equal(config.redis.sentinel_password, 'sentinel-secret');
  assert.equal(config.redis.password, 'node-secret');
  assert.equal(usesRedis(config), true);
  assert.equal(loadConfig({ GATEHOUSE_REDIS__SENTINELS: 'sentinel:26379' }, null).redis.sentinel_master, 'mymaster');
  assert.equal(usesRedis(loadConfig({}, null)), false);
});
