import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';
import type { Queryable } from '../../src/store/db.ts';
import { insertWebauthnDevice } from '../../src/store/devices.ts';

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest();

// WebAuthn §6.1 authenticator data flags.
const USER_PRESENT = 0x01;
const USER_VERIFIED = 0x04;
const ATTESTED_CREDENTIAL_DATA = 0x40;

export interface AttestationOptions {
  origin: string;
  rpId?: string;
  isUserVerified?: boolean;
}

export interface AssertionOptions {
  origin: string;
  rpId?: string;
  isUserVerified?: boolean;
  /** The signature counter to report (default: one more than the last). */
  counter?: number;
  /** The user handle to report (default: the passkey's own; null: none). */
  userHandle?: string | null;
}

/**
 * A discoverable ES256 credential in software, for tests that answer the JSON executor without a
 * browser: it signs assertions exactly as an authenticator would (WebAuthn §6.3.3, §7.2), so the
 * server's checks run unchanged against it.
 */
export class SoftPasskey {
  readonly credentialId = randomBytes(16).toString('base64url');
  readonly publicKeyCose: Buffer;
  private readonly privateKey: KeyObject;
  private counter = 0;
  /** Base64url, as registration set it (the user's uuid as 16 bytes). */
  readonly userHandle: string;

  constructor(userHandle: string) {
    this.userHandle = userHandle;
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.privateKey = privateKey;
    const jwk = publicKey.export({ format: 'jwk' });
    // COSE_Key (RFC 9053): kty EC2 (2), alg ES256 (-7), crv P-256 (1), x, y.
    const key = new Map<number, number | Uint8Array>([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, Buffer.from(jwk.x ?? '', 'base64url')],
      [-3, Buffer.from(jwk.y ?? '', 'base64url')],
    ]);
    this.publicKeyCose = Buffer.from(isoCBOR.encode(key));
  }

  static forUserUuid(uuid: string): SoftPasskey {
    return new SoftPasskey(Buffer.from(uuid.replace(/-/g, ''), 'hex').toString('base64url'));
  }

  /** Stores this credential as the user's passkey, as the WebAuthn setup stage would. */
  async register(db: Queryable, userId: number): Promise<number> {
    const device = await insertWebauthnDevice(db, {
      userId,
      name: 'Soft passkey',
      credentialId: this.credentialId,
      publicKey: this.publicKeyCose,
      signCount: 0,
      transports: ['internal'],
      aaguid: '00000000-0000-0000-0000-000000000000',
      deviceType: 'multiDevice',
      isBackedUp: false,
    });
    return device.id;
  }

  /** navigator.credentials.get()'s JSON for a request with this challenge. */
  assertion(challenge: string, options: AssertionOptions): Record<string, unknown> {
    this.counter = options.counter ?? this.counter + 1;
    const flags = USER_PRESENT | (options.isUserVerified === false ? 0 : USER_VERIFIED);
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(this.counter);
    const authenticatorData = Buffer.concat([sha256(options.rpId ?? 'localhost'), Buffer.from([flags]), counter]);
    const clientDataJSON = Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge, origin: options.origin, crossOrigin: false }));
    const signature = sign('sha256', Buffer.concat([authenticatorData, sha256(clientDataJSON)]), this.privateKey);
    const userHandle = options.userHandle === undefined ? this.userHandle : options.userHandle;
    return {
      id: this.credentialId,
      rawId: this.credentialId,
      type: 'public-key',
      response: {
        clientDataJSON: clientDataJSON.toString('base64url'),
        authenticatorData: authenticatorData.toString('base64url'),
        signature: signature.toString('base64url'),
        ...(userHandle === null ? {} : { userHandle }),
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  /** navigator.credentials.create()'s JSON for creation options with this challenge ('none' attestation, WebAuthn §8.7). */
  attestation(challenge: string, options: AttestationOptions): Record<string, unknown> {
    const flags = USER_PRESENT | ATTESTED_CREDENTIAL_DATA | (options.isUserVerified === false ? 0 : USER_VERIFIED);
    const credentialId = Buffer.from(this.credentialId, 'base64url');
    const length = Buffer.alloc(2);
    length.writeUInt16BE(credentialId.length);
    // §6.1: rpIdHash, flags, counter 0, then attested credential data (§6.5.1): a zero AAGUID, the id's length, the id, the COSE key.
    const authData = Buffer.concat([
      sha256(options.rpId ?? 'localhost'),
      Buffer.from([flags]),
      Buffer.alloc(4),
      Buffer.alloc(16),
      length,
      credentialId,
      this.publicKeyCose,
    ]);
    const attestationObject = isoCBOR.encode(new Map<string, unknown>([['fmt', 'none'], ['attStmt', new Map()], ['authData', authData]]) as never);
    const clientDataJSON = Buffer.from(JSON.stringify({ type: 'webauthn.create', challenge, origin: options.origin, crossOrigin: false }));
    return {
      id: this.credentialId,
      rawId: this.credentialId,
      type: 'public-key',
      response: {
        clientDataJSON: clientDataJSON.toString('base64url'),
        attestationObject: Buffer.from(attestationObject).toString('base64url'),
        transports: ['internal'],
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }
}
