/* tests/fuzz/fuzz_util.h — shared by the libFuzzer targets: an invariant
 * check that crashes (so libFuzzer keeps the input), a NUL-terminated copy
 * of the input, and a heap carrier built from the input's header lines.
 * Invariant: every value the carrier hands out is an exact-length heap
 * copy with no NUL after it, so a parser that reads past `len` trips
 * AddressSanitizer. Everything allocated here is freed by the caller. */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "stitch/propagation.h"

/* An invariant the target checks: a failure is a finding, like a crash. */
#define FUZZ_CHECK(cond)                                                                \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                    \
        }                                                                               \
    } while (0)

/* The input as a NUL-terminated string (cut at its first NUL, as a C
 * caller would see it). Free it. */
static inline char *fz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

#define FZ_MAX_HEADERS 64

typedef struct fz_header {
    char *name;  /* NUL-terminated */
    char *value; /* exactly len bytes, not NUL-terminated */
    size_t len;
} fz_header_t;

typedef struct fz_carrier {
    fz_header_t h[FZ_MAX_HEADERS];
    size_t n;
    stitch_carrier_t c;
} fz_carrier_t;

static inline char *fz_dup(const char *p, size_t n, int nul)
{
    char *s = malloc(n + (nul ? 1 : 0) + (n == 0 && !nul)); /* never malloc(0) */
    if (!s)
        abort();
    if (n)
        memcpy(s, p, n);
    if (nul)
        s[n] = '\0';
    return s;
}

static inline const char *fz_get(void *self, const char *name, size_t idx, size_t *len)
{
    fz_carrier_t *t = self;
    for (size_t i = 0; i < t->n; i++)
        if (!strcasecmp(t->h[i].name, name) && idx-- == 0) {
            *len = t->h[i].len;
            return t->h[i].value;
        }
    return NULL;
}

static inline void fz_add(fz_carrier_t *t, const char *name, size_t nlen, const char *value,
                          size_t vlen)
{
    if (t->n == FZ_MAX_HEADERS)
        return;
    t->h[t->n].name = fz_dup(name, nlen, 1);
    t->h[t->n].value = fz_dup(value, vlen, 0);
    t->h[t->n].len = vlen;
    t->n++;
}

static inline int fz_set(void *self, const char *name, const char *value)
{
    fz_carrier_t *t = self;
    for (size_t i = 0; i < t->n; i++)
        if (!strcasecmp(t->h[i].name, name)) {
            free(t->h[i].value);
            t->h[i].len = strlen(value);
            t->h[i].value = fz_dup(value, t->h[i].len, 0);
            return 0;
        }
    if (t->n == FZ_MAX_HEADERS)
        return STITCH_ELIMIT;
    fz_add(t, name, strlen(name), value, strlen(value));
    return 0;
}

static inline void fz_keys(void *self, void (*fn)(void *, const char *, size_t), void *arg)
{
    fz_carrier_t *t = self;
    for (size_t i = 0; i < t->n; i++)
        fn(arg, t->h[i].name, strlen(t->h[i].name));
}

static inline fz_carrier_t *fz_carrier_new(void)
{
    fz_carrier_t *t = calloc(1, sizeof *t);
    if (!t)
        abort();
    t->c = (stitch_carrier_t){t, fz_get, fz_set, fz_keys};
    return t;
}

/* Headers from lines "name: value" (split on '\n', a trailing '\r' and the
 * spaces after ':' dropped); lines without ':' are skipped. Names are cut
 * at a NUL (they are C strings in the carrier API); values keep any byte. */
static inline fz_carrier_t *fz_carrier_from_lines(const uint8_t *data, size_t size)
{
    fz_carrier_t *t = fz_carrier_new();
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *colon = memchr(p, ':', (size_t)(le - p));
        if (colon) {
            const char *v = colon + 1, *ve = le;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            if (ve > v && ve[-1] == '\r')
                ve--;
            size_t nlen = strnlen(p, (size_t)(colon - p));
            fz_add(t, p, nlen, v, (size_t)(ve - v));
        }
        p = le + 1;
    }
    return t;
}

static inline void fz_carrier_free(fz_carrier_t *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->h[i].name);
        free(t->h[i].value);
    }
    free(t);
}

/* stitch_decode for every format: the result codes and `error` agree, and
 * the references are dropped. */
static inline void fz_decode_all(const stitch_carrier_t *c)
{
    static const stitch_format_t formats[] = {STITCH_FORMAT_W3C, STITCH_FORMAT_B3,
                                              STITCH_FORMAT_B3MULTI, STITCH_FORMAT_JAEGER,
                                              STITCH_FORMAT_BAGGAGE};
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        stitch_decoded_t d;
        int rc = stitch_decode(formats[i], c, &d);
        FUZZ_CHECK(rc == 0 || rc == STITCH_EINVAL || rc == STITCH_ENOTFOUND || rc == STITCH_ENOMEM);
        if (rc == 0)
            FUZZ_CHECK(d.valid && d.error == NULL);
        if (rc == STITCH_EINVAL)
            FUZZ_CHECK(!d.valid && d.error != NULL);
        stitch_decoded_release(&d);
    }
}

/* Extract with `p` from `c`; when a valid context comes out, inject it into
 * a fresh carrier and extract again: the ids and the sampled bit must
 * survive, and so must the tracestate. */
static inline void fz_round_trip(const stitch_propagator_t *p, const stitch_carrier_t *c)
{
    stitch_ctx_t a = STITCH_CTX_INIT;
    int rc = stitch_extract(p, c, &a);
    FUZZ_CHECK(rc == 0 || rc == STITCH_ENOTFOUND);
    if (rc == 0) {
        FUZZ_CHECK(stitch_span_ctx_valid(&a.span));
        fz_carrier_t *out = fz_carrier_new();
        FUZZ_CHECK(stitch_inject(p, &a, &out->c) == 0);
        stitch_ctx_t b = STITCH_CTX_INIT;
        FUZZ_CHECK(stitch_extract(p, &out->c, &b) == 0);
        FUZZ_CHECK(!memcmp(a.span.trace_id, b.span.trace_id, 16));
        FUZZ_CHECK(!memcmp(a.span.span_id, b.span.span_id, 8));
        FUZZ_CHECK((a.span.flags & STITCH_FLAG_SAMPLED) == (b.span.flags & STITCH_FLAG_SAMPLED));
        size_t la, lb;
        const char *ta = stitch_tracestate_str(a.tracestate, &la);
        const char *tb = stitch_tracestate_str(b.tracestate, &lb);
        FUZZ_CHECK(la == lb && !memcmp(ta, tb, la));
        stitch_ctx_release(&b);
        fz_carrier_free(out);
    }
    stitch_ctx_release(&a);
}

#endif
