/* SQLite adapter (stitch/instrument/sqlite.h): a CLIENT span around the
 * execution of one prepared statement. Invariant: the adapter never steps,
 * resets or finalizes the caller's statements; stitch_sqlite_exec owns the
 * statements it prepares and finalizes each before the next. */
#include "stitch/instrument/sqlite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

const char *stitch_sqlite_code_name(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK: return "SQLITE_OK";
    case SQLITE_ERROR: return "SQLITE_ERROR";
    case SQLITE_INTERNAL: return "SQLITE_INTERNAL";
    case SQLITE_PERM: return "SQLITE_PERM";
    case SQLITE_ABORT: return "SQLITE_ABORT";
    case SQLITE_BUSY: return "SQLITE_BUSY";
    case SQLITE_LOCKED: return "SQLITE_LOCKED";
    case SQLITE_NOMEM: return "SQLITE_NOMEM";
    case SQLITE_READONLY: return "SQLITE_READONLY";
    case SQLITE_INTERRUPT: return "SQLITE_INTERRUPT";
    case SQLITE_IOERR: return "SQLITE_IOERR";
    case SQLITE_CORRUPT: return "SQLITE_CORRUPT";
    case SQLITE_NOTFOUND: return "SQLITE_NOTFOUND";
    case SQLITE_FULL: return "SQLITE_FULL";
    case SQLITE_CANTOPEN: return "SQLITE_CANTOPEN";
    case SQLITE_PROTOCOL: return "SQLITE_PROTOCOL";
    case SQLITE_SCHEMA: return "SQLITE_SCHEMA";
    case SQLITE_TOOBIG: return "SQLITE_TOOBIG";
    case SQLITE_CONSTRAINT: return "SQLITE_CONSTRAINT";
    case SQLITE_MISMATCH: return "SQLITE_MISMATCH";
    case SQLITE_MISUSE: return "SQLITE_MISUSE";
    case SQLITE_NOLFS: return "SQLITE_NOLFS";
    case SQLITE_AUTH: return "SQLITE_AUTH";
    case SQLITE_RANGE: return "SQLITE_RANGE";
    case SQLITE_NOTADB: return "SQLITE_NOTADB";
    case SQLITE_ROW: return "SQLITE_ROW";
    case SQLITE_DONE: return "SQLITE_DONE";
    default: break;
    }
    static _Thread_local char buf[24];
    if (snprintf(buf, sizeof buf, "SQLITE_%d", rc & 0xff) >= (int)sizeof buf)
        return "_OTHER";
    return buf;
}

static stitch_tracer_t *tracer_of(const stitch_sqlite_opts_t *o)
{
    if (o && o->tracer)
        return o->tracer;
    return stitch_global_tracer(STITCH_SQLITE_SCOPE, STITCH_VERSION_STRING);
}

/* The base name of the main database file, or NULL (in-memory, temp). */
static const char *file_base(sqlite3 *db)
{
    const char *f = db ? sqlite3_db_filename(db, "main") : NULL;
    if (!f || !*f)
        return NULL;
    const char *slash = strrchr(f, '/');
    return slash ? slash + 1 : f;
}

static stitch_span_t *start(sqlite3 *db, const char *sql, size_t len, const stitch_sqlite_opts_t *o)
{
    stitch__db_span_opts_t so = {
        .tracer = tracer_of(o),
        .parent = o ? o->parent : NULL,
        .system = "sqlite",
        .db_namespace = (o && o->db_namespace) ? o->db_namespace : file_base(db),
        .query = sql,
        .query_len = len,
    };
    return stitch__db_span_start(&so);
}

stitch_span_t *stitch_sqlite_begin(sqlite3_stmt *stmt, const stitch_sqlite_opts_t *opts)
{
    const char *sql = stmt ? sqlite3_sql(stmt) : NULL;
    return start(stmt ? sqlite3_db_handle(stmt) : NULL, sql, sql ? strlen(sql) : 0, opts);
}

static void fail(stitch_span_t *span, int rc, const char *msg)
{
    char code[16];
    int n = snprintf(code, sizeof code, "%d", rc);
    stitch__db_span_fail(span, n > 0 && (size_t)n < sizeof code ? code : NULL,
                         stitch_sqlite_code_name(rc), msg);
}

void stitch_sqlite_finish(stitch_span_t *span, sqlite3_stmt *stmt, int rc)
{
    if (!span)
        return;
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        sqlite3 *db = stmt ? sqlite3_db_handle(stmt) : NULL;
        /* The extended code when the connection has it (sqlite3_step
         * returns the primary code unless extended codes are on). */
        int ext = db ? sqlite3_extended_errcode(db) : rc;
        if ((ext & 0xff) != (rc & 0xff))
            ext = rc;
        fail(span, ext, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    }
    stitch_span_end(span);
}

/* sqlite3_exec's errmsg: a copy made with sqlite3_malloc, as it documents. */
static void set_errmsg(char **errmsg, const char *msg)
{
    if (errmsg)
        *errmsg = sqlite3_mprintf("%s", msg);
}

int stitch_sqlite_exec(sqlite3 *db, const char *sql, int (*callback)(void *, int, char **, char **),
                       void *arg, char **errmsg, const stitch_sqlite_opts_t *opts)
{
    if (errmsg)
        *errmsg = NULL;
    if (!db)
        return SQLITE_MISUSE;
    const char *rest = sql ? sql : "";
    int rc = SQLITE_OK;
    while (rc == SQLITE_OK && *rest) {
        sqlite3_stmt *st = NULL;
        const char *tail = NULL;
        rc = sqlite3_prepare_v2(db, rest, -1, &st, &tail);
        if (rc != SQLITE_OK) {
            stitch_span_t *span = start(db, rest, strlen(rest), opts);
            fail(span, sqlite3_extended_errcode(db), sqlite3_errmsg(db));
            stitch_span_end(span);
            set_errmsg(errmsg, sqlite3_errmsg(db));
            return rc;
        }
        if (!st) { /* only blanks or comments were left */
            rest = tail;
            continue;
        }
        stitch_span_t *span = stitch_sqlite_begin(st, opts);
        int ncol = sqlite3_column_count(st);
        char **cols = ncol ? calloc(2 * (size_t)ncol, sizeof *cols) : NULL;
        if (ncol && !cols) {
            stitch_sqlite_finish(span, st, SQLITE_NOMEM);
            sqlite3_finalize(st);
            set_errmsg(errmsg, sqlite3_errstr(SQLITE_NOMEM));
            return SQLITE_NOMEM;
        }
        int step;
        bool aborted = false;
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            if (!callback)
                continue;
            for (int i = 0; i < ncol; i++) {
                cols[i] = (char *)sqlite3_column_text(st, i);
                cols[ncol + i] = (char *)sqlite3_column_name(st, i);
            }
            if (callback(arg, ncol, cols, cols + ncol) != 0) {
                aborted = true;
                break;
            }
        }
        free(cols);
        if (aborted) {
            stitch_sqlite_finish(span, st, SQLITE_ABORT);
            sqlite3_finalize(st);
            set_errmsg(errmsg, sqlite3_errstr(SQLITE_ABORT));
            return SQLITE_ABORT;
        }
        stitch_sqlite_finish(span, st, step);
        if (step != SQLITE_DONE)
            set_errmsg(errmsg, sqlite3_errmsg(db));
        rc = sqlite3_finalize(st);
        if (step != SQLITE_DONE)
            return rc != SQLITE_OK ? rc : step;
        rest = tail;
    }
    return rc;
}
