/* Built-in samplers: always_on/off, TraceIdRatioBased (exact thresholds,
 * statistics, consistency across instances, tracestate rv), ParentBased
 * (every parent case, defaults, ownership), the rate limiter. */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "sdk/internal.h"
#include "stitch/propagation.h"
#include "stitch/sampler.h"

static stitch_sampling_params_t params_for(const uint8_t tid[16], const stitch_span_ctx_t *parent)
{
    stitch_sampling_params_t p;
    memset(&p, 0, sizeof p);
    p.trace_id = tid;
    p.parent = parent;
    p.name = "op";
    p.kind = STITCH_SPAN_KIND_INTERNAL;
    return p;
}

/* A trace id whose rightmost 56 bits are `low`; the rest are 0xff so that a
 * sampler reading the wrong bytes is caught. */
static void tid_with_low56(uint8_t tid[16], uint64_t low)
{
    memset(tid, 0xff, 16);
    for (int i = 15; i >= 9; i--, low >>= 8)
        tid[i] = (uint8_t)low;
}

static stitch_decision_t decide(stitch_sampler_t *s, const uint8_t tid[16])
{
    stitch_sampling_params_t p = params_for(tid, NULL);
    return stitch_sampler_should_sample(s, &p);
}

static void test_sampler_always_on_off(void **state)
{
    (void)state;
    uint8_t tid[16];
    tid_with_low56(tid, 0);
    stitch_sampler_t *on = stitch_sampler_always_on(), *off = stitch_sampler_always_off();
    assert_non_null(on);
    assert_non_null(off);
    assert_int_equal(decide(on, tid), STITCH_RECORD_AND_SAMPLE);
    assert_int_equal(decide(off, tid), STITCH_DROP);
    assert_string_equal(stitch_sampler_description(on), "AlwaysOnSampler");
    assert_string_equal(stitch_sampler_description(off), "AlwaysOffSampler");
    stitch_sampler_free(on); /* static: a no-op, still usable */
    stitch_sampler_free(off);
    stitch_sampler_free(NULL);
    assert_int_equal(decide(stitch_sampler_always_on(), tid), STITCH_RECORD_AND_SAMPLE);
}

static void test_sampler_ratio_threshold_values(void **state)
{
    (void)state;
    const uint64_t two56 = (uint64_t)1 << 56;
    assert_true(stitch_ratio_threshold(0.0) == two56);
    assert_true(stitch_ratio_threshold(-3.0) == two56);
    assert_true(stitch_ratio_threshold(NAN) == two56);
    assert_true(stitch_ratio_threshold(1.0) == 0);
    assert_true(stitch_ratio_threshold(0.5) == two56 / 2);
    assert_true(stitch_ratio_threshold(0.25) == 0xc0000000000000ull);
    /* 0.01 * 2^56 = 720575940379279.36 -> 720575940379279 */
    assert_true(stitch_ratio_threshold(0.01) == 71337018097548657ull);
    assert_true(stitch_ratio_threshold(0.01) == 0xfd70a3d70a3d71ull);
    assert_true(stitch_ratio_threshold(0.1) == 64851834634135142ull);

    uint8_t tid[16];
    tid_with_low56(tid, 0x0123456789abcd);
    assert_true(stitch_trace_id_randomness(tid) == 0x0123456789abcdull);
}

static void test_sampler_ratio_boundary(void **state)
{
    (void)state;
    uint8_t tid[16];
    stitch_sampler_t *s = stitch_sampler_trace_id_ratio(0.5);
    assert_non_null(s);
    assert_string_equal(stitch_sampler_description(s), "TraceIdRatioBased{0.500000}");
    tid_with_low56(tid, 0x80000000000000ull); /* R == T: sampled */
    assert_int_equal(decide(s, tid), STITCH_RECORD_AND_SAMPLE);
    tid_with_low56(tid, 0x7fffffffffffffull); /* R == T - 1: dropped */
    assert_int_equal(decide(s, tid), STITCH_DROP);
    tid_with_low56(tid, 0xffffffffffffffull);
    assert_int_equal(decide(s, tid), STITCH_RECORD_AND_SAMPLE);
    tid_with_low56(tid, 0);
    assert_int_equal(decide(s, tid), STITCH_DROP);
    /* byte 8 and the high half are not randomness */
    memset(tid, 0, 16);
    tid[8] = 0xff;
    tid[0] = 0xff;
    assert_int_equal(decide(s, tid), STITCH_DROP);
    stitch_sampler_free(s);

    s = stitch_sampler_trace_id_ratio(0.01);
    assert_string_equal(stitch_sampler_description(s), "TraceIdRatioBased{0.010000}");
    tid_with_low56(tid, 0xfd70a3d70a3d71ull);
    assert_int_equal(decide(s, tid), STITCH_RECORD_AND_SAMPLE);
    tid_with_low56(tid, 0xfd70a3d70a3d70ull);
    assert_int_equal(decide(s, tid), STITCH_DROP);
    stitch_sampler_free(s);

    /* 0 never samples, even the largest randomness; 1 always does */
    s = stitch_sampler_trace_id_ratio(0.0);
    tid_with_low56(tid, 0xffffffffffffffull);
    assert_int_equal(decide(s, tid), STITCH_DROP);
    stitch_sampler_free(s);
    s = stitch_sampler_trace_id_ratio(1.0);
    tid_with_low56(tid, 0);
    assert_int_equal(decide(s, tid), STITCH_RECORD_AND_SAMPLE);
    stitch_sampler_free(s);
}

static void test_sampler_ratio_clamped(void **state)
{
    (void)state;
    uint8_t tid[16];
    stitch_sampler_t *s = stitch_sampler_trace_id_ratio(1.5);
    assert_string_equal(stitch_sampler_description(s), "TraceIdRatioBased{1.000000}");
    tid_with_low56(tid, 0);
    assert_int_equal(decide(s, tid), STITCH_RECORD_AND_SAMPLE);
    stitch_sampler_free(s);
    s = stitch_sampler_trace_id_ratio(-0.5);
    assert_string_equal(stitch_sampler_description(s), "TraceIdRatioBased{0.000000}");
    tid_with_low56(tid, 0xffffffffffffffull);
    assert_int_equal(decide(s, tid), STITCH_DROP);
    stitch_sampler_free(s);
    s = stitch_sampler_trace_id_ratio(NAN);
    assert_string_equal(stitch_sampler_description(s), "TraceIdRatioBased{0.000000}");
    stitch_sampler_free(s);
}

static void test_sampler_ratio_statistics(void **state)
{
    (void)state;
    stitch_sampler_t *half = stitch_sampler_trace_id_ratio(0.5);
    stitch_sampler_t *half2 = stitch_sampler_trace_id_ratio(0.5);
    stitch_sampler_t *pct = stitch_sampler_trace_id_ratio(0.01);
    stitch_sampler_t *tenth = stitch_sampler_trace_id_ratio(0.1);
    stitch_sampler_t *fifth = stitch_sampler_trace_id_ratio(0.2);
    const int n = 100000;
    int nhalf = 0, npct = 0;
    for (int i = 0; i < n; i++) {
        uint8_t tid[16];
        stitch__new_trace_id(tid);
        stitch_decision_t d = decide(half, tid);
        /* the same trace id gets the same answer from another instance */
        assert_int_equal(d, decide(half2, tid));
        nhalf += d == STITCH_RECORD_AND_SAMPLE;
        npct += decide(pct, tid) == STITCH_RECORD_AND_SAMPLE;
        /* sampled at 0.1 implies sampled at 0.2 and at 0.5 */
        if (decide(tenth, tid) == STITCH_RECORD_AND_SAMPLE) {
            assert_int_equal(decide(fifth, tid), STITCH_RECORD_AND_SAMPLE);
            assert_int_equal(d, STITCH_RECORD_AND_SAMPLE);
        }
    }
    /* 6 standard deviations: 0.5 -> sd 158; 0.01 -> sd 31.5 */
    assert_in_range(nhalf, 50000 - 1000, 50000 + 1000);
    assert_in_range(npct, 1000 - 190, 1000 + 190);
    stitch_sampler_free(half);
    stitch_sampler_free(half2);
    stitch_sampler_free(pct);
    stitch_sampler_free(tenth);
    stitch_sampler_free(fifth);
}

static void test_sampler_ratio_tracestate_rv(void **state)
{
    (void)state;
    uint8_t tid[16];
    tid_with_low56(tid, 0); /* the trace id alone would be dropped at 0.5 */
    stitch_sampler_t *s = stitch_sampler_trace_id_ratio(0.5);
    stitch_tracestate_t *ts = NULL;
    assert_int_equal(stitch_tracestate_parse("vendor=x,ot=th:8;rv:ffffffffffffff", 34, &ts), 0);
    assert_non_null(ts);
    stitch_sampling_params_t p = params_for(tid, NULL);
    p.parent_tracestate = ts;
    assert_int_equal(stitch_sampler_should_sample(s, &p), STITCH_RECORD_AND_SAMPLE);
    stitch_tracestate_unref(ts);

    /* rv below the threshold: dropped even though the trace id would pass */
    tid_with_low56(tid, 0xffffffffffffffull);
    ts = NULL;
    assert_int_equal(stitch_tracestate_parse("ot=rv:7fffffffffffff", 20, &ts), 0);
    p = params_for(tid, NULL);
    p.parent_tracestate = ts;
    assert_int_equal(stitch_sampler_should_sample(s, &p), STITCH_DROP);
    stitch_tracestate_unref(ts);

    /* a malformed rv (13 digits) is ignored: the trace id decides */
    ts = NULL;
    assert_int_equal(stitch_tracestate_parse("ot=rv:0000000000000", 19, &ts), 0);
    p = params_for(tid, NULL);
    p.parent_tracestate = ts;
    assert_int_equal(stitch_sampler_should_sample(s, &p), STITCH_RECORD_AND_SAMPLE);
    stitch_tracestate_unref(ts);
    stitch_sampler_free(s);
}

/* ---- parent based ---------------------------------------------------------- */

struct probe {
    stitch_decision_t answer;
    int calls;
    int destroyed;
    const char *desc;
};

static stitch_decision_t probe_should(void *self, const stitch_sampling_params_t *p)
{
    (void)p;
    struct probe *pr = self;
    pr->calls++;
    return pr->answer;
}
static const char *probe_desc(void *self)
{
    return ((struct probe *)self)->desc;
}
static void probe_destroy(void *self)
{
    ((struct probe *)self)->destroyed++;
}
static const stitch_sampler_ops_t probe_ops = {probe_should, probe_desc, probe_destroy};

static stitch_span_ctx_t make_parent(bool remote, bool sampled)
{
    stitch_span_ctx_t c;
    memset(&c, 0, sizeof c);
    memset(c.trace_id, 0x11, 16);
    memset(c.span_id, 0x22, 8);
    c.flags = sampled ? STITCH_FLAG_SAMPLED : 0;
    c.remote = remote;
    return c;
}

static void test_sampler_parent_based_four_cases(void **state)
{
    (void)state;
    struct probe pr[5] = {
        {STITCH_RECORD_ONLY, 0, 0, "Root"},     {STITCH_DROP, 0, 0, "RS"},
        {STITCH_RECORD_AND_SAMPLE, 0, 0, "RN"}, {STITCH_DROP, 0, 0, "LS"},
        {STITCH_RECORD_AND_SAMPLE, 0, 0, "LN"},
    };
    stitch_sampler_t *d[5];
    for (int i = 0; i < 5; i++)
        d[i] = stitch_sampler_new(&probe_ops, &pr[i]);
    stitch_parent_based_opts_t o = {d[1], d[2], d[3], d[4]};
    stitch_sampler_t *s = stitch_sampler_parent_based_ex(d[0], &o);
    assert_non_null(s);
    assert_string_equal(stitch_sampler_description(s),
                        "ParentBased{root:Root,remoteParentSampled:RS,remoteParentNotSampled:RN,"
                        "localParentSampled:LS,localParentNotSampled:LN}");
    uint8_t tid[16];
    memset(tid, 0x11, 16);

    stitch_sampling_params_t p = params_for(tid, NULL);
    assert_int_equal(stitch_sampler_should_sample(s, &p), STITCH_RECORD_ONLY);
    stitch_span_ctx_t invalid;
    memset(&invalid, 0, sizeof invalid); /* an invalid parent is no parent */
    invalid.flags = STITCH_FLAG_SAMPLED;
    p.parent = &invalid;
    assert_int_equal(stitch_sampler_should_sample(s, &p), STITCH_RECORD_ONLY);
    assert_int_equal(pr[0].calls, 2);

    stitch_span_ctx_t c = make_parent(true, true);
    p.parent = &c;
    assert_int_equal(stitch_sampler_should_sample(s, &p), STITCH_DROP);
    c = make_parent(true, false);
    assert_int_equal(stitch_sampler_should_sample(s, &p), STITCH_RECORD_AND_SAMPLE);
    c = make_parent(false, true);
    assert_int_equal(stitch_sampler_should_sample(s, &p), STITCH_DROP);
    c = make_parent(false, false);
    assert_int_equal(stitch_sampler_should_sample(s, &p), STITCH_RECORD_AND_SAMPLE);
    for (int i = 1; i < 5; i++)
        assert_int_equal(pr[i].calls, 1);

    stitch_sampler_free(s);
    for (int i = 0; i < 5; i++)
        assert_int_equal(pr[i].destroyed, 1);
}

static void test_sampler_parent_based_defaults(void **state)
{
    (void)state;
    stitch_sampler_t *s = stitch_sampler_parent_based(stitch_sampler_trace_id_ratio(0.01));
    assert_string_equal(stitch_sampler_description(s),
                        "ParentBased{root:TraceIdRatioBased{0.010000},"
                        "remoteParentSampled:AlwaysOnSampler,remoteParentNotSampled:AlwaysOffSampler,"
                        "localParentSampled:AlwaysOnSampler,localParentNotSampled:AlwaysOffSampler}");
    uint8_t tid[16];
    tid_with_low56(tid, 0); /* the root sampler would drop it */
    stitch_sampling_params_t p = params_for(tid, NULL);
    assert_int_equal(stitch_sampler_should_sample(s, &p), STITCH_DROP);
    bool remote[4] = {true, true, false, false}, sampled[4] = {true, false, true, false};
    for (int i = 0; i < 4; i++) {
        stitch_span_ctx_t c = make_parent(remote[i], sampled[i]);
        p.parent = &c;
        assert_int_equal(stitch_sampler_should_sample(s, &p),
                         sampled[i] ? STITCH_RECORD_AND_SAMPLE : STITCH_DROP);
    }
    stitch_sampler_free(s);
}

static void test_sampler_parent_based_null_root(void **state)
{
    (void)state;
    struct probe pr = {STITCH_DROP, 0, 0, "X"};
    stitch_parent_based_opts_t o = {stitch_sampler_new(&probe_ops, &pr), NULL, NULL, NULL};
    /* NULL root (e.g. an inner constructor ran out of memory): NULL, and the
     * delegates given are freed */
    assert_null(stitch_sampler_parent_based_ex(NULL, &o));
    assert_int_equal(pr.destroyed, 1);
    assert_null(stitch_sampler_parent_based(NULL));
    assert_null(stitch_sampler_new(NULL, NULL));
}

/* ---- rate limiting ---------------------------------------------------------- */

static void test_sampler_rate_limit_burst(void **state)
{
    (void)state;
    uint8_t tid[16];
    memset(tid, 0x11, 16);
    stitch_sampler_t *s = stitch_sampler_rate_limiting(5);
    assert_string_equal(stitch_sampler_description(s), "RateLimitingSampler{5.00}");
    for (int i = 0; i < 5; i++)
        assert_int_equal(decide(s, tid), STITCH_RECORD_AND_SAMPLE);
    for (int i = 0; i < 20; i++)
        assert_int_equal(decide(s, tid), STITCH_DROP);
    /* one token comes back every 200 ms */
    struct timespec ts = {0, 250 * 1000000L};
    nanosleep(&ts, NULL);
    assert_int_equal(decide(s, tid), STITCH_RECORD_AND_SAMPLE);
    int more = 0;
    for (int i = 0; i < 10; i++)
        more += decide(s, tid) == STITCH_RECORD_AND_SAMPLE;
    assert_in_range(more, 0, 1); /* at most one more unless the machine stalled > 200 ms */
    stitch_sampler_free(s);

    s = stitch_sampler_rate_limiting(0);
    assert_string_equal(stitch_sampler_description(s), "RateLimitingSampler{0.00}");
    assert_int_equal(decide(s, tid), STITCH_DROP);
    stitch_sampler_free(s);
    s = stitch_sampler_rate_limiting(-1);
    assert_int_equal(decide(s, tid), STITCH_DROP);
    stitch_sampler_free(s);

    /* below one per second: a burst of one */
    s = stitch_sampler_rate_limiting(0.5);
    assert_int_equal(decide(s, tid), STITCH_RECORD_AND_SAMPLE);
    assert_int_equal(decide(s, tid), STITCH_DROP);
    stitch_sampler_free(s);
}

struct rl_thread {
    stitch_sampler_t *s;
    int admitted;
};

static void *rl_worker(void *arg)
{
    struct rl_thread *t = arg;
    uint8_t tid[16];
    memset(tid, 0x11, 16);
    for (int i = 0; i < 20000; i++)
        t->admitted += decide(t->s, tid) == STITCH_RECORD_AND_SAMPLE;
    return NULL;
}

static void test_sampler_rate_limit_threads(void **state)
{
    (void)state;
    stitch_sampler_t *s = stitch_sampler_rate_limiting(100);
    struct rl_thread t[4];
    pthread_t th[4];
    uint64_t t0 = stitch__mono_ns();
    for (int i = 0; i < 4; i++) {
        t[i].s = s;
        t[i].admitted = 0;
        assert_int_equal(pthread_create(&th[i], NULL, rl_worker, &t[i]), 0);
    }
    int total = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        total += t[i].admitted;
    }
    double secs = (double)(stitch__mono_ns() - t0) / 1e9;
    /* the burst, plus 100 per second of elapsed time, never more */
    assert_true(total >= 100);
    assert_true(total <= 100 + (int)(secs * 100) + 1);
    stitch_sampler_free(s);
}

/* The explicit randomness reader shared with stitchd's tail sampler. */
static void test_sampler_tracestate_randomness(void **state)
{
    (void)state;
    static const struct {
        const char *ts;
        bool ok;
        uint64_t rv;
    } cases[] = {
        {"ot=th:8;rv:7479cfb506891d,x=y", true, 0x7479cfb506891dull},
        {"x=y,ot=rv:00000000000001", true, 1},
        {"ot=th:8", false, 0},
        {"ot=rv:7479cfb506891", false, 0},   /* 13 digits */
        {"ot=rv:7479CFB506891D", false, 0},  /* upper case is not the spec's */
        {"other=rv:7479cfb506891d", false, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        stitch_tracestate_t *ts = NULL;
        assert_int_equal(stitch_tracestate_parse(cases[i].ts, strlen(cases[i].ts), &ts), 0);
        uint64_t rv = 0;
        assert_int_equal(stitch_tracestate_randomness(ts, &rv), cases[i].ok);
        if (cases[i].ok)
            assert_true(rv == cases[i].rv);
        stitch_tracestate_unref(ts);
    }
    uint64_t rv;
    assert_false(stitch_tracestate_randomness(NULL, &rv));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sampler_always_on_off),
        cmocka_unit_test(test_sampler_ratio_threshold_values),
        cmocka_unit_test(test_sampler_ratio_boundary),
        cmocka_unit_test(test_sampler_ratio_clamped),
        cmocka_unit_test(test_sampler_ratio_statistics),
        cmocka_unit_test(test_sampler_ratio_tracestate_rv),
        cmocka_unit_test(test_sampler_parent_based_four_cases),
        cmocka_unit_test(test_sampler_parent_based_defaults),
        cmocka_unit_test(test_sampler_parent_based_null_root),
        cmocka_unit_test(test_sampler_rate_limit_burst),
        cmocka_unit_test(test_sampler_rate_limit_threads),
        cmocka_unit_test(test_sampler_tracestate_randomness),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
