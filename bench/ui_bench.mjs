// bench/ui_bench.mjs — the web UI with big traces: navigation to the first
// rendered waterfall, for traces of 1,000, 10,000 and 50,000 spans, in
// headless Chromium (Debian's, through playwright-core), median of N loads.
//
//   node bench/ui_bench.mjs [BIN_DIR] [--loads N] [--sizes 1000,10000,50000] [--jaeger]
//
// (--jaeger: "query outside the browser" fetches the Jaeger JSON, as the UI
// did before it read /api/ui/traces/{id}; for comparing with older builds)
//
// BIN_DIR (default build/bin) holds stitchd; it is started on free loopback
// ports with a temporary data directory, the traces are sent as OTLP/JSON
// (tests/ui/lib.mjs bigTrace: 20 services, ~10 attributes per span), then
// each trace page is loaded N times in a fresh browser context (no cache).
// Figures (ms from navigation start, the page's own performance marks and
// the Resource Timing entry of the trace's query):
//   request  — the trace's query is sent (js/prefetch.js starts it)
//   first byte — its answer starts to arrive (stitchd has built it)
//   fetched  — the trace's JSON is in the page as text (transfer, gunzip, decode)
//   parsed   — JSON.parse done
//   model    — tree, layout, self time, critical path computed (model.js)
//   painted  — the first waterfall frame is on screen (two animation frames
//              after the rows are in the DOM)
// then, on the last load, scrolling: 120 frames each jumping 40 rows, the
// median and 95th percentile of the frame-to-frame time. Prints a Markdown
// table. For scale, `curl` is the same query fetched by node outside the
// browser (median of 3, gzip accepted), and the load average is printed: on a shared
// 2-core machine the figures move with it. Needs tests/ui/node_modules
// (tests/ui/run.sh installs it).
import {resolve} from 'node:path';
import {loadavg} from 'node:os';
import {startStitchd, sendSpans, launchBrowser, bigTrace, hex} from '../tests/ui/lib.mjs';

const args = process.argv.slice(2);
let bin = 'build/bin', loads = 5, sizes = [1000, 10000, 50000], apiPath = '/api/ui/traces/';
for (let k = 0; k < args.length; k++) {
  if (args[k] === '--loads') loads = +args[++k];
  else if (args[k] === '--sizes') sizes = args[++k].split(',').map(Number);
  else if (args[k] === '--jaeger') apiPath = '/api/traces/';
  else bin = args[k];
}
const median = (xs) => { const s = xs.slice().sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)]; };
const pct = (xs, p) => { const s = xs.slice().sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };

const load1 = loadavg()[0];
const d = await startStitchd(resolve(bin), {timeoutMs: 120000});
const browser = await launchBrowser();
const rows = [];
try {
  const base = Date.now() - 600000;
  const ids = {};
  for (const n of sizes) {
    ids[n] = hex(n, 16) + 'feedface00000000';
    const t = Date.now();
    await sendSpans(d.otlp, bigTrace(n, ids[n], base));
    console.error(`sent ${n} spans in ${Date.now() - t} ms`);
  }
  for (const n of sizes) {
    const r = {n, request: [], first: [], fetched: [], parsed: [], model: [], painted: [], bytes: 0, wire: 0, scroll: null, direct: []};
    for (let k = 0; k < 3; k++) {
      const t = performance.now();
      const res = await fetch(d.http + apiPath + ids[n]);
      await res.arrayBuffer();
      r.direct.push(performance.now() - t);
    }
    for (let k = 0; k < loads; k++) {
      const ctx = await browser.newContext({viewport: {width: 1280, height: 860}});
      const page = await ctx.newPage();
      await page.goto(d.http + '/trace/' + ids[n]);
      await page.waitForFunction(() => performance.getEntriesByName('stitch:waterfall-painted').length > 0,
        null, {timeout: 120000});
      const m = await page.evaluate(() => {
        const at = (name) => performance.getEntriesByName(name)[0].startTime;
        const res = performance.getEntriesByType('resource').find((e) => /\/api\/(ui\/)?traces\//.test(e.name));
        return {request: res ? res.startTime : NaN, first: res ? res.responseStart : NaN,
          fetched: at('stitch:trace-received'), parsed: at('stitch:trace-parsed'),
          model: at('stitch:trace-model'), painted: at('stitch:waterfall-painted'),
          bytes: res ? res.decodedBodySize || res.encodedBodySize : 0, wire: res ? res.encodedBodySize : 0,
          rows: document.querySelectorAll('.row').length};
      });
      for (const key of ['request', 'first', 'fetched', 'parsed', 'model', 'painted']) r[key].push(m[key]);
      r.bytes = m.bytes;
      r.wire = m.wire;
      if (k === loads - 1) {
        r.scroll = await page.evaluate(() => new Promise((done) => {
          const sc = document.querySelector('.wf-scroll');
          const times = [];
          let last = performance.now(), frames = 0;
          const tick = () => {
            const now = performance.now();
            if (frames > 0) times.push(now - last);
            last = now;
            if (++frames > 120) { done(times); return; }
            sc.scrollTop = (sc.scrollTop + 40 * 24) % (sc.scrollHeight - sc.clientHeight);
            requestAnimationFrame(tick);
          };
          requestAnimationFrame(tick);
        }));
      }
      await ctx.close();
    }
    rows.push(r);
    console.error(`${n}: painted ${r.painted.map((x) => x.toFixed(0)).join(', ')} ms`);
  }
} finally {
  await browser.close();
  await d.stop();
}
const load0 = loadavg()[0];
console.log(`| spans | JSON (gzip'd) | query outside the browser | request sent | first byte | JSON in the page | parsed | model | **first waterfall** | scroll frame (median / p95) |`);
console.log(`| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`);
for (const r of rows)
  console.log(`| ${r.n.toLocaleString('en')} | ${(r.bytes / 1e6).toFixed(2)} MB (${(r.wire / 1e6).toFixed(2)} MB) | ${median(r.direct).toFixed(0)} ms | ` +
    `${median(r.request).toFixed(0)} ms | ${median(r.first).toFixed(0)} ms | ${median(r.fetched).toFixed(0)} ms | ` +
    `${median(r.parsed).toFixed(0)} ms | ${median(r.model).toFixed(0)} ms | **${median(r.painted).toFixed(0)} ms** | ` +
    `${median(r.scroll).toFixed(1)} / ${pct(r.scroll, 0.95).toFixed(1)} ms |`);
console.log(`\nmedian of ${loads} loads each; ms from navigation start; load average ${load1.toFixed(2)} at the start, ${load0.toFixed(2)} at the end.`);
