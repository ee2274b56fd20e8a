// ui/js/dom.js — building the page safely, and the formats every page shares.
// Invariant: data from spans reaches the page only as text. h()/s() take
// strings as text nodes (createTextNode) and never touch innerHTML; the one
// attribute that could carry a script, an element's event handlers, can be
// set here only as functions (on* keys), never from strings.

const SVG_NS = 'http://www.w3.org/2000/svg';

function build(el, attrs, kids) {
  if (attrs) {
    for (const k in attrs) {
      const v = attrs[k];
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.setAttribute('class', v);
      else if (k === 'text') el.textContent = String(v);
      else if (k === 'style') Object.assign(el.style, v);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k.startsWith('on')) {
        if (typeof v !== 'function') throw new Error('h: ' + k + ' must be a function');
        el.addEventListener(k.slice(2), v);
      } else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  for (const c of kids) append(el, c);
  return el;
}

function append(el, c) {
  if (c === undefined || c === null || c === false) return;
  if (Array.isArray(c)) { for (const x of c) append(el, x); return; }
  el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
}

// h('div', {class: 'x', onclick: fn}, 'text', child, [more]) — an HTML element.
export function h(tag, attrs, ...kids) { return build(document.createElement(tag), attrs, kids); }
// s('circle', {cx: 1}) — an SVG element.
export function s(tag, attrs, ...kids) { return build(document.createElementNS(SVG_NS, tag), attrs, kids); }

export function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }

// ---- formats -------------------------------------------------------------------

function trim(x, digits) { return String(+x.toFixed(digits)); }

// µs → "850µs", "12.35ms", "1.2s", "2m 5.1s"
export function fmtDuration(us) {
  if (!isFinite(us)) return '';
  const a = Math.abs(us);
  if (a < 1000) return trim(us, 0) + 'µs';
  if (a < 1e6) return trim(us / 1000, a < 1e4 ? 2 : 1) + 'ms';
  if (a < 6e7) return trim(us / 1e6, 2) + 's';
  const m = Math.floor(us / 6e7);
  return m + 'm ' + trim((us - m * 6e7) / 1e6, 1) + 's';
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

// µs since the epoch → "2024-05-01 12:00:00.123" (local time)
export function fmtTime(us) {
  const d = new Date(us / 1000);
  return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' +
    pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()) + '.' +
    pad(d.getMilliseconds(), 3);
}

export function fmtAgo(us, nowMs = Date.now()) {
  const sec = Math.round((nowMs - us / 1000) / 1000);
  if (sec < 0) return 'in the future';
  if (sec < 60) return sec + 's ago';
  if (sec < 3600) return Math.floor(sec / 60) + ' min ago';
  if (sec < 86400) return Math.floor(sec / 3600) + ' h ago';
  return Math.floor(sec / 86400) + ' d ago';
}

// Go-style duration "100ms", "1.5s", "2m" → µs; NaN when not one.
export function parseDuration(text) {
  const t = String(text).trim();
  if (!t) return NaN;
  const unit = {ns: 1e-3, us: 1, 'µs': 1, 'μs': 1, ms: 1e3, s: 1e6, m: 6e7, h: 3.6e9};
  const re = /(\d*\.?\d+)(ns|us|µs|μs|ms|s|m|h)/y;
  let total = 0, m;
  re.lastIndex = 0;
  while (re.lastIndex < t.length) {
    const at = re.lastIndex;
    m = re.exec(t);
    if (!m || m.index !== at) return NaN;
    total += parseFloat(m[1]) * unit[m[2]];
  }
  return total;
}

// ---- service colours: one per service name, the same on every page ----------------

const PALETTE = [
  '#17b8be', '#f8dca1', '#b7885e', '#ffcb99', '#f89570', '#829ae3', '#e79fd5', '#1e96be',
  '#89dac1', '#b3ad9e', '#12939a', '#ddb27c', '#88572c', '#ff9833', '#ef5d28', '#162a65',
  '#da70bf', '#125c77', '#4dc19c', '#776e57',
];

export function colorFor(service) {
  let x = 2166136261;
  for (let i = 0; i < service.length; i++) x = Math.imul(x ^ service.charCodeAt(i), 16777619);
  return PALETTE[(x >>> 0) % PALETTE.length];
}

// A coloured chip with a service name (as text).
export function serviceChip(name, extra) {
  return h('span', {class: 'chip'},
    h('span', {class: 'swatch', style: {background: colorFor(name)}}), name,
    extra !== undefined ? h('span', {class: 'chip-n'}, ' (' + extra + ')') : null);
}

export function isTraceId(t) { return /^[0-9a-fA-F]{1,32}$/.test(t); }
