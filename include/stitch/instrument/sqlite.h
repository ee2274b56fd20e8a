/* stitch/instrument/sqlite.h — one CLIENT span per SQLite statement.
 *
 * OpenTelemetry's database conventions: name = db.query.summary (e.g.
 * "SELECT products"), db.system.name = "sqlite", db.namespace (the database
 * file's base name unless given), db.query.text = the statement as
 * prepared (parameter placeholders, not values), db.query.summary. A
 * statement that fails sets ERROR with sqlite3_errmsg() as the message,
 * db.response.status_code = the extended result code in decimal ("2067"),
 * error.type = the primary result code's name ("SQLITE_CONSTRAINT").
 *
 * A thin wrapper: the application prepares, binds and steps as usual and
 * brackets the execution with begin/finish:
 *
 *     sqlite3_prepare_v2(db, "SELECT * FROM products WHERE id = ?", -1, &st, NULL);
 *     sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
 *     stitch_span_t *span = stitch_sqlite_begin(st, NULL);
 *     while ((rc = sqlite3_step(st)) == SQLITE_ROW) ...;
 *     stitch_sqlite_finish(span, st, rc);
 *     sqlite3_finalize(st);
 *
 * or lets stitch_sqlite_exec() (sqlite3_exec's contract) do all of it, one
 * span per statement of the text.
 *
 * Thread safety: as SQLite's for the connection; spans are per call. */
#ifndef STITCH_INSTRUMENT_SQLITE_H
#define STITCH_INSTRUMENT_SQLITE_H

#include <sqlite3.h>

#include "../context.h"
#include "../trace.h"

#ifdef __cplusplus
extern "C" {
#endif

#define STITCH_SQLITE_SCOPE "stitch.instrument.sqlite"

typedef struct stitch_sqlite_opts {
    /* NULL: stitch_global_tracer(STITCH_SQLITE_SCOPE, ...). Borrowed. */
    stitch_tracer_t *tracer;
    /* Parent of the span. NULL: the thread's current context. Borrowed
     * for the begin call. */
    const stitch_ctx_t *parent;
    /* db.namespace. NULL: the base name of the "main" database's file
     * ("shop.db"); nothing for an in-memory database. Copied. */
    const char *db_namespace;
} stitch_sqlite_opts_t;

/* Start the CLIENT span for `stmt` (sqlite3_sql(stmt) as db.query.text).
 * Call it after binding, before the first sqlite3_step. `opts` may be NULL.
 * Never returns NULL (no span is recorded for a NULL stmt, but the call
 * pair still works). */
STITCH_EXTERN stitch_span_t *stitch_sqlite_begin(sqlite3_stmt *stmt, const stitch_sqlite_opts_t *opts);

/* End the span. `rc` is the result that ended the execution: the last
 * sqlite3_step() result (SQLITE_DONE, or SQLITE_ROW when the caller
 * stopped early: both success), or any error code, which marks the span
 * (message from sqlite3_errmsg of stmt's connection). Call it before
 * sqlite3_reset/finalize so that the error message is still there. `span`
 * is invalid afterwards; NULL is fine. */
STITCH_EXTERN void stitch_sqlite_finish(stitch_span_t *span, sqlite3_stmt *stmt, int rc);

/* sqlite3_exec with a span per statement: the same arguments, callback
 * contract and result (the first failing statement stops it; *errmsg as
 * sqlite3_exec sets it, freed with sqlite3_free). A failure to prepare a
 * statement also makes a span, marked failed, with the remaining text as
 * db.query.text. `opts` may be NULL. */
STITCH_EXTERN int stitch_sqlite_exec(sqlite3 *db, const char *sql,
                                     int (*callback)(void *, int, char **, char **), void *arg,
                                     char **errmsg, const stitch_sqlite_opts_t *opts);

/* The name of a result code's primary code: "SQLITE_BUSY" for
 * SQLITE_BUSY_SNAPSHOT, ...; "SQLITE_<n>" beyond those it knows. Static or
 * per-thread storage; valid until the thread's next call. */
STITCH_EXTERN const char *stitch_sqlite_code_name(int rc);

#ifdef __cplusplus
}
#endif
#endif
