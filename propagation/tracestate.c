/* propagation/tracestate.c — the W3C tracestate list: validation, the
 * immutable refcounted object, and copy-on-write put/delete.
 *
 * Invariant: an object holds 1..32 valid members with distinct keys, and
 * its string is the normalized header value (members joined by ',' with no
 * OWS); it is built with exactly one malloc and never modified afterwards.
 *
 * The grammar is tiny and fixed (W3C Trace Context Level 2 §3.3), so it is
 * checked by hand with lookup tables: no library in Debian implements it,
 * and a regex engine would cost more than the whole parse. */
#include <stdlib.h>
#include <string.h>

#include "propagation/internal.h"

/* Key characters after the first: lcalpha / DIGIT / "_" / "-" / "*" / "/"
 * (1), and '@' (2). */
static const uint8_t keych[256] = {
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1,
    ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1,
    ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
    ['y'] = 1, ['z'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
    ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['_'] = 1, ['-'] = 1, ['*'] = 1, ['/'] = 1,
    ['@'] = 2, /* the tenant@system separator: checked separately */
};

static inline bool lcalpha(unsigned char c)
{
    return c >= 'a' && c <= 'z';
}
static inline bool lcalnum(unsigned char c)
{
    return lcalpha(c) || (c >= '0' && c <= '9');
}

/* simple-key: 1..256 chars; multi-tenant-key: tenant (1..241) "@" system
 * (1..14, starting with a letter). The ABNF starts a simple key with a
 * letter, but the spec's prose and our SPECS.md allow a digit as well; we
 * accept it (dropping a whole tracestate over it would hurt more). */
bool stitch__ts_key_ok(const char *k, size_t n)
{
    if (n == 0 || !lcalnum((unsigned char)k[0]))
        return false;
    size_t at = 0;
    for (size_t i = 1; i < n; i++) {
        unsigned char c = (unsigned char)k[i];
        if (c == '@') {
            if (at)
                return false;
            at = i;
        } else if (!keych[c]) {
            return false;
        }
    }
    if (!at)
        return n <= 256;
    size_t sys = n - at - 1;
    return at <= 241 && sys >= 1 && sys <= 14 && lcalpha((unsigned char)k[at + 1]);
}

/* value = 0*255(chr) nblk-chr; chr = %x20 / nblk-chr; nblk-chr excludes ','
 * and '='. */
bool stitch__ts_value_ok(const char *v, size_t n)
{
    if (n == 0 || n > 256 || v[n - 1] == ' ')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c < 0x20 || c > 0x7e || c == ',' || c == '=')
            return false;
    }
    return true;
}

void stitch__ts_begin(stitch__ts_builder_t *b)
{
    b->n = 0;
    b->total = 0;
    b->bad = false;
    b->flat = NULL;
}

static inline bool valch(unsigned char c) /* chr: %x20-7E except ',' and '=' */
{
    return (unsigned)(c - 0x20) < 0x5f && c != ',' && c != '=';
}

/* The index of the first byte of s[i..len) that is not valch(), or len.
 * 16 bytes per step (GNU C vectors, as in the hex codec) while 16 remain:
 * values are the bulk of a tracestate, and a byte loop cost ~15
 * instructions a character. */
static inline size_t skip_value(const char *s, size_t i, size_t len)
{
    for (; i + 16 <= len; i += 16) {
        stitch__u8x16 v;
        memcpy(&v, s + i, 16);
        stitch__u8x16 bad = (stitch__u8x16)((stitch__u8x16)(v - 0x20) >= 0x5f) |
                            (stitch__u8x16)(v == ',') | (stitch__u8x16)(v == '=');
        uint64_t w[2];
        memcpy(w, &bad, 16);
        for (int h = 0; h < 2; h++)
            if (w[h]) /* the first 0xff byte in memory order */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
                return i + 8 * (size_t)h + (size_t)__builtin_clzll(w[h]) / 8;
#else
                return i + 8 * (size_t)h + (size_t)__builtin_ctzll(w[h]) / 8;
#endif
    }
    while (i < len && valch((unsigned char)s[i]))
        i++;
    return i;
}

/* One pass over the header value: each character is looked at once, the
 * member is validated as it is scanned (the same rules as
 * stitch__ts_key_ok / stitch__ts_value_ok applied to the OWS-trimmed
 * member), and its slices recorded. */
void stitch__ts_add(stitch__ts_builder_t *b, const char *s, size_t len)
{
    size_t i = 0;
    bool flat = b->n == 0; /* members so far are "k=v,k2=v2" verbatim in s */
    while (!b->bad) {
        while (i < len && stitch__ows(s[i]))
            i++;
        if (i == len)
            break;
        if (s[i] == ',') { /* empty list members are allowed */
            i++;
            continue;
        }
        /* key: lcalnum then key chars, at most one '@' */
        size_t k = i, at = 0;
        if (!lcalnum((unsigned char)s[i]))
            goto bad;
        for (i++; i < len && keych[(unsigned char)s[i]]; i++)
            if (s[i] == '@') {
                if (at)
                    goto bad;
                at = i - k;
            }
        size_t klen = i - k;
        if (i == len || s[i] != '=')
            goto bad;
        if (at ? at > 241 || klen - at - 1 < 1 || klen - at - 1 > 14 ||
                     !lcalpha((unsigned char)s[k + at + 1])
               : klen > 256)
            goto bad;
        /* value, then OWS, then ',' or the end */
        size_t v = ++i;
        i = skip_value(s, i, len);
        size_t vlen = i - v;
        while (vlen && s[v + vlen - 1] == ' ')
            vlen--;
        while (i < len && stitch__ows(s[i]))
            i++;
        if (i < len && s[i++] != ',')
            goto bad;
        if (vlen == 0 || vlen > 256 || b->n == STITCH_TRACESTATE_MAX_MEMBERS)
            goto bad;
        for (uint32_t j = 0; j < b->n; j++) /* n <= 32: quadratic is cheapest */
            if (b->m[j].klen == klen && memcmp(b->m[j].k, s + k, klen) == 0)
                goto bad;
        if (b->n && s + k != b->m[b->n - 1].v + b->m[b->n - 1].vlen + 1)
            flat = false; /* OWS or an empty member in between */
        b->m[b->n].k = s + k;
        b->m[b->n].klen = (uint16_t)klen;
        b->m[b->n].v = s + v;
        b->m[b->n].vlen = (uint16_t)vlen;
        b->total += (uint32_t)(klen + 1 + vlen + (b->n ? 1 : 0));
        b->n++;
    }
    b->flat = flat && b->n ? b->m[0].k : NULL;
    return;
bad:
    b->bad = true;
}

int stitch__ts_finish(stitch__ts_builder_t *b, stitch_tracestate_t **out)
{
    *out = NULL;
    if (b->bad)
        return STITCH_EINVAL;
    if (b->n == 0)
        return STITCH_OK;
    size_t idx = sizeof(struct stitch_tracestate) + b->n * sizeof(struct stitch__ts_member);
    struct stitch_tracestate *ts = malloc(idx + b->total + 1);
    if (!ts)
        return STITCH_ENOMEM;
    atomic_init(&ts->refs, 1);
    ts->n = b->n;
    ts->len = b->total;
    char *start = (char *)ts + idx;
    if (b->flat) { /* one copy; offsets relative to the first key */
        const char *src = b->flat;
        memcpy(start, src, b->total);
        start[b->total] = '\0';
        for (uint32_t i = 0; i < b->n; i++) {
            ts->m[i].koff = (uint16_t)(b->m[i].k - src);
            ts->m[i].klen = b->m[i].klen;
            ts->m[i].voff = (uint16_t)(b->m[i].v - src);
            ts->m[i].vlen = b->m[i].vlen;
        }
        *out = ts;
        return STITCH_OK;
    }
    char *p = start;
    for (uint32_t i = 0; i < b->n; i++) {
        if (i)
            *p++ = ',';
        ts->m[i].koff = (uint16_t)(p - start);
        ts->m[i].klen = b->m[i].klen;
        memcpy(p, b->m[i].k, b->m[i].klen);
        p += b->m[i].klen;
        *p++ = '=';
        ts->m[i].voff = (uint16_t)(p - start);
        ts->m[i].vlen = b->m[i].vlen;
        memcpy(p, b->m[i].v, b->m[i].vlen);
        p += b->m[i].vlen;
    }
    *p = '\0';
    *out = ts;
    return STITCH_OK;
}

int stitch_tracestate_parse(const char *s, size_t len, stitch_tracestate_t **out)
{
    stitch__ts_builder_t b;
    stitch__ts_begin(&b);
    if (s)
        stitch__ts_add(&b, s, len);
    return stitch__ts_finish(&b, out);
}

stitch_tracestate_t *stitch_tracestate_ref(const stitch_tracestate_t *ts)
{
    stitch_tracestate_t *t = (stitch_tracestate_t *)ts; /* the count is not "content" */
    if (t)
        atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
    return t;
}

void stitch_tracestate_unref(stitch_tracestate_t *ts)
{
    /* acq_rel: every earlier use of the object happens before the free */
    if (ts && atomic_fetch_sub_explicit(&ts->refs, 1, memory_order_acq_rel) == 1)
        free(ts);
}

const char *stitch_tracestate_str(const stitch_tracestate_t *ts, size_t *len)
{
    if (len)
        *len = ts ? ts->len : 0;
    return ts ? stitch__ts_str(ts) : "";
}

size_t stitch_tracestate_count(const stitch_tracestate_t *ts)
{
    return ts ? ts->n : 0;
}

int stitch_tracestate_member(const stitch_tracestate_t *ts, size_t i, stitch_str_t *key,
                             stitch_str_t *value)
{
    if (!ts || i >= ts->n)
        return STITCH_ENOTFOUND;
    const char *s = stitch__ts_str(ts);
    if (key)
        *key = (stitch_str_t){s + ts->m[i].koff, ts->m[i].klen};
    if (value)
        *value = (stitch_str_t){s + ts->m[i].voff, ts->m[i].vlen};
    return STITCH_OK;
}

static int find(const stitch_tracestate_t *ts, const char *key, size_t klen)
{
    if (!ts)
        return -1;
    const char *s = stitch__ts_str(ts);
    for (uint32_t i = 0; i < ts->n; i++)
        if (ts->m[i].klen == klen && memcmp(s + ts->m[i].koff, key, klen) == 0)
            return (int)i;
    return -1;
}

const char *stitch_tracestate_get(const stitch_tracestate_t *ts, const char *key, size_t *len)
{
    int i = key ? find(ts, key, strlen(key)) : -1;
    if (i < 0) {
        if (len)
            *len = 0;
        return NULL;
    }
    if (len)
        *len = ts->m[i].vlen;
    return stitch__ts_str(ts) + ts->m[i].voff;
}

/* Rebuild from `ts` without member `skip`, optionally with key=value in
 * front; the builder keeps the existing members' pointers, which stay valid
 * until finish copies them. */
static int rebuild(const stitch_tracestate_t *ts, int skip, const char *key, size_t klen,
                   const char *value, size_t vlen, stitch_tracestate_t **out)
{
    stitch__ts_builder_t b;
    stitch__ts_begin(&b);
    if (key) {
        b.m[0].k = key;
        b.m[0].klen = (uint16_t)klen;
        b.m[0].v = value;
        b.m[0].vlen = (uint16_t)vlen;
        b.total = (uint32_t)(klen + 1 + vlen);
        b.n = 1;
    }
    const char *s = ts ? stitch__ts_str(ts) : NULL;
    for (uint32_t i = 0; ts && i < ts->n && b.n < STITCH_TRACESTATE_MAX_MEMBERS; i++) {
        if ((int)i == skip)
            continue;
        b.m[b.n].k = s + ts->m[i].koff;
        b.m[b.n].klen = ts->m[i].klen;
        b.m[b.n].v = s + ts->m[i].voff;
        b.m[b.n].vlen = ts->m[i].vlen;
        b.total += (uint32_t)(ts->m[i].klen + 1 + ts->m[i].vlen + (b.n ? 1 : 0));
        b.n++;
    }
    return stitch__ts_finish(&b, out);
}

int stitch_tracestate_put(const stitch_tracestate_t *ts, const char *key, const char *value,
                          stitch_tracestate_t **out)
{
    *out = NULL;
    if (!key || !value)
        return STITCH_EINVAL;
    size_t klen = strlen(key), vlen = strlen(value);
    if (!stitch__ts_key_ok(key, klen) || !stitch__ts_value_ok(value, vlen))
        return STITCH_EINVAL;
    return rebuild(ts, find(ts, key, klen), key, klen, value, vlen, out);
}

int stitch_tracestate_delete(const stitch_tracestate_t *ts, const char *key,
                             stitch_tracestate_t **out)
{
    int i = key ? find(ts, key, strlen(key)) : -1;
    if (i < 0) {
        *out = stitch_tracestate_ref(ts);
        return STITCH_OK;
    }
    return rebuild(ts, i, NULL, 0, NULL, 0, out);
}
