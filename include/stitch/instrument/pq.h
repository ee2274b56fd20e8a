/* stitch/instrument/pq.h — one CLIENT span per PostgreSQL statement sent
 * with libpq.
 *
 * OpenTelemetry's database conventions for PostgreSQL: name =
 * db.query.summary ("SELECT products"), db.system.name = "postgresql",
 * db.namespace = the connection's database (PQdb; the schema is not known
 * without another query, so it is left out), db.query.text = the statement
 * as sent (with $1 placeholders; parameter values are never recorded),
 * server.address (PQhost: a host name, an address or a socket directory),
 * server.port (PQport, when it is not 5432). A result other than
 * PGRES_COMMAND_OK / TUPLES_OK / SINGLE_TUPLE / EMPTY_QUERY / COPY_*, or a
 * NULL result, sets ERROR with the server's message,
 * db.response.status_code = the SQLSTATE ("42P01") and error.type = the
 * SQLSTATE too (the conventions' advice), or "PGRES_FATAL_ERROR"-style
 * names when the server sent no SQLSTATE (connection lost).
 *
 * The drop-in calls return exactly what libpq returns:
 *
 *     PGresult *r = stitch_pq_exec_params(conn, "SELECT * FROM products WHERE id = $1",
 *                                         1, NULL, vals, NULL, NULL, 0, NULL);
 *
 * and begin/finish bracket anything else (PQsendQuery + PQgetResult, COPY,
 * pipelines): begin before sending, finish with the final result.
 *
 * Thread safety: as libpq's for the connection. */
#ifndef STITCH_INSTRUMENT_PQ_H
#define STITCH_INSTRUMENT_PQ_H

#include <libpq-fe.h>

#include "../context.h"
#include "../trace.h"

#ifdef __cplusplus
extern "C" {
#endif

#define STITCH_PQ_SCOPE "stitch.instrument.pq"

typedef struct stitch_pq_opts {
    /* NULL: stitch_global_tracer(STITCH_PQ_SCOPE, ...). Borrowed. */
    stitch_tracer_t *tracer;
    /* NULL: the thread's current context. Borrowed for the begin call. */
    const stitch_ctx_t *parent;
    /* db.namespace. NULL: PQdb(conn). Copied. */
    const char *db_namespace;
} stitch_pq_opts_t;

/* Start the CLIENT span for `query` on `conn` (either may be NULL: the
 * span then lacks what it would have read from it). Never returns NULL. */
STITCH_EXTERN stitch_span_t *stitch_pq_begin(PGconn *conn, const char *query,
                                             const stitch_pq_opts_t *opts);
/* Record `res` (the statement's result; NULL counts as a failure, with
 * PQerrorMessage(conn) as the message) and end the span. The result stays
 * the caller's. `span` is invalid afterwards; NULL is fine. */
STITCH_EXTERN void stitch_pq_finish(stitch_span_t *span, PGconn *conn, const PGresult *res);

/* PQexec / PQexecParams / PQexecPrepared inside a span; each returns what
 * libpq returned (free it with PQclear). For the prepared form libpq does
 * not know the text: pass it as `query_text`, or NULL to leave
 * db.query.text out (the span is then named by the namespace). */
STITCH_EXTERN PGresult *stitch_pq_exec(PGconn *conn, const char *query, const stitch_pq_opts_t *opts);
STITCH_EXTERN PGresult *stitch_pq_exec_params(PGconn *conn, const char *command, int nParams,
                                              const Oid *paramTypes, const char *const *paramValues,
                                              const int *paramLengths, const int *paramFormats,
                                              int resultFormat, const stitch_pq_opts_t *opts);
STITCH_EXTERN PGresult *stitch_pq_exec_prepared(PGconn *conn, const char *stmtName,
                                                const char *query_text, int nParams,
                                                const char *const *paramValues,
                                                const int *paramLengths, const int *paramFormats,
                                                int resultFormat, const stitch_pq_opts_t *opts);

#ifdef __cplusplus
}
#endif
#endif
