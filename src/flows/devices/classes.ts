import type { UserRow } from '../../store/users.ts';
import type { StageContext } from '../stage.ts';

export type DeviceClass = 'totp' | 'static' | 'webauthn';

/** One entry of the validation challenge's device_challenges (Authentik's shape). */
export interface DeviceChallenge {
  device_class: DeviceClass;
  device_uid: string;
  challenge: Record<string, unknown>;
  last_used: string | null;
}

/**
 * What authenticator_validate needs from each kind of device: the challenges to offer for a
 * user's devices, and a verdict on an answer meant for this class (null when the answer is not
 * for this class at all).
 */
export interface DeviceClassHandler {
  deviceClass: DeviceClass;
  challengesFor(ctx: StageContext, user: UserRow): Promise<DeviceChallenge[]>;
  verify(ctx: StageContext, user: UserRow, answer: Record<string, unknown>): Promise<boolean | null>;
}
