/* sdk/context.c — explicit contexts (stitch_ctx_t) and the per-thread
 * stack of current contexts that stitch_scope_push/pop maintain.
 *
 * Invariant: every stitch_ctx_t on the stack holds its own references to
 * tracestate and baggage, dropped when it is popped. The stack lives in
 * thread-local storage and grows (rarely) with realloc; pushing and popping
 * a span whose context has no tracestate or baggage touches no shared
 * memory. */
#include <stdlib.h>
#include <string.h>

#include "sdk/span.h"

__thread struct scope_stack stitch__tl_scopes __attribute__((tls_model("initial-exec")));
const stitch_ctx_t stitch__empty_ctx = STITCH_CTX_INIT;

void stitch_ctx_copy(stitch_ctx_t *dst, const stitch_ctx_t *src)
{
    if (!src) {
        *dst = stitch__empty_ctx;
        return;
    }
    dst->span = src->span;
    dst->tracestate = stitch_tracestate_ref(src->tracestate);
    dst->baggage = stitch_baggage_ref(src->baggage);
}

void stitch_ctx_release(stitch_ctx_t *c)
{
    if (!c)
        return;
    stitch_tracestate_unref(c->tracestate);
    stitch_baggage_unref(c->baggage);
    *c = stitch__empty_ctx;
}

void stitch_ctx_set_baggage(stitch_ctx_t *c, const stitch_baggage_t *bg)
{
    stitch_baggage_t *old = c->baggage;
    c->baggage = stitch_baggage_ref(bg);
    stitch_baggage_unref(old);
}

const stitch_ctx_t *stitch_ctx_current_borrow(void)
{
    return stitch__ctx_current();
}

void stitch_ctx_current(stitch_ctx_t *out)
{
    stitch_ctx_copy(out, stitch_ctx_current_borrow());
}

stitch_span_t *stitch_current_span(void)
{
    uint32_t d = stitch__tl_scopes.depth;
    if (!d)
        return NULL;
    struct scope_entry *e = &stitch__tl_scopes.v[d - 1];
    if (!e->span || e->span->gen != e->gen || e->span->ended)
        return NULL;
    return e->span;
}

static pthread_key_t scopes_key;
static pthread_once_t scopes_once = PTHREAD_ONCE_INIT;

/* At thread exit: drop what is still pushed and free the stack. */
static void scopes_free(void *arg)
{
    (void)arg;
    while (stitch__tl_scopes.depth)
        stitch_ctx_release(&stitch__tl_scopes.v[--stitch__tl_scopes.depth].ctx);
    free(stitch__tl_scopes.v);
    stitch__tl_scopes.v = NULL;
    stitch__tl_scopes.cap = 0;
}

static void scopes_key_init(void)
{
    (void)pthread_key_create(&scopes_key, scopes_free);
}

/* Room for one more entry; NULL when out of memory. */
static struct scope_entry *scope_slot(void)
{
    if (STITCH_UNLIKELY(stitch__tl_scopes.depth == stitch__tl_scopes.cap)) {
        if (!stitch__tl_scopes.v) {
            pthread_once(&scopes_once, scopes_key_init);
            (void)pthread_setspecific(scopes_key, &stitch__tl_scopes);
        }
        uint32_t ncap = stitch__tl_scopes.cap ? stitch__tl_scopes.cap * 2 : 16;
        struct scope_entry *nv = realloc(stitch__tl_scopes.v, ncap * sizeof *nv);
        if (!nv)
            return NULL;
        stitch__tl_scopes.v = nv;
        stitch__tl_scopes.cap = ncap;
    }
    return &stitch__tl_scopes.v[stitch__tl_scopes.depth];
}

stitch_scope_t stitch_scope_push(stitch_span_t *span)
{
    stitch_scope_t tok = {0};
    if (!span)
        return tok;
    const stitch_baggage_t *bg = stitch_ctx_current_borrow()->baggage;
    struct scope_entry *e = scope_slot();
    if (!e)
        return tok;
    e->ctx.span = span->d.ctx;
    e->ctx.tracestate = stitch_tracestate_ref(span->d.tracestate);
    e->ctx.baggage = stitch_baggage_ref(bg);
    e->span = span;
    e->gen = span->gen;
    tok.depth = ++stitch__tl_scopes.depth;
    return tok;
}

stitch_scope_t stitch_scope_push_ctx(const stitch_ctx_t *ctx)
{
    stitch_scope_t tok = {0};
    struct scope_entry *e = scope_slot();
    if (!e)
        return tok;
    stitch_ctx_copy(&e->ctx, ctx);
    e->span = NULL;
    e->gen = 0;
    tok.depth = ++stitch__tl_scopes.depth;
    return tok;
}

void stitch_scope_pop(stitch_scope_t tok)
{
    if (tok.depth == 0)
        return;
    while (stitch__tl_scopes.depth >= tok.depth) {
        struct scope_entry *e = &stitch__tl_scopes.v[--stitch__tl_scopes.depth];
        stitch_ctx_release(&e->ctx);
    }
    if (stitch__tl_scopes.depth == 0 && stitch__tl_scopes.cap > 64) { /* a deep burst: give it back */
        free(stitch__tl_scopes.v);
        stitch__tl_scopes.v = NULL;
        stitch__tl_scopes.cap = 0;
    }
}

void stitch_ctx_from_span(stitch_ctx_t *out, const stitch_span_t *s, const stitch_ctx_t *base)
{
    const stitch_baggage_t *bg = (base ? base : stitch_ctx_current_borrow())->baggage;
    out->span = s->d.ctx;
    out->tracestate = stitch_tracestate_ref(s->d.tracestate);
    out->baggage = stitch_baggage_ref(bg);
}
