/* wire/decode/otlp_json.c — ExportTraceServiceRequest (OTLP/JSON) into
 * span records, over jansson's DOM. Lenient as OTLP asks of receivers and
 * as real clients need (SPECS.md): lowerCamelCase or snake_case keys, hex
 * ids in either case, 64-bit integers as strings or numbers, enums as
 * integers or names, unknown fields ignored, null or absent = default.
 * A value of the wrong JSON type (a string where a list belongs, "abc" as
 * a time) makes the document malformed (STITCH_EPARSE, like a wrong wire
 * type in protobuf); a well-typed but invalid value (an id of the wrong
 * length, all-zero ids, end before start, a kind out of range) rejects that
 * one span.
 * Invariant: the DOM is freed before returning; records point only into
 * the arena. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/decode/json_util.h"

#define GET(o, camel, snake) stitch_wire_json_get((o), camel, snake)

struct cx {
    stitch_wire_batch_t *b;
    stitch_wire_error_t *err;
    size_t i, j, k; /* resourceSpans / scopeSpans / spans being read */
    int level;      /* how many of them are meaningful */
};

/* "resourceSpans[0].scopeSpans[1].spans[2]" for the current position */
static const char *where(const struct cx *c, char *buf, size_t len)
{
    int w;
    if (c->level >= 3)
        w = snprintf(buf, len, "resourceSpans[%zu].scopeSpans[%zu].spans[%zu].", c->i, c->j, c->k);
    else if (c->level == 2)
        w = snprintf(buf, len, "resourceSpans[%zu].scopeSpans[%zu].", c->i, c->j);
    else if (c->level == 1)
        w = snprintf(buf, len, "resourceSpans[%zu].", c->i);
    else
        w = snprintf(buf, len, "%s", "");
    if (w < 0)
        buf[0] = 0;
    return buf;
}

static int type_error(struct cx *c, const char *field, const char *expected)
{
    char p[96];
    return stitch_wire_fail(c->err, STITCH_EPARSE, SIZE_MAX, "%s%s: expected %s", where(c, p, sizeof p),
                            field, expected);
}

static int oom(struct cx *c) { return c->b->limit_hit ? STITCH_ELIMIT : STITCH_ENOMEM; }

#define TRY(x)                   \
    do {                         \
        int rc_ = (x);           \
        if (rc_)                 \
            return rc_;          \
    } while (0)

/* ---- values ------------------------------------------------------------------ */

/* The value kinds of an AnyValue object, in the order they are looked for. */
enum vk { VK_NONE, VK_STRING, VK_BOOL, VK_INT, VK_DOUBLE, VK_ARRAY, VK_KVLIST, VK_BYTES };

static enum vk any_kind(const json_t *o, json_t **v)
{
    static const struct {
        const char *camel, *snake;
        enum vk k;
    } keys[] = {
        {"stringValue", "string_value", VK_STRING}, {"boolValue", "bool_value", VK_BOOL},
        {"intValue", "int_value", VK_INT},          {"doubleValue", "double_value", VK_DOUBLE},
        {"arrayValue", "array_value", VK_ARRAY},    {"kvlistValue", "kvlist_value", VK_KVLIST},
        {"bytesValue", "bytes_value", VK_BYTES},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if ((*v = GET(o, keys[i].camel, keys[i].snake)))
            return keys[i].k;
    return VK_NONE;
}

/* An OTLP/JSON AnyValue as plain JSON (for kvlists and mixed arrays, which
 * the record has no type for). NULL on a type error. */
static json_t *plain(const json_t *o, int depth)
{
    json_t *v;
    if (!json_is_object(o) || depth > STITCH_WIRE_JSON_MAX_DEPTH)
        return NULL;
    switch (any_kind(o, &v)) {
    case VK_NONE: return json_null();
    case VK_STRING:
    case VK_BYTES: return json_is_string(v) ? json_incref(v) : NULL;
    case VK_BOOL: return json_is_boolean(v) ? json_incref(v) : NULL;
    case VK_INT: {
        int64_t i;
        return stitch_wire_json_i64(v, &i) ? NULL : json_integer(i);
    }
    case VK_DOUBLE: {
        double d;
        /* a number stays a number; "NaN" and the infinities stay strings */
        return stitch_wire_json_double(v, &d) ? NULL : json_incref(v);
    }
    case VK_ARRAY: {
        json_t *vals = GET(v, "values", NULL), *a = json_array(), *e;
        size_t i;
        if (!a || (vals && !json_is_array(vals)))
            return json_decref(a), NULL;
        json_array_foreach(vals, i, e) {
            json_t *x = plain(e, depth + 1);
            if (!x || json_array_append_new(a, x))
                return json_decref(a), NULL;
        }
        return a;
    }
    case VK_KVLIST: {
        json_t *vals = GET(v, "values", NULL), *a = json_object(), *e;
        size_t i;
        if (!a || (vals && !json_is_array(vals)))
            return json_decref(a), NULL;
        json_array_foreach(vals, i, e) {
            json_t *k = GET(e, "key", NULL);
            json_t *ev = GET(e, "value", NULL); /* absent: an empty AnyValue, null */
            json_t *x = !json_is_string(k) ? NULL : ev ? plain(ev, depth + 1) : json_null();
            if (!x || json_object_setn_new(a, json_string_value(k), json_string_length(k), x))
                return json_decref(a), NULL;
        }
        return a;
    }
    }
    return NULL;
}

static int value(struct cx *c, const json_t *o, stitch_value_t *out, const char *field);

static int complex_value(struct cx *c, const json_t *o, stitch_value_t *out, const char *field)
{
    json_t *j = plain(o, 0);
    if (!j)
        return type_error(c, field, "an AnyValue");
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(j);
    if (!s)
        return STITCH_ENOMEM;
    size_t n = strlen(s);
    char *d = stitch_wire_dup(c->b, s, n);
    free(s);
    if (!d)
        return oom(c);
    *out = (stitch_value_t){STITCH_VALUE_STRING, (uint32_t)n, {.str = d}};
    return 0;
}

static int array_value(struct cx *c, const json_t *o, const json_t *av, stitch_value_t *out,
                       const char *field)
{
    json_t *vals = json_is_object(av) ? GET(av, "values", NULL) : NULL;
    if (!json_is_object(av) || (vals && !json_is_array(vals)))
        return type_error(c, field, "arrayValue {\"values\":[...]}");
    size_t n = vals ? json_array_size(vals) : 0;
    if (n > UINT32_MAX)
        return STITCH_ELIMIT;
    /* homogeneous scalars become a typed array; anything else JSON text */
    enum vk et = VK_STRING;
    for (size_t i = 0; i < n; i++) {
        json_t *x, *e = json_array_get(vals, i);
        if (!json_is_object(e))
            return type_error(c, field, "AnyValue objects in arrayValue.values");
        enum vk k = any_kind(e, &x);
        if (i == 0)
            et = k;
        if (k != et || k == VK_NONE || k >= VK_ARRAY)
            return complex_value(c, o, out, field);
    }
    stitch_value_t ev;
    void *arr = NULL;
    size_t esz = et == VK_STRING ? sizeof(stitch_str_t) : et == VK_BOOL ? sizeof(bool) : 8;
    if (!(arr = stitch_wire_calloc(c->b, n, esz)))
        return oom(c);
    for (size_t i = 0; i < n; i++) {
        TRY(value(c, json_array_get(vals, i), &ev, field));
        switch (et) {
        case VK_STRING: ((stitch_str_t *)arr)[i] = (stitch_str_t){ev.u.str, ev.len}; break;
        case VK_BOOL: ((bool *)arr)[i] = ev.u.b; break;
        case VK_INT: ((int64_t *)arr)[i] = ev.u.i; break;
        default: ((double *)arr)[i] = ev.u.d; break;
        }
    }
    out->len = (uint32_t)n;
    switch (et) {
    case VK_STRING: out->type = STITCH_VALUE_STRING_ARRAY; out->u.strs = arr; break;
    case VK_BOOL: out->type = STITCH_VALUE_BOOL_ARRAY; out->u.bools = arr; break;
    case VK_INT: out->type = STITCH_VALUE_INT_ARRAY; out->u.ints = arr; break;
    default: out->type = STITCH_VALUE_DOUBLE_ARRAY; out->u.doubles = arr; break;
    }
    return 0;
}

static int value(struct cx *c, const json_t *o, stitch_value_t *out, const char *field)
{
    memset(out, 0, sizeof *out);
    if (!o)
        return 0;
    if (!json_is_object(o))
        return type_error(c, field, "an AnyValue object");
    json_t *v;
    switch (any_kind(o, &v)) {
    case VK_NONE: return 0;
    case VK_STRING:
    case VK_BYTES: /* base64 text kept as is: the record has no bytes type */
        if (!json_is_string(v))
            return type_error(c, field, "a string");
        if (!(out->u.str = stitch_wire_json_dup(c->b, v)))
            return oom(c);
        out->type = STITCH_VALUE_STRING;
        out->len = (uint32_t)json_string_length(v);
        return 0;
    case VK_BOOL:
        if (!json_is_boolean(v))
            return type_error(c, field, "true or false");
        out->type = STITCH_VALUE_BOOL;
        out->u.b = json_is_true(v);
        return 0;
    case VK_INT:
        if (stitch_wire_json_i64(v, &out->u.i))
            return type_error(c, field, "a 64-bit integer (number or decimal string)");
        out->type = STITCH_VALUE_INT;
        return 0;
    case VK_DOUBLE:
        if (stitch_wire_json_double(v, &out->u.d))
            return type_error(c, field, "a number, \"NaN\", \"Infinity\" or \"-Infinity\"");
        out->type = STITCH_VALUE_DOUBLE;
        return 0;
    case VK_ARRAY: return array_value(c, o, v, out, field);
    case VK_KVLIST: return complex_value(c, o, out, field);
    }
    return 0;
}

static int attrs(struct cx *c, const json_t *o, const char *field, const stitch_attr_t **out,
                 uint32_t *nout)
{
    json_t *l = GET(o, "attributes", NULL);
    if (l && !json_is_array(l))
        return type_error(c, field, "a list of KeyValue");
    size_t n = l ? json_array_size(l) : 0;
    stitch_attr_t *a = stitch_wire_calloc(c->b, n, sizeof *a);
    if (!a)
        return oom(c);
    for (size_t i = 0; i < n; i++) {
        json_t *kv = json_array_get(l, i), *k = json_is_object(kv) ? GET(kv, "key", NULL) : NULL;
        if (k && !json_is_string(k))
            return type_error(c, field, "KeyValue objects with a string key");
        if (!json_is_object(kv))
            return type_error(c, field, "KeyValue objects");
        if (!(a[i].key = k ? stitch_wire_json_dup(c->b, k) : stitch_wire_dup(c->b, "", 0)))
            return oom(c);
        TRY(value(c, GET(kv, "value", NULL), &a[i].value, field));
    }
    *out = a;
    *nout = (uint32_t)n;
    return 0;
}

/* ---- scalars of a span -------------------------------------------------------- */

static int u64_field(struct cx *c, const json_t *o, const char *camel, const char *snake, uint64_t *out)
{
    json_t *v = GET(o, camel, snake);
    *out = 0;
    if (v && stitch_wire_json_u64(v, out))
        return type_error(c, camel, "an unsigned 64-bit integer (number or decimal string)");
    return 0;
}

static int u32_field(struct cx *c, const json_t *o, const char *camel, const char *snake, uint32_t *out)
{
    uint64_t v;
    TRY(u64_field(c, o, camel, snake, &v));
    if (v > UINT32_MAX)
        return type_error(c, camel, "an unsigned 32-bit integer");
    *out = (uint32_t)v;
    return 0;
}

static int str_field(struct cx *c, const json_t *o, const char *camel, const char *snake, const char **out,
                     size_t *len)
{
    json_t *v = GET(o, camel, snake);
    if (v && !json_is_string(v))
        return type_error(c, camel, "a string");
    if (!(*out = v ? stitch_wire_json_dup(c->b, v) : stitch_wire_dup(c->b, "", 0)))
        return oom(c);
    if (len)
        *len = v ? json_string_length(v) : 0;
    return 0;
}

/* An enum as an integer or by name; -1 in *out for an unknown name. */
static int enum_field(struct cx *c, const json_t *o, const char *key, const char *const *names,
                      size_t nnames, int64_t *out)
{
    json_t *v = GET(o, key, NULL);
    *out = 0;
    if (!v)
        return 0;
    if (json_is_string(v)) {
        *out = -1;
        for (size_t i = 0; i < nnames; i++)
            if (!strcmp(json_string_value(v), names[i]))
                *out = (int64_t)i;
        return 0;
    }
    if (!json_is_integer(v))
        return type_error(c, key, "an enum integer or name");
    *out = json_integer_value(v);
    return 0;
}

/* 0, a negative code, or 1 with *why set when the id is invalid */
static int id_field(struct cx *c, const json_t *o, const char *camel, const char *snake, uint8_t *out,
                    size_t n, bool optional, char *why, size_t whylen)
{
    json_t *v = GET(o, camel, snake);
    if (v && !json_is_string(v))
        return type_error(c, camel, "a hex string");
    size_t len = v ? json_string_length(v) : 0;
    if (optional && len == 0)
        return 0;
    if (len != 2 * n) {
        (void)snprintf(why, whylen, "%s: %zu hex digits, expected %zu", camel, len, 2 * n);
        return 1;
    }
    if (stitch_wire_unhex(json_string_value(v), len, out, n)) {
        (void)snprintf(why, whylen, "%s: not hex", camel);
        return 1;
    }
    return 0;
}

static const char *const kind_names[] = {"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER",
                                         "SPAN_KIND_CLIENT", "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER"};
static const char *const status_names[] = {"STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"};

static int tracestate(struct cx *c, const json_t *o, const stitch_tracestate_t **out)
{
    const char *s;
    size_t n;
    TRY(str_field(c, o, "traceState", "trace_state", &s, &n));
    return stitch_wire_tracestate(c->b, s, n, out);
}

/* 0, a negative code, or 1 with `why` filled when the span is invalid */
static int span(struct cx *c, const json_t *s, stitch_span_data_t *d, char *why, size_t wl)
{
    int rc;
    if (!json_is_object(s))
        return type_error(c, "", "a Span object");
    if ((rc = id_field(c, s, "traceId", "trace_id", d->ctx.trace_id, 16, false, why, wl)) ||
        (rc = id_field(c, s, "spanId", "span_id", d->ctx.span_id, 8, false, why, wl)) ||
        (rc = id_field(c, s, "parentSpanId", "parent_span_id", d->parent_span_id, 8, true, why, wl)))
        return rc;
    uint32_t flags;
    TRY(u32_field(c, s, "flags", NULL, &flags));
    d->ctx.flags = (uint8_t)(flags & 0xff);
    d->parent_remote = (flags & 0x100) && (flags & 0x200);
    TRY(tracestate(c, s, &d->tracestate));
    TRY(str_field(c, s, "name", NULL, &d->name, NULL));
    int64_t k;
    TRY(enum_field(c, s, "kind", kind_names, 6, &k));
    if (k < 0 || k > STITCH_SPAN_KIND_CONSUMER) {
        (void)snprintf(why, wl, "kind: out of range");
        return 1;
    }
    d->kind = k == 0 ? STITCH_SPAN_KIND_INTERNAL : (stitch_span_kind_t)k;
    TRY(u64_field(c, s, "startTimeUnixNano", "start_time_unix_nano", &d->start_ns));
    TRY(u64_field(c, s, "endTimeUnixNano", "end_time_unix_nano", &d->end_ns));
    TRY(attrs(c, s, "attributes", &d->attrs, &d->nattrs));
    TRY(u32_field(c, s, "droppedAttributesCount", "dropped_attributes_count", &d->dropped_attrs));
    TRY(u32_field(c, s, "droppedEventsCount", "dropped_events_count", &d->dropped_events));
    TRY(u32_field(c, s, "droppedLinksCount", "dropped_links_count", &d->dropped_links));

    json_t *evs = GET(s, "events", NULL), *lks = GET(s, "links", NULL);
    if ((evs && !json_is_array(evs)) || (lks && !json_is_array(lks)))
        return type_error(c, evs && !json_is_array(evs) ? "events" : "links", "a list");
    size_t ne = evs ? json_array_size(evs) : 0, nl = lks ? json_array_size(lks) : 0;
    stitch_event_t *ev = stitch_wire_calloc(c->b, ne, sizeof *ev);
    stitch_link_t *lk = stitch_wire_calloc(c->b, nl, sizeof *lk);
    if (!ev || !lk)
        return oom(c);
    for (size_t i = 0; i < ne; i++) {
        json_t *e = json_array_get(evs, i);
        if (!json_is_object(e))
            return type_error(c, "events", "Event objects");
        TRY(u64_field(c, e, "timeUnixNano", "time_unix_nano", &ev[i].time_ns));
        TRY(str_field(c, e, "name", NULL, &ev[i].name, NULL));
        TRY(attrs(c, e, "events.attributes", &ev[i].attrs, &ev[i].nattrs));
        TRY(u32_field(c, e, "droppedAttributesCount", "dropped_attributes_count", &ev[i].dropped_attrs));
    }
    for (size_t i = 0; i < nl; i++) {
        json_t *l = json_array_get(lks, i);
        if (!json_is_object(l))
            return type_error(c, "links", "Link objects");
        char sub[64];
        if ((rc = id_field(c, l, "traceId", "trace_id", lk[i].ctx.trace_id, 16, false, sub, sizeof sub)) ||
            (rc = id_field(c, l, "spanId", "span_id", lk[i].ctx.span_id, 8, false, sub, sizeof sub))) {
            if (rc > 0)
                (void)snprintf(why, wl, "links[%zu].%s", i, sub);
            return rc;
        }
        TRY(u32_field(c, l, "flags", NULL, &flags));
        lk[i].ctx.flags = (uint8_t)(flags & 0xff);
        lk[i].ctx.remote = (flags & 0x100) && (flags & 0x200);
        TRY(tracestate(c, l, &lk[i].tracestate));
        TRY(attrs(c, l, "links.attributes", &lk[i].attrs, &lk[i].nattrs));
        TRY(u32_field(c, l, "droppedAttributesCount", "dropped_attributes_count", &lk[i].dropped_attrs));
    }
    d->events = ev;
    d->nevents = (uint32_t)ne;
    d->links = lk;
    d->nlinks = (uint32_t)nl;

    json_t *st = GET(s, "status", NULL);
    if (st && !json_is_object(st))
        return type_error(c, "status", "a Status object");
    int64_t code = 0;
    if (st)
        TRY(enum_field(c, st, "code", status_names, 3, &code));
    if (code < 0 || code > STITCH_STATUS_ERROR) {
        (void)snprintf(why, wl, "status.code: out of range");
        return 1;
    }
    d->status = (stitch_status_code_t)code;
    TRY(str_field(c, st, "message", NULL, &d->status_message, NULL)); /* st may be NULL: "" */
    const char *bad = stitch_wire_check_span(d);
    if (bad) {
        (void)snprintf(why, wl, "%s", bad);
        return 1;
    }
    return 0;
}

static json_t *list(struct cx *c, const json_t *o, const char *camel, const char *snake, int *rc)
{
    json_t *l = GET(o, camel, snake);
    *rc = 0;
    if (l && !json_is_array(l))
        *rc = type_error(c, camel, "a list");
    return l;
}

static int convert(struct cx *c, const json_t *root)
{
    int rc;
    if (!json_is_object(root))
        return type_error(c, "(document)", "an ExportTraceServiceRequest object");
    json_t *rss = list(c, root, "resourceSpans", "resource_spans", &rc), *rs, *ss, *s;
    if (rc)
        return rc;
    size_t total = 0;
    json_array_foreach(rss, c->i, rs) {
        json_t *sss = json_is_object(rs) ? GET(rs, "scopeSpans", "scope_spans") : NULL;
        json_array_foreach(sss, c->j, ss) {
            json_t *sp = json_is_object(ss) ? GET(ss, "spans", NULL) : NULL;
            total += json_is_array(sp) ? json_array_size(sp) : 0;
        }
    }
    TRY(stitch_wire_reserve_spans(c->b, total));
    json_array_foreach(rss, c->i, rs) {
        c->level = 1;
        if (!json_is_object(rs))
            return type_error(c, "", "a ResourceSpans object");
        json_t *res = GET(rs, "resource", NULL);
        if (res && !json_is_object(res))
            return type_error(c, "resource", "a Resource object");
        const stitch_attr_t *ra;
        uint32_t nra = 0;
        TRY(attrs(c, res, "resource.attributes", &ra, &nra)); /* res may be NULL: none */
        json_t *sss = list(c, rs, "scopeSpans", "scope_spans", &rc);
        if (rc)
            return rc;
        json_array_foreach(sss, c->j, ss) {
            c->level = 2;
            if (!json_is_object(ss))
                return type_error(c, "", "a ScopeSpans object");
            json_t *sco = GET(ss, "scope", NULL);
            if (sco && !json_is_object(sco))
                return type_error(c, "scope", "an InstrumentationScope object");
            stitch_scope_info_t *sc = stitch_wire_calloc(c->b, 1, sizeof *sc);
            if (!sc)
                return oom(c);
            TRY(str_field(c, sco, "name", NULL, &sc->name, NULL));
            TRY(str_field(c, sco, "version", NULL, &sc->version, NULL));
            json_t *spans = list(c, ss, "spans", NULL, &rc);
            if (rc)
                return rc;
            json_array_foreach(spans, c->k, s) {
                c->level = 3;
                stitch_span_data_t *d = &c->b->spans[c->b->nspans];
                memset(d, 0, sizeof *d);
                char why[112];
                rc = span(c, s, d, why, sizeof why);
                if (rc < 0)
                    return rc;
                if (rc > 0) {
                    char p[96];
                    stitch_wire_reject(c->err, "%s%s", where(c, p, sizeof p), why);
                    continue;
                }
                d->resource = ra;
                d->nresource = nra;
                d->scope = sc;
                c->b->nspans++;
            }
        }
    }
    return 0;
}

int stitch_wire_otlp_json_decode(stitch_wire_batch_t *b, const uint8_t *p, size_t n,
                                 stitch_wire_error_t *err)
{
    stitch_wire_begin(err);
    size_t n0 = b->nspans;
    json_t *root;
    int rc = stitch_wire_json_load(b, p, n, &root, err);
    if (rc)
        return stitch_wire_end(b, n0, rc, err);
    struct cx c = {b, err, 0, 0, 0, 0};
    rc = convert(&c, root);
    json_decref(root);
    if (rc == STITCH_ELIMIT || rc == STITCH_ENOMEM)
        rc = stitch_wire_oom(b, err);
    return stitch_wire_end(b, n0, rc, err);
}
