/* bench/bench_wire.c — what encoding a batch costs on the exporter thread.
 *
 * One batch of 512 realistic spans (random ids, 10 attributes of mixed
 * types with varying values, 1 event with 2 attributes, two scopes), encoded
 * again and again into a reused buffer. Figures are medians of RUNS runs of
 * ITERS batches each, in ns per span and spans per second:
 *   otlp_proto     stitch_wire_otlp_proto_encode (the direct encoder)
 *   protobuf_c     the same request built as protobuf-c structs in a per-call
 *                  arena, then protobuf_c_message_pack (kept for comparison:
 *                  it is the library the direct encoder replaced)
 *   otlp_json      stitch_wire_otlp_json_encode
 *   zipkin_json    stitch_wire_zipkin_json_encode
 * and the bytes per span of each encoding. Both protobuf outputs are
 * checked to be byte-identical before timing.
 *
 * Usage: bench_wire [--runs N] [--iters N] [--spans N] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"
#include "bench/spans.h"
#include "stitch/stitch.h"
#include "wire/internal.h"

static int RUNS = 15;
static int ITERS = 40;
static size_t NSPANS = 512;

/* ---- the protobuf-c encoder (comparison) -------------------------------------- */

typedef Opentelemetry__Proto__Common__V1__AnyValue AnyValue;
typedef Opentelemetry__Proto__Common__V1__ArrayValue ArrayValue;
typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope Scope;
typedef Opentelemetry__Proto__Resource__V1__Resource Resource;
typedef Opentelemetry__Proto__Trace__V1__ResourceSpans ResourceSpans;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans ScopeSpans;
typedef Opentelemetry__Proto__Trace__V1__Span Span;
typedef Opentelemetry__Proto__Trace__V1__Span__Event Event;
typedef Opentelemetry__Proto__Trace__V1__Span__Link Link;
typedef Opentelemetry__Proto__Trace__V1__Status Status;
typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest Request;

/* A bump arena reset per call: what "no malloc per message" looks like
 * with protobuf-c's generated structs. */
struct arena {
    char *mem;
    size_t used, cap;
};

static void *aalloc(struct arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (a->used + n > a->cap) {
        fprintf(stderr, "bench_wire: arena too small\n");
        exit(1);
    }
    void *p = a->mem + a->used;
    a->used += n;
    return p;
}

static void pc_value(struct arena *ar, AnyValue *av, const stitch_value_t *v)
{
    static const AnyValue init = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    *av = init;
    switch (v->type) {
    case STITCH_VALUE_STRING:
        av->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
        av->string_value = (char *)v->u.str;
        break;
    case STITCH_VALUE_BOOL:
        av->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
        av->bool_value = v->u.b;
        break;
    case STITCH_VALUE_INT:
        av->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
        av->int_value = v->u.i;
        break;
    case STITCH_VALUE_DOUBLE:
        av->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
        av->double_value = v->u.d;
        break;
    default: {
        static const ArrayValue ainit = OPENTELEMETRY__PROTO__COMMON__V1__ARRAY_VALUE__INIT;
        ArrayValue *arr = aalloc(ar, sizeof *arr);
        *arr = ainit;
        arr->n_values = v->len;
        arr->values = aalloc(ar, v->len * sizeof(AnyValue *));
        AnyValue *el = aalloc(ar, v->len * sizeof(AnyValue));
        for (uint32_t i = 0; i < v->len; i++) {
            stitch_value_t e = {0};
            switch (v->type) {
            case STITCH_VALUE_STRING_ARRAY:
                e = (stitch_value_t){STITCH_VALUE_STRING, (uint32_t)v->u.strs[i].len, {.str = v->u.strs[i].ptr}};
                break;
            case STITCH_VALUE_BOOL_ARRAY: e = (stitch_value_t){STITCH_VALUE_BOOL, 0, {.b = v->u.bools[i]}}; break;
            case STITCH_VALUE_INT_ARRAY: e = (stitch_value_t){STITCH_VALUE_INT, 0, {.i = v->u.ints[i]}}; break;
            default: e = (stitch_value_t){STITCH_VALUE_DOUBLE, 0, {.d = v->u.doubles[i]}};
            }
            pc_value(ar, &el[i], &e);
            arr->values[i] = &el[i];
        }
        av->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
        av->array_value = arr;
    }
    }
}

static KeyValue **pc_attrs(struct arena *ar, const stitch_attr_t *a, uint32_t n)
{
    static const KeyValue kinit = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
    KeyValue **v = aalloc(ar, n * sizeof *v);
    KeyValue *kv = aalloc(ar, n * sizeof *kv);
    AnyValue *av = aalloc(ar, n * sizeof *av);
    for (uint32_t i = 0; i < n; i++) {
        kv[i] = kinit;
        kv[i].key = (char *)a[i].key;
        pc_value(ar, &av[i], &a[i].value);
        kv[i].value = &av[i];
        v[i] = &kv[i];
    }
    return v;
}

static char *pc_tstate(const stitch_tracestate_t *ts)
{
    size_t n;
    return ts ? (char *)stitch_tracestate_str(ts, &n) : (char *)"";
}

static void pc_span(struct arena *ar, Span *s, const stitch_span_data_t *d)
{
    static const Span sinit = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__INIT;
    static const Event einit = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__EVENT__INIT;
    static const Link linit = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__LINK__INIT;
    static const Status stinit = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__INIT;
    static const uint8_t zero[8];
    *s = sinit;
    s->trace_id = (ProtobufCBinaryData){16, (uint8_t *)d->ctx.trace_id};
    s->span_id = (ProtobufCBinaryData){8, (uint8_t *)d->ctx.span_id};
    s->trace_state = pc_tstate(d->tracestate);
    if (memcmp(d->parent_span_id, zero, 8))
        s->parent_span_id = (ProtobufCBinaryData){8, (uint8_t *)d->parent_span_id};
    s->flags = d->ctx.flags | 0x100u | (d->parent_remote ? 0x200u : 0);
    s->name = (char *)d->name;
    s->kind = (Opentelemetry__Proto__Trace__V1__Span__SpanKind)d->kind;
    s->start_time_unix_nano = d->start_ns;
    s->end_time_unix_nano = d->end_ns;
    s->n_attributes = d->nattrs;
    s->attributes = pc_attrs(ar, d->attrs, d->nattrs);
    s->dropped_attributes_count = d->dropped_attrs;
    s->n_events = d->nevents;
    s->events = aalloc(ar, d->nevents * sizeof(Event *));
    Event *ev = aalloc(ar, d->nevents * sizeof(Event));
    for (uint32_t i = 0; i < d->nevents; i++) {
        ev[i] = einit;
        ev[i].time_unix_nano = d->events[i].time_ns;
        ev[i].name = (char *)d->events[i].name;
        ev[i].n_attributes = d->events[i].nattrs;
        ev[i].attributes = pc_attrs(ar, d->events[i].attrs, d->events[i].nattrs);
        ev[i].dropped_attributes_count = d->events[i].dropped_attrs;
        s->events[i] = &ev[i];
    }
    s->dropped_events_count = d->dropped_events;
    s->n_links = d->nlinks;
    s->links = aalloc(ar, d->nlinks * sizeof(Link *));
    Link *lk = aalloc(ar, d->nlinks * sizeof(Link));
    for (uint32_t i = 0; i < d->nlinks; i++) {
        const stitch_link_t *l = &d->links[i];
        lk[i] = linit;
        lk[i].trace_id = (ProtobufCBinaryData){16, (uint8_t *)l->ctx.trace_id};
        lk[i].span_id = (ProtobufCBinaryData){8, (uint8_t *)l->ctx.span_id};
        lk[i].trace_state = pc_tstate(l->tracestate);
        lk[i].n_attributes = l->nattrs;
        lk[i].attributes = pc_attrs(ar, l->attrs, l->nattrs);
        lk[i].dropped_attributes_count = l->dropped_attrs;
        lk[i].flags = l->ctx.flags | 0x100u | (l->ctx.remote ? 0x200u : 0);
        s->links[i] = &lk[i];
    }
    s->dropped_links_count = d->dropped_links;
    if (d->status != STITCH_STATUS_UNSET || d->status_message[0]) {
        Status *st = aalloc(ar, sizeof *st);
        *st = stinit;
        st->code = (Opentelemetry__Proto__Trace__V1__Status__StatusCode)d->status;
        st->message = (char *)d->status_message;
        s->status = st;
    }
}

static int protobuf_c_encode(struct arena *ar, const stitch_span_data_t *const *spans, size_t n,
                             stitch_buf_t *out)
{
    static const Request rinit = OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_REQUEST__INIT;
    static const ResourceSpans rsinit = OPENTELEMETRY__PROTO__TRACE__V1__RESOURCE_SPANS__INIT;
    static const ScopeSpans ssinit = OPENTELEMETRY__PROTO__TRACE__V1__SCOPE_SPANS__INIT;
    static const Scope scinit = OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT;
    static const Resource resinit = OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
    ar->used = 0;
    stitch_wire_grouped_t bt;
    if (stitch_wire_group_spans(&bt, spans, n))
        return STITCH_ENOMEM;
    Request req = rinit;
    req.resource_spans = aalloc(ar, bt.ngroups * sizeof(ResourceSpans *));
    Span *sp = aalloc(ar, n * sizeof(Span));
    for (size_t g = 0; g < bt.ngroups;) {
        const stitch_span_data_t *f = bt.groups[g].first;
        ResourceSpans *rs = aalloc(ar, sizeof *rs);
        *rs = rsinit;
        Resource *res = aalloc(ar, sizeof *res);
        *res = resinit;
        res->n_attributes = f->nresource;
        res->attributes = pc_attrs(ar, f->resource, f->nresource);
        rs->resource = res;
        rs->scope_spans = aalloc(ar, bt.ngroups * sizeof(ScopeSpans *));
        req.resource_spans[req.n_resource_spans++] = rs;
        size_t g0 = g;
        for (; g < bt.ngroups && bt.groups[g].res == bt.groups[g0].res; g++) {
            const stitch_wire_group_t *gr = &bt.groups[g];
            ScopeSpans *ss = aalloc(ar, sizeof *ss);
            *ss = ssinit;
            Scope *sc = aalloc(ar, sizeof *sc);
            *sc = scinit;
            sc->name = (char *)gr->first->scope->name;
            sc->version = (char *)gr->first->scope->version;
            ss->scope = sc;
            ss->n_spans = gr->count;
            ss->spans = aalloc(ar, gr->count * sizeof(Span *));
            for (size_t i = 0; i < gr->count; i++) {
                Span *s = &sp[gr->start + i];
                pc_span(ar, s, bt.spans[gr->start + i]);
                ss->spans[i] = s;
            }
            rs->scope_spans[rs->n_scope_spans++] = ss;
        }
    }
    stitch_wire_grouped_free(&bt);
    size_t sz = opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(&req);
    int rc = stitch_buf_reserve(out, sz);
    if (rc)
        return rc;
    out->len += opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(
        &req, out->data + out->len);
    return 0;
}

enum { C_PROTO, C_PROTOBUF_C, C_JSON, C_ZIPKIN, NCASES };
static const char *case_names[NCASES] = {"otlp_proto", "protobuf_c", "otlp_json", "zipkin_json"};

static struct arena g_arena;

static int encode(int c, const stitch_span_data_t *const *spans, size_t n, stitch_buf_t *b)
{
    switch (c) {
    case C_PROTO: return stitch_wire_otlp_proto_encode(spans, n, b);
    case C_PROTOBUF_C: return protobuf_c_encode(&g_arena, spans, n, b);
    case C_JSON: return stitch_wire_otlp_json_encode(spans, n, b);
    default: return stitch_wire_zipkin_json_encode(spans, n, b);
    }
}

int main(int argc, char **argv)
{
    stitch_provider_t *p;
    const stitch_span_data_t **spans = bench_start("bench_wire", argc, argv, &RUNS, &ITERS, &NSPANS, &p);
    g_arena.cap = NSPANS * 4096 + 65536;
    g_arena.mem = malloc(g_arena.cap);

    /* Both protobuf encoders must produce the same bytes. */
    stitch_buf_t a = STITCH_BUF_INIT(0), b = STITCH_BUF_INIT(0);
    if (encode(C_PROTO, spans, NSPANS, &a) || encode(C_PROTOBUF_C, spans, NSPANS, &b) ||
        a.len != b.len || memcmp(a.data, b.data, a.len)) {
        fprintf(stderr, "bench_wire: the two protobuf encodings differ (%zu vs %zu bytes)\n", a.len, b.len);
        return 1;
    }
    stitch_buf_free(&a);
    stitch_buf_free(&b);

    printf("# bench_wire: %zu spans per batch, median of %d runs x %d batches\n", NSPANS, RUNS, ITERS);
    printf("# %-12s %10s %12s %12s\n", "encoder", "ns/span", "spans/s", "bytes/span");
    double *r = malloc(sizeof(double) * (size_t)RUNS);
    for (int c = 0; c < NCASES; c++) {
        stitch_buf_t out = STITCH_BUF_INIT(0);
        for (int k = 0; k < RUNS; k++) {
            double t0 = now_s();
            for (int it = 0; it < ITERS; it++) {
                stitch_buf_reset(&out);
                if (encode(c, spans, NSPANS, &out)) {
                    fprintf(stderr, "bench_wire: %s failed\n", case_names[c]);
                    return 1;
                }
            }
            r[k] = (now_s() - t0) * 1e9 / ((double)ITERS * (double)NSPANS);
        }
        qsort(r, (size_t)RUNS, sizeof *r, cmp_double);
        double med = r[RUNS / 2];
        printf("%-14s %10.1f %12.0f %12.1f\n", case_names[c], med, 1e9 / med,
               (double)out.len / (double)NSPANS);
        stitch_buf_free(&out);
    }
    free(r);
    free(spans);
    free(g_arena.mem);
    stitch_provider_free(p);
    return 0;
}
