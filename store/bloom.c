/* store/bloom.c — hashing, bloom filters and the text of tag values: what
 * the block summaries are built from and what a search probes them with.
 * Invariant: the entry a page's bloom gets for a span attribute and the
 * entry a search asks for are made by the same st_entry_hash over the same
 * st_value_text, so a bloom never says "absent" for a value that a span of
 * the page has (false positives only). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "store/internal.h"
#include "wire/internal.h"

static inline uint64_t mix(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

uint64_t st_hash(const void *p, size_t n, uint64_t seed)
{
    const uint8_t *s = p;
    uint64_t h = seed ^ 0x9e3779b97f4a7c15ull;
    size_t len = n;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = mix(h ^ w, 0xbf58476d1ce4e5b9ull);
        s += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, s, n);
    h = mix(h ^ w ^ ((uint64_t)len << 56), 0x94d049bb133111ebull);
    return mix(h, 0x2545f4914f6cdd1dull) ^ h;
}

uint64_t st_hash_tid(const uint8_t tid[16])
{
    return st_hash(tid, 16, 0x7469647300000000ull);
}

uint32_t st_bloom_nbits(size_t nkeys, unsigned bits_per_key)
{
    uint64_t bits = (uint64_t)nkeys * bits_per_key;
    if (bits < 64)
        bits = 64;
    bits = (bits + 63) & ~63ull;
    if (bits > 0x7fffffc0ull)
        bits = 0x7fffffc0ull;
    return (uint32_t)bits;
}

unsigned st_bloom_k(unsigned bits_per_key)
{
    unsigned k = (unsigned)(bits_per_key * 0.69 + 0.5); /* ln 2 x bits per key */
    return k < 1 ? 1 : k > 16 ? 16 : k;
}

/* Kirsch–Mitzenmacher double hashing; the index is a multiply-shift of
 * the top 32 bits (no modulo, any nbits). */
static inline uint32_t probe(uint64_t h1, uint64_t h2, unsigned i, uint32_t nbits)
{
    uint64_t x = (h1 + i * h2) >> 32;
    return (uint32_t)((x * nbits) >> 32);
}

void st_bloom_add(uint8_t *bits, uint32_t nbits, unsigned k, uint64_t h)
{
    uint64_t h2 = (h << 29 | h >> 35) * 0x9e3779b97f4a7c15ull | 1;
    for (unsigned i = 0; i < k; i++) {
        uint32_t b = probe(h, h2, i, nbits);
        bits[b >> 3] |= (uint8_t)(1u << (b & 7));
    }
}

bool st_bloom_has(const st_bloom_t *bl, uint64_t h)
{
    if (!bl->nbits)
        return false;
    uint64_t h2 = (h << 29 | h >> 35) * 0x9e3779b97f4a7c15ull | 1;
    for (unsigned i = 0; i < bl->k; i++) {
        uint32_t b = probe(h, h2, i, bl->nbits);
        if (!(bl->bits[b >> 3] & (1u << (b & 7))))
            return false;
    }
    return true;
}

uint64_t st_entry_hash(char type, const char *a, size_t alen, const char *b, size_t blen)
{
    uint64_t h = st_hash(a, alen, (uint64_t)(unsigned char)type * 0x100000001b3ull);
    if (b)
        h = st_hash(b, blen, h ^ 0x3d);
    return h;
}

static size_t i64_text(int64_t v, char *out)
{
    char t[24];
    size_t n = 0;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        t[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t o = 0;
    if (v < 0)
        out[o++] = '-';
    while (n)
        out[o++] = t[--n];
    return o;
}

const char *st_value_text(const stitch_value_t *v, char *tmp, size_t tmplen, size_t *len)
{
    switch (v->type) {
    case STITCH_VALUE_STRING:
        *len = v->len;
        return v->u.str ? v->u.str : "";
    case STITCH_VALUE_BOOL:
        *len = v->u.b ? 4 : 5;
        return v->u.b ? "true" : "false";
    case STITCH_VALUE_INT:
        if (tmplen < 24)
            break;
        *len = i64_text(v->u.i, tmp);
        return tmp;
    case STITCH_VALUE_DOUBLE: {
        double d = v->u.d;
        /* fast path, same text as stitch_wire_double's "%.15g": a value
         * that is exactly k/100 with |k| < 1e13 prints as k's digits with
         * the point before the last two, trailing zeros dropped (15
         * significant digits are more than it has; %g uses no exponent
         * between 1e-4 and 1e15) */
        if (tmplen >= 24 && d > -1e11 && d < 1e11 && !(d == 0 && signbit(d))) {
            double c = d * 100.0;
            int64_t k = (int64_t)(c < 0 ? c - 0.5 : c + 0.5);
            if ((double)k / 100.0 == d) {
                uint64_t u = k < 0 ? (uint64_t)-k : (uint64_t)k;
                size_t o = 0;
                if (k < 0)
                    tmp[o++] = '-';
                o += i64_text((int64_t)(u / 100), tmp + o);
                unsigned f = (unsigned)(u % 100);
                if (f) {
                    tmp[o++] = '.';
                    tmp[o++] = (char)('0' + f / 10);
                    if (f % 10)
                        tmp[o++] = (char)('0' + f % 10);
                }
                *len = o;
                return tmp;
            }
        }
        if (isnan(d)) {
            *len = 3;
            return "NaN";
        }
        if (isinf(d)) {
            *len = d > 0 ? 8 : 9;
            return d > 0 ? "Infinity" : "-Infinity";
        }
        stitch_buf_t b = {(uint8_t *)tmp, 0, tmplen, tmplen};
        (void)stitch_wire_double(&b, d); /* fits: at most 24 bytes */
        *len = b.len;
        return tmp;
    }
    case STITCH_VALUE_STRING_ARRAY:
    case STITCH_VALUE_BOOL_ARRAY:
    case STITCH_VALUE_INT_ARRAY:
    case STITCH_VALUE_DOUBLE_ARRAY: {
        /* cap == max: the writer fails (STITCH_ELIMIT) instead of growing
         * the caller's stack buffer; a longer list is compared cut, on
         * both sides alike */
        stitch_buf_t b = {(uint8_t *)tmp, 0, tmplen, tmplen};
        (void)stitch_wire_json_plain_value(&b, v);
        *len = b.len;
        return tmp;
    }
    default:
        break;
    }
    *len = 0;
    return "";
}

const char *st_span_service(const stitch_span_data_t *d, size_t *len)
{
    for (uint32_t i = 0; i < d->nresource; i++) {
        const stitch_attr_t *a = &d->resource[i];
        if (a->value.type == STITCH_VALUE_STRING && !strcmp(a->key, "service.name")) {
            *len = a->value.len;
            return a->value.u.str;
        }
    }
    *len = 0;
    return "";
}
