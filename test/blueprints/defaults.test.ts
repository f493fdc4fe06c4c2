// The default flows ship as blueprints (blueprints/default/*.yaml): a fresh database gets exactly
// what those files say, a second start applies nothing, an admin's edits survive a new version of
// a file, a database from before blueprint instances keeps its defaults as the admin left them,
// and an export of the defaults rebuilds the same flows on an empty database.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type KeyOf, parseBlueprint } from '../../src/blueprints/document.ts';
import { applyBlueprint } from '../../src/blueprints/engine.ts';
import { exportBlueprint } from '../../src/blueprints/export.ts';
import { DEFAULT_BLUEPRINTS_DIR } from '../../src/blueprints/files.ts';
import { SYSTEM_CONTEXT } from '../../src/core/context.ts';
import { deleteBinding, updateFlow } from '../../src/core/flowAdmin.ts';
import { updateStage } from '../../src/core/stageAdmin.ts';
import { ensureDefaultFlows, INITIAL_SETUP_MANAGED } from '../../src/flows/defaults.ts';
import type { Database } from '../../src/store/db.ts';
import { findFlowByManaged } from '../../src/store/flows.ts';
import { createTestCore, type TestCore } from '../support/backends.ts';

/** Authentik's default flows, their slugs and their stages in order: what Gatehouse has always created. */
const DEFAULT_FLOWS: Record<string, string[]> = {
  'default-authentication-flow': ['default-authentication-identification', 'default-authentication-password', 'default-authentication-mfa-validation', 'default-authentication-login'],
  'default-invalidation-flow': ['default-invalidation-logout'],
  'default-provider-authorization-implicit-consent': [],
  'default-provider-authorization-explicit-consent': ['default-provider-authorization-consent'],
  'default-authenticator-totp-setup': ['default-authenticator-totp-setup'],
  'default-authenticator-static-setup': ['default-authenticator-static-setup'],
  'default-authenticator-webauthn-setup': ['default-authenticator-webauthn-setup'],
  'initial-setup': ['initial-setup-prompt', 'initial-setup-write', 'default-authentication-login'],
  'default-recovery-flow': ['default-recovery-identification', 'default-recovery-email', 'default-recovery-field-password', 'default-recovery-user-write', 'default-recovery-user-login'],
  'default-enrollment-flow': ['default-enrollment-invitation', 'default-enrollment-prompt', 'default-enrollment-user-write', 'default-enrollment-email-verification', 'default-authentication-login'],
};

const files = readdirSync(DEFAULT_BLUEPRINTS_DIR).filter((f) => f.endsWith('.yaml')).sort();
const texts = files.map((f) => readFileSync(join(DEFAULT_BLUEPRINTS_DIR, f), 'utf8'));

async function snapshot(db: Database) {
  const rows = async (sql: string) => (await db.query<Record<string, unknown>>(sql)).rows;
  // A stage names policies by id; by name here, so two databases (and the YAML) compare.
  const policyNames = new Map((await rows('SELECT id, name FROM policies')).map((p) => [String(p.id), p.name]));
  const stages = (await rows('SELECT name, type, config, managed FROM stages ORDER BY name')).map((stage) => {
    const config = stage.config as Record<string, unknown>;
    const named = Array.isArray(config.validation_policies) ? { validation_policies: config.validation_policies.map((id) => policyNames.get(String(id)) ?? id) } : {};
    return { ...stage, config: { ...config, ...named } };
  });
  return {
    flows: await rows('SELECT slug, name, title, designation, authentication, policy_engine_mode, managed FROM flows ORDER BY slug'),
    stages,
    policies: await rows('SELECT name, type, config FROM policies ORDER BY name'),
    bindings: await rows(`SELECT f.slug AS flow, s.name AS stage, b."order", b.evaluate_on_plan, b.re_evaluate_policies, b.policy_engine_mode
      FROM flow_stage_bindings b JOIN flows f ON f.id = b.flow_id JOIN stages s ON s.id = b.stage_id ORDER BY f.slug, b."order"`),
  };
}

/** What the YAML files describe, read with the blueprint parser alone (not the engine that applied them). */
function described() {
  const flows = new Map<string, Record<string, unknown>>();
  const stages = new Map<string, Record<string, unknown>>();
  const bindings: Array<{ flow: string; stage: string; order: number }> = [];
  for (const text of texts) {
    const ids = new Map<string, string>();
    for (const entry of parseBlueprint(text).entries) {
      assert.equal(entry.state, 'created', 'a default never overwrites what exists');
      const { managed } = entry.identifiers;
      if (entry.model === 'authentik_flows.flow') {
        flows.set(entry.attrs.slug as string, { ...entry.attrs, managed });
        ids.set(entry.id as string, entry.attrs.slug as string);
      } else if (entry.model.startsWith('authentik_policies_')) {
        ids.set(entry.id as string, entry.attrs.name as string);
      } else if (entry.model.startsWith('authentik_stages_')) {
        const { name, ...attrs } = entry.attrs;
        const config = Array.isArray(attrs.validation_policies)
          ? { ...attrs, validation_policies: attrs.validation_policies.map((v) => ids.get((v as KeyOf).id)) }
          : attrs;
        const type = entry.model.slice('authentik_stages_'.length, entry.model.indexOf('.'));
        stages.set(name as string, { name, type, config, managed });
        ids.set(entry.id as string, name as string);
      } else {
        assert.equal(entry.model, 'authentik_flows.flowstagebinding');
        const at = (v: unknown) => ids.get((v as KeyOf).id) as string;
        bindings.push({ flow: at(entry.identifiers.target), stage: at(entry.identifiers.stage), order: entry.attrs.order as number });
      }
    }
  }
  return { flows, stages, bindings };
}

let core: TestCore;

describe('default flows as blueprints', () => {
  before(async () => {
    core = await createTestCore();
  });
  after(() => core?.close());

  test('a fresh database gets exactly the flows, stages and bindings of the default blueprints, each file an applied instance', async () => {
    const db = core.deps.db;
    const now = await snapshot(db);
    const yaml = described();
    assert.deepEqual(now.flows.map((f) => f.slug), Object.keys(DEFAULT_FLOWS).sort(), 'Authentik\'s slugs, nothing else');
    for (const flow of now.flows) {
      const { slug, policy_engine_mode: mode, ...rest } = flow;
      assert.deepEqual(rest, (({ slug: _s, ...r }) => r)(yaml.flows.get(slug as string) as Record<string, unknown>));
      assert.equal(mode, 'any');
      assert.equal(flow.managed, slug === 'initial-setup' ? INITIAL_SETUP_MANAGED : `goauthentik.io/flows/${slug}`);
      const stages = now.bindings.filter((b) => b.flow === slug).map((b) => b.stage);
      assert.deepEqual(stages, DEFAULT_FLOWS[slug as string], `${slug}'s stages in order`);
    }
    assert.deepEqual(now.stages, [...yaml.stages.values()].sort((a, b) => String(a.name).localeCompare(String(b.name))));
    assert.deepEqual(
      now.bindings.map(({ flow, stage, order }) => ({ flow, stage, order })),
      [...yaml.bindings].sort((a, b) => a.flow.localeCompare(b.flow) || a.order - b.order),
    );
    assert.ok(now.bindings.every((b) => b.evaluate_on_plan === false && b.re_evaluate_policies === true && b.policy_engine_mode === 'any'));
    assert.ok(await findFlowByManaged(db, INITIAL_SETUP_MANAGED), 'the planner finds initial setup by its managed key');

    const instances = (await db.query<{ path: string; status: string; last_applied_hash: string; managed_models: string[] }>(
      'SELECT path, status, last_applied_hash, managed_models FROM blueprint_instances ORDER BY path',
    )).rows;
    assert.deepEqual(instances.map((i) => i.path), files.map((f) => `default/${f}`));
    assert.ok(instances.every((i) => i.status === 'successful' && /^[0-9a-f]{64}$/.test(i.last_applied_hash)));
    assert.ok(instances[0]?.managed_models.includes('authentik_flows.flow'));
  });

  test('a second start applies nothing, and applying each file again finds every object unchanged', async () => {
    const db = core.deps.db;
    const before = await snapshot(db);
    const events = async () => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM events')).rows[0]?.n;
    const eventsBefore = await events();
    assert.equal(await ensureDefaultFlows(core.deps), 0);
    assert.equal(await events(), eventsBefore, 'an unchanged default writes nothing, not even an event');
    for (const text of texts) {
      const outcome = await applyBlueprint(core.deps, SYSTEM_CONTEXT, text);
      assert.deepEqual([...new Set(outcome.changes.map((c) => c.action))], ['unchanged']);
      assert.deepEqual(outcome.warnings, []);
    }
    assert.deepEqual(await snapshot(db), before);
  });

  test('an export of the defaults rebuilds the same flows on an empty database, and exports the same again', async () => {
    const exported = await exportBlueprint(core.deps);
    assert.match(exported, /managed: goauthentik\.io\/flows\/default-authentication-flow/);
    const empty = await createTestCore({}, { withDefaultFlows: false });
    try {
      assert.deepEqual((await snapshot(empty.deps.db)).flows, []);
      const outcome = await applyBlueprint(empty.deps, SYSTEM_CONTEXT, exported);
      assert.ok(outcome.changes.every((c) => c.action === 'create'));
      assert.deepEqual(await snapshot(empty.deps.db), await snapshot(core.deps.db));
      assert.equal(await exportBlueprint(empty.deps), exported);
      // The rebuilt database's defaults are found by their managed keys: its first start adopts them.
      assert.equal(await ensureDefaultFlows(empty.deps), files.length);
      assert.deepEqual(await snapshot(empty.deps.db), await snapshot(core.deps.db));
    } finally {
      await empty.close();
    }
    const again = await applyBlueprint(core.deps, SYSTEM_CONTEXT, exported);
    assert.ok(again.changes.every((c) => c.action === 'unchanged'));
  });

  test('an admin\'s edits to a default flow survive a new version of its blueprint', async () => {
    const { deps } = core;
    await updateFlow(deps, SYSTEM_CONTEXT, 'default-authentication-flow', { slug: 'family-login', title: 'Hello, family' });
    const password = (await deps.db.query<{ id: string }>("SELECT id FROM stages WHERE name = 'default-authentication-password'")).rows[0]?.id as string;
    await updateStage(deps, SYSTEM_CONTEXT, 'password', password, { config: { failed_attempts_before_cancel: 3 }, isReplacing: false });
    const edited = await snapshot(deps.db);
    // A new Gatehouse version whose default blueprints differ: each is applied again.
    await deps.db.query("UPDATE blueprint_instances SET last_applied_hash = 'older-version'");
    assert.equal(await ensureDefaultFlows(deps), files.length);
    assert.deepEqual(await snapshot(deps.db), edited, 'found by managed key, not re-created under its old slug, not overwritten');
  });

  test('a database from before blueprint instances keeps its default flows as the admin left them', async () => {
    const { deps } = core;
    const mfa = (await deps.db.query<{ id: string }>(
      `SELECT b.id FROM flow_stage_bindings b JOIN stages s ON s.id = b.stage_id WHERE s.name = 'default-authentication-mfa-validation'`,
    )).rows[0]?.id as string;
    await deleteBinding(deps, SYSTEM_CONTEXT, mfa);
    await deps.db.query('DELETE FROM blueprint_instances');
    const edited = await snapshot(deps.db);
    assert.equal(await ensureDefaultFlows(deps), files.length);
    assert.deepEqual(await snapshot(deps.db), edited, 'the binding the admin removed is not added back');
    const statuses = (await deps.db.query<{ status: string }>('SELECT status FROM blueprint_instances')).rows.map((r) => r.status);
    assert.deepEqual([...new Set(statuses)], ['successful']);
    assert.equal(statuses.length, files.length);
    assert.equal(await ensureDefaultFlows(deps), 0);
  });
});
