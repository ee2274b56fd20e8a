// ui/js/trace.js — the trace page (/trace/{id}): header, minimap, time
// ruler, the waterfall, find-in-trace, span details, keyboard, download.
//
// The waterfall is virtualized: a spacer as tall as all visible rows, and a
// small pool of row elements (one screenful plus a margin) that are moved
// and refilled as the view scrolls. Each refill only sets text and a few
// style properties; the geometry comes from the model (model.js), computed
// once. So the cost of a frame does not depend on the number of spans, and
// a 50,000-span trace scrolls like a 50-span one.

import {h, clear, fmtDuration, fmtTime, colorFor, serviceChip} from './dom.js';
import * as api from './api.js';
import {buildModel, visibleRows, hasChildren, searchText, spanKind} from './model.js';

const ROW = 24;        // px per row (also in app.css: .row height)
const OVERSCAN = 8;    // rows drawn above and below the view
const INDENT = 14;     // px per depth level
const MAX_INDENT = 24; // levels drawn; deeper rows show their depth as a number

export function renderTrace(main, ctx) {
  const {id, params, state} = ctx;
  const page = h('div', {class: 'trace-page'});
  clear(main).appendChild(page);
  page.appendChild(loadingState('Loading trace ' + id + '…'));
  const ac = new AbortController();
  const t0 = performance.now();
  api.trace(id, {signal: ac.signal}).then((tr) => {
    if (!tr || !tr.n) throw new api.ApiError('notfound', 404, 'trace not found');
    const m = buildModel(tr);
    performance.mark('stitch:trace-model');
    clear(page);
    const view = new TraceView(page, m, params, state);
    window.__stitchTraceView = view; // for tests and the benchmark
    view.loadMs = performance.now() - t0;
    // the first waterfall is in the DOM now, and on screen after the next frame
    performance.mark('stitch:waterfall');
    requestAnimationFrame(() => requestAnimationFrame(() => performance.mark('stitch:waterfall-painted')));
  }).catch((e) => {
    if (e.name === 'AbortError') return;
    clear(page).appendChild(errorState(e, id, () => renderTrace(main, ctx)));
  });
  return () => { ac.abort(); if (window.__stitchTraceView) window.__stitchTraceView.destroy(); };
}

export function loadingState(text) {
  return h('div', {class: 'state loading', role: 'status'}, h('span', {class: 'spinner'}), text);
}

export function errorState(e, id, retry) {
  if (e.kind === 'auth') return tokenState(e, retry);
  if (e.kind === 'notfound' && id !== undefined)
    return h('div', {class: 'state notfound', role: 'alert'},
      h('h2', null, 'Trace not found'),
      h('p', null, 'No trace with id ', h('code', null, id), ' is stored in stitchd.'),
      h('p', null, h('a', {href: '/search'}, 'Search for traces')));
  if (e.kind === 'unreachable')
    return h('div', {class: 'state unreachable', role: 'alert'},
      h('h2', null, 'Cannot reach stitchd'),
      h('p', null, e.message),
      h('p', null, 'Check that stitchd is running and that this page comes from it.'),
      retry ? h('button', {type: 'button', onclick: retry}, 'Retry') : null);
  return h('div', {class: 'state failed', role: 'alert'},
    h('h2', null, 'The query failed'), h('p', null, e.message),
    retry ? h('button', {type: 'button', onclick: retry}, 'Retry') : null);
}

// 401 from the query API: this stitchd wants a query token. The token goes
// to sessionStorage (api.js) and the page's request runs again; a refused
// token brings this state back with stitchd's message.
function tokenState(e, retry) {
  const input = h('input', {type: 'password', class: 'token-input', name: 'token', autocomplete: 'off',
    spellcheck: 'false', 'aria-label': 'query token', placeholder: 'token'});
  const form = h('form', {class: 'token-form', onsubmit: (ev) => {
    ev.preventDefault();
    const t = input.value.trim();
    if (!t) { input.focus(); return; }
    api.setToken(t);
    if (retry) retry(); else location.reload();
  }}, input, h('button', {type: 'submit', class: 'primary'}, 'Use token'));
  const st = h('div', {class: 'state auth', role: 'alert'},
    h('h2', null, 'This stitchd needs a token'),
    h('p', null, 'Its query API answers only requests that carry the query token (',
      h('code', {class: 'nowrap'}, 'stitchd --query-token-file'),
      '). Enter it to go on; it is kept for this browser tab only.'),
    e.sentToken ? h('p', {class: 'token-error'}, 'The token was not accepted (' + e.message + '). Try again.') : null,
    form);
  setTimeout(() => input.focus(), 0);
  return st;
}

class TraceView {
  constructor(page, m, params, state) {
    this.m = m;
    this.collapsed = new Uint8Array(m.n);
    this.rows = visibleRows(m, this.collapsed);
    this.selected = -1;
    this.showCP = true;
    this.matches = null;   // Uint8Array by span, or null
    this.matchList = [];   // span indices in tree order
    this.matchAt = -1;
    this.version = 0;      // bumped when every row must be refilled
    this.win = [0, m.total]; // the time window shown (µs from the trace start): zoom
    this.pool = [];
    this.listeners = [];
    this.buildDom(page);
    this.onResize();
    const sel = params.get('span') || params.get('uiFind');
    if (sel && m.byId.has(sel)) this.select(m.byId.get(sel), {reveal: true, center: true});
    if (state && state.scrollTop) this.scroller.scrollTop = state.scrollTop;
    this.listen(window, 'resize', () => this.onResize());
    this.listen(document, 'keydown', (e) => this.onKey(e));
  }

  listen(target, ev, fn) { target.addEventListener(ev, fn); this.listeners.push([target, ev, fn]); }
  destroy() {
    for (const [t, ev, fn] of this.listeners) t.removeEventListener(ev, fn);
    this.listeners = [];
    if (window.__stitchTraceView === this) window.__stitchTraceView = null;
  }

  // ---- DOM -----------------------------------------------------------------------

  buildDom(page) {
    const m = this.m;
    const svcCount = new Map();
    for (let i = 0; i < m.n; i++) svcCount.set(m.svc[i], (svcCount.get(m.svc[i]) || 0) + 1);
    const rootSvc = m.services[m.svc[m.root]];
    this.findInput = h('input', {type: 'search', class: 'find', placeholder: 'Find…  ( / )',
      'aria-label': 'Find in trace', spellcheck: 'false',
      oninput: () => this.find(this.findInput.value),
      onkeydown: (e) => {
        if (e.key === 'Enter') { e.preventDefault(); this.nextMatch(e.shiftKey ? -1 : 1); }
        if (e.key === 'Escape') { this.findInput.value = ''; this.find(''); this.scroller.focus(); }
      }});
    this.findCount = h('span', {class: 'find-count', 'aria-live': 'polite'});
    this.cpToggle = h('input', {type: 'checkbox', checked: true,
      onchange: () => { this.showCP = this.cpToggle.checked; this.refresh(); }});
    const header = h('header', {class: 'trace-head'},
      h('h1', null,
        h('span', {class: 'swatch', style: {background: colorFor(rootSvc)}}),
        h('span', {class: 'trace-title'}, rootSvc + ': ' + m.opName(m.root)),
        h('code', {class: 'trace-id', title: 'trace id'}, m.traceID)),
      h('dl', {class: 'trace-meta'},
        meta('Trace start', fmtTime(m.t0)), meta('Duration', fmtDuration(m.total)),
        meta('Services', String(m.services.length)), meta('Depth', String(m.maxDepth + 1)),
        meta('Total spans', String(m.n)),
        meta('Errors', String(m.errors), m.errors ? 'has-errors' : '')),
      h('div', {class: 'trace-services'},
        [...svcCount.entries()].sort((a, b) => b[1] - a[1])
          .map(([k, c]) => serviceChip(m.services[k], c))),
      h('div', {class: 'toolbar'},
        this.findInput, this.findCount,
        h('button', {type: 'button', title: 'previous match (N)', 'aria-label': 'previous match',
          onclick: () => this.nextMatch(-1)}, '▲'),
        h('button', {type: 'button', title: 'next match (n)', 'aria-label': 'next match',
          onclick: () => this.nextMatch(1)}, '▼'),
        h('label', {class: 'cp-label', title: 'highlight the critical path (c)'}, this.cpToggle,
          ' Critical path'),
        this.zoomReset = h('button', {type: 'button', class: 'zoom-reset', hidden: true,
          title: 'show the whole trace again', onclick: () => this.setWindow(0, this.m.total)}, 'Reset zoom'),
        h('button', {type: 'button', onclick: () => this.expandAll()}, 'Expand all'),
        h('button', {type: 'button', onclick: () => this.collapseAll()}, 'Collapse all'),
        this.downloadBtn = h('button', {type: 'button', class: 'download', onclick: () => this.download()},
          'Download JSON')));
    // minimap
    this.mmCanvas = h('canvas', {class: 'mm-canvas'});
    this.mmView = h('div', {class: 'mm-view'});
    this.minimap = h('div', {class: 'minimap', title: 'minimap: click or drag to move'},
      this.mmCanvas, this.mmView);
    this.minimap.addEventListener('pointerdown', (e) => {
      this.minimap.setPointerCapture(e.pointerId);
      this.mmSeek(e);
      const move = (ev) => this.mmSeek(ev);
      const up = () => {
        this.minimap.removeEventListener('pointermove', move);
        this.minimap.removeEventListener('pointerup', up);
      };
      this.minimap.addEventListener('pointermove', move);
      this.minimap.addEventListener('pointerup', up);
    });
    // ruler: its ticks follow the time window; a drag on it zooms into a window
    this.ruler = h('div', {class: 'tl-col ruler', title: 'drag to zoom into a time window; double-click to reset'});
    this.ticks = [];
    for (let k = 0; k <= 4; k++) {
      const label = h('span');
      this.ruler.appendChild(h('div', {class: 'tick' + (k === 4 ? ' last' : ''), style: {left: (k * 25) + '%'}}, label));
      this.ticks.push(label);
    }
    this.rulerSel = h('div', {class: 'ruler-sel', hidden: true});
    this.ruler.appendChild(this.rulerSel);
    this.ruler.addEventListener('pointerdown', (e) => this.zoomDrag(e));
    this.ruler.addEventListener('dblclick', () => this.setWindow(0, this.m.total));
    this.mmWin = h('div', {class: 'mm-win', hidden: true});
    this.minimap.appendChild(this.mmWin);
    this.updateRuler();
    const head = h('div', {class: 'wf-head'},
      h('div', {class: 'name-col'}, 'Service & Operation'), this.ruler);
    this.spacer = h('div', {class: 'wf-spacer'});
    this.scroller = h('div', {class: 'wf-scroll', tabindex: '0', role: 'tree',
      'aria-label': 'spans'}, this.spacer);
    this.scroller.addEventListener('scroll', () => this.schedule(), {passive: true});
    this.spacer.addEventListener('click', (e) => this.onRowClick(e));
    this.detail = h('aside', {class: 'detail', hidden: true, 'aria-label': 'span details'});
    const wf = h('div', {class: 'wf'}, head, this.scroller);
    this.body = h('div', {class: 'trace-body'}, h('div', {class: 'trace-main'}, this.minimap, wf),
      this.detail);
    page.append(header, this.body);
  }

  onResize() {
    this.viewH = this.scroller.clientHeight || 600;
    const need = Math.ceil(this.viewH / ROW) + 2 * OVERSCAN;
    while (this.pool.length < need) this.pool.push(this.makeRow());
    this.spacer.style.height = (this.rows.length * ROW) + 'px';
    this.version++;
    this.render();
    this.drawMinimap();
  }

  makeRow() {
    const r = {idx: -2, ver: -1};
    r.toggle = h('span', {class: 'tog', 'aria-hidden': 'true'});
    r.indent = h('span', {class: 'indent'});
    r.depthN = h('span', {class: 'depth-n'});
    r.svc = h('span', {class: 'svc'});
    r.op = h('span', {class: 'op'});
    r.err = h('span', {class: 'err-mark', title: 'error'}, '!');
    r.name = h('div', {class: 'name-col'}, r.indent, r.depthN, r.toggle, r.err, r.svc, r.op);
    r.cp = h('div', {class: 'cp-stripe'});
    r.bar = h('div', {class: 'bar'}, r.cp);
    r.label = h('span', {class: 'dur'});
    r.tl = h('div', {class: 'tl-col'}, r.bar, r.label);
    r.el = h('div', {class: 'row', role: 'treeitem'}, r.name, r.tl);
    r.el.style.display = 'none';
    this.spacer.appendChild(r.el);
    return r;
  }

  schedule() {
    if (this.pending) return;
    this.pending = requestAnimationFrame(() => { this.pending = 0; this.render(); });
  }

  refresh() { this.version++; this.render(); }

  render() {
    const m = this.m, rows = this.rows;
    const top = this.scroller.scrollTop;
    const first = Math.max(0, Math.floor(top / ROW) - OVERSCAN);
    const last = Math.min(rows.length, first + this.pool.length);
    for (let k = 0; k < this.pool.length; k++) {
      const r = this.pool[k];
      const at = first + k;
      if (at >= last) {
        if (r.idx !== -1) { r.el.style.display = 'none'; r.idx = -1; }
        continue;
      }
      const i = rows[at];
      if (r.at !== at) { r.el.style.transform = 'translateY(' + (at * ROW) + 'px)'; r.at = at; }
      if (r.idx === i && r.ver === this.version) continue;
      if (r.idx < 0) r.el.style.display = '';
      r.idx = i;
      r.ver = this.version;
      this.fillRow(r, i, m);
    }
    this.firstShown = Math.floor(top / ROW);
    this.placeMmView();
  }

  fillRow(r, i, m) {
    const service = m.services[m.svc[i]];
    const color = colorFor(service);
    const d = m.depth[i];
    r.el.dataset.spanId = m.spanID[i];
    r.el.setAttribute('aria-level', String(d + 1));
    r.indent.style.width = (Math.min(d, MAX_INDENT) * INDENT) + 'px';
    r.depthN.textContent = d > MAX_INDENT ? String(d) : '';
    const kids = hasChildren(m, i);
    r.toggle.textContent = kids ? (this.collapsed[i] ? '▸' : '▾') : '';
    if (kids) r.el.setAttribute('aria-expanded', this.collapsed[i] ? 'false' : 'true');
    else r.el.removeAttribute('aria-expanded');
    r.svc.textContent = service;
    r.op.textContent = m.opName(i);
    r.name.style.borderLeftColor = color;
    const [wa, wb] = this.win, span = (wb - wa) || 1;
    const left = ((m.start[i] - wa) / span) * 100, width = (m.dur[i] / span) * 100;
    r.bar.style.left = left + '%';
    r.bar.style.width = width + '%';
    r.bar.style.background = color;
    const onCP = this.showCP && m.onCP[i];
    if (onCP) {
      // the span's critical segments as a gradient, in the bar's own coordinates
      const dd = m.dur[i] || 1, stops = [];
      for (let k = m.cpAt[i] + m.cpN[i] - 1; k >= m.cpAt[i]; k--) { // earliest first
        const a = ((m.cpSeg[2 * k] - m.start[i]) / dd) * 100, b = ((m.cpSeg[2 * k + 1] - m.start[i]) / dd) * 100;
        stops.push('transparent ' + a + '%', 'var(--cp) ' + a + '%', 'var(--cp) ' + b + '%',
          'transparent ' + b + '%');
      }
      r.cp.style.backgroundImage = 'linear-gradient(to right, ' + stops.join(', ') + ')';
      r.cp.style.display = '';
    } else r.cp.style.display = 'none';
    let text = fmtDuration(m.dur[i]);
    if (kids) text += ' · self ' + fmtDuration(m.self[i]);
    // zoomed, a span wholly outside the window says on which side it is
    if (left >= 100) text += ' ▸'; else if (left + width <= 0) text = '◂ ' + text;
    r.label.textContent = text;
    // the label goes after the bar, or before it when the bar ends late, or
    // inside its right end when the bar fills the row
    // (by the part of the bar inside the window, when zoomed)
    const L = Math.max(0, left), R = Math.min(100, left + width);
    const where = R <= 70 ? 'after' : L >= 20 ? 'before' : 'inside';
    r.label.style.left = where === 'after' ? Math.max(0, R) + '%' : '';
    r.label.style.right = where === 'before' ? Math.max(0, 100 - L) + '%' : where === 'inside' ? Math.max(0, 100 - R) + '%' : '';
    r.label.className = 'dur ' + where;
    const cls = r.el.classList;
    cls.toggle('selected', i === this.selected);
    cls.toggle('error', !!m.error[i]);
    cls.toggle('cp', !!onCP);
    cls.toggle('match', !!(this.matches && this.matches[i]));
    cls.toggle('dim', !!(this.matches && !this.matches[i]));
    r.el.setAttribute('aria-selected', i === this.selected ? 'true' : 'false');
  }

  // ---- minimap --------------------------------------------------------------------

  drawMinimap() {
    const m = this.m, rows = this.rows, c = this.mmCanvas;
    const w = this.minimap.clientWidth || 800, hgt = this.minimap.clientHeight || 60;
    const dpr = window.devicePixelRatio || 1;
    c.width = Math.round(w * dpr);
    c.height = Math.round(hgt * dpr);
    const g = c.getContext('2d');
    g.clearRect(0, 0, c.width, c.height);
    const n = rows.length, total = m.total || 1;
    const rh = Math.max(1, c.height / n);
    // draw a bounded number of rows: past ~4 per pixel row, sample
    const step = Math.max(1, Math.floor(n / (c.height * 4)));
    const colors = m.services.map(colorFor);
    for (let k = 0; k < n; k += step) {
      const i = rows[k];
      g.fillStyle = m.error[i] ? '#d0342c' : colors[m.svc[i]];
      const x = (m.start[i] / total) * c.width;
      g.fillRect(x, (k / n) * c.height, Math.max(1, (m.dur[i] / total) * c.width), rh);
    }
    this.placeMmView();
  }

  placeMmView() {
    const n = this.rows.length || 1, hgt = this.minimap.clientHeight || 60;
    const top = this.scroller.scrollTop / ROW, shown = this.viewH / ROW;
    this.mmView.style.top = Math.min(hgt, (top / n) * hgt) + 'px';
    this.mmView.style.height = Math.max(3, Math.min(1, shown / n) * hgt) + 'px';
  }

  mmSeek(e) {
    const rect = this.minimap.getBoundingClientRect();
    const f = Math.min(1, Math.max(0, (e.clientY - rect.top) / rect.height));
    this.scroller.scrollTop = f * this.rows.length * ROW - this.viewH / 2;
  }

  // ---- zoom: a time window ----------------------------------------------------------

  // Show [a, b] (µs from the trace start) across the timeline.
  setWindow(a, b) {
    const total = this.m.total;
    a = Math.max(0, Math.min(a, total));
    b = Math.max(a, Math.min(b, total));
    if (b - a < 1) b = Math.min(total, a + 1);
    this.win = [a, b];
    this.updateRuler();
    this.refresh();
  }

  updateRuler() {
    const [a, b] = this.win, total = this.m.total;
    for (let k = 0; k <= 4; k++) this.ticks[k].textContent = fmtDuration(a + ((b - a) * k) / 4);
    const zoomed = a > 0 || b < total;
    this.zoomReset.hidden = !zoomed;
    this.ruler.classList.toggle('zoomed', zoomed);
    this.mmWin.hidden = !zoomed;
    if (zoomed) {
      const t = total || 1;
      this.mmWin.style.left = (a / t) * 100 + '%';
      this.mmWin.style.width = ((b - a) / t) * 100 + '%';
    }
  }

  // A drag across the ruler selects the window to zoom into (a click alone does nothing).
  zoomDrag(e) {
    if (e.button !== 0) return;
    const rect = this.ruler.getBoundingClientRect();
    const x0 = e.clientX - rect.left;
    const frac = (x) => Math.min(1, Math.max(0, x / rect.width));
    this.ruler.setPointerCapture(e.pointerId);
    const sel = this.rulerSel;
    const move = (ev) => {
      const x = ev.clientX - rect.left;
      const l = frac(Math.min(x0, x)), r = frac(Math.max(x0, x));
      sel.hidden = false;
      sel.style.left = l * 100 + '%';
      sel.style.width = (r - l) * 100 + '%';
    };
    const up = (ev) => {
      this.ruler.removeEventListener('pointermove', move);
      this.ruler.removeEventListener('pointerup', up);
      this.ruler.removeEventListener('pointercancel', up);
      sel.hidden = true;
      const x = ev.clientX - rect.left;
      if (ev.type !== 'pointerup' || Math.abs(x - x0) < 4) return;
      const [a, b] = this.win;
      const l = frac(Math.min(x0, x)), r = frac(Math.max(x0, x));
      this.setWindow(a + (b - a) * l, a + (b - a) * r);
    };
    this.ruler.addEventListener('pointermove', move);
    this.ruler.addEventListener('pointerup', up);
    this.ruler.addEventListener('pointercancel', up);
  }

  // ---- rows, selection, collapse ---------------------------------------------------

  onRowClick(e) {
    const el = e.target.closest('.row');
    if (!el) return;
    const r = this.pool.find((p) => p.el === el);
    if (!r || r.idx < 0) return;
    if (e.target.classList.contains('tog')) { this.toggle(r.idx); return; }
    this.select(r.idx === this.selected ? -1 : r.idx);
  }

  setRows() {
    this.rows = visibleRows(this.m, this.collapsed);
    this.spacer.style.height = (this.rows.length * ROW) + 'px';
    this.version++;
    this.render();
    this.drawMinimap();
  }

  toggle(i, to) {
    if (!hasChildren(this.m, i)) return;
    this.collapsed[i] = to === undefined ? (this.collapsed[i] ? 0 : 1) : to;
    this.setRows();
  }

  expandAll() { this.collapsed.fill(0); this.setRows(); }
  collapseAll() {
    const m = this.m;
    for (let i = 0; i < m.n; i++) this.collapsed[i] = hasChildren(m, i) && m.parent[i] >= 0 ? 1 : 0;
    this.setRows();
  }

  // Expand the ancestors of i so it is shown.
  reveal(i) {
    let changed = false;
    for (let p = this.m.parent[i]; p >= 0; p = this.m.parent[p])
      if (this.collapsed[p]) { this.collapsed[p] = 0; changed = true; }
    if (changed) this.setRows();
  }

  rowOf(i) {
    const rows = this.rows;
    for (let k = 0; k < rows.length; k++) if (rows[k] === i) return k;
    return -1;
  }

  scrollToRow(k, center) {
    const y = k * ROW, top = this.scroller.scrollTop;
    if (center) this.scroller.scrollTop = y - this.viewH / 2 + ROW / 2;
    else if (y < top) this.scroller.scrollTop = y;
    else if (y + ROW > top + this.viewH) this.scroller.scrollTop = y + ROW - this.viewH;
    this.render();
  }

  select(i, {reveal = false, center = false} = {}) {
    this.selected = i;
    if (i >= 0) {
      if (reveal) this.reveal(i);
      const k = this.rowOf(i);
      if (k >= 0) this.scrollToRow(k, center);
    }
    this.refresh();
    this.showDetail(i);
  }

  // ---- keyboard --------------------------------------------------------------------

  onKey(e) {
    const t = e.target;
    const typing = t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT');
    if ((e.ctrlKey || e.metaKey) && e.key === 'f') {
      e.preventDefault(); this.findInput.focus(); this.findInput.select(); return;
    }
    if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
    // Enter and Space on a button, link or summary are that control's
    if ((e.key === 'Enter' || e.key === ' ') && t && t.closest && t.closest('button, a, summary')) return;
    const m = this.m;
    const k = this.selected >= 0 ? this.rowOf(this.selected) : -1;
    const go = (row) => {
      row = Math.max(0, Math.min(this.rows.length - 1, row));
      this.select(this.rows[row]);
    };
    const page = Math.max(1, Math.floor(this.viewH / ROW) - 1);
    switch (e.key) {
    case 'ArrowDown': case 'j': go(k < 0 ? this.firstShown : k + 1); break;
    case 'ArrowUp': case 'k': go(k < 0 ? this.firstShown : k - 1); break;
    case 'PageDown': go(k < 0 ? this.firstShown + page : k + page); break;
    case 'PageUp': go(k < 0 ? this.firstShown : k - page); break;
    case 'Home': go(0); break;
    case 'End': go(this.rows.length - 1); break;
    case 'ArrowRight': case 'l':
      if (this.selected < 0) return;
      if (this.collapsed[this.selected]) this.toggle(this.selected, 0);
      else if (hasChildren(m, this.selected)) go(k + 1);
      break;
    case 'ArrowLeft': case 'h':
      if (this.selected < 0) return;
      if (hasChildren(m, this.selected) && !this.collapsed[this.selected]) this.toggle(this.selected, 1);
      else if (m.parent[this.selected] >= 0) this.select(m.parent[this.selected]);
      break;
    case 'Enter': case ' ':
      if (this.selected >= 0) this.toggle(this.selected); else return;
      break;
    case 'Escape':
      if (this.selected >= 0) this.select(-1); else return;
      break;
    case '/': this.findInput.focus(); this.findInput.select(); break;
    case 'n': this.nextMatch(1); break;
    case 'N': this.nextMatch(-1); break;
    case 'c': this.cpToggle.checked = !this.cpToggle.checked; this.showCP = this.cpToggle.checked; this.refresh(); break;
    default: return;
    }
    e.preventDefault();
  }

  // ---- find ------------------------------------------------------------------------

  find(text) {
    const q = text.trim().toLowerCase();
    const m = this.m;
    if (!q) {
      this.matches = null; this.matchList = []; this.matchAt = -1;
      this.findCount.textContent = '';
      this.refresh(); this.drawMinimap();
      return;
    }
    const terms = q.split(/\s+/);
    this.matches = new Uint8Array(m.n);
    this.matchList = [];
    for (let k = 0; k < m.n; k++) {
      const i = m.order[k];
      const t = searchText(m, i);
      if (terms.every((w) => t.includes(w))) { this.matches[i] = 1; this.matchList.push(i); }
    }
    this.matchAt = -1;
    this.findCount.textContent = this.matchList.length + (this.matchList.length === 1 ? ' match' : ' matches');
    this.refresh();
  }

  nextMatch(dir) {
    const l = this.matchList;
    if (!l.length) return;
    this.matchAt = (this.matchAt + dir + l.length) % l.length;
    this.findCount.textContent = (this.matchAt + 1) + ' of ' + l.length;
    this.select(l[this.matchAt], {reveal: true, center: true});
  }

  // ---- details ----------------------------------------------------------------------

  showDetail(i) {
    const d = clear(this.detail);
    if (i < 0) { d.hidden = true; this.body.classList.remove('with-detail'); this.onResize(); return; }
    const m = this.m, sp = m.span(i);
    const service = m.services[m.svc[i]];
    const proc = m.processes[sp.processID] || {};
    const kind = spanKind(sp);
    const tags = sp.tags || [];
    const status = tagValue(tags, 'otel.status_code');
    const statusMsg = tagValue(tags, 'otel.status_description');
    const parentID = m.parent[i] >= 0 ? m.spanID[m.parent[i]] : null;
    d.append(
      h('div', {class: 'detail-head'},
        h('h2', null, h('span', {class: 'swatch', style: {background: colorFor(service)}}),
          h('span', {class: 'd-svc'}, service), ': ', h('span', {class: 'd-op'}, sp.operationName)),
        h('button', {type: 'button', class: 'close', 'aria-label': 'close details (Esc)',
          onclick: () => this.select(-1)}, '×')),
      h('dl', {class: 'kv-grid'},
        meta('Service', service), meta('Operation', sp.operationName),
        meta('Duration', fmtDuration(m.dur[i])), meta('Self time', fmtDuration(m.self[i])),
        meta('Start', '+' + fmtDuration(m.start[i]) + '  (' + fmtTime(m.t0 + m.start[i]) + ')'),
        kind ? meta('Kind', kind) : null,
        meta('Status', (status || 'UNSET') + (statusMsg ? ': ' + statusMsg : ''), m.error[i] ? 'has-errors' : ''),
        meta('Critical path', m.onCP[i] ? 'yes' : 'no'),
        meta('Span ID', sp.spanID), meta('Trace ID', sp.traceID),
        meta('Parent ID', parentID || '—')),
      section('Tags', tags.length, kvTable(tags)),
      section('Events', (sp.logs || []).length,
        h('ol', {class: 'events'}, (sp.logs || []).map((l) =>
          h('li', null, h('span', {class: 'ev-time'}, '+' + fmtDuration(l.timestamp - m.t0)),
            kvTable(l.fields || []))))),
      section('Process', (proc.tags || []).length + 1,
        kvTable([{key: 'service.name', value: proc.serviceName || service}, ...(proc.tags || [])])),
      this.refsSection(sp, i),
      sp.warnings && sp.warnings.length ? section('Warnings', sp.warnings.length,
        h('ul', null, sp.warnings.map((w) => h('li', null, w)))) : null);
    d.hidden = false;
    if (!this.body.classList.contains('with-detail')) {
      this.body.classList.add('with-detail');
      this.onResize();
    }
  }

  refsSection(sp, i) {
    const refs = sp.references || [];
    const m = this.m;
    const items = [];
    for (const r of refs) {
      const same = r.traceID === sp.traceID && m.byId.has(r.spanID);
      const isParent = same && m.byId.get(r.spanID) === m.parent[i];
      const label = (isParent ? 'parent ' : '') + r.refType + ' ' + r.spanID +
        (r.traceID !== sp.traceID ? ' in trace ' + r.traceID : '');
      const link = same
        ? h('a', {href: '#', onclick: (e) => { e.preventDefault(); this.select(m.byId.get(r.spanID), {reveal: true, center: true}); }}, label)
        : h('a', {href: '/trace/' + encodeURIComponent(r.traceID) + '?span=' + encodeURIComponent(r.spanID)}, label);
      items.push(h('li', null, link));
    }
    return section('References', refs.length, h('ul', {class: 'refs'}, items));
  }

  // The Jaeger JSON of the trace (GET /api/traces/{id}), fetched when asked for.
  download() {
    const id = this.m.traceID;
    this.downloadBtn.disabled = true;
    api.traceJaegerText(id).then((text) => {
      const blob = new Blob([text], {type: 'application/json'});
      const url = URL.createObjectURL(blob);
      const a = h('a', {href: url, download: 'trace-' + id + '.json'});
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    }).catch((e) => {
      this.downloadBtn.title = 'download failed: ' + e.message;
    }).finally(() => { this.downloadBtn.disabled = false; });
  }
}

function tagValue(tags, key) {
  for (const t of tags) if (t.key === key) return String(t.value);
  return '';
}

function meta(k, v, cls) {
  return h('div', {class: 'meta' + (cls ? ' ' + cls : '')}, h('dt', null, k), h('dd', null, v));
}

function section(title, count, body) {
  return h('details', {class: 'section', open: true},
    h('summary', null, title, h('span', {class: 'count'}, ' (' + count + ')')), body);
}

function kvTable(kvs) {
  if (!kvs.length) return h('p', {class: 'none'}, 'none');
  return h('table', {class: 'kv'}, h('tbody', null, kvs.map((t) =>
    h('tr', null, h('th', {scope: 'row'}, t.key),
      h('td', {class: 'v-' + (t.type || 'string')},
        typeof t.value === 'object' ? JSON.stringify(t.value) : String(t.value))))));
}
