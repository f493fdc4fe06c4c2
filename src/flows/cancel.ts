import type { CoreDeps } from '../core/context.ts';
import { listFlowSlugs } from '../store/flows.ts';
import { loadDefinitions } from './definitions.ts';
import { DEFAULT_NEXT } from './planner.ts';
import { allowedNext } from './redirects.ts';
import { deleteFlowState, loadFlowState } from './state.ts';

/**
 * Authentik's `/flows/-/cancel/`: this browser drops its progress in a flow (the "Not you?" link)
 * or, with no flow named, in every flow. Answers where to go: a sign-in not begun by an app's
 * authorization starts over with the same destination; anything else goes to `/`.
 */
export async function cancelFlow(deps: CoreDeps, sessionId: string | null, slug: string | null): Promise<string> {
  if (!sessionId) return '/';
  if (slug === null) {
    const slugs = await listFlowSlugs(deps.db);
    await Promise.all(slugs.map((each) => deleteFlowState(deps.cache, sessionId, each)));
    return '/';
  }
  const flow = await (await loadDefinitions(deps.db)).flowBySlug(slug);
  if (!flow) return '/';
  const state = await loadFlowState(deps.cache, sessionId, slug);
  await deleteFlowState(deps.cache, sessionId, slug);
  if (state && !state.application && flow.designation === 'authentication') {
    return `/if/flow/${slug}/?next=${encodeURIComponent(await allowedNext(deps.db, state.next, DEFAULT_NEXT))}`;
  }
  return '/';
}
