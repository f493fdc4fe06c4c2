// The blueprint parser on hostile input: whatever the text, it answers with a blueprint or a
// BlueprintError carrying lines, never another exception.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BlueprintError, Find, KeyOf, parseBlueprint } from '../../src/blueprints/document.ts';
import { example } from './support.ts';

/** A small seeded PRNG (mulberry32), so a failure can be replayed. */
function random(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = ['!KeyOf', '!Find', '!Env', '!Context', '!Format', '[', ']', '{', '}', ':', '- ', '\n', '  ', '"', "'", '&a', '*a', '!!binary', '%YAML 1.2\n', '---\n', '\t', '#', '|', '>', '\u0000'];

test('mutated blueprints parse or fail with a BlueprintError, never anything else', () => {
  const base = example('immich');
  const next = random(12);
  for (let i = 0; i < 1500; i++) {
    let text = base;
    for (let m = 0; m < 1 + Math.floor(next() * 4); m++) {
      const at = Math.floor(next() * text.length);
      const piece = PIECES[Math.floor(next() * PIECES.length)] as string;
      const cut = Math.floor(next() * 6);
      text = next() < 0.5 ? text.slice(0, at) + piece + text.slice(at + cut) : text.slice(0, at) + text.slice(at + cut);
    }
    try {
      parseBlueprint(text);
    } catch (error) {
      assert.ok(error instanceof BlueprintError, `seed 12, case ${i}: ${String(error)}\n${text}`);
      assert.ok(error.problems.length > 0);
    }
  }
});

test('tags parse into references; aliases and unknown tags are refused with their line', () => {
  const parsed = parseBlueprint('version: 1\nentries:\n  - model: authentik_core.application\n    identifiers: {slug: a}\n    attrs:\n      provider: !KeyOf p\n      group: !Find [authentik_core.group, [name, x]]\n');
  assert.ok(parsed.entries[0]?.attrs.provider instanceof KeyOf);
  assert.ok(parsed.entries[0]?.attrs.group instanceof Find);
  assert.deepEqual(parsed.entries[0]?.fieldLines, { slug: 4, provider: 6, group: 7 });
  const alias = (() => {
    try {
      parseBlueprint('version: 1\nentries:\n  - &e\n    model: authentik_core.group\n    identifiers: {name: a}\n  - *e\n');
    } catch (error) {
      return error as BlueprintError;
    }
  })();
  assert.equal(alias?.problems[0]?.line, 6);
  assert.throws(() => parseBlueprint('version: 1\nentries:\n  - model: authentik_core.group\n    identifiers: {name: !If [true, a, b]}\n'), (error: BlueprintError) => error.problems[0]?.line === 4);
  assert.throws(() => parseBlueprint('version: 2\nentries: []\n'), /version 1/);
  assert.throws(() => parseBlueprint('version: 1\nentries:\n  - model: authentik_core.group\n    identifiers: {name: a}\n    state: gone\n'), /Unknown state/);
});
