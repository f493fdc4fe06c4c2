import { z } from 'zod';
import type { PageOf } from '../store/listing.ts';

// DRF's behaviour: a page_size past the maximum is clamped, not refused.
const MAX_PAGE_SIZE = 1000;

export const pageQuery = {
  page: z.coerce.number().int().min(1).max(1_000_000).default(1),
  page_size: z.coerce.number().int().min(1).transform((n) => Math.min(n, MAX_PAGE_SIZE)).default(20),
  search: z.string().max(200).optional(),
};

/** ?ordering=-username,name, each field from `fields` (optionally prefixed with -). */
export function orderingQuery<const F extends string>(fields: readonly F[]) {
  return z
    .string()
    .max(200)
    .transform((value, ctx) => {
      const parts = value.split(',').map((p) => p.trim()).filter(Boolean);
      for (const part of parts) {
        if (!fields.includes(part.replace(/^-/, '') as F)) {
          ctx.addIssue({ code: 'custom', message: `Unknown ordering field "${part}"; expected one of ${fields.join(', ')}.` });
        }
      }
      return parts;
    })
    .optional();
}

/** Query flags as DRF spells them: true/false (also 1/0). */
export const booleanQuery = z
  .enum(['true', 'false', 'True', 'False', '1', '0'])
  .transform((v) => v === 'true' || v === 'True' || v === '1')
  .optional();

/** A repeatable query parameter (?groups_by_name=a&groups_by_name=b). */
export const repeatedQuery = z
  .union([z.string().max(200), z.array(z.string().max(200)).max(50)])
  .transform((v) => (Array.isArray(v) ? v : [v]))
  .optional();

export function paginatedSchema<T extends z.ZodType>(item: T) {
  return z.object({
    pagination: z.object({
      next: z.number().int(),
      previous: z.number().int(),
      count: z.number().int(),
      current: z.number().int(),
      total_pages: z.number().int(),
      start_index: z.number().int(),
      end_index: z.number().int(),
    }),
    results: z.array(item),
  });
}

/** Authentik's pagination block: next/previous are page numbers, 0 when there is none. */
export function paginate<Row, Out>(page: PageOf<Row>, request: { page: number; page_size: number }, present: (row: Row) => Out) {
  const totalPages = Math.max(1, Math.ceil(page.count / request.page_size));
  const start = page.count === 0 ? 0 : (request.page - 1) * request.page_size + 1;
  return {
    pagination: {
      next: request.page < totalPages ? request.page + 1 : 0,
      previous: request.page > 1 ? request.page - 1 : 0,
      count: page.count,
      current: request.page,
      total_pages: totalPages,
      start_index: Math.min(start, page.count),
      end_index: Math.min(start - 1 + page.rows.length, page.count),
    },
    results: page.rows.map(present),
  };
}

export const errorSchema = z.record(z.string(), z.unknown()).describe('{field: ["message"]} or {detail: "message"}');
