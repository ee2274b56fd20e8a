/* The thread's current context (scopes) and explicit contexts: push/pop
 * nesting, implicit parents, ended spans left current, remote parents,
 * contexts handed to other threads, copy/release reference counting. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sdk/internal.h"
#include "stitch/propagation.h"

struct fx {
    stitch_provider_t *p;
    stitch_processor_t *mem;
    stitch_tracer_t *t;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    stitch_provider_opts_t o = {.no_env = true};
    assert_int_equal(stitch_provider_new(&f->p, &o), STITCH_OK);
    f->mem = stitch_memory_processor_new(0);
    assert_int_equal(stitch_provider_add_processor(f->p, f->mem), STITCH_OK);
    f->t = stitch_tracer(f->p, "ctx-test", NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    /* every test must leave the thread with nothing current */
    assert_int_equal(stitch_ctx_current_borrow()->span.flags, 0);
    assert_false(stitch_span_ctx_valid(&stitch_ctx_current_borrow()->span));
    assert_null(stitch_current_span());
    stitch_provider_free(f->p);
    free(f);
    return 0;
}

static void assert_ctx_is_span(const stitch_span_ctx_t *c, const stitch_span_t *s)
{
    stitch_span_ctx_t sc = stitch_span_context(s);
    assert_memory_equal(c->trace_id, sc.trace_id, 16);
    assert_memory_equal(c->span_id, sc.span_id, 8);
    assert_int_equal(c->flags, sc.flags);
}

static void test_context_empty(void **state)
{
    (void)state;
    const stitch_ctx_t *b = stitch_ctx_current_borrow();
    assert_non_null(b);
    assert_false(stitch_span_ctx_valid(&b->span));
    assert_null(b->tracestate);
    assert_null(b->baggage);
    stitch_ctx_t c;
    memset(&c, 0xAB, sizeof c);
    stitch_ctx_current(&c);
    stitch_ctx_t empty = STITCH_CTX_INIT;
    assert_memory_equal(&c, &empty, sizeof c);
    assert_null(stitch_current_span());
    stitch_scope_pop((stitch_scope_t){0}); /* a zero token is a no-op */
    stitch_scope_t tok = stitch_scope_push(NULL);
    assert_int_equal(tok.depth, 0);
}

static void test_context_push_pop(void **state)
{
    struct fx *f = *state;
    stitch_span_t *s = stitch_span_start(f->t, "a", NULL);
    stitch_scope_t tok = stitch_scope_push(s);
    assert_int_equal(tok.depth, 1);
    assert_ptr_equal(stitch_current_span(), s);
    stitch_ctx_t c;
    stitch_ctx_current(&c);
    assert_ctx_is_span(&c.span, s);
    assert_int_equal(c.span.remote, 0);
    stitch_ctx_release(&c);
    assert_ctx_is_span(&stitch_ctx_current_borrow()->span, s);
    stitch_scope_pop(tok);
    assert_null(stitch_current_span());
    assert_false(stitch_span_ctx_valid(&stitch_ctx_current_borrow()->span));
    stitch_span_end(s);
}

static void test_context_nested(void **state)
{
    struct fx *f = *state;
    stitch_span_t *a = stitch_span_start(f->t, "a", NULL);
    stitch_scope_t ta = stitch_scope_push(a);
    stitch_span_t *b = stitch_span_start(f->t, "b", NULL);
    stitch_scope_t tb = stitch_scope_push(b);
    stitch_span_t *c = stitch_span_start(f->t, "c", NULL);
    stitch_scope_t tc = stitch_scope_push(c);
    assert_int_equal(tc.depth, 3);
    assert_ptr_equal(stitch_current_span(), c);
    stitch_scope_pop(tc);
    assert_ptr_equal(stitch_current_span(), b);
    stitch_scope_pop(tb);
    assert_ptr_equal(stitch_current_span(), a);
    /* push again after pops: depth reused */
    stitch_scope_t tc2 = stitch_scope_push(c);
    assert_int_equal(tc2.depth, 2);
    assert_ptr_equal(stitch_current_span(), c);
    stitch_scope_pop(tc2);
    stitch_scope_pop(ta);
    assert_null(stitch_current_span());
    stitch_span_end(c);
    stitch_span_end(b);
    stitch_span_end(a);
    /* c is b's child, b is a's child, a is a root */
    assert_int_equal(stitch_memory_processor_count(f->mem), 3);
    const stitch_span_data_t *dc = stitch_memory_processor_get(f->mem, 0);
    const stitch_span_data_t *db = stitch_memory_processor_get(f->mem, 1);
    const stitch_span_data_t *da = stitch_memory_processor_get(f->mem, 2);
    assert_memory_equal(dc->parent_span_id, db->ctx.span_id, 8);
    assert_memory_equal(db->parent_span_id, da->ctx.span_id, 8);
    static const uint8_t zero[8];
    assert_memory_equal(da->parent_span_id, zero, 8);
    assert_memory_equal(dc->ctx.trace_id, da->ctx.trace_id, 16);
    assert_memory_equal(db->ctx.trace_id, da->ctx.trace_id, 16);
}

static void test_context_pop_outer_pops_inner(void **state)
{
    struct fx *f = *state;
    stitch_span_t *a = stitch_span_start(f->t, "a", NULL);
    stitch_span_t *b = stitch_span_start(f->t, "b", NULL);
    stitch_scope_t t0 = stitch_scope_push(a);
    stitch_scope_t t1 = stitch_scope_push(b);
    stitch_ctx_t ec = STITCH_CTX_INIT;
    stitch_ctx_from_span(&ec, a, NULL);
    stitch_scope_t t2 = stitch_scope_push_ctx(&ec);
    stitch_ctx_release(&ec);
    assert_int_equal(t2.depth, 3);
    (void)t1;
    stitch_scope_pop(t0); /* pops t2 and t1 as well */
    assert_null(stitch_current_span());
    assert_false(stitch_span_ctx_valid(&stitch_ctx_current_borrow()->span));
    /* a later pop of an already-popped inner token does nothing */
    stitch_scope_t t3 = stitch_scope_push(b);
    assert_int_equal(t3.depth, 1);
    stitch_scope_pop(t2);
    assert_ptr_equal(stitch_current_span(), b);
    stitch_scope_pop(t3);
    stitch_span_end(b);
    stitch_span_end(a);
}

static void test_context_deep_nesting(void **state)
{
    struct fx *f = *state;
    enum { DEPTH = 200 }; /* past the initial stack and the give-back size */
    stitch_span_t *s[DEPTH];
    stitch_scope_t tok[DEPTH];
    for (int i = 0; i < DEPTH; i++) {
        s[i] = stitch_span_start(f->t, "deep", NULL);
        tok[i] = stitch_scope_push(s[i]);
        assert_int_equal(tok[i].depth, (uint32_t)i + 1);
    }
    for (int i = DEPTH - 1; i >= 0; i--) {
        assert_ptr_equal(stitch_current_span(), s[i]);
        stitch_scope_pop(tok[i]);
        stitch_span_end(s[i]);
    }
    assert_int_equal(stitch_memory_processor_count(f->mem), DEPTH);
    for (int i = 0; i < DEPTH - 1; i++) { /* end order is innermost first */
        const stitch_span_data_t *child = stitch_memory_processor_get(f->mem, (size_t)i);
        const stitch_span_data_t *parent = stitch_memory_processor_get(f->mem, (size_t)i + 1);
        assert_memory_equal(child->parent_span_id, parent->ctx.span_id, 8);
    }
    /* and the stack still works after being given back */
    stitch_span_t *x = stitch_span_start(f->t, "x", NULL);
    stitch_scope_t tx = stitch_scope_push(x);
    assert_int_equal(tx.depth, 1);
    assert_ptr_equal(stitch_current_span(), x);
    stitch_scope_pop(tx);
    stitch_span_end(x);
}

static void test_context_implicit_parent(void **state)
{
    struct fx *f = *state;
    stitch_span_t *parent = stitch_span_start(f->t, "parent", NULL);
    stitch_scope_t tok = stitch_scope_push(parent);
    stitch_span_t *child = stitch_span_start(f->t, "child", NULL);
    stitch_span_opts_t o = {.kind = STITCH_SPAN_KIND_CLIENT}; /* parent NULL too */
    stitch_span_t *child2 = stitch_span_start(f->t, "child2", &o);
    stitch_span_end(child2);
    stitch_span_end(child);
    stitch_scope_pop(tok);
    stitch_span_end(parent);
    const stitch_span_data_t *c2 = stitch_memory_processor_get(f->mem, 0);
    const stitch_span_data_t *c = stitch_memory_processor_get(f->mem, 1);
    const stitch_span_data_t *p = stitch_memory_processor_get(f->mem, 2);
    assert_memory_equal(c->ctx.trace_id, p->ctx.trace_id, 16);
    assert_memory_equal(c->parent_span_id, p->ctx.span_id, 8);
    assert_memory_equal(c2->parent_span_id, p->ctx.span_id, 8);
    assert_int_equal(c2->kind, STITCH_SPAN_KIND_CLIENT);
    assert_false(c->parent_remote);
}

static void test_context_ended_span_still_pushed(void **state)
{
    struct fx *f = *state;
    stitch_span_t *s = stitch_span_start(f->t, "ends-early", NULL);
    stitch_span_ctx_t sc = stitch_span_context(s);
    stitch_scope_t tok = stitch_scope_push(s);
    stitch_span_end(s);
    assert_null(stitch_current_span());
    stitch_ctx_t c;
    stitch_ctx_current(&c);
    assert_memory_equal(c.span.trace_id, sc.trace_id, 16);
    assert_memory_equal(c.span.span_id, sc.span_id, 8);
    stitch_ctx_release(&c);
    /* a span started now is still its child, and reusing the pooled span
     * object does not make it current again */
    stitch_span_t *child = stitch_span_start(f->t, "child", NULL);
    assert_null(stitch_current_span());
    stitch_span_end(child);
    stitch_scope_pop(tok);
    const stitch_span_data_t *d = stitch_memory_processor_get(f->mem, 1);
    assert_string_equal(d->name, "child");
    assert_memory_equal(d->parent_span_id, sc.span_id, 8);
    assert_memory_equal(d->ctx.trace_id, sc.trace_id, 16);

    /* the same with an unsampled span, which goes back to the pool at end */
    stitch_memory_processor_clear(f->mem);
    stitch_provider_t *p;
    stitch_provider_opts_t o = {.no_env = true, .sampler = stitch_sampler_always_off()};
    assert_int_equal(stitch_provider_new(&p, &o), STITCH_OK);
    stitch_span_t *u = stitch_span_start(stitch_tracer(p, NULL, NULL), "u", NULL);
    stitch_span_ctx_t uc = stitch_span_context(u);
    tok = stitch_scope_push(u);
    stitch_span_end(u);
    assert_null(stitch_current_span());
    stitch_span_t *reuse = stitch_span_start(stitch_tracer(p, NULL, NULL), "reuse", NULL);
    assert_null(stitch_current_span()); /* even if `reuse` is the same object as u */
    stitch_span_ctx_t rc = stitch_span_context(reuse);
    assert_memory_equal(rc.trace_id, uc.trace_id, 16);
    stitch_span_end(reuse);
    stitch_scope_pop(tok);
    stitch_provider_free(p);
}

static stitch_ctx_t remote_ctx(uint8_t flags)
{
    stitch_ctx_t c = STITCH_CTX_INIT;
    for (int i = 0; i < 16; i++)
        c.span.trace_id[i] = (uint8_t)(0xA0 + i);
    for (int i = 0; i < 8; i++)
        c.span.span_id[i] = (uint8_t)(0x10 + i);
    c.span.flags = flags;
    c.span.remote = 1;
    return c;
}

static void test_context_push_remote(void **state)
{
    struct fx *f = *state;
    stitch_ctx_t rc = remote_ctx(STITCH_FLAG_SAMPLED);
    assert_int_equal(stitch_tracestate_parse("vendor=abc,other=1", 18, &rc.tracestate), STITCH_OK);
    stitch_scope_t tok = stitch_scope_push_ctx(&rc);
    assert_null(stitch_current_span()); /* an explicit context, not a span */
    const stitch_ctx_t *cur = stitch_ctx_current_borrow();
    assert_memory_equal(&cur->span, &rc.span, sizeof rc.span);
    assert_ptr_equal(cur->tracestate, rc.tracestate);
    stitch_span_t *s = stitch_span_start(f->t, "server", NULL);
    stitch_span_end(s);
    stitch_scope_pop(tok);
    stitch_ctx_release(&rc); /* the scope held its own reference */

    const stitch_span_data_t *d = stitch_memory_processor_get(f->mem, 0);
    stitch_ctx_t want = remote_ctx(STITCH_FLAG_SAMPLED);
    assert_true(d->parent_remote);
    assert_memory_equal(d->ctx.trace_id, want.span.trace_id, 16);
    assert_memory_equal(d->parent_span_id, want.span.span_id, 8);
    assert_int_equal(d->ctx.remote, 0);
    assert_int_equal(d->ctx.flags, STITCH_FLAG_SAMPLED);
    size_t len;
    assert_string_equal(stitch_tracestate_str(d->tracestate, &len), "vendor=abc,other=1");

    /* an unsampled remote parent: parentbased_always_on drops the child,
     * which still carries the trace id */
    stitch_ctx_t un = remote_ctx(0);
    tok = stitch_scope_push_ctx(&un);
    s = stitch_span_start(f->t, "dropped", NULL);
    assert_false(stitch_span_is_recording(s));
    stitch_span_ctx_t sc = stitch_span_context(s);
    assert_memory_equal(sc.trace_id, un.span.trace_id, 16);
    assert_memory_not_equal(sc.span_id, un.span.span_id, 8);
    assert_int_equal(sc.flags, 0);
    stitch_span_end(s);
    stitch_scope_pop(tok);
    assert_int_equal(stitch_memory_processor_count(f->mem), 1);
}

struct thread_arg {
    struct fx *f;
    stitch_ctx_t ctx; /* owned by the thread */
    int rc;
};

static void *child_on_thread(void *arg)
{
    struct thread_arg *a = arg;
    a->rc = 1;
    if (stitch_span_ctx_valid(&stitch_ctx_current_borrow()->span))
        return NULL; /* a new thread starts with nothing current */
    stitch_span_opts_t o = {.parent = &a->ctx};
    stitch_span_end(stitch_span_start(a->f->t, "explicit-parent", &o));
    stitch_scope_t tok = stitch_scope_push_ctx(&a->ctx);
    stitch_span_end(stitch_span_start(a->f->t, "pushed-parent", NULL));
    stitch_scope_pop(tok);
    stitch_ctx_release(&a->ctx);
    a->rc = 0;
    return NULL;
}

static void test_context_handoff_to_thread(void **state)
{
    struct fx *f = *state;
    stitch_span_t *req = stitch_span_start(f->t, "request", NULL);
    struct thread_arg a = {.f = f};
    stitch_ctx_from_span(&a.ctx, req, NULL);
    stitch_span_ctx_t rc = stitch_span_context(req);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, child_on_thread, &a), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(a.rc, 0);
    stitch_span_end(req);
    assert_int_equal(stitch_memory_processor_count(f->mem), 3);
    for (size_t i = 0; i < 2; i++) {
        const stitch_span_data_t *d = stitch_memory_processor_get(f->mem, i);
        assert_string_equal(d->name, i ? "pushed-parent" : "explicit-parent");
        assert_memory_equal(d->ctx.trace_id, rc.trace_id, 16);
        assert_memory_equal(d->parent_span_id, rc.span_id, 8);
        assert_false(d->parent_remote);
    }
}

static void test_context_copy_release(void **state)
{
    (void)state;
    stitch_ctx_t src = remote_ctx(1);
    assert_int_equal(stitch_tracestate_parse("k=v", 3, &src.tracestate), STITCH_OK);
    stitch_baggage_t *bg = NULL;
    assert_int_equal(stitch_baggage_set(NULL, "user", "42", NULL, &bg), STITCH_OK);
    src.baggage = bg;

    stitch_ctx_t dst;
    stitch_ctx_copy(&dst, &src);
    assert_memory_equal(&dst.span, &src.span, sizeof src.span);
    assert_ptr_equal(dst.tracestate, src.tracestate);
    assert_ptr_equal(dst.baggage, src.baggage);
    /* the copy outlives the source */
    stitch_ctx_release(&src);
    stitch_ctx_t empty = STITCH_CTX_INIT;
    assert_memory_equal(&src, &empty, sizeof src);
    size_t len;
    assert_string_equal(stitch_tracestate_str(dst.tracestate, &len), "k=v");
    assert_string_equal(stitch_baggage_get(dst.baggage, "user"), "42");

    /* set_baggage replaces and takes its own reference */
    stitch_baggage_t *bg2 = NULL;
    assert_int_equal(stitch_baggage_set(NULL, "tenant", "t1", NULL, &bg2), STITCH_OK);
    stitch_ctx_set_baggage(&dst, bg2);
    stitch_baggage_unref(bg2);
    assert_string_equal(stitch_baggage_get(dst.baggage, "tenant"), "t1");
    assert_null(stitch_baggage_get(dst.baggage, "user"));
    stitch_ctx_set_baggage(&dst, NULL);
    assert_null(dst.baggage);

    stitch_ctx_copy(&src, NULL); /* NULL source: empty */
    assert_memory_equal(&src, &empty, sizeof src);
    stitch_ctx_release(&dst);
    stitch_ctx_release(&dst); /* releasing an empty context is fine */
    stitch_ctx_release(NULL);
    assert_memory_equal(&dst, &empty, sizeof dst);
}

static void test_context_baggage_survives_span_push(void **state)
{
    struct fx *f = *state;
    stitch_ctx_t c = STITCH_CTX_INIT;
    assert_int_equal(stitch_baggage_set(NULL, "user", "7", NULL, &c.baggage), STITCH_OK);
    stitch_scope_t t0 = stitch_scope_push_ctx(&c);
    stitch_ctx_release(&c);
    stitch_span_t *s = stitch_span_start(f->t, "with-baggage", NULL);
    stitch_scope_t t1 = stitch_scope_push(s);
    assert_string_equal(stitch_baggage_get(stitch_ctx_current_borrow()->baggage, "user"), "7");
    stitch_ctx_t fs;
    stitch_ctx_from_span(&fs, s, NULL); /* NULL base: the current baggage */
    assert_string_equal(stitch_baggage_get(fs.baggage, "user"), "7");
    assert_ctx_is_span(&fs.span, s);
    stitch_ctx_release(&fs);
    stitch_ctx_t base = STITCH_CTX_INIT;
    stitch_ctx_from_span(&fs, s, &base); /* explicit base without baggage */
    assert_null(fs.baggage);
    stitch_ctx_release(&fs);
    stitch_scope_pop(t1);
    stitch_scope_pop(t0);
    stitch_span_end(s);
}

static void test_context_from_span(void **state)
{
    struct fx *f = *state;
    stitch_ctx_t parent = remote_ctx(STITCH_FLAG_SAMPLED);
    assert_int_equal(stitch_tracestate_parse("a=1", 3, &parent.tracestate), STITCH_OK);
    stitch_span_opts_t o = {.parent = &parent};
    stitch_span_t *s = stitch_span_start(f->t, "s", &o);
    stitch_ctx_release(&parent);
    stitch_ctx_t c;
    stitch_ctx_from_span(&c, s, NULL);
    assert_ctx_is_span(&c.span, s);
    assert_int_equal(c.span.remote, 0);
    size_t len;
    assert_string_equal(stitch_tracestate_str(c.tracestate, &len), "a=1"); /* inherited */
    stitch_span_end(s);
    /* the context outlives the span */
    assert_string_equal(stitch_tracestate_str(c.tracestate, &len), "a=1");
    stitch_ctx_release(&c);
}

static void test_context_invalid_explicit_parent_is_root(void **state)
{
    struct fx *f = *state;
    stitch_span_t *cur = stitch_span_start(f->t, "current", NULL);
    stitch_scope_t tok = stitch_scope_push(cur);
    stitch_ctx_t none = STITCH_CTX_INIT;
    stitch_span_opts_t o = {.parent = &none};
    stitch_span_t *root = stitch_span_start(f->t, "root", &o);
    /* a context with only a trace id (span id zero) is not a parent either */
    stitch_ctx_t half = remote_ctx(1);
    memset(half.span.span_id, 0, 8);
    o.parent = &half;
    stitch_span_t *root2 = stitch_span_start(f->t, "root2", &o);
    stitch_span_end(root2);
    stitch_span_end(root);
    stitch_scope_pop(tok);
    stitch_span_end(cur);
    static const uint8_t zero[8];
    const stitch_span_data_t *r2 = stitch_memory_processor_get(f->mem, 0);
    const stitch_span_data_t *r = stitch_memory_processor_get(f->mem, 1);
    const stitch_span_data_t *c = stitch_memory_processor_get(f->mem, 2);
    assert_memory_equal(r->parent_span_id, zero, 8);
    assert_memory_not_equal(r->ctx.trace_id, c->ctx.trace_id, 16);
    assert_memory_equal(r2->parent_span_id, zero, 8);
    assert_memory_not_equal(r2->ctx.trace_id, half.span.trace_id, 16);
    assert_false(r->parent_remote);
    assert_false(r2->parent_remote);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_context_empty),
        T(test_context_push_pop),
        T(test_context_nested),
        T(test_context_pop_outer_pops_inner),
        T(test_context_deep_nesting),
        T(test_context_implicit_parent),
        T(test_context_ended_span_still_pushed),
        T(test_context_push_remote),
        T(test_context_handoff_to_thread),
        T(test_context_copy_release),
        T(test_context_baggage_survives_span_push),
        T(test_context_from_span),
        T(test_context_invalid_explicit_parent_is_root),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
