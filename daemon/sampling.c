/* daemon/sampling.c — the tail sampler's memory: spans held per trace until
 * decision_wait after the trace's first span, the deciding thread, and the
 * decision cache that sends late spans after their trace's decision.
 *
 * Invariants:
 *  - at most cfg->num_traces traces are held (and, when cfg->max_bytes is
 *    set, at most that many bytes of held spans): admitting one more decides
 *    the oldest at once ("early decision", counted) — memory never grows
 *    without bound, and nothing waits for room;
 *  - held traces form one FIFO list in order of their first span, which is
 *    also the order of their deadlines (decision_wait is one constant), so
 *    the thread only ever looks at the head;
 *  - a trace is decided exactly once while held; its decision goes into the
 *    cache (kept or dropped, each bounded) before its spans are delivered,
 *    so a late span that arrives after the decision follows it;
 *  - spans are delivered outside the lock (delivery may block on the store).
 * The spans were acknowledged to the client on arrival, as with the
 * Collector; those of a kept trace that cannot be delivered after retries
 * are counted as lost (stitchd_tail_sampling_spans_lost_total). */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/textbuf.h"
#include "daemon/log.h"
#include "daemon/sampling.h"
#include "wire/decode.h"
#include "wire/wire.h"

typedef struct held {
    struct held *hnext;       /* hash chain */
    struct held *prev, *next; /* FIFO, oldest first */
    uint64_t deadline_ns;     /* CLOCK_MONOTONIC */
    bool keep;                /* the decision, once unlinked and decided */
    sp_summary_t sum;
    stitch_buf_t buf;         /* the spans, as concatenated OTLP protobuf requests */
} held_t;

/* A bounded set of decided trace ids: 4-way set-associative, the oldest
 * way of a set replaced; an all-zero id (invalid in OTLP) marks a free way. */
typedef struct dcache {
    uint8_t (*ids)[16];
    uint8_t *victim; /* per set: the way to replace next */
    size_t nsets;    /* power of two; 0 = the cache is off */
} dcache_t;

#define WAYS 4

struct sampler {
    sampling_cfg_t *cfg;
    sampler_sink_fn sink;
    void *arg;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t th;
    bool started, stop;
    held_t **tab;
    size_t tabmask;
    held_t *head, *tail;
    uint64_t nheld, held_bytes, held_spans;
    dcache_t kept, dropped;
    /* counters (metrics) */
    _Atomic uint64_t traces[2], spans[2], late[2], early, lost;
};

#define ADD(x, n) atomic_fetch_add_explicit(&(x), (n), memory_order_relaxed)
#define GET(x) atomic_load_explicit(&(x), memory_order_relaxed)

static uint64_t mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static uint64_t real_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (uint64_t)t.tv_sec;
}

/* Both halves of the id, mixed: 64-bit (Zipkin) ids have a zero high half,
 * and ids need not be random at all. */
static uint64_t tid_hash(const uint8_t id[16])
{
    uint64_t a, b;
    memcpy(&a, id, 8);
    memcpy(&b, id + 8, 8);
    uint64_t z = a * 0x9e3779b97f4a7c15ull ^ b;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static size_t pow2_at_least(uint64_t n, size_t cap)
{
    size_t p = 1;
    while (p < n && p < cap)
        p <<= 1;
    return p;
}

/* ---- decision cache ------------------------------------------------------------- */

static int dcache_init(dcache_t *c, uint64_t entries)
{
    memset(c, 0, sizeof *c);
    if (!entries)
        return 0;
    c->nsets = pow2_at_least((entries + WAYS - 1) / WAYS, (size_t)1 << 24);
    c->ids = calloc(c->nsets * WAYS, sizeof *c->ids);
    c->victim = calloc(c->nsets, 1);
    return c->ids && c->victim ? 0 : -1;
}

static void dcache_free(dcache_t *c)
{
    free(c->ids);
    free(c->victim);
}

static bool dcache_has(const dcache_t *c, const uint8_t id[16], uint64_t h)
{
    if (!c->nsets)
        return false;
    const uint8_t(*set)[16] = c->ids + (h & (c->nsets - 1)) * WAYS;
    for (int w = 0; w < WAYS; w++)
        if (!memcmp(set[w], id, 16))
            return true;
    return false;
}

static void dcache_put(dcache_t *c, const uint8_t id[16], uint64_t h)
{
    if (!c->nsets || dcache_has(c, id, h))
        return;
    size_t s = h & (c->nsets - 1);
    memcpy(c->ids[s * WAYS + c->victim[s]], id, 16);
    c->victim[s] = (uint8_t)((c->victim[s] + 1) % WAYS);
}

/* ---- held traces (under mu) --------------------------------------------------------- */

static uint64_t held_cost(const held_t *h) { return sizeof *h + h->buf.cap; }

static held_t *held_find(sampler_t *s, const uint8_t id[16], uint64_t h)
{
    for (held_t *t = s->tab[h & s->tabmask]; t; t = t->hnext)
        if (!memcmp(t->sum.trace_id, id, 16))
            return t;
    return NULL;
}

static void held_unlink(sampler_t *s, held_t *t)
{
    held_t **pp = &s->tab[tid_hash(t->sum.trace_id) & s->tabmask];
    while (*pp != t)
        pp = &(*pp)->hnext;
    *pp = t->hnext;
    if (t->prev)
        t->prev->next = t->next;
    else
        s->head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    else
        s->tail = t->prev;
    t->prev = t->next = t->hnext = NULL;
    s->nheld--;
    s->held_bytes -= held_cost(t);
    s->held_spans -= t->sum.nspans;
}

/* Decide a trace that has been unlinked; record the decision. true = keep. */
static bool decide(sampler_t *s, held_t *t)
{
    bool keep = sampling_decide(s->cfg, &t->sum, real_s());
    uint64_t h = tid_hash(t->sum.trace_id);
    dcache_put(keep ? &s->kept : &s->dropped, t->sum.trace_id, h);
    ADD(s->traces[keep], 1);
    ADD(s->spans[keep], t->sum.nspans);
    return keep;
}

static void held_free(held_t *t)
{
    stitch_buf_free(&t->buf);
    free(t);
}

/* ---- delivery (outside mu) ------------------------------------------------------------ */

/* Give spans to the sink; when it is busy (store queue full, forwarder
 * buffer full) try again for up to `patience_ms`, then count them lost. */
static void deliver(sampler_t *s, const stitch_span_data_t *const *spans, size_t n,
                    unsigned patience_ms)
{
    if (!n)
        return;
    unsigned waited = 0;
    for (;;) {
        int rc = s->sink(s->arg, spans, n);
        if (!rc)
            return;
        if (waited >= patience_ms || rc == STITCH_EINVAL) {
            ADD(s->lost, n);
            st_log(ST_LOG_WARN, "tail", "kept spans could not be delivered", "spans=%zu error=\"%s\"",
                   n, stitch_strerror(rc));
            return;
        }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
        waited += 50;
    }
}

/* Decode a kept trace's spans back into records and deliver them. */
static void deliver_held(sampler_t *s, held_t *t, stitch_wire_batch_t *b, unsigned patience_ms)
{
    stitch_wire_batch_reset(b);
    int rc = stitch_wire_otlp_proto_decode(b, t->buf.data, t->buf.len, NULL);
    if (rc < 0) {
        ADD(s->lost, t->sum.nspans);
        st_log(ST_LOG_ERROR, "tail", "held spans do not decode", "error=\"%s\"", stitch_strerror(rc));
        return;
    }
    const stitch_span_data_t **p = malloc((b->nspans ? b->nspans : 1) * sizeof *p);
    if (!p) {
        ADD(s->lost, b->nspans);
        return;
    }
    for (size_t i = 0; i < b->nspans; i++)
        p[i] = &b->spans[i];
    deliver(s, p, b->nspans, patience_ms);
    free(p);
}

/* Deliver (kept) and free a list of decided traces linked by `next`. */
static void finish(sampler_t *s, held_t *list, stitch_wire_batch_t *b, unsigned patience_ms)
{
    while (list) {
        held_t *n = list->next;
        if (list->keep)
            deliver_held(s, list, b, patience_ms);
        held_free(list);
        list = n;
    }
}

/* Unlink the oldest held trace, decide it, and push it on *out. */
static void pop_decide(sampler_t *s, held_t **out)
{
    held_t *t = s->head;
    held_unlink(s, t);
    t->keep = decide(s, t);
    t->next = *out; /* a private list now, linked by `next` only */
    *out = t;
}

static void *run(void *arg)
{
    sampler_t *s = arg;
    stitch_wire_batch_t b;
    stitch_wire_batch_init(&b, 0);
    pthread_mutex_lock(&s->mu);
    for (;;) {
        uint64_t now = mono_ns();
        held_t *due = NULL;
        while (s->head && (s->stop || s->head->deadline_ns <= now))
            pop_decide(s, &due);
        if (due) {
            pthread_mutex_unlock(&s->mu);
            finish(s, due, &b, s->stop ? 1000 : 5000);
            pthread_mutex_lock(&s->mu);
            continue;
        }
        if (s->stop)
            break;
        uint64_t until = s->head ? s->head->deadline_ns : now + 1000000000ull;
        struct timespec ts = {(time_t)(until / 1000000000ull), (long)(until % 1000000000ull)};
        pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    }
    pthread_mutex_unlock(&s->mu);
    stitch_wire_batch_free(&b);
    return NULL;
}

/* ---- the public side -------------------------------------------------------------- */

int sampler_new(sampler_t **out, sampling_cfg_t *cfg, sampler_sink_fn sink, void *arg)
{
    sampler_t *s = calloc(1, sizeof *s);
    if (!s) {
        sampling_cfg_free(cfg);
        return -1;
    }
    s->cfg = cfg;
    s->sink = sink;
    s->arg = arg;
    size_t nb = pow2_at_least(cfg->num_traces, (size_t)1 << 22);
    s->tab = calloc(nb, sizeof *s->tab);
    s->tabmask = nb - 1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (!s->tab || dcache_init(&s->kept, cfg->sampled_cache) ||
        dcache_init(&s->dropped, cfg->non_sampled_cache) ||
        pthread_create(&s->th, NULL, run, s)) {
        sampler_free(s);
        return -1;
    }
    s->started = true;
    *out = s;
    return 0;
}

void sampler_free(sampler_t *s)
{
    if (!s)
        return;
    if (s->started) {
        pthread_mutex_lock(&s->mu);
        s->stop = true;
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->th, NULL);
    }
    while (s->head) { /* only when the thread never started */
        held_t *t = s->head;
        held_unlink(s, t);
        held_free(t);
    }
    dcache_free(&s->kept);
    dcache_free(&s->dropped);
    free(s->tab);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    sampling_cfg_free(s->cfg);
    free(s);
}

static int by_trace(const void *a, const void *b)
{
    const stitch_span_data_t *x = *(const stitch_span_data_t *const *)a;
    const stitch_span_data_t *y = *(const stitch_span_data_t *const *)b;
    return memcmp(x->ctx.trace_id, y->ctx.trace_id, 16);
}

/* One trace's spans of this request, prepared outside the lock. */
typedef struct run_ {
    size_t first, n;
    sp_summary_t sum;
    stitch_buf_t buf;
} run_t;

int sampler_add(sampler_t *s, const stitch_span_data_t *const *spans, size_t n)
{
    if (!n)
        return 0;
    const stitch_span_data_t **v = malloc(n * sizeof *v);
    if (!v)
        return STITCH_ENOMEM;
    memcpy(v, spans, n * sizeof *v);
    qsort(v, n, sizeof *v, by_trace);
    size_t nruns = 0;
    for (size_t i = 0; i < n; i++)
        if (!i || memcmp(v[i]->ctx.trace_id, v[i - 1]->ctx.trace_id, 16))
            nruns++;
    run_t *runs = calloc(nruns, sizeof *runs);
    const stitch_span_data_t **late = malloc(n * sizeof *late);
    if (!runs || !late) {
        free(v);
        free(runs);
        free(late);
        return STITCH_ENOMEM;
    }
    int rc = 0;
    /* outside the lock: predicates, summaries, encoding */
    for (size_t i = 0, r = 0; i < n; r++) {
        size_t j = i + 1;
        while (j < n && !memcmp(v[j]->ctx.trace_id, v[i]->ctx.trace_id, 16))
            j++;
        run_t *ru = &runs[r];
        ru->first = i;
        ru->n = j - i;
        memcpy(ru->sum.trace_id, v[i]->ctx.trace_id, 16);
        for (size_t k = i; k < j; k++)
            sampling_summary_add(&ru->sum, v[k], sampling_span_mask(s->cfg, v[k]));
        ru->buf = (stitch_buf_t)STITCH_BUF_INIT(0);
        if (!rc)
            rc = stitch_wire_otlp_proto_encode(v + i, j - i, &ru->buf);
        i = j;
    }
    if (rc)
        goto out;

    size_t nlate = 0;
    uint64_t late_dropped = 0;
    held_t *early = NULL;
    uint64_t now = mono_ns();
    pthread_mutex_lock(&s->mu);
    for (size_t r = 0; r < nruns; r++) {
        run_t *ru = &runs[r];
        uint64_t h = tid_hash(ru->sum.trace_id);
        held_t *t = held_find(s, ru->sum.trace_id, h);
        if (!t) {
            if (dcache_has(&s->kept, ru->sum.trace_id, h)) {
                for (size_t k = 0; k < ru->n; k++)
                    late[nlate++] = v[ru->first + k];
                continue;
            }
            if (dcache_has(&s->dropped, ru->sum.trace_id, h)) {
                late_dropped += ru->n;
                continue;
            }
            t = calloc(1, sizeof *t);
            if (!t) {
                rc = STITCH_ENOMEM;
                break;
            }
            t->sum = ru->sum;
            t->buf = ru->buf; /* moved */
            ru->buf = (stitch_buf_t)STITCH_BUF_INIT(0);
            t->deadline_ns = now + s->cfg->decision_wait_ns;
            t->hnext = s->tab[h & s->tabmask];
            s->tab[h & s->tabmask] = t;
            t->prev = s->tail;
            if (s->tail)
                s->tail->next = t;
            else
                s->head = t;
            s->tail = t;
            s->nheld++;
            s->held_bytes += held_cost(t);
            s->held_spans += t->sum.nspans;
            if (s->head == t)
                pthread_cond_signal(&s->cv);
        } else {
            s->held_bytes -= held_cost(t);
            s->held_spans -= t->sum.nspans;
            int arc = stitch_buf_append(&t->buf, ru->buf.data, ru->buf.len);
            if (!arc) {
                sp_summary_t *m = &t->sum;
                if (ru->sum.min_start_ns < m->min_start_ns)
                    m->min_start_ns = ru->sum.min_start_ns;
                if (ru->sum.max_end_ns > m->max_end_ns)
                    m->max_end_ns = ru->sum.max_end_ns;
                m->nspans += ru->sum.nspans;
                m->mask |= ru->sum.mask;
                if (!m->has_rv && ru->sum.has_rv) {
                    m->has_rv = true;
                    m->rv = ru->sum.rv;
                }
            }
            s->held_bytes += held_cost(t);
            s->held_spans += t->sum.nspans;
            if (arc) {
                rc = arc;
                break;
            }
        }
        /* the bound: decide the oldest now rather than grow */
        while (s->head && (s->nheld > s->cfg->num_traces ||
                           (s->cfg->max_bytes && s->held_bytes > s->cfg->max_bytes && s->nheld > 1))) {
            ADD(s->early, 1);
            pop_decide(s, &early);
        }
    }
    pthread_mutex_unlock(&s->mu);
    if (late_dropped)
        ADD(s->late[0], late_dropped);
    if (nlate) {
        ADD(s->late[1], nlate);
        deliver(s, late, nlate, 2000);
    }
    if (early) {
        stitch_wire_batch_t b;
        stitch_wire_batch_init(&b, 0);
        finish(s, early, &b, 2000);
        stitch_wire_batch_free(&b);
    }
out:
    for (size_t r = 0; r < nruns; r++)
        stitch_buf_free(&runs[r].buf);
    free(runs);
    free(late);
    free(v);
    return rc;
}

/* ---- metrics -------------------------------------------------------------------------- */



/* Label values are policy names from the config: escape \ " and newline. */
static const char *esc(const char *s, char *buf, size_t n)
{
    size_t o = 0;
    for (; *s && o + 3 < n; s++) {
        if (*s == '\\' || *s == '"') {
            buf[o++] = '\\';
            buf[o++] = *s;
        } else if (*s == '\n') {
            buf[o++] = '\\';
            buf[o++] = 'n';
        } else {
            buf[o++] = *s;
        }
    }
    buf[o] = 0;
    return buf;
}

char *sampler_metrics(sampler_t *s)
{
    st_text_t o = {0};
    static const char *const kd[2] = {"dropped", "kept"};
    st_text_metric_head(&o, "stitchd_tail_sampling_traces_total", "counter",
         "Traces decided by tail sampling, by the final decision.");
    for (int k = 0; k < 2; k++)
        st_text_printf(&o, "stitchd_tail_sampling_traces_total{decision=\"%s\"} %" PRIu64 "\n", kd[k],
            GET(s->traces[k]));
    st_text_metric_head(&o, "stitchd_tail_sampling_spans_total", "counter",
         "Spans of decided traces, by the final decision (late spans not included).");
    for (int k = 0; k < 2; k++)
        st_text_printf(&o, "stitchd_tail_sampling_spans_total{decision=\"%s\"} %" PRIu64 "\n", kd[k],
            GET(s->spans[k]));
    st_text_metric_head(&o, "stitchd_tail_sampling_policy_decisions_total", "counter",
         "Traces by each top-level policy's own answer (a trace counts once per policy).");
    for (size_t i = 0; i < s->cfg->npolicies; i++) {
        char nb[300];
        esc(s->cfg->policies[i].name, nb, sizeof nb);
        for (int d = 0; d < SP_DECISION_N; d++)
            st_text_printf(&o,
                "stitchd_tail_sampling_policy_decisions_total{policy=\"%s\",type=\"%s\","
                "decision=\"%s\"} %" PRIu64 "\n",
                nb, sp_type_name(s->cfg->policies[i].type), sp_decision_name((sp_decision_t)d),
                GET(s->cfg->policies[i].count[d]));
    }
    st_text_metric_head(&o, "stitchd_tail_sampling_late_spans_total", "counter",
         "Spans that arrived after their trace was decided and followed the cached decision.");
    for (int k = 0; k < 2; k++)
        st_text_printf(&o, "stitchd_tail_sampling_late_spans_total{decision=\"%s\"} %" PRIu64 "\n", kd[k],
            GET(s->late[k]));
    st_text_metric_head(&o, "stitchd_tail_sampling_early_decisions_total", "counter",
         "Traces decided before decision_wait because num_traces (or --sampling-max-memory) was reached.");
    st_text_printf(&o, "stitchd_tail_sampling_early_decisions_total %" PRIu64 "\n", GET(s->early));
    st_text_metric_head(&o, "stitchd_tail_sampling_spans_lost_total", "counter",
         "Spans of kept traces that could not be delivered (store or forwarder full) after retries.");
    st_text_printf(&o, "stitchd_tail_sampling_spans_lost_total %" PRIu64 "\n", GET(s->lost));
    pthread_mutex_lock(&s->mu);
    uint64_t nh = s->nheld, hs = s->held_spans, hb = s->held_bytes;
    pthread_mutex_unlock(&s->mu);
    st_text_metric_head(&o, "stitchd_tail_sampling_traces_held", "gauge", "Traces waiting for their decision.");
    st_text_printf(&o, "stitchd_tail_sampling_traces_held %" PRIu64 "\n", nh);
    st_text_metric_head(&o, "stitchd_tail_sampling_spans_held", "gauge", "Spans waiting for their trace's decision.");
    st_text_printf(&o, "stitchd_tail_sampling_spans_held %" PRIu64 "\n", hs);
    st_text_metric_head(&o, "stitchd_tail_sampling_bytes_held", "gauge",
         "Memory the held traces take (summaries and encoded spans).");
    st_text_printf(&o, "stitchd_tail_sampling_bytes_held %" PRIu64 "\n", hb);
    st_text_metric_head(&o, "stitchd_tail_sampling_num_traces", "gauge", "The num_traces setting.");
    st_text_printf(&o, "stitchd_tail_sampling_num_traces %" PRIu64 "\n", s->cfg->num_traces);
    if (o.oom) {
        free(o.p);
        return NULL;
    }
    return o.p ? o.p : calloc(1, 1);
}
