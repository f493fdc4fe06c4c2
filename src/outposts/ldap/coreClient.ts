import { randomBytes } from 'node:crypto';
import { type CoreResponse, coreExchange } from './coreHttp.ts';
import type { AccessVerdict, Directory, OutpostProviderConfig } from './wire.ts';

// The outpost's only line to the core: HTTP with the outpost's token (it holds no database
// credentials). Binds walk the provider's flow through the same executor browsers use (after
// identification, at the outposts' bind route, which answers with the access verdict), so
// throttling, lockout, policies and MFA apply to LDAP exactly as to the web login.

export class CoreUnavailable extends Error {
  override name = 'CoreUnavailable';
}

/**
 * How a bind flow walk ended: signed in with the check_access verdict in the final answer (the
 * outposts' bind route), signed in on a browser session (to ask check_access about), or not.
 */
export type FlowVerdict =
  | { isSignedIn: true; verdict: AccessVerdict }
  | { isSignedIn: true; session: string }
  | { isSignedIn: false; reason: string };

const API_TIMEOUT_MS = 5_000;
// A bind may wait out the throttle's delay (≤ 4 s) plus an argon2 verify under load.
const FLOW_TIMEOUT_MS = 20_000;
const SESSION_COOKIE = 'authentik_session';
const CSRF_COOKIE = 'authentik_csrf';
const MAX_FLOW_STEPS = 8;

/** What a walk reads of an answer. */
interface WalkChallenge {
  component?: string;
  response_errors?: unknown;
  ldap_bind?: AccessVerdict;
}

export interface CoreClientOptions {
  host: string;
  token: string;
  userAgent?: string;
}

function isWrongComponent(errors: unknown): boolean {
  const list = (errors as { non_field_errors?: Array<{ code?: string }> } | undefined)?.non_field_errors;
  return Array.isArray(list) && list.some((e) => e.code === 'wrong_component');
}

export class CoreClient {
  readonly host: string;
  private readonly token: string;
  private readonly userAgent: string;

  constructor(options: CoreClientOptions) {
    this.host = options.host.replace(/\/+$/, '');
    this.token = options.token;
    this.userAgent = options.userAgent ?? 'gatehouse-ldap-outpost';
  }

  private async api<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    let response: CoreResponse;
    try {
      response = await coreExchange(`${this.host}/api/v3${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          'user-agent': this.userAgent,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(API_TIMEOUT_MS),
      });
    } catch (error) {
      throw new CoreUnavailable(`core unreachable: ${(error as Error).message}`);
    }
    if (response.status < 200 || response.status > 299) throw new CoreUnavailable(`core answered ${response.status} to ${path}`);
    if (response.status === 204) return undefined as T;
    try {
      return JSON.parse(response.text) as T;
    } catch (error) {
      throw new CoreUnavailable(`core sent no JSON for ${path}: ${(error as Error).message}`);
    }
  }

  /** The providers this outpost serves, and the version of those settings. */
  async providers(): Promise<{ results: OutpostProviderConfig[]; version?: string }> {
    return this.api<{ results: OutpostProviderConfig[]; version?: string }>('GET', '/outposts/ldap/');
  }

  async directoryVersion(): Promise<string> {
    return (await this.api<{ version: string }>('GET', '/outposts/ldap/directory/version/')).version;
  }

  directory(): Promise<Directory> {
    return this.api<Directory>('GET', '/outposts/ldap/directory/');
  }

  async reportCachedBinds(providerPk: number, binds: Array<{ user: number; client_ip: string; count: number }>): Promise<void> {
    await this.api('POST', `/outposts/ldap/${providerPk}/cached_binds/`, { binds });
  }

  checkAccess(providerPk: number, session: string, clientIp: string): Promise<AccessVerdict> {
    return this.api<AccessVerdict>('POST', `/outposts/ldap/${providerPk}/check_access/`, { session, client_ip: clientIp });
  }

  /**
   * Walks a login flow as a client would: identification, password, then the MFA code when the
   * flow asks for one. Any refusal ends the walk; only a final redirect is a sign-in. With
   * `providerPk` the walk goes to the outposts' bind route for that provider (with this outpost's
   * token): all the answers the bind has leave in one exchange, no session is made, and the final
   * answer carries the check_access verdict. A core without that route (404: older than this
   * outpost) is walked the browser's way, step by step, and asked check_access after.
   */
  async walkBindFlow(
    slug: string,
    login: { username: string; password: string; code: string | null; clientIp: string },
    providerPk?: number,
  ): Promise<FlowVerdict> {
    const csrf = randomBytes(24).toString('base64url');
    const cookies = new Map<string, string>([[CSRF_COOKIE, csrf]]);
    const executorUrl = `${this.host}/api/v3/flows/executor/${encodeURIComponent(slug)}/?query=`;
    let bindUrl = providerPk === undefined ? null : `${this.host}/api/v3/outposts/ldap/${providerPk}/bind_flow/${encodeURIComponent(slug)}/`;
    const deadline = AbortSignal.timeout(FLOW_TIMEOUT_MS);
    const exchange = async (url: string, body: Record<string, unknown>): Promise<{ status: number; challenge: WalkChallenge }> => {
      const isBindRoute = url !== executorUrl;
      let response: CoreResponse;
      try {
        response = await coreExchange(url, {
          method: 'POST',
          headers: {
            cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; '),
            'x-authentik-csrf': csrf,
            ...(isBindRoute ? { authorization: `Bearer ${this.token}` } : {}),
            // The core trusts this from loopback and private networks (listen.trusted_proxy_cidrs):
            // throttling and network policies then see the LDAP client, not the outpost.
            'x-forwarded-for': login.clientIp,
            'user-agent': this.userAgent,
            'content-type': 'application/json',
          },
          body: JSON.stringify(body),
          signal: deadline,
        });
      } catch (error) {
        throw new CoreUnavailable(`core unreachable: ${(error as Error).message}`);
      }
      for (const line of response.setCookies) {
        const [pair = ''] = line.split(';');
        const cut = pair.indexOf('=');
        if (cut > 0) cookies.set(pair.slice(0, cut).trim(), pair.slice(cut + 1).trim());
      }
      if (isBindRoute && response.status === 404) return { status: 404, challenge: {} };
      if (response.status >= 500) throw new CoreUnavailable(`core answered ${response.status} to the bind flow`);
      let challenge: WalkChallenge = {};
      try {
        challenge = (JSON.parse(response.text) as typeof challenge | null) ?? {};
      } catch {
        // Not JSON: no challenge; the walk ends on the status or the missing component.
      }
      return { status: response.status, challenge };
    };
    const step = async (body: Record<string, unknown>) => {
      if (bindUrl) {
        const answered = await exchange(bindUrl, body);
        if (answered.status !== 404) return answered;
        // A core older than the route (or replaced mid-walk by one): the executor holds the state.
        bindUrl = null;
      }
      return exchange(executorUrl, body);
    };

    // Most bind flows start with identification, then password: answering both (and the code, if
    // the client sent one) at once saves the opening GET and an exchange per stage. A flow built
    // otherwise answers wrong_component with the challenge of the stage waiting, and the walk goes
    // on from there.
    // The password rides along: an identification stage with a password stage (Authentik's
    // password_fields) checks it there; one without ignores it.
    const identification = { component: 'ak-stage-identification', uid_field: login.username, password: login.password };
    const answers = [
      identification,
      { component: 'ak-stage-password', password: login.password },
      ...(login.code === null ? [] : [{ component: 'ak-stage-authenticator-validate', code: login.code }]),
    ];
    let { status, challenge } = bindUrl ? await exchange(`${bindUrl}answers/`, { answers }) : { status: 404, challenge: {} as WalkChallenge };
    // No batch route: a core older than this outpost. Identification at the executor; the rest at
    // the one-answer bind route if the core has that, else at the executor too (see step).
    if (status === 404) ({ status, challenge } = await exchange(executorUrl, identification));
    if (isWrongComponent(challenge.response_errors)) challenge = { ...challenge, response_errors: undefined };
    for (let i = 0; i < MAX_FLOW_STEPS; i++) {
      if (status !== 200) return { isSignedIn: false, reason: `flow answered ${status}` };
      if (challenge.response_errors) return { isSignedIn: false, reason: 'invalid_credentials' };
      switch (challenge.component) {
        case 'xak-flow-redirect': {
          if (challenge.ldap_bind) return { isSignedIn: true, verdict: challenge.ldap_bind };
          const session = cookies.get(SESSION_COOKIE);
          return session ? { isSignedIn: true, session } : { isSignedIn: false, reason: 'no session' };
        }
        case 'ak-stage-identification':
          ({ status, challenge } = await step(identification));
          break;
        case 'ak-stage-password':
          ({ status, challenge } = await step({ component: challenge.component, password: login.password }));
          break;
        case 'ak-stage-authenticator-validate':
          if (login.code === null) return { isSignedIn: false, reason: 'mfa_required' };
          ({ status, challenge } = await step({ component: challenge.component, code: login.code }));
          break;
        case 'ak-stage-access-denied':
          return { isSignedIn: false, reason: 'access_denied' };
        default:
          return { isSignedIn: false, reason: `unsupported stage ${String(challenge.component)}` };
      }
    }
    return { isSignedIn: false, reason: 'flow too long' };
  }
}
