// tests/ui/ui.test.mjs — stitchd's web UI in a real browser, as a user sees it.
// usage: node ui.test.mjs BIN_DIR OUT_DIR   (tests/ui/run.sh installs what it needs)
//
// Starts stitchd (BIN_DIR/stitchd) on free loopback ports with a temporary
// data directory, sends known traces as OTLP/JSON, then drives Debian's
// chromium through playwright-core: search (by service, tag, duration; no
// results), the trace page (rows and their order, bar positions and widths
// against the spans' times, critical path, error marks, self time, span
// details, find, keyboard, download), the dependency graph's edges, an XSS
// span name that must stay text, the compact trace (/api/ui/traces) against
// the Jaeger one, zoom, the query token (a second stitchd with
// --query-token-file), and the states (loading, not found, stitchd
// unreachable). Screenshots go to OUT_DIR. Exits 1 on any failure.
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {startStitchd, sendSpans, launchBrowser} from './lib.mjs';

const [binDir, outDir] = process.argv.slice(2);
const FIREFOX = process.env.STITCH_UI_BROWSER === 'firefox'; // lib.mjs launchBrowser
if (!binDir || !outDir) { console.error('usage: node ui.test.mjs BIN_DIR OUT_DIR'); process.exit(2); }
mkdirSync(outDir, {recursive: true});

let passed = 0, failed = 0;
function check(name, ok, detail) {
  if (ok) { passed++; console.log('ok   ' + name); } else {
    failed++;
    console.log('FAIL ' + name + (detail !== undefined ? '\n     ' + (typeof detail === 'string' ? detail : JSON.stringify(detail)) : ''));
  }
}
async function section(name, fn) {
  try { await fn(); } catch (e) { check(name + ' (threw)', false, e.stack || String(e)); }
}
const near = (a, b, tol) => Math.abs(a - b) <= tol;

// ---- the traces --------------------------------------------------------------------
// The seed's Add-to-Cart trace plus an audit call that runs in parallel with
// the gateway (so it is not on the critical path), all times in ms from T0.
const T0 = Date.now() - 120000;
const CART = '4bf92f3577b34da6a3ce929d0e0e4736';
const SLOW = 'abc1230000000000000000000000abc1';
const XSS = 'deadbeefdeadbeefdeadbeefdeadbeef';
const XSS_NAME = '<img src=x onerror=alert(1)>';
const sp = (service, spanId, parentId, name, a, b, extra = {}) =>
  ({service, traceId: CART, spanId, parentId, name, startMs: T0 + a, endMs: T0 + b, ...extra});
const cart = [
  sp('frontend', '0000000000000001', '', 'POST /cart/add', 0, 50,
    {attrs: {'http.method': 'POST', 'http.url': '/cart/add'}}),
  sp('api-gateway', '0000000000000002', '0000000000000001', 'POST /cart/add', 10, 40,
    {attrs: {'http.method': 'POST'}, kind: 3}),
  sp('cart-service', '0000000000000003', '0000000000000002', 'addItem', 15, 40,
    {attrs: {'user.id': '42', 'cart.items': 3}, error: 'out of stock',
      events: [{name: 'inventory checked', atMs: T0 + 18, attrs: {'item.id': 'XYZ', 'item.count': 3}}],
      links: [{traceId: SLOW, spanId: '00000000000000aa'}]}),
  sp('product-service', '0000000000000004', '0000000000000003', 'getProduct', 20, 35),
  sp('product-db', '0000000000000005', '0000000000000004', 'SELECT products', 30, 35,
    {attrs: {'db.statement': "SELECT * FROM products WHERE id = 'XYZ'"}, kind: 3}),
  sp('audit-log', '0000000000000006', '0000000000000001', 'record', 12, 30),
];
// tree order, critical path, error, self time (ms)
const EXPECT = [
  {svc: 'frontend', op: 'POST /cart/add', a: 0, b: 50, cp: true, err: false, self: 20},
  {svc: 'api-gateway', op: 'POST /cart/add', a: 10, b: 40, cp: true, err: false, self: 5},
  {svc: 'cart-service', op: 'addItem', a: 15, b: 40, cp: true, err: true, self: 10},
  {svc: 'product-service', op: 'getProduct', a: 20, b: 35, cp: true, err: false, self: 10},
  {svc: 'product-db', op: 'SELECT products', a: 30, b: 35, cp: true, err: false, self: 5},
  {svc: 'audit-log', op: 'record', a: 12, b: 30, cp: false, err: false, self: 18},
];
const slow = [{service: 'frontend', traceId: SLOW, spanId: '00000000000000aa', name: 'GET /slow',
  startMs: T0 + 1000, endMs: T0 + 1300, attrs: {'user.tier': 'gold', 'http.method': 'GET'}}];
const xss = [
  {service: 'xss-svc', traceId: XSS, spanId: '0000000000000101', name: XSS_NAME, startMs: T0 + 2000,
    endMs: T0 + 2010, attrs: {'<b>key</b>': '<script>window.__pwned=1</script>', 'html': '<img src=y onerror=window.__pwned=2>'}},
  {service: 'xss-svc', traceId: XSS, spanId: '0000000000000102', parentId: '0000000000000101',
    name: '"><svg onload=window.__pwned=3>', startMs: T0 + 2002, endMs: T0 + 2008},
];

const d = await startStitchd(binDir);
console.log('stitchd: http ' + d.http + ', otlp ' + d.otlp);
let browser;
const pageErrors = [];
try {
  await sendSpans(d.otlp, [...cart, ...slow, ...xss]);
  browser = await launchBrowser();
  const ctx = await browser.newContext({viewport: {width: 1280, height: 860}, acceptDownloads: true});
  const page = await ctx.newPage();
  const dialogs = [];
  page.on('dialog', (dl) => { dialogs.push(dl.message()); dl.dismiss().catch(() => {}); });
  // Firefox over BiDi: playwright's screenshot puts a <style> of its own in
  // the page, which the CSP refuses (none is reported before the first
  // screenshot): those reports are playwright's, not the UI's.
  const playwrightStyle = (t) => FIREFOX && /blocked an inline style \(style-src-elem\)/.test(t);
  page.on('pageerror', (e) => { if (!playwrightStyle(String(e))) pageErrors.push(String(e)); });
  const cspErrors = [];
  page.on('console', (m) => {
    if (/Content[- ]Security[- ]Policy/i.test(m.text()) && !playwrightStyle(m.text())) cspErrors.push(m.text());
  });

  await section('http', async () => {
    const r = await fetch(d.http + '/');
    const body = await r.text();
    check('GET / serves index.html', r.status === 200 && /text\/html/.test(r.headers.get('content-type')) &&
      body.includes('/static/js/app.js'), r.status + ' ' + r.headers.get('content-type'));
    const csp = r.headers.get('content-security-policy') || '';
    check('CSP: default-src self, no inline script', csp.includes("default-src 'self'") &&
      !csp.includes('unsafe-inline') && !csp.includes('unsafe-eval'), csp);
    check('nosniff', r.headers.get('x-content-type-options') === 'nosniff');
    const etag = r.headers.get('etag');
    check('ETag and Cache-Control', !!etag && /no-cache/.test(r.headers.get('cache-control') || ''));
    const r304 = await fetch(d.http + '/', {headers: {'If-None-Match': etag}});
    check('If-None-Match gives 304', r304.status === 304, r304.status);
    for (const p of ['/search?service=x', '/trace/abc', '/dependencies']) {
      const x = await fetch(d.http + p);
      check('client route ' + p + ' serves index.html', x.status === 200 && (await x.text()) === body);
    }
    const js = await fetch(d.http + '/static/js/app.js');
    check('/static/js/app.js is JavaScript', js.status === 200 &&
      /^text\/javascript/.test(js.headers.get('content-type')));
    const nf = await fetch(d.http + '/static/nope.js');
    check('unknown static file is 404', nf.status === 404, nf.status);
    const api = await fetch(d.http + '/api/nope');
    check('/api/ 404 keeps the JSON error shape', api.status === 404 &&
      /application\/json/.test(api.headers.get('content-type')));
  });

  // ---- the UI's compact trace (/api/ui/traces/{id}) says what the Jaeger one says ----
  await section('compact trace', async () => {
    const {buildModel} = await import('../../ui/js/model.js');
    for (const id of [CART, SLOW, XSS]) {
      const cj = await (await fetch(d.http + '/api/ui/traces/' + id)).json();
      const jj = await (await fetch(d.http + '/api/traces/' + id)).json();
      const a = buildModel(cj.data), b = buildModel(jj.data[0]);
      const same = (x, y) => JSON.stringify(x) === JSON.stringify(y);
      const arr = (x) => Array.from(x);
      check('compact ' + id.slice(0, 6) + ': same tree, times, services, errors, critical path',
        same(a.spanID, b.spanID) && same(arr(a.order), arr(b.order)) && same(arr(a.parent), arr(b.parent)) &&
        same(arr(a.start), arr(b.start)) && same(arr(a.dur), arr(b.dur)) && a.t0 === b.t0 &&
        same(a.services, b.services) && same(arr(a.svc), arr(b.svc)) && same(arr(a.error), arr(b.error)) &&
        same(arr(a.onCP), arr(b.onCP)) && same(arr(a.self), arr(b.self)));
      const diff = [];
      for (let i = 0; i < a.n; i++) {
        const x = a.span(i), y = {...b.span(i)};
        delete y.flags;
        if (!same(x, y)) diff.push({i, compact: x, jaeger: y});
      }
      check('compact ' + id.slice(0, 6) + ': every span as the Jaeger API shows it', diff.length === 0, diff.slice(0, 1));
      const pa = a.processes, pb = b.processes;
      check('compact ' + id.slice(0, 6) + ': processes', same(pa, pb), {pa, pb});
    }
    const nf = await fetch(d.http + '/api/ui/traces/0123456789abcdef0123456789abcdef');
    check('compact: unknown trace is 404 in the Jaeger error shape', nf.status === 404 &&
      (await nf.json()).errors[0].msg === 'trace not found');
    const bad = await fetch(d.http + '/api/ui/traces/xyz');
    check('compact: malformed id is 400', bad.status === 400, bad.status);
    const cj = await (await fetch(d.http + '/api/ui/traces/' + CART)).text();
    const jj = await (await fetch(d.http + '/api/traces/' + CART)).text();
    check('compact: smaller than Jaeger JSON', cj.length < jj.length, [cj.length, jj.length]);
  });

  // ---- search ----
  await section('search', async () => {
    await page.goto(d.http + '/');
    await page.waitForSelector('#f-service option[value="frontend"]', {state: 'attached'});
    const svcs = await page.$$eval('#f-service option', (os) => os.map((o) => o.value).filter(Boolean));
    check('service picker lists the services', ['api-gateway', 'audit-log', 'cart-service', 'frontend',
      'product-db', 'product-service', 'xss-svc'].every((x) => svcs.includes(x)), svcs);
    await page.selectOption('#f-service', 'frontend');
    await page.waitForSelector('#f-operation option[value="GET /slow"]', {state: 'attached'});
    await page.click('button.primary');
    await page.waitForSelector('.trace-item');
    const url = new URL(page.url());
    check('the search is in the URL', url.pathname === '/search' && url.searchParams.get('service') === 'frontend', page.url());
    let ids = await page.$$eval('.trace-item', (els) => els.map((e) => e.dataset.traceId));
    check('search by service finds both frontend traces', ids.length === 2 && ids.includes(CART) && ids.includes(SLOW), ids);
    const dots = await page.$$eval('svg.scatter circle.dot', (els) => els.map((e) => e.dataset.traceId));
    check('scatter plot has a dot per trace', dots.length === 2, dots);
    const item = await page.$eval(`.trace-item[data-trace-id="${CART}"]`, (e) => e.textContent);
    check('result shows root, span count, errors, services', item.includes('frontend: POST /cart/add') &&
      item.includes('6 spans') && item.includes('1 error') && item.includes('cart-service') && item.includes('50ms'), item);
    await page.screenshot({path: join(outDir, 'search.png'), fullPage: true, caret: 'initial'});
    await page.setViewportSize({width: 800, height: 900});
    check('800 px search: no horizontal overflow', await page.evaluate(() => document.documentElement.scrollWidth) <= 800);
    await page.screenshot({path: join(outDir, 'search-800.png'), fullPage: true, caret: 'initial'});
    await page.setViewportSize({width: 1280, height: 860});

    await page.goto(d.http + '/search?service=frontend&tags=' + encodeURIComponent('http.method=POST') + '&lookback=1h');
    await page.waitForSelector('.trace-item');
    ids = await page.$$eval('.trace-item', (els) => els.map((e) => e.dataset.traceId));
    check('search by tag (from a reloaded URL)', ids.length === 1 && ids[0] === CART, ids);
    check('form restored from the URL', await page.inputValue('#f-tags') === 'http.method=POST');

    await page.goto(d.http + '/search?service=frontend&minDuration=200ms&lookback=1h');
    await page.waitForSelector('.trace-item');
    ids = await page.$$eval('.trace-item', (els) => els.map((e) => e.dataset.traceId));
    check('search by min duration', ids.length === 1 && ids[0] === SLOW, ids);
    await page.goto(d.http + '/search?service=frontend&maxDuration=100ms&lookback=1h');
    await page.waitForSelector('.trace-item');
    ids = await page.$$eval('.trace-item', (els) => els.map((e) => e.dataset.traceId));
    check('search by max duration', ids.length === 1 && ids[0] === CART, ids);

    await page.goto(d.http + '/search?service=frontend&tags=' + encodeURIComponent('user.tier=platinum') + '&lookback=1h');
    await page.waitForSelector('.state.noresults');
    check('no results state', (await page.textContent('.state.noresults')).includes('No traces found'));

    // a dot opens its trace; a trace id in the lookup box opens that trace
    await page.goto(d.http + '/search?service=frontend&lookback=1h');
    await page.click(`svg.scatter circle.dot[data-trace-id="${SLOW}"]`);
    await page.waitForSelector('.row');
    check('a scatter dot opens its trace', new URL(page.url()).pathname === '/trace/' + SLOW, page.url());
    await page.fill('#lookup-id', CART.toUpperCase());
    await page.press('#lookup-id', 'Enter');
    await page.waitForFunction((id) => location.pathname === '/trace/' + id && document.querySelectorAll('.row').length > 5, CART);
    check('trace id in the lookup box opens the trace', true);
  });

  // ---- trace page ----
  await section('trace', async () => {
    await page.goto(d.http + '/trace/' + CART);
    await page.waitForSelector('.row .bar');
    const head = await page.textContent('.trace-head');
    check('header: root, spans, errors, depth, services', head.includes('frontend: POST /cart/add') &&
      /Total spans\s*6/.test(head) && /Errors\s*1/.test(head) && /Depth\s*5/.test(head) &&
      /Services\s*6/.test(head) && /Duration\s*50ms/.test(head), head);
    const rows = await page.$$eval('.row', (els) => els.filter((e) => e.style.display !== 'none').map((e) => {
      const tl = e.querySelector('.tl-col').getBoundingClientRect();
      const bar = e.querySelector('.bar').getBoundingClientRect();
      return {y: e.getBoundingClientRect().top, svc: e.querySelector('.svc').textContent,
        op: e.querySelector('.op').textContent, left: (bar.left - tl.left) / tl.width,
        width: bar.width / tl.width, cp: e.classList.contains('cp'), err: e.classList.contains('error'),
        errShown: getComputedStyle(e.querySelector('.err-mark')).display !== 'none',
        label: e.querySelector('.dur').textContent, indent: e.querySelector('.indent').getBoundingClientRect().width};
    }).sort((a, b) => a.y - b.y));
    check('six rows', rows.length === 6, rows.length);
    check('rows in tree order', rows.map((r) => r.svc + '|' + r.op).join(',') ===
      EXPECT.map((r) => r.svc + '|' + r.op).join(','), rows.map((r) => r.svc + '|' + r.op));
    const bad = [];
    rows.forEach((r, k) => {
      const e = EXPECT[k];
      if (!e) return;
      if (!near(r.left, e.a / 50, 0.004) || !near(r.width, (e.b - e.a) / 50, 0.004))
        bad.push({row: k, left: r.left, want: e.a / 50, width: r.width, wantW: (e.b - e.a) / 50});
    });
    check('bars placed and sized by start and duration', bad.length === 0, bad);
    check('critical path on the right spans', rows.every((r, k) => EXPECT[k] && r.cp === EXPECT[k].cp),
      rows.map((r) => r.cp));
    check('error marked on cart-service only', rows.every((r, k) => EXPECT[k] && r.err === EXPECT[k].err && r.errShown === EXPECT[k].err),
      rows.map((r) => [r.err, r.errShown]));
    check('self time shown', rows[0].label === '50ms · self 20ms' && rows[2].label === '25ms · self 10ms' &&
      rows[4].label === '5ms', rows.map((r) => r.label));
    check('indentation follows depth', rows[4].indent > rows[3].indent && rows[3].indent > rows[0].indent &&
      rows[5].indent === rows[1].indent, rows.map((r) => r.indent));
    await page.screenshot({path: join(outDir, 'trace.png'), caret: 'initial'});

    // zoom: a drag across the ruler from 20 % to 60 % shows 10 ms … 30 ms of the 50 ms
    const bars = () => page.$$eval('.row', (els) => Object.fromEntries(els.filter((e) => e.style.display !== 'none')
      .map((e) => {
        const tl = e.querySelector('.tl-col').getBoundingClientRect(), bar = e.querySelector('.bar').getBoundingClientRect();
        return [e.dataset.spanId, {left: (bar.left - tl.left) / tl.width, width: bar.width / tl.width}];
      })));
    const rb = await page.$eval('.wf-head .ruler', (e) => { const r = e.getBoundingClientRect(); return {x: r.left, y: r.top, w: r.width, h: r.height}; });
    check('not zoomed: no Reset zoom', await page.$eval('.zoom-reset', (e) => e.hidden));
    await page.mouse.move(rb.x + rb.w * 0.2, rb.y + rb.h / 2);
    await page.mouse.down();
    await page.mouse.move(rb.x + rb.w * 0.4, rb.y + rb.h / 2, {steps: 4});
    check('zoom: the dragged range is shown while dragging', await page.$eval('.ruler-sel', (e) => !e.hidden));
    await page.mouse.move(rb.x + rb.w * 0.6, rb.y + rb.h / 2, {steps: 4});
    await page.mouse.up();
    const win = await page.evaluate(() => window.__stitchTraceView.win);
    check('zoom: the window is the dragged range', near(win[0], 10000, 150) && near(win[1], 30000, 150), win);
    const ticks = await page.$$eval('.wf-head .ruler .tick span', (els) => els.map((e) => e.textContent));
    check('zoom: the ruler shows the window', /^(9\.9\d|10(\.0\d)?)ms$/.test(ticks[0]) && /^(29\.9\d|30(\.0\d)?)ms$/.test(ticks[4]), ticks);
    const zb = await bars();
    const ps = zb['0000000000000004']; // product-service 20..35 ms: 50 % .. 125 % of the window
    check('zoom: bars placed against the window', ps && near(ps.left, (20000 - win[0]) / (win[1] - win[0]), 0.01) &&
      near(ps.width, 15000 / (win[1] - win[0]), 0.01), {ps, win});
    check('zoom: Reset zoom shown, window marked on the minimap', !(await page.$eval('.zoom-reset', (e) => e.hidden)) &&
      !(await page.$eval('.mm-win', (e) => e.hidden)));
    await page.screenshot({path: join(outDir, 'trace-zoomed.png'), caret: 'initial'});
    await page.click('.zoom-reset');
    const ub = await bars();
    check('zoom: Reset zoom shows the whole trace again', near(ub['0000000000000004'].left, 20 / 50, 0.004) &&
      near(ub['0000000000000004'].width, 15 / 50, 0.004) && (await page.$eval('.zoom-reset', (e) => e.hidden)), ub['0000000000000004']);
    // a click on the ruler (no drag) does not zoom
    await page.mouse.click(rb.x + rb.w * 0.5, rb.y + rb.h / 2);
    check('zoom: a click alone does not zoom', await page.$eval('.zoom-reset', (e) => e.hidden));

    // span details
    await page.click('.row[data-span-id="0000000000000003"] .op');
    await page.waitForSelector('.detail:not([hidden])');
    const det = await page.textContent('.detail');
    check('details: attributes', det.includes('user.id') && det.includes('42') && det.includes('cart.items'), det);
    check('details: status and error', det.includes('ERROR: out of stock'), det);
    check('details: event at its time from the trace start', det.includes('+18ms') &&
      det.includes('inventory checked') && det.includes('item.id') && det.includes('XYZ'), det);
    check('details: resource, ids, self time', det.includes('service.name') &&
      det.includes('0000000000000003') && /Self time\s*10ms/.test(det), det);
    check('details: the link to another trace', await page.$(`.detail a[href="/trace/${SLOW}?span=00000000000000aa"]`) !== null);
    await page.screenshot({path: join(outDir, 'trace-detail.png'), caret: 'initial'});

    // keyboard: Escape closes, Home selects the first row, arrows move and fold
    await page.keyboard.press('Escape');
    check('Escape closes the details', await page.$eval('.detail', (e) => e.hidden));
    await page.keyboard.press('Home');
    await page.keyboard.press('ArrowDown');
    const sel = await page.$eval('.row.selected', (e) => e.dataset.spanId);
    check('Home, ArrowDown select the second row', sel === '0000000000000002', sel);
    await page.keyboard.press('ArrowLeft');
    const shown = async () => page.$$eval('.row', (els) => els.filter((e) => e.style.display !== 'none').length);
    check('ArrowLeft collapses the span', await shown() === 3, await shown());
    await page.keyboard.press('ArrowRight');
    check('ArrowRight expands it', await shown() === 6, await shown());

    // find
    await page.keyboard.press('/');
    await page.keyboard.type('product');
    await page.waitForFunction(() => document.querySelector('.find-count').textContent.includes('match'));
    check('find counts matches', (await page.textContent('.find-count')) === '2 matches', await page.textContent('.find-count'));
    const matched = await page.$$eval('.row.match', (els) => els.map((e) => e.dataset.spanId).sort());
    check('find marks the matching rows', matched.join() === '0000000000000004,0000000000000005', matched);
    await page.keyboard.press('Enter');
    check('Enter goes to the first match', (await page.$eval('.row.selected', (e) => e.dataset.spanId)) === '0000000000000004' &&
      (await page.textContent('.find-count')) === '1 of 2');
    await page.fill('.find', 'item.id=xyz');
    check('find searches event fields', (await page.textContent('.find-count')) === '1 match');
    await page.fill('.find', '');

    // download
    if (FIREFOX) { // playwright sees no downloads over WebDriver BiDi: check the request instead
      const [rq] = await Promise.all([page.waitForResponse('**/api/traces/' + CART), page.click('button.download')]);
      check('download asks for the Jaeger JSON (Firefox: no download event)', rq.status() === 200);
    } else {
      const [dl] = await Promise.all([page.waitForEvent('download'), page.click('button.download')]);
      const j = JSON.parse(readFileSync(await dl.path(), 'utf8'));
      check('download JSON is the trace', dl.suggestedFilename() === `trace-${CART}.json` &&
        j.data[0].traceID === CART && j.data[0].spans.length === 6, dl.suggestedFilename());
    }

    // the same page at 800 px
    await page.setViewportSize({width: 800, height: 900});
    await page.click('.row[data-span-id="0000000000000003"] .op');
    await page.waitForSelector('.detail:not([hidden])');
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    check('800 px: no horizontal overflow', wide <= 800, wide);
    await page.screenshot({path: join(outDir, 'trace-800.png'), caret: 'initial'});
    await page.setViewportSize({width: 1280, height: 860});
  });

  // ---- XSS ----
  await section('xss', async () => {
    await page.goto(d.http + '/trace/' + XSS);
    await page.waitForSelector('.row .op');
    await page.click('.row[data-span-id="0000000000000101"] .op');
    await page.waitForSelector('.detail:not([hidden])');
    await page.goto(d.http + '/search?service=xss-svc&lookback=1h');
    await page.waitForSelector('.trace-item');
    const title = await page.textContent('.ti-title');
    check('XSS name shown as text in results', title === 'xss-svc: ' + XSS_NAME, title);
    await page.goto(d.http + '/trace/' + XSS);
    await page.waitForSelector('.row .op');
    await page.click('.row[data-span-id="0000000000000101"] .op');
    await page.waitForSelector('.detail:not([hidden])');
    const op = await page.$eval('.row[data-span-id="0000000000000101"] .op', (e) => e.textContent);
    check('XSS name shown as text in the waterfall', op === XSS_NAME, op);
    const det = await page.textContent('.detail');
    check('XSS attribute shown as text', det.includes('<script>window.__pwned=1</script>') && det.includes('<b>key</b>'));
    await page.waitForTimeout(300);
    const created = await page.evaluate(() => ({img: document.querySelectorAll('main img').length,
      script: document.querySelectorAll('main script').length, b: document.querySelectorAll('main b').length,
      svg: document.querySelectorAll('main svg[onload]').length, pwned: window.__pwned || 0}));
    check('XSS inert: no dialog, no element, no script ran', dialogs.length === 0 && created.img === 0 &&
      created.script === 0 && created.b === 0 && created.svg === 0 && created.pwned === 0, {dialogs, created});
  });

  // ---- dependencies ----
  await section('dependencies', async () => {
    await page.goto(d.http + '/dependencies?lookback=1h');
    await page.waitForSelector('svg.dep-graph g.edge');
    const edges = await page.$$eval('svg.dep-graph g.edge', (els) => els.map((e) =>
      ({k: e.dataset.parent + '>' + e.dataset.child, calls: e.dataset.calls, label: e.textContent})));
    const want = ['api-gateway>cart-service', 'cart-service>product-service', 'frontend>api-gateway',
      'frontend>audit-log', 'product-service>product-db'];
    const got = edges.map((e) => e.k).sort();
    check('dependency graph has the right edges', got.join() === want.join(), got);
    check('edges labelled with call counts', edges.every((e) => e.calls === '1' && e.label.includes('1 call')), edges);
    const nodes = await page.$$eval('svg.dep-graph g.node', (els) => els.map((e) => e.dataset.service).sort());
    check('a node per service', nodes.join() === 'api-gateway,audit-log,cart-service,frontend,product-db,product-service', nodes);
    const errEdge = edges.find((e) => e.k === 'api-gateway>cart-service');
    check('error rate on the failing call', errEdge && errEdge.label.includes('100.0% errors'), edges.map((e) => e.label));
    await page.screenshot({path: join(outDir, 'dependencies.png'), fullPage: true, caret: 'initial'});
  });

  // ---- query token: a second stitchd started with --query-token-file ----
  await section('token', async () => {
    const TOKEN = 's3cret-token';
    const tokFile = join(outDir, 'query.tokens');
    writeFileSync(tokFile, '# the UI test\n' + TOKEN + '\n', {mode: 0o600});
    const d2 = await startStitchd(binDir, {args: ['--query-token-file', tokFile]});
    const tctx = await browser.newContext({viewport: {width: 1280, height: 860}, acceptDownloads: true});
    try {
      await sendSpans(d2.otlp, cart);
      const raw = await fetch(d2.http + '/api/traces/' + CART);
      check('token: stitchd answers 401 without it', raw.status === 401 &&
        /^Bearer realm="stitchd"/.test(raw.headers.get('www-authenticate') || ''), raw.status);
      const tp = await tctx.newPage();
      tp.on('pageerror', (e) => { if (!playwrightStyle(String(e))) pageErrors.push(String(e)); });
      const seen = [];
      tp.on('request', (rq) => {
        if (new URL(rq.url()).pathname.startsWith('/api/')) seen.push({url: rq.url(), auth: rq.headers()['authorization'] || ''});
      });
      await tp.goto(d2.http + '/trace/' + CART);
      await tp.waitForSelector('.state.auth');
      const t1 = await tp.textContent('.state.auth');
      check('token: a 401 shows "this stitchd needs a token"', t1.includes('This stitchd needs a token') &&
        (await tp.$('.state.auth input[type=password]')) !== null && !(await tp.$('.token-error')), t1);
      check('token: the first request went without a token', seen.length > 0 && seen[0].auth === '', seen);
      await tp.screenshot({path: join(outDir, 'token.png'), caret: 'initial'});
      await tp.fill('.state.auth input[type=password]', 'wrong');
      await tp.click('.state.auth button[type=submit]');
      await tp.waitForSelector('.token-error');
      const t2 = await tp.textContent('.state.auth');
      check('token: a wrong token shows the state again with an error', t2.includes('not accepted') &&
        t2.includes('invalid bearer token'), t2);
      await tp.fill('.state.auth input[type=password]', TOKEN);
      await tp.click('.state.auth button[type=submit]');
      await tp.waitForSelector('.row .bar');
      const shown = await tp.$$eval('.row', (els) => els.filter((e) => e.style.display !== 'none').length);
      check('token: the right token opens the trace', shown === 6, shown);
      check('token: kept in sessionStorage', (await tp.evaluate(() => sessionStorage.getItem('stitch.token'))) === TOKEN);
      // a reload: prefetch.js sends it too
      seen.length = 0;
      await tp.reload();
      await tp.waitForSelector('.row .bar');
      check('token: prefetch.js sends the token', seen.some((r) => r.url.includes('/api/ui/traces/') && r.auth === 'Bearer ' + TOKEN) &&
        seen.every((r) => r.auth === 'Bearer ' + TOKEN), seen);
      // and the other pages' requests
      await tp.click('a.navlink[data-nav="search"]');
      await tp.waitForSelector('#f-service option[value="frontend"]', {state: 'attached'});
      await tp.goto(d2.http + '/dependencies?lookback=1h');
      await tp.waitForSelector('svg.dep-graph g.edge');
      check('token: search and dependencies send it (every /api request)', seen.length > 3 &&
        seen.every((r) => r.auth === 'Bearer ' + TOKEN), seen.filter((r) => r.auth !== 'Bearer ' + TOKEN));
      // the download goes through the same door
      await tp.goto(d2.http + '/trace/' + CART);
      await tp.waitForSelector('.row .bar');
      seen.length = 0;
      const [tdl] = await Promise.all([FIREFOX ? tp.waitForResponse('**/api/traces/' + CART) : tp.waitForEvent('download'),
        tp.click('button.download')]);
      check('token: Download JSON with the token', (FIREFOX ? tdl.status() === 200 : tdl.suggestedFilename() === `trace-${CART}.json`) &&
        seen.some((r) => r.url.endsWith('/api/traces/' + CART) && r.auth === 'Bearer ' + TOKEN), seen);
    } finally {
      await tctx.close();
      const ex = await d2.stop();
      if (ex && ex.code !== 0) check('stitchd with a query token: exit', false, JSON.stringify(ex) + '\n' + d2.log());
    }
  });

  // ---- states ----
  await section('states', async () => {
    await page.goto(d.http + '/trace/0123456789abcdef0123456789abcdef');
    await page.waitForSelector('.state.notfound');
    check('trace not found state', (await page.textContent('.state.notfound')).includes('Trace not found'));
    // loading: hold the trace's answer back
    let release;
    const held = new Promise((r) => { release = r; });
    await page.route('**/api/ui/traces/' + CART, async (route) => { await held; await route.continue(); });
    await page.goto(d.http + '/trace/' + CART);
    await page.waitForSelector('.state.loading');
    check('loading state while the trace comes', (await page.textContent('.state.loading')).includes('Loading trace'));
    release();
    await page.waitForSelector('.row .bar');
    await page.unroute('**/api/ui/traces/' + CART);
    // unreachable: stitchd goes away under a loaded page
    await page.goto(d.http + '/search');
    await page.waitForSelector('#f-service option[value="frontend"]', {state: 'attached'});
    const ex = await d.stop();
    check('stitchd stopped cleanly', ex && ex.code === 0, ex);
    await page.click('a.navlink[data-nav="dependencies"]');
    await page.waitForSelector('.state.unreachable');
    check('stitchd unreachable state', (await page.textContent('.state.unreachable')).includes('Cannot reach stitchd'));
  });
  check('no uncaught errors in the page', pageErrors.length === 0, pageErrors);
  check('nothing blocked by the Content-Security-Policy', cspErrors.length === 0, cspErrors);
} catch (e) {
  check('test run', false, e.stack || String(e));
} finally {
  if (browser) await browser.close().catch(() => {});
  const ex = await d.stop();
  if (ex && ex.code !== 0) check('stitchd exit', false, JSON.stringify(ex) + '\n' + d.log());
}
console.log(`ui: ${passed} passed, ${failed} failed`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
