/* tests/unit/test_store.c — the embedded store on real SQLite files in a
 * mkdtemp directory: round trips of every field (from the head and from
 * blocks), traces split across blocks, duplicates, search conditions,
 * names and dependencies, reopen, a SIGKILLed writer, retention, the full
 * queue, no space, and appenders racing readers and compaction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/internal.h"
#include "store/store.h"
#include "tests/unit/store_engine.h"
#include "tests/unit/wire_fixture.h"
#include "wire/wire.h"

/* ---- helpers ------------------------------------------------------------------ */

static char *mkdir_tmp(void)
{
    char tmpl[] = "/tmp/stitch-store-XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

static void rm_rf(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static stitch_store_t *open_store(const char *dir, const stitch_store_opts_t *extra)
{
    stitch_store_opts_t o = {0};
    if (extra)
        o = *extra;
    o.dir = dir;
    store_engine_apply(&o, dir);
    stitch_store_t *s = NULL;
    char err[256];
    int rc = stitch_store_open(&s, &o, err, sizeof err);
    if (rc)
        fail_msg("open: %d %s", rc, err);
    return s;
}

/* OTLP/JSON of one span: equal text = equal fields (ids, parent, kind,
 * times, attributes of every type, events, links, status, resource, scope,
 * tracestate, flags, dropped counts). */
static char *json_of(const stitch_span_data_t *d)
{
    stitch_buf_t b = STITCH_BUF_INIT(0);
    assert_int_equal(stitch_wire_otlp_json_encode(&d, 1, &b), 0);
    assert_int_equal(stitch_buf_append(&b, "", 1), 0);
    return (char *)b.data;
}

static void assert_same_span(const stitch_span_data_t *want, const stitch_span_data_t *got)
{
    assert_memory_equal(want->ctx.trace_id, got->ctx.trace_id, 16);
    assert_memory_equal(want->ctx.span_id, got->ctx.span_id, 8);
    assert_memory_equal(want->parent_span_id, got->parent_span_id, 8);
    assert_int_equal(want->kind, got->kind);
    assert_int_equal(want->start_ns, got->start_ns);
    assert_int_equal(want->end_ns, got->end_ns);
    assert_int_equal(want->nattrs, got->nattrs);
    assert_int_equal(want->nevents, got->nevents);
    assert_int_equal(want->nlinks, got->nlinks);
    assert_int_equal(want->status, got->status);
    assert_string_equal(want->status_message, got->status_message);
    char *a = json_of(want), *b = json_of(got);
    if (strcmp(a, b)) fprintf(stderr, "WANT %s\nGOT  %s\n", a, b);
    assert_string_equal(a, b);
    free(a);
    free(b);
}

/* Synthetic spans: fixed ids, resources by service, attributes given. */
static const stitch_scope_info_t SCOPE = {"test.scope", "1.0"};

typedef struct svc {
    stitch_attr_t res[2];
} svc_t;

static void svc_init(svc_t *v, const char *name)
{
    v->res[0] = stitch_attr_str("service.name", name);
    v->res[1] = stitch_attr_str("host.name", "h1");
}

static void tid_of(uint8_t tid[16], uint32_t n)
{
    memset(tid, 0, 16);
    tid[0] = 0xab;
    memcpy(tid + 12, &n, 4);
    tid[5] = (uint8_t)(n * 37);
}

static void mk(stitch_span_data_t *d, uint32_t trace, uint32_t span, uint32_t parent, const svc_t *sv,
               const char *name, int kind, uint64_t start, uint64_t dur, const stitch_attr_t *attrs,
               uint32_t nattrs)
{
    memset(d, 0, sizeof *d);
    tid_of(d->ctx.trace_id, trace);
    memcpy(d->ctx.span_id, &span, 4);
    d->ctx.span_id[7] = 1;
    d->ctx.flags = 1;
    if (parent) {
        memcpy(d->parent_span_id, &parent, 4);
        d->parent_span_id[7] = 1;
    }
    d->name = name;
    d->kind = (stitch_span_kind_t)kind;
    d->start_ns = start;
    d->end_ns = start + dur;
    d->attrs = attrs;
    d->nattrs = nattrs;
    d->status_message = "";
    d->resource = sv->res;
    d->nresource = 2;
    d->scope = &SCOPE;
}

static int append1(stitch_store_t *s, const stitch_span_data_t *d)
{
    return stitch_store_append(s, &d, 1);
}

static size_t trace_spans(stitch_store_t *s, uint32_t trace)
{
    uint8_t tid[16];
    tid_of(tid, trace);
    stitch_store_result_t r;
    stitch_store_result_init(&r);
    assert_int_equal(stitch_store_get_trace(s, tid, &r), 0);
    size_t n = r.ntraces ? r.traces[0].count : 0;
    if (r.ntraces) {
        assert_int_equal(r.ntraces, 1);
        assert_memory_equal(r.traces[0].trace_id, tid, 16);
    }
    stitch_store_result_free(&r);
    return n;
}

/* ---- round trips ---------------------------------------------------------------- */

static void check_fixture(stitch_store_t *s, struct wfx *f)
{
    stitch_store_result_t r;
    stitch_store_result_init(&r);
    assert_int_equal(stitch_store_get_trace(s, FX_TRACE, &r), 0);
    assert_int_equal(r.ntraces, 1);
    assert_memory_equal(r.traces[0].trace_id, FX_TRACE, 16);
    assert_int_equal(r.traces[0].count, 2); /* s1 and its child s2, by start */
    assert_same_span(f->spans[0], &r.batch.spans[r.traces[0].first]);
    assert_same_span(f->spans[1], &r.batch.spans[r.traces[0].first + 1]);
    /* every attribute type came back typed */
    const stitch_span_data_t *g = &r.batch.spans[r.traces[0].first];
    assert_int_equal(stitch_span_data_attr(g, "ints")->type, STITCH_VALUE_INT_ARRAY);
    assert_int_equal(stitch_span_data_attr(g, "ratio")->type, STITCH_VALUE_DOUBLE);
    assert_int_equal(g->nlinks, 1);
    assert_non_null(g->links[0].tracestate);
    stitch_store_result_free(&r);
    for (int i = 2; i < 5; i++) {
        stitch_store_result_init(&r);
        assert_int_equal(stitch_store_get_trace(s, f->spans[i]->ctx.trace_id, &r), 0);
        assert_int_equal(r.ntraces, 1);
        assert_int_equal(r.traces[0].count, 1);
        assert_same_span(f->spans[i], &r.batch.spans[0]);
        stitch_store_result_free(&r);
    }
    static const uint8_t unknown[16] = {9, 9, 9};
    stitch_store_result_init(&r);
    assert_int_equal(stitch_store_get_trace(s, unknown, &r), 0);
    assert_int_equal(r.ntraces, 0);
    stitch_store_result_free(&r);
}

static void test_store_roundtrip_head_and_block(void **state)
{
    struct wfx *f = *state;
    char *dir = mkdir_tmp();
    stitch_store_t *s = open_store(dir, NULL);
    assert_int_equal(stitch_store_append(s, f->spans, 5), 0);
    size_t rows, blocks;
    uint64_t hs;
    bool emb = !store_engine_is_ch(); /* ClickHouse has no head and blocks of ours */
    stitch__store_counts(s, &rows, &hs, &blocks);
    if (emb) {
        assert_int_equal(rows, 1);
        assert_int_equal(hs, 5);
        assert_int_equal(blocks, 0);
    }
    check_fixture(s, f); /* from the head */
    assert_int_equal(stitch__store_compact_now(s), 0);
    stitch__store_counts(s, &rows, &hs, &blocks);
    if (emb) {
        assert_int_equal(rows, 0);
        assert_int_equal(blocks, 1);
    }
    check_fixture(s, f); /* from a block */
    stitch_store_stats_t st;
    stitch_store_get_stats(s, &st);
    assert_int_equal(st.spans_appended, 5);
    assert_int_equal(st.spans_stored, 5);
    if (emb)
        assert_int_equal(st.blocks, 1);
    assert_true(st.disk_bytes > 0);
    stitch_store_close(s);
    /* reopen: everything is still there */
    s = open_store(dir, NULL);
    check_fixture(s, f);
    stitch_store_close(s);
    rm_rf(dir);
    free(dir);
}

static void test_store_trace_across_blocks(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    stitch_store_t *s = open_store(dir, NULL);
    svc_t a, b;
    svc_init(&a, "front");
    svc_init(&b, "back");
    uint64_t t0 = 1764000000000000000ull;
    stitch_span_data_t d[3];
    mk(&d[0], 7, 1, 0, &a, "root", 2, t0, 900000000000ull, NULL, 0);
    mk(&d[1], 7, 2, 1, &b, "late child", 2, t0 + 300000000000ull, 1000, NULL, 0); /* 5 min later */
    mk(&d[2], 7, 3, 1, &b, "later child", 3, t0 + 600000000000ull, 1000, NULL, 0);
    assert_int_equal(append1(s, &d[1]), 0);
    assert_int_equal(stitch__store_compact_now(s), 0);
    /* unrelated traffic between the parts */
    stitch_span_data_t other[50];
    for (uint32_t i = 0; i < 50; i++) {
        mk(&other[i], 100 + i, 1, 0, &a, "noise", 2, t0 + i, 10, NULL, 0);
        assert_int_equal(append1(s, &other[i]), 0);
    }
    assert_int_equal(append1(s, &d[0]), 0);
    assert_int_equal(stitch__store_compact_now(s), 0);
    assert_int_equal(append1(s, &d[2]), 0); /* stays in the head */
    size_t rows, blocks;
    uint64_t hs;
    stitch__store_counts(s, &rows, &hs, &blocks);
    if (!store_engine_is_ch()) {
        assert_int_equal(blocks, 2);
        assert_int_equal(rows, 1);
    }
    stitch_store_result_t r;
    stitch_store_result_init(&r);
    uint8_t tid[16];
    tid_of(tid, 7);
    assert_int_equal(stitch_store_get_trace(s, tid, &r), 0);
    assert_int_equal(r.ntraces, 1);
    assert_int_equal(r.traces[0].count, 3);
    assert_string_equal(r.batch.spans[0].name, "root");
    assert_string_equal(r.batch.spans[1].name, "late child");
    assert_string_equal(r.batch.spans[2].name, "later child");
    stitch_store_result_free(&r);
    stitch_store_close(s);
    rm_rf(dir);
    free(dir);
}

static void test_store_duplicates(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    stitch_store_t *s = open_store(dir, NULL);
    svc_t a;
    svc_init(&a, "front");
    stitch_span_data_t d[3];
    const stitch_span_data_t *p[3];
    for (uint32_t i = 0; i < 3; i++) {
        mk(&d[i], 1, i + 1, i ? 1 : 0, &a, "op", 2, 1000 + i, 10, NULL, 0);
        p[i] = &d[i];
    }
    assert_int_equal(stitch_store_append(s, p, 3), 0);
    assert_int_equal(stitch_store_append(s, p, 3), 0); /* a client retry */
    assert_int_equal(trace_spans(s, 1), 3);            /* head: returned once */
    assert_int_equal(stitch__store_compact_now(s), 0);
    stitch_store_stats_t st;
    stitch_store_get_stats(s, &st);
    if (!store_engine_is_ch()) { /* ClickHouse keeps repeats; reads drop them */
        assert_int_equal(st.spans_duplicate, 3); /* stored once */
        assert_int_equal(st.spans_stored, 3);
    }
    assert_int_equal(trace_spans(s, 1), 3);
    assert_int_equal(stitch_store_append(s, p + 1, 2), 0); /* a late retry: head + block */
    assert_int_equal(trace_spans(s, 1), 3);
    assert_int_equal(stitch__store_compact_now(s), 0);
    assert_int_equal(trace_spans(s, 1), 3); /* two blocks: still once */
    stitch_store_close(s);
    rm_rf(dir);
    free(dir);
}

/* ---- search -------------------------------------------------------------------- */

typedef struct corpus {
    svc_t front, cart, db;
    stitch_attr_t attrs[64][3];
    stitch_event_t ev[64];
    stitch_attr_t evattrs[64][1];
    stitch_span_data_t d[64];
    char users[64][16];
} corpus_t;

#define T0S 1764000000000000000ull
#define MS 1000000ull

/* 16 traces of 3 spans: front (SERVER "GET /x") -> cart (CLIENT "add") ->
 * db (CLIENT "SELECT", peer.service=pg). Trace i starts at T0S + i s; cart
 * spans last (i+1) ms; trace 5's cart span has error status; every cart
 * span has user.id=u<i>, http.status_code (200, or 503 for odd i), and an
 * event with cache.key=k<i>. */
static void corpus_make(corpus_t *c, stitch_store_t *s)
{
    svc_init(&c->front, "front");
    svc_init(&c->cart, "cart");
    svc_init(&c->db, "db");
    for (uint32_t i = 0; i < 16; i++) {
        uint64_t st = T0S + i * 1000 * MS;
        stitch_span_data_t *f = &c->d[i * 3], *ca = f + 1, *db = f + 2;
        snprintf(c->users[i], sizeof c->users[i], "u%u", i);
        c->attrs[i][0] = stitch_attr_str("user.id", c->users[i]);
        c->attrs[i][1] = stitch_attr_int("http.status_code", (i & 1) ? 503 : 200);
        c->attrs[i][2] = stitch_attr_bool("retry", i == 3);
        snprintf(c->users[i + 16], sizeof c->users[i + 16], "k%u", i);
        c->evattrs[i][0] = stitch_attr_str("cache.key", c->users[i + 16]);
        c->ev[i] = (stitch_event_t){st + 10, "lookup", c->evattrs[i], 1, 0};
        c->attrs[i + 16][0] = stitch_attr_str("peer.service", "pg");
        mk(f, 1000 + i, 1, 0, &c->front, "GET /x", 2, st, 50 * MS, NULL, 0);
        mk(ca, 1000 + i, 2, 1, &c->cart, "add", 3, st + MS, (i + 1) * MS, c->attrs[i], 3);
        ca->events = &c->ev[i];
        ca->nevents = 1;
        if (i == 5)
            ca->status = STITCH_STATUS_ERROR;
        mk(db, 1000 + i, 3, 2, &c->db, "SELECT", 3, st + 2 * MS, MS / 2, c->attrs[i + 16], 1);
        const stitch_span_data_t *p[3] = {f, ca, db};
        assert_int_equal(stitch_store_append(s, p, 3), 0);
    }
}

/* Trace numbers of a search, in result order. */
static size_t search(stitch_store_t *s, const stitch_store_query_t *q, uint32_t *out, size_t max)
{
    stitch_store_result_t r;
    stitch_store_result_init(&r);
    assert_int_equal(stitch_store_search(s, q, &r), 0);
    size_t n = 0;
    for (size_t i = 0; i < r.ntraces && n < max; i++) {
        uint32_t t;
        memcpy(&t, r.traces[i].trace_id + 12, 4);
        out[n++] = t - 1000;
        assert_int_equal(r.traces[i].count, 3); /* whole traces */
    }
    stitch_store_result_free(&r);
    return n;
}

static void check_searches(stitch_store_t *s)
{
    uint32_t t[32];
    stitch_store_query_t q = {.kind = -1};
    /* no condition: most recent first, default limit 20 -> 16 */
    assert_int_equal(search(s, &q, t, 32), 16);
    for (int i = 0; i < 16; i++)
        assert_int_equal(t[i], 15 - i);
    q.limit = 3;
    assert_int_equal(search(s, &q, t, 32), 3);
    assert_int_equal(t[0], 15);
    assert_int_equal(t[2], 13);
    q.limit = 0;
    q.service = "cart";
    q.operation = "add";
    q.kind = STITCH_SPAN_KIND_CLIENT;
    assert_int_equal(search(s, &q, t, 32), 16);
    q.kind = STITCH_SPAN_KIND_SERVER; /* cart has no SERVER span */
    assert_int_equal(search(s, &q, t, 32), 0);
    q.kind = -1;
    q.operation = "GET /x"; /* an operation of another service */
    assert_int_equal(search(s, &q, t, 32), 0);
    q.operation = NULL;
    stitch_store_tag_t tag = {"user.id", "u7"};
    q.tags = &tag;
    q.ntags = 1;
    assert_int_equal(search(s, &q, t, 32), 1);
    assert_int_equal(t[0], 7);
    tag = (stitch_store_tag_t){"http.status_code", "503"}; /* int rendered as text */
    assert_int_equal(search(s, &q, t, 32), 8);
    for (int i = 0; i < 8; i++)
        assert_int_equal(t[i], 15 - 2 * i);
    tag = (stitch_store_tag_t){"retry", "true"};
    assert_int_equal(search(s, &q, t, 32), 1);
    assert_int_equal(t[0], 3);
    tag = (stitch_store_tag_t){"cache.key", "k9"}; /* an event attribute */
    assert_int_equal(search(s, &q, t, 32), 1);
    assert_int_equal(t[0], 9);
    tag = (stitch_store_tag_t){"host.name", "h1"}; /* a resource attribute */
    assert_int_equal(search(s, &q, t, 32), 16);
    tag = (stitch_store_tag_t){"user.id", NULL}; /* key only */
    assert_int_equal(search(s, &q, t, 32), 16);
    q.service = "front";
    assert_int_equal(search(s, &q, t, 32), 0); /* all conditions on one span */
    q.service = "cart";
    /* durations: cart span of trace i lasts i+1 ms */
    q.duration_min_ns = 10 * MS;
    assert_int_equal(search(s, &q, t, 32), 7); /* 9..15 */
    q.duration_max_ns = 12 * MS;
    assert_int_equal(search(s, &q, t, 32), 3); /* 9, 10, 11 */
    assert_int_equal(t[0], 11);
    /* two tags and a duration */
    stitch_store_tag_t two[2] = {{"http.status_code", "503"}, {"cache.key", NULL}};
    q.tags = two;
    q.ntags = 2;
    assert_int_equal(search(s, &q, t, 32), 2); /* 9, 11 */
    assert_int_equal(t[0], 11);
    assert_int_equal(t[1], 9);
    /* time bounds */
    q.ntags = 0;
    q.duration_min_ns = q.duration_max_ns = 0;
    q.start_min_ns = T0S + 4000 * MS;
    q.start_max_ns = T0S + 6500 * MS;
    assert_int_equal(search(s, &q, t, 32), 3); /* 4, 5, 6 */
    assert_int_equal(t[0], 6);
    assert_int_equal(t[2], 4);
    /* status: trace 5's cart span is the only error; the others unset */
    q = (stitch_store_query_t){.kind = -1, .status_mask = 1u << STITCH_STATUS_ERROR};
    assert_int_equal(search(s, &q, t, 32), 1);
    assert_int_equal(t[0], 5);
    q.service = "front"; /* the error is on the cart span */
    assert_int_equal(search(s, &q, t, 32), 0);
    q = (stitch_store_query_t){.kind = -1, .service = "cart", .limit = 4,
                               .status_mask = 1u << STITCH_STATUS_UNSET | 1u << STITCH_STATUS_OK};
    assert_int_equal(search(s, &q, t, 32), 4);
    assert_int_equal(t[0], 15);
    q = (stitch_store_query_t){.kind = -1, .service = "nobody"};
    assert_int_equal(search(s, &q, t, 32), 0);
    tag = (stitch_store_tag_t){"user.id", "u99"};
    q = (stitch_store_query_t){.kind = -1, .tags = &tag, .ntags = 1};
    assert_int_equal(search(s, &q, t, 32), 0);
}

static void test_store_search(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    stitch_store_t *s = open_store(dir, NULL);
    corpus_t *c = calloc(1, sizeof *c);
    corpus_make(c, s);
    check_searches(s); /* head */
    assert_int_equal(stitch__store_compact_now(s), 0);
    check_searches(s); /* one block */
    stitch_store_close(s);
    s = open_store(dir, NULL);
    check_searches(s); /* after reopen */
    stitch_store_close(s);
    free(c);
    rm_rf(dir);
    free(dir);
}

/* ---- names and dependencies --------------------------------------------------- */

typedef struct strs {
    char v[16][64];
    int kinds[16];
    size_t n;
} strs_t;

static int collect_str(void *arg, const char *s)
{
    strs_t *o = arg;
    if (o->n < 16)
        snprintf(o->v[o->n++], 64, "%s", s);
    return 0;
}

static int collect_op(void *arg, const char *svc, const char *name, int kind)
{
    strs_t *o = arg;
    if (o->n < 16) {
        o->kinds[o->n] = kind;
        snprintf(o->v[o->n++], 64, "%s/%s", svc, name);
    }
    return 0;
}

typedef struct deps {
    char v[16][64];
    uint64_t calls[16], errors[16];
    size_t n;
} deps_t;

static int collect_dep(void *arg, const stitch_store_dep_t *d)
{
    deps_t *o = arg;
    if (o->n < 16) {
        snprintf(o->v[o->n], 64, "%s>%s", d->parent, d->child);
        o->calls[o->n] = d->calls;
        o->errors[o->n++] = d->errors;
    }
    return 0;
}

static void check_names(stitch_store_t *s)
{
    strs_t o = {0};
    assert_int_equal(stitch_store_services(s, collect_str, &o), 0);
    assert_int_equal(o.n, 3);
    assert_string_equal(o.v[0], "cart");
    assert_string_equal(o.v[1], "db");
    assert_string_equal(o.v[2], "front");
    memset(&o, 0, sizeof o);
    assert_int_equal(stitch_store_operations(s, "cart", -1, collect_op, &o), 0);
    assert_int_equal(o.n, 1);
    assert_string_equal(o.v[0], "cart/add");
    assert_int_equal(o.kinds[0], STITCH_SPAN_KIND_CLIENT);
    memset(&o, 0, sizeof o);
    assert_int_equal(stitch_store_operations(s, NULL, -1, collect_op, &o), 0);
    assert_int_equal(o.n, 3);
    assert_string_equal(o.v[0], "front/GET /x"); /* sorted by name */
    assert_string_equal(o.v[1], "db/SELECT");
    assert_string_equal(o.v[2], "cart/add");
    memset(&o, 0, sizeof o);
    assert_int_equal(stitch_store_operations(s, NULL, STITCH_SPAN_KIND_SERVER, collect_op, &o), 0);
    assert_int_equal(o.n, 1);
    memset(&o, 0, sizeof o);
    assert_int_equal(stitch_store_remote_services(s, "db", collect_str, &o), 0);
    assert_int_equal(o.n, 1);
    assert_string_equal(o.v[0], "pg");
    memset(&o, 0, sizeof o);
    assert_int_equal(stitch_store_remote_services(s, "cart", collect_str, &o), 0);
    assert_int_equal(o.n, 0);
    deps_t d = {0};
    assert_int_equal(stitch_store_dependencies(s, 0, 0, collect_dep, &d), 0);
    assert_int_equal(d.n, 2);
    assert_string_equal(d.v[0], "cart>db");
    assert_int_equal(d.calls[0], 16);
    assert_int_equal(d.errors[0], 0);
    assert_string_equal(d.v[1], "front>cart");
    assert_int_equal(d.calls[1], 16);
    assert_int_equal(d.errors[1], 1);
    /* a window: traces 4..6 */
    memset(&d, 0, sizeof d);
    assert_int_equal(stitch_store_dependencies(s, T0S + 4000 * MS, T0S + 6500 * MS, collect_dep, &d), 0);
    if (d.n) { /* blocks count whole: a block in range gives all of its edges */
        assert_true(d.calls[1] >= 3);
    }
}

static void test_store_names_and_dependencies(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    stitch_store_t *s = open_store(dir, NULL);
    corpus_t *c = calloc(1, sizeof *c);
    corpus_make(c, s);
    check_names(s); /* head */
    deps_t d = {0};
    assert_int_equal(stitch_store_dependencies(s, T0S + 4000 * MS, T0S + 6500 * MS, collect_dep, &d), 0);
    assert_int_equal(d.n, 2); /* head: counted per span */
    assert_int_equal(d.calls[1], 3);
    assert_int_equal(d.errors[1], 1);
    assert_int_equal(stitch__store_compact_now(s), 0);
    check_names(s); /* block */
    stitch_store_close(s);
    s = open_store(dir, NULL);
    check_names(s);
    stitch_store_close(s);
    free(c);
    rm_rf(dir);
    free(dir);
}

/* ---- crash ---------------------------------------------------------------------- */

static void test_store_crash_keeps_acknowledged(void **state)
{
    (void)state;
    if (store_engine_is_ch())
        skip(); /* the embedded store's files under kill -9 (ClickHouse: tests/clickhouse/) */
    char *dir = mkdir_tmp();
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        stitch_store_opts_t o = {.dir = dir};
        stitch_store_t *s;
        char err[128];
        if (stitch_store_open(&s, &o, err, sizeof err))
            _exit(3);
        svc_t a;
        svc_init(&a, "crash");
        stitch_attr_t at[2] = {stitch_attr_str("k", "v"), stitch_attr_int("n", 1)};
        for (uint32_t i = 0;; i++) {
            stitch_span_data_t d[64];
            const stitch_span_data_t *p[64];
            for (uint32_t j = 0; j < 64; j++) {
                mk(&d[j], i, j + 1, 0, &a, "op", 2, T0S + i, 1000, at, 2);
                p[j] = &d[j];
            }
            if (stitch_store_append(s, p, 64))
                _exit(4);
            if (i % 40 == 39 && stitch__store_compact_now(s))
                _exit(5);
            if (write(fds[1], &i, sizeof i) != sizeof i)
                _exit(6);
        }
    }
    close(fds[1]);
    uint32_t acked = 0, v;
    bool any = false;
    while (read(fds[0], &v, sizeof v) == sizeof v) {
        acked = v;
        any = true;
        if (v >= 300)
            break;
    }
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    close(fds[0]);
    assert_true(any);
    assert_true(WIFSIGNALED(status));
    stitch_store_t *s = open_store(dir, NULL);
    for (uint32_t i = 0; i <= acked; i++)
        assert_int_equal(trace_spans(s, i), 64);
    stitch_store_stats_t st;
    stitch_store_get_stats(s, &st);
    assert_true(st.spans_stored >= (uint64_t)(acked + 1) * 64);
    assert_true(st.blocks >= 7);
    /* and it goes on working: compaction of the leftover head */
    assert_int_equal(stitch__store_compact_now(s), 0);
    assert_int_equal(trace_spans(s, acked), 64);
    stitch_store_close(s);
    rm_rf(dir);
    free(dir);
}

/* ---- retention ----------------------------------------------------------------- */

static void test_store_retention_by_age(void **state)
{
    (void)state;
    if (store_engine_is_ch())
        skip(); /* blocks of the embedded store */
    char *dir = mkdir_tmp();
    stitch_store_opts_t o = {.retention_ns = 3600ull * 1000000000ull};
    stitch_store_t *s = open_store(dir, &o);
    svc_t a;
    svc_init(&a, "old");
    uint64_t now = T0S + 100ull * 3600 * 1000000000ull;
    stitch_span_data_t d[3];
    mk(&d[0], 1, 1, 0, &a, "op", 2, now - 5ull * 3600 * 1000000000ull, 10, NULL, 0); /* 5 h old */
    mk(&d[1], 2, 1, 0, &a, "op", 2, now - 2ull * 3600 * 1000000000ull, 10, NULL, 0); /* 2 h old */
    mk(&d[2], 3, 1, 0, &a, "op", 2, now - 60ull * 1000000000ull, 10, NULL, 0);       /* 1 min */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(append1(s, &d[i]), 0);
        assert_int_equal(stitch__store_compact_now(s), 0);
    }
    assert_int_equal(stitch_store_enforce_retention(s, now), 0);
    assert_int_equal(trace_spans(s, 1), 0);
    assert_int_equal(trace_spans(s, 2), 0);
    assert_int_equal(trace_spans(s, 3), 1);
    stitch_store_stats_t st;
    stitch_store_get_stats(s, &st);
    assert_int_equal(st.blocks, 1);
    assert_int_equal(st.blocks_dropped, 2);
    assert_int_equal(st.spans_stored, 1);
    stitch_store_close(s);
    s = open_store(dir, NULL); /* gone from the file too */
    assert_int_equal(trace_spans(s, 1), 0);
    assert_int_equal(trace_spans(s, 3), 1);
    stitch_store_close(s);
    rm_rf(dir);
    free(dir);
}

static void test_store_retention_by_disk(void **state)
{
    (void)state;
    if (store_engine_is_ch())
        skip(); /* blocks of the embedded store */
    char *dir = mkdir_tmp();
    stitch_store_t *s = open_store(dir, NULL);
    svc_t a;
    svc_init(&a, "big");
    /* incompressible attribute values so the blocks have weight */
    static char vals[2048][40];
    static stitch_attr_t at[2048];
    static stitch_span_data_t d[2048];
    srand(7);
    for (uint32_t blk = 0; blk < 8; blk++) {
        const stitch_span_data_t *p[256];
        for (uint32_t j = 0; j < 256; j++) {
            uint32_t i = blk * 256 + j;
            for (int c = 0; c < 39; c++)
                vals[i][c] = (char)('a' + rand() % 26);
            at[i] = stitch_attr_str("blob", vals[i]);
            mk(&d[i], i, 1, 0, &a, "op", 2, T0S + i, 10, &at[i], 1);
            p[j] = &d[i];
        }
        assert_int_equal(stitch_store_append(s, p, 256), 0);
        assert_int_equal(stitch__store_compact_now(s), 0);
    }
    stitch_store_close(s);
    stitch_store_opts_t o = {.max_disk_bytes = 1}; /* below anything: keep only the newest block */
    s = open_store(dir, &o);
    assert_int_equal(stitch_store_enforce_retention(s, 0), 0);
    stitch_store_stats_t st;
    stitch_store_get_stats(s, &st);
    assert_int_equal(st.blocks, 1);
    assert_int_equal(st.blocks_dropped, 7);
    assert_int_equal(trace_spans(s, 0), 0);     /* oldest gone */
    assert_int_equal(trace_spans(s, 2047), 1);  /* newest kept */
    stitch_store_close(s);
    rm_rf(dir);
    free(dir);
}

/* ---- refusals ------------------------------------------------------------------- */

typedef struct bg_append {
    stitch_store_t *s;
    const stitch_span_data_t **p;
    size_t n;
    int rc;
} bg_append_t;

static void *bg_append_main(void *arg)
{
    bg_append_t *b = arg;
    b->rc = stitch_store_append(b->s, b->p, b->n);
    return NULL;
}

static void test_store_busy_when_queue_full(void **state)
{
    (void)state;
    if (store_engine_is_ch())
        skip(); /* pauses the embedded committer */
    char *dir = mkdir_tmp();
    stitch_store_opts_t o = {.max_queue_spans = 4};
    stitch_store_t *s = open_store(dir, &o);
    svc_t a;
    svc_init(&a, "busy");
    stitch_span_data_t d[6];
    const stitch_span_data_t *p[6];
    for (uint32_t i = 0; i < 6; i++) {
        mk(&d[i], i + 1, 1, 0, &a, "op", 2, T0S + i, 10, NULL, 0);
        p[i] = &d[i];
    }
    stitch__store_pause(s, true);
    bg_append_t bg = {s, p, 3, -99};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, bg_append_main, &bg), 0);
    stitch_store_stats_t st;
    for (int i = 0; i < 5000; i++) {
        stitch_store_get_stats(s, &st);
        if (st.queue_spans == 3)
            break;
        usleep(1000);
    }
    assert_int_equal(st.queue_spans, 3);
    assert_int_equal(stitch_store_append(s, p + 3, 2), STITCH_EBUSY);
    stitch__store_pause(s, false);
    pthread_join(th, NULL);
    assert_int_equal(bg.rc, 0);
    assert_int_equal(stitch_store_append(s, p + 3, 2), 0);
    stitch_store_get_stats(s, &st);
    assert_int_equal(st.refused_busy, 2);
    assert_int_equal(st.spans_appended, 5);
    assert_int_equal(trace_spans(s, 4), 1);
    stitch_store_close(s);
    rm_rf(dir);
    free(dir);
}

static void test_store_nospace(void **state)
{
    (void)state;
    if (store_engine_is_ch())
        skip(); /* the embedded store's free-space check */
    char *dir = mkdir_tmp();
    stitch_store_opts_t o = {.min_free_bytes = UINT64_MAX / 2}; /* no disk is that free */
    stitch_store_t *s = open_store(dir, &o);
    svc_t a;
    svc_init(&a, "full");
    stitch_span_data_t d;
    mk(&d, 1, 1, 0, &a, "op", 2, T0S, 10, NULL, 0);
    assert_int_equal(append1(s, &d), STITCH_ENOSPC);
    stitch_store_stats_t st;
    stitch_store_get_stats(s, &st);
    assert_int_equal(st.refused_nospace, 1);
    assert_int_equal(st.spans_appended, 0);
    stitch_store_close(s);
    rm_rf(dir);
    free(dir);
}

/* ---- concurrency --------------------------------------------------------------- */

typedef struct conc {
    stitch_store_t *s;
    uint32_t base;
    int failures;
    atomic_int *running;
} conc_t;

static void *conc_writer(void *arg)
{
    conc_t *c = arg;
    svc_t a;
    svc_init(&a, "conc");
    stitch_attr_t at[1] = {stitch_attr_str("w", "x")};
    for (uint32_t i = 0; i < 150; i++) {
        stitch_span_data_t d[16];
        const stitch_span_data_t *p[16];
        uint32_t trace = c->base + i;
        for (uint32_t j = 0; j < 16; j++) {
            mk(&d[j], trace, j + 1, j ? 1 : 0, &a, "op", 2, T0S + trace * 1000 + j, 10, at, 1);
            p[j] = &d[j];
        }
        int rc;
        while ((rc = stitch_store_append(c->s, p, 16)) == STITCH_EBUSY)
            usleep(100);
        if (rc) {
            c->failures++;
            continue;
        }
        /* visible to a query that starts after append returned */
        uint8_t tid[16];
        tid_of(tid, trace);
        stitch_store_result_t r;
        stitch_store_result_init(&r);
        if (stitch_store_get_trace(c->s, tid, &r) || r.ntraces != 1 || r.traces[0].count != 16)
            c->failures++;
        stitch_store_result_free(&r);
    }
    atomic_fetch_sub(c->running, 1);
    return NULL;
}

static void *conc_reader(void *arg)
{
    conc_t *c = arg;
    stitch_store_query_t q = {.kind = -1, .service = "conc", .limit = 5};
    while (atomic_load(c->running) > 0) {
        stitch_store_result_t r;
        stitch_store_result_init(&r);
        if (stitch_store_search(c->s, &q, &r))
            c->failures++;
        for (size_t i = 0; i < r.ntraces; i++)
            if (r.traces[i].count != 16)
                c->failures++; /* a trace caught half in the head, half in a block */
        stitch_store_result_free(&r);
        if (stitch__store_compact_now(c->s))
            c->failures++;
    }
    return NULL;
}

static void test_store_concurrent(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    stitch_store_t *s = open_store(dir, NULL);
    atomic_int running = 3;
    conc_t w[3], rd[2];
    pthread_t tw[3], tr[2];
    for (int i = 0; i < 3; i++) {
        w[i] = (conc_t){s, (uint32_t)i * 10000, 0, &running};
        assert_int_equal(pthread_create(&tw[i], NULL, conc_writer, &w[i]), 0);
    }
    for (int i = 0; i < 2; i++) {
        rd[i] = (conc_t){s, 0, 0, &running};
        assert_int_equal(pthread_create(&tr[i], NULL, conc_reader, &rd[i]), 0);
    }
    for (int i = 0; i < 3; i++)
        pthread_join(tw[i], NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(tr[i], NULL);
    for (int i = 0; i < 3; i++)
        assert_int_equal(w[i].failures, 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(rd[i].failures, 0);
    stitch_store_stats_t st;
    stitch_store_get_stats(s, &st);
    assert_int_equal(st.spans_appended, 3 * 150 * 16);
    assert_int_equal(st.spans_stored, 3 * 150 * 16);
    for (uint32_t i = 0; i < 150; i += 7)
        assert_int_equal(trace_spans(s, 10000 + i), 16);
    stitch_store_close(s);
    rm_rf(dir);
    free(dir);
}

int main(void)
{
    (void)one_span; /* the shared fixture's helper; not needed here */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_roundtrip_head_and_block),
        cmocka_unit_test(test_store_trace_across_blocks),
        cmocka_unit_test(test_store_duplicates),
        cmocka_unit_test(test_store_search),
        cmocka_unit_test(test_store_names_and_dependencies),
        cmocka_unit_test(test_store_crash_keeps_acknowledged),
        cmocka_unit_test(test_store_retention_by_age),
        cmocka_unit_test(test_store_retention_by_disk),
        cmocka_unit_test(test_store_busy_when_queue_full),
        cmocka_unit_test(test_store_nospace),
        cmocka_unit_test(test_store_concurrent),
    };
    return cmocka_run_group_tests(tests, wfx_setup, wfx_teardown);
}
