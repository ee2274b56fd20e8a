/* Integration test of the Zipkin v2 exporter against a real HTTP server
 * (export_sink.h): the request is POST /api/v2/spans with a JSON list in
 * the Zipkin v2 shape (ids, parentId, kind, integer microsecond times,
 * localEndpoint.serviceName, string tags), 202 is success, the endpoint and
 * timeout come from the environment, and the OTLP retry policy applies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>

#include "stitch/export.h"
#include "stitch/stitch.h"
#include "tests/integration/export_sink.h"

static stitch_provider_t *prov;
static const stitch_span_data_t *spans[3];

static int setup(void **state)
{
    (void)state;
    clear_env();
    if (sink_start())
        return -1;
    stitch_attr_t res[] = {stitch_attr_str("service.name", "zipkin-test")};
    stitch_provider_opts_t po = {.resource = res, .nresource = 1, .no_env = true};
    if (stitch_provider_new(&prov, &po))
        return -1;
    stitch_processor_t *mem = stitch_memory_processor_new(0);
    if (stitch_provider_add_processor(prov, mem))
        return -1;
    stitch_tracer_t *t = stitch_tracer(prov, "shop", "1.0");
    stitch_span_opts_t so = {.kind = STITCH_SPAN_KIND_SERVER};
    stitch_span_t *root = stitch_span_start(t, "POST /cart", &so);
    (void)stitch_span_set_int(root, "http.response.status_code", 201);
    stitch_scope_t sc = stitch_scope_push(root);
    stitch_span_opts_t co = {.kind = STITCH_SPAN_KIND_CLIENT};
    stitch_span_t *c = stitch_span_start(t, "GET /price", &co);
    (void)stitch_span_set_bool(c, "cache.hit", false);
    stitch_span_end(c);
    stitch_span_t *i = stitch_span_start(t, "compute total", NULL);
    stitch_span_set_status(i, STITCH_STATUS_ERROR, "overflow");
    stitch_span_end(i);
    stitch_scope_pop(sc);
    stitch_span_end(root);
    if (stitch_memory_processor_count(mem) != 3)
        return -1;
    for (size_t k = 0; k < 3; k++)
        spans[k] = stitch_memory_processor_get(mem, k);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sink_stop();
    stitch_provider_free(prov);
    prov = NULL;
    clear_env();
    return 0;
}

static stitch_exporter_t *exporter(void)
{
    char url[128];
    stitch_zipkin_opts_t o = {.endpoint = sink_url(url, sizeof url, "/api/v2/spans"),
                              .no_env = true};
    stitch_exporter_t *e = NULL;
    assert_int_equal(stitch_zipkin_exporter_new(&e, &o), 0);
    assert_non_null(e);
    return e;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
    out[2 * n] = 0;
}

static json_t *by_name(json_t *list, const char *name)
{
    size_t i;
    json_t *s;
    json_array_foreach(list, i, s)
        if (strcmp(json_string_value(json_object_get(s, "name")), name) == 0)
            return s;
    return NULL;
}

static void check_body(const sink_req_t *r)
{
    json_error_t err;
    json_t *list = json_loadb((const char *)r->body, r->len, 0, &err);
    assert_non_null(list);
    assert_true(json_is_array(list));
    assert_int_equal(json_array_size(list), 3);
    json_t *root = by_name(list, "POST /cart");
    json_t *cl = by_name(list, "GET /price");
    json_t *in = by_name(list, "compute total");
    assert_non_null(root);
    assert_non_null(cl);
    assert_non_null(in);
    char tid[33], rid[17], cid[17];
    hex(spans[2]->ctx.trace_id, 16, tid);
    hex(spans[2]->ctx.span_id, 8, rid);
    hex(spans[0]->ctx.span_id, 8, cid);
    assert_string_equal(json_string_value(json_object_get(root, "traceId")), tid);
    assert_int_equal(strlen(json_string_value(json_object_get(root, "traceId"))), 32);
    assert_string_equal(json_string_value(json_object_get(root, "id")), rid);
    assert_null(json_object_get(root, "parentId"));
    assert_string_equal(json_string_value(json_object_get(cl, "id")), cid);
    assert_string_equal(json_string_value(json_object_get(cl, "parentId")), rid);
    assert_string_equal(json_string_value(json_object_get(root, "kind")), "SERVER");
    assert_string_equal(json_string_value(json_object_get(cl, "kind")), "CLIENT");
    assert_null(json_object_get(in, "kind")); /* INTERNAL has no Zipkin kind */
    json_t *ts = json_object_get(root, "timestamp"), *du = json_object_get(root, "duration");
    assert_true(json_is_integer(ts));
    assert_true(json_is_integer(du));
    assert_int_equal((uint64_t)json_integer_value(ts), spans[2]->start_ns / 1000);
    uint64_t dur = (spans[2]->end_ns - spans[2]->start_ns) / 1000;
    assert_true((uint64_t)json_integer_value(du) >= (dur ? dur - 1 : 0) &&
                (uint64_t)json_integer_value(du) <= dur + 1);
    assert_string_equal(json_string_value(json_object_get(json_object_get(root, "localEndpoint"),
                                                          "serviceName")), "zipkin-test");
    json_t *tags = json_object_get(root, "tags");
    assert_string_equal(json_string_value(json_object_get(tags, "http.response.status_code")), "201");
    assert_string_equal(json_string_value(json_object_get(json_object_get(cl, "tags"),
                                                          "cache.hit")), "false");
    json_t *itags = json_object_get(in, "tags");
    assert_non_null(json_object_get(itags, "error"));
    assert_true(json_is_string(json_object_get(itags, "error")));
    /* every tag value is a string */
    size_t i;
    json_t *s;
    json_array_foreach(list, i, s) {
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(s, "tags"), k, v)
            assert_true(json_is_string(v));
    }
    json_decref(list);
}

static void test_zipkin_body(void **state)
{
    (void)state;
    sink_answer_t a[] = {{202, NULL, "", 0, "text/plain", 0}};
    sink_script(a, 1);
    stitch_exporter_t *e = exporter();
    assert_int_equal(stitch_exporter_export(e, spans, 3, 10000), 0);
    assert_int_equal(sink_count(), 1);
    const sink_req_t *r = &sink.reqs[0];
    assert_string_equal(r->method, "POST");
    assert_string_equal(r->path, "/api/v2/spans");
    assert_string_equal(sink_header(r, "Content-Type"), "application/json");
    check_body(r);
    stitch_exporter_free(e);
}

static void test_zipkin_retry_and_refusal(void **state)
{
    (void)state;
    sink_answer_t a[] = {{503, NULL, "", 0, NULL, 0}, {202, NULL, "", 0, NULL, 0},
                         {400, NULL, "bad json", 8, "text/plain", 0}};
    sink_script(a, 3);
    stitch_exporter_t *e = exporter();
    assert_int_equal(stitch_exporter_export(e, spans, 3, 10000), 0);
    assert_int_equal(sink_count(), 2);
    assert_memory_equal(sink.reqs[0].body, sink.reqs[1].body, sink.reqs[0].len);
    assert_int_equal(stitch_exporter_export(e, spans, 3, 10000), STITCH_EIO);
    usleep(200000);
    assert_int_equal(sink_count(), 3);
    stitch_exporter_free(e);
}

static void test_zipkin_env(void **state)
{
    (void)state;
    char url[128];
    setenv("OTEL_EXPORTER_ZIPKIN_ENDPOINT", sink_url(url, sizeof url, "/zipkin/api/v2/spans"), 1);
    setenv("OTEL_EXPORTER_ZIPKIN_TIMEOUT", "1200", 1);
    stitch_exporter_t *e = NULL;
    assert_int_equal(stitch_zipkin_exporter_new(&e, NULL), 0);
    assert_int_equal(stitch_exporter_export(e, spans, 3, 10000), 0);
    assert_int_equal(sink_count(), 1);
    assert_string_equal(sink.reqs[0].path, "/zipkin/api/v2/spans");
    check_body(&sink.reqs[0]);
    /* the timeout bounds an export: 503s until it runs out */
    sink_answer_t a[] = {{503, NULL, "", 0, NULL, 0}, {503, NULL, "", 0, NULL, 0},
                         {503, NULL, "", 0, NULL, 0}};
    sink_script(a, 3);
    uint64_t t0 = mono_ns();
    assert_int_not_equal(stitch_exporter_export(e, spans, 3, 10000), 0);
    assert_true(mono_ns() - t0 < 1400000000ull);
    stitch_exporter_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_zipkin_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zipkin_retry_and_refusal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zipkin_env, setup, teardown),
    };
    if (getenv("STITCH_TEST_FILTER")) /* e.g. STITCH_TEST_FILTER='*gzip*' */
        cmocka_set_test_filter(getenv("STITCH_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
