import { listStaticDevicesOfUser, listTotpDevicesOfUser } from '../../store/devices.ts';
import type { DeviceClassHandler } from './classes.ts';
import { useStaticCode } from './static.ts';
import { verifyTotpOfUser } from './totp.ts';

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

export const totpHandler: DeviceClassHandler = {
  deviceClass: 'totp',
  async challengesFor(ctx, user) {
    return (await listTotpDevicesOfUser(ctx.deps.db, user.id)).map((d) => ({
      device_class: 'totp' as const,
      device_uid: String(d.id),
      challenge: {},
      last_used: iso(d.last_used),
    }));
  },
  async verify(ctx, user, answer) {
    if (typeof answer.code !== 'string') return null;
    const code = answer.code.replace(/\s/g, '');
    if (!/^\d{6}$/.test(code)) return null;
    return (await verifyTotpOfUser(ctx.deps, user.id, code)) !== null;
  },
};

export const staticHandler: DeviceClassHandler = {
  deviceClass: 'static',
  async challengesFor(ctx, user) {
    return (await listStaticDevicesOfUser(ctx.deps.db, user.id))
      .filter((d) => d.remaining > 0)
      .map((d) => ({ device_class: 'static' as const, device_uid: String(d.id), challenge: {}, last_used: iso(d.last_used) }));
  },
  async verify(ctx, user, answer) {
    if (typeof answer.code !== 'string') return null;
    return useStaticCode(ctx.deps, user.id, answer.code);
  },
};
