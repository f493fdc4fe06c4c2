import { currentBrand } from './brand.ts';

/** The smallest safe templating: every interpolated value goes through escapeHtml. */
export const escapeHtml = (value: unknown): string =>
  String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

/** A tagged template whose ${values} are escaped, except those made by `raw` or nested `html`. */
export class SafeHtml {
  readonly value: string;
  constructor(value: string) {
    this.value = value;
  }
  toString(): string {
    return this.value;
  }
}

export const raw = (markup: string): SafeHtml => new SafeHtml(markup);

export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    const part = Array.isArray(value)
      ? value.map((v) => (v instanceof SafeHtml ? v.value : escapeHtml(v))).join('')
      : value instanceof SafeHtml
        ? value.value
        : value === false || value === null || value === undefined
          ? ''
          : escapeHtml(value);
    out += part + (strings[i + 1] ?? '');
  });
  return new SafeHtml(out);
}

export function page(title: string, body: SafeHtml, options: { scripts?: string[]; modules?: string[]; styles?: string[]; refreshTo?: string } = {}): string {
  const brand = currentBrand();
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title === brand.title ? title : `${title} – ${brand.title}`}</title>
<link rel="stylesheet" href="/static/gatehouse.css">
${(options.styles ?? []).map((href) => html`<link rel="stylesheet" href="${href}">`)}
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
${options.refreshTo ? html`<meta http-equiv="refresh" content="0;url=${options.refreshTo}">` : ''}
${(options.scripts ?? []).map((src) => html`<script src="${src}" defer></script>`)}
${(options.modules ?? []).map((src) => html`<script type="module" src="${src}"></script>`)}
</head>
<body>
<main class="card">
${brand.logoUrl ? html`<img class="logo" src="${brand.logoUrl}" alt="${brand.title}">` : ''}
${body}
</main>
</body>
</html>`.value;
}
