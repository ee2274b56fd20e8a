/* store/query.c — the read side of the embedded engine: trace by id,
 * search, names and dependencies.
 *
 * A query works on a *view*: under state_lock (read) it starts a SQLite
 * read transaction on a pooled reader connection and copies the head index
 * and the block list (taking references), so what it sees in memory and
 * what it reads from the file are the same moment even while compaction
 * and retention go on; the head rows' in-memory records (st_hmem_t) are
 * shared by reference. Spans it selects are deep-copied (copy.c) into the
 * result's batch, which then owns them; the result is ordered,
 * deduplicated by (trace id, span id) and cut into traces. */
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"

typedef struct vhead {
    int64_t seq;
    st_hmem_t *mem; /* a reference */
    uint32_t nspans;
    uint64_t min_start, max_start, max_dur;
    size_t tidoff; /* into view.tidh */
} vhead_t;

typedef struct view {
    stitch_store_t *s;
    st_reader_t *r;
    st_block_t **blocks;
    size_t nblocks;
    vhead_t *head;
    size_t nhead;
    uint64_t *tidh;
} view_t;

static void view_close(view_t *v)
{
    if (v->r) {
        sqlite3_step(v->r->commit);
        sqlite3_reset(v->r->commit);
        st_reader_put(v->s, v->r);
    }
    for (size_t i = 0; i < v->nblocks; i++)
        st_block_unref(v->blocks[i]);
    for (size_t i = 0; i < v->nhead; i++)
        st_hmem_unref(v->head[i].mem);
    free(v->blocks);
    free(v->head);
    free(v->tidh);
    memset(v, 0, sizeof *v);
}

static int view_open(stitch_store_t *s, view_t *v)
{
    memset(v, 0, sizeof *v);
    v->s = s;
    v->r = st_reader_get(s);
    if (!v->r)
        return STITCH_EIO;
    int rc = 0;
    pthread_rwlock_rdlock(&s->state_lock);
    int e = sqlite3_step(v->r->begin);
    sqlite3_reset(v->r->begin);
    if (e == SQLITE_DONE) {
        e = sqlite3_step(v->r->touch); /* the snapshot starts at the first read */
        sqlite3_reset(v->r->touch);
    }
    if (e != SQLITE_ROW) {
        rc = STITCH_EIO;
        goto out;
    }
    v->blocks = malloc((s->nblocks ? s->nblocks : 1) * sizeof *v->blocks);
    if (!v->blocks) {
        rc = STITCH_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < s->nblocks; i++) {
        atomic_fetch_add(&s->blocks[i]->refs, 1);
        v->blocks[v->nblocks++] = s->blocks[i];
    }
    pthread_mutex_lock(&s->head_mu);
    v->head = malloc((s->nhead ? s->nhead : 1) * sizeof *v->head);
    v->tidh = malloc((s->head_spans ? s->head_spans : 1) * sizeof *v->tidh);
    if (v->head && v->tidh) {
        size_t off = 0;
        for (size_t i = 0; i < s->nhead; i++) {
            const st_headrow_t *h = &s->head[i];
            v->head[i] = (vhead_t){h->seq, h->mem, h->nspans, h->min_start, h->max_start, h->max_dur, off};
            atomic_fetch_add(&h->mem->refs, 1);
            memcpy(v->tidh + off, h->tidh, h->nspans * sizeof *v->tidh);
            off += h->nspans;
        }
        v->nhead = s->nhead;
    } else {
        rc = STITCH_ENOMEM;
    }
    pthread_mutex_unlock(&s->head_mu);
out:
    pthread_rwlock_unlock(&s->state_lock);
    if (rc)
        view_close(v);
    return rc;
}

/* A test of a page's packed bytes before it is decoded: false = no span
 * of the page can be wanted (skip it), true = decode it. tmp is scratch. */
typedef bool (*page_probe_fn)(const void *arg, const void *z, size_t zlen, stitch_buf_t *tmp);

/* Decode page `id` into the reader's scratch batch (reset first), unless
 * `probe` rules it out (*skipped, nothing decoded); only the traces `want`
 * accepts (NULL = all; both get `arg`). 0, or STITCH_ENOTFOUND
 * when the row is not in the snapshot, or STITCH_E*. */
static int load_page(view_t *v, int64_t key, page_probe_fn probe, const void *arg, bool *skipped,
                     bool (*want)(const void *arg, const uint8_t tid[16]))
{
    sqlite3_stmt *st = v->r->get_page;
    stitch_wire_batch_reset(&v->r->scratch);
    *skipped = false;
    sqlite3_bind_int64(st, 1, key);
    int rc = sqlite3_step(st);
    int e = 0;
    if (rc == SQLITE_ROW) {
        const void *z = sqlite3_column_blob(st, 0);
        size_t zlen = (size_t)sqlite3_column_bytes(st, 0);
        if (probe && !probe(arg, z, zlen, &v->r->zbuf))
            *skipped = true;
        else
            e = st_decode_page_traces(z, zlen, &v->r->zbuf, &v->r->scratch, want, arg);
    } else {
        e = rc == SQLITE_DONE ? STITCH_ENOTFOUND : STITCH_EIO;
    }
    sqlite3_reset(st);
    return e;
}

/* ---- fetching whole traces --------------------------------------------------------- */

typedef struct tidset {
    const uint8_t (*ids)[16]; /* sorted */
    const uint64_t *h;        /* st_hash_tid of each, same order */
    size_t n;
} tidset_t;

static int cmp_tid(const void *a, const void *b) { return memcmp(a, b, 16); }

static bool in_set(const tidset_t *t, const uint8_t *tid)
{
    return bsearch(tid, t->ids, t->n, 16, cmp_tid) != NULL;
}

static bool want_tid(const void *arg, const uint8_t tid[16]) { return in_set(arg, tid); }

/* page_probe_fn: does the page's trace-id stream hold an id of the set?
 * (A block bloom false positive then costs one small zstd frame, not a
 * page decode.) */
static bool probe_tids(const void *arg, const void *z, size_t zlen, stitch_buf_t *tmp)
{
    const tidset_t *t = arg;
    if (st_page_part(z, zlen, st_page_part_tids(), tmp))
        return true; /* not packed, or damaged: the decoder decides */
    for (size_t i = 0; i + 16 <= tmp->len; i += 16)
        if (in_set(t, tmp->data + i))
            return true;
    return false;
}

/* Copy the spans of sp[0..n) that belong to the set's traces into out. */
static int take_spans(const tidset_t *t, const stitch_span_data_t *sp, size_t n, stitch_wire_batch_t *out,
                      const stitch_span_data_t ***ptrs, size_t *cap)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (!in_set(t, sp[i].ctx.trace_id))
            continue;
        if (m == *cap) {
            size_t nc = *cap ? *cap * 2 : 256;
            const stitch_span_data_t **np = realloc(*ptrs, nc * sizeof *np);
            if (!np)
                return STITCH_ENOMEM;
            *ptrs = np;
            *cap = nc;
        }
        (*ptrs)[m++] = &sp[i];
    }
    return m ? st_span_copy(out, *ptrs, m) : 0;
}

static int fetch_traces(view_t *v, const tidset_t *t, stitch_wire_batch_t *out)
{
    const stitch_span_data_t **ptrs = NULL;
    size_t cap = 0;
    int rc = 0;
    /* the head: rows holding any of the ids, from memory */
    for (size_t i = 0; i < v->nhead && !rc; i++) {
        const vhead_t *h = &v->head[i];
        bool hit = false;
        for (uint32_t j = 0; j < h->nspans && !hit; j++)
            for (size_t k = 0; k < t->n && !hit; k++)
                hit = v->tidh[h->tidoff + j] == t->h[k];
        if (hit)
            rc = take_spans(t, h->mem->b.spans, h->mem->b.nspans, out, &ptrs, &cap);
    }
    /* blocks: bloom, then the pages whose trace-id range holds an id */
    for (size_t i = 0; i < v->nblocks && !rc; i++) {
        const st_block_t *b = v->blocks[i];
        int64_t lastpage = -1;
        for (size_t k = 0; k < t->n && !rc; k++) {
            if (!st_bloom_has(&b->tids, t->h[k]))
                continue;
            /* first page whose last id >= the id */
            size_t lo = 0, hi = b->npages;
            while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (memcmp(b->pages[mid].last, t->ids[k], 16) < 0)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            for (size_t p = lo; p < b->npages && memcmp(b->pages[p].first, t->ids[k], 16) <= 0 && !rc; p++) {
                if ((int64_t)p <= lastpage)
                    continue; /* ids are sorted: a page is read once */
                lastpage = (int64_t)p;
                bool skipped;
                rc = load_page(v, (b->id << 16) | (int64_t)p, probe_tids, t, &skipped, want_tid);
                if (rc == STITCH_ENOTFOUND)
                    rc = STITCH_EIO; /* a block without its page: the file is damaged */
                if (!rc && !skipped)
                    rc = take_spans(t, v->r->scratch.spans, v->r->scratch.nspans, out, &ptrs, &cap);
            }
        }
    }
    free(ptrs);
    return rc;
}

/* ---- results ---------------------------------------------------------------------- */

void stitch_store_result_init(stitch_store_result_t *r)
{
    memset(r, 0, sizeof *r);
    stitch_wire_batch_init(&r->batch, 0);
}

void stitch_store_result_free(stitch_store_result_t *r)
{
    if (!r)
        return;
    stitch_wire_batch_free(&r->batch);
    free(r->traces);
    r->traces = NULL;
    r->ntraces = 0;
}

typedef struct ranked {
    uint8_t id[16];
    uint32_t rank;
} ranked_t;

static const ranked_t *g_rank; /* qsort has no context argument: see sort_spans */
static size_t g_nrank;

static uint32_t rank_of(const uint8_t *tid)
{
    const ranked_t *f = bsearch(tid, g_rank, g_nrank, sizeof *g_rank, cmp_tid);
    return f ? f->rank : UINT32_MAX;
}

static int cmp_rank_sid(const void *a, const void *b)
{
    const stitch_span_data_t *x = a, *y = b;
    uint32_t rx = rank_of(x->ctx.trace_id), ry = rank_of(y->ctx.trace_id);
    if (rx != ry)
        return rx < ry ? -1 : 1;
    return memcmp(x->ctx.span_id, y->ctx.span_id, 8);
}

static int cmp_rank_start(const void *a, const void *b)
{
    const stitch_span_data_t *x = a, *y = b;
    uint32_t rx = rank_of(x->ctx.trace_id), ry = rank_of(y->ctx.trace_id);
    if (rx != ry)
        return rx < ry ? -1 : 1;
    if (x->start_ns != y->start_ns)
        return x->start_ns < y->start_ns ? -1 : 1;
    return memcmp(x->ctx.span_id, y->ctx.span_id, 8);
}

static pthread_mutex_t sort_mu = PTHREAD_MUTEX_INITIALIZER;

/* Order r's spans: traces in the order of `order` (ids[0] first), spans
 * by start, each (trace id, span id) once. */
int st_build_result(stitch_store_result_t *r, const uint8_t (*order)[16], size_t n)
{
    if (!r->batch.nspans)
        return 0;
    ranked_t *rk = malloc((n ? n : 1) * sizeof *rk);
    if (!rk)
        return STITCH_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        memcpy(rk[i].id, order[i], 16);
        rk[i].rank = (uint32_t)i;
    }
    qsort(rk, n, sizeof *rk, cmp_tid);
    stitch_span_data_t *sp = r->batch.spans;
    size_t ns = r->batch.nspans;
    /* qsort has no context pointer; the rank table is a global under a
     * mutex (the sorts are short: one result's spans) */
    pthread_mutex_lock(&sort_mu);
    g_rank = rk;
    g_nrank = n;
    qsort(sp, ns, sizeof *sp, cmp_rank_sid);
    size_t m = 0;
    for (size_t i = 0; i < ns; i++) {
        if (m && !memcmp(sp[m - 1].ctx.trace_id, sp[i].ctx.trace_id, 16) &&
            !memcmp(sp[m - 1].ctx.span_id, sp[i].ctx.span_id, 8))
            continue;
        if (m != i)
            sp[m] = sp[i];
        m++;
    }
    ns = m;
    qsort(sp, ns, sizeof *sp, cmp_rank_start);
    g_rank = NULL;
    pthread_mutex_unlock(&sort_mu);
    r->batch.nspans = ns;
    free(rk);
    r->traces = calloc(n ? n : 1, sizeof *r->traces);
    if (!r->traces)
        return STITCH_ENOMEM;
    for (size_t i = 0; i < ns;) {
        size_t j = i + 1;
        while (j < ns && !memcmp(sp[j].ctx.trace_id, sp[i].ctx.trace_id, 16))
            j++;
        stitch_store_trace_t *t = &r->traces[r->ntraces++];
        memcpy(t->trace_id, sp[i].ctx.trace_id, 16);
        t->first = i;
        t->count = j - i;
        i = j;
        if (r->ntraces == n)
            break;
    }
    return 0;
}

int st_emb_get_trace(stitch_store_t *s, const uint8_t trace_id[16], stitch_store_result_t *r)
{
    if (!s || !trace_id || !r)
        return STITCH_EINVAL;
    view_t v;
    int rc = view_open(s, &v);
    if (rc)
        return rc;
    uint64_t h = st_hash_tid(trace_id);
    tidset_t t = {(const uint8_t(*)[16])trace_id, &h, 1};
    rc = fetch_traces(&v, &t, &r->batch);
    view_close(&v);
    if (!rc)
        rc = st_build_result(r, (const uint8_t(*)[16])trace_id, 1);
    return rc;
}

/* ---- search ------------------------------------------------------------------------ */

typedef struct topk {
    uint8_t (*id)[16];
    uint64_t *best;
    size_t n, cap;
} topk_t;

static void topk_add(topk_t *k, const uint8_t *tid, uint64_t start)
{
    size_t minj = 0;
    for (size_t j = 0; j < k->n; j++) {
        if (!memcmp(k->id[j], tid, 16)) {
            if (start > k->best[j])
                k->best[j] = start;
            return;
        }
        if (k->best[j] < k->best[minj])
            minj = j;
    }
    if (k->n < k->cap) {
        memcpy(k->id[k->n], tid, 16);
        k->best[k->n++] = start;
    } else if (start > k->best[minj]) {
        memcpy(k->id[minj], tid, 16);
        k->best[minj] = start;
    }
}

static uint64_t topk_min(const topk_t *k)
{
    uint64_t m = UINT64_MAX;
    for (size_t j = 0; j < k->n; j++)
        if (k->best[j] < m)
            m = k->best[j];
    return m;
}

typedef struct prepared {
    const stitch_store_query_t *q;
    uint64_t smin, smax, dmin, dmax;
    uint64_t svc_h, op_h;
    uint64_t *tag_h;
    size_t svclen;
    /* strings a matching page must hold in its string bytes (service,
     * operation, tag keys, tag values that can only be strings) */
    const char **needle;
    size_t *needlen, nneedles;
    uint64_t cstr; /* bit i: needle i is compared as C text (keys, names: the
                    * page string up to its first NUL, as strcmp would) */
    st_page_match_t m; /* the same conditions for page.c's match pass */
} prepared_t;

/* Whether a tag value can only match a string attribute (so it must be
 * in a page's string bytes): not the text of a bool, a number or an
 * array. */
static bool string_only(const char *v)
{
    if (!strcmp(v, "true") || !strcmp(v, "false") || v[0] == '[')
        return false;
    char *end;
    (void)strtod(v, &end);
    return end == v || *end != '\0';
}

/* page_probe_fn: is every needle one of the page's strings (exactly: a
 * tag user-12 is not found in user-123)? */
static bool probe_strings(const void *arg, const void *z, size_t zlen, stitch_buf_t *tmp)
{
    const prepared_t *p = arg;
    size_t lpart, dpart, ncol;
    st_page_part_strings(&lpart, &dpart, &ncol);
    uint64_t found = 0, all = p->nneedles >= 64 ? ~0ull : (1ull << p->nneedles) - 1;
    stitch_buf_t lens = STITCH_BUF_INIT(0);
    bool maybe = false; /* the page could not be read here: decode it */
    for (size_t c = 0; c < ncol && found != all && !maybe; c++) {
        if (st_page_part(z, zlen, lpart + c, &lens) || st_page_part(z, zlen, dpart + c, tmp)) {
            maybe = true;
            break;
        }
        const uint8_t *l = lens.data, *lend = lens.data + lens.len;
        size_t off = 0;
        while (l < lend && found != all) {
            uint64_t n = 0;
            for (unsigned sh = 0; l < lend && sh < 64; sh += 7) {
                uint8_t b = *l++;
                n |= (uint64_t)(b & 0x7f) << sh;
                if (!(b & 0x80))
                    break;
            }
            if (n > tmp->len - off) {
                maybe = true; /* damaged: the decoder will say so */
                break;
            }
            const uint8_t *str = tmp->data + off;
            const uint8_t *nul = p->cstr ? memchr(str, 0, n) : NULL;
            size_t cn = nul ? (size_t)(nul - str) : n;
            for (size_t i = 0; i < p->nneedles && i < 64; i++) {
                size_t l = p->cstr >> i & 1 ? cn : n;
                if (!(found >> i & 1) && p->needlen[i] == l && !memcmp(str, p->needle[i], l))
                    found |= 1ull << i;
            }
            off += n;
        }
    }
    stitch_buf_free(&lens);
    return maybe || found == all;
}

static bool attr_match(const stitch_attr_t *a, uint32_t n, const stitch_store_tag_t *t)
{
    char tmp[1024];
    for (uint32_t i = 0; i < n; i++) {
        if (strcmp(a[i].key, t->key))
            continue;
        if (!t->value)
            return true;
        size_t l;
        const char *x = st_value_text(&a[i].value, tmp, sizeof tmp, &l);
        if (l == strlen(t->value) && !memcmp(x, t->value, l))
            return true;
    }
    return false;
}

static bool span_match(const prepared_t *p, const stitch_span_data_t *d)
{
    const stitch_store_query_t *q = p->q;
    if (d->start_ns < p->smin || d->start_ns > p->smax)
        return false;
    uint64_t dur = d->end_ns > d->start_ns ? d->end_ns - d->start_ns : 0;
    if (dur < p->dmin || dur > p->dmax)
        return false;
    if (q->kind > 0 && (int)d->kind != q->kind)
        return false;
    if (q->status_mask && !(q->status_mask & (1u << ((unsigned)d->status & 31))))
        return false;
    if (q->operation && strcmp(d->name, q->operation))
        return false;
    if (q->service) {
        size_t l;
        const char *svc = st_span_service(d, &l);
        if (l != p->svclen || memcmp(svc, q->service, l))
            return false;
    }
    for (size_t i = 0; i < q->ntags; i++) {
        const stitch_store_tag_t *t = &q->tags[i];
        bool ok = attr_match(d->attrs, d->nattrs, t) || attr_match(d->resource, d->nresource, t);
        for (uint32_t e = 0; e < d->nevents && !ok; e++)
            ok = attr_match(d->events[e].attrs, d->events[e].nattrs, t);
        if (!ok)
            return false;
    }
    return true;
}

static bool page_may_match(const prepared_t *p, const st_page_t *pg)
{
    if (pg->max_start < p->smin || pg->min_start > p->smax || pg->max_dur < p->dmin)
        return false;
    if (p->q->service && !st_bloom_has(&pg->tags, p->svc_h))
        return false;
    if (p->q->service && p->q->operation && !st_bloom_has(&pg->tags, p->op_h))
        return false;
    for (size_t i = 0; i < p->q->ntags; i++)
        if (!st_bloom_has(&pg->tags, p->tag_h[i]))
            return false;
    return true;
}

static void scan(const stitch_wire_batch_t *b, const prepared_t *p, topk_t *k)
{
    for (size_t i = 0; i < b->nspans; i++)
        if (span_match(p, &b->spans[i]))
            topk_add(k, b->spans[i].ctx.trace_id, b->spans[i].start_ns);
}

static void hit_topk(void *arg, const uint8_t tid[16], uint64_t start) { topk_add(arg, tid, start); }

/* Search page `key`: skipped when probe_strings rules it out; a columnar
 * page is tested by page.c's match pass (no records built), anything else
 * (schema 1's pages, a condition the pass cannot decide) decoded and
 * scanned. */
static int search_page(view_t *v, int64_t key, const prepared_t *p, topk_t *k)
{
    sqlite3_stmt *st = v->r->get_page;
    stitch_wire_batch_t *b = &v->r->scratch;
    stitch_wire_batch_reset(b);
    sqlite3_bind_int64(st, 1, key);
    int rc = sqlite3_step(st);
    int e = 0;
    if (rc == SQLITE_ROW) {
        const void *z = sqlite3_column_blob(st, 0);
        size_t zlen = (size_t)sqlite3_column_bytes(st, 0);
        if (p->nneedles && !probe_strings(p, z, zlen, &v->r->zbuf)) {
            e = 0;
        } else if ((e = st_page_unpack(z, zlen, &v->r->zbuf)) == 0) {
            e = st_page_match(b, v->r->zbuf.data, v->r->zbuf.len, &p->m);
            stitch_wire_batch_reset(b);
            if (e == 1 && (e = st_page_decode(b, v->r->zbuf.data, v->r->zbuf.len)) == 0)
                scan(b, p, k);
        } else if (e == STITCH_ENOTFOUND && (e = st_decode_page(z, zlen, &v->r->zbuf, b)) == 0) {
            scan(b, p, k);
        }
    } else {
        e = STITCH_EIO; /* no row (a block without its page: damaged) or a read error */
    }
    sqlite3_reset(st);
    return e;
}

static int cmp_block_recent(const void *a, const void *b)
{
    const st_block_t *x = *(st_block_t *const *)a, *y = *(st_block_t *const *)b;
    if (x->max_start != y->max_start)
        return x->max_start > y->max_start ? -1 : 1;
    return x->id > y->id ? -1 : x->id < y->id;
}

int st_emb_search(stitch_store_t *s, const stitch_store_query_t *q, stitch_store_result_t *r)
{
    if (!s || !q || !r || (q->ntags && !q->tags))
        return STITCH_EINVAL;
    for (size_t i = 0; i < q->ntags; i++)
        if (!q->tags[i].key)
            return STITCH_EINVAL;
    prepared_t p = {.q = q};
    p.smin = q->start_min_ns;
    p.smax = q->start_max_ns ? q->start_max_ns : UINT64_MAX;
    p.dmin = q->duration_min_ns;
    p.dmax = q->duration_max_ns ? q->duration_max_ns : UINT64_MAX;
    if (q->service) {
        p.svclen = strlen(q->service);
        p.svc_h = st_entry_hash(ST_ENT_SERVICE, q->service, p.svclen, NULL, 0);
        if (q->operation)
            p.op_h = st_entry_hash(ST_ENT_OP, q->service, p.svclen, q->operation, strlen(q->operation));
    }
    size_t limit = q->limit ? q->limit : 20;
    topk_t k = {0};
    p.m = (st_page_match_t){p.smin, p.smax, p.dmin, p.dmax, q->kind, q->status_mask, q->service,
                            q->operation, p.svclen, q->tags, q->ntags, hit_topk, &k};
    k.cap = limit;
    k.id = malloc(limit * sizeof *k.id);
    k.best = malloc(limit * sizeof *k.best);
    p.tag_h = malloc((q->ntags ? q->ntags : 1) * sizeof *p.tag_h);
    p.needle = malloc((2 + 2 * q->ntags) * sizeof *p.needle);
    p.needlen = malloc((2 + 2 * q->ntags) * sizeof *p.needlen);
    if (!k.id || !k.best || !p.tag_h || !p.needle || !p.needlen) {
        free(k.id);
        free(k.best);
        free(p.tag_h);
        free(p.needle);
        free(p.needlen);
        return STITCH_ENOMEM;
    }
    /* the rarest first: tag values, then keys, operation, service */
    for (size_t i = 0; i < q->ntags; i++)
        if (q->tags[i].value && string_only(q->tags[i].value)) {
            p.needle[p.nneedles] = q->tags[i].value;
            p.needlen[p.nneedles++] = strlen(q->tags[i].value);
        }
    for (size_t i = 0; i < q->ntags; i++) {
        const stitch_store_tag_t *t = &q->tags[i];
        p.tag_h[i] = t->value ? st_entry_hash(ST_ENT_KV, t->key, strlen(t->key), t->value, strlen(t->value))
                              : st_entry_hash(ST_ENT_KEY, t->key, strlen(t->key), NULL, 0);
        if (p.nneedles < 64)
            p.cstr |= 1ull << p.nneedles;
        p.needle[p.nneedles] = t->key;
        p.needlen[p.nneedles++] = strlen(t->key);
    }
    if (q->operation) {
        if (p.nneedles < 64)
            p.cstr |= 1ull << p.nneedles;
        p.needle[p.nneedles] = q->operation;
        p.needlen[p.nneedles++] = strlen(q->operation);
    }
    /* the service alone is no filter worth a probe (its bloom entry is
     * exact enough); with other needles it costs nothing more */
    if (q->service && p.nneedles) {
        p.needle[p.nneedles] = q->service;
        p.needlen[p.nneedles++] = p.svclen;
    }
    view_t v;
    int rc = view_open(s, &v);
    if (rc)
        goto out;
    for (size_t i = 0; i < v.nhead && !rc; i++) {
        const vhead_t *h = &v.head[i];
        if (h->max_start < p.smin || h->min_start > p.smax || h->max_dur < p.dmin)
            continue;
        scan(&h->mem->b, &p, &k);
    }
    /* blocks, most recent first; stop once no older block can beat the
     * limit-th most recent match */
    qsort(v.blocks, v.nblocks, sizeof *v.blocks, cmp_block_recent);
    for (size_t i = 0; i < v.nblocks && !rc; i++) {
        const st_block_t *b = v.blocks[i];
        if (k.n == k.cap && b->max_start < topk_min(&k))
            break;
        if (b->max_start < p.smin || b->min_start > p.smax || b->max_dur < p.dmin)
            continue;
        for (size_t pg = 0; pg < b->npages && !rc; pg++) {
            if (!page_may_match(&p, &b->pages[pg]))
                continue;
            if (k.n == k.cap && b->pages[pg].max_start < topk_min(&k))
                continue;
            rc = search_page(&v, (b->id << 16) | (int64_t)pg, &p, &k);
        }
    }
    if (!rc && k.n) {
        /* most recent match first */
        for (size_t i = 1; i < k.n; i++)
            for (size_t j = i; j > 0 && k.best[j] > k.best[j - 1]; j--) {
                uint8_t t[16];
                memcpy(t, k.id[j], 16);
                memcpy(k.id[j], k.id[j - 1], 16);
                memcpy(k.id[j - 1], t, 16);
                uint64_t x = k.best[j];
                k.best[j] = k.best[j - 1];
                k.best[j - 1] = x;
            }
        uint8_t(*sorted)[16] = malloc(k.n * 16);
        uint64_t *hs = malloc(k.n * sizeof *hs);
        if (!sorted || !hs) {
            free(sorted);
            free(hs);
            rc = STITCH_ENOMEM;
        } else {
            memcpy(sorted, k.id, k.n * 16);
            qsort(sorted, k.n, 16, cmp_tid);
            for (size_t i = 0; i < k.n; i++)
                hs[i] = st_hash_tid(sorted[i]);
            tidset_t t = {(const uint8_t(*)[16])sorted, hs, k.n};
            rc = fetch_traces(&v, &t, &r->batch);
            view_close(&v);
            if (!rc)
                rc = st_build_result(r, (const uint8_t(*)[16])k.id, k.n);
            free(sorted);
            free(hs);
        }
    }
    view_close(&v);
out:
    free(k.id);
    free(k.best);
    free(p.tag_h);
    free(p.needle);
    free(p.needlen);
    return rc;
}

/* ---- names ------------------------------------------------------------------------- */

typedef struct namecopy {
    char *service, *name;
    int kind;
} namecopy_t;

static int cmp_namecopy(const void *a, const void *b)
{
    const namecopy_t *x = a, *y = b;
    int c = strcmp(x->service, y->service);
    if (!c)
        c = strcmp(x->name, y->name);
    return c ? c : (x->kind > y->kind) - (x->kind < y->kind);
}

static int cmp_namecopy_name(const void *a, const void *b)
{
    const namecopy_t *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (!c)
        c = strcmp(x->service, y->service);
    return c ? c : (x->kind > y->kind) - (x->kind < y->kind);
}

/* Copies of the names of one type (service filter: NULL = any), sorted;
 * one allocation each, freed by the caller. */
static int names_list(stitch_store_t *s, int type, const char *service, int kind, namecopy_t **out,
                      size_t *n)
{
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&s->names_mu);
    namecopy_t *v = malloc((s->names.n ? s->names.n : 1) * sizeof *v);
    size_t m = 0;
    int rc = v ? 0 : STITCH_ENOMEM;
    for (size_t i = 0; i < s->names.cap && !rc; i++) {
        const st_name_t *e = &s->names.slots[i];
        if (!e->service || e->type != type)
            continue;
        if (service && strcmp(service, e->service))
            continue;
        if (kind > 0 && e->kind != kind)
            continue;
        size_t sl = strlen(e->service), nl = strlen(e->name);
        char *mem = malloc(sl + nl + 2);
        if (!mem) {
            rc = STITCH_ENOMEM;
            break;
        }
        memcpy(mem, e->service, sl + 1);
        memcpy(mem + sl + 1, e->name, nl + 1);
        v[m++] = (namecopy_t){mem, mem + sl + 1, e->kind};
    }
    pthread_mutex_unlock(&s->names_mu);
    if (rc) {
        for (size_t i = 0; i < m; i++)
            free(v[i].service);
        free(v);
        return rc;
    }
    qsort(v, m, sizeof *v, type == ST_NAME_OP ? cmp_namecopy_name : cmp_namecopy);
    *out = v;
    *n = m;
    return 0;
}

static void names_free(namecopy_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].service);
    free(v);
}

int st_emb_services(stitch_store_t *s, stitch_store_str_fn fn, void *arg)
{
    if (!s || !fn)
        return STITCH_EINVAL;
    namecopy_t *v;
    size_t n;
    int rc = names_list(s, ST_NAME_SERVICE, NULL, 0, &v, &n);
    for (size_t i = 0; i < n && !rc; i++)
        if (fn(arg, v[i].service))
            break;
    if (!rc)
        names_free(v, n);
    return rc;
}

int st_emb_operations(stitch_store_t *s, const char *service, int kind, stitch_store_op_fn fn, void *arg)
{
    if (!s || !fn)
        return STITCH_EINVAL;
    namecopy_t *v;
    size_t n;
    int rc = names_list(s, ST_NAME_OP, service, kind, &v, &n);
    for (size_t i = 0; i < n && !rc; i++)
        if (fn(arg, v[i].service, v[i].name, v[i].kind))
            break;
    if (!rc)
        names_free(v, n);
    return rc;
}

int st_emb_remote_services(stitch_store_t *s, const char *service, stitch_store_str_fn fn, void *arg)
{
    if (!s || !fn)
        return STITCH_EINVAL;
    namecopy_t *v;
    size_t n;
    int rc = names_list(s, ST_NAME_REMOTE, service, 0, &v, &n);
    if (rc)
        return rc;
    /* sorted by (service, name): with no service filter, one per name */
    for (size_t i = 0; i < n; i++) {
        bool dup = false;
        for (size_t j = 0; j < i && !dup; j++)
            dup = !strcmp(v[j].name, v[i].name);
        if (!dup && fn(arg, v[i].name))
            break;
    }
    names_free(v, n);
    return 0;
}

/* ---- dependencies ------------------------------------------------------------------ */

static int cmp_span_tid(const void *a, const void *b)
{
    const stitch_span_data_t *x = *(const stitch_span_data_t *const *)a;
    const stitch_span_data_t *y = *(const stitch_span_data_t *const *)b;
    return memcmp(x->ctx.trace_id, y->ctx.trace_id, 16);
}

static int cmp_dep(const void *a, const void *b)
{
    const stitch_store_dep_t *x = a, *y = b;
    int c = strcmp(x->parent, y->parent);
    return c ? c : strcmp(x->child, y->child);
}

int st_emb_dependencies(stitch_store_t *s, uint64_t start_ns, uint64_t end_ns, stitch_store_dep_fn fn,
                              void *arg)
{
    if (!s || !fn)
        return STITCH_EINVAL;
    if (!end_ns)
        end_ns = UINT64_MAX;
    view_t v;
    int rc = view_open(s, &v);
    if (rc)
        return rc;
    st_depsum_t d = {0};
    for (size_t i = 0; i < v.nblocks; i++) {
        const st_block_t *b = v.blocks[i];
        if (b->max_start < start_ns || b->min_start > end_ns)
            continue;
        for (uint32_t j = 0; j < b->ndeps; j++)
            st_depsum_add(&d, b->deps[j].parent, strlen(b->deps[j].parent), b->deps[j].child,
                       strlen(b->deps[j].child), b->deps[j].calls, b->deps[j].errors);
    }
    /* the head: every row in range together, so parent and child spans
     * that came in different requests still meet */
    size_t total = 0;
    for (size_t i = 0; i < v.nhead; i++)
        total += v.head[i].mem->b.nspans;
    if (total) {
        const stitch_span_data_t **ptrs = malloc(total * sizeof *ptrs);
        if (!ptrs) {
            rc = STITCH_ENOMEM;
        } else {
            size_t m = 0;
            for (size_t i = 0; i < v.nhead; i++) {
                const vhead_t *h = &v.head[i];
                if (h->max_start < start_ns || h->min_start > end_ns)
                    continue;
                for (size_t j = 0; j < h->mem->b.nspans; j++) {
                    const stitch_span_data_t *sd = &h->mem->b.spans[j];
                    if (sd->start_ns >= start_ns && sd->start_ns <= end_ns)
                        ptrs[m++] = sd;
                }
            }
            qsort(ptrs, m, sizeof *ptrs, cmp_span_tid);
            st_deps_of(ptrs, m, st_depsum_cb, &d);
            free(ptrs);
        }
    }
    view_close(&v);
    if (!rc && d.oom)
        rc = STITCH_ENOMEM;
    stitch_store_dep_t *out = NULL;
    if (!rc && d.n) {
        out = malloc(d.n * sizeof *out);
        if (!out)
            rc = STITCH_ENOMEM;
    }
    if (!rc) {
        for (size_t i = 0; i < d.n; i++)
            out[i] = (stitch_store_dep_t){d.v[i].p, d.v[i].c, d.v[i].calls, d.v[i].errors};
        if (d.n)
            qsort(out, d.n, sizeof *out, cmp_dep);
        for (size_t i = 0; i < d.n; i++)
            if (fn(arg, &out[i]))
                break;
    }
    free(out);
    st_depsum_free(&d);
    return rc;
}
