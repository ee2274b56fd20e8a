/* Integration test of the two HTTP adapters against each other: a real
 * libmicrohttpd server (stitch_mhd_*) and a real libcurl client
 * (stitch_curl_*) in one process, on 127.0.0.1 with a port chosen by the
 * kernel, recording into a memory processor. Each case checks the exact
 * spans (ids, parentage, kind, name, attributes, status) and the exact
 * headers the server received. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "stitch/instrument/curl.h"
#include "stitch/instrument/microhttpd.h"
#include "stitch/stitch.h"

/* ---- what the server saw --------------------------------------------------------- */

#define MAX_RECS 32
#define MAX_HDRS 32

struct rec {
    char path[64];
    size_t nh;
    char name[MAX_HDRS][64];
    char value[MAX_HDRS][512];
    stitch_span_ctx_t current;   /* stitch_current_span() in the handler */
    stitch_span_ctx_t ctx;       /* stitch_mhd_ctx() in the handler */
    char carrier_vals[4][64];    /* /carrier: get("tracestate", 0..3) */
    int carrier_n;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct rec recs[MAX_RECS];
static size_t nrecs;

static struct MHD_Daemon *daemon_;
static stitch_mhd_t *tm;
static unsigned port;
static stitch_provider_t *provider;
static stitch_processor_t *mem;

static enum MHD_Result record_hdr(void *cls, enum MHD_ValueKind kind, const char *key, size_t klen,
                                  const char *val, size_t vlen)
{
    struct rec *r = cls;
    (void)kind;
    if (r->nh < MAX_HDRS) {
        snprintf(r->name[r->nh], sizeof r->name[0], "%.*s", (int)klen, key);
        snprintf(r->value[r->nh], sizeof r->value[0], "%.*s", (int)vlen, val ? val : "");
        r->nh++;
    }
    return MHD_YES;
}

/* The value of the only header `name` (any case) of the last request to
 * `path`; NULL when absent; fails the test when repeated. */
static const char *hdr(const char *path, const char *name)
{
    const char *found = NULL;
    int n = 0;
    pthread_mutex_lock(&lock);
    for (size_t i = nrecs; i-- > 0;) {
        if (strcmp(recs[i].path, path) != 0)
            continue;
        for (size_t j = 0; j < recs[i].nh; j++)
            if (strcasecmp(recs[i].name[j], name) == 0) {
                found = recs[i].value[j];
                n++;
            }
        break;
    }
    pthread_mutex_unlock(&lock);
    assert_true(n <= 1);
    return found;
}

static bool last_rec_maybe(const char *path)
{
    bool found = false;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < nrecs; i++)
        if (strcmp(recs[i].path, path) == 0)
            found = true;
    pthread_mutex_unlock(&lock);
    return found;
}

static const struct rec *last_rec(const char *path)
{
    const struct rec *r = NULL;
    pthread_mutex_lock(&lock);
    for (size_t i = nrecs; i-- > 0;)
        if (strcmp(recs[i].path, path) == 0) {
            r = &recs[i];
            break;
        }
    pthread_mutex_unlock(&lock);
    assert_non_null(r);
    return r;
}

static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static CURLcode downstream(const char *path);

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *data,
                               size_t *size, void **req_cls)
{
    (void)cls, (void)method, (void)version, (void)data;
    if (!*req_cls) {
        /* First call: headers are in. Record them and what is current. */
        pthread_mutex_lock(&lock);
        struct rec *r = nrecs < MAX_RECS ? &recs[nrecs++] : NULL;
        pthread_mutex_unlock(&lock);
        if (!r)
            return MHD_NO;
        memset(r, 0, sizeof *r);
        snprintf(r->path, sizeof r->path, "%s", url);
        (void)MHD_get_connection_values_n(c, MHD_HEADER_KIND, record_hdr, r);
        stitch_span_t *cur = stitch_current_span();
        if (cur)
            r->current = stitch_span_context(cur);
        r->ctx = stitch_mhd_ctx(stitch_mhd_current())->span;
        if (strcmp(url, "/carrier") == 0) {
            stitch_carrier_t car;
            stitch_mhd_carrier(c, &car);
            for (size_t i = 0; i < 4; i++) {
                size_t len = 0;
                const char *v = car.get(car.self, "tracestate", i, &len);
                if (!v)
                    break;
                snprintf(r->carrier_vals[i], sizeof r->carrier_vals[i], "%.*s", (int)len, v);
                r->carrier_n++;
            }
        }
        *req_cls = r;
        return MHD_YES;
    }
    if (*size) { /* body chunk: ignored */
        *size = 0;
        return MHD_YES;
    }
    if (strncmp(url, "/users/", 7) == 0) {
        assert_int_equal(stitch_mhd_set_route(stitch_mhd_current(), "/users/{id}"), 0);
        return respond(c, 200, "user");
    }
    if (strcmp(url, "/fail") == 0)
        return respond(c, 500, "boom");
    if (strcmp(url, "/missing") == 0)
        return respond(c, 404, "no");
    if (strcmp(url, "/hop") == 0) {
        CURLcode rc = downstream("/ok");
        return respond(c, rc == CURLE_OK ? 200 : 502, "hop");
    }
    return respond(c, 200, "ok");
}

/* ---- client helpers ---------------------------------------------------------------- */

static size_t sink(char *p, size_t s, size_t n, void *ud)
{
    (void)p, (void)ud;
    return s * n;
}

static void url_of(char *buf, size_t len, const char *path)
{
    snprintf(buf, len, "http://127.0.0.1:%u%s", port, path);
}

static CURL *easy_new(void)
{
    CURL *e = curl_easy_init();
    assert_non_null(e);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "stitch-test/1");
    return e;
}

/* From inside a handler: a traced call, child of the current (SERVER) span. */
static CURLcode downstream(const char *path)
{
    char url[128];
    url_of(url, sizeof url, path);
    CURL *e = easy_new();
    stitch_curl_opts_t o = {.url = url};
    CURLcode rc = stitch_curl_perform(e, &o);
    curl_easy_cleanup(e);
    return rc;
}

/* An untraced request with raw header lines (curl sends them verbatim). */
static long plain_get(const char *path, const char *const *lines)
{
    char url[128];
    url_of(url, sizeof url, path);
    CURL *e = easy_new();
    struct curl_slist *h = NULL;
    for (; lines && *lines; lines++)
        h = curl_slist_append(h, *lines);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    assert_int_equal(curl_easy_perform(e), CURLE_OK);
    long code = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(e);
    curl_slist_free_all(h);
    return code;
}

/* ---- span helpers ---------------------------------------------------------------------- */

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* SERVER spans end in MHD's completion callback, which may run just after
 * the client has read the response: wait for them, then insist on the
 * exact count. */
static void wait_spans(size_t n)
{
    for (int i = 0; i < 300 && stitch_memory_processor_count(mem) < n; i++)
        sleep_ms(10);
    sleep_ms(50);
    assert_int_equal(stitch_memory_processor_count(mem), n);
}

static const stitch_span_data_t *span_of(stitch_span_kind_t kind, size_t nth)
{
    size_t n = stitch_memory_processor_count(mem);
    for (size_t i = 0; i < n; i++) {
        const stitch_span_data_t *d = stitch_memory_processor_get(mem, i);
        if (d->kind == kind && nth-- == 0)
            return d;
    }
    fail_msg("no span of kind %d", (int)kind);
    return NULL;
}

static const stitch_span_data_t *span_named_path(const char *path)
{
    size_t n = stitch_memory_processor_count(mem);
    for (size_t i = 0; i < n; i++) {
        const stitch_span_data_t *d = stitch_memory_processor_get(mem, i);
        const stitch_value_t *v = stitch_span_data_attr(d, "url.path");
        if (d->kind == STITCH_SPAN_KIND_SERVER && v && strcmp(v->u.str, path) == 0)
            return d;
    }
    fail_msg("no SERVER span for %s", path);
    return NULL;
}

static void assert_attr_str(const stitch_span_data_t *d, const char *key, const char *want)
{
    const stitch_value_t *v = stitch_span_data_attr(d, key);
    if (!want) {
        if (v)
            fail_msg("attribute %s present, expected absent", key);
        return;
    }
    if (!v)
        fail_msg("attribute %s missing (want %s)", key, want);
    assert_int_equal(v->type, STITCH_VALUE_STRING);
    assert_string_equal(v->u.str, want);
}

static void assert_attr_int(const stitch_span_data_t *d, const char *key, int64_t want)
{
    const stitch_value_t *v = stitch_span_data_attr(d, key);
    if (!v)
        fail_msg("attribute %s missing (want %lld)", key, (long long)want);
    assert_int_equal(v->type, STITCH_VALUE_INT);
    assert_int_equal(v->u.i, want);
}

static void traceparent_of(const stitch_span_ctx_t *c, char out[56])
{
    char t[33], s[17];
    stitch_trace_id_hex(c->trace_id, t);
    stitch_span_id_hex(c->span_id, s);
    snprintf(out, 56, "00-%s-%s-%02x", t, s, c->flags);
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* ---- cases ------------------------------------------------------------------------------ */

static void test_adapters_client_server_spans(void **state)
{
    (void)state;
    char url[128], port_s[8];
    url_of(url, sizeof url, "/users/42");
    snprintf(port_s, sizeof port_s, "%u", port);
    CURL *e = easy_new();
    struct curl_slist *mine = curl_slist_append(NULL, "X-Custom: kept");
    mine = curl_slist_append(mine, "Content-Type: text/plain");
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, "abc");
    stitch_curl_opts_t o = {.url = url, .method = "POST", .headers = mine};
    assert_int_equal(stitch_curl_perform(e, &o), CURLE_OK);
    wait_spans(2);

    const stitch_span_data_t *c = span_of(STITCH_SPAN_KIND_CLIENT, 0);
    const stitch_span_data_t *s = span_of(STITCH_SPAN_KIND_SERVER, 0);
    /* CLIENT: a root (no current context), HTTP conventions. */
    assert_string_equal(c->name, "POST");
    assert_true(all_zero(c->parent_span_id, 8));
    assert_true(stitch_span_ctx_sampled(&c->ctx));
    assert_string_equal(c->scope->name, STITCH_CURL_SCOPE);
    assert_attr_str(c, "http.request.method", "POST");
    assert_attr_str(c, "url.full", url);
    assert_attr_str(c, "server.address", "127.0.0.1");
    assert_attr_int(c, "server.port", port);
    assert_attr_int(c, "http.response.status_code", 200);
    assert_attr_str(c, "network.protocol.version", "1.1");
    assert_attr_str(c, "error.type", NULL);
    assert_int_equal(c->status, STITCH_STATUS_UNSET);
    /* SERVER: same trace, child of the CLIENT span, remote parent. */
    assert_memory_equal(s->ctx.trace_id, c->ctx.trace_id, 16);
    assert_memory_equal(s->parent_span_id, c->ctx.span_id, 8);
    assert_memory_not_equal(s->ctx.span_id, c->ctx.span_id, 8);
    assert_true(s->parent_remote);
    assert_string_equal(s->name, "POST /users/{id}");
    assert_string_equal(s->scope->name, STITCH_MHD_SCOPE);
    assert_attr_str(s, "http.request.method", "POST");
    assert_attr_str(s, "url.path", "/users/42");
    assert_attr_str(s, "url.scheme", "http");
    assert_attr_str(s, "http.route", "/users/{id}");
    assert_attr_str(s, "server.address", "127.0.0.1");
    assert_attr_int(s, "server.port", port);
    assert_attr_str(s, "client.address", "127.0.0.1");
    assert_attr_str(s, "user_agent.original", "stitch-test/1");
    assert_attr_str(s, "network.protocol.version", "1.1");
    assert_attr_int(s, "http.response.status_code", 200);
    assert_int_equal(s->status, STITCH_STATUS_UNSET);

    /* Headers: the injected traceparent names the CLIENT span; the
     * caller's own headers went along. */
    char tp[56];
    traceparent_of(&c->ctx, tp);
    assert_string_equal(hdr("/users/42", "traceparent"), tp);
    assert_null(hdr("/users/42", "tracestate"));
    assert_string_equal(hdr("/users/42", "x-custom"), "kept");
    assert_string_equal(hdr("/users/42", "content-type"), "text/plain");
    /* In the handler the SERVER span was current and was the request's ctx. */
    const struct rec *r = last_rec("/users/42");
    assert_memory_equal(r->current.span_id, s->ctx.span_id, 8);
    assert_memory_equal(r->ctx.span_id, s->ctx.span_id, 8);
    assert_memory_equal(r->ctx.trace_id, s->ctx.trace_id, 16);

    /* The caller's list is untouched and set back on the handle: a plain
     * perform now sends X-Custom and no traceparent. */
    assert_string_equal(mine->data, "X-Custom: kept");
    assert_string_equal(mine->next->data, "Content-Type: text/plain");
    assert_null(mine->next->next);
    char url2[128];
    url_of(url2, sizeof url2, "/plain");
    curl_easy_setopt(e, CURLOPT_URL, url2);
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    assert_int_equal(curl_easy_perform(e), CURLE_OK);
    assert_string_equal(hdr("/plain", "x-custom"), "kept");
    assert_null(hdr("/plain", "traceparent"));
    curl_easy_cleanup(e);
    curl_slist_free_all(mine);
    wait_spans(3);
}

static void test_adapters_user_traceparent_replaced(void **state)
{
    (void)state;
    char url[128];
    url_of(url, sizeof url, "/ok");
    CURL *e = easy_new();
    struct curl_slist *mine =
        curl_slist_append(NULL, "TraceParent: 00-11111111111111111111111111111111-2222222222222222-01");
    mine = curl_slist_append(mine, "Accept: text/plain");
    /* No method given: named GET at start, but curl sends POST, which wins. */
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, "x");
    stitch_curl_opts_t o = {.url = url, .headers = mine};
    assert_int_equal(stitch_curl_perform(e, &o), CURLE_OK);
    wait_spans(2);
    const stitch_span_data_t *c = span_of(STITCH_SPAN_KIND_CLIENT, 0);
    assert_string_equal(c->name, "POST");
    assert_attr_str(c, "http.request.method", "POST");
    assert_string_equal(span_of(STITCH_SPAN_KIND_SERVER, 0)->name, "POST");
    char tp[56];
    traceparent_of(&c->ctx, tp);
    assert_string_equal(hdr("/ok", "traceparent"), tp); /* exactly one, ours */
    assert_string_equal(hdr("/ok", "accept"), "text/plain");
    curl_easy_cleanup(e);
    curl_slist_free_all(mine);
}

static void test_adapters_server_error_status(void **state)
{
    (void)state;
    char url[128];
    url_of(url, sizeof url, "/fail");
    CURL *e = easy_new();
    stitch_curl_opts_t o = {.url = url};
    assert_int_equal(stitch_curl_perform(e, &o), CURLE_OK);
    wait_spans(2);
    const stitch_span_data_t *c = span_of(STITCH_SPAN_KIND_CLIENT, 0);
    const stitch_span_data_t *s = span_of(STITCH_SPAN_KIND_SERVER, 0);
    assert_int_equal(c->status, STITCH_STATUS_ERROR);
    assert_attr_int(c, "http.response.status_code", 500);
    assert_attr_str(c, "error.type", "500");
    assert_int_equal(s->status, STITCH_STATUS_ERROR);
    assert_attr_int(s, "http.response.status_code", 500);
    assert_attr_str(s, "error.type", "500");
    assert_string_equal(s->name, "GET");
    assert_attr_str(s, "http.route", NULL);

    /* 404: an error for the client, not for the server. */
    stitch_memory_processor_clear(mem);
    url_of(url, sizeof url, "/missing");
    o.url = url;
    assert_int_equal(stitch_curl_perform(e, &o), CURLE_OK);
    wait_spans(2);
    c = span_of(STITCH_SPAN_KIND_CLIENT, 0);
    s = span_of(STITCH_SPAN_KIND_SERVER, 0);
    assert_int_equal(c->status, STITCH_STATUS_ERROR);
    assert_attr_str(c, "error.type", "404");
    assert_int_equal(s->status, STITCH_STATUS_UNSET);
    assert_attr_int(s, "http.response.status_code", 404);
    assert_attr_str(s, "error.type", NULL);
    curl_easy_cleanup(e);
}

static void test_adapters_connection_refused(void **state)
{
    (void)state;
    /* A port nobody listens on: bind 0, read it, close. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    close(fd);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/nowhere", ntohs(sa.sin_port));
    CURL *e = easy_new();
    struct curl_slist *mine = curl_slist_append(NULL, "X-Custom: kept");
    stitch_curl_opts_t o = {.url = url, .headers = mine};
    assert_int_equal(stitch_curl_perform(e, &o), CURLE_COULDNT_CONNECT);
    wait_spans(1);
    const stitch_span_data_t *c = span_of(STITCH_SPAN_KIND_CLIENT, 0);
    assert_string_equal(c->name, "GET");
    assert_attr_str(c, "http.request.method", "GET");
    assert_int_equal(c->status, STITCH_STATUS_ERROR);
    assert_string_equal(c->status_message, curl_easy_strerror(CURLE_COULDNT_CONNECT));
    assert_attr_str(c, "error.type", "CURLE_COULDNT_CONNECT");
    assert_attr_str(c, "url.full", url);
    assert_null(stitch_span_data_attr(c, "http.response.status_code"));
    assert_string_equal(mine->data, "X-Custom: kept");
    assert_null(mine->next);

    /* Credentials never reach url.full. */
    stitch_memory_processor_clear(mem);
    char cred[160], want[160];
    snprintf(cred, sizeof cred, "http://alice:s3cret@127.0.0.1:%u/nowhere", ntohs(sa.sin_port));
    snprintf(want, sizeof want, "http://REDACTED:REDACTED@127.0.0.1:%u/nowhere", ntohs(sa.sin_port));
    o.url = cred;
    assert_int_equal(stitch_curl_perform(e, &o), CURLE_COULDNT_CONNECT);
    wait_spans(1);
    assert_attr_str(span_of(STITCH_SPAN_KIND_CLIENT, 0), "url.full", want);
    curl_easy_cleanup(e);
    curl_slist_free_all(mine);
}

static void test_adapters_client_abort(void **state)
{
    (void)state;
    /* Headers, then a body cut short: MHD ran the handler once, then
     * terminates the request otherwise than COMPLETED_OK. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    static const char req[] = "POST /ok HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n"
                              "Content-Length: 100\r\n\r\nabc";
    assert_int_equal(write(fd, req, sizeof req - 1), (ssize_t)(sizeof req - 1));
    for (int i = 0; i < 200 && !last_rec_maybe("/ok"); i++)
        sleep_ms(10);
    close(fd);
    wait_spans(1);
    const stitch_span_data_t *s = span_of(STITCH_SPAN_KIND_SERVER, 0);
    assert_int_equal(s->status, STITCH_STATUS_ERROR);
    const stitch_value_t *et = stitch_span_data_attr(s, "error.type");
    assert_non_null(et);
    assert_string_equal(et->u.str, "client_abort"); /* MHD_REQUEST_TERMINATED_CLIENT_ABORT */
    assert_string_equal(s->status_message, "client_abort");
    assert_null(stitch_span_data_attr(s, "http.response.status_code"));
    assert_string_equal(s->name, "POST");
}

static void test_adapters_tracestate_downstream(void **state)
{
    (void)state;
    static const char *const in[] = {
        "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "TraceState: vendor=x,other=y", NULL};
    assert_int_equal(plain_get("/hop", in), 200);
    wait_spans(3);
    const stitch_span_data_t *hop = span_named_path("/hop");
    const stitch_span_data_t *c = span_of(STITCH_SPAN_KIND_CLIENT, 0);
    const stitch_span_data_t *ok = span_named_path("/ok");
    uint8_t want_trace[16], want_parent[8];
    assert_int_equal(stitch_trace_id_parse("0af7651916cd43dd8448eb211c80319c", 32, want_trace), 0);
    assert_int_equal(stitch_span_id_parse("b7ad6b7169203331", 16, want_parent), 0);
    assert_memory_equal(hop->ctx.trace_id, want_trace, 16);
    assert_memory_equal(hop->parent_span_id, want_parent, 8);
    assert_true(hop->parent_remote);
    assert_string_equal(stitch_tracestate_str(hop->tracestate, NULL), "vendor=x,other=y");
    /* The downstream CLIENT span is the hop's child (current span in the handler). */
    assert_memory_equal(c->ctx.trace_id, want_trace, 16);
    assert_memory_equal(c->parent_span_id, hop->ctx.span_id, 8);
    assert_false(c->parent_remote);
    assert_memory_equal(ok->parent_span_id, c->ctx.span_id, 8);
    char tp[56];
    traceparent_of(&c->ctx, tp);
    assert_string_equal(hdr("/ok", "traceparent"), tp);
    assert_string_equal(hdr("/ok", "tracestate"), "vendor=x,other=y");
}

static void test_adapters_no_context_new_trace(void **state)
{
    (void)state;
    static const char *const in[] = {"tracestate: vendor=x", NULL};
    assert_int_equal(plain_get("/ok", in), 200);
    wait_spans(1);
    const stitch_span_data_t *s = span_of(STITCH_SPAN_KIND_SERVER, 0);
    assert_true(stitch_span_ctx_valid(&s->ctx));
    assert_true(all_zero(s->parent_span_id, 8));
    assert_false(s->parent_remote);
    assert_true(stitch_span_ctx_sampled(&s->ctx));
    assert_string_equal(stitch_tracestate_str(s->tracestate, NULL), ""); /* no parent: dropped */
    assert_string_equal(s->name, "GET");
}

static void test_adapters_unsampled_parent(void **state)
{
    (void)state;
    static const char *const in[] = {
        "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00",
        "tracestate: vendor=x", NULL};
    assert_int_equal(plain_get("/hop", in), 200);
    sleep_ms(200);
    assert_int_equal(stitch_memory_processor_count(mem), 0); /* nothing recorded */
    const char *tp = hdr("/ok", "traceparent");
    assert_non_null(tp);
    assert_int_equal(strlen(tp), 55);
    assert_memory_equal(tp, "00-0af7651916cd43dd8448eb211c80319c-", 36);
    assert_string_equal(tp + 52, "-00");
    assert_memory_not_equal(tp + 36, "b7ad6b7169203331", 16);
    assert_memory_not_equal(tp + 36, "0000000000000000", 16);
    assert_string_equal(hdr("/ok", "tracestate"), "vendor=x");
    /* The handler still had a context to hand on (unsampled, valid). */
    const struct rec *r = last_rec("/hop");
    assert_true(stitch_span_ctx_valid(&r->ctx));
    assert_false(stitch_span_ctx_sampled(&r->ctx));
}

static void test_adapters_multi_interface(void **state)
{
    (void)state;
    CURLM *m = curl_multi_init();
    CURL *e[2];
    stitch_curl_call_t *calls[2];
    char urls[2][128];
    stitch_ctx_t root = STITCH_CTX_INIT;
    for (int i = 0; i < 2; i++) {
        e[i] = easy_new();
        url_of(urls[i], sizeof urls[i], i ? "/users/2" : "/users/1");
        stitch_curl_opts_t o = {.url = urls[i], .parent = &root};
        assert_int_equal(stitch_curl_begin(e[i], &o, &calls[i]), 0);
        assert_true(stitch_span_is_recording(stitch_curl_call_span(calls[i])));
        curl_multi_add_handle(m, e[i]);
    }
    int running = 1, done = 0;
    while (done < 2) {
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            int i = msg->easy_handle == e[0] ? 0 : 1;
            stitch_curl_finish(calls[i], msg->data.result);
            curl_multi_remove_handle(m, e[i]);
            done++;
        }
        if (done < 2)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    wait_spans(4);
    const stitch_span_data_t *c0 = span_of(STITCH_SPAN_KIND_CLIENT, 0);
    const stitch_span_data_t *c1 = span_of(STITCH_SPAN_KIND_CLIENT, 1);
    assert_memory_not_equal(c0->ctx.trace_id, c1->ctx.trace_id, 16); /* two roots */
    for (int i = 0; i < 2; i++) {
        const stitch_span_data_t *c = i ? c1 : c0;
        const char *path = strstr(stitch_span_data_attr(c, "url.full")->u.str, "/users/");
        const stitch_span_data_t *s = span_named_path(path);
        assert_memory_equal(s->parent_span_id, c->ctx.span_id, 8);
        assert_attr_int(c, "http.response.status_code", 200);
        char tp[56];
        traceparent_of(&c->ctx, tp);
        assert_string_equal(hdr(path, "traceparent"), tp);
        curl_easy_cleanup(e[i]);
    }
    curl_multi_cleanup(m);
}

static void test_adapters_carrier_repeated_headers(void **state)
{
    (void)state;
    static const char *const in[] = {"TraceState: a=1", "tracestate: b=2", "X-Other: z",
                                     "TRACESTATE: c=3", NULL};
    assert_int_equal(plain_get("/carrier", in), 200);
    const struct rec *r = last_rec("/carrier");
    assert_int_equal(r->carrier_n, 3);
    assert_string_equal(r->carrier_vals[0], "a=1");
    assert_string_equal(r->carrier_vals[1], "b=2");
    assert_string_equal(r->carrier_vals[2], "c=3");
    wait_spans(1);
}

/* ---- fixture ------------------------------------------------------------------------------- */

static int setup(void **state)
{
    (void)state;
    pthread_mutex_lock(&lock);
    nrecs = 0;
    pthread_mutex_unlock(&lock);
    stitch_memory_processor_clear(mem);
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -1;
    stitch_provider_opts_t po = {.no_env = true};
    if (stitch_provider_new(&provider, &po) != 0)
        return -1;
    mem = stitch_memory_processor_new(0);
    if (!mem || stitch_provider_add_processor(provider, mem) != 0)
        return -1;
    stitch_set_global_provider(provider); /* the adapters' default tracers */
    stitch_mhd_opts_t mo = {.handler = handler,
                            .propagator = stitch_propagator_get(STITCH_PROP_TRACECONTEXT)};
    if (stitch_mhd_new(&mo, &tm) != 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    daemon_ = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
                               NULL, NULL, &stitch_mhd_access, tm, MHD_OPTION_SOCK_ADDR,
                               (struct sockaddr *)&sa, STITCH_MHD_NOTIFY_COMPLETED(tm),
                               MHD_OPTION_END);
    if (!daemon_)
        return -1;
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
    if (!di || !di->port)
        return -1;
    port = di->port;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    MHD_stop_daemon(daemon_);
    stitch_mhd_free(tm);
    stitch_set_global_provider(NULL);
    stitch_provider_free(provider);
    curl_global_cleanup();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_adapters_client_server_spans, setup),
        cmocka_unit_test_setup(test_adapters_user_traceparent_replaced, setup),
        cmocka_unit_test_setup(test_adapters_server_error_status, setup),
        cmocka_unit_test_setup(test_adapters_connection_refused, setup),
        cmocka_unit_test_setup(test_adapters_client_abort, setup),
        cmocka_unit_test_setup(test_adapters_tracestate_downstream, setup),
        cmocka_unit_test_setup(test_adapters_no_context_new_trace, setup),
        cmocka_unit_test_setup(test_adapters_unsampled_parent, setup),
        cmocka_unit_test_setup(test_adapters_multi_interface, setup),
        cmocka_unit_test_setup(test_adapters_carrier_repeated_headers, setup),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
