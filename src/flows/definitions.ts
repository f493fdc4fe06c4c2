import { memoUnder, sharedCounter } from '../store/counterWatch.ts';
import type { Database } from '../store/db.ts';
import {
  type BindingRow,
  type FlowRow,
  findBindingById,
  findFlowBySlug,
  findStageById,
  listBindingsOfFlow,
  listPolicyBindingsOf,
  type PolicyBindingRow,
  readDefinitionVersion,
  type StageRow,
} from '../store/flows.ts';

/**
 * Flows, stages, bindings and policy bindings change rarely and are read on every flow request.
 * Each process keeps what it read, tagged with the definition version (a counter that triggers
 * move on any change, in the same transaction, and announce at commit). The version comes from
 * a CounterWatch: no read per request while LISTEN is up, so another replica's change is seen as
 * soon as Postgres delivers its notification (about a millisecond), this process's own at once,
 * and while the listening connection is down every request reads the counter as before.
 */
export interface Definitions {
  flowBySlug(slug: string): Promise<FlowRow | null>;
  bindingsOfFlow(flowId: string): Promise<BindingRow[]>;
  binding(id: string): Promise<BindingRow | null>;
  stage(id: string): Promise<StageRow | null>;
  policyBindingsOf(targetId: string): Promise<PolicyBindingRow[]>;
  /**
   * Any other read kept until the version moves: only for rows whose tables bump the counter
   * (migrations 0004 and 0012), under a key naming what was read. The value is shared: never
   * change it.
   */
  remember<T>(key: string, load: () => Promise<T>): Promise<T>;
}

export const DEFINITIONS_CHANNEL = 'gatehouse_definitions';
/** definition_version, known without a read while LISTEN is up (migration 0011). */
export const watchedDefinitionVersion = sharedCounter(DEFINITIONS_CHANNEL, readDefinitionVersion);
// Enough for every definition of a large installation; past it the snapshot starts over.
const snapshotOf = memoUnder(watchedDefinitionVersion, 5000);

export async function loadDefinitions(db: Database): Promise<Definitions> {
  const memo = await snapshotOf(db);
  return {
    flowBySlug: (slug) => memo(`flow:${slug}`, () => findFlowBySlug(db, slug)),
    bindingsOfFlow: (flowId) => memo(`bindings:${flowId}`, () => listBindingsOfFlow(db, flowId)),
    binding: (id) => memo(`binding:${id}`, () => findBindingById(db, id)),
    stage: (id) => memo(`stage:${id}`, () => findStageById(db, id)),
    policyBindingsOf: (targetId) => memo(`policies:${targetId}`, () => listPolicyBindingsOf(db, targetId)),
    remember: (key, load) => memo(`other:${key}`, load),
  };
}
