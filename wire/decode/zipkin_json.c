/* wire/decode/zipkin_json.c — a Zipkin v2 JSON list (POST /api/v2/spans)
 * into span records: the reverse of OpenTelemetry's mapping to Zipkin
 * (opentelemetry-specification sdk_exporters/zipkin.md), as the
 * OpenTelemetry Collector's Zipkin receiver does it:
 *   traceId 16 or 32 hex (a 64-bit id is left-padded with zeros), id 16 hex
 *   timestamp, duration   µs, integers or not (OTel JS sends fractions)
 *   kind                  CLIENT/SERVER/PRODUCER/CONSUMER; absent: INTERNAL
 *   localEndpoint         serviceName -> resource service.name, one resource
 *                         per distinct serviceName; ipv4/ipv6/port ->
 *                         network.local.address / network.local.port
 *   remoteEndpoint        serviceName -> peer.service, ipv4/ipv6 ->
 *                         network.peer.address, port -> network.peer.port
 *   annotations           events (name = value)
 *   tags                  string attributes, except: error -> status ERROR
 *                         with the tag as message; otel.status_code,
 *                         otel.status_description, otel.scope.name/version,
 *                         otel.dropped_*_count back to their fields
 *   debug, shared         attributes zipkin.debug / zipkin.shared (when true)
 * Every span is sampled (flags 01): Zipkin only reports sampled spans.
 * Invariant: as for OTLP/JSON — wrong JSON types fail the document, bad
 * values reject one span. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/decode/json_util.h"

#define TRY(x)                   \
    do {                         \
        int rc_ = (x);           \
        if (rc_)                 \
            return rc_;          \
    } while (0)

struct res { /* one resource per local service name */
    const char *name;
    const stitch_attr_t *attrs;
};
struct scope {
    const char *name, *version;
    stitch_scope_info_t *info;
};

struct cx {
    stitch_wire_batch_t *b;
    stitch_wire_error_t *err;
    size_t i;
    struct res *res;
    size_t nres;
    struct scope *sc;
    size_t nsc;
};

static int type_error(struct cx *c, const char *field, const char *expected)
{
    return stitch_wire_fail(c->err, STITCH_EPARSE, SIZE_MAX, "[%zu].%s: expected %s", c->i, field, expected);
}

static int oom(struct cx *c) { return c->b->limit_hit ? STITCH_ELIMIT : STITCH_ENOMEM; }

/* µs as a JSON number (integer or not) -> ns, without going through a
 * double multiply that would lose the low digits at 1.7e15 µs */
static int micros(struct cx *c, const json_t *o, const char *key, uint64_t *ns, bool *present)
{
    json_t *v = json_object_get(o, key);
    *ns = 0;
    *present = v && !json_is_null(v);
    if (!*present)
        return 0;
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < 0)
            return 1;
        if ((uint64_t)i > UINT64_MAX / 1000)
            return type_error(c, key, "microseconds that fit in 64-bit nanoseconds");
        *ns = (uint64_t)i * 1000u;
        return 0;
    }
    if (!json_is_real(v))
        return type_error(c, key, "a number of microseconds");
    double d = json_real_value(v);
    if (d < 0)
        return 1;
    if (!(d < 1.8e16))
        return type_error(c, key, "microseconds that fit in 64-bit nanoseconds");
    double whole = floor(d);
    *ns = (uint64_t)whole * 1000u + (uint64_t)llround((d - whole) * 1000.0);
    return 0;
}

static int str_attr(struct cx *c, stitch_attr_t *a, const char *key, const char *v, size_t n)
{
    a->key = key;
    if (!(a->value.u.str = stitch_wire_dup(c->b, v, n)))
        return oom(c);
    a->value.type = STITCH_VALUE_STRING;
    a->value.len = (uint32_t)n;
    return 0;
}

/* A tag value as text: strings as they are; numbers and booleans (which
 * some clients send despite the spec) in their JSON spelling. */
static int tag_text(struct cx *c, const char *key, const json_t *v, const char **s, size_t *n, char **tofree)
{
    *tofree = NULL;
    if (json_is_string(v)) {
        *s = json_string_value(v);
        *n = json_string_length(v);
        return 0;
    }
    if (json_is_number(v) || json_is_boolean(v)) {
        *tofree = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        if (!*tofree)
            return STITCH_ENOMEM;
        *s = *tofree;
        *n = strlen(*tofree);
        return 0;
    }
    (void)key;
    return type_error(c, "tags", "string values");
}

static int resource_for(struct cx *c, const char *svc, size_t n, const stitch_attr_t **out)
{
    for (size_t i = 0; i < c->nres; i++)
        if (strlen(c->res[i].name) == n && !memcmp(c->res[i].name, svc, n)) {
            *out = c->res[i].attrs;
            return 0;
        }
    if ((c->nres & (c->nres - 1)) == 0) { /* grow at powers of two, in the arena */
        struct res *r = stitch_wire_calloc(c->b, c->nres ? 2 * c->nres : 4, sizeof *r);
        if (!r)
            return oom(c);
        if (c->nres)
            memcpy(r, c->res, c->nres * sizeof *r);
        c->res = r;
    }
    stitch_attr_t *a = stitch_wire_calloc(c->b, 1, sizeof *a);
    if (!a)
        return oom(c);
    TRY(str_attr(c, a, "service.name", svc, n));
    c->res[c->nres++] = (struct res){a->value.u.str, a};
    *out = a;
    return 0;
}

static int scope_for(struct cx *c, const char *name, const char *version, const stitch_scope_info_t **out)
{
    for (size_t i = 0; i < c->nsc; i++)
        if (!strcmp(c->sc[i].name, name) && !strcmp(c->sc[i].version, version)) {
            *out = c->sc[i].info;
            return 0;
        }
    if ((c->nsc & (c->nsc - 1)) == 0) {
        struct scope *s = stitch_wire_calloc(c->b, c->nsc ? 2 * c->nsc : 4, sizeof *s);
        if (!s)
            return oom(c);
        if (c->nsc)
            memcpy(s, c->sc, c->nsc * sizeof *s);
        c->sc = s;
    }
    stitch_scope_info_t *info = stitch_wire_calloc(c->b, 1, sizeof *info);
    if (!info)
        return oom(c);
    info->name = name;
    info->version = version;
    c->sc[c->nsc++] = (struct scope){name, version, info};
    *out = info;
    return 0;
}

static int endpoint(struct cx *c, const json_t *s, const char *key, json_t **ep)
{
    *ep = json_object_get(s, key);
    if (*ep && json_is_null(*ep))
        *ep = NULL;
    if (*ep && !json_is_object(*ep))
        return type_error(c, key, "an Endpoint object");
    return 0;
}

static int ep_str(struct cx *c, const json_t *ep, const char *k, const char *field, json_t **v)
{
    *v = ep ? json_object_get(ep, k) : NULL;
    if (*v && json_is_null(*v))
        *v = NULL;
    if (*v && !json_is_string(*v))
        return type_error(c, field, "a string");
    return 0;
}

static bool is_true(const json_t *o, const char *k) { return json_is_true(json_object_get(o, k)); }

/* 0, a negative code, or 1 with *why set (span invalid) */
static int span(struct cx *c, const json_t *s, stitch_span_data_t *d, const char **why)
{
    if (!json_is_object(s))
        return type_error(c, "", "a span object");
    static const char *const idkeys[] = {"traceId", "id", "parentId", "name", "kind"};
    json_t *f[5];
    for (int i = 0; i < 5; i++) {
        f[i] = json_object_get(s, idkeys[i]);
        if (f[i] && json_is_null(f[i]))
            f[i] = NULL;
        if (f[i] && !json_is_string(f[i]))
            return type_error(c, idkeys[i], "a string");
    }
    size_t tl = f[0] ? json_string_length(f[0]) : 0;
    if (tl == 16) { /* a 64-bit trace id: the high half is zero */
        if (stitch_wire_unhex(json_string_value(f[0]), 16, d->ctx.trace_id + 8, 8))
            return *why = "traceId: not hex", 1;
    } else if (tl != 32 || stitch_wire_unhex(json_string_value(f[0]), 32, d->ctx.trace_id, 16)) {
        return *why = "traceId: not 16 or 32 hex digits", 1;
    }
    if (!f[1] || stitch_wire_unhex(json_string_value(f[1]), json_string_length(f[1]), d->ctx.span_id, 8))
        return *why = "id: not 16 hex digits", 1;
    if (f[2] && stitch_wire_unhex(json_string_value(f[2]), json_string_length(f[2]), d->parent_span_id, 8))
        return *why = "parentId: not 16 hex digits", 1;
    d->ctx.flags = STITCH_FLAG_SAMPLED;
    if (!(d->name = f[3] ? stitch_wire_json_dup(c->b, f[3]) : stitch_wire_dup(c->b, "", 0)))
        return oom(c);
    d->kind = STITCH_SPAN_KIND_INTERNAL;
    if (f[4]) {
        static const char *const kinds[] = {"SERVER", "CLIENT", "PRODUCER", "CONSUMER"};
        int k = -1;
        for (int i = 0; i < 4; i++)
            if (!strcmp(json_string_value(f[4]), kinds[i]))
                k = i;
        if (k < 0)
            return *why = "kind: not CLIENT, SERVER, PRODUCER or CONSUMER", 1;
        d->kind = (stitch_span_kind_t)(STITCH_SPAN_KIND_SERVER + k);
    }
    bool has;
    uint64_t dur;
    int rc;
    if ((rc = micros(c, s, "timestamp", &d->start_ns, &has)))
        return rc < 0 ? rc : (*why = "timestamp: negative", 1);
    if ((rc = micros(c, s, "duration", &dur, &has)))
        return rc < 0 ? rc : (*why = "duration: negative", 1);
    if (dur > UINT64_MAX - d->start_ns)
        return *why = "duration: too large", 1;
    d->end_ns = d->start_ns + dur;

    json_t *lep, *rep, *tags = json_object_get(s, "tags"), *anns = json_object_get(s, "annotations");
    TRY(endpoint(c, s, "localEndpoint", &lep));
    TRY(endpoint(c, s, "remoteEndpoint", &rep));
    if (tags && !json_is_null(tags) && !json_is_object(tags))
        return type_error(c, "tags", "an object");
    if (anns && !json_is_null(anns) && !json_is_array(anns))
        return type_error(c, "annotations", "a list");
    size_t ntags = json_is_object(tags) ? json_object_size(tags) : 0;
    size_t nanns = json_is_array(anns) ? json_array_size(anns) : 0;
    /* tags + local (2) + remote (3) + debug + shared */
    stitch_attr_t *a = stitch_wire_calloc(c->b, ntags + 7, sizeof *a);
    stitch_event_t *ev = stitch_wire_calloc(c->b, nanns, sizeof *ev);
    if (!a || !ev)
        return oom(c);
    uint32_t na = 0;
    const char *scope_name = "", *scope_version = "";
    d->status_message = "";
    const char *k;
    json_t *v;
    json_object_foreach(tags, k, v) {
        const char *t = "";
        size_t tlen = 0;
        char *tmp;
        TRY(tag_text(c, k, v, &t, &tlen, &tmp));
        char *copy = stitch_wire_dup(c->b, t, tlen);
        free(tmp);
        if (!copy)
            return oom(c);
        if (!strcmp(k, "error")) {
            d->status = STITCH_STATUS_ERROR;
            d->status_message = copy;
        } else if (!strcmp(k, "otel.status_code")) {
            if (!strcmp(copy, "ERROR"))
                d->status = STITCH_STATUS_ERROR;
            else if (!strcmp(copy, "OK") && d->status != STITCH_STATUS_ERROR)
                d->status = STITCH_STATUS_OK;
        } else if (!strcmp(k, "otel.status_description")) {
            d->status_message = copy;
        } else if (!strcmp(k, "otel.scope.name") || !strcmp(k, "otel.library.name")) {
            scope_name = copy;
        } else if (!strcmp(k, "otel.scope.version") || !strcmp(k, "otel.library.version")) {
            scope_version = copy;
        } else if (!strncmp(k, "otel.dropped_", 13) && strtoul(copy, NULL, 10) <= UINT32_MAX &&
                   (!strcmp(k + 13, "attributes_count") || !strcmp(k + 13, "events_count") ||
                    !strcmp(k + 13, "links_count"))) {
            uint32_t n = (uint32_t)strtoul(copy, NULL, 10);
            *(k[13] == 'a' ? &d->dropped_attrs : k[13] == 'e' ? &d->dropped_events : &d->dropped_links) = n;
        } else {
            char *key = stitch_wire_dup(c->b, k, strlen(k));
            if (!key)
                return oom(c);
            a[na++] = (stitch_attr_t){key, {STITCH_VALUE_STRING, (uint32_t)tlen, {.str = copy}}};
        }
    }
    if (d->status != STITCH_STATUS_ERROR)
        d->status_message = "";

    json_t *svc, *ip4, *ip6, *port;
    TRY(ep_str(c, rep, "serviceName", "remoteEndpoint.serviceName", &svc));
    TRY(ep_str(c, rep, "ipv4", "remoteEndpoint.ipv4", &ip4));
    TRY(ep_str(c, rep, "ipv6", "remoteEndpoint.ipv6", &ip6));
    port = rep ? json_object_get(rep, "port") : NULL;
    if (svc && json_string_length(svc))
        TRY(str_attr(c, &a[na++], "peer.service", json_string_value(svc), json_string_length(svc)));
    if (ip4 || ip6) {
        json_t *ip = ip4 ? ip4 : ip6;
        TRY(str_attr(c, &a[na++], "network.peer.address", json_string_value(ip), json_string_length(ip)));
    }
    if (json_is_integer(port) && json_integer_value(port) > 0)
        a[na++] = (stitch_attr_t){"network.peer.port", {STITCH_VALUE_INT, 0, {.i = json_integer_value(port)}}};

    TRY(ep_str(c, lep, "serviceName", "localEndpoint.serviceName", &svc));
    TRY(ep_str(c, lep, "ipv4", "localEndpoint.ipv4", &ip4));
    TRY(ep_str(c, lep, "ipv6", "localEndpoint.ipv6", &ip6));
    port = lep ? json_object_get(lep, "port") : NULL;
    if (ip4 || ip6) {
        json_t *ip = ip4 ? ip4 : ip6;
        TRY(str_attr(c, &a[na++], "network.local.address", json_string_value(ip), json_string_length(ip)));
    }
    if (json_is_integer(port) && json_integer_value(port) > 0)
        a[na++] = (stitch_attr_t){"network.local.port", {STITCH_VALUE_INT, 0, {.i = json_integer_value(port)}}};
    if (is_true(s, "debug"))
        a[na++] = (stitch_attr_t){"zipkin.debug", {STITCH_VALUE_BOOL, 0, {.b = true}}};
    if (is_true(s, "shared"))
        a[na++] = (stitch_attr_t){"zipkin.shared", {STITCH_VALUE_BOOL, 0, {.b = true}}};
    d->attrs = a;
    d->nattrs = na;

    for (size_t i = 0; i < nanns; i++) {
        json_t *an = json_array_get(anns, i), *val = json_is_object(an) ? json_object_get(an, "value") : NULL;
        if (!json_is_string(val))
            return type_error(c, "annotations", "{timestamp, value} objects with a string value");
        if ((rc = micros(c, an, "timestamp", &ev[i].time_ns, &has)))
            return rc < 0 ? rc : (*why = "annotations.timestamp: negative", 1);
        if (!(ev[i].name = stitch_wire_json_dup(c->b, val)))
            return oom(c);
    }
    d->events = ev;
    d->nevents = (uint32_t)nanns;

    const char *sn = svc ? json_string_value(svc) : "";
    TRY(resource_for(c, sn, svc ? json_string_length(svc) : 0, &d->resource));
    d->nresource = 1;
    TRY(scope_for(c, scope_name, scope_version, &d->scope));
    *why = stitch_wire_check_span(d);
    return *why ? 1 : 0;
}

int stitch_wire_zipkin_json_decode(stitch_wire_batch_t *b, const uint8_t *p, size_t n,
                                   stitch_wire_error_t *err)
{
    stitch_wire_begin(err);
    size_t n0 = b->nspans;
    json_t *root;
    int rc = stitch_wire_json_load(b, p, n, &root, err);
    if (rc)
        return stitch_wire_end(b, n0, rc, err);
    struct cx c = {b, err, 0, NULL, 0, NULL, 0};
    if (!json_is_array(root)) {
        rc = stitch_wire_fail(err, STITCH_EPARSE, SIZE_MAX, "expected a JSON list of spans");
    } else if (!(rc = stitch_wire_reserve_spans(b, json_array_size(root)))) {
        json_t *s;
        json_array_foreach(root, c.i, s) {
            stitch_span_data_t *d = &b->spans[b->nspans];
            memset(d, 0, sizeof *d);
            const char *why = NULL;
            rc = span(&c, s, d, &why);
            if (rc < 0)
                break;
            if (rc > 0)
                stitch_wire_reject(err, "[%zu].%s", c.i, why);
            else
                b->nspans++;
            rc = 0;
        }
    }
    json_decref(root);
    if (rc == STITCH_ELIMIT || rc == STITCH_ENOMEM)
        rc = stitch_wire_oom(b, err);
    return stitch_wire_end(b, n0, rc, err);
}
