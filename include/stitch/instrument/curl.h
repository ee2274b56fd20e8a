/* stitch/instrument/curl.h — client spans for libcurl easy handles.
 *
 * One HTTP request made with a CURL easy handle becomes one CLIENT span
 * (OpenTelemetry HTTP semantic conventions: name = the method, attributes
 * http.request.method, url.full, server.address, server.port,
 * http.response.status_code, network.protocol.version, error.type), and the
 * span's context is injected into the request's headers with a propagator
 * (default: stitch_propagator_default(), i.e. OTEL_PROPAGATORS).
 *
 * libcurl cannot read back CURLOPT_HTTPHEADER, so the caller hands its own
 * header list to the adapter (opts.headers) instead of setting it: the
 * adapter sends a list of its own (the caller's headers plus the injected
 * ones, an injected header replacing a caller's header of the same name)
 * and, when the call finishes, sets CURLOPT_HTTPHEADER back to the
 * caller's list. Do not set CURLOPT_HTTPHEADER yourself between begin and
 * finish.
 *
 * Two forms:
 *   - stitch_curl_perform(): start span, inject, curl_easy_perform, record,
 *     end — one call in place of curl_easy_perform.
 *   - stitch_curl_begin() / stitch_curl_finish(): for the multi interface;
 *     begin before curl_multi_add_handle, finish with the transfer's
 *     CURLcode (CURLMSG_DONE's data.result) once it is done.
 *
 * Errors: a transport error (CURLcode != CURLE_OK) sets the span's status
 * to ERROR with curl_easy_strerror() as the message and error.type = the
 * CURLcode's name (e.g. "CURLE_COULDNT_CONNECT"); a response status of 400
 * or more sets ERROR with error.type = the status code ("503") — the HTTP
 * conventions' rule for CLIENT spans. Tracing problems (out of memory)
 * never stop the request: it is then sent untraced.
 *
 * Thread safety: as libcurl's — one easy handle and its call on one thread
 * at a time. */
#ifndef STITCH_INSTRUMENT_CURL_H
#define STITCH_INSTRUMENT_CURL_H

#include <curl/curl.h>

#include "../context.h"
#include "../propagation.h"
#include "../trace.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The instrumentation scope name of the adapter's default tracer. */
#define STITCH_CURL_SCOPE "stitch.instrument.curl"

typedef struct stitch_curl_opts {
    /* Tracer for the span. NULL: stitch_global_tracer(STITCH_CURL_SCOPE,
     * STITCH_VERSION_STRING). Borrowed. */
    stitch_tracer_t *tracer;
    /* Parent of the CLIENT span. NULL: the thread's current context. An
     * explicit STITCH_CTX_INIT makes a root span. Borrowed for the call to
     * begin/perform only. */
    const stitch_ctx_t *parent;
    /* NULL: stitch_propagator_default(). Borrowed; must outlive the call. */
    const stitch_propagator_t *propagator;
    /* The caller's own request headers, or NULL. Borrowed: it must stay
     * valid until finish returns (perform: until it returns); the adapter
     * never changes or frees it, and leaves it set as CURLOPT_HTTPHEADER
     * when the call is over. */
    struct curl_slist *headers;
    /* The request URL. Not NULL: the adapter sets CURLOPT_URL to it, and the
     * span gets url.full / server.* at start (samplers see them). NULL: the
     * caller has set CURLOPT_URL, and the attributes are read from
     * CURLINFO_EFFECTIVE_URL when the call finishes. Copied. */
    const char *url;
    /* The method curl will send ("GET", "POST", ...), for the span's name
     * and attributes at start; NULL means "GET". The adapter does not set
     * it on the handle. At finish the method curl really sent
     * (CURLINFO_EFFECTIVE_METHOD) wins. Copied. */
    const char *method;
} stitch_curl_opts_t;

/* The state of one traced request between begin and finish. Opaque. */
typedef struct stitch_curl_call stitch_curl_call_t;

/* Start the CLIENT span for the request `easy` is set up for, and install
 * the header list with the injected context. `opts` may be NULL (all
 * defaults). On success *out is the call (owned by the caller until it
 * hands it to stitch_curl_finish) and 0 is returned. On failure (STITCH_EINVAL
 * for a NULL easy/out, STITCH_ENOMEM) *out is NULL, no span exists, and
 * `easy` is left set up with the caller's headers (and opts.url) so the
 * request can still be made untraced. */
STITCH_EXTERN int stitch_curl_begin(CURL *easy, const stitch_curl_opts_t *opts,
                                    stitch_curl_call_t **out);

/* Record the outcome (`result` is the transfer's CURLcode; response code,
 * effective method and URL are read from the handle), end the span, put the
 * caller's header list back as CURLOPT_HTTPHEADER and free `call`, which is
 * invalid afterwards. Call it once the transfer is over (after perform
 * returned, or on CURLMSG_DONE) and before the handle is reused or
 * cleaned up. NULL is fine (nothing happens). */
STITCH_EXTERN void stitch_curl_finish(stitch_curl_call_t *call, CURLcode result);

/* The call's CLIENT span, e.g. to add attributes before finish. Borrowed:
 * valid until finish. Never NULL for a non-NULL call. */
STITCH_EXTERN stitch_span_t *stitch_curl_call_span(stitch_curl_call_t *call);

/* begin + curl_easy_perform + finish. Returns curl_easy_perform's result
 * (or CURLE_BAD_FUNCTION_ARGUMENT for a NULL easy); if tracing could not
 * start, the request is performed untraced. */
STITCH_EXTERN CURLcode stitch_curl_perform(CURL *easy, const stitch_curl_opts_t *opts);

#ifdef __cplusplus
}
#endif
#endif
