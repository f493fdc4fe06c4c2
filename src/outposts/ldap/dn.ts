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
  let value = '';
  let inValue = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '\\') {
      const hex = text.slice(i + 1, i + 3);
      if (/^[0-9a-fA-F]{2}$/.test(hex)) {
        value += String.fromCharCode(Number.parseInt(hex, 16));
        i += 2;
      } else if (i + 1 < text.length) {
        value += text[i + 1];
        i += 1;
      } else return null;
      continue;
    }
    if (!inValue) {
      if (c === '=') inValue = true;
      else if (c === ',' || c === '+') return null;
      else type += c;
      continue;
    }
    if (c === ',' || c === ';') {
      const rdn = finish(type, value);
      if (!rdn) return null;
      rdns.push(rdn);
      type = '';
      value = '';
      inValue = false;
      continue;
    }
    value += c;
  }
  if (!inValue) return null;
  const last = finish(type, value);
  if (!last) return null;
  rdns.push(last);
  return rdns;
}

function finish(type: string, value: string): Rdn | null {
  const t = type.trim();
  if (!/^[A-Za-z][A-Za-z0-9-]*$|^\d+(\.\d+)*$/.test(t)) return null;
  return { type: t.toLowerCase(), value: value.trim() };
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
