/* tests/unit/test_jaeger.c — uber-trace-id (short ids padded, URL-encoded
 * values, flags) and uberctx-* baggage, extract and inject. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "propagation_carrier.h"

static const stitch_propagator_t *jp(void)
{
    return stitch_propagator_get(STITCH_PROP_JAEGER);
}

static int dec(const char *v, stitch_decoded_t *d)
{
    tcarrier_t *t = tc_new();
    tc_add(t, "Uber-Trace-Id", v);
    return stitch_decode(STITCH_FORMAT_JAEGER, &t->c, d);
}

static void test_jaeger_decode(void **state)
{
    (void)state;
    stitch_decoded_t d;
    char h[33], s[17];
    assert_int_equal(dec("80f198ee56343ba864fe8b2a57d3eff7:e457b5a2e4d86bd1:05e3ac9a4f6e3b90:1", &d), 0);
    hex16(d.trace_id, h);
    assert_string_equal(h, "80f198ee56343ba864fe8b2a57d3eff7");
    assert_true(d.has_parent);
    assert_int_equal(d.sampled, 1);
    assert_false(d.debug);

    assert_int_equal(dec("abc:1f:0:0", &d), 0);
    hex16(d.trace_id, h);
    assert_string_equal(h, "00000000000000000000000000000abc");
    stitch_span_id_hex(d.span_id, s);
    assert_string_equal(s, "000000000000001f");
    assert_false(d.has_parent);
    assert_int_equal(d.sampled, 0);

    assert_int_equal(dec("ABC%3A1F%3a0%3A03", &d), 0); /* encoded, upper-case hex */
    hex16(d.trace_id, h);
    assert_string_equal(h, "00000000000000000000000000000abc");
    assert_true(d.debug);
    assert_int_equal(d.sampled, 1);
    assert_int_equal(d.flags, STITCH_FLAG_SAMPLED);

    static const char *bad[] = {
        "0:1:0:1", "1:0:0:1", "1:1:0", "1:1:0:1:1", "::0:1", "1:1::1", "1:1:0:",
        "1:1:0:100", "x:1:0:1", "80f198ee56343ba864fe8b2a57d3eff70:1:0:1", "1:12345678901234567:0:1",
        "1%3G1:0:1", "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(dec(bad[i], &d), STITCH_EINVAL);
        assert_false(d.valid);
        assert_non_null(d.error);
    }
}

static void test_jaeger_extract_inject(void **state)
{
    (void)state;
    tcarrier_t *t = tc_new();
    tc_add(t, "uber-trace-id", "4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:1");
    tc_add(t, "UberCtx-User", "alice%20smith+jr");
    tc_add(t, "uberctx-tenant", "42");
    stitch_ctx_t ctx = STITCH_CTX_INIT;
    assert_int_equal(stitch_extract(jp(), &t->c, &ctx), 0);
    assert_int_equal(ctx.span.remote, 1);
    assert_true(stitch_span_ctx_sampled(&ctx.span));
    assert_string_equal(stitch_baggage_get(ctx.baggage, "user"), "alice smith jr");
    assert_string_equal(stitch_baggage_get(ctx.baggage, "tenant"), "42");

    tcarrier_t *o = tc_new();
    assert_int_equal(stitch_inject(jp(), &ctx, &o->c), 0);
    assert_string_equal(tc_find(o, "uber-trace-id"), "4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:1");
    assert_string_equal(tc_find(o, "uberctx-user"), "alice%20smith%20jr");
    assert_string_equal(tc_find(o, "uberctx-tenant"), "42");
    assert_int_equal(o->n, 3);
    stitch_ctx_release(&ctx);

    /* baggage alone: no context, baggage still read */
    t = tc_new();
    tc_add(t, "uberctx-k", "v");
    ctx = (stitch_ctx_t)STITCH_CTX_INIT;
    assert_int_equal(stitch_extract(jp(), &t->c, &ctx), STITCH_ENOTFOUND);
    assert_string_equal(stitch_baggage_get(ctx.baggage, "k"), "v");
    stitch_ctx_release(&ctx);

    /* a carrier that cannot list keys still gives the context */
    t = tc_new();
    tc_add(t, "uber-trace-id", "1:2:0:0");
    t->c.keys = NULL;
    ctx = (stitch_ctx_t)STITCH_CTX_INIT;
    assert_int_equal(stitch_extract(jp(), &t->c, &ctx), 0);
    assert_false(stitch_span_ctx_sampled(&ctx.span));
    assert_null(ctx.baggage);
    o = tc_new();
    assert_int_equal(stitch_inject(jp(), &ctx, &o->c), 0);
    assert_string_equal(tc_find(o, "uber-trace-id"), "00000000000000000000000000000001:0000000000000002:0:0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jaeger_decode),
        cmocka_unit_test(test_jaeger_extract_inject),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
