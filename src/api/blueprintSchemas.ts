import { z } from 'zod';
import type { BlueprintInstanceRow } from '../store/blueprintInstances.ts';
import { orderingQuery, pageQuery } from './pagination.ts';

// /managed/blueprints/ in Authentik's shape: BlueprintInstance's field names, BlueprintFile for available/.

const context = z
  .record(z.string().max(100), z.unknown())
  .refine((c) => JSON.stringify(c).length <= 16_384, 'Context is too large.');
// A path as available/ lists it: relative, no "..", no leading slash.
const path = z
  .string()
  .max(1000)
  .refine((p) => p === '' || (!p.startsWith('/') && !p.split('/').includes('..') && !p.includes('\\')), 'Enter a path relative to the blueprints folder.');
const name = z.string().trim().min(1).max(200);
const content = z.string().max(1_000_000);

export const instanceWriteSchema = z.strictObject({
  name,
  path: path.default(''),
  content: content.default(''),
  context: context.default({}),
  enabled: z.boolean().default(true),
});
export const instancePatchSchema = z.strictObject({
  name: name.optional(),
  path: path.optional(),
  content: content.optional(),
  context: context.optional(),
  enabled: z.boolean().optional(),
});

export const instanceListQuery = z.object({
  ...pageQuery,
  ordering: orderingQuery(['name', 'path', 'status', 'last_applied']),
  name: z.string().max(200).optional(),
  path: z.string().max(1000).optional(),
});

export const instanceSchema = z.object({
  pk: z.uuid(),
  name: z.string(),
  path: z.string(),
  context: z.record(z.string(), z.unknown()),
  last_applied: z.string().nullable(),
  last_applied_hash: z.string(),
  status: z.enum(['successful', 'warning', 'error', 'orphaned', 'unknown']),
  enabled: z.boolean(),
  managed_models: z.array(z.string()),
  metadata: z.record(z.string(), z.unknown()),
  content: z.string(),
});

export const presentInstance = (row: BlueprintInstanceRow) => ({
  pk: row.id,
  name: row.name,
  path: row.path,
  context: row.context,
  last_applied: row.last_applied ? new Date(row.last_applied).toISOString() : null,
  last_applied_hash: row.last_applied_hash,
  status: row.status,
  enabled: row.enabled,
  managed_models: row.managed_models,
  metadata: row.metadata,
  content: row.content,
});

export const availableSchema = z.object({
  path: z.string(),
  hash: z.string(),
  meta: z.object({ name: z.string(), labels: z.record(z.string(), z.unknown()) }).nullable(),
});

export const applyBody = z.strictObject({
  content: z.string().min(1).max(1_000_000),
  dry_run: z.boolean().default(false),
  context: z.record(z.string(), z.unknown()).default({}),
});

const changeSchema = z.object({
  model: z.string(),
  line: z.number(),
  action: z.string(),
  identifiers: z.record(z.string(), z.unknown()),
  pk: z.union([z.string(), z.number()]).nullable(),
  fields: z.record(z.string(), z.object({ from: z.unknown(), to: z.unknown() })).optional(),
});
export const outcomeSchema = z.object({
  name: z.string(),
  dry_run: z.boolean(),
  changes: z.array(changeSchema),
  warnings: z.array(z.string()),
});

export const lineText = (p: { line: number | null; message: string }) => (p.line ? `line ${p.line}: ${p.message}` : p.message);
