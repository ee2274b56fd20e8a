/* daemon/query_jaeger.c — the Jaeger v1 query API (jaeger-query's
 * /api/services, /api/services/{s}/operations, /api/operations, /api/traces,
 * /api/traces/{id}, /api/dependencies), which the Jaeger UI and Grafana's
 * Jaeger data source read, and the writer of its Trace JSON.
 *
 * Spans are rendered the way Jaeger renders OTLP spans (the collector-contrib
 * translator pkg/translator/jaeger, then jaeger's model/json): references
 * CHILD_OF the parent, then one per link (FOLLOWS_FROM unless the link says
 * opentracing.ref_type=child_of; a link to the parent only retypes the
 * parent's reference); tags = otel.scope.name/version, the attributes,
 * span.kind, otel.status_code, error=true, otel.status_description,
 * w3c.tracestate, then otel.dropped_*_count when not 0; logs from events
 * with the name as the "event" field; one process per distinct resource
 * (p1, p2, … in order of first appearance), serviceName from service.name.
 *
 * Written straight into the response buffer (no DOM): a 50,000-span trace
 * is one pass over the spans (figures in docs/http-api.md).
 * Invariant: the output is valid JSON whatever bytes the span strings hold
 * (stitch_wire_json_str replaces invalid UTF-8). */
#include <math.h>
#include <stdio.h>
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

/* ---- the Trace writer ---------------------------------------------------------------- */

/* Jaeger's TraceID.String(): 16 hex digits when the high half is zero. */
static int jtrace_id(stitch_buf_t *b, const uint8_t id[16])
{
    static const uint8_t zero[8];
    TRY(LIT(b, "\""));
    TRY(memcmp(id, zero, 8) ? stitch_wire_hex(b, id, 16) : stitch_wire_hex(b, id + 8, 8));
    return LIT(b, "\"");
}

static int jspan_id(stitch_buf_t *b, const uint8_t id[8])
{
    TRY(LIT(b, "\""));
    TRY(stitch_wire_hex(b, id, 8));
    return LIT(b, "\"");
}

static int jkey(stitch_buf_t *b, bool first, const char *key, size_t klen)
{
    TRY(first ? LIT(b, "{\"key\":") : LIT(b, ",{\"key\":"));
    return stitch_wire_json_str(b, key, klen);
}

static int jtag_str(stitch_buf_t *b, bool *first, const char *key, const char *val, size_t vlen)
{
    TRY(jkey(b, *first, key, strlen(key)));
    *first = false;
    TRY(LIT(b, ",\"type\":\"string\",\"value\":"));
    TRY(stitch_wire_json_str(b, val, vlen));
    return LIT(b, "}");
}

static int jtag_u32(stitch_buf_t *b, bool *first, const char *key, uint32_t v)
{
    TRY(jkey(b, *first, key, strlen(key)));
    *first = false;
    TRY(LIT(b, ",\"type\":\"int64\",\"value\":"));
    TRY(stitch_wire_u64(b, v));
    return LIT(b, "}");
}

/* One attribute as a Jaeger KeyValue; arrays become a string holding JSON
 * (pcommon's AsString, which the translator uses). */
static int jattr(stitch_buf_t *b, stitch_buf_t *scratch, bool *first, const stitch_attr_t *a)
{
    const stitch_value_t *v = &a->value;
    TRY(jkey(b, *first, a->key, strlen(a->key)));
    *first = false;
    switch (v->type) {
    case STITCH_VALUE_STRING:
        TRY(LIT(b, ",\"type\":\"string\",\"value\":"));
        TRY(stitch_wire_json_str(b, v->u.str, v->len));
        break;
    case STITCH_VALUE_BOOL:
        TRY(v->u.b ? LIT(b, ",\"type\":\"bool\",\"value\":true") : LIT(b, ",\"type\":\"bool\",\"value\":false"));
        break;
    case STITCH_VALUE_INT:
        TRY(LIT(b, ",\"type\":\"int64\",\"value\":"));
        TRY(stitch_wire_i64(b, v->u.i));
        break;
    case STITCH_VALUE_DOUBLE:
        TRY(LIT(b, ",\"type\":\"float64\",\"value\":"));
        TRY(stitch_wire_json_plain_value(b, v)); /* NaN / ±Infinity as strings */
        break;
    case STITCH_VALUE_NONE:
        TRY(LIT(b, ",\"type\":\"string\",\"value\":\"\""));
        break;
    default:
        stitch_buf_reset(scratch);
        TRY(stitch_wire_json_plain_value(scratch, v));
        TRY(LIT(b, ",\"type\":\"string\",\"value\":"));
        TRY(stitch_wire_json_str(b, (const char *)scratch->data, scratch->len));
    }
    return LIT(b, "}");
}

static int jattrs(stitch_buf_t *b, stitch_buf_t *scratch, bool *first, const stitch_attr_t *a,
                  uint32_t n, const char *skip)
{
    for (uint32_t i = 0; i < n; i++)
        if (!skip || strcmp(a[i].key, skip))
            TRY(jattr(b, scratch, first, &a[i]));
    return 0;
}

static const char *link_ref_type(const stitch_link_t *l)
{
    for (uint32_t i = 0; i < l->nattrs; i++)
        if (!strcmp(l->attrs[i].key, "opentracing.ref_type") &&
            l->attrs[i].value.type == STITCH_VALUE_STRING &&
            !strcmp(l->attrs[i].value.u.str, "child_of"))
            return "CHILD_OF";
    return "FOLLOWS_FROM";
}

static int jref(stitch_buf_t *b, bool first, const char *type, const uint8_t tid[16],
                const uint8_t sid[8])
{
    TRY(first ? LIT(b, "{\"refType\":\"") : LIT(b, ",{\"refType\":\""));
    TRY(stitch_wire_put(b, type, strlen(type)));
    TRY(LIT(b, "\",\"traceID\":"));
    TRY(jtrace_id(b, tid));
    TRY(LIT(b, ",\"spanID\":"));
    TRY(jspan_id(b, sid));
    return LIT(b, "}");
}

static int jrefs(stitch_buf_t *b, const stitch_span_data_t *d)
{
    static const uint8_t zero[8];
    bool parent = memcmp(d->parent_span_id, zero, 8) != 0;
    bool first = true;
    TRY(LIT(b, ",\"references\":["));
    if (parent) {
        const char *type = "CHILD_OF";
        for (uint32_t i = 0; i < d->nlinks; i++)
            if (!memcmp(d->links[i].ctx.trace_id, d->ctx.trace_id, 16) &&
                !memcmp(d->links[i].ctx.span_id, d->parent_span_id, 8))
                type = link_ref_type(&d->links[i]);
        TRY(jref(b, true, type, d->ctx.trace_id, d->parent_span_id));
        first = false;
    }
    for (uint32_t i = 0; i < d->nlinks; i++) {
        const stitch_link_t *l = &d->links[i];
        if (parent && !memcmp(l->ctx.trace_id, d->ctx.trace_id, 16) &&
            !memcmp(l->ctx.span_id, d->parent_span_id, 8))
            continue;
        TRY(jref(b, first, link_ref_type(l), l->ctx.trace_id, l->ctx.span_id));
        first = false;
    }
    return LIT(b, "]");
}

static int jtags(stitch_buf_t *b, stitch_buf_t *scratch, const stitch_span_data_t *d)
{
    bool first = true;
    TRY(LIT(b, ",\"tags\":["));
    if (d->scope && d->scope->name && d->scope->name[0])
        TRY(jtag_str(b, &first, "otel.scope.name", d->scope->name, strlen(d->scope->name)));
    if (d->scope && d->scope->version && d->scope->version[0])
        TRY(jtag_str(b, &first, "otel.scope.version", d->scope->version, strlen(d->scope->version)));
    TRY(jattrs(b, scratch, &first, d->attrs, d->nattrs, NULL));
    const char *kind = query_kind_name(d->kind);
    TRY(jtag_str(b, &first, "span.kind", kind, strlen(kind)));
    if (d->status == STITCH_STATUS_OK)
        TRY(jtag_str(b, &first, "otel.status_code", "OK", 2));
    if (d->status == STITCH_STATUS_ERROR) {
        TRY(jtag_str(b, &first, "otel.status_code", "ERROR", 5));
        TRY(LIT(b, ",{\"key\":\"error\",\"type\":\"bool\",\"value\":true}"));
    }
    if (d->status_message && d->status_message[0])
        TRY(jtag_str(b, &first, "otel.status_description", d->status_message,
                     strlen(d->status_message)));
    size_t tsn = 0;
    const char *ts = d->tracestate ? stitch_tracestate_str(d->tracestate, &tsn) : "";
    if (tsn)
        TRY(jtag_str(b, &first, "w3c.tracestate", ts, tsn));
    if (d->dropped_attrs)
        TRY(jtag_u32(b, &first, "otel.dropped_attributes_count", d->dropped_attrs));
    if (d->dropped_events)
        TRY(jtag_u32(b, &first, "otel.dropped_events_count", d->dropped_events));
    if (d->dropped_links)
        TRY(jtag_u32(b, &first, "otel.dropped_links_count", d->dropped_links));
    return LIT(b, "]");
}

static int jlogs(stitch_buf_t *b, stitch_buf_t *scratch, const stitch_span_data_t *d)
{
    TRY(LIT(b, ",\"logs\":["));
    for (uint32_t i = 0; i < d->nevents; i++) {
        const stitch_event_t *e = &d->events[i];
        TRY(i ? LIT(b, ",{\"timestamp\":") : LIT(b, "{\"timestamp\":"));
        TRY(stitch_wire_u64(b, e->time_ns / 1000));
        TRY(LIT(b, ",\"fields\":["));
        bool first = true, has_event = false;
        for (uint32_t j = 0; j < e->nattrs && !has_event; j++)
            has_event = !strcmp(e->attrs[j].key, "event");
        if (e->name && e->name[0] && !has_event)
            TRY(jtag_str(b, &first, "event", e->name, strlen(e->name)));
        TRY(jattrs(b, scratch, &first, e->attrs, e->nattrs, NULL));
        if (e->dropped_attrs)
            TRY(jtag_u32(b, &first, "otel.dropped_attributes_count", e->dropped_attrs));
        TRY(LIT(b, "]}"));
    }
    return LIT(b, "]");
}

static int jspan(stitch_buf_t *b, stitch_buf_t *scratch, const stitch_span_data_t *d, uint32_t proc)
{
    TRY(LIT(b, "{\"traceID\":"));
    TRY(jtrace_id(b, d->ctx.trace_id));
    TRY(LIT(b, ",\"spanID\":"));
    TRY(jspan_id(b, d->ctx.span_id));
    TRY(LIT(b, ",\"flags\":"));
    TRY(stitch_wire_u64(b, d->ctx.flags));
    TRY(LIT(b, ",\"operationName\":"));
    TRY(stitch_wire_json_str(b, d->name ? d->name : "", d->name ? strlen(d->name) : 0));
    TRY(jrefs(b, d));
    TRY(LIT(b, ",\"startTime\":"));
    TRY(stitch_wire_u64(b, d->start_ns / 1000));
    TRY(LIT(b, ",\"duration\":"));
    TRY(stitch_wire_u64(b, d->end_ns > d->start_ns ? (d->end_ns - d->start_ns) / 1000 : 0));
    TRY(jtags(b, scratch, d));
    TRY(jlogs(b, scratch, d));
    TRY(LIT(b, ",\"processID\":\"p"));
    TRY(stitch_wire_u64(b, proc));
    return LIT(b, "\",\"warnings\":null}");
}

static int jprocess(stitch_buf_t *b, stitch_buf_t *scratch, const stitch_span_data_t *d, uint32_t proc)
{
    TRY(proc > 1 ? LIT(b, ",\"p") : LIT(b, "\"p"));
    TRY(stitch_wire_u64(b, proc));
    TRY(LIT(b, "\":{\"serviceName\":"));
    const char *svc = NULL;
    size_t svclen = 0;
    for (uint32_t i = 0; i < d->nresource && !svc; i++)
        if (!strcmp(d->resource[i].key, "service.name") &&
            d->resource[i].value.type == STITCH_VALUE_STRING)
            svc = d->resource[i].value.u.str, svclen = d->resource[i].value.len;
    if (!svc)
        svc = "unknown_service", svclen = strlen(svc);
    TRY(stitch_wire_json_str(b, svc, svclen));
    TRY(LIT(b, ",\"tags\":["));
    bool first = true;
    TRY(jattrs(b, scratch, &first, d->resource, d->nresource, "service.name"));
    return LIT(b, "]}");
}

static int write_trace(stitch_buf_t *b, stitch_buf_t *scratch, const query_trace_t *t, uint32_t *ids)
{
    uint32_t nproc = 0;
    TRY(query_resource_ids(t->spans, t->n, ids, &nproc));
    TRY(LIT(b, "{\"traceID\":"));
    TRY(jtrace_id(b, t->trace_id));
    TRY(LIT(b, ",\"spans\":["));
    for (size_t i = 0; i < t->n; i++) {
        if (i)
            TRY(LIT(b, ","));
        TRY(jspan(b, scratch, &t->spans[i], ids[i] + 1));
    }
    TRY(LIT(b, "],\"processes\":{"));
    uint32_t next = 0; /* ids are numbered in order of first appearance */
    for (size_t i = 0; i < t->n && next < nproc; i++)
        if (ids[i] == next)
            TRY(jprocess(b, scratch, &t->spans[i], ++next));
    return LIT(b, "},\"warnings\":null}");
}

int query_jaeger_write_trace(stitch_buf_t *b, const query_trace_t *t)
{
    uint32_t *ids = malloc((t->n ? t->n : 1) * sizeof *ids);
    if (!ids)
        return STITCH_ENOMEM;
    stitch_buf_t scratch = STITCH_BUF_INIT(0);
    int rc = write_trace(b, &scratch, t, ids);
    stitch_buf_free(&scratch);
    free(ids);
    return rc;
}

/* ---- envelopes ------------------------------------------------------------------------ */

static int env_open(stitch_buf_t *b) { return LIT(b, "{\"data\":["); }

static int env_close(stitch_buf_t *b, size_t total)
{
    TRY(LIT(b, "],\"total\":"));
    TRY(stitch_wire_u64(b, total));
    return LIT(b, ",\"limit\":0,\"offset\":0,\"errors\":null}");
}

/* ---- /api/services, /api/services/{s}/operations, /api/operations -------------------- */

static int services(query_ctx_t *c)
{
    query_list_t l = {&c->out, 0, 0, NULL};
    int rc = env_open(&c->out);
    if (!rc)
        rc = stitch_store_services(c->store, query_list_str, &l);
    rc = rc ? rc : l.rc;
    if (!rc)
        rc = env_close(&c->out, l.n);
    return rc ? query_fail_rc(c, rc, "listing services") : query_ok(c, "application/json");
}

static int operations_legacy(query_ctx_t *c, const char *seg, size_t seglen)
{
    char *service = query_path_decode(seg, seglen);
    if (!service)
        return query_fail(c, 400, "service name in the path: bad percent-encoding (%%00)");
    query_list_t l = {&c->out, 0, 0, NULL};
    int rc = env_open(&c->out);
    if (!rc)
        rc = stitch_store_operations(c->store, service, -1, query_list_op_name, &l);
    rc = rc ? rc : l.rc;
    if (!rc)
        rc = env_close(&c->out, l.n);
    free(l.last);
    free(service);
    return rc ? query_fail_rc(c, rc, "listing operations") : query_ok(c, "application/json");
}

static int operations(query_ctx_t *c)
{
    const char *service = query_arg(c, "service");
    if (!service)
        return query_fail(c, 400, "parameter 'service' is required");
    const char *ks = query_arg(c, "spanKind");
    int kind = query_parse_kind(ks);
    if (kind == -2)
        return query_fail(c, 400, "parameter 'spanKind': unknown span kind \"%.64s\" "
                                  "(server, client, producer, consumer, internal)", ks);
    query_list_t l = {&c->out, 0, 0, NULL};
    int rc = env_open(&c->out);
    if (!rc)
        rc = stitch_store_operations(c->store, service, kind, query_list_op, &l);
    rc = rc ? rc : l.rc;
    if (!rc)
        rc = env_close(&c->out, l.n);
    return rc ? query_fail_rc(c, rc, "listing operations") : query_ok(c, "application/json");
}

/* ---- /api/traces, /api/traces/{id} ---------------------------------------------------- */

static int write_traces(query_ctx_t *c, const query_traces_t *t, const char *missing_errors)
{
    stitch_buf_t *b = &c->out;
    TRY(env_open(b));
    for (size_t i = 0; i < t->n; i++) {
        if (i)
            TRY(LIT(b, ","));
        TRY(query_jaeger_write_trace(b, &t->v[i]));
    }
    TRY(LIT(b, "],\"total\":"));
    TRY(stitch_wire_u64(b, t->n));
    TRY(LIT(b, ",\"limit\":0,\"offset\":0,\"errors\":"));
    return missing_errors ? stitch_buf_append(b, missing_errors, strlen(missing_errors))
                          : LIT(b, "null}");
}

struct tagargs {
    query_ctx_t *c;
    query_search_t *s;
    int failed;
};

/* tag=key:value (repeatable; the value may hold more colons) */
static int each_tag(void *arg, const char *v)
{
    struct tagargs *ta = arg;
    const char *colon = strchr(v, ':');
    if (!colon || colon == v) {
        query_fail(ta->c, 400, "parameter 'tag': expected key:value, got \"%.64s\"", v);
        return ta->failed = 1;
    }
    char *k = query_search_strdup(ta->s, v, (size_t)(colon - v));
    char *val = query_search_strdup(ta->s, colon + 1, strlen(colon + 1));
    if (!k || !val) {
        query_fail(ta->c, 500, "out of memory");
        return ta->failed = 1;
    }
    if (query_search_add_tag(ta->s, k, val, false)) {
        query_fail(ta->c, 400, "parameter 'tag': more than %d tag conditions", QUERY_MAX_TAGS);
        return ta->failed = 1;
    }
    return 0;
}

static int each_tags_json(void *arg, const char *v)
{
    struct tagargs *ta = arg;
    char err[256];
    if (!*v)
        return 0;
    if (query_search_add_json_tags(ta->s, v, err, sizeof err)) {
        query_fail(ta->c, 400, "parameter 'tags': %s", err);
        return ta->failed = 1;
    }
    return 0;
}

struct idargs {
    query_ctx_t *c;
    uint8_t (*ids)[16];
    size_t n;
    int failed;
};

static int each_trace_id(void *arg, const char *v)
{
    struct idargs *ia = arg;
    char err[160];
    if (ia->n == QUERY_MAX_TRACE_IDS) {
        query_fail(ia->c, 400, "parameter 'traceID': more than %d ids", QUERY_MAX_TRACE_IDS);
        return ia->failed = 1;
    }
    if (query_parse_trace_id(v, strlen(v), ia->ids[ia->n], err, sizeof err)) {
        query_fail(ia->c, 400, "parameter 'traceID': %s", err);
        return ia->failed = 1;
    }
    ia->n++;
    return 0;
}

/* GET /api/traces?traceID=…: the traces found; "trace not found" errors
 * for the others (Jaeger's tracesByIDs). */
static int traces_by_ids(query_ctx_t *c, uint8_t (*ids)[16], size_t n)
{
    query_traces_t t;
    query_traces_init(&t);
    stitch_buf_t errs = STITCH_BUF_INIT(0);
    int rc = 0;
    size_t nmiss = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        bool found = false;
        for (size_t j = 0; j < i && !found; j++)
            found = !memcmp(ids[i], ids[j], 16); /* asked twice: answered once */
        if (found)
            continue;
        if ((rc = query_traces_get(c->store, ids[i], &t, &found)) || found)
            continue;
        rc = nmiss++ ? LIT(&errs, ",{\"code\":404,\"msg\":\"trace not found\",\"traceID\":")
                     : LIT(&errs, "[{\"code\":404,\"msg\":\"trace not found\",\"traceID\":");
        rc = rc ? rc : jtrace_id(&errs, ids[i]);
        rc = rc ? rc : LIT(&errs, "}");
    }
    if (!rc && nmiss)
        rc = stitch_buf_append(&errs, "]}", 3); /* with the NUL: used as a C string */
    int r;
    if (rc)
        r = query_fail_rc(c, rc, "reading traces");
    else if ((rc = write_traces(c, &t, nmiss ? (const char *)errs.data : NULL)))
        r = query_fail_rc(c, rc, "writing traces");
    else
        r = query_ok(c, "application/json");
    stitch_buf_free(&errs);
    query_traces_free(&t);
    return r;
}

static int search(query_ctx_t *c)
{
    uint8_t ids[QUERY_MAX_TRACE_IDS][16];
    struct idargs ia = {c, ids, 0, 0};
    if (c->args && c->args->each)
        c->args->each(c->args->ctx, "traceID", each_trace_id, &ia);
    else if (query_arg(c, "traceID"))
        each_trace_id(&ia, query_arg(c, "traceID"));
    if (ia.failed)
        return 1;
    if (ia.n)
        return traces_by_ids(c, ids, ia.n);

    query_search_t s;
    query_search_init(&s);
    int64_t start = 0, end = 0;
    bool has_start, has_end;
    uint64_t dmin = 0, dmax = 0;
    size_t limit;
    struct tagargs ta = {c, &s, 0};
    s.q.service = query_arg(c, "service");
    s.q.operation = query_arg(c, "operation");
    if (!s.q.service) {
        query_fail(c, 400, "parameter 'service' is required");
        goto done;
    }
    if (query_param_int(c, "start", NULL, 0, INT64_MAX / 1000, &start, &has_start) ||
        query_param_int(c, "end", NULL, 0, INT64_MAX / 1000, &end, &has_end) ||
        query_param_duration(c, "minDuration", NULL, &dmin, NULL) ||
        query_param_duration(c, "maxDuration", NULL, &dmax, NULL) ||
        query_param_limit(c, "limit", NULL, 100, &limit))
        goto done;
    if (has_start && has_end && end < start) {
        query_fail(c, 400, "parameter 'end' is before 'start'");
        goto done;
    }
    if (dmin && dmax && dmax < dmin) {
        query_fail(c, 400, "parameter 'maxDuration' must not be less than 'minDuration'");
        goto done;
    }
    if (c->args && c->args->each) {
        c->args->each(c->args->ctx, "tag", each_tag, &ta);
        if (!ta.failed)
            c->args->each(c->args->ctx, "tags", each_tags_json, &ta);
    } else { /* no way to see repeats: the first of each */
        const char *tg = query_arg(c, "tag"), *tj = query_arg(c, "tags");
        if (tg)
            each_tag(&ta, tg);
        if (tj && !ta.failed)
            each_tags_json(&ta, tj);
    }
    if (ta.failed)
        goto done;
    s.q.start_min_ns = (uint64_t)start * 1000;
    s.q.start_max_ns = has_end ? (uint64_t)end * 1000 + 999 : 0;
    s.q.duration_min_ns = dmin;
    s.q.duration_max_ns = dmax;
    s.q.limit = limit;

    query_traces_t t;
    query_traces_init(&t);
    int rc = query_search_run(c->store, &s, &t);
    if (rc)
        query_fail_rc(c, rc, "searching");
    else if ((rc = write_traces(c, &t, NULL)))
        query_fail_rc(c, rc, "writing traces");
    else
        query_ok(c, "application/json");
    query_traces_free(&t);
done:
    query_search_free(&s);
    return 1;
}

static int answer_one(query_ctx_t *c, const query_traces_t *t)
{
    int rc = write_traces(c, t, NULL);
    return rc ? query_fail_rc(c, rc, "writing the trace") : query_ok(c, "application/json");
}

static int get_trace(query_ctx_t *c, const char *seg, size_t seglen)
{
    uint8_t id[16];
    char err[160];
    if (query_parse_trace_id(seg, seglen, id, err, sizeof err))
        return query_fail(c, 400, "trace id in the path: %s", err);
    return query_answer_trace(c, id, "trace not found", answer_one);
}

/* ---- /api/dependencies ----------------------------------------------------------------- */

struct deplist {
    stitch_buf_t *b;
    const char *service; /* Jaeger's optional filter */
    size_t n;
    int rc;
};

static int collect_dep(void *arg, const stitch_store_dep_t *d)
{
    struct deplist *l = arg;
    stitch_buf_t *b = l->b;
    if (l->service && strcmp(d->parent, l->service) && strcmp(d->child, l->service))
        return 0;
    if ((l->rc = l->n ? LIT(b, ",{\"parent\":") : LIT(b, "{\"parent\":")) ||
        (l->rc = stitch_wire_json_str(b, d->parent, strlen(d->parent))) ||
        (l->rc = LIT(b, ",\"child\":")) || (l->rc = stitch_wire_json_str(b, d->child, strlen(d->child))) ||
        (l->rc = LIT(b, ",\"callCount\":")) || (l->rc = stitch_wire_u64(b, d->calls)) ||
        (l->rc = LIT(b, "}")))
        return l->rc;
    l->n++;
    return 0;
}

static int dependencies(query_ctx_t *c)
{
    int64_t end_ms = (int64_t)(c->now_ns / 1000000), lookback = 24 * 3600 * 1000;
    if (query_param_int(c, "endTs", NULL, 0, INT64_MAX / 1000000, &end_ms, NULL) ||
        query_param_int(c, "lookback", NULL, 0, INT64_MAX / 1000000, &lookback, NULL))
        return 1;
    uint64_t end = (uint64_t)end_ms * 1000000 + 999999;
    uint64_t lb = (uint64_t)lookback * 1000000;
    uint64_t start = lb >= end ? 0 : end - lb;
    struct deplist l = {&c->out, query_arg(c, "service"), 0, 0};
    int rc = env_open(&c->out);
    if (!rc)
        rc = stitch_store_dependencies(c->store, start, end, collect_dep, &l);
    rc = rc ? rc : l.rc;
    if (!rc)
        rc = env_close(&c->out, l.n);
    return rc ? query_fail_rc(c, rc, "computing dependencies") : query_ok(c, "application/json");
}

/* ---- routing --------------------------------------------------------------------------- */

/* `rest` is what follows "/api": "/services", "/traces/abc", … */
int query_jaeger_route(query_ctx_t *c, const char *rest)
{
    size_t n = strlen(rest);
    if (n > 1 && rest[n - 1] == '/')
        n--; /* a trailing slash is the same resource */
    if (n == 9 && !memcmp(rest, "/services", 9))
        return services(c);
    if (n == 11 && !memcmp(rest, "/operations", 11))
        return operations(c);
    if (n == 7 && !memcmp(rest, "/traces", 7))
        return search(c);
    if (n == 13 && !memcmp(rest, "/dependencies", 13))
        return dependencies(c);
    if (n > 8 && !memcmp(rest, "/traces/", 8) && !memchr(rest + 8, '/', n - 8))
        return get_trace(c, rest + 8, n - 8);
    if (n > 11 && !memcmp(rest, "/ui/traces/", 11) && !memchr(rest + 11, '/', n - 11))
        return query_ui_trace(c, rest + 11, n - 11); /* stitch's own: the web UI's format */
    if (n > 10 && !memcmp(rest, "/services/", 10) && n >= 21 &&
        !memcmp(rest + n - 11, "/operations", 11)) {
        const char *seg = rest + 10;
        size_t seglen = n - 21;
        if (seglen && !memchr(seg, '/', seglen))
            return operations_legacy(c, seg, seglen);
    }
    return query_fail(c, 404, "no such endpoint: /api%.*s", (int)(n > 200 ? 200 : n), rest);
}
