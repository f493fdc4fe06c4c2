import type { Config } from './schema.ts';

/**
 * The URL users reach Gatehouse at: GATEHOUSE_EXTERNAL_URL, else derived from the HTTP listener.
 * Links in mail use it, never the request's Host header (a forged Host would send a victim a
 * reset link pointing at the attacker).
 */
export function publicUrl(config: Pick<Config, 'external_url' | 'listen'>): string {
  if (config.external_url) return config.external_url.replace(/\/$/, '');
  const { host, port } = config.listen.http;
  const shown = host === '0.0.0.0' || host === '127.0.0.1' || host === '::' ? 'localhost' : host;
  return `http://${shown}:${port}`;
}
