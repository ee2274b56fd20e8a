/* OTLP encoders (wire/otlp_proto.c, wire/otlp_json.c) and the response
 * reader (wire/otlp_response.c): spans made through the public SDK are
 * encoded, then decoded with independent libraries — protobuf-c for the
 * protobuf bytes, jansson for the JSON — and every field is compared with
 * exact values. Also the buffer's maximum, empty batches, JSON escaping
 * and invalid UTF-8, NaN and infinities. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"
#include "tests/unit/wire_fixture.h"
#include "wire/wire.h"

typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest Request;
typedef Opentelemetry__Proto__Trace__V1__Span Span;
typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;
typedef Opentelemetry__Proto__Common__V1__AnyValue AnyValue;
#define AV(x) OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_##x


/* ---- protobuf ------------------------------------------------------------------- */

static void check_anyvalue_scalar(const AnyValue *av, stitch_value_type_t t, const stitch_value_t *v, uint32_t i)
{
    switch (t) {
    case STITCH_VALUE_STRING:
        assert_int_equal(av->value_case, AV(STRING_VALUE));
        assert_string_equal(av->string_value, i == UINT32_MAX ? v->u.str : v->u.strs[i].ptr);
        break;
    case STITCH_VALUE_BOOL:
        assert_int_equal(av->value_case, AV(BOOL_VALUE));
        assert_int_equal(av->bool_value, i == UINT32_MAX ? v->u.b : v->u.bools[i]);
        break;
    case STITCH_VALUE_INT:
        assert_int_equal(av->value_case, AV(INT_VALUE));
        assert_true(av->int_value == (i == UINT32_MAX ? v->u.i : v->u.ints[i]));
        break;
    case STITCH_VALUE_DOUBLE:
        assert_int_equal(av->value_case, AV(DOUBLE_VALUE));
        assert_true(av->double_value == (i == UINT32_MAX ? v->u.d : v->u.doubles[i]));
        break;
    default:
        fail();
    }
}

/* A decoded KeyValue equals the SDK's attribute, deeply. */
static void check_kv(const KeyValue *kv, const stitch_attr_t *a)
{
    assert_string_equal(kv->key, a->key);
    assert_non_null(kv->value);
    stitch_value_type_t et = STITCH_VALUE_NONE;
    switch (a->value.type) {
    case STITCH_VALUE_STRING_ARRAY: et = STITCH_VALUE_STRING; break;
    case STITCH_VALUE_BOOL_ARRAY: et = STITCH_VALUE_BOOL; break;
    case STITCH_VALUE_INT_ARRAY: et = STITCH_VALUE_INT; break;
    case STITCH_VALUE_DOUBLE_ARRAY: et = STITCH_VALUE_DOUBLE; break;
    default: check_anyvalue_scalar(kv->value, a->value.type, &a->value, UINT32_MAX); return;
    }
    assert_int_equal(kv->value->value_case, AV(ARRAY_VALUE));
    assert_int_equal(kv->value->array_value->n_values, a->value.len);
    for (uint32_t i = 0; i < a->value.len; i++)
        check_anyvalue_scalar(kv->value->array_value->values[i], et, &a->value, i);
}

static void check_kvs(KeyValue **kv, size_t n, const stitch_attr_t *a, uint32_t na)
{
    assert_int_equal(n, na);
    for (size_t i = 0; i < n; i++)
        check_kv(kv[i], &a[i]);
}

static Request *encode_decode(const stitch_span_data_t *const *spans, size_t n, stitch_buf_t *b)
{
    assert_int_equal(stitch_wire_otlp_proto_encode(spans, n, b), 0);
    Request *r = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(NULL, b->len, b->data);
    assert_non_null(r);
    return r;
}

static void check_span_common(const Span *s, const stitch_span_data_t *d)
{
    assert_int_equal(s->trace_id.len, 16);
    assert_memory_equal(s->trace_id.data, d->ctx.trace_id, 16);
    assert_int_equal(s->span_id.len, 8);
    assert_memory_equal(s->span_id.data, d->ctx.span_id, 8);
    assert_string_equal(s->name, d->name);
    assert_true(s->start_time_unix_nano == d->start_ns);
    assert_true(s->end_time_unix_nano == d->end_ns);
    check_kvs(s->attributes, s->n_attributes, d->attrs, d->nattrs);
}

static void test_wire_otlp_proto_every_field(void **state)
{
    struct wfx *f = *state;
    stitch_buf_t b = STITCH_BUF_INIT(0);
    Request *r = encode_decode(f->spans, 5, &b);

    /* nesting: A{lib.one[s1,s4], lib.two[s2]}, B{lib.b[s3,s5]} */
    assert_int_equal(r->n_resource_spans, 2);
    Opentelemetry__Proto__Trace__V1__ResourceSpans *ra = r->resource_spans[0], *rb = r->resource_spans[1];
    size_t nres;
    const stitch_attr_t *res = stitch_provider_resource(f->pa, &nres);
    assert_true(nres >= 4);
    check_kvs(ra->resource->attributes, ra->resource->n_attributes, res, (uint32_t)nres);
    res = stitch_provider_resource(f->pb, &nres);
    check_kvs(rb->resource->attributes, rb->resource->n_attributes, res, (uint32_t)nres);
    /* and by literal value, so the test does not only compare the SDK with itself */
    int seen = 0;
    for (size_t i = 0; i < ra->resource->n_attributes; i++) {
        KeyValue *kv = ra->resource->attributes[i];
        if (!strcmp(kv->key, "service.name") && !strcmp(kv->value->string_value, "cart"))
            seen |= 1;
        if (!strcmp(kv->key, "host.cores") && kv->value->value_case == AV(INT_VALUE) && kv->value->int_value == 8)
            seen |= 2;
        if (!strcmp(kv->key, "deployment.environment.name") && !strcmp(kv->value->string_value, "test"))
            seen |= 4;
    }
    assert_int_equal(seen, 7);
    assert_string_equal(ra->schema_url, "");

    assert_int_equal(ra->n_scope_spans, 2);
    assert_string_equal(ra->scope_spans[0]->scope->name, "lib.one");
    assert_string_equal(ra->scope_spans[0]->scope->version, "1.0");
    assert_string_equal(ra->scope_spans[1]->scope->name, "lib.two");
    assert_string_equal(ra->scope_spans[1]->scope->version, "");
    assert_int_equal(ra->scope_spans[0]->n_spans, 2);
    assert_int_equal(ra->scope_spans[1]->n_spans, 1);
    assert_int_equal(rb->n_scope_spans, 1);
    assert_string_equal(rb->scope_spans[0]->scope->name, "lib.b");
    assert_string_equal(rb->scope_spans[0]->scope->version, "9");
    assert_int_equal(rb->scope_spans[0]->n_spans, 2);

    Span *s1 = ra->scope_spans[0]->spans[0], *s4 = ra->scope_spans[0]->spans[1];
    Span *s2 = ra->scope_spans[1]->spans[0];
    Span *s3 = rb->scope_spans[0]->spans[0], *s5 = rb->scope_spans[0]->spans[1];
    check_span_common(s1, f->spans[0]);
    check_span_common(s2, f->spans[1]);
    check_span_common(s3, f->spans[2]);
    check_span_common(s4, f->spans[3]);
    check_span_common(s5, f->spans[4]);

    /* s1 by literal values */
    assert_memory_equal(s1->trace_id.data, FX_TRACE, 16);
    assert_int_equal(s1->parent_span_id.len, 8);
    assert_memory_equal(s1->parent_span_id.data, FX_PARENT, 8);
    assert_string_equal(s1->trace_state, "vendor=abc,other=1");
    assert_string_equal(s1->name, "GET /cart");
    assert_int_equal(s1->kind, OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER);
    assert_true(s1->start_time_unix_nano == T0);
    assert_true(s1->end_time_unix_nano == T0 + 250000500);
    assert_int_equal(s1->flags, 0x301); /* sampled, has-is-remote, remote parent */
    assert_int_equal(s1->n_attributes, 9);
    assert_string_equal(s1->attributes[2]->key, "neg");
    assert_true(s1->attributes[2]->value->int_value == -42);
    assert_true(s1->attributes[3]->value->double_value == 0.25);
    assert_int_equal(s1->attributes[5]->value->array_value->n_values, 2);
    assert_string_equal(s1->attributes[5]->value->array_value->values[1]->string_value, "b\"c");
    assert_true(s1->attributes[7]->value->array_value->values[2]->int_value == 3000000000ll);
    assert_int_equal(s1->dropped_attributes_count, 0);
    assert_int_equal(s1->n_events, 1);
    assert_true(s1->events[0]->time_unix_nano == T0 + 1000);
    assert_string_equal(s1->events[0]->name, "cache miss");
    assert_int_equal(s1->events[0]->n_attributes, 2);
    assert_string_equal(s1->events[0]->attributes[0]->value->string_value, "k1");
    assert_true(s1->events[0]->attributes[1]->value->int_value == 7);
    assert_int_equal(s1->n_links, 1);
    assert_memory_equal(s1->links[0]->trace_id.data, FX_LTRACE, 16);
    assert_memory_equal(s1->links[0]->span_id.data, FX_LSPAN, 8);
    assert_string_equal(s1->links[0]->trace_state, "lk=v");
    assert_int_equal(s1->links[0]->n_attributes, 1);
    assert_string_equal(s1->links[0]->attributes[0]->key, "link.kind");
    assert_string_equal(s1->links[0]->attributes[0]->value->string_value, "follows");
    assert_int_equal(s1->links[0]->flags, 0x301);
    assert_non_null(s1->status);
    assert_int_equal(s1->status->code, OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR);
    assert_string_equal(s1->status->message, "boom \"quoted\"");

    /* s2: local child of s1, OK */
    assert_memory_equal(s2->trace_id.data, FX_TRACE, 16);
    assert_memory_equal(s2->parent_span_id.data, s1->span_id.data, 8);
    assert_int_equal(s2->kind, OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CLIENT);
    assert_int_equal(s2->flags, 0x101);
    assert_string_equal(s2->trace_state, "vendor=abc,other=1"); /* inherited */
    assert_int_equal(s2->status->code, OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_OK);
    assert_string_equal(s2->status->message, "");
    assert_int_equal(s2->n_events, 0);
    assert_int_equal(s2->n_links, 0);

    /* roots: no parent, no status */
    assert_int_equal(s3->parent_span_id.len, 0);
    assert_int_equal(s4->parent_span_id.len, 0);
    assert_null(s4->status);
    assert_int_equal(s3->kind, OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_PRODUCER);
    assert_int_equal(s4->kind, OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CONSUMER);
    assert_int_equal(s5->kind, OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_INTERNAL);
    assert_string_equal(s4->trace_state, "");
    assert_int_equal(s4->flags, 0x101);

    /* s5: dropped counts everywhere */
    assert_int_equal(s5->n_attributes, 2);
    assert_int_equal(s5->dropped_attributes_count, 1);
    assert_int_equal(s5->n_events, 1);
    assert_int_equal(s5->dropped_events_count, 1);
    assert_int_equal(s5->events[0]->n_attributes, 1);
    assert_int_equal(s5->events[0]->dropped_attributes_count, 1);
    assert_int_equal(s5->n_links, 1);
    assert_int_equal(s5->dropped_links_count, 1);
    assert_int_equal(s5->links[0]->n_attributes, 1);
    assert_int_equal(s5->links[0]->dropped_attributes_count, 1);
    assert_string_equal(s5->links[0]->trace_state, "");

    opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(r, NULL);
    stitch_buf_free(&b);
}

static void test_wire_otlp_proto_empty_and_limit(void **state)
{
    struct wfx *f = *state;
    stitch_buf_t b = STITCH_BUF_INIT(0);
    assert_int_equal(stitch_wire_otlp_proto_encode(f->spans, 0, &b), 0);
    assert_int_equal(b.len, 0); /* an empty ExportTraceServiceRequest */

    stitch_buf_t small = STITCH_BUF_INIT(100);
    assert_int_equal(stitch_wire_otlp_proto_encode(f->spans, 5, &small), STITCH_ELIMIT);
    assert_true(small.cap <= 100);
    stitch_buf_free(&small);

    /* exactly the size fits; one byte less does not */
    assert_int_equal(stitch_wire_otlp_proto_encode(f->spans, 5, &b), 0);
    stitch_buf_t exact = STITCH_BUF_INIT(b.len), less = STITCH_BUF_INIT(b.len - 1);
    assert_int_equal(stitch_wire_otlp_proto_encode(f->spans, 5, &exact), 0);
    assert_int_equal(exact.len, b.len);
    assert_memory_equal(exact.data, b.data, b.len);
    assert_int_equal(stitch_wire_otlp_proto_encode(f->spans, 5, &less), STITCH_ELIMIT);
    stitch_buf_free(&exact);
    stitch_buf_free(&less);
    stitch_buf_free(&b);
}

static void test_wire_otlp_proto_nan_and_bytes(void **state)
{
    (void)state;
    stitch_provider_t *p;
    stitch_processor_t *m;
    const char nul[] = {'x', 0, 'y'};
    stitch_attr_t a[] = {stitch_attr_double("nan", NAN), stitch_attr_double("inf", INFINITY),
                         stitch_attr_double("ninf", -INFINITY), stitch_attr_strn("nul", nul, 3),
                         stitch_attr_str("empty", ""), stitch_attr_int("zero", 0),
                         stitch_attr_bool("no", false)};
    const stitch_span_data_t *d = one_span(&p, &m, "edge", a, 7);
    assert_non_null(d);
    stitch_buf_t b = STITCH_BUF_INIT(0);
    Request *r = encode_decode(&d, 1, &b);
    Span *s = r->resource_spans[0]->scope_spans[0]->spans[0];
    assert_int_equal(s->n_attributes, 7);
    assert_true(isnan(s->attributes[0]->value->double_value));
    assert_true(isinf(s->attributes[1]->value->double_value) && s->attributes[1]->value->double_value > 0);
    assert_true(isinf(s->attributes[2]->value->double_value) && s->attributes[2]->value->double_value < 0);
    /* protobuf-c's char* stops at the NUL; the wire length must still be 3 */
    assert_string_equal(s->attributes[3]->value->string_value, "x");
    assert_non_null(memmem(b.data, b.len, "\x0a\x03x\0y", 5));
    /* zero values inside the oneof are present, not omitted */
    assert_int_equal(s->attributes[4]->value->value_case, AV(STRING_VALUE));
    assert_string_equal(s->attributes[4]->value->string_value, "");
    assert_int_equal(s->attributes[5]->value->value_case, AV(INT_VALUE));
    assert_int_equal(s->attributes[6]->value->value_case, AV(BOOL_VALUE));
    assert_int_equal(s->kind, OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_INTERNAL);
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(r, NULL);
    stitch_buf_free(&b);
    stitch_provider_free(p);
}

/* Many spans over several providers interleaved: every span comes out once,
 * grouped, in first-seen order. */
static void test_wire_otlp_proto_grouping_many(void **state)
{
    (void)state;
    enum { NP = 3, NS = 300 };
    stitch_provider_t *p[NP];
    stitch_processor_t *m[NP];
    const stitch_span_data_t *spans[NS];
    for (int i = 0; i < NP; i++) {
        char svc[16];
        snprintf(svc, sizeof svc, "svc%d", i);
        stitch_attr_t ra = stitch_attr_str("service.name", svc);
        stitch_provider_opts_t o = {.resource = &ra, .nresource = 1, .no_env = true};
        assert_int_equal(stitch_provider_new(&p[i], &o), 0);
        m[i] = stitch_memory_processor_new(0);
        stitch_provider_add_processor(p[i], m[i]);
    }
    for (int k = 0; k < NS; k++) {
        int pi = (k * 7) % NP;
        char scope[16], name[16];
        snprintf(scope, sizeof scope, "s%d", k % 4);
        snprintf(name, sizeof name, "n%d", k);
        stitch_span_end(stitch_span_start(stitch_tracer(p[pi], scope, NULL), name, NULL));
        spans[k] = stitch_memory_processor_get(m[pi], stitch_memory_processor_count(m[pi]) - 1);
    }
    stitch_buf_t b = STITCH_BUF_INIT(0);
    Request *r = encode_decode(spans, NS, &b);
    assert_int_equal(r->n_resource_spans, NP);
    int seen[NS] = {0}, total = 0;
    for (size_t i = 0; i < r->n_resource_spans; i++) {
        /* first-seen order: k=0 -> p0, k=1 -> p1, k=2 -> p2 */
        char svc[32];
        snprintf(svc, sizeof svc, "svc%d", (int)i);
        assert_string_equal(r->resource_spans[i]->resource->attributes[0]->value->string_value, svc);
        assert_int_equal(r->resource_spans[i]->n_scope_spans, 4);
        for (size_t j = 0; j < 4; j++) {
            Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = r->resource_spans[i]->scope_spans[j];
            int last = -1;
            for (size_t k = 0; k < ss->n_spans; k++) {
                int idx = atoi(ss->spans[k]->name + 1);
                assert_int_equal((idx * 7) % NP, (int)i);
                char scope[16];
                snprintf(scope, sizeof scope, "s%d", idx % 4);
                assert_string_equal(ss->scope->name, scope);
                assert_true(idx > last); /* stable */
                last = idx;
                seen[idx]++;
                total++;
            }
        }
    }
    assert_int_equal(total, NS);
    for (int k = 0; k < NS; k++)
        assert_int_equal(seen[k], 1);
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(r, NULL);
    stitch_buf_free(&b);
    for (int i = 0; i < NP; i++)
        stitch_provider_free(p[i]);
}

/* ---- JSON ------------------------------------------------------------------------- */

static json_t *encode_json(const stitch_span_data_t *const *spans, size_t n)
{
    stitch_buf_t b = STITCH_BUF_INIT(0);
    assert_int_equal(stitch_wire_otlp_json_encode(spans, n, &b), 0);
    json_error_t err;
    json_t *j = json_loadb((const char *)b.data, b.len, JSON_ALLOW_NUL, &err);
    if (!j)
        fprintf(stderr, "json error: %s at %d: %.*s\n", err.text, err.position, (int)b.len, (const char *)b.data);
    assert_non_null(j);
    stitch_buf_free(&b);
    return j;
}

static const char *jstr(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
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

static json_t *jget(json_t *o, const char *path_key)
{
    json_t *v = json_object_get(o, path_key);
    assert_non_null(v);
    return v;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

/* attribute i of a JSON attribute list: its key and its value object */
static json_t *jattr(json_t *attrs, size_t i, const char *key)
{
    json_t *kv = json_array_get(attrs, i);
    assert_non_null(kv);
    assert_string_equal(jstr(kv, "key"), key);
    json_t *v = jget(kv, "value");
    assert_int_equal(json_object_size(v), 1); /* exactly one of the value fields */
    return v;
}

static void test_wire_otlp_json_every_field(void **state)
{
    struct wfx *f = *state;
    json_t *root = encode_json(f->spans, 5);
    json_t *rss = jget(root, "resourceSpans");
    assert_int_equal(json_array_size(rss), 2);
    json_t *ra = json_array_get(rss, 0), *rb = json_array_get(rss, 1);

    size_t nres;
    const stitch_attr_t *res = stitch_provider_resource(f->pa, &nres);
    json_t *rattrs = jget(jget(ra, "resource"), "attributes");
    assert_int_equal(json_array_size(rattrs), nres);
    assert_string_equal(jstr(jattr(rattrs, 0, "service.name"), "stringValue"), res[0].value.u.str);
    int seen = 0;
    for (size_t i = 0; i < nres; i++) {
        json_t *kv = json_array_get(rattrs, i);
        if (!strcmp(jstr(kv, "key"), "host.cores"))
            seen += !strcmp(jstr(jget(kv, "value"), "intValue"), "8");
        if (!strcmp(jstr(kv, "key"), "service.name"))
            seen += !strcmp(jstr(jget(kv, "value"), "stringValue"), "cart");
    }
    assert_int_equal(seen, 2);
    assert_string_equal(jstr(jattr(jget(jget(rb, "resource"), "attributes"), 0, "service.name"), "stringValue"),
                        "billing");

    json_t *ssa = jget(ra, "scopeSpans");
    assert_int_equal(json_array_size(ssa), 2);
    json_t *sc0 = jget(json_array_get(ssa, 0), "scope");
    assert_string_equal(jstr(sc0, "name"), "lib.one");
    assert_string_equal(jstr(sc0, "version"), "1.0");
    json_t *sc1 = jget(json_array_get(ssa, 1), "scope");
    assert_string_equal(jstr(sc1, "name"), "lib.two");
    assert_null(json_object_get(sc1, "version")); /* empty: omitted */
    json_t *spans0 = jget(json_array_get(ssa, 0), "spans");
    assert_int_equal(json_array_size(spans0), 2);
    json_t *s1 = json_array_get(spans0, 0), *s4 = json_array_get(spans0, 1);
    json_t *s2 = json_array_get(jget(json_array_get(ssa, 1), "spans"), 0);
    json_t *sb = jget(json_array_get(jget(rb, "scopeSpans"), 0), "spans");
    assert_int_equal(json_array_size(sb), 2);
    json_t *s3 = json_array_get(sb, 0), *s5 = json_array_get(sb, 1);

    char h[33];
    hex(FX_TRACE, 16, h);
    assert_string_equal(jstr(s1, "traceId"), h);
    assert_string_equal(jstr(s1, "traceId"), "0102030405060708090a0b0c0d0e0f10");
    hex(f->spans[0]->ctx.span_id, 8, h);
    assert_string_equal(jstr(s1, "spanId"), h);
    assert_string_equal(jstr(s1, "parentSpanId"), "a1a2a3a4a5a6a7a8");
    assert_string_equal(jstr(s1, "traceState"), "vendor=abc,other=1");
    assert_string_equal(jstr(s1, "name"), "GET /cart");
    assert_int_equal(jint(s1, "kind"), 2);
    assert_int_equal(jint(s1, "flags"), 0x301);
    assert_string_equal(jstr(s1, "startTimeUnixNano"), "1700000000123456789");
    assert_string_equal(jstr(s1, "endTimeUnixNano"), "1700000000373457289");
    json_t *at = jget(s1, "attributes");
    assert_int_equal(json_array_size(at), 9);
    assert_string_equal(jstr(jattr(at, 0, "http.route"), "stringValue"), "/cart");
    assert_string_equal(jstr(jattr(at, 1, "http.response.status_code"), "intValue"), "200");
    assert_string_equal(jstr(jattr(at, 2, "neg"), "intValue"), "-42");
    json_t *dv = jget(jattr(at, 3, "ratio"), "doubleValue");
    assert_true(json_is_real(dv) && json_real_value(dv) == 0.25);
    assert_true(json_is_true(jget(jattr(at, 4, "cache.hit"), "boolValue")));
    json_t *arr = jget(jget(jattr(at, 5, "tags"), "arrayValue"), "values");
    assert_int_equal(json_array_size(arr), 2);
    assert_string_equal(jstr(json_array_get(arr, 0), "stringValue"), "a");
    assert_string_equal(jstr(json_array_get(arr, 1), "stringValue"), "b\"c");
    arr = jget(jget(jattr(at, 6, "flags"), "arrayValue"), "values");
    assert_true(json_is_true(jget(json_array_get(arr, 0), "boolValue")));
    assert_true(json_is_false(jget(json_array_get(arr, 1), "boolValue")));
    arr = jget(jget(jattr(at, 7, "ints"), "arrayValue"), "values");
    assert_int_equal(json_array_size(arr), 3);
    assert_string_equal(jstr(json_array_get(arr, 1), "intValue"), "-2");
    assert_string_equal(jstr(json_array_get(arr, 2), "intValue"), "3000000000");
    arr = jget(jget(jattr(at, 8, "doubles"), "arrayValue"), "values");
    assert_true(json_real_value(jget(json_array_get(arr, 0), "doubleValue")) == 1.5);
    assert_true(json_real_value(jget(json_array_get(arr, 1), "doubleValue")) == -0.5);
    assert_null(json_object_get(s1, "droppedAttributesCount"));
    json_t *ev = jget(s1, "events");
    assert_int_equal(json_array_size(ev), 1);
    json_t *e0 = json_array_get(ev, 0);
    assert_string_equal(jstr(e0, "timeUnixNano"), "1700000000123457789");
    assert_string_equal(jstr(e0, "name"), "cache miss");
    assert_string_equal(jstr(jattr(jget(e0, "attributes"), 0, "key"), "stringValue"), "k1");
    assert_string_equal(jstr(jattr(jget(e0, "attributes"), 1, "size"), "intValue"), "7");
    json_t *lk = jget(s1, "links");
    assert_int_equal(json_array_size(lk), 1);
    json_t *l0 = json_array_get(lk, 0);
    assert_string_equal(jstr(l0, "traceId"), "111111111111111111111111111111ff");
    assert_string_equal(jstr(l0, "spanId"), "22222222222222fe");
    assert_string_equal(jstr(l0, "traceState"), "lk=v");
    assert_int_equal(jint(l0, "flags"), 0x301);
    assert_string_equal(jstr(jattr(jget(l0, "attributes"), 0, "link.kind"), "stringValue"), "follows");
    json_t *st = jget(s1, "status");
    assert_int_equal(jint(st, "code"), 2);
    assert_string_equal(jstr(st, "message"), "boom \"quoted\"");

    /* s2: child, OK */
    hex(f->spans[0]->ctx.span_id, 8, h);
    assert_string_equal(jstr(s2, "parentSpanId"), h);
    assert_int_equal(jint(s2, "kind"), 3);
    assert_int_equal(jint(s2, "flags"), 0x101);
    assert_int_equal(jint(jget(s2, "status"), "code"), 1);
    assert_null(json_object_get(jget(s2, "status"), "message"));
    assert_null(json_object_get(s2, "events"));
    assert_null(json_object_get(s2, "links"));

    /* roots */
    assert_null(json_object_get(s3, "parentSpanId"));
    assert_null(json_object_get(s4, "parentSpanId"));
    assert_null(json_object_get(s4, "traceState"));
    assert_null(json_object_get(s4, "attributes"));
    assert_int_equal(json_object_size(jget(s4, "status")), 0);
    assert_int_equal(jint(s3, "kind"), 4);
    assert_int_equal(jint(s4, "kind"), 5);
    assert_int_equal(jint(s5, "kind"), 1);

    /* s5: dropped counts as integers */
    assert_int_equal(jint(s5, "droppedAttributesCount"), 1);
    assert_int_equal(jint(s5, "droppedEventsCount"), 1);
    assert_int_equal(jint(s5, "droppedLinksCount"), 1);
    assert_int_equal(jint(json_array_get(jget(s5, "events"), 0), "droppedAttributesCount"), 1);
    assert_int_equal(jint(json_array_get(jget(s5, "links"), 0), "droppedAttributesCount"), 1);
    json_decref(root);
}

static void test_wire_otlp_json_escaping_and_special_doubles(void **state)
{
    (void)state;
    stitch_provider_t *p;
    stitch_processor_t *m;
    const char nul[] = {'x', 0, 'y'};
    stitch_attr_t a[] = {stitch_attr_double("nan", NAN), stitch_attr_double("inf", INFINITY),
                         stitch_attr_double("ninf", -INFINITY), stitch_attr_strn("nul", nul, 3),
                         stitch_attr_str("bad", "a\xff" "b\xc3\x28" "c\xed\xa0\x80" "d\xf4\x90\x80\x80"),
                         stitch_attr_double("big", 1e300), stitch_attr_double("tenth", 0.1),
                         stitch_attr_int("min", INT64_MIN)};
    const stitch_span_data_t *d =
        one_span(&p, &m, "q\"b\\s/\x01\n\t\x1f \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", a, 8);
    assert_non_null(d);
    json_t *root = encode_json(&d, 1);
    json_t *s = json_array_get(jget(json_array_get(jget(json_array_get(jget(root, "resourceSpans"), 0), "scopeSpans"), 0), "spans"), 0);
    assert_string_equal(jstr(s, "name"), "q\"b\\s/\x01\n\t\x1f \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    json_t *at = jget(s, "attributes");
    assert_string_equal(jstr(jattr(at, 0, "nan"), "doubleValue"), "NaN");
    assert_string_equal(jstr(jattr(at, 1, "inf"), "doubleValue"), "Infinity");
    assert_string_equal(jstr(jattr(at, 2, "ninf"), "doubleValue"), "-Infinity");
    json_t *nv = jget(jattr(at, 3, "nul"), "stringValue");
    assert_int_equal(json_string_length(nv), 3);
    assert_memory_equal(json_string_value(nv), nul, 3);
    /* every invalid byte replaced by U+FFFD (EF BF BD), valid text kept */
    assert_string_equal(jstr(jattr(at, 4, "bad"), "stringValue"),
                        "a\xef\xbf\xbd" "b\xef\xbf\xbd(c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                        "d\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    assert_true(json_real_value(jget(jattr(at, 5, "big"), "doubleValue")) == 1e300);
    assert_true(json_real_value(jget(jattr(at, 6, "tenth"), "doubleValue")) == 0.1);
    assert_string_equal(jstr(jattr(at, 7, "min"), "intValue"), "-9223372036854775808");
    json_decref(root);

    /* the shortest round-tripping text: 0.1, not 0.10000000000000001 */
    stitch_buf_t b = STITCH_BUF_INIT(0);
    assert_int_equal(stitch_wire_otlp_json_encode(&d, 1, &b), 0);
    assert_non_null(memmem(b.data, b.len, "{\"doubleValue\":0.1}", 19));
    assert_non_null(memmem(b.data, b.len, "\\u0001", 6));
    assert_non_null(memmem(b.data, b.len, "\\u001f", 6));
    stitch_buf_free(&b);
    stitch_provider_free(p);
}

static void test_wire_otlp_json_empty_and_limit(void **state)
{
    struct wfx *f = *state;
    stitch_buf_t b = STITCH_BUF_INIT(0);
    assert_int_equal(stitch_wire_otlp_json_encode(f->spans, 0, &b), 0);
    assert_int_equal(b.len, strlen("{\"resourceSpans\":[]}"));
    assert_memory_equal(b.data, "{\"resourceSpans\":[]}", b.len);
    stitch_buf_reset(&b);
    assert_int_equal(stitch_wire_otlp_json_encode(f->spans, 5, &b), 0);
    stitch_buf_t exact = STITCH_BUF_INIT(b.len), less = STITCH_BUF_INIT(b.len - 1);
    assert_int_equal(stitch_wire_otlp_json_encode(f->spans, 5, &exact), 0);
    assert_memory_equal(exact.data, b.data, b.len);
    assert_int_equal(stitch_wire_otlp_json_encode(f->spans, 5, &less), STITCH_ELIMIT);
    assert_true(less.len <= b.len - 1 && less.cap <= b.len - 1);
    stitch_buf_free(&exact);
    stitch_buf_free(&less);
    stitch_buf_free(&b);
}

/* ---- buffer ------------------------------------------------------------------- */

static void test_wire_buf_max(void **state)
{
    (void)state;
    stitch_buf_t b = STITCH_BUF_INIT(10);
    assert_int_equal(stitch_buf_append(&b, "0123456789", 10), 0);
    assert_int_equal(stitch_buf_append(&b, "x", 1), STITCH_ELIMIT);
    assert_int_equal(b.len, 10);
    assert_memory_equal(b.data, "0123456789", 10);
    assert_int_equal(stitch_buf_reserve(&b, SIZE_MAX), STITCH_ELIMIT);
    stitch_buf_reset(&b);
    assert_int_equal(stitch_buf_append(&b, "ab", 2), 0);
    assert_int_equal(b.len, 2);
    stitch_buf_free(&b);
    assert_null(b.data);
    stitch_buf_t u = STITCH_BUF_INIT(0); /* unbounded */
    for (int i = 0; i < 10000; i++)
        assert_int_equal(stitch_buf_append(&u, "abcdefgh", 8), 0);
    assert_int_equal(u.len, 80000);
    stitch_buf_free(&u);
}

/* ---- response ------------------------------------------------------------------- */

static void test_wire_otlp_response(void **state)
{
    (void)state;
    int64_t rej = -1;
    char msg[64];

    /* protobuf, made by protobuf-c */
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse resp =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_RESPONSE__INIT;
    Opentelemetry__Proto__Collector__Trace__V1__ExportTracePartialSuccess ps =
        OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_PARTIAL_SUCCESS__INIT;
    ps.rejected_spans = 3;
    ps.error_message = "3 spans had no name";
    resp.partial_success = &ps;
    uint8_t pb[128];
    size_t n = opentelemetry__proto__collector__trace__v1__export_trace_service_response__pack(&resp, pb);
    assert_int_equal(stitch_wire_otlp_response_decode(pb, n, false, &rej, msg, sizeof msg), 0);
    assert_true(rej == 3);
    assert_string_equal(msg, "3 spans had no name");
    /* cut message */
    char small[6];
    assert_int_equal(stitch_wire_otlp_response_decode(pb, n, false, &rej, small, sizeof small), 0);
    assert_string_equal(small, "3 spa");
    /* truncated: an error, and nothing reported */
    assert_int_equal(stitch_wire_otlp_response_decode(pb, n - 1, false, &rej, msg, sizeof msg), STITCH_EPARSE);
    assert_true(rej == 0);
    assert_string_equal(msg, "");
    /* empty body: full success */
    rej = -1;
    assert_int_equal(stitch_wire_otlp_response_decode(pb, 0, false, &rej, msg, sizeof msg), 0);
    assert_true(rej == 0);
    /* unknown fields before it are skipped */
    uint8_t pb2[160] = {0x10, 0x05, 0x1a, 0x02, 'h', 'i', 0x21, 1, 2, 3, 4, 5, 6, 7, 8};
    memcpy(pb2 + 15, pb, n);
    assert_int_equal(stitch_wire_otlp_response_decode(pb2, n + 15, false, &rej, msg, sizeof msg), 0);
    assert_true(rej == 3);

    /* JSON */
    const char *j1 = "{\"partialSuccess\":{\"rejectedSpans\":\"5\",\"errorMessage\":\"bad \\\"x\\\" \\u00e9\"}}";
    assert_int_equal(stitch_wire_otlp_response_decode((const uint8_t *)j1, strlen(j1), true, &rej, msg, sizeof msg), 0);
    assert_true(rej == 5);
    assert_string_equal(msg, "bad \"x\" \xc3\xa9");
    const char *j2 = " {\"other\":[1,{\"a\":null}],\"partialSuccess\":{\"rejectedSpans\":7}} ";
    assert_int_equal(stitch_wire_otlp_response_decode((const uint8_t *)j2, strlen(j2), true, &rej, msg, sizeof msg), 0);
    assert_true(rej == 7);
    assert_string_equal(msg, "");
    assert_int_equal(stitch_wire_otlp_response_decode((const uint8_t *)"{}", 2, true, &rej, msg, sizeof msg), 0);
    assert_true(rej == 0);
    assert_int_equal(stitch_wire_otlp_response_decode((const uint8_t *)"", 0, true, &rej, msg, sizeof msg), 0);
    const char *bad[] = {"{", "{\"partialSuccess\":", "[1]x", "{\"partialSuccess\":{\"rejectedSpans\":\"x\"}}", "nope",
                         "{\"partialSuccess\":{\"rejectedSpans\":1e300}}" /* no int64 */};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(stitch_wire_otlp_response_decode((const uint8_t *)bad[i], strlen(bad[i]), true, &rej,
                                                          msg, sizeof msg), STITCH_EPARSE);
    /* nesting past the cap is refused, not recursed into */
    char deep[300];
    memset(deep, '[', sizeof deep);
    char wrap[400];
    snprintf(wrap, sizeof wrap, "{\"x\":%.*s}", 200, deep);
    assert_int_equal(stitch_wire_otlp_response_decode((const uint8_t *)wrap, strlen(wrap), true, &rej, msg,
                                                      sizeof msg), STITCH_EPARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_wire_otlp_proto_every_field, wfx_setup, wfx_teardown),
        cmocka_unit_test_setup_teardown(test_wire_otlp_proto_empty_and_limit, wfx_setup, wfx_teardown),
        cmocka_unit_test(test_wire_otlp_proto_nan_and_bytes),
        cmocka_unit_test(test_wire_otlp_proto_grouping_many),
        cmocka_unit_test_setup_teardown(test_wire_otlp_json_every_field, wfx_setup, wfx_teardown),
        cmocka_unit_test(test_wire_otlp_json_escaping_and_special_doubles),
        cmocka_unit_test_setup_teardown(test_wire_otlp_json_empty_and_limit, wfx_setup, wfx_teardown),
        cmocka_unit_test(test_wire_buf_max),
        cmocka_unit_test(test_wire_otlp_response),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
