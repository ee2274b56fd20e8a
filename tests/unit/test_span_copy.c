/* span_copy.c: the self-contained copies the batch processor queues. A
 * rich span (every attribute type, events with attributes, links with
 * attributes and tracestate, an ERROR status, a parent tracestate) is
 * copied both ways (stitch__span_copy, and stitch__span_record with its
 * inline-arena fast path and, for a span that needed arena chunks, its
 * fallback); each copy must equal the span field by field, point only
 * inside itself (or to the provider's resource and scope), and stay intact
 * after the span is released and its memory reused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "sdk/span.h"
#include "stitch/propagation.h"

/* ---- deep comparison ---- */

static void value_eq(const stitch_value_t *a, const stitch_value_t *b)
{
    assert_int_equal(a->type, b->type);
    assert_int_equal(a->len, b->len);
    switch (a->type) {
    case STITCH_VALUE_STRING:
        assert_memory_equal(a->u.str, b->u.str, a->len);
        assert_int_equal(b->u.str[b->len], '\0');
        break;
    case STITCH_VALUE_BOOL:
        assert_int_equal(a->u.b, b->u.b);
        break;
    case STITCH_VALUE_INT:
        assert_int_equal(a->u.i, b->u.i);
        break;
    case STITCH_VALUE_DOUBLE:
        assert_memory_equal(&a->u.d, &b->u.d, sizeof(double));
        break;
    case STITCH_VALUE_STRING_ARRAY:
        for (uint32_t i = 0; i < a->len; i++) {
            assert_int_equal(a->u.strs[i].len, b->u.strs[i].len);
            assert_memory_equal(a->u.strs[i].ptr, b->u.strs[i].ptr, a->u.strs[i].len);
            assert_int_equal(b->u.strs[i].ptr[b->u.strs[i].len], '\0');
        }
        break;
    case STITCH_VALUE_BOOL_ARRAY:
        assert_memory_equal(a->u.bools, b->u.bools, a->len * sizeof(bool));
        break;
    default:
        assert_memory_equal(a->u.ints, b->u.ints, a->len * sizeof(int64_t));
        break;
    }
}

static void attrs_eq(const stitch_attr_t *a, const stitch_attr_t *b, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        assert_string_equal(a[i].key, b[i].key);
        value_eq(&a[i].value, &b[i].value);
    }
}

static void data_eq(const stitch_span_data_t *a, const stitch_span_data_t *b)
{
    assert_memory_equal(&a->ctx, &b->ctx, sizeof a->ctx);
    assert_memory_equal(a->parent_span_id, b->parent_span_id, 8);
    assert_int_equal(a->parent_remote, b->parent_remote);
    assert_ptr_equal(a->tracestate, b->tracestate); /* a reference to the same object */
    assert_string_equal(a->name, b->name);
    assert_int_equal(a->kind, b->kind);
    assert_int_equal(a->start_ns, b->start_ns);
    assert_int_equal(a->end_ns, b->end_ns);
    assert_int_equal(a->nattrs, b->nattrs);
    assert_int_equal(a->dropped_attrs, b->dropped_attrs);
    attrs_eq(a->attrs, b->attrs, a->nattrs);
    assert_int_equal(a->nevents, b->nevents);
    assert_int_equal(a->dropped_events, b->dropped_events);
    for (uint32_t i = 0; i < a->nevents; i++) {
        assert_int_equal(a->events[i].time_ns, b->events[i].time_ns);
        assert_string_equal(a->events[i].name, b->events[i].name);
        assert_int_equal(a->events[i].nattrs, b->events[i].nattrs);
        assert_int_equal(a->events[i].dropped_attrs, b->events[i].dropped_attrs);
        attrs_eq(a->events[i].attrs, b->events[i].attrs, a->events[i].nattrs);
    }
    assert_int_equal(a->nlinks, b->nlinks);
    assert_int_equal(a->dropped_links, b->dropped_links);
    for (uint32_t i = 0; i < a->nlinks; i++) {
        assert_memory_equal(&a->links[i].ctx, &b->links[i].ctx, sizeof a->links[i].ctx);
        assert_ptr_equal(a->links[i].tracestate, b->links[i].tracestate);
        assert_int_equal(a->links[i].nattrs, b->links[i].nattrs);
        assert_int_equal(a->links[i].dropped_attrs, b->links[i].dropped_attrs);
        attrs_eq(a->links[i].attrs, b->links[i].attrs, a->links[i].nattrs);
    }
    assert_int_equal(a->status, b->status);
    assert_string_equal(a->status_message, b->status_message);
    assert_ptr_equal(a->resource, b->resource);
    assert_int_equal(a->nresource, b->nresource);
    assert_ptr_equal(a->scope, b->scope);
}

/* Every pointer the copy owns lies in [buf, buf + size). */
static void in(const void *p, const char *buf, size_t size)
{
    assert_true((const char *)p >= buf && (const char *)p < buf + size);
}

static void attrs_inside(const stitch_attr_t *a, uint32_t n, const char *buf, size_t size)
{
    if (n)
        in(a, buf, size);
    for (uint32_t i = 0; i < n; i++) {
        in(a[i].key, buf, size);
        const stitch_value_t *v = &a[i].value;
        if (v->type == STITCH_VALUE_STRING || v->type >= STITCH_VALUE_STRING_ARRAY)
            in(v->u.str, buf, size);
        if (v->type == STITCH_VALUE_STRING_ARRAY)
            for (uint32_t j = 0; j < v->len; j++)
                in(v->u.strs[j].ptr, buf, size);
    }
}

static void self_contained(const stitch_span_data_t *c, size_t size)
{
    const char *buf = (const char *)c;
    in(c->name, buf, size);
    attrs_inside(c->attrs, c->nattrs, buf, size);
    for (uint32_t i = 0; i < c->nevents; i++) {
        in(&c->events[i], buf, size);
        in(c->events[i].name, buf, size);
        attrs_inside(c->events[i].attrs, c->events[i].nattrs, buf, size);
    }
    for (uint32_t i = 0; i < c->nlinks; i++) {
        in(&c->links[i], buf, size);
        attrs_inside(c->links[i].attrs, c->links[i].nattrs, buf, size);
    }
}

/* ---- a processor that copies each ended span both ways ---- */

struct copies {
    stitch_span_data_t *generic, *record;
    size_t generic_size, record_size;
    bool fast; /* the record took the inline-arena path */
};

static void *xalloc(size_t n)
{
    void *p = aligned_alloc(8, (n + 7) & ~(size_t)7);
    assert_non_null(p);
    memset(p, 0xA5, n); /* no accidental zeros */
    return p;
}

static void copy_on_end(void *self, stitch_span_t *s)
{
    struct copies *c = self;
    const stitch_span_data_t *d = stitch_span_data(s);
    size_t at;
    c->generic_size = stitch__span_copy_size(d, &at);
    assert_int_equal(c->generic_size % 8, 0);
    c->generic = stitch__span_copy(xalloc(c->generic_size), at, d);
    c->record_size = stitch__span_record_size(s, &at);
    assert_int_equal(c->record_size % 8, 0);
    c->fast = at == 0;
    c->record = stitch__span_record(xalloc(c->record_size), at, s);
    data_eq(d, c->generic);
    data_eq(d, c->record);
    self_contained(c->generic, c->generic_size);
    self_contained(c->record, c->record_size);
    stitch_span_release(s); /* as the batch processor does: at once */
}

static const stitch_processor_ops_t copy_ops = {.on_end = copy_on_end};

static void copies_free(struct copies *c)
{
    stitch__span_copy_drop(c->generic);
    stitch__span_copy_drop(c->record);
    free(c->generic);
    free(c->record);
}

static stitch_tracestate_t *ts_parse(const char *s)
{
    stitch_tracestate_t *ts = NULL;
    assert_int_equal(stitch_tracestate_parse(s, strlen(s), &ts), 0);
    return ts;
}

/* A span with every attribute type, an event with attributes and a link
 * with a tracestate, small enough for the inline arena; `big` adds more
 * events, link attributes and a long value, past the inline arena. */
static void rich_span(stitch_tracer_t *t, bool big)
{
    stitch_ctx_t parent = STITCH_CTX_INIT;
    memset(parent.span.trace_id, 0x11, 16);
    memset(parent.span.span_id, 0x22, 8);
    parent.span.flags = STITCH_FLAG_SAMPLED;
    parent.span.remote = 1;
    parent.tracestate = ts_parse("parent=1,other=x");
    stitch_tracestate_t *lts = ts_parse("link=abc");
    stitch_attr_t lattrs[] = {stitch_attr_str("link.k", "link-v"), stitch_attr_int("link.n", 7)};
    stitch_link_t link = {.tracestate = lts, .attrs = lattrs, .nattrs = big ? 2 : 0};
    memset(link.ctx.trace_id, 0x33, 16);
    memset(link.ctx.span_id, 0x44, 8);
    stitch_span_opts_t o = {.kind = STITCH_SPAN_KIND_SERVER, .parent = &parent, .links = &link,
                            .nlinks = 1};
    stitch_span_t *s = stitch_span_start(t, "GET /rich", &o);
    assert_true(stitch_span_is_recording(s));
    static const stitch_str_t strs[] = {{"a", 1}, {"bc", 2}, {"", 0}};
    static const bool bools[] = {true, false, true};
    static const int64_t ints[] = {-1, 0, INT64_MAX};
    static const double dbls[] = {0.5, -2.25};
    stitch_attr_t arr[] = {
        {"s.arr", {STITCH_VALUE_STRING_ARRAY, 3, {.strs = strs}}},
        {"b.arr", {STITCH_VALUE_BOOL_ARRAY, 3, {.bools = bools}}},
        {"i.arr", {STITCH_VALUE_INT_ARRAY, 3, {.ints = ints}}},
        {"d.arr", {STITCH_VALUE_DOUBLE_ARRAY, 2, {.doubles = dbls}}},
    };
    assert_int_equal(stitch_span_set_str(s, "http.method", "GET"), 0);
    assert_int_equal(stitch_span_set_int(s, "http.status", 500), 0);
    assert_int_equal(stitch_span_set_double(s, "ratio", 0.125), 0);
    assert_int_equal(stitch_span_set_bool(s, "cache.hit", false), 0);
    assert_int_equal(stitch_span_set_attrs(s, arr, 4), 0);
    assert_int_equal(stitch_span_set_str(s, "http.method", "POST"), 0); /* replaced */
    if (big) {
        char v[2000];
        memset(v, 'z', sizeof v);
        assert_int_equal(stitch_span_set_strn(s, "big", v, sizeof v), 0);
    }
    stitch_attr_t eattrs[] = {stitch_attr_str("e.k", "e-v"), stitch_attr_bool("e.b", true)};
    assert_int_equal(stitch_span_add_event(s, "ev1", 123, eattrs, big ? 2 : 1), 0);
    stitch_tracestate_t *lts2 = ts_parse("second=2");
    if (big) {
        assert_int_equal(stitch_span_add_event(s, "ev2", 0, NULL, 0), 0);
        assert_int_equal(stitch_span_record_exception(s, "E", "boom", NULL), 0);
        stitch_link_t link2 = {.tracestate = lts2};
        memset(link2.ctx.trace_id, 0x55, 16);
        memset(link2.ctx.span_id, 0x66, 8);
        assert_int_equal(stitch_span_add_link(s, &link2), 0);
    }
    stitch_span_set_status(s, STITCH_STATUS_ERROR, "it broke");
    stitch_span_end(s);
    /* only the copies (and the span, now released) held these */
    stitch_ctx_release(&parent);
    stitch_tracestate_unref(lts);
    stitch_tracestate_unref(lts2);
}

/* What rich_span recorded, checked on a copy alone. */
static void check_rich(const stitch_span_data_t *c, bool big)
{
    assert_string_equal(c->name, "GET /rich");
    assert_int_equal(c->kind, STITCH_SPAN_KIND_SERVER);
    assert_int_equal(c->parent_span_id[0], 0x22);
    assert_true(c->parent_remote);
    assert_string_equal(stitch_tracestate_str(c->tracestate, NULL), "parent=1,other=x");
    assert_int_equal(c->nattrs, big ? 9 : 8);
    assert_string_equal(stitch_span_data_attr(c, "http.method")->u.str, "POST");
    assert_int_equal(stitch_span_data_attr(c, "http.status")->u.i, 500);
    assert_true(stitch_span_data_attr(c, "ratio")->u.d == 0.125);
    assert_false(stitch_span_data_attr(c, "cache.hit")->u.b);
    const stitch_value_t *v = stitch_span_data_attr(c, "s.arr");
    assert_int_equal(v->len, 3);
    assert_string_equal(v->u.strs[1].ptr, "bc");
    assert_int_equal(stitch_span_data_attr(c, "i.arr")->u.ints[2], INT64_MAX);
    assert_true(stitch_span_data_attr(c, "d.arr")->u.doubles[1] == -2.25);
    assert_true(stitch_span_data_attr(c, "b.arr")->u.bools[2]);
    if (big)
        assert_int_equal(stitch_span_data_attr(c, "big")->len, 2000);
    assert_int_equal(c->nevents, big ? 3 : 1);
    assert_string_equal(c->events[0].name, "ev1");
    assert_int_equal(c->events[0].time_ns, 123);
    assert_string_equal(c->events[0].attrs[0].value.u.str, "e-v");
    assert_int_equal(c->nlinks, big ? 2 : 1);
    assert_int_equal(c->links[0].ctx.trace_id[0], 0x33);
    assert_string_equal(stitch_tracestate_str(c->links[0].tracestate, NULL), "link=abc");
    if (big) {
        assert_int_equal(c->events[1].nattrs, 0);
        assert_string_equal(c->events[2].name, "exception");
        assert_string_equal(c->links[0].attrs[1].key, "link.n");
        assert_string_equal(c->links[0].attrs[0].value.u.str, "link-v");
        assert_string_equal(stitch_tracestate_str(c->links[1].tracestate, NULL), "second=2");
    }
    assert_int_equal(c->status, STITCH_STATUS_ERROR);
    assert_string_equal(c->status_message, "it broke");
}

static void copy_case(bool big)
{
    stitch_provider_t *p;
    stitch_provider_opts_t po = {.no_env = true};
    assert_int_equal(stitch_provider_new(&p, &po), 0);
    struct copies c = {0}, c2 = {0};
    stitch_processor_t *proc = stitch_processor_new(&copy_ops, &c);
    assert_int_equal(stitch_provider_add_processor(p, proc), 0);
    stitch_tracer_t *t = stitch_tracer(p, "copy-test", "1");
    rich_span(t, big);
    assert_int_equal(c.fast, !big);
    check_rich(c.generic, big);
    check_rich(c.record, big);
    /* reuse the (released) span with other data: the copies do not change */
    c2 = c;
    for (int i = 0; i < 4; i++) {
        stitch_span_t *s = stitch_span_start(t, "another-name-entirely", NULL);
        (void)stitch_span_set_str(s, "http.method", "DELETE-DELETE-DELETE");
        (void)stitch_span_set_int(s, "x", i);
        stitch_span_end(s);
        copies_free(&c);
    }
    check_rich(c2.generic, big);
    check_rich(c2.record, big);
    data_eq(c2.generic, c2.record);
    copies_free(&c2);
    stitch_provider_free(p);
}

static void test_span_copy_rich_span(void **state)
{
    (void)state;
    copy_case(false);
}

static void test_span_copy_span_with_chunks(void **state)
{
    (void)state;
    copy_case(true);
}

/* A bare data record (no span behind it): empty lists, NULL strings. */
static void test_span_copy_bare_data(void **state)
{
    (void)state;
    stitch_span_data_t d;
    memset(&d, 0, sizeof d);
    d.name = "n";
    d.status_message = "";
    size_t at, n = stitch__span_copy_size(&d, &at);
    assert_int_equal(n, sizeof d + 8);
    stitch_span_data_t *c = stitch__span_copy(xalloc(n), at, &d);
    data_eq(&d, c);
    assert_null(c->attrs);
    assert_null(c->events);
    assert_null(c->links);
    stitch__span_copy_drop(c);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_span_copy_rich_span),
        cmocka_unit_test(test_span_copy_span_with_chunks),
        cmocka_unit_test(test_span_copy_bare_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
