/* Zipkin v2 JSON encoder (wire/zipkin_json.c): spans made through the
 * public SDK are encoded, parsed back with jansson (duplicate keys
 * rejected) and compared with OpenTelemetry's Zipkin mapping field by
 * field: kinds, µs times, ids, service name, remote endpoints, tags as
 * strings, status tags, events as annotations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "tests/unit/wire_fixture.h"
#include "wire/wire.h"


static json_t *encode(const stitch_span_data_t *const *spans, size_t n)
{
    stitch_buf_t b = STITCH_BUF_INIT(0);
    assert_int_equal(stitch_wire_zipkin_json_encode(spans, n, &b), 0);
    json_error_t err;
    json_t *j = json_loadb((const char *)b.data, b.len, JSON_REJECT_DUPLICATES, &err);
    if (!j)
        fprintf(stderr, "json error: %s: %.*s\n", err.text, (int)b.len, (const char *)b.data);
    assert_non_null(j);
    assert_true(json_is_array(j));
    assert_int_equal(json_array_size(j), n);
    stitch_buf_free(&b);
    return j;
}

static const char *jstr(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!v)
        fprintf(stderr, "missing key %s\n", key);
    assert_non_null(v);
    assert_true(json_is_string(v));
    return json_string_value(v);
}

static json_int_t jint(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    assert_non_null(v);
    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

static void hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

static void test_wire_zipkin_mapping(void **state)
{
    struct wfx *f = *state;
    json_t *root = encode(f->spans, 5);
    /* a flat list in the input's order */
    json_t *s1 = json_array_get(root, 0), *s2 = json_array_get(root, 1), *s3 = json_array_get(root, 2);
    json_t *s4 = json_array_get(root, 3), *s5 = json_array_get(root, 4);
    char h[33];

    /* s1: SERVER, remote parent, error */
    assert_string_equal(jstr(s1, "traceId"), "0102030405060708090a0b0c0d0e0f10");
    hex(f->spans[0]->ctx.span_id, 8, h);
    assert_string_equal(jstr(s1, "id"), h);
    assert_string_equal(jstr(s1, "parentId"), "a1a2a3a4a5a6a7a8");
    assert_string_equal(jstr(s1, "name"), "GET /cart");
    assert_string_equal(jstr(s1, "kind"), "SERVER");
    assert_true(jint(s1, "timestamp") == 1700000000123456ll);
    assert_true(jint(s1, "duration") == 250000);
    json_t *le = json_object_get(s1, "localEndpoint");
    assert_string_equal(jstr(le, "serviceName"), "cart");
    assert_int_equal(json_object_size(le), 1);
    assert_null(json_object_get(s1, "remoteEndpoint")); /* SERVER: none */
    json_t *an = json_object_get(s1, "annotations");
    assert_int_equal(json_array_size(an), 1);
    assert_true(jint(json_array_get(an, 0), "timestamp") == 1700000000123457ll);
    assert_string_equal(jstr(json_array_get(an, 0), "value"), "\"cache miss\":{\"key\":\"k1\",\"size\":7}");
    json_t *tg = json_object_get(s1, "tags");
    assert_non_null(tg);
    assert_string_equal(jstr(tg, "http.route"), "/cart");
    assert_string_equal(jstr(tg, "http.response.status_code"), "200");
    assert_string_equal(jstr(tg, "neg"), "-42");
    assert_string_equal(jstr(tg, "ratio"), "0.25");
    assert_string_equal(jstr(tg, "cache.hit"), "true");
    assert_string_equal(jstr(tg, "tags"), "[\"a\",\"b\\\"c\"]");
    assert_string_equal(jstr(tg, "flags"), "[true,false]");
    assert_string_equal(jstr(tg, "ints"), "[1,-2,3000000000]");
    assert_string_equal(jstr(tg, "doubles"), "[1.5,-0.5]");
    assert_string_equal(jstr(tg, "otel.scope.name"), "lib.one");
    assert_string_equal(jstr(tg, "otel.scope.version"), "1.0");
    assert_string_equal(jstr(tg, "otel.status_code"), "ERROR");
    assert_string_equal(jstr(tg, "error"), "boom \"quoted\"");
    assert_int_equal(json_object_size(tg), 13);
    assert_int_equal(json_object_size(s1), 10); /* no debug, shared, remoteEndpoint */

    /* s2: CLIENT; peer.service outranks server.address; OK; sub-µs duration */
    hex(f->spans[0]->ctx.span_id, 8, h);
    assert_string_equal(jstr(s2, "parentId"), h);
    assert_string_equal(jstr(s2, "kind"), "CLIENT");
    assert_true(jint(s2, "duration") == 1);
    json_t *re = json_object_get(s2, "remoteEndpoint");
    assert_non_null(re);
    assert_string_equal(jstr(re, "serviceName"), "cartdb");
    assert_int_equal(json_object_size(re), 1);
    tg = json_object_get(s2, "tags");
    assert_string_equal(jstr(tg, "otel.status_code"), "OK");
    assert_null(json_object_get(tg, "error"));
    assert_string_equal(jstr(tg, "otel.scope.name"), "lib.two");
    assert_null(json_object_get(tg, "otel.scope.version")); /* none given */
    assert_null(json_object_get(s2, "annotations"));

    /* s3: PRODUCER of the other resource; IPv4 peer with port */
    assert_null(json_object_get(s3, "parentId"));
    assert_string_equal(jstr(s3, "kind"), "PRODUCER");
    assert_string_equal(jstr(json_object_get(s3, "localEndpoint"), "serviceName"), "billing");
    re = json_object_get(s3, "remoteEndpoint");
    assert_string_equal(jstr(re, "ipv4"), "10.1.2.3");
    assert_int_equal(jint(re, "port"), 5672);
    assert_null(json_object_get(re, "serviceName"));
    assert_true(jint(s3, "duration") == 3000);
    assert_null(json_object_get(json_object_get(s3, "tags"), "otel.status_code"));

    /* s4: CONSUMER root, nothing optional */
    assert_string_equal(jstr(s4, "kind"), "CONSUMER");
    assert_null(json_object_get(s4, "parentId"));
    assert_null(json_object_get(s4, "remoteEndpoint"));
    assert_true(jint(s4, "duration") == 1); /* 1999 ns: whole µs, truncated */
    tg = json_object_get(s4, "tags");
    assert_int_equal(json_object_size(tg), 2); /* the scope only */

    /* s5: INTERNAL has no kind; dropped counts as tags */
    assert_null(json_object_get(s5, "kind"));
    tg = json_object_get(s5, "tags");
    assert_string_equal(jstr(tg, "a"), "1");
    assert_string_equal(jstr(tg, "b"), "2");
    assert_null(json_object_get(tg, "c"));
    assert_string_equal(jstr(tg, "otel.dropped_attributes_count"), "1");
    assert_string_equal(jstr(tg, "otel.dropped_events_count"), "1");
    assert_string_equal(jstr(tg, "otel.dropped_links_count"), "1");
    an = json_object_get(s5, "annotations");
    assert_int_equal(json_array_size(an), 1);
    assert_string_equal(jstr(json_array_get(an, 0), "value"), "\"e1\":{\"key\":\"k1\"}");
    json_decref(root);
}

/* error / otel.* attributes never duplicate the mapping's tags */
static void test_wire_zipkin_status_tags(void **state)
{
    (void)state;
    stitch_provider_t *p;
    stitch_processor_t *m;
    stitch_attr_t a[] = {stitch_attr_bool("error", false), stitch_attr_str("otel.status_code", "bogus"),
                         stitch_attr_str("otel.scope.name", "fake")};
    const stitch_span_data_t *d = one_span(&p, &m, "s", a, 3);
    assert_non_null(d);
    json_t *root = encode(&d, 1);
    json_t *tg = json_object_get(json_array_get(root, 0), "tags");
    assert_null(json_object_get(tg, "error"));          /* false error removed */
    assert_null(json_object_get(tg, "otel.status_code")); /* UNSET: none */
    assert_string_equal(jstr(tg, "otel.scope.name"), "x");
    assert_null(json_object_get(json_array_get(root, 0), "kind"));
    json_decref(root);
    stitch_provider_free(p);

    stitch_attr_t b[] = {stitch_attr_str("error", "true")};
    d = one_span(&p, &m, "s", b, 1);
    root = encode(&d, 1);
    tg = json_object_get(json_array_get(root, 0), "tags");
    assert_string_equal(jstr(tg, "error"), "true"); /* a truthy error attribute is kept */
    json_decref(root);
    stitch_provider_free(p);
}

static void test_wire_zipkin_remote_endpoints(void **state)
{
    (void)state;
    struct {
        stitch_attr_t a[2];
        size_t n;
        const char *key, *val;
        int port;
    } cases[] = {
        {{stitch_attr_str("network.peer.address", "::1"), stitch_attr_str("network.peer.port", "8443")}, 2, "ipv6", "::1", 8443},
        {{stitch_attr_str("peer.address", "db-host"), stitch_attr_str("db.name", "cart")}, 2, "serviceName", "db-host", 0},
        {{stitch_attr_str("db.name", "cart"), stitch_attr_str("net.peer.name", "api.example")}, 2, "serviceName", "api.example", 0},
        {{stitch_attr_int("peer.service", 5), stitch_attr_str("server.address", "s.example")}, 2, "serviceName", "s.example", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        stitch_provider_t *p;
        stitch_provider_opts_t o = {.no_env = true};
        assert_int_equal(stitch_provider_new(&p, &o), 0);
        stitch_processor_t *m = stitch_memory_processor_new(0);
        stitch_provider_add_processor(p, m);
        stitch_span_opts_t so = {.kind = STITCH_SPAN_KIND_CLIENT, .attrs = cases[i].a, .nattrs = cases[i].n};
        stitch_span_end(stitch_span_start(stitch_tracer(p, "x", NULL), "c", &so));
        const stitch_span_data_t *d = stitch_memory_processor_get(m, 0);
        json_t *root = encode(&d, 1);
        json_t *re = json_object_get(json_array_get(root, 0), "remoteEndpoint");
        assert_non_null(re);
        assert_string_equal(jstr(re, cases[i].key), cases[i].val);
        if (cases[i].port)
            assert_int_equal(jint(re, "port"), cases[i].port);
        else
            assert_null(json_object_get(re, "port"));
        assert_int_equal(json_object_size(re), cases[i].port ? 2 : 1);
        json_decref(root);
        stitch_provider_free(p);
    }
}

/* A 64-bit trace id (high half zero) goes out in its 16-digit form, as
 * Zipkin clients sent it; any other id keeps all 32 digits. */
static void test_wire_zipkin_64bit_trace_id(void **state)
{
    struct wfx *f = *state;
    stitch_span_data_t d = *f->spans[0];
    static const uint8_t id64[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0x46, 0x3a, 0xc3, 0x5c, 0x9f, 0x64, 0x13, 0xad};
    memcpy(d.ctx.trace_id, id64, 16);
    const stitch_span_data_t *p = &d;
    json_t *root = encode(&p, 1);
    assert_string_equal(jstr(json_array_get(root, 0), "traceId"), "463ac35c9f6413ad");
    json_decref(root);
    d.ctx.trace_id[7] = 1; /* not 64-bit any more */
    root = encode(&p, 1);
    assert_string_equal(jstr(json_array_get(root, 0), "traceId"), "0000000000000001463ac35c9f6413ad");
    json_decref(root);
}

static void test_wire_zipkin_escaping_doubles_empty_limit(void **state)
{
    struct wfx *f = *state;
    stitch_provider_t *p;
    stitch_processor_t *m;
    static const double dd[] = {NAN, -INFINITY};
    stitch_attr_t a[] = {stitch_attr_double("nan", NAN), stitch_attr_double("inf", INFINITY),
                         stitch_attr_str("bad", "a\xff\"\n"),
                         {"darr", {STITCH_VALUE_DOUBLE_ARRAY, 2, {.doubles = dd}}}};
    const stitch_span_data_t *d = one_span(&p, &m, "n\x01\xc3", a, 4);
    json_t *root = encode(&d, 1);
    json_t *s = json_array_get(root, 0);
    assert_string_equal(jstr(s, "name"), "n\x01\xef\xbf\xbd");
    json_t *tg = json_object_get(s, "tags");
    assert_string_equal(jstr(tg, "nan"), "NaN");
    assert_string_equal(jstr(tg, "inf"), "Infinity");
    assert_string_equal(jstr(tg, "bad"), "a\xef\xbf\xbd\"\n");
    assert_string_equal(jstr(tg, "darr"), "[\"NaN\",\"-Infinity\"]");
    /* the SDK's default service.name, unknown_service:<program> */
    assert_int_equal(strncmp(jstr(json_object_get(s, "localEndpoint"), "serviceName"), "unknown_service:", 16), 0);
    json_decref(root);
    stitch_provider_free(p);

    stitch_buf_t b = STITCH_BUF_INIT(0);
    assert_int_equal(stitch_wire_zipkin_json_encode(f->spans, 0, &b), 0);
    assert_int_equal(b.len, 2);
    assert_memory_equal(b.data, "[]", 2);
    stitch_buf_reset(&b);
    assert_int_equal(stitch_wire_zipkin_json_encode(f->spans, 5, &b), 0);
    stitch_buf_t exact = STITCH_BUF_INIT(b.len), less = STITCH_BUF_INIT(b.len - 1);
    assert_int_equal(stitch_wire_zipkin_json_encode(f->spans, 5, &exact), 0);
    assert_memory_equal(exact.data, b.data, b.len);
    assert_int_equal(stitch_wire_zipkin_json_encode(f->spans, 5, &less), STITCH_ELIMIT);
    stitch_buf_free(&exact);
    stitch_buf_free(&less);
    stitch_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_wire_zipkin_mapping, wfx_setup, wfx_teardown),
        cmocka_unit_test_setup_teardown(test_wire_zipkin_64bit_trace_id, wfx_setup, wfx_teardown),
        cmocka_unit_test(test_wire_zipkin_status_tags),
        cmocka_unit_test(test_wire_zipkin_remote_endpoints),
        cmocka_unit_test_setup_teardown(test_wire_zipkin_escaping_doubles_empty_limit, wfx_setup, wfx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
