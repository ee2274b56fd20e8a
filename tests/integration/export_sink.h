/* tests/integration/export_sink.h — a stand-in collector for the exporter
 * tests: a real libmicrohttpd server on 127.0.0.1 (port chosen by the
 * kernel, or a given one to come back on) that records every request
 * (method, path, headers, body, arrival time) and answers from a script
 * (status, Retry-After, body), then as its mode says: 200, a fixed answer,
 * never (a hung collector), or a response cut off mid-body. It can speak
 * HTTPS (GnuTLS through libmicrohttpd), optionally asking for a client
 * certificate that a test-supplied check verifies. Plus helpers to decode
 * what it received (protobuf-c, zlib) and to run child processes with a
 * deadline. Included by test_export_*.c and test_cli_*.c only. */
#ifndef STITCH_TEST_EXPORT_SINK_H
#define STITCH_TEST_EXPORT_SINK_H

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

#define SINK_UNUSED __attribute__((unused))
#define SINK_MAX_REQS 256
#define SINK_MAX_HDRS 24
#define SINK_MAX_SCRIPT 8

typedef struct sink_req {
    char method[16];
    char path[256];
    size_t nh;
    char hname[SINK_MAX_HDRS][64];
    char hval[SINK_MAX_HDRS][256];
    uint8_t *body;
    size_t len;
    uint64_t t_ns; /* CLOCK_MONOTONIC when the request arrived */
    unsigned client_port; /* tells connections apart: keep-alive reuses one */
    int client_cert; /* with a client check: 1 verified, 0 not; -1 no check */
} sink_req_t;

typedef struct sink_answer {
    unsigned status;
    const char *retry_after; /* NULL: none */
    const void *body;
    size_t len;
    const char *ctype;
    unsigned delay_ms; /* answer this late (the server stays responsive meanwhile) */
} sink_answer_t;

/* What the sink does once its script is used up. */
typedef enum sink_mode {
    SINK_ANSWER, /* the mode's answer (200 and an empty body unless set) */
    SINK_HANG,   /* read the request, never answer (until sink_stop) */
    SINK_CUT,    /* announce a 1000-byte body, send 10 bytes, close the connection */
} sink_mode_t;

/* HTTPS: PEM texts (borrowed until sink_stop). trust: CAs a client
 * certificate must chain to; non-NULL makes the server ask for one, and
 * client_ok (if set) is called per request to say whether one was presented
 * and verified — a request without answers 403. */
typedef struct sink_tls {
    const char *cert, *key, *trust;
    int (*client_ok)(struct MHD_Connection *c);
} sink_tls_t;

static struct {
    struct MHD_Daemon *d;
    unsigned port;
    bool tls;
    int (*client_ok)(struct MHD_Connection *c);
    pthread_mutex_t mu;
    pthread_cond_t cv; /* wakes hung requests at sink_stop */
    bool stopping;
    sink_req_t reqs[SINK_MAX_REQS];
    size_t n;
    sink_answer_t script[SINK_MAX_SCRIPT];
    size_t nscript, pos;
    sink_mode_t mode;
    sink_answer_t mode_answer;
    char auth[256]; /* non-empty: the Authorization value required, else 401 */
    size_t arrived; /* requests whose headers came in (sink.n counts complete ones) */
} sink = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static enum MHD_Result sink_hdr(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *val)
{
    sink_req_t *r = cls;
    (void)kind;
    if (r->nh < SINK_MAX_HDRS) {
        snprintf(r->hname[r->nh], sizeof r->hname[0], "%s", key);
        snprintf(r->hval[r->nh], sizeof r->hval[0], "%s", val ? val : "");
        r->nh++;
    }
    return MHD_YES;
}

/* SINK_CUT: 10 bytes of the announced 1000, then an error: MHD closes the
 * connection mid-body. */
static ssize_t sink_cut_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)cls;
    if (pos >= 10 || max < 10)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    memcpy(buf, "\x0a\x08garbage", 10);
    return 10;
}

static enum MHD_Result sink_handler(void *cls, struct MHD_Connection *c, const char *url,
                                    const char *method, const char *version,
                                    const char *upload, size_t *upload_size, void **con_cls)
{
    (void)cls, (void)version;
    sink_req_t *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        r->t_ns = mono_ns();
        r->client_cert = sink.client_ok ? sink.client_ok(c) : -1;
        snprintf(r->method, sizeof r->method, "%s", method);
        snprintf(r->path, sizeof r->path, "%s", url);
        MHD_get_connection_values(c, MHD_HEADER_KIND, sink_hdr, r);
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
            r->client_port = ntohs(((const struct sockaddr_in *)ci->client_addr)->sin_port);
        *con_cls = r;
        pthread_mutex_lock(&sink.mu);
        sink.arrived++;
        pthread_mutex_unlock(&sink.mu);
        return MHD_YES;
    }
    if (*upload_size) {
        uint8_t *nb = realloc(r->body, r->len + *upload_size);
        if (!nb)
            return MHD_NO;
        memcpy(nb + r->len, upload, *upload_size);
        r->body = nb;
        r->len += *upload_size;
        *upload_size = 0;
        return MHD_YES;
    }
    /* the whole request is in: record it and answer */
    sink_answer_t a = {200, NULL, "", 0, "application/x-protobuf", 0};
    sink_mode_t mode = SINK_ANSWER;
    static const char denied[] = "client certificate required";
    if (r->client_cert == 0)
        a = (sink_answer_t){403, NULL, denied, sizeof denied - 1, "text/plain", 0};
    static const char unauth[] = "{\"errors\":[{\"code\":401,\"msg\":\"unauthorized\"}]}";
    pthread_mutex_lock(&sink.mu);
    bool authorized = !sink.auth[0];
    for (size_t i = 0; !authorized && i < r->nh; i++)
        authorized = strcasecmp(r->hname[i], "Authorization") == 0 &&
                     strcmp(r->hval[i], sink.auth) == 0;
    if (!authorized)
        a = (sink_answer_t){401, NULL, unauth, sizeof unauth - 1, "application/json", 0};
    if (r->client_cert == 0 || !authorized)
        ;
    else if (sink.pos < sink.nscript)
        a = sink.script[sink.pos++];
    else if ((mode = sink.mode) == SINK_ANSWER)
        a = sink.mode_answer;
    if (sink.n < SINK_MAX_REQS) {
        sink.reqs[sink.n++] = *r;
        r->body = NULL;
    }
    if (mode == SINK_HANG) /* this connection's own thread waits for sink_stop */
        while (!sink.stopping)
            pthread_cond_wait(&sink.cv, &sink.mu);
    pthread_mutex_unlock(&sink.mu);
    free(r->body);
    free(r);
    *con_cls = NULL;
    if (mode == SINK_HANG)
        return MHD_NO; /* close without an answer */
    if (mode == SINK_CUT) {
        struct MHD_Response *cut = MHD_create_response_from_callback(1000, 64, sink_cut_reader,
                                                                     NULL, NULL);
        if (!cut)
            return MHD_NO;
        enum MHD_Result ret = MHD_queue_response(c, 200, cut);
        MHD_destroy_response(cut);
        return ret;
    }
    if (a.delay_ms)
        usleep(a.delay_ms * 1000u); /* this connection's own thread */
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(a.len, (void *)a.body, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", a.ctype ? a.ctype : "application/x-protobuf");
    if (a.retry_after)
        MHD_add_response_header(resp, "Retry-After", a.retry_after);
    if (a.status == 401)
        MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
    enum MHD_Result ret = MHD_queue_response(c, a.status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void sink_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                           enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    sink_req_t *r = *con_cls;
    if (r) {
        free(r->body);
        free(r);
        *con_cls = NULL;
    }
}

/* Start on `port` (0: one the kernel picks) over HTTP, or HTTPS when `tls`
 * is given. 0, or -1 when the server cannot start. */
SINK_UNUSED static int sink_start_on(unsigned port, const sink_tls_t *tls)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)port);
    sink.n = sink.nscript = sink.pos = sink.arrived = 0;
    sink.mode = SINK_ANSWER;
    sink.mode_answer = (sink_answer_t){200, NULL, "", 0, "application/x-protobuf", 0};
    sink.stopping = false;
    sink.auth[0] = '\0';
    sink.tls = tls != NULL;
    sink.client_ok = tls && tls->trust ? tls->client_ok : NULL;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION;
    if (!tls)
        sink.d = MHD_start_daemon(flags, 0, NULL, NULL, sink_handler, NULL, MHD_OPTION_SOCK_ADDR,
                                  &sa, MHD_OPTION_NOTIFY_COMPLETED, sink_completed, NULL,
                                  MHD_OPTION_END);
    else if (!tls->trust)
        sink.d = MHD_start_daemon(flags | MHD_USE_TLS, 0, NULL, NULL, sink_handler, NULL,
                                  MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_NOTIFY_COMPLETED,
                                  sink_completed, NULL, MHD_OPTION_HTTPS_MEM_KEY, tls->key,
                                  MHD_OPTION_HTTPS_MEM_CERT, tls->cert, MHD_OPTION_END);
    else
        sink.d = MHD_start_daemon(flags | MHD_USE_TLS, 0, NULL, NULL, sink_handler, NULL,
                                  MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_NOTIFY_COMPLETED,
                                  sink_completed, NULL, MHD_OPTION_HTTPS_MEM_KEY, tls->key,
                                  MHD_OPTION_HTTPS_MEM_CERT, tls->cert,
                                  MHD_OPTION_HTTPS_MEM_TRUST, tls->trust, MHD_OPTION_END);
    if (!sink.d)
        return -1;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(sink.d, MHD_DAEMON_INFO_BIND_PORT);
    sink.port = info ? info->port : 0;
    return sink.port ? 0 : -1;
}

SINK_UNUSED static int sink_start(void)
{
    return sink_start_on(0, NULL);
}

/* Stop listening (connections to the port are refused from now on), end
 * hung requests, and forget what arrived. sink.port keeps its value, for
 * sink_start_on() to come back on. */
SINK_UNUSED static void sink_stop(void)
{
    pthread_mutex_lock(&sink.mu);
    sink.stopping = true;
    pthread_cond_broadcast(&sink.cv);
    pthread_mutex_unlock(&sink.mu);
    if (sink.d)
        MHD_stop_daemon(sink.d);
    sink.d = NULL;
    for (size_t i = 0; i < sink.n; i++)
        free(sink.reqs[i].body);
    sink.n = sink.nscript = sink.pos = sink.arrived = 0;
}

/* Answer 401 to requests whose Authorization header is not exactly
 * `value` (NULL: no check). */
SINK_UNUSED static void sink_require_auth(const char *value)
{
    pthread_mutex_lock(&sink.mu);
    snprintf(sink.auth, sizeof sink.auth, "%s", value ? value : "");
    pthread_mutex_unlock(&sink.mu);
}

/* What to do after the script: SINK_ANSWER with `a` (NULL: 200, empty),
 * SINK_HANG or SINK_CUT. */
SINK_UNUSED static void sink_set_mode(sink_mode_t mode, const sink_answer_t *a)
{
    pthread_mutex_lock(&sink.mu);
    sink.mode = mode;
    sink.mode_answer = a ? *a : (sink_answer_t){200, NULL, "", 0, "application/x-protobuf", 0};
    pthread_mutex_unlock(&sink.mu);
}

/* Answers for the next requests, in order; afterwards 200 with an empty body. */
SINK_UNUSED static void sink_script(const sink_answer_t *a, size_t n)
{
    pthread_mutex_lock(&sink.mu);
    for (size_t i = 0; i < n && i < SINK_MAX_SCRIPT; i++)
        sink.script[i] = a[i];
    sink.nscript = n;
    sink.pos = 0;
    pthread_mutex_unlock(&sink.mu);
}

SINK_UNUSED static size_t sink_count(void)
{
    pthread_mutex_lock(&sink.mu);
    size_t n = sink.n;
    pthread_mutex_unlock(&sink.mu);
    return n;
}

SINK_UNUSED static size_t sink_arrived(void)
{
    pthread_mutex_lock(&sink.mu);
    size_t n = sink.arrived;
    pthread_mutex_unlock(&sink.mu);
    return n;
}

/* Wait until at least n requests arrived; the count then. */
SINK_UNUSED static size_t sink_wait(size_t n, unsigned timeout_ms)
{
    uint64_t end = mono_ns() + (uint64_t)timeout_ms * 1000000ull;
    while (sink_count() < n && mono_ns() < end)
        usleep(5000);
    return sink_count();
}

SINK_UNUSED static const char *sink_header(const sink_req_t *r, const char *name)
{
    for (size_t i = 0; i < r->nh; i++)
        if (strcasecmp(r->hname[i], name) == 0)
            return r->hval[i];
    return NULL;
}

SINK_UNUSED static char *sink_url(char *buf, size_t n, const char *path)
{
    snprintf(buf, n, "%s://127.0.0.1:%u%s", sink.tls ? "https" : "http", sink.port, path);
    return buf;
}

/* A port nothing listens on: bound by us, then closed. */
SINK_UNUSED static unsigned dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) ||
        getsockname(fd, (struct sockaddr *)&sa, &sl)) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    close(fd);
    return ntohs(sa.sin_port);
}

/* ---- TLS material ---- */

#ifdef STITCH_SOURCE_DIR
/* Throwaway certificates from tests/integration/tls_certs.sh in a fresh
 * temporary directory: paths, and the PEM texts the server needs. */
typedef struct sink_certs {
    char dir[64];
    char ca[128], other_ca[128], client_cert[128], client_key[128];
    char *server_cert, *server_key, *ca_text; /* malloc'd PEM texts */
} sink_certs_t;

static char *sink_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = calloc(1, 65536);
    size_t n = buf ? fread(buf, 1, 65535, f) : 0;
    fclose(f);
    if (buf && n == 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* 0, or -1 (with a line on stderr) when openssl or the files fail. */
SINK_UNUSED static int sink_certs_make(sink_certs_t *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->dir, sizeof c->dir, "/tmp/stitch-tls.XXXXXX");
    if (!mkdtemp(c->dir))
        return -1;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "sh '%s/tests/integration/tls_certs.sh' '%s'", STITCH_SOURCE_DIR,
             c->dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "cannot make the test certificates (is openssl installed?)\n");
        return -1;
    }
    snprintf(c->ca, sizeof c->ca, "%s/ca.pem", c->dir);
    snprintf(c->other_ca, sizeof c->other_ca, "%s/other-ca.pem", c->dir);
    snprintf(c->client_cert, sizeof c->client_cert, "%s/client.pem", c->dir);
    snprintf(c->client_key, sizeof c->client_key, "%s/client.key", c->dir);
    char p[128];
    snprintf(p, sizeof p, "%s/server.pem", c->dir);
    c->server_cert = sink_slurp(p);
    snprintf(p, sizeof p, "%s/server.key", c->dir);
    c->server_key = sink_slurp(p);
    c->ca_text = sink_slurp(c->ca);
    return c->server_cert && c->server_key && c->ca_text ? 0 : -1;
}

/* Free the texts and remove the directory. */
SINK_UNUSED static int sink_certs_free(sink_certs_t *c)
{
    free(c->server_cert);
    free(c->server_key);
    free(c->ca_text);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", c->dir);
    return c->dir[0] && system(cmd) == 0 ? 0 : -1;
}
#endif

/* ---- decoding what arrived ---- */

/* The body, gunzipped when Content-Encoding says gzip; malloc'd. */
SINK_UNUSED static uint8_t *sink_body(const sink_req_t *r, size_t *len)
{
    const char *ce = sink_header(r, "Content-Encoding");
    if (!ce || strcasecmp(ce, "gzip") != 0) {
        uint8_t *b = malloc(r->len + 1);
        if (b) {
            if (r->len)
                memcpy(b, r->body, r->len);
            b[r->len] = 0;
        }
        *len = r->len;
        return b;
    }
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 16) != Z_OK)
        return NULL;
    size_t cap = r->len * 8 + 1024, n = 0;
    uint8_t *out = malloc(cap + 1);
    z.next_in = r->body;
    z.avail_in = (uInt)r->len;
    int rc;
    do {
        if (n == cap) {
            cap *= 2;
            out = realloc(out, cap + 1);
        }
        z.next_out = out + n;
        z.avail_out = (uInt)(cap - n);
        rc = inflate(&z, Z_NO_FLUSH);
        n = cap - z.avail_out;
    } while (rc == Z_OK);
    inflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    out[n] = 0;
    *len = n;
    return out;
}

typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest pb_req_t;
typedef Opentelemetry__Proto__Trace__V1__Span pb_span_t;
typedef Opentelemetry__Proto__Resource__V1__Resource pb_resource_t;
typedef Opentelemetry__Proto__Common__V1__AnyValue pb_value_t;
typedef Opentelemetry__Proto__Common__V1__KeyValue pb_kv_t;

SINK_UNUSED static pb_req_t *sink_decode_pb(const sink_req_t *r)
{
    size_t n;
    uint8_t *b = sink_body(r, &n);
    if (!b)
        return NULL;
    pb_req_t *req = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
        NULL, n, b);
    free(b);
    return req;
}

SINK_UNUSED static void pb_free(pb_req_t *r)
{
    if (r)
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(
            r, NULL);
}

SINK_UNUSED static size_t pb_count(const pb_req_t *r, const char *name)
{
    size_t c = 0;
    for (size_t i = 0; r && i < r->n_resource_spans; i++)
        for (size_t j = 0; j < r->resource_spans[i]->n_scope_spans; j++)
            for (size_t k = 0; k < r->resource_spans[i]->scope_spans[j]->n_spans; k++)
                if (!name || strcmp(r->resource_spans[i]->scope_spans[j]->spans[k]->name, name) == 0)
                    c++;
    return c;
}

/* The first span called `name`, and its resource. */
SINK_UNUSED static const pb_span_t *pb_find(const pb_req_t *r, const char *name,
                                            const pb_resource_t **res)
{
    for (size_t i = 0; r && i < r->n_resource_spans; i++)
        for (size_t j = 0; j < r->resource_spans[i]->n_scope_spans; j++)
            for (size_t k = 0; k < r->resource_spans[i]->scope_spans[j]->n_spans; k++) {
                const pb_span_t *s = r->resource_spans[i]->scope_spans[j]->spans[k];
                if (strcmp(s->name, name) == 0) {
                    if (res)
                        *res = r->resource_spans[i]->resource;
                    return s;
                }
            }
    return NULL;
}

SINK_UNUSED static const pb_value_t *pb_attr(pb_kv_t *const *kv, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(kv[i]->key, key) == 0)
            return kv[i]->value;
    return NULL;
}

SINK_UNUSED static const char *pb_str(const pb_value_t *v)
{
    return v && v->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE
               ? v->string_value : NULL;
}

SINK_UNUSED static int64_t pb_int(const pb_value_t *v)
{
    return v && v->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE
               ? v->int_value : INT64_MIN;
}

/* ---- child processes ---- */

/* Wait for `pid` at most timeout_ms, killing it past that; its exit status
 * (or -1 when it had to be killed or did not exit normally). */
SINK_UNUSED static int wait_child(pid_t pid, unsigned timeout_ms)
{
    uint64_t end = mono_ns() + (uint64_t)timeout_ms * 1000000ull;
    int st;
    for (;;) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        if (w < 0)
            return -1;
        if (mono_ns() >= end) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -1;
        }
        usleep(5000);
    }
}

/* Every OTEL_* / STITCH_* variable the exporters and processors read. */
SINK_UNUSED static void clear_env(void)
{
    static const char *vars[] = {
        "OTEL_TRACES_EXPORTER", "OTEL_SDK_DISABLED", "OTEL_SERVICE_NAME",
        "OTEL_RESOURCE_ATTRIBUTES", "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_HEADERS",
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_COMPRESSION",
        "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_TIMEOUT",
        "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_ZIPKIN_ENDPOINT",
        "OTEL_EXPORTER_ZIPKIN_TIMEOUT", "OTEL_BSP_SCHEDULE_DELAY", "OTEL_BSP_EXPORT_TIMEOUT",
        "OTEL_BSP_MAX_QUEUE_SIZE", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "OTEL_TRACES_SAMPLER",
        "OTEL_TRACES_SAMPLER_ARG", "OTEL_EXPORTER_OTLP_CERTIFICATE",
        "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
        "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", "OTEL_EXPORTER_OTLP_CLIENT_KEY",
        "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY",
    };
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
}

#endif
