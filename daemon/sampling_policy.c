/* daemon/sampling_policy.c — what the tail-sampling policies answer: the
 * per-span predicates (evaluated once per span as it arrives, kept as bits
 * of the trace's mask) and the trace-level decision, with the Collector's
 * rule for combining policies: a `drop` match drops the trace, an inverted
 * match (InvertNotSampled) vetoes it, otherwise any Sampled or
 * InvertSampled keeps it.
 *
 * The probabilistic policy without hash_salt uses the SDK's consistent
 * TraceIdRatioBased rule (include/stitch/sampler.h): randomness = the `rv`
 * of an `ot=` tracestate member when a span carried one, else the trace
 * id's low 56 bits; keep when randomness >= 2^56 - round(p * 2^56). So a
 * trace the SDK sampled at ratio r is kept here at any percentage >= 100 r,
 * and every instance decides the same trace the same way. */
#include <stdlib.h>
#include <string.h>

#include "daemon/sampling.h"
#include "stitch/propagation.h"
#include "stitch/sampler.h"

/* ---- per-span predicates ------------------------------------------------------- */

static const stitch_value_t *find_attr(const stitch_span_data_t *s, const char *key)
{
    for (uint32_t i = 0; i < s->nattrs; i++)
        if (s->attrs[i].key && !strcmp(s->attrs[i].key, key))
            return &s->attrs[i].value;
    for (uint32_t i = 0; i < s->nresource; i++)
        if (s->resource[i].key && !strcmp(s->resource[i].key, key))
            return &s->resource[i].value;
    return NULL;
}

static bool str_matches(const sp_policy_t *p, const char *v, size_t len)
{
    if (!p->re) {
        for (size_t i = 0; i < p->nvalues; i++)
            if (strlen(p->values[i]) == len && !memcmp(p->values[i], v, len))
                return true;
        return false;
    }
    /* regexec needs a NUL-terminated string; decoded values usually are,
     * but the record does not promise it */
    char small[512];
    char *z = len < sizeof small ? small : malloc(len + 1);
    if (!z)
        return false;
    memcpy(z, v, len);
    z[len] = 0;
    bool m = false;
    for (size_t i = 0; i < p->nvalues && !m; i++)
        m = regexec(&p->re[i], z, 0, NULL, 0) == 0;
    if (z != small)
        free(z);
    return m;
}

static bool span_matches(const sp_policy_t *p, const stitch_span_data_t *s)
{
    const stitch_value_t *v;
    switch (p->type) {
    case SP_STATUS_CODE:
        return (unsigned)s->status < 3 && (p->status_mask >> (unsigned)s->status & 1u);
    case SP_STRING_ATTRIBUTE:
        v = find_attr(s, p->key);
        return v && v->type == STITCH_VALUE_STRING && v->u.str && str_matches(p, v->u.str, v->len);
    case SP_NUMERIC_ATTRIBUTE:
        v = find_attr(s, p->key);
        if (!v)
            return false;
        if (v->type == STITCH_VALUE_INT)
            return v->u.i >= p->min_value && v->u.i <= p->max_value;
        if (v->type == STITCH_VALUE_DOUBLE)
            return v->u.d >= (double)p->min_value && v->u.d <= (double)p->max_value;
        return false;
    case SP_BOOLEAN_ATTRIBUTE:
        v = find_attr(s, p->key);
        return v && v->type == STITCH_VALUE_BOOL && v->u.b == p->bool_value;
    case SP_TRACE_STATE: {
        if (!s->tracestate)
            return false;
        size_t len = 0;
        const char *tv = stitch_tracestate_get(s->tracestate, p->key, &len);
        if (!tv)
            return false;
        for (size_t i = 0; i < p->nvalues; i++)
            if (strlen(p->values[i]) == len && !memcmp(p->values[i], tv, len))
                return true;
        return false;
    }
    default:
        return false;
    }
}

static uint64_t mask_of(const sp_policy_t *ps, size_t n, const stitch_span_data_t *s)
{
    uint64_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const sp_policy_t *p = &ps[i];
        if (p->bit >= 0 && span_matches(p, s))
            m |= 1ull << p->bit;
        if (p->nsubs)
            m |= mask_of(p->subs, p->nsubs, s);
    }
    return m;
}

uint64_t sampling_span_mask(const sampling_cfg_t *c, const stitch_span_data_t *s)
{
    return c->npredicates ? mask_of(c->policies, c->npolicies, s) : 0;
}

void sampling_summary_add(sp_summary_t *t, const stitch_span_data_t *s, uint64_t mask)
{
    if (!t->nspans || s->start_ns < t->min_start_ns)
        t->min_start_ns = s->start_ns;
    if (!t->nspans || s->end_ns > t->max_end_ns)
        t->max_end_ns = s->end_ns;
    t->nspans++;
    t->mask |= mask;
    if (!t->has_rv && s->tracestate)
        t->has_rv = stitch_tracestate_randomness(s->tracestate, &t->rv);
}

/* ---- trace-level decision ---------------------------------------------------------- */

static void window(sp_policy_t *p, uint64_t now_s)
{
    if (p->win_sec != now_s) {
        p->win_sec = now_s;
        p->win_spent = 0;
    }
}

static uint64_t salted_randomness(const char *salt, const uint8_t tid[16])
{
    uint64_t h = 14695981039346656037ull;
    for (const char *c = salt; *c; c++)
        h = (h ^ (uint8_t)*c) * 1099511628211ull;
    for (int i = 0; i < 16; i++)
        h = (h ^ tid[i]) * 1099511628211ull;
    return h >> 8; /* 56 bits, compared like the trace id's */
}

static sp_decision_t eval(sp_policy_t *p, const sp_summary_t *t, uint64_t now_s)
{
    bool m = p->bit >= 0 && (t->mask >> p->bit & 1u);
    switch (p->type) {
    case SP_ALWAYS_SAMPLE:
        return SP_SAMPLED;
    case SP_LATENCY: {
        uint64_t d = t->max_end_ns > t->min_start_ns ? t->max_end_ns - t->min_start_ns : 0;
        return d >= p->lat_lo_ns && (!p->lat_hi_ns || d <= p->lat_hi_ns) ? SP_SAMPLED
                                                                         : SP_NOT_SAMPLED;
    }
    case SP_STRING_ATTRIBUTE:
    case SP_NUMERIC_ATTRIBUTE:
    case SP_BOOLEAN_ATTRIBUTE:
        if (p->invert)
            return m ? SP_INVERT_NOT_SAMPLED : SP_INVERT_SAMPLED;
        return m ? SP_SAMPLED : SP_NOT_SAMPLED;
    case SP_STATUS_CODE:
    case SP_TRACE_STATE:
        return m ? SP_SAMPLED : SP_NOT_SAMPLED;
    case SP_PROBABILISTIC: {
        uint64_t r = p->salt ? salted_randomness(p->salt, t->trace_id)
                     : t->has_rv ? t->rv
                                 : stitch_trace_id_randomness(t->trace_id);
        return r >= p->prob_threshold ? SP_SAMPLED : SP_NOT_SAMPLED;
    }
    case SP_RATE_LIMITING:
        window(p, now_s);
        if (p->win_spent + t->nspans > p->spans_per_second)
            return SP_NOT_SAMPLED;
        p->win_spent += t->nspans;
        return SP_SAMPLED;
    case SP_SPAN_COUNT:
        return t->nspans >= p->min_spans && (!p->max_spans || t->nspans <= p->max_spans)
                   ? SP_SAMPLED
                   : SP_NOT_SAMPLED;
    case SP_AND:
        for (size_t i = 0; i < p->nsubs; i++) {
            sp_decision_t d = eval(&p->subs[i], t, now_s);
            if (d != SP_SAMPLED && d != SP_INVERT_SAMPLED)
                return SP_NOT_SAMPLED;
        }
        return SP_SAMPLED;
    case SP_DROP:
        for (size_t i = 0; i < p->nsubs; i++) {
            sp_decision_t d = eval(&p->subs[i], t, now_s);
            if (d != SP_SAMPLED && d != SP_INVERT_SAMPLED)
                return SP_NOT_SAMPLED;
        }
        return SP_DROPPED;
    case SP_COMPOSITE:
        window(p, now_s);
        for (size_t i = 0; i < p->nsubs; i++) {
            sp_policy_t *s = &p->subs[i];
            /* the sub-policy's own rate state is its allocation, kept apart
             * from a rate_limiting sub-policy's window */
            sp_decision_t d = s->type == SP_RATE_LIMITING ? SP_SAMPLED : eval(s, t, now_s);
            if (d != SP_SAMPLED && d != SP_INVERT_SAMPLED)
                continue;
            window(s, now_s);
            if (s->win_spent + t->nspans <= s->spans_per_second &&
                p->win_spent + t->nspans <= p->max_total_sps) {
                s->win_spent += t->nspans;
                p->win_spent += t->nspans;
                return SP_SAMPLED;
            }
        }
        return SP_NOT_SAMPLED;
    default:
        return SP_NOT_SAMPLED;
    }
}

bool sampling_decide(sampling_cfg_t *c, const sp_summary_t *t, uint64_t now_s)
{
    bool dropped = false, vetoed = false, kept = false;
    for (size_t i = 0; i < c->npolicies; i++) {
        sp_decision_t d = eval(&c->policies[i], t, now_s);
        atomic_fetch_add_explicit(&c->policies[i].count[d], 1, memory_order_relaxed);
        if (d == SP_DROPPED)
            dropped = true;
        else if (d == SP_INVERT_NOT_SAMPLED)
            vetoed = true;
        else if (d == SP_SAMPLED || d == SP_INVERT_SAMPLED)
            kept = true;
        /* sample_on_first_match: policies after the first that samples are
         * not evaluated (nor can they veto), as in the Collector */
        if (c->first_match && d == SP_SAMPLED && !dropped && !vetoed)
            return true;
    }
    return kept && !vetoed && !dropped;
}
