// ui/js/api.js — the one door to stitchd's query API (docs/http-api.md):
// Jaeger v1 JSON under /api/ on the origin the page came from, and the
// compact trace of /api/ui/traces/{id}. Every failure becomes an ApiError
// whose kind the pages turn into a state: 'unreachable' (no answer:
// stitchd down, or a proxy's 502/503/504), 'auth' (401: this stitchd wants
// a query token, or did not take the one sent), 'notfound' (404), or
// 'http' (any other error status, with the API's own message).
//
// The query token (stitchd --query-token-file) is kept in sessionStorage
// under 'stitch.token' — for this tab, until it is closed — and sent as
// `Authorization: Bearer …` on every request (prefetch.js does the same).

export class ApiError extends Error {
  constructor(kind, status, message, sentToken = false) {
    super(message);
    this.kind = kind;
    this.status = status;
    this.sentToken = sentToken; // for 'auth': a token was sent and refused
  }
}

const TOKEN_KEY = 'stitch.token';
export function token() {
  try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch (_) { return ''; }
}
export function setToken(t) {
  try {
    if (t) sessionStorage.setItem(TOKEN_KEY, t); else sessionStorage.removeItem(TOKEN_KEY);
  } catch (_) { /* storage disabled: the token lasts until the page is left */ }
  memToken = t;
}
let memToken = '';
function headers() {
  const t = token() || memToken;
  return t ? {Accept: 'application/json', Authorization: 'Bearer ' + t} : {Accept: 'application/json'};
}

// What prefetch.js fetched for this path ({res, text, json, token}), once.
function prefetched(path) {
  const p = window.__stitchPrefetch;
  if (!p || p.path !== path) return null;
  window.__stitchPrefetch = null;
  return p.result;
}

// GET path → {res, text, json?} for a 2xx answer; an ApiError otherwise.
async function request(path, signal) {
  const pre = prefetched(path);
  const hdrs = headers();
  let res, text, json, sentToken = !!hdrs.Authorization;
  try {
    if (pre) ({res, text, json, token: sentToken} = await pre);
    else res = await fetch(path, {signal, headers: hdrs});
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError('unreachable', 0, 'cannot reach stitchd (' + e.message + ')');
  }
  if ([502, 503, 504].includes(res.status))
    throw new ApiError('unreachable', res.status, 'stitchd is unavailable (HTTP ' + res.status + ')');
  if (text === undefined) {
    try {
      text = await res.text();
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      throw new ApiError('unreachable', 0, 'the connection to stitchd broke (' + e.message + ')');
    }
  }
  if (!res.ok) {
    let msg = 'HTTP ' + res.status;
    try {
      const j = JSON.parse(text);
      if (j && j.errors && j.errors[0] && j.errors[0].msg) msg = j.errors[0].msg;
    } catch (_) { /* not JSON: keep the status */ }
    if (res.status === 401) throw new ApiError('auth', 401, msg, sentToken);
    throw new ApiError(res.status === 404 ? 'notfound' : 'http', res.status, msg);
  }
  return {res, text, json};
}

// GET path → the envelope's data. `mark` names performance marks
// (<mark>-received, <mark>-parsed) for the benchmark (bench/ui_bench.mjs).
export async function get(path, {signal, mark} = {}) {
  let {text, json} = await request(path, signal);
  if (json === undefined) {
    if (mark) performance.mark(mark + '-received');
    try {
      json = JSON.parse(text);
      if (mark) performance.mark(mark + '-parsed');
    } catch (e) {
      throw new ApiError('http', 200, 'stitchd sent invalid JSON (' + e.message + ')');
    }
  }
  return json.data;
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
// the compact trace (model.js reads it); Download JSON asks for the Jaeger one
export const trace = (id, o) => get('/api/ui/traces/' + encodeURIComponent(id), {mark: 'stitch:trace', ...o});
export const traceJaegerText = (id, o) =>
  request('/api/traces/' + encodeURIComponent(id), o && o.signal).then((r) => r.text);
export const dependencies = (endTs, lookback, o) =>
  get('/api/dependencies?' + query({endTs, lookback}), o);

// Zipkin v2's dependency links carry errorCount, which Jaeger v1's lack; the
// dependency page reads it for error rates (same server, same store).
export async function dependencyErrors(endTs, lookback, o) {
  const {text} = await request('/api/v2/dependencies?' + query({endTs, lookback}), o && o.signal);
  return JSON.parse(text);
}
