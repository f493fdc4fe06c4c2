import { isDeepStrictEqual } from 'node:util';
import type { z } from 'zod';
import type { CoreDeps, RequestContext } from '../core/context.ts';
import { fieldErrorsOf } from '../core/modelWrites.ts';
import type { Queryable } from '../store/db.ts';
import type { PageRequest } from '../store/listing.ts';

// What the blueprint engine knows of one Authentik model: its fields (Authentik's API names),
// how to read the existing objects in that shape, and the core admin calls that write it.

export type Pk = string | number;

export interface ExistingObject {
  pk: Pk;
  /** The object's writable fields, as the API (and a blueprint's attrs) spell them. */
  values: Record<string, unknown>;
}

export interface BlueprintModel {
  /** Authentik's `app_label.model`, e.g. authentik_core.application. */
  name: string;
  /** Fields a blueprint may set. */
  fields: ReadonlySet<string>;
  /** Authentik fields Gatehouse has no use for: accepted, dropped, reported as a warning. */
  ignored?: ReadonlySet<string>;
  /** Fields compared when deciding whether an object needs an update (secrets that cannot be read back are left out). */
  isComparable?: (field: string) => boolean;
  /** Validates the fields given (a PATCH's rules: all optional); throws a ValidationError. */
  parse(values: Record<string, unknown>): Record<string, unknown>;
  list(tx: Queryable, deps: CoreDeps): Promise<ExistingObject[]>;
  create(deps: CoreDeps, ctx: RequestContext, values: Record<string, unknown>): Promise<Pk>;
  update(deps: CoreDeps, ctx: RequestContext, pk: Pk, changes: Record<string, unknown>): Promise<void>;
  remove(deps: CoreDeps, ctx: RequestContext, pk: Pk): Promise<void>;
}

/** Everything on one page: blueprints address whole (small) collections. */
export const ALL: PageRequest = { page: 1, pageSize: 100_000 };

export function parsedWith(schema: z.ZodType): (values: Record<string, unknown>) => Record<string, unknown> {
  return (values) => {
    const result = schema.safeParse(values);
    if (!result.success) throw fieldErrorsOf(result.error);
    return result.data as Record<string, unknown>;
  };
}

export const fieldsOf = (schema: { shape: Record<string, unknown> }): ReadonlySet<string> => new Set(Object.keys(schema.shape));

/** The objects whose fields equal every identifier (`pk` compares with the object's pk). */
export function matching(objects: ExistingObject[], identifiers: Record<string, unknown>): ExistingObject[] {
  return objects.filter((o) =>
    Object.entries(identifiers).every(([field, value]) =>
      field === 'pk' ? String(o.pk) === String(value) : isDeepStrictEqual(normalised(o.values[field]), normalised(value)),
    ),
  );
}

/** Blueprint values and stored values compare equal when they mean the same (a number pk as text, …). */
export const normalised = (value: unknown): unknown => (value === undefined ? null : value);

export const str = (value: unknown): string => String(value);
export const num = (value: unknown): number => Number(value);
