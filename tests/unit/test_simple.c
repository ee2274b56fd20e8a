/* The simple span processor and the exporter seam: synchronous export on
 * the ending thread, one thread at a time in the exporter, flush and
 * shutdown passed through once, spans after shutdown released unexported;
 * the console exporter's line format (the console processor is the simple
 * processor over it); stitch_exporter_new/free/export. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "sdk/internal.h"
#include "tests/unit/exporter_fixture.h"

struct rig {
    struct texp t;
    stitch_provider_t *p;
    stitch_tracer_t *tr;
};

static void rig_open(struct rig *r, stitch_processor_t *proc)
{
    stitch_provider_opts_t po = {.no_env = true};
    assert_int_equal(stitch_provider_new(&r->p, &po), 0);
    assert_non_null(proc);
    assert_int_equal(stitch_provider_add_processor(r->p, proc), 0);
    r->tr = stitch_tracer(r->p, "test", "1");
}

static void test_simple_exports_on_the_ending_thread(void **state)
{
    (void)state;
    struct rig r;
    rig_open(&r, stitch_simple_processor_new(texp_new(&r.t)));
    for (unsigned long i = 1; i <= 3; i++) {
        stitch_span_t *s = stitch_span_start(r.tr, "parent-op", NULL);
        (void)stitch_span_set_int(s, "i", (int64_t)i);
        stitch_span_end(s);
        assert_int_equal(atomic_load(&r.t.spans), i); /* before span_end returned */
        assert_int_equal(atomic_load(&r.t.calls), i);
        assert_int_equal(atomic_load(&r.t.parent_spans), i);
        /* released: the next span on this thread reuses it */
        stitch_span_t *again = stitch_span_start(r.tr, "x", &(stitch_span_opts_t){0});
        assert_ptr_equal(again, s);
        stitch_span_end(again);
        atomic_store(&r.t.spans, i);
        atomic_store(&r.t.calls, i);
    }
    /* a failing exporter: the span is still released */
    atomic_store(&r.t.fail, 1);
    stitch_span_t *s = stitch_span_start(r.tr, "f", NULL);
    stitch_span_end(s);
    assert_ptr_equal(stitch_span_start(r.tr, "g", NULL), s);
    stitch_span_end(s);
    stitch_provider_free(r.p);
    assert_int_equal(atomic_load(&r.t.destroyed), 1);
}

struct producer {
    stitch_tracer_t *tr;
    int n;
};

static void *produce(void *arg)
{
    struct producer *pr = arg;
    for (int i = 0; i < pr->n; i++)
        stitch_span_end(stitch_span_start(pr->tr, "s", NULL));
    return NULL;
}

static void test_simple_serializes_threads(void **state)
{
    (void)state;
    struct rig r;
    rig_open(&r, stitch_simple_processor_new(texp_new(&r.t)));
    pthread_t th[4];
    struct producer pr = {r.tr, 2000};
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, produce, &pr), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&r.t.spans), 8000);
    assert_int_equal(atomic_load(&r.t.reentered), 0);
    stitch_provider_free(r.p);
}

static void test_simple_flush_shutdown_and_late_spans(void **state)
{
    (void)state;
    struct rig r;
    rig_open(&r, stitch_simple_processor_new(texp_new(&r.t)));
    stitch_span_t *late = stitch_span_start(r.tr, "late", NULL);
    assert_int_equal(stitch_provider_force_flush(r.p, 1000), 0);
    assert_int_equal(atomic_load(&r.t.flushes), 1);
    assert_int_equal(stitch_provider_shutdown(r.p, 1000), 0);
    assert_int_equal(stitch_provider_shutdown(r.p, 1000), 0);
    assert_int_equal(atomic_load(&r.t.shutdowns), 1);
    stitch_span_end(late); /* after shutdown: released, not exported */
    assert_int_equal(atomic_load(&r.t.spans), 0);
    assert_ptr_equal(stitch_span_start(r.tr, "after", NULL), late);
    stitch_span_end(late);
    stitch_provider_free(r.p);
    assert_int_equal(atomic_load(&r.t.shutdowns), 1);
    assert_int_equal(atomic_load(&r.t.destroyed), 1);
    assert_null(stitch_simple_processor_new(NULL));
}

static char *slurp(FILE *f)
{
    fflush(f);
    long n = ftell(f);
    char *buf = calloc(1, (size_t)n + 1);
    rewind(f);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    return buf;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void test_simple_console_exporter_lines(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    assert_non_null(f);
    struct rig r;
    rig_open(&r, stitch_simple_processor_new(stitch_console_exporter_new(f)));
    stitch_span_t *s = stitch_span_start(r.tr, "GET /\"x\"", &(stitch_span_opts_t){.kind = STITCH_SPAN_KIND_SERVER});
    (void)stitch_span_set_int(s, "http.response.status_code", 200);
    stitch_span_set_status(s, STITCH_STATUS_ERROR, "boom");
    stitch_span_end(s);
    char *out = slurp(f);
    assert_int_equal(count_lines(out), 1);
    assert_true(strncmp(out, "span trace_id=", 14) == 0);
    assert_non_null(strstr(out, " name=\"GET /\\\"x\\\"\" kind=server "));
    assert_non_null(strstr(out, "status=error status_message=\"boom\""));
    assert_non_null(strstr(out, "attributes={http.response.status_code=200}"));
    free(out);
    stitch_provider_free(r.p);
    fclose(f);

    /* the console processor writes the same lines */
    f = tmpfile();
    rig_open(&r, stitch_console_processor_new(f));
    stitch_span_end(stitch_span_start(r.tr, "a", NULL));
    stitch_span_end(stitch_span_start(r.tr, "b", NULL));
    out = slurp(f);
    assert_int_equal(count_lines(out), 2);
    assert_non_null(strstr(out, "name=\"a\" kind=internal"));
    assert_non_null(strstr(out, "\nspan trace_id="));
    free(out);
    stitch_provider_free(r.p);
    fclose(f);
}

static void test_simple_exporter_seam(void **state)
{
    (void)state;
    struct texp t;
    assert_null(stitch_exporter_new(NULL, &t));
    stitch_exporter_ops_t no_export = {0};
    assert_null(stitch_exporter_new(&no_export, &t));
    stitch_exporter_free(NULL);
    stitch_exporter_t *e = texp_new(&t);
    assert_non_null(e);
    assert_int_equal(stitch_exporter_export(e, NULL, 0, 100), 0);
    assert_int_equal(stitch_exporter_export(e, NULL, 2, 100), STITCH_EINVAL);
    assert_int_equal(stitch_exporter_export(NULL, NULL, 0, 100), STITCH_EINVAL);
    /* direct export of spans a memory processor holds */
    stitch_provider_t *p;
    stitch_provider_opts_t po = {.no_env = true};
    assert_int_equal(stitch_provider_new(&p, &po), 0);
    stitch_processor_t *mem = stitch_memory_processor_new(0);
    assert_int_equal(stitch_provider_add_processor(p, mem), 0);
    stitch_tracer_t *tr = stitch_tracer(p, "t", NULL);
    stitch_span_end(stitch_span_start(tr, "parent-1", NULL));
    stitch_span_end(stitch_span_start(tr, "child-1", NULL));
    const stitch_span_data_t *d[2] = {stitch_memory_processor_get(mem, 0),
                                      stitch_memory_processor_get(mem, 1)};
    assert_int_equal(stitch_exporter_export(e, d, 2, 100), 0);
    assert_int_equal(atomic_load(&t.spans), 2);
    assert_int_equal(atomic_load(&t.last_timeout), 100);
    assert_int_equal(atomic_load(&t.parent_spans), 1);
    assert_int_equal(atomic_load(&t.child_spans), 1);
    FILE *f = tmpfile();
    stitch_exporter_t *c = stitch_console_exporter_new(f);
    assert_int_equal(stitch_exporter_export(c, d, 2, 100), 0);
    char *out = slurp(f);
    assert_int_equal(count_lines(out), 2);
    free(out);
    stitch_exporter_free(c);
    fclose(f);
    stitch_exporter_free(e);
    assert_int_equal(atomic_load(&t.destroyed), 1);
    assert_int_equal(atomic_load(&t.shutdowns), 0); /* free does not shut down */
    stitch_provider_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_exports_on_the_ending_thread),
        cmocka_unit_test(test_simple_serializes_threads),
        cmocka_unit_test(test_simple_flush_shutdown_and_late_spans),
        cmocka_unit_test(test_simple_console_exporter_lines),
        cmocka_unit_test(test_simple_exporter_seam),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
