/* store/block.c — blocks: how compaction turns head spans into one block
 * (deduplicated, sorted by trace id then start, cut into zstd-compressed
 * columnar pages) and the block's summary, the part kept in memory.
 *
 * Summary blob (all integers little-endian, as the host writes them: the
 * engine runs where it wrote its file):
 *
 *   offset  size            field
 *   0       4               magic "STB1"
 *   4       4 x 3           nspans, npages, ndeps
 *   16      8 x 4           min_start, max_start, max_end, max_dur (ns)
 *   48      4 + 4 + nbits/8 trace-id bloom: nbits, k, bits
 *   ...     per page        first[16], last[16] trace ids, nspans u32,
 *                           min_start, max_start, max_dur u64,
 *                           tag bloom: nbits u32, k u32, bits
 *   ...     per dep         calls u64, errors u64, parent (u16 len, bytes,
 *                           NUL), child (u16 len, bytes, NUL)
 *
 * Page i of the block is the row page(block, i): one zstd frame of a
 * columnar page (store/page.c) holding the page's spans, resources and
 * scopes interned by content first so a page has one resource per service.
 * (Schema 1 wrote OTLP ExportTraceServiceRequests there; st_decode_page
 * still reads them.)
 * Invariant: a trace's spans are contiguous across pages (pages cover
 * disjoint [first, last] trace-id ranges, except that a trace of more than
 * 4 x ST_PAGE_SPANS spans may continue on the next page). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zstd.h>

#include "store/internal.h"

#define MAGIC 0x31425453u /* "STB1" */

uint64_t st_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- per-thread zstd contexts ---------------------------------------------------- */

static pthread_key_t dkey;
static pthread_once_t dkey_once = PTHREAD_ONCE_INIT;
static void dctx_free(void *p) { ZSTD_freeDCtx(p); }
static void dkey_init(void) { (void)pthread_key_create(&dkey, dctx_free); }

static ZSTD_DCtx *dctx(void)
{
    (void)pthread_once(&dkey_once, dkey_init);
    ZSTD_DCtx *d = pthread_getspecific(dkey);
    if (!d && (d = ZSTD_createDCtx()) != NULL)
        (void)pthread_setspecific(dkey, d);
    return d;
}

static pthread_key_t ckey;
static pthread_once_t ckey_once = PTHREAD_ONCE_INIT;
static void cctx_free(void *p) { ZSTD_freeCCtx(p); }
static void ckey_init(void) { (void)pthread_key_create(&ckey, cctx_free); }

static ZSTD_CCtx *st_cctx(void)
{
    (void)pthread_once(&ckey_once, ckey_init);
    ZSTD_CCtx *c = pthread_getspecific(ckey);
    if (!c && (c = ZSTD_createCCtx()) != NULL)
        (void)pthread_setspecific(ckey, c);
    return c;
}

/* Decompress one zstd frame into tmp (reset first). */
static int unzstd(const void *z, size_t zlen, stitch_buf_t *tmp)
{
    unsigned long long n = ZSTD_getFrameContentSize(z, zlen);
    if (n == ZSTD_CONTENTSIZE_ERROR || n == ZSTD_CONTENTSIZE_UNKNOWN || n > (1ull << 30))
        return STITCH_EPARSE;
    ZSTD_DCtx *d = dctx();
    if (!d)
        return STITCH_ENOMEM;
    tmp->len = 0;
    if (stitch_buf_reserve(tmp, (size_t)n ? (size_t)n : 1))
        return STITCH_ENOMEM;
    size_t r = ZSTD_decompressDCtx(d, tmp->data, (size_t)n, z, zlen);
    if (ZSTD_isError(r) || r != n)
        return STITCH_EPARSE;
    tmp->len = (size_t)n;
    return 0;
}

static uint64_t rd_varint(const uint8_t **pp, const uint8_t *end, bool *bad)
{
    uint64_t v = 0;
    for (unsigned sh = 0; sh < 64; sh += 7) {
        if (*pp >= end)
            break;
        uint8_t c = *(*pp)++;
        v |= (uint64_t)(c & 0x7f) << sh;
        if (!(c & 0x80))
            return v;
    }
    *bad = true;
    return 0;
}

static int w_varint(stitch_buf_t *b, uint64_t v)
{
    uint8_t t[10];
    size_t n = 0;
    while (v >= 0x80) {
        t[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    t[n++] = (uint8_t)v;
    return stitch_buf_append(b, t, n);
}

#define PACK_MAGIC "STZ1"
#define PACK_MAX_RAW (64u << 20) /* a page never decodes to more */

int st_page_pack(const stitch_buf_t *raw, const size_t *lens, size_t nparts, int level, stitch_buf_t *out)
{
    ZSTD_CCtx *c = st_cctx();
    if (!c)
        return STITCH_ENOMEM;
    out->len = 0;
    if (stitch_buf_append(out, PACK_MAGIC, 4) || w_varint(out, nparts))
        return STITCH_ENOMEM;
    size_t off = 0;
    for (size_t i = 0; i < nparts; i++) {
        const uint8_t *p = raw->data + off;
        size_t n = lens[i];
        off += n;
        size_t bound = ZSTD_compressBound(n);
        if (w_varint(out, n) || stitch_buf_reserve(out, bound + 10))
            return STITCH_ENOMEM;
        /* stored length, then the bytes: write the frame after room for
         * the longest varint, then move it down */
        size_t at = out->len;
        bool zz = n >= 16 && level != ST_PACK_RAW;
        size_t z = zz ? ZSTD_compressCCtx(c, out->data + at + 10, bound, p, n, level) : 0;
        if (zz && !ZSTD_isError(z) && z < n) {
            uint8_t t[10];
            size_t tn = 0;
            uint64_t v = z;
            while (v >= 0x80) {
                t[tn++] = (uint8_t)(v | 0x80);
                v >>= 7;
            }
            t[tn++] = (uint8_t)v;
            memmove(out->data + at + tn, out->data + at + 10, z);
            memcpy(out->data + at, t, tn);
            out->len = at + tn + z;
        } else if (w_varint(out, n) || stitch_buf_append(out, p, n)) {
            return STITCH_ENOMEM;
        }
    }
    return off == raw->len ? 0 : STITCH_EINVAL;
}

/* "STZ1" page -> the raw page in tmp. */
static int unpack(const uint8_t *p, size_t n, stitch_buf_t *tmp)
{
    const uint8_t *q = p + 4, *end = p + n;
    bool bad = false;
    size_t total = 0;
    uint64_t nparts = rd_varint(&q, end, &bad), parts = 0;
    const uint8_t *first = q;
    /* sizes first: one allocation */
    for (; q < end; parts++) {
        uint64_t rl = rd_varint(&q, end, &bad), sl = rd_varint(&q, end, &bad);
        if (bad || parts >= ST_PAGE_MAX_PARTS || sl > (uint64_t)(end - q) || rl > PACK_MAX_RAW - total ||
            sl > rl)
            return STITCH_EPARSE;
        total += rl;
        q += sl;
    }
    if (bad || parts != nparts)
        return STITCH_EPARSE;
    tmp->len = 0;
    if (stitch_buf_reserve(tmp, total ? total : 1))
        return STITCH_ENOMEM;
    ZSTD_DCtx *d = dctx();
    if (!d)
        return STITCH_ENOMEM;
    for (q = first; q < end;) {
        uint64_t rl = rd_varint(&q, end, &bad), sl = rd_varint(&q, end, &bad);
        if (sl == rl) {
            memcpy(tmp->data + tmp->len, q, sl);
        } else {
            size_t r = ZSTD_decompressDCtx(d, tmp->data + tmp->len, rl, q, sl);
            if (ZSTD_isError(r) || r != rl)
                return STITCH_EPARSE;
        }
        tmp->len += rl;
        q += sl;
    }
    return 0;
}

int st_page_part(const void *z, size_t zlen, size_t part, stitch_buf_t *out)
{
    const uint8_t *p = z, *q = p + 4, *end = p + zlen;
    if (zlen < 4 || memcmp(z, PACK_MAGIC, 4))
        return STITCH_ENOTFOUND;
    bool bad = false;
    uint64_t nparts = rd_varint(&q, end, &bad);
    if (bad || part >= nparts)
        return STITCH_EPARSE;
    for (size_t i = 0; q < end; i++) {
        uint64_t rl = rd_varint(&q, end, &bad), sl = rd_varint(&q, end, &bad);
        if (bad || sl > (uint64_t)(end - q) || rl > PACK_MAX_RAW || sl > rl)
            return STITCH_EPARSE;
        if (i < part) {
            q += sl;
            continue;
        }
        out->len = 0;
        if (stitch_buf_reserve(out, rl ? (size_t)rl : 1))
            return STITCH_ENOMEM;
        if (sl == rl) {
            memcpy(out->data, q, sl);
        } else {
            ZSTD_DCtx *d = dctx();
            if (!d)
                return STITCH_ENOMEM;
            size_t r = ZSTD_decompressDCtx(d, out->data, rl, q, sl);
            if (ZSTD_isError(r) || r != rl)
                return STITCH_EPARSE;
        }
        out->len = (size_t)rl;
        return 0;
    }
    return STITCH_EPARSE;
}

int st_page_unpack(const void *z, size_t zlen, stitch_buf_t *tmp)
{
    if (zlen < 4 || memcmp(z, PACK_MAGIC, 4))
        return STITCH_ENOTFOUND;
    int rc = unpack(z, zlen, tmp);
    if (!rc && (tmp->len < 4 || memcmp(tmp->data, "STP", 3)))
        return STITCH_ENOTFOUND;
    return rc;
}

int st_decode_page(const void *z, size_t zlen, stitch_buf_t *tmp, stitch_wire_batch_t *b)
{
    return st_decode_page_traces(z, zlen, tmp, b, NULL, NULL);
}

int st_decode_page_traces(const void *z, size_t zlen, stitch_buf_t *tmp, stitch_wire_batch_t *b,
                          bool (*want)(const void *arg, const uint8_t tid[16]), const void *arg)
{
    int rc = zlen >= 4 && !memcmp(z, PACK_MAGIC, 4) ? unpack(z, zlen, tmp) : unzstd(z, zlen, tmp);
    if (rc)
        return rc;
    /* a columnar page starts with "STP"; an OTLP request (schema 1's
     * pages) with field 1's tag, 0x0a (decoded whole: `want` is a filter
     * the caller applies anyway) */
    if (tmp->len >= 4 && !memcmp(tmp->data, "STP", 3))
        return st_page_decode_traces(b, tmp->data, tmp->len, want, arg);
    stitch_wire_error_t err;
    rc = stitch_wire_otlp_proto_decode(b, tmp->data, tmp->len, &err);
    return rc < 0 ? rc : 0;
}

/* ---- head memory ------------------------------------------------------------------ */

st_hmem_t *st_hmem_new(void)
{
    st_hmem_t *m = malloc(sizeof *m);
    if (m) {
        stitch_wire_batch_init(&m->b, 0);
        atomic_init(&m->refs, 1);
    }
    return m;
}

void st_hmem_unref(st_hmem_t *m)
{
    if (m && atomic_fetch_sub(&m->refs, 1) == 1) {
        stitch_wire_batch_free(&m->b);
        free(m);
    }
}

/* ---- summary parsing -------------------------------------------------------------- */

typedef struct rd {
    const uint8_t *p, *end;
    bool bad;
} rd_t;

static const uint8_t *rd_take(rd_t *r, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *q = r->p;
    r->p += n;
    return q;
}
static uint32_t rd_u32(rd_t *r)
{
    uint32_t v = 0;
    const uint8_t *q = rd_take(r, 4);
    if (q)
        memcpy(&v, q, 4);
    return v;
}
static uint64_t rd_u64(rd_t *r)
{
    uint64_t v = 0;
    const uint8_t *q = rd_take(r, 8);
    if (q)
        memcpy(&v, q, 8);
    return v;
}
static void rd_bloom(rd_t *r, st_bloom_t *b)
{
    b->nbits = rd_u32(r);
    b->k = rd_u32(r);
    if (b->nbits % 8 || b->k > 32)
        r->bad = true;
    b->bits = rd_take(r, b->nbits / 8);
}
static const char *rd_str(rd_t *r)
{
    const uint8_t *q = rd_take(r, 2);
    uint16_t n = 0;
    if (q)
        memcpy(&n, q, 2);
    const uint8_t *s = rd_take(r, (size_t)n + 1);
    if (!s || s[n] != 0) {
        r->bad = true;
        return "";
    }
    return (const char *)s;
}

int st_block_parse(st_block_t **out, int64_t id, uint8_t *blob, size_t len)
{
    rd_t r = {blob, blob + len, false};
    if (rd_u32(&r) != MAGIC)
        return STITCH_EPARSE;
    st_block_t *b = calloc(1, sizeof *b);
    if (!b)
        return STITCH_ENOMEM;
    b->id = id;
    b->nspans = rd_u32(&r);
    b->npages = rd_u32(&r);
    b->ndeps = rd_u32(&r);
    b->min_start = rd_u64(&r);
    b->max_start = rd_u64(&r);
    b->max_end = rd_u64(&r);
    b->max_dur = rd_u64(&r);
    rd_bloom(&r, &b->tids);
    if (r.bad || b->npages > len / 64 || b->ndeps > len / 20)
        goto bad;
    b->pages = calloc(b->npages ? b->npages : 1, sizeof *b->pages);
    b->deps = calloc(b->ndeps ? b->ndeps : 1, sizeof *b->deps);
    if (!b->pages || !b->deps) {
        free(b->pages);
        free(b->deps);
        free(b);
        return STITCH_ENOMEM;
    }
    for (uint32_t i = 0; i < b->npages && !r.bad; i++) {
        st_page_t *pg = &b->pages[i];
        const uint8_t *q = rd_take(&r, 32);
        if (q) {
            memcpy(pg->first, q, 16);
            memcpy(pg->last, q + 16, 16);
        }
        pg->nspans = rd_u32(&r);
        pg->min_start = rd_u64(&r);
        pg->max_start = rd_u64(&r);
        pg->max_dur = rd_u64(&r);
        rd_bloom(&r, &pg->tags);
    }
    for (uint32_t i = 0; i < b->ndeps && !r.bad; i++) {
        b->deps[i].calls = rd_u64(&r);
        b->deps[i].errors = rd_u64(&r);
        b->deps[i].parent = rd_str(&r);
        b->deps[i].child = rd_str(&r);
    }
    if (r.bad)
        goto bad;
    b->blob = blob;
    b->bloblen = len;
    atomic_init(&b->refs, 1);
    *out = b;
    return 0;
bad:
    free(b->pages);
    free(b->deps);
    free(b);
    return STITCH_EPARSE;
}

void st_block_unref(st_block_t *b)
{
    if (b && atomic_fetch_sub(&b->refs, 1) == 1) {
        free(b->pages);
        free(b->deps);
        free(b->blob);
        free(b);
    }
}

/* ---- head facts -------------------------------------------------------------------- */

int st_head_meta(const stitch_span_data_t *const *spans, size_t n, st_headrow_t *row)
{
    row->nspans = (uint32_t)n;
    row->min_start = UINT64_MAX;
    row->max_start = row->max_end = row->max_dur = 0;
    row->tidh = malloc((n ? n : 1) * sizeof *row->tidh);
    if (!row->tidh)
        return STITCH_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const stitch_span_data_t *d = spans[i];
        row->tidh[i] = st_hash_tid(d->ctx.trace_id);
        if (d->start_ns < row->min_start)
            row->min_start = d->start_ns;
        if (d->start_ns > row->max_start)
            row->max_start = d->start_ns;
        if (d->end_ns > row->max_end)
            row->max_end = d->end_ns;
        uint64_t dur = d->end_ns > d->start_ns ? d->end_ns - d->start_ns : 0;
        if (dur > row->max_dur)
            row->max_dur = dur;
    }
    if (!n)
        row->min_start = 0;
    return 0;
}

/* ---- dependencies ----------------------------------------------------------------- */

typedef struct sid_ix {
    uint8_t id[8];
    uint32_t i;
} sid_ix_t;

static int cmp_sid(const void *a, const void *b) { return memcmp(a, b, 8); }

void st_deps_of(const stitch_span_data_t *const *sp, size_t n, st_dep_cb cb, void *arg)
{
    static const uint8_t zero[8];
    sid_ix_t *ix = NULL;
    size_t capix = 0;
    for (size_t a = 0; a < n;) {
        size_t b = a + 1;
        while (b < n && !memcmp(sp[b]->ctx.trace_id, sp[a]->ctx.trace_id, 16))
            b++;
        size_t cnt = b - a;
        bool sorted = false;
        if (cnt > 24) {
            if (cnt > capix) {
                sid_ix_t *nx = realloc(ix, cnt * sizeof *ix);
                if (!nx) {
                    a = b;
                    continue; /* out of memory: this trace's edges are skipped */
                }
                ix = nx;
                capix = cnt;
            }
            for (size_t i = 0; i < cnt; i++) {
                memcpy(ix[i].id, sp[a + i]->ctx.span_id, 8);
                ix[i].i = (uint32_t)(a + i);
            }
            qsort(ix, cnt, sizeof *ix, cmp_sid);
            sorted = true;
        }
        for (size_t c = a; c < b; c++) {
            const stitch_span_data_t *child = sp[c];
            if (!memcmp(child->parent_span_id, zero, 8))
                continue;
            const stitch_span_data_t *parent = NULL;
            if (sorted) {
                sid_ix_t key;
                memcpy(key.id, child->parent_span_id, 8);
                sid_ix_t *f = bsearch(&key, ix, cnt, sizeof *ix, cmp_sid);
                if (f)
                    parent = sp[f->i];
            } else {
                for (size_t p = a; p < b; p++)
                    if (!memcmp(sp[p]->ctx.span_id, child->parent_span_id, 8)) {
                        parent = sp[p];
                        break;
                    }
            }
            if (!parent)
                continue;
            size_t pl, cl;
            const char *ps = st_span_service(parent, &pl), *cs = st_span_service(child, &cl);
            if (pl == cl && !memcmp(ps, cs, pl))
                continue;
            cb(arg, ps, pl, cs, cl, child->status == STITCH_STATUS_ERROR);
        }
        a = b;
    }
    free(ix);
}

/* ---- building ------------------------------------------------------------------- */

/* A set of 64-bit hashes (0 stands for itself through a flag). */
typedef struct hset {
    uint64_t *v;
    size_t cap, n;
    bool has0;
} hset_t;

static int hset_add(hset_t *s, uint64_t h)
{
    if (!h) {
        if (!s->has0)
            s->n++;
        s->has0 = true;
        return 0;
    }
    if ((s->n + 1) * 2 > s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 4096;
        uint64_t *nv = calloc(ncap, sizeof *nv);
        if (!nv)
            return STITCH_ENOMEM;
        for (size_t i = 0; i < s->cap; i++)
            if (s->v[i]) {
                size_t j = (s->v[i] * 0x9e3779b97f4a7c15ull) >> 20 & (ncap - 1);
                while (nv[j])
                    j = (j + 1) & (ncap - 1);
                nv[j] = s->v[i];
            }
        free(s->v);
        s->v = nv;
        s->cap = ncap;
    }
    size_t j = (h * 0x9e3779b97f4a7c15ull) >> 20 & (s->cap - 1);
    while (s->v[j]) {
        if (s->v[j] == h)
            return 0;
        j = (j + 1) & (s->cap - 1);
    }
    s->v[j] = h;
    s->n++;
    return 0;
}

/* Pointer -> canonical pointer (resources and scopes interned by content). */
typedef struct pmap {
    const void **k, **v;
    size_t cap, n;
} pmap_t;

static const void *pmap_get(const pmap_t *m, const void *k)
{
    if (!m->cap)
        return NULL;
    size_t j = ((uintptr_t)k >> 4) * 0x9e3779b97f4a7c15ull >> 32 & (m->cap - 1);
    while (m->k[j]) {
        if (m->k[j] == k)
            return m->v[j];
        j = (j + 1) & (m->cap - 1);
    }
    return NULL;
}

static int pmap_put(pmap_t *m, const void *k, const void *v)
{
    if ((m->n + 1) * 2 > m->cap) {
        pmap_t nm = {0};
        nm.cap = m->cap ? m->cap * 2 : 64;
        nm.k = calloc(nm.cap, sizeof *nm.k);
        nm.v = calloc(nm.cap, sizeof *nm.v);
        if (!nm.k || !nm.v) {
            free(nm.k);
            free(nm.v);
            return STITCH_ENOMEM;
        }
        for (size_t i = 0; i < m->cap; i++)
            if (m->k[i])
                (void)pmap_put(&nm, m->k[i], m->v[i]);
        free(m->k);
        free(m->v);
        *m = nm;
    }
    size_t j = ((uintptr_t)k >> 4) * 0x9e3779b97f4a7c15ull >> 32 & (m->cap - 1);
    while (m->k[j])
        j = (j + 1) & (m->cap - 1);
    m->k[j] = k;
    m->v[j] = v;
    m->n++;
    return 0;
}

static void pmap_free(pmap_t *m)
{
    free(m->k);
    free(m->v);
}

static bool attrs_equal(const stitch_attr_t *a, uint32_t na, const stitch_attr_t *b, uint32_t nb)
{
    if (na != nb)
        return false;
    char t1[64], t2[64];
    for (uint32_t i = 0; i < na; i++) {
        if (strcmp(a[i].key, b[i].key) || a[i].value.type != b[i].value.type)
            return false;
        size_t l1, l2;
        const char *x = st_value_text(&a[i].value, t1, sizeof t1, &l1);
        const char *y = st_value_text(&b[i].value, t2, sizeof t2, &l2);
        if (l1 != l2 || memcmp(x, y, l1))
            return false;
        if (a[i].value.type >= STITCH_VALUE_STRING_ARRAY && l1 == sizeof t1)
            return false; /* cut text: do not merge on a prefix */
    }
    return true;
}

static uint64_t attrs_hash(const stitch_attr_t *a, uint32_t n)
{
    uint64_t h = n;
    char t[64];
    for (uint32_t i = 0; i < n; i++) {
        size_t l;
        const char *x = st_value_text(&a[i].value, t, sizeof t, &l);
        h = st_hash(a[i].key, strlen(a[i].key), h);
        h = st_hash(x, l, h ^ (uint64_t)a[i].value.type);
    }
    return h;
}

/* The canonical resources/scopes seen in this build. */
typedef struct canon {
    uint64_t h;
    const stitch_span_data_t *d; /* stands for its resource (or scope) */
} canon_t;

typedef struct builder {
    pmap_t res_map, scope_map;
    canon_t *res, *scopes;
    size_t nres, nscopes, capres, capscopes;
} builder_t;

static const void *intern(builder_t *B, const stitch_span_data_t *d, bool scope)
{
    pmap_t *m = scope ? &B->scope_map : &B->res_map;
    const void *key = scope ? (const void *)d->scope : (const void *)d->resource;
    if (!key)
        return NULL;
    const void *c = pmap_get(m, key);
    if (c)
        return c;
    uint64_t h;
    if (scope)
        h = st_hash(d->scope->version, strlen(d->scope->version),
                    st_hash(d->scope->name, strlen(d->scope->name), 5));
    else
        h = attrs_hash(d->resource, d->nresource);
    canon_t **arr = scope ? &B->scopes : &B->res;
    size_t *n = scope ? &B->nscopes : &B->nres, *cap = scope ? &B->capscopes : &B->capres;
    for (size_t i = 0; i < *n; i++) {
        const stitch_span_data_t *o = (*arr)[i].d;
        if ((*arr)[i].h != h)
            continue;
        if (scope ? (!strcmp(o->scope->name, d->scope->name) &&
                     !strcmp(o->scope->version, d->scope->version))
                  : attrs_equal(o->resource, o->nresource, d->resource, d->nresource)) {
            c = scope ? (const void *)o->scope : (const void *)o->resource;
            break;
        }
    }
    if (!c) {
        if (*n == *cap) {
            size_t nc = *cap ? *cap * 2 : 16;
            canon_t *na = realloc(*arr, nc * sizeof *na);
            if (!na)
                return key; /* keep the span's own: correct, only less grouped */
            *arr = na;
            *cap = nc;
        }
        (*arr)[(*n)++] = (canon_t){h, d};
        c = key;
    }
    (void)pmap_put(m, key, c); /* on failure it is looked up again next time */
    return c;
}

static int cmp_tid_start(const void *a, const void *b)
{
    const stitch_span_data_t *x = *(const stitch_span_data_t *const *)a;
    const stitch_span_data_t *y = *(const stitch_span_data_t *const *)b;
    int c = memcmp(x->ctx.trace_id, y->ctx.trace_id, 16);
    if (c)
        return c;
    if (x->start_ns != y->start_ns)
        return x->start_ns < y->start_ns ? -1 : 1;
    return memcmp(x->ctx.span_id, y->ctx.span_id, 8);
}

/* ---- summary writer ---- */

static int w_u32(stitch_buf_t *b, uint32_t v) { return stitch_buf_append(b, &v, 4); }
static int w_u64(stitch_buf_t *b, uint64_t v) { return stitch_buf_append(b, &v, 8); }
static int w_str(stitch_buf_t *b, const char *s, size_t n)
{
    uint16_t l = n > 65535 ? 65535 : (uint16_t)n;
    int rc = stitch_buf_append(b, &l, 2);
    if (!rc)
        rc = stitch_buf_append(b, s, l);
    if (!rc)
        rc = stitch_buf_append(b, "", 1);
    return rc;
}

/* Bloom of a hash set, appended as nbits, k, bits. */
static int w_bloom(stitch_buf_t *out, const hset_t *s, unsigned bpk)
{
    uint32_t nbits = st_bloom_nbits(s->n, bpk);
    unsigned k = st_bloom_k(bpk);
    if (w_u32(out, nbits) || w_u32(out, k) || stitch_buf_reserve(out, nbits / 8))
        return STITCH_ENOMEM;
    uint8_t *bits = out->data + out->len;
    memset(bits, 0, nbits / 8);
    for (size_t i = 0; i < s->cap; i++)
        if (s->v[i])
            st_bloom_add(bits, nbits, k, s->v[i]);
    if (s->has0)
        st_bloom_add(bits, nbits, k, 0);
    out->len += nbits / 8;
    return 0;
}

/* Bloom of n hashes (duplicates allowed: they count in the size), as
 * w_bloom writes it. */
static int w_bloom_list(stitch_buf_t *out, const uint64_t *h, size_t n, unsigned bpk)
{
    uint32_t nbits = st_bloom_nbits(n, bpk);
    unsigned k = st_bloom_k(bpk);
    if (w_u32(out, nbits) || w_u32(out, k) || stitch_buf_reserve(out, nbits / 8))
        return STITCH_ENOMEM;
    uint8_t *bits = out->data + out->len;
    memset(bits, 0, nbits / 8);
    for (size_t i = 0; i < n; i++)
        st_bloom_add(bits, nbits, k, h[i]);
    out->len += nbits / 8;
    return 0;
}

void st_depsum_add(st_depsum_t *d, const char *p, size_t pl, const char *c, size_t cl,
                   uint64_t calls, uint64_t errors)
{
    if (d->oom)
        return;
    for (size_t i = 0; i < d->n; i++)
        if (strlen(d->v[i].p) == pl && !memcmp(d->v[i].p, p, pl) && strlen(d->v[i].c) == cl &&
            !memcmp(d->v[i].c, c, cl)) {
            d->v[i].calls += calls;
            d->v[i].errors += errors;
            return;
        }
    if (d->n == d->cap) {
        size_t nc = d->cap ? d->cap * 2 : 16;
        void *nv = realloc(d->v, nc * sizeof *d->v);
        if (!nv) {
            d->oom = true;
            return;
        }
        d->v = nv;
        d->cap = nc;
    }
    char *ps = strndup(p, pl), *cs = strndup(c, cl);
    if (!ps || !cs) {
        free(ps);
        free(cs);
        d->oom = true;
        return;
    }
    d->v[d->n].p = ps;
    d->v[d->n].c = cs;
    d->v[d->n].calls = calls;
    d->v[d->n].errors = errors;
    d->n++;
}

void st_depsum_cb(void *arg, const char *p, size_t pl, const char *c, size_t cl, bool err)
{
    st_depsum_add(arg, p, pl, c, cl, 1, err);
}

void st_depsum_free(st_depsum_t *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->v[i].p);
        free(d->v[i].c);
    }
    free(d->v);
    d->v = NULL;
    d->n = d->cap = 0;
}

int st_compress(const void *in, size_t n, int level, stitch_buf_t *out)
{
    ZSTD_CCtx *c = st_cctx();
    if (!c)
        return STITCH_ENOMEM;
    size_t bound = ZSTD_compressBound(n);
    out->len = 0;
    if (stitch_buf_reserve(out, bound))
        return STITCH_ENOMEM;
    size_t r = ZSTD_compressCCtx(c, out->data, bound, in, n, level);
    if (ZSTD_isError(r))
        return STITCH_EIO;
    out->len = r;
    return 0;
}

int st_block_build(const stitch_span_data_t *const *spans, size_t n, st_built_t *out)
{
    memset(out, 0, sizeof *out);
    builder_t B = {0};
    hset_t set = {0};
    st_depsum_t deps = {0};
    stitch_buf_t enc = STITCH_BUF_INIT(0);
    st_page_enc_t *pe = st_page_enc_new();
    int rc = STITCH_ENOMEM;
    if (!pe)
        return rc;
    /* shallow copies whose resource and scope point at the interned ones */
    stitch_span_data_t *cp = malloc((n ? n : 1) * sizeof *cp);
    const stitch_span_data_t **sp = malloc((n ? n : 1) * sizeof *sp);
    if (!cp || !sp)
        goto done;
    for (size_t i = 0; i < n; i++) {
        cp[i] = *spans[i];
        const void *r = intern(&B, spans[i], false);
        const void *sc = intern(&B, spans[i], true);
        cp[i].resource = r;
        cp[i].scope = sc;
        sp[i] = &cp[i];
    }
    qsort(sp, n, sizeof *sp, cmp_tid_start);
    /* drop duplicates: same trace id and span id (a client retry) */
    size_t m = 0;
    for (size_t a = 0; a < n;) {
        size_t b = a + 1;
        while (b < n && !memcmp(sp[b]->ctx.trace_id, sp[a]->ctx.trace_id, 16))
            b++;
        for (size_t i = a; i < b; i++) {
            bool dup = false;
            for (size_t j = m; j-- > 0 && !memcmp(sp[j]->ctx.trace_id, sp[i]->ctx.trace_id, 16);)
                if (!memcmp(sp[j]->ctx.span_id, sp[i]->ctx.span_id, 8)) {
                    dup = true;
                    break;
                }
            if (dup)
                out->nduplicates++;
            else
                sp[m++] = sp[i];
        }
        a = b;
    }
    n = m;
    out->nspans = n;

    /* block header, then the trace-id bloom */
    uint64_t min_start = UINT64_MAX, max_start = 0, max_end = 0, max_dur = 0;
    for (size_t i = 0; i < n; i++) {
        const stitch_span_data_t *d = sp[i];
        uint64_t dur = d->end_ns > d->start_ns ? d->end_ns - d->start_ns : 0;
        if (d->start_ns < min_start)
            min_start = d->start_ns;
        if (d->start_ns > max_start)
            max_start = d->start_ns;
        if (d->end_ns > max_end)
            max_end = d->end_ns;
        if (dur > max_dur)
            max_dur = dur;
        if (hset_add(&set, st_hash_tid(d->ctx.trace_id)))
            goto done;
    }
    if (!n)
        min_start = 0;
    /* pages: cut at ST_PAGE_SPANS on a trace boundary */
    size_t *cuts = NULL, ncuts = 0;
    {
        size_t cap = n / ST_PAGE_SPANS + 2;
        cuts = malloc((cap + 1) * sizeof *cuts);
        if (!cuts)
            goto done;
        size_t start = 0;
        cuts[ncuts++] = 0;
        for (size_t i = 1; i <= n; i++) {
            bool boundary = i == n || memcmp(sp[i]->ctx.trace_id, sp[i - 1]->ctx.trace_id, 16);
            if (i == n || (i - start >= ST_PAGE_SPANS && boundary) || i - start >= 4 * ST_PAGE_SPANS) {
                if (i == n && i == start)
                    break;
                if (ncuts > cap) {
                    size_t *nc = realloc(cuts, (cap * 2 + 1) * sizeof *nc);
                    if (!nc) {
                        free(cuts);
                        goto done;
                    }
                    cuts = nc;
                    cap *= 2;
                }
                cuts[ncuts++] = i;
                start = i;
            }
        }
    }
    size_t npages = ncuts - 1;
    st_deps_of(sp, n, st_depsum_cb, &deps);
    if (deps.oom) {
        free(cuts);
        goto done;
    }

    stitch_buf_t *S = &out->summary;
    if (w_u32(S, MAGIC) || w_u32(S, (uint32_t)n) || w_u32(S, (uint32_t)npages) ||
        w_u32(S, (uint32_t)deps.n) || w_u64(S, min_start) || w_u64(S, max_start) ||
        w_u64(S, max_end) || w_u64(S, max_dur) || w_bloom(S, &set, ST_TID_BLOOM_BITS)) {
        free(cuts);
        goto done;
    }
    out->pages = calloc(npages ? npages : 1, sizeof *out->pages);
    if (!out->pages) {
        free(cuts);
        goto done;
    }
    out->npages = npages;
    for (size_t p = 0; p < npages; p++) {
        size_t a = cuts[p], b = cuts[p + 1];
        uint64_t pmin = UINT64_MAX, pmax = 0, pdur = 0;
        for (size_t i = a; i < b; i++) {
            const stitch_span_data_t *d = sp[i];
            uint64_t dur = d->end_ns > d->start_ns ? d->end_ns - d->start_ns : 0;
            if (d->start_ns < pmin)
                pmin = d->start_ns;
            if (d->start_ns > pmax)
                pmax = d->start_ns;
            if (dur > pdur)
                pdur = dur;
        }
        /* the encoder hashes the bloom entries as it meets each distinct
         * string (page.c): one pass over the spans, not two */
        rc = st_page_encode(pe, sp + a, b - a, &enc);
        if (rc) {
            free(cuts);
            goto done;
        }
        /* the encoder's entries are nearly distinct already (it dedups
         * values of dictionary columns; raw columns repeat little): size the
         * bloom by their count and add them directly, no set in between */
        size_t nent;
        const uint64_t *ent = st_page_entries(pe, &nent);
        if (stitch_buf_append(S, sp[a]->ctx.trace_id, 16) ||
            stitch_buf_append(S, sp[b - 1]->ctx.trace_id, 16) || w_u32(S, (uint32_t)(b - a)) ||
            w_u64(S, pmin) || w_u64(S, pmax) || w_u64(S, pdur) || w_bloom_list(S, ent, nent, ST_TAG_BLOOM_BITS))
            goto page_oom;
        size_t lens[ST_PAGE_MAX_PARTS];
        size_t nparts = st_page_parts(pe, lens, ST_PAGE_MAX_PARTS);
        rc = st_page_pack(&enc, lens, nparts, ST_PAGE_ZSTD_LEVEL, &out->pages[p]);
        if (rc) {
            free(cuts);
            goto done;
        }
        out->bytes += out->pages[p].len;
        continue;
    page_oom:
        free(cuts);
        rc = STITCH_ENOMEM;
        goto done;
    }
    free(cuts);
    for (size_t i = 0; i < deps.n; i++)
        if (w_u64(S, deps.v[i].calls) || w_u64(S, deps.v[i].errors) ||
            w_str(S, deps.v[i].p, strlen(deps.v[i].p)) || w_str(S, deps.v[i].c, strlen(deps.v[i].c))) {
            rc = STITCH_ENOMEM;
            goto done;
        }
    out->bytes += S->len;
    rc = 0;
done:
    st_depsum_free(&deps);
    free(set.v);
    stitch_buf_free(&enc);
    st_page_enc_free(pe);
    pmap_free(&B.res_map);
    pmap_free(&B.scope_map);
    free(B.res);
    free(B.scopes);
    free(cp);
    free(sp);
    if (rc)
        st_built_free(out);
    return rc;
}

void st_built_free(st_built_t *b)
{
    stitch_buf_free(&b->summary);
    for (size_t i = 0; i < b->npages; i++)
        stitch_buf_free(&b->pages[i]);
    free(b->pages);
    memset(b, 0, sizeof *b);
}
