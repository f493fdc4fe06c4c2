import { randomBytes } from 'node:crypto';
import type { Queryable } from '../store/db.ts';
import { consumeFlowToken, deleteFlowTokensOfUser, type FlowTokenPurpose, type FlowTokenRow, insertFlowToken } from '../store/flowTokens.ts';
import type { CoreDeps } from './context.ts';
import { sha256 } from './crypto.ts';

// The key in an emailed link (?flow_token=…). Only its SHA-256 is stored; a new link for the same
// user and flow replaces the old one, and using it deletes it.

export const FLOW_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export async function issueFlowToken(
  deps: Pick<CoreDeps, 'db' | 'now'>,
  token: { userId: number; flowSlug: string; purpose: FlowTokenPurpose; validMinutes: number },
): Promise<{ key: string; expires: Date }> {
  const key = randomBytes(32).toString('base64url');
  const expires = new Date(deps.now().getTime() + token.validMinutes * 60_000);
  await deps.db.transaction(async (tx) => {
    await deleteFlowTokensOfUser(tx, token.userId, token.flowSlug);
    await insertFlowToken(tx, { keyHash: sha256(key), userId: token.userId, flowSlug: token.flowSlug, purpose: token.purpose, expires });
  });
  return { key, expires };
}

export function redeemFlowToken(db: Queryable, key: string, flowSlug: string): Promise<FlowTokenRow | null> {
  if (!FLOW_TOKEN_PATTERN.test(key)) return Promise.resolve(null);
  return consumeFlowToken(db, sha256(key), flowSlug);
}

export const flowTokenFingerprint = (key: string): string => sha256(key).toString('hex').slice(0, 32);
