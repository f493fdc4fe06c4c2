import type { AuthenticationResponseJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import { z } from 'zod';
import {
  claimWebauthnCounter,
  findWebauthnDeviceByCredentialId,
  listWebauthnDevicesOfUser,
  type WebauthnDeviceRow,
} from '../../store/devices.ts';
import type { UserRow } from '../../store/users.ts';
import type { StageContext } from '../stage.ts';
import type { DeviceClassHandler } from './classes.ts';

/** A base64url field of a credential's JSON (ids and binary fields). */
export const base64url = z.string().min(1).max(16_384).regex(/^[A-Za-z0-9_-]+$/);

// The shape navigator.credentials.get()'s toJSON() gives (WebAuthn L3 §5.1.11); checked before
// the library sees it, so foreign input is refused as a wrong answer, never as a crash.
const assertionJson = z.looseObject({
  id: base64url,
  rawId: base64url,
  type: z.literal('public-key'),
  response: z.looseObject({
    clientDataJSON: base64url,
    authenticatorData: base64url,
    signature: base64url,
    userHandle: base64url.optional(),
  }),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
});

/**
 * A credential's JSON as the client sent it: an object from the JSON executor, or a JSON string
 * from the HTML form's hidden input. Null when it is neither.
 */
export function credentialJsonOf(value: unknown): Record<string, unknown> | null {
  let parsed = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      return null;
    }
  }
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
}

/** The assertion JSON an answer carries (object or JSON string), checked; null when it is not one. */
export function assertionOf(value: unknown): AuthenticationResponseJSON | null {
  const parsed = assertionJson.safeParse(credentialJsonOf(value));
  return parsed.success ? (parsed.data as unknown as AuthenticationResponseJSON) : null;
}

/** The user handle registration gives a user's credentials: their uuid as 16 bytes (base64url), stable and not the username. */
export const userHandleOf = (user: Pick<UserRow, 'uuid'>): string => Buffer.from(user.uuid.replace(/-/g, ''), 'hex').toString('base64url');

/** The validate stage's pending assertion challenge, kept in its scratch between challenge and answer. */
type AssertionScratch = {
  webauthnAssertion?: { userId: number; options: PublicKeyCredentialRequestOptionsJSON; issuedAt: number };
};

// WebAuthn §13.4.3: a challenge is good for a limited time. An older one is replaced (the page
// shows the new one); a used one is claimed in the cache for as long, so it cannot pass again.
export const CHALLENGE_SECONDS = 10 * 60;
/** Whether a challenge issued at `issuedAt` (ms) may still be answered. */
export const isChallengeFresh = (ctx: StageContext, issuedAt: number): boolean => ctx.deps.now().getTime() - issuedAt < CHALLENGE_SECONDS * 1000;
const spentChallengeKey = (challenge: string) => `webauthn-challenge-spent:${challenge}`;

/**
 * Claims a challenge for the one assertion it may verify. The flow state is read, changed and
 * written back whole, so two requests racing with the same assertion would both still find the
 * challenge; the cache's atomic counter lets only one through.
 */
export const claimChallenge = async (ctx: StageContext, challenge: string): Promise<boolean> =>
  (await ctx.deps.cache.increment(spentChallengeKey(challenge), CHALLENGE_SECONDS)) === 1;

/** The validation stage's webauthn_user_verification (Authentik's setting and default, 'preferred'). */
export const userVerificationOf = (ctx: StageContext): 'required' | 'preferred' | 'discouraged' =>
  (ctx.config as { webauthn_user_verification?: 'required' | 'preferred' | 'discouraged' }).webauthn_user_verification ?? 'preferred';

/**
 * @simplewebauthn/server and its ASN.1/X.509 stack (~7 MiB of resident memory) load with the
 * first WebAuthn ceremony, not with every server: most sign-ins never use one.
 */
export const webauthnLibrary = () => import('@simplewebauthn/server');

const lastUsedOf = (devices: WebauthnDeviceRow[]): string | null => {
  const times = devices.flatMap((d) => (d.last_used ? [new Date(d.last_used).getTime()] : []));
  return times.length > 0 ? new Date(Math.max(...times)).toISOString() : null;
};

/**
 * The request options for this user, made once per flow: the executor builds the challenge
 * several times per answer, and the browser must sign the same challenge the answer is checked against.
 */
async function assertionOptionsFor(ctx: StageContext, user: UserRow, devices: WebauthnDeviceRow[]) {
  const scratch = ctx.scratch<AssertionScratch>();
  const pending = scratch.webauthnAssertion;
  if (pending?.userId === user.id && isChallengeFresh(ctx, pending.issuedAt)) return pending.options;
  const { generateAuthenticationOptions } = await webauthnLibrary();
  const options = await generateAuthenticationOptions({
    rpID: ctx.request.hostname,
    allowCredentials: devices.map((d) => ({ id: d.credential_id, transports: d.transports })),
    userVerification: userVerificationOf(ctx),
  });
  scratch.webauthnAssertion = { userId: user.id, options, issuedAt: ctx.deps.now().getTime() };
  return options;
}

/** Checks the assertion against the device it names; false for anything not proven. */
async function isAssertionValid(ctx: StageContext, user: UserRow, assertion: AuthenticationResponseJSON): Promise<boolean> {
  const scratch = ctx.scratch<AssertionScratch>();
  const pending = scratch.webauthnAssertion;
  // Checked here too, not only where the challenge is shown: an answer may arrive without a page load in between.
  if (!pending || pending.userId !== user.id || !isChallengeFresh(ctx, pending.issuedAt)) return false;
  const device = await findWebauthnDeviceByCredentialId(ctx.deps.db, assertion.id);
  // A valid signature by someone else's credential proves nothing about this user.
  if (!device || device.user_id !== user.id) return false;
  // WebAuthn §7.2 step 6: the user was identified first, so a user handle the authenticator returns
  // (it is not signed) must name that same user; one naming another account is not this user's answer.
  const handle = assertion.response.userHandle;
  if (handle !== undefined && handle !== userHandleOf(user)) return false;
  const { verifyAuthenticationResponse } = await webauthnLibrary();
  let verification: Awaited<ReturnType<typeof verifyAuthenticationResponse>>;
  try {
    verification = await verifyAuthenticationResponse({
      response: assertion,
      expectedChallenge: pending.options.challenge,
      expectedOrigin: ctx.request.origin,
      expectedRPID: ctx.request.hostname,
      credential: {
        id: device.credential_id,
        publicKey: new Uint8Array(device.public_key),
        counter: Number(device.sign_count),
        transports: device.transports,
      },
      // As the stage says (Authentik: only 'required' insists); after a password, presence is the factor.
      requireUserVerification: userVerificationOf(ctx) === 'required',
    });
  } catch {
    // Wrong challenge, origin or RP id, a bad signature, or a counter that went backwards (a clone).
    return false;
  }
  if (!verification.verified) return false;
  if (!(await claimChallenge(ctx, pending.options.challenge))) return false;
  // A challenge is good for one assertion, now spent: the next try in this flow gets a new one.
  delete scratch.webauthnAssertion;
  // Another assertion of this key, verified at the same moment, may have moved the counter past this one.
  return claimWebauthnCounter(ctx.deps.db, device.id, verification.authenticationInfo.newCounter);
}

/** WebAuthn devices (passkeys, security keys) for authenticator_validate. */
export const webauthnHandler: DeviceClassHandler = {
  deviceClass: 'webauthn',
  async challengesFor(ctx, user) {
    const devices = await listWebauthnDevicesOfUser(ctx.deps.db, user.id);
    const first = devices[0];
    if (!first) return [];
    // One request for all of the user's credentials: the browser lets them pick any of them.
    return [
      {
        device_class: 'webauthn' as const,
        device_uid: String(first.id),
        challenge: { ...(await assertionOptionsFor(ctx, user, devices)) },
        last_used: lastUsedOf(devices),
      },
    ];
  },
  async verify(ctx, user, answer) {
    if (answer.webauthn === undefined) return null;
    const assertion = assertionOf(answer.webauthn);
    return assertion ? isAssertionValid(ctx, user, assertion) : false;
  },
};
