import type { FastifyInstance, LightMyRequestResponse } from 'fastify';

/**
 * A browser-like client over app.inject(): keeps cookies between requests and sends our own
 * Origin on POSTs (as a browser does for a same-origin form or fetch).
 */
export class TestBrowser {
  readonly cookies = new Map<string, string>();
  private readonly app: FastifyInstance;
  origin = 'http://localhost:80';
  clientIp = '127.0.0.1';

  constructor(app: FastifyInstance) {
    this.app = app;
  }

  get sessionId(): string | undefined {
    return this.cookies.get('authentik_session');
  }

  private remember(res: LightMyRequestResponse) {
    for (const cookie of res.cookies) {
      if (cookie.value === '' || (cookie.maxAge !== undefined && cookie.maxAge <= 0)) this.cookies.delete(cookie.name);
      else this.cookies.set(cookie.name, cookie.value);
    }
  }

  async request(
    method: 'GET' | 'POST',
    url: string,
    body?: Record<string, unknown> | string,
    headers: Record<string, string> = {},
  ): Promise<LightMyRequestResponse> {
    const isForm = typeof body === 'string';
    const res = await this.app.inject({
      method,
      url,
      remoteAddress: this.clientIp,
      cookies: Object.fromEntries(this.cookies),
      headers: {
        ...(method === 'POST' ? { origin: this.origin } : {}),
        ...(body !== undefined ? { 'content-type': isForm ? 'application/x-www-form-urlencoded' : 'application/json' } : {}),
        ...headers,
      },
      payload: body === undefined ? undefined : isForm ? body : JSON.stringify(body),
    });
    this.remember(res);
    return res;
  }

  /** GET/POST the JSON flow executor; returns the challenge. */
  async flow(slug: string, answer?: Record<string, unknown>, query = ''): Promise<Record<string, unknown> & { component: string }> {
    const url = `/api/v3/flows/executor/${slug}/${query ? `?query=${encodeURIComponent(query)}` : ''}`;
    const res = answer === undefined ? await this.request('GET', url) : await this.request('POST', url, answer);
    if (res.statusCode !== 200) throw new Error(`executor answered ${res.statusCode}: ${res.body}`);
    return res.json();
  }

  /** Identification + password through the default authentication flow. */
  async login(username: string, password: string, query = '') {
    await this.flow('default-authentication-flow', undefined, query);
    await this.flow('default-authentication-flow', { uid_field: username }, query);
    return this.flow('default-authentication-flow', { password }, query);
  }
}
