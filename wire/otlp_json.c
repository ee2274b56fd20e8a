/* wire/otlp_json.c — ExportTraceServiceRequest in OTLP/JSON (the protobuf
 * JSON mapping with OTLP's exceptions, opentelemetry-proto
 * docs/specification.md "JSON Protobuf Encoding"): lowerCamelCase keys,
 * trace and span ids as lower-case hex (not base64), enums as integers,
 * 64-bit integers (times, intValue) as decimal strings, NaN/Infinity
 * doubles as the strings "NaN", "Infinity", "-Infinity".
 * Written with the streaming writer of json_write.c (why not a DOM library:
 * see there). Fields with default values are left out as protobuf's JSON
 * mapping does, except the span's identity, name, kind, times and flags,
 * which are always written.
 * Invariant: the output is one valid JSON object whatever bytes the span
 * strings hold (see stitch_wire_json_str). */
#include <math.h>
#include <string.h>

#include "wire/internal.h"

#define TRY(x)                   \
    do {                         \
        int rc_ = (x);           \
        if (rc_)                 \
            return rc_;          \
    } while (0)

static int jdouble(stitch_buf_t *b, double d)
{
    if (isnan(d))
        return STITCH_WIRE_LIT(b, "\"NaN\"");
    if (isinf(d))
        return d > 0 ? STITCH_WIRE_LIT(b, "\"Infinity\"") : STITCH_WIRE_LIT(b, "\"-Infinity\"");
    return stitch_wire_double(b, d);
}

static int jint_str(stitch_buf_t *b, int64_t v)
{
    TRY(STITCH_WIRE_LIT(b, "\""));
    TRY(stitch_wire_i64(b, v));
    return STITCH_WIRE_LIT(b, "\"");
}

static int ju64_str(stitch_buf_t *b, uint64_t v)
{
    TRY(STITCH_WIRE_LIT(b, "\""));
    TRY(stitch_wire_u64(b, v));
    return STITCH_WIRE_LIT(b, "\"");
}

static int jscalar(stitch_buf_t *b, stitch_value_type_t t, const stitch_value_t *v, uint32_t i)
{
    switch (t) {
    case STITCH_VALUE_STRING:
        TRY(STITCH_WIRE_LIT(b, "{\"stringValue\":"));
        TRY(i == UINT32_MAX ? stitch_wire_json_str(b, v->u.str, v->len)
                            : stitch_wire_json_str(b, v->u.strs[i].ptr, v->u.strs[i].len));
        break;
    case STITCH_VALUE_BOOL:
        TRY(STITCH_WIRE_LIT(b, "{\"boolValue\":"));
        TRY((i == UINT32_MAX ? v->u.b : v->u.bools[i]) ? STITCH_WIRE_LIT(b, "true")
                                                        : STITCH_WIRE_LIT(b, "false"));
        break;
    case STITCH_VALUE_INT:
        TRY(STITCH_WIRE_LIT(b, "{\"intValue\":"));
        TRY(jint_str(b, i == UINT32_MAX ? v->u.i : v->u.ints[i]));
        break;
    case STITCH_VALUE_DOUBLE:
        TRY(STITCH_WIRE_LIT(b, "{\"doubleValue\":"));
        TRY(jdouble(b, i == UINT32_MAX ? v->u.d : v->u.doubles[i]));
        break;
    default:
        return STITCH_WIRE_LIT(b, "{}");
    }
    return STITCH_WIRE_LIT(b, "}");
}

static int jvalue(stitch_buf_t *b, const stitch_value_t *v)
{
    stitch_value_type_t et;
    switch (v->type) {
    case STITCH_VALUE_STRING_ARRAY: et = STITCH_VALUE_STRING; break;
    case STITCH_VALUE_BOOL_ARRAY: et = STITCH_VALUE_BOOL; break;
    case STITCH_VALUE_INT_ARRAY: et = STITCH_VALUE_INT; break;
    case STITCH_VALUE_DOUBLE_ARRAY: et = STITCH_VALUE_DOUBLE; break;
    default: return jscalar(b, v->type, v, UINT32_MAX);
    }
    TRY(STITCH_WIRE_LIT(b, "{\"arrayValue\":{\"values\":["));
    for (uint32_t i = 0; i < v->len; i++) {
        if (i)
            TRY(STITCH_WIRE_LIT(b, ","));
        TRY(jscalar(b, et, v, i));
    }
    return STITCH_WIRE_LIT(b, "]}}");
}

/* `,"attributes":[...]` (with `lead` before the key), nothing when n == 0 */
static int jattrs(stitch_buf_t *b, const char *lead, const stitch_attr_t *a, uint32_t n)
{
    if (!n)
        return 0;
    TRY(stitch_wire_put(b, lead, strlen(lead)));
    TRY(STITCH_WIRE_LIT(b, "\"attributes\":["));
    for (uint32_t i = 0; i < n; i++) {
        TRY(i ? STITCH_WIRE_LIT(b, ",{\"key\":") : STITCH_WIRE_LIT(b, "{\"key\":"));
        TRY(stitch_wire_json_str(b, a[i].key, strlen(a[i].key)));
        TRY(STITCH_WIRE_LIT(b, ",\"value\":"));
        TRY(jvalue(b, &a[i].value));
        TRY(STITCH_WIRE_LIT(b, "}"));
    }
    return STITCH_WIRE_LIT(b, "]");
}

static int jcount(stitch_buf_t *b, const char *key_lit, size_t klen, uint32_t v)
{
    if (!v)
        return 0;
    TRY(stitch_wire_put(b, key_lit, klen));
    return stitch_wire_u64(b, v);
}
#define JCOUNT(b, lit, v) jcount((b), (lit), sizeof(lit) - 1, (v))

static int jid(stitch_buf_t *b, const char *key_lit, size_t klen, const uint8_t *id, size_t n)
{
    TRY(stitch_wire_put(b, key_lit, klen));
    TRY(STITCH_WIRE_LIT(b, "\""));
    TRY(stitch_wire_hex(b, id, n));
    return STITCH_WIRE_LIT(b, "\"");
}
#define JID(b, lit, id, n) jid((b), (lit), sizeof(lit) - 1, (id), (n))

static int jtracestate(stitch_buf_t *b, const stitch_tracestate_t *ts)
{
    size_t n = 0;
    const char *s = ts ? stitch_tracestate_str(ts, &n) : "";
    if (!n)
        return 0;
    TRY(STITCH_WIRE_LIT(b, ",\"traceState\":"));
    return stitch_wire_json_str(b, s, n);
}

static int jspan(stitch_buf_t *b, const stitch_span_data_t *d)
{
    static const uint8_t zero[8];
    TRY(JID(b, "{\"traceId\":", d->ctx.trace_id, 16));
    TRY(JID(b, ",\"spanId\":", d->ctx.span_id, 8));
    TRY(jtracestate(b, d->tracestate));
    if (memcmp(d->parent_span_id, zero, 8))
        TRY(JID(b, ",\"parentSpanId\":", d->parent_span_id, 8));
    TRY(STITCH_WIRE_LIT(b, ",\"flags\":"));
    TRY(stitch_wire_u64(b, (uint32_t)d->ctx.flags | 0x100u | (d->parent_remote ? 0x200u : 0)));
    TRY(STITCH_WIRE_LIT(b, ",\"name\":"));
    TRY(stitch_wire_json_str(b, d->name ? d->name : "", d->name ? strlen(d->name) : 0));
    TRY(STITCH_WIRE_LIT(b, ",\"kind\":"));
    TRY(stitch_wire_u64(b, (uint32_t)d->kind));
    TRY(STITCH_WIRE_LIT(b, ",\"startTimeUnixNano\":"));
    TRY(ju64_str(b, d->start_ns));
    TRY(STITCH_WIRE_LIT(b, ",\"endTimeUnixNano\":"));
    TRY(ju64_str(b, d->end_ns));
    TRY(jattrs(b, ",", d->attrs, d->nattrs));
    TRY(JCOUNT(b, ",\"droppedAttributesCount\":", d->dropped_attrs));
    if (d->nevents) {
        TRY(STITCH_WIRE_LIT(b, ",\"events\":["));
        for (uint32_t i = 0; i < d->nevents; i++) {
            const stitch_event_t *e = &d->events[i];
            TRY(i ? STITCH_WIRE_LIT(b, ",{\"timeUnixNano\":") : STITCH_WIRE_LIT(b, "{\"timeUnixNano\":"));
            TRY(ju64_str(b, e->time_ns));
            TRY(STITCH_WIRE_LIT(b, ",\"name\":"));
            TRY(stitch_wire_json_str(b, e->name ? e->name : "", e->name ? strlen(e->name) : 0));
            TRY(jattrs(b, ",", e->attrs, e->nattrs));
            TRY(JCOUNT(b, ",\"droppedAttributesCount\":", e->dropped_attrs));
            TRY(STITCH_WIRE_LIT(b, "}"));
        }
        TRY(STITCH_WIRE_LIT(b, "]"));
    }
    TRY(JCOUNT(b, ",\"droppedEventsCount\":", d->dropped_events));
    if (d->nlinks) {
        TRY(STITCH_WIRE_LIT(b, ",\"links\":["));
        for (uint32_t i = 0; i < d->nlinks; i++) {
            const stitch_link_t *l = &d->links[i];
            if (i)
                TRY(STITCH_WIRE_LIT(b, ","));
            TRY(JID(b, "{\"traceId\":", l->ctx.trace_id, 16));
            TRY(JID(b, ",\"spanId\":", l->ctx.span_id, 8));
            TRY(jtracestate(b, l->tracestate));
            TRY(jattrs(b, ",", l->attrs, l->nattrs));
            TRY(JCOUNT(b, ",\"droppedAttributesCount\":", l->dropped_attrs));
            TRY(STITCH_WIRE_LIT(b, ",\"flags\":"));
            TRY(stitch_wire_u64(b, (uint32_t)l->ctx.flags | 0x100u | (l->ctx.remote ? 0x200u : 0)));
            TRY(STITCH_WIRE_LIT(b, "}"));
        }
        TRY(STITCH_WIRE_LIT(b, "]"));
    }
    TRY(JCOUNT(b, ",\"droppedLinksCount\":", d->dropped_links));
    TRY(STITCH_WIRE_LIT(b, ",\"status\":{"));
    size_t ml = d->status_message ? strlen(d->status_message) : 0;
    if (ml) {
        TRY(STITCH_WIRE_LIT(b, "\"message\":"));
        TRY(stitch_wire_json_str(b, d->status_message, ml));
    }
    if (d->status) {
        TRY(ml ? STITCH_WIRE_LIT(b, ",\"code\":") : STITCH_WIRE_LIT(b, "\"code\":"));
        TRY(stitch_wire_u64(b, (uint32_t)d->status));
    }
    return STITCH_WIRE_LIT(b, "}}");
}

static int encode(const stitch_wire_grouped_t *bt, stitch_buf_t *b)
{
    TRY(STITCH_WIRE_LIT(b, "{\"resourceSpans\":["));
    for (size_t g = 0; g < bt->ngroups;) {
        const stitch_span_data_t *f = bt->groups[g].first;
        TRY(g ? STITCH_WIRE_LIT(b, ",{\"resource\":{") : STITCH_WIRE_LIT(b, "{\"resource\":{"));
        TRY(jattrs(b, "", f->resource, f->nresource));
        TRY(STITCH_WIRE_LIT(b, "},\"scopeSpans\":["));
        size_t g0 = g;
        for (; g < bt->ngroups && bt->groups[g].res == bt->groups[g0].res; g++) {
            const stitch_wire_group_t *gr = &bt->groups[g];
            const stitch_scope_info_t *sc = gr->first->scope;
            TRY(g > g0 ? STITCH_WIRE_LIT(b, ",{\"scope\":{") : STITCH_WIRE_LIT(b, "{\"scope\":{"));
            size_t nl = sc && sc->name ? strlen(sc->name) : 0;
            size_t vl = sc && sc->version ? strlen(sc->version) : 0;
            if (nl) {
                TRY(STITCH_WIRE_LIT(b, "\"name\":"));
                TRY(stitch_wire_json_str(b, sc->name, nl));
            }
            if (vl) {
                TRY(nl ? STITCH_WIRE_LIT(b, ",\"version\":") : STITCH_WIRE_LIT(b, "\"version\":"));
                TRY(stitch_wire_json_str(b, sc->version, vl));
            }
            TRY(STITCH_WIRE_LIT(b, "},\"spans\":["));
            for (size_t i = gr->start; i < gr->start + gr->count; i++) {
                if (i > gr->start)
                    TRY(STITCH_WIRE_LIT(b, ","));
                TRY(jspan(b, bt->spans[i]));
            }
            TRY(STITCH_WIRE_LIT(b, "]}"));
        }
        TRY(STITCH_WIRE_LIT(b, "]}"));
    }
    return STITCH_WIRE_LIT(b, "]}");
}

int stitch_wire_otlp_json_encode(const stitch_span_data_t *const *spans, size_t n,
                                 stitch_buf_t *out)
{
    stitch_wire_grouped_t bt;
    int rc = stitch_wire_group_spans(&bt, spans, n);
    if (rc)
        return rc;
    /* One guess at the size saves the doublings on the way there. */
    size_t guess = 600 * n + 32;
    if (out->max && guess > out->max - out->len)
        guess = out->max - out->len;
    rc = stitch_buf_reserve(out, guess);
    if (!rc)
        rc = encode(&bt, out);
    stitch_wire_grouped_free(&bt);
    return rc;
}
