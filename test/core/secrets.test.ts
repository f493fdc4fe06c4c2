import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import argon2 from 'argon2';
import { SecretBox, secretsEqual } from '../../src/core/crypto.ts';
import { checkPassword, hashPassword } from '../../src/core/passwords.ts';
import { checkCredentials, createUser, setUserPassword } from '../../src/core/users.ts';
import { SYSTEM_CONTEXT } from '../../src/core/context.ts';
import { createTestCore, type TestCore } from '../support/backends.ts';

let core: TestCore;
before(async () => {
  core = await createTestCore();
});
after(() => core.close());

test('passwords are hashed with argon2id at OWASP parameters', async () => {
  const hash = await hashPassword('pw');
  assert.match(hash, /^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
  assert.equal((await checkPassword(hash, 'pw')).isValid, true);
  assert.equal((await checkPassword(hash, 'PW')).isValid, false);
  assert.equal((await checkPassword('garbage', 'pw')).isValid, false);
  assert.equal((await checkPassword(null, 'pw')).isValid, false);
});

test('a hash with old parameters is replaced at the next successful login', async () => {
  const user = await createUser(core.deps, SYSTEM_CONTEXT, {
    username: 'legacy',
    name: 'Legacy',
    email: '',
    isActive: true,
    attributes: {},
    path: 'users',
    type: 'internal',
  });
  const oldHash = await argon2.hash('old-password', { type: argon2.argon2id, memoryCost: 4096, timeCost: 3, parallelism: 1 });
  await core.deps.db.query('UPDATE users SET password_hash = $2 WHERE id = $1', [user.id, oldHash]);
  assert.equal(await checkCredentials(core.deps, 'legacy', 'wrong'), null);
  const stillOld = await core.deps.db.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = $1', [user.id]);
  assert.equal(stillOld.rows[0]?.password_hash, oldHash, 'a failed login changes nothing');
  const loggedIn = await checkCredentials(core.deps, 'LEGACY', 'old-password');
  assert.equal(loggedIn?.id, user.id);
  const { rows } = await core.deps.db.query<{ password_hash: string; last_login: Date }>(
    'SELECT password_hash, last_login FROM users WHERE id = $1',
    [user.id],
  );
  assert.match(rows[0]?.password_hash ?? '', /m=19456,p=1,t=2/);
  assert.ok(rows[0]?.last_login);
  assert.ok(await checkCredentials(core.deps, 'legacy', 'old-password'), 'the new hash verifies the same password');
});

test('inactive and unknown users cost a verify and get null', async () => {
  const user = await createUser(core.deps, SYSTEM_CONTEXT, {
    username: 'sleeper',
    name: 'Sleeper',
    email: '',
    isActive: false,
    attributes: {},
    path: 'users',
    type: 'internal',
  });
  await setUserPassword(core.deps, SYSTEM_CONTEXT, user.id, 'right-password');
  assert.equal(await checkCredentials(core.deps, 'sleeper', 'right-password'), null);
  const started = performance.now();
  assert.equal(await checkCredentials(core.deps, 'nobody-by-this-name', 'x'), null);
  assert.ok(performance.now() - started > 5, 'an unknown user still runs argon2');
});

test('SecretBox round-trips, refuses tampering, and separates purposes', () => {
  const box = new SecretBox('k'.repeat(40), 'token-keys');
  const sealed = box.seal('the key');
  assert.notEqual(sealed, box.seal('the key'), 'a fresh nonce each time');
  assert.equal(box.open(sealed), 'the key');
  const flipped = `${sealed.slice(0, -2)}${sealed.at(-2) === 'A' ? 'B' : 'A'}${sealed.at(-1)}`;
  assert.throws(() => box.open(flipped));
  assert.throws(() => new SecretBox('k'.repeat(40), 'totp-seeds').open(sealed));
  assert.throws(() => new SecretBox('x'.repeat(40), 'token-keys').open(sealed));
});

test('secretsEqual compares whole values', () => {
  assert.equal(secretsEqual('abc', 'abc'), true);
  assert.equal(secretsEqual('abc', 'abd'), false);
  assert.equal(secretsEqual('abc', 'abcd'), false);
});

test('a secret box reads what older keys sealed (fallbacks), seals only under the current key, and re-seals on request', () => {
  const old = new SecretBox('an-older-secret-key-of-at-least-thirty-two-chars', 'p');
  const sealedByOld = old.seal('seed');
  const current = new SecretBox('the-current-secret-key-of-at-least-thirty-two-c', 'p', ['an-older-secret-key-of-at-least-thirty-two-chars']);
  assert.equal(current.open(sealedByOld), 'seed');
  const resealed = current.reseal(sealedByOld);
  assert.ok(resealed);
  assert.throws(() => old.open(resealed), 'new seals are under the current key only');
  assert.equal(new SecretBox('the-current-secret-key-of-at-least-thirty-two-c', 'p').open(resealed), 'seed');
  assert.equal(current.reseal(resealed), null, 'already current: nothing to do');
  assert.throws(() => new SecretBox('the-current-secret-key-of-at-least-thirty-two-c', 'p').open(sealedByOld), /another secret key/);
  assert.throws(() => current.reseal(new SecretBox('a-third-unrelated-secret-key-thirty-two-chars-x', 'p').seal('x')), /neither current nor a fallback/);
  assert.throws(() => current.reseal(new SecretBox('an-older-secret-key-of-at-least-thirty-two-chars', 'other purpose').seal('x')), 'purposes stay apart');
  // Derived cookie keys: the current one first, so new cookies are signed with it and old ones still verify.
  assert.deepEqual(current.deriveAll('c'), [current.derive('c'), old.derive('c')]);
});
