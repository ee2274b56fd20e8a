/* tests/unit/test_propagation.c — W3C traceparent/tracestate on a carrier
 * (every case of the w3c/trace-context test suite, test/test.py, run
 * through stitch_extract/stitch_inject), composites and OTEL_PROPAGATORS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "propagation_carrier.h"
#include "stitch/trace.h"

#define TP "00-12345678901234567890123456789012-1234567890123456-01"
#define TID "12345678901234567890123456789012"

static const stitch_propagator_t *tc(void)
{
    return stitch_propagator_get(STITCH_PROP_TRACECONTEXT);
}

/* Extract with the tracecontext propagator; returns rc, trace id in hex. */
static int extract(tcarrier_t *t, stitch_ctx_t *ctx, char tid[33])
{
    *ctx = (stitch_ctx_t)STITCH_CTX_INIT;
    int rc = stitch_extract(tc(), &t->c, ctx);
    hex16(ctx->span.trace_id, tid);
    return rc;
}

static void expect_invalid(const char *value)
{
    tcarrier_t *t = tc_new();
    tc_add(t, "traceparent", value);
    stitch_ctx_t ctx;
    char tid[33];
    assert_int_equal(extract(t, &ctx, tid), STITCH_ENOTFOUND);
    assert_false(stitch_span_ctx_valid(&ctx.span));
    assert_null(ctx.tracestate);
}

static void expect_valid(const char *name, const char *value)
{
    tcarrier_t *t = tc_new();
    tc_add(t, name, value);
    stitch_ctx_t ctx;
    char tid[33];
    assert_int_equal(extract(t, &ctx, tid), 0);
    assert_string_equal(tid, TID);
    assert_int_equal(ctx.span.remote, 1);
    stitch_ctx_release(&ctx);
}

static void test_propagation_traceparent_valid(void **state)
{
    (void)state;
    expect_valid("traceparent", TP);
    expect_valid("TraceParent", TP);
    expect_valid("TRACEPARENT", TP);
    expect_valid("TrAcEpArEnT", TP);
    /* OWS */
    expect_valid("traceparent", " " TP);
    expect_valid("traceparent", "\t" TP);
    expect_valid("traceparent", TP " ");
    expect_valid("traceparent", TP "\t");
    expect_valid("traceparent", "\t " TP " \t");
    /* future versions may add fields after a '-' */
    expect_valid("traceparent", "cc-12345678901234567890123456789012-1234567890123456-01");
    expect_valid("traceparent",
                 "cc-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like");
}

static void test_propagation_traceparent_invalid(void **state)
{
    (void)state;
    static const char *bad[] = {
        TP ".",
        "00-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like",
        "cc-12345678901234567890123456789012-1234567890123456-01.what-the-future-will-be-like",
        "ff-12345678901234567890123456789012-1234567890123456-01",
        ".0-12345678901234567890123456789012-1234567890123456-01",
        "0.-12345678901234567890123456789012-1234567890123456-01",
        "000-12345678901234567890123456789012-1234567890123456-01",
        "0000-12345678901234567890123456789012-1234567890123456-01",
        "0-12345678901234567890123456789012-1234567890123456-01",
        "00-00000000000000000000000000000000-1234567890123456-01",
        "00-.2345678901234567890123456789012-1234567890123456-01",
        "00-1234567890123456789012345678901.-1234567890123456-01",
        "00-123456789012345678901234567890123-1234567890123456-01",
        "00-1234567890123456789012345678901-1234567890123456-01",
        "00-12345678901234567890123456789012-0000000000000000-01",
        "00-12345678901234567890123456789012-.234567890123456-01",
        "00-12345678901234567890123456789012-123456789012345.-01",
        "00-12345678901234567890123456789012-12345678901234567-01",
        "00-12345678901234567890123456789012-123456789012345-01",
        "00-12345678901234567890123456789012-1234567890123456-.0",
        "00-12345678901234567890123456789012-1234567890123456-0.",
        "00-12345678901234567890123456789012-1234567890123456-001",
        "00-12345678901234567890123456789012-1234567890123456-1",
        "00-1234567890123456789012345678901A-1234567890123456-01", /* upper case */
        "00-12345678901234567890123456789012-123456789012345A-01",
        "00-12345678901234567890123456789012-1234567890123456-0A",
        "0A-12345678901234567890123456789012-1234567890123456-01",
        "00_12345678901234567890123456789012-1234567890123456-01",
        "",
        "   ",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_invalid(bad[i]);
}

static void test_propagation_header_names(void **state)
{
    (void)state;
    tcarrier_t *t = tc_new();
    tc_add(t, "trace-parent", TP);
    stitch_ctx_t ctx;
    char tid[33];
    assert_int_equal(extract(t, &ctx, tid), STITCH_ENOTFOUND);
    t = tc_new();
    tc_add(t, "trace.parent", TP);
    assert_int_equal(extract(t, &ctx, tid), STITCH_ENOTFOUND);
}

static void test_propagation_traceparent_repeated(void **state)
{
    (void)state;
    tcarrier_t *t = tc_new();
    tc_add(t, "traceparent", "00-12345678901234567890123456789011-1234567890123456-01");
    tc_add(t, "traceparent", "00-12345678901234567890123456789012-1234567890123456-01");
    stitch_ctx_t ctx;
    char tid[33];
    assert_int_equal(extract(t, &ctx, tid), STITCH_ENOTFOUND);
    assert_false(stitch_span_ctx_valid(&ctx.span));
}

static void test_propagation_flags(void **state)
{
    (void)state;
    tcarrier_t *t = tc_new();
    tc_add(t, "traceparent", "00-12345678901234567890123456789012-1234567890123456-00");
    stitch_ctx_t ctx;
    char tid[33];
    assert_int_equal(extract(t, &ctx, tid), 0);
    assert_false(stitch_span_ctx_sampled(&ctx.span));
    t = tc_new();
    tc_add(t, "traceparent", "00-12345678901234567890123456789012-1234567890123456-09");
    assert_int_equal(extract(t, &ctx, tid), 0);
    assert_true(stitch_span_ctx_sampled(&ctx.span));
}

/* tracestate as the harness sends it; returns the normalized string or
 * "(none)" */
static const char *ts_of(tcarrier_t *t)
{
    static char buf[9000];
    stitch_ctx_t ctx;
    char tid[33];
    assert_int_equal(extract(t, &ctx, tid), 0);
    assert_string_equal(tid, TID);
    snprintf(buf, sizeof buf, "%s", ctx.tracestate ? stitch_tracestate_str(ctx.tracestate, NULL) : "(none)");
    stitch_ctx_release(&ctx);
    return buf;
}

static tcarrier_t *with_tp(void)
{
    tcarrier_t *t = tc_new();
    tc_add(t, "traceparent", "00-12345678901234567890123456789012-1234567890123456-00");
    return t;
}

static void test_propagation_tracestate_harness(void **state)
{
    (void)state;
    tcarrier_t *t = with_tp();
    tc_add(t, "tracestate", "foo=1,bar=2");
    assert_string_equal(ts_of(t), "foo=1,bar=2");

    t = with_tp();
    tc_add(t, "trace-state", "foo=1");
    assert_string_equal(ts_of(t), "(none)");

    t = with_tp();
    tc_add(t, "TrAcEsTaTe", "foo=1");
    assert_string_equal(ts_of(t), "foo=1");

    t = with_tp();
    tc_add(t, "tracestate", "");
    assert_string_equal(ts_of(t), "(none)");

    t = with_tp();
    tc_add(t, "tracestate", "foo=1");
    tc_add(t, "tracestate", "");
    assert_string_equal(ts_of(t), "foo=1");

    t = with_tp();
    tc_add(t, "tracestate", "");
    tc_add(t, "tracestate", "foo=1");
    assert_string_equal(ts_of(t), "foo=1");

    t = with_tp();
    tc_add(t, "tracestate", "foo=1,bar=2");
    tc_add(t, "tracestate", "rojo=1,congo=2");
    tc_add(t, "tracestate", "baz=3");
    assert_string_equal(ts_of(t), "foo=1,bar=2,rojo=1,congo=2,baz=3");

    static const char *dups[][2] = {{"foo=1,foo=1", NULL}, {"foo=1,foo=2", NULL},
                                    {"foo=1", "foo=1"}, {"foo=1", "foo=2"}};
    for (int i = 0; i < 4; i++) {
        t = with_tp();
        tc_add(t, "tracestate", dups[i][0]);
        if (dups[i][1])
            tc_add(t, "tracestate", dups[i][1]);
        assert_string_equal(ts_of(t), "(none)");
    }

    t = with_tp();
    tc_add(t, "tracestate", "foo=1 \t , \t bar=2, \t baz=3");
    assert_string_equal(ts_of(t), "foo=1,bar=2,baz=3");
    t = with_tp();
    tc_add(t, "tracestate", "foo=1\t \t,\t \tbar=2,\t \tbaz=3");
    assert_string_equal(ts_of(t), "foo=1,bar=2,baz=3");
    static const char *ows[] = {" foo=1", "\tfoo=1", "foo=1 ", "foo=1\t", "\t foo=1 \t"};
    for (int i = 0; i < 5; i++) {
        t = with_tp();
        tc_add(t, "tracestate", ows[i]);
        assert_string_equal(ts_of(t), "foo=1");
    }

    static const char *badkeys[] = {"foo =1", "FOO=1", "foo.bar=1", "foo@=1,bar=2", "@foo=1,bar=2",
                                    "foo@@bar=1,bar=2", "foo@bar@baz=1,bar=2", "foo=bar=baz",
                                    "foo=,bar=3"};
    for (size_t i = 0; i < sizeof badkeys / sizeof badkeys[0]; i++) {
        t = with_tp();
        tc_add(t, "tracestate", badkeys[i]);
        assert_string_equal(ts_of(t), "(none)");
    }
}

static void test_propagation_tracestate_all_chars(void **state)
{
    (void)state;
    char key[128], kv[256], val[128], hdr[512];
    size_t n = 0;
    for (char ch = 'a'; ch <= 'z'; ch++)
        key[n++] = ch;
    memcpy(key + n, "0123456789_-*/", 15);
    n = 0;
    for (int ch = 0x20; ch <= 0x7e; ch++)
        if (ch != ',' && ch != '=')
            val[n++] = (char)ch;
    val[n] = '\0';
    snprintf(hdr, sizeof hdr, "%s=%s", key, val);
    tcarrier_t *t = with_tp();
    tc_add(t, "tracestate", hdr);
    assert_string_equal(ts_of(t), hdr);
    snprintf(kv, sizeof kv, "%s@a-z0-9_-*/", key);
    snprintf(hdr, sizeof hdr, "%s=%s", kv, val);
    t = with_tp();
    tc_add(t, "tracestate", hdr);
    assert_string_equal(ts_of(t), hdr);
}

static void test_propagation_tracestate_limits(void **state)
{
    (void)state;
    char buf[600];
    tcarrier_t *t = with_tp();
    tc_add(t, "tracestate", "bar01=01,bar02=02,bar03=03,bar04=04,bar05=05,bar06=06,bar07=07,bar08=08,bar09=09,bar10=10");
    tc_add(t, "tracestate", "bar11=11,bar12=12,bar13=13,bar14=14,bar15=15,bar16=16,bar17=17,bar18=18,bar19=19,bar20=20");
    tc_add(t, "tracestate", "bar21=21,bar22=22,bar23=23,bar24=24,bar25=25,bar26=26,bar27=27,bar28=28,bar29=29,bar30=30");
    tc_add(t, "tracestate", "bar31=31,bar32=32");
    assert_non_null(strstr(ts_of(t), "bar01=01,"));
    tc_add(t, "tracestate", "bar33=33"); /* 33 members */
    assert_string_equal(ts_of(t), "(none)");

    static const struct { size_t tenant, sys; bool ok; } keys[] = {
        {256, 0, true}, {257, 0, false}, {241, 14, true}, {242, 1, false}, {1, 15, false}};
    for (int i = 0; i < 5; i++) {
        size_t n = 0;
        memset(buf, keys[i].sys ? 't' : 'z', keys[i].tenant);
        n = keys[i].tenant;
        if (keys[i].sys) {
            buf[n++] = '@';
            memset(buf + n, 'v', keys[i].sys);
            n += keys[i].sys;
        }
        memcpy(buf + n, "=1", 3);
        t = with_tp();
        tc_add(t, "tracestate", "foo=1");
        tc_add(t, "tracestate", buf);
        const char *ts = ts_of(t);
        if (keys[i].ok)
            assert_memory_equal(ts, "foo=1,", 6);
        else
            assert_string_equal(ts, "(none)");
    }
}

static void test_propagation_tracestate_without_traceparent(void **state)
{
    (void)state;
    tcarrier_t *t = tc_new();
    tc_add(t, "tracestate", "foo=1,bar=2");
    stitch_ctx_t ctx;
    char tid[33];
    assert_int_equal(extract(t, &ctx, tid), STITCH_ENOTFOUND);
    assert_null(ctx.tracestate);
    t = tc_new();
    tc_add(t, "traceparent", "ff-12345678901234567890123456789012-1234567890123456-01");
    tc_add(t, "tracestate", "foo=1");
    assert_int_equal(extract(t, &ctx, tid), STITCH_ENOTFOUND);
    assert_null(ctx.tracestate);
}

static void test_propagation_inject(void **state)
{
    (void)state;
    stitch_ctx_t ctx = STITCH_CTX_INIT;
    tcarrier_t *t = tc_new();
    /* invalid context: nothing written */
    assert_int_equal(stitch_inject(tc(), &ctx, &t->c), 0);
    assert_int_equal(t->n, 0);

    tc_add(t, "traceparent", "01-12345678901234567890123456789012-1234567890123456-03-extra");
    tc_add(t, "tracestate", "congo=t61rcWkgMzE, rojo=00f067aa0ba902b7");
    assert_int_equal(stitch_extract(tc(), &t->c, &ctx), 0);
    tcarrier_t *o = tc_new();
    assert_int_equal(stitch_inject(tc(), &ctx, &o->c), 0);
    assert_string_equal(tc_find(o, "traceparent"), "00-12345678901234567890123456789012-1234567890123456-03");
    assert_string_equal(tc_find(o, "tracestate"), "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
    assert_int_equal(o->n, 2);
    stitch_ctx_release(&ctx);

    /* unsampled, no tracestate: exactly one header */
    stitch_ctx_t c2 = STITCH_CTX_INIT;
    assert_int_equal(stitch_traceparent_parse(" 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00 ", 57, &c2.span), 0);
    o = tc_new();
    assert_int_equal(stitch_inject(tc(), &c2, &o->c), 0);
    assert_int_equal(o->n, 1);
    assert_string_equal(tc_find(o, "traceparent"), "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00");
    char buf[STITCH_TRACEPARENT_LEN + 1];
    assert_int_equal(stitch_traceparent_format(&c2.span, buf), 55);
    assert_string_equal(buf, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00");
}

static void test_propagation_extract_keeps_baggage(void **state)
{
    (void)state;
    stitch_baggage_t *bg;
    assert_int_equal(stitch_baggage_set(NULL, "k", "v", NULL, &bg), 0);
    stitch_ctx_t ctx = STITCH_CTX_INIT;
    ctx.baggage = bg;
    tcarrier_t *t = tc_new();
    tc_add(t, "traceparent", TP);
    assert_int_equal(stitch_extract(stitch_propagator_default(), &t->c, &ctx), 0);
    assert_ptr_equal(ctx.baggage, bg); /* no baggage header: untouched */
    tc_add(t, "baggage", "k2=v2");
    assert_int_equal(stitch_extract(stitch_propagator_default(), &t->c, &ctx), 0);
    assert_ptr_not_equal(ctx.baggage, bg);
    assert_string_equal(stitch_baggage_get(ctx.baggage, "k"), "v");
    assert_string_equal(stitch_baggage_get(ctx.baggage, "k2"), "v2");
    stitch_baggage_unref(bg); /* extract did not release it: we still own it */
    stitch_ctx_release(&ctx);
}

static void test_propagation_from_names(void **state)
{
    (void)state;
    int err = 0;
    char msg[128];
    stitch_propagator_t *p = stitch_propagator_from_names("tracecontext, B3 ,jaeger", &err, msg, sizeof msg);
    assert_non_null(p);
    assert_int_equal(err, 0);
    /* first valid context wins: b3 ignored when traceparent is good */
    tcarrier_t *t = tc_new();
    tc_add(t, "traceparent", TP);
    tc_add(t, "b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1");
    stitch_ctx_t ctx = STITCH_CTX_INIT;
    char tid[33];
    assert_int_equal(stitch_extract(p, &t->c, &ctx), 0);
    hex16(ctx.span.trace_id, tid);
    assert_string_equal(tid, TID);
    /* broken traceparent: falls through to b3 */
    t = tc_new();
    tc_add(t, "traceparent", "00-xx");
    tc_add(t, "b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1");
    ctx = (stitch_ctx_t)STITCH_CTX_INIT;
    assert_int_equal(stitch_extract(p, &t->c, &ctx), 0);
    hex16(ctx.span.trace_id, tid);
    assert_string_equal(tid, "80f198ee56343ba864fe8b2a57d3eff7");
    /* inject writes every format */
    tcarrier_t *o = tc_new();
    assert_int_equal(stitch_inject(p, &ctx, &o->c), 0);
    assert_string_equal(tc_find(o, "traceparent"), "00-80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-01");
    assert_string_equal(tc_find(o, "b3"), "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1");
    assert_string_equal(tc_find(o, "uber-trace-id"), "80f198ee56343ba864fe8b2a57d3eff7:e457b5a2e4d86bd1:0:1");
    stitch_propagator_free(p);

    assert_null(stitch_propagator_from_names("tracecontext,xray", &err, msg, sizeof msg));
    assert_int_equal(err, STITCH_EINVAL);
    assert_string_equal(msg, "unknown propagator 'xray'");

    p = stitch_propagator_from_names("none", &err, NULL, 0);
    assert_non_null(p);
    t = tc_new();
    tc_add(t, "traceparent", TP);
    ctx = (stitch_ctx_t)STITCH_CTX_INIT;
    assert_int_equal(stitch_extract(p, &t->c, &ctx), STITCH_ENOTFOUND);
    stitch_propagator_free(p);
    stitch_propagator_free((stitch_propagator_t *)tc()); /* static: ignored */
}

static char logged[512];
static void logger(void *arg, stitch_log_level_t level, const char *msg)
{
    (void)arg;
    if (level == STITCH_LOG_WARN)
        snprintf(logged, sizeof logged, "%s", msg);
}

static void test_propagation_env_unknown_name(void **state)
{
    (void)state;
    stitch_set_logger(logger, NULL);
    setenv("OTEL_PROPAGATORS", "tracecontext,bogus", 1);
    const stitch_propagator_t *p = stitch_propagator_default();
    assert_non_null(strstr(logged, "unknown propagator 'bogus'"));
    /* the default: tracecontext + baggage */
    tcarrier_t *t = tc_new();
    tc_add(t, "traceparent", TP);
    tc_add(t, "baggage", "a=1");
    stitch_ctx_t ctx = STITCH_CTX_INIT;
    assert_int_equal(stitch_extract(p, &t->c, &ctx), 0);
    assert_string_equal(stitch_baggage_get(ctx.baggage, "a"), "1");
    stitch_ctx_release(&ctx);
    stitch_set_logger(NULL, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* first: the default propagator is built once per process */
        cmocka_unit_test(test_propagation_env_unknown_name),
        cmocka_unit_test(test_propagation_traceparent_valid),
        cmocka_unit_test(test_propagation_traceparent_invalid),
        cmocka_unit_test(test_propagation_header_names),
        cmocka_unit_test(test_propagation_traceparent_repeated),
        cmocka_unit_test(test_propagation_flags),
        cmocka_unit_test(test_propagation_tracestate_harness),
        cmocka_unit_test(test_propagation_tracestate_all_chars),
        cmocka_unit_test(test_propagation_tracestate_limits),
        cmocka_unit_test(test_propagation_tracestate_without_traceparent),
        cmocka_unit_test(test_propagation_inject),
        cmocka_unit_test(test_propagation_extract_keeps_baggage),
        cmocka_unit_test(test_propagation_from_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
