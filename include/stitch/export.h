/* stitch/export.h — delivering ended spans: exporters (OTLP/HTTP, Zipkin,
 * console), the processors that feed them (batch, simple), and the
 * one-call setup from the OpenTelemetry environment.
 *
 * The batch processor is how spans leave a production program: span_end
 * puts the span on a bounded queue without ever waiting (on the network, on
 * a lock the exporter holds, or on memory); one background thread takes
 * batches off the queue and hands them to the exporter. When the queue is
 * full the span is dropped and counted. A program that exits normally, or
 * shuts the provider down, delivers what it queued — or gives up after the
 * export timeout when the collector is down. After fork() the child gets an
 * exporter of its own and never sends its parent's spans.
 *
 * Two lines instrument a program:
 *     stitch_init_from_env(NULL);
 *     stitch_tracer_t *t = stitch_global_tracer("my-service", "1.0");
 */
#ifndef STITCH_EXPORT_H
#define STITCH_EXPORT_H

#include <stdio.h>

#include "common.h"
#include "trace.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- exporters ------------------------------------------------------------ */

typedef struct stitch_exporter stitch_exporter_t;

typedef struct stitch_exporter_ops {
    /* Deliver n ended spans, giving up after timeout_ms. The span data is
     * borrowed for the call. Called from one thread at a time (the batch
     * processor's thread, or the ending thread for the simple processor).
     * 0 when delivered; a negative STITCH_E* code when the batch was lost
     * (STITCH_EIO: refused or unreachable after the retries the exporter
     * allows itself; STITCH_ETIMEDOUT). The exporter logs why. */
    int (*export_spans)(void *self, const stitch_span_data_t *const *spans, size_t n,
                        uint32_t timeout_ms);
    int (*force_flush)(void *self, uint32_t timeout_ms); /* may be NULL */
    int (*shutdown)(void *self, uint32_t timeout_ms);    /* may be NULL */
    /* In a forked child, before its first export: drop what was inherited
     * from the parent (connections, buffers, and any lock the parent's
     * exporter thread may have held at the fork). May be NULL. */
    void (*after_fork_child)(void *self);
    void (*destroy)(void *self); /* may be NULL */
} stitch_exporter_ops_t;

/* Wrap a user exporter; `ops` must outlive it. NULL when out of memory. */
STITCH_EXTERN stitch_exporter_t *stitch_exporter_new(const stitch_exporter_ops_t *ops, void *self);
/* Free an exporter that was never handed to a processor. NULL is fine. */
STITCH_EXTERN void stitch_exporter_free(stitch_exporter_t *e);
/* Call the exporter directly (tests, tools). */
STITCH_EXTERN int stitch_exporter_export(stitch_exporter_t *e, const stitch_span_data_t *const *spans,
                                         size_t n, uint32_t timeout_ms);

typedef enum stitch_otlp_protocol {
    STITCH_OTLP_HTTP_PROTOBUF = 0, /* "http/protobuf", the default */
    STITCH_OTLP_HTTP_JSON = 1,     /* "http/json" */
} stitch_otlp_protocol_t;

/* OTLP/HTTP. Every field left zero/NULL is taken from the environment
 * (unless no_env) or its OpenTelemetry default:
 *   endpoint  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as is, or
 *             OTEL_EXPORTER_OTLP_ENDPOINT + "/v1/traces";
 *             default http://localhost:4318/v1/traces
 *   protocol  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL / OTEL_EXPORTER_OTLP_PROTOCOL
 *   headers   OTEL_EXPORTER_OTLP_TRACES_HEADERS / OTEL_EXPORTER_OTLP_HEADERS
 *             ("k=v,k2=v2", values percent-encoded)
 *   gzip      OTEL_EXPORTER_OTLP_TRACES_COMPRESSION / _COMPRESSION = gzip|none
 *   timeout   OTEL_EXPORTER_OTLP_TRACES_TIMEOUT / _TIMEOUT (ms), default 10000
 *   ca_file   OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE / _CERTIFICATE: PEM file
 *             of the CAs an https endpoint's certificate must chain to,
 *             instead of the system's CA store
 *   client_cert, client_key
 *             OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE / _CLIENT_CERTIFICATE
 *             and OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY / _CLIENT_KEY: PEM
 *             files of the certificate (chain) and private key presented
 *             for mutual TLS; both or neither
 * An https endpoint is always verified (certificate chain and host name);
 * there is no insecure mode. The TLS files apply to https endpoints only.
 * Strings are copied. */
typedef struct stitch_otlp_opts {
    const char *endpoint;
    int protocol; /* -1 = environment/default, else stitch_otlp_protocol_t */
    const char *headers;
    int gzip;     /* -1 = environment/default (none), 0 = off, 1 = on */
    uint32_t timeout_ms;
    bool no_env;
    const char *ca_file;     /* NULL: environment, else the system's CA store */
    const char *client_cert; /* NULL (with client_key): environment, else no mTLS */
    const char *client_key;
} stitch_otlp_opts_t;

#define STITCH_OTLP_OPTS_INIT {NULL, -1, NULL, -1, 0, false, NULL, NULL, NULL}

/* 0 and *out set, or STITCH_EINVAL (bad endpoint/option in `opts` — an
 * unreadable TLS file or one without a PEM block, a client certificate
 * without its key — message logged; a bad environment variable is logged
 * and ignored instead, the next in line or the default applying),
 * STITCH_ENOMEM, or STITCH_EIO (libcurl/zlib unusable). Each export retries
 * only 429, 502, 503, 504 and connection failures (backoff with jitter,
 * Retry-After honoured) and ends within its timeout; a partial success is
 * logged (docs/export.md). */
STITCH_EXTERN STITCH_NODISCARD int stitch_otlp_exporter_new(stitch_exporter_t **out,
                                                            const stitch_otlp_opts_t *opts);

/* Zipkin v2 JSON. endpoint: OTEL_EXPORTER_ZIPKIN_ENDPOINT, default
 * http://localhost:9411/api/v2/spans; timeout: OTEL_EXPORTER_ZIPKIN_TIMEOUT
 * (ms), default 10000. Any 2xx is success; retries as for OTLP. For https,
 * ca_file / client_cert / client_key as for OTLP, but in code only
 * (OpenTelemetry defines no Zipkin variables for them). Return codes as
 * stitch_otlp_exporter_new. */
typedef struct stitch_zipkin_opts {
    const char *endpoint;
    uint32_t timeout_ms;
    bool no_env;
    const char *ca_file;
    const char *client_cert;
    const char *client_key;
} stitch_zipkin_opts_t;

STITCH_EXTERN STITCH_NODISCARD int stitch_zipkin_exporter_new(stitch_exporter_t **out,
                                                              const stitch_zipkin_opts_t *opts);

/* One human-readable line per span on `out` (NULL = stderr). The stream is
 * borrowed and must outlive the exporter. */
STITCH_EXTERN stitch_exporter_t *stitch_console_exporter_new(FILE *out);

/* ---- processors that feed exporters ---------------------------------------- */

/* OpenTelemetry's batch processor settings (docs/export.md).
 *
 * The queue is one ring per producing thread, drained by the processor's
 * thread; max_queue_size bounds the total over all threads: at most that
 * many spans wait, plus one batch being exported. Threads take places a
 * chunk at a time (<= 32, smaller with many threads), so drops may begin
 * once the queue is 7/8 full. Each producing thread's ring holds copies of
 * its ended spans' data (the spans themselves go back to their pool at
 * once) in max_queue_size x 512 bytes (rounded up to a power of two, at
 * most 64 MiB); a span that does not fit is dropped too. 0, or a batch
 * larger than the queue, is logged and replaced (by the default, or by the
 * queue size for the batch). */
typedef struct stitch_batch_opts {
    uint32_t max_queue_size;        /* OTEL_BSP_MAX_QUEUE_SIZE, 2048 */
    uint32_t schedule_delay_ms;     /* OTEL_BSP_SCHEDULE_DELAY, 5000 */
    uint32_t max_export_batch_size; /* OTEL_BSP_MAX_EXPORT_BATCH_SIZE, 512 */
    uint32_t export_timeout_ms;     /* OTEL_BSP_EXPORT_TIMEOUT, 30000 */
} stitch_batch_opts_t;

/* The defaults, overridden by the OTEL_BSP_* variables when use_env (an
 * invalid value is logged and ignored). */
STITCH_EXTERN void stitch_batch_opts_default(stitch_batch_opts_t *out, bool use_env);

/* A batch processor that owns `exp` (even on failure). `opts` NULL: the
 * environment's. NULL when out of memory or the thread cannot start.
 * on_end never blocks: a full queue drops the span (counted, and logged at
 * most once per 10 s). force_flush exports what was queued before the call
 * and waits for it; shutdown exports what is queued and shuts the exporter
 * down, each export getting the time left; if the exporter overruns the
 * deadline, shutdown returns STITCH_ETIMEDOUT on time and the thread is
 * left to finish (it frees the processor itself). Spans that end after
 * shutdown are counted as dropped. In a forked child the
 * queue starts empty (the parent's spans are discarded unexported), the
 * counters at zero, and a new thread starts on first use, calling the
 * exporter's after_fork_child before its first export. */
STITCH_EXTERN stitch_processor_t *stitch_batch_processor_new(stitch_exporter_t *exp,
                                                            const stitch_batch_opts_t *opts);

typedef struct stitch_batch_stats {
    uint64_t queued;   /* spans accepted onto the queue */
    uint64_t exported; /* spans the exporter delivered */
    uint64_t dropped;  /* spans refused: queue full, or ended after shutdown */
    uint64_t failed;   /* spans in batches the exporter could not deliver, or
                        * still queued when a shutdown's time ran out */
    uint64_t pending;  /* queued - exported - failed: on the queue or being exported */
} stitch_batch_stats_t;

/* Counters of a batch processor, read without a lock; STITCH_EINVAL for
 * another processor. Every span is counted once in queued or dropped. */
STITCH_EXTERN int stitch_batch_processor_stats(stitch_processor_t *p, stitch_batch_stats_t *out);

/* A processor that exports each span synchronously as it ends, on the
 * ending thread (tests, debugging; never in production). Owns `exp`. */
STITCH_EXTERN stitch_processor_t *stitch_simple_processor_new(stitch_exporter_t *exp);

/* ---- one call from the environment ------------------------------------------ */

/* Build a provider from the environment (resource with process.pid and
 * host.name detected, sampler, limits), add a batch processor for each
 * exporter OTEL_TRACES_EXPORTER names (a comma list of otlp (default) |
 * zipkin | console | none), make it the global provider, and shut it down
 * (delivering what is queued, within OTEL_BSP_EXPORT_TIMEOUT) when the
 * program exits; at exit it is not freed, as other threads may still use
 * it. OTEL_SDK_DISABLED=true: a provider that records nothing, no exporter
 * thread. Thread-safe; a second call returns the same provider. `out` may
 * be NULL. Invalid variables are logged and their defaults used; only
 * out-of-memory fails. */
STITCH_EXTERN int stitch_init_from_env(stitch_provider_t **out);
/* Shut down and free the provider stitch_init_from_env made, and reset the
 * global provider; no other thread may use its spans or tracers any more.
 * Nothing to do (0) when there is none. 0 or STITCH_ETIMEDOUT. */
STITCH_EXTERN int stitch_shutdown(uint32_t timeout_ms);

#ifdef __cplusplus
}
#endif
#endif
