/* daemon/forward.c — forwarders (one upstream each, a bounded buffer and a
 * sending thread) and trace-id routing over several; see forward.h.
 *
 * Invariants:
 *  - `bytes` counts every encoded byte queued or being sent, and never
 *    passes opts.buffer_bytes: a push that would pass it is refused whole;
 *  - chunks leave the queue in order; a chunk whose send failed for a
 *    retryable reason (unreachable, 429, 502-504, timeout) goes back to the
 *    head and is tried again after a backoff (1 s doubling to 30 s), so an
 *    upstream that is down holds spans here until the buffer is full;
 *  - a chunk the upstream refused for good (another 4xx: bad data) is
 *    dropped and counted, never retried. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/textbuf.h"
#include "daemon/forward_internal.h"
#include "daemon/log.h"
#include "sdk/http.h"
#include "store/store.h" /* STITCH_EBUSY */
#include "wire/wire.h"

uint64_t stitch__mono_ns(void); /* sdk/clock.c: the clock stitch__http_post's deadline uses */

#define BACKOFF_MIN_NS 1000000000ull
#define BACKOFF_MAX_NS 30000000000ull

#define ADD(x, n) atomic_fetch_add_explicit(&(x), (n), memory_order_relaxed)
#define GET(x) atomic_load_explicit(&(x), memory_order_relaxed)

static uint64_t mono(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static struct timespec ts_of(uint64_t ns)
{
    struct timespec t = {(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};
    return t;
}

static void chunk_free(chunk_t *c)
{
    if (c->fd >= 0)
        close(c->fd);
    stitch_buf_free(&c->buf);
    free(c);
}

/* Wait (under mu) until `until` or stop; true when stopping. */
static bool wait_until(forwarder_t *f, uint64_t until)
{
    struct timespec t = ts_of(until);
    while (!f->stop && mono() < until)
        pthread_cond_timedwait(&f->cv, &f->mu, &t);
    return f->stop;
}

static void *run(void *arg)
{
    forwarder_t *f = arg;
    uint64_t backoff = BACKOFF_MIN_NS;
    char q[2100];
    pthread_mutex_lock(&f->mu);
    for (;;) {
        if (!f->head) {
            if (f->stop)
                break;
            pthread_cond_wait(&f->cv, &f->mu);
            continue;
        }
        uint64_t now = mono();
        if (f->stop && now >= f->drain_until)
            break;
        chunk_t *c = f->head;
        bool ready = f->stop || c->next || c->nspans >= f->o.batch_spans ||
                     c->buf.len >= CHUNK_MAX_BYTES || now - c->first_ns >= f->o.batch_delay_ns;
        if (!ready) {
            wait_until(f, c->first_ns + f->o.batch_delay_ns);
            continue;
        }
        /* take the head out so pushes go to a new chunk; its bytes stay counted */
        f->head = c->next;
        if (!f->head)
            f->tail = NULL;
        c->next = NULL;
        if (f->spool[0])
            spool_seal(c);
        pthread_mutex_unlock(&f->mu);

        uint64_t deadline = stitch__mono_ns() + f->o.timeout_ns;
        if (f->stop) {
            uint64_t left = f->drain_until > now ? f->drain_until - now : 0;
            deadline = stitch__mono_ns() + left;
        }
        stitch__http_result_t res;
        memset(&res, 0, sizeof res);
        int rc = stitch__http_post(f->http, c->buf.data, c->buf.len, deadline, &res);
        bool retry = false;
        if (!rc) {
            ADD(f->sent_reqs, 1);
            ADD(f->sent_spans, c->nspans);
            atomic_store(&f->up, 1);
            backoff = BACKOFF_MIN_NS;
        } else if (res.status >= 400 && res.status < 500 && res.status != 429) {
            ADD(f->failed_reqs, 1);
            ADD(f->dropped_spans, c->nspans);
            st_log(ST_LOG_WARN, "forward", "upstream refused spans; dropped",
                   "upstream=%s status=%ld spans=%" PRIu64, st_log_q(q, sizeof q, f->url),
                   res.status, c->nspans);
        } else {
            ADD(f->failed_reqs, 1);
            atomic_store(&f->up, 0);
            retry = true;
            st_log(ST_LOG_WARN, "forward", "upstream unavailable; keeping spans",
                   "upstream=%s status=%ld error=\"%s\" spans=%" PRIu64 " backoff_ms=%" PRIu64,
                   st_log_q(q, sizeof q, f->url), res.status, stitch_strerror(rc), c->nspans,
                   backoff / 1000000);
        }
        pthread_mutex_lock(&f->mu);
        if (retry) {
            c->next = f->head;
            f->head = c;
            if (!f->tail)
                f->tail = c;
            uint64_t until = mono() + backoff;
            backoff = backoff * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : backoff * 2;
            if (f->stop && until > f->drain_until)
                until = f->drain_until;
            wait_until(f, until);
            if (f->stop && mono() >= f->drain_until)
                break;
        } else {
            f->bytes -= c->buf.len;
            f->spans -= c->nspans;
            if (f->spool[0])
                spool_remove(f, c);
            chunk_free(c);
        }
    }
    /* stopping: what is left is lost, unless it is in the spool (its files
     * stay for the next start) */
    uint64_t lost = 0, kept = 0;
    while (f->head) {
        chunk_t *c = f->head;
        f->head = c->next;
        if (f->spool[0])
            kept += c->nspans;
        else
            lost += c->nspans;
        f->bytes -= c->buf.len;
        f->spans -= c->nspans;
        chunk_free(c);
    }
    f->tail = NULL;
    pthread_mutex_unlock(&f->mu);
    if (lost) {
        ADD(f->lost_spans, lost);
        st_log(ST_LOG_WARN, "forward", "spans not delivered at shutdown",
               "upstream=%s spans=%" PRIu64, st_log_q(q, sizeof q, f->url), lost);
    }
    if (kept)
        st_log(ST_LOG_INFO, "forward", "spans left in the spool for the next start",
               "upstream=%s spans=%" PRIu64 " spool=%s", st_log_q(q, sizeof q, f->url), kept,
               f->spool);
    return NULL;
}

int forwarder_new(forwarder_t **out, const forwarder_opts_t *o, char *err, size_t errlen)
{
    if (!stitch__http_url_ok(o->url)) {
        snprintf(err, errlen, "\"%s\" is not an http:// or https:// URL", o->url);
        return -1;
    }
    forwarder_t *f = calloc(1, sizeof *f);
    if (!f) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    f->o = *o;
    /* a bare scheme://host[:port][/] gets OTLP's path, as OTEL_EXPORTER_OTLP_ENDPOINT does */
    const char *rest = strstr(o->url, "://");
    rest = rest ? strchr(rest + 3, '/') : NULL;
    int k = snprintf(f->url, sizeof f->url, "%s%s", o->url,
                     !rest ? "/v1/traces" : !strcmp(rest, "/") ? "v1/traces" : "");
    if (k < 0 || (size_t)k >= sizeof f->url) {
        free(f);
        snprintf(err, errlen, "URL too long");
        return -1;
    }
    f->o.url = f->url;
    if (o->spool_dir && o->spool_dir[0]) {
        /* the directory is named by the URL as configured, like the routing identity */
        if (spool_open(f, o->spool_dir, router_seed(o->url), err, errlen)) {
            free(f);
            return -1;
        }
        long n = spool_load(f, err, errlen);
        if (n < 0) {
            free(f);
            return -1;
        }
        if (n > 0) {
            char q[2100];
            st_log(ST_LOG_INFO, "forward", "spans from the spool to send", "upstream=%s spans=%ld",
                   st_log_q(q, sizeof q, f->url), n);
        }
    }
    stitch__http_opts_t ho = {
        .url = f->url,
        .content_type = "application/x-protobuf",
        .gzip = o->gzip,
        .what = "forward",
    };
    if (stitch__http_new(&f->http, &ho)) {
        while (f->head) {
            chunk_t *c = f->head;
            f->head = c->next;
            chunk_free(c);
        }
        free(f);
        snprintf(err, errlen, "cannot set up the HTTP client (libcurl)");
        return -1;
    }
    pthread_mutex_init(&f->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&f->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&f->th, NULL, run, f)) {
        stitch__http_free(f->http);
        pthread_mutex_destroy(&f->mu);
        pthread_cond_destroy(&f->cv);
        free(f);
        snprintf(err, errlen, "cannot start a thread");
        return -1;
    }
    f->started = true;
    *out = f;
    return 0;
}

const char *forwarder_url(const forwarder_t *f) { return f->url; }

bool forwarder_has_room(forwarder_t *f, size_t len)
{
    pthread_mutex_lock(&f->mu);
    bool ok = !f->stop && f->bytes + len <= f->o.buffer_bytes;
    pthread_mutex_unlock(&f->mu);
    return ok;
}

int forwarder_push(forwarder_t *f, const uint8_t *p, size_t len, size_t nspans)
{
    if (!nspans)
        return 0;
    pthread_mutex_lock(&f->mu);
    if (f->stop || f->bytes + len > f->o.buffer_bytes) {
        pthread_mutex_unlock(&f->mu);
        ADD(f->refused_spans, nspans);
        return STITCH_EBUSY;
    }
    chunk_t *c = f->tail;
    bool fresh = !c || c->sealed || c->nspans >= f->o.batch_spans || c->buf.len + len > CHUNK_MAX_BYTES;
    if (fresh) {
        c = calloc(1, sizeof *c);
        if (!c) {
            pthread_mutex_unlock(&f->mu);
            return STITCH_ENOMEM;
        }
        c->buf = (stitch_buf_t)STITCH_BUF_INIT(0);
        c->first_ns = mono();
        c->fd = -1;
    }
    int rc = stitch_buf_reserve(&c->buf, len);
    /* with a spool, the record is on disk before the push returns */
    if (!rc && f->spool[0] && ((fresh && spool_create(f, c)) || spool_append(f, c, p, len, nspans))) {
        char q[2100];
        st_log(ST_LOG_ERROR, "forward", "cannot write to the spool", "upstream=%s spool=%s error=\"%s\"",
               st_log_q(q, sizeof q, f->url), f->spool, strerror(errno));
        if (fresh && c->fd >= 0)
            spool_remove(f, c);
        rc = STITCH_EIO;
    }
    if (rc) {
        if (fresh)
            chunk_free(c);
        pthread_mutex_unlock(&f->mu);
        return rc;
    }
    if (fresh) {
        if (f->tail)
            f->tail->next = c;
        else
            f->head = c;
        f->tail = c;
    }
    /* concatenated ExportTraceServiceRequests are one valid request */
    memcpy(c->buf.data + c->buf.len, p, len);
    c->buf.len += len;
    c->nspans += nspans;
    f->bytes += len;
    f->spans += nspans;
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
    return 0;
}

int forwarder_push_spans(forwarder_t *f, const stitch_span_data_t *const *spans, size_t n)
{
    if (!n)
        return 0;
    stitch_buf_t b = STITCH_BUF_INIT(0);
    int rc = stitch_wire_otlp_proto_encode(spans, n, &b);
    if (!rc)
        rc = forwarder_push(f, b.data, b.len, n);
    stitch_buf_free(&b);
    return rc;
}

void forwarder_free(forwarder_t *f, uint64_t drain_ns)
{
    if (!f)
        return;
    if (f->started) {
        pthread_mutex_lock(&f->mu);
        f->stop = true;
        f->drain_until = mono() + drain_ns;
        pthread_cond_broadcast(&f->cv);
        pthread_mutex_unlock(&f->mu);
        pthread_join(f->th, NULL);
    }
    stitch__http_free(f->http);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
    free(f);
}

/* ---- routing --------------------------------------------------------------------- */

int router_push(router_t *r, const stitch_span_data_t *const *spans, size_t n)
{
    if (!n)
        return 0;
    size_t *owner = malloc(n * sizeof *owner);
    const stitch_span_data_t **part = malloc(n * sizeof *part);
    stitch_buf_t *enc = calloc(r->n, sizeof *enc);
    size_t *cnt = calloc(r->n, sizeof *cnt);
    int rc = 0;
    if (!owner || !part || !enc || !cnt) {
        rc = STITCH_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        owner[i] = router_pick(r, spans[i]->ctx.trace_id);
    for (size_t k = 0; k < r->n && !rc; k++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (owner[i] == k)
                part[m++] = spans[i];
        cnt[k] = m;
        enc[k] = (stitch_buf_t)STITCH_BUF_INIT(0);
        if (m)
            rc = stitch_wire_otlp_proto_encode(part, m, &enc[k]);
        if (!rc && m && !forwarder_has_room(r->fw[k], enc[k].len)) {
            ADD(r->fw[k]->refused_spans, m);
            rc = STITCH_EBUSY;
        }
    }
    for (size_t k = 0; k < r->n && !rc; k++)
        if (cnt[k])
            rc = forwarder_push(r->fw[k], enc[k].data, enc[k].len, cnt[k]);
out:
    if (enc)
        for (size_t k = 0; k < r->n; k++)
            stitch_buf_free(&enc[k]);
    free(enc);
    free(cnt);
    free(part);
    free(owner);
    return rc;
}

/* ---- metrics ------------------------------------------------------------------------ */


char *forwarder_metrics(forwarder_t *const *fw, size_t n, const char *role)
{
    st_text_t o = {0};
    static const struct {
        const char *name, *type, *help;
    } fam[] = {
        {"stitchd_forward_spans_total", "counter",
         "Spans by outcome: sent (2xx), dropped (refused by the upstream for good, 4xx), lost "
         "(still buffered at shutdown), refused (buffer full: 503 to the client)."},
        {"stitchd_forward_requests_total", "counter", "Sends by outcome (retries inside one send not counted)."},
        {"stitchd_forward_buffer_spans", "gauge", "Spans waiting for the upstream."},
        {"stitchd_forward_buffer_bytes", "gauge", "Encoded bytes waiting for the upstream."},
        {"stitchd_forward_buffer_max_bytes", "gauge", "The buffer's size (--forward-buffer)."},
        {"stitchd_forward_upstream_up", "gauge", "1 when the last send succeeded, 0 when it failed."},
    };
    for (size_t k = 0; k < sizeof fam / sizeof fam[0]; k++) {
        st_text_printf(&o, "# HELP %s %s\n# TYPE %s %s\n", fam[k].name, fam[k].help, fam[k].name, fam[k].type);
        for (size_t i = 0; i < n; i++) {
            forwarder_t *f = fw[i];
            const char *u = f->url; /* URLs carry no quotes or backslashes worth escaping here */
            char lab[2200];
            snprintf(lab, sizeof lab, "role=\"%s\",upstream=\"%.2000s\"", role, u);
            switch (k) {
            case 0:
                st_text_printf(&o, "%s{%s,result=\"sent\"} %" PRIu64 "\n", fam[k].name, lab, GET(f->sent_spans));
                st_text_printf(&o, "%s{%s,result=\"dropped\"} %" PRIu64 "\n", fam[k].name, lab, GET(f->dropped_spans));
                st_text_printf(&o, "%s{%s,result=\"lost\"} %" PRIu64 "\n", fam[k].name, lab, GET(f->lost_spans));
                st_text_printf(&o, "%s{%s,result=\"refused\"} %" PRIu64 "\n", fam[k].name, lab, GET(f->refused_spans));
                break;
            case 1:
                st_text_printf(&o, "%s{%s,result=\"ok\"} %" PRIu64 "\n", fam[k].name, lab, GET(f->sent_reqs));
                st_text_printf(&o, "%s{%s,result=\"failed\"} %" PRIu64 "\n", fam[k].name, lab, GET(f->failed_reqs));
                break;
            case 2:
            case 3: {
                pthread_mutex_lock(&f->mu);
                uint64_t v = k == 2 ? f->spans : f->bytes;
                pthread_mutex_unlock(&f->mu);
                st_text_printf(&o, "%s{%s} %" PRIu64 "\n", fam[k].name, lab, v);
                break;
            }
            case 4:
                st_text_printf(&o, "%s{%s} %" PRIu64 "\n", fam[k].name, lab, f->o.buffer_bytes);
                break;
            default:
                st_text_printf(&o, "%s{%s} %" PRIu64 "\n", fam[k].name, lab, GET(f->up));
            }
        }
    }
    if (o.oom) {
        free(o.p);
        return NULL;
    }
    return o.p ? o.p : calloc(1, 1);
}
