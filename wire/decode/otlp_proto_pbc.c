/* wire/decode/otlp_proto_pbc.c — the protobuf-c reference decoder of
 * ExportTraceServiceRequest: protobuf-c's generated unpack with the batch's
 * arena as its ProtobufCAllocator, then a conversion that points the records
 * at the unpacked strings (same arena). stitchd decodes with the direct
 * decoder (otlp_proto.c), which was written to give exactly this function's
 * results in about a third of the time; this one stays as the reference the
 * equivalence test, the equivalence fuzz target and bench_decode compare it
 * with (docs/wire.md, "Why the protobuf decoder is written by hand").
 * Invariant: nothing is freed piecemeal — the allocator's free is a no-op
 * and the whole request dies at the batch's reset. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"
#include "wire/decode/internal.h"

typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest Request;
typedef Opentelemetry__Proto__Trace__V1__ResourceSpans ResourceSpans;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans ScopeSpans;
typedef Opentelemetry__Proto__Trace__V1__Span Span;
typedef Opentelemetry__Proto__Trace__V1__Span__Event Event;
typedef Opentelemetry__Proto__Trace__V1__Span__Link Link;
typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;
typedef Opentelemetry__Proto__Common__V1__AnyValue AnyValue;
#define AV(x) OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_##x

static void *arena_alloc(void *data, size_t size) { return stitch_wire_batch_alloc(data, size); }
static void arena_free(void *data, void *p) { (void)data, (void)p; }

/* ---- complex values (kvlist, bytes, mixed or nested arrays) as JSON text ---- */

static json_t *any_json(const AnyValue *v, int depth)
{
    if (!v || depth > STITCH_WIRE_JSON_MAX_DEPTH)
        return json_null();
    switch (v->value_case) {
    case AV(STRING_VALUE): return stitch_wire_text_json(v->string_value, strlen(v->string_value));
    case AV(BOOL_VALUE): return json_boolean(v->bool_value);
    case AV(INT_VALUE): return json_integer(v->int_value);
    case AV(DOUBLE_VALUE): return json_real(v->double_value);
    case AV(BYTES_VALUE): return stitch_wire_b64_json(v->bytes_value.data, v->bytes_value.len);
    case AV(ARRAY_VALUE): {
        json_t *a = json_array();
        for (size_t i = 0; a && v->array_value && i < v->array_value->n_values; i++)
            json_array_append_new(a, any_json(v->array_value->values[i], depth + 1));
        return a;
    }
    case AV(KVLIST_VALUE): {
        json_t *o = json_object();
        for (size_t i = 0; o && v->kvlist_value && i < v->kvlist_value->n_values; i++) {
            const KeyValue *kv = v->kvlist_value->values[i];
            stitch_wire_json_set(o, kv->key, any_json(kv->value, depth + 1));
        }
        return o;
    }
    default: return json_null();
    }
}

/* ---- values ---------------------------------------------------------------- */

static stitch_value_type_t scalar_type(const AnyValue *v)
{
    switch (v ? v->value_case : 0) {
    case AV(STRING_VALUE): return STITCH_VALUE_STRING;
    case AV(BOOL_VALUE): return STITCH_VALUE_BOOL;
    case AV(INT_VALUE): return STITCH_VALUE_INT;
    case AV(DOUBLE_VALUE): return STITCH_VALUE_DOUBLE;
    default: return STITCH_VALUE_NONE;
    }
}

static int complex_value(stitch_wire_batch_t *b, const AnyValue *v, stitch_value_t *out)
{
    return stitch_wire_json_value(b, any_json(v, 0), v->value_case == AV(BYTES_VALUE), out);
}

static int value(stitch_wire_batch_t *b, const AnyValue *v, stitch_value_t *out)
{
    memset(out, 0, sizeof *out);
    if (!v)
        return 0;
    switch (v->value_case) {
    case AV(STRING_VALUE):
        out->type = STITCH_VALUE_STRING;
        out->len = (uint32_t)strlen(v->string_value);
        out->u.str = v->string_value;
        return 0;
    case AV(BOOL_VALUE): out->type = STITCH_VALUE_BOOL; out->u.b = v->bool_value; return 0;
    case AV(INT_VALUE): out->type = STITCH_VALUE_INT; out->u.i = v->int_value; return 0;
    case AV(DOUBLE_VALUE): out->type = STITCH_VALUE_DOUBLE; out->u.d = v->double_value; return 0;
    case AV(ARRAY_VALUE): {
        const Opentelemetry__Proto__Common__V1__ArrayValue *a = v->array_value;
        size_t n = a ? a->n_values : 0;
        stitch_value_type_t et = n ? scalar_type(a->values[0]) : STITCH_VALUE_STRING;
        for (size_t i = 1; i < n && et != STITCH_VALUE_NONE; i++)
            if (scalar_type(a->values[i]) != et)
                et = STITCH_VALUE_NONE;
        if (et == STITCH_VALUE_NONE || n > UINT32_MAX)
            return complex_value(b, v, out);
        out->len = (uint32_t)n;
        switch (et) {
        case STITCH_VALUE_STRING: {
            stitch_str_t *s = stitch_wire_calloc(b, n, sizeof *s);
            if (!s)
                return b->limit_hit ? STITCH_ELIMIT : STITCH_ENOMEM;
            for (size_t i = 0; i < n; i++)
                s[i] = (stitch_str_t){a->values[i]->string_value, strlen(a->values[i]->string_value)};
            out->type = STITCH_VALUE_STRING_ARRAY;
            out->u.strs = s;
            return 0;
        }
        case STITCH_VALUE_BOOL: {
            bool *x = stitch_wire_calloc(b, n, sizeof *x);
            if (!x)
                return b->limit_hit ? STITCH_ELIMIT : STITCH_ENOMEM;
            for (size_t i = 0; i < n; i++)
                x[i] = a->values[i]->bool_value;
            out->type = STITCH_VALUE_BOOL_ARRAY;
            out->u.bools = x;
            return 0;
        }
        case STITCH_VALUE_INT: {
            int64_t *x = stitch_wire_calloc(b, n, sizeof *x);
            if (!x)
                return b->limit_hit ? STITCH_ELIMIT : STITCH_ENOMEM;
            for (size_t i = 0; i < n; i++)
                x[i] = a->values[i]->int_value;
            out->type = STITCH_VALUE_INT_ARRAY;
            out->u.ints = x;
            return 0;
        }
        default: {
            double *x = stitch_wire_calloc(b, n, sizeof *x);
            if (!x)
                return b->limit_hit ? STITCH_ELIMIT : STITCH_ENOMEM;
            for (size_t i = 0; i < n; i++)
                x[i] = a->values[i]->double_value;
            out->type = STITCH_VALUE_DOUBLE_ARRAY;
            out->u.doubles = x;
            return 0;
        }
        }
    }
    case AV(KVLIST_VALUE):
    case AV(BYTES_VALUE): return complex_value(b, v, out);
    default: return 0; /* an empty AnyValue: NONE */
    }
}

static int attrs(stitch_wire_batch_t *b, KeyValue **kv, size_t n, const stitch_attr_t **out,
                 uint32_t *nout)
{
    if (n > UINT32_MAX)
        return STITCH_ELIMIT;
    stitch_attr_t *a = stitch_wire_calloc(b, n, sizeof *a);
    if (!a)
        return b->limit_hit ? STITCH_ELIMIT : STITCH_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        a[i].key = kv[i]->key;
        int rc = value(b, kv[i]->value, &a[i].value);
        if (rc)
            return rc;
    }
    *out = a;
    *nout = (uint32_t)n;
    return 0;
}

/* ---- spans ------------------------------------------------------------------- */

#define TRY(x)                   \
    do {                         \
        int rc_ = (x);           \
        if (rc_)                 \
            return rc_;          \
    } while (0)

/* 0, a negative code, or 1 when the span is invalid (reason in *why) */
static int span(stitch_wire_batch_t *b, const Span *s, stitch_span_data_t *d, const char **why)
{
    if (s->trace_id.len != 16) {
        *why = "traceId: not 16 bytes";
        return 1;
    }
    if (s->span_id.len != 8) {
        *why = "spanId: not 8 bytes";
        return 1;
    }
    if (s->parent_span_id.len != 0 && s->parent_span_id.len != 8) {
        *why = "parentSpanId: not 8 bytes";
        return 1;
    }
    memcpy(d->ctx.trace_id, s->trace_id.data, 16);
    memcpy(d->ctx.span_id, s->span_id.data, 8);
    if (s->parent_span_id.len)
        memcpy(d->parent_span_id, s->parent_span_id.data, 8);
    d->ctx.flags = (uint8_t)(s->flags & 0xff);
    d->parent_remote = (s->flags & 0x100) && (s->flags & 0x200);
    TRY(stitch_wire_tracestate(b, s->trace_state, strlen(s->trace_state), &d->tracestate));
    d->name = s->name;
    /* OTLP: receivers may take UNSPECIFIED as INTERNAL */
    d->kind = s->kind == 0 ? STITCH_SPAN_KIND_INTERNAL : (stitch_span_kind_t)s->kind;
    d->start_ns = s->start_time_unix_nano;
    d->end_ns = s->end_time_unix_nano;
    TRY(attrs(b, s->attributes, s->n_attributes, &d->attrs, &d->nattrs));
    d->dropped_attrs = s->dropped_attributes_count;
    if (s->n_events > UINT32_MAX || s->n_links > UINT32_MAX)
        return STITCH_ELIMIT;
    stitch_event_t *ev = stitch_wire_calloc(b, s->n_events, sizeof *ev);
    stitch_link_t *lk = stitch_wire_calloc(b, s->n_links, sizeof *lk);
    if (!ev || !lk)
        return b->limit_hit ? STITCH_ELIMIT : STITCH_ENOMEM;
    for (size_t i = 0; i < s->n_events; i++) {
        const Event *e = s->events[i];
        ev[i].time_ns = e->time_unix_nano;
        ev[i].name = e->name;
        TRY(attrs(b, e->attributes, e->n_attributes, &ev[i].attrs, &ev[i].nattrs));
        ev[i].dropped_attrs = e->dropped_attributes_count;
    }
    for (size_t i = 0; i < s->n_links; i++) {
        const Link *l = s->links[i];
        if (l->trace_id.len != 16 || l->span_id.len != 8) {
            *why = "links: id of the wrong length";
            return 1;
        }
        memcpy(lk[i].ctx.trace_id, l->trace_id.data, 16);
        memcpy(lk[i].ctx.span_id, l->span_id.data, 8);
        lk[i].ctx.flags = (uint8_t)(l->flags & 0xff);
        lk[i].ctx.remote = (l->flags & 0x100) && (l->flags & 0x200);
        TRY(stitch_wire_tracestate(b, l->trace_state, strlen(l->trace_state), &lk[i].tracestate));
        TRY(attrs(b, l->attributes, l->n_attributes, &lk[i].attrs, &lk[i].nattrs));
        lk[i].dropped_attrs = l->dropped_attributes_count;
    }
    d->events = ev;
    d->nevents = (uint32_t)s->n_events;
    d->dropped_events = s->dropped_events_count;
    d->links = lk;
    d->nlinks = (uint32_t)s->n_links;
    d->dropped_links = s->dropped_links_count;
    d->status = s->status ? (stitch_status_code_t)s->status->code : STITCH_STATUS_UNSET;
    d->status_message = s->status ? s->status->message : "";
    *why = stitch_wire_check_span(d);
    return *why ? 1 : 0;
}

static int convert(stitch_wire_batch_t *b, const Request *r, stitch_wire_error_t *err)
{
    size_t total = 0;
    for (size_t i = 0; i < r->n_resource_spans; i++)
        for (size_t j = 0; j < r->resource_spans[i]->n_scope_spans; j++)
            total += r->resource_spans[i]->scope_spans[j]->n_spans;
    TRY(stitch_wire_reserve_spans(b, total));
    for (size_t i = 0; i < r->n_resource_spans; i++) {
        const ResourceSpans *rs = r->resource_spans[i];
        const stitch_attr_t *res = NULL;
        uint32_t nres = 0;
        if (rs->resource)
            TRY(attrs(b, rs->resource->attributes, rs->resource->n_attributes, &res, &nres));
        else if (!(res = stitch_wire_calloc(b, 0, sizeof *res)))
            return b->limit_hit ? STITCH_ELIMIT : STITCH_ENOMEM;
        for (size_t j = 0; j < rs->n_scope_spans; j++) {
            const ScopeSpans *ss = rs->scope_spans[j];
            stitch_scope_info_t *sc = stitch_wire_calloc(b, 1, sizeof *sc);
            if (!sc)
                return b->limit_hit ? STITCH_ELIMIT : STITCH_ENOMEM;
            sc->name = ss->scope ? ss->scope->name : "";
            sc->version = ss->scope ? ss->scope->version : "";
            for (size_t k = 0; k < ss->n_spans; k++) {
                stitch_span_data_t *d = &b->spans[b->nspans];
                memset(d, 0, sizeof *d);
                const char *why = NULL;
                int rc = span(b, ss->spans[k], d, &why);
                if (rc < 0)
                    return rc;
                if (rc > 0) {
                    stitch_wire_reject(err, "resourceSpans[%zu].scopeSpans[%zu].spans[%zu].%s", i, j, k, why);
                    continue;
                }
                d->resource = res;
                d->nresource = nres;
                d->scope = sc;
                b->nspans++;
            }
        }
    }
    return 0;
}

int stitch_wire_otlp_proto_decode_pbc(stitch_wire_batch_t *b, const uint8_t *p, size_t n,
                                  stitch_wire_error_t *err)
{
    stitch_wire_begin(err);
    size_t n0 = b->nspans;
    ProtobufCAllocator al = {arena_alloc, arena_free, b};
    Request *r = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(&al, n, p);
    if (!r) {
        int rc = b->limit_hit ? stitch_wire_oom(b, err)
                              : stitch_wire_fail(err, STITCH_EPARSE, SIZE_MAX,
                                                 "malformed ExportTraceServiceRequest protobuf (%zu bytes)", n);
        return stitch_wire_end(b, n0, rc, err);
    }
    int rc = convert(b, r, err);
    if (rc == STITCH_ELIMIT || rc == STITCH_ENOMEM)
        rc = stitch_wire_oom(b, err);
    return stitch_wire_end(b, n0, rc, err);
}
