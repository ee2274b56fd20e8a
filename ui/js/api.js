// ui/js/api.js — the one door to stitchd's query API (docs/http-api.md):
// Jaeger v1 JSON under /api/ on the origin the page came from. Every failure
// becomes an ApiError whose kind the pages turn into a state: 'unreachable'
// (no answer: stitchd down, or a proxy's 502/503/504), 'notfound' (404), or
// 'http' (any other error status, with the API's own message).

export class ApiError extends Error {
  constructor(kind, status, message) {
    super(message);
    this.kind = kind;
    this.status = status;
  }
}

// The response prefetch.js started for this path, once.
function prefetched(path) {
  const p = window.__stitchPrefetch;
  if (!p || p.path !== path) return null;
  window.__stitchPrefetch = null;
  return p.response;
}

async function request(path, signal) {
  let res;
  try {
    res = await (prefetched(path) || fetch(path, {signal, headers: {Accept: 'application/json'}}));
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError('unreachable', 0, 'cannot reach stitchd (' + e.message + ')');
  }
  if ([502, 503, 504].includes(res.status))
    throw new ApiError('unreachable', res.status, 'stitchd is unavailable (HTTP ' + res.status + ')');
  let text;
  try {
    text = await res.text();
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError('unreachable', 0, 'the connection to stitchd broke (' + e.message + ')');
  }
  if (!res.ok) {
    let msg = 'HTTP ' + res.status;
    try {
      const j = JSON.parse(text);
      if (j && j.errors && j.errors[0] && j.errors[0].msg) msg = j.errors[0].msg;
    } catch (_) { /* not JSON: keep the status */ }
    throw new ApiError(res.status === 404 ? 'notfound' : 'http', res.status, msg);
  }
  return text;
}

// GET path → the envelope's data. `raw: true` also returns the body's text.
// `mark` names performance marks (<mark>-received, <mark>-parsed) for the
// benchmark (bench/ui_bench.mjs).
export async function get(path, {signal, raw = false, mark} = {}) {
  const text = await request(path, signal);
  if (mark) performance.mark(mark + '-received');
  let j;
  try {
    j = JSON.parse(text);
    if (mark) performance.mark(mark + '-parsed');
  } catch (e) {
    throw new ApiError('http', 200, 'stitchd sent invalid JSON (' + e.message + ')');
  }
  return raw ? {data: j.data, errors: j.errors, text} : j.data;
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    q.append(k, String(v));
  }
  return q.toString();
}

export const services = (o) => get('/api/services', o);
export const operations = (svc, o) => get('/api/services/' + encodeURIComponent(svc) + '/operations', o);
export const searchTraces = (params, o) => get('/api/traces?' + query(params), o);
export const trace = (id, o) => get('/api/traces/' + encodeURIComponent(id), {mark: 'stitch:trace', ...o, raw: true});
export const dependencies = (endTs, lookback, o) =>
  get('/api/dependencies?' + query({endTs, lookback}), o);

// Zipkin v2's dependency links carry errorCount, which Jaeger v1's lack; the
// dependency page reads it for error rates (same server, same store).
export async function dependencyErrors(endTs, lookback, o) {
  const text = await request('/api/v2/dependencies?' + query({endTs, lookback}), o && o.signal);
  return JSON.parse(text);
}
