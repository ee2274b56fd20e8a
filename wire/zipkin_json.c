/* wire/zipkin_json.c — a Zipkin v2 JSON list of spans, with OpenTelemetry's
 * mapping to Zipkin (opentelemetry-specification
 * specification/trace/sdk_exporters/zipkin.md and common/mapping-to-non-otlp.md):
 *   kind        CLIENT/SERVER/PRODUCER/CONSUMER as is; INTERNAL: no "kind"
 *   timestamp   start in µs, an integer; duration (end - start) in µs, at least 1
 *   ids         traceId 32 hex, id 16 hex; parentId only when there is a parent
 *   localEndpoint.serviceName  the resource's service.name ("unknown_service" without)
 *   remoteEndpoint  CLIENT and PRODUCER only, from the first present of
 *               peer.service, server.address, net.peer.name,
 *               network.peer.address(+port), server.socket.domain,
 *               server.socket.address(+port), net.sock.peer.name,
 *               net.sock.peer.addr(+port), peer.hostname, peer.address, db.name
 *               (addresses that parse as IPv4/IPv6 go to ipv4/ipv6, others to
 *               serviceName)
 *   tags        every attribute as a string (booleans "true"/"false", arrays
 *               as a JSON list in a string), then otel.scope.name,
 *               otel.scope.version, otel.status_code (OK|ERROR, not for UNSET),
 *               error (the status message, ERROR only), otel.dropped_*_count
 *   annotations one per event: value is the event name, or with attributes
 *               "name":{"key":value,...} (a JSON fragment, in a string)
 * Links and tracestate have no Zipkin field and are left out. Empty
 * optional fields are omitted, as the specification asks.
 * Invariant: the output is one valid JSON array whatever the span strings
 * hold, and no object repeats a key (attributes that collide with the tags
 * the mapping sets are replaced by the mapping's). */
#include <arpa/inet.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wire/internal.h"

#define TRY(x)                   \
    do {                         \
        int rc_ = (x);           \
        if (rc_)                 \
            return rc_;          \
    } while (0)

static const char *const kind_names[] = {NULL, NULL, "SERVER", "CLIENT", "PRODUCER", "CONSUMER"};

/* remoteEndpoint sources, in the specification's rank order */
enum { EP_NAME, EP_ADDR };
static const struct {
    const char *key, *port_key;
    int type;
} remote_rank[] = {
    {"peer.service", NULL, EP_NAME},
    {"server.address", NULL, EP_NAME},
    {"net.peer.name", NULL, EP_NAME},
    {"network.peer.address", "network.peer.port", EP_ADDR},
    {"server.socket.domain", NULL, EP_NAME},
    {"server.socket.address", "server.socket.port", EP_ADDR},
    {"net.sock.peer.name", NULL, EP_NAME},
    {"net.sock.peer.addr", "net.sock.peer.port", EP_ADDR},
    {"peer.hostname", NULL, EP_NAME},
    {"peer.address", NULL, EP_ADDR},
    {"db.name", NULL, EP_NAME},
};
#define NRANK (sizeof remote_rank / sizeof remote_rank[0])

static const stitch_attr_t *find_attr(const stitch_attr_t *a, uint32_t n, const char *key)
{
    for (uint32_t i = 0; i < n; i++)
        if (!strcmp(a[i].key, key))
            return &a[i];
    return NULL;
}

static int remote_endpoint(stitch_buf_t *b, const stitch_span_data_t *d)
{
    /* One pass over the attributes, remembering the best rank seen. */
    size_t best = NRANK;
    const stitch_attr_t *ba = NULL;
    for (uint32_t i = 0; i < d->nattrs; i++) {
        const stitch_attr_t *a = &d->attrs[i];
        char c = a->key[0];
        if ((c != 'p' && c != 's' && c != 'n' && c != 'd') || a->value.type != STITCH_VALUE_STRING ||
            a->value.len == 0)
            continue;
        for (size_t r = 0; r < best; r++)
            if (!strcmp(a->key, remote_rank[r].key)) {
                best = r;
                ba = a;
                break;
            }
    }
    if (!ba)
        return 0;
    TRY(STITCH_WIRE_LIT(b, ",\"remoteEndpoint\":{"));
    const char *v = ba->value.u.str;
    size_t vl = ba->value.len;
    if (remote_rank[best].type == EP_ADDR && vl < 64) {
        char ip[64];
        unsigned char bin[16];
        memcpy(ip, v, vl);
        ip[vl] = 0;
        int af = inet_pton(AF_INET, ip, bin) == 1 ? AF_INET : inet_pton(AF_INET6, ip, bin) == 1 ? AF_INET6 : 0;
        if (af) {
            TRY(af == AF_INET ? STITCH_WIRE_LIT(b, "\"ipv4\":") : STITCH_WIRE_LIT(b, "\"ipv6\":"));
            TRY(stitch_wire_json_str(b, v, vl));
            const stitch_attr_t *pa =
                remote_rank[best].port_key ? find_attr(d->attrs, d->nattrs, remote_rank[best].port_key) : NULL;
            int64_t port = -1;
            if (pa && pa->value.type == STITCH_VALUE_INT)
                port = pa->value.u.i;
            else if (pa && pa->value.type == STITCH_VALUE_STRING && pa->value.len && pa->value.len < 6) {
                char *end;
                port = strtol(pa->value.u.str, &end, 10);
                if (end != pa->value.u.str + pa->value.len)
                    port = -1;
            }
            if (port > 0 && port <= 65535) {
                TRY(STITCH_WIRE_LIT(b, ",\"port\":"));
                TRY(stitch_wire_i64(b, port));
            }
            return STITCH_WIRE_LIT(b, "}");
        }
    }
    TRY(STITCH_WIRE_LIT(b, "\"serviceName\":"));
    TRY(stitch_wire_json_str(b, v, vl));
    return STITCH_WIRE_LIT(b, "}");
}

/* A tag's value: the attribute as a string. */
static int tag_value(stitch_buf_t *b, stitch_buf_t *scratch, const stitch_value_t *v)
{
    switch (v->type) {
    case STITCH_VALUE_STRING:
        return stitch_wire_json_str(b, v->u.str, v->len);
    case STITCH_VALUE_BOOL:
        return v->u.b ? STITCH_WIRE_LIT(b, "\"true\"") : STITCH_WIRE_LIT(b, "\"false\"");
    case STITCH_VALUE_INT:
        TRY(STITCH_WIRE_LIT(b, "\""));
        TRY(stitch_wire_i64(b, v->u.i));
        return STITCH_WIRE_LIT(b, "\"");
    case STITCH_VALUE_DOUBLE:
        if (isnan(v->u.d))
            return STITCH_WIRE_LIT(b, "\"NaN\"");
        if (isinf(v->u.d))
            return v->u.d > 0 ? STITCH_WIRE_LIT(b, "\"Infinity\"") : STITCH_WIRE_LIT(b, "\"-Infinity\"");
        TRY(STITCH_WIRE_LIT(b, "\""));
        TRY(stitch_wire_double(b, v->u.d));
        return STITCH_WIRE_LIT(b, "\"");
    default: /* arrays: a JSON list, inside a JSON string */
        stitch_buf_reset(scratch);
        TRY(stitch_wire_json_plain_value(scratch, v));
        return stitch_wire_json_str(b, (const char *)scratch->data, scratch->len);
    }
}

struct tagw {
    stitch_buf_t *b;
    bool any;
};

static int tag_key(struct tagw *t, const char *key, size_t klen)
{
    TRY(t->any ? STITCH_WIRE_LIT(t->b, ",") : STITCH_WIRE_LIT(t->b, ",\"tags\":{"));
    t->any = true;
    TRY(stitch_wire_json_str(t->b, key, klen));
    return STITCH_WIRE_LIT(t->b, ":");
}

static int tag_str(struct tagw *t, const char *key, const char *val)
{
    TRY(tag_key(t, key, strlen(key)));
    return stitch_wire_json_str(t->b, val, strlen(val));
}

static int tag_count(struct tagw *t, const char *key, uint32_t v)
{
    if (!v)
        return 0;
    TRY(tag_key(t, key, strlen(key)));
    TRY(STITCH_WIRE_LIT(t->b, "\""));
    TRY(stitch_wire_u64(t->b, v));
    return STITCH_WIRE_LIT(t->b, "\"");
}

static bool mapping_key(const char *k)
{
    return !strncmp(k, "otel.", 5) &&
           (!strcmp(k + 5, "status_code") || !strcmp(k + 5, "scope.name") ||
            !strcmp(k + 5, "scope.version") || !strcmp(k + 5, "dropped_attributes_count") ||
            !strcmp(k + 5, "dropped_events_count") || !strcmp(k + 5, "dropped_links_count"));
}

static int tags(stitch_buf_t *b, stitch_buf_t *scratch, const stitch_span_data_t *d)
{
    struct tagw t = {b, false};
    for (uint32_t i = 0; i < d->nattrs; i++) {
        const stitch_attr_t *a = &d->attrs[i];
        if (a->key[0] == 'o' && mapping_key(a->key))
            continue;
        if (!strcmp(a->key, "error")) {
            /* The status decides "error": an ERROR status writes its own;
             * otherwise a false-ish error attribute is dropped (Zipkin
             * treats any "error" tag as a failure). */
            if (d->status == STITCH_STATUS_ERROR)
                continue;
            if (a->value.type == STITCH_VALUE_BOOL && !a->value.u.b)
                continue;
            if (a->value.type == STITCH_VALUE_STRING && a->value.len == 5 &&
                !memcmp(a->value.u.str, "false", 5))
                continue;
        }
        TRY(tag_key(&t, a->key, strlen(a->key)));
        TRY(tag_value(b, scratch, &a->value));
    }
    if (d->scope && d->scope->name && d->scope->name[0])
        TRY(tag_str(&t, "otel.scope.name", d->scope->name));
    if (d->scope && d->scope->version && d->scope->version[0])
        TRY(tag_str(&t, "otel.scope.version", d->scope->version));
    if (d->status == STITCH_STATUS_OK)
        TRY(tag_str(&t, "otel.status_code", "OK"));
    if (d->status == STITCH_STATUS_ERROR) {
        TRY(tag_str(&t, "otel.status_code", "ERROR"));
        TRY(tag_str(&t, "error", d->status_message ? d->status_message : ""));
    }
    TRY(tag_count(&t, "otel.dropped_attributes_count", d->dropped_attrs));
    TRY(tag_count(&t, "otel.dropped_events_count", d->dropped_events));
    TRY(tag_count(&t, "otel.dropped_links_count", d->dropped_links));
    return t.any ? STITCH_WIRE_LIT(b, "}") : 0;
}

static int annotations(stitch_buf_t *b, stitch_buf_t *scratch, const stitch_span_data_t *d)
{
    if (!d->nevents)
        return 0;
    TRY(STITCH_WIRE_LIT(b, ",\"annotations\":["));
    for (uint32_t i = 0; i < d->nevents; i++) {
        const stitch_event_t *e = &d->events[i];
        const char *name = e->name ? e->name : "";
        TRY(i ? STITCH_WIRE_LIT(b, ",{\"timestamp\":") : STITCH_WIRE_LIT(b, "{\"timestamp\":"));
        TRY(stitch_wire_u64(b, e->time_ns / 1000));
        TRY(STITCH_WIRE_LIT(b, ",\"value\":"));
        if (!e->nattrs) {
            TRY(stitch_wire_json_str(b, name, strlen(name)));
        } else {
            stitch_buf_reset(scratch);
            TRY(stitch_wire_json_str(scratch, name, strlen(name)));
            TRY(STITCH_WIRE_LIT(scratch, ":{"));
            for (uint32_t k = 0; k < e->nattrs; k++) {
                if (k)
                    TRY(STITCH_WIRE_LIT(scratch, ","));
                TRY(stitch_wire_json_str(scratch, e->attrs[k].key, strlen(e->attrs[k].key)));
                TRY(STITCH_WIRE_LIT(scratch, ":"));
                TRY(stitch_wire_json_plain_value(scratch, &e->attrs[k].value));
            }
            TRY(STITCH_WIRE_LIT(scratch, "}"));
            TRY(stitch_wire_json_str(b, (const char *)scratch->data, scratch->len));
        }
        TRY(STITCH_WIRE_LIT(b, "}"));
    }
    return STITCH_WIRE_LIT(b, "]");
}

static int span(stitch_buf_t *b, stitch_buf_t *scratch, const stitch_span_data_t *d,
                const char *svc, size_t svclen)
{
    static const uint8_t zero[8];
    TRY(STITCH_WIRE_LIT(b, "{\"traceId\":\""));
    /* a 64-bit id (B3 from an older tracer, or a Zipkin span stitchd
     * received) goes back out in the 16-digit form it came in */
    if (memcmp(d->ctx.trace_id, zero, 8))
        TRY(stitch_wire_hex(b, d->ctx.trace_id, 16));
    else
        TRY(stitch_wire_hex(b, d->ctx.trace_id + 8, 8));
    TRY(STITCH_WIRE_LIT(b, "\",\"id\":\""));
    TRY(stitch_wire_hex(b, d->ctx.span_id, 8));
    TRY(STITCH_WIRE_LIT(b, "\""));
    if (memcmp(d->parent_span_id, zero, 8)) {
        TRY(STITCH_WIRE_LIT(b, ",\"parentId\":\""));
        TRY(stitch_wire_hex(b, d->parent_span_id, 8));
        TRY(STITCH_WIRE_LIT(b, "\""));
    }
    TRY(STITCH_WIRE_LIT(b, ",\"name\":"));
    TRY(stitch_wire_json_str(b, d->name ? d->name : "", d->name ? strlen(d->name) : 0));
    const char *kind = (unsigned)d->kind < 6 ? kind_names[d->kind] : NULL;
    if (kind) {
        TRY(STITCH_WIRE_LIT(b, ",\"kind\":\""));
        TRY(stitch_wire_put(b, kind, strlen(kind)));
        TRY(STITCH_WIRE_LIT(b, "\""));
    }
    uint64_t dur = d->end_ns > d->start_ns ? (d->end_ns - d->start_ns) / 1000 : 0;
    TRY(STITCH_WIRE_LIT(b, ",\"timestamp\":"));
    TRY(stitch_wire_u64(b, d->start_ns / 1000));
    TRY(STITCH_WIRE_LIT(b, ",\"duration\":"));
    TRY(stitch_wire_u64(b, dur ? dur : 1)); /* Zipkin: durations under 1 µs round up */
    TRY(STITCH_WIRE_LIT(b, ",\"localEndpoint\":{\"serviceName\":"));
    TRY(stitch_wire_json_str(b, svc, svclen));
    TRY(STITCH_WIRE_LIT(b, "}"));
    if (d->kind == STITCH_SPAN_KIND_CLIENT || d->kind == STITCH_SPAN_KIND_PRODUCER)
        TRY(remote_endpoint(b, d));
    TRY(annotations(b, scratch, d));
    TRY(tags(b, scratch, d));
    return STITCH_WIRE_LIT(b, "}");
}

int stitch_wire_zipkin_json_encode(const stitch_span_data_t *const *spans, size_t n,
                                   stitch_buf_t *out)
{
    stitch_buf_t scratch = STITCH_BUF_INIT(0);
    const stitch_attr_t *last_res = NULL;
    uint32_t last_nres = UINT32_MAX;
    const char *svc = "unknown_service";
    size_t svclen = strlen(svc);
    size_t guess = 700 * n + 8;
    if (out->max && guess > out->max - out->len)
        guess = out->max - out->len;
    int rc = stitch_buf_reserve(out, guess);
    if (!rc)
        rc = STITCH_WIRE_LIT(out, "[");
    for (size_t i = 0; i < n && !rc; i++) {
        const stitch_span_data_t *d = spans[i];
        if (d->resource != last_res || d->nresource != last_nres) {
            last_res = d->resource;
            last_nres = d->nresource;
            const stitch_attr_t *sn = find_attr(d->resource, d->nresource, "service.name");
            if (sn && sn->value.type == STITCH_VALUE_STRING) {
                svc = sn->value.u.str;
                svclen = sn->value.len;
            } else {
                svc = "unknown_service";
                svclen = strlen(svc);
            }
        }
        if (i)
            rc = STITCH_WIRE_LIT(out, ",");
        if (!rc)
            rc = span(out, &scratch, d, svc, svclen);
    }
    if (!rc)
        rc = STITCH_WIRE_LIT(out, "]");
    stitch_buf_free(&scratch);
    return rc;
}
