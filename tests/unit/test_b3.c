/* tests/unit/test_b3.c — B3 single and multi header: every valid shape,
 * the all-or-nothing invalid cases, padding of 64-bit ids, deferred
 * sampling, debug, precedence of `b3` over X-B3-*, and inject. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "propagation_carrier.h"

#define T32 "80f198ee56343ba864fe8b2a57d3eff7"
#define T16 "64fe8b2a57d3eff7"
#define S16 "e457b5a2e4d86bd1"
#define P16 "05e3ac9a4f6e3b90"

static int dec1(const char *v, stitch_decoded_t *d)
{
    tcarrier_t *t = tc_new();
    tc_add(t, "B3", v);
    return stitch_decode(STITCH_FORMAT_B3, &t->c, d);
}

static void test_b3_single_valid(void **state)
{
    (void)state;
    stitch_decoded_t d;
    char h[33];
    assert_int_equal(dec1(T32 "-" S16 "-1-" P16, &d), 0);
    assert_true(d.valid && d.has_ids && d.has_parent);
    hex16(d.trace_id, h);
    assert_string_equal(h, T32);
    assert_int_equal(d.sampled, 1);
    assert_int_equal(d.flags, STITCH_FLAG_SAMPLED);
    assert_false(d.debug);

    assert_int_equal(dec1(" " T16 "-" S16 " ", &d), 0);
    hex16(d.trace_id, h);
    assert_string_equal(h, "0000000000000000" T16);
    assert_int_equal(d.sampled, -1); /* deferred */
    assert_int_equal(d.flags, 0);
    assert_false(d.has_parent);

    assert_int_equal(dec1(T32 "-" S16 "-d", &d), 0);
    assert_true(d.debug);
    assert_int_equal(d.sampled, 1);
    assert_int_equal(d.flags, STITCH_FLAG_SAMPLED);
    assert_int_equal(dec1(T32 "-" S16 "-0", &d), 0);
    assert_int_equal(d.sampled, 0);

    static const struct { const char *v; int sampled; bool debug; } lone[] = {
        {"0", 0, false}, {"1", 1, false}, {"d", 1, true}};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(dec1(lone[i].v, &d), 0);
        assert_true(d.valid);
        assert_false(d.has_ids);
        assert_int_equal(d.sampled, lone[i].sampled);
        assert_int_equal(d.debug, lone[i].debug);
    }
}

static void test_b3_single_invalid(void **state)
{
    (void)state;
    static const char *bad[] = {
        T32 "-" S16 "-",               /* trailing dash */
        T32 "-" S16 "-1-",
        T32 "-" S16 "-1-" P16 "-",
        T32 "-",
        T32,
        "80F198EE56343BA864FE8B2A57D3EFF7-" S16 "-1", /* upper case */
        T32 "-E457B5A2E4D86BD1-1",
        T32 "-" S16 "-1-05E3AC9A4F6E3B90",
        T32 "0-" S16,                  /* 33 */
        "80f198ee56343ba864fe8b2a57d3eff-" S16, /* 31 */
        "4fe8b2a57d3eff7-" S16,        /* 15 */
        T32 "-" S16 "0",
        T32 "-e457b5a2e4d86bd-1",
        T32 "-" S16 "-2",
        T32 "-" S16 "-true",
        T32 "-" S16 "-10",
        T32 "-" S16 "-1-" P16 "0",
        T32 "-" S16 "-1-05e3ac9a4f6e3b9",
        T32 "-" S16 "-" P16,           /* parent without sampling state */
        "00000000000000000000000000000000-" S16 "-1",
        T32 "-0000000000000000-1",
        T32 "-" S16 "-1-0000000000000000",
        "2", "x", "-", "", "true",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        stitch_decoded_t d;
        assert_int_equal(dec1(bad[i], &d), STITCH_EINVAL);
        assert_false(d.valid);
        assert_non_null(d.error);
        tcarrier_t *t = tc_new();
        tc_add(t, "b3", bad[i]);
        stitch_ctx_t ctx = STITCH_CTX_INIT;
        assert_int_equal(stitch_extract(stitch_propagator_get(STITCH_PROP_B3), &t->c, &ctx),
                         STITCH_ENOTFOUND);
    }
}

static tcarrier_t *multi(const char *tid, const char *sid, const char *pid, const char *smp,
                         const char *flags)
{
    tcarrier_t *t = tc_new();
    if (tid) tc_add(t, "X-B3-TraceId", tid);
    if (sid) tc_add(t, "X-B3-SpanId", sid);
    if (pid) tc_add(t, "X-B3-ParentSpanId", pid);
    if (smp) tc_add(t, "X-B3-Sampled", smp);
    if (flags) tc_add(t, "X-B3-Flags", flags);
    return t;
}

static void test_b3_multi(void **state)
{
    (void)state;
    stitch_decoded_t d;
    char h[33];
    assert_int_equal(stitch_decode(STITCH_FORMAT_B3MULTI, &multi(T16, S16, P16, "1", NULL)->c, &d), 0);
    hex16(d.trace_id, h);
    assert_string_equal(h, "0000000000000000" T16);
    assert_true(d.has_parent);
    assert_int_equal(d.sampled, 1);
    assert_int_equal(stitch_decode(STITCH_FORMAT_B3MULTI, &multi(T32, S16, NULL, "true", NULL)->c, &d), 0);
    assert_int_equal(d.sampled, 1);
    assert_int_equal(stitch_decode(STITCH_FORMAT_B3MULTI, &multi(T32, S16, NULL, "false", NULL)->c, &d), 0);
    assert_int_equal(d.sampled, 0);
    assert_int_equal(stitch_decode(STITCH_FORMAT_B3MULTI, &multi(T32, S16, NULL, NULL, NULL)->c, &d), 0);
    assert_int_equal(d.sampled, -1);
    assert_int_equal(stitch_decode(STITCH_FORMAT_B3MULTI, &multi(T32, S16, NULL, NULL, "1")->c, &d), 0);
    assert_true(d.debug);
    assert_int_equal(d.sampled, 1);
    assert_int_equal(d.flags, STITCH_FLAG_SAMPLED);
    /* sampling only */
    assert_int_equal(stitch_decode(STITCH_FORMAT_B3MULTI, &multi(NULL, NULL, NULL, "0", NULL)->c, &d), 0);
    assert_true(d.valid);
    assert_false(d.has_ids);
    assert_int_equal(d.sampled, 0);
    assert_int_equal(stitch_decode(STITCH_FORMAT_B3MULTI, &multi(NULL, NULL, NULL, NULL, NULL)->c, &d),
                     STITCH_ENOTFOUND);

    struct { const char *t, *s, *p, *m, *f; } bad[] = {
        {T32, NULL, NULL, "1", NULL}, {NULL, S16, NULL, NULL, NULL}, {NULL, NULL, P16, "1", NULL},
        {"80F198EE56343BA864FE8B2A57D3EFF7", S16, NULL, NULL, NULL}, {T32 "0", S16, NULL, NULL, NULL},
        {T32, S16 "0", NULL, NULL, NULL}, {T32, S16, "05e3ac9a4f6e3b9", NULL, NULL},
        {T32, S16, NULL, "2", NULL}, {T32, S16, NULL, "yes", NULL}, {T32, S16, NULL, NULL, "2"},
        {"00000000000000000000000000000000", S16, NULL, NULL, NULL},
        {T32, "0000000000000000", NULL, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(stitch_decode(STITCH_FORMAT_B3MULTI,
                                       &multi(bad[i].t, bad[i].s, bad[i].p, bad[i].m, bad[i].f)->c, &d),
                         STITCH_EINVAL);
        assert_false(d.valid);
    }
}

static void test_b3_precedence_and_extract(void **state)
{
    (void)state;
    const stitch_propagator_t *p = stitch_propagator_get(STITCH_PROP_B3);
    tcarrier_t *t = multi("1111111111111111", "2222222222222222", NULL, "0", NULL);
    tc_add(t, "b3", T32 "-" S16 "-1");
    stitch_ctx_t ctx = STITCH_CTX_INIT;
    char h[33];
    assert_int_equal(stitch_extract(p, &t->c, &ctx), 0);
    hex16(ctx.span.trace_id, h);
    assert_string_equal(h, T32);
    assert_true(stitch_span_ctx_sampled(&ctx.span));
    assert_int_equal(ctx.span.remote, 1);
    /* a lone sampling state in b3 applies to X-B3-* ids */
    t = multi(T32, S16, NULL, "0", NULL);
    tc_add(t, "b3", "d");
    ctx = (stitch_ctx_t)STITCH_CTX_INIT;
    assert_int_equal(stitch_extract(stitch_propagator_get(STITCH_PROP_B3MULTI), &t->c, &ctx), 0);
    assert_true(stitch_span_ctx_sampled(&ctx.span));
    /* sampling-only: no context */
    t = tc_new();
    tc_add(t, "b3", "1");
    ctx = (stitch_ctx_t)STITCH_CTX_INIT;
    assert_int_equal(stitch_extract(p, &t->c, &ctx), STITCH_ENOTFOUND);
    /* deferred: extracted unsampled */
    t = tc_new();
    tc_add(t, "b3", T16 "-" S16);
    assert_int_equal(stitch_extract(p, &t->c, &ctx), 0);
    assert_false(stitch_span_ctx_sampled(&ctx.span));
}

static void test_b3_inject(void **state)
{
    (void)state;
    stitch_ctx_t ctx = STITCH_CTX_INIT;
    assert_int_equal(stitch_traceparent_parse("00-" T32 "-" S16 "-01", 55, &ctx.span), 0);
    tcarrier_t *o = tc_new();
    assert_int_equal(stitch_inject(stitch_propagator_get(STITCH_PROP_B3), &ctx, &o->c), 0);
    assert_int_equal(o->n, 1);
    assert_string_equal(tc_find(o, "b3"), T32 "-" S16 "-1");
    o = tc_new();
    ctx.span.flags = 0;
    assert_int_equal(stitch_inject(stitch_propagator_get(STITCH_PROP_B3MULTI), &ctx, &o->c), 0);
    assert_int_equal(o->n, 3);
    assert_string_equal(tc_find(o, "x-b3-traceid"), T32);
    assert_string_equal(tc_find(o, "x-b3-spanid"), S16);
    assert_string_equal(tc_find(o, "x-b3-sampled"), "0");
    assert_null(tc_find(o, "x-b3-parentspanid"));
    stitch_ctx_t none = STITCH_CTX_INIT;
    o = tc_new();
    assert_int_equal(stitch_inject(stitch_propagator_get(STITCH_PROP_B3), &none, &o->c), 0);
    assert_int_equal(o->n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b3_single_valid),
        cmocka_unit_test(test_b3_single_invalid),
        cmocka_unit_test(test_b3_multi),
        cmocka_unit_test(test_b3_precedence_and_extract),
        cmocka_unit_test(test_b3_inject),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
