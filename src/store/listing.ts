/**
 * Pieces shared by the list queries: filters become fixed SQL fragments with numbered
 * parameters (never values spliced into SQL), ordering comes from a whitelist of columns.
 */
export class WhereBuilder {
  readonly params: unknown[] = [];
  private readonly conditions: string[] = [];

  /** Adds a condition; each `?` in fragment becomes the next parameter. */
  add(fragment: string, ...values: unknown[]): this {
    let i = 0;
    this.conditions.push(fragment.replace(/\?/g, () => `$${this.params.push(values[i++])}`));
    return this;
  }

  param(value: unknown): string {
    return `$${this.params.push(value)}`;
  }

  get sql(): string {
    return this.conditions.length ? `WHERE ${this.conditions.join(' AND ')}` : '';
  }
}

export interface PageRequest {
  page: number;
  pageSize: number;
}

export interface PageOf<Row> {
  rows: Row[];
  count: number;
}

/** "-username,name" → "username DESC, name ASC"; fields are checked against `columns` first. */
export function orderClause(ordering: string[] | undefined, columns: Record<string, string>, tiebreak: string): string {
  const parts = (ordering ?? []).flatMap((field) => {
    const isDescending = field.startsWith('-');
    const column = columns[isDescending ? field.slice(1) : field];
    return column ? [`${column} ${isDescending ? 'DESC' : 'ASC'}`] : [];
  });
  return `ORDER BY ${[...parts, tiebreak].join(', ')}`;
}

export const limitClause = (where: WhereBuilder, page: PageRequest): string =>
  `LIMIT ${where.param(page.pageSize)} OFFSET ${where.param((page.page - 1) * page.pageSize)}`;

/** Escapes LIKE wildcards so a search for "50%" finds "50%", not everything. */
export const likePattern = (text: string): string => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
