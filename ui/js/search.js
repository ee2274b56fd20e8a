// ui/js/search.js — the search page (/ and /search?...): the form, whose
// state lives in the URL (so a search can be shared and reloaded), the
// scatter plot of duration against time, and the result list.

import {h, s, clear, fmtDuration, fmtTime, fmtAgo, colorFor, serviceChip, parseDuration} from './dom.js';
import * as api from './api.js';
import {loadingState, errorState} from './trace.js';

const LOOKBACKS = [
  ['15m', 'Last 15 minutes', 15 * 60e3], ['30m', 'Last 30 minutes', 30 * 60e3],
  ['1h', 'Last hour', 3600e3], ['2h', 'Last 2 hours', 7200e3], ['6h', 'Last 6 hours', 6 * 3600e3],
  ['12h', 'Last 12 hours', 12 * 3600e3], ['24h', 'Last 24 hours', 86400e3],
  ['2d', 'Last 2 days', 2 * 86400e3], ['7d', 'Last 7 days', 7 * 86400e3], ['custom', 'Custom range', 0],
];

// "a=1 b=\"x y\" c" → {a: "1", b: "x y"}; throws on a term without '='.
export function parseTags(text) {
  const out = {};
  const re = /\s*([^\s=]+)=(?:"((?:[^"\\]|\\.)*)"|(\S*))/y;
  let at = 0;
  const t = text.trim();
  while (at < t.length) {
    re.lastIndex = at;
    const m = re.exec(t);
    if (!m) throw new Error('tags: expected key=value at "' + t.slice(at).trim().split(/\s/)[0] + '"');
    out[m[1]] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3];
    at = re.lastIndex;
    while (at < t.length && /\s/.test(t[at])) at++;
  }
  return out;
}

function toLocalInput(ms) {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60e3);
  return d.toISOString().slice(0, 16);
}

export function renderSearch(main, ctx) {
  const p = ctx.params;
  const ac = new AbortController();
  const svcSel = h('select', {name: 'service', id: 'f-service', required: true},
    h('option', {value: ''}, 'Loading…'));
  const opSel = h('select', {name: 'operation', id: 'f-operation'}, h('option', {value: ''}, 'all'));
  const tags = h('input', {name: 'tags', id: 'f-tags', type: 'text', spellcheck: 'false',
    placeholder: 'http.status_code=500 error=true', value: p.get('tags') || ''});
  const lookback = h('select', {name: 'lookback', id: 'f-lookback'},
    LOOKBACKS.map(([v, label]) => h('option', {value: v}, label)));
  lookback.value = p.get('lookback') || '1h';
  const now = Date.now();
  const cStart = h('input', {type: 'datetime-local', id: 'f-start', 'aria-label': 'start',
    value: toLocalInput(p.get('start') ? +p.get('start') / 1000 : now - 3600e3)});
  const cEnd = h('input', {type: 'datetime-local', id: 'f-end', 'aria-label': 'end',
    value: toLocalInput(p.get('end') ? +p.get('end') / 1000 : now)});
  const custom = h('div', {class: 'custom-range'}, h('label', null, 'From', cStart), h('label', null, 'To', cEnd));
  const showCustom = () => { custom.hidden = lookback.value !== 'custom'; };
  lookback.addEventListener('change', showCustom);
  showCustom();
  const minD = h('input', {name: 'minDuration', id: 'f-min', type: 'text', placeholder: 'e.g. 1.2s, 100ms',
    value: p.get('minDuration') || ''});
  const maxD = h('input', {name: 'maxDuration', id: 'f-max', type: 'text', placeholder: 'e.g. 1.1s',
    value: p.get('maxDuration') || ''});
  const limit = h('input', {name: 'limit', id: 'f-limit', type: 'number', min: '1', max: '1500',
    value: p.get('limit') || '20'});
  const formErr = h('p', {class: 'form-error', role: 'alert'});
  const field = (label, el) => h('label', {class: 'field', for: el.id}, h('span', null, label), el);
  const form = h('form', {class: 'search-form', autocomplete: 'off'},
    h('h2', null, 'Search'),
    field('Service', svcSel), field('Operation', opSel), field('Tags', tags),
    field('Lookback', lookback), custom,
    h('div', {class: 'field-row'}, field('Min duration', minD), field('Max duration', maxD)),
    field('Limit results', limit), formErr,
    h('button', {type: 'submit', class: 'primary'}, 'Find Traces'));
  const results = h('section', {class: 'results', 'aria-label': 'results'});
  clear(main).appendChild(h('div', {class: 'search-page'}, form, results));

  const loadOps = (svc, want) => {
    clear(opSel).appendChild(h('option', {value: ''}, 'all'));
    if (!svc) return;
    api.operations(svc, {signal: ac.signal}).then((ops) => {
      for (const o of ops || []) opSel.appendChild(h('option', {value: o}, o));
      if (want) opSel.value = want;
    }).catch(() => {});
  };
  svcSel.addEventListener('change', () => loadOps(svcSel.value));

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    formErr.textContent = '';
    const q = {service: svcSel.value, operation: opSel.value, tags: tags.value.trim(),
      lookback: lookback.value, minDuration: minD.value.trim(), maxDuration: maxD.value.trim(),
      limit: limit.value};
    if (!q.service) { formErr.textContent = 'Pick a service.'; return; }
    try { parseTags(q.tags); } catch (err) { formErr.textContent = err.message; return; }
    for (const [k, v] of [['Min duration', q.minDuration], ['Max duration', q.maxDuration]])
      if (v && isNaN(parseDuration(v))) { formErr.textContent = k + ': "' + v + '" is not a duration (e.g. 100ms, 1.5s)'; return; }
    if (q.lookback === 'custom') {
      q.start = new Date(cStart.value).getTime() * 1000;
      q.end = new Date(cEnd.value).getTime() * 1000;
    }
    ctx.navigate('/search?' + api.query(q));
  });

  api.services({signal: ac.signal}).then((list) => {
    clear(svcSel).appendChild(h('option', {value: ''}, list && list.length ? 'Select a service' : 'No services yet'));
    for (const x of list || []) svcSel.appendChild(h('option', {value: x}, x));
    const want = p.get('service');
    if (want) {
      if (!(list || []).includes(want)) svcSel.appendChild(h('option', {value: want}, want));
      svcSel.value = want;
      loadOps(want, p.get('operation'));
    }
  }).catch((e) => {
    if (e.name === 'AbortError') return;
    clear(svcSel).appendChild(h('option', {value: ''}, '—'));
    if (!p.get('service')) clear(results).appendChild(errorState(e, undefined, () => ctx.reload()));
  });

  if (p.get('service')) runSearch(p, results, ac, ctx);
  else results.appendChild(h('div', {class: 'state empty'},
    h('h2', null, 'Find traces'),
    h('p', null, 'Pick a service and press Find Traces, or paste a trace id in the box at the top.')));
  return () => ac.abort();
}

function runSearch(p, results, ac, ctx) {
  let tagObj;
  try { tagObj = parseTags(p.get('tags') || ''); } catch (e) {
    clear(results).appendChild(errorState(e)); return;
  }
  const lb = LOOKBACKS.find((x) => x[0] === p.get('lookback')) || LOOKBACKS[2];
  let start, end;
  if (lb[0] === 'custom') { start = p.get('start'); end = p.get('end'); } else {
    end = Date.now() * 1000;
    start = end - lb[2] * 1000;
  }
  const q = {service: p.get('service'), operation: p.get('operation') || undefined,
    tags: Object.keys(tagObj).length ? JSON.stringify(tagObj) : undefined,
    start, end, minDuration: p.get('minDuration') || undefined,
    maxDuration: p.get('maxDuration') || undefined, limit: p.get('limit') || 20,
    lookback: lb[0] === 'custom' ? undefined : lb[0]};
  clear(results).appendChild(loadingState('Searching…'));
  api.searchTraces(q, {signal: ac.signal}).then((traces) => {
    clear(results);
    const sums = (traces || []).map(summarize);
    if (!sums.length) {
      results.appendChild(h('div', {class: 'state noresults', role: 'status'},
        h('h2', null, 'No traces found'),
        h('p', null, 'Nothing matched in this time range. Widen the lookback, or loosen the tags or durations.')));
      return;
    }
    const sortSel = h('select', {'aria-label': 'sort', class: 'sort'},
      h('option', {value: 'recent'}, 'Most recent'), h('option', {value: 'longest'}, 'Longest first'),
      h('option', {value: 'shortest'}, 'Shortest first'), h('option', {value: 'spans'}, 'Most spans'),
      h('option', {value: 'errors'}, 'Most errors'));
    const list = h('ol', {class: 'trace-list'});
    const draw = () => {
      const by = {recent: (a, b) => b.start - a.start, longest: (a, b) => b.duration - a.duration,
        shortest: (a, b) => a.duration - b.duration, spans: (a, b) => b.spans - a.spans,
        errors: (a, b) => b.errors - a.errors}[sortSel.value];
      const maxDur = Math.max(...sums.map((x) => x.duration), 1);
      clear(list).append(...sums.slice().sort(by).map((x) => resultItem(x, maxDur)));
    };
    sortSel.addEventListener('change', draw);
    results.append(scatter(sums, ctx),
      h('div', {class: 'results-head'}, h('h2', null, sums.length + (sums.length === 1 ? ' Trace' : ' Traces')), sortSel),
      list);
    draw();
  }).catch((e) => {
    if (e.name === 'AbortError') return;
    clear(results).appendChild(errorState(e, undefined, () => ctx.reload()));
  });
}

function summarize(t) {
  const spans = t.spans || [];
  const byId = new Set(spans.map((x) => x.spanID));
  let root = null, t0 = Infinity, t1 = -Infinity, errors = 0;
  const svcCount = new Map();
  for (const sp of spans) {
    const p = t.processes[sp.processID];
    const svc = p && p.serviceName ? p.serviceName : 'unknown_service';
    svcCount.set(svc, (svcCount.get(svc) || 0) + 1);
    t0 = Math.min(t0, sp.startTime);
    t1 = Math.max(t1, sp.startTime + sp.duration);
    const hasParent = (sp.references || []).some((r) => r.refType === 'CHILD_OF' && byId.has(r.spanID));
    if (!hasParent && (!root || sp.startTime < root.sp.startTime)) root = {sp, svc};
    if ((sp.tags || []).some((g) => (g.key === 'error' && (g.value === true || g.value === 'true')) ||
        (g.key === 'otel.status_code' && g.value === 'ERROR'))) errors++;
  }
  if (!root && spans.length) root = {sp: spans[0], svc: svcCount.keys().next().value};
  return {id: t.traceID, start: t0, duration: t1 - t0, spans: spans.length, errors,
    rootSvc: root ? root.svc : '?', rootOp: root ? root.sp.operationName : '?',
    services: [...svcCount.entries()].sort((a, b) => b[1] - a[1])};
}

function resultItem(x, maxDur) {
  return h('li', {class: 'trace-item' + (x.errors ? ' has-errors' : ''), dataset: {traceId: x.id}},
    h('a', {href: '/trace/' + x.id, class: 'trace-link'},
      h('div', {class: 'ti-head'},
        h('span', {class: 'swatch', style: {background: colorFor(x.rootSvc)}}),
        h('span', {class: 'ti-title'}, x.rootSvc + ': ' + x.rootOp),
        h('code', {class: 'ti-id'}, x.id.slice(0, 7)),
        h('span', {class: 'ti-dur'}, fmtDuration(x.duration))),
      h('div', {class: 'ti-bar', style: {width: Math.max(0.5, (x.duration / maxDur) * 100) + '%'}}),
      h('div', {class: 'ti-body'},
        h('span', {class: 'ti-spans'}, x.spans + (x.spans === 1 ? ' span' : ' spans')),
        x.errors ? h('span', {class: 'ti-errors'}, x.errors + (x.errors === 1 ? ' error' : ' errors')) : null,
        h('span', {class: 'ti-services'}, x.services.map(([svc, n]) => serviceChip(svc, n))),
        h('span', {class: 'ti-when'}, fmtTime(x.start), h('small', null, ' ' + fmtAgo(x.start))))));
}

// Duration against start time; a dot per trace, sized by its span count,
// red when it has errors; a dot opens its trace.
function scatter(sums, ctx) {
  const W = 1000, H = 180, L = 60, R = 12, T = 10, B = 26;
  const tmin = Math.min(...sums.map((x) => x.start)), tmax = Math.max(...sums.map((x) => x.start));
  const dmax = Math.max(...sums.map((x) => x.duration), 1);
  const smax = Math.max(...sums.map((x) => x.spans), 1);
  const X = (t) => L + (tmax > tmin ? ((t - tmin) / (tmax - tmin)) * (W - L - R) : (W - L - R) / 2);
  const Y = (d) => H - B - (d / dmax) * (H - T - B);
  const svg = s('svg', {class: 'scatter', viewBox: '0 0 ' + W + ' ' + H,
    role: 'img', 'aria-label': 'trace durations over time'});
  for (let k = 0; k <= 2; k++) {
    const d = (dmax * k) / 2;
    svg.append(s('line', {x1: L, x2: W - R, y1: Y(d), y2: Y(d), class: 'grid'}),
      s('text', {x: L - 6, y: Y(d) + 4, 'text-anchor': 'end', class: 'axis'}, fmtDuration(d)));
  }
  svg.append(s('text', {x: L, y: H - 6, class: 'axis'}, fmtTime(tmin).slice(11, 19)),
    s('text', {x: W - R, y: H - 6, 'text-anchor': 'end', class: 'axis'}, fmtTime(tmax).slice(11, 19)));
  for (const x of sums) {
    const r = 4 + 6 * Math.sqrt(x.spans / smax);
    const c = s('circle', {cx: X(x.start), cy: Y(x.duration), r, class: 'dot' + (x.errors ? ' err' : ''),
      tabindex: '0', role: 'link', dataset: {traceId: x.id}},
    s('title', null, x.rootSvc + ': ' + x.rootOp + ' — ' + fmtDuration(x.duration) + ', ' + x.spans + ' spans'));
    const open = () => ctx.navigate('/trace/' + x.id);
    c.addEventListener('click', open);
    c.addEventListener('keydown', (e) => { if (e.key === 'Enter') open(); });
    svg.appendChild(c);
  }
  return h('div', {class: 'scatter-wrap'}, svg);
}
