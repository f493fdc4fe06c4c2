// Authentik's timedelta strings (`minutes=10`, `hours=1;minutes=5`, `days=30`): the token
// lifetimes of OAuth2 providers are stored and shown in this form.

const UNIT_SECONDS = {
  weeks: 604_800,
  days: 86_400,
  hours: 3_600,
  minutes: 60,
  seconds: 1,
  milliseconds: 0.001,
  microseconds: 0.000_001,
} as const;
type Unit = keyof typeof UNIT_SECONDS;

/** Longer than any token should live (ten years), and far inside a safe integer of milliseconds. */
const MAX_SECONDS = 10 * 365 * 86_400;

const PART = /^\s*([a-z]+)\s*=\s*(\d+(?:\.\d+)?)\s*$/;

/**
 * The length of a timedelta string in seconds, or null when it is not one: `key=value` parts
 * joined by `;`, each key a unit (weeks … microseconds) used once, values non-negative numbers,
 * and the whole longer than zero and at most ten years.
 */
export function parseTimedelta(text: string): number | null {
  if (text.length === 0 || text.length > 200) return null;
  const seen = new Set<string>();
  let total = 0;
  for (const part of text.split(';')) {
    const match = PART.exec(part);
    if (!match) return null;
    const [, unit, value] = match as unknown as [string, string, string];
    if (!Object.hasOwn(UNIT_SECONDS, unit) || seen.has(unit)) return null;
    seen.add(unit);
    total += Number(value) * UNIT_SECONDS[unit as Unit];
  }
  return total > 0 && total <= MAX_SECONDS ? total : null;
}

export const isTimedelta = (text: string): boolean => parseTimedelta(text) !== null;

export const TIMEDELTA_MESSAGE = 'Enter a duration such as "minutes=10" or "hours=1;minutes=5" (weeks, days, hours, minutes, seconds).';
