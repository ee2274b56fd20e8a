/* sdk/span.c — spans: start, attributes, events, links, status, end, and
 * the per-thread pools they live in.
 *
 * Invariants:
 *  - stitch_span_start never returns NULL and never blocks; a span that is
 *    not recording costs an id and a pool pop, and still carries a context.
 *  - A span belongs to the pool of the thread that allocated it. The owner
 *    thread pushes and pops its free list without atomics; any other thread
 *    that releases a span pushes it on the pool's lock-free "remote" stack,
 *    which the owner takes whole (atomic exchange, so no ABA) when its own
 *    list runs dry.
 *  - A pool outlives its thread: at thread exit it is marked orphaned and a
 *    later thread adopts it, so spans released after their thread ended
 *    always have somewhere to go. After fork() the child's only thread keeps
 *    its pool; all others become adoptable.
 *  - All memory a recorded span's data points to is owned by the span
 *    (inline room, then arena chunks kept across reuse up to
 *    SPAN_ARENA_KEEP bytes). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "sdk/span.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

struct span_pool {
    stitch_span_t *free;                /* owner thread only */
    _Atomic(stitch_span_t *) remote;    /* pushed by other threads */
    struct span_pool *next_all;
    atomic_bool orphaned;
};

static __thread struct span_pool *tl_pool __attribute__((tls_model("initial-exec")));
static pthread_mutex_t pools_lock = PTHREAD_MUTEX_INITIALIZER;
static struct span_pool *all_pools;
static pthread_key_t pool_key;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

/* Returned when a span cannot be allocated: records nothing, ends as a no-op. */
static stitch_span_t oom_span;

/* ---- pools ---- */

static void pool_detach(void *arg)
{
    struct span_pool *pl = arg;
    tl_pool = NULL;
    atomic_store(&pl->orphaned, true);
}

static void fork_prepare(void) { pthread_mutex_lock(&pools_lock); }
static void fork_parent(void) { pthread_mutex_unlock(&pools_lock); }
static void fork_child(void)
{
    for (struct span_pool *pl = all_pools; pl; pl = pl->next_all)
        if (pl != tl_pool)
            atomic_store(&pl->orphaned, true);
    pthread_mutex_unlock(&pools_lock);
}

static void pool_once_init(void)
{
    (void)pthread_key_create(&pool_key, pool_detach);
    pthread_atfork(fork_prepare, fork_parent, fork_child);
}

static struct span_pool *pool_attach(void)
{
    pthread_once(&pool_once, pool_once_init);
    struct span_pool *pl;
    pthread_mutex_lock(&pools_lock);
    for (pl = all_pools; pl; pl = pl->next_all) {
        bool yes = true;
        if (atomic_compare_exchange_strong(&pl->orphaned, &yes, false))
            break;
    }
    if (!pl && (pl = calloc(1, sizeof *pl))) {
        pl->next_all = all_pools;
        all_pools = pl;
    }
    pthread_mutex_unlock(&pools_lock);
    if (pl) {
        tl_pool = pl;
        (void)pthread_setspecific(pool_key, pl);
    }
    return pl;
}

stitch_span_t *stitch__span_alloc(void)
{
    struct span_pool *pl = tl_pool;
    if (STITCH_UNLIKELY(!pl) && !(pl = pool_attach()))
        return NULL;
    stitch_span_t *s = pl->free;
    if (STITCH_LIKELY(s)) {
        pl->free = s->next;
    } else if (atomic_load_explicit(&pl->remote, memory_order_relaxed) &&
               (s = atomic_exchange_explicit(&pl->remote, NULL, memory_order_acquire))) {
        pl->free = s->next;
    } else {
        s = aligned_alloc(64, (sizeof *s + 63) & ~(size_t)63);
        if (!s)
            return NULL;
        memset(s, 0, sizeof *s);
        s->pool = pl;
    }
    s->gen++;
    s->ended = false;
    return s;
}

static void arena_trim(stitch_span_t *s)
{
    size_t total = 0;
    for (struct arena_chunk *c = s->chunks; c; c = c->next)
        total += c->size;
    if (total > SPAN_ARENA_KEEP) {
        struct arena_chunk *c = s->chunks;
        while (c) {
            struct arena_chunk *n = c->next;
            free(c);
            c = n;
        }
        s->chunks = NULL;
    }
}

static void pool_put(stitch_span_t *s)
{
    if (s->recording) {
        stitch_tracestate_unref((stitch_tracestate_t *)s->d.tracestate);
        for (uint32_t i = 0; i < s->d.nlinks; i++)
            stitch_tracestate_unref((stitch_tracestate_t *)s->links[i].tracestate);
        if (s->chunks)
            arena_trim(s);
    } else if (s->d.tracestate) {
        stitch_tracestate_unref((stitch_tracestate_t *)s->d.tracestate);
    }
    s->d.tracestate = NULL;
    s->ended = true;
    struct span_pool *pl = s->pool;
    if (pl == tl_pool) {
        s->next = pl->free;
        pl->free = s;
        return;
    }
    stitch_span_t *head = atomic_load_explicit(&pl->remote, memory_order_relaxed);
    do
        s->next = head;
    while (!atomic_compare_exchange_weak_explicit(&pl->remote, &head, s, memory_order_release,
                                                  memory_order_relaxed));
}

void stitch_span_release(stitch_span_t *s)
{
    if (!s || s == &oom_span)
        return;
    if (atomic_load_explicit(&s->refs, memory_order_acquire) == 1 ||
        atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
        pool_put(s);
}

/* ---- the arena ---- */

static void *arena_grow(stitch_span_t *s, size_t n)
{
    struct arena_chunk *c = s->chunk_at ? s->chunk_at->next : s->chunks;
    while (c && c->size < n)
        c = c->next;
    if (!c) {
        size_t size = n + 64 > 4096 ? n + 64 : 4096;
        if (!(c = malloc(sizeof *c + size)))
            return NULL;
        c->size = size;
        if (s->chunk_at) {
            c->next = s->chunk_at->next;
            s->chunk_at->next = c;
        } else {
            c->next = s->chunks;
            s->chunks = c;
        }
    }
    s->chunk_at = c;
    s->a_cur = c->data + n;
    s->a_end = c->data + c->size;
    return c->data;
}

/* n bytes aligned to 8; NULL when out of memory. */
static inline void *arena_alloc(stitch_span_t *s, size_t n)
{
    size_t pad = (size_t)(-(uintptr_t)s->a_cur) & 7;
    if (STITCH_LIKELY((size_t)(s->a_end - s->a_cur) >= pad + n)) {
        void *p = s->a_cur + pad;
        s->a_cur += pad + n;
        return p;
    }
    return arena_grow(s, n);
}

static inline char *arena_strdup(stitch_span_t *s, const char *p, size_t len)
{
    char *d;
    if (STITCH_LIKELY((size_t)(s->a_end - s->a_cur) > len)) {
        d = s->a_cur;
        s->a_cur += len + 1;
    } else if (!(d = arena_grow(s, len + 1))) {
        return NULL;
    }
    memcpy(d, p, len);
    d[len] = '\0';
    return d;
}

char *stitch__span_strdup(stitch_span_t *s, const char *p, size_t len)
{
    return arena_strdup(s, p, len);
}

/* ---- values ---- */

/* Cut `len` to `max` bytes (0 = no limit) without splitting a UTF-8 sequence. */
static size_t utf8_cut(const char *p, size_t len, uint32_t max)
{
    if (!max || len <= max)
        return len;
    size_t n = max;
    while (n > 0 && ((uint8_t)p[n] & 0xC0) == 0x80)
        n--;
    return n;
}

/* Inlined into each setter, where the value's type is a constant and the
 * switch folds away. */
/* *dst is written only on success, so a failed replace keeps the old value. */
ALWAYS_INLINE int value_copy(stitch_span_t *s, stitch_value_t *dst, const stitch_value_t *src,
                            uint32_t max)
{
    size_t n = src->len;
    void *arr;
    switch (src->type) {
    case STITCH_VALUE_STRING: {
        if (!src->u.str && src->len)
            return STITCH_EINVAL;
        size_t len = src->u.str ? utf8_cut(src->u.str, src->len, max) : 0;
        const char *str = arena_strdup(s, src->u.str ? src->u.str : "", len);
        if (!str)
            return STITCH_ENOMEM;
        dst->type = src->type;
        dst->len = (uint32_t)len;
        dst->u.str = str;
        return STITCH_OK;
    }
    case STITCH_VALUE_BOOL:
    case STITCH_VALUE_INT:
    case STITCH_VALUE_DOUBLE:
        *dst = *src;
        return STITCH_OK;
    case STITCH_VALUE_STRING_ARRAY: {
        if (n && !src->u.strs)
            return STITCH_EINVAL;
        stitch_str_t *a = arena_alloc(s, n * sizeof *a + 1);
        if (!a)
            return STITCH_ENOMEM;
        for (size_t i = 0; i < n; i++) {
            const stitch_str_t *e = &src->u.strs[i];
            size_t len = e->ptr ? utf8_cut(e->ptr, e->len, max) : 0;
            if (!(a[i].ptr = arena_strdup(s, e->ptr ? e->ptr : "", len)))
                return STITCH_ENOMEM;
            a[i].len = len;
        }
        dst->type = src->type;
        dst->len = src->len;
        dst->u.strs = a;
        return STITCH_OK;
    }
    case STITCH_VALUE_BOOL_ARRAY:
        n *= sizeof(bool);
        break;
    case STITCH_VALUE_INT_ARRAY:
        n *= sizeof(int64_t);
        break;
    case STITCH_VALUE_DOUBLE_ARRAY:
        n *= sizeof(double);
        break;
    default:
        return STITCH_EINVAL;
    }
    if (n && !src->u.bools)
        return STITCH_EINVAL;
    if (!(arr = arena_alloc(s, n + 1)))
        return STITCH_ENOMEM;
    if (n)
        memcpy(arr, src->u.bools, n);
    dst->type = src->type;
    dst->len = src->len;
    dst->u.bools = arr; /* any member of the pointer union */
    return STITCH_OK;
}

static inline bool key_eq(const char *a, const char *b)
{
    return a[0] == b[0] && strcmp(a, b) == 0;
}

/* Put an attribute into list (*list, *n, *cap), growing it in the arena.
 * `limit` caps the count; over it, *dropped is incremented. `klens`, when
 * not NULL, is a parallel array of key lengths (same capacity) that lets
 * the duplicate-key search skip most comparisons. */
ALWAYS_INLINE int attr_put(stitch_span_t *s, stitch_attr_t **list, uint32_t **klens, uint32_t *n,
                           uint32_t *cap, uint32_t *dropped, uint32_t limit, const char *key,
                           const stitch_value_t *v)
{
    if (!key || !v)
        return STITCH_EINVAL;
    uint32_t max = s->lim->attribute_value_length;
    size_t klen = strlen(key);
    stitch_attr_t *a = *list;
    const uint32_t cnt = *n;
    if (klens) {
        const uint32_t *kl = *klens;
        for (uint32_t i = 0; i < cnt; i++)
            if (kl[i] == klen && memcmp(a[i].key, key, klen) == 0)
                return value_copy(s, &a[i].value, v, max);
    } else {
        for (uint32_t i = 0; i < cnt; i++)
            if (key_eq(a[i].key, key))
                return value_copy(s, &a[i].value, v, max);
    }
    if (*n >= limit) {
        (*dropped)++;
        return STITCH_ELIMIT;
    }
    if (*n == *cap) {
        uint32_t ncap = *cap ? *cap * 2 : 4;
        stitch_attr_t *na = arena_alloc(s, ncap * sizeof *na);
        uint32_t *nk = klens ? arena_alloc(s, ncap * sizeof *nk) : NULL;
        if (!na || (klens && !nk))
            return STITCH_ENOMEM;
        if (*n) {
            memcpy(na, a, *n * sizeof *na);
            if (klens)
                memcpy(nk, *klens, *n * sizeof *nk);
        }
        *list = a = na;
        if (klens)
            *klens = nk;
        *cap = ncap;
    }
    stitch_attr_t *d = &a[*n];
    if (!(d->key = arena_strdup(s, key, klen)))
        return STITCH_ENOMEM;
    int rc = value_copy(s, &d->value, v, max);
    if (rc == STITCH_OK) {
        if (klens)
            (*klens)[*n] = (uint32_t)klen;
        (*n)++;
    }
    return rc;
}

ALWAYS_INLINE int span_attr(stitch_span_t *s, const char *key, const stitch_value_t *v)
{
    if (!s->recording || s->ended)
        return STITCH_OK;
    int rc = attr_put(s, &s->attrs, &s->klens, &s->d.nattrs, &s->attr_cap, &s->d.dropped_attrs,
                      s->lim->attribute_count, key, v);
    s->d.attrs = s->attrs;
    return rc;
}

int stitch_span_set_strn(stitch_span_t *s, const char *key, const char *val, size_t len)
{
    stitch_value_t v = {STITCH_VALUE_STRING, (uint32_t)len, {.str = val}};
    return span_attr(s, key, &v);
}

int stitch_span_set_str(stitch_span_t *s, const char *key, const char *val)
{
    return stitch_span_set_strn(s, key, val, val ? strlen(val) : 0);
}

int stitch_span_set_int(stitch_span_t *s, const char *key, int64_t val)
{
    stitch_value_t v = {STITCH_VALUE_INT, 0, {.i = val}};
    return span_attr(s, key, &v);
}

int stitch_span_set_double(stitch_span_t *s, const char *key, double val)
{
    stitch_value_t v = {STITCH_VALUE_DOUBLE, 0, {.d = val}};
    return span_attr(s, key, &v);
}

int stitch_span_set_bool(stitch_span_t *s, const char *key, bool val)
{
    stitch_value_t v = {STITCH_VALUE_BOOL, 0, {.b = val}};
    return span_attr(s, key, &v);
}

int stitch_span_set_attr(stitch_span_t *s, const stitch_attr_t *attr)
{
    return attr ? span_attr(s, attr->key, &attr->value) : STITCH_EINVAL;
}

int stitch_span_set_attrs(stitch_span_t *s, const stitch_attr_t *attrs, size_t n)
{
    int rc = STITCH_OK;
    for (size_t i = 0; i < n; i++) {
        int r = span_attr(s, attrs[i].key, &attrs[i].value);
        if (r && !rc)
            rc = r;
    }
    return rc;
}

/* Copy up to `limit` attributes into a new arena list; the rest are counted. */
static int attrs_copy(stitch_span_t *s, const stitch_attr_t *in, size_t n, uint32_t limit,
                      const stitch_attr_t **out, uint32_t *nout, uint32_t *dropped)
{
    stitch_attr_t *list = NULL;
    uint32_t cnt = 0, cap = 0;
    int rc = STITCH_OK;
    *dropped = 0;
    if (n) {
        cap = n < limit ? (uint32_t)n : limit;
        if (cap && !(list = arena_alloc(s, cap * sizeof *list)))
            return STITCH_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        int r = attr_put(s, &list, NULL, &cnt, &cap, dropped, limit, in[i].key, &in[i].value);
        if (r && !rc)
            rc = r;
    }
    *out = list;
    *nout = cnt;
    return rc;
}

/* ---- events, links, status, name ---- */

/* A copy of array `a` (n elements of `size` bytes) in the arena with twice
 * the capacity; NULL when out of memory (the old array stays valid). */
static void *array_grow(stitch_span_t *s, const void *a, uint32_t n, uint32_t *cap, size_t size)
{
    uint32_t ncap = *cap ? *cap * 2 : 4;
    void *na = arena_alloc(s, ncap * size);
    if (!na)
        return NULL;
    if (n)
        memcpy(na, a, n * size);
    *cap = ncap;
    return na;
}

static int span_event(stitch_span_t *s, const char *name, uint64_t time_ns,
                      const stitch_attr_t *attrs, size_t nattrs)
{
    if (!s->recording || s->ended)
        return STITCH_OK;
    const stitch_limits_t *lim = s->lim;
    if (s->d.nevents >= lim->event_count) {
        s->d.dropped_events++;
        return STITCH_ELIMIT;
    }
    if (s->d.nevents == s->event_cap) {
        stitch_event_t *ne = array_grow(s, s->events, s->d.nevents, &s->event_cap, sizeof *ne);
        if (!ne)
            return STITCH_ENOMEM;
        s->d.events = s->events = ne;
    }
    stitch_event_t *e = &s->events[s->d.nevents];
    e->time_ns = time_ns ? time_ns : stitch__clock_since(&s->start_clock);
    if (!(e->name = arena_strdup(s, name ? name : "", name ? strlen(name) : 0)))
        return STITCH_ENOMEM;
    int rc = attrs_copy(s, attrs, nattrs, lim->event_attribute_count, &e->attrs, &e->nattrs,
                        &e->dropped_attrs);
    if (rc == STITCH_ENOMEM)
        return rc;
    s->d.nevents++;
    return rc;
}

int stitch_span_add_event(stitch_span_t *s, const char *name, uint64_t time_ns,
                          const stitch_attr_t *attrs, size_t nattrs)
{
    return span_event(s, name, time_ns, attrs, nattrs);
}

int stitch_span_record_exception(stitch_span_t *s, const char *type, const char *message,
                                 const char *stacktrace)
{
    stitch_attr_t a[3];
    size_t n = 0;
    if (type)
        a[n++] = stitch_attr_str("exception.type", type);
    if (message)
        a[n++] = stitch_attr_str("exception.message", message);
    if (stacktrace)
        a[n++] = stitch_attr_str("exception.stacktrace", stacktrace);
    return span_event(s, "exception", 0, a, n);
}

static int span_link(stitch_span_t *s, const stitch_link_t *l)
{
    if (!l)
        return STITCH_EINVAL;
    const stitch_limits_t *lim = s->lim;
    if (s->d.nlinks >= lim->link_count) {
        s->d.dropped_links++;
        return STITCH_ELIMIT;
    }
    if (s->d.nlinks == s->link_cap) {
        stitch_link_t *nl = array_grow(s, s->links, s->d.nlinks, &s->link_cap, sizeof *nl);
        if (!nl)
            return STITCH_ENOMEM;
        s->d.links = s->links = nl;
    }
    stitch_link_t *d = &s->links[s->d.nlinks];
    d->ctx = l->ctx;
    int rc = attrs_copy(s, l->attrs, l->nattrs, lim->link_attribute_count, &d->attrs, &d->nattrs,
                        &d->dropped_attrs);
    if (rc == STITCH_ENOMEM)
        return rc;
    d->tracestate = stitch_tracestate_ref(l->tracestate);
    s->d.nlinks++;
    return rc;
}

int stitch_span_add_link(stitch_span_t *s, const stitch_link_t *link)
{
    if (!s->recording || s->ended)
        return STITCH_OK;
    return span_link(s, link);
}

void stitch_span_set_status(stitch_span_t *s, stitch_status_code_t code, const char *message)
{
    if (!s->recording || s->ended || s->d.status == STITCH_STATUS_OK)
        return;
    if (code == STITCH_STATUS_OK) {
        s->d.status = STITCH_STATUS_OK;
        s->d.status_message = "";
    } else if (code == STITCH_STATUS_ERROR) {
        const char *m = message ? arena_strdup(s, message, strlen(message)) : "";
        s->d.status = STITCH_STATUS_ERROR;
        s->d.status_message = m ? m : "";
    }
}

int stitch_span_update_name(stitch_span_t *s, const char *name)
{
    if (!s->recording || s->ended)
        return STITCH_OK;
    if (!name)
        return STITCH_EINVAL;
    char *n = arena_strdup(s, name, strlen(name));
    if (!n)
        return STITCH_ENOMEM;
    s->d.name = n;
    return STITCH_OK;
}

bool stitch_span_is_recording(const stitch_span_t *s)
{
    return s && s->recording && !s->ended;
}

stitch_span_ctx_t stitch_span_context(const stitch_span_t *s)
{
    return s->d.ctx;
}

const stitch_span_data_t *stitch_span_data(const stitch_span_t *s)
{
    return &s->d;
}

const stitch_value_t *stitch_span_data_attr(const stitch_span_data_t *d, const char *key)
{
    for (uint32_t i = 0; i < d->nattrs; i++)
        if (strcmp(d->attrs[i].key, key) == 0)
            return &d->attrs[i].value;
    return NULL;
}

/* ---- start and end ---- */

static inline bool ctx_valid(const stitch_span_ctx_t *c)
{
    uint64_t t[2], sp;
    memcpy(t, c->trace_id, 16);
    memcpy(&sp, c->span_id, 8);
    return (t[0] | t[1]) && sp;
}

static const stitch_span_opts_t default_opts = {.kind = STITCH_SPAN_KIND_INTERNAL};

stitch_span_t *stitch_span_start(stitch_tracer_t *t, const char *name, const stitch_span_opts_t *o)
{
    if (!o)
        o = &default_opts;
    const stitch_ctx_t *parent = o->parent ? o->parent : stitch__ctx_current();
    const stitch_span_kind_t kind = o->kind ? o->kind : STITCH_SPAN_KIND_INTERNAL;
    if (!name)
        name = "";
    const stitch_span_ctx_t *pc = &parent->span;
    bool has_parent = ctx_valid(pc);
    stitch_provider_t *p = t ? t->provider : NULL;
    stitch_span_t *s = stitch__span_alloc();
    if (STITCH_UNLIKELY(!s))
        return &oom_span;
    s->tracer = t;
    s->recording = false;
    s->d.tracestate = NULL;

    if (STITCH_UNLIKELY(!p)) {
        /* No SDK behind this tracer: pass the parent's context through,
         * tracestate included (pool_put drops the reference). */
        if (has_parent) {
            s->d.ctx = *pc;
            s->d.tracestate = stitch_tracestate_ref(parent->tracestate);
        } else {
            memset(&s->d.ctx, 0, sizeof s->d.ctx);
        }
        s->d.ctx.remote = 0;
        return s;
    }

    if (has_parent)
        memcpy(s->d.ctx.trace_id, pc->trace_id, 16);
    else
        stitch__new_trace_id(s->d.ctx.trace_id);
    stitch__new_span_id(s->d.ctx.span_id);
    s->d.ctx.remote = 0;

    stitch_decision_t dec = STITCH_DROP;
    if (STITCH_LIKELY(!atomic_load_explicit(&p->shut_down, memory_order_relaxed))) {
        stitch_sampling_params_t sp = {
            .parent = has_parent ? pc : NULL,
            .parent_tracestate = has_parent ? parent->tracestate : NULL,
            .trace_id = s->d.ctx.trace_id,
            .name = name,
            .kind = kind,
            .attrs = o->attrs,
            .nattrs = o->nattrs,
            .links = o->links,
            .nlinks = o->nlinks,
        };
        dec = p->sampler->ops->should_sample(p->sampler->self, &sp);
    }
    s->d.ctx.flags = (uint8_t)((has_parent ? (pc->flags & ~STITCH_FLAG_SAMPLED) : 0) |
                               (dec == STITCH_RECORD_AND_SAMPLE ? STITCH_FLAG_SAMPLED : 0));
    if (has_parent && parent->tracestate)
        s->d.tracestate = stitch_tracestate_ref(parent->tracestate);
    if (dec == STITCH_DROP)
        return s;

    /* A recorded span: reset its storage and fill in the data. */
    s->recording = true;
    s->lim = &p->limits;
    s->a_cur = s->a_inline;
    s->a_end = s->a_inline + sizeof s->a_inline;
    s->chunk_at = NULL;
    s->attrs = s->attr_inline;
    s->klens = s->klen_inline;
    s->attr_cap = SPAN_INLINE_ATTRS;
    s->events = NULL;
    s->event_cap = 0;
    s->links = NULL;
    s->link_cap = 0;

    stitch_span_data_t *d = &s->d;
    if (has_parent)
        memcpy(d->parent_span_id, pc->span_id, 8);
    else
        memset(d->parent_span_id, 0, 8);
    d->parent_remote = has_parent && pc->remote;
    d->kind = kind;
    d->attrs = s->attrs;
    d->nattrs = d->dropped_attrs = 0;
    d->events = NULL;
    d->nevents = d->dropped_events = 0;
    d->links = NULL;
    d->nlinks = d->dropped_links = 0;
    d->status = STITCH_STATUS_UNSET;
    d->status_message = "";
    d->resource = p->resource;
    d->nresource = p->nresource;
    d->scope = &t->scope;
    d->end_ns = 0;
    d->name = arena_strdup(s, name, strlen(name));
    if (STITCH_UNLIKELY(!d->name))
        d->name = "";
    if (o->start_ns) {
        s->start_clock.ns = o->start_ns;
        s->start_clock.tsc = 0;
        d->start_ns = o->start_ns;
    } else {
        d->start_ns = stitch__clock_now(&s->start_clock);
    }
    if (o->nattrs)
        (void)stitch_span_set_attrs(s, o->attrs, o->nattrs); /* over-limit ones are counted */
    for (size_t i = 0; i < o->nlinks; i++)
        (void)span_link(s, &o->links[i]);
    for (uint32_t i = 0; i < p->nprocs; i++)
        if (p->procs[i]->ops->on_start)
            p->procs[i]->ops->on_start(p->procs[i]->self, s);
    return s;
}

static void span_finish(stitch_span_t *s, uint64_t end_ns)
{
    if (!s->recording) {
        pool_put(s);
        return;
    }
    s->d.end_ns = end_ns;
    s->ended = true;
    stitch_provider_t *p = s->tracer->provider;
    uint32_t n = p->nprocs;
    if (n == 0) {
        pool_put(s);
        return;
    }
    atomic_store_explicit(&s->refs, n, memory_order_relaxed);
    for (uint32_t i = 0; i < n; i++)
        p->procs[i]->ops->on_end(p->procs[i]->self, s);
}

void stitch_span_end(stitch_span_t *s)
{
    if (!s || s == &oom_span || s->ended)
        return;
    if (!s->recording) {
        pool_put(s);
        return;
    }
    span_finish(s, s->start_clock.tsc ? stitch__clock_since(&s->start_clock) : stitch__now_ns());
}

void stitch_span_end_at(stitch_span_t *s, uint64_t end_ns)
{
    if (!s || s == &oom_span || s->ended)
        return;
    span_finish(s, end_ns ? end_ns : stitch__clock_since(&s->start_clock));
}
