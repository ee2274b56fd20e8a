/* stitch/sampler.h — head sampling: the decision, taken when a span starts,
 * whether to record it and whether to mark it sampled for everyone
 * downstream.
 *
 * Built-in samplers follow OpenTelemetry (always_on, always_off,
 * traceidratio, the parentbased_* family); stitch adds a rule sampler
 * (ordered rules on span name, kind and start attributes, e.g. "user.id ==
 * 42 → always record") and a rate-limiting sampler (at most N new traces per
 * second). A sampler is owned by whoever it is handed to (a provider, or a
 * composite sampler); free only the ones you still own. */
#ifndef STITCH_SAMPLER_H
#define STITCH_SAMPLER_H

#include "common.h"
#include "context.h"
#include "trace.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum stitch_decision {
    STITCH_DROP = 0,              /* not recorded, not sampled */
    STITCH_RECORD_ONLY = 1,       /* recorded (processors see it), not sampled */
    STITCH_RECORD_AND_SAMPLE = 2, /* recorded and sampled */
} stitch_decision_t;

/* What a sampler sees. All pointers are borrowed for the call. */
typedef struct stitch_sampling_params {
    const stitch_span_ctx_t *parent;        /* NULL for a root span */
    const stitch_tracestate_t *parent_tracestate; /* may be NULL */
    const uint8_t *trace_id;                /* 16 bytes: the parent's or a new one */
    const char *name;
    stitch_span_kind_t kind;
    const stitch_attr_t *attrs;
    size_t nattrs;
    const stitch_link_t *links;
    size_t nlinks;
} stitch_sampling_params_t;

typedef struct stitch_sampler_ops {
    /* Must be thread-safe and must not block. */
    stitch_decision_t (*should_sample)(void *self, const stitch_sampling_params_t *p);
    /* e.g. "ParentBased{root:TraceIdRatioBased{0.010000}}"; owned by the sampler. */
    const char *(*description)(void *self);
    void (*destroy)(void *self); /* may be NULL */
} stitch_sampler_ops_t;

/* Wrap a user sampler. `ops` must outlive it. NULL when out of memory. */
STITCH_EXTERN stitch_sampler_t *stitch_sampler_new(const stitch_sampler_ops_t *ops, void *self);
STITCH_EXTERN void stitch_sampler_free(stitch_sampler_t *s);
STITCH_EXTERN stitch_decision_t stitch_sampler_should_sample(stitch_sampler_t *s,
                                                             const stitch_sampling_params_t *p);
STITCH_EXTERN const char *stitch_sampler_description(stitch_sampler_t *s);

/* ---- built-in samplers ----------------------------------------------------
 *
 * Ownership: every constructor returns a sampler the caller owns (free it
 * with stitch_sampler_free, or hand it to a provider or a composite sampler,
 * which then owns it). Composite constructors (parent_based, rules) take
 * ownership of the samplers passed in *even when they fail*, so a failed
 * call leaks nothing. They return NULL only when out of memory, and when a
 * required input sampler is NULL (so an out-of-memory NULL from an inner
 * constructor propagates instead of being silently replaced).
 * stitch_sampler_free(NULL) is fine. */

/* RECORD_AND_SAMPLE always; "AlwaysOnSampler". A static object: never NULL,
 * free is a no-op. */
STITCH_EXTERN stitch_sampler_t *stitch_sampler_always_on(void);
/* DROP always; "AlwaysOffSampler". A static object: never NULL. */
STITCH_EXTERN stitch_sampler_t *stitch_sampler_always_off(void);

/* OpenTelemetry's consistent-probability TraceIdRatioBased sampler:
 *   randomness R = the `rv` sub-key of the `ot` tracestate member of the
 *                  parent (14 hex digits) when present, else the rightmost
 *                  56 bits of the trace id (bytes 9..15, big-endian);
 *   threshold  T = 2^56 - round(ratio * 2^56)   (see stitch_ratio_threshold)
 *   RECORD_AND_SAMPLE when R >= T, else DROP.
 * The same trace id gets the same answer in every process and every SDK that
 * follows the rule, and a trace sampled at ratio r is sampled at every ratio
 * >= r. The parent's sampled flag is ignored (wrap it in parent_based to
 * respect it). `ratio` is clamped to [0, 1] (NaN counts as 0) with a warning.
 * Description "TraceIdRatioBased{0.010000}". NULL only when out of memory. */
STITCH_EXTERN stitch_sampler_t *stitch_sampler_trace_id_ratio(double ratio);

/* The rejection threshold T for a ratio, in [0, 2^56]: 2^56 minus ratio*2^56
 * rounded half up (ratio*2^56 is exact in a double). Exposed so that other
 * components (stitchd's probabilistic tail policy) make the same decision. */
static inline uint64_t stitch_ratio_threshold(double ratio)
{
    if (!(ratio > 0.0)) /* also NaN */
        return (uint64_t)1 << 56;
    if (ratio >= 1.0)
        return 0;
    double scaled = ratio * 72057594037927936.0; /* 2^56, exact */
    uint64_t n = (uint64_t)scaled;
    if (scaled - (double)n >= 0.5)
        n++;
    return ((uint64_t)1 << 56) - n;
}
/* The trace id's randomness: its rightmost 56 bits as a big-endian number. */
static inline uint64_t stitch_trace_id_randomness(const uint8_t trace_id[16])
{
    uint64_t r = 0;
    for (int i = 9; i < 16; i++)
        r = r << 8 | trace_id[i];
    return r;
}
/* The explicit randomness of a tracestate: the `rv` sub-key (14 lower-case
 * hex digits) of its `ot` member, e.g. "th:8;rv:7479cfb506891d". true and
 * *out set when present and well-formed; ts may be NULL. */
STITCH_EXTERN bool stitch_tracestate_randomness(const stitch_tracestate_t *ts, uint64_t *out);

/* OpenTelemetry's ParentBased decorator: a span without a valid parent asks
 * `root`; one with a parent asks the delegate for its case. Delegates left
 * NULL take OpenTelemetry's defaults (sampled parent: always_on, unsampled
 * parent: always_off). The samplers given are owned by the result.
 * Description as the OpenTelemetry Go/Java/Python SDKs format it:
 * "ParentBased{root:X,remoteParentSampled:X,remoteParentNotSampled:X,
 *  localParentSampled:X,localParentNotSampled:X}" (one line). */
typedef struct stitch_parent_based_opts {
    stitch_sampler_t *remote_parent_sampled;     /* default always_on */
    stitch_sampler_t *remote_parent_not_sampled; /* default always_off */
    stitch_sampler_t *local_parent_sampled;      /* default always_on */
    stitch_sampler_t *local_parent_not_sampled;  /* default always_off */
} stitch_parent_based_opts_t;

/* `root` is required: NULL root gives NULL (and frees the delegates). */
STITCH_EXTERN stitch_sampler_t *stitch_sampler_parent_based(stitch_sampler_t *root);
/* `opts` may be NULL (all defaults); its samplers are taken over. */
STITCH_EXTERN stitch_sampler_t *stitch_sampler_parent_based_ex(stitch_sampler_t *root,
                                                               const stitch_parent_based_opts_t *opts);

/* At most `traces_per_second` RECORD_AND_SAMPLE decisions per second in this
 * process (per sampler object), with bursts of up to max(1, that number)
 * after an idle period; DROP otherwise. Lock-free (one atomic word, a GCRA
 * token bucket on the monotonic clock), thread-safe. Usually the root of a
 * parent_based sampler, so only new traces are limited. 0 drops everything;
 * a negative or NaN rate counts as 0 (with a warning). Description
 * "RateLimitingSampler{10.00}". NULL only when out of memory. */
STITCH_EXTERN stitch_sampler_t *stitch_sampler_rate_limiting(double traces_per_second);

/* ---- rule sampler ----------------------------------------------------------
 *
 * Ordered rules; the first rule whose conditions all hold decides, through
 * its action sampler; when none matches, the fallback decides. Conditions
 * look at the span name, the span kind and the attributes known at start
 * (stitch_sampling_params_t.attrs). Deciding never allocates or locks. */

typedef enum stitch_rule_field {
    STITCH_RULE_ATTR = 0, /* the start attribute named `key` */
    STITCH_RULE_NAME = 1, /* the span name; `key` is ignored */
    STITCH_RULE_KIND = 2, /* the span kind; `key` is ignored */
} stitch_rule_field_t;

typedef enum stitch_rule_op {
    STITCH_RULE_EQ = 0,         /* == value */
    STITCH_RULE_NE = 1,         /* != value (an absent attribute is "not equal") */
    STITCH_RULE_GLOB = 2,       /* ~ pattern: fnmatch(3) on a string (name or string attribute) */
    STITCH_RULE_NOT_GLOB = 3,   /* !~ pattern */
    STITCH_RULE_EXISTS = 4,     /* the attribute is present (ATTR only) */
    STITCH_RULE_NOT_EXISTS = 5, /* the attribute is absent (ATTR only) */
} stitch_rule_op_t;

/* One condition. `value` is text compared by the *attribute's* type: a
 * string attribute compares bytes; an int attribute matches when the text is
 * an integer (or a number) equal to it; a double attribute when the text is
 * a number equal to it; a bool attribute when the text is true/false and
 * equal. Arrays never match == and ~. For KIND, `value` is internal, server,
 * client, producer or consumer (any case) or 1..5. All strings are copied. */
typedef struct stitch_rule_cond {
    stitch_rule_field_t field;
    const char *key;   /* attribute key (ATTR), NULL otherwise */
    stitch_rule_op_t op;
    const char *value; /* NULL for EXISTS / NOT_EXISTS */
} stitch_rule_cond_t;

/* An empty rule sampler deciding everything with `fallback` (taken over;
 * NULL means always_on). NULL when out of memory.
 * Description "RuleBased{rules:[<rule>;...],fallback:<fallback>}" with each
 * rule in the text syntax, e.g. `user.id == "42" -> AlwaysOnSampler`. */
STITCH_EXTERN stitch_sampler_t *stitch_sampler_rules_new(stitch_sampler_t *fallback);
/* Append a rule: all `nconds` conditions must hold (0 conditions: always
 * matches). `action` is taken over in every case (freed on failure).
 * Add rules before the sampler is used (not thread-safe with deciding).
 * 0, STITCH_EINVAL (not a rule sampler, NULL action, bad condition, e.g. a
 * glob on the kind or an unknown kind), or STITCH_ENOMEM (nothing added). */
STITCH_EXTERN STITCH_NODISCARD int stitch_sampler_rules_add(stitch_sampler_t *rules,
                                                            const stitch_rule_cond_t *conds,
                                                            size_t nconds, stitch_sampler_t *action);

/* Where and why text could not be parsed. `msg` is a static string. */
typedef struct stitch_sampler_parse_error {
    int code;      /* STITCH_EPARSE, STITCH_EINVAL or STITCH_ENOMEM */
    size_t offset; /* byte offset into the text where the problem is */
    const char *msg;
} stitch_sampler_parse_error_t;

/* Build a rule sampler from text (syntax in docs/sampling.md), e.g.
 *   user.id == "42" -> always_on;
 *   kind == server && name ~ "GET /health*" -> always_off;
 *   * -> traceidratio(0.01)
 * `fallback` (taken over, even on failure; NULL means always_on) decides
 * when no rule matches. On success *out is the new sampler and 0 is
 * returned. On failure *out is NULL, `err` (may be NULL) says where and why,
 * and STITCH_EPARSE (bad text) or STITCH_ENOMEM is returned. */
STITCH_EXTERN STITCH_NODISCARD int stitch_sampler_rules_parse(const char *text,
                                                              stitch_sampler_t *fallback,
                                                              stitch_sampler_t **out,
                                                              stitch_sampler_parse_error_t *err);

/* ---- configuration ---------------------------------------------------------
 *
 * The sampler the environment asks for:
 *   OTEL_TRACES_SAMPLER       always_on | always_off | traceidratio |
 *                             parentbased_always_on (default) |
 *                             parentbased_always_off | parentbased_traceidratio |
 *                             ratelimiting | parentbased_ratelimiting |
 *                             rules | parentbased_rules   (any case)
 *   OTEL_TRACES_SAMPLER_ARG   the ratio for *traceidratio (default 1.0, must be
 *                             in [0, 1]); traces per second for *ratelimiting
 *                             (default 1, must be >= 0)
 *   STITCH_TRACES_SAMPLER_RULES  the rules for *rules, in the text syntax;
 *                             required by them.
 * An invalid value is logged (stitch__log, naming the variable and the value)
 * and ignored: a bad OTEL_TRACES_SAMPLER or rule text gives
 * parentbased_always_on, a bad argument its default. The caller owns the
 * result. NULL only when out of memory. */
STITCH_EXTERN stitch_sampler_t *stitch_sampler_from_env(void);

#ifdef __cplusplus
}
#endif
#endif
