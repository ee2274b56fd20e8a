/* Messaging spans for any broker (stitch/instrument/messaging.h): the
 * PRODUCER span whose context is injected into a message, the CONSUMER
 * span that continues it, a batch span linking each message, and a generic
 * header list for brokers whose native headers are simplest filled from one.
 *
 * Invariant: nothing here outlives a call except the span it returns and
 * the copies an owned header list makes; every context extracted for a
 * span is released before the function returns (the SDK copies links and
 * parents into the span). */
#include "stitch/instrument/messaging.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_NAME 256 /* span name: operation + ' ' + destination, truncated */
#define MAX_ATTRS 12

static stitch_tracer_t *tracer_of(const stitch_msg_opts_t *o)
{
    if (o && o->tracer)
        return o->tracer;
    return stitch_global_tracer(STITCH_MSG_SCOPE, STITCH_VERSION_STRING);
}

static const stitch_propagator_t *prop_of(const stitch_msg_opts_t *o)
{
    return (o && o->propagator) ? o->propagator : stitch_propagator_default();
}

/* "{operation} {destination}", or the operation alone. A destination too
 * long for the buffer is cut: a span name is for people, the attribute
 * keeps the whole destination. */
static void span_name(char *buf, size_t cap, const char *op, const char *dest)
{
    int n = dest && *dest ? snprintf(buf, cap, "%s %s", op, dest) : snprintf(buf, cap, "%s", op);
    if (n < 0)
        snprintf(buf, cap, "%s", "messaging");
}

/* The attributes samplers should see, in `a` (capacity MAX_ATTRS). */
static size_t fill_attrs(stitch_attr_t *a, const stitch_msg_opts_t *o, const char *op,
                         const char *op_type, bool single)
{
    size_t n = 0;
    a[n++] = stitch_attr_str("messaging.system", o->system ? o->system : "_OTHER");
    a[n++] = stitch_attr_str("messaging.operation.name", op);
    a[n++] = stitch_attr_str("messaging.operation.type", op_type);
    if (o->destination)
        a[n++] = stitch_attr_str("messaging.destination.name", o->destination);
    if (o->server_address)
        a[n++] = stitch_attr_str("server.address", o->server_address);
    if (o->server_port > 0)
        a[n++] = stitch_attr_int("server.port", o->server_port);
    if (o->client_id)
        a[n++] = stitch_attr_str("messaging.client.id", o->client_id);
    if (o->consumer_group)
        a[n++] = stitch_attr_str("messaging.consumer.group.name", o->consumer_group);
    if (single && o->message_id)
        a[n++] = stitch_attr_str("messaging.message.id", o->message_id);
    if (single && o->body_size_known)
        a[n++] = stitch_attr_int("messaging.message.body.size", (int64_t)o->body_size);
    return n;
}

stitch_span_t *stitch_msg_publish_begin(const stitch_msg_opts_t *o, const stitch_carrier_t *headers)
{
    static const stitch_msg_opts_t none;
    if (!o)
        o = &none;
    const char *op = o->operation ? o->operation : "publish";
    char name[MAX_NAME];
    span_name(name, sizeof name, op, o->destination);
    stitch_attr_t attrs[MAX_ATTRS];
    size_t na = fill_attrs(attrs, o, op, "send", true);
    stitch_span_opts_t so = {.kind = STITCH_SPAN_KIND_PRODUCER, .parent = o->parent,
                             .attrs = attrs, .nattrs = na};
    stitch_span_t *s = stitch_span_start(tracer_of(o), name, &so);
    if (headers && headers->set) {
        stitch_ctx_t ctx;
        stitch_ctx_from_span(&ctx, s, o->parent);
        int rc = stitch_inject(prop_of(o), &ctx, headers);
        stitch_ctx_release(&ctx);
        if (rc != 0) {
            stitch_attr_t ea = stitch_attr_str("exception.message", stitch_strerror(rc));
            (void)stitch_span_add_event(s, "context not injected", 0, &ea, 1);
        }
    }
    return s;
}

int stitch_msg_extract(const stitch_msg_opts_t *o, const stitch_carrier_t *headers, stitch_ctx_t *out)
{
    stitch_ctx_t init = STITCH_CTX_INIT;
    *out = init;
    if (!headers || !headers->get)
        return STITCH_ENOTFOUND;
    int rc = stitch_extract(prop_of(o), headers, out);
    if (rc != 0) {
        stitch_ctx_release(out);
        return STITCH_ENOTFOUND;
    }
    return 0;
}

stitch_span_t *stitch_msg_process_begin(const stitch_msg_opts_t *o, const stitch_carrier_t *headers)
{
    static const stitch_msg_opts_t none;
    if (!o)
        o = &none;
    const char *op = o->operation ? o->operation : "process";
    char name[MAX_NAME];
    span_name(name, sizeof name, op, o->destination);
    stitch_attr_t attrs[MAX_ATTRS];
    size_t na = fill_attrs(attrs, o, op, strcmp(op, "receive") == 0 ? "receive" : "process", true);

    stitch_ctx_t created;
    bool have = stitch_msg_extract(o, headers, &created) == 0;
    stitch_link_t link = {.ctx = created.span, .tracestate = created.tracestate};
    stitch_span_opts_t so = {.kind = STITCH_SPAN_KIND_CONSUMER,
                             .parent = have ? &created : o->parent,
                             .attrs = attrs, .nattrs = na,
                             .links = have ? &link : NULL, .nlinks = have ? 1 : 0};
    stitch_span_t *s = stitch_span_start(tracer_of(o), name, &so);
    stitch_ctx_release(&created);
    return s;
}

stitch_span_t *stitch_msg_batch_begin(const stitch_msg_opts_t *o, const stitch_carrier_t *carriers,
                                      size_t n)
{
    static const stitch_msg_opts_t none;
    if (!o)
        o = &none;
    const char *op = o->operation ? o->operation : "process";
    char name[MAX_NAME];
    span_name(name, sizeof name, op, o->destination);
    stitch_attr_t attrs[MAX_ATTRS + 1];
    size_t na = fill_attrs(attrs, o, op, strcmp(op, "receive") == 0 ? "receive" : "process", false);
    attrs[na++] = stitch_attr_int("messaging.batch.message_count", (int64_t)n);

    /* The links are handed to the sampler at start, so they are gathered
     * first. Out of memory: the span starts without links and says so. */
    stitch_ctx_t *ctxs = n ? calloc(n, sizeof *ctxs) : NULL;
    stitch_link_t *links = n ? calloc(n, sizeof *links) : NULL;
    size_t nl = 0;
    if (ctxs && links) {
        for (size_t i = 0; i < n; i++) {
            if (stitch_msg_extract(o, &carriers[i], &ctxs[nl]) == 0) {
                links[nl].ctx = ctxs[nl].span;
                links[nl].tracestate = ctxs[nl].tracestate;
                nl++;
            }
        }
    }
    stitch_span_opts_t so = {.kind = STITCH_SPAN_KIND_CONSUMER, .parent = o->parent,
                             .attrs = attrs, .nattrs = na, .links = links, .nlinks = nl};
    stitch_span_t *s = stitch_span_start(tracer_of(o), name, &so);
    if (n && !(ctxs && links))
        (void)stitch_span_add_event(s, "links not recorded: out of memory", 0, NULL, 0);
    for (size_t i = 0; i < nl; i++)
        stitch_ctx_release(&ctxs[i]);
    free(ctxs);
    free(links);
    return s;
}

void stitch_msg_end(stitch_span_t *s, const char *error_type, const char *message)
{
    if (!s)
        return;
    if (error_type) {
        (void)stitch_span_set_str(s, "error.type", error_type);
        stitch_span_set_status(s, STITCH_STATUS_ERROR, message);
    }
    stitch_span_end(s);
}

/* ---- the generic header list ------------------------------------------------ */

static bool name_eq(const stitch_msg_header_t *h, const char *name)
{
    size_t n = strlen(name);
    return h->name_len == n && strncasecmp(h->name, name, n) == 0;
}

static const char *hs_get(void *self, const char *name, size_t idx, size_t *len)
{
    const stitch_msg_headers_t *hs = self;
    for (size_t i = 0; i < hs->count; i++) {
        if (name_eq(&hs->items[i], name) && idx-- == 0) {
            *len = hs->items[i].value_len;
            return hs->items[i].value ? hs->items[i].value : "";
        }
    }
    return NULL;
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static int hs_set(void *self, const char *name, const char *value)
{
    stitch_msg_headers_t *hs = self;
    if (!hs->owned && hs->count)
        return STITCH_ESTATE;
    hs->owned = true;
    size_t j = 0;
    for (size_t i = 0; i < hs->count; i++) { /* drop every header of that name */
        if (name_eq(&hs->items[i], name)) {
            free((char *)hs->items[i].name);
            free((char *)hs->items[i].value);
        } else {
            hs->items[j++] = hs->items[i];
        }
    }
    hs->count = j;
    if (hs->count == hs->cap) {
        size_t cap = hs->cap ? hs->cap * 2 : 8;
        stitch_msg_header_t *ni = realloc(hs->items, cap * sizeof *ni);
        if (!ni)
            return STITCH_ENOMEM;
        hs->items = ni;
        hs->cap = cap;
    }
    size_t nl = strlen(name), vl = strlen(value);
    char *n = dup_n(name, nl), *v = dup_n(value, vl);
    if (!n || !v) {
        free(n);
        free(v);
        return STITCH_ENOMEM;
    }
    hs->items[hs->count++] = (stitch_msg_header_t){n, nl, v, vl};
    return 0;
}

static void hs_keys(void *self, void (*fn)(void *arg, const char *name, size_t len), void *arg)
{
    const stitch_msg_headers_t *hs = self;
    for (size_t i = 0; i < hs->count; i++)
        fn(arg, hs->items[i].name, hs->items[i].name_len);
}

void stitch_msg_headers_view(stitch_msg_headers_t *hs, const stitch_msg_header_t *items, size_t n)
{
    hs->items = (stitch_msg_header_t *)items; /* never written through: owned is false */
    hs->count = n;
    hs->cap = 0;
    hs->owned = false;
}

void stitch_msg_headers_carrier(stitch_msg_headers_t *hs, stitch_carrier_t *out)
{
    out->self = hs;
    out->get = hs_get;
    out->set = hs_set;
    out->keys = hs_keys;
}

void stitch_msg_headers_free(stitch_msg_headers_t *hs)
{
    if (hs->owned) {
        for (size_t i = 0; i < hs->count; i++) {
            free((char *)hs->items[i].name);
            free((char *)hs->items[i].value);
        }
        free(hs->items);
    }
    stitch_msg_headers_t empty = STITCH_MSG_HEADERS_INIT;
    *hs = empty;
}
