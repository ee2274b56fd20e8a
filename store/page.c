/* store/page.c — the columnar page codec: the spans of one page (sorted by
 * trace id, a trace's spans together) written as separate streams of like
 * values, so that the zstd frame around them (block.c) finds ids next to
 * ids, small deltas next to small deltas and repeated strings once.
 * Self-contained (no SQLite, no zstd): the fuzz target builds it alone.
 *
 * Raw page (before zstd):
 *
 *   field          encoding
 *   magic          4 bytes "STP2"
 *   nspans         varint
 *   ntraces        varint
 *   base           varint: the smallest start time (ns)
 *   NSTREAMS x len varint: byte length of each stream, in the order below
 *   streams        concatenated
 *
 *   stream   per what            content
 *   STRLEN   page                varint count, then varint length of each string
 *   STRDATA  page                the strings' bytes (no separators)
 *   TID      trace               16-byte trace id
 *   TCNT     trace               varint spans in the trace (>= 1)
 *   SID      span                8-byte span id (a trace's ids are read first)
 *   FLAGS    span, link          ctx.flags byte, ctx.remote byte
 *   BITS     span                kind (bits 0-2), status (3-4), parent_remote (5),
 *                                extra (6: EXTRA has 3 varints for this span)
 *   PARENT   span                0 = no parent, 1 = 8 bytes in PRAW, 2 + j =
 *                                span j of the same trace
 *   PRAW     span (some)         8-byte parent span id
 *   START    span                first of a trace: varint start - base;
 *                                others: zigzag(start - the trace's first start)
 *   DUR      span                zigzag(end - start)
 *   NAME     span, event         string index
 *   RESIX    span                resource index (RTAB order)
 *   SCIX     span                scope index, 0 = none, else 1 + SCTAB order
 *   TS       span, link          0 = no tracestate, else 1 + string index
 *   SMSG     span                string index of the status message
 *   EXTRA    span (some)         dropped attrs, events, links (varints)
 *   ECNT     span                varint events; per event: TIME zigzag(time -
 *                                start), NAME, attributes, EDROP
 *   LCNT     span                varint links; per link: LID (16 + 8 bytes),
 *                                FLAGS, TS, attributes, EDROP
 *   RTAB     page                varint resources, then each as attributes
 *   SCTAB    page                varint scopes, then name and version indexes
 *   ACNT     attribute list      varint count
 *   AKEY     attribute           string index of the key
 *   ATYPE    attribute           T_* below
 *   VSTR     string value        string index
 *   VINT     int value           zigzag varint (also array elements, scaled doubles)
 *   VDBL     double value        8 raw bytes
 *   VARR     array               varint count (bool elements: one byte each)
 *   TIME     event               see ECNT
 *   LID      link                see LCNT
 *   EDROP    event, link         varint dropped attributes
 *
 * Decoding trusts nothing: every count is bounded by the bytes left in the
 * stream its elements come from before anything is allocated, every index
 * is checked against its table, and any failure drops the spans the call
 * appended (STITCH_EPARSE). Records are built in the batch's arena
 * (strings NUL-terminated once per page and shared by the spans). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"
#include "wire/decode/internal.h"

#define PAGE_MAGIC 0x32505453u /* "STP2" */

/* Columns: a string value is written in the column of its key (the first
 * NSCOL - 2 keys with string values get one each, the others share the
 * last), every other string in column 0; an integer (or a double written
 * as an integer) in the column of its key likewise. Values of one key side
 * by side are what zstd compresses best. Both sides assign columns in the
 * order keys are first met, so the mapping is not stored. */
#define NSCOL 10
#define NICOL 8

enum {
    S_TID, S_TCNT, S_SID, S_FLAGS, S_BITS, S_PARENT, S_PRAW, S_START,
    S_DUR, S_NAME, S_RESIX, S_SCIX, S_TS, S_SMSG, S_EXTRA, S_ECNT, S_LCNT, S_RTAB, S_SCTAB,
    S_ACNT, S_AKEY, S_ATYPE, S_VSTR, S_VDBL, S_VARR, S_TIME, S_LID, S_EDROP,
    S_SL0,                  /* string lengths, per string column */
    S_SD0 = S_SL0 + NSCOL,  /* string bytes, per string column */
    S_VI0 = S_SD0 + NSCOL,  /* integers, per integer column */
    NSTREAMS = S_VI0 + NICOL
};

/* attribute value types in ATYPE */
enum {
    T_NONE = 0, T_STR = 1, T_FALSE = 2, T_INT = 3, T_DBL = 4, T_STRARR = 5, T_BOOLARR = 6,
    T_INTARR = 7, T_DBLARR = 8, T_TRUE = 9, T_DBLINT = 10, T_DBL100 = 11,
};

/* ---- encoder -------------------------------------------------------------------- */

struct st_page_enc {
    stitch_buf_t s[NSTREAMS];
    /* string dictionary: open addressing over (hash, index) */
    struct strslot {
        uint64_t h;
        uint32_t idx; /* 1 + string index; 0 = empty */
        uint32_t len;
        const char *p;
    } *slots;
    size_t cap, nstr, nslots; /* nstr: indexes handed out; nslots: in the table */
    /* per string column: dictionary lookups and hits so far in this page;
     * a column whose values are nearly all new (user ids, URLs, peers)
     * stops using the dictionary (raw[col]): its strings are written as
     * new ones without a lookup — same bytes for the decoder, no hash
     * table over every unique value */
    uint32_t look[NSCOL], hits[NSCOL];
    bool raw[NSCOL];
    bool last_raw;  /* the last str_ref wrote a raw (undeduplicated) string */
    /* column-0 NUL-terminated strings (keys, names) by address: copy.c
     * interns them, so a page meets a few addresses many times and skips
     * strlen, hashing and compare; ref = 1 + index, 0 = empty slot */
    struct pslot {
        const char *p;
        uint32_t len, ref;
    } pc[256];
    bool nobloom;   /* no bloom entries (head rows) */
    /* resources and scopes by pointer (block.c interned them by content) */
    const void **res, **scopes;
    size_t nres, capres, nscopes, capscopes;
    /* the page's bloom entries (bloom.c's st_entry_hash), each distinct
     * (key, value) hashed once: per string index, the key's hash prefix */
    struct kinfo {
        uint64_t vseed; /* st_hash(key, 'V' seed) ^ 0x3d */
        uint8_t state;  /* 1: vseed set and the K entry emitted */
    } *kinfo;
    size_t capkinfo;
    uint64_t *pairs; /* exact set of (type, key index, value) seen; 0 = empty */
    size_t cappairs, npairs;
    uint64_t *ent;
    size_t nent, capent;
    /* column of each key string index (2 per index: strings, integers) */
    uint8_t *kcol;
    size_t capkcol;
    int nscol, nicol; /* columns handed out; string column 0 is not a key's */
    size_t hdrlen;    /* of the page last encoded */
    bool oom;
};

st_page_enc_t *st_page_enc_new(void) { return calloc(1, sizeof(st_page_enc_t)); }

void st_page_enc_blooms(st_page_enc_t *e, bool on) { e->nobloom = !on; }

void st_page_enc_free(st_page_enc_t *e)
{
    if (!e)
        return;
    for (int i = 0; i < NSTREAMS; i++)
        stitch_buf_free(&e->s[i]);
    free(e->slots);
    free(e->res);
    free(e->scopes);
    free(e->kinfo);
    free(e->pairs);
    free(e->ent);
    free(e->kcol);
    free(e);
}

size_t st_page_parts(const st_page_enc_t *e, size_t *lens, size_t max)
{
    size_t n = 0;
    if (n < max)
        lens[n++] = e->hdrlen;
    for (int i = 0; i < NSTREAMS && n < max; i++)
        lens[n++] = e->s[i].len;
    return n;
}

/* part 0 is the header (st_page_parts), then the streams in order */
size_t st_page_part_tids(void) { return 1 + S_TID; }

void st_page_part_strings(size_t *lens, size_t *data, size_t *n)
{
    *lens = 1 + S_SL0;
    *data = 1 + S_SD0;
    *n = NSCOL;
}

const uint64_t *st_page_entries(const st_page_enc_t *e, size_t *n)
{
    *n = e->nent;
    return e->ent;
}

static void ent_add(st_page_enc_t *e, uint64_t h)
{
    if (e->nent == e->capent) {
        size_t nc = e->capent ? e->capent * 2 : 4096;
        uint64_t *ne = realloc(e->ent, nc * sizeof *ne);
        if (!ne) {
            e->oom = true;
            return;
        }
        e->ent = ne;
        e->capent = nc;
    }
    e->ent[e->nent++] = h;
}

/* true when the pair is new (and now remembered) */
static bool pair_new(st_page_enc_t *e, uint64_t key)
{
    if ((e->npairs + 1) * 2 > e->cappairs) {
        size_t nc = e->cappairs ? e->cappairs * 2 : 4096;
        uint64_t *np = calloc(nc, sizeof *np);
        if (!np) {
            e->oom = true;
            return true;
        }
        for (size_t i = 0; i < e->cappairs; i++)
            if (e->pairs[i]) {
                size_t j = (e->pairs[i] * 0x9e3779b97f4a7c15ull) >> 20 & (nc - 1);
                while (np[j])
                    j = (j + 1) & (nc - 1);
                np[j] = e->pairs[i];
            }
        free(e->pairs);
        e->pairs = np;
        e->cappairs = nc;
    }
    size_t j = (key * 0x9e3779b97f4a7c15ull) >> 20 & (e->cappairs - 1);
    while (e->pairs[j]) {
        if (e->pairs[j] == key)
            return false;
        j = (j + 1) & (e->cappairs - 1);
    }
    e->pairs[j] = key;
    e->npairs++;
    return true;
}

/* the K entry of key string `kidx` (once per page) and its V seed */
static struct kinfo *key_info(st_page_enc_t *e, uint32_t kidx, const char *key, size_t klen)
{
    if (kidx >= e->capkinfo) {
        size_t nc = e->capkinfo ? e->capkinfo : 1024;
        while (nc <= kidx)
            nc *= 2;
        struct kinfo *nk = realloc(e->kinfo, nc * sizeof *nk);
        if (!nk) {
            e->oom = true;
            return NULL;
        }
        memset(nk + e->capkinfo, 0, (nc - e->capkinfo) * sizeof *nk);
        e->kinfo = nk;
        e->capkinfo = nc;
    }
    struct kinfo *k = &e->kinfo[kidx];
    if (!k->state) {
        ent_add(e, st_entry_hash(ST_ENT_KEY, key, klen, NULL, 0));
        k->vseed = st_hash(key, klen, (uint64_t)(unsigned char)ST_ENT_KV * 0x100000001b3ull) ^ 0x3d;
        k->state = 1;
    }
    return k;
}

static inline void put_u8(st_page_enc_t *e, int st, uint8_t v)
{
    stitch_buf_t *b = &e->s[st];
    if (b->len < b->cap)
        b->data[b->len++] = v;
    else if (stitch_buf_append(b, &v, 1))
        e->oom = true;
}

static inline void put_raw(st_page_enc_t *e, int st, const void *p, size_t n)
{
    stitch_buf_t *b = &e->s[st];
    if (!n)
        return;
    if (b->cap - b->len >= n) {
        memcpy(b->data + b->len, p, n);
        b->len += n;
    } else if (stitch_buf_append(b, p, n)) {
        e->oom = true;
    }
}

static inline size_t var_to(uint8_t *t, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        t[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    t[n++] = (uint8_t)v;
    return n;
}

static inline void put_var(st_page_enc_t *e, int st, uint64_t v)
{
    stitch_buf_t *b = &e->s[st];
    if (v < 0x80 && b->len < b->cap) {
        b->data[b->len++] = (uint8_t)v;
        return;
    }
    uint8_t t[10];
    put_raw(e, st, t, var_to(t, v));
}

static inline uint64_t zz(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static inline int64_t unzz(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

static inline uint64_t str_hash(const char *p, size_t n)
{
    /* FNV-1a over 8-byte words: the dictionary needs speed, not quality */
    uint64_t h = 0xcbf29ce484222325ull ^ n;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0x100000001b3ull;
        h ^= h >> 29;
        p += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, p, n);
    h = (h ^ w) * 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 32);
}

/* The reference to string p[0..n): 0 when it is new to the page (its
 * length and bytes then go to string column `col`; it gets the next
 * index), else 1 + its index. *ix = the index. */
static uint32_t str_ref(st_page_enc_t *e, const char *p, size_t n, int col, uint32_t *ix)
{
    if (!p)
        p = "", n = 0;
    *ix = 0; /* on failure (e->oom) too */
    e->last_raw = false;
    if (e->raw[col]) {
        e->last_raw = true;
        goto fresh;
    }
    if ((e->nslots + 1) * 2 > e->cap) {
        size_t nc = e->cap ? e->cap * 2 : 1024;
        struct strslot *ns = calloc(nc, sizeof *ns);
        if (!ns) {
            e->oom = true;
            return 0;
        }
        for (size_t i = 0; i < e->cap; i++)
            if (e->slots[i].idx) {
                size_t j = e->slots[i].h & (nc - 1);
                while (ns[j].idx)
                    j = (j + 1) & (nc - 1);
                ns[j] = e->slots[i];
            }
        free(e->slots);
        e->slots = ns;
        e->cap = nc;
    }
    uint64_t h = str_hash(p, n);
    size_t j = h & (e->cap - 1);
    e->look[col]++;
    while (e->slots[j].idx) {
        struct strslot *s = &e->slots[j];
        if (s->h == h && s->len == n && !memcmp(s->p, p, n)) {
            e->hits[col]++;
            *ix = s->idx - 1;
            return s->idx;
        }
        j = (j + 1) & (e->cap - 1);
    }
    e->slots[j] = (struct strslot){h, (uint32_t)e->nstr + 1, (uint32_t)n, p};
    e->nslots++;
    /* a value column (never column 0: keys, names) with under 1 hit in 4
     * after 64 lookups goes raw for the rest of the page */
    if (col && e->look[col] == 64 && e->hits[col] < 16)
        e->raw[col] = true;
fresh:;
    uint32_t idx = (uint32_t)e->nstr++;
    put_var(e, S_SL0 + col, n);
    put_raw(e, S_SD0 + col, p, n);
    *ix = idx;
    return 0;
}

static uint32_t put_str(st_page_enc_t *e, int st, const char *p, size_t n, int col)
{
    uint32_t ix;
    put_var(e, st, str_ref(e, p, n, col, &ix));
    return ix;
}

/* put_str of a NUL-terminated column-0 string (NULL = ""), through the
 * address cache; *len = its length. */
static uint32_t put_cstr(st_page_enc_t *e, int st, const char *p, size_t *len)
{
    if (!p)
        p = "";
    struct pslot *c = &e->pc[((uintptr_t)p >> 3 ^ (uintptr_t)p >> 11) & 255];
    if (c->p == p && c->ref) {
        put_var(e, st, c->ref);
        *len = c->len;
        return c->ref - 1;
    }
    size_t n = strlen(p);
    uint32_t ix;
    uint32_t ref = str_ref(e, p, n, 0, &ix);
    put_var(e, st, ref);
    if (n <= UINT32_MAX && !e->oom)
        *c = (struct pslot){p, (uint32_t)n, ix + 1};
    *len = n;
    return ix;
}

/* The column of key `kidx` for strings (ints = false) or integers: 1 +
 * the column, assigned at first use (0 in kcol means none yet). */
static int key_col(st_page_enc_t *e, uint32_t kidx, bool ints);

/* TS: 0 = none, else 1 + a string reference */
static void put_ts(st_page_enc_t *e, const char *ts, size_t n)
{
    uint32_t ix;
    put_var(e, S_TS, n ? 1 + (uint64_t)str_ref(e, ts, n, 0, &ix) : 0);
}

static int key_col(st_page_enc_t *e, uint32_t kidx, bool ints)
{
    if (kidx >= e->capkcol) {
        size_t nc = e->capkcol ? e->capkcol : 256;
        while (nc <= kidx)
            nc *= 2;
        uint8_t *nk = realloc(e->kcol, nc * 2);
        if (!nk) {
            e->oom = true;
            return 0;
        }
        memset(nk + e->capkcol * 2, 0, (nc - e->capkcol) * 2);
        e->kcol = nk;
        e->capkcol = nc;
    }
    uint8_t *c = &e->kcol[kidx * 2 + ints];
    if (!*c) {
        int *next = ints ? &e->nicol : &e->nscol;
        int last = ints ? NICOL - 1 : NSCOL - 1;
        *c = (uint8_t)(1 + (*next < last ? (*next)++ : last));
    }
    return *c - 1;
}

static void put_double(st_page_enc_t *e, double d, int icol)
{
    /* a double that is an integer, or an integer of hundredths (prices,
     * percentages), is written as that integer when it converts back
     * exactly; anything else as its 8 bytes */
    if (d >= -9e15 && d <= 9e15 && !(d == 0 && signbit(d))) {
        int64_t i = (int64_t)d;
        if ((double)i == d) {
            put_u8(e, S_ATYPE, T_DBLINT);
            put_var(e, S_VI0 + icol, zz(i));
            return;
        }
        double c = d * 100.0;
        if (c >= -9e15 && c <= 9e15) {
            int64_t k = (int64_t)(c < 0 ? c - 0.5 : c + 0.5);
            if ((double)k / 100.0 == d) {
                put_u8(e, S_ATYPE, T_DBL100);
                put_var(e, S_VI0 + icol, zz(k));
                return;
            }
        }
    }
    put_u8(e, S_ATYPE, T_DBL);
    put_raw(e, S_VDBL, &d, 8);
}

/* pair keys: type in the top 4 bits, key index, value (exact: no collisions) */
#define PAIR(type, kidx, v) ((uint64_t)(type) << 60 | (uint64_t)(kidx) << 32 | (uint32_t)(v))

static void put_attrs(st_page_enc_t *e, const stitch_attr_t *a, uint32_t n, bool bloom)
{
    put_var(e, S_ACNT, n);
    for (uint32_t i = 0; i < n; i++) {
        const stitch_value_t *v = &a[i].value;
        size_t klen;
        uint32_t kidx = put_cstr(e, S_AKEY, a[i].key, &klen);
        struct kinfo *ki = bloom && !e->nobloom ? key_info(e, kidx, a[i].key ? a[i].key : "", klen) : NULL;
        bool small = kidx < (1u << 27);
        switch (v->type) {
        case STITCH_VALUE_STRING: {
            put_u8(e, S_ATYPE, T_STR);
            uint32_t vidx = put_str(e, S_VSTR, v->u.str, v->u.str ? v->len : 0, key_col(e, kidx, false));
            if (ki && (!small || e->last_raw || pair_new(e, PAIR(1, kidx, vidx))))
                ent_add(e, st_hash(v->u.str ? v->u.str : "", v->u.str ? v->len : 0, ki->vseed));
            continue;
        }
        case STITCH_VALUE_BOOL:
            put_u8(e, S_ATYPE, v->u.b ? T_TRUE : T_FALSE);
            if (ki && small && !pair_new(e, PAIR(2, kidx, v->u.b)))
                continue;
            break;
        case STITCH_VALUE_INT:
            put_u8(e, S_ATYPE, T_INT);
            put_var(e, S_VI0 + key_col(e, kidx, true), zz(v->u.i));
            if (ki && small && v->u.i >= 0 && v->u.i <= UINT32_MAX && !pair_new(e, PAIR(3, kidx, v->u.i)))
                continue;
            break;
        case STITCH_VALUE_DOUBLE:
            put_double(e, v->u.d, key_col(e, kidx, true));
            break;
        case STITCH_VALUE_STRING_ARRAY:
            put_u8(e, S_ATYPE, T_STRARR);
            put_var(e, S_VARR, v->len);
            for (uint32_t k = 0; k < v->len; k++)
                (void)put_str(e, S_VSTR, v->u.strs[k].ptr, v->u.strs[k].len, 0);
            break;
        case STITCH_VALUE_BOOL_ARRAY:
            put_u8(e, S_ATYPE, T_BOOLARR);
            put_var(e, S_VARR, v->len);
            for (uint32_t k = 0; k < v->len; k++)
                put_u8(e, S_VARR, v->u.bools[k] ? 1 : 0);
            break;
        case STITCH_VALUE_INT_ARRAY:
            put_u8(e, S_ATYPE, T_INTARR);
            put_var(e, S_VARR, v->len);
            for (uint32_t k = 0; k < v->len; k++)
                put_var(e, S_VI0 + NICOL - 1, zz(v->u.ints[k]));
            break;
        case STITCH_VALUE_DOUBLE_ARRAY:
            put_u8(e, S_ATYPE, T_DBLARR);
            put_var(e, S_VARR, v->len);
            put_raw(e, S_VDBL, v->u.doubles, (size_t)v->len * 8);
            break;
        default:
            put_u8(e, S_ATYPE, T_NONE);
            break;
        }
        if (ki) {
            /* the value as the text a tag condition compares with */
            char tmp[1024];
            size_t vl;
            const char *vt = st_value_text(v, tmp, sizeof tmp, &vl);
            ent_add(e, st_hash(vt, vl, ki->vseed));
        }
    }
}

static size_t ptr_ix(st_page_enc_t *e, const void ***arr, size_t *n, size_t *cap, const void *p)
{
    for (size_t i = *n; i-- > 0;)
        if ((*arr)[i] == p)
            return i;
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        const void **na = realloc(*arr, nc * sizeof *na);
        if (!na) {
            e->oom = true;
            return 0;
        }
        *arr = na;
        *cap = nc;
    }
    (*arr)[*n] = p;
    return (*n)++;
}

static const char *ts_str(const stitch_tracestate_t *ts, size_t *len)
{
    *len = 0;
    return ts ? stitch_tracestate_str(ts, len) : "";
}

int st_page_encode(st_page_enc_t *e, const stitch_span_data_t *const *sp, size_t n, stitch_buf_t *out)
{
    static const uint8_t zero[8];
    for (int i = 0; i < NSTREAMS; i++)
        e->s[i].len = 0;
    if (e->cap)
        memset(e->slots, 0, e->cap * sizeof *e->slots);
    e->nstr = e->nslots = 0;
    memset(e->look, 0, sizeof e->look);
    memset(e->hits, 0, sizeof e->hits);
    /* head rows (no blooms) are short-lived: values go raw from the
     * start (zstd finds the repeats), only keys and names are looked up */
    for (int c = 0; c < NSCOL; c++)
        e->raw[c] = c > 0 && e->nobloom;
    memset(e->pc, 0, sizeof e->pc);
    e->nres = e->nscopes = 0;
    e->nent = e->npairs = 0;
    e->nscol = 1;
    e->nicol = 0;
    if (e->capkcol)
        memset(e->kcol, 0, e->capkcol * 2);
    if (e->cappairs)
        memset(e->pairs, 0, e->cappairs * sizeof *e->pairs);
    if (e->capkinfo)
        memset(e->kinfo, 0, e->capkinfo * sizeof *e->kinfo);
    e->oom = false;
    uint64_t base = UINT64_MAX;
    for (size_t i = 0; i < n; i++)
        if (sp[i]->start_ns < base)
            base = sp[i]->start_ns;
    if (!n)
        base = 0;
    /* resources and scopes first: RTAB / SCTAB need their count up front */
    for (size_t i = 0; i < n; i++) {
        (void)ptr_ix(e, &e->res, &e->nres, &e->capres, sp[i]->resource);
        if (sp[i]->scope)
            (void)ptr_ix(e, &e->scopes, &e->nscopes, &e->capscopes, sp[i]->scope);
    }
    put_var(e, S_RTAB, e->nres);
    for (size_t r = 0; r < e->nres; r++) {
        /* any span with this resource gives its count */
        for (size_t i = 0; i < n; i++)
            if (sp[i]->resource == e->res[r]) {
                put_attrs(e, sp[i]->resource, sp[i]->nresource, true);
                break;
            }
    }
    put_var(e, S_SCTAB, e->nscopes);
    for (size_t c = 0; c < e->nscopes; c++) {
        const stitch_scope_info_t *sc = e->scopes[c];
        (void)put_str(e, S_SCTAB, sc->name, sc->name ? strlen(sc->name) : 0, 0);
        (void)put_str(e, S_SCTAB, sc->version, sc->version ? strlen(sc->version) : 0, 0);
    }
    size_t ntraces = 0;
    for (size_t a = 0; a < n;) {
        size_t b = a + 1;
        while (b < n && !memcmp(sp[b]->ctx.trace_id, sp[a]->ctx.trace_id, 16))
            b++;
        ntraces++;
        put_raw(e, S_TID, sp[a]->ctx.trace_id, 16);
        put_var(e, S_TCNT, b - a);
        uint64_t first = sp[a]->start_ns;
        for (size_t i = a; i < b; i++)
            put_raw(e, S_SID, sp[i]->ctx.span_id, 8);
        for (size_t i = a; i < b; i++) {
            const stitch_span_data_t *d = sp[i];
            bool extra = d->dropped_attrs || d->dropped_events || d->dropped_links;
            put_u8(e, S_FLAGS, d->ctx.flags);
            put_u8(e, S_FLAGS, d->ctx.remote);
            put_u8(e, S_BITS, (uint8_t)(((unsigned)d->kind & 7) | ((unsigned)d->status & 3) << 3 |
                                        (d->parent_remote ? 1u << 5 : 0) | (extra ? 1u << 6 : 0)));
            if (!memcmp(d->parent_span_id, zero, 8)) {
                put_var(e, S_PARENT, 0);
            } else {
                size_t j = b;
                if (b - a <= 256)
                    for (j = a; j < b && memcmp(sp[j]->ctx.span_id, d->parent_span_id, 8); j++)
                        ;
                if (j < b) {
                    put_var(e, S_PARENT, 2 + (j - a));
                } else {
                    put_var(e, S_PARENT, 1);
                    put_raw(e, S_PRAW, d->parent_span_id, 8);
                }
            }
            if (i == a)
                put_var(e, S_START, d->start_ns - base);
            else
                put_var(e, S_START, zz((int64_t)(d->start_ns - first)));
            put_var(e, S_DUR, zz((int64_t)(d->end_ns - d->start_ns)));
            size_t nl;
            uint32_t nidx = put_cstr(e, S_NAME, d->name, &nl);
            size_t ri = ptr_ix(e, &e->res, &e->nres, &e->capres, d->resource);
            put_var(e, S_RESIX, ri);
            if (!e->nobloom && ri < (1u << 27) && nidx < UINT32_MAX && pair_new(e, PAIR(4, ri, nidx))) {
                size_t sl;
                const char *svc = st_span_service(d, &sl);
                if (pair_new(e, PAIR(5, ri, 0)))
                    ent_add(e, st_entry_hash(ST_ENT_SERVICE, svc, sl, NULL, 0));
                ent_add(e, st_entry_hash(ST_ENT_OP, svc, sl, d->name ? d->name : "", nl));
            }
            put_var(e, S_SCIX, d->scope ? 1 + ptr_ix(e, &e->scopes, &e->nscopes, &e->capscopes, d->scope) : 0);
            size_t tl;
            const char *ts = ts_str(d->tracestate, &tl);
            put_ts(e, ts, tl);
            size_t ml;
            (void)put_cstr(e, S_SMSG, d->status_message, &ml);
            if (extra) {
                put_var(e, S_EXTRA, d->dropped_attrs);
                put_var(e, S_EXTRA, d->dropped_events);
                put_var(e, S_EXTRA, d->dropped_links);
            }
            put_attrs(e, d->attrs, d->nattrs, true);
            put_var(e, S_ECNT, d->nevents);
            for (uint32_t k = 0; k < d->nevents; k++) {
                const stitch_event_t *ev = &d->events[k];
                put_var(e, S_TIME, zz((int64_t)(ev->time_ns - d->start_ns)));
                size_t el;
                (void)put_cstr(e, S_NAME, ev->name, &el);
                put_attrs(e, ev->attrs, ev->nattrs, true);
                put_var(e, S_EDROP, ev->dropped_attrs);
            }
            put_var(e, S_LCNT, d->nlinks);
            for (uint32_t k = 0; k < d->nlinks; k++) {
                const stitch_link_t *l = &d->links[k];
                put_raw(e, S_LID, l->ctx.trace_id, 16);
                put_raw(e, S_LID, l->ctx.span_id, 8);
                put_u8(e, S_FLAGS, l->ctx.flags);
                put_u8(e, S_FLAGS, l->ctx.remote);
                size_t ll;
                const char *lts = ts_str(l->tracestate, &ll);
                put_ts(e, lts, ll);
                put_attrs(e, l->attrs, l->nattrs, false);
                put_var(e, S_EDROP, l->dropped_attrs);
            }
        }
        a = b;
    }
    if (e->oom)
        return STITCH_ENOMEM;
    /* header, then the streams */
    uint8_t hdr[4 + 10 * (3 + NSTREAMS)];
    uint32_t magic = PAGE_MAGIC;
    memcpy(hdr, &magic, 4);
    size_t hn = 4;
    hn += var_to(hdr + hn, n);
    hn += var_to(hdr + hn, ntraces);
    hn += var_to(hdr + hn, base);
    for (int i = 0; i < NSTREAMS; i++)
        hn += var_to(hdr + hn, e->s[i].len);
    e->hdrlen = hn;
    out->len = 0;
    int rc = stitch_buf_append(out, hdr, hn);
    for (int i = 0; i < NSTREAMS && !rc; i++)
        if (e->s[i].len)
            rc = stitch_buf_append(out, e->s[i].data, e->s[i].len);
    return rc ? STITCH_ENOMEM : 0;
}

/* ---- decoder -------------------------------------------------------------------- */

typedef struct rs {
    const uint8_t *p, *end;
} rs_t;

typedef struct dec {
    rs_t s[NSTREAMS];
    stitch_wire_batch_t *b;
    const char **str; /* NUL-terminated copies in the arena */
    uint32_t *slen;
    uint64_t nstr, capstr; /* strings met so far; the most there can be */
    char *mem, *memend;    /* where the next new string is copied */
    uint8_t *kcol;         /* as the encoder's, capstr x 2 */
    int nscol, nicol;
    bool bad, oom;
    bool nocopy;    /* skipping: new strings point into the stream (not NUL-terminated) */
    bool lazy;      /* some traces are skipped: keep israw */
    uint8_t *israw; /* per string: still such a pointer (copied when a kept span needs it);
                     * NULL unless lazy */
} dec_t;

static inline size_t left(const dec_t *d, int st) { return (size_t)(d->s[st].end - d->s[st].p); }

static inline uint8_t get_u8(dec_t *d, int st)
{
    rs_t *r = &d->s[st];
    if (r->p >= r->end) {
        d->bad = true;
        return 0;
    }
    return *r->p++;
}

static inline const uint8_t *get_raw(dec_t *d, int st, size_t n)
{
    rs_t *r = &d->s[st];
    if ((size_t)(r->end - r->p) < n) {
        d->bad = true;
        return NULL;
    }
    const uint8_t *q = r->p;
    r->p += n;
    return q;
}

static inline uint64_t rd_var(const uint8_t **pp, const uint8_t *end, bool *bad)
{
    const uint8_t *p = *pp;
    uint64_t v = 0;
    for (unsigned sh = 0; sh < 64; sh += 7) {
        if (p >= end) {
            *bad = true;
            return 0;
        }
        uint8_t c = *p++;
        v |= (uint64_t)(c & 0x7f) << sh;
        if (!(c & 0x80)) {
            *pp = p;
            return v;
        }
    }
    *bad = true;
    return 0;
}

static inline uint64_t get_var(dec_t *d, int st) { return rd_var(&d->s[st].p, d->s[st].end, &d->bad); }

/* A count whose elements take at least `each` bytes of stream st. */
static inline uint64_t get_count(dec_t *d, int from, int st, size_t each)
{
    uint64_t n = get_var(d, from);
    if (n > left(d, st) / each) {
        d->bad = true;
        return 0;
    }
    return n;
}

/* A string from its reference (see str_ref); *ix = its index. */
static const char *get_ref(dec_t *d, uint64_t ref, int col, uint32_t *len, uint32_t *ix)
{
    *len = 0;
    *ix = 0;
    if (ref) {
        if (ref - 1 >= d->nstr) {
            d->bad = true;
            return "";
        }
        *ix = (uint32_t)(ref - 1);
        *len = d->slen[ref - 1];
        if (d->israw && d->israw[ref - 1] && !d->nocopy) {
            /* met in a skipped trace, needed now: copy it (mem has room
             * for every string once) */
            size_t l = d->slen[ref - 1];
            if (l >= (size_t)(d->memend - d->mem)) {
                d->bad = true;
                return "";
            }
            char *m = d->mem;
            memcpy(m, d->str[ref - 1], l);
            m[l] = 0;
            d->mem += l + 1;
            d->str[ref - 1] = m;
            d->israw[ref - 1] = 0;
        }
        return d->str[ref - 1];
    }
    uint64_t l = get_var(d, S_SL0 + col);
    const uint8_t *p = get_raw(d, S_SD0 + col, l);
    /* capstr counts every length byte, mem every data byte + a NUL each */
    if (!p || d->nstr >= d->capstr || l >= (uint64_t)(d->memend - d->mem)) {
        d->bad = true;
        return "";
    }
    if (d->nocopy) {
        *ix = (uint32_t)d->nstr;
        if (d->israw)
            d->israw[d->nstr] = 1;
        d->str[d->nstr] = (const char *)p;
        d->slen[d->nstr++] = (uint32_t)l;
        *len = (uint32_t)l;
        return (const char *)p;
    }
    char *m = d->mem;
    memcpy(m, p, l);
    m[l] = 0;
    d->mem += l + 1;
    *ix = (uint32_t)d->nstr;
    d->str[d->nstr] = m;
    d->slen[d->nstr++] = (uint32_t)l;
    *len = (uint32_t)l;
    return m;
}

static inline const char *get_str(dec_t *d, int st, uint32_t *len, int col)
{
    uint32_t ix;
    return get_ref(d, get_var(d, st), col, len, &ix);
}

static int dkey_col(dec_t *d, uint32_t kidx, bool ints)
{
    /* kidx < nstr <= capstr */
    uint8_t *c = &d->kcol[(size_t)kidx * 2 + ints];
    if (!*c) {
        int *next = ints ? &d->nicol : &d->nscol;
        int last = ints ? NICOL - 1 : NSCOL - 1;
        *c = (uint8_t)(1 + (*next < last ? (*next)++ : last));
    }
    return *c - 1;
}

static void *arena(dec_t *d, size_t n, size_t size)
{
    void *p = stitch_wire_calloc(d->b, n, size);
    if (!p)
        d->oom = true;
    return p;
}

static const stitch_attr_t *get_attrs(dec_t *d, uint32_t *count)
{
    uint64_t n = get_count(d, S_ACNT, S_AKEY, 1);
    *count = 0;
    if (d->bad || !n)
        return NULL;
    stitch_attr_t *a = arena(d, n, sizeof *a);
    if (!a)
        return NULL;
    for (uint64_t i = 0; i < n && !d->bad && !d->oom; i++) {
        uint32_t kl, kidx;
        a[i].key = get_ref(d, get_var(d, S_AKEY), 0, &kl, &kidx);
        stitch_value_t *v = &a[i].value;
        uint8_t t = get_u8(d, S_ATYPE);
        if (d->bad)
            break;
        int icol = t == T_INT || t == T_DBL || t == T_DBLINT || t == T_DBL100 ? dkey_col(d, kidx, true) : 0;
        switch (t) {
        case T_NONE:
            v->type = STITCH_VALUE_NONE;
            break;
        case T_STR:
            v->type = STITCH_VALUE_STRING;
            v->u.str = get_str(d, S_VSTR, &v->len, dkey_col(d, kidx, false));
            break;
        case T_FALSE:
        case T_TRUE:
            v->type = STITCH_VALUE_BOOL;
            v->u.b = t == T_TRUE;
            break;
        case T_INT:
            v->type = STITCH_VALUE_INT;
            v->u.i = unzz(get_var(d, S_VI0 + icol));
            break;
        case T_DBL: {
            const uint8_t *q = get_raw(d, S_VDBL, 8);
            v->type = STITCH_VALUE_DOUBLE;
            if (q)
                memcpy(&v->u.d, q, 8);
            break;
        }
        case T_DBLINT:
            v->type = STITCH_VALUE_DOUBLE;
            v->u.d = (double)unzz(get_var(d, S_VI0 + icol));
            break;
        case T_DBL100:
            v->type = STITCH_VALUE_DOUBLE;
            v->u.d = (double)unzz(get_var(d, S_VI0 + icol)) / 100.0;
            break;
        case T_STRARR: {
            uint64_t m = get_count(d, S_VARR, S_VSTR, 1);
            stitch_str_t *s = m ? arena(d, m, sizeof *s) : NULL;
            for (uint64_t k = 0; k < m && s && !d->bad; k++) {
                uint32_t l;
                s[k].ptr = get_str(d, S_VSTR, &l, 0);
                s[k].len = l;
            }
            v->type = STITCH_VALUE_STRING_ARRAY;
            v->len = (uint32_t)m;
            v->u.strs = s;
            break;
        }
        case T_BOOLARR: {
            uint64_t m = get_count(d, S_VARR, S_VARR, 1);
            bool *s = m ? arena(d, m, sizeof *s) : NULL;
            for (uint64_t k = 0; k < m && s && !d->bad; k++)
                s[k] = get_u8(d, S_VARR) != 0;
            v->type = STITCH_VALUE_BOOL_ARRAY;
            v->len = (uint32_t)m;
            v->u.bools = s;
            break;
        }
        case T_INTARR: {
            uint64_t m = get_count(d, S_VARR, S_VI0 + NICOL - 1, 1);
            int64_t *s = m ? arena(d, m, sizeof *s) : NULL;
            for (uint64_t k = 0; k < m && s && !d->bad; k++)
                s[k] = unzz(get_var(d, S_VI0 + NICOL - 1));
            v->type = STITCH_VALUE_INT_ARRAY;
            v->len = (uint32_t)m;
            v->u.ints = s;
            break;
        }
        case T_DBLARR: {
            uint64_t m = get_count(d, S_VARR, S_VDBL, 8);
            double *s = m ? arena(d, m, sizeof *s) : NULL;
            const uint8_t *q = m ? get_raw(d, S_VDBL, m * 8) : NULL;
            if (s && q)
                memcpy(s, q, m * 8);
            v->type = STITCH_VALUE_DOUBLE_ARRAY;
            v->len = (uint32_t)m;
            v->u.doubles = s;
            break;
        }
        default:
            d->bad = true;
            break;
        }
    }
    *count = (uint32_t)n;
    return a;
}

static const stitch_tracestate_t *get_ts(dec_t *d)
{
    uint64_t i = get_var(d, S_TS);
    if (!i)
        return NULL;
    uint32_t l, ix;
    const char *s = get_ref(d, i - 1, 0, &l, &ix);
    const stitch_tracestate_t *ts = NULL;
    if (!d->bad && stitch_wire_tracestate(d->b, s, l, &ts))
        d->oom = true;
    return ts;
}

/* What every pass over a page starts with: the header, the streams, the
 * string table, the resources and scopes (decoded into b's arena). */
typedef struct page_head {
    uint64_t nspans, ntraces, base, nres, nsc;
    stitch_attr_t **res;
    uint32_t *nresattr;
    stitch_scope_info_t *sc;
} page_head_t;

/* 0, or STITCH_EPARSE / STITCH_ENOMEM (d->oom) with d->bad or d->oom set. */
static int page_begin(dec_t *d, const uint8_t *p, size_t n, page_head_t *h)
{
    stitch_wire_batch_t *b = d->b;
    const uint8_t *q = p, *end = p + n;
    bool bad = false;
    uint32_t magic = 0;
    memset(h, 0, sizeof *h);
    if (n < 4)
        return STITCH_EPARSE;
    memcpy(&magic, q, 4);
    q += 4;
    if (magic != PAGE_MAGIC)
        return STITCH_EPARSE;
    uint64_t nspans = rd_var(&q, end, &bad), ntraces = rd_var(&q, end, &bad), base = rd_var(&q, end, &bad);
    uint64_t lens[NSTREAMS];
    for (int i = 0; i < NSTREAMS; i++)
        lens[i] = rd_var(&q, end, &bad);
    if (bad)
        return STITCH_EPARSE;
    for (int i = 0; i < NSTREAMS; i++) {
        if (lens[i] > (uint64_t)(end - q))
            return STITCH_EPARSE;
        d->s[i].p = q;
        d->s[i].end = q + lens[i];
        q += lens[i];
    }
    if (q != end || nspans > left(d, S_SID) / 8 || ntraces > left(d, S_TID) / 16 || ntraces > nspans ||
        (nspans && !ntraces))
        return STITCH_EPARSE;
    /* the strings are copied as they are first met; room for the most
     * there can be: one per length byte, every data byte + a NUL each */
    size_t nlen = 0, ndata = 0;
    for (int c = 0; c < NSCOL; c++) {
        nlen += left(d, S_SL0 + c);
        ndata += left(d, S_SD0 + c);
    }
    d->nscol = 1;
    d->capstr = nlen;
    d->str = arena(d, nlen ? nlen : 1, sizeof *d->str);
    d->slen = arena(d, nlen ? nlen : 1, sizeof *d->slen);
    d->kcol = arena(d, nlen ? nlen : 1, 2);
    if (d->lazy)
        d->israw = arena(d, nlen ? nlen : 1, 1);
    d->mem = d->oom ? NULL : stitch_wire_batch_alloc(b, ndata + nlen + 1);
    if (!d->mem) {
        d->oom = true;
        return STITCH_ENOMEM;
    }
    d->memend = d->mem + ndata + nlen + 1;
    /* resources and scopes */
    uint64_t nres = get_count(d, S_RTAB, S_ACNT, 1);
    stitch_attr_t **res = d->bad ? NULL : arena(d, nres ? nres : 1, sizeof *res);
    uint32_t *nresattr = res ? arena(d, nres ? nres : 1, sizeof *nresattr) : NULL;
    if (d->oom)
        return STITCH_ENOMEM;
    if (d->bad)
        return STITCH_EPARSE;
    for (uint64_t i = 0; i < nres && !d->bad && !d->oom; i++)
        res[i] = (stitch_attr_t *)get_attrs(d, &nresattr[i]);
    uint64_t nsc = get_count(d, S_SCTAB, S_SCTAB, 2);
    stitch_scope_info_t *sc = d->bad || d->oom ? NULL : arena(d, nsc ? nsc : 1, sizeof *sc);
    for (uint64_t i = 0; i < nsc && sc && !d->bad; i++) {
        uint32_t l;
        sc[i].name = get_str(d, S_SCTAB, &l, 0);
        sc[i].version = get_str(d, S_SCTAB, &l, 0);
    }
    if (d->oom)
        return STITCH_ENOMEM;
    if (d->bad)
        return STITCH_EPARSE;
    *h = (page_head_t){nspans, ntraces, base, nres, nsc, res, nresattr, sc};
    return 0;
}

typedef struct mstate {
    const st_page_match_t *m;
    size_t tkl[64], tvl[64];
    bool undecided;
} mstate_t;

/* What a skipped span leaves for the match pass. */
typedef struct span_facts {
    uint64_t start, end, ri;
    uint8_t bits;
    const char *name;
    uint32_t nl;
} span_facts_t;

static void skip_span(dec_t *d, const page_head_t *H, uint64_t cnt, uint64_t i, uint64_t *tstart,
                      span_facts_t *f, mstate_t *ms, const uint64_t *rfound, uint64_t *found);

int st_page_decode(stitch_wire_batch_t *b, const uint8_t *p, size_t n)
{
    return st_page_decode_traces(b, p, n, NULL, NULL);
}

int st_page_decode_traces(stitch_wire_batch_t *b, const uint8_t *p, size_t n,
                          bool (*want)(const void *arg, const uint8_t tid[16]), const void *arg)
{
    dec_t D = {.b = b, .lazy = want != NULL}, *d = &D;
    size_t n0 = b->nspans;
    int rc = STITCH_EPARSE;
    page_head_t H;
    int e = page_begin(d, p, n, &H);
    if (e == STITCH_ENOMEM)
        goto oom;
    if (e)
        goto fail;
    uint64_t nspans = H.nspans, ntraces = H.ntraces, base = H.base, nres = H.nres, nsc = H.nsc;
    stitch_attr_t **res = H.res;
    uint32_t *nresattr = H.nresattr;
    stitch_scope_info_t *sc = H.sc;
    if (stitch_wire_reserve_spans(b, nspans))
        goto oom;
    uint64_t done = 0;
    for (uint64_t t = 0; t < ntraces && !d->bad && !d->oom; t++) {
        const uint8_t *tid = get_raw(d, S_TID, 16);
        uint64_t cnt = get_var(d, S_TCNT);
        if (!tid || !cnt || cnt > nspans - done) {
            d->bad = true;
            break;
        }
        if (want && !want(arg, tid)) {
            /* not asked for: read past its spans, keeping the string table */
            d->nocopy = true;
            (void)get_raw(d, S_SID, cnt * 8); /* cnt <= nspans <= SID / 8 */
            uint64_t tstart = 0;
            span_facts_t f;
            for (uint64_t i = 0; i < cnt && !d->bad; i++)
                skip_span(d, &H, cnt, i, &tstart, &f, NULL, NULL, NULL);
            d->nocopy = false;
            done += cnt;
            continue;
        }
        size_t first = b->nspans;
        for (uint64_t i = 0; i < cnt; i++) {
            stitch_span_data_t *s = &b->spans[first + i];
            memset(s, 0, sizeof *s);
            memcpy(s->ctx.trace_id, tid, 16);
            const uint8_t *sid = get_raw(d, S_SID, 8); /* never NULL: nspans <= SID / 8 */
            if (sid)
                memcpy(s->ctx.span_id, sid, 8);
        }
        uint64_t tstart = 0;
        for (uint64_t i = 0; i < cnt && !d->bad && !d->oom; i++) {
            stitch_span_data_t *s = &b->spans[first + i];
            s->ctx.flags = get_u8(d, S_FLAGS);
            s->ctx.remote = get_u8(d, S_FLAGS);
            uint8_t bits = get_u8(d, S_BITS);
            if ((bits & 7) > 5 || (bits >> 3 & 3) > 2 || bits & 0x80)
                d->bad = true;
            s->kind = (stitch_span_kind_t)(bits & 7);
            s->status = (stitch_status_code_t)(bits >> 3 & 3);
            s->parent_remote = bits >> 5 & 1;
            uint64_t par = get_var(d, S_PARENT);
            if (par == 1) {
                const uint8_t *pr = get_raw(d, S_PRAW, 8);
                if (pr)
                    memcpy(s->parent_span_id, pr, 8);
            } else if (par >= 2) {
                if (par - 2 >= cnt)
                    d->bad = true;
                else
                    memcpy(s->parent_span_id, b->spans[first + (par - 2)].ctx.span_id, 8);
            }
            if (i == 0) {
                s->start_ns = base + get_var(d, S_START);
                tstart = s->start_ns;
            } else {
                s->start_ns = tstart + (uint64_t)unzz(get_var(d, S_START));
            }
            s->end_ns = s->start_ns + (uint64_t)unzz(get_var(d, S_DUR));
            uint32_t l;
            s->name = get_str(d, S_NAME, &l, 0);
            uint64_t ri = get_var(d, S_RESIX);
            if (ri >= nres) {
                d->bad = true;
            } else {
                s->resource = res[ri];
                s->nresource = nresattr[ri];
            }
            uint64_t si = get_var(d, S_SCIX);
            if (si > nsc)
                d->bad = true;
            else
                s->scope = si ? &sc[si - 1] : NULL;
            s->tracestate = get_ts(d);
            s->status_message = get_str(d, S_SMSG, &l, 0);
            if (bits & 0x40) {
                s->dropped_attrs = (uint32_t)get_var(d, S_EXTRA);
                s->dropped_events = (uint32_t)get_var(d, S_EXTRA);
                s->dropped_links = (uint32_t)get_var(d, S_EXTRA);
            }
            s->attrs = get_attrs(d, &s->nattrs);
            uint64_t ne = get_count(d, S_ECNT, S_TIME, 1);
            stitch_event_t *ev = ne && !d->bad ? arena(d, ne, sizeof *ev) : NULL;
            for (uint64_t k = 0; k < ne && ev && !d->bad && !d->oom; k++) {
                ev[k].time_ns = s->start_ns + (uint64_t)unzz(get_var(d, S_TIME));
                ev[k].name = get_str(d, S_NAME, &l, 0);
                ev[k].attrs = get_attrs(d, &ev[k].nattrs);
                ev[k].dropped_attrs = (uint32_t)get_var(d, S_EDROP);
            }
            s->events = ev;
            s->nevents = ev ? (uint32_t)ne : 0;
            uint64_t nl = get_count(d, S_LCNT, S_LID, 24);
            stitch_link_t *lk = nl && !d->bad ? arena(d, nl, sizeof *lk) : NULL;
            for (uint64_t k = 0; k < nl && lk && !d->bad && !d->oom; k++) {
                const uint8_t *id = get_raw(d, S_LID, 24);
                if (id) {
                    memcpy(lk[k].ctx.trace_id, id, 16);
                    memcpy(lk[k].ctx.span_id, id + 16, 8);
                }
                lk[k].ctx.flags = get_u8(d, S_FLAGS);
                lk[k].ctx.remote = get_u8(d, S_FLAGS);
                lk[k].tracestate = get_ts(d);
                lk[k].attrs = get_attrs(d, &lk[k].nattrs);
                lk[k].dropped_attrs = (uint32_t)get_var(d, S_EDROP);
            }
            s->links = lk;
            s->nlinks = lk ? (uint32_t)nl : 0;
        }
        if (d->bad || d->oom)
            break;
        b->nspans += cnt;
        done += cnt;
    }
    if (d->oom)
        goto oom;
    if (d->bad || done != nspans)
        goto fail;
    return 0;
oom:
    rc = b->limit_hit ? STITCH_ELIMIT : STITCH_ENOMEM;
fail:
    b->nspans = n0;
    return rc;
}

/* ---- the match pass ------------------------------------------------------------- */

/* Whether string s[0..n) read as C text (up to its first NUL, as the
 * decoded record's strcmp would) equals t. */
static bool cstr_eq(const char *s, size_t n, const char *t, size_t tl)
{
    const char *z = memchr(s, 0, n);
    if (z)
        n = (size_t)(z - s);
    return n == tl && !memcmp(s, t, n);
}

/* query.c's attr_match on one attribute: 1 match, 0 not, -1 cannot tell
 * here (an array value: its elements are not built by this pass). */
static int attr_cond(const char *key, size_t klen, const stitch_value_t *v, const stitch_store_tag_t *t,
                     size_t tkl, size_t tvl)
{
    if (!cstr_eq(key, klen, t->key, tkl))
        return 0;
    if (!t->value)
        return 1;
    if (v->type >= STITCH_VALUE_STRING_ARRAY && !v->u.strs)
        return -1;
    char tmp[1024];
    size_t l;
    const char *x = st_value_text(v, tmp, sizeof tmp, &l);
    return l == tvl && !memcmp(x, t->value, l);
}


/* get_attrs without building anything: the same reads, in the same order
 * (dkey_col hands out columns as it is first called); *found gets the
 * bit of each tag condition an attribute meets. */
static void skip_attrs(dec_t *d, mstate_t *ms, uint64_t *found)
{
    uint64_t n = get_count(d, S_ACNT, S_AKEY, 1);
    for (uint64_t i = 0; i < n && !d->bad; i++) {
        uint32_t kl, kidx;
        const char *key = get_ref(d, get_var(d, S_AKEY), 0, &kl, &kidx);
        uint8_t t = get_u8(d, S_ATYPE);
        if (d->bad)
            break;
        int icol = t == T_INT || t == T_DBL || t == T_DBLINT || t == T_DBL100 ? dkey_col(d, kidx, true) : 0;
        stitch_value_t v = {STITCH_VALUE_NONE, 0, {0}};
        switch (t) {
        case T_NONE:
            break;
        case T_STR:
            v.type = STITCH_VALUE_STRING;
            v.u.str = get_str(d, S_VSTR, &v.len, dkey_col(d, kidx, false));
            break;
        case T_FALSE:
        case T_TRUE:
            v.type = STITCH_VALUE_BOOL;
            v.u.b = t == T_TRUE;
            break;
        case T_INT:
            v.type = STITCH_VALUE_INT;
            v.u.i = unzz(get_var(d, S_VI0 + icol));
            break;
        case T_DBL: {
            const uint8_t *q = get_raw(d, S_VDBL, 8);
            v.type = STITCH_VALUE_DOUBLE;
            if (q)
                memcpy(&v.u.d, q, 8);
            break;
        }
        case T_DBLINT:
            v.type = STITCH_VALUE_DOUBLE;
            v.u.d = (double)unzz(get_var(d, S_VI0 + icol));
            break;
        case T_DBL100:
            v.type = STITCH_VALUE_DOUBLE;
            v.u.d = (double)unzz(get_var(d, S_VI0 + icol)) / 100.0;
            break;
        case T_STRARR: {
            uint64_t m = get_count(d, S_VARR, S_VSTR, 1);
            for (uint64_t k = 0; k < m && !d->bad; k++) {
                uint32_t l;
                (void)get_str(d, S_VSTR, &l, 0);
            }
            v.type = STITCH_VALUE_STRING_ARRAY;
            break;
        }
        case T_BOOLARR: {
            uint64_t m = get_count(d, S_VARR, S_VARR, 1);
            for (uint64_t k = 0; k < m && !d->bad; k++)
                (void)get_u8(d, S_VARR);
            v.type = STITCH_VALUE_BOOL_ARRAY;
            break;
        }
        case T_INTARR: {
            uint64_t m = get_count(d, S_VARR, S_VI0 + NICOL - 1, 1);
            for (uint64_t k = 0; k < m && !d->bad; k++)
                (void)get_var(d, S_VI0 + NICOL - 1);
            v.type = STITCH_VALUE_INT_ARRAY;
            break;
        }
        case T_DBLARR: {
            uint64_t m = get_count(d, S_VARR, S_VDBL, 8);
            if (m)
                (void)get_raw(d, S_VDBL, m * 8);
            v.type = STITCH_VALUE_DOUBLE_ARRAY;
            break;
        }
        default:
            d->bad = true;
            break;
        }
        if (d->bad || !found)
            continue;
        for (size_t j = 0; j < ms->m->ntags; j++) {
            if (*found >> j & 1)
                continue;
            int r = attr_cond(key, kl, &v, &ms->m->tags[j], ms->tkl[j], ms->tvl[j]);
            if (r > 0)
                *found |= 1ull << j;
            else if (r < 0)
                ms->undecided = true;
        }
    }
}


/* Span i of a trace of cnt, read and dropped: the decoder's reads, in its
 * order, nothing built. With found (match pass): the tag bits the span's
 * resource (rfound) and attributes meet; ms NULL = no conditions. */
static void skip_span(dec_t *d, const page_head_t *H, uint64_t cnt, uint64_t i, uint64_t *tstart,
                      span_facts_t *f, mstate_t *ms, const uint64_t *rfound, uint64_t *found)
{
    (void)get_u8(d, S_FLAGS);
    (void)get_u8(d, S_FLAGS);
    uint8_t bits = get_u8(d, S_BITS);
    if ((bits & 7) > 5 || (bits >> 3 & 3) > 2 || bits & 0x80)
        d->bad = true;
    uint64_t par = get_var(d, S_PARENT);
    if (par == 1)
        (void)get_raw(d, S_PRAW, 8);
    else if (par >= 2 && par - 2 >= cnt)
        d->bad = true;
    uint64_t start;
    if (i == 0) {
        start = H->base + get_var(d, S_START);
        *tstart = start;
    } else {
        start = *tstart + (uint64_t)unzz(get_var(d, S_START));
    }
    f->start = start;
    f->end = start + (uint64_t)unzz(get_var(d, S_DUR));
    f->bits = bits;
    f->name = get_str(d, S_NAME, &f->nl, 0);
    uint64_t ri = get_var(d, S_RESIX);
    f->ri = ri;
    if (ri >= H->nres)
        d->bad = true;
    if (get_var(d, S_SCIX) > H->nsc)
        d->bad = true;
    uint64_t ts = get_var(d, S_TS);
    uint32_t l, ix;
    if (ts)
        (void)get_ref(d, ts - 1, 0, &l, &ix);
    (void)get_str(d, S_SMSG, &l, 0);
    if (bits & 0x40) {
        (void)get_var(d, S_EXTRA);
        (void)get_var(d, S_EXTRA);
        (void)get_var(d, S_EXTRA);
    }
    if (found && rfound && !d->bad)
        *found = rfound[ri];
    skip_attrs(d, ms, found);
    uint64_t ne = get_count(d, S_ECNT, S_TIME, 1);
    for (uint64_t k = 0; k < ne && !d->bad; k++) {
        (void)get_var(d, S_TIME);
        (void)get_str(d, S_NAME, &l, 0);
        skip_attrs(d, ms, found);
        (void)get_var(d, S_EDROP);
    }
    uint64_t nlk = get_count(d, S_LCNT, S_LID, 24);
    for (uint64_t k = 0; k < nlk && !d->bad; k++) {
        (void)get_raw(d, S_LID, 24);
        (void)get_u8(d, S_FLAGS);
        (void)get_u8(d, S_FLAGS);
        ts = get_var(d, S_TS);
        if (ts)
            (void)get_ref(d, ts - 1, 0, &l, &ix);
        skip_attrs(d, ms, NULL);
        (void)get_var(d, S_EDROP);
    }
}

int st_page_match(stitch_wire_batch_t *b, const uint8_t *p, size_t n, const st_page_match_t *m)
{
    if (m->ntags > 64)
        return 1;
    dec_t D = {.b = b}, *d = &D;
    mstate_t ms = {.m = m};
    for (size_t j = 0; j < m->ntags; j++) {
        ms.tkl[j] = strlen(m->tags[j].key);
        ms.tvl[j] = m->tags[j].value ? strlen(m->tags[j].value) : 0;
    }
    page_head_t H;
    int e = page_begin(d, p, n, &H);
    if (e)
        return e == STITCH_ENOMEM ? (b->limit_hit ? STITCH_ELIMIT : STITCH_ENOMEM) : STITCH_EPARSE;
    /* per resource: the service condition, and the tags its attributes meet */
    uint64_t *rfound = arena(d, H.nres ? H.nres : 1, sizeof *rfound);
    bool *rsvc = arena(d, H.nres ? H.nres : 1, sizeof *rsvc);
    if (d->oom)
        return b->limit_hit ? STITCH_ELIMIT : STITCH_ENOMEM;
    for (uint64_t r = 0; r < H.nres; r++) {
        stitch_span_data_t tmp = {.resource = H.res[r], .nresource = H.nresattr[r]};
        size_t sl;
        const char *svc = st_span_service(&tmp, &sl);
        rsvc[r] = !m->service || (sl == m->svclen && !memcmp(svc, m->service, sl));
        for (uint32_t a = 0; a < H.nresattr[r]; a++)
            for (size_t j = 0; j < m->ntags; j++) {
                const stitch_attr_t *at = &H.res[r][a];
                int c = attr_cond(at->key, strlen(at->key), &at->value, &m->tags[j], ms.tkl[j], ms.tvl[j]);
                if (c > 0)
                    rfound[r] |= 1ull << j;
                else if (c < 0)
                    ms.undecided = true;
            }
    }
    uint64_t all = m->ntags == 64 ? ~0ull : (1ull << m->ntags) - 1;
    d->nocopy = true;
    uint64_t done = 0;
    for (uint64_t t = 0; t < H.ntraces && !d->bad; t++) {
        const uint8_t *tid = get_raw(d, S_TID, 16);
        uint64_t cnt = get_var(d, S_TCNT);
        if (!tid || !cnt || cnt > H.nspans - done) {
            d->bad = true;
            break;
        }
        (void)get_raw(d, S_SID, cnt * 8); /* cnt <= nspans <= SID / 8 */
        uint64_t tstart = 0;
        for (uint64_t i = 0; i < cnt && !d->bad; i++) {
            span_facts_t f;
            uint64_t found = 0;
            skip_span(d, &H, cnt, i, &tstart, &f, &ms, rfound, &found);
            if (d->bad)
                break;
            uint64_t dur = f.end > f.start ? f.end - f.start : 0;
            if (f.start < m->smin || f.start > m->smax || dur < m->dmin || dur > m->dmax)
                continue;
            if (m->kind > 0 && (int)(f.bits & 7) != m->kind)
                continue;
            if (m->status_mask && !(m->status_mask & (1u << (f.bits >> 3 & 3))))
                continue;
            if (m->operation && !cstr_eq(f.name, f.nl, m->operation, strlen(m->operation)))
                continue;
            if (!rsvc[f.ri] || found != all)
                continue;
            m->hit(m->arg, tid, f.start);
        }
        done += cnt;
    }
    if (d->oom)
        return b->limit_hit ? STITCH_ELIMIT : STITCH_ENOMEM;
    if (d->bad || done != H.nspans)
        return STITCH_EPARSE;
    return ms.undecided ? 1 : 0;
}
