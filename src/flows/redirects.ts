import type { Queryable } from '../store/db.ts';
import { listApplicationUrls } from '../store/applications.ts';

/**
 * Where a finished flow may send the browser: a path on this server only. Anything else
 * (another host, a scheme, "//host", backslashes, control characters) falls back to the default:
 * never an open redirect. `allowedNext` adds the applications' own sites.
 */
export function safeNext(candidate: unknown, fallback: string): string {
  if (typeof candidate !== 'string' || candidate.length === 0 || candidate.length > 2000) return fallback;
  const hasControlCharacter = [...candidate].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
  if (!candidate.startsWith('/') || candidate.startsWith('//') || candidate.includes('\\') || hasControlCharacter) return fallback;
  try {
    const url = new URL(candidate, 'http://gatehouse.invalid');
    if (url.host !== 'gatehouse.invalid') return fallback;
    // Dot segments collapse while parsing: "/.//evil.example" and "/..//evil.example" come out as
    // "//evil.example", which a browser reads as another host. Judge the path we would send.
    const path = url.pathname + url.search + url.hash;
    return path.startsWith('//') ? fallback : path;
  } catch {
    return fallback;
  }
}

/** An absolute http(s) URL's origin, or null. */
function httpOriginOf(candidate: string): string | null {
  try {
    const url = new URL(candidate);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.origin : null;
  } catch {
    return null;
  }
}

/**
 * safeNext, and also an absolute URL on the site of a configured application (its launch URL's
 * or its proxy provider's external host's origin): a login started from the app goes back to it.
 * The list is read only for absolute candidates, which are rare (apps send paths through their
 * protocols).
 */
export async function allowedNext(db: Queryable, candidate: unknown, fallback: string): Promise<string> {
  if (typeof candidate !== 'string' || candidate.length > 2000 || !/^https?:\/\//i.test(candidate)) return safeNext(candidate, fallback);
  const origin = httpOriginOf(candidate);
  const hasControlCharacter = [...candidate].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
  if (origin === null || hasControlCharacter) return fallback;
  const appOrigins = new Set((await listApplicationUrls(db)).map(httpOriginOf).filter((o) => o !== null));
  return appOrigins.has(origin) ? new URL(candidate).href : fallback;
}
