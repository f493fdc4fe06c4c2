import { generateKeyPair, type JsonWebKey, randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import type { CoreDeps } from '../../core/context.ts';
import { withAdvisoryLock } from '../../store/locks.ts';
import { insertSigningKey, listUsableSigningKeys, type SigningAlgorithm } from '../../store/signingKeys.ts';

export type { SigningAlgorithm };

// Advisory lock key for creating the first signing keys ('gatk').
const SIGNING_KEYS_LOCK = 0x6761_746b;

export const SIGNING_ALGORITHMS: readonly SigningAlgorithm[] = ['RS256', 'ES256'];

export interface SigningKey {
  kid: string;
  algorithm: SigningAlgorithm;
  signsFrom: Date;
  /** Private JWK with kid/alg/use set, ready for oidc-provider's `jwks`. */
  privateJwk: JsonWebKey & { kid: string; alg: string; use: 'sig' };
}

const generate = promisify(generateKeyPair);

async function newKeyPair(algorithm: SigningAlgorithm): Promise<{ privateJwk: JsonWebKey; publicJwk: JsonWebKey }> {
  const { privateKey, publicKey } =
    algorithm === 'RS256' ? await generate('rsa', { modulusLength: 2048 }) : await generate('ec', { namedCurve: 'P-256' });
  return { privateJwk: privateKey.export({ format: 'jwk' }), publicJwk: publicKey.export({ format: 'jwk' }) };
}

/**
 * The keys that may appear in JWKS: not expired and not retired, newest first. oidc-provider signs
 * with the first key of the keystore matching the algorithm, so the order gives "the newest
 * key whose signs_from has come signs"; keys whose signs_from is in the future are left out of
 * the keystore for now (they are published once their time comes — full rotation scheduling,
 * i.e. pre-publishing a future key and retiring old ones, is not done yet).
 */
export async function loadSigningKeys(deps: Pick<CoreDeps, 'db' | 'signingKeyBox' | 'now'>): Promise<SigningKey[]> {
  const rows = await listUsableSigningKeys(deps.db, deps.now());
  return rows.map((row) => ({
    kid: row.kid,
    algorithm: row.algorithm,
    signsFrom: row.signs_from,
    privateJwk: { ...(JSON.parse(deps.signingKeyBox.open(row.private_jwk_encrypted)) as JsonWebKey), kid: row.kid, alg: row.algorithm, use: 'sig' },
  }));
}

/** Creates the first key of each algorithm when none usable exists (once, under a lock). */
export async function ensureSigningKeys(deps: Pick<CoreDeps, 'db' | 'signingKeyBox' | 'now'>): Promise<SigningKey[]> {
  let keys = await loadSigningKeys(deps);
  const missing = SIGNING_ALGORITHMS.filter((alg) => !keys.some((key) => key.algorithm === alg));
  if (missing.length === 0) return keys;
  await withAdvisoryLock(deps.db, SIGNING_KEYS_LOCK, async () => {
    const rows = await listUsableSigningKeys(deps.db, deps.now());
    for (const algorithm of missing) {
      if (rows.some((row) => row.algorithm === algorithm)) continue;
      const { privateJwk, publicJwk } = await newKeyPair(algorithm);
      const kid = randomUUID();
      await insertSigningKey(deps.db, {
        kid,
        algorithm,
        privateJwkEncrypted: deps.signingKeyBox.seal(JSON.stringify(privateJwk)),
        publicJwk: { ...publicJwk, kid, alg: algorithm, use: 'sig' },
        signsFrom: deps.now(),
      });
    }
  });
  keys = await loadSigningKeys(deps);
  return keys;
}
