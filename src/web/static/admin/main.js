import { h } from './dom.js';
import { clearNotice } from './ui.js';

// The admin area's router: #/<section>/<rest…> renders one view module into #view.
const SECTIONS = {
  dashboard: () => import('./dashboard.js'),
  applications: () => import('./applications.js'),
  outposts: () => import('./outposts.js'),
  users: () => import('./users.js'),
  groups: () => import('./groups.js'),
  events: () => import('./events.js'),
  flows: () => import('./flows.js'),
  tokens: () => import('./tokens.js'),
  system: () => import('./system.js'),
};

const view = document.getElementById('view');
let lastHash = null;

async function render() {
  const [path, query = ''] = location.hash.replace(/^#\/?/, '').split('?');
  const [section = 'dashboard', ...rest] = path.split('/').filter(Boolean).map(decodeURIComponent);
  const load = SECTIONS[section] ?? SECTIONS.dashboard;
  for (const link of document.querySelectorAll('.admin-nav a')) {
    if (link.dataset.section === section) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  const isFirstRender = lastHash === null;
  const isNewPage = location.hash !== lastHash;
  lastHash = location.hash;
  if (isNewPage) clearNotice();
  view.setAttribute('aria-busy', 'true');
  try {
    const module = await load();
    const content = await module.render(rest, { refresh: render, params: new URLSearchParams(query) });
    view.replaceChildren(content);
    document.title = `${view.querySelector('h1')?.textContent ?? 'Admin'} · Gatehouse admin`;
  } catch (error) {
    view.replaceChildren(h('h1', {}, 'Something went wrong'), h('p', { class: 'notice error' }, error.message));
  } finally {
    view.removeAttribute('aria-busy');
  }
  // Keyboard and screen-reader users land on the new content, as after a page load; the page
  // load itself keeps the browser's own start (the skip link comes first).
  if (isNewPage && !isFirstRender && document.activeElement?.closest('#view') == null) view.focus();
}

// The skip link must not change the hash (the router's address): it only moves focus.
document.querySelector('.skip-link')?.addEventListener('click', (event) => {
  event.preventDefault();
  view.focus();
});
window.addEventListener('hashchange', render);
render();
