/* frontend — the shop's web front: `GET /` is a small HTML page with an
 * "Add to Cart" button; the button's script sends `POST /cart/add` with
 * {"product_id", "quantity"} as JSON, which starts the trace here (a SERVER
 * span with no incoming context) and is forwarded to the API gateway. The
 * answer carries a W3C `traceresponse` header naming the trace, which the
 * page turns into a link to the trace in stitchd's UI.
 *
 *   demo-frontend [--port 8080] [--any-port] [--ready-file F] --gateway URL
 *                 [--ui URL] [--fail] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static demo_opts_t opts;
static const char *gateway_url;
static const char *ui_url;

static const char PAGE_HEAD[] =
    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<title>stitch demo shop</title>\n"
    "<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;color:#222}"
    ".p{display:flex;justify-content:space-between;align-items:center;border:1px solid #ddd;"
    "border-radius:6px;padding:.8rem 1rem;margin:.5rem 0}button{padding:.4rem .9rem;cursor:pointer}"
    "#out{margin-top:1rem;padding:.8rem;background:#f6f6f6;border-radius:6px;white-space:pre-wrap}"
    "</style></head><body>\n<h1>stitch demo shop</h1>\n"
    "<p>Each click is one trace: frontend &rarr; api-gateway &rarr; cart-service &rarr; "
    "product-service &rarr; database, and cart-service &rarr; NATS &rarr; inventory-service.</p>\n";

static const char PAGE_TAIL[] =
    "<div class=\"p\"><span>Stitch T-shirt &mdash; $19.99</span>"
    "<button data-id=\"XYZ\">Add to Cart</button></div>\n"
    "<div class=\"p\"><span>Tracing mug &mdash; $12.50</span>"
    "<button data-id=\"ABC\">Add to Cart</button></div>\n"
    "<div class=\"p\"><span>Waterfall poster &mdash; $9.00</span>"
    "<button data-id=\"WF1\">Add to Cart</button></div>\n"
    "<div id=\"out\">Click a button.</div>\n"
    "<script>\n"
    "for (const b of document.querySelectorAll('button[data-id]')) {\n"
    "  b.addEventListener('click', async () => {\n"
    "    const out = document.getElementById('out');\n"
    "    out.textContent = 'Adding...';\n"
    "    const r = await fetch('/cart/add', {method: 'POST',\n"
    "      headers: {'Content-Type': 'application/json'},\n"
    "      body: JSON.stringify({product_id: b.dataset.id, quantity: 1})});\n"
    "    const tr = r.headers.get('traceresponse') || '';\n"
    "    const id = tr.split('-')[1] || '';\n"
    "    out.textContent = r.status + ' ' + (await r.text()) + '\\n';\n"
    "    if (id) {\n"
    "      const a = document.createElement('a');\n"
    "      a.href = UI + '/trace/' + id; a.textContent = 'trace ' + id; a.id = 'trace';\n"
    "      out.appendChild(a);\n"
    "    }\n"
    "  });\n"
    "}\n"
    "</script></body></html>\n";

static char *page(void)
{
    size_t n = sizeof PAGE_HEAD + sizeof PAGE_TAIL + strlen(ui_url) + 64;
    char *p = malloc(n);
    if (!p)
        return NULL;
    /* The UI address goes in as a JS string; it came from our own flag and
     * is checked in main() to hold no quote, backslash or '<'. */
    int w = snprintf(p, n, "%s<script>const UI = \"%s\";</script>\n%s", PAGE_HEAD, ui_url, PAGE_TAIL);
    if (w < 0 || (size_t)w >= n) {
        free(p);
        return NULL;
    }
    return p;
}

static void add_to_cart(const demo_req_t *req, demo_resp_t *resp)
{
    resp->traceresponse = true;
    if (opts.fail) {
        resp->status = 500;
        resp->body = demo_json_error("shop closed (FAIL=frontend)");
        return;
    }
    char url[512];
    snprintf(url, sizeof url, "%s/cart/add", gateway_url);
    demo_forward(url, req->body, resp);
}

static void route(void *arg, const demo_req_t *req, demo_resp_t *resp)
{
    (void)arg;
    if (strcmp(req->url, "/") == 0 && strcmp(req->method, "GET") == 0) {
        (void)stitch_mhd_set_route(req->traced, "/");
        resp->status = 200;
        resp->content_type = "text/html; charset=utf-8";
        resp->body = page();
        if (!resp->body)
            resp->status = 500;
        return;
    }
    if (strcmp(req->url, "/cart/add") == 0) {
        (void)stitch_mhd_set_route(req->traced, "/cart/add");
        if (strcmp(req->method, "POST") != 0) {
            resp->status = 405;
            resp->body = demo_json_error("POST only");
            return;
        }
        add_to_cart(req, resp);
        return;
    }
    resp->status = 404;
    resp->body = demo_json_error("not found");
}

int main(int argc, char **argv)
{
    demo_init(&opts, "frontend", 8080, argc, argv);
    gateway_url = demo_flag(argc, argv, "--gateway", NULL);
    ui_url = demo_flag(argc, argv, "--ui", "http://127.0.0.1:16686");
    if (!gateway_url) {
        fprintf(stderr, "frontend: --gateway URL is required\n");
        return 2;
    }
    if (strpbrk(ui_url, "\"\\<>") || strlen(ui_url) > 256) {
        fprintf(stderr, "frontend: bad --ui URL\n");
        return 2;
    }
    if (demo_serve(&opts, route, NULL) != 0)
        return 1;
    demo_wait();
    demo_shutdown();
    return 0;
}
