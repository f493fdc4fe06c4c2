import { createHash } from 'node:crypto';

/*
 * Statements run as named prepared statements, so each connection parses and plans one only
 * once (a login's dozen statements cost Postgres about a third less CPU). The names are a hash
 * of the text. Bounded: past MAX_PREPARED distinct texts (SQL built at run time, such as list
 * filters, would otherwise grow every connection's statement cache forever) the rest run
 * unnamed, as before. Parameterless text that may hold several statements is never named.
 */
const MAX_PREPARED = 400;
const preparedNames = new Map<string, string>();

export function statementName(sql: string, params: unknown[] | undefined): string | undefined {
  const known = preparedNames.get(sql);
  if (known !== undefined) return known;
  if (preparedNames.size >= MAX_PREPARED) return undefined;
  if (!params?.length && !/^\s*SELECT\b[^;]*$/i.test(sql)) return undefined;
  const name = `gh_${createHash('sha256').update(sql).digest('base64url').slice(0, 24)}`;
  preparedNames.set(sql, name);
  return name;
}
