/* The demo's product database over SQLite or PostgreSQL (demo/store.h).
 * Invariant: every statement a request causes goes through stitch's
 * adapter (one CLIENT span each, child of the caller's current span);
 * set-up statements (demo_store_seed) are not traced. */
#include "store.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "stitch/instrument/pq.h"
#include "stitch/instrument/sqlite.h"

struct demo_store {
    pthread_mutex_t mu;
    sqlite3 *lite;
    PGconn *pg;
};

static const char *const SEED_SQL =
    "CREATE TABLE IF NOT EXISTS products (id TEXT PRIMARY KEY, name TEXT NOT NULL, "
    "price_cents BIGINT NOT NULL, stock BIGINT NOT NULL);"
    "INSERT INTO products VALUES ('XYZ', 'Stitch T-shirt', 1999, 1000) ON CONFLICT DO NOTHING;"
    "INSERT INTO products VALUES ('ABC', 'Tracing mug', 1250, 1000) ON CONFLICT DO NOTHING;"
    "INSERT INTO products VALUES ('WF1', 'Waterfall poster', 900, 1000) ON CONFLICT DO NOTHING;";

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

demo_store_t *demo_store_open(const char *dsn, char *errbuf, size_t errlen)
{
    demo_store_t *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    if (strncmp(dsn, "sqlite:", 7) == 0) {
        if (sqlite3_open_v2(dsn + 7, &s->lite, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                            SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
            snprintf(errbuf, errlen, "sqlite %s: %s", dsn + 7,
                     s->lite ? sqlite3_errmsg(s->lite) : "out of memory");
            demo_store_close(s);
            return NULL;
        }
        sqlite3_busy_timeout(s->lite, 5000); /* two services share the file */
        return s;
    }
    if (strncmp(dsn, "postgres:", 9) == 0) {
        s->pg = PQconnectdb(dsn + 9);
        if (!s->pg || PQstatus(s->pg) != CONNECTION_OK) {
            snprintf(errbuf, errlen, "postgres: %s", s->pg ? PQerrorMessage(s->pg) : "out of memory");
            demo_store_close(s);
            return NULL;
        }
        return s;
    }
    snprintf(errbuf, errlen, "unknown database '%s' (want sqlite:PATH or postgres:CONNINFO)", dsn);
    demo_store_close(s);
    return NULL;
}

void demo_store_close(demo_store_t *s)
{
    if (!s)
        return;
    if (s->lite)
        sqlite3_close(s->lite);
    if (s->pg)
        PQfinish(s->pg);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

const char *demo_store_system(const demo_store_t *s)
{
    return s->lite ? "sqlite" : "postgresql";
}

int demo_store_seed(demo_store_t *s, char *errbuf, size_t errlen)
{
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    if (s->lite) {
        char *err = NULL;
        if (sqlite3_exec(s->lite, "PRAGMA journal_mode=WAL;", NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(s->lite, SEED_SQL, NULL, NULL, &err) != SQLITE_OK) {
            snprintf(errbuf, errlen, "seed: %s", err ? err : sqlite3_errmsg(s->lite));
            rc = -1;
        }
        sqlite3_free(err);
    } else {
        PGresult *r = PQexec(s->pg, SEED_SQL);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            snprintf(errbuf, errlen, "seed: %s", PQresultErrorMessage(r));
            rc = -1;
        }
        PQclear(r);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

static int lite_get(demo_store_t *s, const char *id, unsigned delay_ms, demo_product_t *out,
                    char *errbuf, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->lite, "SELECT * FROM products WHERE id = ?", -1, &st, NULL) !=
        SQLITE_OK) {
        /* A statement that cannot even be prepared (no such table) still
         * gets its span, marked failed, through stitch_sqlite_exec's path. */
        char *err = NULL;
        (void)stitch_sqlite_exec(s->lite, "SELECT * FROM products WHERE id = ?", NULL, NULL, &err,
                                 NULL);
        snprintf(errbuf, errlen, "%s", err ? err : sqlite3_errmsg(s->lite));
        sqlite3_free(err);
        return -1;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    stitch_span_t *span = stitch_sqlite_begin(st, NULL);
    if (delay_ms)
        sleep_ms(delay_ms);
    int rc = sqlite3_step(st), found = 0;
    if (rc == SQLITE_ROW) {
        found = 1;
        copy_str(out->id, sizeof out->id, (const char *)sqlite3_column_text(st, 0));
        copy_str(out->name, sizeof out->name, (const char *)sqlite3_column_text(st, 1));
        out->price_cents = sqlite3_column_int64(st, 2);
        out->stock = sqlite3_column_int64(st, 3);
    } else if (rc != SQLITE_DONE) {
        snprintf(errbuf, errlen, "%s", sqlite3_errmsg(s->lite));
        found = -1;
    }
    stitch_sqlite_finish(span, st, rc);
    sqlite3_finalize(st);
    return found;
}

static int pg_get(demo_store_t *s, const char *id, unsigned delay_ms, demo_product_t *out,
                  char *errbuf, size_t errlen)
{
    static const char *const q = "SELECT * FROM products WHERE id = $1";
    const char *vals[1] = {id};
    stitch_span_t *span = stitch_pq_begin(s->pg, q, NULL);
    if (delay_ms)
        sleep_ms(delay_ms);
    PGresult *r = PQexecParams(s->pg, q, 1, NULL, vals, NULL, NULL, 0);
    stitch_pq_finish(span, s->pg, r);
    int found;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(errbuf, errlen, "%s", PQresultErrorMessage(r));
        found = -1;
    } else if (PQntuples(r) == 0) {
        found = 0;
    } else {
        found = 1;
        copy_str(out->id, sizeof out->id, PQgetvalue(r, 0, 0));
        copy_str(out->name, sizeof out->name, PQgetvalue(r, 0, 1));
        out->price_cents = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
        out->stock = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
    }
    PQclear(r);
    return found;
}

int demo_store_get_product(demo_store_t *s, const char *id, unsigned delay_ms, demo_product_t *out,
                           char *errbuf, size_t errlen)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&s->mu);
    int rc = s->lite ? lite_get(s, id, delay_ms, out, errbuf, errlen)
                     : pg_get(s, id, delay_ms, out, errbuf, errlen);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int demo_store_reserve(demo_store_t *s, const char *id, int64_t qty, char *errbuf, size_t errlen)
{
    int result = -1;
    pthread_mutex_lock(&s->mu);
    if (s->lite) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(s->lite,
                               "UPDATE products SET stock = stock - ? WHERE id = ? AND stock >= ?",
                               -1, &st, NULL) != SQLITE_OK) {
            snprintf(errbuf, errlen, "%s", sqlite3_errmsg(s->lite));
        } else {
            sqlite3_bind_int64(st, 1, qty);
            sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 3, qty);
            stitch_span_t *span = stitch_sqlite_begin(st, NULL);
            int rc = sqlite3_step(st);
            stitch_sqlite_finish(span, st, rc);
            if (rc == SQLITE_DONE)
                result = sqlite3_changes(s->lite) > 0 ? 1 : 0;
            else
                snprintf(errbuf, errlen, "%s", sqlite3_errmsg(s->lite));
            sqlite3_finalize(st);
        }
    } else {
        char q[32];
        snprintf(q, sizeof q, "%lld", (long long)qty);
        const char *vals[2] = {q, id};
        PGresult *r = stitch_pq_exec_params(
            s->pg, "UPDATE products SET stock = stock - $1 WHERE id = $2 AND stock >= $1", 2, NULL,
            vals, NULL, NULL, 0, NULL);
        if (PQresultStatus(r) == PGRES_COMMAND_OK)
            result = strtol(PQcmdTuples(r), NULL, 10) > 0 ? 1 : 0;
        else
            snprintf(errbuf, errlen, "%s", PQresultErrorMessage(r));
        PQclear(r);
    }
    pthread_mutex_unlock(&s->mu);
    return result;
}
