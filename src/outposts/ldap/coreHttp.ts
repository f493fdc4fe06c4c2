import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

// The outpost's HTTP to the core: node:http with kept-alive connections. fetch (undici) cost
// ~150–200 µs more CPU per exchange on this machine (a JSON POST to a local server, 8 in flight:
// 226–270 µs against 60–79 µs, client and server together), and every direct bind makes one.

export interface CoreResponse {
  status: number;
  /** Set-Cookie lines, one per cookie. */
  setCookies: string[];
  text: string;
}

export interface CoreRequest {
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  /** Ends the exchange (and any later one given the same signal): a deadline over several requests. */
  signal: AbortSignal;
}

// The whole directory comes in one answer: room for a very large one, never unbounded.
const MAX_RESPONSE_BYTES = 256 * 1024 * 1024;
// Enough for every bind in flight at once (each waits on its own exchange), without a new
// connection per bind; idle ones close after a while.
const agentOptions = { keepAlive: true, maxSockets: 128, maxFreeSockets: 32, timeout: 60_000, scheduling: 'lifo' as const };
const agents = { 'http:': new HttpAgent(agentOptions), 'https:': new HttpsAgent(agentOptions) };

export function coreExchange(url: string, options: CoreRequest): Promise<CoreResponse> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const protocol = target.protocol as 'http:' | 'https:';
    const send = protocol === 'https:' ? httpsRequest : httpRequest;
    const headers: Record<string, string | number> = { ...options.headers };
    if (options.body !== undefined) headers['content-length'] = Buffer.byteLength(options.body);
    const request = send(target, { method: options.method, headers, agent: agents[protocol], signal: options.signal }, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_RESPONSE_BYTES) {
          response.destroy(new Error(`answer over ${MAX_RESPONSE_BYTES} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      response.on('error', reject);
      response.on('end', () => {
        const setCookie = response.headers['set-cookie'];
        resolve({
          status: response.statusCode ?? 0,
          setCookies: setCookie ?? [],
          text: Buffer.concat(chunks).toString('utf8'),
        });
      });
    });
    request.on('error', reject);
    request.end(options.body);
  });
}
