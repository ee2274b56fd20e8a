/* daemon/server.c — stitchd's HTTP side: three libmicrohttpd daemons (the
 * OTLP/HTTP port, the Zipkin port, the query/HTTP port), routing, request
 * bodies (Content-Length or chunked, capped at --max-body before and after
 * gzip), and sending the stitchd_resp_t the handlers fill.
 *
 * Threads: one thread per connection (MHD_USE_THREAD_PER_CONNECTION). A
 * receiver blocks in stitch_store_append() until its spans are durable;
 * with a thread per connection that wait stalls nobody else, and the
 * store's group commit gathers the appends of many connections into one
 * transaction. What bounds the cost of many connections: --max-connections
 * per listener, --idle-timeout, the decode slots (ingest.c) and a budget
 * of body bytes held in memory across all connections (d->buffered_max;
 * past it new bodies get 503 + Retry-After).
 *
 * Access control (docs/OPERATIONS.md) sits in front of every handler: a
 * CORS preflight is answered first (browsers send it without credentials),
 * then a request that needs a bearer token and lacks a valid one gets 401
 * before anything about it is looked at (its body is drained, never read).
 * TLS, when configured, is libmicrohttpd's (GnuTLS) on every listener.
 *
 * Invariant: every request that reaches the access handler gets exactly one
 * response, and every byte counted in d->buffered is given back in
 * on_completed(), whatever path the request took. */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include <zlib.h>

#include "daemon/log.h"
#include "daemon/stitchd.h"
#include "daemon/textbuf.h"
#include "daemon/ui.h"

/* the least body a refused chunked upload may still send before it is cut off */
#define DRAIN_MIN (16ull << 20)

static const char *const listener_names[STITCHD_L_N] = {"otlp-http", "zipkin", "http"};

typedef struct listener {
    stitchd_t *d;
    stitchd_listener_kind_t kind;
    int fd;
} listener_t;

static listener_t listeners[STITCHD_L_N];

enum route { ROUTE_NONE, ROUTE_OTLP, ROUTE_ZIPKIN };

typedef struct req {
    listener_t *l;
    char path[1024];         /* raw (not percent-decoded), no query string */
    char method[16];
    int path_too_long;
    int started;             /* the access handler ran (counted in inflight) */
    int answered;            /* a response is queued */
    int deferred;            /* `pending` holds the answer for the next call */
    int timed_out;           /* --request-timeout passed: logged once, then cut off */
    stitchd_resp_t pending;
    uint64_t drained;        /* body bytes thrown away after `pending` was decided */
    enum route route;
    stitchd_endpoint_t ep;
    bool json, gzip;
    uint8_t *body;
    size_t len, cap;
    uint64_t reserved;       /* bytes of d->buffered held by this request */
    struct timespec t0;
    /* CORS: the Access-Control-Allow-Origin to send ("" = none), whether
     * the answer varies by Origin, and a preflight's allowed methods and
     * (echoed) request headers */
    char cors_allow[256];
    bool cors_vary, preflight;
    const char *cors_methods;
    char cors_headers[512];
} req_t;

/* ---- responses ------------------------------------------------------------------ */

void stitchd_resp_text(stitchd_resp_t *r, int status, const char *content_type, const char *s)
{
    r->status = status;
    r->content_type = content_type;
    r->len = strlen(s);
    r->body = malloc(r->len + 1);
    if (r->body)
        memcpy(r->body, s, r->len + 1);
    else
        r->len = 0;
}

static void resp_json(stitchd_resp_t *r, int status, json_t *doc)
{
    r->status = status;
    r->content_type = "application/json";
    r->body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    r->len = r->body ? strlen(r->body) : 0;
    json_decref(doc);
}

void stitchd_resp_json_error(stitchd_resp_t *r, int status, const char *msg)
{
    resp_json(r, status, json_pack("{s:i,s:s}", "code", status, "message", msg ? msg : ""));
}

void stitchd_resp_jaeger_error(stitchd_resp_t *r, int status, const char *msg)
{
    resp_json(r, status,
              json_pack("{s:n,s:i,s:i,s:i,s:[{s:i,s:s}]}", "data", "total", 0, "limit", 0,
                        "offset", 0, "errors", "code", status, "msg", msg ? msg : ""));
}

/* An error in the shape of the request's endpoint. */
static void error_for(req_t *q, stitchd_resp_t *r, int status, const char *msg)
{
    if (q->route == ROUTE_OTLP)
        recv_otlp_error(r, q->json, status, msg);
    else if (q->l->kind == STITCHD_L_HTTP)
        stitchd_resp_jaeger_error(r, status, msg);
    else
        stitchd_resp_json_error(r, status, msg);
}

static double since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Whether the client takes gzip: Accept-Encoding names it, and not with a
 * weight of zero ("gzip;q=0", "gzip; q=0.00"). */
static bool accepts_gzip(struct MHD_Connection *c)
{
    const char *ae = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING);
    if (!ae)
        return false;
    for (const char *p = ae; (p = strcasestr(p, "gzip")); p += 4) {
        const char *e = p + 4;
        while (*e == ' ')
            e++;
        if (*e != ';')
            return true;
        e++;
        while (*e == ' ')
            e++;
        if (strncasecmp(e, "q=0", 3) || strspn(e + 3, ".0") != strcspn(e + 3, ", "))
            return true;
    }
    return false;
}

/* Answers of the query API and the UI are repetitive text: a 10,000-span
 * Jaeger trace of 9.3 MB went to 426 KB at zlib level 1, and curl's
 * request time grew from ~0.11 s to ~0.14 s (so ~3 ms per MB here). A
 * browser moves a large body into a page at a few tens of MB/s, which made
 * the transfer most of the time to open a large trace. r->body is replaced
 * when the result is smaller. */
#define GZIP_MIN 1024
static void gzip_resp(stitchd_resp_t *r)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return;
    uLong cap = deflateBound(&z, (uLong)r->len);
    char *out = malloc(cap);
    if (!out) {
        deflateEnd(&z);
        return;
    }
    z.next_in = (Bytef *)r->body;
    z.avail_in = (uInt)r->len;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)cap;
    int zr = deflate(&z, Z_FINISH);
    size_t n = z.total_out;
    deflateEnd(&z);
    if (zr != Z_STREAM_END || n >= r->len) {
        free(out);
        return;
    }
    free(r->body);
    r->body = out;
    r->len = n;
    r->gzipped = 1;
}

static bool compressible(const char *ct)
{
    return ct && (!strncmp(ct, "application/json", 16) || !strncmp(ct, "text/", 5) ||
                  !strncmp(ct, "application/javascript", 22) || !strncmp(ct, "image/svg", 9));
}

static enum MHD_Result send_resp(struct MHD_Connection *c, req_t *q, stitchd_resp_t *r)
{
    stitchd_t *d = q->l->d;
    q->answered = 1;
    if (!r->status) { /* a handler ran out of memory before filling r */
        r->status = 500;
        r->content_type = "application/json";
    }
    if (r->body && r->len >= GZIP_MIN && r->len < UINT32_MAX && compressible(r->content_type) &&
        accepts_gzip(c))
        gzip_resp(r);
    struct MHD_Response *resp =
        r->body ? MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE)
                : MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(r->body);
        return MHD_NO;
    }
    if (r->content_type && (r->len || r->status != 202))
        (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
    if (r->retry_after) {
        char ra[16];
        snprintf(ra, sizeof ra, "%u", r->retry_after);
        (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    }
    if (r->allow)
        (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
    if (r->gzipped)
        (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
    if (compressible(r->content_type))
        (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
    for (size_t i = 0; i + 1 < sizeof r->headers / sizeof r->headers[0] && r->headers[i]; i += 2)
        (void)MHD_add_response_header(resp, r->headers[i], r->headers[i + 1]);
    if (q->cors_vary)
        (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY,
                                      q->preflight ? "Origin, Access-Control-Request-Method, "
                                                     "Access-Control-Request-Headers"
                                                   : "Origin");
    if (q->cors_allow[0]) {
        (void)MHD_add_response_header(resp, "Access-Control-Allow-Origin", q->cors_allow);
        if (q->preflight) {
            (void)MHD_add_response_header(resp, "Access-Control-Allow-Methods", q->cors_methods);
            if (q->cors_headers[0])
                (void)MHD_add_response_header(resp, "Access-Control-Allow-Headers", q->cors_headers);
        } else {
            (void)MHD_add_response_header(resp, "Access-Control-Expose-Headers",
                                          "Retry-After, WWW-Authenticate");
        }
    }
    if (atomic_load(&d->stopping))
        (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    double secs = since(&q->t0);
    stitchd_metrics_request(q->ep, r->status, secs);
    if (st_log_enabled(ST_LOG_DEBUG)) {
        char qp[300];
        st_log(ST_LOG_DEBUG, "http", "request", "listener=%s method=%s path=%s status=%d bytes=%zu "
               "seconds=%.6f", listener_names[q->l->kind], q->method,
               st_log_q(qp, sizeof qp, q->path), r->status, q->len, secs);
    }
    return ok;
}

/* ---- request bodies ---------------------------------------------------------------- */

/* Count `n` more bytes against the global budget; -1 when it is spent. */
static int reserve(req_t *q, uint64_t n)
{
    stitchd_t *d = q->l->d;
    uint64_t was = atomic_fetch_add(&d->buffered, n);
    if (was + n > d->buffered_max) {
        atomic_fetch_sub(&d->buffered, n);
        return -1;
    }
    q->reserved += n;
    return 0;
}

/* 0, 413 (past --max-body) or 503 (memory budget spent / no memory). */
static int body_append(req_t *q, const char *p, size_t n)
{
    uint64_t max = q->l->d->cfg.max_body;
    if (n > max - q->len)
        return 413;
    if (q->len + n > q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 64 * 1024;
        while (cap < q->len + n)
            cap *= 2;
        if (cap > max)
            cap = (size_t)max;
        if (reserve(q, cap - q->cap))
            return 503;
        uint8_t *nb = realloc(q->body, cap);
        if (!nb)
            return 503;
        q->body = nb;
        q->cap = cap;
    }
    memcpy(q->body + q->len, p, n);
    q->len += n;
    return 0;
}

/* Inflate q->body (gzip, possibly several members) in place of itself.
 * 0, 400 (not gzip / corrupt), 413 (inflates past --max-body), 503. */
static int inflate_body(req_t *q, char *why, size_t whylen)
{
    uint64_t max = q->l->d->cfg.max_body;
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
        return 503;
    size_t cap = q->len * 4 < 64 * 1024 ? 64 * 1024 : q->len * 4;
    if (cap > max)
        cap = (size_t)max;
    uint8_t *out = NULL;
    size_t outlen = 0;
    int rc = 0;
    if (reserve(q, cap) || !(out = malloc(cap))) {
        rc = 503;
        goto done;
    }
    z.next_in = q->body;
    z.avail_in = (uInt)q->len;
    for (;;) {
        if (outlen == cap) {
            if (cap >= max) {
                rc = 413;
                snprintf(why, whylen,
                         "request body too large: more than %llu bytes after gzip decompression "
                         "(--max-body)",
                         (unsigned long long)max);
                goto done;
            }
            size_t ncap = cap * 2 > max ? (size_t)max : cap * 2;
            uint8_t *no;
            if (reserve(q, ncap - cap) || !(no = realloc(out, ncap))) {
                rc = 503;
                goto done;
            }
            out = no;
            cap = ncap;
        }
        z.next_out = out + outlen;
        z.avail_out = (uInt)(cap - outlen);
        int zr = inflate(&z, Z_NO_FLUSH);
        outlen = cap - z.avail_out;
        if (zr == Z_STREAM_END) {
            if (z.avail_in == 0)
                break;
            inflateReset(&z); /* another gzip member follows */
            continue;
        }
        if (zr == Z_BUF_ERROR && z.avail_in == 0) {
            rc = 400;
            snprintf(why, whylen, "invalid gzip body: truncated");
            goto done;
        }
        if (zr != Z_OK && zr != Z_BUF_ERROR) {
            rc = 400;
            snprintf(why, whylen, "invalid gzip body: %s", z.msg ? z.msg : "corrupt data");
            goto done;
        }
    }
done:
    inflateEnd(&z);
    if (rc) {
        free(out);
        return rc;
    }
    stitchd_metrics_body_bytes(q->route == ROUTE_OTLP ? STITCHD_RECV_OTLP_HTTP : STITCHD_RECV_ZIPKIN,
                               0, outlen);
    free(q->body); /* its reservation stays until the request ends */
    q->body = out;
    q->len = outlen;
    q->cap = cap;
    return 0;
}

/* ---- request headers ---------------------------------------------------------------- */

static const char *header(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* The media type of a Content-Type value, lower-cased, without parameters. */
static void media_type(const char *ct, char *out, size_t n)
{
    size_t o = 0;
    if (!ct)
        ct = "";
    while (*ct == ' ' || *ct == '\t')
        ct++;
    for (; *ct && *ct != ';' && *ct != ' ' && *ct != '\t' && o + 1 < n; ct++)
        out[o++] = (char)((*ct >= 'A' && *ct <= 'Z') ? *ct + 32 : *ct);
    out[o] = 0;
}

/* Checks common to both receivers: encoding and declared length. 0 when
 * the body may come, else the status (r filled). */
static int check_body_headers(struct MHD_Connection *c, req_t *q, stitchd_resp_t *r)
{
    char msg[300];
    const char *ce = header(c, MHD_HTTP_HEADER_CONTENT_ENCODING);
    if (ce && *ce && strcasecmp(ce, "identity") && strcasecmp(ce, "none")) {
        if (!strcasecmp(ce, "gzip") || !strcasecmp(ce, "x-gzip")) {
            q->gzip = true;
        } else {
            snprintf(msg, sizeof msg, "unsupported Content-Encoding \"%.100s\": use gzip or none",
                     ce);
            error_for(q, r, 415, msg);
            return 415;
        }
    }
    const char *cl = header(c, MHD_HTTP_HEADER_CONTENT_LENGTH);
    uint64_t max = q->l->d->cfg.max_body;
    if (cl) {
        char *end;
        unsigned long long n = strtoull(cl, &end, 10);
        if (n > max) {
            snprintf(msg, sizeof msg,
                     "request body too large: %llu bytes, the limit is %llu (--max-body)", n,
                     (unsigned long long)max);
            error_for(q, r, 413, msg);
            return 413;
        }
        if (n && reserve(q, n) == 0) {
            q->body = malloc(n);
            if (q->body)
                q->cap = n;
        } else if (n) {
            error_for(q, r, 503, "stitchd is overloaded (too many request bytes in memory); "
                                 "retry later");
            r->retry_after = 1;
            return 503;
        }
    }
    return 0;
}

/* ---- access control: CORS --------------------------------------------------------- */

/* Request headers a cross-origin request may carry: what the receivers and
 * the query API read, and the CORS-safelisted ones. */
static const char *const cors_ok_headers[] = {
    "Accept", "Accept-Language", "Content-Language", "Content-Type", "Content-Encoding",
    "Authorization", "X-Requested-With",
};

/* Does `origin` match the pattern pat[0..n)? Case-insensitive; one '*' in
 * the pattern stands for any run of characters (a subdomain wildcard). */
static bool origin_match(const char *pat, size_t n, const char *origin)
{
    const char *star = memchr(pat, '*', n);
    size_t ol = strlen(origin);
    if (!star)
        return ol == n && !strncasecmp(pat, origin, n);
    size_t pre = (size_t)(star - pat), suf = n - pre - 1;
    return ol >= pre + suf && !strncasecmp(origin, pat, pre) &&
           !strncasecmp(origin + ol - suf, star + 1, suf);
}

/* Whether --cors-origins lets `origin` in; *any when by "*". */
static bool origin_allowed(const char *list, const char *origin, bool *any)
{
    *any = false;
    for (const char *p = list; *p;) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, ","), e = n;
        while (e && p[e - 1] == ' ')
            e--;
        if (e == 1 && *p == '*') {
            *any = true;
            return true;
        }
        if (origin_match(p, e, origin))
            return true;
        p += n;
        if (*p)
            p++;
    }
    return false;
}

/* Is every name of an Access-Control-Request-Headers list one of
 * cors_ok_headers? */
static bool headers_allowed(const char *list)
{
    for (const char *p = list; *p;) {
        p += strspn(p, " \t,");
        size_t n = strcspn(p, " \t,");
        if (!n)
            break;
        bool ok = false;
        for (size_t i = 0; i < sizeof cors_ok_headers / sizeof cors_ok_headers[0]; i++)
            if (strlen(cors_ok_headers[i]) == n && !strncasecmp(cors_ok_headers[i], p, n))
                ok = true;
        if (!ok)
            return false;
        p += n;
    }
    return true;
}

/* The methods each listener answers, for a preflight. */
static const char *listener_methods(stitchd_listener_kind_t k)
{
    return k == STITCHD_L_OTLP_HTTP ? "POST" : k == STITCHD_L_ZIPKIN ? "GET, HEAD, POST" : "GET, HEAD";
}

/* CORS, as the OpenTelemetry Collector's cors.allowed_origins does it (the
 * rs/cors library): only with --cors-origins, only on the receivers and the
 * query API (/api/... on the HTTP port). An allowed Origin is echoed ("*"
 * when the list is "*"), with Vary: Origin; any other Origin gets no
 * Access-Control-* header. A preflight (OPTIONS with
 * Access-Control-Request-Method) gets 204 — with the allow headers only
 * when the origin, the method and every requested header are allowed.
 * Returns 1 when r holds a preflight's answer. */
static int cors(struct MHD_Connection *c, req_t *q, const char *method, stitchd_resp_t *r)
{
    const char *list = q->l->d->cfg.cors_origins;
    if (!list[0] || (q->l->kind == STITCHD_L_HTTP && strncmp(q->path, "/api/", 5)))
        return 0;
    q->cors_vary = true;
    const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    const char *want = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Access-Control-Request-Method");
    q->preflight = !strcmp(method, "OPTIONS") && want;
    bool any = false;
    bool ok = origin && *origin && strlen(origin) < sizeof q->cors_allow &&
              origin_allowed(list, origin, &any);
    if (q->preflight) {
        const char *rh = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Access-Control-Request-Headers");
        const char *methods = listener_methods(q->l->kind);
        size_t wl = strlen(want);
        bool mok = false;
        for (const char *m = methods; *m; m += strcspn(m, ","), m += *m ? 2 : 0)
            if (strcspn(m, ",") == wl && !strncmp(m, want, wl))
                mok = true;
        if (ok && mok && (!rh || (strlen(rh) < sizeof q->cors_headers && headers_allowed(rh)))) {
            snprintf(q->cors_allow, sizeof q->cors_allow, "%s", any ? "*" : origin);
            q->cors_methods = methods;
            snprintf(q->cors_headers, sizeof q->cors_headers, "%s", rh ? rh : "");
        }
        r->status = 204;
        return 1;
    }
    if (ok)
        snprintf(q->cors_allow, sizeof q->cors_allow, "%s", any ? "*" : origin);
    return 0;
}

/* ---- access control: bearer tokens ------------------------------------------------- */

enum need { NEED_NONE, NEED_INGEST, NEED_QUERY };

/* Which token a request needs: span uploads the ingest token; the query
 * APIs, /metrics and whatever else the ports answer the query token. Open:
 * /healthz (liveness probes) and the web UI's own files and pages, which
 * hold no span data (the UI's /api calls carry the token). */
static enum need needs(const req_t *q, bool get, bool post)
{
    switch (q->l->kind) {
    case STITCHD_L_OTLP_HTTP:
        return NEED_INGEST;
    case STITCHD_L_ZIPKIN:
        return post && !strcmp(q->path, "/api/v2/spans") ? NEED_INGEST : NEED_QUERY;
    case STITCHD_L_HTTP:
    default:
        if (!strcmp(q->path, "/healthz"))
            return NEED_NONE;
        if (get && strncmp(q->path, "/api/", 5) && strcmp(q->path, "/api") && ui_find(q->path))
            return NEED_NONE;
        return NEED_QUERY;
    }
}

/* Compare a presented token with every configured one, in time that
 * depends only on the presented token's length and the number of tokens:
 * no early exit, so the time says nothing about how much of a token was
 * right. (A length mismatch is folded in the same way.) */
static bool token_ok(const stitchd_tokens_t *t, const char *p, size_t n)
{
    unsigned ok = 0;
    for (size_t k = 0; k < t->n; k++) {
        const unsigned char *s = (const unsigned char *)t->v[k].s;
        size_t sl = t->v[k].len;
        unsigned diff = (unsigned)((n ^ sl) != 0);
        for (size_t i = 0; i < n; i++)
            diff |= (unsigned)((unsigned char)p[i] ^ s[i % sl]);
        ok |= (unsigned)(diff == 0);
    }
    return ok != 0;
}

/* Unauthorized requests per listener, for /metrics */
static _Atomic uint64_t unauthorized[STITCHD_L_N];
/* the log's rate limit: one line per UNAUTH_LOG_EVERY seconds, with the count of
 * the ones not logged in between */
#define UNAUTH_LOG_EVERY 10
static pthread_mutex_t unauth_mu = PTHREAD_MUTEX_INITIALIZER;
static time_t unauth_logged;
static uint64_t unauth_quiet;

static void peer_str(struct MHD_Connection *c, char *out, size_t n)
{
    snprintf(out, n, "?");
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    socklen_t sl = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    char host[INET6_ADDRSTRLEN + 1], port[8];
    if (!getnameinfo(sa, sl, host, sizeof host, port, sizeof port, NI_NUMERICHOST | NI_NUMERICSERV))
        snprintf(out, n, sa->sa_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, port);
}

static void log_unauthorized(struct MHD_Connection *c, req_t *q, const char *why)
{
    atomic_fetch_add_explicit(&unauthorized[q->l->kind], 1, memory_order_relaxed);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    pthread_mutex_lock(&unauth_mu);
    bool log = !unauth_logged || now.tv_sec - unauth_logged >= UNAUTH_LOG_EVERY;
    uint64_t quiet = unauth_quiet;
    if (log) {
        unauth_logged = now.tv_sec ? now.tv_sec : 1;
        unauth_quiet = 0;
    } else {
        unauth_quiet++;
    }
    pthread_mutex_unlock(&unauth_mu);
    if (!log)
        return;
    char peer[80], qp[300];
    peer_str(c, peer, sizeof peer);
    st_log(ST_LOG_WARN, "http", "unauthorized request refused",
           "listener=%s peer=%s method=%s path=%s reason=\"%s\" not_logged_since_last=%llu",
           listener_names[q->l->kind], peer, q->method, st_log_q(qp, sizeof qp, q->path), why,
           (unsigned long long)quiet);
}

/* 0 when the request may go on, else 1 with r holding the 401. */
static int authorize(struct MHD_Connection *c, req_t *q, bool get, bool post, stitchd_resp_t *r)
{
    const stitchd_config_t *cfg = &q->l->d->cfg;
    enum need n = needs(q, get, post);
    const stitchd_tokens_t *t = n == NEED_INGEST ? &cfg->ingest_tokens
                                : n == NEED_QUERY ? &cfg->query_tokens
                                                  : NULL;
    if (!t || !t->n)
        return 0;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    const char *why;
    if (h && !strncasecmp(h, "Bearer ", 7)) {
        const char *p = h + 7;
        while (*p == ' ')
            p++;
        size_t len = strlen(p);
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len && token_ok(t, p, len))
            return 0;
        why = "invalid bearer token";
    } else {
        why = h ? "not a bearer token" : "no bearer token";
    }
    log_unauthorized(c, q, why);
    char msg[200];
    snprintf(msg, sizeof msg, "unauthorized: %s; send Authorization: Bearer <token> (the %s token)",
             why, n == NEED_INGEST ? "ingest" : "query");
    error_for(q, r, 401, msg);
    /* RFC 6750 section 3: no error code when no credentials came */
    r->headers[0] = "WWW-Authenticate";
    r->headers[1] = strcmp(why, "invalid bearer token")
                        ? "Bearer realm=\"stitchd\""
                        : "Bearer realm=\"stitchd\", error=\"invalid_token\"";
    return 1;
}

static char *unauthorized_source(void *arg)
{
    (void)arg;
    st_text_t o = {0};
    st_text_metric_head(&o, "stitchd_http_unauthorized_total", "counter",
                        "Requests refused with 401: no or a wrong bearer token.");
    for (int k = 0; k < STITCHD_L_N; k++)
        st_text_printf(&o, "stitchd_http_unauthorized_total{listener=\"%s\"} %llu\n",
                       listener_names[k],
                       (unsigned long long)atomic_load_explicit(&unauthorized[k], memory_order_relaxed));
    if (o.oom) {
        free(o.p);
        return NULL;
    }
    return o.p;
}

/* ---- routing ------------------------------------------------------------------------ */

/* The first call of a request: decide its route. Returns 1 when r holds
 * the answer already, 0 when a body is expected. */
static int start(struct MHD_Connection *c, req_t *q, const char *method, stitchd_resp_t *r)
{
    stitchd_t *d = q->l->d;
    const char *path = q->path;
    bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
    bool post = !strcmp(method, "POST");
    char mt[128], msg[300];
    q->ep = STITCHD_EP_OTHER;
    if (q->path_too_long) {
        stitchd_resp_json_error(r, 414, "URI too long");
        return 1;
    }
    if (q->l->kind == STITCHD_L_OTLP_HTTP && !strcmp(path, "/v1/traces")) {
        /* errors from here on are in the request's encoding */
        q->route = ROUTE_OTLP;
        q->ep = STITCHD_EP_OTLP_TRACES;
        media_type(header(c, MHD_HTTP_HEADER_CONTENT_TYPE), mt, sizeof mt);
        q->json = !strcmp(mt, "application/json");
    }
    if (cors(c, q, method, r) || authorize(c, q, get, post, r))
        return 1;
    q->route = ROUTE_NONE;
    switch (q->l->kind) {
    case STITCHD_L_OTLP_HTTP:
        if (strcmp(path, "/v1/traces")) {
            stitchd_resp_json_error(r, 404, "not found: OTLP traces are POSTed to /v1/traces");
            return 1;
        }
        q->route = ROUTE_OTLP;
        q->ep = STITCHD_EP_OTLP_TRACES;
        media_type(header(c, MHD_HTTP_HEADER_CONTENT_TYPE), mt, sizeof mt);
        q->json = !strcmp(mt, "application/json");
        if (!post) {
            error_for(q, r, 405, "method not allowed: use POST");
            r->allow = "POST";
            return 1;
        }
        if (!q->json && strcmp(mt, "application/x-protobuf") && strcmp(mt, "application/protobuf")) {
            snprintf(msg, sizeof msg,
                     "unsupported Content-Type \"%.100s\": use application/x-protobuf or "
                     "application/json", mt);
            q->route = ROUTE_NONE; /* answer in JSON: the client's encoding is unknown */
            stitchd_resp_json_error(r, 415, msg);
            return 1;
        }
        return check_body_headers(c, q, r) ? 1 : 0;
    case STITCHD_L_ZIPKIN:
        if (!strcmp(path, "/api/v2/spans") && post) {
            q->route = ROUTE_ZIPKIN;
            q->ep = STITCHD_EP_ZIPKIN_SPANS;
            media_type(header(c, MHD_HTTP_HEADER_CONTENT_TYPE), mt, sizeof mt);
            if (*mt && strcmp(mt, "application/json")) {
                snprintf(msg, sizeof msg,
                         "unsupported Content-Type \"%.100s\": use application/json", mt);
                stitchd_resp_json_error(r, 415, msg);
                return 1;
            }
            return check_body_headers(c, q, r) ? 1 : 0;
        }
        if (!strncmp(path, "/api/v2/", 8)) {
            q->ep = STITCHD_EP_ZIPKIN_QUERY;
            if (get) {
                api_zipkin_get(d, c, path, r);
                return 1;
            }
            stitchd_resp_json_error(r, 405, "method not allowed");
            r->allow = strcmp(path, "/api/v2/spans") ? "GET, HEAD" : "GET, HEAD, POST";
            return 1;
        }
        stitchd_resp_json_error(r, 404, "not found");
        return 1;
    case STITCHD_L_HTTP:
    default:
        if (get) {
            api_http_get(d, c, path, r, &q->ep);
            return 1;
        }
        if (!strcmp(path, "/healthz") || !strcmp(path, "/metrics") || !strncmp(path, "/api/", 5)) {
            stitchd_resp_jaeger_error(r, 405, "method not allowed: use GET");
            r->allow = "GET, HEAD";
            return 1;
        }
        stitchd_resp_jaeger_error(r, 404, "not found");
        return 1;
    }
}

/* The body is complete: inflate, decode, store, answer. */
static void finish(req_t *q, stitchd_resp_t *r)
{
    stitchd_t *d = q->l->d;
    stitchd_receiver_t rv = q->route == ROUTE_OTLP ? STITCHD_RECV_OTLP_HTTP : STITCHD_RECV_ZIPKIN;
    stitchd_metrics_body_bytes(rv, q->len, q->gzip ? 0 : q->len);
    if (q->gzip) {
        char why[200] = "";
        int st = inflate_body(q, why, sizeof why);
        if (st) {
            if (st == 503) {
                error_for(q, r, 503, "stitchd is overloaded (too many request bytes in memory); "
                                     "retry later");
                r->retry_after = 1;
            } else {
                error_for(q, r, st, why);
            }
            return;
        }
    }
    if (q->route == ROUTE_OTLP)
        recv_otlp_handle(d, q->body, q->len, q->json, r);
    else
        recv_zipkin_handle(d, q->body, q->len, r);
}

/* ---- the header deadline ------------------------------------------------------------------
 * libmicrohttpd's timeout counts silence, so a client sending its request
 * head a byte at a time (slowloris) would hold its connection forever. Every
 * connection is tracked from accept; a watchdog thread shuts down the socket
 * of one whose request line and headers are not complete --header-timeout
 * after it opened (after the previous request, on a kept-alive connection:
 * --idle-timeout + --header-timeout), and libmicrohttpd's own thread then
 * sees the connection end and closes it as usual.
 * Invariant: a tracked fd is shut down only under conns_mu, while its
 * connection is still in the list (removed under conns_mu when libmicrohttpd
 * reports it closed) and its peer address is still the one seen at accept —
 * so a descriptor reused by a newer connection is never touched. */
typedef struct conn {
    struct conn *prev, *next;
    int fd;
    stitchd_listener_kind_t kind;
    bool in_request;   /* the head is complete; the access handler has it */
    uint64_t deadline; /* CLOCK_MONOTONIC ns: the head must be complete by then */
    struct sockaddr_storage peer;
    socklen_t peerlen;
} conn_t;

static pthread_mutex_t conns_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t conns_cv;
static conn_t conns = {.prev = &conns, .next = &conns};
static pthread_t watchdog;
static bool watchdog_on, watchdog_stop;
static uint64_t header_timeout_ns, keepalive_grace_ns;
static _Atomic uint64_t header_timeouts[STITCHD_L_N];

static uint64_t mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    listener_t *l = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        conn_t *k = ci ? calloc(1, sizeof *k) : NULL;
        if (!k)
            return; /* untracked: only the idle timeout applies to it */
        k->fd = ci->connect_fd;
        k->kind = l->kind;
        k->deadline = mono_ns() + header_timeout_ns;
        k->peerlen = sizeof k->peer;
        if (getpeername(k->fd, (struct sockaddr *)&k->peer, &k->peerlen) != 0)
            k->peerlen = 0;
        pthread_mutex_lock(&conns_mu);
        k->prev = conns.prev;
        k->next = &conns;
        conns.prev->next = k;
        conns.prev = k;
        pthread_mutex_unlock(&conns_mu);
        *socket_context = k;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context) {
        conn_t *k = *socket_context;
        pthread_mutex_lock(&conns_mu);
        k->prev->next = k->next;
        k->next->prev = k->prev;
        pthread_mutex_unlock(&conns_mu);
        free(k);
        *socket_context = NULL;
    }
}

/* The connection's request head is complete (in_request) or its request
 * is over and the next head may come (!in_request). */
static void conn_mark(struct MHD_Connection *c, bool in_request)
{
    if (!watchdog_on)
        return;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    conn_t *k = ci ? ci->socket_context : NULL;
    if (!k)
        return;
    pthread_mutex_lock(&conns_mu);
    k->in_request = in_request;
    if (!in_request)
        k->deadline = mono_ns() + keepalive_grace_ns + header_timeout_ns;
    pthread_mutex_unlock(&conns_mu);
}

static bool same_peer(const conn_t *k)
{
    struct sockaddr_storage now;
    socklen_t n = sizeof now;
    return k->peerlen && getpeername(k->fd, (struct sockaddr *)&now, &n) == 0 && n == k->peerlen &&
           !memcmp(&now, &k->peer, n);
}

static void *watchdog_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&conns_mu);
    while (!watchdog_stop) {
        uint64_t now = mono_ns();
        for (conn_t *k = conns.next; k != &conns; k = k->next) {
            if (k->in_request || k->deadline > now || !same_peer(k))
                continue;
            (void)shutdown(k->fd, SHUT_RDWR);
            k->deadline = UINT64_MAX; /* once */
            atomic_fetch_add_explicit(&header_timeouts[k->kind], 1, memory_order_relaxed);
            char peer[INET6_ADDRSTRLEN + 8] = "?", host[INET6_ADDRSTRLEN];
            if (!getnameinfo((struct sockaddr *)&k->peer, k->peerlen, host, sizeof host, NULL, 0, NI_NUMERICHOST))
                snprintf(peer, sizeof peer, "%s", host);
            st_log(ST_LOG_WARN, "http", "request head too slow: connection closed",
                   "listener=%s peer=%s header_timeout_s=%.1f", listener_names[k->kind], peer,
                   (double)header_timeout_ns / 1e9);
        }
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += 250000000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&conns_cv, &conns_mu, &until);
    }
    pthread_mutex_unlock(&conns_mu);
    return NULL;
}

static char *header_timeouts_source(void *arg)
{
    (void)arg;
    st_text_t o = {0};
    st_text_metric_head(&o, "stitchd_http_header_timeouts_total", "counter",
                        "Connections closed because their request head was not complete after --header-timeout.");
    for (int k = 0; k < STITCHD_L_N; k++)
        st_text_printf(&o, "stitchd_http_header_timeouts_total{listener=\"%s\"} %llu\n", listener_names[k],
                       (unsigned long long)atomic_load_explicit(&header_timeouts[k], memory_order_relaxed));
    if (o.oom) {
        free(o.p);
        return NULL;
    }
    return o.p;
}

static int watchdog_start(const stitchd_config_t *cfg)
{
    if (!cfg->header_timeout_ns)
        return 0;
    header_timeout_ns = cfg->header_timeout_ns;
    keepalive_grace_ns = cfg->idle_timeout_ns;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&conns_cv, &ca);
    pthread_condattr_destroy(&ca);
    watchdog_stop = false;
    if (pthread_create(&watchdog, NULL, watchdog_main, NULL))
        return -1;
    watchdog_on = true;
    stitchd_metrics_add_source(header_timeouts_source, NULL);
    return 0;
}

static void watchdog_end(void)
{
    if (!watchdog_on)
        return;
    pthread_mutex_lock(&conns_mu);
    watchdog_stop = true;
    pthread_cond_signal(&conns_cv);
    pthread_mutex_unlock(&conns_mu);
    pthread_join(watchdog, NULL);
    watchdog_on = false;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    listener_t *l = cls;
    (void)version;
    req_t *q = *con_cls;
    if (!q) { /* the URI callback did not run (out of memory there) */
        q = calloc(1, sizeof *q);
        if (!q)
            return MHD_NO;
        q->l = l;
        snprintf(q->path, sizeof q->path, "%s", url);
        *con_cls = q;
    }
    stitchd_resp_t r;
    memset(&r, 0, sizeof r);
    if (!q->started) {
        q->started = 1;
        conn_mark(c, true);
        snprintf(q->method, sizeof q->method, "%s", method);
        atomic_fetch_add(&l->d->inflight, 1);
        clock_gettime(CLOCK_MONOTONIC, &q->t0);
        if (!start(c, q, method, &r))
            return MHD_YES; /* a body comes */
        /* Answered from the headers alone. A request without a body is
         * answered on the next call: queued in this first call, MHD would
         * close the connection, as it does when it skips a body. */
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        const char *te = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Transfer-Encoding");
        if (!te && (!cl || !strcmp(cl, "0"))) {
            q->pending = r;
            q->deferred = 1;
            return MHD_YES;
        }
        /* A refused request whose body is on its way (e.g. 413 by
         * Content-Length): answered before reading it, MHD closes the
         * connection while the client still sends, the client's kernel
         * gets a reset and the client may never read the answer. So drain
         * bodies up to the drain cap and answer after them; only a body
         * announced past the cap is answered at once. */
        uint64_t cap = l->d->cfg.max_body * 4 > DRAIN_MIN ? l->d->cfg.max_body * 4 : DRAIN_MIN;
        if (te || strtoull(cl, NULL, 10) <= cap) {
            q->pending = r;
            q->deferred = 1;
            return MHD_YES;
        }
        return send_resp(c, q, &r);
    }
    /* A body that never ends (a client trickling bytes, which the idle
     * timeout does not catch) is cut off after --request-timeout. */
    if (*upload_data_size && l->d->cfg.request_timeout_ns &&
        since(&q->t0) * 1e9 > (double)l->d->cfg.request_timeout_ns) {
        if (!q->timed_out) {
            q->timed_out = 1;
            char qp[300];
            st_log(ST_LOG_WARN, "http", "request body too slow: connection closed",
                   "listener=%s path=%s bytes=%zu", listener_names[l->kind],
                   st_log_q(qp, sizeof qp, q->path), q->len + (size_t)q->drained);
        }
        return MHD_NO;
    }
    if (q->deferred) {
        if (*upload_data_size) {
            /* Drain the rest of a refused body: MHD cannot queue a response
             * in the middle of an upload. Draining costs no memory; a client
             * that keeps sending past DRAIN_MAX is cut off. */
            uint64_t cap = l->d->cfg.max_body * 4 > DRAIN_MIN ? l->d->cfg.max_body * 4 : DRAIN_MIN;
            q->drained += *upload_data_size;
            *upload_data_size = 0;
            return q->drained > cap ? MHD_NO : MHD_YES;
        }
        q->deferred = 0;
        r = q->pending;
        return send_resp(c, q, &r);
    }
    if (*upload_data_size) {
        int st = body_append(q, upload_data, *upload_data_size);
        *upload_data_size = 0;
        if (!st)
            return MHD_YES;
        char msg[200];
        if (st == 413)
            snprintf(msg, sizeof msg,
                     "request body too large: the limit is %llu bytes (--max-body)",
                     (unsigned long long)l->d->cfg.max_body);
        else
            snprintf(msg, sizeof msg,
                     "stitchd is overloaded (too many request bytes in memory); retry later");
        error_for(q, &r, st, msg);
        if (st == 503)
            r.retry_after = 1;
        q->pending = r;
        q->deferred = 1;
        free(q->body); /* what came so far is of no use now */
        q->body = NULL;
        q->len = q->cap = 0;
        return MHD_YES;
    }
    finish(q, &r);
    return send_resp(c, q, &r);
}

/* MHD's URI log callback: runs first for every request with the raw URI,
 * before MHD percent-decodes the path. Its result becomes *con_cls. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)c;
    req_t *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->l = cls;
    size_t n = strcspn(uri, "?#");
    if (n >= sizeof q->path) {
        q->path_too_long = 1;
        n = sizeof q->path - 1;
    }
    memcpy(q->path, uri, n);
    q->path[n] = 0;
    return q;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    listener_t *l = cls;
    conn_mark(c, false);
    req_t *q = *con_cls;
    if (!q)
        return;
    if (q->deferred) /* the connection died before the answer went out */
        free(q->pending.body);
    if (q->reserved)
        atomic_fetch_sub(&l->d->buffered, q->reserved);
    if (q->started)
        atomic_fetch_sub(&l->d->inflight, 1);
    free(q->body);
    free(q);
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[300], q[340];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = 0;
    st_log(ST_LOG_DEBUG, "http", "libmicrohttpd", "detail=%s", st_log_q(q, sizeof q, msg));
}

/* ---- listeners -------------------------------------------------------------------------- */

static int bind_listener(stitchd_addr_t *a, const char *name)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char port[8], addr[300];
    snprintf(port, sizeof port, "%u", a->port);
    int gr = getaddrinfo(a->host, port, &hints, &res);
    if (gr) {
        st_log(ST_LOG_ERROR, "http", "cannot resolve listen address", "listener=%s addr=%s error=\"%s\"",
               name, stitchd_addr_str(a, addr, sizeof addr), gai_strerror(gr));
        return -1;
    }
    int fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 1024)) {
        int e = errno;
        st_log(ST_LOG_ERROR, "http", "cannot listen", "listener=%s addr=%s error=\"%s\"", name,
               stitchd_addr_str(a, addr, sizeof addr), strerror(e));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
            a->port = ntohs(s4->sin_port);
            inet_ntop(AF_INET, &s4->sin_addr, a->host, sizeof a->host);
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
            a->port = ntohs(s6->sin6_port);
            inet_ntop(AF_INET6, &s6->sin6_addr, a->host, sizeof a->host);
        }
    }
    return fd;
}

/* GnuTLS priority strings for --tls-min-version: the library's NORMAL set
 * (its own judgement of ciphers, which follows the system's policy) with
 * only the allowed protocol versions. */
static const char *tls_priorities(int min_version)
{
    return min_version >= 13 ? "NORMAL:-VERS-ALL:+VERS-TLS1.3"
                             : "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2";
}

/* The TLS options of a daemon: items[0..3), MHD_OPTION_END-terminated. */
static void tls_options(const stitchd_config_t *cfg, struct MHD_OptionItem items[4])
{
    items[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, cfg->tls_cert_pem};
    items[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, cfg->tls_key_pem};
    items[2] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0,
                                       (void *)(uintptr_t)tls_priorities(cfg->tls_min_version)};
    items[3] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
}

/* libmicrohttpd's messages while it loads the certificate (GnuTLS's reason
 * among them), joined into one line of WHY_MAX bytes */
#define WHY_MAX 512
static void capture_log(void *cls, const char *fmt, va_list ap)
{
    char *buf = cls;
    size_t o = strlen(buf);
    if (o + 2 >= WHY_MAX)
        return;
    if (o)
        buf[o++] = ' ';
    vsnprintf(buf + o, WHY_MAX - o, fmt, ap);
    size_t n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = 0;
}

static enum MHD_Result refuse_all(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *size, void **con_cls)
{
    (void)cls, (void)c, (void)url, (void)method, (void)version, (void)data, (void)size, (void)con_cls;
    return MHD_NO;
}

int stitchd_server_check_tls(const stitchd_config_t *cfg, char *err, size_t errlen)
{
    if (!cfg->tls_cert_pem)
        return 0;
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        snprintf(err, errlen, "--tls-cert: this libmicrohttpd was built without TLS (GnuTLS) "
                              "support; install one with it (Debian's libmicrohttpd12 has it) or "
                              "terminate TLS in a reverse proxy");
        return -1;
    }
    /* a daemon without a socket or thread: its start loads the certificate
     * and key exactly as the listeners' will, so what it refuses they would */
    char why[WHY_MAX] = "";
    struct MHD_OptionItem tls[4];
    tls_options(cfg, tls);
    struct MHD_Daemon *probe = MHD_start_daemon(
        MHD_USE_TLS | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ERROR_LOG, 0, NULL, NULL, refuse_all, NULL,
        MHD_OPTION_EXTERNAL_LOGGER, capture_log, why, MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
    if (!probe) {
        snprintf(err, errlen, "--tls-cert %s / --tls-key %s: GnuTLS refused them (%s): is the key "
                              "the certificate's, and both PEM?",
                 cfg->tls_cert, cfg->tls_key, why[0] ? why : "no detail");
        return -1;
    }
    MHD_stop_daemon(probe);
    return 0;
}

int stitchd_server_start(stitchd_t *d)
{
    const stitchd_addr_t *addrs[STITCHD_L_N] = {&d->cfg.otlp_http, &d->cfg.zipkin, &d->cfg.http};
    uint64_t to = d->cfg.idle_timeout_ns / 1000000000ull;
    if (d->cfg.idle_timeout_ns && !to)
        to = 1;
    bool tls = d->cfg.tls_cert_pem != NULL;
    struct MHD_OptionItem tls_opts[4];
    if (tls)
        tls_options(&d->cfg, tls_opts);
    else
        tls_opts[0] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    stitchd_metrics_add_source(unauthorized_source, NULL);
    if (watchdog_start(&d->cfg)) {
        st_log(ST_LOG_ERROR, "http", "cannot start the header-deadline thread", "error=\"%s\"", strerror(errno));
        return -1;
    }
    for (int k = 0; k < STITCHD_L_N; k++) {
        listeners[k].d = d;
        listeners[k].kind = (stitchd_listener_kind_t)k;
        listeners[k].fd = -1;
        d->bound[k] = *addrs[k];
        if (addrs[k]->off)
            continue;
        int fd = bind_listener(&d->bound[k], listener_names[k]);
        if (fd < 0)
            return -1;
        listeners[k].fd = fd;
        unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                         MHD_USE_ITC | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
        if (strchr(d->bound[k].host, ':'))
            flags |= MHD_USE_IPv6;
        if (tls)
            flags |= MHD_USE_TLS;
        d->mhd[k] = MHD_start_daemon(
            flags, 0, NULL, NULL, on_request, &listeners[k], MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
            NULL, MHD_OPTION_LISTEN_SOCKET, fd,
            MHD_OPTION_CONNECTION_LIMIT, (unsigned)d->cfg.max_connections,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)to, MHD_OPTION_NOTIFY_COMPLETED,
            on_completed, &listeners[k], MHD_OPTION_URI_LOG_CALLBACK, on_uri, &listeners[k],
            MHD_OPTION_NOTIFY_CONNECTION, on_connection, &listeners[k],
            MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_END);
        char addr[300];
        if (!d->mhd[k]) {
            st_log(ST_LOG_ERROR, "http", "cannot start the HTTP server", "listener=%s addr=%s",
                   listener_names[k], stitchd_addr_str(&d->bound[k], addr, sizeof addr));
            close(fd);
            listeners[k].fd = -1;
            return -1;
        }
        st_log(ST_LOG_INFO, "http", "listening", "listener=%s addr=%s tls=%s", listener_names[k],
               stitchd_addr_str(&d->bound[k], addr, sizeof addr), tls ? "on" : "off");
    }
    return 0;
}

void stitchd_server_quiesce(stitchd_t *d)
{
    for (int k = 0; k < STITCHD_L_N; k++)
        if (d->mhd[k]) {
            MHD_socket s = MHD_quiesce_daemon(d->mhd[k]);
            if (s != MHD_INVALID_SOCKET)
                close(s);
            listeners[k].fd = -1;
        }
}

void stitchd_server_stop(stitchd_t *d)
{
    for (int k = 0; k < STITCHD_L_N; k++) {
        if (d->mhd[k])
            MHD_stop_daemon(d->mhd[k]);
        d->mhd[k] = NULL;
        listeners[k].fd = -1; /* MHD_stop_daemon closed it, or quiesce handed it back */
    }
    watchdog_end();
}
