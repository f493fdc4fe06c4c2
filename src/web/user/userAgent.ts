/**
 * Just enough User-Agent parsing to tell a user's sessions apart ("Firefox 128 on Linux"), in the
 * shape of ua-parser's dictionary that Authentik's API returns. Unknown parts stay null.
 */
export interface ParsedUserAgent {
  device: { brand: string | null; family: string; model: string | null };
  os: { family: string; major: string | null; minor: string | null; patch: string | null; patch_minor: string | null };
  user_agent: { family: string; major: string | null; minor: string | null; patch: string | null };
  string: string;
}

// Order matters: Edge and Opera also say "Chrome", Chrome also says "Safari".
const BROWSERS: Array<[family: string, pattern: RegExp]> = [
  ['Edge', /\bEdg(?:e|A|iOS)?\/(\d+)(?:\.(\d+))?(?:\.(\d+))?/],
  ['Opera', /\bOPR\/(\d+)(?:\.(\d+))?(?:\.(\d+))?/],
  ['Firefox', /\b(?:Firefox|FxiOS)\/(\d+)(?:\.(\d+))?(?:\.(\d+))?/],
  ['Chrome', /\b(?:Chrome|CriOS)\/(\d+)(?:\.(\d+))?(?:\.(\d+))?/],
  ['Safari', /\bVersion\/(\d+)(?:\.(\d+))?(?:\.(\d+))?.*\bSafari\//],
  ['curl', /^curl\/(\d+)(?:\.(\d+))?(?:\.(\d+))?/],
];

const SYSTEMS: Array<[family: string, pattern: RegExp]> = [
  ['Windows', /\bWindows NT (\d+)(?:\.(\d+))?/],
  ['iOS', /\b(?:iPhone|iPad|iPod).*? OS (\d+)(?:_(\d+))?(?:_(\d+))?/],
  ['Android', /\bAndroid (\d+)(?:\.(\d+))?(?:\.(\d+))?/],
  ['Chrome OS', /\bCrOS\b/],
  ['Mac OS X', /\bMac OS X (\d+)(?:[_.](\d+))?(?:[_.](\d+))?/],
  ['Linux', /\bLinux\b/],
];

function firstMatch(text: string, table: Array<[string, RegExp]>): { family: string; parts: Array<string | null> } | null {
  for (const [family, pattern] of table) {
    const match = pattern.exec(text);
    if (match) return { family, parts: [match[1] ?? null, match[2] ?? null, match[3] ?? null] };
  }
  return null;
}

export function parseUserAgent(text: string): ParsedUserAgent {
  const browser = firstMatch(text, BROWSERS);
  const os = firstMatch(text, SYSTEMS);
  const device = /\biPhone\b/.test(text) ? 'iPhone' : /\biPad\b/.test(text) ? 'iPad' : /\bMobile\b/.test(text) ? 'Generic Smartphone' : 'Other';
  const [major = null, minor = null, patch = null] = browser?.parts ?? [];
  const [osMajor = null, osMinor = null, osPatch = null] = os?.parts ?? [];
  return {
    device: { brand: device === 'iPhone' || device === 'iPad' ? 'Apple' : null, family: device, model: device === 'Other' ? null : device },
    os: { family: os?.family ?? 'Other', major: osMajor, minor: osMinor, patch: osPatch, patch_minor: null },
    user_agent: { family: browser?.family ?? 'Other', major, minor, patch },
    string: text,
  };
}

/** "Firefox 128 on Linux", "Safari 17 on iOS", or "Unknown browser". */
export function describeUserAgent(text: string): string {
  const parsed = parseUserAgent(text);
  const browser = parsed.user_agent.family === 'Other' ? null : [parsed.user_agent.family, parsed.user_agent.major].filter(Boolean).join(' ');
  const os = parsed.os.family === 'Other' ? null : parsed.os.family === 'Mac OS X' ? 'macOS' : parsed.os.family;
  if (browser && os) return `${browser} on ${os}`;
  return browser ?? (os ? `A browser on ${os}` : 'Unknown browser');
}
