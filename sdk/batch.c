/* sdk/batch.c — the batch span processor: application threads put ended
 * spans on a bounded queue; one background thread takes them off in
 * batches of up to max_export_batch_size and hands them to the exporter,
 * as soon as a batch is ready or every schedule_delay_ms.
 *
 * The queue is one single-producer byte ring per producing thread
 * (registered on the thread's first span, adopted by a later thread when
 * it exits, never freed before the processor), drained by the exporter
 * thread. on_end copies the span's data into a self-contained record on
 * the ring (span_copy.c) and gives the span back to its pool at once, so
 * the application thread keeps reusing the same few spans, hot in its
 * cache; the exporter reads the records in place and frees their bytes
 * after the export that read them. The
 * total is bounded by *credits*: max_queue_size of them exist; a producer
 * takes them from the shared pool a chunk at a time (one atomic RMW per
 * chunk of up to 32 spans, not per span) and the exporter gives them back
 * when it takes spans off the rings. So at most max_queue_size spans wait
 * on the rings in total, plus one batch in the exporter's hands. Each ring
 * is also bounded in bytes (max_queue_size x RING_BYTES_PER_SPAN, a power
 * of two, at most RING_MAX_BYTES): a span whose record does not fit is
 * dropped like one without a credit.
 *
 * Waking. A futex wake costs the producer a system call (~9 us on a VM),
 * so the exporter thread mostly wakes itself. After each look at the
 * rings it measures the arrival rate (over windows of >= 1 ms) and, while
 * the rings would hold a quarter of the queue (at least a batch) within
 * PACE_MAX_NS (5 ms), *naps* for that long (at least PACE_MIN_NS, 200 us;
 * never past the timer): then a
 * producer wakes it only past the high-water mark — 3/4 of max_queue_size
 * used, a ring half full of bytes, or the queue full. Otherwise (slower
 * arrivals, or none in the last window) it sleeps *idle* until the timer,
 * and producers also wake it when a batch's worth is waiting, as each
 * chunk of credits or each max_batch spans pushed shows. So: a full batch
 * waits at most about PACE_MAX_NS (one nap; at once past the high-water
 * mark), a partial one at most schedule_delay_ms; an idle processor's
 * thread wakes once per schedule_delay_ms; force_flush and shutdown always
 * wake it.
 *
 * Invariants:
 *  - on_end never blocks, never allocates in steady state (the ring is
 *    allocated on a thread's first span) and takes no lock: with a credit
 *    in hand and room on the ring, a push is the record's copy and a
 *    release store of the head. Without (queue full in spans or in bytes,
 *    or after shutdown) the span is counted as dropped.
 *  - Every span on_end receives is released at once, on the ending thread,
 *    queued or dropped. A record holds references on the tracestates its
 *    data points to; they are dropped exactly once: by the exporter thread
 *    after the record's export, by the processor's destruction when left
 *    on a ring, or in a forked child, which drops its parent's queued
 *    records without exporting them.
 *  - b->lock is never held across an export or a sleep, so neither the
 *    application nor fork() can wait on the network through it. */
#include <errno.h>
#include <inttypes.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "sdk/span.h"

#define CACHELINE 64
#define CHUNK_MAX 32u                      /* credits a producer takes at once */
#define QUEUE_LIMIT (1u << 22)             /* largest max_queue_size accepted */
#define DROP_WARN_NS (10ull * 1000000000u) /* at most one drop warning per 10 s */
#define NS_PER_MS 1000000ull
#ifndef PACE_MIN_NS
#define PACE_MIN_NS 200000ull  /* shortest nap of a pacing exporter: 200 us */
#endif
#define PACE_MAX_NS 5000000ull /* longest: slower arrivals wake it per batch */
#define PACE_WINDOW_NS 1000000ull /* shortest window the arrival rate is measured over */
#define PACE_SLACK_NS 10000ul  /* timer slack of the exporter thread */

/* How the exporter thread sleeps (b->sleeping): what a producer wakes it for. */
enum { S_AWAKE, S_NAP, S_IDLE };

enum { T_NONE, T_RUNNING, T_DONE };

/* A ring is a power-of-two number of bytes holding variable-size records,
 * each 8-byte aligned and contiguous (it never wraps):
 *
 *     offset  size   field
 *     0       8      header: the slot's size in bytes (header included),
 *                    with REC_SKIP set for a skip marker
 *     8       size-8 a copy of the span's data (span_copy.c), starting
 *                    with its stitch_span_data_t
 *
 * A record that would cross the end is preceded by a skip marker that
 * fills the rest of the ring, and goes at offset 0. Positions (head, tail,
 * rd) count bytes ever written and only grow; offset = position & mask.
 *
 *     tail <= rd <= head,  head - tail <= size
 *     [tail, rd)   collected: the batch in the exporter's hands
 *     [rd, head)   queued
 *
 * The producer's release store of head publishes the records before it;
 * the exporter's release store of tail, made only after the export that
 * read them returned, gives their bytes back. */
#define REC_HDR 8u
#define REC_SKIP (1ull << 63)
#define RING_BYTES_PER_SPAN 512u        /* ring bytes per queue place */
#define RING_MAX_BYTES (64u << 20)      /* cap for huge max_queue_size */
#ifndef RING_PREFETCH
#define RING_PREFETCH 8192u /* how far ahead of head to prefetch for writing */
#endif

struct ring {
    /* written by the producing thread only */
    _Alignas(CACHELINE) _Atomic uint64_t head; /* bytes ever written */
    _Atomic uint64_t pushed;                   /* records ever written (spans queued) */
    uint64_t tail_seen;                        /* tail when last read: room known free */
    uint64_t next_check;                       /* pushed at which to look at the backlog again */
    uint32_t credit;                           /* queue places this thread holds */
    _Atomic uint64_t dropped;
    /* written by the exporter thread only */
    _Alignas(CACHELINE) _Atomic uint64_t tail; /* bytes given back to the producer */
    _Atomic uint64_t taken;                    /* records collected */
    uint64_t rd;                               /* bytes collected */
    uint64_t snap;                             /* head when the current full drain started */
    /* fixed once the ring is published (orphaned changes under reg_lock) */
    _Alignas(CACHELINE) struct ring *next;
    atomic_bool orphaned;
    uint64_t mask; /* size in bytes - 1 */
    _Alignas(CACHELINE) unsigned char bytes[];
};

struct batch {
    /* read-mostly: what on_end reads */
    _Alignas(CACHELINE) uint64_t serial; /* never reused: tells apart processors at one address */
    atomic_bool shut;
    uint32_t max_queue, max_batch, delay_ms, timeout_ms;
    _Atomic uint32_t chunk, wake_at; /* recomputed as rings are added */
    uint32_t high_water;             /* queued spans that wake a napping exporter */
    atomic_bool need_thread;         /* in a forked child, until its thread starts */
    _Atomic(struct ring *) rings;
    stitch_exporter_t *exp;
    struct batch *next_live; /* reg_lock */
    uint32_t nrings;         /* reg_lock */
    /* the credit pool */
    _Alignas(CACHELINE) _Atomic int64_t credits;
    /* waking the exporter thread */
    _Alignas(CACHELINE) _Atomic uint32_t wake_seq;
    atomic_int sleeping; /* S_* */
    _Atomic uint64_t sleeps, wakes; /* the exporter's sleeps, producers' wakes (tests) */
    atomic_uint flush_req;
    atomic_bool stop;
    _Atomic uint64_t dropped_extra; /* drops with no ring to count them on */
    _Atomic uint64_t exported, failed;
    /* the rest: under lock, or the exporter thread's own */
    _Alignas(CACHELINE) pthread_mutex_t lock;
    pthread_cond_t cond; /* thread state and flush completion changes */
    pthread_t thread;
    int state;             /* T_*, under lock */
    bool joined;           /* lock */
    bool destroy_pending;  /* lock: the abandoned thread frees the processor */
    bool after_fork;       /* lock: call exp->after_fork_child before exporting */
    bool shutdown_called;  /* lock */
    unsigned flush_done;   /* lock */
    uint64_t stop_deadline; /* lock; read by the thread after seeing stop */
    const stitch_span_data_t **data; /* the batch in flight: records on the rings */
    uint32_t inflight;               /* [0, inflight) of data, under lock */
    struct ring *rr; /* where the next drain starts (fairness) */
    uint64_t warned_dropped, last_warn_ns; /* exporter thread */
};

/* ---- time and waking ---- */

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct timespec ts_of(uint64_t ns)
{
    return (struct timespec){(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
}

/* ms left until `deadline`, rounded up; 0 when it has passed. */
static uint32_t ms_left(uint64_t deadline)
{
    uint64_t now = mono_ns();
    if (now >= deadline)
        return 0;
    uint64_t ms = (deadline - now + NS_PER_MS - 1) / NS_PER_MS;
    return ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
}

static void futex_wait(_Atomic uint32_t *addr, uint32_t val, uint64_t timeout_ns)
{
    struct timespec ts = ts_of(timeout_ns);
    (void)syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT_PRIVATE, val, &ts, NULL, 0);
}

static void wake_always(struct batch *b)
{
    atomic_fetch_add(&b->wake_seq, 1);
    (void)syscall(SYS_futex, (uint32_t *)&b->wake_seq, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Wake the exporter thread if it sleeps at least as deeply as `level`
 * (S_NAP: any sleep; S_IDLE: only the sleep until the timer); one producer
 * wins the exchange. The fence pairs with the one in batch_main: either we
 * see it asleep, or it sees the spans we pushed before calling this. */
static void wake_if_sleeping(struct batch *b, int level)
{
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&b->sleeping, memory_order_relaxed) >= level &&
        atomic_exchange(&b->sleeping, S_AWAKE) != S_AWAKE) {
        atomic_fetch_add_explicit(&b->wakes, 1, memory_order_relaxed);
        wake_always(b);
    }
}

/* ---- the registry: live processors (fork) and each thread's rings ---- */

struct tl_entry {
    struct batch *b;
    uint64_t serial;
    struct ring *ring;
    struct tl_entry *next;
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct batch *live;
static uint64_t next_serial = 1;
static pthread_once_t reg_once = PTHREAD_ONCE_INIT;
static pthread_key_t tl_key;
static __thread struct tl_entry *tl_last __attribute__((tls_model("initial-exec")));
static __thread struct tl_entry *tl_list __attribute__((tls_model("initial-exec")));

static void batch_thread_start(struct batch *b);
static void release_all(struct batch *b, bool count_failed);

static bool is_live(const struct batch *b, uint64_t serial) /* reg_lock */
{
    for (struct batch *l = live; l; l = l->next_live)
        if (l == b && l->serial == serial)
            return true;
    return false;
}

/* A thread exits: its rings become adoptable, its unused credits go back. */
static void tl_exit(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&reg_lock);
    for (struct tl_entry *e = tl_list, *n; e; e = n) {
        n = e->next;
        if (is_live(e->b, e->serial)) {
            atomic_fetch_add(&e->b->credits, (int64_t)e->ring->credit);
            e->ring->credit = 0;
            atomic_store(&e->ring->orphaned, true);
        }
        free(e);
    }
    tl_list = tl_last = NULL;
    pthread_mutex_unlock(&reg_lock);
}

static void fork_prepare(void)
{
    pthread_mutex_lock(&reg_lock);
    for (struct batch *b = live; b; b = b->next_live)
        pthread_mutex_lock(&b->lock);
}

static void fork_parent(void)
{
    for (struct batch *b = live; b; b = b->next_live)
        pthread_mutex_unlock(&b->lock);
    pthread_mutex_unlock(&reg_lock);
}

/* The child's only thread: every processor starts over with an empty queue
 * (the parent's spans are released, never exported), zeroed counters, and
 * no exporter thread until the child needs one. */
static void fork_child(void)
{
    for (struct batch *b = live; b; b = b->next_live) {
        release_all(b, false);
        for (struct ring *r = atomic_load(&b->rings); r; r = r->next) {
            atomic_store(&r->head, 0);
            atomic_store(&r->pushed, 0);
            atomic_store(&r->tail, 0);
            atomic_store(&r->taken, 0);
            atomic_store(&r->dropped, 0);
            r->tail_seen = r->rd = r->snap = 0;
            r->credit = 0;
            r->next_check = b->max_batch;
            bool mine = false;
            for (struct tl_entry *e = tl_list; e; e = e->next)
                mine |= e->ring == r && e->b == b && e->serial == b->serial;
            atomic_store(&r->orphaned, !mine);
        }
        atomic_store(&b->credits, (int64_t)b->max_queue);
        atomic_store(&b->exported, 0);
        atomic_store(&b->failed, 0);
        atomic_store(&b->dropped_extra, 0);
        atomic_store(&b->sleeping, 0);
        atomic_store(&b->flush_req, 0);
        b->flush_done = 0;
        b->warned_dropped = b->last_warn_ns = 0;
        b->rr = NULL;
        b->after_fork = true;
        b->joined = false;
        b->state = T_NONE;
        atomic_store(&b->need_thread, !atomic_load(&b->shut));
        pthread_mutex_unlock(&b->lock);
        pthread_mutex_init(&b->lock, NULL);
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&b->cond, &ca);
        pthread_condattr_destroy(&ca);
    }
    pthread_mutex_unlock(&reg_lock);
}

static void reg_init(void)
{
    (void)pthread_key_create(&tl_key, tl_exit);
    (void)pthread_atfork(fork_prepare, fork_parent, fork_child);
}

/* Recompute how many credits a producer takes at once and when a refill
 * wakes the exporter; reg_lock. Chunks shrink as threads multiply so the
 * credits idle threads hold stay under 1/8 of the queue. */
static void tune(struct batch *b)
{
    uint32_t c = b->max_queue / (8 * (b->nrings ? b->nrings : 1));
    c = c < 1 ? 1 : c > CHUNK_MAX ? CHUNK_MAX : c;
    uint64_t w = (uint64_t)b->max_batch + (uint64_t)b->nrings * c;
    atomic_store_explicit(&b->chunk, c, memory_order_relaxed);
    atomic_store_explicit(&b->wake_at, w > b->max_queue ? b->max_queue : (uint32_t)w,
                          memory_order_relaxed);
}

static struct ring *ring_new(struct batch *b)
{
    uint64_t cap = CACHELINE, want = (uint64_t)b->max_queue * RING_BYTES_PER_SPAN;
    while (cap < want && cap < RING_MAX_BYTES)
        cap <<= 1;
    size_t size = sizeof(struct ring) + cap;
    struct ring *r = aligned_alloc(CACHELINE, (size + CACHELINE - 1) & ~(size_t)(CACHELINE - 1));
    if (!r)
        return NULL;
    memset(r, 0, sizeof *r);
    r->mask = cap - 1;
    r->next_check = b->max_batch;
    return r;
}

/* The calling thread's ring for `b`: found in its list, adopted from an
 * exited thread, or new. NULL when out of memory. Slow path: once per
 * thread and processor. */
static __attribute__((noinline)) struct ring *ring_attach(struct batch *b)
{
    for (struct tl_entry *e = tl_list; e; e = e->next)
        if (e->b == b && e->serial == b->serial) {
            tl_last = e;
            return e->ring;
        }
    struct tl_entry *ne = malloc(sizeof *ne);
    if (!ne)
        return NULL;
    pthread_mutex_lock(&reg_lock);
    /* forget the entries of processors that are gone */
    for (struct tl_entry **pe = &tl_list; *pe;) {
        struct tl_entry *e = *pe;
        if (!is_live(e->b, e->serial)) {
            *pe = e->next;
            if (tl_last == e)
                tl_last = NULL;
            free(e);
        } else {
            pe = &e->next;
        }
    }
    struct ring *r;
    for (r = atomic_load(&b->rings); r; r = r->next) {
        bool yes = true;
        if (atomic_compare_exchange_strong(&r->orphaned, &yes, false))
            break;
    }
    if (!r && (r = ring_new(b))) {
        r->next = atomic_load(&b->rings);
        atomic_store_explicit(&b->rings, r, memory_order_release);
        b->nrings++;
        tune(b);
    }
    pthread_mutex_unlock(&reg_lock);
    if (!r) {
        free(ne);
        return NULL;
    }
    r->next_check = 0; /* an adopted ring may hold a backlog */
    *ne = (struct tl_entry){b, b->serial, r, tl_list};
    tl_list = tl_last = ne;
    (void)pthread_setspecific(tl_key, ne); /* so tl_exit runs */
    return r;
}

/* ---- the producer side ---- */

static void ensure_thread(struct batch *b)
{
    pthread_mutex_lock(&b->lock);
    if (atomic_load(&b->need_thread)) {
        atomic_store(&b->need_thread, false);
        if (b->state == T_NONE && !atomic_load(&b->shut))
            batch_thread_start(b);
    }
    pthread_mutex_unlock(&b->lock);
}

/* Take a chunk of credits; false when the queue is full. */
static __attribute__((noinline)) bool refill(struct batch *b, struct ring *r)
{
    if (STITCH_UNLIKELY(atomic_load_explicit(&b->need_thread, memory_order_relaxed)))
        ensure_thread(b);
    int64_t c = atomic_load_explicit(&b->credits, memory_order_relaxed), take;
    do {
        if (c <= 0) {
            wake_if_sleeping(b, S_NAP); /* full: the exporter should be at work */
            return false;
        }
        int64_t want = atomic_load_explicit(&b->chunk, memory_order_relaxed);
        take = c < want ? c : want;
    } while (!atomic_compare_exchange_weak_explicit(&b->credits, &c, c - take,
                                                    memory_order_acquire, memory_order_relaxed));
    r->credit = (uint32_t)take;
    /* Spans waiting plus credits held unused is at least this; wake_at
     * leaves room for the unused ones, so the exporter finds a batch. A
     * napping exporter comes back by itself: it is woken only past the
     * high-water mark. */
    int64_t used = (int64_t)b->max_queue - (c - take);
    if (used >= (int64_t)b->high_water)
        wake_if_sleeping(b, S_NAP);
    else if (used >= (int64_t)atomic_load_explicit(&b->wake_at, memory_order_relaxed))
        wake_if_sleeping(b, S_IDLE);
    return true;
}

/* This ring alone may hold a batch: look at what the exporter took. A
 * napping exporter is woken only when the ring is half full of bytes. */
static __attribute__((noinline)) void ring_check(struct batch *b, struct ring *r, uint64_t h)
{
    uint64_t t = atomic_load_explicit(&r->taken, memory_order_acquire);
    if (h - t >= b->max_batch) {
        r->next_check = h + b->max_batch;
        uint64_t bytes = atomic_load_explicit(&r->head, memory_order_relaxed) -
                         atomic_load_explicit(&r->tail, memory_order_acquire);
        wake_if_sleeping(b, bytes > (r->mask + 1) / 2 ? S_NAP : S_IDLE);
    } else {
        r->next_check = t + b->max_batch;
    }
}

/* Bytes from `h` to the end of the ring when a slot of `need` bytes at h
 * would cross it (the skip marker's size), else 0. */
static inline uint64_t ring_pad(const struct ring *r, uint64_t h, uint64_t need)
{
    uint64_t off = h & r->mask;
    return off + need > r->mask + 1 ? r->mask + 1 - off : 0;
}

/* Ask for a cache line in a state that can be written (PREFETCHW: the
 * other core's copy is invalidated ahead of the store). GCC emits it for
 * __builtin_prefetch(p, 1) only with -mprfchw; every x86-64 CPU either
 * implements it or executes it as a NOP. */
static inline void prefetch_write(const void *p)
{
#if defined(__x86_64__)
    __asm__ volatile("prefetchw %0" : : "m"(*(const char *)p));
#else
    __builtin_prefetch(p, 1);
#endif
}

/* Copy s's data onto the ring as one record and publish it; false when it does
 * not fit (ring full in bytes, or a span bigger than the ring). */
static inline bool ring_push(struct batch *b, struct ring *r, const stitch_span_t *s)
{
    size_t chars_at;
    uint64_t need = REC_HDR + stitch__span_record_size(s, &chars_at);
    uint64_t size = r->mask + 1;
    uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
    uint64_t pad = ring_pad(r, h, need);
    if (STITCH_UNLIKELY(h + pad + need - r->tail_seen > size)) {
        r->tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
        if (h + pad + need - r->tail_seen > size) {
            if (need <= size)
                wake_if_sleeping(b, S_NAP); /* full of bytes: the exporter should be at work */
            return false;
        }
    }
    unsigned char *p = r->bytes + (h & r->mask);
    if (pad) {
        *(uint64_t *)(void *)p = REC_SKIP | pad;
        h += pad;
        p = r->bytes;
    }
    *(uint64_t *)(void *)p = need;
    (void)stitch__span_record(p + REC_HDR, chars_at, s);
    atomic_store_explicit(&r->pushed, atomic_load_explicit(&r->pushed, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    atomic_store_explicit(&r->head, h + need, memory_order_release);
    /* The bytes a few records ahead were last read by the exporter thread
     * on another core: start taking their lines back now, so that the
     * stores of the next records do not wait for them. */
    for (uint64_t o = 0; o < need; o += CACHELINE)
        prefetch_write(r->bytes + ((h + need + RING_PREFETCH + o) & r->mask));
    return true;
}

static void count_drop(struct ring *r)
{
    atomic_store_explicit(&r->dropped, atomic_load_explicit(&r->dropped, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

static void batch_on_end(void *self, stitch_span_t *s)
{
    struct batch *b = self;
    struct tl_entry *e = tl_last;
    struct ring *r;
    if (STITCH_LIKELY(e && e->b == b && e->serial == b->serial)) {
        r = e->ring;
    } else if (!(r = ring_attach(b))) {
        atomic_fetch_add_explicit(&b->dropped_extra, 1, memory_order_relaxed);
        stitch_span_release(s);
        return;
    }
    if (STITCH_UNLIKELY(atomic_load_explicit(&b->shut, memory_order_relaxed)) ||
        (STITCH_UNLIKELY(!r->credit) && !refill(b, r)) || !ring_push(b, r, s)) {
        count_drop(r);
        stitch_span_release(s);
        return;
    }
    r->credit--;
    stitch_span_release(s); /* the record is on the ring: the span may be reused now */
    uint64_t n = atomic_load_explicit(&r->pushed, memory_order_relaxed);
    if (STITCH_UNLIKELY(n >= r->next_check))
        ring_check(b, r, n);
}

/* ---- the exporter side ---- */

static uint64_t backlog(struct batch *b, bool *bytes_full)
{
    uint64_t n = 0;
    for (struct ring *r = atomic_load_explicit(&b->rings, memory_order_acquire); r; r = r->next) {
        n += atomic_load_explicit(&r->pushed, memory_order_acquire) -
             atomic_load_explicit(&r->taken, memory_order_relaxed);
        /* half the ring's bytes queued: big spans, export before it fills */
        if (atomic_load_explicit(&r->head, memory_order_acquire) - r->rd > (r->mask + 1) / 2)
            *bytes_full = true;
    }
    return n;
}

static bool batch_ready(struct batch *b)
{
    bool bytes_full = false;
    uint64_t n = backlog(b, &bytes_full);
    return n >= b->max_batch || (n && (bytes_full || atomic_load(&b->credits) <= 0));
}

/* What would make a producer wake a napping exporter. */
static bool past_high_water(struct batch *b)
{
    bool bytes_full = false;
    uint64_t n = backlog(b, &bytes_full);
    return n >= b->high_water || (n && (bytes_full || atomic_load(&b->credits) <= 0));
}

static uint64_t total_pushed(struct batch *b)
{
    uint64_t n = 0;
    for (struct ring *r = atomic_load_explicit(&b->rings, memory_order_acquire); r; r = r->next)
        n += atomic_load_explicit(&r->pushed, memory_order_relaxed);
    return n;
}

/* The exporter thread's estimate of the arrival rate, over windows of at
 * least PACE_WINDOW_NS (so that bursts average out). */
struct pacer {
    uint64_t seen, seen_ns; /* spans pushed, and when, at the window's start */
    uint64_t ns_per_span;   /* over the last window; 0: none arrived */
};

/* How long to sleep, and how (S_NAP or S_IDLE), with no full batch
 * queued: the time in which the rings should hold a quarter of the queue
 * (at least a batch) at the last window's rate, within [PACE_MIN_NS,
 * PACE_MAX_NS]. When that is longer than
 * PACE_MAX_NS (slow arrivals) or nothing arrived in the last window, sleep
 * until the timer and let a producer wake us for a full batch. */
static int pace(struct batch *b, struct pacer *pc, uint64_t now, uint64_t next_timer,
                uint64_t *sleep_ns)
{
    uint64_t pushed = total_pushed(b), dt = now - pc->seen_ns;
    if (dt >= PACE_WINDOW_NS) {
        uint64_t arrived = pushed - pc->seen;
        pc->ns_per_span = arrived ? (dt + arrived - 1) / arrived : 0;
        pc->seen = pushed;
        pc->seen_ns = now;
    }
    *sleep_ns = next_timer - now;
    if (!pc->ns_per_span || pc->ns_per_span > PACE_MAX_NS)
        return S_IDLE;
    bool unused;
    uint64_t queued = backlog(b, &unused);
    if ((queued < b->max_batch ? b->max_batch - queued : 1) * pc->ns_per_span > PACE_MAX_NS)
        return S_IDLE; /* slower than a batch per PACE_MAX_NS */
    uint64_t want = b->max_queue / 4 > b->max_batch ? b->max_queue / 4 : b->max_batch;
    uint64_t nap = (queued < want ? want - queued : 1) * pc->ns_per_span;
    nap = nap > PACE_MAX_NS ? PACE_MAX_NS : nap;
    nap = nap < PACE_MIN_NS ? PACE_MIN_NS : nap;
    if (nap < *sleep_ns)
        *sleep_ns = nap;
    return S_NAP;
}

/* The next record of `r` at or after *rd, before `h`; NULL when none.
 * Skips the skip markers; *rd is left just past the record. */
static const stitch_span_data_t *ring_next(const struct ring *r, uint64_t *rd, uint64_t h)
{
    while (*rd < h) {
        const unsigned char *p = r->bytes + (*rd & r->mask);
        uint64_t hdr = *(const uint64_t *)(const void *)p;
        if (hdr & REC_SKIP) {
            *rd += hdr & ~REC_SKIP;
            continue;
        }
        *rd += hdr;
        return (const stitch_span_data_t *)(const void *)(p + REC_HDR);
    }
    return NULL;
}

/* Take up to one batch off the rings (each up to its snapshot when
 * `snap`) into b->data and give the credits back; the records stay on the
 * rings until retire_inflight. Returns the count. */
static uint32_t collect(struct batch *b, bool snap)
{
    uint32_t n = 0, max = b->max_batch;
    pthread_mutex_lock(&b->lock);
    struct ring *first = atomic_load_explicit(&b->rings, memory_order_acquire);
    struct ring *start = b->rr ? b->rr : first, *r = start;
    while (r) {
        uint64_t rd = r->rd;
        uint64_t h = snap ? r->snap : atomic_load_explicit(&r->head, memory_order_acquire);
        uint32_t k = 0;
        const stitch_span_data_t *d;
        while (n < max && (d = ring_next(r, &rd, h))) {
            b->data[n++] = d;
            k++;
        }
        r->rd = rd;
        if (k)
            atomic_store_explicit(&r->taken,
                                  atomic_load_explicit(&r->taken, memory_order_relaxed) + k,
                                  memory_order_release);
        if (n == max)
            break; /* start here next time: this ring may hold more */
        r = r->next ? r->next : first;
        if (r == start)
            break;
    }
    b->rr = r;
    b->inflight = n;
    pthread_mutex_unlock(&b->lock);
    if (n)
        atomic_fetch_add_explicit(&b->credits, n, memory_order_release);
    return n;
}

/* Done with the batch in flight: drop the references its records hold,
 * then give their bytes back to the producers; lock held. */
static void retire_inflight(struct batch *b)
{
    for (uint32_t i = 0; i < b->inflight; i++)
        stitch__span_copy_drop(b->data[i]);
    b->inflight = 0;
    for (struct ring *r = atomic_load_explicit(&b->rings, memory_order_acquire); r; r = r->next)
        if (atomic_load_explicit(&r->tail, memory_order_relaxed) != r->rd)
            atomic_store_explicit(&r->tail, r->rd, memory_order_release);
}

static void export_inflight(struct batch *b, uint32_t n, uint32_t timeout_ms)
{
    int rc = b->exp->ops->export_spans(b->exp->self, b->data, n, timeout_ms);
    atomic_fetch_add_explicit(rc == STITCH_OK ? &b->exported : &b->failed, n,
                              memory_order_relaxed);
    pthread_mutex_lock(&b->lock);
    retire_inflight(b);
    pthread_mutex_unlock(&b->lock);
}

/* Export everything on the rings now (not what arrives meanwhile). With a
 * deadline, exports get the time left, and spans still queued when it
 * passes are released and counted as failed. */
static void drain_all(struct batch *b, uint64_t deadline)
{
    for (struct ring *r = atomic_load_explicit(&b->rings, memory_order_acquire); r; r = r->next)
        r->snap = atomic_load_explicit(&r->head, memory_order_acquire);
    uint32_t n;
    while ((n = collect(b, true))) {
        uint32_t t = b->timeout_ms;
        if (deadline) {
            uint32_t left = ms_left(deadline);
            if (!left) {
                atomic_fetch_add_explicit(&b->failed, n, memory_order_relaxed);
                pthread_mutex_lock(&b->lock);
                retire_inflight(b);
                pthread_mutex_unlock(&b->lock);
                continue;
            }
            t = left < t ? left : t;
        }
        export_inflight(b, n, t);
    }
}

static uint64_t total_dropped(struct batch *b)
{
    uint64_t d = atomic_load_explicit(&b->dropped_extra, memory_order_relaxed);
    for (struct ring *r = atomic_load_explicit(&b->rings, memory_order_acquire); r; r = r->next)
        d += atomic_load_explicit(&r->dropped, memory_order_relaxed);
    return d;
}

static void warn_drops(struct batch *b, bool now_anyway)
{
    uint64_t d = total_dropped(b);
    if (d == b->warned_dropped)
        return;
    uint64_t now = mono_ns();
    if (!now_anyway && b->last_warn_ns && now - b->last_warn_ns < DROP_WARN_NS)
        return;
    stitch__log(STITCH_LOG_WARN,
                "batch span processor: queue full (max_queue_size=%" PRIu32 "), dropped %" PRIu64
                " span(s) since the last warning",
                b->max_queue, d - b->warned_dropped);
    b->warned_dropped = d;
    b->last_warn_ns = now;
}

static void batch_free(struct batch *b);

static void *batch_main(void *arg)
{
    struct batch *b = arg;
    pthread_mutex_lock(&b->lock);
    bool forked = b->after_fork;
    b->after_fork = false;
    unsigned flush_done = b->flush_done;
    pthread_mutex_unlock(&b->lock);
    if (forked && b->exp->ops->after_fork_child)
        b->exp->ops->after_fork_child(b->exp->self);
    (void)prctl(PR_SET_TIMERSLACK, PACE_SLACK_NS, 0, 0, 0); /* naps of tens of us */
    uint64_t next_timer = mono_ns() + b->delay_ms * NS_PER_MS;
    struct pacer pc = {total_pushed(b), mono_ns(), 0};
    while (!atomic_load(&b->stop)) {
        unsigned fr = atomic_load(&b->flush_req);
        if (fr != flush_done) {
            drain_all(b, 0);
            if (b->exp->ops->force_flush)
                (void)b->exp->ops->force_flush(b->exp->self, b->timeout_ms);
            pthread_mutex_lock(&b->lock);
            b->flush_done = flush_done = fr;
            pthread_cond_broadcast(&b->cond);
            pthread_mutex_unlock(&b->lock);
            next_timer = mono_ns() + b->delay_ms * NS_PER_MS;
            continue;
        }
        uint64_t now = mono_ns();
        if (now >= next_timer) {
            drain_all(b, 0);
            next_timer = mono_ns() + b->delay_ms * NS_PER_MS;
            warn_drops(b, false);
            continue;
        }
        if (batch_ready(b)) {
            uint32_t n;
            do {
                if (!(n = collect(b, false)))
                    break;
                export_inflight(b, n, b->timeout_ms);
            } while (batch_ready(b) && !atomic_load(&b->stop));
            continue;
        }
        warn_drops(b, false);
        uint64_t sleep_ns;
        int how = pace(b, &pc, now, next_timer, &sleep_ns);
        uint32_t seq = atomic_load(&b->wake_seq);
        atomic_store(&b->sleeping, how);
        atomic_thread_fence(memory_order_seq_cst);
        if (!(how == S_NAP ? past_high_water(b) : batch_ready(b)) &&
            atomic_load(&b->flush_req) == fr && !atomic_load(&b->stop))
        {
            atomic_fetch_add_explicit(&b->sleeps, 1, memory_order_relaxed);
            futex_wait(&b->wake_seq, seq, sleep_ns);
        }
        atomic_store(&b->sleeping, S_AWAKE);
    }
    pthread_mutex_lock(&b->lock);
    uint64_t deadline = b->stop_deadline;
    pthread_mutex_unlock(&b->lock);
    drain_all(b, deadline);
    uint32_t left = ms_left(deadline);
    if (left && b->exp->ops->shutdown)
        (void)b->exp->ops->shutdown(b->exp->self, left);
    warn_drops(b, true);
    pthread_mutex_lock(&b->lock);
    b->state = T_DONE;
    pthread_cond_broadcast(&b->cond);
    bool free_me = b->destroy_pending;
    pthread_mutex_unlock(&b->lock);
    if (free_me) /* shutdown gave up on us and the processor is gone */
        batch_free(b);
    return NULL;
}

/* Start the exporter thread, with every signal blocked (the application's
 * handlers never run on it); b->lock held. */
static void batch_thread_start(struct batch *b)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&b->thread, NULL, batch_main, b);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        stitch__log(STITCH_LOG_ERROR, "batch span processor: cannot start its thread (error %d)",
                    rc);
        return;
    }
    (void)pthread_setname_np(b->thread, "stitch-batch");
    b->state = T_RUNNING;
    b->joined = false;
}

/* ---- force_flush, shutdown, destroy ---- */

static int batch_force_flush(void *self, uint32_t timeout_ms)
{
    struct batch *b = self;
    uint64_t deadline = mono_ns() + timeout_ms * NS_PER_MS;
    if (atomic_load(&b->need_thread))
        ensure_thread(b);
    pthread_mutex_lock(&b->lock);
    if (b->state != T_RUNNING || atomic_load(&b->stop)) {
        pthread_mutex_unlock(&b->lock);
        return STITCH_OK; /* shut down: the queue was drained then */
    }
    unsigned my = atomic_fetch_add(&b->flush_req, 1) + 1;
    wake_always(b);
    struct timespec ts = ts_of(deadline);
    int rc = 0;
    while ((int)(b->flush_done - my) < 0 && b->state == T_RUNNING && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&b->cond, &b->lock, &ts);
    bool ok = (int)(b->flush_done - my) >= 0 || b->state == T_DONE; /* shutdown drained it */
    pthread_mutex_unlock(&b->lock);
    return ok ? STITCH_OK : STITCH_ETIMEDOUT;
}

static int batch_shutdown(void *self, uint32_t timeout_ms)
{
    struct batch *b = self;
    uint64_t deadline = mono_ns() + timeout_ms * NS_PER_MS;
    atomic_store(&b->shut, true);
    pthread_mutex_lock(&b->lock);
    if (b->shutdown_called) {
        pthread_mutex_unlock(&b->lock);
        return STITCH_OK;
    }
    b->shutdown_called = true;
    if (b->state != T_RUNNING) {
        /* no thread (a forked child that never needed one): do it here */
        bool forked = b->after_fork;
        b->after_fork = false;
        pthread_mutex_unlock(&b->lock);
        if (forked && b->exp->ops->after_fork_child)
            b->exp->ops->after_fork_child(b->exp->self);
        drain_all(b, deadline);
        uint32_t left = ms_left(deadline);
        if (left && b->exp->ops->shutdown)
            (void)b->exp->ops->shutdown(b->exp->self, left);
        return STITCH_OK;
    }
    b->stop_deadline = deadline;
    atomic_store(&b->stop, true);
    wake_always(b);
    struct timespec ts = ts_of(deadline);
    int rc = 0;
    while (b->state == T_RUNNING && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&b->cond, &b->lock, &ts);
    bool done = b->state == T_DONE;
    if (!done) {
        /* The exporter ignores its timeout. Joining could wait forever:
         * let the thread go; whoever finishes last frees the processor. */
        pthread_detach(b->thread);
        b->joined = true;
        pthread_mutex_unlock(&b->lock);
        stitch__log(STITCH_LOG_WARN,
                    "batch span processor: the exporter did not return within the %" PRIu32
                    " ms shutdown timeout; leaving its thread behind",
                    timeout_ms);
        return STITCH_ETIMEDOUT;
    }
    bool join = !b->joined;
    b->joined = true;
    pthread_mutex_unlock(&b->lock);
    if (join)
        pthread_join(b->thread, NULL);
    return STITCH_OK;
}

/* Drop every record still queued or in flight, unexported (lock held, or
 * the only thread in a forked child). */
static void release_all(struct batch *b, bool count_failed)
{
    uint64_t n = b->inflight;
    retire_inflight(b);
    for (struct ring *r = atomic_load(&b->rings); r; r = r->next) {
        uint64_t h = atomic_load(&r->head), k = 0;
        const stitch_span_data_t *d;
        while ((d = ring_next(r, &r->rd, h))) {
            stitch__span_copy_drop(d);
            k++;
        }
        n += k;
        atomic_store(&r->taken, atomic_load(&r->taken) + k);
        atomic_store(&r->tail, r->rd);
    }
    if (count_failed)
        atomic_fetch_add(&b->failed, n);
}

static void batch_free(struct batch *b)
{
    pthread_mutex_lock(&b->lock);
    release_all(b, true);
    pthread_mutex_unlock(&b->lock);
    for (struct ring *r = atomic_load(&b->rings), *n; r; r = n) {
        n = r->next;
        free(r);
    }
    stitch_exporter_free(b->exp);
    free(b->data);
    pthread_mutex_destroy(&b->lock);
    pthread_cond_destroy(&b->cond);
    free(b);
}

static void batch_destroy(void *self)
{
    struct batch *b = self;
    (void)batch_shutdown(b, b->timeout_ms); /* no-op when the provider did it */
    pthread_mutex_lock(&reg_lock);
    for (struct batch **pb = &live; *pb; pb = &(*pb)->next_live)
        if (*pb == b) {
            *pb = b->next_live;
            break;
        }
    pthread_mutex_unlock(&reg_lock);
    pthread_mutex_lock(&b->lock);
    if (b->state == T_RUNNING) { /* abandoned by shutdown: it frees b */
        b->destroy_pending = true;
        pthread_mutex_unlock(&b->lock);
        return;
    }
    pthread_mutex_unlock(&b->lock);
    batch_free(b);
}

static const stitch_processor_ops_t batch_ops = {
    .on_end = batch_on_end,
    .force_flush = batch_force_flush,
    .shutdown = batch_shutdown,
    .destroy = batch_destroy,
};

/* ---- options ---- */

#define DEF_QUEUE 2048u
#define DEF_DELAY 5000u
#define DEF_BATCH 512u
#define DEF_TIMEOUT 30000u

static void env_u32(uint32_t *v, const char *name)
{
    const char *s = stitch__getenv(name);
    if (!s)
        return;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || errno || *end || n == 0 || n > UINT32_MAX) {
        stitch__log(STITCH_LOG_WARN, "%s=\"%s\" is not a positive integer; using the default %" PRIu32,
                    name, s, *v);
        return;
    }
    *v = (uint32_t)n;
}

/* Replace values that make no sense, with a warning each. */
static void opts_check(stitch_batch_opts_t *o)
{
    if (!o->max_queue_size) {
        stitch__log(STITCH_LOG_WARN, "batch span processor: max_queue_size 0; using %u", DEF_QUEUE);
        o->max_queue_size = DEF_QUEUE;
    } else if (o->max_queue_size > QUEUE_LIMIT) {
        stitch__log(STITCH_LOG_WARN, "batch span processor: max_queue_size %" PRIu32
                    " is over the limit; using %u", o->max_queue_size, QUEUE_LIMIT);
        o->max_queue_size = QUEUE_LIMIT;
    }
    if (!o->max_export_batch_size) {
        stitch__log(STITCH_LOG_WARN, "batch span processor: max_export_batch_size 0; using %u",
                    DEF_BATCH);
        o->max_export_batch_size = DEF_BATCH;
    }
    if (o->max_export_batch_size > o->max_queue_size) {
        stitch__log(STITCH_LOG_WARN,
                    "batch span processor: max_export_batch_size %" PRIu32
                    " is larger than max_queue_size; using %" PRIu32,
                    o->max_export_batch_size, o->max_queue_size);
        o->max_export_batch_size = o->max_queue_size;
    }
    if (!o->schedule_delay_ms) {
        stitch__log(STITCH_LOG_WARN, "batch span processor: schedule_delay 0; using %u ms", DEF_DELAY);
        o->schedule_delay_ms = DEF_DELAY;
    }
    if (!o->export_timeout_ms) {
        stitch__log(STITCH_LOG_WARN, "batch span processor: export_timeout 0; using %u ms",
                    DEF_TIMEOUT);
        o->export_timeout_ms = DEF_TIMEOUT;
    }
}

void stitch_batch_opts_default(stitch_batch_opts_t *out, bool use_env)
{
    *out = (stitch_batch_opts_t){DEF_QUEUE, DEF_DELAY, DEF_BATCH, DEF_TIMEOUT};
    if (!use_env)
        return;
    env_u32(&out->max_queue_size, "OTEL_BSP_MAX_QUEUE_SIZE");
    env_u32(&out->schedule_delay_ms, "OTEL_BSP_SCHEDULE_DELAY");
    env_u32(&out->max_export_batch_size, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE");
    env_u32(&out->export_timeout_ms, "OTEL_BSP_EXPORT_TIMEOUT");
    opts_check(out);
}

/* ---- creation and counters ---- */

stitch_processor_t *stitch_batch_processor_new(stitch_exporter_t *exp,
                                               const stitch_batch_opts_t *opts)
{
    if (!exp)
        return NULL;
    stitch_batch_opts_t o;
    if (opts)
        o = *opts;
    else
        stitch_batch_opts_default(&o, true);
    opts_check(&o);
    struct batch *b = aligned_alloc(CACHELINE, (sizeof *b + CACHELINE - 1) & ~(size_t)(CACHELINE - 1));
    if (!b) {
        stitch_exporter_free(exp);
        return NULL;
    }
    memset(b, 0, sizeof *b);
    b->exp = exp;
    b->max_queue = o.max_queue_size;
    b->max_batch = o.max_export_batch_size;
    b->delay_ms = o.schedule_delay_ms;
    b->timeout_ms = o.export_timeout_ms;
    b->high_water = b->max_queue - b->max_queue / 4;
    atomic_store(&b->credits, (int64_t)b->max_queue);
    b->data = malloc(b->max_batch * sizeof *b->data);
    pthread_mutex_init(&b->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&b->cond, &ca);
    pthread_condattr_destroy(&ca);
    stitch_processor_t *p = b->data ? stitch_processor_new(&batch_ops, b) : NULL;
    if (!p) {
        batch_free(b);
        return NULL;
    }
    /* registered before its thread starts, so a fork() sees it whole */
    pthread_once(&reg_once, reg_init);
    pthread_mutex_lock(&reg_lock);
    b->serial = next_serial++;
    tune(b);
    b->next_live = live;
    live = b;
    pthread_mutex_unlock(&reg_lock);
    pthread_mutex_lock(&b->lock);
    batch_thread_start(b);
    bool ok = b->state == T_RUNNING;
    if (!ok)
        b->shutdown_called = true; /* nothing to shut down */
    pthread_mutex_unlock(&b->lock);
    if (!ok) {
        stitch_processor_free(p); /* batch_destroy: unregisters and frees */
        return NULL;
    }
    return p;
}

uint64_t stitch__batch_sleeps(stitch_processor_t *p)
{
    return p && p->ops == &batch_ops ? atomic_load(&((struct batch *)p->self)->sleeps) : 0;
}

uint64_t stitch__batch_wakes(stitch_processor_t *p)
{
    return p && p->ops == &batch_ops ? atomic_load(&((struct batch *)p->self)->wakes) : 0;
}

int stitch_batch_processor_stats(stitch_processor_t *p, stitch_batch_stats_t *out)
{
    if (!p || !out || p->ops != &batch_ops)
        return STITCH_EINVAL;
    struct batch *b = p->self;
    /* done counters first: they never pass the heads read after them */
    uint64_t exported = atomic_load(&b->exported), failed = atomic_load(&b->failed);
    uint64_t queued = 0, dropped = atomic_load(&b->dropped_extra);
    for (struct ring *r = atomic_load_explicit(&b->rings, memory_order_acquire); r; r = r->next) {
        queued += atomic_load_explicit(&r->pushed, memory_order_acquire);
        dropped += atomic_load_explicit(&r->dropped, memory_order_relaxed);
    }
    *out = (stitch_batch_stats_t){queued, exported, dropped, failed, queued - exported - failed};
    return STITCH_OK;
}
