/* "No malloc per span in steady state": this program interposes the C
 * allocator (malloc, calloc, realloc, free, aligned_alloc, memalign,
 * posix_memalign), forwarding to glibc's __libc_* entry points and counting
 * calls while a flag is set. After a warm-up, starting and ending sampled
 * spans (attributes, an event), unsampled spans and scope pushes/pops must
 * not allocate or free at all.
 *
 * AddressSanitizer replaces the allocator itself, so the interposition is
 * compiled out there and the tests skip. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sdk/internal.h"

#if defined(__SANITIZE_ADDRESS__)
#define HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_ASAN 1
#endif
#endif
#ifndef HAVE_ASAN
#define HAVE_ASAN 0
#endif

static atomic_bool counting;
static atomic_ulong n_alloc, n_free;

#if !HAVE_ASAN
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);

static inline void count(atomic_ulong *c)
{
    if (atomic_load_explicit(&counting, memory_order_relaxed))
        atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

void *malloc(size_t n)
{
    count(&n_alloc);
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
    count(&n_alloc);
    return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
    count(&n_alloc);
    return __libc_realloc(p, n);
}

void free(void *p)
{
    if (p)
        count(&n_free);
    __libc_free(p);
}

void *aligned_alloc(size_t align, size_t n)
{
    count(&n_alloc);
    return __libc_memalign(align, n);
}

void *memalign(size_t align, size_t n)
{
    count(&n_alloc);
    return __libc_memalign(align, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    count(&n_alloc);
    if (align < sizeof(void *) || (align & (align - 1)))
        return EINVAL;
    void *p = __libc_memalign(align, n);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}
#endif

static void start_counting(void)
{
    atomic_store(&n_alloc, 0);
    atomic_store(&n_free, 0);
    atomic_store(&counting, true);
}

static void stop_counting(void)
{
    atomic_store(&counting, false);
}

/* A processor that gives every span back at once (an exporter that is
 * never behind). */
static atomic_ulong ended;
static void release_on_end(void *self, stitch_span_t *s)
{
    (void)self;
    atomic_fetch_add_explicit(&ended, 1, memory_order_relaxed);
    stitch_span_release(s);
}
static const stitch_processor_ops_t release_ops = {.on_end = release_on_end};

static stitch_provider_t *make_provider(stitch_sampler_t *sampler)
{
    stitch_provider_t *p;
    stitch_provider_opts_t o = {.no_env = true, .sampler = sampler};
    assert_int_equal(stitch_provider_new(&p, &o), STITCH_OK);
    assert_int_equal(stitch_provider_add_processor(p, stitch_processor_new(&release_ops, NULL)),
                     STITCH_OK);
    return p;
}

static int one_span(stitch_tracer_t *t, int i)
{
    stitch_span_t *s = stitch_span_start(t, "GET /cart", NULL);
    int rc = stitch_span_set_str(s, "http.method", "GET");
    rc |= stitch_span_set_int(s, "http.status_code", 200 + i % 3);
    rc |= stitch_span_set_str(s, "user.id", "customer-1234567");
    stitch_attr_t ea = stitch_attr_int("bytes", i);
    rc |= stitch_span_add_event(s, "response.sent", 0, &ea, 1);
    stitch_span_end(s);
    return rc;
}

static void skip_under_asan(void)
{
    if (HAVE_ASAN)
        skip();
}

static void test_alloc_interposed(void **state)
{
    (void)state;
    skip_under_asan();
    /* the counter sees allocations at all (else the tests below prove nothing) */
    start_counting();
    void *volatile p = malloc(10); /* volatile: the compiler may not elide the pair */
    void *volatile q = calloc(2, 8);
    q = realloc(q, 100);
    void *volatile r = aligned_alloc(64, 128);
    free(p);
    free(q);
    free(r);
    stop_counting();
    assert_int_equal(atomic_load(&n_alloc), 4);
    assert_int_equal(atomic_load(&n_free), 3);
}

static void test_alloc_sampled_spans_steady_state(void **state)
{
    (void)state;
    skip_under_asan();
    stitch_provider_t *p = make_provider(NULL);
    stitch_tracer_t *t = stitch_tracer(p, "alloc", NULL);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(one_span(t, i), STITCH_OK);
    atomic_store(&ended, 0);
    start_counting();
    int rc = 0;
    for (int i = 0; i < 100000; i++)
        rc |= one_span(t, i);
    stop_counting();
    assert_int_equal(rc, STITCH_OK);
    assert_int_equal(atomic_load(&ended), 100000); /* they were recorded */
    assert_int_equal(atomic_load(&n_alloc), 0);
    assert_int_equal(atomic_load(&n_free), 0);
    stitch_provider_free(p);
}

static void test_alloc_unsampled_spans(void **state)
{
    (void)state;
    skip_under_asan();
    stitch_provider_t *p = make_provider(stitch_sampler_always_off());
    stitch_tracer_t *t = stitch_tracer(p, "alloc", NULL);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(one_span(t, i), STITCH_OK);
    atomic_store(&ended, 0);
    start_counting();
    int rc = 0;
    for (int i = 0; i < 100000; i++)
        rc |= one_span(t, i);
    stop_counting();
    assert_int_equal(rc, STITCH_OK);
    assert_int_equal(atomic_load(&ended), 0);
    assert_int_equal(atomic_load(&n_alloc), 0);
    assert_int_equal(atomic_load(&n_free), 0);
    stitch_provider_free(p);
}

static int scoped_spans(stitch_tracer_t *t, int i)
{
    stitch_span_t *outer = stitch_span_start(t, "outer", NULL);
    stitch_scope_t tok = stitch_scope_push(outer);
    int rc = one_span(t, i); /* a child of outer */
    stitch_ctx_t c;
    stitch_ctx_current(&c);
    stitch_scope_t tok2 = stitch_scope_push_ctx(&c);
    rc |= one_span(t, i);
    stitch_scope_pop(tok2);
    stitch_ctx_release(&c);
    stitch_scope_pop(tok);
    stitch_span_end(outer);
    return rc;
}

static void test_alloc_scopes(void **state)
{
    (void)state;
    skip_under_asan();
    stitch_provider_t *p = make_provider(NULL);
    stitch_tracer_t *t = stitch_tracer(p, "alloc", NULL);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(scoped_spans(t, i), STITCH_OK);
    atomic_store(&ended, 0);
    start_counting();
    int rc = 0;
    for (int i = 0; i < 100000; i++)
        rc |= scoped_spans(t, i);
    stop_counting();
    assert_int_equal(rc, STITCH_OK);
    assert_int_equal(atomic_load(&ended), 300000);
    assert_int_equal(atomic_load(&n_alloc), 0);
    assert_int_equal(atomic_load(&n_free), 0);
    stitch_provider_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_interposed),
        cmocka_unit_test(test_alloc_sampled_spans_steady_state),
        cmocka_unit_test(test_alloc_unsampled_spans),
        cmocka_unit_test(test_alloc_scopes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
