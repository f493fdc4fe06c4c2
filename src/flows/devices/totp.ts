import type { CoreDeps } from '../../core/context.ts';
import { claimTotpTimeStep, listTotpDevicesOfUser, type TotpDeviceRow } from '../../store/devices.ts';

// RFC 6238 defaults, which every authenticator app understands: 6 digits, 30 s, SHA-1.
export const TOTP_DEFAULTS = { digits: 6, period: 30, algorithm: 'sha1' } as const;
// One step either side of now (clock drift and typing time).
const TOLERANCE_SECONDS = 30;

// otplib loads with the first enrollment or TOTP code, not with every server.
const otplib = () => import('otplib');

export const newTotpSecret = async (): Promise<string> => (await otplib()).generateSecret();

export async function totpConfigUrl(secret: string, issuer: string, account: string): Promise<string> {
  return (await otplib()).generateURI({ issuer, label: account, secret, ...TOTP_DEFAULTS, algorithm: 'sha1' });
}

/**
 * The time step a code belongs to, or null when it is not valid at `now` (±1 step). `now` is the
 * server's clock (deps.now), not otplib's own Date.now, so one clock governs codes and expiry.
 */
export async function timeStepOfCode(secret: string, code: string, now: Date): Promise<number | null> {
  if (!/^\d{6}$/.test(code)) return null;
  const { verify } = await otplib();
  const result = await verify({
    secret,
    token: code,
    epoch: Math.floor(now.getTime() / 1000),
    epochTolerance: TOLERANCE_SECONDS,
  });
  // otplib's TOTP result carries timeStep; its exported type is the HOTP/TOTP union.
  const timeStep = result.valid ? (result as { timeStep?: unknown }).timeStep : null;
  return typeof timeStep === 'number' ? timeStep : null;
}

/**
 * Checks a code against the user's TOTP devices. A code is accepted once: its time step must be
 * newer than the device's last accepted one, claimed atomically in the database. The first device
 * the code belongs to decides — a spent code is a replay and is not tried on the next device,
 * which may hold the same secret (two devices made from one enrollment answered twice at once
 * would otherwise accept every code twice).
 */
export async function verifyTotpOfUser(deps: CoreDeps, userId: number, code: string): Promise<TotpDeviceRow | null> {
  const box = deps.totpBox;
  for (const device of await listTotpDevicesOfUser(deps.db, userId)) {
    const step = await timeStepOfCode(box.open(device.secret_encrypted), code, deps.now());
    if (step === null) continue;
    // Newer than the last accepted step, also after the clock stepped back past it (then none is).
    return step > Number(device.last_time_step) && (await claimTotpTimeStep(deps.db, device.id, step)) ? device : null;
  }
  return null;
}
