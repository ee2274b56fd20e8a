// ui/js/deps.js — the dependency page (/dependencies?lookback=1h): the
// service graph of the calls that started in a time range, from
// /api/dependencies (call counts) and /api/v2/dependencies (error counts).
// Layout: services in layers by their longest call chain from a caller
// nobody calls (cycles broken where a depth-first walk meets them), each
// layer ordered to keep edges short; edges are labelled with the call
// count and the error rate.

import {h, s, clear, colorFor} from './dom.js';
import * as api from './api.js';
import {loadingState, errorState} from './trace.js';

const RANGES = [['1h', 'Last hour', 3600e3], ['6h', 'Last 6 hours', 6 * 3600e3],
  ['24h', 'Last 24 hours', 86400e3], ['2d', 'Last 2 days', 2 * 86400e3], ['7d', 'Last 7 days', 7 * 86400e3]];

export function renderDeps(main, ctx) {
  const ac = new AbortController();
  const want = ctx.params.get('lookback') || '24h';
  const range = RANGES.find((r) => r[0] === want) || RANGES[2];
  const sel = h('select', {'aria-label': 'time range', id: 'd-range'},
    RANGES.map(([v, label]) => h('option', {value: v}, label)));
  sel.value = range[0];
  sel.addEventListener('change', () => ctx.navigate('/dependencies?lookback=' + sel.value));
  const body = h('div', {class: 'deps-body'});
  clear(main).appendChild(h('div', {class: 'deps-page'},
    h('div', {class: 'deps-head'}, h('h1', null, 'Service dependencies'), sel), body));
  body.appendChild(loadingState('Loading dependencies…'));
  const endTs = Date.now(), lookback = range[2];
  Promise.all([
    api.dependencies(endTs, lookback, {signal: ac.signal}),
    api.dependencyErrors(endTs, lookback, {signal: ac.signal}).catch((e) => {
      if (e.name === 'AbortError') throw e;
      return null; // error rates are a bonus
    }),
  ]).then(([links, zlinks]) => {
    clear(body);
    links = links || [];
    if (!links.length) {
      body.appendChild(h('div', {class: 'state noresults', role: 'status'},
        h('h2', null, 'No dependencies'),
        h('p', null, 'No calls between services were recorded in this time range.')));
      return;
    }
    const errs = new Map();
    for (const z of zlinks || []) errs.set(z.parent + '\u0000' + z.child, z.errorCount || 0);
    const edges = links.map((l) => ({from: l.parent, to: l.child, calls: l.callCount,
      errors: errs.has(l.parent + '\u0000' + l.child) ? errs.get(l.parent + '\u0000' + l.child) : null}));
    body.append(graph(edges), table(edges));
  }).catch((e) => {
    if (e.name === 'AbortError') return;
    clear(body).appendChild(errorState(e, undefined, () => ctx.reload()));
  });
  return () => ac.abort();
}

const rate = (e) => (e.errors === null ? '' : ((100 * e.errors) / Math.max(1, e.calls)).toFixed(1) + '% errors');

function layout(edges) {
  const names = [...new Set(edges.flatMap((e) => [e.from, e.to]))].sort();
  const out = new Map(names.map((n) => [n, []]));
  const inDeg = new Map(names.map((n) => [n, 0]));
  for (const e of edges) if (e.from !== e.to) { out.get(e.from).push(e.to); inDeg.set(e.to, inDeg.get(e.to) + 1); }
  // break cycles: drop edges a DFS finds pointing back into its stack
  const state = new Map(), back = new Set();
  const dfs = (n) => {
    state.set(n, 1);
    for (const m of out.get(n)) {
      if (state.get(m) === 1) back.add(n + '\u0000' + m);
      else if (!state.get(m)) dfs(m);
    }
    state.set(n, 2);
  };
  for (const n of names.filter((x) => inDeg.get(x) === 0)) if (!state.get(n)) dfs(n);
  for (const n of names) if (!state.get(n)) dfs(n);
  // longest path layering over the acyclic rest
  const layer = new Map(names.map((n) => [n, 0]));
  for (let pass = 0; pass < names.length; pass++) {
    let changed = false;
    for (const e of edges) {
      if (e.from === e.to || back.has(e.from + '\u0000' + e.to)) continue;
      if (layer.get(e.to) < layer.get(e.from) + 1) { layer.set(e.to, layer.get(e.from) + 1); changed = true; }
    }
    if (!changed) break;
  }
  const layers = [];
  for (const n of names) (layers[layer.get(n)] ||= []).push(n);
  // order within layers by the mean position of their callers (two sweeps)
  const posOf = new Map();
  layers.forEach((l) => l.forEach((n, k) => posOf.set(n, k)));
  for (let sweep = 0; sweep < 2; sweep++) {
    for (let k = 1; k < layers.length; k++) {
      const score = (n) => {
        const ps = edges.filter((e) => e.to === n && layer.get(e.from) < k).map((e) => posOf.get(e.from));
        return ps.length ? ps.reduce((a, b) => a + b, 0) / ps.length : posOf.get(n);
      };
      layers[k].sort((a, b) => score(a) - score(b));
      layers[k].forEach((n, i) => posOf.set(n, i));
    }
  }
  return {layers, layer, back};
}

function graph(edges) {
  const {layers} = layout(edges);
  const NW = 160, NH = 36, GX = 120, GY = 34;
  const maxRows = Math.max(...layers.map((l) => l.length));
  const W = layers.length * NW + (layers.length - 1) * GX + 40;
  const H = maxRows * NH + (maxRows - 1) * GY + 40;
  const at = new Map();
  layers.forEach((l, k) => {
    const off = ((maxRows - l.length) * (NH + GY)) / 2;
    l.forEach((n, i) => at.set(n, {x: 20 + k * (NW + GX), y: 20 + off + i * (NH + GY)}));
  });
  const svg = s('svg', {class: 'dep-graph', viewBox: '0 0 ' + W + ' ' + H, width: W, height: H,
    role: 'img', 'aria-label': 'service dependency graph'});
  svg.appendChild(s('defs', null, s('marker', {id: 'arrow', viewBox: '0 0 10 10', refX: '10', refY: '5',
    markerWidth: '7', markerHeight: '7', orient: 'auto-start-reverse'}, s('path', {d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead'}))));
  for (const e of edges) {
    const a = at.get(e.from), b = at.get(e.to);
    let d, lx, ly;
    if (e.from === e.to) {
      d = `M${a.x + NW - 30},${a.y} C${a.x + NW - 10},${a.y - 40} ${a.x + NW + 30},${a.y - 10} ${a.x + NW},${a.y + 8}`;
      lx = a.x + NW; ly = a.y - 22;
    } else {
      const forward = b.x > a.x;
      const x1 = forward ? a.x + NW : a.x + NW / 2, y1 = forward ? a.y + NH / 2 : a.y + NH;
      const x2 = forward ? b.x : b.x + NW / 2, y2 = forward ? b.y + NH / 2 : b.y + NH;
      const bend = forward ? Math.max(40, (x2 - x1) / 2) : 60;
      d = forward ? `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`
        : `M${x1},${y1} C${x1},${y1 + bend} ${x2},${y2 + bend} ${x2},${y2}`;
      lx = (x1 + x2) / 2; ly = (y1 + y2) / 2 - 6 + (forward ? 0 : bend * 0.75);
    }
    const g = s('g', {class: 'edge' + (e.errors ? ' has-errors' : ''),
      dataset: {parent: e.from, child: e.to, calls: String(e.calls)}},
    s('path', {d, 'marker-end': 'url(#arrow)'}),
    s('text', {x: lx, y: ly, 'text-anchor': 'middle', class: 'edge-label'},
      e.calls + (e.calls === 1 ? ' call' : ' calls')),
    e.errors ? s('text', {x: lx, y: ly + 13, 'text-anchor': 'middle', class: 'edge-label err'}, rate(e)) : null,
    s('title', null, e.from + ' → ' + e.to + ': ' + e.calls + ' calls' + (rate(e) ? ', ' + rate(e) : '')));
    svg.appendChild(g);
  }
  for (const [n, p] of at) {
    const label = n.length > 22 ? n.slice(0, 21) + '…' : n;
    svg.appendChild(s('g', {class: 'node', dataset: {service: n}},
      s('rect', {x: p.x, y: p.y, width: NW, height: NH, rx: 6, style: {stroke: colorFor(n)}}),
      s('rect', {x: p.x, y: p.y, width: 6, height: NH, style: {fill: colorFor(n)}}),
      s('text', {x: p.x + 14, y: p.y + NH / 2 + 4}, label),
      s('title', null, n)));
  }
  return h('div', {class: 'graph-wrap'}, svg);
}

function table(edges) {
  return h('table', {class: 'dep-table'},
    h('thead', null, h('tr', null, h('th', null, 'Caller'), h('th', null, 'Callee'),
      h('th', {class: 'num'}, 'Calls'), h('th', {class: 'num'}, 'Errors'))),
    h('tbody', null, edges.slice().sort((a, b) => b.calls - a.calls).map((e) =>
      h('tr', null, h('td', null, e.from), h('td', null, e.to), h('td', {class: 'num'}, String(e.calls)),
        h('td', {class: 'num'}, e.errors === null ? '—' : e.errors + ' (' + rate(e).replace(' errors', '') + ')')))));
}
