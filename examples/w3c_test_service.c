/* w3c-test-service: the service the W3C Trace Context conformance suite
 * (github.com/w3c/trace-context, test/test.py) drives, built on stitch's
 * two HTTP adapters so that what is tested is the adapters themselves.
 *
 *   w3c-test-service [--port N]      (default 5000, on 127.0.0.1)
 *
 * `POST /test` with a JSON array [{"url": U, "arguments": A}, ...]: for each
 * element, in order, the service sends `POST U` with body JSON(A) and
 * Content-Type: application/json as a CLIENT span, child of the request's
 * SERVER span (itself a child of the incoming context), so traceparent and
 * tracestate are propagated by the SDK; then it answers 200.
 * Invariant: every outgoing call is made while the adapter has the
 * request's SERVER span current, and the propagator is W3C tracecontext
 * alone, whatever OTEL_PROPAGATORS says. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <jansson.h>

#include "stitch/instrument/curl.h"
#include "stitch/instrument/microhttpd.h"
#include "stitch/stitch.h"

#define MAX_BODY (1u << 20)
#define CALL_TIMEOUT_MS 10000L

static const stitch_propagator_t *prop;

struct body {
    char *buf;
    size_t len;
    bool too_big;
};

static void usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s [--port N]\n"
            "  Serves POST /test for the W3C Trace Context test suite on 127.0.0.1:N\n"
            "  (default 5000; 0 picks a free port). Sampler and limits follow the\n"
            "  OTEL_* variables (default parentbased_always_on).\n",
            prog);
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p, (void)ud;
    return size * n;
}

/* One callback: POST url with JSON(arguments). Failures are the harness's
 * to see (it reports the missing callback); the service carries on. */
static void call_one(CURL *easy, const char *url, const json_t *arguments)
{
    char *payload = json_dumps(arguments, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!payload)
        return;
    struct curl_slist *hdrs = NULL, *t;
    if ((t = curl_slist_append(hdrs, "Content-Type: application/json")))
        hdrs = t;
    if ((t = curl_slist_append(hdrs, "Expect:")))
        hdrs = t;
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, payload);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
    stitch_curl_opts_t o = {.propagator = prop, .headers = hdrs, .url = url, .method = "POST"};
    (void)stitch_curl_perform(easy, &o);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, NULL);
    curl_slist_free_all(hdrs);
    free(payload);
}

static void run_calls(const json_t *list)
{
    CURL *easy = curl_easy_init();
    if (!easy)
        return;
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, CALL_TIMEOUT_MS);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard);
    size_t i;
    const json_t *item;
    json_array_foreach(list, i, item) {
        const json_t *url = json_object_get(item, "url");
        if (!json_is_string(url))
            continue;
        const json_t *args = json_object_get(item, "arguments");
        json_t *empty = NULL;
        if (!args || json_is_null(args))
            args = empty = json_array();
        call_one(easy, json_string_value(url), args);
        json_decref(empty);
    }
    curl_easy_cleanup(easy);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    (void)MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
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
        return MHD_YES; /* headers only; the body (if any) comes next */
    }
    if (*size) {
        if (!b->too_big) {
            if (b->len + *size > MAX_BODY) {
                b->too_big = true;
            } else {
                char *nb = realloc(b->buf, b->len + *size + 1);
                if (!nb)
                    return MHD_NO;
                memcpy(nb + b->len, data, *size);
                b->buf = nb;
                b->len += *size;
                b->buf[b->len] = '\0';
            }
        }
        *size = 0;
        return MHD_YES;
    }
    if (strcmp(url, "/test") != 0)
        return reply(c, MHD_HTTP_NOT_FOUND, "not found\n");
    (void)stitch_mhd_set_route(stitch_mhd_current(), "/test");
    if (strcmp(method, "POST") != 0)
        return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "POST only\n");
    if (b->too_big)
        return reply(c, 413, "body too large\n");
    json_error_t err;
    json_t *list = json_loadb(b->buf ? b->buf : "", b->len, JSON_DECODE_ANY, &err);
    if (!list || !json_is_array(list)) {
        json_decref(list);
        return reply(c, MHD_HTTP_BAD_REQUEST, "expected a JSON array\n");
    }
    run_calls(list);
    json_decref(list);
    return reply(c, MHD_HTTP_OK, "");
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

int main(int argc, char **argv)
{
    long port = 5000;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
            v = argv[++i];
        else if (strncmp(argv[i], "--port=", 7) == 0)
            v = argv[i] + 7;
        else {
            usage(argv[0]);
            return 2;
        }
        char *end;
        errno = 0;
        port = strtol(v, &end, 10);
        if (errno || !*v || *end || port < 0 || port > 65535) {
            fprintf(stderr, "%s: bad port '%s'\n", argv[0], v);
            usage(argv[0]);
            return 2;
        }
    }

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "%s: curl_global_init failed\n", argv[0]);
        return 1;
    }
    stitch_provider_t *provider = NULL;
    int rc = stitch_provider_new(&provider, NULL);
    if (rc != 0) {
        fprintf(stderr, "%s: cannot create the tracer provider: %s\n", argv[0], stitch_strerror(rc));
        return 1;
    }
    stitch_set_global_provider(provider);
    prop = stitch_propagator_get(STITCH_PROP_TRACECONTEXT);

    stitch_mhd_t *tm = NULL;
    stitch_mhd_opts_t mo = {.handler = handle, .completed = done, .propagator = prop};
    if ((rc = stitch_mhd_new(&mo, &tm)) != 0) {
        fprintf(stderr, "%s: %s\n", argv[0], stitch_strerror(rc));
        return 1;
    }

    /* Signals are taken by sigwait() below; MHD's threads inherit the mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, (uint16_t)port, NULL,
        NULL, &stitch_mhd_access, tm, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        STITCH_MHD_NOTIFY_COMPLETED(tm), MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "%s: cannot listen on 127.0.0.1:%ld\n", argv[0], port);
        return 1;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("w3c-test-service listening on http://127.0.0.1:%u/test\n",
           di ? (unsigned)di->port : (unsigned)port);
    fflush(stdout);

    int sig = 0;
    sigwait(&sigs, &sig);

    MHD_stop_daemon(d);
    stitch_mhd_free(tm);
    stitch_set_global_provider(NULL);
    (void)stitch_provider_shutdown(provider, 5000);
    stitch_provider_free(provider);
    curl_global_cleanup();
    return 0;
}
