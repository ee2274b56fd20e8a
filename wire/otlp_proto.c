/* wire/otlp_proto.c — ExportTraceServiceRequest in protobuf, written
 * straight from stitch_span_data_t.
 *
 * Why by hand and not with protobuf-c (the project's rule is to use the
 * library unless a benchmark shows it is the bottleneck): bench/bench_wire
 * encodes 512 realistic spans (10 attributes, 1 event) both ways. See
 * FIGURES below and docs/wire.md. protobuf-c needs the whole request built
 * as generated structs first (a KeyValue + AnyValue per attribute, pointer
 * arrays per level), then its pack() recomputes every submessage's size at
 * every nesting level (request > resource > scope > span > attribute >
 * value), so the inner levels are measured several times over.
 *
 * How: two passes. The first computes each span's encoded size (and from
 * those the scope and resource sizes), so every length prefix is known
 * before it is written; the second writes into one exact reservation with
 * no further bounds checks. Output is canonical proto3: fields in number
 * order, zero / empty scalars left out (a set oneof value is always kept).
 *
 * Invariant: the second pass writes exactly the bytes the first pass
 * counted (checked by comparing the end pointer); the tests decode the
 * output with protobuf-c and compare every field. */
#include <stdlib.h>
#include <string.h>

#include "wire/internal.h"

/* FIGURES: `build/bin/bench_wire` (RelWithDebInfo, -O2), 512 spans of 10
 * attributes + 1 event, median of 15 runs x 40 batches, 2-core KVM guest
 * (AMD EPYC 2.1 GHz), gcc 12.2, protobuf-c 1.4.1:
 *   this encoder                   264 ns/span  3.78 M spans/s  456 B/span
 *   protobuf-c, arena-built structs 1066 ns/span  0.94 M spans/s  456 B/span
 * (byte-identical output, checked by the benchmark). protobuf-c alone
 * exceeds the ~500 ns/span the exporter thread can spend at 1 M spans/s,
 * before gzip and HTTP; this encoder leaves half of that budget free. */

/* ---- sizes -------------------------------------------------------------- */

static inline size_t vsize(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* A length-delimited field with a one-byte tag around `n` content bytes. */
static inline size_t ldsize(size_t n) { return 1 + vsize(n) + n; }

static size_t anyvalue_size(const stitch_value_t *v);

static size_t elem_size(const stitch_value_t *v, uint32_t i)
{
    switch (v->type) {
    case STITCH_VALUE_STRING_ARRAY: return ldsize(v->u.strs[i].len);
    case STITCH_VALUE_BOOL_ARRAY: return 2;
    case STITCH_VALUE_INT_ARRAY: return 1 + vsize((uint64_t)v->u.ints[i]);
    default: return 9; /* double */
    }
}

static size_t anyvalue_size(const stitch_value_t *v)
{
    switch (v->type) {
    case STITCH_VALUE_STRING: return ldsize(v->len);
    case STITCH_VALUE_BOOL: return 2;
    case STITCH_VALUE_INT: return 1 + vsize((uint64_t)v->u.i);
    case STITCH_VALUE_DOUBLE: return 9;
    case STITCH_VALUE_STRING_ARRAY:
    case STITCH_VALUE_BOOL_ARRAY:
    case STITCH_VALUE_INT_ARRAY:
    case STITCH_VALUE_DOUBLE_ARRAY: {
        size_t arr = 0;
        for (uint32_t i = 0; i < v->len; i++)
            arr += ldsize(elem_size(v, i)); /* ArrayValue.values = 1 */
        return ldsize(arr);                 /* AnyValue.array_value = 5 */
    }
    default: return 0; /* NONE: an empty AnyValue */
    }
}

static inline size_t kv_size(const stitch_attr_t *a)
{
    size_t klen = strlen(a->key);
    return (klen ? ldsize(klen) : 0) + ldsize(anyvalue_size(&a->value));
}

static size_t attrs_size(const stitch_attr_t *a, uint32_t n)
{
    size_t s = 0;
    for (uint32_t i = 0; i < n; i++)
        s += ldsize(kv_size(&a[i]));
    return s;
}

static inline size_t str_field(const char *s) { size_t n = s ? strlen(s) : 0; return n ? ldsize(n) : 0; }
static inline size_t u32_field(uint32_t v) { return v ? 1 + vsize(v) : 0; }

static inline uint32_t ctx_flags(const stitch_span_ctx_t *c, bool remote)
{
    /* SpanFlags: trace flags in bits 0-7, bit 8 "is-remote known", bit 9 remote. */
    return (uint32_t)c->flags | 0x100u | (remote ? 0x200u : 0);
}

static inline bool is_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

static const char *tstate(const stitch_tracestate_t *ts, size_t *len)
{
    *len = 0;
    return ts ? stitch_tracestate_str(ts, len) : "";
}

static size_t event_size(const stitch_event_t *e)
{
    return (e->time_ns ? 9 : 0) + str_field(e->name) + attrs_size(e->attrs, e->nattrs) +
           u32_field(e->dropped_attrs);
}

static size_t link_size(const stitch_link_t *l)
{
    size_t tsl;
    tstate(l->tracestate, &tsl);
    return 18 + 10 + (tsl ? ldsize(tsl) : 0) + attrs_size(l->attrs, l->nattrs) +
           u32_field(l->dropped_attrs) + 5;
}

static size_t status_size(const stitch_span_data_t *d)
{
    return str_field(d->status_message) + u32_field((uint32_t)d->status);
}

static size_t span_size(const stitch_span_data_t *d)
{
    size_t tsl;
    tstate(d->tracestate, &tsl);
    size_t s = 18 + 10; /* trace_id, span_id */
    s += tsl ? ldsize(tsl) : 0;
    s += is_zero(d->parent_span_id, 8) ? 0 : 10;
    s += str_field(d->name);
    s += u32_field((uint32_t)d->kind);
    s += (d->start_ns ? 9 : 0) + (d->end_ns ? 9 : 0);
    s += attrs_size(d->attrs, d->nattrs) + u32_field(d->dropped_attrs);
    for (uint32_t i = 0; i < d->nevents; i++)
        s += ldsize(event_size(&d->events[i]));
    s += u32_field(d->dropped_events);
    for (uint32_t i = 0; i < d->nlinks; i++)
        s += ldsize(link_size(&d->links[i]));
    s += u32_field(d->dropped_links);
    size_t st = status_size(d);
    s += st ? ldsize(st) : 0;
    s += 2 + 4; /* flags = 16: two-byte tag, fixed32 */
    return s;
}

static size_t scope_size(const stitch_scope_info_t *sc)
{
    return sc ? str_field(sc->name) + str_field(sc->version) : 0;
}

/* ---- writing (into space already reserved) ---------------------------------- */

static inline uint8_t *put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

/* tag byte for field f with wire type w (f <= 15) */
#define TAG(f, w) ((uint8_t)(((f) << 3) | (w)))
enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

static inline uint8_t *put_len(uint8_t *p, unsigned f, size_t n)
{
    *p++ = TAG(f, WT_LEN);
    return put_varint(p, n);
}

static inline uint8_t *put_bytes(uint8_t *p, unsigned f, const void *s, size_t n)
{
    p = put_len(p, f, n);
    memcpy(p, s, n);
    return p + n;
}

static inline uint8_t *put_str(uint8_t *p, unsigned f, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n ? put_bytes(p, f, s, n) : p;
}

static inline uint8_t *put_u32(uint8_t *p, unsigned f, uint32_t v)
{
    if (!v)
        return p;
    *p++ = TAG(f, WT_VARINT);
    return put_varint(p, v);
}

static inline uint8_t *put_fixed64(uint8_t *p, unsigned f, uint64_t v)
{
    if (!v)
        return p;
    *p++ = TAG(f, WT_I64);
    for (int i = 0; i < 8; i++)
        *p++ = (uint8_t)(v >> (8 * i));
    return p;
}

static inline uint8_t *put_double(uint8_t *p, unsigned f, double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    *p++ = TAG(f, WT_I64);
    for (int i = 0; i < 8; i++)
        *p++ = (uint8_t)(u >> (8 * i));
    return p;
}

static uint8_t *put_anyvalue(uint8_t *p, const stitch_value_t *v)
{
    switch (v->type) {
    case STITCH_VALUE_STRING:
        return put_bytes(p, 1, v->u.str, v->len);
    case STITCH_VALUE_BOOL:
        *p++ = TAG(2, WT_VARINT);
        *p++ = v->u.b ? 1 : 0;
        return p;
    case STITCH_VALUE_INT:
        *p++ = TAG(3, WT_VARINT);
        return put_varint(p, (uint64_t)v->u.i);
    case STITCH_VALUE_DOUBLE:
        return put_double(p, 4, v->u.d);
    case STITCH_VALUE_STRING_ARRAY:
    case STITCH_VALUE_BOOL_ARRAY:
    case STITCH_VALUE_INT_ARRAY:
    case STITCH_VALUE_DOUBLE_ARRAY: {
        size_t arr = 0;
        for (uint32_t i = 0; i < v->len; i++)
            arr += ldsize(elem_size(v, i));
        p = put_len(p, 5, arr);
        for (uint32_t i = 0; i < v->len; i++) {
            p = put_len(p, 1, elem_size(v, i));
            switch (v->type) {
            case STITCH_VALUE_STRING_ARRAY:
                p = put_bytes(p, 1, v->u.strs[i].ptr, v->u.strs[i].len);
                break;
            case STITCH_VALUE_BOOL_ARRAY:
                *p++ = TAG(2, WT_VARINT);
                *p++ = v->u.bools[i] ? 1 : 0;
                break;
            case STITCH_VALUE_INT_ARRAY:
                *p++ = TAG(3, WT_VARINT);
                p = put_varint(p, (uint64_t)v->u.ints[i]);
                break;
            default:
                p = put_double(p, 4, v->u.doubles[i]);
            }
        }
        return p;
    }
    default:
        return p;
    }
}

static uint8_t *put_attrs(uint8_t *p, unsigned f, const stitch_attr_t *a, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        size_t klen = strlen(a[i].key);
        size_t avs = anyvalue_size(&a[i].value);
        p = put_len(p, f, (klen ? ldsize(klen) : 0) + ldsize(avs));
        if (klen)
            p = put_bytes(p, 1, a[i].key, klen);
        p = put_len(p, 2, avs);
        p = put_anyvalue(p, &a[i].value);
    }
    return p;
}

static inline uint8_t *put_flags(uint8_t *p, unsigned f, uint32_t v)
{
    if (f >= 16) {
        p = put_varint(p, ((uint64_t)f << 3) | WT_I32);
    } else {
        *p++ = TAG(f, WT_I32);
    }
    for (int i = 0; i < 4; i++)
        *p++ = (uint8_t)(v >> (8 * i));
    return p;
}

static uint8_t *put_span(uint8_t *p, const stitch_span_data_t *d)
{
    size_t tsl;
    const char *ts = tstate(d->tracestate, &tsl);
    p = put_bytes(p, 1, d->ctx.trace_id, 16);
    p = put_bytes(p, 2, d->ctx.span_id, 8);
    if (tsl)
        p = put_bytes(p, 3, ts, tsl);
    if (!is_zero(d->parent_span_id, 8))
        p = put_bytes(p, 4, d->parent_span_id, 8);
    p = put_str(p, 5, d->name);
    p = put_u32(p, 6, (uint32_t)d->kind);
    p = put_fixed64(p, 7, d->start_ns);
    p = put_fixed64(p, 8, d->end_ns);
    p = put_attrs(p, 9, d->attrs, d->nattrs);
    p = put_u32(p, 10, d->dropped_attrs);
    for (uint32_t i = 0; i < d->nevents; i++) {
        const stitch_event_t *e = &d->events[i];
        p = put_len(p, 11, event_size(e));
        p = put_fixed64(p, 1, e->time_ns);
        p = put_str(p, 2, e->name);
        p = put_attrs(p, 3, e->attrs, e->nattrs);
        p = put_u32(p, 4, e->dropped_attrs);
    }
    p = put_u32(p, 12, d->dropped_events);
    for (uint32_t i = 0; i < d->nlinks; i++) {
        const stitch_link_t *l = &d->links[i];
        size_t ltsl;
        const char *lts = tstate(l->tracestate, &ltsl);
        p = put_len(p, 13, link_size(l));
        p = put_bytes(p, 1, l->ctx.trace_id, 16);
        p = put_bytes(p, 2, l->ctx.span_id, 8);
        if (ltsl)
            p = put_bytes(p, 3, lts, ltsl);
        p = put_attrs(p, 4, l->attrs, l->nattrs);
        p = put_u32(p, 5, l->dropped_attrs);
        p = put_flags(p, 6, ctx_flags(&l->ctx, l->ctx.remote != 0));
    }
    p = put_u32(p, 14, d->dropped_links);
    size_t st = status_size(d);
    if (st) {
        p = put_len(p, 15, st);
        p = put_str(p, 2, d->status_message);
        p = put_u32(p, 3, (uint32_t)d->status);
    }
    return put_flags(p, 16, ctx_flags(&d->ctx, d->parent_remote));
}

int stitch_wire_otlp_proto_encode(const stitch_span_data_t *const *spans, size_t n,
                                  stitch_buf_t *out)
{
    if (n == 0)
        return 0; /* an empty request is zero bytes */
    stitch_wire_grouped_t bt;
    int rc = stitch_wire_group_spans(&bt, spans, n);
    if (rc)
        return rc;
    /* sizes: per span, then per group (ScopeSpans), then per resource */
    size_t *ssz = malloc((n + 2 * bt.ngroups) * sizeof *ssz);
    if (!ssz) {
        stitch_wire_grouped_free(&bt);
        return STITCH_ENOMEM;
    }
    size_t *gsz = ssz + n, *rsz = gsz + bt.ngroups; /* rsz indexed by first group of a resource */
    size_t total = 0;
    for (size_t g = 0; g < bt.ngroups; g++) {
        const stitch_wire_group_t *gr = &bt.groups[g];
        size_t sc = scope_size(gr->first->scope);
        size_t s = ldsize(sc); /* ScopeSpans.scope = 1, present even when empty */
        for (size_t i = gr->start; i < gr->start + gr->count; i++) {
            ssz[i] = span_size(bt.spans[i]);
            s += ldsize(ssz[i]);
        }
        gsz[g] = s;
    }
    for (size_t g = 0; g < bt.ngroups;) {
        const stitch_span_data_t *f = bt.groups[g].first;
        size_t r = ldsize(attrs_size(f->resource, f->nresource)); /* ResourceSpans.resource = 1 */
        size_t g0 = g;
        for (; g < bt.ngroups && bt.groups[g].res == bt.groups[g0].res; g++)
            r += ldsize(gsz[g]);
        rsz[g0] = r;
        total += ldsize(r);
    }

    if ((rc = stitch_buf_reserve(out, total)))
        goto done;
    uint8_t *p = out->data + out->len, *end = p + total;
    for (size_t g = 0; g < bt.ngroups;) {
        const stitch_span_data_t *f = bt.groups[g].first;
        p = put_len(p, 1, rsz[g]);
        p = put_len(p, 1, attrs_size(f->resource, f->nresource));
        p = put_attrs(p, 1, f->resource, f->nresource);
        size_t g0 = g;
        for (; g < bt.ngroups && bt.groups[g].res == bt.groups[g0].res; g++) {
            const stitch_wire_group_t *gr = &bt.groups[g];
            p = put_len(p, 2, gsz[g]);
            p = put_len(p, 1, scope_size(gr->first->scope));
            if (gr->first->scope) {
                p = put_str(p, 1, gr->first->scope->name);
                p = put_str(p, 2, gr->first->scope->version);
            }
            for (size_t i = gr->start; i < gr->start + gr->count; i++) {
                p = put_len(p, 2, ssz[i]);
                p = put_span(p, bt.spans[i]);
            }
        }
    }
    if (p != end) { /* the two passes disagree: a bug, never sent */
        rc = STITCH_EINVAL;
        goto done;
    }
    out->len += total;
done:
    free(ssz);
    stitch_wire_grouped_free(&bt);
    return rc;
}
