/* sdk/sampler.c — the sampler wrapper and the built-in head samplers:
 * always_on, always_off, OpenTelemetry's consistent-probability
 * TraceIdRatioBased, ParentBased, and a lock-free rate limiter.
 * (Rule sampler: sampler_rules.c; environment: sampler_env.c.)
 *
 * Invariant: should_sample is on the span-start hot path. None of these
 * samplers allocates, locks or formats there; descriptions are built once,
 * at construction. A built-in sampler is one allocation: its state embeds
 * the stitch_sampler_t header, so `destroy` frees only what the state owns
 * and stitch_sampler_free() frees the block. always_on / always_off are
 * static objects that stitch_sampler_free() leaves alone. */
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdk/internal.h"
#include "stitch/propagation.h"

/* ---- the wrapper -------------------------------------------------------- */

static stitch_decision_t on_should(void *self, const stitch_sampling_params_t *p)
{
    (void)self, (void)p;
    return STITCH_RECORD_AND_SAMPLE;
}
static const char *on_desc(void *self)
{
    (void)self;
    return "AlwaysOnSampler";
}
static stitch_decision_t off_should(void *self, const stitch_sampling_params_t *p)
{
    (void)self, (void)p;
    return STITCH_DROP;
}
static const char *off_desc(void *self)
{
    (void)self;
    return "AlwaysOffSampler";
}

static const stitch_sampler_ops_t always_on_ops = {on_should, on_desc, NULL};
static const stitch_sampler_ops_t always_off_ops = {off_should, off_desc, NULL};
static stitch_sampler_t always_on_obj = {&always_on_ops, NULL};
static stitch_sampler_t always_off_obj = {&always_off_ops, NULL};

stitch_sampler_t *stitch_sampler_new(const stitch_sampler_ops_t *ops, void *self)
{
    if (!ops || !ops->should_sample)
        return NULL;
    /* Only the header is ours; `self` is the user's until ops->destroy. */
    stitch_sampler_t *s = malloc(sizeof *s);
    if (!s)
        return NULL;
    s->ops = ops;
    s->self = self;
    return s;
}

void stitch_sampler_free(stitch_sampler_t *s)
{
    if (!s || s == &always_on_obj || s == &always_off_obj)
        return;
    if (s->ops->destroy)
        s->ops->destroy(s->self);
    free(s);
}

stitch_decision_t stitch_sampler_should_sample(stitch_sampler_t *s, const stitch_sampling_params_t *p)
{
    return s->ops->should_sample(s->self, p);
}

const char *stitch_sampler_description(stitch_sampler_t *s)
{
    if (!s)
        return "";
    if (!s->ops->description)
        return "UserSampler";
    const char *d = s->ops->description(s->self);
    return d ? d : "";
}

stitch_sampler_t *stitch_sampler_always_on(void)
{
    return &always_on_obj;
}

stitch_sampler_t *stitch_sampler_always_off(void)
{
    return &always_off_obj;
}

/* ---- numbers -------------------------------------------------------------- */

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void make_c_locale(void)
{
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

int stitch__parse_double(const char *s, size_t n, double *out)
{
    char buf[64];
    if (n == 0 || n >= sizeof buf)
        return STITCH_EINVAL;
    /* Plain decimal only: no hex floats, inf, nan, or leading spaces. */
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E'))
            return STITCH_EINVAL;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    pthread_once(&c_locale_once, make_c_locale);
    char *end;
    double d = c_locale ? strtod_l(buf, &end, c_locale) : strtod(buf, &end);
    if (end != buf + n || !isfinite(d))
        return STITCH_EINVAL;
    *out = d;
    return STITCH_OK;
}

/* ---- TraceIdRatioBased ------------------------------------------------------ */

struct ratio {
    stitch_sampler_t base;
    uint64_t threshold; /* sampled when randomness >= threshold */
    char desc[40];
};

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

bool stitch_tracestate_randomness(const stitch_tracestate_t *ts, uint64_t *out)
{
    size_t len = 0;
    if (!ts)
        return false;
    const char *v = stitch_tracestate_get(ts, "ot", &len);
    if (!v)
        return false;
    for (size_t i = 0; i + 3 <= len;) {
        size_t end = i;
        while (end < len && v[end] != ';')
            end++;
        if (end - i == 3 + 14 && memcmp(v + i, "rv:", 3) == 0) {
            uint64_t r = 0;
            for (size_t k = i + 3; k < end; k++) {
                int h = hexval(v[k]);
                if (h < 0)
                    return false;
                r = r << 4 | (uint64_t)h;
            }
            *out = r;
            return true;
        }
        i = end + 1;
    }
    return false;
}

static stitch_decision_t ratio_should(void *self, const stitch_sampling_params_t *p)
{
    const struct ratio *r = self;
    uint64_t rnd;
    if (STITCH_LIKELY(!p->parent_tracestate) || !stitch_tracestate_randomness(p->parent_tracestate, &rnd))
        rnd = stitch_trace_id_randomness(p->trace_id);
    return rnd >= r->threshold ? STITCH_RECORD_AND_SAMPLE : STITCH_DROP;
}

static const char *ratio_desc(void *self)
{
    return ((const struct ratio *)self)->desc;
}

static const stitch_sampler_ops_t ratio_ops = {ratio_should, ratio_desc, NULL};

stitch_sampler_t *stitch_sampler_trace_id_ratio(double ratio)
{
    if (!(ratio >= 0.0 && ratio <= 1.0)) {
        double fixed = ratio > 1.0 ? 1.0 : 0.0;
        stitch__log(STITCH_LOG_WARN, "trace id ratio sampler: ratio %g is not in [0, 1]; using %g",
                    ratio, fixed);
        ratio = fixed;
    }
    struct ratio *r = malloc(sizeof *r);
    if (!r)
        return NULL;
    r->base.ops = &ratio_ops;
    r->base.self = r;
    r->threshold = stitch_ratio_threshold(ratio);
    snprintf(r->desc, sizeof r->desc, "TraceIdRatioBased{%f}", ratio); /* fits: <= 27 chars */
    return &r->base;
}

/* ---- ParentBased ---------------------------------------------------------------- */

enum { PB_ROOT, PB_REMOTE_SAMPLED, PB_REMOTE_NOT, PB_LOCAL_SAMPLED, PB_LOCAL_NOT, PB_N };

struct parent_based {
    stitch_sampler_t base;
    stitch_sampler_t *d[PB_N];
    char *desc;
};

static stitch_decision_t pb_should(void *self, const stitch_sampling_params_t *p)
{
    const struct parent_based *pb = self;
    const stitch_span_ctx_t *parent = p->parent;
    stitch_sampler_t *s;
    if (!parent || !stitch_span_ctx_valid(parent))
        s = pb->d[PB_ROOT];
    else if (parent->remote)
        s = pb->d[stitch_span_ctx_sampled(parent) ? PB_REMOTE_SAMPLED : PB_REMOTE_NOT];
    else
        s = pb->d[stitch_span_ctx_sampled(parent) ? PB_LOCAL_SAMPLED : PB_LOCAL_NOT];
    return s->ops->should_sample(s->self, p);
}

static const char *pb_desc(void *self)
{
    return ((const struct parent_based *)self)->desc;
}

static void pb_destroy(void *self)
{
    struct parent_based *pb = self;
    for (int i = 0; i < PB_N; i++)
        stitch_sampler_free(pb->d[i]);
    free(pb->desc);
}

static const stitch_sampler_ops_t pb_ops = {pb_should, pb_desc, pb_destroy};

stitch_sampler_t *stitch_sampler_parent_based(stitch_sampler_t *root)
{
    return stitch_sampler_parent_based_ex(root, NULL);
}

stitch_sampler_t *stitch_sampler_parent_based_ex(stitch_sampler_t *root,
                                                 const stitch_parent_based_opts_t *opts)
{
    stitch_sampler_t *d[PB_N] = {root, NULL, NULL, NULL, NULL};
    if (opts) {
        d[PB_REMOTE_SAMPLED] = opts->remote_parent_sampled;
        d[PB_REMOTE_NOT] = opts->remote_parent_not_sampled;
        d[PB_LOCAL_SAMPLED] = opts->local_parent_sampled;
        d[PB_LOCAL_NOT] = opts->local_parent_not_sampled;
    }
    if (!d[PB_REMOTE_SAMPLED])
        d[PB_REMOTE_SAMPLED] = &always_on_obj;
    if (!d[PB_REMOTE_NOT])
        d[PB_REMOTE_NOT] = &always_off_obj;
    if (!d[PB_LOCAL_SAMPLED])
        d[PB_LOCAL_SAMPLED] = &always_on_obj;
    if (!d[PB_LOCAL_NOT])
        d[PB_LOCAL_NOT] = &always_off_obj;

    struct parent_based *pb = root ? malloc(sizeof *pb) : NULL;
    char *desc = NULL;
    if (pb) {
        static const char fmt[] = "ParentBased{root:%s,remoteParentSampled:%s,"
                                  "remoteParentNotSampled:%s,localParentSampled:%s,"
                                  "localParentNotSampled:%s}";
        const char *ds[PB_N];
        for (int i = 0; i < PB_N; i++)
            ds[i] = stitch_sampler_description(d[i]);
        int n = snprintf(NULL, 0, fmt, ds[0], ds[1], ds[2], ds[3], ds[4]);
        if (n >= 0 && (desc = malloc((size_t)n + 1)))
            snprintf(desc, (size_t)n + 1, fmt, ds[0], ds[1], ds[2], ds[3], ds[4]);
    }
    if (!pb || !desc) {
        free(pb);
        free(desc);
        for (int i = 0; i < PB_N; i++)
            stitch_sampler_free(d[i]);
        return NULL;
    }
    pb->base.ops = &pb_ops;
    pb->base.self = pb;
    memcpy(pb->d, d, sizeof d);
    pb->desc = desc;
    return &pb->base;
}

/* ---- rate limiting ------------------------------------------------------------------
 * GCRA, the token bucket kept as one number: `tat`, the monotonic time at
 * which the bucket would be full again. A trace is admitted when, after
 * charging one interval, the bucket holds no more than `burst_ns` of debt;
 * admission is one compare-and-swap, so deciding never locks. */

struct rate {
    stitch_sampler_t base;
    _Atomic uint64_t tat;
    uint64_t interval_ns; /* 0: admit nothing */
    uint64_t burst_ns;
    char desc[48];
};

static stitch_decision_t rate_should(void *self, const stitch_sampling_params_t *p)
{
    (void)p;
    struct rate *r = self;
    if (STITCH_UNLIKELY(r->interval_ns == 0))
        return STITCH_DROP;
    uint64_t now = stitch__mono_ns();
    uint64_t old = atomic_load_explicit(&r->tat, memory_order_relaxed);
    for (;;) {
        uint64_t next = (old > now ? old : now) + r->interval_ns;
        if (next - now > r->burst_ns)
            return STITCH_DROP;
        if (atomic_compare_exchange_weak_explicit(&r->tat, &old, next, memory_order_relaxed,
                                                  memory_order_relaxed))
            return STITCH_RECORD_AND_SAMPLE;
    }
}

static const char *rate_desc(void *self)
{
    return ((const struct rate *)self)->desc;
}

static const stitch_sampler_ops_t rate_ops = {rate_should, rate_desc, NULL};

stitch_sampler_t *stitch_sampler_rate_limiting(double tps)
{
    if (!(tps >= 0.0)) {
        stitch__log(STITCH_LOG_WARN, "rate limiting sampler: rate %g is negative or NaN; using 0",
                    tps);
        tps = 0.0;
    }
    if (tps > 1e9)
        tps = 1e9; /* one per ns: effectively unlimited */
    struct rate *r = malloc(sizeof *r);
    if (!r)
        return NULL;
    r->base.ops = &rate_ops;
    r->base.self = r;
    atomic_init(&r->tat, 0);
    if (tps > 0.0) {
        double interval = 1e9 / tps;
        r->interval_ns = interval < 1.0 ? 1 : (uint64_t)(interval + 0.5);
        double burst = tps < 1.0 ? 1.0 : tps;
        r->burst_ns = (uint64_t)(burst * (double)r->interval_ns + 0.5);
    } else {
        r->interval_ns = 0;
        r->burst_ns = 0;
    }
    snprintf(r->desc, sizeof r->desc, "RateLimitingSampler{%.2f}", tps); /* <= 34 chars */
    return &r->base;
}
