/**
 * Where a finished flow may send the browser: a path on this server only. Anything else
 * (another host, a scheme, "//host", backslashes, control characters) falls back to the default:
 * never an open redirect. Application launch URLs join this list with the applications.
 */
export function safeNext(candidate: unknown, fallback: string): string {
  if (typeof candidate !== 'string' || candidate.length === 0 || candidate.length > 2000) return fallback;
  const hasControlCharacter = [...candidate].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
  if (!candidate.startsWith('/') || candidate.startsWith('//') || candidate.includes('\\') || hasControlCharacter) return fallback;
  try {
    const url = new URL(candidate, 'http://gatehouse.invalid');
    if (url.host !== 'gatehouse.invalid') return fallback;
    return url.pathname + url.search + url.hash;
  } catch {
    return fallback;
  }
}
