import { NotFound, ValidationError } from '../errors.ts';
import * as appStore from '../store/applications.ts';
import type { Queryable } from '../store/db.ts';
import { findProviderSummaries } from '../store/providers.ts';
import type { CoreDeps, RequestContext } from './context.ts';
import { recordEvent } from './events.ts';
import { changedFields, translatingConflicts } from './modelWrites.ts';

// Admin writes of applications, each with its audit event in one transaction.

/** The writable fields, as the API spells them (Authentik's meta_* names). */
export interface ApplicationInput {
  name: string;
  slug: string;
  provider?: number | null;
  meta_launch_url?: string;
  open_in_new_tab?: boolean;
  meta_icon?: string;
  meta_description?: string;
  meta_publisher?: string;
  group?: string;
  policy_engine_mode?: 'any' | 'all';
}

const applicationRef = (app: appStore.ApplicationRow) => ({ model_name: 'application' as const, pk: app.id, name: app.name });
const duplicateSlug = () => ValidationError.field('slug', 'Application with this slug already exists.');
const duplicate = () => ValidationError.field('non_field_errors', 'An application with this slug or provider already exists.');

function valuesOf(input: Partial<ApplicationInput>, current: appStore.ApplicationValues): appStore.ApplicationValues {
  return {
    name: input.name ?? current.name,
    slug: input.slug ?? current.slug,
    provider_id: input.provider === undefined ? current.provider_id : input.provider,
    launch_url: input.meta_launch_url ?? current.launch_url,
    open_in_new_tab: input.open_in_new_tab ?? current.open_in_new_tab,
    icon: input.meta_icon ?? current.icon,
    description: input.meta_description ?? current.description,
    publisher: input.meta_publisher ?? current.publisher,
    group: input.group ?? current.group,
    policy_engine_mode: input.policy_engine_mode ?? current.policy_engine_mode,
  };
}

/** The slug is free, the provider exists and no other application uses it (one per provider). */
async function checkReferences(tx: Queryable, values: appStore.ApplicationValues, selfId: string | null): Promise<void> {
  const sameSlug = await appStore.findApplicationBySlug(tx, values.slug);
  if (sameSlug && sameSlug.id !== selfId) throw duplicateSlug();
  if (values.provider_id === null) return;
  if (!(await findProviderSummaries(tx, [values.provider_id])).has(values.provider_id)) {
    throw ValidationError.field('provider', `Invalid pk "${values.provider_id}" - object does not exist.`);
  }
  const user = await appStore.findApplicationByProviderId(tx, values.provider_id);
  if (user && user.id !== selfId) throw ValidationError.field('provider', `This provider is already used by the application "${user.slug}".`);
}

const EMPTY: Omit<appStore.ApplicationValues, 'name' | 'slug'> = {
  provider_id: null,
  launch_url: '',
  open_in_new_tab: false,
  icon: '',
  description: '',
  publisher: '',
  group: '',
  policy_engine_mode: 'any',
};

export function createApplication(deps: CoreDeps, ctx: RequestContext, input: ApplicationInput): Promise<appStore.ApplicationRow> {
  return translatingConflicts(
    () =>
      deps.db.transaction(async (tx) => {
        const values = valuesOf(input, { ...EMPTY, name: input.name, slug: input.slug });
        await checkReferences(tx, values, null);
        const app = await appStore.insertApplication(tx, values);
        await recordEvent(tx, deps, ctx, 'model_created', { model: applicationRef(app) });
        return app;
      }),
    duplicate,
  );
}

async function findApplication(tx: Queryable, slug: string): Promise<appStore.ApplicationRow> {
  const app = await appStore.findApplicationBySlug(tx, slug);
  if (!app) throw new NotFound();
  return app;
}

/** PUT and PATCH both merge into the stored application (fields not sent keep their value, as in DRF). */
export function updateApplication(
  deps: CoreDeps,
  ctx: RequestContext,
  slug: string,
  changes: Partial<ApplicationInput>,
): Promise<appStore.ApplicationRow> {
  return translatingConflicts(
    () =>
      deps.db.transaction(async (tx) => {
        const current = await findApplication(tx, slug);
        const values = valuesOf(changes, current);
        await checkReferences(tx, values, current.id);
        const app = (await appStore.replaceApplication(tx, current.id, values)) as appStore.ApplicationRow;
        await recordEvent(tx, deps, ctx, 'model_updated', {
          model: applicationRef(app),
          context: { changed: changedFields({ ...changes }), ...(slug !== app.slug ? { previous_slug: slug } : {}) },
        });
        return app;
      }),
    duplicate,
  );
}

/** Its policy bindings go with it; its provider stays. */
export function deleteApplication(deps: CoreDeps, ctx: RequestContext, slug: string): Promise<void> {
  return deps.db.transaction(async (tx) => {
    const app = await findApplication(tx, slug);
    await appStore.deleteApplication(tx, app.id);
    await recordEvent(tx, deps, ctx, 'model_deleted', { model: applicationRef(app), context: { slug: app.slug } });
  });
}
