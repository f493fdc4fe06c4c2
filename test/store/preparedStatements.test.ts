import assert from 'node:assert/strict';
import { test } from 'node:test';
import { statementName } from '../../src/store/preparedStatements.ts';

test('a statement keeps one name; parameterless scripts and writes are never prepared', () => {
  const sql = 'SELECT id FROM users WHERE id = $1';
  const name = statementName(sql, [1]);
  assert.match(name ?? '', /^gh_[A-Za-z0-9_-]{24}$/);
  assert.equal(statementName(sql, [2]), name, 'same text, same prepared statement');
  assert.notEqual(statementName('SELECT id FROM users WHERE username = $1', ['a']), name);
  assert.ok(statementName('SELECT version::text AS version FROM definition_version', undefined), 'a parameterless SELECT is prepared');
  assert.equal(statementName('BEGIN', undefined), undefined);
  assert.equal(statementName('SELECT 1; DROP TABLE x', undefined), undefined, 'several statements cannot be prepared');
  assert.equal(statementName('UPDATE users SET name = name', []), undefined);
});

test('past the bound, new texts run unnamed and known ones keep their names', () => {
  const first = statementName('SELECT $1::int AS first', [1]);
  for (let i = 0; i < 1000; i++) statementName(`SELECT $1::int AS n${i}`, [i]);
  assert.equal(statementName('SELECT $1::int AS one_more', [1]), undefined);
  assert.equal(statementName('SELECT $1::int AS first', [1]), first);
});
