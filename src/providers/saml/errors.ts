import { GatehouseError } from '../../errors.ts';

// SAML failures, each with what the SAML error page or StatusCode says and the audit event it
// writes. `suspicious` ones (bad signatures, replays, wrapping) are suspicious_request;
// a request that does not fit the provider's configuration is configuration_error.

export type SamlErrorKind =
  | 'malformed' // bad base64/deflate/XML
  | 'unknown_sp' // Issuer is not this provider's SP
  | 'bad_destination'
  | 'bad_acs'
  | 'unsigned' // an SP certificate is set and the request is not signed
  | 'bad_signature'
  | 'expired'
  | 'replay'
  | 'unsupported';

const SUSPICIOUS: ReadonlySet<SamlErrorKind> = new Set(['bad_signature', 'unsigned', 'replay', 'malformed']);

export class SamlError extends GatehouseError {
  override name = 'SamlError';
  override readonly code: string;
  override readonly status = 400;
  override readonly isExposable = true;
  readonly kind: SamlErrorKind;
  constructor(kind: SamlErrorKind, message: string) {
    super(message);
    this.kind = kind;
    this.code = `saml_${kind}`;
  }
  get eventAction(): 'suspicious_request' | 'configuration_error' {
    return SUSPICIOUS.has(this.kind) ? 'suspicious_request' : 'configuration_error';
  }
}
