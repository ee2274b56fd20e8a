/* sdk/otlp.c — the OTLP/HTTP exporter: encodes a batch as an
 * ExportTraceServiceRequest (protobuf or JSON, wire/), POSTs it through
 * sdk/http.c, and reads the partial-success answer.
 *
 * Configuration follows the OpenTelemetry exporter specification exactly:
 * OTEL_EXPORTER_OTLP_TRACES_* wins over OTEL_EXPORTER_OTLP_*, the signal
 * endpoint is used as is while the generic one gets "/v1/traces"; an
 * invalid variable is logged and ignored, never fatal.
 * Invariant: the encode buffer is reused across exports and bounded
 * (ENCODE_MAX); a batch that does not fit is split in halves, and only a
 * single span too large for the bound is dropped (and logged). */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sdk/http.h"
#include "sdk/internal.h"
#include "stitch/export.h"
#include "wire/wire.h"

#define ENCODE_MAX (64u * 1024 * 1024)
#define DEFAULT_ENDPOINT "http://localhost:4318/v1/traces"
#define DEFAULT_TIMEOUT_MS 10000u
#define MAX_HEADERS 64

struct otlp {
    stitch__http_t *http;
    stitch_buf_t buf;
    atomic_bool busy; /* in an export: a fork now may catch buf mid-update */
    bool json;
    uint32_t timeout_ms;
};

/* ---- export ---- */

static int send_batch(struct otlp *o, const stitch_span_data_t *const *spans, size_t n,
                      uint64_t deadline_ns)
{
    stitch_buf_reset(&o->buf);
    int rc = o->json ? stitch_wire_otlp_json_encode(spans, n, &o->buf)
                     : stitch_wire_otlp_proto_encode(spans, n, &o->buf);
    if (rc == STITCH_ELIMIT && n > 1) {
        /* Too big for one request: send it in halves. */
        size_t half = n / 2;
        int a = send_batch(o, spans, half, deadline_ns);
        int b = send_batch(o, spans + half, n - half, deadline_ns);
        return a ? a : b;
    }
    if (rc) {
        stitch__log(STITCH_LOG_ERROR, "otlp exporter: cannot encode %zu span(s)%s: %s", n,
                    rc == STITCH_ELIMIT ? " (one span is larger than the 64 MB request limit)" : "",
                    stitch_strerror(rc));
        stitch_buf_reset(&o->buf);
        return rc;
    }
    stitch__http_result_t res;
    rc = stitch__http_post(o->http, o->buf.data, o->buf.len, deadline_ns, &res);
    if (rc)
        return rc;
    /* 200 with a partial success: the rejected spans must not be retried,
     * only reported. */
    int64_t rejected = 0;
    char msg[256];
    if (stitch_wire_otlp_response_decode(res.body, res.body_len, o->json, &rejected, msg,
                                         sizeof msg) != STITCH_OK) {
        stitch__log(STITCH_LOG_DEBUG, "otlp exporter: the %ld answer's body is not an "
                    "ExportTraceServiceResponse; taking it as success", res.status);
        return STITCH_OK;
    }
    if (rejected > 0 || msg[0])
        stitch__log(STITCH_LOG_WARN, "otlp exporter: partial success: the collector rejected "
                    "%lld of %zu span(s): %s", (long long)rejected, n, msg[0] ? msg : "(no message)");
    return STITCH_OK;
}

static int otlp_export(void *self, const stitch_span_data_t *const *spans, size_t n,
                       uint32_t timeout_ms)
{
    struct otlp *o = self;
    if (n == 0)
        return STITCH_OK;
    /* OTEL_EXPORTER_OTLP_TIMEOUT bounds each export, whatever the caller allows. */
    uint32_t t = timeout_ms && timeout_ms < o->timeout_ms ? timeout_ms : o->timeout_ms;
    atomic_store(&o->busy, true);
    int rc = send_batch(o, spans, n, stitch__mono_ns() + (uint64_t)t * 1000000u);
    atomic_store(&o->busy, false);
    return rc;
}

static int otlp_shutdown(void *self, uint32_t timeout_ms)
{
    (void)timeout_ms;
    struct otlp *o = self;
    stitch__http_cancel(o->http);
    return STITCH_OK;
}

static void otlp_after_fork_child(void *self)
{
    struct otlp *o = self;
    if (atomic_load(&o->busy)) { /* leave a buffer that may be half-grown */
        stitch__http_abandon(o->buf.data);
        o->buf = (stitch_buf_t)STITCH_BUF_INIT(ENCODE_MAX);
        atomic_store(&o->busy, false);
    }
    stitch_buf_reset(&o->buf);
    stitch__http_after_fork_child(o->http);
}

static void otlp_destroy(void *self)
{
    struct otlp *o = self;
    if (!o)
        return;
    stitch__http_free(o->http);
    stitch_buf_free(&o->buf);
    free(o);
}

static const stitch_exporter_ops_t otlp_ops = {
    .export_spans = otlp_export,
    .force_flush = NULL,
    .shutdown = otlp_shutdown,
    .after_fork_child = otlp_after_fork_child,
    .destroy = otlp_destroy,
};

/* ---- configuration ---- */

static bool is_tchar(unsigned char c)
{
    /* RFC 9110 token characters: what a header name may contain */
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}


struct headers {
    char *lines[MAX_HEADERS]; /* "Name: value" */
    size_t n;
};

static void headers_free(struct headers *h)
{
    for (size_t i = 0; i < h->n; i++)
        free(h->lines[i]);
    h->n = 0;
}

struct headers_parse {
    struct headers *out;
    char *why;
    size_t whylen;
};

static int header_member(void *arg, const char *k, size_t kl, const char *v, size_t vl)
{
    struct headers_parse *hp = arg;
    for (size_t i = 0; i < kl; i++)
        if (!is_tchar((unsigned char)k[i])) {
            snprintf(hp->why, hp->whylen, "\"%.*s\" is not a header name", (int)kl, k);
            return STITCH_EINVAL;
        }
    /* no header injection through a decoded CR or LF */
    if (memchr(v, '\r', vl) || memchr(v, '\n', vl) || memchr(v, '\0', vl)) {
        snprintf(hp->why, hp->whylen, "the value of \"%.*s\" holds a control character",
                 (int)kl, k);
        return STITCH_EINVAL;
    }
    if (hp->out->n == MAX_HEADERS) {
        snprintf(hp->why, hp->whylen, "more than %d headers", MAX_HEADERS);
        return STITCH_EINVAL;
    }
    char *line = malloc(kl + 2 + vl + 1);
    if (!line)
        return STITCH_ENOMEM;
    memcpy(line, k, kl);
    memcpy(line + kl, ": ", 2);
    memcpy(line + kl + 2, v, vl);
    line[kl + 2 + vl] = '\0';
    hp->out->lines[hp->out->n++] = line;
    return STITCH_OK;
}

/* Parse "k=v,k2=v2" (values percent-encoded) into header lines.
 * STITCH_EINVAL (with `why` filled) leaves `out` empty: the specification
 * discards a malformed variable whole. */
static int headers_parse(const char *s, struct headers *out, char *why, size_t whylen)
{
    struct headers_parse hp = {out, why, whylen};
    out->n = 0;
    int rc = stitch__kv_list_parse(s, header_member, &hp, why, whylen);
    if (rc)
        headers_free(out);
    return rc;
}

/* The endpoint from the environment, or NULL (logged when invalid) for the
 * default. `*owned` receives what must be freed. */
static const char *endpoint_from_env(char **owned)
{
    *owned = NULL;
    const char *sig = stitch__getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
    if (sig) {
        if (stitch__http_url_ok(sig))
            return sig; /* as is, path included or not */
        stitch__log(STITCH_LOG_WARN, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=\"%s\" is not an "
                    "http(s) URL; ignoring it", sig);
    }
    const char *base = stitch__getenv("OTEL_EXPORTER_OTLP_ENDPOINT");
    if (!base)
        return NULL;
    if (!stitch__http_url_ok(base)) {
        stitch__log(STITCH_LOG_WARN, "OTEL_EXPORTER_OTLP_ENDPOINT=\"%s\" is not an http(s) URL; "
                    "ignoring it", base);
        return NULL;
    }
    /* base + "/v1/traces" with exactly one slash between them */
    size_t n = strlen(base);
    while (n && base[n - 1] == '/')
        n--;
    char *u = malloc(n + sizeof "/v1/traces");
    if (!u)
        return NULL;
    memcpy(u, base, n);
    memcpy(u + n, "/v1/traces", sizeof "/v1/traces");
    return *owned = u;
}

static int protocol_from_env(void)
{
    const char *names[] = {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"};
    for (int i = 0; i < 2; i++) {
        const char *v = stitch__getenv(names[i]);
        if (!v)
            continue;
        size_t n = strlen(v);
        if (stitch__strieq(v, n, "http/protobuf"))
            return STITCH_OTLP_HTTP_PROTOBUF;
        if (stitch__strieq(v, n, "http/json"))
            return STITCH_OTLP_HTTP_JSON;
        if (stitch__strieq(v, n, "grpc"))
            stitch__log(STITCH_LOG_WARN, "%s=grpc: this exporter speaks OTLP/HTTP only; using "
                        "http/protobuf", names[i]);
        else
            stitch__log(STITCH_LOG_WARN, "%s=\"%s\" is not http/protobuf, http/json or grpc; "
                        "using http/protobuf", names[i], v);
        return STITCH_OTLP_HTTP_PROTOBUF;
    }
    return STITCH_OTLP_HTTP_PROTOBUF;
}

/* 1 gzip, 0 none, -1 not set. */
static int compression_from_env(void)
{
    const char *names[] = {"OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION"};
    for (int i = 0; i < 2; i++) {
        const char *v = stitch__getenv(names[i]);
        if (!v)
            continue;
        if (stitch__strieq(v, strlen(v), "gzip"))
            return 1;
        if (stitch__strieq(v, strlen(v), "none"))
            return 0;
        stitch__log(STITCH_LOG_WARN, "%s=\"%s\" is not gzip or none; ignoring it", names[i], v);
    }
    return -1;
}

static int headers_from_env(struct headers *h)
{
    const char *names[] = {"OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS"};
    for (int i = 0; i < 2; i++) {
        const char *v = stitch__getenv(names[i]);
        if (!v)
            continue;
        char why[200];
        int rc = headers_parse(v, h, why, sizeof why);
        if (rc == STITCH_OK || rc == STITCH_ENOMEM)
            return rc;
        /* values may be secrets: name the problem, not the whole value */
        stitch__log(STITCH_LOG_WARN, "%s: %s; ignoring the variable", names[i], why);
    }
    return STITCH_OK;
}

/* The first usable PEM file among the variables `names` (the signal's
 * first); an unusable one is logged and skipped. NULL when none. */
static const char *pem_from_env(const char *const names[2], bool *seen)
{
    for (int i = 0; i < 2; i++) {
        const char *v = stitch__getenv(names[i]);
        if (!v)
            continue;
        *seen = true;
        char why[200];
        if (stitch__http_pem_check(v, why, sizeof why) == STITCH_OK)
            return v;
        stitch__log(STITCH_LOG_WARN, "%s=\"%s\": %s; ignoring it", names[i], v, why);
    }
    return NULL;
}

/* The TLS files from OTEL_EXPORTER_OTLP_[TRACES_]CERTIFICATE,
 * _CLIENT_CERTIFICATE and _CLIENT_KEY. Invalid values are ignored as the
 * specification asks, which never weakens anything: without a usable CA
 * file the system's store verifies the server, and without a usable pair
 * no client certificate is sent (a server that requires one refuses the
 * connection, and the exports fail visibly). */
static void tls_from_env(const char **ca, const char **cert, const char **key)
{
    static const char *const ca_names[] = {"OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
                                           "OTEL_EXPORTER_OTLP_CERTIFICATE"};
    static const char *const cert_names[] = {"OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
                                             "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"};
    static const char *const key_names[] = {"OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY",
                                            "OTEL_EXPORTER_OTLP_CLIENT_KEY"};
    bool ca_seen = false, cert_seen = false, key_seen = false;
    *ca = pem_from_env(ca_names, &ca_seen);
    if (!*ca && ca_seen)
        stitch__log(STITCH_LOG_WARN, "otlp exporter: no usable CA file; https endpoints are "
                    "verified against the system's CA store");
    *cert = pem_from_env(cert_names, &cert_seen);
    *key = pem_from_env(key_names, &key_seen);
    if (!*cert != !*key) {
        stitch__log(STITCH_LOG_WARN, "otlp exporter: a usable client %s but no usable client %s "
                    "(OTEL_EXPORTER_OTLP_CLIENT_%s); no client certificate is sent",
                    *cert ? "certificate" : "key", *cert ? "key" : "certificate",
                    *cert ? "KEY" : "CERTIFICATE");
        *cert = *key = NULL;
    }
}

int stitch_otlp_exporter_new(stitch_exporter_t **out, const stitch_otlp_opts_t *opts)
{
    *out = NULL;
    stitch_otlp_opts_t def = STITCH_OTLP_OPTS_INIT;
    if (!opts)
        opts = &def;
    bool env = !opts->no_env;
    struct headers hdrs = {.n = 0};
    char *owned_url = NULL;
    int rc = STITCH_OK;

    const char *url = opts->endpoint;
    if (url && !stitch__http_url_ok(url)) {
        stitch__log(STITCH_LOG_ERROR, "otlp exporter: endpoint \"%s\" is not an http(s) URL", url);
        return STITCH_EINVAL;
    }
    if (!url && env)
        url = endpoint_from_env(&owned_url);
    if (!url)
        url = DEFAULT_ENDPOINT;

    int protocol = opts->protocol;
    if (protocol != STITCH_OTLP_HTTP_PROTOBUF && protocol != STITCH_OTLP_HTTP_JSON) {
        if (protocol != -1) {
            stitch__log(STITCH_LOG_ERROR, "otlp exporter: unknown protocol %d", protocol);
            rc = STITCH_EINVAL;
            goto done;
        }
        protocol = env ? protocol_from_env() : STITCH_OTLP_HTTP_PROTOBUF;
    }

    if (opts->headers) {
        char why[200];
        rc = headers_parse(opts->headers, &hdrs, why, sizeof why);
        if (rc == STITCH_EINVAL)
            stitch__log(STITCH_LOG_ERROR, "otlp exporter: headers: %s", why);
    } else if (env) {
        rc = headers_from_env(&hdrs);
    }
    if (rc)
        goto done;

    int gzip = opts->gzip;
    if (gzip < 0)
        gzip = env ? compression_from_env() : 0;
    if (gzip < 0)
        gzip = 0;

    uint32_t timeout = opts->timeout_ms;
    if (!timeout && !(env && (stitch__http_env_timeout("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", &timeout) ||
                              stitch__http_env_timeout("OTEL_EXPORTER_OTLP_TIMEOUT", &timeout))))
        timeout = DEFAULT_TIMEOUT_MS;

    const char *ca = opts->ca_file, *cert = opts->client_cert, *key = opts->client_key;
    if (stitch__http_tls_check("otlp", ca, cert, key) != STITCH_OK) {
        rc = STITCH_EINVAL;
        goto done;
    }
    if (env) {
        const char *eca, *ecert, *ekey;
        tls_from_env(&eca, &ecert, &ekey);
        if (!ca)
            ca = eca;
        if (!cert && !key) {
            cert = ecert;
            key = ekey;
        }
    }
    bool https = strncasecmp(url, "https://", 8) == 0;
    if (!https && (ca || cert)) {
        stitch__log(STITCH_LOG_DEBUG, "otlp exporter: %s is not https; the TLS files are not used",
                    url);
        ca = cert = key = NULL;
    }

    struct otlp *o = calloc(1, sizeof *o);
    if (!o) {
        rc = STITCH_ENOMEM;
        goto done;
    }
    o->json = protocol == STITCH_OTLP_HTTP_JSON;
    o->timeout_ms = timeout;
    o->buf = (stitch_buf_t)STITCH_BUF_INIT(ENCODE_MAX);
    stitch__http_opts_t ho = {
        .url = url,
        .content_type = o->json ? "application/json" : "application/x-protobuf",
        .headers = (const char *const *)hdrs.lines,
        .nheaders = hdrs.n,
        .gzip = gzip == 1,
        .what = "otlp",
        .ca_file = ca,
        .client_cert = cert,
        .client_key = key,
    };
    rc = stitch__http_new(&o->http, &ho);
    if (!rc && !(*out = stitch_exporter_new(&otlp_ops, o)))
        rc = STITCH_ENOMEM;
    if (rc) {
        otlp_destroy(o);
        goto done;
    }
    stitch__log(STITCH_LOG_DEBUG, "otlp exporter: %s, %s%s, timeout %u ms%s%s%s%s", url,
                o->json ? "http/json" : "http/protobuf", gzip == 1 ? ", gzip" : "", timeout,
                ca ? ", CA file " : "", ca ? ca : "", cert ? ", client certificate " : "",
                cert ? cert : "");
done:
    headers_free(&hdrs);
    free(owned_url);
    return rc;
}
