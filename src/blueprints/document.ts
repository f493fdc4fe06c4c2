import {
  type CollectionTag,
  Document,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  type ScalarTag,
  visit,
  type YAMLMap,
  type YAMLSeq,
} from 'yaml';

// Reads a blueprint in Authentik's format (version 1) into entries that remember the line of
// each entry and of each of its fields, so a problem is reported where the admin wrote it.

/** `!KeyOf id`: the pk of the object an earlier entry with this `id` made or found. */
export class KeyOf {
  readonly id: string;
  constructor(id: string) {
    this.id = id;
  }
}
/** `!Find [model, [field, value], …]`: the pk of an existing object, or null. */
export class Find {
  readonly model: string;
  readonly query: Array<[string, unknown]>;
  constructor(model: string, query: Array<[string, unknown]>) {
    this.model = model;
    this.query = query;
  }
}
/** `!Env VAR` or `!Env [VAR, default]`. */
export class Env {
  readonly name: string;
  readonly fallback: unknown;
  constructor(name: string, fallback: unknown) {
    this.name = name;
    this.fallback = fallback;
  }
}
/** `!Context key` or `!Context [key, default]`: a value from the blueprint's `context`. */
export class Context {
  readonly key: string;
  readonly fallback: unknown;
  constructor(key: string, fallback: unknown) {
    this.key = key;
    this.fallback = fallback;
  }
}

/** `!Format [format, value, …]`: Python's %-formatting (%s, %d, %%), as Authentik does. */
export class Format {
  readonly format: string;
  readonly args: unknown[];
  constructor(format: string, args: unknown[]) {
    this.format = format;
    this.args = args;
  }
}

export type EntryState = 'present' | 'created' | 'absent';

/** Authentik's BlueprintEntryPermission: a permission on the entry's object, for one role or user. */
export interface BlueprintEntryPermission {
  permission: unknown;
  role: unknown;
  user: unknown;
  line: number;
}

export interface BlueprintEntry {
  model: string;
  identifiers: Record<string, unknown>;
  attrs: Record<string, unknown>;
  state: EntryState;
  id: string | null;
  conditions: unknown[];
  permissions: BlueprintEntryPermission[];
  line: number;
  /** Line of each key of identifiers and attrs. */
  fieldLines: Record<string, number>;
}

export interface Blueprint {
  name: string;
  labels: Record<string, unknown>;
  context: Record<string, unknown>;
  entries: BlueprintEntry[];
}

export interface Problem {
  line: number | null;
  message: string;
}

/** A blueprint that cannot be applied; nothing of it was. */
export class BlueprintError extends Error {
  readonly problems: Problem[];
  constructor(problems: Problem[]) {
    super(problems.map((p) => (p.line ? `line ${p.line}: ${p.message}` : p.message)).join('\n'));
    this.problems = problems;
  }
}

/** Plain JS of a node whose tags are already resolved (scalars may hold a KeyOf, …). */
function plain(node: unknown): unknown {
  if (isScalar(node)) return node.value;
  if (isSeq(node)) return node.items.map(plain);
  if (isMap(node)) return Object.fromEntries(node.items.map((pair) => [String(plain(pair.key)), plain(pair.value)]));
  return node;
}

const stringTag = (tag: string, make: (value: string) => unknown): ScalarTag => ({ tag, resolve: (text: string) => make(text) });
const seqTag = (tag: string, make: (items: unknown[], onError: (message: string) => void) => unknown): CollectionTag => ({
  tag,
  collection: 'seq',
  resolve: (seq, onError) => make(plain(seq) as unknown[], onError),
});

const CUSTOM_TAGS = [
  {
    ...stringTag('!KeyOf', (id) => new KeyOf(id)),
    identify: (value: unknown) => value instanceof KeyOf,
    stringify: ({ value }: { value: unknown }) => (value as KeyOf).id,
  },
  stringTag('!Env', (name) => new Env(name, null)),
  stringTag('!Context', (key) => new Context(key, null)),
  seqTag('!Env', ([name, fallback = null]) => new Env(String(name), fallback)),
  seqTag('!Context', ([key, fallback = null]) => new Context(String(key), fallback)),
  seqTag('!Format', ([format, ...args]) => new Format(String(format), args)),
  seqTag('!Find', ([model, ...query], onError) => {
    if (typeof model !== 'string' || !query.every((q) => Array.isArray(q) && q.length === 2)) {
      onError('!Find expects [model, [field, value], …]');
    }
    return new Find(String(model), query as Array<[string, unknown]>);
  }),
];

const ENTRY_KEYS = new Set(['model', 'identifiers', 'attrs', 'state', 'id', 'conditions', 'permissions']);
const TOP_KEYS = new Set(['version', 'metadata', 'context', 'entries']);
const STATES = new Set(['present', 'created', 'absent']);

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype;

export function parseBlueprint(text: string, fallbackName = 'blueprint'): Blueprint {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { customTags: CUSTOM_TAGS, lineCounter, uniqueKeys: true });
  const lineOf = (node: Node | null | undefined) => (node?.range ? lineCounter.linePos(node.range[0]).line : null);
  const problems: Problem[] = [...doc.errors, ...doc.warnings].map((e) => ({ line: e.linePos?.[0].line ?? null, message: e.message.split('\n')[0] as string }));
  // Anchors and aliases (&a / *a) would need expanding (and bounding); Authentik's blueprints do not use them.
  visit(doc, {
    Alias(_key, node) {
      problems.push({ line: lineOf(node as unknown as Node), message: `YAML aliases (*${node.source}) are not supported in blueprints.` });
    },
  });
  if (problems.length) throw new BlueprintError(problems);
  const root = doc.contents;
  if (!isMap(root)) throw new BlueprintError([{ line: 1, message: 'A blueprint is a mapping with version, metadata and entries.' }]);
  for (const pair of root.items) {
    if (!TOP_KEYS.has(String(plain(pair.key)))) problems.push({ line: lineOf(pair.key as Node), message: `Unknown key "${plain(pair.key)}".` });
  }
  const top = plain(root) as Record<string, unknown>;
  if (top.version !== 1) problems.push({ line: lineOf(root.get('version', true) as Node) ?? 1, message: 'Only blueprint version 1 is supported.' });
  const metadata = isRecord(top.metadata) ? top.metadata : {};
  const context = isRecord(top.context) ? top.context : {};
  const entriesNode = root.get('entries', true);
  const entries: BlueprintEntry[] = [];
  if (entriesNode !== undefined && !isSeq(entriesNode)) problems.push({ line: lineOf(entriesNode as Node), message: '"entries" must be a list.' });
  for (const item of isSeq(entriesNode) ? (entriesNode as YAMLSeq).items : []) {
    const entry = readEntry(item as Node, lineOf, problems);
    if (entry) entries.push(entry);
  }
  if (problems.length) throw new BlueprintError(problems);
  return {
    name: typeof metadata.name === 'string' ? metadata.name : fallbackName,
    labels: isRecord(metadata.labels) ? metadata.labels : {},
    context,
    entries,
  };
}

function readEntry(item: Node, lineOf: (node: Node | null | undefined) => number | null, problems: Problem[]): BlueprintEntry | null {
  const line = lineOf(item) ?? 0;
  if (!isMap(item)) {
    problems.push({ line, message: 'An entry is a mapping with model, identifiers and attrs.' });
    return null;
  }
  const map = item as YAMLMap;
  for (const pair of map.items) {
    const key = String(plain(pair.key));
    if (!ENTRY_KEYS.has(key)) problems.push({ line: lineOf(pair.key as Node), message: `Unknown entry key "${key}".` });
  }
  const raw = plain(map) as Record<string, unknown>;
  const fieldLines: Record<string, number> = {};
  for (const part of ['identifiers', 'attrs']) {
    const node = map.get(part, true);
    if (node === undefined || node === null || (isScalar(node) && node.value === null)) continue;
    if (!isMap(node)) {
      problems.push({ line: lineOf(node as Node) ?? line, message: `"${part}" must be a mapping.` });
      continue;
    }
    for (const pair of (node as YAMLMap).items) fieldLines[String(plain(pair.key))] ??= lineOf(pair.key as Node) ?? line;
  }
  if (typeof raw.model !== 'string') problems.push({ line, message: 'An entry needs a "model".' });
  const permissions = readPermissions(map.get('permissions', true) as Node | undefined, line, lineOf, problems);
  const state = raw.state ?? 'present';
  if (typeof state !== 'string' || !STATES.has(state)) problems.push({ line, message: `Unknown state "${String(state)}" (present, created or absent).` });
  return {
    model: String(raw.model),
    identifiers: isRecord(raw.identifiers) ? raw.identifiers : {},
    attrs: isRecord(raw.attrs) ? raw.attrs : {},
    state: state as EntryState,
    id: raw.id === undefined || raw.id === null ? null : String(raw.id),
    conditions: Array.isArray(raw.conditions) ? raw.conditions : [],
    permissions,
    line,
    fieldLines,
  };
}

/** `permissions:` of an entry: a list of {permission, role} or {permission, user}. */
function readPermissions(
  node: Node | undefined,
  entryLine: number,
  lineOf: (node: Node | null | undefined) => number | null,
  problems: Problem[],
): BlueprintEntryPermission[] {
  if (node === undefined || node === null || (isScalar(node) && node.value === null)) return [];
  if (!isSeq(node)) {
    problems.push({ line: lineOf(node) ?? entryLine, message: '"permissions" must be a list of {permission, role} or {permission, user}.' });
    return [];
  }
  const result: BlueprintEntryPermission[] = [];
  for (const item of (node as YAMLSeq).items) {
    const line = lineOf(item as Node) ?? entryLine;
    const raw = isMap(item) ? (plain(item) as Record<string, unknown>) : null;
    const keys = raw ? Object.keys(raw) : [];
    const holders = keys.filter((k) => k === 'role' || k === 'user');
    if (!raw || !('permission' in raw) || holders.length !== 1 || keys.some((k) => !['permission', 'role', 'user'].includes(k))) {
      problems.push({ line, message: 'A permission is {permission, role} or {permission, user}.' });
      continue;
    }
    result.push({ permission: raw.permission, role: raw.role ?? null, user: raw.user ?? null, line });
  }
  return result;
}

/** YAML text of a blueprint built in code; KeyOf values are written as `!KeyOf id`. */
export function stringifyBlueprint(value: unknown): string {
  return new Document(value, { customTags: CUSTOM_TAGS }).toString({ lineWidth: 0 });
}
