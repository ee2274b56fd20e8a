/* daemon/sampling.h — tail sampling in stitchd, configured with the
 * OpenTelemetry Collector's `tail_sampling:` schema (docs/sampling.md).
 *
 * Three parts, one file each:
 *   sampling_config.c  the YAML section → a policy tree (errors name the line)
 *   sampling_policy.c  per-span predicates and the trace-level decision
 *   sampling.c         the per-trace buffer (decision_wait, num_traces),
 *                      the decision cache for late spans, the deciding thread
 *
 * How a trace is decided without keeping its spans decoded: when a span
 * arrives, every attribute-like policy (status_code, string_attribute,
 * numeric_attribute, boolean_attribute, trace_state) is evaluated on it at
 * once and the answer kept as one bit of the trace's `mask` (OR over its
 * spans); latency, span_count and probabilistic need only the trace's
 * earliest start, latest end, span count and trace id. So a held trace is
 * a small summary plus its spans re-encoded as OTLP protobuf (concatenated
 * ExportTraceServiceRequests are one valid request), ~1/8 of their decoded
 * size. Nothing outside daemon/ includes this header. */
#ifndef STITCHD_SAMPLING_H
#define STITCHD_SAMPLING_H

#include <regex.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stitch/trace.h"

/* ---- the policy tree (sampling_config.c builds it) ---------------------------- */

typedef enum sp_type {
    SP_ALWAYS_SAMPLE,
    SP_LATENCY,
    SP_NUMERIC_ATTRIBUTE,
    SP_PROBABILISTIC,
    SP_STATUS_CODE,
    SP_STRING_ATTRIBUTE,
    SP_BOOLEAN_ATTRIBUTE,
    SP_RATE_LIMITING,
    SP_SPAN_COUNT,
    SP_TRACE_STATE,
    SP_AND,
    SP_DROP,
    SP_COMPOSITE,
    SP_TYPE_N
} sp_type_t;

/* A policy's answer, as the Collector names them. */
typedef enum sp_decision {
    SP_NOT_SAMPLED = 0,
    SP_SAMPLED,
    SP_INVERT_SAMPLED,     /* an invert_match policy whose value was absent */
    SP_INVERT_NOT_SAMPLED, /* an invert_match policy whose value was present: wins */
    SP_DROPPED,            /* a drop policy matched: wins over everything */
    SP_DECISION_N
} sp_decision_t;

/* The most span predicates (leaf policies of the attribute kinds, nested
 * ones included) one configuration may hold: they are the bits of a mask. */
#define SP_MAX_PREDICATES 64

typedef struct sp_policy {
    char *name;
    sp_type_t type;
    int bit; /* the span predicate's bit, -1 for policies decided on the summary */
    /* string_attribute, numeric_attribute, boolean_attribute, trace_state */
    char *key;
    char **values;
    size_t nvalues;
    regex_t *re; /* nvalues compiled patterns with enabled_regex_matching */
    bool invert;
    int64_t min_value, max_value;
    bool bool_value;
    uint32_t status_mask; /* bit (1 << code): UNSET 0, OK 1, ERROR 2 */
    uint64_t lat_lo_ns, lat_hi_ns; /* latency: hi 0 = no upper bound */
    double percentage;             /* probabilistic */
    uint64_t prob_threshold;       /* keep when randomness >= this (the SDK's rule) */
    char *salt;                    /* hash_salt: FNV-1a like the Collector instead */
    uint64_t spans_per_second;     /* rate_limiting; composite: its allocation */
    uint64_t min_spans, max_spans; /* span_count: max 0 = no upper bound */
    struct sp_policy *subs;        /* and, drop, composite */
    size_t nsubs;
    uint64_t max_total_sps;        /* composite */
    /* rate state (under the sampler's lock): the current second and what
     * it spent */
    uint64_t win_sec, win_spent;
    /* per top-level policy: traces by this policy's answer (metrics) */
    _Atomic uint64_t count[SP_DECISION_N];
} sp_policy_t;

typedef struct sampling_cfg {
    uint64_t decision_wait_ns;  /* default 30s */
    uint64_t num_traces;        /* default 50000 */
    uint64_t sampled_cache;     /* decision_cache.sampled_cache_size; default num_traces */
    uint64_t non_sampled_cache; /* decision_cache.non_sampled_cache_size; default num_traces */
    uint64_t max_bytes;         /* not in the schema: --sampling-max-memory (0 = no cap) */
    bool first_match;           /* sample_on_first_match: the first Sampled policy decides */
    sp_policy_t *policies;
    size_t npolicies;
    int npredicates;
} sampling_cfg_t;

/* ---- sampling_config.c ----------------------------------------------------------- */

struct yaml_document_s;
struct yaml_node_s;

/* Build the configuration from the value node of `tail_sampling:` in a
 * loaded YAML document. 0 and *out (free with sampling_cfg_free), or -1
 * with a message naming `file` and the line in err. Unknown keys, unknown
 * policy types, missing or ill-typed values are errors. */
int sampling_cfg_from_node(sampling_cfg_t **out, struct yaml_document_s *doc,
                           struct yaml_node_s *node, const char *file, char *err, size_t errlen);
/* The same from a YAML text whose top level holds `tail_sampling:` (and
 * nothing else); for tests and tools. */
int sampling_cfg_from_text(sampling_cfg_t **out, const char *text, size_t len, const char *file,
                           char *err, size_t errlen);
void sampling_cfg_free(sampling_cfg_t *c);
const char *sp_type_name(sp_type_t t);
const char *sp_decision_name(sp_decision_t d);

/* ---- sampling_policy.c -------------------------------------------------------------- */

/* What a trace's decision needs, kept up to date as its spans arrive. */
typedef struct sp_summary {
    uint8_t trace_id[16];
    uint64_t mask;            /* predicates some span matched */
    uint64_t min_start_ns, max_end_ns;
    uint64_t nspans;
    bool has_rv;              /* an `ot=...;rv:` randomness seen in a tracestate */
    uint64_t rv;
} sp_summary_t;

/* The predicates `s` matches (a bit per predicate policy). Thread-safe:
 * reads the configuration only. */
uint64_t sampling_span_mask(const sampling_cfg_t *c, const stitch_span_data_t *s);
/* Fold span `s` (with its mask) into a trace summary. */
void sampling_summary_add(sp_summary_t *t, const stitch_span_data_t *s, uint64_t mask);
/* Decide a trace: true = keep. Updates the rate-limiting windows (`now_s`
 * is the current second) and the per-policy counters; the caller
 * serialises calls (the sampler's lock). */
bool sampling_decide(sampling_cfg_t *c, const sp_summary_t *t, uint64_t now_s);

/* ---- sampling.c: the buffer, the cache, the thread ------------------------------------- */

typedef struct sampler sampler_t;

/* Where a decided trace's spans go: `spans` are borrowed for the call.
 * 0 = delivered; else a STITCH_E* code (the sampler retries a little, then
 * counts the spans as lost). */
typedef int (*sampler_sink_fn)(void *arg, const stitch_span_data_t *const *spans, size_t n);

/* Start the deciding thread. `cfg` becomes the sampler's. 0 or -1. */
int sampler_new(sampler_t **out, sampling_cfg_t *cfg, sampler_sink_fn sink, void *arg);
/* Take n spans (any mix of traces): held for their trace's decision, or —
 * for a trace already decided — delivered or dropped at once by the cache.
 * Spans are copied (re-encoded); the caller keeps its own. 0, or
 * STITCH_ENOMEM. May deliver traces decided early (num_traces reached) on
 * the calling thread. */
int sampler_add(sampler_t *s, const stitch_span_data_t *const *spans, size_t n);
/* Decide everything still held (as if decision_wait had passed), deliver,
 * stop the thread, free. NULL is fine. */
void sampler_free(sampler_t *s);
/* Append the sampler's metrics (Prometheus text) to a malloc'd string. */
char *sampler_metrics(sampler_t *s);

#endif
