// Real reverse proxies for forward-auth tests: Debian's nginx and caddy run as child processes
// on loopback ports, with a self-signed certificate for *.yourdomain.com, and curl as the client.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './processes.ts';

const run = promisify(execFile);
export const hasNginx = existsSync('/usr/sbin/nginx');
export const hasCaddy = existsSync('/usr/bin/caddy');

/** A certificate for yourdomain.com and every host under it (the seed guide's names). */
export async function makeCertificate(dir: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  await run('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=yourdomain.com',
    '-addext', 'subjectAltName=DNS:yourdomain.com,DNS:*.yourdomain.com', '-keyout', key, '-out', cert,
  ]);
  return { cert, key };
}

/**
 * One `server { … }` block of the guide our users follow (test/fixtures/seed-guide.txt, a verbatim
 * copy of the seed guide; test/e2e/seedGuide.test.ts keeps it equal to the original where that is
 * present): the first block after `marker`.
 */
export function seedServerBlock(marker: string): string {
  const seed = readFileSync(join(ROOT, 'test/fixtures/seed-guide.txt'), 'utf8');
  const at = seed.indexOf(marker);
  if (at < 0) throw new Error(`seed guide has no "${marker}"`);
  const begin = seed.lastIndexOf('server {', at);
  let depth = 0;
  for (let i = begin; i < seed.length; i++) {
    if (seed[i] === '{') depth++;
    if (seed[i] === '}' && --depth === 0) return seed.slice(begin, i + 1);
  }
  throw new Error('unbalanced server block in the seed guide');
}

export interface Ports {
  /** Where nginx listens (the seed's 443). */
  nginx: number;
  /** Gatehouse (the seed's 9000). */
  gatehouse: number;
  /** The app behind the proxy (YOUR_APP_PORT). */
  app: number;
}

/** A seed block with only ports and certificate paths changed. */
export function withPorts(block: string, ports: Ports, certificate: { cert: string; key: string }): string {
  return block
    .replace(/listen 443 ssl http2;/g, `listen 127.0.0.1:${ports.nginx} ssl http2;`)
    .replace(/ssl_certificate \S+;/g, `ssl_certificate ${certificate.cert};`)
    .replace(/ssl_certificate_key \S+;/g, `ssl_certificate_key ${certificate.key};`)
    .replace(/http:\/\/127\.0\.0\.1:9000/g, `http://127.0.0.1:${ports.gatehouse}`)
    .replace(/YOUR_APP_PORT/g, String(ports.app))
    .replace(/https:\/\/auth\.yourdomain\.com\//g, `https://auth.yourdomain.com:${ports.nginx}/`);
}

export interface RunningProxy {
  stop(): Promise<void>;
}

function supervise(child: ChildProcess, log: string[]): RunningProxy {
  child.stdout?.on('data', (d) => log.push(String(d)));
  child.stderr?.on('data', (d) => log.push(String(d)));
  return {
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      }),
  };
}

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/** Waits until the proxy accepts connections; stops it (and says why) when it never does. */
async function ready(proxy: RunningProxy, port: number, log: string[]): Promise<RunningProxy> {
  for (let i = 0; i < 100; i++) {
    if (await accepts(port)) return proxy;
    await new Promise((r) => setTimeout(r, 100));
  }
  await proxy.stop();
  throw new Error(`proxy on ${port} did not start: ${log.join('')}`);
}

/** nginx in the foreground with `servers` (server blocks) in its http section. */
export async function startNginx(dir: string, servers: string[], port: number): Promise<RunningProxy> {
  mkdirSync(join(dir, 'nginx-tmp'), { recursive: true });
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `daemon off; user root; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/nginx-error.log warn;
events { worker_connections 1024; }
http {
access_log off;
client_body_temp_path ${dir}/nginx-tmp/body; proxy_temp_path ${dir}/nginx-tmp/proxy;
fastcgi_temp_path ${dir}/nginx-tmp/fastcgi; uwsgi_temp_path ${dir}/nginx-tmp/uwsgi; scgi_temp_path ${dir}/nginx-tmp/scgi;
${servers.join('\n')}
}
`,
  );
  const log: string[] = [];
  return ready(supervise(spawn('nginx', ['-c', conf, '-p', dir], { stdio: ['ignore', 'pipe', 'pipe'] }), log), port, log);
}

/** caddy with a Caddyfile; its state stays in `dir`. */
export async function startCaddy(dir: string, caddyfile: string, port: number): Promise<RunningProxy> {
  const file = join(dir, 'Caddyfile');
  writeFileSync(file, caddyfile);
  const log: string[] = [];
  const env = { ...process.env, HOME: dir, XDG_DATA_HOME: join(dir, 'caddy-data'), XDG_CONFIG_HOME: join(dir, 'caddy-config') };
  return ready(supervise(spawn('caddy', ['run', '--config', file, '--adapter', 'caddyfile'], { env, stdio: ['ignore', 'pipe', 'pipe'] }), log), port, log);
}

export interface EchoApp {
  port: number;
  server: Server;
}

/** The app behind the proxy: answers 200 with what it got (method, URL, X-authentik-* headers, body). */
export async function startEchoApp(): Promise<EchoApp> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => name.startsWith('x-authentik-')));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ method: req.method, url: req.url, headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, server };
}

export interface CurlReply {
  status: number;
  location: string;
  headers: string;
  body: string;
}

/**
 * curl as the browser: *.yourdomain.com resolves to loopback, the jar keeps cookies (with
 * curl's own domain rules), redirects are not followed unless `-L` is passed.
 */
export async function curl(jar: string, ports: number[], url: string, extra: string[] = []): Promise<CurlReply> {
  const hosts = ports.flatMap((port) => ['auth', 'app', 'files', 'single', 'caddy', 'pooled'].flatMap((h) => ['--resolve', `${h}.yourdomain.com:${port}:127.0.0.1`]));
  const { stdout } = await run('curl', [
    '-s', '-k', '-b', jar, '-c', jar, ...hosts, '-D', '-', '-w', '\n%{http_code} %{redirect_url}', ...extra, url,
  ], { maxBuffer: 10 * 1024 * 1024 });
  const cut = stdout.lastIndexOf('\n');
  const [status = '0', location = ''] = stdout.slice(cut + 1).split(' ');
  const text = stdout.slice(0, cut);
  // The last header block (after any followed redirects) and the body after it.
  const blocks = text.split(/\r\n\r\n/);
  let headerEnd = 0;
  for (let i = 0; i < blocks.length; i++) if (/^HTTP\//.test(blocks[i] ?? '')) headerEnd = i;
  return { status: Number(status), location, headers: blocks[headerEnd] ?? '', body: blocks.slice(headerEnd + 1).join('\r\n\r\n') };
}
