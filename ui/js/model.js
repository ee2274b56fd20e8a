// ui/js/model.js — a Jaeger trace (GET /api/traces/{id}) turned into the
// arrays the waterfall draws from, computed once when the trace loads:
// tree order, depth, subtree sizes, start/duration relative to the trace,
// service index, error flags, self time and the critical path. Flat typed
// arrays indexed by span, so 50,000 spans cost a few MB and no per-row objects.
// Invariant: every span appears exactly once in `order` (pre-order, children
// by start time); a span whose parent is missing, or that sits in a
// reference cycle, is shown as a root.

const isErrorTag = (t) =>
  (t.key === 'error' && (t.value === true || t.value === 'true')) ||
  (t.key === 'otel.status_code' && t.value === 'ERROR');

export function buildModel(trace) {
  const spans = trace.spans || [];
  const n = spans.length;
  const processes = trace.processes || {};
  const byId = new Map();
  for (let i = 0; i < n; i++) byId.set(spans[i].spanID, i);

  // services, in order of first appearance
  const services = [];
  const svcOfProc = new Map();
  const svc = new Int32Array(n);
  let t0 = Infinity, t1 = -Infinity;
  const start = new Float64Array(n), dur = new Float64Array(n);
  const parent = new Int32Array(n).fill(-1);
  const error = new Uint8Array(n);
  let errors = 0;
  for (let i = 0; i < n; i++) {
    const sp = spans[i];
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
    if (start[i] + dur[i] > t1) t1 = start[i] + dur[i];
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
    if (tags) for (const t of tags) if (isErrorTag(t)) { error[i] = 1; errors++; break; }
  }
  if (!n) { t0 = 0; t1 = 0; }
  for (let i = 0; i < n; i++) start[i] -= t0; // relative to the trace start from here on
  const total = t1 - t0;

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
        const c = kids[k];
        if (pos[c] >= 0) continue;
        depth[c] = depth[i] + 1;
        stack[sp++] = c;
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
  return {
    spans, processes, n, services, svc, start, dur, parent, error, errors, t0, total,
    kidAt, kids, order, pos, depth, size, maxDepth, roots, root, byId, self,
    onCP: cp.on, cpAt: cp.segAt, cpN: cp.segN, cpSeg: cp.seg, searchText: null,
  };
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
  const sp = m.spans[i];
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
