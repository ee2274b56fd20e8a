/* propagation/baggage.c — W3C baggage: the immutable refcounted entry list,
 * its copy-on-write builders, and the `baggage` header codec.
 *
 * Invariant: an object holds 1..180 entries with distinct keys whose wire
 * form fits in 8192 bytes; entries and their strings live in one malloc'd
 * block that never changes after it is returned. Malformed or over-limit
 * members of a header are dropped one by one (the spec asks to keep what
 * can be kept), never the whole header.
 *
 * Hand-written parser: the grammar (W3C Baggage §3.3) is a few lines of
 * ABNF and no Debian library implements it. */
#include <stdlib.h>
#include <string.h>

#include "propagation/internal.h"

stitch_baggage_t *stitch_baggage_ref(const stitch_baggage_t *bg)
{
    stitch_baggage_t *b = (stitch_baggage_t *)bg;
    if (b)
        atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    return b;
}

void stitch_baggage_unref(stitch_baggage_t *bg)
{
    if (bg && atomic_fetch_sub_explicit(&bg->refs, 1, memory_order_acq_rel) == 1)
        free(bg);
}

size_t stitch_baggage_count(const stitch_baggage_t *bg)
{
    return bg ? bg->n : 0;
}

int stitch_baggage_at(const stitch_baggage_t *bg, size_t i, stitch_baggage_entry_t *out)
{
    if (!bg || i >= bg->n)
        return STITCH_ENOTFOUND;
    *out = bg->e[i];
    return STITCH_OK;
}

static long find(const stitch_baggage_entry_t *e, size_t n, const char *key, size_t klen)
{
    for (size_t i = 0; i < n; i++)
        if (e[i].key_len == klen && memcmp(e[i].key, key, klen) == 0)
            return (long)i;
    return -1;
}

const char *stitch_baggage_get(const stitch_baggage_t *bg, const char *key)
{
    if (!bg || !key)
        return NULL;
    long i = find(bg->e, bg->n, key, strlen(key));
    return i < 0 ? NULL : bg->e[i].value;
}

/* Bytes of "key=encoded-value[;metadata]" on the wire. */
static size_t wire_len(const stitch_baggage_entry_t *e)
{
    size_t v = stitch__pct_encode(e->value, e->value_len, stitch__baggage_octet, NULL, 0);
    return e->key_len + 1 + v + (e->metadata_len ? 1 + e->metadata_len : 0);
}

/* Copy entries into one block. */
static int build(const stitch_baggage_entry_t *e, size_t n, stitch_baggage_t **out)
{
    *out = NULL;
    if (n == 0)
        return STITCH_OK;
    size_t head = sizeof(stitch_baggage_t) + n * sizeof(stitch_baggage_entry_t), strs = 0;
    for (size_t i = 0; i < n; i++)
        strs += e[i].key_len + e[i].value_len + e[i].metadata_len + 3;
    stitch_baggage_t *bg = malloc(head + strs);
    if (!bg)
        return STITCH_ENOMEM;
    atomic_init(&bg->refs, 1);
    bg->n = (uint32_t)n;
    char *p = (char *)bg + head;
    for (size_t i = 0; i < n; i++) {
        stitch_baggage_entry_t *d = &bg->e[i];
        *d = e[i];
        memcpy(p, e[i].key, e[i].key_len);
        p[e[i].key_len] = '\0';
        d->key = p;
        p += e[i].key_len + 1;
        if (e[i].value_len)
            memcpy(p, e[i].value, e[i].value_len);
        p[e[i].value_len] = '\0';
        d->value = p;
        p += e[i].value_len + 1;
        if (e[i].metadata_len)
            memcpy(p, e[i].metadata, e[i].metadata_len);
        p[e[i].metadata_len] = '\0';
        d->metadata = p;
        p += e[i].metadata_len + 1;
    }
    *out = bg;
    return STITCH_OK;
}

int stitch__baggage_merge(const stitch_baggage_t *base, const stitch_baggage_entry_t *add,
                          size_t nadd, stitch_baggage_t **out, size_t *dropped)
{
    stitch_baggage_entry_t tmp[STITCH_BAGGAGE_MAX_MEMBERS];
    size_t wl[STITCH_BAGGAGE_MAX_MEMBERS];
    size_t n = 0, wire = 0, drop = 0;
    for (size_t i = 0; base && i < base->n; i++) {
        tmp[n] = base->e[i];
        wl[n] = wire_len(&tmp[n]);
        wire += wl[n] + (n ? 1 : 0);
        n++;
    }
    for (size_t i = 0; i < nadd; i++) {
        size_t w = wire_len(&add[i]);
        long j = find(tmp, n, add[i].key, add[i].key_len);
        if (j >= 0) {
            if (wire - wl[j] + w > STITCH_BAGGAGE_MAX_BYTES) {
                drop++;
                continue;
            }
            wire = wire - wl[j] + w;
            tmp[j] = add[i];
            wl[j] = w;
        } else {
            if (n == STITCH_BAGGAGE_MAX_MEMBERS ||
                wire + (n ? 1 : 0) + w > STITCH_BAGGAGE_MAX_BYTES) {
                drop++;
                continue;
            }
            wire += w + (n ? 1 : 0);
            tmp[n] = add[i];
            wl[n] = w;
            n++;
        }
    }
    if (dropped)
        *dropped += drop;
    return build(tmp, n, out);
}

static bool token_ok(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!stitch__is_tchar((unsigned char)s[i]))
            return false;
    return true;
}

/* Properties are kept verbatim; they only must not break the list. */
static bool meta_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c > 0x7e || c == ',')
            return false;
    }
    return true;
}

int stitch_baggage_set(const stitch_baggage_t *bg, const char *key, const char *value,
                       const char *metadata, stitch_baggage_t **out)
{
    *out = NULL;
    if (!key || !value)
        return STITCH_EINVAL;
    stitch_baggage_entry_t e = {key, value, metadata ? metadata : "", strlen(key),
                                strlen(value), metadata ? strlen(metadata) : 0};
    if (!token_ok(e.key, e.key_len) || !meta_ok(e.metadata, e.metadata_len))
        return STITCH_EINVAL;
    size_t dropped = 0;
    int rc = stitch__baggage_merge(bg, &e, 1, out, &dropped);
    if (rc == STITCH_OK && dropped) {
        stitch_baggage_unref(*out);
        *out = NULL;
        return STITCH_ELIMIT;
    }
    return rc;
}

int stitch_baggage_remove(const stitch_baggage_t *bg, const char *key, stitch_baggage_t **out)
{
    *out = NULL;
    long j = (bg && key) ? find(bg->e, bg->n, key, strlen(key)) : -1;
    if (j < 0) {
        *out = stitch_baggage_ref(bg);
        return STITCH_OK;
    }
    stitch_baggage_entry_t tmp[STITCH_BAGGAGE_MAX_MEMBERS];
    size_t n = 0;
    for (size_t i = 0; i < bg->n; i++)
        if ((long)i != j)
            tmp[n++] = bg->e[i];
    return build(tmp, n, out);
}

/* Parse one member "key OWS = OWS value *(OWS ; OWS property)" into e,
 * decoding the value into *scratch. false when malformed. */
static bool parse_member(const char *s, size_t n, stitch_baggage_entry_t *e, char **scratch,
                         size_t *room)
{
    const char *semi = memchr(s, ';', n);
    size_t kv = semi ? (size_t)(semi - s) : n;
    const char *meta = semi ? semi + 1 : "";
    size_t mlen = semi ? n - kv - 1 : 0;
    stitch__trim(&meta, &mlen);
    if (semi && (mlen == 0 || !meta_ok(meta, mlen)))
        return false;
    const char *eq = memchr(s, '=', kv);
    if (!eq)
        return false;
    const char *k = s, *v = eq + 1;
    size_t klen = (size_t)(eq - s), vlen = kv - klen - 1;
    stitch__trim(&k, &klen);
    stitch__trim(&v, &vlen);
    if (!token_ok(k, klen))
        return false;
    for (size_t i = 0; i < vlen; i++) /* literal chars: baggage-octet, '%' escapes */
        if (!stitch__baggage_octet[(unsigned char)v[i]] && v[i] != '%')
            return false;
    if (vlen > *room)
        return false;
    long dl = stitch__pct_decode(v, vlen, *scratch);
    if (dl < 0)
        return false;
    *e = (stitch_baggage_entry_t){k, *scratch, meta, klen, (size_t)dl, mlen};
    *scratch += dl;
    *room -= (size_t)dl;
    return true;
}

int stitch__baggage_parse_values(const stitch_baggage_t *base, const stitch_str_t *vals,
                                 size_t nvals, stitch_baggage_t **out, size_t *dropped)
{
    /* Decoded values are never longer than their encoded form, and anything
     * past 8192 wire bytes is dropped anyway, so a fixed scratch suffices. */
    char buf[STITCH_BAGGAGE_MAX_BYTES];
    char *scratch = buf;
    size_t room = sizeof buf, n = 0, drop = 0;
    stitch_baggage_entry_t add[STITCH_BAGGAGE_MAX_MEMBERS];
    for (size_t h = 0; h < nvals; h++) {
        const char *s = vals[h].ptr;
        size_t len = vals[h].len;
        while (s) {
            const char *comma = memchr(s, ',', len);
            size_t m = comma ? (size_t)(comma - s) : len;
            const char *mp = s;
            size_t ml = m;
            stitch__trim(&mp, &ml);
            if (ml) {
                stitch_baggage_entry_t e;
                if (!parse_member(mp, ml, &e, &scratch, &room)) {
                    drop++;
                } else {
                    long j = find(add, n, e.key, e.key_len);
                    if (j >= 0)
                        add[j] = e; /* a later header wins */
                    else if (n < STITCH_BAGGAGE_MAX_MEMBERS)
                        add[n++] = e;
                    else
                        drop++;
                }
            }
            if (!comma)
                break;
            s = comma + 1;
            len -= m + 1;
        }
    }
    if (dropped)
        *dropped = 0;
    int rc = stitch__baggage_merge(base, add, n, out, dropped);
    if (dropped)
        *dropped += drop;
    return rc;
}

int stitch_baggage_parse(const char *s, size_t len, stitch_baggage_t **out, size_t *dropped)
{
    stitch_str_t v = {s ? s : "", s ? len : 0};
    return stitch__baggage_parse_values(NULL, &v, 1, out, dropped);
}

size_t stitch_baggage_format(const stitch_baggage_t *bg, char *buf, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; bg && i < bg->n; i++) {
        const stitch_baggage_entry_t *e = &bg->e[i];
        if (i) {
            if (o < cap)
                buf[o] = ',';
            o++;
        }
        if (o + e->key_len <= cap)
            memcpy(buf + o, e->key, e->key_len);
        o += e->key_len;
        if (o < cap)
            buf[o] = '=';
        o++;
        o += stitch__pct_encode(e->value, e->value_len, stitch__baggage_octet,
                                o < cap ? buf + o : NULL, o < cap ? cap - o : 0);
        if (e->metadata_len) {
            if (o < cap)
                buf[o] = ';';
            o++;
            if (o + e->metadata_len <= cap)
                memcpy(buf + o, e->metadata, e->metadata_len);
            o += e->metadata_len;
        }
    }
    if (o < cap)
        buf[o] = '\0';
    else if (cap)
        buf[0] = '\0'; /* did not fit: never hand out a cut list */
    return o;
}
