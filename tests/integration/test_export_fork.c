/* Integration test of exporting across fork(): a program set up with
 * stitch_init_from_env() has delivered a batch (so a kept-alive connection
 * exists) and queued more spans; it forks. The child records spans of its
 * own and exits normally: the stand-in collector (export_sink.h) receives
 * the child's spans, carrying the child's process.pid, and never the
 * parent's queued spans from the child. The parent then still delivers its
 * own spans, each exactly once, over its undisturbed connection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "stitch/export.h"
#include "stitch/stitch.h"
#include "tests/integration/export_sink.h"

static int setup(void **state)
{
    (void)state;
    clear_env();
    return sink_start();
}

static int teardown(void **state)
{
    (void)state;
    (void)stitch_shutdown(5000);
    sink_stop();
    clear_env();
    return 0;
}

/* Spans called `name` in every request so far, and whether all of them
 * carry process.pid == pid. */
static size_t count_spans(const char *name, pid_t pid, bool *pid_ok)
{
    size_t total = 0;
    *pid_ok = true;
    for (size_t i = 0; i < sink_count(); i++) {
        pb_req_t *req = sink_decode_pb(&sink.reqs[i]);
        assert_non_null(req);
        for (size_t r = 0; r < req->n_resource_spans; r++) {
            const pb_resource_t *res = req->resource_spans[r]->resource;
            for (size_t s = 0; s < req->resource_spans[r]->n_scope_spans; s++)
                for (size_t k = 0; k < req->resource_spans[r]->scope_spans[s]->n_spans; k++) {
                    if (strcmp(req->resource_spans[r]->scope_spans[s]->spans[k]->name, name))
                        continue;
                    total++;
                    if (!res || pb_int(pb_attr(res->attributes, res->n_attributes,
                                               "process.pid")) != (int64_t)pid)
                        *pid_ok = false;
                }
        }
        pb_free(req);
    }
    return total;
}

static void test_fork_child_delivers_own_spans(void **state)
{
    (void)state;
    char url[128];
    setenv("OTEL_EXPORTER_OTLP_ENDPOINT", sink_url(url, sizeof url, ""), 1);
    setenv("OTEL_BSP_SCHEDULE_DELAY", "60000", 1); /* nothing leaves unless flushed */
    setenv("OTEL_SERVICE_NAME", "fork-test", 1);
    stitch_provider_t *p = NULL;
    assert_int_equal(stitch_init_from_env(&p), 0);
    stitch_tracer_t *t = stitch_global_tracer("fork", NULL);

    /* one delivered batch: the exporter now holds a kept-alive connection */
    stitch_span_end(stitch_span_start(t, "warm-up", NULL));
    assert_int_equal(stitch_provider_force_flush(p, 5000), 0);
    assert_int_equal(sink_wait(1, 5000), 1);
    unsigned parent_conn = sink.reqs[0].client_port;
    assert_true(parent_conn != 0);

    for (int i = 0; i < 3; i++)
        stitch_span_end(stitch_span_start(t, "parent-pre-fork", NULL));

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* the child: use the SDK, then exit normally (the exit handler delivers) */
        stitch_tracer_t *ct = stitch_global_tracer("fork-child", NULL);
        for (int i = 0; i < 2; i++) {
            stitch_span_t *s = stitch_span_start(ct, "child", NULL);
            (void)stitch_span_set_int(s, "i", i);
            stitch_span_end(s);
        }
        exit(0);
    }
    assert_int_equal(wait_child(pid, 30000), 0);
    sink_wait(2, 2000);
    bool pid_ok;
    assert_int_equal(count_spans("parent-pre-fork", getpid(), &pid_ok), 0);
    size_t after_child = sink_count();
    for (size_t i = 1; i < after_child; i++) /* the child opened its own connection */
        assert_int_not_equal(sink.reqs[i].client_port, parent_conn);
    assert_int_equal(count_spans("child", pid, &pid_ok), 2);
    /* the resource's process.pid must be the child's: the provider has to
     * refresh it after fork (it is detected once, at stitch_provider_new) */
    assert_true(pid_ok);

    /* the parent goes on: its queued spans and new ones, once each */
    stitch_span_end(stitch_span_start(t, "parent-post-fork", NULL));
    assert_int_equal(stitch_shutdown(5000), 0);
    /* over the connection it had before the fork: the child left it alone */
    assert_true(sink_count() > after_child);
    for (size_t i = after_child; i < sink_count(); i++)
        assert_int_equal(sink.reqs[i].client_port, parent_conn);
    assert_int_equal(count_spans("parent-pre-fork", getpid(), &pid_ok), 3);
    assert_true(pid_ok);
    assert_int_equal(count_spans("parent-post-fork", getpid(), &pid_ok), 1);
    assert_true(pid_ok);
    assert_int_equal(count_spans("warm-up", getpid(), &pid_ok), 1);
    assert_int_equal(count_spans("child", pid, &pid_ok), 2);
}

static void test_fork_child_without_spans_sends_nothing(void **state)
{
    (void)state;
    char url[128];
    setenv("OTEL_EXPORTER_OTLP_ENDPOINT", sink_url(url, sizeof url, ""), 1);
    setenv("OTEL_BSP_SCHEDULE_DELAY", "60000", 1);
    stitch_provider_t *p = NULL;
    assert_int_equal(stitch_init_from_env(&p), 0);
    stitch_tracer_t *t = stitch_global_tracer("fork", NULL);
    for (int i = 0; i < 5; i++)
        stitch_span_end(stitch_span_start(t, "queued", NULL));
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        exit(0);
    assert_int_equal(wait_child(pid, 30000), 0);
    usleep(200000);
    assert_int_equal(sink_count(), 0); /* the parent's queue stayed the parent's */
    assert_int_equal(stitch_shutdown(5000), 0);
    bool pid_ok;
    assert_int_equal(count_spans("queued", getpid(), &pid_ok), 5);
    assert_true(pid_ok);
}

static void *flush_thread(void *arg)
{
    (void)stitch_provider_force_flush(arg, 10000);
    return NULL;
}

static void test_fork_during_export(void **state)
{
    (void)state;
    /* the collector takes 1.5 s to answer: the parent's exporter thread is
     * inside its HTTP request when the program forks */
    sink_answer_t slow[] = {{200, NULL, "", 0, NULL, 1500}};
    sink_script(slow, 1);
    char url[128];
    setenv("OTEL_EXPORTER_OTLP_ENDPOINT", sink_url(url, sizeof url, ""), 1);
    setenv("OTEL_BSP_SCHEDULE_DELAY", "60000", 1);
    stitch_provider_t *p = NULL;
    assert_int_equal(stitch_init_from_env(&p), 0);
    stitch_tracer_t *t = stitch_global_tracer("fork", NULL);
    stitch_span_end(stitch_span_start(t, "in-flight", NULL));
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, flush_thread, p), 0);
    uint64_t end = mono_ns() + 5000000000ull;
    while (sink_arrived() < 1 && mono_ns() < end)
        usleep(1000);
    assert_int_equal(sink_arrived(), 1);

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        stitch_span_end(stitch_span_start(stitch_global_tracer("fork-child", NULL), "child", NULL));
        exit(0);
    }
    assert_int_equal(wait_child(pid, 30000), 0);
    pthread_join(th, NULL);
    assert_int_equal(stitch_shutdown(5000), 0);
    bool pid_ok;
    assert_int_equal(count_spans("child", pid, &pid_ok), 1);
    assert_int_equal(count_spans("in-flight", getpid(), &pid_ok), 1); /* sent once, by the parent */
    assert_true(pid_ok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fork_child_delivers_own_spans, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fork_child_without_spans_sends_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_fork_during_export, setup, teardown),
    };
    if (getenv("STITCH_TEST_FILTER")) /* e.g. STITCH_TEST_FILTER='*gzip*' */
        cmocka_set_test_filter(getenv("STITCH_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
