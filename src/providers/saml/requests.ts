import type { Cache } from '../../cache/cache.ts';
import { sha256 } from '../../core/crypto.ts';
import type { SamlProviderRow } from '../../store/samlProviders.ts';
import { decodePost, decodeRedirect, verifyRedirectSignature } from './bindings.ts';
import { SamlError } from './errors.ts';
import { verifyEnvelopedSignature } from './signatures.ts';
import { expectRoot, NS, onlyChild, parseXml, textOnly } from './xml.ts';

// An SP's AuthnRequest or LogoutRequest, decoded from its binding, its signature checked when the
// provider has the SP's certificate, then read from the signed element only. The checks, in order:
// decode → parse (no DOCTYPE) → signature → root type → Version, ID → IssueInstant window →
// Issuer is this provider's SP → Destination is this endpoint → (AuthnRequest) ACS URL is the
// provider's → ID never seen before.

export type Binding = 'redirect' | 'post';

export interface InboundRequest {
  binding: Binding;
  /** The raw query string (Redirect) or the parsed form (POST). */
  rawQuery: string;
  body: unknown;
  /** The absolute URL the message was sent to, as the SP should have put in Destination. */
  endpointUrl: string;
}

export interface AuthnRequest {
  id: string;
  issuer: string;
  nameIdFormat: string | null;
  relayState: string | null;
}

export interface LogoutRequest {
  id: string;
  issuer: string;
  nameId: string;
  sessionIndexes: string[];
  relayState: string | null;
}

// How far IssueInstant may be from our clock: a little ahead (clock skew), a few minutes behind.
const MAX_AGE_SECONDS = 10 * 60;
const MAX_SKEW_SECONDS = 3 * 60;
const REPLAY_TTL_SECONDS = MAX_AGE_SECONDS + MAX_SKEW_SECONDS;
const NCNAME = /^[A-Za-z_][\w.-]{0,255}$/;

// SAML Bindings §3.4.3 allows 80 bytes; SPs put URLs in it, so more is accepted, within reason.
const MAX_RELAY_STATE = 2048;

function checkRelayState(relayState: string | null): string | null {
  if (relayState !== null && relayState.length > MAX_RELAY_STATE) throw new SamlError('malformed', 'RelayState is too long.');
  return relayState;
}

function decodeAndVerify(provider: SamlProviderRow, inbound: InboundRequest, localName: string, what: string) {
  const certificate = provider.verification_certificate;
  if (inbound.binding === 'redirect') {
    const message = decodeRedirect(inbound.rawQuery, 'SAMLRequest');
    if (certificate) verifyRedirectSignature(message, certificate);
    const doc = parseXml(message.xml, what);
    return { root: expectRoot(doc, NS.samlp, localName, what), relayState: checkRelayState(message.relayState), isSigned: certificate !== null };
  }
  const message = decodePost(inbound.body, 'SAMLRequest');
  const doc = parseXml(message.xml, what);
  expectRoot(doc, NS.samlp, localName, what);
  const root = certificate ? verifyEnvelopedSignature(doc, message.xml, certificate, what) : doc.documentElement;
  return { root, relayState: checkRelayState(message.relayState), isSigned: certificate !== null };
}

function checkCommon(provider: SamlProviderRow, root: Element, inbound: InboundRequest, isSigned: boolean, now: Date, what: string) {
  if (root.getAttribute('Version') !== '2.0') throw new SamlError('unsupported', `The ${what} is not SAML 2.0.`);
  const id = root.getAttribute('ID') ?? '';
  if (!NCNAME.test(id)) throw new SamlError('malformed', `The ${what} has no valid ID.`);
  const issued = Date.parse(root.getAttribute('IssueInstant') ?? '');
  if (Number.isNaN(issued)) throw new SamlError('malformed', `The ${what} has no valid IssueInstant.`);
  const age = (now.getTime() - issued) / 1000;
  if (age > MAX_AGE_SECONDS || age < -MAX_SKEW_SECONDS) throw new SamlError('expired', `The ${what} is too old or from the future.`);
  const issuerElement = onlyChild(root, NS.saml, 'Issuer');
  const issuer = issuerElement ? textOnly(issuerElement, 'Issuer') : '';
  if (provider.audience !== '' && issuer !== provider.audience) {
    throw new SamlError('unknown_sp', `The ${what} comes from an unknown service provider.`);
  }
  const destination = root.getAttribute('Destination');
  // SAML Bindings §3.4.5.2/§3.5.5.2: a signed message must name its Destination.
  if (isSigned && !destination) throw new SamlError('bad_destination', `The signed ${what} has no Destination.`);
  if (destination && destination !== inbound.endpointUrl) throw new SamlError('bad_destination', `The ${what} was meant for another endpoint.`);
  return { id, issuer };
}

/** Each request ID is accepted once per provider while its IssueInstant window lasts. */
async function refuseReplay(cache: Cache, provider: SamlProviderRow, id: string, what: string): Promise<void> {
  const key = `saml:seen:${provider.provider_id}:${sha256(id).toString('hex')}`;
  if ((await cache.increment(key, REPLAY_TTL_SECONDS)) !== 1) throw new SamlError('replay', `This ${what} was already used.`);
}

export async function readAuthnRequest(cache: Cache, provider: SamlProviderRow, inbound: InboundRequest, now: Date): Promise<AuthnRequest> {
  const what = 'authentication request';
  const { root, relayState, isSigned } = decodeAndVerify(provider, inbound, 'AuthnRequest', what);
  const { id, issuer } = checkCommon(provider, root, inbound, isSigned, now, what);
  const acs = root.getAttribute('AssertionConsumerServiceURL');
  if (acs && acs !== provider.acs_url) throw new SamlError('bad_acs', 'The assertion consumer service URL is not the one configured.');
  const policy = onlyChild(root, NS.samlp, 'NameIDPolicy');
  await refuseReplay(cache, provider, id, what);
  return { id, issuer, nameIdFormat: policy?.getAttribute('Format') || null, relayState };
}

export async function readLogoutRequest(cache: Cache, provider: SamlProviderRow, inbound: InboundRequest, now: Date): Promise<LogoutRequest> {
  const what = 'logout request';
  const { root, relayState, isSigned } = decodeAndVerify(provider, inbound, 'LogoutRequest', what);
  const { id, issuer } = checkCommon(provider, root, inbound, isSigned, now, what);
  const nameIdElement = onlyChild(root, NS.saml, 'NameID');
  if (!nameIdElement) throw new SamlError('malformed', 'The logout request names no subject.');
  const nameId = textOnly(nameIdElement, 'NameID');
  const sessionIndexes = Array.from(root.getElementsByTagNameNS(NS.samlp, 'SessionIndex'))
    .filter((element) => element.parentNode === root)
    .map((element) => textOnly(element, 'SessionIndex'));
  await refuseReplay(cache, provider, id, what);
  return { id, issuer, nameId, sessionIndexes, relayState };
}
