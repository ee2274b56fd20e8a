/* store/store.c — store.h's public functions: pick the engine at open
 * (opts->engine: the embedded store by default, or ClickHouse), then hand
 * every call to the engine the handle was opened with.
 * Invariant: a handle's first member is its engine's table (internal.h), so
 * nothing here knows any engine's state. */
#include <stdio.h>
#include <string.h>

#include "store/internal.h"

int stitch_store_open(stitch_store_t **out, const stitch_store_opts_t *opts, char *err, size_t errlen)
{
    const char *e = opts ? opts->engine : NULL;
    if (!e || !*e || !strcmp(e, "embedded") || !strcmp(e, "local"))
        return st_emb_engine.open(out, opts, err, errlen);
    if (!strcmp(e, "clickhouse"))
        return st_ch_engine.open(out, opts, err, errlen);
    if (err && errlen)
        snprintf(err, errlen, "unknown storage engine \"%s\" (embedded or clickhouse)", e);
    return STITCH_EINVAL;
}

void stitch_store_close(stitch_store_t *s)
{
    if (s)
        st_engine_of(s)->close(s);
}

int stitch_store_append(stitch_store_t *s, const stitch_span_data_t *const *spans, size_t n)
{
    if (!s || (n && !spans))
        return STITCH_EINVAL;
    return st_engine_of(s)->append(s, spans, n);
}

int stitch_store_get_trace(stitch_store_t *s, const uint8_t trace_id[16], stitch_store_result_t *r)
{
    if (!s || !trace_id || !r)
        return STITCH_EINVAL;
    return st_engine_of(s)->get_trace(s, trace_id, r);
}

int stitch_store_search(stitch_store_t *s, const stitch_store_query_t *q, stitch_store_result_t *r)
{
    if (!s || !q || !r || (q->ntags && !q->tags))
        return STITCH_EINVAL;
    for (size_t i = 0; i < q->ntags; i++)
        if (!q->tags[i].key)
            return STITCH_EINVAL;
    return st_engine_of(s)->search(s, q, r);
}

int stitch_store_services(stitch_store_t *s, stitch_store_str_fn fn, void *arg)
{
    if (!s || !fn)
        return STITCH_EINVAL;
    return st_engine_of(s)->services(s, fn, arg);
}

int stitch_store_operations(stitch_store_t *s, const char *service, int kind, stitch_store_op_fn fn, void *arg)
{
    if (!s || !fn)
        return STITCH_EINVAL;
    return st_engine_of(s)->operations(s, service, kind, fn, arg);
}

int stitch_store_remote_services(stitch_store_t *s, const char *service, stitch_store_str_fn fn, void *arg)
{
    if (!s || !fn)
        return STITCH_EINVAL;
    return st_engine_of(s)->remote_services(s, service, fn, arg);
}

int stitch_store_dependencies(stitch_store_t *s, uint64_t start_ns, uint64_t end_ns, stitch_store_dep_fn fn,
                              void *arg)
{
    if (!s || !fn)
        return STITCH_EINVAL;
    return st_engine_of(s)->dependencies(s, start_ns, end_ns, fn, arg);
}

void stitch_store_get_stats(stitch_store_t *s, stitch_store_stats_t *st)
{
    if (!st)
        return;
    if (!s) {
        memset(st, 0, sizeof *st);
        return;
    }
    st_engine_of(s)->get_stats(s, st);
}

int stitch_store_enforce_retention(stitch_store_t *s, uint64_t now_ns)
{
    if (!s)
        return STITCH_EINVAL;
    return st_engine_of(s)->enforce_retention(s, now_ns);
}
