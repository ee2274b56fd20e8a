/* libmicrohttpd adapter: a SERVER span per request around the application's
 * access handler (stitch/instrument/microhttpd.h).
 *
 * Invariant: MHD's *req_cls for a request is either NULL (the handler never
 * ran) or our struct req, created on the first handler call and freed only
 * in stitch_mhd_completed, which ends its span exactly once. The
 * application sees only req->app_cls. Every scope pushed around a handler
 * call is popped before the call returns. */
#include "stitch/instrument/microhttpd.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct stitch_mhd {
    stitch_mhd_opts_t o;   /* the strings below are our copies */
    char *server_address;
    char *url_scheme;
    stitch_tracer_t *tracer;
    const stitch_propagator_t *prop;
};

struct stitch_mhd_req {
    void *app_cls;           /* the application's req_cls slot */
    stitch_mhd_t *m;
    stitch_span_t *span;
    stitch_ctx_t ctx;        /* the SERVER span's context; owned */
    unsigned status;         /* response status once queued, else 0 */
    char method[24];
    bool has_route;
};

static _Thread_local stitch_mhd_req_t *current;

/* ---- carrier -------------------------------------------------------------------- */

struct find {
    const char *name;
    size_t nlen, idx, seen;
    const char *val;
    size_t vlen;
};

static enum MHD_Result find_it(void *cls, enum MHD_ValueKind kind, const char *key, size_t klen,
                               const char *val, size_t vlen)
{
    struct find *f = cls;
    (void)kind;
    if (klen != f->nlen || strncasecmp(key, f->name, klen) != 0)
        return MHD_YES;
    if (f->seen++ < f->idx)
        return MHD_YES;
    f->val = val ? val : "";
    f->vlen = val ? vlen : 0;
    return MHD_NO;
}

static const char *carrier_get(void *self, const char *name, size_t idx, size_t *len)
{
    struct find f = {name, strlen(name), idx, 0, NULL, 0};
    (void)MHD_get_connection_values_n(self, MHD_HEADER_KIND, find_it, &f);
    if (len)
        *len = f.val ? f.vlen : 0;
    return f.val;
}

struct keys {
    void (*fn)(void *arg, const char *name, size_t len);
    void *arg;
};

static enum MHD_Result each_key(void *cls, enum MHD_ValueKind kind, const char *key, size_t klen,
                                const char *val, size_t vlen)
{
    struct keys *k = cls;
    (void)kind, (void)val, (void)vlen;
    k->fn(k->arg, key, klen);
    return MHD_YES;
}

static void carrier_keys(void *self, void (*fn)(void *arg, const char *name, size_t len), void *arg)
{
    struct keys k = {fn, arg};
    (void)MHD_get_connection_values_n(self, MHD_HEADER_KIND, each_key, &k);
}

void stitch_mhd_carrier(struct MHD_Connection *connection, stitch_carrier_t *out)
{
    out->self = connection;
    out->get = carrier_get;
    out->set = NULL;
    out->keys = carrier_keys;
}

/* ---- adapter ---------------------------------------------------------------------------- */

int stitch_mhd_new(const stitch_mhd_opts_t *opts, stitch_mhd_t **out)
{
    if (!out)
        return STITCH_EINVAL;
    *out = NULL;
    if (!opts || !opts->handler)
        return STITCH_EINVAL;
    stitch_mhd_t *m = calloc(1, sizeof *m);
    if (!m)
        return STITCH_ENOMEM;
    m->o = *opts;
    if ((opts->server_address && !(m->server_address = strdup(opts->server_address))) ||
        (opts->url_scheme && !(m->url_scheme = strdup(opts->url_scheme)))) {
        stitch_mhd_free(m);
        return STITCH_ENOMEM;
    }
    m->o.server_address = m->server_address;
    m->o.url_scheme = m->url_scheme;
    m->tracer = opts->tracer ? opts->tracer
                             : stitch_global_tracer(STITCH_MHD_SCOPE, STITCH_VERSION_STRING);
    m->prop = opts->propagator ? opts->propagator : stitch_propagator_default();
    *out = m;
    return 0;
}

void stitch_mhd_free(stitch_mhd_t *m)
{
    if (!m)
        return;
    free(m->server_address);
    free(m->url_scheme);
    free(m);
}

static bool method_known(const char *m)
{
    static const char *const known[] = {"CONNECT", "DELETE", "GET",   "HEAD", "OPTIONS",
                                        "PATCH",   "POST",   "PUT",   "TRACE", "QUERY"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(m, known[i]) == 0)
            return true;
    return false;
}

/* server.address / server.port from "host", "host:port", "[v6]:port". */
static void add_host_attrs(stitch_mhd_t *m, struct MHD_Connection *c, stitch_attr_t *a, size_t *n)
{
    if (m->o.server_address) {
        a[(*n)++] = stitch_attr_str("server.address", m->o.server_address);
        if (m->o.server_port)
            a[(*n)++] = stitch_attr_int("server.port", m->o.server_port);
        return;
    }
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    if (!host || !*host)
        return;
    const char *end = host + strlen(host), *colon = NULL;
    const char *hs = host, *he;
    if (*host == '[') {
        const char *rb = strchr(host, ']');
        if (!rb)
            return;
        hs = host + 1;
        he = rb;
        if (rb[1] == ':')
            colon = rb + 1;
    } else {
        colon = strrchr(host, ':');
        he = colon ? colon : end;
    }
    if (he > hs)
        a[(*n)++] = stitch_attr_strn("server.address", hs, (size_t)(he - hs));
    long port = 0;
    if (colon) {
        char *e;
        port = strtol(colon + 1, &e, 10);
        if (*e || port <= 0 || port > 65535)
            port = 0;
    }
    if (m->o.server_port)
        port = m->o.server_port;
    if (port)
        a[(*n)++] = stitch_attr_int("server.port", port);
}

static const char *scheme_of(stitch_mhd_t *m, struct MHD_Connection *c)
{
    if (m->o.url_scheme)
        return m->o.url_scheme;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_DAEMON);
    if (ci && ci->daemon) {
        const union MHD_DaemonInfo *di = MHD_get_daemon_info(ci->daemon, MHD_DAEMON_INFO_FLAGS);
        if (di && (di->flags & MHD_USE_TLS))
            return "https";
    }
    return "http";
}

static stitch_mhd_req_t *req_start(stitch_mhd_t *m, struct MHD_Connection *c, const char *url,
                                   const char *method, const char *version)
{
    stitch_mhd_req_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->m = m;
    r->ctx = (stitch_ctx_t)STITCH_CTX_INIT;
    if (!method)
        method = "";
    size_t ml = strlen(method);
    if (ml < sizeof r->method)
        memcpy(r->method, method, ml + 1);

    stitch_ctx_t in = STITCH_CTX_INIT;
    stitch_carrier_t carrier;
    stitch_mhd_carrier(c, &carrier);
    (void)stitch_extract(m->prop, &carrier, &in); /* ENOTFOUND: `in` stays empty → root */

    stitch_attr_t a[16];
    size_t n = 0;
    bool known = method_known(method);
    a[n++] = stitch_attr_str("http.request.method", known ? method : "_OTHER");
    if (!known)
        a[n++] = stitch_attr_str("http.request.method_original", method);
    if (url)
        a[n++] = stitch_attr_str("url.path", url);
    a[n++] = stitch_attr_str("url.scheme", scheme_of(m, c));
    add_host_attrs(m, c, a, &n);
    char addr[INET6_ADDRSTRLEN] = "";
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET) {
            const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
            if (inet_ntop(AF_INET, &s4->sin_addr, addr, sizeof addr)) {
                a[n++] = stitch_attr_str("client.address", addr);
                a[n++] = stitch_attr_int("client.port", ntohs(s4->sin_port));
            }
        } else if (sa->sa_family == AF_INET6) {
            const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
            if (inet_ntop(AF_INET6, &s6->sin6_addr, addr, sizeof addr)) {
                a[n++] = stitch_attr_str("client.address", addr);
                a[n++] = stitch_attr_int("client.port", ntohs(s6->sin6_port));
            }
        }
    }
    const char *ua = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_USER_AGENT);
    if (ua)
        a[n++] = stitch_attr_str("user_agent.original", ua);
    if (version && strncmp(version, "HTTP/", 5) == 0 && version[5])
        a[n++] = stitch_attr_str("network.protocol.version", version + 5);

    stitch_span_opts_t so = {
        .kind = STITCH_SPAN_KIND_SERVER, .parent = &in, .attrs = a, .nattrs = n};
    r->span = stitch_span_start(m->tracer, known ? method : "HTTP", &so);
    stitch_ctx_from_span(&r->ctx, r->span, &in);
    stitch_ctx_release(&in);
    return r;
}

static const char *termination_name(enum MHD_RequestTerminationCode toe)
{
    switch (toe) {
    case MHD_REQUEST_TERMINATED_WITH_ERROR: return "connection_error";
    case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED: return "timeout";
    case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN: return "server_shutdown";
    case MHD_REQUEST_TERMINATED_READ_ERROR: return "read_error";
    case MHD_REQUEST_TERMINATED_CLIENT_ABORT: return "client_abort";
    default: return "_OTHER";
    }
}

static unsigned queued_status(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_HTTP_STATUS);
    return ci ? ci->http_status : 0;
}

enum MHD_Result stitch_mhd_access(void *cls, struct MHD_Connection *connection, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    stitch_mhd_t *m = cls;
    stitch_mhd_req_t *r = *req_cls;
    if (!r) {
        r = req_start(m, connection, url, method, version);
        if (!r)
            return MHD_NO;
        *req_cls = r;
    }
    /* The request's context with its baggage, then its span, current for
     * the call; popping the first token pops both. */
    stitch_scope_t tok = stitch_scope_push_ctx(&r->ctx);
    (void)stitch_scope_push(r->span);
    stitch_mhd_req_t *prev = current;
    current = r;
    enum MHD_Result ret = m->o.handler(m->o.handler_cls, connection, url, method, version,
                                       upload_data, upload_data_size, &r->app_cls);
    current = prev;
    stitch_scope_pop(tok);
    if (!r->status)
        r->status = queued_status(connection);
    return ret;
}

void stitch_mhd_completed(void *cls, struct MHD_Connection *connection, void **req_cls,
                          enum MHD_RequestTerminationCode toe)
{
    stitch_mhd_t *m = cls;
    stitch_mhd_req_t *r = req_cls ? *req_cls : NULL;
    if (!r) {
        if (m && m->o.completed)
            m->o.completed(m->o.completed_cls, connection, req_cls, toe);
        return;
    }
    stitch_span_t *s = r->span;
    if (!r->status)
        r->status = queued_status(connection);
    if (stitch_span_is_recording(s)) {
        char buf[16];
        if (r->status)
            (void)stitch_span_set_int(s, "http.response.status_code", r->status);
        if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK) {
            (void)stitch_span_set_str(s, "error.type", termination_name(toe));
            stitch_span_set_status(s, STITCH_STATUS_ERROR, termination_name(toe));
        } else if (r->status >= 500) {
            snprintf(buf, sizeof buf, "%u", r->status);
            (void)stitch_span_set_str(s, "error.type", buf);
            stitch_span_set_status(s, STITCH_STATUS_ERROR, NULL);
        }
    }
    stitch_span_end(s);
    if (m->o.completed)
        m->o.completed(m->o.completed_cls, connection, &r->app_cls, toe);
    stitch_ctx_release(&r->ctx);
    free(r);
    *req_cls = NULL;
}

stitch_mhd_req_t *stitch_mhd_current(void)
{
    return current;
}

int stitch_mhd_set_route(stitch_mhd_req_t *r, const char *route)
{
    if (!r || !route)
        return STITCH_EINVAL;
    (void)stitch_span_set_str(r->span, "http.route", route);
    const char *m = method_known(r->method) ? r->method : "HTTP";
    size_t ml = strlen(m), rl = strlen(route);
    char stackbuf[256];
    char *name = ml + 1 + rl + 1 <= sizeof stackbuf ? stackbuf : malloc(ml + 1 + rl + 1);
    if (!name)
        return STITCH_ENOMEM;
    memcpy(name, m, ml);
    name[ml] = ' ';
    memcpy(name + ml + 1, route, rl + 1);
    (void)stitch_span_update_name(r->span, name);
    if (name != stackbuf)
        free(name);
    r->has_route = true;
    return 0;
}

const stitch_ctx_t *stitch_mhd_ctx(const stitch_mhd_req_t *r)
{
    return r ? &r->ctx : NULL;
}

stitch_span_t *stitch_mhd_span(stitch_mhd_req_t *r)
{
    return r ? r->span : NULL;
}
