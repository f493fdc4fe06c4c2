import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { Queryable } from '../../store/db.ts';
import {
  consumePayload,
  consumePayloadOnce,
  deleteGrantWithPayloads,
  deletePayload,
  deletePayloadsOfGrant,
  findGrantIdOfPayload,
  findPayload,
  type StoredPayload,
  upsertPayload,
} from '../../store/oidcPayloads.ts';

// Models whose artifacts hang off a grant: revoking the grant removes them all.
const GRANTABLE = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);

const withConsumed = (row: StoredPayload | null): AdapterPayload | undefined => {
  if (!row) return undefined;
  return row.consumed_at ? { ...row.payload, consumed: Math.floor(row.consumed_at.getTime() / 1000) } : row.payload;
};

/**
 * oidc-provider's storage over the `oidc_payloads` table: every Provider instance (one per
 * application) shares it, and nothing lives only in memory, so any process can continue a flow
 * another one started. The Client model is not stored here (see clients.ts).
 */
export class PostgresAdapter implements Adapter {
  private readonly model: string;
  private readonly db: Queryable;

  constructor(db: Queryable, model: string) {
    this.db = db;
    this.model = model;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    await upsertPayload(this.db, {
      model: this.model,
      id,
      payload,
      grantId: GRANTABLE.has(this.model) ? (payload.grantId ?? null) : null,
      userCode: payload.userCode ?? null,
      uid: payload.uid ?? null,
      expiresAt: expiresIn ? new Date(Date.now() + expiresIn * 1000) : null,
    });
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    return withConsumed(await findPayload(this.db, this.model, 'id', id));
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return withConsumed(await findPayload(this.db, this.model, 'userCode', userCode));
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return withConsumed(await findPayload(this.db, this.model, 'uid', uid));
  }

  /**
   * oidc-provider checks `consumed` on the token it read, then consumes it: two requests with
   * one refresh token can both pass that check. The conditional update lets only one win; the
   * loser is a reuse (RFC 9700 §4.14.2): the whole grant is revoked, as oidc-provider itself
   * does for a reuse it sees.
   */
  async consume(id: string): Promise<void> {
    if (this.model !== 'RefreshToken') return consumePayload(this.db, this.model, id);
    if (await consumePayloadOnce(this.db, this.model, id)) return;
    const grantId = await findGrantIdOfPayload(this.db, this.model, id);
    if (grantId) await deleteGrantWithPayloads(this.db, grantId);
    // oidc-provider is loaded: only a Provider it built calls this adapter.
    const { errors } = await import('oidc-provider');
    throw new errors.InvalidGrant('refresh token already used');
  }

  destroy(id: string): Promise<void> {
    return deletePayload(this.db, this.model, id);
  }

  revokeByGrantId(grantId: string): Promise<void> {
    return deletePayloadsOfGrant(this.db, grantId);
  }
}
