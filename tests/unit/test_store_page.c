/* tests/unit/test_store_page.c — the store's columnar page codec
 * (store/page.c), the packing of pages (block.c), the deep copy of span
 * records (store/copy.c) and the fast text of doubles (bloom.c): every
 * field survives encode -> decode, damaged pages are refused without
 * appending anything, the bloom entries a page yields are the ones a
 * search asks for, and high-cardinality columns fall back to raw strings. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stitch/propagation.h"
#include "store/internal.h"
#include "wire/internal.h"
#include "wire/wire.h"

static char *json_of(const stitch_span_data_t *d)
{
    stitch_buf_t b = STITCH_BUF_INIT(0);
    assert_int_equal(stitch_wire_otlp_json_encode(&d, 1, &b), 0);
    assert_int_equal(stitch_buf_append(&b, "", 1), 0);
    return (char *)b.data;
}

static void assert_same(const stitch_span_data_t *want, const stitch_span_data_t *got)
{
    assert_memory_equal(want->ctx.trace_id, got->ctx.trace_id, 16);
    assert_memory_equal(want->ctx.span_id, got->ctx.span_id, 8);
    assert_memory_equal(want->parent_span_id, got->parent_span_id, 8);
    assert_int_equal(want->ctx.flags, got->ctx.flags);
    assert_int_equal(want->ctx.remote, got->ctx.remote);
    assert_int_equal(want->parent_remote, got->parent_remote);
    assert_int_equal(want->start_ns, got->start_ns);
    assert_int_equal(want->end_ns, got->end_ns);
    assert_int_equal(want->dropped_attrs, got->dropped_attrs);
    assert_int_equal(want->dropped_events, got->dropped_events);
    assert_int_equal(want->dropped_links, got->dropped_links);
    char *a = json_of(want), *b = json_of(got);
    if (strcmp(a, b))
        fprintf(stderr, "WANT %s\nGOT  %s\n", a, b);
    assert_string_equal(a, b);
    free(a);
    free(b);
}

/* A few spans with every kind of field and value. */
typedef struct fixture {
    stitch_span_data_t d[6];
    const stitch_span_data_t *p[6];
    stitch_attr_t res[2][2], attrs[12], evattrs[2], lkattrs[1];
    stitch_event_t ev[2];
    stitch_link_t lk[1];
    stitch_tracestate_t *ts;
    stitch_str_t strs[2];
    bool bools[3];
    int64_t ints[3];
    double dbls[2];
} fixture_t;

static const stitch_scope_info_t SCOPE = {"lib.one", "1.0"};

static void fixture_init(fixture_t *f)
{
    memset(f, 0, sizeof *f);
    assert_int_equal(stitch_tracestate_parse("vendor=abc,other=1", 18, &f->ts), 0);
    f->res[0][0] = stitch_attr_str("service.name", "cart");
    f->res[0][1] = stitch_attr_int("host.cores", 8);
    f->res[1][0] = stitch_attr_str("service.name", "db");
    f->res[1][1] = stitch_attr_str("host.name", "h2");
    f->strs[0] = (stitch_str_t){"a", 1};
    f->strs[1] = (stitch_str_t){"b\0c", 3};
    f->bools[0] = true, f->bools[2] = true;
    f->ints[0] = -1, f->ints[1] = INT64_MAX, f->ints[2] = INT64_MIN;
    f->dbls[0] = 0.1, f->dbls[1] = -2.5e300;
    stitch_attr_t *a = f->attrs;
    a[0] = stitch_attr_str("http.route", "/cart");
    a[1] = stitch_attr_int("http.response.status_code", 503);
    a[2] = stitch_attr_double("price", 12.34);
    a[3] = stitch_attr_double("ratio", 1.0 / 3.0);
    a[4] = stitch_attr_double("negzero", -0.0);
    a[5] = stitch_attr_double("nan", NAN);
    a[6] = stitch_attr_bool("cache.hit", true);
    a[7] = (stitch_attr_t){"strs", {STITCH_VALUE_STRING_ARRAY, 2, {.strs = f->strs}}};
    a[8] = (stitch_attr_t){"bools", {STITCH_VALUE_BOOL_ARRAY, 3, {.bools = f->bools}}};
    a[9] = (stitch_attr_t){"ints", {STITCH_VALUE_INT_ARRAY, 3, {.ints = f->ints}}};
    a[10] = (stitch_attr_t){"dbls", {STITCH_VALUE_DOUBLE_ARRAY, 2, {.doubles = f->dbls}}};
    a[11] = stitch_attr_strn("bin", "x\0y", 3);
    f->evattrs[0] = stitch_attr_str("key", "k1");
    f->evattrs[1] = stitch_attr_int("size", 7);
    f->ev[0] = (stitch_event_t){1700000000200000000ull, "cache miss", f->evattrs, 2, 1};
    f->ev[1] = (stitch_event_t){1699999999000000000ull, "before start", NULL, 0, 0};
    f->lkattrs[0] = stitch_attr_str("link.kind", "follows");
    f->lk[0].ctx = (stitch_span_ctx_t){{0x11, [15] = 0xff}, {0x22, [7] = 0xfe}, 1, 1, {0}};
    f->lk[0].tracestate = f->ts;
    f->lk[0].attrs = f->lkattrs;
    f->lk[0].nattrs = 1;
    f->lk[0].dropped_attrs = 2;
    for (int i = 0; i < 6; i++) {
        stitch_span_data_t *d = &f->d[i];
        d->ctx.trace_id[0] = (uint8_t)(i < 4 ? 1 : 2); /* traces of 4 and 2 spans */
        d->ctx.trace_id[15] = 9;
        d->ctx.span_id[0] = (uint8_t)(i + 1);
        d->ctx.span_id[7] = 0x80;
        d->ctx.flags = (uint8_t)(i == 1 ? 0 : 1);
        if (i % 4)
            memcpy(d->parent_span_id, f->d[i - 1].ctx.span_id, 8); /* in the page */
        d->name = i & 1 ? "SELECT products" : "GET /cart";
        d->kind = (stitch_span_kind_t)(1 + i % 5);
        d->start_ns = 1700000000000000000ull + (uint64_t)i * 1000000ull;
        d->end_ns = d->start_ns + 250000000ull * (uint64_t)(i + 1);
        d->status_message = "";
        d->resource = f->res[i & 1];
        d->nresource = 2;
        d->scope = i == 5 ? NULL : &SCOPE;
        f->p[i] = d;
    }
    /* span 0: everything */
    f->d[0].attrs = f->attrs;
    f->d[0].nattrs = 12;
    f->d[0].events = f->ev;
    f->d[0].nevents = 2;
    f->d[0].links = f->lk;
    f->d[0].nlinks = 1;
    f->d[0].tracestate = f->ts;
    f->d[0].status = STITCH_STATUS_ERROR;
    f->d[0].status_message = "boom \"quoted\"";
    f->d[0].dropped_attrs = 3;
    f->d[0].dropped_events = 4;
    f->d[0].dropped_links = 5;
    f->d[0].ctx.remote = 1;
    f->d[0].parent_remote = true;
    memcpy(f->d[0].parent_span_id, "\xa1\xa2\xa3\xa4\xa5\xa6\xa7\xa8", 8); /* not in the page */
    f->d[2].end_ns = f->d[2].start_ns - 5; /* end before start survives too */
    f->d[3].start_ns = f->d[0].start_ns - 7;  /* earlier than its trace's first span */
}

static void fixture_free(fixture_t *f) { stitch_tracestate_unref(f->ts); }

static void test_store_page_roundtrip(void **state)
{
    (void)state;
    fixture_t f;
    fixture_init(&f);
    st_page_enc_t *e = st_page_enc_new();
    assert_non_null(e);
    stitch_buf_t raw = STITCH_BUF_INIT(0), packed = STITCH_BUF_INIT(0), tmp = STITCH_BUF_INIT(0);
    assert_int_equal(st_page_encode(e, f.p, 6, &raw), 0);
    stitch_wire_batch_t b;
    stitch_wire_batch_init(&b, 0);
    assert_int_equal(st_page_decode(&b, raw.data, raw.len), 0);
    assert_int_equal(b.nspans, 6);
    for (int i = 0; i < 6; i++)
        assert_same(f.p[i], &b.spans[i]);
    /* packed (each stream zstd'd on its own) and unpacked again */
    size_t lens[ST_PAGE_MAX_PARTS];
    size_t n = st_page_parts(e, lens, ST_PAGE_MAX_PARTS);
    assert_int_equal(st_page_pack(&raw, lens, n, ST_PAGE_ZSTD_LEVEL, &packed), 0);
    stitch_wire_batch_reset(&b);
    assert_int_equal(st_decode_page(packed.data, packed.len, &tmp, &b), 0);
    assert_int_equal(b.nspans, 6);
    for (int i = 0; i < 6; i++)
        assert_same(f.p[i], &b.spans[i]);
    /* an empty page */
    assert_int_equal(st_page_encode(e, NULL, 0, &raw), 0);
    stitch_wire_batch_reset(&b);
    assert_int_equal(st_page_decode(&b, raw.data, raw.len), 0);
    assert_int_equal(b.nspans, 0);
    stitch_wire_batch_free(&b);
    stitch_buf_free(&raw);
    stitch_buf_free(&packed);
    stitch_buf_free(&tmp);
    st_page_enc_free(e);
    fixture_free(&f);
}

/* Every byte cut, every byte flipped: refused (nothing appended) or
 * decoded; never a crash (the fuzz target goes further). */
static void test_store_page_damaged(void **state)
{
    (void)state;
    fixture_t f;
    fixture_init(&f);
    st_page_enc_t *e = st_page_enc_new();
    stitch_buf_t raw = STITCH_BUF_INIT(0);
    assert_int_equal(st_page_encode(e, f.p, 6, &raw), 0);
    stitch_wire_batch_t b;
    stitch_wire_batch_init(&b, 1u << 20);
    for (size_t cut = 0; cut < raw.len; cut++) {
        stitch_wire_batch_reset(&b);
        assert_int_equal(st_page_decode(&b, raw.data, cut), STITCH_EPARSE);
        assert_int_equal(b.nspans, 0);
    }
    uint8_t *copy = malloc(raw.len);
    for (size_t i = 0; i < raw.len; i++)
        for (int bit = 0; bit < 8; bit += 3) {
            memcpy(copy, raw.data, raw.len);
            copy[i] ^= (uint8_t)(1u << bit);
            stitch_wire_batch_reset(&b);
            int rc = st_page_decode(&b, copy, raw.len);
            assert_true(rc == 0 || rc == STITCH_EPARSE || rc == STITCH_ELIMIT);
            if (rc)
                assert_int_equal(b.nspans, 0);
        }
    free(copy);
    /* packed pages: a cut or a bad frame is refused */
    size_t lens[ST_PAGE_MAX_PARTS];
    size_t n = st_page_parts(e, lens, ST_PAGE_MAX_PARTS);
    stitch_buf_t packed = STITCH_BUF_INIT(0), tmp = STITCH_BUF_INIT(0);
    assert_int_equal(st_page_pack(&raw, lens, n, ST_PAGE_ZSTD_LEVEL, &packed), 0);
    for (size_t cut = 4; cut < packed.len; cut += 3) {
        stitch_wire_batch_reset(&b);
        assert_int_not_equal(st_decode_page(packed.data, cut, &tmp, &b), 0);
        assert_int_equal(b.nspans, 0);
    }
    stitch_wire_batch_free(&b);
    stitch_buf_free(&raw);
    stitch_buf_free(&packed);
    stitch_buf_free(&tmp);
    st_page_enc_free(e);
    fixture_free(&f);
}

static uint64_t entry(char t, const char *a, const char *b)
{
    return st_entry_hash(t, a, strlen(a), b, b ? strlen(b) : 0);
}

static bool has_entry(const uint64_t *ent, size_t n, uint64_t h)
{
    for (size_t i = 0; i < n; i++)
        if (ent[i] == h)
            return true;
    return false;
}

/* The entries a page yields are st_entry_hash of the texts a search uses. */
static void test_store_page_bloom_entries(void **state)
{
    (void)state;
    fixture_t f;
    fixture_init(&f);
    st_page_enc_t *e = st_page_enc_new();
    stitch_buf_t raw = STITCH_BUF_INIT(0);
    assert_int_equal(st_page_encode(e, f.p, 6, &raw), 0);
    size_t n;
    const uint64_t *ent = st_page_entries(e, &n);
#define HAS(t, a, b) has_entry(ent, n, entry(t, a, b))
    assert_true(HAS(ST_ENT_SERVICE, "cart", NULL));
    assert_true(HAS(ST_ENT_SERVICE, "db", NULL));
    assert_true(HAS(ST_ENT_OP, "cart", "GET /cart"));
    assert_true(HAS(ST_ENT_OP, "db", "SELECT products"));
    assert_false(HAS(ST_ENT_OP, "cart", "SELECT products"));
    assert_true(HAS(ST_ENT_KEY, "http.route", NULL));
    assert_true(HAS(ST_ENT_KV, "http.route", "/cart"));
    assert_true(HAS(ST_ENT_KV, "http.response.status_code", "503"));
    assert_true(HAS(ST_ENT_KV, "price", "12.34"));
    assert_true(HAS(ST_ENT_KV, "cache.hit", "true"));
    assert_true(HAS(ST_ENT_KV, "host.cores", "8"));   /* resource */
    assert_true(HAS(ST_ENT_KV, "key", "k1"));         /* event */
    assert_true(HAS(ST_ENT_KV, "ints", "[-1,9223372036854775807,-9223372036854775808]"));
    assert_false(HAS(ST_ENT_KV, "link.kind", "follows")); /* links are not searched */
#undef HAS
    stitch_buf_free(&raw);
    st_page_enc_free(e);
    fixture_free(&f);
}

/* bloom.c's fast path for k/100 doubles gives stitch_wire_double's text. */
static void test_store_page_double_text(void **state)
{
    (void)state;
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 300000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int64_t k = (int64_t)(x % 20000000000000ull) - 10000000000000ll;
        double d = i < 100000 ? (double)(i - 50000) / 100.0 : i < 200000 ? (double)k / 100.0 : (double)k;
        char t[64], u[64];
        size_t l;
        stitch_value_t v = {STITCH_VALUE_DOUBLE, 0, {.d = d}};
        const char *a = st_value_text(&v, t, sizeof t, &l);
        stitch_buf_t b = {(uint8_t *)u, 0, sizeof u, sizeof u};
        assert_int_equal(stitch_wire_double(&b, d), 0);
        if (l != b.len || memcmp(a, u, l))
            fail_msg("%.17g: %.*s, want %.*s", d, (int)l, a, (int)b.len, u);
    }
}

/* copy.c: a deep copy shares nothing and keeps resource groups. */
static void test_store_page_copy(void **state)
{
    (void)state;
    fixture_t f;
    fixture_init(&f);
    stitch_wire_batch_t b;
    stitch_wire_batch_init(&b, 0);
    assert_int_equal(st_span_copy(&b, f.p, 6), 0);
    assert_int_equal(b.nspans, 6);
    for (int i = 0; i < 6; i++) {
        assert_same(f.p[i], &b.spans[i]);
        assert_ptr_not_equal(b.spans[i].resource, f.p[i]->resource);
    }
    assert_ptr_equal(b.spans[0].resource, b.spans[2].resource);
    assert_ptr_not_equal(b.spans[0].attrs[0].key, f.attrs[0].key);
    fixture_free(&f); /* the copy holds its own tracestate references */
    size_t tl;
    assert_string_equal(stitch_tracestate_str(b.spans[0].tracestate, &tl), "vendor=abc,other=1");
    stitch_wire_batch_free(&b);
}

struct mhits {
    size_t n;
    uint64_t last_start;
};

static void on_match(void *arg, const uint8_t tid[16], uint64_t start)
{
    (void)tid;
    struct mhits *m = arg;
    m->n++;
    m->last_start = start;
}

static bool odd_trace(const void *arg, const uint8_t tid[16])
{
    (void)arg;
    return tid[15] & 1;
}

/* High-cardinality columns: after 64 lookups a column of mostly new
 * values stops using the dictionary (raw strings); repeated values keep
 * it. Both decode to the same spans, with blooms on (blocks) and off
 * (head rows); the string parts hold every value whole. Also copy.c's
 * interning of keys and names. */
static void test_store_page_raw_columns(void **state)
{
    (void)state;
    enum { NS = 600 };
    static stitch_span_data_t d[NS];
    static const stitch_span_data_t *p[NS];
    static stitch_attr_t a[NS][3];
    static char users[NS][24];
    static const stitch_attr_t res[] = {{"service.name", {STITCH_VALUE_STRING, 4, {.str = "cart"}}}};
    for (int i = 0; i < NS; i++) {
        memset(&d[i], 0, sizeof d[i]);
        d[i].ctx.trace_id[0] = 1;
        d[i].ctx.trace_id[15] = (uint8_t)(i / 8);
        d[i].ctx.trace_id[14] = (uint8_t)(i / 8 >> 8);
        d[i].ctx.span_id[0] = 2;
        d[i].ctx.span_id[6] = (uint8_t)(i >> 8);
        d[i].ctx.span_id[7] = (uint8_t)i;
        d[i].name = i & 1 ? "get" : "put";
        d[i].start_ns = 1700000000000000000ull + (uint64_t)i * 1000;
        d[i].end_ns = d[i].start_ns + 500;
        d[i].status_message = "";
        snprintf(users[i], sizeof users[i], "user-%d", i * 7919 % 100003);
        a[i][0] = stitch_attr_str("user.id", users[i]);                 /* unique: raw */
        a[i][1] = stitch_attr_str("http.method", i % 3 ? "GET" : "POST"); /* repeated */
        a[i][2] = stitch_attr_str("note", i < 100 ? users[i] : "same");  /* unique, then repeated */
        d[i].attrs = a[i];
        d[i].nattrs = 3;
        d[i].resource = res;
        d[i].nresource = 1;
        p[i] = &d[i];
    }
    st_page_enc_t *e = st_page_enc_new();
    assert_non_null(e);
    stitch_buf_t raw = STITCH_BUF_INIT(0), packed = STITCH_BUF_INIT(0), part = STITCH_BUF_INIT(0);
    stitch_wire_batch_t b, c;
    stitch_wire_batch_init(&b, 0);
    stitch_wire_batch_init(&c, 0);
    /* the copy interns keys and names: one address per distinct string */
    assert_int_equal(st_span_copy(&c, p, NS), 0);
    assert_ptr_equal(c.spans[0].attrs[0].key, c.spans[NS - 1].attrs[0].key);
    assert_ptr_equal(c.spans[0].name, c.spans[2].name);
    assert_ptr_not_equal(c.spans[0].attrs[0].value.u.str, c.spans[1].attrs[0].value.u.str);
    const stitch_span_data_t *cp[NS];
    for (int i = 0; i < NS; i++)
        cp[i] = &c.spans[i];
    for (int mode = 0; mode < 2; mode++) {
        st_page_enc_blooms(e, mode == 0);
        assert_int_equal(st_page_encode(e, mode ? cp : p, NS, &raw), 0);
        size_t nent;
        (void)st_page_entries(e, &nent);
        if (mode == 0)
            assert_true(nent >= NS); /* every user.id value */
        else
            assert_int_equal(nent, 0);
        stitch_wire_batch_reset(&b);
        assert_int_equal(st_page_decode(&b, raw.data, raw.len), 0);
        assert_int_equal(b.nspans, NS);
        for (int i = 0; i < NS; i++)
            assert_same(p[i], &b.spans[i]);
        size_t lens[ST_PAGE_MAX_PARTS];
        size_t n = st_page_parts(e, lens, ST_PAGE_MAX_PARTS);
        assert_int_equal(st_page_pack(&raw, lens, n, mode ? ST_HEAD_ZSTD_LEVEL : ST_PAGE_ZSTD_LEVEL, &packed), 0);
        /* the trace-id part: 16 bytes a trace */
        assert_int_equal(st_page_part(packed.data, packed.len, st_page_part_tids(), &part), 0);
        assert_int_equal(part.len, 16 * (NS / 8));
        assert_memory_equal(part.data, d[0].ctx.trace_id, 16);
        /* every user id is in some string column, whole */
        size_t lp, dp, ncol, total = 0;
        st_page_part_strings(&lp, &dp, &ncol);
        bool seen = false;
        for (size_t col = 0; col < ncol; col++) {
            assert_int_equal(st_page_part(packed.data, packed.len, dp + col, &part), 0);
            total += part.len;
            if (memmem(part.data, part.len, users[NS - 1], strlen(users[NS - 1])))
                seen = true;
        }
        assert_true(seen);
        assert_true(total >= (size_t)NS * 6); /* "user-N" each time: raw */
        assert_int_equal(st_page_part(packed.data, packed.len, 999, &part), STITCH_EPARSE);
    }
    assert_int_equal(st_page_part("\x28\xb5\x2f\xfd", 4, 1, &part), STITCH_ENOTFOUND); /* not packed */

    /* the match pass (no records built) and the partial decode, on the
     * last page encoded (the copies: head mode) */
    struct mhits m = {0};
    stitch_store_tag_t tag = {"user.id", users[NS - 1]};
    st_page_match_t q = {.smax = UINT64_MAX, .dmax = UINT64_MAX, .kind = -1, .tags = &tag, .ntags = 1,
                         .hit = on_match, .arg = &m};
    stitch_wire_batch_reset(&b);
    assert_int_equal(st_page_match(&b, raw.data, raw.len, &q), 0);
    assert_int_equal(m.n, 1);
    assert_int_equal(m.last_start, d[NS - 1].start_ns);
    tag = (stitch_store_tag_t){"http.method", "POST"};
    q.service = "cart", q.svclen = 4, q.operation = "put";
    m.n = 0;
    assert_int_equal(st_page_match(&b, raw.data, raw.len, &q), 0);
    assert_int_equal(m.n, NS / 6); /* i % 3 == 0 and even */
    q.status_mask = 1u << STITCH_STATUS_ERROR;
    m.n = 0;
    assert_int_equal(st_page_match(&b, raw.data, raw.len, &q), 0);
    assert_int_equal(m.n, 0);
    stitch_wire_batch_reset(&b);
    assert_int_equal(st_page_decode_traces(&b, raw.data, raw.len, odd_trace, NULL), 0);
    assert_int_equal(b.nspans, NS / 16 * 8); /* traces of 8, the odd ones: 37 of 75 */
    for (size_t i = 0; i < b.nspans; i++)
        assert_same(p[(i / 8) * 16 + 8 + i % 8], &b.spans[i]);
    stitch_wire_batch_free(&b);
    stitch_wire_batch_free(&c);
    stitch_buf_free(&raw);
    stitch_buf_free(&packed);
    stitch_buf_free(&part);
    st_page_enc_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_page_roundtrip),
        cmocka_unit_test(test_store_page_damaged),
        cmocka_unit_test(test_store_page_bloom_entries),
        cmocka_unit_test(test_store_page_double_text),
        cmocka_unit_test(test_store_page_copy),
        cmocka_unit_test(test_store_page_raw_columns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
