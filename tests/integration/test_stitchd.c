/* Integration tests of stitchd: real processes on free loopback ports with
 * temporary data directories (stitchd_fixture.h). Spans are built as
 * records, encoded with wire/'s encoders (OTLP protobuf, OTLP JSON, Zipkin
 * JSON), sent like a client would (plain, gzip, chunked), and read back
 * through the query APIs: Jaeger v1 (/api/traces/{id}), Jaeger v3
 * (/api/v3/traces/{id}, whose OTLP/JSON is decoded again and compared field
 * by field) and Zipkin v2 (/api/v2/trace/{id}). Also: restart and kill -9
 * durability, the error statuses and bodies, /healthz, /metrics, signals,
 * and bad flags. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <zlib.h>

#include "stitch/stitch.h"
#include "tests/integration/stitchd_fixture.h"
#include "wire/decode.h"
#include "wire/wire.h"

/* ---- span records to send ------------------------------------------------------------ */

#define T0 1700000000123456789ull

/* One trace of three spans of service "shop" (scope "shop.lib"):
 *   root   SERVER  "POST /cart"   attrs of each type, OK
 *   child  CLIENT  "SELECT cart"  an event with an attribute, a link, ERROR "boom"
 *   leaf   INTERNAL "compute"     parent child */
typedef struct fx {
    stitch_attr_t res[2];
    stitch_scope_info_t scope;
    stitch_attr_t a_root[4], a_child[2], a_ev[1], a_link[1];
    stitch_event_t ev;
    stitch_link_t link;
    stitch_span_data_t s[3];
    const stitch_span_data_t *p[3];
    char name_root[64];
} fx_t;

static void fx_make(fx_t *f, uint32_t seed)
{
    memset(f, 0, sizeof *f);
    f->res[0] = stitch_attr_str("service.name", "shop");
    f->res[1] = stitch_attr_str("deployment.environment.name", "test");
    f->scope.name = "shop.lib";
    f->scope.version = "1.0";
    f->a_root[0] = stitch_attr_str("http.request.method", "POST");
    f->a_root[1] = stitch_attr_int("http.response.status_code", 201);
    f->a_root[2] = stitch_attr_double("ratio", 0.25);
    f->a_root[3] = stitch_attr_bool("cache.hit", true);
    f->a_child[0] = stitch_attr_str("db.system", "sqlite");
    f->a_child[1] = stitch_attr_str("peer.service", "cart-db");
    f->a_ev[0] = stitch_attr_int("rows", 7);
    f->a_link[0] = stitch_attr_str("link.kind", "retry");
    f->ev.time_ns = T0 + 2000;
    f->ev.name = "cache miss";
    f->ev.attrs = f->a_ev;
    f->ev.nattrs = 1;
    for (int i = 0; i < 16; i++)
        f->link.ctx.trace_id[i] = (uint8_t)(0xa0 + i);
    for (int i = 0; i < 8; i++)
        f->link.ctx.span_id[i] = (uint8_t)(0xb0 + i);
    f->link.ctx.flags = 1;
    f->link.attrs = f->a_link;
    f->link.nattrs = 1;
    snprintf(f->name_root, sizeof f->name_root, "POST /cart");
    for (int k = 0; k < 3; k++) {
        stitch_span_data_t *s = &f->s[k];
        for (int i = 0; i < 16; i++)
            s->ctx.trace_id[i] = (uint8_t)(i < 4 ? seed >> (8 * (3 - i)) : (uint32_t)(0x10 + i));
        for (int i = 0; i < 8; i++)
            s->ctx.span_id[i] = (uint8_t)(0x30 + 16 * k + i);
        s->ctx.flags = 1;
        s->resource = f->res;
        s->nresource = 2;
        s->scope = &f->scope;
        s->status_message = "";
        f->p[k] = s;
    }
    f->s[0].name = f->name_root;
    f->s[0].kind = STITCH_SPAN_KIND_SERVER;
    f->s[0].start_ns = T0;
    f->s[0].end_ns = T0 + 50000000;
    f->s[0].attrs = f->a_root;
    f->s[0].nattrs = 4;
    f->s[0].status = STITCH_STATUS_OK;
    f->s[1].name = "SELECT cart";
    f->s[1].kind = STITCH_SPAN_KIND_CLIENT;
    memcpy(f->s[1].parent_span_id, f->s[0].ctx.span_id, 8);
    f->s[1].start_ns = T0 + 1000;
    f->s[1].end_ns = T0 + 30000000;
    f->s[1].attrs = f->a_child;
    f->s[1].nattrs = 2;
    f->s[1].events = &f->ev;
    f->s[1].nevents = 1;
    f->s[1].links = &f->link;
    f->s[1].nlinks = 1;
    f->s[1].status = STITCH_STATUS_ERROR;
    f->s[1].status_message = "boom";
    f->s[2].name = "compute";
    f->s[2].kind = STITCH_SPAN_KIND_INTERNAL;
    memcpy(f->s[2].parent_span_id, f->s[1].ctx.span_id, 8);
    f->s[2].start_ns = T0 + 5000;
    f->s[2].end_ns = T0 + 6000;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

static void gzip_buf(const uint8_t *p, size_t n, stitch_buf_t *out)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&z, n) + 64;
    assert_int_equal(stitch_buf_reserve(out, cap), 0);
    z.next_in = (uint8_t *)p;
    z.avail_in = (uInt)n;
    z.next_out = out->data;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    out->len = cap - z.avail_out;
    deflateEnd(&z);
}

/* POST to the OTLP port; the status. */
static long post_otlp(const sd_t *d, const void *body, size_t len, const char *ctype,
                      const char *encoding, bool chunked, sd_resp_t *r)
{
    char url[256], ct[128], ce[128];
    snprintf(url, sizeof url, "http://%s/v1/traces", d->otlp);
    snprintf(ct, sizeof ct, "Content-Type: %s", ctype);
    snprintf(ce, sizeof ce, "Content-Encoding: %s", encoding ? encoding : "identity");
    const char *h[] = {ct, encoding ? ce : NULL, NULL};
    return sd_http_ex(NULL, "POST", url, h, body, len, chunked, r);
}

static long send_proto(const sd_t *d, const stitch_span_data_t *const *spans, size_t n)
{
    stitch_buf_t b = STITCH_BUF_INIT(0);
    assert_int_equal(stitch_wire_otlp_proto_encode(spans, n, &b), 0);
    sd_resp_t r;
    long st = post_otlp(d, b.data, b.len, "application/x-protobuf", NULL, false, &r);
    if (st == 200)
        assert_int_equal(r.len, 0); /* the empty ExportTraceServiceResponse */
    sd_resp_free(&r);
    stitch_buf_free(&b);
    return st;
}

/* ---- reading traces back --------------------------------------------------------------- */

static const stitch_span_data_t *find_span(const stitch_wire_batch_t *b, const uint8_t id[8])
{
    for (size_t i = 0; i < b->nspans; i++)
        if (!memcmp(b->spans[i].ctx.span_id, id, 8))
            return &b->spans[i];
    return NULL;
}

static const stitch_attr_t *find_attr(const stitch_attr_t *a, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(a[i].key, key))
            return &a[i];
    return NULL;
}

static void assert_attrs_in(const stitch_attr_t *want, size_t nw, const stitch_attr_t *got,
                            size_t ng)
{
    for (size_t i = 0; i < nw; i++) {
        const stitch_attr_t *g = find_attr(got, ng, want[i].key);
        if (!g)
            fail_msg("attribute %s missing", want[i].key);
        assert_int_equal(g->value.type, want[i].value.type);
        switch (want[i].value.type) {
        case STITCH_VALUE_STRING: assert_string_equal(g->value.u.str, want[i].value.u.str); break;
        case STITCH_VALUE_INT: assert_int_equal(g->value.u.i, want[i].value.u.i); break;
        case STITCH_VALUE_BOOL: assert_int_equal(g->value.u.b, want[i].value.u.b); break;
        case STITCH_VALUE_DOUBLE: assert_true(g->value.u.d == want[i].value.u.d); break;
        default: break;
        }
    }
}

/* GET /api/v3/traces/{id} and compare every span of `f` with what comes back. */
static void check_v3(const sd_t *d, const fx_t *f)
{
    char id[33], path[100];
    hex(f->s[0].ctx.trace_id, 16, id);
    snprintf(path, sizeof path, "/api/v3/traces/%s", id);
    sd_resp_t r;
    assert_int_equal(sd_get(d->http, path, &r), 200);
    json_error_t je;
    json_t *doc = json_loads(r.body, 0, &je);
    assert_non_null(doc);
    json_t *res = json_object_get(doc, "result");
    assert_non_null(res);
    char *otlp = json_dumps(res, JSON_COMPACT);
    stitch_wire_batch_t b;
    stitch_wire_batch_init(&b, 0);
    stitch_wire_error_t err;
    assert_int_equal(stitch_wire_otlp_json_decode(&b, (uint8_t *)otlp, strlen(otlp), &err), 0);
    assert_int_equal(b.nspans, 3);
    for (int k = 0; k < 3; k++) {
        const stitch_span_data_t *w = &f->s[k], *g = find_span(&b, w->ctx.span_id);
        assert_non_null(g);
        assert_memory_equal(g->ctx.trace_id, w->ctx.trace_id, 16);
        assert_memory_equal(g->parent_span_id, w->parent_span_id, 8);
        assert_string_equal(g->name, w->name);
        assert_int_equal(g->kind, w->kind);
        assert_int_equal(g->start_ns, w->start_ns);
        assert_int_equal(g->end_ns, w->end_ns);
        assert_int_equal(g->status, w->status);
        assert_string_equal(g->status_message ? g->status_message : "", w->status_message);
        assert_attrs_in(w->attrs, w->nattrs, g->attrs, g->nattrs);
        assert_attrs_in(w->resource, w->nresource, g->resource, g->nresource);
        assert_non_null(g->scope);
        assert_string_equal(g->scope->name, "shop.lib");
        assert_int_equal(g->nevents, w->nevents);
        for (uint32_t e = 0; e < w->nevents; e++) {
            assert_string_equal(g->events[e].name, w->events[e].name);
            assert_int_equal(g->events[e].time_ns, w->events[e].time_ns);
            assert_attrs_in(w->events[e].attrs, w->events[e].nattrs, g->events[e].attrs,
                            g->events[e].nattrs);
        }
        assert_int_equal(g->nlinks, w->nlinks);
        for (uint32_t l = 0; l < w->nlinks; l++) {
            assert_memory_equal(g->links[l].ctx.trace_id, w->links[l].ctx.trace_id, 16);
            assert_memory_equal(g->links[l].ctx.span_id, w->links[l].ctx.span_id, 8);
            assert_attrs_in(w->links[l].attrs, w->links[l].nattrs, g->links[l].attrs,
                            g->links[l].nattrs);
        }
    }
    stitch_wire_batch_free(&b);
    free(otlp);
    json_decref(doc);
    sd_resp_free(&r);
}

static json_t *jaeger_trace(const sd_t *d, const uint8_t trace_id[16], long *status)
{
    char id[33], path[100];
    hex(trace_id, 16, id);
    snprintf(path, sizeof path, "/api/traces/%s", id);
    sd_resp_t r;
    *status = sd_get(d->http, path, &r);
    json_t *doc = json_loads(r.body, 0, NULL);
    sd_resp_free(&r);
    return doc;
}

static json_t *jaeger_tag(json_t *tags, const char *key)
{
    size_t i;
    json_t *t;
    json_array_foreach(tags, i, t) if (!strcmp(json_string_value(json_object_get(t, "key")), key))
        return t;
    return NULL;
}

/* GET /api/traces/{id} (Jaeger v1): the tree, kinds, times, tags, logs, status, process. */
static void check_jaeger(const sd_t *d, const fx_t *f)
{
    long st;
    json_t *doc = jaeger_trace(d, f->s[0].ctx.trace_id, &st);
    assert_int_equal(st, 200);
    assert_non_null(doc);
    json_t *tr = json_array_get(json_object_get(doc, "data"), 0);
    assert_non_null(tr);
    json_t *spans = json_object_get(tr, "spans");
    assert_int_equal(json_array_size(spans), 3);
    json_t *procs = json_object_get(tr, "processes");
    size_t i;
    json_t *s;
    json_array_foreach(spans, i, s) {
        const char *sid = json_string_value(json_object_get(s, "spanID"));
        int k = -1;
        for (int j = 0; j < 3; j++) {
            char h[17];
            hex(f->s[j].ctx.span_id, 8, h);
            if (sid && !strcmp(sid, h))
                k = j;
        }
        assert_true(k >= 0);
        const stitch_span_data_t *w = &f->s[k];
        assert_string_equal(json_string_value(json_object_get(s, "operationName")), w->name);
        assert_int_equal(json_integer_value(json_object_get(s, "startTime")), w->start_ns / 1000);
        assert_int_equal(json_integer_value(json_object_get(s, "duration")),
                         (w->end_ns - w->start_ns) / 1000);
        json_t *refs = json_object_get(s, "references");
        if (k == 0) {
            assert_int_equal(json_array_size(refs), 0);
        } else {
            char ph[17];
            hex(w->parent_span_id, 8, ph);
            bool found = false;
            size_t j;
            json_t *ref;
            json_array_foreach(refs, j, ref) if (!strcmp(json_string_value(json_object_get(ref, "refType")), "CHILD_OF") &&
                                                 !strcmp(json_string_value(json_object_get(ref, "spanID")), ph))
                found = true;
            assert_true(found);
        }
        json_t *tags = json_object_get(s, "tags");
        static const char *const kinds[] = {"", "internal", "server", "client"};
        if (w->kind != STITCH_SPAN_KIND_INTERNAL) {
            json_t *kt = jaeger_tag(tags, "span.kind");
            assert_non_null(kt);
            assert_string_equal(json_string_value(json_object_get(kt, "value")), kinds[w->kind]);
        }
        for (uint32_t a = 0; a < w->nattrs; a++)
            assert_non_null(jaeger_tag(tags, w->attrs[a].key));
        if (w->status == STITCH_STATUS_ERROR) {
            json_t *et = jaeger_tag(tags, "error");
            assert_non_null(et);
            assert_true(json_is_true(json_object_get(et, "value")));
        }
        assert_int_equal(json_array_size(json_object_get(s, "logs")), w->nevents);
        const char *pid = json_string_value(json_object_get(s, "processID"));
        json_t *proc = json_object_get(procs, pid);
        assert_string_equal(json_string_value(json_object_get(proc, "serviceName")), "shop");
    }
    json_decref(doc);
}

/* Spans of a trace through Jaeger v1 (0 when unknown). */
static size_t count_spans(const sd_t *d, const uint8_t trace_id[16])
{
    long st;
    json_t *doc = jaeger_trace(d, trace_id, &st);
    size_t n = 0;
    if (st == 200 && doc)
        n = json_array_size(json_object_get(json_array_get(json_object_get(doc, "data"), 0), "spans"));
    json_decref(doc);
    return n;
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_stitchd_otlp_proto_roundtrip(void **state)
{
    (void)state;
    sd_t d;
    assert_int_equal(sd_new(&d), 0);
    fx_t f;
    fx_make(&f, 1);
    assert_int_equal(send_proto(&d, f.p, 3), 200);
    check_jaeger(&d, &f);
    check_v3(&d, &f);
    /* a retry of the same request does not duplicate spans */
    assert_int_equal(send_proto(&d, f.p, 3), 200);
    assert_int_equal(count_spans(&d, f.s[0].ctx.trace_id), 3);
    /* spans of one trace sent apart still form one trace */
    fx_t g;
    fx_make(&g, 2);
    assert_int_equal(send_proto(&d, g.p, 1), 200);
    assert_int_equal(send_proto(&d, g.p + 1, 2), 200);
    check_v3(&d, &g);
    sd_free(&d);
}

static void test_stitchd_otlp_json_gzip_chunked(void **state)
{
    (void)state;
    sd_t d;
    assert_int_equal(sd_new(&d), 0);
    fx_t f[4];
    for (int i = 0; i < 4; i++) {
        fx_make(&f[i], 10 + (uint32_t)i);
        stitch_buf_t b = STITCH_BUF_INIT(0), z = STITCH_BUF_INIT(0);
        assert_int_equal(stitch_wire_otlp_json_encode(f[i].p, 3, &b), 0);
        bool gz = i & 1, chunked = i & 2;
        if (gz)
            gzip_buf(b.data, b.len, &z);
        sd_resp_t r;
        long st = post_otlp(&d, gz ? z.data : b.data, gz ? z.len : b.len,
                            "application/json; charset=utf-8", gz ? "gzip" : NULL, chunked, &r);
        assert_int_equal(st, 200);
        assert_string_equal(r.body, "{}");
        assert_non_null(strstr(r.headers, "Content-Type: application/json"));
        sd_resp_free(&r);
        stitch_buf_free(&b);
        stitch_buf_free(&z);
        check_v3(&d, &f[i]);
    }
    check_jaeger(&d, &f[3]);
    /* protobuf, gzip, chunked */
    fx_t g;
    fx_make(&g, 20);
    stitch_buf_t b = STITCH_BUF_INIT(0), z = STITCH_BUF_INIT(0);
    assert_int_equal(stitch_wire_otlp_proto_encode(g.p, 3, &b), 0);
    gzip_buf(b.data, b.len, &z);
    sd_resp_t r;
    assert_int_equal(post_otlp(&d, z.data, z.len, "application/x-protobuf", "gzip", true, &r), 200);
    assert_int_equal(r.len, 0);
    sd_resp_free(&r);
    stitch_buf_free(&b);
    stitch_buf_free(&z);
    check_v3(&d, &g);
    sd_free(&d);
}

static void test_stitchd_partial_success(void **state)
{
    (void)state;
    sd_t d;
    assert_int_equal(sd_new(&d), 0);
    fx_t f;
    fx_make(&f, 30);
    memset(f.s[2].ctx.span_id, 0, 8); /* invalid: all-zero span id */
    for (int json = 0; json < 2; json++) {
        stitch_buf_t b = STITCH_BUF_INIT(0);
        assert_int_equal(json ? stitch_wire_otlp_json_encode(f.p, 3, &b)
                              : stitch_wire_otlp_proto_encode(f.p, 3, &b), 0);
        sd_resp_t r;
        assert_int_equal(post_otlp(&d, b.data, b.len,
                                   json ? "application/json" : "application/x-protobuf", NULL,
                                   false, &r), 200);
        int64_t rejected = 0;
        char msg[200];
        assert_int_equal(stitch_wire_otlp_response_decode((uint8_t *)r.body, r.len, json,
                                                          &rejected, msg, sizeof msg), 0);
        assert_int_equal(rejected, 1);
        assert_true(strlen(msg) > 0);
        sd_resp_free(&r);
        stitch_buf_free(&b);
    }
    assert_int_equal(count_spans(&d, f.s[0].ctx.trace_id), 2);
    sd_free(&d);
}

static void test_stitchd_zipkin(void **state)
{
    (void)state;
    sd_t d;
    assert_int_equal(sd_new(&d), 0);
    /* what py_zipkin and the OpenTelemetry JS exporter send: a 64-bit trace
     * id, a 128-bit one, non-integer timestamps, one span or several */
    const char *body64 =
        "[{\"traceId\":\"5af7183fb1d4cf5f\",\"id\":\"6b221d5bc9e6496c\",\"name\":\"get /api\","
        "\"kind\":\"SERVER\",\"timestamp\":1700000000123456.7,\"duration\":1500.5,"
        "\"localEndpoint\":{\"serviceName\":\"frontend\",\"ipv4\":\"10.0.0.1\"},"
        "\"remoteEndpoint\":{\"serviceName\":\"browser\"},"
        "\"annotations\":[{\"timestamp\":1700000000123500,\"value\":\"ws\"}],"
        "\"tags\":{\"http.path\":\"/api\",\"error\":\"timeout\"}}]";
    const char *body128 =
        "[{\"traceId\":\"463ac35c9f6413ad48485a3953bb6124\",\"id\":\"a2fb4a1d1a96d312\","
        "\"name\":\"root\",\"kind\":\"CLIENT\",\"timestamp\":1700000000000001,\"duration\":10,"
        "\"localEndpoint\":{\"serviceName\":\"api\"}},"
        "{\"traceId\":\"463ac35c9f6413ad48485a3953bb6124\",\"parentId\":\"a2fb4a1d1a96d312\","
        "\"id\":\"b2fb4a1d1a96d313\",\"name\":\"child\",\"kind\":\"SERVER\",\"shared\":true,"
        "\"timestamp\":1700000000000002,\"duration\":5,\"localEndpoint\":{\"serviceName\":\"db\"}}]";
    char url[256];
    snprintf(url, sizeof url, "http://%s/api/v2/spans", d.zipkin);
    const char *h[] = {"Content-Type: application/json", NULL};
    sd_resp_t r;
    assert_int_equal(sd_http("POST", url, h, body64, strlen(body64), &r), 202);
    assert_int_equal(r.len, 0);
    sd_resp_free(&r);
    assert_int_equal(sd_http("POST", url, h, body128, strlen(body128), &r), 202);
    sd_resp_free(&r);

    /* Zipkin query on the Zipkin port and the HTTP port */
    const char *addrs[] = {d.zipkin, d.http};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(sd_get(addrs[i], "/api/v2/trace/463ac35c9f6413ad48485a3953bb6124", &r), 200);
        json_t *a = json_loads(r.body, 0, NULL);
        assert_int_equal(json_array_size(a), 2);
        json_decref(a);
        sd_resp_free(&r);
        assert_int_equal(sd_get(addrs[i], "/api/v2/trace/5af7183fb1d4cf5f", &r), 200);
        a = json_loads(r.body, 0, NULL);
        assert_int_equal(json_array_size(a), 1);
        json_t *s = json_array_get(a, 0);
        assert_string_equal(json_string_value(json_object_get(s, "id")), "6b221d5bc9e6496c");
        /* the 64-bit id comes back in the form the client sent */
        assert_string_equal(json_string_value(json_object_get(s, "traceId")), "5af7183fb1d4cf5f");
        assert_string_equal(json_string_value(json_object_get(s, "name")), "get /api");
        assert_string_equal(json_string_value(json_object_get(s, "kind")), "SERVER");
        json_int_t ts = json_integer_value(json_object_get(s, "timestamp"));
        assert_true(ts == 1700000000123456 || ts == 1700000000123457);
        json_decref(a);
        sd_resp_free(&r);
    }
    /* the 64-bit id through Jaeger: padded to 128 bits, error tag kept */
    uint8_t id64[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0x5a, 0xf7, 0x18, 0x3f, 0xb1, 0xd4, 0xcf, 0x5f};
    long st;
    json_t *doc = jaeger_trace(&d, id64, &st);
    assert_int_equal(st, 200);
    json_t *sp = json_array_get(json_object_get(json_array_get(json_object_get(doc, "data"), 0), "spans"), 0);
    assert_non_null(sp);
    assert_non_null(jaeger_tag(json_object_get(sp, "tags"), "http.path"));
    assert_int_equal(json_array_size(json_object_get(sp, "logs")), 1);
    json_decref(doc);
    /* parent links across services (child of api) */
    uint8_t id128[16] = {0x46, 0x3a, 0xc3, 0x5c, 0x9f, 0x64, 0x13, 0xad,
                         0x48, 0x48, 0x5a, 0x39, 0x53, 0xbb, 0x61, 0x24};
    assert_int_equal(count_spans(&d, id128), 2);

    /* malformed → 400 with a message; wrong content type → 415 */
    assert_int_equal(sd_http("POST", url, h, "[{\"traceId\":", 12, &r), 400);
    json_t *e = json_loads(r.body, 0, NULL);
    assert_non_null(e);
    assert_true(strlen(json_string_value(json_object_get(e, "message"))) > 0);
    json_decref(e);
    sd_resp_free(&r);
    const char *hx[] = {"Content-Type: application/x-thrift", NULL};
    assert_int_equal(sd_http("POST", url, hx, "[]", 2, &r), 415);
    sd_resp_free(&r);
    assert_int_equal(sd_http("DELETE", url, h, NULL, 0, &r), 405);
    sd_resp_free(&r);
    assert_int_equal(count_spans(&d, id128), 2);
    sd_free(&d);
}

static sd_t *new_with(sd_t *d, const char *const *args)
{
    memset(d, 0, sizeof *d);
    snprintf(d->dir, sizeof d->dir, "/tmp/stitchd-test-XXXXXX");
    assert_non_null(mkdtemp(d->dir));
    assert_int_equal(sd_start_args(d, args), 0);
    return d;
}

static void test_stitchd_errors(void **state)
{
    (void)state;
    sd_t d;
    const char *args[] = {"--max-body", "64KiB", NULL};
    new_with(&d, args);
    json_t *e;
    fx_t f;
    fx_make(&f, 40);
    assert_int_equal(send_proto(&d, f.p, 3), 200);
    sd_resp_t r;

    /* undecodable protobuf: 400 with a google.rpc.Status (code 3, a message) */
    assert_int_equal(post_otlp(&d, "\x0a\xff\xff\xff", 4, "application/x-protobuf", NULL, false, &r), 400);
    assert_true(r.len > 2);
    assert_int_equal((uint8_t)r.body[0], 0x08); /* field 1, varint */
    assert_int_equal((uint8_t)r.body[1], 3);    /* INVALID_ARGUMENT */
    assert_int_equal((uint8_t)r.body[2], 0x12); /* field 2, the message */
    assert_non_null(strstr(r.headers, "application/x-protobuf"));
    sd_resp_free(&r);
    /* malformed JSON: 400, Status as JSON */
    assert_int_equal(post_otlp(&d, "{\"resourceSpans\":[", 18, "application/json", NULL, false, &r), 400);
    e = json_loads(r.body, 0, NULL);
    assert_non_null(e);
    assert_int_equal(json_integer_value(json_object_get(e, "code")), 3);
    assert_true(strlen(json_string_value(json_object_get(e, "message"))) > 0);
    json_decref(e);
    sd_resp_free(&r);
    /* bad gzip: 400 */
    assert_int_equal(post_otlp(&d, "not gzip at all", 15, "application/json", "gzip", false, &r), 400);
    sd_resp_free(&r);
    /* too large before decompression: by Content-Length, and chunked */
    size_t big = 200 * 1024;
    uint8_t *zeros = calloc(1, big);
    assert_int_equal(post_otlp(&d, zeros, big, "application/x-protobuf", NULL, false, &r), 413);
    sd_resp_free(&r);
    assert_int_equal(post_otlp(&d, zeros, big, "application/x-protobuf", NULL, true, &r), 413);
    sd_resp_free(&r);
    /* too large after decompression: a gzip bomb (200 KiB of zeros → ~200 bytes) */
    stitch_buf_t z = STITCH_BUF_INIT(0);
    gzip_buf(zeros, big, &z);
    assert_true(z.len < 2048);
    assert_int_equal(post_otlp(&d, z.data, z.len, "application/json", "gzip", false, &r), 413);
    assert_non_null(strstr(r.body, "decompression"));
    sd_resp_free(&r);
    stitch_buf_free(&z);
    free(zeros);
    /* wrong content type, unknown encoding: 415 */
    assert_int_equal(post_otlp(&d, "x", 1, "text/plain", NULL, false, &r), 415);
    sd_resp_free(&r);
    assert_int_equal(post_otlp(&d, "x", 1, "application/json", "br", false, &r), 415);
    sd_resp_free(&r);
    /* wrong method, unknown path */
    char url[256];
    snprintf(url, sizeof url, "http://%s/v1/traces", d.otlp);
    assert_int_equal(sd_http("GET", url, NULL, NULL, 0, &r), 405);
    assert_non_null(strstr(r.headers, "Allow: POST"));
    sd_resp_free(&r);
    snprintf(url, sizeof url, "http://%s/v1/metrics", d.otlp);
    assert_int_equal(sd_http("POST", url, NULL, "x", 1, &r), 404);
    sd_resp_free(&r);
    assert_int_equal(sd_get(d.http, "/nope", &r), 404);
    e = json_loads(r.body, 0, NULL);
    assert_non_null(json_object_get(e, "errors"));
    json_decref(e);
    sd_resp_free(&r);
    snprintf(url, sizeof url, "http://%s/api/services", d.http);
    assert_int_equal(sd_http("POST", url, NULL, "x", 1, &r), 405);
    e = json_loads(r.body, 0, NULL);
    assert_non_null(json_object_get(e, "errors"));
    json_decref(e);
    sd_resp_free(&r);
    /* the earlier trace is intact */
    check_v3(&d, &f);
    sd_free(&d);
}

static long metric(const char *page, const char *name)
{
    const char *p = page;
    size_t n = strlen(name);
    while ((p = strstr(p, name))) {
        if ((p == page || p[-1] == '\n') && p[n] == ' ')
            return strtol(p + n + 1, NULL, 10);
        p += n;
    }
    return -1;
}

static void test_stitchd_health_metrics(void **state)
{
    (void)state;
    sd_t d;
    assert_int_equal(sd_new(&d), 0);
    sd_resp_t r;
    assert_int_equal(sd_get(d.http, "/healthz", &r), 200);
    assert_string_equal(r.body, "{\"status\":\"ok\"}");
    sd_resp_free(&r);
    fx_t f;
    fx_make(&f, 50);
    assert_int_equal(send_proto(&d, f.p, 3), 200);
    f.s[0].ctx.span_id[0] ^= 1; /* another span: not a duplicate */
    f.s[0].ctx.trace_id[0] ^= 1;
    memset(f.s[1].ctx.trace_id, 0, 16); /* rejected */
    stitch_buf_t pb = STITCH_BUF_INIT(0);
    assert_int_equal(stitch_wire_otlp_proto_encode(f.p, 2, &pb), 0);
    assert_int_equal(post_otlp(&d, pb.data, pb.len, "application/x-protobuf", NULL, false, &r), 200);
    sd_resp_free(&r);
    stitch_buf_free(&pb);
    sd_resp_t bad;
    assert_int_equal(post_otlp(&d, "{", 1, "application/json", NULL, false, &bad), 400);
    sd_resp_free(&bad);
    assert_int_equal(sd_get(d.http, "/metrics", &r), 200);
    assert_non_null(strstr(r.headers, "text/plain; version=0.0.4"));
    assert_int_equal(metric(r.body, "stitchd_spans_accepted_total{receiver=\"otlp_http\"}"), 4);
    assert_int_equal(metric(r.body, "stitchd_spans_rejected_total{receiver=\"otlp_http\"}"), 1);
    assert_int_equal(metric(r.body, "stitchd_spans_received_total{receiver=\"otlp_http\"}"), 5);
    assert_int_equal(metric(r.body, "stitchd_spans_accepted_total{receiver=\"zipkin\"}"), 0);
    assert_int_equal(metric(r.body, "stitchd_http_requests_total{endpoint=\"otlp_traces\",code=\"2xx\"}"), 2);
    assert_int_equal(metric(r.body, "stitchd_http_requests_total{endpoint=\"otlp_traces\",code=\"4xx\"}"), 1);
    assert_int_equal(metric(r.body, "stitchd_http_request_duration_seconds_count{endpoint=\"otlp_traces\",code=\"2xx\"}"), 2);
    assert_true(metric(r.body, "stitchd_store_spans_appended_total") >= 4);
    assert_true(metric(r.body, "stitchd_store_queue_spans") >= 0);
    assert_true(metric(r.body, "stitchd_store_disk_bytes") >= 0);
    assert_true(metric(r.body, "stitchd_store_blocks") >= 0);
    sd_resp_free(&r);
    /* HEAD works like GET without a body */
    char url[256];
    snprintf(url, sizeof url, "http://%s/healthz", d.http);
    assert_int_equal(sd_http("HEAD", url, NULL, NULL, 0, &r), 200);
    sd_resp_free(&r);
    sd_free(&d);
}

static void test_stitchd_restart_and_sigterm(void **state)
{
    (void)state;
    sd_t d;
    assert_int_equal(sd_new(&d), 0);
    fx_t f;
    fx_make(&f, 60);
    assert_int_equal(send_proto(&d, f.p, 3), 200);
    const char *zb = "[{\"traceId\":\"00000000000000aa\",\"id\":\"00000000000000bb\",\"name\":\"z\","
                     "\"timestamp\":1700000000000000,\"duration\":3,"
                     "\"localEndpoint\":{\"serviceName\":\"zsvc\"}}]";
    char url[256];
    snprintf(url, sizeof url, "http://%s/api/v2/spans", d.zipkin);
    sd_resp_t r;
    const char *zh[] = {"Content-Type: application/json", NULL};
    assert_int_equal(sd_http("POST", url, zh, zb, strlen(zb), &r), 202);
    sd_resp_free(&r);
    double took = 0;
    assert_int_equal(sd_stop(&d, SIGTERM, 15, &took), 0);
    assert_true(took < 5);
    assert_int_equal(sd_start(&d), 0);
    check_v3(&d, &f);
    check_jaeger(&d, &f);
    assert_int_equal(sd_get(d.http, "/api/v2/trace/00000000000000aa", &r), 200);
    json_t *a = json_loads(r.body, 0, NULL);
    assert_int_equal(json_array_size(a), 1);
    json_decref(a);
    sd_resp_free(&r);
    /* SIGINT too */
    assert_int_equal(sd_stop(&d, SIGINT, 15, &took), 0);
    assert_int_equal(sd_start(&d), 0);
    check_v3(&d, &f);
    sd_free(&d);
}

/* ---- kill -9 during ingest --------------------------------------------------------------- */

#define KILL_THREADS 4
#define KILL_MAX_REQS 20000

typedef struct sender {
    const sd_t *d;
    int idx;
    uint32_t round; /* part of the seeds, so every round sends new traces */
    atomic_int *stop;
    uint32_t acked[KILL_MAX_REQS]; /* seeds of acknowledged requests */
    size_t nacked;
} sender_t;

static void *send_loop(void *arg)
{
    sender_t *s = arg;
    CURL *h = curl_easy_init();
    char url[256];
    snprintf(url, sizeof url, "http://%s/v1/traces", s->d->otlp);
    const char *hd[] = {"Content-Type: application/x-protobuf", NULL};
    for (uint32_t i = 0; !atomic_load(s->stop) && s->nacked < KILL_MAX_REQS; i++) {
        fx_t f;
        uint32_t seed = 0x80000000u | (uint32_t)s->idx << 24 | (s->round & 0xff) << 16 | (i & 0xffff);
        fx_make(&f, seed);
        stitch_buf_t b = STITCH_BUF_INIT(0);
        if (stitch_wire_otlp_proto_encode(f.p, 3, &b))
            break;
        sd_resp_t r;
        long st = sd_http_ex(h, "POST", url, hd, b.data, b.len, false, &r);
        sd_resp_free(&r);
        stitch_buf_free(&b);
        if (st == 200)
            s->acked[s->nacked++] = seed;
        else if (st < 0)
            break; /* stitchd is gone */
    }
    curl_easy_cleanup(h);
    return NULL;
}

/* Rounds of: start stitchd on the same data directory (it must open without
 * manual repair), let KILL_THREADS senders run until `min_acks` requests
 * were acknowledged (plus a random 20..600 ms when `random_delay`), SIGKILL
 * it. Then every request acknowledged in any round must be whole. */
static void kill_rounds(int rounds, size_t min_acks, bool random_delay)
{
    sd_t d;
    memset(&d, 0, sizeof d);
    snprintf(d.dir, sizeof d.dir, "/tmp/stitchd-test-XXXXXX");
    assert_non_null(mkdtemp(d.dir));
    /* the fixture's spans are from 2023: keep them past the default 72h
     * retention once they are compacted into blocks */
    const char *keep[] = {"--retention", "0", NULL};
    static sender_t snd[KILL_THREADS];
    uint32_t *all = NULL;
    size_t nall = 0;
    srand((unsigned)time(NULL));
    for (int round = 0; round < rounds; round++) {
        assert_int_equal(sd_start_args(&d, keep), 0);
        pthread_t th[KILL_THREADS];
        atomic_int stop = 0;
        for (int i = 0; i < KILL_THREADS; i++) {
            snd[i].d = &d;
            snd[i].idx = i;
            snd[i].round = (uint32_t)round;
            snd[i].stop = &stop;
            snd[i].nacked = 0;
            assert_int_equal(pthread_create(&th[i], NULL, send_loop, &snd[i]), 0);
        }
        double t0 = sd_now();
        for (;;) {
            size_t n = 0;
            for (int i = 0; i < KILL_THREADS; i++)
                n += snd[i].nacked;
            if (n >= min_acks || sd_now() - t0 > 20)
                break;
            sd_sleep_ms(5);
        }
        if (random_delay)
            sd_sleep_ms(20 + rand() % 580);
        assert_int_equal(sd_stop(&d, SIGKILL, 10, NULL), 128 + SIGKILL);
        atomic_store(&stop, 1);
        for (int i = 0; i < KILL_THREADS; i++) {
            pthread_join(th[i], NULL);
            all = realloc(all, (nall + snd[i].nacked) * sizeof *all);
            assert_non_null(all);
            memcpy(all + nall, snd[i].acked, snd[i].nacked * sizeof *all);
            nall += snd[i].nacked;
        }
    }
    assert_int_equal(sd_start_args(&d, keep), 0);
    size_t missing = 0;
    for (size_t k = 0; k < nall; k++) {
        fx_t f;
        fx_make(&f, all[k]);
        size_t got = count_spans(&d, f.s[0].ctx.trace_id);
        if (got != 3) {
            if (missing < 5)
                print_message("seed %08x (round %u): %zu spans\n", all[k], (all[k] >> 16) & 0xff, got);
            missing++;
        }
    }
    print_message("kill -9, %d round%s: %zu acknowledged requests, %zu incomplete after restart\n",
                  rounds, rounds == 1 ? "" : "s", nall, missing);
    assert_true(nall >= (size_t)rounds);
    assert_int_equal(missing, 0);
    free(all);
    sd_free(&d);
}

/* One crash in the middle of a stream of requests. */
static void test_stitchd_kill9_keeps_acknowledged(void **state)
{
    (void)state;
    kill_rounds(1, 200, false);
}

/* Many crashes in a row, at random moments (issue "Hardening");
 * STITCH_KILL_ROUNDS sets the rounds (default 6). */
static void test_stitchd_kill9_many_rounds(void **state)
{
    (void)state;
    const char *env = getenv("STITCH_KILL_ROUNDS");
    kill_rounds(env && atoi(env) > 0 ? atoi(env) : 6, 1, true);
}

/* ---- overload ------------------------------------------------------------------------------ */

#define OVL_THREADS 6
#define OVL_FX 200 /* 600 spans per request */

typedef struct ovl {
    const sd_t *d;
    int idx;
    atomic_int *stop;
    size_t ok, refused, refused_without_retry_after, other;
    uint32_t first_acked; /* seed base of one acknowledged request, 0 = none */
} ovl_t;

static void *ovl_loop(void *arg)
{
    ovl_t *o = arg;
    CURL *h = curl_easy_init();
    char url[256];
    snprintf(url, sizeof url, "http://%s/v1/traces", o->d->otlp);
    const char *hd[] = {"Content-Type: application/x-protobuf", NULL};
    static __thread fx_t fx[OVL_FX];
    const stitch_span_data_t *p[OVL_FX * 3];
    for (uint32_t i = 0; !atomic_load(o->stop); i++) {
        uint32_t base = 0x40000000u | (uint32_t)o->idx << 24 | (i & 0xfff) << 8;
        for (int k = 0; k < OVL_FX; k++) {
            fx_make(&fx[k], base | (uint32_t)k);
            for (int j = 0; j < 3; j++)
                p[3 * k + j] = &fx[k].s[j];
        }
        stitch_buf_t b = STITCH_BUF_INIT(0);
        if (stitch_wire_otlp_proto_encode(p, OVL_FX * 3, &b))
            break;
        sd_resp_t r;
        long st = sd_http_ex(h, "POST", url, hd, b.data, b.len, false, &r);
        stitch_buf_free(&b);
        if (st == 200) {
            o->ok++;
            if (!o->first_acked)
                o->first_acked = base;
        } else if (st == 503 || st == 429) {
            o->refused++;
            if (!strcasestr(r.headers, "Retry-After:"))
                o->refused_without_retry_after++;
        } else {
            o->other++;
        }
        sd_resp_free(&r);
    }
    curl_easy_cleanup(h);
    return NULL;
}

/* Clients sending faster than stitchd may take (a write queue of 1,024
 * spans, 600-span requests from 6 connections at once): some requests
 * are refused with 503 + Retry-After, none fails otherwise, what was
 * acknowledged is stored whole, stitchd's peak RSS stays within the bound its
 * settings give, and once the pressure stops stitchd takes spans again by
 * itself. */
static void test_stitchd_overload(void **state)
{
    (void)state;
    sd_t d;
    memset(&d, 0, sizeof d);
    snprintf(d.dir, sizeof d.dir, "/tmp/stitchd-test-XXXXXX");
    assert_non_null(mkdtemp(d.dir));
    const char *args[] = {"--queue-spans", "1024", "--ingest-concurrency", "6", "--max-body", "1MiB",
                          "--retention", "0", NULL};
    assert_int_equal(sd_start_args(&d, args), 0);
    static ovl_t o[OVL_THREADS];
    pthread_t th[OVL_THREADS];
    atomic_int stop = 0;
    for (int i = 0; i < OVL_THREADS; i++) {
        memset(&o[i], 0, sizeof o[i]);
        o[i].d = &d;
        o[i].idx = i;
        o[i].stop = &stop;
        assert_int_equal(pthread_create(&th[i], NULL, ovl_loop, &o[i]), 0);
    }
    sd_sleep_ms(4000);
    atomic_store(&stop, 1);
    size_t ok = 0, refused = 0, bare = 0, other = 0;
    for (int i = 0; i < OVL_THREADS; i++) {
        pthread_join(th[i], NULL);
        ok += o[i].ok;
        refused += o[i].refused;
        bare += o[i].refused_without_retry_after;
        other += o[i].other;
    }
    char path[64], line[256];
    long hwm = -1;
    snprintf(path, sizeof path, "/proc/%d/status", (int)d.pid);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6))
            hwm = atol(line + 6);
    if (f)
        fclose(f);
    print_message("overload: %zu acknowledged, %zu refused, %zu other; stitchd peak RSS %ld kB\n", ok,
                  refused, other, hwm);
    /* memory within the configured bounds (docs/OPERATIONS.md): request
     * bodies max(256 MiB, 4 × max-body × max(4, ingest-concurrency)), decode
     * arenas ingest-concurrency × 10 × max-body, plus the process's own base
     * (store caches, libraries, threads) given 128 MiB — and ASan's shadow
     * memory and quarantine (256 MiB by default) when sanitized */
    long bound_kb = (256L << 10) + 6 * 10 * 1024 + (128L << 10);
#if defined(__SANITIZE_ADDRESS__)
    bound_kb += 768L << 10;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    bound_kb += 768L << 10;
#endif
#endif
    assert_true(hwm > 0);
    assert_true(hwm < bound_kb);
    assert_true(ok > 0);
    assert_true(refused > 0);
    assert_int_equal(bare, 0);
    assert_int_equal(other, 0);
    /* recovers by itself */
    fx_t f1;
    fx_make(&f1, 0x3f000001u);
    long st = 0;
    for (int i = 0; i < 50 && st != 200; i++) {
        st = send_proto(&d, f1.p, 3);
        if (st != 200)
            sd_sleep_ms(100);
    }
    assert_int_equal(st, 200);
    assert_int_equal(count_spans(&d, f1.s[0].ctx.trace_id), 3);
    /* acknowledged requests are whole */
    for (int i = 0; i < OVL_THREADS; i++) {
        if (!o[i].first_acked)
            continue;
        for (int k = 0; k < OVL_FX; k += 37) {
            fx_t fk;
            fx_make(&fk, o[i].first_acked | (uint32_t)k);
            assert_int_equal(count_spans(&d, fk.s[0].ctx.trace_id), 3);
        }
    }
    sd_free(&d);
}

/* ---- flags ---------------------------------------------------------------------------------- */

static void test_stitchd_flags(void **state)
{
    (void)state;
    char err[8192];
    const char *a1[] = {"--bogus", NULL};
    assert_int_equal(sd_run(a1, err, sizeof err), 2);
    assert_non_null(strstr(err, "--bogus"));
    const char *a2[] = {"--retention", "forever", NULL};
    assert_int_equal(sd_run(a2, err, sizeof err), 2);
    assert_non_null(strstr(err, "retention"));
    const char *a3[] = {"--otlp-http", "localhost", NULL};
    assert_int_equal(sd_run(a3, err, sizeof err), 2);
    const char *a4[] = {"--sync", "sometimes", NULL};
    assert_int_equal(sd_run(a4, err, sizeof err), 2);
    const char *a5[] = {"--max-disk", "lots", NULL};
    assert_int_equal(sd_run(a5, err, sizeof err), 2);
    const char *a6[] = {"--data", NULL};
    assert_int_equal(sd_run(a6, err, sizeof err), 2);
    const char *a7[] = {"--version", NULL};
    assert_int_equal(sd_run(a7, err, sizeof err), 0);
    assert_non_null(strstr(err, "stitchd "));
    const char *a8[] = {"--help", NULL};
    assert_int_equal(sd_run(a8, err, sizeof err), 0);
    assert_non_null(strstr(err, "--max-body"));
    /* a config file with an unknown key names its line */
    char cfg[] = "/tmp/stitchd-cfg-XXXXXX";
    int fd = mkstemp(cfg);
    const char *text = "# stitchd\ndata: /tmp/x\nretenion: 1h\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    const char *a9[] = {"--config", cfg, NULL};
    assert_int_equal(sd_run(a9, err, sizeof err), 2);
    assert_non_null(strstr(err, ":3:"));
    assert_non_null(strstr(err, "retenion"));
    unlink(cfg);
}

/* The config file is read, and flags win over it. */
static void test_stitchd_config_file(void **state)
{
    (void)state;
    sd_t d;
    memset(&d, 0, sizeof d);
    snprintf(d.dir, sizeof d.dir, "/tmp/stitchd-test-XXXXXX");
    assert_non_null(mkdtemp(d.dir));
    char cfg[300];
    snprintf(cfg, sizeof cfg, "%s/stitchd.yaml", d.dir);
    FILE *f = fopen(cfg, "w");
    /* max-body 1KiB in the file but 64KiB as a flag; debug logs from the file */
    fprintf(f, "# test\nmax_body: 1KiB\nlog-level: debug\nsync: full\n");
    fclose(f);
    const char *args[] = {"--config", cfg, "--max-body", "64KiB", NULL};
    assert_int_equal(sd_start_args(&d, args), 0);
    fx_t fx;
    fx_make(&fx, 70);
    stitch_buf_t b = STITCH_BUF_INIT(0);
    assert_int_equal(stitch_wire_otlp_json_encode(fx.p, 3, &b), 0);
    assert_true(b.len > 1024);
    sd_resp_t r;
    assert_int_equal(post_otlp(&d, b.data, b.len, "application/json", NULL, false, &r), 200);
    sd_resp_free(&r);
    stitch_buf_free(&b);
    check_v3(&d, &fx);
    assert_int_equal(sd_stop(&d, SIGTERM, 15, NULL), 0);
    char log[300], text[65536];
    snprintf(log, sizeof log, "%s/stitchd-0.log", d.dir);
    FILE *lf = fopen(log, "r");
    assert_non_null(lf);
    size_t n = fread(text, 1, sizeof text - 1, lf);
    text[n] = 0;
    fclose(lf);
    assert_non_null(strstr(text, "level=debug"));
    assert_non_null(strstr(text, "msg=\"listening\" listener=otlp-http addr=127.0.0.1:"));
    assert_non_null(strstr(text, "sync=full"));
    sd_free(&d);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_stitchd_flags, sd_teardown),
        cmocka_unit_test_teardown(test_stitchd_otlp_proto_roundtrip, sd_teardown),
        cmocka_unit_test_teardown(test_stitchd_otlp_json_gzip_chunked, sd_teardown),
        cmocka_unit_test_teardown(test_stitchd_partial_success, sd_teardown),
        cmocka_unit_test_teardown(test_stitchd_zipkin, sd_teardown),
        cmocka_unit_test_teardown(test_stitchd_errors, sd_teardown),
        cmocka_unit_test_teardown(test_stitchd_health_metrics, sd_teardown),
        cmocka_unit_test_teardown(test_stitchd_config_file, sd_teardown),
        cmocka_unit_test_teardown(test_stitchd_restart_and_sigterm, sd_teardown),
        cmocka_unit_test_teardown(test_stitchd_kill9_keeps_acknowledged, sd_teardown),
        cmocka_unit_test_teardown(test_stitchd_kill9_many_rounds, sd_teardown),
        cmocka_unit_test_teardown(test_stitchd_overload, sd_teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
