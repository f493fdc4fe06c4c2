import { generateKeyPair, type JsonWebKey, randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import type { CoreDeps } from '../../core/context.ts';
import { withAdvisoryLock } from '../../store/locks.ts';
import { insertSigningKey, listPublishedSigningKeys, type SigningAlgorithm, type SigningKeyRow } from '../../store/signingKeys.ts';

export type { SigningAlgorithm };

// Advisory lock key for creating signing keys ('gatk').
export const SIGNING_KEYS_LOCK = 0x6761_746b;

export const SIGNING_ALGORITHMS: readonly SigningAlgorithm[] = ['RS256', 'ES256'];

export interface SigningKey {
  kid: string;
  algorithm: SigningAlgorithm;
  signsFrom: Date;
  /** The one key of its algorithm that signs now; the others are only published. */
  isSigner: boolean;
  /** Private JWK with kid/alg set, ready for oidc-provider's `jwks`. */
  privateJwk: JsonWebKey & { kid: string; alg: string };
}

type KeyDeps = Pick<CoreDeps, 'db' | 'signingKeyBox' | 'now'>;

const generate = promisify(generateKeyPair);

async function newKeyPair(algorithm: SigningAlgorithm): Promise<{ privateJwk: JsonWebKey; publicJwk: JsonWebKey }> {
  const { privateKey, publicKey } =
    algorithm === 'RS256' ? await generate('rsa', { modulusLength: 2048 }) : await generate('ec', { namedCurve: 'P-256' });
  return { privateJwk: privateKey.export({ format: 'jwk' }), publicJwk: publicKey.export({ format: 'jwk' }) };
}

/** Stores a new key pair (private part sealed) that signs from `signsFrom` on. */
export async function createSigningKey(deps: KeyDeps, algorithm: SigningAlgorithm, signsFrom: Date): Promise<string> {
  const { privateJwk, publicJwk } = await newKeyPair(algorithm);
  const kid = randomUUID();
  await insertSigningKey(deps.db, {
    kid,
    algorithm,
    privateJwkEncrypted: deps.signingKeyBox.seal(JSON.stringify(privateJwk)),
    publicJwk: { ...publicJwk, kid, alg: algorithm, use: 'sig' },
    signsFrom,
  });
  return kid;
}

const isRetired = (row: SigningKeyRow, now: Date) => row.retired_at !== null && row.retired_at <= now;

/**
 * Every published key (see listPublishedSigningKeys), each marked whether it is the signer of
 * its algorithm: the newest key whose signs_from has come and that is not retired.
 */
export async function loadSigningKeys(deps: KeyDeps): Promise<SigningKey[]> {
  const now = deps.now();
  const rows = await listPublishedSigningKeys(deps.db, now);
  const signers = new Set<string>();
  for (const algorithm of SIGNING_ALGORITHMS) {
    const signer = rows.find((row) => row.algorithm === algorithm && row.signs_from <= now && !isRetired(row, now));
    if (signer) signers.add(signer.kid);
  }
  return rows.map((row) => ({
    kid: row.kid,
    algorithm: row.algorithm,
    signsFrom: row.signs_from,
    isSigner: signers.has(row.kid),
    privateJwk: { ...(JSON.parse(deps.signingKeyBox.open(row.private_jwk_encrypted)) as JsonWebKey), kid: row.kid, alg: row.algorithm },
  }));
}

/**
 * The keystore for oidc-provider. It signs with the first key matching the algorithm that
 * allows "sign", so the signer carries use=sig and every other published key (the next one,
 * retired ones) carries key_ops=["verify"] (RFC 7517 §4.3): in JWKS for verifiers, never
 * chosen to sign.
 */
export function keystoreOf(keys: SigningKey[]): { keys: Array<Record<string, unknown>> } {
  return {
    keys: [...keys]
      .sort((a, b) => Number(b.isSigner) - Number(a.isSigner))
      .map((key) => (key.isSigner ? { ...key.privateJwk, use: 'sig' } : { ...key.privateJwk, key_ops: ['verify'] })),
  };
}

/** When the published key set changes next by itself: the earliest future signs_from. */
export function nextKeyChange(keys: SigningKey[], now: Date): number {
  const future = keys.map((key) => key.signsFrom.getTime()).filter((time) => time > now.getTime());
  return future.length > 0 ? Math.min(...future) : Number.POSITIVE_INFINITY;
}

/** Creates the first key of each algorithm that has no signer (once, under a lock). */
export async function ensureSigningKeys(deps: KeyDeps): Promise<SigningKey[]> {
  const keys = await loadSigningKeys(deps);
  const missing = SIGNING_ALGORITHMS.filter((alg) => !keys.some((key) => key.algorithm === alg && key.isSigner));
  if (missing.length === 0) return keys;
  await withAdvisoryLock(deps.db, SIGNING_KEYS_LOCK, async () => {
    const current = await loadSigningKeys(deps);
    for (const algorithm of missing) {
      if (current.some((key) => key.algorithm === algorithm && key.isSigner)) continue;
      await createSigningKey(deps, algorithm, deps.now());
    }
  });
  return loadSigningKeys(deps);
}
