import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isAbsolute, join, normalize, relative, resolve, sep } from 'node:path';

// Blueprint files on disk: the blueprints folder (GATEHOUSE_BLUEPRINTS_DIR) and the defaults
// shipped inside the package. Reading and hashing only — no YAML parser here, so that a start
// whose files did not change never loads it.

/** The shipped defaults: <package>/blueprints/default (dist/blueprints/default in the built image). */
export const DEFAULT_BLUEPRINTS_DIR = fileURLToPath(new URL('../../blueprints/default/', import.meta.url));
/** Their instances' paths start with this, as in Authentik's /blueprints/default/. */
export const DEFAULT_PREFIX = 'default/';

const MAX_FILES = 1000;

export interface BlueprintFile {
  /** Relative to the folder it was found in (default/… for the shipped defaults). */
  path: string;
  text: string;
  /** SHA-256 of the text, hex: what an instance's last_applied_hash is compared with. */
  hash: string;
}

export const hashOfBlueprint = (text: string): string => createHash('sha256').update(text).digest('hex');

/**
 * The *.yaml files under dir (5 levels deep at most, dot-files skipped), as relative paths. The
 * top-level default/ folder is left out: it is the shipped defaults' place, applied from the
 * package itself (a copy in the blueprints folder, as the image has, would be the same files).
 */
export function listBlueprintFiles(dir: string): string[] {
  const root = resolve(dir);
  const found: string[] = [];
  const walk = (path: string, depth: number) => {
    let names: string[];
    try {
      names = readdirSync(path).sort();
    } catch {
      return;
    }
    for (const name of names) {
      if (name.startsWith('.') || found.length >= MAX_FILES) continue;
      if (depth === 0 && `${name}/` === DEFAULT_PREFIX) continue;
      const full = join(path, name);
      const stat = statSync(full, { throwIfNoEntry: false });
      if (stat?.isDirectory() && depth < 5) walk(full, depth + 1);
      else if (stat?.isFile() && /\.ya?ml$/.test(name)) found.push(full);
    }
  };
  walk(root, 0);
  return found.map((f) => relative(root, f).split(sep).join('/'));
}

/** The file at a relative path inside root, or null when the path leaves root or the file is gone. */
export function readBlueprintFile(root: string, path: string): BlueprintFile | null {
  if (isAbsolute(path) || normalize(path).split(sep).includes('..')) return null;
  const full = resolve(root, path);
  if (!full.startsWith(resolve(root) + sep)) return null;
  let text: string;
  try {
    text = readFileSync(full, 'utf8');
  } catch {
    return null;
  }
  return { path, text, hash: hashOfBlueprint(text) };
}

/** Every file of the blueprints folder, read and hashed. */
export function readBlueprintFolder(dir: string): BlueprintFile[] {
  return listBlueprintFiles(dir).flatMap((path) => readBlueprintFile(dir, path) ?? []);
}

/** The shipped default blueprints, read and hashed, paths prefixed with default/. */
export function readDefaultBlueprints(): BlueprintFile[] {
  return readdirSync(DEFAULT_BLUEPRINTS_DIR)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .flatMap((name) => {
      const file = readBlueprintFile(DEFAULT_BLUEPRINTS_DIR, name);
      return file ? [{ ...file, path: `${DEFAULT_PREFIX}${name}` }] : [];
    });
}

/** An instance's file: default/… from the package, anything else from the blueprints folder. */
export function readInstanceFile(blueprintsDir: string, path: string): BlueprintFile | null {
  if (path.startsWith(DEFAULT_PREFIX)) {
    const file = readBlueprintFile(DEFAULT_BLUEPRINTS_DIR, path.slice(DEFAULT_PREFIX.length));
    return file && { ...file, path };
  }
  return readBlueprintFile(blueprintsDir, path);
}
