/* inventory-service — consumes `cart.events` from NATS. Each message is a
 * CONSUMER span `process cart.events` whose parent is the producer's
 * context read from the message headers (so the trace goes on across the
 * broker), and inside it reserveStock updates the product database.
 *
 *   demo-inventory-service --nats URL --db sqlite:PATH|postgres:CONNINFO
 *                          [--ready-file F] [--fail]
 *
 * No HTTP port: the ready file gets "nats=URL" once subscribed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common.h"
#include "store.h"
#include "stitch/instrument/nats.h"

#define SUBJECT "cart.events"
#define GROUP "inventory"

static demo_opts_t opts;
static demo_store_t *store;
static char nats_host[128];
static int nats_port;

static void reserve(const char *product, int64_t qty, stitch_span_t *process)
{
    stitch_attr_t a[] = {stitch_attr_str("product.id", product), stitch_attr_int("cart.quantity", qty)};
    stitch_span_opts_t so = {.kind = STITCH_SPAN_KIND_INTERNAL, .attrs = a, .nattrs = 2};
    stitch_span_t *span = stitch_span_start(demo_tracer(), "reserveStock", &so);
    stitch_scope_t sc = stitch_scope_push(span);
    char err[256] = "";
    int r = opts.fail ? -2 : demo_store_reserve(store, product, qty, err, sizeof err);
    const char *fail = r == 1 ? NULL
                     : r == 0 ? "out of stock"
                     : r == -2 ? "inventory unavailable (FAIL=inventory-service)" : err;
    if (fail) {
        (void)stitch_span_set_str(span, "error.type", r == 0 ? "OutOfStock" : "InventoryError");
        stitch_span_set_status(span, STITCH_STATUS_ERROR, fail);
        (void)stitch_span_set_str(process, "error.type", "reserve_failed");
        stitch_span_set_status(process, STITCH_STATUS_ERROR, fail);
    }
    stitch_scope_pop(sc);
    stitch_span_end(span);
}

static void on_msg(natsConnection *c, natsSubscription *sub, natsMsg *m, void *arg)
{
    (void)c, (void)sub, (void)arg;
    stitch_nats_opts_t no = {.msg = {.server_address = nats_host, .server_port = nats_port,
                                     .consumer_group = GROUP}};
    stitch_span_t *span = stitch_nats_process_begin(m, &no);
    stitch_scope_t sc = stitch_scope_push(span);
    json_error_t jerr;
    json_t *ev = json_loadb(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), 0, &jerr);
    const char *type = ev ? json_string_value(json_object_get(ev, "type")) : NULL;
    const char *product = ev ? json_string_value(json_object_get(ev, "product_id")) : NULL;
    json_t *q = ev ? json_object_get(ev, "quantity") : NULL;
    if (!type || strcmp(type, "cart.item_added") != 0 || !product || !json_is_integer(q)) {
        (void)stitch_span_set_str(span, "error.type", "bad_message");
        stitch_span_set_status(span, STITCH_STATUS_ERROR, "not a cart.item_added event");
    } else {
        reserve(product, json_integer_value(q), span);
    }
    json_decref(ev);
    stitch_scope_pop(sc);
    stitch_msg_end(span, NULL, NULL);
    natsMsg_Destroy(m);
}

int main(int argc, char **argv)
{
    demo_init(&opts, "inventory-service", 0, argc, argv);
    const char *nats_url = demo_flag(argc, argv, "--nats", NULL);
    const char *dsn = demo_flag(argc, argv, "--db", NULL);
    if (!nats_url || !dsn) {
        fprintf(stderr, "inventory-service: --nats URL and --db DSN are required\n");
        return 2;
    }
    const char *hp = strstr(nats_url, "://");
    hp = hp ? hp + 3 : nats_url;
    const char *colon = strrchr(hp, ':');
    snprintf(nats_host, sizeof nats_host, "%.*s", colon ? (int)(colon - hp) : (int)strlen(hp), hp);
    nats_port = colon ? atoi(colon + 1) : 4222;

    char err[512];
    if (!(store = demo_store_open(dsn, err, sizeof err))) {
        fprintf(stderr, "inventory-service: %s\n", err);
        return 1;
    }
    natsConnection *nc = NULL;
    natsSubscription *sub = NULL;
    natsOptions *no = NULL;
    natsStatus s = natsOptions_Create(&no);
    if (s == NATS_OK)
        s = natsOptions_SetURL(no, nats_url);
    if (s == NATS_OK)
        s = natsOptions_SetName(no, "inventory-service");
    if (s == NATS_OK)
        s = natsConnection_Connect(&nc, no);
    natsOptions_Destroy(no);
    /* A queue group: several inventory instances would share the work. */
    if (s == NATS_OK)
        s = natsConnection_QueueSubscribe(&sub, nc, SUBJECT, GROUP, on_msg, NULL);
    if (s == NATS_OK)
        s = natsConnection_Flush(nc); /* the server knows the subscription now */
    if (s != NATS_OK) {
        fprintf(stderr, "inventory-service: NATS at %s: %s\n", nats_url, natsStatus_GetText(s));
        return 1;
    }
    if (opts.ready_file) {
        FILE *f = fopen(opts.ready_file, "w");
        if (!f || fprintf(f, "nats=%s\n", nats_url) < 0 || fclose(f) != 0) {
            fprintf(stderr, "inventory-service: cannot write %s\n", opts.ready_file);
            return 1;
        }
    }
    demo_wait();
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(nc);
    demo_shutdown();
    demo_store_close(store);
    nats_Close();
    return 0;
}
