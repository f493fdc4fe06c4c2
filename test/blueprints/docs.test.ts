// Each app guide shows the blueprint its replay test loads, character for character.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { example } from './support.ts';

const guides = new URL('../../docs/integrations/', import.meta.url);
const examples = readdirSync(new URL('../../blueprints/examples/', import.meta.url)).map((f) => f.replace(/\.yaml$/, ''));

test('every example blueprint is shown, unchanged, in a guide under docs/integrations/', () => {
  const pages = readdirSync(guides).map((f) => readFileSync(new URL(f, guides), 'utf8'));
  for (const name of examples) {
    assert.ok(pages.some((page) => page.includes(`# blueprints/examples/${name}.yaml\n${example(name)}`)), `${name}.yaml in a guide`);
  }
});
