/* store/copy.c — deep copies of span records into a batch's arena: how the
 * append path keeps the head in memory (so compaction and head queries
 * never decode protobuf again) and how a query hands spans to its result.
 * Invariant: a copy shares nothing with its source; spans of the source
 * that shared one resource (or scope) array share one copy of it, so the
 * copies group the same way (block.c interns on that), and attribute keys
 * and span / event names are copied once per call (equal strings share one
 * copy: records are immutable, so sharing is invisible to readers). */
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"
#include "wire/decode/internal.h"

typedef struct cp {
    stitch_wire_batch_t *b;
    bool oom;
    /* keys and names copied once per call (interned by content): the
     * spans of a request repeat the same dozen keys, and one address per
     * key lets page.c skip strlen and hashing (its address cache) */
    struct islot {
        uint64_t h;
        const char *p;
        size_t len;
    } in[256];
} cp_t;

static const char *dup_str(cp_t *c, const char *s, size_t n)
{
    if (!s)
        return "";
    char *d = stitch_wire_dup(c->b, s, n);
    if (!d)
        c->oom = true;
    return d ? d : "";
}

/* A NUL-terminated key or name, interned (see cp_t). */
static const char *dup_name(cp_t *c, const char *s)
{
    if (!s || !*s)
        return "";
    size_t n = strlen(s);
    if (n > 128)
        return dup_str(c, s, n);
    /* a cheap hash: length and the first and last 8 bytes (a collision
     * only costs a copy; equality is checked in full) */
    uint64_t a = 0, z = 0;
    memcpy(&a, s, n < 8 ? n : 8);
    memcpy(&z, s + (n > 8 ? n - 8 : 0), n < 8 ? n : 8);
    uint64_t h = a * 0x9e3779b97f4a7c15ull ^ z * 0xbf58476d1ce4e5b9ull ^ n;
    h ^= h >> 29;
    struct islot *e = &c->in[(h ^ h >> 17) & 255];
    if (e->p && e->h == h && e->len == n && !memcmp(e->p, s, n))
        return e->p;
    const char *d = dup_str(c, s, n);
    if (!c->oom)
        *e = (struct islot){h, d, n};
    return d;
}

static void *dup_mem(cp_t *c, const void *p, size_t n)
{
    if (!n)
        return NULL;
    void *d = stitch_wire_batch_alloc(c->b, n);
    if (!d) {
        c->oom = true;
        return NULL;
    }
    memcpy(d, p, n);
    return d;
}

static const stitch_attr_t *dup_attrs(cp_t *c, const stitch_attr_t *a, uint32_t n)
{
    if (!n || !a)
        return NULL;
    stitch_attr_t *o = dup_mem(c, a, (size_t)n * sizeof *a);
    if (!o)
        return NULL;
    for (uint32_t i = 0; i < n; i++) {
        const stitch_value_t *v = &a[i].value;
        stitch_value_t *w = &o[i].value;
        o[i].key = dup_name(c, a[i].key);
        switch (v->type) {
        case STITCH_VALUE_STRING:
            w->u.str = dup_str(c, v->u.str, v->len);
            if (!v->u.str)
                w->len = 0;
            break;
        case STITCH_VALUE_STRING_ARRAY: {
            stitch_str_t *s = v->len ? dup_mem(c, v->u.strs, (size_t)v->len * sizeof *s) : NULL;
            for (uint32_t k = 0; s && k < v->len; k++)
                s[k].ptr = dup_str(c, s[k].ptr, s[k].len);
            w->u.strs = s;
            break;
        }
        case STITCH_VALUE_BOOL_ARRAY:
            w->u.bools = dup_mem(c, v->u.bools, (size_t)v->len * sizeof(bool));
            break;
        case STITCH_VALUE_INT_ARRAY:
            w->u.ints = dup_mem(c, v->u.ints, (size_t)v->len * sizeof(int64_t));
            break;
        case STITCH_VALUE_DOUBLE_ARRAY:
            w->u.doubles = dup_mem(c, v->u.doubles, (size_t)v->len * sizeof(double));
            break;
        default:
            break;
        }
    }
    return o;
}

static const stitch_tracestate_t *dup_ts(cp_t *c, const stitch_tracestate_t *ts)
{
    if (!ts)
        return NULL;
    size_t n;
    const char *s = stitch_tracestate_str(ts, &n);
    const stitch_tracestate_t *out = NULL;
    if (stitch_wire_tracestate(c->b, s, n, &out))
        c->oom = true;
    return out;
}

int st_span_copy(stitch_wire_batch_t *b, const stitch_span_data_t *const *spans, size_t n)
{
    cp_t *c = malloc(sizeof *c);
    if (!c)
        return STITCH_ENOMEM;
    c->b = b;
    c->oom = false;
    memset(c->in, 0, sizeof c->in);
    size_t n0 = b->nspans;
    if (stitch_wire_reserve_spans(b, n)) {
        free(c);
        return b->limit_hit ? STITCH_ELIMIT : STITCH_ENOMEM;
    }
    /* the last few resources and scopes seen, source -> copy */
    enum { RC = 8 };
    const void *rsrc[RC] = {0}, *rdst[RC] = {0}, *ssrc[RC] = {0}, *sdst[RC] = {0};
    unsigned rnext = 0, snext = 0;
    for (size_t i = 0; i < n && !c->oom; i++) {
        const stitch_span_data_t *s = spans[i];
        stitch_span_data_t *d = &b->spans[b->nspans];
        *d = *s;
        d->tracestate = dup_ts(c, s->tracestate);
        d->name = dup_name(c, s->name);
        d->status_message = dup_name(c, s->status_message);
        d->attrs = dup_attrs(c, s->attrs, s->nattrs);
        if (!d->attrs)
            d->nattrs = 0;
        if (s->nevents && s->events) {
            stitch_event_t *ev = dup_mem(c, s->events, (size_t)s->nevents * sizeof *ev);
            for (uint32_t k = 0; ev && k < s->nevents; k++) {
                ev[k].name = dup_name(c, ev[k].name);
                ev[k].attrs = dup_attrs(c, ev[k].attrs, ev[k].nattrs);
                if (!ev[k].attrs)
                    ev[k].nattrs = 0;
            }
            d->events = ev;
        } else {
            d->events = NULL;
            d->nevents = 0;
        }
        if (s->nlinks && s->links) {
            stitch_link_t *lk = dup_mem(c, s->links, (size_t)s->nlinks * sizeof *lk);
            for (uint32_t k = 0; lk && k < s->nlinks; k++) {
                lk[k].tracestate = dup_ts(c, lk[k].tracestate);
                lk[k].attrs = dup_attrs(c, lk[k].attrs, lk[k].nattrs);
                if (!lk[k].attrs)
                    lk[k].nattrs = 0;
            }
            d->links = lk;
        } else {
            d->links = NULL;
            d->nlinks = 0;
        }
        const void *r = NULL;
        for (unsigned k = 0; k < RC && !r; k++)
            if (rsrc[k] == s->resource && rdst[k])
                r = rdst[k];
        if (!r && s->resource && s->nresource) {
            r = dup_attrs(c, s->resource, s->nresource);
            rsrc[rnext] = s->resource;
            rdst[rnext] = r;
            rnext = (rnext + 1) % RC;
        }
        d->resource = r;
        if (!r)
            d->nresource = 0;
        const void *sc = NULL;
        for (unsigned k = 0; k < RC && !sc; k++)
            if (ssrc[k] == s->scope && sdst[k])
                sc = sdst[k];
        if (!sc && s->scope) {
            stitch_scope_info_t *o = stitch_wire_batch_alloc(b, sizeof *o);
            if (o) {
                o->name = dup_str(c, s->scope->name, s->scope->name ? strlen(s->scope->name) : 0);
                o->version = dup_str(c, s->scope->version, s->scope->version ? strlen(s->scope->version) : 0);
            } else {
                c->oom = true;
            }
            sc = o;
            ssrc[snext] = s->scope;
            sdst[snext] = sc;
            snext = (snext + 1) % RC;
        }
        d->scope = sc;
        b->nspans++;
    }
    bool oom = c->oom;
    free(c);
    if (oom) {
        b->nspans = n0;
        return b->limit_hit ? STITCH_ELIMIT : STITCH_ENOMEM;
    }
    return 0;
}
