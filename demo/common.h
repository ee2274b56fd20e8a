/* demo/common.h — what the five demo services share: start-up (tracing from
 * the OTEL_* environment, flags), an HTTP server on loopback behind the
 * libmicrohttpd adapter that hands each request whole to a route function,
 * and traced HTTP calls through the libcurl adapter.
 *
 * Each service is configured by OTEL_* variables (tracing) and by flags
 * (its port, its peers, the demo's knobs); never by a file. */
#ifndef STITCH_DEMO_COMMON_H
#define STITCH_DEMO_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stitch/instrument/microhttpd.h"
#include "stitch/stitch.h"

#define DEMO_SCOPE "stitch.demo"

/* A request, with its body read completely. Borrowed by the route. */
typedef struct demo_req {
    const char *method;
    const char *url;               /* path only */
    const char *body;              /* NUL-terminated ("" when none) */
    size_t body_len;
    struct MHD_Connection *conn;
    stitch_mhd_req_t *traced;      /* the adapter's request (SERVER span) */
} demo_req_t;

/* What the route answers. `body` is malloc'ed (the server frees it) or NULL. */
typedef struct demo_resp {
    unsigned status;
    const char *content_type;      /* static; NULL means application/json */
    char *body;
    bool traceresponse;            /* add a W3C `traceresponse` header */
} demo_resp_t;

typedef void (*demo_route_fn)(void *arg, const demo_req_t *req, demo_resp_t *resp);

/* Flags shared by every service:
 *   --port N        listen on 127.0.0.1:N (0: a free port)
 *   --any-port      if N is taken, take a free port instead of failing
 *   --ready-file F  write "url=http://127.0.0.1:PORT" there once listening
 *   --fail          the demo's FAIL knob: the service's main operation fails
 * plus the service's own, read with demo_flag(). */
typedef struct demo_opts {
    const char *name;              /* service name, for messages */
    int port;
    bool any_port;
    const char *ready_file;
    bool fail;
} demo_opts_t;

/* The value of `--name V` / `--name=V` in argv, or `def`. */
const char *demo_flag(int argc, char **argv, const char *name, const char *def);
bool demo_has_flag(int argc, char **argv, const char *name);

/* Tracing from the environment (OTEL_SERVICE_NAME defaults to `name`),
 * libcurl, signals (SIGINT/SIGTERM are taken by demo_wait). Parses the
 * shared flags into *o. Exits with status 2 on a bad flag. */
void demo_init(demo_opts_t *o, const char *name, int default_port, int argc, char **argv);

/* Serve `route` on o->port (see demo_opts_t); 0 or -1 (message printed). */
int demo_serve(demo_opts_t *o, demo_route_fn route, void *arg);
/* Block until SIGINT or SIGTERM. */
void demo_wait(void);
/* Stop serving and flush the spans (within 5 s). */
void demo_shutdown(void);

/* A traced HTTP call (CLIENT span, child of the current span). `body` may be
 * NULL (no body). *out is the malloc'ed response body (or NULL); returns the
 * HTTP status, or 0 when the request failed (message in errbuf). */
unsigned demo_call(const char *method, const char *url, const char *body, char **out,
                   char *errbuf, size_t errlen);
/* Pass a request on: POST `body` to `url` with demo_call and answer with
 * what came back — the callee's status and body, 502 when it failed (5xx)
 * or could not be reached (then the body names the error). */
void demo_forward(const char *url, const char *body, demo_resp_t *resp);

/* The demo's tracer (scope DEMO_SCOPE). */
stitch_tracer_t *demo_tracer(void);

/* A JSON error body {"error": msg}, malloc'ed. */
char *demo_json_error(const char *msg);

#endif
