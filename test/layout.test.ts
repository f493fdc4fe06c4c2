// The rules of ../shared/CONVENTIONS.md that a grep can keep.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { ROOT } from './support/processes.ts';

function sourceFiles(dir = join(ROOT, 'src')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

const files = sourceFiles().map((path) => ({ path: relative(ROOT, path), text: readFileSync(path, 'utf8') }));

test('SQL lives only in src/store/', () => {
  const sql = /['`]\s*(SELECT|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+TABLE|ALTER\s+TABLE)\b/i;
  const offenders = files.filter((f) => !f.path.startsWith('src/store/') && sql.test(f.text)).map((f) => f.path);
  assert.deepEqual(offenders, []);
});

test('process.env is read only in src/config/', () => {
  const offenders = files.filter((f) => !f.path.startsWith('src/config/') && /process\.env\b/.test(f.text)).map((f) => f.path);
  assert.deepEqual(offenders, []);
});

test('only src/store/ and the process wiring import pg or PGlite', () => {
  const allowed = new Set(['src/runtime.ts']);
  const offenders = files
    .filter((f) => !f.path.startsWith('src/store/') && !allowed.has(f.path))
    .filter((f) => /from ['"](pg|@electric-sql\/pglite)['"]/.test(f.text))
    .map((f) => f.path);
  assert.deepEqual(offenders, []);
});

test('source files stay small (CONVENTIONS.md: files of one idea, under ~300 lines)', () => {
  const large = files.filter((f) => f.text.split('\n').length > 300).map((f) => `${f.path}: ${f.text.split('\n').length}`);
  assert.deepEqual(large, []);
});

test('every migration is NNNN_name.sql and numbered without gaps', () => {
  const names = readdirSync(join(ROOT, 'migrations')).sort();
  for (const [i, name] of names.entries()) {
    assert.match(name, new RegExp(`^${String(i + 1).padStart(4, '0')}_[a-z0-9_]+\\.sql$`));
  }
});
