/* propagation/propagator.c — propagators as data: a propagator is a list of
 * formats; extract/inject walk it. Also OTEL_PROPAGATORS and the decode
 * entry point.
 *
 * Invariant: a propagator never changes after creation (so it is shared by
 * threads without locks); the built-in ones and the default are static. On
 * extract the first format that yields a valid span context wins; baggage
 * from every baggage-carrying format merges, later formats overriding. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "propagation/internal.h"

#define MAX_KINDS 5

struct stitch_propagator {
    uint32_t n;
    uint8_t kinds[MAX_KINDS];
};

static const struct stitch_propagator builtin[MAX_KINDS] = {
    {1, {STITCH_PROP_TRACECONTEXT}}, {1, {STITCH_PROP_BAGGAGE}}, {1, {STITCH_PROP_B3}},
    {1, {STITCH_PROP_B3MULTI}},      {1, {STITCH_PROP_JAEGER}},
};

static struct stitch_propagator default_prop;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

static const char *const kind_names[MAX_KINDS] = {"tracecontext", "baggage", "b3", "b3multi",
                                                  "jaeger"};

const stitch_propagator_t *stitch_propagator_get(stitch_propagator_kind_t kind)
{
    if ((unsigned)kind >= MAX_KINDS)
        return NULL;
    return &builtin[kind];
}

/* Parse "a, b,none" into p. 0 or STITCH_EINVAL (message in errbuf). */
static int parse_names(const char *names, struct stitch_propagator *p, char *errbuf, size_t errlen)
{
    p->n = 0;
    const char *s = names ? names : "";
    while (*s) {
        const char *comma = strchr(s, ',');
        size_t n = comma ? (size_t)(comma - s) : strlen(s);
        const char *item = s;
        stitch__trim(&item, &n);
        s += (comma ? (size_t)(comma - s) + 1 : strlen(s));
        if (n == 0 || stitch__strieq(item, n, "none"))
            continue;
        int k = -1;
        for (int i = 0; i < MAX_KINDS; i++)
            if (stitch__strieq(item, n, kind_names[i]))
                k = i;
        if (k < 0) {
            if (errbuf && errlen)
                (void)snprintf(errbuf, errlen, "unknown propagator '%.*s'", (int)(n > 64 ? 64 : n),
                               item); /* a cut message is still useful */
            return STITCH_EINVAL;
        }
        bool dup = false;
        for (uint32_t i = 0; i < p->n; i++)
            dup |= p->kinds[i] == k;
        if (!dup)
            p->kinds[p->n++] = (uint8_t)k;
    }
    return STITCH_OK;
}

stitch_propagator_t *stitch_propagator_from_names(const char *names, int *err, char *errbuf,
                                                  size_t errlen)
{
    struct stitch_propagator tmp;
    int rc = parse_names(names, &tmp, errbuf, errlen);
    if (err)
        *err = rc;
    if (rc != STITCH_OK)
        return NULL;
    stitch_propagator_t *p = malloc(sizeof *p);
    if (!p) {
        if (err)
            *err = STITCH_ENOMEM;
        return NULL;
    }
    *p = tmp;
    return p;
}

void stitch_propagator_free(stitch_propagator_t *p)
{
    /* the static ones are silently kept: freeing them is a harmless mistake */
    if (!p || p == &default_prop)
        return;
    for (int i = 0; i < MAX_KINDS; i++)
        if (p == &builtin[i])
            return;
    free(p);
}


static void build_default(void)
{
    const char *env = stitch__getenv("OTEL_PROPAGATORS");
    char msg[128];
    if (env && parse_names(env, &default_prop, msg, sizeof msg) == STITCH_OK)
        return;
    if (env)
        stitch__log(STITCH_LOG_WARN, "OTEL_PROPAGATORS: %s; using tracecontext,baggage", msg);
    default_prop.n = 2;
    default_prop.kinds[0] = STITCH_PROP_TRACECONTEXT;
    default_prop.kinds[1] = STITCH_PROP_BAGGAGE;
}

const stitch_propagator_t *stitch_propagator_default(void)
{
    pthread_once(&default_once, build_default);
    return &default_prop;
}

/* ---- extract ---- */

static void take_span(stitch_ctx_t *out, const stitch_decoded_t *d)
{
    memcpy(out->span.trace_id, d->trace_id, 16);
    memcpy(out->span.span_id, d->span_id, 8);
    out->span.flags = d->flags;
    out->span.remote = 1;
    memset(out->span._pad, 0, sizeof out->span._pad);
    out->tracestate = d->tracestate; /* the reference moves to `out` */
}

/* B3 (either propagator name): the single header wins; a lone sampling
 * state in it still applies to ids from X-B3-*. */
static bool extract_b3(const stitch_carrier_t *c, stitch_decoded_t *d)
{
    stitch_decoded_t single;
    int rs = stitch__decode_b3_single(c, &single);
    if (rs == STITCH_OK && single.has_ids) {
        *d = single;
        return true;
    }
    if (stitch__decode_b3_multi(c, d) != STITCH_OK || !d->has_ids)
        return false;
    if (rs == STITCH_OK) {
        d->sampled = single.sampled;
        d->debug = single.debug;
        d->flags = single.flags;
    }
    return true;
}

#define MAX_BAGGAGE_HEADERS 32

static int collect_baggage(const stitch_carrier_t *c, stitch_str_t *vals)
{
    int n = 0;
    size_t len;
    const char *v;
    while (n < MAX_BAGGAGE_HEADERS && (v = stitch__cget(c, "baggage", (size_t)n, &len)))
        vals[n++] = (stitch_str_t){v, len};
    return n;
}

int stitch_extract(const stitch_propagator_t *p, const stitch_carrier_t *c, stitch_ctx_t *out)
{
    if (!p || !c || !out)
        return STITCH_EINVAL;
    bool found = false;
    stitch_baggage_t *const orig = out->baggage;
    stitch_baggage_t *bg = orig;
    for (uint32_t i = 0; i < p->n; i++) {
        stitch_decoded_t d;
        stitch_baggage_t *nb = bg;
        switch (p->kinds[i]) {
        case STITCH_PROP_TRACECONTEXT:
            if (!found)
                found = stitch__extract_w3c(c, out);
            break;
        case STITCH_PROP_B3:
        case STITCH_PROP_B3MULTI:
            if (!found && extract_b3(c, &d)) {
                take_span(out, &d);
                found = true;
            }
            break;
        case STITCH_PROP_JAEGER:
            if (!found && stitch__decode_jaeger(c, &d) == STITCH_OK) {
                take_span(out, &d);
                found = true;
            }
            (void)stitch__extract_jaeger_baggage(c, &nb); /* OOM: no baggage */
            break;
        case STITCH_PROP_BAGGAGE: {
            stitch_str_t vals[MAX_BAGGAGE_HEADERS];
            int nv = collect_baggage(c, vals);
            if (nv && stitch__baggage_parse_values(bg, vals, (size_t)nv, &nb, NULL) != STITCH_OK)
                nb = bg;
            break;
        }
        }
        if (nb != bg) {
            if (bg != orig) /* an intermediate object only this call holds */
                stitch_baggage_unref(bg);
            bg = nb;
        }
    }
    out->baggage = bg;
    return found ? STITCH_OK : STITCH_ENOTFOUND;
}

int stitch_inject(const stitch_propagator_t *p, const stitch_ctx_t *ctx, const stitch_carrier_t *c)
{
    if (!p || !ctx || !c)
        return STITCH_EINVAL;
    int rc = STITCH_OK;
    for (uint32_t i = 0; i < p->n && rc == STITCH_OK; i++) {
        switch (p->kinds[i]) {
        case STITCH_PROP_TRACECONTEXT: rc = stitch__inject_w3c(ctx, c); break;
        case STITCH_PROP_BAGGAGE: rc = stitch__inject_baggage(ctx, c); break;
        case STITCH_PROP_B3: rc = stitch__inject_b3(ctx, c, false); break;
        case STITCH_PROP_B3MULTI: rc = stitch__inject_b3(ctx, c, true); break;
        case STITCH_PROP_JAEGER:
            rc = stitch__inject_jaeger(ctx, c);
            if (rc == STITCH_OK)
                rc = stitch__inject_jaeger_baggage(ctx, c);
            break;
        }
    }
    return rc;
}

/* ---- decode ---- */

int stitch_decode(stitch_format_t f, const stitch_carrier_t *c, stitch_decoded_t *out)
{
    if (!out)
        return STITCH_EINVAL;
    switch (f) {
    case STITCH_FORMAT_W3C: return stitch__decode_w3c(c, out, true);
    case STITCH_FORMAT_B3: return stitch__decode_b3_single(c, out);
    case STITCH_FORMAT_B3MULTI: return stitch__decode_b3_multi(c, out);
    case STITCH_FORMAT_JAEGER: return stitch__decode_jaeger(c, out);
    case STITCH_FORMAT_BAGGAGE: {
        memset(out, 0, sizeof *out);
        out->sampled = -1;
        stitch_str_t vals[MAX_BAGGAGE_HEADERS];
        int nv = collect_baggage(c, vals);
        if (!nv)
            return STITCH_ENOTFOUND;
        int rc = stitch__baggage_parse_values(NULL, vals, (size_t)nv, &out->baggage, &out->dropped);
        if (rc != STITCH_OK)
            return rc;
        if (out->dropped) {
            out->error = "baggage members were malformed or over the limits and were dropped";
            return STITCH_EINVAL;
        }
        out->valid = true;
        return STITCH_OK;
    }
    }
    memset(out, 0, sizeof *out);
    out->error = "unknown format";
    return STITCH_EINVAL;
}

void stitch_decoded_release(stitch_decoded_t *d)
{
    if (!d)
        return;
    stitch_tracestate_unref(d->tracestate);
    stitch_baggage_unref(d->baggage);
    d->tracestate = NULL;
    d->baggage = NULL;
}
