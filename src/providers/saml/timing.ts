import { parseTimedelta } from '../../core/durations.ts';

// Authentik's assertion validity settings are timedeltas that may be negative
// (assertion_valid_not_before defaults to "minutes=-5"): each part may carry a minus sign.

export function parseSignedTimedelta(text: string): number | null {
  let sign = 0;
  const unsigned = text
    .split(';')
    .map((part) => {
      const negative = /=\s*-/.test(part);
      const partSign = negative ? -1 : 1;
      if (sign !== 0 && sign !== partSign) sign = Number.NaN;
      else sign = partSign;
      return part.replace(/=\s*-/, '=');
    })
    .join(';');
  const seconds = parseTimedelta(unsigned);
  if (seconds === null || Number.isNaN(sign)) return null;
  return sign * seconds;
}

export const SIGNED_TIMEDELTA_MESSAGE = 'Enter a duration such as "minutes=5" or "minutes=-5" (weeks, days, hours, minutes, seconds).';
