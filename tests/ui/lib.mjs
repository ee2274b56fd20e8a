// tests/ui/lib.mjs — what the UI test and the UI benchmark share: start a
// real stitchd on free loopback ports with a temporary data directory, send
// spans to it as OTLP/JSON, make big traces, and launch Debian's chromium
// through playwright-core.
import {spawn} from 'node:child_process';
import {mkdtempSync, readFileSync, existsSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join, dirname} from 'node:path';
import {fileURLToPath} from 'node:url';
import {createRequire} from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, 'package.json'));

export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'];

// STITCH_UI_BROWSER=firefox: Debian's firefox-esr instead, driven over
// WebDriver BiDi (playwright-core's "moz-firefox" channel, experimental in
// playwright; its default Firefox protocol, Juggler, needs Playwright's own
// patched Firefox build). docs/ui.md, "Firefox".
export async function launchBrowser() {
  const {chromium, firefox} = require('playwright-core');
  if (process.env.STITCH_UI_BROWSER === 'firefox')
    return firefox.launch({channel: 'moz-firefox', executablePath: process.env.FIREFOX || '/usr/bin/firefox-esr',
      headless: true, timeout: 120000});
  return chromium.launch({executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: CHROMIUM_FLAGS, headless: true});
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Start stitchd; resolves to {http, otlp, stop(), log()}.
// `args`: more command-line arguments (e.g. --query-token-file FILE).
export async function startStitchd(binDir, {timeoutMs = 60000, args = []} = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'stitch-ui-'));
  const ready = join(dir, 'ready');
  const logs = [];
  const proc = spawn(join(binDir, 'stitchd'), ['--data', join(dir, 'data'), '--otlp-http', '127.0.0.1:0',
    '--zipkin', 'off', '--http', '127.0.0.1:0', '--ready-file', ready, '--log-level', 'warn', ...args],
  {stdio: ['ignore', 'pipe', 'pipe']});
  proc.stdout.on('data', (b) => logs.push(String(b)));
  proc.stderr.on('data', (b) => logs.push(String(b)));
  let exited = null;
  const done = new Promise((r) => proc.on('exit', (code, sig) => { exited = {code, sig}; r(); }));
  const t0 = Date.now();
  let http = '', otlp = '';
  while (Date.now() - t0 < timeoutMs) {
    if (exited) break;
    if (existsSync(ready)) {
      const txt = readFileSync(ready, 'utf8');
      http = (/^http=(.+)$/m.exec(txt) || [])[1] || '';
      otlp = (/^otlp-http=(.+)$/m.exec(txt) || [])[1] || '';
      if (http && otlp) break;
    }
    await sleep(50);
  }
  const stop = async () => {
    if (!exited) { proc.kill('SIGTERM'); await Promise.race([done, sleep(20000)]); }
    if (!exited) { proc.kill('SIGKILL'); await done; }
    rmSync(dir, {recursive: true, force: true});
    return exited;
  };
  if (!http || !otlp) {
    await stop();
    throw new Error('stitchd did not start: ' + logs.join(''));
  }
  return {http: 'http://' + http, otlp: 'http://' + otlp, stop, log: () => logs.join(''), proc};
}

// ---- OTLP/JSON -------------------------------------------------------------------

const attr = (k, v) => ({key: k, value: typeof v === 'number'
  ? (Number.isInteger(v) ? {intValue: String(v)} : {doubleValue: v})
  : typeof v === 'boolean' ? {boolValue: v} : {stringValue: String(v)}});
export const attrs = (o) => Object.entries(o || {}).map(([k, v]) => attr(k, v));

// ms since the epoch (may be fractional) → ns as a decimal string
export const ns = (ms) => (BigInt(Math.round(ms * 1000)) * 1000n).toString();

// spans: [{service, traceId, spanId, parentId, name, kind, startMs, endMs,
//          attrs, events: [{name, atMs, attrs}], error, links: [{traceId, spanId}]}]
export function otlpBody(spans, resourceAttrs = {}) {
  return {resourceSpans: spans.map((sp) => ({
    resource: {attributes: attrs({'service.name': sp.service, ...resourceAttrs})},
    scopeSpans: [{scope: {name: 'stitch.ui-test'}, spans: [{
      traceId: sp.traceId, spanId: sp.spanId, ...(sp.parentId ? {parentSpanId: sp.parentId} : {}),
      name: sp.name, kind: sp.kind || 2,
      startTimeUnixNano: ns(sp.startMs), endTimeUnixNano: ns(sp.endMs),
      attributes: attrs(sp.attrs),
      events: (sp.events || []).map((e) => ({timeUnixNano: ns(e.atMs), name: e.name, attributes: attrs(e.attrs)})),
      links: (sp.links || []).map((l) => ({traceId: l.traceId, spanId: l.spanId})),
      ...(sp.error ? {status: {code: 2, message: sp.error}} : {}),
    }]}],
  }))};
}

export async function sendSpans(otlpUrl, spans, batch = 2000) {
  for (let k = 0; k < spans.length; k += batch) {
    const res = await fetch(otlpUrl + '/v1/traces', {method: 'POST',
      headers: {'Content-Type': 'application/json'},
      body: JSON.stringify(otlpBody(spans.slice(k, k + batch)))});
    if (res.status !== 200) throw new Error('OTLP POST: HTTP ' + res.status + ' ' + await res.text());
  }
}

export const hex = (n, w) => n.toString(16).padStart(w, '0');

// A big trace of n spans: a wide, moderately deep tree (each span has up
// to 8 children), 20 services, ~10 attributes each, times nested inside
// their parents.
export function bigTrace(n, traceId, baseMs) {
  const spans = [];
  const total = 5000; // ms
  for (let i = 0; i < n; i++) {
    const parent = i === 0 ? -1 : Math.floor((i - 1) / 8);
    let startMs, endMs;
    if (parent < 0) { startMs = baseMs; endMs = baseMs + total; } else {
      const p = spans[parent], slot = (i - 1) % 8, len = p.endMs - p.startMs;
      startMs = p.startMs + (len * slot) / 9 + len * 0.01;
      endMs = startMs + (len / 9) * (0.5 + ((i * 7919) % 100) / 200);
    }
    spans.push({service: 'svc-' + (i % 20), traceId, spanId: hex(i + 1, 16),
      parentId: parent < 0 ? '' : hex(parent + 1, 16), name: 'op-' + (i % 50) + ' /api/items/' + (i % 7),
      startMs, endMs, error: i % 997 === 5 ? 'boom' : undefined,
      attrs: {'http.method': 'GET', 'http.status_code': 200, 'http.url': '/api/items/' + i, 'user.id': String(i % 100),
        'net.peer.name': 'host-' + (i % 13), 'db.system': 'postgresql', 'thread.id': i % 16,
        'component': 'http', 'ratio': 0.25, 'retry': false}});
  }
  return spans;
}
