/* sdk/zipkin.c — the Zipkin v2 exporter: a batch becomes one JSON list of
 * spans (wire/zipkin_json.c, OpenTelemetry's Zipkin mapping) POSTed to
 * /api/v2/spans through sdk/http.c, with the same retry policy as OTLP.
 *
 * Invariant: the encode buffer is reused and bounded (ENCODE_MAX); a batch
 * that does not fit is sent in halves; any 2xx (Zipkin answers 202) is
 * success. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "sdk/http.h"
#include "sdk/internal.h"
#include "stitch/export.h"
#include "wire/wire.h"

#define ENCODE_MAX (64u * 1024 * 1024)
#define DEFAULT_ENDPOINT "http://localhost:9411/api/v2/spans"
#define DEFAULT_TIMEOUT_MS 10000u

struct zipkin {
    stitch__http_t *http;
    stitch_buf_t buf;
    atomic_bool busy; /* in an export: a fork now may catch buf mid-update */
    uint32_t timeout_ms;
};

static int send_batch(struct zipkin *z, const stitch_span_data_t *const *spans, size_t n,
                      uint64_t deadline_ns)
{
    stitch_buf_reset(&z->buf);
    int rc = stitch_wire_zipkin_json_encode(spans, n, &z->buf);
    if (rc == STITCH_ELIMIT && n > 1) {
        size_t half = n / 2;
        int a = send_batch(z, spans, half, deadline_ns);
        int b = send_batch(z, spans + half, n - half, deadline_ns);
        return a ? a : b;
    }
    if (rc) {
        stitch__log(STITCH_LOG_ERROR, "zipkin exporter: cannot encode %zu span(s): %s", n,
                    stitch_strerror(rc));
        stitch_buf_reset(&z->buf);
        return rc;
    }
    return stitch__http_post(z->http, z->buf.data, z->buf.len, deadline_ns, NULL);
}

static int zipkin_export(void *self, const stitch_span_data_t *const *spans, size_t n,
                         uint32_t timeout_ms)
{
    struct zipkin *z = self;
    if (n == 0)
        return STITCH_OK;
    uint32_t t = timeout_ms && timeout_ms < z->timeout_ms ? timeout_ms : z->timeout_ms;
    atomic_store(&z->busy, true);
    int rc = send_batch(z, spans, n, stitch__mono_ns() + (uint64_t)t * 1000000u);
    atomic_store(&z->busy, false);
    return rc;
}

static int zipkin_shutdown(void *self, uint32_t timeout_ms)
{
    (void)timeout_ms;
    struct zipkin *z = self;
    stitch__http_cancel(z->http);
    return STITCH_OK;
}

static void zipkin_after_fork_child(void *self)
{
    struct zipkin *z = self;
    if (atomic_load(&z->busy)) { /* leave a buffer that may be half-grown */
        stitch__http_abandon(z->buf.data);
        z->buf = (stitch_buf_t)STITCH_BUF_INIT(ENCODE_MAX);
        atomic_store(&z->busy, false);
    }
    stitch_buf_reset(&z->buf);
    stitch__http_after_fork_child(z->http);
}

static void zipkin_destroy(void *self)
{
    struct zipkin *z = self;
    if (!z)
        return;
    stitch__http_free(z->http);
    stitch_buf_free(&z->buf);
    free(z);
}

static const stitch_exporter_ops_t zipkin_ops = {
    .export_spans = zipkin_export,
    .force_flush = NULL,
    .shutdown = zipkin_shutdown,
    .after_fork_child = zipkin_after_fork_child,
    .destroy = zipkin_destroy,
};

int stitch_zipkin_exporter_new(stitch_exporter_t **out, const stitch_zipkin_opts_t *opts)
{
    *out = NULL;
    stitch_zipkin_opts_t def = {.endpoint = NULL};
    if (!opts)
        opts = &def;
    bool env = !opts->no_env;
    const char *url = opts->endpoint;
    if (url && !stitch__http_url_ok(url)) {
        stitch__log(STITCH_LOG_ERROR, "zipkin exporter: endpoint \"%s\" is not an http(s) URL",
                    url);
        return STITCH_EINVAL;
    }
    if (!url && env) {
        url = stitch__getenv("OTEL_EXPORTER_ZIPKIN_ENDPOINT");
        if (url && !stitch__http_url_ok(url)) {
            stitch__log(STITCH_LOG_WARN, "OTEL_EXPORTER_ZIPKIN_ENDPOINT=\"%s\" is not an http(s) "
                        "URL; ignoring it", url);
            url = NULL;
        }
    }
    if (!url)
        url = DEFAULT_ENDPOINT;
    uint32_t timeout = opts->timeout_ms;
    if (!timeout && !(env && stitch__http_env_timeout("OTEL_EXPORTER_ZIPKIN_TIMEOUT", &timeout)))
        timeout = DEFAULT_TIMEOUT_MS;
    if (stitch__http_tls_check("zipkin", opts->ca_file, opts->client_cert, opts->client_key))
        return STITCH_EINVAL;

    struct zipkin *z = calloc(1, sizeof *z);
    if (!z)
        return STITCH_ENOMEM;
    z->timeout_ms = timeout;
    z->buf = (stitch_buf_t)STITCH_BUF_INIT(ENCODE_MAX);
    stitch__http_opts_t ho = {
        .url = url,
        .content_type = "application/json",
        .headers = NULL,
        .nheaders = 0,
        .gzip = false,
        .what = "zipkin",
        .ca_file = opts->ca_file,
        .client_cert = opts->client_cert,
        .client_key = opts->client_key,
    };
    int rc = stitch__http_new(&z->http, &ho);
    if (!rc && !(*out = stitch_exporter_new(&zipkin_ops, z)))
        rc = STITCH_ENOMEM;
    if (rc) {
        zipkin_destroy(z);
        return rc;
    }
    return STITCH_OK;
}
