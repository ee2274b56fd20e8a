/* tests/unit/wire_fixture.h — one batch of spans built through the public
 * SDK, shared by the wire encoder tests: two providers (resources "cart"
 * and "billing"), three tracers, every attribute type, an event, a link
 * with tracestate, all statuses and kinds, dropped counts, a remote parent.
 * The batch interleaves resources and scopes so grouping is exercised:
 *   spans[] = { s1 (A,lib.one), s2 (A,lib.two), s3 (B,lib.b), s4 (A,lib.one), s5 (B,lib.b) }
 * Expected OTLP nesting: A{lib.one[s1,s4], lib.two[s2]}, B{lib.b[s3,s5]}. */
#ifndef WIRE_FIXTURE_H
#define WIRE_FIXTURE_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stitch/stitch.h"

#define T0 1700000000123456789ull

struct wfx {
    stitch_provider_t *pa, *pb;
    stitch_processor_t *ma, *mb;
    stitch_tracestate_t *ts_parent, *ts_link;
    const stitch_span_data_t *spans[5];
    stitch_span_ctx_t remote_parent, link_ctx;
};

static const uint8_t FX_TRACE[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t FX_PARENT[8] = {0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8};
static const uint8_t FX_LTRACE[16] = {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
                                      0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0xff};
static const uint8_t FX_LSPAN[8] = {0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0xfe};

static const stitch_str_t fx_strs[] = {{"a", 1}, {"b\"c", 3}};
static const bool fx_bools[] = {true, false};
static const int64_t fx_ints[] = {1, -2, 3000000000ll};
static const double fx_doubles[] = {1.5, -0.5};

static const stitch_span_data_t *fx_find(stitch_processor_t *m, const char *name)
{
    for (size_t i = 0; i < stitch_memory_processor_count(m); i++)
        if (!strcmp(stitch_memory_processor_get(m, i)->name, name))
            return stitch_memory_processor_get(m, i);
    return NULL;
}

static int wfx_make(struct wfx *f)
{
    memset(f, 0, sizeof *f);
    stitch_attr_t ra[] = {
        stitch_attr_str("service.name", "cart"),
        stitch_attr_str("service.version", "1.2.3"),
        stitch_attr_str("deployment.environment.name", "test"),
        stitch_attr_int("host.cores", 8),
    };
    stitch_provider_opts_t oa = {.resource = ra, .nresource = 4, .no_env = true};
    if (stitch_provider_new(&f->pa, &oa))
        return -1;
    stitch_attr_t rb[] = {stitch_attr_str("service.name", "billing")};
    stitch_limits_t lim;
    stitch_limits_default(&lim, false);
    lim.attribute_count = 2;
    lim.event_count = 1;
    lim.link_count = 1;
    lim.event_attribute_count = 1;
    lim.link_attribute_count = 1;
    stitch_provider_opts_t ob = {.resource = rb, .nresource = 1, .no_env = true, .limits = &lim};
    if (stitch_provider_new(&f->pb, &ob))
        return -1;
    f->ma = stitch_memory_processor_new(0);
    f->mb = stitch_memory_processor_new(0);
    stitch_provider_add_processor(f->pa, f->ma);
    stitch_provider_add_processor(f->pb, f->mb);
    stitch_tracer_t *t1 = stitch_tracer(f->pa, "lib.one", "1.0");
    stitch_tracer_t *t2 = stitch_tracer(f->pa, "lib.two", NULL);
    stitch_tracer_t *tb = stitch_tracer(f->pb, "lib.b", "9");

    if (stitch_tracestate_parse("vendor=abc,other=1", 18, &f->ts_parent) ||
        stitch_tracestate_parse("lk=v", 4, &f->ts_link))
        return -1;
    memcpy(f->remote_parent.trace_id, FX_TRACE, 16);
    memcpy(f->remote_parent.span_id, FX_PARENT, 8);
    f->remote_parent.flags = STITCH_FLAG_SAMPLED;
    f->remote_parent.remote = 1;
    memcpy(f->link_ctx.trace_id, FX_LTRACE, 16);
    memcpy(f->link_ctx.span_id, FX_LSPAN, 8);
    f->link_ctx.flags = STITCH_FLAG_SAMPLED;
    f->link_ctx.remote = 1;

    /* s1: SERVER, remote parent with tracestate, every attribute type */
    stitch_ctx_t parent = {f->remote_parent, f->ts_parent, NULL};
    stitch_attr_t la[] = {stitch_attr_str("link.kind", "follows")};
    stitch_link_t link = {f->link_ctx, f->ts_link, la, 1, 0};
    stitch_span_opts_t o1 = {.kind = STITCH_SPAN_KIND_SERVER, .parent = &parent, .start_ns = T0,
                             .links = &link, .nlinks = 1};
    stitch_span_t *s1 = stitch_span_start(t1, "GET /cart", &o1);
    stitch_attr_t a1[] = {
        stitch_attr_str("http.route", "/cart"),
        stitch_attr_int("http.response.status_code", 200),
        stitch_attr_int("neg", -42),
        stitch_attr_double("ratio", 0.25),
        stitch_attr_bool("cache.hit", true),
        {"tags", {STITCH_VALUE_STRING_ARRAY, 2, {.strs = fx_strs}}},
        {"flags", {STITCH_VALUE_BOOL_ARRAY, 2, {.bools = fx_bools}}},
        {"ints", {STITCH_VALUE_INT_ARRAY, 3, {.ints = fx_ints}}},
        {"doubles", {STITCH_VALUE_DOUBLE_ARRAY, 2, {.doubles = fx_doubles}}},
    };
    if (stitch_span_set_attrs(s1, a1, 9))
        return -1;
    stitch_attr_t ea[] = {stitch_attr_str("key", "k1"), stitch_attr_int("size", 7)};
    if (stitch_span_add_event(s1, "cache miss", T0 + 1000, ea, 2))
        return -1;
    stitch_span_set_status(s1, STITCH_STATUS_ERROR, "boom \"quoted\"");

    /* s2: CLIENT, local child of s1, OK, peer attributes */
    stitch_ctx_t c1;
    stitch_ctx_from_span(&c1, s1, NULL);
    stitch_span_opts_t o2 = {.kind = STITCH_SPAN_KIND_CLIENT, .parent = &c1, .start_ns = T0 + 5000};
    stitch_span_t *s2 = stitch_span_start(t2, "SELECT cart", &o2);
    stitch_ctx_release(&c1);
    stitch_span_set_str(s2, "server.address", "db.internal");
    stitch_span_set_str(s2, "peer.service", "cartdb");
    stitch_span_set_status(s2, STITCH_STATUS_OK, NULL);
    stitch_span_end_at(s2, T0 + 5000 + 700); /* 0.7 µs: Zipkin duration rounds up to 1 */

    /* s3: PRODUCER root in B, peer address */
    stitch_ctx_t root = STITCH_CTX_INIT;
    stitch_span_opts_t o3 = {.kind = STITCH_SPAN_KIND_PRODUCER, .parent = &root, .start_ns = T0 + 10000};
    stitch_span_t *s3 = stitch_span_start(tb, "publish cart.events", &o3);
    stitch_span_set_str(s3, "network.peer.address", "10.1.2.3");
    stitch_span_set_int(s3, "network.peer.port", 5672);
    stitch_span_end_at(s3, T0 + 10000 + 3000000);

    /* s4: CONSUMER root in A */
    stitch_span_opts_t o4 = {.kind = STITCH_SPAN_KIND_CONSUMER, .parent = &root, .start_ns = T0 + 20000};
    stitch_span_end_at(stitch_span_start(t1, "consume cart.events", &o4), T0 + 20000 + 1999);

    /* s5: INTERNAL (kind 0) in B, over every limit */
    stitch_span_opts_t o5 = {.parent = &root, .start_ns = T0 + 30000};
    stitch_span_t *s5 = stitch_span_start(tb, "internal work", &o5);
    (void)stitch_span_set_int(s5, "a", 1);
    (void)stitch_span_set_int(s5, "b", 2);
    (void)stitch_span_set_int(s5, "c", 3); /* dropped */
    (void)stitch_span_add_event(s5, "e1", T0 + 30001, ea, 2); /* keeps 1 attribute */
    (void)stitch_span_add_event(s5, "e2", T0 + 30002, NULL, 0); /* dropped */
    stitch_link_t l5 = {f->link_ctx, NULL, ea, 2, 0};
    (void)stitch_span_add_link(s5, &l5); /* keeps 1 attribute */
    (void)stitch_span_add_link(s5, &l5); /* dropped */
    stitch_span_end_at(s5, T0 + 40000);

    stitch_span_end_at(s1, T0 + 250000500);

    f->spans[0] = fx_find(f->ma, "GET /cart");
    f->spans[1] = fx_find(f->ma, "SELECT cart");
    f->spans[2] = fx_find(f->mb, "publish cart.events");
    f->spans[3] = fx_find(f->ma, "consume cart.events");
    f->spans[4] = fx_find(f->mb, "internal work");
    for (int i = 0; i < 5; i++)
        if (!f->spans[i])
            return -1;
    return 0;
}

static void wfx_free(struct wfx *f)
{
    stitch_provider_free(f->pa);
    stitch_provider_free(f->pb);
    stitch_tracestate_unref(f->ts_parent);
    stitch_tracestate_unref(f->ts_link);
}

/* A span with one attribute, for encoding edge cases. */
static const stitch_span_data_t *one_span(stitch_provider_t **p, stitch_processor_t **m,
                                          const char *name, const stitch_attr_t *attrs, size_t n)
{
    stitch_provider_opts_t o = {.no_env = true};
    if (stitch_provider_new(p, &o))
        return NULL;
    *m = stitch_memory_processor_new(0);
    stitch_provider_add_processor(*p, *m);
    stitch_span_opts_t so = {.start_ns = T0, .attrs = attrs, .nattrs = n};
    stitch_span_end_at(stitch_span_start(stitch_tracer(*p, "x", NULL), name, &so), T0 + 1);
    return stitch_memory_processor_count(*m) ? stitch_memory_processor_get(*m, 0) : NULL;
}

/* cmocka group setup/teardown: *state is a struct wfx built by wfx_make. */
static int wfx_setup(void **state)
{
    struct wfx *f = calloc(1, sizeof *f);
    if (!f || wfx_make(f) != 0) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int wfx_teardown(void **state)
{
    wfx_free(*state);
    free(*state);
    return 0;
}

#endif
