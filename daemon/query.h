/* daemon/query.h — stitchd's query API, independent of the HTTP server:
 * Jaeger v1 (/api/...), Jaeger v3 (/api/v3/...) and Zipkin v2 (/api/v2/...)
 * GET endpoints answered from a store (store/store.h). The HTTP layer
 * (daemon/http*.c) passes the path and a way to read the query string, and
 * sends back what it gets; so these answers can be tested without a socket.
 * Every endpoint, parameter, shape and error is in docs/http-api.md.
 *
 * Ownership: the response body is malloc'd and belongs to the caller
 * (stitchd_query_resp_free).
 * Threads: stitchd_query_answer keeps no state between calls and may run
 * on any number of threads at once (the store is thread-safe). */
#ifndef STITCHD_QUERY_H
#define STITCHD_QUERY_H

#include <stddef.h>

#include "store/store.h"

/* The query string of one request. `get` returns the first value of a
 * parameter (NULL when absent; "" when present without a value — the API
 * treats "" as absent, as Jaeger does); `each` calls fn for every value of a
 * repeated parameter, in order, stopping when fn returns nonzero. Values are
 * already percent-decoded ('+' already a space). Strings need only live
 * during the call. `each` may be NULL (then only the first value of the
 * repeatable Jaeger parameters tag, tags and traceID is seen); args itself
 * may be NULL (no parameters). */
typedef struct stitchd_query_args {
    const char *(*get)(void *ctx, const char *key);
    void (*each)(void *ctx, const char *key, int (*fn)(void *arg, const char *value), void *arg);
    void *ctx;
} stitchd_query_args_t;

typedef struct stitchd_query_resp {
    int status;               /* HTTP status */
    const char *content_type; /* static string: "application/json", or
                               * "text/plain; charset=utf-8" for Zipkin errors */
    char *body;               /* malloc'd, may be NULL when len == 0 */
    size_t len;
} stitchd_query_resp_t;

/* Answer GET `path` (without the query string, not decoded: a service name
 * in /api/services/{service}/operations is percent-decoded here). Returns 1
 * when `path` is "/api" or under "/api/" (resp filled: 200; 400 with a
 * message naming the bad parameter; 404 for unknown ids and for unknown
 * paths under /api/; 500 on a store error or a response over 1 GiB; error
 * bodies in the API's own error shape:
 *   Jaeger v1  {"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":N,"msg":"…"}]}
 *   Jaeger v3  {"error":{"httpCode":N,"message":"…"}}
 *   Zipkin v2  the message as text/plain),
 * 0 when it does not (resp untouched; the caller answers 404). Only GET is
 * meant: the caller routes POST /api/v2/spans to the Zipkin receiver and
 * answers 405 for other methods. Never fails to fill resp once it returns 1;
 * out of memory for the error body itself leaves body NULL with the status. */
int stitchd_query_answer(stitch_store_t *store, const char *path, const stitchd_query_args_t *args,
                         stitchd_query_resp_t *resp);

/* Frees the body and clears body/len; NULL and a cleared resp are fine. */
void stitchd_query_resp_free(stitchd_query_resp_t *resp);

#endif
