import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { TestApp } from '../support/app.ts';

/** An example blueprint from blueprints/examples/, as a user would copy it. */
export const example = (name: string): string => readFileSync(new URL(`../../blueprints/examples/${name}.yaml`, import.meta.url), 'utf8');

/** Loads a blueprint through the API, as an admin would; returns its changes. */
export async function loadThroughApi(t: TestApp, content: string): Promise<Array<{ model: string; action: string }>> {
  const res = await t.api('POST', '/api/v3/managed/blueprints/apply/', { content });
  assert.equal(res.statusCode, 200, res.body);
  return res.json().changes;
}

/** Puts a user in a group the blueprint made, through the API. */
export async function joinGroup(t: TestApp, groupName: string, userId: number): Promise<void> {
  const group = (await t.api('GET', `/api/v3/core/groups/?name=${encodeURIComponent(groupName)}`)).json().results[0];
  assert.ok(group, `group ${groupName}`);
  assert.equal((await t.api('POST', `/api/v3/core/groups/${group.pk}/add_user/`, { pk: userId })).statusCode, 204);
}

/** The client secret an example falls back to when its !Env variable is unset. */
export const fallbackSecret = (text: string): string => {
  const found = /client_secret: !Env \[[A-Z_]+, ([^\]]+)\]/.exec(text)?.[1];
  assert.ok(found, 'the example has a client secret');
  return found;
};
