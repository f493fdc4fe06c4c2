import type { PublicKeyCredentialCreationOptionsJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { z } from 'zod';
import { queueMfaNotice } from '../../worker/notices.ts';
import { findWebauthnDeviceByCredentialId, insertWebauthnDevice, listWebauthnDevicesOfUser } from '../../store/devices.ts';
import type { UserRow } from '../../store/users.ts';
import { fieldError } from '../challenge.ts';
import { base64url, credentialJsonOf, isChallengeFresh, userHandleOf, webauthnLibrary } from '../devices/webauthn.ts';
import type { InteractiveStage, StageContext } from '../stage.ts';

// Authentik's AuthenticatorWebAuthnStage settings, with its names and values.
const config = z.strictObject({
  user_verification: z.enum(['required', 'preferred', 'discouraged']).default('preferred'),
  resident_key_requirement: z.enum(['discouraged', 'preferred', 'required']).default('preferred'),
  authenticator_attachment: z.enum(['platform', 'cross-platform']).nullable().default(null),
  friendly_name: z.string().min(1).max(100).default('Passkey'),
});
type Config = z.infer<typeof config>;

// navigator.credentials.create()'s toJSON() (WebAuthn L3 §5.1.11), checked before the library sees it.
const attestationJson = z.looseObject({
  id: base64url,
  rawId: base64url,
  type: z.literal('public-key'),
  response: z.looseObject({
    clientDataJSON: base64url,
    attestationObject: base64url,
    transports: z.array(z.string().max(32)).max(10).optional(),
  }),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
});

// EdDSA, ES256 and RS256 cover every authenticator in use. The library would add ML-DSA-44 where
// the runtime has it, but Node's ML-DSA is still experimental (and warns on the first call).
// COSE algorithm identifiers (IANA registry, the library's COSEALG): EdDSA -8, ES256 -7, RS256 -257.
const SUPPORTED_ALGORITHMS = [-8, -7, -257];

type RegistrationScratch = {
  registration?: { options: PublicKeyCredentialCreationOptionsJSON; issuedAt: number };
};

const invalidResponse = (message: string) => ({ kind: 'invalid' as const, errors: fieldError('response', message) });

// The user handle is the user's uuid as 16 bytes: stable, and not the username (which may change).
const userHandleBytesOf = (user: UserRow) => new Uint8Array(Buffer.from(userHandleOf(user), 'base64url'));

/**
 * The creation options for this flow, made once (the answer must be for the challenge shown) and
 * again once stale: WebAuthn §13.4.3, a challenge is good for a limited time.
 */
async function registrationOptionsFor(ctx: StageContext<Config>, user: UserRow): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const scratch = ctx.scratch<RegistrationScratch>();
  if (scratch.registration && isChallengeFresh(ctx, scratch.registration.issuedAt)) return scratch.registration.options;
  const existing = await listWebauthnDevicesOfUser(ctx.deps.db, user.id);
  const { generateRegistrationOptions } = await webauthnLibrary();
  const options = await generateRegistrationOptions({
    rpName: ctx.request.brandTitle ?? 'Gatehouse',
    rpID: ctx.request.hostname,
    userName: user.username,
    userDisplayName: user.name || user.username,
    userID: userHandleBytesOf(user),
    attestationType: 'none',
    supportedAlgorithmIDs: SUPPORTED_ALGORITHMS,
    // The same authenticator twice would add nothing: the browser refuses those it already holds.
    excludeCredentials: existing.map((d) => ({ id: d.credential_id, transports: d.transports })),
    authenticatorSelection: {
      residentKey: ctx.config.resident_key_requirement,
      requireResidentKey: ctx.config.resident_key_requirement === 'required',
      userVerification: ctx.config.user_verification,
      ...(ctx.config.authenticator_attachment ? { authenticatorAttachment: ctx.config.authenticator_attachment } : {}),
    },
  });
  scratch.registration = { options, issuedAt: ctx.deps.now().getTime() };
  return options;
}

/**
 * authenticator_webauthn: registers a passkey or security key. The challenge carries the creation
 * options (`registration`); the answer is the new credential's JSON (`response`).
 */
export const authenticatorWebauthnStage: InteractiveStage<Config> = {
  type: 'authenticator_webauthn',
  component: 'ak-stage-authenticator-webauthn',
  configSchema: config,
  async settleWithoutInput(ctx) {
    return (await ctx.pendingUser()) ? null : { kind: 'deny', message: 'Sign in before adding a passkey.' };
  },
  async challenge(ctx) {
    const user = await ctx.pendingUser();
    // settleWithoutInput has denied a flow without a user; never make options for nobody.
    if (!user) return { registration: null, pending_user: '' };
    return { registration: await registrationOptionsFor(ctx, user), pending_user: user.username };
  },
  async submit(ctx, body) {
    const user = await ctx.pendingUser();
    const pending = ctx.scratch<RegistrationScratch>().registration;
    if (!user || !pending) return { kind: 'deny', message: 'Sign in before adding a passkey.' };
    // Only the page shown again replaces a stale challenge; an answer posted long after it must not pass.
    if (!isChallengeFresh(ctx, pending.issuedAt)) return invalidResponse('This request has expired; register your passkey again.');
    const expected = pending.options;
    const parsed = attestationJson.safeParse(credentialJsonOf(body.response));
    if (!parsed.success) return invalidResponse('The browser did not send a passkey; try again.');
    const response = parsed.data as unknown as RegistrationResponseJSON;
    const { verifyRegistrationResponse } = await webauthnLibrary();
    let verification: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
    try {
      verification = await verifyRegistrationResponse({
        response,
        expectedChallenge: expected.challenge,
        expectedOrigin: ctx.request.origin,
        expectedRPID: ctx.request.hostname,
        requireUserVerification: ctx.config.user_verification === 'required',
        supportedAlgorithmIDs: SUPPORTED_ALGORITHMS,
      });
    } catch {
      // Another challenge, origin or RP id, or an attestation that does not parse.
      return invalidResponse('This passkey could not be verified; try again.');
    }
    if (!verification.verified) return invalidResponse('This passkey could not be verified; try again.');
    const info = verification.registrationInfo;
    const isRegistered = () => findWebauthnDeviceByCredentialId(ctx.deps.db, info.credential.id);
    if (await isRegistered()) return invalidResponse('This passkey is already registered.');
    const device = await ctx.deps.db
      .transaction(async (tx) => {
        const inserted = await insertWebauthnDevice(tx, {
          userId: user.id,
          name: ctx.config.friendly_name,
          credentialId: info.credential.id,
          publicKey: Buffer.from(info.credential.publicKey),
          signCount: info.credential.counter,
          transports: info.credential.transports ?? response.response.transports ?? [],
          aaguid: info.aaguid,
          deviceType: info.credentialDeviceType,
          isBackedUp: info.credentialBackedUp,
        });
        await ctx.audit('model_created', { model: { model_name: 'webauthn_device', pk: inserted.id, name: inserted.name } }, tx);
        await queueMfaNotice(ctx.deps, user, { action: 'added', deviceType: 'passkey', deviceName: inserted.name }, tx);
        return inserted;
      })
      // The same response sent twice at once: the second insert meets the unique credential id.
      .catch(async (error: unknown) => {
        if (await isRegistered()) return null;
        throw error;
      });
    if (!device) return invalidResponse('This passkey is already registered.');
    ctx.userChanged?.();
    delete ctx.state.scratch[ctx.stage.id];
    ctx.state.authMethods.push('webauthn');
    return { kind: 'next' };
  },
};
