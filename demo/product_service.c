/* product-service — the shop's catalogue. `GET /products/{id}` runs
 * getProduct: one query on the product database (a CLIENT span per
 * statement, from stitch's SQLite or libpq adapter) and the product as JSON.
 *
 *   demo-product-service [--port 8083] [--any-port] [--ready-file F]
 *                        --db sqlite:PATH|postgres:CONNINFO [--seed]
 *                        [--db-delay-ms N] [--fail]
 *
 * --seed creates and fills the products table when missing (untraced).
 * Knobs: --db-delay-ms (SLOW=product-db:Nms) makes the query N ms slower;
 * --fail (FAIL=product-service) makes getProduct fail after the query,
 * with a 500, so the error shows on getProduct and on every caller's span. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common.h"
#include "store.h"

static demo_opts_t opts;
static demo_store_t *store;
static unsigned delay_ms;

static void get_product(const char *id, demo_resp_t *resp)
{
    stitch_attr_t a[] = {stitch_attr_str("product.id", id)};
    stitch_span_opts_t so = {.kind = STITCH_SPAN_KIND_INTERNAL, .attrs = a, .nattrs = 1};
    stitch_span_t *span = stitch_span_start(demo_tracer(), "getProduct", &so);
    stitch_scope_t sc = stitch_scope_push(span);

    demo_product_t p;
    char err[256] = "";
    int found = demo_store_get_product(store, id, delay_ms, &p, err, sizeof err);
    if (found < 0) {
        stitch_span_record_exception(span, "DatabaseError", err, NULL);
        stitch_span_set_status(span, STITCH_STATUS_ERROR, "product database error");
        resp->status = 500;
        resp->body = demo_json_error(err);
    } else if (opts.fail) {
        const char *msg = "product catalogue unavailable (FAIL=product-service)";
        stitch_span_record_exception(span, "CatalogueUnavailable", msg, NULL);
        stitch_span_set_status(span, STITCH_STATUS_ERROR, msg);
        resp->status = 500;
        resp->body = demo_json_error(msg);
    } else if (found == 0) {
        (void)stitch_span_add_event(span, "product not found", 0, NULL, 0);
        resp->status = 404;
        resp->body = demo_json_error("no such product");
    } else {
        json_t *j = json_pack("{s:s,s:s,s:I,s:I}", "id", p.id, "name", p.name, "price_cents",
                              (json_int_t)p.price_cents, "stock", (json_int_t)p.stock);
        resp->status = 200;
        resp->body = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
    }
    stitch_scope_pop(sc);
    stitch_span_end(span);
}

static void route(void *arg, const demo_req_t *req, demo_resp_t *resp)
{
    (void)arg;
    static const char prefix[] = "/products/";
    if (strncmp(req->url, prefix, sizeof prefix - 1) != 0 || !req->url[sizeof prefix - 1]) {
        resp->status = 404;
        resp->body = demo_json_error("not found");
        return;
    }
    (void)stitch_mhd_set_route(req->traced, "/products/{id}");
    if (strcmp(req->method, "GET") != 0) {
        resp->status = 405;
        resp->body = demo_json_error("GET only");
        return;
    }
    get_product(req->url + sizeof prefix - 1, resp);
}

int main(int argc, char **argv)
{
    demo_init(&opts, "product-service", 8083, argc, argv);
    const char *dsn = demo_flag(argc, argv, "--db", NULL);
    if (!dsn) {
        fprintf(stderr, "product-service: --db sqlite:PATH or --db postgres:CONNINFO is required\n");
        return 2;
    }
    delay_ms = (unsigned)strtoul(demo_flag(argc, argv, "--db-delay-ms", "0"), NULL, 10);
    char err[512];
    if (!(store = demo_store_open(dsn, err, sizeof err))) {
        fprintf(stderr, "product-service: %s\n", err);
        return 1;
    }
    if (demo_has_flag(argc, argv, "--seed") && demo_store_seed(store, err, sizeof err) != 0) {
        fprintf(stderr, "product-service: %s\n", err);
        return 1;
    }
    if (demo_serve(&opts, route, NULL) != 0)
        return 1;
    demo_wait();
    demo_shutdown();
    demo_store_close(store);
    return 0;
}
