import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTimedelta } from '../../src/core/durations.ts';

test('reads Authentik timedelta strings as seconds', () => {
  assert.equal(parseTimedelta('minutes=10'), 600);
  assert.equal(parseTimedelta('hours=1;minutes=5'), 3900);
  assert.equal(parseTimedelta('days=30'), 30 * 86_400);
  assert.equal(parseTimedelta('weeks=1;days=1'), 8 * 86_400);
  assert.equal(parseTimedelta('seconds=1.5'), 1.5);
  assert.equal(parseTimedelta(' hours = 2 ; seconds=0 '), 7200);
  assert.equal(parseTimedelta('milliseconds=500'), 0.5);
});

test('refuses what is not a positive, bounded timedelta', () => {
  for (const bad of [
    '',
    'minutes',
    '10',
    'minutes=',
    'minutes=-1',
    'minutes=0',
    'fortnights=1',
    'minutes=1;minutes=2',
    'minutes=1;',
    'minutes=1,hours=1',
    'constructor=1',
    '__proto__=1',
    'hours=1e3',
    'days=4000',
    `seconds=${'9'.repeat(300)}`,
  ]) {
    assert.equal(parseTimedelta(bad), null, bad);
  }
});

test('never throws and never answers a non-finite or non-positive number, whatever the input', () => {
  const alphabet = ['minutes', 'hours', 'days', 'weeks', 'seconds', '=', ';', '1', '0', '.', '-', ' ', 'x', 'e'];
  let seed = 42;
  const next = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed;
  };
  for (let i = 0; i < 5000; i++) {
    const text = Array.from({ length: next() % 8 }, () => alphabet[next() % alphabet.length]).join('');
    const seconds = parseTimedelta(text);
    if (seconds !== null) assert.ok(Number.isFinite(seconds) && seconds > 0 && seconds <= 10 * 365 * 86_400, text);
  }
});
