import { NotFound } from '../errors.ts';
import {
  type DeviceKind,
  deleteDevice,
  findDeviceOfUserForUpdate,
  listStaticDevicesOfUser,
  listTotpDevicesOfUser,
  listWebauthnDevicesOfUser,
  renameDevice,
} from '../store/devices.ts';
import { findUserById } from '../store/users.ts';
import { queueMfaNotice } from '../worker/notices.ts';
import type { CoreDeps, RequestContext } from './context.ts';
import { type ModelRef, recordEvent } from './events.ts';

export type { DeviceKind };
export const DEVICE_KINDS = ['totp', 'webauthn', 'static'] as const satisfies readonly DeviceKind[];

/** A user's authenticator of any kind, as the user area and /authenticators/all/ show it. */
export interface UserDevice {
  kind: DeviceKind;
  id: number;
  name: string;
  createdAt: Date;
  lastUsed: Date | null;
  /** Recovery codes left (static devices only). */
  remaining: number | null;
  /** WebAuthn: 'multiDevice' for a synced passkey, 'singleDevice' for a hardware key. */
  webauthnType: string | null;
}

const DEVICE_LABEL: Record<DeviceKind, string> = { totp: 'authenticator app', webauthn: 'passkey', static: 'recovery codes' };

const MODEL_NAME: Record<DeviceKind, ModelRef['model_name']> = {
  totp: 'totp_device',
  webauthn: 'webauthn_device',
  static: 'static_device',
};

export async function listDevicesOfUser(deps: Pick<CoreDeps, 'db'>, userId: number): Promise<UserDevice[]> {
  const [totp, webauthn, statics] = await Promise.all([
    listTotpDevicesOfUser(deps.db, userId),
    listWebauthnDevicesOfUser(deps.db, userId),
    listStaticDevicesOfUser(deps.db, userId),
  ]);
  const base = { remaining: null, webauthnType: null };
  return [
    ...totp.map((d) => ({ ...base, kind: 'totp' as const, id: d.id, name: d.name, createdAt: d.created_at, lastUsed: d.last_used })),
    ...webauthn.map((d) => ({
      ...base,
      kind: 'webauthn' as const,
      id: d.id,
      name: d.name,
      createdAt: d.created_at,
      lastUsed: d.last_used,
      webauthnType: d.device_type,
    })),
    ...statics.map((d) => ({
      ...base,
      kind: 'static' as const,
      id: d.id,
      name: d.name,
      createdAt: d.created_at,
      lastUsed: d.last_used,
      remaining: d.remaining,
    })),
  ];
}

/** Renames one of the user's own devices; another user's device is NotFound, as if it did not exist. */
export function renameDeviceOfUser(
  deps: CoreDeps,
  ctx: RequestContext,
  device: { kind: DeviceKind; id: number; userId: number },
  name: string,
): Promise<void> {
  return deps.db.transaction(async (tx) => {
    const found = await findDeviceOfUserForUpdate(tx, device.kind, device.userId, device.id);
    if (!found) throw new NotFound('No such device.');
    await renameDevice(tx, device.kind, device.userId, device.id, name);
    await recordEvent(tx, deps, ctx, 'model_updated', {
      model: { model_name: MODEL_NAME[device.kind], pk: found.id, name },
      context: { changed: ['name'], previous_name: found.name },
    });
  });
}

/** Removes one of the user's own devices (a static device takes its remaining codes with it). */
export function removeDeviceOfUser(deps: CoreDeps, ctx: RequestContext, device: { kind: DeviceKind; id: number; userId: number }): Promise<void> {
  return deps.db.transaction(async (tx) => {
    const found = await findDeviceOfUserForUpdate(tx, device.kind, device.userId, device.id);
    if (!found) throw new NotFound('No such device.');
    await deleteDevice(tx, device.kind, device.userId, device.id);
    await recordEvent(tx, deps, ctx, 'model_deleted', { model: { model_name: MODEL_NAME[device.kind], pk: found.id, name: found.name } });
    const owner = await findUserById(tx, device.userId);
    if (owner) await queueMfaNotice(deps, owner, { action: 'removed', deviceType: DEVICE_LABEL[device.kind], deviceName: found.name }, tx);
  });
}
