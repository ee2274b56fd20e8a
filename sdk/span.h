/* sdk/span.h — the layout of a span, its per-thread pool and the provider
 * and tracer objects it points to. Shared by span.c, provider.c, context.c
 * and processor.c; nothing outside sdk/ sees it.
 *
 * A span owns all the memory its data points into: fixed inline room for
 * the first attributes and strings, then arena chunks that stay attached
 * to the span when it goes back to its pool, so a steady workload reaches
 * a state where starting and ending spans never calls malloc. */
#ifndef STITCH_SDK_SPAN_H
#define STITCH_SDK_SPAN_H

#include <pthread.h>

#include "sdk/clock.h"
#include "sdk/internal.h"

#define SPAN_INLINE_ATTRS 8
#define SPAN_INLINE_BYTES 640
#define SPAN_ARENA_KEEP (64 * 1024) /* chunk bytes a pooled span may keep */

struct arena_chunk {
    struct arena_chunk *next;
    size_t size;
    char data[];
};

struct span_pool;

struct stitch_span {
    stitch_span_data_t d;         /* the public view; first, so data == span */
    stitch_tracer_t *tracer;
    const stitch_limits_t *lim;   /* the provider's, while recording */
    struct span_pool *pool;       /* the pool it returns to */
    struct stitch_span *next;     /* free-list link */
    atomic_uint refs;             /* processors holding it after end */
    uint32_t gen;                 /* bumped each time the span is reused */
    bool recording;
    bool ended;
    stitch_clock_t start_clock;
    /* growable arrays (d.attrs/events/links point to these) */
    stitch_attr_t *attrs;
    uint32_t *klens;              /* key lengths of attrs, same capacity */
    uint32_t attr_cap;
    stitch_event_t *events;
    uint32_t event_cap;
    stitch_link_t *links;
    uint32_t link_cap;
    /* the arena */
    char *a_cur, *a_end;
    struct arena_chunk *chunks;   /* every chunk this span owns */
    struct arena_chunk *chunk_at; /* the chunk a_cur is in; NULL = inline */
    stitch_attr_t attr_inline[SPAN_INLINE_ATTRS];
    uint32_t klen_inline[SPAN_INLINE_ATTRS];
    _Alignas(16) char a_inline[SPAN_INLINE_BYTES];
};

struct stitch_processor {
    const stitch_processor_ops_t *ops;
    void *self;
};

struct stitch_tracer {
    stitch_provider_t *provider; /* NULL: the no-op tracer */
    stitch_scope_info_t scope;
    struct stitch_tracer *next;
};

struct stitch_provider {
    stitch_sampler_t *sampler;
    stitch_processor_t **procs;
    uint32_t nprocs;
    atomic_bool shut_down;        /* spans started now are not recorded */
    bool procs_shut;              /* processors were shut down (under lock) */
    bool keep_data;               /* a shutdown timed out: an abandoned exporter may still
                                   * read the resource and scopes, so free keeps them */
    struct stitch_provider *kept_next; /* provider.c's list of such kept providers */
    stitch_limits_t limits;
    stitch_attr_t *resource;
    uint32_t nresource;
    pthread_mutex_t lock; /* guards tracers and processor changes */
    stitch_tracer_t *tracers;
    struct stitch_provider *next_live; /* the list of live providers (provider.c) */
};

/* ---- context.c: the thread's stack of current contexts ---- */
struct scope_entry {
    stitch_ctx_t ctx;
    stitch_span_t *span; /* NULL for an explicit context */
    uint32_t gen;        /* span->gen when pushed: detects reuse */
};

struct scope_stack {
    struct scope_entry *v;
    uint32_t depth, cap;
};

extern __thread struct scope_stack stitch__tl_scopes __attribute__((tls_model("initial-exec")));
extern const stitch_ctx_t stitch__empty_ctx;

/* stitch_ctx_current_borrow(), inlined into the span path. */
static inline const stitch_ctx_t *stitch__ctx_current(void)
{
    uint32_t d = stitch__tl_scopes.depth;
    return d ? &stitch__tl_scopes.v[d - 1].ctx : &stitch__empty_ctx;
}

/* ---- span.c ---- */
/* A span from the calling thread's pool, reset; NULL when out of memory. */
stitch_span_t *stitch__span_alloc(void);
/* Copy a string into the span's arena (NUL-terminated); NULL when out of memory. */
char *stitch__span_strdup(stitch_span_t *s, const char *p, size_t len);

/* ---- span_copy.c: self-contained copies of ended spans (the batch queue) ---- */
/* Bytes a deep copy of `d` takes (a multiple of 8), and in *chars_at the
 * offset in the copy where its strings start (pass it to stitch__span_copy). */
size_t stitch__span_copy_size(const stitch_span_data_t *d, size_t *chars_at);
/* Copy `d` into `buf` (8-byte aligned, stitch__span_copy_size(d) bytes):
 * the copy's pointers point inside `buf`, except resource and scope, which
 * stay the provider's. Takes a reference on the span's tracestate and each
 * link's; stitch__span_copy_drop gives them back. Returns buf. Never fails. */
stitch_span_data_t *stitch__span_copy(void *buf, size_t chars_at, const stitch_span_data_t *d);
/* The same for an ended span, faster: when all its data lies in its inline
 * arena, one block copy and a pointer rebase, no string scanned. Pair
 * stitch__span_record_size's *chars_at with stitch__span_record. */
size_t stitch__span_record_size(const stitch_span_t *s, size_t *chars_at);
stitch_span_data_t *stitch__span_record(void *buf, size_t chars_at, const stitch_span_t *s);
/* Give back the references a copy holds (the bytes are the caller's). */
void stitch__span_copy_drop(const stitch_span_data_t *c);

/* ---- provider.c ---- */
/* Build the resource attribute list (defaults, code, env). 0 or error. */
int stitch__resource_build(stitch_provider_t *p, const stitch_provider_opts_t *opts);

#endif
