/* The query API (daemon/query*.c) against a real store: spans built as
 * stitch_span_data_t are appended to a store opened on a fresh temporary
 * directory, then every endpoint of Jaeger v1, Jaeger v3 and Zipkin v2 is
 * called through stitchd_query_answer() with a small args implementation,
 * and the answers are parsed back with jansson (duplicate keys rejected)
 * and compared field by field. Also: every search parameter, every
 * validation error (400 naming the parameter), unknown ids (404), unknown
 * paths, the parameter parsers, the web UI's compact trace (/api/ui/traces),
 * and the time to render a 50,000-span trace.
 *
 * The fixture (times relative to now, so default lookbacks cover it):
 *   T1 (128-bit id) frontend → api-gateway → cart-service → product-service → product-db,
 *      the product-db span failing (ERROR "timeout"), events, a link, all value types
 *   T2 (64-bit id)  billing "charge" (SERVER), 200 ms, OK
 *   T3 (128-bit id) frontend "GET /health" (SERVER), 1 ms */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "daemon/query.h"
#include "daemon/query_internal.h"
#include "store/store.h"
#include "tests/unit/store_engine.h"

/* ---- args: NULL-terminated key, value, key, value, … ----------------------------- */

struct kv {
    const char *const *p;
};

static const char *kv_get(void *ctx, const char *key)
{
    struct kv *a = ctx;
    for (const char *const *p = a->p; p && p[0]; p += 2)
        if (!strcmp(p[0], key))
            return p[1];
    return NULL;
}

static void kv_each(void *ctx, const char *key, int (*fn)(void *, const char *), void *arg)
{
    struct kv *a = ctx;
    for (const char *const *p = a->p; p && p[0]; p += 2)
        if (!strcmp(p[0], key) && fn(arg, p[1]))
            return;
}

/* ---- fixture ------------------------------------------------------------------------ */

struct fx {
    char dir[64];
    stitch_store_t *store;
    uint64_t t0; /* T1's start, ns */
};

static struct fx *G;

static const uint8_t T1[16] = {0xa1, 0xb2, 0xc3, 0xd4, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
static const uint8_t T2[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0};
static const uint8_t T3[16] = {0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
                               0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x01};
static const uint8_t LT[16] = {0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44,
                               0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x02};
static const char *const T1_HEX = "a1b2c3d40102030405060708090a0b0c";
static const char *const T2_HEX = "123456789abcdef0";
static const char *const T3_HEX = "33333333333333333333333333333301";

#define SID(n) {0, 0, 0, 0, 0, 0, 0, (n)}

static const stitch_str_t arr_s[] = {{"a", 1}, {"b", 1}};
static const int64_t arr_i[] = {1, -2};

static const stitch_attr_t r_front[] = {{"service.name", {STITCH_VALUE_STRING, 8, {.str = "frontend"}}},
                                        {"host.name", {STITCH_VALUE_STRING, 5, {.str = "web-1"}}},
                                        {"process.pid", {STITCH_VALUE_INT, 0, {.i = 4242}}}};
static const stitch_attr_t r_gw[] = {{"service.name", {STITCH_VALUE_STRING, 11, {.str = "api-gateway"}}}};
static const stitch_attr_t r_cart[] = {{"service.name", {STITCH_VALUE_STRING, 12, {.str = "cart-service"}}}};
static const stitch_attr_t r_prod[] = {{"service.name", {STITCH_VALUE_STRING, 15, {.str = "product-service"}}}};
static const stitch_attr_t r_db[] = {{"service.name", {STITCH_VALUE_STRING, 10, {.str = "product-db"}}}};
static const stitch_attr_t r_bill[] = {{"service.name", {STITCH_VALUE_STRING, 7, {.str = "billing"}}}};
static const stitch_attr_t r_space[] = {{"service.name", {STITCH_VALUE_STRING, 6, {.str = "my svc"}}}};

static const stitch_scope_info_t scope_http = {"stitch.http", "0.1.0"};
static const stitch_scope_info_t scope_db = {"stitch.sqlite", ""};

static const stitch_attr_t a_front[] = {
    {"http.method", {STITCH_VALUE_STRING, 4, {.str = "POST"}}},
    {"http.status_code", {STITCH_VALUE_INT, 0, {.i = 200}}},
    {"cache.hit", {STITCH_VALUE_BOOL, 0, {.b = true}}},
    {"load", {STITCH_VALUE_DOUBLE, 0, {.d = 0.25}}},
    {"tags", {STITCH_VALUE_STRING_ARRAY, 2, {.strs = arr_s}}},
    {"ints", {STITCH_VALUE_INT_ARRAY, 2, {.ints = arr_i}}},
};
static const stitch_attr_t a_gw[] = {{"http.method", {STITCH_VALUE_STRING, 4, {.str = "POST"}}},
                                     {"peer.service", {STITCH_VALUE_STRING, 12, {.str = "cart-service"}}}};
static const stitch_attr_t a_cart[] = {{"user.id", {STITCH_VALUE_STRING, 2, {.str = "42"}}},
                                       {"amount", {STITCH_VALUE_DOUBLE, 0, {.d = 200.0}}}};
static const stitch_attr_t a_db[] = {{"db.system", {STITCH_VALUE_STRING, 6, {.str = "sqlite"}}},
                                     {"db.statement", {STITCH_VALUE_STRING, 22, {.str = "SELECT * FROM products"}}}};
static const stitch_attr_t ev_attrs[] = {{"item.count", {STITCH_VALUE_INT, 0, {.i = 3}}}};
static stitch_event_t ev_cart[1];
static const stitch_attr_t link_attrs[] = {{"reason", {STITCH_VALUE_STRING, 5, {.str = "batch"}}}};
static stitch_link_t link_cart[1];

static stitch_span_data_t mk(const uint8_t tid[16], uint8_t sid, uint8_t parent, const char *name,
                             stitch_span_kind_t kind, uint64_t start, uint64_t dur_ns,
                             const stitch_attr_t *res, uint32_t nres)
{
    stitch_span_data_t d;
    memset(&d, 0, sizeof d);
    memcpy(d.ctx.trace_id, tid, 16);
    d.ctx.span_id[7] = sid;
    d.ctx.span_id[0] = 0x50;
    d.ctx.flags = 1;
    if (parent) {
        d.parent_span_id[7] = parent;
        d.parent_span_id[0] = 0x50;
    }
    d.name = name;
    d.kind = kind;
    d.start_ns = start;
    d.end_ns = start + dur_ns;
    d.status_message = "";
    d.resource = res;
    d.nresource = nres;
    d.scope = &scope_http;
    return d;
}

#define N(a) (uint32_t)(sizeof(a) / sizeof((a)[0]))
#define MS 1000000ull

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/stitch-test-query-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    char err[256];
    stitch_store_opts_t o = {.dir = f->dir};
    store_engine_apply(&o, f->dir);
    if (stitch_store_open(&f->store, &o, err, sizeof err)) {
        fprintf(stderr, "store open: %s\n", err);
        return -1;
    }
    /* whole microseconds, 10 minutes ago */
    f->t0 = (now_ns() - 600 * 1000 * MS) / 1000 * 1000;
    uint64_t t0 = f->t0;
    ev_cart[0] = (stitch_event_t){t0 + 12 * MS, "item added", ev_attrs, 1, 0};
    memcpy(link_cart[0].ctx.trace_id, LT, 16);
    link_cart[0].ctx.span_id[7] = 9;
    link_cart[0].attrs = link_attrs;
    link_cart[0].nattrs = 1;

    stitch_span_data_t s[9];
    s[0] = mk(T1, 1, 0, "POST /cart/add", STITCH_SPAN_KIND_SERVER, t0, 50 * MS, r_front, N(r_front));
    s[0].attrs = a_front, s[0].nattrs = N(a_front);
    s[0].status = STITCH_STATUS_OK;
    s[1] = mk(T1, 2, 1, "POST /cart/add", STITCH_SPAN_KIND_CLIENT, t0 + 5 * MS, 30 * MS, r_gw, N(r_gw));
    s[1].attrs = a_gw, s[1].nattrs = N(a_gw);
    s[2] = mk(T1, 3, 2, "addItem", STITCH_SPAN_KIND_SERVER, t0 + 10 * MS, 25 * MS, r_cart, N(r_cart));
    s[2].attrs = a_cart, s[2].nattrs = N(a_cart);
    s[2].events = ev_cart, s[2].nevents = 1;
    s[2].links = link_cart, s[2].nlinks = 1;
    s[2].dropped_attrs = 2;
    s[3] = mk(T1, 4, 3, "getProduct", STITCH_SPAN_KIND_CLIENT, t0 + 15 * MS, 15 * MS, r_prod, N(r_prod));
    s[4] = mk(T1, 5, 4, "SELECT products", STITCH_SPAN_KIND_CLIENT, t0 + 22 * MS, 5 * MS, r_db, N(r_db));
    s[4].attrs = a_db, s[4].nattrs = N(a_db);
    s[4].status = STITCH_STATUS_ERROR;
    s[4].status_message = "timeout";
    s[4].scope = &scope_db;
    s[5] = mk(T2, 6, 0, "charge", STITCH_SPAN_KIND_SERVER, t0 + 60 * MS, 200 * MS, r_bill, N(r_bill));
    s[5].status = STITCH_STATUS_OK;
    s[6] = mk(T3, 7, 0, "GET /health", STITCH_SPAN_KIND_SERVER, t0 + 300 * MS, 1 * MS, r_front, N(r_front));
    s[7] = mk(T3, 8, 7, "ping", STITCH_SPAN_KIND_INTERNAL, t0 + 300 * MS + 100000, 500000, r_front, N(r_front));
    s[8] = mk(LT, 9, 0, "consume", STITCH_SPAN_KIND_CONSUMER, t0 + 400 * MS, 2 * MS, r_space, N(r_space));
    const stitch_span_data_t *p[9];
    for (int i = 0; i < 9; i++)
        p[i] = &s[i];
    /* two appends: the store may not keep resource pointers across them */
    if (stitch_store_append(f->store, p, 5) || stitch_store_append(f->store, p + 5, 4))
        return -1;
    G = f;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    stitch_store_close(f->store);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", f->dir);
    free(f);
    return 0;
}

/* ---- calling ------------------------------------------------------------------------- */

struct answer {
    int handled, status;
    const char *ctype;
    char *body;
    size_t len;
    json_t *json; /* NULL unless the body is JSON */
};

static struct answer call_v(const char *path, const char *const *args)
{
    struct kv a = {args};
    stitchd_query_args_t qa = {kv_get, kv_each, &a};
    stitchd_query_resp_t r = {0};
    struct answer ans = {0};
    ans.handled = stitchd_query_answer(G->store, path, &qa, &r);
    if (!ans.handled)
        return ans;
    ans.status = r.status;
    ans.ctype = r.content_type;
    ans.body = calloc(1, r.len + 1);
    memcpy(ans.body, r.body, r.len);
    ans.len = r.len;
    stitchd_query_resp_free(&r);
    if (ans.ctype && !strncmp(ans.ctype, "application/json", 16)) {
        json_error_t err;
        ans.json = json_loadb(ans.body, ans.len, JSON_REJECT_DUPLICATES, &err);
        if (!ans.json)
            fprintf(stderr, "bad JSON from %s: %s: %.300s\n", path, err.text, ans.body);
        assert_non_null(ans.json);
    }
    return ans;
}

#define CALL(path, ...) call_v((path), (const char *const[]){__VA_ARGS__, NULL})

static void done(struct answer *a)
{
    json_decref(a->json);
    free(a->body);
}

static json_t *jget(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!v)
        fprintf(stderr, "missing key %s in %s\n", key, json_dumps(o, JSON_COMPACT));
    assert_non_null(v);
    return v;
}

static const char *jstr(json_t *o, const char *key)
{
    json_t *v = jget(o, key);
    assert_true(json_is_string(v));
    return json_string_value(v);
}

static json_int_t jint(json_t *o, const char *key)
{
    json_t *v = jget(o, key);
    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

/* 200 with a v1 envelope; returns data */
static json_t *v1_data(struct answer *a, size_t expect_n)
{
    if (a->status != 200)
        fprintf(stderr, "status %d: %s\n", a->status, a->body);
    assert_int_equal(a->status, 200);
    assert_true(json_is_null(jget(a->json, "errors")));
    assert_int_equal(jint(a->json, "limit"), 0);
    assert_int_equal(jint(a->json, "offset"), 0);
    json_t *d = jget(a->json, "data");
    assert_true(json_is_array(d));
    if (json_array_size(d) != expect_n)
        fprintf(stderr, "expected %zu items: %s\n", expect_n, a->body);
    assert_int_equal(json_array_size(d), expect_n);
    assert_int_equal(jint(a->json, "total"), (json_int_t)expect_n);
    return d;
}

/* an error answer in the v1 shape, with `needle` in its message */
static void v1_error(struct answer *a, int status, const char *needle)
{
    if (a->status != status)
        fprintf(stderr, "expected %d, got %d: %s\n", status, a->status, a->body);
    assert_int_equal(a->status, status);
    assert_true(json_is_null(jget(a->json, "data")));
    json_t *e = json_array_get(jget(a->json, "errors"), 0);
    assert_non_null(e);
    assert_int_equal(jint(e, "code"), status);
    if (!strstr(jstr(e, "msg"), needle))
        fprintf(stderr, "message \"%s\" lacks \"%s\"\n", jstr(e, "msg"), needle);
    assert_non_null(strstr(jstr(e, "msg"), needle));
}

static void v3_error(struct answer *a, int status, const char *needle)
{
    if (a->status != status)
        fprintf(stderr, "expected %d, got %d: %s\n", status, a->status, a->body);
    assert_int_equal(a->status, status);
    json_t *e = jget(a->json, "error");
    assert_int_equal(jint(e, "httpCode"), status);
    if (!strstr(jstr(e, "message"), needle))
        fprintf(stderr, "message \"%s\" lacks \"%s\"\n", jstr(e, "message"), needle);
    assert_non_null(strstr(jstr(e, "message"), needle));
}

static void zipkin_error(struct answer *a, int status, const char *needle)
{
    if (a->status != status)
        fprintf(stderr, "expected %d, got %d: %s\n", status, a->status, a->body);
    assert_int_equal(a->status, status);
    assert_non_null(strstr(a->ctype, "text/plain"));
    if (!strstr(a->body, needle))
        fprintf(stderr, "message \"%s\" lacks \"%s\"\n", a->body, needle);
    assert_non_null(strstr(a->body, needle));
}

static bool has_str(json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) if (json_is_string(v) && !strcmp(json_string_value(v), s)) return true;
    return false;
}

/* the tag `key` of a Jaeger span / process, NULL when absent */
static json_t *tag(json_t *tags, const char *key)
{
    size_t i;
    json_t *t;
    json_t *found = NULL;
    json_array_foreach(tags, i, t) if (!strcmp(jstr(t, "key"), key)) {
        assert_null(found); /* no key twice */
        found = t;
    }
    return found;
}

static json_t *span_named(json_t *spans, const char *name, const char *name_key)
{
    size_t i;
    json_t *s;
    json_array_foreach(spans, i, s) if (!strcmp(jstr(s, name_key), name)) return s;
    fprintf(stderr, "no span %s\n", name);
    fail();
    return NULL;
}

static char *us(uint64_t ns)
{
    static char buf[4][32];
    static int k;
    k = (k + 1) & 3;
    snprintf(buf[k], sizeof buf[k], "%llu", (unsigned long long)(ns / 1000));
    return buf[k];
}

static char *ms(uint64_t ns)
{
    static char buf[4][32];
    static int k;
    k = (k + 1) & 3;
    snprintf(buf[k], sizeof buf[k], "%llu", (unsigned long long)(ns / 1000000));
    return buf[k];
}

/* ---- routing ------------------------------------------------------------------------- */

static void test_query_paths_not_ours(void **state)
{
    (void)state;
    assert_int_equal(CALL("/healthz", NULL).handled, 0);
    assert_int_equal(CALL("/apix/services", NULL).handled, 0);
    assert_int_equal(CALL("/", NULL).handled, 0);
    assert_int_equal(CALL("/v1/traces", NULL).handled, 0);
}

static void test_query_unknown_api_paths(void **state)
{
    (void)state;
    struct answer a = CALL("/api/nope", NULL);
    assert_int_equal(a.handled, 1);
    v1_error(&a, 404, "no such endpoint");
    done(&a);
    a = CALL("/api", NULL);
    v1_error(&a, 404, "no such endpoint");
    done(&a);
    a = CALL("/api/traces/abc/extra", NULL);
    v1_error(&a, 404, "no such endpoint");
    done(&a);
    a = CALL("/api/v3/nope", NULL);
    v3_error(&a, 404, "no such endpoint");
    done(&a);
    a = CALL("/api/v2/nope", NULL);
    zipkin_error(&a, 404, "no such endpoint");
    done(&a);
}

/* ---- Jaeger v1 ------------------------------------------------------------------------- */

static void test_query_v1_services(void **state)
{
    (void)state;
    struct answer a = CALL("/api/services", NULL);
    json_t *d = v1_data(&a, 7);
    const char *want[] = {"api-gateway", "billing", "cart-service", "frontend", "my svc",
                          "product-db", "product-service"};
    for (size_t i = 0; i < 7; i++)
        assert_string_equal(json_string_value(json_array_get(d, i)), want[i]);
    assert_string_equal(a.ctype, "application/json");
    done(&a);
    a = CALL("/api/services/", NULL); /* trailing slash */
    v1_data(&a, 7);
    done(&a);
}

static void test_query_v1_operations(void **state)
{
    (void)state;
    struct answer a = CALL("/api/services/frontend/operations", NULL);
    json_t *d = v1_data(&a, 3);
    assert_true(has_str(d, "POST /cart/add") && has_str(d, "GET /health") && has_str(d, "ping"));
    done(&a);
    a = CALL("/api/services/my%20svc/operations", NULL);
    d = v1_data(&a, 1);
    assert_string_equal(json_string_value(json_array_get(d, 0)), "consume");
    done(&a);
    a = CALL("/api/services/nobody/operations", NULL);
    v1_data(&a, 0);
    done(&a);
    a = CALL("/api/services/100%zz/operations", NULL); /* a literal '%' */
    v1_data(&a, 0);
    done(&a);
    a = CALL("/api/services/bad%00/operations", NULL);
    v1_error(&a, 400, "percent");
    done(&a);

    a = CALL("/api/operations", "service", "frontend");
    d = v1_data(&a, 3);
    size_t i;
    json_t *op;
    json_array_foreach(d, i, op) {
        const char *n = jstr(op, "name"), *k = jstr(op, "spanKind");
        assert_string_equal(k, !strcmp(n, "ping") ? "internal" : "server");
    }
    done(&a);
    a = CALL("/api/operations", "service", "api-gateway", "spanKind", "client");
    d = v1_data(&a, 1);
    assert_string_equal(jstr(json_array_get(d, 0), "name"), "POST /cart/add");
    assert_string_equal(jstr(json_array_get(d, 0), "spanKind"), "client");
    done(&a);
    a = CALL("/api/operations", "service", "api-gateway", "spanKind", "server");
    v1_data(&a, 0);
    done(&a);
    a = CALL("/api/operations", "spanKind", "server");
    v1_error(&a, 400, "'service' is required");
    done(&a);
    a = CALL("/api/operations", "service", "frontend", "spanKind", "sideways");
    v1_error(&a, 400, "spanKind");
    done(&a);
}

/* T1 in full: ids, references, tags, logs, processes */
static void check_t1(json_t *tr)
{
    assert_string_equal(jstr(tr, "traceID"), T1_HEX);
    assert_true(json_is_null(jget(tr, "warnings")));
    json_t *spans = jget(tr, "spans"), *procs = jget(tr, "processes");
    assert_int_equal(json_array_size(spans), 5);
    assert_int_equal(json_object_size(procs), 5);
    const char *pkey;
    json_t *p;
    json_object_foreach(procs, pkey, p) assert_true(pkey[0] == 'p' && atoi(pkey + 1) >= 1 && atoi(pkey + 1) <= 5);

    json_t *root = span_named(spans, "POST /cart/add", "operationName");
    assert_string_equal(jstr(root, "spanID"), "5000000000000001");
    assert_string_equal(jstr(root, "traceID"), T1_HEX);
    assert_int_equal(jint(root, "flags"), 1);
    assert_int_equal(json_array_size(jget(root, "references")), 0);
    assert_int_equal(jint(root, "startTime"), (json_int_t)(G->t0 / 1000));
    assert_int_equal(jint(root, "duration"), 50000);
    assert_true(json_is_null(jget(root, "warnings")));
    json_t *tags = jget(root, "tags"), *t;
    assert_string_equal(jstr(tag(tags, "otel.scope.name"), "value"), "stitch.http");
    assert_string_equal(jstr(tag(tags, "otel.scope.version"), "value"), "0.1.0");
    t = tag(tags, "http.method");
    assert_string_equal(jstr(t, "type"), "string");
    assert_string_equal(jstr(t, "value"), "POST");
    t = tag(tags, "http.status_code");
    assert_string_equal(jstr(t, "type"), "int64");
    assert_int_equal(jint(t, "value"), 200);
    t = tag(tags, "cache.hit");
    assert_string_equal(jstr(t, "type"), "bool");
    assert_true(json_is_true(jget(t, "value")));
    t = tag(tags, "load");
    assert_string_equal(jstr(t, "type"), "float64");
    assert_true(json_real_value(jget(t, "value")) == 0.25);
    t = tag(tags, "tags");
    assert_string_equal(jstr(t, "type"), "string");
    assert_string_equal(jstr(t, "value"), "[\"a\",\"b\"]");
    assert_string_equal(jstr(tag(tags, "ints"), "value"), "[1,-2]");
    assert_string_equal(jstr(tag(tags, "span.kind"), "value"), "server");
    assert_string_equal(jstr(tag(tags, "otel.status_code"), "value"), "OK");
    assert_null(tag(tags, "error"));
    assert_int_equal(json_array_size(jget(root, "logs")), 0);
    json_t *proc = jget(procs, jstr(root, "processID"));
    assert_string_equal(jstr(proc, "serviceName"), "frontend");
    json_t *ptags = jget(proc, "tags");
    assert_int_equal(json_array_size(ptags), 2); /* service.name is the serviceName */
    assert_string_equal(jstr(tag(ptags, "host.name"), "value"), "web-1");
    assert_int_equal(jint(tag(ptags, "process.pid"), "value"), 4242);

    json_t *cart = span_named(spans, "addItem", "operationName");
    json_t *refs = jget(cart, "references");
    assert_int_equal(json_array_size(refs), 2);
    assert_string_equal(jstr(json_array_get(refs, 0), "refType"), "CHILD_OF");
    assert_string_equal(jstr(json_array_get(refs, 0), "traceID"), T1_HEX);
    assert_string_equal(jstr(json_array_get(refs, 0), "spanID"), "5000000000000002");
    assert_string_equal(jstr(json_array_get(refs, 1), "refType"), "FOLLOWS_FROM");
    assert_string_equal(jstr(json_array_get(refs, 1), "traceID"), "44444444444444444444444444444402");
    assert_string_equal(jstr(json_array_get(refs, 1), "spanID"), "0000000000000009");
    json_t *logs = jget(cart, "logs");
    assert_int_equal(json_array_size(logs), 1);
    json_t *log = json_array_get(logs, 0);
    assert_int_equal(jint(log, "timestamp"), (json_int_t)((G->t0 + 12 * MS) / 1000));
    json_t *fields = jget(log, "fields");
    assert_int_equal(json_array_size(fields), 2);
    assert_string_equal(jstr(json_array_get(fields, 0), "key"), "event");
    assert_string_equal(jstr(json_array_get(fields, 0), "value"), "item added");
    assert_int_equal(jint(tag(fields, "item.count"), "value"), 3);
    assert_int_equal(jint(tag(jget(cart, "tags"), "otel.dropped_attributes_count"), "value"), 2);
    assert_null(tag(jget(cart, "tags"), "otel.status_code"));
    assert_string_equal(jstr(jget(procs, jstr(cart, "processID")), "serviceName"), "cart-service");

    json_t *db = span_named(spans, "SELECT products", "operationName");
    tags = jget(db, "tags");
    assert_string_equal(jstr(tag(tags, "span.kind"), "value"), "client");
    assert_string_equal(jstr(tag(tags, "otel.status_code"), "value"), "ERROR");
    t = tag(tags, "error");
    assert_string_equal(jstr(t, "type"), "bool");
    assert_true(json_is_true(jget(t, "value")));
    assert_string_equal(jstr(tag(tags, "otel.status_description"), "value"), "timeout");
    assert_string_equal(jstr(tag(tags, "otel.scope.name"), "value"), "stitch.sqlite");
    assert_null(tag(tags, "otel.scope.version"));
    assert_int_equal(jint(db, "duration"), 5000);
    assert_string_equal(jstr(jget(procs, jstr(db, "processID")), "serviceName"), "product-db");
    /* spans come ordered by start time */
    json_int_t last = 0;
    size_t i;
    json_t *s;
    json_array_foreach(spans, i, s) {
        assert_true(jint(s, "startTime") >= last);
        last = jint(s, "startTime");
    }
}

static void test_query_v1_trace(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "/api/traces/%s", T1_HEX);
    struct answer a = CALL(path, NULL);
    json_t *d = v1_data(&a, 1);
    check_t1(json_array_get(d, 0));
    done(&a);
    /* upper case works too */
    a = CALL("/api/traces/A1B2C3D40102030405060708090A0B0C", NULL);
    v1_data(&a, 1);
    done(&a);
}

/* ---- /api/ui/traces/{id}: the web UI's compact trace ---------------------------------- */

/* dict[column[i]] */
static json_t *ui_at(json_t *d, const char *col, size_t i)
{
    json_t *k = json_array_get(jget(d, col), i);
    assert_true(json_is_integer(k));
    json_t *v = json_array_get(jget(d, "dict"), (size_t)json_integer_value(k));
    assert_non_null(v);
    return v;
}

static size_t ui_span_named(json_t *d, const char *name)
{
    for (size_t i = 0; i < (size_t)jint(d, "n"); i++)
        if (!strcmp(json_string_value(ui_at(d, "name", i)), name))
            return i;
    fail_msg("no span named %s", name);
    return 0;
}

/* the value of `key` in a [key, value, …] list of dictionary indices, or NULL */
static json_t *ui_kv(json_t *d, json_t *list, const char *key)
{
    json_t *dict = jget(d, "dict");
    for (size_t k = 0; k + 1 < json_array_size(list); k += 2)
        if (!strcmp(json_string_value(json_array_get(dict, (size_t)json_integer_value(json_array_get(list, k)))), key))
            return json_array_get(dict, (size_t)json_integer_value(json_array_get(list, k + 1)));
    return NULL;
}

static json_int_t ui_int(json_t *d, const char *col, size_t i)
{
    json_t *v = json_array_get(jget(d, col), i);
    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

static void test_query_ui_trace(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "/api/ui/traces/%s", T1_HEX);
    struct answer a = CALL(path, NULL);
    assert_int_equal(a.status, 200);
    assert_true(json_is_null(jget(a.json, "errors")));
    json_t *d = jget(a.json, "data");
    assert_string_equal(jstr(d, "traceID"), T1_HEX);
    assert_int_equal(jint(d, "n"), 5);
    assert_int_equal(jint(d, "t0"), (json_int_t)(G->t0 / 1000));
    assert_string_equal(json_string_value(json_array_get(jget(d, "dict"), 0)), "");
    const char *cols[] = {"spanID", "parent", "process", "scope", "name", "start", "duration", "kind",
                          "status", "tags"};
    for (size_t c = 0; c < sizeof cols / sizeof *cols; c++)
        assert_int_equal(json_array_size(jget(d, cols[c])), 5);
    /* every dictionary string appears once */
    json_t *dict = jget(d, "dict");
    for (size_t i = 0; i < json_array_size(dict); i++)
        for (size_t j = i + 1; j < json_array_size(dict); j++)
            assert_false(json_equal(json_array_get(dict, i), json_array_get(dict, j)) &&
                         json_typeof(json_array_get(dict, i)) == json_typeof(json_array_get(dict, j)));

    size_t root = ui_span_named(d, "POST /cart/add");
    assert_string_equal(json_string_value(json_array_get(jget(d, "spanID"), root)), "5000000000000001");
    assert_int_equal(ui_int(d, "parent", root), -1);
    assert_int_equal(ui_int(d, "start", root), 0);
    assert_int_equal(ui_int(d, "duration", root), 50000);
    assert_int_equal(ui_int(d, "kind", root), 2);
    assert_int_equal(ui_int(d, "status", root), 1);
    json_t *tags = json_array_get(jget(d, "tags"), root);
    assert_string_equal(json_string_value(ui_kv(d, tags, "http.method")), "POST");
    assert_int_equal(json_integer_value(ui_kv(d, tags, "http.status_code")), 200);
    assert_true(json_is_true(ui_kv(d, tags, "cache.hit")));
    assert_true(json_real_value(ui_kv(d, tags, "load")) == 0.25);
    /* a float64 that JSON would read as an integer: "200.0", its own entry
     * apart from the int64 200, and listed in "floats" */
    {
        size_t cart = ui_span_named(d, "addItem");
        json_t *amount = ui_kv(d, json_array_get(jget(d, "tags"), cart), "amount");
        assert_true(json_is_real(amount) && json_real_value(amount) == 200.0);
        json_t *fl = jget(d, "floats");
        assert_int_equal(json_array_size(fl), 1);
        assert_true(json_equal(json_array_get(jget(d, "dict"), (size_t)json_integer_value(json_array_get(fl, 0))), amount));
    }
    assert_string_equal(json_string_value(ui_kv(d, tags, "tags")), "[\"a\",\"b\"]");
    assert_string_equal(json_string_value(ui_kv(d, tags, "ints")), "[1,-2]");
    json_t *proc = json_array_get(jget(d, "processes"), (size_t)ui_int(d, "process", root));
    assert_string_equal(json_string_value(json_array_get(dict, (size_t)json_integer_value(json_array_get(proc, 0)))),
                        "frontend");
    assert_string_equal(json_string_value(ui_kv(d, json_array_get(proc, 1), "host.name")), "web-1");
    assert_int_equal(json_integer_value(ui_kv(d, json_array_get(proc, 1), "process.pid")), 4242);
    assert_null(ui_kv(d, json_array_get(proc, 1), "service.name"));
    json_t *scope = json_array_get(jget(d, "scopes"), (size_t)ui_int(d, "scope", root));
    assert_string_equal(json_string_value(json_array_get(dict, (size_t)json_integer_value(json_array_get(scope, 0)))),
                        "stitch.http");
    assert_string_equal(json_string_value(json_array_get(dict, (size_t)json_integer_value(json_array_get(scope, 1)))),
                        "0.1.0");

    /* addItem: parent by index, its link in refs, its event, its dropped count */
    size_t cart = ui_span_named(d, "addItem");
    json_int_t p = ui_int(d, "parent", cart);
    assert_true(p >= 0 && p < 5);
    assert_string_equal(json_string_value(json_array_get(jget(d, "spanID"), (size_t)p)), "5000000000000002");
    json_t *refs = jget(d, "refs"), *r;
    size_t i, nref = 0;
    json_array_foreach(refs, i, r) {
        if (json_integer_value(json_array_get(r, 0)) != (json_int_t)cart)
            continue;
        nref++; /* the CHILD_OF reference to the parent is the parent column's */
        assert_int_equal(json_integer_value(json_array_get(r, 1)), 1);
        assert_string_equal(json_string_value(json_array_get(r, 2)), "44444444444444444444444444444402");
        assert_string_equal(json_string_value(json_array_get(r, 3)), "0000000000000009");
    }
    assert_int_equal(nref, 1);
    json_t *evs = jget(d, "events");
    assert_int_equal(json_array_size(evs), 1);
    json_t *ev = json_array_get(evs, 0);
    assert_int_equal(json_integer_value(json_array_get(ev, 0)), (json_int_t)cart);
    assert_int_equal(json_integer_value(json_array_get(ev, 1)), 12000);
    assert_string_equal(json_string_value(json_array_get(dict, (size_t)json_integer_value(json_array_get(ev, 2)))),
                        "item added");
    assert_int_equal(json_integer_value(ui_kv(d, json_array_get(ev, 3), "item.count")), 3);
    json_t *x, *extra = jget(d, "extra");
    bool cart_extra = false, db_extra = false;
    size_t db = ui_span_named(d, "SELECT products");
    json_array_foreach(extra, i, x) {
        size_t at = (size_t)json_integer_value(json_array_get(x, 0));
        if (at == cart) {
            cart_extra = true;
            assert_int_equal(json_integer_value(json_array_get(x, 3)), 2); /* dropped attributes */
        }
        if (at == db) {
            db_extra = true;
            assert_string_equal(json_string_value(json_array_get(dict, (size_t)json_integer_value(json_array_get(x, 1)))),
                                "timeout");
        }
    }
    assert_true(cart_extra && db_extra);
    assert_int_equal(ui_int(d, "status", db), 2);
    assert_int_equal(ui_int(d, "kind", db), 3);
    assert_int_equal(ui_int(d, "duration", db), 5000);
    done(&a);

    /* 64-bit ids are written as Jaeger writes them; errors in the v1 shape */
    a = CALL("/api/ui/traces/123456789abcdef0", NULL);
    assert_int_equal(a.status, 200);
    assert_string_equal(jstr(jget(a.json, "data"), "traceID"), T2_HEX);
    done(&a);
    a = CALL("/api/ui/traces/0123456789abcdef0123456789abcdef", NULL);
    v1_error(&a, 404, "trace not found");
    done(&a);
    a = CALL("/api/ui/traces/xyz", NULL);
    v1_error(&a, 400, "trace id");
    done(&a);
}

static void test_query_v1_trace_64bit(void **state)
{
    (void)state;
    const char *paths[] = {"/api/traces/123456789abcdef0", "/api/traces/0000000000000000123456789abcdef0"};
    for (int i = 0; i < 2; i++) {
        struct answer a = CALL(paths[i], NULL);
        json_t *tr = json_array_get(v1_data(&a, 1), 0);
        assert_string_equal(jstr(tr, "traceID"), T2_HEX);
        json_t *sp = json_array_get(jget(tr, "spans"), 0);
        assert_string_equal(jstr(sp, "traceID"), T2_HEX);
        assert_string_equal(jstr(sp, "operationName"), "charge");
        assert_string_equal(jstr(json_object_get(jget(tr, "processes"), "p1"), "serviceName"), "billing");
        done(&a);
    }
}

static void test_query_v1_trace_errors(void **state)
{
    (void)state;
    struct answer a = CALL("/api/traces/00000000000000000000000000abcdef", NULL);
    v1_error(&a, 404, "trace not found");
    assert_string_equal(jstr(json_array_get(jget(a.json, "errors"), 0), "msg"), "trace not found");
    done(&a);
    a = CALL("/api/traces/xyz", NULL);
    v1_error(&a, 400, "hex");
    done(&a);
    a = CALL("/api/traces/a1b2c3d40102030405060708090a0b0c0", NULL); /* 33 digits */
    v1_error(&a, 400, "1 to 32 hex digits");
    done(&a);
}

/* the set of trace ids in a v1 search answer */
static bool v1_has_trace(json_t *data, const char *id)
{
    size_t i;
    json_t *t;
    json_array_foreach(data, i, t) if (!strcmp(jstr(t, "traceID"), id)) return true;
    return false;
}

static void test_query_v1_search(void **state)
{
    (void)state;
    struct answer a = CALL("/api/traces", "service", "frontend");
    json_t *d = v1_data(&a, 2);
    assert_true(v1_has_trace(d, T1_HEX) && v1_has_trace(d, T3_HEX));
    /* most recent first */
    assert_string_equal(jstr(json_array_get(d, 0), "traceID"), T3_HEX);
    check_t1(json_array_get(d, 1));
    done(&a);

    a = CALL("/api/traces", "service", "frontend", "operation", "GET /health");
    d = v1_data(&a, 1);
    assert_string_equal(jstr(json_array_get(d, 0), "traceID"), T3_HEX);
    done(&a);

    a = CALL("/api/traces", "service", "frontend", "limit", "1");
    v1_data(&a, 1);
    done(&a);

    /* durations: the 50 ms root matches 10ms..100ms, the 1 ms health check does not */
    a = CALL("/api/traces", "service", "frontend", "minDuration", "10ms", "maxDuration", "0.1s");
    d = v1_data(&a, 1);
    assert_string_equal(jstr(json_array_get(d, 0), "traceID"), T1_HEX);
    done(&a);
    a = CALL("/api/traces", "service", "frontend", "maxDuration", "1500us");
    d = v1_data(&a, 1);
    assert_string_equal(jstr(json_array_get(d, 0), "traceID"), T3_HEX);
    done(&a);

    /* start / end (µs) */
    a = CALL("/api/traces", "service", "frontend", "start", us(G->t0 + 100 * MS), "end", us(G->t0 + 400 * MS));
    d = v1_data(&a, 1);
    assert_string_equal(jstr(json_array_get(d, 0), "traceID"), T3_HEX);
    done(&a);
    a = CALL("/api/traces", "service", "frontend", "start", us(G->t0), "end", us(G->t0));
    d = v1_data(&a, 1);
    assert_string_equal(jstr(json_array_get(d, 0), "traceID"), T1_HEX);
    done(&a);

    /* tags: JSON object, repeated tag=k:v, resource attributes, types as text */
    a = CALL("/api/traces", "service", "frontend", "tags", "{\"http.method\":\"POST\"}");
    d = v1_data(&a, 1);
    assert_string_equal(jstr(json_array_get(d, 0), "traceID"), T1_HEX);
    done(&a);
    a = CALL("/api/traces", "service", "frontend", "tag", "http.status_code:200", "tag", "cache.hit:true");
    d = v1_data(&a, 1);
    assert_string_equal(jstr(json_array_get(d, 0), "traceID"), T1_HEX);
    done(&a);
    a = CALL("/api/traces", "service", "frontend", "tags", "{\"host.name\":\"web-1\"}");
    v1_data(&a, 2);
    done(&a);
    a = CALL("/api/traces", "service", "frontend", "tags", "{\"http.method\":\"GET\"}");
    v1_data(&a, 0);
    done(&a);
    /* all conditions on one span: POST is on the root, 1 ms only on the health check */
    a = CALL("/api/traces", "service", "frontend", "tags", "{\"http.method\":\"POST\"}", "maxDuration", "2ms");
    v1_data(&a, 0);
    done(&a);

    /* synthesized tags: error=true, otel.status_code, span.kind */
    a = CALL("/api/traces", "service", "product-db", "tags", "{\"error\":\"true\"}");
    d = v1_data(&a, 1);
    assert_string_equal(jstr(json_array_get(d, 0), "traceID"), T1_HEX);
    done(&a);
    a = CALL("/api/traces", "service", "frontend", "tags", "{\"error\":\"true\"}");
    v1_data(&a, 0);
    done(&a);
    a = CALL("/api/traces", "service", "billing", "tag", "otel.status_code:OK");
    v1_data(&a, 1);
    done(&a);
    a = CALL("/api/traces", "service", "frontend", "tag", "span.kind:internal");
    d = v1_data(&a, 1);
    assert_string_equal(jstr(json_array_get(d, 0), "traceID"), T3_HEX);
    done(&a);
    a = CALL("/api/traces", "service", "product-db", "tag", "otel.status_description:timeout");
    v1_data(&a, 1);
    done(&a);
}

static void test_query_v1_search_by_ids(void **state)
{
    (void)state;
    struct answer a = CALL("/api/traces", "traceID", T1_HEX, "traceID", T2_HEX, "traceID", "abc");
    json_t *d = jget(a.json, "data");
    assert_int_equal(a.status, 200);
    assert_int_equal(json_array_size(d), 2);
    assert_true(v1_has_trace(d, T1_HEX) && v1_has_trace(d, T2_HEX));
    json_t *errs = jget(a.json, "errors");
    assert_int_equal(json_array_size(errs), 1);
    assert_string_equal(jstr(json_array_get(errs, 0), "msg"), "trace not found");
    assert_string_equal(jstr(json_array_get(errs, 0), "traceID"), "0000000000000abc");
    done(&a);
    a = CALL("/api/traces", "traceID", "not-hex");
    v1_error(&a, 400, "traceID");
    done(&a);
}

static void test_query_v1_search_validation(void **state)
{
    (void)state;
    static const struct {
        const char *args[7];
        const char *needle;
    } cases[] = {
        {{"operation", "x", NULL}, "'service' is required"},
        {{"service", "frontend", "minDuration", "5x", NULL}, "'minDuration'"},
        {{"service", "frontend", "minDuration", "10", NULL}, "missing unit"},
        {{"service", "frontend", "maxDuration", "-1s", NULL}, "'maxDuration': negative"},
        {{"service", "frontend", "minDuration", "2s", "maxDuration", "1s"}, "maxDuration"},
        {{"service", "frontend", "limit", "-1", NULL}, "'limit': must not be negative"},
        {{"service", "frontend", "limit", "abc", NULL}, "'limit'"},
        {{"service", "frontend", "limit", "99999999999999999999", NULL}, "'limit'"},
        {{"service", "frontend", "start", "yesterday", NULL}, "'start'"},
        {{"service", "frontend", "end", "-5", NULL}, "'end'"},
        {{"service", "frontend", "start", "200", "end", "100"}, "'end' is before 'start'"},
        {{"service", "frontend", "tags", "{bad", NULL}, "'tags': invalid JSON"},
        {{"service", "frontend", "tags", "[1]", NULL}, "'tags': expected a JSON object"},
        {{"service", "frontend", "tags", "{\"a\":{}}", NULL}, "'tags': tag \"a\""},
        {{"service", "frontend", "tag", "nocolon", NULL}, "'tag': expected key:value"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct answer a = call_v("/api/traces", cases[i].args);
        v1_error(&a, 400, cases[i].needle);
        done(&a);
    }
    /* a huge limit is clamped, not refused */
    struct answer a = CALL("/api/traces", "service", "frontend", "limit", "1000000");
    v1_data(&a, 2);
    done(&a);
}

static void test_query_v1_dependencies(void **state)
{
    (void)state;
    struct answer a = CALL("/api/dependencies", "endTs", ms(now_ns() + 1000 * MS), "lookback", "3600000");
    json_t *d = v1_data(&a, 4);
    size_t i;
    json_t *dep;
    int seen = 0;
    json_array_foreach(d, i, dep) {
        const char *p = jstr(dep, "parent"), *c = jstr(dep, "child");
        assert_int_equal(jint(dep, "callCount"), 1);
        if (!strcmp(p, "frontend") && !strcmp(c, "api-gateway"))
            seen |= 1;
        if (!strcmp(p, "product-service") && !strcmp(c, "product-db"))
            seen |= 2;
    }
    assert_int_equal(seen, 3);
    done(&a);
    /* a window before everything */
    a = CALL("/api/dependencies", "endTs", ms(G->t0 - 1000 * MS), "lookback", "1000");
    v1_data(&a, 0);
    done(&a);
    a = CALL("/api/dependencies", "endTs", "soon");
    v1_error(&a, 400, "'endTs'");
    done(&a);
    a = CALL("/api/dependencies", "lookback", "1h");
    v1_error(&a, 400, "'lookback'");
    done(&a);
}

/* ---- Jaeger v3 ------------------------------------------------------------------------- */

static void test_query_v3_services_operations(void **state)
{
    (void)state;
    struct answer a = CALL("/api/v3/services", NULL);
    assert_int_equal(a.status, 200);
    json_t *s = jget(a.json, "services");
    assert_int_equal(json_array_size(s), 7);
    assert_true(has_str(s, "frontend") && has_str(s, "my svc"));
    done(&a);
    a = CALL("/api/v3/operations", "service", "frontend", "span_kind", "server");
    assert_int_equal(a.status, 200);
    json_t *ops = jget(a.json, "operations");
    assert_int_equal(json_array_size(ops), 2);
    assert_string_equal(jstr(json_array_get(ops, 0), "spanKind"), "server");
    done(&a);
    a = CALL("/api/v3/operations", "service", "frontend", "spanKind", "SPAN_KIND_INTERNAL");
    ops = jget(a.json, "operations");
    assert_int_equal(json_array_size(ops), 1);
    assert_string_equal(jstr(json_array_get(ops, 0), "name"), "ping");
    done(&a);
    a = CALL("/api/v3/operations", "service", "frontend", "span_kind", "bogus");
    v3_error(&a, 400, "span_kind");
    done(&a);
}

/* service names of every resourceSpans, and the span count */
static size_t otlp_spans(json_t *result, int *nres, char names[][32])
{
    json_t *rss = jget(result, "resourceSpans");
    size_t n = 0, i, j, k;
    json_t *rs, *ss, *sp;
    *nres = (int)json_array_size(rss);
    json_array_foreach(rss, i, rs) {
        json_t *attrs = jget(jget(rs, "resource"), "attributes"), *kv;
        size_t m;
        names[i][0] = 0;
        json_array_foreach(attrs, m, kv) if (!strcmp(jstr(kv, "key"), "service.name"))
            snprintf(names[i], 32, "%s", jstr(jget(kv, "value"), "stringValue"));
        json_array_foreach(jget(rs, "scopeSpans"), j, ss) json_array_foreach(jget(ss, "spans"), k, sp) n++;
    }
    return n;
}

static void test_query_v3_trace(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "/api/v3/traces/%s", T1_HEX);
    struct answer a = CALL(path, NULL);
    assert_int_equal(a.status, 200);
    json_t *res = jget(a.json, "result");
    int nres;
    char names[16][32];
    assert_int_equal(otlp_spans(res, &nres, names), 5);
    assert_int_equal(nres, 5); /* one ResourceSpans per service */
    json_t *rs0 = json_array_get(jget(res, "resourceSpans"), 0);
    json_t *sp = json_array_get(jget(json_array_get(jget(rs0, "scopeSpans"), 0), "spans"), 0);
    assert_string_equal(jstr(sp, "traceId"), T1_HEX);
    assert_string_equal(jstr(sp, "spanId"), "5000000000000001");
    assert_string_equal(jstr(sp, "name"), "POST /cart/add");
    assert_int_equal(jint(sp, "kind"), 2);
    done(&a);

    /* T3 has two spans of one resource: one ResourceSpans */
    snprintf(path, sizeof path, "/api/v3/traces/%s", T3_HEX);
    a = CALL(path, NULL);
    assert_int_equal(otlp_spans(jget(a.json, "result"), &nres, names), 2);
    assert_int_equal(nres, 1);
    assert_string_equal(names[0], "frontend");
    done(&a);

    a = CALL("/api/v3/traces/00000000000000000000000000000bad", NULL);
    v3_error(&a, 404, "trace not found");
    done(&a);
    a = CALL("/api/v3/traces/nothex", NULL);
    v3_error(&a, 400, "trace_id");
    done(&a);
    snprintf(path, sizeof path, "/api/v3/traces/%s", T1_HEX);
    a = CALL(path, "start_time", "yesterday");
    v3_error(&a, 400, "start_time");
    done(&a);
}

static char *rfc(uint64_t ns)
{
    static char buf[4][64];
    static int k;
    k = (k + 1) & 3;
    time_t s = (time_t)(ns / 1000000000ull);
    struct tm tm;
    gmtime_r(&s, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf[k], sizeof buf[k], "%s.%09lluZ", base, (unsigned long long)(ns % 1000000000ull));
    return buf[k];
}

static void test_query_v3_search(void **state)
{
    (void)state;
    int nres;
    char names[16][32];
    struct answer a = CALL("/api/v3/traces", "query.service_name", "frontend",
                           "query.start_time_min", rfc(G->t0 - 1000 * MS),
                           "query.start_time_max", rfc(G->t0 + 1000 * MS));
    assert_int_equal(a.status, 200);
    assert_int_equal(otlp_spans(jget(a.json, "result"), &nres, names), 7); /* T1 and T3 */
    done(&a);
    /* camelCase names, durations, attributes, depth */
    a = CALL("/api/v3/traces", "query.serviceName", "frontend", "query.durationMin", "10ms",
             "query.attributes", "{\"http.method\":\"POST\"}", "query.searchDepth", "5");
    assert_int_equal(a.status, 200);
    assert_int_equal(otlp_spans(jget(a.json, "result"), &nres, names), 5);
    done(&a);
    a = CALL("/api/v3/traces", "query.service_name", "frontend", "query.operation_name", "GET /health",
             "query.num_traces", "1");
    assert_int_equal(otlp_spans(jget(a.json, "result"), &nres, names), 2);
    done(&a);
    /* a time window given with an offset: +02:00 is two hours earlier in UTC */
    char base[40], shifted[64];
    uint64_t from = G->t0 + 100 * MS;
    time_t s = (time_t)(from / 1000000000ull) + 2 * 3600;
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(shifted, sizeof shifted, "%s.%09llu+02:00", base,
             (unsigned long long)(from % 1000000000ull));
    a = CALL("/api/v3/traces", "query.service_name", "frontend", "query.start_time_min", shifted);
    assert_int_equal(a.status, 200);
    assert_int_equal(otlp_spans(jget(a.json, "result"), &nres, names), 2); /* T3 only */
    done(&a);
    a = CALL("/api/v3/traces", "query.service_name", "nobody");
    v3_error(&a, 404, "No traces found");
    done(&a);

    static const struct {
        const char *args[5];
        const char *needle;
    } bad[] = {
        {{"query.start_time_min", "2024-13-01T00:00:00Z", NULL}, "query.start_time_min"},
        {{"query.startTimeMax", "2024-01-01 00:00:00", NULL}, "query.startTimeMax"},
        {{"query.start_time_min", "2024-01-02T00:00:00Z", "query.start_time_max", "2024-01-01T00:00:00Z"},
         "must be before"},
        {{"query.duration_min", "fast", NULL}, "query.duration_min"},
        {{"query.search_depth", "-3", NULL}, "query.search_depth"},
        {{"query.attributes", "{\"k\":", NULL}, "query.attributes"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        a = call_v("/api/v3/traces", bad[i].args);
        v3_error(&a, 400, bad[i].needle);
        done(&a);
    }
}

/* ---- Zipkin v2 ------------------------------------------------------------------------- */

static void test_query_zipkin_lists(void **state)
{
    (void)state;
    struct answer a = CALL("/api/v2/services", NULL);
    assert_int_equal(a.status, 200);
    assert_int_equal(json_array_size(a.json), 7);
    done(&a);
    a = CALL("/api/v2/spans", "serviceName", "frontend");
    assert_int_equal(json_array_size(a.json), 3);
    assert_true(has_str(a.json, "GET /health"));
    done(&a);
    a = CALL("/api/v2/spans", NULL);
    zipkin_error(&a, 400, "serviceName is required");
    done(&a);
    a = CALL("/api/v2/remoteServices", "serviceName", "api-gateway");
    assert_int_equal(json_array_size(a.json), 1);
    assert_true(has_str(a.json, "cart-service"));
    done(&a);
    a = CALL("/api/v2/autocompleteKeys", NULL);
    assert_int_equal(a.status, 200);
    assert_int_equal(json_array_size(a.json), 0);
    done(&a);
}

static json_t *zspan(json_t *list, const char *name)
{
    return span_named(list, name, "name");
}

static void test_query_zipkin_trace(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "/api/v2/trace/%s", T1_HEX);
    struct answer a = CALL(path, NULL);
    assert_int_equal(a.status, 200);
    assert_int_equal(json_array_size(a.json), 5);
    json_t *db = zspan(a.json, "SELECT products");
    assert_string_equal(jstr(db, "traceId"), T1_HEX);
    assert_string_equal(jstr(db, "id"), "5000000000000005");
    assert_string_equal(jstr(db, "parentId"), "5000000000000004");
    assert_string_equal(jstr(db, "kind"), "CLIENT");
    assert_int_equal(jint(db, "timestamp"), (json_int_t)((G->t0 + 22 * MS) / 1000));
    assert_int_equal(jint(db, "duration"), 5000);
    assert_string_equal(jstr(jget(db, "localEndpoint"), "serviceName"), "product-db");
    assert_string_equal(jstr(jget(db, "tags"), "error"), "timeout");
    json_t *cart = zspan(a.json, "addItem");
    assert_string_equal(jstr(json_array_get(jget(cart, "annotations"), 0), "value"),
                        "\"item added\":{\"item.count\":3}");
    done(&a);
    a = CALL("/api/v2/trace/0000000000000bad", NULL);
    zipkin_error(&a, 404, "not found");
    done(&a);
    a = CALL("/api/v2/trace/zz", NULL);
    zipkin_error(&a, 400, "traceId");
    done(&a);
    a = CALL("/api/v2/traceMany", "traceIds", "a1b2c3d40102030405060708090a0b0c,123456789abcdef0,bad0");
    assert_int_equal(a.status, 200);
    assert_int_equal(json_array_size(a.json), 2);
    done(&a);
}

static void test_query_zipkin_search(void **state)
{
    (void)state;
    struct answer a = CALL("/api/v2/traces", "serviceName", "frontend");
    assert_int_equal(a.status, 200);
    assert_int_equal(json_array_size(a.json), 2);
    assert_int_equal(json_array_size(json_array_get(a.json, 0)), 2); /* T3, most recent */
    assert_int_equal(json_array_size(json_array_get(a.json, 1)), 5);
    done(&a);
    a = CALL("/api/v2/traces", NULL); /* everything within the last day, 10 at most */
    assert_int_equal(json_array_size(a.json), 4);
    done(&a);
    a = CALL("/api/v2/traces", "serviceName", "frontend", "spanName", "all", "limit", "1");
    assert_int_equal(json_array_size(a.json), 1);
    done(&a);
    a = CALL("/api/v2/traces", "serviceName", "frontend", "spanName", "GET /health");
    assert_int_equal(json_array_size(a.json), 1);
    done(&a);
    /* µs durations */
    a = CALL("/api/v2/traces", "serviceName", "frontend", "minDuration", "10000", "maxDuration", "100000");
    assert_int_equal(json_array_size(a.json), 1);
    assert_int_equal(json_array_size(json_array_get(a.json, 0)), 5);
    done(&a);
    /* annotationQuery: "error" (status), k=v, and an annotation word */
    a = CALL("/api/v2/traces", "annotationQuery", "error");
    assert_int_equal(json_array_size(a.json), 1);
    done(&a);
    a = CALL("/api/v2/traces", "annotationQuery", "error and db.system=sqlite");
    assert_int_equal(json_array_size(a.json), 1);
    done(&a);
    a = CALL("/api/v2/traces", "annotationQuery", "error and http.method=POST");
    assert_int_equal(json_array_size(a.json), 0); /* not on one span */
    done(&a);
    a = CALL("/api/v2/traces", "annotationQuery", "item added");
    assert_int_equal(json_array_size(a.json), 1);
    done(&a);
    a = CALL("/api/v2/traces", "serviceName", "api-gateway", "remoteServiceName", "cart-service");
    assert_int_equal(json_array_size(a.json), 1);
    done(&a);
    /* endTs / lookback (ms) */
    a = CALL("/api/v2/traces", "endTs", ms(G->t0 + 100 * MS), "lookback", "1000");
    assert_int_equal(json_array_size(a.json), 2); /* T1, T2 */
    done(&a);

    static const struct {
        const char *args[3];
        const char *needle;
    } bad[] = {
        {{"minDuration", "10ms", NULL}, "'minDuration'"},
        {{"endTs", "-1", NULL}, "'endTs'"},
        {{"lookback", "x", NULL}, "'lookback'"},
        {{"limit", "-5", NULL}, "'limit'"},
        {{"annotationQuery", "=v", NULL}, "annotationQuery"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        a = call_v("/api/v2/traces", bad[i].args);
        zipkin_error(&a, 400, bad[i].needle);
        done(&a);
    }
}

static void test_query_zipkin_dependencies(void **state)
{
    (void)state;
    struct answer a = CALL("/api/v2/dependencies", "endTs", ms(now_ns() + 1000 * MS));
    assert_int_equal(a.status, 200);
    assert_int_equal(json_array_size(a.json), 4);
    size_t i;
    json_t *d;
    bool err_seen = false;
    json_array_foreach(a.json, i, d) {
        if (!strcmp(jstr(d, "child"), "product-db")) {
            assert_int_equal(jint(d, "errorCount"), 1);
            err_seen = true;
        } else {
            assert_int_equal(jint(d, "errorCount"), 0);
        }
    }
    assert_true(err_seen);
    done(&a);
}

/* ---- parsers ----------------------------------------------------------------------------- */

static void test_query_parse_duration(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        uint64_t ns;
    } ok[] = {
        {"0", 0}, {"100ms", 100 * MS}, {"1.5s", 1500 * MS}, {"1h2m", 3720000 * MS},
        {"500us", 500000}, {"500\xc2\xb5s", 500000}, {"500\xce\xbcs", 500000}, {"7ns", 7},
        {".5s", 500 * MS}, {"1.s", 1000 * MS}, {"2h45m30.5s", 9930500 * MS}, {"+3m", 180000 * MS},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint64_t v = 1;
        char err[128];
        if (query_parse_duration(ok[i].s, &v, err, sizeof err))
            fprintf(stderr, "%s: %s\n", ok[i].s, err);
        assert_int_equal(query_parse_duration(ok[i].s, &v, err, sizeof err), 0);
        assert_int_equal(v, ok[i].ns);
    }
    const char *bad[] = {"", "ms", "10", "5x", "1.5", "-1s", "1..5s", "99999999999h", "1s2", "."};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t v;
        char err[128];
        if (!query_parse_duration(bad[i], &v, err, sizeof err))
            fprintf(stderr, "accepted %s\n", bad[i]);
        assert_int_equal(query_parse_duration(bad[i], &v, err, sizeof err), -1);
        assert_true(err[0] != '\0');
    }
}

static void test_query_parse_rfc3339(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        uint64_t ns;
    } ok[] = {
        {"1970-01-01T00:00:00Z", 0},
        {"2024-02-29T12:00:00Z", 1709208000ull * 1000000000ull},
        {"2024-02-29T12:00:00.123456789Z", 1709208000ull * 1000000000ull + 123456789},
        {"2024-02-29T12:00:00.5+01:30", (1709208000ull - 5400) * 1000000000ull + 500000000},
        {"2024-02-29t11:00:00-01:00", 1709208000ull * 1000000000ull},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint64_t v = 1;
        char err[128];
        assert_int_equal(query_parse_rfc3339(ok[i].s, &v, err, sizeof err), 0);
        assert_int_equal(v, ok[i].ns);
    }
    const char *bad[] = {"2023-02-29T00:00:00Z", "2024-01-01T24:00:00Z", "2024-01-01T00:00:00",
                         "1969-12-31T23:59:59Z", "2024-01-01T00:00:00.Z", "2024-01-01", "1700000000",
                         "2024-01-01T00:00:00Zjunk"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t v;
        char err[128];
        if (!query_parse_rfc3339(bad[i], &v, err, sizeof err))
            fprintf(stderr, "accepted %s\n", bad[i]);
        assert_int_equal(query_parse_rfc3339(bad[i], &v, err, sizeof err), -1);
    }
}

static void test_query_parse_ids_and_paths(void **state)
{
    (void)state;
    uint8_t id[16];
    char err[128];
    assert_int_equal(query_parse_trace_id("abc", 3, id, err, sizeof err), 0);
    assert_int_equal(id[15], 0xbc);
    assert_int_equal(id[14], 0x0a);
    assert_int_equal(id[0], 0);
    assert_int_equal(query_parse_trace_id("", 0, id, err, sizeof err), -1);
    assert_int_equal(query_parse_trace_id("g", 1, id, err, sizeof err), -1);
    char *p = query_path_decode("a%20b%2Fc", 9);
    assert_string_equal(p, "a b/c");
    free(p);
    p = query_path_decode("a%2", 3);
    assert_string_equal(p, "a%2");
    free(p);
    p = query_path_decode("50%off", 6);
    assert_string_equal(p, "50%off");
    free(p);
    assert_null(query_path_decode("a%00", 4));
    assert_int_equal(query_parse_kind("SPAN_KIND_CLIENT"), 3);
    assert_int_equal(query_parse_kind("Consumer"), 5);
    assert_int_equal(query_parse_kind(""), -1);
    assert_int_equal(query_parse_kind("nope"), -2);
}

/* ---- a big trace ------------------------------------------------------------------------- */

enum { BIG_NS = 50000, BIG_NSVC = 20 };
static const uint8_t TBIG[16] = {0xb1, 0x6b, 0x16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x50};

/* 50,000 spans of 10 attributes over 20 services, a tree of fan-out 4. */
static stitch_span_data_t *big_trace(void)
{
    stitch_span_data_t *spans = calloc(BIG_NS, sizeof *spans);
    static stitch_attr_t res[BIG_NSVC][2];
    static char svc[BIG_NSVC][16];
    static const stitch_attr_t attrs[] = {
        {"http.method", {STITCH_VALUE_STRING, 3, {.str = "GET"}}},
        {"http.route", {STITCH_VALUE_STRING, 17, {.str = "/api/items/{id}/x"}}},
        {"http.status_code", {STITCH_VALUE_INT, 0, {.i = 200}}},
        {"net.peer.name", {STITCH_VALUE_STRING, 9, {.str = "10.0.0.17"}}},
        {"user.id", {STITCH_VALUE_STRING, 6, {.str = "u-1234"}}},
        {"retry", {STITCH_VALUE_BOOL, 0, {.b = false}}},
        {"size", {STITCH_VALUE_INT, 0, {.i = 52311}}},
        {"ratio", {STITCH_VALUE_DOUBLE, 0, {.d = 0.731}}},
        {"component", {STITCH_VALUE_STRING, 4, {.str = "http"}}},
        {"thread.name", {STITCH_VALUE_STRING, 8, {.str = "worker-3"}}},
    };
    for (int i = 0; i < BIG_NSVC; i++) {
        snprintf(svc[i], sizeof svc[i], "big-%02d", i);
        res[i][0] = stitch_attr_str("service.name", svc[i]);
        res[i][1] = stitch_attr_str("host.name", "node-a");
    }
    uint64_t t0 = G->t0 + 500 * MS;
    for (int i = 0; i < BIG_NS; i++) {
        stitch_span_data_t *d = &spans[i];
        memcpy(d->ctx.trace_id, TBIG, 16);
        d->ctx.span_id[0] = 0x77;
        d->ctx.span_id[4] = (uint8_t)(i >> 16), d->ctx.span_id[5] = (uint8_t)(i >> 8), d->ctx.span_id[6] = (uint8_t)i;
        d->ctx.span_id[7] = 1;
        d->ctx.flags = 1;
        if (i) {
            int p = (i - 1) / 4;
            d->parent_span_id[0] = 0x77;
            d->parent_span_id[4] = (uint8_t)(p >> 16), d->parent_span_id[5] = (uint8_t)(p >> 8);
            d->parent_span_id[6] = (uint8_t)p, d->parent_span_id[7] = 1;
        }
        d->name = "GET /api/items/{id}";
        d->kind = STITCH_SPAN_KIND_SERVER;
        d->start_ns = t0 + (uint64_t)i * 1000;
        d->end_ns = d->start_ns + 250000;
        d->attrs = attrs;
        d->nattrs = N(attrs);
        d->status_message = "";
        d->resource = res[i % BIG_NSVC];
        d->nresource = 2;
        d->scope = &scope_http;
    }
    return spans;
}

static double since(const struct timespec *a)
{
    struct timespec z;
    clock_gettime(CLOCK_MONOTONIC, &z);
    return (double)(z.tv_sec - a->tv_sec) + (double)(z.tv_nsec - a->tv_nsec) / 1e9;
}

/* The Jaeger writer alone, straight from span records, timed (best of 3). */
static void test_query_big_trace_render(void **state)
{
    (void)state;
    stitch_span_data_t *spans = big_trace();
    query_trace_t t = {spans, BIG_NS, {0}};
    memcpy(t.trace_id, TBIG, 16);
    double best = 1e9;
    size_t bytes = 0;
    for (int rep = 0; rep < 3; rep++) {
        stitch_buf_t b = STITCH_BUF_INIT(0);
        struct timespec a;
        clock_gettime(CLOCK_MONOTONIC, &a);
        assert_int_equal(query_jaeger_write_trace(&b, &t), 0);
        double sec = since(&a);
        if (sec < best)
            best = sec;
        bytes = b.len;
        if (rep == 0) {
            json_error_t err;
            json_t *j = json_loadb((const char *)b.data, b.len, JSON_REJECT_DUPLICATES, &err);
            assert_non_null(j);
            assert_int_equal(json_array_size(jget(j, "spans")), BIG_NS);
            assert_int_equal(json_object_size(jget(j, "processes")), BIG_NSVC);
            json_decref(j);
        }
        stitch_buf_free(&b);
    }
    printf("[ info ] Jaeger JSON writer, %d-span trace: %.1f ms (%.0f ns/span), %.1f MB\n", BIG_NS,
           best * 1e3, best * 1e9 / BIG_NS, (double)bytes / 1e6);
    free(spans);
}

/* The same trace through the store and every API's trace endpoint. */
static void test_query_big_trace_end_to_end(void **state)
{
    (void)state;
    stitch_span_data_t *spans = big_trace();
    const stitch_span_data_t **p = malloc(BIG_NS * sizeof *p);
    for (int i = 0; i < BIG_NS; i++)
        p[i] = &spans[i];
    for (int i = 0; i < BIG_NS; i += 5000)
        assert_int_equal(stitch_store_append(G->store, p + i, 5000), 0);
    free(p);
    free(spans);
    double best = 1e9;
    for (int rep = 0; rep < 3; rep++) { /* the store's part */
        stitch_store_result_t r;
        stitch_store_result_init(&r);
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        assert_int_equal(stitch_store_get_trace(G->store, TBIG, &r), 0);
        double sec = since(&t0);
        best = sec < best ? sec : best;
        assert_int_equal(r.batch.nspans, BIG_NS);
        stitch_store_result_free(&r);
    }
    printf("[ info ] stitch_store_get_trace alone, %d spans: %.1f ms\n", BIG_NS, best * 1e3);
    static const struct {
        const char *prefix, *what;
    } eps[] = {
        {"/api/traces/", "Jaeger v1"},
        {"/api/v3/traces/", "Jaeger v3 (OTLP/JSON)"},
        {"/api/v2/trace/", "Zipkin v2"},
    };
    for (size_t e = 0; e < 3; e++) {
        char path[96];
        snprintf(path, sizeof path, "%sb16b1600000000000000000000000050", eps[e].prefix);
        struct kv a = {(const char *const[]){NULL}};
        stitchd_query_args_t qa = {kv_get, kv_each, &a};
        double best = 1e9;
        size_t len = 0;
        for (int rep = 0; rep < 3; rep++) {
            stitchd_query_resp_t r = {0};
            struct timespec t0;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            assert_int_equal(stitchd_query_answer(G->store, path, &qa, &r), 1);
            double sec = since(&t0);
            assert_int_equal(r.status, 200);
            if (sec < best)
                best = sec;
            len = r.len;
            if (rep == 0) {
                json_error_t err;
                json_t *j = json_loadb(r.body, r.len, 0, &err);
                assert_non_null(j);
                json_t *list = e == 0 ? jget(json_array_get(jget(j, "data"), 0), "spans") : j;
                if (e == 1) {
                    int nres;
                    char names[32][32];
                    assert_int_equal(otlp_spans(jget(j, "result"), &nres, names), BIG_NS);
                    assert_int_equal(nres, BIG_NSVC);
                } else {
                    assert_int_equal(json_array_size(list), BIG_NS);
                }
                json_decref(j);
            }
            stitchd_query_resp_free(&r);
        }
        printf("[ info ] %s, %d-span trace from the store: %.1f ms, %.1f MB\n", eps[e].what, BIG_NS,
               best * 1e3, (double)len / 1e6);
    }
}

/* Status conditions are the store's own (status_mask), so `limit` is exact
 * however rare the errors: the three error traces are the oldest of 40
 * (the old post-filter fetched 4 x limit recent traces and found none). */
static void test_query_status_search_exact_limit(void **state)
{
    (void)state;
    static const stitch_attr_t r_ledger[] = {{"service.name", {STITCH_VALUE_STRING, 6, {.str = "ledger"}}}};
    enum { NT = 40 };
    stitch_span_data_t s[2 * NT];
    const stitch_span_data_t *p[2 * NT];
    uint64_t t0 = G->t0 + 500 * MS;
    for (int i = 0; i < NT; i++) {
        uint8_t tid[16] = {0xe7};
        tid[15] = (uint8_t)(i + 1);
        s[2 * i] = mk(tid, 1, 0, "post", STITCH_SPAN_KIND_SERVER, t0 + (uint64_t)i * MS, 3 * MS, r_ledger, 1);
        s[2 * i].status = STITCH_STATUS_OK;
        s[2 * i + 1] = mk(tid, 2, 1, "write", STITCH_SPAN_KIND_CLIENT, t0 + (uint64_t)i * MS + 1000, MS, r_ledger, 1);
        if (i < 3) {
            s[2 * i + 1].status = STITCH_STATUS_ERROR;
            s[2 * i + 1].status_message = "disk";
        }
    }
    for (int i = 0; i < 2 * NT; i++)
        p[i] = &s[i];
    assert_int_equal(stitch_store_append(G->store, p, 2 * NT), 0);

    struct answer a = CALL("/api/traces", "service", "ledger", "tags", "{\"error\":\"true\"}", "limit", "2");
    json_t *d = v1_data(&a, 2);
    assert_string_equal(jstr(json_array_get(d, 0), "traceID"), "e7000000000000000000000000000003");
    assert_string_equal(jstr(json_array_get(d, 1), "traceID"), "e7000000000000000000000000000002");
    done(&a);
    a = CALL("/api/traces", "service", "ledger", "tag", "otel.status_code:ERROR", "limit", "5");
    v1_data(&a, 3);
    done(&a);
    a = CALL("/api/traces", "service", "ledger", "tag", "otel.status_code:unset", "limit", "5");
    v1_data(&a, 5); /* the write spans without a status */
    done(&a);
    /* both on one span: contradictory, nothing */
    a = CALL("/api/traces", "service", "ledger", "tag", "otel.status_code:OK", "tag", "error:true");
    v1_data(&a, 0);
    done(&a);
    /* with a post-filter condition as well (error=<message> is Zipkin's) */
    a = CALL("/api/traces", "service", "ledger", "tag", "error:true", "tag", "otel.status_description:disk",
             "limit", "3");
    v1_data(&a, 3);
    done(&a);
    a = CALL("/api/v2/traces", "serviceName", "ledger", "annotationQuery", "error", "limit", "2");
    assert_int_equal(a.status, 200);
    assert_int_equal(json_array_size(a.json), 2);
    done(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_paths_not_ours),
        cmocka_unit_test(test_query_unknown_api_paths),
        cmocka_unit_test(test_query_v1_services),
        cmocka_unit_test(test_query_v1_operations),
        cmocka_unit_test(test_query_v1_trace),
        cmocka_unit_test(test_query_ui_trace),
        cmocka_unit_test(test_query_v1_trace_64bit),
        cmocka_unit_test(test_query_v1_trace_errors),
        cmocka_unit_test(test_query_v1_search),
        cmocka_unit_test(test_query_v1_search_by_ids),
        cmocka_unit_test(test_query_v1_search_validation),
        cmocka_unit_test(test_query_v1_dependencies),
        cmocka_unit_test(test_query_v3_services_operations),
        cmocka_unit_test(test_query_v3_trace),
        cmocka_unit_test(test_query_v3_search),
        cmocka_unit_test(test_query_zipkin_lists),
        cmocka_unit_test(test_query_zipkin_trace),
        cmocka_unit_test(test_query_zipkin_search),
        cmocka_unit_test(test_query_zipkin_dependencies),
        cmocka_unit_test(test_query_parse_duration),
        cmocka_unit_test(test_query_parse_rfc3339),
        cmocka_unit_test(test_query_parse_ids_and_paths),
        cmocka_unit_test(test_query_big_trace_render),
        cmocka_unit_test(test_query_big_trace_end_to_end),
        cmocka_unit_test(test_query_status_search_exact_limit), /* adds traces: last */
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
