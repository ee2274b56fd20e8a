/* daemon/query_ui.c — GET /api/ui/traces/{id}: one trace in the compact
 * form the web UI reads (docs/http-api.md, "The UI's trace format"). The
 * same information as the Jaeger v1 trace, laid out for a browser that
 * has to receive and parse 50,000 spans: one column per field (a JSON
 * array of numbers per column), every string, attribute value and key
 * written once in a dictionary (`dict`) and referred to by its index,
 * times in µs relative to the trace's start, and each span's parent
 * resolved to its index. A 10,000-span trace with ten attributes per span
 * is ~1.5 MB here against ~9.6 MB of Jaeger JSON.
 *
 * Invariant: every index points into its table (dict, processes, scopes,
 * spans), and the output is valid JSON whatever bytes the span strings
 * hold (stitch_wire_json_str replaces invalid UTF-8). */
#include <stdlib.h>
#include <string.h>

#include "daemon/query_internal.h"

#define TRY(x)                   \
    do {                         \
        int rc_ = (x);           \
        if (rc_)                 \
            return rc_;          \
    } while (0)
#define LIT(b, s) STITCH_WIRE_LIT((b), (s))

/* ---- the dictionary: distinct JSON values, each written once ------------------------ */

typedef struct dict {
    stitch_buf_t json;  /* the entries, comma-separated, as they go into "dict" */
    uint32_t *off, *len; /* entry k is json.data[off[k] .. off[k] + len[k]) */
    uint32_t n, cap;
    uint32_t *slot;     /* open addressing: entry index + 1, 0 = empty */
    uint32_t nslot;     /* a power of two, at least twice n */
    stitch_buf_t tmp;   /* the value being looked up, encoded */
    stitch_buf_t floats; /* ",k" for each entry that is a float64 JSON reads as an integer */
} dict_t;

static uint32_t hash(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static int dict_grow(dict_t *d)
{
    uint32_t ns = d->nslot ? d->nslot * 2 : 1024;
    uint32_t *s = calloc(ns, sizeof *s);
    if (!s)
        return STITCH_ENOMEM;
    for (uint32_t k = 0; k < d->n; k++) {
        uint32_t h = hash(d->json.data + d->off[k], d->len[k]) & (ns - 1);
        while (s[h])
            h = (h + 1) & (ns - 1);
        s[h] = k + 1;
    }
    free(d->slot);
    d->slot = s;
    d->nslot = ns;
    return 0;
}

/* The index of the JSON value in d->tmp, added when new. */
static int dict_intern(dict_t *d, uint32_t *out)
{
    const uint8_t *p = d->tmp.data;
    size_t n = d->tmp.len;
    if (2 * (d->n + 1) > d->nslot)
        TRY(dict_grow(d));
    uint32_t h = hash(p, n) & (d->nslot - 1);
    for (; d->slot[h]; h = (h + 1) & (d->nslot - 1)) {
        uint32_t k = d->slot[h] - 1;
        if (d->len[k] == n && !memcmp(d->json.data + d->off[k], p, n)) {
            *out = k;
            return 0;
        }
    }
    if (d->n == d->cap) {
        uint32_t nc = d->cap ? d->cap * 2 : 1024;
        uint32_t *o = realloc(d->off, nc * sizeof *o);
        if (!o)
            return STITCH_ENOMEM;
        d->off = o;
        uint32_t *l = realloc(d->len, nc * sizeof *l);
        if (!l)
            return STITCH_ENOMEM;
        d->len = l;
        d->cap = nc;
    }
    if (d->n)
        TRY(LIT(&d->json, ","));
    if (d->json.len > UINT32_MAX - n)
        return STITCH_ENOMEM;
    d->off[d->n] = (uint32_t)d->json.len;
    d->len[d->n] = (uint32_t)n;
    TRY(stitch_wire_put(&d->json, (const char *)p, n));
    d->slot[h] = d->n + 1;
    *out = d->n++;
    return 0;
}

static int dict_str(dict_t *d, const char *s, size_t n, uint32_t *out)
{
    stitch_buf_reset(&d->tmp);
    TRY(stitch_wire_json_str(&d->tmp, s ? s : "", s ? n : 0));
    return dict_intern(d, out);
}

static int dict_cstr(dict_t *d, const char *s, uint32_t *out)
{
    return dict_str(d, s, s ? strlen(s) : 0, out);
}

/* An attribute value as the Jaeger writer shows it: strings, booleans and
 * numbers as themselves (NaN / ±Infinity as strings), arrays and maps as a
 * string holding their JSON, no value as "". */
static int dict_value(dict_t *d, stitch_buf_t *scratch, const stitch_value_t *v, uint32_t *out)
{
    stitch_buf_reset(&d->tmp);
    switch (v->type) {
    case STITCH_VALUE_STRING:
        TRY(stitch_wire_json_str(&d->tmp, v->u.str, v->len));
        break;
    case STITCH_VALUE_BOOL:
    case STITCH_VALUE_INT:
        TRY(stitch_wire_json_plain_value(&d->tmp, v));
        break;
    case STITCH_VALUE_DOUBLE: {
        TRY(stitch_wire_json_plain_value(&d->tmp, v));
        /* 1.0 prints as 1, which a browser reads as an integer: such an
         * entry is written "1.0" (its own entry, apart from the int64 1) and
         * listed in "floats" so the UI still calls it float64 */
        const char *p = (const char *)d->tmp.data;
        if (d->tmp.len && p[0] != '"' && !memchr(p, '.', d->tmp.len) && !memchr(p, 'e', d->tmp.len) &&
            !memchr(p, 'E', d->tmp.len)) {
            TRY(LIT(&d->tmp, ".0"));
            uint32_t before = d->n;
            TRY(dict_intern(d, out));
            if (d->n != before) {
                TRY(LIT(&d->floats, ","));
                TRY(stitch_wire_u64(&d->floats, *out));
            }
            return 0;
        }
        break;
    }
    case STITCH_VALUE_NONE:
        TRY(LIT(&d->tmp, "\"\""));
        break;
    default:
        stitch_buf_reset(scratch);
        TRY(stitch_wire_json_plain_value(scratch, v));
        TRY(stitch_wire_json_str(&d->tmp, (const char *)scratch->data, scratch->len));
    }
    return dict_intern(d, out);
}

static void dict_free(dict_t *d)
{
    stitch_buf_free(&d->floats);
    stitch_buf_free(&d->json);
    stitch_buf_free(&d->tmp);
    free(d->off);
    free(d->len);
    free(d->slot);
}

/* ---- the writer ------------------------------------------------------------------------ */

typedef struct writer {
    stitch_buf_t *b;
    stitch_buf_t scratch;
    dict_t dict;
    const query_trace_t *t;
    struct byid { uint8_t id[8]; uint32_t i; } *byid; /* sorted by span id, then index */
    uint64_t t0;      /* µs: the earliest start */
} writer_t;

static int num(stitch_buf_t *b, size_t k, uint64_t v)
{
    if (k)
        TRY(LIT(b, ","));
    return stitch_wire_u64(b, v);
}

static int inum(stitch_buf_t *b, size_t k, int64_t v)
{
    if (k)
        TRY(LIT(b, ","));
    return stitch_wire_i64(b, v);
}

static int by_span_id(const void *a, const void *b)
{
    const struct byid *x = a, *y = b;
    int c = memcmp(x->id, y->id, 8);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* The index of the span with this id (the last one, when ids repeat), or -1. */
static int64_t find_span(const writer_t *w, const uint8_t id[8])
{
    size_t lo = 0, hi = w->t->n;
    while (lo < hi) { /* the first entry whose id is >= id */
        size_t mid = (lo + hi) / 2;
        if (memcmp(w->byid[mid].id, id, 8) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == w->t->n || memcmp(w->byid[lo].id, id, 8))
        return -1;
    while (lo + 1 < w->t->n && !memcmp(w->byid[lo + 1].id, id, 8))
        lo++;
    return w->byid[lo].i;
}

static bool link_child_of(const stitch_link_t *l)
{
    for (uint32_t i = 0; i < l->nattrs; i++)
        if (!strcmp(l->attrs[i].key, "opentracing.ref_type") &&
            l->attrs[i].value.type == STITCH_VALUE_STRING &&
            !strcmp(l->attrs[i].value.u.str, "child_of"))
            return true;
    return false;
}

/* A span's references in the Jaeger writer's order (query_jaeger.c jrefs):
 * the parent (CHILD_OF, or what a link to it says), then each other link.
 * Calls fn(arg, k, trace id, span id, child_of) for each; stops on non-zero. */
typedef int (*ref_fn)(void *arg, size_t k, const uint8_t *tid, const uint8_t *sid, bool child_of);
static int each_ref(const stitch_span_data_t *d, ref_fn fn, void *arg)
{
    static const uint8_t zero[8];
    bool parent = memcmp(d->parent_span_id, zero, 8) != 0;
    size_t k = 0;
    if (parent) {
        bool child_of = true;
        for (uint32_t i = 0; i < d->nlinks; i++)
            if (!memcmp(d->links[i].ctx.trace_id, d->ctx.trace_id, 16) &&
                !memcmp(d->links[i].ctx.span_id, d->parent_span_id, 8))
                child_of = link_child_of(&d->links[i]);
        TRY(fn(arg, k++, d->ctx.trace_id, d->parent_span_id, child_of));
    }
    for (uint32_t i = 0; i < d->nlinks; i++) {
        const stitch_link_t *l = &d->links[i];
        if (parent && !memcmp(l->ctx.trace_id, d->ctx.trace_id, 16) &&
            !memcmp(l->ctx.span_id, d->parent_span_id, 8))
            continue;
        TRY(fn(arg, k++, l->ctx.trace_id, l->ctx.span_id, link_child_of(l)));
    }
    return 0;
}

/* The UI's parent (ui/js/model.js's rule on Jaeger references): the first
 * CHILD_OF reference to another span of this trace, else the first
 * reference of any type to one. */
typedef struct parent_pick {
    const writer_t *w;
    size_t self;
    int64_t any, child; /* span indices or -1 */
    size_t child_ref;   /* which reference gave `child` (or `any`) */
    size_t any_ref;
} parent_pick_t;

static int pick(void *arg, size_t k, const uint8_t *tid, const uint8_t *sid, bool child_of)
{
    parent_pick_t *p = arg;
    if (memcmp(tid, p->w->t->spans[p->self].ctx.trace_id, 16))
        return 0;
    int64_t j = find_span(p->w, sid);
    if (j < 0 || (size_t)j == p->self)
        return 0;
    if (child_of) {
        p->child = j;
        p->child_ref = k;
        return 1; /* found: stop */
    }
    if (p->any < 0) {
        p->any = j;
        p->any_ref = k;
    }
    return 0;
}

static int64_t parent_of(const writer_t *w, size_t i, size_t *ref, bool *implied)
{
    parent_pick_t p = {w, i, -1, -1, 0, 0};
    (void)each_ref(&w->t->spans[i], pick, &p);
    *implied = p.child >= 0; /* a CHILD_OF reference to the parent: the client rebuilds it */
    *ref = p.child >= 0 ? p.child_ref : p.any_ref;
    return p.child >= 0 ? p.child : p.any;
}

static int trace_id(stitch_buf_t *b, const uint8_t id[16])
{
    static const uint8_t zero[8];
    TRY(LIT(b, "\""));
    TRY(memcmp(id, zero, 8) ? stitch_wire_hex(b, id, 16) : stitch_wire_hex(b, id + 8, 8));
    return LIT(b, "\"");
}

/* "refs": every reference the parent column does not imply */
typedef struct refs_out {
    writer_t *w;
    size_t span, skip; /* skip: the implied reference's number, or SIZE_MAX */
    size_t *n;
} refs_out_t;

static int put_ref(void *arg, size_t k, const uint8_t *tid, const uint8_t *sid, bool child_of)
{
    refs_out_t *r = arg;
    stitch_buf_t *b = r->w->b;
    if (k == r->skip)
        return 0;
    TRY((*r->n)++ ? LIT(b, ",[") : LIT(b, "["));
    TRY(stitch_wire_u64(b, r->span));
    TRY(child_of ? LIT(b, ",0,") : LIT(b, ",1,"));
    TRY(trace_id(b, tid));
    TRY(LIT(b, ",\""));
    TRY(stitch_wire_hex(b, sid, 8));
    return LIT(b, "\"]");
}

/* [key, value, key, value, …] as dictionary indices */
static int kvs(writer_t *w, stitch_buf_t *b, const stitch_attr_t *a, uint32_t n, const char *skip)
{
    size_t k = 0;
    TRY(LIT(b, "["));
    for (uint32_t i = 0; i < n; i++) {
        if (skip && !strcmp(a[i].key, skip))
            continue;
        uint32_t ki, vi;
        TRY(dict_cstr(&w->dict, a[i].key, &ki));
        TRY(dict_value(&w->dict, &w->scratch, &a[i].value, &vi));
        TRY(num(b, k++, ki));
        TRY(num(b, k++, vi));
    }
    return LIT(b, "]");
}

static int write(writer_t *w)
{
    const query_trace_t *t = w->t;
    stitch_buf_t *b = w->b;
    size_t n = t->n;
    uint32_t *res = malloc((n ? n : 1) * sizeof *res), *scp = malloc((n ? n : 1) * sizeof *scp);
    int64_t *par = malloc((n ? n : 1) * sizeof *par);
    size_t *pref = malloc((n ? n : 1) * sizeof *pref);
    if (!res || !scp || !par || !pref) {
        free(res), free(scp), free(par), free(pref);
        return STITCH_ENOMEM;
    }
    uint32_t nres = 0, nscp = 0, k0;
    int rc = query_resource_ids(t->spans, n, res, &nres);
    if (!rc)
        rc = query_scope_ids(t->spans, n, scp, &nscp);
    if (!rc)
        rc = dict_str(&w->dict, "", 0, &k0); /* entry 0 is "": "none" for optional strings */
    for (size_t i = 0; i < n && !rc; i++) {
        bool implied;
        par[i] = parent_of(w, i, &pref[i], &implied);
        if (!implied)
            pref[i] = SIZE_MAX; /* nothing for the client to rebuild: list every reference */
    }
#define G(x)              \
    do {                  \
        if (!rc)          \
            rc = (x);     \
    } while (0)
    G(LIT(b, "{\"data\":{\"traceID\":"));
    G(trace_id(b, t->trace_id));
    G(LIT(b, ",\"t0\":"));
    G(stitch_wire_u64(b, w->t0));
    G(LIT(b, ",\"n\":"));
    G(stitch_wire_u64(b, n));
    /* processes: [service, [key, value, …]] in order of first appearance */
    G(LIT(b, ",\"processes\":["));
    for (uint32_t next = 0, i = 0; i < n && next < nres && !rc; i++) {
        if (res[i] != next)
            continue;
        const stitch_span_data_t *d = &t->spans[i];
        const char *svc = NULL;
        size_t svclen = 0;
        for (uint32_t a = 0; a < d->nresource && !svc; a++)
            if (!strcmp(d->resource[a].key, "service.name") &&
                d->resource[a].value.type == STITCH_VALUE_STRING)
                svc = d->resource[a].value.u.str, svclen = d->resource[a].value.len;
        if (!svc)
            svc = "unknown_service", svclen = strlen(svc);
        uint32_t si;
        G((next ? LIT(b, ",[") : LIT(b, "[")));
        G(dict_str(&w->dict, svc, svclen, &si));
        G(stitch_wire_u64(b, si));
        G(LIT(b, ","));
        G(kvs(w, b, d->resource, d->nresource, "service.name"));
        G(LIT(b, "]"));
        next++;
    }
    /* scopes: [name, version] */
    G(LIT(b, "],\"scopes\":["));
    for (uint32_t next = 0, i = 0; i < n && next < nscp && !rc; i++) {
        if (scp[i] != next)
            continue;
        const stitch_scope_info_t *s = t->spans[i].scope;
        uint32_t a = 0, v = 0;
        G(dict_cstr(&w->dict, s ? s->name : "", &a));
        G(dict_cstr(&w->dict, s ? s->version : "", &v));
        G((next ? LIT(b, ",[") : LIT(b, "[")));
        G(stitch_wire_u64(b, a));
        G(LIT(b, ","));
        G(stitch_wire_u64(b, v));
        G(LIT(b, "]"));
        next++;
    }
    G(LIT(b, "],\"spanID\":["));
    for (size_t i = 0; i < n && !rc; i++) {
        G((i ? LIT(b, ",\"") : LIT(b, "\"")));
        G(stitch_wire_hex(b, t->spans[i].ctx.span_id, 8));
        G(LIT(b, "\""));
    }
    G(LIT(b, "],\"parent\":["));
    for (size_t i = 0; i < n && !rc; i++)
        G(inum(b, i, par[i]));
    G(LIT(b, "],\"process\":["));
    for (size_t i = 0; i < n && !rc; i++)
        G(num(b, i, res[i]));
    G(LIT(b, "],\"scope\":["));
    for (size_t i = 0; i < n && !rc; i++)
        G(num(b, i, scp[i]));
    G(LIT(b, "],\"name\":["));
    for (size_t i = 0; i < n && !rc; i++) {
        uint32_t k = 0;
        G(dict_cstr(&w->dict, t->spans[i].name, &k));
        G(num(b, i, k));
    }
    G(LIT(b, "],\"start\":["));
    for (size_t i = 0; i < n && !rc; i++)
        G(num(b, i, t->spans[i].start_ns / 1000 - w->t0));
    G(LIT(b, "],\"duration\":["));
    for (size_t i = 0; i < n && !rc; i++) {
        const stitch_span_data_t *d = &t->spans[i];
        G(num(b, i, d->end_ns > d->start_ns ? (d->end_ns - d->start_ns) / 1000 : 0));
    }
    G(LIT(b, "],\"kind\":["));
    for (size_t i = 0; i < n && !rc; i++)
        G(num(b, i, t->spans[i].kind >= 1 && t->spans[i].kind <= 5 ? (uint64_t)t->spans[i].kind : 1));
    G(LIT(b, "],\"status\":["));
    for (size_t i = 0; i < n && !rc; i++)
        G(num(b, i, (uint64_t)t->spans[i].status));
    G(LIT(b, "],\"tags\":["));
    for (size_t i = 0; i < n && !rc; i++) {
        if (i)
            G(LIT(b, ","));
        G(kvs(w, b, t->spans[i].attrs, t->spans[i].nattrs, NULL));
    }
    /* events: [span, time (µs from t0), name, [key, value, …], dropped attributes] */
    G(LIT(b, "],\"events\":["));
    size_t ne = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        const stitch_span_data_t *d = &t->spans[i];
        for (uint32_t e = 0; e < d->nevents && !rc; e++) {
            const stitch_event_t *ev = &d->events[e];
            uint32_t nm = 0;
            G((ne++ ? LIT(b, ",[") : LIT(b, "[")));
            G(stitch_wire_u64(b, i));
            G(LIT(b, ","));
            G(stitch_wire_i64(b, (int64_t)(ev->time_ns / 1000) - (int64_t)w->t0));
            G(LIT(b, ","));
            G(dict_cstr(&w->dict, ev->name, &nm));
            G(stitch_wire_u64(b, nm));
            G(LIT(b, ","));
            G(kvs(w, b, ev->attrs, ev->nattrs, NULL));
            G(LIT(b, ","));
            G(stitch_wire_u64(b, ev->dropped_attrs));
            G(LIT(b, "]"));
        }
    }
    /* refs: [span, 0 CHILD_OF / 1 FOLLOWS_FROM, trace id, span id] */
    G(LIT(b, "],\"refs\":["));
    size_t nr = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        refs_out_t r = {w, i, pref[i], &nr};
        G(each_ref(&t->spans[i], put_ref, &r));
    }
    /* extra: [span, status message, tracestate, dropped attributes, events, links],
     * only for spans with any of them */
    G(LIT(b, "],\"extra\":["));
    size_t nx = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        const stitch_span_data_t *d = &t->spans[i];
        size_t tsn = 0;
        const char *ts = d->tracestate ? stitch_tracestate_str(d->tracestate, &tsn) : "";
        bool msg = d->status_message && d->status_message[0];
        if (!msg && !tsn && !d->dropped_attrs && !d->dropped_events && !d->dropped_links)
            continue;
        uint32_t mi = 0, ti = 0;
        if (msg)
            G(dict_cstr(&w->dict, d->status_message, &mi));
        if (tsn)
            G(dict_str(&w->dict, ts, tsn, &ti));
        G((nx++ ? LIT(b, ",[") : LIT(b, "[")));
        G(stitch_wire_u64(b, i));
        G(num(b, 1, mi));
        G(num(b, 1, ti));
        G(num(b, 1, d->dropped_attrs));
        G(num(b, 1, d->dropped_events));
        G(num(b, 1, d->dropped_links));
        G(LIT(b, "]"));
    }
    G(LIT(b, "],\"dict\":["));
    G(stitch_wire_put(b, (const char *)w->dict.json.data, w->dict.json.len));
    G(LIT(b, "],\"floats\":["));
    if (w->dict.floats.len) /* skip the leading comma */
        G(stitch_wire_put(b, (const char *)w->dict.floats.data + 1, w->dict.floats.len - 1));
    G(LIT(b, "]},\"errors\":null}"));
#undef G
    free(res), free(scp), free(par), free(pref);
    return rc;
}

int query_ui_write_trace(stitch_buf_t *b, const query_trace_t *t)
{
    writer_t w;
    memset(&w, 0, sizeof w);
    w.b = b;
    w.t = t;
    w.byid = malloc((t->n ? t->n : 1) * sizeof *w.byid);
    if (!w.byid)
        return STITCH_ENOMEM;
    w.t0 = UINT64_MAX;
    for (size_t i = 0; i < t->n; i++) {
        memcpy(w.byid[i].id, t->spans[i].ctx.span_id, 8);
        w.byid[i].i = (uint32_t)i;
        if (t->spans[i].start_ns / 1000 < w.t0)
            w.t0 = t->spans[i].start_ns / 1000;
    }
    if (!t->n)
        w.t0 = 0;
    qsort(w.byid, t->n, sizeof *w.byid, by_span_id);
    int rc = write(&w);
    stitch_buf_free(&w.scratch);
    dict_free(&w.dict);
    free(w.byid);
    return rc;
}

static int answer_one(query_ctx_t *c, const query_traces_t *t)
{
    int rc = query_ui_write_trace(&c->out, &t->v[0]);
    return rc ? query_fail_rc(c, rc, "writing the trace") : query_ok(c, "application/json");
}

/* GET /api/ui/traces/{id} */
int query_ui_trace(query_ctx_t *c, const char *seg, size_t seglen)
{
    uint8_t id[16];
    char err[160];
    if (query_parse_trace_id(seg, seglen, id, err, sizeof err))
        return query_fail(c, 400, "trace id in the path: %s", err);
    return query_answer_trace(c, id, "trace not found", answer_one);
}
