/* tests/integration/test_sampling.c — tail sampling, routing and agent mode
 * with real stitchd processes on loopback:
 *  - an application's mix of traces (errors, slow ones, user 42, ordinary),
 *    their spans sent in rounds through two front stitchd routers
 *    (--storage none --route-to) into two back stitchd tail samplers that
 *    store locally: every error, slow and user-42 trace stored whole, the
 *    ordinary ones exactly those the SDK's 1% trace-id ratio rule keeps
 *    (~1%, checked statistically too), no trace split between the backs,
 *    late spans following their trace's decision;
 *  - memory bounded by num_traces (early decisions counted);
 *  - a config with a typo refused with the line named;
 *  - agent mode: spans buffered while the upstream is down, delivered when
 *    it comes up; 503 + Retry-After when the buffer is full; with
 *    --forward-spool, acknowledged spans survive kill -9 of the agent. */
/* GCC sizes an element of an array of sd_t indexed by a loop variable as
 * the whole array and warns about paths that cannot be that long. */
#pragma GCC diagnostic ignored "-Wformat-truncation"
#include <arpa/inet.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "stitch/sampler.h"
#include "stitch/trace.h"
#include "tests/integration/stitchd_fixture.h"
#include "wire/wire.h"

#define NTRACES 3000
#define NSPANS 4 /* per trace; a 5th is the late one */
#define RATIO 0.01

enum cat { ORDINARY, ERROR, SLOW, USER42 };

typedef struct app {
    stitch_attr_t res[NSPANS + 1][1];
    stitch_scope_info_t scope;
    stitch_attr_t user[NTRACES][1];
    stitch_span_data_t s[NTRACES][NSPANS + 1];
    enum cat cat[NTRACES];
    uint64_t t0;
} app_t;

static const char *const services[NSPANS + 1] = {"frontend", "gateway", "cart", "product", "db"};

static uint64_t sm_state = 0x5eed;
static uint64_t splitmix(void)
{
    uint64_t z = (sm_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* The trace id holds its index in bytes 0..3; the rest is random. */
static void app_make(app_t *a, int ntraces)
{
    memset(a, 0, sizeof *a);
    a->t0 = now_ns() - 20000000000ull;
    a->scope.name = "shop";
    a->scope.version = "1.0";
    for (int k = 0; k <= NSPANS; k++)
        a->res[k][0] = stitch_attr_str("service.name", services[k]);
    for (int i = 0; i < ntraces; i++) {
        int m = i % 100;
        a->cat[i] = m < 3 ? ERROR : m < 6 ? SLOW : m < 8 ? USER42 : ORDINARY;
        a->user[i][0] = stitch_attr_str("user.id", a->cat[i] == USER42 ? "42" : m % 2 ? "7" : "420");
        uint8_t tid[16];
        uint64_t r1 = splitmix(), r2 = splitmix();
        tid[0] = (uint8_t)(i >> 24);
        tid[1] = (uint8_t)(i >> 16);
        tid[2] = (uint8_t)(i >> 8);
        tid[3] = (uint8_t)i;
        memcpy(tid + 4, &r1, 4);
        memcpy(tid + 8, &r2, 8);
        uint64_t start = a->t0 + (uint64_t)i * 1000000ull;
        uint64_t dur = a->cat[i] == SLOW ? 700000000ull : 20000000ull;
        for (int k = 0; k <= NSPANS; k++) {
            stitch_span_data_t *s = &a->s[i][k];
            memcpy(s->ctx.trace_id, tid, 16);
            uint64_t sid = splitmix() | 1;
            memcpy(s->ctx.span_id, &sid, 8);
            s->ctx.flags = 1;
            if (k)
                memcpy(s->parent_span_id, a->s[i][k - 1].ctx.span_id, 8);
            s->name = services[k];
            s->kind = k ? STITCH_SPAN_KIND_INTERNAL : STITCH_SPAN_KIND_SERVER;
            s->start_ns = start + (uint64_t)k * 1000000ull;
            s->end_ns = start + dur - (uint64_t)k * 1000000ull;
            s->resource = a->res[k];
            s->nresource = 1;
            s->scope = &a->scope;
            s->status_message = "";
            if (k == 0) {
                s->attrs = a->user[i];
                s->nattrs = 1;
            }
            if (k == 2 && a->cat[i] == ERROR) {
                s->status = STITCH_STATUS_ERROR;
                s->status_message = "out of stock";
            }
        }
    }
}

/* The two-tier configuration keeps errors, slow traces and user 42; the
 * memory test's only errors (errors_only). Both keep 1% of the rest. */
static bool expect_kept_cfg(const app_t *a, int i, bool errors_only)
{
    if (a->cat[i] == ERROR || (a->cat[i] != ORDINARY && !errors_only))
        return true;
    return stitch_trace_id_randomness(a->s[i][0].ctx.trace_id) >= stitch_ratio_threshold(RATIO);
}

static bool expect_kept(const app_t *a, int i) { return expect_kept_cfg(a, i, false); }

static long post_spans(const char *otlp, const stitch_span_data_t *const *spans, size_t n,
                       sd_resp_t *r)
{
    stitch_buf_t b = STITCH_BUF_INIT(0);
    assert_int_equal(stitch_wire_otlp_proto_encode(spans, n, &b), 0);
    char url[256];
    snprintf(url, sizeof url, "http://%s/v1/traces", otlp);
    const char *h[] = {"Content-Type: application/x-protobuf", NULL};
    long st = sd_http("POST", url, h, b.data, b.len, r);
    stitch_buf_free(&b);
    return st;
}

static long send_spans(const char *otlp, const stitch_span_data_t *const *spans, size_t n)
{
    sd_resp_t r;
    long st = post_spans(otlp, spans, n, &r);
    sd_resp_free(&r);
    return st;
}

/* The sum of every sample whose line starts with `prefix` (name{labels...). */
static double metric_sum(const sd_t *d, const char *prefix)
{
    sd_resp_t r;
    if (sd_get(d->http, "/metrics", &r) != 200) {
        sd_resp_free(&r);
        return -1;
    }
    double sum = 0;
    size_t n = strlen(prefix);
    bool labels = strchr(prefix, '{') != NULL;
    for (const char *p = r.body; p && *p;) {
        const char *e = strchr(p, '\n');
        if (!strncmp(p, prefix, n) && (labels || p[n] == ' ' || p[n] == '{')) {
            const char *sp = memchr(p, ' ', e ? (size_t)(e - p) : strlen(p));
            if (sp)
                sum += strtod(sp + 1, NULL);
        }
        p = e ? e + 1 : NULL;
    }
    sd_resp_free(&r);
    return sum;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

/* spans[i] += spans stored in `d` for trace i (ids by the index in bytes 0..3). */
static void count_stored(const sd_t *d, const app_t *a, int ntraces, int *spans)
{
    for (int lo = 0; lo < ntraces; lo += 100) {
        char path[100 * 50 + 64];
        size_t o = (size_t)snprintf(path, sizeof path, "/api/traces?");
        for (int i = lo; i < lo + 100 && i < ntraces; i++) {
            char h[33];
            hex(a->s[i][0].ctx.trace_id, 16, h);
            o += (size_t)snprintf(path + o, sizeof path - o, "%straceID=%s", i > lo ? "&" : "", h);
        }
        sd_resp_t r;
        char url[sizeof path + 128];
        snprintf(url, sizeof url, "http://%s%s", d->http, path);
        long st = sd_http("GET", url, NULL, NULL, 0, &r);
        assert_int_equal(st, 200);
        json_t *doc = json_loads(r.body, 0, NULL);
        assert_non_null(doc);
        json_t *tr;
        size_t k;
        json_array_foreach(json_object_get(doc, "data"), k, tr) {
            const char *id = json_string_value(json_object_get(tr, "traceID"));
            assert_non_null(id);
            unsigned idx = 0;
            assert_int_equal(sscanf(id, "%8x", &idx), 1);
            assert_true(idx < (unsigned)ntraces);
            spans[idx] += (int)json_array_size(json_object_get(tr, "spans"));
        }
        json_decref(doc);
        sd_resp_free(&r);
    }
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void mkdir_tmp(sd_t *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "/tmp/stitchd-sampling-XXXXXX");
    assert_non_null(mkdtemp(s->dir));
}

static const char tail_cfg[] = "tail_sampling:\n"
                               "  decision_wait: 3s\n"
                               "  num_traces: 20000\n"
                               "  policies:\n"
                               "    - {name: errors, type: status_code, status_code: {status_codes: [ERROR]}}\n"
                               "    - {name: slow, type: latency, latency: {threshold_ms: 500}}\n"
                               "    - name: vip\n"
                               "      type: string_attribute\n"
                               "      string_attribute: {key: user.id, values: [\"42\"]}\n"
                               "    - {name: rest, type: probabilistic, probabilistic: {sampling_percentage: 1}}\n";

static void wait_for(const sd_t *const *ds, int n, const char *prefix, double want, double secs)
{
    double t0 = sd_now(), got = 0;
    while (sd_now() - t0 < secs) {
        got = 0;
        for (int i = 0; i < n; i++)
            got += metric_sum(ds[i], prefix);
        if (got >= want)
            return;
        sd_sleep_ms(100);
    }
    fprintf(stderr, "waited %.0f s for %s >= %g, got %g\n", secs, prefix, want, got);
    fail();
}

static void test_sampling_two_tier(void **state)
{
    (void)state;
    static app_t a;
    app_make(&a, NTRACES);
    sd_t back[2], front[2];
    char cfg[300], urls[300];
    for (int b = 0; b < 2; b++) {
        mkdir_tmp(&back[b]);
        snprintf(cfg, sizeof cfg, "%s/tail.yaml", back[b].dir);
        write_file(cfg, tail_cfg);
        const char *args[] = {"--config", cfg, NULL};
        assert_int_equal(sd_start_args(&back[b], args), 0);
    }
    snprintf(urls, sizeof urls, "http://%s,http://%s/v1/traces", back[0].otlp, back[1].otlp);
    for (int f = 0; f < 2; f++) {
        mkdir_tmp(&front[f]);
        const char *args[] = {"--storage", "none", "--route-to", urls, "--forward-batch-delay",
                              "50ms", NULL};
        assert_int_equal(sd_start_args(&front[f], args), 0);
    }

    /* round k: span k of every trace, through front (i + k) % 2, 250 spans a request */
    double t_send = sd_now();
    static const stitch_span_data_t *batch[2][250];
    for (int k = 0; k < NSPANS; k++) {
        size_t nb[2] = {0, 0};
        for (int i = 0; i < NTRACES; i++) {
            int f = (i + k) % 2;
            batch[f][nb[f]++] = &a.s[i][k];
            if (nb[f] == 250) {
                assert_int_equal(send_spans(front[f].otlp, batch[f], nb[f]), 200);
                nb[f] = 0;
            }
        }
        for (int f = 0; f < 2; f++)
            if (nb[f])
                assert_int_equal(send_spans(front[f].otlp, batch[f], nb[f]), 200);
    }
    double took = sd_now() - t_send;
    fprintf(stderr, "sent %d spans in %.2f s\n", NTRACES * NSPANS, took);
    assert_true(took < 2.7); /* every round inside decision_wait, or the test means nothing */

    const sd_t *backs[2] = {&back[0], &back[1]};
    wait_for(backs, 2, "stitchd_tail_sampling_traces_total", NTRACES, 30);
    double per_back[2];
    for (int b = 0; b < 2; b++) {
        per_back[b] = metric_sum(&back[b], "stitchd_tail_sampling_traces_total");
        assert_true(per_back[b] > NTRACES * 0.35); /* both instances got a fair share */
        assert_true(metric_sum(&back[b], "stitchd_tail_sampling_traces_held") == 0);
    }
    fprintf(stderr, "traces per back: %.0f %.0f\n", per_back[0], per_back[1]);

    /* late spans: a 5th span for 10 error traces and 40 ordinary ones */
    const stitch_span_data_t *late[50];
    int nl = 0, late_of[NTRACES] = {0};
    for (int i = 0, ne = 0, no = 0; i < NTRACES && nl < 50; i++) {
        if ((a.cat[i] == ERROR && ne < 10 && ++ne) || (a.cat[i] == ORDINARY && no < 40 && ++no)) {
            late[nl++] = &a.s[i][NSPANS];
            late_of[i] = 1;
        }
    }
    assert_int_equal(send_spans(front[0].otlp, late, (size_t)nl), 200);
    wait_for(backs, 2, "stitchd_tail_sampling_late_spans_total", nl, 20);
    int late_kept_expected = 0;
    for (int i = 0; i < NTRACES; i++)
        late_kept_expected += late_of[i] && expect_kept(&a, i);
    double late_kept = metric_sum(&back[0], "stitchd_tail_sampling_late_spans_total{decision=\"kept\"}") +
                       metric_sum(&back[1], "stitchd_tail_sampling_late_spans_total{decision=\"kept\"}");
    assert_int_equal((int)late_kept, late_kept_expected);

    /* what each back stored */
    static int in[2][NTRACES];
    memset(in, 0, sizeof in);
    for (int b = 0; b < 2; b++)
        count_stored(&back[b], &a, NTRACES, in[b]);
    int ordinary = 0, ordinary_kept = 0, kept_by_cat[4] = {0}, n_by_cat[4] = {0};
    for (int i = 0; i < NTRACES; i++) {
        bool kept = expect_kept(&a, i);
        int want = kept ? NSPANS + late_of[i] : 0;
        if (in[0][i] && in[1][i])
            fail_msg("trace %d split between the backs: %d + %d spans", i, in[0][i], in[1][i]);
        int got = in[0][i] + in[1][i];
        if (got != want)
            fail_msg("trace %d (category %d): %d spans stored, expected %d", i, a.cat[i], got, want);
        n_by_cat[a.cat[i]]++;
        kept_by_cat[a.cat[i]] += got > 0;
        if (a.cat[i] == ORDINARY) {
            ordinary++;
            ordinary_kept += got > 0;
        }
    }
    for (int c = ERROR; c <= USER42; c++)
        assert_int_equal(kept_by_cat[c], n_by_cat[c]);
    /* ~1% of the ordinary ones: binomial, 4 sigma */
    double mean = ordinary * RATIO, sigma = sqrt(ordinary * RATIO * (1 - RATIO));
    fprintf(stderr, "ordinary traces kept: %d of %d (expected %.1f +- %.1f)\n", ordinary_kept,
            ordinary, mean, sigma);
    assert_true(fabs(ordinary_kept - mean) <= 4 * sigma);

    for (int f = 0; f < 2; f++) {
        assert_true(metric_sum(&front[f], "stitchd_forward_spans_total{role=\"route\"") > 0);
        assert_int_equal(sd_stop(&front[f], SIGTERM, 20, NULL), 0);
        sd_free(&front[f]);
    }
    for (int b = 0; b < 2; b++) {
        assert_int_equal(sd_stop(&back[b], SIGTERM, 20, NULL), 0);
        sd_free(&back[b]);
    }
}

static void test_sampling_memory_bounded(void **state)
{
    (void)state;
    enum { N = 1000 };
    static app_t a;
    app_make(&a, N);
    sd_t d;
    mkdir_tmp(&d);
    char cfg[300];
    snprintf(cfg, sizeof cfg, "%s/tail.yaml", d.dir);
    write_file(cfg, "tail_sampling:\n"
                    "  decision_wait: 60s\n"
                    "  num_traces: 100\n"
                    "  policies:\n"
                    "    - {name: errors, type: status_code, status_code: {status_codes: [ERROR]}}\n"
                    "    - {name: rest, type: probabilistic, probabilistic: {sampling_percentage: 1}}\n");
    const char *args[] = {"--config", cfg, NULL};
    assert_int_equal(sd_start_args(&d, args), 0);
    static const stitch_span_data_t *batch[400];
    for (int lo = 0; lo < N; lo += 100) {
        size_t n = 0;
        for (int i = lo; i < lo + 100; i++)
            for (int k = 0; k < NSPANS; k++)
                batch[n++] = &a.s[i][k];
        assert_int_equal(send_spans(d.otlp, batch, n), 200);
        assert_true(metric_sum(&d, "stitchd_tail_sampling_traces_held") <= 100);
    }
    double held = metric_sum(&d, "stitchd_tail_sampling_traces_held");
    double bytes = metric_sum(&d, "stitchd_tail_sampling_bytes_held");
    double early = metric_sum(&d, "stitchd_tail_sampling_early_decisions_total");
    fprintf(stderr, "held %.0f traces in %.0f bytes (%.0f per trace of %d spans); early decisions %.0f\n",
            held, bytes, bytes / held, NSPANS, early);
    assert_true(held == 100);
    assert_true(early == N - 100);
    /* the early-decided error traces are stored already, whole */
    static int in[N];
    count_stored(&d, &a, N - 100, in);
    for (int i = 0; i < N - 100; i++)
        assert_int_equal(in[i], expect_kept_cfg(&a, i, true) ? NSPANS : 0);
    /* SIGTERM decides what is still held: it is stored too */
    assert_int_equal(sd_stop(&d, SIGTERM, 20, NULL), 0);
    assert_int_equal(sd_start(&d), 0);
    memset(in, 0, sizeof in);
    count_stored(&d, &a, N, in);
    for (int i = N - 100; i < N; i++)
        assert_int_equal(in[i], expect_kept_cfg(&a, i, true) ? NSPANS : 0);
    sd_free(&d);
}

static void expect_refused(const char *yaml, const char *want1, const char *want2)
{
    char path[] = "/tmp/stitchd-sampling-cfg-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, yaml, strlen(yaml)), (ssize_t)strlen(yaml));
    close(fd);
    char out[4096];
    const char *args[] = {"--config", path, "--data", "/tmp/stitchd-sampling-never", NULL};
    int rc = sd_run(args, out, sizeof out);
    unlink(path);
    if (rc != 2 || !strstr(out, want1) || (want2 && !strstr(out, want2)))
        fail_msg("exit %d, output: %s (wanted \"%s\" and \"%s\")", rc, out, want1, want2 ? want2 : "");
}

static void test_sampling_config_typo(void **state)
{
    (void)state;
    /* status_code: {status_code: ...} for status_codes */
    expect_refused("tail_sampling:\n"
                   "  decision_wait: 1s\n"
                   "  policies:\n"
                   "    - name: errors\n"
                   "      type: status_code\n"
                   "      status_code: {status_code: [ERROR]}\n",
                   ":6: tail_sampling.policies[0].status_code: unknown key \"status_code\"",
                   "status_codes");
    expect_refused("tail_sampling:\n"
                   "  policies:\n"
                   "    - {name: slow, type: latency, latency: {threshold_ms: 500}}\n"
                   "    - {name: x, type: status_codes, status_code: {status_codes: [ERROR]}}\n",
                   ":4: tail_sampling.policies[1] (\"x\"): unknown policy type \"status_codes\"", NULL);
    expect_refused("tail_sampling:\n"
                   "  decision_wiat: 1s\n"
                   "  policies: [{name: a, type: always_sample}]\n",
                   ":2: tail_sampling: unknown key \"decision_wiat\"", NULL);
    expect_refused("tail_sampling:\n"
                   "  policies:\n"
                   "    - {name: e, type: status_code, status_code: {status_codes: [EROR]}}\n",
                   ":3: ", "unknown status code \"EROR\"");
    expect_refused("tail_samplng:\n  policies: []\n", ":1: unknown key \"tail_samplng\"", NULL);
    expect_refused("forward:\n  endpoint: http://127.0.0.1:1\n  bufer: 1MiB\n",
                   ":3: unknown key \"bufer\" in section \"forward\"", NULL);
    /* every policy type parses */
    char path[] = "/tmp/stitchd-sampling-cfg-XXXXXX";
    int fd = mkstemp(path);
    static const char all[] =
        "tail_sampling:\n"
        "  decision_wait: 1s\n"
        "  num_traces: 10\n"
        "  expected_new_traces_per_sec: 10\n"
        "  decision_cache: {sampled_cache_size: 100, non_sampled_cache_size: 100}\n"
        "  policies:\n"
        "    - {name: p1, type: always_sample}\n"
        "    - {name: p2, type: latency, latency: {threshold_ms: 5000, upper_threshold_ms: 10000}}\n"
        "    - {name: p3, type: numeric_attribute, numeric_attribute: {key: k1, min_value: 50, max_value: 100}}\n"
        "    - {name: p4, type: probabilistic, probabilistic: {hash_salt: s, sampling_percentage: 10}}\n"
        "    - {name: p5, type: status_code, status_code: {status_codes: [ERROR, UNSET]}}\n"
        "    - {name: p6, type: string_attribute, string_attribute: {key: k2, values: [v1, v2]}}\n"
        "    - {name: p7, type: string_attribute, string_attribute: {key: k2, values: [v1, 'val.*'], enabled_regex_matching: true, cache_max_size: 10}}\n"
        "    - {name: p8, type: rate_limiting, rate_limiting: {spans_per_second: 35}}\n"
        "    - {name: p9, type: string_attribute, string_attribute: {key: http.url, values: ['/health', '/metrics'], enabled_regex_matching: true, invert_match: true}}\n"
        "    - {name: p10, type: span_count, span_count: {min_spans: 2, max_spans: 20}}\n"
        "    - {name: p11, type: trace_state, trace_state: {key: k3, values: [a, b]}}\n"
        "    - {name: p12, type: boolean_attribute, boolean_attribute: {key: k4, value: true}}\n"
        "    - name: p13\n"
        "      type: and\n"
        "      and:\n"
        "        and_sub_policy:\n"
        "          - {name: s1, type: numeric_attribute, numeric_attribute: {key: k1, min_value: 50, max_value: 100}}\n"
        "          - {name: s2, type: string_attribute, string_attribute: {key: k2, values: [v1]}}\n"
        "    - name: p14\n"
        "      type: composite\n"
        "      composite:\n"
        "        max_total_spans_per_second: 1000\n"
        "        policy_order: [c1, c2, c3]\n"
        "        composite_sub_policy:\n"
        "          - {name: c1, type: numeric_attribute, numeric_attribute: {key: k1, min_value: 50}}\n"
        "          - {name: c2, type: string_attribute, string_attribute: {key: k2, values: [v1]}}\n"
        "          - {name: c3, type: always_sample}\n"
        "        rate_allocation:\n"
        "          - {policy: c1, percent: 50}\n"
        "          - {policy: c2, percent: 25}\n"
        "    - name: p15\n"
        "      type: drop\n"
        "      drop:\n"
        "        drop_sub_policy:\n"
        "          - {name: d1, type: string_attribute, string_attribute: {key: url.path, values: ['/health']}}\n";
    assert_int_equal(write(fd, all, strlen(all)), (ssize_t)strlen(all));
    close(fd);
    sd_t d;
    mkdir_tmp(&d);
    const char *args[] = {"--config", path, NULL};
    assert_int_equal(sd_start_args(&d, args), 0);
    assert_true(metric_sum(&d, "stitchd_tail_sampling_policy_decisions_total{policy=\"p15\"") == 0);
    sd_free(&d);
    unlink(path);
}

static unsigned free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t l = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &l);
    close(s);
    return ntohs(a.sin_port);
}

static void test_sampling_agent_buffers_while_upstream_down(void **state)
{
    (void)state;
    enum { N = 50 };
    static app_t a;
    app_make(&a, N);
    unsigned port = free_port();
    char up[64], upaddr[64];
    snprintf(upaddr, sizeof upaddr, "127.0.0.1:%u", port);
    snprintf(up, sizeof up, "http://%s", upaddr);
    sd_t agent, coll;
    mkdir_tmp(&agent);
    const char *args[] = {"--storage", "none", "--forward", up, "--forward-batch-delay", "20ms",
                          "--forward-timeout", "500ms", NULL};
    assert_int_equal(sd_start_args(&agent, args), 0);
    static const stitch_span_data_t *batch[N * NSPANS];
    size_t n = 0;
    for (int i = 0; i < N; i++)
        for (int k = 0; k < NSPANS; k++)
            batch[n++] = &a.s[i][k];
    assert_int_equal(send_spans(agent.otlp, batch, n), 200);
    sd_sleep_ms(1500);
    assert_true(metric_sum(&agent, "stitchd_forward_buffer_spans") == N * NSPANS);
    assert_true(metric_sum(&agent, "stitchd_forward_upstream_up") == 0);
    assert_true(metric_sum(&agent, "stitchd_forward_requests_total{role=\"forward\",upstream=\"") >= 1);

    /* the collector comes up on the agent's upstream port */
    mkdir_tmp(&coll);
    const char *cargs[] = {"--otlp-http", upaddr, NULL};
    assert_int_equal(sd_start_args(&coll, cargs), 0);
    double t0 = sd_now();
    static int in[N];
    for (;;) {
        memset(in, 0, sizeof in);
        count_stored(&coll, &a, N, in);
        int total = 0;
        for (int i = 0; i < N; i++)
            total += in[i];
        if (total == N * NSPANS)
            break;
        assert_true(sd_now() - t0 < 40);
        sd_sleep_ms(200);
    }
    fprintf(stderr, "delivered %.1f s after the upstream came up\n", sd_now() - t0);
    assert_true(metric_sum(&agent, "stitchd_forward_buffer_spans") == 0);
    assert_true(metric_sum(&agent, "stitchd_forward_spans_total{role=\"forward\",upstream=\"") >= N * NSPANS);
    sd_free(&agent);
    sd_free(&coll);

    /* a full buffer: 503 + Retry-After, not a silent drop */
    sd_t small;
    mkdir_tmp(&small);
    const char *sargs[] = {"--storage", "none", "--forward", "http://127.0.0.1:1", "--forward-buffer",
                           "4KiB", NULL};
    assert_int_equal(sd_start_args(&small, sargs), 0);
    sd_resp_t r;
    long st = post_spans(small.otlp, batch, n, &r);
    assert_int_equal(st, 503);
    assert_non_null(strcasestr(r.headers, "Retry-After:"));
    sd_resp_free(&r);
    assert_true(metric_sum(&small, "stitchd_forward_spans_total{role=\"forward\",upstream=\"http://127.0.0.1:1/v1/traces\",result=\"refused\"}") == n);
    assert_int_equal(send_spans(small.otlp, batch, 2), 200); /* a small one fits */
    sd_free(&small);
}

/* With --forward-spool, what the agent acknowledged survives kill -9 while
 * the upstream is down, and is sent after the restart. */
static void test_sampling_agent_spool_survives_kill9(void **state)
{
    (void)state;
    enum { N = 40 };
    static app_t a;
    app_make(&a, N);
    unsigned port = free_port();
    char up[64], upaddr[64], spool[300];
    snprintf(upaddr, sizeof upaddr, "127.0.0.1:%u", port);
    snprintf(up, sizeof up, "http://%s", upaddr);
    sd_t agent, coll;
    mkdir_tmp(&agent);
    snprintf(spool, sizeof spool, "%s/spool", agent.dir);
    const char *args[] = {"--storage", "none", "--forward", up, "--forward-spool", spool,
                          "--forward-batch-delay", "20ms", "--forward-timeout", "300ms", NULL};
    assert_int_equal(sd_start_args(&agent, args), 0);
    static const stitch_span_data_t *batch[NSPANS];
    for (int i = 0; i < N; i++) { /* one request per trace: many records */
        for (int k = 0; k < NSPANS; k++)
            batch[k] = &a.s[i][k];
        assert_int_equal(send_spans(agent.otlp, batch, NSPANS), 200);
    }
    assert_true(metric_sum(&agent, "stitchd_forward_buffer_spans") == N * NSPANS);
    assert_int_equal(sd_stop(&agent, SIGKILL, 10, NULL), 128 + SIGKILL);
    /* restart on the same spool, then the collector comes up */
    assert_int_equal(sd_start_args(&agent, args), 0);
    assert_true(metric_sum(&agent, "stitchd_forward_buffer_spans") == N * NSPANS);
    mkdir_tmp(&coll);
    const char *cargs[] = {"--otlp-http", upaddr, NULL};
    assert_int_equal(sd_start_args(&coll, cargs), 0);
    double t0 = sd_now();
    static int in[N];
    for (;;) {
        memset(in, 0, sizeof in);
        count_stored(&coll, &a, N, in);
        int total = 0;
        for (int i = 0; i < N; i++)
            total += in[i];
        if (total == N * NSPANS)
            break;
        assert_true(sd_now() - t0 < 40);
        sd_sleep_ms(200);
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(in[i], NSPANS);
    /* sent chunks leave the spool */
    t0 = sd_now();
    while (metric_sum(&agent, "stitchd_forward_buffer_spans") != 0) {
        assert_true(sd_now() - t0 < 10);
        sd_sleep_ms(50);
    }
    char cmd[400];
    snprintf(cmd, sizeof cmd, "test -z \"$(find '%s' -name '*.chunk')\"", spool);
    assert_int_equal(system(cmd), 0);
    sd_free(&agent);
    sd_free(&coll);
}

/* A router whose second back instance is down: that instance's buffer fills
 * and only requests holding its traces get 503; the live instance gets
 * every trace it owns. */
static void test_sampling_route_one_back_down(void **state)
{
    (void)state;
    enum { N = 300 };
    static app_t a;
    app_make(&a, N);
    sd_t live, front;
    mkdir_tmp(&live);
    assert_int_equal(sd_start(&live), 0);
    char urls[300];
    snprintf(urls, sizeof urls, "http://%s,http://127.0.0.1:%u", live.otlp, free_port());
    mkdir_tmp(&front);
    const char *args[] = {"--storage", "none", "--route-to", urls, "--forward-buffer", "16KiB",
                          "--forward-batch-delay", "20ms", "--forward-timeout", "300ms", NULL};
    assert_int_equal(sd_start_args(&front, args), 0);
    static long status[N];
    static const stitch_span_data_t *batch[NSPANS];
    int refused = 0;
    for (int i = 0; i < N; i++) { /* one trace per request */
        for (int k = 0; k < NSPANS; k++)
            batch[k] = &a.s[i][k];
        status[i] = send_spans(front.otlp, batch, NSPANS);
        assert_true(status[i] == 200 || status[i] == 503);
        refused += status[i] == 503;
    }
    assert_true(refused > 0);
    /* wait until the live instance has what it owns: ~half, all acknowledged */
    static int in[N];
    double t0 = sd_now();
    int stored = 0;
    for (;;) {
        memset(in, 0, sizeof in);
        count_stored(&live, &a, N, in);
        int now = 0;
        for (int i = 0; i < N; i++)
            now += in[i] > 0;
        if (now == stored && now > 0 && sd_now() - t0 > 1.5)
            break;
        stored = now;
        assert_true(sd_now() - t0 < 30);
        sd_sleep_ms(300);
    }
    for (int i = 0; i < N; i++) {
        if (in[i])
            assert_int_equal(in[i], NSPANS);
        if (status[i] == 503)
            assert_int_equal(in[i], 0); /* refused requests held only the dead one's traces */
    }
    assert_in_range(stored, N * 35 / 100, N * 65 / 100);
    assert_int_equal(stored + refused <= N, 1);
    fprintf(stderr, "one back down: %d traces stored by the live one, %d requests refused (503)\n",
            stored, refused);
    sd_free(&front);
    sd_free(&live);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_sampling_config_typo, sd_teardown),
        cmocka_unit_test_teardown(test_sampling_memory_bounded, sd_teardown),
        cmocka_unit_test_teardown(test_sampling_agent_buffers_while_upstream_down, sd_teardown),
        cmocka_unit_test_teardown(test_sampling_agent_spool_survives_kill9, sd_teardown),
        cmocka_unit_test_teardown(test_sampling_route_one_back_down, sd_teardown),
        cmocka_unit_test_teardown(test_sampling_two_tier, sd_teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
