/* daemon/query_search.c — searches and trace lists for every query API:
 * tag conditions sorted into those the store checks and those checked here
 * (tags Jaeger and Zipkin synthesize from span fields: span.kind,
 * otel.status_description, …; Zipkin annotation words) — except the status
 * ones (error=true, otel.status_code), which become the store's
 * status_mask —, the post-filter
 * that re-tests whole spans, fetching traces by id, and the resource/scope
 * de-duplication the renderers need (Jaeger processes; the wire encoders'
 * grouping by pointer identity).
 * Invariant: a query_traces_t only points into store results it owns, so
 * freeing it frees every span it ever showed. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemon/query_internal.h"

/* ---- searches ---------------------------------------------------------------------- */

void query_search_init(query_search_t *s)
{
    memset(s, 0, sizeof *s);
    s->q.kind = -1;
}

void query_search_free(query_search_t *s)
{
    for (size_t i = 0; i < s->nowned; i++)
        free(s->owned[i]);
    free(s->owned);
    s->owned = NULL;
    s->nowned = s->capowned = 0;
}

char *query_search_strdup(query_search_t *s, const char *p, size_t n)
{
    if (s->nowned == s->capowned) {
        size_t nc = s->capowned ? s->capowned * 2 : 8;
        char **no = realloc(s->owned, nc * sizeof *no);
        if (!no)
            return NULL;
        s->owned = no;
        s->capowned = nc;
    }
    char *c = malloc(n + 1);
    if (!c)
        return NULL;
    memcpy(c, p, n);
    c[n] = '\0';
    s->owned[s->nowned++] = c;
    return c;
}

/* Keys whose Jaeger/Zipkin tag is made from a span field, not an attribute. */
static bool synthesized_key(const char *k)
{
    static const char *const keys[] = {
        "error", "otel.status_code", "otel.status_description", "span.kind", /* error=<msg>, bad codes */
        "otel.scope.name", "otel.scope.version", "w3c.tracestate",
        "otel.dropped_attributes_count", "otel.dropped_events_count", "otel.dropped_links_count",
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!strcmp(k, keys[i]))
            return true;
    return false;
}

/* The status codes a tag made from the span status accepts, as a store
 * status_mask; 0 when the tag is not one the store can check: error
 * (Jaeger's error=true, Zipkin's annotationQuery word "error") = ERROR,
 * otel.status_code = ERROR, OK or UNSET (any case), or present = OK|ERROR.
 * error=<message> (Zipkin) stays a post-filter condition. */
static unsigned status_mask_of(const char *key, const char *value)
{
    if (!strcmp(key, "error"))
        return !value || !strcmp(value, "true") ? 1u << STITCH_STATUS_ERROR : 0;
    if (strcmp(key, "otel.status_code"))
        return 0;
    if (!value)
        return 1u << STITCH_STATUS_OK | 1u << STITCH_STATUS_ERROR;
    if (!strcasecmp(value, "ERROR"))
        return 1u << STITCH_STATUS_ERROR;
    if (!strcasecmp(value, "OK"))
        return 1u << STITCH_STATUS_OK;
    if (!strcasecmp(value, "UNSET"))
        return 1u << STITCH_STATUS_UNSET;
    return 0;
}

/* No span has this status: the mask of contradicting status conditions. */
#define STATUS_NONE (1u << 31)

int query_search_add_tag(query_search_t *s, const char *key, const char *value, bool annotation)
{
    /* status conditions are the store's (exact, so `limit` holds): they
     * intersect, all holding on one span */
    unsigned m = status_mask_of(key, value);
    if (m) {
        unsigned cur = s->q.status_mask;
        m = cur ? cur & m : m;
        s->q.status_mask = m ? m : STATUS_NONE;
        return 0;
    }
    if (s->ntags == QUERY_MAX_TAGS)
        return -1;
    /* span.kind=server is the store's own kind condition (exact, and indexed) */
    if (!strcmp(key, "span.kind") && value && s->q.kind == -1 && query_parse_kind(value) > 0) {
        s->q.kind = query_parse_kind(value);
        return 0;
    }
    query_tag_cond_t *t = &s->tags[s->ntags++];
    t->key = key;
    t->value = value;
    t->annotation = annotation && !value;
    t->post = t->annotation || synthesized_key(key);
    return 0;
}

int query_search_add_json_tags(query_search_t *s, const char *json, char *err, size_t errlen)
{
    json_error_t je;
    json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        snprintf(err, errlen, "invalid JSON (%s at character %d)", je.text, je.position);
        return -1;
    }
    int rc = 0;
    if (!json_is_object(root)) {
        snprintf(err, errlen, "expected a JSON object of tag keys and values, e.g. {\"http.status_code\":\"500\"}");
        rc = -1;
        goto out;
    }
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v) {
        char num[64];
        const char *text;
        size_t tlen;
        if (json_is_string(v)) {
            text = json_string_value(v);
            tlen = json_string_length(v);
        } else if (json_is_integer(v)) {
            snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            text = num;
            tlen = strlen(num);
        } else if (json_is_real(v)) {
            stitch_buf_t b = STITCH_BUF_INIT(sizeof num);
            b.data = (uint8_t *)num, b.cap = sizeof num - 1;
            if (stitch_wire_double(&b, json_real_value(v))) {
                snprintf(err, errlen, "tag \"%.64s\": number out of range", k);
                rc = -1;
                goto out;
            }
            num[b.len] = '\0';
            text = num;
            tlen = b.len;
        } else if (json_is_boolean(v)) {
            text = json_is_true(v) ? "true" : "false";
            tlen = strlen(text);
        } else {
            snprintf(err, errlen, "tag \"%.64s\": value must be a string", k);
            rc = -1;
            goto out;
        }
        if (memchr(text, '\0', tlen)) {
            snprintf(err, errlen, "tag \"%.64s\": value contains a NUL character", k);
            rc = -1;
            goto out;
        }
        char *kc = query_search_strdup(s, k, strlen(k));
        char *vc = query_search_strdup(s, text, tlen);
        if (!kc || !vc) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
            goto out;
        }
        if (query_search_add_tag(s, kc, vc, false)) {
            snprintf(err, errlen, "more than %d tag conditions", QUERY_MAX_TAGS);
            rc = -1;
            goto out;
        }
    }
out:
    json_decref(root);
    return rc;
}

/* ---- matching spans (the post-filter) ------------------------------------------------ */

/* The value as text, the way tag conditions compare it ("42", "true",
 * "1.5", "a"; arrays as JSON). *p points at v's own bytes for strings. */
static int value_text(const stitch_value_t *v, stitch_buf_t *scratch, const char **p, size_t *n)
{
    if (v->type == STITCH_VALUE_STRING) {
        *p = v->u.str;
        *n = v->len;
        return 0;
    }
    stitch_buf_reset(scratch);
    int rc;
    switch (v->type) {
    case STITCH_VALUE_BOOL: rc = v->u.b ? STITCH_WIRE_LIT(scratch, "true") : STITCH_WIRE_LIT(scratch, "false"); break;
    case STITCH_VALUE_INT: rc = stitch_wire_i64(scratch, v->u.i); break;
    case STITCH_VALUE_NONE: rc = 0; break;
    default: rc = stitch_wire_json_plain_value(scratch, v);
    }
    if (v->type == STITCH_VALUE_DOUBLE) /* plain_value quotes NaN; the text is NaN */
        if (scratch->len && scratch->data[0] == '"') {
            memmove(scratch->data, scratch->data + 1, scratch->len - 2);
            scratch->len -= 2;
        }
    *p = (const char *)scratch->data;
    *n = scratch->len;
    return rc;
}

static bool attrs_have(const stitch_attr_t *a, uint32_t n, const char *key, const char *value,
                       stitch_buf_t *scratch)
{
    for (uint32_t i = 0; i < n; i++) {
        if (strcmp(a[i].key, key))
            continue;
        if (!value)
            return true;
        const char *p;
        size_t len;
        if (value_text(&a[i].value, scratch, &p, &len))
            continue;
        if (len == strlen(value) && !memcmp(p, value, len))
            return true;
    }
    return false;
}

static bool str_cond(const char *have, const char *want)
{
    return have && *have && (!want || !strcmp(have, want));
}

static bool span_has_tag(const stitch_span_data_t *d, const query_tag_cond_t *t, stitch_buf_t *scratch)
{
    if (attrs_have(d->attrs, d->nattrs, t->key, t->value, scratch) ||
        attrs_have(d->resource, d->nresource, t->key, t->value, scratch))
        return true;
    for (uint32_t i = 0; i < d->nevents; i++) {
        const stitch_event_t *e = &d->events[i];
        if (attrs_have(e->attrs, e->nattrs, t->key, t->value, scratch))
            return true;
        if (t->annotation && e->name && !strcmp(e->name, t->key))
            return true;
    }
    const char *k = t->key, *v = t->value;
    if (!strcmp(k, "error"))
        return d->status == STITCH_STATUS_ERROR &&
               (!v || !strcmp(v, "true") || (d->status_message && !strcmp(v, d->status_message)));
    if (!strcmp(k, "otel.status_code")) {
        if (d->status == STITCH_STATUS_UNSET)
            return false;
        return !v || !strcasecmp(v, d->status == STITCH_STATUS_ERROR ? "ERROR" : "OK");
    }
    if (!strcmp(k, "otel.status_description"))
        return str_cond(d->status_message, v);
    if (!strcmp(k, "span.kind"))
        return !v || !strcasecmp(v, query_kind_name(d->kind));
    if (!strcmp(k, "otel.scope.name"))
        return d->scope && str_cond(d->scope->name, v);
    if (!strcmp(k, "otel.scope.version"))
        return d->scope && str_cond(d->scope->version, v);
    if (!strcmp(k, "w3c.tracestate")) {
        size_t n = 0;
        const char *ts = d->tracestate ? stitch_tracestate_str(d->tracestate, &n) : "";
        return n && (!v || !strcmp(v, ts));
    }
    uint32_t cnt = 0;
    bool counted = true;
    if (!strcmp(k, "otel.dropped_attributes_count"))
        cnt = d->dropped_attrs;
    else if (!strcmp(k, "otel.dropped_events_count"))
        cnt = d->dropped_events;
    else if (!strcmp(k, "otel.dropped_links_count"))
        cnt = d->dropped_links;
    else
        counted = false;
    if (counted && cnt) {
        char num[16];
        snprintf(num, sizeof num, "%u", cnt);
        return !v || !strcmp(v, num);
    }
    return false;
}

static const char *service_of(const stitch_span_data_t *d)
{
    for (uint32_t i = 0; i < d->nresource; i++)
        if (!strcmp(d->resource[i].key, "service.name") &&
            d->resource[i].value.type == STITCH_VALUE_STRING)
            return d->resource[i].value.u.str;
    return NULL;
}

/* Every condition of s on this one span. */
static bool span_matches(const query_search_t *s, const stitch_span_data_t *d, stitch_buf_t *scratch)
{
    const stitch_store_query_t *q = &s->q;
    if (q->service) {
        const char *svc = service_of(d);
        if (!svc || strcmp(svc, q->service))
            return false;
    }
    if (q->operation && (!d->name || strcmp(d->name, q->operation)))
        return false;
    if (q->kind > 0 && (int)d->kind != q->kind)
        return false;
    if (q->status_mask && !(q->status_mask & (1u << ((unsigned)d->status & 31))))
        return false;
    if ((q->start_min_ns && d->start_ns < q->start_min_ns) ||
        (q->start_max_ns && d->start_ns > q->start_max_ns))
        return false;
    uint64_t dur = d->end_ns > d->start_ns ? d->end_ns - d->start_ns : 0;
    if ((q->duration_min_ns && dur < q->duration_min_ns) ||
        (q->duration_max_ns && dur > q->duration_max_ns))
        return false;
    for (size_t i = 0; i < s->ntags; i++)
        if (!span_has_tag(d, &s->tags[i], scratch))
            return false;
    return true;
}

/* ---- trace lists ------------------------------------------------------------------- */

void query_traces_init(query_traces_t *t) { memset(t, 0, sizeof *t); }

void query_traces_free(query_traces_t *t)
{
    for (size_t i = 0; i < t->nres; i++)
        stitch_store_result_free(&t->res[i]);
    free(t->res);
    free(t->v);
    memset(t, 0, sizeof *t);
}

/* Room for one more result; it is initialised and counted. */
static stitch_store_result_t *new_result(query_traces_t *t)
{
    if (t->nres == t->capres) {
        size_t nc = t->capres ? t->capres * 2 : 4;
        stitch_store_result_t *nr = realloc(t->res, nc * sizeof *nr);
        if (!nr)
            return NULL;
        t->res = nr;
        t->capres = nc;
    }
    stitch_store_result_t *r = &t->res[t->nres++];
    stitch_store_result_init(r);
    return r;
}

static int add_view(query_traces_t *t, const stitch_store_result_t *r, const stitch_store_trace_t *tr)
{
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 16;
        query_trace_t *nv = realloc(t->v, nc * sizeof *nv);
        if (!nv)
            return STITCH_ENOMEM;
        t->v = nv;
        t->cap = nc;
    }
    query_trace_t *v = &t->v[t->n++];
    v->spans = r->batch.spans + tr->first;
    v->n = tr->count;
    memcpy(v->trace_id, tr->trace_id, 16);
    t->nspans += tr->count;
    return 0;
}

int query_search_run(stitch_store_t *store, query_search_t *s, query_traces_t *t)
{
    size_t limit = s->q.limit ? s->q.limit : 20;
    bool post = false;
    size_t nst = 0;
    for (size_t i = 0; i < s->ntags; i++) {
        if (s->tags[i].post) {
            post = true;
            continue;
        }
        s->store_tags[nst].key = s->tags[i].key;
        s->store_tags[nst].value = s->tags[i].value;
        nst++;
    }
    stitch_store_query_t q = s->q;
    q.tags = nst ? s->store_tags : NULL;
    q.ntags = nst;
    q.limit = post ? limit * QUERY_OVERFETCH : limit;
    stitch_store_result_t *r = new_result(t);
    if (!r)
        return STITCH_ENOMEM;
    int rc = stitch_store_search(store, &q, r);
    if (rc)
        return rc;
    stitch_buf_t scratch = STITCH_BUF_INIT(0);
    size_t kept = 0;
    for (size_t i = 0; i < r->ntraces && kept < limit && !rc; i++) {
        const stitch_store_trace_t *tr = &r->traces[i];
        bool ok = !post;
        for (size_t j = 0; !ok && j < tr->count; j++)
            ok = span_matches(s, &r->batch.spans[tr->first + j], &scratch);
        if (ok) {
            rc = add_view(t, r, tr);
            kept++;
        }
    }
    stitch_buf_free(&scratch);
    return rc;
}

int query_traces_get(stitch_store_t *store, const uint8_t id[16], query_traces_t *t, bool *found)
{
    *found = false;
    stitch_store_result_t *r = new_result(t);
    if (!r)
        return STITCH_ENOMEM;
    int rc = stitch_store_get_trace(store, id, r);
    if (rc)
        return rc;
    for (size_t i = 0; i < r->ntraces && !rc; i++) {
        if (r->traces[i].count == 0)
            continue;
        rc = add_view(t, r, &r->traces[i]);
        *found = true;
    }
    return rc;
}

int query_answer_trace(query_ctx_t *c, const uint8_t id[16], const char *missing,
                       int (*answer)(query_ctx_t *c, const query_traces_t *t))
{
    query_traces_t t;
    query_traces_init(&t);
    bool found;
    int rc = query_traces_get(c->store, id, &t, &found);
    if (rc)
        query_fail_rc(c, rc, "reading the trace");
    else if (!found || !t.n)
        query_fail(c, 404, "%s", missing);
    else
        answer(c, &t);
    query_traces_free(&t);
    return 1;
}

/* ---- resource and scope identity --------------------------------------------------- */

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ c[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t hash_value(uint64_t h, const stitch_value_t *v)
{
    h = fnv(h, &v->type, sizeof v->type);
    switch (v->type) {
    case STITCH_VALUE_STRING: return fnv(h, v->u.str, v->len);
    case STITCH_VALUE_BOOL: return fnv(h, &v->u.b, 1);
    case STITCH_VALUE_INT: return fnv(h, &v->u.i, 8);
    case STITCH_VALUE_DOUBLE: return fnv(h, &v->u.d, 8);
    case STITCH_VALUE_STRING_ARRAY:
        for (uint32_t i = 0; i < v->len; i++)
            h = fnv(fnv(h, v->u.strs[i].ptr, v->u.strs[i].len), "", 1);
        return h;
    case STITCH_VALUE_BOOL_ARRAY: return fnv(h, v->u.bools, v->len);
    case STITCH_VALUE_INT_ARRAY: return fnv(h, v->u.ints, 8ull * v->len);
    case STITCH_VALUE_DOUBLE_ARRAY: return fnv(h, v->u.doubles, 8ull * v->len);
    default: return h;
    }
}

static bool value_eq(const stitch_value_t *a, const stitch_value_t *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case STITCH_VALUE_STRING: return a->len == b->len && !memcmp(a->u.str, b->u.str, a->len);
    case STITCH_VALUE_BOOL: return a->u.b == b->u.b;
    case STITCH_VALUE_INT: return a->u.i == b->u.i;
    case STITCH_VALUE_DOUBLE: return !memcmp(&a->u.d, &b->u.d, 8);
    case STITCH_VALUE_NONE: return true;
    default: break;
    }
    if (a->len != b->len)
        return false;
    for (uint32_t i = 0; i < a->len; i++) {
        switch (a->type) {
        case STITCH_VALUE_STRING_ARRAY:
            if (a->u.strs[i].len != b->u.strs[i].len ||
                memcmp(a->u.strs[i].ptr, b->u.strs[i].ptr, a->u.strs[i].len))
                return false;
            break;
        case STITCH_VALUE_BOOL_ARRAY: if (a->u.bools[i] != b->u.bools[i]) return false; break;
        case STITCH_VALUE_INT_ARRAY: if (a->u.ints[i] != b->u.ints[i]) return false; break;
        default: if (memcmp(&a->u.doubles[i], &b->u.doubles[i], 8)) return false;
        }
    }
    return true;
}

static const void *res_ptr(const stitch_span_data_t *d) { return d->resource; }
static uint64_t res_hash(const stitch_span_data_t *d)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (uint32_t i = 0; i < d->nresource; i++)
        h = hash_value(fnv(h, d->resource[i].key, strlen(d->resource[i].key) + 1), &d->resource[i].value);
    return h;
}
static bool res_eq(const stitch_span_data_t *a, const stitch_span_data_t *b)
{
    if (a->nresource != b->nresource)
        return false;
    for (uint32_t i = 0; i < a->nresource; i++)
        if (strcmp(a->resource[i].key, b->resource[i].key) ||
            !value_eq(&a->resource[i].value, &b->resource[i].value))
            return false;
    return true;
}

static const char *nz(const char *s) { return s ? s : ""; }
static const void *scope_ptr(const stitch_span_data_t *d) { return d->scope; }
static uint64_t scope_hash(const stitch_span_data_t *d)
{
    uint64_t h = 0xcbf29ce484222325ull;
    if (d->scope) {
        h = fnv(h, nz(d->scope->name), strlen(nz(d->scope->name)) + 1);
        h = fnv(h, nz(d->scope->version), strlen(nz(d->scope->version)));
    }
    return h;
}
static bool scope_eq(const stitch_span_data_t *a, const stitch_span_data_t *b)
{
    const char *an = a->scope ? nz(a->scope->name) : "", *av = a->scope ? nz(a->scope->version) : "";
    const char *bn = b->scope ? nz(b->scope->name) : "", *bv = b->scope ? nz(b->scope->version) : "";
    return !strcmp(an, bn) && !strcmp(av, bv);
}

typedef struct dedup_ops {
    const void *(*ptr)(const stitch_span_data_t *);
    uint64_t (*hash)(const stitch_span_data_t *);
    bool (*eq)(const stitch_span_data_t *, const stitch_span_data_t *);
} dedup_ops_t;

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}

/* Two open-addressing tables: pointer → id (spans of one store block share
 * their resource array, so this is the common case), then content hash →
 * id for pointers not seen yet. */
static int dedup(const dedup_ops_t *ops, const stitch_span_data_t *spans, size_t n, uint32_t *ids,
                 uint32_t *nids)
{
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    struct pslot { const void *p; uint32_t id; } *pt = calloc(cap, sizeof *pt);
    struct cslot { uint64_t h; uint32_t id1; } *ct = calloc(cap, sizeof *ct); /* id1 0 = empty */
    size_t *rep = malloc((n ? n : 1) * sizeof *rep);                         /* id → a span index */
    if (!pt || !ct || !rep) {
        free(pt), free(ct), free(rep);
        return STITCH_ENOMEM;
    }
    uint32_t next = 0;
    const void *lastp = NULL;
    uint32_t lastid = 0;
    bool havelast = false;
    for (size_t i = 0; i < n; i++) {
        const void *p = ops->ptr(&spans[i]);
        if (havelast && p == lastp && p) {
            ids[i] = lastid;
            continue;
        }
        size_t ps = 0;
        bool found = false;
        if (p) {
            ps = mix((uint64_t)(uintptr_t)p) & (cap - 1);
            while (pt[ps].p && pt[ps].p != p)
                ps = (ps + 1) & (cap - 1);
            if (pt[ps].p == p) {
                ids[i] = pt[ps].id;
                found = true;
            }
        }
        if (!found) {
            uint64_t h = ops->hash(&spans[i]);
            size_t cs = mix(h) & (cap - 1);
            uint32_t id = UINT32_MAX;
            while (ct[cs].id1) {
                if (ct[cs].h == h && ops->eq(&spans[rep[ct[cs].id1 - 1]], &spans[i])) {
                    id = ct[cs].id1 - 1;
                    break;
                }
                cs = (cs + 1) & (cap - 1);
            }
            if (id == UINT32_MAX) {
                id = next++;
                rep[id] = i;
                ct[cs].h = h;
                ct[cs].id1 = id + 1;
            }
            ids[i] = id;
            if (p) {
                pt[ps].p = p;
                pt[ps].id = id;
            }
        }
        lastp = p, lastid = ids[i], havelast = true;
    }
    *nids = next;
    free(pt), free(ct), free(rep);
    return 0;
}

static const dedup_ops_t res_ops = {res_ptr, res_hash, res_eq};
static const dedup_ops_t scope_ops = {scope_ptr, scope_hash, scope_eq};

int query_resource_ids(const stitch_span_data_t *spans, size_t n, uint32_t *ids, uint32_t *nids)
{
    return dedup(&res_ops, spans, n, ids, nids);
}

int query_scope_ids(const stitch_span_data_t *spans, size_t n, uint32_t *ids, uint32_t *nids)
{
    return dedup(&scope_ops, spans, n, ids, nids);
}

int query_traces_canonical(const query_traces_t *t, const stitch_span_data_t ***ptrs,
                           stitch_span_data_t **copies)
{
    size_t n = t->nspans;
    *ptrs = NULL;
    *copies = NULL;
    stitch_span_data_t *cp = malloc((n ? n : 1) * sizeof *cp);
    const stitch_span_data_t **pp = malloc((n ? n : 1) * sizeof *pp);
    uint32_t *rid = malloc((n ? n : 1) * sizeof *rid), *sid = malloc((n ? n : 1) * sizeof *sid);
    int rc = STITCH_ENOMEM;
    if (!cp || !pp || !rid || !sid)
        goto fail;
    size_t k = 0;
    for (size_t i = 0; i < t->n; i++)
        for (size_t j = 0; j < t->v[i].n; j++)
            cp[k++] = t->v[i].spans[j];
    uint32_t nr, ns;
    if ((rc = query_resource_ids(cp, n, rid, &nr)) || (rc = query_scope_ids(cp, n, sid, &ns)))
        goto fail;
    /* the first span with each id lends its pointers to the others */
    const stitch_span_data_t **rfirst = calloc((nr ? nr : 1) + (ns ? ns : 1), sizeof *rfirst);
    if (!rfirst) {
        rc = STITCH_ENOMEM;
        goto fail;
    }
    const stitch_span_data_t **sfirst = rfirst + (nr ? nr : 1);
    for (size_t i = 0; i < n; i++) {
        if (!rfirst[rid[i]])
            rfirst[rid[i]] = &cp[i];
        if (!sfirst[sid[i]])
            sfirst[sid[i]] = &cp[i];
        cp[i].resource = rfirst[rid[i]]->resource;
        cp[i].nresource = rfirst[rid[i]]->nresource;
        cp[i].scope = sfirst[sid[i]]->scope;
        pp[i] = &cp[i];
    }
    free(rfirst);
    free(rid), free(sid);
    *ptrs = pp;
    *copies = cp;
    return 0;
fail:
    free(cp), free(pp), free(rid), free(sid);
    return rc;
}
