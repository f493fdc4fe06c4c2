// Building the DOM from data: every value becomes a text node or an attribute, never markup,
// so nothing the API returns can inject HTML. Listeners are attached with addEventListener
// (the CSP forbids inline handlers).

const SVG = 'http://www.w3.org/2000/svg';

function build(element, attrs, children) {
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') element.addEventListener(key.slice(2), value);
    else element.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** h('a', {href}, 'text', child…): an HTML element. */
export const h = (tag, attrs, ...children) => build(document.createElement(tag), attrs, children);
/** s('rect', {x, y}): an SVG element. */
export const s = (tag, attrs, ...children) => build(document.createElementNS(SVG, tag), attrs, children);

let fieldIds = 0;
/** A labelled form field; `input` gets an id and the label points at it. */
export function field(label, input, hint) {
  const id = input.id || `f${++fieldIds}`;
  input.id = id;
  const hintId = hint ? `${id}-hint` : null;
  if (hintId) input.setAttribute('aria-describedby', hintId);
  return h('div', { class: 'field', 'data-field': input.name }, h('label', { for: id }, label), input, hint ? h('p', { class: 'muted', id: hintId }, hint) : null);
}

export const input = (name, attrs = {}) => h('input', { type: 'text', name, ...attrs });

export function select(name, options, selected) {
  return h('select', { name }, options.map(([value, label]) => h('option', { value, selected: String(value) === String(selected) }, label)));
}

/** A table that becomes a list of cards at phone width: each cell carries its column's name. */
export function table(columns, rows) {
  if (rows.length === 0) return h('p', { class: 'empty-state' }, 'None.');
  return h(
    'div',
    { class: 'table-scroll' },
    h(
      'table',
      {},
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((cell, i) => h('td', { 'data-label': columns[i] || null }, cell))))),
    ),
  );
}

/** A read-only value with a copy button. */
export function copyable(label, value, { multiline = false } = {}) {
  const box = multiline ? h('pre', { class: 'snippet', tabindex: '0' }, value) : h('code', { class: 'secret' }, value);
  const copy = h('button', { type: 'button', class: 'secondary small', onclick: async () => {
    await navigator.clipboard?.writeText(value).catch(() => {});
    copy.textContent = 'Copied';
    setTimeout(() => { copy.textContent = 'Copy'; }, 1500);
  } }, 'Copy');
  return h('div', { class: 'copyable', 'data-copy': label }, h('div', { class: 'copyable-head' }, h('strong', {}, label), copy), box);
}

const pad = (n) => String(n).padStart(2, '0');
/** An instant as local "YYYY-MM-DD HH:MM", with the ISO time on hover. */
export function when(iso) {
  if (!iso) return h('span', { class: 'muted' }, 'never');
  const d = new Date(iso);
  const text = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return h('time', { datetime: d.toISOString(), title: d.toISOString() }, text);
}
