// A small HTTP client for the benchmarks: node:http on keep-alive sockets (cheaper on the shared
// CPUs than fetch), and a browser-like cookie jar.
import { Agent, request as httpRequest } from 'node:http';

const REQUEST_TIMEOUT_MS = 30_000;
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

export interface Reply {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

export function send(baseUrl: string, method: 'GET' | 'POST', path: string, headers: Record<string, string> = {}, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${baseUrl}${path}`,
      {
        method,
        agent,
        headers: { accept: 'application/json', ...headers, ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }) },
        timeout: REQUEST_TIMEOUT_MS,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** One visitor: its own cookies; POSTs carry our Origin, as a same-origin browser fetch does. */
export class Browser {
  private readonly cookies = new Map<string, string>();
  private readonly baseUrl: string;

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl;
  }

  async request(method: 'GET' | 'POST', path: string, json?: Record<string, unknown>): Promise<Reply> {
    const headers: Record<string, string> = {};
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    if (method === 'POST') headers.origin = this.baseUrl;
    if (json !== undefined) headers['content-type'] = 'application/json';
    const reply = await send(this.baseUrl, method, path, headers, json === undefined ? undefined : JSON.stringify(json));
    for (const line of (reply.headers['set-cookie'] as string[] | undefined) ?? []) {
      const [pair = '', ...attributes] = line.split(';');
      const separator = pair.indexOf('=');
      const name = pair.slice(0, separator).trim();
      const value = pair.slice(separator + 1).trim();
      const isExpired = attributes.some((a) => /^\s*(max-age\s*=\s*(0|-)|expires\s*=\s*thu, 01 jan 1970)/i.test(a));
      if (value === '' || isExpired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return reply;
  }
}

/** One password login through the default authentication flow, as a browser does it; throws unless it ends in a redirect. */
export async function signIn(baseUrl: string, username: string, password: string): Promise<void> {
  const flow = '/api/v3/flows/executor/default-authentication-flow/';
  const browser = new Browser(baseUrl);
  await browser.request('GET', flow);
  await browser.request('POST', flow, { uid_field: username });
  const answer = await browser.request('POST', flow, { password });
  if (!answer.body.includes('xak-flow-redirect')) throw new Error(`login as ${username} failed: ${answer.status} ${answer.body.slice(0, 200)}`);
}
