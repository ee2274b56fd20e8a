/* cart-service — `POST /cart/items` {"product_id","quantity"} runs addItem:
 * asks the product service for the product (a traced HTTP call), records
 * the cart line, and publishes a `cart.item_added` event on the NATS
 * subject `cart.events` — a PRODUCER span `publish cart.events` whose
 * context travels in the NATS message headers to the inventory service.
 *
 *   demo-cart-service [--port 8082] [--any-port] [--ready-file F]
 *                     --product URL --nats URL [--fail]
 *
 * A failing product service (5xx or unreachable) fails addItem: the span
 * is marked and the caller gets 502. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common.h"
#include "stitch/instrument/nats.h"

#define SUBJECT "cart.events"
#define MAX_LINES 1024

static demo_opts_t opts;
static const char *product_url;
static natsConnection *nc;
static char nats_host[128];
static int nats_port;

/* The cart: lines in memory (a real shop would key them by user). */
static struct {
    pthread_mutex_t mu;
    struct { char product[32]; int64_t qty; } line[MAX_LINES];
    size_t n;
} cart = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void fail_span(stitch_span_t *s, const char *type, const char *msg)
{
    (void)stitch_span_set_str(s, "error.type", type);
    stitch_span_set_status(s, STITCH_STATUS_ERROR, msg);
}

static int64_t record_line(const char *product, int64_t qty)
{
    pthread_mutex_lock(&cart.mu);
    int64_t total = qty;
    size_t i;
    for (i = 0; i < cart.n; i++)
        if (strcmp(cart.line[i].product, product) == 0)
            break;
    if (i < cart.n) {
        total = cart.line[i].qty += qty;
    } else if (cart.n < MAX_LINES) {
        snprintf(cart.line[cart.n].product, sizeof cart.line[cart.n].product, "%s", product);
        cart.line[cart.n++].qty = qty;
    }
    pthread_mutex_unlock(&cart.mu);
    return total;
}

/* Publish the event; NATS_OK or the failure. */
static natsStatus publish(const char *product, int64_t qty, int64_t price)
{
    json_t *ev = json_pack("{s:s,s:s,s:I,s:I}", "type", "cart.item_added", "product_id", product,
                           "quantity", (json_int_t)qty, "price_cents", (json_int_t)price);
    char *body = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
    json_decref(ev);
    if (!body)
        return NATS_NO_MEMORY;
    natsMsg *m = NULL;
    natsStatus s = natsMsg_Create(&m, SUBJECT, NULL, body, (int)strlen(body));
    if (s == NATS_OK) {
        stitch_nats_opts_t no = {.msg = {.server_address = nats_host, .server_port = nats_port}};
        s = stitch_nats_publish_msg(nc, m, &no);
        natsMsg_Destroy(m);
    }
    free(body);
    return s;
}

static void add_item(const demo_req_t *req, demo_resp_t *resp)
{
    json_error_t jerr;
    json_t *in = json_loadb(req->body, req->body_len, 0, &jerr);
    const char *product = in ? json_string_value(json_object_get(in, "product_id")) : NULL;
    json_t *q = in ? json_object_get(in, "quantity") : NULL;
    int64_t qty = json_is_integer(q) ? json_integer_value(q) : 1;
    if (!product || !*product || strlen(product) > 31 || qty < 1 || qty > 1000) {
        json_decref(in);
        resp->status = 400;
        resp->body = demo_json_error("want {\"product_id\": \"XYZ\", \"quantity\": 1..1000}");
        return;
    }

    stitch_attr_t a[] = {stitch_attr_str("product.id", product), stitch_attr_int("cart.quantity", qty)};
    stitch_span_opts_t so = {.kind = STITCH_SPAN_KIND_INTERNAL, .attrs = a, .nattrs = 2};
    stitch_span_t *span = stitch_span_start(demo_tracer(), "addItem", &so);
    stitch_scope_t sc = stitch_scope_push(span);

    char url[512], err[256] = "", *body = NULL;
    snprintf(url, sizeof url, "%s/products/%s", product_url, product);
    unsigned st = demo_call("GET", url, NULL, &body, err, sizeof err);
    json_t *p = (st == 200 && body) ? json_loads(body, 0, &jerr) : NULL;
    if (st == 404) {
        resp->status = 404;
        resp->body = demo_json_error("no such product");
    } else if (!p) {
        char msg[320];
        if (st)
            snprintf(msg, sizeof msg, "product-service answered %u", st);
        else
            snprintf(msg, sizeof msg, "product-service unreachable: %s", err);
        fail_span(span, st ? "product_service_error" : "product_service_unreachable", msg);
        resp->status = 502;
        resp->body = demo_json_error(msg);
    } else if (opts.fail) {
        const char *msg = "cart store unavailable (FAIL=cart-service)";
        fail_span(span, "CartUnavailable", msg);
        resp->status = 500;
        resp->body = demo_json_error(msg);
    } else {
        int64_t price = json_integer_value(json_object_get(p, "price_cents"));
        int64_t total = record_line(product, qty);
        stitch_attr_t ea[] = {stitch_attr_int("cart.line.quantity", total)};
        (void)stitch_span_add_event(span, "cart line recorded", 0, ea, 1);
        natsStatus ns = publish(product, qty, price);
        if (ns != NATS_OK) {
            fail_span(span, stitch_nats_status_name(ns), natsStatus_GetText(ns));
            resp->status = 502;
            resp->body = demo_json_error("cannot publish cart.item_added");
        } else {
            json_t *out = json_pack("{s:s,s:O,s:I,s:I}", "status", "added", "product", p,
                                    "quantity", (json_int_t)qty, "in_cart", (json_int_t)total);
            resp->status = 200;
            resp->body = out ? json_dumps(out, JSON_COMPACT) : NULL;
            json_decref(out);
        }
    }
    json_decref(p);
    free(body);
    json_decref(in);
    stitch_scope_pop(sc);
    stitch_span_end(span);
}

static void route(void *arg, const demo_req_t *req, demo_resp_t *resp)
{
    (void)arg;
    if (strcmp(req->url, "/cart/items") != 0) {
        resp->status = 404;
        resp->body = demo_json_error("not found");
        return;
    }
    (void)stitch_mhd_set_route(req->traced, "/cart/items");
    if (strcmp(req->method, "POST") != 0) {
        resp->status = 405;
        resp->body = demo_json_error("POST only");
        return;
    }
    add_item(req, resp);
}

int main(int argc, char **argv)
{
    demo_init(&opts, "cart-service", 8082, argc, argv);
    product_url = demo_flag(argc, argv, "--product", NULL);
    const char *nats_url = demo_flag(argc, argv, "--nats", NULL);
    if (!product_url || !nats_url) {
        fprintf(stderr, "cart-service: --product URL and --nats URL are required\n");
        return 2;
    }
    /* server.address / server.port for the publish span. */
    const char *hp = strstr(nats_url, "://");
    hp = hp ? hp + 3 : nats_url;
    const char *colon = strrchr(hp, ':');
    snprintf(nats_host, sizeof nats_host, "%.*s", colon ? (int)(colon - hp) : (int)strlen(hp), hp);
    nats_port = colon ? atoi(colon + 1) : 4222;

    natsOptions *no = NULL;
    natsStatus s = natsOptions_Create(&no);
    if (s == NATS_OK)
        s = natsOptions_SetURL(no, nats_url);
    if (s == NATS_OK)
        s = natsOptions_SetName(no, "cart-service");
    if (s == NATS_OK)
        s = natsConnection_Connect(&nc, no);
    natsOptions_Destroy(no);
    if (s != NATS_OK) {
        fprintf(stderr, "cart-service: cannot connect to NATS at %s: %s\n", nats_url,
                natsStatus_GetText(s));
        return 1;
    }
    if (demo_serve(&opts, route, NULL) != 0)
        return 1;
    demo_wait();
    demo_shutdown();
    natsConnection_Destroy(nc);
    nats_Close();
    return 0;
}
