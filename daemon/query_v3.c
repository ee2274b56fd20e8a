/* daemon/query_v3.c — Jaeger's API v3 over HTTP (jaeger-query's
 * apiv3/http_gateway.go), read by the newer Jaeger UI: /api/v3/services,
 * /api/v3/operations, /api/v3/traces/{id} and /api/v3/traces?query.*.
 * Traces are OTLP/JSON TracesData written by wire/'s OTLP/JSON encoder,
 * wrapped as {"result": …}; errors are grpc-gateway's
 * {"error":{"httpCode":N,"message":"…"}}. Parameters are read under their
 * current camelCase names (query.serviceName, …) and the snake_case names
 * (query.service_name, …) that Jaeger still accepts.
 * Invariant: as in Jaeger, a search or id lookup that finds nothing is a
 * 404 "No traces found" / "trace not found", never an empty result. */
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

static int services(query_ctx_t *c)
{
    query_list_t l = {&c->out, 0, 0, NULL};
    int rc = LIT(&c->out, "{\"services\":[");
    if (!rc)
        rc = stitch_store_services(c->store, query_list_str, &l);
    rc = rc ? rc : l.rc;
    if (!rc)
        rc = LIT(&c->out, "]}");
    return rc ? query_fail_rc(c, rc, "listing services") : query_ok(c, "application/json");
}

static int operations(query_ctx_t *c)
{
    const char *used;
    const char *ks = query_arg2(c, "spanKind", "span_kind", &used);
    int kind = query_parse_kind(ks);
    if (kind == -2)
        return query_fail(c, 400, "malformed parameter %s: unknown span kind \"%.64s\" "
                                  "(server, client, producer, consumer, internal)", used, ks);
    query_list_t l = {&c->out, 0, 0, NULL};
    int rc = LIT(&c->out, "{\"operations\":[");
    if (!rc)
        rc = stitch_store_operations(c->store, query_arg(c, "service"), kind, query_list_op, &l);
    rc = rc ? rc : l.rc;
    if (!rc)
        rc = LIT(&c->out, "]}");
    return rc ? query_fail_rc(c, rc, "listing operations") : query_ok(c, "application/json");
}

/* {"result": TracesData} for every span of t */
static int answer_traces(query_ctx_t *c, const query_traces_t *t)
{
    const stitch_span_data_t **ptrs;
    stitch_span_data_t *copies;
    int rc = query_traces_canonical(t, &ptrs, &copies);
    if (rc)
        return query_fail_rc(c, rc, "writing traces");
    rc = LIT(&c->out, "{\"result\":");
    rc = rc ? rc : stitch_wire_otlp_json_encode(ptrs, t->nspans, &c->out);
    rc = rc ? rc : LIT(&c->out, "}");
    free(ptrs);
    free(copies);
    return rc ? query_fail_rc(c, rc, "writing traces") : query_ok(c, "application/json");
}

static int get_trace(query_ctx_t *c, const char *seg, size_t seglen)
{
    uint8_t id[16];
    uint64_t ignored;
    char err[160];
    if (query_parse_trace_id(seg, seglen, id, err, sizeof err))
        return query_fail(c, 400, "malformed parameter trace_id: %s", err);
    /* accepted for compatibility; a trace is found by id alone here */
    if (query_param_rfc3339(c, "startTime", "start_time", &ignored, NULL) ||
        query_param_rfc3339(c, "endTime", "end_time", &ignored, NULL))
        return 1;
    return query_answer_trace(c, id, "trace not found", answer_traces);
}

static int search(query_ctx_t *c)
{
    query_search_t s;
    query_search_init(&s);
    const char *used;
    uint64_t tmin = 0, tmax = 0, dmin = 0, dmax = 0;
    bool has_min, has_max;
    size_t limit;
    char err[256];
    s.q.service = query_arg2(c, "query.serviceName", "query.service_name", &used);
    s.q.operation = query_arg2(c, "query.operationName", "query.operation_name", &used);
    if (query_param_rfc3339(c, "query.startTimeMin", "query.start_time_min", &tmin, &has_min) ||
        query_param_rfc3339(c, "query.startTimeMax", "query.start_time_max", &tmax, &has_max) ||
        query_param_duration(c, "query.durationMin", "query.duration_min", &dmin, NULL) ||
        query_param_duration(c, "query.durationMax", "query.duration_max", &dmax, NULL))
        goto done;
    if (query_arg(c, "query.searchDepth") || query_arg(c, "query.search_depth")) {
        if (query_param_limit(c, "query.searchDepth", "query.search_depth", 100, &limit))
            goto done;
    } else if (query_param_limit(c, "query.num_traces", NULL, 100, &limit)) {
        goto done;
    }
    if (has_min && has_max && tmax < tmin) {
        query_fail(c, 400, "query.start_time_min must be before query.start_time_max");
        goto done;
    }
    if (dmin && dmax && dmax < dmin) {
        query_fail(c, 400, "query.duration_max must not be less than query.duration_min");
        goto done;
    }
    const char *attrs = query_arg(c, "query.attributes");
    if (attrs && query_search_add_json_tags(&s, attrs, err, sizeof err)) {
        query_fail(c, 400, "malformed parameter query.attributes: %s", err);
        goto done;
    }
    s.q.start_min_ns = tmin;
    s.q.start_max_ns = tmax;
    s.q.duration_min_ns = dmin;
    s.q.duration_max_ns = dmax;
    s.q.limit = limit;

    query_traces_t t;
    query_traces_init(&t);
    int rc = query_search_run(c->store, &s, &t);
    if (rc)
        query_fail_rc(c, rc, "searching");
    else if (!t.n)
        query_fail(c, 404, "No traces found");
    else
        answer_traces(c, &t);
    query_traces_free(&t);
done:
    query_search_free(&s);
    return 1;
}

/* `rest` is what follows "/api/v3". */
int query_v3_route(query_ctx_t *c, const char *rest)
{
    size_t n = strlen(rest);
    if (n > 1 && rest[n - 1] == '/')
        n--;
    if (n == 9 && !memcmp(rest, "/services", 9))
        return services(c);
    if (n == 11 && !memcmp(rest, "/operations", 11))
        return operations(c);
    if (n == 7 && !memcmp(rest, "/traces", 7))
        return search(c);
    if (n > 8 && !memcmp(rest, "/traces/", 8) && !memchr(rest + 8, '/', n - 8))
        return get_trace(c, rest + 8, n - 8);
    return query_fail(c, 404, "no such endpoint: /api/v3%.*s", (int)(n > 200 ? 200 : n), rest);
}
