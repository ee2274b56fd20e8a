/* daemon/query.h — stitchd's query API, independent of the HTTP server:
 * Jaeger v1 (/api/...), Jaeger v3 (/api/v3/...) and Zipkin v2 (/api/v2/...)
 * GET endpoints answered from a store (store/store.h). The HTTP layer
 * (daemon/http*.c) passes the path and a way to read the query string, and
 * sends back what it gets; so these answers can be tested without a socket.
 *
 * Ownership: the response body is malloc'd and belongs to the caller
 * (stitchd_query_resp_free). */
#ifndef STITCHD_QUERY_H
#define STITCHD_QUERY_H

#include <stddef.h>

#include "store/store.h"

/* The query string of one request. `get` returns the first value of a
 * parameter (NULL when absent; "" when present without a value); `each`
 * calls fn for every value of a repeated parameter, in order, stopping when
 * fn returns nonzero. Values are already percent-decoded. */
typedef struct stitchd_query_args {
    const char *(*get)(void *ctx, const char *key);
    void (*each)(void *ctx, const char *key, int (*fn)(void *arg, const char *value), void *arg);
    void *ctx;
} stitchd_query_args_t;

typedef struct stitchd_query_resp {
    int status;               /* HTTP status */
    const char *content_type; /* static string, e.g. "application/json" */
    char *body;               /* malloc'd, may be NULL when len == 0 */
    size_t len;
} stitchd_query_resp_t;

/* Answer GET `path` (without the query string, not decoded). Returns 1 when
 * `path` belongs to the query API (resp filled: 200, or 400 with a message
 * for bad parameters, 404 for unknown ids, 500 on a store error; error
 * bodies in the API's own error shape), 0 when it does not (resp untouched;
 * the caller answers 404). */
int stitchd_query_answer(stitch_store_t *store, const char *path, const stitchd_query_args_t *args,
                         stitchd_query_resp_t *resp);

void stitchd_query_resp_free(stitchd_query_resp_t *resp);

#endif
