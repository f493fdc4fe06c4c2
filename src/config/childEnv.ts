/**
 * The environment for a tool Gatehouse runs (pg_dump, pg_restore): this process's, minus every
 * GATEHOUSE_* setting (the tool needs none of those secrets), plus what the caller adds.
 */
export function childEnvironment(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !name.startsWith('GATEHOUSE_') && !name.startsWith('PG')) env[name] = value;
  }
  return { ...env, ...extra };
}
