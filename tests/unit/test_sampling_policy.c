/* tests/unit/test_sampling_policy.c — stitchd's tail-sampling policies
 * (daemon/sampling_policy.c), their YAML (daemon/sampling_config.c), the
 * per-trace buffer with its decision cache and num_traces bound
 * (daemon/sampling.c) and the trace-id routing choice
 * (daemon/forward_route.c), without a process. Also prints two figures:
 * the predicates' cost per span and sampler_add's cost per span. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "daemon/forward.h"
#include "daemon/sampling.h"
#include "stitch/propagation.h"
#include "stitch/sampler.h"

static sampling_cfg_t *cfg(const char *yaml)
{
    sampling_cfg_t *c = NULL;
    char err[600];
    if (sampling_cfg_from_text(&c, yaml, strlen(yaml), "t.yaml", err, sizeof err))
        fail_msg("config refused: %s", err);
    return c;
}

static void refused(const char *yaml, const char *want)
{
    sampling_cfg_t *c = NULL;
    char err[600] = "";
    if (sampling_cfg_from_text(&c, yaml, strlen(yaml), "t.yaml", err, sizeof err) != -1)
        fail_msg("accepted: %s", yaml);
    assert_null(c);
    if (!strstr(err, want))
        fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

static uint64_t rng = 42;
static uint64_t next(void)
{
    uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void rand_id(uint8_t id[16])
{
    uint64_t a = next(), b = next();
    memcpy(id, &a, 8);
    memcpy(id + 8, &b, 8);
}

typedef struct tr {
    stitch_attr_t res[1];
    stitch_attr_t attrs[4];
    stitch_scope_info_t scope;
    stitch_span_data_t s[8];
    const stitch_span_data_t *p[8];
    size_t n;
} tr_t;

/* A trace of n spans, 10 ms each, the first one at t0. */
static void tr_make(tr_t *t, size_t n)
{
    memset(t, 0, sizeof *t);
    t->res[0] = stitch_attr_str("service.name", "shop");
    t->scope.name = "s";
    t->scope.version = "";
    uint8_t tid[16];
    rand_id(tid);
    t->n = n;
    for (size_t i = 0; i < n; i++) {
        stitch_span_data_t *s = &t->s[i];
        memcpy(s->ctx.trace_id, tid, 16);
        uint64_t sid = next() | 1;
        memcpy(s->ctx.span_id, &sid, 8);
        s->ctx.flags = 1;
        s->name = "op";
        s->kind = STITCH_SPAN_KIND_INTERNAL;
        s->start_ns = 1700000000000000000ull + i * 1000;
        s->end_ns = s->start_ns + 10000000;
        s->resource = t->res;
        s->nresource = 1;
        s->scope = &t->scope;
        s->status_message = "";
        t->p[i] = s;
    }
}

static bool decide(sampling_cfg_t *c, const tr_t *t)
{
    sp_summary_t sum;
    memset(&sum, 0, sizeof sum);
    memcpy(sum.trace_id, t->s[0].ctx.trace_id, 16);
    for (size_t i = 0; i < t->n; i++)
        sampling_summary_add(&sum, &t->s[i], sampling_span_mask(c, &t->s[i]));
    return sampling_decide(c, &sum, 1000);
}

static void test_sampling_status_latency_span_count(void **state)
{
    (void)state;
    sampling_cfg_t *c = cfg("tail_sampling:\n  policies:\n"
                            "    - {name: e, type: status_code, status_code: {status_codes: [ERROR]}}\n"
                            "    - {name: l, type: latency, latency: {threshold_ms: 500, upper_threshold_ms: 2000}}\n"
                            "    - {name: n, type: span_count, span_count: {min_spans: 5, max_spans: 6}}\n");
    assert_int_equal(c->decision_wait_ns, 30000000000ull); /* the Collector's defaults */
    assert_int_equal(c->num_traces, 50000);
    tr_t t;
    tr_make(&t, 3);
    assert_false(decide(c, &t));
    t.s[2].status = STITCH_STATUS_ERROR;
    assert_true(decide(c, &t));
    t.s[2].status = STITCH_STATUS_OK;
    t.s[1].end_ns = t.s[0].start_ns + 600000000; /* the trace: first start .. last end */
    assert_true(decide(c, &t));
    t.s[1].end_ns = t.s[0].start_ns + 3000000000ull; /* above the upper threshold */
    assert_false(decide(c, &t));
    tr_make(&t, 5);
    assert_true(decide(c, &t));
    tr_make(&t, 7);
    assert_false(decide(c, &t));
    assert_int_equal(c->policies[0].count[SP_SAMPLED], 1);
    sampling_cfg_free(c);
}

static void test_sampling_attributes(void **state)
{
    (void)state;
    sampling_cfg_t *c = cfg("tail_sampling:\n  policies:\n"
                            "    - {name: vip, type: string_attribute, string_attribute: {key: user.id, values: ['42', '7']}}\n"
                            "    - {name: re, type: string_attribute, string_attribute: {key: url.path, values: ['^/api/v[0-9]+/pay'], enabled_regex_matching: true}}\n"
                            "    - {name: big, type: numeric_attribute, numeric_attribute: {key: cart.items, min_value: 100}}\n"
                            "    - {name: dbg, type: boolean_attribute, boolean_attribute: {key: debug, value: true}}\n");
    tr_t t;
    tr_make(&t, 2);
    assert_false(decide(c, &t));
    t.attrs[0] = stitch_attr_str("user.id", "42");
    t.s[1].attrs = t.attrs;
    t.s[1].nattrs = 1;
    assert_true(decide(c, &t));
    t.attrs[0] = stitch_attr_str("user.id", "420"); /* exact, not a prefix */
    assert_false(decide(c, &t));
    t.attrs[0] = stitch_attr_int("user.id", 42); /* string_attribute wants a string */
    assert_false(decide(c, &t));
    t.attrs[0] = stitch_attr_str("url.path", "/api/v2/pay/now");
    assert_true(decide(c, &t));
    t.attrs[0] = stitch_attr_str("url.path", "/x/api/v2/pay");
    assert_false(decide(c, &t));
    t.attrs[0] = stitch_attr_int("cart.items", 99);
    assert_false(decide(c, &t));
    t.attrs[0] = stitch_attr_int("cart.items", 100);
    assert_true(decide(c, &t));
    t.attrs[0] = stitch_attr_bool("debug", false);
    assert_false(decide(c, &t));
    t.attrs[0] = stitch_attr_bool("debug", true);
    assert_true(decide(c, &t));
    /* resource attributes count too */
    t.s[1].nattrs = 0;
    t.res[0] = stitch_attr_str("user.id", "7");
    assert_true(decide(c, &t));
    sampling_cfg_free(c);
}

static void test_sampling_invert_and_drop_win(void **state)
{
    (void)state;
    sampling_cfg_t *c = cfg("tail_sampling:\n  policies:\n"
                            "    - {name: all, type: always_sample}\n"
                            "    - {name: nohealth, type: string_attribute, string_attribute: {key: url.path, values: [/health], invert_match: true}}\n");
    tr_t t;
    tr_make(&t, 2);
    assert_true(decide(c, &t)); /* absent: InvertSampled */
    t.attrs[0] = stitch_attr_str("url.path", "/health");
    t.s[0].attrs = t.attrs;
    t.s[0].nattrs = 1;
    assert_false(decide(c, &t)); /* present: InvertNotSampled vetoes always_sample */
    assert_int_equal(c->policies[1].count[SP_INVERT_NOT_SAMPLED], 1);
    assert_int_equal(c->policies[1].count[SP_INVERT_SAMPLED], 1);
    sampling_cfg_free(c);

    /* sample_on_first_match: always_sample, first, wins before the veto is looked at */
    c = cfg("tail_sampling:\n  sample_on_first_match: true\n  policies:\n"
            "    - {name: all, type: always_sample}\n"
            "    - {name: nohealth, type: string_attribute, string_attribute: {key: url.path, values: [/health], invert_match: true}}\n");
    assert_true(decide(c, &t));
    assert_int_equal(c->policies[1].count[SP_INVERT_NOT_SAMPLED], 0);
    sampling_cfg_free(c);

    c = cfg("tail_sampling:\n  policies:\n"
            "    - {name: errors, type: status_code, status_code: {status_codes: [ERROR]}}\n"
            "    - name: nobots\n      type: drop\n      drop:\n        drop_sub_policy:\n"
            "          - {name: bot, type: boolean_attribute, boolean_attribute: {key: bot, value: true}}\n"
            "          - {name: err, type: status_code, status_code: {status_codes: [ERROR]}}\n");
    tr_make(&t, 2);
    t.s[1].status = STITCH_STATUS_ERROR;
    assert_true(decide(c, &t));
    t.attrs[0] = stitch_attr_bool("bot", true);
    t.s[0].attrs = t.attrs;
    t.s[0].nattrs = 1;
    assert_false(decide(c, &t)); /* both sub-policies match: dropped, errors or not */
    assert_int_equal(c->policies[1].count[SP_DROPPED], 1);
    sampling_cfg_free(c);
}

static void test_sampling_and_trace_state(void **state)
{
    (void)state;
    sampling_cfg_t *c = cfg("tail_sampling:\n  policies:\n"
                            "    - name: both\n      type: and\n      and:\n        and_sub_policy:\n"
                            "          - {name: e, type: status_code, status_code: {status_codes: [ERROR]}}\n"
                            "          - {name: ts, type: trace_state, trace_state: {key: tenant, values: [gold]}}\n");
    tr_t t;
    tr_make(&t, 2);
    t.s[1].status = STITCH_STATUS_ERROR;
    assert_false(decide(c, &t));
    stitch_tracestate_t *ts = NULL;
    assert_int_equal(stitch_tracestate_parse("tenant=gold,x=y", 15, &ts), 0);
    t.s[0].tracestate = ts;
    assert_true(decide(c, &t));
    t.s[1].status = STITCH_STATUS_OK;
    assert_false(decide(c, &t));
    stitch_tracestate_unref(ts);
    sampling_cfg_free(c);
}

static void test_sampling_rate_limiting_and_composite(void **state)
{
    (void)state;
    sampling_cfg_t *c = cfg("tail_sampling:\n  policies:\n"
                            "    - {name: r, type: rate_limiting, rate_limiting: {spans_per_second: 15}}\n");
    tr_t t;
    tr_make(&t, 8);
    sp_summary_t sum;
    memset(&sum, 0, sizeof sum);
    for (size_t i = 0; i < t.n; i++)
        sampling_summary_add(&sum, &t.s[i], 0);
    assert_true(sampling_decide(c, &sum, 7));  /* 8 of 15 */
    assert_false(sampling_decide(c, &sum, 7)); /* 16 > 15 */
    assert_true(sampling_decide(c, &sum, 8));  /* a new second */
    sampling_cfg_free(c);

    c = cfg("tail_sampling:\n  policies:\n"
            "    - name: comp\n      type: composite\n      composite:\n"
            "        max_total_spans_per_second: 100\n"
            "        policy_order: [errs, rest]\n"
            "        composite_sub_policy:\n"
            "          - {name: rest, type: always_sample}\n"
            "          - {name: errs, type: status_code, status_code: {status_codes: [ERROR]}}\n"
            "        rate_allocation:\n"
            "          - {policy: errs, percent: 80}\n"
            "          - {policy: rest, percent: 20}\n");
    assert_string_equal(c->policies[0].subs[0].name, "errs"); /* policy_order applied */
    assert_int_equal(c->policies[0].subs[0].spans_per_second, 80);
    assert_int_equal(c->policies[0].subs[1].spans_per_second, 20);
    memset(&sum, 0, sizeof sum);
    sum.nspans = 10;
    int kept = 0;
    for (int i = 0; i < 10; i++)
        kept += sampling_decide(c, &sum, 5); /* ordinary: 20 spans/s → 2 traces */
    assert_int_equal(kept, 2);
    sum.mask = 1ull << c->policies[0].subs[0].bit; /* errors: 80 spans/s → 8 traces */
    kept = 0;
    for (int i = 0; i < 10; i++)
        kept += sampling_decide(c, &sum, 5);
    assert_int_equal(kept, 8);
    sampling_cfg_free(c);
}

/* The tail's probabilistic policy and the SDK's TraceIdRatioBased agree on
 * every trace id, and the `ot` rv in a tracestate wins as in the SDK. */
static void test_sampling_probabilistic_matches_sdk(void **state)
{
    (void)state;
    sampling_cfg_t *c = cfg("tail_sampling:\n  policies:\n"
                            "    - {name: p, type: probabilistic, probabilistic: {sampling_percentage: 10}}\n");
    stitch_sampler_t *sdk = stitch_sampler_trace_id_ratio(0.10);
    int kept = 0;
    for (int i = 0; i < 20000; i++) {
        sp_summary_t sum;
        memset(&sum, 0, sizeof sum);
        rand_id(sum.trace_id);
        sum.nspans = 1;
        stitch_sampling_params_t p;
        memset(&p, 0, sizeof p);
        p.trace_id = sum.trace_id;
        p.name = "x";
        bool head = stitch_sampler_should_sample(sdk, &p) == STITCH_RECORD_AND_SAMPLE;
        bool tail = sampling_decide(c, &sum, 1);
        assert_int_equal(head, tail);
        kept += tail;
    }
    assert_in_range(kept, 1800, 2200);
    /* rv: 14 hex digits of randomness carried in tracestate */
    tr_t t;
    tr_make(&t, 1);
    memset(t.s[0].ctx.trace_id + 9, 0, 7); /* the id alone would say drop */
    assert_false(decide(c, &t));
    stitch_tracestate_t *ts = NULL;
    const char *v = "ot=th:0;rv:fffffffffffff0";
    assert_int_equal(stitch_tracestate_parse(v, strlen(v), &ts), 0);
    t.s[0].tracestate = ts;
    assert_true(decide(c, &t));
    stitch_tracestate_unref(ts);
    stitch_sampler_free(sdk);
    sampling_cfg_free(c);
}

static void test_sampling_config_errors_name_the_line(void **state)
{
    (void)state;
    refused("tail_sampling:\n  policies:\n    - {name: a, type: latency, latency: {treshold_ms: 5}}\n",
            "t.yaml:3: tail_sampling.policies[0].latency: unknown key \"treshold_ms\"");
    refused("tail_sampling:\n  policies:\n    - name: a\n      type: ottl_condition\n",
            "t.yaml:4: tail_sampling.policies[0] (\"a\"): unknown policy type \"ottl_condition\"");
    refused("tail_sampling:\n  num_traces: lots\n  policies: [{name: a, type: always_sample}]\n",
            "t.yaml:2: tail_sampling.num_traces: bad value \"lots\"");
    refused("tail_sampling:\n  decision_wait: 10 seconds\n  policies: [{name: a, type: always_sample}]\n",
            "t.yaml:2: tail_sampling.decision_wait: bad value");
    refused("tail_sampling:\n  policies:\n    - {name: a, type: probabilistic, probabilistic: {sampling_percentage: 101}}\n",
            "t.yaml:3: tail_sampling.policies[0].probabilistic.sampling_percentage: bad value \"101\"");
    refused("tail_sampling:\n  policies:\n    - {name: a, type: string_attribute, string_attribute: {key: k, values: ['('], enabled_regex_matching: true}}\n",
            "bad regular expression");
    refused("tail_sampling:\n  policies:\n    - {name: a, type: string_attribute, string_attribute: {key: k, values: ['(']}, enabled_regex_matching: true}\n",
            "t.yaml:3: tail_sampling.policies[0]: unknown key \"enabled_regex_matching\"");
    refused("tail_sampling:\n  policies:\n    - {name: a, type: always_sample}\n    - {name: a, type: always_sample}\n",
            "t.yaml:4: tail_sampling.policies[1]: a policy named \"a\" already exists");
    refused("tail_sampling:\n  policies:\n    - {name: a, type: latency, status_code: {status_codes: [ERROR]}}\n",
            "\"status_code\" settings given to a policy of type latency");
    refused("tail_sampling:\n  decision_wait: 1s\n", "missing \"policies\"");
}

/* ---- the buffer ------------------------------------------------------------------------ */

typedef struct got {
    size_t spans;
    size_t calls;
} got_t;

static int sink(void *arg, const stitch_span_data_t *const *spans, size_t n)
{
    got_t *g = arg;
    (void)spans;
    __atomic_add_fetch(&g->spans, n, __ATOMIC_RELAXED);
    __atomic_add_fetch(&g->calls, 1, __ATOMIC_RELAXED);
    return 0;
}

static void test_sampling_buffer_bound_and_late_spans(void **state)
{
    (void)state;
    sampling_cfg_t *c = cfg("tail_sampling:\n  decision_wait: 60s\n  num_traces: 10\n"
                            "  decision_cache: {sampled_cache_size: 1000, non_sampled_cache_size: 1000}\n  policies:\n"
                            "    - {name: e, type: status_code, status_code: {status_codes: [ERROR]}}\n");
    got_t g = {0, 0};
    sampler_t *s = NULL;
    assert_int_equal(sampler_new(&s, c, sink, &g), 0);
    static tr_t t[30];
    for (int i = 0; i < 30; i++) {
        tr_make(&t[i], 3);
        if (i % 3 == 0)
            t[i].s[1].status = STITCH_STATUS_ERROR;
        assert_int_equal(sampler_add(s, t[i].p, 2), 0); /* the third span comes later */
    }
    /* 20 decided early (oldest first): 7 of them errors, delivered with their 2 spans */
    assert_int_equal(g.spans, 14);
    /* late spans of decided traces follow the decision; held ones join their trace */
    for (int i = 0; i < 30; i++)
        assert_int_equal(sampler_add(s, t[i].p + 2, 1), 0);
    assert_int_equal(g.spans, 14 + 7);
    char *m = sampler_metrics(s);
    assert_non_null(strstr(m, "stitchd_tail_sampling_early_decisions_total 20\n"));
    assert_non_null(strstr(m, "stitchd_tail_sampling_traces_held 10\n"));
    assert_non_null(strstr(m, "stitchd_tail_sampling_late_spans_total{decision=\"kept\"} 7\n"));
    assert_non_null(strstr(m, "stitchd_tail_sampling_late_spans_total{decision=\"dropped\"} 13\n"));
    free(m);
    sampler_free(s); /* decides the 10 held: 3 errors of 3 spans */
    assert_int_equal(g.spans, 14 + 7 + 9);
}

static void test_sampling_decision_wait(void **state)
{
    (void)state;
    sampling_cfg_t *c = cfg("tail_sampling:\n  decision_wait: 200ms\n  policies:\n"
                            "    - {name: a, type: always_sample}\n");
    got_t g = {0, 0};
    sampler_t *s = NULL;
    assert_int_equal(sampler_new(&s, c, sink, &g), 0);
    tr_t t;
    tr_make(&t, 4);
    assert_int_equal(sampler_add(s, t.p, 2), 0);
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
    assert_int_equal(sampler_add(s, t.p + 2, 2), 0);
    assert_int_equal(__atomic_load_n(&g.spans, __ATOMIC_RELAXED), 0);
    ts.tv_nsec = 250 * 1000 * 1000;
    nanosleep(&ts, NULL);
    assert_int_equal(__atomic_load_n(&g.spans, __ATOMIC_RELAXED), 4);
    assert_int_equal(__atomic_load_n(&g.calls, __ATOMIC_RELAXED), 1); /* whole, at once */
    sampler_free(s);
}

/* ---- routing ---------------------------------------------------------------------------- */

static void test_sampling_routing_moves_one_in_n(void **state)
{
    (void)state;
    const char *urls[5] = {"http://b1:4318", "http://b2:4318", "http://b3:4318", "http://b4:4318",
                           "http://b5:4318"};
    uint64_t seed[5];
    for (int i = 0; i < 5; i++)
        seed[i] = router_seed(urls[i]);
    router_t r4 = {NULL, seed, 4}, r5 = {NULL, seed, 5}, r3 = {NULL, seed + 1, 3};
    enum { N = 40000 };
    int per[5] = {0}, moved_add = 0, moved_remove = 0;
    for (int i = 0; i < N; i++) {
        uint8_t id[16];
        rand_id(id);
        size_t a = router_pick(&r4, id), b = router_pick(&r5, id), c = router_pick(&r3, id) + 1;
        per[a]++;
        moved_add += a != b;
        if (a != 0) /* removing b1: only b1's traces may move */
            assert_int_equal(a, c);
        moved_remove += a != c;
        if (a != b)
            assert_int_equal(b, 4); /* adding b5: traces move only to b5 */
    }
    fprintf(stderr, "routing: 4 instances %d/%d/%d/%d; 4 -> 5 moved %.1f%%, 4 -> 3 moved %.1f%%\n",
            per[0], per[1], per[2], per[3], 100.0 * moved_add / N, 100.0 * moved_remove / N);
    for (int k = 0; k < 4; k++)
        assert_in_range(per[k], N / 4 * 0.9, N / 4 * 1.1);
    assert_in_range(moved_add, N / 5 * 0.9, N / 5 * 1.1);
    assert_in_range(moved_remove, N / 4 * 0.9, N / 4 * 1.1);
    /* the order of the list does not matter */
    uint64_t rev[4] = {seed[3], seed[2], seed[1], seed[0]};
    router_t rr = {NULL, rev, 4};
    for (int i = 0; i < 1000; i++) {
        uint8_t id[16];
        rand_id(id);
        assert_int_equal(3 - router_pick(&rr, id), router_pick(&r4, id));
    }
}

/* ---- figures ------------------------------------------------------------------------------ */

static double mono(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void test_sampling_cost_figures(void **state)
{
    (void)state;
    static const char yaml[] =
        "tail_sampling:\n  decision_wait: 60s\n  num_traces: 2000\n  policies:\n"
        "    - {name: errors, type: status_code, status_code: {status_codes: [ERROR]}}\n"
        "    - {name: slow, type: latency, latency: {threshold_ms: 500}}\n"
        "    - {name: vip, type: string_attribute, string_attribute: {key: user.id, values: ['42']}}\n"
        "    - {name: rest, type: probabilistic, probabilistic: {sampling_percentage: 1}}\n";
    sampling_cfg_t *c = cfg(yaml);
    enum { TRACES = 20000, SPANS = 5 };
    static tr_t t[TRACES];
    for (int i = 0; i < TRACES; i++) {
        tr_make(&t[i], SPANS);
        t[i].attrs[0] = stitch_attr_str("http.request.method", "GET");
        t[i].attrs[1] = stitch_attr_int("http.response.status_code", 200);
        t[i].attrs[2] = stitch_attr_str("user.id", i % 50 ? "7" : "42");
        t[i].attrs[3] = stitch_attr_str("url.path", "/cart/add");
        for (int k = 0; k < SPANS; k++) {
            t[i].s[k].attrs = t[i].attrs;
            t[i].s[k].nattrs = 4;
        }
    }
    double t0 = mono();
    uint64_t sink_mask = 0;
    for (int i = 0; i < TRACES; i++)
        for (int k = 0; k < SPANS; k++)
            sink_mask |= sampling_span_mask(c, &t[i].s[k]);
    double pred = (mono() - t0) / (TRACES * SPANS) * 1e9;
    (void)sink_mask;

    /* num_traces is 1/10 of the traces sent, so most are decided early and
     * their memory is reused: the steady state of a busy sampler, each span
     * held, decided, decoded again and delivered (to a sink that does
     * nothing). Twice: the first run pays for the heap's first touch. */
    double add = 0, decide = 0, bytes = 0;
    for (int round = 0; round < 2; round++) {
        sampling_cfg_t *rc = round ? c : cfg(yaml);
        got_t g = {0, 0};
        sampler_t *s = NULL;
        assert_int_equal(sampler_new(&s, rc, sink, &g), 0);
        t0 = mono();
        /* requests of 100 traces x 5 spans, as a batching SDK would send them */
        static const stitch_span_data_t *req[100 * SPANS];
        for (int lo = 0; lo < TRACES; lo += 100) {
            size_t n = 0;
            for (int i = lo; i < lo + 100; i++)
                for (int k = 0; k < SPANS; k++)
                    req[n++] = &t[i].s[k];
            assert_int_equal(sampler_add(s, req, n), 0);
        }
        add = (mono() - t0) / (TRACES * SPANS) * 1e9;
        char *m = sampler_metrics(s);
        const char *b = strstr(m, "\nstitchd_tail_sampling_bytes_held ");
        bytes = b ? strtod(b + 34, NULL) / 2000 : 0;
        free(m);
        t0 = mono();
        sampler_free(s); /* decides and delivers everything held */
        decide = (mono() - t0) / 2000 * 1e9;
        assert_true(g.spans >= TRACES / 50 * SPANS); /* every user 42, ~1% of the rest */
    }
    fprintf(stderr,
            "figures: predicates %.0f ns/span (4 policies, 4 attributes); sampler_add %.0f ns/span "
            "in the steady state (sort, encode, hold, decide, decode, deliver; requests of %d "
            "spans); held: %.0f bytes/trace of %d spans (%.0f B/span); decide+decode+deliver "
            "at shutdown %.0f ns/trace\n",
            pred, add, 100 * SPANS, bytes, SPANS, bytes / SPANS, decide);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sampling_status_latency_span_count),
        cmocka_unit_test(test_sampling_attributes),
        cmocka_unit_test(test_sampling_invert_and_drop_win),
        cmocka_unit_test(test_sampling_and_trace_state),
        cmocka_unit_test(test_sampling_rate_limiting_and_composite),
        cmocka_unit_test(test_sampling_probabilistic_matches_sdk),
        cmocka_unit_test(test_sampling_config_errors_name_the_line),
        cmocka_unit_test(test_sampling_buffer_bound_and_late_spans),
        cmocka_unit_test(test_sampling_decision_wait),
        cmocka_unit_test(test_sampling_routing_moves_one_in_n),
        cmocka_unit_test(test_sampling_cost_figures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
