/* libpq adapter (stitch/instrument/pq.h): a CLIENT span around one
 * statement. Invariant: the adapter never owns a PGresult or a connection;
 * it reads them and the drop-in calls hand libpq's result back unchanged. */
#include "stitch/instrument/pq.h"

#include <stdlib.h>
#include <string.h>

#include "db.h"

#define PG_DEFAULT_PORT 5432
#define MAX_MESSAGE 512

static stitch_tracer_t *tracer_of(const stitch_pq_opts_t *o)
{
    if (o && o->tracer)
        return o->tracer;
    return stitch_global_tracer(STITCH_PQ_SCOPE, STITCH_VERSION_STRING);
}

stitch_span_t *stitch_pq_begin(PGconn *conn, const char *query, const stitch_pq_opts_t *opts)
{
    int port = 0;
    const char *ps = conn ? PQport(conn) : NULL;
    if (ps && *ps) {
        long p = strtol(ps, NULL, 10);
        if (p > 0 && p < 65536 && p != PG_DEFAULT_PORT)
            port = (int)p;
    }
    stitch__db_span_opts_t so = {
        .tracer = tracer_of(opts),
        .parent = opts ? opts->parent : NULL,
        .system = "postgresql",
        .db_namespace = (opts && opts->db_namespace) ? opts->db_namespace : conn ? PQdb(conn) : NULL,
        .query = query,
        .query_len = query ? strlen(query) : 0,
        .server_address = conn ? PQhost(conn) : NULL,
        .server_port = port,
    };
    return stitch__db_span_start(&so);
}

/* The message's first line, cut to fit `buf`. */
static const char *trim(const char *msg, char *buf, size_t cap)
{
    if (!msg)
        return NULL;
    /* The first line: the server's "ERROR:  ..." line; the LINE/HINT
     * lines after it repeat the query or advise, and may be long. */
    size_t n = strcspn(msg, "\n");
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        n--;
    if (n >= cap)
        n = cap - 1;
    memcpy(buf, msg, n);
    buf[n] = '\0';
    return buf;
}

void stitch_pq_finish(stitch_span_t *span, PGconn *conn, const PGresult *res)
{
    if (!span)
        return;
    char msg[MAX_MESSAGE];
    if (!res) {
        stitch__db_span_fail(span, NULL, "PGRES_FATAL_ERROR",
                             trim(conn ? PQerrorMessage(conn) : "no result", msg, sizeof msg));
        stitch_span_end(span);
        return;
    }
    ExecStatusType st = PQresultStatus(res);
    switch (st) {
    case PGRES_COMMAND_OK:
    case PGRES_TUPLES_OK:
    case PGRES_SINGLE_TUPLE:
    case PGRES_EMPTY_QUERY:
    case PGRES_COPY_OUT:
    case PGRES_COPY_IN:
    case PGRES_COPY_BOTH:
        break;
    default: {
        const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        const char *type = sqlstate && *sqlstate ? sqlstate : PQresStatus(st);
        stitch__db_span_fail(span, sqlstate, type, trim(PQresultErrorMessage(res), msg, sizeof msg));
        break;
    }
    }
    stitch_span_end(span);
}

PGresult *stitch_pq_exec(PGconn *conn, const char *query, const stitch_pq_opts_t *opts)
{
    stitch_span_t *s = stitch_pq_begin(conn, query, opts);
    PGresult *r = PQexec(conn, query);
    stitch_pq_finish(s, conn, r);
    return r;
}

PGresult *stitch_pq_exec_params(PGconn *conn, const char *command, int nParams,
                                const Oid *paramTypes, const char *const *paramValues,
                                const int *paramLengths, const int *paramFormats, int resultFormat,
                                const stitch_pq_opts_t *opts)
{
    stitch_span_t *s = stitch_pq_begin(conn, command, opts);
    PGresult *r = PQexecParams(conn, command, nParams, paramTypes, paramValues, paramLengths,
                               paramFormats, resultFormat);
    stitch_pq_finish(s, conn, r);
    return r;
}

PGresult *stitch_pq_exec_prepared(PGconn *conn, const char *stmtName, const char *query_text,
                                  int nParams, const char *const *paramValues,
                                  const int *paramLengths, const int *paramFormats,
                                  int resultFormat, const stitch_pq_opts_t *opts)
{
    stitch_span_t *s = stitch_pq_begin(conn, query_text, opts);
    PGresult *r = PQexecPrepared(conn, stmtName, nParams, paramValues, paramLengths, paramFormats,
                                 resultFormat);
    stitch_pq_finish(s, conn, r);
    return r;
}
