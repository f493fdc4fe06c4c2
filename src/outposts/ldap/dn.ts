// Distinguished names (RFC 4514), as far as the directory needs them: split into RDNs, compared
// without regard to case or spacing, and built with values escaped.

export interface Rdn {
  type: string;
  value: string;
}

const MAX_DN_LENGTH = 4096;

/** Splits a DN into RDNs (leftmost first); null when it is malformed. Multi-valued RDNs are kept whole. */
export function parseDn(text: string): Rdn[] | null {
  if (text.length > MAX_DN_LENGTH) return null;
  if (text.trim() === '') return [];
  const rdns: Rdn[] = [];
  let type = '';
  let value = new ValueBuilder();
  let inValue = false;
  // By code point, so a character outside the BMP is never split in two.
  const chars = Array.from(text);
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (!inValue) {
      if (c === '=') inValue = true;
      else if (c === ',' || c === '+' || c === '\\') return null;
      else type += c;
      continue;
    }
    if (c === '\\') {
      // RFC 4514 §2.4: \XX is one byte of the UTF-8 value; \<special> is that character.
      const hex = chars.slice(i + 1, i + 3).join('');
      if (/^[0-9a-fA-F]{2}$/.test(hex)) {
        value.addEscaped([Number.parseInt(hex, 16)]);
        i += 2;
      } else if (i + 1 < chars.length) {
        value.addEscaped([...Buffer.from(chars[i + 1] as string, 'utf8')]);
        i += 1;
      } else return null;
      continue;
    }
    if (c === ',' || c === ';') {
      const rdn = finish(type, value);
      if (!rdn) return null;
      rdns.push(rdn);
      type = '';
      value = new ValueBuilder();
      inValue = false;
      continue;
    }
    value.add(c);
  }
  if (!inValue) return null;
  const last = finish(type, value);
  if (!last) return null;
  rdns.push(last);
  return rdns;
}

/** A value's bytes; spaces around it are dropped unless they were escaped. */
class ValueBuilder {
  private readonly bytes: number[] = [];
  private keepFrom = -1;
  private keepUntil = 0;

  add(c: string): void {
    this.bytes.push(...Buffer.from(c, 'utf8'));
  }

  addEscaped(bytes: number[]): void {
    if (this.keepFrom < 0) this.keepFrom = this.bytes.length;
    this.bytes.push(...bytes);
    this.keepUntil = this.bytes.length;
  }

  toString(): string {
    let start = 0;
    let end = this.bytes.length;
    const limitStart = this.keepFrom < 0 ? end : this.keepFrom;
    while (start < limitStart && this.bytes[start] === 0x20) start++;
    while (end > Math.max(start, this.keepUntil) && this.bytes[end - 1] === 0x20) end--;
    return Buffer.from(this.bytes.slice(start, end)).toString('utf8');
  }
}

function finish(type: string, value: ValueBuilder): Rdn | null {
  const t = type.trim();
  if (!/^[A-Za-z][A-Za-z0-9-]*$|^\d+(\.\d+)*$/.test(t)) return null;
  return { type: t.toLowerCase(), value: value.toString() };
}

/** The comparable form: lower-case types and values, no stray spaces. */
export function normalizeDn(text: string): string | null {
  const rdns = parseDn(text);
  return rdns ? rdns.map((r) => `${r.type}=${escapeValue(r.value.toLowerCase())}`).join(',') : null;
}

/** RFC 4514 §2.4: escape the specials so a name with a comma stays one RDN. */
export function escapeValue(value: string): string {
  return value
    .replace(/[\\,+"<>;=]/g, (c) => `\\${c}`)
    .replace(/^[ #]/, (c) => `\\${c}`)
    .replace(/ $/, '\\ ');
}

/** Whether `dn` (normalized) is `base` or below it. */
export function isUnder(dn: string, base: string): boolean {
  return dn === base || dn.endsWith(`,${base}`) || base === '';
}

/** How many RDNs `dn` has below `base` (0 when equal); -1 when not under it. */
export function depthBelow(dn: string, base: string): number {
  if (!isUnder(dn, base)) return -1;
  if (dn === base) return 0;
  const rest = base === '' ? dn : dn.slice(0, dn.length - base.length - 1);
  return (parseDn(rest) ?? []).length;
}
