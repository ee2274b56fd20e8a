/* Decoders (wire/decode/): spans built by the real SDK are encoded by our
 * encoders and decoded back, and every field must come back equal (OTLP
 * protobuf and JSON); then JSON as real clients send it (OpenTelemetry JS,
 * py_zipkin, OTel JS's Zipkin exporter), the leniency rules, per-span
 * rejections, malformed documents with their exact messages, and the
 * arena's limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/wire_fixture.h"
#include "wire/decode.h"
#include "wire/wire.h"

#define U8(s) ((const uint8_t *)(s))

/* ---- deep equality of records ------------------------------------------------ */

static void check_value(const stitch_value_t *a, const stitch_value_t *b)
{
    assert_int_equal(a->type, b->type);
    switch (a->type) {
    case STITCH_VALUE_STRING:
        assert_int_equal(a->len, b->len);
        assert_memory_equal(a->u.str, b->u.str, a->len);
        assert_int_equal(b->u.str[b->len], 0);
        break;
    case STITCH_VALUE_BOOL: assert_int_equal(a->u.b, b->u.b); break;
    case STITCH_VALUE_INT: assert_true(a->u.i == b->u.i); break;
    case STITCH_VALUE_DOUBLE: assert_memory_equal(&a->u.d, &b->u.d, sizeof(double)); break;
    case STITCH_VALUE_STRING_ARRAY:
        assert_int_equal(a->len, b->len);
        for (uint32_t i = 0; i < a->len; i++) {
            assert_int_equal(a->u.strs[i].len, b->u.strs[i].len);
            assert_memory_equal(a->u.strs[i].ptr, b->u.strs[i].ptr, a->u.strs[i].len);
        }
        break;
    case STITCH_VALUE_BOOL_ARRAY:
        assert_int_equal(a->len, b->len);
        for (uint32_t i = 0; i < a->len; i++)
            assert_int_equal(a->u.bools[i], b->u.bools[i]);
        break;
    case STITCH_VALUE_INT_ARRAY:
        assert_int_equal(a->len, b->len);
        for (uint32_t i = 0; i < a->len; i++)
            assert_true(a->u.ints[i] == b->u.ints[i]);
        break;
    case STITCH_VALUE_DOUBLE_ARRAY:
        assert_int_equal(a->len, b->len);
        assert_memory_equal(a->u.doubles, b->u.doubles, a->len * sizeof(double));
        break;
    default: break;
    }
}

static void check_attrs(const stitch_attr_t *a, uint32_t na, const stitch_attr_t *b, uint32_t nb)
{
    assert_int_equal(na, nb);
    for (uint32_t i = 0; i < na; i++) {
        assert_string_equal(a[i].key, b[i].key);
        check_value(&a[i].value, &b[i].value);
    }
}

static void check_ts(const stitch_tracestate_t *a, const stitch_tracestate_t *b)
{
    size_t la, lb;
    const char *sa = stitch_tracestate_str(a, &la), *sb = stitch_tracestate_str(b, &lb);
    assert_int_equal(la, lb);
    assert_string_equal(sa, sb);
}

/* `d` decoded equals `s` sent, every field */
static void check_span(const stitch_span_data_t *s, const stitch_span_data_t *d)
{
    assert_memory_equal(s->ctx.trace_id, d->ctx.trace_id, 16);
    assert_memory_equal(s->ctx.span_id, d->ctx.span_id, 8);
    assert_int_equal(s->ctx.flags, d->ctx.flags);
    assert_memory_equal(s->parent_span_id, d->parent_span_id, 8);
    assert_int_equal(s->parent_remote, d->parent_remote);
    check_ts(s->tracestate, d->tracestate);
    assert_string_equal(s->name, d->name);
    assert_int_equal(s->kind, d->kind);
    assert_true(s->start_ns == d->start_ns);
    assert_true(s->end_ns == d->end_ns);
    check_attrs(s->attrs, s->nattrs, d->attrs, d->nattrs);
    assert_int_equal(s->dropped_attrs, d->dropped_attrs);
    assert_int_equal(s->nevents, d->nevents);
    for (uint32_t i = 0; i < s->nevents; i++) {
        assert_true(s->events[i].time_ns == d->events[i].time_ns);
        assert_string_equal(s->events[i].name, d->events[i].name);
        check_attrs(s->events[i].attrs, s->events[i].nattrs, d->events[i].attrs, d->events[i].nattrs);
        assert_int_equal(s->events[i].dropped_attrs, d->events[i].dropped_attrs);
    }
    assert_int_equal(s->dropped_events, d->dropped_events);
    assert_int_equal(s->nlinks, d->nlinks);
    for (uint32_t i = 0; i < s->nlinks; i++) {
        const stitch_link_t *a = &s->links[i], *b = &d->links[i];
        assert_memory_equal(a->ctx.trace_id, b->ctx.trace_id, 16);
        assert_memory_equal(a->ctx.span_id, b->ctx.span_id, 8);
        assert_int_equal(a->ctx.flags, b->ctx.flags);
        assert_int_equal(a->ctx.remote, b->ctx.remote);
        check_ts(a->tracestate, b->tracestate);
        check_attrs(a->attrs, a->nattrs, b->attrs, b->nattrs);
        assert_int_equal(a->dropped_attrs, b->dropped_attrs);
    }
    assert_int_equal(s->dropped_links, d->dropped_links);
    assert_int_equal(s->status, d->status);
    assert_string_equal(s->status_message ? s->status_message : "", d->status_message);
    check_attrs(s->resource, s->nresource, d->resource, d->nresource);
    assert_string_equal(s->scope->name, d->scope->name);
    assert_string_equal(s->scope->version, d->scope->version);
}


typedef int (*encode_fn)(const stitch_span_data_t *const *, size_t, stitch_buf_t *);
typedef int (*decode_fn)(stitch_wire_batch_t *, const uint8_t *, size_t, stitch_wire_error_t *);

static void round_trip(struct wfx *f, encode_fn enc, decode_fn dec)
{
    stitch_buf_t buf = STITCH_BUF_INIT(0);
    assert_int_equal(enc(f->spans, 5, &buf), 0);
    stitch_wire_batch_t b;
    stitch_wire_batch_init(&b, 1 << 20);
    stitch_wire_error_t err;
    /* twice, with a reset between: the arena's chunks are reused */
    for (int pass = 0; pass < 2; pass++) {
        assert_int_equal(dec(&b, buf.data, buf.len, &err), 0);
        assert_int_equal(err.code, 0);
        assert_int_equal(err.rejected, 0);
        assert_string_equal(err.msg, "");
        assert_int_equal(b.nspans, 5);
        /* the encoders' OTLP order: A{lib.one[s1,s4], lib.two[s2]}, B{lib.b[s3,s5]} */
        static const int order[5] = {0, 3, 1, 2, 4};
        for (int i = 0; i < 5; i++)
            check_span(f->spans[order[i]], &b.spans[i]);
        /* one resource array per ResourceSpans, one scope per ScopeSpans */
        assert_ptr_equal(b.spans[0].resource, b.spans[1].resource);
        assert_ptr_equal(b.spans[0].resource, b.spans[2].resource);
        assert_ptr_not_equal(b.spans[0].resource, b.spans[3].resource);
        assert_ptr_equal(b.spans[0].scope, b.spans[1].scope);
        assert_ptr_not_equal(b.spans[0].scope, b.spans[2].scope);
        assert_ptr_equal(b.spans[3].scope, b.spans[4].scope);
        /* re-encoding the records gives the same bytes */
        const stitch_span_data_t *ptrs[5];
        for (int i = 0; i < 5; i++)
            ptrs[i] = &b.spans[i];
        stitch_buf_t again = STITCH_BUF_INIT(0);
        assert_int_equal(enc(ptrs, 5, &again), 0);
        assert_int_equal(again.len, buf.len);
        assert_memory_equal(again.data, buf.data, buf.len);
        stitch_buf_free(&again);
        stitch_wire_batch_reset(&b);
        assert_int_equal(b.nspans, 0);
    }
    stitch_wire_batch_free(&b);
    stitch_buf_free(&buf);
}

static void test_wire_decode_otlp_proto_round_trip(void **state)
{
    round_trip(*state, stitch_wire_otlp_proto_encode, stitch_wire_otlp_proto_decode);
}

static void test_wire_decode_otlp_json_round_trip(void **state)
{
    round_trip(*state, stitch_wire_otlp_json_encode, stitch_wire_otlp_json_decode);
}

/* ---- OTLP/JSON as clients send it ----------------------------------------------- */

/* What OpenTelemetry JS 0.223's exporter sends: times as strings, intValue
 * as a number, zero-valued fields present, flags 257, several ResourceSpans. */
static const char JS_JSON[] =
    "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":\"web\"}},"
    "{\"key\":\"process.pid\",\"value\":{\"intValue\":4242}}],\"droppedAttributesCount\":0},"
    "\"scopeSpans\":[{\"scope\":{\"name\":\"@opentelemetry/instrumentation-http\",\"version\":\"0.52.0\"},"
    "\"spans\":[{\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"spanId\":\"00f067aa0ba902b7\",\"traceState\":\"\","
    "\"parentSpanId\":\"\",\"name\":\"GET\",\"kind\":2,\"startTimeUnixNano\":\"1700000000123456789\","
    "\"endTimeUnixNano\":\"1700000000223456789\",\"attributes\":[{\"key\":\"http.response.status_code\","
    "\"value\":{\"intValue\":200}},{\"key\":\"ratio\",\"value\":{\"doubleValue\":0.5}}],\"droppedAttributesCount\":0,"
    "\"events\":[{\"timeUnixNano\":\"1700000000123457000\",\"name\":\"start\",\"attributes\":[],\"droppedAttributesCount\":0}],"
    "\"droppedEventsCount\":0,\"status\":{\"code\":0},\"links\":[],\"droppedLinksCount\":0,\"flags\":257}]}]},"
    "{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":\"worker\"}}],\"droppedAttributesCount\":0},"
    "\"scopeSpans\":[{\"scope\":{\"name\":\"manual\"},\"spans\":[{\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\","
    "\"spanId\":\"1111111111111111\",\"parentSpanId\":\"00f067aa0ba902b7\",\"name\":\"job\",\"kind\":5,"
    "\"startTimeUnixNano\":\"1700000000200000000\",\"endTimeUnixNano\":\"1700000000300000000\","
    "\"attributes\":[],\"droppedAttributesCount\":0,\"events\":[],\"droppedEventsCount\":0,"
    "\"status\":{\"code\":2,\"message\":\"failed\"},\"links\":[],\"droppedLinksCount\":0,\"flags\":769}]}]}]}";

static void test_wire_decode_otlp_json_js_exporter(void **state)
{
    (void)state;
    stitch_wire_batch_t b;
    stitch_wire_batch_init(&b, 0);
    stitch_wire_error_t err;
    assert_int_equal(stitch_wire_otlp_json_decode(&b, U8(JS_JSON), strlen(JS_JSON), &err), 0);
    assert_int_equal(b.nspans, 2);
    const stitch_span_data_t *s = &b.spans[0], *w = &b.spans[1];
    char hex[33];
    stitch_trace_id_hex(s->ctx.trace_id, hex);
    assert_string_equal(hex, "4bf92f3577b34da6a3ce929d0e0e4736");
    stitch_span_id_hex(s->ctx.span_id, hex);
    assert_string_equal(hex, "00f067aa0ba902b7");
    static const uint8_t zero8[8];
    assert_memory_equal(s->parent_span_id, zero8, 8);
    assert_null(s->tracestate);
    assert_int_equal(s->ctx.flags, 1);
    assert_false(s->parent_remote);
    assert_string_equal(s->name, "GET");
    assert_int_equal(s->kind, STITCH_SPAN_KIND_SERVER);
    assert_true(s->start_ns == 1700000000123456789ull);
    assert_true(s->end_ns == 1700000000223456789ull);
    assert_int_equal(s->nattrs, 2);
    assert_string_equal(s->attrs[0].key, "http.response.status_code");
    assert_int_equal(s->attrs[0].value.type, STITCH_VALUE_INT);
    assert_int_equal(s->attrs[0].value.u.i, 200);
    assert_int_equal(s->attrs[1].value.type, STITCH_VALUE_DOUBLE);
    assert_true(s->attrs[1].value.u.d == 0.5);
    assert_int_equal(s->nevents, 1);
    assert_true(s->events[0].time_ns == 1700000000123457000ull);
    assert_string_equal(s->events[0].name, "start");
    assert_int_equal(s->events[0].nattrs, 0);
    assert_int_equal(s->status, STITCH_STATUS_UNSET);
    assert_string_equal(s->status_message, "");
    assert_int_equal(s->nresource, 2);
    assert_string_equal(s->resource[0].value.u.str, "web");
    assert_int_equal(s->resource[1].value.u.i, 4242);
    assert_string_equal(s->scope->name, "@opentelemetry/instrumentation-http");
    assert_string_equal(s->scope->version, "0.52.0");

    assert_memory_equal(w->parent_span_id, s->ctx.span_id, 8);
    assert_true(w->parent_remote); /* 769 = 0x301 */
    assert_int_equal(w->kind, STITCH_SPAN_KIND_CONSUMER);
    assert_int_equal(w->status, STITCH_STATUS_ERROR);
    assert_string_equal(w->status_message, "failed");
    assert_int_equal(w->nresource, 1);
    assert_string_equal(w->resource[0].value.u.str, "worker");
    assert_string_equal(w->scope->name, "manual");
    assert_string_equal(w->scope->version, "");
    assert_ptr_not_equal(s->resource, w->resource);
    stitch_wire_batch_free(&b);
}

/* Upper-case hex, snake_case keys, enum names, 64-bit integers as numbers,
 * nulls, unknown fields, kvlists and mixed arrays (as JSON text). */
static void test_wire_decode_otlp_json_lenient(void **state)
{
    (void)state;
    static const char doc[] =
        "{\"resource_spans\":[{\"resource\":null,\"schema_url\":\"x\",\"scope_spans\":[{\"spans\":[{"
        "\"trace_id\":\"4BF92F3577B34DA6A3CE929D0E0E4736\",\"span_id\":\"00F067AA0BA902B7\","
        "\"parent_span_id\":\"AAAAAAAAAAAAAAAA\",\"trace_state\":\"k=v\",\"name\":\"n\",\"kind\":\"SPAN_KIND_CLIENT\","
        "\"start_time_unix_nano\":1700000000000000000,\"end_time_unix_nano\":\"1700000000000000001\","
        "\"futureField\":{\"deep\":[1,2]},\"dropped_attributes_count\":\"3\","
        "\"attributes\":[{\"key\":\"i\",\"value\":{\"int_value\":\"-9223372036854775808\"}},"
        "{\"key\":\"d\",\"value\":{\"double_value\":\"NaN\"}},"
        "{\"key\":\"kv\",\"value\":{\"kvlistValue\":{\"values\":[{\"key\":\"a\",\"value\":{\"intValue\":\"1\"}},"
        "{\"key\":\"b\",\"value\":{\"arrayValue\":{\"values\":[{\"boolValue\":true}]}}}]}}},"
        "{\"key\":\"mixed\",\"value\":{\"arrayValue\":{\"values\":[{\"stringValue\":\"x\"},{\"intValue\":2}]}}},"
        "{\"key\":\"empty\",\"value\":{}},{\"key\":\"ints\",\"value\":{\"array_value\":{\"values\":[{\"intValue\":5},{\"intValue\":\"-6\"}]}}},"
        "{\"key\":\"bytes\",\"value\":{\"bytesValue\":\"AQID\"}}],"
        "\"status\":{\"code\":\"STATUS_CODE_OK\",\"message\":null},\"flags\":null}]}]}]}";
    stitch_wire_batch_t b;
    stitch_wire_batch_init(&b, 0);
    stitch_wire_error_t err;
    assert_int_equal(stitch_wire_otlp_json_decode(&b, U8(doc), strlen(doc), &err), 0);
    assert_int_equal(b.nspans, 1);
    const stitch_span_data_t *s = &b.spans[0];
    char hex[33];
    stitch_trace_id_hex(s->ctx.trace_id, hex);
    assert_string_equal(hex, "4bf92f3577b34da6a3ce929d0e0e4736");
    stitch_span_id_hex(s->parent_span_id, hex);
    assert_string_equal(hex, "aaaaaaaaaaaaaaaa");
    assert_string_equal(stitch_tracestate_str(s->tracestate, NULL), "k=v");
    assert_int_equal(s->kind, STITCH_SPAN_KIND_CLIENT);
    assert_true(s->start_ns == 1700000000000000000ull);
    assert_true(s->end_ns == 1700000000000000001ull);
    assert_int_equal(s->dropped_attrs, 3);
    assert_int_equal(s->status, STITCH_STATUS_OK);
    assert_string_equal(s->status_message, "");
    assert_int_equal(s->ctx.flags, 0);
    assert_int_equal(s->nresource, 0);
    assert_string_equal(s->scope->name, "");
    assert_int_equal(s->nattrs, 7);
    assert_true(s->attrs[0].value.u.i == INT64_MIN);
    assert_int_equal(s->attrs[1].value.type, STITCH_VALUE_DOUBLE);
    assert_true(s->attrs[1].value.u.d != s->attrs[1].value.u.d);
    assert_int_equal(s->attrs[2].value.type, STITCH_VALUE_STRING);
    assert_string_equal(s->attrs[2].value.u.str, "{\"a\":1,\"b\":[true]}");
    assert_string_equal(s->attrs[3].value.u.str, "[\"x\",2]");
    assert_int_equal(s->attrs[4].value.type, STITCH_VALUE_NONE);
    assert_int_equal(s->attrs[5].value.type, STITCH_VALUE_INT_ARRAY);
    assert_int_equal(s->attrs[5].value.len, 2);
    assert_true(s->attrs[5].value.u.ints[0] == 5 && s->attrs[5].value.u.ints[1] == -6);
    assert_int_equal(s->attrs[6].value.type, STITCH_VALUE_STRING);
    assert_string_equal(s->attrs[6].value.u.str, "AQID");
    stitch_wire_batch_free(&b);
}

#define SPAN_JSON(tid, sid, extra)                                                                    \
    "{\"traceId\":\"" tid "\",\"spanId\":\"" sid "\",\"name\":\"x\",\"startTimeUnixNano\":\"100\"," \
    "\"endTimeUnixNano\":\"200\"" extra "}"
#define DOC(spans) "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[" spans "]}]}]}"
#define GOOD_T "0102030405060708090a0b0c0d0e0f10"
#define GOOD_S "0102030405060708"

static void expect_json(const char *doc, int rc, size_t nspans, uint32_t rejected, const char *msg)
{
    stitch_wire_batch_t b;
    stitch_wire_batch_init(&b, 0);
    stitch_wire_error_t err;
    assert_int_equal(stitch_wire_otlp_json_decode(&b, U8(doc), strlen(doc), &err), rc);
    assert_int_equal(b.nspans, nspans);
    assert_int_equal(err.rejected, rejected);
    assert_string_equal(err.msg, msg);
    assert_int_equal(err.code, rc < 0 ? rc : 0);
    stitch_wire_batch_free(&b);
}

static void test_wire_decode_otlp_json_rejected_spans(void **state)
{
    (void)state;
    expect_json(DOC(SPAN_JSON(GOOD_T, GOOD_S, "") "," SPAN_JSON("0102030405060708090a0b0c0d0e0f", GOOD_S, "")), 1, 1,
                1, "resourceSpans[0].scopeSpans[0].spans[1].traceId: 30 hex digits, expected 32");
    expect_json(DOC(SPAN_JSON(GOOD_T, "010203040506070", "")), 1, 0, 1,
                "resourceSpans[0].scopeSpans[0].spans[0].spanId: 15 hex digits, expected 16");
    expect_json(DOC(SPAN_JSON(GOOD_T, "01020304050607zz", "")), 1, 0, 1,
                "resourceSpans[0].scopeSpans[0].spans[0].spanId: not hex");
    expect_json(DOC(SPAN_JSON("00000000000000000000000000000000", GOOD_S, "")), 1, 0, 1,
                "resourceSpans[0].scopeSpans[0].spans[0].traceId: all zero");
    expect_json(DOC(SPAN_JSON(GOOD_T, GOOD_S, ",\"kind\":9") "," SPAN_JSON(GOOD_T, GOOD_S, ",\"kind\":\"BOGUS\"")), 2,
                0, 2, "resourceSpans[0].scopeSpans[0].spans[0].kind: out of range");
    expect_json(DOC(SPAN_JSON(GOOD_T, GOOD_S, ",\"endTimeUnixNano\":\"99\"")), 1, 0, 1,
                "resourceSpans[0].scopeSpans[0].spans[0].endTimeUnixNano: before startTimeUnixNano");
    expect_json(DOC(SPAN_JSON(GOOD_T, GOOD_S, ",\"status\":{\"code\":3}")), 1, 0, 1,
                "resourceSpans[0].scopeSpans[0].spans[0].status.code: out of range");
    expect_json(DOC(SPAN_JSON(GOOD_T, GOOD_S, ",\"links\":[{\"traceId\":\"" GOOD_T "\",\"spanId\":\"01\"}]")), 1, 0, 1,
                "resourceSpans[0].scopeSpans[0].spans[0].links[0].spanId: 2 hex digits, expected 16");
}

static void test_wire_decode_otlp_json_malformed(void **state)
{
    (void)state;
    expect_json("{\"resourceSpans\":{}}", STITCH_EPARSE, 0, 0, "resourceSpans: expected a list");
    expect_json("[]", STITCH_EPARSE, 0, 0, "(document): expected an ExportTraceServiceRequest object");
    expect_json(DOC(SPAN_JSON(GOOD_T, GOOD_S, ",\"name\":5")), STITCH_EPARSE, 0, 0,
                "resourceSpans[0].scopeSpans[0].spans[0].name: expected a string");
    expect_json(DOC(SPAN_JSON(GOOD_T, GOOD_S, ",\"startTimeUnixNano\":\"1e9\"")), STITCH_EPARSE, 0, 0,
                "resourceSpans[0].scopeSpans[0].spans[0].startTimeUnixNano: expected an unsigned 64-bit integer "
                "(number or decimal string)");
    expect_json(DOC(SPAN_JSON(GOOD_T, GOOD_S, ",\"startTimeUnixNano\":\"18446744073709551616\"")), STITCH_EPARSE, 0,
                0,
                "resourceSpans[0].scopeSpans[0].spans[0].startTimeUnixNano: expected an unsigned 64-bit integer "
                "(number or decimal string)");
    expect_json(DOC("{\"traceId\":\"" GOOD_T "\",\"spanId\":7}"), STITCH_EPARSE, 0, 0,
                "resourceSpans[0].scopeSpans[0].spans[0].spanId: expected a hex string");
    expect_json(DOC(SPAN_JSON(GOOD_T, GOOD_S, ",\"attributes\":[{\"key\":\"k\",\"value\":{\"intValue\":true}}]")),
                STITCH_EPARSE, 0, 0,
                "resourceSpans[0].scopeSpans[0].spans[0].attributes: expected a 64-bit integer (number or decimal "
                "string)");
    /* a number too big for jansson is a syntax error with its position */
    expect_json("{\"resourceSpans\":99999999999999999999999}", STITCH_EPARSE, 0, 0,
                "invalid JSON at byte 40 (line 1): too big integer");
    expect_json("{\"resourceSpans\":[", STITCH_EPARSE, 0, 0,
                "invalid JSON at byte 18 (line 1): ']' expected near end of file");
    /* invalid UTF-8 inside a string */
    expect_json("{\"x\":\"\xc3\x28\"}", STITCH_EPARSE, 0, 0,
                "invalid JSON at byte 6 (line 1): unable to decode byte 0xc3 near '\"'");
    /* deep nesting is refused before jansson sees it */
    char deep[200];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 99);
    deep[199] = 0;
    memcpy(deep, "{\"a\":", 5);
    expect_json(deep, STITCH_EPARSE, 0, 0, "JSON nested deeper than 64 at byte 68");
}

/* ---- OTLP protobuf: malformed -------------------------------------------------------- */

/* tag + length + bytes */
static size_t ld(uint8_t *out, unsigned field, const void *p, size_t n)
{
    out[0] = (uint8_t)(field << 3 | 2);
    out[1] = (uint8_t)n; /* n < 128 here */
    memcpy(out + 2, p, n);
    return n + 2;
}

/* A request with one span of the given id lengths. */
static size_t proto_one(uint8_t *out, size_t tlen, size_t slen)
{
    static const uint8_t ids[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    uint8_t span[64], ss[80], rs[96];
    size_t n = ld(span, 1, ids, tlen);
    n += ld(span + n, 2, ids, slen);
    span[n++] = 6 << 3; /* kind = 1 */
    span[n++] = 1;
    size_t m = ld(ss, 2, span, n);
    size_t r = ld(rs, 2, ss, m);
    return ld(out, 1, rs, r);
}

static void test_wire_decode_otlp_proto_malformed(void **state)
{
    (void)state;
    stitch_wire_batch_t b;
    stitch_wire_batch_init(&b, 0);
    stitch_wire_error_t err;
    uint8_t buf[128];
    size_t n = proto_one(buf, 16, 8);
    assert_int_equal(stitch_wire_otlp_proto_decode(&b, buf, n, &err), 0);
    assert_int_equal(b.nspans, 1);
    assert_int_equal(b.spans[0].kind, STITCH_SPAN_KIND_INTERNAL);
    stitch_wire_batch_reset(&b);

    /* truncated: every proper prefix that cuts a field fails */
    assert_int_equal(stitch_wire_otlp_proto_decode(&b, buf, n - 1, &err), STITCH_EPARSE);
    assert_int_equal(err.code, STITCH_EPARSE);
    assert_int_equal(b.nspans, 0);
    char want[160];
    /* the outermost length (byte 1) now passes the end */
    snprintf(want, sizeof want,
             "malformed ExportTraceServiceRequest protobuf (%zu bytes): length past the end of its message at byte 1",
             n - 1);
    assert_string_equal(err.msg, want);
    assert_int_equal(err.offset, 1);
    /* resource_spans (field 1) as a varint: wrong wire type */
    static const uint8_t wt[] = {0x08, 0x01};
    assert_int_equal(stitch_wire_otlp_proto_decode(&b, wt, sizeof wt, &err), STITCH_EPARSE);
    assert_string_equal(err.msg, "malformed ExportTraceServiceRequest protobuf (2 bytes): "
                                 "ExportTraceServiceRequest.resourceSpans: wrong wire type at byte 0");
    /* a length past the end */
    static const uint8_t len[] = {0x0a, 0x7f, 0x00};
    assert_int_equal(stitch_wire_otlp_proto_decode(&b, len, sizeof len, &err), STITCH_EPARSE);
    /* a varint of 11 bytes in an unknown field (2) after a good one */
    static const uint8_t vi[] = {0x10, 0x01, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    assert_int_equal(stitch_wire_otlp_proto_decode(&b, vi, sizeof vi, &err), STITCH_EPARSE);
    assert_int_equal(err.offset, 3);
    assert_int_equal(stitch_wire_otlp_proto_decode(&b, vi, 2, &err), 0);
    /* the protobuf-c reference says the same without a position */
    assert_int_equal(stitch_wire_otlp_proto_decode_pbc(&b, buf, n - 1, &err), STITCH_EPARSE);
    snprintf(want, sizeof want, "malformed ExportTraceServiceRequest protobuf (%zu bytes)", n - 1);
    assert_string_equal(err.msg, want);

    /* ids of the wrong length: that span is rejected, the request is fine */
    n = proto_one(buf, 15, 8);
    assert_int_equal(stitch_wire_otlp_proto_decode(&b, buf, n, &err), 1);
    assert_int_equal(err.code, 0);
    assert_int_equal(err.rejected, 1);
    assert_int_equal(b.nspans, 0);
    assert_string_equal(err.msg, "resourceSpans[0].scopeSpans[0].spans[0].traceId: not 16 bytes");
    n = proto_one(buf, 16, 0);
    assert_int_equal(stitch_wire_otlp_proto_decode(&b, buf, n, &err), 1);
    assert_string_equal(err.msg, "resourceSpans[0].scopeSpans[0].spans[0].spanId: not 8 bytes");
    /* empty body: an empty request */
    assert_int_equal(stitch_wire_otlp_proto_decode(&b, buf, 0, &err), 0);
    assert_int_equal(b.nspans, 0);
    stitch_wire_batch_free(&b);
}

/* A kvlist attribute whose key and string value are not UTF-8 (protobuf
 * does not check string fields): the span is stored with U+FFFD in their
 * place by both decoders — not refused, and not a "retry later". */
static void test_wire_decode_otlp_proto_kvlist_not_utf8(void **state)
{
    (void)state;
    static const uint8_t ids[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    uint8_t inner_v[16], inner_kv[32], kvl[40], av[48], kv[64], span[128], ss[140], rs[150], req[160];
    size_t n = ld(inner_v, 1, "v\xfe", 2);           /* AnyValue.string_value */
    size_t m = ld(inner_kv, 1, "k\xff", 2);          /* KeyValue.key */
    m += ld(inner_kv + m, 2, inner_v, n);            /* KeyValue.value */
    n = ld(kvl, 1, inner_kv, m);                     /* KeyValueList.values */
    m = ld(av, 6, kvl, n);                           /* AnyValue.kvlist_value */
    n = ld(kv, 1, "m", 1);
    n += ld(kv + n, 2, av, m);
    m = ld(span, 1, ids, 16);
    m += ld(span + m, 2, ids, 8);
    m += ld(span + m, 9, kv, n);                     /* Span.attributes */
    n = ld(ss, 2, span, m);
    m = ld(rs, 2, ss, n);
    n = ld(req, 1, rs, m);
    for (int pbc = 0; pbc < 2; pbc++) {
        stitch_wire_batch_t b;
        stitch_wire_batch_init(&b, 0);
        stitch_wire_error_t err;
        int rc = pbc ? stitch_wire_otlp_proto_decode_pbc(&b, req, n, &err) : stitch_wire_otlp_proto_decode(&b, req, n, &err);
        assert_int_equal(rc, 0);
        assert_int_equal(b.nspans, 1);
        assert_int_equal(b.spans[0].nattrs, 1);
        const stitch_value_t *v = &b.spans[0].attrs[0].value;
        assert_int_equal(v->type, STITCH_VALUE_STRING);
        assert_string_equal(v->u.str, "{\"k\xef\xbf\xbd\":\"v\xef\xbf\xbd\"}");
        stitch_wire_batch_free(&b);
    }
}

static void test_wire_decode_arena_limit(void **state)
{
    struct wfx *f = *state;
    stitch_buf_t pb = STITCH_BUF_INIT(0), jb = STITCH_BUF_INIT(0);
    assert_int_equal(stitch_wire_otlp_proto_encode(f->spans, 5, &pb), 0);
    assert_int_equal(stitch_wire_otlp_json_encode(f->spans, 5, &jb), 0);
    stitch_wire_batch_t b;
    stitch_wire_batch_init(&b, 1024);
    stitch_wire_error_t err;
    assert_int_equal(stitch_wire_otlp_proto_decode(&b, pb.data, pb.len, &err), STITCH_ELIMIT);
    assert_int_equal(err.code, STITCH_ELIMIT);
    assert_string_equal(err.msg, "request needs more than 1024 bytes of decode memory");
    assert_int_equal(b.nspans, 0);
    stitch_wire_batch_reset(&b);
    /* the JSON body itself is over the limit */
    assert_int_equal(stitch_wire_otlp_json_decode(&b, jb.data, jb.len, &err), STITCH_ELIMIT);
    char want[160];
    snprintf(want, sizeof want, "JSON body of %zu bytes exceeds the decode limit of 1024", jb.len);
    assert_string_equal(err.msg, want);
    stitch_wire_batch_free(&b);
    /* under the body limit but over the arena's: 200 attributes of 12
     * bytes each take 48 bytes of records each. Measure, then one short. */
    char doc[4096];
    size_t dl = (size_t)snprintf(doc, sizeof doc, "%s", DOC(SPAN_JSON(GOOD_T, GOOD_S, ",\"attributes\":[")));
    dl -= strlen("]}]}]}") + 1; /* back over the span's closing brace */
    for (int i = 0; i < 200; i++)
        dl += (size_t)snprintf(doc + dl, sizeof doc - dl, "%s{\"key\":\"k\"}", i ? "," : "");
    dl += (size_t)snprintf(doc + dl, sizeof doc - dl, "]}]}]}]}");
    assert_true(dl < sizeof doc);
    stitch_wire_batch_init(&b, 0);
    assert_int_equal(stitch_wire_otlp_json_decode(&b, U8(doc), dl, &err), 0);
    assert_int_equal(b.nspans, 1);
    assert_int_equal(b.spans[0].nattrs, 200);
    size_t need = b.used;
    stitch_wire_batch_free(&b);
    assert_true(need - 16 > dl);
    stitch_wire_batch_init(&b, need - 16);
    assert_int_equal(stitch_wire_otlp_json_decode(&b, U8(doc), dl, &err), STITCH_ELIMIT);
    assert_int_equal(err.code, STITCH_ELIMIT);
    assert_int_equal(b.nspans, 0);
    stitch_wire_batch_free(&b);
    /* exactly enough */
    stitch_wire_batch_init(&b, need);
    assert_int_equal(stitch_wire_otlp_json_decode(&b, U8(doc), dl, &err), 0);
    assert_int_equal(b.nspans, 1);
    stitch_wire_batch_free(&b);
    /* the protobuf request fits an unbounded batch */
    stitch_wire_batch_init(&b, 0);
    assert_int_equal(stitch_wire_otlp_proto_decode(&b, pb.data, pb.len, &err), 0);
    assert_int_equal(b.nspans, 5);
    stitch_wire_batch_free(&b);
    stitch_buf_free(&pb);
    stitch_buf_free(&jb);
}

/* ---- Zipkin ---------------------------------------------------------------------------- */

static void test_wire_decode_zipkin_py_zipkin(void **state)
{
    (void)state;
    /* py_zipkin: one span per request, a 64-bit trace id, integer µs */
    static const char doc[] =
        "[{\"traceId\":\"463ac35c9f6413ad\",\"id\":\"a2fb4a1d1a96d312\",\"name\":\"index\",\"kind\":\"CLIENT\","
        "\"timestamp\":1700000000000000,\"duration\":2000,\"debug\":true,\"shared\":false,"
        "\"localEndpoint\":{\"serviceName\":\"py-svc\",\"ipv4\":\"10.0.0.7\",\"port\":8080},"
        "\"remoteEndpoint\":{\"serviceName\":\"db\",\"ipv4\":\"10.0.0.9\",\"port\":5432},"
        "\"tags\":{\"sql\":\"select 1\"}}]";
    stitch_wire_batch_t b;
    stitch_wire_batch_init(&b, 0);
    stitch_wire_error_t err;
    assert_int_equal(stitch_wire_zipkin_json_decode(&b, U8(doc), strlen(doc), &err), 0);
    assert_int_equal(b.nspans, 1);
    const stitch_span_data_t *s = &b.spans[0];
    char hex[33];
    stitch_trace_id_hex(s->ctx.trace_id, hex);
    assert_string_equal(hex, "0000000000000000463ac35c9f6413ad");
    stitch_span_id_hex(s->ctx.span_id, hex);
    assert_string_equal(hex, "a2fb4a1d1a96d312");
    static const uint8_t zero8[8];
    assert_memory_equal(s->parent_span_id, zero8, 8);
    assert_int_equal(s->ctx.flags, STITCH_FLAG_SAMPLED);
    assert_string_equal(s->name, "index");
    assert_int_equal(s->kind, STITCH_SPAN_KIND_CLIENT);
    assert_true(s->start_ns == 1700000000000000000ull);
    assert_true(s->end_ns == 1700000000002000000ull);
    assert_int_equal(s->nattrs, 7);
    assert_string_equal(s->attrs[0].key, "sql");
    assert_string_equal(s->attrs[0].value.u.str, "select 1");
    assert_string_equal(s->attrs[1].key, "peer.service");
    assert_string_equal(s->attrs[1].value.u.str, "db");
    assert_string_equal(s->attrs[2].key, "network.peer.address");
    assert_string_equal(s->attrs[2].value.u.str, "10.0.0.9");
    assert_string_equal(s->attrs[3].key, "network.peer.port");
    assert_int_equal(s->attrs[3].value.u.i, 5432);
    assert_string_equal(s->attrs[4].key, "network.local.address");
    assert_string_equal(s->attrs[4].value.u.str, "10.0.0.7");
    assert_string_equal(s->attrs[5].key, "network.local.port");
    assert_int_equal(s->attrs[5].value.u.i, 8080);
    assert_string_equal(s->attrs[6].key, "zipkin.debug");
    assert_true(s->attrs[6].value.u.b);
    assert_int_equal(s->nresource, 1);
    assert_string_equal(s->resource[0].key, "service.name");
    assert_string_equal(s->resource[0].value.u.str, "py-svc");
    assert_int_equal(s->status, STITCH_STATUS_UNSET);
    assert_string_equal(s->scope->name, "");
    stitch_wire_batch_free(&b);
}

static void test_wire_decode_zipkin_otel_js(void **state)
{
    (void)state;
    /* OTel JS's Zipkin exporter: fractional µs; two services; error tag */
    static const char doc[] =
        "[{\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"parentId\":\"00f067aa0ba902b7\",\"name\":\"get /api\","
        "\"id\":\"b7ad6b7169203331\",\"kind\":\"SERVER\",\"timestamp\":1700000000123456.789,\"duration\":1500.25,"
        "\"localEndpoint\":{\"serviceName\":\"frontend\"},\"tags\":{\"http.method\":\"GET\",\"http.status_code\":500,"
        "\"otel.status_code\":\"ERROR\",\"error\":\"boom\",\"otel.scope.name\":\"@opentelemetry/instrumentation-http\","
        "\"otel.scope.version\":\"0.52.0\",\"otel.dropped_events_count\":\"2\"},"
        "\"annotations\":[{\"timestamp\":1700000000123500.5,\"value\":\"cache miss\"}]},"
        "{\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"id\":\"c7ad6b7169203331\",\"name\":\"work\","
        "\"timestamp\":1700000000123460,\"duration\":1,\"localEndpoint\":{\"serviceName\":\"worker\"}},"
        "{\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"id\":\"d7ad6b7169203331\",\"name\":\"again\","
        "\"kind\":\"PRODUCER\",\"timestamp\":1700000000123470,\"duration\":3,\"localEndpoint\":{\"serviceName\":\"frontend\"},"
        "\"tags\":{\"otel.scope.name\":\"@opentelemetry/instrumentation-http\",\"otel.scope.version\":\"0.52.0\"}}]";
    stitch_wire_batch_t b;
    stitch_wire_batch_init(&b, 0);
    stitch_wire_error_t err;
    assert_int_equal(stitch_wire_zipkin_json_decode(&b, U8(doc), strlen(doc), &err), 0);
    assert_int_equal(b.nspans, 3);
    const stitch_span_data_t *s = &b.spans[0];
    char hex[17];
    stitch_span_id_hex(s->parent_span_id, hex);
    assert_string_equal(hex, "00f067aa0ba902b7");
    assert_int_equal(s->kind, STITCH_SPAN_KIND_SERVER);
    /* 1700000000123456.789 is 1700000000123456.75 as a double */
    assert_true(s->start_ns == 1700000000123456750ull);
    assert_true(s->end_ns == 1700000000123456750ull + 1500250);
    assert_int_equal(s->status, STITCH_STATUS_ERROR);
    assert_string_equal(s->status_message, "boom");
    assert_int_equal(s->dropped_events, 2);
    assert_int_equal(s->nattrs, 2);
    assert_string_equal(s->attrs[0].key, "http.method");
    assert_string_equal(s->attrs[0].value.u.str, "GET");
    assert_string_equal(s->attrs[1].key, "http.status_code");
    assert_string_equal(s->attrs[1].value.u.str, "500");
    assert_int_equal(s->nevents, 1);
    assert_true(s->events[0].time_ns == 1700000000123500500ull);
    assert_string_equal(s->events[0].name, "cache miss");
    assert_string_equal(s->scope->name, "@opentelemetry/instrumentation-http");
    assert_string_equal(s->scope->version, "0.52.0");
    assert_int_equal(b.spans[1].kind, STITCH_SPAN_KIND_INTERNAL);
    assert_string_equal(b.spans[1].resource[0].value.u.str, "worker");
    /* one resource per local service, one scope per (name, version) */
    assert_ptr_equal(b.spans[0].resource, b.spans[2].resource);
    assert_ptr_not_equal(b.spans[0].resource, b.spans[1].resource);
    assert_ptr_equal(b.spans[0].scope, b.spans[2].scope);
    assert_ptr_not_equal(b.spans[0].scope, b.spans[1].scope);
    assert_int_equal(b.spans[2].status, STITCH_STATUS_UNSET);
    stitch_wire_batch_free(&b);
}

static void expect_zipkin(const char *doc, int rc, size_t nspans, const char *msg)
{
    stitch_wire_batch_t b;
    stitch_wire_batch_init(&b, 0);
    stitch_wire_error_t err;
    assert_int_equal(stitch_wire_zipkin_json_decode(&b, U8(doc), strlen(doc), &err), rc);
    assert_int_equal(b.nspans, nspans);
    assert_string_equal(err.msg, msg);
    stitch_wire_batch_free(&b);
}

#define ZSPAN(extra) "{\"traceId\":\"463ac35c9f6413ad\",\"id\":\"a2fb4a1d1a96d312\",\"timestamp\":1" extra "}"

static void test_wire_decode_zipkin_errors(void **state)
{
    (void)state;
    expect_zipkin("[" ZSPAN("") "," ZSPAN(",\"kind\":\"LOCAL\"") "]", 1, 1,
                  "[1].kind: not CLIENT, SERVER, PRODUCER or CONSUMER");
    expect_zipkin("[" ZSPAN(",\"duration\":-5") "]", 1, 0, "[0].duration: negative");
    expect_zipkin("[{\"traceId\":\"463ac35c9f6413a\",\"id\":\"a2fb4a1d1a96d312\"}]", 1, 0,
                  "[0].traceId: not 16 or 32 hex digits");
    expect_zipkin("[{\"traceId\":\"463ac35c9f6413ad\",\"id\":\"0000000000000000\"}]", 1, 0, "[0].spanId: all zero");
    expect_zipkin("{}", STITCH_EPARSE, 0, "expected a JSON list of spans");
    expect_zipkin("[" ZSPAN(",\"tags\":[]") "]", STITCH_EPARSE, 0, "[0].tags: expected an object");
    expect_zipkin("[" ZSPAN(",\"timestamp\":\"1\"") "]", STITCH_EPARSE, 0, "[0].timestamp: expected a number of microseconds");
    expect_zipkin("[" ZSPAN(",\"timestamp\":1e300") "]", STITCH_EPARSE, 0,
                  "[0].timestamp: expected microseconds that fit in 64-bit nanoseconds");
    expect_zipkin("[" ZSPAN(",\"id\":5") "]", STITCH_EPARSE, 0, "[0].id: expected a string");
    expect_zipkin("[\"\xff\"]", STITCH_EPARSE, 0, "invalid JSON at byte 2 (line 1): unable to decode byte 0xff near '\"'");
}

/* Our own Zipkin encoder's output decodes to the same ids, times, kinds,
 * status, scope and service. */
static void test_wire_decode_zipkin_from_encoder(void **state)
{
    struct wfx *f = *state;
    stitch_buf_t buf = STITCH_BUF_INIT(0);
    assert_int_equal(stitch_wire_zipkin_json_encode(f->spans, 5, &buf), 0);
    stitch_wire_batch_t b;
    stitch_wire_batch_init(&b, 0);
    stitch_wire_error_t err;
    assert_int_equal(stitch_wire_zipkin_json_decode(&b, buf.data, buf.len, &err), 0);
    assert_int_equal(b.nspans, 5);
    for (int i = 0; i < 5; i++) {
        const stitch_span_data_t *s = f->spans[i], *d = &b.spans[i];
        assert_memory_equal(s->ctx.trace_id, d->ctx.trace_id, 16);
        assert_memory_equal(s->ctx.span_id, d->ctx.span_id, 8);
        assert_memory_equal(s->parent_span_id, d->parent_span_id, 8);
        assert_int_equal(s->kind, d->kind);
        assert_true(d->start_ns == s->start_ns / 1000 * 1000);
        assert_int_equal(s->status, d->status);
        assert_string_equal(s->status_message, d->status_message);
        assert_string_equal(s->scope->name, d->scope->name);
        assert_string_equal(s->scope->version, d->scope->version);
        assert_int_equal(s->dropped_attrs, d->dropped_attrs);
        assert_int_equal(s->dropped_events, d->dropped_events);
        assert_int_equal(s->nevents, d->nevents);
        assert_string_equal(s->resource[0].value.u.str, d->resource[0].value.u.str);
    }
    stitch_wire_batch_free(&b);
    stitch_buf_free(&buf);
}

/* Mutated encodings (bytes replaced, bits flipped, cuts, JSON punctuation),
 * 1000 per format, with a roomy and a tight arena: every call returns a
 * known code, and whatever was decoded can be read and re-encoded. Most
 * useful in the sanitizer build. */
static void test_wire_decode_mutations(void **state)
{
    struct wfx *f = *state;
    typedef int (*dec)(stitch_wire_batch_t *, const uint8_t *, size_t, stitch_wire_error_t *);
    static const dec d[3] = {stitch_wire_otlp_proto_decode, stitch_wire_otlp_json_decode,
                             stitch_wire_zipkin_json_decode};
    stitch_buf_t in[3] = {STITCH_BUF_INIT(0), STITCH_BUF_INIT(0), STITCH_BUF_INIT(0)};
    assert_int_equal(stitch_wire_otlp_proto_encode(f->spans, 5, &in[0]), 0);
    assert_int_equal(stitch_wire_otlp_json_encode(f->spans, 5, &in[1]), 0);
    assert_int_equal(stitch_wire_zipkin_json_encode(f->spans, 5, &in[2]), 0);
    uint32_t seed = 12345;
#define RND() (seed = seed * 1103515245u + 12345u, (seed >> 8))
    for (int lim = 0; lim < 2; lim++) {
        stitch_wire_batch_t b;
        stitch_wire_batch_init(&b, lim ? 6000 : 1 << 20);
        for (int it = 0; it < 3000; it++) {
            int k = it % 3;
            size_t n = in[k].len;
            uint8_t *m = malloc(n);
            memcpy(m, in[k].data, n);
            for (int j = (int)(RND() % 4); j >= 0 && n; j--) {
                size_t at = RND() % n;
                switch (RND() % 4) {
                case 0: m[at] = (uint8_t)RND(); break;
                case 1: n = at; break;
                case 2: m[at] ^= (uint8_t)(1u << (RND() % 8)); break;
                default: m[at] = (uint8_t)"{}[]\",:0-e."[RND() % 11]; break;
                }
            }
            stitch_wire_error_t err;
            stitch_wire_batch_reset(&b);
            int rc = d[k](&b, m, n, &err);
            assert_true(rc >= 0 || rc == STITCH_EPARSE || rc == STITCH_ELIMIT);
            assert_int_equal(err.code, rc < 0 ? rc : 0);
            assert_true(rc < 0 ? b.nspans == 0 : (uint32_t)rc == err.rejected);
            assert_true(strlen(err.msg) < sizeof err.msg);
            const stitch_span_data_t *ptrs[8];
            assert_true(b.nspans <= 8);
            for (size_t i = 0; i < b.nspans; i++)
                ptrs[i] = &b.spans[i];
            stitch_buf_t o = STITCH_BUF_INIT(0);
            assert_int_equal(stitch_wire_otlp_json_encode(ptrs, b.nspans, &o), 0);
            assert_int_equal(stitch_wire_zipkin_json_encode(ptrs, b.nspans, &o), 0);
            assert_int_equal(stitch_wire_otlp_proto_encode(ptrs, b.nspans, &o), 0);
            stitch_buf_free(&o);
            free(m);
        }
        stitch_wire_batch_free(&b);
    }
#undef RND
    for (int k = 0; k < 3; k++)
        stitch_buf_free(&in[k]);
}

int main(void)
{
    (void)one_span; /* the fixture's helper for encoder edge cases */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_wire_decode_otlp_proto_round_trip, wfx_setup, wfx_teardown),
        cmocka_unit_test_setup_teardown(test_wire_decode_otlp_json_round_trip, wfx_setup, wfx_teardown),
        cmocka_unit_test(test_wire_decode_otlp_json_js_exporter),
        cmocka_unit_test(test_wire_decode_otlp_json_lenient),
        cmocka_unit_test(test_wire_decode_otlp_json_rejected_spans),
        cmocka_unit_test(test_wire_decode_otlp_json_malformed),
        cmocka_unit_test(test_wire_decode_otlp_proto_malformed),
        cmocka_unit_test(test_wire_decode_otlp_proto_kvlist_not_utf8),
        cmocka_unit_test_setup_teardown(test_wire_decode_arena_limit, wfx_setup, wfx_teardown),
        cmocka_unit_test(test_wire_decode_zipkin_py_zipkin),
        cmocka_unit_test(test_wire_decode_zipkin_otel_js),
        cmocka_unit_test(test_wire_decode_zipkin_errors),
        cmocka_unit_test_setup_teardown(test_wire_decode_zipkin_from_encoder, wfx_setup, wfx_teardown),
        cmocka_unit_test_setup_teardown(test_wire_decode_mutations, wfx_setup, wfx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
