import type { CoreDeps } from '../../core/context.ts';
import { findOAuth2ClientByClientId, type OAuth2ClientRow } from '../../store/applications.ts';

// The token endpoint reads the same client row several times per request (to pick the issuer,
// then inside oidc-provider), and a busy client sends hundreds of requests a second. Rows are
// kept for one second — DESIGN.md's bound for a change to reach every replica — and secrets are
// decrypted once per sealed value.
const ROW_TTL_MS = 1000;
const MAX_ENTRIES = 10_000;

const rows = new Map<string, { row: OAuth2ClientRow | null; at: number; deps: CoreDeps }>();
const openedSecrets = new Map<string, string>();

export async function findClientRow(deps: CoreDeps, clientId: string): Promise<OAuth2ClientRow | null> {
  const now = Date.now();
  const cached = rows.get(clientId);
  if (cached && cached.deps === deps && now - cached.at < ROW_TTL_MS) return cached.row;
  const row = await findOAuth2ClientByClientId(deps.db, clientId);
  if (rows.size >= MAX_ENTRIES) rows.clear();
  rows.set(clientId, { row, at: now, deps });
  return row;
}

/** The client secret in clear text (sealed with the box the provider API uses). */
export function openClientSecret(deps: CoreDeps, sealed: string): string {
  if (sealed === '') return '';
  const known = openedSecrets.get(sealed);
  if (known !== undefined) return known;
  const secret = deps.clientSecretBox.open(sealed);
  if (openedSecrets.size >= MAX_ENTRIES) openedSecrets.clear();
  openedSecrets.set(sealed, secret);
  return secret;
}
