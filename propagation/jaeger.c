/* propagation/jaeger.c — Jaeger's native propagation: the
 * `uber-trace-id: {trace-id}:{span-id}:{parent-span-id}:{flags}` header and
 * `uberctx-{key}` baggage headers.
 *
 * Invariant: ids may be shorter than full width (Jaeger clients drop
 * leading zeros) and are left-padded; a zero trace or span id invalidates
 * the context, a zero parent means "root". Flags: bit 1 sampled, bit 2
 * debug (debug implies sampled). Values may be URL-encoded (`%3A`).
 *
 * Hand-written: four colon-separated hex fields; no library parses this. */
#include <stdlib.h>
#include <string.h>

#include "propagation/internal.h"

int stitch__unhex_padded(const char *s, size_t len, uint8_t *out, size_t n)
{
    char tmp[32];
    if (len == 0 || len > 2 * n || n > 16)
        return STITCH_EINVAL;
    memset(tmp, '0', 2 * n - len);
    memcpy(tmp + 2 * n - len, s, len);
    return stitch__unhex(tmp, n, out, false);
}

int stitch__decode_jaeger(const stitch_carrier_t *c, stitch_decoded_t *d)
{
    memset(d, 0, sizeof *d);
    d->sampled = -1;
    size_t len;
    const char *s = stitch__cget(c, "uber-trace-id", 0, &len);
    if (!s)
        return STITCH_ENOTFOUND;
    stitch__trim(&s, &len);
    char dec[128]; /* 32+16+16+2 digits and 3 colons, encoded at most 3x */
    if (memchr(s, '%', len)) {
        if (len > sizeof dec)
            return stitch__decode_fail(d, "uber-trace-id too long");
        long n = stitch__pct_decode(s, len, dec);
        if (n < 0)
            return stitch__decode_fail(d, "uber-trace-id has a malformed %-escape");
        s = dec;
        len = (size_t)n;
    }
    const char *f[4];
    size_t fl[4], k = 0, start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == ':') {
            if (k == 4)
                return stitch__decode_fail(d, "uber-trace-id must have 4 fields trace:span:parent:flags");
            f[k] = s + start;
            fl[k++] = i - start;
            start = i + 1;
        }
    }
    if (k != 4)
        return stitch__decode_fail(d, "uber-trace-id must have 4 fields trace:span:parent:flags");
    if (stitch__unhex_padded(f[0], fl[0], d->trace_id, 16) != 0 ||
        stitch__all_zero(d->trace_id, 16))
        return stitch__decode_fail(d, "uber-trace-id trace id must be 1-32 hex digits, not zero");
    if (stitch__unhex_padded(f[1], fl[1], d->span_id, 8) != 0 || stitch__all_zero(d->span_id, 8))
        return stitch__decode_fail(d, "uber-trace-id span id must be 1-16 hex digits, not zero");
    if (stitch__unhex_padded(f[2], fl[2], d->parent_span_id, 8) != 0)
        return stitch__decode_fail(d, "uber-trace-id parent id must be 1-16 hex digits");
    uint8_t flags;
    if (stitch__unhex_padded(f[3], fl[3], &flags, 1) != 0)
        return stitch__decode_fail(d, "uber-trace-id flags must be 1-2 hex digits");
    d->has_parent = !stitch__all_zero(d->parent_span_id, 8);
    d->debug = (flags & 2) != 0;
    d->sampled = (flags & 3) ? 1 : 0;
    d->flags = d->sampled ? STITCH_FLAG_SAMPLED : 0;
    d->has_ids = true;
    d->valid = true;
    return STITCH_OK;
}

int stitch__inject_jaeger(const stitch_ctx_t *ctx, const stitch_carrier_t *c)
{
    const stitch_span_ctx_t *sc = &ctx->span;
    if (!stitch_span_ctx_valid(sc))
        return STITCH_OK;
    char b[32 + 1 + 16 + 3 + 2 + 1];
    stitch__hex(sc->trace_id, 16, b);
    b[32] = ':';
    stitch__hex(sc->span_id, 8, b + 33);
    memcpy(b + 49, ":0:", 3); /* the parent id is deprecated; 0 is "none" */
    b[52] = stitch_span_ctx_sampled(sc) ? '1' : '0';
    b[53] = '\0';
    return stitch__cset(c, "uber-trace-id", b);
}

/* ---- uberctx-* baggage ---- */

#define UBERCTX "uberctx-"
#define UBERCTX_LEN 8

/* Header names collected first: calling get() from inside keys() could
 * re-enter a carrier that does not expect it. */
struct names {
    char *buf;
    size_t len, cap;
    size_t count;
    bool oom;
};

static void collect(void *arg, const char *name, size_t len)
{
    struct names *nm = arg;
    if (len <= UBERCTX_LEN || !stitch__strieq(name, UBERCTX_LEN, UBERCTX) ||
        nm->count >= STITCH_BAGGAGE_MAX_MEMBERS || nm->oom)
        return;
    if (nm->len + len + 1 > nm->cap) {
        size_t cap = nm->cap ? nm->cap * 2 : 256;
        while (cap < nm->len + len + 1)
            cap *= 2;
        char *b = realloc(nm->buf, cap);
        if (!b) {
            nm->oom = true;
            return;
        }
        nm->buf = b;
        nm->cap = cap;
    }
    for (size_t i = 0; i < len; i++) /* carriers want lower-case names */
        nm->buf[nm->len + i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] | 0x20 : name[i]);
    nm->buf[nm->len + len] = '\0';
    nm->len += len + 1;
    nm->count++;
}

/* URL query unescaping, as Jaeger clients encode (`+` is a space). */
static long query_unescape(const char *in, size_t n, char *out)
{
    long o = stitch__pct_decode(in, n, out);
    for (long i = 0; i < o; i++)
        if (out[i] == '+')
            out[i] = ' ';
    return o;
}

int stitch__extract_jaeger_baggage(const stitch_carrier_t *c, stitch_baggage_t **bg)
{
    if (!c || !c->keys)
        return STITCH_OK;
    struct names nm = {0};
    c->keys(c->self, collect, &nm);
    if (!nm.count) {
        free(nm.buf);
        return nm.oom ? STITCH_ENOMEM : STITCH_OK;
    }
    stitch_baggage_entry_t add[STITCH_BAGGAGE_MAX_MEMBERS];
    char scratch[STITCH_BAGGAGE_MAX_BYTES];
    size_t n = 0, used = 0;
    const char *name = nm.buf;
    for (size_t i = 0; i < nm.count; i++, name += strlen(name) + 1) {
        size_t vlen;
        const char *v = stitch__cget(c, name, 0, &vlen);
        if (!v)
            continue;
        stitch__trim(&v, &vlen);
        if (vlen > sizeof scratch - used)
            continue;
        long dl = query_unescape(v, vlen, scratch + used);
        const char *key = name + UBERCTX_LEN;
        bool ok = dl >= 0;
        for (const char *k = key; ok && *k; k++)
            ok = stitch__is_tchar((unsigned char)*k);
        if (!ok)
            continue;
        add[n++] = (stitch_baggage_entry_t){key, scratch + used, "", strlen(key), (size_t)dl, 0};
        used += (size_t)dl;
    }
    int rc = STITCH_OK;
    if (n) {
        stitch_baggage_t *nb;
        rc = stitch__baggage_merge(*bg, add, n, &nb, NULL);
        if (rc == STITCH_OK)
            *bg = nb;
    }
    free(nm.buf);
    return rc;
}

/* RFC 3986 unreserved: what may stay literal in a URL-encoded value. */
static void unreserved_table(uint8_t t[256])
{
    for (int ch = 0; ch < 256; ch++)
        t[ch] = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                ch == '-' || ch == '_' || ch == '.' || ch == '~';
}

int stitch__inject_jaeger_baggage(const stitch_ctx_t *ctx, const stitch_carrier_t *c)
{
    const stitch_baggage_t *bg = ctx->baggage;
    if (!bg)
        return STITCH_OK;
    uint8_t unreserved[256]; /* built per call: inject of baggage is not hot */
    unreserved_table(unreserved);
    for (size_t i = 0; i < bg->n; i++) {
        const stitch_baggage_entry_t *e = &bg->e[i];
        size_t need = stitch__pct_encode(e->value, e->value_len, unreserved, NULL, 0);
        char *buf = malloc(UBERCTX_LEN + e->key_len + 1 + need + 1);
        if (!buf)
            return STITCH_ENOMEM;
        char *name = buf, *val = buf + UBERCTX_LEN + e->key_len + 1;
        memcpy(name, UBERCTX, UBERCTX_LEN);
        for (size_t j = 0; j < e->key_len; j++)
            name[UBERCTX_LEN + j] = (char)((e->key[j] >= 'A' && e->key[j] <= 'Z') ? e->key[j] | 0x20 : e->key[j]);
        name[UBERCTX_LEN + e->key_len] = '\0';
        stitch__pct_encode(e->value, e->value_len, unreserved, val, need);
        val[need] = '\0';
        int rc = stitch__cset(c, name, val);
        free(buf);
        if (rc != STITCH_OK)
            return rc;
    }
    return STITCH_OK;
}
