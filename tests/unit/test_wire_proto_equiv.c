/* The direct OTLP protobuf decoder (wire/decode/otlp_proto.c) against the
 * protobuf-c reference (otlp_proto_pbc.c): the same accept/reject decision,
 * return code, rejection count and first message, and the same records,
 * field for field (tests/unit/wire_dump.h), on
 *   - the fuzz seed corpora of both proto targets (and the regression
 *     inputs the equivalence fuzzer found),
 *   - realistic batches from bench/gen.h and the SDK-built fixture batch,
 *   - hand-built edge cases: every known field with every wire type, tags,
 *     varints and lengths at and past their limits, fields and messages
 *     given twice (protobuf's merge), AnyValue trees, NULs and non-UTF-8,
 *     the reference's order of rejections,
 *   - and seeded random mutations of all of these, with and without an
 *     arena maximum.
 * Then what only the direct decoder can do: AnyValue nesting far deeper
 * than protobuf-c's recursion survives. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bench/gen.h"
#include "tests/unit/wire_dump.h"
#include "tests/unit/wire_fixture.h"
#include "wire/decode.h"
#include "wire/wire.h"

/* ---- a small protobuf writer for the edge cases ------------------------------- */

typedef struct pb {
    uint8_t *p;
    size_t n;
} pb_t;

static pb_t raw(const void *s, size_t n)
{
    pb_t b = {malloc(n ? n : 1), n};
    assert_non_null(b.p);
    if (n)
        memcpy(b.p, s, n);
    return b;
}

static pb_t cat(const pb_t *v, size_t k)
{
    size_t n = 0;
    for (size_t i = 0; i < k; i++)
        n += v[i].n;
    pb_t b = {malloc(n ? n : 1), 0};
    assert_non_null(b.p);
    for (size_t i = 0; i < k; i++) {
        if (v[i].n)
            memcpy(b.p + b.n, v[i].p, v[i].n);
        b.n += v[i].n;
        free(v[i].p);
    }
    return b;
}
#define CAT(...) cat((pb_t[]){__VA_ARGS__}, sizeof((pb_t[]){__VA_ARGS__}) / sizeof(pb_t))
#define NONE raw("", 0)

static size_t put_varint(uint8_t *o, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        o[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    o[n++] = (uint8_t)v;
    return n;
}

static pb_t tag(uint32_t f, int wt)
{
    uint8_t o[10];
    return raw(o, put_varint(o, (uint64_t)f << 3 | (unsigned)wt));
}

static pb_t V(uint32_t f, uint64_t v)
{
    uint8_t o[10];
    return CAT(tag(f, 0), raw(o, put_varint(o, v)));
}

static pb_t F64(uint32_t f, uint64_t v) { return CAT(tag(f, 1), raw(&v, 8)); }
static pb_t F32(uint32_t f, uint32_t v) { return CAT(tag(f, 5), raw(&v, 4)); }

static pb_t L(uint32_t f, pb_t in)
{
    uint8_t o[10];
    return CAT(tag(f, 2), raw(o, put_varint(o, in.n)), in);
}

static pb_t S(uint32_t f, const char *s) { return L(f, raw(s, strlen(s))); }
static pb_t BY(uint32_t f, const void *p, size_t n) { return L(f, raw(p, n)); }

static const uint8_t TID[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t SID[8] = {1, 2, 3, 4, 5, 6, 7, 8};

/* A valid span with `extra` fields appended. */
static pb_t span(pb_t extra)
{
    return CAT(BY(1, TID, 16), BY(2, SID, 8), S(5, "op"), V(6, 2), F64(7, 100), F64(8, 200), extra);
}

/* A request of one ResourceSpans with `rs_extra`, one ScopeSpans with
 * `ss_extra`, and the span bodies given. */
static pb_t req(pb_t rs_extra, pb_t ss_extra, pb_t spans)
{
    return L(1, CAT(rs_extra, L(2, CAT(ss_extra, spans))));
}

static pb_t one(pb_t extra) { return req(NONE, NONE, L(2, span(extra))); }
/* a span attribute "k" with the given KeyValue.value occurrences (already tagged) */
static pb_t kv_attr(pb_t values) { return one(L(9, CAT(S(1, "k"), values))); }
static pb_t val(pb_t any) { return L(2, any); }

/* ---- comparing ---------------------------------------------------------------------- */

static size_t ncompared;

static void same(const uint8_t *p, size_t n, size_t max)
{
    char *why;
    if (wire_proto_equiv(p, n, max, &why)) {
        fprintf(stderr, "input (%zu bytes):", n);
        for (size_t i = 0; i < n && i < 512; i++)
            fprintf(stderr, " %02x", p[i]);
        fprintf(stderr, "\n%s\n", why ? why : "?");
        free(why);
        fail_msg("the direct decoder and protobuf-c disagree");
    }
    ncompared++;
}

/* With WIRE_EQUIV_SEEDS=DIR set, the hand-built cases are also written
 * there, as seeds for fuzz_otlp_proto_equiv (merged into its corpus with
 * libFuzzer's -merge=1). */
static void save_seed(const pb_t *b)
{
    static int k;
    const char *dir = getenv("WIRE_EQUIV_SEEDS");
    if (!dir)
        return;
    char path[4096];
    snprintf(path, sizeof path, "%s/edge_%05d.pb", dir, k++);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b->p, 1, b->n, f), b->n);
    assert_int_equal(fclose(f), 0);
}

static void same_pb(pb_t b)
{
    save_seed(&b);
    same(b.p, b.n, 0);
    free(b.p);
}

/* The reference's arena use for p, so limits can be set around it. */
static size_t ref_used(const uint8_t *p, size_t n)
{
    stitch_wire_batch_t b;
    stitch_wire_batch_init(&b, 0);
    (void)stitch_wire_otlp_proto_decode_pbc(&b, p, n, NULL);
    size_t u = b.used;
    stitch_wire_batch_free(&b);
    return u;
}

static uint32_t rnd_state = 12345;
static uint32_t rnd(void)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return rnd_state >> 8;
}

/* `rounds` random mutations of p: byte changes, cuts, inserted varints and
 * tags, repeated slices — each compared unbounded, some with a limit. */
static void mutate(const uint8_t *p, size_t n, int rounds)
{
    size_t cap = 2 * n + 64;
    uint8_t *m = malloc(cap);
    assert_non_null(m);
    for (int r = 0; r < rounds; r++) {
        size_t len = n;
        memcpy(m, p, n);
        for (int j = (int)(rnd() % 3); j >= 0 && len; j--) {
            size_t at = rnd() % len;
            switch (rnd() % 7) {
            case 0: m[at] = (uint8_t)rnd(); break;
            case 1: m[at] ^= (uint8_t)(1u << (rnd() % 8)); break;
            case 2: len = at; break;
            case 3: m[at] = (uint8_t)(rnd() % 2 ? 0x80 | rnd() : rnd() % 0x80); break;
            case 4: { /* insert a tag of a small field number with a random wire type */
                if (len + 2 > cap)
                    break;
                memmove(m + at + 1, m + at, len - at);
                m[at] = (uint8_t)((1 + rnd() % 16) << 3 | rnd() % 8);
                len++;
                break;
            }
            case 5: { /* repeat a slice (fields given twice) */
                size_t k = 1 + rnd() % 24;
                if (at + k > len || len + k > cap)
                    break;
                memmove(m + at + k, m + at, len - at);
                len += k;
                break;
            }
            default: m[at] = m[at] + (rnd() % 2 ? 1 : 0xff); break; /* a length one off */
            }
        }
        same(m, len, 0);
        if (r % 8 == 0) {
            size_t u = ref_used(m, len);
            same(m, len, u ? u / 2 + 16 : 64);
            same(m, len, u ? u - 16 : 32);
        }
    }
    free(m);
}

/* ---- inputs ------------------------------------------------------------------------ */

static void each_corpus_file(const char *sub, void (*fn)(const uint8_t *, size_t))
{
    char dir[4096];
    const char *slash = strrchr(__FILE__, '/');
    assert_non_null(slash); /* CMake compiles with absolute paths */
    snprintf(dir, sizeof dir, "%.*s/../fuzz/corpus/%s", (int)(slash - __FILE__), __FILE__, sub);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        static uint8_t buf[1 << 20];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        fn(buf, n);
    }
    closedir(d);
}

static void corpus_one(const uint8_t *p, size_t n)
{
    same(p, n, 0);
    mutate(p, n, 2000);
}

/* the equivalence target's corpus: ~250 small edge cases and findings */
static void corpus_equiv_one(const uint8_t *p, size_t n)
{
    same(p, n, 0);
    mutate(p, n, 40);
}

static void test_wire_proto_equiv_corpus(void **state)
{
    (void)state;
    each_corpus_file("otlp_proto", corpus_one);
    each_corpus_file("otlp_proto_equiv", corpus_equiv_one);
}

static void test_wire_proto_equiv_generated(void **state)
{
    struct wfx *fx = *state;
    static gen_t g;
    gen_init();
    g.rng = 0x9e3779b97f4a7c15ull;
    static const int sizes[] = {1, 7, 64, 512};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        gen_fill(&g, sizes[i], 5, 1700000000000000000ull);
        stitch_buf_t b = STITCH_BUF_INIT(0);
        assert_int_equal(stitch_wire_otlp_proto_encode(g.ptrs, (size_t)sizes[i], &b), 0);
        same(b.data, b.len, 0);
        size_t u = ref_used(b.data, b.len);
        for (size_t lim = 1024; lim < u; lim *= 3)
            same(b.data, b.len, lim);
        mutate(b.data, b.len, sizes[i] == 512 ? 60 : 300);
        stitch_buf_free(&b);
    }
    stitch_buf_t b = STITCH_BUF_INIT(0);
    assert_int_equal(stitch_wire_otlp_proto_encode(fx->spans, 5, &b), 0);
    same(b.data, b.len, 0);
    mutate(b.data, b.len, 10000);
    stitch_buf_free(&b);
}

/* Every known field of every message, with each wire type (and an unknown
 * field beside it), placed in an otherwise valid request. */
static pb_t field_as(uint32_t f, int wt)
{
    switch (wt) {
    case 0: return V(f, 1);
    case 1: return F64(f, 0x0102030405060708ull);
    case 2: return L(f, NONE);
    case 3: return CAT(tag(f, 3), tag(f, 4));
    default: return F32(f, 7);
    }
}

static void test_wire_proto_equiv_wire_types(void **state)
{
    (void)state;
    for (uint32_t f = 1; f <= 18; f++) {
        for (int wt = 0; wt <= 5; wt++) {
            if (wt == 4)
                continue;
            same_pb(field_as(f, wt));                                          /* request */
            same_pb(L(1, CAT(field_as(f, wt), L(2, L(2, span(NONE))))));      /* ResourceSpans */
            same_pb(req(NONE, field_as(f, wt), L(2, span(NONE))));             /* ScopeSpans */
            same_pb(one(field_as(f, wt)));                                     /* Span */
            same_pb(req(L(1, field_as(f, wt)), NONE, L(2, span(NONE))));       /* Resource */
            same_pb(req(NONE, L(1, field_as(f, wt)), L(2, span(NONE))));       /* InstrumentationScope */
            same_pb(one(L(11, field_as(f, wt))));                              /* Event */
            same_pb(one(L(13, CAT(BY(1, TID, 16), BY(2, SID, 8), field_as(f, wt))))); /* Link */
            same_pb(one(L(15, field_as(f, wt))));                              /* Status */
            same_pb(one(L(9, field_as(f, wt))));                               /* KeyValue */
            same_pb(kv_attr(val(field_as(f, wt))));                            /* AnyValue */
            same_pb(kv_attr(val(L(5, field_as(f, wt)))));                      /* ArrayValue */
            same_pb(kv_attr(val(L(6, field_as(f, wt)))));                      /* KeyValueList */
            same_pb(kv_attr(val(L(6, L(1, field_as(f, wt))))));                /* nested KeyValue */
            same_pb(kv_attr(val(L(5, L(1, field_as(f, wt))))));                /* nested AnyValue */
            same_pb(req(NONE, L(1, L(3, field_as(f, wt))), L(2, span(NONE)))); /* scope attribute */
        }
    }
}

static void test_wire_proto_equiv_framing(void **state)
{
    (void)state;
    static const uint8_t cases[][16] = {
        {0x00},                               /* field 0 */
        {0x07, 0x00},                         /* field 0, wire type 7 */
        {0x80, 0x00, 0x00},                   /* field 0 in a 2-byte tag: unknown */
        {0x88, 0x80, 0x80, 0x80, 0x00, 0x00}, /* a 5-byte tag */
        {0x88, 0x80, 0x80, 0x80, 0x80, 0x00}, /* a 6-byte tag */
        {0xf8, 0xff, 0xff, 0xff, 0x0f, 0x00}, /* the largest field number */
        {0x8a, 0x80, 0x80, 0x80, 0x00, 0x00}, /* field 1 (resourceSpans) in 5 bytes */
        {0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},       /* 10-byte varint */
        {0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, /* 11 bytes */
        {0x10, 0x80},                                                             /* truncated */
        {0x12, 0x80, 0x80, 0x80, 0x80, 0x10},       /* length 2^32 (bits past 32 dropped): 0 */
        {0x12, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00}, /* length 2^32-1 */
        {0x12, 0xfc, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x00, 0x00},
        {0x12, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, /* a 6-byte length */
        {0x12, 0x01},                               /* past the end */
        {0x0a, 0x80, 0x00},                         /* an overlong empty ResourceSpans */
        {0x11, 0x01, 0x02, 0x03},                   /* short fixed64 */
        {0x15, 0x01, 0x02, 0x03},                   /* short fixed32 */
        {0x13, 0x14},                               /* a group */
        {0x16, 0x00},                               /* wire type 6 */
    };
    static const size_t lens[] = {1, 2, 3, 6, 6, 6, 6, 11, 12, 2, 6, 7, 9, 7, 2, 3, 4, 4, 2, 2};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        same(cases[i], lens[i], 0);
        /* the same bytes one level down: in a span */
        same_pb(one(raw(cases[i], lens[i])));
        same_pb(kv_attr(val(raw(cases[i], lens[i]))));
    }
}

static void test_wire_proto_equiv_merges(void **state)
{
    (void)state;
    /* KeyValue.value twice, in every pairing of kinds */
    for (int a = 0; a <= 9; a++) {
        for (int b = 0; b <= 9; b++) {
            pb_t v[2];
            for (int k = 0; k < 2; k++) {
                switch (k ? b : a) {
                case 0: v[k] = val(NONE); break;
                case 1: v[k] = val(S(1, k ? "second" : "first")); break;
                case 2: v[k] = val(V(2, 1)); break;
                case 3: v[k] = val(V(3, (uint64_t)-5)); break;
                case 4: v[k] = val(F64(4, 0x3ff8000000000000ull)); break;
                case 5: v[k] = val(L(5, L(1, V(3, 9)))); break;
                case 6: v[k] = val(L(6, L(1, S(1, "in")))); break;
                case 7: v[k] = val(L(7, NONE)); break;
                case 8: v[k] = val(BY(7, "\x01\x02", 2)); break;
                default: v[k] = val(S(1, "")); break;
                }
            }
            pb_t one_kv = CAT(v[0], v[1]);
            pb_t three = CAT(raw(one_kv.p, one_kv.n), val(NONE));
            same_pb(kv_attr(one_kv));
            same_pb(kv_attr(three));
        }
    }
    /* the same inside a kvlist */
    same_pb(kv_attr(val(L(6, L(1, CAT(S(1, "a"), val(NONE), val(NONE)))))));
    same_pb(kv_attr(val(L(6, L(1, CAT(S(1, "a"), val(S(1, "x")), val(NONE)))))));
    same_pb(kv_attr(val(L(6, CAT(L(1, CAT(S(1, "a"), val(V(3, 1)), val(NONE))), L(1, S(1, "b")))))));
    /* AnyValue's oneof given twice: the last wins, messages are not merged */
    same_pb(kv_attr(val(CAT(L(5, L(1, V(3, 1))), L(5, L(1, V(3, 2)))))));
    same_pb(kv_attr(val(CAT(S(1, "x"), V(3, 5)))));
    same_pb(kv_attr(val(CAT(L(6, L(1, S(1, "a"))), L(7, NONE)))));
    /* Status, scope and resource given twice */
    same_pb(one(CAT(L(15, CAT(S(2, "x"), V(3, 2))), L(15, V(3, 1)))));
    same_pb(one(CAT(L(15, CAT(S(2, "x"), V(3, 2))), L(15, NONE))));
    same_pb(one(CAT(L(15, CAT(S(2, "x"), V(3, 2))), L(15, S(2, "")))));
    same_pb(one(CAT(L(15, S(2, "only a message")), V(15, 0))));
    same_pb(req(NONE, CAT(L(1, CAT(S(1, "a"), S(2, "v"))), L(1, S(2, "w"))), L(2, span(NONE))));
    same_pb(req(NONE, CAT(L(1, CAT(S(1, "a"), S(2, "v"))), L(1, S(1, ""))), L(2, span(NONE))));
    same_pb(req(CAT(L(1, L(1, S(1, "r1"))), L(1, CAT(L(1, S(1, "r2")), V(2, 3)))), NONE, L(2, span(NONE))));
    /* the resource after the spans, and spans in two ScopeSpans */
    same_pb(L(1, CAT(L(2, L(2, span(NONE))), L(1, L(1, CAT(S(1, "service.name"), val(S(1, "late"))))),
                     L(2, CAT(L(1, S(1, "s2")), L(2, span(NONE)), L(2, span(NONE)))))));
    /* singular fields of a span twice: the last wins */
    same_pb(one(CAT(S(5, "renamed"), V(6, 3), F64(7, 150), BY(1, "\x09\x09\x09\x09\x09\x09\x09\x09\x09\x09\x09"
                                                               "\x09\x09\x09\x09\x09", 16),
                    F32(16, 0x301), F32(16, 0x1), S(3, "a=1"), S(3, "b=2"), V(10, 1), V(10, 0))));
    same_pb(one(CAT(BY(1, TID, 16), BY(1, TID, 15))));
    same_pb(one(CAT(BY(4, SID, 8), BY(4, SID, 0))));
    same_pb(one(CAT(BY(4, SID, 3))));
    /* 32-bit fields keep the low bits of the varint */
    same_pb(one(CAT(V(6, (1ull << 32) + 2), V(10, (1ull << 32) + 7), L(15, V(3, (uint64_t)-1)))));
    same_pb(one(V(6, (uint64_t)-1)));
    same_pb(one(V(6, 6)));
    same_pb(one(CAT(F64(7, 300), F64(8, 200))));
}

static void test_wire_proto_equiv_values(void **state)
{
    (void)state;
    /* bool from every wire type, and the 10-byte varint with only bit 63 */
    same_pb(kv_attr(val(F64(2, 0x100))));
    same_pb(kv_attr(val(F64(2, 0x80))));
    same_pb(kv_attr(val(F32(2, 1))));
    same_pb(kv_attr(val(L(2, NONE))));
    same_pb(kv_attr(val(BY(2, "\x80", 1))));
    same_pb(kv_attr(val(CAT(tag(2, 0), raw("\x80\x00", 2)))));
    same_pb(kv_attr(val(CAT(tag(2, 0), raw("\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", 10)))));
    same_pb(kv_attr(val(CAT(tag(3, 0), raw("\x80\x80\x80\x80\x80\x80\x80\x80\x80\x7f", 10)))));
    /* arrays: each type, empty, empty elements, mixed, nested */
    same_pb(kv_attr(val(L(5, NONE))));
    same_pb(kv_attr(val(L(5, CAT(L(1, S(1, "a")), L(1, S(1, "")), L(1, BY(1, "n\0ul", 4)))))));
    same_pb(kv_attr(val(L(5, CAT(L(1, V(2, 1)), L(1, V(2, 0)))))));
    same_pb(kv_attr(val(L(5, CAT(L(1, V(3, 1)), L(1, V(3, (uint64_t)-2)))))));
    same_pb(kv_attr(val(L(5, CAT(L(1, F64(4, 0x7ff0000000000000ull)), L(1, F64(4, 0x7ff8000000000001ull)))))));
    same_pb(kv_attr(val(L(5, CAT(L(1, F64(4, 0x7ff0000000000000ull)), L(1, V(3, 1)))))));
    same_pb(kv_attr(val(L(5, CAT(L(1, NONE), L(1, V(3, 1)))))));
    same_pb(kv_attr(val(L(5, L(1, NONE)))));
    same_pb(kv_attr(val(L(5, CAT(L(1, S(1, "x")), V(7, 1), L(1, L(5, L(1, V(2, 1)))))))));
    same_pb(kv_attr(val(L(5, CAT(L(1, S(1, "x")), L(1, BY(7, "\xff", 1)), L(1, L(6, NONE)))))));
    /* kvlists: duplicate keys, missing keys and values, keys with NUL, non-finite doubles */
    same_pb(kv_attr(val(L(6, CAT(L(1, CAT(S(1, "a"), val(V(3, 1)))), L(1, CAT(S(1, "b"), val(V(3, 2)))),
                                 L(1, CAT(S(1, "a"), val(V(3, 3)))), L(1, NONE), L(1, S(1, "novalue")),
                                 L(1, CAT(BY(1, "k\0z", 3), val(F64(4, 0x7ff0000000000000ull)))))))));
    /* not UTF-8: fine as a plain string, refused (ENOMEM) by jansson's dump in JSON */
    same_pb(kv_attr(val(BY(1, "\xc3\x28", 2))));
    same_pb(kv_attr(val(L(5, CAT(L(1, BY(1, "\xc3\x28", 2)), L(1, V(3, 1)))))));
    same_pb(kv_attr(val(L(6, L(1, CAT(BY(1, "\xff", 1), val(V(3, 1))))))));
    same_pb(kv_attr(val(L(5, CAT(L(1, BY(1, "\xc3\x28", 2)), L(1, S(1, "ok")))))));
    /* ...and where the reference never renders it: the span is rejected first */
    pb_t bad_utf8 = L(9, CAT(S(1, "j"), val(L(6, L(1, CAT(BY(1, "\xff", 1), val(V(3, 1))))))));
    same_pb(req(NONE, NONE, L(2, CAT(BY(1, TID, 15), BY(2, SID, 8), raw(bad_utf8.p, bad_utf8.n)))));
    same_pb(req(NONE, NONE, L(2, CAT(BY(1, TID, 16), BY(2, SID, 8), raw(bad_utf8.p, bad_utf8.n)))));
    same_pb(req(NONE, NONE, L(2, CAT(BY(1, TID, 16), BY(2, SID, 8), V(6, 9), raw(bad_utf8.p, bad_utf8.n)))));
    same_pb(one(CAT(L(13, CAT(BY(1, TID, 16), BY(2, SID, 7))),
                    L(13, CAT(BY(1, TID, 16), BY(2, SID, 8), L(4, CAT(S(1, "j"), val(BY(7, "\xff", 1)))))))));
    same_pb(one(CAT(L(13, CAT(BY(1, TID, 16), BY(2, SID, 8), L(4, CAT(S(1, "j"), val(L(6, L(1, BY(1, "\xff", 1)))))))),
                    L(13, CAT(BY(1, TID, 16), BY(2, SID, 7))))));
    same_pb(one(L(11, CAT(F64(1, 5), S(2, "ev"), raw(bad_utf8.p, bad_utf8.n)))));
    same_pb(req(L(1, raw(bad_utf8.p, bad_utf8.n)), NONE, NONE));
    same_pb(req(NONE, L(1, L(3, CAT(S(1, "j"), val(L(6, L(1, BY(1, "\xff", 1))))))), L(2, span(NONE))));
    free(bad_utf8.p);
    /* strings with NUL everywhere they are kept */
    same_pb(one(CAT(BY(5, "na\0me", 5), BY(3, "a=1\0junk", 8), L(15, CAT(V(3, 2), BY(2, "m\0sg", 4))),
                    L(11, BY(2, "e\0v", 3)), L(9, CAT(BY(1, "k\0ey", 4), val(BY(1, "v\0al", 4)))))));
    /* tracestates: valid, invalid (dropped), with a link */
    same_pb(one(CAT(S(3, "vendor=abc,other=1"),
                    L(13, CAT(BY(1, TID, 16), BY(2, SID, 8), S(3, "BAD STATE"), F32(6, 0x301), V(5, 2))))));
    /* links and ids that reject the span, in the reference's order */
    same_pb(one(L(13, CAT(BY(1, TID, 16), BY(2, "\0\0\0\0\0\0\0\0", 8)))));
    same_pb(req(NONE, NONE, CAT(L(2, span(NONE)), L(2, CAT(BY(1, TID, 16), BY(2, "\0\0\0\0\0\0\0\0", 8))),
                                L(2, CAT(BY(2, SID, 8))), L(2, span(V(6, 7))))));
    /* AnyValue nesting around the reference's rendering depth (64) */
    for (int depth = 60; depth <= 70; depth++) {
        pb_t v = V(3, 42);
        for (int i = 0; i < depth; i++)
            v = L(5, L(1, i % 3 == 2 ? CAT(v, V(9, 1)) : v));
        same_pb(kv_attr(val(v)));
    }
    for (int depth = 60; depth <= 68; depth++) {
        pb_t v = S(1, "leaf");
        for (int i = 0; i < depth; i++)
            v = L(6, L(1, CAT(S(1, "k"), val(v))));
        same_pb(kv_attr(val(v)));
    }
    /* deep enough that the direct decoder's validator outgrows its first stack */
    pb_t v = V(3, 1);
    for (int i = 0; i < 1500; i++)
        v = L(5, L(1, v));
    same_pb(kv_attr(val(v)));
    v = V(3, 1);
    for (int i = 0; i < 1500; i++)
        v = L(6, L(1, CAT(S(1, "k"), val(v), i == 700 ? CAT(val(NONE), val(NONE)) : NONE)));
    same_pb(kv_attr(val(v)));
}

/* A span attribute of `depth` nested arrays around an int. */
static pb_t nested_arrays(int depth)
{
    /* built inside out: each level is 0x2a len 0x0a len ... */
    size_t cap = (size_t)depth * 12 + 64, at = cap;
    uint8_t *buf = malloc(cap);
    assert_non_null(buf);
    buf[--at] = 1, buf[--at] = 3 << 3; /* intValue 1 */
    for (int i = 0; i < depth; i++) {
        uint8_t o[10];
        size_t inner = cap - at, k = put_varint(o, inner);
        at -= k, memcpy(buf + at, o, k), buf[--at] = 1 << 3 | 2; /* ArrayValue.values */
        inner = cap - at, k = put_varint(o, inner);
        at -= k, memcpy(buf + at, o, k), buf[--at] = 5 << 3 | 2; /* AnyValue.arrayValue */
    }
    pb_t r = kv_attr(val(raw(buf + at, cap - at)));
    free(buf);
    return r;
}

/* protobuf-c unpacks nested messages recursively (~800 bytes of stack per
 * level) and overflows an 8 MiB stack at ~5,000 nested arrays (10,000
 * messages, a 30 KB body): stitchd crashed on such a request. The direct
 * decoder's validator keeps its own stack, up to 100,000 messages. */
static void test_wire_proto_equiv_deep_nesting_direct_only(void **state)
{
    (void)state;
    pb_t r = nested_arrays(50000); /* 100,000 messages under the attribute's AnyValue */
    stitch_wire_batch_t b;
    stitch_wire_batch_init(&b, 0);
    stitch_wire_error_t err;
    assert_int_equal(stitch_wire_otlp_proto_decode(&b, r.p, r.n, &err), 0);
    assert_int_equal(b.nspans, 1);
    /* rendered 64 levels deep, then null, as the reference renders */
    const stitch_value_t *x = &b.spans[0].attrs[0].value;
    assert_int_equal(x->type, STITCH_VALUE_STRING);
    assert_non_null(strstr(x->u.str, "[null]"));
    stitch_wire_batch_reset(&b);
    /* and a cut anywhere in it is malformed */
    assert_int_equal(stitch_wire_otlp_proto_decode(&b, r.p, r.n - 1, &err), STITCH_EPARSE);
    free(r.p);
    /* one level more is refused, with a position */
    r = nested_arrays(50001);
    assert_int_equal(stitch_wire_otlp_proto_decode(&b, r.p, r.n, &err), STITCH_EPARSE);
    assert_non_null(strstr(err.msg, "AnyValue nested deeper than 100000 messages at byte "));
    assert_true(err.offset < r.n);
    stitch_wire_batch_free(&b);
    free(r.p);
}

static void test_wire_proto_equiv_count(void **state)
{
    (void)state;
    /* guard against a loop that compared nothing */
    assert_true(ncompared > 30000);
    print_message("compared %zu inputs\n", ncompared);
}

int main(void)
{
    (void)one_span; /* the fixture's helper for encoder edge cases */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wire_proto_equiv_corpus),
        cmocka_unit_test_setup_teardown(test_wire_proto_equiv_generated, wfx_setup, wfx_teardown),
        cmocka_unit_test(test_wire_proto_equiv_wire_types),
        cmocka_unit_test(test_wire_proto_equiv_framing),
        cmocka_unit_test(test_wire_proto_equiv_merges),
        cmocka_unit_test(test_wire_proto_equiv_values),
        cmocka_unit_test(test_wire_proto_equiv_deep_nesting_direct_only),
        cmocka_unit_test(test_wire_proto_equiv_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
