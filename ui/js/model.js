// ui/js/model.js — a trace turned into the arrays the waterfall draws from,
// computed once when the trace loads: tree order, depth, subtree sizes,
// start/duration relative to the trace, service index, error flags, self
// time and the critical path. Flat typed arrays indexed by span, so 50,000
// spans cost a few MB and no per-row objects.
//
// Two inputs: the compact trace the UI fetches (GET /api/ui/traces/{id},
// docs/http-api.md: columns and a dictionary, parents already resolved),
// and a Jaeger v1 trace (GET /api/traces/{id}). Either way the model
// offers `span(i)`, span i as a Jaeger span object (built when asked, for
// the details panel and find), `spanID[i]`, `opName(i)` and `byId`.
// Invariant: every span appears exactly once in `order` (pre-order,
// children by start time); a span whose parent is missing, or that sits in
// a reference cycle, is shown as a root.

const isErrorTag = (t) =>
  (t.key === 'error' && (t.value === true || t.value === 'true')) ||
  (t.key === 'otel.status_code' && t.value === 'ERROR');

export function buildModel(trace) {
  const c = trace && Array.isArray(trace.spanID) && Array.isArray(trace.dict)
    ? fromCompact(trace) : fromJaeger(trace);
  return finish(c);
}

// ---- inputs -------------------------------------------------------------------------

function fromJaeger(trace) {
  const spans = trace.spans || [];
  const n = spans.length;
  const processes = trace.processes || {};
  const byId = new Map();
  for (let i = 0; i < n; i++) byId.set(spans[i].spanID, i);

  // services, in order of first appearance
  const services = [];
  const svcOfProc = new Map();
  const svc = new Int32Array(n);
  let t0 = Infinity;
  const start = new Float64Array(n), dur = new Float64Array(n);
  const parent = new Int32Array(n).fill(-1);
  const error = new Uint8Array(n);
  const spanID = new Array(n);
  for (let i = 0; i < n; i++) {
    const sp = spans[i];
    spanID[i] = sp.spanID;
    let k = svcOfProc.get(sp.processID);
    if (k === undefined) {
      const p = processes[sp.processID];
      const name = p && p.serviceName ? p.serviceName : 'unknown_service';
      k = services.indexOf(name);
      if (k < 0) { k = services.length; services.push(name); }
      svcOfProc.set(sp.processID, k);
    }
    svc[i] = k;
    start[i] = +sp.startTime || 0;
    dur[i] = Math.max(0, +sp.duration || 0);
    if (start[i] < t0) t0 = start[i];
    const refs = sp.references;
    if (refs) {
      // the parent: the first CHILD_OF in this trace, else the first reference in it
      let p = -1;
      for (const r of refs) {
        if (r.traceID !== sp.traceID) continue;
        const j = byId.get(r.spanID);
        if (j === undefined || j === i) continue;
        if (r.refType === 'CHILD_OF') { p = j; break; }
        if (p < 0) p = j;
      }
      parent[i] = p;
    }
    const tags = sp.tags;
    if (tags) for (const t of tags) if (isErrorTag(t)) { error[i] = 1; break; }
  }
  if (!n) t0 = 0;
  for (let i = 0; i < n; i++) start[i] -= t0; // relative to the trace start from here on
  return {
    n, services, svc, start, dur, parent, error, t0, spanID,
    traceID: trace.traceID || (n ? spans[0].traceID : ''),
    processes, byId,
    span: (i) => spans[i],
    opName: (i) => spans[i].operationName,
  };
}

const KINDS = ['internal', 'internal', 'server', 'client', 'producer', 'consumer'];
const jtype = (v) => typeof v === 'string' ? 'string' : typeof v === 'boolean' ? 'bool'
  : Number.isInteger(v) ? 'int64' : 'float64';

// The compact trace: columns, a dictionary of every string and value
// (`dict`), times in µs from `t0`, parents as span indices.
function fromCompact(d) {
  const n = d.n | 0, dict = d.dict, t0 = +d.t0 || 0;
  const floats = new Set(d.floats || []); // float64 entries JSON reads as integers (1.0)
  const svcOfProc = (d.processes || []).map((p) => String(dict[p[0]]) || 'unknown_service');
  // services, in order of first appearance
  const services = [], svcIndex = new Map();
  const svc = new Int32Array(n), proc = d.process;
  for (let i = 0; i < n; i++) {
    const name = svcOfProc[proc[i]];
    let k = svcIndex.get(name);
    if (k === undefined) { k = services.length; services.push(name); svcIndex.set(name, k); }
    svc[i] = k;
  }
  const start = Float64Array.from(d.start), dur = Float64Array.from(d.duration);
  const parent = Int32Array.from(d.parent);
  for (let i = 0; i < n; i++) if (parent[i] >= n || parent[i] === i) parent[i] = -1;
  const error = new Uint8Array(n);
  const status = d.status, tags = d.tags;
  const kErr = dict.indexOf('error'), kStatus = dict.indexOf('otel.status_code');
  const vErr = [dict.indexOf(true), dict.indexOf('true')], vStatus = dict.indexOf('ERROR');
  for (let i = 0; i < n; i++) {
    if (status[i] === 2) { error[i] = 1; continue; }
    const t = tags[i];
    for (let k = 0; k < t.length; k += 2) {
      if ((t[k] === kErr && (t[k + 1] === vErr[0] || t[k + 1] === vErr[1])) ||
          (t[k] === kStatus && t[k + 1] === vStatus && vStatus >= 0)) { error[i] = 1; break; }
    }
  }
  const traceID = d.traceID;
  const kv = (list) => {
    const out = [];
    for (let k = 0; k + 1 < list.length; k += 2) {
      const v = dict[list[k + 1]];
      out.push({key: String(dict[list[k]]), type: floats.has(list[k + 1]) ? 'float64' : jtype(v), value: v});
    }
    return out;
  };
  // events, references and extras by span (CSR over the flat lists, built on first use)
  let evAt = null, refAt = null, extra = null;
  const byFirst = (list) => {
    const at = new Int32Array(n + 1);
    for (const e of list) at[e[0] + 1]++;
    for (let i = 0; i < n; i++) at[i + 1] += at[i];
    return at; // the lists come ordered by span
  };
  let processes = null;
  const procs = () => {
    if (!processes) {
      processes = {};
      (d.processes || []).forEach((p, k) => { processes['p' + (k + 1)] = {serviceName: svcOfProc[k], tags: kv(p[1])}; });
    }
    return processes;
  };
  let byId = null;
  const span = (i) => {
    if (!evAt) {
      evAt = byFirst(d.events || []); refAt = byFirst(d.refs || []);
      extra = new Map((d.extra || []).map((x) => [x[0], x]));
    }
    const out = {traceID, spanID: d.spanID[i], operationName: String(dict[d.name[i]]),
      references: [], startTime: t0 + start[i], duration: dur[i], tags: [], logs: [],
      processID: 'p' + (proc[i] + 1), warnings: null};
    const refs = (d.refs || []).slice(refAt[i], refAt[i + 1]);
    const p = parent[i];
    if (p >= 0 && !refs.some((r) => r[3] === d.spanID[p] && r[2] === traceID))
      out.references.push({refType: 'CHILD_OF', traceID, spanID: d.spanID[p]});
    for (const r of refs) out.references.push({refType: r[1] ? 'FOLLOWS_FROM' : 'CHILD_OF', traceID: r[2], spanID: r[3]});
    // tags in the Jaeger writer's order (daemon/query_jaeger.c)
    const sc = d.scopes[d.scope[i]] || [0, 0];
    const str = (key, value) => out.tags.push({key, type: 'string', value});
    if (dict[sc[0]]) str('otel.scope.name', dict[sc[0]]);
    if (dict[sc[1]]) str('otel.scope.version', dict[sc[1]]);
    out.tags.push(...kv(tags[i]));
    str('span.kind', KINDS[d.kind[i]] || 'internal');
    if (status[i] === 1) str('otel.status_code', 'OK');
    if (status[i] === 2) { str('otel.status_code', 'ERROR'); out.tags.push({key: 'error', type: 'bool', value: true}); }
    const x = extra.get(i);
    if (x) {
      if (x[1]) str('otel.status_description', dict[x[1]]);
      if (x[2]) str('w3c.tracestate', dict[x[2]]);
      const cnt = (key, v) => { if (v) out.tags.push({key, type: 'int64', value: v}); };
      cnt('otel.dropped_attributes_count', x[3]); cnt('otel.dropped_events_count', x[4]);
      cnt('otel.dropped_links_count', x[5]);
    }
    for (let k = evAt[i]; k < evAt[i + 1]; k++) {
      const e = d.events[k], fields = kv(e[3]);
      const name = dict[e[2]];
      if (name && !fields.some((f) => f.key === 'event')) fields.unshift({key: 'event', type: 'string', value: name});
      if (e[4]) fields.push({key: 'otel.dropped_attributes_count', type: 'int64', value: e[4]});
      out.logs.push({timestamp: t0 + e[1], fields});
    }
    return out;
  };
  return {
    n, services, svc, start, dur, parent, error, t0, spanID: d.spanID, traceID,
    get processes() { return procs(); },
    get byId() {
      if (!byId) { byId = new Map(); for (let i = 0; i < n; i++) byId.set(d.spanID[i], i); }
      return byId;
    },
    span,
    opName: (i) => String(dict[d.name[i]]),
  };
}

// ---- the tree, self time, critical path -------------------------------------------------

function finish(c) {
  const {n, start, dur, parent} = c;
  let errors = 0, total = 0;
  for (let i = 0; i < n; i++) {
    errors += c.error[i];
    if (start[i] + dur[i] > total) total = start[i] + dur[i];
  }

  // children lists (CSR), each sorted by start time
  const byStart = (a, b) => start[a] - start[b] || a - b;
  let {kidAt, kids} = childLists(parent, byStart);

  // pre-order walk from the roots; then whatever was not reached (cycles)
  const order = new Int32Array(n), depth = new Int32Array(n), pos = new Int32Array(n).fill(-1);
  const size = new Int32Array(n);
  let len = 0, maxDepth = 0;
  const stack = new Int32Array(n + 1);
  const walk = (root) => {
    let sp = 0;
    stack[sp++] = root;
    depth[root] = 0;
    while (sp) {
      const i = stack[--sp];
      pos[i] = len;
      order[len++] = i;
      if (depth[i] > maxDepth) maxDepth = depth[i];
      for (let k = kidAt[i + 1] - 1; k >= kidAt[i]; k--) {
        const ch = kids[k];
        if (pos[ch] >= 0) continue;
        depth[ch] = depth[i] + 1;
        stack[sp++] = ch;
      }
    }
  };
  const roots = [];
  for (let i = 0; i < n; i++) if (parent[i] < 0) roots.push(i);
  roots.sort(byStart);
  for (const r of roots) walk(r);
  if (len < n) {
    const rest = [];
    for (let i = 0; i < n; i++) if (pos[i] < 0) rest.push(i);
    rest.sort(byStart);
    for (const r of rest) {
      if (pos[r] >= 0) continue;
      parent[r] = -1;
      roots.push(r);
      walk(r);
    }
    // the parents are a forest now: children lists without the cycles' edges
    ({kidAt, kids} = childLists(parent, byStart));
  }
  // subtree sizes: in reverse pre-order every child comes before its parent
  for (let k = n - 1; k >= 0; k--) {
    const i = order[k];
    size[i] += 1;
    const p = parent[i];
    if (p >= 0 && pos[p] < pos[i]) size[p] += size[i];
  }

  const self = selfTimes(n, start, dur, kidAt, kids);
  const cp = criticalPath(roots, start, dur, kidAt, kids, total);

  const root = roots.length ? roots[0] : -1;
  const m = c;
  Object.assign(m, {
    errors, total, kidAt, kids, order, pos, depth, size, maxDepth, roots, root, self,
    onCP: cp.on, cpAt: cp.segAt, cpN: cp.segN, cpSeg: cp.seg, searchText: null,
  });
  return m;
}

// Children of each span as one flat list (CSR): span i's children are
// kids[kidAt[i] .. kidAt[i + 1]), sorted by `order`.
function childLists(parent, order) {
  const n = parent.length;
  const kidAt = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) if (parent[i] >= 0) kidAt[parent[i] + 1]++;
  for (let i = 0; i < n; i++) kidAt[i + 1] += kidAt[i];
  const kids = new Int32Array(Math.max(1, kidAt[n]));
  const fill = kidAt.slice(0, n);
  for (let i = 0; i < n; i++) if (parent[i] >= 0) kids[fill[parent[i]]++] = i;
  for (let i = 0; i < n; i++)
    if (kidAt[i + 1] - kidAt[i] > 1) kids.subarray(kidAt[i], kidAt[i + 1]).sort(order);
  return {kidAt, kids};
}

// Self time: the span's duration less the union of its children's time
// within it (children running in parallel count once).
function selfTimes(n, start, dur, kidAt, kids) {
  const self = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = start[i], e = s + dur[i];
    let covered = 0, cs = -1, ce = -1;
    for (let k = kidAt[i]; k < kidAt[i + 1]; k++) { // children by start
      const c = kids[k];
      const a = Math.max(s, start[c]), b = Math.min(e, start[c] + dur[c]);
      if (b <= a) continue;
      if (a > ce) { covered += ce - cs; cs = a; ce = b; } else if (b > ce) ce = b;
    }
    covered += ce - cs;
    self[i] = Math.max(0, dur[i] - covered);
  }
  return self;
}

// The critical path: the chain of work that decides when the trace ends.
// Walking back from a span's end, the time belongs to the child that
// finished last (before that point) — and, inside it, to its own last
// child, and so on — while gaps no child covers are the span's own work.
// A child ending after its parent is cut at the parent's end. Several roots
// are treated as children of one virtual root covering the whole trace.
// Returns per span whether it is on the path, and its segments (relative
// µs): span i's are seg[2k], seg[2k+1] for k in [segAt[i], segAt[i] + segN[i]),
// latest first. Each span is visited at most once, so this is linear in
// spans plus the sort of each span's children by end.
function criticalPath(roots, start, dur, kidAt, kids, total) {
  const n = start.length;
  const on = new Uint8Array(n);
  const segAt = new Int32Array(n), segN = new Int32Array(n);
  let seg = new Float64Array(4 * n + 8), ns = 0;
  const endOf = (c) => start[c] + dur[c];
  const byEndDesc = (a, b) => endOf(b) - endOf(a);
  const rootsByEnd = Int32Array.from(roots).sort(byEndDesc);
  const kidsByEnd = kids.slice();
  for (let i = 0; i < n; i++)
    if (kidAt[i + 1] - kidAt[i] > 1) kidsByEnd.subarray(kidAt[i], kidAt[i + 1]).sort(byEndDesc);
  const add = (i, a, b) => {
    if (b < a || (b === a && dur[i] !== 0)) return;
    if (ns * 2 + 2 > seg.length) { const g = new Float64Array(seg.length * 2); g.set(seg); seg = g; }
    if (!segN[i]) segAt[i] = ns;
    seg[2 * ns] = a; seg[2 * ns + 1] = b; ns++;
    segN[i]++;
    on[i] = 1;
  };
  const stackI = new Int32Array(n + 1), stackE = new Float64Array(n + 1);
  const seen = new Uint8Array(n); // each span is walked once (the tree is a forest)
  let sp = 0;
  stackI[sp] = -1; stackE[sp++] = total;
  while (sp) {
    const i = stackI[--sp], end = stackE[sp];
    const s0 = i < 0 ? 0 : start[i];
    const list = i < 0 ? rootsByEnd : kidsByEnd;
    const from = i < 0 ? 0 : kidAt[i], to = i < 0 ? rootsByEnd.length : kidAt[i + 1];
    let t = end;
    for (let k = from; k < to && t > s0; k++) {
      const c = list[k];
      if (start[c] >= t || seen[c]) continue; // after the point reached: not on the path
      seen[c] = 1;
      const ce = Math.min(endOf(c), t);
      if (i >= 0) add(i, ce, t);
      stackI[sp] = c; stackE[sp++] = ce;
      t = Math.max(s0, start[c]);
    }
    if (i >= 0) add(i, s0, t);
  }
  return {on, segAt, segN, seg};
}

// The spans shown, in order, given the collapsed set (Uint8Array by span).
export function visibleRows(m, collapsed) {
  const out = new Int32Array(m.n);
  let len = 0;
  for (let k = 0; k < m.n;) {
    const i = m.order[k];
    out[len++] = i;
    k += collapsed[i] ? m.size[i] : 1;
  }
  return out.subarray(0, len);
}

export function hasChildren(m, i) { return m.kidAt[i + 1] > m.kidAt[i]; }

// Lower-case text of a span for find-in-trace: service, operation, ids,
// tags and log fields as key=value. Built on the first find.
export function searchText(m, i) {
  if (!m.searchText) m.searchText = new Array(m.n);
  let t = m.searchText[i];
  if (t !== undefined) return t;
  const sp = m.span(i);
  const parts = [m.services[m.svc[i]], sp.operationName, sp.spanID];
  if (sp.tags) for (const g of sp.tags) parts.push(g.key + '=' + g.value);
  if (sp.logs) for (const l of sp.logs) if (l.fields) for (const f of l.fields) parts.push(f.key + '=' + f.value);
  t = parts.join('\n').toLowerCase();
  m.searchText[i] = t;
  return t;
}

export function spanKind(sp) {
  if (sp.tags) for (const t of sp.tags) if (t.key === 'span.kind') return String(t.value);
  return '';
}
