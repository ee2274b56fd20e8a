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

#ifdef __cplusplus
}
#endif
#endif
