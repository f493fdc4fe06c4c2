// Each app guide shows the blueprint its replay test loads, character for character.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { example } from './support.ts';

const guides = new URL('../../docs/integrations/', import.meta.url);
// Not every example is an app: passwordless sign-in is shown with the rest of login and MFA.
const otherGuides = [new URL('../../docs/login-and-mfa.md', import.meta.url)];
const examples = readdirSync(new URL('../../blueprints/examples/', import.meta.url)).map((f) => f.replace(/\.yaml$/, ''));

test('every example blueprint is shown, unchanged, in a guide under docs/integrations/ (or docs/login-and-mfa.md)', () => {
  const pages = [...readdirSync(guides).map((f) => new URL(f, guides)), ...otherGuides].map((url) => readFileSync(url, 'utf8'));
  for (const name of examples) {
    assert.ok(pages.some((page) => page.includes(`# blueprints/examples/${name}.yaml\n${example(name)}`)), `${name}.yaml in a guide`);
  }
});
