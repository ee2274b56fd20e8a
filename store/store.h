/* store/store.h — stitchd's storage interface: the one small surface that
 * the receivers (write side) and the query API (read side) use, so that a
 * second engine (ClickHouse: store/clickhouse.c) sits behind it unchanged;
 * store/store.c picks the engine at open (stitch_store_opts_t.engine).
 *
 * Everything here speaks span records (stitch_span_data_t, the record the
 * wire decoders produce). Trace ids are always 16 bytes; a 64-bit id (Zipkin,
 * Jaeger) is stored with its high 8 bytes zero.
 *
 * Invariants the engines keep:
 *  - stitch_store_append() returns 0 only once the spans are durable (they
 *    survive kill -9 of the process; with sync_full also power loss; with
 *    ClickHouse: the server acknowledged the INSERT) and visible to every
 *    query that starts after it returns.
 *  - a span is identified by (trace id, span id): appending it again (a client
 *    retry) never makes a trace show it twice.
 *  - a trace is found by id alone, whatever the time its spans arrived.
 *  - every function is thread-safe; appends from several receiver threads
 *    are committed together (group commit).
 *
 * Ownership: the store copies what it is given; results (stitch_store_result_t)
 * own the spans they return until stitch_store_result_free(). */
#ifndef STITCH_STORE_H
#define STITCH_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stitch/trace.h"
#include "wire/decode.h"

/* Store-specific outcomes beside common.h's STITCH_E* codes. */
#define STITCH_EBUSY (-20)  /* the write queue is full: answer 503 + Retry-After */
#define STITCH_ENOSPC (-21) /* the disk (or --max-disk) is full: answer 503, say why */

typedef struct stitch_store stitch_store_t;

typedef struct stitch_store_opts {
    const char *dir;            /* data directory; created (mode 0700) if missing */
    bool sync_full;             /* fsync before append() returns (--sync full) */
    uint64_t retention_ns;      /* drop blocks whose newest span is older; 0 = keep */
    uint64_t max_disk_bytes;    /* drop the oldest blocks past this; 0 = no cap */
    uint64_t min_free_bytes;    /* refuse appends (STITCH_ENOSPC) when the file
                                 * system has less free; 0 = 64 MiB */
    size_t max_queue_spans;     /* spans waiting for the committer before
                                 * append() says STITCH_EBUSY; 0 = 262144 */
    /* the engine: NULL, "embedded" (files in dir) or "clickhouse" (then dir,
     * sync_full, max_disk_bytes and min_free_bytes are not used; the strings
     * are copied at open) */
    const char *engine;
    const char *clickhouse_url;      /* http://HOST:PORT; NULL = http://127.0.0.1:8123 */
    const char *clickhouse_database; /* created if missing; NULL = "stitch" */
    const char *clickhouse_cluster;  /* remote_servers name: Distributed tables; NULL = one server */
} stitch_store_opts_t;

/* 0 and *out, or a STITCH_E* code with a message in err (NUL-terminated). */
int stitch_store_open(stitch_store_t **out, const stitch_store_opts_t *opts, char *err,
                      size_t errlen);
/* Finishes pending appends, writes what is buffered, closes. NULL is fine. */
void stitch_store_close(stitch_store_t *s);

/* Durably append n spans (copied). Blocks the caller until they are
 * committed (see the invariants above). 0, STITCH_EBUSY, STITCH_ENOSPC or
 * STITCH_EIO (message logged). n == 0 returns 0. */
int stitch_store_append(stitch_store_t *s, const stitch_span_data_t *const *spans, size_t n);

/* ---- reading -------------------------------------------------------------------- */

/* One trace of a result: spans[first .. first+count) of the result, ordered
 * by start time; each (trace id, span id) appears once. */
typedef struct stitch_store_trace {
    uint8_t trace_id[16];
    size_t first, count;
} stitch_store_trace_t;

/* Spans and the memory they point into. */
typedef struct stitch_store_result {
    stitch_wire_batch_t batch;   /* batch.spans / batch.nspans: every span */
    stitch_store_trace_t *traces;
    size_t ntraces;
} stitch_store_result_t;

void stitch_store_result_init(stitch_store_result_t *r);
void stitch_store_result_free(stitch_store_result_t *r);

/* A tag condition: key and, unless value is NULL, the value it must have
 * when rendered as text ("42", "true", "1.5", "a"). Matched against the
 * span's attributes, its resource's attributes and its events' attributes. */
typedef struct stitch_store_tag {
    const char *key;
    const char *value; /* NULL = the key is present */
} stitch_store_tag_t;

/* A search: every condition must hold on one span of the trace (Jaeger's
 * rule). Zero / NULL fields are unconstrained. */
typedef struct stitch_store_query {
    const char *service;              /* resource service.name */
    const char *operation;            /* span name */
    int kind;                         /* stitch_span_kind_t, or -1 = any */
    const stitch_store_tag_t *tags;
    size_t ntags;
    uint64_t start_min_ns, start_max_ns; /* span start within [min, max] */
    uint64_t duration_min_ns, duration_max_ns;
    size_t limit;                     /* traces; 0 = 20 */
    unsigned status_mask;             /* 0 = any; else bit (1u << stitch_status_code_t)
                                       * for each accepted status code */
} stitch_store_query_t;

/* The whole trace; r->ntraces is 0 when it is unknown. 0 or STITCH_E*. */
int stitch_store_get_trace(stitch_store_t *s, const uint8_t trace_id[16],
                           stitch_store_result_t *r);
/* Up to q->limit whole traces with a span matching q, most recent match
 * first. 0 or STITCH_E*. */
int stitch_store_search(stitch_store_t *s, const stitch_store_query_t *q,
                        stitch_store_result_t *r);

/* Callback lists; a callback returning nonzero stops the walk. */
typedef int (*stitch_store_str_fn)(void *arg, const char *s);
/* Every service name ever stored (retained), sorted. */
int stitch_store_services(stitch_store_t *s, stitch_store_str_fn fn, void *arg);
/* Operations of a service (NULL = all services), sorted by name; kind is
 * the span kind the operation was seen with (one call per name and kind). */
typedef int (*stitch_store_op_fn)(void *arg, const char *service, const char *name, int kind);
int stitch_store_operations(stitch_store_t *s, const char *service, int kind,
                            stitch_store_op_fn fn, void *arg);
/* Zipkin's remoteServices: the peer.service values of a service's spans. */
int stitch_store_remote_services(stitch_store_t *s, const char *service,
                                 stitch_store_str_fn fn, void *arg);

/* Service dependencies: calls from parent service to child service seen in
 * spans that started within [start_ns, end_ns] (a child span whose parent
 * span belongs to another service), with how many of the child spans had
 * an error status. */
typedef struct stitch_store_dep {
    const char *parent, *child;
    uint64_t calls, errors;
} stitch_store_dep_t;
typedef int (*stitch_store_dep_fn)(void *arg, const stitch_store_dep_t *d);
int stitch_store_dependencies(stitch_store_t *s, uint64_t start_ns, uint64_t end_ns,
                              stitch_store_dep_fn fn, void *arg);

/* ---- what /metrics shows -------------------------------------------------------- */

typedef struct stitch_store_stats {
    uint64_t spans_appended;   /* acknowledged by append() since open */
    uint64_t spans_stored;     /* retained spans (head + blocks) */
    uint64_t spans_duplicate;  /* dropped as already stored */
    uint64_t queue_spans;      /* waiting for the committer now */
    uint64_t refused_busy, refused_nospace;
    uint64_t blocks, disk_bytes;
    uint64_t blocks_dropped;   /* by retention or max-disk, since open */
} stitch_store_stats_t;

void stitch_store_get_stats(stitch_store_t *s, stitch_store_stats_t *st);

/* Run retention now (it also runs by itself); for tests and tools. */
int stitch_store_enforce_retention(stitch_store_t *s, uint64_t now_ns);

#endif
