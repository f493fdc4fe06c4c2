// The forward-auth tests run the Nginx blocks of the guide our users follow, from a verbatim copy
// in test/fixtures (a clean clone has no ../shared). Where the original is present, the copy must
// still be it, so the tests never drift from what users paste.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../support/processes.ts';

const ORIGINAL = join(ROOT, '../shared/seed/000_1cb4227b2635a28c.txt');

test('test/fixtures/seed-guide.txt is the seed guide, unchanged', { skip: !existsSync(ORIGINAL) && 'the original is not on this machine' }, () => {
  assert.equal(readFileSync(join(ROOT, 'test/fixtures/seed-guide.txt'), 'utf8'), readFileSync(ORIGINAL, 'utf8'));
});

test('the copy holds the blocks the forward-auth tests use', () => {
  const copy = readFileSync(join(ROOT, 'test/fixtures/seed-guide.txt'), 'utf8');
  assert.match(copy, /auth_request \/outpost\.goauthentik\.io;/);
  assert.match(copy, /server_name auth\.yourdomain\.com;\nssl_certificate/);
  assert.match(copy, /server_name app\.yourdomain\.com;/);
});
