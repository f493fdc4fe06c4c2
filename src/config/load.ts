import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import type { z } from 'zod';
import { deepFreeze } from '../deepFreeze.ts';
import { type Config, configSchema } from './schema.ts';

const PREFIX = 'GATEHOUSE_';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Turns GATEHOUSE_POSTGRESQL__HOST=x into { postgresql: { host: 'x' } }. */
function nestEnvironment(env: Record<string, string | undefined>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(PREFIX) || value === undefined) continue;
    const path = name.slice(PREFIX.length).toLowerCase().split('__');
    let node = root;
    for (const part of path.slice(0, -1)) {
      const next = node[part];
      if (typeof next === 'object' && next !== null) node = next as Record<string, unknown>;
      else node = node[part] = {};
    }
    node[path.at(-1) as string] = value;
  }
  return root;
}

function variableName(path: PropertyKey[]): string {
  return PREFIX + path.map(String).join('__').toUpperCase();
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => `${variableName([...issue.path, k])}: unknown setting`).join('; ');
  }
  const name = variableName(issue.path);
  if (issue.code === 'invalid_type') {
    return issue.expected === 'object'
      ? `${name}: is a group of settings; set ${name}__<KEY> instead`
      : `${name}: expected a ${issue.expected}`;
  }
  return `${name}: ${issue.message}`;
}

/**
 * Parses the environment (and an optional .env file, which the environment overrides) into a
 * frozen Config. Any bad or unknown GATEHOUSE_* variable throws one line naming it.
 */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  envFile: string | null = '.env',
): Readonly<Config> {
  const fromFile = envFile && existsSync(envFile) ? parseEnv(readFileSync(envFile, 'utf8')) : {};
  const result = configSchema.safeParse(nestEnvironment({ ...fromFile, ...env }));
  if (!result.success) throw new ConfigError(result.error.issues.map(describeIssue).join('; '));
  return deepFreeze(result.data);
}

export const usesPostgres = (config: Config): boolean => config.postgresql.host !== undefined;
export const usesRedis = (config: Config): boolean => config.redis.host !== undefined || config.redis.sentinels !== undefined;
