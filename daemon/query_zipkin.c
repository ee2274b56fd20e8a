/* daemon/query_zipkin.c — the Zipkin v2 query API (openzipkin/zipkin-api
 * zipkin2-api.yaml), read by the Zipkin UI and Grafana's Zipkin data
 * source: /api/v2/services, /spans, /remoteServices, /traces, /trace/{id},
 * /traceMany, /dependencies, and the empty /autocompleteKeys and
 * /autocompleteValues the UI asks for. Spans are written by wire/'s Zipkin
 * encoder (OpenTelemetry's mapping, docs/wire.md). Times are ms, durations
 * µs, as in Zipkin; errors are the message as text/plain, as zipkin-server
 * sends them.
 * Invariant: annotationQuery keeps Zipkin's meaning — "k=v" is a tag, a
 * lone word matches a tag key or an annotation (event name), and "error"
 * matches spans with an error status. */
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

#define DAY_MS (24ll * 3600 * 1000)

static int answer_list(query_ctx_t *c, int rc, query_list_t *l, const char *what)
{
    rc = rc ? rc : l->rc;
    if (!rc)
        rc = LIT(&c->out, "]");
    free(l->last);
    return rc ? query_fail_rc(c, rc, what) : query_ok(c, "application/json");
}

static int services(query_ctx_t *c)
{
    query_list_t l = {&c->out, 0, 0, NULL};
    int rc = LIT(&c->out, "[");
    if (!rc)
        rc = stitch_store_services(c->store, query_list_str, &l);
    return answer_list(c, rc, &l, "listing services");
}

static int span_names(query_ctx_t *c)
{
    const char *svc = query_arg(c, "serviceName");
    if (!svc)
        return query_fail(c, 400, "serviceName is required");
    query_list_t l = {&c->out, 0, 0, NULL};
    int rc = LIT(&c->out, "[");
    if (!rc)
        rc = stitch_store_operations(c->store, svc, -1, query_list_op_name, &l);
    return answer_list(c, rc, &l, "listing span names");
}

static int remote_services(query_ctx_t *c)
{
    const char *svc = query_arg(c, "serviceName");
    if (!svc)
        return query_fail(c, 400, "serviceName is required");
    query_list_t l = {&c->out, 0, 0, NULL};
    int rc = LIT(&c->out, "[");
    if (!rc)
        rc = stitch_store_remote_services(c->store, svc, query_list_str, &l);
    return answer_list(c, rc, &l, "listing remote services");
}

static int empty_list(query_ctx_t *c)
{
    int rc = LIT(&c->out, "[]");
    return rc ? query_fail_rc(c, rc, "writing") : query_ok(c, "application/json");
}

/* One trace as a Zipkin span list. */
static int write_trace(stitch_buf_t *b, const query_trace_t *t, const stitch_span_data_t **ptrs)
{
    for (size_t i = 0; i < t->n; i++)
        ptrs[i] = &t->spans[i];
    return stitch_wire_zipkin_json_encode(ptrs, t->n, b);
}

/* [[Span…], …], or the one trace's [Span…] when `single` */
static int answer_traces(query_ctx_t *c, const query_traces_t *t, bool single)
{
    size_t most = 1;
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].n > most)
            most = t->v[i].n;
    const stitch_span_data_t **ptrs = malloc(most * sizeof *ptrs);
    int rc = ptrs ? 0 : STITCH_ENOMEM;
    if (!rc && !single)
        rc = LIT(&c->out, "[");
    for (size_t i = 0; i < t->n && !rc; i++) {
        if (i)
            rc = LIT(&c->out, ",");
        rc = rc ? rc : write_trace(&c->out, &t->v[i], ptrs);
    }
    if (!rc && !single)
        rc = LIT(&c->out, "]");
    free(ptrs);
    return rc ? query_fail_rc(c, rc, "writing traces") : query_ok(c, "application/json");
}

/* annotationQuery: terms joined by " and "; "k=v" or a lone word. */
static int parse_annotation_query(query_ctx_t *c, query_search_t *s, const char *aq)
{
    const char *p = aq;
    while (*p) {
        const char *end = strstr(p, " and ");
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *t = p;
        while (n && (*t == ' ' || *t == '\t'))
            t++, n--;
        while (n && (t[n - 1] == ' ' || t[n - 1] == '\t'))
            n--;
        p = end ? end + 5 : p + strlen(p);
        if (!n)
            continue;
        const char *eq = memchr(t, '=', n);
        char *k = query_search_strdup(s, t, eq ? (size_t)(eq - t) : n);
        char *v = eq ? query_search_strdup(s, eq + 1, n - (size_t)(eq - t) - 1) : NULL;
        if (!k || (eq && !v))
            return query_fail(c, 500, "out of memory"), -1;
        if (!*k)
            return query_fail(c, 400, "annotationQuery: empty key in \"%.*s\"", (int)(n > 64 ? 64 : n), t), -1;
        if (query_search_add_tag(s, k, v, true))
            return query_fail(c, 400, "annotationQuery: more than %d terms", QUERY_MAX_TAGS), -1;
    }
    return 0;
}

/* endTs/lookback (ms) → [start, end] ns; lookback defaults to a day
 * (zipkin-server's QUERY_LOOKBACK). */
static int time_window(query_ctx_t *c, uint64_t *start, uint64_t *end)
{
    int64_t end_ms = (int64_t)(c->now_ns / 1000000), lookback = DAY_MS;
    if (query_param_int(c, "endTs", NULL, 0, INT64_MAX / 1000000, &end_ms, NULL) ||
        query_param_int(c, "lookback", NULL, 0, INT64_MAX / 1000000, &lookback, NULL))
        return -1;
    *end = (uint64_t)end_ms * 1000000 + 999999;
    uint64_t lb = (uint64_t)lookback * 1000000;
    *start = lb >= *end ? 0 : *end - lb;
    return 0;
}

static int search(query_ctx_t *c)
{
    query_search_t s;
    query_search_init(&s);
    int64_t dmin = 0, dmax = 0;
    uint64_t start, end;
    size_t limit;
    s.q.service = query_arg(c, "serviceName");
    const char *span = query_arg(c, "spanName");
    s.q.operation = span && strcmp(span, "all") ? span : NULL;
    if (query_param_int(c, "minDuration", NULL, 0, INT64_MAX / 1000, &dmin, NULL) ||
        query_param_int(c, "maxDuration", NULL, 0, INT64_MAX / 1000, &dmax, NULL) ||
        time_window(c, &start, &end) || query_param_limit(c, "limit", NULL, 10, &limit))
        goto done;
    if (dmin && dmax && dmax < dmin) {
        query_fail(c, 400, "maxDuration must not be less than minDuration");
        goto done;
    }
    const char *remote = query_arg(c, "remoteServiceName");
    if (remote && query_search_add_tag(&s, "peer.service", remote, false)) {
        query_fail(c, 400, "too many conditions");
        goto done;
    }
    const char *aq = query_arg(c, "annotationQuery");
    if (aq && parse_annotation_query(c, &s, aq))
        goto done;
    s.q.start_min_ns = start;
    s.q.start_max_ns = end;
    s.q.duration_min_ns = (uint64_t)dmin * 1000;
    s.q.duration_max_ns = (uint64_t)dmax * 1000;
    s.q.limit = limit;

    query_traces_t t;
    query_traces_init(&t);
    int rc = query_search_run(c->store, &s, &t);
    if (rc)
        query_fail_rc(c, rc, "searching");
    else
        answer_traces(c, &t, false);
    query_traces_free(&t);
done:
    query_search_free(&s);
    return 1;
}

static int answer_one(query_ctx_t *c, const query_traces_t *t) { return answer_traces(c, t, true); }

static int get_trace(query_ctx_t *c, const char *seg, size_t seglen)
{
    uint8_t id[16];
    char err[160];
    if (query_parse_trace_id(seg, seglen, id, err, sizeof err))
        return query_fail(c, 400, "traceId: %s", err);
    char missing[64];
    snprintf(missing, sizeof missing, "trace %.*s not found", (int)seglen, seg);
    return query_answer_trace(c, id, missing, answer_one);
}

/* traceIds=a,b,c → [[…],[…]] of the ones found */
static int trace_many(query_ctx_t *c)
{
    const char *ids = query_arg(c, "traceIds");
    if (!ids)
        return query_fail(c, 400, "traceIds is required");
    query_traces_t t;
    query_traces_init(&t);
    int rc = 0;
    size_t count = 0;
    for (const char *p = ids; *p && !rc;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        uint8_t id[16];
        char err[160];
        bool found;
        if (++count > QUERY_MAX_TRACE_IDS) {
            query_traces_free(&t);
            return query_fail(c, 400, "traceIds: more than %d ids", QUERY_MAX_TRACE_IDS);
        }
        if (query_parse_trace_id(p, n, id, err, sizeof err)) {
            query_traces_free(&t);
            return query_fail(c, 400, "traceIds: %s", err);
        }
        rc = query_traces_get(c->store, id, &t, &found);
        p = comma ? comma + 1 : p + n;
    }
    if (rc)
        query_fail_rc(c, rc, "reading traces");
    else
        answer_traces(c, &t, false);
    query_traces_free(&t);
    return 1;
}

static int collect_dep(void *arg, const stitch_store_dep_t *d)
{
    query_list_t *l = arg;
    stitch_buf_t *b = l->b;
    if ((l->rc = l->n ? LIT(b, ",{\"parent\":") : LIT(b, "{\"parent\":")) ||
        (l->rc = stitch_wire_json_str(b, d->parent, strlen(d->parent))) ||
        (l->rc = LIT(b, ",\"child\":")) || (l->rc = stitch_wire_json_str(b, d->child, strlen(d->child))) ||
        (l->rc = LIT(b, ",\"callCount\":")) || (l->rc = stitch_wire_u64(b, d->calls)) ||
        (l->rc = LIT(b, ",\"errorCount\":")) || (l->rc = stitch_wire_u64(b, d->errors)) ||
        (l->rc = LIT(b, "}")))
        return l->rc;
    l->n++;
    return 0;
}

static int dependencies(query_ctx_t *c)
{
    uint64_t start, end;
    if (time_window(c, &start, &end))
        return 1;
    query_list_t l = {&c->out, 0, 0, NULL};
    int rc = LIT(&c->out, "[");
    if (!rc)
        rc = stitch_store_dependencies(c->store, start, end, collect_dep, &l);
    return answer_list(c, rc, &l, "computing dependencies");
}

/* `rest` is what follows "/api/v2". */
int query_zipkin_route(query_ctx_t *c, const char *rest)
{
    size_t n = strlen(rest);
    if (n > 1 && rest[n - 1] == '/')
        n--;
#define IS(lit) (n == sizeof(lit) - 1 && !memcmp(rest, lit, n))
    if (IS("/services"))
        return services(c);
    if (IS("/spans"))
        return span_names(c);
    if (IS("/remoteServices"))
        return remote_services(c);
    if (IS("/traces"))
        return search(c);
    if (IS("/traceMany"))
        return trace_many(c);
    if (IS("/dependencies"))
        return dependencies(c);
    if (IS("/autocompleteKeys") || IS("/autocompleteValues"))
        return empty_list(c);
#undef IS
    if (n > 7 && !memcmp(rest, "/trace/", 7) && !memchr(rest + 7, '/', n - 7))
        return get_trace(c, rest + 7, n - 7);
    return query_fail(c, 404, "no such endpoint: /api/v2%.*s", (int)(n > 200 ? 200 : n), rest);
}
