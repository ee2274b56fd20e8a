/* api-gateway — the shop's single entry for its back-end services:
 * `POST /cart/add` is forwarded to the cart service's `POST /cart/items`
 * (a traced HTTP call, child of the gateway's SERVER span).
 *
 *   demo-api-gateway [--port 8081] [--any-port] [--ready-file F] --cart URL [--fail]
 *
 * A 5xx (or no answer) from the cart service becomes 502 here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static demo_opts_t opts;
static const char *cart_url;

static void route(void *arg, const demo_req_t *req, demo_resp_t *resp)
{
    (void)arg;
    if (strcmp(req->url, "/cart/add") != 0) {
        resp->status = 404;
        resp->body = demo_json_error("not found");
        return;
    }
    (void)stitch_mhd_set_route(req->traced, "/cart/add");
    if (strcmp(req->method, "POST") != 0) {
        resp->status = 405;
        resp->body = demo_json_error("POST only");
        return;
    }
    if (opts.fail) {
        resp->status = 503;
        resp->body = demo_json_error("gateway closed (FAIL=api-gateway)");
        return;
    }
    char url[512];
    snprintf(url, sizeof url, "%s/cart/items", cart_url);
    demo_forward(url, req->body, resp);
}

int main(int argc, char **argv)
{
    demo_init(&opts, "api-gateway", 8081, argc, argv);
    cart_url = demo_flag(argc, argv, "--cart", NULL);
    if (!cart_url) {
        fprintf(stderr, "api-gateway: --cart URL is required\n");
        return 2;
    }
    if (demo_serve(&opts, route, NULL) != 0)
        return 1;
    demo_wait();
    demo_shutdown();
    return 0;
}
