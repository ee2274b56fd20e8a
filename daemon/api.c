/* daemon/api.c — the GET side: /healthz and /metrics on the HTTP port, and
 * the query APIs (daemon/query.h) on the HTTP port (/api/...) and on the
 * Zipkin port (/api/v2/...). Also the adapter that lets query.c read a
 * request's query string through libmicrohttpd (repeated keys included).
 * Invariant: every path gets an answer here — a 404 in the port's error
 * shape when nobody owns it. */
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/stitchd.h"
#include "daemon/ui.h"

/* ---- stitchd_query_args_t over MHD ----------------------------------------------- */

typedef struct find {
    const char *key;
    const char *val;
    int found;
} find_t;

static enum MHD_Result find_first(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    (void)kind;
    find_t *f = cls;
    if (key && !strcmp(key, f->key)) {
        f->val = value ? value : "";
        f->found = 1;
        return MHD_NO;
    }
    return MHD_YES;
}

static const char *args_get(void *ctx, const char *key)
{
    find_t f = {key, NULL, 0};
    (void)MHD_get_connection_values(ctx, MHD_GET_ARGUMENT_KIND, find_first, &f);
    return f.found ? f.val : NULL;
}

typedef struct each {
    const char *key;
    int (*fn)(void *arg, const char *value);
    void *arg;
} each_t;

static enum MHD_Result each_one(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
    (void)kind;
    each_t *e = cls;
    if (key && !strcmp(key, e->key) && e->fn(e->arg, value ? value : ""))
        return MHD_NO;
    return MHD_YES;
}

static void args_each(void *ctx, const char *key, int (*fn)(void *arg, const char *value),
                      void *arg)
{
    each_t e = {key, fn, arg};
    (void)MHD_get_connection_values(ctx, MHD_GET_ARGUMENT_KIND, each_one, &e);
}

static int query(stitchd_t *d, struct MHD_Connection *c, const char *path, stitchd_resp_t *r)
{
    if (!d->store) { /* an agent or router (--storage none): nothing to query here */
        stitchd_resp_jaeger_error(r, 404, "this stitchd stores no spans (--storage none): "
                                          "query the stitchd it forwards to");
        return 1;
    }
    stitchd_query_args_t args = {args_get, args_each, c};
    stitchd_query_resp_t q;
    memset(&q, 0, sizeof q);
    if (!stitchd_query_answer(d->store, path, &args, &q))
        return 0;
    r->status = q.status;
    r->content_type = q.content_type ? q.content_type : "application/json";
    r->body = q.body; /* malloc'd: ours now */
    r->len = q.len;
    return 1;
}

/* ---- the HTTP port ----------------------------------------------------------------- */

void api_http_get(stitchd_t *d, struct MHD_Connection *c, const char *path, stitchd_resp_t *r,
                  stitchd_endpoint_t *ep)
{
    if (!strcmp(path, "/healthz")) {
        *ep = STITCHD_EP_HEALTHZ;
        if (atomic_load(&d->ready) && !atomic_load(&d->stopping))
            stitchd_resp_text(r, 200, "application/json", "{\"status\":\"ok\"}");
        else
            stitchd_resp_text(r, 503, "application/json",
                              atomic_load(&d->stopping) ? "{\"status\":\"stopping\"}"
                                                        : "{\"status\":\"starting\"}");
        return;
    }
    if (!strcmp(path, "/metrics")) {
        *ep = STITCHD_EP_METRICS;
        size_t len = 0;
        char *page = stitchd_metrics_render(d->store, &len);
        if (!page) {
            stitchd_resp_jaeger_error(r, 500, "out of memory");
            return;
        }
        r->status = 200;
        r->content_type = "text/plain; version=0.0.4; charset=utf-8";
        r->body = page;
        r->len = len;
        return;
    }
    if (!strncmp(path, "/api/", 5) || !strcmp(path, "/api")) {
        *ep = STITCHD_EP_QUERY;
        if (query(d, c, path, r))
            return;
    } else {
        *ep = STITCHD_EP_OTHER;
    }
    if (ui_http_get(c, path, r)) /* the web UI (daemon/ui.c); never a path under /api */
        return;
    stitchd_resp_jaeger_error(r, 404, "not found");
}

void api_zipkin_get(stitchd_t *d, struct MHD_Connection *c, const char *path, stitchd_resp_t *r)
{
    if (!strncmp(path, "/api/v2/", 8) && query(d, c, path, r))
        return;
    stitchd_resp_json_error(r, 404, "not found");
}
