/* stitch/instrument/microhttpd.h — server spans for libmicrohttpd.
 *
 * The adapter wraps the application's access handler. For each request it
 * extracts the caller's context from the request headers (a carrier over
 * MHD_get_connection_values_n that presents repeated headers faithfully),
 * starts a SERVER span (OpenTelemetry HTTP semantic conventions: name
 * "METHOD route", or "METHOD" without a route; http.request.method,
 * url.path, url.scheme, http.route, server.address, server.port,
 * client.address, client.port, user_agent.original,
 * network.protocol.version, http.response.status_code, error.type), and
 * ends it when MHD reports the request complete.
 *
 * MHD calls the access handler several times per request (headers, each
 * body chunk, the final call). The adapter keeps its per-request state in
 * *req_cls and hands the application's handler a req_cls slot of its own,
 * so the application's handler is written exactly as without tracing.
 * During every call of the application's handler the SERVER span is the
 * thread's current span (stitch_scope_push), so spans started there —
 * e.g. by the curl adapter — are its children; the request's context is
 * also available as a value (stitch_mhd_ctx) for work handed elsewhere.
 *
 * Few lines:
 *
 *     stitch_mhd_t *tm;
 *     stitch_mhd_opts_t o = {.handler = my_handler, .handler_cls = app};
 *     if (stitch_mhd_new(&o, &tm) != 0) ...;
 *     d = MHD_start_daemon(flags, port, NULL, NULL, &stitch_mhd_access, tm,
 *                          STITCH_MHD_NOTIFY_COMPLETED(tm), MHD_OPTION_END);
 *     ...
 *     MHD_stop_daemon(d);
 *     stitch_mhd_free(tm);
 *
 * Status: a response status >= 500 sets ERROR (error.type = "500"); 4xx
 * stays UNSET (server side rule). A request MHD terminates otherwise than
 * MHD_REQUEST_TERMINATED_COMPLETED_OK (client abort, timeout, read error,
 * shutdown) sets ERROR with error.type naming the reason.
 *
 * Thread safety: works with every MHD threading mode; the span may end on
 * another thread than the one that started it. */
#ifndef STITCH_INSTRUMENT_MICROHTTPD_H
#define STITCH_INSTRUMENT_MICROHTTPD_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <stdarg.h>
#include <microhttpd.h>

#include "../context.h"
#include "../propagation.h"
#include "../trace.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The instrumentation scope name of the adapter's default tracer. */
#define STITCH_MHD_SCOPE "stitch.instrument.microhttpd"

typedef struct stitch_mhd stitch_mhd_t;         /* one per daemon; opaque */
typedef struct stitch_mhd_req stitch_mhd_req_t; /* one per request; opaque */

typedef struct stitch_mhd_opts {
    /* The application's access handler and its closure (required). It gets
     * a req_cls slot of its own, NULL on the first call, as MHD would. */
    MHD_AccessHandlerCallback handler;
    void *handler_cls;
    /* The application's completion callback, or NULL. MHD accepts only one
     * MHD_OPTION_NOTIFY_COMPLETED; the adapter installs its own and calls
     * this one from it (after the span ended) with the application's slot. */
    MHD_RequestCompletedCallback completed;
    void *completed_cls;
    /* NULL: stitch_global_tracer(STITCH_MHD_SCOPE, STITCH_VERSION_STRING).
     * Borrowed; must outlive the stitch_mhd_t. */
    stitch_tracer_t *tracer;
    /* NULL: stitch_propagator_default(). Borrowed; must outlive it. */
    const stitch_propagator_t *propagator;
    /* server.address / server.port. NULL / 0: taken from the request's Host
     * header. Copied. */
    const char *server_address;
    uint16_t server_port;
    /* url.scheme. NULL: "https" when the daemon uses TLS, else "http".
     * Copied. */
    const char *url_scheme;
} stitch_mhd_opts_t;

/* Create the adapter for one daemon. 0, or STITCH_EINVAL (no handler) /
 * STITCH_ENOMEM with *out NULL. Free it after MHD_stop_daemon. */
STITCH_EXTERN int stitch_mhd_new(const stitch_mhd_opts_t *opts, stitch_mhd_t **out);
STITCH_EXTERN void stitch_mhd_free(stitch_mhd_t *m);

/* The access handler to give MHD_start_daemon, with the stitch_mhd_t as
 * its closure. Returns what the application's handler returns; MHD_NO when
 * the request state cannot be allocated (MHD then closes the connection). */
STITCH_EXTERN enum MHD_Result stitch_mhd_access(void *cls, struct MHD_Connection *connection,
                                                const char *url, const char *method,
                                                const char *version, const char *upload_data,
                                                size_t *upload_data_size, void **req_cls);

/* The completion callback (MHD_OPTION_NOTIFY_COMPLETED), with the
 * stitch_mhd_t as its closure: ends the span and frees the request state. */
STITCH_EXTERN void stitch_mhd_completed(void *cls, struct MHD_Connection *connection,
                                        void **req_cls, enum MHD_RequestTerminationCode toe);

/* The MHD option triple installing stitch_mhd_completed, for the argument
 * list of MHD_start_daemon. */
#define STITCH_MHD_NOTIFY_COMPLETED(m) \
    MHD_OPTION_NOTIFY_COMPLETED, (MHD_RequestCompletedCallback)&stitch_mhd_completed, (void *)(m)

/* ---- inside the application's handler ----------------------------------------- */

/* The request whose handler call is running on this thread, or NULL
 * outside one. Borrowed: valid during the handler call. */
STITCH_EXTERN stitch_mhd_req_t *stitch_mhd_current(void);

/* Set http.route (a template like "/users/{id}", not the raw path) and
 * rename the span "METHOD route". Copied. 0, STITCH_EINVAL for NULLs. */
STITCH_EXTERN int stitch_mhd_set_route(stitch_mhd_req_t *r, const char *route);

/* The SERVER span's context (with the incoming tracestate and baggage), to
 * use as the parent of work done for this request on another thread or in
 * a later callback. Owned by the request: valid until it completes; copy it
 * with stitch_ctx_copy() to keep it longer. */
STITCH_EXTERN const stitch_ctx_t *stitch_mhd_ctx(const stitch_mhd_req_t *r);

/* The SERVER span, e.g. to add attributes. Borrowed; valid until the
 * request completes. Do not end it. */
STITCH_EXTERN stitch_span_t *stitch_mhd_span(stitch_mhd_req_t *r);

/* ---- the carrier, for code that extracts by itself ------------------------------- */

/* A read-only carrier over the request headers of `connection`: get()
 * returns the idx-th value (in arrival order) among the headers whose name
 * equals the asked one without regard to case, so repeated headers are all
 * seen; keys() lists the names; set is NULL. Values are owned by MHD and
 * live as long as the request. `out` is filled; nothing is allocated. */
STITCH_EXTERN void stitch_mhd_carrier(struct MHD_Connection *connection, stitch_carrier_t *out);

#ifdef __cplusplus
}
#endif
#endif
