/* daemon/forward_internal.h — what forward.c and forward_spool.c share:
 * the forwarder's queue of chunks (one chunk = one send) and, with
 * --forward-spool, each chunk's file. Nothing else includes it. */
#ifndef STITCHD_FORWARD_INTERNAL_H
#define STITCHD_FORWARD_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon/forward.h"
#include "sdk/http.h"
#include "wire/wire.h"

/* One send carries at most this much (before gzip). */
#define CHUNK_MAX_BYTES (4u << 20)

typedef struct chunk {
    struct chunk *next;
    stitch_buf_t buf;
    uint64_t nspans;
    uint64_t first_ns; /* when its first span was queued */
    /* with a spool: the chunk's file (<seq>.chunk), open while pushes may
     * still append to it; sealed = no more appends */
    uint64_t seq;
    int fd;
    bool sealed;
} chunk_t;

struct forwarder {
    forwarder_opts_t o;
    char url[2048];
    char spool[4200];     /* this upstream's spool directory; "" = memory only */
    uint64_t next_seq;
    stitch__http_t *http;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t th;
    bool started, stop;
    uint64_t drain_until; /* when stopping: give up at this time */
    chunk_t *head, *tail;
    uint64_t bytes, spans; /* queued or in flight */
    /* metrics */
    _Atomic uint64_t sent_spans, sent_reqs, failed_reqs, dropped_spans, lost_spans, refused_spans;
    _Atomic uint64_t up; /* 1 after a success, 0 after a failure */
};


/* ---- the spool (forward_spool.c); all but spool_open/spool_load under f->mu ---- */
int spool_open(forwarder_t *f, const char *root, uint64_t url_hash, char *err, size_t errlen);
long spool_load(forwarder_t *f, char *err, size_t errlen);
int spool_create(forwarder_t *f, chunk_t *c);
int spool_append(forwarder_t *f, chunk_t *c, const uint8_t *p, size_t len, size_t nspans);
void spool_remove(forwarder_t *f, chunk_t *c);
void spool_seal(chunk_t *c);

#endif
