/* Integration test of the OTLP/HTTP exporter against a real HTTP server
 * standing in for the collector (export_sink.h): what goes on the wire
 * (protobuf and JSON bodies decoded back to the spans sent, gzip, headers,
 * endpoint rules from the environment), the retry policy (503 then 200,
 * Retry-After on 429, no retry on 400), partial success, a collector that
 * is down (span calls stay fast, shutdown stays within its timeout), and
 * stitch_init_from_env in a real program (examples/export_demo.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <jansson.h>

#include "stitch/export.h"
#include "stitch/stitch.h"
#include "tests/integration/export_sink.h"
#include "tests/integration/log_capture.h"

#ifndef STITCH_BIN_DIR
#define STITCH_BIN_DIR "build/bin"
#endif

/* ---- spans to send ---- */

static stitch_provider_t *prov;
static stitch_processor_t *mem;
static const stitch_span_data_t *spans[3];

static void make_spans(void)
{
    stitch_attr_t res[] = {stitch_attr_str("service.name", "otlp-test")};
    stitch_provider_opts_t po = {.resource = res, .nresource = 1, .no_env = true};
    assert_int_equal(stitch_provider_new(&prov, &po), 0);
    mem = stitch_memory_processor_new(0);
    assert_int_equal(stitch_provider_add_processor(prov, mem), 0);
    stitch_tracer_t *t = stitch_tracer(prov, "shop", "1.0");
    stitch_span_opts_t so = {.kind = STITCH_SPAN_KIND_SERVER};
    stitch_span_t *root = stitch_span_start(t, "POST /cart", &so);
    (void)stitch_span_set_str(root, "http.request.method", "POST");
    (void)stitch_span_set_int(root, "http.response.status_code", 201);
    stitch_scope_t sc = stitch_scope_push(root);
    stitch_span_t *db = stitch_span_start(t, "SELECT cart", NULL);
    (void)stitch_span_set_str(db, "db.system", "sqlite");
    stitch_span_end(db);
    stitch_span_t *c = stitch_span_start(t, "charge", NULL);
    stitch_span_set_status(c, STITCH_STATUS_ERROR, "card declined");
    stitch_span_end(c);
    stitch_scope_pop(sc);
    stitch_span_end(root);
    assert_int_equal(stitch_memory_processor_count(mem), 3);
    for (size_t i = 0; i < 3; i++)
        spans[i] = stitch_memory_processor_get(mem, i);
}

static int setup(void **state)
{
    (void)state;
    clear_env();
    loglen = 0;
    logbuf[0] = 0;
    stitch_set_logger(logger, NULL);
    if (sink_start())
        return -1;
    make_spans();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sink_stop();
    stitch_provider_free(prov);
    prov = NULL;
    stitch_set_logger(NULL, NULL);
    clear_env();
    return 0;
}

static stitch_exporter_t *exporter(int protocol, int gzip, const char *headers)
{
    char url[128];
    stitch_otlp_opts_t o = STITCH_OTLP_OPTS_INIT;
    o.endpoint = sink_url(url, sizeof url, "/v1/traces");
    o.protocol = protocol;
    o.gzip = gzip;
    o.headers = headers;
    o.no_env = true;
    stitch_exporter_t *e = NULL;
    assert_int_equal(stitch_otlp_exporter_new(&e, &o), 0);
    assert_non_null(e);
    return e;
}

static int export3(stitch_exporter_t *e)
{
    return stitch_exporter_export(e, spans, 3, 10000);
}

static bool bytes_eq(ProtobufCBinaryData b, const uint8_t *p, size_t n)
{
    return b.len == n && memcmp(b.data, p, n) == 0;
}

/* The three spans of make_spans(), exactly, in a decoded request. */
static void check_pb(const pb_req_t *r)
{
    assert_non_null(r);
    assert_int_equal(pb_count(r, NULL), 3);
    const pb_resource_t *res = NULL;
    const pb_span_t *root = pb_find(r, "POST /cart", &res);
    const pb_span_t *db = pb_find(r, "SELECT cart", NULL);
    const pb_span_t *ch = pb_find(r, "charge", NULL);
    assert_non_null(root);
    assert_non_null(db);
    assert_non_null(ch);
    assert_non_null(res);
    assert_string_equal(pb_str(pb_attr(res->attributes, res->n_attributes, "service.name")),
                        "otlp-test");
    const stitch_span_data_t *sroot = spans[2], *sdb = spans[0];
    assert_true(bytes_eq(root->trace_id, sroot->ctx.trace_id, 16));
    assert_true(bytes_eq(root->span_id, sroot->ctx.span_id, 8));
    assert_int_equal(root->parent_span_id.len, 0);
    assert_true(bytes_eq(db->trace_id, sroot->ctx.trace_id, 16));
    assert_true(bytes_eq(db->span_id, sdb->ctx.span_id, 8));
    assert_true(bytes_eq(db->parent_span_id, sroot->ctx.span_id, 8));
    assert_int_equal(root->kind, 2);
    assert_int_equal(root->start_time_unix_nano, sroot->start_ns);
    assert_int_equal(root->end_time_unix_nano, sroot->end_ns);
    assert_string_equal(pb_str(pb_attr(root->attributes, root->n_attributes,
                                       "http.request.method")), "POST");
    assert_int_equal(pb_int(pb_attr(root->attributes, root->n_attributes,
                                    "http.response.status_code")), 201);
    assert_string_equal(pb_str(pb_attr(db->attributes, db->n_attributes, "db.system")), "sqlite");
    assert_non_null(ch->status);
    assert_int_equal(ch->status->code, 2);
    assert_string_equal(ch->status->message, "card declined");
}

/* ---- what goes on the wire ---- */

static void test_otlp_protobuf_body(void **state)
{
    (void)state;
    stitch_exporter_t *e = exporter(STITCH_OTLP_HTTP_PROTOBUF, 0, NULL);
    assert_int_equal(export3(e), 0);
    assert_int_equal(sink_count(), 1);
    const sink_req_t *r = &sink.reqs[0];
    assert_string_equal(r->method, "POST");
    assert_string_equal(r->path, "/v1/traces");
    assert_string_equal(sink_header(r, "Content-Type"), "application/x-protobuf");
    assert_null(sink_header(r, "Content-Encoding"));
    pb_req_t *req = sink_decode_pb(r);
    check_pb(req);
    pb_free(req);
    /* a second export reuses the buffer and (keep-alive) the connection */
    assert_int_equal(export3(e), 0);
    assert_int_equal(sink_count(), 2);
    assert_int_equal(sink.reqs[1].len, sink.reqs[0].len);
    stitch_exporter_free(e);
}

static void hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

static json_t *json_span(json_t *root, const char *name, json_t **resource)
{
    size_t i, j, k;
    json_t *rs, *ss, *sp;
    json_array_foreach(json_object_get(root, "resourceSpans"), i, rs)
        json_array_foreach(json_object_get(rs, "scopeSpans"), j, ss)
            json_array_foreach(json_object_get(ss, "spans"), k, sp)
                if (strcmp(json_string_value(json_object_get(sp, "name")), name) == 0) {
                    if (resource)
                        *resource = json_object_get(rs, "resource");
                    return sp;
                }
    return NULL;
}

static json_t *json_attr(json_t *attrs, const char *key)
{
    size_t i;
    json_t *kv;
    json_array_foreach(attrs, i, kv)
        if (strcmp(json_string_value(json_object_get(kv, "key")), key) == 0)
            return json_object_get(kv, "value");
    return NULL;
}

static void test_otlp_json_body(void **state)
{
    (void)state;
    stitch_exporter_t *e = exporter(STITCH_OTLP_HTTP_JSON, 0, NULL);
    assert_int_equal(export3(e), 0);
    assert_int_equal(sink_count(), 1);
    const sink_req_t *r = &sink.reqs[0];
    assert_string_equal(sink_header(r, "Content-Type"), "application/json");
    json_error_t err;
    json_t *doc = json_loadb((const char *)r->body, r->len, 0, &err);
    assert_non_null(doc);
    json_t *res = NULL;
    json_t *root = json_span(doc, "POST /cart", &res);
    json_t *db = json_span(doc, "SELECT cart", NULL);
    assert_non_null(root);
    assert_non_null(db);
    assert_non_null(json_span(doc, "charge", NULL));
    assert_string_equal(json_string_value(json_object_get(
                            json_attr(json_object_get(res, "attributes"), "service.name"),
                            "stringValue")), "otlp-test");
    char tid[33], sid[17], pid[17];
    hex(spans[2]->ctx.trace_id, 16, tid);
    hex(spans[2]->ctx.span_id, 8, pid);
    hex(spans[0]->ctx.span_id, 8, sid);
    tid[32] = sid[16] = pid[16] = 0;
    assert_string_equal(json_string_value(json_object_get(root, "traceId")), tid);
    assert_string_equal(json_string_value(json_object_get(root, "spanId")), pid);
    assert_string_equal(json_string_value(json_object_get(db, "spanId")), sid);
    assert_string_equal(json_string_value(json_object_get(db, "parentSpanId")), pid);
    assert_int_equal(json_integer_value(json_object_get(root, "kind")), 2);
    char start[32];
    snprintf(start, sizeof start, "%" PRIu64, spans[2]->start_ns);
    json_t *st = json_object_get(root, "startTimeUnixNano");
    if (json_is_string(st))
        assert_string_equal(json_string_value(st), start);
    else
        assert_int_equal((uint64_t)json_integer_value(st), spans[2]->start_ns);
    json_t *code = json_object_get(json_attr(json_object_get(root, "attributes"),
                                             "http.response.status_code"), "intValue");
    assert_true(json_is_string(code) ? strcmp(json_string_value(code), "201") == 0
                                     : json_integer_value(code) == 201);
    assert_string_equal(json_string_value(json_object_get(
                            json_attr(json_object_get(db, "attributes"), "db.system"),
                            "stringValue")), "sqlite");
    json_decref(doc);
    stitch_exporter_free(e);
}

static void test_otlp_gzip(void **state)
{
    (void)state;
    stitch_exporter_t *e = exporter(STITCH_OTLP_HTTP_PROTOBUF, 1, NULL);
    assert_int_equal(export3(e), 0);
    assert_int_equal(export3(e), 0); /* the deflate state is reset and reused */
    assert_int_equal(sink_count(), 2);
    for (size_t i = 0; i < 2; i++) {
        const sink_req_t *r = &sink.reqs[i];
        assert_string_equal(sink_header(r, "Content-Encoding"), "gzip");
        assert_true(r->len >= 2 && r->body[0] == 0x1f && r->body[1] == 0x8b);
        pb_req_t *req = sink_decode_pb(r);
        check_pb(req);
        pb_free(req);
    }
    stitch_exporter_free(e);
}

/* ---- retries ---- */

static void test_otlp_retry_503_then_200(void **state)
{
    (void)state;
    sink_answer_t a[] = {{503, NULL, "busy", 4, "text/plain", 0}};
    sink_script(a, 1);
    stitch_exporter_t *e = exporter(STITCH_OTLP_HTTP_PROTOBUF, 0, NULL);
    assert_int_equal(export3(e), 0);
    assert_int_equal(sink_count(), 2);
    /* the same request again, accepted once */
    assert_int_equal(sink.reqs[0].len, sink.reqs[1].len);
    assert_memory_equal(sink.reqs[0].body, sink.reqs[1].body, sink.reqs[0].len);
    uint64_t gap = sink.reqs[1].t_ns - sink.reqs[0].t_ns;
    assert_true(gap >= 700000000ull); /* first backoff: 1 s +-20% */
    pb_req_t *req = sink_decode_pb(&sink.reqs[1]);
    check_pb(req);
    pb_free(req);
    usleep(100000);
    assert_int_equal(sink_count(), 2);
    stitch_exporter_free(e);
}

static void test_otlp_retry_after_429(void **state)
{
    (void)state;
    sink_answer_t a[] = {{429, "1", "", 0, "text/plain", 0}, {502, NULL, "", 0, "text/plain", 0}};
    sink_script(a, 2);
    stitch_exporter_t *e = exporter(STITCH_OTLP_HTTP_PROTOBUF, 0, NULL);
    assert_int_equal(export3(e), 0);
    assert_int_equal(sink_count(), 3);
    assert_true(sink.reqs[1].t_ns - sink.reqs[0].t_ns >= 1000000000ull);
    stitch_exporter_free(e);
}

static void test_otlp_retry_after_http_date(void **state)
{
    (void)state;
    /* an HTTP-date two seconds ahead (whole seconds: at least ~1 s away) */
    char date[64];
    time_t when = time(NULL) + 2;
    struct tm tm;
    gmtime_r(&when, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    sink_answer_t a[] = {{503, date, "", 0, "text/plain", 0}};
    sink_script(a, 1);
    stitch_exporter_t *e = exporter(STITCH_OTLP_HTTP_PROTOBUF, 0, NULL);
    assert_int_equal(export3(e), 0);
    assert_int_equal(sink_count(), 2);
    assert_true(sink.reqs[1].t_ns - sink.reqs[0].t_ns >= 900000000ull);
    stitch_exporter_free(e);
}

static void test_otlp_retry_after_past_timeout(void **state)
{
    (void)state;
    /* waiting as asked would pass the export timeout: give up at once */
    sink_answer_t a[] = {{429, "30", "", 0, "text/plain", 0}};
    sink_script(a, 1);
    stitch_exporter_t *e = exporter(STITCH_OTLP_HTTP_PROTOBUF, 0, NULL);
    uint64_t t0 = mono_ns();
    assert_int_not_equal(stitch_exporter_export(e, spans, 3, 2000), 0);
    assert_true(mono_ns() - t0 < 1500000000ull);
    assert_int_equal(sink_count(), 1);
    stitch_exporter_free(e);
}

static void test_otlp_400_not_retried(void **state)
{
    (void)state;
    static const char why[] = "{\"error\":\"bad span data\"}";
    sink_answer_t a[] = {{400, NULL, why, sizeof why - 1, "application/json", 0},
                         {500, NULL, "", 0, "text/plain", 0}};
    sink_script(a, 2);
    stitch_exporter_t *e = exporter(STITCH_OTLP_HTTP_PROTOBUF, 0, NULL);
    assert_int_equal(export3(e), STITCH_EIO);
    assert_int_equal(sink_count(), 1);
    assert_true(log_has("400"));
    assert_true(log_has("bad span data"));
    /* 500 is not retryable either */
    assert_int_equal(export3(e), STITCH_EIO);
    assert_int_equal(sink_count(), 2);
    usleep(200000);
    assert_int_equal(sink_count(), 2);
    stitch_exporter_free(e);
}

static void test_otlp_400_counted_by_batch(void **state)
{
    (void)state;
    sink_answer_t a[] = {{400, NULL, "", 0, "text/plain", 0}};
    sink_script(a, 1);
    stitch_provider_t *p;
    stitch_provider_opts_t po = {.no_env = true};
    assert_int_equal(stitch_provider_new(&p, &po), 0);
    stitch_batch_opts_t bo = {2048, 60000, 512, 5000};
    stitch_processor_t *bp = stitch_batch_processor_new(exporter(STITCH_OTLP_HTTP_PROTOBUF, 0, NULL), &bo);
    assert_non_null(bp);
    assert_int_equal(stitch_provider_add_processor(p, bp), 0);
    stitch_tracer_t *t = stitch_tracer(p, "t", NULL);
    for (int i = 0; i < 4; i++)
        stitch_span_end(stitch_span_start(t, "refused", NULL));
    (void)stitch_provider_force_flush(p, 5000); /* the export fails; the flush itself is done */
    stitch_batch_stats_t st;
    assert_int_equal(stitch_batch_processor_stats(bp, &st), 0);
    assert_int_equal(sink_count(), 1);
    assert_int_equal(st.failed, 4);
    assert_int_equal(st.exported, 0);
    stitch_provider_free(p);
    assert_int_equal(sink_count(), 1);
}

/* ---- configuration from the environment ---- */

static stitch_exporter_t *env_exporter(void)
{
    stitch_exporter_t *e = NULL;
    assert_int_equal(stitch_otlp_exporter_new(&e, NULL), 0);
    return e;
}

static void test_otlp_headers_env(void **state)
{
    (void)state;
    char url[128];
    setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", sink_url(url, sizeof url, "/v1/traces"), 1);
    setenv("OTEL_EXPORTER_OTLP_HEADERS", "api-key=s3cr%20t%2Cx , x-tenant=acme,,", 1);
    stitch_exporter_t *e = env_exporter();
    assert_int_equal(export3(e), 0);
    assert_int_equal(sink_count(), 1);
    assert_string_equal(sink_header(&sink.reqs[0], "api-key"), "s3cr t,x");
    assert_string_equal(sink_header(&sink.reqs[0], "x-tenant"), "acme");
    stitch_exporter_free(e);

    /* the signal-specific variable wins; a malformed one is ignored with a warning */
    setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-only=traces", 1);
    e = env_exporter();
    assert_int_equal(export3(e), 0);
    assert_string_equal(sink_header(&sink.reqs[1], "x-only"), "traces");
    assert_null(sink_header(&sink.reqs[1], "x-tenant"));
    stitch_exporter_free(e);

    setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-bad=%zz,x-ok=1", 1);
    e = env_exporter();
    assert_true(log_has("OTEL_EXPORTER_OTLP_TRACES_HEADERS"));
    assert_int_equal(export3(e), 0);
    assert_null(sink_header(&sink.reqs[2], "x-ok"));
    assert_string_equal(sink_header(&sink.reqs[2], "x-tenant"), "acme"); /* the generic one */
    stitch_exporter_free(e);

    /* no header injection through percent-encoded CR LF */
    unsetenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS");
    setenv("OTEL_EXPORTER_OTLP_HEADERS", "a=b%0d%0aX-Injected: 1", 1);
    e = env_exporter();
    assert_int_equal(export3(e), 0);
    assert_null(sink_header(&sink.reqs[3], "X-Injected"));
    assert_null(sink_header(&sink.reqs[3], "a"));
    stitch_exporter_free(e);
}

static void test_otlp_endpoint_env(void **state)
{
    (void)state;
    char url[128];
    /* generic: "/v1/traces" appended with exactly one slash */
    setenv("OTEL_EXPORTER_OTLP_ENDPOINT", sink_url(url, sizeof url, ""), 1);
    stitch_exporter_t *e = env_exporter();
    assert_int_equal(export3(e), 0);
    stitch_exporter_free(e);
    setenv("OTEL_EXPORTER_OTLP_ENDPOINT", sink_url(url, sizeof url, "/collector/"), 1);
    e = env_exporter();
    assert_int_equal(export3(e), 0);
    stitch_exporter_free(e);
    /* signal-specific: as is, and it wins */
    setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", sink_url(url, sizeof url, "/custom/path"), 1);
    e = env_exporter();
    assert_int_equal(export3(e), 0);
    stitch_exporter_free(e);
    setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", sink_url(url, sizeof url, "/"), 1);
    e = env_exporter();
    assert_int_equal(export3(e), 0);
    stitch_exporter_free(e);
    /* an invalid one is ignored with a warning: the generic one applies */
    setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "localhost:4318", 1);
    e = env_exporter();
    assert_true(log_has("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"));
    assert_int_equal(export3(e), 0);
    stitch_exporter_free(e);
    assert_int_equal(sink_count(), 5);
    assert_string_equal(sink.reqs[0].path, "/v1/traces");
    assert_string_equal(sink.reqs[1].path, "/collector/v1/traces");
    assert_string_equal(sink.reqs[2].path, "/custom/path");
    assert_string_equal(sink.reqs[3].path, "/");
    assert_string_equal(sink.reqs[4].path, "/collector/v1/traces");

    /* code wins over the environment; a bad URL in code is an error */
    stitch_otlp_opts_t o = STITCH_OTLP_OPTS_INIT;
    o.endpoint = "ftp://example.com/";
    assert_int_equal(stitch_otlp_exporter_new(&e, &o), STITCH_EINVAL);
    assert_null(e);
}

static void test_otlp_protocol_env(void **state)
{
    (void)state;
    char url[128];
    setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", sink_url(url, sizeof url, "/v1/traces"), 1);
    setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", 1);
    stitch_exporter_t *e = env_exporter();
    assert_int_equal(export3(e), 0);
    stitch_exporter_free(e);
    setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc", 1);
    e = env_exporter();
    assert_true(log_has("grpc"));
    assert_int_equal(export3(e), 0);
    stitch_exporter_free(e);
    setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf", 1);
    setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip", 1);
    e = env_exporter();
    assert_int_equal(export3(e), 0);
    stitch_exporter_free(e);
    assert_int_equal(sink_count(), 3);
    assert_string_equal(sink_header(&sink.reqs[0], "Content-Type"), "application/json");
    assert_string_equal(sink_header(&sink.reqs[1], "Content-Type"), "application/x-protobuf");
    assert_string_equal(sink_header(&sink.reqs[2], "Content-Encoding"), "gzip");
    pb_req_t *req = sink_decode_pb(&sink.reqs[2]);
    check_pb(req);
    pb_free(req);
}

static void test_otlp_timeout_env(void **state)
{
    (void)state;
    /* OTEL_EXPORTER_OTLP_TIMEOUT bounds an export even when the caller allows more */
    sink_answer_t a[] = {{503, NULL, "", 0, NULL, 0}, {503, NULL, "", 0, NULL, 0},
                         {503, NULL, "", 0, NULL, 0}, {503, NULL, "", 0, NULL, 0}};
    sink_script(a, 4);
    char url[128];
    setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", sink_url(url, sizeof url, "/v1/traces"), 1);
    setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1500", 1);
    stitch_exporter_t *e = env_exporter();
    uint64_t t0 = mono_ns();
    int rc = stitch_exporter_export(e, spans, 3, 60000);
    uint64_t took = mono_ns() - t0;
    assert_true(rc == STITCH_ETIMEDOUT || rc == STITCH_EIO);
    assert_true(took < 1700000000ull);
    assert_true(sink_count() >= 1 && sink_count() <= 2);
    stitch_exporter_free(e);
    setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "soon", 1);
    e = env_exporter();
    assert_true(log_has("OTEL_EXPORTER_OTLP_TIMEOUT"));
    stitch_exporter_free(e);
}

/* ---- partial success ---- */

static void test_otlp_partial_success(void **state)
{
    (void)state;
    Opentelemetry__Proto__Collector__Trace__V1__ExportTracePartialSuccess ps =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_PARTIAL_SUCCESS__INIT;
    ps.rejected_spans = 2;
    ps.error_message = "spans too old";
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse resp =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_RESPONSE__INIT;
    resp.partial_success = &ps;
    uint8_t body[128];
    size_t n = opentelemetry__proto__collector__trace__v1__export_trace_service_response__pack(
        &resp, body);
    static const char jbody[] =
        "{\"partialSuccess\":{\"rejectedSpans\":\"1\",\"errorMessage\":\"json says no\"}}";
    sink_answer_t a[] = {{200, NULL, body, n, "application/x-protobuf", 0},
                         {200, NULL, jbody, sizeof jbody - 1, "application/json", 0}};
    sink_script(a, 2);
    stitch_exporter_t *e = exporter(STITCH_OTLP_HTTP_PROTOBUF, 0, NULL);
    assert_int_equal(export3(e), 0); /* accepted: not retried */
    stitch_exporter_free(e);
    assert_true(log_has("rejected 2 of 3"));
    assert_true(log_has("spans too old"));
    e = exporter(STITCH_OTLP_HTTP_JSON, 0, NULL);
    assert_int_equal(export3(e), 0);
    stitch_exporter_free(e);
    assert_true(log_has("rejected 1 of 3"));
    assert_true(log_has("json says no"));
    assert_int_equal(sink_count(), 2);
}

/* ---- a collector that is down ---- */

static void test_otlp_collector_down(void **state)
{
    (void)state;
    unsigned port = dead_port();
    assert_true(port != 0);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", port);
    setenv("OTEL_EXPORTER_OTLP_ENDPOINT", url, 1);
    setenv("OTEL_BSP_EXPORT_TIMEOUT", "2000", 1);
    setenv("OTEL_BSP_SCHEDULE_DELAY", "100", 1);
    stitch_provider_t *p;
    stitch_provider_opts_t po = {.no_env = false};
    assert_int_equal(stitch_provider_new(&p, &po), 0);
    stitch_exporter_t *e = env_exporter();
    stitch_processor_t *bp = stitch_batch_processor_new(e, NULL);
    assert_non_null(bp);
    assert_int_equal(stitch_provider_add_processor(p, bp), 0);
    stitch_tracer_t *t = stitch_tracer(p, "down", NULL);
    enum { N = 100000 };
    uint64_t t0 = mono_ns();
    for (int i = 0; i < N; i++) {
        stitch_span_t *s = stitch_span_start(t, "work", NULL);
        (void)stitch_span_set_int(s, "i", i);
        stitch_span_end(s);
    }
    /* the cost per span with the collector down is a figure of
     * bench_pipeline --sink down (bench/RESULTS.md), not asserted here */
    print_message("collector down: %.3f us per span (start+attr+end)\n",
                  (double)(mono_ns() - t0) / N / 1000.0);
    stitch_batch_stats_t st;
    assert_int_equal(stitch_batch_processor_stats(bp, &st), 0);
    assert_true(st.dropped > 0); /* the queue filled: dropped, not waited for */
    assert_true(st.queued + st.dropped == N); /* every span accounted for */
    /* memory bounded: at most the queue (2048) and one batch (512) in hand */
    assert_true(st.queued <= 2048 + 512 + st.exported + st.failed);
    uint64_t t1 = mono_ns();
    (void)stitch_provider_shutdown(p, 2000);
    double took = (double)(mono_ns() - t1) / 1e9;
    print_message("shutdown with the collector down: %.2f s\n", took);
    assert_true(took < 3.5);
    stitch_provider_free(p);
    assert_true(log_has("127.0.0.1"));
}

/* ---- stitch_init_from_env in a real program ---- */

static int run_demo(const char *const *env)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        clear_env();
        for (size_t i = 0; env[i]; i += 2)
            setenv(env[i], env[i + 1], 1);
        execl(STITCH_BIN_DIR "/stitch-export-demo", "stitch-export-demo", (char *)NULL);
        _exit(127);
    }
    return wait_child(pid, 30000);
}

static void test_otlp_init_from_env_demo(void **state)
{
    (void)state;
    char url[128];
    const char *env[] = {"OTEL_TRACES_EXPORTER", "otlp",
                         "OTEL_EXPORTER_OTLP_ENDPOINT", sink_url(url, sizeof url, ""),
                         "OTEL_SERVICE_NAME", "export-demo",
                         NULL};
    assert_int_equal(run_demo(env), 0);
    /* everything arrived before the program exited */
    size_t n = sink_count();
    assert_true(n >= 1);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(sink.reqs[i].path, "/v1/traces");
        pb_req_t *req = sink_decode_pb(&sink.reqs[i]);
        assert_non_null(req);
        total += pb_count(req, NULL);
        const pb_resource_t *res = NULL;
        if (pb_find(req, "checkout", &res))
            assert_string_equal(pb_str(pb_attr(res->attributes, res->n_attributes,
                                               "service.name")), "export-demo");
        pb_free(req);
    }
    assert_int_equal(total, 3);
}

static void test_otlp_init_two_exporters(void **state)
{
    (void)state;
    char url[128], zurl[128];
    const char *env[] = {"OTEL_TRACES_EXPORTER", "otlp, zipkin",
                         "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", sink_url(url, sizeof url, "/otlp"),
                         "OTEL_EXPORTER_ZIPKIN_ENDPOINT", sink_url(zurl, sizeof zurl, "/api/v2/spans"),
                         NULL};
    assert_int_equal(run_demo(env), 0);
    size_t otlp = 0, zipkin = 0;
    for (size_t i = 0; i < sink_count(); i++) {
        if (strcmp(sink.reqs[i].path, "/otlp") == 0)
            otlp++;
        else if (strcmp(sink.reqs[i].path, "/api/v2/spans") == 0)
            zipkin++;
    }
    assert_true(otlp >= 1);
    assert_true(zipkin >= 1);
}

static void test_otlp_init_disabled(void **state)
{
    (void)state;
    char url[128];
    const char *env[] = {"OTEL_SDK_DISABLED", "true",
                         "OTEL_EXPORTER_OTLP_ENDPOINT", sink_url(url, sizeof url, ""),
                         NULL};
    assert_int_equal(run_demo(env), 0);
    const char *env2[] = {"OTEL_TRACES_EXPORTER", "none",
                          "OTEL_EXPORTER_OTLP_ENDPOINT", sink_url(url, sizeof url, ""),
                          NULL};
    assert_int_equal(run_demo(env2), 0);
    usleep(100000);
    assert_int_equal(sink_count(), 0);
}

static void test_otlp_init_idempotent(void **state)
{
    (void)state;
    char url[128];
    setenv("OTEL_EXPORTER_OTLP_ENDPOINT", sink_url(url, sizeof url, ""), 1);
    setenv("OTEL_TRACES_EXPORTER", "otlp,bogus", 1);
    stitch_provider_t *a = NULL, *b = NULL;
    assert_int_equal(stitch_init_from_env(&a), 0);
    assert_int_equal(stitch_init_from_env(&b), 0);
    assert_non_null(a);
    assert_ptr_equal(a, b);
    assert_ptr_equal(stitch_global_provider(), a);
    assert_true(log_has("bogus"));
    stitch_tracer_t *t = stitch_global_tracer("idem", NULL);
    stitch_span_end(stitch_span_start(t, "once", NULL));
    assert_int_equal(stitch_shutdown(5000), 0);
    assert_null(stitch_global_provider());
    assert_int_equal(stitch_shutdown(5000), 0); /* again: nothing to do */
    assert_int_equal(sink_count(), 1);          /* one exporter despite "bogus" -> otlp */
    pb_req_t *req = sink_decode_pb(&sink.reqs[0]);
    assert_int_equal(pb_count(req, "once"), 1);
    pb_free(req);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_otlp_protobuf_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_otlp_json_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_otlp_gzip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_otlp_retry_503_then_200, setup, teardown),
        cmocka_unit_test_setup_teardown(test_otlp_retry_after_429, setup, teardown),
        cmocka_unit_test_setup_teardown(test_otlp_retry_after_http_date, setup, teardown),
        cmocka_unit_test_setup_teardown(test_otlp_retry_after_past_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_otlp_400_not_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_otlp_400_counted_by_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_otlp_headers_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_otlp_endpoint_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_otlp_protocol_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_otlp_timeout_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_otlp_partial_success, setup, teardown),
        cmocka_unit_test_setup_teardown(test_otlp_collector_down, setup, teardown),
        cmocka_unit_test_setup_teardown(test_otlp_init_from_env_demo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_otlp_init_two_exporters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_otlp_init_disabled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_otlp_init_idempotent, setup, teardown),
    };
    if (getenv("STITCH_TEST_FILTER")) /* e.g. STITCH_TEST_FILTER='*gzip*' */
        cmocka_set_test_filter(getenv("STITCH_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
