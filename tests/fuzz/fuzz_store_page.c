/* fuzz_store_page: st_page_decode (store/page.c, the store's columnar page
 * decoder, which reads bytes from disk) on the raw input. Invariants: it
 * accepts or returns STITCH_EPARSE / ELIMIT / ENOMEM with nothing appended;
 * what it accepts re-encodes with st_page_encode and decodes again to the
 * same spans (compared as OTLP/JSON text); the match pass (st_page_match)
 * reports exactly the spans a reference span_match finds among them, and a
 * partial decode (st_page_decode_traces) gives exactly the wanted traces'
 * spans; the batches are freed
 * (LeakSanitizer checks the arena and the tracestate references).
 *
 * The codec is compiled in from its sources (page.c and bloom.c need only
 * libstitch and stitch_wire_decode, which every fuzz target links), so the
 * target does not depend on SQLite or zstd. Seeds in corpus/store_page/
 * are pages written by the encoder (see tests/unit/test_store_page.c). */
#include "fuzz_util.h"
#include "store/bloom.c"
#include "store/page.c"
#include "wire/wire.h"

#define FZ_ARENA_MAX (16u << 20)

static char *json_of(const stitch_span_data_t *d, int *rc)
{
    stitch_buf_t b = STITCH_BUF_INIT(0);
    *rc = stitch_wire_otlp_json_encode(&d, 1, &b);
    if (stitch_buf_append(&b, "", 1))
        abort();
    return (char *)b.data;
}

/* The reference: query.c's span_match over a decoded span. */
static bool ref_attr(const stitch_attr_t *a, uint32_t n, const stitch_store_tag_t *t)
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

static bool ref_match(const st_page_match_t *m, const stitch_span_data_t *d)
{
    uint64_t dur = d->end_ns > d->start_ns ? d->end_ns - d->start_ns : 0;
    if (d->start_ns < m->smin || d->start_ns > m->smax || dur < m->dmin || dur > m->dmax)
        return false;
    if (m->kind > 0 && (int)d->kind != m->kind)
        return false;
    if (m->status_mask && !(m->status_mask & (1u << d->status)))
        return false;
    if (m->operation && strcmp(d->name, m->operation))
        return false;
    if (m->service) {
        size_t l;
        const char *svc = st_span_service(d, &l);
        if (l != m->svclen || memcmp(svc, m->service, l))
            return false;
    }
    for (size_t i = 0; i < m->ntags; i++) {
        bool ok = ref_attr(d->attrs, d->nattrs, &m->tags[i]) || ref_attr(d->resource, d->nresource, &m->tags[i]);
        for (uint32_t e = 0; e < d->nevents && !ok; e++)
            ok = ref_attr(d->events[e].attrs, d->events[e].nattrs, &m->tags[i]);
        if (!ok)
            return false;
    }
    return true;
}

typedef struct hits {
    uint8_t tid[64][16];
    uint64_t start[64];
    size_t n, total;
} hits_t;

static void on_hit(void *arg, const uint8_t tid[16], uint64_t start)
{
    hits_t *h = arg;
    if (h->n < 64) {
        memcpy(h->tid[h->n], tid, 16);
        h->start[h->n++] = start;
    }
    h->total++;
}

static bool odd_trace(const void *arg, const uint8_t tid[16])
{
    (void)arg;
    return tid[15] & 1;
}

/* st_page_match and st_page_decode_traces on a page st_page_decode
 * accepted (b): the same spans as the decode, filtered. */
static void check_partial(const uint8_t *data, size_t size, const stitch_wire_batch_t *b)
{
    /* the conditions come from the page itself: the last span's first
     * attribute (as its text), service and name, or nothing */
    const stitch_span_data_t *last = b->nspans ? &b->spans[b->nspans - 1] : NULL;
    stitch_store_tag_t tag = {"k", NULL};
    char tmp[1024], val[1100];
    st_page_match_t m = {.smax = UINT64_MAX, .dmax = UINT64_MAX, .kind = -1, .hit = on_hit};
    if (last && last->nattrs) {
        size_t l;
        const char *x = st_value_text(&last->attrs[0].value, tmp, sizeof tmp, &l);
        snprintf(val, sizeof val, "%.*s", (int)l, x);
        tag = (stitch_store_tag_t){last->attrs[0].key, memchr(x, 0, l) ? NULL : val};
        m.tags = &tag;
        m.ntags = 1;
    }
    if (last && (size & 1)) {
        m.service = st_span_service(last, &m.svclen);
        if (memchr(m.service, 0, m.svclen))
            m.service = NULL;
        m.operation = last->name;
        m.status_mask = 1u << last->status;
    }
    hits_t h = {0};
    m.arg = &h;
    stitch_wire_batch_t s;
    stitch_wire_batch_init(&s, FZ_ARENA_MAX);
    int rc = st_page_match(&s, data, size, &m);
    FUZZ_CHECK(rc == 0 || rc == 1 || rc == STITCH_ELIMIT || rc == STITCH_ENOMEM);
    if (rc == 0) {
        size_t k = 0;
        for (size_t i = 0; i < b->nspans; i++)
            if (ref_match(&m, &b->spans[i])) {
                if (k < 64) {
                    FUZZ_CHECK(!memcmp(h.tid[k], b->spans[i].ctx.trace_id, 16));
                    FUZZ_CHECK(h.start[k] == b->spans[i].start_ns);
                }
                k++;
            }
        FUZZ_CHECK(k == h.total);
    }
    stitch_wire_batch_reset(&s);
    rc = st_page_decode_traces(&s, data, size, odd_trace, NULL);
    FUZZ_CHECK(rc == 0 || rc == STITCH_ELIMIT || rc == STITCH_ENOMEM);
    if (rc == 0) {
        size_t k = 0;
        for (size_t i = 0; i < b->nspans; i++) {
            if (!odd_trace(NULL, b->spans[i].ctx.trace_id))
                continue;
            FUZZ_CHECK(k < s.nspans);
            int r1, r2;
            char *x = json_of(&b->spans[i], &r1), *y = json_of(&s.spans[k], &r2);
            if (r1 != r2 || strcmp(x, y))
                fprintf(stderr, "partial decode, span %zu differs:\n%s\n%s\n", i, x, y);
            FUZZ_CHECK(r1 == r2 && !strcmp(x, y));
            free(x);
            free(y);
            k++;
        }
        FUZZ_CHECK(k == s.nspans);
    }
    stitch_wire_batch_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    stitch_wire_batch_t b, b2;
    stitch_wire_batch_init(&b, FZ_ARENA_MAX);
    int rc = st_page_decode(&b, data, size);
    FUZZ_CHECK(rc == 0 || rc == STITCH_EPARSE || rc == STITCH_ELIMIT || rc == STITCH_ENOMEM);
    if (rc) {
        FUZZ_CHECK(b.nspans == 0);
    } else {
        const stitch_span_data_t **ptrs = malloc((b.nspans + 1) * sizeof *ptrs);
        FUZZ_CHECK(ptrs != NULL);
        for (size_t i = 0; i < b.nspans; i++)
            ptrs[i] = &b.spans[i];
        st_page_enc_t *e = st_page_enc_new();
        FUZZ_CHECK(e != NULL);
        stitch_buf_t out = STITCH_BUF_INIT(0);
        FUZZ_CHECK(st_page_encode(e, ptrs, b.nspans, &out) == 0);
        stitch_wire_batch_init(&b2, 0);
        int rc2 = st_page_decode(&b2, out.data, out.len);
        if (rc2 != 0 || b2.nspans != b.nspans)
            fprintf(stderr, "re-decode: rc %d, %zu spans of %zu\n", rc2, b2.nspans, b.nspans);
        FUZZ_CHECK(rc2 == 0 && b2.nspans == b.nspans);
        for (size_t i = 0; i < b.nspans; i++) {
            int r1, r2;
            char *x = json_of(&b.spans[i], &r1), *y = json_of(&b2.spans[i], &r2);
            if (r1 != r2 || strcmp(x, y))
                fprintf(stderr, "span %zu differs:\n%s\n%s\n", i, x, y);
            FUZZ_CHECK(r1 == r2 && !strcmp(x, y));
            free(x);
            free(y);
        }
        stitch_wire_batch_free(&b2);
        stitch_buf_free(&out);
        st_page_enc_free(e);
        free(ptrs);
        check_partial(data, size, &b);
    }
    stitch_wire_batch_free(&b);
    return 0;
}
