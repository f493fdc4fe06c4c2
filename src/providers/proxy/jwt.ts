import { createPrivateKey, createPublicKey, type KeyObject, sign } from 'node:crypto';
import type { CoreDeps } from '../../core/context.ts';
import { ensureSigningKeys, type SigningKey } from '../oauth2/keys.ts';

/*
 * X-authentik-jwt: what Authentik's proxy passes to the app — an ID-token-shaped JWT about the
 * user, signed with the same keys as the OIDC tokens (RS256), so an app can verify it against
 * `/application/o/<slug>/jwks/` (the key set is Gatehouse-wide). It is signed when a user's
 * answer is computed (at most once a minute per user and app), never per request, and kept small:
 * Nginx's default buffer for an auth answer's headers is 4 KiB.
 */
const KEYS_MEMO_MS = 5 * 60_000;
export const JWT_SECONDS = 5 * 60;

interface Signer {
  kid: string;
  key: KeyObject;
}

let memo: { signer: Signer; expires: number } | null = null;

async function currentSigner(deps: CoreDeps): Promise<Signer> {
  if (memo && memo.expires > Date.now()) return memo.signer;
  const keys: SigningKey[] = await ensureSigningKeys(deps);
  const key = keys.find((k) => k.algorithm === 'RS256' && k.isSigner);
  if (!key) throw new Error('no RS256 signing key');
  const signer = { kid: key.kid, key: createPrivateKey({ key: key.privateJwk as never, format: 'jwk' }) };
  memo = { signer, expires: Date.now() + KEYS_MEMO_MS };
  return signer;
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

export async function signUserJwt(deps: CoreDeps, claims: Record<string, unknown>): Promise<string> {
  const signer = await currentSigner(deps);
  const now = Math.floor(deps.now().getTime() / 1000);
  const header = base64url({ alg: 'RS256', kid: signer.kid, typ: 'JWT' });
  const payload = base64url({ ...claims, iat: now, exp: now + JWT_SECONDS });
  const signature = sign('sha256', Buffer.from(`${header}.${payload}`), signer.key).toString('base64url');
  return `${header}.${payload}.${signature}`;
}

/** The public half of every published key: a JWKS for apps that verify X-authentik-jwt. */
export async function publicKeySet(deps: CoreDeps): Promise<{ keys: Array<Record<string, unknown>> }> {
  const keys = await ensureSigningKeys(deps);
  return {
    keys: keys.map((k) => ({
      ...(createPublicKey(createPrivateKey({ key: k.privateJwk as never, format: 'jwk' })).export({ format: 'jwk' }) as Record<string, unknown>),
      kid: k.kid,
      alg: k.algorithm,
      use: 'sig',
    })),
  };
}
