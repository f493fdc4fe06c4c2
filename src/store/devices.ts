import type { Queryable } from './db.ts';

// Authenticator devices: TOTP, WebAuthn and static (recovery) codes.

export interface TotpDeviceRow {
  id: number;
  user_id: number;
  name: string;
  secret_encrypted: string;
  digits: number;
  period: number;
  algorithm: 'sha1' | 'sha256' | 'sha512';
  confirmed: boolean;
  last_time_step: string;
  created_at: Date;
  last_used: Date | null;
}

export interface WebauthnDeviceRow {
  id: number;
  user_id: number;
  name: string;
  credential_id: string;
  public_key: Buffer;
  sign_count: string;
  transports: string[];
  aaguid: string;
  device_type: string;
  is_backed_up: boolean;
  created_at: Date;
  last_used: Date | null;
}

export interface StaticDeviceRow {
  id: number;
  user_id: number;
  name: string;
  created_at: Date;
  last_used: Date | null;
  remaining: number;
}

/** The count of a user's confirmed MFA devices, as an SQL expression over `userId` (a column or a parameter). */
export const confirmedDeviceCountSql = (userId: string) => `((SELECT count(*) FROM totp_devices WHERE user_id = ${userId} AND confirmed)
           + (SELECT count(*) FROM webauthn_devices WHERE user_id = ${userId})
           + (SELECT count(*) FROM static_devices s WHERE user_id = ${userId} AND confirmed
                AND EXISTS (SELECT 1 FROM static_tokens t WHERE t.device_id = s.id)))::int`;

export async function countConfirmedDevicesOfUser(db: Queryable, userId: number): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT ${confirmedDeviceCountSql('$1')} AS n`, [userId]);
  return rows[0]?.n ?? 0;
}

// --- TOTP ------------------------------------------------------------------------------------

/**
 * Holds the user's row until the transaction ends, so two device enrollments of one user run one
 * after the other: the second sees what the first saved.
 */
export async function lockUserForDeviceChange(db: Queryable, userId: number): Promise<void> {
  await db.query('SELECT id FROM users WHERE id = $1 FOR UPDATE', [userId]);
}

export async function insertTotpDevice(
  db: Queryable,
  device: { userId: number; name: string; secretEncrypted: string; digits: number; period: number; algorithm: string; lastTimeStep: number },
): Promise<TotpDeviceRow> {
  const { rows } = await db.query<TotpDeviceRow>(
    `INSERT INTO totp_devices (user_id, name, secret_encrypted, digits, period, algorithm, confirmed, last_time_step)
     VALUES ($1, $2, $3, $4, $5, $6, true, $7) RETURNING *`,
    [device.userId, device.name, device.secretEncrypted, device.digits, device.period, device.algorithm, device.lastTimeStep],
  );
  return rows[0] as TotpDeviceRow;
}

export async function listTotpDevicesOfUser(db: Queryable, userId: number): Promise<TotpDeviceRow[]> {
  const { rows } = await db.query<TotpDeviceRow>(
    'SELECT * FROM totp_devices WHERE user_id = $1 AND confirmed ORDER BY id',
    [userId],
  );
  return rows;
}

/**
 * Accepts a time step for a device only if it is newer than the last one accepted: the check and
 * the write are one statement, so two replicas cannot both accept the same code.
 */
export async function claimTotpTimeStep(db: Queryable, deviceId: number, timeStep: number): Promise<boolean> {
  const { rowCount } = await db.query(
    'UPDATE totp_devices SET last_time_step = $2, last_used = now() WHERE id = $1 AND last_time_step < $2',
    [deviceId, timeStep],
  );
  return rowCount > 0;
}

// --- static (recovery) codes -------------------------------------------------------------------

export async function insertStaticDevice(
  db: Queryable,
  device: { userId: number; name: string; tokenHashes: Buffer[] },
): Promise<number> {
  const { rows } = await db.query<{ id: number }>(
    'INSERT INTO static_devices (user_id, name) VALUES ($1, $2) RETURNING id',
    [device.userId, device.name],
  );
  const id = (rows[0] as { id: number }).id;
  for (const hash of device.tokenHashes) {
    await db.query('INSERT INTO static_tokens (device_id, token_hash) VALUES ($1, $2)', [id, hash]);
  }
  return id;
}

export async function listStaticDevicesOfUser(db: Queryable, userId: number): Promise<StaticDeviceRow[]> {
  const { rows } = await db.query<StaticDeviceRow>(
    `SELECT s.id, s.user_id, s.name, s.created_at, s.last_used,
            (SELECT count(*)::int FROM static_tokens t WHERE t.device_id = s.id) AS remaining
     FROM static_devices s WHERE s.user_id = $1 AND s.confirmed ORDER BY s.id`,
    [userId],
  );
  return rows;
}

/** Whether one of the user's recovery codes has this hash. */
export async function hasStaticToken(db: Queryable, userId: number, tokenHash: Buffer): Promise<boolean> {
  const { rows } = await db.query(
    'SELECT 1 FROM static_tokens t JOIN static_devices s ON s.id = t.device_id WHERE s.user_id = $1 AND t.token_hash = $2',
    [userId, tokenHash],
  );
  return rows.length > 0;
}

/** Spends one recovery code of the user: deleted as it is used, so it works once. */
export async function consumeStaticToken(db: Queryable, userId: number, tokenHash: Buffer): Promise<number | null> {
  const { rows } = await db.query<{ device_id: number }>(
    `DELETE FROM static_tokens t USING static_devices s
     WHERE t.device_id = s.id AND s.user_id = $1 AND s.confirmed AND t.token_hash = $2
     RETURNING t.device_id`,
    [userId, tokenHash],
  );
  const deviceId = rows[0]?.device_id ?? null;
  if (deviceId !== null) await db.query('UPDATE static_devices SET last_used = now() WHERE id = $1', [deviceId]);
  return deviceId;
}

// --- WebAuthn --------------------------------------------------------------------------------

export async function listWebauthnDevicesOfUser(db: Queryable, userId: number): Promise<WebauthnDeviceRow[]> {
  const { rows } = await db.query<WebauthnDeviceRow>('SELECT * FROM webauthn_devices WHERE user_id = $1 ORDER BY id', [userId]);
  return rows;
}

export async function findWebauthnDeviceByCredentialId(db: Queryable, credentialId: string): Promise<WebauthnDeviceRow | null> {
  const { rows } = await db.query<WebauthnDeviceRow>('SELECT * FROM webauthn_devices WHERE credential_id = $1', [credentialId]);
  return rows[0] ?? null;
}

export async function insertWebauthnDevice(
  db: Queryable,
  device: {
    userId: number;
    name: string;
    credentialId: string;
    publicKey: Buffer;
    signCount: number;
    transports: string[];
    aaguid: string;
    deviceType: string;
    isBackedUp: boolean;
  },
): Promise<WebauthnDeviceRow> {
  const { rows } = await db.query<WebauthnDeviceRow>(
    `INSERT INTO webauthn_devices (user_id, name, credential_id, public_key, sign_count, transports, aaguid, device_type, is_backed_up)
     VALUES ($1, $2, $3, $4, $5, $6::text[], $7, $8, $9) RETURNING *`,
    [
      device.userId,
      device.name,
      device.credentialId,
      device.publicKey,
      device.signCount,
      device.transports,
      device.aaguid,
      device.deviceType,
      device.isBackedUp,
    ],
  );
  return rows[0] as WebauthnDeviceRow;
}

/**
 * Records a verified assertion's signature counter, only if it is still ahead of the stored one
 * (WebAuthn §6.1.1: a counter that does not grow means a cloned authenticator). The check and the
 * write are one statement, so two assertions with the same counter verified at once cannot both
 * pass. Authenticators that keep no counter (always 0) pass while the stored one is 0 too.
 */
export async function claimWebauthnCounter(db: Queryable, deviceId: number, signCount: number): Promise<boolean> {
  const { rowCount } = await db.query(
    'UPDATE webauthn_devices SET sign_count = $2, last_used = now() WHERE id = $1 AND (sign_count < $2 OR ($2 = 0 AND sign_count = 0))',
    [deviceId, signCount],
  );
  return rowCount > 0;
}

// --- all kinds, for the user area -------------------------------------------------------------

export type DeviceKind = 'totp' | 'webauthn' | 'static';
const TABLE_OF: Record<DeviceKind, string> = { totp: 'totp_devices', webauthn: 'webauthn_devices', static: 'static_devices' };

export async function renameDevice(db: Queryable, kind: DeviceKind, userId: number, id: number, name: string): Promise<boolean> {
  const { rowCount } = await db.query(`UPDATE ${TABLE_OF[kind]} SET name = $3 WHERE id = $1 AND user_id = $2`, [id, userId, name]);
  return rowCount > 0;
}

export async function deleteDevice(db: Queryable, kind: DeviceKind, userId: number, id: number): Promise<boolean> {
  const { rowCount } = await db.query(`DELETE FROM ${TABLE_OF[kind]} WHERE id = $1 AND user_id = $2`, [id, userId]);
  return rowCount > 0;
}

export interface DeviceOfUser {
  id: number;
  user_id: number;
  name: string;
}

/** One device of a user, locked for the rest of the transaction; null when it is not theirs. */
export async function findDeviceOfUserForUpdate(db: Queryable, kind: DeviceKind, userId: number, id: number): Promise<DeviceOfUser | null> {
  const { rows } = await db.query<DeviceOfUser>(
    `SELECT id, user_id, name FROM ${TABLE_OF[kind]} WHERE id = $1 AND user_id = $2 FOR UPDATE`,
    [id, userId],
  );
  return rows[0] ?? null;
}
