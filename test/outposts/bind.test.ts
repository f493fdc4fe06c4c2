import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newStaticCodes } from '../../src/flows/devices/static.ts';
import { splitMfaCode } from '../../src/outposts/ldap/bind.ts';

// What an LDAP bind's password carries after its last ';' (Authentik's SetSecrets rule).

test('a TOTP code or a recovery code after the last ";" is split off; anything else is the password', () => {
  const [recovery] = newStaticCodes();
  assert.ok(recovery);
  const cases: Array<[string, string, string | null]> = [
    ['secret;123456', 'secret', '123456'],
    ['se;cret;12345678', 'se;cret', '12345678'],
    [`secret;${recovery}`, 'secret', recovery],
    [`secret;${recovery.toUpperCase()}`, 'secret', recovery.toUpperCase()],
    [`secret;${recovery.slice(0, 4)}-${recovery.slice(4, 8)}-${recovery.slice(8)}`, 'secret', `${recovery.slice(0, 4)}-${recovery.slice(4, 8)}-${recovery.slice(8)}`],
    // No code's form: the whole password.
    ['secret;12345', 'secret;12345', null],
    ['secret;Summer2024!', 'secret;Summer2024!', null],
    ['pass;word', 'pass;word', null],
    ['secret;abcdefghijkl', 'secret;abcdefghijkl', null], // i and l are not in the alphabet
    ['secret;', 'secret;', null],
    ['no-separator', 'no-separator', null],
  ];
  for (const [input, password, code] of cases) assert.deepEqual(splitMfaCode(input, true), { password, code }, input);
  assert.deepEqual(splitMfaCode('secret;123456', false), { password: 'secret;123456', code: null }, 'without mfa_support nothing is split');
});

test("every recovery code the core makes has the form the outpost splits off", () => {
  for (let i = 0; i < 50; i++) {
    for (const code of newStaticCodes()) assert.deepEqual(splitMfaCode(`p;${code}`, true), { password: 'p', code });
  }
});
