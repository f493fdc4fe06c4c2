import { createPrivateKey, type KeyObject } from 'node:crypto';
import type { CoreDeps } from '../../core/context.ts';
import type { SamlProviderRow } from '../../store/samlProviders.ts';
import type { SigningSettings } from './signatures.ts';

// A provider's signing key, opened from its sealed form. Opened keys are kept by their sealed
// text, so an edited or deleted provider's old key is simply never asked for again.

const MAX_CACHED = 200;
const opened = new Map<string, { pem: string; key: KeyObject }>();

function open(deps: Pick<CoreDeps, 'signingKeyBox'>, sealed: string) {
  let entry = opened.get(sealed);
  if (!entry) {
    const pem = deps.signingKeyBox.open(sealed);
    entry = { pem, key: createPrivateKey(pem) };
    if (opened.size >= MAX_CACHED) opened.delete(opened.keys().next().value as string);
    opened.set(sealed, entry);
  }
  return entry;
}

export function signingSettingsOf(deps: Pick<CoreDeps, 'signingKeyBox'>, provider: SamlProviderRow): SigningSettings {
  return {
    privateKeyPem: open(deps, provider.signing_key_encrypted).pem,
    certificatePem: provider.signing_certificate,
    signatureAlgorithm: provider.signature_algorithm,
    digestAlgorithm: provider.digest_algorithm,
  };
}

export const signingKeyOf = (deps: Pick<CoreDeps, 'signingKeyBox'>, provider: SamlProviderRow): KeyObject =>
  open(deps, provider.signing_key_encrypted).key;
