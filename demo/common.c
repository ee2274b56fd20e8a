/* The demo services' shared plumbing (demo/common.h). Invariant: a route
 * runs exactly once per request, on MHD's thread for that connection, with
 * the request's SERVER span current — so every span a route starts, and
 * every call it makes through demo_call, belongs to the request's trace. */
#include "common.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <curl/curl.h>
#include <jansson.h>

#include "stitch/instrument/curl.h"

#define MAX_BODY (1u << 20)
#define CALL_TIMEOUT_MS 10000L

static struct {
    demo_opts_t *o;
    demo_route_fn route;
    void *arg;
    struct MHD_Daemon *d;
    stitch_mhd_t *tm;
    sigset_t sigs;
} g;

struct body {
    char *buf;
    size_t len;
    bool too_big;
};

/* ---- flags ------------------------------------------------------------------- */

const char *demo_flag(int argc, char **argv, const char *name, const char *def)
{
    size_t n = strlen(name);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], name) == 0 && i + 1 < argc)
            return argv[i + 1];
        if (strncmp(argv[i], name, n) == 0 && argv[i][n] == '=')
            return argv[i] + n + 1;
    }
    return def;
}

bool demo_has_flag(int argc, char **argv, const char *name)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return true;
    return false;
}

static void log_to_stderr(void *arg, stitch_log_level_t level, const char *msg)
{
    const char *name = arg;
    if (level <= STITCH_LOG_WARN)
        fprintf(stderr, "%s: stitch: %s\n", name, msg);
}

void demo_init(demo_opts_t *o, const char *name, int default_port, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    o->name = name;
    const char *p = demo_flag(argc, argv, "--port", NULL);
    o->port = default_port;
    if (p) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (errno || !*p || *end || v < 0 || v > 65535) {
            fprintf(stderr, "%s: bad --port '%s'\n", name, p);
            exit(2);
        }
        o->port = (int)v;
    }
    o->any_port = demo_has_flag(argc, argv, "--any-port");
    o->ready_file = demo_flag(argc, argv, "--ready-file", NULL);
    o->fail = demo_has_flag(argc, argv, "--fail");

    /* The program's name is its default service name; OTEL_SERVICE_NAME
     * (or service.name in OTEL_RESOURCE_ATTRIBUTES) still wins. */
    setenv("OTEL_SERVICE_NAME", name, 0);
    stitch_set_logger(log_to_stderr, (void *)name);
    if (stitch_init_from_env(NULL) != 0) {
        fprintf(stderr, "%s: cannot set up tracing (out of memory)\n", name);
        exit(1);
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "%s: curl_global_init failed\n", name);
        exit(1);
    }
    /* SIGINT/SIGTERM go to demo_wait(); every thread started from now on
     * (MHD's, the exporter's, nats.c's) inherits the mask. */
    sigemptyset(&g.sigs);
    sigaddset(&g.sigs, SIGINT);
    sigaddset(&g.sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &g.sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
}

stitch_tracer_t *demo_tracer(void)
{
    return stitch_global_tracer(DEMO_SCOPE, STITCH_VERSION_STRING);
}

char *demo_json_error(const char *msg)
{
    json_t *j = json_pack("{s:s}", "error", msg ? msg : "error");
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return s;
}

/* ---- serving ------------------------------------------------------------------ */

static enum MHD_Result send_resp(struct MHD_Connection *c, demo_resp_t *r)
{
    const char *body = r->body ? r->body : "";
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    free(r->body);
    r->body = NULL;
    if (!resp)
        return MHD_NO;
    (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                  r->content_type ? r->content_type : "application/json");
    stitch_mhd_req_t *tr = stitch_mhd_current();
    if (r->traceresponse && tr) {
        /* W3C Trace Context Level 2: tells the caller (the browser, run.sh)
         * which trace its request started. */
        stitch_span_ctx_t sc = stitch_span_context(stitch_mhd_span(tr));
        char tp[STITCH_TRACEPARENT_LEN + 1];
        stitch_traceparent_format(&sc, tp);
        (void)MHD_add_response_header(resp, "traceresponse", tp);
        (void)MHD_add_response_header(resp, "Access-Control-Expose-Headers", "traceresponse");
    }
    enum MHD_Result ret = MHD_queue_response(c, r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *size, void **req_cls)
{
    (void)cls, (void)version;
    struct body *b = *req_cls;
    if (!b) {
        if (!(b = calloc(1, sizeof *b)))
            return MHD_NO;
        *req_cls = b;
        return MHD_YES;
    }
    if (*size) {
        if (b->len + *size > MAX_BODY) {
            b->too_big = true;
        } else if (!b->too_big) {
            char *nb = realloc(b->buf, b->len + *size + 1);
            if (!nb)
                return MHD_NO;
            memcpy(nb + b->len, data, *size);
            b->buf = nb;
            b->len += *size;
            b->buf[b->len] = '\0';
        }
        *size = 0;
        return MHD_YES;
    }
    demo_resp_t r = {.status = 500};
    if (b->too_big) {
        r.status = 413;
        r.body = demo_json_error("body too large");
        return send_resp(c, &r);
    }
    demo_req_t q = {.method = method, .url = url, .body = b->buf ? b->buf : "",
                    .body_len = b->len, .conn = c, .traced = stitch_mhd_current()};
    g.route(g.arg, &q, &r);
    return send_resp(c, &r);
}

static void done(void *cls, struct MHD_Connection *c, void **req_cls,
                 enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    struct body *b = *req_cls;
    if (b) {
        free(b->buf);
        free(b);
        *req_cls = NULL;
    }
}

static struct MHD_Daemon *start_on(int port)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
                            (uint16_t)port, NULL, NULL, &stitch_mhd_access, g.tm,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                            STITCH_MHD_NOTIFY_COMPLETED(g.tm), MHD_OPTION_CONNECTION_TIMEOUT,
                            30u, MHD_OPTION_END);
}

int demo_serve(demo_opts_t *o, demo_route_fn route, void *arg)
{
    g.o = o;
    g.route = route;
    g.arg = arg;
    stitch_mhd_opts_t mo = {.handler = handle, .completed = done, .tracer = NULL};
    if (stitch_mhd_new(&mo, &g.tm) != 0) {
        fprintf(stderr, "%s: out of memory\n", o->name);
        return -1;
    }
    g.d = start_on(o->port);
    if (!g.d && o->any_port && o->port != 0) {
        fprintf(stderr, "%s: port %d is taken; using a free one\n", o->name, o->port);
        g.d = start_on(0);
    }
    if (!g.d) {
        fprintf(stderr, "%s: cannot listen on 127.0.0.1:%d\n", o->name, o->port);
        return -1;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(g.d, MHD_DAEMON_INFO_BIND_PORT);
    unsigned port = di ? di->port : (unsigned)o->port;
    o->port = (int)port;
    if (o->ready_file) {
        char tmp[4096];
        int n = snprintf(tmp, sizeof tmp, "%s.tmp", o->ready_file);
        FILE *f = (n > 0 && (size_t)n < sizeof tmp) ? fopen(tmp, "w") : NULL;
        if (!f || fprintf(f, "url=http://127.0.0.1:%u\n", port) < 0 || fclose(f) != 0 ||
            rename(tmp, o->ready_file) != 0) {
            fprintf(stderr, "%s: cannot write %s\n", o->name, o->ready_file);
            return -1;
        }
    }
    return 0;
}

void demo_wait(void)
{
    int sig = 0;
    sigwait(&g.sigs, &sig);
}

void demo_shutdown(void)
{
    if (g.d)
        MHD_stop_daemon(g.d);
    g.d = NULL;
    stitch_mhd_free(g.tm);
    g.tm = NULL;
    (void)stitch_shutdown(5000);
    curl_global_cleanup();
}

/* ---- calling --------------------------------------------------------------------- */

struct sink {
    char *buf;
    size_t len;
};

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    struct sink *s = ud;
    size_t add = size * n;
    if (s->len + add > MAX_BODY)
        return 0;
    char *nb = realloc(s->buf, s->len + add + 1);
    if (!nb)
        return 0;
    memcpy(nb + s->len, p, add);
    s->buf = nb;
    s->len += add;
    s->buf[s->len] = '\0';
    return add;
}

unsigned demo_call(const char *method, const char *url, const char *body, char **out, char *errbuf,
                   size_t errlen)
{
    *out = NULL;
    CURL *easy = curl_easy_init();
    if (!easy) {
        snprintf(errbuf, errlen, "curl_easy_init failed");
        return 0;
    }
    struct sink s = {0};
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, CALL_TIMEOUT_MS);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
    struct curl_slist *hdrs = NULL, *t;
    if (body) {
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
        if ((t = curl_slist_append(hdrs, "Content-Type: application/json")))
            hdrs = t;
        if ((t = curl_slist_append(hdrs, "Expect:")))
            hdrs = t;
    }
    stitch_curl_opts_t co = {.url = url, .method = method, .headers = hdrs};
    CURLcode rc = stitch_curl_perform(easy, &co);
    long status = 0;
    if (rc == CURLE_OK)
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    else
        snprintf(errbuf, errlen, "%s: %s", url, curl_easy_strerror(rc));
    curl_easy_cleanup(easy);
    curl_slist_free_all(hdrs);
    *out = s.buf;
    return (unsigned)status;
}

void demo_forward(const char *url, const char *body, demo_resp_t *resp)
{
    char err[256] = "", *out = NULL;
    unsigned st = demo_call("POST", url, body, &out, err, sizeof err);
    if (st == 0) {
        resp->status = 502;
        resp->body = demo_json_error(err);
        free(out);
    } else {
        resp->status = st >= 500 ? 502 : st;
        resp->body = out;
    }
}
