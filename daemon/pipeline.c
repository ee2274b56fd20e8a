/* daemon/pipeline.c — what happens to a request's spans between the
 * receivers and storage:
 *
 *   receiver ─► [tail sampler] ─► sink ─┬─► store (unless --storage none)
 *                                       ├─► forwarder (--forward URL)
 *                                       └─► router ─► one forwarder per URL (--route-to)
 *
 * What a 200 (202 for Zipkin) means, per path:
 *  - no sampler: the sink took the spans — the store made them durable,
 *    and/or a forwarder accepted them into its bounded buffer: in memory
 *    (lost if the process is killed before they are sent), or with
 *    --forward-spool on disk too (durable, sent after a restart);
 *  - with a sampler: the spans are held for their trace's decision (in
 *    memory), acknowledged before it, as the Collector does; a kept trace
 *    then goes to the sink.
 * Refusals are honest: a full forwarder buffer or store queue is a 503 +
 * Retry-After (STITCH_EBUSY), never a silent drop. With a sampler the
 * refusal comes before holding, while a forwarder is near full. */
#include <stdlib.h>
#include <string.h>

#include "daemon/log.h"
#include "daemon/sampling.h"
#include "daemon/stitchd.h"

/* With a sampler in front, refuse new spans while a forwarder has less than
 * this room, since what the sampler keeps later must still fit. */
#define SINK_HEADROOM (256u << 10)

/* The sink: the forwarders first (a full buffer refuses cheaply, before
 * anything is stored), then the store. A store refusal after a forwarder
 * took the spans makes the client retry, and the upstream gets them twice
 * (a stitchd upstream drops the duplicates). */
static int sink(void *arg, const stitch_span_data_t *const *spans, size_t n)
{
    stitchd_t *d = arg;
    int rc = 0;
    if (d->forwarder)
        rc = forwarder_push_spans(d->forwarder, spans, n);
    else if (d->router.n)
        rc = router_push(&d->router, spans, n);
    if (rc)
        return rc;
    if (d->store)
        rc = stitch_store_append(d->store, spans, n);
    return rc;
}

static bool sink_has_room(stitchd_t *d)
{
    if (d->forwarder && !forwarder_has_room(d->forwarder, SINK_HEADROOM))
        return false;
    for (size_t i = 0; i < d->router.n; i++)
        if (!forwarder_has_room(d->router.fw[i], SINK_HEADROOM))
            return false;
    return true;
}

int stitchd_pipeline_append(stitchd_t *d, const stitch_span_data_t *const *spans, size_t n)
{
    if (!d->sampler)
        return sink(d, spans, n);
    if (!sink_has_room(d))
        return STITCH_EBUSY;
    return sampler_add(d->sampler, spans, n);
}

static char *sampler_source(void *arg) { return sampler_metrics(arg); }

static char *forward_source(void *arg)
{
    stitchd_t *d = arg;
    if (d->forwarder)
        return forwarder_metrics(&d->forwarder, 1, "forward");
    return forwarder_metrics(d->router.fw, d->router.n, "route");
}

static forwarder_opts_t fw_opts(const stitchd_t *d, const char *url)
{
    forwarder_opts_t o = {
        .url = url,
        .gzip = d->cfg.forward_gzip,
        .buffer_bytes = d->cfg.forward_buffer,
        .batch_spans = d->cfg.forward_batch_spans,
        .batch_delay_ns = d->cfg.forward_batch_delay_ns,
        .timeout_ns = d->cfg.forward_timeout_ns ? d->cfg.forward_timeout_ns : 1000000000ull,
        .spool_dir = d->cfg.forward_spool,
    };
    return o;
}

int stitchd_pipeline_start(stitchd_t *d)
{
    char err[300], q[8300];
    if (d->cfg.forward[0]) {
        forwarder_opts_t o = fw_opts(d, d->cfg.forward);
        if (forwarder_new(&d->forwarder, &o, err, sizeof err)) {
            st_log(ST_LOG_ERROR, "forward", "cannot start the forwarder", "url=%s error=\"%s\"",
                   st_log_q(q, sizeof q, d->cfg.forward), err);
            return -1;
        }
        st_log(ST_LOG_INFO, "forward", "forwarding", "upstream=%s buffer=%llu gzip=%s",
               st_log_q(q, sizeof q, forwarder_url(d->forwarder)),
               (unsigned long long)d->cfg.forward_buffer, d->cfg.forward_gzip ? "true" : "false");
    }
    if (d->cfg.route_to[0]) {
        size_t n = 1;
        for (const char *p = d->cfg.route_to; *p; p++)
            n += *p == ',';
        d->router.fw = calloc(n, sizeof *d->router.fw);
        d->router.seed = calloc(n, sizeof *d->router.seed);
        if (!d->router.fw || !d->router.seed)
            return -1;
        char *list = strdup(d->cfg.route_to);
        if (!list)
            return -1;
        char *save = NULL;
        for (char *u = strtok_r(list, ",", &save); u; u = strtok_r(NULL, ",", &save)) {
            forwarder_opts_t o = fw_opts(d, u);
            if (forwarder_new(&d->router.fw[d->router.n], &o, err, sizeof err)) {
                st_log(ST_LOG_ERROR, "route", "cannot start a forwarder", "url=%s error=\"%s\"",
                       st_log_q(q, sizeof q, u), err);
                free(list);
                return -1;
            }
            /* the identity is the URL as configured, so every router given the
             * same list picks the same instance for a trace */
            d->router.seed[d->router.n] = router_seed(u);
            d->router.n++;
        }
        free(list);
        st_log(ST_LOG_INFO, "route", "routing by trace id", "instances=%zu list=%s", d->router.n,
               st_log_q(q, sizeof q, d->cfg.route_to));
    }
    if (d->forwarder || d->router.n)
        stitchd_metrics_add_source(forward_source, d);
    if (d->cfg.tail) {
        sampling_cfg_t *c = d->cfg.tail;
        d->cfg.tail = NULL; /* the sampler's now, even on failure */
        c->max_bytes = d->cfg.sampling_max_memory;
        uint64_t wait_ms = c->decision_wait_ns / 1000000, num = c->num_traces;
        size_t np = c->npolicies;
        if (sampler_new(&d->sampler, c, sink, d)) {
            st_log(ST_LOG_ERROR, "tail", "cannot start the tail sampler", NULL);
            return -1;
        }
        stitchd_metrics_add_source(sampler_source, d->sampler);
        st_log(ST_LOG_INFO, "tail", "tail sampling", "decision_wait_ms=%llu num_traces=%llu policies=%zu",
               (unsigned long long)wait_ms, (unsigned long long)num, np);
    }
    return 0;
}

void stitchd_pipeline_stop(stitchd_t *d)
{
    /* the sampler first: what it holds is decided now and delivered to the
     * store and forwarders, which are still open */
    sampler_free(d->sampler);
    d->sampler = NULL;
    uint64_t drain = d->cfg.shutdown_timeout_ns;
    forwarder_free(d->forwarder, drain);
    d->forwarder = NULL;
    for (size_t i = 0; i < d->router.n; i++)
        forwarder_free(d->router.fw[i], drain);
    free(d->router.fw);
    free(d->router.seed);
    memset(&d->router, 0, sizeof d->router);
}
