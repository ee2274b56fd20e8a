/* The OpenTelemetry span data model end to end: a provider with a memory
 * processor, spans started and ended through the public API, and the
 * recorded data read back and compared with exact values. Also limits,
 * samplers that drop, a disabled SDK, and spans crossing threads (which
 * exercises the per-thread pools' remote return and orphaned pools). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "sdk/internal.h"
#include "sdk/span.h"

/* ---- fixture ---- */

struct fx {
    stitch_provider_t *p;
    stitch_processor_t *mem; /* owned by p */
    stitch_tracer_t *t;
};

static void fx_make(struct fx *f, const stitch_limits_t *lim, stitch_sampler_t *sampler)
{
    stitch_provider_opts_t o = {.no_env = true, .limits = lim, .sampler = sampler};
    assert_int_equal(stitch_provider_new(&f->p, &o), STITCH_OK);
    f->mem = stitch_memory_processor_new(0);
    assert_non_null(f->mem);
    assert_int_equal(stitch_provider_add_processor(f->p, f->mem), STITCH_OK);
    f->t = stitch_tracer(f->p, "test", "1.0");
    assert_non_null(f->t);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    fx_make(f, NULL, NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    stitch_provider_free(f->p);
    free(f);
    return 0;
}

static const stitch_span_data_t *only_span(struct fx *f)
{
    assert_int_equal(stitch_memory_processor_count(f->mem), 1);
    const stitch_span_data_t *d = stitch_memory_processor_get(f->mem, 0);
    assert_non_null(d);
    return d;
}

static void assert_str_value(const stitch_value_t *v, const char *want)
{
    assert_non_null(v);
    assert_int_equal(v->type, STITCH_VALUE_STRING);
    assert_int_equal(v->len, strlen(want));
    assert_memory_equal(v->u.str, want, strlen(want) + 1); /* NUL-terminated too */
}

static uint64_t realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- ids, parents, names, kinds ---- */

static void test_span_ids_and_parent(void **state)
{
    struct fx *f = *state;
    stitch_ctx_t root_ctx = STITCH_CTX_INIT;
    stitch_span_opts_t ro = {.parent = &root_ctx, .kind = STITCH_SPAN_KIND_SERVER};
    stitch_span_t *root = stitch_span_start(f->t, "root", &ro);
    stitch_ctx_t pc;
    stitch_ctx_from_span(&pc, root, NULL);
    stitch_span_opts_t co = {.parent = &pc, .kind = STITCH_SPAN_KIND_CLIENT};
    stitch_span_t *child = stitch_span_start(f->t, "child", &co);
    stitch_span_ctx_t rc = stitch_span_context(root), cc = stitch_span_context(child);
    stitch_span_end(child);
    stitch_span_end(root);
    stitch_ctx_release(&pc);

    assert_int_equal(stitch_memory_processor_count(f->mem), 2);
    const stitch_span_data_t *c = stitch_memory_processor_get(f->mem, 0);
    const stitch_span_data_t *r = stitch_memory_processor_get(f->mem, 1);
    static const uint8_t zero[16];
    assert_true(stitch_span_ctx_valid(&r->ctx));
    assert_true(stitch_span_ctx_valid(&c->ctx));
    assert_memory_not_equal(r->ctx.trace_id, zero, 16);
    assert_memory_not_equal(r->ctx.span_id, zero, 8);
    assert_memory_equal(r->ctx.trace_id, c->ctx.trace_id, 16);
    assert_memory_not_equal(r->ctx.span_id, c->ctx.span_id, 8);
    assert_memory_equal(c->parent_span_id, r->ctx.span_id, 8);
    assert_memory_equal(r->parent_span_id, zero, 8);
    assert_false(c->parent_remote);
    assert_false(r->parent_remote);
    assert_int_equal(r->ctx.flags, STITCH_FLAG_SAMPLED);
    assert_int_equal(c->ctx.flags, STITCH_FLAG_SAMPLED);
    assert_int_equal(r->ctx.remote, 0);
    assert_memory_equal(&rc, &r->ctx, sizeof rc);
    assert_memory_equal(&cc, &c->ctx, sizeof cc);
    assert_string_equal(r->name, "root");
    assert_string_equal(c->name, "child");
    assert_int_equal(r->kind, STITCH_SPAN_KIND_SERVER);
    assert_int_equal(c->kind, STITCH_SPAN_KIND_CLIENT);
    assert_string_equal(r->scope->name, "test");
    assert_string_equal(r->scope->version, "1.0");
    assert_int_equal(r->status, STITCH_STATUS_UNSET);
    assert_string_equal(r->status_message, "");
    assert_int_equal(r->nattrs, 0);
    assert_int_equal(r->nevents, 0);
    assert_int_equal(r->nlinks, 0);
}

static void test_span_kinds_default_internal(void **state)
{
    struct fx *f = *state;
    for (int k = 0; k <= 5; k++) {
        stitch_span_opts_t o = {.kind = (stitch_span_kind_t)k};
        stitch_span_end(stitch_span_start(f->t, "k", &o));
    }
    stitch_span_end(stitch_span_start(f->t, "null-opts", NULL));
    assert_int_equal(stitch_memory_processor_count(f->mem), 7);
    assert_int_equal(stitch_memory_processor_get(f->mem, 0)->kind, STITCH_SPAN_KIND_INTERNAL);
    for (int k = 1; k <= 5; k++)
        assert_int_equal(stitch_memory_processor_get(f->mem, (size_t)k)->kind, k);
    assert_int_equal(stitch_memory_processor_get(f->mem, 6)->kind, STITCH_SPAN_KIND_INTERNAL);
    assert_string_equal(stitch_memory_processor_get(f->mem, 6)->name, "null-opts");
}

static void test_span_name_copied(void **state)
{
    struct fx *f = *state;
    char name[] = "original";
    stitch_span_t *s = stitch_span_start(f->t, name, NULL);
    strcpy(name, "mutated!");
    stitch_span_end(s);
    assert_string_equal(only_span(f)->name, "original");
}

/* ---- timestamps ---- */

static void test_span_explicit_times(void **state)
{
    struct fx *f = *state;
    stitch_span_opts_t o = {.start_ns = 1700000000123456789ull};
    stitch_span_t *s = stitch_span_start(f->t, "t", &o);
    stitch_span_end_at(s, 1700000000987654321ull);
    const stitch_span_data_t *d = only_span(f);
    assert_int_equal(d->start_ns, 1700000000123456789ull);
    assert_int_equal(d->end_ns, 1700000000987654321ull);
}

static void test_span_now_times(void **state)
{
    struct fx *f = *state;
    uint64_t t0 = stitch_now_ns(), r0 = realtime_ns();
    stitch_span_t *s = stitch_span_start(f->t, "now", NULL);
    stitch_span_end(s);
    uint64_t t1 = stitch_now_ns(), r1 = realtime_ns();
    const stitch_span_data_t *d = only_span(f);
    assert_true(d->start_ns >= t0);
    assert_true(d->end_ns >= d->start_ns);
    assert_true(d->end_ns <= t1);
    /* and the SDK clock is the wall clock, within a few ms */
    assert_true(d->start_ns + 5000000 >= r0);
    assert_true(d->end_ns <= r1 + 5000000);

    /* explicit start, end now: end is now, not start + something */
    stitch_memory_processor_clear(f->mem);
    uint64_t start = realtime_ns() - 1000000000ull; /* a second ago */
    stitch_span_opts_t o = {.start_ns = start};
    s = stitch_span_start(f->t, "late", &o);
    stitch_span_end(s);
    uint64_t r2 = realtime_ns();
    d = only_span(f);
    assert_int_equal(d->start_ns, start);
    assert_true(d->end_ns + 5000000 >= r2 && d->end_ns <= r2 + 5000000);

    /* end_at(0) means now */
    stitch_memory_processor_clear(f->mem);
    s = stitch_span_start(f->t, "end-at-0", NULL);
    stitch_span_end_at(s, 0);
    uint64_t r3 = realtime_ns();
    d = only_span(f);
    assert_true(d->end_ns >= d->start_ns);
    assert_true(d->end_ns + 5000000 >= r3 && d->end_ns <= r3 + 5000000);
}

/* ---- attributes ---- */

static void test_span_typed_attributes(void **state)
{
    struct fx *f = *state;
    stitch_span_t *s = stitch_span_start(f->t, "attrs", NULL);
    char buf[32];
    strcpy(buf, "hello");
    assert_int_equal(stitch_span_set_str(s, "s", buf), STITCH_OK);
    strcpy(buf, "XXXXX"); /* the span has its own copy */
    assert_int_equal(stitch_span_set_strn(s, "sn", "abcdef", 3), STITCH_OK);
    assert_int_equal(stitch_span_set_int(s, "i", -42), STITCH_OK);
    assert_int_equal(stitch_span_set_int(s, "imax", INT64_MAX), STITCH_OK);
    assert_int_equal(stitch_span_set_double(s, "d", 2.5), STITCH_OK);
    assert_int_equal(stitch_span_set_bool(s, "b", true), STITCH_OK);

    char e0[] = "one", e1[] = "two";
    stitch_str_t strs[] = {{e0, 3}, {e1, 3}, {"", 0}};
    bool bools[] = {true, false, true};
    int64_t ints[] = {1, -2, INT64_MIN};
    double dbls[] = {0.5, -1e300};
    char key[] = "sa";
    stitch_attr_t arr[] = {
        {key, {STITCH_VALUE_STRING_ARRAY, 3, {.strs = strs}}},
        {"ba", {STITCH_VALUE_BOOL_ARRAY, 3, {.bools = bools}}},
        {"ia", {STITCH_VALUE_INT_ARRAY, 3, {.ints = ints}}},
        {"da", {STITCH_VALUE_DOUBLE_ARRAY, 2, {.doubles = dbls}}},
        {"ea", {STITCH_VALUE_INT_ARRAY, 0, {.ints = NULL}}},
    };
    assert_int_equal(stitch_span_set_attrs(s, arr, 5), STITCH_OK);
    /* mutate every caller buffer after the call */
    strcpy(e0, "XXX");
    strcpy(e1, "YYY");
    strcpy(key, "zz");
    bools[0] = false;
    ints[0] = 99;
    dbls[0] = 99.0;
    stitch_span_end(s);

    const stitch_span_data_t *d = only_span(f);
    assert_int_equal(d->nattrs, 11);
    assert_int_equal(d->dropped_attrs, 0);
    assert_str_value(stitch_span_data_attr(d, "s"), "hello");
    assert_str_value(stitch_span_data_attr(d, "sn"), "abc");
    const stitch_value_t *v = stitch_span_data_attr(d, "i");
    assert_int_equal(v->type, STITCH_VALUE_INT);
    assert_int_equal(v->u.i, -42);
    v = stitch_span_data_attr(d, "imax");
    assert_int_equal(v->u.i, INT64_MAX);
    v = stitch_span_data_attr(d, "d");
    assert_int_equal(v->type, STITCH_VALUE_DOUBLE);
    assert_true(v->u.d == 2.5);
    v = stitch_span_data_attr(d, "b");
    assert_int_equal(v->type, STITCH_VALUE_BOOL);
    assert_true(v->u.b);

    v = stitch_span_data_attr(d, "sa");
    assert_non_null(v);
    assert_null(stitch_span_data_attr(d, "zz"));
    assert_int_equal(v->type, STITCH_VALUE_STRING_ARRAY);
    assert_int_equal(v->len, 3);
    assert_int_equal(v->u.strs[0].len, 3);
    assert_string_equal(v->u.strs[0].ptr, "one");
    assert_string_equal(v->u.strs[1].ptr, "two");
    assert_int_equal(v->u.strs[2].len, 0);
    assert_string_equal(v->u.strs[2].ptr, "");
    v = stitch_span_data_attr(d, "ba");
    assert_int_equal(v->type, STITCH_VALUE_BOOL_ARRAY);
    assert_int_equal(v->len, 3);
    assert_true(v->u.bools[0] && !v->u.bools[1] && v->u.bools[2]);
    v = stitch_span_data_attr(d, "ia");
    assert_int_equal(v->type, STITCH_VALUE_INT_ARRAY);
    assert_int_equal(v->len, 3);
    assert_int_equal(v->u.ints[0], 1);
    assert_int_equal(v->u.ints[1], -2);
    assert_int_equal(v->u.ints[2], INT64_MIN);
    v = stitch_span_data_attr(d, "da");
    assert_int_equal(v->type, STITCH_VALUE_DOUBLE_ARRAY);
    assert_int_equal(v->len, 2);
    assert_true(v->u.doubles[0] == 0.5 && v->u.doubles[1] == -1e300);
    v = stitch_span_data_attr(d, "ea");
    assert_int_equal(v->type, STITCH_VALUE_INT_ARRAY);
    assert_int_equal(v->len, 0);
    assert_null(stitch_span_data_attr(d, "absent"));
    /* keys are in the order they were first set */
    assert_string_equal(d->attrs[0].key, "s");
    assert_string_equal(d->attrs[10].key, "ea");
}

static void test_span_attribute_replace(void **state)
{
    struct fx *f = *state;
    stitch_span_t *s = stitch_span_start(f->t, "replace", NULL);
    assert_int_equal(stitch_span_set_str(s, "k", "first"), STITCH_OK);
    assert_int_equal(stitch_span_set_int(s, "other", 1), STITCH_OK);
    assert_int_equal(stitch_span_set_str(s, "k", "second"), STITCH_OK);
    assert_int_equal(stitch_span_set_int(s, "other", 2), STITCH_OK);
    assert_int_equal(stitch_span_set_bool(s, "k", false), STITCH_OK); /* type may change */
    stitch_span_end(s);
    const stitch_span_data_t *d = only_span(f);
    assert_int_equal(d->nattrs, 2);
    assert_string_equal(d->attrs[0].key, "k");
    assert_int_equal(d->attrs[0].value.type, STITCH_VALUE_BOOL);
    assert_false(d->attrs[0].value.u.b);
    assert_int_equal(stitch_span_data_attr(d, "other")->u.i, 2);
}

static void test_span_start_attributes(void **state)
{
    struct fx *f = *state;
    stitch_attr_t a[] = {stitch_attr_str("http.method", "GET"), stitch_attr_int("n", 7),
                         stitch_attr_str("http.method", "POST")};
    stitch_span_opts_t o = {.attrs = a, .nattrs = 3};
    stitch_span_end(stitch_span_start(f->t, "start-attrs", &o));
    const stitch_span_data_t *d = only_span(f);
    assert_int_equal(d->nattrs, 2);
    assert_str_value(stitch_span_data_attr(d, "http.method"), "POST");
    assert_int_equal(stitch_span_data_attr(d, "n")->u.i, 7);
}

static void test_span_attribute_count_limit(void **state)
{
    struct fx *f = *state;
    stitch_span_t *s = stitch_span_start(f->t, "many", NULL);
    char key[32];
    for (int i = 0; i < 128; i++) {
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(stitch_span_set_int(s, key, i), STITCH_OK);
    }
    assert_int_equal(stitch_span_set_int(s, "k128", 128), STITCH_ELIMIT);
    assert_int_equal(stitch_span_set_str(s, "k129", "x"), STITCH_ELIMIT);
    /* replacing an existing key at the limit is not a new attribute */
    assert_int_equal(stitch_span_set_int(s, "k5", 500), STITCH_OK);
    stitch_span_end(s);
    const stitch_span_data_t *d = only_span(f);
    assert_int_equal(d->nattrs, 128);
    assert_int_equal(d->dropped_attrs, 2);
    assert_int_equal(stitch_span_data_attr(d, "k5")->u.i, 500);
    assert_int_equal(stitch_span_data_attr(d, "k127")->u.i, 127);
    assert_null(stitch_span_data_attr(d, "k128"));
    for (int i = 0; i < 128; i++) {
        snprintf(key, sizeof key, "k%d", i);
        assert_string_equal(d->attrs[i].key, key);
    }
}

static void test_span_value_length_limit(void **state)
{
    (void)state;
    struct fx f;
    stitch_limits_t lim;
    stitch_limits_default(&lim, false);
    lim.attribute_value_length = 5;
    fx_make(&f, &lim, NULL);
    stitch_span_t *s = stitch_span_start(f.t, "len", NULL);
    assert_int_equal(stitch_span_set_str(s, "ascii", "abcdefgh"), STITCH_OK);
    assert_int_equal(stitch_span_set_str(s, "short", "ab"), STITCH_OK);
    assert_int_equal(stitch_span_set_str(s, "exact", "abcde"), STITCH_OK);
    /* "abcd" + U+00E9 (2 bytes): byte 5 is in the middle of é → cut to 4 */
    assert_int_equal(stitch_span_set_str(s, "two", "abcd\xc3\xa9"), STITCH_OK);
    /* "a" + U+20AC (3 bytes) + "b": 5 bytes fit exactly */
    assert_int_equal(stitch_span_set_str(s, "three", "a\xe2\x82\xac" "b!"), STITCH_OK);
    /* "ab" + U+1F600 (4 bytes): cut to "ab" */
    assert_int_equal(stitch_span_set_str(s, "four", "ab\xf0\x9f\x98\x80"), STITCH_OK);
    stitch_str_t strs[] = {{"0123456789", 10}, {"xy", 2}, {"abcd\xc3\xa9", 6}};
    stitch_attr_t sa = {"arr", {STITCH_VALUE_STRING_ARRAY, 3, {.strs = strs}}};
    assert_int_equal(stitch_span_set_attr(s, &sa), STITCH_OK);
    assert_int_equal(stitch_span_set_int(s, "int", 1234567890), STITCH_OK); /* not cut */
    stitch_span_end(s);
    const stitch_span_data_t *d = only_span(&f);
    assert_str_value(stitch_span_data_attr(d, "ascii"), "abcde");
    assert_str_value(stitch_span_data_attr(d, "short"), "ab");
    assert_str_value(stitch_span_data_attr(d, "exact"), "abcde");
    assert_str_value(stitch_span_data_attr(d, "two"), "abcd");
    assert_str_value(stitch_span_data_attr(d, "three"), "a\xe2\x82\xac" "b");
    assert_str_value(stitch_span_data_attr(d, "four"), "ab");
    const stitch_value_t *v = stitch_span_data_attr(d, "arr");
    assert_int_equal(v->len, 3);
    assert_int_equal(v->u.strs[0].len, 5);
    assert_string_equal(v->u.strs[0].ptr, "01234");
    assert_int_equal(v->u.strs[1].len, 2);
    assert_int_equal(v->u.strs[2].len, 4);
    assert_string_equal(v->u.strs[2].ptr, "abcd");
    assert_int_equal(stitch_span_data_attr(d, "int")->u.i, 1234567890);
    stitch_provider_free(f.p);
}

/* A rejected value leaves an existing attribute as it was, and a NULL
 * string with a length is rejected (not read), with or without a length
 * limit. */
static void test_span_invalid_value_keeps_attribute(void **state)
{
    (void)state;
    struct fx f;
    stitch_limits_t lim;
    stitch_limits_default(&lim, false);
    lim.attribute_value_length = 3;
    fx_make(&f, &lim, NULL);
    stitch_span_t *s = stitch_span_start(f.t, "bad", NULL);
    assert_int_equal(stitch_span_set_int(s, "k", 41), STITCH_OK);
    assert_int_equal(stitch_span_set_str(s, "str", "abc"), STITCH_OK);
    stitch_attr_t null_str = {"k", {STITCH_VALUE_STRING, 10, {.str = NULL}}};
    assert_int_equal(stitch_span_set_attr(s, &null_str), STITCH_EINVAL);
    assert_int_equal(stitch_span_set_strn(s, "str", NULL, 10), STITCH_EINVAL);
    stitch_attr_t bad_type = {"k", {(stitch_value_type_t)99, 0, {.i = 0}}};
    assert_int_equal(stitch_span_set_attr(s, &bad_type), STITCH_EINVAL);
    bad_type.key = "new";
    assert_int_equal(stitch_span_set_attr(s, &bad_type), STITCH_EINVAL);
    assert_int_equal(stitch_span_set_strn(s, "new2", NULL, 10), STITCH_EINVAL);
    assert_int_equal(stitch_span_set_str(s, "nul", NULL), STITCH_OK); /* NULL, 0: "" */
    stitch_str_t strs[] = {{NULL, 10}, {"abcdef", 6}};
    stitch_attr_t arr = {"arr", {STITCH_VALUE_STRING_ARRAY, 2, {.strs = strs}}};
    assert_int_equal(stitch_span_set_attr(s, &arr), STITCH_OK); /* NULL element: "" */
    stitch_attr_t null_arr = {"k", {STITCH_VALUE_INT_ARRAY, 3, {.ints = NULL}}};
    assert_int_equal(stitch_span_set_attr(s, &null_arr), STITCH_EINVAL);
    null_arr.value.type = STITCH_VALUE_STRING_ARRAY;
    assert_int_equal(stitch_span_set_attr(s, &null_arr), STITCH_EINVAL);
    stitch_attr_t no_key = {NULL, {STITCH_VALUE_INT, 0, {.i = 1}}};
    assert_int_equal(stitch_span_set_attr(s, &no_key), STITCH_EINVAL);
    assert_int_equal(stitch_span_set_attr(s, NULL), STITCH_EINVAL);
    stitch_span_end(s);
    const stitch_span_data_t *d = only_span(&f);
    assert_int_equal(d->nattrs, 4);
    assert_int_equal(d->dropped_attrs, 0);
    const stitch_value_t *v = stitch_span_data_attr(d, "k");
    assert_int_equal(v->type, STITCH_VALUE_INT);
    assert_int_equal(v->u.i, 41);
    assert_str_value(stitch_span_data_attr(d, "str"), "abc");
    assert_str_value(stitch_span_data_attr(d, "nul"), "");
    assert_null(stitch_span_data_attr(d, "new"));
    assert_null(stitch_span_data_attr(d, "new2"));
    v = stitch_span_data_attr(d, "arr");
    assert_int_equal(v->u.strs[0].len, 0);
    assert_string_equal(v->u.strs[0].ptr, "");
    assert_string_equal(v->u.strs[1].ptr, "abc");
    stitch_provider_free(f.p);
}

static void test_span_memory_processor_max(void **state)
{
    (void)state;
    stitch_provider_t *p;
    stitch_provider_opts_t o = {.no_env = true};
    assert_int_equal(stitch_provider_new(&p, &o), STITCH_OK);
    stitch_processor_t *mem = stitch_memory_processor_new(2);
    assert_int_equal(stitch_provider_add_processor(p, mem), STITCH_OK);
    stitch_tracer_t *t = stitch_tracer(p, NULL, NULL);
    for (int i = 0; i < 5; i++)
        stitch_span_end(stitch_span_start(t, i == 0 ? "a" : "b", NULL));
    assert_int_equal(stitch_memory_processor_count(mem), 2);
    assert_int_equal(stitch_memory_processor_dropped(mem), 3);
    assert_string_equal(stitch_memory_processor_get(mem, 0)->name, "a");
    assert_null(stitch_memory_processor_get(mem, 2));
    stitch_memory_processor_clear(mem);
    assert_int_equal(stitch_memory_processor_count(mem), 0);
    /* not a memory processor: zero / NULL */
    assert_int_equal(stitch_memory_processor_count(NULL), 0);
    assert_null(stitch_memory_processor_get(NULL, 0));
    stitch_provider_free(p);
}

static void test_span_big_attributes_use_arena_chunks(void **state)
{
    struct fx *f = *state;
    static char val[2048 + 1];
    char key[32];
    for (int round = 0; round < 3; round++) { /* again, on reused spans */
        stitch_span_t *s = stitch_span_start(f->t, "big", NULL);
        for (int i = 0; i < 100; i++) {
            memset(val, 'a' + (i + round) % 26, 2048);
            snprintf(key, sizeof key, "big.%d", i);
            assert_int_equal(stitch_span_set_str(s, key, val), STITCH_OK);
        }
        assert_int_equal(stitch_span_add_event(s, "ev", 0, NULL, 0), STITCH_OK);
        stitch_span_end(s);
        const stitch_span_data_t *d = only_span(f);
        assert_int_equal(d->nattrs, 100);
        assert_string_equal(d->events[0].name, "ev");
        for (int i = 0; i < 100; i++) {
            snprintf(key, sizeof key, "big.%d", i);
            const stitch_value_t *v = stitch_span_data_attr(d, key);
            assert_non_null(v);
            assert_int_equal(v->len, 2048);
            memset(val, 'a' + (i + round) % 26, 2048);
            assert_memory_equal(v->u.str, val, 2049);
        }
        assert_non_null(((const stitch_span_t *)d)->chunks);
        stitch_memory_processor_clear(f->mem);
    }
}

static void test_span_not_recording_setters_return_ok(void **state)
{
    (void)state;
    struct fx f;
    fx_make(&f, NULL, stitch_sampler_always_off());
    stitch_span_t *s = stitch_span_start(f.t, "off", NULL);
    assert_false(stitch_span_is_recording(s));
    assert_int_equal(stitch_span_set_str(s, "a", "b"), STITCH_OK);
    assert_int_equal(stitch_span_set_int(s, "a", 1), STITCH_OK);
    assert_int_equal(stitch_span_add_event(s, "e", 0, NULL, 0), STITCH_OK);
    stitch_link_t l = {0};
    assert_int_equal(stitch_span_add_link(s, &l), STITCH_OK);
    assert_int_equal(stitch_span_update_name(s, "x"), STITCH_OK);
    assert_int_equal(stitch_span_record_exception(s, "T", "m", NULL), STITCH_OK);
    stitch_span_set_status(s, STITCH_STATUS_ERROR, "boom");
    stitch_span_end(s);
    assert_int_equal(stitch_memory_processor_count(f.mem), 0);
    stitch_provider_free(f.p);
}

/* ---- events ---- */

static void test_span_events(void **state)
{
    struct fx *f = *state;
    stitch_span_t *s = stitch_span_start(f->t, "events", NULL);
    char name[] = "cache.miss";
    char val[] = "user:42";
    stitch_attr_t a[] = {stitch_attr_str("cache.key", val), stitch_attr_int("cache.size", 3)};
    assert_int_equal(stitch_span_add_event(s, name, 1700000000000000001ull, a, 2), STITCH_OK);
    strcpy(name, "XXXXXXXXXX");
    strcpy(val, "XXXXXXX");
    uint64_t before = stitch_now_ns();
    assert_int_equal(stitch_span_add_event(s, "now", 0, NULL, 0), STITCH_OK);
    uint64_t after = stitch_now_ns();
    assert_int_equal(stitch_span_add_event(s, NULL, 5, NULL, 0), STITCH_OK);
    for (int i = 0; i < 10; i++) /* grow the event array past its first size */
        assert_int_equal(stitch_span_add_event(s, "more", (uint64_t)i + 1, NULL, 0), STITCH_OK);
    stitch_span_end(s);

    const stitch_span_data_t *d = only_span(f);
    assert_int_equal(d->nevents, 13);
    assert_int_equal(d->dropped_events, 0);
    const stitch_event_t *e = &d->events[0];
    assert_string_equal(e->name, "cache.miss");
    assert_int_equal(e->time_ns, 1700000000000000001ull);
    assert_int_equal(e->nattrs, 2);
    assert_int_equal(e->dropped_attrs, 0);
    assert_string_equal(e->attrs[0].key, "cache.key");
    assert_str_value(&e->attrs[0].value, "user:42");
    assert_string_equal(e->attrs[1].key, "cache.size");
    assert_int_equal(e->attrs[1].value.u.i, 3);
    e = &d->events[1];
    assert_string_equal(e->name, "now");
    assert_int_equal(e->nattrs, 0);
    assert_true(e->time_ns >= before && e->time_ns <= after);
    assert_true(e->time_ns >= d->start_ns && e->time_ns <= d->end_ns);
    assert_string_equal(d->events[2].name, "");
    assert_int_equal(d->events[2].time_ns, 5);
    for (int i = 0; i < 10; i++) {
        assert_string_equal(d->events[3 + i].name, "more");
        assert_int_equal(d->events[3 + i].time_ns, (uint64_t)i + 1);
    }
}

static void test_span_event_now_with_explicit_start(void **state)
{
    struct fx *f = *state;
    uint64_t start = realtime_ns() - 2000000000ull;
    stitch_span_opts_t o = {.start_ns = start};
    stitch_span_t *s = stitch_span_start(f->t, "x", &o);
    uint64_t r0 = realtime_ns();
    assert_int_equal(stitch_span_add_event(s, "now", 0, NULL, 0), STITCH_OK);
    uint64_t r1 = realtime_ns();
    stitch_span_end(s);
    const stitch_span_data_t *d = only_span(f);
    assert_true(d->events[0].time_ns + 5000000 >= r0);
    assert_true(d->events[0].time_ns <= r1 + 5000000);
}

static void test_span_event_limits(void **state)
{
    (void)state;
    struct fx f;
    stitch_limits_t lim;
    stitch_limits_default(&lim, false);
    lim.event_count = 3;
    lim.event_attribute_count = 2;
    fx_make(&f, &lim, NULL);
    stitch_span_t *s = stitch_span_start(f.t, "ev", NULL);
    stitch_attr_t a[] = {stitch_attr_int("a", 1), stitch_attr_int("b", 2), stitch_attr_int("c", 3),
                         stitch_attr_int("d", 4)};
    assert_int_equal(stitch_span_add_event(s, "e0", 1, a, 4), STITCH_ELIMIT); /* attrs cut */
    assert_int_equal(stitch_span_add_event(s, "e1", 2, a, 2), STITCH_OK);
    assert_int_equal(stitch_span_add_event(s, "e2", 3, NULL, 0), STITCH_OK);
    assert_int_equal(stitch_span_add_event(s, "e3", 4, NULL, 0), STITCH_ELIMIT);
    assert_int_equal(stitch_span_record_exception(s, "E", NULL, NULL), STITCH_ELIMIT);
    stitch_span_end(s);
    const stitch_span_data_t *d = only_span(&f);
    assert_int_equal(d->nevents, 3);
    assert_int_equal(d->dropped_events, 2);
    assert_string_equal(d->events[0].name, "e0");
    assert_int_equal(d->events[0].nattrs, 2);
    assert_int_equal(d->events[0].dropped_attrs, 2);
    assert_string_equal(d->events[0].attrs[0].key, "a");
    assert_string_equal(d->events[0].attrs[1].key, "b");
    assert_int_equal(d->events[1].nattrs, 2);
    assert_int_equal(d->events[1].dropped_attrs, 0);
    assert_string_equal(d->events[2].name, "e2");
    stitch_provider_free(f.p);
}

static void test_span_record_exception(void **state)
{
    struct fx *f = *state;
    stitch_span_t *s = stitch_span_start(f->t, "exc", NULL);
    assert_int_equal(stitch_span_record_exception(s, "IOError", "disk full", "at main.c:1"),
                     STITCH_OK);
    assert_int_equal(stitch_span_record_exception(s, NULL, "only message", NULL), STITCH_OK);
    stitch_span_end(s);
    const stitch_span_data_t *d = only_span(f);
    assert_int_equal(d->nevents, 2);
    assert_int_equal(d->status, STITCH_STATUS_UNSET); /* does not set the status */
    const stitch_event_t *e = &d->events[0];
    assert_string_equal(e->name, "exception");
    assert_int_equal(e->nattrs, 3);
    assert_string_equal(e->attrs[0].key, "exception.type");
    assert_str_value(&e->attrs[0].value, "IOError");
    assert_string_equal(e->attrs[1].key, "exception.message");
    assert_str_value(&e->attrs[1].value, "disk full");
    assert_string_equal(e->attrs[2].key, "exception.stacktrace");
    assert_str_value(&e->attrs[2].value, "at main.c:1");
    assert_true(e->time_ns >= d->start_ns && e->time_ns <= d->end_ns);
    e = &d->events[1];
    assert_string_equal(e->name, "exception");
    assert_int_equal(e->nattrs, 1);
    assert_string_equal(e->attrs[0].key, "exception.message");
    assert_str_value(&e->attrs[0].value, "only message");
}

/* ---- links ---- */

static stitch_span_ctx_t some_ctx(uint8_t fill, uint8_t flags)
{
    stitch_span_ctx_t c;
    memset(&c, 0, sizeof c);
    memset(c.trace_id, fill, 16);
    memset(c.span_id, fill + 1, 8);
    c.flags = flags;
    return c;
}

static void test_span_links(void **state)
{
    struct fx *f = *state;
    char v[] = "batch-7";
    stitch_attr_t la[] = {stitch_attr_str("msg.id", v)};
    stitch_link_t start_links[] = {
        {some_ctx(0x11, 1), NULL, la, 1, 77 /* ignored on input */},
        {some_ctx(0x22, 0), NULL, NULL, 0, 0},
    };
    stitch_span_opts_t o = {.links = start_links, .nlinks = 2};
    stitch_span_t *s = stitch_span_start(f->t, "links", &o);
    strcpy(v, "XXXXXXX");
    stitch_attr_t la2[] = {stitch_attr_bool("retry", true), stitch_attr_int("n", 2)};
    stitch_link_t later = {some_ctx(0x33, 1), NULL, la2, 2, 0};
    assert_int_equal(stitch_span_add_link(s, &later), STITCH_OK);
    for (int i = 0; i < 5; i++) { /* grow the link array */
        stitch_link_t l = {some_ctx((uint8_t)(0x40 + i), 0), NULL, NULL, 0, 0};
        assert_int_equal(stitch_span_add_link(s, &l), STITCH_OK);
    }
    stitch_span_end(s);
    const stitch_span_data_t *d = only_span(f);
    assert_int_equal(d->nlinks, 8);
    assert_int_equal(d->dropped_links, 0);
    stitch_span_ctx_t want = some_ctx(0x11, 1);
    assert_memory_equal(&d->links[0].ctx, &want, sizeof want);
    assert_null(d->links[0].tracestate);
    assert_int_equal(d->links[0].nattrs, 1);
    assert_int_equal(d->links[0].dropped_attrs, 0);
    assert_str_value(&d->links[0].attrs[0].value, "batch-7");
    want = some_ctx(0x22, 0);
    assert_memory_equal(&d->links[1].ctx, &want, sizeof want);
    assert_int_equal(d->links[1].nattrs, 0);
    want = some_ctx(0x33, 1);
    assert_memory_equal(&d->links[2].ctx, &want, sizeof want);
    assert_int_equal(d->links[2].nattrs, 2);
    assert_string_equal(d->links[2].attrs[0].key, "retry");
    assert_true(d->links[2].attrs[0].value.u.b);
    assert_int_equal(d->links[2].attrs[1].value.u.i, 2);
    for (int i = 0; i < 5; i++) {
        want = some_ctx((uint8_t)(0x40 + i), 0);
        assert_memory_equal(&d->links[3 + i].ctx, &want, sizeof want);
    }
}

static void test_span_link_limits(void **state)
{
    (void)state;
    struct fx f;
    stitch_limits_t lim;
    stitch_limits_default(&lim, false);
    lim.link_count = 2;
    lim.link_attribute_count = 1;
    fx_make(&f, &lim, NULL);
    stitch_attr_t la[] = {stitch_attr_int("a", 1), stitch_attr_int("b", 2)};
    stitch_link_t l0 = {some_ctx(1, 1), NULL, la, 2, 0};
    stitch_span_opts_t o = {.links = &l0, .nlinks = 1};
    stitch_span_t *s = stitch_span_start(f.t, "ll", &o);
    stitch_link_t l1 = {some_ctx(2, 1), NULL, NULL, 0, 0};
    assert_int_equal(stitch_span_add_link(s, &l1), STITCH_OK);
    assert_int_equal(stitch_span_add_link(s, &l1), STITCH_ELIMIT);
    assert_int_equal(stitch_span_add_link(s, &l1), STITCH_ELIMIT);
    stitch_span_end(s);
    const stitch_span_data_t *d = only_span(&f);
    assert_int_equal(d->nlinks, 2);
    assert_int_equal(d->dropped_links, 2);
    assert_int_equal(d->links[0].nattrs, 1);
    assert_int_equal(d->links[0].dropped_attrs, 1);
    assert_string_equal(d->links[0].attrs[0].key, "a");
    stitch_provider_free(f.p);
}

/* ---- status, name, recording ---- */

static void test_span_status_rules(void **state)
{
    struct fx *f = *state;
    char msg[] = "upstream 503";
    stitch_span_t *a = stitch_span_start(f->t, "error", NULL);
    stitch_span_set_status(a, STITCH_STATUS_ERROR, msg);
    strcpy(msg, "XXXXXXXXXXXX");
    stitch_span_set_status(a, STITCH_STATUS_UNSET, "ignored"); /* UNSET is ignored */
    stitch_span_end(a);

    stitch_span_t *b = stitch_span_start(f->t, "ok-final", NULL);
    stitch_span_set_status(b, STITCH_STATUS_ERROR, "first");
    stitch_span_set_status(b, STITCH_STATUS_OK, "msg dropped with OK");
    stitch_span_set_status(b, STITCH_STATUS_ERROR, "too late");
    stitch_span_end(b);

    stitch_span_t *c = stitch_span_start(f->t, "ok-msg", NULL);
    stitch_span_set_status(c, STITCH_STATUS_OK, "not kept");
    stitch_span_end(c);

    stitch_span_t *e = stitch_span_start(f->t, "error-null", NULL);
    stitch_span_set_status(e, STITCH_STATUS_ERROR, NULL);
    stitch_span_end(e);

    stitch_span_t *g = stitch_span_start(f->t, "error-twice", NULL);
    stitch_span_set_status(g, STITCH_STATUS_ERROR, "one");
    stitch_span_set_status(g, STITCH_STATUS_ERROR, "two");
    stitch_span_end(g);

    assert_int_equal(stitch_memory_processor_count(f->mem), 5);
    const stitch_span_data_t *d = stitch_memory_processor_get(f->mem, 0);
    assert_int_equal(d->status, STITCH_STATUS_ERROR);
    assert_string_equal(d->status_message, "upstream 503");
    d = stitch_memory_processor_get(f->mem, 1);
    assert_int_equal(d->status, STITCH_STATUS_OK);
    assert_string_equal(d->status_message, "");
    d = stitch_memory_processor_get(f->mem, 2);
    assert_int_equal(d->status, STITCH_STATUS_OK);
    assert_string_equal(d->status_message, "");
    d = stitch_memory_processor_get(f->mem, 3);
    assert_int_equal(d->status, STITCH_STATUS_ERROR);
    assert_string_equal(d->status_message, "");
    d = stitch_memory_processor_get(f->mem, 4);
    assert_int_equal(d->status, STITCH_STATUS_ERROR);
    assert_string_equal(d->status_message, "two");
}

static void test_span_update_name(void **state)
{
    struct fx *f = *state;
    stitch_span_t *s = stitch_span_start(f->t, "GET", NULL);
    char n[] = "GET /users/:id";
    assert_int_equal(stitch_span_update_name(s, n), STITCH_OK);
    strcpy(n, "XXXXXXXXXXXXXX");
    assert_int_equal(stitch_span_update_name(s, NULL), STITCH_EINVAL);
    stitch_span_end(s);
    assert_string_equal(only_span(f)->name, "GET /users/:id");
}

static void test_span_is_recording(void **state)
{
    struct fx *f = *state;
    stitch_span_t *s = stitch_span_start(f->t, "rec", NULL);
    assert_true(stitch_span_is_recording(s));
    stitch_span_end(s);
    assert_false(stitch_span_is_recording(NULL));

    assert_int_equal(stitch_provider_shutdown(f->p, 100), STITCH_OK);
    s = stitch_span_start(f->t, "after-shutdown", NULL);
    assert_false(stitch_span_is_recording(s));
    stitch_span_ctx_t c = stitch_span_context(s);
    assert_true(stitch_span_ctx_valid(&c));
    stitch_span_end(s);
    assert_int_equal(stitch_memory_processor_count(f->mem), 1);
    assert_string_equal(stitch_memory_processor_get(f->mem, 0)->name, "rec");
}

/* ---- samplers and a disabled SDK ---- */

static void test_span_always_off(void **state)
{
    (void)state;
    struct fx f;
    fx_make(&f, NULL, stitch_sampler_always_off());
    stitch_span_t *s = stitch_span_start(f.t, "dropped", NULL);
    assert_false(stitch_span_is_recording(s));
    stitch_span_ctx_t c = stitch_span_context(s);
    assert_true(stitch_span_ctx_valid(&c));
    assert_int_equal(c.flags, 0);
    assert_int_equal(c.remote, 0);
    stitch_ctx_t pc;
    stitch_ctx_from_span(&pc, s, NULL);
    stitch_span_opts_t o = {.parent = &pc};
    stitch_span_t *child = stitch_span_start(f.t, "child", &o);
    stitch_span_ctx_t cc = stitch_span_context(child);
    assert_true(stitch_span_ctx_valid(&cc));
    assert_memory_equal(cc.trace_id, c.trace_id, 16);
    assert_memory_not_equal(cc.span_id, c.span_id, 8);
    assert_int_equal(cc.flags, 0);
    /* a child via the current scope too */
    stitch_scope_t tok = stitch_scope_push(s);
    stitch_span_t *child2 = stitch_span_start(f.t, "child2", NULL);
    stitch_span_ctx_t c2 = stitch_span_context(child2);
    assert_memory_equal(c2.trace_id, c.trace_id, 16);
    stitch_span_end(child2);
    stitch_scope_pop(tok);
    stitch_span_end(child);
    stitch_span_end(s);
    stitch_ctx_release(&pc);
    assert_int_equal(stitch_memory_processor_count(f.mem), 0);
    assert_int_equal(stitch_memory_processor_dropped(f.mem), 0);
    stitch_provider_free(f.p);
}

static void test_span_sdk_disabled(void **state)
{
    (void)state;
    setenv("OTEL_SDK_DISABLED", "TRUE", 1);
    stitch_provider_t *p;
    int rc = stitch_provider_new(&p, NULL);
    unsetenv("OTEL_SDK_DISABLED");
    assert_int_equal(rc, STITCH_OK);
    stitch_processor_t *mem = stitch_memory_processor_new(0);
    assert_int_equal(stitch_provider_add_processor(p, mem), STITCH_OK);
    stitch_tracer_t *t = stitch_tracer(p, NULL, NULL);
    stitch_span_t *s = stitch_span_start(t, "off", NULL);
    assert_false(stitch_span_is_recording(s));
    stitch_span_ctx_t c = stitch_span_context(s);
    assert_true(stitch_span_ctx_valid(&c));
    assert_int_equal(c.flags, 0);
    stitch_span_end(s);
    assert_int_equal(stitch_memory_processor_count(mem), 0);
    stitch_provider_free(p);

    /* "false" (and anything but true) leaves it enabled */
    setenv("OTEL_SDK_DISABLED", "false", 1);
    rc = stitch_provider_new(&p, NULL);
    unsetenv("OTEL_SDK_DISABLED");
    assert_int_equal(rc, STITCH_OK);
    mem = stitch_memory_processor_new(0);
    assert_int_equal(stitch_provider_add_processor(p, mem), STITCH_OK);
    s = stitch_span_start(stitch_tracer(p, NULL, NULL), "on", NULL);
    assert_true(stitch_span_is_recording(s));
    stitch_span_end(s);
    assert_int_equal(stitch_memory_processor_count(mem), 1);
    stitch_provider_free(p);
}

/* ---- threads ---- */

struct handoff {
    struct fx *f;
    stitch_span_t *span;
    uint64_t end_ns;
};

/* Worker threads report failures through their return value: cmocka's
 * asserts may only fail on the thread that runs the test. */
static void *end_on_thread(void *arg)
{
    struct handoff *h = arg;
    if (stitch_span_set_str(h->span, "ended.on", "worker") != STITCH_OK)
        return (void *)1;
    stitch_span_end_at(h->span, h->end_ns);
    return NULL;
}

static void *start_on_thread(void *arg)
{
    struct handoff *h = arg;
    stitch_span_opts_t o = {.start_ns = 1000};
    h->span = stitch_span_start(h->f->t, "started-on-worker", &o);
    return stitch_span_set_int(h->span, "n", 1) == STITCH_OK ? NULL : (void *)1;
}

static void test_span_cross_thread_end(void **state)
{
    struct fx *f = *state;
    struct handoff h = {f, NULL, 200};
    stitch_span_opts_t o = {.start_ns = 100};
    h.span = stitch_span_start(f->t, "started-on-main", &o);
    assert_int_equal(stitch_span_set_int(h.span, "n", 1), STITCH_OK);
    pthread_t th;
    void *ret;
    assert_int_equal(pthread_create(&th, NULL, end_on_thread, &h), 0);
    assert_int_equal(pthread_join(th, &ret), 0);
    assert_null(ret);
    const stitch_span_data_t *d = only_span(f);
    assert_string_equal(d->name, "started-on-main");
    assert_int_equal(d->start_ns, 100);
    assert_int_equal(d->end_ns, 200);
    assert_int_equal(d->nattrs, 2);
    assert_str_value(stitch_span_data_attr(d, "ended.on"), "worker");
    stitch_memory_processor_clear(f->mem); /* back to main's own pool */

    /* and the other way: started on a thread that has exited, ended here */
    struct handoff h2 = {f, NULL, 0};
    assert_int_equal(pthread_create(&th, NULL, start_on_thread, &h2), 0);
    assert_int_equal(pthread_join(th, &ret), 0);
    assert_null(ret);
    stitch_span_end_at(h2.span, 2000);
    d = only_span(f);
    assert_string_equal(d->name, "started-on-worker");
    assert_int_equal(d->start_ns, 1000);
    assert_int_equal(d->end_ns, 2000);
    assert_int_equal(stitch_span_data_attr(d, "n")->u.i, 1);
    stitch_memory_processor_clear(f->mem); /* to the exited thread's pool */
}

#define NTHREADS 8
#define PER_THREAD 3000

struct worker {
    struct fx *f;
    int id;
    bool hold; /* keep a span open across the loop */
};

static void *span_worker(void *arg)
{
    struct worker *w = arg;
    char name[32];
    snprintf(name, sizeof name, "w%d", w->id);
    stitch_span_t *held = w->hold ? stitch_span_start(w->f->t, "held", NULL) : NULL;
    for (int i = 0; i < PER_THREAD; i++) {
        stitch_span_t *s = stitch_span_start(w->f->t, name, NULL);
        if (stitch_span_set_int(s, "thread", w->id) || stitch_span_set_int(s, "i", i) ||
            stitch_span_add_event(s, "e", 0, NULL, 0))
            return (void *)1;
        stitch_span_end(s);
    }
    if (held)
        stitch_span_end(held);
    return NULL;
}

static void run_workers(struct fx *f, bool hold)
{
    pthread_t th[NTHREADS];
    struct worker w[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        w[i] = (struct worker){f, i, hold};
        assert_int_equal(pthread_create(&th[i], NULL, span_worker, &w[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++) {
        void *ret;
        assert_int_equal(pthread_join(th[i], &ret), 0);
        assert_null(ret);
    }
}

static void check_worker_spans(struct fx *f, bool hold)
{
    size_t want = NTHREADS * PER_THREAD + (hold ? NTHREADS : 0);
    assert_int_equal(stitch_memory_processor_count(f->mem), want);
    assert_int_equal(stitch_memory_processor_dropped(f->mem), 0);
    int count[NTHREADS] = {0};
    int next[NTHREADS] = {0};
    for (size_t k = 0; k < want; k++) {
        const stitch_span_data_t *d = stitch_memory_processor_get(f->mem, k);
        if (strcmp(d->name, "held") == 0)
            continue;
        const stitch_value_t *t = stitch_span_data_attr(d, "thread");
        assert_non_null(t);
        assert_true(t->u.i >= 0 && t->u.i < NTHREADS);
        char name[32];
        snprintf(name, sizeof name, "w%d", (int)t->u.i);
        assert_string_equal(d->name, name);
        /* a thread's spans end in order */
        assert_int_equal(stitch_span_data_attr(d, "i")->u.i, next[t->u.i]);
        next[t->u.i]++;
        count[t->u.i]++;
        assert_int_equal(d->nevents, 1);
    }
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(count[i], PER_THREAD);
}

static void test_span_many_threads(void **state)
{
    struct fx *f = *state;
    for (int round = 0; round < 3; round++) { /* later rounds adopt orphaned pools */
        run_workers(f, round == 1);
        check_worker_spans(f, round == 1);
        /* Every held span goes back to an exited thread's pool (remote) */
        stitch_memory_processor_clear(f->mem);
        assert_int_equal(stitch_memory_processor_count(f->mem), 0);
    }
}

/* Threads exit while their spans are still held by the processor; the
 * spans stay readable, and clearing afterwards hands them back to pools
 * that other threads then adopt. */
static void test_span_threads_exit_while_held(void **state)
{
    struct fx *f = *state;
    run_workers(f, false);
    /* all workers have exited; their spans are intact */
    check_worker_spans(f, false);
    /* start new spans here while the old ones are still held */
    for (int i = 0; i < 100; i++)
        stitch_span_end(stitch_span_start(f->t, "main", NULL));
    assert_int_equal(stitch_memory_processor_count(f->mem), NTHREADS * PER_THREAD + 100);
    const stitch_span_data_t *first = stitch_memory_processor_get(f->mem, 0);
    assert_non_null(stitch_span_data_attr(first, "thread"));
    stitch_memory_processor_clear(f->mem);
    run_workers(f, false);
    check_worker_spans(f, false);
    stitch_memory_processor_clear(f->mem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_span_ids_and_parent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_span_kinds_default_internal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_span_name_copied, setup, teardown),
        cmocka_unit_test_setup_teardown(test_span_explicit_times, setup, teardown),
        cmocka_unit_test_setup_teardown(test_span_now_times, setup, teardown),
        cmocka_unit_test_setup_teardown(test_span_typed_attributes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_span_attribute_replace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_span_start_attributes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_span_attribute_count_limit, setup, teardown),
        cmocka_unit_test(test_span_value_length_limit),
        cmocka_unit_test(test_span_invalid_value_keeps_attribute),
        cmocka_unit_test(test_span_memory_processor_max),
        cmocka_unit_test_setup_teardown(test_span_big_attributes_use_arena_chunks, setup, teardown),
        cmocka_unit_test(test_span_not_recording_setters_return_ok),
        cmocka_unit_test_setup_teardown(test_span_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_span_event_now_with_explicit_start, setup, teardown),
        cmocka_unit_test(test_span_event_limits),
        cmocka_unit_test_setup_teardown(test_span_record_exception, setup, teardown),
        cmocka_unit_test_setup_teardown(test_span_links, setup, teardown),
        cmocka_unit_test(test_span_link_limits),
        cmocka_unit_test_setup_teardown(test_span_status_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_span_update_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_span_is_recording, setup, teardown),
        cmocka_unit_test(test_span_always_off),
        cmocka_unit_test(test_span_sdk_disabled),
        cmocka_unit_test_setup_teardown(test_span_cross_thread_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_span_many_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_span_threads_exit_while_held, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
