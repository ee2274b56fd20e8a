/* daemon/query.c — the entry of stitchd's query API: which API a path
 * belongs to (Jaeger v1 under /api/, Jaeger v3 under /api/v3/, Zipkin v2
 * under /api/v2/), the response helpers every handler uses, and the error
 * body of each API:
 *   Jaeger v1  {"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":400,"msg":"…"}]}
 *   Jaeger v3  {"error":{"httpCode":400,"message":"…"}}      (grpc-gateway's shape)
 *   Zipkin v2  the message as text/plain                    (what zipkin-server sends)
 * Invariant: stitchd_query_answer() returns 1 for every path under /api/
 * (an unknown one gets 404 in that API's shape) and leaves resp untouched
 * for anything else. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/query_internal.h"

const char *query_arg(query_ctx_t *c, const char *key)
{
    if (!c->args || !c->args->get)
        return NULL;
    const char *v = c->args->get(c->args->ctx, key);
    return v && *v ? v : NULL;
}

const char *query_arg2(query_ctx_t *c, const char *key, const char *alias, const char **used)
{
    const char *v = query_arg(c, key);
    *used = key;
    if (!v && alias && (v = query_arg(c, alias)))
        *used = alias;
    return v;
}

int query_ok(query_ctx_t *c, const char *content_type)
{
    c->resp->status = 200;
    c->resp->content_type = content_type;
    c->resp->body = (char *)c->out.data;
    c->resp->len = c->out.len;
    c->out.data = NULL;
    c->out.len = c->out.cap = 0;
    return 1;
}

int query_fail(query_ctx_t *c, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        snprintf(msg, sizeof msg, "error");
    stitch_buf_free(&c->out);
    c->out.max = 0;
    stitch_buf_t *b = &c->out;
    int rc = 0;
    const char *ct = "application/json";
    switch (c->api) {
    case QUERY_API_V3:
        rc = STITCH_WIRE_LIT(b, "{\"error\":{\"httpCode\":");
        rc = rc ? rc : stitch_wire_i64(b, status);
        rc = rc ? rc : STITCH_WIRE_LIT(b, ",\"message\":");
        rc = rc ? rc : stitch_wire_json_str(b, msg, strlen(msg));
        rc = rc ? rc : STITCH_WIRE_LIT(b, "}}");
        break;
    case QUERY_API_ZIPKIN:
        ct = "text/plain; charset=utf-8";
        rc = stitch_buf_append(b, msg, strlen(msg));
        break;
    default:
        rc = STITCH_WIRE_LIT(b, "{\"data\":null,\"total\":0,\"limit\":0,\"offset\":0,\"errors\":[{\"code\":");
        rc = rc ? rc : stitch_wire_i64(b, status);
        rc = rc ? rc : STITCH_WIRE_LIT(b, ",\"msg\":");
        rc = rc ? rc : stitch_wire_json_str(b, msg, strlen(msg));
        rc = rc ? rc : STITCH_WIRE_LIT(b, "}]}");
    }
    c->resp->status = status;
    c->resp->content_type = ct;
    if (rc) { /* out of memory for an error body: the status alone */
        stitch_buf_free(b);
        c->resp->body = NULL;
        c->resp->len = 0;
        return 1;
    }
    c->resp->body = (char *)b->data;
    c->resp->len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return 1;
}

int query_fail_rc(query_ctx_t *c, int rc, const char *what)
{
    if (rc == STITCH_ELIMIT)
        return query_fail(c, 500, "%s: the response would be larger than %u MiB", what,
                          QUERY_MAX_BODY >> 20);
    return query_fail(c, 500, "%s: %s", what, stitch_strerror(rc));
}

int stitchd_query_answer(stitch_store_t *store, const char *path, const stitchd_query_args_t *args,
                         stitchd_query_resp_t *resp)
{
    if (!path || strncmp(path, "/api", 4) || (path[4] != '/' && path[4] != '\0'))
        return 0;
    query_ctx_t c = {
        .store = store,
        .args = args,
        .resp = resp,
        .api = QUERY_API_V1,
        .out = STITCH_BUF_INIT(QUERY_MAX_BODY),
    };
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    c.now_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    resp->status = 500;
    resp->content_type = "application/json";
    resp->body = NULL;
    resp->len = 0;
    const char *rest = path + 4;
    int r;
    if (!strncmp(rest, "/v3", 3) && (rest[3] == '/' || rest[3] == '\0')) {
        c.api = QUERY_API_V3;
        r = query_v3_route(&c, rest + 3);
    } else if (!strncmp(rest, "/v2", 3) && (rest[3] == '/' || rest[3] == '\0')) {
        c.api = QUERY_API_ZIPKIN;
        r = query_zipkin_route(&c, rest + 3);
    } else {
        r = query_jaeger_route(&c, rest);
    }
    stitch_buf_free(&c.out);
    return r;
}

void stitchd_query_resp_free(stitchd_query_resp_t *resp)
{
    if (!resp)
        return;
    free(resp->body);
    resp->body = NULL;
    resp->len = 0;
}

/* ---- parameter readers -------------------------------------------------------------- */

int query_param_duration(query_ctx_t *c, const char *name, const char *alias, uint64_t *out,
                         bool *given)
{
    const char *used, *v = query_arg2(c, name, alias, &used);
    char err[200];
    if (given)
        *given = v != NULL;
    if (!v)
        return 0;
    if (query_parse_duration(v, out, err, sizeof err)) {
        query_fail(c, 400, "parameter '%s': %s", used, err);
        return -1;
    }
    return 0;
}

int query_param_int(query_ctx_t *c, const char *name, const char *alias, int64_t min, int64_t max,
                    int64_t *out, bool *given)
{
    const char *used, *v = query_arg2(c, name, alias, &used);
    char err[200];
    if (given)
        *given = v != NULL;
    if (!v)
        return 0;
    if (query_parse_int(v, min, max, out, err, sizeof err)) {
        query_fail(c, 400, "parameter '%s': %s", used, err);
        return -1;
    }
    return 0;
}

int query_param_rfc3339(query_ctx_t *c, const char *name, const char *alias, uint64_t *out,
                        bool *given)
{
    const char *used, *v = query_arg2(c, name, alias, &used);
    char err[200];
    if (given)
        *given = v != NULL;
    if (!v)
        return 0;
    if (query_parse_rfc3339(v, out, err, sizeof err)) {
        query_fail(c, 400, "parameter '%s': %s", used, err);
        return -1;
    }
    return 0;
}

int query_param_limit(query_ctx_t *c, const char *name, const char *alias, size_t def, size_t *out)
{
    int64_t v = 0;
    bool given;
    const char *used;
    (void)query_arg2(c, name, alias, &used);
    if (query_param_int(c, name, alias, INT64_MIN, INT64_MAX, &v, &given))
        return -1;
    if (given && v < 0) {
        query_fail(c, 400, "parameter '%s': must not be negative", used);
        return -1;
    }
    *out = !given || v == 0 ? def : v > QUERY_MAX_LIMIT ? QUERY_MAX_LIMIT : (size_t)v;
    return 0;
}

/* ---- JSON lists from store walks ------------------------------------------------------ */

int query_list_str(void *arg, const char *s)
{
    query_list_t *l = arg;
    if ((l->n && (l->rc = STITCH_WIRE_LIT(l->b, ","))) ||
        (l->rc = stitch_wire_json_str(l->b, s, strlen(s))))
        return l->rc;
    l->n++;
    return 0;
}

int query_list_op_name(void *arg, const char *service, const char *name, int kind)
{
    query_list_t *l = arg;
    (void)service, (void)kind;
    if (l->last && !strcmp(l->last, name))
        return 0; /* one name per kind comes back; these lists want names */
    free(l->last);
    if (!(l->last = strdup(name)))
        return l->rc = STITCH_ENOMEM;
    return query_list_str(l, name);
}

int query_list_op(void *arg, const char *service, const char *name, int kind)
{
    query_list_t *l = arg;
    stitch_buf_t *b = l->b;
    const char *k = query_kind_name(kind);
    (void)service;
    if ((l->rc = l->n ? STITCH_WIRE_LIT(b, ",{\"name\":") : STITCH_WIRE_LIT(b, "{\"name\":")) ||
        (l->rc = stitch_wire_json_str(b, name, strlen(name))) ||
        (l->rc = STITCH_WIRE_LIT(b, ",\"spanKind\":\"")) || (l->rc = stitch_wire_put(b, k, strlen(k))) ||
        (l->rc = STITCH_WIRE_LIT(b, "\"}")))
        return l->rc;
    l->n++;
    return 0;
}
