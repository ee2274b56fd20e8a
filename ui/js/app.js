// ui/js/app.js — the single page's router. Every page is a URL (stitchd
// answers index.html for each): /  and /search?... (search.js),
// /trace/{id}?span=... (trace.js), /dependencies?lookback=... (deps.js).
// Links inside the app are followed with history.pushState; a page's
// render function returns a cleanup that runs when the page is left.

import {renderSearch} from './search.js';
import {renderTrace} from './trace.js';
import {renderDeps} from './deps.js';
import {isTraceId} from './dom.js';

const main = document.getElementById('main');
let leave = null;

function route() {
  if (leave) { try { leave(); } catch (_) { /* a page's cleanup must not stop the next */ } }
  leave = null;
  const url = new URL(location.href);
  const path = url.pathname.replace(/\/+$/, '') || '/';
  const ctx = {params: url.searchParams, navigate, reload: route, state: history.state};
  let nav = 'search';
  let m;
  if ((m = /^\/trace\/([^/]+)$/.exec(path))) {
    nav = '';
    ctx.id = decodeURIComponent(m[1]);
    document.title = 'Trace ' + ctx.id + ' — stitch';
    leave = renderTrace(main, ctx);
  } else if (path === '/dependencies') {
    nav = 'dependencies';
    document.title = 'Dependencies — stitch';
    leave = renderDeps(main, ctx);
  } else {
    document.title = 'Search — stitch';
    leave = renderSearch(main, ctx);
  }
  for (const a of document.querySelectorAll('.navlink'))
    a.classList.toggle('active', a.dataset.nav === nav);
}

export function navigate(to, replace = false) {
  if (replace) history.replaceState(null, '', to); else history.pushState(null, '', to);
  route();
  window.scrollTo(0, 0);
}

document.addEventListener('click', (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.target.closest('a[href]');
  if (!a || a.target || a.hasAttribute('download')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith('/api/') || url.pathname.startsWith('/static/')) return;
  e.preventDefault();
  navigate(url.pathname + url.search);
});

window.addEventListener('popstate', route);

document.getElementById('lookup').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = document.getElementById('lookup-id');
  const id = input.value.trim();
  if (!id) return;
  input.setCustomValidity(isTraceId(id) ? '' : 'A trace id is 1 to 32 hex digits');
  if (!isTraceId(id)) { input.reportValidity(); return; }
  input.value = '';
  navigate('/trace/' + id.toLowerCase());
});
document.getElementById('lookup-id').addEventListener('input', (e) => e.target.setCustomValidity(''));

route();
