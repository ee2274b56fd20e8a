/* instrument/db.h — what the database adapters (sqlite.c, pq.c) share:
 * the CLIENT span of one statement under OpenTelemetry's database
 * conventions (semantic-conventions docs/database/database-spans.md, sql.md):
 * name = db.query.summary ("SELECT products"), db.system.name,
 * db.namespace, db.query.text, db.query.summary, server.address,
 * server.port; on failure db.response.status_code, error.type and ERROR.
 * Internal to the adapters: compiled into each adapter library, hidden. */
#ifndef STITCH_INSTRUMENT_DB_H
#define STITCH_INSTRUMENT_DB_H

#include <stddef.h>

#include "stitch/trace.h"

typedef struct stitch__db_span_opts {
    stitch_tracer_t *tracer;       /* not NULL */
    const stitch_ctx_t *parent;    /* NULL: current context */
    const char *system;            /* db.system.name */
    const char *db_namespace;      /* or NULL */
    const char *query;             /* db.query.text, or NULL */
    size_t query_len;              /* used when query is not NULL */
    const char *server_address;    /* or NULL */
    int server_port;               /* 0: not set */
} stitch__db_span_opts_t;

/* The low-cardinality summary of a SQL statement: its operation keyword
 * upper-cased, followed by the first table it names after FROM, INTO,
 * UPDATE, TABLE or JOIN ("SELECT products", "INSERT cart_lines"); just the
 * keyword when there is no table; "" for empty text. Leading comments and
 * blanks are skipped; quoted identifiers keep their quotes off. Writes at
 * most cap-1 bytes and a NUL; returns the length written. Never reads
 * past `len`. */
size_t stitch__db_summary(const char *sql, size_t len, char *buf, size_t cap);

/* Start the statement's CLIENT span (never NULL). */
stitch_span_t *stitch__db_span_start(const stitch__db_span_opts_t *o);

/* Mark the span failed: db.response.status_code = code (if not NULL),
 * error.type = type, status ERROR with `message` (if not NULL). */
void stitch__db_span_fail(stitch_span_t *s, const char *code, const char *type,
                          const char *message);

#endif
