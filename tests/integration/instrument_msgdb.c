/* The messaging and database adapters against real servers: NATS_URL (a
 * nats-server) and PG_CONNINFO (a PostgreSQL) come from
 * tests/integration/test_instrument_msgdb.sh, which starts both on free
 * loopback ports and stops them; SQLite runs on a file in TMPDIR. Spans are
 * caught with the SDK's memory processor, installed as the global provider
 * that the adapters use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "instrument/db.h"
#include "stitch/instrument/messaging.h"
#include "stitch/instrument/nats.h"
#include "stitch/instrument/pq.h"
#include "stitch/instrument/sqlite.h"
#include "stitch/stitch.h"

static stitch_provider_t *prov;
static stitch_processor_t *mem;

static int setup(void **state)
{
    (void)state;
    stitch_provider_opts_t po = {.no_env = true};
    assert_int_equal(stitch_provider_new(&prov, &po), 0);
    mem = stitch_memory_processor_new(0);
    assert_non_null(mem);
    assert_int_equal(stitch_provider_add_processor(prov, mem), 0);
    stitch_set_global_provider(prov);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    stitch_set_global_provider(NULL);
    stitch_provider_free(prov);
    return 0;
}

static int clear(void **state)
{
    (void)state;
    stitch_memory_processor_clear(mem);
    return 0;
}

static const stitch_span_data_t *span_named(const char *name)
{
    size_t n = stitch_memory_processor_count(mem);
    for (size_t i = 0; i < n; i++) {
        const stitch_span_data_t *d = stitch_memory_processor_get(mem, i);
        if (strcmp(d->name, name) == 0)
            return d;
    }
    fail_msg("no span named '%s' among %zu", name, n);
    return NULL;
}

static const char *attr_str(const stitch_span_data_t *d, const char *key)
{
    const stitch_value_t *v = stitch_span_data_attr(d, key);
    if (!v || v->type != STITCH_VALUE_STRING)
        return NULL;
    return v->u.str;
}

static int64_t attr_int(const stitch_span_data_t *d, const char *key)
{
    const stitch_value_t *v = stitch_span_data_attr(d, key);
    assert_non_null(v);
    assert_int_equal(v->type, STITCH_VALUE_INT);
    return v->u.i;
}

static void assert_attr(const stitch_span_data_t *d, const char *key, const char *want)
{
    const char *got = attr_str(d, key);
    if (!got || strcmp(got, want) != 0)
        fail_msg("span '%s': %s = '%s', want '%s'", d->name, key, got ? got : "(absent)", want);
}

static stitch_tracer_t *tracer(void)
{
    return stitch_tracer(prov, "test", NULL);
}

/* ---- the generic layer ---------------------------------------------------------- */

static void test_messaging_headers_round_trip(void **state)
{
    (void)state;
    stitch_msg_headers_t out = STITCH_MSG_HEADERS_INIT;
    stitch_carrier_t c;
    stitch_msg_headers_carrier(&out, &c);
    stitch_span_t *parent = stitch_span_start(tracer(), "parent", NULL);
    stitch_scope_t sc = stitch_scope_push(parent);
    stitch_msg_opts_t o = {.system = "kafka", .destination = "orders"};
    stitch_span_t *pub = stitch_msg_publish_begin(&o, &c);
    stitch_msg_end(pub, NULL, NULL);
    stitch_scope_pop(sc);
    stitch_span_end(parent);
    assert_true(out.count >= 1);

    /* The consumer sees the list as a broker hands it: a borrowed array,
     * names in another case. */
    stitch_msg_header_t in[8];
    char names[8][32];
    size_t n = 0;
    for (size_t i = 0; i < out.count && i < 8; i++, n++) {
        snprintf(names[i], sizeof names[i], "%s", out.items[i].name);
        names[i][0] = (char)(names[i][0] - 32); /* "Traceparent" */
        in[i] = (stitch_msg_header_t){names[i], out.items[i].name_len, out.items[i].value,
                                      out.items[i].value_len};
    }
    stitch_msg_headers_t view;
    stitch_msg_headers_view(&view, in, n);
    stitch_carrier_t vc;
    stitch_msg_headers_carrier(&view, &vc);
    assert_int_equal(vc.set(vc.self, "x", "y"), STITCH_ESTATE);
    stitch_span_t *proc = stitch_msg_process_begin(&o, &vc);
    stitch_msg_end(proc, "boom", "it broke");
    stitch_msg_headers_free(&out);
    assert_int_equal(out.count, 0);

    const stitch_span_data_t *p = span_named("publish orders");
    const stitch_span_data_t *q = span_named("process orders");
    const stitch_span_data_t *root = span_named("parent");
    assert_int_equal(p->kind, STITCH_SPAN_KIND_PRODUCER);
    assert_memory_equal(p->parent_span_id, root->ctx.span_id, 8);
    assert_int_equal(q->kind, STITCH_SPAN_KIND_CONSUMER);
    assert_memory_equal(q->ctx.trace_id, p->ctx.trace_id, 16);
    assert_memory_equal(q->parent_span_id, p->ctx.span_id, 8);
    assert_int_equal(q->nlinks, 1);
    assert_memory_equal(q->links[0].ctx.span_id, p->ctx.span_id, 8);
    assert_attr(p, "messaging.operation.type", "send");
    assert_attr(q, "messaging.operation.type", "process");
    assert_attr(q, "messaging.system", "kafka");
    assert_attr(q, "error.type", "boom");
    assert_int_equal(q->status, STITCH_STATUS_ERROR);
}

static void test_messaging_set_replaces(void **state)
{
    (void)state;
    stitch_msg_headers_t hs = STITCH_MSG_HEADERS_INIT;
    stitch_carrier_t c;
    stitch_msg_headers_carrier(&hs, &c);
    assert_int_equal(c.set(c.self, "traceparent", "a"), 0);
    assert_int_equal(c.set(c.self, "other", "b"), 0);
    assert_int_equal(c.set(c.self, "TRACEPARENT", "c"), 0);
    assert_int_equal(hs.count, 2);
    size_t len = 0;
    const char *v = c.get(c.self, "traceparent", 0, &len);
    assert_non_null(v);
    assert_string_equal(v, "c");
    assert_null(c.get(c.self, "traceparent", 1, &len));
    stitch_msg_headers_free(&hs);
}

static void test_messaging_no_context(void **state)
{
    (void)state;
    stitch_msg_headers_t view;
    stitch_msg_headers_view(&view, NULL, 0);
    stitch_carrier_t vc;
    stitch_msg_headers_carrier(&view, &vc);
    stitch_msg_opts_t o = {.system = "mqtt", .destination = "t"};
    stitch_ctx_t root = STITCH_CTX_INIT;
    o.parent = &root;
    stitch_msg_end(stitch_msg_process_begin(&o, &vc), NULL, NULL);
    const stitch_span_data_t *q = span_named("process t");
    assert_int_equal(q->nlinks, 0);
    static const uint8_t zero[8];
    assert_memory_equal(q->parent_span_id, zero, 8);
}

/* ---- NATS ------------------------------------------------------------------------ */

static natsConnection *nats_connect(void)
{
    const char *url = getenv("NATS_URL");
    if (!url)
        fail_msg("NATS_URL is not set (run tests/integration/test_instrument_msgdb.sh)");
    natsConnection *nc = NULL;
    natsStatus s = natsConnection_ConnectTo(&nc, url);
    if (s != NATS_OK)
        fail_msg("cannot connect to %s: %s", url, natsStatus_GetText(s));
    return nc;
}

static natsMsg *next(natsSubscription *sub)
{
    natsMsg *m = NULL;
    natsStatus s = natsSubscription_NextMsg(&m, sub, 5000);
    if (s != NATS_OK)
        fail_msg("no message: %s", natsStatus_GetText(s));
    return m;
}

static void test_nats_publish_then_process(void **state)
{
    (void)state;
    natsConnection *nc = nats_connect();
    natsSubscription *sub = NULL;
    assert_int_equal(natsConnection_SubscribeSync(&sub, nc, "cart.events"), NATS_OK);
    assert_int_equal(natsConnection_Flush(nc), NATS_OK);

    natsMsg *m = NULL;
    assert_int_equal(natsMsg_Create(&m, "cart.events", NULL, "{\"a\":1}", 7), NATS_OK);
    stitch_span_t *parent = stitch_span_start(tracer(), "addItem", NULL);
    stitch_scope_t sc = stitch_scope_push(parent);
    stitch_nats_opts_t no = {.msg = {.server_address = "127.0.0.1"}};
    assert_int_equal(stitch_nats_publish_msg(nc, m, &no), NATS_OK);
    stitch_scope_pop(sc);
    stitch_span_end(parent);
    natsMsg_Destroy(m);

    natsMsg *got = next(sub);
    const char *tp = NULL;
    assert_int_equal(natsMsgHeader_Get(got, "traceparent", &tp), NATS_OK);
    assert_int_equal(strlen(tp), 55);
    stitch_span_t *proc = stitch_nats_process_begin(got, NULL);
    stitch_msg_end(proc, NULL, NULL);
    natsMsg_Destroy(got);

    const stitch_span_data_t *p = span_named("publish cart.events");
    const stitch_span_data_t *q = span_named("process cart.events");
    const stitch_span_data_t *a = span_named("addItem");
    assert_int_equal(p->kind, STITCH_SPAN_KIND_PRODUCER);
    assert_memory_equal(p->parent_span_id, a->ctx.span_id, 8);
    assert_attr(p, "messaging.system", "nats");
    assert_attr(p, "messaging.destination.name", "cart.events");
    assert_attr(p, "messaging.operation.name", "publish");
    assert_attr(p, "server.address", "127.0.0.1");
    assert_int_equal(attr_int(p, "messaging.message.body.size"), 7);
    assert_int_equal(q->kind, STITCH_SPAN_KIND_CONSUMER);
    assert_memory_equal(q->ctx.trace_id, a->ctx.trace_id, 16);
    assert_memory_equal(q->parent_span_id, p->ctx.span_id, 8);
    assert_true(q->parent_remote);
    assert_int_equal(q->nlinks, 1);
    assert_memory_equal(q->links[0].ctx.span_id, p->ctx.span_id, 8);
    assert_attr(q, "messaging.operation.type", "process");
    assert_int_equal(q->status, STITCH_STATUS_UNSET);

    natsSubscription_Destroy(sub);
    natsConnection_Destroy(nc);
}

/* Header names in another case (another client may send "Traceparent"). */
static void test_nats_header_case(void **state)
{
    (void)state;
    natsConnection *nc = nats_connect();
    natsSubscription *sub = NULL;
    assert_int_equal(natsConnection_SubscribeSync(&sub, nc, "case.t"), NATS_OK);
    assert_int_equal(natsConnection_Flush(nc), NATS_OK);
    natsMsg *m = NULL;
    assert_int_equal(natsMsg_Create(&m, "case.t", NULL, "x", 1), NATS_OK);
    assert_int_equal(natsMsgHeader_Set(m, "Traceparent",
                                       "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
                     NATS_OK);
    assert_int_equal(natsConnection_PublishMsg(nc, m), NATS_OK);
    natsMsg_Destroy(m);
    natsMsg *got = next(sub);
    stitch_msg_end(stitch_nats_process_begin(got, NULL), NULL, NULL);

    /* set() replaces the other spelling instead of adding a second header */
    stitch_carrier_t c;
    stitch_nats_carrier(got, &c);
    assert_int_equal(c.set(c.self, "traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b8-01"), 0);
    size_t len;
    assert_non_null(c.get(c.self, "TRACEPARENT", 0, &len));
    assert_null(c.get(c.self, "traceparent", 1, &len));
    natsMsg_Destroy(got);

    const stitch_span_data_t *q = span_named("process case.t");
    static const uint8_t want_parent[8] = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
    assert_memory_equal(q->parent_span_id, want_parent, 8);
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(nc);
}

/* A consumer handling a batch: one span, one link per message, each to its
 * own producer, and the batch size. */
static void test_nats_batch_links(void **state)
{
    (void)state;
    natsConnection *nc = nats_connect();
    natsSubscription *sub = NULL;
    assert_int_equal(natsConnection_SubscribeSync(&sub, nc, "batch.t"), NATS_OK);
    assert_int_equal(natsConnection_Flush(nc), NATS_OK);
    stitch_span_ctx_t producers[3];
    for (int i = 0; i < 3; i++) {
        natsMsg *m = NULL;
        assert_int_equal(natsMsg_Create(&m, "batch.t", NULL, "x", 1), NATS_OK);
        stitch_span_t *s = stitch_nats_publish_begin(m, NULL);
        producers[i] = stitch_span_context(s);
        stitch_nats_publish_end(s, natsConnection_PublishMsg(nc, m));
        natsMsg_Destroy(m);
    }
    /* plus one message without context: counted, not linked */
    assert_int_equal(natsConnection_PublishString(nc, "batch.t", "bare"), NATS_OK);
    natsMsg *msgs[4];
    for (int i = 0; i < 4; i++)
        msgs[i] = next(sub);
    stitch_msg_end(stitch_nats_batch_begin(msgs, 4, NULL), NULL, NULL);
    for (int i = 0; i < 4; i++)
        natsMsg_Destroy(msgs[i]);

    const stitch_span_data_t *b = span_named("process batch.t");
    assert_int_equal(b->kind, STITCH_SPAN_KIND_CONSUMER);
    assert_int_equal(attr_int(b, "messaging.batch.message_count"), 4);
    assert_int_equal(b->nlinks, 3);
    for (int i = 0; i < 3; i++) {
        assert_memory_equal(b->links[i].ctx.span_id, producers[i].span_id, 8);
        assert_memory_equal(b->links[i].ctx.trace_id, producers[i].trace_id, 16);
    }
    assert_null(stitch_span_data_attr(b, "messaging.message.body.size"));
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(nc);
}

static void test_nats_publish_error(void **state)
{
    (void)state;
    natsConnection *nc = nats_connect();
    natsConnection_Close(nc);
    natsMsg *m = NULL;
    assert_int_equal(natsMsg_Create(&m, "closed.t", NULL, "x", 1), NATS_OK);
    assert_int_equal(stitch_nats_publish_msg(nc, m, NULL), NATS_CONNECTION_CLOSED);
    natsMsg_Destroy(m);
    const stitch_span_data_t *p = span_named("publish closed.t");
    assert_int_equal(p->status, STITCH_STATUS_ERROR);
    assert_attr(p, "error.type", "NATS_CONNECTION_CLOSED");
    natsConnection_Destroy(nc);
}

/* ---- SQL summary ------------------------------------------------------------------- */

static void test_db_summary(void **state)
{
    (void)state;
    static const struct { const char *sql, *want; } cases[] = {
        {"SELECT * FROM products WHERE id = ?", "SELECT products"},
        {"  -- note\n select a from \"Order Items\" o", "SELECT Order Items"},
        {"UPDATE products SET stock = stock - ?", "UPDATE products"},
        {"insert or replace into cart_lines values (1)", "INSERT cart_lines"},
        {"CREATE TABLE IF NOT EXISTS products (id TEXT)", "CREATE products"},
        {"SELECT * FROM (SELECT id FROM inner_t) t", "SELECT inner_t"},
        {"/* c */ DELETE FROM public.users", "DELETE public.users"},
        {"BEGIN", "BEGIN"},
        {"", ""},
        {"SELECT 1 FROM", "SELECT"},
        {"/* never closed", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[64];
        stitch__db_summary(cases[i].sql, strlen(cases[i].sql), buf, sizeof buf);
        if (strcmp(buf, cases[i].want) != 0)
            fail_msg("summary of '%s' = '%s', want '%s'", cases[i].sql, buf, cases[i].want);
    }
    char tiny[8];
    assert_int_equal(stitch__db_summary("SELECT * FROM products", 22, tiny, sizeof tiny), 7);
    assert_string_equal(tiny, "SELECT ");
    /* len bounds the read: "SELECT" of "SELECTED" */
    char b2[16];
    stitch__db_summary("SELECTED", 6, b2, sizeof b2);
    assert_string_equal(b2, "SELECT");
}

/* ---- SQLite ------------------------------------------------------------------------- */

static sqlite3 *lite_open(char *path, size_t cap)
{
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(path, cap, "%s/stitch-sqlite-%d.db", tmp, (int)getpid());
    unlink(path);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE products (id TEXT PRIMARY KEY, stock INT);"
                                      "INSERT INTO products VALUES ('XYZ', 3);",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    return db;
}

static void test_sqlite_statement_span(void **state)
{
    (void)state;
    char path[256];
    sqlite3 *db = lite_open(path, sizeof path);
    stitch_span_t *parent = stitch_span_start(tracer(), "getProduct", NULL);
    stitch_scope_t sc = stitch_scope_push(parent);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT * FROM products WHERE id = ?", -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, "XYZ", -1, SQLITE_STATIC);
    stitch_span_t *s = stitch_sqlite_begin(st, NULL);
    int rc = sqlite3_step(st);
    assert_int_equal(rc, SQLITE_ROW);
    stitch_sqlite_finish(s, st, rc);
    sqlite3_finalize(st);
    stitch_scope_pop(sc);
    stitch_span_end(parent);

    const stitch_span_data_t *d = span_named("SELECT products");
    const stitch_span_data_t *p = span_named("getProduct");
    assert_int_equal(d->kind, STITCH_SPAN_KIND_CLIENT);
    assert_memory_equal(d->parent_span_id, p->ctx.span_id, 8);
    assert_attr(d, "db.system.name", "sqlite");
    assert_attr(d, "db.query.text", "SELECT * FROM products WHERE id = ?");
    assert_attr(d, "db.query.summary", "SELECT products");
    const char *base = strrchr(path, '/') + 1;
    assert_attr(d, "db.namespace", base);
    assert_null(stitch_span_data_attr(d, "db.system")); /* the old name is not emitted */
    assert_int_equal(d->status, STITCH_STATUS_UNSET);
    assert_true(d->start_ns >= p->start_ns && d->end_ns <= p->end_ns);
    sqlite3_close(db);
    unlink(path);
}

static void test_sqlite_error_marks_span(void **state)
{
    (void)state;
    char path[256];
    sqlite3 *db = lite_open(path, sizeof path);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO products VALUES ('XYZ', 1)", -1, &st, NULL),
                     SQLITE_OK);
    stitch_span_t *s = stitch_sqlite_begin(st, &(stitch_sqlite_opts_t){.db_namespace = "shop"});
    int rc = sqlite3_step(st);
    assert_int_equal(rc, SQLITE_CONSTRAINT);
    stitch_sqlite_finish(s, st, rc);
    sqlite3_finalize(st);
    const stitch_span_data_t *d = span_named("INSERT products");
    assert_int_equal(d->status, STITCH_STATUS_ERROR);
    assert_attr(d, "error.type", "SQLITE_CONSTRAINT");
    assert_attr(d, "db.response.status_code", "1555"); /* SQLITE_CONSTRAINT_PRIMARYKEY */
    assert_attr(d, "db.namespace", "shop");
    assert_non_null(strstr(d->status_message, "UNIQUE constraint failed"));
    sqlite3_close(db);
    unlink(path);
}

static int count_rows(void *arg, int n, char **vals, char **names)
{
    (void)n, (void)vals, (void)names;
    (*(int *)arg)++;
    return 0;
}

static void test_sqlite_exec_span_per_statement(void **state)
{
    (void)state;
    char path[256];
    sqlite3 *db = lite_open(path, sizeof path);
    int rows = 0;
    char *err = NULL;
    assert_int_equal(stitch_sqlite_exec(db, "UPDATE products SET stock = 2; SELECT * FROM products; "
                                            "DELETE FROM products WHERE stock > 9;",
                                        count_rows, &rows, &err, NULL),
                     SQLITE_OK);
    assert_null(err);
    assert_int_equal(rows, 1);
    assert_int_equal(stitch_memory_processor_count(mem), 3);
    assert_attr(span_named("DELETE products"), "db.query.text", "DELETE FROM products WHERE stock > 9");
    stitch_memory_processor_clear(mem);

    /* a statement that does not prepare: a failed span, sqlite3_exec's result */
    assert_int_equal(stitch_sqlite_exec(db, "SELECT * FROM nowhere", NULL, NULL, &err, NULL),
                     SQLITE_ERROR);
    assert_non_null(err);
    assert_non_null(strstr(err, "no such table"));
    sqlite3_free(err);
    const stitch_span_data_t *d = span_named("SELECT nowhere");
    assert_int_equal(d->status, STITCH_STATUS_ERROR);
    assert_attr(d, "error.type", "SQLITE_ERROR");
    sqlite3_close(db);
    unlink(path);
}

/* ---- PostgreSQL ------------------------------------------------------------------------ */

static PGconn *pg_connect(void)
{
    const char *ci = getenv("PG_CONNINFO");
    if (!ci)
        fail_msg("PG_CONNINFO is not set (run tests/integration/test_instrument_msgdb.sh)");
    PGconn *c = PQconnectdb(ci);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("cannot connect to PostgreSQL (%s): %s", ci, PQerrorMessage(c));
    PGresult *r = PQexec(c, "CREATE TABLE IF NOT EXISTS products (id TEXT PRIMARY KEY, stock INT);"
                            "INSERT INTO products VALUES ('XYZ', 3) ON CONFLICT DO NOTHING;");
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    return c;
}

static void test_pq_statement_span(void **state)
{
    (void)state;
    PGconn *c = pg_connect();
    const char *vals[] = {"XYZ"};
    stitch_span_t *parent = stitch_span_start(tracer(), "getProduct", NULL);
    stitch_scope_t sc = stitch_scope_push(parent);
    PGresult *r = stitch_pq_exec_params(c, "SELECT * FROM products WHERE id = $1", 1, NULL, vals,
                                        NULL, NULL, 0, NULL);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(r), 1);
    PQclear(r);
    stitch_scope_pop(sc);
    stitch_span_end(parent);

    const stitch_span_data_t *d = span_named("SELECT products");
    assert_int_equal(d->kind, STITCH_SPAN_KIND_CLIENT);
    assert_memory_equal(d->parent_span_id, span_named("getProduct")->ctx.span_id, 8);
    assert_attr(d, "db.system.name", "postgresql");
    assert_attr(d, "db.query.text", "SELECT * FROM products WHERE id = $1");
    assert_attr(d, "db.namespace", PQdb(c));
    assert_attr(d, "server.address", PQhost(c));
    if (strcmp(PQport(c), "5432") != 0)
        assert_int_equal(attr_int(d, "server.port"), strtol(PQport(c), NULL, 10));
    assert_int_equal(d->status, STITCH_STATUS_UNSET);
    PQfinish(c);
}

static void test_pq_error_marks_span(void **state)
{
    (void)state;
    PGconn *c = pg_connect();
    PGresult *r = stitch_pq_exec(c, "SELECT * FROM no_such_table", NULL);
    assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
    PQclear(r);
    const stitch_span_data_t *d = span_named("SELECT no_such_table");
    assert_int_equal(d->status, STITCH_STATUS_ERROR);
    assert_attr(d, "db.response.status_code", "42P01");
    assert_attr(d, "error.type", "42P01");
    assert_non_null(strstr(d->status_message, "does not exist"));
    assert_null(strchr(d->status_message, '\n'));

    /* a connection that is gone: a NULL result, still a failed span */
    PQfinish(c);
    c = PQconnectdb("host=127.0.0.1 port=1 connect_timeout=2");
    r = stitch_pq_exec(c, "SELECT 1", NULL);
    assert_null(r);
    PQfinish(c);
    d = span_named("SELECT");
    assert_int_equal(d->status, STITCH_STATUS_ERROR);
    assert_attr(d, "error.type", "PGRES_FATAL_ERROR");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_messaging_headers_round_trip, clear),
        cmocka_unit_test_setup(test_messaging_set_replaces, clear),
        cmocka_unit_test_setup(test_messaging_no_context, clear),
        cmocka_unit_test_setup(test_nats_publish_then_process, clear),
        cmocka_unit_test_setup(test_nats_header_case, clear),
        cmocka_unit_test_setup(test_nats_batch_links, clear),
        cmocka_unit_test_setup(test_nats_publish_error, clear),
        cmocka_unit_test_setup(test_db_summary, clear),
        cmocka_unit_test_setup(test_sqlite_statement_span, clear),
        cmocka_unit_test_setup(test_sqlite_error_marks_span, clear),
        cmocka_unit_test_setup(test_sqlite_exec_span_per_statement, clear),
        cmocka_unit_test_setup(test_pq_statement_span, clear),
        cmocka_unit_test_setup(test_pq_error_marks_span, clear),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    nats_CloseAndWait(5000);
    return rc;
}
