/* A test exporter for the processor tests: counts spans and calls, and on
 * demand fails, sleeps (honouring or ignoring its timeout), or blocks until
 * the test opens a gate. It also checks that it is never entered by two
 * threads at once, and, in a forked child, that after_fork_child came
 * before the first export. */
#ifndef STITCH_EXPORTER_FIXTURE_H
#define STITCH_EXPORTER_FIXTURE_H

#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stitch/export.h"

struct texp {
    atomic_ulong calls, spans, max_batch;
    atomic_ulong parent_spans, child_spans; /* by name prefix */
    atomic_int fail;         /* export returns STITCH_EIO */
    atomic_int gate;         /* export blocks while set (at most 5 s) */
    atomic_uint hang_ms;     /* export sleeps this long, whatever its timeout */
    atomic_uint last_timeout;
    atomic_int in_export, reentered;
    atomic_int fork_called, order_bad;
    atomic_ulong shutdowns, flushes, destroyed;
    atomic_int returned;     /* an export call has returned */
    atomic_ulong max_gap_us; /* longest time between two export calls */
    double last_call;
    pid_t owner;
};

static inline void texp_sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static inline double texp_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int texp_export(void *self, const stitch_span_data_t *const *spans, size_t n,
                       uint32_t timeout_ms)
{
    struct texp *t = self;
    if (atomic_exchange(&t->in_export, 1))
        atomic_fetch_add(&t->reentered, 1);
    if (getpid() != t->owner && !atomic_load(&t->fork_called))
        atomic_store(&t->order_bad, 1);
    atomic_store(&t->last_timeout, timeout_ms);
    double now = texp_now_s();
    if (t->last_call > 0 && (now - t->last_call) * 1e6 > atomic_load(&t->max_gap_us))
        atomic_store(&t->max_gap_us, (unsigned long)((now - t->last_call) * 1e6));
    t->last_call = now;
    for (int i = 0; i < 5000 && atomic_load(&t->gate); i++)
        texp_sleep_ms(1);
    if (atomic_load(&t->hang_ms))
        texp_sleep_ms(atomic_load(&t->hang_ms));
    for (size_t i = 0; i < n; i++) {
        if (strncmp(spans[i]->name, "parent", 6) == 0)
            atomic_fetch_add(&t->parent_spans, 1);
        else if (strncmp(spans[i]->name, "child", 5) == 0)
            atomic_fetch_add(&t->child_spans, 1);
    }
    if (n > atomic_load(&t->max_batch))
        atomic_store(&t->max_batch, n);
    atomic_fetch_add(&t->calls, 1);
    int rc = atomic_load(&t->fail) ? STITCH_EIO : STITCH_OK;
    atomic_fetch_add(&t->spans, n);
    atomic_store(&t->in_export, 0);
    atomic_store(&t->returned, 1);
    return rc;
}

static int texp_flush(void *self, uint32_t timeout_ms)
{
    (void)timeout_ms;
    atomic_fetch_add(&((struct texp *)self)->flushes, 1);
    return STITCH_OK;
}

static int texp_shutdown(void *self, uint32_t timeout_ms)
{
    (void)timeout_ms;
    atomic_fetch_add(&((struct texp *)self)->shutdowns, 1);
    return STITCH_OK;
}

/* What a real exporter does: forget what was inherited. */
static void texp_after_fork(void *self)
{
    struct texp *t = self;
    atomic_store(&t->calls, 0);
    atomic_store(&t->spans, 0);
    atomic_store(&t->parent_spans, 0);
    atomic_store(&t->child_spans, 0);
    atomic_store(&t->gate, 0);
    atomic_store(&t->in_export, 0);
    atomic_store(&t->fork_called, 1);
}

static void texp_destroy(void *self)
{
    atomic_fetch_add(&((struct texp *)self)->destroyed, 1);
}

static const stitch_exporter_ops_t texp_ops = {
    .export_spans = texp_export,
    .force_flush = texp_flush,
    .shutdown = texp_shutdown,
    .after_fork_child = texp_after_fork,
    .destroy = texp_destroy,
};

static stitch_exporter_t *texp_new(struct texp *t)
{
    memset(t, 0, sizeof *t);
    t->owner = getpid();
    return stitch_exporter_new(&texp_ops, t);
}

#endif
